//! Where the tests find the real servers they run against (MariaDB, Swift, NATS, SMTP).
//!
//! `scripts/test-servers.sh start` installs and starts them on loopback and writes their
//! addresses to `target/test-servers.env` as `export NAME=value` lines; the same names may be
//! set in the environment instead (the environment wins). A test that needs a server that is
//! not there fails with a message naming the script: these tests never skip silently.

use std::path::PathBuf;

use cloudhp_core::{Customer, CustomerId, Winner};

/// Instantiates a suite of backend tests: for each backend, a module of that name holding one
/// test per suite function, which opens a fresh backend with the backend's opener (a value and
/// a guard that keeps what it lives in until the test ends) and runs the function of the same
/// name on it, on a multi-thread runtime of `threads` workers.
///
/// ```
/// // A backend's opener: the backend, and what must live as long as the test.
/// async fn sqlite_lottery() -> (u32, ()) {
///     (7, ())
/// }
/// async fn mysql_lottery() -> (u32, ()) {
///     (7, ())
/// }
/// // A suite function: one test of the behaviour every backend must have.
/// async fn first_test(backend: u32) {
///     assert_eq!(backend, 7);
/// }
/// async fn second_test(_: u32) {}
///
/// cloudhp_testkit::backend_suite! {
///     threads = 4,
///     tests = [first_test, second_test],
///     backends { sqlite: sqlite_lottery, mysql: mysql_lottery }
/// }
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! backend_suite {
    (
        threads = $threads:tt,
        tests = $tests:tt,
        backends { $($backend:ident: $open:path),* $(,)? } $(,)?
    ) => {
        $( $crate::backend_suite!(@backend $backend, $open, $threads, $tests); )*
    };
    (@backend $backend:ident, $open:path, $threads:tt, [$($name:ident),* $(,)?]) => {
        mod $backend {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = $threads)]
                async fn $name() {
                    let (backend, _guard) = $open().await;
                    super::$name(backend).await;
                }
            )*
        }
    };
}

/// Customer `n` of a test fixture: Zoé `lastname`, `c<n>@example.com`, no language.
pub fn customer(n: u32, lastname: &str) -> Customer {
    Customer {
        id: CustomerId::new(n).unwrap(),
        firstname: "Zoé".into(),
        lastname: lastname.into(),
        email: format!("c{n}@example.com"),
        language: None,
    }
}

/// Every winner, walked as the export walks them: by id, a `batch` at a time, each after the
/// last id of the batch before, until a batch is empty.
pub async fn walk_winners(
    mut batch: impl AsyncFnMut(Option<CustomerId>) -> Vec<Winner>,
) -> Vec<Winner> {
    let mut walked = Vec::new();
    let mut after = None;
    loop {
        let winners = batch(after).await;
        let Some(last) = winners.last() else { break };
        after = Some(last.customer.id);
        walked.extend(winners);
    }
    walked
}

/// The script that starts the servers, as the messages name it.
pub const SCRIPT: &str = "scripts/test-servers.sh start";

fn env_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/test-servers.env")
}

/// The value of `name` from the environment or from the file written by the script.
pub fn lookup(name: &str) -> Option<String> {
    if let Ok(value) = std::env::var(name)
        && !value.is_empty()
    {
        return Some(value);
    }
    let text = std::fs::read_to_string(env_file()).ok()?;
    text.lines().find_map(|line| {
        let line = line.trim().strip_prefix("export ").unwrap_or(line.trim());
        let (key, value) = line.split_once('=')?;
        (key == name).then(|| value.trim_matches(['"', '\'']).to_owned())
    })
}

/// The value of `name`, or a failure telling how to start the test servers.
pub fn require(name: &str) -> String {
    lookup(name).unwrap_or_else(|| {
        panic!(
            "this test needs a real server on loopback, and {name} is not set: run `{SCRIPT}` \
             first (it installs and starts MariaDB, Swift, NATS and SMTP for the tests and \
             writes their addresses to target/test-servers.env)"
        )
    })
}

