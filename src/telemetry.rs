//! Logging: human-readable in development, JSON lines in production.

use crate::config::{Config, Environment};
use tracing_subscriber::EnvFilter;

/// libSQL's replication says "Attempting to perform handshake" at `info` on every sync (every
/// second), warns of every handshake slower than average, and of every failed attempt while a
/// primary is down (the replica's status says it once): quieter, unless the filter names libsql.
const QUIET_LIBSQL: &str = "libsql::replication=error,libsql_replication=error";

pub fn init(config: &Config) {
    let directives =
        if config.log.contains("libsql") { config.log.clone() } else { format!("{},{QUIET_LIBSQL}", config.log) };
    let filter = EnvFilter::try_new(&directives).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    // `try_init`: a second call (tests) keeps the first subscriber.
    let _ = match config.env {
        Environment::Production => builder.json().flatten_event(true).try_init(),
        Environment::Development => builder.try_init(),
    };
}
