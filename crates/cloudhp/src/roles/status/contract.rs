//! The behaviour of the status role, the same over both transports: one suite, run against the
//! local service and against the remote client calling the role's real API (local service →
//! its API on a port-0 listener → remote client).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use cloudhp_core::{
    Customer, CustomerId, DrawFailure, PlayState, PlayStatus, Prize, ReportHandle, ServiceError,
    StatusHandle, WinnerSearch,
};
use cloudhp_store::{Claim, LotteryDb, Pool, PoolSettings};
use time::OffsetDateTime;

use super::client::RemoteStatus;
use super::{LOTTERY_DB, STATUS_SERVICE, StatusService, api};
use crate::rpc::testing::{Transport, assert_down, transport_tests};

fn customer(n: u32) -> Customer {
    cloudhp_testkit::customer(n, "Martin")
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
    assert_down(status.status(stranger).await, LOTTERY_DB);
}

/// Runs `suite` on the status role over `transport` (its play status and its report), on a
/// fresh lottery database holding what `fixture` wrote (its answer passed on), with the
/// database's pool (closed to take it down).
async fn over_lottery<T>(
    transport: Transport,
    fixture: impl AsyncFnOnce(&LotteryDb) -> T,
    suite: impl AsyncFnOnce((StatusHandle, ReportHandle), T, Pool),
) {
    let dir = tempfile::tempdir().unwrap();
    let (db, pool) = lottery(dir.path()).await;
    let fixed = fixture(&db).await;
    let service = Arc::new(StatusService::new(db));
    let role = transport
        .over(
            STATUS_SERVICE,
            (service.clone() as StatusHandle, service as ReportHandle),
            |(status, report)| api::router(status, report),
            |c| {
                let remote = Arc::new(RemoteStatus(c));
                (remote.clone(), remote)
            },
        )
        .await;
    suite(role, fixed, pool).await;
}

/// The suite over `transport`, on the plays of [`plays`].
async fn honours_the_contract(transport: Transport) {
    over_lottery(transport, plays, async |(status, _), expected, pool| {
        suite(status, expected, pool).await;
    })
    .await;
}

/// The winners of the report's fixture: customer n won `prizes[n % 3]` at minute n of the
/// campaign; among them a name with a comma and quotes and one with wildcards of LIKE.
const WINNERS: u32 = 25;

fn winner(n: u32) -> Customer {
    let (firstname, lastname) = match n {
        7 => ("Jean, \"Jr\"".to_owned(), "Dupont".to_owned()),
        8 => ("100%_sure".to_owned(), "Percent".to_owned()),
        _ => (format!("First{n}"), format!("Last{n}")),
    };
    Customer {
        id: CustomerId::new(n).unwrap(),
        firstname,
        lastname,
        email: format!("winner{n}@example.com"),
        language: None,
    }
}

/// Winners 1 to [`WINNERS`], one draw still running (customer 100), one failed (101).
async fn report_fixture(db: &LotteryDb) -> OffsetDateTime {
    let start = time::macros::datetime!(2026-12-01 09:00 UTC);
    let lease = Duration::from_secs(600);
    let prizes = ["drone.jpg", "mug.jpg", "usbkey.jpg"];
    for n in 1..=WINNERS {
        let at = start + time::Duration::minutes(i64::from(n));
        let Claim::Acquired(token) = db.claim(&winner(n), at, lease, "t", 3).await.unwrap() else {
            panic!("claimed");
        };
        let prize = Prize::parse(prizes[(n % 3) as usize]).unwrap();
        db.complete(winner(n).id, &token, &prize, at).await.unwrap();
    }
    let now = OffsetDateTime::now_utc();
    db.claim(&customer(100), now, lease, "t", 3).await.unwrap();
    let Claim::Acquired(token) = db.claim(&customer(101), now, lease, "t", 3).await.unwrap() else {
        panic!("claimed");
    };
    db.fail(customer(101).id, &token, DrawFailure::WTimeout, "late", now)
        .await
        .unwrap();
    start
}

