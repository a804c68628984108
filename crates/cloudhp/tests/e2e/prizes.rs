//! The prize catalog's rules, end to end: 2,000 draws at once (tempo 0) of a catalog whose
//! most likely prize has a stock of 10 give exactly 10 winners of it, on the embedded SQLite
//! lottery with one process and on MariaDB with two play processes; the others get the
//! fallback ("no prize": a result, no winner mail, said plainly on the page).

use cloudhp::roles::web::Links;
use cloudhp_store::{LotteryDb, PlayCounts};

use crate::support::*;

/// Customers who play.
const PLAYERS: u32 = 2_000;
/// Plays in flight at once from the test.
const AT_ONCE: usize = 32;
/// Presses of one customer answered "unavailable, try again" (503: a service behind the page
/// overloaded by the burst) before the test gives up, as a customer pressing again would.
const PRESSES: u32 = 50;
/// The stock of the drone, drawn about 8 times in 10.
const DRONE_STOCK: u64 = 10;

const CATALOG: &str = r#"
fallback = "no_prize"

[no_prize]
weight = 1
picture = "no-prize.jpg"

[[prize]]
name = "Racing drone"
picture = "drone.jpg"
weight = 8
stock = 10

[[prize]]
name = "USB key"
picture = "usb-key.jpg"
weight = 1
"#;

/// A sandbox whose W and play role read `CATALOG` (small pictures beside it: thousands of
/// tickets are drawn), with `PLAYERS` customers in its embedded shop table and W at tempo 0.
fn sandbox() -> Sandbox {
    let sandbox = Sandbox::new("[worker]\ntempo = 0.0\n");
    let dir = sandbox.dir.path().join("prizes");
    std::fs::create_dir_all(&dir).unwrap();
    let jpeg = cloudhp_worker::encode_jpeg(&cloudhp_worker::RgbImage::new(40, 24)).unwrap();
    for picture in ["no-prize.jpg", "drone.jpg", "usb-key.jpg"] {
        std::fs::write(dir.join(picture), &jpeg).unwrap();
    }
    std::fs::write(dir.join(cloudhp_worker::CATALOG_FILE), CATALOG).unwrap();
    let config = std::fs::read_to_string(&sandbox.config).unwrap();
    let mut table: toml::Table = toml::from_str(&config).unwrap();
    table["worker"]
        .as_table_mut()
        .unwrap()
        .insert("catalog_dir".into(), dir.to_str().unwrap().into());
    std::fs::write(&sandbox.config, toml::to_string(&table).unwrap()).unwrap();
    seed_customers(&sandbox, &sandbox.data_dir(), PLAYERS);
    sandbox
}

/// Presses Play for every customer, `AT_ONCE` at a time, spread over `sites`; waits until
/// every draw is over (bounded by polls without progress, not by time) and returns the counts.
async fn play_everyone(sites: &[&Proc], links: &Links, lottery: &LotteryDb) -> PlayCounts {
    let urls: Vec<String> = (1..=PLAYERS)
        .map(|n| {
            let site = sites[n as usize % sites.len()];
            site.url(&format!(
                "/api/v1/players/{n}/play?t={}",
                links.token(id(n)).unwrap()
            ))
        })
        .collect();
    let http = client();
    let queue = std::sync::Arc::new(tokio::sync::Mutex::new(urls));
    let pressers: Vec<_> = (0..AT_ONCE)
        .map(|_| {
            let (queue, http) = (queue.clone(), http.clone());
            tokio::spawn(async move {
                loop {
                    let Some(url) = queue.lock().await.pop() else {
                        return;
                    };
                    for press in 1..=PRESSES {
                        let response = http.post(&url).send().await.unwrap();
                        let code = response.status().as_u16();
                        let body = response.text().await.unwrap();
                        if code == 503 && press < PRESSES {
                            tokio::time::sleep(POLL).await;
                            continue;
                        }
                        assert_eq!(code, 202, "{url}: {body}");
                        break;
                    }
                }
            })
        })
        .collect();
    for presser in pressers {
        presser.await.unwrap();
    }
    // Every draw ends: a count of polls without progress bounds the wait.
    let mut last = 0;
    let mut idle = 0;
    loop {
        let counts = lottery.play_counts().await.unwrap();
        if counts.played() == u64::from(PLAYERS) {
            return counts;
        }
        assert_eq!(counts.failed, 0, "no draw fails: {counts:?}");
        if counts.played() > last {
            (last, idle) = (counts.played(), 0);
        } else {
            idle += 1;
            assert!(
                idle < MAX_POLLS,
                "the draws stopped progressing: {counts:?}"
            );
        }
        tokio::time::sleep(POLL).await;
    }
}

