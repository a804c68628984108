//! `[campaign]`: the campaign's name, its shop, and when it takes place.

use cloudhp_core::CampaignWindow;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::ConfigError;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CampaignConfig {
    /// The campaign's identity (letters, digits, `-`, `_`): the mailing records its progress
    /// under it, and it is part of each campaign mail's Message-ID.
    pub name: String,
    /// The shop's name, as the campaign mails say it.
    pub shop_name: String,
    /// RFC 3339 (`2026-12-01T09:00:00+01:00`); empty: open from the start.
    pub starts_at: String,
    /// RFC 3339; empty: never over.
    pub ends_at: String,
}

impl Default for CampaignConfig {
    fn default() -> Self {
        Self {
            name: "lottery".into(),
            shop_name: "CloudHP demo shop".into(),
            starts_at: String::new(),
            ends_at: String::new(),
        }
    }
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
    /// Checks `campaign.name` and `campaign.shop_name`.
    pub fn validate_names(&self) -> Result<(), ConfigError> {
        let name = &self.name;
        if name.is_empty()
            || name.len() > 64
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(ConfigError::key(
                "campaign.name",
                format!("`{name}` must be 1 to 64 letters, digits, `-` or `_`"),
            ));
        }
        if self.shop_name.trim().is_empty() || self.shop_name.chars().any(char::is_control) {
            return Err(ConfigError::key(
                "campaign.shop_name",
                "must be a non-empty name on one line",
            ));
        }
        Ok(())
    }

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
