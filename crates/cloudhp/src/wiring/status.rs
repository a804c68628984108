//! The status role: reads the plays of the lottery database.

use std::sync::Arc;

use cloudhp_core::{Role, RoleSet, StatusHandle};
use cloudhp_store::LotteryDb;

use crate::roles::status::StatusService;

/// The status role, when it runs here.
pub fn service(roles: &RoleSet, lottery: Option<&LotteryDb>) -> Option<StatusHandle> {
    match (lottery, roles.contains(Role::Status)) {
        (Some(db), true) => Some(Arc::new(StatusService::new(db.clone()))),
        _ => None,
    }
}
