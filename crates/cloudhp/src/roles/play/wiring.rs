//! The play role: draws prizes with W, stores the pictures, and records the plays.

use std::sync::Arc;

use anyhow::Context;
use cloudhp_core::{IdentityHandle, PlayHandle, Role, WorkerHandle};
use cloudhp_store::LotteryDb;
use tokio::sync::Notify;
use tokio_util::task::TaskTracker;

use super::prizes::PrizeRules;
use super::w_client::HttpWorker;
use super::{PlayService, PlaySettings, api};
use crate::backends::{events, images, lottery_db};
use crate::config::Config;
use crate::events::LazyBus;
use crate::http::check;
use crate::roles::identity;
use crate::roles::worker::LocalWorker;
use crate::rpc::Remote;
use crate::wiring::{Wakes, Wiring};

/// The play role of this process.
pub struct Play {
    pub service: PlayHandle,
    /// The draws running in the background, waited for on shutdown.
    pub draws: TaskTracker,
}

/// Builds the play role when it runs here, with its draw recovery and, given a bus, the
/// relay of its winners.
///
/// `identity`: the identity role when it runs here (else it is called at `roles.identity_url`);
/// `worker`: the W of this process, called when `play.worker_urls` is empty.
pub async fn service(
    w: &mut Wiring,
    config: &Config,
    identity: Option<&IdentityHandle>,
    remote: &Remote,
    worker: Option<&Arc<LocalWorker>>,
    wakes: &Wakes,
) -> anyhow::Result<Option<Play>> {
    if !w.runs(Role::Play) {
        return Ok(None);
    }
    let worker: WorkerHandle = if config.play.worker_urls.is_empty() {
        worker
            .cloned()
            .context("the play role needs a W (play.worker_urls)")?
    } else {
        Arc::new(
            HttpWorker::new(&config.play.worker_urls, config.play.worker_concurrency)
                .context("cannot build the W client")?,
        )
    };
    w.ready(
        "worker",
        check(worker.clone(), |w| async move {
            w.ping().await.map_err(|e| e.to_string())
        }),
    );
    let lottery = lottery_db::shared(w, config).await?;
    let prizes = prize_rules(config, &lottery).await?;
    let images = images::shared(w, config)?;
    let bus = events::shared(w, config);
    let p = &config.play;
    let instance = config.play_instance();
    tracing::info!(%instance, "play instance (play.instance): its interrupted draws are re-driven when it starts again");
    let identity = identity::client::cached_handle(w, identity, remote, config);
    let service = PlayService::new(
        lottery.clone(),
        identity,
        worker,
        images,
        PlaySettings {
            lease: p.lease,
            worker_timeout: p.worker_timeout,
            store_timeout: p.store_timeout,
            sweep_interval: p.sweep_interval,
            max_attempts: p.max_attempts,
            max_draws: p.max_draws,
            max_pending: p.max_pending,
            campaign: config.campaign.window()?,
            instance,
            prizes,
        },
        {
            // A winner is delivered at once: through the bus when there is one, else by the
            // notifier of this process.
            let mut listeners = Vec::new();
            if w.runs(Role::Notifier) && bus.is_none() {
                listeners.push(wakes.notifier.clone());
            }
            if bus.is_some() {
                listeners.push(wakes.relay.clone());
            }
            listeners
        },
    );
    if let Some(bus) = bus {
        relay(w, config, lottery, bus, wakes.relay.clone());
    }
    let draws = service.draws();
    let sweeper = service.clone();
    let stop = w.cancel.clone();
    w.task(
        "draw recovery",
        async move { sweeper.sweep_until(stop).await },
    );
    let service: PlayHandle = Arc::new(service);
    w.api(api::router(service.clone()));
    Ok(Some(Play { service, draws }))
}

/// Reads the prize catalog file (`play.catalog`), when there is one, and brings the stock of
/// its prizes in the lottery database in step with it (never forgetting what was won).
async fn prize_rules(
    config: &Config,
    lottery: &LotteryDb,
) -> anyhow::Result<Option<Arc<PrizeRules>>> {
    let Some(path) = config.play_catalog() else {
        tracing::info!("no prize catalog file: every prize W answers is a win, unlimited");
        return Ok(None);
    };
    let shown = path.display().to_string();
    let rules = tokio::task::spawn_blocking(move || PrizeRules::load(&path))
        .await?
        .with_context(|| format!("cannot read the prize catalog {shown} (play.catalog)"))?;
    lottery
        .sync_stock(&rules.stock(), time::OffsetDateTime::now_utc())
        .await
        .context("cannot record the prizes' stock in the lottery database")?;
    tracing::info!(catalog = %shown, "prize catalog loaded: stock and no prize enforced");
    Ok(Some(Arc::new(rules)))
}

/// Starts the relay that publishes committed outbox entries to the bus, woken by the play role
/// of this process and otherwise every `events.relay_interval`.
fn relay(w: &mut Wiring, config: &Config, db: LotteryDb, bus: LazyBus, wake: Arc<Notify>) {
    let stop = w.cancel.clone();
    let interval = config.events.relay_interval;
    w.task("event relay", async move {
        crate::events::relay_until(db, bus, wake, interval, stop).await
    });
}
