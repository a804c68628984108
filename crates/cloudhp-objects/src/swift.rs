//! OpenStack Swift through its native API, authenticated by Keystone v3 (password) or TempAuth.
//!
//! The token and the storage URL are cached and renewed shortly before they expire, or at once
//! when Swift answers 401. The container is created the first time it is needed.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use futures::TryStreamExt;
use reqwest::{Method, StatusCode, header};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::{Mutex, OnceCell};

use crate::{
    ImageStore, JPEG, ObjectError, ObjectInfo, ObjectStream, Secret, SwiftOptions, quote_etag,
    read_twice_if_absent,
};

/// A token is renewed this long before it expires.
const RENEW_BEFORE: Duration = Duration::from_secs(60);

/// How to obtain a Swift token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SwiftAuth {
    /// Swift's TempAuth: `GET <auth_url>` with `X-Auth-User` and `X-Auth-Key`.
    TempAuth {
        url: String,
        user: String,
        key: Secret,
    },
    /// Keystone v3, password method, scoped to a project; the object-store endpoint comes from
    /// the catalog.
    Keystone {
        url: String,
        user: String,
        password: Secret,
        user_domain: String,
        project: String,
        project_domain: String,
        region: String,
        interface: String,
    },
}

impl SwiftAuth {
    /// Builds the authentication of `options`; the kind is guessed from the URL when not given.
    pub fn from_options(options: &SwiftOptions) -> Result<Self, ObjectError> {
        let url = options.auth_url.trim_end_matches('/').to_owned();
        if url.is_empty() {
            return Err(ObjectError::Config(
                "images.swift.auth_url is required for swift:// URLs".into(),
            ));
        }
        let kind = match options.auth.as_str() {
            "" if url.ends_with("/v3") => "keystone",
            "" => "tempauth",
            other => other,
        };
        let or = |v: &str, d: &str| {
            if v.is_empty() {
                d.to_owned()
            } else {
                v.to_owned()
            }
        };
        match kind {
            "tempauth" => Ok(Self::TempAuth {
                url,
                user: options.user.clone(),
                key: options.password.clone(),
            }),
            "keystone" => {
                if options.project.is_empty() {
                    return Err(ObjectError::Config(
                        "images.swift.project is required with Keystone".into(),
                    ));
                }
                Ok(Self::Keystone {
                    url,
                    user: options.user.clone(),
                    password: options.password.clone(),
                    user_domain: or(&options.user_domain, "Default"),
                    project: options.project.clone(),
                    project_domain: or(&options.project_domain, "Default"),
                    region: options.region.clone(),
                    interface: or(&options.interface, "public"),
                })
            }
            other => Err(ObjectError::Config(format!(
                "images.swift.auth must be `keystone` or `tempauth`, not `{other}`"
            ))),
        }
    }

    fn url(&self) -> &str {
        match self {
            Self::TempAuth { url, .. } | Self::Keystone { url, .. } => url,
        }
    }
}

/// A token with the storage URL it opens.
#[derive(Clone, Debug)]
struct Session {
    token: Secret,
    storage_url: String,
    /// When to renew it (`None`: the auth service gave no expiry).
    renew_at: Option<Instant>,
}

impl Session {
    fn fresh(&self) -> bool {
        self.renew_at.is_none_or(|at| Instant::now() < at)
    }
}

#[derive(Deserialize)]
struct KeystoneAnswer {
    token: KeystoneToken,
}

#[derive(Deserialize)]
struct KeystoneToken {
    expires_at: Option<String>,
    #[serde(default)]
    catalog: Vec<CatalogEntry>,
}

#[derive(Deserialize)]
struct CatalogEntry {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    endpoints: Vec<Endpoint>,
}

#[derive(Deserialize)]
struct Endpoint {
    interface: String,
    #[serde(default)]
    region: Option<String>,
    #[serde(default)]
    region_id: Option<String>,
    url: String,
}

