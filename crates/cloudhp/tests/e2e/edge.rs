//! The public edge under abuse: made-up methods and paths never grow the metric series, random
//! requests never crash the router, and connections that dawdle are dropped.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::OnceLock;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use cloudhp_core::RoleSet;
use proptest::prelude::*;
use tower::ServiceExt;

use crate::support::*;

/// One process in this test binary, every role, embedded backends: its public router.
fn app() -> &'static (tokio::runtime::Runtime, Router, tempfile::TempDir) {
    static APP: OnceLock<(tokio::runtime::Runtime, Router, tempfile::TempDir)> = OnceLock::new();
    APP.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut config = cloudhp::Config::default();
        config.server.listen = "127.0.0.1:0".into();
        config.server.data_dir = dir.path().join("data");
        config.identity.demo_customers = 20;
        let router = runtime.block_on(async {
            cloudhp::build(config, RoleSet::all())
                .await
                .expect("build the app")
                .router()
        });
        (runtime, router, dir)
    })
}

fn send(request: Request<Body>) -> u16 {
    let (runtime, router, _) = app();
    runtime
        .block_on(router.clone().oneshot(request))
        .unwrap()
        .status()
        .as_u16()
}

/// `(method, route)` of every request series in `/metrics`.
fn request_series() -> BTreeSet<(String, String)> {
    let text = cloudhp::telemetry::metrics().render();
    let label = |line: &str, name: &str| {
        let start = line.find(&format!("{name}=\""))? + name.len() + 2;
        let end = line[start..].find('"')? + start;
        Some(line[start..end].to_owned())
    };
    text.lines()
        .filter(|l| l.starts_with("cloudhp_http_requests_total{"))
        .filter_map(|l| Some((label(l, "method")?, label(l, "route")?)))
        .collect()
}

fn random_word(rng: &mut impl FnMut() -> u64, len: usize) -> String {
    (0..len)
        .map(|_| char::from(b'A' + (rng() % 26) as u8))
        .collect()
}

/// The router fuzz below shares this test's router and would add series of its own (a known
/// method on a known route) between the two rounds: each of its cases waits for this test.
static SERIES_COUNTED: std::sync::RwLock<()> = std::sync::RwLock::new(());

