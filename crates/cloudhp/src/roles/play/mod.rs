//! B: the one draw of each customer.
//!
//! 1. Claim the draw in the lottery database (a unique key on the customer id): exactly one
//!    caller wins, the others see the draw running or done.
//! 2. Call W in the background; the request that claimed returns at once.
//! 3. Renew the claim (fencing: a holder whose lease was taken over stops here), store the
//!    picture under the customer's key.
//! 4. Record the prize and the winner notification in one transaction, naming the claim token;
//!    with a prize catalog (`play.catalog`), W's "no prize" answer is recorded as such (no
//!    notification), and a prize whose stock is used up (checked in that transaction) is
//!    replaced by the catalog's fallback, its picture drawn here ([`prizes`]).
//!
//! A W failure marks the claim failed (no prize; the customer may try again). A process that
//! dies mid-draw leaves claims that name it as their holder (`play.instance`). When it starts
//! again it takes those over at once, whatever their lease, and drives them again (start-up
//! recovery). Claims whose holder does not come back expire; the sweeper of any play process
//! takes them over, batch after batch until none is left, and drives them again.
//!
//! The role in one place: its local service (here), its internal HTTP API (`api`), its client
//! for the processes where it does not run (`client`), its client of any W (`w_client`), and
//! its start-up (`wiring`).

pub mod api;
pub mod client;
#[cfg(test)]
pub(crate) mod contract;
pub mod prizes;
pub mod w_client;
pub mod wiring;

/// The routes of the play API, each written once for the API and its client: a path for one
/// customer, or with [`crate::rpc::ID`] the pattern the API serves.
pub mod routes {
    use std::fmt::Display;

    /// `GET`: whether a draw could start now.
    pub const AVAILABILITY: &str = "/v1/play/availability";

    /// `POST`: starts the customer's draw.
    pub fn player(id: impl Display) -> String {
        format!("/v1/play/players/{id}")
    }
}

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use cloudhp_core::retry::{Policy, Retryable};
use cloudhp_core::{
    CampaignWindow, Clock, CustomerId, Draw, DrawFailure, IdentityHandle, Play, PlayOutcome,
    PlayReply, PlayState, PlayStatus, ServiceError, WorkerHandle, system_clock,
};
use cloudhp_objects::{ImageStore, picture_key};
use cloudhp_store::{Claim, ClaimToken, Completion, LotteryDb, Outcome, StoreError, TakeOver};
use time::OffsetDateTime;
use tokio::sync::{Notify, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::identity::IDENTITY_SERVICE;
use super::picture::IMAGE_STORE;
use super::status::LOTTERY_DB;
use super::worker::PRIZE_WORKER;
use crate::telemetry::{GaugeGuard, chain};

/// How the play role is named to users when it fails.
pub const PLAY_SERVICE: &str = "the play service";

/// Claims listed and taken over per database round trip by a recovery; a recovery takes
/// batches until none is left.
const SWEEP_BATCH: u32 = 32;

/// Lease kept in hand beyond what the next steps of a draw may take, for the clocks of the
/// processes that could take the claim over: a claim with less left is renewed.
const LEASE_MARGIN: Duration = Duration::from_secs(5);

/// Why a draw is re-driven: the label `reason` of `cloudhp_draws_recovered_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Recovery {
    /// This process restarted and took over the claims its previous incarnation held.
    Restart,
    /// The claim's lease expired (its holder died and did not come back).
    Expired,
}

impl Recovery {
    fn label(self) -> &'static str {
        match self {
            Self::Restart => "restart",
            Self::Expired => "expired",
        }
    }
}

#[derive(Clone, Debug)]
pub struct PlaySettings {
    pub lease: Duration,
    pub worker_timeout: Duration,
    pub store_timeout: Duration,
    pub sweep_interval: Duration,
    pub max_attempts: u32,
    pub max_draws: u32,
    /// Draws admitted and not finished (running or waiting for one of `max_draws`): a press
    /// past it is refused as busy, so a burst never queues without bound.
    pub max_pending: u32,
    /// Presses outside it are refused ([`ServiceError::Closed`]).
    pub campaign: CampaignWindow,
    /// The holder named in this process's claims (`play.instance`): stable across restarts of
    /// one deployment slot, distinct between processes running at the same time.
    pub instance: String,
    /// The prize catalog's rules (`play.catalog`); `None`: every prize W answers is a win.
    pub prizes: Option<Arc<prizes::PrizeRules>>,
}