/// What every report does, wherever it runs.
async fn report_suite(report: ReportHandle, start: OffsetDateTime, pool: Pool) {
    let campaign = report.campaign().await.unwrap();
    assert_eq!(campaign.count("won"), u64::from(WINNERS));
    assert_eq!(campaign.count("drawing"), 1);
    assert_eq!(campaign.count("failed"), 1);
    let won: Vec<(&str, u64)> = campaign
        .prizes
        .iter()
        .map(|t| (t.prize.file(), t.won))
        .collect();
    assert_eq!(won, [("drone.jpg", 8), ("mug.jpg", 9), ("usbkey.jpg", 8)]);
    assert!(campaign.prizes.iter().all(|t| t.stock_left.is_none()));
    // One draw a minute from 09:01 to 09:25: 25 one-minute buckets of one draw.
    assert_eq!(campaign.pace.bucket_minutes, 1);
    assert_eq!(campaign.pace.buckets.len(), WINNERS as usize);
    assert_eq!(
        campaign.pace.buckets[0].start,
        start + time::Duration::MINUTE
    );
    assert!(campaign.pace.buckets.iter().all(|b| b.draws == 1));
    assert_eq!(campaign.backlog.pending, u64::from(WINNERS));

    // Pages, newest first.
    let search = |search: &str, page: u32, per_page: u32| WinnerSearch {
        search: search.into(),
        page,
        per_page,
    };
    let first = report.winners(&search("", 1, 10)).await.unwrap();
    assert_eq!((first.total, first.pages()), (u64::from(WINNERS), 3));
    let ids: Vec<u32> = first.winners.iter().map(|w| w.customer.id.get()).collect();
    assert_eq!(ids, (16..=25).rev().collect::<Vec<_>>());
    let last = report.winners(&search("", 3, 10)).await.unwrap();
    assert_eq!(last.winners.len(), 5);
    assert!(
        report
            .winners(&search("", 4, 10))
            .await
            .unwrap()
            .winners
            .is_empty()
    );
    // Searches: a name, case aside; an e-mail; an id; every word must match; LIKE's wildcards
    // are plain characters.
    let searches: [(&str, &[u32]); 7] = [
        ("DUPONT", &[7]),
        ("winner12@", &[12]),
        ("13", &[13]),
        ("jean dupont", &[7]),
        ("jean last9", &[]),
        ("0%_", &[8]),
        ("%", &[8]),
    ];
    for (query, expected) in searches {
        let page = report.winners(&search(query, 1, 10)).await.unwrap();
        let found: Vec<u32> = page.winners.iter().map(|w| w.customer.id.get()).collect();
        assert_eq!(found, expected, "search {query:?}");
    }
    assert_eq!(
        report.winners(&search("", 0, 10)).await.map(|_| ()),
        Err(ServiceError::invalid(format!(
            "page must be at least 1 and per_page between 1 and {}",
            WinnerSearch::MAX_PER_PAGE
        )))
    );

    // The export's walk, by id, a page at a time.
    let walked =
        cloudhp_testkit::walk_winners(async |after| report.winners_after(after, 10).await.unwrap())
            .await;
    let ids: Vec<u32> = walked.iter().map(|w| w.customer.id.get()).collect();
    assert_eq!(ids, (1..=WINNERS).collect::<Vec<_>>());
    assert_eq!(walked[6].customer, winner(7), "the customer as recorded");
    assert_eq!(walked[0].played_at, start + time::Duration::MINUTE);
    assert!(matches!(
        report.winners_after(None, 0).await,
        Err(ServiceError::Invalid { .. })
    ));

    pool.close().await;
    assert_down(report.campaign().await, LOTTERY_DB);
    assert_down(report.winners_after(None, 10).await, LOTTERY_DB);
}

/// The report suite over `transport`, on the winners of [`report_fixture`].
async fn the_report_honours_the_contract(transport: Transport) {
    over_lottery(
        transport,
        report_fixture,
        async |(_, report), start, pool| {
            report_suite(report, start, pool).await;
        },
    )
    .await;
}

transport_tests! {
    honours_the_contract:
        the_local_status_role_honours_the_contract,
        the_remote_status_role_honours_the_contract;
    the_report_honours_the_contract:
        the_local_report_honours_the_contract,
        the_remote_report_honours_the_contract;
}
