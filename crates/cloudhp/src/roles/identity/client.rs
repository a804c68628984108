//! The identity role called over HTTP, from the processes where it does not run.

use async_trait::async_trait;
use cloudhp_core::{Customer, CustomerId, Identity, IdentityHandle, ServiceError};

use super::{IDENTITY_SERVICE, routes};

crate::rpc::remote_client!(RemoteIdentity: IdentityHandle, IDENTITY_SERVICE, identity_url);

#[async_trait]
impl Identity for RemoteIdentity {
    async fn customer(&self, id: CustomerId) -> Result<Customer, ServiceError> {
        self.0.get_json(&routes::customer(id)).await
    }

    async fn customer_count(&self) -> Result<u64, ServiceError> {
        self.0.get_json(routes::CUSTOMER_COUNT).await
    }
}
