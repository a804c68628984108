//! `[images]`, `[images.s3]`, `[images.swift]`: the store of the prize pictures, checked by
//! `backends::images`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Secret, SecretUrl};

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

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct S3Config {
    /// Empty: AWS. An S3-compatible store: its URL (MinIO, Ceph, Swift's s3api).
    pub endpoint: String,
    pub region: String,
    /// Empty: the AWS_* environment variables or the instance's role.
    pub access_key: String,
    pub secret_key: Secret,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SwiftConfig {
    /// Keystone v3 (`https://keystone:5000/v3`) or TempAuth (`http://swift:8080/auth/v1.0`).
    pub auth_url: String,
    /// `keystone` or `tempauth`; empty: guessed from `auth_url` (`…/v3` is Keystone).
    pub auth: String,
    pub user: String,
    /// Keystone password or TempAuth key.
    pub password: Secret,
    /// Keystone: the project the token is scoped to.
    pub project: String,
    pub user_domain: String,
    pub project_domain: String,
    /// Keystone: the catalog's region to use (empty: the first object-store endpoint).
    pub region: String,
    pub interface: String,
}

impl Default for SwiftConfig {
    fn default() -> Self {
        Self {
            auth_url: String::new(),
            auth: String::new(),
            user: String::new(),
            password: Secret::default(),
            project: String::new(),
            user_domain: "Default".into(),
            project_domain: "Default".into(),
            region: String::new(),
            interface: "public".into(),
        }
    }
}
