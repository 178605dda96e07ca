//! The code → kind table, then real failures of a real SQLite file, a real file system and a
//! real OpenDAL store, each classified as what it is.

use super::*;
use StoreErrorKind::*;
use libsql::{Connection, Database};
use std::time::Duration;

#[test]
fn sqlite_result_codes_map_to_kinds() {
    let table = [
        (ffi::SQLITE_FULL, Full),
        (ffi::SQLITE_IOERR, Unavailable),
        (ffi::SQLITE_IOERR_WRITE, Unavailable),
        (ffi::SQLITE_IOERR_FSYNC, Unavailable),
        (ffi::SQLITE_IOERR_SHORT_READ, Unavailable),
        (ffi::SQLITE_READONLY, Unavailable),
        (ffi::SQLITE_READONLY_DBMOVED, Unavailable),
        (ffi::SQLITE_CANTOPEN, Unavailable),
        (ffi::SQLITE_PERM, Unavailable),
        (ffi::SQLITE_NOMEM, Unavailable),
        (ffi::SQLITE_BUSY, Busy),
        (ffi::SQLITE_BUSY_SNAPSHOT, Busy),
        (ffi::SQLITE_LOCKED, Busy),
        (ffi::SQLITE_LOCKED_SHAREDCACHE, Busy),
        (ffi::SQLITE_PROTOCOL, Busy),
        (ffi::SQLITE_CONSTRAINT_FOREIGNKEY, ReferenceGone),
        (ffi::SQLITE_CONSTRAINT_UNIQUE, Conflict),
        (ffi::SQLITE_CONSTRAINT_PRIMARYKEY, Conflict),
        (ffi::SQLITE_CONSTRAINT_CHECK, Other),
        (ffi::SQLITE_CONSTRAINT_NOTNULL, Other),
        (ffi::SQLITE_CONSTRAINT, Other),
        (ffi::SQLITE_CORRUPT, Corrupt),
        (ffi::SQLITE_NOTADB, Corrupt),
        (ffi::SQLITE_ERROR, Other),
        (ffi::SQLITE_MISUSE, Other),
        (ffi::SQLITE_TOOBIG, Other),
    ];
    for (code, kind) in table {
        assert_eq!(sqlite_code_kind(code), kind, "result code {code}");
    }
}

#[test]
fn os_errors_map_to_kinds() {
    assert_eq!(io_kind(&io::Error::from_raw_os_error(28)), Full, "ENOSPC");
    assert_eq!(io_kind(&io::Error::from_raw_os_error(122)), Full, "EDQUOT");
    assert_eq!(io_kind(&io::Error::from_raw_os_error(30)), Unavailable, "EROFS");
    assert_eq!(io_kind(&io::Error::from(io::ErrorKind::ConnectionRefused)), Unavailable);
    assert_eq!(io_kind(&io::Error::from(io::ErrorKind::NotFound)), NotFound);
    assert_eq!(io_kind(&io::Error::other("anything")), Other);
}

async fn open(path: &std::path::Path) -> (Database, Connection) {
    let db = libsql::Builder::new_local(path).build().await.unwrap();
    let conn = db.connect().unwrap();
    (db, conn)
}

/// What a failed statement was classified as, with the code libSQL reported.
async fn failure(conn: &Connection, sql: &str) -> (StoreErrorKind, libsql::Error) {
    let error = conn.execute(sql, ()).await.expect_err(sql);
    (libsql_kind(&error), error)
}

