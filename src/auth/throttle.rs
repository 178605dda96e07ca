//! Throttles for sign-in and sign-up: a token bucket per key (an account, a client address),
//! kept in a bounded, expiring cache so a flood of distinct keys cannot grow memory.

use actors::sync::lock;
use moka::sync::Cache;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone)]
pub struct Throttle {
    buckets: Cache<String, Arc<Mutex<Bucket>>>,
    capacity: f64,
    per_sec: f64,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Throttle {
    /// `per_minute` attempts per key, in bursts of up to that many.
    pub fn per_minute(per_minute: u32) -> Self {
        let capacity = f64::from(per_minute.max(1));
        Self {
            buckets: Cache::builder().max_capacity(100_000).time_to_idle(Duration::from_secs(600)).build(),
            capacity,
            per_sec: capacity / 60.0,
        }
    }

    /// Take one attempt for `key`; `Err(wait)` when it has none left, with how long until it has.
    pub fn take(&self, key: &str) -> Result<(), Duration> {
        let capacity = self.capacity;
        let bucket = self
            .buckets
            .get_with(key.to_owned(), || Arc::new(Mutex::new(Bucket { tokens: capacity, at: Instant::now() })));
        let mut bucket = lock(&bucket);
        let now = Instant::now();
        bucket.tokens = (bucket.tokens + now.duration_since(bucket.at).as_secs_f64() * self.per_sec).min(self.capacity);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / self.per_sec))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_waiting() {
        let t = Throttle::per_minute(3);
        assert!(t.take("a").is_ok() && t.take("a").is_ok() && t.take("a").is_ok());
        let wait = t.take("a").unwrap_err();
        assert!(wait > Duration::from_secs(15) && wait <= Duration::from_secs(20), "{wait:?}");
        assert!(t.take("b").is_ok(), "keys are separate");
    }

    #[test]
    fn a_panic_while_a_bucket_is_locked_does_not_lift_the_throttle() {
        let t = Throttle::per_minute(2);
        assert!(t.take("a").is_ok() && t.take("a").is_ok());
        let bucket = t.buckets.get("a").unwrap();
        let _ = std::thread::spawn(move || {
            let _held = bucket.lock().unwrap();
            panic!("poison the bucket");
        })
        .join();
        assert!(t.buckets.get("a").unwrap().is_poisoned());
        assert!(t.take("a").is_err(), "still throttled");
    }
}
