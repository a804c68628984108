//! Measures a running CloudHP from outside, over HTTP, as its customers would load it.
//!
//! ```text
//! cloudhp-bench --base http://127.0.0.1:8080 --data-dir ./cloudhp-data pages --users 100 --requests 5000
//! cloudhp-bench --base http://127.0.0.1:8080 --data-dir ./cloudhp-data pages --played 1-50 ...
//! cloudhp-bench --base http://127.0.0.1:8080 --data-dir ./cloudhp-data plays --customers 100-119
//! ```
//!
//! Personal links are signed with the key of the data dir (`link.key`), as `cloudhp link` does.
//! A deployment behind HAProxy: `--base https://localhost --data-dir DIR_WITH_ITS_LINK_KEY
//! --ca-file ITS_CERTIFICATE.pem`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use cloudhp_core::CustomerId;
use cloudhp_links::Links;
use cloudhp_links::keys::{KEY_FILE, load_or_create};
use hdrhistogram::Histogram;

#[derive(Parser)]
#[command(about = "Measure page and draw latencies of a running CloudHP")]
struct Args {
    /// Base URL of the web role.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    base: String,
    /// Data dir holding the link key (link.key) of the campaign.
    #[arg(long, default_value = "./cloudhp-data")]
    data_dir: std::path::PathBuf,
    /// A PEM certificate to trust besides the system's (a deployment's self-signed one).
    #[arg(long, value_name = "PEM")]
    ca_file: Option<std::path::PathBuf>,
    #[command(subcommand)]
    what: What,
}

#[derive(Subcommand)]
enum What {
    /// Customer pages under concurrent users: throughput and latency.
    Pages {
        /// Concurrent users, each requesting pages one after the other.
        #[arg(long, default_value_t = 100)]
        users: u32,
        /// Pages requested in all.
        #[arg(long, default_value_t = 5000)]
        requests: u64,
        /// Customer ids to request, as FIRST-LAST.
        #[arg(long, default_value = "1-1000")]
        ids: String,
        /// Also fetch the prize picture of each page that shows one (as a browser would).
        #[arg(long)]
        with_pictures: bool,
    },
    /// Plays of distinct customers, all pressed at once: time until each one has won.
    Plays {
        /// Customer ids that have not played yet, as FIRST-LAST.
        #[arg(long)]
        customers: String,
    },
}

fn range(text: &str) -> anyhow::Result<(u32, u32)> {
    let (a, b) = text.split_once('-').context("expected FIRST-LAST")?;
    let (a, b): (u32, u32) = (a.parse()?, b.parse()?);
    if a == 0 || b < a {
        bail!("bad range {text}");
    }
    Ok((a, b))
}

fn report(name: &str, h: &Histogram<u64>, elapsed: Duration, count: u64, bytes: u64) {
    let ms = |v: u64| v as f64 / 1000.0;
    println!(
        "{name}: {count} in {:.2} s = {:.1}/s | latency ms: mean {:.2}, p50 {:.2}, p90 {:.2}, p99 {:.2}, max {:.2} | {:.1} KB per request",
        elapsed.as_secs_f64(),
        count as f64 / elapsed.as_secs_f64(),
        h.mean() / 1000.0,
        ms(h.value_at_quantile(0.5)),
        ms(h.value_at_quantile(0.9)),
        ms(h.value_at_quantile(0.99)),
        ms(h.max()),
        bytes as f64 / count.max(1) as f64 / 1024.0,
    );
}

