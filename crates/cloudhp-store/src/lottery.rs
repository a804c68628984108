//! The lottery database: the claim state machine of each customer's one draw, and the outbox.
//!
//! ```text
//!               claim (insert)                 complete (same tx: outbox row)
//!   (no row) ───────────────────▶ drawing ────────────────────────────────▶ won
//!                                  │  ▲  │ └────────────────────────────────▶ no_prize
//!                                  │  ▲  │   complete with no prize (no outbox row)
//!                  fail (W error)  │  │  │ lease expired: take over (new token)
//!                                  ▼  │  └──────────────▶ drawing (re-driven)
//!                                 failed ──── claim again (customer retries)
//! ```
//!
//! A win of a prize listed in `prize_stock` takes one of its stock in the transaction that
//! records it; when none is left, nothing is recorded ([`Completion::OutOfStock`]) and the
//! holder records the catalog's fallback instead ([`LotteryDb::sync_stock`],
//! [`LotteryDb::prize_stock`]).
//!
//! Every transition out of `drawing` names the claim token it was given, so a holder whose
//! lease was taken over can no longer record anything (fencing).
//!
//! A draw is driven at most `max_attempts` times (`play.max_attempts`): the first claim, then
//! each take-over of an interrupted claim, whoever takes it over (a sweeper, a restarted holder,
//! the customer's own click), counts one attempt. The take-overs below check the count in their
//! SQL, so no path can drive a draw once more: a sweeper or a restarted holder that finds the
//! attempts used gives the draw up as `failed` instead, and a customer's click on it starts a
//! new draw, counted from 1, as a click after any failure does.
//!
//! A claim also records its holder, the play process instance that drives it (`holder`): a
//! process that restarts takes over the claims its previous incarnation held at once, whatever
//! their lease ([`LotteryDb::held_claims`], [`LotteryDb::take_over_held`]); the claims of
//! other instances are taken over only once their lease expired.

use std::sync::Arc;
use std::time::Duration;

use cloudhp_core::retry::{Policy, Retryable};
use cloudhp_core::{Customer, CustomerId, DrawFailure, PlayState, PlayStatus, Prize, WinnerNotice};
use sqlx::migrate::Migrator;
use time::OffsetDateTime;

use crate::in_place::{InPlaceError, InPlaceReads};
use crate::{Pool, PoolSettings, StoreError, duration_millis, from_millis, millis, on_pool};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static MYSQL_MIGRATIONS: Migrator = sqlx::migrate!("migrations/mysql");

/// The kind of the outbox entries queued for winners.
pub const WINNER: &str = "winner";

/// Proof of holding a customer's draw; required by every later transition of that draw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimToken(String);

impl ClaimToken {
    fn new() -> Self {
        Self(uuid::Uuid::new_v4().simple().to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The state of a row of `plays`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordState {
    Drawing,
    Won,
    /// The draw ended with "no prize": played, not a win.
    NoPrize,
    Failed,
}

impl RecordState {
    /// Whether the customer's one draw is over (won, or no prize).
    pub fn is_played(self) -> bool {
        matches!(self, Self::Won | Self::NoPrize)
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "drawing" => Ok(Self::Drawing),
            "won" => Ok(Self::Won),
            "no_prize" => Ok(Self::NoPrize),
            "failed" => Ok(Self::Failed),
            other => Err(StoreError::Corrupt(format!("unknown play state `{other}`"))),
        }
    }
}

/// One customer's row of `plays`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlayRecord {
    pub customer: Customer,
    pub state: RecordState,
    pub attempts: u32,
    pub lease_until: OffsetDateTime,
    pub requested_at: OffsetDateTime,
    pub played_at: Option<OffsetDateTime>,
    pub prize: Option<Prize>,
    /// The catalog's name of the prize, recorded with the result.
    pub prize_name: Option<String>,
    /// Why the last attempt failed (`failed` rows; `None` for rows from before the kind was
    /// recorded), its text in `last_error`.
    pub failure: Option<DrawFailure>,
    pub last_error: Option<String>,
    pub updated_at: OffsetDateTime,
    /// The play process instance that claimed or last took over the draw; `None` for rows
    /// from before holders were recorded.
    pub holder: Option<String>,
}

impl PlayRecord {
    /// What the status role reports for this row.
    pub fn to_status(&self) -> PlayStatus {
        let id = self.customer.id;
        match self.state {
            RecordState::Won | RecordState::NoPrize => PlayStatus {
                customer_id: id,
                state: if self.state == RecordState::Won {
                    PlayState::Won
                } else {
                    PlayState::NoPrize
                },
                prize: self.prize.clone(),
                prize_name: self.prize_name.clone(),
                requested_at: Some(self.requested_at),
                played_at: self.played_at,
                last_failure_at: None,
                last_failure: None,
            },
            RecordState::Drawing => PlayStatus {
                customer_id: id,
                state: PlayState::Drawing,
                prize: None,
                prize_name: None,
                requested_at: Some(self.requested_at),
                played_at: None,
                last_failure_at: None,
                last_failure: None,
            },
            RecordState::Failed => PlayStatus {
                last_failure_at: Some(self.updated_at),
                last_failure: self.failure,
                ..PlayStatus::not_played(id)
            },
        }
    }
}

/// What a claim attempt found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claim {
    /// The caller now holds the draw and must drive it to `won` or `failed`.
    Acquired(ClaimToken),
    /// Someone else holds a live claim.
    Running(PlayRecord),
    /// The customer already played (won, or no prize).
    Played(PlayRecord),
}

/// A drawing claim held by a given instance, as listed for its take-over after a restart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeldClaim {
    pub customer_id: CustomerId,
    /// The token the claim had when listed: the take-over succeeds only if it is unchanged.
    pub token: ClaimToken,
}

/// What a take-over of an interrupted claim did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TakeOver {
    /// The caller holds the draw now (a new token, one more attempt) and must drive it again.
    Acquired(ClaimToken, PlayRecord),
    /// The draw was driven `max_attempts` times already: it is marked failed instead (no
    /// prize; the customer may press Play again).
    GaveUp(PlayRecord),
}

/// What recording a result led to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Completion {
    /// Result and outbox entry committed together.
    Recorded,
    /// The claim was taken over (lease expired): nothing was recorded.
    LostClaim,
    /// The prize's stock is used up: nothing was recorded, the claim is still held (the
    /// holder records the catalog's fallback instead).
    OutOfStock,
}

