//! A real browser: Debian's headless Chromium, driven through ChromeDriver (WebDriver), plays
//! as a customer would. A screenshot of every step is kept under `target/screenshots/` for
//! people to look at.

use std::path::PathBuf;

use cloudhp_testkit::ChromeDriver;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::support::*;

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

/// The visible text of the page.
pub async fn text(browser: &Client) -> String {
    browser
        .find(Locator::Css("body"))
        .await
        .expect("a body")
        .text()
        .await
        .expect("its text")
}

/// Waits until the page's text contains `what` (the page reloads itself meanwhile).
pub async fn wait_text(browser: &Client, what: &str) -> String {
    wait_for(&format!("the page to say {what:?}"), || async {
        let text = text(browser).await;
        text.contains(what).then_some(text)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_customer_plays_in_a_real_browser() {
    let driver = ChromeDriver::start();
    let sandbox = Sandbox::new("[web]\nrefresh = \"1s\"\n\n[worker]\ntempo = 2\n");
    let app = sandbox.app().spawn().await;
    let links = sandbox.links(&app.base());
    let downloads = sandbox.dir.path().join("downloads");
    let browser = browser(&driver, &downloads).await;

    // The personal link: who they are, not played yet, Play offered.
    browser.goto(&links.page_url(id(2))).await.unwrap();
    let page = text(&browser).await;
    assert!(page.contains("You have not played yet."), "{page}");
    shot(&browser, "1-customer-page").await;

    // Play: the draw runs, the page says so and reloads itself.
    browser
        .find(Locator::Css("#play button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
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
    browser.close().await.unwrap();
}
