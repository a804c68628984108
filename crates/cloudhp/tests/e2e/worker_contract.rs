//! W, ours and theirs: our worker honours the W contract, and the play role calls any W that
//! honours it as a black box.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use tokio::sync::Mutex;

use crate::support::*;

fn decode_ticket(answer: &serde_json::Value) -> image::RgbImage {
    let bytes = BASE64.decode(answer["img"].as_str().unwrap()).unwrap();
    assert!(bytes.starts_with(&[0xFF, 0xD8, 0xFF]), "img is a JPEG");
    image::load_from_memory_with_format(&bytes, image::ImageFormat::Jpeg)
        .unwrap()
        .to_rgb8()
}

#[tokio::test]
async fn our_worker_honours_the_w_contract() {
    let sandbox = Sandbox::new("[worker]\ntempo = 1.0\n");
    let w = sandbox.app().roles("worker").spawn().await;
    let http = client();

    let about = http.get(w.url("/")).send().await.unwrap();
    assert_eq!(about.status(), 200);
    assert_eq!(about.headers()["access-control-allow-origin"], "*");
    let about: serde_json::Value = about.json().await.unwrap();
    assert!(
        about["Service"].is_string() && about["Version"].is_string(),
        "{about}"
    );

    let started = Instant::now();
    let answer = http.get(w.url("/play/42")).send().await.unwrap();
    let elapsed = started.elapsed();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()["access-control-allow-origin"], "*");
    assert!(
        elapsed >= Duration::from_secs(1),
        "tempo honoured: {elapsed:?}"
    );
    let answer: serde_json::Value = answer.json().await.unwrap();
    let price = answer["price"].as_str().unwrap();
    let catalog: HashSet<String> = std::fs::read_dir(prize_catalog())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(
        catalog.contains(price),
        "{price} is a prize of the catalog {catalog:?}"
    );
    assert!(catalog.len() >= 8);

    // The prize picture with the khaki id strip appended below it.
    let ticket = decode_ticket(&answer);
    let prize = image::open(prize_catalog().join(price)).unwrap().to_rgb8();
    assert_eq!(ticket.width(), prize.width());
    assert_eq!(
        ticket.height(),
        prize.height() + cloudhp_worker::STRIP_HEIGHT
    );
    let corner = ticket.get_pixel(2, ticket.height() - 3).0;
    let khaki = cloudhp_worker::KHAKI.0;
    assert!(
        corner
            .iter()
            .zip(khaki)
            .all(|(a, b)| (i32::from(*a) - i32::from(b)).abs() < 16),
        "strip is khaki: {corner:?}"
    );

    // Like the original, any path segment is an id; nothing else is served.
    assert_eq!(
        http.get(w.url("/play/abc")).send().await.unwrap().status(),
        200
    );
    for (method, path) in [
        ("POST", "/shutdown"),
        ("GET", "/shutdown"),
        ("GET", "/play"),
        ("GET", "/play/1/2"),
        ("POST", "/play/1"),
    ] {
        let status = status_of(http.request(method.parse().unwrap(), w.url(path))).await;
        assert!(
            status == 404 || status == 405,
            "{method} {path} gave {status}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn our_worker_serves_many_calls_at_once() {
    // Each W a process of its own: its metrics count its own calls only.
    let sandbox = Sandbox::new("");
    let calls = |w: &Proc| -> Vec<_> {
        (1..=50)
            .map(|n| {
                let url = w.url(&format!("/play/{n}"));
                tokio::spawn(async move {
                    let response = client().get(url).send().await?.error_for_status()?;
                    response.json::<serde_json::Value>().await
                })
            })
            .collect()
    };

    // A W whose calls take an hour: every call that enters stays, so all fifty inside at
    // once is what a W serving them concurrently shows, however slowly they arrive.
    let slow = sandbox.serve(
        "worker",
        "127.0.0.1:0",
        &[("CLOUDHP_WORKER__TEMPO", "3600")],
    );
    let _waiting = calls(&slow);
    wait_for("fifty calls in flight at once", || async {
        (metric(&slow, "cloudhp_worker_inflight").await == Some(50.0)).then_some(())
    })
    .await;
    assert_eq!(
        metric(&slow, "cloudhp_worker_draws_total").await,
        None,
        "none answered yet"
    );
    slow.kill();

    // A quick one answers each of fifty calls with a ticket, each counted once.
    let quick = sandbox.serve("worker", "127.0.0.1:0", &[("CLOUDHP_WORKER__TEMPO", "0.1")]);
    for call in calls(&quick) {
        let answer = call.await.unwrap().expect("an answer");
        decode_ticket(&answer);
    }
    assert_eq!(
        metric(&quick, "cloudhp_worker_draws_total").await,
        Some(50.0)
    );
}

/// A stand-in for the original W (a single-threaded Flask program whose source is not part of
/// this project): one call at a time, a JSON answer with an extra field, and a 500 with an HTML
/// page when its image tool fails (here: the first call for customer 4).
#[derive(Default)]
struct OriginalLikeW {
    one_at_a_time: Mutex<()>,
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
    calls_for_4: AtomicUsize,
    ticket: Vec<u8>,
}

async fn original_play(State(w): State<Arc<OriginalLikeW>>, Path(id): Path<String>) -> Response {
    let _single_thread = w.one_at_a_time.lock().await;
    let now = w.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    w.most_in_flight.fetch_max(now, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(300)).await;
    w.in_flight.fetch_sub(1, Ordering::SeqCst);
    if id == "4" && w.calls_for_4.fetch_add(1, Ordering::SeqCst) == 0 {
        return (
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            Html("<html><body><h1>Internal Server Error</h1></body></html>"),
        )
            .into_response();
    }
    axum::Json(serde_json::json!({
        "price": "usbkey.jpg",
        "img": BASE64.encode(&w.ticket),
        "drawn_by": "original",
    }))
    .into_response()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn play_calls_any_w_honouring_the_contract_the_single_threaded_original_included() {
    let catalog = cloudhp_worker::Catalog::demo();
    let ticket = cloudhp_worker::render_ticket(&catalog.prizes()[0].image, "x").unwrap();
    let fake = Arc::new(OriginalLikeW {
        ticket,
        ..OriginalLikeW::default()
    });
    let router = axum::Router::new()
        .route(
            "/",
            axum::routing::get(|| async {
                axum::Json(serde_json::json!({"Service": "Microservice w", "Version": "0.1"}))
            }),
        )
        .route("/play/{id}", axum::routing::get(original_play))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let w_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });

    // Mail through a test relay, which keeps each message sent.
    let smtp = cloudhp_testkit::SmtpServer::start(cloudhp_testkit::SmtpMode::Plain, None);
    let sandbox = Sandbox::new("[play]\nworker_concurrency = 1\n");
    let app = sandbox
        .app()
        .with(&format!("[play]\nworker_urls = \"{w_url}\"\n"))
        .with(&format!("[mail]\nurl = \"{}\"\n", plain_smtp_url(&smtp)))
        .spawn()
        .await;
    let links = sandbox.links(&app.base());
    for n in 1..=6u32 {
        start_play(&app, &links, n).await;
    }
    for n in [1u32, 2, 3, 5, 6] {
        let won = wait_for_state(&app, &links, n, "won").await;
        assert_eq!(won["prize"], "usbkey.jpg");
    }
    // The 500 with HTML is a failed draw: no prize, and the customer may try again.
    let failed = wait_for("customer 4's failed draw", || async {
        let json = player(&app, &links, 4).await;
        json["last_failure_at"].is_string().then_some(json)
    })
    .await;
    assert_eq!(failed["status"], "not_played");
    start_play(&app, &links, 4).await;
    wait_for_state(&app, &links, 4, "won").await;
    assert_eq!(
        fake.most_in_flight.load(Ordering::SeqCst),
        1,
        "the original was never called twice at once"
    );
    // Six mails, one per winner: none sent twice.
    wait_for("six notifications to be delivered", || async {
        (sandbox.lottery().outbox_counts().await.unwrap().delivered == 6).then_some(())
    })
    .await;
    let customers = mailed_customers(&smtp.messages());
    let want: Vec<String> = (1..=6).map(|n| format!("Customer id: {n}")).collect();
    assert_eq!(customers, want, "one mail per winner");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn play_spreads_over_several_w_instances_and_skips_a_dead_one() {
    // The live W a process of its own: its metrics count this test's draws only.
    let sandbox = Sandbox::new("[worker]\ntempo = 0.3\n");
    let live = sandbox.serve("worker", "127.0.0.1:0", &[]);
    // Nothing listens there, and nothing else can while the test holds the port.
    let dead = cloudhp_testkit::ClosedPort::new();
    let urls = format!("http://127.0.0.1:{},{}", dead.port, live.base());
    let app = sandbox
        .app()
        .with(&format!("[play]\nworker_urls = \"{urls}\"\n"))
        .spawn()
        .await;
    let links = sandbox.links(&app.base());
    for n in 1..=6u32 {
        start_play(&app, &links, n).await;
    }
    for n in 1..=6u32 {
        let won = wait_for_state(&app, &links, n, "won").await;
        assert!(won["last_failure_at"].is_null(), "no draw failed: {won}");
    }
    // Every draw by the live W, once.
    assert_eq!(metric(&live, "cloudhp_worker_draws_total").await, Some(6.0));
    // One instance alive is enough for Play to be offered.
    assert_eq!(player(&app, &links, 7).await["can_play"], true);
}
