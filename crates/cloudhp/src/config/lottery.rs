//! `[lottery]`: the database of the plays and the outbox, checked by `backends::lottery_db`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::SecretUrl;

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
