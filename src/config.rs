//! Service configuration, typed and in sections: defaults ← `storymimi.toml` ← `STORYMIMI_*` env.
//!
//! Each section is a struct of its own, validated where it is defined, and handed to the
//! component that needs it. The sections are flattened for serde, so every setting keeps its
//! one flat name in the file and the environment (`ws_burst` ↔ `STORYMIMI_WS_BURST`): the
//! README's table is the contract, and the sections are how the code reads it.

mod auth;
mod conversation;
mod database;
mod homes;
mod http;
mod limits;
mod providers;
mod storage;
mod ws;

pub use auth::AuthSettings;
pub use conversation::ConversationSettings;
pub use database::{DbSettings, DbUrl, ReplicaSettings};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
pub use homes::{HomeSettings, HomesConfig, InstanceId};
pub use http::HttpSettings;
pub use limits::Limits;
pub use providers::{
    FallbackPolicy, IllustratorKind, ImageSettings, LlmKind, LlmSettings, ModerationSettings, NarratorKind, Providers,
    SpeechSettings,
};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;
pub use storage::{CacheSettings, MediaBackend, StorageSettings};
pub use ws::WsSettings;

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

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// `development` or `production` (JSON logs, a JWT secret is required).
    pub env: Environment,
    /// The database file and media live under this directory.
    pub data_dir: PathBuf,
    /// `tracing` filter, e.g. `info,storymimi=debug`.
    pub log: String,
    /// How long shutdown waits for in-flight work.
    pub shutdown_grace_secs: u64,
    #[serde(flatten)]
    pub http: HttpSettings,
    #[serde(flatten)]
    pub auth: AuthSettings,
    #[serde(flatten)]
    pub ws: WsSettings,
    #[serde(flatten)]
    pub conversation: ConversationSettings,
    #[serde(flatten)]
    pub limits: Limits,
    #[serde(flatten)]
    pub providers: Providers,
    #[serde(flatten)]
    pub storage: StorageSettings,
    #[serde(flatten)]
    pub cache: CacheSettings,
    #[serde(flatten)]
    pub db: DbSettings,
    #[serde(flatten)]
    pub homes: HomesConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            env: Environment::Development,
            data_dir: PathBuf::from("./data"),
            log: "info".into(),
            shutdown_grace_secs: 20,
            http: HttpSettings::default(),
            auth: AuthSettings::default(),
            ws: WsSettings::default(),
            conversation: ConversationSettings::default(),
            limits: Limits::default(),
            providers: Providers::default(),
            storage: StorageSettings::default(),
            cache: CacheSettings::default(),
            db: DbSettings::default(),
            homes: HomesConfig::default(),
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

/// A section's refusal, in the words of the settings it names.
fn invalid(message: &str) -> Result<(), ConfigError> {
    Err(ConfigError::Invalid(message.to_owned()))
}

