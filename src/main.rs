//! The `storymimi` binary: load config, start logging, run until SIGTERM/Ctrl-C.

use storymimi::startup::{Application, shutdown_signal};
use storymimi::{Config, memory, metrics, telemetry};

/// jemalloc: with glibc's allocator, a message's allocations freed on another thread queued on
/// arena locks (7 futex calls per `user_message`); jemalloc takes about a quarter less CPU per message,
/// for ~1.3 KiB more per idle socket (docs/PERFORMANCE.md).
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read before `main`: background threads return freed pages on a timer
/// (after `dirty_decay_ms`, 10 s). Without them pages go back only when their arena is busy
/// again, so a quiet server kept ~20 MiB it no longer used, for ever (the soak,
/// docs/RELIABILITY.md). `_RJEM_MALLOC_CONF` still overrides.
#[unsafe(export_name = "_rjem_malloc_conf")]
static MALLOC_CONF: Option<&'static std::ffi::c_char> = Some(
    // SAFETY: the pointer is to a static C string, valid for ever.
    unsafe { &*c"background_thread:true".as_ptr() },
);

fn main() -> anyhow::Result<()> {
    // Before the runtime's threads exist.
    memory::return_large_blocks_to_the_system();
    metrics::jemalloc_is_the_allocator();
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let config = Config::load()?;
    telemetry::init(&config);
    tracing::info!(env = ?config.env, data_dir = %config.data_dir.display(), "starting");
    let app = Application::build(config).await?;
    app.run_until_stopped(shutdown_signal()).await
}
