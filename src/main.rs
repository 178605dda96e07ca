//! The `storymimi` binary: load config, start logging, run until SIGTERM/Ctrl-C.

use storymimi::startup::{Application, shutdown_signal};
use storymimi::{Config, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::load()?;
    telemetry::init(&config);
    tracing::info!(env = ?config.env, data_dir = %config.data_dir.display(), "starting");
    let app = Application::build(config).await?;
    app.run_until_stopped(shutdown_signal()).await
}
