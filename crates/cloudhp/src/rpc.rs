//! The transport every role API and remote client shares: the one mapping between service
//! errors and HTTP statuses, the role token, and [`RemoteRole`], the HTTP client of one remote
//! role. Each role's own API and client live in its module (`roles/<role>/api.rs`,
//! `roles/<role>/client.rs`).
//!
//! Each role's API is a thin layer over its trait: the handlers call the same trait object the
//! in-process callers use, so the distributed deployment runs the same role code, only the
//! transport differs. Errors travel as the JSON of [`ServiceError`], with one status mapping.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::extract::{FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use cloudhp_core::retry::{Policy, Retryable};
use cloudhp_core::{CustomerId, ServiceError};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::config::{Config, Secret};

/// The customer id parameter of the role API routes: `routes::…(ID)` is the pattern a role's API
/// serves, `routes::…(id)` the path its client calls.
pub const ID: &str = "{id}";

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

/// A service error as an answer of a role API (the public API's refusals are the web role's
/// `PageError`).
pub struct RpcError(pub ServiceError);

impl IntoResponse for RpcError {
    fn into_response(self) -> Response {
        (status_of(&self.0), Json(self.0)).into_response()
    }
}

impl From<ServiceError> for RpcError {
    fn from(e: ServiceError) -> Self {
        Self(e)
    }
}

/// The customer id of a role API path; a malformed one is [`ServiceError::Invalid`].
pub fn parse_id(raw: &str) -> Result<CustomerId, RpcError> {
    CustomerId::parse(raw).map_err(|e| RpcError(ServiceError::invalid(e.to_string())))
}

/// The customer id of a role API path (its [`ID`]), as a handler's argument; a malformed one is
/// [`ServiceError::Invalid`].
pub struct IdPath(pub CustomerId);

impl<S: Send + Sync> FromRequestParts<S> for IdPath {
    type Rejection = RpcError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, RpcError> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|e| RpcError(ServiceError::invalid(e.body_text())))?;
        parse_id(&raw).map(Self)
    }
}

/// What a role API handler answers: the JSON of the result, or the service error.
pub type Answer<T> = Result<Json<T>, RpcError>;

/// Declares the remote client of a role, `$client`, calling it over a [`RemoteRole`] (the role's
/// `client.rs` implements the role's trait for it), and `handle`: the role as its callers use
/// it, the local service when it runs here (`local`), else a client of the role `$name` at
/// `roles.$url`.
macro_rules! remote_client {
    ($client:ident: $handle:ty, $name:expr, $url:ident) => {
        pub struct $client(pub $crate::rpc::RemoteRole);

        impl $client {
            /// The client over `role`, as the role's handle.
            pub fn handle_of(role: $crate::rpc::RemoteRole) -> $handle {
                ::std::sync::Arc::new(Self(role))
            }
        }

        /// The role as its callers use it: the local service when it runs here (`local`), else
        /// a client of the URL `[roles]` gives for it.
        pub fn handle(
            local: Option<&$handle>,
            remote: &$crate::rpc::Remote,
            config: &$crate::config::Config,
        ) -> $handle {
            remote.handle(local, $name, &config.roles.$url, $client::handle_of)
        }
    };
}
pub(crate) use remote_client;

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
    /// Masked when printed; exposed only in the request's header.
    token: Option<Secret>,
    timeout: Duration,
    retries: u32,
}

