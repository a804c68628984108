//! Winner mails through a real SMTP relay, and through NATS JetStream.

use std::time::Duration;

use cloudhp::roles::web::Links;
use cloudhp_events::{BusSettings, EventBus};
use cloudhp_testkit::{NatsServer, SmtpMode, SmtpServer, require};

use crate::support::*;

fn smtp_env(server: &SmtpServer) -> Vec<(String, String)> {
    vec![
        (
            "CLOUDHP_MAIL__URL".into(),
            format!("smtp://lottery:relay%40pw@localhost:{}", server.port),
        ),
        (
            "CLOUDHP_MAIL__TLS_CA_FILE".into(),
            require("CLOUDHP_TEST_TLS_CERT"),
        ),
        (
            "CLOUDHP_MAIL__ADMINS".into(),
            "admin@shop.example,ops@shop.example".into(),
        ),
        (
            "CLOUDHP_MAIL__FROM".into(),
            "Lottery <lottery@shop.example>".into(),
        ),
    ]
}

fn env_refs(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

fn message_ids(messages: &[String]) -> Vec<String> {
    let mut ids: Vec<String> = messages
        .iter()
        .filter_map(|m| {
            m.lines()
                .find(|l| l.starts_with("Message-ID:"))
                .map(str::to_owned)
        })
        .collect();
    ids.sort();
    ids
}

/// Customers 1 to 3 play, and win; waits until `mails` counts their three mails.
async fn three_winners_mailed(app: &Proc, links: &Links, mails: impl Fn() -> usize) {
    for n in 1..=3 {
        start_play(app, links, n).await;
    }
    wait_for("three mails", || async { (mails() == 3).then_some(()) }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn winner_mails_go_through_smtp_and_wait_while_it_is_down() {
    let mut smtp = SmtpServer::start(SmtpMode::StartTls, Some(("lottery", "relay@pw")));
    let env = smtp_env(&smtp);
    let sandbox = Sandbox::new("[worker]\ntempo = 0.2\n");
    let app = sandbox.up_with(&env_refs(&env));
    let links = sandbox.links(&app.base());

    three_winners_mailed(&app, &links, || smtp.messages().len()).await;
    let messages = smtp.messages();
    let first = messages
        .iter()
        .find(|m| m.contains("Customer id: 1\n") || m.contains("Customer id: 1\r\n"))
        .expect("customer 1's mail");
    assert!(
        first.contains("To: admin@shop.example, ops@shop.example"),
        "{first}"
    );
    assert!(
        first.contains("From: Lottery <lottery@shop.example>"),
        "{first}"
    );
    assert!(first.contains("Message-ID: <winner-1-"), "{first}");
    assert!(sandbox.mails().is_empty(), "nothing goes to the spool");

    // The relay goes away: winners keep being recorded, their mails wait.
    smtp.stop();
    for n in 4..=5 {
        start_play(&app, &links, n).await;
        wait_for_state(&app, &links, n, "won").await;
    }
    let lottery = sandbox.lottery();
    wait_metric(&app, "cloudhp_notifications_total{outcome=\"failed\"}", 2.0).await;
    assert_eq!(lottery.outbox_counts().await.unwrap().pending, 2);

    // It comes back: every waiting mail goes out, once.
    smtp.restart();
    wait_for("the waiting mails", || async {
        (lottery.outbox_counts().await.unwrap().pending == 0).then_some(())
    })
    .await;
    let ids = message_ids(&smtp.messages());
    assert_eq!(ids.len(), 5, "{ids:?}");
    let mut unique = ids.clone();
    unique.dedup();
    assert_eq!(unique.len(), 5, "no mail sent twice: {ids:?}");
}

fn bus_settings() -> BusSettings {
    BusSettings {
        stream: "CLOUDHP".into(),
        subject: "cloudhp.winners".into(),
        consumer: "cloudhp-notifier".into(),
        ack_wait: Duration::from_secs(3),
        duplicate_window: Duration::from_secs(120),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn winners_travel_through_jetstream_to_the_notifier() {
    let nats = NatsServer::start();
    let sandbox = Sandbox::new(
        "[worker]\ntempo = 0.2\n[events]\nack_wait = \"20s\"\nrelay_interval = \"200ms\"\n",
    );
    let app = sandbox.up_with(&[("CLOUDHP_EVENTS__URL", nats.url().as_str())]);
    let links = sandbox.links(&app.base());
    three_winners_mailed(&app, &links, || sandbox.mails().len()).await;
    let sent = "cloudhp_notifications_total{outcome=\"sent\"}";
    assert_eq!(wait_metric(&app, sent, 3.0).await, 3.0, "three mails sent");
    assert_eq!(
        metric(&app, "cloudhp_events_published_total").await,
        Some(3.0)
    );
    // The stream holds the three events, all acknowledged by the notifier.
    let bus = EventBus::connect(&nats.url(), bus_settings())
        .await
        .unwrap();
    let consumer = bus.consumer().await.unwrap();
    wait_for("every event acknowledged", || async {
        (consumer.pending().await.unwrap() == (0, 0)).then_some(())
    })
    .await;
    let lottery = sandbox.lottery();
    assert!(
        lottery
            .unpublished_notifications(10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(lottery.outbox_counts().await.unwrap().delivered, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_notifier_killed_before_its_ack_is_replaced_and_the_mail_goes_out_once() {
    let nats = NatsServer::start();
    let smtp = SmtpServer::start(SmtpMode::StartTls, Some(("lottery", "relay@pw")));
    let mut env = smtp_env(&smtp);
    env.push(("CLOUDHP_EVENTS__URL".into(), nats.url()));
    // A mail may take long; the bus gives a dead notifier's message to another after 3 s.
    env.push(("CLOUDHP_MAIL__TIMEOUT".into(), "2s".into()));
    env.push(("CLOUDHP_EVENTS__ACK_WAIT".into(), "3s".into()));
    let sandbox = Sandbox::new("[worker]\ntempo = 0.2\n[events]\nrelay_interval = \"200ms\"\n");
    let backend = sandbox.serve(
        "web,identity,status,play,picture,worker",
        "127.0.0.1:0",
        &env_refs(&env),
    );
    let links = sandbox.links(&backend.base());
    let first = sandbox.serve("notifier", "127.0.0.1:0", &env_refs(&env));

    // The relay is frozen: the first notifier takes the event and hangs in SMTP.
    smtp.pause();
    start_play(&backend, &links, 21).await;
    let bus = EventBus::connect(&nats.url(), bus_settings())
        .await
        .unwrap();
    let consumer = bus.consumer().await.unwrap();
    wait_for("the first notifier to hold the event", || async {
        (consumer.pending().await.unwrap().0 == 1).then_some(())
    })
    .await;
    first.kill();
    smtp.resume();
    assert!(smtp.messages().is_empty());

    // Another notifier gets the event once its ack wait is over, and sends the mail once.
    let _second = sandbox.serve("notifier", "127.0.0.1:0", &env_refs(&env));
    wait_for("the mail from the second notifier", || async {
        (smtp.messages().len() == 1).then_some(())
    })
    .await;
    wait_for("the event to be acknowledged", || async {
        (consumer.pending().await.unwrap() == (0, 0)).then_some(())
    })
    .await;
    assert_eq!(smtp.messages().len(), 1, "no duplicate mail");
    let lottery = sandbox.lottery();
    assert_eq!(lottery.outbox_counts().await.unwrap().delivered, 1);
}
