//! Our W over HTTP: the W contract.

use std::sync::Arc;

use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use tower_http::set_header::SetResponseHeaderLayer;

use super::{About, LocalWorker, PlayAnswer, routes};
use crate::rpc::ID;

/// The W contract over HTTP: `GET /` and `GET /play/<id>`, CORS open, nothing else (in
/// particular no shutdown endpoint).
pub fn contract_router(worker: Arc<LocalWorker>) -> Router {
    Router::new()
        .route(routes::ABOUT, get(about))
        .route(&routes::play(ID), get(play))
        .with_state(worker)
        .layer(SetResponseHeaderLayer::overriding(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        ))
}

async fn about() -> Json<About> {
    Json(About {
        service: "CloudHP w",
        version: env!("CARGO_PKG_VERSION"),
    })
}

async fn play(State(worker): State<Arc<LocalWorker>>, UrlPath(id): UrlPath<String>) -> Response {
    match worker.draw_for(&id).await {
        Ok((price, jpeg)) => Json(PlayAnswer {
            price,
            img: BASE64.encode(jpeg),
        })
        .into_response(),
        Err(e) => {
            tracing::error!(id, error = %crate::telemetry::chain(&e), "draw failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(serde_json::json!({ "error": "the draw failed" })),
            )
                .into_response()
        }
    }
}
