//! `[campaign]`: when the campaign takes part.

use cloudhp_core::CampaignWindow;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::ConfigError;

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CampaignConfig {
    /// RFC 3339 (`2026-12-01T09:00:00+01:00`); empty: open from the start.
    pub starts_at: String,
    /// RFC 3339; empty: never over.
    pub ends_at: String,
}

fn instant(key: &'static str, value: &str) -> Result<Option<OffsetDateTime>, ConfigError> {
    if value.trim().is_empty() {
        return Ok(None);
    }
    OffsetDateTime::parse(value.trim(), &Rfc3339)
        .map(Some)
        .map_err(|e| {
            ConfigError::key(
                key,
                format!(
                    "`{value}` is not an RFC 3339 date and time, e.g. 2026-12-01T09:00:00Z ({e})"
                ),
            )
        })
}

impl CampaignConfig {
    pub fn window(&self) -> Result<CampaignWindow, ConfigError> {
        let window = CampaignWindow {
            starts_at: instant("campaign.starts_at", &self.starts_at)?,
            ends_at: instant("campaign.ends_at", &self.ends_at)?,
        };
        if let (Some(start), Some(end)) = (window.starts_at, window.ends_at)
            && end <= start
        {
            return Err(ConfigError::key(
                "campaign.ends_at",
                "must be after campaign.starts_at",
            ));
        }
        Ok(window)
    }
}
