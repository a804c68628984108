//! The whole suite: starts `cloudhp` itself (one process, or every role its own process) in a
//! fresh data dir per run, runs the scenarios several times and prints the table of
//! docs/performance.md (median and min–max of the runs, one column per binary, so a before and
//! an after are measured in the same run).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::common::{self, Ids, Target};
use crate::{burst, overload, pages, sample, soak, wrk};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Scenario {
    /// /healthz and pages (not played, played) with wrk; N/A and status classes with the
    /// harness's own client.
    Pages,
    /// Bursts of presses (sizes of --bursts), with RSS idle, peak and --after the first one.
    Bursts,
    /// Far more connections at once than the server admits.
    Overload,
    /// Every role its own process on loopback: pages.
    Split,
    /// The lottery database on MariaDB/MySQL (--lottery-database): pages and the first burst.
    Mariadb,
    /// A long mix of pages and draws, RSS and CPU sampled (one per binary, not per run).
    Soak,
}

/// The options of `cloudhp-bench suite`, as given on the command line.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The server binary, `PATH` or `LABEL=PATH` (repeat to compare, e.g. before=… after=…).
    #[arg(long, required = true)]
    pub binary: Vec<String>,
    /// Runs of each scenario (the soak runs once).
    #[arg(long)]
    pub runs: Option<u32>,
    /// Scenarios, comma-separated [default: pages,bursts,overload,split,soak; mariadb
    /// too with --lottery-database].
    #[arg(long, value_enum, value_delimiter = ',')]
    pub scenarios: Vec<Scenario>,
    /// A version in about 2 minutes: one run, 3 s of wrk, bursts of 200 and 500, RSS 10 s
    /// after, 30 s of soak, tempo 2 s. Flags given override.
    #[arg(long)]
    pub quick: bool,
    /// W's tempo, seconds [default: 5].
    #[arg(long)]
    pub tempo: Option<f64>,
    /// First port of the servers (public, ops; split: one per role after them). 0: free
    /// ports.
    #[arg(long, default_value_t = 18400)]
    pub port: u16,
    #[arg(long, value_parser = common::duration)]
    pub wrk_duration: Option<Duration>,
    #[arg(long, default_value_t = 2)]
    pub wrk_threads: u32,
    #[arg(long, default_value_t = 100)]
    pub wrk_connections: u32,
    /// Burst sizes, comma-separated [default: 2000,5000].
    #[arg(long, value_delimiter = ',')]
    pub bursts: Vec<u32>,
    #[arg(long, default_value = "2s", value_parser = common::duration)]
    pub refresh: Duration,
    /// RSS is read again this long after the first burst [default: 60s].
    #[arg(long, value_parser = common::duration)]
    pub after: Option<Duration>,
    /// Requests at once in the overload [default: 10000].
    #[arg(long)]
    pub overload_connections: Option<u32>,
    /// [default: 10m]
    #[arg(long, value_parser = common::duration)]
    pub soak: Option<Duration>,
    #[arg(long, default_value_t = 200.0)]
    pub soak_pages_per_s: f64,
    #[arg(long, default_value_t = 5.0)]
    pub soak_plays_per_s: f64,
    /// The lottery database of the mariadb scenario (an empty database:
    /// mysql://USER:PASSWORD@HOST:PORT/DB).
    #[arg(long)]
    pub lottery_database: Option<String>,
    /// More configuration for every server, KEY=VALUE (e.g. CLOUDHP_PLAY__MAX_DRAWS=2048).
    #[arg(long)]
    pub env: Vec<String>,
    /// Where suite.md, the soak's CSV and (with --keep) the servers' data dirs go.
    #[arg(long, default_value = "bench-results")]
    pub out_dir: PathBuf,
    /// Keep the servers' data dirs and logs.
    #[arg(long)]
    pub keep: bool,
}

