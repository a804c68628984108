//! `[play]`: the draws, and the W instances they call.

use std::time::Duration;

use cloudhp_core::{Role, RoleSet};
use serde::{Deserialize, Serialize};

use super::{ConfigError, WorkerConfig, at_least_one, check_url, positive, string_list};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlayConfig {
    /// Base URLs of W instances honouring the W contract; empty: the worker role of this
    /// process.
    #[serde(deserialize_with = "string_list")]
    pub worker_urls: Vec<String>,
    /// How long one W call may take.
    #[serde(with = "humantime_serde")]
    pub worker_timeout: Duration,
    /// Calls in flight at once per W URL (1 for the original, single-threaded W).
    pub worker_concurrency: u32,
    /// Draws in progress at once in this process.
    pub max_draws: u32,
    /// How long a claim is held before a recovery may take it over; longer than
    /// `worker_timeout` + `store_timeout`.
    #[serde(with = "humantime_serde")]
    pub lease: Duration,
    #[serde(with = "humantime_serde")]
    pub store_timeout: Duration,
    /// How often expired claims are looked for.
    #[serde(with = "humantime_serde")]
    pub sweep_interval: Duration,
    /// Attempts of one draw (crash recoveries included) before it is given up as failed.
    pub max_attempts: u32,
}

impl Default for PlayConfig {
    fn default() -> Self {
        Self {
            worker_urls: Vec::new(),
            worker_timeout: Duration::from_secs(30),
            worker_concurrency: 64,
            max_draws: 1024,
            lease: Duration::from_secs(60),
            store_timeout: Duration::from_secs(10),
            sweep_interval: Duration::from_secs(5),
            max_attempts: 5,
        }
    }
}

impl PlayConfig {
    /// `worker`: the W of this process, which the draws call when no W URL is listed.
    pub(super) fn validate(
        &self,
        roles: &RoleSet,
        worker: &WorkerConfig,
    ) -> Result<(), ConfigError> {
        if self.worker_urls.is_empty() && !roles.contains(Role::Worker) {
            return Err(ConfigError::key(
                "play.worker_urls",
                "the play role needs a W: list W base URLs, or run the worker role in this \
                 process",
            ));
        }
        for url in &self.worker_urls {
            check_url("play.worker_urls", url, &["http", "https"])?;
        }
        positive("play.worker_timeout", self.worker_timeout)?;
        positive("play.store_timeout", self.store_timeout)?;
        positive("play.sweep_interval", self.sweep_interval)?;
        at_least_one("play.worker_concurrency", self.worker_concurrency)?;
        at_least_one("play.max_draws", self.max_draws)?;
        at_least_one("play.max_attempts", self.max_attempts)?;
        if self.lease <= self.worker_timeout + self.store_timeout {
            return Err(ConfigError::key(
                "play.lease",
                format!(
                    "must be longer than play.worker_timeout + play.store_timeout ({}), so \
                     that a live draw is never taken over",
                    humantime::format_duration(self.worker_timeout + self.store_timeout)
                ),
            ));
        }
        if self.worker_urls.is_empty() && worker.tempo() >= self.worker_timeout {
            return Err(ConfigError::key(
                "play.worker_timeout",
                format!(
                    "must be longer than worker.tempo ({}s), or every draw times out",
                    worker.tempo
                ),
            ));
        }
        Ok(())
    }
}
