//! The identity role called over HTTP, from the processes where it does not run.

use std::sync::Arc;

use async_trait::async_trait;
use cloudhp_core::{Customer, CustomerId, Identity, IdentityHandle, ServiceError};

use super::{IDENTITY_SERVICE, routes};
use crate::config::Config;
use crate::rpc::{Remote, RemoteRole};

pub struct RemoteIdentity(pub RemoteRole);

/// The identity role as its callers use it: the local service when it runs here (`local`), else
/// a client of `roles.identity_url`.
pub fn handle(local: Option<&IdentityHandle>, remote: &Remote, config: &Config) -> IdentityHandle {
    remote.handle(local, IDENTITY_SERVICE, &config.roles.identity_url, |c| {
        Arc::new(RemoteIdentity(c))
    })
}

#[async_trait]
impl Identity for RemoteIdentity {
    async fn customer(&self, id: CustomerId) -> Result<Customer, ServiceError> {
        self.0.get_json(&routes::customer(id)).await
    }

    async fn customer_count(&self) -> Result<u64, ServiceError> {
        self.0.get_json(routes::CUSTOMER_COUNT).await
    }
}
