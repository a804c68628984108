//! Nothing stuck, nothing doubled: crashes and W failures.

use cloudhp_testkit::{ClosedPort, SmtpMode, SmtpServer};

use crate::support::*;

/// Mail through a test SMTP server of its own: a mail sent twice, by the killed process and
/// its successor, would be two messages there.
fn smtp_env(smtp: &SmtpServer) -> (&'static str, String) {
    ("CLOUDHP_MAIL__URL", plain_smtp_url(smtp))
}

/// The configuration of a test's timings: W's tempo (seconds), how long a draw waits for W,
/// and how long a claim's lease lasts.
fn timings(tempo: f64, worker_timeout: &str, lease: &str) -> String {
    format!(
        "[worker]\ntempo = {tempo:?}\n[play]\nworker_timeout = \"{worker_timeout}\"\nlease = \"{lease}\"\n"
    )
}

/// Short leases so that recovery happens within the test.
fn short_lease() -> String {
    timings(1.0, "1500ms", "3s") + "store_timeout = \"500ms\"\n"
}

#[tokio::test]
async fn a_draw_killed_mid_w_is_completed_after_restart_with_one_result() {
    let smtp = SmtpServer::start(SmtpMode::Plain, None);
    let (key, url) = smtp_env(&smtp);
    let sandbox = Sandbox::new(&short_lease());
    let app = sandbox.up_with(&[(key, &url)]);
    let links = sandbox.links(&app.base());
    start_play(&app, &links, 5).await;
    // W sleeps one second: kill the process in the middle of it.
    app.kill();

    let lottery = sandbox.lottery();
    let record = lottery.record(id(5)).await.unwrap().unwrap();
    assert_eq!(
        record.state,
        cloudhp_store::RecordState::Drawing,
        "the claim survives the crash"
    );
    assert!(smtp.messages().is_empty());

    // The restarted process is the same instance (same host, same data dir): it takes the
    // claim over at once and drives the draw again, once.
    // Tokens do not depend on the address, so the links still hold after the restart.
    let app = sandbox.up_with(&[(key, &url)]);
    let won = wait_for_state(&app, &links, 5, "won").await;
    assert!(won["prize"].is_string());
    let record = lottery.record(id(5)).await.unwrap().unwrap();
    assert_eq!(
        record.attempts, 2,
        "one interrupted attempt, one that completed"
    );
    assert_eq!(record.requested_at.unix_timestamp(), {
        let t = time::OffsetDateTime::parse(
            won["requested_at"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap();
        t.unix_timestamp()
    });
    // One mail, across both processes: the relay received one message.
    wait_for("the notification to be delivered", || async {
        (lottery.outbox_counts().await.unwrap().delivered == 1).then_some(())
    })
    .await;
    let messages = smtp.messages();
    assert_eq!(messages.len(), 1, "one mail sent in all");
    assert!(messages[0].contains("Customer id: 5"), "{}", messages[0]);
    assert_eq!(
        wait_metric(&app, "cloudhp_notifications_total{outcome=\"sent\"}", 1.0).await,
        1.0,
        "sent by the restarted process"
    );
    assert_eq!(
        metric(&app, "cloudhp_draws_recovered_total").await,
        Some(1.0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_restarted_process_re_drives_its_own_draws_at_once_whatever_their_lease() {
    const N: u32 = 40;
    let smtp = SmtpServer::start(SmtpMode::Plain, None);
    let (key, url) = smtp_env(&smtp);
    // A long lease: a draw cut short by a crash could only be taken over after ten minutes,
    // far beyond the polls of a test. Only the start-up recovery of the restarted process
    // explains draws that complete.
    let sandbox = Sandbox::new(&timings(5.0, "10s", "10m"));
    let app = sandbox.up_with(&[(key, &url)]);
    let links = sandbox.links(&app.base());
    let plays: Vec<_> = (1..=N)
        .map(|n| {
            let site = Port(app.port());
            let links = links.clone();
            tokio::spawn(async move { start_play(&site, &links, n).await })
        })
        .collect();
    for play in plays {
        play.await.unwrap();
    }
    // Every draw is claimed under this process's instance, and W takes five seconds: kill
    // mid-draw. (Counted in the database, not by the in-progress gauge: under load, the first
    // draws may be done with W before the last ones hold a slot.)
    let lottery = sandbox.lottery();
    wait_for("every draw to be claimed", || async {
        let mut drawing = 0;
        for n in 1..=N {
            let record = lottery.record(id(n)).await.unwrap();
            if record.is_some_and(|r| r.state == cloudhp_store::RecordState::Drawing) {
                drawing += 1;
            }
        }
        (drawing == N).then_some(())
    })
    .await;
    app.kill();

    for n in 1..=N {
        let record = lottery.record(id(n)).await.unwrap().unwrap();
        assert_eq!(
            record.state,
            cloudhp_store::RecordState::Drawing,
            "customer {n}"
        );
        assert!(record.holder.is_some(), "the claim names its holder");
    }
    assert!(smtp.messages().is_empty());

    // Restarted at once on the same data dir: the same instance, which takes its claims over
    // without waiting for their ten-minute leases.
    let app = sandbox.up_with(&[(key, &url)]);
    let won = wait_for("every draw to be won", || async {
        let mut won = 0;
        for n in 1..=N {
            let record = lottery.record(id(n)).await.unwrap().unwrap();
            if record.state == cloudhp_store::RecordState::Won {
                won += 1;
            }
        }
        (won == N).then_some(won)
    })
    .await;
    assert_eq!(won, N);
    for n in 1..=N {
        let json = player(&app, &links, n).await;
        assert_eq!(json["status"], "won", "customer {n}: {json}");
        let record = lottery.record(id(n)).await.unwrap().unwrap();
        assert_eq!(
            record.attempts, 2,
            "customer {n}: one interrupted, one completed"
        );
    }
    // Every recovery was the restart's: the series of expired leases was never counted.
    assert_eq!(
        metric(&app, "cloudhp_draws_recovered_total").await,
        Some(f64::from(N)),
    );
    assert_eq!(
        metric(&app, "cloudhp_draws_recovered_total{reason=\"restart\"}").await,
        Some(f64::from(N)),
        "every draw in flight was recovered by the restart"
    );
    assert_eq!(
        metric(&app, "cloudhp_worker_draws_total").await,
        Some(f64::from(N))
    );

    // One outbox entry, one mail sent, per customer: N messages at the relay, each winner's
    // once.
    let sent = "cloudhp_notifications_total{outcome=\"sent\"}";
    wait_for("every winner mail to be sent", || async {
        let delivered = lottery.outbox_counts().await.unwrap().delivered;
        let sent = metric(&app, sent).await.unwrap_or(0.0);
        (sent >= f64::from(N) && delivered >= u64::from(N)).then_some(())
    })
    .await;
    assert_eq!(metric(&app, sent).await, Some(f64::from(N)));
    let counts = lottery.outbox_counts().await.unwrap();
    assert_eq!((counts.pending, counts.delivered), (0, u64::from(N)));
    let messages = smtp.messages();
    assert_eq!(messages.len(), N as usize, "one mail per winner in all");
    let mut customers = mailed_customers(&messages);
    customers.dedup();
    assert_eq!(customers.len(), N as usize, "no winner's mail twice");
}

#[tokio::test]
async fn a_failed_w_call_records_no_prize_and_the_customer_can_try_again() {
    // A W of our own, down at first: its port reserved, where nothing listens. The app is a
    // process of its own: its metrics count this test's draws and mails only.
    let sandbox = Sandbox::new("[worker]\ntempo = 0.2\n");
    let w_port = ClosedPort::new();
    let w_url = format!("http://127.0.0.1:{}", w_port.port);
    let app = sandbox.up_with(&[("CLOUDHP_PLAY__WORKER_URLS", w_url.as_str())]);
    let links = sandbox.links(&app.base());
    let token = links.token(id(9)).unwrap();
    let play = app.url(&format!("/api/v1/players/9/play?t={token}"));

    // W is down: the draw fails, no prize, no picture, no mail; Play is offered again.
    let response = client().post(&play).send().await.unwrap();
    assert_eq!(response.status(), 202);
    let failed = wait_for("the failed draw to be recorded", || async {
        let json = player(&app, &links, 9).await;
        json["last_failure_at"].is_string().then_some(json)
    })
    .await;
    assert_eq!(failed["status"], "not_played");
    assert!(failed["prize"].is_null());
    assert!(failed["picture_url"].is_null());
    let (_, html) = page(&app, &links, 9).await;
    assert!(html.contains("could not complete"), "{html}");
    assert_eq!(
        metric(&app, "cloudhp_draws_total{outcome=\"failed\"}").await,
        Some(1.0)
    );

    // W comes up on its port (in the test process, bound as soon as the port is given back):
    // the customer plays again and wins, and one mail is sent.
    let port = w_port.port;
    drop(w_port);
    let _w = sandbox.app().roles("worker").on_port(port).spawn().await;
    let response = client().post(&play).send().await.unwrap();
    assert_eq!(response.status(), 202);
    wait_for_state(&app, &links, 9, "won").await;
    let sent = "cloudhp_notifications_total{outcome=\"sent\"}";
    assert_eq!(wait_metric(&app, sent, 1.0).await, 1.0, "one mail sent");
    assert_eq!(sandbox.mails().len(), 1);
}
