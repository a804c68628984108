//! The customer records the roles look up, kept in memory for `identity.cache_ttl`.
//!
//! The shop's customer table is read-only to CloudHP and a customer's name or address seldom
//! changes during a campaign, so a page or a Play press need not ask the database (or the
//! identity process) each time. Only records found are kept: an unknown customer, a timeout or
//! an unreachable database is asked again next time. Concurrent lookups of one customer that
//! is not cached share one query.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use cloudhp_core::{Customer, CustomerId, Identity, IdentityHandle, ServiceError};
use moka::future::Cache;

/// How many records and for how long (`identity.cache_capacity`, `identity.cache_ttl`).
#[derive(Clone, Copy, Debug)]
pub struct CacheSettings {
    pub capacity: u64,
    pub ttl: Duration,
}

impl CacheSettings {
    /// Whether records are kept at all (a zero capacity or lifetime turns the cache off).
    pub fn enabled(self) -> bool {
        self.capacity > 0 && !self.ttl.is_zero()
    }
}

/// An identity role (local or remote) with its answers cached.
pub struct CachedIdentity {
    inner: IdentityHandle,
    customers: Cache<CustomerId, Customer>,
}

impl CachedIdentity {
    /// `inner` behind a cache, or `inner` itself when `settings` turn caching off.
    pub fn wrap(inner: IdentityHandle, settings: CacheSettings) -> IdentityHandle {
        if !settings.enabled() {
            return inner;
        }
        Arc::new(Self {
            inner,
            customers: Cache::builder()
                .max_capacity(settings.capacity)
                .time_to_live(settings.ttl)
                .build(),
        })
    }
}

fn count(result: &'static str) {
    metrics::counter!("cloudhp_cache_lookups_total", "cache" => "customers", "result" => result)
        .increment(1);
}

#[async_trait]
impl Identity for CachedIdentity {
    async fn customer(&self, id: CustomerId) -> Result<Customer, ServiceError> {
        let entry = self
            .customers
            .entry(id)
            .or_try_insert_with(self.inner.customer(id))
            .await
            .map_err(|e| ServiceError::clone(&e))?;
        count(if entry.is_fresh() { "miss" } else { "hit" });
        Ok(entry.into_value())
    }

    async fn customer_count(&self) -> Result<u64, ServiceError> {
        self.inner.customer_count().await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    /// An identity role that counts its lookups and knows customers 1 to 9.
    #[derive(Default)]
    struct Counting(AtomicU32);

    #[async_trait]
    impl Identity for Counting {
        async fn customer(&self, id: CustomerId) -> Result<Customer, ServiceError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            tokio::task::yield_now().await;
            if id.get() >= 10 {
                return Err(ServiceError::NotFound);
            }
            Ok(Customer {
                id,
                firstname: "Ada".into(),
                lastname: format!("N{id}"),
                email: format!("{id}@shop.example"),
                language: None,
            })
        }
        async fn customer_count(&self) -> Result<u64, ServiceError> {
            Ok(9)
        }
    }

    fn id(n: u32) -> CustomerId {
        CustomerId::new(n).unwrap()
    }

    fn settings(ttl: Duration) -> CacheSettings {
        CacheSettings { capacity: 100, ttl }
    }

    #[tokio::test]
    async fn a_found_customer_is_asked_once_an_unknown_one_every_time() {
        let inner = Arc::new(Counting::default());
        let cached = CachedIdentity::wrap(inner.clone(), settings(Duration::from_secs(60)));
        for _ in 0..5 {
            assert_eq!(cached.customer(id(3)).await.unwrap().lastname, "N3");
        }
        assert_eq!(inner.0.load(Ordering::SeqCst), 1);
        for _ in 0..3 {
            assert_eq!(
                cached.customer(id(12)).await.unwrap_err(),
                ServiceError::NotFound
            );
        }
        assert_eq!(inner.0.load(Ordering::SeqCst), 4, "refusals are not cached");
    }

    #[tokio::test]
    async fn concurrent_misses_of_one_customer_share_one_lookup() {
        let inner = Arc::new(Counting::default());
        let cached = CachedIdentity::wrap(inner.clone(), settings(Duration::from_secs(60)));
        let lookups = (0..50).map(|_| cached.customer(id(5)));
        for found in futures::future::join_all(lookups).await {
            assert_eq!(found.unwrap().id, id(5));
        }
        assert_eq!(inner.0.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn records_are_asked_again_after_their_lifetime() {
        let inner = Arc::new(Counting::default());
        let cached = CachedIdentity::wrap(inner.clone(), settings(Duration::from_millis(30)));
        cached.customer(id(2)).await.unwrap();
        // Bounded by counts: a lifetime of 30 ms has passed after any 200 ms sleep.
        tokio::time::sleep(Duration::from_millis(200)).await;
        cached.customer(id(2)).await.unwrap();
        assert_eq!(inner.0.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_zero_capacity_turns_the_cache_off() {
        let inner = Arc::new(Counting::default());
        let off = CacheSettings {
            capacity: 0,
            ttl: Duration::from_secs(60),
        };
        let plain = CachedIdentity::wrap(inner.clone(), off);
        plain.customer(id(1)).await.unwrap();
        plain.customer(id(1)).await.unwrap();
        assert_eq!(inner.0.load(Ordering::SeqCst), 2);
    }
}
