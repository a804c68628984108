//! The status role's internal HTTP API, over its trait.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use cloudhp_core::{PlayStatus, StatusHandle};

use super::routes;
use crate::rpc::{ID, RpcError, parse_id};

pub fn router(service: StatusHandle) -> Router {
    async fn status(
        State(s): State<StatusHandle>,
        Path(id): Path<String>,
    ) -> Result<Json<PlayStatus>, RpcError> {
        Ok(Json(s.status(parse_id(&id)?).await?))
    }
    Router::new()
        .route(&routes::player(ID), get(status))
        .with_state(service)
}
