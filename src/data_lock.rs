//! One process per data directory: an exclusive `flock` on `data_dir/storymimi.lock`, held
//! for the life of the service. Two processes on one libSQL replica file corrupt it for good,
//! and two on one local file would each adopt the other's stories; the second refuses to start.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// The held lock; released when dropped (or when the process dies, however it dies).
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
    path: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "another storymimi process{holder} is using the data directory {dir}: one process per data directory \
         (give this one its own STORYMIMI_DATA_DIR, or stop the other first)"
    )]
    Held { dir: String, holder: String },
    #[error("could not lock the data directory ({path}): {source}")]
    Io { path: String, source: std::io::Error },
}

impl DataDirLock {
    /// Take the data directory (creating it if needed), or say who holds it.
    pub fn acquire(dir: &Path) -> Result<Self, LockError> {
        let path = dir.join("storymimi.lock");
        let io = |source| LockError::Io { path: path.display().to_string(), source };
        std::fs::create_dir_all(dir).map_err(io)?;
        let mut file = File::options().read(true).write(true).create(true).truncate(false).open(&path).map_err(io)?;
        if let Err(e) = try_lock_exclusive(&file) {
            if e.kind() != std::io::ErrorKind::WouldBlock {
                return Err(io(e));
            }
            // The holder wrote its process id into the file when it took the lock.
            let mut pid = String::new();
            let _ = file.read_to_string(&mut pid);
            let pid = pid.trim();
            let holder = if pid.is_empty() { String::new() } else { format!(" (pid {pid})") };
            return Err(LockError::Held { dir: dir.display().to_string(), holder });
        }
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        write!(file, "{}", std::process::id()).map_err(io)?;
        Ok(Self { _file: file, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(unix)]
fn try_lock_exclusive(file: &File) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a descriptor this `File` owns; no memory is involved.
    let result = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if result == 0 { Ok(()) } else { Err(std::io::Error::last_os_error()) }
}

/// The service is deployed on Linux; elsewhere the directory is not locked.
#[cfg(not(unix))]
fn try_lock_exclusive(_: &File) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_with_the_first_ones_pid_until_it_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let first = DataDirLock::acquire(dir.path()).unwrap();
        let refused = DataDirLock::acquire(dir.path()).unwrap_err().to_string();
        assert!(refused.contains("another storymimi process"), "{refused}");
        assert!(refused.contains(&format!("pid {}", std::process::id())), "{refused}");
        assert!(refused.contains(&dir.path().display().to_string()), "{refused}");
        drop(first);
        let again = DataDirLock::acquire(dir.path()).unwrap();
        assert!(again.path().ends_with("storymimi.lock"));
    }
}
