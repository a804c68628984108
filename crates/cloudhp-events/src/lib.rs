//! Winner events on NATS JetStream.
//!
//! Outbox entries, once committed, are published to a stream with a de-duplication id
//! (`Nats-Msg-Id: outbox-<id>`), so a relay that publishes an entry twice (a retry, two
//! replicas) stores it once. Notifiers consume through one durable pull consumer: replicas
//! share the work, and a message is acknowledged only after its mail went out, so a notifier
//! that dies holding one only delays it until the server redelivers it (`ack_wait`).

use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, PullConsumer, pull};
use async_nats::jetstream::stream::{self, Stream};
use async_nats::jetstream::{self, AckKind, Context};
use cloudhp_core::secret::redact_url;
use futures::StreamExt;
use serde::{Deserialize, Serialize};

/// How a call to the bus failed.
#[derive(Debug, thiserror::Error)]
pub enum EventsError {
    #[error("cannot connect to NATS at {url}")]
    Connect {
        url: String,
        #[source]
        source: async_nats::ConnectError,
    },
    #[error("the JetStream stream {stream} cannot be created or opened")]
    Stream {
        stream: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("publishing an event failed")]
    Publish(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("consuming events failed")]
    Consume(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// An outbox entry as it travels on the bus.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEvent {
    /// The outbox entry's id: the de-duplication key.
    pub id: i64,
    pub kind: String,
    pub customer_id: u32,
    /// The entry's JSON payload, as stored.
    pub payload: String,
}

impl OutboxEvent {
    /// The de-duplication id of the entry.
    pub fn message_id(&self) -> String {
        format!("outbox-{}", self.id)
    }
}

/// Names and timings of the bus.
#[derive(Clone, Debug)]
pub struct BusSettings {
    pub stream: String,
    pub subject: String,
    pub consumer: String,
    /// How long a delivered, unacknowledged message waits before it is delivered again.
    pub ack_wait: Duration,
    /// Window in which a message id published twice is stored once.
    pub duplicate_window: Duration,
}

/// A connection to the bus, with its stream.
#[derive(Clone)]
pub struct EventBus {
    client: async_nats::Client,
    js: Context,
    settings: BusSettings,
}

impl EventBus {
    /// Connects and creates the stream when missing.
    pub async fn connect(url: &str, settings: BusSettings) -> Result<Self, EventsError> {
        // No retry on the first connection: callers retry, and a client left retrying in the
        // background would leak one task per attempt while NATS is down.
        let client = async_nats::ConnectOptions::new()
            .connection_timeout(Duration::from_secs(3))
            .connect(url)
            .await
            .map_err(|source| EventsError::Connect {
                url: redact_url(url),
                source,
            })?;
        let js = jetstream::new(client.clone());
        let bus = Self {
            client,
            js,
            settings,
        };
        bus.stream().await?;
        Ok(bus)
    }

    async fn stream(&self) -> Result<Stream, EventsError> {
        let s = &self.settings;
        self.js
            .get_or_create_stream(stream::Config {
                name: s.stream.clone(),
                subjects: vec![s.subject.clone()],
                duplicate_window: s.duplicate_window,
                // A work queue: a message is removed once a notifier acknowledged it, and kept
                // until then, however long the notifiers are away.
                retention: stream::RetentionPolicy::WorkQueue,
                storage: stream::StorageType::File,
                ..stream::Config::default()
            })
            .await
            .map_err(|e| EventsError::Stream {
                stream: s.stream.clone(),
                source: Box::new(e),
            })
    }

    /// Whether the server answers.
    pub async fn ready(&self) -> Result<(), EventsError> {
        self.client
            .flush()
            .await
            .map_err(|e| EventsError::Publish(Box::new(e)))?;
        self.stream().await.map(|_| ())
    }

    /// Publishes an entry and waits until the stream stored it (or recognised it as a
    /// duplicate).
    pub async fn publish(&self, event: &OutboxEvent) -> Result<(), EventsError> {
        let mut headers = HeaderMap::new();
        headers.insert(
            async_nats::header::NATS_MESSAGE_ID,
            event.message_id().as_str(),
        );
        let payload = serde_json::to_vec(event).map_err(|e| EventsError::Publish(Box::new(e)))?;
        self.js
            .publish_with_headers(self.settings.subject.clone(), headers, payload.into())
            .await
            .map_err(|e| EventsError::Publish(Box::new(e)))?
            .await
            .map_err(|e| EventsError::Publish(Box::new(e)))?;
        Ok(())
    }

