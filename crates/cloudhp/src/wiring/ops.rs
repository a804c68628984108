//! What every process serves and runs whatever its roles: `/healthz`, and on the operations
//! listener `/readyz` and `/metrics`;
//! the layers around every request, and the upkeep of the metrics recorder.

use std::time::Duration;

use axum::Router;
use cloudhp_core::RoleSet;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use super::Wiring;
use crate::config::Config;
use crate::http::{Readiness, health_router, ops_router, record_metrics};

/// The public listener's routes: the roles' own, and a bare `/healthz`, in the layers every
/// request goes through.
pub fn public(router: Router, config: &Config) -> Router {
    layers(router.merge(health_router()), config)
}

/// The operations listener's routes: `/healthz`, `/readyz` and `/metrics`.
pub fn operations(readiness: Readiness, config: &Config, roles: &RoleSet) -> Router {
    layers(ops_router(readiness, roles.to_string()), config)
}

fn layers(router: Router, config: &Config) -> Router {
    router
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
