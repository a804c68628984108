//! The picture role's internal HTTP API, over its trait.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use cloudhp_core::{PictureInfo, PicturesHandle, ServiceError};

use super::routes;
use crate::rpc::{Answer, ID, IdPath, RpcError};

/// Response headers describing a picture (the role API's, and the web role's).
pub fn picture_headers(info: &PictureInfo) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(cloudhp_objects::JPEG),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(info.size));
    if let Ok(etag) = HeaderValue::from_str(&info.etag) {
        headers.insert(header::ETAG, etag);
    }
    headers
}

pub fn router(service: PicturesHandle) -> Router {
    async fn info(State(s): State<PicturesHandle>, IdPath(id): IdPath) -> Answer<PictureInfo> {
        s.info(id)
            .await?
            .map(Json)
            .ok_or(RpcError(ServiceError::NotFound))
    }
    async fn open(
        State(s): State<PicturesHandle>,
        IdPath(id): IdPath,
    ) -> Result<Response, RpcError> {
        let picture = s.open(id).await?.ok_or(RpcError(ServiceError::NotFound))?;
        Ok((
            picture_headers(&picture.info),
            Body::from_stream(picture.body),
        )
            .into_response())
    }
    Router::new()
        .route(&routes::info(ID), get(info))
        .route(&routes::picture(ID), get(open))
        .with_state(service)
}
