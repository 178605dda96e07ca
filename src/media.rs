//! Media storage through OpenDAL (`fs` by default, `memory` in tests, `s3` on Fly).
//! Keys are content addresses, `ab/abcdef….png`: the same bytes always get the same key, so a
//! retried scene never leaves duplicates, and the key's hash is a strong ETag.

use crate::config::{Config, MediaBackend};
use crate::digest::sha256_hex;
use actors::ports::{Media, MediaStore, StoreError, StoreErrorKind};
use async_trait::async_trait;
use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use opendal::{Operator, services};
use std::ops::RangeBounds;

/// Bytes read from storage per chunk when streaming a file out.
const CHUNK: usize = 64 * 1024;

/// File extensions we store, with their exact MIME types.
const TYPES: &[(&str, &str)] = &[
    ("png", "image/png"),
    ("webp", "image/webp"),
    ("jpg", "image/jpeg"),
    ("mp3", "audio/mpeg"),
    ("wav", "audio/wav"),
    ("ogg", "audio/ogg"),
];

pub fn content_type_of(key: &str) -> Option<&'static str> {
    let ext = key.rsplit_once('.')?.1;
    TYPES.iter().find(|(e, _)| *e == ext).map(|(_, t)| *t)
}

fn extension_of(content_type: &str) -> Option<&'static str> {
    TYPES.iter().find(|(_, t)| *t == content_type).map(|(e, _)| *e)
}

/// `true` for keys this store makes (`xx/<64 hex>.<ext>`); anything else (traversal,
/// absolute paths, other files) is refused before touching storage.
pub fn is_valid_key(key: &str) -> bool {
    let Some((dir, file)) = key.split_once('/') else { return false };
    let Some((hash, ext)) = file.split_once('.') else { return false };
    let hex = |s: &str| s.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c));
    dir.len() == 2 && hash.len() == 64 && hex(hash) && hash.starts_with(dir) && TYPES.iter().any(|(e, _)| *e == ext)
}

/// The content hash inside a key: the strong ETag of its bytes.
pub fn hash_of(key: &str) -> &str {
    key.split_once('/').and_then(|(_, f)| f.split_once('.')).map_or(key, |(h, _)| h)
}

/// The media store: an OpenDAL operator.
#[derive(Clone)]
pub struct Storage {
    op: Operator,
    /// Writes of one key are serialised: two tasks making the same bytes (a cover that is also
    /// a scene's picture) must not write the same file at once. Striped by the key's hash.
    locks: std::sync::Arc<[tokio::sync::Mutex<()>]>,
}

