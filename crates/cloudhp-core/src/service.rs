//! One trait per role. Each is implemented once locally (the role's own logic) and once remotely
//! (an HTTP client of the role's API); the wiring picks one or the other at start-up, and the
//! callers never know which.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};

use crate::{
    CampaignReport, Customer, CustomerId, Draw, PictureInfo, PlayReply, PlayStatus, Winner,
    WinnerSearch, WinnersPage,
};

/// How a call to a role (or to a role's own dependency) failed.
///
/// The `what` texts name the failing part in plain words ("the customer database"); they are
/// shown to customers, so they never carry addresses, SQL or stack traces. Causes go to the log
/// where the failure is first seen.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum ServiceError {
    /// The thing asked for does not exist (an unknown or deleted customer, no picture).
    #[error("not found")]
    NotFound,
    /// The caller sent something the role refuses.
    #[error("invalid request: {message}")]
    Invalid { message: String },
    /// A part the answer depends on is down or failing.
    #[error("{what} is unavailable")]
    Unavailable { what: String },
    /// A part the answer depends on did not answer in time.
    #[error("{what} did not answer within {after_ms} ms")]
    Timeout { what: String, after_ms: u64 },
    /// The campaign does not take this now: it has not opened yet, or it is over.
    #[error("{message}")]
    Closed { message: String },
}

impl ServiceError {
    pub fn unavailable(what: impl Into<String>) -> Self {
        Self::Unavailable { what: what.into() }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::Invalid {
            message: message.into(),
        }
    }

    pub fn timeout(what: impl Into<String>, after: std::time::Duration) -> Self {
        Self::Timeout {
            what: what.into(),
            after_ms: u64::try_from(after.as_millis()).unwrap_or(u64::MAX),
        }
    }

    /// True for the failures that say nothing about the request itself: retrying later may work.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unavailable { .. } | Self::Timeout { .. })
    }
}

/// I: looks customers up in the shop's customer database.
#[async_trait]
pub trait Identity: Send + Sync + 'static {
    /// The customer, or [`ServiceError::NotFound`] for an unknown, deleted or excluded one.
    async fn customer(&self, id: CustomerId) -> Result<Customer, ServiceError>;

    /// How many customers the campaign admits (those [`Identity::customer`] would find).
    async fn customer_count(&self) -> Result<u64, ServiceError>;
}

/// S: the play record of each customer.
#[async_trait]
pub trait Status: Send + Sync + 'static {
    async fn status(&self, id: CustomerId) -> Result<PlayStatus, ServiceError>;
}

/// The campaign as its operators watch it (the admin area), read from the lottery database by
/// the status role.
#[async_trait]
pub trait Report: Send + Sync + 'static {
    /// The totals: draws by state, prizes won, the pace of the draws, the notification backlog.
    async fn campaign(&self) -> Result<CampaignReport, ServiceError>;

    /// A page of the winners matching the search, newest first. A page past the last is empty
    /// (its `total` still says how many match).
    async fn winners(&self, search: &WinnerSearch) -> Result<WinnersPage, ServiceError>;

    /// Up to `limit` winners after the customer `after` (from the first when `None`), by
    /// customer id: the export walks every winner with it, a page at a time.
    async fn winners_after(
        &self,
        after: Option<CustomerId>,
        limit: u32,
    ) -> Result<Vec<Winner>, ServiceError>;
}

/// B: starts the one draw a customer is entitled to.
#[async_trait]
pub trait Play: Send + Sync + 'static {
    /// Claims the draw for this customer and runs it in the background, or reports that it is
    /// running or done. Never draws twice for one customer. The role looks the customer up
    /// itself (through the identity role): [`ServiceError::NotFound`] for an unknown or
    /// deleted one, whoever asks.
    async fn play(&self, id: CustomerId) -> Result<PlayReply, ServiceError>;

    /// Whether a draw could start now (the lottery database and a prize worker answer).
    async fn availability(&self) -> Result<(), ServiceError>;
}

/// P: the prize pictures, by customer id.
#[async_trait]
pub trait Pictures: Send + Sync + 'static {
    /// What is known of the customer's picture, `None` when there is none.
    async fn info(&self, id: CustomerId) -> Result<Option<PictureInfo>, ServiceError>;

    /// The customer's picture as a stream, `None` when there is none.
    async fn open(&self, id: CustomerId) -> Result<Option<PictureStream>, ServiceError>;
}

/// W: draws a prize and renders its picture with the customer's id (see the W contract).
#[async_trait]
pub trait Worker: Send + Sync + 'static {
    async fn draw(&self, id: CustomerId) -> Result<Draw, ServiceError>;

    /// Whether the worker answers at all (`GET /` of the contract).
    async fn ping(&self) -> Result<(), ServiceError>;
}

/// A picture being read: its metadata, then its bytes as they come from the store.
pub struct PictureStream {
    pub info: PictureInfo,
    pub body: BoxStream<'static, Result<Bytes, std::io::Error>>,
}

impl fmt::Debug for PictureStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PictureStream")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

/// The handles the roles call each other through.
pub type IdentityHandle = Arc<dyn Identity>;
pub type StatusHandle = Arc<dyn Status>;
pub type ReportHandle = Arc<dyn Report>;
pub type PlayHandle = Arc<dyn Play>;
pub type PicturesHandle = Arc<dyn Pictures>;
pub type WorkerHandle = Arc<dyn Worker>;
