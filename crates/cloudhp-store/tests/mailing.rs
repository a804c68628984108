//! The campaign mailing's progress in the lottery database, on every backend.

mod support;

use cloudhp_core::CustomerId;
use cloudhp_store::{LotteryDb, MailingProgress, MailingRecord, MailingState};
use time::OffsetDateTime;

fn id(n: u32) -> CustomerId {
    CustomerId::new(n).unwrap()
}

fn t0() -> OffsetDateTime {
    time::macros::datetime!(2026-11-25 10:00:00 UTC)
}

/// Of concurrent runs that read the same row, exactly one begins each attempt.
async fn one_run_begins_each_attempt(db: LotteryDb) {
    let begins = begin_concurrently(&db, None).await;
    assert_eq!(
        begins.iter().filter(|b| b.is_some()).count(),
        1,
        "{begins:?}"
    );
    assert_eq!(begins.into_iter().flatten().next(), Some(1));

    let row = db.mailing_record("spring", id(1)).await.unwrap().unwrap();
    assert_eq!((row.state, row.attempts), (MailingState::Sending, 1));
    let settle = |attempt, to, error| {
        db.mailing_settle(
            "spring",
            id(1),
            MailingState::Sending,
            attempt,
            to,
            error,
            t0(),
        )
    };
    assert!(
        settle(1, MailingState::Failed, Some("451 busy"))
            .await
            .unwrap()
    );
    // The failed row is begun again, once, as attempt 2.
    let row = db.mailing_record("spring", id(1)).await.unwrap().unwrap();
    let begins = begin_concurrently(&db, Some(&row)).await;
    assert_eq!(begins.into_iter().flatten().collect::<Vec<_>>(), [2]);
    // A stale settle (attempt 1) changes nothing.
    assert!(!settle(1, MailingState::Sent, None).await.unwrap());
    assert!(settle(2, MailingState::Sent, None).await.unwrap());
    let row = db.mailing_record("spring", id(1)).await.unwrap().unwrap();
    assert_eq!(row.state, MailingState::Sent);
    assert_eq!(row.sent_at, Some(t0()));
    assert_eq!(row.last_error, None);
}

/// Eight runs begin customer 1's attempt at once, each having read `seen`.
async fn begin_concurrently(db: &LotteryDb, seen: Option<&MailingRecord>) -> Vec<Option<u32>> {
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (db, seen) = (db.clone(), seen.cloned());
            tokio::spawn(async move {
                db.mailing_begin("spring", id(1), seen.as_ref(), t0())
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut out = Vec::new();
    for task in tasks {
        out.push(task.await.unwrap());
    }
    out
}

/// Progress counts each state, per campaign; campaigns are listed.
async fn progress_counts_each_state_per_campaign(db: LotteryDb) {
    let states = [
        MailingState::Sent,
        MailingState::Sent,
        MailingState::Failed,
        MailingState::Rejected,
        MailingState::Uncertain,
        MailingState::Sending,
    ];
    for (n, state) in (1..).zip(states) {
        assert_eq!(
            db.mailing_begin("spring", id(n), None, t0()).await.unwrap(),
            Some(1)
        );
        if state != MailingState::Sending {
            assert!(
                db.mailing_settle(
                    "spring",
                    id(n),
                    MailingState::Sending,
                    1,
                    state,
                    Some("why"),
                    t0()
                )
                .await
                .unwrap()
            );
        }
    }
    db.mailing_begin("autumn", id(1), None, t0()).await.unwrap();
    let progress = db.mailing_progress("spring").await.unwrap();
    assert_eq!(
        progress,
        MailingProgress {
            sending: 1,
            sent: 2,
            failed: 1,
            rejected: 1,
            uncertain: 1,
        }
    );
    assert_eq!(progress.total(), 6);
    assert_eq!(progress.get(MailingState::Sent), 2);
    assert_eq!(
        db.mailing_progress("winter").await.unwrap(),
        MailingProgress::default()
    );
    assert_eq!(db.mailing_campaigns().await.unwrap(), ["autumn", "spring"]);
    let page = db.mailing_records("spring", id(2), id(4)).await.unwrap();
    assert_eq!(page.len(), 3);
    assert_eq!(page[&id(3)].state, MailingState::Failed);
    assert_eq!(page[&id(3)].last_error.as_deref(), Some("why"));
}

macro_rules! mailing_suite {
    ($backend:ident, $open:path) => {
        mod $backend {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn one_run_begins_each_attempt() {
                let (db, _guard) = $open().await;
                super::one_run_begins_each_attempt(db).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn progress_counts_each_state_per_campaign() {
                let (db, _guard) = $open().await;
                super::progress_counts_each_state_per_campaign(db).await;
            }
        }
    };
}

mailing_suite!(sqlite, crate::support::sqlite_lottery);
mailing_suite!(mysql, crate::support::mysql_lottery);
