//! Delivers winner notifications to the admins, at least once.
//!
//! Without a bus, the notifier reads the outbox itself: entries are leased (so several
//! notifiers share the work without sending one entry at the same time), sent, then marked
//! delivered; a failed send is retried later with a growing delay, and a notifier that dies
//! holding a lease only delays the entry until the lease expires.
//!
//! With NATS JetStream, the play role's relay publishes committed entries to the stream and
//! the notifiers consume them through one durable consumer, acknowledging a message only after
//! its mail went out. Either way an entry already marked delivered is never sent again.
//!
//! The role has no API (nothing calls it): its service (here) and its start-up (`wiring`).

pub mod wiring;

use std::sync::Arc;
use std::time::Duration;

use cloudhp_core::retry::Policy;
use cloudhp_events::{Delivery, OutboxEvent};
use cloudhp_mail::{MailSettings, OutgoingMail, Transport, send_within, winner_mail};
use cloudhp_store::{LotteryDb, Notification, StoreError};
use time::OffsetDateTime;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::events::LazyBus;
use crate::telemetry::chain;

#[derive(Clone, Debug)]
pub struct NotifierSettings {
    pub poll_interval: Duration,
    pub batch: u32,
    pub lease: Duration,
    pub retry_min: Duration,
    pub retry_max: Duration,
    /// Hard bound of one send (`mail.timeout`); shorter than `lease` and the bus's ack wait,
    /// so no other notifier takes an entry while it is being sent.
    pub send_timeout: Duration,
}

pub struct Notifier {
    db: LotteryDb,
    transport: Arc<dyn Transport>,
    mail: MailSettings,
    settings: NotifierSettings,
    owner: String,
    wake: Arc<Notify>,
}

/// What became of one notification.
enum Sent {
    Yes,
    /// Retry after this delay.
    Later(Duration),
    /// It can never be sent (an unreadable entry).
    Never,
}

fn count(outcome: &'static str) {
    metrics::counter!("cloudhp_notifications_total", "outcome" => outcome).increment(1);
}

