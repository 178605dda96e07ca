//! Media nothing refers to are removed: files left by a story deleted (or failed) while its
//! pictures were being made, and half-written files a crash left in `media-staging/`. Runs at
//! start-up and then periodically; only files older than a grace period are touched, so a
//! picture made a moment ago for a scene not yet saved is never taken.

use crate::db::Db;
use crate::media::Storage;
use prometheus::IntCounter;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

pub struct Sweeper {
    pub db: Db,
    pub media: Storage,
    /// The fs backend's staging dir (`media_staging_dir`).
    pub staging: Option<PathBuf>,
    pub grace: Duration,
    pub removed: IntCounter,
}

impl Sweeper {
    fn old_enough(&self, modified: Option<SystemTime>) -> bool {
        // Without a time the file is kept: better an orphan than a missing picture.
        modified.and_then(|m| m.elapsed().ok()).is_some_and(|age| age >= self.grace)
    }

    /// One pass; how many files were removed.
    pub async fn sweep(&self) -> anyhow::Result<usize> {
        // A replica out of sync may not know the latest references (made on other machines
        // sharing the media): nothing is removed until it has caught up.
        if self.db.replica_health().is_some_and(|replica| !replica.in_sync) {
            return Ok(0);
        }
        let mut removed = 0;
        // Keys first, references second: a key written after the listing is not considered,
        // and a reference saved before the query is seen.
        let keys = self.media.keys().await?;
        let referenced = self.db.referenced_media().await?;
        for (key, modified) in keys {
            if !referenced.contains(&key) && self.old_enough(modified) {
                self.media.delete(&key).await?;
                removed += 1;
            }
        }
        if let Some(staging) = &self.staging
            && let Ok(entries) = std::fs::read_dir(staging)
        {
            for entry in entries.flatten() {
                let modified = entry.metadata().and_then(|m| m.modified()).ok();
                if self.old_enough(modified) && std::fs::remove_file(entry.path()).is_ok() {
                    removed += 1;
                }
            }
        }
        self.removed.inc_by(removed as u64);
        Ok(removed)
    }

    /// Sweep now, then every `every`, until the task is aborted.
    pub async fn run(self, every: Duration) {
        loop {
            match self.sweep().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(removed = n, "removed media nothing refers to"),
                Err(e) => tracing::warn!(error = %e, "media sweep failed; trying again later"),
            }
            tokio::time::sleep(every).await;
        }
    }
}
