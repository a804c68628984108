//! Winner mails through a real SMTP server on loopback: STARTTLS, implicit TLS, plain,
//! authentication, and a server that is down.

use std::path::PathBuf;
use std::time::Duration;

use cloudhp_core::{Customer, CustomerId, Prize, WinnerNotice};
use cloudhp_mail::{MailError, MailSettings, TransportOptions, transport_from_url, winner_mail};
use cloudhp_testkit::{SmtpMode, SmtpServer, require};

fn notice(id: u32) -> WinnerNotice {
    WinnerNotice {
        customer: Customer {
            id: CustomerId::new(id).unwrap(),
            firstname: "Łukasz".into(),
            lastname: "O'Brien".into(),
            email: format!("customer{id}@example.com"),
            language: None,
        },
        prize: Prize::parse("usb-key.jpg").unwrap(),
        prize_name: None,
        requested_at: time::macros::datetime!(2026-11-25 10:00:00 UTC),
        played_at: time::macros::datetime!(2026-11-25 10:00:05 UTC),
    }
}

fn settings() -> MailSettings {
    MailSettings::parse(
        "Lottery <lottery@shop.example>",
        &["admin@shop.example".into(), "ops@shop.example".into()],
    )
    .unwrap()
}

fn options() -> TransportOptions {
    TransportOptions {
        tls_ca_file: Some(PathBuf::from(require("CLOUDHP_TEST_TLS_CERT"))),
        timeout: Duration::from_secs(5),
    }
}

async fn send_one(url: &str, server: &SmtpServer) {
    let transport = transport_from_url(url, &options()).unwrap();
    transport.ready().await.unwrap();
    let mail = winner_mail(&settings(), 41, &notice(42)).unwrap();
    transport.send(&mail).await.unwrap();
    let messages = server.messages();
    assert_eq!(messages.len(), 1);
    let text = &messages[0];
    assert!(
        text.contains("Message-ID: <winner-42-41@shop.example>"),
        "{text}"
    );
    assert!(text.contains("Customer id: 42"), "{text}");
    assert!(text.contains("customer42@example.com"), "{text}");
    assert!(
        text.contains("To: admin@shop.example, ops@shop.example"),
        "{text}"
    );
}

#[tokio::test]
async fn starttls_with_authentication() {
    let server = SmtpServer::start(SmtpMode::StartTls, Some(("relay-user", "s3cret:pass")));
    let url = format!("smtp://relay-user:s3cret%3Apass@localhost:{}", server.port);
    send_one(&url, &server).await;
}

#[tokio::test]
async fn implicit_tls_with_authentication() {
    let server = SmtpServer::start(SmtpMode::Smtps, Some(("relay-user", "pw")));
    let url = format!("smtps://relay-user:pw@localhost:{}", server.port);
    send_one(&url, &server).await;
}

#[tokio::test]
async fn plain_smtp_to_a_local_relay() {
    let server = SmtpServer::start(SmtpMode::Plain, None);
    let url = format!("smtp://127.0.0.1:{}?tls=none", server.port);
    send_one(&url, &server).await;
}

#[tokio::test]
async fn starttls_is_required_by_default() {
    // A relay without STARTTLS: the default refuses to send credentials and mail in clear.
    let server = SmtpServer::start(SmtpMode::Plain, None);
    let url = format!("smtp://127.0.0.1:{}", server.port);
    let transport = transport_from_url(&url, &options()).unwrap();
    let mail = winner_mail(&settings(), 1, &notice(1)).unwrap();
    assert!(matches!(
        transport.send(&mail).await,
        Err(MailError::Smtp(_))
    ));
    assert!(server.messages().is_empty());
}

#[tokio::test]
async fn wrong_credentials_are_refused() {
    let server = SmtpServer::start(SmtpMode::StartTls, Some(("relay-user", "right")));
    let url = format!("smtp://relay-user:wrong@localhost:{}", server.port);
    let transport = transport_from_url(&url, &options()).unwrap();
    let mail = winner_mail(&settings(), 1, &notice(1)).unwrap();
    let err = transport.send(&mail).await.unwrap_err();
    assert!(matches!(err, MailError::Smtp(_)), "{err:?}");
    assert!(server.messages().is_empty());
}

#[tokio::test]
async fn a_server_that_is_down_is_an_error_and_works_again_when_back() {
    let mut server = SmtpServer::start(SmtpMode::StartTls, None);
    let url = format!("smtp://localhost:{}", server.port);
    let transport = transport_from_url(&url, &options()).unwrap();
    let mail = winner_mail(&settings(), 5, &notice(5)).unwrap();
    server.stop();
    assert!(transport.send(&mail).await.is_err());
    assert!(transport.ready().await.is_err());
    server.restart();
    transport.send(&mail).await.unwrap();
    assert_eq!(server.messages().len(), 1);
}
