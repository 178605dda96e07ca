//! Storage failures classified once, where they are born: SQLite's (extended) result codes as
//! libSQL reports them, OpenDAL's error kinds, and the OS's I/O error kinds, each into the
//! core's [`StoreErrorKind`]. Nothing here, or anywhere, reads an error's text.

use actors::ports::StoreErrorKind;
use libsql::ffi;
use std::io;

/// ENOSPC and EDQUOT (Linux): what an older `io::ErrorKind` may not name yet.
const NO_SPACE: [i32; 2] = [28, 122];

/// The kind of an SQLite result code. libSQL reports the extended code (`SQLITE_IOERR_WRITE`,
/// `SQLITE_CONSTRAINT_FOREIGNKEY`…); its low byte is the primary code.
pub fn sqlite_code_kind(code: i32) -> StoreErrorKind {
    match code {
        ffi::SQLITE_CONSTRAINT_FOREIGNKEY => return StoreErrorKind::ReferenceGone,
        ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY | ffi::SQLITE_CONSTRAINT_ROWID => {
            return StoreErrorKind::Conflict;
        }
        _ => {}
    }
    match code & 0xff {
        ffi::SQLITE_FULL => StoreErrorKind::Full,
        // Another connection holds a lock (past the busy timeout), or WAL recovery is running.
        ffi::SQLITE_BUSY | ffi::SQLITE_LOCKED | ffi::SQLITE_PROTOCOL => StoreErrorKind::Busy,
        // The volume cannot be read or written now: I/O errors, a read-only or vanished file.
        ffi::SQLITE_IOERR | ffi::SQLITE_READONLY | ffi::SQLITE_CANTOPEN | ffi::SQLITE_PERM | ffi::SQLITE_NOMEM => {
            StoreErrorKind::Unavailable
        }
        ffi::SQLITE_CORRUPT | ffi::SQLITE_NOTADB => StoreErrorKind::Corrupt,
        _ => StoreErrorKind::Other,
    }
}

/// The kind of a libSQL error.
pub fn libsql_kind(error: &libsql::Error) -> StoreErrorKind {
    match error {
        libsql::Error::SqliteFailure(code, _) => sqlite_code_kind(*code),
        libsql::Error::RemoteSqliteFailure(_, extended, _) => sqlite_code_kind(*extended),
        // The file could not be opened; a primary or replica that does not answer.
        libsql::Error::ConnectionFailed(_)
        | libsql::Error::Hrana(_)
        | libsql::Error::WriteDelegation(_)
        | libsql::Error::Replication(_)
        | libsql::Error::Sync(_) => StoreErrorKind::Unavailable,
        _ => StoreErrorKind::Other,
    }
}

/// The kind of an I/O error from the OS.
pub fn io_kind(error: &io::Error) -> StoreErrorKind {
    use io::ErrorKind as K;
    match error.kind() {
        K::StorageFull | K::QuotaExceeded => StoreErrorKind::Full,
        _ if error.raw_os_error().is_some_and(|code| NO_SPACE.contains(&code)) => StoreErrorKind::Full,
        K::NotFound => StoreErrorKind::NotFound,
        K::AlreadyExists => StoreErrorKind::Conflict,
        K::ReadOnlyFilesystem
        | K::PermissionDenied
        | K::ConnectionRefused
        | K::ConnectionReset
        | K::ConnectionAborted
        | K::NotConnected
        | K::TimedOut
        | K::Interrupted
        | K::ResourceBusy
        | K::NetworkDown
        | K::NetworkUnreachable
        | K::HostUnreachable => StoreErrorKind::Unavailable,
        K::WouldBlock => StoreErrorKind::Busy,
        K::InvalidData | K::UnexpectedEof => StoreErrorKind::Corrupt,
        _ => StoreErrorKind::Other,
    }
}

/// The kind of an OpenDAL error: by the OS error underneath when there is one (a full disk is
/// "unexpected" to OpenDAL), else by OpenDAL's own kind and whether it calls it temporary.
pub fn opendal_kind(error: &opendal::Error) -> StoreErrorKind {
    use opendal::ErrorKind as K;
    let os = io_source(error).map(io_kind);
    if let Some(kind @ (StoreErrorKind::Full | StoreErrorKind::Unavailable)) = os {
        return kind;
    }
    match error.kind() {
        K::NotFound => StoreErrorKind::NotFound,
        K::AlreadyExists | K::ConditionNotMatch | K::IsSameFile => StoreErrorKind::Conflict,
        K::RateLimited => StoreErrorKind::Busy,
        // A read-only volume, credentials refused: the store cannot be used until someone acts.
        K::PermissionDenied | K::ConfigInvalid => StoreErrorKind::Unavailable,
        _ if error.is_temporary() => StoreErrorKind::Unavailable,
        _ => os.unwrap_or(StoreErrorKind::Other),
    }
}

/// The first I/O error in `error`'s chain of sources.
fn io_source<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a io::Error> {
    let mut next = Some(error);
    while let Some(e) = next {
        if let Some(io) = e.downcast_ref::<io::Error>() {
            return Some(io);
        }
        next = e.source();
    }
    None
}

#[cfg(test)]
mod tests;
