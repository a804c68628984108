//! The web role: the customer page, the public JSON API and the picture URLs.
//!
//! It has no internal API (it is the public one): its service (here, with `guard` and `page`;
//! the links are `cloudhp_links`) and its start-up (`wiring`).
//!
//! Every view asks identity, status, picture and play concurrently, each under its own timeout;
//! a part that fails turns into "N/A" with a reason in plain words, never into an error page.

pub mod admin;
mod cache;
mod guard;
mod page;
pub mod wiring;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use cloudhp_core::{
    CampaignWindow, Clock, Customer, CustomerId, IdentityHandle, Phase, PictureInfo,
    PicturesHandle, PlayHandle, PlayOutcome, PlayStatus, ServiceError, StatusHandle,
};
use serde::Deserialize;
use tower_http::set_header::SetResponseHeaderLayer;

pub use cache::PageCache;
use cloudhp_i18n::Lang;
pub use cloudhp_links::{LinkError, Links};
pub use guard::Guard;
use page::{Notice, PageError, PlayerJson, PlayerView};

use crate::roles::identity::IDENTITY_SERVICE;
use crate::roles::picture::PICTURE_SERVICE;
use crate::roles::picture::api::picture_headers;
use crate::roles::play::PLAY_SERVICE;
use crate::roles::status::STATUS_SERVICE;

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
    /// The pages' language when neither the customer nor the browser names one we have.
    pub language: Lang,
    /// Cross-site refusals and rate limits.
    pub guard: Arc<Guard>,
    /// When Play is open, and the clock it is read against.
    pub campaign: CampaignWindow,
    pub clock: Clock,
    /// Finished draws and Play's availability, kept between pages.
    pub cache: PageCache,
}

/// The parts of a customer's view, each known or failed on its own.
pub(crate) struct Parts {
    pub identity: Result<Customer, ServiceError>,
    pub status: Result<PlayStatus, ServiceError>,
    pub picture: Result<Option<PictureInfo>, ServiceError>,
    pub play: Result<(), ServiceError>,
    /// Where the campaign stands now.
    pub campaign: Phase,
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
    fn phase(&self) -> Phase {
        self.campaign.phase((self.clock)())
    }

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

    /// Whether a draw could start now, as the play role said it at most a second ago.
    async fn availability(&self) -> Result<(), ServiceError> {
        match self.campaign.check((self.clock)()) {
            Ok(()) => {
                let probe = timed(PLAY_SERVICE, self.timeouts.play, self.play.availability());
                self.cache.availability(probe).await
            }
            Err(closed) => Err(closed),
        }
    }

    /// Asks the parts at once, the picture after the status: only a played draw has one to
    /// show, so the pages of customers who did not win never wait for the picture store, and
    /// never load it. When the status role cannot tell, the picture is asked all the same (a
    /// winner still sees their prize). A finished draw kept in [`PageCache`] asks neither the
    /// status nor the picture role.
    ///
    /// Asking both at once and dropping the picture's answer when the status said "not
    /// played" cost every such page a lookup in the store, and, with the picture role in
    /// another process, a request cancelled in flight, which closes its pooled connection.
    pub(crate) async fn gather(&self, id: CustomerId) -> Parts {
        if let Some(finished) = self.cache.finished(id).await {
            let campaign = self.phase();
            let (identity, play) = tokio::join!(self.identity(id), self.availability());
            return Parts {
                identity,
                status: Ok(finished.status.clone()),
                picture: Ok(finished.picture.clone()),
                play,
                campaign,
            };
        }
        let status_then_picture = async {
            let status = timed(STATUS_SERVICE, self.timeouts.status, self.status.status(id)).await;
            let picture = match &status {
                Ok(s) if !s.state.is_played() => Ok(None),
                _ => self.picture(id).await,
            };
            (status, picture)
        };
        let campaign = self.phase();
        let (identity, (status, picture), play) =
            tokio::join!(self.identity(id), status_then_picture, self.availability());
        if let (Ok(s), Ok(p)) = (&status, &picture) {
            self.cache.keep(id, s, p).await;
        }
        Parts {
            identity,
            status,
            picture,
            play,
            campaign,
        }
    }
}

