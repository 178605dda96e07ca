//! The OpenAI-compatible provider family: one HTTP client shape for any server that speaks
//! the OpenAI API (OpenAI, Ollama, llama.cpp's server, vLLM, LocalAI…), per capability.

mod chat;
mod client;
mod images;
#[cfg(test)]
mod real_outputs;
mod speech;
pub mod storyteller;
pub mod structured;
mod understand;

pub use chat::OpenAiChat;
pub use client::{Endpoint, SseDecoder};
pub use images::OpenAiIllustrator;
pub use speech::OpenAiNarrator;
pub use storyteller::OpenAiStoryteller;
pub use understand::OpenAiUnderstander;

use crate::config::Providers;
use prometheus::IntCounter;

pub fn llm_endpoint(config: &Providers) -> Endpoint {
    Endpoint::new("llm", &config.llm.base_url, config.llm.api_key.clone())
}

pub fn image_endpoint(config: &Providers) -> Endpoint {
    Endpoint::new("illustrator", &config.image.base_url, config.image.api_key.clone())
}

pub fn speech_endpoint(config: &Providers) -> Endpoint {
    Endpoint::new("narrator", &config.speech.base_url, config.speech.api_key.clone())
}

pub fn storyteller(config: &Providers, tokens: IntCounter) -> OpenAiStoryteller {
    OpenAiStoryteller {
        endpoint: llm_endpoint(config),
        model: config.llm.model.clone(),
        tokens,
        plan_format: Default::default(),
    }
}

pub fn illustrator(config: &Providers) -> OpenAiIllustrator {
    OpenAiIllustrator {
        endpoint: image_endpoint(config),
        model: config.image.model.clone(),
        size: config.image.size.clone(),
    }
}

pub fn narrator(config: &Providers) -> OpenAiNarrator {
    OpenAiNarrator {
        endpoint: speech_endpoint(config),
        model: config.speech.model.clone(),
        voice: config.speech.voice.clone(),
        max_chars: config.speech.max_chars,
    }
}

pub fn chat(config: &Providers, tokens: IntCounter) -> OpenAiChat {
    OpenAiChat { endpoint: llm_endpoint(config), model: config.llm.model.clone(), tokens }
}

pub fn understander(config: &Providers, tokens: IntCounter) -> OpenAiUnderstander {
    OpenAiUnderstander::new(llm_endpoint(config), config.llm.model.clone(), tokens)
}
