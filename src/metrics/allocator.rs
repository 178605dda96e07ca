//! What the allocator holds, from jemalloc's own counts (`storymimi_allocator_*_bytes`): live
//! bytes against resident pages tells memory in use from memory kept for reuse (the soak,
//! docs/RELIABILITY.md). Exported only where jemalloc is the process's allocator (the binary).

use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{IntGauge, Opts};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use tikv_jemalloc_ctl::{epoch, stats};

/// Set once by the binary, whose `#[global_allocator]` is jemalloc; elsewhere (the tests'
/// in-process apps) jemalloc is linked but allocates nothing, and its counts would mislead.
static JEMALLOC_IS_THE_ALLOCATOR: AtomicBool = AtomicBool::new(false);

pub fn jemalloc_is_the_allocator() {
    JEMALLOC_IS_THE_ALLOCATOR.store(true, Relaxed);
}

/// Read at each scrape: a handful of `mallctl` calls, microseconds.
pub struct Allocator {
    allocated: IntGauge,
    active: IntGauge,
    resident: IntGauge,
    retained: IntGauge,
}

impl Allocator {
    pub fn new() -> Result<Self, prometheus::Error> {
        let gauge = |name: &str, help: &str| IntGauge::with_opts(Opts::new(name, help));
        Ok(Self {
            allocated: gauge("allocator_allocated_bytes", "Bytes the program has allocated and not freed (jemalloc)")?,
            active: gauge(
                "allocator_active_bytes",
                "Bytes in the allocator's active pages: the live bytes and their pages' free space",
            )?,
            resident: gauge(
                "allocator_resident_bytes",
                "Bytes of the allocator's pages resident in memory, free pages not yet returned (dirty, muzzy) included",
            )?,
            retained: gauge(
                "allocator_retained_bytes",
                "Bytes of address space the allocator returned to the system but keeps mapped (not resident)",
            )?,
        })
    }

    fn read(&self) -> Option<()> {
        // The counts are cached per epoch; advancing it refreshes them.
        epoch::advance().ok()?;
        let set = |gauge: &IntGauge, bytes: usize| gauge.set(i64::try_from(bytes).unwrap_or(i64::MAX));
        set(&self.allocated, stats::allocated::read().ok()?);
        set(&self.active, stats::active::read().ok()?);
        set(&self.resident, stats::resident::read().ok()?);
        set(&self.retained, stats::retained::read().ok()?);
        Some(())
    }

    fn gauges(&self) -> [&IntGauge; 4] {
        [&self.allocated, &self.active, &self.resident, &self.retained]
    }
}

impl Collector for Allocator {
    fn desc(&self) -> Vec<&Desc> {
        self.gauges().into_iter().flat_map(Collector::desc).collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        if !JEMALLOC_IS_THE_ALLOCATOR.load(Relaxed) || self.read().is_none() {
            return Vec::new();
        }
        self.gauges().into_iter().flat_map(Collector::collect).collect()
    }
}
