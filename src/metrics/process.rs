//! The process itself: which version runs (`build_info`, also what `absent()` alerts watch),
//! its memory, CPU, file descriptors and threads (`storymimi_process_*`, Linux only), and what
//! its allocator holds (`storymimi_allocator_*`, the binary only).

use prometheus::{IntGaugeVec, Opts, Registry};

pub fn register(registry: &Registry) -> Result<(), prometheus::Error> {
    let build_info =
        IntGaugeVec::new(Opts::new("build_info", "Always 1, labelled with the running version"), &["version"])?;
    build_info.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
    registry.register(Box::new(build_info))?;
    #[cfg(target_os = "linux")]
    registry.register(Box::new(prometheus::process_collector::ProcessCollector::for_self()))?;
    registry.register(Box::new(super::allocator::Allocator::new()?))?;
    Ok(())
}
