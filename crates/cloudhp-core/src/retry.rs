//! The one retry policy of CloudHP: the delays between the attempts of an operation are built
//! here, and [backon] runs the attempts (`op.retry(policy).when(…).notify(…).await`).
//!
//! The delays are computed here rather than by backon's own builders: they stay exactly those
//! the product had (whole milliseconds, no floating point, no jitter), and backon has no
//! linear growth.

use std::time::Duration;

pub use backon::{BackoffBuilder, Retryable};

/// How the delay grows from one retry to the next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Growth {
    /// The same delay each time.
    Constant,
    /// `first`, `2·first`, `3·first`, …
    Linear,
    /// `first`, `2·first`, `4·first`, … (doubling at most 16 times), at most `max`.
    Doubling { max: Duration },
}

/// The delays between the attempts of an operation, and how many retries follow the first
/// attempt. Hand it to backon's `retry` (it is a [`BackoffBuilder`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    first: Duration,
    growth: Growth,
    /// `None`: retried for as long as the caller goes on.
    retries: Option<usize>,
}

/// The most a doubling delay is doubled (then it stays, if `max` did not stop it before).
const MAX_DOUBLINGS: u32 = 16;

impl Policy {
    /// `retries` retries, `delay` apart.
    pub fn constant(delay: Duration, retries: usize) -> Self {
        Self {
            first: delay,
            growth: Growth::Constant,
            retries: Some(retries),
        }
    }

    /// `retries` retries, waiting `step` before the first, `2·step` before the second, …
    pub fn linear(step: Duration, retries: usize) -> Self {
        Self {
            first: step,
            growth: Growth::Linear,
            retries: Some(retries),
        }
    }

    /// Retries without end, waiting `first` before the first, then twice as long each time,
    /// `max` at most.
    pub fn doubling(first: Duration, max: Duration) -> Self {
        Self {
            first,
            growth: Growth::Doubling { max },
            retries: None,
        }
    }

    /// The delay before retry number `retry` (1-based; 0 counts as 1), whatever the number of
    /// retries allowed: for schedules kept outside the process (the notifier's outbox, the
    /// event bus), where backon does not run the attempts.
    pub fn delay(&self, retry: u32) -> Duration {
        let n = retry.max(1);
        match self.growth {
            Growth::Constant => self.first,
            Growth::Linear => self.first.saturating_mul(n),
            Growth::Doubling { max } => self
                .first
                .saturating_mul(1 << (n - 1).min(MAX_DOUBLINGS))
                .min(max),
        }
    }
}

impl BackoffBuilder for Policy {
    type Backoff = Delays;

    fn build(self) -> Delays {
        Delays {
            policy: self,
            done: 0,
        }
    }
}

/// The delays of a [`Policy`], one per retry.
#[derive(Clone, Debug)]
pub struct Delays {
    policy: Policy,
    done: usize,
}

impl Iterator for Delays {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        if self
            .policy
            .retries
            .is_some_and(|retries| self.done >= retries)
        {
            return None;
        }
        self.done += 1;
        let retry = u32::try_from(self.done).unwrap_or(u32::MAX);
        Some(self.policy.delay(retry))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn delays(policy: Policy) -> Vec<Duration> {
        policy.build().collect()
    }

    #[test]
    fn constant_and_linear_policies_end_after_their_retries() {
        assert_eq!(delays(Policy::constant(ms(20), 3)), vec![ms(20); 3]);
        assert_eq!(
            delays(Policy::linear(ms(100), 4)),
            vec![ms(100), ms(200), ms(300), ms(400)]
        );
        assert_eq!(delays(Policy::linear(ms(50), 0)), Vec::<Duration>::new());
    }

    #[test]
    fn a_doubling_policy_doubles_up_to_its_maximum_without_end() {
        let policy = Policy::doubling(Duration::from_secs(5), Duration::from_secs(600));
        let secs: Vec<u64> = policy.build().take(9).map(|d| d.as_secs()).collect();
        assert_eq!(secs, vec![5, 10, 20, 40, 80, 160, 320, 600, 600]);
        assert_eq!(policy.delay(1), Duration::from_secs(5));
        assert_eq!(policy.delay(0), Duration::from_secs(5));
        assert_eq!(policy.delay(4), Duration::from_secs(40));
        assert_eq!(policy.delay(u32::MAX), Duration::from_secs(600));
        // Doubled 16 times at most, whatever the maximum.
        let unbounded = Policy::doubling(ms(1), Duration::MAX);
        assert_eq!(unbounded.delay(17), ms(65_536));
        assert_eq!(unbounded.delay(1000), ms(65_536));
    }

    #[tokio::test]
    async fn backon_runs_the_attempts_with_these_delays() {
        let mut calls = 0;
        let mut waited = Vec::new();
        let result: Result<(), &str> = (|| {
            calls += 1;
            std::future::ready(Err("refused"))
        })
        .retry(Policy::linear(Duration::ZERO, 2))
        .notify(|_, delay| waited.push(delay))
        .await;
        assert_eq!(result, Err("refused"));
        assert_eq!(calls, 3, "the first attempt and two retries");
        assert_eq!(waited.len(), 2);

        let mut calls = 0;
        let result: Result<(), &str> = (|| {
            calls += 1;
            std::future::ready(Err("broken"))
        })
        .retry(Policy::constant(Duration::ZERO, 5))
        .when(|e| *e == "refused")
        .await;
        assert_eq!((result, calls), (Err("broken"), 1), "only what `when` says");
    }
}
