//! Against a real nats-server with JetStream, started by the test.

use std::time::Duration;

use cloudhp_events::{BusSettings, EventBus, OutboxEvent};
use cloudhp_testkit::NatsServer;

fn settings() -> BusSettings {
    BusSettings {
        stream: "CLOUDHP_TEST".into(),
        subject: "cloudhp.test.winners".into(),
        consumer: "notifier".into(),
        ack_wait: Duration::from_secs(1),
        duplicate_window: Duration::from_secs(120),
    }
}

fn event(id: i64) -> OutboxEvent {
    OutboxEvent {
        id,
        kind: "winner".into(),
        customer_id: 40 + id as u32,
        payload: format!("{{\"n\":{id}}}"),
    }
}

/// A bus on `nats`, with the tests' settings.
async fn connect(nats: &NatsServer) -> EventBus {
    EventBus::connect(&nats.url(), settings()).await.unwrap()
}

/// A NATS server of the test, and a bus on it where the events `ids` are published.
async fn published(ids: &[i64]) -> (NatsServer, EventBus) {
    let nats = NatsServer::start();
    let bus = connect(&nats).await;
    for id in ids {
        bus.publish(&event(*id)).await.unwrap();
    }
    (nats, bus)
}

/// The next batch of at most `max` deliveries of `consumer`, waiting at most `wait`.
async fn next_batch(
    consumer: &cloudhp_events::Consumer,
    max: usize,
    wait: Duration,
) -> Vec<cloudhp_events::Delivery> {
    consumer.next_batch(max, wait).await.unwrap()
}

/// The next deliveries of `consumer`, polling a bounded number of times.
async fn next_deliveries(consumer: &cloudhp_events::Consumer) -> Vec<cloudhp_events::Delivery> {
    for _ in 0..20 {
        let batch = next_batch(consumer, 10, Duration::from_millis(500)).await;
        if !batch.is_empty() {
            return batch;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Vec::new()
}

#[tokio::test]
async fn an_entry_published_twice_is_stored_once() {
    let nats = NatsServer::start();
    let bus = connect(&nats).await;
    bus.ready().await.unwrap();
    bus.publish(&event(1)).await.unwrap();
    bus.publish(&event(1)).await.unwrap();
    bus.publish(&event(2)).await.unwrap();
    let consumer = bus.consumer().await.unwrap();
    assert_eq!(consumer.pending().await.unwrap(), (0, 2));
    let batch = next_batch(&consumer, 10, Duration::from_secs(1)).await;
    let ids: Vec<i64> = batch.iter().map(|d| d.event.as_ref().unwrap().id).collect();
    assert_eq!(ids, vec![1, 2]);
    assert_eq!(batch[0].event.as_ref().unwrap(), &event(1));
    for d in &batch {
        d.ack().await.unwrap();
    }
    assert_eq!(consumer.pending().await.unwrap(), (0, 0));
}

#[tokio::test]
async fn an_unacknowledged_event_is_delivered_again_to_another_consumer() {
    let (nats, bus) = published(&[3]).await;
    {
        // A notifier takes it and dies without acknowledging.
        let first = bus.consumer().await.unwrap();
        let batch = next_batch(&first, 10, Duration::from_millis(500)).await;
        assert_eq!(batch.len(), 1);
    }
    // Another notifier of the same durable consumer gets it once the ack wait is over.
    let second = connect(&nats).await;
    let consumer = second.consumer().await.unwrap();
    let redelivered = next_deliveries(&consumer).await;
    assert_eq!(redelivered.len(), 1, "redelivered after the ack wait");
    assert_eq!(redelivered[0].event.as_ref().unwrap().id, 3);
    redelivered[0].ack().await.unwrap();
    assert_eq!(consumer.pending().await.unwrap(), (0, 0));
    // Nothing comes back once acknowledged, even after the ack wait would have passed.
    tokio::time::sleep(settings().ack_wait + Duration::from_millis(500)).await;
    let again = next_batch(&consumer, 10, Duration::from_millis(500)).await;
    assert!(again.is_empty());
}

#[tokio::test]
async fn a_nak_delays_the_next_delivery() {
    let (_nats, bus) = published(&[4]).await;
    let consumer = bus.consumer().await.unwrap();
    let batch = next_batch(&consumer, 1, Duration::from_millis(500)).await;
    batch[0]
        .retry_after(Duration::from_millis(200))
        .await
        .unwrap();
    let again = next_deliveries(&consumer).await;
    assert_eq!(again.len(), 1);
    again[0].ack().await.unwrap();
}

#[tokio::test]
async fn a_bus_that_comes_back_keeps_its_messages() {
    let (mut nats, _first) = published(&[5]).await;
    nats.restart();
    let bus = connect(&nats).await;
    let consumer = bus.consumer().await.unwrap();
    let batch = next_batch(&consumer, 10, Duration::from_secs(1)).await;
    assert_eq!(
        batch.len(),
        1,
        "file storage keeps the stream across restarts"
    );
}

/// A bus that cannot be reached is named in the error without its credentials: a token
/// standing alone as a user name, or a password.
#[tokio::test]
async fn an_unreachable_bus_is_named_without_its_credentials() {
    let closed = cloudhp_testkit::ClosedPort::new();
    for (url, secret) in [
        (
            format!("nats://s3cr3tT0ken@127.0.0.1:{}", closed.port),
            "s3cr3tT0ken",
        ),
        (
            format!("nats://user:pa55word@127.0.0.1:{}", closed.port),
            "pa55word",
        ),
    ] {
        let Err(err) = EventBus::connect(&url, settings()).await else {
            panic!("nothing listens on {}", closed.port);
        };
        let shown = format!("{err} {err:?}");
        assert!(
            shown.contains("cannot connect to NATS at nats://"),
            "{shown}"
        );
        assert!(
            shown.contains(&format!("@127.0.0.1:{}", closed.port)),
            "{shown}"
        );
        assert!(!shown.contains(secret), "{shown}");
    }
}
