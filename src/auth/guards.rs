//! The guards in front of passwords: bounded hashing and per-account and per-address throttles.

use super::{HashError, HashSettings, Hasher, Throttle};
use crate::config::AuthSettings;
use crate::error::ApiError;
use crate::metrics::Metrics;
use std::net::IpAddr;
use std::sync::Arc;

pub struct AuthGuards {
    pub hasher: Hasher,
    login_by_account: Throttle,
    login_by_address: Throttle,
    register_by_address: Throttle,
    metrics: Arc<Metrics>,
}

impl AuthGuards {
    pub fn new(config: &AuthSettings, metrics: Arc<Metrics>) -> anyhow::Result<Self> {
        let workers = match config.password_hash_workers {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let settings = HashSettings {
            memory_kib: config.password_hash_memory_kib,
            iterations: config.password_hash_iterations,
            parallelism: config.password_hash_parallelism,
            workers,
            queue: config.password_hash_queue,
        };
        Ok(Self {
            hasher: Hasher::new(settings)?,
            login_by_account: Throttle::per_minute(config.login_attempts_per_minute_per_account),
            login_by_address: Throttle::per_minute(config.login_attempts_per_minute_per_address),
            register_by_address: Throttle::per_minute(config.registrations_per_minute_per_address),
            metrics,
        })
    }

    fn throttled(&self, endpoint: &str, scope: &str, wait: std::time::Duration) -> ApiError {
        self.metrics.auth_throttled.with_label_values(&[endpoint, scope]).inc();
        ApiError::TooManyRequests { retry_after_secs: wait.as_secs().max(1) }
    }

    /// One sign-in attempt for `email` from `address`.
    pub fn login_attempt(&self, email: &str, address: Option<IpAddr>) -> Result<(), ApiError> {
        if let Some(ip) = address {
            self.login_by_address.take(&ip.to_string()).map_err(|w| self.throttled("login", "address", w))?;
        }
        let account = email.trim().to_lowercase();
        self.login_by_account.take(&account).map_err(|w| self.throttled("login", "account", w))
    }

    /// One sign-up from `address`.
    pub fn registration(&self, address: Option<IpAddr>) -> Result<(), ApiError> {
        match address {
            Some(ip) => {
                self.register_by_address.take(&ip.to_string()).map_err(|w| self.throttled("register", "address", w))
            }
            None => Ok(()),
        }
    }

    pub fn busy(&self, e: HashError) -> ApiError {
        match e {
            HashError::Busy => {
                self.metrics.password_hash_busy.inc();
                ApiError::Busy
            }
            e => ApiError::Internal(e.into()),
        }
    }
}
