//! W, ours and theirs.
//!
//! [`LocalWorker`] is our W: it draws a prize from its catalog and renders the ticket on a
//! blocking thread, then waits `tempo` without holding any thread, so it serves many calls at
//! once. [`contract_router`] serves it over the W contract. [`HttpWorker`] calls any W that
//! honours the contract (ours, or the original single-threaded one) as a black box, spread over
//! several instances.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use cloudhp_core::{CustomerId, Draw, Prize, ServiceError, Worker, looks_like_jpeg};
use cloudhp_worker::{Catalog, CatalogError, render_ticket};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::{Mutex, Semaphore};
use tower_http::set_header::SetResponseHeaderLayer;

/// How W is named to users.
pub const PRIZE_WORKER: &str = "the prize worker";

/// Largest W answer accepted (a base64 JPEG of a few hundred KB in practice).
const MAX_ANSWER_BYTES: usize = 32 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum DrawError {
    #[error("the prize catalog is empty")]
    EmptyCatalog,
    #[error("cannot render the ticket")]
    Render(#[source] cloudhp_worker::ImageError),
    #[error("the worker is shutting down")]
    Closed,
    #[error("the renderer stopped")]
    Join(#[source] tokio::task::JoinError),
}

/// Our W.
pub struct LocalWorker {
    catalog: Arc<Catalog>,
    tempo: Duration,
    slots: Semaphore,
}

impl LocalWorker {
    /// Loads the catalog of `dir`, painting the demo catalog into it when it is empty. Blocking
    /// file work: call it from a blocking context at start-up.
    pub fn open(dir: &Path, tempo: Duration, max_concurrent: u32) -> Result<Self, CatalogError> {
        let catalog = Catalog::open_or_create(dir)?;
        tracing::info!(prizes = catalog.len(), dir = %dir.display(), "prize catalog loaded");
        Ok(Self::new(catalog, tempo, max_concurrent))
    }

    pub fn new(catalog: Catalog, tempo: Duration, max_concurrent: u32) -> Self {
        Self {
            catalog: Arc::new(catalog),
            tempo,
            slots: Semaphore::new(max_concurrent.max(1) as usize),
        }
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// One call of the contract: draws a prize, renders its ticket for `id` (any text, as the
    /// original), then waits `tempo`.
    pub async fn draw_for(&self, id: &str) -> Result<(String, Vec<u8>), DrawError> {
        let _slot = self.slots.acquire().await.map_err(|_| DrawError::Closed)?;
        let _gauge = crate::telemetry::GaugeGuard::enter("cloudhp_worker_inflight");
        let started = Instant::now();
        let catalog = self.catalog.clone();
        let id = id.to_owned();
        let (file, jpeg) = tokio::task::spawn_blocking(move || {
            let prize = catalog.pick().ok_or(DrawError::EmptyCatalog)?;
            let jpeg = render_ticket(&prize.image, &id).map_err(DrawError::Render)?;
            Ok::<_, DrawError>((prize.file.clone(), jpeg))
        })
        .await
        .map_err(DrawError::Join)??;
        metrics::histogram!("cloudhp_worker_render_seconds").record(started.elapsed());
        tokio::time::sleep(self.tempo).await;
        metrics::counter!("cloudhp_worker_draws_total").increment(1);
        Ok((file, jpeg))
    }
}

#[async_trait]
impl Worker for LocalWorker {
    async fn draw(&self, id: CustomerId) -> Result<Draw, ServiceError> {
        let (file, jpeg) = self.draw_for(&id.to_string()).await.map_err(|e| {
            tracing::error!(customer = %id, error = %crate::telemetry::chain(&e), "draw failed");
            ServiceError::unavailable(PRIZE_WORKER)
        })?;
        let prize = Prize::parse(&file).ok_or_else(|| {
            tracing::error!(file, "catalog file name is not a valid prize name");
            ServiceError::unavailable(PRIZE_WORKER)
        })?;
        Ok(Draw {
            prize,
            jpeg: Bytes::from(jpeg),
        })
    }

    async fn ping(&self) -> Result<(), ServiceError> {
        Ok(())
    }
}

/// The answer of `GET /` of the contract.
#[derive(Serialize)]
struct About {
    #[serde(rename = "Service")]
    service: &'static str,
    #[serde(rename = "Version")]
    version: &'static str,
}

/// The answer of `GET /play/<id>` of the contract.
#[derive(Serialize, Deserialize)]
struct PlayAnswer {
    price: String,
    img: String,
}

/// The W contract over HTTP: `GET /` and `GET /play/<id>`, CORS open, nothing else (in
/// particular no shutdown endpoint).
pub fn contract_router(worker: Arc<LocalWorker>) -> Router {
    Router::new()
        .route("/", get(about))
        .route("/play/{id}", get(play))
        .with_state(worker)
        .layer(SetResponseHeaderLayer::overriding(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        ))
}

async fn about() -> Json<About> {
    Json(About {
        service: "CloudHP w",
        version: env!("CARGO_PKG_VERSION"),
    })
}

async fn play(State(worker): State<Arc<LocalWorker>>, UrlPath(id): UrlPath<String>) -> Response {
    match worker.draw_for(&id).await {
        Ok((price, jpeg)) => Json(PlayAnswer {
            price,
            img: BASE64.encode(jpeg),
        })
        .into_response(),
        Err(e) => {
            tracing::error!(id, error = %crate::telemetry::chain(&e), "draw failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(serde_json::json!({ "error": "the draw failed" })),
            )
                .into_response()
        }
    }
}

/// One W instance behind a URL.
struct Endpoint {
    base: String,
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

/// Why one call to one W instance failed.
enum CallError {
    /// No connection: another instance may serve the call.
    Unreachable(String),
    /// The instance answered, wrongly.
    Failed(String),
}

/// Any W honouring the contract, called as a black box over HTTP, spread over its instances.
pub struct HttpWorker {
    endpoints: Vec<Endpoint>,
    http: reqwest::Client,
    timeout: Duration,
    next: AtomicUsize,
    epoch: Instant,
}

/// How long a health probe result is trusted.
const PROBE_TTL: Duration = Duration::from_secs(3);
/// Shorter than the page's wait for the play panel (`web.play_timeout`, 500 ms by default).
const PROBE_TIMEOUT: Duration = Duration::from_millis(400);

impl HttpWorker {
    /// `urls`: base URLs of W instances; `concurrency`: calls in flight per instance.
    pub fn new(
        urls: &[String],
        concurrency: u32,
        timeout: Duration,
    ) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .pool_max_idle_per_host(concurrency as usize)
            .build()?;
        let endpoints = urls
            .iter()
            .map(|u| Endpoint {
                base: u.trim_end_matches('/').to_owned(),
                slots: Arc::new(Semaphore::new(concurrency.max(1) as usize)),
                in_flight: AtomicUsize::new(0),
                probe: Mutex::new(None),
                avoid_until: AtomicU64::new(0),
            })
            .collect();
        Ok(Self {
            endpoints,
            http,
            timeout,
            next: AtomicUsize::new(0),
            epoch: Instant::now(),
        })
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// The instance to call among those not `tried` yet: one that did not just refuse a
    /// connection, with the most free slots; ties go round-robin.
    fn pick(&self, tried: &[usize]) -> Option<usize> {
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let n = self.endpoints.len();
        let now = self.now_ms();
        (0..n)
            .map(|i| (start + i) % n)
            .filter(|i| !tried.contains(i))
            .max_by_key(|i| {
                let e = &self.endpoints[*i];
                let reachable = e.avoid_until.load(Ordering::Relaxed) <= now;
                (reachable, e.slots.available_permits())
            })
    }

    async fn call(&self, endpoint: &Endpoint, id: CustomerId) -> Result<Draw, CallError> {
        let url = format!("{}/play/{}", endpoint.base, id);
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
                String::from_utf8_lossy(&body).trim()
            )));
        }
        let failed = |why: String| CallError::Failed(format!("GET {url}: {why}"));
        let body = read_limited(response, MAX_ANSWER_BYTES)
            .await
            .map_err(failed)?;
        let answer: PlayAnswer =
            serde_json::from_slice(&body).map_err(|e| failed(format!("not a W answer ({e})")))?;
        let prize = Prize::parse(&answer.price)
            .ok_or_else(|| failed(format!("invalid prize name {:?}", answer.price)))?;
        let cleaned: String = answer
            .img
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect();
        let jpeg = BASE64
            .decode(cleaned.as_bytes())
            .map_err(|e| failed(format!("img is not base64 ({e})")))?;
        if !looks_like_jpeg(&jpeg) {
            return Err(failed("img is not a JPEG".into()));
        }
        Ok(Draw {
            prize,
            jpeg: Bytes::from(jpeg),
        })
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
        let url = format!("{}/", endpoint.base);
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
    /// the next one is tried, within the overall timeout.
    async fn draw(&self, id: CustomerId) -> Result<Draw, ServiceError> {
        let started = Instant::now();
        let mut tried = Vec::new();
        let outcome = loop {
            let Some(index) = self.pick(&tried) else {
                break Err(ServiceError::unavailable(PRIZE_WORKER));
            };
            tried.push(index);
            let endpoint = &self.endpoints[index];
            let left = self.timeout.saturating_sub(started.elapsed());
            let Ok(Ok(permit)) =
                tokio::time::timeout(left, endpoint.slots.clone().acquire_owned()).await
            else {
                tracing::warn!(customer = %id, w = endpoint.base, "every slot of W stayed busy");
                break Err(ServiceError::timeout(PRIZE_WORKER, self.timeout));
            };
            let left = self.timeout.saturating_sub(started.elapsed());
            let result = {
                // Counted while in flight, however the call ends (even if this future is
                // dropped by a caller's timeout): a stale count would make a dead W look alive.
                let _busy = Busy::enter(&endpoint.in_flight);
                tokio::time::timeout(left, self.call(endpoint, id)).await
            };
            drop(permit);
            match result {
                Err(_) => {
                    tracing::warn!(customer = %id, w = endpoint.base, timeout = ?self.timeout, "W call timed out");
                    break Err(ServiceError::timeout(PRIZE_WORKER, self.timeout));
                }
                Ok(Err(CallError::Unreachable(reason))) => {
                    tracing::warn!(customer = %id, %reason, "W unreachable; trying another instance");
                    let until = self.now_ms() + PROBE_TTL.as_millis() as u64;
                    endpoint.avoid_until.store(until, Ordering::Relaxed);
                    *endpoint.probe.lock().await = Some((Instant::now(), false));
                }
                Ok(Err(CallError::Failed(reason))) => {
                    tracing::warn!(customer = %id, %reason, "W call failed");
                    break Err(ServiceError::unavailable(PRIZE_WORKER));
                }
                Ok(Ok(draw)) => {
                    *endpoint.probe.lock().await = Some((Instant::now(), true));
                    break Ok(draw);
                }
            }
        };
        let label = if outcome.is_ok() { "ok" } else { "failed" };
        metrics::counter!("cloudhp_play_w_calls_total", "outcome" => label).increment(1);
        metrics::histogram!("cloudhp_play_w_call_seconds").record(started.elapsed());
        outcome
    }

    async fn ping(&self) -> Result<(), ServiceError> {
        let probes = self.endpoints.iter().map(|e| self.probe(e));
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