/// The result of a draw, as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A prize: recorded only while its stock lasts (when `prize_stock` lists it), with a
    /// winner notification in the same transaction.
    Won {
        prize: Prize,
        /// The catalog's name of the prize.
        name: Option<String>,
    },
    /// No prize: played, not a win, no notification. `picture`: the "no prize" picture when
    /// the stored picture shows it.
    NoPrize { picture: Option<Prize> },
}

/// One prize of the catalog, as [`LotteryDb::sync_stock`] keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StockSpec {
    pub prize: Prize,
    pub name: Option<String>,
    /// `None`: unlimited.
    pub stock: Option<u64>,
}

/// Where a prize of the catalog stands ([`LotteryDb::prize_stock`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrizeStock {
    /// The prize as the catalog last listed it: picture file name, name, stock.
    pub spec: StockSpec,
    /// Wins recorded.
    pub won: u64,
}

impl PrizeStock {
    /// What can still be won (`None`: unlimited); never below 0, even after the stock was
    /// lowered under what was won.
    pub fn left(&self) -> Option<u64> {
        self.spec.stock.map(|s| s.saturating_sub(self.won))
    }
}

/// An outbox entry leased to a notifier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    pub id: i64,
    pub kind: String,
    pub customer_id: CustomerId,
    pub payload: String,
    pub attempts: u32,
    pub created_at: OffsetDateTime,
}

impl Notification {
    pub fn winner(&self) -> Result<WinnerNotice, StoreError> {
        serde_json::from_str(&self.payload).map_err(|e| {
            StoreError::Corrupt(format!(
                "outbox entry {} is not a winner notice: {e}",
                self.id
            ))
        })
    }
}

/// How many customers stand in each state of `plays` ([`LotteryDb::play_counts`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PlayCounts {
    pub drawing: u64,
    pub won: u64,
    pub no_prize: u64,
    pub failed: u64,
}

impl PlayCounts {
    /// Customers whose draw is over (won, or no prize).
    pub fn played(&self) -> u64 {
        self.won + self.no_prize
    }
}

/// Outbox totals, for metrics and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OutboxCounts {
    pub pending: u64,
    pub delivered: u64,
}

#[derive(sqlx::FromRow)]
#[cfg_attr(test, derive(Debug, PartialEq))]
struct PlayRow {
    customer_id: i64,
    state: String,
    attempts: i64,
    lease_until: i64,
    requested_at: i64,
    played_at: Option<i64>,
    prize: Option<String>,
    prize_name: Option<String>,
    firstname: String,
    lastname: String,
    email: String,
    failure: Option<String>,
    last_error: Option<String>,
    updated_at: i64,
    holder: Option<String>,
}

impl PlayRow {
    /// The row as SQLite's own API reads it (the read in place), by the names of
    /// [`SELECT_PLAY`]'s columns, as sqlx's `FromRow` does.
    fn from_sqlite(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            customer_id: row.get("customer_id")?,
            state: row.get("state")?,
            attempts: row.get("attempts")?,
            lease_until: row.get("lease_until")?,
            requested_at: row.get("requested_at")?,
            played_at: row.get("played_at")?,
            prize: row.get("prize")?,
            prize_name: row.get("prize_name")?,
            firstname: row.get("firstname")?,
            lastname: row.get("lastname")?,
            email: row.get("email")?,
            failure: row.get("failure")?,
            last_error: row.get("last_error")?,
            updated_at: row.get("updated_at")?,
            holder: row.get("holder")?,
        })
    }

    fn into_record(self) -> Result<PlayRecord, StoreError> {
        let id = customer_id(self.customer_id)?;
        let prize = match self.prize {
            Some(p) => Some(
                Prize::parse(&p)
                    .ok_or_else(|| StoreError::Corrupt(format!("invalid prize name `{p}`")))?,
            ),
            None => None,
        };
        Ok(PlayRecord {
            customer: Customer {
                id,
                firstname: self.firstname,
                lastname: self.lastname,
                email: self.email,
                language: None,
            },
            state: RecordState::parse(&self.state)?,
            attempts: u32::try_from(self.attempts).unwrap_or(u32::MAX),
            lease_until: from_millis(self.lease_until)?,
            requested_at: from_millis(self.requested_at)?,
            played_at: self.played_at.map(from_millis).transpose()?,
            prize,
            prize_name: self.prize_name,
            // A code of a newer version is unknown here: the text still says what happened.
            failure: self.failure.as_deref().and_then(DrawFailure::parse),
            last_error: self.last_error,
            updated_at: from_millis(self.updated_at)?,
            holder: self.holder,
        })
    }
}

#[derive(sqlx::FromRow)]
struct OutboxRow {
    id: i64,
    kind: String,
    customer_id: i64,
    payload: String,
    attempts: i64,
    created_at: i64,
}

impl OutboxRow {
    fn into_notification(self) -> Result<Notification, StoreError> {
        Ok(Notification {
            id: self.id,
            kind: self.kind,
            customer_id: customer_id(self.customer_id)?,
            payload: self.payload,
            attempts: u32::try_from(self.attempts).unwrap_or(u32::MAX),
            created_at: from_millis(self.created_at)?,
        })
    }
}

pub(crate) fn customer_id(raw: i64) -> Result<CustomerId, StoreError> {
    u32::try_from(raw)
        .ok()
        .and_then(CustomerId::new)
        .ok_or_else(|| StoreError::Corrupt(format!("invalid customer id {raw}")))
}

/// The fence of a held claim: `UPDATE plays SET <set>` (binding `binds` in order) on
/// `executor`, applied only while `token` still holds the draw of `id`; whether it applied.
/// Every write of a draw in flight (renewal, result, failure) goes through it, so none lands
/// for a holder whose claim was taken over.
macro_rules! fenced_on {
    ($executor:expr, $set:literal, [$($bind:expr),* $(,)?], $id:expr, $token:expr) => {
        sqlx::query(concat!(
            "UPDATE plays SET ",
            $set,
            " WHERE customer_id = ? AND claim_token = ? AND state = 'drawing'"
        ))
        $(.bind($bind))*
        .bind(i64::from($id.get()))
        .bind($token.as_str())
        .execute($executor)
        .await?
        .rows_affected()
            == 1
    };
}

/// [`fenced_on!`] a connection of `pool`.
macro_rules! fenced {
    ($pool:expr, $set:literal, [$($bind:expr),* $(,)?], $id:expr, $token:expr) => {
        on_pool!($pool, |p| fenced_on!(p, $set, [$($bind),*], $id, $token))
    };
}

