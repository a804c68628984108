//! The identity role on a real PrestaShop customer table in MariaDB, read through a read-only
//! account; the shop database going down, hanging and coming back.

use cloudhp_testkit::{SmtpMode, SmtpServer};
use sqlx::{AssertSqlSafe, Executor, MySqlPool};

use crate::proxy::{Mode, Proxy};
use crate::support::*;

/// What customer `n` of the test shop looks like.
fn shop_customer(n: u32) -> (String, String, String, u8, u8, u8) {
    let (first, last) = match n {
        7 => (
            "<script>alert(7)</script>".to_owned(),
            "O'Brien & Søn".to_owned(),
        ),
        8 => ("Zoé".to_owned(), "Łukasiewicz-Ñúñez".to_owned()),
        _ => (format!("First{n}"), format!("Last{n}")),
    };
    let email = format!("customer{n}@shop.example");
    let active = u8::from(n != 11);
    let guest = u8::from(n == 12);
    let deleted = u8::from(n == 13);
    (first, last, email, active, guest, deleted)
}

/// A shop database with thousands of customers, and a read-only account on it.
async fn shop(count: u32) -> (MysqlDatabase, String) {
    let db = MysqlDatabase::create("shop_").await;
    let admin = db.admin().await;
    let pool = db.pool().await;
    pool.execute(AssertSqlSafe(cloudhp_store::prestashop_customer_ddl(
        "shop7_customer",
    )))
    .await
    .unwrap();
    for chunk in (1..=count).collect::<Vec<_>>().chunks(500) {
        let mut sql = String::from(
            "INSERT INTO shop7_customer (id_customer, id_gender, firstname, lastname, email, \
             passwd, active, is_guest, deleted, date_add, date_upd) VALUES ",
        );
        let rows: Vec<String> = chunk
            .iter()
            .map(|_| "(?, 1, ?, ?, ?, 'x', ?, ?, ?, NOW(), NOW())".into())
            .collect();
        sql.push_str(&rows.join(","));
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for n in chunk {
            let (first, last, email, active, guest, deleted) = shop_customer(*n);
            query = query
                .bind(*n)
                .bind(first)
                .bind(last)
                .bind(email)
                .bind(active)
                .bind(guest)
                .bind(deleted);
        }
        query.execute(&pool).await.unwrap();
    }
    // The lottery's account on the shop database: SELECT on the customer table, nothing else.
    let user = cloudhp_testkit::unique("ro_");
    for sql in [
        format!("CREATE USER '{user}'@'127.0.0.1' IDENTIFIED BY 'read-only-pw'"),
        format!("CREATE USER '{user}'@'localhost' IDENTIFIED BY 'read-only-pw'"),
        format!(
            "GRANT SELECT ON `{}`.`shop7_customer` TO '{user}'@'127.0.0.1'",
            db.name
        ),
        format!(
            "GRANT SELECT ON `{}`.`shop7_customer` TO '{user}'@'localhost'",
            db.name
        ),
    ] {
        admin.execute(AssertSqlSafe(sql)).await.unwrap();
    }
    let url = format!("mysql://{user}:read-only-pw@{}/{}", db.host, db.name);
    (db, url)
}

