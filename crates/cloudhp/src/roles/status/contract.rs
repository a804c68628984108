//! The behaviour of the status role, the same over both transports: one suite, run against the
//! local service and against the remote client calling the role's real API (local service →
//! its API on a port-0 listener → remote client).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use cloudhp_core::{
    Customer, CustomerId, DrawFailure, PlayState, PlayStatus, Prize, ServiceError, StatusHandle,
};
use cloudhp_store::{Claim, LotteryDb, Pool, PoolSettings};
use time::OffsetDateTime;

use super::client::RemoteStatus;
use super::{LOTTERY_DB, STATUS_SERVICE, StatusService, api};
use crate::rpc::testing;

fn customer(n: u32) -> Customer {
    Customer {
        id: CustomerId::new(n).unwrap(),
        firstname: "Zoé".into(),
        lastname: "Martin".into(),
        email: format!("c{n}@example.com"),
        language: None,
    }
}

/// A migrated lottery database in `dir`, and its pool (closed to take it down).
pub(crate) async fn lottery(dir: &Path) -> (LotteryDb, Pool) {
    let url = format!("sqlite://{}", dir.join("lottery.db").display());
    let pool = Pool::connect_lazy(&url, &PoolSettings::default()).unwrap();
    let db = LotteryDb::from_pool(pool.clone());
    db.migrate().await.unwrap();
    (db, pool)
}

/// Customer 1 won, 2 is drawing, 3 failed; 4 never played. Returns what the status role says
/// of each of the first three.
async fn plays(db: &LotteryDb) -> Vec<PlayStatus> {
    let now = OffsetDateTime::now_utc();
    let lease = Duration::from_secs(60);
    let mut tokens = Vec::new();
    for n in 1..=3 {
        let Claim::Acquired(token) = db.claim(&customer(n), now, lease, "test", 3).await.unwrap()
        else {
            panic!("customer {n} was claimed already");
        };
        tokens.push(token);
    }
    let prize = Prize::parse("drone.jpg").unwrap();
    db.complete(customer(1).id, &tokens[0], &prize, now)
        .await
        .unwrap();
    db.fail(
        customer(3).id,
        &tokens[2],
        DrawFailure::WFailed,
        "W failed",
        now,
    )
    .await
    .unwrap();
    let mut statuses = Vec::new();
    for n in 1..=3 {
        statuses.push(
            db.record(customer(n).id)
                .await
                .unwrap()
                .unwrap()
                .to_status(),
        );
    }
    statuses
}

/// What every status role does, wherever it runs.
async fn suite(status: StatusHandle, expected: Vec<PlayStatus>, pool: Pool) {
    let states: Vec<PlayState> = expected.iter().map(|s| s.state).collect();
    assert_eq!(
        states,
        [PlayState::Won, PlayState::Drawing, PlayState::NotPlayed],
        "the fixture"
    );
    for want in expected {
        assert_eq!(status.status(want.customer_id).await, Ok(want));
    }
    let stranger = customer(4).id;
    assert_eq!(
        status.status(stranger).await,
        Ok(PlayStatus::not_played(stranger))
    );
    pool.close().await;
    assert_eq!(
        status.status(stranger).await,
        Err(ServiceError::unavailable(LOTTERY_DB)),
        "the lottery database is down"
    );
}

#[tokio::test]
async fn the_local_status_role_honours_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let (db, pool) = lottery(dir.path()).await;
    let expected = plays(&db).await;
    suite(Arc::new(StatusService::new(db)), expected, pool).await;
}

#[tokio::test]
async fn the_remote_status_role_honours_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let (db, pool) = lottery(dir.path()).await;
    let expected = plays(&db).await;
    let remote = testing::serve(
        STATUS_SERVICE,
        api::router(Arc::new(StatusService::new(db))),
    )
    .await;
    suite(Arc::new(RemoteStatus(remote)), expected, pool).await;
}
