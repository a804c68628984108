//! What the roles of a process share while each role's wiring (`roles/<role>/wiring.rs`) builds
//! it, called by [`crate::app::build`] in dependency order. A role's wiring decides from the
//! process's role set ([`Wiring::runs`]) whether it has anything to do, opens what it needs
//! (through `backends/`), registers its readiness checks, background tasks and routes on
//! [`Wiring`], and returns its handle(s).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use cloudhp_core::{
    IdentityHandle, PicturesHandle, PlayHandle, ReportHandle, Role, RoleSet, StatusHandle,
};
use cloudhp_store::{Pool, PoolSettings, StoreError};
use futures::FutureExt;
use futures::future::BoxFuture;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::config::Config;
use crate::http::{Check, Readiness, health_router, ops_router, record_metrics};

/// A background part of the process, run by the supervisor until it fails or is cancelled.
pub type Task = BoxFuture<'static, anyhow::Result<()>>;

/// What the roles of a process share while they are wired: the roles that run here, the pools
/// closed on shutdown, the checks of `/readyz`, the background tasks, the token that stops
/// those tasks, and the routes of the roles.
pub struct Wiring {
    roles: RoleSet,
    pub pools: Vec<Pool>,
    pub readiness: Readiness,
    pub tasks: Vec<(&'static str, Task)>,
    pub cancel: CancellationToken,
    /// The internal APIs of the roles served here, for the other processes.
    apis: Router,
    /// The routes of the public listener (the web role's pages, the W contract).
    public: Router,
    /// The backends opened so far, shared by the roles that use them.
    pub shared: crate::backends::Shared,
}

/// A process, wired: what the supervisor runs.
pub struct Wired {
    pub router: Router,
    pub ops_router: Router,
    pub pools: Vec<Pool>,
    pub tasks: Vec<(&'static str, Task)>,
    pub cancel: CancellationToken,
}

impl Wiring {
    /// Starts wiring a process that runs `roles`.
    pub fn new(roles: RoleSet) -> Self {
        Self {
            roles,
            pools: Vec::new(),
            readiness: Readiness::default(),
            tasks: Vec::new(),
            cancel: CancellationToken::new(),
            apis: Router::new(),
            public: Router::new(),
            shared: crate::backends::Shared::default(),
        }
    }

    /// The roles that run in this process.
    pub fn roles(&self) -> &RoleSet {
        &self.roles
    }

    /// Whether `role` runs in this process: a role's wiring has nothing to do otherwise.
    pub fn runs(&self, role: Role) -> bool {
        self.roles.contains(role)
    }

    /// Opens a pool, one per database concern (so each keeps its own settings, even when the
    /// lottery and the customers share the embedded file), kept to be closed on shutdown.
    pub fn open_pool(&mut self, url: &str, settings: &PoolSettings) -> Result<Pool, StoreError> {
        let pool = Pool::connect_lazy(url, settings)?;
        self.pools.push(pool.clone());
        Ok(pool)
    }

    /// Adds a dependency check to `/readyz` (see [`crate::http::check`]).
    pub fn ready(&mut self, name: &'static str, check: Check) {
        self.readiness.add(name, check);
    }

    /// Adds a background task; it is started with the server.
    pub fn task(
        &mut self,
        name: &'static str,
        task: impl Future<Output = anyhow::Result<()>> + Send + 'static,
    ) {
        self.tasks.push((name, task.boxed()));
    }

    /// Adds the internal API of a role served here (behind `roles.token` when set).
    pub fn api(&mut self, api: Router) {
        self.apis = std::mem::take(&mut self.apis).merge(api);
    }

    /// Adds routes to the public listener.
    pub fn route(&mut self, routes: Router) {
        self.public = std::mem::take(&mut self.public).merge(routes);
    }

    /// Nests routes under `path` on the public listener.
    pub fn nest(&mut self, path: &str, routes: Router) {
        self.public = std::mem::take(&mut self.public).nest(path, routes);
    }

    /// Ends the wiring: the routes of the public listener (the roles' own, the role APIs
    /// unless every role runs here, as then no other process calls them, and `/healthz`) and of
    /// the operations listener (`/healthz`, `/readyz`, `/metrics`), each in the layers every
    /// request goes through; the upkeep of the metrics recorder joins the tasks.
    pub fn finish(mut self, config: &Config) -> Wired {
        metrics_upkeep(&mut self);
        let Wiring {
            roles,
            pools,
            readiness,
            tasks,
            cancel,
            apis,
            public,
            shared: _,
        } = self;
        let mut router = public;
        if !roles.is_all() {
            router = router.merge(crate::rpc::protect(apis, config));
        }
        Wired {
            router: layers(router.merge(health_router()), config),
            ops_router: layers(ops_router(readiness, roles.to_string()), config),
            pools,
            tasks,
            cancel,
        }
    }
}

fn layers(router: Router, config: &Config) -> Router {
    router
        .layer(axum::middleware::from_fn(record_metrics))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            config.server.request_timeout,
        ))
        .layer(CatchPanicLayer::new())
        .layer(TraceLayer::new_for_http())
}

/// Keeps the histograms of the metrics recorder bounded.
fn metrics_upkeep(w: &mut Wiring) {
    let upkeep_stop = w.cancel.clone();
    w.task("metrics upkeep", async move {
        let handle = crate::telemetry::metrics();
        loop {
            tokio::select! {
                () = upkeep_stop.cancelled() => return Ok(()),
                () = tokio::time::sleep(Duration::from_secs(10)) => handle.run_upkeep(),
            }
        }
    });
}

/// The roles this process serves itself: the web role calls them directly.
#[derive(Default)]
pub struct LocalRoles {
    pub identity: Option<IdentityHandle>,
    pub status: Option<StatusHandle>,
    /// The status role's report (the admin area reads it).
    pub report: Option<ReportHandle>,
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
