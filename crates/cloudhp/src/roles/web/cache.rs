//! What the web role keeps between pages, so that most pages ask no other role:
//!
//! - the status and picture of **finished** draws (won, or no prize): a draw ends once, and
//!   what it recorded never changes, so these are kept until the capacity pushes them out
//!   (`web.finished_cache`). A draw not yet finished (not played, drawing, failed) is never
//!   kept: its page always asks the status role, so a customer who just pressed Play never
//!   sees an older state;
//! - whether Play is available (the play role's probe of its database and W) for
//!   [`AVAILABILITY_TTL`]: it is asked once a second, not once a page.

use std::sync::Arc;
use std::time::Duration;

use cloudhp_core::{CustomerId, PictureInfo, PlayState, PlayStatus, ServiceError};
use moka::future::Cache;

/// How long the play role's answer to "could a draw start now" is reused.
pub const AVAILABILITY_TTL: Duration = Duration::from_secs(1);

/// A finished draw as its page shows it.
#[derive(Debug)]
pub struct Finished {
    pub status: PlayStatus,
    pub picture: Option<PictureInfo>,
}

#[derive(Clone)]
pub struct PageCache {
    finished: Option<Cache<CustomerId, Arc<Finished>>>,
    availability: Cache<(), Result<(), ServiceError>>,
}

fn count(result: &'static str) {
    metrics::counter!("cloudhp_cache_lookups_total", "cache" => "finished", "result" => result)
        .increment(1);
}

impl PageCache {
    /// Keeps up to `finished_capacity` finished draws (0: none).
    pub fn new(finished_capacity: u64) -> Self {
        Self {
            finished: (finished_capacity > 0)
                .then(|| Cache::builder().max_capacity(finished_capacity).build()),
            availability: Cache::builder()
                .max_capacity(1)
                .time_to_live(AVAILABILITY_TTL)
                .build(),
        }
    }

    /// The finished draw of `id`, when it is kept.
    pub async fn finished(&self, id: CustomerId) -> Option<Arc<Finished>> {
        let cache = self.finished.as_ref()?;
        let found = cache.get(&id).await;
        count(if found.is_some() { "hit" } else { "miss" });
        found
    }

    /// Keeps what a page read of `id`, if its draw is finished; anything else is not kept. A
    /// win whose picture was not found is not kept either: the store may not show a picture
    /// just written yet (eventually consistent object stores), and the next page asks again.
    pub async fn keep(&self, id: CustomerId, status: &PlayStatus, picture: &Option<PictureInfo>) {
        let settled = match status.state {
            PlayState::Won => picture.is_some(),
            state => state.is_played(),
        };
        if let Some(cache) = &self.finished
            && status.customer_id == id
            && settled
        {
            let finished = Finished {
                status: status.clone(),
                picture: picture.clone(),
            };
            cache.insert(id, Arc::new(finished)).await;
        }
    }

    /// Play's availability: the answer of `probe` at most [`AVAILABILITY_TTL`] old (failures
    /// too, so a failing play role is not asked by every page). Concurrent callers share one
    /// probe.
    pub async fn availability(
        &self,
        probe: impl Future<Output = Result<(), ServiceError>>,
    ) -> Result<(), ServiceError> {
        self.availability.get_with((), probe).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use cloudhp_core::Prize;

    use super::*;

    fn id(n: u32) -> CustomerId {
        CustomerId::new(n).unwrap()
    }

    fn status(n: u32, state: PlayState) -> PlayStatus {
        PlayStatus {
            state,
            prize: (state == PlayState::Won).then(|| Prize::parse("drone.jpg").unwrap()),
            ..PlayStatus::not_played(id(n))
        }
    }

    fn picture() -> Option<PictureInfo> {
        Some(PictureInfo {
            size: 10,
            etag: "\"e\"".into(),
            content_type: "image/jpeg".into(),
        })
    }

    #[tokio::test]
    async fn only_finished_draws_are_kept() {
        let cache = PageCache::new(100);
        for (n, state) in [
            (1, PlayState::NotPlayed),
            (2, PlayState::Drawing),
            (3, PlayState::Won),
            (4, PlayState::NoPrize),
        ] {
            cache.keep(id(n), &status(n, state), &picture()).await;
        }
        assert!(cache.finished(id(1)).await.is_none());
        assert!(cache.finished(id(2)).await.is_none());
        let won = cache.finished(id(3)).await.expect("a win is kept");
        assert_eq!(won.status.state, PlayState::Won);
        assert_eq!(won.picture, picture());
        assert!(cache.finished(id(4)).await.is_some());
    }

    #[tokio::test]
    async fn a_win_without_its_picture_yet_is_not_kept() {
        let cache = PageCache::new(100);
        cache.keep(id(7), &status(7, PlayState::Won), &None).await;
        assert!(cache.finished(id(7)).await.is_none());
        cache
            .keep(id(8), &status(8, PlayState::NoPrize), &None)
            .await;
        assert!(
            cache.finished(id(8)).await.is_some(),
            "no prize may have no picture"
        );
    }

    /// A win with its picture is kept under its own customer's id while there is room, and
    /// else not at all (each case with a settled win, so only what it varies can stop it).
    #[tokio::test]
    async fn a_win_is_kept_only_for_its_own_customer_and_with_room() {
        for (case, capacity, page_of, status_of, kept) in [
            ("its own customer, with room", 100, 5, 5, true),
            ("a status of another customer", 100, 5, 6, false),
            ("a zero capacity", 0, 3, 3, false),
        ] {
            let cache = PageCache::new(capacity);
            let won = status(status_of, PlayState::Won);
            cache.keep(id(page_of), &won, &picture()).await;
            assert_eq!(cache.finished(id(page_of)).await.is_some(), kept, "{case}");
        }
    }

    #[tokio::test]
    async fn availability_is_probed_once_per_lifetime() {
        let cache = PageCache::new(0);
        let probes = AtomicU32::new(0);
        let probe = || async {
            probes.fetch_add(1, Ordering::SeqCst);
            Err(ServiceError::unavailable("the play service"))
        };
        for _ in 0..10 {
            assert!(cache.availability(probe()).await.is_err());
        }
        assert_eq!(probes.load(Ordering::SeqCst), 1, "failures are reused too");
        tokio::time::sleep(AVAILABILITY_TTL + Duration::from_millis(200)).await;
        assert!(cache.availability(probe()).await.is_err());
        assert_eq!(
            probes.load(Ordering::SeqCst),
            2,
            "asked again after its lifetime"
        );
    }
}
