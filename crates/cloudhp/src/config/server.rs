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
    /// Address of the operations listener (`/metrics`, `/readyz`, `/healthz`), kept off the
    /// public port. `127.0.0.1:0`: a free loopback port, printed at start.
    pub ops_listen: String,
    /// The head of a request (request line and headers) must arrive within this.
    #[serde(with = "humantime_serde")]
    pub header_read_timeout: Duration,
    /// A kept-alive connection with no traffic for this long is closed.
    #[serde(with = "humantime_serde")]
    pub idle_timeout: Duration,
    /// Connections served at once, per listener; past it a connection is answered 503.
    pub max_connections: u32,
    /// Proxies whose `X-Forwarded-For` / `Forwarded` headers name the client (addresses or
    /// CIDR blocks, e.g. the edge network of HAProxy). A request from any other peer is
    /// attributed to the peer itself, whatever its headers say.
    #[serde(deserialize_with = "super::string_list")]
    pub trusted_proxies: Vec<String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            public_url: String::new(),
            data_dir: PathBuf::from("./cloudhp-data"),
            shutdown_grace: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            ops_listen: "127.0.0.1:0".into(),
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 8192,
            trusted_proxies: Vec::new(),
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

    pub fn ops_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.ops_listen.parse().map_err(|e| {
            ConfigError::key(
                "server.ops_listen",
                format!("`{}` is not HOST:PORT ({e})", self.ops_listen),
            )
        })
    }

    /// The trusted proxies, parsed.
    pub fn proxies(&self) -> Result<Vec<ipnet::IpNet>, ConfigError> {
        self.trusted_proxies
            .iter()
            .map(|p| {
                p.parse::<ipnet::IpNet>()
                    .or_else(|_| p.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| {
                        ConfigError::key(
                            "server.trusted_proxies",
                            format!("`{p}` is neither an IP address nor a CIDR block"),
                        )
                    })
            })
            .collect()
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let (public, ops) = (self.listen_addr()?, self.ops_addr()?);
        if ops.port() != 0 && ops == public {
            return Err(ConfigError::key(
                "server.ops_listen",
                "must differ from server.listen: the operations endpoints stay off the public port",
            ));
        }
        self.proxies()?;
        positive("server.header_read_timeout", self.header_read_timeout)?;
        positive("server.idle_timeout", self.idle_timeout)?;
        super::at_least_one("server.max_connections", self.max_connections)?;
        if !self.public_url.is_empty() {
            check_url("server.public_url", &self.public_url, &["http", "https"])?;
        }
        positive("server.request_timeout", self.request_timeout)
    }
}
