//! Bounded retries with capped exponential backoff, jitter and a per-attempt timeout for
//! provider calls; a provider's own `Retry-After` is honoured (up to the cap).

use crate::ports::ProviderError;
use std::future::Future;
use std::time::Duration;

#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// Attempts after the first one.
    pub retries: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// One attempt taking longer than this counts as a transient failure.
    pub attempt_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            retries: 3,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
            attempt_timeout: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// The backoff ceiling before attempt `attempt + 1`: doubling, capped.
    pub fn delay(&self, attempt: u32) -> Duration {
        self.base_delay.saturating_mul(1 << attempt.min(16)).min(self.max_delay)
    }

    /// What to actually wait: the provider's `Retry-After` when it gave one (capped), else a
    /// random point in the upper half of the backoff, so many stories do not retry in step.
    pub fn wait(&self, attempt: u32, error: &ProviderError) -> Duration {
        if let Some(after) = error.retry_after {
            return after.min(self.max_delay.max(self.base_delay));
        }
        let ceiling = self.delay(attempt);
        ceiling / 2 + ceiling.mul_f64(jitter() / 2.0)
    }

    /// Run `call` until it succeeds, fails permanently, or the retries are spent.
    pub async fn run<T, F, Fut>(&self, what: &str, call: F) -> Result<T, ProviderError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ProviderError>>,
    {
        self.run_observed(what, |_| {}, call).await
    }

    /// [`RetryPolicy::run`], telling `on_retry` why each retry is made.
    pub async fn run_observed<T, F, Fut>(
        &self,
        what: &str,
        mut on_retry: impl FnMut(&ProviderError),
        mut call: F,
    ) -> Result<T, ProviderError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ProviderError>>,
    {
        let mut attempt = 0;
        loop {
            let result = match tokio::time::timeout(self.attempt_timeout, call()).await {
                Ok(result) => result,
                Err(_) => Err(ProviderError::timeout(format!("{what}: the provider did not answer in time"))),
            };
            match result {
                Ok(value) => return Ok(value),
                Err(e) if e.retryable && attempt < self.retries => {
                    tracing::debug!(what, attempt, error = %e, "provider call failed, retrying");
                    on_retry(&e);
                    tokio::time::sleep(self.wait(attempt, &e)).await;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// A number in [0, 1) from the thread's random generator (seeded by the OS), so stories and
/// processes that failed together do not retry together.
fn jitter() -> f64 {
    rand::random::<f64>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn fast(retries: u32) -> RetryPolicy {
        RetryPolicy {
            retries,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
            attempt_timeout: Duration::from_millis(50),
        }
    }

    #[tokio::test]
    async fn retries_transient_errors_then_gives_up() {
        let calls = AtomicU32::new(0);
        let result: Result<(), _> = fast(2)
            .run("x", || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(ProviderError::transient("busy"))
            })
            .await;
        assert!(result.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn permanent_errors_are_not_retried() {
        let calls = AtomicU32::new(0);
        let result: Result<(), _> = fast(5)
            .run("x", || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(ProviderError::permanent("bad request"))
            })
            .await;
        assert_eq!(result.unwrap_err().message, "bad request");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn slow_attempts_time_out_and_are_retried() {
        let calls = AtomicU32::new(0);
        let mut retried = Vec::new();
        let result = fast(1)
            .run_observed(
                "x",
                |e| retried.push(e.reason()),
                || async {
                    if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                        tokio::time::sleep(Duration::from_secs(10)).await;
                    }
                    Ok(7)
                },
            )
            .await;
        assert_eq!(result.unwrap(), 7);
        assert_eq!(retried, [crate::ports::Reason::Timeout], "the retry says why");
    }

    #[test]
    fn waits_are_jittered_within_the_backoff_and_honour_retry_after() {
        let p = RetryPolicy { base_delay: Duration::from_millis(100), max_delay: Duration::from_secs(2), ..fast(0) };
        let busy = ProviderError::transient("busy");
        let waits: Vec<Duration> = (0..50).map(|_| p.wait(1, &busy)).collect();
        assert!(waits.iter().all(|w| (Duration::from_millis(100)..=Duration::from_millis(200)).contains(w)));
        assert!(waits.windows(2).any(|w| w[0] != w[1]), "jittered: {waits:?}");
        let told = busy.clone().retry_after(Some(Duration::from_millis(1500)));
        assert_eq!(p.wait(0, &told), Duration::from_millis(1500));
        let greedy = busy.retry_after(Some(Duration::from_secs(3600)));
        assert_eq!(p.wait(0, &greedy), Duration::from_secs(2), "capped");
    }

    #[test]
    fn two_policies_jitter_independently_over_the_whole_range() {
        // Two stories with the same policy, failing at the same moment, must not retry in step.
        let p = RetryPolicy { base_delay: Duration::from_millis(1000), max_delay: Duration::from_secs(60), ..fast(0) };
        let q = p;
        let busy = ProviderError::transient("busy");
        let (a, b): (Vec<Duration>, Vec<Duration>) = (0..200).map(|_| (p.wait(0, &busy), q.wait(0, &busy))).unzip();
        assert!(a.iter().zip(&b).filter(|(x, y)| x == y).count() < 5, "in step: {a:?} {b:?}");
        // Spread over the upper half of the backoff, not bunched at one end.
        let fraction = |w: &Duration| (w.as_secs_f64() - 0.5) * 2.0;
        let mean = a.iter().chain(&b).map(fraction).sum::<f64>() / 400.0;
        assert!((0.4..0.6).contains(&mean), "mean jitter {mean}");
        assert!(a.iter().any(|w| fraction(w) < 0.1) && a.iter().any(|w| fraction(w) > 0.9), "{a:?}");
    }

    #[test]
    fn delay_grows_and_is_capped() {
        let p = RetryPolicy { base_delay: Duration::from_millis(100), max_delay: Duration::from_secs(1), ..fast(0) };
        assert_eq!(p.delay(0), Duration::from_millis(100));
        assert_eq!(p.delay(2), Duration::from_millis(400));
        assert_eq!(p.delay(10), Duration::from_secs(1));
    }
}
