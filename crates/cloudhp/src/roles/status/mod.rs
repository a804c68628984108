//! S: the play record of each customer (state, prize, dates).
//!
//! The role in one place: its local service (here), its internal HTTP API (`api`), its client
//! for the processes where it does not run (`client`), and its start-up (`wiring`).

pub mod api;
pub mod client;
#[cfg(test)]
pub(crate) mod contract;
pub mod wiring;

/// The routes of the status API, each written once for the API and its client: a path for one
/// customer, or with [`crate::rpc::ID`] the pattern the API serves.
pub mod routes {
    use std::fmt::Display;

    /// `GET`: the customer's play status.
    pub fn player(id: impl Display) -> String {
        format!("/v1/status/players/{id}")
    }

    /// `GET`: the campaign's totals ([`cloudhp_core::Report::campaign`]).
    pub const CAMPAIGN: &str = "/v1/status/report/campaign";

    /// `GET ?search=&page=&per_page=`: a page of winners.
    pub const WINNERS: &str = "/v1/status/report/winners";

    /// `GET ?after=&limit=`: winners by customer id, for the export.
    pub const WINNERS_AFTER: &str = "/v1/status/report/winners-after";
}

use async_trait::async_trait;
use cloudhp_core::{
    Backlog, CampaignReport, CustomerId, MailingTally, PlayStatus, Prize, PrizeTally, Report,
    ServiceError, Status, Winner, WinnerSearch, WinnersPage,
};
use cloudhp_store::{LotteryDb, PrizeStock, StoreError};

use crate::telemetry::chain;

/// How the status role is named to users when it fails.
pub const STATUS_SERVICE: &str = "the status service";

/// How the status and play roles name the lottery database to users.
pub const LOTTERY_DB: &str = "the lottery database";

/// The local status role.
pub struct StatusService {
    db: LotteryDb,
}

impl StatusService {
    pub fn new(db: LotteryDb) -> Self {
        Self { db }
    }
}

#[async_trait]
impl Status for StatusService {
    async fn status(&self, id: CustomerId) -> Result<PlayStatus, ServiceError> {
        match self.db.record(id).await {
            Ok(Some(record)) => Ok(record.to_status()),
            Ok(None) => Ok(PlayStatus::not_played(id)),
            Err(e) => {
                tracing::warn!(customer = %id, error = %chain(&e), "status lookup failed");
                Err(ServiceError::unavailable(LOTTERY_DB))
            }
        }
    }
}

/// A failed read of the report: logged with its cause, the lottery database unavailable.
fn report_failed(what: &str, e: &StoreError) -> ServiceError {
    tracing::warn!(error = %chain(e), "report: {what} failed");
    ServiceError::unavailable(LOTTERY_DB)
}

/// Every prize of the catalog (its stock, what is left, even when nobody has won it yet) and
/// every prize won (a prize no longer in the catalog too), in name order.
fn tallies(won: Vec<(Prize, u64)>, stock: Vec<PrizeStock>) -> Vec<PrizeTally> {
    let mut tallies: Vec<PrizeTally> = stock
        .into_iter()
        .map(|s| PrizeTally {
            stock_left: s.left(),
            prize: s.spec.prize,
            name: s.spec.name,
            won: s.won,
            stock: s.spec.stock,
        })
        .collect();
    for (prize, won) in won {
        match tallies.iter_mut().find(|t| t.prize == prize) {
            // The plays table is the truth of what was won.
            Some(t) => t.won = won,
            None => tallies.push(PrizeTally {
                prize,
                name: None,
                won,
                stock: None,
                stock_left: None,
            }),
        }
    }
    tallies.sort_by(|a, b| a.prize.file().cmp(b.prize.file()));
    tallies
}

impl StatusService {
    /// The progress of every campaign mailing.
    async fn mailings(&self) -> Result<Vec<MailingTally>, StoreError> {
        let mut tallies = Vec::new();
        for campaign in self.db.mailing_campaigns().await? {
            let p = self.db.mailing_progress(&campaign).await?;
            tallies.push(MailingTally {
                campaign,
                sent: p.sent,
                sending: p.sending,
                failed: p.failed,
                rejected: p.rejected,
                uncertain: p.uncertain,
            });
        }
        Ok(tallies)
    }
}

/// Most winners one call of [`Report::winners_after`] returns.
pub const MAX_WINNERS_AFTER: u32 = 1000;

#[async_trait]
impl Report for StatusService {
    async fn campaign(&self) -> Result<CampaignReport, ServiceError> {
        let (states, prizes, stock, pace, outbox, mailings) = tokio::join!(
            self.db.state_counts(),
            self.db.prizes_won(),
            self.db.prize_stock(),
            self.db.draw_pace(),
            self.db.outbox_counts(),
            self.mailings()
        );
        let states = states.map_err(|e| report_failed("counts by state", &e))?;
        let prizes = prizes.map_err(|e| report_failed("counts by prize", &e))?;
        let stock = stock.map_err(|e| report_failed("the prize stock", &e))?;
        let pace = pace.map_err(|e| report_failed("the pace of the draws", &e))?;
        let outbox = outbox.map_err(|e| report_failed("the outbox counts", &e))?;
        let mailings = mailings.map_err(|e| report_failed("the mailing progress", &e))?;
        Ok(CampaignReport {
            states,
            prizes: tallies(prizes, stock),
            pace,
            backlog: Backlog {
                pending: outbox.pending,
                delivered: outbox.delivered,
            },
            mailings,
        })
    }

    async fn winners(&self, search: &WinnerSearch) -> Result<WinnersPage, ServiceError> {
        if search.page == 0 || search.per_page == 0 || search.per_page > WinnerSearch::MAX_PER_PAGE
        {
            return Err(ServiceError::invalid(format!(
                "page must be at least 1 and per_page between 1 and {}",
                WinnerSearch::MAX_PER_PAGE
            )));
        }
        let offset = u64::from(search.page - 1) * u64::from(search.per_page);
        let (total, winners) = self
            .db
            .search_winners(&search.words(), offset, search.per_page)
            .await
            .map_err(|e| report_failed("the winners search", &e))?;
        Ok(WinnersPage {
            total,
            page: search.page,
            per_page: search.per_page,
            winners,
        })
    }

    async fn winners_after(
        &self,
        after: Option<CustomerId>,
        limit: u32,
    ) -> Result<Vec<Winner>, ServiceError> {
        if limit == 0 || limit > MAX_WINNERS_AFTER {
            return Err(ServiceError::invalid(format!(
                "limit must be between 1 and {MAX_WINNERS_AFTER}"
            )));
        }
        self.db
            .winners_after(after, limit)
            .await
            .map_err(|e| report_failed("the winners export", &e))
    }
}
