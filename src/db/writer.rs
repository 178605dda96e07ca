//! The single write connection. On the local file a write is a transaction on it; on an
//! embedded replica a write is delegated to the primary in ONE call, whatever it holds (each
//! statement of an interactive transaction would be a round trip of its own), and is bounded
//! by a timeout without being cut short: a call abandoned half-way through the replica's
//! catch-up sync could leave the replica file half-written.

use super::sql::Sql;
use super::turn_batch::TurnStatements;
use super::{DbError, DbResult, query_all};
use libsql::{Connection, Row};
use std::future::Future;
use std::time::Duration;

/// The write connection, with what its mode needs.
pub struct Writer {
    conn: Connection,
    mode: Mode,
}

pub(super) enum Mode {
    /// The local file, with the turn path's statements prepared once.
    Local(TurnStatements),
    /// Writes go to the replica's primary; an answer later than `timeout` counts as failed.
    Delegated { timeout: Duration },
}

impl std::ops::Deref for Writer {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        &self.conn
    }
}

impl Writer {
    pub(super) fn new(conn: Connection, mode: Mode) -> Self {
        Self { conn, mode }
    }

    pub(super) fn mode(&self) -> &Mode {
        &self.mode
    }

    /// Whether writes go to a primary (and decisions must be made there, in the statements).
    pub fn is_delegated(&self) -> bool {
        matches!(self.mode, Mode::Delegated { .. })
    }

    /// One statement; the rows it changed. Reads on this connection afterwards see it (a
    /// replica syncs before the call returns).
    pub async fn write(&self, sql: Sql) -> DbResult<u64> {
        match self.mode {
            Mode::Local(_) => Ok(self.conn.execute(&sql.text, sql.values).await?),
            Mode::Delegated { timeout } => {
                let conn = self.conn.clone();
                delegate(timeout, async move { Ok(conn.execute(&sql.text, sql.values).await?) }).await
            }
        }
    }

    /// One statement that changes rows and returns some (`… RETURNING …`), each through `map`.
    pub async fn write_returning<T: Send + 'static>(&self, sql: Sql, map: fn(&Row) -> DbResult<T>) -> DbResult<Vec<T>> {
        match self.mode {
            Mode::Local(_) => query_all(&self.conn, &sql.text, sql.values, map).await,
            Mode::Delegated { timeout } => {
                let conn = self.conn.clone();
                delegate(timeout, async move { query_all(&conn, &sql.text, sql.values, map).await }).await
            }
        }
    }

    /// `statements` as one transaction: all of them or none. Callers learn what happened by
    /// reading afterwards on this connection (a batch call reports no row counts); conditions
    /// belong in the statements themselves, where the primary decides.
    pub async fn batch(&self, statements: Vec<Sql>) -> DbResult<()> {
        match self.mode {
            Mode::Local(_) => {
                let tx = self.conn.transaction().await?;
                for sql in statements {
                    tx.execute(&sql.text, sql.values).await?;
                }
                tx.commit().await?; // dropped uncommitted on error: rolled back
                Ok(())
            }
            Mode::Delegated { timeout } => {
                let text = statements.iter().map(Sql::inlined).collect::<DbResult<Vec<_>>>()?.join(";\n");
                self.batch_text(text, timeout).await
            }
        }
    }

    /// SQL text as one transaction on the primary (migrations come as text).
    pub(super) async fn batch_text(&self, text: String, timeout: Duration) -> DbResult<()> {
        let conn = self.conn.clone();
        delegate(timeout, async move { Ok(conn.execute_transactional_batch(&text).await.map(drop)?) }).await
    }
}

/// Run a call to the primary on a task of its own and wait for it at most `timeout`.
pub(super) async fn delegate<T: Send + 'static>(
    timeout: Duration,
    call: impl Future<Output = DbResult<T>> + Send + 'static,
) -> DbResult<T> {
    match tokio::time::timeout(timeout, tokio::spawn(call)).await {
        Ok(Ok(result)) => result,
        Ok(Err(e)) => Err(DbError::PrimaryCall(e)),
        Err(_) => Err(DbError::PrimaryTimeout(timeout)),
    }
}
