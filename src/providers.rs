//! Story providers: one factory per capability, building the implementation its typed
//! config names. `builtin` (offline, no keys) is the default everywhere.

pub mod audio;
pub mod builtin;
pub mod narrator;

use crate::config::{Config, IllustratorKind, LlmKind, NarratorKind};
use actors::ports::{Illustrator, Llm, Narrator};
use narrator::NarratorStatus;
use std::sync::Arc;
use std::time::Duration;

/// The storyteller chosen by config.
pub fn llm(config: &Config) -> Arc<dyn Llm> {
    match config.llm {
        LlmKind::Builtin => builtin_llm(config),
    }
}

/// The offline storyteller, always there: the fallback when a configured one misbehaves.
pub fn builtin_llm(config: &Config) -> Arc<dyn Llm> {
    Arc::new(builtin::Storyteller::new(Duration::from_millis(config.builtin_llm_delay_ms)))
}

/// The illustrator chosen by config.
pub fn illustrator(config: &Config) -> Arc<dyn Illustrator> {
    match config.illustrator {
        IllustratorKind::Builtin => Arc::new(builtin::BuiltinIllustrator),
    }
}

/// The narrator chosen by config, if it works on this machine, and what to report about it.
pub async fn narrator(config: &Config) -> (Option<Arc<dyn Narrator>>, NarratorStatus) {
    let found = match config.narrator {
        NarratorKind::None => Err("narration is turned off (narrator = none)".to_owned()),
        NarratorKind::Espeak => narrator::espeak(config).await,
        NarratorKind::Piper => narrator::piper(config).await,
    };
    let kind = config.narrator.as_str().to_owned();
    match found {
        Ok((narrator, detail)) => (Some(narrator), NarratorStatus { kind, available: true, detail }),
        Err(detail) => (None, NarratorStatus { kind, available: false, detail }),
    }
}
