//! An embedded replica of a remote libSQL primary. It opens from its file alone (libSQL's V1
//! protocol: without libSQL's `sync` feature nothing is asked of the primary at open), so a
//! machine starts and serves reads while the primary is down. A background task syncs it
//! every interval; each sync runs on a task of its own that is waited for with a timeout but
//! never cut short (abandoned half-way, a sync could leave the replica file half-written), and
//! a sync still running is waited for again instead of starting another.

use super::sync_status::SyncStatus;
use super::{DbResult, Inner};
use crate::config::ReplicaSettings;
use libsql::Database;
use std::path::Path;
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::task::JoinHandle;

/// Open (creating if needed) the replica file; reads work at once, writes go to the primary.
pub(super) async fn open(path: &Path, settings: &ReplicaSettings) -> DbResult<Database> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let database = libsql::Builder::new_remote_replica(
        path,
        settings.url.as_str().to_owned(),
        settings.auth_token.expose().to_owned(),
    )
    // A write returns once the replica has it: a turn is answered only when the primary has
    // it, and whoever wrote it reads it back at once.
    .read_your_writes(true)
    .build()
    .await?;
    Ok(database)
}

/// Syncs the replica with its primary, one sync at a time.
pub(super) struct Syncer {
    database: Arc<Database>,
    status: Arc<SyncStatus>,
    running: tokio::sync::Mutex<Option<JoinHandle<libsql::Result<()>>>>,
}

impl Syncer {
    pub(super) fn new(database: Arc<Database>, status: Arc<SyncStatus>) -> Self {
        Self { database, status, running: tokio::sync::Mutex::new(None) }
    }

    /// Bring the replica up to the primary, waiting at most `wait` (the sync goes on after
    /// that, and the next call waits for it); the outcome is recorded in the status.
    pub(super) async fn sync(&self, wait: Duration) -> Result<(), String> {
        let mut running = self.running.lock().await;
        let sync = running.get_or_insert_with(|| {
            let database = self.database.clone();
            tokio::spawn(async move { database.sync().await.map(drop) })
        });
        let result = match tokio::time::timeout(wait, sync).await {
            Ok(finished) => {
                *running = None;
                match finished {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(e)) => Err(e.to_string()),
                    Err(e) => Err(format!("the sync task failed: {e}")),
                }
            }
            Err(_) => Err(format!("no answer from the primary within {} ms", wait.as_millis())),
        };
        self.status.record(&result);
        result
    }
}

/// Sync every `interval` (after the previous sync ends) until the database is gone.
pub(super) fn spawn_sync_loop(db: Weak<Inner>, syncer: Arc<Syncer>, settings: &ReplicaSettings) {
    let (interval, timeout) = (settings.sync_interval, settings.primary_timeout);
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(interval).await;
            if db.strong_count() == 0 {
                return;
            }
            let _ = syncer.sync(timeout).await;
        }
    });
}
