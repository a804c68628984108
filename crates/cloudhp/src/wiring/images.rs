//! The image store of the prize pictures, and the picture role that serves it.

use std::sync::Arc;

use anyhow::Context;
use cloudhp_core::{PicturesHandle, Role, RoleSet};
use cloudhp_objects::ImageStore;

use super::Wiring;
use crate::config::Config;
use crate::roles::picture::PictureService;
use crate::telemetry::chain;

/// Opens the image store when the play role (which writes) or the picture role (which
/// reads) runs here.
pub fn store(
    w: &mut Wiring,
    config: &Config,
    roles: &RoleSet,
) -> anyhow::Result<Option<Arc<dyn ImageStore>>> {
    if !(roles.contains(Role::Play) || roles.contains(Role::Picture)) {
        return Ok(None);
    }
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
    Ok(Some(store))
}

/// The picture role, when it runs here.
pub fn pictures(roles: &RoleSet, images: Option<&Arc<dyn ImageStore>>) -> Option<PicturesHandle> {
    match (images, roles.contains(Role::Picture)) {
        (Some(store), true) => Some(Arc::new(PictureService::new(store.clone()))),
        _ => None,
    }
}
