//! The `storymimi` binary: load config, start logging, run until SIGTERM/Ctrl-C.

use storymimi::startup::{Application, shutdown_signal};
use storymimi::{Config, memory, telemetry};

fn main() -> anyhow::Result<()> {
    // Before the runtime's threads exist.
    memory::return_large_blocks_to_the_system();
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let config = Config::load()?;
    telemetry::init(&config);
    tracing::info!(env = ?config.env, data_dir = %config.data_dir.display(), "starting");
    let app = Application::build(config).await?;
    app.run_until_stopped(shutdown_signal()).await
}
