//! W, the prize worker: our own, honouring the W contract (see the W contract of the brief).
//!
//! [`LocalWorker`] is our W: it waits `tempo` without holding any thread, then draws a prize
//! from its catalog and renders the ticket on a blocking thread, so it serves many calls at
//! once. `api` serves it over the W contract, to the play role of other processes (and to
//! anything that called the original W). The play role calls any W, ours or the original, with
//! its W client (`roles/play/w_client.rs`).

pub mod api;
pub mod wiring;

/// The routes of the W contract, each written once for our W's API and the play role's W client.
pub mod routes {
    use std::fmt::Display;

    /// `GET`: which W answers ([`super::About`]).
    pub const ABOUT: &str = "/";

    /// `GET`: a draw for the customer `id` ([`super::PlayAnswer`]); with [`crate::rpc::ID`] the
    /// pattern our W serves.
    pub fn play(id: impl Display) -> String {
        format!("/play/{id}")
    }
}

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use cloudhp_core::{CustomerId, Draw, Prize, ServiceError, Worker};
use cloudhp_worker::{Catalog, CatalogError, render_ticket};
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

/// How W is named to users.
pub const PRIZE_WORKER: &str = "the prize worker";

/// The answer of `GET /` of the contract.
#[derive(Serialize)]
pub struct About {
    #[serde(rename = "Service")]
    pub service: &'static str,
    #[serde(rename = "Version")]
    pub version: &'static str,
}

/// The answer of `GET /play/<id>` of the contract.
#[derive(Serialize, Deserialize)]
pub struct PlayAnswer {
    pub price: String,
    pub img: String,
}

#[derive(Debug, thiserror::Error)]
pub enum DrawError {
    #[error("the prize catalog is empty")]
    EmptyCatalog,
    #[error("cannot render the ticket")]
    Render(#[source] cloudhp_worker::ImageError),
    #[error("the worker is shutting down")]
    Closed,
    #[error("the renderer stopped")]
    Join(#[source] tokio::task::JoinError),
}

/// Our W.
pub struct LocalWorker {
    catalog: Arc<Catalog>,
    tempo: Duration,
    slots: Semaphore,
    /// Renders at once: one per core.
    renders: Semaphore,
}

impl LocalWorker {
    /// Loads the catalog of `dir`, painting the demo catalog into it when it is empty. Blocking
    /// file work: call it from a blocking context at start-up.
    pub fn open(dir: &Path, tempo: Duration, max_concurrent: u32) -> Result<Self, CatalogError> {
        let catalog = Catalog::open_or_create(dir)?;
        let odds = if catalog.table().is_some() {
            "by the weights of its catalog.toml"
        } else {
            "all equally likely (no catalog.toml)"
        };
        tracing::info!(prizes = catalog.len(), dir = %dir.display(), odds, "prize catalog loaded");
        Ok(Self::new(catalog, tempo, max_concurrent))
    }

    pub fn new(catalog: Catalog, tempo: Duration, max_concurrent: u32) -> Self {
        Self {
            catalog: Arc::new(catalog),
            tempo,
            slots: Semaphore::new(max_concurrent.max(1) as usize),
            renders: Semaphore::new(
                std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get),
            ),
        }
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// One call of the contract: answers after `tempo` with a prize drawn and its ticket
    /// rendered for `id` (any text, as the original).
    ///
    /// The original sleeps after drawing; seen from outside it is the same answer after the
    /// same time, but waiting first keeps the CPU free for the presses of a burst while it
    /// waits, and a rendered ticket is held for the moment it takes to answer, not for the
    /// whole tempo. Renders run on blocking threads, as many at once as the machine has cores
    /// (a ticket being rendered is a bitmap; more at once would only hold more memory).
    pub async fn draw_for(&self, id: &str) -> Result<(String, Vec<u8>), DrawError> {
        let _slot = self.slots.acquire().await.map_err(|_| DrawError::Closed)?;
        let _gauge = crate::telemetry::GaugeGuard::enter("cloudhp_worker_inflight");
        tokio::time::sleep(self.tempo).await;
        let _render = self
            .renders
            .acquire()
            .await
            .map_err(|_| DrawError::Closed)?;
        let started = Instant::now();
        let catalog = self.catalog.clone();
        let id = id.to_owned();
        let (file, jpeg) = tokio::task::spawn_blocking(move || {
            let prize = catalog.pick().ok_or(DrawError::EmptyCatalog)?;
            let jpeg = render_ticket(&prize.image, &id).map_err(DrawError::Render)?;
            Ok::<_, DrawError>((prize.file.clone(), jpeg))
        })
        .await
        .map_err(DrawError::Join)??;
        metrics::histogram!("cloudhp_worker_render_seconds").record(started.elapsed());
        metrics::counter!("cloudhp_worker_draws_total").increment(1);
        Ok((file, jpeg))
    }
}

#[async_trait]
impl Worker for LocalWorker {
    async fn draw(&self, id: CustomerId) -> Result<Draw, ServiceError> {
        let (file, jpeg) = self.draw_for(&id.to_string()).await.map_err(|e| {
            tracing::error!(customer = %id, error = %crate::telemetry::chain(&e), "draw failed");
            ServiceError::unavailable(PRIZE_WORKER)
        })?;
        let prize = Prize::parse(&file).ok_or_else(|| {
            tracing::error!(file, "catalog file name is not a valid prize name");
            ServiceError::unavailable(PRIZE_WORKER)
        })?;
        Ok(Draw {
            prize,
            jpeg: Bytes::from(jpeg),
        })
    }

    async fn ping(&self) -> Result<(), ServiceError> {
        Ok(())
    }
}
