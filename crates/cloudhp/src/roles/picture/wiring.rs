//! The picture role: serves the prize pictures of the image store.

use std::sync::Arc;

use cloudhp_core::{PicturesHandle, Role};

use super::{PictureService, api};
use crate::backends::images;
use crate::config::Config;
use crate::wiring::Wiring;

/// The picture role, when it runs here, serving its API.
pub fn service(w: &mut Wiring, config: &Config) -> anyhow::Result<Option<PicturesHandle>> {
    if !w.runs(Role::Picture) {
        return Ok(None);
    }
    let store = images::shared(w, config)?;
    let service: PicturesHandle = Arc::new(PictureService::new(store));
    w.api(api::router(service.clone()));
    Ok(Some(service))
}
