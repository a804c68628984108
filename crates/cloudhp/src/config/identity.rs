//! `[identity]`: the customer database and who may play.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{ConfigError, SecretUrl, at_least_one, check_db_url, positive};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Admission {
    Include,
    Exclude,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IdentityConfig {
    /// The shop's customer database; empty: the embedded SQLite file of the data dir.
    pub database: SecretUrl,
    pub table_prefix: String,
    /// Customers with `active = 0`.
    pub inactive: Admission,
    /// Guest accounts (`is_guest = 1`).
    pub guests: Admission,
    /// Demo customers seeded into an empty embedded table.
    pub demo_customers: u32,
    pub max_connections: u32,
    #[serde(with = "humantime_serde")]
    pub acquire_timeout: Duration,
    #[serde(with = "humantime_serde")]
    pub query_timeout: Duration,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        Self {
            database: SecretUrl::default(),
            table_prefix: "ps_".into(),
            inactive: Admission::Exclude,
            guests: Admission::Include,
            demo_customers: 1000,
            max_connections: 10,
            acquire_timeout: Duration::from_secs(1),
            query_timeout: Duration::from_secs(2),
        }
    }
}

impl IdentityConfig {
    /// `url`: the database URL, the embedded default resolved.
    pub(super) fn validate(&self, url: &str) -> Result<(), ConfigError> {
        cloudhp_store::TablePrefix::parse(&self.table_prefix)
            .map_err(|e| ConfigError::key("identity.table_prefix", e.to_string()))?;
        check_db_url("identity.database", url)?;
        positive("identity.acquire_timeout", self.acquire_timeout)?;
        positive("identity.query_timeout", self.query_timeout)?;
        at_least_one("identity.max_connections", self.max_connections)?;
        if self.demo_customers > 10_000_000 {
            return Err(ConfigError::key(
                "identity.demo_customers",
                "at most 10000000 demo customers",
            ));
        }
        Ok(())
    }
}
