//! Customer pages under concurrent users (closed loop: each user asks for the next page as
//! soon as the last one came).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::common::{self, Answers, Ids, Latency, Target, shows_na};

/// The `pages` subcommand's flags.
#[derive(Clone, Debug, clap::Args)]
pub struct Options {
    /// Concurrent users, each requesting pages one after the other.
    #[arg(long, default_value_t = 100)]
    pub users: u32,
    /// Pages requested in all (unless --duration).
    #[arg(long, default_value_t = 5000)]
    pub requests: u64,
    /// Request pages for this long instead (e.g. 10s).
    #[arg(long, value_parser = common::duration)]
    pub duration: Option<Duration>,
    /// Customer ids to request, as FIRST-LAST.
    #[arg(long, default_value = "1-1000")]
    pub ids: Ids,
    /// Also fetch the prize picture of each page that shows one (as a browser would).
    #[arg(long)]
    pub with_pictures: bool,
    /// A request without an answer after this counts as `timeout`.
    #[arg(long, default_value = "30s", value_parser = common::duration)]
    pub timeout: Duration,
}

#[derive(Default)]
pub struct Outcome {
    pub latency: Latency,
    pub answers: Answers,
    /// Pages (200) showing at least one "N/A" panel.
    pub na_pages: u64,
    pub bytes: u64,
    pub elapsed: Duration,
}

impl Outcome {
    /// Pages answered 200 per second.
    pub fn rate(&self) -> f64 {
        self.answers.get("200") as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    pub fn print(&self, name: &str) {
        let ok = self.answers.get("200");
        println!(
            "{name}: {ok} pages in {:.2} s = {:.1}/s | latency ms: {} | {:.1} KB per page",
            self.elapsed.as_secs_f64(),
            self.rate(),
            self.latency.line(),
            self.bytes as f64 / ok.max(1) as f64 / 1024.0,
        );
        println!(
            "{name}: answers {} | pages with an N/A panel: {}",
            self.answers, self.na_pages
        );
    }
}

pub async fn run(target: &Target, o: &Options) -> Outcome {
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = o.duration.map(|d| started + d);
    let tasks: Vec<_> = (0..o.users)
        .map(|_| {
            let (target, next, o) = (target.clone(), next.clone(), o.clone());
            tokio::spawn(async move {
                let mut out = Outcome::default();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    match deadline {
                        Some(end) if Instant::now() >= end => return out,
                        None if i >= o.requests => return out,
                        _ => {}
                    }
                    let n = o.ids.spread(i);
                    let t = Instant::now();
                    let got = async {
                        let r = target
                            .http
                            .get(target.page_url(n))
                            .timeout(o.timeout)
                            .send()
                            .await?;
                        let status = r.status().as_u16();
                        let body = r.bytes().await?;
                        let mut bytes = body.len() as u64;
                        if o.with_pictures
                            && status == 200
                            && let Some(src) = picture_src(&body)
                        {
                            let p = target
                                .http
                                .get(format!("{}{src}", target.base))
                                .timeout(o.timeout)
                                .send()
                                .await?;
                            bytes += p.bytes().await?.len() as u64;
                        }
                        Ok::<_, reqwest::Error>((status, shows_na(&body), bytes))
                    }
                    .await;
                    match got {
                        Ok((status, na, bytes)) => {
                            out.answers.status(status);
                            if status == 200 {
                                out.latency.record(t.elapsed());
                                out.bytes += bytes;
                                out.na_pages += u64::from(na);
                            }
                        }
                        Err(e) => out.answers.failure(&e),
                    }
                }
            })
        })
        .collect();
    let mut all = Outcome::default();
    for task in tasks {
        let Ok(one) = task.await else { continue };
        all.latency.add(&one.latency);
        all.answers.add(&one.answers);
        all.na_pages += one.na_pages;
        all.bytes += one.bytes;
    }
    all.elapsed = started.elapsed();
    all
}

/// The `src` of the prize picture in a page, if it shows one.
fn picture_src(html: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(html).ok()?;
    let start = text.find("<img src=\"")? + "<img src=\"".len();
    let end = text[start..].find('"')? + start;
    Some(text[start..end].replace("&#38;", "&").replace("&amp;", "&"))
}
