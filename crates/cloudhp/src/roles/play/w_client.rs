//! The play role's client of W: any W honouring the W contract (ours, or the original
//! single-threaded one), called as a black box over HTTP and spread over several instances:
//! every address a W URL's host name resolves to is one instance (a Swarm service with
//! `endpoint_mode: dnsrr`, a Kubernetes headless service), found again every few seconds, so
//! scaling W out raises the draw throughput even for a W that serves one call at a time.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use cloudhp_core::{CustomerId, Draw, Prize, ServiceError, Worker, looks_like_jpeg};
use futures::StreamExt;
use tokio::sync::{Mutex, Semaphore};

use crate::roles::worker::{PRIZE_WORKER, PlayAnswer, routes};

/// Largest W answer accepted (a base64 JPEG of a few hundred KB in practice).
const MAX_ANSWER_BYTES: usize = 32 * 1024 * 1024;

/// One W instance behind a URL.
struct Endpoint {
    base: String,
    /// Which configured URL it comes from.
    target: usize,
    slots: Arc<Semaphore>,
    in_flight: AtomicUsize,
    /// Last health probe: when, and whether it answered.
    probe: Mutex<Option<(Instant, bool)>>,
    /// Not chosen before this instant (milliseconds since `HttpWorker::epoch`): it refused a
    /// connection a moment ago.
    avoid_until: AtomicU64,
}

/// Counts a call in flight on an instance for as long as it lives.
struct Busy<'a>(&'a AtomicUsize);

impl<'a> Busy<'a> {
    fn enter(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::Relaxed);
        Self(count)
    }
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Counts a draw's call to W and its duration however it ends, even when the caller's
/// deadline drops it: then it is a failure, logged with the instance it was waiting for.
struct CallRecord {
    customer: CustomerId,
    started: Instant,
    /// Whether it succeeded, once it ended by itself.
    ended: Option<bool>,
    /// The instance whose free slot it waits for.
    waiting_at: Option<String>,
    /// The instance it is calling.
    calling: Option<String>,
}

impl CallRecord {
    fn start(customer: CustomerId) -> Self {
        Self {
            customer,
            started: Instant::now(),
            ended: None,
            waiting_at: None,
            calling: None,
        }
    }
}

impl Drop for CallRecord {
    fn drop(&mut self) {
        let ok = self.ended.unwrap_or_else(|| {
            match (&self.waiting_at, &self.calling) {
                (Some(w), _) => {
                    tracing::warn!(customer = %self.customer, w, "every slot of W stayed busy until the draw's deadline");
                }
                (_, Some(w)) => tracing::warn!(customer = %self.customer, w, "W call timed out"),
                _ => tracing::warn!(customer = %self.customer, "W call timed out"),
            }
            false
        });
        let label = if ok { "ok" } else { "failed" };
        metrics::counter!("cloudhp_play_w_calls_total", "outcome" => label).increment(1);
        metrics::histogram!("cloudhp_play_w_call_seconds").record(self.started.elapsed());
    }
}

/// Why one call to one W instance failed.
enum CallError {
    /// No connection: another instance may serve the call.
    Unreachable(String),
    /// The instance answered, wrongly.
    Failed(String),
}

/// A configured W URL, split so that its host name can be replaced by each of its addresses.
struct Target {
    url: String,
    /// Plain HTTP to a host name: expanded to one instance per address. HTTPS keeps its name
    /// (the certificate is for the name), as does a literal address.
    expand: Option<(String, u16, String)>,
}

impl Target {
    fn parse(raw: &str) -> Self {
        let url = raw.trim_end_matches('/').to_owned();
        let expand = url::Url::parse(&url).ok().and_then(|u| {
            let host = match u.host()? {
                url::Host::Domain(name) => name.to_owned(),
                _ => return None,
            };
            (u.scheme() == "http").then(|| {
                let port = u.port_or_known_default().unwrap_or(80);
                (host, port, u.path().trim_end_matches('/').to_owned())
            })
        });
        Self { url, expand }
    }
}