/// `identity.database` on the shop database at `url`.
fn shop_database(url: &str) -> String {
    format!("[identity]\ndatabase = \"{url}\"\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn identity_reads_a_prestashop_table_through_a_read_only_account() {
    let (_db, url) = shop(5000).await;
    // The account really is read-only.
    let ro = MySqlPool::connect(&url).await.unwrap();
    let write = sqlx::query("UPDATE shop7_customer SET firstname = 'x' WHERE id_customer = 1")
        .execute(&ro)
        .await;
    assert!(
        write.is_err(),
        "the lottery's account must not write to the shop"
    );
    ro.close().await;

    // Mail through a test relay, which keeps each message sent.
    let smtp = SmtpServer::start(SmtpMode::Plain, None);
    let sandbox = Sandbox::new("[identity]\ntable_prefix = \"shop7_\"\n");
    let app = sandbox
        .app()
        .with(&shop_database(&url))
        .with(&format!("[mail]\nurl = \"{}\"\n", plain_smtp_url(&smtp)))
        .spawn()
        .await;
    let links = sandbox.links(&app.base());

    for n in [1u32, 2500, 4999, 5000] {
        let json = player(&app, &links, n).await;
        assert_eq!(
            json["customer"]["email"],
            format!("customer{n}@shop.example")
        );
        assert_eq!(json["customer"]["lastname"], format!("Last{n}"));
    }
    // Markup is escaped on the page, non-ASCII letters come through intact.
    let (status, html) = page(&app, &links, 7).await;
    assert_eq!(status, 200);
    assert!(!html.contains("<script>alert(7)"), "{html}");
    assert!(
        html.contains("O&#39;Brien &#38; Søn") || html.contains("O&#x27;Brien &amp; Søn"),
        "{html}"
    );
    let json = player(&app, &links, 8).await;
    assert_eq!(json["customer"]["firstname"], "Zoé");
    assert_eq!(json["customer"]["lastname"], "Łukasiewicz-Ñúñez");
    let (_, html) = page(&app, &links, 8).await;
    assert!(html.contains("Łukasiewicz-Ñúñez"));

    // Unknown, deleted and (by default) inactive customers do not exist; guests do.
    for n in [5001u32, 13, 11] {
        let (status, _) = page(&app, &links, n).await;
        assert_eq!(status, 404, "customer {n}");
    }
    assert_eq!(page(&app, &links, 12).await.0, 200);

    // A play works end to end with the shop's customer.
    start_play(&app, &links, 8).await;
    wait_for_state(&app, &links, 8, "won").await;
    wait_for("the notification to be delivered", || async {
        (sandbox.lottery().outbox_counts().await.unwrap().delivered == 1).then_some(())
    })
    .await;
    let messages = smtp.messages();
    assert_eq!(messages.len(), 1, "one mail sent");
    assert!(
        messages[0].contains("customer8@shop.example"),
        "{}",
        messages[0]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn inactive_customers_and_guests_follow_the_campaign_settings() {
    let (_db, url) = shop(20).await;
    let sandbox = Sandbox::new(
        "[identity]\ntable_prefix = \"shop7_\"\ninactive = \"include\"\nguests = \"exclude\"\n",
    );
    let app = sandbox.app().with(&shop_database(&url)).spawn().await;
    let links = sandbox.links(&app.base());
    assert_eq!(page(&app, &links, 11).await.0, 200, "inactive, included");
    assert_eq!(page(&app, &links, 12).await.0, 404, "guest, excluded");
    assert_eq!(page(&app, &links, 13).await.0, 404, "deleted, always");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_shop_database_down_or_hanging_gives_na_and_recovers_by_itself() {
    let (db, url) = shop(20).await;
    let proxy = Proxy::start(db.host.clone()).await;
    let proxied = url.replace(&db.host, &format!("127.0.0.1:{}", proxy.port));
    let sandbox = Sandbox::new("[identity]\ntable_prefix = \"shop7_\"\n");
    let identity = sandbox
        .app()
        .roles("identity")
        .with(&shop_database(&proxied))
        .spawn()
        .await;
    let app = sandbox.app().with(&shop_database(&proxied)).spawn().await;
    let links = sandbox.links(&app.base());
    let internal = format!("{}/v1/identity/customers/3", identity.base());
    assert_eq!(client().get(&internal).send().await.unwrap().status(), 200);
    assert_eq!(
        player(&app, &links, 3).await["customer"]["firstname"],
        "First3"
    );

    for mode in [Mode::Down, Mode::Hang] {
        proxy.set(mode);
        // The identity role says it cannot answer (503, or 504 when the database hangs)...
        let status = status_of(client().get(&internal)).await;
        assert!(
            status == 503 || status == 504,
            "{mode:?}: identity answered {status}"
        );
        let ready = send(client().get(identity.ops().url("/readyz"))).await;
        assert_eq!(ready.status(), 503, "{mode:?}");
        // ...the page of a customer looked up a moment ago is whole (the web role keeps the
        // records it found for identity.cache_ttl)...
        let json = player(&app, &links, 3).await;
        assert_eq!(json["customer"]["firstname"], "First3", "{mode:?}: {json}");
        assert_eq!(json["can_play"], true, "{mode:?}: {json}");
        // ...and the page of one not looked up yet is still a 200, its identity panel N/A,
        // Play not offered.
        let fresh = if mode == Mode::Down { 4 } else { 5 };
        let (status, html) = page(&app, &links, fresh).await;
        assert_eq!(status, 200, "{mode:?}");
        assert!(
            html.contains("Your details cannot be shown right now"),
            "{mode:?}: {html}"
        );
        let json = player(&app, &links, fresh).await;
        assert!(json["unavailable"]["identity"].is_string(), "{json}");
        assert_eq!(json["can_play"], false);

        // The database comes back: everything recovers without a restart.
        proxy.set(Mode::Pass);
        wait_for(&format!("identity to recover after {mode:?}"), || async {
            let ok = client().get(&internal).send().await.ok()?.status() == 200;
            let json = player(&app, &links, fresh).await;
            (ok && json["customer"]["firstname"] == format!("First{fresh}")).then_some(())
        })
        .await;
    }
}

/// `cloudhp customers seed` makes a demo shop: PrestaShop's table in MariaDB, filled once, the
/// database URL read from a secret file (`_FILE`), as the deployed stack's seed job does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_makes_a_demo_shop_database_once_from_a_secret_file() {
    let db = MysqlDatabase::create("seed_").await;
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("shop_db_admin_url");
    std::fs::write(&secret, format!("{}\n", db.url())).unwrap();
    let seed = || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_cloudhp"))
            .env_clear()
            .env("CLOUDHP_IDENTITY__DATABASE_FILE", &secret)
            .env("CLOUDHP_IDENTITY__TABLE_PREFIX", "demo_")
            .args(["customers", "seed", "--count", "120"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        text
    };
    assert!(seed().contains("seeded 120 demo customers into demo_customer"));
    assert!(
        seed().contains("holds customers already"),
        "a second run adds nothing"
    );

    let pool = db.pool().await;
    let (rows, columns): (i64, i64) = (
        sqlx::query_scalar("SELECT COUNT(*) FROM demo_customer")
            .fetch_one(&pool)
            .await
            .unwrap(),
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM information_schema.columns \
             WHERE table_schema = DATABASE() AND table_name = 'demo_customer'",
        )
        .fetch_one(&pool)
        .await
        .unwrap(),
    );
    assert_eq!(rows, 120);
    assert_eq!(columns, 31, "every column of PrestaShop 1.6's ps_customer");
    pool.close().await;

    // The identity role reads the seeded shop.
    let sandbox = Sandbox::new("[identity]\ntable_prefix = \"demo_\"\n");
    let app = sandbox.app().with(&shop_database(&db.url())).spawn().await;
    let links = sandbox.links(&app.base());
    let json = player(&app, &links, 120).await;
    assert_eq!(json["customer"]["id"], 120, "{json}");
    assert_eq!(json["status"], "not_played", "{json}");
}

/// Readiness proves the configured customer table can be read, not only that the server
/// answers: a wrong `identity.table_prefix` is not ready, and the log says which table and key.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_wrong_table_prefix_is_not_ready_and_names_the_table_and_key() {
    let (_db, url) = shop(3).await;
    let sandbox = Sandbox::new("");
    for (prefix, ready) in [("ps_", 503), ("shop7_", 200)] {
        let identity = sandbox.serve(
            "identity",
            "127.0.0.1:0",
            &[
                ("CLOUDHP_IDENTITY__DATABASE", url.as_str()),
                ("CLOUDHP_IDENTITY__TABLE_PREFIX", prefix),
            ],
        );
        let answer = send(client().get(identity.ops().url("/readyz"))).await;
        assert_eq!(answer.status(), ready, "prefix {prefix}");
        if ready == 503 {
            let log = wait_for("the failed check in the log", || async {
                let log = identity.log();
                log.contains("readiness check failed").then_some(log)
            })
            .await;
            assert!(
                log.contains("the customer table ps_customer cannot be read")
                    && log.contains("identity.table_prefix"),
                "{log}"
            );
        }
    }
}
