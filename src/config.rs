//! Service configuration: one typed struct, from defaults ← `storymimi.toml` ← `STORYMIMI_*` env.

mod database;

use actors::model::{SceneCount, SpecLimits};
pub use actors::story::FallbackPolicy;
pub use database::{DbUrl, ReplicaSettings};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// A secret string: never printed by `Debug` or `Display`.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Development,
    Production,
}

/// Where media bytes are kept.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaBackend {
    /// Files under `data_dir/media`.
    #[default]
    Fs,
    /// In memory (tests, benchmarks): gone at exit.
    Memory,
    /// Any S3-compatible store (`s3_*` settings).
    S3,
}

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

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// `development` or `production` (JSON logs, a JWT secret is required).
    pub env: Environment,
    pub addr: SocketAddr,
    /// The database file and media live under this directory.
    pub data_dir: PathBuf,
    /// `tracing` filter, e.g. `info,storymimi=debug`.
    pub log: String,
    pub jwt_secret: Option<Secret>,
    /// Key for media capability URLs; derived from the JWT secret when unset.
    pub media_secret: Option<Secret>,
    /// Public base URL (e.g. `https://storymimi.fly.dev`) for absolute media URLs; relative when unset.
    pub public_url: Option<String>,
    /// Serve `/metrics` on this address only (an internal port the scraper reaches, e.g.
    /// `0.0.0.0:9091` on Fly), not on the public one. Unset: on the main address.
    pub metrics_addr: Option<SocketAddr>,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    pub access_token_ttl_secs: u64,
    pub refresh_token_ttl_secs: u64,
    /// Largest accepted request body; larger gets 413.
    pub max_body_bytes: usize,
    /// argon2id cost: memory (KiB), passes, lanes. Existing hashes keep their own.
    pub password_hash_memory_kib: u32,
    pub password_hash_iterations: u32,
    pub password_hash_parallelism: u32,
    /// Password hashes computed at once (0: one per core), and how many more may wait.
    pub password_hash_workers: usize,
    pub password_hash_queue: usize,
    /// Sign-in attempts per minute for one account, and from one client address.
    pub login_attempts_per_minute_per_account: u32,
    pub login_attempts_per_minute_per_address: u32,
    /// Sign-ups per minute from one client address.
    pub registrations_per_minute_per_address: u32,
    /// A header a trusted proxy sets to the client's address (e.g. `Fly-Client-IP`); unset:
    /// the connection's peer address is used.
    pub client_ip_header: Option<String>,
    /// A request head must arrive within this (and an idle kept-alive connection is closed).
    pub http_header_read_timeout_secs: u64,
    /// Largest request head (at least 8192); larger gets 431.
    pub http_max_header_bytes: usize,
    /// Open HTTP connections (WebSockets included) at most; beyond it: 503 and close.
    pub http_max_connections: usize,
    pub max_prompt_chars: usize,
    pub max_title_chars: usize,
    /// Largest `num_scenes` a story may ask for (at most 12).
    pub max_scenes: u8,
    pub default_scenes: u8,
    /// Friends beside the hero a conversation's story may have (1–12).
    pub max_companions: usize,
    /// Largest `limit` for list endpoints.
    pub max_page_size: u32,
    /// Concurrent calls into the storyteller across all stories.
    pub llm_concurrency: usize,
    pub provider_retries: u32,
    pub provider_timeout_secs: u64,
    /// How often one story's actor may crash before the story is marked failed.
    pub story_restart_limit: u32,
    /// First wait before a story paused by failing storage (a full disk) is tried again; it
    /// doubles up to a minute.
    pub storage_retry_ms: u64,
    /// Stories pending or being written at once for one user (more: 429 `too_many_stories`),
    /// and in all (more: 503 `busy`).
    pub max_stories_in_flight_per_user: u32,
    pub max_stories_in_flight: u32,
    /// Artificial delay per builtin storyteller call, to watch progress or test crash/resume.
    pub builtin_llm_delay_ms: u64,
    /// How long shutdown waits for in-flight work.
    pub shutdown_grace_secs: u64,
    /// Read connections to the database (writes go through one connection).
    pub db_readers: usize,
    /// How often the local file's write-ahead log is copied back into the database (off the
    /// write path).
    pub db_checkpoint_interval_ms: u64,
    /// A libSQL primary to hold an embedded replica of (`http(s)://…` or `libsql://…`); unset:
    /// the local file `data_dir/storymimi.db`.
    pub db_url: Option<DbUrl>,
    /// The primary's token (a JWT for sqld/Turso); never logged.
    pub db_auth_token: Option<Secret>,
    /// Pause between the replica's background syncs.
    pub db_sync_interval_ms: u64,
    /// A sync or a delegated write taking longer counts as failed (the primary is unavailable).
    pub db_primary_timeout_ms: u64,
    /// How long start-up waits for the replica's first sync.
    pub db_startup_sync_timeout_secs: u64,
    /// Browser origins allowed to open the WebSocket, besides the service's own.
    pub allowed_origins: Vec<String>,
    /// Largest WebSocket message, counted over all its fragments; larger closes with 1009.
    pub ws_max_message_bytes: usize,
    /// Events queued for one socket before the client counts as too slow (close 1008).
    pub ws_outbound_queue: usize,
    /// Messages per second a socket may send on average…
    pub ws_rate_per_sec: f64,
    /// …with bursts up to this many.
    pub ws_burst: u32,
    /// Refused messages tolerated within 10 s before the socket is closed (1008).
    pub ws_max_strikes: u32,
    pub ws_ping_interval_secs: u64,
    /// A socket silent this long (no frames, no pongs) is closed.
    pub ws_idle_timeout_secs: u64,
    /// A write to a socket blocked this long drops the connection.
    pub ws_write_timeout_secs: u64,
    /// A conversation with no socket this long is passivated (its state stays in the database).
    pub conversation_idle_secs: u64,
    /// Events kept per conversation so a reconnecting client can `resume`.
    pub conversation_ring_size: usize,
    /// Child messages per minute for one user, over all their sockets (bursts of up to ten, or a
    /// third of the minute's worth when that is more).
    pub conversation_turns_per_minute: u32,
    /// WebSockets one user may have open at once; more are refused with 429.
    pub ws_max_sockets_per_user: usize,
    /// Pause between the chunks of a streamed agent reply.
    pub agent_delta_delay_ms: u64,
    /// With `llm = openai`: how long the model may take to read a child's turn before the
    /// builtin rules answer it.
    pub agent_understanding_timeout_ms: u64,
    /// With `llm = openai`: how long the model may take to say the agent's reply before the
    /// builtin words are said.
    pub agent_reply_timeout_ms: u64,
    /// Longest transcript accepted by `POST /conversation/{user_id}/transcripts`.
    pub max_transcript_chars: usize,
    /// Concurrent illustrations and narrations across all stories.
    pub image_concurrency: usize,
    pub audio_concurrency: usize,
    /// Scenes of one story whose pictures and narration may be in flight while later texts are written.
    pub pipeline_lookahead: usize,
    /// `builtin` (default) or `openai`.
    pub llm: LlmKind,
    /// When the model keeps writing text that is rejected: `offline` (default) lets the offline
    /// storyteller write (the whole story before any scene is stored, else the rest of it);
    /// `fail` fails the story with the reason (retryable).
    pub llm_fallback: FallbackPolicy,
    /// How often a rejected plan or scene is asked for again, with the reason.
    pub llm_rewrites: u32,
    /// Base URL of the OpenAI-compatible text API, e.g. `http://127.0.0.1:8081/v1`.
    pub llm_base_url: String,
    pub llm_api_key: Option<Secret>,
    pub llm_model: String,
    /// `builtin` (default) or `openai`.
    pub illustrator: IllustratorKind,
    pub image_base_url: String,
    pub image_api_key: Option<Secret>,
    pub image_model: String,
    /// `WIDTHxHEIGHT` as the image API accepts it.
    pub image_size: String,
    /// `espeak` (default), `piper`, `openai` or `none`.
    pub narrator: NarratorKind,
    pub speech_base_url: String,
    pub speech_api_key: Option<Secret>,
    pub speech_model: String,
    pub speech_voice: String,
    /// Longest text sent in one `/audio/speech` request; longer scenes are split and joined.
    pub speech_max_chars: usize,
    /// Also ask an OpenAI-compatible `/moderations` about what the builtin lists let through.
    pub moderation: bool,
    pub moderation_base_url: String,
    pub moderation_api_key: Option<Secret>,
    pub moderation_model: String,
    /// One moderation check longer than this counts as unavailable: the builtin lists decide.
    pub moderation_timeout_ms: u64,
    /// After a moderation check failed or timed out, the lists decide alone this long before
    /// the API is asked again (so a hung API costs one wait, not one per check).
    pub moderation_cooldown_secs: u64,
    pub espeak_command: String,
    /// Words per minute: slower than eSpeak's default 175, calm for bedtime.
    pub espeak_speed: u32,
    pub piper_command: String,
    /// Path to a Piper voice (`.onnx`, with its `.onnx.json` beside it).
    pub piper_model: Option<String>,
    /// `fs` (under `media_dir`, default), `memory`, or `s3`.
    pub media_backend: MediaBackend,
    /// Where the `fs` backend keeps media; unset: `data_dir/media`. Several processes on one
    /// host may share it (files are content-addressed and written atomically).
    pub media_dir: Option<PathBuf>,
    pub s3_bucket: Option<String>,
    pub s3_region: Option<String>,
    /// For S3-compatible stores (Tigris, MinIO, R2…).
    pub s3_endpoint: Option<String>,
    pub s3_access_key_id: Option<Secret>,
    pub s3_secret_access_key: Option<Secret>,
    /// Media nothing refers to and older than this are removed by the sweep.
    pub media_sweep_grace_secs: u64,
    /// How often the sweep runs (it also runs at start-up).
    pub media_sweep_interval_secs: u64,
    /// Story details kept in the hot cache.
    pub cache_capacity: u64,
    pub cache_ttl_secs: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            env: Environment::Development,
            addr: SocketAddr::from(([0, 0, 0, 0], 8080)),
            data_dir: PathBuf::from("./data"),
            log: "info".into(),
            jwt_secret: None,
            media_secret: None,
            public_url: None,
            metrics_addr: None,
            jwt_issuer: "storymimi".into(),
            jwt_audience: "storymimi-app".into(),
            access_token_ttl_secs: 30 * 60,
            refresh_token_ttl_secs: 30 * 24 * 3600,
            max_body_bytes: 64 * 1024,
            password_hash_memory_kib: 19 * 1024,
            password_hash_iterations: 2,
            password_hash_parallelism: 1,
            password_hash_workers: 0,
            password_hash_queue: 8,
            login_attempts_per_minute_per_account: 10,
            login_attempts_per_minute_per_address: 60,
            registrations_per_minute_per_address: 20,
            client_ip_header: None,
            http_header_read_timeout_secs: 10,
            http_max_header_bytes: 16 * 1024,
            http_max_connections: 4096,
            max_prompt_chars: 2_000,
            max_companions: 4,
            max_title_chars: 120,
            max_scenes: SceneCount::MAX.get(),
            default_scenes: SceneCount::DEFAULT.get(),
            max_page_size: 100,
            llm_concurrency: 4,
            provider_retries: 3,
            provider_timeout_secs: 120,
            story_restart_limit: 3,
            storage_retry_ms: 1000,
            max_stories_in_flight_per_user: 3,
            max_stories_in_flight: 500,
            builtin_llm_delay_ms: 0,
            shutdown_grace_secs: 20,
            db_readers: 4,
            db_checkpoint_interval_ms: 250,
            db_url: None,
            db_auth_token: None,
            db_sync_interval_ms: 1000,
            db_primary_timeout_ms: 5000,
            db_startup_sync_timeout_secs: 60,
            allowed_origins: Vec::new(),
            ws_max_message_bytes: 16 * 1024,
            ws_outbound_queue: 256,
            ws_rate_per_sec: 10.0,
            ws_burst: 20,
            ws_max_strikes: 10,
            ws_ping_interval_secs: 20,
            ws_idle_timeout_secs: 60,
            ws_write_timeout_secs: 10,
            conversation_idle_secs: 300,
            conversation_ring_size: 512,
            conversation_turns_per_minute: 30,
            ws_max_sockets_per_user: 8,
            agent_delta_delay_ms: 30,
            agent_understanding_timeout_ms: 4_000,
            agent_reply_timeout_ms: 20_000,
            max_transcript_chars: 4_000,
            image_concurrency: 2,
            audio_concurrency: 2,
            pipeline_lookahead: 3,
            llm: LlmKind::Builtin,
            llm_fallback: FallbackPolicy::Offline,
            llm_rewrites: 2,
            llm_base_url: OPENAI.into(),
            llm_api_key: None,
            llm_model: "gpt-4o-mini".into(),
            illustrator: IllustratorKind::Builtin,
            image_base_url: OPENAI.into(),
            image_api_key: None,
            image_model: "gpt-image-1".into(),
            image_size: "1024x1024".into(),
            narrator: NarratorKind::Espeak,
            speech_base_url: OPENAI.into(),
            speech_api_key: None,
            speech_model: "gpt-4o-mini-tts".into(),
            speech_voice: "nova".into(),
            speech_max_chars: 4096,
            moderation: false,
            moderation_base_url: OPENAI.into(),
            moderation_api_key: None,
            moderation_model: "omni-moderation-latest".into(),
            moderation_timeout_ms: 2_000,
            moderation_cooldown_secs: 30,
            espeak_command: "espeak-ng".into(),
            espeak_speed: 140,
            piper_command: "piper".into(),
            piper_model: None,
            media_backend: MediaBackend::Fs,
            media_dir: None,
            s3_bucket: None,
            s3_region: None,
            s3_endpoint: None,
            s3_access_key_id: None,
            s3_secret_access_key: None,
            media_sweep_grace_secs: 3600,
            media_sweep_interval_secs: 600,
            cache_capacity: 10_000,
            cache_ttl_secs: 300,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid configuration: {0}")]
    Parse(#[from] Box<figment::Error>),
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// Where the `openai` providers go unless told otherwise.
const OPENAI: &str = "https://api.openai.com/v1";

/// Used only outside production, so a newcomer's `cargo run` works without setup.
const DEV_JWT_SECRET: &str = "storymimi-development-secret-not-for-production";

impl Config {
    /// Defaults, then `storymimi.toml` (or the file named by `STORYMIMI_CONFIG`), then env.
    pub fn load() -> Result<Self, ConfigError> {
        let file = std::env::var("STORYMIMI_CONFIG").unwrap_or_else(|_| "storymimi.toml".into());
        let config: Config = Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::file(file))
            .merge(Env::prefixed("STORYMIMI_").ignore(&["config"]))
            .extract()
            .map_err(Box::new)?;
        config.validate()?;
        Ok(config)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |m: &str| Err(ConfigError::Invalid(m.to_owned()));
        if self.env == Environment::Production && self.jwt_secret.is_none() {
            return invalid("STORYMIMI_JWT_SECRET is required when STORYMIMI_ENV=production");
        }
        if self.jwt_secret.as_ref().is_some_and(|s| s.expose().len() < 32) {
            return invalid("STORYMIMI_JWT_SECRET must be at least 32 characters");
        }
        if SceneCount::new(i64::from(self.max_scenes)).is_err() {
            return invalid("max_scenes must be between 1 and 12");
        }
        if !(1..=12).contains(&self.max_companions) {
            return invalid("max_companions must be between 1 and 12");
        }
        if !(1..=self.max_scenes).contains(&self.default_scenes) {
            return invalid("default_scenes must be between 1 and max_scenes");
        }
        if self.llm_concurrency == 0
            || self.db_readers == 0
            || self.max_page_size == 0
            || self.db_checkpoint_interval_ms == 0
        {
            return invalid(
                "llm_concurrency, db_readers, db_checkpoint_interval_ms and max_page_size must be at least 1",
            );
        }
        if self.ws_outbound_queue == 0 || self.ws_max_message_bytes == 0 || self.conversation_ring_size == 0 {
            return invalid("ws_outbound_queue, ws_max_message_bytes and conversation_ring_size must be at least 1");
        }
        if self.ws_ping_interval_secs == 0 || self.ws_idle_timeout_secs <= self.ws_ping_interval_secs {
            return invalid("ws_idle_timeout_secs must be longer than ws_ping_interval_secs (which must be > 0)");
        }
        if !self.ws_rate_per_sec.is_finite() || self.ws_rate_per_sec <= 0.0 || self.ws_burst == 0 {
            return invalid("ws_rate_per_sec and ws_burst must be positive");
        }
        if self.moderation_timeout_ms == 0
            || self.agent_understanding_timeout_ms == 0
            || self.agent_reply_timeout_ms == 0
        {
            return invalid(
                "moderation_timeout_ms, agent_understanding_timeout_ms and agent_reply_timeout_ms must be at least 1",
            );
        }
        for (what, url) in [
            ("llm_base_url", &self.llm_base_url),
            ("image_base_url", &self.image_base_url),
            ("speech_base_url", &self.speech_base_url),
            ("moderation_base_url", &self.moderation_base_url),
        ] {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(ConfigError::Invalid(format!("{what} must be an http(s) URL")));
            }
        }
        if self.http_max_header_bytes < 8192
            || self.http_max_connections == 0
            || self.http_header_read_timeout_secs == 0
        {
            return invalid(
                "http_max_header_bytes must be at least 8192, http_max_connections and http_header_read_timeout_secs at least 1",
            );
        }
        if self.speech_max_chars < 100 {
            return invalid("speech_max_chars must be at least 100");
        }
        if self.media_backend == MediaBackend::S3 && self.s3_bucket.is_none() {
            return invalid("media_backend = s3 needs s3_bucket");
        }
        if self.image_concurrency == 0 || self.audio_concurrency == 0 || self.pipeline_lookahead == 0 {
            return invalid("image_concurrency, audio_concurrency and pipeline_lookahead must be at least 1");
        }
        self.validate_database()
    }

    fn validate_database(&self) -> Result<(), ConfigError> {
        let invalid = |m: &str| Err(ConfigError::Invalid(m.to_owned()));
        if self.db_url.is_none() {
            return if self.db_auth_token.is_some() {
                invalid("db_auth_token is set but db_url is not")
            } else {
                Ok(())
            };
        }
        if !cfg!(feature = "replica") {
            return invalid("db_url needs a build with the `replica` feature (it is on by default)");
        }
        if self.db_sync_interval_ms == 0 || self.db_primary_timeout_ms == 0 || self.db_startup_sync_timeout_secs == 0 {
            return invalid(
                "db_sync_interval_ms, db_primary_timeout_ms and db_startup_sync_timeout_secs must be at least 1",
            );
        }
        Ok(())
    }

    /// The limits every story request is held to, over REST and in conversations alike.
    pub fn spec_limits(&self) -> SpecLimits {
        let scenes = |n: u8| SceneCount::saturating(i64::from(n));
        SpecLimits {
            max_prompt_chars: self.max_prompt_chars,
            max_title_chars: self.max_title_chars,
            max_scenes: scenes(self.max_scenes),
            default_scenes: scenes(self.default_scenes),
            max_companions: self.max_companions,
        }
    }

    pub fn jwt_secret(&self) -> Secret {
        self.jwt_secret.clone().unwrap_or_else(|| Secret::new(DEV_JWT_SECRET))
    }

    /// The local database file (without `db_url`).
    pub fn db_path(&self) -> PathBuf {
        self.data_dir.join("storymimi.db")
    }

    /// The embedded replica's file (with `db_url`): a name of its own, so a local database
    /// left in the data dir is never taken for a replica (or the other way round).
    pub fn replica_path(&self) -> PathBuf {
        self.data_dir.join("storymimi-replica.db")
    }

    /// How to reach the primary, when the database is a replica of one.
    pub fn replica(&self) -> Option<ReplicaSettings> {
        Some(ReplicaSettings {
            url: self.db_url.clone()?,
            auth_token: self.db_auth_token.clone().unwrap_or_else(|| Secret::new("")),
            sync_interval: Duration::from_millis(self.db_sync_interval_ms),
            primary_timeout: Duration::from_millis(self.db_primary_timeout_ms),
            startup_sync_timeout: Duration::from_secs(self.db_startup_sync_timeout_secs),
        })
    }

    /// How long a rendered story detail is served from the hot cache. This machine's writes
    /// invalidate it; other machines' writes reach a replica without telling the cache, so
    /// there a detail is kept at most one sync interval (at least a second).
    pub fn story_cache_ttl(&self) -> Duration {
        let ttl = Duration::from_secs(self.cache_ttl_secs);
        match self.replica() {
            Some(replica) => ttl.min(replica.sync_interval.max(Duration::from_secs(1))),
            None => ttl,
        }
    }

    pub fn media_dir(&self) -> PathBuf {
        self.media_dir.clone().unwrap_or_else(|| self.data_dir.join("media"))
    }

    /// Where media files are written before they are renamed into `media_dir`: beside it (a
    /// rename must not cross file systems), `data_dir/media-staging` by default.
    pub fn media_staging_dir(&self) -> PathBuf {
        let media = self.media_dir();
        let name = media.file_name().map_or_else(|| "media".into(), |n| n.to_string_lossy().into_owned());
        media.with_file_name(format!("{name}-staging"))
    }

    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_do_not_leak_through_debug() {
        let config =
            Config { jwt_secret: Some(Secret::new("super-secret-value-0123456789abcdef")), ..Config::default() };
        assert!(!format!("{config:?}").contains("super-secret"));
    }

    #[test]
    fn production_requires_a_secret() {
        let config = Config { env: Environment::Production, ..Config::default() };
        assert!(config.validate().is_err());
        let config = Config { jwt_secret: Some(Secret::new("x".repeat(32))), ..config };
        assert!(config.validate().is_ok());
    }

    #[test]
    fn unknown_choices_are_refused_with_the_valid_ones() {
        let parse = |toml: &str| {
            Figment::from(Serialized::defaults(Config::default()))
                .merge(Toml::string(toml))
                .extract::<Config>()
                .map_err(Box::new)
        };
        let error = parse("narrator = \"espeek\"").unwrap_err().to_string();
        assert!(error.contains("espeak") && error.contains("piper") && error.contains("none"), "{error}");
        let error = parse("media_backend = \"gcs\"").unwrap_err().to_string();
        assert!(error.contains("fs") && error.contains("memory") && error.contains("s3"), "{error}");
        let config = parse("narrator = \"none\"\nmedia_backend = \"memory\"").unwrap();
        assert_eq!((config.narrator, config.media_backend), (NarratorKind::None, MediaBackend::Memory));
        let error = parse("llm_fallback = \"builtin\"").unwrap_err().to_string();
        assert!(error.contains("offline") && error.contains("fail"), "{error}");
        assert_eq!(parse("llm_fallback = \"fail\"").unwrap().llm_fallback, FallbackPolicy::Fail);
    }

    #[test]
    fn the_database_is_a_local_file_unless_a_primary_is_named() {
        let local = Config { data_dir: "/d".into(), ..Config::default() };
        assert!(local.replica().is_none());
        assert_eq!(local.db_path(), std::path::Path::new("/d/storymimi.db"));
        assert!(Config { db_auth_token: Some(Secret::new("t")), ..local.clone() }.validate().is_err());
        let parse = |toml: &str| {
            Figment::from(Serialized::defaults(local.clone())).merge(Toml::string(toml)).extract::<Config>().unwrap()
        };
        let replica = parse("db_url = \"libsql://ada.turso.io\"\ndb_auth_token = \"s3cr3t-token\"");
        let settings = replica.replica().unwrap();
        assert_eq!(settings.url.as_str(), "libsql://ada.turso.io");
        assert_eq!(settings.auth_token.expose(), "s3cr3t-token");
        assert_eq!(settings.sync_interval, Duration::from_secs(1));
        assert!(!format!("{replica:?}").contains("s3cr3t"));
        assert_eq!(replica.replica_path(), std::path::Path::new("/d/storymimi-replica.db"));
        assert_eq!(
            (local.story_cache_ttl(), replica.story_cache_ttl()),
            (Duration::from_secs(300), Duration::from_secs(1))
        );
        assert!(Config { db_sync_interval_ms: 0, ..replica }.validate().is_err());
    }

    #[test]
    fn media_live_in_the_data_dir_unless_told_otherwise() {
        let config = Config { data_dir: "/d".into(), ..Config::default() };
        assert_eq!((config.media_dir(), config.media_staging_dir()), ("/d/media".into(), "/d/media-staging".into()));
        let shared = Config { media_dir: Some("/srv/shared".into()), ..config };
        assert_eq!(
            (shared.media_dir(), shared.media_staging_dir()),
            ("/srv/shared".into(), "/srv/shared-staging".into())
        );
    }

    #[test]
    fn scene_limits_are_checked() {
        assert!(Config { max_scenes: 13, ..Config::default() }.validate().is_err());
        assert!(Config { max_scenes: 2, default_scenes: 3, ..Config::default() }.validate().is_err());
    }
}
