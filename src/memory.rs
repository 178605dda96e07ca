//! Process-wide allocator settings for what still uses glibc's allocator: the C libraries
//! (SQLite, the TLS library) and, in tests, the library linked without the binary's jemalloc.
//! glibc raises its mmap threshold after a large block is
//! freed, so later large blocks (a password hash's 19 MiB, a picture's pixels) come from heaps
//! that are rarely given back: a login flood left ~200 MiB resident that way. A fixed threshold
//! keeps large blocks in their own mappings, returned to the system when freed.

/// Blocks this large or larger are mapped on their own and unmapped when freed.
const MMAP_THRESHOLD: i32 = 256 * 1024;

pub fn return_large_blocks_to_the_system() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: `mallopt` only changes an allocator setting; it is called once, at start-up,
        // before other threads allocate.
        let ok = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD) };
        if ok != 1 {
            eprintln!("warning: could not set the allocator's mmap threshold");
        }
    }
}
