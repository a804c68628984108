//! Exactly one draw per customer, whatever the concurrency.

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_plays_of_one_customer_give_one_draw_and_one_mail() {
    // A process of its own: its metrics count this test's draws and mails only.
    let sandbox = Sandbox::new("[worker]\ntempo = 1.0\n");
    let (app, links) = sandbox.up_linked();
    let token = links.token(id(11)).unwrap();
    let api = app.url(&format!("/api/v1/players/11/play?t={token}"));
    let form = app.url(&links.page_path(id(11)));

    // Half through the JSON API, half through the page's form: double clicks and retries.
    let plays: Vec<_> = (0..50)
        .map(|i| {
            let (api, form) = (api.clone(), form.clone());
            tokio::spawn(async move {
                let http = client();
                let url = if i % 2 == 0 { api } else { form };
                http.post(url).send().await.unwrap().status().as_u16()
            })
        })
        .collect();
    let mut codes = Vec::new();
    for play in plays {
        codes.push(play.await.unwrap());
    }
    assert!(
        codes.iter().all(|c| [202, 303, 409].contains(c)),
        "every play is answered, none fails: {codes:?}"
    );

    wait_for_state(&app, &links, 11, "won").await;
    wait_for("the winner mail", || async {
        (!sandbox.mails().is_empty()).then_some(())
    })
    .await;

    // One call of W that counts, one draw started, one result, one notification, one mail.
    assert_eq!(metric(&app, "cloudhp_worker_draws_total").await, Some(1.0));
    assert_eq!(metric(&app, "cloudhp_draws_started_total").await, Some(1.0));
    assert_eq!(
        metric(&app, "cloudhp_draws_total").await,
        Some(1.0),
        "one draw, of any outcome"
    );
    assert_eq!(
        metric(&app, "cloudhp_draws_total{outcome=\"won\"}").await,
        Some(1.0)
    );
    let lottery = sandbox.lottery();
    let record = lottery.record(id(11)).await.unwrap().unwrap();
    assert_eq!(record.attempts, 1);
    let sent = "cloudhp_notifications_total{outcome=\"sent\"}";
    assert_eq!(wait_metric(&app, sent, 1.0).await, 1.0, "one mail sent");
    let counts = lottery.outbox_counts().await.unwrap();
    assert_eq!((counts.pending, counts.delivered), (0, 1));
    assert_eq!(sandbox.mails().len(), 1);
    // One picture, under the customer's key.
    let images: Vec<_> = std::fs::read_dir(sandbox.data_dir().join("images"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| !n.starts_with('.'))
        .collect();
    assert_eq!(images, vec!["11.jpg"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_customers_play_at_once_and_all_win_in_about_one_tempo() {
    // More plays than the original W could serve in ten seconds: ours draws them concurrently.
    let sandbox = Sandbox::new("[worker]\ntempo = 3.0\n");
    let (app, links) = sandbox.up_linked();
    let plays: Vec<_> = (20..40)
        .map(|n| {
            let url = app.url(&format!(
                "/api/v1/players/{n}/play?t={}",
                links.token(id(n)).unwrap()
            ));
            tokio::spawn(async move { client().post(url).send().await.unwrap().status() })
        })
        .collect();
    for play in plays {
        assert_eq!(play.await.unwrap(), 202);
    }
    // All twenty draws are in W at the same time: served concurrently, not one by one.
    wait_for("twenty draws in flight at once", || async {
        (metric(&app, "cloudhp_worker_inflight").await == Some(20.0)).then_some(())
    })
    .await;
    for n in 20..40 {
        wait_for_state(&app, &links, n, "won").await;
    }
    assert_eq!(metric(&app, "cloudhp_worker_draws_total").await, Some(20.0));
}

/// Two complete processes on the same databases, as two replicas behind a load balancer (two
/// play roles, two recovery sweepers, two notifiers sharing one outbox): 40 plays of customer
/// `n` spread over both give one W call, one result, one notification, one mail and one
/// picture.
pub async fn two_replicas_draw_once(sandbox: &Sandbox, env: &[(&str, &str)], n: u32) {
    let a = sandbox.up_with(env);
    let b = sandbox.up_with(env);
    let links = sandbox.links(&a.base());
    let token = links.token(id(n)).unwrap();
    let plays: Vec<_> = (0..40)
        .map(|i| {
            let site = if i % 2 == 0 { a.base() } else { b.base() };
            let url = format!("{site}/api/v1/players/{n}/play?t={token}");
            tokio::spawn(async move { client().post(url).send().await.unwrap().status().as_u16() })
        })
        .collect();
    for play in plays {
        let code = play.await.unwrap();
        assert!(code == 202 || code == 409, "{code}");
    }
    let won_a = wait_for_state(&a, &links, n, "won").await;
    let won_b = wait_for_state(&b, &links, n, "won").await;
    assert_eq!(won_a["prize"], won_b["prize"]);
    wait_for("the winner mail", || async {
        (!sandbox.mails().is_empty()).then_some(())
    })
    .await;
    // Summed over both processes; a process that never drew (or sent) has no such series.
    let draws = metric(&a, "cloudhp_worker_draws_total")
        .await
        .unwrap_or(0.0)
        + metric(&b, "cloudhp_worker_draws_total")
            .await
            .unwrap_or(0.0);
    assert_eq!(draws, 1.0, "one W call across both replicas");
    let sent_now = || async {
        let sent = "cloudhp_notifications_total{outcome=\"sent\"}";
        metric(&a, sent).await.unwrap_or(0.0) + metric(&b, sent).await.unwrap_or(0.0)
    };
    let sent = wait_for("the notification to be sent", || async {
        let sent = sent_now().await;
        (sent >= 1.0).then_some(sent)
    })
    .await;
    assert_eq!(sent, 1.0, "one notifier sent it, once");
    assert_eq!(sandbox.mails().len(), 1);
    let images: Vec<_> = std::fs::read_dir(sandbox.data_dir().join("images"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert_eq!(images.len(), 1, "one picture");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_on_one_database_still_draw_once() {
    let sandbox = Sandbox::new("[worker]\ntempo = 1.0\n");
    two_replicas_draw_once(&sandbox, &[], 12).await;
    let counts = sandbox.lottery().outbox_counts().await.unwrap();
    assert_eq!((counts.pending, counts.delivered), (0, 1));
}
