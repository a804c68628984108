//! Test support: runs CloudHP with a fresh data dir on free ports, and talks to it over HTTP as
//! a browser or an API client would.
//!
//! Two ways to run it:
//!
//! - in this test process ([`Sandbox::app`] → [`TestApp`]): the app built by
//!   [`cloudhp::build`] and run on a task of the test's runtime, as `cloudhp up` or
//!   `cloudhp serve` would run it, for the tests where no process must die.
//! - as a child process ([`Sandbox::up`], [`Sandbox::serve`] → [`Proc`]): the real binary, for
//!   the tests that kill or restart a process, that run several processes as separate
//!   replicas, that look at what a process prints, or that read its metrics.
//!
//! Metrics are one registry per process (see `cloudhp::telemetry::metrics`): every app of this
//! test binary counts into the same one, and the counters of earlier tests stay in it. So the
//! tests that read metrics run the binary, whose metrics are its own ([`metric`]); a test that
//! reads the registry of this process holds it [`Alone`].

#![allow(dead_code)]

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use cloudhp::roles::web::Links;
use cloudhp_core::{CustomerId, RoleSet};
use cloudhp_store::{CustomerDb, LotteryDb, Pool, PoolSettings, TablePrefix};
pub use cloudhp_testkit::MysqlDatabase;
use tokio::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// How often and how long the tests poll for something to happen: a count, not a deadline.
pub const POLL: Duration = Duration::from_millis(100);
pub const MAX_POLLS: u32 = 300;

/// A configuration tuned for tests: short tempo, short intervals, no waiting on anything.
pub const FAST: &str = r#"
[log]
level = "warn,cloudhp=info"

[server]
shutdown_grace = "2s"

[worker]
tempo = 0.3

[play]
sweep_interval = "200ms"

[notifier]
poll_interval = "200ms"
retry_min = "200ms"
retry_max = "1s"

# Tests press and poll from one address far faster than a person: the limits have their own.
[limits]
enabled = false
"#;

/// `mail.url` of a test SMTP server without TLS. The server keeps every message it is sent, so
/// a mail sent twice is two messages there (the spool would rewrite the same file).
pub fn plain_smtp_url(smtp: &cloudhp_testkit::SmtpServer) -> String {
    format!("smtp://127.0.0.1:{}?tls=none", smtp.port)
}

/// The Customer id lines of mails, sorted (one per mail sent).
pub fn mailed_customers(messages: &[String]) -> Vec<String> {
    let mut ids: Vec<String> = messages
        .iter()
        .filter_map(|m| {
            m.lines()
                .find(|l| l.starts_with("Customer id:"))
                .map(|l| l.trim().to_owned())
        })
        .collect();
    ids.sort();
    ids
}

/// A data dir and a configuration file, shared by the processes of one test.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
}

