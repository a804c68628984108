//! Opens a fresh database of each backend for one test.

use cloudhp_store::{LotteryDb, PoolSettings};

/// Keeps what the database lives in until the test ends.
pub struct Guard {
    _dir: tempfile::TempDir,
}

pub async fn sqlite_lottery() -> (LotteryDb, Guard) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("lottery.db").display());
    let db = LotteryDb::connect_lazy(&url, &PoolSettings::default()).unwrap();
    db.migrate().await.unwrap();
    (db, Guard { _dir: dir })
}
