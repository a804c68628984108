//! Opens a fresh database of each backend for one test.

#![allow(dead_code)]

use std::time::Duration;

use cloudhp_core::Customer;
use cloudhp_store::{LotteryDb, PoolSettings};
use time::OffsetDateTime;

/// The lease of the tests' claims.
pub const LEASE: Duration = Duration::from_secs(60);
/// `play.max_attempts` of the tests that do not exhaust it.
pub const MAX: u32 = 5;

pub fn customer(id: u32) -> Customer {
    cloudhp_testkit::customer(id, "<b>O'Brien</b>")
}

pub fn t0() -> OffsetDateTime {
    time::macros::datetime!(2026-11-25 10:00:00 UTC)
}

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

/// Instantiates the given suite functions as tests on each lottery backend (SQLite, MariaDB).
// Not every test file of this folder has a suite.
#[allow(unused_macros)]
macro_rules! lottery_backends {
    ($($name:ident),* $(,)?) => {
        cloudhp_testkit::backend_suite! {
            threads = 4,
            tests = [$($name),*],
            backends {
                sqlite: $crate::support::sqlite_lottery,
                mysql: $crate::support::mysql_lottery,
            }
        }
    };
}
#[allow(unused_imports)]
pub(crate) use lottery_backends;
