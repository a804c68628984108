//! The identity role's internal HTTP API, over its trait.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use cloudhp_core::{Customer, IdentityHandle};

use super::routes;
use crate::rpc::{Answer, ID, IdPath};

pub fn router(service: IdentityHandle) -> Router {
    async fn customer(State(s): State<IdentityHandle>, IdPath(id): IdPath) -> Answer<Customer> {
        Ok(Json(s.customer(id).await?))
    }
    async fn customer_count(State(s): State<IdentityHandle>) -> Answer<u64> {
        Ok(Json(s.customer_count().await?))
    }
    Router::new()
        .route(&routes::customer(ID), get(customer))
        .route(routes::CUSTOMER_COUNT, get(customer_count))
        .with_state(service)
}
