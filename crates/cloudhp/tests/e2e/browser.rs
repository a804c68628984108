//! A real browser: Debian's headless Chromium, driven through ChromeDriver (WebDriver), plays
//! as a customer would. A screenshot of every step is kept under `target/screenshots/` for
//! people to look at.

use std::path::PathBuf;

use cloudhp_testkit::ChromeDriver;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::support::*;

/// The element `locator` finds on the page.
async fn element(browser: &Client, locator: Locator<'_>) -> fantoccini::elements::Element {
    browser.find(locator).await.unwrap()
}

/// Clicks the element `locator` finds on the page.
async fn click(browser: &Client, locator: Locator<'_>) {
    element(browser, locator).await.click().await.unwrap();
}

/// Where the screenshots go: `target/screenshots/`.
fn screenshots() -> PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target dir")
        .join("screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir
}

/// A headless Chromium of its own, its downloads going to `downloads`.
pub async fn browser(driver: &ChromeDriver, downloads: &std::path::Path) -> Client {
    let capabilities = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": ChromeDriver::browser(),
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,1000", "--lang=en-US", "--no-first-run",
                "--disable-background-networking",
            ],
            "prefs": {
                "download.default_directory": downloads.to_str().unwrap(),
                "download.prompt_for_download": false,
                "intl.accept_languages": "en-US,en",
            },
        },
    });
    let serde_json::Value::Object(capabilities) = capabilities else {
        unreachable!()
    };
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&driver.url())
        .await
        .expect("a Chromium session")
}

/// Saves a screenshot of what the browser shows as `target/screenshots/NAME.png`.
pub async fn shot(browser: &Client, name: &str) {
    let png = browser.screenshot().await.expect("screenshot");
    std::fs::write(screenshots().join(format!("{name}.png")), png).expect("save screenshot");
}

/// The visible text of the page, read in one step inside the page: the page reloads itself
/// while a draw runs, and an element found before a reload is stale after it. Empty while the
/// page is being replaced (the caller polls again).
pub async fn text(browser: &Client) -> String {
    match browser
        .execute(
            "return document.body ? document.body.innerText : '';",
            vec![],
        )
        .await
    {
        Ok(serde_json::Value::String(text)) => text,
        _ => String::new(),
    }
}

/// Waits until the page's text contains `what`, whatever the case (the page reloads itself
/// meanwhile; headings are shown in capitals by their style, and WebDriver reads them so).
pub async fn wait_text(browser: &Client, what: &str) -> String {
    let wanted = what.to_lowercase();
    wait_for(&format!("the page to say {what:?}"), || async {
        let text = text(browser).await;
        text.to_lowercase().contains(&wanted).then_some(text)
    })
    .await
}

const ADMIN_PASSWORD: &str = "a browser's admin password";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_customer_plays_and_the_admin_exports_the_winner_in_a_real_browser() {
    let driver = ChromeDriver::start();
    let hash = cloudhp::roles::web::admin::hash_password(ADMIN_PASSWORD).unwrap();
    let sandbox = Sandbox::new(&format!(
        "[web]\nrefresh = \"1s\"\n\n[worker]\ntempo = 2\n\n[admin]\npassword_hash = \"{hash}\"\n"
    ));
    let (app, links) = sandbox.spawn_linked().await;
    let downloads = sandbox.dir.path().join("downloads");
    let browser = browser(&driver, &downloads).await;

    // The personal link: who they are, not played yet, Play offered.
    browser.goto(&links.page_url(id(2))).await.unwrap();
    let page = text(&browser).await;
    assert!(page.contains("You have not played yet."), "{page}");
    shot(&browser, "1-customer-page").await;

    // Play: the draw runs, the page says so and reloads itself.
    click(&browser, Locator::Css("#play button[type=submit]")).await;
    wait_text(&browser, "Drawing your prize").await;
    shot(&browser, "2-drawing").await;

    // The prize, and its picture loaded by the browser.
    let page = wait_text(&browser, "You won").await;
    assert!(page.contains("Already played"), "{page}");
    let width = wait_for("the prize picture to load", || async {
        let width = browser
            .execute(
                "const img = document.querySelector('#picture img'); \
                 return img && img.complete ? img.naturalWidth : 0;",
                vec![],
            )
            .await
            .unwrap();
        width.as_u64().filter(|w| *w > 0)
    })
    .await;
    assert!(width >= 100, "picture width {width}");
    shot(&browser, "3-prize").await;
    let winner_email = element(&browser, Locator::Css("#identity dd:nth-of-type(4)"))
        .await
        .text()
        .await
        .unwrap();

    // The admin area: the login form first.
    browser.goto(&app.url("/admin")).await.unwrap();
    wait_text(&browser, "Admin password").await;
    shot(&browser, "4-admin-login").await;
    element(&browser, Locator::Css("#password"))
        .await
        .send_keys(ADMIN_PASSWORD)
        .await
        .unwrap();
    click(&browser, Locator::Css("form button[type=submit]")).await;
    // The overview: the one winner, the chart.
    let overview = wait_text(&browser, "Draws per minute").await;
    assert!(overview.contains("Won\n1"), "{overview}");
    assert!(
        browser.find(Locator::Css("svg rect")).await.is_ok(),
        "a bar in the chart"
    );
    shot(&browser, "5-admin-overview").await;

    // The winners: the customer who just played, with the picture.
    browser.goto(&app.url("/admin/winners")).await.unwrap();
    let winners = wait_text(&browser, "winner(s)").await;
    assert!(winners.contains(&winner_email), "{winner_email}: {winners}");
    shot(&browser, "6-admin-winners").await;

    // The CSV, downloaded by the browser.
    click(&browser, Locator::LinkText("Export every winner (CSV)")).await;
    let csv = wait_for("the CSV download", || async {
        let text = std::fs::read_to_string(downloads.join("winners.csv")).ok()?;
        text.ends_with("\r\n").then_some(text)
    })
    .await;
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(lines[0].starts_with("customer_id,"), "{csv}");
    assert!(
        lines[1].starts_with("2,") && lines[1].contains(&winner_email),
        "{csv}"
    );
    browser.close().await.unwrap();
}
