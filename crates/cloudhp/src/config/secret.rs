//! Configured strings that must not be shown as they are (the masked types of `cloudhp-core`),
//! and URLs that may carry a password, shown with it masked.

pub use cloudhp_core::secret::{Hidden, Mask, Masked, Secret};

/// Shown with the password of the URL masked (database and transport URLs).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UrlPassword;

impl Mask for UrlPassword {
    fn mask(value: &str) -> String {
        cloudhp_store::redact_url(value)
    }
}

/// A URL that may carry a password: printed with the password masked.
pub type SecretUrl = Masked<UrlPassword>;
