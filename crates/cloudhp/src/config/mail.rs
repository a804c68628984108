//! `[mail]`: how the notifier sends its mails, and to whom.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{SecretUrl, string_list};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailConfig {
    /// Mail transport; empty: a spool folder `<data_dir>/mail` of `.eml` files.
    pub url: SecretUrl,
    pub from: String,
    #[serde(deserialize_with = "string_list")]
    pub admins: Vec<String>,
    /// A PEM certificate to trust for SMTP over TLS besides the system's roots (a company
    /// CA); empty: none.
    pub tls_ca_file: PathBuf,
    /// Upper bound of one send, enforced as a whole; `notifier.lease` and `events.ack_wait`
    /// must be longer.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// The language of the winner mails to the admins (`en`, `fr`).
    pub language: String,
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            url: SecretUrl::default(),
            from: "CloudHP lottery <lottery@localhost>".into(),
            admins: vec!["admin@localhost".into()],
            tls_ca_file: PathBuf::new(),
            timeout: Duration::from_secs(10),
            language: "en".into(),
        }
    }
}
