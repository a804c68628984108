//! A steady mix for a long time: page reads at a fixed rate and plays of fresh customers (each
//! reloading its page until the result), while RSS and CPU of the server are sampled.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{Mutex, Semaphore};

use crate::burst;
use crate::common::{self, Answers, Ids, Latency, Target, shows_na};
use crate::sample::{self, Sampler};

/// The `soak` subcommand's flags.
#[derive(Clone, Debug, clap::Args)]
pub struct Options {
    /// How long the mix runs.
    #[arg(long, default_value = "10m", value_parser = common::duration)]
    pub duration: Duration,
    /// Server processes to sample, PID[,PID..].
    #[arg(
        long = "pid",
        value_name = "PID",
        value_delimiter = ',',
        required = true
    )]
    pub pids: Vec<u32>,
    /// How often RSS and CPU are read.
    #[arg(long, default_value = "5s", value_parser = common::duration)]
    pub every: Duration,
    /// Pages read per second (customers of --ids).
    #[arg(long, default_value_t = 200.0)]
    pub pages_per_s: f64,
    /// Customers whose pages are read.
    #[arg(long = "ids", value_name = "IDS", default_value = "1-1000")]
    pub page_ids: Ids,
    /// Plays per second, of the customers of --fresh in turn (none of them may have played).
    #[arg(long, default_value_t = 5.0)]
    pub plays_per_s: f64,
    /// Customers who have not played, pressed one after the other.
    #[arg(long)]
    pub fresh: Ids,
    /// How often a playing customer's page reloads (the server's web.refresh).
    #[arg(long, default_value = "2s", value_parser = common::duration)]
    pub refresh: Duration,
    /// A request without an answer this long has hung.
    #[arg(long, default_value = "10s", value_parser = common::duration)]
    pub hang: Duration,
    /// CSV file of the samples.
    #[arg(long, default_value = "soak.csv")]
    pub out: Option<PathBuf>,
}

pub struct Outcome {
    pub pages: Answers,
    pub page_latency: Latency,
    pub na_pages: u64,
    /// Page reads not sent because too many were still waiting (the server fell behind).
    pub pages_skipped: u64,
    pub draws: burst::Outcome,
    pub samples: Vec<sample::Sample>,
    pub elapsed: Duration,
}

impl Outcome {
    /// RSS of all sampled processes together (MB): first, min, max, last reading.
    pub fn rss(&self) -> (f64, f64, f64, f64) {
        let mut by_time: std::collections::BTreeMap<u64, f64> = Default::default();
        for s in &self.samples {
            *by_time.entry((s.t * 1000.0) as u64).or_default() += s.rss_kb as f64 / 1024.0;
        }
        let v: Vec<f64> = by_time.into_values().collect();
        if v.is_empty() {
            return (0.0, 0.0, 0.0, 0.0);
        }
        (
            v[0],
            v.iter().copied().fold(f64::MAX, f64::min),
            v.iter().copied().fold(0.0, f64::max),
            v[v.len() - 1],
        )
    }

    pub fn print(&self, name: &str) {
        let secs = self.elapsed.as_secs_f64();
        println!(
            "{name}: {:.0} s | pages {} ({:.1}/s), latency ms: {} | N/A pages {} | skipped (server behind) {}",
            secs,
            self.pages,
            self.pages.get("200") as f64 / secs.max(1e-9),
            self.page_latency.line(),
            self.na_pages,
            self.pages_skipped
        );
        self.draws.print(name);
        let (first, min, max, last) = self.rss();
        println!(
            "{name}: RSS MB (all sampled processes): first {first:.1}, min {min:.1}, max {max:.1}, last {last:.1}"
        );
        print!("{}", sample::summary(&self.samples));
        println!("{name}: the curve:");
        print!("{}", sample::curve(&self.samples, (secs / 20.0).max(1.0)));
    }
}

