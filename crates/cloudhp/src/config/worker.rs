//! `[worker]`: W, the prize drawer of this process.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{ConfigError, at_least_one};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkerConfig {
    /// Seconds W waits after drawing, before answering (the original's `tempo`).
    pub tempo: f64,
    /// Folder of prize pictures (`<name>.jpg`), with its optional catalog file
    /// (`catalog.toml`: odds, stock, no prize); empty: `<data_dir>/prizes`, painted on first
    /// start.
    pub catalog_dir: PathBuf,
    /// Calls served at once; more wait (a whole tempo more). As many as one play process
    /// drives at once by default (`play.max_draws`), so that no draw of a burst it admitted
    /// waits for a second tempo: a call waiting here is a timer, it holds no picture.
    pub max_concurrent: u32,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            tempo: 5.0,
            catalog_dir: PathBuf::new(),
            max_concurrent: 8192,
        }
    }
}

impl WorkerConfig {
    pub(super) fn tempo(&self) -> Duration {
        Duration::from_secs_f64(self.tempo.max(0.0))
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if !(0.0..=3600.0).contains(&self.tempo) || self.tempo.is_nan() {
            return Err(ConfigError::key(
                "worker.tempo",
                "must be a number of seconds between 0 and 3600",
            ));
        }
        at_least_one("worker.max_concurrent", self.max_concurrent)
    }
}
