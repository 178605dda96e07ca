//! WAL checkpoints off the write path. SQLite's automatic checkpoint runs inside whichever
//! commit crosses the threshold, on the single write connection: every writer then waits for
//! pages to be copied and synced (the commit that did it took milliseconds instead of
//! microseconds, and under load a quarter of the writer's time went there). Here a task
//! checkpoints on a connection of its own, on a blocking thread, while writes go on; the
//! write connection keeps a far higher automatic threshold only as a backstop.

use super::{DbError, Inner};
use actors::ports::StoreErrorKind;
use libsql::Connection;
use std::sync::Weak;
use std::time::Duration;

/// How often the WAL is copied back into the database file, unless configured.
pub(super) const INTERVAL: Duration = Duration::from_millis(250);
/// Pages the WAL may hold before the writer checkpoints by itself (~160 MB): only reached when
/// the checkpoint task cannot keep up.
pub(super) const BACKSTOP_PAGES: u32 = 40_000;
/// What the WAL file is cut back to after a checkpoint lets it restart.
pub(super) const WAL_SIZE_LIMIT: u64 = 64 * 1024 * 1024;

/// Checkpoint every `interval` until the database is gone.
pub(super) fn spawn(db: Weak<Inner>, conn: Connection, interval: Duration) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_failure: Option<StoreErrorKind> = None;
        loop {
            tick.tick().await;
            if db.strong_count() == 0 {
                return;
            }
            // First without the writer, while turns go on being written; then, holding it,
            // the few frames written meanwhile: only a checkpoint that reaches the end of the
            // WAL lets the next write start it again from the beginning (else it only grows,
            // until the writer's own backstop checkpoint stalls every write).
            let mut result = blocking(&conn).await;
            if result.is_ok()
                && let Some(inner) = db.upgrade()
            {
                let _writer = inner.writer.lock().await;
                result = blocking(&conn).await;
            }
            // Said once per new kind of failure (a full disk would repeat it every round).
            let failure = result.as_ref().err().map(DbError::kind);
            if let Err(e) = &result
                && failure != last_failure
            {
                tracing::warn!(error = ?e, "the WAL checkpoint failed; writes go on, the WAL grows");
            }
            last_failure = failure;
        }
    });
}

/// A checkpoint on a blocking thread: libSQL's local calls run SQLite in place, and the
/// copying and syncing must stall no task.
async fn blocking(conn: &Connection) -> Result<(), DbError> {
    let (conn, runtime) = (conn.clone(), tokio::runtime::Handle::current());
    match tokio::task::spawn_blocking(move || runtime.block_on(checkpoint(&conn))).await {
        Ok(result) => Ok(result?),
        // The blocking thread panicked or was cancelled (at shutdown).
        Err(e) => Err(DbError::Checkpoint(e)),
    }
}

/// Copy what no reader still needs from the WAL into the database file, without waiting for
/// readers or blocking writers.
async fn checkpoint(conn: &Connection) -> Result<(), libsql::Error> {
    drop(conn.query("PRAGMA wal_checkpoint(PASSIVE)", ()).await?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::db::Db;
    use actors::model::Draft;
    use actors::ports::{ConversationStore, Speaker, TurnRecord};

    /// Frames in the WAL (a checkpoint's `log` column): how far it has grown since it last
    /// started again.
    async fn wal_frames(db: &Db) -> i64 {
        let conn = db.reader().await;
        let mut rows = conn.query("PRAGMA wal_checkpoint(PASSIVE)", ()).await.unwrap();
        rows.next().await.unwrap().unwrap().get(1).unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_wal_is_checkpointed_and_starts_again_without_the_writer_doing_it() {
        let (_dir, db) = crate::db::testing::temp_db(1).await;
        let mut writers = Vec::new();
        for i in 0..20 {
            let db = db.clone();
            writers.push(tokio::spawn(async move {
                let user = db.create_user(&format!("u{i}@example.com"), "U", "hash").await.unwrap().id;
                for n in 0..100 {
                    let turn = TurnRecord { speaker: Speaker::Child, content: format!("turn {n}"), client_id: None };
                    db.record_turn(user, "c", &turn, &Draft::default()).await.unwrap();
                }
                user
            }));
        }
        let mut users = Vec::new();
        for writer in writers {
            users.push(writer.await.unwrap());
        }
        // Thousands of frames were written, far below the writer's own threshold; two rounds
        // of the checkpoint task later, the next write starts the WAL from the beginning.
        tokio::time::sleep(super::INTERVAL * 3).await;
        let turn = TurnRecord { speaker: Speaker::Agent, content: "the end".into(), client_id: None };
        db.record_turn(users[0], "c", &turn, &Draft::default()).await.unwrap();
        let frames = wal_frames(&db).await;
        assert!(frames < 50, "{frames} frames in the WAL: it was not started again");
        assert_eq!(db.load_conversation(users[0]).await.unwrap().unwrap().turns.len(), 20, "20 most recent kept");
    }
}
