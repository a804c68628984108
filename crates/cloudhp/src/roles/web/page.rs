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
use time::macros::format_description;

use super::{Parts, Web};
use cloudhp_links::{LinkError, Links};

/// A date as customers read it: `25 November 2026 at 10:04 UTC`.
fn human(t: OffsetDateTime) -> String {
    let format =
        format_description!("[day padding:none] [month repr:long] [year] at [hour]:[minute] UTC");
    t.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_else(|_| t.to_string())
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
    title: &'a str,
    message: &'a str,
    hint: Option<&'a str>,
}

pub(super) fn message(
    status: StatusCode,
    title: &str,
    message: &str,
    hint: Option<&str>,
) -> Response {
    html(
        status,
        &MessagePage {
            title,
            message,
            hint,
        },
    )
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    example: String,
}

pub(super) fn home(links: &Links) -> Response {
    let example = if links.is_signed() {
        format!("{}/index.html?id=1234&t=…", links.base())
    } else {
        format!("{}/index.html?id=1234", links.base())
    };
    html(StatusCode::OK, &HomePage { example })
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

    fn text(self) -> &'static str {
        match self {
            Self::PlayUnavailable => {
                "Your draw could not start: the game is temporarily unavailable. Nothing was \
                 lost; please press Play again in a moment."
            }
            Self::IdentityUnavailable => {
                "Your draw could not start: we cannot confirm who you are right now. Nothing \
                 was lost; please press Play again in a moment."
            }
        }
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
    pub label: &'static str,
    pub unavailable: bool,
    pub note: Option<String>,
}