impl RemoteRole {
    pub fn new(
        name: &'static str,
        base: &str,
        http: reqwest::Client,
        token: Option<Secret>,
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

    pub async fn send(
        &self,
        build: impl Fn(&reqwest::Client, String) -> reqwest::RequestBuilder,
        path: &str,
    ) -> Result<reqwest::Response, ServiceError> {
        let url = format!("{}{}", self.base, path);
        let attempt = || async {
            let mut request = build(&self.http, url.clone()).timeout(self.timeout);
            if let Some(token) = &self.token {
                request = request.bearer_auth(token.expose());
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
    pub async fn error_of(&self, response: reqwest::Response) -> ServiceError {
        let status = response.status();
        if status == StatusCode::UNAUTHORIZED {
            // A deployment mistake, not the customer's: their page says the role is
            // unavailable, the log says why.
            tracing::error!(
                role = self.name,
                base = self.base,
                "the roles token is wrong: the role refuses this process's calls (roles.token \
                 must be the same in every process)"
            );
            return ServiceError::unavailable(self.name);
        }
        match response.json::<ServiceError>().await {
            Ok(err) => err,
            Err(_) => {
                // Not one of ours (a proxy page, a wrong URL): never read it as "not found".
                tracing::warn!(role = self.name, base = self.base, %status, "unexpected answer");
                ServiceError::unavailable(self.name)
            }
        }
    }

    pub async fn json<T: DeserializeOwned>(
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

    pub async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, ServiceError> {
        let response = self.send(|c, u| c.get(u), path).await?;
        self.json(response).await
    }
}

/// How this process reaches the roles that run elsewhere: one pooled HTTP client and the role
/// token, shared by every role of the process that calls another (the web role calls them all,
/// the play role calls identity).
pub struct Remote {
    http: reqwest::Client,
    token: Option<Secret>,
    timeout: Duration,
    retries: u32,
}

impl Remote {
    pub fn new(config: &Config) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .pool_idle_timeout(Duration::from_secs(60))
            .tcp_nodelay(true)
            .build()
            .context("cannot build the HTTP client")?;
        let token = (!config.roles.token.is_empty()).then(|| config.roles.token.clone());
        Ok(Self {
            http,
            token,
            timeout: config.roles.timeout,
            retries: config.roles.connect_retries,
        })
    }

    /// The remote role `name` at `url`.
    pub fn role(&self, name: &'static str, url: &str) -> RemoteRole {
        RemoteRole::new(
            name,
            url,
            self.http.clone(),
            self.token.clone(),
            self.timeout,
            self.retries,
        )
    }

    /// The handle of a role: the local service when it runs here, else `client` of the role
    /// `name` at `url`.
    pub fn handle<T: ?Sized>(
        &self,
        local: Option<&Arc<T>>,
        name: &'static str,
        url: &str,
        client: impl FnOnce(RemoteRole) -> Arc<T>,
    ) -> Arc<T> {
        match local {
            Some(local) => local.clone(),
            None => client(self.role(name, url)),
        }
    }
}

/// The role APIs served by this process, behind `roles.token` when one is set.
pub fn protect(apis: Router, config: &Config) -> Router {
    if config.roles.token.is_empty() {
        return apis;
    }
    behind_token(apis, config.roles.token.expose())
}

/// `apis`, answering only the callers that send `token`.
fn behind_token(apis: Router, token: &str) -> Router {
    apis.layer(axum::middleware::from_fn_with_state(
        token_digest(token),
        require_token,
    ))
}

/// Test support: a role API served in this process, and the client calling it.
#[cfg(test)]
pub(crate) mod testing {
    use std::time::Duration;

    use axum::Router;

    use super::{RemoteRole, Secret};

    /// Serves `api` on a port-0 listener of this process, behind the role token `served` when
    /// given; returns the remote role `name` calling it with the token `sent`.
    pub async fn serve_with_tokens(
        name: &'static str,
        api: Router,
        served: Option<&str>,
        sent: Option<&str>,
    ) -> RemoteRole {
        let api = match served {
            Some(token) => super::behind_token(api, token),
            None => api,
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, api).await });
        RemoteRole::new(
            name,
            &format!("http://{addr}"),
            reqwest::Client::new(),
            sent.map(Secret::new),
            Duration::from_secs(10),
            0,
        )
    }

    /// Serves `api` (see [`serve_with_tokens`]), without a token.
    pub async fn serve(name: &'static str, api: Router) -> RemoteRole {
        serve_with_tokens(name, api, None, None).await
    }

    /// Asserts that a role answered that `backend` is unavailable: what every role answers
    /// once the backend it stands on is down.
    #[track_caller]
    pub fn assert_down<T: std::fmt::Debug + PartialEq>(
        answer: Result<T, cloudhp_core::ServiceError>,
        backend: &str,
    ) {
        assert_eq!(
            answer,
            Err(cloudhp_core::ServiceError::unavailable(backend)),
            "{backend} is down"
        );
    }

    /// The transport a role's contract suite runs over: every role behaves the same whether
    /// its callers hold the local service or the remote client calling its API.
    #[derive(Clone, Copy, Debug)]
    pub enum Transport {
        Local,
        Remote,
    }

    impl Transport {
        /// The role behind `local` as the suite calls it: `local` itself, or `client` calling
        /// its API (`api` over `local`, served as the role `name`, see [`serve`]).
        pub async fn over<T>(
            self,
            name: &'static str,
            local: T,
            api: impl FnOnce(T) -> Router,
            client: impl FnOnce(RemoteRole) -> T,
        ) -> T {
            match self {
                Self::Local => local,
                Self::Remote => client(serve(name, api(local)).await),
            }
        }
    }

    /// The two tests of each suite of a role's contract: `$local` runs `$run` over
    /// [`Transport::Local`], `$remote` over [`Transport::Remote`].
    macro_rules! transport_tests {
        ($($run:ident: $local:ident, $remote:ident;)+) => {
            $(
                #[tokio::test]
                async fn $local() {
                    $run($crate::rpc::testing::Transport::Local).await;
                }

                #[tokio::test]
                async fn $remote() {
                    $run($crate::rpc::testing::Transport::Remote).await;
                }
            )+
        };
    }
    pub(crate) use transport_tests;
}

#[cfg(test)]
mod tests {
    use axum::extract::Path;
    use axum::routing::get;
    use cloudhp_core::PlayStatus;

    use super::*;

    /// Every service error, as the handler of a role API returns it, and its status.
    fn errors() -> Vec<(ServiceError, StatusCode)> {
        vec![
            (ServiceError::NotFound, StatusCode::NOT_FOUND),
            (ServiceError::invalid("a reason"), StatusCode::BAD_REQUEST),
            (
                ServiceError::unavailable("the customer database"),
                StatusCode::SERVICE_UNAVAILABLE,
            ),
            (
                ServiceError::timeout("the lottery database", Duration::from_millis(1500)),
                StatusCode::GATEWAY_TIMEOUT,
            ),
            (
                ServiceError::Closed {
                    message: "The campaign is over.".into(),
                },
                StatusCode::CONFLICT,
            ),
        ]
    }

    /// Each error crosses the transport as itself, under its own status: a handler's error is
    /// the error its remote caller gets.
    #[tokio::test]
    async fn every_service_error_comes_back_as_itself() {
        async fn fail(Path(n): Path<usize>) -> Result<Json<PlayStatus>, RpcError> {
            Err(RpcError(errors()[n].0.clone()))
        }
        let api = Router::new().route("/fail/{n}", get(fail));
        let remote = testing::serve("the test service", api).await;
        for (n, (expected, status)) in errors().into_iter().enumerate() {
            let response = remote
                .send(|c, u| c.get(u), &format!("/fail/{n}"))
                .await
                .unwrap();
            assert_eq!(response.status(), status, "{expected:?}");
            let got = remote.json::<PlayStatus>(response).await.unwrap_err();
            assert_eq!(got, expected);
        }
    }

    /// A malformed id in a role API path is the caller's mistake, whatever the role.
    #[tokio::test]
    async fn a_malformed_id_is_invalid() {
        async fn echo(IdPath(id): IdPath) -> Answer<u32> {
            Ok(Json(id.get()))
        }
        let api = Router::new().route(&format!("/v1/x/{ID}"), get(echo));
        let remote = testing::serve("the test service", api).await;
        assert_eq!(remote.get_json::<u32>("/v1/x/7").await, Ok(7));
        for raw in ["0", "abc", "-1", "99999999999"] {
            let got = remote.get_json::<u32>(&format!("/v1/x/{raw}")).await;
            assert!(
                matches!(got, Err(ServiceError::Invalid { .. })),
                "{raw}: {got:?}"
            );
        }
    }

    /// The log lines of this thread, while the guard lives.
    fn capture_logs() -> (
        std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
        tracing::subscriber::DefaultGuard,
    ) {
        #[derive(Clone)]
        struct Buffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
        impl std::io::Write for Buffer {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buffer = Buffer(Default::default());
        let lines = buffer.0.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || buffer.clone())
            .finish();
        (lines, tracing::subscriber::set_default(subscriber))
    }

    /// A role that refuses this process's token (401) is a deployment mistake: the caller, and
    /// the customer's page after it, sees the role unavailable (never "invalid request: missing
    /// or wrong role token"), and the log says at error level that the roles token is wrong.
    #[tokio::test]
    async fn a_wrong_roles_token_is_the_role_unavailable_and_an_error_in_the_log() {
        let (logs, _guard) = capture_logs();
        let api = Router::new().route("/v1/x", get(|| async { Json(7u32) }));
        let name = crate::roles::identity::IDENTITY_SERVICE;
        for sent in [Some("a-wrong-token"), None] {
            let remote =
                testing::serve_with_tokens(name, api.clone(), Some("the-token"), sent).await;
            let err = remote.get_json::<u32>("/v1/x").await.unwrap_err();
            assert_eq!(err, ServiceError::unavailable(name), "{sent:?}");
            assert_eq!(err.to_string(), "the identity service is unavailable");
        }
        let logs = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
        let line = logs
            .lines()
            .find(|l| l.contains("roles token is wrong"))
            .unwrap_or_else(|| panic!("no log line about the token: {logs}"));
        assert!(line.contains("ERROR") && line.contains(name), "{line}");

        let remote =
            testing::serve_with_tokens(name, api, Some("the-token"), Some("the-token")).await;
        assert_eq!(remote.get_json::<u32>("/v1/x").await, Ok(7));
    }

    /// Not an answer of a role (a proxy's page, a wrong URL): never read as "not found".
    #[tokio::test]
    async fn an_answer_not_of_a_role_is_unavailable() {
        let api = Router::new().route("/v1/x", get(|| async { (StatusCode::NOT_FOUND, "nope") }));
        let remote = testing::serve("the test service", api).await;
        assert_eq!(
            remote.get_json::<u32>("/v1/x").await,
            Err(ServiceError::unavailable("the test service"))
        );
    }
}
