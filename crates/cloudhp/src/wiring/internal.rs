//! The internal APIs through which other processes call the roles of this one.

use std::sync::Arc;

use axum::Router;
use cloudhp_core::{Role, RoleSet};

use super::LocalRoles;
use crate::config::Config;
use crate::roles::worker::{LocalWorker, contract_router};
use crate::rpc::{identity_api, picture_api, play_api, require_token, status_api, token_digest};

/// Adds to `router` the internal API of each role served here, behind `roles.token` when set,
/// and the W contract when the worker role runs here. Nothing is added when every role runs
/// here, as then no other process calls them.
pub fn mount(
    mut router: Router,
    config: &Config,
    roles: &RoleSet,
    local: &LocalRoles,
    worker: Option<&Arc<LocalWorker>>,
) -> Router {
    if roles.is_all() {
        return router;
    }
    let mut internal = Router::new();
    if let Some(s) = &local.identity {
        internal = internal.merge(identity_api(s.clone()));
    }
    if let Some(s) = &local.status {
        internal = internal.merge(status_api(s.clone()));
    }
    if let Some(s) = &local.play {
        internal = internal.merge(play_api(s.clone()));
    }
    if let Some(s) = &local.pictures {
        internal = internal.merge(picture_api(s.clone()));
    }
    if !config.roles.token.is_empty() {
        internal = internal.layer(axum::middleware::from_fn_with_state(
            token_digest(config.roles.token.expose()),
            require_token,
        ));
    }
    router = router.merge(internal);
    if roles.contains(Role::Worker)
        && let Some(worker) = worker
    {
        let contract = contract_router(worker.clone());
        // The W contract's paths would clash with the pages of a web role.
        router = if roles.contains(Role::Web) {
            router.nest("/w", contract)
        } else {
            router.merge(contract)
        };
    }
    router
}