const SELECT_PLAY: &str = "SELECT customer_id, state, attempts, lease_until, requested_at, \
     played_at, prize, prize_name, firstname, lastname, email, failure, last_error, updated_at, holder \
     FROM plays WHERE customer_id = ?";

/// The row of `id` read by SQLite in the calling thread.
fn read_in_place(reads: &InPlaceReads, id: CustomerId) -> Result<Option<PlayRow>, InPlaceError> {
    reads.with(|conn| {
        let mut select = conn.prepare_cached(SELECT_PLAY)?;
        let mut rows = select.query([i64::from(id.get())])?;
        rows.next()?.map(PlayRow::from_sqlite).transpose()
    })
}

/// The lottery database.
///
/// Its connections are split by what waits on them, so that a crowd of pages can never starve
/// the draws in flight of the connections they need to renew and record (see
/// [`LotteryDb::connect_lazy`]).
#[derive(Clone, Debug)]
pub struct LotteryDb {
    /// Claims, the outbox, the mailing, migrations: everything not below.
    pub(crate) pool: Pool,
    /// The status lookups of the pages and the admin area's reports.
    pub(crate) reads: Pool,
    /// The writes of the draws in flight: renewals, results, failures, take-overs.
    pub(crate) draws: Pool,
    /// SQLite in a file: the play record of a page read in place, without the hop to a
    /// connection's thread (see [`crate::in_place`]).
    in_place: Option<Arc<InPlaceReads>>,
}

/// How long a write waits for SQLite's one writer connection: as long as a connection of its
/// own would have waited for the database's lock (its busy timeout).
const SQLITE_WRITER_WAIT: Duration = Duration::from_secs(10);

impl LotteryDb {
    /// Opens the database at `url` (lazily: see [`Pool::connect_lazy`]).
    ///
    /// - SQLite: `settings.max_connections` connections for the reads, and **one** writer
    ///   connection shared by every write. SQLite lets one writer in at a time; writes queued
    ///   in order on one connection beat writers on several connections retrying a busy lock
    ///   (with growing sleeps) by far under a burst of presses, and the reads never wait for
    ///   them (WAL).
    /// - MySQL/MariaDB: `settings.max_connections` connections for the pages and the claims,
    ///   and as many more of their own for the draws in flight.
    /// - An SQLite database in memory is one connection: every part shares it.
    pub fn connect_lazy(url: &str, settings: &PoolSettings) -> Result<Self, StoreError> {
        let pool = Pool::connect_lazy(url, settings)?;
        Ok(match (&pool, Pool::sqlite_file(url)) {
            (Pool::Sqlite(_), None) => Self::from_pool(pool),
            (Pool::Sqlite(_), Some(path)) => {
                let writer = Pool::connect_lazy(
                    url,
                    &PoolSettings {
                        max_connections: 1,
                        acquire_timeout: settings.acquire_timeout.max(SQLITE_WRITER_WAIT),
                        ..settings.clone()
                    },
                )?;
                Self {
                    reads: pool,
                    draws: writer.clone(),
                    pool: writer,
                    in_place: Some(Arc::new(InPlaceReads::new(path))),
                }
            }
            (Pool::MySql(_), _) => Self {
                reads: pool.clone(),
                draws: Pool::connect_lazy(url, settings)?,
                pool,
                in_place: None,
            },
        })
    }

    /// One pool for everything (tests, and tools that make a few calls).
    pub fn from_pool(pool: Pool) -> Self {
        Self {
            reads: pool.clone(),
            draws: pool.clone(),
            pool,
            in_place: None,
        }
    }

    /// Every pool of the database, to close them on shutdown (closing one twice is harmless).
    pub fn pools(&self) -> [Pool; 3] {
        [self.pool.clone(), self.reads.clone(), self.draws.clone()]
    }

