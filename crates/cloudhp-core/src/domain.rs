//! What the roles exchange: customers, play records, prizes, draws.

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::CustomerId;

/// A customer as the lottery sees them: what the identity panel shows and the winner mail names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    pub id: CustomerId,
    pub firstname: String,
    pub lastname: String,
    pub email: String,
    /// The language of their shop account (PrestaShop's `ps_lang.iso_code`, `fr`), when known:
    /// the page and their mails use it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

/// Where a customer stands in the lottery.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlayState {
    /// Never played, or every attempt failed before a prize was recorded.
    NotPlayed,
    /// A draw is claimed and in progress (W is working, or a recovery will re-drive it).
    Drawing,
    /// The draw completed; the prize and its date are recorded.
    Won,
    /// The draw completed without a prize ("no prize this time"); its date is recorded. Not a
    /// win: no winner mail, and the customer has played.
    NoPrize,
}

impl PlayState {
    pub fn as_str(self) -> &'static str {
        match self {
            PlayState::NotPlayed => "not_played",
            PlayState::Drawing => "drawing",
            PlayState::Won => "won",
            PlayState::NoPrize => "no_prize",
        }
    }

    /// Whether the customer's one draw is over (won, or no prize): they cannot play again.
    pub fn is_played(self) -> bool {
        matches!(self, PlayState::Won | PlayState::NoPrize)
    }
}

/// Why a draw ended without a prize: stored with the draw (beside the error's text) and
/// reported in its status, so that operators and tools can tell the kinds apart without
/// reading prose.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DrawFailure {
    /// W did not answer within `play.worker_timeout`.
    WTimeout,
    /// W answered an error or something that is not a draw, or no W instance could be reached.
    WFailed,
    /// The prize picture could not be stored.
    PictureFailed,
    /// Storing the prize picture took longer than `play.store_timeout`.
    PictureTimeout,
    /// The draw was interrupted `play.max_attempts` times and given up.
    Abandoned,
}

impl DrawFailure {
    pub const ALL: [Self; 5] = [
        Self::WTimeout,
        Self::WFailed,
        Self::PictureFailed,
        Self::PictureTimeout,
        Self::Abandoned,
    ];

    /// The code, as stored and serialised (`w_timeout`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::WTimeout => "w_timeout",
            Self::WFailed => "w_failed",
            Self::PictureFailed => "picture_failed",
            Self::PictureTimeout => "picture_timeout",
            Self::Abandoned => "abandoned",
        }
    }

    /// The kind of a code; `None` for a code this version does not know.
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == code)
    }
}

/// A prize as W names it: a picture file name such as `usbkey.jpg`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Prize(String);

impl Prize {
    /// Longest prize file name accepted from a W.
    pub const MAX_LEN: usize = 128;

    /// Accepts a W's `price` field: a plain file name (no path, no control characters).
    pub fn parse(name: &str) -> Option<Self> {
        let ok = !name.is_empty()
            && name.len() <= Self::MAX_LEN
            && !name.starts_with('.')
            && !name
                .chars()
                .any(|c| c.is_control() || c == '/' || c == '\\');
        ok.then(|| Self(name.to_owned()))
    }

    /// The file name as W gave it.
    pub fn file(&self) -> &str {
        &self.0
    }

    /// A name for people: extension dropped, separators turned into spaces, first letter upper
    /// case (`usb-key.jpg` → `Usb key`).
    pub fn display_name(&self) -> String {
        let stem = match self.0.rsplit_once('.') {
            Some((stem, _ext)) if !stem.is_empty() => stem,
            _ => &self.0,
        };
        let spaced: String = stem
            .chars()
            .map(|c| if c == '_' || c == '-' { ' ' } else { c })
            .collect();
        let mut chars = spaced.trim().chars();
        match chars.next() {
            Some(first) => first.to_uppercase().chain(chars).collect(),
            None => self.0.clone(),
        }
    }
}

/// The play record of one customer, as the status role reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlayStatus {
    pub customer_id: CustomerId,
    pub state: PlayState,
    /// The prize won; for `no_prize`, the "no prize" picture when the customer's stored
    /// picture shows it.
    pub prize: Option<Prize>,
    /// The prize's name for people, from the prize catalog (absent when the catalog names
    /// none, and from the answers of older versions): else [`Prize::display_name`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prize_name: Option<String>,
    /// When the draw that counts (or the one in progress) was requested.
    #[serde(with = "time::serde::rfc3339::option")]
    pub requested_at: Option<OffsetDateTime>,
    /// When the prize was recorded.
    #[serde(with = "time::serde::rfc3339::option")]
    pub played_at: Option<OffsetDateTime>,
    /// Set when the last attempt failed and the customer may try again.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_failure_at: Option<OffsetDateTime>,
    /// Why the last attempt failed, when known (absent from the answers of older versions,
    /// and for draws that failed before the kind was recorded).
    #[serde(default)]
    pub last_failure: Option<DrawFailure>,
}

impl PlayStatus {
    pub fn not_played(customer_id: CustomerId) -> Self {
        Self {
            customer_id,
            state: PlayState::NotPlayed,
            prize: None,
            prize_name: None,
            requested_at: None,
            played_at: None,
            last_failure_at: None,
            last_failure: None,
        }
    }

