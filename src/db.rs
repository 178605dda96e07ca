//! libSQL persistence: one write connection (libSQL locks under concurrent writers), a few
//! read connections, migrations at open. Query modules per table group live in `db/`.

mod checkpoint;
mod conversations;
mod migrations;
mod rings;
pub mod stories;
mod story_store;
pub use story_store::UnfinishedStage;
mod timing;
pub mod tokens;
pub mod transcripts;
mod turn_batch;
pub mod understood;
pub mod users;

use actors::ports::{StoreCause, StoreError, StoreErrorKind};
use libsql::{Connection, Database, Row};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::{Mutex, Notify};

pub use timing::{DbTimings, Held};

/// A database failure, with its kind read once from where it was born (SQLite's result code,
/// the OS's error kind) and the original kept as its source.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database failure: {}", kind.as_str())]
    Sql {
        kind: StoreErrorKind,
        #[source]
        source: libsql::Error,
    },
    /// A stored value that does not read back as what it should be.
    #[error("corrupt row: {what}")]
    Corrupt {
        what: String,
        #[source]
        source: Option<StoreCause>,
    },
    /// A value that could not be written as JSON.
    #[error("could not encode a value to store")]
    Encode(#[from] serde_json::Error),
    #[error("could not create the data directory")]
    Io {
        kind: StoreErrorKind,
        #[source]
        source: std::io::Error,
    },
    /// The conversation writer stopped before making the write (the database is closing).
    #[error("the conversation writer stopped")]
    WriterGone,
    /// The checkpoint's blocking task did not finish.
    #[error("the checkpoint task did not finish")]
    Checkpoint(#[source] tokio::task::JoinError),
}

pub type DbResult<T> = Result<T, DbError>;

impl DbError {
    pub fn kind(&self) -> StoreErrorKind {
        match self {
            Self::Sql { kind, .. } | Self::Io { kind, .. } => *kind,
            Self::Corrupt { .. } => StoreErrorKind::Corrupt,
            Self::Encode(_) | Self::Checkpoint(_) => StoreErrorKind::Other,
            Self::WriterGone => StoreErrorKind::Unavailable,
        }
    }

    /// A stored value that does not parse as `what`.
    pub(crate) fn corrupt(what: impl Into<String>, source: impl Into<StoreCause>) -> Self {
        Self::Corrupt { what: what.into(), source: Some(source.into()) }
    }
}

impl From<libsql::Error> for DbError {
    fn from(source: libsql::Error) -> Self {
        Self::Sql { kind: crate::storage_errors::libsql_kind(&source), source }
    }
}

impl From<std::io::Error> for DbError {
    fn from(source: std::io::Error) -> Self {
        Self::Io { kind: crate::storage_errors::io_kind(&source), source }
    }
}

impl From<DbError> for StoreError {
    fn from(e: DbError) -> Self {
        StoreError::new(e.kind(), e)
    }
}

/// Handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Db {
    inner: Arc<Inner>,
}

struct Inner {
    _database: Database,
    writer: Mutex<Writer>,
    /// Conversation writes waiting for the next group commit (`turn_batch`), the turn writer's
    /// wake-up, and how many each commit wrote (once the app's metrics are wired).
    turns: std::sync::Mutex<Vec<turn_batch::Job>>,
    turns_queued: Arc<Notify>,
    turns_per_commit: OnceLock<prometheus::Histogram>,
    timings: OnceLock<DbTimings>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // The turn writer holds only a weak reference: woken now, it finds the database gone.
        self.turns_queued.notify_one();
    }
}

/// The single write connection, with the statements the turn path keeps prepared on it.
pub struct Writer {
    conn: Connection,
    turns: turn_batch::TurnStatements,
}

impl std::ops::Deref for Writer {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        &self.conn
    }
}

