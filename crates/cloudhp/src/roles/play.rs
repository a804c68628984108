//! B: the one draw of each customer.
//!
//! 1. Claim the draw in the lottery database (a unique key on the customer id): exactly one
//!    caller wins, the others see the draw running or done.
//! 2. Call W in the background; the request that claimed returns at once.
//! 3. Renew the claim (fencing: a holder whose lease was taken over stops here), store the
//!    picture under the customer's key.
//! 4. Record the prize and the winner notification in one transaction, naming the claim token.
//!
//! A W failure marks the claim failed (no prize; the customer may try again). A process that
//! dies mid-draw leaves a claim whose lease expires; the sweeper of any play process takes it
//! over and drives it again.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use cloudhp_core::{
    Customer, CustomerId, Play, PlayOutcome, PlayReply, PlayState, PlayStatus, ServiceError,
    WorkerHandle,
};
use cloudhp_objects::{ImageStore, picture_key};
use cloudhp_store::{Claim, ClaimToken, Completion, LotteryDb, StoreError};
use time::OffsetDateTime;
use tokio::sync::{Notify, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::picture::IMAGE_STORE;
use super::status::LOTTERY_DB;
use crate::telemetry::{GaugeGuard, chain};

/// Claims recovered per sweep at most.
const SWEEP_BATCH: u32 = 32;

#[derive(Clone, Debug)]
pub struct PlaySettings {
    pub lease: Duration,
    pub worker_timeout: Duration,
    pub store_timeout: Duration,
    pub sweep_interval: Duration,
    pub max_attempts: u32,
    pub max_draws: u32,
}

struct Inner {
    db: LotteryDb,
    worker: WorkerHandle,
    images: Arc<dyn ImageStore>,
    settings: PlaySettings,
    slots: Semaphore,
    draws: TaskTracker,
    /// Woken when a winner is recorded: an in-process notifier, or the event relay.
    wake: Vec<Arc<Notify>>,
}

/// The local play role.
#[derive(Clone)]
pub struct PlayService {
    inner: Arc<Inner>,
}

fn count(outcome: &'static str) {
    metrics::counter!("cloudhp_draws_total", "outcome" => outcome).increment(1);
}

impl PlayService {
    pub fn new(
        db: LotteryDb,
        worker: WorkerHandle,
        images: Arc<dyn ImageStore>,
        settings: PlaySettings,
        wake: Vec<Arc<Notify>>,
    ) -> Self {
        let slots = Semaphore::new(settings.max_draws.max(1) as usize);
        Self {
            inner: Arc::new(Inner {
                db,
                worker,
                images,
                settings,
                slots,
                draws: TaskTracker::new(),
                wake,
            }),
        }
    }

    /// The draws running in the background (waited for on shutdown).
    pub fn draws(&self) -> TaskTracker {
        self.inner.draws.clone()
    }

    fn spawn_draw(&self, id: CustomerId, token: ClaimToken) {
        let inner = self.inner.clone();
        self.inner
            .draws
            .spawn(async move { inner.drive(id, token).await });
    }

    /// Takes over the claims whose holder died and drives them again. Returns how many.
    pub async fn sweep_once(&self) -> Result<usize, StoreError> {
        let s = &self.inner.settings;
        let now = OffsetDateTime::now_utc();
        let mut recovered = 0;
        for id in self.inner.db.expired_claims(now, SWEEP_BATCH).await? {
            let Some((token, record)) = self.inner.db.take_over_expired(id, now, s.lease).await?
            else {
                continue;
            };
            if record.attempts > s.max_attempts {
                let reason = format!("gave up after {} attempts", s.max_attempts);
                tracing::error!(customer = %id, attempts = record.attempts, "draw keeps being interrupted; {reason}");
                self.inner.db.fail(id, &token, &reason, now).await?;
                count("abandoned");
                continue;
            }
            tracing::info!(customer = %id, attempt = record.attempts, "re-driving an interrupted draw");
            metrics::counter!("cloudhp_draws_recovered_total").increment(1);
            self.spawn_draw(id, token);
            recovered += 1;
        }
        Ok(recovered)
    }

    /// Sweeps at start and then every `sweep_interval` until cancelled.
    pub async fn sweep_until(&self, cancel: CancellationToken) -> anyhow::Result<()> {
        loop {
            if let Err(e) = self.sweep_once().await {
                tracing::warn!(error = %chain(&e), "recovery sweep failed; retrying later");
            }
            tokio::select! {
                () = cancel.cancelled() => return Ok(()),
                () = tokio::time::sleep(self.inner.settings.sweep_interval) => {}
            }
        }
    }
}

impl Inner {
    /// Drives a held claim to its end: won, failed, or left for recovery when the database
    /// cannot be told.
    async fn drive(&self, id: CustomerId, token: ClaimToken) {
        let Ok(_slot) = self.slots.acquire().await else {
            return;
        };
        let _gauge = GaugeGuard::enter("cloudhp_draws_in_progress");
        let started = Instant::now();
        let s = &self.settings;

        let draw = match tokio::time::timeout(s.worker_timeout, self.worker.draw(id)).await {
            Ok(Ok(draw)) => draw,
            Ok(Err(e)) => return self.give_up(id, &token, &e.to_string()).await,
            Err(_) => {
                let e = ServiceError::timeout(super::worker::PRIZE_WORKER, s.worker_timeout);
                return self.give_up(id, &token, &e.to_string()).await;
            }
        };

        // Fencing: only a holder whose claim is still valid may store and record; renewing
        // also covers the store and the commit with a fresh lease.
        match self
            .db
            .renew(id, &token, OffsetDateTime::now_utc(), s.lease)
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(customer = %id, "claim was taken over during the draw; discarding this result");
                return count("lost_claim");
            }
            Err(e) => {
                tracing::warn!(customer = %id, error = %chain(&e), "cannot renew the claim; the draw will be recovered after its lease");
                return count("unrecorded");
            }
        }

        let key = picture_key(id.get());
        match tokio::time::timeout(s.store_timeout, self.images.put(&key, draw.jpeg)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::warn!(customer = %id, error = %chain(&e), "cannot store the prize picture");
                return self
                    .give_up(id, &token, &format!("{IMAGE_STORE} is unavailable"))
                    .await;
            }
            Err(_) => {
                tracing::warn!(customer = %id, "storing the prize picture timed out");
                let e = ServiceError::timeout(IMAGE_STORE, s.store_timeout);
                return self.give_up(id, &token, &e.to_string()).await;
            }
        }

        match self
            .db
            .complete(id, &token, &draw.prize, &key, OffsetDateTime::now_utc())
            .await
        {
            Ok(Completion::Recorded) => {
                tracing::info!(customer = %id, prize = draw.prize.file(), elapsed = ?started.elapsed(), "customer won");
                metrics::histogram!("cloudhp_draw_seconds").record(started.elapsed());
                count("won");
                for wake in &self.wake {
                    wake.notify_one();
                }
            }
            Ok(Completion::LostClaim) => {
                tracing::warn!(customer = %id, "claim was taken over before the result was recorded");
                count("lost_claim");
            }
            Err(e) => {
                tracing::warn!(customer = %id, error = %chain(&e), "cannot record the result; the draw will be recovered after its lease");
                count("unrecorded");
            }
        }
    }

    /// Ends a draw without a prize: the customer may play again.
    async fn give_up(&self, id: CustomerId, token: &ClaimToken, reason: &str) {
        tracing::warn!(customer = %id, reason, "draw failed; the customer may try again");
        count("failed");
        if let Err(e) = self
            .db
            .fail(id, token, reason, OffsetDateTime::now_utc())
            .await
        {
            tracing::warn!(customer = %id, error = %chain(&e), "cannot record the failure; the claim will expire and be retried");
        }
    }
}

