//! The backends the roles use, one module per concern: the lottery database, the customer
//! database, the image store, the mail transport and the event bus. Each module owns, for its
//! concern, the URL schemes it accepts and their check, the validation of its settings (called
//! by [`Config::validate`] for the roles that use it), how it is opened from the configuration
//! (once per process, shared by the roles that use it) and its readiness check on `/readyz`.
//! The clients themselves are in the library crates (`cloudhp-store`, `cloudhp-objects`,
//! `cloudhp-mail`, `cloudhp-events`), each chosen there by its URL.

pub mod customer_db;
pub mod events;
pub mod images;
pub mod lottery_db;
pub mod mail;

use std::sync::Arc;

use cloudhp_core::RoleSet;
use cloudhp_objects::ImageStore;
use cloudhp_store::LotteryDb;

use crate::config::{Config, ConfigError};
use crate::events::LazyBus;

/// The backends opened so far by the roles of this process, each opened once.
#[derive(Default)]
pub struct Shared {
    pub(crate) lottery: Option<LotteryDb>,
    pub(crate) images: Option<Arc<dyn ImageStore>>,
    /// `Some(None)`: looked at, and no bus is configured.
    pub(crate) bus: Option<Option<LazyBus>>,
    /// The identity role as the web and play roles of this process call it (its answers
    /// cached), so that they share one cache.
    pub(crate) identity: Option<cloudhp_core::IdentityHandle>,
}

/// Checks the settings of every backend that a role of `roles` uses; the error names the key.
pub fn validate(config: &Config, roles: &RoleSet) -> Result<(), ConfigError> {
    if customer_db::used(config, roles) {
        customer_db::validate(config)?;
    }
    if lottery_db::used(config, roles) {
        lottery_db::validate(config)?;
    }
    if images::used(config, roles) {
        images::validate(config)?;
    }
    if events::used(config, roles) {
        events::validate(config)?;
    }
    if mail::used(config, roles) {
        mail::validate(config)?;
    }
    Ok(())
}

/// The scheme of a URL: what stands before its first `:` (`sqlite` of `sqlite::memory:`).
fn scheme(url: &str) -> &str {
    url.split_once(':').map_or("", |(scheme, _)| scheme)
}

/// Checks that `url` starts with one of `schemes`. The error names `key`, shows the URL as
/// `shown` (its password masked) and says what to use (`hint`).
fn check_scheme(
    key: &'static str,
    url: &str,
    shown: &str,
    schemes: &[&str],
    hint: &str,
) -> Result<(), ConfigError> {
    if schemes.contains(&scheme(url)) {
        Ok(())
    } else {
        Err(ConfigError::key(
            key,
            format!("`{shown}` is not supported: use {hint}"),
        ))
    }
}

/// The database URL schemes of `cloudhp_store::Pool` (the lottery and customer databases).
const SQL_SCHEMES: &[&str] = &["sqlite", "mysql", "mariadb"];
const SQL_HINT: &str = "sqlite://PATH or mysql://USER:PASSWORD@HOST/DB";

/// The keys of a section that configures an SQL database pool, for its messages.
struct SqlKeys {
    database: &'static str,
    acquire_timeout: &'static str,
    max_connections: &'static str,
}

/// Checks a database section's URL (`url`, shown as `shown`) and pool settings.
fn check_sql(
    keys: &SqlKeys,
    url: &str,
    shown: &str,
    acquire_timeout: std::time::Duration,
    max_connections: u32,
) -> Result<(), ConfigError> {
    check_scheme(keys.database, url, shown, SQL_SCHEMES, SQL_HINT)?;
    crate::config::positive(keys.acquire_timeout, acquire_timeout)?;
    crate::config::at_least_one(keys.max_connections, max_connections)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_are_what_stands_before_the_first_colon() {
        assert_eq!(scheme("sqlite::memory:"), "sqlite");
        assert_eq!(scheme("mysql://u:p@db/x"), "mysql");
        assert_eq!(scheme("/a/path"), "");
        let err = check_scheme("k", "ftp://u:pw@h", "ftp://u:***@h", &["s3"], "s3://B")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`k`") && err.contains("ftp://u:***@h") && !err.contains("pw@"),
            "{err}"
        );
    }

    /// The schemes accepted here are those the store's pools open, and only those.
    #[tokio::test]
    async fn sql_schemes_are_those_of_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let settings = cloudhp_store::PoolSettings::default();
        for url in [
            format!("sqlite://{}", dir.path().join("x.db").display()),
            "mysql://u:p@127.0.0.1:1/x".to_owned(),
            "mariadb://u:p@127.0.0.1:1/x".to_owned(),
        ] {
            assert!(SQL_SCHEMES.contains(&scheme(&url)), "{url}");
            assert!(
                cloudhp_store::Pool::connect_lazy(&url, &settings).is_ok(),
                "{url}"
            );
        }
        assert!(cloudhp_store::Pool::connect_lazy("postgres://h/x", &settings).is_err());
    }
}
