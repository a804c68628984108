//! Winner notifications: the message sent to the admins, and the transports that carry it.
//!
//! Every notification has a stable Message-ID derived from its outbox entry, so a message
//! delivered twice (the notifier delivers at least once) is recognisable as the same one, and
//! the spool transport simply rewrites the same file.

mod smtp;
mod spool;

use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use cloudhp_core::WinnerNotice;
use cloudhp_i18n::Lang;
use lettre::Message;
use lettre::message::SinglePart;
use time::format_description::well_known::Rfc3339;

pub use lettre::Address;
pub use lettre::message::Mailbox;
pub use smtp::SmtpTransport;
pub use spool::SpoolTransport;

/// How building or sending a mail failed.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("invalid mail address `{address}` in {key}")]
    Address {
        key: &'static str,
        address: String,
        #[source]
        source: lettre::address::AddressError,
    },
    #[error("no admin recipient is configured (mail.admins)")]
    NoRecipients,
    #[error("cannot build the message")]
    Build(#[from] lettre::error::Error),
    #[error("cannot write to the mail spool {path}")]
    Spool {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "unsupported mail URL scheme `{0}`: use file:///path/to/spool, \
         smtp://[USER:PASSWORD@]HOST[:PORT] or smtps://[USER:PASSWORD@]HOST[:PORT]"
    )]
    Scheme(String),
    #[error("invalid mail transport: {0}")]
    Url(String),
    #[error("the mail server refused the message or could not be reached")]
    Smtp(#[source] lettre::transport::smtp::Error),
    #[error("the mail transport did not answer within {after:?}")]
    Timeout { after: Duration },
    #[error("{0} does not take mail now")]
    Unready(String),
}

impl MailError {
    /// True when the server refused for good (an SMTP 5xx reply): the same mail would be
    /// refused again.
    pub fn is_permanent(&self) -> bool {
        matches!(self, Self::Smtp(e) if e.is_permanent())
    }

    /// The SMTP reply code of a refusal (`550`, `451`), when the server answered one.
    pub fn smtp_code(&self) -> Option<String> {
        match self {
            Self::Smtp(e) => e.status().map(|code| code.to_string()),
            _ => None,
        }
    }
}

/// Who sends winner mails to whom.
#[derive(Clone, Debug)]
pub struct MailSettings {
    pub from: Mailbox,
    pub admins: Vec<Mailbox>,
    /// The language of the winner mails (the admins').
    pub language: Lang,
    /// Right-hand side of the Message-IDs (`<…@domain>`).
    pub message_id_domain: String,
}

impl MailSettings {
    /// Parses the configured addresses; names the key of a bad one.
    pub fn parse(from: &str, admins: &[String]) -> Result<Self, MailError> {
        let from: Mailbox = from.parse().map_err(|source| MailError::Address {
            key: "mail.from",
            address: from.to_owned(),
            source,
        })?;
        let admins = admins
            .iter()
            .map(|a| {
                a.parse().map_err(|source| MailError::Address {
                    key: "mail.admins",
                    address: a.clone(),
                    source,
                })
            })
            .collect::<Result<Vec<Mailbox>, _>>()?;
        if admins.is_empty() {
            return Err(MailError::NoRecipients);
        }
        let message_id_domain = from.email.domain().to_owned();
        Ok(Self {
            from,
            admins,
            language: Lang::english(),
            message_id_domain,
        })
    }

    /// The same settings, the winner mails in `language`.
    pub fn in_language(mut self, language: Lang) -> Self {
        self.language = language;
        self
    }
}

/// A message ready to go, with the identity that makes redeliveries recognisable.
#[derive(Clone, Debug)]
pub struct OutgoingMail {
    /// `<…@…>`, the same for every delivery of one notification.
    pub message_id: String,
    /// A file-name-safe form of the identity (the spool's file name).
    pub key: String,
    pub message: Message,
}

impl OutgoingMail {
    /// The RFC 5322 bytes of the message.
    pub fn formatted(&self) -> Vec<u8> {
        self.message.formatted()
    }
}

/// A customer's field made safe for a mail: every control character (`\r`, `\n`, `\t`, the
/// other C0 and C1 codes) and the Unicode line and paragraph separators become a space. The
/// fields come from the shop's table, written by anyone who could register: a name holding
/// `\r\nBcc: …` must stay one line of text, not start a header or a line of its own.
pub fn one_line(field: &str) -> String {
    field
        .chars()
        .map(|c| {
            if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') {
                ' '
            } else {
                c
            }
        })
        .collect()
}

