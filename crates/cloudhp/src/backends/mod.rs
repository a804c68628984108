//! The backends the roles use, each concern in one module: how it is opened from the
//! configuration, once per process, shared by the roles that use it, and its readiness check.

pub mod events;
pub mod images;
pub mod lottery_db;

use std::sync::Arc;

use cloudhp_objects::ImageStore;
use cloudhp_store::LotteryDb;

use crate::events::LazyBus;

/// The backends opened so far by the roles of this process, each opened once.
#[derive(Default)]
pub struct Shared {
    pub(crate) lottery: Option<LotteryDb>,
    pub(crate) images: Option<Arc<dyn ImageStore>>,
    /// `Some(None)`: looked at, and no bus is configured.
    pub(crate) bus: Option<Option<LazyBus>>,
}
