//! The `providers` section: who writes, draws, reads aloud and moderates, and how they are called.

mod kinds;

use super::{ConfigError, Secret, invalid};
pub use actors::story::FallbackPolicy;
pub use kinds::{IllustratorKind, LlmKind, NarratorKind};
use serde::{Deserialize, Serialize};

/// Where the `openai` providers go unless told otherwise.
const OPENAI: &str = "https://api.openai.com/v1";

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct Providers {
    /// Attempts after the first for a failed provider call.
    #[serde(rename = "provider_retries")]
    pub retries: u32,
    #[serde(rename = "provider_timeout_secs")]
    pub timeout_secs: u64,
    #[serde(flatten)]
    pub llm: LlmSettings,
    #[serde(flatten)]
    pub image: ImageSettings,
    #[serde(flatten)]
    pub speech: SpeechSettings,
    #[serde(flatten)]
    pub moderation: ModerationSettings,
}

impl Default for Providers {
    fn default() -> Self {
        Self {
            retries: 3,
            timeout_secs: 120,
            llm: LlmSettings::default(),
            image: ImageSettings::default(),
            speech: SpeechSettings::default(),
            moderation: ModerationSettings::default(),
        }
    }
}

/// The storyteller (and, with a model, the agent's understanding and replies).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct LlmSettings {
    /// `builtin` (default) or `openai`.
    #[serde(rename = "llm")]
    pub kind: LlmKind,
    /// When the model keeps writing text that is rejected: `offline` (default) lets the offline
    /// storyteller write (the whole story before any scene is stored, else the rest of it);
    /// `fail` fails the story with the reason (retryable).
    #[serde(rename = "llm_fallback")]
    pub fallback: FallbackPolicy,
    /// How often a rejected plan or scene is asked for again, with the reason.
    #[serde(rename = "llm_rewrites")]
    pub rewrites: u32,
    /// Base URL of the OpenAI-compatible text API, e.g. `http://127.0.0.1:8081/v1`.
    #[serde(rename = "llm_base_url")]
    pub base_url: String,
    #[serde(rename = "llm_api_key")]
    pub api_key: Option<Secret>,
    #[serde(rename = "llm_model")]
    pub model: String,
    /// Concurrent calls into the storyteller across all stories.
    #[serde(rename = "llm_concurrency")]
    pub concurrency: usize,
    /// Artificial delay per builtin storyteller call, to watch progress or test crash/resume.
    #[serde(rename = "builtin_llm_delay_ms")]
    pub builtin_delay_ms: u64,
}

impl Default for LlmSettings {
    fn default() -> Self {
        Self {
            kind: LlmKind::Builtin,
            fallback: FallbackPolicy::Offline,
            rewrites: 2,
            base_url: OPENAI.into(),
            api_key: None,
            model: "gpt-4o-mini".into(),
            concurrency: 4,
            builtin_delay_ms: 0,
        }
    }
}

/// The illustrator.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct ImageSettings {
    /// `builtin` (default) or `openai`.
    #[serde(rename = "illustrator")]
    pub kind: IllustratorKind,
    #[serde(rename = "image_base_url")]
    pub base_url: String,
    #[serde(rename = "image_api_key")]
    pub api_key: Option<Secret>,
    #[serde(rename = "image_model")]
    pub model: String,
    /// `WIDTHxHEIGHT` as the image API accepts it.
    #[serde(rename = "image_size")]
    pub size: String,
    /// Concurrent illustrations across all stories.
    #[serde(rename = "image_concurrency")]
    pub concurrency: usize,
    /// Least time a builtin picture takes (a remote image model's latency, for demos and benches).
    #[serde(rename = "builtin_image_delay_ms")]
    pub builtin_delay_ms: u64,
}

impl Default for ImageSettings {
    fn default() -> Self {
        Self {
            kind: IllustratorKind::Builtin,
            base_url: OPENAI.into(),
            api_key: None,
            model: "gpt-image-1".into(),
            size: "1024x1024".into(),
            concurrency: 2,
            builtin_delay_ms: 0,
        }
    }
}

