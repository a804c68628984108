//! `[images]`, `[images.s3]`, `[images.swift]`: the store of the prize pictures, checked by
//! `backends::images`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::SecretUrl;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ImagesConfig {
    /// Where prize pictures are stored: `file:///path`, `s3://BUCKET[/PREFIX]` or
    /// `swift://CONTAINER[/PREFIX]`; empty: `file://<data_dir>/images`.
    pub url: SecretUrl,
    /// Upper bound of one call to a cloud store.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    pub s3: S3Config,
    pub swift: SwiftConfig,
}

impl Default for ImagesConfig {
    fn default() -> Self {
        Self {
            url: SecretUrl::default(),
            timeout: Duration::from_secs(10),
            s3: S3Config::default(),
            swift: SwiftConfig::default(),
        }
    }
}

/// `[images.s3]`: the S3 backend's settings, as the store takes them.
pub type S3Config = cloudhp_objects::S3Options;

/// `[images.swift]`: the Swift backend's settings, as the store takes them (the Keystone
/// domains default to `Default`, the endpoint interface to `public`).
pub type SwiftConfig = cloudhp_objects::SwiftOptions;