impl Db {
    /// Open (creating if needed) the database file and bring its schema up to date.
    pub async fn open(path: &Path, readers: usize) -> DbResult<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let database = libsql::Builder::new_local(path).build().await?;
        let writer = database.connect()?;
        configure(&writer).await?;
        // WAL lets readers proceed while the writer writes; it persists in the file.
        let mode: String = writer
            .query("PRAGMA journal_mode = WAL", ())
            .await?
            .next()
            .await?
            .map_or(Ok(String::new()), |r| r.get(0))?;
        tracing::debug!(journal_mode = %mode, "database opened");
        migrations::apply(&writer).await?;
        for pragma in [
            format!("PRAGMA wal_autocheckpoint = {}", checkpoint::BACKSTOP_PAGES),
            format!("PRAGMA journal_size_limit = {}", checkpoint::WAL_SIZE_LIMIT),
        ] {
            drop(writer.query(&pragma, ()).await?);
        }
        let turns = turn_batch::TurnStatements::prepare(&writer).await?;
        let mut pool = Vec::with_capacity(readers);
        for _ in 0..readers.max(1) {
            let conn = database.connect()?;
            configure(&conn).await?;
            pool.push(Mutex::new(conn));
        }
        let checkpointer = database.connect()?;
        configure(&checkpointer).await?;
        let inner = Arc::new(Inner {
            _database: database,
            writer: Mutex::new(Writer { conn: writer, turns }),
            turns: std::sync::Mutex::new(Vec::new()),
            turns_queued: Arc::new(Notify::new()),
            turns_per_commit: OnceLock::new(),
            timings: OnceLock::new(),
            readers: pool,
            next_reader: AtomicUsize::new(0),
        });
        turn_batch::spawn_writer(Arc::downgrade(&inner), inner.turns_queued.clone());
        checkpoint::spawn(Arc::downgrade(&inner), checkpointer);
        Ok(Self { inner })
    }

    /// Report how many turns each group commit writes (set once, by the app's wiring).
    pub fn observe_turns_per_commit(&self, histogram: prometheus::Histogram) {
        let _ = self.inner.turns_per_commit.set(histogram);
    }

    /// Report connection waits, holds and group commits (set once, by the app's wiring).
    pub fn observe_timings(&self, timings: DbTimings) {
        let _ = self.inner.timings.set(timings);
    }

    /// The single write connection. Hold it only for the statements of one logical write.
    pub async fn writer(&self) -> Held<'_, Writer> {
        let timings = self.inner.timings.get().map(|t| (&t.write_wait, &t.write_held));
        timing::hold(&self.inner.writer, timings).await
    }

    /// A read connection, round-robin.
    pub async fn reader(&self) -> Held<'_, Connection> {
        let i = self.inner.next_reader.fetch_add(1, Ordering::Relaxed) % self.inner.readers.len();
        let timings = self.inner.timings.get().map(|t| (&t.read_wait, &t.read_held));
        timing::hold(&self.inner.readers[i], timings).await
    }

    /// Readiness: a trivial query answers.
    pub async fn ping(&self) -> DbResult<()> {
        let conn = self.reader().await;
        let one: i64 = conn.query("SELECT 1", ()).await?.next().await?.map_or(Ok(0), |r| r.get(0))?;
        if one == 1 { Ok(()) } else { Err(DbError::Corrupt { what: "SELECT 1 did not answer 1".into(), source: None }) }
    }
}

async fn configure(conn: &Connection) -> DbResult<()> {
    conn.busy_timeout(Duration::from_secs(5))?;
    // Each PRAGMA's rows are dropped at once: a live `Rows` keeps an implicit transaction open.
    for pragma in ["PRAGMA foreign_keys = ON", "PRAGMA synchronous = NORMAL"] {
        drop(conn.query(pragma, ()).await?);
    }
    Ok(())
}

/// Collect every row of a query through `map`, so no `Rows` outlives the call.
pub(crate) async fn query_all<T>(
    conn: &Connection,
    sql: &str,
    params: impl libsql::params::IntoParams,
    map: impl Fn(&Row) -> DbResult<T>,
) -> DbResult<Vec<T>> {
    let mut rows = conn.query(sql, params).await?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().await? {
        out.push(map(&row)?);
    }
    Ok(out)
}

/// The first row of a query, if any.
pub(crate) async fn query_one<T>(
    conn: &Connection,
    sql: &str,
    params: impl libsql::params::IntoParams,
    map: impl Fn(&Row) -> DbResult<T>,
) -> DbResult<Option<T>> {
    let mut rows = conn.query(sql, params).await?;
    let first = rows.next().await?;
    let value = first.as_ref().map(map).transpose()?;
    drop(rows);
    Ok(value)
}

/// Now, as stored: RFC 3339 UTC with milliseconds.
pub fn now_text() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

pub fn now_unix() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Parse a stored value into a domain type, turning bad data into an error instead of a panic.
pub(crate) fn parse<T: std::str::FromStr>(value: &str, what: &str) -> DbResult<T> {
    value.parse().map_err(|_| DbError::Corrupt { what: format!("{what}: {value:?}"), source: None })
}

/// Set-up shared by the database's unit tests.
#[cfg(test)]
pub(crate) mod testing {
    use super::Db;
    use actors::model::UserId;

    /// A database in a new temporary directory, which lives as long as the returned guard.
    pub async fn temp_db(readers: usize) -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.db"), readers).await.unwrap();
        (dir, db)
    }

    /// `n` users, `u0@example.com` onwards.
    pub async fn users(db: &Db, n: usize) -> Vec<UserId> {
        let mut users = Vec::with_capacity(n);
        for i in 0..n {
            users.push(db.create_user(&format!("u{i}@example.com"), "U", "hash").await.unwrap().id);
        }
        users
    }
}
