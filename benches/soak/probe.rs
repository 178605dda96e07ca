//! What the soak reads of a running server every few seconds: its memory from `/proc` (where
//! the resident pages are, and how many of them the kernel may take back at will), what
//! jemalloc holds, its live actors and sockets from `/metrics`, and the machine's load.

use crate::server::{Server, cpu_time};
use serde::Serialize;

#[derive(Clone, Debug, Default, Serialize)]
pub struct Sample {
    pub t_s: u64,
    pub cycle: u32,
    pub phase: &'static str,
    /// Resident set (`VmRSS`), and its anonymous and file-backed parts.
    pub rss_kib: u64,
    pub anon_kib: u64,
    pub file_kib: u64,
    /// Pages given back with `MADV_FREE`: still counted in RSS until the kernel needs them.
    pub lazyfree_kib: u64,
    /// glibc's main heap (`[heap]`, brk): what the C libraries (SQLite) allocate on the main
    /// arena; jemalloc maps its own memory and never uses brk here.
    pub glibc_heap_kib: u64,
    /// jemalloc's counts (`storymimi_allocator_*_bytes`): live bytes, the pages they sit in,
    /// its resident pages (free ones not yet given back included), and address space it
    /// returned but keeps mapped.
    pub allocated_kib: u64,
    pub active_kib: u64,
    pub jemalloc_resident_kib: u64,
    pub retained_kib: u64,
    pub threads: u64,
    pub conversations: u64,
    pub connections: u64,
    pub stories: u64,
    pub ws_connections: u64,
    pub server_cpu_s: f64,
    /// The machine's 1-minute load average (2 cores, shared with other work).
    pub load1: f64,
}

/// One sample of `server` (metrics over `client`).
pub async fn sample(server: &Server, client: &reqwest::Client, t_s: u64, cycle: u32, phase: &'static str) -> Sample {
    let pid = server.pid();
    let metrics = match client.get(format!("http://{}/metrics", server.addr)).send().await {
        Ok(response) => response.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    };
    let actors = |kind: &str| metric(&metrics, &format!("storymimi_actors_alive{{kind=\"{kind}\"}}")) as u64;
    let allocator = |what: &str| metric(&metrics, &format!("storymimi_allocator_{what}_bytes")) as u64 / 1024;
    let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
    Sample {
        t_s,
        cycle,
        phase,
        rss_kib: server.rss_kib(),
        anon_kib: server.status_kib("RssAnon"),
        file_kib: server.status_kib("RssFile"),
        lazyfree_kib: kib_field(&rollup, "LazyFree"),
        glibc_heap_kib: heap_rss_kib(pid),
        allocated_kib: allocator("allocated"),
        active_kib: allocator("active"),
        jemalloc_resident_kib: allocator("resident"),
        retained_kib: allocator("retained"),
        threads: server.status_kib("Threads"),
        conversations: actors("conversation"),
        connections: actors("connection"),
        stories: actors("story"),
        ws_connections: metric(&metrics, "storymimi_ws_connections") as u64,
        server_cpu_s: cpu_time(&pid.to_string()).as_secs_f64(),
        load1: load_average(),
    }
}

/// The value of the metric line that starts with `name` (labels included), else 0.
pub fn metric(text: &str, name: &str) -> f64 {
    text.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok()).unwrap_or(0.0)
}

/// `Name:   123 kB` in a `/proc` file.
fn kib_field(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The resident size of the `[heap]` mapping in `/proc/<pid>/smaps`.
fn heap_rss_kib(pid: u32) -> u64 {
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap_or_default();
    let mut lines = smaps.lines().skip_while(|l| !l.ends_with("[heap]"));
    lines.next();
    // The mapping's fields (`Name: value`) run until the next mapping's address line.
    let fields: Vec<&str> =
        lines.take_while(|l| l.split_whitespace().next().is_some_and(|w| w.ends_with(':'))).collect();
    kib_field(&fields.join("\n"), "Rss")
}

fn load_average() -> f64 {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    text.split_whitespace().next().and_then(|v| v.parse().ok()).unwrap_or(0.0)
}

/// The options jemalloc ran with, from the `stats_print` it writes to stderr at exit (the
/// soak asks for it): proof that a `_RJEM_MALLOC_CONF` setting took effect.
pub fn allocator_options(stderr: &str) -> Vec<String> {
    const SHOWN: [&str; 5] =
        ["opt.narenas:", "opt.dirty_decay_ms:", "opt.muzzy_decay_ms:", "opt.background_thread:", "opt.retain:"];
    stderr
        .lines()
        .map(str::trim)
        .filter(|l| SHOWN.iter().any(|s| l.starts_with(s)))
        .map(|l| l.split(" (").next().unwrap_or(l).to_owned())
        .collect()
}
