//! The notifier role: mails the winners, read from the event bus or the outbox.

use std::path::PathBuf;
use std::sync::Arc;

use cloudhp_core::Role;

use super::{Notifier, NotifierSettings};
use crate::backends::{events, lottery_db, mail};
use crate::config::Config;
use crate::wiring::{Wakes, Wiring};

/// Starts the notifier when it runs here. Returns the mail spool folder, when mail goes to
/// a spool.
pub async fn start(
    w: &mut Wiring,
    config: &Config,
    wakes: &Wakes,
) -> anyhow::Result<Option<PathBuf>> {
    if !w.runs(Role::Notifier) {
        return Ok(None);
    }
    let (transport, mail_spool) = mail::open(w, config)?;
    let settings = mail::settings(config)?;
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
    let stop = w.cancel.clone();
    let source = events::shared(w, config);
    w.task(
        "notifier",
        async move { notifier.run_until(source, stop).await },
    );
    Ok(mail_spool)
}
