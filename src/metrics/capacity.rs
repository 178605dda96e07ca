//! Gauges that put a level beside its limit (connections, password checks, stories in flight,
//! memory), so an alert can say "80 % of the cap" whatever the cap is configured to, and the
//! stories still being written, read from the database at each scrape.

use super::Registrar;
use crate::db::UnfinishedStage;
use prometheus::{GaugeVec, IntGauge, IntGaugeVec};

/// The stages of a story that is not finished yet (`pending` or `processing`).
pub const UNFINISHED_STAGES: [&str; 5] = ["queued", "planning", "writing", "illustrating", "narrating"];

pub struct Capacity {
    /// Open HTTP connections (WebSockets included) and the cap (`http_max_connections`).
    pub http_connections: IntGauge,
    pub http_connections_limit: IntGauge,
    /// Password checks running or waiting, and how many may (workers + queue).
    pub password_hash_slots_used: IntGauge,
    pub password_hash_slots: IntGauge,
    /// `max_stories_in_flight`, to compare with `stories_unfinished`.
    pub stories_in_flight_limit: IntGauge,
    stories_unfinished: IntGaugeVec,
    story_stall: GaugeVec,
    /// Memory this process may use: the cgroup's limit, else the machine's memory.
    pub memory_limit: IntGauge,
}

impl Capacity {
    pub fn register(r: &Registrar) -> Result<Self, prometheus::Error> {
        let capacity = Self {
            http_connections: r.gauge("http_connections", "Open HTTP connections, WebSockets included")?,
            http_connections_limit: r
                .gauge("http_connections_limit", "Open connections allowed (STORYMIMI_HTTP_MAX_CONNECTIONS)")?,
            password_hash_slots_used: r.gauge("password_hash_slots_used", "Password checks running or waiting")?,
            password_hash_slots: r
                .gauge("password_hash_slots", "Password checks that may run or wait at once (workers + queue)")?,
            stories_in_flight_limit: r.gauge(
                "stories_in_flight_limit",
                "Stories that may be pending or written at once (STORYMIMI_MAX_STORIES_IN_FLIGHT)",
            )?,
            stories_unfinished: r.gauges(
                "stories_unfinished",
                "Stories pending or being written, by stage (the whole database)",
                &["stage"],
            )?,
            story_stall: r.float_gauges(
                "story_stall_seconds",
                "Seconds since the least recently progressed unfinished story in each stage last made progress \
                 (a stage, plan, scene or cover stored)",
                &["stage"],
            )?,
            memory_limit: r
                .gauge("memory_limit_bytes", "Memory this process may use: its cgroup limit, else the machine's")?,
        };
        capacity.set_unfinished(&[]);
        if let Some(limit) = memory_limit() {
            capacity.memory_limit.set(limit);
        }
        Ok(capacity)
    }

    /// Replace the unfinished-story gauges with `rows`; a stage with none reads 0.
    pub fn set_unfinished(&self, rows: &[UnfinishedStage]) {
        for stage in UNFINISHED_STAGES {
            self.stories_unfinished.with_label_values(&[stage]).set(0);
            self.story_stall.with_label_values(&[stage]).set(0.0);
        }
        for row in rows {
            self.stories_unfinished.with_label_values(&[&row.stage]).set(row.stories);
            self.story_stall.with_label_values(&[&row.stage]).set(row.stalled_secs);
        }
    }

    #[cfg(test)]
    fn stall(&self, stage: &str) -> (i64, f64) {
        (self.stories_unfinished.with_label_values(&[stage]).get(), self.story_stall.with_label_values(&[stage]).get())
    }
}

/// The cgroup v2 or v1 memory limit of this process, else the machine's memory (on a Fly
/// machine, a VM, that is the machine's size). `None` off Linux.
fn memory_limit() -> Option<i64> {
    let read = |path: &str| std::fs::read_to_string(path).ok();
    let cgroup = read("/sys/fs/cgroup/memory.max")
        .or_else(|| read("/sys/fs/cgroup/memory/memory.limit_in_bytes"))
        .and_then(|text| text.trim().parse::<i64>().ok());
    let total = read("/proc/meminfo").and_then(|text| mem_total(&text));
    match (cgroup, total) {
        // cgroup v1 says "no limit" with a huge number: the machine's memory is the real bound.
        (Some(limit), Some(total)) => Some(limit.min(total)),
        (limit, total) => limit.or(total),
    }
}

/// `MemTotal` of `/proc/meminfo`, in bytes.
fn mem_total(meminfo: &str) -> Option<i64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: i64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mem_total_reads_kib() {
        let text = "MemTotal:        2030260 kB\nMemFree:          123 kB\n";
        assert_eq!(mem_total(text), Some(2030260 * 1024));
        assert_eq!(mem_total("nothing"), None);
    }

    #[test]
    fn this_machine_has_a_memory_limit() {
        assert!(memory_limit().is_some_and(|m| m > 0));
    }

    #[test]
    fn stages_without_stories_read_zero_and_others_their_row() {
        let capacity = Capacity::register(&Registrar(&prometheus::Registry::new())).unwrap();
        capacity.set_unfinished(&[UnfinishedStage { stage: "writing".into(), stories: 2, stalled_secs: 42.5 }]);
        assert_eq!(capacity.stall("writing"), (2, 42.5));
        assert_eq!(capacity.stall("queued"), (0, 0.0));
        capacity.set_unfinished(&[]);
        assert_eq!(capacity.stall("writing"), (0, 0.0));
    }
}
