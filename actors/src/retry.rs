//! Bounded retries with exponential backoff and a per-attempt timeout for provider calls.

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
    pub fn delay(&self, attempt: u32) -> Duration {
        self.base_delay.saturating_mul(1 << attempt.min(16)).min(self.max_delay)
    }

    /// Run `call` until it succeeds, fails permanently, or the retries are spent.
    pub async fn run<T, F, Fut>(&self, what: &str, mut call: F) -> Result<T, ProviderError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ProviderError>>,
    {
        let mut attempt = 0;
        loop {
            let result = match tokio::time::timeout(self.attempt_timeout, call()).await {
                Ok(result) => result,
                Err(_) => Err(ProviderError::transient(format!("{what}: the provider did not answer in time"))),
            };
            match result {
                Ok(value) => return Ok(value),
                Err(e) if e.retryable && attempt < self.retries => {
                    tracing::debug!(what, attempt, error = %e, "provider call failed, retrying");
                    tokio::time::sleep(self.delay(attempt)).await;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }
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
        let result = fast(1)
            .run("x", || async {
                if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                    tokio::time::sleep(Duration::from_secs(10)).await;
                }
                Ok(7)
            })
            .await;
        assert_eq!(result.unwrap(), 7);
    }

    #[test]
    fn delay_grows_and_is_capped() {
        let p = RetryPolicy { base_delay: Duration::from_millis(100), max_delay: Duration::from_secs(1), ..fast(0) };
        assert_eq!(p.delay(0), Duration::from_millis(100));
        assert_eq!(p.delay(2), Duration::from_millis(400));
        assert_eq!(p.delay(10), Duration::from_secs(1));
    }
}
