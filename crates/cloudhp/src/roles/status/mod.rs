//! S: the play record of each customer (state, prize, dates).
//!
//! The role in one place: its local service (here), its internal HTTP API (`api`), its client
//! for the processes where it does not run (`client`), and its start-up (`wiring`).

pub mod api;
pub mod client;
#[cfg(test)]
pub(crate) mod contract;
pub mod wiring;

/// The routes of the status API, each written once for the API and its client: a path for one
/// customer, or with [`crate::rpc::ID`] the pattern the API serves.
pub mod routes {
    use std::fmt::Display;

    /// `GET`: the customer's play status.
    pub fn player(id: impl Display) -> String {
        format!("/v1/status/players/{id}")
    }
}

use async_trait::async_trait;
use cloudhp_core::{CustomerId, PlayStatus, ServiceError, Status};
use cloudhp_store::LotteryDb;

use crate::telemetry::chain;

/// How the status role is named to users when it fails.
pub const STATUS_SERVICE: &str = "the status service";

/// How the status and play roles name the lottery database to users.
pub const LOTTERY_DB: &str = "the lottery database";

/// The local status role.
pub struct StatusService {
    db: LotteryDb,
}

impl StatusService {
    pub fn new(db: LotteryDb) -> Self {
        Self { db }
    }
}

#[async_trait]
impl Status for StatusService {
    async fn status(&self, id: CustomerId) -> Result<PlayStatus, ServiceError> {
        match self.db.record(id).await {
            Ok(Some(record)) => Ok(record.to_status()),
            Ok(None) => Ok(PlayStatus::not_played(id)),
            Err(e) => {
                tracing::warn!(customer = %id, error = %chain(&e), "status lookup failed");
                Err(ServiceError::unavailable(LOTTERY_DB))
            }
        }
    }
}
