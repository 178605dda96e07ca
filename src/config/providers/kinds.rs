//! Which provider family does each job: the choices of the `llm`, `illustrator` and `narrator` settings.

use serde::{Deserialize, Serialize};

/// Which storyteller writes the stories.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LlmKind {
    /// Offline, no keys: stories from the requirements, deterministic per story.
    #[default]
    Builtin,
    /// Any OpenAI-compatible `/chat/completions` (OpenAI, Ollama, llama.cpp, vLLM, LocalAI…).
    Openai,
}

/// Which illustrator draws the pictures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IllustratorKind {
    /// Offline SVG scenes rendered to PNG.
    #[default]
    Builtin,
    /// Any OpenAI-compatible `/images/generations`.
    Openai,
}

/// Which narrator reads the scenes aloud.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NarratorKind {
    /// eSpeak NG, run as a process.
    #[default]
    Espeak,
    /// A Piper voice, run as a process (`piper_model`).
    Piper,
    /// Any OpenAI-compatible `/audio/speech`.
    Openai,
    /// No narration: stories have `audio_url: null`.
    None,
}

impl NarratorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Espeak => "espeak",
            Self::Piper => "piper",
            Self::Openai => "openai",
            Self::None => "none",
        }
    }
}
