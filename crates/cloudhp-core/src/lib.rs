//! Domain types and role interfaces shared by every part of CloudHP.

mod campaign;
mod domain;
mod id;
mod report;
pub mod retry;
mod role;
pub mod secret;
mod service;

pub use campaign::{CampaignWindow, Clock, Phase, system_clock};
pub use domain::{
    Customer, Draw, DrawFailure, PictureInfo, PlayOutcome, PlayReply, PlayState, PlayStatus, Prize,
    WinnerNotice, looks_like_jpeg,
};
pub use id::{CustomerId, IdError};
pub use report::{
    Backlog, CampaignReport, DrawBucket, DrawPace, MailingTally, PrizeTally, Winner, WinnerSearch,
    WinnersPage,
};
pub use role::{Role, RoleSet, UnknownRole};
pub use secret::{Hidden, Mask, Masked, Secret};
pub use service::{
    Identity, IdentityHandle, PictureStream, Pictures, PicturesHandle, Play, PlayHandle, Report,
    ReportHandle, ServiceError, Status, StatusHandle, Worker, WorkerHandle,
};
