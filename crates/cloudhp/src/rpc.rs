//! The internal HTTP/JSON APIs of the roles, and their remote clients.
//!
//! Each role's API is a thin layer over its trait: the handlers call the same trait object the
//! in-process callers use, so the distributed deployment runs the same role code, only the
//! transport differs. Errors travel as the JSON of [`ServiceError`], with one status mapping.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use cloudhp_core::retry::{Policy, Retryable};
use cloudhp_core::{
    Customer, CustomerId, Identity, IdentityHandle, PictureInfo, PictureStream, Pictures,
    PicturesHandle, Play, PlayHandle, PlayReply, PlayStatus, ServiceError, Status, StatusHandle,
};
use futures::TryStreamExt;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

/// How each role is named to users when it fails.
pub const IDENTITY_SERVICE: &str = "the identity service";
pub const STATUS_SERVICE: &str = "the status service";
pub const PLAY_SERVICE: &str = "the play service";
pub const PICTURE_SERVICE: &str = "the picture service";

/// The one mapping from service errors to HTTP statuses.
pub fn status_of(err: &ServiceError) -> StatusCode {
    match err {
        ServiceError::NotFound => StatusCode::NOT_FOUND,
        ServiceError::Invalid { .. } => StatusCode::BAD_REQUEST,
        ServiceError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
        ServiceError::Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
        ServiceError::Closed { .. } => StatusCode::CONFLICT,
    }
}

/// A service error as an internal API response.
struct ApiError(ServiceError);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (status_of(&self.0), Json(self.0)).into_response()
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        Self(e)
    }
}

fn parse_id(raw: &str) -> Result<CustomerId, ApiError> {
    CustomerId::parse(raw).map_err(|e| ApiError(ServiceError::invalid(e.to_string())))
}

pub fn identity_api(service: IdentityHandle) -> Router {
    async fn customer(
        State(s): State<IdentityHandle>,
        Path(id): Path<String>,
    ) -> Result<Json<Customer>, ApiError> {
        Ok(Json(s.customer(parse_id(&id)?).await?))
    }
    Router::new()
        .route("/v1/identity/customers/{id}", get(customer))
        .with_state(service)
}

pub fn status_api(service: StatusHandle) -> Router {
    async fn status(
        State(s): State<StatusHandle>,
        Path(id): Path<String>,
    ) -> Result<Json<PlayStatus>, ApiError> {
        Ok(Json(s.status(parse_id(&id)?).await?))
    }
    Router::new()
        .route("/v1/status/players/{id}", get(status))
        .with_state(service)
}

pub fn play_api(service: PlayHandle) -> Router {
    // Any body is ignored: the play role looks the customer up itself.
    async fn play(
        State(s): State<PlayHandle>,
        Path(id): Path<String>,
    ) -> Result<Json<PlayReply>, ApiError> {
        Ok(Json(s.play(parse_id(&id)?).await?))
    }
    async fn availability(State(s): State<PlayHandle>) -> Result<StatusCode, ApiError> {
        s.availability().await?;
        Ok(StatusCode::NO_CONTENT)
    }
    Router::new()
        .route("/v1/play/players/{id}", post(play))
        .route("/v1/play/availability", get(availability))
        .with_state(service)
}

/// Response headers describing a picture.
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

pub fn picture_api(service: PicturesHandle) -> Router {
    async fn info(
        State(s): State<PicturesHandle>,
        Path(id): Path<String>,
    ) -> Result<Json<PictureInfo>, ApiError> {
        s.info(parse_id(&id)?)
            .await?
            .map(Json)
            .ok_or(ApiError(ServiceError::NotFound))
    }
    async fn open(
        State(s): State<PicturesHandle>,
        Path(id): Path<String>,
    ) -> Result<Response, ApiError> {
        let picture = s
            .open(parse_id(&id)?)
            .await?
            .ok_or(ApiError(ServiceError::NotFound))?;
        Ok((
            picture_headers(&picture.info),
            Body::from_stream(picture.body),
        )
            .into_response())
    }
    Router::new()
        .route("/v1/pictures/{id}/info", get(info))
        .route("/v1/pictures/{id}", get(open))
        .with_state(service)
}

/// Compares bearer tokens by digest, so the time taken says nothing about the token.
fn same_token(given: &str, expected: &[u8; 32]) -> bool {
    Sha256::digest(given.as_bytes()).as_slice() == expected.as_slice()
}

/// Requires `Authorization: Bearer <token>` on the internal APIs when a token is configured.
pub async fn require_token(
    State(expected): State<Arc<[u8; 32]>>,
    request: Request,
    next: Next,
) -> Response {
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match given {
        Some(token) if same_token(token, &expected) => next.run(request).await,
        _ => (
            StatusCode::UNAUTHORIZED,
            Json(ServiceError::invalid("missing or wrong role token")),
        )
            .into_response(),
    }
}

