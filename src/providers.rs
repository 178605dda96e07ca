//! Story providers: the factory that picks an implementation of each port from config.
//! `builtin` is offline and needs no keys; it is the default.

pub mod audio;
pub mod builtin;
pub mod narrator;

use crate::config::Config;
use actors::ports::Llm;
use std::sync::Arc;
use std::time::Duration;

/// The storyteller chosen by config.
pub fn llm(config: &Config) -> Arc<dyn Llm> {
    Arc::new(builtin::Storyteller::new(Duration::from_millis(config.builtin_llm_delay_ms)))
}
