//! The admin area (`/admin`): the campaign at a glance, the winners and their export, behind a
//! password. Off (not found) unless `admin.password_hash` is set.
//!
//! Every route but the login form requires a session, checked by the [`Session`] extractor of
//! each handler: without one, a GET is sent to the login page and anything else refused with
//! 403. Sessions are signed tokens in a cookie (`HttpOnly`, `SameSite=Strict`, `Path=/admin`,
//! `Secure` behind HTTPS), checked without shared state, so any web replica accepts them. Every
//! form that changes something (login, logout) carries a CSRF token tied to its cookie. Wrong
//! passwords lock the client address out ([`session::Lockout`], in this process's memory). The
//! web role's guard (cross-site refusal, rate limits) and security headers apply as to every
//! page. The figures come from the status role's report and the identity role, local or
//! remote: the web role never opens a database.

mod session;
mod view;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use askama::Template;
use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use cloudhp_core::{
    CustomerId, IdentityHandle, PicturesHandle, PlayHandle, PlayState, ReportHandle, ServiceError,
    StatusHandle, WinnerSearch,
};
use serde::Deserialize;

use session::{Kind, Lockout, Signer};
pub use session::{check_hash, hash_password};
use view::{Check, LoginPage, OverviewPage, WinnersView};

use super::Guard;
use crate::http::Readiness;
use crate::roles::identity::IDENTITY_SERVICE;
use crate::roles::picture::PICTURE_SERVICE;
use crate::roles::play::PLAY_SERVICE;
use crate::roles::status::STATUS_SERVICE;

/// The cookie of a session.
pub const SESSION_COOKIE: &str = "cloudhp_admin";
/// The cookie of a login form.
pub const LOGIN_COOKIE: &str = "cloudhp_admin_login";
/// How long a login form stays valid.
const LOGIN_TTL: Duration = Duration::from_secs(30 * 60);
/// Winners per page.
pub const PER_PAGE: u32 = 50;
/// Winners per request of the export's walk.
const EXPORT_BATCH: u32 = 500;

/// What the admin area needs: its credentials and the roles it reads.
pub struct Admin {
    pub password_hash: String,
    signer: Signer,
    lockout: Lockout,
    pub session_ttl: Duration,
    /// `Secure` cookies whatever the request: the public URL is HTTPS.
    pub https: bool,
    pub identity: IdentityHandle,
    pub status: StatusHandle,
    pub report: ReportHandle,
    pub play: PlayHandle,
    pub pictures: PicturesHandle,
    /// The dependency checks of this process (what `/readyz` runs).
    pub readiness: Readiness,
    pub guard: Arc<Guard>,
    /// How long a call to another role may take.
    pub timeout: Duration,
}

/// The settings of the admin area, from `[admin]`.
pub struct Settings<'a> {
    pub password_hash: &'a str,
    /// The configured session key, else a link key.
    pub key_material: &'a [u8],
    pub session_ttl: Duration,
    pub max_failures: u32,
    pub lockout: Duration,
    pub https: bool,
}

/// The roles the admin area reads, local or remote.
pub struct Roles {
    pub identity: IdentityHandle,
    pub status: StatusHandle,
    pub report: ReportHandle,
    pub play: PlayHandle,
    pub pictures: PicturesHandle,
}

impl Admin {
    pub fn new(
        settings: &Settings<'_>,
        roles: Roles,
        readiness: Readiness,
        guard: Arc<Guard>,
        timeout: Duration,
    ) -> Self {
        Self {
            password_hash: settings.password_hash.to_owned(),
            signer: Signer::new(settings.key_material, settings.password_hash),
            lockout: Lockout::new(settings.max_failures, settings.lockout),
            session_ttl: settings.session_ttl,
            https: settings.https,
            identity: roles.identity,
            status: roles.status,
            report: roles.report,
            play: roles.play,
            pictures: roles.pictures,
            readiness,
            guard,
            timeout,
        }
    }

    async fn timed<T>(
        &self,
        what: &'static str,
        call: impl Future<Output = Result<T, ServiceError>>,
    ) -> Result<T, ServiceError> {
        tokio::time::timeout(self.timeout, call)
            .await
            .unwrap_or_else(|_| Err(ServiceError::timeout(what, self.timeout)))
    }