pub(super) enum PicturePanel {
    Image { src: String, alt: String },
    Empty(&'static str),
    Unavailable(String),
}

/// The customer page.
#[derive(Template)]
#[template(path = "player.html")]
pub(super) struct PlayerView {
    id: CustomerId,
    form_action: String,
    refresh: Option<u64>,
    notice: Option<&'static str>,
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
    pub fn build(web: &Web, id: CustomerId, parts: &Parts, notice: Option<Notice>) -> Self {
        let identity = match &parts.identity {
            Ok(c) => IdentityPanel::Known {
                firstname: c.firstname.clone(),
                lastname: c.lastname.clone(),
                email: c.email.clone(),
            },
            Err(e) => IdentityPanel::Unavailable(e.to_string()),
        };
        let status = match &parts.status {
            Ok(s) => status_panel(s),
            Err(e) => StatusPanel::Unavailable(e.to_string()),
        };
        let drawing = matches!(&parts.status, Ok(s) if s.state == PlayState::Drawing);
        let play = play_panel(parts);
        let picture = match (&parts.picture, &parts.status) {
            (Err(e), _) => PicturePanel::Unavailable(e.to_string()),
            _ => match picture_src(&web.links, id, parts) {
                Some(src) => {
                    let status = parts.status.as_ref().ok();
                    let alt = if status.is_some_and(|s| s.state == PlayState::NoPrize) {
                        "No prize this time".to_owned()
                    } else {
                        let prize = status
                            .and_then(PlayStatus::prize_label)
                            .unwrap_or_else(|| "your prize".to_owned());
                        format!("Your prize: {prize}")
                    };
                    PicturePanel::Image { src, alt }
                }
                None => PicturePanel::Empty(match &parts.status {
                    Ok(s) if s.state == PlayState::Won => {
                        "Your prize picture is not available yet; it will appear here."
                    }
                    Ok(s) if s.state == PlayState::NoPrize => {
                        "No prize this time: there is no prize picture to show."
                    }
                    Ok(s) if s.state == PlayState::Drawing => {
                        "Your prize picture will appear here as soon as the draw ends."
                    }
                    _ if parts.campaign != Phase::Open => {
                        "Your prize picture appears here once you have played."
                    }
                    _ => "Press Play to discover your prize.",
                }),
            },
        };
        Self {
            id,
            form_action: web.links.page_path(id),
            refresh: drawing.then(|| web.refresh.as_secs().max(1)),
            notice: notice.map(Notice::text),
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

fn status_panel(s: &PlayStatus) -> StatusPanel {
    match s.state {
        PlayState::NotPlayed => StatusPanel::Known {
            state: "not-played",
            headline: "You have not played yet.".into(),
            detail: s.last_failure_at.map(|at| {
                format!(
                    "Your draw of {} could not complete and no prize was recorded; you can \
                     play again.",
                    human(at)
                )
            }),
        },
        PlayState::Drawing => StatusPanel::Known {
            state: "drawing",
            headline: "Drawing your prize…".into(),
            detail: Some(match s.requested_at {
                Some(at) => format!(
                    "You pressed Play on {}. This page refreshes by itself until your prize is \
                     known.",
                    human(at)
                ),
                None => "This page refreshes by itself until your prize is known.".into(),
            }),
        },
        PlayState::NoPrize => StatusPanel::Known {
            state: "no-prize",
            headline: "No prize this time.".into(),
            detail: Some(match (s.played_at, s.requested_at) {
                (Some(played), Some(requested)) => format!(
                    "Your draw of {} did not win a prize (you pressed Play on {}). Thank you \
                     for taking part!",
                    human(played),
                    human(requested)
                ),
                (Some(played), None) => format!(
                    "Your draw of {} did not win a prize. Thank you for taking part!",
                    human(played)
                ),
                _ => "You have played.".into(),
            }),
        },
        PlayState::Won => StatusPanel::Known {
            state: "won",
            headline: match s.prize_label() {
                Some(name) => format!("You won: {name}"),
                None => "You won.".into(),
            },
            detail: Some(match (s.played_at, s.requested_at) {
                (Some(played), Some(requested)) => format!(
                    "Won on {} (you pressed Play on {}).",
                    human(played),
                    human(requested)
                ),
                (Some(played), None) => format!("Won on {}.", human(played)),
                _ => "You have played.".into(),
            }),
        },
    }
}

/// What the page says of the campaign's window, when Play is not open.
pub(super) fn campaign_note(phase: Phase) -> Option<String> {
    match phase {
        Phase::Open => None,
        Phase::NotStarted { starts_at } => Some(format!(
            "The draw has not opened yet: it opens on {}.",
            human(starts_at)
        )),
        Phase::Over { ended_at } => Some(format!(
            "The campaign is over: it ended on {}. Thank you for taking part!",
            human(ended_at)
        )),
    }
}

fn play_panel(parts: &Parts) -> PlayPanel {
    if let Some(note) = campaign_note(parts.campaign) {
        let label = match &parts.status {
            Ok(s) if s.state.is_played() => "Already played",
            _ => "Play",
        };
        return PlayPanel {
            enabled: false,
            label,
            unavailable: false,
            note: Some(note),
        };
    }
    let enabled = can_play(parts);
    let (label, note): (&'static str, Option<String>) = match &parts.status {
        Ok(s) if s.state.is_played() => ("Already played", Some("You have had your draw.".into())),
        Ok(s) if s.state == PlayState::Drawing => ("Drawing…", None),
        Ok(_) => ("Play", None),
        Err(_) => (
            "Play",
            Some("Play is disabled while your status cannot be checked.".into()),
        ),
    };
    let mut panel = PlayPanel {
        enabled,
        label,
        unavailable: false,
        note,
    };
    if let Err(e) = &parts.play {
        panel.unavailable = true;
        panel.note = Some(format!("The game is temporarily unavailable: {e}."));
    } else if parts.identity.is_err() && panel.note.is_none() {
        panel.note = Some("Play is disabled while we cannot confirm who you are.".into());
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
            campaign_note: campaign_note(parts.campaign),
            unavailable,
        }
    }

    pub fn reply(self, status: StatusCode) -> Response {
        (status, [(header::CACHE_CONTROL, "no-store")], Json(self)).into_response()
    }
}

/// A refusal of the web role, as a page, JSON or text. Client mistakes are 4xx with a reason;
/// a failing part is 503 with the part named; nothing here is ever a 500.
pub(super) struct PageError {
    status: StatusCode,
    code: &'static str,
    title: &'static str,
    message: String,
    hint: Option<&'static str>,
    /// `Retry-After`, in seconds.
    retry_after: Option<HeaderValue>,
}

const USE_YOUR_LINK: &str = "Please open the link from your e-mail exactly as it was sent.";

impl PageError {
    pub fn bad_id(e: IdError) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: "invalid_id",
            title: "This link is not valid",
            message: format!("{}.", capitalise(&e.to_string())),
            hint: Some(USE_YOUR_LINK),
            retry_after: None,
        }
    }

