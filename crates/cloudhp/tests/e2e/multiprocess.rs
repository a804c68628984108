//! Every role in its own process, over HTTP; each of them stopped in turn.

use crate::support::*;

/// The panel of the page with this id (`identity`, `status`, `play`, `picture`).
fn panel<'a>(html: &'a str, name: &str) -> &'a str {
    let start = html
        .find(&format!("id=\"{name}\""))
        .unwrap_or_else(|| panic!("no {name} panel in {html}"));
    let end = html[start..].find("</section>").unwrap() + start;
    &html[start..end]
}

struct Cluster {
    sandbox: Sandbox,
    env: Vec<(String, String)>,
    procs: Vec<(&'static str, Option<Proc>, u16)>,
}

impl Cluster {
    fn env(&self) -> Vec<(&str, &str)> {
        self.env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    fn start(&mut self, role: &'static str) -> u16 {
        let proc = self.sandbox.serve(role, "127.0.0.1:0", &self.env());
        let port = proc.port();
        self.procs.push((role, Some(proc), port));
        port
    }

    fn slot(&mut self, role: &str) -> &mut (&'static str, Option<Proc>, u16) {
        self.procs.iter_mut().find(|(r, _, _)| *r == role).unwrap()
    }

    /// The running process of `role`.
    fn proc(&self, role: &str) -> &Proc {
        self.procs
            .iter()
            .find(|(r, _, _)| *r == role)
            .and_then(|(_, proc, _)| proc.as_ref())
            .unwrap()
    }

    fn stop(&mut self, role: &str) {
        let proc = self.slot(role).1.take().unwrap();
        assert!(proc.stop(), "{role} stops cleanly");
    }

    fn restart(&mut self, role: &'static str) {
        let port = self.slot(role).2;
        let proc = self
            .sandbox
            .serve(role, &format!("127.0.0.1:{port}"), &self.env());
        self.slot(role).1 = Some(proc);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_role_in_its_own_process_and_the_page_survives_each_one_dying() {
    let sandbox = Sandbox::new("[worker]\ntempo = 0.5\n");
    let mut cluster = Cluster {
        sandbox,
        // Without the web role's caches: every page asks every role, so each role's death
        // shows on the winner's page (with them, the winner's page stays whole: see
        // `shop.rs` and the web role's tests).
        env: vec![
            (
                "CLOUDHP_ROLES__TOKEN".into(),
                "internal-secret-for-the-test".into(),
            ),
            ("CLOUDHP_WEB__FINISHED_CACHE".into(), "0".into()),
            ("CLOUDHP_IDENTITY__CACHE_CAPACITY".into(), "0".into()),
        ],
        procs: Vec::new(),
    };
    let url = |port: u16| format!("http://127.0.0.1:{port}");
    let worker = cluster.start("worker");
    cluster
        .env
        .push(("CLOUDHP_PLAY__WORKER_URLS".into(), url(worker)));
    for (role, key) in [
        ("identity", "CLOUDHP_ROLES__IDENTITY_URL"),
        ("status", "CLOUDHP_ROLES__STATUS_URL"),
        ("picture", "CLOUDHP_ROLES__PICTURE_URL"),
        ("play", "CLOUDHP_ROLES__PLAY_URL"),
    ] {
        let port = cluster.start(role);
        cluster.env.push((key.into(), url(port)));
    }
    cluster.start("notifier");
    cluster.start("web");
    let web_port = cluster.slot("web").2;
    let web = Port(web_port);
    let links = cluster.sandbox.links(&web.base());
    let http = client();

    // The internal APIs refuse callers without the role token.
    let identity_port = cluster.slot("identity").2;
    let response = send(http.get(format!("{}/v1/identity/customers/1", url(identity_port)))).await;
    assert_eq!(response.status(), 401);

    // The whole flow, across seven processes.
    let (status, html) = page(&web, &links, 1).await;
    assert_eq!(status, 200);
    assert!(
        panel(&html, "play").contains(r#"<button type="submit">Play</button>"#),
        "{html}"
    );
    press_play(&web, &links, 1).await;
    let won = wait_for_state(&web, &links, 1, "won").await;
    let picture_url = won["picture_url"].as_str().unwrap().to_owned();
    let response = http.get(web.url(&picture_url)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/jpeg");
    let jpeg = response.bytes().await.unwrap();
    assert!(jpeg.starts_with(&[0xFF, 0xD8, 0xFF]));
    wait_for("the winner mail", || async {
        (cluster.sandbox.mails().len() == 1).then_some(())
    })
    .await;
    let sent = "cloudhp_notifications_total{outcome=\"sent\"}";
    assert_eq!(
        wait_metric(cluster.proc("notifier"), sent, 1.0).await,
        1.0,
        "one mail sent"
    );

    // Each part dies in turn: the page is still a 200, that panel says N/A, and Play is not
    // offered while what it needs is unknown.
    let cases: [(&'static str, &str, &str); 5] = [
        ("identity", "identity", "the identity service"),
        ("status", "status", "the status service"),
        ("play", "play", "the play service"),
        ("worker", "play", "the prize worker"),
        ("picture", "picture", "the picture service"),
    ];
    for (role, panel_name, reason) in cases {
        cluster.stop(role);
        let (winner, fresh) = wait_for(
            &format!("the {panel_name} panel to say N/A without {role}"),
            || async {
                let (s1, winner) = page(&web, &links, 1).await;
                let (s2, fresh) = page(&web, &links, 2).await;
                assert_eq!((s1, s2), (200, 200), "the page survives without {role}");
                let na = |html: &str| {
                    let p = panel(html, panel_name);
                    p.contains("N/A") && p.contains(reason)
                };
                na(&winner).then_some((winner, fresh))
            },
        )
        .await;
        if role != "picture" {
            let play = panel(&fresh, "play");
            assert!(
                play.contains("disabled>"),
                "Play is not offered without {role}: {play}"
            );
        }
        // The other panels still show what they know.
        if role != "identity" {
            assert!(
                panel(&winner, "identity").contains("<dd>1</dd>"),
                "{winner}"
            );
        }
        if role != "status" {
            assert!(panel(&winner, "status").contains("You won"), "{winner}");
        }
        // The play role itself is unready while W is down.
        if role == "worker" {
            let play = cluster.slot("play").1.as_ref().unwrap().ops();
            let ready = client().get(play.url("/readyz")).send().await.unwrap();
            assert_eq!(ready.status(), 503);
            let body: serde_json::Value = ready.json().await.unwrap();
            assert_ne!(body["checks"]["worker"], "ok", "{body}");
        }
        // The JSON API says which part is missing.
        let json = player(&web, &links, 1).await;
        let part = if role == "worker" { "play" } else { panel_name };
        assert!(json["unavailable"][part].is_string(), "{json}");

        cluster.restart(role);
        wait_for(
            &format!("the page to recover after {role} restarts"),
            || async {
                let json = player(&web, &links, 2).await;
                (json["unavailable"].as_object().unwrap().is_empty() && json["can_play"] == true)
                    .then_some(())
            },
        )
        .await;
    }

    // The notifier is down: a winner's notification waits, and goes out when it is back.
    assert_eq!(
        metric(cluster.proc("notifier"), sent).await,
        Some(1.0),
        "still one mail sent"
    );
    cluster.stop("notifier");
    press_play(&web, &links, 3).await;
    wait_for_state(&web, &links, 3, "won").await;
    let lottery = cluster.sandbox.lottery();
    assert_eq!(lottery.outbox_counts().await.unwrap().pending, 1);
    assert_eq!(
        cluster.sandbox.mails().len(),
        1,
        "nothing sent while the notifier is down"
    );
    cluster.restart("notifier");
    wait_for("the waiting notification", || async {
        (cluster.sandbox.mails().len() == 2).then_some(())
    })
    .await;
    wait_for("the waiting notification to be delivered", || async {
        let counts = lottery.outbox_counts().await.unwrap();
        ((counts.pending, counts.delivered) == (0, 2)).then_some(())
    })
    .await;
    // The restarted notifier sent that one mail only: two in all, across both notifiers.
    assert_eq!(
        wait_metric(cluster.proc("notifier"), sent, 1.0).await,
        1.0,
        "the restarted notifier sent one mail"
    );
}
