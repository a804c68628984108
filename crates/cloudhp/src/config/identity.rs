//! `[identity]`: the customer database and who may play. The database's keys are checked by
//! `backends::customer_db`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{ConfigError, SecretUrl, positive};

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
    /// How long a customer record found is reused by the roles that look customers up (the
    /// web and play roles); `0s` asks the database every time.
    #[serde(with = "humantime_serde")]
    pub cache_ttl: Duration,
    /// How many customer records each of those processes keeps at most; `0` keeps none.
    pub cache_capacity: u64,
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
            cache_ttl: Duration::from_secs(60),
            cache_capacity: 50_000,
        }
    }
}

impl IdentityConfig {
    /// The cache of customer records (`cache_ttl`, `cache_capacity`).
    pub fn cache(&self) -> crate::roles::identity::cache::CacheSettings {
        crate::roles::identity::cache::CacheSettings {
            capacity: self.cache_capacity,
            ttl: self.cache_ttl,
        }
    }

    /// Checks the identity role's keys; those of its database are checked by
    /// `backends::customer_db`.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        positive("identity.query_timeout", self.query_timeout)?;
        if self.demo_customers > 10_000_000 {
            return Err(ConfigError::key(
                "identity.demo_customers",
                "at most 10000000 demo customers",
            ));
        }
        Ok(())
    }
}
