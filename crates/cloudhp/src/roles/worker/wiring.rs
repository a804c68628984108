//! W, the prize drawer: the worker role, or the in-process W of a play role given no W URLs.

use std::sync::Arc;

use anyhow::{Context, bail};
use cloudhp_core::Role;

use super::{LocalWorker, api};
use crate::config::Config;
use crate::wiring::Wiring;

/// Opens the prize catalog when this process draws prizes itself, and serves the W contract
/// when the worker role runs here beside roles of other processes.
pub async fn local(w: &mut Wiring, config: &Config) -> anyhow::Result<Option<Arc<LocalWorker>>> {
    if !(w.runs(Role::Worker) || (w.runs(Role::Play) && config.play.worker_urls.is_empty())) {
        return Ok(None);
    }
    let dir = config.catalog_dir();
    let tempo = config.tempo();
    let max = config.worker.max_concurrent;
    // Blocking file work: the catalog is read, and painted on first start.
    let worker = tokio::task::spawn_blocking(move || LocalWorker::open(&dir, tempo, max))
        .await?
        .context("cannot open the prize catalog (worker.catalog_dir)")?;
    if worker.catalog().is_empty() {
        bail!("the prize catalog is empty (worker.catalog_dir)");
    }
    let worker = Arc::new(worker);
    // Every role in one process: nothing else calls this W.
    if w.runs(Role::Worker) && !w.roles().is_all() {
        let contract = api::contract_router(worker.clone());
        // The W contract's paths would clash with the pages of a web role.
        if w.runs(Role::Web) {
            w.nest("/w", contract);
        } else {
            w.route(contract);
        }
    }
    Ok(Some(worker))
}
