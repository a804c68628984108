//! What the web role shows: the customer page, its JSON twin, and the error answers.

use std::collections::BTreeMap;

use askama::Template;
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use cloudhp_core::{CustomerId, DrawFailure, IdError, Phase, PlayState, PlayStatus, ServiceError};
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{Parts, Web};
use cloudhp_i18n::{FluentValue, Lang};
use cloudhp_links::{LinkError, Links};

/// What the page says of a part it cannot show, in `lang` (the cause itself in English).
fn unavailable(lang: Lang, e: &ServiceError) -> String {
    lang.t_with("service-unavailable", &[("detail", e.to_string().into())])
}

/// The text of a panel that cannot be shown: "Your details cannot be shown right now: …".
fn na_reason(lang: Lang, what: &str, e: &ServiceError) -> String {
    lang.t_with(
        "na-reason",
        &[
            ("what", lang.t(what).into()),
            ("reason", unavailable(lang, e).into()),
        ],
    )
}

/// A message with one date argument.
fn dated(lang: Lang, id: &str, name: &'static str, t: OffsetDateTime) -> String {
    lang.t_with(id, &[(name, lang.datetime(t).into())])
}

fn rfc3339(t: Option<OffsetDateTime>) -> Option<String> {
    t.and_then(|t| t.format(&Rfc3339).ok())
}

/// Renders a template; a template bug becomes a plain 500, logged.
fn html(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(body) => (status, Html(body)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template rendering failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error\n").into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage<'a> {
    lang: Lang,
    title: &'a str,
    message: &'a str,
    hint: Option<&'a str>,
}

pub(super) fn message(
    lang: Lang,
    status: StatusCode,
    title: &str,
    message: &str,
    hint: Option<&str>,
) -> Response {
    html(
        status,
        &MessagePage {
            lang,
            title,
            message,
            hint,
        },
    )
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    lang: Lang,
    how: String,
}

pub(super) fn home(lang: Lang, links: &Links) -> Response {
    let example = if links.is_signed() {
        format!("{}/index.html?id=1234&t=…", links.base())
    } else {
        format!("{}/index.html?id=1234", links.base())
    };
    let how = lang.t_with("home-how", &[("example", example.into())]);
    html(StatusCode::OK, &HomePage { lang, how })
}

/// A message shown once after a Play press that could not start the draw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Notice {
    PlayUnavailable,
    IdentityUnavailable,
}

impl Notice {
    pub fn parse(code: &str) -> Option<Self> {
        match code {
            "play-unavailable" => Some(Self::PlayUnavailable),
            "identity-unavailable" => Some(Self::IdentityUnavailable),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Self::PlayUnavailable => "play-unavailable",
            Self::IdentityUnavailable => "identity-unavailable",
        }
    }

    fn text(self, lang: Lang) -> String {
        lang.t(match self {
            Self::PlayUnavailable => "notice-play-unavailable",
            Self::IdentityUnavailable => "notice-identity-unavailable",
        })
    }
}

pub(super) enum IdentityPanel {
    Known {
        firstname: String,
        lastname: String,
        email: String,
    },
    Unavailable(String),
}

pub(super) enum StatusPanel {
    Known {
        state: &'static str,
        headline: String,
        detail: Option<String>,
    },
    Unavailable(String),
}

pub(super) struct PlayPanel {
    pub enabled: bool,
    pub label: String,
    pub unavailable: bool,
    pub note: Option<String>,
}

pub(super) enum PicturePanel {
    Image { src: String, alt: String },
    Empty(String),
    Unavailable(String),
}

/// The customer page.
#[derive(Template)]
#[template(path = "player.html")]
pub(super) struct PlayerView {
    lang: Lang,
    id: CustomerId,
    form_action: String,
    refresh: Option<u64>,
    notice: Option<String>,
    identity: IdentityPanel,
    status: StatusPanel,
    play: PlayPanel,
    picture: PicturePanel,
}

/// Whether the Play button may be offered: everything needed is known and says yes.
fn can_play(parts: &Parts) -> bool {
    parts.identity.is_ok()
        && parts.play.is_ok()
        && matches!(&parts.status, Ok(s) if s.state == PlayState::NotPlayed)
}

