//! What every process serves and runs whatever its roles: `/healthz`, `/readyz`, `/metrics`,
//! the layers around every request, and the upkeep of the metrics recorder.

use std::time::Duration;

use axum::Router;
use cloudhp_core::RoleSet;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use super::Wiring;
use crate::config::Config;
use crate::http::{Readiness, ops_router, record_metrics};

/// Adds the ops endpoints to `router` and wraps it in the layers every request goes through.
pub fn serve(router: Router, readiness: Readiness, config: &Config, roles: &RoleSet) -> Router {
    let role_names = roles.to_string();
    router
        .merge(ops_router(readiness, role_names))
        .layer(axum::middleware::from_fn(record_metrics))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            config.server.request_timeout,
        ))
        .layer(CatchPanicLayer::new())
        .layer(TraceLayer::new_for_http())
}

/// Keeps the histograms of the metrics recorder bounded.
pub fn metrics_upkeep(w: &mut Wiring) {
    let upkeep_stop = w.cancel.clone();
    w.task("metrics upkeep", async move {
        let handle = crate::telemetry::metrics();
        loop {
            tokio::select! {
                () = upkeep_stop.cancelled() => return Ok(()),
                () = tokio::time::sleep(Duration::from_secs(10)) => handle.run_upkeep(),
            }
        }
    });
}