#[test]
fn made_up_methods_and_paths_never_add_metric_series() {
    // Alone: no app of another test adds series between the two rounds.
    let _alone = Alone::take_blocking();
    let _no_fuzz = SERIES_COUNTED.write().unwrap_or_else(|e| e.into_inner());
    // A small deterministic generator: the test needs variety, not unpredictability.
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut rng = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut paths = BTreeSet::new();
    let mut round = |n: usize| {
        for i in 0..n {
            let method = random_word(&mut rng, 3 + i % 9);
            let path = format!("/{}/{}", random_word(&mut rng, 8).to_lowercase(), rng());
            let uri = format!("{path}?id={}", rng());
            let request = Request::builder()
                .method(method.as_str())
                .uri(&uri)
                .body(Body::empty())
                .unwrap();
            assert!(send(request) < 500, "{method} {uri}");
            paths.insert(path);
        }
    };
    round(2_000);
    let after_first = request_series();
    round(2_000);
    let after_second = request_series();
    assert_eq!(
        after_first, after_second,
        "new series from new random requests"
    );
    let methods: BTreeSet<&str> = after_second.iter().map(|(m, _)| m.as_str()).collect();
    let known = [
        "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "CONNECT", "other",
    ];
    assert!(methods.iter().all(|m| known.contains(m)), "{methods:?}");
    assert!(methods.contains("other"));
    // Routes are templates or `unmatched`, never a raw path.
    assert!(
        !after_second.iter().any(|(_, r)| paths.contains(r)),
        "{after_second:?}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    /// Any method, path, query and headers: an answer below 500 (no panic, no server error),
    /// the embedded backends being up.
    #[test]
    fn any_request_gets_a_client_or_success_answer(
        method in "[A-Z]{1,10}",
        path in "(/[a-zA-Z0-9._~%-]{0,12}){1,4}",
        query in proptest::option::of("[a-zA-Z0-9=&%._-]{0,40}"),
        headers in proptest::collection::vec(("[a-z][a-z-]{0,15}", "[ -~]{0,40}"), 0..6),
        body in proptest::collection::vec(any::<u8>(), 0..256),
    ) {
        let _counting = SERIES_COUNTED.read().unwrap_or_else(|e| e.into_inner());
        let uri = match &query {
            Some(q) => format!("{path}?{q}"),
            None => path.clone(),
        };
        let mut builder = Request::builder().method(method.as_str()).uri(&uri);
        for (name, value) in &headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        // Some generated URIs or headers are not valid HTTP: a client could not send them.
        let Ok(request) = builder.body(Body::from(body)) else {
            return Ok(());
        };
        let status = send(request);
        prop_assert!(status < 500, "{method} {uri} {headers:?} → {status}");
    }
}

/// Reads until the server closes the connection; true if it did before `limit` elapsed (a
/// safety net several times the server's timeout, not a measure).
fn closed_by_server(stream: &mut TcpStream, limit: Duration) -> bool {
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                return false;
            }
            Err(_) => return true,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_idle_and_surplus_connections_are_dropped() {
    // A process of its own: its metrics count this test's connections only.
    let sandbox = Sandbox::new(
        "[server]\nheader_read_timeout = \"1s\"\nidle_timeout = \"2s\"\nmax_connections = 8\n",
    );
    let app = sandbox.up();
    let addr = app.addr.clone();
    let limit = Duration::from_secs(20);

    let outcome = tokio::task::spawn_blocking(move || {
        // Slowloris: a request head that never ends, one header line at a time.
        let mut slow = TcpStream::connect(&addr).unwrap();
        slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            .unwrap();
        let mut slow_closed = false;
        for i in 0..40 {
            std::thread::sleep(Duration::from_millis(250));
            if slow
                .write_all(format!("X-Slow-{i}: y\r\n").as_bytes())
                .is_err()
            {
                slow_closed = true;
                break;
            }
        }
        let slow_closed = slow_closed || closed_by_server(&mut slow, limit);

        // Idle: one request answered, then silence on a kept-alive connection.
        let mut idle = TcpStream::connect(&addr).unwrap();
        idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut first = [0u8; 17];
        idle.read_exact(&mut first).unwrap();
        assert_eq!(&first, b"HTTP/1.1 200 OK\r\n");
        let idle_closed = closed_by_server(&mut idle, limit);

        // The cap: 8 connections held open (each inside its idle time), the 9th refused.
        let held: Vec<TcpStream> = (0..8).map(|_| TcpStream::connect(&addr).unwrap()).collect();
        std::thread::sleep(Duration::from_millis(200));
        // The 9th is answered 503 once it has sent its request, not before: HTTP clients take
        // an answer that comes first for a broken connection.
        let mut surplus = TcpStream::connect(&addr).unwrap();
        surplus
            .set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let mut early = [0u8; 1];
        let unprompted = matches!(surplus.read(&mut early), Ok(n) if n > 0);
        surplus
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        surplus.set_read_timeout(Some(limit)).unwrap();
        let mut answer = String::new();
        let _ = surplus.read_to_string(&mut answer);
        drop(held);
        (slow_closed, idle_closed, unprompted, answer)
    })
    .await
    .unwrap();
    let (slow_closed, idle_closed, unprompted, answer) = outcome;
    assert!(slow_closed, "a slowloris connection was kept");
    assert!(idle_closed, "an idle connection was kept");
    assert!(!unprompted, "the 503 came before the request");
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("Retry-After: 1"), "{answer}");

    let text = metrics_text(&app).await;
    let metrics = Metrics(text.clone());
    for series in [
        "cloudhp_http_connections_closed_total{listener=\"public\",reason=\"header_timeout\"}",
        "cloudhp_http_connections_closed_total{listener=\"public\",reason=\"idle\"}",
        "cloudhp_http_connections_total{listener=\"public\",outcome=\"refused\"}",
    ] {
        assert!(
            metrics.get(series).is_some_and(|n| n >= 1.0),
            "{series} missing from:\n{text}"
        );
    }
    // The gauge is exported (its value is whatever is open while /metrics answers).
    assert!(
        metrics
            .get("cloudhp_http_connections_open{listener=\"public\"}")
            .is_some(),
        "{text}"
    );
}

