//! `[play]`: the draws, and the W instances they call.

use std::path::{Path, PathBuf};
use std::time::Duration;

use cloudhp_core::{Role, RoleSet};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{ConfigError, WorkerConfig, at_least_one, check_url, positive, string_list};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlayConfig {
    /// Base URLs of W instances honouring the W contract; empty: the worker role of this
    /// process.
    #[serde(deserialize_with = "string_list")]
    pub worker_urls: Vec<String>,
    /// How long one W call may take: the one deadline of the call, waits for a free W slot
    /// and every instance tried included.
    #[serde(with = "humantime_serde")]
    pub worker_timeout: Duration,
    /// Calls in flight at once per W URL (1 for the original, single-threaded W).
    pub worker_concurrency: u32,
    /// Draws in progress at once in this process.
    pub max_draws: u32,
    /// Draws admitted and not finished in this process (in progress, or waiting for one of
    /// `max_draws`); a press past it is refused as busy (503 with `Retry-After`).
    pub max_pending: u32,
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
    /// The holder named in this process's claims. A play process that starts re-drives at
    /// once the draws still held under its instance (its previous incarnation died), whatever
    /// their lease. Stable across restarts of one deployment slot, distinct between play
    /// processes running at the same time. Empty: `<host name>:<hash of the data dir>`.
    pub instance: String,
    /// The prize catalog file the draws are checked against: stock, "no prize", fallback,
    /// names. Empty: `catalog.toml` of `worker.catalog_dir` when it exists, else none (every
    /// prize W answers is a win, unlimited).
    pub catalog: PathBuf,
}

impl Default for PlayConfig {
    fn default() -> Self {
        Self {
            worker_urls: Vec::new(),
            worker_timeout: Duration::from_secs(30),
            worker_concurrency: 64,
            max_draws: 8192,
            max_pending: 20_000,
            lease: Duration::from_secs(60),
            store_timeout: Duration::from_secs(10),
            sweep_interval: Duration::from_secs(5),
            max_attempts: 5,
            instance: String::new(),
            catalog: PathBuf::new(),
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
        at_least_one("play.max_pending", self.max_pending)?;
        at_least_one("play.max_attempts", self.max_attempts)?;
        check_instance(&self.instance)?;
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

/// The longest instance id (the `plays.holder` column holds 255 characters).
const MAX_INSTANCE_LEN: usize = 200;

/// An explicit `play.instance`: printable, without spaces, not too long.
fn check_instance(instance: &str) -> Result<(), ConfigError> {
    if instance.is_empty() {
        return Ok(());
    }
    if instance.chars().count() > MAX_INSTANCE_LEN {
        return Err(ConfigError::key(
            "play.instance",
            format!("must be at most {MAX_INSTANCE_LEN} characters"),
        ));
    }
    if instance
        .chars()
        .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(ConfigError::key(
            "play.instance",
            format!("`{instance}` must not contain spaces or control characters"),
        ));
    }
    Ok(())
}

/// The default instance id: the host name and a short hash of the canonical data dir, so that
/// a process restarted on the same host (or in the same Swarm slot, whose host name is set per
/// slot) with the same data dir is the same instance.
pub(super) fn default_instance(host: &str, data_dir: &Path) -> String {
    let dir = std::fs::canonicalize(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
    let digest = Sha256::digest(dir.as_os_str().as_encoded_bytes());
    let hash: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
    let host: String = host
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .take(MAX_INSTANCE_LEN - hash.len() - 1)
        .collect();
    let host = if host.is_empty() { "localhost" } else { &host };
    format!("{host}:{hash}")
}

/// This machine's host name, if the system tells it.
pub(super) fn host_name() -> String {
    hostname::get()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_instance_is_stable_per_host_and_data_dir() {
        let dir = tempfile::tempdir().unwrap();
        let a = default_instance("play-1", dir.path());
        assert!(a.starts_with("play-1:"), "{a}");
        assert_eq!(a.len(), "play-1:".len() + 8);
        // The same dir by another path is the same instance; another dir or host is not.
        assert_eq!(a, default_instance("play-1", &dir.path().join(".")));
        let other = tempfile::tempdir().unwrap();
        assert_ne!(a, default_instance("play-1", other.path()));
        assert_ne!(a, default_instance("play-2", dir.path()));
        assert!(default_instance("", dir.path()).starts_with("localhost:"));
    }

    #[test]
    fn an_explicit_instance_is_checked() {
        check_instance("play-3").unwrap();
        check_instance("").unwrap();
        let err = check_instance("play 3").unwrap_err().to_string();
        assert!(err.contains("play.instance"), "{err}");
        assert!(check_instance(&"x".repeat(MAX_INSTANCE_LEN + 1)).is_err());
    }
}
