//! What the admin area reads of a campaign: its totals, its winners, its pace. The status role
//! answers it from the lottery database ([`crate::Report`]); the customer count is the identity
//! role's ([`crate::Identity::customer_count`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::Prize;

/// The lottery's totals at one moment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignReport {
    /// Draws by the state of their row (`drawing`, `won`, `failed`, and any state a newer
    /// version records), counted by the database: a new state shows up here by itself.
    pub states: BTreeMap<String, u64>,
    /// The prizes won, by prize, in name order.
    pub prizes: Vec<PrizeTally>,
    /// How many draws ended, bucket by bucket, over the campaign.
    pub pace: DrawPace,
    /// The winner notifications waiting and sent.
    pub backlog: Backlog,
    /// The progress of each campaign mailing (`cloudhp campaign send`), by campaign name.
    #[serde(default)]
    pub mailings: Vec<MailingTally>,
}

/// Where one campaign mailing stands: customers by the state of their mail.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailingTally {
    pub campaign: String,
    pub sent: u64,
    /// Being sent now (or by a run that was stopped before it knew).
    pub sending: u64,
    /// Refused for now: the next run tries again.
    pub failed: u64,
    /// Refused for good (a permanent SMTP error).
    pub rejected: u64,
    /// A run was stopped while sending: maybe sent (`--resend-uncertain`).
    pub uncertain: u64,
}

impl CampaignReport {
    /// Draws in `state` (0 when none).
    pub fn count(&self, state: &str) -> u64 {
        self.states.get(state).copied().unwrap_or(0)
    }
}

/// How often one prize was won, and what is left of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrizeTally {
    pub prize: Prize,
    /// The prize catalog's name of the prize, when it has one.
    #[serde(default)]
    pub name: Option<String>,
    pub won: u64,
    /// The stock of a limited prize; `None` when unlimited or unknown.
    #[serde(default)]
    pub stock: Option<u64>,
    /// What is left of a limited prize; `None` when the stock is unknown or unlimited.
    #[serde(default)]
    pub stock_left: Option<u64>,
}

/// Ended draws per bucket of `bucket_minutes`, from the first to the last (empty buckets
/// included, so that a chart shows the pauses).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrawPace {
    pub bucket_minutes: u32,
    pub buckets: Vec<DrawBucket>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrawBucket {
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    pub draws: u64,
}

/// The outbox of winner notifications.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Backlog {
    pub pending: u64,
    pub delivered: u64,
}

/// One winner, as recorded with the draw: the customer as they were when they played, the
/// prize and its dates (the same record as the winner's notification).
pub type Winner = crate::WinnerNotice;

/// A page of the winners: the words to look for (each must be in the name, the e-mail or be
/// the id), newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WinnerSearch {
    #[serde(default)]
    pub search: String,
    /// From 1.
    pub page: u32,
    pub per_page: u32,
}

impl WinnerSearch {
    /// Most words a search looks for; more are ignored.
    pub const MAX_WORDS: usize = 5;
    /// Most winners on one page.
    pub const MAX_PER_PAGE: u32 = 200;

    /// The words of the search, at most [`Self::MAX_WORDS`], each at most 100 characters.
    pub fn words(&self) -> Vec<String> {
        self.search
            .split_whitespace()
            .take(Self::MAX_WORDS)
            .map(|w| w.chars().take(100).collect())
            .collect()
    }
}

/// One page of winners, and how many match in all.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WinnersPage {
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
    pub winners: Vec<Winner>,
}

impl WinnersPage {
    /// How many pages the matches fill (at least 1).
    pub fn pages(&self) -> u32 {
        let per = u64::from(self.per_page.max(1));
        u32::try_from(self.total.div_ceil(per).max(1)).unwrap_or(u32::MAX)
    }
}
