//! Where the database lives: the local file (the default) or an embedded replica of a remote
//! libSQL primary (`STORYMIMI_DB_URL`), and the limits of talking to that primary.

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

/// How an embedded replica talks to its primary (from the `db_*` settings).
#[derive(Clone, Debug)]
pub struct ReplicaSettings {
    pub url: DbUrl,
    pub auth_token: super::Secret,
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