pub async fn run(target: &Target, o: &Options) -> anyhow::Result<Outcome> {
    let sampler = Sampler::start(o.pids.clone(), o.every);
    let started = Instant::now();
    let end = tokio::time::Instant::now() + o.duration;
    let pages = Arc::new(Mutex::new((Answers::default(), Latency::default(), 0u64)));
    let draws = Arc::new(Mutex::new(burst::Outcome::empty(0)));
    let skipped = Arc::new(AtomicU64::new(0));
    // At most this many page reads waiting at once; past it a tick is skipped and counted.
    let in_flight = Arc::new(Semaphore::new(512));

    let page_loop = {
        let (target, o, pages, skipped, in_flight) = (
            target.clone(),
            o.clone(),
            pages.clone(),
            skipped.clone(),
            in_flight.clone(),
        );
        tokio::spawn(async move {
            if o.pages_per_s <= 0.0 {
                return;
            }
            let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / o.pages_per_s));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let mut i = 0u64;
            while tokio::time::Instant::now() < end {
                tick.tick().await;
                i += 1;
                let Ok(permit) = in_flight.clone().try_acquire_owned() else {
                    skipped.fetch_add(1, Ordering::Relaxed);
                    continue;
                };
                let (target, pages, n) = (target.clone(), pages.clone(), o.page_ids.spread(i));
                let hang = o.hang;
                tokio::spawn(async move {
                    let _permit = permit;
                    let t = Instant::now();
                    let got = async {
                        let r = target
                            .http
                            .get(target.page_url(n))
                            .timeout(hang)
                            .send()
                            .await?;
                        let status = r.status().as_u16();
                        let body = r.bytes().await?;
                        Ok::<_, reqwest::Error>((status, shows_na(&body)))
                    }
                    .await;
                    let mut p = pages.lock().await;
                    match got {
                        Ok((status, na)) => {
                            p.0.status(status);
                            if status == 200 {
                                p.1.record(t.elapsed());
                                p.2 += u64::from(na);
                            }
                        }
                        Err(e) => p.0.failure(&e),
                    }
                });
            }
        })
    };

    let play_loop = {
        let (target, o, draws) = (target.clone(), o.clone(), draws.clone());
        tokio::spawn(async move {
            if o.plays_per_s <= 0.0 {
                return Vec::new();
            }
            let opts = burst::Options {
                customers: o.fresh,
                refresh: o.refresh,
                via: burst::Via::Page,
                give_up: Duration::from_secs(120),
                hang: o.hang,
                sample_pids: Vec::new(),
                after: None,
                tempo: None,
                quiet: true,
            };
            let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / o.plays_per_s));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let mut next = o.fresh.first;
            let mut tasks = Vec::new();
            while tokio::time::Instant::now() < end {
                tick.tick().await;
                if next > o.fresh.last {
                    eprintln!(
                        "soak: the fresh customers {} are used up; no more plays",
                        o.fresh
                    );
                    break;
                }
                let (target, opts, draws) = (target.clone(), opts.clone(), draws.clone());
                let n = next;
                next += 1;
                tasks.push(tokio::spawn(async move {
                    let c = burst::customer(target, opts, n, tokio::time::Instant::now()).await;
                    let mut d = draws.lock().await;
                    d.n += 1;
                    d.tally(c);
                }));
            }
            tasks
        })
    };

    let _ = page_loop.await;
    let plays = play_loop.await.unwrap_or_default();
    // The draws started last still end (within their give-up time); page reads in flight too.
    for p in plays {
        let _ = p.await;
    }
    let _ = in_flight.acquire_many(512).await;
    let elapsed = started.elapsed();
    let samples = sampler.stop().await;
    if let Some(path) = &o.out {
        sample::write_csv(path, &samples)?;
        println!(
            "soak: wrote {} readings to {}",
            samples.len(),
            path.display()
        );
    }
    let (answers, latency, na) = std::mem::take(&mut *pages.lock().await);
    let draws = std::mem::replace(&mut *draws.lock().await, burst::Outcome::empty(0));
    Ok(Outcome {
        pages: answers,
        page_latency: latency,
        na_pages: na,
        pages_skipped: skipped.load(Ordering::Relaxed),
        draws,
        samples,
        elapsed,
    })
}