impl Args {
    /// The suite these options ask for: `--quick`'s values or the full suite's where an option
    /// is not given.
    pub fn options(self) -> anyhow::Result<Options> {
        let binaries = self
            .binary
            .iter()
            .map(|b| match b.split_once('=') {
                Some((label, path)) => (label.to_owned(), PathBuf::from(path)),
                None => ("cloudhp".to_owned(), PathBuf::from(b)),
            })
            .collect::<Vec<_>>();
        let mut labels: Vec<&str> = binaries.iter().map(|(l, _)| l.as_str()).collect();
        labels.sort_unstable();
        labels.dedup();
        if labels.len() != binaries.len() {
            bail!("give each --binary its own label: LABEL=PATH");
        }
        let env = self
            .env
            .iter()
            .map(|kv| {
                kv.split_once('=')
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .with_context(|| format!("--env {kv}: expected KEY=VALUE"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let mut scenarios = self.scenarios;
        if scenarios.is_empty() {
            use Scenario::*;
            scenarios = vec![Pages, Bursts, Overload, Split, Soak];
            if self.lottery_database.is_some() {
                scenarios.push(Mariadb);
            }
        }
        // The quick version's value, or the full suite's.
        macro_rules! pick {
            ($quick:expr, $full:expr) => {
                if self.quick { $quick } else { $full }
            };
        }
        Ok(Options {
            binaries,
            runs: self.runs.unwrap_or(pick!(1, 3)),
            scenarios,
            tempo: self.tempo.unwrap_or(pick!(2.0, 5.0)),
            port: self.port,
            wrk: wrk::Options {
                threads: self.wrk_threads,
                connections: self.wrk_connections,
                duration: self
                    .wrk_duration
                    .unwrap_or(Duration::from_secs(pick!(3, 10))),
            },
            played: pick!(200, 500),
            unplayed: 1000,
            bursts: if self.bursts.is_empty() {
                pick!(vec![200, 500], vec![2000, 5000])
            } else {
                self.bursts
            },
            refresh: self.refresh,
            after: self.after.unwrap_or(Duration::from_secs(pick!(10, 60))),
            overload_connections: self.overload_connections.unwrap_or(10_000),
            soak: self.soak.unwrap_or(Duration::from_secs(pick!(30, 600))),
            soak_pages_per_s: self.soak_pages_per_s,
            soak_plays_per_s: self.soak_plays_per_s,
            lottery_database: self.lottery_database,
            env,
            out_dir: self.out_dir,
            keep: self.keep,
        })
    }
}

#[derive(Clone, Debug)]
pub struct Options {
    /// (column label, binary).
    pub binaries: Vec<(String, PathBuf)>,
    pub runs: u32,
    pub scenarios: Vec<Scenario>,
    pub tempo: f64,
    /// First port of the servers started (public, ops, then one per role for split).
    pub port: u16,
    pub wrk: wrk::Options,
    /// Customers who have played before the page figures (their pages show a prize).
    pub played: u32,
    /// Customers who have not played, whose pages are read.
    pub unplayed: u32,
    pub bursts: Vec<u32>,
    pub refresh: Duration,
    pub after: Duration,
    pub overload_connections: u32,
    pub soak: Duration,
    pub soak_pages_per_s: f64,
    pub soak_plays_per_s: f64,
    pub lottery_database: Option<String>,
    /// More environment for every server (`KEY=VALUE`).
    pub env: Vec<(String, String)>,
    /// Where the table (markdown), the soak's CSV and the servers' logs are written.
    pub out_dir: PathBuf,
    pub keep: bool,
}

/// Customer ids of one run: the played ones, the ones never pressed, one fresh range per
/// burst, the soak's fresh ones.
struct Plan {
    played: Ids,
    unplayed: Ids,
    bursts: Vec<Ids>,
    soak: Ids,
}

impl Plan {
    fn new(o: &Options, base: u32) -> Self {
        let mut next = base + 1;
        let mut take = |n: u32| {
            let ids = Ids::new(next, next + n.max(1) - 1);
            next += n.max(1);
            ids
        };
        let played = take(o.played);
        let unplayed = take(o.unplayed);
        let bursts = o.bursts.iter().map(|&n| take(n)).collect();
        let soak = take((o.soak.as_secs_f64() * o.soak_plays_per_s).ceil() as u32 + 10);
        Self {
            played,
            unplayed,
            bursts,
            soak,
        }
    }

    fn end(&self) -> u32 {
        self.soak.last
    }
}

/// The processes of one server under test; killed when dropped.
struct Server {
    procs: Vec<(String, Child)>,
    base: String,
    ops: String,
    data_dir: PathBuf,
}

impl Server {
    fn pids(&self) -> Vec<u32> {
        self.procs.iter().map(|(_, c)| c.id()).collect()
    }

    /// `cloudhp ARGS` in `data_dir`, its output in `log`; waits for the line it prints once
    /// its listeners are bound: `listening public=http://ADDR ops=http://ADDR`.
    async fn spawn(
        binary: &Path,
        args: &[String],
        env: &[(String, String)],
        log: &Path,
    ) -> anyhow::Result<(Child, String, String)> {
        let file = std::fs::File::create(log)
            .with_context(|| format!("cannot create {}", log.display()))?;
        let mut command = Command::new(binary);
        command
            .args(args)
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file);
        // Only the configuration given here: none from the shell that started the suite.
        for (k, _) in std::env::vars() {
            if k.starts_with("CLOUDHP_") {
                command.env_remove(k);
            }
        }
        command.envs(env.iter().map(|(k, v)| (k, v)));
        let mut child = command
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let started = Instant::now();
        loop {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            if let Some(line) = text.lines().find(|l| l.starts_with("listening public=")) {
                let mut public = String::new();
                let mut ops = String::new();
                for word in line.split_whitespace() {
                    if let Some(v) = word.strip_prefix("public=") {
                        public = v.to_owned();
                    } else if let Some(v) = word.strip_prefix("ops=") {
                        ops = v.to_owned();
                    }
                }
                return Ok((child, public, ops));
            }
            if let Some(status) = child.try_wait()? {
                bail!(
                    "cloudhp {} exited ({status}) before listening:\n{}",
                    args.join(" "),
                    tail(&text)
                );
            }
            if started.elapsed() > Duration::from_secs(120) {
                let _ = child.kill();
                bail!(
                    "cloudhp {} did not listen within 120 s:\n{}",
                    args.join(" "),
                    tail(&text)
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn env(o: &Options, customers: u32, lottery: Option<&str>) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = vec![
            ("CLOUDHP_LIMITS__ENABLED".into(), "false".into()),
            ("CLOUDHP_WORKER__TEMPO".into(), o.tempo.to_string()),
            (
                "CLOUDHP_IDENTITY__DEMO_CUSTOMERS".into(),
                customers.to_string(),
            ),
            (
                "CLOUDHP_WEB__REFRESH".into(),
                format!("{}ms", o.refresh.as_millis()),
            ),
        ];
        if let Some(db) = lottery {
            env.push(("CLOUDHP_LOTTERY__DATABASE".into(), db.into()));
        }
        env.extend(o.env.iter().cloned());
        env
    }

    fn listen(port: u16) -> String {
        format!("127.0.0.1:{port}")
    }

    /// `cloudhp up`: every role in one process.
    async fn up(
        binary: &Path,
        o: &Options,
        data_dir: &Path,
        customers: u32,
        lottery: Option<&str>,
    ) -> anyhow::Result<Self> {
        std::fs::create_dir_all(data_dir)?;
        let mut env = Self::env(o, customers, lottery);
        let ops_port = if o.port == 0 { 0 } else { o.port + 1 };
        env.push(("CLOUDHP_SERVER__OPS_LISTEN".into(), Self::listen(ops_port)));
        let args = vec![
            "up".to_owned(),
            "--data-dir".into(),
            data_dir.display().to_string(),
            "--listen".into(),
            Self::listen(o.port),
        ];
        let (child, base, ops) = Self::spawn(binary, &args, &env, &data_dir.join("up.log")).await?;
        let server = Self {
            procs: vec![("up".into(), child)],
            base,
            ops,
            data_dir: data_dir.to_owned(),
        };
        server.ready().await?;
        Ok(server)
    }

    /// `cloudhp serve --role R` for each role, on loopback, with a role token.
    async fn split(
        binary: &Path,
        o: &Options,
        data_dir: &Path,
        customers: u32,
    ) -> anyhow::Result<Self> {
        std::fs::create_dir_all(data_dir)?;
        let mut env = Self::env(o, customers, None);
        env.push((
            "CLOUDHP_ROLES__TOKEN".into(),
            format!("bench-{}-{}", std::process::id(), customers),
        ));
        let mut procs = Vec::new();
        let (mut base, mut ops) = (String::new(), String::new());
        let roles = [
            ("worker", "CLOUDHP_PLAY__WORKER_URLS"),
            ("identity", "CLOUDHP_ROLES__IDENTITY_URL"),
            ("status", "CLOUDHP_ROLES__STATUS_URL"),
            ("picture", "CLOUDHP_ROLES__PICTURE_URL"),
            ("play", "CLOUDHP_ROLES__PLAY_URL"),
            ("notifier", ""),
            ("web", ""),
        ];
        for (i, (role, key)) in roles.iter().enumerate() {
            let port = if o.port == 0 {
                0
            } else {
                o.port + 2 + i as u16
            };
            let args = vec![
                "serve".to_owned(),
                "--role".into(),
                (*role).into(),
                "--data-dir".into(),
                data_dir.display().to_string(),
                "--listen".into(),
                Self::listen(port),
            ];
            let log = data_dir.join(format!("{role}.log"));
            let (child, public, role_ops) = match Self::spawn(binary, &args, &env, &log).await {
                Ok(started) => started,
                Err(e) => {
                    for (_, mut c) in procs {
                        let _ = Child::kill(&mut c);
                        let _ = c.wait();
                    }
                    return Err(e);
                }
            };
            procs.push(((*role).to_owned(), child));
            if !key.is_empty() {
                env.push(((*key).into(), public.clone()));
            }
            if *role == "web" {
                (base, ops) = (public, role_ops);
            }
        }
        let server = Self {
            procs,
            base,
            ops,
            data_dir: data_dir.to_owned(),
        };
        server.ready().await?;
        Ok(server)
    }

    /// Waits until `/readyz` of the operations listener says every dependency answers.
    async fn ready(&self) -> anyhow::Result<()> {
        let http = common::client(None, Duration::from_secs(5))?;
        let started = Instant::now();
        loop {
            if let Ok(r) = http.get(format!("{}/readyz", self.ops)).send().await
                && r.status().is_success()
            {
                return Ok(());
            }
            if started.elapsed() > Duration::from_secs(60) {
                bail!("{} not ready after 60 s", self.ops);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn target(&self) -> anyhow::Result<Target> {
        let http = common::client(None, Duration::from_secs(120))?;
        Ok(Target::new(
            http,
            &self.base,
            common::links(&self.data_dir, &self.base)?,
        ))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Web first, as an orderly stop would; SIGKILL: the data dir is thrown away anyway.
        for (_, child) in self.procs.iter_mut().rev() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// The figures of every run: (row, column) → values, rows in the order first recorded.
#[derive(Default)]
struct Figures {
    rows: Vec<(String, String, usize)>,
    values: BTreeMap<(String, String), Vec<f64>>,
}

impl Figures {
    /// Records `value` for `row` (with its target and decimals) in `column`.
    fn add(&mut self, row: &str, target: &str, decimals: usize, column: &str, value: f64) {
        if !self.rows.iter().any(|(r, _, _)| r == row) {
            self.rows.push((row.into(), target.into(), decimals));
        }
        self.values
            .entry((row.into(), column.into()))
            .or_default()
            .push(value);
    }

    fn cell(values: &[f64], decimals: usize) -> String {
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        let median = if v.len() % 2 == 1 {
            v[v.len() / 2]
        } else {
            (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
        };
        let f = |x: f64| format!("{x:.decimals$}");
        if v.len() == 1 || v[0] == v[v.len() - 1] {
            f(median)
        } else {
            format!("{} ({}–{})", f(median), f(v[0]), f(v[v.len() - 1]))
        }
    }

    fn table(&self, columns: &[String]) -> String {
        let mut out = String::from("| figure | target |");
        for c in columns {
            let _ = write!(out, " {c} |");
        }
        out.push_str("\n| --- | --- |");
        for _ in columns {
            out.push_str(" --- |");
        }
        out.push('\n');
        for (row, target, decimals) in &self.rows {
            let _ = write!(out, "| {row} | {target} |");
            for c in columns {
                let cell = self
                    .values
                    .get(&(row.clone(), c.clone()))
                    .map_or_else(|| "—".to_owned(), |v| Self::cell(v, *decimals));
                let _ = write!(out, " {cell} |");
            }
            out.push('\n');
        }
        out
    }
}

/// Plays `ids` and waits for their results (the "played" customers of the page figures).
async fn play_all(target: &Target, ids: Ids) -> anyhow::Result<()> {
    let o = burst::Options {
        customers: ids,
        refresh: Duration::from_millis(250),
        via: burst::Via::Api,
        give_up: Duration::from_secs(120),
        hang: Duration::from_secs(30),
        sample_pids: Vec::new(),
        after: None,
        tempo: None,
        quiet: true,
    };
    let done = burst::run(target, &o).await;
    let ended = done.won + done.no_prize;
    if ended != ids.len() {
        bail!(
            "preparing: only {ended} of the customers {ids} got a result (refused {}, failed {}, stuck {})",
            done.refused,
            done.failed,
            done.stuck
        );
    }
    Ok(())
}

struct Run<'a> {
    o: &'a Options,
    column: &'a str,
    figures: &'a mut Figures,
}

impl Run<'_> {
    fn add(&mut self, row: &str, target: &str, decimals: usize, value: f64) {
        self.figures.add(row, target, decimals, self.column, value);
    }

    /// /healthz, then pages of customers who have not played and who have, with wrk: the
    /// ceiling and the pages in the same run. `prefix` names the deployment.
    async fn pages(
        &mut self,
        server: &Server,
        plan: &Plan,
        prefix: &str,
        both: bool,
    ) -> anyhow::Result<()> {
        let target = server.target()?;
        let w = &self.o.wrk;
        let load = format!(
            "wrk -t{} -c{} -d{}s",
            w.threads,
            w.connections,
            w.duration.as_secs()
        );
        let healthz = wrk::run(&target, None, "/healthz", w).await?;
        healthz.print(&format!("{prefix}/healthz"));
        self.add(
            &format!("{prefix}/healthz, requests/s ({load})"),
            "the ceiling",
            0,
            healthz.requests_per_s,
        );
        let mut kinds = vec![("not played", plan.unplayed)];
        if both {
            kinds.push(("played", plan.played));
        }
        for (kind, ids) in kinds {
            let got = wrk::run(&target, Some(ids), "/index.html", w).await?;
            got.print(&format!("{prefix}pages, {kind}"));
            let share = got.requests_per_s / healthz.requests_per_s.max(1e-9) * 100.0;
            self.add(
                &format!("{prefix}pages, {kind}: pages/s"),
                "",
                0,
                got.requests_per_s,
            );
            self.add(
                &format!("{prefix}pages, {kind}: % of /healthz"),
                "≥ 33 %",
                0,
                share,
            );
            self.add(
                &format!("{prefix}pages, {kind}: p99 ms"),
                "≤ 10 ms",
                1,
                got.p99_ms,
            );
            self.add(
                &format!("{prefix}pages, {kind}: non-2xx + socket errors"),
                "0",
                0,
                (got.non_2xx + got.socket_errors) as f64,
            );
            // What wrk does not read: the panels. A short pass with the harness's client.
            let check = pages::run(
                &target,
                &pages::Options {
                    users: w.connections,
                    requests: 0,
                    duration: Some(Duration::from_secs(2)),
                    ids,
                    with_pictures: false,
                    timeout: Duration::from_secs(10),
                },
            )
            .await;
            check.print(&format!("{prefix}pages, {kind} (N/A check)"));
            self.add(
                &format!("{prefix}pages, {kind}: N/A panels or not 200 (per 1000 pages)"),
                "0",
                1,
                (check.na_pages + check.answers.except(&["200"])) as f64 * 1000.0
                    / check.answers.total().max(1) as f64,
            );
        }
        Ok(())
    }

    async fn burst(
        &mut self,
        server: &Server,
        ids: Ids,
        prefix: &str,
        memory: bool,
    ) -> anyhow::Result<()> {
        let target = server.target()?;
        let n = ids.len();
        let o = burst::Options {
            customers: ids,
            refresh: self.o.refresh,
            via: burst::Via::Page,
            give_up: Duration::from_secs(300),
            hang: Duration::from_secs(10),
            sample_pids: server.pids(),
            after: memory.then_some(self.o.after),
            tempo: Some(self.o.tempo),
            quiet: false,
        };
        let parts_before = common::metrics(&target.http, &server.ops).await;
        let got = burst::run(&target, &o).await;
        let parts_after = common::metrics(&target.http, &server.ops).await;
        let name = format!("{prefix}burst of {n}");
        got.print(&name);
        let bound = got.bound.unwrap_or(0.0);
        self.add(
            &format!("{name}: all results shown by the pages after s"),
            "",
            2,
            got.last.as_secs_f64(),
        );
        // The server's record of the last result (its `played_at`); a page shows it at its
        // next reload, up to `web.refresh` later. NaN (shown as such) when one was not read.
        self.add(
            &format!("{name}: all results recorded (played_at) after s"),
            "≤ bound",
            2,
            got.last_recorded().map_or(f64::NAN, |d| d.as_secs_f64()),
        );
        self.add(
            &format!("{name}: bound s (tempo + N × CPU/draw / cores + 1 s)"),
            "",
            2,
            bound,
        );
        self.add(
            &format!("{name}: server CPU ms per draw"),
            "",
            2,
            got.cpu_per_draw.unwrap_or(0.0) * 1000.0,
        );
        self.add(
            &format!("{name}: per customer p50 s"),
            "",
            2,
            got.latency.ms(0.5) / 1000.0,
        );
        self.add(
            &format!("{name}: per customer p99 s"),
            "",
            2,
            got.latency.ms(0.99) / 1000.0,
        );
        self.add(
            &format!("{name}: presses refused (incl. hung > 10 s)"),
            "0",
            0,
            got.presses_refused() as f64,
        );
        self.add(
            &format!("{name}: presses hung > 10 s"),
            "0",
            0,
            got.presses.get("timeout") as f64,
        );
        self.add(
            &format!("{name}: reloads refused"),
            "0",
            0,
            got.reloads_refused() as f64,
        );
        self.add(
            &format!("{name}: pages with N/A"),
            "0",
            0,
            got.na_pages as f64,
        );
        self.add(
            &format!("{name}: failed or stuck draws"),
            "0",
            0,
            f64::from(got.failed + got.stuck),
        );
        // Parts of a page (identity, status, picture, play) that their role did not answer in
        // time or at all, as the web role counts them: any page, the burst's or not, and
        // whether or not the harness read it; from before the presses to the burst's last
        // reading (its RSS `after` included). No row when `/metrics` could not be read.
        if let (Some(before), Some(after)) = (parts_before, parts_after) {
            let failures =
                |text: &str| common::metric_sum(text, "cloudhp_web_part_failures_total", &[]);
            self.add(
                &format!("{name}: page parts unavailable (/metrics)"),
                "0",
                0,
                failures(&after) - failures(&before),
            );
        }
        if memory {
            let after = self.o.after.as_secs();
            let burst = format!("the burst of {n}");
            for (row, mb) in [
                (format!("idle (before {burst})"), got.rss_idle_mb),
                (format!("at the peak of {burst}"), got.rss_peak_mb),
                (format!("{after} s after {burst}"), got.rss_after_mb),
            ] {
                self.add(&format!("{prefix}RSS MB {row}"), "", 1, mb.unwrap_or(0.0));
            }
        }
        Ok(())
    }

    async fn overload(&mut self, server: &Server, plan: &Plan) -> anyhow::Result<()> {
        let target = server.target()?;
        let o = overload::Options {
            connections: self.o.overload_connections,
            what: overload::What::Pages,
            ids: plan.unplayed,
            hang: Duration::from_secs(10),
            ops: Some(server.ops.clone()),
            probes: 100,
        };
        let got = overload::run(&target, &o).await;
        let name = format!("overload, {} page requests at once", o.connections);
        got.print(&name);
        self.add(
            &format!("{name}: answered 200 %"),
            "",
            1,
            got.answers.get("200") as f64 * 100.0 / f64::from(got.n.max(1)),
        );
        self.add(
            &format!("{name}: answered 503 %"),
            "",
            1,
            got.shed as f64 * 100.0 / f64::from(got.n.max(1)),
        );
        self.add(
            &format!("{name}: 503 without Retry-After"),
            "0",
            0,
            (got.shed - got.shed_with_retry_after) as f64,
        );
        self.add(
            &format!("{name}: 503 answered within p99 ms"),
            "",
            1,
            got.shed_latency.ms(0.99),
        );
        self.add(
            &format!("{name}: 200 answered within p99 ms"),
            "",
            1,
            got.served_latency.ms(0.99),
        );
        self.add(&format!("{name}: hung > 10 s"), "0", 0, got.hung as f64);
        // A client arriving while they are all held, one at a time: what shedding costs a
        // newcomer, without the thousands of connections opened at once around it.
        self.add(
            &format!("{name}: then a newcomer, answered 503 %"),
            "",
            1,
            got.probe_answers.get("503") as f64 * 100.0 / got.probe_latency.count().max(1) as f64,
        );
        self.add(
            &format!("{name}: then a newcomer, answered within p99 ms"),
            "milliseconds",
            1,
            got.probe_latency.ms(0.99),
        );
        self.add(
            &format!("{name}: connection errors"),
            "0",
            0,
            got.answers.get("error") as f64,
        );
        if let Some(counted) = got.counted {
            // The client may not see every refusal: an HTTP client may retry a request whose
            // connection was answered 503 and closed before the request was read.
            self.add(
                &format!("{name}: connections refused over the cap (/metrics)"),
                "",
                0,
                counted.connections,
            );
            self.add(
                &format!("{name}: requests answered 503 (/metrics)"),
                "",
                0,
                counted.answered_503,
            );
        }
        Ok(())
    }
}

fn today() -> String {
    Command::new("date")
        .args(["-u", "+%F %H:%M UTC"])
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

pub async fn run(o: Options) -> anyhow::Result<()> {
    if o.scenarios
        .iter()
        .any(|s| matches!(s, Scenario::Pages | Scenario::Split | Scenario::Mariadb))
    {
        wrk::check_installed()?;
    }
    if o.scenarios.contains(&Scenario::Mariadb) && o.lottery_database.is_none() {
        bail!(
            "the mariadb scenario needs --lottery-database mysql://USER:PASSWORD@HOST:PORT/DB (an empty database)"
        );
    }
    for (_, binary) in &o.binaries {
        if !binary.is_file() {
            bail!(
                "no binary {}: build it (cargo build --release -p cloudhp)",
                binary.display()
            );
        }
    }
    std::fs::create_dir_all(&o.out_dir)?;
    let work = o.out_dir.join(format!("servers-{}", std::process::id()));
    let columns: Vec<String> = o.binaries.iter().map(|(l, _)| l.clone()).collect();
    let mut figures = Figures::default();
    let has = |s: Scenario| o.scenarios.contains(&s);
    let plan = Plan::new(&o, 0);
    let customers = plan.end();
    let started = Instant::now();

    for run in 0..o.runs {
        // Binaries interleaved run by run: a drift of the machine touches every column alike.
        for (b, (column, binary)) in o.binaries.iter().enumerate() {
            println!(
                "\n=== run {} of {}: {column} ({}) ===",
                run + 1,
                o.runs,
                binary.display()
            );
            let mut r = Run {
                o: &o,
                column,
                figures: &mut figures,
            };
            if has(Scenario::Pages) || has(Scenario::Bursts) || has(Scenario::Overload) {
                let dir = work.join(format!("{column}-up-{run}"));
                let server = Server::up(binary, &o, &dir, customers, None).await?;
                let rss = sample::rss_total_mb(&server.pids());
                println!(
                    "cloudhp up: {} (ops {}), RSS {rss:.1} MB",
                    server.base, server.ops
                );
                r.add("RSS MB just after start (idle)", "", 1, rss);
                if has(Scenario::Pages) {
                    play_all(&server.target()?, plan.played).await?;
                    r.pages(&server, &plan, "", true).await?;
                }
                if has(Scenario::Bursts) {
                    for (i, ids) in plan.bursts.iter().enumerate() {
                        r.burst(&server, *ids, "", i == 0).await?;
                    }
                }
                if has(Scenario::Overload) {
                    r.overload(&server, &plan).await?;
                }
                drop(server);
            }
            if has(Scenario::Split) {
                let dir = work.join(format!("{column}-split-{run}"));
                let server = Server::split(binary, &o, &dir, plan.unplayed.last).await?;
                println!(
                    "every role its own process: web {} ({} processes)",
                    server.base,
                    server.procs.len()
                );
                r.pages(&server, &plan, "split: ", false).await?;
                drop(server);
            }
            if let (true, Some(db)) = (has(Scenario::Mariadb), &o.lottery_database) {
                // One database for every run: each run (and binary) its own customers.
                let slot = run * o.binaries.len() as u32 + b as u32;
                let span = customers;
                let db_plan = Plan::new(&o, slot * span);
                let all = (o.runs * o.binaries.len() as u32) * span;
                let dir = work.join(format!("{column}-mariadb-{run}"));
                let server = Server::up(binary, &o, &dir, all, Some(db)).await?;
                play_all(&server.target()?, db_plan.played).await?;
                r.pages(&server, &db_plan, "MariaDB: ", true).await?;
                if let Some(ids) = db_plan.bursts.first() {
                    r.burst(&server, *ids, "MariaDB: ", false).await?;
                }
                drop(server);
            }
        }
    }

    if has(Scenario::Soak) {
        for (column, binary) in &o.binaries {
            println!("\n=== soak: {column}, {:.0} s ===", o.soak.as_secs_f64());
            let dir = work.join(format!("{column}-soak"));
            let server = Server::up(binary, &o, &dir, customers, None).await?;
            let target = server.target()?;
            let csv = o.out_dir.join(format!("soak-{column}.csv"));
            let got = soak::run(
                &target,
                &soak::Options {
                    duration: o.soak,
                    pids: server.pids(),
                    every: Duration::from_secs_f64((o.soak.as_secs_f64() / 120.0).clamp(1.0, 10.0)),
                    pages_per_s: o.soak_pages_per_s,
                    page_ids: plan.unplayed,
                    plays_per_s: o.soak_plays_per_s,
                    fresh: plan.soak,
                    refresh: o.refresh,
                    hang: Duration::from_secs(10),
                    out: Some(csv),
                },
            )
            .await?;
            got.print("soak");
            let (first, min, max, last) = got.rss();
            let secs = o.soak.as_secs();
            let name = format!(
                "soak {}, {:.0} pages/s + {} plays/s",
                if secs >= 60 {
                    format!("{:.0} min", secs as f64 / 60.0)
                } else {
                    format!("{secs} s")
                },
                o.soak_pages_per_s,
                o.soak_plays_per_s
            );
            figures.add(&format!("{name}: RSS MB first"), "flat", 1, column, first);
            figures.add(&format!("{name}: RSS MB last"), "flat", 1, column, last);
            figures.add(&format!("{name}: RSS MB min"), "", 1, column, min);
            figures.add(&format!("{name}: RSS MB max"), "", 1, column, max);
            figures.add(
                &format!("{name}: pages not 200 + N/A"),
                "0",
                0,
                column,
                (got.pages.except(&["200"]) + got.na_pages) as f64,
            );
            figures.add(
                &format!("{name}: draws refused, failed or stuck"),
                "0",
                0,
                column,
                f64::from(got.draws.refused + got.draws.failed + got.draws.stuck),
            );
            drop(server);
        }
    }

    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    let mut doc = format!(
        "Measured {} by `cloudhp-bench suite` on {cores} cores (load generator on the same cores): \
         {} run(s) each, median (min–max); W tempo {} s, web.refresh {} ms, rate limits off, \
         {} s of wrk per figure.\n\n",
        today(),
        o.runs,
        o.tempo,
        o.refresh.as_millis(),
        o.wrk.duration.as_secs()
    );
    doc.push_str(&figures.table(&columns));
    println!("\n{doc}");
    let table = o.out_dir.join("suite.md");
    std::fs::write(&table, &doc).with_context(|| format!("cannot write {}", table.display()))?;
    println!(
        "wrote {} (in {:.0} s)",
        table.display(),
        started.elapsed().as_secs_f64()
    );
    if !o.keep {
        let _ = std::fs::remove_dir_all(&work);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The suite's command line as a user types it.
    fn args(line: &[&str]) -> Args {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            args: Args,
        }
        let line = std::iter::once("suite").chain(line.iter().copied());
        <Cli as clap::Parser>::try_parse_from(line).unwrap().args
    }

    #[test]
    fn quick_gives_its_values_where_an_option_is_not_given() {
        let quick = args(&["--binary", "b", "--quick", "--runs", "2"])
            .options()
            .unwrap();
        assert_eq!(
            quick.binaries,
            vec![("cloudhp".to_owned(), PathBuf::from("b"))]
        );
        assert_eq!(quick.runs, 2, "a flag given overrides --quick");
        assert_eq!(quick.bursts, vec![200, 500]);
        assert_eq!(quick.after, Duration::from_secs(10));
        let full = args(&["--binary", "b", "--lottery-database", "mysql://x/y"])
            .options()
            .unwrap();
        assert_eq!((full.runs, full.tempo), (3, 5.0));
        assert_eq!(full.bursts, vec![2000, 5000]);
        assert_eq!(full.scenarios.last(), Some(&Scenario::Mariadb));
    }

    #[test]
    fn binaries_need_labels_of_their_own_and_env_needs_key_and_value() {
        let same = args(&["--binary", "x=a", "--binary", "x=b"]).options();
        assert!(same.unwrap_err().to_string().contains("its own label"));
        let bad = args(&["--binary", "a", "--env", "NOVALUE"]).options();
        assert!(bad.unwrap_err().to_string().contains("expected KEY=VALUE"));
        let env = args(&["--binary", "a", "--env", "K=V=W"])
            .options()
            .unwrap()
            .env;
        assert_eq!(env, vec![("K".to_owned(), "V=W".to_owned())]);
    }

    #[test]
    fn cells_are_median_with_min_and_max() {
        assert_eq!(Figures::cell(&[3.0, 1.0, 2.0], 1), "2.0 (1.0–3.0)");
        assert_eq!(Figures::cell(&[4.0, 2.0], 0), "3 (2–4)");
        assert_eq!(Figures::cell(&[5.0], 2), "5.00");
        assert_eq!(Figures::cell(&[0.0, 0.0], 0), "0");
    }

    #[test]
    fn the_table_has_one_column_per_binary() {
        let mut f = Figures::default();
        f.add("pages/s", "", 0, "before", 100.0);
        f.add("pages/s", "", 0, "after", 200.0);
        f.add("p99 ms", "≤ 10 ms", 1, "after", 4.0);
        let t = f.table(&["before".into(), "after".into()]);
        assert!(t.contains("| pages/s |  | 100 | 200 |"), "{t}");
        assert!(t.contains("| p99 ms | ≤ 10 ms | — | 4.0 |"), "{t}");
    }
}
