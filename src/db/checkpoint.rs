//! WAL checkpoints off the write path. SQLite's automatic checkpoint runs inside whichever
//! commit crosses the threshold, on the single write connection: every writer then waits for
//! pages to be copied and synced (the commit that did it took milliseconds instead of
//! microseconds, and under load a quarter of the writer's time went there). Here a task
//! checkpoints on a connection of its own, on a blocking thread, while writes go on; the
//! write connection keeps a far higher automatic threshold only as a backstop.

use super::Inner;
use libsql::Connection;
use std::sync::Weak;
use std::time::Duration;

/// How often the WAL is copied back into the database file.
pub(super) const INTERVAL: Duration = Duration::from_secs(1);
/// Pages the WAL may hold before the writer checkpoints by itself (~40 MB): only reached when
/// the checkpoint task cannot keep up.
pub(super) const BACKSTOP_PAGES: u32 = 10_000;
/// What the WAL file is cut back to after a checkpoint lets it restart.
pub(super) const WAL_SIZE_LIMIT: u64 = 64 * 1024 * 1024;

/// Checkpoint every [`INTERVAL`] until the database is gone.
pub(super) fn spawn(db: Weak<Inner>, conn: Connection) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_error: Option<String> = None;
        loop {
            tick.tick().await;
            if db.strong_count() == 0 {
                return;
            }
            let conn = conn.clone();
            let runtime = tokio::runtime::Handle::current();
            // libSQL's local calls run SQLite in place: on a blocking thread, the copying and
            // syncing stall no task.
            let result = tokio::task::spawn_blocking(move || runtime.block_on(checkpoint(&conn))).await;
            let error = match result {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(e.to_string()),
                Err(e) => Some(e.to_string()),
            };
            // Said once per new failure (a full disk would repeat it twice a second).
            if error.is_some() && error != last_error {
                tracing::warn!(error = ?error, "the WAL checkpoint failed; writes go on, the WAL grows");
            }
            last_error = error;
        }
    });
}

/// Copy what no reader still needs from the WAL into the database file, without waiting for
/// readers or blocking writers.
async fn checkpoint(conn: &Connection) -> Result<(), libsql::Error> {
    drop(conn.query("PRAGMA wal_checkpoint(PASSIVE)", ()).await?);
    Ok(())
}