async fn pages(
    http: reqwest::Client,
    base: &str,
    links: Arc<Links>,
    users: u32,
    requests: u64,
    ids: (u32, u32),
    with_pictures: bool,
) -> anyhow::Result<()> {
    let next = Arc::new(AtomicU64::new(0));
    let bytes = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..users)
        .map(|_| {
            let (http, links, next, bytes) =
                (http.clone(), links.clone(), next.clone(), bytes.clone());
            let base = base.to_owned();
            tokio::spawn(async move {
                let mut h = Histogram::<u64>::new(3).unwrap();
                let mut errors = 0u64;
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= requests {
                        return (h, errors);
                    }
                    let span = u64::from(ids.1 - ids.0 + 1);
                    let n = ids.0 + ((i * 7919) % span) as u32;
                    let id = CustomerId::new(n).unwrap();
                    let t = Instant::now();
                    let ok = async {
                        let r = http
                            .get(format!("{base}{}", links.page_path(id)))
                            .send()
                            .await?;
                        let status = r.status();
                        let body = r.bytes().await?;
                        let mut total = body.len() as u64;
                        if with_pictures && let Some(src) = picture_src(&body) {
                            let p = http.get(format!("{base}{src}")).send().await?;
                            total += p.bytes().await?.len() as u64;
                        }
                        bytes.fetch_add(total, Ordering::Relaxed);
                        Ok::<_, reqwest::Error>(status.is_success())
                    }
                    .await;
                    match ok {
                        Ok(true) => h.record(t.elapsed().as_micros() as u64).unwrap(),
                        _ => errors += 1,
                    }
                }
            })
        })
        .collect();
    let mut all = Histogram::<u64>::new(3).unwrap();
    let mut errors = 0;
    for task in tasks {
        let (h, e) = task.await?;
        all.add(&h).unwrap();
        errors += e;
    }
    let elapsed = started.elapsed();
    report(
        "pages",
        &all,
        elapsed,
        all.len(),
        bytes.load(Ordering::Relaxed),
    );
    if errors > 0 {
        println!("errors: {errors}");
    }
    Ok(())
}

/// The `src` of the prize picture in a page, if it shows one.
fn picture_src(html: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(html).ok()?;
    let start = text.find("<img src=\"")? + "<img src=\"".len();
    let end = text[start..].find('"')? + start;
    Some(text[start..end].replace("&#38;", "&"))
}

async fn plays(
    http: reqwest::Client,
    base: &str,
    links: Arc<Links>,
    customers: (u32, u32),
) -> anyhow::Result<()> {
    let started = Instant::now();
    let tasks: Vec<_> = (customers.0..=customers.1)
        .map(|n| {
            let (http, links) = (http.clone(), links.clone());
            let base = base.to_owned();
            tokio::spawn(async move {
                let id = CustomerId::new(n).unwrap();
                let t = links
                    .token(id)
                    .map(|t| format!("?t={t}"))
                    .unwrap_or_default();
                let t0 = Instant::now();
                let r = http
                    .post(format!("{base}/api/v1/players/{n}/play{t}"))
                    .send()
                    .await?;
                if r.status() != 202 {
                    bail!("customer {n}: play answered {}", r.status());
                }
                // Poll as the page does (it refreshes), but finer, to time the draw itself.
                loop {
                    let json: serde_json::Value = http
                        .get(format!("{base}/api/v1/players/{n}{t}"))
                        .send()
                        .await?
                        .json()
                        .await?;
                    match json["status"].as_str() {
                        // A draw's end, whatever the catalog made of it.
                        Some("won" | "no_prize") => return Ok(t0.elapsed()),
                        Some("not_played") if json["last_failure_at"].is_string() => {
                            bail!("customer {n}: the draw failed")
                        }
                        _ => tokio::time::sleep(Duration::from_millis(50)).await,
                    }
                }
            })
        })
        .collect();
    let mut h = Histogram::<u64>::new(3).unwrap();
    let mut failures = 0;
    for task in tasks {
        match task.await? {
            Ok(d) => h.record(d.as_micros() as u64).unwrap(),
            Err(e) => {
                failures += 1;
                eprintln!("{e:#}");
            }
        }
    }
    report("plays (press to won)", &h, started.elapsed(), h.len(), 0);
    if failures > 0 {
        println!("failed draws: {failures}");
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let base = args.base.trim_end_matches('/').to_owned();
    let key_file = args.data_dir.join(KEY_FILE);
    let links = if key_file.exists() {
        // The first key of the file signs, as in the web role.
        let keys = load_or_create(&key_file)?;
        Links::signed(&keys, &base)?
    } else {
        Links::open(&base)
    };
    let links = Arc::new(links);
    let mut http = reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .timeout(Duration::from_secs(120));
    if let Some(path) = &args.ca_file {
        let pem = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let cert = reqwest::Certificate::from_pem(&pem)
            .with_context(|| format!("{} is not a PEM certificate", path.display()))?;
        http = http.add_root_certificate(cert);
    }
    let http = http.build()?;
    match args.what {
        What::Pages {
            users,
            requests,
            ids,
            with_pictures,
        } => {
            pages(
                http,
                &base,
                links,
                users,
                requests,
                range(&ids)?,
                with_pictures,
            )
            .await
        }
        What::Plays { customers } => plays(http, &base, links, range(&customers)?).await,
    }
}
