//! Prizes in the lottery database: stock taken in the transaction that records a win, the
//! catalog's stock brought in step without forgetting what was won, and "no prize" results.
//! One suite, run against every backend.

mod support;

use cloudhp_core::{CustomerId, PlayState, Prize};
use cloudhp_store::{
    Claim, ClaimToken, Completion, LotteryDb, Outcome, Pool, PoolSettings, PrizeStock, RecordState,
    StockSpec,
};

use support::{LEASE, MAX, customer, t0};

fn prize(file: &str) -> Prize {
    Prize::parse(file).unwrap()
}

fn limited(file: &str, stock: Option<u64>) -> StockSpec {
    StockSpec {
        prize: prize(file),
        name: Some(format!("The {file}")),
        stock,
    }
}

fn won(file: &str) -> Outcome {
    Outcome::Won {
        prize: prize(file),
        name: Some(format!("The {file}")),
    }
}

async fn claim(db: &LotteryDb, id: u32) -> ClaimToken {
    match db
        .claim(&customer(id), t0(), LEASE, "p1", MAX)
        .await
        .unwrap()
    {
        Claim::Acquired(token) => token,
        other => panic!("expected to acquire the claim, got {other:?}"),
    }
}

/// Brings the stock in step with a catalog of `prizes`.
async fn sync(db: &LotteryDb, prizes: &[StockSpec]) {
    db.sync_stock(prizes, t0()).await.unwrap();
}

async fn stock_of(db: &LotteryDb, file: &str) -> PrizeStock {
    db.prize_stock()
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.spec.prize.file() == file)
        .unwrap_or_else(|| panic!("{file} is not listed"))
}

/// 200 draws of a prize of stock 10, recorded at once: exactly 10 are won, each with its
/// notification; the others are told it is out of stock, their claims still held.
async fn a_limited_prize_is_won_exactly_its_stock_under_concurrency(db: LotteryDb) {
    sync(&db, &[limited("drone.jpg", Some(10))]).await;
    let mut tokens = Vec::new();
    for id in 1..=200 {
        tokens.push((id, claim(&db, id).await));
    }
    let tasks: Vec<_> = tokens
        .into_iter()
        .map(|(id, token)| {
            let db = db.clone();
            tokio::spawn(async move {
                let id = CustomerId::new(id).unwrap();
                let done = db
                    .record_outcome(id, &token, &won("drone.jpg"), t0())
                    .await
                    .unwrap();
                (id, token, done)
            })
        })
        .collect();
    let mut recorded = 0;
    let mut out_of_stock = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            (_, _, Completion::Recorded) => recorded += 1,
            (id, token, Completion::OutOfStock) => out_of_stock.push((id, token)),
            (id, _, other) => panic!("customer {id}: {other:?}"),
        }
    }
    assert_eq!(recorded, 10);
    let stock = stock_of(&db, "drone.jpg").await;
    assert_eq!(
        (stock.won, stock.spec.stock, stock.left()),
        (10, Some(10), Some(0))
    );
    assert_eq!(stock.spec.name.as_deref(), Some("The drone.jpg"));
    assert_eq!(db.outbox_counts().await.unwrap().pending, 10);

    // The claims that found no stock are still held: the fallback is recorded on them.
    for (id, token) in &out_of_stock {
        let record = db.record(*id).await.unwrap().unwrap();
        assert_eq!(record.state, RecordState::Drawing);
        let fallback = Outcome::NoPrize { picture: None };
        assert_eq!(
            db.record_outcome(*id, token, &fallback, t0())
                .await
                .unwrap(),
            Completion::Recorded
        );
    }
    assert_eq!(db.outbox_counts().await.unwrap().pending, 10);
    assert_eq!(stock_of(&db, "drone.jpg").await.won, 10);
    let counts = db.play_counts().await.unwrap();
    assert_eq!((counts.won, counts.no_prize, counts.drawing), (10, 190, 0));
}

