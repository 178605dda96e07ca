//! The hot cache: rendered story details (the JSON body and its ETag), bounded and expiring.
//! Every write to a story goes through [`CachedStories`], which invalidates it. A per-story
//! generation number keeps a slow reader from putting back what it read before a write: it
//! inserts only if nothing was written since, checked and inserted under the entry's lock.

use crate::db::Db;
use actors::model::{Scene, StoryId, StoryPlan, StorySpec, StoryState, UserId};
use actors::ports::{Creation, Idempotency, InFlightCaps, Progress, Reset, StoreError, StoryCatalog, StoryStore};
use async_trait::async_trait;
use moka::future::Cache;
use moka::ops::compute::Op;
use std::sync::Arc;
use std::time::Duration;

/// A story detail as served: who may read it, the body, and its strong ETag, ready to send
/// (cloning either is a reference count, not a copy).
pub struct CachedDetail {
    pub owner: UserId,
    pub body: bytes::Bytes,
    pub etag: axum::http::HeaderValue,
}

pub struct StoryCache {
    details: Cache<StoryId, Arc<CachedDetail>>,
    generations: Cache<StoryId, u64>,
}

impl StoryCache {
    pub fn new(capacity: u64, ttl: Duration) -> Self {
        Self {
            details: Cache::builder().max_capacity(capacity).time_to_live(ttl).build(),
            generations: Cache::builder().max_capacity(capacity.saturating_mul(2)).time_to_live(ttl * 2).build(),
        }
    }

    pub async fn get(&self, id: StoryId) -> Option<Arc<CachedDetail>> {
        self.details.get(&id).await
    }

    /// Take before reading the database; pass to [`StoryCache::insert_if_unchanged`].
    pub async fn generation(&self, id: StoryId) -> u64 {
        self.generations.get(&id).await.unwrap_or(0)
    }

    /// Cache `detail` unless the story was written since `generation` was taken. The check and
    /// the insert happen while the generation entry is locked, so a write cannot slip between.
    pub async fn insert_if_unchanged(&self, id: StoryId, generation: u64, detail: Arc<CachedDetail>) {
        let details = &self.details;
        self.generations
            .entry(id)
            .and_compute_with(|current| async move {
                if current.map_or(0, |e| e.into_value()) == generation {
                    details.insert(id, detail).await;
                }
                Op::Nop
            })
            .await;
    }

    /// After a write to the story has committed.
    pub async fn invalidate(&self, id: StoryId) {
        self.generations
            .entry(id)
            .and_compute_with(|e| std::future::ready(Op::Put(e.map_or(1, |e| e.into_value() + 1))))
            .await;
        self.details.invalidate(&id).await;
    }
}

/// The one write path to stories, for the actors and the story service alike: the database,
/// with the cache invalidated after every write.
pub struct CachedStories {
    pub db: Db,
    pub cache: Arc<StoryCache>,
}

#[async_trait]
impl StoryStore for CachedStories {
    async fn load_story(&self, id: StoryId) -> Result<Option<StoryState>, StoreError> {
        self.db.load_story(id).await
    }

    async fn save_plan(&self, id: StoryId, plan: &StoryPlan) -> Result<(), StoreError> {
        let result = self.db.save_plan(id, plan).await;
        self.cache.invalidate(id).await;
        result
    }

    async fn save_scene(&self, id: StoryId, scene: &Scene) -> Result<(), StoreError> {
        let result = self.db.save_scene(id, scene).await;
        self.cache.invalidate(id).await;
        result
    }

    async fn set_progress(&self, id: StoryId, progress: &Progress) -> Result<(), StoreError> {
        let result = self.db.set_progress(id, progress).await;
        self.cache.invalidate(id).await;
        result
    }

    async fn save_cover(&self, id: StoryId, key: &str) -> Result<(), StoreError> {
        let result = self.db.save_cover(id, key).await;
        self.cache.invalidate(id).await;
        result
    }

    async fn unfinished_stories(&self) -> Result<Vec<StoryId>, StoreError> {
        self.db.unfinished_stories().await
    }
}

#[async_trait]
impl StoryCatalog for CachedStories {
    async fn create_story(
        &self,
        user: UserId,
        spec: &StorySpec,
        idempotency: Option<Idempotency<'_>>,
        caps: InFlightCaps,
    ) -> Result<Creation, StoreError> {
        // A new id has nothing cached; a replay changes nothing.
        Ok(self.db.create_story(user, spec, idempotency, Some(caps)).await?)
    }

    async fn reset_failed_story(&self, id: StoryId, caps: InFlightCaps) -> Result<Reset, StoreError> {
        let result = self.db.reset_failed_story(id, caps).await;
        self.cache.invalidate(id).await;
        Ok(result?)
    }

    async fn delete_story(&self, id: StoryId) -> Result<Option<Vec<String>>, StoreError> {
        let result = self.db.delete_story(id).await;
        self.cache.invalidate(id).await;
        Ok(result?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detail(body: &str) -> Arc<CachedDetail> {
        let etag = axum::http::HeaderValue::from_static("\"x\"");
        Arc::new(CachedDetail { owner: UserId::new(), body: bytes::Bytes::copy_from_slice(body.as_bytes()), etag })
    }

    #[tokio::test]
    async fn a_read_that_raced_a_write_is_not_cached() {
        let cache = StoryCache::new(100, Duration::from_secs(60));
        let id = StoryId::new();
        let before = cache.generation(id).await;
        cache.invalidate(id).await; // a write lands while the reader is still reading
        cache.insert_if_unchanged(id, before, detail("stale")).await;
        assert!(cache.get(id).await.is_none());

        let now = cache.generation(id).await;
        cache.insert_if_unchanged(id, now, detail("fresh")).await;
        assert_eq!(cache.get(id).await.unwrap().body.as_ref(), b"fresh");
        cache.invalidate(id).await;
        assert!(cache.get(id).await.is_none());
    }
}