/// The picture URL to show, if any: only for a customer who won or whose "no prize" shows its
/// picture (or whose status is unknown while a picture exists), never for a draw still running.
fn picture_src(links: &Links, id: CustomerId, parts: &Parts) -> Option<String> {
    let Ok(Some(info)) = &parts.picture else {
        return None;
    };
    match &parts.status {
        Ok(s) if !s.shows_picture() => None,
        _ => Some(links.picture_path(id, &info.etag)),
    }
}

impl PlayerView {
    pub fn build(
        web: &Web,
        lang: Lang,
        id: CustomerId,
        parts: &Parts,
        notice: Option<Notice>,
    ) -> Self {
        let identity = match &parts.identity {
            Ok(c) => IdentityPanel::Known {
                firstname: c.firstname.clone(),
                lastname: c.lastname.clone(),
                email: c.email.clone(),
            },
            Err(e) => IdentityPanel::Unavailable(na_reason(lang, "what-details", e)),
        };
        let status = match &parts.status {
            Ok(s) => status_panel(lang, s),
            Err(e) => StatusPanel::Unavailable(na_reason(lang, "what-status", e)),
        };
        let drawing = matches!(&parts.status, Ok(s) if s.state == PlayState::Drawing);
        let play = play_panel(lang, parts);
        let picture = match (&parts.picture, &parts.status) {
            (Err(e), _) => PicturePanel::Unavailable(na_reason(lang, "what-picture", e)),
            _ => match picture_src(&web.links, id, parts) {
                Some(src) => {
                    let status = parts.status.as_ref().ok();
                    let alt = if status.is_some_and(|s| s.state == PlayState::NoPrize) {
                        lang.t("picture-alt-no-prize")
                    } else {
                        let prize = status
                            .and_then(PlayStatus::prize_label)
                            .unwrap_or_else(|| lang.t("picture-your-prize"));
                        lang.t_with("picture-alt", &[("prize", prize.into())])
                    };
                    PicturePanel::Image { src, alt }
                }
                None => PicturePanel::Empty(lang.t(match &parts.status {
                    Ok(s) if s.state == PlayState::Won => "picture-not-yet",
                    Ok(s) if s.state == PlayState::NoPrize => "picture-no-prize",
                    Ok(s) if s.state == PlayState::Drawing => "picture-drawing",
                    _ if parts.campaign != Phase::Open => "picture-after-play",
                    _ => "picture-press-play",
                })),
            },
        };
        Self {
            lang,
            id,
            form_action: web.links.page_path(id),
            refresh: drawing.then(|| web.refresh.as_secs().max(1)),
            notice: notice.map(|n| n.text(lang)),
            identity,
            status,
            play,
            picture,
        }
    }

