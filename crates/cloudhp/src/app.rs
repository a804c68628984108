//! Wiring and supervision: builds the roles of one process from the configuration, decides
//! once which roles are called locally and which over HTTP, binds the listener, and runs
//! everything until asked to stop or until one part fails (then everything stops and the
//! failing part is named).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use axum::Router;
use cloudhp_core::{
    IdentityHandle, PicturesHandle, PlayHandle, Role, RoleSet, StatusHandle, WorkerHandle,
};
use cloudhp_store::{CustomerDb, LotteryDb, Pool, PoolSettings, StoreError, TablePrefix};
use futures::FutureExt;
use futures::future::BoxFuture;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::config::{Config, LinkMode};
use crate::events::LazyBus;
use crate::http::{Check, Readiness, ops_router, record_metrics};
use crate::roles::identity::{IdentityService, Policy};
use crate::roles::notifier::{Notifier, NotifierSettings};
use crate::roles::picture::PictureService;
use crate::roles::play::{PlayService, PlaySettings};
use crate::roles::status::StatusService;
use crate::roles::worker::{HttpWorker, LocalWorker, contract_router};
use crate::rpc::{
    IDENTITY_SERVICE, PICTURE_SERVICE, PLAY_SERVICE, RemoteIdentity, RemotePictures, RemotePlay,
    RemoteRole, RemoteStatus, STATUS_SERVICE, identity_api, picture_api, play_api, require_token,
    status_api, token_digest,
};
use crate::telemetry::chain;
use crate::web::{Links, Web, WebTimeouts, load_or_create_key};

type Task = BoxFuture<'static, anyhow::Result<()>>;

/// What a started process tells its user.
#[derive(Clone, Debug)]
pub struct Summary {
    pub addr: SocketAddr,
    pub public_url: String,
    pub roles: RoleSet,
    pub data_dir: PathBuf,
    /// The mail spool folder, when mail goes to a spool.
    pub mail_spool: Option<PathBuf>,
    /// Personal links of the first demo customers (web role with embedded customers).
    pub sample_links: Vec<String>,
}

