//! The lottery database (plays and outbox), shared by the status, play and notifier roles.

use anyhow::Context;
use cloudhp_core::{Role, RoleSet};
use cloudhp_store::{LotteryDb, PoolSettings};

use super::{SqlKeys, check_sql};
use crate::config::{Config, ConfigError};
use crate::http::{Check, check};
use crate::telemetry::chain;
use crate::wiring::Wiring;

/// Whether a role of `roles` uses the lottery database.
pub fn used(_config: &Config, roles: &RoleSet) -> bool {
    [Role::Status, Role::Play, Role::Notifier]
        .iter()
        .any(|r| roles.contains(*r))
}

/// Checks `[lottery]`.
pub fn validate(config: &Config) -> Result<(), ConfigError> {
    let c = &config.lottery;
    check_sql(
        &SqlKeys {
            database: "lottery.database",
            acquire_timeout: "lottery.acquire_timeout",
            max_connections: "lottery.max_connections",
        },
        &config.lottery_url(),
        &c.database.masked(),
        c.acquire_timeout,
        c.max_connections,
    )
}

/// The lottery database of this process: opened and migrated by the first role that asks,
/// shared by the others.
pub async fn shared(w: &mut Wiring, config: &Config) -> anyhow::Result<LotteryDb> {
    if let Some(db) = &w.shared.lottery {
        return Ok(db.clone());
    }
    let db = open(w, config).await?;
    w.shared.lottery = Some(db.clone());
    Ok(db)
}

/// Opens and migrates the lottery database, its pool closed on shutdown, its check on
/// `/readyz`.
async fn open(w: &mut Wiring, config: &Config) -> anyhow::Result<LotteryDb> {
    let settings = PoolSettings {
        max_connections: config.lottery.max_connections,
        acquire_timeout: config.lottery.acquire_timeout,
        read_only: false,
    };
    let db = LotteryDb::connect_lazy(&config.lottery_url(), &settings)
        .context("invalid lottery.database")?;
    w.pools.extend(db.pools());
    migrate(&db).await?;
    w.ready("lottery_db", readiness(&db));
    Ok(db)
}

/// Whether the lottery database answers.
pub fn readiness(db: &LotteryDb) -> Check {
    check(db.clone(), |db| async move {
        db.ping().await.map_err(|e| chain(&e))
    })
}

/// Runs the lottery migrations, waiting a while for a database that is still starting.
async fn migrate(db: &LotteryDb) -> anyhow::Result<()> {
    cloudhp_store::retry_while_unavailable("lottery database", 15, || db.migrate())
        .await
        .context("cannot prepare the lottery database schema")
}
