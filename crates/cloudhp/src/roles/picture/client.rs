//! The picture role called over HTTP, from the processes where it does not run.

use async_trait::async_trait;
use axum::http::{HeaderValue, header};
use cloudhp_core::{
    CustomerId, PictureInfo, PictureStream, Pictures, PicturesHandle, ServiceError,
};
use futures::TryStreamExt;

use super::{PICTURE_SERVICE, routes};

crate::rpc::remote_client!(RemotePictures: PicturesHandle, PICTURE_SERVICE, picture_url);

#[async_trait]
impl Pictures for RemotePictures {
    async fn info(&self, id: CustomerId) -> Result<Option<PictureInfo>, ServiceError> {
        match self.0.get_json(&routes::info(id)).await {
            Ok(info) => Ok(Some(info)),
            Err(ServiceError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn open(&self, id: CustomerId) -> Result<Option<PictureStream>, ServiceError> {
        let response = self.0.send(|c, u| c.get(u), &routes::picture(id)).await?;
        if !response.status().is_success() {
            return match self.0.error_of(response).await {
                ServiceError::NotFound => Ok(None),
                e => Err(e),
            };
        }
        let headers = response.headers();
        let text = |name| {
            headers
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
        };
        let info = PictureInfo {
            size: response.content_length().unwrap_or(0),
            etag: text(header::ETAG).unwrap_or("\"\"").to_owned(),
            content_type: text(header::CONTENT_TYPE)
                .unwrap_or(cloudhp_objects::JPEG)
                .to_owned(),
        };
        let body = response.bytes_stream().map_err(std::io::Error::other);
        Ok(Some(PictureStream {
            info,
            body: Box::pin(body),
        }))
    }
}
