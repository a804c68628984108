//! `[notifier]`: the delivery of the winners' mails (`[mail]` is checked by `backends::mail`).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{ConfigError, MailConfig, at_least_one, positive};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotifierConfig {
    #[serde(with = "humantime_serde")]
    pub poll_interval: Duration,
    pub batch: u32,
    /// How long a notifier holds an entry it is delivering before another may take it; longer
    /// than `mail.timeout`.
    #[serde(with = "humantime_serde")]
    pub lease: Duration,
    /// First retry delay after a failed delivery; doubles up to `retry_max`.
    #[serde(with = "humantime_serde")]
    pub retry_min: Duration,
    #[serde(with = "humantime_serde")]
    pub retry_max: Duration,
}

impl Default for NotifierConfig {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_secs(2),
            batch: 50,
            lease: Duration::from_secs(60),
            retry_min: Duration::from_secs(5),
            retry_max: Duration::from_secs(600),
        }
    }
}

impl NotifierConfig {
    /// `mail`: checked by `backends::mail`, the mail's timeout is weighed here against the
    /// holds of an entry; `ack_wait`: the bus's `events.ack_wait`, when the notifier reads a
    /// bus.
    pub(super) fn validate(
        &self,
        mail: &MailConfig,
        ack_wait: Option<Duration>,
    ) -> Result<(), ConfigError> {
        positive("notifier.poll_interval", self.poll_interval)?;
        positive("notifier.lease", self.lease)?;
        positive("notifier.retry_min", self.retry_min)?;
        at_least_one("notifier.batch", self.batch)?;
        if self.retry_max < self.retry_min {
            return Err(ConfigError::key(
                "notifier.retry_max",
                "must not be shorter than notifier.retry_min",
            ));
        }
        if self.lease <= mail.timeout {
            return Err(ConfigError::key(
                "notifier.lease",
                "must be longer than mail.timeout, or a slow mail is sent twice",
            ));
        }
        if ack_wait.is_some_and(|ack_wait| ack_wait <= mail.timeout) {
            return Err(ConfigError::key(
                "events.ack_wait",
                "must be longer than mail.timeout, or a slow mail is delivered twice",
            ));
        }
        Ok(())
    }
}