/// The digest a token is checked against.
pub fn token_digest(token: &str) -> Arc<[u8; 32]> {
    Arc::new(Sha256::digest(token.as_bytes()).into())
}

/// One remote role: base URL, pooled client, bounded retry of refused connections.
#[derive(Clone)]
pub struct RemoteRole {
    name: &'static str,
    base: String,
    http: reqwest::Client,
    token: Option<String>,
    timeout: Duration,
    retries: u32,
}

impl RemoteRole {
    pub fn new(
        name: &'static str,
        base: &str,
        http: reqwest::Client,
        token: Option<String>,
        timeout: Duration,
        retries: u32,
    ) -> Self {
        Self {
            name,
            base: base.trim_end_matches('/').to_owned(),
            http,
            token,
            timeout,
            retries,
        }
    }

    async fn send(
        &self,
        build: impl Fn(&reqwest::Client, String) -> reqwest::RequestBuilder,
        path: &str,
    ) -> Result<reqwest::Response, ServiceError> {
        let url = format!("{}{}", self.base, path);
        let attempt = || async {
            let mut request = build(&self.http, url.clone()).timeout(self.timeout);
            if let Some(token) = &self.token {
                request = request.bearer_auth(token);
            }
            request.send().await
        };
        // Only a refused connection is retried: the request never reached the role.
        let sent = attempt
            .retry(Policy::linear(
                Duration::from_millis(50),
                self.retries as usize,
            ))
            .when(reqwest::Error::is_connect)
            .await;
        match sent {
            Ok(response) => Ok(response),
            Err(e) if e.is_timeout() => {
                tracing::warn!(role = self.name, url, "call timed out");
                Err(ServiceError::timeout(self.name, self.timeout))
            }
            Err(e) => {
                tracing::warn!(role = self.name, url, error = %crate::telemetry::chain(&e), "call failed");
                Err(ServiceError::unavailable(self.name))
            }
        }
    }

    /// Turns a non-success answer into the error the role sent, if it sent one.
    async fn error_of(&self, response: reqwest::Response) -> ServiceError {
        let status = response.status();
        match response.json::<ServiceError>().await {
            Ok(err) => err,
            Err(_) => {
                // Not one of ours (a proxy page, a wrong URL): never read it as "not found".
                tracing::warn!(role = self.name, base = self.base, %status, "unexpected answer");
                ServiceError::unavailable(self.name)
            }
        }
    }

    async fn json<T: DeserializeOwned>(
        &self,
        response: reqwest::Response,
    ) -> Result<T, ServiceError> {
        if !response.status().is_success() {
            return Err(self.error_of(response).await);
        }
        response.json::<T>().await.map_err(|e| {
            tracing::warn!(role = self.name, error = %crate::telemetry::chain(&e), "unreadable answer");
            ServiceError::unavailable(self.name)
        })
    }

    async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, ServiceError> {
        let response = self.send(|c, u| c.get(u), path).await?;
        self.json(response).await
    }
}

pub struct RemoteIdentity(pub RemoteRole);

#[async_trait]
impl Identity for RemoteIdentity {
    async fn customer(&self, id: CustomerId) -> Result<Customer, ServiceError> {
        self.0
            .get_json(&format!("/v1/identity/customers/{id}"))
            .await
    }
}

pub struct RemoteStatus(pub RemoteRole);

#[async_trait]
impl Status for RemoteStatus {
    async fn status(&self, id: CustomerId) -> Result<PlayStatus, ServiceError> {
        self.0.get_json(&format!("/v1/status/players/{id}")).await
    }
}

pub struct RemotePlay(pub RemoteRole);

#[async_trait]
impl Play for RemotePlay {
    async fn play(&self, id: CustomerId) -> Result<PlayReply, ServiceError> {
        let path = format!("/v1/play/players/{id}");
        let response = self.0.send(|c, u| c.post(u), &path).await?;
        self.0.json(response).await
    }

    async fn availability(&self) -> Result<(), ServiceError> {
        let response = self
            .0
            .send(|c, u| c.get(u), "/v1/play/availability")
            .await?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(self.0.error_of(response).await)
        }
    }
}

pub struct RemotePictures(pub RemoteRole);

#[async_trait]
impl Pictures for RemotePictures {
    async fn info(&self, id: CustomerId) -> Result<Option<PictureInfo>, ServiceError> {
        match self.0.get_json(&format!("/v1/pictures/{id}/info")).await {
            Ok(info) => Ok(Some(info)),
            Err(ServiceError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn open(&self, id: CustomerId) -> Result<Option<PictureStream>, ServiceError> {
        let response = self
            .0
            .send(|c, u| c.get(u), &format!("/v1/pictures/{id}"))
            .await?;
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