    pub fn bad_link(e: LinkError) -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            code: "invalid_link",
            title: "This link is not valid",
            message: format!("{}.", capitalise(&e.to_string())),
            hint: Some(USE_YOUR_LINK),
            retry_after: None,
        }
    }

    pub fn bad_query() -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: "invalid_query",
            title: "This link is not valid",
            message: "The address is malformed (a parameter is repeated or badly encoded).".into(),
            hint: Some(USE_YOUR_LINK),
            retry_after: None,
        }
    }

    pub fn unknown_customer() -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            code: "not_found",
            title: "We do not know this link",
            message: "No customer of the campaign matches this link.".into(),
            hint: Some(
                "If you believe this is a mistake, please contact the shop's customer service.",
            ),
            retry_after: None,
        }
    }

    pub fn unavailable(e: &ServiceError) -> Self {
        let message = if e.is_transient() {
            format!(
                "{}; please try again in a moment.",
                capitalise(&e.to_string())
            )
        } else {
            "The game is temporarily unavailable; please try again in a moment.".into()
        };
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "unavailable",
            title: "Temporarily unavailable",
            message,
            hint: None,
            retry_after: Some(HeaderValue::from_static("5")),
        }
    }

    pub fn cross_site() -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            code: "cross_site",
            title: "Request refused",
            message: "This request came from another website, so it was not carried out. \
                      Nothing happened to your draw."
                .into(),
            hint: Some("To play, open the link from your e-mail and press Play on that page."),
            retry_after: None,
        }
    }

    pub fn rate_limited(wait: std::time::Duration) -> Self {
        let retry = super::guard::retry_after(wait);
        let secs = retry.to_str().unwrap_or("1").to_owned();
        Self {
            status: StatusCode::TOO_MANY_REQUESTS,
            code: "rate_limited",
            title: "Slow down a little",
            message: format!(
                "There were too many requests from your connection in a short time. Please \
                 wait {secs} second{} and try again.",
                if secs == "1" { "" } else { "s" }
            ),
            hint: Some("Nothing was lost: your draw, if you pressed Play, is safe."),
            retry_after: Some(retry),
        }
    }

    /// Play refused outside the campaign's window: 409 before it opens, 410 once it is over.
    pub fn closed(phase: Phase) -> Self {
        let (status, code) = match phase {
            Phase::Over { .. } => (StatusCode::GONE, "campaign_over"),
            _ => (StatusCode::CONFLICT, "not_open"),
        };
        Self {
            status,
            code,
            title: "The draw is closed",
            message: campaign_note(phase).unwrap_or_default(),
            hint: None,
            retry_after: None,
        }
    }

    pub fn page(self) -> Response {
        let mut response = message(self.status, self.title, &self.message, self.hint);
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
            guard: super::super::Guard::new("http://x", Vec::new(), &Default::default()),
            campaign: Default::default(),
            clock: cloudhp_core::system_clock(),
        }
    }

    fn render(parts: &Parts) -> String {
        let view = PlayerView::build(&web(), CustomerId::new(9).unwrap(), parts, None);
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