/// A media store failure, its kind read once from OpenDAL's error (and the OS error beneath).
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("media storage failure: {}", kind.as_str())]
    Backend {
        kind: StoreErrorKind,
        #[source]
        source: opendal::Error,
    },
    #[error("unsupported media type `{0}`")]
    UnsupportedType(String),
    #[error("invalid media configuration: {0}")]
    Config(&'static str),
    #[error("could not create the media directory {}", dir.display())]
    Directory {
        dir: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl MediaError {
    pub fn kind(&self) -> StoreErrorKind {
        match self {
            Self::Backend { kind, .. } => *kind,
            Self::Directory { source, .. } => crate::storage_errors::io_kind(source),
            Self::UnsupportedType(_) | Self::Config(_) => StoreErrorKind::Other,
        }
    }
}

impl From<opendal::Error> for MediaError {
    fn from(source: opendal::Error) -> Self {
        Self::Backend { kind: crate::storage_errors::opendal_kind(&source), source }
    }
}

impl From<MediaError> for StoreError {
    fn from(e: MediaError) -> Self {
        StoreError::new(e.kind(), e)
    }
}

impl Storage {
    pub fn from_config(config: &Config) -> Result<Self, MediaError> {
        let op = match config.storage.backend {
            MediaBackend::Memory => Operator::new(services::Memory::default())?,
            MediaBackend::S3 => {
                let bucket = config.storage.s3_bucket.as_deref().ok_or(MediaError::Config("s3_bucket is required"))?;
                let mut builder = services::S3::default().bucket(bucket).root("/media");
                if let Some(region) = &config.storage.s3_region {
                    builder = builder.region(region);
                }
                if let Some(endpoint) = &config.storage.s3_endpoint {
                    builder = builder.endpoint(endpoint);
                }
                if let Some(key) = &config.storage.s3_access_key_id {
                    builder = builder.access_key_id(key.expose());
                }
                if let Some(secret) = &config.storage.s3_secret_access_key {
                    builder = builder.secret_access_key(secret.expose());
                }
                Operator::new(builder)?
            }
            MediaBackend::Fs => {
                let root = config.media_dir();
                // Files are written beside the store and renamed into place: a crash mid-write
                // never leaves a partial file under a content address.
                let staging = config.media_staging_dir();
                for dir in [&root, &staging] {
                    std::fs::create_dir_all(dir)
                        .map_err(|source| MediaError::Directory { dir: dir.clone(), source })?;
                }
                let builder =
                    services::Fs::default().root(&root.to_string_lossy()).atomic_write_dir(&staging.to_string_lossy());
                Operator::new(builder)?
            }
        };
        let locks = (0..64).map(|_| tokio::sync::Mutex::new(())).collect();
        Ok(Self { op, locks })
    }

    /// The bytes of `key` in `range`, read in chunks as the consumer asks for them.
    pub async fn stream(
        &self,
        key: &str,
        range: impl RangeBounds<u64>,
    ) -> Result<BoxStream<'static, std::io::Result<Bytes>>, MediaError> {
        let reader = self.op.reader_with(key).chunk(CHUNK).await?;
        Ok(reader.into_bytes_stream(range).await?.boxed())
    }

    /// Store bytes under their content address; storing the same bytes again is a no-op.
    pub async fn store(&self, media: &Media) -> Result<String, MediaError> {
        let ext =
            extension_of(&media.content_type).ok_or_else(|| MediaError::UnsupportedType(media.content_type.clone()))?;
        let hash = sha256_hex(&media.bytes);
        let key = format!("{}/{hash}.{ext}", &hash[..2]);
        let stripe = usize::from_str_radix(&hash[..2], 16).unwrap_or(0) % self.locks.len();
        let _guard = self.locks[stripe].lock().await;
        if !self.op.exists(&key).await? {
            self.op.write(&key, media.bytes.clone()).await?;
        }
        Ok(key)
    }

    /// Size of a stored object, or `None` when there is none.
    pub async fn size(&self, key: &str) -> Result<Option<u64>, MediaError> {
        match self.op.stat(key).await {
            Ok(meta) => Ok(Some(meta.content_length())),
            Err(e) if e.kind() == opendal::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn delete(&self, key: &str) -> Result<(), MediaError> {
        Ok(self.op.delete(key).await?)
    }

    /// Every stored key with when it was last written (when the backend says).
    pub async fn keys(&self) -> Result<Vec<(String, Option<std::time::SystemTime>)>, MediaError> {
        let mut keys = Vec::new();
        for entry in self.op.list_with("").recursive(true).await? {
            let key = entry.path().to_owned();
            if !is_valid_key(&key) {
                continue; // directories, and anything that is not ours
            }
            let modified = match entry.metadata().last_modified() {
                Some(t) => Some(t),
                None => self.op.stat(&key).await.ok().and_then(|m| m.last_modified()),
            };
            keys.push((key, modified.map(std::time::SystemTime::from)));
        }
        Ok(keys)
    }

    /// Readiness: the store answers a listing.
    pub async fn check(&self) -> Result<(), MediaError> {
        self.op.list_with("/").limit(1).await.map(|_| ()).map_err(Into::into)
    }
}

#[async_trait]
impl MediaStore for Storage {
    async fn put(&self, media: &Media) -> Result<String, StoreError> {
        Ok(self.store(media).await?)
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        Ok(Storage::delete(self, key).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::StorageSettings;

    #[test]
    fn only_content_addressed_keys_are_valid() {
        let hash = "ab".repeat(32);
        assert!(is_valid_key(&format!("ab/{hash}.png")));
        assert!(!is_valid_key(&format!("cd/{hash}.png")), "directory must match the hash");
        assert!(!is_valid_key(&format!("ab/{hash}.exe")));
        assert!(!is_valid_key("../etc/passwd"));
        assert!(!is_valid_key(&format!("ab/../{hash}.png")));
        assert!(!is_valid_key(&format!("/ab/{hash}.png")));
        assert_eq!(hash_of(&format!("ab/{hash}.png")), hash);
        assert_eq!(content_type_of("x.mp3"), Some("audio/mpeg"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_stores_of_the_same_bytes_are_safe() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config { data_dir: dir.path().to_owned(), ..Config::default() };
        let storage = Storage::from_config(&config).unwrap();
        let media = Media { bytes: vec![7; 2_000_000], content_type: "image/png".into() };
        let stores = (0..32).map(|_| {
            let (storage, media) = (storage.clone(), media.clone());
            tokio::spawn(async move { storage.store(&media).await })
        });
        let keys: Vec<String> =
            futures_util::future::join_all(stores).await.into_iter().map(|r| r.unwrap().unwrap()).collect();
        assert!(keys.windows(2).all(|w| w[0] == w[1]));
        assert_eq!(storage.size(&keys[0]).await.unwrap(), Some(2_000_000));
    }

    #[tokio::test]
    async fn same_bytes_same_key() {
        let storage = Storage::from_config(&Config {
            storage: StorageSettings { backend: MediaBackend::Memory, ..StorageSettings::default() },
            ..Config::default()
        })
        .unwrap();
        let media = Media { bytes: b"pretend png".to_vec(), content_type: "image/png".into() };
        let a = storage.store(&media).await.unwrap();
        assert_eq!(a, storage.store(&media).await.unwrap());
        assert!(is_valid_key(&a));
        assert_eq!(storage.size(&a).await.unwrap(), Some(11));
        storage.delete(&a).await.unwrap();
        assert_eq!(storage.size(&a).await.unwrap(), None);
        let bad = Media { bytes: vec![1], content_type: "text/html".into() };
        assert!(storage.store(&bad).await.is_err());
    }

    proptest::proptest! {
        /// Only our own content addresses pass as keys, whatever a URL path holds.
        #[test]
        fn only_content_addresses_are_keys(key in ".{0,100}", hash in "[0-9a-f]{64}") {
            if is_valid_key(&key) {
                proptest::prop_assert!(!key.contains("..") && !key.starts_with('/'));
                proptest::prop_assert!(content_type_of(&key).is_some());
            }
            let _ = hash_of(&key);
            let ours = format!("{}/{hash}.png", &hash[..2]);
            proptest::prop_assert!(is_valid_key(&ours));
        }
    }
}
