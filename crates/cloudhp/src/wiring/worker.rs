//! W, the prize drawer: the worker role, or the in-process W of a play role given no W URLs.

use std::sync::Arc;

use anyhow::{Context, bail};
use cloudhp_core::{Role, RoleSet};

use crate::config::Config;
use crate::roles::worker::LocalWorker;

/// Opens the prize catalog when this process draws prizes itself.
pub async fn local(config: &Config, roles: &RoleSet) -> anyhow::Result<Option<Arc<LocalWorker>>> {
    if !(roles.contains(Role::Worker)
        || (roles.contains(Role::Play) && config.play.worker_urls.is_empty()))
    {
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
    Ok(Some(Arc::new(worker)))
}
