//! I: looks customers up in the shop's customer table, read-only.
//!
//! The role in one place: its local service (here), its internal HTTP API (`api`), its client
//! for the processes where it does not run (`client`), and its start-up (`wiring`).

pub mod api;
pub mod cache;
pub mod client;
#[cfg(test)]
pub(crate) mod contract;
pub mod wiring;

/// The routes of the identity API, each written once for the API and its client: a path for one
/// customer, or with [`crate::rpc::ID`] the pattern the API serves.
pub mod routes {
    use std::fmt::Display;

    /// `GET`: the customer.
    pub fn customer(id: impl Display) -> String {
        format!("/v1/identity/customers/{id}")
    }

    /// `GET`: how many customers the campaign admits.
    pub const CUSTOMER_COUNT: &str = "/v1/identity/customer-count";
}

use std::time::Duration;

use async_trait::async_trait;
use cloudhp_core::{Customer, CustomerId, Identity, ServiceError};
use cloudhp_store::CustomerDb;

use crate::config::Admission;
use crate::telemetry::chain;

/// Which customers the campaign admits besides active, registered ones.
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    pub inactive: Admission,
    pub guests: Admission,
}

/// The local identity role.
pub struct IdentityService {
    db: CustomerDb,
    policy: Policy,
    query_timeout: Duration,
}

/// How the identity role is named to users when it fails.
pub const IDENTITY_SERVICE: &str = "the identity service";

/// How the identity role names its dependency to users.
pub const CUSTOMER_DB: &str = "the customer database";

impl IdentityService {
    pub fn new(db: CustomerDb, policy: Policy, query_timeout: Duration) -> Self {
        Self {
            db,
            policy,
            query_timeout,
        }
    }
}

#[async_trait]
impl Identity for IdentityService {
    async fn customer(&self, id: CustomerId) -> Result<Customer, ServiceError> {
        let found = tokio::time::timeout(self.query_timeout, self.db.find(id))
            .await
            .map_err(|_| {
                tracing::warn!(customer = %id, timeout = ?self.query_timeout, "customer lookup timed out");
                metrics::counter!("cloudhp_identity_errors_total", "kind" => "timeout").increment(1);
                ServiceError::timeout(CUSTOMER_DB, self.query_timeout)
            })?
            .map_err(|e| {
                tracing::warn!(customer = %id, error = %chain(&e), "customer lookup failed");
                metrics::counter!("cloudhp_identity_errors_total", "kind" => "database").increment(1);
                ServiceError::unavailable(CUSTOMER_DB)
            })?;
        let Some(record) = found else {
            return Err(ServiceError::NotFound);
        };
        if !record.active && self.policy.inactive == Admission::Exclude {
            tracing::debug!(customer = %id, "inactive customer excluded by identity.inactive");
            return Err(ServiceError::NotFound);
        }
        if record.is_guest && self.policy.guests == Admission::Exclude {
            tracing::debug!(customer = %id, "guest excluded by identity.guests");
            return Err(ServiceError::NotFound);
        }
        Ok(record.customer)
    }

    async fn customer_count(&self) -> Result<u64, ServiceError> {
        let inactive = self.policy.inactive == Admission::Include;
        let guests = self.policy.guests == Admission::Include;
        tokio::time::timeout(self.query_timeout, self.db.admitted_count(inactive, guests))
            .await
            .map_err(|_| {
                tracing::warn!(timeout = ?self.query_timeout, "customer count timed out");
                ServiceError::timeout(CUSTOMER_DB, self.query_timeout)
            })?
            .map_err(|e| {
                tracing::warn!(error = %chain(&e), "customer count failed");
                ServiceError::unavailable(CUSTOMER_DB)
            })
    }
}
