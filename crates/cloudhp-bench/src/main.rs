//! Measures a running CloudHP from outside, over HTTP, as its customers would load it; or
//! starts it itself and runs the whole suite (`suite`).
//!
//! ```text
//! B="cloudhp-bench --base http://127.0.0.1:18181 --data-dir ./cloudhp-data"
//! $B pages --users 100 --duration 10s --ids 300-1000
//! $B wrk --ids 300-1000                      # pages and /healthz with wrk, in the same run
//! $B burst --customers 2001-4000 --refresh 2s --sample-pid $(pgrep -n cloudhp)
//! $B plays --customers 100-119
//! $B overload --connections 10000 --what pages --ops http://127.0.0.1:18182
//! $B soak --duration 10m --pid PID --fresh 20001-30000
//! cloudhp-bench sample --pid PID --every 1s --out rss.csv
//! cloudhp-bench suite --binary target/release/cloudhp --quick
//! ```
//!
//! Personal links are signed with the key of the data dir (`link.key`), as `cloudhp link` does.
//! A deployment behind HAProxy: `--base https://localhost --data-dir DIR_WITH_ITS_LINK_KEY
//! --ca-file ITS_CERTIFICATE.pem`.

mod burst;
mod common;
mod overload;
mod pages;
mod sample;
mod soak;
mod suite;
mod wrk;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::bail;
use clap::{Parser, Subcommand};

use common::{Ids, Target, duration};

#[derive(Parser)]
#[command(about = "Measure page and draw latencies of a running CloudHP, or run the whole suite")]
struct Args {
    /// Base URL of the web role.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    base: String,
    /// Data dir holding the link key (link.key) of the campaign.
    #[arg(long, default_value = "./cloudhp-data")]
    data_dir: PathBuf,
    /// A PEM certificate to trust besides the system's (a deployment's self-signed one).
    #[arg(long, value_name = "PEM")]
    ca_file: Option<PathBuf>,
    #[command(subcommand)]
    what: What,
}

