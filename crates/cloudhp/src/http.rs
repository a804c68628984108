//! What every role serves: `/healthz` on every listener; `/readyz` and `/metrics` on the
//! operations listener only; and the request metrics, with labels from closed sets.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures::future::BoxFuture;
use serde_json::{Map, Value, json};

/// One dependency check of `/readyz`: `Err` carries a short reason.
pub type Check = Arc<dyn Fn() -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

/// A readiness check: `probe` run on a clone of `target` (a pool, a store, a client).
pub fn check<T, Fut>(target: T, probe: fn(T) -> Fut) -> Check
where
    T: Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), String>> + Send + 'static,
{
    use futures::FutureExt;
    Arc::new(move || probe(target.clone()).boxed())
}

/// How long one readiness check may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// The dependency checks of the roles of this process.
#[derive(Clone, Default)]
pub struct Readiness {
    checks: Vec<(String, Check)>,
}

impl Readiness {
    pub fn add(&mut self, name: impl Into<String>, check: Check) {
        let name = name.into();
        if !self.checks.iter().any(|(n, _)| *n == name) {
            self.checks.push((name, check));
        }
    }

    /// Runs every check concurrently; true when all pass.
    pub async fn run(&self) -> (bool, Map<String, Value>) {
        let results = futures::future::join_all(self.checks.iter().map(|(name, check)| {
            let check = check.clone();
            async move {
                // The reason goes to the log; the answer (public in a one-process deployment)
                // only says which dependency fails and how.
                let outcome = match tokio::time::timeout(CHECK_TIMEOUT, check()).await {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(reason)) => {
                        tracing::warn!(check = %name, %reason, "readiness check failed");
                        Err("unavailable".to_owned())
                    }
                    Err(_) => Err(format!("no answer within {CHECK_TIMEOUT:?}")),
                };
                (name.clone(), outcome)
            }
        }))
        .await;
        let ready = results.iter().all(|(_, r)| r.is_ok());
        let checks = results
            .into_iter()
            .map(|(name, r)| (name, Value::String(r.err().unwrap_or_else(|| "ok".into()))))
            .collect();
        (ready, checks)
    }
}

async fn healthz() -> &'static str {
    "ok\n"
}

/// The bare liveness check of the public listener: says nothing about the dependencies.
pub fn health_router() -> Router {
    Router::new().route("/healthz", get(healthz))
}

/// The operations listener: `/healthz`, `/readyz` (each dependency by name) and `/metrics`.
pub fn ops_router(readiness: Readiness, roles: String) -> Router {
    async fn readyz(State((readiness, roles)): State<(Readiness, String)>) -> Response {
        let (ready, checks) = readiness.run().await;
        let status = if ready {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        let body = json!({
            "status": if ready { "ready" } else { "unavailable" },
            "roles": roles,
            "checks": checks,
        });
        (status, Json(body)).into_response()
    }
    async fn metrics_text() -> Response {
        let text = crate::telemetry::metrics().render();
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            )],
            text,
        )
            .into_response()
    }
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .with_state((readiness, roles))
}

/// The `method` label: the methods of RFC 9110 and PATCH, anything else `other` (a method
/// is any token a client makes up; each would be a new series).
pub fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "other",
    }
}

/// Counts requests and records their latency. Every label comes from a closed set: the
/// method ([`method_label`]), the route template that matched (never the raw path: ids and
/// made-up paths would explode the series; anything unrouted is `unmatched`), the status code
/// (the handlers' own, a short list).
pub async fn record_metrics(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    let route: Arc<str> = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| Arc::from("unmatched"), |p| Arc::from(p.as_str()));
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!(
        "cloudhp_http_requests_total",
        "method" => method,
        "route" => route.to_string(),
        "status" => status
    )
    .increment(1);
    metrics::histogram!(
        "cloudhp_http_request_duration_seconds",
        "method" => method,
        "route" => route.to_string()
    )
    .record(started.elapsed());
    response
}
