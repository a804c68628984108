//! `[server]`: the HTTP server and the data dir.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{ConfigError, check_url, positive};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address the HTTP server binds (`127.0.0.1:0` picks a free port).
    pub listen: String,
    /// Base of the personal links printed and mailed (default: `http://<listen>`).
    pub public_url: String,
    /// Where the embedded backends keep their files.
    pub data_dir: PathBuf,
    /// How long a stop waits for requests and draws in progress.
    #[serde(with = "humantime_serde")]
    pub shutdown_grace: Duration,
    /// Upper bound of any one HTTP request served.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            public_url: String::new(),
            data_dir: PathBuf::from("./cloudhp-data"),
            shutdown_grace: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
        }
    }
}

impl ServerConfig {
    pub(super) fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.listen.parse().map_err(|e| {
            ConfigError::key(
                "server.listen",
                format!("`{}` is not HOST:PORT ({e})", self.listen),
            )
        })
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        self.listen_addr()?;
        if !self.public_url.is_empty() {
            check_url("server.public_url", &self.public_url, &["http", "https"])?;
        }
        positive("server.request_timeout", self.request_timeout)
    }
}
