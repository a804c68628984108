//! The lottery database (plays and outbox), shared by the status, play and notifier roles.

use std::time::Duration;

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
    let mut attempt = 0;
    loop {
        match db.migrate().await {
            Ok(()) => return Ok(()),
            Err(e) if e.is_unavailable() && attempt < 15 => {
                attempt += 1;
                tracing::warn!(attempt, error = %chain(&e), "lottery database not reachable yet; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) => return Err(e).context("cannot prepare the lottery database schema"),
        }
    }
}