/// A name unique to this test run, for databases, containers and buckets.
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let count = {
        use std::sync::atomic::{AtomicU32, Ordering};
        static COUNT: AtomicU32 = AtomicU32::new(0);
        COUNT.fetch_add(1, Ordering::Relaxed)
    };
    format!(
        "{prefix}{:x}{:x}{count}",
        std::process::id(),
        nanos % 0xFFFF_FFFF
    )
}

/// The test SMTP server: the script of this checkout (it may know options newer than the one
/// the test-server script recorded), else `CLOUDHP_TEST_SMTP_SERVER`.
fn smtp_script() -> String {
    let own = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/smtp-test-server.py");
    if own.is_file() {
        return own.display().to_string();
    }
    require("CLOUDHP_TEST_SMTP_SERVER")
}

/// How the test SMTP server secures its connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpMode {
    Plain,
    StartTls,
    Smtps,
}

/// A test SMTP server (`scripts/smtp-test-server.py`) of one test: it writes each message it
/// accepts as one file of its mail dir. Killed when dropped.
pub struct SmtpServer {
    process: ServerProcess,
    pub port: u16,
    pub maildir: PathBuf,
    _dir: tempfile::TempDir,
}

/// A recipient the test SMTP server refuses: RCPT TO `address` is answered `code` (4xx or
/// 5xx), `times` times (`None`: always), then accepted.
#[derive(Clone, Debug)]
pub struct Refusal {
    pub address: String,
    pub code: u16,
    pub times: Option<u32>,
}

impl SmtpServer {
    /// Starts a server on a free port; with `credentials`, AUTH is required.
    pub fn start(mode: SmtpMode, credentials: Option<(&str, &str)>) -> Self {
        Self::start_refusing(mode, credentials, &[])
    }

    /// Starts a server that refuses the given recipients (see [`Refusal`]).
    pub fn start_refusing(
        mode: SmtpMode,
        credentials: Option<(&str, &str)>,
        refusals: &[Refusal],
    ) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let maildir = dir.path().join("mail");
        std::fs::create_dir_all(&maildir).expect("mail dir");
        let launch = SmtpLaunch {
            maildir: maildir.clone(),
            mode,
            credentials: credentials.map(|(u, p)| (u.to_owned(), p.to_owned())),
            refusals: refusals
                .iter()
                .map(|r| match r.times {
                    Some(n) => format!("{}={}x{n}", r.address, r.code),
                    None => format!("{}={}", r.address, r.code),
                })
                .collect(),
        };
        let process = ServerProcess::start(
            "the test SMTP server",
            Box::new(move |port| launch.try_spawn(port)),
        );
        Self {
            port: process.port,
            process,
            maildir,
            _dir: dir,
        }
    }

    /// Stops the server (connections are refused until `restart`).
    pub fn stop(&mut self) {
        self.process.stop();
    }

    /// Starts it again on the same port.
    pub fn restart(&mut self) {
        self.process.restart();
    }

    /// Freezes the server (SIGSTOP): connections open but nothing answers.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Thaws a paused server (SIGCONT).
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        if let Some(child) = &self.process.child {
            let _ = std::process::Command::new("kill")
                .args([signal, &child.id().to_string()])
                .status();
        }
    }

    /// How many times each refused address was refused so far (lowercased addresses).
    pub fn refusals(&self) -> std::collections::HashMap<String, u32> {
        std::fs::read_to_string(self.maildir.join(".refusals"))
            .unwrap_or_default()
            .lines()
            .filter_map(|line| {
                let (address, count) = line.rsplit_once(' ')?;
                Some((address.to_owned(), count.parse().ok()?))
            })
            .collect()
    }

    /// The messages received so far, oldest first, as text.
    pub fn messages(&self) -> Vec<String> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.maildir)
            .map(|d| {
                d.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|e| e == "eml"))
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files
            .iter()
            .map(|f| std::fs::read_to_string(f).unwrap_or_default())
            .collect()
    }
}