/// A built process, bound and ready to run.
pub struct App {
    listener: TcpListener,
    router: Router,
    tasks: Vec<(&'static str, Task)>,
    draws: Option<TaskTracker>,
    pools: Vec<Pool>,
    cancel: CancellationToken,
    grace: Duration,
    summary: Summary,
}

impl App {
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
            router,
            tasks,
            draws,
            pools,
            cancel,
            grace,
            summary,
        } = self;
        let mut set: JoinSet<(&'static str, anyhow::Result<()>)> = JoinSet::new();
        let stop = cancel.clone();
        set.spawn(async move {
            let served = axum::serve(listener, router)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await
                .context("the HTTP server failed");
            ("http server", served)
        });
        for (name, task) in tasks {
            set.spawn(task.map(move |r| (name, r)));
        }
        tracing::info!(addr = %summary.addr, roles = %summary.roles, "serving");

        let mut failure = None;
        tokio::select! {
            () = shutdown => tracing::info!("stop requested"),
            Some(done) = set.join_next() => {
                let (name, result) = done.unwrap_or_else(|e| ("a task", Err(anyhow::anyhow!("panicked: {e}"))));
                let err = result.err().unwrap_or_else(|| anyhow::anyhow!("stopped unexpectedly"));
                tracing::error!(part = name, error = %format!("{err:#}"), "a part of the process failed; stopping everything");
                failure = Some(err.context(format!("{name} failed")));
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

/// The pools of the process, one per database concern (so each keeps its own settings, even
/// when the lottery and the customers share the embedded file), closed on shutdown.
#[derive(Default)]
struct Pools {
    open: Vec<Pool>,
}

impl Pools {
    fn open(&mut self, url: &str, settings: &PoolSettings) -> Result<Pool, StoreError> {
        let pool = Pool::connect_lazy(url, settings)?;
        self.open.push(pool.clone());
        Ok(pool)
    }
}

fn check<F, Fut>(f: F) -> Check
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), String>> + Send + 'static,
{
    Arc::new(move || f().boxed())
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

/// Builds the roles of `roles` from `config`, and binds the listener.
pub async fn build(config: Config, roles: RoleSet) -> anyhow::Result<App> {
    config.validate(&roles)?;
    crate::telemetry::metrics();
    let addr = config.listen_addr()?;
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} (server.listen)"))?;
    let addr = listener.local_addr()?;
    let public_url = if config.server.public_url.is_empty() {
        format!("http://{addr}")
    } else {
        config.server.public_url.trim_end_matches('/').to_owned()
    };

    let data_dir = config.server.data_dir.clone();
    std::fs::create_dir_all(&data_dir).with_context(|| {
        format!(
            "cannot create the data dir {} (server.data_dir)",
            data_dir.display()
        )
    })?;

    let mut pools = Pools::default();
    let mut readiness = Readiness::default();
    let mut tasks: Vec<(&'static str, Task)> = Vec::new();
    let cancel = CancellationToken::new();
    let wake = Arc::new(Notify::new());
    let relay_wake = Arc::new(Notify::new());

    // The lottery database.
    let needs_lottery = [Role::Status, Role::Play, Role::Notifier]
        .iter()
        .any(|r| roles.contains(*r));
    let lottery = if needs_lottery {
        let settings = PoolSettings {
            max_connections: config.lottery.max_connections,
            acquire_timeout: config.lottery.acquire_timeout,
            read_only: false,
        };
        let db = LotteryDb::from_pool(
            pools
                .open(&config.lottery_url(), &settings)
                .context("invalid lottery.database")?,
        );
        migrate(&db).await?;
        let probe = db.clone();
        readiness.add(
            "lottery_db",
            check(move || {
                let db = probe.clone();
                async move { db.ping().await.map_err(|e| chain(&e)) }
            }),
        );
        Some(db)
    } else {
        None
    };

    // The customer database.
    let mut sample_ids = Vec::new();
    let identity_local: Option<IdentityHandle> = if roles.contains(Role::Identity) {
        let embedded = config.embedded_customers();
        let settings = PoolSettings {
            max_connections: config.identity.max_connections,
            acquire_timeout: config.identity.acquire_timeout,
            // A shop database is only ever read; the embedded table is ours.
            read_only: !embedded,
        };
        let pool = pools
            .open(&config.identity_url(), &settings)
            .context("invalid identity.database")?;
        let prefix = TablePrefix::parse(&config.identity.table_prefix)?;
        let db = CustomerDb::new(pool, prefix);
        if embedded {
            db.create_embedded_table()
                .await
                .context("cannot create the embedded customer table")?;
            let seeded = db
                .seed_demo(config.identity.demo_customers)
                .await
                .context("cannot seed the demo customers")?;
            if seeded > 0 {
                tracing::info!(
                    customers = seeded,
                    table = db.table(),
                    "demo customers seeded"
                );
            }
            sample_ids = (1..=config.identity.demo_customers.min(3)).collect();
        }
        let probe = db.clone();
        readiness.add(
            "customer_db",
            check(move || {
                let db = probe.clone();
                async move { db.ping().await.map_err(|e| chain(&e)) }
            }),
        );
        let policy = Policy {
            inactive: config.identity.inactive,
            guests: config.identity.guests,
        };
        Some(Arc::new(IdentityService::new(
            db,
            policy,
            config.identity.query_timeout,
        )))
    } else {
        None
    };

    let status_local: Option<StatusHandle> = match (&lottery, roles.contains(Role::Status)) {
        (Some(db), true) => Some(Arc::new(StatusService::new(db.clone()))),
        _ => None,
    };

    // W.
    let worker_local = if roles.contains(Role::Worker)
        || (roles.contains(Role::Play) && config.play.worker_urls.is_empty())
    {
        let dir = config.catalog_dir();
        let tempo = config.tempo();
        let max = config.worker.max_concurrent;
        let worker = tokio::task::spawn_blocking(move || LocalWorker::open(&dir, tempo, max))
            .await?
            .context("cannot open the prize catalog (worker.catalog_dir)")?;
        if worker.catalog().is_empty() {
            bail!("the prize catalog is empty (worker.catalog_dir)");
        }
        Some(Arc::new(worker))
    } else {
        None
    };

    // The image store.
    let images = if roles.contains(Role::Play) || roles.contains(Role::Picture) {
        let i = &config.images;
        let options = cloudhp_objects::StoreOptions {
            s3: cloudhp_objects::S3Options {
                endpoint: i.s3.endpoint.clone(),
                region: i.s3.region.clone(),
                access_key: i.s3.access_key.clone(),
                secret_key: i.s3.secret_key.expose().to_owned(),
            },
            swift: cloudhp_objects::SwiftOptions {
                auth_url: i.swift.auth_url.clone(),
                auth: i.swift.auth.clone(),
                user: i.swift.user.clone(),
                password: i.swift.password.expose().to_owned(),
                project: i.swift.project.clone(),
                user_domain: i.swift.user_domain.clone(),
                project_domain: i.swift.project_domain.clone(),
                region: i.swift.region.clone(),
                interface: i.swift.interface.clone(),
            },
            timeout: i.timeout,
        };
        let store = cloudhp_objects::store_from_url(&config.images_url(), &options)
            .context("cannot open the image store (images.url)")?;
        let probe = store.clone();
        readiness.add(
            "image_store",
            check(move || {
                let store = probe.clone();
                async move { store.ready().await.map_err(|e| chain(&e)) }
            }),
        );
        Some(store)
    } else {
        None
    };

    let pictures_local: Option<PicturesHandle> = match (&images, roles.contains(Role::Picture)) {
        (Some(store), true) => Some(Arc::new(PictureService::new(store.clone()))),
        _ => None,
    };

    // The event bus, when configured: the play role relays winners to it, notifiers read it.
    let bus = (!config.events.url.is_empty()
        && (roles.contains(Role::Play) || roles.contains(Role::Notifier)))
    .then(|| {
        let e = &config.events;
        LazyBus::new(
            e.url.expose(),
            cloudhp_events::BusSettings {
                stream: e.stream.clone(),
                subject: e.subject.clone(),
                consumer: e.consumer.clone(),
                ack_wait: e.ack_wait,
                duplicate_window: Duration::from_secs(120),
            },
        )
    });
    if let Some(bus) = &bus {
        let probe = bus.clone();
        readiness.add(
            "event_bus",
            check(move || {
                let bus = probe.clone();
                async move {
                    let bus = bus.get().await.map_err(|e| chain(&e))?;
                    bus.ready().await.map_err(|e| chain(&e))
                }
            }),
        );
    }

    let mut draws = None;
    let play_local: Option<PlayHandle> = if roles.contains(Role::Play) {
        let worker: WorkerHandle = if config.play.worker_urls.is_empty() {
            worker_local
                .clone()
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
        readiness.add(
            "worker",
            check(move || {
                let w = probe.clone();
                async move { w.ping().await.map_err(|e| e.to_string()) }
            }),
        );
        let p = &config.play;
        let service = PlayService::new(
            lottery
                .clone()
                .context("the play role needs the lottery database")?,
            worker,
            images
                .clone()
                .context("the play role needs the image store")?,
            PlaySettings {
                lease: p.lease,
                worker_timeout: p.worker_timeout,
                store_timeout: p.store_timeout,
                sweep_interval: p.sweep_interval,
                max_attempts: p.max_attempts,
                max_draws: p.max_draws,
            },
            {
                let mut listeners = Vec::new();
                if roles.contains(Role::Notifier) && bus.is_none() {
                    listeners.push(wake.clone());
                }
                if bus.is_some() {
                    listeners.push(relay_wake.clone());
                }
                listeners
            },
        );
        if let Some(bus) = &bus {
            let (db, bus, wake, stop) = (
                lottery
                    .clone()
                    .context("the relay needs the lottery database")?,
                bus.clone(),
                relay_wake.clone(),
                cancel.clone(),
            );
            let interval = config.events.relay_interval;
            tasks.push((
                "event relay",
                async move { crate::events::relay_until(db, bus, wake, interval, stop).await }
                    .boxed(),
            ));
        }
        draws = Some(service.draws());
        let sweeper = service.clone();
        let stop = cancel.clone();
        tasks.push((
            "draw recovery",
            async move { sweeper.sweep_until(stop).await }.boxed(),
        ));
        Some(Arc::new(service))
    } else {
        None
    };

    let mut mail_spool = None;
    if roles.contains(Role::Notifier) {
        let mail_url = config.mail_url();
        let options = cloudhp_mail::TransportOptions {
            tls_ca_file: (!config.mail.tls_ca_file.as_os_str().is_empty())
                .then(|| config.mail.tls_ca_file.clone()),
            timeout: config.mail.timeout,
        };
        let transport = cloudhp_mail::transport_from_url(&mail_url, &options)
            .context("cannot open the mail transport (mail.url)")?;
        if let Some(path) = mail_url.strip_prefix("file://") {
            mail_spool = Some(PathBuf::from(path));
        }
        let settings = cloudhp_mail::MailSettings::parse(&config.mail.from, &config.mail.admins)?;
        let n = &config.notifier;
        let notifier = Arc::new(Notifier::new(
            lottery
                .clone()
                .context("the notifier needs the lottery database")?,
            transport,
            settings,
            NotifierSettings {
                poll_interval: n.poll_interval,
                batch: n.batch,
                lease: n.lease,
                retry_min: n.retry_min,
                retry_max: n.retry_max,
                send_timeout: config.mail.timeout,
            },
            wake.clone(),
        ));
        let probe = notifier.clone();
        readiness.add(
            "mail",
            check(move || {
                let n = probe.clone();
                async move { n.transport().ready().await.map_err(|e| chain(&e)) }
            }),
        );
        let stop = cancel.clone();
        let source = bus.clone();
        tasks.push((
            "notifier",
            async move { notifier.run_until(source, stop).await }.boxed(),
        ));
    }

    // Handles for the web role: local when the role runs here, remote otherwise.
    let mut router = Router::new();
    let mut sample_links = Vec::new();
    if roles.contains(Role::Web) {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .pool_idle_timeout(Duration::from_secs(60))
            .tcp_nodelay(true)
            .build()
            .context("cannot build the HTTP client")?;
        let token =
            (!config.roles.token.is_empty()).then(|| config.roles.token.expose().to_owned());
        let remote = |name: &'static str, url: &str| {
            RemoteRole::new(
                name,
                url,
                http.clone(),
                token.clone(),
                config.roles.timeout,
                config.roles.connect_retries,
            )
        };
        let identity: IdentityHandle = match &identity_local {
            Some(local) => local.clone(),
            None => Arc::new(RemoteIdentity(remote(
                IDENTITY_SERVICE,
                &config.roles.identity_url,
            ))),
        };
        let status: StatusHandle = match &status_local {
            Some(local) => local.clone(),
            None => Arc::new(RemoteStatus(remote(
                STATUS_SERVICE,
                &config.roles.status_url,
            ))),
        };
        let play: PlayHandle = match &play_local {
            Some(local) => local.clone(),
            None => Arc::new(RemotePlay(remote(PLAY_SERVICE, &config.roles.play_url))),
        };
        let pictures: PicturesHandle = match &pictures_local {
            Some(local) => local.clone(),
            None => Arc::new(RemotePictures(remote(
                PICTURE_SERVICE,
                &config.roles.picture_url,
            ))),
        };
        let links = match config.web.links {
            LinkMode::Open => {
                tracing::warn!(
                    "web.links = \"open\": anyone can open any customer's page by changing the id"
                );
                Links::open(&public_url)
            }
            LinkMode::Signed if !config.web.link_key.is_empty() => {
                Links::signed(config.web.link_key.expose().as_bytes(), &public_url)
            }
            LinkMode::Signed => {
                let path = data_dir.join("link.key");
                let key = load_or_create_key(&path).with_context(|| {
                    format!(
                        "cannot read or create the link key {} (web.link_key)",
                        path.display()
                    )
                })?;
                if !roles.is_all() {
                    tracing::warn!(path = %path.display(), "no web.link_key configured: using the key of the data dir; every web replica must share one key");
                }
                Links::signed(&key, &public_url)
            }
        };
        sample_links = sample_ids
            .iter()
            .filter_map(|n| cloudhp_core::CustomerId::new(*n))
            .map(|id| links.page_url(id))
            .collect();
        let w = &config.web;
        let web = Web {
            identity,
            status,
            play,
            pictures,
            links,
            timeouts: WebTimeouts {
                identity: w.identity_timeout,
                status: w.status_timeout,
                picture: w.picture_timeout,
                play: w.play_timeout,
                start: w.start_timeout,
            },
            refresh: w.refresh,
        };
        router = router.merge(crate::web::router(web));
    }

    // Internal role APIs, for the other processes (not needed when every role runs here).
    if !roles.is_all() {
        let mut internal = Router::new();
        if let Some(s) = &identity_local {
            internal = internal.merge(identity_api(s.clone()));
        }
        if let Some(s) = &status_local {
            internal = internal.merge(status_api(s.clone()));
        }
        if let Some(s) = &play_local {
            internal = internal.merge(play_api(s.clone()));
        }
        if let Some(s) = &pictures_local {
            internal = internal.merge(picture_api(s.clone()));
        }
        if !config.roles.token.is_empty() {
            internal = internal.layer(axum::middleware::from_fn_with_state(
                token_digest(config.roles.token.expose()),
                require_token,
            ));
        }
        router = router.merge(internal);
        if roles.contains(Role::Worker)
            && let Some(worker) = &worker_local
        {
            let contract = contract_router(worker.clone());
            router = if roles.contains(Role::Web) {
                router.nest("/w", contract)
            } else {
                router.merge(contract)
            };
        }
    }

    let role_names = roles.to_string();
    let router = router
        .merge(ops_router(readiness, role_names))
        .layer(axum::middleware::from_fn(record_metrics))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            config.server.request_timeout,
        ))
        .layer(CatchPanicLayer::new())
        .layer(TraceLayer::new_for_http());

    // Keeps the histograms of the metrics recorder bounded.
    let upkeep_stop = cancel.clone();
    tasks.push((
        "metrics upkeep",
        async move {
            let handle = crate::telemetry::metrics();
            loop {
                tokio::select! {
                    () = upkeep_stop.cancelled() => return Ok(()),
                    () = tokio::time::sleep(Duration::from_secs(10)) => handle.run_upkeep(),
                }
            }
        }
        .boxed(),
    ));

    Ok(App {
        listener,
        router,
        tasks,
        draws,
        pools: pools.open,
        cancel,
        grace: config.server.shutdown_grace,
        summary: Summary {
            addr,
            public_url,
            roles,
            data_dir,
            mail_spool,
            sample_links,
        },
    })
}
