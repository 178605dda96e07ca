//! The hot cache of story details: [`StoryDetails`] is the one way to read a story's detail as
//! served (the JSON body and its strong ETag): it looks it up, renders it from the database on
//! a miss, and forgets it when [`CachedStories`], the one write path to stories, writes. A
//! per-story generation number keeps a slow reader from putting back what it read before a
//! write: it inserts only if nothing was written since, checked and inserted under the entry's
//! lock.

use crate::db::stories::StoryRow;
use crate::db::{Db, DbResult};
use crate::digest::sha256_hex;
use actors::model::{Redo, Scene, StoryId, StoryPlan, StorySpec, StoryState, UserId, Writer};
use actors::ports::{
    Creation, Idempotency, InFlightCaps, OwnedStory, Progress, RedoRequest, Reset, StoreError, StoryCatalog, StoryStore,
};
use async_trait::async_trait;
use axum::http::HeaderValue;
use moka::future::Cache;
use moka::ops::compute::Op;
use prometheus::IntCounter;
use std::sync::Arc;
use std::time::Duration;

/// A story detail as served: who may read it, the body, and its strong ETag, ready to send
/// (cloning either is a reference count, not a copy).
pub struct CachedDetail {
    pub owner: UserId,
    pub body: bytes::Bytes,
    pub etag: HeaderValue,
}

/// The body of a story's detail (the HTTP edge's view of a story and its scenes).
pub type RenderDetail = Box<dyn Fn(StoryRow, Vec<Scene>) -> serde_json::Result<Vec<u8>> + Send + Sync>;

/// How the cache is sized, and where it counts its lookups.
pub struct DetailCacheSettings {
    pub capacity: u64,
    pub ttl: Duration,
    pub hits: IntCounter,
    pub misses: IntCounter,
}

pub struct StoryDetails {
    db: Db,
    render: RenderDetail,
    details: Cache<StoryId, Arc<CachedDetail>>,
    generations: Cache<StoryId, u64>,
    hits: IntCounter,
    misses: IntCounter,
}

impl StoryDetails {
    pub fn new(db: Db, render: RenderDetail, settings: DetailCacheSettings) -> Self {
        let DetailCacheSettings { capacity, ttl, hits, misses } = settings;
        Self {
            db,
            render,
            details: Cache::builder().max_capacity(capacity).time_to_live(ttl).build(),
            generations: Cache::builder().max_capacity(capacity.saturating_mul(2)).time_to_live(ttl * 2).build(),
            hits,
            misses,
        }
    }

    /// The detail of story `id` as served, from the cache or rendered from the database (and
    /// cached, unless a write landed meanwhile). `None`: there is no such story.
    pub async fn get(&self, id: StoryId) -> DbResult<Option<Arc<CachedDetail>>> {
        if let Some(hit) = self.details.get(&id).await {
            self.hits.inc();
            return Ok(Some(hit));
        }
        self.misses.inc();
        let generation = self.generation(id).await;
        let Some((story, scenes)) = self.db.story_with_scenes(id).await? else { return Ok(None) };
        let owner = story.user_id;
        let body = (self.render)(story, scenes)?;
        let etag = etag_of(&body);
        let fresh = Arc::new(CachedDetail { owner, body: body.into(), etag });
        self.insert_if_unchanged(id, generation, Arc::clone(&fresh)).await;
        Ok(Some(fresh))
    }

    /// After a write to the story has committed: the next read renders it again.
    pub async fn invalidate(&self, id: StoryId) {
        self.generations
            .entry(id)
            .and_compute_with(|e| std::future::ready(Op::Put(e.map_or(1, |e| e.into_value() + 1))))
            .await;
        self.details.invalidate(&id).await;
    }

    /// Take before reading the database; pass to [`Self::insert_if_unchanged`].
    async fn generation(&self, id: StoryId) -> u64 {
        self.generations.get(&id).await.unwrap_or(0)
    }

    /// Cache `detail` unless the story was written since `generation` was taken. The check and
    /// the insert happen while the generation entry is locked, so a write cannot slip between.
    async fn insert_if_unchanged(&self, id: StoryId, generation: u64, detail: Arc<CachedDetail>) {
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
}

/// The strong ETag of a body: a quoted prefix of its SHA-256.
fn etag_of(body: &[u8]) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{}\"", &sha256_hex(body)[..32]))
        .unwrap_or_else(|_| unreachable!("a quoted hex digest is a valid header value"))
}

/// The one write path to stories, for the actors and the story service alike: the database,
/// with the cache invalidated after every write.
pub struct CachedStories {
    pub db: Db,
    pub cache: Arc<StoryDetails>,
}

#[async_trait]
impl StoryStore for CachedStories {
    async fn load_story(&self, id: StoryId) -> Result<Option<StoryState>, StoreError> {
        self.db.load_story(id).await
    }

    async fn save_plan(&self, story: OwnedStory, plan: &StoryPlan, planned_by: Writer) -> Result<(), StoreError> {
        let result = self.db.save_plan(story, plan, planned_by).await;
        self.cache.invalidate(story.id).await;
        result
    }

    async fn save_scene(&self, story: OwnedStory, scene: &Scene) -> Result<(), StoreError> {
        let result = self.db.save_scene(story, scene).await;
        self.cache.invalidate(story.id).await;
        result
    }

    async fn set_progress(&self, story: OwnedStory, progress: &Progress) -> Result<(), StoreError> {
        let result = self.db.set_progress(story, progress).await;
        self.cache.invalidate(story.id).await;
        result
    }

    async fn save_cover(&self, story: OwnedStory, key: &str) -> Result<(), StoreError> {
        let result = self.db.save_cover(story, key).await;
        self.cache.invalidate(story.id).await;
        result
    }

    async fn replace_scene(&self, story: OwnedStory, redo: &Redo, scene: &Scene) -> Result<Vec<String>, StoreError> {
        let result = StoryStore::replace_scene(&self.db, story, redo, scene).await;
        self.cache.invalidate(story.id).await;
        result
    }

    async fn give_up_redo(&self, story: OwnedStory, redo: &Redo) -> Result<(), StoreError> {
        StoryStore::give_up_redo(&self.db, story, redo).await
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

    async fn request_redo(
        &self,
        id: StoryId,
        sequence: u32,
        hint: Option<&str>,
        per_day: u32,
    ) -> Result<RedoRequest, StoreError> {
        // Nothing shown changes until the page is redone.
        Ok(self.db.request_redo(id, sequence, hint, per_day).await?)
    }
}

#[cfg(test)]
mod tests;
