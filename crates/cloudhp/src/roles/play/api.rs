//! The play role's internal HTTP API, over its trait.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use cloudhp_core::{PlayHandle, PlayReply};

use super::routes;
use crate::rpc::{Answer, ID, IdPath, RpcError};

pub fn router(service: PlayHandle) -> Router {
    // Any body is ignored: the play role looks the customer up itself.
    async fn play(State(s): State<PlayHandle>, IdPath(id): IdPath) -> Answer<PlayReply> {
        Ok(Json(s.play(id).await?))
    }
    async fn availability(State(s): State<PlayHandle>) -> Result<StatusCode, RpcError> {
        s.availability().await?;
        Ok(StatusCode::NO_CONTENT)
    }
    Router::new()
        .route(&routes::player(ID), post(play))
        .route(routes::AVAILABILITY, get(availability))
        .with_state(service)
}
