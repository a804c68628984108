//! `[lottery]`: the database of the plays and the outbox.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{ConfigError, SecretUrl, at_least_one, check_db_url, positive};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LotteryConfig {
    /// Plays and outbox; empty: the embedded SQLite file of the data dir.
    pub database: SecretUrl,
    pub max_connections: u32,
    #[serde(with = "humantime_serde")]
    pub acquire_timeout: Duration,
}

impl Default for LotteryConfig {
    fn default() -> Self {
        Self {
            database: SecretUrl::default(),
            max_connections: 10,
            acquire_timeout: Duration::from_secs(3),
        }
    }
}

impl LotteryConfig {
    /// `url`: the database URL, the embedded default resolved.
    pub(super) fn validate(&self, url: &str) -> Result<(), ConfigError> {
        check_db_url("lottery.database", url)?;
        positive("lottery.acquire_timeout", self.acquire_timeout)?;
        at_least_one("lottery.max_connections", self.max_connections)
    }
}
