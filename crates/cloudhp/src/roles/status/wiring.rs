//! The status role: reads the plays of the lottery database.

use std::sync::Arc;

use cloudhp_core::{ReportHandle, Role, StatusHandle};

use super::{StatusService, api};
use crate::backends::lottery_db;
use crate::config::Config;
use crate::wiring::Wiring;

/// The status role of this process: the play status, and the report of the admin area.
pub struct StatusRole {
    pub status: StatusHandle,
    pub report: ReportHandle,
}

/// The status role, when it runs here, serving its API.
pub async fn service(w: &mut Wiring, config: &Config) -> anyhow::Result<Option<StatusRole>> {
    if !w.runs(Role::Status) {
        return Ok(None);
    }
    let db = lottery_db::shared(w, config).await?;
    let service = Arc::new(StatusService::new(db));
    let status: StatusHandle = service.clone();
    let report: ReportHandle = service;
    w.api(api::router(status.clone(), report.clone()));
    Ok(Some(StatusRole { status, report }))
}
