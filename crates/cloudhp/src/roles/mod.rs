//! The roles, each in one place: `roles/<role>/` holds the role's local service, its internal
//! HTTP API (`api.rs`) and remote client (`client.rs`) where other processes call it, and its
//! start-up from the configuration (`wiring.rs`). The role traits are in `cloudhp-core`.

pub mod identity;
pub mod notifier;
pub mod picture;
pub mod play;
pub mod status;
pub mod web;
pub mod worker;