/// "No prize" is played (the status records the date, a new click does not draw again) but
/// is not a win: no notification.
async fn no_prize_is_played_but_not_a_win(db: LotteryDb) {
    let c = customer(7);
    let token = claim(&db, 7).await;
    let outcome = Outcome::NoPrize {
        picture: Some(prize("no-prize.jpg")),
    };
    let later = t0() + time::Duration::seconds(4);
    assert_eq!(
        db.record_outcome(c.id, &token, &outcome, later)
            .await
            .unwrap(),
        Completion::Recorded
    );
    let record = db.record(c.id).await.unwrap().unwrap();
    assert_eq!(record.state, RecordState::NoPrize);
    let status = record.to_status();
    assert_eq!(status.state, PlayState::NoPrize);
    assert_eq!(status.played_at, Some(later));
    assert_eq!(status.requested_at, Some(t0()));
    assert_eq!(status.prize, Some(prize("no-prize.jpg")));
    assert!(status.shows_picture());
    assert_eq!(db.outbox_counts().await.unwrap().pending, 0);
    // Played: a new click finds the result, draws nothing.
    match db.claim(&c, later, LEASE, "p1", MAX).await.unwrap() {
        Claim::Played(r) => assert_eq!(r.state, RecordState::NoPrize),
        other => panic!("expected the draw to be over, got {other:?}"),
    }
    // A "no prize" reached by the fallback, its stored picture not shown.
    let token = claim(&db, 8).await;
    let id = CustomerId::new(8).unwrap();
    let plain = Outcome::NoPrize { picture: None };
    db.record_outcome(id, &token, &plain, t0()).await.unwrap();
    let status = db.record(id).await.unwrap().unwrap().to_status();
    assert_eq!(
        (status.state, status.shows_picture()),
        (PlayState::NoPrize, false)
    );
}

