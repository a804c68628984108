//! `[mailing]`: how `cloudhp campaign send` mails the customers their links.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::ConfigError;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailingConfig {
    /// Messages handed to the mail transport per second, at most (`--rate` overrides it).
    pub rate: f64,
    /// Messages in flight at once (SMTP connections of the pool in use).
    pub concurrency: u32,
    /// A folder of mail templates (`campaign.<language>.txt`) replacing the built-in ones;
    /// empty: the built-in templates.
    pub templates_dir: PathBuf,
}

impl Default for MailingConfig {
    fn default() -> Self {
        Self {
            rate: 10.0,
            concurrency: 4,
            templates_dir: PathBuf::new(),
        }
    }
}

impl MailingConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_rate("mailing.rate", self.rate)?;
        if !(1..=64).contains(&self.concurrency) {
            return Err(ConfigError::key("mailing.concurrency", "must be 1 to 64"));
        }
        if !self.templates_dir.as_os_str().is_empty() && !self.templates_dir.is_dir() {
            return Err(ConfigError::key(
                "mailing.templates_dir",
                format!("{} is not a folder", self.templates_dir.display()),
            ));
        }
        Ok(())
    }
}

/// A rate of messages per second: a positive, finite number.
pub fn check_rate(key: &'static str, rate: f64) -> Result<(), ConfigError> {
    if rate.is_finite() && rate > 0.0 && rate <= 1_000_000.0 {
        Ok(())
    } else {
        Err(ConfigError::key(
            key,
            format!("{rate} is not a rate: give messages per second, above 0 (1000000 at most)"),
        ))
    }
}
