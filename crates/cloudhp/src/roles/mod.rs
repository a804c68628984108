//! The local implementations of the roles.

pub mod identity;
pub mod notifier;
pub mod picture;
pub mod play;
pub mod status;
pub mod worker;