/// Start-up brings the stock in step with the catalog and never forgets what was won: a prize
/// already won before it was listed, a stock raised and lowered, several processes syncing at
/// once, a prize dropped from the catalog.
async fn stock_sync_keeps_what_was_won(db: LotteryDb) {
    // Three wins of a prize nobody listed yet: unlimited.
    for id in 1..=3 {
        let token = claim(&db, id).await;
        let id = CustomerId::new(id).unwrap();
        assert_eq!(
            db.record_outcome(id, &token, &won("camera.jpg"), t0())
                .await
                .unwrap(),
            Completion::Recorded
        );
    }
    sync(&db, &[limited("camera.jpg", Some(5))]).await;
    let stock = stock_of(&db, "camera.jpg").await;
    assert_eq!((stock.won, stock.left()), (3, Some(2)));

    // Lowered under what was won: none left, and a win is refused.
    sync(&db, &[limited("camera.jpg", Some(2))]).await;
    let stock = stock_of(&db, "camera.jpg").await;
    assert_eq!(
        (stock.won, stock.spec.stock, stock.left()),
        (3, Some(2), Some(0))
    );
    let token = claim(&db, 4).await;
    let four = CustomerId::new(4).unwrap();
    assert_eq!(
        db.record_outcome(four, &token, &won("camera.jpg"), t0())
            .await
            .unwrap(),
        Completion::OutOfStock
    );

    // Several processes starting together with a raised stock: one row, the wins kept.
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let db = db.clone();
            tokio::spawn(async move {
                db.sync_stock(
                    &[
                        limited("camera.jpg", Some(10)),
                        limited("usb-key.jpg", None),
                    ],
                    t0(),
                )
                .await
                .unwrap()
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let all = db.prize_stock().await.unwrap();
    assert_eq!(all.len(), 2, "{all:?}");
    let stock = stock_of(&db, "camera.jpg").await;
    assert_eq!((stock.won, stock.left()), (3, Some(7)));
    assert_eq!(
        db.record_outcome(four, &token, &won("camera.jpg"), t0())
            .await
            .unwrap(),
        Completion::Recorded
    );
    assert_eq!(stock_of(&db, "camera.jpg").await.won, 4);
    // Unlimited prizes count their wins too.
    let token = claim(&db, 5).await;
    db.record_outcome(
        CustomerId::new(5).unwrap(),
        &token,
        &won("usb-key.jpg"),
        t0(),
    )
    .await
    .unwrap();
    let key = stock_of(&db, "usb-key.jpg").await;
    assert_eq!((key.won, key.spec.stock, key.left()), (1, None, None));

    // Dropped from the catalog: unlimited, its wins still counted.
    sync(&db, &[limited("usb-key.jpg", None)]).await;
    let stock = stock_of(&db, "camera.jpg").await;
    assert_eq!((stock.won, stock.spec.stock), (4, None));
}

support::lottery_backends!(
    a_limited_prize_is_won_exactly_its_stock_under_concurrency,
    no_prize_is_played_but_not_a_win,
    stock_sync_keeps_what_was_won,
);

/// The plays of a database migrated up to the version before the prizes (0004) survive the
/// migration that adds them, on each backend: SQLite rebuilds `plays` for its new CHECK
/// constraint, MariaDB alters it in place.
async fn plays_recorded_before_the_prizes_migration_survive_it(pool: Pool, backend: &str) {
    let older = tempfile::tempdir().unwrap();
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    for entry in std::fs::read_dir(&source).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if name.as_str() < "0005" {
            std::fs::copy(&path, older.path().join(name)).unwrap();
        }
    }
    let before = sqlx::migrate::Migrator::new(older.path()).await.unwrap();
    // Won, failed, and a draw still in progress (its lease long expired).
    let rows = "INSERT INTO plays (customer_id, state, claim_token, lease_until, attempts, \
         requested_at, played_at, prize, firstname, lastname, email, updated_at, holder, failure) \
         VALUES (1, 'won', 'a', 0, 1, 1000, 2000, 'usb-key.jpg', 'Zoé', 'M', 'z@x.org', 1, 'p1', \
         NULL), (2, 'failed', 'b', 0, 1, 1000, NULL, NULL, 'Zoé', 'M', 'z@x.org', 1, 'p1', \
         'w_timeout'), (3, 'drawing', 'c', 0, 1, 1000, NULL, NULL, 'Zoé', 'M', 'z@x.org', 1, 'p1', \
         NULL)";
    match &pool {
        Pool::Sqlite(p) => {
            before.run(p).await.unwrap();
            sqlx::query(rows).execute(p).await.unwrap();
        }
        Pool::MySql(p) => {
            before.run(p).await.unwrap();
            sqlx::query(rows).execute(p).await.unwrap();
        }
    }
    let db = LotteryDb::from_pool(pool);
    db.migrate().await.unwrap();

    let record = async |n| {
        db.record(CustomerId::new(n).unwrap())
            .await
            .unwrap()
            .unwrap()
    };
    let won = record(1).await;
    assert_eq!(won.state, RecordState::Won);
    assert_eq!(won.prize, Some(prize("usb-key.jpg")));
    assert_eq!(won.holder.as_deref(), Some("p1"));
    let failed = record(2).await;
    assert_eq!(failed.state, RecordState::Failed);
    assert_eq!(failed.failure, Some(cloudhp_core::DrawFailure::WTimeout));
    // The draw in progress can end with no prize, which the new constraint allows.
    let token = match db
        .claim(&customer(3), t0(), LEASE, "p1", MAX)
        .await
        .unwrap()
    {
        Claim::Acquired(token) => token,
        other => panic!("the expired claim is taken over, got {other:?}"),
    };
    let none = Outcome::NoPrize { picture: None };
    assert_eq!(
        db.record_outcome(CustomerId::new(3).unwrap(), &token, &none, t0())
            .await
            .unwrap(),
        Completion::Recorded
    );
    // The win recorded before counts once its prize is listed.
    sync(&db, &[limited("usb-key.jpg", Some(4))]).await;
    assert_eq!(stock_of(&db, "usb-key.jpg").await.left(), Some(3));
    let counts = db.play_counts().await.unwrap();
    assert_eq!((counts.won, counts.no_prize, counts.failed), (1, 1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn plays_survive_the_prizes_migration_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("lottery.db").display());
    let pool = Pool::connect_lazy(&url, &PoolSettings::default()).unwrap();
    plays_recorded_before_the_prizes_migration_survive_it(pool, "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn plays_survive_the_prizes_migration_on_mariadb() {
    let database = cloudhp_testkit::MysqlDatabase::create("lottery_").await;
    let pool = Pool::connect_lazy(&database.url(), &PoolSettings::default()).unwrap();
    plays_recorded_before_the_prizes_migration_survive_it(pool, "mysql").await;
}
