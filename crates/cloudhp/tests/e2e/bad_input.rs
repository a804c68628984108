//! Client mistakes give clear 4xx answers, never a 500; customer fields are escaped.

use cloudhp::roles::web::Links;

use crate::support::*;

/// An app on the default configuration whose shop also has `customer`, and its links.
async fn app_with_customer(customer: cloudhp_store::NewCustomer) -> (Sandbox, TestApp, Links) {
    let sandbox = Sandbox::new("");
    let (app, links) = sandbox.spawn_linked().await;
    sandbox.add_customer(customer).await;
    (sandbox, app, links)
}

/// Sends `request` and expects a JSON error answer: `status`, and `error` as its code. Returns
/// the answer.
async fn api_error(
    request: reqwest::RequestBuilder,
    status: u16,
    error: &str,
) -> serde_json::Value {
    let request = request.build().unwrap();
    let what = format!("{} {}", request.method(), request.url());
    let response = client().execute(request).await.unwrap();
    assert_eq!(response.status(), status, "{what}");
    let json: serde_json::Value = response.json().await.unwrap();
    assert_eq!(json["error"], error, "{what}");
    json
}

#[tokio::test]
async fn bad_ids_and_bad_links_are_refused_with_4xx() {
    // A process of its own: its metrics count this test's requests only.
    let sandbox = Sandbox::new("");
    let (app, links) = sandbox.up_linked();
    let http = client();
    let t1 = links.token(id(1)).unwrap();

    let cases: &[(&str, u16)] = &[
        ("/index.html", 400),
        ("/index.html?id=", 400),
        ("/index.html?id=abc", 400),
        ("/index.html?id=-1", 400),
        ("/index.html?id=0", 400),
        ("/index.html?id=007", 400),
        ("/index.html?id=1.5", 400),
        ("/index.html?id=4294967296", 400),
        ("/index.html?id=99999999999999999999999999", 400),
        ("/index.html?id=%D9%A3", 400),
        ("/index.html?id=%EF%BC%91", 400),
        ("/index.html?id=..%2F1", 400),
        ("/index.html?id=1%20", 400),
        ("/index.html?id=%FF", 400),
        ("/index.html?id=1&id=2", 400),
        ("/index.html?id=1", 403),
        ("/index.html?id=1&t=", 403),
        ("/index.html?id=1&t=not-a-token", 403),
        ("/api/v1/players/abc", 400),
        ("/api/v1/players/0", 400),
        ("/api/v1/players/1", 403),
        ("/api/v1/players/..%2F..%2Fetc", 400),
        ("/pictures/abc.jpg", 400),
        ("/pictures/1.jpg", 403),
        ("/pictures/1.png", 404),
        ("/nothing/here", 404),
    ];
    for (path, want) in cases {
        let response = http.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status().as_u16(), *want, "GET {path}");
        let body = response.text().await.unwrap();
        assert!(!body.is_empty(), "GET {path} explains itself");
    }
    // The token of customer 1 does not open customer 2.
    let page_of_2 = http.get(app.url(&format!("/index.html?id=2&t={t1}")));
    assert_eq!(status_of(page_of_2).await, 403);
    api_error(
        http.post(app.url(&format!("/api/v1/players/2/play?t={t1}"))),
        403,
        "invalid_link",
    )
    .await;

    // No picture before a win: 404, not cached.
    let t2 = links.token(id(2)).unwrap();
    let response = send(http.get(app.url(&format!("/pictures/2.jpg?t={t2}")))).await;
    assert_eq!(response.status(), 404);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let json = player(&app, &links, 2).await;
    assert!(json["picture_url"].is_null());

    // JSON errors for the API, even for a path that does not decode.
    for path in [
        "/api/v1/players/x",
        "/api/v1/players/%FF",
        "/api/v1/players/%FF/play",
    ] {
        let request = if path.ends_with("/play") {
            http.post(app.url(path))
        } else {
            http.get(app.url(path))
        };
        let json = api_error(request, 400, "invalid_id").await;
        assert!(json["message"].as_str().unwrap().contains("digits"));
    }

    // Wrong methods.
    let response = http
        .delete(app.url("/index.html?id=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);

    // Nothing above was a server error: every request was counted, none with a 5xx.
    let requests: Vec<(String, f64)> = Metrics(metrics_text(&app).await)
        .series()
        .into_iter()
        .filter(|(series, _)| series.starts_with("cloudhp_http_requests_total{"))
        .collect();
    let bad_pages =
        "cloudhp_http_requests_total{method=\"GET\",route=\"/index.html\",status=\"400\"}";
    assert!(
        requests
            .iter()
            .any(|(series, n)| series == bad_pages && *n >= 15.0),
        "{requests:#?}"
    );
    assert!(
        !requests
            .iter()
            .any(|(series, _)| series.contains("status=\"5")),
        "{requests:#?}"
    );
}

#[tokio::test]
async fn unknown_deleted_and_inactive_customers_do_not_exist() {
    let sandbox = Sandbox::new("");
    let (app, links) = sandbox.spawn_linked().await;
    let http = client();
    sandbox.delete_customer(2).await;
    sandbox.deactivate_customer(3).await;
    let customers = sandbox.customers();
    customers.set_flags(id(4), true, true, false).await.unwrap(); // guest

    for n in [2u32, 3, 999_999] {
        let (status, html) = page(&app, &links, n).await;
        assert_eq!(status, 404, "customer {n}");
        assert!(html.contains("We do not know this link"), "{html}");
        let t = links.token(id(n)).unwrap();
        api_error(
            http.get(app.url(&format!("/api/v1/players/{n}?t={t}"))),
            404,
            "not_found",
        )
        .await;
        // Playing for them is refused, and nothing is claimed.
        let play = http.post(app.url(&format!("/api/v1/players/{n}/play?t={t}")));
        assert_eq!(status_of(play).await, 404);
        let press = http.post(app.url(&links.page_path(id(n))));
        assert_eq!(status_of(press).await, 404);
        assert!(sandbox.lottery().record(id(n)).await.unwrap().is_none());
    }
    // Guests are admitted by default.
    let (status, _) = page(&app, &links, 4).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn customer_fields_with_markup_are_escaped() {
    let mut evil = cloudhp_store::demo_customer(id(500));
    evil.profile.firstname = "<script>alert('x')</script>".into();
    evil.profile.lastname = "\"><img src=x onerror=alert(1)>".into();
    evil.profile.email = "o'brien&co@example.com".into();
    let (_sandbox, app, links) = app_with_customer(evil).await;

    let (status, html) = page(&app, &links, 500).await;
    assert_eq!(status, 200);
    assert!(!html.contains("<script>alert"), "{html}");
    assert!(!html.contains("<img src=x"), "{html}");
    assert!(!html.contains("o'brien&co"), "{html}");
    assert!(html.contains("alert("), "the name is shown, escaped");
    // The JSON carries the text as it is (JSON is not HTML).
    let json = player(&app, &links, 500).await;
    assert_eq!(json["customer"]["firstname"], "<script>alert('x')</script>");
}

#[tokio::test]
async fn line_breaks_in_customer_fields_cannot_forge_mail_lines() {
    // The shop's table is written by the shop, not by our import: anything can be in it.
    let mut evil = cloudhp_store::demo_customer(id(501));
    evil.profile.firstname = "Eve\u{2028}To: a@evil.example".into();
    evil.profile.lastname = "Doe\r\nBcc: x@evil.example".into();
    let (sandbox, app, links) = app_with_customer(evil).await;

    start_play(&app, &links, 501).await;
    let mail = wait_for("the winner mail in the spool", || async {
        sandbox.mails().pop()
    })
    .await;
    let text = std::fs::read_to_string(&mail).unwrap();
    for line in text.split(['\r', '\n']) {
        assert!(
            !line.starts_with("Bcc:") && !line.starts_with("To: a@evil"),
            "forged line {line:?} in:\n{text}"
        );
    }
    assert!(
        text.contains("Name:        Eve To: a@evil.example Doe  Bcc: x@evil.example"),
        "the name is kept, on one line:\n{text}"
    );
    assert!(text.contains("Customer id: 501"), "{text}");
}
