//! The event bus as the roles use it: connected lazily (a bus that is down at start-up only
//! delays notifications), and the relay that publishes committed outbox entries.

use std::sync::Arc;
use std::time::Duration;

use cloudhp_events::{BusSettings, EventBus, EventsError, OutboxEvent};
use cloudhp_store::{LotteryDb, Notification};
use time::OffsetDateTime;
use tokio::sync::{Notify, OnceCell};
use tokio_util::sync::CancellationToken;

use crate::config::SecretUrl;
use crate::telemetry::chain;

/// A bus connected on first use.
#[derive(Clone)]
pub struct LazyBus {
    /// Masked in any message; exposed only to connect.
    url: SecretUrl,
    settings: BusSettings,
    bus: Arc<OnceCell<EventBus>>,
}

impl LazyBus {
    pub fn new(url: SecretUrl, settings: BusSettings) -> Self {
        Self {
            url,
            settings,
            bus: Arc::new(OnceCell::new()),
        }
    }

    /// The connected bus; connects now if it is not yet (the client reconnects by itself
    /// after that).
    pub async fn get(&self) -> Result<&EventBus, EventsError> {
        self.bus
            .get_or_try_init(|| EventBus::connect(self.url.expose(), self.settings.clone()))
            .await
    }
}

fn event_of(entry: &Notification) -> OutboxEvent {
    OutboxEvent {
        id: entry.id,
        kind: entry.kind.clone(),
        customer_id: entry.customer_id.get(),
        payload: entry.payload.clone(),
    }
}

/// Publishes every committed, unpublished outbox entry. Returns how many.
async fn publish_pending(db: &LotteryDb, bus: &LazyBus) -> anyhow::Result<usize> {
    let bus = bus.get().await?;
    let mut published = 0;
    loop {
        let batch = db.unpublished_notifications(100).await?;
        if batch.is_empty() {
            return Ok(published);
        }
        for entry in &batch {
            // The stream keeps one message per id: publishing again after a crash between
            // these two lines is harmless.
            bus.publish(&event_of(entry)).await?;
            db.mark_published(entry.id, OffsetDateTime::now_utc())
                .await?;
            metrics::counter!("cloudhp_events_published_total").increment(1);
            published += 1;
        }
    }
}

/// Publishes outbox entries as they are committed (woken by the play role) and at every
/// `interval`, until cancelled.
pub async fn relay_until(
    db: LotteryDb,
    bus: LazyBus,
    wake: Arc<Notify>,
    interval: Duration,
    cancel: CancellationToken,
) -> anyhow::Result<()> {
    loop {
        if let Err(e) = publish_pending(&db, &bus).await {
            tracing::warn!(error = %chain(e.as_ref()), "cannot publish winner events; retrying later");
        }
        tokio::select! {
            () = cancel.cancelled() => return Ok(()),
            () = wake.notified() => {}
            () = tokio::time::sleep(interval) => {}
        }
    }
}
