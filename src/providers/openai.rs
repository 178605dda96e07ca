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

use crate::config::Config;
use prometheus::IntCounter;

pub fn llm_endpoint(config: &Config) -> Endpoint {
    Endpoint::new("llm", &config.llm_base_url, config.llm_api_key.clone())
}

pub fn image_endpoint(config: &Config) -> Endpoint {
    Endpoint::new("illustrator", &config.image_base_url, config.image_api_key.clone())
}

pub fn speech_endpoint(config: &Config) -> Endpoint {
    Endpoint::new("narrator", &config.speech_base_url, config.speech_api_key.clone())
}

pub fn storyteller(config: &Config, tokens: IntCounter) -> OpenAiStoryteller {
    OpenAiStoryteller {
        endpoint: llm_endpoint(config),
        model: config.llm_model.clone(),
        tokens,
        plan_format: Default::default(),
    }
}

pub fn illustrator(config: &Config) -> OpenAiIllustrator {
    OpenAiIllustrator {
        endpoint: image_endpoint(config),
        model: config.image_model.clone(),
        size: config.image_size.clone(),
    }
}

pub fn narrator(config: &Config) -> OpenAiNarrator {
    OpenAiNarrator {
        endpoint: speech_endpoint(config),
        model: config.speech_model.clone(),
        voice: config.speech_voice.clone(),
        max_chars: config.speech_max_chars,
    }
}

pub fn chat(config: &Config, tokens: IntCounter) -> OpenAiChat {
    OpenAiChat { endpoint: llm_endpoint(config), model: config.llm_model.clone(), tokens }
}

pub fn understander(config: &Config, tokens: IntCounter) -> OpenAiUnderstander {
    OpenAiUnderstander::new(llm_endpoint(config), config.llm_model.clone(), tokens)
}