impl Sandbox {
    /// A fresh sandbox whose configuration is `FAST` and the shared prize catalog, followed by
    /// `extra` TOML (later keys win only where `extra` opens a section FAST does not have; use
    /// distinct sections or keys).
    pub fn new(extra: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("cloudhp.toml");
        let catalog = toml::toml! { [worker] catalog_dir = (prize_catalog().to_str().unwrap()) };
        let base = merge_toml(FAST, &catalog.to_string());
        std::fs::write(&config, merge_toml(&base, extra)).expect("write config");
        Self { dir, config }
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn mail_dir(&self) -> PathBuf {
        self.data_dir().join("mail")
    }

    /// The `.eml` files in the spool, sorted.
    pub fn mails(&self) -> Vec<PathBuf> {
        let mut mails: Vec<PathBuf> = std::fs::read_dir(self.mail_dir())
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|e| e == "eml"))
                    .collect()
            })
            .unwrap_or_default();
        mails.sort();
        mails
    }

    fn db_url(&self) -> String {
        format!("sqlite://{}", self.data_dir().join("cloudhp.db").display())
    }

    /// The lottery database of the sandbox, opened beside the running processes.
    pub fn lottery(&self) -> LotteryDb {
        LotteryDb::connect_lazy(&self.db_url(), &PoolSettings::default()).expect("lottery db")
    }

    /// The embedded customer table of the sandbox.
    pub fn customers(&self) -> CustomerDb {
        let pool = Pool::connect_lazy(&self.db_url(), &PoolSettings::default()).expect("db");
        CustomerDb::new(pool, TablePrefix::default())
    }

    /// Writes `customer` into the embedded customer table, as the shop would: anything can be
    /// in its fields.
    pub async fn add_customer(&self, customer: cloudhp_store::NewCustomer) {
        self.customers()
            .insert_all(&[customer], time::OffsetDateTime::now_utc())
            .await
            .unwrap();
    }

    /// The links of the campaign (its keys are created by the first process started).
    pub fn links(&self, base: &str) -> Links {
        let keys = cloudhp::link_keys::load_or_create(&self.data_dir().join("link.key"))
            .expect("link.key holds keys");
        Links::signed(&keys, base).expect("a key")
    }

    /// `cloudhp up` started on a free port (see [`Sandbox::up`]), and the links to its pages.
    pub fn up_linked(&self) -> (Proc, Links) {
        let app = self.up();
        let links = self.links(&app.base());
        (app, links)
    }

    /// The app of every role spawned in this test process (see [`Sandbox::app`]), and the
    /// links to its pages.
    pub async fn spawn_linked(&self) -> (TestApp, Links) {
        let app = self.app().spawn().await;
        let links = self.links(&app.base());
        (app, links)
    }

    /// Marks customer `n` deleted in the shop's customer table.
    pub async fn delete_customer(&self, n: u32) {
        self.customers()
            .set_flags(id(n), true, false, true)
            .await
            .unwrap();
    }

    /// Marks customer `n` inactive in the shop's customer table.
    pub async fn deactivate_customer(&self, n: u32) {
        self.customers()
            .set_flags(id(n), false, false, false)
            .await
            .unwrap();
    }

    /// An app in this test process, every role by default (as `cloudhp up`, with 50 demo
    /// customers), configured by the sandbox's file.
    pub fn app(&self) -> AppBuilder<'_> {
        AppBuilder {
            sandbox: self,
            roles: None,
            extra: Vec::new(),
            port: 0,
        }
    }

    /// The configuration of an app in this test process: the sandbox's file, then `extra` (in
    /// order), then loopback port 0 for both listeners and the sandbox's data dir. The
    /// environment is not read (a child process gets a cleared one).
    fn config(&self, all_roles: bool, extra: &[String], port: u16) -> cloudhp::Config {
        let mut text = std::fs::read_to_string(&self.config).expect("read config");
        for more in extra {
            text = merge_toml(&text, more);
        }
        let mut table: toml::Table = toml::from_str(&text).expect("config toml");
        // Demo customers: 50, unless the test asks for another number.
        let demo_set = table
            .get("identity")
            .and_then(|s| s.get("demo_customers"))
            .is_some();
        let mut set = |section: &str, key: &str, value: toml::Value| {
            let section = table
                .entry(section)
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            section
                .as_table_mut()
                .expect("a section")
                .insert(key.into(), value);
        };
        set("server", "listen", format!("127.0.0.1:{port}").into());
        set("server", "ops_listen", "127.0.0.1:0".into());
        set(
            "server",
            "data_dir",
            self.data_dir().to_str().unwrap().into(),
        );
        if all_roles && !demo_set {
            set("identity", "demo_customers", 50.into());
        }
        toml::Value::Table(table)
            .try_into()
            .expect("a valid configuration")
    }

    /// Starts `cloudhp up` on a free port.
    pub fn up(&self) -> Proc {
        self.up_with(&[])
    }

    pub fn up_with(&self, env: &[(&str, &str)]) -> Proc {
        let data_dir = self.data_dir();
        let args = [
            "up",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            data_dir.to_str().unwrap(),
            "--demo-customers",
            "50",
        ];
        Proc::start(&self.config, &args, env)
            .unwrap_or_else(|log| panic!("cloudhp {args:?} did not start:\n{log}"))
    }

    /// Starts `cloudhp serve` with these roles, listening on `listen`. On a given port (a
    /// restart on the port a process just released), a start that finds the port taken for a
    /// moment is tried again, a bounded number of times.
    pub fn serve(&self, roles: &str, listen: &str, env: &[(&str, &str)]) -> Proc {
        let data_dir = self.data_dir();
        let args = [
            "serve",
            "--role",
            roles,
            "--listen",
            listen,
            "--data-dir",
            data_dir.to_str().unwrap(),
        ];
        if listen.ends_with(":0") {
            return Proc::start(&self.config, &args, env).unwrap_or_else(|log| {
                panic!("cloudhp {args:?} did not start:\n{log}");
            });
        }
        let mut last = String::new();
        for _ in 0..BIND_TRIES {
            match Proc::start(&self.config, &args, env) {
                Ok(proc) => return proc,
                Err(log) if log.contains("cannot listen on") => {
                    last = log;
                    std::thread::sleep(POLL);
                }
                Err(log) => panic!("cloudhp {args:?} did not start:\n{log}"),
            }
        }
        panic!("cloudhp {args:?} found {listen} taken {BIND_TRIES} times:\n{last}");
    }
}

