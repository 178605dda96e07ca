//! libSQL persistence: one write connection (libSQL locks under concurrent writers), a few
#![cfg_attr(not(feature = "replica"), allow(dead_code, unused_imports))]
//! read connections, migrations at open. The database is a local file, or an embedded replica
//! of a remote primary (reads local, writes delegated; see `replica` and `writer`). Query
//! modules per table group live in `db/`.

mod checkpoint;
mod conversations;
mod fence;
pub mod homes;
mod migrations;
mod redos;
#[cfg(feature = "replica")]
mod replica;
mod rings;
mod sql;
pub mod stories;
mod story_store;
pub use story_store::UnfinishedStage;
mod sync_status;
mod timing;
pub mod tokens;
pub mod transcripts;
mod turn_batch;
pub mod understood;
pub mod users;
mod writer;

pub use fence::{Fence, Fences};
pub use sql::Sql;
pub use sync_status::ReplicaHealth;
pub use writer::Writer;

use actors::ports::{StoreCause, StoreError, StoreErrorKind};
use libsql::{Connection, Database, Row};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use sync_status::SyncStatus;
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
    /// A call to the replica's primary took longer than `db_primary_timeout_ms` (it goes on,
    /// and may still reach the primary).
    #[error("the database primary did not answer within {} ms", .0.as_millis())]
    PrimaryTimeout(Duration),
    /// The task making a call to the primary did not finish (it panicked).
    #[error("a call to the database primary did not finish")]
    PrimaryCall(#[source] tokio::task::JoinError),
    /// A replica that cannot serve: never synced (or behind this build's schema) while its
    /// primary cannot be reached.
    #[error("the replica is not up to date and its primary ({primary}) cannot be reached: {why}")]
    NotSynced { primary: String, why: String },
    /// SQL of ours that cannot be sent with its values written in (a bug).
    #[error("statement cannot take its values inline: {0}")]
    NotInlinable(String),
    /// A write of a user's live state refused: this process is not their home (any more).
    #[error("this machine is no longer the user's home")]
    Fenced,
    /// A fenced write of a user who no longer exists (their home went with them).
    #[error("the user this write belongs to no longer exists")]
    UserGone,
    /// The group commit this write was part of failed (the cause is shared by its writes).
    #[error("the group commit of this write failed")]
    GroupCommit {
        kind: StoreErrorKind,
        #[source]
        source: Arc<DbError>,
    },
}

pub type DbResult<T> = Result<T, DbError>;

impl DbError {
    pub fn kind(&self) -> StoreErrorKind {
        match self {
            Self::Sql { kind, .. } | Self::Io { kind, .. } | Self::GroupCommit { kind, .. } => *kind,
            Self::Corrupt { .. } => StoreErrorKind::Corrupt,
            Self::Encode(_) | Self::Checkpoint(_) | Self::PrimaryCall(_) | Self::NotInlinable(_) => {
                StoreErrorKind::Other
            }
            Self::WriterGone | Self::PrimaryTimeout(_) | Self::NotSynced { .. } => StoreErrorKind::Unavailable,
            Self::Fenced => StoreErrorKind::Fenced,
            Self::UserGone => StoreErrorKind::ReferenceGone,
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
    _database: Arc<Database>,
    writer: Mutex<Writer>,
    /// Conversation writes waiting for the next group commit (`turn_batch`), the turn writer's
    /// wake-up, and how many each commit wrote (once the app's metrics are wired).
    turns: std::sync::Mutex<Vec<turn_batch::Job>>,
    turns_queued: Arc<Notify>,
    turns_per_commit: OnceLock<prometheus::Histogram>,
    timings: OnceLock<DbTimings>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    /// How syncing with the primary goes, for an embedded replica.
    replica: Option<Arc<SyncStatus>>,
    /// Which homes this process holds: writes of live state are fenced with them.
    fences: OnceLock<std::sync::Weak<dyn Fences>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // The turn writer holds only a weak reference: woken now, it finds the database gone.
        self.turns_queued.notify_one();
    }
}

impl Db {
    /// Open (creating if needed) the database file and bring its schema up to date.
    pub async fn open(path: &Path, readers: usize) -> DbResult<Self> {
        Self::open_local(path, readers, checkpoint::INTERVAL).await
    }

    /// [`Db::open`], checkpointing the write-ahead log every `checkpoint_every`.
    pub async fn open_local(path: &Path, readers: usize, checkpoint_every: Duration) -> DbResult<Self> {
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
            pool.push(conn);
        }
        let checkpointer = database.connect()?;
        configure(&checkpointer).await?;
        let writer = Writer::new(writer, writer::Mode::Local(turns));
        let db = Self::assemble(Arc::new(database), writer, pool, None);
        checkpoint::spawn(Arc::downgrade(&db.inner), checkpointer, checkpoint_every);
        Ok(db)
    }

    /// Open (creating if needed) an embedded replica of the primary in `settings` (its failed
    /// syncs counted in `sync_errors`), sync it
    /// (waiting at most `startup_sync_timeout`) and bring the schema up to date through the
    /// primary. A replica whose primary cannot be reached still opens when its schema is
    /// current: it serves reads, and its status says it is not in sync.
    #[cfg(feature = "replica")]
    pub async fn open_replica(
        path: &Path,
        readers: usize,
        settings: &crate::config::ReplicaSettings,
        sync_errors: prometheus::IntCounter,
    ) -> DbResult<Self> {
        let database = Arc::new(replica::open(path, settings).await?);
        let status = Arc::new(SyncStatus::new(settings.url.as_str()));
        status.observe_errors(sync_errors);
        let syncer = Arc::new(replica::Syncer::new(database.clone(), status.clone()));
        let synced = syncer.sync(settings.startup_sync_timeout).await;
        let writer = Writer::new(database.connect()?, writer::Mode::Delegated { timeout: settings.primary_timeout });
        match synced {
            Ok(()) => migrations::apply_delegated(&writer, &syncer, settings.primary_timeout).await?,
            Err(why) if migrations::is_current(&writer).await? => {
                tracing::warn!(error = %why, "starting without the database primary: reads are served from the replica");
            }
            Err(why) => return Err(DbError::NotSynced { primary: settings.url.to_string(), why }),
        }
        let pool = (0..readers.max(1)).map(|_| database.connect()).collect::<Result<Vec<_>, _>>()?;
        let db = Self::assemble(database, writer, pool, Some(status));
        replica::spawn_sync_loop(Arc::downgrade(&db.inner), syncer, settings);
        Ok(db)
    }

    /// The handle around open connections, with its turn writer running.
    fn assemble(
        database: Arc<Database>,
        writer: Writer,
        readers: Vec<Connection>,
        replica: Option<Arc<SyncStatus>>,
    ) -> Self {
        let inner = Arc::new(Inner {
            _database: database,
            writer: Mutex::new(writer),
            turns: std::sync::Mutex::new(Vec::new()),
            turns_queued: Arc::new(Notify::new()),
            turns_per_commit: OnceLock::new(),
            timings: OnceLock::new(),
            readers: readers.into_iter().map(Mutex::new).collect(),
            next_reader: AtomicUsize::new(0),
            replica,
            fences: OnceLock::new(),
        });
        turn_batch::spawn_writer(Arc::downgrade(&inner), inner.turns_queued.clone());
        Self { inner }
    }

    /// How syncing with the primary goes; `None` for a local file.
    pub fn replica_health(&self) -> Option<ReplicaHealth> {
        self.inner.replica.as_ref().map(|status| status.health())
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
