//! `[admin]`: the admin area of the web role (`/admin`), off unless a password hash is set.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{ConfigError, Secret, at_least_one, positive};
use crate::link_keys::MIN_KEY_LEN;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdminConfig {
    /// The Argon2 hash of the admin password, as a PHC string (`$argon2id$v=19$…`), printed by
    /// `cloudhp admin hash-password`. Empty: no admin area (`/admin` is not found).
    pub password_hash: Secret,
    /// The key signing the admin sessions (32 characters at least); every web replica must
    /// share it. Empty: derived from the first key of the personal links (web.link_keys, or
    /// the data dir's link.key) and the password hash.
    pub session_key: Secret,
    /// How long a login lasts.
    #[serde(with = "humantime_serde")]
    pub session_ttl: Duration,
    /// Wrong passwords from one client address before it is locked out.
    pub max_failures: u32,
    /// How long a locked-out address waits; each wrong password after that locks it again.
    #[serde(with = "humantime_serde")]
    pub lockout: Duration,
}

impl Default for AdminConfig {
    fn default() -> Self {
        Self {
            password_hash: Secret::default(),
            session_key: Secret::default(),
            session_ttl: Duration::from_secs(8 * 3600),
            max_failures: 5,
            lockout: Duration::from_secs(15 * 60),
        }
    }
}

impl AdminConfig {
    /// Whether the admin area is on.
    pub fn enabled(&self) -> bool {
        !self.password_hash.expose().trim().is_empty()
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if !self.enabled() {
            return Ok(());
        }
        crate::roles::web::admin::check_hash(self.password_hash.expose().trim())
            .map_err(|message| ConfigError::key("admin.password_hash", message))?;
        let key = self.session_key.expose();
        if !key.is_empty() && key.len() < MIN_KEY_LEN {
            return Err(ConfigError::key(
                "admin.session_key",
                "must be at least 32 characters long (use `cloudhp link-key generate`)",
            ));
        }
        if self.session_ttl < Duration::from_secs(60) {
            return Err(ConfigError::key("admin.session_ttl", "must be at least 1m"));
        }
        at_least_one("admin.max_failures", self.max_failures)?;
        positive("admin.lockout", self.lockout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_hash(hash: &str) -> AdminConfig {
        AdminConfig {
            password_hash: Secret::new(hash),
            ..AdminConfig::default()
        }
    }

    #[test]
    fn the_admin_area_is_off_by_default_and_checked_when_on() {
        assert!(!AdminConfig::default().enabled());
        assert!(AdminConfig::default().validate().is_ok());
        let hash = crate::roles::web::admin::hash_password("a long password").unwrap();
        assert!(with_hash(&hash).validate().is_ok());
        for (config, key) in [
            (with_hash("hunter2"), "admin.password_hash"),
            (
                with_hash("$pbkdf2-sha256$i=1000$c2FsdA$aGFzaA"),
                "admin.password_hash",
            ),
            (
                AdminConfig {
                    session_key: Secret::new("short"),
                    ..with_hash(&hash)
                },
                "admin.session_key",
            ),
            (
                AdminConfig {
                    max_failures: 0,
                    ..with_hash(&hash)
                },
                "admin.max_failures",
            ),
            (
                AdminConfig {
                    session_ttl: Duration::from_secs(5),
                    ..with_hash(&hash)
                },
                "admin.session_ttl",
            ),
        ] {
            let error = config.validate().unwrap_err().to_string();
            assert!(error.contains(key), "{key}: {error}");
        }
    }
}
