//! The behaviour of the lottery database: one suite, run against every backend.
//!
//! Time is passed explicitly, so leases expire by moving `now`, not by sleeping.

mod support;

use cloudhp_core::{Customer, CustomerId, DrawFailure, PlayState, Prize};
use cloudhp_store::{Claim, ClaimToken, Completion, LotteryDb, PlayRecord, RecordState, TakeOver};

use support::{LEASE, MAX, customer, t0};
use time::OffsetDateTime;

fn secs(n: i64) -> time::Duration {
    time::Duration::seconds(n)
}

fn prize() -> Prize {
    Prize::parse("usb-key.jpg").unwrap()
}

fn acquired(claim: Claim) -> ClaimToken {
    match claim {
        Claim::Acquired(token) => token,
        other => panic!("expected to acquire the claim, got {other:?}"),
    }
}

fn taken(take_over: Option<TakeOver>) -> (ClaimToken, PlayRecord) {
    match take_over {
        Some(TakeOver::Acquired(token, record)) => (token, record),
        other => panic!("expected to take the claim over, got {other:?}"),
    }
}

fn given_up(take_over: Option<TakeOver>) -> PlayRecord {
    match take_over {
        Some(TakeOver::GaveUp(record)) => record,
        other => panic!("expected the draw to be given up, got {other:?}"),
    }
}

/// Claims the draw of `c` at `at` as the holder `p1`.
async fn claim(db: &LotteryDb, c: &Customer, at: OffsetDateTime) -> Claim {
    db.claim(c, at, LEASE, "p1", MAX).await.unwrap()
}

/// Customers `ids` win at `t0`, each queueing a winner notification.
async fn winners(db: &LotteryDb, ids: std::ops::Range<u32>) {
    for id in ids {
        let c = customer(id);
        let token = acquired(claim(db, &c, t0()).await);
        db.complete(c.id, &token, &prize(), t0()).await.unwrap();
    }
}

async fn first_claim_draws_and_later_ones_see_it(db: LotteryDb) {
    let c = customer(1);
    assert_eq!(db.record(c.id).await.unwrap(), None);
    let token = acquired(claim(&db, &c, t0()).await);

    let Claim::Running(record) = claim(&db, &c, t0() + secs(1)).await else {
        panic!("a second claim during the draw must see it running");
    };
    assert_eq!(record.state, RecordState::Drawing);
    assert_eq!(record.to_status().state, PlayState::Drawing);
    assert_eq!(record.customer, c);

    let done = db
        .complete(c.id, &token, &prize(), t0() + secs(5))
        .await
        .unwrap();
    assert_eq!(done, Completion::Recorded);

    let Claim::Played(record) = claim(&db, &c, t0() + secs(9)).await else {
        panic!("a claim after the result must see it played");
    };
    let status = record.to_status();
    assert_eq!(status.state, PlayState::Won);
    assert_eq!(status.prize, Some(prize()));
    assert_eq!(status.requested_at, Some(t0()));
    assert_eq!(status.played_at, Some(t0() + secs(5)));

    // The result and its notification were committed together: exactly one entry.
    let counts = db.outbox_counts().await.unwrap();
    assert_eq!((counts.pending, counts.delivered), (1, 0));
    let leased = db
        .lease_notifications("n1", t0() + secs(6), LEASE, 10)
        .await
        .unwrap();
    assert_eq!(leased.len(), 1);
    let notice = leased[0].winner().unwrap();
    assert_eq!(notice.customer, c);
    assert_eq!(notice.prize, prize());
    assert_eq!(notice.played_at, t0() + secs(5));
}

async fn concurrent_claims_acquire_once(db: LotteryDb) {
    let c = customer(2);
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let db = db.clone();
            let c = c.clone();
            tokio::spawn(async move { claim(&db, &c, t0()).await })
        })
        .collect();
    let mut acquired = 0;
    for task in tasks {
        match task.await.unwrap() {
            Claim::Acquired(_) => acquired += 1,
            Claim::Running(_) => {}
            Claim::Played(r) => panic!("nobody completed, yet {r:?}"),
        }
    }
    assert_eq!(acquired, 1);
}

