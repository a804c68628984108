//! Configured strings that must not be shown as they are (the masked types of `cloudhp-core`),
//! and URLs that may carry credentials, shown with them masked.

pub use cloudhp_core::secret::{Hidden, Mask, Masked, Secret, SecretUrl, UrlCredentials};
