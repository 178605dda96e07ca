//! Story providers: one factory per capability, building the implementation its typed
//! config names. `builtin` (offline, no keys) is the default everywhere.

pub mod audio;
pub mod builtin;
pub mod narrator;
pub mod openai;
mod paced;

use crate::config::{IllustratorKind, LlmKind, NarratorKind, Providers};
use crate::metrics::Metrics;
use actors::model::Writer;
use actors::ports::{ChatModel, Illustrator, Llm, Narrator, Understander};
use narrator::NarratorStatus;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// The storyteller chosen by config.
pub fn llm(config: &Providers, metrics: &Metrics) -> Arc<dyn Llm> {
    match config.llm.kind {
        LlmKind::Builtin => builtin_llm(config),
        LlmKind::Openai => Arc::new(openai::storyteller(config, metrics.llm_tokens.with_label_values(&["openai"]))),
    }
}

/// Who the configured storyteller is: a language model (its text is checked, and replaced by
/// the offline storyteller's when it keeps failing) or the offline storyteller itself.
pub fn llm_writer(config: &Providers) -> Writer {
    match config.llm.kind {
        LlmKind::Builtin => Writer::Offline,
        LlmKind::Openai => Writer::Model,
    }
}

/// The agent's chat model: the configured text model, or none (the builtin agent's words).
pub fn chat(config: &Providers, metrics: &Metrics) -> Option<Arc<dyn ChatModel>> {
    match config.llm.kind {
        LlmKind::Builtin => None,
        LlmKind::Openai => Some(Arc::new(openai::chat(config, metrics.llm_tokens.with_label_values(&["openai"])))),
    }
}

/// The model that reads what the child says: the configured text model, or none (the builtin
/// rules read it).
pub fn understander(config: &Providers, metrics: &Metrics) -> Option<Arc<dyn Understander>> {
    match config.llm.kind {
        LlmKind::Builtin => None,
        LlmKind::Openai => {
            Some(Arc::new(openai::understander(config, metrics.llm_tokens.with_label_values(&["openai"]))))
        }
    }
}

/// The offline storyteller, always there: the fallback when a configured one misbehaves.
pub fn builtin_llm(config: &Providers) -> Arc<dyn Llm> {
    Arc::new(builtin::Storyteller::new(Duration::from_millis(config.llm.builtin_delay_ms)))
}

/// The illustrator chosen by config.
pub fn illustrator(config: &Providers) -> Arc<dyn Illustrator> {
    match config.image.kind {
        IllustratorKind::Builtin => {
            paced::illustrator(Arc::new(builtin::BuiltinIllustrator), config.image.builtin_delay_ms)
        }
        IllustratorKind::Openai => Arc::new(openai::illustrator(config)),
    }
}

/// The narrator chosen by config, if it works on this machine, and what to report about it.
pub async fn narrator(config: &Providers) -> (Option<Arc<dyn Narrator>>, NarratorStatus) {
    let paced = |narrator| paced::narrator(narrator, config.speech.builtin_delay_ms);
    let found = match config.speech.kind {
        NarratorKind::None => Err("narration is turned off (narrator = none)".to_owned()),
        NarratorKind::Espeak => narrator::espeak(config).await.map(|(n, d)| (paced(n), d)),
        NarratorKind::Piper => narrator::piper(config).await.map(|(n, d)| (paced(n), d)),
        NarratorKind::Openai => {
            let narrator: Arc<dyn Narrator> = Arc::new(openai::narrator(config));
            Ok((narrator, format!("{} at {}", config.speech.model, config.speech.base_url)))
        }
    };
    let kind = config.speech.kind.as_str().to_owned();
    match found {
        Ok((narrator, detail)) => (Some(narrator), NarratorStatus { kind, available: true, detail }),
        Err(detail) => (None, NarratorStatus { kind, available: false, detail }),
    }
}

/// What `/readyz` tells about each provider: its kind and whether it answers now.
pub struct ProviderChecks {
    llm: (&'static str, Option<openai::Endpoint>),
    illustrator: (&'static str, Option<openai::Endpoint>),
    narrator: (&'static str, Option<openai::Endpoint>, NarratorStatus),
}

impl ProviderChecks {
    pub fn new(config: &Providers, narrator: NarratorStatus) -> Self {
        let llm = match config.llm.kind {
            LlmKind::Builtin => ("builtin", None),
            LlmKind::Openai => ("openai", Some(openai::llm_endpoint(config))),
        };
        let illustrator = match config.image.kind {
            IllustratorKind::Builtin => ("builtin", None),
            IllustratorKind::Openai => ("openai", Some(openai::image_endpoint(config))),
        };
        let speech = (config.speech.kind == NarratorKind::Openai).then(|| openai::speech_endpoint(config));
        Self { llm, illustrator, narrator: (config.speech.kind.as_str(), speech, narrator) }
    }

    /// `{"llm": {"kind", "available", "detail"}, "illustrator": …, "narrator": …}`, asking
    /// each remote provider now (all at once, a few seconds at most).
    pub async fn report(&self) -> Value {
        async fn one(kind: &str, endpoint: &Option<openai::Endpoint>) -> Value {
            match endpoint {
                None => json!({"kind": kind, "available": true, "detail": "offline, built in"}),
                Some(e) => match e.probe().await {
                    Ok(()) => json!({"kind": kind, "available": true, "detail": "answers"}),
                    Err(detail) => json!({"kind": kind, "available": false, "detail": detail}),
                },
            }
        }
        let (llm, illustrator, speech) = tokio::join!(
            one(self.llm.0, &self.llm.1),
            one(self.illustrator.0, &self.illustrator.1),
            one(self.narrator.0, &self.narrator.1)
        );
        let status = &self.narrator.2;
        let narrator = if self.narrator.1.is_some() {
            speech
        } else {
            json!({"kind": status.kind, "available": status.available, "detail": status.detail})
        };
        json!({"llm": llm, "illustrator": illustrator, "narrator": narrator})
    }
}
