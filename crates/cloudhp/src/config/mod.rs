//! Configuration: in-code defaults, then a TOML file, then `CLOUDHP_<SECTION>__<KEY>`
//! environment variables, then command-line flags. Everything is validated before anything
//! starts, and an error names the key to fix. `cloudhp.example.toml` documents every key.
//!
//! Each section lives in its own module with its defaults and its checks; [`Config::validate`]
//! decides which sections the roles of a process use. The settings of a backend (a database,
//! the image store, the mail transport, the event bus) are checked by its module of
//! `backends/`, which owns its URL schemes.

mod admin;
mod campaign;
mod events;
mod identity;
mod images;
mod limits;
mod log;
mod lottery;
mod mail;
mod mailing;
mod notifier;
mod play;
mod roles;
mod secret;
mod server;
mod web;
mod worker;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use cloudhp_core::{Role, RoleSet};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Deserializer, Serialize};

pub use admin::AdminConfig;
pub use campaign::CampaignConfig;
pub use events::EventsConfig;
pub use identity::{Admission, IdentityConfig};
pub use images::{ImagesConfig, S3Config, SwiftConfig};
pub use limits::LimitsConfig;
pub use log::{LogConfig, LogFormat};
pub use lottery::LotteryConfig;
pub use mail::MailConfig;
pub use mailing::{MailingConfig, check_rate};
pub use notifier::NotifierConfig;
pub use play::PlayConfig;
pub use roles::RolesConfig;
pub use secret::{Hidden, Mask, Masked, Secret, SecretUrl, UrlCredentials};
pub use server::ServerConfig;
pub use web::{LinkMode, WebConfig};
pub use worker::WorkerConfig;

/// The prefix of configuration environment variables.
pub const ENV_PREFIX: &str = "CLOUDHP_";

/// A configuration problem, with the key it concerns.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid configuration: {0}")]
    Load(#[source] Box<figment::Error>),
    #[error("invalid configuration key `{key}`: {message}")]
    Key { key: &'static str, message: String },
    #[error("cannot read {var}={path}")]
    SecretFile {
        var: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Env(String),
}

impl ConfigError {
    pub(crate) fn key(key: &'static str, message: impl Into<String>) -> Self {
        Self::Key {
            key,
            message: message.into(),
        }
    }
}

/// The keys of a TOML document, dotted (`section.key`, `images.s3.region`).
fn toml_keys(value: &toml::Value) -> std::collections::BTreeSet<String> {
    fn walk(value: &toml::Value, prefix: &str, out: &mut std::collections::BTreeSet<String>) {
        if let toml::Value::Table(table) = value {
            for (k, v) in table {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                if v.is_table() {
                    walk(v, &key, out);
                } else {
                    out.insert(key);
                }
            }
        }
    }
    let mut keys = std::collections::BTreeSet::new();
    walk(value, "", &mut keys);
    keys
}

/// Configuration values read from files: `(dotted key, value)` pairs, and the lowercased
/// variable names (after the prefix) they came from.
type FileValues = (Vec<(String, String)>, Vec<String>);

/// `CLOUDHP_<SECTION>__<KEY>_FILE=PATH`: the value of `<section>.<key>` is the content of the
/// file PATH, a trailing line end removed. That is how Docker and Kubernetes hand out secrets
/// (`/run/secrets/NAME`): they never appear in the environment, so `docker inspect` does not
/// show them. A key whose own name ends in `_file` (`mail.tls_ca_file`) keeps its meaning.
/// Returns the values, and the variables they came from (left out of the plain environment).
fn values_from_files(
    vars: impl Iterator<Item = (String, String)>,
) -> Result<FileValues, ConfigError> {
    let keys = Config::keys();
    let vars: Vec<(String, String)> = vars.collect();
    let mut values = Vec::new();
    let mut consumed = Vec::new();
    for (var, path) in &vars {
        let Some(name) = var.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        if !name.contains("__") {
            continue;
        }
        let dotted = name.to_ascii_lowercase().replace("__", ".");
        let Some(key) = dotted.strip_suffix("_file") else {
            continue;
        };
        if keys.contains(&dotted) || !keys.contains(key) {
            continue;
        }
        let plain = &var[..var.len() - "_FILE".len()];
        if vars
            .iter()
            .any(|(v, value)| v == plain && !value.is_empty())
        {
            return Err(ConfigError::Env(format!(
                "both {plain} and {var} are set: give `{key}` one way"
            )));
        }
        let content = std::fs::read_to_string(path).map_err(|source| ConfigError::SecretFile {
            var: var.clone(),
            path: PathBuf::from(path),
            source,
        })?;
        let value = content
            .strip_suffix("\r\n")
            .or_else(|| content.strip_suffix('\n'))
            .unwrap_or(&content);
        values.push((key.to_owned(), value.to_owned()));
        // figment's Env keys are the lowercased names after the prefix.
        consumed.push(name.to_ascii_lowercase());
    }
    Ok((values, consumed))
}

/// Accepts a list, or one string with comma-separated items (handy in environment variables).
fn string_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    one_or_many(d, |s: String| {
        items(&s, &[',']).map(str::to_owned).collect()
    })
}

/// Accepts a list of secrets, or one string of secrets separated by commas or line ends (an
/// environment variable, or a `_FILE` secret holding one key a line).
fn secret_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Secret>, D::Error> {
    one_or_many(d, |s: Secret| {
        items(s.expose(), &[',', '\n', '\r'])
            .map(Secret::new)
            .collect()
    })
}

/// A list of `T`, or one `T` that `split` makes a list of.
fn one_or_many<'de, D, T>(d: D, split: impl FnOnce(T) -> Vec<T>) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany<T> {
        One(T),
        Many(Vec<T>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(one) => split(one),
        OneOrMany::Many(many) => many,
    })
}