    /// Whether the cookies set for this request must be `Secure`: the public URL is HTTPS, or
    /// a trusted proxy says the client came over HTTPS.
    fn secure(&self, peer: Option<SocketAddr>, headers: &HeaderMap) -> bool {
        self.https
            || (peer.is_some_and(|p| self.guard.trusted(p.ip().to_canonical()))
                && headers
                    .get("x-forwarded-proto")
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.trim().eq_ignore_ascii_case("https")))
    }
}

type AdminState = Arc<Admin>;

/// The routes of the admin area.
pub fn router(admin: Admin) -> Router {
    Router::new()
        .route("/admin", get(overview))
        .route("/admin/login", get(login_form).post(login))
        .route("/admin/logout", post(logout))
        .route("/admin/winners", get(winners))
        .route("/admin/winners.csv", get(export))
        .route("/admin/pictures/{file}", get(picture))
        .route("/admin/{*rest}", axum::routing::any(unknown))
        .with_state(Arc::new(admin))
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The value of cookie `name` of a request.
fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// A `Set-Cookie` of the admin area; `None` clears the cookie.
fn set_cookie(name: &str, value: Option<&str>, max_age: Duration, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let text = match value {
        Some(v) => format!(
            "{name}={v}; Max-Age={}; Path=/admin; HttpOnly; SameSite=Strict{secure}",
            max_age.as_secs()
        ),
        None => format!("{name}=; Max-Age=0; Path=/admin; HttpOnly; SameSite=Strict{secure}"),
    };
    HeaderValue::from_str(&text).expect("cookie text is ASCII")
}

/// Renders an admin page: never cached, never framed.
fn page(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(body) => (status, [(header::CACHE_CONTROL, "no-store")], Html(body)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "admin template rendering failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error\n").into_response()
        }
    }
}

fn refused(status: StatusCode, title: &str, message: &str) -> Response {
    let mut response =
        super::page::message(cloudhp_i18n::Lang::english(), status, title, message, None);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn forbidden_form() -> Response {
    refused(
        StatusCode::FORBIDDEN,
        "This form has expired",
        "The form did not carry a valid security token (it expired, or it did not come from \
         this site). Reload the page and try again.",
    )
}

/// A request with a valid admin session, and the CSRF token of its forms.
pub struct Session {
    nonce: String,
    csrf: String,
}

impl FromRequestParts<AdminState> for Session {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        admin: &AdminState,
    ) -> Result<Self, Self::Rejection> {
        let valid = cookie(&parts.headers, SESSION_COOKIE)
            .and_then(|token| admin.signer.check(Kind::Session, token, now_secs()));
        match valid {
            Some(nonce) => Ok(Session {
                nonce: nonce.to_owned(),
                csrf: admin.signer.csrf(Kind::Session, nonce),
            }),
            None if matches!(parts.method, Method::GET | Method::HEAD) => {
                Err(Redirect::to("/admin/login").into_response())
            }
            None => Err(refused(
                StatusCode::FORBIDDEN,
                "Please log in",
                "This needs an admin session; log in again.",
            )),
        }
    }
}

fn peer(parts_ext: &axum::http::Extensions) -> Option<SocketAddr> {
    parts_ext.get::<ConnectInfo<SocketAddr>>().map(|c| c.0)
}

async fn login_form(State(admin): State<AdminState>, request: axum::extract::Request) -> Response {
    let headers = request.headers();
    if cookie(headers, SESSION_COOKIE)
        .and_then(|t| admin.signer.check(Kind::Session, t, now_secs()))
        .is_some()
    {
        return Redirect::to("/admin").into_response();
    }
    let secure = admin.secure(peer(request.extensions()), headers);
    login_page(&admin, StatusCode::OK, None, secure)
}

/// The login form, with a fresh login token in its cookie and its CSRF token in the form.
fn login_page(admin: &Admin, status: StatusCode, error: Option<String>, secure: bool) -> Response {
    let token = admin.signer.issue(Kind::Login, now_secs(), LOGIN_TTL);
    let nonce = token.split('.').nth(1).unwrap_or_default();
    let csrf = admin.signer.csrf(Kind::Login, nonce);
    let mut response = page(status, &LoginPage { csrf: &csrf, error });
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(LOGIN_COOKIE, Some(&token), LOGIN_TTL, secure),
    );
    response
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    password: String,
}

