//! The play role's internal HTTP API, over its trait.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use cloudhp_core::{PlayHandle, PlayReply};

use super::routes;
use crate::rpc::{ID, RpcError, parse_id};

pub fn router(service: PlayHandle) -> Router {
    // Any body is ignored: the play role looks the customer up itself.
    async fn play(
        State(s): State<PlayHandle>,
        Path(id): Path<String>,
    ) -> Result<Json<PlayReply>, RpcError> {
        Ok(Json(s.play(parse_id(&id)?).await?))
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
