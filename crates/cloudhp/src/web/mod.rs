//! The web role: the customer page, the public JSON API and the picture URLs.
//!
//! Every view asks identity, status, picture and play concurrently, each under its own timeout;
//! a part that fails turns into "N/A" with a reason in plain words, never into an error page.

mod links;
mod page;

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use cloudhp_core::{
    Customer, CustomerId, IdentityHandle, PictureInfo, PicturesHandle, PlayHandle, PlayOutcome,
    PlayState, PlayStatus, ServiceError, StatusHandle,
};
use futures::FutureExt;
use serde::Deserialize;
use tower_http::set_header::SetResponseHeaderLayer;

pub use links::{LinkError, Links, load_or_create_key};
use page::{ApiError, Notice, PlayerJson, PlayerView};

use crate::rpc::{IDENTITY_SERVICE, PICTURE_SERVICE, PLAY_SERVICE, STATUS_SERVICE};

/// Per-part timeouts of the web role.
#[derive(Clone, Debug)]
pub struct WebTimeouts {
    pub identity: Duration,
    pub status: Duration,
    pub picture: Duration,
    pub play: Duration,
    pub start: Duration,
}

/// What the web role needs: the roles it calls (local or remote, it cannot tell) and links.
#[derive(Clone)]
pub struct Web {
    pub identity: IdentityHandle,
    pub status: StatusHandle,
    pub play: PlayHandle,
    pub pictures: PicturesHandle,
    pub links: Links,
    pub timeouts: WebTimeouts,
    pub refresh: Duration,
}

/// The parts of a customer's view, each known or failed on its own.
pub(crate) struct Parts {
    pub identity: Result<Customer, ServiceError>,
    pub status: Result<PlayStatus, ServiceError>,
    pub picture: Result<Option<PictureInfo>, ServiceError>,
    pub play: Result<(), ServiceError>,
}

/// Runs `call` under `after`; a late answer is a timeout of `what`.
async fn timed<T>(
    what: &'static str,
    after: Duration,
    call: impl Future<Output = Result<T, ServiceError>>,
) -> Result<T, ServiceError> {
    let result = tokio::time::timeout(after, call)
        .await
        .unwrap_or_else(|_| Err(ServiceError::timeout(what, after)));
    if let Err(e) = &result
        && e.is_transient()
    {
        metrics::counter!("cloudhp_web_part_failures_total", "part" => what).increment(1);
        tracing::warn!(part = what, error = %e, "page part unavailable");
    }
    result
}

impl Web {
    async fn identity(&self, id: CustomerId) -> Result<Customer, ServiceError> {
        timed(
            IDENTITY_SERVICE,
            self.timeouts.identity,
            self.identity.customer(id),
        )
        .await
    }

    async fn picture(&self, id: CustomerId) -> Result<Option<PictureInfo>, ServiceError> {
        timed(
            PICTURE_SERVICE,
            self.timeouts.picture,
            self.pictures.info(id),
        )
        .await
    }

    /// Asks every part at once. The picture lookup is abandoned as soon as the status says
    /// there is no prize to show, so the pages of customers who did not win never wait for the
    /// picture store.
    pub(crate) async fn gather(&self, id: CustomerId) -> Parts {
        let (said, mut heard) = tokio::sync::watch::channel(None::<PlayState>);
        let status = async {
            let status = timed(STATUS_SERVICE, self.timeouts.status, self.status.status(id)).await;
            if let Ok(s) = &status {
                said.send_replace(Some(s.state));
            }
            status
        };
        let picture = async {
            let lookup = self.picture(id);
            tokio::pin!(lookup);
            tokio::select! {
                found = &mut lookup => found,
                Ok(state) = heard.wait_for(|s| s.is_some()).map(|r| r.map(|s| *s)) => {
                    if state == Some(PlayState::Won) {
                        lookup.await
                    } else {
                        Ok(None)
                    }
                }
            }
        };
        let (identity, status, picture, play) = tokio::join!(
            self.identity(id),
            status,
            picture,
            timed(PLAY_SERVICE, self.timeouts.play, self.play.availability()),
        );
        Parts {
            identity,
            status,
            picture,
            play,
        }
    }
}

/// The routes of the web role, with the security headers of a page that carries personal data
/// and a secret link.
pub fn router(web: Web) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/index.html", get(page_get).post(page_post))
        .route("/api/v1/players/{id}", get(api_get))
        .route("/api/v1/players/{id}/play", axum::routing::post(api_play))
        .route("/pictures/{file}", get(picture))
        .fallback(not_found)
        .with_state(web)
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; \
                 form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
            ),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
}