/// How many times a process is started again on a port that is taken (a count, not a
/// deadline): the port a stopped process released can be taken for a moment by an outgoing
/// connection that happened to get it.
const BIND_TRIES: u32 = 50;

/// What an app in the test process runs: roles, and configuration added to the sandbox's.
pub struct AppBuilder<'a> {
    sandbox: &'a Sandbox,
    roles: Option<String>,
    extra: Vec<String>,
    port: u16,
}

impl AppBuilder<'_> {
    /// These roles only (as `cloudhp serve --role ROLES`; no demo customers override).
    pub fn roles(mut self, roles: &str) -> Self {
        self.roles = Some(roles.to_owned());
        self
    }

    /// More configuration, merged over the sandbox's (as `merge_toml`).
    pub fn with(mut self, toml: &str) -> Self {
        self.extra.push(toml.to_owned());
        self
    }

    /// The public listener on this loopback port (a port the test reserved, or one an app
    /// of the test released) instead of a free one.
    pub fn on_port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Builds the app (its listeners bound) and runs it on a task of the test's runtime. On a
    /// given port, a build that finds the port taken for a moment is tried again, a bounded
    /// number of times.
    pub async fn spawn(self) -> TestApp {
        let roles = match &self.roles {
            Some(roles) => RoleSet::parse(&[roles.as_str()]).expect("roles"),
            None => RoleSet::all(),
        };
        let config = self
            .sandbox
            .config(self.roles.is_none(), &self.extra, self.port);
        let tries = if self.port == 0 { 1 } else { BIND_TRIES };
        let mut last = None;
        for _ in 0..tries {
            match TestApp::start(config.clone(), roles.clone()).await {
                Ok(app) => return app,
                Err(e) if format!("{e:#}").contains("cannot listen on") => last = Some(e),
                Err(e) => panic!("cannot build the app: {e:#}"),
            }
            tokio::time::sleep(POLL).await;
        }
        panic!("cannot build the app ({tries} tries): {:#}", last.unwrap());
    }
}

/// The in-process apps of this test binary and the metrics registry they share: each test
/// running apps holds it shared, [`Alone`] holds it alone.
static REGISTRY: RwLock<()> = RwLock::const_new(());

