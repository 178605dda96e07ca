//! The `storage` and `cache` sections: where media bytes are kept, and the hot cache of story details.

use super::{ConfigError, Secret, invalid};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Where media bytes are kept.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaBackend {
    /// Files under `media_dir` (`data_dir/media` by default).
    #[default]
    Fs,
    /// In memory (tests, benchmarks): gone at exit.
    Memory,
    /// Any S3-compatible store (`s3_*` settings).
    S3,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct StorageSettings {
    /// `fs` (under `media_dir`, default), `memory`, or `s3`.
    #[serde(rename = "media_backend")]
    pub backend: MediaBackend,
    /// Where the `fs` backend keeps media; unset: `data_dir/media`. Several processes on one
    /// host may share it (files are content-addressed and written atomically).
    #[serde(rename = "media_dir")]
    pub dir: Option<PathBuf>,
    pub s3_bucket: Option<String>,
    pub s3_region: Option<String>,
    /// For S3-compatible stores (Tigris, MinIO, R2…).
    pub s3_endpoint: Option<String>,
    pub s3_access_key_id: Option<Secret>,
    pub s3_secret_access_key: Option<Secret>,
    /// Media nothing refers to and older than this are removed by the sweep.
    #[serde(rename = "media_sweep_grace_secs")]
    pub sweep_grace_secs: u64,
    /// How often the sweep runs (it also runs at start-up).
    #[serde(rename = "media_sweep_interval_secs")]
    pub sweep_interval_secs: u64,
    /// First wait before a story paused by failing storage (a full disk) is tried again; it
    /// doubles up to a minute.
    #[serde(rename = "storage_retry_ms")]
    pub retry_ms: u64,
}

impl Default for StorageSettings {
    fn default() -> Self {
        Self {
            backend: MediaBackend::Fs,
            dir: None,
            s3_bucket: None,
            s3_region: None,
            s3_endpoint: None,
            s3_access_key_id: None,
            s3_secret_access_key: None,
            sweep_grace_secs: 3600,
            sweep_interval_secs: 600,
            retry_ms: 1000,
        }
    }
}

impl StorageSettings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.backend == MediaBackend::S3 && self.s3_bucket.is_none() {
            return invalid("media_backend = s3 needs s3_bucket");
        }
        if self.s3_access_key_id.is_some() != self.s3_secret_access_key.is_some() {
            return invalid("s3_access_key_id and s3_secret_access_key go together");
        }
        if self.sweep_interval_secs == 0 || self.retry_ms == 0 {
            return invalid("media_sweep_interval_secs and storage_retry_ms must be at least 1");
        }
        Ok(())
    }

    /// Where `fs` media live: `media_dir`, else `data_dir/media`.
    pub fn media_dir(&self, data_dir: &Path) -> PathBuf {
        self.dir.clone().unwrap_or_else(|| data_dir.join("media"))
    }

    /// Where media files are written before they are renamed into the media dir: beside it (a
    /// rename must not cross file systems), `data_dir/media-staging` by default.
    pub fn staging_dir(&self, data_dir: &Path) -> PathBuf {
        let media = self.media_dir(data_dir);
        let name = media.file_name().map_or_else(|| "media".into(), |n| n.to_string_lossy().into_owned());
        media.with_file_name(format!("{name}-staging"))
    }
}

/// The hot cache of rendered story details.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct CacheSettings {
    /// Story details kept.
    #[serde(rename = "cache_capacity")]
    pub capacity: u64,
    #[serde(rename = "cache_ttl_secs")]
    pub ttl_secs: u64,
}

impl Default for CacheSettings {
    fn default() -> Self {
        Self { capacity: 10_000, ttl_secs: 300 }
    }
}
