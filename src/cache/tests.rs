//! The detail service against a real database: rendered once, served from the cache, rendered
//! again after a write through the write path; a read that raced a write is not cached.

use super::*;
use crate::db::testing::{temp_db, users};
use actors::model::{Stage, StoryStatus};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

/// A service whose renderer counts its calls and writes the story's status and scene count.
fn service(db: &Db) -> (Arc<StoryDetails>, Arc<AtomicUsize>) {
    let renders = Arc::new(AtomicUsize::new(0));
    let counted = renders.clone();
    let render: RenderDetail = Box::new(move |story, scenes| {
        counted.fetch_add(1, SeqCst);
        serde_json::to_vec(&serde_json::json!({"status": story.status.as_str(), "scenes": scenes.len()}))
    });
    let counter = |name| IntCounter::new(name, "lookups").unwrap();
    let settings = DetailCacheSettings {
        capacity: 100,
        ttl: Duration::from_secs(60),
        hits: counter("hits"),
        misses: counter("misses"),
    };
    (Arc::new(StoryDetails::new(db.clone(), render, settings)), renders)
}

async fn pending_story(db: &Db, user: UserId) -> StoryId {
    let id = StoryId::new();
    db.writer()
        .await
        .execute(
            "INSERT INTO stories (id, user_id, prompt, style, num_scenes, age, language, status, stage, created_at, updated_at)
             VALUES (?1, ?2, 'an owl', 'bedtime', 3, 5, 'en', 'pending', 'queued', 'now', 'now')",
            [id.to_string(), user.to_string()],
        )
        .await
        .unwrap();
    id
}

#[tokio::test]
async fn a_detail_is_rendered_once_served_from_the_cache_and_rendered_again_after_a_write() {
    let (_dir, db) = temp_db(1).await;
    let user = users(&db, 1).await[0];
    let id = pending_story(&db, user).await;
    let (details, renders) = service(&db);
    let first = details.get(id).await.unwrap().unwrap();
    assert_eq!(first.owner, user);
    assert_eq!(&first.body[..], br#"{"scenes":0,"status":"pending"}"#);
    let again = details.get(id).await.unwrap().unwrap();
    assert!(Arc::ptr_eq(&first, &again), "served from the cache");
    assert_eq!(renders.load(SeqCst), 1);
    assert_eq!((details.hits.get(), details.misses.get()), (1, 1));

    // A write through the one write path: the next read renders what was written, new ETag.
    let writes = CachedStories { db: db.clone(), cache: details.clone() };
    let progress = Progress { status: StoryStatus::Processing, stage: Stage::Planning, error: None };
    writes.set_progress(actors::ports::OwnedStory { id, owner: user }, &progress).await.unwrap();
    let after = details.get(id).await.unwrap().unwrap();
    assert_eq!(renders.load(SeqCst), 2);
    assert_eq!(&after.body[..], br#"{"scenes":0,"status":"processing"}"#);
    assert_ne!(after.etag, first.etag);
    assert_eq!(first.etag, etag_of(&first.body), "the ETag is the body's");

    // No such story: nothing rendered, nothing cached.
    assert!(details.get(StoryId::new()).await.unwrap().is_none());
    assert_eq!(renders.load(SeqCst), 2);
}

#[tokio::test]
async fn a_read_that_raced_a_write_is_not_cached() {
    let (_dir, db) = temp_db(1).await;
    let (details, _) = service(&db);
    let detail = |body: &'static str| {
        let etag = HeaderValue::from_static("\"x\"");
        Arc::new(CachedDetail { owner: UserId::new(), body: bytes::Bytes::from_static(body.as_bytes()), etag })
    };
    let id = StoryId::new();
    let before = details.generation(id).await;
    details.invalidate(id).await; // a write lands while the reader is still reading
    details.insert_if_unchanged(id, before, detail("stale")).await;
    assert!(details.details.get(&id).await.is_none());

    let now = details.generation(id).await;
    details.insert_if_unchanged(id, now, detail("fresh")).await;
    assert_eq!(details.details.get(&id).await.unwrap().body.as_ref(), b"fresh");
    details.invalidate(id).await;
    assert!(details.details.get(&id).await.is_none());
}