#[tokio::test]
async fn the_running_server_refuses_cross_site_presses_and_limits_one_client() {
    // A process of its own: its metrics count this test's refusals only.
    let sandbox =
        Sandbox::new("[limits]\nenabled = true\npages_per_minute = 60\npages_burst = 5\n");
    let (app, links) = sandbox.up_linked();
    let press = links.page_path(id(3));

    // A form of another site posting to a customer's link: refused, nothing drawn.
    let response = client()
        .post(app.url(&press))
        .header("origin", "http://evil.example")
        .header("sec-fetch-site", "cross-site")
        .header("sec-fetch-mode", "navigate")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert!(response.text().await.unwrap().contains("another website"));
    assert_eq!(sandbox.lottery().record(id(3)).await.unwrap(), None);

    // The page's own form goes through.
    let response = client()
        .post(app.url(&press))
        .header("origin", app.base())
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert!(
        sandbox.lottery().record(id(3)).await.unwrap().is_some(),
        "the same-origin press started the draw the cross-site one could not"
    );

    // One client reloading far too fast: limited, told when to come back.
    let mut limited = None;
    for _ in 0..20 {
        let response = crate::support::send(client().get(app.url(&links.page_path(id(4))))).await;
        if response.status() == 429 {
            limited = Some(response);
            break;
        }
    }
    let limited = limited.expect("no 429 after 20 pages in a burst of 5");
    let retry: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1);
    assert!(limited.text().await.unwrap().contains("too many requests"));
    assert!(
        metric(&app, "cloudhp_rate_limited_total")
            .await
            .is_some_and(|n| n >= 1.0)
    );
    assert_eq!(
        metric(&app, "cloudhp_cross_site_refused_total").await,
        Some(1.0)
    );
}

fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[tokio::test]
async fn personal_data_is_readable_by_the_service_user_only() {
    use std::os::unix::fs::PermissionsExt;

    let sandbox = Sandbox::new("");
    // A data dir an older version (or a careless copy) left open to everyone.
    let data = sandbox.data_dir();
    std::fs::create_dir_all(data.join("mail")).unwrap();
    std::fs::write(data.join("mail/old.eml"), "old").unwrap();
    for path in [data.clone(), data.join("mail")] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::set_permissions(
        data.join("mail/old.eml"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();

    let (app, links) = sandbox.spawn_linked().await;
    start_play(&app, &links, 2).await;
    wait_for_state(&app, &links, 2, "won").await;
    wait_for("the winner mail", || async {
        (sandbox.mails().len() >= 2).then_some(())
    })
    .await;

    assert_eq!(mode(&data), 0o700);
    for file in [
        data.join("cloudhp.db"),
        data.join("link.key"),
        data.join("mail/old.eml"),
    ] {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
    for mail in sandbox.mails() {
        assert_eq!(mode(&mail), 0o600, "{}", mail.display());
    }
    let mut pictures = Vec::new();
    let mut dirs = vec![data.join("images")];
    while let Some(dir) = dirs.pop() {
        assert_eq!(mode(&dir) & 0o077, 0, "{}", dir.display());
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                pictures.push(path);
            }
        }
    }
    assert!(!pictures.is_empty(), "no picture stored");
    for picture in pictures {
        assert_eq!(mode(&picture), 0o600, "{}", picture.display());
    }
}