/// How the test SMTP server of one test is started.
struct SmtpLaunch {
    maildir: PathBuf,
    mode: SmtpMode,
    credentials: Option<(String, String)>,
    /// `--refuse` arguments: `ADDRESS=CODE[xTIMES]`.
    refusals: Vec<String>,
}

impl SmtpLaunch {
    /// One start on `port` (0: it binds a free one and says which); `None` when the server
    /// exits without listening (its port is taken).
    fn try_spawn(&self, port: u16) -> Option<(std::process::Child, u16)> {
        use std::io::BufRead;
        let script = smtp_script();
        // Run by its own first line: it needs the system Python, which has aiosmtpd.
        let mut command = std::process::Command::new(&script);
        command
            .arg("--port")
            .arg(port.to_string())
            .arg("--maildir")
            .arg(&self.maildir)
            .arg("--mode")
            .arg(match self.mode {
                SmtpMode::Plain => "plain",
                SmtpMode::StartTls => "starttls",
                SmtpMode::Smtps => "smtps",
            })
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null());
        if self.mode != SmtpMode::Plain {
            command
                .arg("--tls-cert")
                .arg(require("CLOUDHP_TEST_TLS_CERT"))
                .arg("--tls-key")
                .arg(require("CLOUDHP_TEST_TLS_KEY"));
        }
        if let Some((user, password)) = &self.credentials {
            command
                .arg("--user")
                .arg(user)
                .arg("--password")
                .arg(password);
        }
        for refusal in &self.refusals {
            command.arg("--refuse").arg(refusal);
        }
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the test SMTP server {script}: {e}"));
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the SMTP server says where it listens");
        if line.is_empty() {
            // It exited before listening.
            let _ = child.wait();
            return None;
        }
        let port = line
            .trim()
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line of the SMTP server: {line:?}"));
        Some((child, port))
    }
}

/// A NATS server with JetStream of one test, on a free port, storing in a temp dir. Killed
/// when dropped.
pub struct NatsServer {
    process: ServerProcess,
    /// The port of its first start, kept on a restart.
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl NatsServer {
    /// Starts a server on a port of its own choosing (it binds port 0 and logs which).
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let storage = dir.path().to_owned();
        let process = ServerProcess::start(
            "nats-server",
            Box::new(move |port| nats_try_spawn(&storage, port)),
        );
        Self {
            port: process.port,
            process,
            _dir: dir,
        }
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    pub fn stop(&mut self) {
        self.process.stop();
    }

    /// Starts it again on the same port with the same storage (streams survive).
    pub fn restart(&mut self) {
        self.process.restart();
    }
}

/// One start of a NATS server storing in `storage`, on `port` (0: one of its own choosing);
/// `None` when it exits without listening. Ready when it logs the address it accepts clients
/// on, then that it is ready (a connection test could reach another program holding the
/// port).
fn nats_try_spawn(storage: &std::path::Path, port: u16) -> Option<(std::process::Child, u16)> {
    let binary = require("CLOUDHP_TEST_NATS_SERVER");
    // -1: a random free port, chosen by the server itself.
    let port = if port == 0 {
        "-1".to_owned()
    } else {
        port.to_string()
    };
    let mut command = std::process::Command::new(&binary);
    command
        .args(["-js", "-a", "127.0.0.1", "-p", &port, "-sd"])
        .arg(storage);
    spawn_listening(
        &binary,
        &mut command,
        Output::Stderr,
        |line| {
            let (_, addr) = line.split_once("Listening for client connections on ")?;
            addr.trim().rsplit(':').next()?.parse::<u16>().ok()
        },
        Some("Server is ready"),
    )
}

/// The output where a test server logs where it listens.
enum Output {
    Stdout,
    Stderr,
}

/// Starts the server `command` (the program `binary`) with its `output` piped, the other
/// discarded. Reads that output until `port_of` finds in a line the port it listens on and,
/// given `ready`, until a line says it; then keeps reading it in the background, or the server
/// would block once the pipe is full. The child and its port; `None` (the child killed) when
/// the output ends first: it exited without listening.
fn spawn_listening(
    binary: &str,
    command: &mut std::process::Command,
    output: Output,
    port_of: impl Fn(&str) -> Option<u16>,
    ready: Option<&str>,
) -> Option<(std::process::Child, u16)> {
    use std::io::BufRead;
    let (stdout, stderr) = match output {
        Output::Stdout => (std::process::Stdio::piped(), std::process::Stdio::null()),
        Output::Stderr => (std::process::Stdio::null(), std::process::Stdio::piped()),
    };
    let mut child = command
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {binary}: {e}; run `{SCRIPT}`"));
    let piped: Box<dyn std::io::Read + Send> = match output {
        Output::Stdout => Box::new(child.stdout.take().expect("stdout")),
        Output::Stderr => Box::new(child.stderr.take().expect("stderr")),
    };
    let mut lines = std::io::BufReader::new(piped).lines();
    let port = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|line| port_of(&line));
    let ready = port.is_some()
        && ready.is_none_or(|ready| {
            lines
                .by_ref()
                .map_while(Result::ok)
                .any(|line| line.contains(ready))
        });
    let (Some(port), true) = (port, ready) else {
        kill(&mut Some(child));
        return None;
    };
    std::thread::spawn(move || lines.for_each(drop));
    Some((child, port))
}

