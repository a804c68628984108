//! The status role: reads the plays of the lottery database.

use std::sync::Arc;

use cloudhp_core::{Role, RoleSet, StatusHandle};

use super::{StatusService, api};
use crate::backends::lottery_db;
use crate::config::Config;
use crate::wiring::Wiring;

/// The status role, when it runs here, serving its API.
pub async fn service(
    w: &mut Wiring,
    config: &Config,
    roles: &RoleSet,
) -> anyhow::Result<Option<StatusHandle>> {
    if !roles.contains(Role::Status) {
        return Ok(None);
    }
    let db = lottery_db::shared(w, config).await?;
    let service: StatusHandle = Arc::new(StatusService::new(db));
    w.api(api::router(service.clone()));
    Ok(Some(service))
}
