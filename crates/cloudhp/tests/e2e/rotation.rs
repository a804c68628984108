//! Rotating the key of personal links over the real binary: a new key signs, the links mailed
//! under the old one keep opening until it is retired.

use cloudhp::roles::web::Links;

use crate::support::*;

const KEY_A: &str = "key-A-of-the-campaign-32-characters-long";
const KEY_B: &str = "key-B-of-the-campaign-32-characters-long";

/// The page of customer 1 through `links`: its status, and the token of the links it gives
/// (the Play form posts to the page's own signed path).
async fn page_of_1(app: &impl Site, links: &Links) -> (u16, String) {
    page(app, links, 1).await
}

fn signed(key: &str) -> Links {
    Links::signed(&[key], "http://unused").unwrap()
}

/// The app started with this `[web]` configuration, as a restart with new keys would be.
async fn started_with(sandbox: &Sandbox, web: &str) -> TestApp {
    sandbox.app().with(&format!("[web]\n{web}\n")).spawn().await
}

#[tokio::test]
async fn configured_keys_rotate_without_breaking_mailed_links() {
    let sandbox = Sandbox::new("");
    let (a, b) = (signed(KEY_A), signed(KEY_B));
    let token_a = a.token(id(1)).unwrap();
    let token_b = b.token(id(1)).unwrap();

    let app = started_with(&sandbox, &format!("link_key = \"{KEY_A}\"")).await;
    let (status, html) = page_of_1(&app, &a).await;
    assert_eq!(status, 200);
    assert!(html.contains(&format!("t={token_a}")), "{html}");
    assert!(app.stop().await);

    // B first, A still listed: the mailed link opens, the page's own links are signed by B.
    let app = started_with(&sandbox, &format!("link_keys = \"{KEY_B},{KEY_A}\"")).await;
    let (status, html) = page_of_1(&app, &a).await;
    assert_eq!(status, 200, "the link signed with A still opens");
    assert!(html.contains(&format!("t={token_b}")), "{html}");
    assert!(!html.contains(&format!("t={token_a}")), "{html}");
    assert_eq!(page_of_1(&app, &b).await.0, 200);
    assert!(app.stop().await);

    // A retired: its links are refused, B's open.
    let app = started_with(&sandbox, &format!("link_keys = [\"{KEY_B}\"]")).await;
    let (status, _) = page_of_1(&app, &a).await;
    assert_eq!(status, 403, "the link signed with the retired key");
    assert_eq!(page_of_1(&app, &b).await.0, 200);
    assert!(app.stop().await);
}

#[tokio::test]
async fn the_data_dir_keys_rotate_with_the_command_line() {
    let sandbox = Sandbox::new("");
    let data_dir = sandbox.data_dir();
    let data_dir = data_dir.to_str().unwrap();

    let generated = run_cli(&sandbox, &["link-key", "generate"]);
    assert!(generated.status.success());
    let key = String::from_utf8(generated.stdout).unwrap();
    assert_eq!(key.trim().len(), 43, "{key}");

    let app = sandbox.app().spawn().await;
    let old = sandbox.links(&app.base());
    assert_eq!(page_of_1(&app, &old).await.0, 200);
    assert!(app.stop().await);

    // The command line changes the key file; the app started next reads it.
    let rotated = run_cli(&sandbox, &["link-key", "rotate", "--data-dir", data_dir]);
    assert!(rotated.status.success(), "{rotated:?}");
    let app = sandbox.app().spawn().await;
    // The first key of the file signs now.
    let new = sandbox.links(&app.base());
    let new_token = new.token(id(1)).unwrap();
    assert_ne!(Some(new_token.clone()), old.token(id(1)));
    let (status, html) = page_of_1(&app, &old).await;
    assert_eq!(status, 200, "the link signed with the old key still opens");
    assert!(html.contains(&format!("t={new_token}")), "{html}");
    assert!(app.stop().await);

    let retired = run_cli(&sandbox, &["link-key", "retire", "--data-dir", data_dir]);
    assert!(retired.status.success(), "{retired:?}");
    let app = sandbox.app().spawn().await;
    assert_eq!(page_of_1(&app, &old).await.0, 403);
    assert_eq!(page_of_1(&app, &new).await.0, 200);
    assert!(app.stop().await);
}