/// One start of a test server on a port (0: a free one): the child and the port it listens
/// on, or `None` when it exited without listening.
type Launch = Box<dyn Fn(u16) -> Option<(std::process::Child, u16)> + Send + Sync>;

/// The process of a test server: started on a free port the first time (it binds port 0 and
/// says which), on the same port on a restart; killed when dropped.
struct ServerProcess {
    what: &'static str,
    launch: Launch,
    child: Option<std::process::Child>,
    /// 0 until the first start has bound a port.
    port: u16,
}

impl ServerProcess {
    fn start(what: &'static str, launch: Launch) -> Self {
        let mut process = Self {
            what,
            launch,
            child: None,
            port: 0,
        };
        process.spawn();
        process
    }

    fn spawn(&mut self) {
        let port = self.port;
        let mut child = None;
        self.port = start_on(port, self.what, || {
            let (started, port) = (self.launch)(port)?;
            child = Some(started);
            Some(port)
        });
        self.child = child;
    }

    fn stop(&mut self) {
        kill(&mut self.child);
    }

    fn restart(&mut self) {
        self.stop();
        self.spawn();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts a test server with `try_spawn` (the port it listens on, or `None` when it exited
/// without listening) on `port`, 0 for a free one. On a given port (a restart), where the port
/// just released may be taken for a moment by an outgoing connection that happened to get it,
/// it tries again, a bounded number of times; on port 0 nothing can be in the way.
fn start_on(port: u16, what: &str, mut try_spawn: impl FnMut() -> Option<u16>) -> u16 {
    let tries = if port == 0 { 1 } else { BIND_TRIES };
    for _ in 0..tries {
        if let Some(port) = try_spawn() {
            return port;
        }
        std::thread::sleep(BIND_PAUSE);
    }
    panic!(
        "{what} exited without listening on port {port} ({tries} tries); `{SCRIPT}` installs \
         what it needs"
    );
}

/// Kills a child process of a test server and reaps it.
fn kill(child: &mut Option<std::process::Child>) {
    if let Some(mut child) = child.take() {
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// How many times a test server is started again on its port before the test gives up, and
/// the pause between two tries: a bound by count (the port a killed server released is taken
/// only for a moment, by an outgoing connection that happened to get it).
const BIND_TRIES: u32 = 50;
const BIND_PAUSE: std::time::Duration = std::time::Duration::from_millis(100);

/// A loopback port where nothing listens, reserved for as long as this lives: connections to
/// it are refused, and no other program can take it meanwhile (a port merely "free a moment
/// ago" can be).
pub struct ClosedPort {
    _socket: tokio::net::TcpSocket,
    pub port: u16,
}

impl ClosedPort {
    pub fn new() -> Self {
        let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
        socket
            .bind(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
            .expect("bind a loopback port");
        let port = socket.local_addr().expect("its address").port();
        Self {
            _socket: socket,
            port,
        }
    }
}

impl Default for ClosedPort {
    fn default() -> Self {
        Self::new()
    }
}

/// A fresh database on the test MariaDB, dropped at the end of the test.
pub struct MysqlDatabase {
    pub name: String,
    /// `host:port` of the server.
    pub host: String,
    admin_url: String,
}

impl MysqlDatabase {
    pub async fn create(prefix: &str) -> Self {
        let admin_url = require("CLOUDHP_TEST_MYSQL_URL")
            .trim_end_matches('/')
            .to_owned();
        let parsed = url::Url::parse(&admin_url).expect("CLOUDHP_TEST_MYSQL_URL is a URL");
        let host = format!(
            "{}:{}",
            parsed.host_str().unwrap_or("127.0.0.1"),
            parsed.port().unwrap_or(3306)
        );
        let name = unique(prefix);
        let db = Self {
            name,
            host,
            admin_url,
        };
        let admin = db.admin().await;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE `{}` CHARACTER SET utf8mb4",
            db.name
        )))
        .execute(&admin)
        .await
        .unwrap();
        admin.close().await;
        db
    }

    /// A pool on the server, as the administrator, without a database.
    pub async fn admin(&self) -> sqlx::MySqlPool {
        sqlx::MySqlPool::connect(&self.admin_url)
            .await
            .unwrap_or_else(|e| panic!("cannot reach the test MariaDB ({e}); run `{}`", SCRIPT))
    }

    /// A pool on this database, as the administrator.
    pub async fn pool(&self) -> sqlx::MySqlPool {
        sqlx::MySqlPool::connect(&self.url()).await.unwrap()
    }

    /// The administrator's URL of this database.
    pub fn url(&self) -> String {
        format!("{}/{}", self.admin_url, self.name)
    }
}

impl Drop for MysqlDatabase {
    fn drop(&mut self) {
        let (url, name) = (self.admin_url.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(pool) = sqlx::MySqlPool::connect(&url).await {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS `{name}`"
                    )))
                    .execute(&pool)
                    .await;
                }
            });
        })
        .join();
    }
}

/// A ChromeDriver (Debian's `chromium-driver`) of one test, on a port of its own choosing,
/// driving Debian's headless `chromium`.
pub struct ChromeDriver {
    child: Option<std::process::Child>,
    pub port: u16,
}

impl ChromeDriver {
    pub fn start() -> Self {
        let binary = require("CLOUDHP_TEST_CHROMEDRIVER");
        let mut command = std::process::Command::new(&binary);
        // 0: a free port, chosen by the driver, which prints it.
        command.args(["--port=0", "--allowed-ips=127.0.0.1"]);
        let started = spawn_listening(
            &binary,
            &mut command,
            Output::Stdout,
            |line| {
                let (_, rest) = line.split_once("started successfully on port ")?;
                rest.trim().trim_end_matches('.').parse::<u16>().ok()
            },
            None,
        );
        let Some((child, port)) = started else {
            panic!("{binary} exited without listening");
        };
        Self {
            child: Some(child),
            port,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The browser the driver starts (`CLOUDHP_TEST_CHROMIUM`, Debian's `/usr/bin/chromium`).
    pub fn browser() -> String {
        require("CLOUDHP_TEST_CHROMIUM")
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        kill(&mut self.child);
    }
}