impl Config {
    /// Defaults, then `storymimi.toml` (or the file named by `STORYMIMI_CONFIG`), then env.
    pub fn load() -> Result<Self, ConfigError> {
        let file = std::env::var("STORYMIMI_CONFIG").unwrap_or_else(|_| "storymimi.toml".into());
        let mut config: Config = Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::file(file))
            .merge(Env::prefixed("STORYMIMI_").ignore(&["config"]))
            .extract()
            .map_err(Box::new)?;
        if config.homes.instance_id.is_none()
            && let Ok(machine) = std::env::var("FLY_MACHINE_ID")
        {
            config.homes.instance_id = Some(InstanceId::try_from(machine).map_err(ConfigError::Invalid)?);
        }
        config.validate()?;
        Ok(config)
    }

    /// Every section checks its own settings.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.http.validate()?;
        self.auth.validate(self.env)?;
        self.ws.validate()?;
        self.conversation.validate()?;
        self.limits.validate()?;
        self.providers.validate()?;
        self.storage.validate()?;
        self.db.validate()?;
        self.homes.validate(&self.db)
    }

    /// This machine's name and lease timings; `instance` when none is configured (a random
    /// name chosen once at start-up).
    pub fn homes(&self, instance: impl FnOnce() -> InstanceId) -> HomeSettings {
        HomeSettings {
            instance: self.homes.instance_id.clone().unwrap_or_else(instance),
            lease: Duration::from_secs(self.homes.lease_secs),
            sweep: Duration::from_secs(self.homes.sweep_secs),
            idle: Duration::from_secs(self.conversation.idle_secs),
        }
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

    /// How long a rendered story detail is served from the hot cache. This machine's writes
    /// invalidate it; other machines' writes reach a replica without telling the cache, so
    /// there a detail is kept at most one sync interval (at least a second).
    pub fn story_cache_ttl(&self) -> Duration {
        let ttl = Duration::from_secs(self.cache.ttl_secs);
        match self.db.replica() {
            Some(replica) => ttl.min(replica.sync_interval.max(Duration::from_secs(1))),
            None => ttl,
        }
    }

    pub fn media_dir(&self) -> PathBuf {
        self.storage.media_dir(&self.data_dir)
    }

    pub fn media_staging_dir(&self) -> PathBuf {
        self.storage.staging_dir(&self.data_dir)
    }

    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_secs)
    }

    /// The longest a graceful shutdown takes: the actor tree's drain (story steps, then the
    /// conversations keep their rings), then in-flight requests get the grace again. A kill
    /// timeout shorter than this (`kill_timeout` in fly.toml) may cut a drain short.
    pub fn drain_bound(&self) -> Duration {
        actors::root::shutdown_bound(self.shutdown_grace()) + self.shutdown_grace()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(base: &Config, toml: &str) -> Result<Config, Box<figment::Error>> {
        Figment::from(Serialized::defaults(base.clone()))
            .merge(Toml::string(toml))
            .extract::<Config>()
            .map_err(Box::new)
    }

    #[test]
    fn secrets_do_not_leak_through_debug() {
        let mut config = Config::default();
        config.auth.jwt_secret = Some(Secret::new("super-secret-value-0123456789abcdef"));
        assert!(!format!("{config:?}").contains("super-secret"));
    }

    #[test]
    fn production_requires_a_secret() {
        let mut config = Config { env: Environment::Production, ..Config::default() };
        assert!(config.validate().is_err());
        config.auth.jwt_secret = Some(Secret::new("x".repeat(32)));
        assert!(config.validate().is_ok());
    }

    #[test]
    fn every_setting_keeps_its_one_flat_name() {
        // The sections are for the code; the file and the environment name each setting as the
        // README does, so a flat key lands in its section and the defaults serialise flat.
        let config = parse(
            &Config::default(),
            "ws_burst = 7\nconversation_ring_size = 9\nllm_model = \"m\"\nnarrator = \"none\"\nmedia_dir = \"/m\"\ndb_readers = 2\ncache_ttl_secs = 5\nhttp_max_connections = 11\nmax_scenes = 4\njwt_issuer = \"i\"",
        )
        .unwrap();
        assert_eq!((config.ws.burst, config.conversation.ring_size, config.providers.llm.model.as_str()), (7, 9, "m"));
        assert_eq!((config.providers.speech.kind, config.storage.dir.clone()), (NarratorKind::None, Some("/m".into())));
        assert_eq!((config.db.readers, config.cache.ttl_secs, config.http.max_connections), (2, 5, 11));
        assert_eq!((config.limits.max_scenes, config.auth.jwt_issuer.as_str()), (4, "i"));
        let flat = serde_json::to_value(Config::default()).unwrap();
        let keys = flat.as_object().unwrap();
        for key in
            ["ws_burst", "provider_retries", "llm", "illustrator", "narrator", "moderation", "media_backend", "db_url"]
        {
            assert!(keys.contains_key(key), "{key} is not a top-level setting");
        }
        assert!(keys.values().all(|v| !v.is_object()), "a section leaked into the names: {keys:?}");
    }

    #[test]
    fn each_section_refuses_its_own_nonsense() {
        let refused = |change: fn(&mut Config), says: &str| {
            let mut config = Config::default();
            change(&mut config);
            let error = config.validate().unwrap_err().to_string();
            assert!(error.contains(says), "{says}: {error}");
        };
        refused(|c| c.http.max_header_bytes = 100, "http_max_header_bytes");
        refused(|c| c.http.public_url = Some("storymimi.example".into()), "public_url");
        refused(|c| c.auth.access_token_ttl_secs = 0, "access_token_ttl_secs");
        refused(|c| c.ws.idle_timeout_secs = 1, "ws_idle_timeout_secs");
        refused(|c| c.conversation.ring_size = 0, "conversation_ring_size");
        refused(|c| c.limits.max_companions = 0, "max_companions");
        refused(|c| c.providers.moderation.base_url = "ftp://x".into(), "moderation_base_url");
        refused(|c| c.providers.image.size = "big".into(), "image_size");
        refused(|c| c.storage.s3_access_key_id = Some(Secret::new("k")), "s3_secret_access_key");
        refused(|c| c.db.readers = 0, "db_readers");
    }

    #[test]
    fn unknown_choices_are_refused_with_the_valid_ones() {
        let base = Config::default();
        let error = parse(&base, "narrator = \"espeek\"").unwrap_err().to_string();
        assert!(error.contains("espeak") && error.contains("piper") && error.contains("none"), "{error}");
        let error = parse(&base, "media_backend = \"gcs\"").unwrap_err().to_string();
        assert!(error.contains("fs") && error.contains("memory") && error.contains("s3"), "{error}");
        let config = parse(&base, "narrator = \"none\"\nmedia_backend = \"memory\"").unwrap();
        assert_eq!((config.providers.speech.kind, config.storage.backend), (NarratorKind::None, MediaBackend::Memory));
        let error = parse(&base, "llm_fallback = \"builtin\"").unwrap_err().to_string();
        assert!(error.contains("offline") && error.contains("fail"), "{error}");
        assert_eq!(parse(&base, "llm_fallback = \"fail\"").unwrap().providers.llm.fallback, FallbackPolicy::Fail);
    }

    #[test]
    fn the_database_is_a_local_file_unless_a_primary_is_named() {
        let local = Config { data_dir: "/d".into(), ..Config::default() };
        assert!(local.db.replica().is_none());
        assert_eq!(local.db_path(), std::path::Path::new("/d/storymimi.db"));
        let mut token_alone = local.clone();
        token_alone.db.auth_token = Some(Secret::new("t"));
        assert!(token_alone.validate().is_err());
        let replica = parse(&local, "db_url = \"libsql://ada.turso.io\"\ndb_auth_token = \"s3cr3t-token\"").unwrap();
        let settings = replica.db.replica().unwrap();
        assert_eq!(settings.url.as_str(), "libsql://ada.turso.io");
        assert_eq!(settings.auth_token.expose(), "s3cr3t-token");
        assert_eq!(settings.sync_interval, Duration::from_secs(1));
        assert!(!format!("{replica:?}").contains("s3cr3t"));
        assert_eq!(replica.replica_path(), std::path::Path::new("/d/storymimi-replica.db"));
        assert_eq!(
            (local.story_cache_ttl(), replica.story_cache_ttl()),
            (Duration::from_secs(300), Duration::from_secs(1))
        );
        let mut never_syncs = replica.clone();
        never_syncs.db.sync_interval_ms = 0;
        assert!(never_syncs.validate().is_err());
        // Machines that must share a primary refuse to start without one.
        let mut required = local;
        required.db.require_primary = true;
        assert!(required.validate().unwrap_err().to_string().contains("STORYMIMI_DB_URL"));
        let mut required_replica = replica;
        required_replica.db.require_primary = true;
        assert!(required_replica.validate().is_ok());
    }

    #[test]
    fn media_live_in_the_data_dir_unless_told_otherwise() {
        let mut config = Config { data_dir: "/d".into(), ..Config::default() };
        assert_eq!((config.media_dir(), config.media_staging_dir()), ("/d/media".into(), "/d/media-staging".into()));
        config.storage.dir = Some("/srv/shared".into());
        assert_eq!(
            (config.media_dir(), config.media_staging_dir()),
            ("/srv/shared".into(), "/srv/shared-staging".into())
        );
    }

    #[test]
    fn scene_limits_are_checked() {
        let with = |max_scenes, default_scenes| Config {
            limits: Limits { max_scenes, default_scenes, ..Limits::default() },
            ..Config::default()
        };
        assert!(with(13, 3).validate().is_err());
        assert!(with(2, 3).validate().is_err());
        assert!(with(12, 3).validate().is_ok());
    }
}
