//! The status role's internal HTTP API, over its traits (the play status, and the report of the
//! admin area).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use cloudhp_core::{
    CampaignReport, PlayStatus, ReportHandle, ServiceError, StatusHandle, Winner, WinnerSearch,
    WinnersPage,
};
use serde::Deserialize;

use super::routes;
use crate::rpc::{Answer, ID, IdPath, RpcError, parse_id};

/// The query of [`routes::WINNERS_AFTER`].
#[derive(Debug, Deserialize)]
struct AfterQuery {
    after: Option<String>,
    limit: u32,
}

fn bad_query(e: &QueryRejection) -> RpcError {
    RpcError(ServiceError::invalid(e.body_text()))
}

pub fn router(service: StatusHandle, report: ReportHandle) -> Router {
    async fn status(State(s): State<StatusHandle>, IdPath(id): IdPath) -> Answer<PlayStatus> {
        Ok(Json(s.status(id).await?))
    }
    async fn campaign(State(r): State<ReportHandle>) -> Answer<CampaignReport> {
        Ok(Json(r.campaign().await?))
    }
    async fn winners(
        State(r): State<ReportHandle>,
        query: Result<Query<WinnerSearch>, QueryRejection>,
    ) -> Answer<WinnersPage> {
        let Query(search) = query.map_err(|e| bad_query(&e))?;
        Ok(Json(r.winners(&search).await?))
    }
    async fn winners_after(
        State(r): State<ReportHandle>,
        query: Result<Query<AfterQuery>, QueryRejection>,
    ) -> Answer<Vec<Winner>> {
        let Query(q) = query.map_err(|e| bad_query(&e))?;
        let after = q.after.as_deref().map(parse_id).transpose()?;
        Ok(Json(r.winners_after(after, q.limit).await?))
    }
    Router::new()
        .route(&routes::player(ID), get(status))
        .with_state(service)
        .merge(
            Router::new()
                .route(routes::CAMPAIGN, get(campaign))
                .route(routes::WINNERS, get(winners))
                .route(routes::WINNERS_AFTER, get(winners_after))
                .with_state(report),
        )
}
