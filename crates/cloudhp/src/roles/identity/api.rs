//! The identity role's internal HTTP API, over its trait.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use cloudhp_core::{Customer, IdentityHandle};

use super::routes;
use crate::rpc::{ID, RpcError, parse_id};

pub fn router(service: IdentityHandle) -> Router {
    async fn customer(
        State(s): State<IdentityHandle>,
        Path(id): Path<String>,
    ) -> Result<Json<Customer>, RpcError> {
        Ok(Json(s.customer(parse_id(&id)?).await?))
    }
    async fn customer_count(State(s): State<IdentityHandle>) -> Result<Json<u64>, RpcError> {
        Ok(Json(s.customer_count().await?))
    }
    Router::new()
        .route(&routes::customer(ID), get(customer))
        .route(routes::CUSTOMER_COUNT, get(customer_count))
        .with_state(service)
}
