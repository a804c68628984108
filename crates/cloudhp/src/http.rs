//! What every role serves: `/healthz`, `/readyz`, `/metrics`, and the request metrics.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures::future::BoxFuture;
use serde_json::{Map, Value, json};

/// One dependency check of `/readyz`: `Err` carries a short reason.
pub type Check = Arc<dyn Fn() -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

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

/// `/healthz`, `/readyz` and `/metrics`.
pub fn ops_router(readiness: Readiness, roles: String) -> Router {
    async fn healthz() -> &'static str {
        "ok\n"
    }
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

/// Counts requests and records their latency, by route (not by raw path: ids would explode
/// the label set).
pub async fn record_metrics(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!(
        "cloudhp_http_requests_total",
        "method" => method.clone(),
        "route" => route.clone(),
        "status" => status
    )
    .increment(1);
    metrics::histogram!(
        "cloudhp_http_request_duration_seconds",
        "method" => method,
        "route" => route
    )
    .record(started.elapsed());
    response
}