async fn a_failed_draw_can_be_tried_again(db: LotteryDb) {
    let c = customer(3);
    let token = acquired(claim(&db, &c, t0()).await);
    assert!(
        db.fail(
            c.id,
            &token,
            DrawFailure::WFailed,
            "w answered 500",
            t0() + secs(2)
        )
        .await
        .unwrap()
    );
    let record = db.record(c.id).await.unwrap().unwrap();
    let status = record.to_status();
    assert_eq!(status.state, PlayState::NotPlayed);
    assert_eq!(status.prize, None);
    assert_eq!(status.last_failure_at, Some(t0() + secs(2)));
    assert_eq!(status.last_failure, Some(DrawFailure::WFailed));
    assert_eq!(record.failure, Some(DrawFailure::WFailed));
    assert_eq!(record.last_error.as_deref(), Some("w answered 500"));
    // No prize, no notification.
    assert_eq!(db.outbox_counts().await.unwrap().pending, 0);
    // The stale token can do nothing any more.
    assert_eq!(
        db.complete(c.id, &token, &prize(), t0() + secs(3))
            .await
            .unwrap(),
        Completion::LostClaim
    );

    let again = acquired(claim(&db, &c, t0() + secs(10)).await);
    let record = db.record(c.id).await.unwrap().unwrap();
    assert_eq!(
        record.attempts, 1,
        "a new draw after a failure counts its attempts anew"
    );
    assert_eq!(record.requested_at, t0() + secs(10));
    assert_eq!((record.failure, record.last_error), (None, None));
    assert_eq!(
        db.complete(c.id, &again, &prize(), t0() + secs(12))
            .await
            .unwrap(),
        Completion::Recorded
    );
}