    pub fn render(&self) -> Response {
        let mut response = html(StatusCode::OK, self);
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

fn status_panel(lang: Lang, s: &PlayStatus) -> StatusPanel {
    let on = |id: &str, played: OffsetDateTime, requested: Option<OffsetDateTime>| match requested {
        Some(requested) => lang.t_with(
            &format!("{id}-pressed"),
            &[
                ("played", lang.datetime(played).into()),
                ("requested", lang.datetime(requested).into()),
            ],
        ),
        None => dated(lang, &format!("{id}-of"), "played", played),
    };
    match s.state {
        PlayState::NotPlayed => StatusPanel::Known {
            state: "not-played",
            headline: lang.t("status-not-played"),
            detail: s
                .last_failure_at
                .map(|at| dated(lang, "status-failed-before", "date", at)),
        },
        PlayState::Drawing => StatusPanel::Known {
            state: "drawing",
            headline: lang.t("status-drawing"),
            detail: Some(match s.requested_at {
                Some(at) => dated(lang, "status-drawing-since", "date", at),
                None => lang.t("status-drawing-refresh"),
            }),
        },
        PlayState::NoPrize => StatusPanel::Known {
            state: "no-prize",
            headline: lang.t("status-no-prize"),
            detail: Some(match s.played_at {
                Some(played) => on("status-no-prize", played, s.requested_at),
                None => lang.t("status-played"),
            }),
        },
        PlayState::Won => StatusPanel::Known {
            state: "won",
            headline: match s.prize_label() {
                Some(name) => lang.t_with("status-won-prize", &[("prize", name.into())]),
                None => lang.t("status-won"),
            },
            detail: Some(match (s.played_at, s.requested_at) {
                (Some(played), Some(requested)) => lang.t_with(
                    "status-won-on-pressed",
                    &[
                        ("played", lang.datetime(played).into()),
                        ("requested", lang.datetime(requested).into()),
                    ],
                ),
                (Some(played), None) => dated(lang, "status-won-on", "played", played),
                _ => lang.t("status-played"),
            }),
        },
    }
}

/// What the page says of the campaign's window, when Play is not open.
pub(super) fn campaign_note(lang: Lang, phase: Phase) -> Option<String> {
    match phase {
        Phase::Open => None,
        Phase::NotStarted { starts_at } => {
            Some(dated(lang, "campaign-not-started", "date", starts_at))
        }
        Phase::Over { ended_at } => Some(dated(lang, "campaign-over", "date", ended_at)),
    }
}

fn play_panel(lang: Lang, parts: &Parts) -> PlayPanel {
    if let Some(note) = campaign_note(lang, parts.campaign) {
        let label = match &parts.status {
            Ok(s) if s.state.is_played() => "play-button-done",
            _ => "play-button",
        };
        return PlayPanel {
            enabled: false,
            label: lang.t(label),
            unavailable: false,
            note: Some(note),
        };
    }
    let enabled = can_play(parts);
    let (label, note): (&str, Option<String>) = match &parts.status {
        Ok(s) if s.state.is_played() => ("play-button-done", Some(lang.t("play-done"))),
        Ok(s) if s.state == PlayState::Drawing => ("play-button-drawing", None),
        Ok(_) => ("play-button", None),
        Err(_) => ("play-button", Some(lang.t("play-status-unknown"))),
    };
    let mut panel = PlayPanel {
        enabled,
        label: lang.t(label),
        unavailable: false,
        note,
    };
    if let Err(e) = &parts.play {
        panel.unavailable = true;
        panel.note = Some(lang.t_with(
            "play-unavailable",
            &[("reason", unavailable(lang, e).into())],
        ));
    } else if parts.identity.is_err() && panel.note.is_none() {
        panel.note = Some(lang.t("play-identity-unknown"));
    }
    panel
}

/// The JSON of a customer (`GET /api/v1/players/N`, and the answer of a play).
#[derive(Serialize)]
pub(super) struct PlayerJson {
    id: CustomerId,
    customer: Option<cloudhp_core::Customer>,
    /// `not_played`, `drawing`, `won`, `no_prize` (played, not a win), or `unknown` when the
    /// status service failed.
    status: &'static str,
    /// The prize's picture file (for `no_prize`, the "no prize" picture when shown).
    prize: Option<String>,
    /// The prize's name, for a win.
    prize_name: Option<String>,
    requested_at: Option<String>,
    played_at: Option<String>,
    last_failure_at: Option<String>,
    /// Why the last attempt failed (`w_timeout`, `w_failed`, `picture_failed`,
    /// `picture_timeout`, `abandoned`), when known.
    last_failure: Option<&'static str>,
    picture_url: Option<String>,
    can_play: bool,
    /// `open`, `not_started` or `over`, and what the page says about it.
    campaign: &'static str,
    campaign_note: Option<String>,
    /// The parts that could not be read, with the reason.
    unavailable: BTreeMap<&'static str, String>,
}

impl PlayerJson {
    pub fn from_parts(links: &Links, id: CustomerId, parts: &Parts) -> Self {
        let mut unavailable = BTreeMap::new();
        let mut note = |part: &'static str, err: &ServiceError| {
            unavailable.insert(part, err.to_string());
        };
        if let Err(e) = &parts.identity {
            note("identity", e);
        }
        if let Err(e) = &parts.status {
            note("status", e);
        }
        if let Err(e) = &parts.picture {
            note("picture", e);
        }
        if let Err(e) = &parts.play
            && !matches!(e, ServiceError::Closed { .. })
        {
            note("play", e);
        }
        let status = parts.status.as_ref().ok();
        Self {
            id,
            customer: parts.identity.as_ref().ok().cloned(),
            status: status.map_or("unknown", |s| s.state.as_str()),
            prize: status
                .and_then(|s| s.prize.as_ref())
                .map(|p| p.file().to_owned()),
            prize_name: status
                .filter(|s| s.state == PlayState::Won)
                .and_then(PlayStatus::prize_label),
            requested_at: rfc3339(status.and_then(|s| s.requested_at)),
            played_at: rfc3339(status.and_then(|s| s.played_at)),
            last_failure_at: rfc3339(status.and_then(|s| s.last_failure_at)),
            last_failure: status.and_then(|s| s.last_failure).map(DrawFailure::as_str),
            picture_url: picture_src(links, id, parts),
            can_play: can_play(parts),
            campaign: match parts.campaign {
                Phase::Open => "open",
                Phase::NotStarted { .. } => "not_started",
                Phase::Over { .. } => "over",
            },
            campaign_note: campaign_note(Lang::english(), parts.campaign),
            unavailable,
        }
    }

    pub fn reply(self, status: StatusCode) -> Response {
        (status, [(header::CACHE_CONTROL, "no-store")], Json(self)).into_response()
    }
}

/// A refusal of the web role, as a page, JSON or text. Client mistakes are 4xx with a reason;
/// a failing part is 503 with the part named; nothing here is ever a 500.
/// What the page of a [`PageError`] says, as message ids (boxed: the error travels in
/// `Result`s and stays small).
struct PageText {
    title: &'static str,
    /// The text and its arguments (`detail`, when given, is the English cause: a translation
    /// may show it or not).
    text: &'static str,
    args: Vec<(&'static str, FluentValue<'static>)>,
    /// A date argument (`date`), written for the reader's language when the page is rendered.
    date: Option<OffsetDateTime>,
    hint: Option<&'static str>,
}

pub(super) struct PageError {
    status: StatusCode,
    code: &'static str,
    /// In English, for the JSON and text answers (programs read them).
    message: String,
    /// The page, in the reader's language.
    page: Box<PageText>,
    /// `Retry-After`, in seconds.
    retry_after: Option<HeaderValue>,
}

impl PageError {
    fn new(
        status: StatusCode,
        code: &'static str,
        title: &'static str,
        message: String,
        page_text: &'static str,
    ) -> Self {
        let detail = message.clone();
        Self {
            status,
            code,
            message,
            page: Box::new(PageText {
                title,
                text: page_text,
                args: vec![("detail", detail.into())],
                date: None,
                hint: None,
            }),
            retry_after: None,
        }
    }

