//! The image store of the prize pictures: the play role writes, the picture role reads.

use std::sync::Arc;

use anyhow::Context;
use cloudhp_core::{Role, RoleSet};
use cloudhp_objects::{ImageStore, StoreOptions};

use super::check_scheme;
use crate::config::{Config, ConfigError, positive};
use crate::http::{Check, check};
use crate::telemetry::chain;
use crate::wiring::Wiring;

/// The URL schemes of `images.url` (a bare path is a folder too).
pub const SCHEMES: &[&str] = &["file", "s3", "swift"];

/// Whether a role of `roles` uses the image store: the play role writes, the picture role
/// reads.
pub fn used(_config: &Config, roles: &RoleSet) -> bool {
    roles.contains(Role::Play) || roles.contains(Role::Picture)
}

/// Checks `[images]`.
pub fn validate(config: &Config) -> Result<(), ConfigError> {
    let i = &config.images;
    let url = config.images_url();
    positive("images.timeout", i.timeout)?;
    if url.contains("://") {
        check_scheme(
            "images.url",
            &url,
            &i.url.masked(),
            SCHEMES,
            "file:///PATH, s3://BUCKET[/PREFIX] or swift://CONTAINER[/PREFIX]",
        )?;
    }
    if url.starts_with("swift://") && i.swift.auth_url.is_empty() {
        return Err(ConfigError::key(
            "images.swift.auth_url",
            "swift:// URLs need the Keystone v3 or TempAuth URL",
        ));
    }
    Ok(())
}

/// The image store of this process: opened by the first role that asks, shared by the others.
pub fn shared(w: &mut Wiring, config: &Config) -> anyhow::Result<Arc<dyn ImageStore>> {
    if let Some(store) = &w.shared.images {
        return Ok(store.clone());
    }
    let store = open(w, config)?;
    w.shared.images = Some(store.clone());
    Ok(store)
}

/// Opens the store of `images.url`, its check on `/readyz`.
fn open(w: &mut Wiring, config: &Config) -> anyhow::Result<Arc<dyn ImageStore>> {
    let store = cloudhp_objects::store_from_url(&config.images_url(), &options(config))
        .context("cannot open the image store (images.url)")?;
    w.ready("image_store", readiness(&store));
    Ok(store)
}

/// Whether the store answers.
pub fn readiness(store: &Arc<dyn ImageStore>) -> Check {
    check(store.clone(), |store| async move {
        store.ready().await.map_err(|e| chain(&e))
    })
}

/// The settings of the cloud stores.
fn options(config: &Config) -> StoreOptions {
    let i = &config.images;
    StoreOptions {
        s3: i.s3.clone(),
        swift: i.swift.clone(),
        timeout: i.timeout,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    /// The settings handed to the store keep their secrets masked: they print (`{:?}`)
    /// without them.
    #[test]
    fn the_store_settings_never_print_a_secret() {
        let mut config = Config::default();
        config.images.s3.secret_key = Secret::new("s3-secret-key");
        config.images.swift.password = Secret::new("swift-password");
        let shown = format!("{:?}", options(&config));
        assert!(
            !shown.contains("s3-secret-key") && !shown.contains("swift-password"),
            "{shown}"
        );
    }

    /// The schemes accepted here are those the image store opens, and only those.
    #[test]
    fn schemes_are_those_of_the_image_store() {
        let dir = tempfile::tempdir().unwrap();
        let options = StoreOptions::default();
        let opened = |url: &str| match cloudhp_objects::store_from_url(url, &options) {
            Err(cloudhp_objects::ObjectError::Scheme(_)) => false,
            // Other errors are about the rest of the URL or the settings.
            _ => true,
        };
        for scheme in SCHEMES {
            let url = format!("{scheme}://{}/images", dir.path().display());
            assert!(opened(&url), "{url}");
        }
        assert!(!opened("ftp://example.com/x"));
    }
}