/// The client address the lock-out counts (IPv6 per /64).
fn client(admin: &Admin, peer: Option<SocketAddr>, headers: &HeaderMap) -> IpAddr {
    super::guard::client_key(admin.guard.client(peer, headers))
}

async fn login(
    State(admin): State<AdminState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    form: Result<axum::Form<LoginForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(axum::Form(form)) = form else {
        return forbidden_form();
    };
    let login_nonce =
        cookie(&headers, LOGIN_COOKIE).and_then(|t| admin.signer.check(Kind::Login, t, now_secs()));
    match login_nonce {
        Some(nonce) if admin.signer.check_csrf(Kind::Login, nonce, &form.csrf) => {}
        _ => {
            metrics::counter!("cloudhp_admin_logins_total", "outcome" => "bad_form").increment(1);
            return forbidden_form();
        }
    }
    let secure = admin.secure(Some(addr), &headers);
    let client = client(&admin, Some(addr), &headers);
    if let Err(wait) = admin.lockout.check(client, Instant::now()) {
        metrics::counter!("cloudhp_admin_logins_total", "outcome" => "locked").increment(1);
        let mut response = login_page(
            &admin,
            StatusCode::TOO_MANY_REQUESTS,
            Some(format!(
                "Too many wrong passwords from your address: try again in {} minute(s).",
                wait.as_secs().div_ceil(60).max(1)
            )),
            secure,
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, super::guard::retry_after(wait));
        return response;
    }
    let hash = admin.password_hash.clone();
    let password = form.password;
    let right = tokio::task::spawn_blocking(move || session::verify_password(&hash, &password))
        .await
        .unwrap_or(false);
    if !right {
        let locked = admin.lockout.failed(client, Instant::now());
        metrics::counter!("cloudhp_admin_logins_total", "outcome" => "wrong_password").increment(1);
        tracing::warn!(%client, locked, "admin login refused: wrong password");
        let message = if locked {
            "Wrong password. Too many wrong passwords from your address: it is locked out for a while."
        } else {
            "Wrong password."
        };
        return login_page(
            &admin,
            StatusCode::UNAUTHORIZED,
            Some(message.into()),
            secure,
        );
    }
    admin.lockout.succeeded(client);
    metrics::counter!("cloudhp_admin_logins_total", "outcome" => "ok").increment(1);
    tracing::info!(%client, "admin logged in");
    let token = admin
        .signer
        .issue(Kind::Session, now_secs(), admin.session_ttl);
    let mut response = Redirect::to("/admin").into_response();
    let headers = response.headers_mut();
    headers.append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, Some(&token), admin.session_ttl, secure),
    );
    headers.append(
        header::SET_COOKIE,
        set_cookie(LOGIN_COOKIE, None, Duration::ZERO, secure),
    );
    response
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn logout(
    State(admin): State<AdminState>,
    session: Session,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    form: Result<axum::Form<CsrfForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let given = form.map(|f| f.0.csrf).unwrap_or_default();
    if !admin
        .signer
        .check_csrf(Kind::Session, &session.nonce, &given)
    {
        return forbidden_form();
    }
    let secure = admin.secure(Some(addr), &headers);
    let mut response = Redirect::to("/admin/login").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, None, Duration::ZERO, secure),
    );
    response
}

/// The readiness of every part: this process's checks (those of `/readyz`), then the roles
/// the admin area calls, local or remote.
async fn checks(
    admin: &Admin,
    customers: &Result<u64, ServiceError>,
    report: &Result<cloudhp_core::CampaignReport, ServiceError>,
) -> Vec<Check> {
    let (_, local) = admin.readiness.run().await;
    let mut checks: Vec<Check> = local
        .into_iter()
        .map(|(name, value)| {
            let detail = value.as_str().unwrap_or("unknown").to_owned();
            Check {
                name: format!("{name} (this process)"),
                ok: detail == "ok",
                detail,
            }
        })
        .collect();
    let play = admin.timed(PLAY_SERVICE, admin.play.availability()).await;
    for (name, result) in [
        (IDENTITY_SERVICE, customers.as_ref().map(|_| ())),
        (STATUS_SERVICE, report.as_ref().map(|_| ())),
        (PLAY_SERVICE, play.as_ref().copied()),
    ] {
        checks.push(Check {
            name: name.to_owned(),
            ok: result.is_ok(),
            detail: result.map_or_else(|e| e.to_string(), |()| "ok".to_owned()),
        });
    }
    checks
}

