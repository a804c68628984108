//! The image store of the prize pictures: the play role writes, the picture role reads.

use std::sync::Arc;

use anyhow::Context;
use cloudhp_objects::ImageStore;

use crate::config::Config;
use crate::telemetry::chain;
use crate::wiring::Wiring;

/// The image store of this process: opened by the first role that asks, shared by the others.
pub fn shared(w: &mut Wiring, config: &Config) -> anyhow::Result<Arc<dyn ImageStore>> {
    if let Some(store) = &w.shared.images {
        return Ok(store.clone());
    }
    let store = open(w, config)?;
    w.shared.images = Some(store.clone());
    Ok(store)
}

fn open(w: &mut Wiring, config: &Config) -> anyhow::Result<Arc<dyn ImageStore>> {
    let i = &config.images;
    let options = cloudhp_objects::StoreOptions {
        s3: cloudhp_objects::S3Options {
            endpoint: i.s3.endpoint.clone(),
            region: i.s3.region.clone(),
            access_key: i.s3.access_key.clone(),
            secret_key: i.s3.secret_key.expose().to_owned(),
        },
        swift: cloudhp_objects::SwiftOptions {
            auth_url: i.swift.auth_url.clone(),
            auth: i.swift.auth.clone(),
            user: i.swift.user.clone(),
            password: i.swift.password.expose().to_owned(),
            project: i.swift.project.clone(),
            user_domain: i.swift.user_domain.clone(),
            project_domain: i.swift.project_domain.clone(),
            region: i.swift.region.clone(),
            interface: i.swift.interface.clone(),
        },
        timeout: i.timeout,
    };
    let store = cloudhp_objects::store_from_url(&config.images_url(), &options)
        .context("cannot open the image store (images.url)")?;
    let probe = store.clone();
    w.ready("image_store", move || {
        let store = probe.clone();
        async move { store.ready().await.map_err(|e| chain(&e)) }
    });
    Ok(store)
}
