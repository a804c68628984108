//! Wiring and supervision: builds the roles of one process from the configuration (each role
//! by its own wiring, `roles/<role>/wiring.rs`, in dependency order), binds the listeners, and
//! runs everything until asked to stop or until one part fails (then everything stops and the
//! failing part is named). Each role's wiring decides whether it runs here, and whether the
//! roles it calls are local or reached over HTTP.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use cloudhp_core::RoleSet;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::task::TaskTracker;

use crate::config::Config;
use crate::roles;
use crate::rpc::Remote;
use crate::server::{ConnectionLimits, serve};
use crate::supervisor;
use crate::wiring::{LocalRoles, Wakes, Wired, Wiring};

/// What a started process tells its user.
#[derive(Clone, Debug)]
pub struct Summary {
    pub addr: SocketAddr,
    /// The operations listener (`/metrics`, `/readyz`).
    pub ops_addr: SocketAddr,
    pub public_url: String,
    pub roles: RoleSet,
    pub data_dir: PathBuf,
    /// The mail spool folder, when mail goes to a spool.
    pub mail_spool: Option<PathBuf>,
    /// Personal links of the first demo customers (web role with embedded customers).
    pub sample_links: Vec<String>,
    /// What the embedded customer table holds (identity role with embedded customers).
    pub customers: Option<String>,
}

/// A built process, bound and ready to run.
pub struct App {
    listener: TcpListener,
    ops_listener: TcpListener,
    limits: ConnectionLimits,
    /// The roles' routes, tasks, pools and stop signal.
    wired: Wired,
    draws: Option<TaskTracker>,
    grace: Duration,
    summary: Summary,
}

impl App {
    /// The routes of the public listener, as served (for tests driving requests in process).
    pub fn router(&self) -> Router {
        self.wired.router.clone()
    }

    pub fn port(&self) -> u16 {
        self.summary.addr.port()
    }

    pub fn summary(&self) -> &Summary {
        &self.summary
    }

    /// Serves until `shutdown` resolves or a part fails. In-flight requests and draws get
    /// `server.shutdown_grace` to finish; an unfinished draw is recovered later by its lease.
    pub async fn run_until_stopped(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let App {
            listener,
            ops_listener,
            limits,
            wired,
            draws,
            grace,
            summary,
        } = self;
        let Wired {
            router,
            ops_router,
            pools,
            tasks,
            cancel,
        } = wired;
        let mut set: JoinSet<(&'static str, anyhow::Result<()>)> = JoinSet::new();
        let stop = cancel.clone();
        let ops_stop = cancel.clone();
        let ops_limits = limits.clone();
        set.spawn(supervisor::named("http server", async move {
            serve("public", listener, router, limits, stop).await;
            Ok(())
        }));
        set.spawn(supervisor::named("operations server", async move {
            serve("ops", ops_listener, ops_router, ops_limits, ops_stop).await;
            Ok(())
        }));
        for (name, task) in tasks {
            set.spawn(supervisor::named(name, task));
        }
        tracing::info!(addr = %summary.addr, ops = %summary.ops_addr, roles = %summary.roles, "serving");

        let mut failure = None;
        tokio::select! {
            () = shutdown => tracing::info!("stop requested"),
            Some(done) = set.join_next() => {
                // Panics come back as errors with their part's name (supervisor::named); a
                // join error is left only for a task aborted from outside.
                let (name, result) = done.unwrap_or_else(|e| ("a task", Err(e.into())));
                failure = Some(supervisor::failure(name, result));
            }
        }
        cancel.cancel();
        let finish = async {
            while let Some(done) = set.join_next().await {
                if let Ok((name, Err(e))) = done {
                    tracing::warn!(part = name, error = %format!("{e:#}"), "part stopped with an error");
                }
            }
            if let Some(draws) = draws {
                draws.close();
                draws.wait().await;
            }
        };
        if tokio::time::timeout(grace, finish).await.is_err() {
            tracing::warn!(
                ?grace,
                "some work did not finish in time; unfinished draws will be recovered by their lease"
            );
        }
        for pool in pools {
            pool.close().await;
        }
        tracing::info!("stopped");
        failure.map_or(Ok(()), Err)
    }
}

/// Builds the roles of `roles` from `config`, and binds the listener.
pub async fn build(config: Config, roles: RoleSet) -> anyhow::Result<App> {
    config.validate(&roles)?;
    crate::telemetry::metrics();
    let addr = config.listen_addr()?;
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} (server.listen)"))?;
    let addr = listener.local_addr()?;
    let ops_addr = config.server.ops_addr()?;
    let ops_listener = TcpListener::bind(ops_addr)
        .await
        .with_context(|| format!("cannot listen on {ops_addr} (server.ops_listen)"))?;
    let ops_addr = ops_listener.local_addr()?;
    if config.roles.open_to_network(&roles, addr) {
        tracing::warn!(
            %addr,
            "SECURITY: roles.allow_unauthenticated = true: the role APIs of this process answer \
             anyone who reaches {addr}, without a token (customers' names and e-mails, draws)"
        );
    }
    let public_url = if config.server.public_url.is_empty() {
        format!("http://{addr}")
    } else {
        config.server.public_url.trim_end_matches('/').to_owned()
    };

    let data_dir = config.server.data_dir.clone();
    crate::files::private_data_dir(&data_dir).with_context(|| {
        format!(
            "cannot create the data dir {} (server.data_dir)",
            data_dir.display()
        )
    })?;

    // Each role's wiring, in dependency order; each opens the backends it needs (once per
    // process) and adds its routes, readiness checks and tasks to `w`.
    let mut w = Wiring::new(roles.clone());
    let wakes = Wakes::default();
    let remote = Remote::new(&config)?;
    let identity = roles::identity::wiring::service(&mut w, &config).await?;
    let local_identity = identity.as_ref().map(|i| i.service.clone());
    let status = roles::status::wiring::service(&mut w, &config).await?;
    let worker = roles::worker::wiring::local(&mut w, &config).await?;
    let pictures = roles::picture::wiring::service(&mut w, &config)?;
    let play = roles::play::wiring::service(
        &mut w,
        &config,
        local_identity.as_ref(),
        &remote,
        worker.as_ref(),
        &wakes,
    )
    .await?;
    let mail_spool = roles::notifier::wiring::start(&mut w, &config, &wakes).await?;
    let local = LocalRoles {
        identity: local_identity,
        status: status.as_ref().map(|s| s.status.clone()),
        report: status.map(|s| s.report),
        play: play.as_ref().map(|p| p.service.clone()),
        pictures,
    };
    let (sample_ids, customers) = identity
        .map(|i| (i.sample_ids, i.customers))
        .unwrap_or_default();
    let sample_links =
        roles::web::wiring::router(&mut w, &config, &local, &remote, &public_url, &sample_ids)?;
    let draws = play.map(|p| p.draws);
    let wired = w.finish(&config);

    let s = &config.server;
    let limits = ConnectionLimits {
        header_read_timeout: s.header_read_timeout,
        idle_timeout: s.idle_timeout,
        max_connections: s.max_connections as usize,
    };
    Ok(App {
        listener,
        ops_listener,
        limits,
        wired,
        draws,
        grace: config.server.shutdown_grace,
        summary: Summary {
            addr,
            ops_addr,
            public_url,
            roles,
            data_dir,
            mail_spool,
            sample_links,
            customers,
        },
    })
}
