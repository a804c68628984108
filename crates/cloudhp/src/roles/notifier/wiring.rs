//! The notifier role: mails the winners, read from the event bus or the outbox.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use cloudhp_core::{Role, RoleSet};

use super::{Notifier, NotifierSettings};
use crate::backends::{events, lottery_db};
use crate::config::Config;
use crate::telemetry::chain;
use crate::wiring::{Wakes, Wiring};

/// Starts the notifier when it runs here. Returns the mail spool folder, when mail goes to
/// a spool.
pub async fn start(
    w: &mut Wiring,
    config: &Config,
    roles: &RoleSet,
    wakes: &Wakes,
) -> anyhow::Result<Option<PathBuf>> {
    if !roles.contains(Role::Notifier) {
        return Ok(None);
    }
    let mut mail_spool = None;
    let mail_url = config.mail_url();
    let options = cloudhp_mail::TransportOptions {
        tls_ca_file: (!config.mail.tls_ca_file.as_os_str().is_empty())
            .then(|| config.mail.tls_ca_file.clone()),
        timeout: config.mail.timeout,
    };
    let transport = cloudhp_mail::transport_from_url(&mail_url, &options)
        .context("cannot open the mail transport (mail.url)")?;
    if let Some(path) = mail_url.strip_prefix("file://") {
        mail_spool = Some(PathBuf::from(path));
    }
    let settings = cloudhp_mail::MailSettings::parse(&config.mail.from, &config.mail.admins)?;
    let lottery = lottery_db::shared(w, config).await?;
    let n = &config.notifier;
    let notifier = Arc::new(Notifier::new(
        lottery,
        transport,
        settings,
        NotifierSettings {
            poll_interval: n.poll_interval,
            batch: n.batch,
            lease: n.lease,
            retry_min: n.retry_min,
            retry_max: n.retry_max,
            send_timeout: config.mail.timeout,
        },
        wakes.notifier.clone(),
    ));
    let probe = notifier.clone();
    w.ready("mail", move || {
        let n = probe.clone();
        async move { n.transport().ready().await.map_err(|e| chain(&e)) }
    });
    let stop = w.cancel.clone();
    let source = events::shared(w, config);
    w.task(
        "notifier",
        async move { notifier.run_until(source, stop).await },
    );
    Ok(mail_spool)
}