async fn an_expired_claim_is_taken_over_and_fences_its_old_holder(db: LotteryDb) {
    let c = customer(4);
    let old = acquired(claim(&db, &c, t0()).await);
    // Within the lease nothing is expired.
    assert!(
        db.expired_claims(t0() + secs(30), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        db.take_over_expired(c.id, t0() + secs(30), LEASE, "p2", MAX)
            .await
            .unwrap()
            .is_none()
    );

    let later = t0() + secs(61);
    assert_eq!(db.expired_claims(later, 10).await.unwrap(), vec![c.id]);
    let (new, record) = taken(
        db.take_over_expired(c.id, later, LEASE, "p2", MAX)
            .await
            .unwrap(),
    );
    assert_eq!(record.customer, c);
    assert_eq!(record.attempts, 2);
    // A second recoverer loses.
    assert!(
        db.take_over_expired(c.id, later, LEASE, "p2", MAX)
            .await
            .unwrap()
            .is_none()
    );
    // The old holder can neither renew nor record.
    assert!(!db.renew(c.id, &old, later, LEASE).await.unwrap());
    assert!(
        !db.fail(c.id, &old, DrawFailure::WFailed, "late", later)
            .await
            .unwrap()
    );
    assert_eq!(
        db.complete(c.id, &old, &prize(), later).await.unwrap(),
        Completion::LostClaim
    );
    // The requested date of the customer's click is kept through the recovery.
    assert_eq!(db.record(c.id).await.unwrap().unwrap().requested_at, t0());
    assert!(db.renew(c.id, &new, later, LEASE).await.unwrap());
    assert_eq!(
        db.complete(c.id, &new, &prize(), later).await.unwrap(),
        Completion::Recorded
    );
    assert_eq!(db.outbox_counts().await.unwrap().pending, 1);
}

async fn a_customer_click_also_recovers_an_expired_claim(db: LotteryDb) {
    let c = customer(5);
    let _dead = acquired(claim(&db, &c, t0()).await);
    let token = acquired(claim(&db, &c, t0() + secs(120)).await);
    assert!(
        db.renew(c.id, &token, t0() + secs(121), LEASE)
            .await
            .unwrap()
    );
}

async fn a_claim_records_its_holder_and_a_take_over_changes_it(db: LotteryDb) {
    let c = customer(50);
    let first = acquired(db.claim(&c, t0(), LEASE, "play-1:abc", MAX).await.unwrap());
    let record = db.record(c.id).await.unwrap().unwrap();
    assert_eq!(record.holder.as_deref(), Some("play-1:abc"));

    // The lease ran out: another instance takes the claim over and becomes its holder.
    let later = t0() + secs(61);
    let (token, record) = taken(
        db.take_over_expired(c.id, later, LEASE, "play-2:def", MAX)
            .await
            .unwrap(),
    );
    assert_eq!(record.holder.as_deref(), Some("play-2:def"));
    assert!(!db.renew(c.id, &first, later, LEASE).await.unwrap());

    // A failed draw claimed again by a customer click belongs to the instance that claimed.
    assert!(
        db.fail(c.id, &token, DrawFailure::WFailed, "w down", later)
            .await
            .unwrap()
    );
    acquired(
        db.claim(&c, later + secs(1), LEASE, "play-3:ghi", MAX)
            .await
            .unwrap(),
    );
    let record = db.record(c.id).await.unwrap().unwrap();
    assert_eq!(record.holder.as_deref(), Some("play-3:ghi"));
    assert_eq!(record.attempts, 1);
}

async fn a_restarted_holder_takes_over_its_claims_whatever_the_lease(db: LotteryDb) {
    // Three draws of "me" interrupted by a crash, one of another instance, one of "me" done.
    let mut old = Vec::new();
    for id in [62u32, 60, 61] {
        old.push(acquired(
            db.claim(&customer(id), t0(), LEASE, "me", MAX)
                .await
                .unwrap(),
        ));
    }
    acquired(
        db.claim(&customer(63), t0(), LEASE, "other", MAX)
            .await
            .unwrap(),
    );
    let done = acquired(
        db.claim(&customer(64), t0(), LEASE, "me", MAX)
            .await
            .unwrap(),
    );
    db.complete(customer(64).id, &done, &prize(), t0())
        .await
        .unwrap();

    // Right after the restart, well within the lease: nothing is expired...
    let now = t0() + secs(2);
    assert!(db.expired_claims(now, 10).await.unwrap().is_empty());
    // ...but the claims of "me" are listed, page by page, by customer id.
    let ids = |held: &[cloudhp_store::HeldClaim]| -> Vec<u32> {
        held.iter().map(|h| h.customer_id.get()).collect()
    };
    let restart = now + LEASE;
    let page1 = db.held_claims("me", restart, None, 2).await.unwrap();
    assert_eq!(ids(&page1), vec![60, 61]);
    let page2 = db
        .held_claims("me", restart, Some(page1[1].customer_id), 2)
        .await
        .unwrap();
    assert_eq!(ids(&page2), vec![62]);
    assert_eq!(
        ids(&db.held_claims("other", restart, None, 10).await.unwrap()),
        vec![63]
    );
    assert!(
        db.held_claims("nobody", restart, None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // A draw the restarted process claimed itself is never listed: it is live.
    acquired(
        db.claim(&customer(65), now, LEASE, "me", MAX)
            .await
            .unwrap(),
    );
    assert_eq!(
        ids(&db.held_claims("me", restart, None, 10).await.unwrap()),
        vec![60, 61, 62]
    );

    let held = &page1[0];
    let c = customer(60);
    // Another instance cannot use "me"'s listing.
    assert!(
        db.take_over_held(held, "other", now, LEASE, MAX)
            .await
            .unwrap()
            .is_none()
    );
    // A held claim is taken over whatever its lease.
    let (token, record) = taken(
        db.take_over_held(held, "me", now, LEASE, MAX)
            .await
            .unwrap(),
    );
    assert_eq!(record.attempts, 2, "the take-over counts as an attempt");
    assert_eq!(record.holder.as_deref(), Some("me"));
    assert_eq!(record.requested_at, t0());
    // Taken over once: the same listing cannot take it again (the token changed).
    assert!(
        db.take_over_held(held, "me", now, LEASE, MAX)
            .await
            .unwrap()
            .is_none()
    );
    // The previous incarnation, were it still alive, is fenced off.
    assert!(!db.renew(c.id, &old[1], now, LEASE).await.unwrap());
    assert_eq!(
        db.complete(c.id, &old[1], &prize(), now).await.unwrap(),
        Completion::LostClaim
    );
    assert_eq!(
        db.complete(c.id, &token, &prize(), now).await.unwrap(),
        Completion::Recorded
    );
    // A claim completed meanwhile is not taken over.
    let stale = cloudhp_store::HeldClaim {
        customer_id: customer(64).id,
        token: done,
    };
    assert!(
        db.take_over_held(&stale, "me", now, LEASE, MAX)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(db.outbox_counts().await.unwrap().pending, 2);
}

async fn notifications_are_leased_once_and_retried(db: LotteryDb) {
    winners(&db, 10..13).await;
    let now = t0() + secs(1);
    let a = db.lease_notifications("a", now, LEASE, 2).await.unwrap();
    assert_eq!(a.len(), 2);
    let b = db.lease_notifications("b", now, LEASE, 10).await.unwrap();
    assert_eq!(b.len(), 1, "entries leased to a are not handed to b");
    assert!(a.iter().all(|n| !b.iter().any(|m| m.id == n.id)));

    db.mark_delivered(a[0].id, now).await.unwrap();
    db.mark_failed_delivery(a[1].id, "a", "smtp down", now + secs(30))
        .await
        .unwrap();
    // b's entry is still leased; a[1] waits for its retry time.
    assert!(
        db.lease_notifications("c", now + secs(5), LEASE, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let retried = db
        .lease_notifications("c", now + secs(31), LEASE, 10)
        .await
        .unwrap();
    assert_eq!(
        retried.iter().map(|n| n.id).collect::<Vec<_>>(),
        vec![a[1].id]
    );
    assert_eq!(retried[0].attempts, 1);
    // b died without acking: its lease expires and the entry is due again.
    let recovered = db
        .lease_notifications("d", now + secs(120), LEASE, 10)
        .await
        .unwrap();
    assert!(recovered.iter().any(|n| n.id == b[0].id));
    assert!(
        !recovered.iter().any(|n| n.id == a[0].id),
        "delivered entries never come back"
    );

    let counts = db.outbox_counts().await.unwrap();
    assert_eq!((counts.pending, counts.delivered), (2, 1));
}

/// Notifiers leasing at the same moment, each a batch at a time, share the entries out: each
/// is handed to exactly one of them, with its own payload.
async fn concurrent_notifiers_never_lease_one_entry_twice(db: LotteryDb) {
    winners(&db, 100..124).await;
    let now = t0() + secs(1);
    let leasers = (0..6).map(|n| {
        let db = db.clone();
        tokio::spawn(async move {
            let owner = format!("n{n}");
            let mut got = Vec::new();
            loop {
                let batch = db.lease_notifications(&owner, now, LEASE, 5).await.unwrap();
                if batch.is_empty() {
                    return got;
                }
                got.extend(batch);
            }
        })
    });
    let mut leased = Vec::new();
    for leaser in leasers.collect::<Vec<_>>() {
        leased.extend(leaser.await.unwrap());
    }
    let mut ids: Vec<i64> = leased.iter().map(|n| n.id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), leased.len(), "an entry was leased twice");
    assert_eq!(leased.len(), 24, "every entry is leased once");
    for n in &leased {
        assert!(
            n.payload
                .contains(&format!("c{}@example.com", n.customer_id.get())),
            "entry {} carries another customer's notice: {}",
            n.id,
            n.payload
        );
    }
}

/// A notifier leases what it listed only if nobody took it in between: two notifiers list the
/// same entries, one leases two of them first; the other then gets only the third, and the
/// entries come back to a lister once their lease ended, never once delivered.
async fn a_notifier_leases_none_of_what_another_took_since_it_listed(db: LotteryDb) {
    winners(&db, 60..63).await;
    let now = t0() + secs(1);
    let listed_by_b = db.due_notifications(now, 10).await.unwrap();
    assert_eq!(listed_by_b.len(), 3);
    let a = db.lease_notifications("a", now, LEASE, 2).await.unwrap();
    assert_eq!(a.len(), 2);

    let b = db
        .lease_listed("b", now, LEASE, &listed_by_b)
        .await
        .unwrap();
    let b_ids: Vec<i64> = b.iter().map(|n| n.id).collect();
    assert_eq!(
        b_ids,
        vec![listed_by_b[2]],
        "b gets only the entry a did not take"
    );
    assert!(
        db.lease_listed("c", now, LEASE, &listed_by_b)
            .await
            .unwrap()
            .is_empty()
    );

    // Once delivered, an entry is never leased again; once a lease ended, it is.
    db.mark_delivered(a[0].id, now).await.unwrap();
    let later = now + secs(120);
    let c = db
        .lease_listed("c", later, LEASE, &listed_by_b)
        .await
        .unwrap();
    let c_ids: Vec<i64> = c.iter().map(|n| n.id).collect();
    assert_eq!(c_ids, vec![a[1].id, listed_by_b[2]]);
}

async fn a_notifier_sends_only_what_it_still_holds(db: LotteryDb) {
    winners(&db, 40..41).await;
    let a = db.lease_notifications("a", t0(), LEASE, 10).await.unwrap();
    assert!(
        db.hold_notification(a[0].id, "a", t0() + secs(1), LEASE)
            .await
            .unwrap()
    );
    // a is slow: its lease runs out and b takes the entry.
    let later = t0() + secs(120);
    let b = db.lease_notifications("b", later, LEASE, 10).await.unwrap();
    assert_eq!(b[0].id, a[0].id);
    // a may not send it any more, nor reschedule it under b's feet; b may.
    assert!(
        !db.hold_notification(a[0].id, "a", later, LEASE)
            .await
            .unwrap()
    );
    db.mark_failed_delivery(a[0].id, "a", "late", later + secs(600))
        .await
        .unwrap();
    assert!(
        db.hold_notification(b[0].id, "b", later, LEASE)
            .await
            .unwrap()
    );
    db.mark_delivered(b[0].id, later).await.unwrap();
    // Delivered: nobody holds it again.
    assert!(
        !db.hold_notification(b[0].id, "b", later, LEASE)
            .await
            .unwrap()
    );
    assert_eq!(db.outbox_counts().await.unwrap().delivered, 1);
}

async fn expired_claims_are_listed_oldest_first(db: LotteryDb) {
    for (i, id) in [21u32, 20, 22].into_iter().enumerate() {
        db.claim(&customer(id), t0() + secs(i as i64), LEASE, "p1", MAX)
            .await
            .unwrap();
    }
    let ids: Vec<u32> = db
        .expired_claims(t0() + secs(100), 10)
        .await
        .unwrap()
        .into_iter()
        .map(CustomerId::get)
        .collect();
    assert_eq!(ids, vec![21, 20, 22]);
    assert_eq!(
        db.expired_claims(t0() + secs(100), 1).await.unwrap().len(),
        1
    );
}

async fn no_take_over_drives_a_draw_beyond_max_attempts(db: LotteryDb) {
    const MAX: u32 = 3;
    let c = customer(70);
    let first = acquired(claim(&db, &c, t0()).await);
    // Interrupted, then taken over by a sweeper (attempt 2) and by the customer's click
    // (attempt 3): each take-over counts, whoever makes it.
    let mut at = t0() + secs(61);
    let (second, record) = taken(
        db.take_over_expired(c.id, at, LEASE, "p2", MAX)
            .await
            .unwrap(),
    );
    assert_eq!(record.attempts, 2);
    at += secs(61);
    let third = acquired(db.claim(&c, at, LEASE, "p3", MAX).await.unwrap());
    let record = db.record(c.id).await.unwrap().unwrap();
    assert_eq!((record.state, record.attempts), (RecordState::Drawing, 3));
    assert_eq!(
        record.requested_at,
        t0(),
        "still the draw the customer asked for"
    );

    // Interrupted once more: the sweeper does not drive it a fourth time but gives it up.
    at += secs(61);
    let record = given_up(
        db.take_over_expired(c.id, at, LEASE, "p2", MAX)
            .await
            .unwrap(),
    );
    assert_eq!(record.state, RecordState::Failed);
    assert_eq!(record.attempts, MAX);
    assert_eq!(record.failure, Some(DrawFailure::Abandoned));
    assert_eq!(
        record.last_error.as_deref(),
        Some("gave up after 3 attempts")
    );
    assert_eq!(
        record.to_status().last_failure,
        Some(DrawFailure::Abandoned)
    );
    assert_eq!(record.to_status().state, PlayState::NotPlayed);
    assert_eq!(record.to_status().last_failure_at, Some(at));
    // Given up: nobody holds it, and no later take-over finds it.
    for token in [&first, &second, &third] {
        assert!(!db.renew(c.id, token, at, LEASE).await.unwrap());
    }
    assert!(
        db.take_over_expired(c.id, at + secs(61), LEASE, "p2", MAX)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        db.expired_claims(at + secs(61), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(db.outbox_counts().await.unwrap().pending, 0);

    // The customer may press Play again: a new draw, counted from 1.
    at += secs(5);
    acquired(claim(&db, &c, at).await);
    let record = db.record(c.id).await.unwrap().unwrap();
    assert_eq!((record.attempts, record.requested_at), (1, at));
}

async fn a_click_on_a_draw_that_used_its_attempts_starts_a_new_one(db: LotteryDb) {
    const MAX: u32 = 2;
    let c = customer(71);
    let first = acquired(claim(&db, &c, t0()).await);
    let at = t0() + secs(61);
    taken(
        db.take_over_expired(c.id, at, LEASE, "p2", MAX)
            .await
            .unwrap(),
    );
    // Interrupted again after its last attempt, and clicked before any sweeper saw it: the
    // click does not drive it a third time; it starts a new draw.
    let click = at + secs(61);
    let token = acquired(db.claim(&c, click, LEASE, "p3", MAX).await.unwrap());
    let record = db.record(c.id).await.unwrap().unwrap();
    assert_eq!(record.state, RecordState::Drawing);
    assert_eq!(record.attempts, 1);
    assert_eq!(record.requested_at, click);
    assert_eq!(record.holder.as_deref(), Some("p3"));
    assert!(!db.renew(c.id, &first, click, LEASE).await.unwrap());
    assert!(db.renew(c.id, &token, click, LEASE).await.unwrap());
}

async fn a_restarted_holder_gives_up_a_draw_that_used_its_attempts(db: LotteryDb) {
    let c = customer(72);
    let old = acquired(db.claim(&c, t0(), LEASE, "me", 1).await.unwrap());
    let now = t0() + secs(2);
    let held = db.held_claims("me", now + LEASE, None, 10).await.unwrap();
    assert_eq!(held.len(), 1);
    // Driven once, and one attempt allowed: the restart gives it up instead of driving it.
    let record = given_up(
        db.take_over_held(&held[0], "me", now, LEASE, 1)
            .await
            .unwrap(),
    );
    assert_eq!((record.state, record.attempts), (RecordState::Failed, 1));
    assert_eq!(record.failure, Some(DrawFailure::Abandoned));
    assert!(!db.renew(c.id, &old, now, LEASE).await.unwrap());
    // The same listing finds nothing more to take over or give up.
    assert!(
        db.take_over_held(&held[0], "me", now, LEASE, 1)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        db.held_claims("me", now + LEASE, None, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn every_failure_kind_is_stored_with_its_text(db: LotteryDb) {
    for (n, failure) in DrawFailure::ALL.into_iter().enumerate() {
        let c = customer(80 + n as u32);
        let token = acquired(claim(&db, &c, t0()).await);
        let text = format!("text of {}", failure.as_str());
        assert!(db.fail(c.id, &token, failure, &text, t0()).await.unwrap());
        let record = db.record(c.id).await.unwrap().unwrap();
        assert_eq!(record.failure, Some(failure));
        assert_eq!(record.last_error.as_deref(), Some(text.as_str()));
        assert_eq!(record.to_status().last_failure, Some(failure));
    }
}

support::lottery_backends!(
    first_claim_draws_and_later_ones_see_it,
    concurrent_claims_acquire_once,
    a_failed_draw_can_be_tried_again,
    every_failure_kind_is_stored_with_its_text,
    an_expired_claim_is_taken_over_and_fences_its_old_holder,
    a_customer_click_also_recovers_an_expired_claim,
    a_claim_records_its_holder_and_a_take_over_changes_it,
    a_restarted_holder_takes_over_its_claims_whatever_the_lease,
    no_take_over_drives_a_draw_beyond_max_attempts,
    a_click_on_a_draw_that_used_its_attempts_starts_a_new_one,
    a_restarted_holder_gives_up_a_draw_that_used_its_attempts,
    notifications_are_leased_once_and_retried,
    concurrent_notifiers_never_lease_one_entry_twice,
    a_notifier_leases_none_of_what_another_took_since_it_listed,
    expired_claims_are_listed_oldest_first,
    outbox_entries_are_published_once_and_delivered_once,
    a_notifier_sends_only_what_it_still_holds,
    the_report_counts_searches_and_walks_the_winners,
);

async fn outbox_entries_are_published_once_and_delivered_once(db: LotteryDb) {
    let c = customer(30);
    let token = acquired(claim(&db, &c, t0()).await);
    db.complete(c.id, &token, &prize(), t0()).await.unwrap();
    let unpublished = db.unpublished_notifications(10).await.unwrap();
    assert_eq!(unpublished.len(), 1);
    let entry = &unpublished[0];
    assert_eq!(entry.customer_id, c.id);
    assert_eq!(db.is_delivered(entry.id).await.unwrap(), Some(false));
    db.mark_published(entry.id, t0()).await.unwrap();
    assert!(db.unpublished_notifications(10).await.unwrap().is_empty());
    db.mark_delivered(entry.id, t0()).await.unwrap();
    assert_eq!(db.is_delivered(entry.id).await.unwrap(), Some(true));
    assert_eq!(db.is_delivered(entry.id + 1000).await.unwrap(), None);
    assert_eq!(db.pending_notifications().await.unwrap(), 0);
}

/// What the admin area reads: counts by state and by prize, the pace of the draws in buckets,
/// the winners searched (case aside, LIKE's wildcards taken literally) and walked by id.
async fn the_report_counts_searches_and_walks_the_winners(db: LotteryDb) {
    assert!(db.state_counts().await.unwrap().is_empty());
    assert!(db.draw_pace().await.unwrap().buckets.is_empty());
    for n in 1..=12u32 {
        let mut c = customer(n);
        if n == 5 {
            c.firstname = "100%_Sure".into();
        }
        // One draw every 90 seconds: two-minute buckets would hold them unevenly; the pace
        // counts them per one-minute bucket, empty minutes included.
        let at = t0() + secs(i64::from(n) * 90);
        let token = acquired(claim(&db, &c, at).await);
        let prize = if n % 3 == 0 {
            "drone.jpg"
        } else {
            "usb-key.jpg"
        };
        db.complete(c.id, &token, &Prize::parse(prize).unwrap(), at)
            .await
            .unwrap();
    }
    acquired(
        db.claim(&customer(40), t0(), LEASE, "p1", MAX)
            .await
            .unwrap(),
    );
    let states = db.state_counts().await.unwrap();
    assert_eq!(states.get("won"), Some(&12));
    assert_eq!(states.get("drawing"), Some(&1));
    let prizes: Vec<(String, u64)> = db
        .prizes_won()
        .await
        .unwrap()
        .into_iter()
        .map(|(p, n)| (p.file().to_owned(), n))
        .collect();
    assert_eq!(
        prizes,
        [("drone.jpg".to_owned(), 4), ("usb-key.jpg".to_owned(), 8)]
    );
    let pace = db.draw_pace().await.unwrap();
    assert_eq!(pace.bucket_minutes, 1);
    // From 10:01:30 to 10:18:00: the minutes 10:01 to 10:18.
    assert_eq!(pace.buckets.len(), 18);
    assert_eq!(pace.buckets[0].start, t0() + secs(60));
    assert_eq!(pace.buckets.iter().map(|b| b.draws).sum::<u64>(), 12);
    assert!(pace.buckets.iter().any(|b| b.draws == 0));

    let words = |text: &str| -> Vec<String> { text.split_whitespace().map(String::from).collect() };
    let (total, page) = db.search_winners(&[], 0, 5).await.unwrap();
    assert_eq!(total, 12);
    let ids: Vec<u32> = page.iter().map(|w| w.customer.id.get()).collect();
    assert_eq!(ids, [12, 11, 10, 9, 8], "newest first");
    let (_, rest) = db.search_winners(&[], 10, 5).await.unwrap();
    assert_eq!(rest.len(), 2);
    let found = async |text: &str| -> Vec<u32> {
        let (_, page) = db.search_winners(&words(text), 0, 50).await.unwrap();
        page.iter().map(|w| w.customer.id.get()).collect()
    };
    assert_eq!(found("C7@EXAMPLE").await, [7]);
    assert_eq!(found("o'brien 11").await, [11]);
    assert_eq!(found("0%_s").await, [5]);
    assert_eq!(found("%").await, [5], "a percent sign is a percent sign");
    assert_eq!(
        found("zoé").await.len(),
        11,
        "the name of every winner but 5"
    );
    assert!(found("nobody").await.is_empty());

    let walked =
        cloudhp_testkit::walk_winners(async |after| db.winners_after(after, 5).await.unwrap())
            .await;
    let ids: Vec<u32> = walked.iter().map(|w| w.customer.id.get()).collect();
    assert_eq!(ids, (1..=12).collect::<Vec<_>>());
}