/// How a test holds the registry.
enum Lease {
    Shared(RwLockReadGuard<'static, ()>),
    Alone(RwLockWriteGuard<'static, ()>),
}

thread_local! {
    /// The lease of the test running on this thread (libtest runs each test on a thread of its
    /// own). Kept until the thread ends, that is after the test's runtime has dropped every
    /// task of its apps: nothing of this test counts into the registry once another test
    /// holds it alone. Every app of one test shares the one lease (a second one, asked for
    /// while another test waits to hold the registry alone, would wait forever).
    static LEASE: RefCell<Option<Lease>> = const { RefCell::new(None) };
}

/// Takes the registry shared for this test, unless it holds it already.
async fn hold_registry() {
    if LEASE.with_borrow(Option::is_some) {
        return;
    }
    let lease = Lease::Shared(REGISTRY.read().await);
    LEASE.set(Some(lease));
}

/// The metrics registry of this test binary, held alone by a test that reads it: no app of
/// another test runs in this process meanwhile. (The fuzzing router of `edge.rs` is no app of
/// a test: it counts its requests beside.)
pub struct Alone(());

impl Alone {
    /// Waits until no other test runs an app in this process, then keeps them from starting
    /// one until this test ends. For a test without a runtime of its own.
    pub fn take_blocking() -> Alone {
        let guard = REGISTRY.blocking_write();
        LEASE.with_borrow_mut(|lease| {
            assert!(
                lease.is_none(),
                "take Alone before starting the test's apps (they hold the registry shared)"
            );
            *lease = Some(Lease::Alone(guard));
        });
        Alone(())
    }
}

/// An app running in the test process. Asked to stop when dropped; the end of the test's
/// runtime ends whatever is left of it.
pub struct TestApp {
    pub addr: String,
    pub ops_addr: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl TestApp {
    /// Builds and runs an app; the build's error (a port taken is one).
    async fn start(config: cloudhp::Config, roles: RoleSet) -> anyhow::Result<TestApp> {
        init_logs();
        hold_registry().await;
        let app = cloudhp::build(config, roles).await?;
        let summary = app.summary().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(app.run_until_stopped(async move {
            // A dropped sender asks for a stop too.
            let _ = stopped.await;
        }));
        Ok(TestApp {
            addr: summary.addr.to_string(),
            ops_addr: summary.ops_addr.to_string(),
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// Asks it to stop, as SIGTERM would, and waits until it has; whether it stopped cleanly.
    pub async fn stop(mut self) -> bool {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => matches!(task.await, Ok(Ok(()))),
            None => false,
        }
    }

    /// The operations listener (`/metrics`, `/readyz`).
    pub fn ops(&self) -> Port {
        Port(self.ops_addr.rsplit(':').next().unwrap().parse().unwrap())
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Site for TestApp {
    fn base(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// Logs of the in-process apps, through the test harness's capture: shown with a failing
/// test's output, and only then. `RUST_LOG` overrides the level.
fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,cloudhp=info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_test_writer()
        .try_init();
}

/// The demo prize catalog, painted once per test process into a folder under the target dir
/// and only read by the apps of the tests (`worker.catalog_dir`): a fresh data dir would
/// otherwise paint its own, at some tenths of a second per app.
pub fn prize_catalog() -> &'static Path {
    static CATALOG: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    CATALOG
        .get_or_init(|| {
            let dir = tempfile::Builder::new()
                .prefix("e2e-prizes-")
                .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
                .expect("catalog dir");
            cloudhp_worker::Catalog::demo()
                .write_dir(dir.path())
                .expect("paint the demo catalog");
            dir
        })
        .path()
}

/// Appends `extra` to `base`, merging sections that both define.
pub fn merge_toml(base: &str, extra: &str) -> String {
    let mut merged: toml::Table = toml::from_str(base).expect("base toml");
    let extra: toml::Table = toml::from_str(extra).expect("extra toml");
    for (section, values) in extra {
        match (merged.get_mut(&section), values) {
            (Some(toml::Value::Table(into)), toml::Value::Table(from)) => {
                into.extend(from);
            }
            (_, v) => {
                merged.insert(section, v);
            }
        }
    }
    toml::to_string(&merged).expect("toml")
}

/// A running `cloudhp` process. Killed when dropped.
pub struct Proc {
    child: Child,
    pub addr: String,
    pub ops_addr: String,
    pub stderr_log: PathBuf,
    /// What the process printed on standard output up to its listening line (the banner).
    pub banner: String,
}

impl Proc {
    /// Starts the binary; its log when it exits before listening.
    fn start(config: &Path, args: &[&str], env: &[(&str, &str)]) -> Result<Proc, String> {
        let log_dir = config.parent().unwrap();
        let stderr_log = log_dir.join(format!(
            "proc-{}-{}.log",
            args[0],
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        let stderr = std::fs::File::create(&stderr_log).expect("log file");
        let mut command = Command::new(env!("CARGO_BIN_EXE_cloudhp"));
        command
            .env_clear()
            .env("CLOUDHP_CONFIG", config)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(stderr);
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("start cloudhp");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut banner = String::new();
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // The machine-readable line: `listening public=http://A ops=http://B`.
                let Some(rest) = line.strip_prefix("listening ") else {
                    banner.push_str(&line);
                    banner.push('\n');
                    continue;
                };
                let field = |name: &str| {
                    rest.split_whitespace()
                        .find_map(|f| f.strip_prefix(name))
                        .map(|url| url.trim_start_matches("http://").to_owned())
                };
                if let (Some(public), Some(ops)) = (field("public="), field("ops=")) {
                    let _ = tx.send((public, ops, std::mem::take(&mut banner)));
                }
            }
        });
        // Bounded by the process: it prints its address, or exits.
        let (addr, ops_addr, banner) = match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(addrs) => addrs,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(std::fs::read_to_string(&stderr_log).unwrap_or_default());
            }
        };
        Ok(Proc {
            child,
            addr,
            ops_addr,
            stderr_log,
            banner,
        })
    }

    /// The operations listener (`/metrics`, `/readyz`).
    pub fn ops(&self) -> Port {
        Port(self.ops_addr.rsplit(':').next().unwrap().parse().unwrap())
    }

    pub fn port(&self) -> u16 {
        self.addr.rsplit(':').next().unwrap().parse().unwrap()
    }

    /// SIGKILL: the process dies at once, mid-whatever.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then waits for the process to exit; returns whether it exited cleanly.
    pub fn stop(mut self) -> bool {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.child.wait().map(|s| s.success()).unwrap_or(false)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr_log).unwrap_or_default()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Something with an HTTP address: a process of the test, or a known address.
pub trait Site {
    fn base(&self) -> String;

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base(), path)
    }
}

impl Site for Proc {
    fn base(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// A listener known by its port on loopback.
pub struct Port(pub u16);

impl Site for Port {
    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.0)
    }
}

/// A client that does not follow redirects (the tests look at them).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// The status code a request is answered with.
/// The answer to `request`.
pub async fn send(request: reqwest::RequestBuilder) -> reqwest::Response {
    request.send().await.unwrap()
}

pub async fn status_of(request: reqwest::RequestBuilder) -> u16 {
    request.send().await.unwrap().status().as_u16()
}

/// Asserts that `text` (a command's output, a banner) says each of `lines`.
#[track_caller]
pub fn assert_says(text: &str, lines: &[&str]) {
    for line in lines {
        assert!(text.contains(line), "{line:?} not in:\n{text}");
    }
}

pub fn id(n: u32) -> CustomerId {
    CustomerId::new(n).unwrap()
}

/// Polls `check` until it gives `Some`, at most `MAX_POLLS` times.
pub async fn wait_for<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..MAX_POLLS {
        if let Some(value) = check().await {
            return value;
        }
        tokio::time::sleep(POLL).await;
    }
    panic!("gave up waiting for {what} after {MAX_POLLS} polls");
}

/// The JSON of a customer from the public API.
pub async fn player(proc: &impl Site, links: &Links, n: u32) -> serde_json::Value {
    let token = links.token(id(n)).unwrap();
    let response = client()
        .get(proc.url(&format!("/api/v1/players/{n}?t={token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "GET player {n}");
    response.json().await.unwrap()
}

/// Waits until the customer's status is `state`; returns the JSON.
pub async fn wait_for_state(
    proc: &impl Site,
    links: &Links,
    n: u32,
    state: &str,
) -> serde_json::Value {
    wait_for(&format!("customer {n} to be {state}"), || async {
        let json = player(proc, links, n).await;
        (json["status"] == state).then_some(json)
    })
    .await
}

/// Presses Play for customer `n` through the JSON API; the draw must start (202).
pub async fn start_play(site: &impl Site, links: &Links, n: u32) {
    let token = links.token(id(n)).unwrap();
    let url = site.url(&format!("/api/v1/players/{n}/play?t={token}"));
    let response = client().post(url).send().await.unwrap();
    assert_eq!(response.status(), 202, "play of customer {n}");
}

/// Presses Play on customer `n`'s page: the form posts to the page, which answers with a
/// redirect back to itself (returned, for its headers).
pub async fn press_play(site: &impl Site, links: &Links, n: u32) -> reqwest::Response {
    let response = client()
        .post(site.url(&links.page_path(id(n))))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303, "Play pressed by customer {n}");
    response
}

/// The HTML of a customer's page.
pub async fn page(proc: &impl Site, links: &Links, n: u32) -> (u16, String) {
    let response = client()
        .get(proc.url(&links.page_path(id(n))))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

async fn get_text(url: &str) -> String {
    let response = client().get(url).send().await.unwrap();
    assert_eq!(response.status(), 200, "GET {url}");
    response.text().await.unwrap()
}

/// The whole `/metrics` text of a child process (from its operations listener).
pub async fn metrics_text(proc: &Proc) -> String {
    get_text(&proc.ops().url("/metrics")).await
}

/// A metric of a child process (as in [`Metrics::get`]); `None` when it is not exported (a
/// counter that never counted is not).
pub async fn metric(proc: &Proc, name: &str) -> Option<f64> {
    Metrics(metrics_text(proc).await).get(name)
}

/// Waits until a metric of a child process reaches `n`; its value then (more than `n` when it
/// went past).
pub async fn wait_metric(proc: &Proc, name: &str, n: f64) -> f64 {
    wait_for(&format!("{name} to reach {n}"), || async {
        metric(proc, name).await.filter(|v| *v >= n)
    })
    .await
}

/// A reading of `/metrics` (Prometheus text format).
pub struct Metrics(pub String);

impl Metrics {
    /// The sum of the samples of `name`: a bare name (`cloudhp_draws_total`) sums every
    /// series of it, a name with all its labels (`cloudhp_draws_total{outcome="won"}`) is that
    /// one series. `None` when no sample matches.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.samples()
            .filter(|(series, _)| {
                series.strip_prefix(name).is_some_and(|rest| {
                    rest.is_empty() || (rest.starts_with('{') && !name.contains('{'))
                })
            })
            .map(|(_, value)| value)
            .reduce(|a, b| a + b)
    }

    /// Every sample, by its series (`name{labels}`).
    pub fn series(&self) -> BTreeMap<String, f64> {
        self.samples()
            .map(|(series, value)| (series.to_owned(), value))
            .collect()
    }

    fn samples(&self) -> impl Iterator<Item = (&str, f64)> {
        self.0
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .filter_map(|l| {
                let (series, value) = l.rsplit_once(' ')?;
                Some((series, value.parse().ok()?))
            })
    }
}

/// Fills the sandbox's embedded customer table (in `data_dir`) with `count` demo customers,
/// through `cloudhp customers seed`.
pub fn seed_customers(sandbox: &Sandbox, data_dir: &Path, count: u32) {
    let out = run_cli(
        sandbox,
        &[
            "customers",
            "seed",
            "--count",
            &count.to_string(),
            "--data-dir",
            data_dir.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs a `cloudhp` command to its end, with the sandbox's configuration.
pub fn run_cli(sandbox: &Sandbox, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_cloudhp"))
        .env_clear()
        .env("CLOUDHP_CONFIG", &sandbox.config)
        .args(args)
        .output()
        .expect("run cloudhp")
}