/// What every campaign of this file must show once everyone played.
async fn exactly_the_stock_is_won(lottery: &LotteryDb, counts: PlayCounts) {
    let stock = lottery.prize_stock().await.unwrap();
    let drone = stock
        .iter()
        .find(|p| p.spec.prize.file() == "drone.jpg")
        .unwrap();
    assert_eq!(
        (drone.won, drone.spec.stock, drone.left()),
        (DRONE_STOCK, Some(DRONE_STOCK), Some(0)),
        "{stock:?}"
    );
    assert_eq!(drone.spec.name.as_deref(), Some("Racing drone"));
    let key = stock
        .iter()
        .find(|p| p.spec.prize.file() == "usb-key.jpg")
        .unwrap();
    // Every win is a drone or a key, counted where it was recorded; the rest is no prize.
    assert_eq!(counts.won, DRONE_STOCK + key.won, "{counts:?} {stock:?}");
    assert!(
        counts.no_prize > u64::from(PLAYERS) / 2,
        "most draws drew the drone after its stock was gone: {counts:?}"
    );
    // One notification per win, none for no prize.
    let outbox = lottery.outbox_counts().await.unwrap();
    assert_eq!(outbox.pending + outbox.delivered, counts.won, "{outbox:?}");
}

/// Customers of each result, found by reading their records.
async fn one_of_each(lottery: &LotteryDb) -> (u32, u32) {
    let (mut drone, mut nothing) = (None, None);
    for n in 1..=PLAYERS {
        let record = lottery.record(id(n)).await.unwrap().unwrap();
        match (record.state, record.prize.as_ref().map(|p| p.file())) {
            (cloudhp_store::RecordState::Won, Some("drone.jpg")) => drone = drone.or(Some(n)),
            (cloudhp_store::RecordState::NoPrize, _) => nothing = nothing.or(Some(n)),
            _ => {}
        }
        if let (Some(d), Some(x)) = (drone, nothing) {
            return (d, x);
        }
    }
    panic!("no drone winner or no customer without a prize");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_thousand_draws_on_sqlite_win_exactly_the_stock() {
    let sandbox = sandbox();
    let (app, links) = sandbox.up_linked();
    let lottery = sandbox.lottery();
    let counts = play_everyone(&[&app], &links, &lottery).await;
    exactly_the_stock_is_won(&lottery, counts).await;

    // The page and the API say plainly what happened.
    let (drone, nothing) = one_of_each(&lottery).await;
    let won = player(&app, &links, drone).await;
    assert_eq!(won["status"], "won");
    assert_eq!(won["prize_name"], "Racing drone");
    // In the customer's language (demo customers from 100 on are French every third id).
    let (_, html) = page(&app, &links, drone).await;
    assert!(
        html.contains("You won: Racing drone") || html.contains("Vous avez gagné : Racing drone"),
        "{html}"
    );
    let none = player(&app, &links, nothing).await;
    assert_eq!(none["status"], "no_prize");
    assert!(none["played_at"].is_string(), "{none}");
    assert_eq!(none["prize_name"], serde_json::Value::Null);
    assert_eq!(none["can_play"], false);
    let (_, html) = page(&app, &links, nothing).await;
    assert!(
        html.contains("No prize this time.") || html.contains("Pas de lot cette fois-ci."),
        "{html}"
    );
    assert!(
        !html.contains("You won") && !html.contains("Vous avez gagné"),
        "{html}"
    );
    // Its picture, when shown, is the "no prize" ticket drawn for it, never the drone's.
    if let Some(url) = none["picture_url"].as_str() {
        assert_eq!(none["prize"], "no-prize.jpg");
        let response = client().get(app.url(url)).send().await.unwrap();
        assert_eq!(response.status(), 200);
    }

    // The winner mails name the prize: one per win, once the notifier is through.
    wait_for("every winner mail", || async {
        (sandbox.mails().len() as u64 == counts.won).then_some(())
    })
    .await;
    let drone_mails = sandbox
        .mails()
        .iter()
        .filter(|m| {
            std::fs::read_to_string(m)
                .unwrap()
                .contains("Racing drone (drone.jpg)")
        })
        .count();
    assert_eq!(drone_mails as u64, DRONE_STOCK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_thousand_draws_over_two_play_processes_on_mariadb_win_exactly_the_stock() {
    let db = MysqlDatabase::create("lottery_").await;
    let url = db.url();
    let sandbox = sandbox();
    let env = [("CLOUDHP_LOTTERY__DATABASE", url.as_str())];
    // Two complete processes started together: both bring the stock in step at start-up.
    let a = sandbox.up_with(&env);
    let b = sandbox.up_with(&env);
    let links = sandbox.links(&a.base());
    let lottery = LotteryDb::connect_lazy(&url, &Default::default()).unwrap();
    let counts = play_everyone(&[&a, &b], &links, &lottery).await;
    exactly_the_stock_is_won(&lottery, counts).await;
    // Both processes drew.
    for proc in [&a, &b] {
        let drawn = metric(proc, "cloudhp_draws_started_total").await;
        assert!(drawn.is_some_and(|n| n > 0.0), "{drawn:?}");
    }
}
