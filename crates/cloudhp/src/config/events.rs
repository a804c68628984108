//! `[events]`: the event bus carrying the winners from the play role to the notifiers, checked
//! by `backends::events`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::SecretUrl;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EventsConfig {
    /// NATS with JetStream (`nats://host:4222`); empty: no bus, the notifier reads the outbox.
    pub url: SecretUrl,
    pub stream: String,
    pub subject: String,
    /// The durable consumer the notifiers share.
    pub consumer: String,
    /// How long a notifier may hold a message before it is delivered to another one; longer
    /// than mail.timeout.
    #[serde(with = "humantime_serde")]
    pub ack_wait: Duration,
    /// How often unpublished outbox entries are looked for (an in-process play role also
    /// publishes at once).
    #[serde(with = "humantime_serde")]
    pub relay_interval: Duration,
}

impl Default for EventsConfig {
    fn default() -> Self {
        Self {
            url: SecretUrl::default(),
            stream: "CLOUDHP".into(),
            subject: "cloudhp.winners".into(),
            consumer: "cloudhp-notifier".into(),
            ack_wait: Duration::from_secs(60),
            relay_interval: Duration::from_secs(2),
        }
    }
}