    /// Whether the customer's stored picture is to be shown: a win's, or the "no prize"
    /// picture when the draw recorded that it shows it (never what a failed attempt, or a
    /// prize replaced for lack of stock, left in the store).
    pub fn shows_picture(&self) -> bool {
        match self.state {
            PlayState::Won => true,
            PlayState::NoPrize => self.prize.is_some(),
            PlayState::NotPlayed | PlayState::Drawing => false,
        }
    }

    /// The name of the prize for people: the catalog's, else derived from its file name.
    pub fn prize_label(&self) -> Option<String> {
        self.prize_name
            .clone()
            .or_else(|| self.prize.as_ref().map(Prize::display_name))
    }
}

/// What a request to play led to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlayOutcome {
    /// This request claimed the draw; it runs in the background.
    Started,
    /// A draw for this customer is already in progress.
    AlreadyRunning,
    /// The customer already played; nothing was drawn.
    AlreadyPlayed,
}

/// The answer of the play role: what happened and where the customer stands now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlayReply {
    pub outcome: PlayOutcome,
    pub status: PlayStatus,
}

/// One answer of a W: the prize and its picture (a JPEG with the customer's id strip).
#[derive(Clone, Debug)]
pub struct Draw {
    pub prize: Prize,
    pub jpeg: Bytes,
}

/// What is known of a stored picture without reading it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PictureInfo {
    pub size: u64,
    /// An opaque validator, quoted as HTTP wants it (`"…"`).
    pub etag: String,
    pub content_type: String,
}

/// The notification queued, in the same transaction as the result, for every winner.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WinnerNotice {
    pub customer: Customer,
    pub prize: Prize,
    /// The prize's name from the prize catalog (absent when it names none, and in the notices
    /// of older versions): else [`Prize::display_name`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prize_name: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub requested_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub played_at: OffsetDateTime,
}

impl WinnerNotice {
    /// The name of the prize for people.
    pub fn prize_label(&self) -> String {
        self.prize_name
            .clone()
            .unwrap_or_else(|| self.prize.display_name())
    }
}

/// Checks the first bytes of a JPEG (SOI marker followed by another marker).
pub fn looks_like_jpeg(bytes: &[u8]) -> bool {
    bytes.len() > 4 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prize_names_from_w_are_checked() {
        assert!(Prize::parse("usbkey.jpg").is_some());
        let too_long = "x".repeat(200);
        let refused = [
            "",
            "../etc/passwd",
            "a/b.jpg",
            ".hidden",
            "bad\nname.jpg",
            too_long.as_str(),
        ];
        for name in refused {
            assert!(Prize::parse(name).is_none(), "{name:?} is accepted");
        }
    }

    #[test]
    fn prize_display_names_read_well() {
        assert_eq!(Prize::parse("usbkey.jpg").unwrap().display_name(), "Usbkey");
        assert_eq!(
            Prize::parse("bluetooth-speaker.jpg")
                .unwrap()
                .display_name(),
            "Bluetooth speaker"
        );
        assert_eq!(
            Prize::parse("gift_card").unwrap().display_name(),
            "Gift card"
        );
        assert_eq!(Prize::parse("écran.jpg").unwrap().display_name(), "Écran");
    }

    #[test]
    fn play_status_serialises_with_rfc3339_dates() {
        let mut status = PlayStatus::not_played(CustomerId::new(3).unwrap());
        status.state = PlayState::Won;
        status.played_at = Some(time::macros::datetime!(2026-11-25 10:00:00 UTC));
        let json = serde_json::to_value(&status).unwrap();
        assert_eq!(json["state"], "won");
        assert_eq!(json["played_at"], "2026-11-25T10:00:00Z");
        let back: PlayStatus = serde_json::from_value(json).unwrap();
        assert_eq!(back, status);
    }

    #[test]
    fn draw_failures_have_stable_codes() {
        for failure in DrawFailure::ALL {
            assert_eq!(DrawFailure::parse(failure.as_str()), Some(failure));
            assert_eq!(
                serde_json::to_value(failure).unwrap(),
                failure.as_str(),
                "serialised as stored"
            );
        }
        assert_eq!(DrawFailure::WTimeout.as_str(), "w_timeout");
        assert_eq!(DrawFailure::parse("w_melted"), None);

        let mut status = PlayStatus::not_played(CustomerId::new(3).unwrap());
        status.last_failure_at = Some(time::macros::datetime!(2026-11-25 10:00:00 UTC));
        status.last_failure = Some(DrawFailure::PictureTimeout);
        let json = serde_json::to_value(&status).unwrap();
        assert_eq!(json["last_failure"], "picture_timeout");
        // The status of a version that did not send the kind still reads.
        let mut older = json.clone();
        older.as_object_mut().unwrap().remove("last_failure");
        let read: PlayStatus = serde_json::from_value(older).unwrap();
        assert_eq!(read.last_failure, None);
        assert_eq!(read.last_failure_at, status.last_failure_at);
    }

    #[test]
    fn jpeg_magic() {
        assert!(looks_like_jpeg(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]));
        assert!(!looks_like_jpeg(b"<html>"));
    }
}