    pub(crate) fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Applies the embedded migrations of the backend. Several processes starting together on
    /// one database may race here; a failed attempt is retried a few times.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let mut attempt = 0;
        let run = || async {
            match &self.pool {
                Pool::Sqlite(p) => SQLITE_MIGRATIONS.run(p).await,
                Pool::MySql(p) => MYSQL_MIGRATIONS.run(p).await,
            }
        };
        run.retry(Policy::linear(Duration::from_millis(100), 4))
            .notify(|err, _| {
                attempt += 1;
                tracing::debug!(error = %err, attempt, "migration attempt failed, retrying");
            })
            .await
            .map_err(|err| match err {
                sqlx::migrate::MigrateError::Execute(e) => e.into(),
                err => StoreError::Migrate(err),
            })
    }

    /// One round trip, on the connections of the reads: with SQLite, the writer connection
    /// may be busy with a burst of claims, and the database still answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.reads.ping().await
    }

    /// The row of `id`, if the customer ever asked to play.
    pub async fn record(&self, id: CustomerId) -> Result<Option<PlayRecord>, StoreError> {
        self.record_in_place_or(&self.reads, id).await
    }

    /// The row of `id`: read in place when SQLite is a file (never waiting for its one writer
    /// connection), else on `pool`.
    async fn record_in_place_or(
        &self,
        pool: &Pool,
        id: CustomerId,
    ) -> Result<Option<PlayRecord>, StoreError> {
        if let Some(reads) = &self.in_place {
            match read_in_place(reads, id) {
                Ok(row) => return row.map(PlayRow::into_record).transpose(),
                // Busy, or not there yet: the pooled read answers, or says what is wrong.
                Err(e) => tracing::debug!(error = %e, "read in place failed"),
            }
        }
        self.record_on(pool, id).await
    }

    /// The row of `id`, read on `pool` (a draw in flight reads on its own connections).
    async fn record_on(
        &self,
        pool: &Pool,
        id: CustomerId,
    ) -> Result<Option<PlayRecord>, StoreError> {
        let row: Option<PlayRow> = on_pool!(pool, |p| {
            sqlx::query_as(SELECT_PLAY)
                .bind(i64::from(id.get()))
                .fetch_optional(p)
                .await?
        });
        row.map(PlayRow::into_record).transpose()
    }

    /// Claims the draw of `customer` for `holder` (the play process instance): inserts the
    /// row, or takes over a failed attempt or an expired claim. Exactly one of any number of
    /// concurrent callers gets `Acquired`. An expired claim that was already driven
    /// `max_attempts` times is not driven once more: the click starts a new draw instead, its
    /// attempts counted from 1, as after a failure.
    pub async fn claim(
        &self,
        customer: &Customer,
        now: OffsetDateTime,
        lease: Duration,
        holder: &str,
        max_attempts: u32,
    ) -> Result<Claim, StoreError> {
        let id = i64::from(customer.id.get());
        let now_ms = millis(now);
        let until = now_ms.saturating_add(duration_millis(lease));
        // A few rounds at most: each round either wins, or sees a state that a concurrent
        // caller just changed.
        for _ in 0..5 {
            let token = ClaimToken::new();
            let inserted = on_pool!(&self.pool, |p| {
                sqlx::query(
                    "INSERT INTO plays (customer_id, state, claim_token, lease_until, attempts, \
                     requested_at, firstname, lastname, email, updated_at, holder) \
                     VALUES (?, 'drawing', ?, ?, 1, ?, ?, ?, ?, ?, ?)",
                )
                .bind(id)
                .bind(token.as_str())
                .bind(until)
                .bind(now_ms)
                .bind(&customer.firstname)
                .bind(&customer.lastname)
                .bind(&customer.email)
                .bind(now_ms)
                .bind(holder)
                .execute(p)
                .await
                .map(|_| ())
            });
            match inserted {
                Ok(_) => return Ok(Claim::Acquired(token)),
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {}
                Err(e) => return Err(e.into()),
            }
            let taken = on_pool!(&self.pool, |p| {
                // MySQL evaluates the assignments left to right, each seeing the ones before:
                // everything that reads the old `state` comes before `state` is set.
                sqlx::query(
                    "UPDATE plays SET \
                       requested_at = CASE WHEN state = 'failed' OR attempts >= ? THEN ? \
                         ELSE requested_at END, \
                       attempts = CASE WHEN state = 'failed' OR attempts >= ? THEN 1 \
                         ELSE attempts + 1 END, \
                       state = 'drawing', claim_token = ?, lease_until = ?, holder = ?, \
                       firstname = ?, lastname = ?, email = ?, \
                       failure = NULL, last_error = NULL, updated_at = ? \
                     WHERE customer_id = ? \
                       AND (state = 'failed' OR (state = 'drawing' AND lease_until < ?))",
                )
                .bind(i64::from(max_attempts))
                .bind(now_ms)
                .bind(i64::from(max_attempts))
                .bind(token.as_str())
                .bind(until)
                .bind(holder)
                .bind(&customer.firstname)
                .bind(&customer.lastname)
                .bind(&customer.email)
                .bind(now_ms)
                .bind(id)
                .bind(now_ms)
                .execute(p)
                .await?
                .rows_affected()
            });
            if taken == 1 {
                return Ok(Claim::Acquired(token));
            }
            match self.record(customer.id).await? {
                Some(record) if record.state.is_played() => {
                    return Ok(Claim::Played(record));
                }
                Some(record)
                    // Compared in the database's unit, as the take-over above was.
                    if record.state == RecordState::Drawing
                        && millis(record.lease_until) >= now_ms =>
                {
                    return Ok(Claim::Running(record));
                }
                // Failed or expired again, or deleted by an operator: try once more.
                _ => continue,
            }
        }
        Err(StoreError::Invalid(format!(
            "the claim of customer {} kept changing under contention",
            customer.id
        )))
    }

    /// Extends a held claim; `false` when the claim is no longer ours.
    pub async fn renew(
        &self,
        id: CustomerId,
        token: &ClaimToken,
        now: OffsetDateTime,
        lease: Duration,
    ) -> Result<bool, StoreError> {
        let now_ms = millis(now);
        Ok(fenced!(
            &self.draws,
            "lease_until = ?, updated_at = ?",
            [now_ms.saturating_add(duration_millis(lease)), now_ms],
            id,
            token
        ))
    }

    /// Records the prize and queues the winner notification, in one transaction, if the claim
    /// is still ours and the prize's stock lasts (see [`record_outcome`](Self::record_outcome)).
    pub async fn complete(
        &self,
        id: CustomerId,
        token: &ClaimToken,
        prize: &Prize,
        now: OffsetDateTime,
    ) -> Result<Completion, StoreError> {
        let won = Outcome::Won {
            prize: prize.clone(),
            name: None,
        };
        self.record_outcome(id, token, &won, now).await
    }

    /// Records the result of a held draw, in one transaction, if the claim is still ours: a win
    /// takes one of the prize's stock (when `prize_stock` lists the prize) and queues the
    /// winner notification; when no stock is left nothing is recorded
    /// ([`Completion::OutOfStock`], the claim still held). No prize queues nothing.
    pub async fn record_outcome(
        &self,
        id: CustomerId,
        token: &ClaimToken,
        outcome: &Outcome,
        now: OffsetDateTime,
    ) -> Result<Completion, StoreError> {
        let now_ms = millis(now);
        // What the notice says of the customer. Read off SQLite's one writer, which a burst
        // keeps busy: the fenced UPDATE below decides whether the claim is still ours.
        let Some(record) = self.record_in_place_or(&self.draws, id).await? else {
            return Ok(Completion::LostClaim);
        };
        let (state, prize, name) = match outcome {
            Outcome::Won { prize, name } => ("won", Some(prize), name.as_deref()),
            Outcome::NoPrize { picture } => ("no_prize", picture.as_ref(), None),
        };
        // The notice of a win, encoded before the transaction.
        let payload = match outcome {
            Outcome::Won { prize, name } => {
                let notice = WinnerNotice {
                    customer: record.customer.clone(),
                    prize: prize.clone(),
                    prize_name: name.clone(),
                    requested_at: record.requested_at,
                    played_at: from_millis(now_ms)?,
                };
                Some(serde_json::to_string(&notice).map_err(|e| {
                    StoreError::Invalid(format!("cannot encode the winner notice: {e}"))
                })?)
            }
            Outcome::NoPrize { .. } => None,
        };
        on_pool!(&self.draws, |p| {
            let mut tx = p.begin().await?;
            let updated = fenced_on!(
                &mut *tx,
                "state = ?, prize = ?, prize_name = ?, played_at = ?, lease_until = 0, \
                 updated_at = ?",
                [state, prize.map(Prize::file), name, now_ms, now_ms],
                id,
                token
            );
            if !updated {
                tx.rollback().await?;
                return Ok(Completion::LostClaim);
            }
            if let (Some(payload), Some(prize)) = (&payload, prize) {
                // One of the stock, taken in this transaction: the row lock (MariaDB) or the
                // write lock (SQLite) serialises the wins of one prize, so no more than its
                // stock are ever recorded.
                let taken = sqlx::query(
                    "UPDATE prize_stock SET won = won + 1, updated_at = ? \
                     WHERE prize = ? AND (stock IS NULL OR won < stock)",
                )
                .bind(now_ms)
                .bind(prize.file())
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if taken != 1 {
                    let listed: Option<i64> =
                        sqlx::query_scalar("SELECT won FROM prize_stock WHERE prize = ?")
                            .bind(prize.file())
                            .fetch_optional(&mut *tx)
                            .await?;
                    // A prize the catalog does not list has no stock to enforce.
                    if listed.is_some() {
                        tx.rollback().await?;
                        return Ok(Completion::OutOfStock);
                    }
                }
                sqlx::query(
                    "INSERT INTO outbox (kind, customer_id, payload, created_at, \
                     next_attempt_at, attempts) VALUES (?, ?, ?, ?, ?, 0)",
                )
                .bind(WINNER)
                .bind(i64::from(id.get()))
                .bind(payload)
                .bind(now_ms)
                .bind(now_ms)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(Completion::Recorded)
    }

    /// Brings `prize_stock` in step with the catalog's prizes: a prize seen for the first time
    /// gets a row whose `won` counts the wins already recorded for it; a known prize gets its
    /// stock and name updated, and keeps what was won (a stock lowered under it leaves none).
    /// Idempotent, and safe when several play processes start together. Prizes no longer in
    /// the catalog keep their rows (their wins still count) and become unlimited.
    pub async fn sync_stock(
        &self,
        prizes: &[StockSpec],
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let now_ms = millis(now);
        let listed: Vec<&str> = prizes.iter().map(|p| p.prize.file()).collect();
        for spec in prizes {
            let stock = spec.stock.map(|s| i64::try_from(s).unwrap_or(i64::MAX));
            let created = on_pool!(&self.pool, |p| {
                sqlx::query(
                    "INSERT INTO prize_stock (prize, name, stock, won, updated_at) \
                     SELECT ?, ?, ?, COUNT(*), ? FROM plays WHERE state = 'won' AND prize = ?",
                )
                .bind(spec.prize.file())
                .bind(spec.name.as_deref())
                .bind(stock)
                .bind(now_ms)
                .bind(spec.prize.file())
                .execute(p)
                .await
                .map(|_| ())
            });
            match created {
                Ok(()) => continue,
                // Known already (or created by a process starting at the same time).
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {}
                Err(e) => return Err(e.into()),
            }
            on_pool!(&self.pool, |p| {
                sqlx::query(
                    "UPDATE prize_stock SET name = ?, stock = ?, updated_at = ? WHERE prize = ?",
                )
                .bind(spec.name.as_deref())
                .bind(stock)
                .bind(now_ms)
                .bind(spec.prize.file())
                .execute(p)
                .await?;
            });
        }
        for PrizeStock { spec: known, .. } in self.prize_stock().await? {
            if known.stock.is_some() && !listed.contains(&known.prize.file()) {
                on_pool!(&self.pool, |p| {
                    sqlx::query(
                        "UPDATE prize_stock SET stock = NULL, updated_at = ? WHERE prize = ?",
                    )
                    .bind(now_ms)
                    .bind(known.prize.file())
                    .execute(p)
                    .await?;
                });
            }
        }
        Ok(())
    }

    /// How many customers stand in each state (scans `plays`: for operators and tests, not
    /// for polling).
    pub async fn play_counts(&self) -> Result<PlayCounts, StoreError> {
        let rows: Vec<(String, i64)> = on_pool!(&self.pool, |p| {
            sqlx::query_as("SELECT state, COUNT(*) FROM plays GROUP BY state")
                .fetch_all(p)
                .await?
        });
        let mut counts = PlayCounts::default();
        for (state, n) in rows {
            let n = u64::try_from(n).unwrap_or(0);
            match RecordState::parse(&state)? {
                RecordState::Drawing => counts.drawing = n,
                RecordState::Won => counts.won = n,
                RecordState::NoPrize => counts.no_prize = n,
                RecordState::Failed => counts.failed = n,
            }
        }
        Ok(counts)
    }

    /// Every prize the catalog listed, by file name: its name, wins, stock and what is left.
    pub async fn prize_stock(&self) -> Result<Vec<PrizeStock>, StoreError> {
        let rows: Vec<(String, Option<String>, i64, Option<i64>)> = on_pool!(&self.pool, |p| {
            sqlx::query_as("SELECT prize, name, won, stock FROM prize_stock ORDER BY prize")
                .fetch_all(p)
                .await?
        });
        rows.into_iter()
            .map(|(prize, name, won, stock)| {
                let prize = Prize::parse(&prize)
                    .ok_or_else(|| StoreError::Corrupt(format!("invalid prize name `{prize}`")))?;
                Ok(PrizeStock {
                    spec: StockSpec {
                        prize,
                        name,
                        stock: stock.map(|s| u64::try_from(s).unwrap_or(0)),
                    },
                    won: u64::try_from(won).unwrap_or(0),
                })
            })
            .collect()
    }

    /// Marks a held draw as failed (W error, picture not stored): no prize, the customer may
    /// try again. `failure` is the kind, `reason` its text. `false` when the claim is no
    /// longer ours.
    pub async fn fail(
        &self,
        id: CustomerId,
        token: &ClaimToken,
        failure: DrawFailure,
        reason: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        Ok(fenced!(
            &self.draws,
            "state = 'failed', failure = ?, last_error = ?, lease_until = 0, updated_at = ?",
            [failure.as_str(), truncate(reason, 1000), millis(now)],
            id,
            token
        ))
    }

    /// Customers whose drawing claim is past its lease (their holder died), oldest first.
    pub async fn expired_claims(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<CustomerId>, StoreError> {
        let ids: Vec<i64> = on_pool!(&self.pool, |p| {
            sqlx::query_scalar(
                "SELECT customer_id FROM plays WHERE state = 'drawing' AND lease_until < ? \
                 ORDER BY lease_until LIMIT ?",
            )
            .bind(millis(now))
            .bind(i64::from(limit))
            .fetch_all(p)
            .await?
        });
        ids.into_iter().map(customer_id).collect()
    }

    /// Takes over an expired claim for `holder` to re-drive it, or gives it up as failed when
    /// it was driven `max_attempts` times already. `None` when it is not expired any more (its
    /// holder renewed it, or another recoverer took it first).
    pub async fn take_over_expired(
        &self,
        id: CustomerId,
        now: OffsetDateTime,
        lease: Duration,
        holder: &str,
        max_attempts: u32,
    ) -> Result<Option<TakeOver>, StoreError> {
        let now_ms = millis(now);
        let which = Interrupted::Expired { now_ms };
        self.take_over(id, which, holder, now_ms, lease, max_attempts)
            .await
    }

    /// The drawing claims held by `holder` whose lease ends before `leased_before`, by
    /// customer id, after `after` (a cursor: pass the last id of the previous page). A process
    /// lists the claims of its previous incarnation with this when it starts, passing its start
    /// time plus the lease: every claim or renewal it made itself leases past that, so it never
    /// takes over its own live draws.
    pub async fn held_claims(
        &self,
        holder: &str,
        leased_before: OffsetDateTime,
        after: Option<CustomerId>,
        limit: u32,
    ) -> Result<Vec<HeldClaim>, StoreError> {
        let rows: Vec<(i64, String)> = on_pool!(&self.pool, |p| {
            sqlx::query_as(
                "SELECT customer_id, claim_token FROM plays \
                 WHERE state = 'drawing' AND holder = ? AND lease_until < ? AND customer_id > ? \
                 ORDER BY customer_id LIMIT ?",
            )
            .bind(holder)
            .bind(millis(leased_before))
            .bind(after.map_or(0, |id| i64::from(id.get())))
            .bind(i64::from(limit))
            .fetch_all(p)
            .await?
        });
        rows.into_iter()
            .map(|(id, token)| {
                Ok(HeldClaim {
                    customer_id: customer_id(id)?,
                    token: ClaimToken(token),
                })
            })
            .collect()
    }

    /// Takes over a claim listed by [`held_claims`](Self::held_claims) for `holder`, whatever
    /// its lease: a new token (the previous incarnation, should it still run, is fenced off),
    /// one more attempt; or gives it up as failed when it was driven `max_attempts` times
    /// already. `None` when the claim changed since it was listed (completed, failed, or taken
    /// over by someone else).
    pub async fn take_over_held(
        &self,
        held: &HeldClaim,
        holder: &str,
        now: OffsetDateTime,
        lease: Duration,
        max_attempts: u32,
    ) -> Result<Option<TakeOver>, StoreError> {
        let which = Interrupted::Held {
            holder,
            token: &held.token,
        };
        let now_ms = millis(now);
        self.take_over(held.customer_id, which, holder, now_ms, lease, max_attempts)
            .await
    }

    /// The take-over of an interrupted claim, whoever makes it: while the draw has attempts
    /// left, a new token and lease for `holder`, one more attempt; once it used them, the draw
    /// is given up as failed (`abandoned`).
    async fn take_over(
        &self,
        id: CustomerId,
        which: Interrupted<'_>,
        holder: &str,
        now_ms: i64,
        lease: Duration,
        max_attempts: u32,
    ) -> Result<Option<TakeOver>, StoreError> {
        let token = ClaimToken::new();
        let (take_over, give_up) = which.statements();
        let taken = on_pool!(&self.draws, |p| {
            let query = sqlx::query(take_over)
                .bind(token.as_str())
                .bind(now_ms.saturating_add(duration_millis(lease)))
                .bind(holder)
                .bind(now_ms)
                .bind(i64::from(id.get()))
                .bind(i64::from(max_attempts));
            which.bind(query).execute(p).await?.rows_affected()
        });
        if taken == 1 {
            return Ok(self
                .record(id)
                .await?
                .map(|record| TakeOver::Acquired(token, record)));
        }
        let given_up = on_pool!(&self.draws, |p| {
            let query = sqlx::query(give_up)
                .bind(DrawFailure::Abandoned.as_str())
                .bind(gave_up(max_attempts))
                .bind(now_ms)
                .bind(i64::from(id.get()))
                .bind(i64::from(max_attempts));
            which.bind(query).execute(p).await?.rows_affected()
        });
        if given_up != 1 {
            return Ok(None);
        }
        Ok(self.record_on(&self.draws, id).await?.map(TakeOver::GaveUp))
    }

    /// Leases up to `limit` due, undelivered outbox entries to `owner` for `lease`. Entries
    /// leased to another live notifier are skipped; an entry whose lease expired is due again.
    ///
    /// Three round trips whatever the batch: [`due_notifications`](Self::due_notifications)
    /// on the connections of the reads, then [`lease_listed`](Self::lease_listed)'s UPDATE and
    /// read back (with SQLite, only these two wait for its one writer connection, which a
    /// burst of draws keeps busy).
    pub async fn lease_notifications(
        &self,
        owner: &str,
        now: OffsetDateTime,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<Notification>, StoreError> {
        let due = self.due_notifications(now, limit).await?;
        self.lease_listed(owner, now, lease, &due).await
    }

    /// The ids of up to `limit` entries due at `now`, oldest first, leased to nobody (or whose
    /// lease ended): a listing, not a lease.
    pub async fn due_notifications(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<i64>, StoreError> {
        let now_ms = millis(now);
        Ok(on_pool!(&self.reads, |p| {
            sqlx::query_scalar(
                "SELECT id FROM outbox WHERE delivered_at IS NULL AND next_attempt_at <= ? \
                   AND (lease_until IS NULL OR lease_until < ?) ORDER BY id LIMIT ?",
            )
            .bind(now_ms)
            .bind(now_ms)
            .bind(i64::from(limit))
            .fetch_all(p)
            .await?
        }))
    }

    /// Leases to `owner` for `lease` those of the listed entries `ids` that are still
    /// undelivered and leased to nobody else at `now` (another notifier may have leased some
    /// since they were listed), in one UPDATE, and reads back the ones it leased.
    pub async fn lease_listed(
        &self,
        owner: &str,
        now: OffsetDateTime,
        lease: Duration,
        ids: &[i64],
    ) -> Result<Vec<Notification>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let now_ms = millis(now);
        let until = now_ms.saturating_add(duration_millis(lease));
        // Only `?` placeholders are spliced into the SQL below: the ids are bound.
        let listed = vec!["?"; ids.len()].join(", ");
        let lease_sql = format!(
            "UPDATE outbox SET lease_owner = ?, lease_until = ? \
             WHERE id IN ({listed}) AND delivered_at IS NULL \
               AND (lease_until IS NULL OR lease_until < ?)"
        );
        // This lease's owner and end name the rows it took: no other notifier has this owner,
        // and this one's earlier leases end at other times (or ended, and it may send those).
        let leased_sql = format!(
            "SELECT id, kind, customer_id, payload, attempts, created_at FROM outbox \
             WHERE id IN ({listed}) AND lease_owner = ? AND lease_until = ? \
               AND delivered_at IS NULL ORDER BY id"
        );
        let rows: Vec<OutboxRow> = on_pool!(&self.pool, |p| {
            let mut leasing = sqlx::query(sqlx::AssertSqlSafe(lease_sql.as_str()))
                .bind(owner)
                .bind(until);
            for id in ids {
                leasing = leasing.bind(id);
            }
            let got = leasing.bind(now_ms).execute(p).await?.rows_affected();
            if got == 0 {
                Vec::new()
            } else {
                let mut reading = sqlx::query_as(sqlx::AssertSqlSafe(leased_sql.as_str()));
                for id in ids {
                    reading = reading.bind(id);
                }
                reading.bind(owner).bind(until).fetch_all(p).await?
            }
        });
        rows.into_iter().map(OutboxRow::into_notification).collect()
    }

    /// Entries not yet published to the event bus, oldest first.
    pub async fn unpublished_notifications(
        &self,
        limit: u32,
    ) -> Result<Vec<Notification>, StoreError> {
        let rows: Vec<OutboxRow> = on_pool!(&self.pool, |p| {
            sqlx::query_as(
                "SELECT id, kind, customer_id, payload, attempts, created_at FROM outbox \
                 WHERE published_at IS NULL ORDER BY id LIMIT ?",
            )
            .bind(i64::from(limit))
            .fetch_all(p)
            .await?
        });
        rows.into_iter().map(OutboxRow::into_notification).collect()
    }

    /// Marks an entry published to the event bus.
    pub async fn mark_published(&self, id: i64, now: OffsetDateTime) -> Result<(), StoreError> {
        on_pool!(&self.pool, |p| {
            sqlx::query("UPDATE outbox SET published_at = ? WHERE id = ? AND published_at IS NULL")
                .bind(millis(now))
                .bind(id)
                .execute(p)
                .await?;
        });
        Ok(())
    }

    /// Whether an entry was delivered already (`None`: no such entry).
    pub async fn is_delivered(&self, id: i64) -> Result<Option<bool>, StoreError> {
        let delivered: Option<Option<i64>> = on_pool!(&self.pool, |p| {
            sqlx::query_scalar("SELECT delivered_at FROM outbox WHERE id = ?")
                .bind(id)
                .fetch_optional(p)
                .await?
        });
        Ok(delivered.map(|d| d.is_some()))
    }

    /// Extends `owner`'s lease on an entry just before sending it; `false` when the entry is
    /// not `owner`'s any more (its lease expired and another notifier took it) or was
    /// delivered meanwhile: then it must not be sent.
    pub async fn hold_notification(
        &self,
        id: i64,
        owner: &str,
        now: OffsetDateTime,
        lease: Duration,
    ) -> Result<bool, StoreError> {
        let now_ms = millis(now);
        let affected = on_pool!(&self.pool, |p| {
            sqlx::query(
                "UPDATE outbox SET lease_until = ? \
                 WHERE id = ? AND lease_owner = ? AND delivered_at IS NULL AND lease_until >= ?",
            )
            .bind(now_ms.saturating_add(duration_millis(lease)))
            .bind(id)
            .bind(owner)
            .bind(now_ms)
            .execute(p)
            .await?
            .rows_affected()
        });
        Ok(affected == 1)
    }

    /// Marks an entry delivered; it is never handed out again.
    pub async fn mark_delivered(&self, id: i64, now: OffsetDateTime) -> Result<(), StoreError> {
        on_pool!(&self.pool, |p| {
            sqlx::query(
                "UPDATE outbox SET delivered_at = ?, attempts = attempts + 1, lease_owner = NULL, \
                   lease_until = NULL, last_error = NULL WHERE id = ? AND delivered_at IS NULL",
            )
            .bind(millis(now))
            .bind(id)
            .execute(p)
            .await?;
        });
        Ok(())
    }

    /// Records a failed delivery by `owner`; the entry is due again at `retry_at`. An entry
    /// another notifier holds now is left alone.
    pub async fn mark_failed_delivery(
        &self,
        id: i64,
        owner: &str,
        error: &str,
        retry_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        on_pool!(&self.pool, |p| {
            sqlx::query(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?, \
                   lease_owner = NULL, lease_until = NULL \
                 WHERE id = ? AND delivered_at IS NULL AND lease_owner = ?",
            )
            .bind(truncate(error, 1000))
            .bind(millis(retry_at))
            .bind(id)
            .bind(owner)
            .execute(p)
            .await?;
        });
        Ok(())
    }

    /// How many outbox entries wait to be delivered (an indexed count, cheap to poll).
    pub async fn pending_notifications(&self) -> Result<u64, StoreError> {
        let n: i64 = on_pool!(&self.reads, |p| {
            sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL")
                .fetch_one(p)
                .await?
        });
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// How many outbox entries wait and how many went out (scans the outbox: for tests and
    /// operators, not for polling).
    pub async fn outbox_counts(&self) -> Result<OutboxCounts, StoreError> {
        let (pending, delivered): (i64, i64) = on_pool!(&self.pool, |p| {
            sqlx::query_as(
                "SELECT CAST(COALESCE(SUM(CASE WHEN delivered_at IS NULL THEN 1 ELSE 0 END), 0) \
                   AS SIGNED), \
                 CAST(COALESCE(SUM(CASE WHEN delivered_at IS NULL THEN 0 ELSE 1 END), 0) \
                   AS SIGNED) FROM outbox",
            )
            .fetch_one(p)
            .await?
        });
        Ok(OutboxCounts {
            pending: u64::try_from(pending).unwrap_or(0),
            delivered: u64::try_from(delivered).unwrap_or(0),
        })
    }
}

/// Which interrupted claims a take-over may take: the SQL of its two statements (take over
/// while attempts are left, give up once they are used), and the values of their condition.
#[derive(Clone, Copy)]
enum Interrupted<'a> {
    /// Any holder's claim whose lease ended before `now_ms`.
    Expired { now_ms: i64 },
    /// The claim `holder` held with `token` when it was listed, whatever its lease.
    Held {
        holder: &'a str,
        token: &'a ClaimToken,
    },
}

/// The statements of a take-over, with its condition (`$cond`) bound last. The attempts are
/// compared here only: this is where `play.max_attempts` is enforced for the recoveries.
macro_rules! take_over_statements {
    ($cond:literal) => {
        (
            concat!(
                "UPDATE plays SET claim_token = ?, lease_until = ?, attempts = attempts + 1, ",
                "holder = ?, updated_at = ? ",
                "WHERE customer_id = ? AND state = 'drawing' AND attempts < ? AND ",
                $cond
            ),
            concat!(
                "UPDATE plays SET state = 'failed', failure = ?, last_error = ?, ",
                "lease_until = 0, updated_at = ? ",
                "WHERE customer_id = ? AND state = 'drawing' AND attempts >= ? AND ",
                $cond
            ),
        )
    };
}

impl Interrupted<'_> {
    fn statements(self) -> (&'static str, &'static str) {
        match self {
            Self::Expired { .. } => take_over_statements!("lease_until < ?"),
            Self::Held { .. } => take_over_statements!("holder = ? AND claim_token = ?"),
        }
    }

    /// Binds the values of the condition, after the others.
    fn bind<'q, DB>(
        self,
        query: sqlx::query::Query<'q, DB, DB::Arguments>,
    ) -> sqlx::query::Query<'q, DB, DB::Arguments>
    where
        DB: sqlx::Database,
        for<'e> i64: sqlx::Encode<'e, DB> + sqlx::Type<DB>,
        for<'e> &'e str: sqlx::Encode<'e, DB> + sqlx::Type<DB>,
    {
        match self {
            Self::Expired { now_ms } => query.bind(now_ms),
            Self::Held { holder, token } => query.bind(holder).bind(token.as_str()),
        }
    }
}

/// The error text of a draw given up after `max_attempts` attempts.
fn gave_up(max_attempts: u32) -> String {
    format!("gave up after {max_attempts} attempts")
}

fn truncate(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((at, _)) => &text[..at],
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn sqlite_file(dir: &std::path::Path) -> LotteryDb {
        let url = format!("sqlite://{}", dir.join("lottery.db").display());
        LotteryDb::connect_lazy(&url, &PoolSettings::default()).unwrap()
    }

    async fn pooled(db: &LotteryDb, id: CustomerId) -> Option<PlayRow> {
        on_pool!(&db.reads, |p| {
            sqlx::query_as(SELECT_PLAY)
                .bind(i64::from(id.get()))
                .fetch_optional(p)
                .await
                .unwrap()
        })
    }

    #[tokio::test]
    async fn a_read_in_place_sees_each_write_at_once_as_the_pool_does() {
        let dir = tempfile::tempdir().unwrap();
        let db = sqlite_file(dir.path()).await;
        db.migrate().await.unwrap();
        let reads = db
            .in_place
            .clone()
            .expect("an SQLite file is read in place");
        let c = cloudhp_testkit::customer(7, "O'Brien");
        let now = OffsetDateTime::now_utc();

        assert_eq!(read_in_place(&reads, c.id).unwrap(), None);
        let Claim::Acquired(token) = db
            .claim(&c, now, Duration::from_secs(60), "p", 3)
            .await
            .unwrap()
        else {
            panic!("the first claim acquires")
        };
        let drawing = read_in_place(&reads, c.id)
            .unwrap()
            .expect("the claim is seen");
        assert_eq!(drawing.state, "drawing");
        assert_eq!(Some(&drawing), pooled(&db, c.id).await.as_ref());

        let prize = Prize::parse("usb-key.jpg").unwrap();
        db.complete(c.id, &token, &prize, now).await.unwrap();
        let won = read_in_place(&reads, c.id)
            .unwrap()
            .expect("the result is seen");
        assert_eq!(won.state, "won");
        assert_eq!(won.prize.as_deref(), Some("usb-key.jpg"));
        assert_eq!(Some(&won), pooled(&db, c.id).await.as_ref());
        assert_eq!(
            db.record(c.id).await.unwrap().unwrap().to_status(),
            won.into_record().unwrap().to_status()
        );
        // One connection served every read of this thread.
        assert_eq!(reads.idle(), 1);
        // The page's read is the read in place: it answers with the pools closed.
        for pool in db.pools() {
            pool.close().await;
        }
        let record = db.record(c.id).await.expect("read in place").unwrap();
        assert_eq!(record.to_status().state, PlayState::Won);
    }

    #[tokio::test]
    async fn a_failed_read_in_place_gives_way_to_the_pool() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = sqlite_file(dir.path()).await;
        db.migrate().await.unwrap();
        let c = cloudhp_testkit::customer(7, "O'Brien");
        let now = OffsetDateTime::now_utc();
        db.claim(&c, now, Duration::from_secs(60), "p", 3)
            .await
            .unwrap();
        // A read in place that cannot open its file (as with a database not created yet).
        db.in_place = Some(Arc::new(InPlaceReads::new(dir.path().join("missing.db"))));
        let record = db.record(c.id).await.expect("the pool answers").unwrap();
        assert_eq!(record.to_status().state, PlayState::Drawing);
    }

    #[tokio::test]
    async fn before_its_schema_exists_a_read_is_an_error_then_none() {
        let dir = tempfile::tempdir().unwrap();
        let db = sqlite_file(dir.path()).await;
        let id = CustomerId::new(7).unwrap();
        // No file yet: the read in place cannot open it, and the pooled read names the problem.
        assert!(read_in_place(db.in_place.as_ref().unwrap(), id).is_err());
        assert!(db.record(id).await.is_err());
        db.migrate().await.unwrap();
        assert_eq!(
            read_in_place(db.in_place.as_ref().unwrap(), id).unwrap(),
            None
        );
        assert!(db.record(id).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn only_an_sqlite_file_is_read_in_place() {
        let memory =
            LotteryDb::connect_lazy("sqlite://:memory:", &PoolSettings::default()).unwrap();
        assert!(memory.in_place.is_none());
        let mysql = LotteryDb::connect_lazy("mysql://u:p@127.0.0.1:1/db", &PoolSettings::default());
        assert!(mysql.unwrap().in_place.is_none());
    }
}