/// The routes of the web role, and of its admin area when it has one, with the security
/// headers of a page that carries personal data and a secret link.
pub fn router(web: Web, admin: Option<admin::Admin>) -> Router {
    let guard = web.guard.clone();
    let mut routes = Router::new()
        .route("/", get(home))
        .route("/index.html", get(page_get).post(page_post))
        .route("/api/v1/players/{id}", get(api_get))
        .route("/api/v1/players/{id}/play", axum::routing::post(api_play))
        .route("/pictures/{file}", get(picture))
        .fallback(not_found)
        .with_state(Arc::new(web));
    if let Some(admin) = admin {
        routes = routes.merge(admin::router(admin));
    }
    routes
        .layer(axum::middleware::from_fn_with_state(guard, guard::guard))
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
) -> Result<(CustomerId, LinkQuery), PageError> {
    let Query(q) = query.map_err(|_| PageError::bad_query())?;
    let raw = path_id.or(q.id.as_deref()).unwrap_or("");
    let id = CustomerId::parse(raw).map_err(PageError::bad_id)?;
    links
        .check(id, q.t.as_deref())
        .map_err(PageError::bad_link)?;
    Ok((id, q))
}

/// The customer a page's link is for, and its query; else the error page, in the browser's
/// language (the customer is not known yet). Boxed: an error page is the rare case.
fn page_customer(
    web: &Web,
    headers: &HeaderMap,
    query: LinkQueryResult,
) -> Result<(CustomerId, LinkQuery), Box<Response>> {
    admit(&web.links, None, query)
        .map_err(|e| Box::new(e.page(page_language(web.language, None, headers))))
}

/// The language of a page for `customer` (their shop account's), else the browser's
/// (`Accept-Language`), else `web.language`.
pub(super) fn page_language(default: Lang, customer: Option<&str>, headers: &HeaderMap) -> Lang {
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    cloudhp_i18n::choose(customer, accept, default)
}

async fn home(State(web): State<Arc<Web>>, headers: HeaderMap) -> Response {
    page::home(page_language(web.language, None, &headers), &web.links)
}

async fn not_found(State(web): State<Arc<Web>>, headers: HeaderMap) -> Response {
    let lang = page_language(web.language, None, &headers);
    page::message(
        lang,
        StatusCode::NOT_FOUND,
        &lang.t("page-not-found-title"),
        &lang.t("page-not-found"),
        Some(&lang.t("page-not-found-hint")),
    )
}

async fn page_get(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    query: LinkQueryResult,
) -> Response {
    let (id, q) = match page_customer(&web, &headers, query) {
        Ok(admitted) => admitted,
        Err(page) => return *page,
    };
    let parts = web.gather(id).await;
    if matches!(parts.identity, Err(ServiceError::NotFound)) {
        return PageError::unknown_customer().page(page_language(web.language, None, &headers));
    }
    let customer = parts
        .identity
        .as_ref()
        .ok()
        .and_then(|c| c.language.as_deref());
    let lang = page_language(web.language, customer, &headers);
    let notice = q.notice.as_deref().and_then(Notice::parse);
    PlayerView::build(&web, lang, id, &parts, notice).render()
}