/// The mail to the admins for one winner (outbox entry `outbox_id`). The customer's fields and
/// the prize's name are passed through [`one_line`].
pub fn winner_mail(
    settings: &MailSettings,
    outbox_id: i64,
    notice: &WinnerNotice,
) -> Result<OutgoingMail, MailError> {
    let c = &notice.customer;
    let (first, last, email) = (
        one_line(&c.firstname),
        one_line(&c.lastname),
        one_line(&c.email),
    );
    // W names the prize (a file name without control characters), the catalog may name it
    // too: either may still hold a Unicode line separator.
    let (prize, file) = (
        one_line(&notice.prize_label()),
        one_line(notice.prize.file()),
    );
    let key = format!("winner-{}-{}", c.id, outbox_id);
    let message_id = format!("<{key}@{}>", settings.message_id_domain);
    let played = notice
        .played_at
        .format(&Rfc3339)
        .unwrap_or_else(|_| notice.played_at.to_string());
    let requested = notice
        .requested_at
        .format(&Rfc3339)
        .unwrap_or_else(|_| notice.requested_at.to_string());
    let lang = settings.language;
    let id = c.id.to_string();
    let name = format!("{first} {last}");
    let prize_line = format!("{prize} ({file})");
    let fields = [
        ("winner-customer-id", id.as_str()),
        ("winner-name", name.as_str()),
        ("winner-email", email.as_str()),
        ("winner-prize", prize_line.as_str()),
        ("winner-played", played.as_str()),
        ("winner-requested", requested.as_str()),
    ];
    let labels: Vec<String> = fields
        .iter()
        .map(|(label, _)| format!("{}:", lang.t(label)))
        .collect();
    let width = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    let mut body = format!("{}\n\n", lang.t("winner-intro"));
    for (label, (_, value)) in labels.iter().zip(fields) {
        let pad = width - label.chars().count();
        body.push_str(&format!("{label}{} {value}\n", " ".repeat(pad)));
    }
    body.push('\n');
    body.push_str(&lang.t_with(
        "winner-footer",
        &[("message_id", message_id.clone().into())],
    ));
    body.push('\n');
    let subject = lang.t_with(
        "winner-subject",
        &[
            ("name", name.clone().into()),
            ("id", id.clone().into()),
            ("prize", prize.clone().into()),
        ],
    );
    let mut builder = Message::builder()
        .from(settings.from.clone())
        .subject(subject)
        .message_id(Some(message_id.clone()))
        .date(notice.played_at.into());
    for admin in &settings.admins {
        builder = builder.to(admin.clone());
    }
    let message = builder.singlepart(SinglePart::plain(body))?;
    Ok(OutgoingMail {
        message_id,
        key,
        message,
    })
}

/// A mail to one customer (the campaign mailing). `key` names it for good (`campaign-…`): it
/// is the spool's file name and, with the sender's domain, the Message-ID, so that a resent
/// mail is recognisably the same one. The subject is passed through [`one_line`].
pub fn customer_mail(
    from: &Mailbox,
    to: Mailbox,
    key: String,
    subject: &str,
    body: String,
) -> Result<OutgoingMail, MailError> {
    let message_id = format!("<{key}@{}>", from.email.domain());
    let message = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(one_line(subject))
        .message_id(Some(message_id.clone()))
        .singlepart(SinglePart::plain(body))?;
    Ok(OutgoingMail {
        message_id,
        key,
        message,
    })
}

/// Something that carries mail to the admins.
#[async_trait]
pub trait Transport: Send + Sync + 'static {
    /// Hands the message over. `Ok` means the transport took responsibility for it.
    async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError>;

    /// Whether the transport can take mail now.
    async fn ready(&self) -> Result<(), MailError>;

    /// A description for logs, without secrets.
    fn describe(&self) -> String;
}

/// Hands `mail` to `transport`, giving up after `timeout` ([`MailError::Timeout`]): the hard
/// bound of one send, whatever the transport's own timeouts.
pub async fn send_within(
    transport: &dyn Transport,
    mail: &OutgoingMail,
    timeout: Duration,
) -> Result<(), MailError> {
    tokio::time::timeout(timeout, transport.send(mail))
        .await
        .unwrap_or(Err(MailError::Timeout { after: timeout }))
}

