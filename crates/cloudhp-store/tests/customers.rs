//! The customer database: a customer's language from PrestaShop's `<prefix>lang`.

use cloudhp_core::CustomerId;
use cloudhp_store::{CustomerDb, Pool, PoolSettings, TablePrefix};
use sqlx::{AssertSqlSafe, Executor};

fn id(n: u32) -> CustomerId {
    CustomerId::new(n).unwrap()
}

async fn language(db: &CustomerDb, n: u32) -> Option<String> {
    db.find(id(n)).await.unwrap().unwrap().customer.language
}

#[tokio::test]
async fn the_embedded_demo_shop_speaks_english_and_french() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("c.db").display());
    let pool = Pool::connect_lazy(&url, &PoolSettings::default()).unwrap();
    let db = CustomerDb::new(pool, TablePrefix::parse("ps_").unwrap());
    db.create_embedded_table().await.unwrap();
    db.seed_demo(400).await.unwrap();
    assert_eq!(language(&db, 1).await.as_deref(), Some("en"));
    assert_eq!(language(&db, 99).await.as_deref(), Some("en"));
    assert_eq!(language(&db, 102).await.as_deref(), Some("fr"));
    assert_eq!(language(&db, 103).await.as_deref(), Some("en"));
}

/// On a shop database the account may read the customer table only: customers are still
/// found, without a language (the page follows the browser). Granted `<prefix>lang` too, they
/// have theirs.
#[tokio::test]
async fn a_shop_account_without_the_language_table_still_finds_customers() {
    let database = cloudhp_testkit::MysqlDatabase::create("shoplang_").await;
    let admin_pool = Pool::connect_lazy(&database.url(), &PoolSettings::default()).unwrap();
    let admin = CustomerDb::new(admin_pool, TablePrefix::parse("xy_").unwrap());
    admin.create_table().await.unwrap();
    admin.seed_demo(200).await.unwrap();
    assert_eq!(language(&admin, 102).await.as_deref(), Some("fr"));

    let user = cloudhp_testkit::unique("lang_");
    let server = database.admin().await;
    for host in ["127.0.0.1", "localhost"] {
        for sql in [
            format!("CREATE USER '{user}'@'{host}' IDENTIFIED BY 'pw'"),
            format!(
                "GRANT SELECT ON `{}`.`xy_customer` TO '{user}'@'{host}'",
                database.name
            ),
        ] {
            server.execute(AssertSqlSafe(sql)).await.unwrap();
        }
    }
    let url = format!("mysql://{user}:pw@{}/{}", database.host, database.name);
    let open = || {
        let pool = Pool::connect_lazy(
            &url,
            &PoolSettings {
                read_only: true,
                ..PoolSettings::default()
            },
        )
        .unwrap();
        CustomerDb::new(pool, TablePrefix::parse("xy_").unwrap())
    };
    let reader = open();
    let found = reader.find(id(102)).await.unwrap().unwrap();
    assert!(!found.customer.firstname.is_empty());
    assert_eq!(found.customer.language, None);

    for host in ["127.0.0.1", "localhost"] {
        server
            .execute(AssertSqlSafe(format!(
                "GRANT SELECT ON `{}`.`xy_lang` TO '{user}'@'{host}'",
                database.name
            )))
            .await
            .unwrap();
    }
    let reader = open();
    assert_eq!(language(&reader, 102).await.as_deref(), Some("fr"));
    assert_eq!(language(&reader, 101).await.as_deref(), Some("en"));
    for host in ["127.0.0.1", "localhost"] {
        let _ = server
            .execute(AssertSqlSafe(format!("DROP USER '{user}'@'{host}'")))
            .await;
    }
}
