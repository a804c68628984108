//! When the campaign takes part: its optional start and end, and the clock they are read
//! against (injected, so both edges are tested without waiting).

use std::sync::Arc;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::ServiceError;

/// The clock of the roles: the system's, or a test's.
pub type Clock = Arc<dyn Fn() -> OffsetDateTime + Send + Sync>;

pub fn system_clock() -> Clock {
    Arc::new(OffsetDateTime::now_utc)
}

/// The campaign's window: Play is open from `starts_at` (included) to `ends_at` (excluded).
/// Either may be absent: no start means open already, no end means never over.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CampaignWindow {
    pub starts_at: Option<OffsetDateTime>,
    pub ends_at: Option<OffsetDateTime>,
}

/// Where `now` falls in the window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    NotStarted { starts_at: OffsetDateTime },
    Open,
    Over { ended_at: OffsetDateTime },
}

impl CampaignWindow {
    pub fn phase(&self, now: OffsetDateTime) -> Phase {
        match (self.starts_at, self.ends_at) {
            (Some(starts_at), _) if now < starts_at => Phase::NotStarted { starts_at },
            (_, Some(ended_at)) if now >= ended_at => Phase::Over { ended_at },
            _ => Phase::Open,
        }
    }

    /// `Ok` while Play is open, else [`ServiceError::Closed`] saying why.
    pub fn check(&self, now: OffsetDateTime) -> Result<(), ServiceError> {
        let at = |t: OffsetDateTime| t.format(&Rfc3339).unwrap_or_else(|_| t.to_string());
        match self.phase(now) {
            Phase::Open => Ok(()),
            Phase::NotStarted { starts_at } => Err(ServiceError::Closed {
                message: format!("the campaign opens at {}", at(starts_at)),
            }),
            Phase::Over { ended_at } => Err(ServiceError::Closed {
                message: format!("the campaign ended at {}", at(ended_at)),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn both_edges() {
        let w = CampaignWindow {
            starts_at: Some(datetime!(2026-12-01 09:00 UTC)),
            ends_at: Some(datetime!(2026-12-24 18:00 UTC)),
        };
        let ms = time::Duration::milliseconds(1);
        let start = w.starts_at.unwrap();
        let end = w.ends_at.unwrap();
        assert_eq!(w.phase(start - ms), Phase::NotStarted { starts_at: start });
        assert_eq!(w.phase(start), Phase::Open);
        assert_eq!(w.phase(end - ms), Phase::Open);
        assert_eq!(w.phase(end), Phase::Over { ended_at: end });
        assert!(
            matches!(w.check(end), Err(ServiceError::Closed { message }) if message.contains("ended at 2026-12-24T18:00:00Z"))
        );
        assert_eq!(CampaignWindow::default().phase(end), Phase::Open);
    }
}
