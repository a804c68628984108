//! The identity role called over HTTP, from the processes where it does not run.

use async_trait::async_trait;
use cloudhp_core::{Customer, CustomerId, Identity, IdentityHandle, ServiceError};

use super::cache::CachedIdentity;
use super::{IDENTITY_SERVICE, routes};
use crate::config::Config;
use crate::rpc::Remote;
use crate::wiring::Wiring;

crate::rpc::remote_client!(RemoteIdentity: IdentityHandle, IDENTITY_SERVICE, identity_url);

/// The identity role as its callers in this process use it ([`handle`]), behind the cache of
/// customer records (`identity.cache_ttl`), one for the whole process.
pub fn cached_handle(
    w: &mut Wiring,
    local: Option<&IdentityHandle>,
    remote: &Remote,
    config: &Config,
) -> IdentityHandle {
    if let Some(shared) = &w.shared.identity {
        return shared.clone();
    }
    let cached = CachedIdentity::wrap(handle(local, remote, config), config.identity.cache());
    w.shared.identity = Some(cached.clone());
    cached
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
