//! `[roles]`: where the roles that do not run in this process are reached, and the token of
//! the internal role APIs.

use std::time::Duration;

use cloudhp_core::{Role, RoleSet};
use serde::{Deserialize, Serialize};

use super::{ConfigError, Secret, check_url, positive};

/// Where the roles that do not run in this process are reached.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RolesConfig {
    pub identity_url: String,
    pub status_url: String,
    pub play_url: String,
    pub picture_url: String,
    /// Shared secret of the internal role APIs (`Authorization: Bearer …`); empty: none.
    pub token: Secret,
    /// Safety net on any call to another role (the web role sets tighter ones per panel).
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// Connection attempts repeated after a refused connection.
    pub connect_retries: u32,
}

impl Default for RolesConfig {
    fn default() -> Self {
        Self {
            identity_url: String::new(),
            status_url: String::new(),
            play_url: String::new(),
            picture_url: String::new(),
            token: Secret::default(),
            timeout: Duration::from_secs(10),
            connect_retries: 1,
        }
    }
}

impl RolesConfig {
    /// Checks the URL of each role the web role calls that is not among `roles`.
    pub(super) fn validate(&self, roles: &RoleSet) -> Result<(), ConfigError> {
        for (role, key, url) in [
            (Role::Identity, "roles.identity_url", &self.identity_url),
            (Role::Status, "roles.status_url", &self.status_url),
            (Role::Play, "roles.play_url", &self.play_url),
            (Role::Picture, "roles.picture_url", &self.picture_url),
        ] {
            if !roles.contains(role) {
                if url.is_empty() {
                    return Err(ConfigError::key(
                        key,
                        format!(
                            "the web role calls the {role} role, which does not run in this \
                             process: set its URL (e.g. http://{role}:8080)"
                        ),
                    ));
                }
                check_url(key, url, &["http", "https"])?;
            }
        }
        positive("roles.timeout", self.timeout)
    }
}