    fn hint(mut self, hint: &'static str) -> Self {
        self.page.hint = Some(hint);
        self
    }

    pub fn bad_id(e: IdError) -> Self {
        let message = format!("{}.", capitalise(&e.to_string()));
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_id",
            "error-bad-link-title",
            message,
            "error-bad-id",
        )
        .hint("error-use-your-link")
    }

    pub fn bad_link(e: LinkError) -> Self {
        let message = format!("{}.", capitalise(&e.to_string()));
        Self::new(
            StatusCode::FORBIDDEN,
            "invalid_link",
            "error-bad-link-title",
            message,
            "error-bad-signature",
        )
        .hint("error-use-your-link")
    }

    pub fn bad_query() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            "error-bad-link-title",
            english("error-bad-query"),
            "error-bad-query",
        )
        .hint("error-use-your-link")
    }

    pub fn unknown_customer() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "error-unknown-title",
            english("error-unknown"),
            "error-unknown",
        )
        .hint("error-unknown-hint")
    }

    pub fn unavailable(e: &ServiceError) -> Self {
        let (message, text) = if e.is_transient() {
            (
                format!(
                    "{}; please try again in a moment.",
                    capitalise(&e.to_string())
                ),
                "error-unavailable-detail",
            )
        } else {
            (english("error-unavailable"), "error-unavailable")
        };
        let mut error = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "error-unavailable-title",
            message,
            text,
        );
        error.page.args = vec![("detail", capitalise(&e.to_string()).into())];
        error.retry_after = Some(HeaderValue::from_static("5"));
        error
    }

    pub fn cross_site() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "cross_site",
            "error-cross-site-title",
            english("error-cross-site"),
            "error-cross-site",
        )
        .hint("error-cross-site-hint")
    }

    pub fn rate_limited(wait: std::time::Duration) -> Self {
        let retry = super::guard::retry_after(wait);
        let secs: u64 = retry.to_str().unwrap_or("1").parse().unwrap_or(1);
        let args = || vec![("seconds", FluentValue::from(secs))];
        let mut error = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "error-rate-limited-title",
            Lang::english().t_with("error-rate-limited", &args()),
            "error-rate-limited",
        )
        .hint("error-rate-limited-hint");
        error.page.args = args();
        error.retry_after = Some(retry);
        error
    }

    /// Play refused outside the campaign's window: 409 before it opens, 410 once it is over.
    pub fn closed(phase: Phase) -> Self {
        let (status, code) = match phase {
            Phase::Over { .. } => (StatusCode::GONE, "campaign_over"),
            _ => (StatusCode::CONFLICT, "not_open"),
        };
        let (text, date) = match phase {
            Phase::Over { ended_at } => ("campaign-over", Some(ended_at)),
            Phase::NotStarted { starts_at } => ("campaign-not-started", Some(starts_at)),
            Phase::Open => ("error-closed-title", None),
        };
        let message = campaign_note(Lang::english(), phase).unwrap_or_default();
        let mut error = Self::new(status, code, "error-closed-title", message, text);
        error.page.args.clear();
        error.page.date = date;
        error
    }

    pub fn page(self, lang: Lang) -> Response {
        let PageText {
            title,
            text: id,
            args,
            date,
            hint,
        } = &*self.page;
        let mut args = args.clone();
        if let Some(t) = date {
            args.push(("date", lang.datetime(*t).into()));
        }
        let text = lang.t_with(id, &args);
        let hint = hint.map(|h| lang.t(h));
        let mut response = message(lang, self.status, &lang.t(title), &text, hint.as_deref());
        self.decorate(&mut response);
        response
    }

    pub fn json(self) -> Response {
        let body = serde_json::json!({ "error": self.code, "message": self.message });
        let mut response = (self.status, Json(body)).into_response();
        self.decorate(&mut response);
        response
    }

    pub fn text(self) -> Response {
        let mut response = (self.status, format!("{}\n", self.message)).into_response();
        self.decorate(&mut response);
        response
    }

    fn decorate(&self, response: &mut Response) {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(retry) = &self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, retry.clone());
        }
    }
}

