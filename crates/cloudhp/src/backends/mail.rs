//! The mail transport of the winners' mails: a spool folder or an SMTP relay. The notifier
//! role sends through it.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use cloudhp_core::{Role, RoleSet};
use cloudhp_i18n::Lang;
use cloudhp_mail::{MailSettings, Transport, TransportOptions};

use super::check_scheme;
use crate::config::{Config, ConfigError, positive};
use crate::http::{Check, check};
use crate::telemetry::chain;
use crate::wiring::Wiring;

/// The URL schemes of `mail.url`.
pub const SCHEMES: &[&str] = &["file", "smtp", "smtps"];

/// Whether a role of `roles` mails.
pub fn used(_config: &Config, roles: &RoleSet) -> bool {
    roles.contains(Role::Notifier)
}

/// Checks `[mail]`.
pub fn validate(config: &Config) -> Result<(), ConfigError> {
    let m = &config.mail;
    settings(config).map_err(|e| {
        let key = match e {
            cloudhp_mail::MailError::Address { key, .. } => key,
            _ => "mail.admins",
        };
        ConfigError::key(key, e.to_string())
    })?;
    positive("mail.timeout", m.timeout)?;
    if Lang::parse(&m.language).is_none() {
        let have: Vec<&str> = Lang::all().iter().map(|l| l.code()).collect();
        return Err(ConfigError::key(
            "mail.language",
            format!(
                "`{}` is not a language of the mails; use one of: {}",
                m.language,
                have.join(", ")
            ),
        ));
    }
    check_scheme(
        "mail.url",
        &config.mail_url(),
        &m.url.masked(),
        SCHEMES,
        "file:///PATH (a spool), smtp://[USER:PASSWORD@]HOST[:PORT] or \
         smtps://[USER:PASSWORD@]HOST[:PORT]",
    )?;
    if !m.tls_ca_file.as_os_str().is_empty() && !m.tls_ca_file.is_file() {
        return Err(ConfigError::key(
            "mail.tls_ca_file",
            format!("{} is not a readable file", m.tls_ca_file.display()),
        ));
    }
    Ok(())
}

/// Who sends the winners' mails to whom.
pub fn settings(config: &Config) -> Result<MailSettings, cloudhp_mail::MailError> {
    // `mail.language` is checked with the other keys of `[mail]`.
    let language = cloudhp_i18n::Lang::parse(&config.mail.language).unwrap_or(Lang::english());
    Ok(MailSettings::parse(&config.mail.from, &config.mail.admins)?.in_language(language))
}

/// The transport of `mail.url`, its check on `/readyz`; and the spool folder, when mail goes
/// to one.
pub fn open(
    w: &mut Wiring,
    config: &Config,
) -> anyhow::Result<(Arc<dyn Transport>, Option<PathBuf>)> {
    let url = config.mail_url();
    let options = TransportOptions {
        tls_ca_file: (!config.mail.tls_ca_file.as_os_str().is_empty())
            .then(|| config.mail.tls_ca_file.clone()),
        timeout: config.mail.timeout,
    };
    let transport: Arc<dyn Transport> = cloudhp_mail::transport_from_url(&url, &options)
        .context("cannot open the mail transport (mail.url)")?
        .into();
    let spool = url.strip_prefix("file://").map(PathBuf::from);
    w.ready("mail", readiness(&transport));
    Ok((transport, spool))
}

/// Whether the transport can take mail now.
pub fn readiness(transport: &Arc<dyn Transport>) -> Check {
    check(transport.clone(), |transport| async move {
        transport.ready().await.map_err(|e| chain(&e))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The schemes accepted here are those the mail transports open, and only those.
    #[tokio::test]
    async fn schemes_are_those_of_the_mail_transports() {
        let dir = tempfile::tempdir().unwrap();
        let options = TransportOptions::default();
        let opened = |url: &str| {
            !matches!(
                cloudhp_mail::transport_from_url(url, &options),
                Err(cloudhp_mail::MailError::Scheme(_))
            )
        };
        for scheme in SCHEMES {
            let url = if *scheme == "file" {
                format!("file://{}", dir.path().display())
            } else {
                format!("{scheme}://localhost:2525")
            };
            assert!(opened(&url), "{url}");
        }
        assert!(!opened("ftp://example.com/x"));
    }
}