/// The narrator.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct SpeechSettings {
    /// `espeak` (default), `piper`, `openai` or `none`.
    #[serde(rename = "narrator")]
    pub kind: NarratorKind,
    #[serde(rename = "speech_base_url")]
    pub base_url: String,
    #[serde(rename = "speech_api_key")]
    pub api_key: Option<Secret>,
    #[serde(rename = "speech_model")]
    pub model: String,
    #[serde(rename = "speech_voice")]
    pub voice: String,
    /// Longest text sent in one `/audio/speech` request; longer scenes are split and joined.
    #[serde(rename = "speech_max_chars")]
    pub max_chars: usize,
    /// Concurrent narrations across all stories.
    #[serde(rename = "audio_concurrency")]
    pub concurrency: usize,
    pub espeak_command: String,
    /// Words per minute: slower than eSpeak's default 175, calm for bedtime.
    pub espeak_speed: u32,
    pub piper_command: String,
    /// Path to a Piper voice (`.onnx`, with its `.onnx.json` beside it).
    pub piper_model: Option<String>,
    /// Least time an offline narration (eSpeak NG, Piper) takes, likewise.
    #[serde(rename = "builtin_speech_delay_ms")]
    pub builtin_delay_ms: u64,
}

impl Default for SpeechSettings {
    fn default() -> Self {
        Self {
            kind: NarratorKind::Espeak,
            base_url: OPENAI.into(),
            api_key: None,
            model: "gpt-4o-mini-tts".into(),
            voice: "nova".into(),
            max_chars: 4096,
            concurrency: 2,
            espeak_command: "espeak-ng".into(),
            espeak_speed: 140,
            piper_command: "piper".into(),
            piper_model: None,
            builtin_delay_ms: 0,
        }
    }
}

/// The optional second opinion of an OpenAI-compatible `/moderations`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct ModerationSettings {
    /// Also ask it about what the builtin lists let through.
    #[serde(rename = "moderation")]
    pub enabled: bool,
    #[serde(rename = "moderation_base_url")]
    pub base_url: String,
    #[serde(rename = "moderation_api_key")]
    pub api_key: Option<Secret>,
    #[serde(rename = "moderation_model")]
    pub model: String,
    /// One moderation check longer than this counts as unavailable: the builtin lists decide.
    #[serde(rename = "moderation_timeout_ms")]
    pub timeout_ms: u64,
    /// After a moderation check failed or timed out, the lists decide alone this long before
    /// the API is asked again (so a hung API costs one wait, not one per check).
    #[serde(rename = "moderation_cooldown_secs")]
    pub cooldown_secs: u64,
}

impl Default for ModerationSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            base_url: OPENAI.into(),
            api_key: None,
            model: "omni-moderation-latest".into(),
            timeout_ms: 2_000,
            cooldown_secs: 30,
        }
    }
}

impl Providers {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        for (what, url) in [
            ("llm_base_url", &self.llm.base_url),
            ("image_base_url", &self.image.base_url),
            ("speech_base_url", &self.speech.base_url),
            ("moderation_base_url", &self.moderation.base_url),
        ] {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(ConfigError::Invalid(format!("{what} must be an http(s) URL")));
            }
        }
        if self.llm.concurrency == 0 || self.image.concurrency == 0 || self.speech.concurrency == 0 {
            return invalid("llm_concurrency, image_concurrency and audio_concurrency must be at least 1");
        }
        if self.timeout_secs == 0 || self.moderation.timeout_ms == 0 {
            return invalid("provider_timeout_secs and moderation_timeout_ms must be at least 1");
        }
        if self.speech.max_chars < 100 {
            return invalid("speech_max_chars must be at least 100");
        }
        if self.image.size.split_once('x').is_none_or(|(w, h)| w.parse::<u32>().is_err() || h.parse::<u32>().is_err()) {
            return invalid("image_size must be WIDTHxHEIGHT, e.g. 1024x1024");
        }
        Ok(())
    }
}
