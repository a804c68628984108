//! The campaign mailing's progress (`cloudhp campaign send`): one row of `mailing` per campaign
//! and customer, in the lottery database.
//!
//! ```text
//!            begin (insert)                       settle
//!  (no row) ───────────────▶ sending ─────────────────────────▶ sent
//!                               │  ├──────────────────────────▶ rejected (permanent, final)
//!                               │  └──────────────────────────▶ failed ──┐
//!                               │ (a run found it: SMTP)                 │ begin (next run)
//!                               └────────────────────────────▶ uncertain ▼ sending …
//! ```
//!
//! Every transition names the state and the attempt count it was read with (compare and set),
//! so of two runs of one campaign that see the same row, only one begins its attempt.

use std::collections::HashMap;

use cloudhp_core::CustomerId;
use time::OffsetDateTime;

use crate::{LotteryDb, StoreError, from_millis, millis, on_pool};

/// Bytes of an error text kept in `mailing.last_error`.
const MAX_ERROR: usize = 1000;

/// The state of one customer's campaign mail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MailingState {
    /// Handed over (or about to be) and not yet settled; a run that finds a row in this state
    /// was stopped in the middle of that send.
    Sending,
    /// The transport took the mail.
    Sent,
    /// The last attempt failed for a reason that may pass (a 4xx, an unreachable relay): the
    /// next run tries again.
    Failed,
    /// Refused for good (a 5xx for the recipient): never sent again.
    Rejected,
    /// The run stopped after handing the mail to an SMTP relay and before recording its
    /// answer: it may have gone out. Not sent again unless asked.
    Uncertain,
}

impl MailingState {
    pub const ALL: [Self; 5] = [
        Self::Sending,
        Self::Sent,
        Self::Failed,
        Self::Rejected,
        Self::Uncertain,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Failed => "failed",
            Self::Rejected => "rejected",
            Self::Uncertain => "uncertain",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        Self::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown mailing state `{s}`")))
    }
}

impl std::fmt::Display for MailingState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One customer's row of `mailing`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailingRecord {
    pub customer_id: CustomerId,
    pub state: MailingState,
    /// Attempts begun so far (1 for the first).
    pub attempts: u32,
    pub last_error: Option<String>,
    pub updated_at: OffsetDateTime,
    pub sent_at: Option<OffsetDateTime>,
}

/// How many customers of a campaign are in each state (customers without a row yet are not
/// counted: they were not reached).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MailingProgress {
    pub sending: u64,
    pub sent: u64,
    pub failed: u64,
    pub rejected: u64,
    pub uncertain: u64,
}

impl MailingProgress {
    /// Customers the campaign reached so far, whatever their state.
    pub fn total(&self) -> u64 {
        self.sending + self.sent + self.failed + self.rejected + self.uncertain
    }

    pub fn get(&self, state: MailingState) -> u64 {
        match state {
            MailingState::Sending => self.sending,
            MailingState::Sent => self.sent,
            MailingState::Failed => self.failed,
            MailingState::Rejected => self.rejected,
            MailingState::Uncertain => self.uncertain,
        }
    }

    fn slot(&mut self, state: MailingState) -> &mut u64 {
        match state {
            MailingState::Sending => &mut self.sending,
            MailingState::Sent => &mut self.sent,
            MailingState::Failed => &mut self.failed,
            MailingState::Rejected => &mut self.rejected,
            MailingState::Uncertain => &mut self.uncertain,
        }
    }
}

#[derive(sqlx::FromRow)]
struct MailingRow {
    customer_id: i64,
    state: String,
    attempts: i64,
    last_error: Option<String>,
    updated_at: i64,
    sent_at: Option<i64>,
}

impl MailingRow {
    fn into_record(self) -> Result<MailingRecord, StoreError> {
        let customer_id = u32::try_from(self.customer_id)
            .ok()
            .and_then(CustomerId::new)
            .ok_or_else(|| {
                StoreError::Corrupt(format!("mailing customer id {}", self.customer_id))
            })?;
        Ok(MailingRecord {
            customer_id,
            state: MailingState::parse(&self.state)?,
            attempts: u32::try_from(self.attempts).unwrap_or(0),
            last_error: self.last_error,
            updated_at: from_millis(self.updated_at)?,
            sent_at: self.sent_at.map(from_millis).transpose()?,
        })
    }
}

fn error_text(error: Option<&str>) -> Option<String> {
    error.map(|e| match e.char_indices().nth(MAX_ERROR) {
        Some((at, _)) => e[..at].to_owned(),
        None => e.to_owned(),
    })
}

impl LotteryDb {
    /// The rows of `campaign` for the customers `from..=to`, by customer.
    pub async fn mailing_records(
        &self,
        campaign: &str,
        from: CustomerId,
        to: CustomerId,
    ) -> Result<HashMap<CustomerId, MailingRecord>, StoreError> {
        let rows: Vec<MailingRow> = on_pool!(self.pool(), |p| {
            sqlx::query_as(
                "SELECT customer_id, state, attempts, last_error, updated_at, sent_at \
                 FROM mailing WHERE campaign = ? AND customer_id BETWEEN ? AND ?",
            )
            .bind(campaign)
            .bind(i64::from(from.get()))
            .bind(i64::from(to.get()))
            .fetch_all(p)
            .await?
        });
        rows.into_iter()
            .map(|r| r.into_record().map(|r| (r.customer_id, r)))
            .collect()
    }

