//! The admin area, in process: off without a password hash; every page behind a session; the
//! login's CSRF token, lock-out and cookie; the pages (overview with its chart, winners searched
//! and paged) and the CSV export, over a lottery database filled beside the app.

use std::time::Duration;

use cloudhp_core::{Customer, CustomerId, Prize};
use cloudhp_store::{Claim, MailingState};
use reqwest::StatusCode;
use time::OffsetDateTime;

use crate::support::{Sandbox, Site, TestApp, assert_says, client};

const PASSWORD: &str = "correct horse battery";

/// A form post, as a browser sends it.
trait FormPost {
    fn form(self, pairs: &[(&str, &str)]) -> Self;
}

impl FormPost for reqwest::RequestBuilder {
    fn form(self, pairs: &[(&str, &str)]) -> Self {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        self.header("content-type", "application/x-www-form-urlencoded")
            .body(body)
    }
}

/// The admin configuration: a hash of [`PASSWORD`], three tries, the test process trusted as
/// a proxy (so that each test's client picks its address with X-Forwarded-For).
fn admin_config() -> String {
    let hash = cloudhp::roles::web::admin::hash_password(PASSWORD).unwrap();
    format!(
        "[admin]\npassword_hash = \"{hash}\"\nmax_failures = 3\n\n\
         [server]\ntrusted_proxies = [\"127.0.0.1/32\"]\n"
    )
}

/// The value of the hidden CSRF field of a page.
fn csrf_of(page: &str) -> String {
    let start = page.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    page[start..].split('"').next().unwrap().to_owned()
}

/// The `name=value` of a Set-Cookie of `response`, and the whole header.
fn set_cookie(response: &reqwest::Response, name: &str) -> Option<(String, String)> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| (v.split(';').next().unwrap().to_owned(), v.to_owned()))
}

/// A browser's visit of the login form from `address`: its login cookie and CSRF token.
async fn login_form(app: &TestApp, address: &str) -> (String, String) {
    let response = client()
        .get(app.url("/admin/login"))
        .header("x-forwarded-for", address)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (cookie, _) = set_cookie(&response, "cloudhp_admin_login").expect("a login cookie");
    (cookie, csrf_of(&response.text().await.unwrap()))
}

async fn post_login(
    app: &TestApp,
    address: &str,
    cookie: Option<&str>,
    form: &[(&str, &str)],
) -> reqwest::Response {
    let mut request = client()
        .post(app.url("/admin/login"))
        .header("x-forwarded-for", address)
        .form(form);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    request.send().await.unwrap()
}