/// When to renew a token that expires at `expires` (RFC 3339), measured from now.
fn renew_at(expires: Option<&str>) -> Option<Instant> {
    let expires =
        time::OffsetDateTime::parse(expires?, &time::format_description::well_known::Rfc3339)
            .ok()?;
    let left = expires - time::OffsetDateTime::now_utc();
    let left = Duration::try_from(left).unwrap_or(Duration::ZERO);
    Some(Instant::now() + left.saturating_sub(RENEW_BEFORE))
}

/// Prize pictures in a Swift container.
#[derive(Debug)]
pub struct SwiftStore {
    http: reqwest::Client,
    auth: SwiftAuth,
    container: String,
    prefix: String,
    session: Mutex<Option<Session>>,
    container_ready: OnceCell<()>,
}

fn unavailable(e: impl std::error::Error + Send + Sync + 'static) -> ObjectError {
    ObjectError::Unavailable(Box::new(e))
}

fn refused(message: String) -> ObjectError {
    ObjectError::Refused(message.into())
}

/// `response` when successful, else refused; `what` (`HEAD CONTAINER`) names the request in
/// the message.
fn successful(response: reqwest::Response, what: &str) -> Result<reqwest::Response, ObjectError> {
    if response.status().is_success() {
        Ok(response)
    } else {
        Err(refused(format!("{what} answered {}", response.status())))
    }
}

/// A response header's value, when it is text.
fn header_text(response: &reqwest::Response, name: &str) -> Option<String> {
    let value = response.headers().get(name)?;
    value.to_str().ok().map(str::to_owned)
}