/// Finds the addresses of a host name (the system resolver; a fake one in tests).
pub type Resolve = Arc<
    dyn Fn(String, u16) -> futures::future::BoxFuture<'static, std::io::Result<Vec<IpAddr>>>
        + Send
        + Sync,
>;

fn system_resolver() -> Resolve {
    Arc::new(|host, port| {
        Box::pin(async move {
            let addrs = tokio::net::lookup_host((host.as_str(), port)).await?;
            Ok(addrs.map(|a| a.ip()).collect())
        })
    })
}

/// Any W honouring the contract, called as a black box over HTTP, spread over its instances.
///
/// It has no deadline of its own on a draw: the play role bounds every W call, whichever W,
/// by `play.worker_timeout` (a dropped call still frees its slot and is counted).
pub struct HttpWorker {
    targets: Vec<Target>,
    /// The instances found at the last look-up; an instance in use stays alive through its
    /// `Arc` even after it left the list.
    endpoints: std::sync::RwLock<Arc<Vec<Arc<Endpoint>>>>,
    /// When the instances were last looked up; held while a look-up runs.
    discovered: Mutex<Option<tokio::time::Instant>>,
    /// A look-up has ended once at least (its instances replaced the configured URLs).
    looked_up: AtomicBool,
    resolve: Resolve,
    concurrency: u32,
    http: reqwest::Client,
    next: AtomicUsize,
    epoch: Instant,
}

/// How long a health probe result is trusted.
const PROBE_TTL: Duration = Duration::from_secs(3);
/// Shorter than the page's wait for the play panel (`web.play_timeout`, 500 ms by default).
const PROBE_TIMEOUT: Duration = Duration::from_millis(400);
/// How often the addresses behind W's host names are looked up again (tasks come and go).
const DISCOVERY_TTL: Duration = Duration::from_secs(5);
/// A look-up slower than this keeps the instances already known.
const DISCOVERY_TIMEOUT: Duration = Duration::from_secs(1);

impl Endpoint {
    fn new(base: String, target: usize, concurrency: u32) -> Self {
        Endpoint {
            base,
            target,
            slots: Arc::new(Semaphore::new(concurrency.max(1) as usize)),
            in_flight: AtomicUsize::new(0),
            probe: Mutex::new(None),
            avoid_until: AtomicU64::new(0),
        }
    }
}

impl HttpWorker {
    /// `urls`: base URLs of W instances; `concurrency`: calls in flight per instance (per
    /// address of a host name).
    pub fn new(urls: &[String], concurrency: u32) -> Result<Self, reqwest::Error> {
        Self::with_resolver(urls, concurrency, system_resolver())
    }