async fn page_post(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    query: LinkQueryResult,
) -> Response {
    let id = match page_customer(&web, &headers, query) {
        Ok((id, _)) => id,
        Err(page) => return *page,
    };
    let lang = page_language(web.language, None, &headers);
    if let Err(wait) = web.guard.customer_play(id) {
        return PageError::rate_limited(wait).page(lang);
    }
    let back = |notice: Option<Notice>| {
        let mut to = web.links.page_path(id);
        if let Some(n) = notice {
            to.push_str("&notice=");
            to.push_str(n.code());
        }
        Redirect::to(&to).into_response()
    };
    // Outside the campaign's window the page says why Play is off: back to it.
    if web.phase() != Phase::Open {
        return back(None);
    }
    match timed(PLAY_SERVICE, web.timeouts.start, web.play.play(id)).await {
        Ok(_) => back(None),
        Err(ServiceError::NotFound) => PageError::unknown_customer().page(lang),
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

/// The customer an API call is for: its path id, checked against the link in the query.
fn api_customer(
    links: &Links,
    path: PathId,
    query: LinkQueryResult,
) -> Result<CustomerId, PageError> {
    let Path(raw_id) = path.map_err(|_| PageError::bad_id(cloudhp_core::IdError::NotANumber))?;
    admit(links, Some(&raw_id), query).map(|(id, _)| id)
}

async fn api_get(State(web): State<Arc<Web>>, path: PathId, query: LinkQueryResult) -> Response {
    let id = match api_customer(&web.links, path, query) {
        Ok(id) => id,
        Err(e) => return e.json(),
    };
    let parts = web.gather(id).await;
    if matches!(parts.identity, Err(ServiceError::NotFound)) {
        return PageError::unknown_customer().json();
    }
    PlayerJson::from_parts(&web.links, id, &parts).reply(StatusCode::OK)
}

async fn api_play(State(web): State<Arc<Web>>, path: PathId, query: LinkQueryResult) -> Response {
    let id = match api_customer(&web.links, path, query) {
        Ok(id) => id,
        Err(e) => return e.json(),
    };
    let phase = web.phase();
    if phase != Phase::Open {
        return PageError::closed(phase).json();
    }
    if let Err(wait) = web.guard.customer_play(id) {
        return PageError::rate_limited(wait).json();
    }
    // The play role looks the customer up itself; the page shows the name it gets here.
    let (identity, played) = tokio::join!(
        web.identity(id),
        timed(PLAY_SERVICE, web.timeouts.start, web.play.play(id))
    );
    let reply = match played {
        Ok(reply) => reply,
        Err(ServiceError::NotFound) => return PageError::unknown_customer().json(),
        // The play role's clock says the campaign is closed (the two clocks disagree by a hair).
        Err(ServiceError::Closed { .. }) => return PageError::closed(web.phase()).json(),
        Err(e) => return PageError::unavailable(&e).json(),
    };
    let picture = if reply.status.state.is_played() {
        web.picture(id).await
    } else {
        Ok(None)
    };
    let parts = Parts {
        identity,
        status: Ok(reply.status),
        picture,
        play: Ok(()),
        campaign: phase,
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
    State(web): State<Arc<Web>>,
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
    // Only a winner's picture (or the "no prize" picture recorded as shown) is shown:
    // whatever an attempt that recorded no prize left in the store is not. (When the status
    // cannot be read, the picture is served.)
    let status = match web.cache.finished(id).await {
        Some(finished) => Ok(finished.status.clone()),
        None => timed(STATUS_SERVICE, web.timeouts.status, web.status.status(id)).await,
    };
    if let Ok(status) = status
        && !status.shows_picture()
    {
        return no_picture();
    }
    let opened = timed(PICTURE_SERVICE, web.timeouts.picture, web.pictures.open(id)).await;
    let picture = match opened {
        Ok(Some(p)) => p,
        Ok(None) => return no_picture(),
        Err(e) => return PageError::unavailable(&e).text(),
    };
    let mut response_headers = picture_headers(&picture.info);
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
    struct Fake {
        /// What the status role says; `None`: it is unavailable.
        state: Option<PlayState>,
        /// How many times the picture store was asked.
        picture_lookups: std::sync::atomic::AtomicUsize,
    }

    impl Fake {
        fn new(state: Option<PlayState>) -> Arc<Self> {
            Arc::new(Self {
                state,
                picture_lookups: Default::default(),
            })
        }
    }

    #[async_trait]
    impl Identity for Fake {
        async fn customer(&self, id: CustomerId) -> Result<Customer, ServiceError> {
            Ok(Customer {
                id,
                firstname: "A".into(),
                lastname: "B".into(),
                email: "a@b.example".into(),
                language: None,
            })
        }
        async fn customer_count(&self) -> Result<u64, ServiceError> {
            Ok(1)
        }
    }

    #[async_trait]
    impl Status for Fake {
        async fn status(&self, id: CustomerId) -> Result<PlayStatus, ServiceError> {
            let state = self
                .state
                .ok_or(ServiceError::unavailable("the status service"))?;
            Ok(PlayStatus {
                state,
                ..PlayStatus::not_played(id)
            })
        }
    }

    #[async_trait]
    impl Play for Fake {
        async fn play(&self, id: CustomerId) -> Result<PlayReply, ServiceError> {
            Ok(PlayReply {
                outcome: PlayOutcome::Started,
                status: PlayStatus {
                    state: PlayState::Drawing,
                    ..PlayStatus::not_played(id)
                },
            })
        }
        async fn availability(&self) -> Result<(), ServiceError> {
            Ok(())
        }
    }

    #[async_trait]
    impl Pictures for Fake {
        async fn info(&self, _: CustomerId) -> Result<Option<PictureInfo>, ServiceError> {
            self.picture_lookups
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            std::future::pending().await
        }
        async fn open(&self, _: CustomerId) -> Result<Option<PictureStream>, ServiceError> {
            std::future::pending().await
        }
    }

    fn web(state: PlayState) -> Web {
        web_with(Fake::new(Some(state)))
    }

    fn web_with(fake: Arc<Fake>) -> Web {
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
            language: Lang::english(),
            guard: Guard::new("http://x", Vec::new(), &Default::default()),
            campaign: CampaignWindow::default(),
            clock: cloudhp_core::system_clock(),
            cache: PageCache::new(100),
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

    #[tokio::test]
    async fn the_picture_store_is_asked_only_for_a_played_draw_or_when_the_status_cannot_tell() {
        let id = CustomerId::new(1).unwrap();
        let cases = [
            (Some(PlayState::NotPlayed), 0),
            (Some(PlayState::Drawing), 0),
            (Some(PlayState::Won), 1),
            (Some(PlayState::NoPrize), 1),
            // The status role is down: a winner still sees their prize.
            (None, 1),
        ];
        for (state, lookups) in cases {
            let fake = Fake::new(state);
            let parts = web_with(fake.clone()).gather(id).await;
            assert_eq!(parts.status.is_ok(), state.is_some(), "{state:?}");
            assert_eq!(
                fake.picture_lookups
                    .load(std::sync::atomic::Ordering::SeqCst),
                lookups,
                "{state:?}"
            );
        }
    }

    use axum::http::Request;
    use time::OffsetDateTime;
    use time::macros::datetime;
    use tower::ServiceExt;

    /// Sends a request through the web role's router, from `peer`.
    async fn call(
        web: &Web,
        method: &str,
        uri: &str,
        headers: &[(&str, &str)],
        peer: [u8; 4],
    ) -> (StatusCode, HeaderMap, String) {
        let mut request = Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let mut request = request.body(Body::empty()).unwrap();
        request
            .extensions_mut()
            .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((
                peer, 4000,
            ))));
        let response = router(web.clone(), None).oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, headers, String::from_utf8_lossy(&body).into_owned())
    }

    const ME: [u8; 4] = [192, 0, 2, 1];

    #[tokio::test]
    async fn play_opens_and_closes_with_the_campaign_window() {
        let start = datetime!(2026-12-01 09:00 UTC);
        let end = datetime!(2026-12-24 18:00 UTC);
        let now = Arc::new(std::sync::Mutex::new(start - time::Duration::SECOND));
        let clock = now.clone();
        let mut web = web(PlayState::NotPlayed);
        web.campaign = CampaignWindow {
            starts_at: Some(start),
            ends_at: Some(end),
        };
        web.clock = Arc::new(move || -> OffsetDateTime { *clock.lock().unwrap() });
        let set = |t| *now.lock().unwrap() = t;

        // A second before the start.
        let (status, _, page) = call(&web, "GET", "/index.html?id=1", &[], ME).await;
        assert_eq!(status, 200);
        assert!(
            page.contains("opens on 1 December 2026 at 09:00 UTC"),
            "{page}"
        );
        assert!(page.contains("disabled"), "{page}");
        let (status, _, json) = call(&web, "POST", "/api/v1/players/1/play", &[], ME).await;
        assert_eq!(status, 409, "{json}");
        assert!(json.contains("\"not_open\""), "{json}");
        let (status, headers, _) = call(&web, "POST", "/index.html?id=1", &[], ME).await;
        assert_eq!(status, 303);
        assert_eq!(headers[header::LOCATION], "/index.html?id=1");

        // The start itself: open.
        set(start);
        let (status, _, json) = call(&web, "POST", "/api/v1/players/2/play", &[], ME).await;
        assert_eq!(status, 202, "{json}");
        assert!(json.contains("\"campaign\":\"open\""), "{json}");

        // The end itself: over, results still shown.
        set(end);
        let (status, _, page) = call(&web, "GET", "/index.html?id=1", &[], ME).await;
        assert_eq!(status, 200);
        assert!(page.contains("The campaign is over"), "{page}");
        assert!(page.contains("You have not played yet."), "{page}");
        let (status, _, json) = call(&web, "POST", "/api/v1/players/1/play", &[], ME).await;
        assert_eq!(status, 410, "{json}");
        assert!(json.contains("\"campaign_over\""), "{json}");
        let (_, _, json) = call(&web, "GET", "/api/v1/players/1", &[], ME).await;
        assert!(json.contains("\"campaign\":\"over\""), "{json}");
        assert!(json.contains("\"can_play\":false"), "{json}");
    }

    /// The headers of a form that a page of `origin` submits to us (host `x`), with the fetch
    /// metadata a browser adds: `site` is how it relates our site to the page's.
    fn form_from(origin: &'static str, site: &'static str) -> [(&'static str, &'static str); 5] {
        [
            ("origin", origin),
            ("sec-fetch-site", site),
            ("sec-fetch-mode", "navigate"),
            ("sec-fetch-dest", "document"),
            ("host", "x"),
        ]
    }

    #[tokio::test]
    async fn a_press_from_another_site_is_refused() {
        let web = web(PlayState::NotPlayed);
        // What a browser sends when a page of evil.example submits a form to us.
        let cross = form_from("http://evil.example", "cross-site");
        let (status, _, page) = call(&web, "POST", "/index.html?id=1", &cross, ME).await;
        assert_eq!(status, 403);
        assert!(page.contains("came from another website"), "{page}");
        let (status, _, json) = call(&web, "POST", "/api/v1/players/1/play", &cross, ME).await;
        assert_eq!(status, 403);
        assert!(json.contains("\"cross_site\""), "{json}");
        // An older browser without fetch metadata: Origin alone tells.
        let old = [("origin", "http://evil.example"), ("host", "x")];
        let (status, _, _) = call(&web, "POST", "/index.html?id=1", &old, ME).await;
        assert_eq!(status, 403);
        // The page's own form, and a plain API client, go through.
        let same = form_from("http://x", "same-origin");
        let (status, _, _) = call(&web, "POST", "/index.html?id=1", &same, ME).await;
        assert_eq!(status, 303);
        let (status, _, _) = call(&web, "POST", "/api/v1/players/3/play", &[], ME).await;
        assert_eq!(status, 202);
        // Reading is never refused for its origin (a link opened from a webmail).
        let (status, _, _) = call(&web, "GET", "/index.html?id=1", &cross, ME).await;
        assert_eq!(status, 200);
    }

    #[tokio::test]
    async fn one_client_is_limited_and_others_are_not() {
        let mut web = web(PlayState::NotPlayed);
        let limits = crate::config::LimitsConfig {
            pages_per_minute: 60,
            pages_burst: 3,
            customer_plays_per_minute: 1,
            customer_plays_burst: 2,
            ..Default::default()
        };
        web.guard = Guard::new("http://x", Vec::new(), &limits);
        for _ in 0..3 {
            let (status, _, _) = call(&web, "GET", "/index.html?id=1", &[], ME).await;
            assert_eq!(status, 200);
        }
        let (status, headers, page) = call(&web, "GET", "/index.html?id=1", &[], ME).await;
        assert_eq!(status, 429);
        assert_eq!(headers[header::RETRY_AFTER], "1");
        assert!(page.contains("Please wait 1 second"), "{page}");
        let (status, _, _) = call(&web, "GET", "/index.html?id=1", &[], [192, 0, 2, 2]).await;
        assert_eq!(status, 200, "another client");
        // Presses of one customer, from many addresses: the customer's own allowance.
        let (seven, eight) = ("/api/v1/players/7/play", "/api/v1/players/8/play");
        let address = |n: u8| [198, 51, 100, n];
        for n in 0..2u8 {
            let (status, _, _) = call(&web, "POST", seven, &[], address(n)).await;
            assert_eq!(status, 202);
        }
        let (status, headers, json) = call(&web, "POST", seven, &[], address(9)).await;
        assert_eq!(status, 429, "{json}");
        assert!(headers.contains_key(header::RETRY_AFTER));
        assert!(json.contains("\"rate_limited\""), "{json}");
        // Another customer is not limited by it.
        let (status, _, _) = call(&web, "POST", eight, &[], address(9)).await;
        assert_eq!(status, 202);
    }
}