impl SwiftStore {
    pub fn new(
        container: &str,
        prefix: &str,
        options: &SwiftOptions,
        timeout: Duration,
    ) -> Result<Self, ObjectError> {
        if container.contains('/') || container.is_empty() {
            return Err(ObjectError::Config(format!(
                "invalid Swift container name `{container}`"
            )));
        }
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(2))
            .build()
            .map_err(|e| ObjectError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            http,
            auth: SwiftAuth::from_options(options)?,
            container: container.to_owned(),
            prefix: prefix.to_owned(),
            session: Mutex::new(None),
            container_ready: OnceCell::new(),
        })
    }

    async fn authenticate(&self) -> Result<Session, ObjectError> {
        match &self.auth {
            SwiftAuth::TempAuth { url, user, key } => {
                let request = self
                    .http
                    .get(url)
                    .header("X-Auth-User", user)
                    .header("X-Auth-Key", key.expose());
                let response = request.send().await.map_err(unavailable)?;
                let response = successful(response, &format!("TempAuth at {url}"))?;
                let text = |name: &str| header_text(&response, name);
                let token = text("X-Auth-Token")
                    .ok_or_else(|| refused(format!("TempAuth at {url} gave no token")))?;
                let storage_url = text("X-Storage-Url")
                    .ok_or_else(|| refused(format!("TempAuth at {url} gave no storage URL")))?;
                let renew_at = text("X-Auth-Token-Expires")
                    .and_then(|s| s.parse::<u64>().ok())
                    .map(|secs| {
                        Instant::now() + Duration::from_secs(secs).saturating_sub(RENEW_BEFORE)
                    });
                Ok(Session {
                    token: Secret::new(token),
                    storage_url,
                    renew_at,
                })
            }
            SwiftAuth::Keystone {
                url,
                user,
                password,
                user_domain,
                project,
                project_domain,
                region,
                interface,
            } => {
                let body = json!({
                    "auth": {
                        "identity": {
                            "methods": ["password"],
                            "password": { "user": {
                                "name": user,
                                "domain": { "name": user_domain },
                                "password": password.expose(),
                            }},
                        },
                        "scope": { "project": {
                            "name": project,
                            "domain": { "name": project_domain },
                        }},
                    }
                });
                let tokens = format!("{url}/auth/tokens");
                let request = self.http.post(&tokens).json(&body);
                let response = request.send().await.map_err(unavailable)?;
                let response = successful(response, &format!("Keystone at {tokens}"))?;
                let token = header_text(&response, "X-Subject-Token")
                    .ok_or_else(|| refused(format!("Keystone at {tokens} gave no token")))?;
                let answer: KeystoneAnswer = response.json().await.map_err(unavailable)?;
                let storage_url = answer
                    .token
                    .catalog
                    .iter()
                    .filter(|e| e.kind == "object-store")
                    .flat_map(|e| e.endpoints.iter())
                    .find(|e| {
                        e.interface == *interface
                            && (region.is_empty()
                                || e.region.as_deref() == Some(region.as_str())
                                || e.region_id.as_deref() == Some(region.as_str()))
                    })
                    .map(|e| e.url.trim_end_matches('/').to_owned())
                    .ok_or_else(|| {
                        refused(format!(
                            "the Keystone catalog has no {interface} object-store endpoint{}",
                            if region.is_empty() {
                                String::new()
                            } else {
                                format!(" in region {region}")
                            }
                        ))
                    })?;
                Ok(Session {
                    token: Secret::new(token),
                    storage_url,
                    renew_at: renew_at(answer.token.expires_at.as_deref()),
                })
            }
        }
    }

    /// A valid session: the cached one, or a new one when it is missing, about to expire, or
    /// is the `stale` one Swift just refused.
    async fn session(&self, stale: Option<&str>) -> Result<Session, ObjectError> {
        let mut cached = self.session.lock().await;
        if let Some(session) = cached.as_ref()
            && session.fresh()
            && stale != Some(session.token.expose())
        {
            return Ok(session.clone());
        }
        let session = self.authenticate().await?;
        tracing::debug!(auth = self.auth.url(), storage = %session.storage_url, "swift token obtained");
        *cached = Some(session.clone());
        Ok(session)
    }

    /// Sends a request to `<storage>/<path>`, renewing the token once if Swift refuses it.
    async fn send(
        &self,
        method: Method,
        path: &str,
        prepare: impl Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, ObjectError> {
        let mut session = self.session(None).await?;
        for attempt in 0..2 {
            let url = format!("{}/{}", session.storage_url, path);
            let request = self
                .http
                .request(method.clone(), &url)
                .header("X-Auth-Token", session.token.expose());
            let response = prepare(request).send().await.map_err(unavailable)?;
            if response.status() == StatusCode::UNAUTHORIZED && attempt == 0 {
                tracing::info!("swift refused the token; renewing it");
                session = self.session(Some(session.token.expose())).await?;
                continue;
            }
            return Ok(response);
        }
        unreachable!("the loop returns on its second turn")
    }

    fn object_path(&self, key: &str) -> String {
        format!("{}/{}{}", self.container, self.prefix, key)
    }

    /// Creates the container unless it exists (idempotent, once per process).
    async fn ensure_container(&self) -> Result<(), ObjectError> {
        self.container_ready
            .get_or_try_init(|| async {
                let response = self.send(Method::PUT, &self.container, |r| r).await?;
                let what = format!("creating the container {}", self.container);
                successful(response, &what).map(drop)
            })
            .await
            .map(|_| ())
    }

    fn info(response: &reqwest::Response) -> ObjectInfo {
        let h = response.headers();
        let text = |name| {
            h.get(name)
                .and_then(|v: &header::HeaderValue| v.to_str().ok())
        };
        ObjectInfo {
            size: text(header::CONTENT_LENGTH)
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
            etag: quote_etag(text(header::ETAG).unwrap_or("")),
            content_type: text(header::CONTENT_TYPE).map(str::to_owned),
        }
    }
}