async fn overview(State(admin): State<AdminState>, session: Session) -> Response {
    let (customers, report) = tokio::join!(
        admin.timed(IDENTITY_SERVICE, admin.identity.customer_count()),
        admin.timed(STATUS_SERVICE, admin.report.campaign()),
    );
    let checks = checks(&admin, &customers, &report).await;
    page(
        StatusCode::OK,
        &OverviewPage::build(session.csrf, &customers, &report, checks),
    )
}

#[derive(Deserialize, Default)]
struct WinnersQuery {
    #[serde(default)]
    q: String,
    page: Option<String>,
}

async fn winners(
    State(admin): State<AdminState>,
    session: Session,
    query: Result<Query<WinnersQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let q = query.map(|q| q.0).unwrap_or_default();
    let page_no = q
        .page
        .as_deref()
        .and_then(|p| p.trim().parse::<u32>().ok())
        .filter(|p| *p >= 1)
        .unwrap_or(1);
    let search = WinnerSearch {
        search: q.q.chars().take(200).collect(),
        page: page_no,
        per_page: PER_PAGE,
    };
    let found = admin
        .timed(STATUS_SERVICE, admin.report.winners(&search))
        .await;
    page(
        StatusCode::OK,
        &WinnersView::build(session.csrf, search.search, found),
    )
}

/// Every winner as CSV, streamed: the winners are read a batch at a time from the report, each
/// batch written out before the next is asked for. A failure midway ends the download short
/// (the client sees an incomplete transfer) and is logged.
async fn export(State(admin): State<AdminState>, _session: Session) -> Response {
    struct Walk {
        admin: AdminState,
        after: Option<CustomerId>,
        started: bool,
        done: bool,
    }
    let walk = Walk {
        admin,
        after: None,
        started: false,
        done: false,
    };
    let stream = futures::stream::unfold(walk, |mut walk| async move {
        if walk.done {
            return None;
        }
        if !walk.started {
            walk.started = true;
            let header = view::csv_lines([view::CSV_HEADER]);
            return Some((Ok(bytes::Bytes::from(header)), walk));
        }
        let batch = walk
            .admin
            .timed(
                STATUS_SERVICE,
                walk.admin.report.winners_after(walk.after, EXPORT_BATCH),
            )
            .await;
        match batch {
            Ok(winners) if winners.is_empty() => None,
            Ok(winners) => {
                walk.done = winners.len() < EXPORT_BATCH as usize;
                walk.after = winners.last().map(|w| w.customer.id);
                Some((Ok(bytes::Bytes::from(view::winner_lines(&winners))), walk))
            }
            Err(e) => {
                tracing::warn!(error = %e, "winners export cut short");
                walk.done = true;
                Some((Err(std::io::Error::other(e.to_string())), walk))
            }
        }
    });
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"winners.csv\"",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}

/// A winner's picture, for the admin area only.
async fn picture(
    State(admin): State<AdminState>,
    _session: Session,
    Path(file): Path<String>,
) -> Response {
    let not_found = || (StatusCode::NOT_FOUND, "no such picture\n").into_response();
    let Some(id) = file
        .strip_suffix(".jpg")
        .and_then(|raw| CustomerId::parse(raw).ok())
    else {
        return not_found();
    };
    match admin.timed(STATUS_SERVICE, admin.status.status(id)).await {
        Ok(s) if s.state == PlayState::Won => {}
        Ok(_) => return not_found(),
        Err(e) => return (StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n")).into_response(),
    }
    match admin.timed(PICTURE_SERVICE, admin.pictures.open(id)).await {
        Ok(Some(p)) => {
            let mut headers = crate::roles::picture::api::picture_headers(&p.info);
            headers.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-store"),
            );
            (headers, Body::from_stream(p.body)).into_response()
        }
        Ok(None) => not_found(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n")).into_response(),
    }
}

/// Any other path under `/admin`: not found, once logged in.
async fn unknown(_session: Session) -> Response {
    refused(
        StatusCode::NOT_FOUND,
        "Page not found",
        "There is nothing at this address.",
    )
}
