//! The event bus, when configured: the play role relays winners to it, notifiers read it.

use std::time::Duration;

use crate::config::Config;
use crate::events::LazyBus;
use crate::telemetry::chain;
use crate::wiring::Wiring;

/// The bus, when `events.url` is set: made by the first role that asks, shared by the others.
/// It connects on first use, so a bus that is down at start-up only delays notifications.
pub fn shared(w: &mut Wiring, config: &Config) -> Option<LazyBus> {
    if let Some(bus) = &w.shared.bus {
        return bus.clone();
    }
    let bus = open(w, config);
    w.shared.bus = Some(bus.clone());
    bus
}

fn open(w: &mut Wiring, config: &Config) -> Option<LazyBus> {
    let e = &config.events;
    if e.url.is_empty() {
        return None;
    }
    let bus = LazyBus::new(
        e.url.expose(),
        cloudhp_events::BusSettings {
            stream: e.stream.clone(),
            subject: e.subject.clone(),
            consumer: e.consumer.clone(),
            ack_wait: e.ack_wait,
            duplicate_window: Duration::from_secs(120),
        },
    );
    let probe = bus.clone();
    w.ready("event_bus", move || {
        let bus = probe.clone();
        async move {
            let bus = bus.get().await.map_err(|e| chain(&e))?;
            bus.ready().await.map_err(|e| chain(&e))
        }
    });
    Some(bus)
}
