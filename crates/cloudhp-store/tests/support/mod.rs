//! Opens a fresh database of each backend for one test.

#![allow(dead_code)]

use cloudhp_store::{LotteryDb, PoolSettings};

/// Keeps what the database lives in until the test ends, and removes it then.
pub enum Guard {
    Dir(#[allow(dead_code)] tempfile::TempDir),
    Mysql(#[allow(dead_code)] cloudhp_testkit::MysqlDatabase),
}

pub async fn sqlite_lottery() -> (LotteryDb, Guard) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("lottery.db").display());
    let db = LotteryDb::connect_lazy(&url, &PoolSettings::default()).unwrap();
    db.migrate().await.unwrap();
    (db, Guard::Dir(dir))
}

pub async fn mysql_lottery() -> (LotteryDb, Guard) {
    let database = cloudhp_testkit::MysqlDatabase::create("lottery_").await;
    let db = LotteryDb::connect_lazy(&database.url(), &PoolSettings::default()).unwrap();
    db.migrate().await.unwrap();
    (db, Guard::Mysql(database))
}