/// The query of every public URL: the id (pages), the link signature, a notice to show.
#[derive(Debug, Default, Deserialize)]
struct LinkQuery {
    id: Option<String>,
    t: Option<String>,
    notice: Option<String>,
}

type LinkQueryResult = Result<Query<LinkQuery>, QueryRejection>;

/// Admits a request: a well-formed query, a valid id (from the path, else the query) and its
/// link signature. A refusal is an error the caller renders as a page, JSON or text.
fn admit(
    links: &Links,
    path_id: Option<&str>,
    query: LinkQueryResult,
) -> Result<(CustomerId, LinkQuery), ApiError> {
    let Query(q) = query.map_err(|_| ApiError::bad_query())?;
    let raw = path_id.or(q.id.as_deref()).unwrap_or("");
    let id = CustomerId::parse(raw).map_err(ApiError::bad_id)?;
    links
        .check(id, q.t.as_deref())
        .map_err(ApiError::bad_link)?;
    Ok((id, q))
}

async fn home(State(web): State<Web>) -> Response {
    page::home(&web.links)
}

async fn not_found() -> Response {
    page::message(
        StatusCode::NOT_FOUND,
        "Page not found",
        "There is nothing at this address.",
        Some("To play, open the personal link from your e-mail."),
    )
}

async fn page_get(State(web): State<Web>, query: LinkQueryResult) -> Response {
    let (id, q) = match admit(&web.links, None, query) {
        Ok(admitted) => admitted,
        Err(e) => return e.page(),
    };
    let parts = web.gather(id).await;
    if matches!(parts.identity, Err(ServiceError::NotFound)) {
        return ApiError::unknown_customer().page();
    }
    let notice = q.notice.as_deref().and_then(Notice::parse);
    PlayerView::build(&web, id, &parts, notice).render()
}

async fn page_post(State(web): State<Web>, query: LinkQueryResult) -> Response {
    let id = match admit(&web.links, None, query) {
        Ok((id, _)) => id,
        Err(e) => return e.page(),
    };
    let back = |notice: Option<Notice>| {
        let mut to = web.links.page_path(id);
        if let Some(n) = notice {
            to.push_str("&notice=");
            to.push_str(n.code());
        }
        Redirect::to(&to).into_response()
    };
    match timed(PLAY_SERVICE, web.timeouts.start, web.play.play(id)).await {
        Ok(_) => back(None),
        Err(ServiceError::NotFound) => ApiError::unknown_customer().page(),
        Err(ServiceError::Unavailable { what } | ServiceError::Timeout { what, .. })
            if what == IDENTITY_SERVICE =>
        {
            back(Some(Notice::IdentityUnavailable))
        }
        Err(_) => back(Some(Notice::PlayUnavailable)),
    }
}

/// The id of an API path; a path that cannot even be decoded is an invalid id, in JSON.
type PathId = Result<Path<String>, axum::extract::rejection::PathRejection>;

fn path_id(path: PathId) -> Result<String, ApiError> {
    path.map(|Path(raw)| raw)
        .map_err(|_| ApiError::bad_id(cloudhp_core::IdError::NotANumber))
}

async fn api_get(State(web): State<Web>, path: PathId, query: LinkQueryResult) -> Response {
    let raw_id = match path_id(path) {
        Ok(raw) => raw,
        Err(e) => return e.json(),
    };
    let id = match admit(&web.links, Some(&raw_id), query) {
        Ok((id, _)) => id,
        Err(e) => return e.json(),
    };
    let parts = web.gather(id).await;
    if matches!(parts.identity, Err(ServiceError::NotFound)) {
        return ApiError::unknown_customer().json();
    }
    PlayerJson::from_parts(&web.links, id, &parts).reply(StatusCode::OK)
}

async fn api_play(State(web): State<Web>, path: PathId, query: LinkQueryResult) -> Response {
    let raw_id = match path_id(path) {
        Ok(raw) => raw,
        Err(e) => return e.json(),
    };
    let id = match admit(&web.links, Some(&raw_id), query) {
        Ok((id, _)) => id,
        Err(e) => return e.json(),
    };
    // The play role looks the customer up itself; the page shows the name it gets here.
    let (identity, played) = tokio::join!(
        web.identity(id),
        timed(PLAY_SERVICE, web.timeouts.start, web.play.play(id))
    );
    let reply = match played {
        Ok(reply) => reply,
        Err(ServiceError::NotFound) => return ApiError::unknown_customer().json(),
        Err(e) => return ApiError::unavailable(&e).json(),
    };
    let picture = if reply.status.state == PlayState::Won {
        web.picture(id).await
    } else {
        Ok(None)
    };
    let parts = Parts {
        identity,
        status: Ok(reply.status),
        picture,
        play: Ok(()),
    };
    let code = match reply.outcome {
        PlayOutcome::Started | PlayOutcome::AlreadyRunning => StatusCode::ACCEPTED,
        PlayOutcome::AlreadyPlayed => StatusCode::CONFLICT,
    };
    PlayerJson::from_parts(&web.links, id, &parts).reply(code)
}

