//! Where the database lives: the local file (the default) or an embedded replica of a remote
//! libSQL primary (`STORYMIMI_DB_URL`), and the limits of talking to that primary: the `db` section.

use super::{ConfigError, Secret, invalid};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// The address of a libSQL primary (sqld's HTTP port, or Turso): `http://`, `https://` or
/// `libsql://` (an alias of `https://`). Checked to carry no secret (no user info, no query),
/// so it can be logged and shown as it is; the token goes in `STORYMIMI_DB_AUTH_TOKEN`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DbUrl(String);

impl DbUrl {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for DbUrl {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        // The text itself is never echoed: it may hold a token pasted by mistake.
        let url = url::Url::parse(text.trim()).map_err(|e| format!("db_url is not a URL ({e})"))?;
        if !matches!(url.scheme(), "http" | "https" | "libsql") {
            return Err(format!("db_url must be http://, https:// or libsql://, not {}://", url.scheme()));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err("db_url has no host".into());
        }
        if !url.username().is_empty() || url.password().is_some() || url.query().is_some() || url.fragment().is_some() {
            return Err("db_url must not carry credentials or a query: put the token in STORYMIMI_DB_AUTH_TOKEN".into());
        }
        Ok(Self(url.as_str().trim_end_matches('/').to_owned()))
    }
}

impl From<DbUrl> for String {
    fn from(url: DbUrl) -> Self {
        url.0
    }
}

impl fmt::Display for DbUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for DbUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DbUrl({})", self.0)
    }
}

/// The `db` section.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct DbSettings {
    /// Read connections to the database (writes go through one connection).
    #[serde(rename = "db_readers")]
    pub readers: usize,
    /// How often the local file's write-ahead log is copied back into the database (off the
    /// write path).
    #[serde(rename = "db_checkpoint_interval_ms")]
    pub checkpoint_interval_ms: u64,
    /// A libSQL primary to hold an embedded replica of (`http(s)://…` or `libsql://…`); unset:
    /// the local file `data_dir/storymimi.db`.
    #[serde(rename = "db_url")]
    pub url: Option<DbUrl>,
    /// The primary's token (a JWT for sqld/Turso); never logged.
    #[serde(rename = "db_auth_token")]
    pub auth_token: Option<Secret>,
    /// Refuse to start without `db_url`: for machines that must share one database, so a
    /// missing secret cannot leave one with a database of its own.
    #[serde(rename = "db_require_primary")]
    pub require_primary: bool,
    /// Pause between the replica's background syncs.
    #[serde(rename = "db_sync_interval_ms")]
    pub sync_interval_ms: u64,
    /// A sync or a delegated write taking longer counts as failed (the primary is unavailable).
    #[serde(rename = "db_primary_timeout_ms")]
    pub primary_timeout_ms: u64,
    /// How long start-up waits for the replica's first sync.
    #[serde(rename = "db_startup_sync_timeout_secs")]
    pub startup_sync_timeout_secs: u64,
}

impl Default for DbSettings {
    fn default() -> Self {
        Self {
            readers: 4,
            checkpoint_interval_ms: 250,
            url: None,
            auth_token: None,
            require_primary: false,
            sync_interval_ms: 1000,
            primary_timeout_ms: 5000,
            startup_sync_timeout_secs: 60,
        }
    }
}

impl DbSettings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.readers == 0 || self.checkpoint_interval_ms == 0 {
            return invalid("db_readers and db_checkpoint_interval_ms must be at least 1");
        }
        if self.url.is_none() {
            return if self.require_primary {
                invalid("STORYMIMI_DB_REQUIRE_PRIMARY is set but STORYMIMI_DB_URL is not: name the database primary")
            } else if self.auth_token.is_some() {
                invalid("db_auth_token is set but db_url is not")
            } else {
                Ok(())
            };
        }
        if !cfg!(feature = "replica") {
            return invalid("db_url needs a build with the `replica` feature (it is on by default)");
        }
        if self.sync_interval_ms == 0 || self.primary_timeout_ms == 0 || self.startup_sync_timeout_secs == 0 {
            return invalid(
                "db_sync_interval_ms, db_primary_timeout_ms and db_startup_sync_timeout_secs must be at least 1",
            );
        }
        Ok(())
    }

    /// How to reach the primary, when the database is a replica of one.
    pub fn replica(&self) -> Option<ReplicaSettings> {
        Some(ReplicaSettings {
            url: self.url.clone()?,
            auth_token: self.auth_token.clone().unwrap_or_else(|| Secret::new("")),
            sync_interval: Duration::from_millis(self.sync_interval_ms),
            primary_timeout: Duration::from_millis(self.primary_timeout_ms),
            startup_sync_timeout: Duration::from_secs(self.startup_sync_timeout_secs),
        })
    }
}

/// How an embedded replica talks to its primary (from the `db_*` settings).
#[derive(Clone, Debug)]
pub struct ReplicaSettings {
    pub url: DbUrl,
    pub auth_token: Secret,
    /// Pause between background syncs.
    pub sync_interval: Duration,
    /// A sync or a delegated write that takes longer counts as failed: the primary is
    /// unavailable (the call itself goes on: cutting a sync short could leave the replica
    /// half-written).
    pub primary_timeout: Duration,
    /// How long start-up waits for the first sync.
    pub startup_sync_timeout: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primary_urls_are_checked_and_never_echoed() {
        for ok in ["http://127.0.0.1:8080", "https://db.example.com/", "libsql://storymimi-ada.turso.io"] {
            let url = DbUrl::try_from(ok.to_owned()).unwrap();
            assert_eq!(url.as_str(), ok.trim_end_matches('/'));
        }
        for (bad, says) in [
            ("postgres://db.example.com", "must be http"),
            ("libsql://db.example.com?authToken=s3cr3t", "must not carry credentials"),
            ("https://user:s3cr3t@db.example.com", "must not carry credentials"),
            ("not a url s3cr3t", "not a URL"),
        ] {
            let error = DbUrl::try_from(bad.to_owned()).unwrap_err();
            assert!(error.contains(says), "{bad}: {error}");
            assert!(!error.contains("s3cr3t"), "{error}");
        }
    }
}