#[async_trait]
impl ImageStore for SwiftStore {
    async fn put(&self, key: &str, jpeg: Bytes) -> Result<(), ObjectError> {
        self.ensure_container().await?;
        let path = self.object_path(key);
        for attempt in 0..2 {
            let body = jpeg.clone();
            let response = self
                .send(Method::PUT, &path, |r| {
                    r.header(header::CONTENT_TYPE, JPEG).body(body.clone())
                })
                .await?;
            match response.status() {
                s if s.is_success() => return Ok(()),
                // The container was deleted behind our back: create it again, once.
                StatusCode::NOT_FOUND if attempt == 0 => {
                    self.send(Method::PUT, &self.container, |r| r).await?;
                }
                s => return Err(refused(format!("PUT {path} answered {s}"))),
            }
        }
        Err(refused(format!(
            "PUT {path}: the container cannot be created"
        )))
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectInfo>, ObjectError> {
        let path = self.object_path(key);
        read_twice_if_absent(|| async {
            let response = self.send(Method::HEAD, &path, |r| r).await?;
            match response.status() {
                StatusCode::NOT_FOUND => Ok(None),
                s if s.is_success() => Ok(Some(Self::info(&response))),
                s => Err(refused(format!("HEAD {path} answered {s}"))),
            }
        })
        .await
    }

    async fn get(&self, key: &str) -> Result<Option<(ObjectInfo, ObjectStream)>, ObjectError> {
        let path = self.object_path(key);
        read_twice_if_absent(|| async {
            let response = self.send(Method::GET, &path, |r| r).await?;
            match response.status() {
                StatusCode::NOT_FOUND => Ok(None),
                s if s.is_success() => {
                    let info = Self::info(&response);
                    let body = response.bytes_stream().map_err(std::io::Error::other);
                    Ok(Some((info, Box::pin(body) as ObjectStream)))
                }
                s => Err(refused(format!("GET {path} answered {s}"))),
            }
        })
        .await
    }

    async fn ready(&self) -> Result<(), ObjectError> {
        self.ensure_container().await?;
        let response = self.send(Method::HEAD, &self.container, |r| r).await?;
        successful(response, &format!("HEAD {}", self.container)).map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(url: &str) -> SwiftOptions {
        SwiftOptions {
            auth_url: url.into(),
            user: "u".into(),
            password: "p".into(),
            project: "proj".into(),
            ..SwiftOptions::default()
        }
    }

    #[test]
    fn the_auth_kind_follows_the_url_unless_given() {
        assert!(matches!(
            SwiftAuth::from_options(&options("http://keystone:5000/v3")).unwrap(),
            SwiftAuth::Keystone { ref user_domain, ref interface, .. }
                if user_domain == "Default" && interface == "public"
        ));
        assert!(matches!(
            SwiftAuth::from_options(&options("http://swift:8080/auth/v1.0")).unwrap(),
            SwiftAuth::TempAuth { .. }
        ));
        let mut o = options("http://x/identity");
        o.auth = "keystone".into();
        assert!(matches!(
            SwiftAuth::from_options(&o).unwrap(),
            SwiftAuth::Keystone { .. }
        ));
        o.auth = "ldap".into();
        assert!(SwiftAuth::from_options(&o).is_err());
        let mut o = options("http://keystone:5000/v3");
        o.project.clear();
        assert!(SwiftAuth::from_options(&o).is_err());
        assert!(SwiftAuth::from_options(&options("")).is_err());
    }

    /// The store, its authentication and its settings print (`{:?}`) without the password,
    /// nor the token it got.
    #[tokio::test]
    async fn passwords_and_tokens_never_print() {
        for url in ["http://keystone:5000/v3", "http://swift:8080/auth/v1.0"] {
            let mut o = options(url);
            o.password = Secret::new("hunter2");
            let store = SwiftStore::new("c", "", &o, Duration::from_secs(1)).unwrap();
            *store.session.lock().await = Some(Session {
                token: Secret::new("AUTH_tk_s3cret"),
                storage_url: "http://swift/v1/AUTH_x".into(),
                renew_at: None,
            });
            let shown = format!("{o:?} {store:?}");
            assert!(shown.contains("http://swift/v1/AUTH_x"), "{shown}");
            assert!(
                !shown.contains("hunter2") && !shown.contains("AUTH_tk_s3cret"),
                "{shown}"
            );
        }
    }

    #[test]
    fn tokens_are_renewed_before_they_expire() {
        let soon = (time::OffsetDateTime::now_utc() + time::Duration::seconds(30))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        let at = renew_at(Some(&soon)).unwrap();
        assert!(
            at <= Instant::now() + Duration::from_secs(1),
            "renewed at once"
        );
        let later = (time::OffsetDateTime::now_utc() + time::Duration::hours(1))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        let at = renew_at(Some(&later)).unwrap();
        assert!(at > Instant::now() + Duration::from_secs(3000));
        assert!(renew_at(None).is_none());
    }
}
