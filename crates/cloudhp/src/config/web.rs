//! `[web]`: the customers' pages: their links, and how long they wait for each role.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{ConfigError, Secret, positive};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkMode {
    /// Personal links carry a signature (`&t=…`); changing the id breaks the link.
    Signed,
    /// The seed's links: the id alone opens the page. Anyone can read anyone's page.
    Open,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebConfig {
    pub links: LinkMode,
    /// Key signing the personal links (32 characters at least). Empty: a key generated in the
    /// data dir (`link.key`); several web replicas must share one key.
    pub link_key: Secret,
    #[serde(with = "humantime_serde")]
    pub identity_timeout: Duration,
    #[serde(with = "humantime_serde")]
    pub status_timeout: Duration,
    #[serde(with = "humantime_serde")]
    pub picture_timeout: Duration,
    /// Asking the play role whether a draw can start (shown on the page).
    #[serde(with = "humantime_serde")]
    pub play_timeout: Duration,
    /// Starting a draw (the Play button).
    #[serde(with = "humantime_serde")]
    pub start_timeout: Duration,
    /// How often the page reloads itself while the draw runs.
    #[serde(with = "humantime_serde")]
    pub refresh: Duration,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            links: LinkMode::Signed,
            link_key: Secret::default(),
            identity_timeout: Duration::from_millis(500),
            status_timeout: Duration::from_millis(500),
            picture_timeout: Duration::from_millis(500),
            play_timeout: Duration::from_millis(500),
            start_timeout: Duration::from_secs(5),
            refresh: Duration::from_secs(2),
        }
    }
}

impl WebConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        positive("web.identity_timeout", self.identity_timeout)?;
        positive("web.status_timeout", self.status_timeout)?;
        positive("web.picture_timeout", self.picture_timeout)?;
        positive("web.play_timeout", self.play_timeout)?;
        positive("web.start_timeout", self.start_timeout)?;
        if self.refresh < Duration::from_secs(1) {
            return Err(ConfigError::key("web.refresh", "must be at least 1s"));
        }
        let key = self.link_key.expose();
        if !key.is_empty() && key.len() < 32 {
            return Err(ConfigError::key(
                "web.link_key",
                "must be at least 32 characters long (use a random string)",
            ));
        }
        Ok(())
    }
}
