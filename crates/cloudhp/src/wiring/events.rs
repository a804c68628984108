//! The event bus, when configured: the play role relays winners to it, notifiers read it.

use std::sync::Arc;
use std::time::Duration;

use cloudhp_core::{Role, RoleSet};
use cloudhp_store::LotteryDb;
use tokio::sync::Notify;

use super::Wiring;
use crate::config::Config;
use crate::events::LazyBus;
use crate::telemetry::chain;

/// The bus, when `events.url` is set and a role using it runs here. It connects on first
/// use, so a bus that is down at start-up only delays notifications.
pub fn bus(w: &mut Wiring, config: &Config, roles: &RoleSet) -> Option<LazyBus> {
    let bus = (!config.events.url.is_empty()
        && (roles.contains(Role::Play) || roles.contains(Role::Notifier)))
    .then(|| {
        let e = &config.events;
        LazyBus::new(
            e.url.expose(),
            cloudhp_events::BusSettings {
                stream: e.stream.clone(),
                subject: e.subject.clone(),
                consumer: e.consumer.clone(),
                ack_wait: e.ack_wait,
                duplicate_window: Duration::from_secs(120),
            },
        )
    });
    if let Some(bus) = &bus {
        let probe = bus.clone();
        w.ready("event_bus", move || {
            let bus = probe.clone();
            async move {
                let bus = bus.get().await.map_err(|e| chain(&e))?;
                bus.ready().await.map_err(|e| chain(&e))
            }
        });
    }
    bus
}

/// Starts the relay that publishes committed outbox entries to the bus, woken by the play role
/// of this process and otherwise every `events.relay_interval`.
pub fn relay(w: &mut Wiring, config: &Config, db: LotteryDb, bus: LazyBus, wake: Arc<Notify>) {
    let stop = w.cancel.clone();
    let interval = config.events.relay_interval;
    w.task("event relay", async move {
        crate::events::relay_until(db, bus, wake, interval, stop).await
    });
}
