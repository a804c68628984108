//! Past capacity: far more requests at once, each on its own connection, than the server
//! admits. What the issue asks of the server: it sheds load (503 with `Retry-After`, counted
//! in `/metrics`), it does not queue without bound, and no request hangs.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::common::{self, Answers, Ids, Latency, Target, metric_sum, metrics};

/// What every connection asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum What {
    /// The bare `/healthz` of the public port.
    Healthz,
    /// Customers' pages.
    Pages,
    /// Presses of Play (API) of distinct, fresh customers.
    Plays,
}

#[derive(Clone, Debug, clap::Args)]
pub struct Options {
    #[arg(long, default_value_t = 10_000)]
    pub connections: u32,
    #[arg(long, value_enum, default_value_t = What::Pages)]
    pub what: What,
    /// Customers of the pages, or the fresh customers who press (plays).
    #[arg(long, default_value = "1-1000")]
    pub ids: Ids,
    /// A request without an answer after this counts as hung.
    #[arg(long, default_value = "10s", value_parser = common::duration)]
    pub hang: Duration,
    /// The operations listener (`http://HOST:PORT`), to read `/metrics` before and after.
    #[arg(long)]
    pub ops: Option<String>,
    /// Newcomers sent one after the other, each on a connection of its own, once every request
    /// is answered and while their connections are still held: how long a client arriving at
    /// a full server waits. Each reads a page, or `/healthz` when that is what the connections
    /// asked (a newcomer never presses Play).
    #[arg(long, default_value_t = 100)]
    pub probes: u32,
}

#[derive(Default)]
pub struct Outcome {
    pub n: u32,
    pub answers: Answers,
    pub shed: u64,
    pub shed_with_retry_after: u64,
    /// Time to a 503.
    pub shed_latency: Latency,
    /// Time to any other answer.
    pub served_latency: Latency,
    pub hung: u64,
    pub elapsed: Duration,
    /// The newcomers' answers, and how long each took (connection included): what a client
    /// arriving at a full server waits, without the connections opened at once around it.
    pub probe_answers: Answers,
    pub probe_latency: Latency,
    /// Refusals counted by the server, from `/metrics` (after − before), when `--ops` is given.
    pub counted: Option<Refusals>,
}

/// What the server counts in `/metrics` when it sheds load.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Refusals {
    /// Connections refused over the cap (`cloudhp_http_connections_total`, public listener).
    pub connections: f64,
    /// Requests answered 503 (`cloudhp_http_requests_total`).
    pub answered_503: f64,
}

impl Refusals {
    /// The sums of a `/metrics` text.
    fn read(text: &str) -> Self {
        Refusals {
            connections: metric_sum(
                text,
                "cloudhp_http_connections_total",
                &["listener=\"public\"", "outcome=\"refused\""],
            ),
            answered_503: metric_sum(text, "cloudhp_http_requests_total", &["status=\"503\""]),
        }
    }

    /// What was counted since `before`.
    fn since(self, before: Refusals) -> Self {
        Refusals {
            connections: self.connections - before.connections,
            answered_503: self.answered_503 - before.answered_503,
        }
    }
}

impl Outcome {
    pub fn print(&self, name: &str) {
        println!(
            "{name}: {} requests at once in {:.2} s: answers {}",
            self.n,
            self.elapsed.as_secs_f64(),
            self.answers
        );
        println!(
            "{name}: 503 {} ({:.1} %), {} of them with Retry-After | 503 after ms: {} | others after ms: {} | hung (> limit): {}",
            self.shed,
            self.shed as f64 * 100.0 / f64::from(self.n.max(1)),
            self.shed_with_retry_after,
            self.shed_latency.line(),
            self.served_latency.line(),
            self.hung
        );
        if self.probe_latency.count() > 0 {
            println!(
                "{name}: then newcomers one at a time, the connections still held: answers {} | answered in ms: {}",
                self.probe_answers,
                self.probe_latency.line()
            );
        }
        if let Some(c) = self.counted {
            println!(
                "{name}: /metrics counted {:.0} connections refused over the cap and {:.0} requests answered 503",
                c.connections, c.answered_503
            );
        }
    }
}