    /// The durable consumer the notifiers share (created when missing).
    pub async fn consumer(&self) -> Result<Consumer, EventsError> {
        let s = &self.settings;
        let consumer: PullConsumer = self
            .stream()
            .await?
            .get_or_create_consumer(
                &s.consumer,
                pull::Config {
                    durable_name: Some(s.consumer.clone()),
                    ack_policy: AckPolicy::Explicit,
                    deliver_policy: DeliverPolicy::All,
                    ack_wait: s.ack_wait,
                    filter_subject: s.subject.clone(),
                    ..pull::Config::default()
                },
            )
            .await
            .map_err(|e| EventsError::Stream {
                stream: s.stream.clone(),
                source: Box::new(e),
            })?;
        Ok(Consumer { consumer })
    }
}

/// The notifiers' view of the stream.
pub struct Consumer {
    consumer: PullConsumer,
}

/// One delivered event, to acknowledge once handled.
pub struct Delivery {
    pub event: Result<OutboxEvent, String>,
    message: jetstream::Message,
}

impl Delivery {
    /// How many times this message was delivered, this delivery included.
    pub fn deliveries(&self) -> u32 {
        self.message
            .info()
            .map(|info| u32::try_from(info.delivered).unwrap_or(u32::MAX))
            .unwrap_or(1)
    }

    /// Still being handled: the ack wait starts again from now.
    pub async fn in_progress(&self) -> Result<(), EventsError> {
        self.message
            .ack_with(AckKind::Progress)
            .await
            .map_err(EventsError::Consume)
    }

    /// Handled: never delivered again.
    pub async fn ack(&self) -> Result<(), EventsError> {
        self.message
            .double_ack()
            .await
            .map_err(EventsError::Consume)
    }

    /// Not handled now: delivered again after `delay`.
    pub async fn retry_after(&self, delay: Duration) -> Result<(), EventsError> {
        self.message
            .ack_with(AckKind::Nak(Some(delay)))
            .await
            .map_err(EventsError::Consume)
    }

    /// Cannot ever be handled (an unreadable message): never delivered again.
    pub async fn reject(&self) -> Result<(), EventsError> {
        self.message
            .ack_with(AckKind::Term)
            .await
            .map_err(EventsError::Consume)
    }
}

impl Consumer {
    /// Waits up to `wait` for up to `max` deliveries.
    pub async fn next_batch(
        &self,
        max: usize,
        wait: Duration,
    ) -> Result<Vec<Delivery>, EventsError> {
        let mut batch = self
            .consumer
            .fetch()
            .max_messages(max)
            .expires(wait)
            .messages()
            .await
            .map_err(|e| EventsError::Consume(Box::new(e)))?;
        let mut deliveries = Vec::new();
        while let Some(message) = batch.next().await {
            let message = message.map_err(EventsError::Consume)?;
            let event = serde_json::from_slice::<OutboxEvent>(&message.payload)
                .map_err(|e| format!("unreadable event: {e}"));
            deliveries.push(Delivery { event, message });
        }
        Ok(deliveries)
    }

    /// Messages delivered and not yet acknowledged, and messages not yet delivered.
    pub async fn pending(&self) -> Result<(u64, u64), EventsError> {
        let info = self
            .consumer
            .get_info()
            .await
            .map_err(|e| EventsError::Consume(Box::new(e)))?;
        Ok((info.num_ack_pending as u64, info.num_pending))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_and_carry_their_dedup_id() {
        let event = OutboxEvent {
            id: 7,
            kind: "winner".into(),
            customer_id: 42,
            payload: "{}".into(),
        };
        assert_eq!(event.message_id(), "outbox-7");
        let json = serde_json::to_vec(&event).unwrap();
        assert_eq!(serde_json::from_slice::<OutboxEvent>(&json).unwrap(), event);
    }
}
