//! The `auth` section: tokens, password hashing and the sign-in throttles.

use super::{ConfigError, Environment, Secret, invalid};
use serde::{Deserialize, Serialize};

/// Used only outside production, so a newcomer's `cargo run` works without setup.
const DEV_JWT_SECRET: &str = "storymimi-development-secret-not-for-production";

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthSettings {
    pub jwt_secret: Option<Secret>,
    /// Key for media capability URLs; derived from the JWT secret when unset.
    pub media_secret: Option<Secret>,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    pub access_token_ttl_secs: u64,
    pub refresh_token_ttl_secs: u64,
    /// argon2id cost: memory (KiB), passes, lanes. Existing hashes keep their own.
    pub password_hash_memory_kib: u32,
    pub password_hash_iterations: u32,
    pub password_hash_parallelism: u32,
    /// Password hashes computed at once (0: one per core), and how many more may wait.
    pub password_hash_workers: usize,
    pub password_hash_queue: usize,
    /// Sign-in attempts per minute for one account, and from one client address.
    pub login_attempts_per_minute_per_account: u32,
    pub login_attempts_per_minute_per_address: u32,
    /// Sign-ups per minute from one client address.
    pub registrations_per_minute_per_address: u32,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            jwt_secret: None,
            media_secret: None,
            jwt_issuer: "storymimi".into(),
            jwt_audience: "storymimi-app".into(),
            access_token_ttl_secs: 30 * 60,
            refresh_token_ttl_secs: 30 * 24 * 3600,
            password_hash_memory_kib: 19 * 1024,
            password_hash_iterations: 2,
            password_hash_parallelism: 1,
            password_hash_workers: 0,
            password_hash_queue: 8,
            login_attempts_per_minute_per_account: 10,
            login_attempts_per_minute_per_address: 60,
            registrations_per_minute_per_address: 20,
        }
    }
}

impl AuthSettings {
    pub(super) fn validate(&self, env: Environment) -> Result<(), ConfigError> {
        if env == Environment::Production && self.jwt_secret.is_none() {
            return invalid("STORYMIMI_JWT_SECRET is required when STORYMIMI_ENV=production");
        }
        if self.jwt_secret.as_ref().is_some_and(|s| s.expose().len() < 32) {
            return invalid("STORYMIMI_JWT_SECRET must be at least 32 characters");
        }
        if self.access_token_ttl_secs == 0 || self.refresh_token_ttl_secs == 0 {
            return invalid("access_token_ttl_secs and refresh_token_ttl_secs must be at least 1");
        }
        if self.password_hash_iterations == 0 || self.password_hash_parallelism == 0 {
            return invalid("password_hash_iterations and password_hash_parallelism must be at least 1");
        }
        Ok(())
    }

    /// The key tokens are signed with (a development one outside production).
    pub fn jwt_secret(&self) -> Secret {
        self.jwt_secret.clone().unwrap_or_else(|| Secret::new(DEV_JWT_SECRET))
    }
}
