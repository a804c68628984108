//! The page in the customer's language: their shop account's (PrestaShop's `id_lang` through
//! `ps_lang`), else the browser's `Accept-Language`, else `web.language`.

use crate::support::*;

async fn page_in(site: &impl Site, path: &str, accept: Option<&str>) -> (u16, String) {
    let mut request = client().get(site.url(path));
    if let Some(accept) = accept {
        request = request.header("Accept-Language", accept);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_page_speaks_the_customers_language_then_the_browsers() {
    let sandbox = Sandbox::new("");
    // Demo customers from 100 on are French every third id (the demo shop's ps_lang).
    let app = sandbox
        .app()
        .with("[identity]\ndemo_customers = 120\n")
        .spawn()
        .await;
    let links = sandbox.links(&app.base());

    // A French account: French, whatever the browser says.
    let (status, html) = page_in(&app, &links.page_path(id(102)), Some("en-GB,en")).await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"<html lang="fr">"#), "{html}");
    assert!(
        html.contains("Vous n&#39;avez pas encore joué.")
            || html.contains("Vous n&#x27;avez pas encore joué."),
        "{html}"
    );
    assert!(html.contains(">Jouer</button>"), "{html}");

    // An English account: English, whatever the browser says.
    let (_, html) = page_in(&app, &links.page_path(id(1)), Some("fr-FR,fr;q=0.9")).await;
    assert!(html.contains(r#"<html lang="en">"#), "{html}");
    assert!(html.contains("You have not played yet."), "{html}");

    // Error pages know no customer: the browser's language.
    let (status, html) = page_in(&app, &links.page_path(id(119_999)), Some("fr")).await;
    assert_eq!(status, 404);
    assert!(html.contains("Nous ne connaissons pas ce lien"), "{html}");
    let (_, html) = page_in(&app, "/nothing-here", Some("de, fr;q=0.5")).await;
    assert!(html.contains("Page introuvable"), "{html}");
    let (_, html) = page_in(&app, "/nothing-here", Some("de")).await;
    assert!(html.contains("Page not found"), "{html}");

    // A French customer plays: the result and its dates in French.
    start_play(&app, &links, 102).await;
    wait_for_state(&app, &links, 102, "won").await;
    let (_, html) = page_in(&app, &links.page_path(id(102)), None).await;
    assert!(html.contains("Déjà joué"), "{html}");
    let months = [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ];
    assert!(
        months.iter().any(|m| html.contains(&format!(" {m} 20"))) && html.contains(" UTC"),
        "a French date: {html}"
    );
}

#[tokio::test]
async fn without_the_customers_or_the_browsers_the_configured_language() {
    let sandbox = Sandbox::new("[web]\nlanguage = \"fr\"\n");
    let (app, links) = sandbox.spawn_linked().await;
    let (_, html) = page_in(&app, "/", None).await;
    assert!(html.contains("Bienvenue à notre grand jeu"), "{html}");
    // Customer 1 has an English account: still English.
    let (_, html) = page_in(&app, &links.page_path(id(1)), None).await;
    assert!(html.contains("You have not played yet."), "{html}");

    // A language we do not have is refused at start-up, naming the key.
    let out = run_cli(
        &Sandbox::new("[web]\nlanguage = \"klingon\"\n"),
        &["config"],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("web.language") && stderr.contains("en, fr"),
        "{stderr}"
    );
}
