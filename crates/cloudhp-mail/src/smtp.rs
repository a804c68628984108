//! Mail through an SMTP relay (Mailgun, SES, SendGrid, a company relay, a local MTA).
//!
//! `smtp://[USER:PASSWORD@]HOST[:PORT][?tls=required|opportunistic|none]` talks plain SMTP and
//! upgrades with STARTTLS (required by default; port 587 by default);
//! `smtps://[USER:PASSWORD@]HOST[:PORT]` uses TLS from the first byte (port 465 by default).
//! Credentials in the URL are percent-decoded.

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use percent_encoding::percent_decode_str;

use crate::{MailError, OutgoingMail, Transport};

pub struct SmtpTransport {
    inner: AsyncSmtpTransport<Tokio1Executor>,
    description: String,
}

fn decode(text: &str) -> String {
    percent_decode_str(text).decode_utf8_lossy().into_owned()
}

impl SmtpTransport {
    /// Builds the transport of an `smtp://` or `smtps://` URL. `ca_file`: a PEM certificate to
    /// trust besides the usual roots (a company CA, a test server).
    pub fn from_url(
        raw: &str,
        ca_file: Option<&Path>,
        timeout: Duration,
    ) -> Result<Self, MailError> {
        let bad = |why: &str| MailError::Url(format!("{why} (mail.url)"));
        let url = url::Url::parse(raw).map_err(|e| bad(&format!("not a URL: {e}")))?;
        let implicit_tls = match url.scheme() {
            "smtp" => false,
            "smtps" => true,
            _ => return Err(MailError::Scheme(url.scheme().to_owned())),
        };
        let host = url
            .host_str()
            .ok_or_else(|| bad("the URL names no host"))?
            .to_owned();
        let port = url.port().unwrap_or(if implicit_tls { 465 } else { 587 });
        let mode = url
            .query_pairs()
            .find(|(k, _)| k == "tls")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_else(|| "required".to_owned());

        let mut params = TlsParameters::builder(host.clone());
        if let Some(path) = ca_file {
            let pem = std::fs::read(path).map_err(|e| {
                MailError::Url(format!(
                    "cannot read mail.tls_ca_file {}: {e}",
                    path.display()
                ))
            })?;
            let cert = Certificate::from_pem(&pem).map_err(|e| {
                MailError::Url(format!(
                    "mail.tls_ca_file {} is not a PEM certificate: {e}",
                    path.display()
                ))
            })?;
            params = params.add_root_certificate(cert);
        }
        let params = params
            .build_rustls()
            .map_err(|e| MailError::Url(format!("cannot set up TLS: {e}")))?;
        let tls = match (implicit_tls, mode.as_str()) {
            (true, _) => Tls::Wrapper(params),
            (false, "required") => Tls::Required(params),
            (false, "opportunistic") => Tls::Opportunistic(params),
            (false, "none") => Tls::None,
            (false, other) => {
                return Err(bad(&format!(
                    "tls={other}: use required, opportunistic or none"
                )));
            }
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&host)
            .port(port)
            .tls(tls)
            .timeout(Some(timeout));
        let user = decode(url.username());
        if !user.is_empty() {
            let password = decode(url.password().unwrap_or(""));
            builder = builder.credentials(Credentials::new(user, password));
        }
        let security = match (implicit_tls, mode.as_str()) {
            (true, _) => "TLS",
            (false, "required") => "STARTTLS",
            (false, "opportunistic") => "STARTTLS if offered",
            _ => "no TLS",
        };
        Ok(Self {
            inner: builder.build(),
            description: format!("SMTP relay {host}:{port} ({security})"),
        })
    }
}

#[async_trait]
impl Transport for SmtpTransport {
    async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        self.inner
            .send(mail.message.clone())
            .await
            .map(|_| ())
            .map_err(MailError::Smtp)
    }

    async fn ready(&self) -> Result<(), MailError> {
        match self.inner.test_connection().await {
            Ok(true) => Ok(()),
            Ok(false) => Err(MailError::Unready(self.description.clone())),
            Err(e) => Err(MailError::Smtp(e)),
        }
    }

    fn describe(&self) -> String {
        self.description.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(url: &str) -> Result<SmtpTransport, MailError> {
        SmtpTransport::from_url(url, None, Duration::from_secs(5))
    }

    // The SMTP pool needs a runtime, even to be built and dropped.
    #[tokio::test]
    async fn urls_give_the_expected_security() {
        assert_eq!(
            build("smtp://user:p%40ss@relay.example")
                .unwrap()
                .describe(),
            "SMTP relay relay.example:587 (STARTTLS)"
        );
        assert_eq!(
            build("smtps://relay.example").unwrap().describe(),
            "SMTP relay relay.example:465 (TLS)"
        );
        assert_eq!(
            build("smtp://localhost:25?tls=none").unwrap().describe(),
            "SMTP relay localhost:25 (no TLS)"
        );
        assert!(build("smtp://relay.example?tls=maybe").is_err());
        assert!(build("smtp:///nohost").is_err());
        let missing = SmtpTransport::from_url(
            "smtp://relay.example",
            Some(Path::new("/nonexistent/ca.pem")),
            Duration::from_secs(1),
        );
        assert!(matches!(missing, Err(MailError::Url(m)) if m.contains("tls_ca_file")));
    }

    #[test]
    fn passwords_are_percent_decoded() {
        assert_eq!(decode("p%40ss%3Aword"), "p@ss:word");
    }
}
