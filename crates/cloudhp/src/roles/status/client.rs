//! The status role called over HTTP, from the processes where it does not run.

use std::sync::Arc;

use async_trait::async_trait;
use cloudhp_core::{CustomerId, PlayStatus, ServiceError, Status, StatusHandle};

use super::{STATUS_SERVICE, routes};
use crate::config::Config;
use crate::rpc::{Remote, RemoteRole};

pub struct RemoteStatus(pub RemoteRole);

/// The status role as its callers use it: the local service when it runs here (`local`), else
/// a client of `roles.status_url`.
pub fn handle(local: Option<&StatusHandle>, remote: &Remote, config: &Config) -> StatusHandle {
    remote.handle(local, STATUS_SERVICE, &config.roles.status_url, |c| {
        Arc::new(RemoteStatus(c))
    })
}

#[async_trait]
impl Status for RemoteStatus {
    async fn status(&self, id: CustomerId) -> Result<PlayStatus, ServiceError> {
        self.0.get_json(&routes::player(id)).await
    }
}
