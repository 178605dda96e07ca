//! How an embedded replica's syncs with its primary are going: what `/readyz`, the metrics and
//! the media sweep ask before trusting the replica to be current.

use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Shared by the syncing task and whoever reports on it.
pub struct SyncStatus {
    primary: String,
    opened: Instant,
    state: Mutex<State>,
    errors: OnceLock<prometheus::IntCounter>,
}

#[derive(Default)]
struct State {
    last_ok: Option<Instant>,
    /// Why the latest attempt failed; `None` when it succeeded (or none was made yet).
    failing: Option<String>,
}

/// A snapshot for reports.
#[derive(Clone, Debug, PartialEq)]
pub struct ReplicaHealth {
    /// The primary's URL (it carries no secret: the config refuses credentials in it).
    pub primary: String,
    /// The latest sync succeeded, and there was one.
    pub in_sync: bool,
    /// Since the latest successful sync (since start-up when there was none).
    pub sync_age: Duration,
    pub ever_synced: bool,
    pub error: Option<String>,
}

impl ReplicaHealth {
    /// Why the replica cannot be trusted to be current, in words for `/readyz` (the error
    /// itself goes to the logs).
    pub fn problem(&self) -> Option<String> {
        let age = self.sync_age.as_secs_f64();
        match (&self.error, self.ever_synced) {
            _ if self.in_sync => None,
            (Some(_), true) => {
                Some(format!("the database primary cannot be reached (replica last synced {age:.1} s ago)"))
            }
            (Some(_), false) => Some("the database primary cannot be reached; the replica has never synced".into()),
            (None, _) => Some("the replica has not synced with the database primary yet".into()),
        }
    }
}

impl SyncStatus {
    pub fn new(primary: &str) -> Self {
        Self { primary: primary.to_owned(), opened: Instant::now(), state: Mutex::default(), errors: OnceLock::new() }
    }

    /// Count failed syncs here (set once, by the app's wiring).
    pub fn observe_errors(&self, counter: prometheus::IntCounter) {
        let _ = self.errors.set(counter);
    }

    /// Record an attempt; failures are logged when they start and when they end, not every round.
    pub fn record(&self, result: &Result<(), String>) {
        let Ok(mut state) = self.state.lock() else { return };
        match result {
            Ok(()) => {
                if let Some(error) = state.failing.take() {
                    tracing::info!(primary = %self.primary, was = %error, "the replica syncs with its primary again");
                }
                state.last_ok = Some(Instant::now());
            }
            Err(error) => {
                if state.failing.is_none() {
                    tracing::warn!(primary = %self.primary, error = %error, "the replica cannot sync with its primary");
                }
                state.failing = Some(error.clone());
                if let Some(counter) = self.errors.get() {
                    counter.inc();
                }
            }
        }
    }

    pub fn health(&self) -> ReplicaHealth {
        let (last_ok, error) = self.state.lock().map(|s| (s.last_ok, s.failing.clone())).unwrap_or_default();
        ReplicaHealth {
            primary: self.primary.clone(),
            in_sync: last_ok.is_some() && error.is_none(),
            sync_age: last_ok.unwrap_or(self.opened).elapsed(),
            ever_synced: last_ok.is_some(),
            error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replica_is_in_sync_only_after_a_sync_and_until_one_fails() {
        let status = SyncStatus::new("http://primary");
        let errors = prometheus::IntCounter::new("e", "e").unwrap();
        status.observe_errors(errors.clone());
        let health = status.health();
        assert!(!health.in_sync && !health.ever_synced);
        assert!(health.problem().unwrap().contains("has not synced"));
        status.record(&Err("connection refused".into()));
        assert!(status.health().problem().unwrap().contains("never synced"));
        status.record(&Ok(()));
        let health = status.health();
        assert!(health.in_sync && health.problem().is_none() && health.sync_age < Duration::from_secs(1));
        status.record(&Err("handshake timeout".into()));
        let problem = status.health().problem().unwrap();
        assert!(problem.contains("cannot be reached") && problem.contains("last synced"), "{problem}");
        assert_eq!(errors.get(), 2);
    }
}
