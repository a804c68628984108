//! Personal links: signed and checked by [`cloudhp_links`], re-exported here.

pub use cloudhp_links::{LinkError, Links};

/// The keys of the data dir's key file, created when missing (see [`crate::link_keys`]).
pub use crate::link_keys::load_or_create as load_or_create_key;