/// Logs in from `address`; the session cookie (`name=value`).
async fn log_in(app: &TestApp, address: &str) -> String {
    let (cookie, csrf) = login_form(app, address).await;
    let response = post_login(
        app,
        address,
        Some(&cookie),
        &[("csrf", &csrf), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/admin");
    set_cookie(&response, "cloudhp_admin").expect("a session").0
}

async fn get(app: &TestApp, path: &str, cookie: Option<&str>) -> reqwest::Response {
    let mut request = client().get(app.url(path));
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    request.send().await.unwrap()
}

/// The text of the page at `path`, with the session `cookie` if any.
async fn text_of(app: &TestApp, path: &str, cookie: Option<&str>) -> String {
    get(app, path, cookie).await.text().await.unwrap()
}

/// The routes of the admin area, and paths under it that are none.
const PAGES: [&str; 7] = [
    "/admin",
    "/admin/winners",
    "/admin/winners?q=x&page=2",
    "/admin/winners.csv",
    "/admin/pictures/1.jpg",
    "/admin/nothing-here",
    "/admin/login/../winners.csv",
];

#[tokio::test]
async fn the_admin_area_is_off_without_a_password_hash() {
    let sandbox = Sandbox::new("");
    let app = sandbox.app().spawn().await;
    for path in PAGES.iter().chain(&["/admin/login"]) {
        let response = get(&app, path, None).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let response = client()
        .post(app.url("/admin/login"))
        .form(&[("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn nothing_of_the_admin_area_is_reachable_without_a_session() {
    let sandbox = Sandbox::new(&admin_config());
    let app = sandbox.app().spawn().await;
    let forged = "cloudhp_admin=99999999999.0123456789abcdef0123456789abcdef.AAAA";
    for cookie in [None, Some(forged), Some("cloudhp_admin=")] {
        for path in PAGES {
            let response = get(&app, path, cookie).await;
            assert_eq!(
                response.status(),
                StatusCode::SEE_OTHER,
                "{path} {cookie:?}"
            );
            assert_eq!(response.headers()["location"], "/admin/login", "{path}");
        }
        for path in ["/admin/logout", "/admin", "/admin/winners.csv", "/admin/x"] {
            let mut request = client().post(app.url(path)).form(&[("csrf", "x")]);
            if let Some(cookie) = cookie {
                request = request.header("cookie", cookie);
            }
            let status = request.send().await.unwrap().status();
            assert!(
                status == StatusCode::FORBIDDEN || status == StatusCode::METHOD_NOT_ALLOWED,
                "POST {path}: {status}"
            );
        }
    }
    // No customer page links to it.
    let link = sandbox
        .links(&app.base())
        .page_path(CustomerId::new(1).unwrap());
    for path in ["/", link.as_str(), "/nowhere"] {
        let page = text_of(&app, path, None).await;
        assert!(!page.contains("/admin"), "{path}: {page}");
    }
}

#[tokio::test]
async fn logging_in_takes_the_form_token_and_the_password_and_locks_out_guessers() {
    let sandbox = Sandbox::new(&admin_config());
    let app = sandbox.app().spawn().await;
    let me = "198.51.100.8";
    let (cookie, csrf) = login_form(&app, me).await;

    // The form's token is required, and it goes with the form's cookie.
    let right = [("csrf", csrf.as_str()), ("password", PASSWORD)];
    for (cookie, form) in [
        (Some(cookie.as_str()), vec![("password", PASSWORD)]),
        (
            Some(cookie.as_str()),
            vec![("csrf", "bm9wZQ"), ("password", PASSWORD)],
        ),
        (None, right.to_vec()),
        (Some("cloudhp_admin_login=1.2.3"), right.to_vec()),
    ] {
        let response = post_login(&app, me, cookie, &form).await;
        assert_eq!(
            response.status(),
            StatusCode::FORBIDDEN,
            "{cookie:?} {form:?}"
        );
        assert!(set_cookie(&response, "cloudhp_admin").is_none());
    }
    // Another site's form is refused by the web role's guard before anything else.
    let response = client()
        .post(app.url("/admin/login"))
        .header("cookie", &cookie)
        .header("origin", "http://evil.example")
        .form(&right)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    // A guesser: two wrong passwords refused, the third locks the address out, and then even
    // the right password is refused.
    let guesser = "203.0.113.9";
    let (cookie_g, csrf_g) = login_form(&app, guesser).await;
    for n in 1..=3 {
        let response = post_login(
            &app,
            guesser,
            Some(&cookie_g),
            &[("csrf", &csrf_g), ("password", &format!("guess {n}"))],
        )
        .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "guess {n}");
        let page = response.text().await.unwrap();
        assert!(page.contains("Wrong password"), "{page}");
        assert_eq!(page.contains("locked out"), n == 3, "guess {n}: {page}");
    }
    let response = post_login(
        &app,
        guesser,
        Some(&cookie_g),
        &[("csrf", &csrf_g), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key("retry-after"));
    assert!(set_cookie(&response, "cloudhp_admin").is_none());

    // Another address is not locked out: the right password opens a session, whose cookie
    // the browser keeps to /admin, away from scripts and other sites.
    let response = post_login(&app, me, Some(&cookie), &right).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (session, header) = set_cookie(&response, "cloudhp_admin").unwrap();
    for flag in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/admin",
        "Max-Age=28800",
    ] {
        assert!(header.contains(flag), "{flag}: {header}");
    }
    assert!(!header.contains("Secure"), "plain HTTP: {header}");
    let page = get(&app, "/admin", Some(&session)).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()["cache-control"], "no-store");
    assert!(
        page.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .starts_with("default-src 'none'")
    );

    // Behind the HTTPS of a trusted proxy, the cookie is Secure.
    let (cookie_s, csrf_s) = login_form(&app, me).await;
    let response = client()
        .post(app.url("/admin/login"))
        .header("x-forwarded-for", me)
        .header("x-forwarded-proto", "https")
        .header("cookie", &cookie_s)
        .form(&[("csrf", csrf_s.as_str()), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    let (_, header) = set_cookie(&response, "cloudhp_admin").unwrap();
    assert!(header.contains("; Secure"), "{header}");

    // Logging out takes the session's own token.
    let csrf = csrf_of(&page.text().await.unwrap());
    for form in [
        vec![],
        vec![("csrf", "bm9wZQ")],
        vec![("csrf", csrf_g.as_str())],
    ] {
        let response = client()
            .post(app.url("/admin/logout"))
            .header("cookie", &session)
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{form:?}");
    }
    let response = client()
        .post(app.url("/admin/logout"))
        .header("cookie", &session)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (cleared, header) = set_cookie(&response, "cloudhp_admin").unwrap();
    assert_eq!(cleared, "cloudhp_admin=");
    assert!(header.contains("Max-Age=0"), "{header}");
}

/// Winners 1 to 60 in the lottery database, one a minute over the last two hours (their
/// claims leased long enough that the app's sweeper leaves them alone); 7 with a comma and quotes in the
/// name, 8 to 11 with names a spreadsheet would run as formulas.
async fn winners(sandbox: &Sandbox) {
    let db = sandbox.lottery();
    let start = OffsetDateTime::now_utc() - time::Duration::hours(2);
    for n in 1..=60u32 {
        let (firstname, lastname) = match n {
            7 => ("Jean, \"Jr\"", "Dupont"),
            8 => ("=HYPERLINK(\"http://x\")", "Formula"),
            9 => ("+1", "Plus"),
            10 => ("-1", "Minus"),
            11 => ("@SUM(A1)", "At"),
            _ => ("Winner", "Person"),
        };
        let customer = Customer {
            id: CustomerId::new(n).unwrap(),
            firstname: firstname.into(),
            lastname: if n > 11 {
                format!("Person{n}")
            } else {
                lastname.into()
            },
            email: format!("w{n}@example.com"),
            language: None,
        };
        let at = start + time::Duration::minutes(i64::from(n));
        let Claim::Acquired(token) = db
            .claim(&customer, at, Duration::from_secs(6 * 3600), "test", 3)
            .await
            .unwrap()
        else {
            panic!("customer {n} claimed already");
        };
        let prize = ["usbkey.jpg", "mug.jpg"][(n % 2) as usize];
        db.complete(customer.id, &token, &Prize::parse(prize).unwrap(), at)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn the_pages_show_the_campaign_and_its_winners_and_export_them() {
    let sandbox = Sandbox::new(&admin_config());
    let app = sandbox.app().spawn().await;
    winners(&sandbox).await;
    // A limited prize of the catalog (30 mugs were won of 100), one nobody has won yet, and a
    // campaign mailing: 2 sent, 1 to retry.
    let db = sandbox.lottery();
    let now = OffsetDateTime::now_utc();
    let spec = |file: &str, name: &str, stock| cloudhp_store::StockSpec {
        prize: Prize::parse(file).unwrap(),
        name: Some(name.into()),
        stock,
    };
    db.sync_stock(
        &[
            spec("mug.jpg", "Coffee mug", Some(100)),
            spec("drone.jpg", "Racing drone", Some(5)),
        ],
        now,
    )
    .await
    .unwrap();
    for (n, to) in [
        (1, MailingState::Sent),
        (2, MailingState::Sent),
        (3, MailingState::Failed),
    ] {
        let id = CustomerId::new(n).unwrap();
        let attempts = db
            .mailing_begin("spring", id, None, now)
            .await
            .unwrap()
            .unwrap();
        db.mailing_settle("spring", id, MailingState::Sending, attempts, to, None, now)
            .await
            .unwrap();
    }
    let session = log_in(&app, "198.51.100.20").await;
    let session = Some(session.as_str());

    let page = text_of(&app, "/admin", session).await;
    assert_says(
        &page,
        &[
            "Coffee mug <span class=\"muted\">(mug.jpg)</span></td><td class=\"num\">30</td><td class=\"num\">70 of 100</td>",
            "Racing drone <span class=\"muted\">(drone.jpg)</span></td><td class=\"num\">0</td><td class=\"num\">5 of 5</td>",
            "<td class=\"num\">unlimited</td>",
            "spring: 2 sent, 1 to retry, 0 refused for good, 0 uncertain, 0 in flight",
            "<svg",
            "Draws per minute",
            "<div class=\"label\">Customers</div><div class=\"value\">50</div>",
            "<div class=\"label\">Won</div><div class=\"value\">60</div>",
            "<div class=\"label\">Drawing now</div><div class=\"value\">0</div>",
            "Usbkey",
            "lottery_db (this process)",
            "the status service",
            "Waiting to be sent",
        ],
    );
    assert!(
        page.matches("<rect").count() >= 60,
        "a bar a minute: {page}"
    );
    assert!(!page.contains("<script"), "no script");

    // Paged, newest first.
    let first = text_of(&app, "/admin/winners", session).await;
    assert!(first.contains("60 winner(s)"), "{first}");
    assert!(first.contains("page 1 of 2"), "{first}");
    assert_eq!(first.matches("<img class=\"thumb\"").count(), 50);
    assert!(first.contains("/admin/pictures/60.jpg") && !first.contains("/admin/pictures/10.jpg"));
    assert!(
        first.contains("href=\"/admin/winners?q=&#38;page=2\""),
        "{first}"
    );
    let second = text_of(&app, "/admin/winners?page=2", session).await;
    assert_eq!(second.matches("<img class=\"thumb\"").count(), 10);
    assert!(second.contains("w1@example.com"), "{second}");
    // Searched: by name, e-mail, id; nothing found; the search shown escaped.
    for (q, count, has) in [
        ("dupont", 1, "Jean, &#34;Jr&#34; Dupont"),
        ("W42@EXAMPLE", 1, "w42@example.com"),
        ("33", 1, "w33@example.com"),
        ("<b>nobody</b>", 0, "&#60;b&#62;nobody&#60;/b&#62;"),
    ] {
        let url = format!("/admin/winners?q={}", url_escape(q));
        let page = text_of(&app, &url, session).await;
        assert!(
            page.contains(&format!("{count} winner(s) matching")),
            "{q}: {page}"
        );
        assert!(page.contains(has), "{q}: {page}");
    }
    // A page that is no number is the first one.
    let odd = get(&app, "/admin/winners?page=abc", session).await;
    assert_eq!(odd.status(), StatusCode::OK);

    // The export: a header and a line per winner, by id, quoted, no formula.
    let response = get(&app, "/admin/winners.csv", session).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let csv = response.text().await.unwrap();
    let lines: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(
        lines[0],
        "customer_id,firstname,lastname,email,prize,prize_name,requested_at,played_at"
    );
    assert_eq!(lines.len(), 61, "{csv}");
    assert!(
        lines[7].starts_with("7,\"Jean, \"\"Jr\"\"\",Dupont,w7@example.com,"),
        "{}",
        lines[7]
    );
    assert!(
        lines[8].starts_with("8,\"'=HYPERLINK(\"\"http://x\"\")\",Formula,"),
        "{}",
        lines[8]
    );
    assert!(lines[9].starts_with("9,'+1,Plus,"), "{}", lines[9]);
    assert!(lines[10].starts_with("10,'-1,Minus,"), "{}", lines[10]);
    assert!(lines[11].starts_with("11,'@SUM(A1),At,"), "{}", lines[11]);
    assert!(lines[60].starts_with("60,Winner,Person60,w60@example.com,usbkey.jpg,Usbkey,"));

    // The pictures of these made-up winners were never stored.
    let picture = get(&app, "/admin/pictures/60.jpg", session).await;
    assert_eq!(picture.status(), StatusCode::NOT_FOUND);
}

/// `text` for a query string.
fn url_escape(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// A web process of its own, without any database, shows the same figures: it reads them from
/// the status and identity roles of another process, over their APIs.
#[tokio::test]
async fn a_web_process_without_a_database_reads_the_figures_from_the_other_roles() {
    let sandbox = Sandbox::new(&admin_config());
    let backend = sandbox
        .app()
        .roles("identity,status,play,picture,worker,notifier")
        .with("[identity]\ndemo_customers = 30\n")
        .spawn()
        .await;
    let base = backend.base();
    let web = sandbox
        .app()
        .roles("web")
        .with(&format!(
            "[roles]\nidentity_url = \"{base}\"\nstatus_url = \"{base}\"\n\
             play_url = \"{base}\"\npicture_url = \"{base}\"\n"
        ))
        .spawn()
        .await;
    winners(&sandbox).await;
    let session = log_in(&web, "198.51.100.30").await;
    let session = Some(session.as_str());

    let page = text_of(&web, "/admin", session).await;
    assert_says(
        &page,
        &[
            "<div class=\"label\">Customers</div><div class=\"value\">30</div>",
            "<div class=\"label\">Won</div><div class=\"value\">60</div>",
            "<svg",
        ],
    );
    assert!(
        !page.contains("lottery_db"),
        "the web process has no database: {page}"
    );
    assert!(
        !page.contains("class=\"bad\""),
        "every role answers: {page}"
    );
    let found = text_of(&web, "/admin/winners?q=dupont", session).await;
    assert!(found.contains("1 winner(s) matching"), "{found}");
    let csv = text_of(&web, "/admin/winners.csv", session).await;
    assert_eq!(csv.split("\r\n").filter(|l| !l.is_empty()).count(), 61);
}

/// `cloudhp admin hash-password` reads the password from standard input when it is no
/// terminal, and prints a hash of it; a short password is refused.
#[test]
fn the_command_line_hashes_the_admin_password() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let run = |input: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_cloudhp"))
            .env_clear()
            .args(["admin", "hash-password"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let output = run(&format!("{PASSWORD}\n"));
    assert!(output.status.success(), "{output:?}");
    let hash = String::from_utf8(output.stdout).unwrap();
    let hash = hash.trim();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert_eq!(cloudhp::roles::web::admin::check_hash(hash), Ok(()));
    let output = run("short\n");
    assert!(!output.status.success());
    let error = String::from_utf8(output.stderr).unwrap();
    assert!(error.contains("at least 10 characters"), "{error}");
    assert!(output.stdout.is_empty());
}
