//! Configuration: in-code defaults, then a TOML file, then `CLOUDHP_<SECTION>__<KEY>`
//! environment variables, then command-line flags. Everything is validated before anything
//! starts, and an error names the key to fix. `cloudhp.example.toml` documents every key.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use cloudhp_core::{Role, RoleSet};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The prefix of configuration environment variables.
pub const ENV_PREFIX: &str = "CLOUDHP_";

/// A configuration problem, with the key it concerns.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid configuration: {0}")]
    Load(#[source] Box<figment::Error>),
    #[error("invalid configuration key `{key}`: {message}")]
    Key { key: &'static str, message: String },
}

impl ConfigError {
    fn key(key: &'static str, message: impl Into<String>) -> Self {
        Self::Key {
            key,
            message: message.into(),
        }
    }
}

/// How a configured string is shown in messages, logs and `cloudhp config`.
pub trait Mask {
    fn mask(value: &str) -> String;
}

/// Shown as `***` (keys, tokens).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Hidden;

impl Mask for Hidden {
    fn mask(value: &str) -> String {
        if value.is_empty() {
            String::new()
        } else {
            "***".into()
        }
    }
}

/// Shown with the password of the URL masked (database and transport URLs).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UrlPassword;

impl Mask for UrlPassword {
    fn mask(value: &str) -> String {
        cloudhp_store::redact_url(value)
    }
}

/// A configured string that must not be shown as it is: it prints, logs and serialises
/// masked, and only [`Masked::expose`] gives the value.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Masked<M>(String, std::marker::PhantomData<M>);

/// A secret: never printed.
pub type Secret = Masked<Hidden>;
/// A URL that may carry a password: printed with the password masked.
pub type SecretUrl = Masked<UrlPassword>;

impl<M: Mask> Masked<M> {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into(), std::marker::PhantomData)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn masked(&self) -> String {
        M::mask(&self.0)
    }
}

impl<M: Mask> fmt::Debug for Masked<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.masked())
    }
}

impl<M: Mask> fmt::Display for Masked<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl<M: Mask> Serialize for Masked<M> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.masked())
    }
}

