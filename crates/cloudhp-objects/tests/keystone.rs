//! The Keystone v3 protocol of the Swift store, against a stand-in Keystone that hands out
//! real tokens of the test Swift (obtained through TempAuth): the request the store sends, the
//! catalog it reads, the token it caches, renews before expiry and renews after a 401 — all
//! checked against a real Swift behind.

mod backends;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use cloudhp_objects::{ImageStore, ObjectError, StoreOptions, SwiftOptions, store_from_url};
use serde_json::{Value, json};

#[derive(Default)]
struct FakeKeystone {
    auth_calls: AtomicUsize,
    /// Seconds of validity of the tokens handed out.
    ttl: AtomicU64,
    /// Hand out a token Swift refuses, once.
    bogus_next: AtomicBool,
    swift_auth_url: String,
    swift_user: String,
    swift_key: String,
}

/// Checks the body is a v3 password authentication scoped to project `cloudhp`.
fn well_formed(body: &Value) -> bool {
    let auth = &body["auth"];
    let user = &auth["identity"]["password"]["user"];
    let project = &auth["scope"]["project"];
    auth["identity"]["methods"] == json!(["password"])
        && user["name"] == "cloudhp"
        && user["password"] == "right"
        && user["domain"]["name"] == "Default"
        && project["name"] == "cloudhp"
        && project["domain"]["name"] == "Default"
}

async fn tokens(State(k): State<Arc<FakeKeystone>>, body: axum::Json<Value>) -> Response {
    k.auth_calls.fetch_add(1, Ordering::SeqCst);
    if !well_formed(&body) {
        return (StatusCode::UNAUTHORIZED, "bad credentials").into_response();
    }
    let swift = reqwest::Client::new()
        .get(&k.swift_auth_url)
        .header("X-Auth-User", &k.swift_user)
        .header("X-Auth-Key", &k.swift_key)
        .send()
        .await
        .unwrap();
    let h = swift.headers();
    let mut token = h["X-Auth-Token"].to_str().unwrap().to_owned();
    let storage = h["X-Storage-Url"].to_str().unwrap().to_owned();
    if k.bogus_next.swap(false, Ordering::SeqCst) {
        token = "AUTH_tk_not_a_valid_token".into();
    }
    let expires = time::OffsetDateTime::now_utc()
        + time::Duration::seconds(k.ttl.load(Ordering::SeqCst) as i64);
    let body = json!({ "token": {
        "expires_at": expires.format(&time::format_description::well_known::Rfc3339).unwrap(),
        "catalog": [
            { "type": "identity", "endpoints": [
                { "interface": "public", "region": "RegionOne", "url": "http://127.0.0.1:1/v3" } ] },
            { "type": "object-store", "endpoints": [
                { "interface": "internal", "region": "RegionOne", "url": "http://127.0.0.1:1/internal" },
                { "interface": "public", "region": "RegionOne", "url": "http://127.0.0.1:1/elsewhere" },
                { "interface": "public", "region": "RegionTwo", "url": storage } ] }
        ]
    }});
    (
        StatusCode::CREATED,
        [("X-Subject-Token", token)],
        axum::Json(body),
    )
        .into_response()
}

async fn start_fake() -> (Arc<FakeKeystone>, String) {
    let swift = backends::tempauth_options();
    let fake = Arc::new(FakeKeystone {
        ttl: AtomicU64::new(3600),
        swift_auth_url: swift.auth_url,
        swift_user: swift.user,
        swift_key: swift.password.expose().to_owned(),
        ..FakeKeystone::default()
    });
    let app = axum::Router::new()
        .route("/v3/auth/tokens", axum::routing::post(tokens))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v3", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (fake, url)
}

fn store(auth_url: &str, password: &str) -> Arc<dyn ImageStore> {
    let options = StoreOptions {
        swift: SwiftOptions {
            auth_url: auth_url.into(),
            user: "cloudhp".into(),
            password: password.into(),
            project: "cloudhp".into(),
            region: "RegionTwo".into(),
            ..SwiftOptions::default()
        },
        ..StoreOptions::default()
    };
    let url = format!("swift://{}", cloudhp_testkit::unique("cloudhp-ks-"));
    store_from_url(&url, &options).unwrap()
}

fn jpeg() -> Bytes {
    Bytes::from_static(&[0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3, 0xFF, 0xD9])
}

#[tokio::test]
async fn the_token_is_obtained_once_and_reused() {
    let (fake, url) = start_fake().await;
    let store = store(&url, "right");
    store.put("1.jpg", jpeg()).await.unwrap();
    assert_eq!(store.head("1.jpg").await.unwrap().unwrap().size, 9);
    assert!(store.get("1.jpg").await.unwrap().is_some());
    store.ready().await.unwrap();
    assert_eq!(fake.auth_calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_token_about_to_expire_is_renewed_before_use() {
    let (fake, url) = start_fake().await;
    // Tokens valid 30 s: inside the renewal margin, so each use asks for a new one.
    fake.ttl.store(30, Ordering::SeqCst);
    let store = store(&url, "right");
    store.put("1.jpg", jpeg()).await.unwrap();
    let after_put = fake.auth_calls.load(Ordering::SeqCst);
    store.head("1.jpg").await.unwrap().unwrap();
    assert_eq!(fake.auth_calls.load(Ordering::SeqCst), after_put + 1);
}

#[tokio::test]
async fn a_refused_token_is_renewed_and_the_call_retried() {
    let (fake, url) = start_fake().await;
    fake.bogus_next.store(true, Ordering::SeqCst);
    let store = store(&url, "right");
    // The first token is refused by Swift (401): the store renews it and succeeds.
    store.put("7.jpg", jpeg()).await.unwrap();
    assert_eq!(fake.auth_calls.load(Ordering::SeqCst), 2);
    assert!(store.head("7.jpg").await.unwrap().is_some());
    assert_eq!(fake.auth_calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn wrong_credentials_are_an_error_naming_keystone() {
    let (_fake, url) = start_fake().await;
    let store = store(&url, "wrong");
    let err = store.put("1.jpg", jpeg()).await.unwrap_err();
    assert!(matches!(err, ObjectError::Refused(_)), "{err:?}");
    let text = format!("{err:?}");
    assert!(text.contains("Keystone") && text.contains("401"), "{text}");
}
