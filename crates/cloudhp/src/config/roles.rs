//! `[roles]`: where the roles that do not run in this process are reached, and the token of
//! the internal role APIs.

use std::net::SocketAddr;
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
    /// Shared secret of the internal role APIs (`Authorization: Bearer …`). Required when a
    /// process serves a role API on an address other than loopback.
    pub token: Secret,
    /// Serve role APIs without a token on a non-loopback address: only for a network that
    /// nothing else can reach. Logged loudly at every start.
    pub allow_unauthenticated: bool,
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
            allow_unauthenticated: false,
            timeout: Duration::from_secs(10),
            connect_retries: 1,
        }
    }
}

/// The roles whose internal API a process serves to the others.
const WITH_API: [Role; 4] = [Role::Identity, Role::Status, Role::Play, Role::Picture];

impl RolesConfig {
    /// Checks the URL of each role that a role of this process calls and that does not run
    /// here (the web role calls identity, status, play and picture; the play role, identity).
    pub(super) fn validate(&self, roles: &RoleSet) -> Result<(), ConfigError> {
        for (role, key, url) in [
            (Role::Identity, "roles.identity_url", &self.identity_url),
            (Role::Status, "roles.status_url", &self.status_url),
            (Role::Play, "roles.play_url", &self.play_url),
            (Role::Picture, "roles.picture_url", &self.picture_url),
        ] {
            if roles.contains(role) {
                continue;
            }
            let caller = if roles.contains(Role::Web) {
                Role::Web
            } else if role == Role::Identity && roles.contains(Role::Play) {
                Role::Play
            } else {
                continue;
            };
            if url.is_empty() {
                return Err(ConfigError::key(
                    key,
                    format!(
                        "the {caller} role calls the {role} role, which does not run in this \
                         process: set its URL (e.g. http://{role}:8080)"
                    ),
                ));
            }
            check_url(key, url, &["http", "https"])?;
        }
        positive("roles.timeout", self.timeout)
    }

    /// The roles of this process whose API other processes call (none when every role runs
    /// here: nobody else calls them).
    pub fn served_apis(roles: &RoleSet) -> Vec<Role> {
        if roles.is_all() {
            return Vec::new();
        }
        WITH_API
            .into_iter()
            .filter(|r| roles.contains(*r))
            .collect()
    }

    /// Refuses to serve role APIs to the network without a token: anyone reaching them could
    /// read every customer's name and e-mail, and start draws.
    pub(super) fn check_exposure(
        &self,
        roles: &RoleSet,
        listen: SocketAddr,
    ) -> Result<(), ConfigError> {
        if !self.open_to_network(roles, listen) || self.allow_unauthenticated {
            return Ok(());
        }
        let names: Vec<&str> = Self::served_apis(roles).iter().map(|r| r.name()).collect();
        Err(ConfigError::key(
            "roles.token",
            format!(
                "this process serves the API of the {} role(s) on {listen}, which is not \
                 loopback, and no token protects it: set roles.token (or \
                 CLOUDHP_ROLES__TOKEN_FILE) to a shared secret on every process, or, on a \
                 network nothing else can reach, set roles.allow_unauthenticated = true",
                names.join(", ")
            ),
        ))
    }

    /// True when role APIs are served without a token where others may reach them: the
    /// process then says so loudly at start.
    pub fn open_to_network(&self, roles: &RoleSet, listen: SocketAddr) -> bool {
        !Self::served_apis(roles).is_empty() && self.token.is_empty() && !listen.ip().is_loopback()
    }
}