    pub fn with_resolver(
        urls: &[String],
        concurrency: u32,
        resolve: Resolve,
    ) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .pool_max_idle_per_host(concurrency as usize)
            .build()?;
        let targets: Vec<Target> = urls.iter().map(|u| Target::parse(u)).collect();
        // Until the first look-up, each URL is one instance, as configured.
        let endpoints = targets
            .iter()
            .enumerate()
            .map(|(i, t)| Arc::new(Endpoint::new(t.url.clone(), i, concurrency)))
            .collect();
        Ok(Self {
            targets,
            endpoints: std::sync::RwLock::new(Arc::new(endpoints)),
            discovered: Mutex::new(None),
            looked_up: AtomicBool::new(false),
            resolve,
            concurrency,
            http,
            next: AtomicUsize::new(0),
            epoch: Instant::now(),
        })
    }

    fn current(&self) -> Arc<Vec<Arc<Endpoint>>> {
        self.endpoints
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The instances, looked up again when the last look-up is older than `DISCOVERY_TTL`.
    /// One caller looks up at a time; the others go on with the instances known.
    async fn instances(&self) -> Arc<Vec<Arc<Endpoint>>> {
        if self.targets.iter().all(|t| t.expand.is_none()) {
            return self.current();
        }
        let mut discovered = match self.discovered.try_lock() {
            Ok(guard) => guard,
            // Another call is looking the instances up: go on with those known, unless none
            // is known yet (the configured name is not an instance): then wait for that
            // first look-up.
            Err(_) if self.looked_up.load(Ordering::Acquire) => return self.current(),
            Err(_) => self.discovered.lock().await,
        };
        if discovered.is_some_and(|at| at.elapsed() < DISCOVERY_TTL) {
            return self.current();
        }
        let known = self.current();
        let mut bases: Vec<(usize, String)> = Vec::new();
        for (index, target) in self.targets.iter().enumerate() {
            let Some((host, port, path)) = &target.expand else {
                bases.push((index, target.url.clone()));
                continue;
            };
            let found =
                tokio::time::timeout(DISCOVERY_TIMEOUT, (self.resolve)(host.clone(), *port)).await;
            let addrs = match found {
                Ok(Ok(addrs)) if !addrs.is_empty() => addrs,
                outcome => {
                    let why = match outcome {
                        Ok(Err(e)) => e.to_string(),
                        Ok(Ok(_)) => "no address".to_owned(),
                        Err(_) => "the look-up timed out".to_owned(),
                    };
                    tracing::warn!(w = target.url, %why, "cannot look up W's instances; keeping those known");
                    let before = bases.len();
                    bases.extend(
                        known
                            .iter()
                            .filter(|e| e.target == index)
                            .map(|e| (index, e.base.clone())),
                    );
                    if bases.len() == before {
                        bases.push((index, target.url.clone()));
                    }
                    continue;
                }
            };
            // One instance per address; a name with IPv4 addresses is reached over IPv4 only
            // (`localhost` would otherwise count each W twice).
            let v4 = addrs.iter().any(IpAddr::is_ipv4);
            let mut addrs: Vec<IpAddr> = addrs.into_iter().filter(|a| a.is_ipv4() == v4).collect();
            addrs.sort();
            addrs.dedup();
            for addr in addrs {
                let host = match addr {
                    IpAddr::V4(a) => a.to_string(),
                    IpAddr::V6(a) => format!("[{a}]"),
                };
                bases.push((index, format!("http://{host}:{port}{path}")));
            }
        }
        // Two URLs may name the same task: it is one instance.
        let mut seen = std::collections::HashSet::new();
        bases.retain(|(_, base)| seen.insert(base.clone()));
        let next: Vec<Arc<Endpoint>> = bases
            .into_iter()
            .map(|(target, base)| {
                known
                    .iter()
                    .find(|e| e.base == base)
                    .cloned()
                    .unwrap_or_else(|| Arc::new(Endpoint::new(base, target, self.concurrency)))
            })
            .collect();
        if next.len() != known.len() || next.iter().zip(known.iter()).any(|(a, b)| a.base != b.base)
        {
            let list: Vec<&str> = next.iter().map(|e| e.base.as_str()).collect();
            tracing::info!(instances = ?list, "W instances");
        }
        metrics::gauge!("cloudhp_play_w_instances").set(next.len() as f64);
        let next = Arc::new(next);
        *self
            .endpoints
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = next.clone();
        *discovered = Some(tokio::time::Instant::now());
        self.looked_up.store(true, Ordering::Release);
        next
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// The instance to call among those not `tried` yet: one that did not just refuse a
    /// connection, with the most free slots; ties go round-robin.
    fn pick(&self, endpoints: &[Arc<Endpoint>], tried: &[String]) -> Option<Arc<Endpoint>> {
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let n = endpoints.len();
        let now = self.now_ms();
        (0..n)
            .map(|i| &endpoints[(start + i) % n])
            .filter(|e| !tried.contains(&e.base))
            .max_by_key(|e| {
                let reachable = e.avoid_until.load(Ordering::Relaxed) <= now;
                (reachable, e.slots.available_permits())
            })
            .cloned()
    }

    async fn call(&self, endpoint: &Endpoint, id: CustomerId) -> Result<Draw, CallError> {
        let url = format!("{}{}", endpoint.base, routes::play(id));
        let response = self.http.get(&url).send().await.map_err(|e| {
            let reason = format!("GET {url}: {}", crate::telemetry::chain(&e));
            if e.is_connect() {
                CallError::Unreachable(reason)
            } else {
                CallError::Failed(reason)
            }
        })?;
        let status = response.status();
        if status != reqwest::StatusCode::OK {
            let body = read_limited(response, 512).await.unwrap_or_default();
            return Err(CallError::Failed(format!(
                "GET {url} answered {status}: {}",
                excerpt(&body)
            )));
        }
        let failed = |why: String| CallError::Failed(format!("GET {url}: {why}"));
        let body = read_limited(response, MAX_ANSWER_BYTES)
            .await
            .map_err(failed)?;
        parse_play_answer(&body).map_err(|e| failed(e.to_string()))
    }

    async fn probe(&self, endpoint: &Endpoint) -> bool {
        // A W busy with a draw is alive; the original, single-threaded, could not even answer
        // a probe then.
        if endpoint.in_flight.load(Ordering::Relaxed) > 0 {
            return true;
        }
        let mut probe = endpoint.probe.lock().await;
        if let Some((at, ok)) = *probe
            && at.elapsed() < PROBE_TTL
        {
            return ok;
        }
        let url = format!("{}{}", endpoint.base, routes::ABOUT);
        let ok = match self.http.get(&url).timeout(PROBE_TIMEOUT).send().await {
            Ok(r) => r.status().is_success(),
            // Connected but slow to answer: a single-threaded W busy with another replica's
            // draw. It is alive.
            Err(e) => e.is_timeout() && !e.is_connect(),
        };
        *probe = Some((Instant::now(), ok));
        ok
    }
}

/// Why the body of a W's `200` answer to `GET /play/<id>` is not a draw.
#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    #[error("not a W answer ({0})")]
    NotJson(#[source] serde_json::Error),
    #[error("invalid prize name {0:?}")]
    Prize(String),
    #[error("img is not base64 ({0})")]
    NotBase64(#[source] base64::DecodeError),
    #[error("img is not a JPEG")]
    NotJpeg,
}

/// The text of an error answer of W, for a log line: invalid UTF-8 replaced, control
/// characters (line breaks included) turned into spaces, so it stays one line.
pub fn excerpt(body: &[u8]) -> String {
    String::from_utf8_lossy(body)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

/// Reads the body of a W's `200` answer: `{"price": "<file name>", "img": "<base64 JPEG>"}`.
/// Any bytes give a draw or an error, never a panic (fuzzed: docs/fuzzing.md).
pub fn parse_play_answer(body: &[u8]) -> Result<Draw, AnswerError> {
    let answer: PlayAnswer = serde_json::from_slice(body).map_err(AnswerError::NotJson)?;
    let prize = Prize::parse(&answer.price).ok_or(AnswerError::Prize(answer.price))?;
    let cleaned: String = answer
        .img
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let jpeg = BASE64
        .decode(cleaned.as_bytes())
        .map_err(AnswerError::NotBase64)?;
    if !looks_like_jpeg(&jpeg) {
        return Err(AnswerError::NotJpeg);
    }
    Ok(Draw {
        prize,
        jpeg: Bytes::from(jpeg),
    })
}

/// Reads a body up to `limit` bytes; more is an error.
async fn read_limited(response: reqwest::Response, limit: usize) -> Result<Vec<u8>, String> {
    if let Some(len) = response.content_length()
        && len > limit as u64
    {
        return Err(format!("answer of {len} bytes is too large"));
    }
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| crate::telemetry::chain(&e))?;
        if body.len() + chunk.len() > limit {
            if limit < 1024 {
                body.extend_from_slice(&chunk[..limit - body.len()]);
                return Ok(body);
            }
            return Err("answer too large".into());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[async_trait]
impl Worker for HttpWorker {
    /// Calls one instance; an instance that refuses the connection is avoided for a while and
    /// the next one is tried, until the caller's deadline (`play.worker_timeout`).
    async fn draw(&self, id: CustomerId) -> Result<Draw, ServiceError> {
        let mut record = CallRecord::start(id);
        let endpoints = self.instances().await;
        let mut tried = Vec::new();
        let outcome = loop {
            let Some(endpoint) = self.pick(&endpoints, &tried) else {
                break Err(ServiceError::unavailable(PRIZE_WORKER));
            };
            tried.push(endpoint.base.clone());
            record.waiting_at = Some(endpoint.base.clone());
            let Ok(permit) = endpoint.slots.clone().acquire_owned().await else {
                break Err(ServiceError::unavailable(PRIZE_WORKER));
            };
            record.waiting_at = None;
            record.calling = Some(endpoint.base.clone());
            let result = {
                // Counted while in flight, however the call ends (even if this future is
                // dropped at the caller's deadline): a stale count would make a dead W look
                // alive.
                let _busy = Busy::enter(&endpoint.in_flight);
                self.call(&endpoint, id).await
            };
            drop(permit);
            record.calling = None;
            match result {
                Err(CallError::Unreachable(reason)) => {
                    tracing::warn!(customer = %id, %reason, "W unreachable; trying another instance");
                    let until = self.now_ms() + PROBE_TTL.as_millis() as u64;
                    endpoint.avoid_until.store(until, Ordering::Relaxed);
                    *endpoint.probe.lock().await = Some((Instant::now(), false));
                }
                Err(CallError::Failed(reason)) => {
                    tracing::warn!(customer = %id, %reason, "W call failed");
                    break Err(ServiceError::unavailable(PRIZE_WORKER));
                }
                Ok(draw) => {
                    *endpoint.probe.lock().await = Some((Instant::now(), true));
                    break Ok(draw);
                }
            }
        };
        record.ended = Some(outcome.is_ok());
        outcome
    }

    async fn ping(&self) -> Result<(), ServiceError> {
        let endpoints = self.instances().await;
        let probes = endpoints.iter().map(|e| self.probe(e));
        if futures::future::join_all(probes)
            .await
            .into_iter()
            .any(|ok| ok)
        {
            Ok(())
        } else {
            Err(ServiceError::unavailable(PRIZE_WORKER))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex as StdMutex;

    use super::*;
    use crate::roles::worker::LocalWorker;
    use crate::roles::worker::api::contract_router;

    /// A resolver whose answers the test sets.
    fn fake_resolver(answers: Arc<StdMutex<std::io::Result<Vec<IpAddr>>>>) -> Resolve {
        Arc::new(move |host, _port| {
            assert_eq!(host, "worker");
            let answer = match &*answers.lock().unwrap() {
                Ok(addrs) => Ok(addrs.clone()),
                Err(e) => Err(std::io::Error::new(e.kind(), e.to_string())),
            };
            Box::pin(async move { answer })
        })
    }

    fn ips(list: &[&str]) -> Vec<IpAddr> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    fn bases(list: &[Arc<Endpoint>]) -> Vec<String> {
        list.iter().map(|e| e.base.clone()).collect()
    }

    #[tokio::test(start_paused = true)]
    async fn every_address_of_a_name_is_one_instance_found_again_as_tasks_change() {
        let answers = Arc::new(StdMutex::new(Ok(ips(&["10.0.0.3", "10.0.0.2"]))));
        let w = HttpWorker::with_resolver(
            &[
                "http://worker:8080/".to_owned(),
                "http://10.9.9.9:8090".to_owned(),
            ],
            1,
            fake_resolver(answers.clone()),
        )
        .unwrap();
        let first = w.instances().await;
        assert_eq!(
            bases(&first),
            [
                "http://10.0.0.2:8080",
                "http://10.0.0.3:8080",
                "http://10.9.9.9:8090"
            ],
            "one instance per address, a literal address as configured"
        );
        // Each instance has its own slots: the original W serves one call at a time per task.
        assert!(first.iter().all(|e| e.slots.available_permits() == 1));

        // A task is replaced: after the TTL the new address is used, the kept one keeps its
        // state (the same Endpoint, with its slots and calls in flight).
        *answers.lock().unwrap() = Ok(ips(&["10.0.0.3", "10.0.0.4"]));
        assert_eq!(
            bases(&w.instances().await),
            bases(&first),
            "not before the TTL"
        );
        tokio::time::advance(DISCOVERY_TTL + Duration::from_millis(1)).await;
        let second = w.instances().await;
        assert_eq!(
            bases(&second),
            [
                "http://10.0.0.3:8080",
                "http://10.0.0.4:8080",
                "http://10.9.9.9:8090"
            ]
        );
        assert!(
            Arc::ptr_eq(&first[1], &second[0]),
            "a kept task keeps its state"
        );

        // The resolver fails: the instances known are kept.
        *answers.lock().unwrap() = Err(std::io::Error::other("dns down"));
        tokio::time::advance(DISCOVERY_TTL + Duration::from_millis(1)).await;
        assert_eq!(bases(&w.instances().await), bases(&second));

        // IPv4 and IPv6 addresses of one name (localhost): reached over IPv4 only, once.
        *answers.lock().unwrap() = Ok(ips(&["::1", "127.0.0.1", "127.0.0.1"]));
        tokio::time::advance(DISCOVERY_TTL + Duration::from_millis(1)).await;
        assert_eq!(
            bases(&w.instances().await),
            ["http://127.0.0.1:8080", "http://10.9.9.9:8090"]
        );
    }

    /// Draws go over the network to every task behind the name: two single-threaded W tasks
    /// (one slot each) on two addresses of one port each serve one of two concurrent draws.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_draws_reach_every_address_of_the_name() {
        let catalog = tempfile::tempdir().unwrap();
        let dir = catalog.path().to_owned();
        let first = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = first.local_addr().unwrap().port();
        let second = tokio::net::TcpListener::bind(("127.0.0.2", port))
            .await
            .unwrap();
        for listener in [first, second] {
            let dir = dir.clone();
            let w = tokio::task::spawn_blocking(move || {
                LocalWorker::open(&dir, Duration::from_millis(300), 1)
            })
            .await
            .unwrap()
            .unwrap();
            tokio::spawn(async move {
                axum::serve(listener, contract_router(Arc::new(w)))
                    .await
                    .unwrap();
            });
        }
        let answers = Arc::new(StdMutex::new(Ok(ips(&["127.0.0.1", "127.0.0.2"]))));
        // A slow first look-up: the second draw starts while it runs, and must wait for it
        // rather than call the configured name, which is no instance.
        let fake = fake_resolver(answers);
        let slow: Resolve = Arc::new(move |host, port| {
            let answer = fake(host, port);
            Box::pin(async move {
                tokio::time::sleep(Duration::from_millis(200)).await;
                answer.await
            })
        });
        let w = Arc::new(
            HttpWorker::with_resolver(&[format!("http://worker:{port}")], 1, slow).unwrap(),
        );
        let draws = (1..=2u32).map(|n| {
            let w = w.clone();
            tokio::spawn(async move { w.draw(CustomerId::new(n).unwrap()).await })
        });
        for draw in futures::future::join_all(draws).await {
            assert!(looks_like_jpeg(&draw.unwrap().unwrap().jpeg));
        }
        let endpoints = w.current();
        assert_eq!(endpoints.len(), 2);
        for e in endpoints.iter() {
            assert!(
                matches!(*e.probe.lock().await, Some((_, true))),
                "{} served no draw",
                e.base
            );
        }
    }

    #[test]
    fn https_and_literal_addresses_keep_their_url() {
        assert!(Target::parse("https://w.example:8443").expand.is_none());
        assert!(Target::parse("http://127.0.0.1:8090").expand.is_none());
        assert!(Target::parse("http://[::1]:8090").expand.is_none());
        assert_eq!(
            Target::parse("http://worker:8080/w/").expand,
            Some(("worker".to_owned(), 8080, "/w".to_owned()))
        );
        assert_eq!(
            Target::parse("http://worker").expand,
            Some(("worker".to_owned(), 80, String::new()))
        );
    }

    /// A JPEG's first bytes, then anything.
    fn jpeg_base64(rest: &[u8]) -> String {
        let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0];
        jpeg.extend_from_slice(rest);
        BASE64.encode(jpeg)
    }

    #[test]
    fn play_answers_give_a_draw_or_say_what_is_wrong() {
        let img = jpeg_base64(b"JFIF");
        let body = format!(r#"{{"price": "usb-key.jpg", "img": "{img}"}}"#);
        let draw = parse_play_answer(body.as_bytes()).unwrap();
        assert_eq!(draw.prize.file(), "usb-key.jpg");
        assert!(looks_like_jpeg(&draw.jpeg));
        // Line breaks inside the base64 are tolerated.
        let wrapped = format!(
            r#"{{"price": "a.jpg", "img": "{}\n{}"}}"#,
            &img[..4],
            &img[4..]
        );
        assert!(parse_play_answer(wrapped.as_bytes()).is_ok());

        let cases: [(&[u8], &str); 6] = [
            (b"", "not a W answer"),
            (b"<html>busy</html>", "not a W answer"),
            (br#"{"price": "a.jpg"}"#, "not a W answer"),
            (
                br#"{"price": "../etc/passwd", "img": ""}"#,
                "invalid prize name",
            ),
            (br#"{"price": "a.jpg", "img": "%%%"}"#, "not base64"),
            (br#"{"price": "a.jpg", "img": "aGVsbG8="}"#, "not a JPEG"),
        ];
        for (body, expected) in cases {
            let err = parse_play_answer(body).unwrap_err().to_string();
            assert!(err.contains(expected), "{body:?}: {err}");
        }
        assert_eq!(
            excerpt(b" busy\r\nX-Forged: 1\xff "),
            "busy  X-Forged: 1\u{fffd}"
        );
    }

    /// Fuzzing (see docs/fuzzing.md): a fixed number of cases, PROPTEST_CASES raises it.
    mod fuzz {
        use super::*;
        use proptest::prelude::*;

        fn answer(price: String, img: String) -> Vec<u8> {
            serde_json::json!({ "price": price, "img": img })
                .to_string()
                .into_bytes()
        }

        fn bodies() -> impl Strategy<Value = Vec<u8>> {
            prop_oneof![
                proptest::collection::vec(any::<u8>(), 0..512),
                // Shaped like an answer, with any fields.
                (any::<String>(), any::<String>()).prop_map(|(price, img)| answer(price, img)),
                // A JPEG under any prize name, with any bytes after its first ones.
                (
                    any::<String>(),
                    proptest::collection::vec(any::<u8>(), 0..64)
                )
                    .prop_map(|(price, rest)| answer(price, jpeg_base64(&rest))),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 50_000, ..ProptestConfig::default() })]

            /// Any bytes from W: a typed error, or a draw whose prize is a plain file name and
            /// whose picture is a JPEG; never a panic. Its error text stays one line.
            #[test]
            fn fuzz_any_bytes_from_w_give_a_draw_or_an_error(body in bodies()) {
                match parse_play_answer(&body) {
                    Ok(draw) => {
                        prop_assert!(Prize::parse(draw.prize.file()).is_some());
                        prop_assert!(!draw.prize.file().chars().any(char::is_control));
                        prop_assert!(looks_like_jpeg(&draw.jpeg));
                    }
                    Err(e) => prop_assert!(!e.to_string().is_empty()),
                }
                prop_assert!(!excerpt(&body).chars().any(char::is_control));
            }
        }
    }
}