fn no_picture() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CACHE_CONTROL, "no-store")],
        "no picture for this customer yet\n",
    )
        .into_response()
}

/// A year: a customer's prize picture never changes once drawn, and its URL carries its
/// version anyway.
const PICTURE_CACHE: &str = "private, max-age=31536000, immutable";

async fn picture(
    State(web): State<Web>,
    Path(file): Path<String>,
    query: LinkQueryResult,
    headers: HeaderMap,
) -> Response {
    let Some(raw_id) = file.strip_suffix(".jpg") else {
        return (StatusCode::NOT_FOUND, "no such picture\n").into_response();
    };
    let id = match admit(&web.links, Some(raw_id), query) {
        Ok((id, _)) => id,
        Err(e) => return e.text(),
    };
    // Only a winner's picture is shown: whatever an attempt that recorded no prize left in
    // the store is not. (When the status cannot be read, the picture is served.)
    if let Ok(status) = timed(STATUS_SERVICE, web.timeouts.status, web.status.status(id)).await
        && status.state != PlayState::Won
    {
        return no_picture();
    }
    let opened = timed(PICTURE_SERVICE, web.timeouts.picture, web.pictures.open(id)).await;
    let picture = match opened {
        Ok(Some(p)) => p,
        Ok(None) => return no_picture(),
        Err(e) => return ApiError::unavailable(&e).text(),
    };
    let mut response_headers = crate::rpc::picture_headers(&picture.info);
    response_headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(PICTURE_CACHE),
    );
    let not_modified = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim() == picture.info.etag || t.trim() == "*")
        });
    if not_modified {
        response_headers.remove(header::CONTENT_LENGTH);
        return (StatusCode::NOT_MODIFIED, response_headers).into_response();
    }
    (response_headers, Body::from_stream(picture.body)).into_response()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use async_trait::async_trait;
    use cloudhp_core::{
        Customer, CustomerId, Identity, PictureInfo, PictureStream, Pictures, Play, PlayReply,
        PlayState, PlayStatus, ServiceError, Status,
    };

    use super::*;

    /// Parts that answer at once, except a picture store that never answers.
    struct Fake(PlayState);

    #[async_trait]
    impl Identity for Fake {
        async fn customer(&self, id: CustomerId) -> Result<Customer, ServiceError> {
            Ok(Customer {
                id,
                firstname: "A".into(),
                lastname: "B".into(),
                email: "a@b.example".into(),
            })
        }
    }

    #[async_trait]
    impl Status for Fake {
        async fn status(&self, id: CustomerId) -> Result<PlayStatus, ServiceError> {
            Ok(PlayStatus {
                state: self.0,
                ..PlayStatus::not_played(id)
            })
        }
    }

    #[async_trait]
    impl Play for Fake {
        async fn play(&self, _: CustomerId) -> Result<PlayReply, ServiceError> {
            Err(ServiceError::unavailable("nothing"))
        }
        async fn availability(&self) -> Result<(), ServiceError> {
            Ok(())
        }
    }

    #[async_trait]
    impl Pictures for Fake {
        async fn info(&self, _: CustomerId) -> Result<Option<PictureInfo>, ServiceError> {
            std::future::pending().await
        }
        async fn open(&self, _: CustomerId) -> Result<Option<PictureStream>, ServiceError> {
            std::future::pending().await
        }
    }

    fn web(state: PlayState) -> Web {
        let fake = Arc::new(Fake(state));
        let t = Duration::from_millis(200);
        Web {
            identity: fake.clone(),
            status: fake.clone(),
            play: fake.clone(),
            pictures: fake,
            links: Links::open("http://x"),
            timeouts: WebTimeouts {
                identity: t,
                status: t,
                picture: t,
                play: t,
                start: t,
            },
            refresh: Duration::from_secs(2),
        }
    }

    #[tokio::test]
    async fn a_customer_without_a_prize_does_not_wait_for_the_picture_store() {
        let id = CustomerId::new(1).unwrap();
        for state in [PlayState::NotPlayed, PlayState::Drawing] {
            let parts = web(state).gather(id).await;
            // Had the page waited, the hung store would show as a timeout.
            assert!(matches!(parts.picture, Ok(None)), "{state:?}");
        }
        // A winner's page does need the picture: the hung store is a timeout, shown as N/A.
        let parts = web(PlayState::Won).gather(id).await;
        assert!(matches!(parts.picture, Err(ServiceError::Timeout { .. })));
    }
}