/// Settings of a transport besides its URL.
#[derive(Clone, Debug)]
pub struct TransportOptions {
    /// A PEM certificate to trust for SMTP over TLS, besides the usual roots.
    pub tls_ca_file: Option<PathBuf>,
    /// Upper bound of one SMTP exchange.
    pub timeout: Duration,
}

impl Default for TransportOptions {
    fn default() -> Self {
        Self {
            tls_ca_file: None,
            timeout: Duration::from_secs(10),
        }
    }
}

/// Builds the transport for a mail URL: `file:///path` (or a bare path) is a spool folder,
/// `smtp://` and `smtps://` an SMTP relay.
pub fn transport_from_url(
    url: &str,
    options: &TransportOptions,
) -> Result<Box<dyn Transport>, MailError> {
    if let Some(path) = url.strip_prefix("file://") {
        return Ok(Box::new(SpoolTransport::new(path)));
    }
    if url.starts_with("smtp://") || url.starts_with("smtps://") {
        return Ok(Box::new(SmtpTransport::from_url(
            url,
            options.tls_ca_file.as_deref(),
            options.timeout,
        )?));
    }
    if !url.contains("://") && !url.is_empty() {
        return Ok(Box::new(SpoolTransport::new(url)));
    }
    let scheme = url.split("://").next().unwrap_or(url);
    Err(MailError::Scheme(scheme.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloudhp_core::{Customer, CustomerId, Prize};

    pub(crate) fn notice() -> WinnerNotice {
        WinnerNotice {
            customer: Customer {
                id: CustomerId::new(42).unwrap(),
                firstname: "Zoé".into(),
                lastname: "O'Brien".into(),
                email: "zoe@example.com".into(),
                language: None,
            },
            prize: Prize::parse("usb-key.jpg").unwrap(),
            prize_name: None,
            requested_at: time::macros::datetime!(2026-11-25 10:00:00 UTC),
            played_at: time::macros::datetime!(2026-11-25 10:00:05 UTC),
        }
    }

    pub(crate) fn settings() -> MailSettings {
        MailSettings::parse(
            "CloudHP <lottery@shop.example>",
            &["admin@shop.example".into(), "Ops <ops@shop.example>".into()],
        )
        .unwrap()
    }

    #[test]
    fn winner_mail_names_everything_the_admins_need() {
        let mail = winner_mail(&settings(), 7, &notice()).unwrap();
        assert_eq!(mail.message_id, "<winner-42-7@shop.example>");
        let text = String::from_utf8(mail.formatted()).unwrap();
        assert!(
            text.contains("Message-ID: <winner-42-7@shop.example>"),
            "{text}"
        );
        assert!(
            text.contains("To: admin@shop.example, Ops <ops@shop.example>"),
            "{text}"
        );
        assert!(text.contains("From: CloudHP <lottery@shop.example>"));
        assert!(text.contains("MIME-Version: 1.0"));
        assert!(text.contains("Content-Type: text/plain; charset=utf-8"));
        assert!(text.contains("Customer id: 42"));
        assert!(text.contains("zoe@example.com"));
        assert!(text.contains("Usb key (usb-key.jpg)"));
        assert!(text.contains("2026-11-25T10:00:05Z"));
        // The same notification always gives the same identity.
        let again = winner_mail(&settings(), 7, &notice()).unwrap();
        assert_eq!(again.message_id, mail.message_id);
        assert_eq!(again.key, mail.key);
    }

    /// The text of a quoted-printable body (soft line breaks joined, `=XX` decoded).
    fn quoted_printable(text: &str) -> String {
        let joined = text.replace("=\r\n", "");
        let bytes = joined.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            match (bytes[i], hex) {
                (b'=', Some(byte)) => {
                    out.push(byte);
                    i += 3;
                }
                (byte, _) => {
                    out.push(byte);
                    i += 1;
                }
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn winner_mail_speaks_the_admins_language() {
        let french = settings().in_language(Lang::parse("fr").unwrap());
        let mail = winner_mail(&french, 7, &notice()).unwrap();
        let text = quoted_printable(&String::from_utf8(mail.formatted()).unwrap());
        assert!(text.contains("Un client a gagné un lot"), "{text}");
        assert!(text.contains("N° client:  42"), "{text}");
        assert!(text.contains("Lot:        Usb key (usb-key.jpg)"), "{text}");
        // The English mail keeps its aligned labels.
        let english = winner_mail(&settings(), 7, &notice()).unwrap();
        let text = String::from_utf8(english.formatted()).unwrap();
        assert!(
            text.contains("Prize:       Usb key (usb-key.jpg)"),
            "{text}"
        );
        assert!(text.contains("Subject: Winner: "), "{text}");
    }

    #[test]
    fn winner_mail_names_the_prize_as_the_catalog_does() {
        let mut named = notice();
        named.prize_name = Some("USB key 32 GB".into());
        let text =
            String::from_utf8(winner_mail(&settings(), 7, &named).unwrap().formatted()).unwrap();
        assert!(text.contains("USB key 32 GB (usb-key.jpg)"), "{text}");
    }

    #[test]
    fn bad_addresses_name_their_key() {
        let err = MailSettings::parse("not an address", &["a@b.c".into()]).unwrap_err();
        assert!(err.to_string().contains("mail.from"));
        let err = MailSettings::parse("a@b.c", &["x@y.z".into(), "@@".into()]).unwrap_err();
        assert!(err.to_string().contains("mail.admins"));
        assert!(matches!(
            MailSettings::parse("a@b.c", &[]),
            Err(MailError::NoRecipients)
        ));
    }

    #[test]
    fn control_characters_in_customer_fields_cannot_forge_lines() {
        let mut notice = notice();
        notice.customer.firstname = "Eve\u{2028}To: a@evil.example\tX".into();
        notice.customer.lastname = "Doe\r\nBcc: x@evil.example".into();
        notice.customer.email = "eve@example.com\nCc: y@evil.example\u{85}\u{2029}Z".into();
        notice.prize = Prize::parse("usb\u{2028}Bcc: z@evil.example.jpg").unwrap();
        let mail = winner_mail(&settings(), 7, &notice).unwrap();
        let text = String::from_utf8(mail.formatted()).unwrap();
        for line in text.split(['\r', '\n']) {
            for forged in ["Bcc:", "Cc:", "To: a@evil"] {
                assert!(
                    !line.starts_with(forged),
                    "forged line {line:?} in:\n{text}"
                );
            }
        }
        assert!(
            text.contains("Name:        Eve To: a@evil.example X Doe  Bcc: x@evil.example\r\n"),
            "{text}"
        );
        assert!(
            text.contains("E-mail:      eve@example.com Cc: y@evil.example  Z\r\n"),
            "{text}"
        );
        assert!(
            text.contains("Prize:       Usb Bcc: z@evil.example (usb Bcc: z@evil.example.jpg)\r\n"),
            "{text}"
        );
        // The subject is one header, whatever its encoding.
        let subject: Vec<&str> = text.lines().filter(|l| l.starts_with("Subject:")).collect();
        assert_eq!(subject.len(), 1, "{text}");
        assert_eq!(one_line("a\u{0}b\u{7f}c\u{9b}d"), "a b c d");
        assert_eq!(one_line("Zoé O'Brien"), "Zoé O'Brien");
    }

    /// A transport that takes every message, or never answers.
    struct Fake {
        hangs: bool,
    }

    #[async_trait]
    impl Transport for Fake {
        async fn send(&self, _: &OutgoingMail) -> Result<(), MailError> {
            if self.hangs {
                std::future::pending::<()>().await;
            }
            Ok(())
        }
        async fn ready(&self) -> Result<(), MailError> {
            Ok(())
        }
        fn describe(&self) -> String {
            "fake".into()
        }
    }

    #[tokio::test]
    async fn a_send_without_answer_is_a_timeout_not_a_url_error() {
        let mail = winner_mail(&settings(), 7, &notice()).unwrap();
        // A zero bound: the send is polled once, then given up, without any waiting.
        let err = send_within(&Fake { hangs: true }, &mail, Duration::ZERO)
            .await
            .unwrap_err();
        assert!(
            matches!(err, MailError::Timeout { after } if after == Duration::ZERO),
            "{err:?}"
        );
        assert!(err.to_string().contains("did not answer"), "{err}");
        // A transport that answers is not cut.
        send_within(&Fake { hangs: false }, &mail, Duration::ZERO)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn urls_select_transports() {
        let o = TransportOptions::default();
        assert!(transport_from_url("file:///tmp/spool", &o).is_ok());
        assert!(transport_from_url("/tmp/spool", &o).is_ok());
        assert!(transport_from_url("smtp://relay.example", &o).is_ok());
        assert!(transport_from_url("smtps://u:p@relay.example:2465", &o).is_ok());
        assert!(matches!(
            transport_from_url("carrier-pigeon://x", &o),
            Err(MailError::Scheme(s)) if s == "carrier-pigeon"
        ));
    }
}
