//! The lottery database (plays and outbox), shared by the status, play and notifier roles.

use anyhow::Context;
use cloudhp_core::{Role, RoleSet};
use cloudhp_store::{LotteryDb, PoolSettings};

use super::Wiring;
use crate::config::Config;
use crate::telemetry::chain;

/// Opens and migrates the lottery database when a role of `roles` uses it.
pub async fn database(
    w: &mut Wiring,
    config: &Config,
    roles: &RoleSet,
) -> anyhow::Result<Option<LotteryDb>> {
    let needed = [Role::Status, Role::Play, Role::Notifier]
        .iter()
        .any(|r| roles.contains(*r));
    if !needed {
        return Ok(None);
    }
    let settings = PoolSettings {
        max_connections: config.lottery.max_connections,
        acquire_timeout: config.lottery.acquire_timeout,
        read_only: false,
    };
    let db = LotteryDb::from_pool(
        w.open_pool(&config.lottery_url(), &settings)
            .context("invalid lottery.database")?,
    );
    migrate(&db).await?;
    let probe = db.clone();
    w.ready("lottery_db", move || {
        let db = probe.clone();
        async move { db.ping().await.map_err(|e| chain(&e)) }
    });
    Ok(Some(db))
}

/// Runs the lottery migrations, waiting a while for a database that is still starting.
async fn migrate(db: &LotteryDb) -> anyhow::Result<()> {
    cloudhp_store::retry_while_unavailable("lottery database", 15, || db.migrate())
        .await
        .context("cannot prepare the lottery database schema")
}
