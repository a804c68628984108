//! Delivers winner notifications from the outbox to the admins, at least once.
//!
//! Entries are leased (so several notifiers share the work without sending one entry twice at
//! the same time), sent, then marked delivered. A failed send is retried later with a growing
//! delay; a notifier that dies holding a lease only delays the entry until the lease expires.

use std::sync::Arc;
use std::time::Duration;

use cloudhp_mail::{MailSettings, Transport, winner_mail};
use cloudhp_store::{LotteryDb, Notification, StoreError};
use time::OffsetDateTime;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::telemetry::chain;

#[derive(Clone, Debug)]
pub struct NotifierSettings {
    pub poll_interval: Duration,
    pub batch: u32,
    pub lease: Duration,
    pub retry_min: Duration,
    pub retry_max: Duration,
}

pub struct Notifier {
    db: LotteryDb,
    transport: Box<dyn Transport>,
    mail: MailSettings,
    settings: NotifierSettings,
    owner: String,
    wake: Arc<Notify>,
}

impl Notifier {
    pub fn new(
        db: LotteryDb,
        transport: Box<dyn Transport>,
        mail: MailSettings,
        settings: NotifierSettings,
        wake: Arc<Notify>,
    ) -> Self {
        Self {
            db,
            transport,
            mail,
            settings,
            owner: format!("notifier-{}", uuid::Uuid::new_v4().simple()),
            wake,
        }
    }

    pub fn transport(&self) -> &dyn Transport {
        self.transport.as_ref()
    }

    /// The delay before retry number `attempts` (1-based): doubling from `retry_min`, at most
    /// `retry_max`.
    fn backoff(&self, attempts: u32) -> Duration {
        let factor = 1u32 << attempts.saturating_sub(1).min(16);
        self.settings
            .retry_min
            .saturating_mul(factor)
            .min(self.settings.retry_max)
    }

    /// Delivers every due entry. Returns how many went out.
    pub async fn deliver_due(&self) -> Result<usize, StoreError> {
        let mut sent = 0;
        loop {
            let batch = self
                .db
                .lease_notifications(
                    &self.owner,
                    OffsetDateTime::now_utc(),
                    self.settings.lease,
                    self.settings.batch,
                )
                .await?;
            if batch.is_empty() {
                return Ok(sent);
            }
            for entry in batch {
                if self.deliver(&entry).await? {
                    sent += 1;
                }
            }
        }
    }

    async fn deliver(&self, entry: &Notification) -> Result<bool, StoreError> {
        let result = entry
            .winner()
            .map_err(|e| e.to_string())
            .and_then(|notice| winner_mail(&self.mail, entry.id, &notice).map_err(|e| chain(&e)));
        let mail = match result {
            Ok(mail) => mail,
            Err(reason) => {
                // Cannot become sendable by waiting; park it far out and say so loudly.
                tracing::error!(entry = entry.id, %reason, "outbox entry cannot be turned into a mail");
                let retry = OffsetDateTime::now_utc() + self.settings.retry_max;
                self.db
                    .mark_failed_delivery(entry.id, &reason, retry)
                    .await?;
                return Ok(false);
            }
        };
        match self.transport.send(&mail).await {
            Ok(()) => {
                self.db
                    .mark_delivered(entry.id, OffsetDateTime::now_utc())
                    .await?;
                metrics::counter!("cloudhp_notifications_total", "outcome" => "sent").increment(1);
                tracing::info!(entry = entry.id, customer = %entry.customer_id, message_id = %mail.message_id, "winner notification sent");
                Ok(true)
            }
            Err(e) => {
                let attempts = entry.attempts + 1;
                let delay = self.backoff(attempts);
                tracing::warn!(entry = entry.id, attempts, retry_in = ?delay, error = %chain(&e), "winner notification not sent; will retry");
                metrics::counter!("cloudhp_notifications_total", "outcome" => "failed")
                    .increment(1);
                self.db
                    .mark_failed_delivery(entry.id, &chain(&e), OffsetDateTime::now_utc() + delay)
                    .await?;
                Ok(false)
            }
        }
    }

    /// Delivers until cancelled: at every poll interval, and at once when woken.
    pub async fn run_until(&self, cancel: CancellationToken) -> anyhow::Result<()> {
        tracing::info!(transport = %self.transport.describe(), "notifier started");
        loop {
            match self.deliver_due().await {
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %chain(&e), "cannot read the outbox; retrying later")
                }
            }
            if let Ok(pending) = self.db.pending_notifications().await {
                metrics::gauge!("cloudhp_outbox_pending").set(pending as f64);
            }
            tokio::select! {
                () = cancel.cancelled() => return Ok(()),
                () = self.wake.notified() => {}
                () = tokio::time::sleep(self.settings.poll_interval) => {}
            }
        }
    }
}
