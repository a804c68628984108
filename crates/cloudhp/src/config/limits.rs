//! `[limits]`: how fast one client may load pages and press Play, and one customer press Play.

use serde::{Deserialize, Serialize};

use super::ConfigError;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Off: no limit at all (benchmarks, or a proxy in front that limits already).
    pub enabled: bool,
    /// Pages, JSON reads and pictures per client address (IPv6: per /64), per minute…
    pub pages_per_minute: u32,
    /// …with this many at once on top.
    pub pages_burst: u32,
    /// Presses of Play per client address, per minute, and the burst.
    pub plays_per_minute: u32,
    pub plays_burst: u32,
    /// Presses of Play per customer (a valid link), per minute, and the burst.
    pub customer_plays_per_minute: u32,
    pub customer_plays_burst: u32,
    /// Clients remembered by each limit at most; past it, the newcomers share one allowance.
    pub max_tracked: u32,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            pages_per_minute: 600,
            pages_burst: 120,
            plays_per_minute: 60,
            plays_burst: 20,
            customer_plays_per_minute: 6,
            customer_plays_burst: 3,
            max_tracked: 100_000,
        }
    }
}

impl LimitsConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        for (key, n) in [
            ("limits.pages_per_minute", self.pages_per_minute),
            ("limits.pages_burst", self.pages_burst),
            ("limits.plays_per_minute", self.plays_per_minute),
            ("limits.plays_burst", self.plays_burst),
            (
                "limits.customer_plays_per_minute",
                self.customer_plays_per_minute,
            ),
            ("limits.customer_plays_burst", self.customer_plays_burst),
            ("limits.max_tracked", self.max_tracked),
        ] {
            super::at_least_one(key, n)?;
        }
        Ok(())
    }
}