struct Inner {
    db: LotteryDb,
    /// Who the customer is: asked here, never taken from the caller.
    identity: IdentityHandle,
    worker: WorkerHandle,
    images: Arc<dyn ImageStore>,
    settings: PlaySettings,
    slots: Semaphore,
    draws: TaskTracker,
    /// Woken when a winner is recorded: an in-process notifier, or the event relay.
    wake: Vec<Arc<Notify>>,
    /// What the campaign's window is read against.
    clock: Clock,
    /// When this incarnation started: the claims it made itself lease past this plus the lease.
    started_at: OffsetDateTime,
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
        identity: IdentityHandle,
        worker: WorkerHandle,
        images: Arc<dyn ImageStore>,
        settings: PlaySettings,
        wake: Vec<Arc<Notify>>,
    ) -> Self {
        let slots = Semaphore::new(settings.max_draws.max(1) as usize);
        Self {
            inner: Arc::new(Inner {
                db,
                identity,
                worker,
                images,
                settings,
                slots,
                draws: TaskTracker::new(),
                wake,
                clock: system_clock(),
                started_at: OffsetDateTime::now_utc(),
            }),
        }
    }

    /// Reads the campaign's window against `clock`, not the system's.
    #[cfg(test)]
    pub fn with_clock(mut self, clock: Clock) -> Self {
        Arc::get_mut(&mut self.inner)
            .expect("with_clock is called before the service is shared")
            .clock = clock;
        self
    }

    /// The draws running in the background (waited for on shutdown).
    pub fn draws(&self) -> TaskTracker {
        self.inner.draws.clone()
    }

    /// Drives the claim `token`, whose lease was granted no earlier than `leased_at`.
    fn spawn_draw(&self, id: CustomerId, token: ClaimToken, leased_at: Instant) {
        let inner = self.inner.clone();
        self.inner
            .draws
            .spawn(async move { inner.drive(id, token, leased_at).await });
    }

    /// Takes over the claims whose holder died and whose lease expired, batch after batch
    /// until none is left, and drives them again (concurrently, within `max_draws`). Returns
    /// how many were re-driven.
    pub async fn sweep_once(&self) -> Result<usize, StoreError> {
        let s = &self.inner.settings;
        let mut recovered = 0;
        loop {
            // Each batch takes over what it lists (the lease moves into the future) or finds
            // it taken by someone else: the next batch lists only claims not seen yet.
            let (now, leased_at) = (OffsetDateTime::now_utc(), Instant::now());
            let expired = self.inner.db.expired_claims(now, SWEEP_BATCH).await?;
            for &id in &expired {
                let taken = self
                    .inner
                    .db
                    .take_over_expired(id, now, s.lease, &s.instance, s.max_attempts)
                    .await?;
                if self.redrive(taken, Recovery::Expired, leased_at) {
                    recovered += 1;
                }
            }
            if expired.len() < SWEEP_BATCH as usize {
                return Ok(recovered);
            }
        }
    }

    /// Start-up recovery: takes over every claim still drawing whose holder is this instance
    /// (a previous incarnation of this process that died mid-draw), whatever its lease, and
    /// drives them again. Returns how many were re-driven.
    pub async fn recover_own(&self) -> Result<usize, StoreError> {
        let s = &self.inner.settings;
        let mut recovered = 0;
        let mut after = None;
        loop {
            // By customer id after the last one seen: the claims taken over stay `drawing`
            // with this holder, and must not be listed (and taken over) again.
            let held = self
                .inner
                .db
                .held_claims(
                    &s.instance,
                    self.inner.started_at + s.lease,
                    after,
                    SWEEP_BATCH,
                )
                .await?;
            let (now, leased_at) = (OffsetDateTime::now_utc(), Instant::now());
            for claim in &held {
                let taken = self
                    .inner
                    .db
                    .take_over_held(claim, &s.instance, now, s.lease, s.max_attempts)
                    .await?;
                if self.redrive(taken, Recovery::Restart, leased_at) {
                    recovered += 1;
                }
            }
            match held.last() {
                Some(last) if held.len() == SWEEP_BATCH as usize => after = Some(last.customer_id),
                _ => return Ok(recovered),
            }
        }
    }

    /// Drives a claim just taken over again; a draw the store gave up (interrupted
    /// `max_attempts` times) is only counted. Returns whether it is driven again.
    fn redrive(&self, taken: Option<TakeOver>, why: Recovery, leased_at: Instant) -> bool {
        match taken {
            None => false,
            Some(TakeOver::GaveUp(record)) => {
                tracing::error!(customer = %record.customer.id, attempts = record.attempts, "draw keeps being interrupted; given up");
                count("abandoned");
                false
            }
            Some(TakeOver::Acquired(token, record)) => {
                let id = record.customer.id;
                tracing::info!(customer = %id, attempt = record.attempts, reason = why.label(), "re-driving an interrupted draw");
                metrics::counter!("cloudhp_draws_recovered_total", "reason" => why.label())
                    .increment(1);
                self.spawn_draw(id, token, leased_at);
                true
            }
        }
    }

    /// Recovers this instance's own interrupted draws at once (retried every
    /// `sweep_interval` until the database answers), then sweeps for expired claims at start
    /// and every `sweep_interval` until cancelled.
    pub async fn sweep_until(&self, cancel: CancellationToken) -> anyhow::Result<()> {
        let mut own_recovered = false;
        loop {
            if !own_recovered {
                match self.recover_own().await {
                    Ok(n) => {
                        own_recovered = true;
                        if n > 0 {
                            tracing::info!(
                                draws = n,
                                instance = %self.inner.settings.instance,
                                "re-driving the draws this instance held when it stopped"
                            );
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %chain(&e), "start-up recovery failed; retrying later");
                    }
                }
            }
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
    async fn drive(&self, id: CustomerId, token: ClaimToken, leased_at: Instant) {
        let Ok(_slot) = self.slots.acquire().await else {
            return;
        };
        let _gauge = GaugeGuard::enter("cloudhp_draws_in_progress");
        let started = Instant::now();
        let s = &self.settings;
        let mut leased_at = leased_at;

        // The wait for a slot may have outlived the claim's lease (a burst of plays): go on
        // only with a claim that is still ours, and enough lease for W's call.
        if !self
            .keep_claim(
                id,
                &token,
                &mut leased_at,
                s.worker_timeout + s.store_timeout,
                "while waiting for a slot",
            )
            .await
        {
            return;
        }

        // The one deadline of a W call, whichever W (ours in process, or any W over HTTP):
        // `play.worker_timeout`, within the claim's lease. The W client has none of its own.
        let draw = match tokio::time::timeout(s.worker_timeout, self.worker.draw(id)).await {
            Ok(Ok(draw)) => draw,
            Ok(Err(e)) => {
                let failure = match e {
                    ServiceError::Timeout { .. } => DrawFailure::WTimeout,
                    _ => DrawFailure::WFailed,
                };
                return self.give_up(id, &token, failure, &e.to_string()).await;
            }
            Err(_) => {
                let e = ServiceError::timeout(PRIZE_WORKER, s.worker_timeout);
                return self
                    .give_up(id, &token, DrawFailure::WTimeout, &e.to_string())
                    .await;
            }
        };

        // Fencing: only a holder whose claim is still valid may store and record; renewing
        // also covers the store and the commit with a fresh lease. Always asked of the
        // database (whatever the lease says here): a recoverer whose clock runs ahead may have
        // taken the claim over, and its picture must not be overwritten by ours.
        if !self
            .keep_claim(id, &token, &mut leased_at, s.lease, "during the draw")
            .await
        {
            return;
        }

        // The ticket is let go once stored: in a burst the draws that wait for the database
        // to record their result would otherwise hold every ticket at once.
        let Draw { prize, jpeg } = draw;
        let key = picture_key(id.get());
        match tokio::time::timeout(s.store_timeout, self.store(id, &key, jpeg)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::warn!(customer = %id, error = %chain(&e), "cannot store the prize picture");
                let reason = format!("{IMAGE_STORE} is unavailable");
                return self
                    .give_up(id, &token, DrawFailure::PictureFailed, &reason)
                    .await;
            }
            Err(_) => {
                tracing::warn!(customer = %id, "storing the prize picture timed out");
                let e = ServiceError::timeout(IMAGE_STORE, s.store_timeout);
                return self
                    .give_up(id, &token, DrawFailure::PictureTimeout, &e.to_string())
                    .await;
            }
        }

        let outcome = match &s.prizes {
            Some(rules) => rules.outcome(&prize),
            None => Outcome::Won {
                prize: prize.clone(),
                name: None,
            },
        };
        let mut recorded = self.record(id, &token, &outcome).await;
        if recorded == Some(Completion::OutOfStock) {
            tracing::info!(customer = %id, prize = prize.file(), "prize out of stock; recording the catalog's fallback");
            metrics::counter!("cloudhp_draws_out_of_stock_total").increment(1);
            let Some(fallback) = self.fall_back(id, &token).await else {
                return;
            };
            recorded = self.record(id, &token, &fallback).await;
            if recorded == Some(Completion::OutOfStock) {
                // The fallback prize is limited too (the database's stock says so, whatever
                // the file says): nothing is left to win.
                recorded = self
                    .record(id, &token, &Outcome::NoPrize { picture: None })
                    .await;
            }
        }
        if recorded == Some(Completion::Recorded) {
            metrics::histogram!("cloudhp_draw_seconds").record(started.elapsed());
            tracing::debug!(customer = %id, elapsed = ?started.elapsed(), "draw recorded");
        }
    }

    /// Records `outcome`; `None` when the database could not be told (the draw is then
    /// recovered after its lease).
    async fn record(
        &self,
        id: CustomerId,
        token: &ClaimToken,
        outcome: &Outcome,
    ) -> Option<Completion> {
        // Boxed: the transaction's future is the largest part of a draw's, and a draw in
        // flight (most of a burst, waiting for W) would carry its size all along.
        let recording = self
            .db
            .record_outcome(id, token, outcome, OffsetDateTime::now_utc());
        match Box::pin(recording).await {
            Ok(Completion::Recorded) => {
                match outcome {
                    Outcome::Won { prize, .. } => {
                        tracing::info!(customer = %id, prize = prize.file(), "customer won");
                        count("won");
                        for wake in &self.wake {
                            wake.notify_one();
                        }
                    }
                    Outcome::NoPrize { .. } => {
                        tracing::info!(customer = %id, "no prize this time");
                        count("no_prize");
                    }
                }
                Some(Completion::Recorded)
            }
            Ok(Completion::LostClaim) => {
                tracing::warn!(customer = %id, "claim was taken over before the result was recorded");
                count("lost_claim");
                Some(Completion::LostClaim)
            }
            Ok(Completion::OutOfStock) => Some(Completion::OutOfStock),
            Err(e) => {
                tracing::warn!(customer = %id, error = %chain(&e), "cannot record the result; the draw will be recovered after its lease");
                count("unrecorded");
                None
            }
        }
    }

    /// The catalog's fallback for a prize out of stock, its ticket drawn and stored in place of
    /// W's (so that the picture always shows what was recorded). `None` when the draw ended
    /// here (the picture could not be stored: failed, the customer may try again).
    async fn fall_back(&self, id: CustomerId, token: &ClaimToken) -> Option<Outcome> {
        let s = &self.settings;
        let (outcome, picture) = match &s.prizes {
            Some(rules) => {
                let (outcome, picture) = rules.fallback();
                (outcome, picture.cloned())
            }
            None => (Outcome::NoPrize { picture: None }, None),
        };
        let Some(picture) = picture else {
            return Some(outcome);
        };
        let text = id.to_string();
        let rendered =
            tokio::task::spawn_blocking(move || cloudhp_worker::render_ticket(&picture, &text))
                .await
                .map_err(anyhow::Error::from)
                .and_then(|r| r.map_err(anyhow::Error::from));
        let jpeg = match rendered {
            Ok(jpeg) => bytes::Bytes::from(jpeg),
            Err(e) => {
                tracing::warn!(customer = %id, error = %chain(&*e), "cannot draw the fallback's ticket");
                self.give_up(
                    id,
                    token,
                    DrawFailure::PictureFailed,
                    "cannot draw the ticket",
                )
                .await;
                return None;
            }
        };
        let key = picture_key(id.get());
        match tokio::time::timeout(s.store_timeout, self.store(id, &key, jpeg)).await {
            Ok(Ok(())) => Some(outcome),
            Ok(Err(e)) => {
                tracing::warn!(customer = %id, error = %chain(&e), "cannot store the fallback's picture");
                let reason = format!("{IMAGE_STORE} is unavailable");
                self.give_up(id, token, DrawFailure::PictureFailed, &reason)
                    .await;
                None
            }
            Err(_) => {
                let e = ServiceError::timeout(IMAGE_STORE, s.store_timeout);
                self.give_up(id, token, DrawFailure::PictureTimeout, &e.to_string())
                    .await;
                None
            }
        }
    }

    /// Makes sure the claim is ours for `next` more (plus [`LEASE_MARGIN`]); `false`
    /// (counted and logged) when it is not ours any more, or when the database cannot tell
    /// (the claim then expires and is recovered).
    ///
    /// A lease granted at `leased_at` that still covers that is ours without asking: nobody
    /// takes a claim over before its lease ends (but this instance's next incarnation, which
    /// means this one is gone, or a recoverer whose clock runs ahead of ours), so a draw that
    /// gets its slot at once makes no write before it calls W. Otherwise (and always when
    /// `next` is the whole lease) the claim is renewed, and `leased_at` moves.
    async fn keep_claim(
        &self,
        id: CustomerId,
        token: &ClaimToken,
        leased_at: &mut Instant,
        next: Duration,
        when: &str,
    ) -> bool {
        if leased_at.elapsed() + next + LEASE_MARGIN < self.settings.lease {
            return true;
        }
        let renewing_at = Instant::now();
        match self
            .db
            .renew(id, token, OffsetDateTime::now_utc(), self.settings.lease)
            .await
        {
            Ok(true) => {
                *leased_at = renewing_at;
                true
            }
            Ok(false) => {
                tracing::warn!(customer = %id, "claim was taken over {when}; stopping this draw");
                count("lost_claim");
                false
            }
            Err(e) => {
                tracing::warn!(customer = %id, error = %chain(&e), "cannot renew the claim; the draw will be recovered after its lease");
                count("unrecorded");
                false
            }
        }
    }

    /// Stores the picture, retrying a failed write a few times (a store that hiccups should
    /// not cost the customer their draw); the caller bounds the whole by `store_timeout`.
    async fn store(
        &self,
        id: CustomerId,
        key: &str,
        jpeg: bytes::Bytes,
    ) -> Result<(), cloudhp_objects::ObjectError> {
        let mut attempt = 0;
        (|| self.images.put(key, jpeg.clone()))
            .retry(Policy::linear(Duration::from_millis(200), 2))
            .notify(|e, _| {
                attempt += 1;
                tracing::info!(customer = %id, attempt, error = %chain(e), "storing the prize picture failed; retrying");
            })
            .await
    }

    /// Ends a draw without a prize, recording why (`failure`, and its text `reason`): the
    /// customer may play again.
    async fn give_up(
        &self,
        id: CustomerId,
        token: &ClaimToken,
        failure: DrawFailure,
        reason: &str,
    ) {
        tracing::warn!(customer = %id, failure = failure.as_str(), reason, "draw failed; the customer may try again");
        count("failed");
        if let Err(e) = self
            .db
            .fail(id, token, failure, reason, OffsetDateTime::now_utc())
            .await
        {
            tracing::warn!(customer = %id, error = %chain(&e), "cannot record the failure; the claim will expire and be retried");
        }
    }
}

