//! The play role: draws prizes with W, stores the pictures, and records the plays.

use std::sync::Arc;

use anyhow::Context;
use cloudhp_core::{IdentityHandle, PlayHandle, Role, RoleSet, WorkerHandle};
use cloudhp_objects::ImageStore;
use cloudhp_store::LotteryDb;
use tokio_util::task::TaskTracker;

use super::{Wakes, Wiring};
use crate::config::Config;
use crate::events::LazyBus;
use crate::roles::play::{PlayService, PlaySettings};
use crate::roles::worker::{HttpWorker, LocalWorker};

/// What the play role uses, wired before it.
pub struct PlayDeps<'a> {
    pub lottery: Option<&'a LotteryDb>,
    /// Who the customers are: the identity role, here or remote.
    pub identity: IdentityHandle,
    /// The W of this process, used when `play.worker_urls` is empty.
    pub worker: Option<&'a Arc<LocalWorker>>,
    pub images: Option<&'a Arc<dyn ImageStore>>,
    pub bus: Option<&'a LazyBus>,
}

/// The play role of this process.
pub struct Play {
    pub service: PlayHandle,
    /// The draws running in the background, waited for on shutdown.
    pub draws: TaskTracker,
}

/// Builds the play role when it runs here, with its draw recovery and, given a bus, the
/// relay of its winners.
pub fn service(
    w: &mut Wiring,
    config: &Config,
    roles: &RoleSet,
    deps: PlayDeps<'_>,
    wakes: &Wakes,
) -> anyhow::Result<Option<Play>> {
    if !roles.contains(Role::Play) {
        return Ok(None);
    }
    let worker: WorkerHandle = if config.play.worker_urls.is_empty() {
        deps.worker
            .cloned()
            .context("the play role needs a W (play.worker_urls)")?
    } else {
        Arc::new(
            HttpWorker::new(
                &config.play.worker_urls,
                config.play.worker_concurrency,
                config.play.worker_timeout,
            )
            .context("cannot build the W client")?,
        )
    };
    let probe = worker.clone();
    w.ready("worker", move || {
        let w = probe.clone();
        async move { w.ping().await.map_err(|e| e.to_string()) }
    });
    let lottery = deps
        .lottery
        .cloned()
        .context("the play role needs the lottery database")?;
    let p = &config.play;
    let instance = config.play_instance();
    tracing::info!(%instance, "play instance (play.instance): its interrupted draws are re-driven when it starts again");
    let service = PlayService::new(
        lottery.clone(),
        deps.identity,
        worker,
        deps.images
            .cloned()
            .context("the play role needs the image store")?,
        PlaySettings {
            lease: p.lease,
            worker_timeout: p.worker_timeout,
            store_timeout: p.store_timeout,
            sweep_interval: p.sweep_interval,
            max_attempts: p.max_attempts,
            max_draws: p.max_draws,
            campaign: config.campaign.window()?,
            instance,
        },
        {
            // A winner is delivered at once: through the bus when there is one, else by the
            // notifier of this process.
            let mut listeners = Vec::new();
            if roles.contains(Role::Notifier) && deps.bus.is_none() {
                listeners.push(wakes.notifier.clone());
            }
            if deps.bus.is_some() {
                listeners.push(wakes.relay.clone());
            }
            listeners
        },
    );
    if let Some(bus) = deps.bus {
        super::events::relay(w, config, lottery, bus.clone(), wakes.relay.clone());
    }
    let draws = service.draws();
    let sweeper = service.clone();
    let stop = w.cancel.clone();
    w.task(
        "draw recovery",
        async move { sweeper.sweep_until(stop).await },
    );
    Ok(Some(Play {
        service: Arc::new(service),
        draws,
    }))
}