pub async fn run(target: &Target, o: &Options) -> Outcome {
    let before = match &o.ops {
        Some(ops) => metrics(&target.http, ops).await,
        None => None,
    };
    // A client of its own: no connection of an earlier scenario is reused, every request opens
    // one, and keeps it open once answered (as browsers keep theirs alive) until the client is
    // dropped at the end: the connections add up past the server's cap.
    let http = common::client(None, o.hang).unwrap_or_else(|_| target.http.clone());
    let at =
        tokio::time::Instant::now() + Duration::from_millis(300 + u64::from(o.connections / 20));
    let started = Instant::now();
    // Each request holds its connection (its answer's body unread) until every request has
    // its answer, or the hang limit: the connections are all open at once, as that many
    // clients would hold them, and a reused connection does not hide the load.
    let answered = Arc::new(AtomicU32::new(0));
    let (release, released) = tokio::sync::watch::channel(false);
    let release = Arc::new(release);
    let tasks: Vec<_> = (0..o.connections)
        .map(|i| {
            let (http, target, o) = (http.clone(), target.clone(), o.clone());
            let (answered, release, mut released) =
                (answered.clone(), release.clone(), released.clone());
            tokio::spawn(async move {
                tokio::time::sleep_until(at).await;
                let t = Instant::now();
                let request = match o.what {
                    What::Healthz => http.get(format!("{}/healthz", target.base)),
                    What::Pages => http.get(target.page_url(o.ids.spread(u64::from(i)))),
                    What::Plays => {
                        let n = o.ids.first + i % o.ids.len();
                        http.post(target.play_api_url(n))
                    }
                };
                let sent = request.send().await;
                let took = t.elapsed();
                if answered.fetch_add(1, Ordering::SeqCst) + 1 == o.connections {
                    let _ = release.send(true);
                }
                let answer = match sent {
                    Ok(r) => {
                        let status = r.status().as_u16();
                        let retry_after = r.headers().contains_key(reqwest::header::RETRY_AFTER);
                        let _ = tokio::time::timeout(o.hang, released.wait_for(|r| *r)).await;
                        // The whole answer, body included.
                        match r.bytes().await {
                            Ok(_) => Ok((status, retry_after)),
                            Err(e) => Err(e),
                        }
                    }
                    Err(e) => Err(e),
                };
                (answer, took)
            })
        })
        .collect();
    let mut out = Outcome {
        n: o.connections,
        ..Outcome::default()
    };
    for task in tasks {
        let Ok((answer, took)) = task.await else {
            continue;
        };
        match answer {
            Ok((status, retry_after)) => {
                out.answers.status(status);
                if status == 503 {
                    out.shed += 1;
                    out.shed_with_retry_after += u64::from(retry_after);
                    out.shed_latency.record(took);
                } else {
                    out.served_latency.record(took);
                }
            }
            Err(e) => {
                out.answers.failure(&e);
                out.hung += u64::from(e.is_timeout());
            }
        }
    }
    out.elapsed = started.elapsed().saturating_sub(Duration::from_millis(300));
    // The answered connections are still open (idle in `http`'s pool) until it is dropped.
    probe(target, o, &mut out).await;
    drop(http);
    if let (Some(before), Some(ops)) = (before, &o.ops)
        && let Some(after) = metrics(&target.http, ops).await
    {
        out.counted = Some(Refusals::read(&after).since(Refusals::read(&before)));
    }
    out
}

/// Sends `o.probes` requests one after the other, each on a new connection.
async fn probe(target: &Target, o: &Options, out: &mut Outcome) {
    if o.probes == 0 {
        return;
    }
    // No idle connection kept: every newcomer connects anew.
    let fresh = match reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(o.hang)
        .build()
    {
        Ok(client) => client,
        Err(e) => {
            eprintln!("no newcomers sent: cannot build their HTTP client: {e}");
            return;
        }
    };
    for i in 0..o.probes {
        let url = match o.what {
            What::Healthz => format!("{}/healthz", target.base),
            What::Pages | What::Plays => target.page_url(o.ids.spread(u64::from(i))),
        };
        let t = Instant::now();
        let answer = match fresh.get(url).send().await {
            Ok(r) => {
                let status = r.status().as_u16();
                r.bytes().await.map(|_| status)
            }
            Err(e) => Err(e),
        };
        out.probe_latency.record(t.elapsed());
        match answer {
            Ok(status) => out.probe_answers.status(status),
            Err(e) => out.probe_answers.failure(&e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The refusals of a run are what the server counted between the two readings, each
    /// counter on its own: the private listener's refusals and other answers are not theirs.
    #[test]
    fn refusals_are_what_was_counted_between_two_readings() {
        let before = "cloudhp_http_connections_total{listener=\"public\",outcome=\"refused\"} 4
cloudhp_http_connections_total{listener=\"ops\",outcome=\"refused\"} 1
cloudhp_http_requests_total{method=\"GET\",route=\"/index.html\",status=\"503\"} 2
";
        let after = "cloudhp_http_connections_total{listener=\"public\",outcome=\"refused\"} 10
cloudhp_http_connections_total{listener=\"public\",outcome=\"accepted\"} 50
cloudhp_http_connections_total{listener=\"ops\",outcome=\"refused\"} 9
cloudhp_http_requests_total{method=\"GET\",route=\"/index.html\",status=\"503\"} 7
cloudhp_http_requests_total{method=\"GET\",route=\"/index.html\",status=\"200\"} 40
";
        assert_eq!(
            Refusals::read(after).since(Refusals::read(before)),
            Refusals {
                connections: 6.0,
                answered_503: 5.0
            }
        );
    }
}