    /// The row of one customer, if the campaign reached them.
    pub async fn mailing_record(
        &self,
        campaign: &str,
        id: CustomerId,
    ) -> Result<Option<MailingRecord>, StoreError> {
        Ok(self.mailing_records(campaign, id, id).await?.remove(&id))
    }

    /// Begins an attempt to mail customer `id`: the row goes to `sending`, its attempts one up.
    /// `seen` is the row as the caller read it (`None`: no row); the attempt is begun only if
    /// the row is still so (another run may have begun it). Returns the attempt's number, or
    /// `None` when the row changed meanwhile (the caller must not send).
    pub async fn mailing_begin(
        &self,
        campaign: &str,
        id: CustomerId,
        seen: Option<&MailingRecord>,
        now: OffsetDateTime,
    ) -> Result<Option<u32>, StoreError> {
        let now = millis(now);
        let changed = match seen {
            None => {
                let inserted: Result<u64, sqlx::Error> = on_pool!(self.pool(), |p| {
                    sqlx::query(
                        "INSERT INTO mailing (campaign, customer_id, state, attempts, \
                         updated_at) VALUES (?, ?, 'sending', 1, ?)",
                    )
                    .bind(campaign)
                    .bind(i64::from(id.get()))
                    .bind(now)
                    .execute(p)
                    .await
                    .map(|r| r.rows_affected())
                });
                match inserted {
                    Ok(n) => n,
                    Err(sqlx::Error::Database(e)) if e.is_unique_violation() => 0,
                    Err(e) => return Err(e.into()),
                }
            }
            Some(seen) => on_pool!(self.pool(), |p| {
                sqlx::query(
                    "UPDATE mailing SET state = 'sending', attempts = attempts + 1, \
                     updated_at = ? \
                     WHERE campaign = ? AND customer_id = ? AND state = ? AND attempts = ?",
                )
                .bind(now)
                .bind(campaign)
                .bind(i64::from(id.get()))
                .bind(seen.state.as_str())
                .bind(i64::from(seen.attempts))
                .execute(p)
                .await?
                .rows_affected()
            }),
        };
        Ok((changed == 1).then(|| seen.map_or(1, |s| s.attempts + 1)))
    }

    /// Moves customer `id`'s row from `from` (read with `attempts`) to `to`, with the error
    /// of the attempt (if any); `sent_at` is set when `to` is `sent`. False when the row was
    /// not in that state any more (nothing changed).
    #[allow(clippy::too_many_arguments)]
    pub async fn mailing_settle(
        &self,
        campaign: &str,
        id: CustomerId,
        from: MailingState,
        attempts: u32,
        to: MailingState,
        error: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let now = millis(now);
        let sent_at = (to == MailingState::Sent).then_some(now);
        let error = error_text(error);
        let changed = on_pool!(self.pool(), |p| {
            sqlx::query(
                "UPDATE mailing SET state = ?, last_error = ?, updated_at = ?, \
                 sent_at = COALESCE(?, sent_at) \
                 WHERE campaign = ? AND customer_id = ? AND state = ? AND attempts = ?",
            )
            .bind(to.as_str())
            .bind(error)
            .bind(now)
            .bind(sent_at)
            .bind(campaign)
            .bind(i64::from(id.get()))
            .bind(from.as_str())
            .bind(i64::from(attempts))
            .execute(p)
            .await?
            .rows_affected()
        });
        Ok(changed == 1)
    }

    /// The mailing's progress of `campaign`: how many customers are in each state. For the
    /// admin area and the command's summary; one indexed count per state.
    pub async fn mailing_progress(&self, campaign: &str) -> Result<MailingProgress, StoreError> {
        let rows: Vec<(String, i64)> = on_pool!(self.pool(), |p| {
            sqlx::query_as(
                "SELECT state, CAST(COUNT(*) AS SIGNED) FROM mailing WHERE campaign = ? \
                 GROUP BY state",
            )
            .bind(campaign)
            .fetch_all(p)
            .await?
        });
        let mut progress = MailingProgress::default();
        for (state, n) in rows {
            *progress.slot(MailingState::parse(&state)?) = u64::try_from(n).unwrap_or(0);
        }
        Ok(progress)
    }

    /// The campaigns that have mailing rows, by name.
    pub async fn mailing_campaigns(&self) -> Result<Vec<String>, StoreError> {
        let names: Vec<String> = on_pool!(self.pool(), |p| {
            sqlx::query_scalar("SELECT DISTINCT campaign FROM mailing ORDER BY campaign")
                .fetch_all(p)
                .await?
        });
        Ok(names)
    }
}