impl<'de, M: Mask> Deserialize<'de> for Masked<M> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        /// Takes any scalar as text: an environment variable holding only digits arrives as
        /// a number, and a password of digits is still a password.
        struct Text;
        impl serde::de::Visitor<'_> for Text {
            type Value = String;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<String, E> {
                Ok(v.to_owned())
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<String, E> {
                Ok(v.to_string())
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<String, E> {
                Ok(v.to_string())
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<String, E> {
                Ok(v.to_string())
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<String, E> {
                Ok(v.to_string())
            }
        }
        d.deserialize_any(Text).map(Self::new)
    }
}

/// Accepts a list, or one string with comma-separated items (handy in environment variables).
fn string_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        OneOrMany::Many(v) => v,
    })
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub server: ServerConfig,
    pub log: LogConfig,
    pub roles: RolesConfig,
    pub web: WebConfig,
    pub identity: IdentityConfig,
    pub lottery: LotteryConfig,
    pub play: PlayConfig,
    pub worker: WorkerConfig,
    pub images: ImagesConfig,
    pub mail: MailConfig,
    pub notifier: NotifierConfig,
    pub events: EventsConfig,
}

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

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// A tracing filter (`info`, `cloudhp=debug,info`); `RUST_LOG` overrides it.
    pub level: String,
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            level: "info".into(),
            format: LogFormat::Text,
        }
    }
}

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

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Admission {
    Include,
    Exclude,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IdentityConfig {
    /// The shop's customer database; empty: the embedded SQLite file of the data dir.
    pub database: SecretUrl,
    pub table_prefix: String,
    /// Customers with `active = 0`.
    pub inactive: Admission,
    /// Guest accounts (`is_guest = 1`).
    pub guests: Admission,
    /// Demo customers seeded into an empty embedded table.
    pub demo_customers: u32,
    pub max_connections: u32,
    #[serde(with = "humantime_serde")]
    pub acquire_timeout: Duration,
    #[serde(with = "humantime_serde")]
    pub query_timeout: Duration,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        Self {
            database: SecretUrl::default(),
            table_prefix: "ps_".into(),
            inactive: Admission::Exclude,
            guests: Admission::Include,
            demo_customers: 1000,
            max_connections: 10,
            acquire_timeout: Duration::from_secs(1),
            query_timeout: Duration::from_secs(2),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LotteryConfig {
    /// Plays and outbox; empty: the embedded SQLite file of the data dir.
    pub database: SecretUrl,
    pub max_connections: u32,
    #[serde(with = "humantime_serde")]
    pub acquire_timeout: Duration,
}

impl Default for LotteryConfig {
    fn default() -> Self {
        Self {
            database: SecretUrl::default(),
            max_connections: 10,
            acquire_timeout: Duration::from_secs(3),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlayConfig {
    /// Base URLs of W instances honouring the W contract; empty: the worker role of this
    /// process.
    #[serde(deserialize_with = "string_list")]
    pub worker_urls: Vec<String>,
    /// How long one W call may take.
    #[serde(with = "humantime_serde")]
    pub worker_timeout: Duration,
    /// Calls in flight at once per W URL (1 for the original, single-threaded W).
    pub worker_concurrency: u32,
    /// Draws in progress at once in this process.
    pub max_draws: u32,
    /// How long a claim is held before a recovery may take it over; longer than
    /// `worker_timeout` + `store_timeout`.
    #[serde(with = "humantime_serde")]
    pub lease: Duration,
    #[serde(with = "humantime_serde")]
    pub store_timeout: Duration,
    /// How often expired claims are looked for.
    #[serde(with = "humantime_serde")]
    pub sweep_interval: Duration,
    /// Attempts of one draw (crash recoveries included) before it is given up as failed.
    pub max_attempts: u32,
}

impl Default for PlayConfig {
    fn default() -> Self {
        Self {
            worker_urls: Vec::new(),
            worker_timeout: Duration::from_secs(30),
            worker_concurrency: 64,
            max_draws: 1024,
            lease: Duration::from_secs(60),
            store_timeout: Duration::from_secs(10),
            sweep_interval: Duration::from_secs(5),
            max_attempts: 5,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkerConfig {
    /// Seconds W waits after drawing, before answering (the original's `tempo`).
    pub tempo: f64,
    /// Folder of prize pictures (`<name>.jpg`); empty: `<data_dir>/prizes`, painted on first
    /// start.
    pub catalog_dir: PathBuf,
    /// Calls served at once; more wait.
    pub max_concurrent: u32,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            tempo: 5.0,
            catalog_dir: PathBuf::new(),
            max_concurrent: 4096,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ImagesConfig {
    /// Where prize pictures are stored: `file:///path`, `s3://BUCKET[/PREFIX]` or
    /// `swift://CONTAINER[/PREFIX]`; empty: `file://<data_dir>/images`.
    pub url: SecretUrl,
    /// Upper bound of one call to a cloud store.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    pub s3: S3Config,
    pub swift: SwiftConfig,
}

impl Default for ImagesConfig {
    fn default() -> Self {
        Self {
            url: SecretUrl::default(),
            timeout: Duration::from_secs(10),
            s3: S3Config::default(),
            swift: SwiftConfig::default(),
        }
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct S3Config {
    /// Empty: AWS. An S3-compatible store: its URL (MinIO, Ceph, Swift's s3api).
    pub endpoint: String,
    pub region: String,
    /// Empty: the AWS_* environment variables or the instance's role.
    pub access_key: String,
    pub secret_key: Secret,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SwiftConfig {
    /// Keystone v3 (`https://keystone:5000/v3`) or TempAuth (`http://swift:8080/auth/v1.0`).
    pub auth_url: String,
    /// `keystone` or `tempauth`; empty: guessed from `auth_url` (`…/v3` is Keystone).
    pub auth: String,
    pub user: String,
    /// Keystone password or TempAuth key.
    pub password: Secret,
    /// Keystone: the project the token is scoped to.
    pub project: String,
    pub user_domain: String,
    pub project_domain: String,
    /// Keystone: the catalog's region to use (empty: the first object-store endpoint).
    pub region: String,
    pub interface: String,
}

impl Default for SwiftConfig {
    fn default() -> Self {
        Self {
            auth_url: String::new(),
            auth: String::new(),
            user: String::new(),
            password: Secret::default(),
            project: String::new(),
            user_domain: "Default".into(),
            project_domain: "Default".into(),
            region: String::new(),
            interface: "public".into(),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailConfig {
    /// Mail transport; empty: a spool folder `<data_dir>/mail` of `.eml` files.
    pub url: SecretUrl,
    pub from: String,
    #[serde(deserialize_with = "string_list")]
    pub admins: Vec<String>,
    /// A PEM certificate to trust for SMTP over TLS besides the system's roots (a company
    /// CA); empty: none.
    pub tls_ca_file: PathBuf,
    /// Upper bound of one send, enforced as a whole; `notifier.lease` and `events.ack_wait`
    /// must be longer.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            url: SecretUrl::default(),
            from: "CloudHP lottery <lottery@localhost>".into(),
            admins: vec!["admin@localhost".into()],
            tls_ca_file: PathBuf::new(),
            timeout: Duration::from_secs(10),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EventsConfig {
    /// NATS with JetStream (`nats://host:4222`); empty: no bus, the notifier reads the outbox.
    pub url: SecretUrl,
    pub stream: String,
    pub subject: String,
    /// The durable consumer the notifiers share.
    pub consumer: String,
    /// How long a notifier may hold a message before it is delivered to another one; longer
    /// than mail.timeout.
    #[serde(with = "humantime_serde")]
    pub ack_wait: Duration,
    /// How often unpublished outbox entries are looked for (an in-process play role also
    /// publishes at once).
    #[serde(with = "humantime_serde")]
    pub relay_interval: Duration,
}

impl Default for EventsConfig {
    fn default() -> Self {
        Self {
            url: SecretUrl::default(),
            stream: "CLOUDHP".into(),
            subject: "cloudhp.winners".into(),
            consumer: "cloudhp-notifier".into(),
            ack_wait: Duration::from_secs(60),
            relay_interval: Duration::from_secs(2),
        }
    }
}

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

/// Command-line values that override the configuration (the `up` and `serve` flags).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tempo: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub demo_customers: Option<u32>,
}

impl Config {
    /// Defaults < `file` < environment < `overrides`.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            figment = figment.merge(Toml::file_exact(file));
        }
        figment = figment.merge(
            Env::prefixed(ENV_PREFIX)
                .filter(|key| key.as_str().contains("__"))
                .split("__"),
        );
        if let Some(dir) = &overrides.data_dir {
            figment = figment.merge(Serialized::default("server.data_dir", dir));
        }
        if let Some(listen) = &overrides.listen {
            figment = figment.merge(Serialized::default("server.listen", listen));
        }
        if let Some(tempo) = overrides.tempo {
            figment = figment.merge(Serialized::default("worker.tempo", tempo));
        }
        if let Some(n) = overrides.demo_customers {
            figment = figment.merge(Serialized::default("identity.demo_customers", n));
        }
        figment
            .extract()
            .map_err(|e| ConfigError::Load(Box::new(e)))
    }

    pub fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.server.listen.parse().map_err(|e| {
            ConfigError::key(
                "server.listen",
                format!("`{}` is not HOST:PORT ({e})", self.server.listen),
            )
        })
    }

    pub fn tempo(&self) -> Duration {
        Duration::from_secs_f64(self.worker.tempo.max(0.0))
    }

    /// The lottery database URL, the embedded default resolved.
    pub fn lottery_url(&self) -> String {
        non_empty_or(self.lottery.database.expose(), || self.embedded_db_url())
    }

    /// The customer database URL, the embedded default resolved.
    pub fn identity_url(&self) -> String {
        non_empty_or(self.identity.database.expose(), || self.embedded_db_url())
    }

    pub fn images_url(&self) -> String {
        non_empty_or(self.images.url.expose(), || {
            format!("file://{}", self.server.data_dir.join("images").display())
        })
    }

    pub fn mail_url(&self) -> String {
        non_empty_or(self.mail.url.expose(), || {
            format!("file://{}", self.server.data_dir.join("mail").display())
        })
    }

    pub fn catalog_dir(&self) -> PathBuf {
        if self.worker.catalog_dir.as_os_str().is_empty() {
            self.server.data_dir.join("prizes")
        } else {
            self.worker.catalog_dir.clone()
        }
    }

    fn embedded_db_url(&self) -> String {
        format!(
            "sqlite://{}",
            self.server.data_dir.join("cloudhp.db").display()
        )
    }

    /// True when the customer table is the embedded one (the demo seed applies).
    pub fn embedded_customers(&self) -> bool {
        self.identity_url().starts_with("sqlite:")
    }

    /// Checks every value the given roles will use; the error names the key.
    pub fn validate(&self, roles: &RoleSet) -> Result<(), ConfigError> {
        self.listen_addr()?;
        if !self.server.public_url.is_empty() {
            check_url(
                "server.public_url",
                &self.server.public_url,
                &["http", "https"],
            )?;
        }
        positive("server.request_timeout", self.server.request_timeout)?;
        check_log_filter(&self.log.level)?;

        if roles.contains(Role::Web) {
            positive("web.identity_timeout", self.web.identity_timeout)?;
            positive("web.status_timeout", self.web.status_timeout)?;
            positive("web.picture_timeout", self.web.picture_timeout)?;
            positive("web.play_timeout", self.web.play_timeout)?;
            positive("web.start_timeout", self.web.start_timeout)?;
            if self.web.refresh < Duration::from_secs(1) {
                return Err(ConfigError::key("web.refresh", "must be at least 1s"));
            }
            let key = self.web.link_key.expose();
            if !key.is_empty() && key.len() < 32 {
                return Err(ConfigError::key(
                    "web.link_key",
                    "must be at least 32 characters long (use a random string)",
                ));
            }
            for (role, key, url) in [
                (
                    Role::Identity,
                    "roles.identity_url",
                    &self.roles.identity_url,
                ),
                (Role::Status, "roles.status_url", &self.roles.status_url),
                (Role::Play, "roles.play_url", &self.roles.play_url),
                (Role::Picture, "roles.picture_url", &self.roles.picture_url),
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
            positive("roles.timeout", self.roles.timeout)?;
        }

        if roles.contains(Role::Identity) {
            cloudhp_store::TablePrefix::parse(&self.identity.table_prefix)
                .map_err(|e| ConfigError::key("identity.table_prefix", e.to_string()))?;
            check_db_url("identity.database", &self.identity_url())?;
            positive("identity.acquire_timeout", self.identity.acquire_timeout)?;
            positive("identity.query_timeout", self.identity.query_timeout)?;
            at_least_one("identity.max_connections", self.identity.max_connections)?;
            if self.identity.demo_customers > 10_000_000 {
                return Err(ConfigError::key(
                    "identity.demo_customers",
                    "at most 10000000 demo customers",
                ));
            }
        }

        if roles.contains(Role::Status)
            || roles.contains(Role::Play)
            || roles.contains(Role::Notifier)
        {
            check_db_url("lottery.database", &self.lottery_url())?;
            positive("lottery.acquire_timeout", self.lottery.acquire_timeout)?;
            at_least_one("lottery.max_connections", self.lottery.max_connections)?;
        }

        if roles.contains(Role::Worker)
            || (roles.contains(Role::Play) && self.play.worker_urls.is_empty())
        {
            if !(0.0..=3600.0).contains(&self.worker.tempo) || self.worker.tempo.is_nan() {
                return Err(ConfigError::key(
                    "worker.tempo",
                    "must be a number of seconds between 0 and 3600",
                ));
            }
            at_least_one("worker.max_concurrent", self.worker.max_concurrent)?;
        }

        if roles.contains(Role::Play) {
            let p = &self.play;
            if p.worker_urls.is_empty() && !roles.contains(Role::Worker) {
                return Err(ConfigError::key(
                    "play.worker_urls",
                    "the play role needs a W: list W base URLs, or run the worker role in this \
                     process",
                ));
            }
            for url in &p.worker_urls {
                check_url("play.worker_urls", url, &["http", "https"])?;
            }
            positive("play.worker_timeout", p.worker_timeout)?;
            positive("play.store_timeout", p.store_timeout)?;
            positive("play.sweep_interval", p.sweep_interval)?;
            at_least_one("play.worker_concurrency", p.worker_concurrency)?;
            at_least_one("play.max_draws", p.max_draws)?;
            at_least_one("play.max_attempts", p.max_attempts)?;
            if p.lease <= p.worker_timeout + p.store_timeout {
                return Err(ConfigError::key(
                    "play.lease",
                    format!(
                        "must be longer than play.worker_timeout + play.store_timeout ({}), so \
                         that a live draw is never taken over",
                        humantime::format_duration(p.worker_timeout + p.store_timeout)
                    ),
                ));
            }
            if p.worker_urls.is_empty() && self.tempo() >= p.worker_timeout {
                return Err(ConfigError::key(
                    "play.worker_timeout",
                    format!(
                        "must be longer than worker.tempo ({}s), or every draw times out",
                        self.worker.tempo
                    ),
                ));
            }
        }

        if roles.contains(Role::Play) || roles.contains(Role::Picture) {
            let url = self.images_url();
            positive("images.timeout", self.images.timeout)?;
            if url.starts_with("swift://") && self.images.swift.auth_url.is_empty() {
                return Err(ConfigError::key(
                    "images.swift.auth_url",
                    "swift:// URLs need the Keystone v3 or TempAuth URL",
                ));
            }
            if !["file://", "s3://", "swift://"]
                .iter()
                .any(|p| url.starts_with(p))
                && url.contains("://")
            {
                return Err(ConfigError::key(
                    "images.url",
                    format!(
                        "`{}` is not supported: use file:///PATH, s3://BUCKET[/PREFIX] or \
                         swift://CONTAINER[/PREFIX]",
                        self.images.url.masked()
                    ),
                ));
            }
        }

        let events = !self.events.url.is_empty();
        if events && (roles.contains(Role::Play) || roles.contains(Role::Notifier)) {
            let url = self.events.url.expose();
            if !url.starts_with("nats://") && !url.starts_with("tls://") {
                return Err(ConfigError::key(
                    "events.url",
                    "use nats://HOST:PORT (a NATS server with JetStream)",
                ));
            }
            for (key, value) in [
                ("events.stream", &self.events.stream),
                ("events.subject", &self.events.subject),
                ("events.consumer", &self.events.consumer),
            ] {
                if value.is_empty() || value.contains(' ') {
                    return Err(ConfigError::key(key, "must be a name without spaces"));
                }
            }
            positive("events.relay_interval", self.events.relay_interval)?;
        }

        if roles.contains(Role::Notifier) {
            cloudhp_mail::MailSettings::parse(&self.mail.from, &self.mail.admins).map_err(|e| {
                let key = match e {
                    cloudhp_mail::MailError::Address { key, .. } => key,
                    _ => "mail.admins",
                };
                ConfigError::key(key, e.to_string())
            })?;
            positive("notifier.poll_interval", self.notifier.poll_interval)?;
            positive("notifier.lease", self.notifier.lease)?;
            positive("notifier.retry_min", self.notifier.retry_min)?;
            at_least_one("notifier.batch", self.notifier.batch)?;
            if self.notifier.retry_max < self.notifier.retry_min {
                return Err(ConfigError::key(
                    "notifier.retry_max",
                    "must not be shorter than notifier.retry_min",
                ));
            }
            positive("mail.timeout", self.mail.timeout)?;
            let mail = self.mail_url();
            if !(mail.starts_with("file://")
                || mail.starts_with("smtp://")
                || mail.starts_with("smtps://"))
            {
                return Err(ConfigError::key(
                    "mail.url",
                    "use file:///PATH (a spool), smtp://[USER:PASSWORD@]HOST[:PORT] or \
                     smtps://[USER:PASSWORD@]HOST[:PORT]",
                ));
            }
            if !self.mail.tls_ca_file.as_os_str().is_empty() && !self.mail.tls_ca_file.is_file() {
                return Err(ConfigError::key(
                    "mail.tls_ca_file",
                    format!("{} is not a readable file", self.mail.tls_ca_file.display()),
                ));
            }
            if self.notifier.lease <= self.mail.timeout {
                return Err(ConfigError::key(
                    "notifier.lease",
                    "must be longer than mail.timeout, or a slow mail is sent twice",
                ));
            }
            if events && self.events.ack_wait <= self.mail.timeout {
                return Err(ConfigError::key(
                    "events.ack_wait",
                    "must be longer than mail.timeout, or a slow mail is delivered twice",
                ));
            }
        }
        Ok(())
    }
}

fn non_empty_or(value: &str, default: impl FnOnce() -> String) -> String {
    if value.is_empty() {
        default()
    } else {
        value.to_owned()
    }
}

fn positive(key: &'static str, d: Duration) -> Result<(), ConfigError> {
    if d.is_zero() {
        Err(ConfigError::key(key, "must be longer than zero"))
    } else {
        Ok(())
    }
}

fn at_least_one(key: &'static str, n: u32) -> Result<(), ConfigError> {
    if n == 0 {
        Err(ConfigError::key(key, "must be at least 1"))
    } else {
        Ok(())
    }
}

fn check_url(key: &'static str, value: &str, schemes: &[&str]) -> Result<(), ConfigError> {
    let url = url::Url::parse(value)
        .map_err(|e| ConfigError::key(key, format!("`{value}` is not a URL ({e})")))?;
    if !schemes.contains(&url.scheme()) {
        return Err(ConfigError::key(
            key,
            format!(
                "`{value}` must start with {}",
                schemes.join(":// or ") + "://"
            ),
        ));
    }
    Ok(())
}

fn check_db_url(key: &'static str, value: &str) -> Result<(), ConfigError> {
    if ["sqlite:", "mysql:", "mariadb:"]
        .iter()
        .any(|p| value.starts_with(p))
    {
        Ok(())
    } else {
        Err(ConfigError::key(
            key,
            format!(
                "`{}` is not supported: use sqlite://PATH or mysql://USER:PASSWORD@HOST/DB",
                cloudhp_store::redact_url(value)
            ),
        ))
    }
}

fn check_log_filter(level: &str) -> Result<(), ConfigError> {
    tracing_subscriber::EnvFilter::try_new(level)
        .map(|_| ())
        .map_err(|e| ConfigError::key("log.level", e.to_string()))
}

#[cfg(test)]
// figment's test jail returns its own large error type.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    fn all() -> RoleSet {
        RoleSet::all()
    }

    #[test]
    fn defaults_are_valid_for_every_role() {
        let config = Config::default();
        config.validate(&all()).unwrap();
        assert_eq!(config.server.listen, "127.0.0.1:8080");
        assert_eq!(config.worker.tempo, 5.0);
        assert_eq!(config.identity.demo_customers, 1000);
        assert!(config.lottery_url().ends_with("cloudhp-data/cloudhp.db"));
        assert!(config.embedded_customers());
    }

    /// Loads in a jail: the process environment is shared by the tests, and some set it.
    fn load(file: Option<&str>, overrides: &Overrides) -> Result<Config, ConfigError> {
        let mut result = None;
        figment::Jail::expect_with(|_| {
            result = Some(Config::load(file.map(Path::new), overrides));
            Ok(())
        });
        result.unwrap()
    }

    #[test]
    fn a_bad_file_value_names_its_key() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        let path = file.to_str().unwrap();
        std::fs::write(&file, "[web]\nidentity_timeout = 12\n").unwrap();
        let err = load(Some(path), &Overrides::default()).unwrap_err();
        assert!(err.to_string().contains("identity_timeout"), "{err}");

        std::fs::write(&file, "[web]\nidentiy_timeout = \"1s\"\n").unwrap();
        let err = load(Some(path), &Overrides::default()).unwrap_err();
        assert!(err.to_string().contains("identiy_timeout"), "{err}");
    }

    #[test]
    fn a_missing_file_is_an_error() {
        let err = load(Some("/nonexistent/cloudhp.toml"), &Overrides::default()).unwrap_err();
        assert!(err.to_string().contains("cloudhp.toml"), "{err}");
    }

    #[test]
    fn file_then_flags_override_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        let path = file.to_str().unwrap();
        std::fs::write(
            &file,
            "[worker]\ntempo = 2\n[mail]\nadmins = \"a@x.example, b@x.example\"\n",
        )
        .unwrap();
        let config = load(
            Some(path),
            &Overrides {
                listen: Some("127.0.0.1:0".into()),
                ..Overrides::default()
            },
        )
        .unwrap();
        assert_eq!(config.worker.tempo, 2.0);
        assert_eq!(config.server.listen, "127.0.0.1:0");
        assert_eq!(config.mail.admins, vec!["a@x.example", "b@x.example"]);
        let config = load(
            Some(path),
            &Overrides {
                tempo: Some(0.5),
                ..Overrides::default()
            },
        )
        .unwrap();
        assert_eq!(config.worker.tempo, 0.5);
    }

    #[test]
    fn validation_names_the_key() {
        let roles = all();
        let mut c = Config::default();
        c.play.lease = Duration::from_secs(5);
        assert!(
            c.validate(&roles)
                .unwrap_err()
                .to_string()
                .contains("play.lease")
        );

        let mut c = Config::default();
        c.server.listen = "localhost".into();
        assert!(
            c.validate(&roles)
                .unwrap_err()
                .to_string()
                .contains("server.listen")
        );

        let mut c = Config::default();
        c.worker.tempo = 40.0;
        assert!(
            c.validate(&roles)
                .unwrap_err()
                .to_string()
                .contains("play.worker_timeout")
        );

        let mut c = Config::default();
        c.mail.admins = vec![];
        assert!(
            c.validate(&roles)
                .unwrap_err()
                .to_string()
                .contains("mail.admins")
        );

        let mut c = Config::default();
        c.lottery.database = SecretUrl::new("postgres://u:hunter2@db/x");
        let err = c.validate(&roles).unwrap_err().to_string();
        assert!(
            err.contains("lottery.database") && !err.contains("hunter2"),
            "{err}"
        );

        let web_only = RoleSet::parse(&["web"]).unwrap();
        let err = Config::default()
            .validate(&web_only)
            .unwrap_err()
            .to_string();
        assert!(err.contains("roles.identity_url"), "{err}");

        let play_only = RoleSet::parse(&["play"]).unwrap();
        let err = Config::default()
            .validate(&play_only)
            .unwrap_err()
            .to_string();
        assert!(err.contains("play.worker_urls"), "{err}");

        let mut c = Config::default();
        c.web.link_key = Secret::new("short");
        assert!(
            c.validate(&roles)
                .unwrap_err()
                .to_string()
                .contains("web.link_key")
        );
    }

    /// Every key of the configuration, as `section.key` paths.
    fn keys(value: &toml::Value, prefix: &str, out: &mut Vec<String>) {
        if let toml::Value::Table(table) = value {
            for (k, v) in table {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                if v.is_table() {
                    keys(v, &path, out);
                } else {
                    out.push(path);
                }
            }
        }
    }

    #[test]
    fn the_example_file_documents_every_key_with_its_default() {
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../cloudhp.example.toml");
        let text = std::fs::read_to_string(&example).unwrap();
        let documented: toml::Value = toml::from_str(&text).unwrap();
        let defaults = toml::Value::try_from(Config::default()).unwrap();
        let (mut want, mut have) = (Vec::new(), Vec::new());
        keys(&defaults, "", &mut want);
        keys(&documented, "", &mut have);
        want.sort();
        have.sort();
        assert_eq!(
            want, have,
            "cloudhp.example.toml and the code disagree on the keys"
        );
        let loaded = load(example.to_str(), &Overrides::default()).unwrap();
        assert_eq!(
            toml::to_string(&loaded).unwrap(),
            toml::to_string(&Config::default()).unwrap(),
            "cloudhp.example.toml must show the defaults"
        );
    }

    #[test]
    fn environment_variables_override_the_file() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("c.toml", "[worker]\ntempo = 2\n")?;
            jail.set_env("CLOUDHP_WORKER__TEMPO", "3.5");
            jail.set_env("CLOUDHP_MAIL__ADMINS", "a@x.example,b@x.example");
            jail.set_env("CLOUDHP_WEB__LINK_KEY", "k".repeat(40));
            // Variables without a section separator are not configuration.
            jail.set_env("CLOUDHP_TEST_SOMETHING", "1");
            // A secret of digits only is still a secret (the environment gives a number).
            jail.set_env("CLOUDHP_ROLES__TOKEN", "12345678");
            let config = Config::load(Some(Path::new("c.toml")), &Overrides::default())
                .map_err(|e| e.to_string())?;
            assert_eq!(config.worker.tempo, 3.5);
            assert_eq!(config.mail.admins, vec!["a@x.example", "b@x.example"]);
            assert_eq!(config.web.link_key.expose(), "k".repeat(40));
            assert_eq!(config.roles.token.expose(), "12345678");
            jail.set_env("CLOUDHP_WEB__IDENTITY_TIMEOUT", "soon");
            let err = Config::load(None, &Overrides::default())
                .unwrap_err()
                .to_string();
            assert!(err.to_lowercase().contains("identity_timeout"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn secrets_never_print() {
        let mut c = Config::default();
        c.web.link_key = Secret::new("k".repeat(40));
        c.lottery.database = SecretUrl::new("mysql://lottery:hunter2@db/lottery");
        let debug = format!("{c:?}");
        assert!(!debug.contains("hunter2") && !debug.contains(&"k".repeat(40)));
        let toml = toml::to_string(&c).unwrap();
        assert!(!toml.contains("hunter2") && !toml.contains(&"k".repeat(40)));
    }
}
