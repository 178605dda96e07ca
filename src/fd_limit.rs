//! The open-file limit: every connection (WebSockets included) is a file descriptor, so the
//! soft limit is raised to the hard one at start-up (as Go's runtime does), and a connection
//! cap the limit cannot hold is reported instead of surfacing later as failed accepts.

/// Descriptors kept for everything but connections: the database, media files, the narrator's
/// pipes, the metrics port.
const SPARE: u64 = 256;

/// Raise this process's soft limit on open files to its hard limit (never lowers it); the soft
/// limit in force afterwards.
pub fn raise() -> std::io::Result<u64> {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit only writes the struct it is given.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit { rlim_cur: limit.rlim_max, rlim_max: limit.rlim_max };
        // SAFETY: setrlimit only reads the struct it is given. A refusal (a hard limit above
        // what the kernel allows) keeps the current limit.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            return Ok(raised.rlim_cur);
        }
    }
    Ok(limit.rlim_cur)
}

/// Raise the limit and say whether `max_connections` fits in it.
pub fn prepare_for(max_connections: usize) {
    match raise() {
        Ok(limit) if (max_connections as u64).saturating_add(SPARE) > limit => tracing::warn!(
            open_files_limit = limit,
            max_connections,
            "the open-file limit is too low for STORYMIMI_HTTP_MAX_CONNECTIONS: accepts will fail before the cap; \
             raise the hard limit (ulimit -Hn) or lower the cap"
        ),
        Ok(limit) => tracing::debug!(open_files_limit = limit, "open-file limit"),
        Err(e) => tracing::warn!(error = %e, "could not read the open-file limit"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_soft_limit_is_raised_to_the_hard_one_and_never_lowered() {
        let mut before = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: getrlimit only writes the struct it is given.
        assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut before) }, 0);
        let now = super::raise().unwrap();
        assert!(now >= before.rlim_cur);
        let mut after = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: as above.
        assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut after) }, 0);
        assert_eq!((after.rlim_cur, after.rlim_max), (now, before.rlim_max));
    }
}
