//! The wiring of each role, called by [`crate::app::build`] in dependency order. A role's
//! wiring decides from the role set whether it has anything to do, opens what it needs,
//! registers its readiness checks and background tasks on [`Wiring`], and returns its
//! handle(s).

pub mod events;
pub mod identity;
pub mod images;
pub mod internal;
pub mod lottery;
pub mod notifier;
pub mod ops;
pub mod play;
pub mod remote;
pub mod status;
pub mod web;
pub mod worker;

use std::future::Future;
use std::sync::Arc;

use cloudhp_core::{IdentityHandle, PicturesHandle, PlayHandle, StatusHandle};
use cloudhp_store::{Pool, PoolSettings, StoreError};
use futures::FutureExt;
use futures::future::BoxFuture;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::http::Readiness;

/// A background part of the process, run by the supervisor until it fails or is cancelled.
pub type Task = BoxFuture<'static, anyhow::Result<()>>;

/// What the roles of a process share while they are wired: the pools closed on shutdown, the
/// checks of `/readyz`, the background tasks, and the token that stops those tasks.
#[derive(Default)]
pub struct Wiring {
    pub pools: Vec<Pool>,
    pub readiness: Readiness,
    pub tasks: Vec<(&'static str, Task)>,
    pub cancel: CancellationToken,
}

impl Wiring {
    /// Opens a pool, one per database concern (so each keeps its own settings, even when the
    /// lottery and the customers share the embedded file), kept to be closed on shutdown.
    pub fn open_pool(&mut self, url: &str, settings: &PoolSettings) -> Result<Pool, StoreError> {
        let pool = Pool::connect_lazy(url, settings)?;
        self.pools.push(pool.clone());
        Ok(pool)
    }

    /// Adds a dependency check to `/readyz`.
    pub fn ready<F, Fut>(&mut self, name: &'static str, check: F)
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.readiness.add(name, Arc::new(move || check().boxed()));
    }

    /// Adds a background task; it is started with the server.
    pub fn task(
        &mut self,
        name: &'static str,
        task: impl Future<Output = anyhow::Result<()>> + Send + 'static,
    ) {
        self.tasks.push((name, task.boxed()));
    }
}

/// The roles this process serves itself: the web role calls them directly, and the internal
/// APIs expose them to the other processes.
#[derive(Default)]
pub struct LocalRoles {
    pub identity: Option<IdentityHandle>,
    pub status: Option<StatusHandle>,
    pub play: Option<PlayHandle>,
    pub pictures: Option<PicturesHandle>,
}

/// How a finished draw tells the parts delivering its winner to look now rather than at
/// their next poll.
#[derive(Default)]
pub struct Wakes {
    /// The in-process notifier, when there is no event bus.
    pub notifier: Arc<Notify>,
    /// The relay publishing to the event bus.
    pub relay: Arc<Notify>,
}