/// The non-empty items of `s` between `separators`, trimmed.
fn items<'a>(s: &'a str, separators: &[char]) -> impl Iterator<Item = &'a str> {
    s.split(separators).map(str::trim).filter(|s| !s.is_empty())
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
    pub campaign: CampaignConfig,
    pub mailing: MailingConfig,
    pub limits: LimitsConfig,
    pub admin: AdminConfig,
}

/// Command-line values that override the configuration (the `up` and `serve` flags); `None`
/// leaves the key as configured.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// `server.data_dir`.
    pub data_dir: Option<PathBuf>,
    /// `server.listen`.
    pub listen: Option<String>,
    /// `worker.tempo`, in seconds.
    pub tempo: Option<f64>,
    /// `identity.demo_customers`.
    pub demo_customers: Option<u32>,
}

impl Config {
    /// Defaults < `file` < environment < `overrides`.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            figment = figment.merge(Toml::file_exact(file));
        }
        let (from_files, file_vars) = values_from_files(std::env::vars())?;
        figment = figment.merge(
            Env::prefixed(ENV_PREFIX)
                .filter(move |key| {
                    key.as_str().contains("__")
                        && !file_vars.contains(&key.as_str().to_ascii_lowercase())
                })
                .split("__"),
        );
        for (key, value) in from_files {
            figment = figment.merge(Serialized::default(&key, value));
        }
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

    /// Every key of the configuration, dotted (`lottery.database`).
    fn keys() -> std::collections::BTreeSet<String> {
        toml::Value::try_from(Config::default())
            .map(|v| toml_keys(&v))
            .unwrap_or_default()
    }

    pub fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.server.listen_addr()
    }

    pub fn tempo(&self) -> Duration {
        self.worker.tempo()
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

    /// The prize catalog file of the play role (`play.catalog`), the default resolved:
    /// `catalog.toml` of the catalog folder when it exists. `None`: no catalog file.
    pub fn play_catalog(&self) -> Option<PathBuf> {
        if !self.play.catalog.as_os_str().is_empty() {
            return Some(self.play.catalog.clone());
        }
        let file = self.catalog_dir().join(cloudhp_worker::CATALOG_FILE);
        file.is_file().then_some(file)
    }

    /// The holder named in the play role's claims (`play.instance`), the default resolved:
    /// `<host name>:<short hash of the canonical data dir>`.
    pub fn play_instance(&self) -> String {
        non_empty_or(&self.play.instance, || {
            play::default_instance(&play::host_name(), &self.server.data_dir)
        })
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
        self.server.validate()?;
        self.log.validate()?;
        self.campaign.window()?;
        self.campaign.validate_names()?;
        self.limits.validate()?;

        if roles.contains(Role::Web) {
            self.web.validate()?;
            self.admin.validate()?;
        }
        self.roles.validate(roles)?;
        self.roles.check_exposure(roles, self.listen_addr()?)?;

        if roles.contains(Role::Identity) {
            self.identity.validate()?;
        }

        if roles.contains(Role::Worker)
            || (roles.contains(Role::Play) && self.play.worker_urls.is_empty())
        {
            self.worker.validate()?;
        }

        if roles.contains(Role::Play) {
            self.play.validate(roles, &self.worker)?;
        }

        // The backends the roles use: URLs, schemes and settings.
        crate::backends::validate(self, roles)?;

        if roles.contains(Role::Notifier) {
            let events = crate::backends::events::used(self, roles);
            self.notifier
                .validate(&self.mail, events.then_some(self.events.ack_wait))?;
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

pub(crate) fn positive(key: &'static str, d: Duration) -> Result<(), ConfigError> {
    if d.is_zero() {
        Err(ConfigError::key(key, "must be longer than zero"))
    } else {
        Ok(())
    }
}

pub(crate) fn at_least_one(key: &'static str, n: u32) -> Result<(), ConfigError> {
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

    /// Our W serves at least as many calls at once as a play process drives by default: a
    /// smaller cap made the draws of a burst past it wait a second tempo for a slot.
    #[test]
    fn our_w_serves_every_draw_a_play_process_drives_at_once() {
        let config = Config::default();
        assert!(config.worker.max_concurrent >= config.play.max_draws);
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

    /// Why the default configuration, changed by `change`, is refused (all roles running).
    fn rejection(change: impl FnOnce(&mut Config)) -> String {
        let mut c = Config::default();
        change(&mut c);
        c.validate(&all()).unwrap_err().to_string()
    }

    #[test]
    fn validation_names_the_key() {
        let err = rejection(|c| c.play.lease = Duration::from_secs(5));
        assert!(err.contains("play.lease"), "{err}");

        let err = rejection(|c| c.server.listen = "localhost".into());
        assert!(err.contains("server.listen"), "{err}");

        let err = rejection(|c| c.worker.tempo = 40.0);
        assert!(err.contains("play.worker_timeout"), "{err}");

        let err = rejection(|c| c.mail.admins = vec![]);
        assert!(err.contains("mail.admins"), "{err}");

        let err = rejection(|c| c.lottery.database = SecretUrl::new("postgres://u:hunter2@db/x"));
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
        let mut c = Config::default();
        c.roles.identity_url = "http://identity:8080".into();
        let err = c.validate(&play_only).unwrap_err().to_string();
        assert!(err.contains("play.worker_urls"), "{err}");

        let err = rejection(|c| c.web.link_key = Secret::new("short"));
        assert!(err.contains("web.link_key"), "{err}");
    }

    #[test]
    fn the_example_file_documents_every_key_with_its_default() {
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../cloudhp.example.toml");
        let text = std::fs::read_to_string(&example).unwrap();
        let documented: toml::Value = toml::from_str(&text).unwrap();
        let defaults = toml::Value::try_from(Config::default()).unwrap();
        let (want, have) = (toml_keys(&defaults), toml_keys(&documented));
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
    fn the_admin_password_hash_comes_whole_from_the_environment() {
        // A PHC string has `$`, `=` and `,` in it: none of it may be read as anything but text.
        let hash = crate::roles::web::admin::hash_password("a long password").unwrap();
        figment::Jail::expect_with(|jail| {
            jail.set_env("CLOUDHP_ADMIN__PASSWORD_HASH", &hash);
            let config = Config::load(None, &Overrides::default()).map_err(|e| e.to_string())?;
            assert_eq!(config.admin.password_hash.expose(), hash);
            assert!(config.admin.enabled());
            config.admin.validate().map_err(|e| e.to_string())?;
            jail.create_file("admin_hash", &format!("{hash}\n"))?;
            jail.set_env("CLOUDHP_ADMIN__PASSWORD_HASH", "");
            jail.set_env("CLOUDHP_ADMIN__PASSWORD_HASH_FILE", "admin_hash");
            let config = Config::load(None, &Overrides::default()).map_err(|e| e.to_string())?;
            assert_eq!(config.admin.password_hash.expose(), hash);
            Ok(())
        });
    }

    #[test]
    fn secrets_come_from_files_named_by_file_variables() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("db_url", "mysql://lottery:s3cret@db/lottery\n")?;
            jail.create_file("token", "tok-12345678")?;
            jail.set_env("CLOUDHP_LOTTERY__DATABASE_FILE", "db_url");
            jail.set_env("CLOUDHP_ROLES__TOKEN_FILE", "token");
            // A key whose name ends in _file is a path, as before.
            jail.set_env("CLOUDHP_MAIL__TLS_CA_FILE", "/etc/ssl/company-ca.pem");
            let config = Config::load(None, &Overrides::default()).map_err(|e| e.to_string())?;
            assert_eq!(
                config.lottery.database.expose(),
                "mysql://lottery:s3cret@db/lottery",
                "the line end is not part of the secret"
            );
            assert_eq!(config.roles.token.expose(), "tok-12345678");
            assert_eq!(
                config.mail.tls_ca_file,
                Path::new("/etc/ssl/company-ca.pem")
            );

            // Both ways at once is a mistake, named.
            jail.set_env("CLOUDHP_ROLES__TOKEN", "other");
            let err = Config::load(None, &Overrides::default())
                .unwrap_err()
                .to_string();
            assert!(err.contains("CLOUDHP_ROLES__TOKEN_FILE"), "{err}");

            // A missing file names the variable and the path.
            jail.set_env("CLOUDHP_ROLES__TOKEN", "");
            jail.set_env("CLOUDHP_WEB__LINK_KEY_FILE", "/nonexistent/link_key");
            let err = Config::load(None, &Overrides::default()).unwrap_err();
            let text = format!("{err}");
            assert!(
                text.contains("CLOUDHP_WEB__LINK_KEY_FILE")
                    && text.contains("/nonexistent/link_key"),
                "{text}"
            );
            Ok(())
        });
    }

    #[test]
    fn link_keys_are_a_list_or_one_string_and_one_way_only() {
        let (a, b) = ("a".repeat(32), "b".repeat(43));
        figment::Jail::expect_with(|jail| {
            // A TOML list.
            jail.create_file(
                "c.toml",
                &format!("[web]\nlink_keys = [\"{b}\", \"{a}\"]\n"),
            )?;
            let config = Config::load(Some(Path::new("c.toml")), &Overrides::default())
                .map_err(|e| e.to_string())?;
            config.validate(&all()).map_err(|e| e.to_string())?;
            assert_eq!(
                config.web.configured_link_keys(),
                vec![b.as_str(), a.as_str()]
            );

            // One comma-separated string from the environment.
            jail.set_env("CLOUDHP_WEB__LINK_KEYS", format!("{a} , {b}"));
            let config = Config::load(None, &Overrides::default()).map_err(|e| e.to_string())?;
            assert_eq!(
                config.web.configured_link_keys(),
                vec![a.as_str(), b.as_str()]
            );

            // A secret file, one key a line.
            jail.set_env("CLOUDHP_WEB__LINK_KEYS", "");
            jail.create_file("keys", &format!("{b}\r\n{a}\n\n"))?;
            jail.set_env("CLOUDHP_WEB__LINK_KEYS_FILE", "keys");
            let config = Config::load(None, &Overrides::default()).map_err(|e| e.to_string())?;
            assert_eq!(
                config.web.configured_link_keys(),
                vec![b.as_str(), a.as_str()]
            );
            config.validate(&all()).map_err(|e| e.to_string())?;
            let shown = toml::to_string(&config).unwrap();
            assert!(!shown.contains(&a) && !shown.contains(&b), "{shown}");

            // web.link_key alone is one key; both set is an error naming both.
            jail.set_env("CLOUDHP_WEB__LINK_KEY", &a);
            let config = Config::load(None, &Overrides::default()).map_err(|e| e.to_string())?;
            let err = config.validate(&all()).unwrap_err().to_string();
            assert!(
                err.contains("web.link_key ") && err.contains("web.link_keys"),
                "{err}"
            );
            jail.clear_env();
            jail.set_env("CLOUDHP_WEB__LINK_KEY", &a);
            let config = Config::load(None, &Overrides::default()).map_err(|e| e.to_string())?;
            config.validate(&all()).map_err(|e| e.to_string())?;
            assert_eq!(config.web.configured_link_keys(), vec![a.as_str()]);
            Ok(())
        });

        let mut c = Config::default();
        assert!(c.web.configured_link_keys().is_empty());
        c.web.link_keys = vec![Secret::new("k".repeat(32)), Secret::new("short")];
        let err = c.validate(&all()).unwrap_err().to_string();
        assert!(
            err.contains("web.link_keys") && err.contains("key 2 of 2"),
            "{err}"
        );
    }

    #[test]
    fn secrets_never_print() {
        let mut c = Config::default();
        c.web.link_key = Secret::new("k".repeat(40));
        c.lottery.database = SecretUrl::new("mysql://lottery:hunter2@db/lottery");
        c.identity.database = SecretUrl::new("mysql://shop:hunter3@db/shop");
        c.images.s3.secret_key = Secret::new("hunter4");
        c.images.swift.password = Secret::new("hunter5");
        c.mail.url = SecretUrl::new("smtp://relay:hunter6@smtp.example:587");
        c.events.url = SecretUrl::new("nats://bus:hunter7@nats:4222");
        c.roles.token = Secret::new("hunter8");
        let secrets = ["hunter", &"k".repeat(40)];
        let hidden = |c: &Config| {
            for shown in [format!("{c:?}"), toml::to_string(c).unwrap()] {
                assert!(!secrets.iter().any(|s| shown.contains(s)), "{shown}");
            }
        };
        hidden(&c);
        // A token standing alone where the user name goes (NATS's token authentication), and
        // one that holds a `/` (base64), which the URL parser would read as a path.
        for token in ["nats://hunter9@nats:4222", "nats://hunter/10@nats:4222"] {
            c.events.url = SecretUrl::new(token);
            hidden(&c);
        }
    }

    #[test]
    fn role_apis_on_the_network_need_a_token() {
        let identity = RoleSet::parse(&["identity"]).unwrap();
        let mut c = Config::default();
        // Loopback: other processes of this host only.
        c.validate(&identity).unwrap();
        c.server.listen = "0.0.0.0:8080".into();
        let err = c.validate(&identity).unwrap_err().to_string();
        assert!(
            err.contains("`roles.token`")
                && err.contains("identity")
                && err.contains("allow_unauthenticated"),
            "{err}"
        );
        // Every role in one process serves no role API: nothing to protect.
        c.validate(&all()).unwrap();
        // A W alone serves the W contract only.
        c.validate(&RoleSet::parse(&["worker"]).unwrap()).unwrap();
        c.roles.token = Secret::new("a-shared-secret".to_owned());
        c.validate(&identity).unwrap();
        c.roles.token = Secret::default();
        c.roles.allow_unauthenticated = true;
        c.validate(&identity).unwrap();
        assert!(c.roles.open_to_network(&identity, c.listen_addr().unwrap()));
    }

    #[test]
    fn a_play_role_without_identity_needs_its_url() {
        let play = RoleSet::parse(&["play", "worker"]).unwrap();
        let mut c = Config::default();
        let err = c.validate(&play).unwrap_err().to_string();
        assert!(
            err.contains("roles.identity_url") && err.contains("play role"),
            "{err}"
        );
        c.roles.identity_url = "http://identity:8080".into();
        c.validate(&play).unwrap();
    }
}
