//! `[web]`: the customers' pages: their links, and how long they wait for each role.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::link_keys::MIN_KEY_LEN;

use super::{ConfigError, Secret, positive, secret_list};

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
    /// Key signing the personal links (32 characters at least). Empty, and `link_keys` empty
    /// too: the keys of the data dir (`link.key`); several web replicas must share one key.
    pub link_key: Secret,
    /// Several keys, for a rotation: the first signs, every one verifies (links mailed under
    /// an older key still open). A list, or one string of comma- or line-separated keys. Set
    /// this or `link_key`, not both.
    #[serde(deserialize_with = "secret_list")]
    pub link_keys: Vec<Secret>,
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
    /// The language of the pages when neither the customer's shop account nor the browser
    /// names one we have (`en`, `fr`).
    pub language: String,
    /// How many finished draws (won, or no prize: they never change) the web role keeps in
    /// memory, so that their pages ask no other role; `0` keeps none.
    pub finished_cache: u64,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            links: LinkMode::Signed,
            link_key: Secret::default(),
            link_keys: Vec::new(),
            identity_timeout: Duration::from_millis(500),
            status_timeout: Duration::from_millis(500),
            picture_timeout: Duration::from_millis(500),
            play_timeout: Duration::from_millis(500),
            start_timeout: Duration::from_secs(5),
            refresh: Duration::from_secs(2),
            language: "en".into(),
            finished_cache: 50_000,
        }
    }
}

impl WebConfig {
    /// The language of `web.language`.
    pub fn default_language(&self) -> Result<cloudhp_i18n::Lang, ConfigError> {
        cloudhp_i18n::Lang::parse(&self.language).ok_or_else(|| {
            let have: Vec<&str> = cloudhp_i18n::Lang::all().iter().map(|l| l.code()).collect();
            ConfigError::key(
                "web.language",
                format!(
                    "`{}` is not a language of the pages; use one of: {}",
                    self.language,
                    have.join(", ")
                ),
            )
        })
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        positive("web.identity_timeout", self.identity_timeout)?;
        positive("web.status_timeout", self.status_timeout)?;
        positive("web.picture_timeout", self.picture_timeout)?;
        positive("web.play_timeout", self.play_timeout)?;
        positive("web.start_timeout", self.start_timeout)?;
        if self.refresh < Duration::from_secs(1) {
            return Err(ConfigError::key("web.refresh", "must be at least 1s"));
        }
        self.default_language()?;
        let key = self.link_key.expose();
        if !key.is_empty() && key.len() < MIN_KEY_LEN {
            return Err(ConfigError::key(
                "web.link_key",
                "must be at least 32 characters long (use a random string)",
            ));
        }
        if !key.is_empty() && !self.link_keys.is_empty() {
            return Err(ConfigError::key(
                "web.link_keys",
                "web.link_key and web.link_keys are both set: set only web.link_keys, the \
                 signing key first",
            ));
        }
        for (i, key) in self.link_keys.iter().enumerate() {
            if key.expose().len() < MIN_KEY_LEN {
                return Err(ConfigError::key(
                    "web.link_keys",
                    format!(
                        "key {} of {} must be at least 32 characters long (use \
                         `cloudhp link-key generate`)",
                        i + 1,
                        self.link_keys.len()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The configured keys of personal links, the signing key first (`link_keys`, or
    /// `link_key` alone); empty when the data dir's key file is to be used.
    pub fn configured_link_keys(&self) -> Vec<&str> {
        if self.link_keys.is_empty() {
            Some(self.link_key.expose())
                .filter(|k| !k.is_empty())
                .into_iter()
                .collect()
        } else {
            self.link_keys.iter().map(Secret::expose).collect()
        }
    }
}
