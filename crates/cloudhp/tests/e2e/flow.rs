//! The whole customer flow on the embedded defaults.

use crate::support::*;

const SENT: &str = "cloudhp_notifications_total{outcome=\"sent\"}";

#[tokio::test]
async fn page_play_drawing_won_picture_and_one_mail() {
    // The real binary: it is restarted, and its metrics count this test's mails only (as
    // sent: a mail sent twice would rewrite the same file of the spool).
    let sandbox = Sandbox::new("[worker]\ntempo = 1.0\n");
    let (app, links) = sandbox.up_linked();
    let http = client();

    // Not played: identity shown, Play offered.
    let (status, html) = page(&app, &links, 7).await;
    assert_eq!(status, 200);
    assert!(html.contains("You have not played yet."), "{html}");
    assert!(
        html.contains(r#"<button type="submit">Play</button>"#),
        "{html}"
    );
    let before = player(&app, &links, 7).await;
    assert_eq!(before["status"], "not_played");
    assert_eq!(before["can_play"], true);
    let email = before["customer"]["email"].as_str().unwrap().to_owned();
    assert!(html.contains(&email));

    // Play: a redirect back to the page, so a reload never posts twice.
    let response = press_play(&app, &links, 7).await;
    assert_eq!(
        response.headers()["location"].to_str().unwrap(),
        links.page_path(id(7))
    );

    // Drawing: the page says so and refreshes itself; Play is greyed out.
    let (status, html) = page(&app, &links, 7).await;
    assert_eq!(status, 200);
    assert!(html.contains("Drawing your prize"), "{html}");
    assert!(html.contains(r#"<meta http-equiv="refresh""#), "{html}");
    assert!(html.contains("disabled>Drawing"), "{html}");

    // Won, with both dates.
    let won = wait_for_state(&app, &links, 7, "won").await;
    let prize = won["prize"].as_str().unwrap().to_owned();
    assert!(prize.ends_with(".jpg"));
    let requested = time::OffsetDateTime::parse(
        won["requested_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let played = time::OffsetDateTime::parse(
        won["played_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert!(
        played >= requested + time::Duration::milliseconds(900),
        "tempo honoured"
    );
    assert_eq!(won["can_play"], false);

    let (_, html) = page(&app, &links, 7).await;
    assert!(html.contains("You won:"), "{html}");
    assert!(html.contains("disabled>Already played"));
    assert!(!html.contains("http-equiv=\"refresh\""));
    assert!(!html.contains("base64"), "pictures are URLs, never inlined");
    let picture_url = won["picture_url"].as_str().unwrap().to_owned();
    assert!(html.contains(&picture_url.replace('&', "&#38;")), "{html}");

    // The picture: a JPEG with an ETag, cached for long, 304 when unchanged.
    let response = http.get(app.url(&picture_url)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/jpeg");
    let cache = response.headers()["cache-control"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cache.contains("max-age=31536000"), "{cache}");
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    let jpeg = response.bytes().await.unwrap();
    let picture = image::load_from_memory_with_format(&jpeg, image::ImageFormat::Jpeg).unwrap();
    assert_eq!(
        (picture.width(), picture.height()),
        (
            cloudhp_worker::DEMO_WIDTH,
            cloudhp_worker::DEMO_HEIGHT + cloudhp_worker::STRIP_HEIGHT
        )
    );
    let response = http
        .get(app.url(&picture_url))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 304);

    // One mail for the admins, naming the winner: sent once.
    let mails = wait_for("the winner mail", || async {
        let mails = sandbox.mails();
        (!mails.is_empty()).then_some(mails)
    })
    .await;
    assert_eq!(mails.len(), 1);
    assert_eq!(wait_metric(&app, SENT, 1.0).await, 1.0, "one mail sent");
    let counts = sandbox.lottery().outbox_counts().await.unwrap();
    assert_eq!((counts.pending, counts.delivered), (0, 1));
    let mail = std::fs::read_to_string(&mails[0]).unwrap();
    assert!(mail.contains("Message-ID: <winner-7-"), "{mail}");
    assert!(mail.contains("To: admin@localhost"), "{mail}");
    assert!(mail.contains("Customer id: 7"), "{mail}");
    assert!(mail.contains(&email), "{mail}");
    assert!(mail.contains(&format!("({prize})")), "{mail}");

    // Playing again is refused, and the answer says what was won.
    let token = links.token(id(7)).unwrap();
    let again = send(http.post(app.url(&format!("/api/v1/players/7/play?t={token}")))).await;
    assert_eq!(again.status(), 409);
    let again: serde_json::Value = again.json().await.unwrap();
    assert_eq!(again["prize"], prize.as_str());

    // A restart keeps everything, and sends nothing again.
    assert!(app.stop(), "a clean stop");
    let (app, links) = sandbox.up_linked();
    let after = player(&app, &links, 7).await;
    assert_eq!(after["status"], "won");
    assert_eq!(after["prize"], prize.as_str());
    assert_eq!(after["played_at"], won["played_at"]);
    assert_eq!(sandbox.mails().len(), 1);
    // Once the restarted process has sent the next winner's mail (so its notifier has gone
    // through the outbox since the restart), it has sent that one only: customer 7's mail was
    // sent once in all.
    start_play(&app, &links, 8).await;
    wait_for("customer 8's mail to be delivered", || async {
        let counts = sandbox.lottery().outbox_counts().await.unwrap();
        (counts.delivered == 2).then_some(())
    })
    .await;
    assert_eq!(
        wait_metric(&app, SENT, 1.0).await,
        1.0,
        "customer 7's mail sent once"
    );
    assert_eq!(sandbox.mails().len(), 2);
}

#[tokio::test]
async fn the_api_answers_202_while_drawing_and_the_home_page_explains_the_link() {
    let sandbox = Sandbox::new("[worker]\ntempo = 1.0\n");
    let (app, links) = sandbox.spawn_linked().await;
    let http = client();
    let token = links.token(id(3)).unwrap();
    let url = app.url(&format!("/api/v1/players/3/play?t={token}"));
    let first = http.post(&url).send().await.unwrap();
    assert_eq!(first.status(), 202);
    let first: serde_json::Value = first.json().await.unwrap();
    assert_eq!(first["status"], "drawing");
    assert!(first["requested_at"].is_string());
    let second = http.post(&url).send().await.unwrap();
    assert_eq!(
        second.status(),
        202,
        "a draw already running is still a 202"
    );
    wait_for_state(&app, &links, 3, "won").await;

    let home = http.get(app.url("/")).send().await.unwrap();
    assert_eq!(home.status(), 200);
    let home = home.text().await.unwrap();
    assert!(home.contains("personal link"), "{home}");
}
