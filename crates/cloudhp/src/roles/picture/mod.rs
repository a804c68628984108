//! P: a customer's prize picture, from the image store.
//!
//! The role in one place: its local service (here), its internal HTTP API (`api`), its client
//! for the processes where it does not run (`client`), and its start-up (`wiring`).

pub mod api;
pub mod client;
#[cfg(test)]
pub(crate) mod contract;
pub mod wiring;

/// The routes of the picture API, each written once for the API and its client: a path for one
/// customer, or with [`crate::rpc::ID`] the pattern the API serves.
pub mod routes {
    use std::fmt::Display;

    /// `GET`: what is known of the customer's picture.
    pub fn info(id: impl Display) -> String {
        format!("/v1/pictures/{id}/info")
    }

    /// `GET`: the customer's picture.
    pub fn picture(id: impl Display) -> String {
        format!("/v1/pictures/{id}")
    }
}

use std::sync::Arc;

use async_trait::async_trait;
use cloudhp_core::{CustomerId, PictureInfo, PictureStream, Pictures, ServiceError};
use cloudhp_objects::{ImageStore, JPEG, ObjectInfo, picture_key};

use crate::telemetry::chain;

/// How the picture role is named to users when it fails.
pub const PICTURE_SERVICE: &str = "the picture service";

/// How the picture and play roles name the image store to users.
pub const IMAGE_STORE: &str = "the picture store";

/// The local picture role.
pub struct PictureService {
    store: Arc<dyn ImageStore>,
}

impl PictureService {
    pub fn new(store: Arc<dyn ImageStore>) -> Self {
        Self { store }
    }
}

fn to_info(info: ObjectInfo) -> PictureInfo {
    PictureInfo {
        size: info.size,
        etag: info.etag,
        content_type: JPEG.to_owned(),
    }
}

fn unavailable(id: CustomerId, err: &cloudhp_objects::ObjectError) -> ServiceError {
    tracing::warn!(customer = %id, error = %chain(err), "picture lookup failed");
    ServiceError::unavailable(IMAGE_STORE)
}

#[async_trait]
impl Pictures for PictureService {
    async fn info(&self, id: CustomerId) -> Result<Option<PictureInfo>, ServiceError> {
        self.store
            .head(&picture_key(id.get()))
            .await
            .map(|found| found.map(to_info))
            .map_err(|e| unavailable(id, &e))
    }

    async fn open(&self, id: CustomerId) -> Result<Option<PictureStream>, ServiceError> {
        let found = self
            .store
            .get(&picture_key(id.get()))
            .await
            .map_err(|e| unavailable(id, &e))?;
        Ok(found.map(|(info, body)| PictureStream {
            info: to_info(info),
            body,
        }))
    }
}
