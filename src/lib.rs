//! StoryMimi server: the HTTP edge, the adapters (libSQL store, providers, metrics) and the
//! wiring that hands them to the actor tree in the `actors` crate.

pub mod auth;
pub mod cache;
pub mod config;
pub mod data_lock;
pub mod db;
pub mod digest;
pub mod error;
pub mod fd_limit;
pub mod homes;
pub mod http;
pub mod media;
pub mod media_links;
pub mod media_sweep;
pub mod memory;
pub mod metrics;
pub mod providers;
pub mod safety;
pub mod server;
pub mod startup;
pub mod state;
pub mod storage_errors;
pub mod telemetry;
pub mod ws;
pub mod zipstream;

pub use config::Config;
pub use startup::{Application, Overrides};
