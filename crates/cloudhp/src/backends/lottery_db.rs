//! The lottery database (plays and outbox), shared by the status, play and notifier roles.

use anyhow::Context;
use cloudhp_store::{LotteryDb, PoolSettings};

use crate::config::Config;
use crate::telemetry::chain;
use crate::wiring::Wiring;

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

/// Opens and migrates the lottery database.
async fn open(w: &mut Wiring, config: &Config) -> anyhow::Result<LotteryDb> {
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
    Ok(db)
}

/// Runs the lottery migrations, waiting a while for a database that is still starting.
async fn migrate(db: &LotteryDb) -> anyhow::Result<()> {
    cloudhp_store::retry_while_unavailable("lottery database", 15, || db.migrate())
        .await
        .context("cannot prepare the lottery database schema")
}