#[async_trait]
impl Play for PlayService {
    async fn play(&self, id: CustomerId) -> Result<PlayReply, ServiceError> {
        // The name and address recorded with the draw (and mailed to the admins) are the
        // shop's, whatever the caller says: an unknown or deleted customer cannot play.
        self.inner.settings.campaign.check((self.inner.clock)())?;
        // Admitted draws are bounded: past `max_pending` a press is refused at once (503 and
        // `Retry-After` to the customer), before it costs a lookup or a write.
        if self.inner.draws.len() >= self.inner.settings.max_pending as usize {
            metrics::counter!("cloudhp_draws_refused_total", "reason" => "busy").increment(1);
            tracing::warn!(customer = %id, pending = self.inner.draws.len(), "too many draws pending; press refused");
            return Err(ServiceError::unavailable(PLAY_SERVICE));
        }
        let customer = &self.inner.identity.customer(id).await.map_err(|e| match e {
            // Whatever failed behind the identity role (its database, its process), the
            // customer is told the identity service is unavailable, as the web role says it.
            ServiceError::Unavailable { .. } | ServiceError::Timeout { .. } => {
                tracing::warn!(customer = %id, error = %e, "cannot look the customer up to play");
                ServiceError::unavailable(IDENTITY_SERVICE)
            }
            other => other,
        })?;
        let (now, leased_at) = (OffsetDateTime::now_utc(), Instant::now());
        let claim = self
            .inner
            .db
            .claim(
                customer,
                now,
                self.inner.settings.lease,
                &self.inner.settings.instance,
                self.inner.settings.max_attempts,
            )
            .await
            .map_err(|e| {
                tracing::warn!(customer = %customer.id, error = %chain(&e), "cannot claim the draw");
                ServiceError::unavailable(LOTTERY_DB)
            })?;
        Ok(match claim {
            Claim::Acquired(token) => {
                metrics::counter!("cloudhp_draws_started_total").increment(1);
                self.spawn_draw(customer.id, token, leased_at);
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use bytes::Bytes;
    use cloudhp_core::{Customer, Prize, Worker};
    use cloudhp_objects::{ObjectError, ObjectInfo, ObjectStream};
    use cloudhp_store::{PlayRecord, PoolSettings, RecordState};
    use tokio::sync::Semaphore;

    use super::*;

    /// A W that answers at once (with `fail`'s error when given), or, when `gate` is given,
    /// says it was called (`entered`) and waits for a permit.
    struct FakeW {
        fail: Option<ServiceError>,
        gate: Option<Arc<Semaphore>>,
        entered: Arc<Semaphore>,
    }

    impl FakeW {
        /// A W that answers (once `gate`, if any, lets it).
        fn new(gate: Option<Arc<Semaphore>>) -> Self {
            Self::failing(None, gate)
        }

        fn failing(fail: Option<ServiceError>, gate: Option<Arc<Semaphore>>) -> Self {
            Self {
                fail,
                gate,
                entered: Arc::new(Semaphore::new(0)),
            }
        }
    }

    #[async_trait]
    impl Worker for FakeW {
        async fn draw(&self, _: CustomerId) -> Result<Draw, ServiceError> {
            self.entered.add_permits(1);
            if let Some(gate) = &self.gate {
                let _ = gate.acquire().await;
            }
            if let Some(e) = &self.fail {
                return Err(e.clone());
            }
            Ok(Draw {
                prize: Prize::parse("drone.jpg").unwrap(),
                jpeg: Bytes::from_static(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0xFF, 0xD9]),
            })
        }
        async fn ping(&self) -> Result<(), ServiceError> {
            Ok(())
        }
    }

    /// A store that refuses the first `failures` writes, and counts them all.
    #[derive(Debug, Default)]
    struct FakeStore {
        failures: u32,
        puts: AtomicU32,
    }

    #[async_trait]
    impl ImageStore for FakeStore {
        async fn put(&self, _: &str, _: Bytes) -> Result<(), ObjectError> {
            let n = self.puts.fetch_add(1, Ordering::SeqCst);
            if n < self.failures {
                return Err(ObjectError::Unavailable("hiccup".into()));
            }
            Ok(())
        }
        async fn head(&self, _: &str) -> Result<Option<ObjectInfo>, ObjectError> {
            Ok(None)
        }
        async fn get(&self, _: &str) -> Result<Option<(ObjectInfo, ObjectStream)>, ObjectError> {
            Ok(None)
        }
        async fn ready(&self) -> Result<(), ObjectError> {
            Ok(())
        }
    }

    /// The shop: customer 9 only.
    struct FakeShop;

    #[async_trait]
    impl cloudhp_core::Identity for FakeShop {
        async fn customer_count(&self) -> Result<u64, cloudhp_core::ServiceError> {
            Ok(0)
        }
        async fn customer(&self, id: CustomerId) -> Result<Customer, ServiceError> {
            if id == customer().id {
                Ok(customer())
            } else {
                Err(ServiceError::NotFound)
            }
        }
    }

    struct Setup {
        service: PlayService,
        db: LotteryDb,
        store: Arc<FakeStore>,
        _dir: tempfile::TempDir,
    }

    async fn setup(worker: FakeW, failures: u32) -> Setup {
        setup_with(worker, failures, 1000).await
    }

    async fn setup_with(worker: FakeW, failures: u32, max_pending: u32) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("l.db").display());
        let db = LotteryDb::connect_lazy(&url, &PoolSettings::default()).unwrap();
        db.migrate().await.unwrap();
        let store = Arc::new(FakeStore {
            failures,
            ..FakeStore::default()
        });
        let service = PlayService::new(
            db.clone(),
            Arc::new(FakeShop),
            Arc::new(worker),
            store.clone(),
            PlaySettings {
                lease: Duration::from_secs(60),
                worker_timeout: Duration::from_secs(5),
                store_timeout: Duration::from_secs(5),
                sweep_interval: Duration::from_secs(1),
                max_attempts: 3,
                max_draws: 8,
                max_pending,
                campaign: CampaignWindow::default(),
                instance: "test-1".into(),
                prizes: None,
            },
            Vec::new(),
        );
        Setup {
            service,
            db,
            store,
            _dir: dir,
        }
    }

    fn customer() -> Customer {
        Customer {
            id: CustomerId::new(9).unwrap(),
            firstname: "A".into(),
            lastname: "B".into(),
            email: "a@b.example".into(),
            language: None,
        }
    }

    async fn finish(s: &Setup) {
        let draws = s.service.draws();
        draws.close();
        draws.wait().await;
    }

    #[tokio::test]
    async fn presses_past_max_pending_are_refused_as_busy_until_draws_finish() {
        let gate = Arc::new(Semaphore::new(0));
        let s = setup_with(FakeW::new(Some(gate.clone())), 0, 1).await;
        let id = customer().id;
        let first = s.service.play(id).await.unwrap();
        assert_eq!(first.outcome, PlayOutcome::Started);
        // One draw pending: the next press is refused before any lookup or write.
        assert_eq!(
            s.service.play(id).await.unwrap_err(),
            ServiceError::unavailable(PLAY_SERVICE)
        );
        let record = s.db.record(id).await.unwrap().unwrap();
        assert_eq!(record.attempts, 1, "the refused press wrote nothing");
        gate.add_permits(1);
        finish(&s).await;
        assert_eq!(
            s.service.play(id).await.unwrap().outcome,
            PlayOutcome::AlreadyPlayed,
            "admitted again once the draw finished"
        );
    }

    /// The customer's play started with `worker` and a store failing `failures` times, run to
    /// its end: the setup, the play's outcome and the customer's record.
    async fn play_to_the_end(worker: FakeW, failures: u32) -> (Setup, PlayOutcome, PlayRecord) {
        let s = setup(worker, failures).await;
        let reply = s.service.play(customer().id).await.unwrap();
        finish(&s).await;
        let record = s.db.record(customer().id).await.unwrap().unwrap();
        (s, reply.outcome, record)
    }

    /// The customer's play started and its draw held inside W until a permit is added to the
    /// gate returned.
    async fn play_held_in_w() -> (Setup, Arc<Semaphore>) {
        let gate = Arc::new(Semaphore::new(0));
        let worker = FakeW::new(Some(gate.clone()));
        let entered = worker.entered.clone();
        let s = setup(worker, 0).await;
        s.service.play(customer().id).await.unwrap();
        entered.acquire().await.unwrap().forget();
        (s, gate)
    }

    #[tokio::test]
    async fn a_store_hiccup_is_retried_and_the_draw_completes() {
        let (s, outcome, record) = play_to_the_end(FakeW::new(None), 2).await;
        assert_eq!(outcome, PlayOutcome::Started);
        assert_eq!(record.state, RecordState::Won);
        assert_eq!(s.store.puts.load(Ordering::SeqCst), 3);
        assert_eq!(s.db.pending_notifications().await.unwrap(), 1);
    }

    /// Each way a draw fails is recorded as its kind, beside its text, with no prize and no
    /// mail, and shown so on the status; the customer may play again.
    #[tokio::test]
    async fn a_failed_draw_records_its_kind_and_no_prize() {
        let down = ServiceError::unavailable("the prize worker");
        let late = ServiceError::timeout("the prize worker", Duration::from_secs(30));
        // W, the store's failures, the kind and text recorded, whether the store was asked to
        // put a picture (and failed: nothing is stored).
        let cases = [
            (
                FakeW::new(None),
                100,
                DrawFailure::PictureFailed,
                format!("{IMAGE_STORE} is unavailable"),
                true,
            ),
            (
                FakeW::failing(Some(down.clone()), None),
                0,
                DrawFailure::WFailed,
                down.to_string(),
                false,
            ),
            (
                FakeW::failing(Some(late.clone()), None),
                0,
                DrawFailure::WTimeout,
                late.to_string(),
                false,
            ),
        ];
        for (worker, store_failures, kind, text, put_tried) in cases {
            let (s, _, record) = play_to_the_end(worker, store_failures).await;
            assert_eq!(record.state, RecordState::Failed, "{kind:?}");
            assert_eq!(record.failure, Some(kind));
            assert_eq!(record.to_status().last_failure, Some(kind));
            assert_eq!(record.prize, None, "{kind:?}");
            assert_eq!(
                record.last_error,
                Some(text),
                "{kind:?}: its text beside the kind"
            );
            assert_eq!(
                s.store.puts.load(Ordering::SeqCst) > 0,
                put_tried,
                "{kind:?}"
            );
            assert_eq!(s.db.pending_notifications().await.unwrap(), 0, "{kind:?}");
            let again = s.service.play(customer().id).await.unwrap();
            assert_eq!(
                again.outcome,
                PlayOutcome::Started,
                "{kind:?}: may play again"
            );
        }
    }

    #[tokio::test]
    async fn a_holder_taken_over_during_w_neither_stores_nor_records() {
        // W is working on it: the holder renewed its claim after its slot and called W.
        let (s, gate) = play_held_in_w().await;
        // While W works, the lease is (made to look) expired and a recovery takes the claim.
        let later = OffsetDateTime::now_utc() + time::Duration::minutes(5);
        let Some(TakeOver::Acquired(new_token, _)) =
            s.db.take_over_expired(customer().id, later, Duration::from_secs(600), "other", 3)
                .await
                .unwrap()
        else {
            panic!("the claim can be taken over");
        };
        gate.add_permits(1);
        finish(&s).await;
        // The old holder stopped at its renewal: no picture written, nothing recorded.
        assert_eq!(s.store.puts.load(Ordering::SeqCst), 0);
        let record = s.db.record(customer().id).await.unwrap().unwrap();
        assert_eq!(record.state, RecordState::Drawing);
        assert!(
            s.db.renew(customer().id, &new_token, later, Duration::from_secs(60))
                .await
                .unwrap()
        );
    }

    fn customer_n(n: u32) -> Customer {
        Customer {
            id: CustomerId::new(n).unwrap(),
            ..customer()
        }
    }

    /// Claims `ids` for `holder` as a process that then died would have, `age` ago.
    async fn dead_claims(db: &LotteryDb, ids: std::ops::Range<u32>, holder: &str, age: Duration) {
        let then = OffsetDateTime::now_utc() - age;
        for n in ids {
            let claim = db
                .claim(&customer_n(n), then, Duration::from_secs(60), holder, 3)
                .await
                .unwrap();
            assert!(matches!(claim, Claim::Acquired(_)));
        }
    }

    async fn states(db: &LotteryDb, ids: std::ops::Range<u32>) -> Vec<RecordState> {
        let mut states = Vec::new();
        for n in ids {
            states.push(db.record(customer_n(n).id).await.unwrap().unwrap().state);
        }
        states
    }

    #[tokio::test]
    async fn one_sweep_recovers_every_expired_claim_not_just_a_batch() {
        let s = setup(FakeW::new(None), 0).await;
        let n = SWEEP_BATCH * 2 + 5;
        dead_claims(&s.db, 100..100 + n, "gone", Duration::from_secs(120)).await;
        assert_eq!(s.service.sweep_once().await.unwrap(), n as usize);
        finish(&s).await;
        let states = states(&s.db, 100..100 + n).await;
        assert!(
            states.iter().all(|&st| st == RecordState::Won),
            "{states:?}"
        );
        assert_eq!(s.db.pending_notifications().await.unwrap(), u64::from(n));
        // Nothing is left for a second sweep.
        assert_eq!(s.service.sweep_once().await.unwrap(), 0);
    }

    #[tokio::test]
    async fn a_restart_recovers_its_own_claims_at_once_and_only_those() {
        let s = setup(FakeW::new(None), 0).await;
        let n = SWEEP_BATCH + 3;
        // Claimed a second ago: the leases (60 s) are far from expired.
        dead_claims(&s.db, 200..200 + n, "test-1", Duration::from_secs(1)).await;
        dead_claims(&s.db, 300..302, "another", Duration::from_secs(1)).await;
        assert_eq!(s.service.sweep_once().await.unwrap(), 0, "nothing expired");
        assert_eq!(s.service.recover_own().await.unwrap(), n as usize);
        finish(&s).await;
        let own = states(&s.db, 200..200 + n).await;
        assert!(own.iter().all(|&st| st == RecordState::Won), "{own:?}");
        let record = s.db.record(customer_n(200).id).await.unwrap().unwrap();
        assert_eq!(record.attempts, 2);
        // Another instance's live claims are left to it.
        let others = states(&s.db, 300..302).await;
        assert_eq!(others, vec![RecordState::Drawing; 2]);
        assert_eq!(s.service.recover_own().await.unwrap(), 0);
    }

    #[tokio::test]
    async fn start_up_recovery_never_takes_over_the_draws_of_this_incarnation() {
        // A press of this process, its draw in W: live, held by this very instance.
        let (s, gate) = play_held_in_w().await;
        // A recovery that runs late (the database answered only now) leaves it alone.
        assert_eq!(s.service.recover_own().await.unwrap(), 0);
        gate.add_permits(1);
        finish(&s).await;
        let record = s.db.record(customer().id).await.unwrap().unwrap();
        assert_eq!((record.state, record.attempts), (RecordState::Won, 1));
        assert_eq!(s.store.puts.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_restart_gives_up_a_draw_interrupted_too_often() {
        let s = setup(FakeW::new(None), 0).await;
        dead_claims(&s.db, 400..401, "test-1", Duration::from_secs(1)).await;
        // Two more interrupted recoveries: attempts reach max_attempts (3).
        for _ in 0..2 {
            let held =
                s.db.held_claims(
                    "test-1",
                    OffsetDateTime::now_utc() + Duration::from_secs(3600),
                    None,
                    10,
                )
                .await
                .unwrap();
            // (Before this incarnation started: earlier incarnations did these.)
            s.db.take_over_held(
                &held[0],
                "test-1",
                OffsetDateTime::now_utc() - Duration::from_secs(2),
                Duration::from_secs(60),
                3,
            )
            .await
            .unwrap()
            .unwrap();
        }
        assert_eq!(s.service.recover_own().await.unwrap(), 0);
        finish(&s).await;
        let record = s.db.record(customer_n(400).id).await.unwrap().unwrap();
        assert_eq!(record.state, RecordState::Failed);
        assert_eq!(record.failure, Some(DrawFailure::Abandoned));
        assert_eq!(record.attempts, 3, "never driven beyond max_attempts");
        assert_eq!(s.store.puts.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn a_customer_the_shop_does_not_know_cannot_play() {
        let s = setup(FakeW::new(None), 0).await;
        let stranger = CustomerId::new(999_999).unwrap();
        assert_eq!(s.service.play(stranger).await, Err(ServiceError::NotFound));
        finish(&s).await;
        assert_eq!(s.db.record(stranger).await.unwrap(), None);
        assert_eq!(s.store.puts.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn presses_outside_the_campaign_window_start_nothing() {
        let mut s = setup(FakeW::new(None), 0).await;
        let start = time::macros::datetime!(2026-12-01 09:00 UTC);
        let end = time::macros::datetime!(2026-12-24 18:00 UTC);
        let now = Arc::new(std::sync::Mutex::new(start - time::Duration::SECOND));
        let clock_now = now.clone();
        let mut settings = s.service.inner.settings.clone();
        settings.campaign = CampaignWindow {
            starts_at: Some(start),
            ends_at: Some(end),
        };
        s.service = PlayService::new(
            s.db.clone(),
            Arc::new(FakeShop),
            Arc::new(FakeW::new(None)),
            s.store.clone(),
            settings,
            Vec::new(),
        )
        .with_clock(Arc::new(move || *clock_now.lock().unwrap()));
        let id = customer().id;
        // A second before the start: refused, nothing recorded.
        assert!(matches!(
            s.service.play(id).await,
            Err(ServiceError::Closed { .. })
        ));
        assert_eq!(s.db.record(id).await.unwrap(), None);
        // At the end exactly: refused.
        *now.lock().unwrap() = end;
        assert!(matches!(
            s.service.play(id).await,
            Err(ServiceError::Closed { .. })
        ));
        assert_eq!(s.db.record(id).await.unwrap(), None);
        // At the start exactly: the draw starts.
        *now.lock().unwrap() = start;
        assert_eq!(
            s.service.play(id).await.unwrap().outcome,
            PlayOutcome::Started
        );
        finish(&s).await;
    }

    #[tokio::test]
    async fn concurrent_plays_start_one_draw() {
        let s = setup(FakeW::new(None), 0).await;
        let plays: Vec<_> = (0..20)
            .map(|_| {
                let service = s.service.clone();
                tokio::spawn(async move { service.play(customer().id).await.unwrap().outcome })
            })
            .collect();
        let mut started = 0;
        for play in plays {
            if play.await.unwrap() == PlayOutcome::Started {
                started += 1;
            }
        }
        assert_eq!(started, 1);
        finish(&s).await;
        assert_eq!(s.store.puts.load(Ordering::SeqCst), 1);
        assert_eq!(s.db.pending_notifications().await.unwrap(), 1);
    }

    /// A burst keeps thousands of draws in flight, each one's future allocated for as long as
    /// it waits for W: the rare, large steps (recording in a transaction) are boxed, so that
    /// a draw waiting costs about a kilobyte (5,664 bytes before, in this unoptimised build).
    #[tokio::test]
    async fn a_draw_in_flight_is_small() {
        let s = setup(FakeW::new(None), 0).await;
        let now = OffsetDateTime::now_utc();
        let Claim::Acquired(token) =
            s.db.claim(&customer(), now, Duration::from_secs(60), "t", 3)
                .await
                .unwrap()
        else {
            panic!("the customer has not played");
        };
        let draw = s.service.inner.drive(customer().id, token, Instant::now());
        let size = std::mem::size_of_val(&draw);
        assert!(size <= 2048, "a draw's future takes {size} bytes");
    }
}