#[async_trait]
impl Play for PlayService {
    async fn play(&self, customer: &Customer) -> Result<PlayReply, ServiceError> {
        let now = OffsetDateTime::now_utc();
        let claim = self
            .inner
            .db
            .claim(customer, now, self.inner.settings.lease)
            .await
            .map_err(|e| {
                tracing::warn!(customer = %customer.id, error = %chain(&e), "cannot claim the draw");
                ServiceError::unavailable(LOTTERY_DB)
            })?;
        Ok(match claim {
            Claim::Acquired(token) => {
                metrics::counter!("cloudhp_draws_started_total").increment(1);
                self.spawn_draw(customer.id, token);
                PlayReply {
                    outcome: PlayOutcome::Started,
                    status: PlayStatus {
                        state: PlayState::Drawing,
                        requested_at: Some(now),
                        ..PlayStatus::not_played(customer.id)
                    },
                }
            }
            Claim::Running(record) => PlayReply {
                outcome: PlayOutcome::AlreadyRunning,
                status: record.to_status(),
            },
            Claim::Played(record) => PlayReply {
                outcome: PlayOutcome::AlreadyPlayed,
                status: record.to_status(),
            },
        })
    }

    async fn availability(&self) -> Result<(), ServiceError> {
        self.inner.db.ping().await.map_err(|e| {
            tracing::warn!(error = %chain(&e), "lottery database does not answer");
            ServiceError::unavailable(LOTTERY_DB)
        })?;
        self.inner.worker.ping().await
    }
}