/// A message in English (the JSON and text answers).
fn english(id: &str) -> String {
    Lang::english().t(id)
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloudhp_core::{Customer, Prize};

    fn parts(status: Result<PlayStatus, ServiceError>) -> Parts {
        let id = CustomerId::new(9).unwrap();
        Parts {
            identity: Ok(Customer {
                id,
                firstname: "<script>alert(1)</script>".into(),
                lastname: "O'Brien & Sons".into(),
                email: "a\"b@example.com".into(),
                language: None,
            }),
            status,
            picture: Ok(None),
            play: Ok(()),
            campaign: Phase::Open,
        }
    }

    fn web() -> Web {
        use std::sync::Arc;
        // The handles are never called by the view.
        struct Never;
        #[async_trait::async_trait]
        impl cloudhp_core::Identity for Never {
            async fn customer_count(&self) -> Result<u64, cloudhp_core::ServiceError> {
                Ok(0)
            }
            async fn customer(&self, _: CustomerId) -> Result<Customer, ServiceError> {
                unreachable!()
            }
        }
        #[async_trait::async_trait]
        impl cloudhp_core::Status for Never {
            async fn status(&self, _: CustomerId) -> Result<PlayStatus, ServiceError> {
                unreachable!()
            }
        }
        #[async_trait::async_trait]
        impl cloudhp_core::Play for Never {
            async fn play(&self, _: CustomerId) -> Result<cloudhp_core::PlayReply, ServiceError> {
                unreachable!()
            }
            async fn availability(&self) -> Result<(), ServiceError> {
                unreachable!()
            }
        }
        #[async_trait::async_trait]
        impl cloudhp_core::Pictures for Never {
            async fn info(
                &self,
                _: CustomerId,
            ) -> Result<Option<cloudhp_core::PictureInfo>, ServiceError> {
                unreachable!()
            }
            async fn open(
                &self,
                _: CustomerId,
            ) -> Result<Option<cloudhp_core::PictureStream>, ServiceError> {
                unreachable!()
            }
        }
        Web {
            identity: Arc::new(Never),
            status: Arc::new(Never),
            play: Arc::new(Never),
            pictures: Arc::new(Never),
            links: Links::open("http://x"),
            timeouts: super::super::WebTimeouts {
                identity: std::time::Duration::from_millis(1),
                status: std::time::Duration::from_millis(1),
                picture: std::time::Duration::from_millis(1),
                play: std::time::Duration::from_millis(1),
                start: std::time::Duration::from_millis(1),
            },
            refresh: std::time::Duration::from_secs(2),
            language: Lang::english(),
            guard: super::super::Guard::new("http://x", Vec::new(), &Default::default()),
            campaign: Default::default(),
            clock: cloudhp_core::system_clock(),
            cache: super::super::PageCache::new(0),
        }
    }

    fn render(parts: &Parts) -> String {
        let view = PlayerView::build(
            &web(),
            Lang::english(),
            CustomerId::new(9).unwrap(),
            parts,
            None,
        );
        view.render().expect("template renders")
    }

    #[test]
    fn customer_fields_are_escaped() {
        let html = render(&parts(Ok(PlayStatus::not_played(
            CustomerId::new(9).unwrap(),
        ))));
        assert!(!html.contains("<script>alert(1)</script>"));
        assert!(
            html.contains("&#60;script&#62;alert(1)&#60;/script&#62;")
                || html.contains("&lt;script&gt;"),
            "{html}"
        );
        assert!(!html.contains("O'Brien & Sons"));
    }

    #[test]
    fn play_is_offered_only_to_a_customer_who_has_not_played() {
        let id = CustomerId::new(9).unwrap();
        let html = render(&parts(Ok(PlayStatus::not_played(id))));
        assert!(
            html.contains(r#"<button type="submit">Play</button>"#),
            "{html}"
        );

        let mut won = PlayStatus::not_played(id);
        won.state = PlayState::Won;
        won.prize = Prize::parse("drone.jpg");
        won.played_at = Some(time::macros::datetime!(2026-11-25 10:04 UTC));
        won.requested_at = Some(time::macros::datetime!(2026-11-25 10:03 UTC));
        let html = render(&parts(Ok(won)));
        assert!(html.contains("disabled>Already played"), "{html}");
        assert!(html.contains("You won: Drone"));
        assert!(html.contains("25 November 2026 at 10:04 UTC"));
        assert!(!html.contains("http-equiv=\"refresh\""));

        let html = render(&parts(Err(ServiceError::unavailable("the status service"))));
        assert!(html.contains("disabled>Play"), "{html}");
        assert!(html.contains("N/A"));
        assert!(html.contains("the status service is unavailable"));
    }

    #[test]
    fn a_running_draw_refreshes_the_page() {
        let id = CustomerId::new(9).unwrap();
        let mut drawing = PlayStatus::not_played(id);
        drawing.state = PlayState::Drawing;
        let html = render(&parts(Ok(drawing)));
        assert!(
            html.contains(r#"<meta http-equiv="refresh" content="2">"#),
            "{html}"
        );
        assert!(html.contains("disabled>Drawing"));
    }

    #[test]
    fn the_json_of_a_failed_draw_names_the_kind_of_failure() {
        let id = CustomerId::new(9).unwrap();
        let mut failed = PlayStatus::not_played(id);
        failed.last_failure_at = Some(time::macros::datetime!(2026-11-25 10:04 UTC));
        failed.last_failure = Some(DrawFailure::WTimeout);
        let json =
            serde_json::to_value(PlayerJson::from_parts(&web().links, id, &parts(Ok(failed))))
                .unwrap();
        assert_eq!(json["status"], "not_played");
        assert_eq!(json["last_failure_at"], "2026-11-25T10:04:00Z");
        assert_eq!(json["last_failure"], "w_timeout");

        let json = serde_json::to_value(PlayerJson::from_parts(
            &web().links,
            id,
            &parts(Ok(PlayStatus::not_played(id))),
        ))
        .unwrap();
        assert!(json["last_failure"].is_null(), "{json}");
    }

    trait RenderBody {
        fn expect(self, what: &str) -> String;
    }

    impl RenderBody for Response {
        fn expect(self, what: &str) -> String {
            assert_eq!(self.status(), StatusCode::OK, "{what}");
            let body = self.into_body();
            let bytes =
                futures::executor::block_on(axum::body::to_bytes(body, usize::MAX)).unwrap();
            String::from_utf8(bytes.to_vec()).unwrap()
        }
    }
}
