//! The event bus, when configured: the play role relays winners to it, notifiers read it.

use std::time::Duration;

use cloudhp_core::{Role, RoleSet};

use super::check_scheme;
use crate::config::{Config, ConfigError, positive};
use crate::events::LazyBus;
use crate::http::{Check, check};
use crate::telemetry::chain;
use crate::wiring::Wiring;

/// The URL schemes of `events.url` (NATS, plain or over TLS).
pub const SCHEMES: &[&str] = &["nats", "tls"];

/// Whether a bus is configured and a role of `roles` uses it.
pub fn used(config: &Config, roles: &RoleSet) -> bool {
    !config.events.url.is_empty() && (roles.contains(Role::Play) || roles.contains(Role::Notifier))
}

/// Checks a configured bus (`events.url` set).
pub fn validate(config: &Config) -> Result<(), ConfigError> {
    let e = &config.events;
    check_scheme(
        "events.url",
        e.url.expose(),
        &e.url.masked(),
        SCHEMES,
        "nats://HOST:PORT (a NATS server with JetStream)",
    )?;
    for (key, value) in [
        ("events.stream", &e.stream),
        ("events.subject", &e.subject),
        ("events.consumer", &e.consumer),
    ] {
        if value.is_empty() || value.contains(' ') {
            return Err(ConfigError::key(key, "must be a name without spaces"));
        }
    }
    positive("events.relay_interval", e.relay_interval)
}

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

/// The bus of `events.url`, its check on `/readyz`; `None` when no bus is configured.
fn open(w: &mut Wiring, config: &Config) -> Option<LazyBus> {
    let e = &config.events;
    if e.url.is_empty() {
        return None;
    }
    let bus = LazyBus::new(
        e.url.clone(),
        cloudhp_events::BusSettings {
            stream: e.stream.clone(),
            subject: e.subject.clone(),
            consumer: e.consumer.clone(),
            ack_wait: e.ack_wait,
            duplicate_window: Duration::from_secs(120),
        },
    );
    w.ready("event_bus", readiness(&bus));
    Some(bus)
}

/// Whether the bus answers (connecting it if it is not yet).
pub fn readiness(bus: &LazyBus) -> Check {
    check(bus.clone(), |bus| async move {
        let bus = bus.get().await.map_err(|e| chain(&e))?;
        bus.ready().await.map_err(|e| chain(&e))
    })
}