#[derive(Subcommand)]
enum What {
    /// Customer pages under concurrent users: throughput, latency, answers by status, pages
    /// showing an "N/A" panel.
    Pages(pages::Options),
    /// Pages with wrk (https://github.com/wg/wrk): a Lua script rotating over the signed
    /// pages of --ids, and the server's bare /healthz in the same run (the ceiling).
    Wrk {
        /// Customer ids whose pages are requested, as FIRST-LAST.
        #[arg(long, default_value = "1-1000")]
        ids: Ids,
        #[arg(long, default_value_t = 2)]
        threads: u32,
        #[arg(long, default_value_t = 100)]
        connections: u32,
        #[arg(long, default_value = "10s", value_parser = duration)]
        duration: Duration,
        /// Skip the /healthz ceiling.
        #[arg(long)]
        no_healthz: bool,
    },
    /// Plays of distinct customers, all pressed at once (API), polled every 50 ms: time until
    /// each one has a result.
    Plays {
        /// Customer ids that have not played yet, as FIRST-LAST.
        #[arg(long)]
        customers: Ids,
    },
    /// A burst: every customer presses Play at the same moment, then reloads as the page does
    /// (every --refresh) until it shows the result.
    Burst(burst::Options),
    /// RSS (VmRSS) and CPU (utime + stime, % of one core) of processes, from /proc.
    Sample {
        /// PID[,PID..]
        #[arg(long, value_delimiter = ',', required = true)]
        pid: Vec<u32>,
        #[arg(long, default_value = "1s", value_parser = duration)]
        every: Duration,
        /// Stop after this long (else at Ctrl-C).
        #[arg(long, value_parser = duration)]
        duration: Option<Duration>,
        /// CSV file of the readings (t_s,pid,name,rss_kb,cpu_pct,cpu_s).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// A long steady mix: pages at a rate and plays of fresh customers at a rate, RSS and CPU
    /// of --pid sampled; prints RSS first, min, max, last and the curve.
    Soak(soak::Options),
    /// Far more requests at once than the server admits (each on its own connection): 503s,
    /// their Retry-After, how fast they came, requests that hung.
    Overload(overload::Options),
    /// Start `cloudhp` in fresh data dirs and run the scenarios: prints and writes the table
    /// (median and min–max of the runs; a column per --binary).
    Suite(suite::Args),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let target = || -> anyhow::Result<Target> {
        let base = args.base.trim_end_matches('/');
        let http = common::client(args.ca_file.as_deref(), Duration::from_secs(120))?;
        Ok(Target::new(
            http,
            base,
            common::links(&args.data_dir, base)?,
        ))
    };
    match args.what {
        What::Pages(o) => {
            let got = pages::run(&target()?, &o).await;
            got.print("pages");
            if got.answers.except(&["200"]) > 0 {
                println!("errors: {}", got.answers.except(&["200"]));
            }
        }
        What::Wrk {
            ids,
            threads,
            connections,
            duration,
            no_healthz,
        } => {
            let target = target()?;
            let o = wrk::Options {
                threads,
                connections,
                duration,
            };
            let healthz = if no_healthz {
                None
            } else {
                let h = wrk::run(&target, None, "/healthz", &o).await?;
                h.print("/healthz");
                Some(h)
            };
            let got = wrk::run(&target, Some(ids), "/index.html", &o).await?;
            got.print(&format!("pages {ids}"));
            if let Some(h) = healthz {
                println!(
                    "pages/healthz: {:.0} % (target ≥ 33 %), p99 {:.2} ms (target ≤ 10 ms)",
                    got.requests_per_s / h.requests_per_s.max(1e-9) * 100.0,
                    got.p99_ms
                );
            }
        }
        What::Plays { customers } => {
            let o = burst::Options {
                customers,
                refresh: Duration::from_millis(50),
                via: burst::Via::Api,
                give_up: Duration::from_secs(300),
                hang: Duration::from_secs(120),
                sample_pids: Vec::new(),
                after: None,
                tempo: None,
                quiet: true,
            };
            let got = burst::run(&target()?, &o).await;
            println!(
                "plays (press to won): {} in {:.2} s = {:.1}/s | latency ms: {}",
                got.latency.count(),
                got.last.as_secs_f64(),
                got.latency.count() as f64 / got.last.as_secs_f64().max(1e-9),
                got.latency.line()
            );
            let failed = got.refused + got.failed + got.stuck;
            if failed > 0 {
                println!("failed draws: {failed} (presses answered {})", got.presses);
            }
        }
        What::Burst(o) => {
            let got = burst::run(&target()?, &o).await;
            got.print("burst");
            if !got.all_ended_well() {
                bail!("not every customer got a result");
            }
        }
        What::Sample {
            pid,
            every,
            duration,
            out,
        } => sample::run(pid, every, duration, out.as_deref()).await?,
        What::Soak(o) => soak::run(&target()?, &o).await?.print("soak"),
        What::Overload(o) => {
            let got = overload::run(&target()?, &o).await;
            got.print("overload");
            if got.hung > 0 {
                bail!("{} requests hung", got.hung);
            }
        }
        What::Suite(args) => suite::run(args.options()?).await?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> What {
        Args::try_parse_from(args).expect("parses").what
    }

    /// Every list of process ids is read the same way: `1,22` or the flag again.
    #[test]
    fn process_ids_are_comma_separated() {
        let cases: [(&[&str], &[u32]); 4] = [
            (
                &["b", "burst", "--customers", "1-2", "--sample-pid", "1,22"],
                &[1, 22],
            ),
            (&["b", "burst", "--customers", "1-2"], &[]),
            (&["b", "sample", "--pid", "7", "--pid", "8"], &[7, 8]),
            (
                &[
                    "b", "soak", "--pid", "3,4", "--ids", "1-9", "--fresh", "10-20",
                ],
                &[3, 4],
            ),
        ];
        for (args, want) in cases {
            let got = match parse(args) {
                What::Burst(o) => o.sample_pids,
                What::Soak(o) => o.pids,
                What::Sample { pid, .. } => pid,
                _ => unreachable!("{args:?}"),
            };
            assert_eq!(got, want, "{args:?}");
        }
        assert!(Args::try_parse_from(["b", "sample", "--pid", "x"]).is_err());
        assert!(Args::try_parse_from(["b", "sample"]).is_err());
    }
}