#[tokio::test]
async fn real_sqlite_failures_are_classified_by_their_extended_codes() {
    let dir = tempfile::tempdir().unwrap();
    let (_db, conn) = open(&dir.path().join("t.db")).await;
    conn.execute_batch(
        "PRAGMA foreign_keys = ON;
         CREATE TABLE parent (id INTEGER PRIMARY KEY);
         CREATE TABLE child (id INTEGER PRIMARY KEY, parent INTEGER NOT NULL REFERENCES parent(id));
         INSERT INTO parent VALUES (1);",
    )
    .await
    .unwrap();

    let (kind, error) = failure(&conn, "INSERT INTO child VALUES (1, 2)").await;
    assert_eq!(kind, ReferenceGone, "{error:?}");
    assert!(matches!(error, libsql::Error::SqliteFailure(ffi::SQLITE_CONSTRAINT_FOREIGNKEY, _)), "{error:?}");
    assert_eq!(failure(&conn, "INSERT INTO parent VALUES (1)").await.0, Conflict);
    assert_eq!(failure(&conn, "INSERT INTO child VALUES (2, NULL)").await.0, Other, "NOT NULL: a bug");
    assert_eq!(failure(&conn, "INSERT INTO nowhere VALUES (1)").await.0, Other, "no such table: a bug");

    // A database that may not grow: SQLITE_FULL, as a full disk gives.
    conn.execute_batch("CREATE TABLE blobs (b BLOB)").await.unwrap();
    let pages: i64 = conn.query("PRAGMA page_count", ()).await.unwrap().next().await.unwrap().unwrap().get(0).unwrap();
    drop(conn.query(&format!("PRAGMA max_page_count = {pages}"), ()).await.unwrap());
    assert_eq!(failure(&conn, "INSERT INTO blobs VALUES (zeroblob(100000))").await.0, Full);

    drop(conn.query("PRAGMA query_only = 1", ()).await.unwrap());
    assert_eq!(failure(&conn, "INSERT INTO parent VALUES (3)").await.0, Unavailable, "read-only");
}

#[tokio::test]
async fn a_write_lock_held_by_another_connection_is_busy() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let (_a, holder) = open(&path).await;
    holder.execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (x)").await.unwrap();
    // Another database object: another connection to the file, as another process would be.
    let (_b, writer) = open(&path).await;
    writer.busy_timeout(Duration::from_millis(10)).unwrap();
    holder.execute("BEGIN IMMEDIATE", ()).await.unwrap();
    let (kind, error) = failure(&writer, "INSERT INTO t VALUES (1)").await;
    assert_eq!(kind, Busy, "{error:?}");
    holder.execute("COMMIT", ()).await.unwrap();
    writer.execute("INSERT INTO t VALUES (1)", ()).await.unwrap();
}

#[tokio::test]
async fn a_file_that_is_not_a_database_is_corrupt_and_a_missing_directory_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    std::fs::write(&path, vec![b'x'; 8192]).unwrap();
    let error = match libsql::Builder::new_local(&path).build().await {
        Ok(db) => failure(&db.connect().unwrap(), "CREATE TABLE t (x)").await.1,
        Err(e) => e,
    };
    assert_eq!(libsql_kind(&error), Corrupt, "{error:?}");

    let error = match libsql::Builder::new_local(dir.path().join("gone/t.db")).build().await {
        Ok(db) => match db.connect() {
            Ok(conn) => failure(&conn, "CREATE TABLE t (x)").await.1,
            Err(e) => e,
        },
        Err(e) => e,
    };
    assert_eq!(libsql_kind(&error), Unavailable, "{error:?}");
}

#[tokio::test]
async fn opendal_failures_are_classified_by_kind_and_the_os_error_beneath() {
    let dir = tempfile::tempdir().unwrap();
    let fs = opendal::Operator::new(opendal::services::Fs::default().root(&dir.path().to_string_lossy())).unwrap();
    let missing = fs.stat("ab/none.png").await.unwrap_err();
    assert_eq!(opendal_kind(&missing), NotFound, "{missing:?}");

    // How the fs service reports a full disk: "unexpected", with the OS error as its source.
    let full = opendal::Error::new(opendal::ErrorKind::Unexpected, "write")
        .set_source(io::Error::from_raw_os_error(28))
        .set_temporary();
    assert_eq!(opendal_kind(&full), Full);
    let read_only =
        opendal::Error::new(opendal::ErrorKind::Unexpected, "write").set_source(io::Error::from_raw_os_error(30));
    assert_eq!(opendal_kind(&read_only), Unavailable);
    assert_eq!(opendal_kind(&opendal::Error::new(opendal::ErrorKind::RateLimited, "slow down")), Busy);
    assert_eq!(opendal_kind(&opendal::Error::new(opendal::ErrorKind::Unsupported, "no")), Other);

    // An S3 endpoint where nothing listens: a store that does not answer.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let s3 = opendal::services::S3::default()
        .bucket("b")
        .region("us-east-1")
        .endpoint(&format!("http://127.0.0.1:{port}"))
        .access_key_id("k")
        .secret_access_key("s");
    let down = opendal::Operator::new(s3).unwrap().stat("ab/x.png").await.unwrap_err();
    assert_eq!(opendal_kind(&down), Unavailable, "{down:?}");
}