impl Notifier {
    pub fn new(
        db: LotteryDb,
        transport: Arc<dyn Transport>,
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

    /// The delay before retry number `attempts` (1-based): doubling from `retry_min`, at most
    /// `retry_max`. The retries themselves are scheduled in the outbox (or on the bus), not
    /// run in this process.
    fn backoff(&self, attempts: u32) -> Duration {
        Policy::doubling(self.settings.retry_min, self.settings.retry_max).delay(attempts)
    }

    /// Builds and sends the mail of one entry (within `send_timeout`); marks it delivered
    /// when it went out.
    async fn send(&self, id: i64, payload: &str, attempts: u32) -> Sent {
        let mail: Result<OutgoingMail, String> = serde_json::from_str(payload)
            .map_err(|e| format!("unreadable winner notice: {e}"))
            .and_then(|notice| winner_mail(&self.mail, id, &notice).map_err(|e| chain(&e)));
        let mail = match mail {
            Ok(mail) => mail,
            Err(reason) => {
                tracing::error!(entry = id, %reason, "outbox entry cannot be turned into a mail");
                count("unsendable");
                return Sent::Never;
            }
        };
        let sent = send_within(self.transport.as_ref(), &mail, self.settings.send_timeout).await;
        match sent {
            Ok(()) => {
                if let Err(e) = self.db.mark_delivered(id, OffsetDateTime::now_utc()).await {
                    // The mail went out; a redelivery would send it again (at least once).
                    tracing::warn!(entry = id, error = %chain(&e), "mail sent but not marked delivered");
                }
                count("sent");
                tracing::info!(entry = id, message_id = %mail.message_id, "winner notification sent");
                Sent::Yes
            }
            Err(e) => {
                let delay = self.backoff(attempts + 1);
                tracing::warn!(entry = id, attempts = attempts + 1, retry_in = ?delay, error = %chain(&e), "winner notification not sent; will retry");
                count("failed");
                Sent::Later(delay)
            }
        }
    }

    /// Delivers every due outbox entry (the mode without a bus). Returns how many went out.
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
                sent += usize::from(self.deliver_entry(&entry).await?);
            }
        }
    }

    async fn deliver_entry(&self, entry: &Notification) -> Result<bool, StoreError> {
        // Leased with its batch, perhaps a while ago: send only what is still ours, with a
        // fresh lease covering the send.
        let held = self
            .db
            .hold_notification(
                entry.id,
                &self.owner,
                OffsetDateTime::now_utc(),
                self.settings.lease,
            )
            .await?;
        if !held {
            tracing::debug!(
                entry = entry.id,
                "entry taken by another notifier; skipping it"
            );
            return Ok(false);
        }
        let outcome = self.send(entry.id, &entry.payload, entry.attempts).await;
        // Retry delays count from the end of this attempt.
        let now = OffsetDateTime::now_utc();
        let (reason, retry_at) = match outcome {
            Sent::Yes => return Ok(true),
            Sent::Later(delay) => ("delivery failed", now + delay),
            // Parked far out: only an operator can mend it.
            Sent::Never => ("unsendable entry", now + self.settings.retry_max),
        };
        self.db
            .mark_failed_delivery(entry.id, &self.owner, reason, retry_at)
            .await?;
        Ok(false)
    }

    /// Handles one message of the bus: acknowledged once its mail went out (or was out
    /// already), retried later otherwise.
    async fn deliver_event(&self, delivery: &Delivery) -> Result<(), cloudhp_events::EventsError> {
        let event: &OutboxEvent = match &delivery.event {
            Ok(event) => event,
            Err(reason) => {
                tracing::error!(%reason, "unreadable event on the bus; dropping it");
                return delivery.reject().await;
            }
        };
        // This message's ack wait starts now, not when its batch was fetched.
        delivery.in_progress().await?;
        match self.db.is_delivered(event.id).await {
            Ok(Some(true)) => {
                tracing::debug!(
                    entry = event.id,
                    "already delivered; acknowledging the duplicate"
                );
                return delivery.ack().await;
            }
            Ok(Some(false)) => {}
            Ok(None) => {
                tracing::error!(
                    entry = event.id,
                    "event names no outbox entry of this lottery database; dropping it"
                );
                return delivery.reject().await;
            }
            Err(e) => {
                tracing::warn!(entry = event.id, error = %chain(&e), "cannot check the outbox; retrying later");
                return delivery.retry_after(self.settings.retry_min).await;
            }
        }
        // Deliveries before this one were attempts that failed (or died).
        let attempts = delivery.deliveries().saturating_sub(1);
        match self.send(event.id, &event.payload, attempts).await {
            Sent::Yes => delivery.ack().await,
            Sent::Later(delay) => delivery.retry_after(delay).await,
            Sent::Never => delivery.reject().await,
        }
    }

    /// Delivers until cancelled, from the bus when there is one, else from the outbox.
    pub async fn run_until(
        &self,
        bus: Option<LazyBus>,
        cancel: CancellationToken,
    ) -> anyhow::Result<()> {
        tracing::info!(transport = %self.transport.describe(), bus = bus.is_some(), "notifier started");
        match bus {
            None => self.run_from_outbox(cancel).await,
            Some(bus) => self.run_from_bus(bus, cancel).await,
        }
    }

    async fn pause(&self, cancel: &CancellationToken) -> bool {
        tokio::select! {
            () = cancel.cancelled() => false,
            () = self.wake.notified() => true,
            () = tokio::time::sleep(self.settings.poll_interval) => true,
        }
    }

    async fn run_from_outbox(&self, cancel: CancellationToken) -> anyhow::Result<()> {
        loop {
            if let Err(e) = self.deliver_due().await {
                tracing::warn!(error = %chain(&e), "cannot read the outbox; retrying later");
            }
            self.report_pending().await;
            if !self.pause(&cancel).await {
                return Ok(());
            }
        }
    }

    async fn report_pending(&self) {
        if let Ok(pending) = self.db.pending_notifications().await {
            metrics::gauge!("cloudhp_outbox_pending").set(pending as f64);
        }
    }

    async fn run_from_bus(&self, bus: LazyBus, cancel: CancellationToken) -> anyhow::Result<()> {
        let mut consumer = None;
        loop {
            if consumer.is_none() {
                match bus.get().await {
                    Ok(bus) => match bus.consumer().await {
                        Ok(c) => consumer = Some(c),
                        Err(e) => {
                            tracing::warn!(error = %chain(&e), "cannot open the event consumer; retrying later")
                        }
                    },
                    Err(e) => {
                        tracing::warn!(error = %chain(&e), "event bus not reachable; retrying later")
                    }
                }
            }
            if let Some(c) = &consumer {
                match c
                    .next_batch(self.settings.batch as usize, self.settings.poll_interval)
                    .await
                {
                    Ok(batch) if !batch.is_empty() => {
                        for delivery in &batch {
                            if let Err(e) = self.deliver_event(delivery).await {
                                tracing::warn!(error = %chain(&e), "cannot acknowledge an event; it will be delivered again");
                            }
                        }
                        self.report_pending().await;
                        continue;
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %chain(&e), "reading events failed; reopening the consumer");
                        consumer = None;
                    }
                }
            }
            self.report_pending().await;
            if !self.pause(&cancel).await {
                return Ok(());
            }
        }
    }
}
