//! How long database work waits for its connection and holds it, and how long a group commit
//! takes: the single writer is the service's narrowest queue, so its wait is worth watching.

use prometheus::Histogram;
use std::ops::Deref;
use std::time::Instant;
use tokio::sync::{Mutex, MutexGuard};

/// The histograms the database reports into, once the app's metrics are wired.
#[derive(Clone)]
pub struct DbTimings {
    pub read_wait: Histogram,
    pub read_held: Histogram,
    pub write_wait: Histogram,
    pub write_held: Histogram,
    /// One group commit of conversation turns (what a child's message waits for).
    pub commit: Histogram,
}

/// A connection held for one operation; when it is released, how long it was held is reported.
pub struct Held<'a, T> {
    guard: MutexGuard<'a, T>,
    since: Instant,
    held: Option<&'a Histogram>,
}

impl<T> Deref for Held<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T> Drop for Held<'_, T> {
    fn drop(&mut self) {
        if let Some(held) = self.held {
            held.observe(self.since.elapsed().as_secs_f64());
        }
    }
}

/// Lock `conn`, reporting the wait into `wait` and, later, the hold into `held`.
pub(super) async fn hold<'a, T>(conn: &'a Mutex<T>, histograms: Option<(&'a Histogram, &'a Histogram)>) -> Held<'a, T> {
    let asked = Instant::now();
    let guard = conn.lock().await;
    let since = Instant::now();
    if let Some((wait, _)) = histograms {
        wait.observe(since.duration_since(asked).as_secs_f64());
    }
    Held { guard, since, held: histograms.map(|(_, held)| held) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus::HistogramOpts;

    #[tokio::test]
    async fn a_hold_reports_its_wait_at_once_and_its_hold_on_release() {
        let (wait, held) = (
            Histogram::with_opts(HistogramOpts::new("w", "w")).unwrap(),
            Histogram::with_opts(HistogramOpts::new("h", "h")).unwrap(),
        );
        let conn = Mutex::new(7);
        let guard = hold(&conn, Some((&wait, &held))).await;
        assert_eq!(*guard, 7);
        assert_eq!((wait.get_sample_count(), held.get_sample_count()), (1, 0));
        std::thread::sleep(std::time::Duration::from_millis(5));
        drop(guard);
        assert_eq!(held.get_sample_count(), 1);
        assert!(held.get_sample_sum() >= 0.005);
    }
}
