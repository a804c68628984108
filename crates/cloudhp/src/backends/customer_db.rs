//! The customer database: the shop's (read only), or the embedded demo table. The identity
//! role reads it.

use anyhow::Context;
use cloudhp_core::{Role, RoleSet};
use cloudhp_store::{CustomerDb, PoolSettings, TablePrefix};

use super::{SqlKeys, check_sql};
use crate::config::{Config, ConfigError};
use crate::http::{Check, check};
use crate::telemetry::chain;
use crate::wiring::Wiring;

/// Whether a role of `roles` uses the customer database.
pub fn used(_config: &Config, roles: &RoleSet) -> bool {
    roles.contains(Role::Identity)
}

/// Checks the customer database's keys of `[identity]`.
pub fn validate(config: &Config) -> Result<(), ConfigError> {
    let c = &config.identity;
    TablePrefix::parse(&c.table_prefix)
        .map_err(|e| ConfigError::key("identity.table_prefix", e.to_string()))?;
    check_sql(
        &SqlKeys {
            database: "identity.database",
            acquire_timeout: "identity.acquire_timeout",
            max_connections: "identity.max_connections",
        },
        &config.identity_url(),
        &c.database.masked(),
        c.acquire_timeout,
        c.max_connections,
    )
}

/// Opens the customer database (read only unless it is the embedded table), its pool closed
/// on shutdown, its check on `/readyz`.
pub fn open(w: &mut Wiring, config: &Config) -> anyhow::Result<CustomerDb> {
    let settings = PoolSettings {
        max_connections: config.identity.max_connections,
        acquire_timeout: config.identity.acquire_timeout,
        // A shop database is only ever read; the embedded table is ours.
        read_only: !config.embedded_customers(),
    };
    let pool = w
        .open_pool(&config.identity_url(), &settings)
        .context("invalid identity.database")?;
    let db = CustomerDb::new(pool, TablePrefix::parse(&config.identity.table_prefix)?);
    w.ready("customer_db", readiness(&db));
    Ok(db)
}

/// Whether the customer table can be read: the server answers, the table of
/// `identity.table_prefix` exists and the account may SELECT from it.
pub fn readiness(db: &CustomerDb) -> Check {
    check(db.clone(), |db| async move {
        db.ping().await.map_err(|e| chain(&e))?;
        db.check_readable().await.map_err(|e| {
            format!(
                "the customer table {} cannot be read (check identity.table_prefix, and that \
                 the account may SELECT from {}): {}",
                db.table(),
                db.table(),
                chain(&e)
            )
        })
    })
}
