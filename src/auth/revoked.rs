//! Signed-out sessions whose access tokens have not expired yet. Access tokens are stateless,
//! so logging out (or a reused refresh token) puts the session here until its tokens expire;
//! at start-up the sessions revoked within one token lifetime are loaded back from the store.

use moka::sync::Cache;
use std::time::Duration;

pub struct RevokedSessions {
    sessions: Cache<String, ()>,
}

impl RevokedSessions {
    /// Remembers each session for `token_ttl` (plus a minute of clock leeway).
    pub fn new(token_ttl: Duration) -> Self {
        Self {
            sessions: Cache::builder()
                .max_capacity(1_000_000)
                .time_to_live(token_ttl + Duration::from_secs(60))
                .build(),
        }
    }

    pub fn revoke(&self, session: &str) {
        self.sessions.insert(session.to_owned(), ());
    }

    pub fn is_revoked(&self, session: &str) -> bool {
        self.sessions.contains_key(session)
    }
}
