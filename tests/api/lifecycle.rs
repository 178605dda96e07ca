//! Stories survive what happens to the process: restarts, kill -9, crashing and failing
//! storytellers, deletion while being written.

use crate::helpers::{User, metric_sum, spawn_app, spawn_app_with, start};
use actors::model::{SceneDraft, StoryId, StoryPlan, StorySpec};
use actors::ports::{Llm, ProviderError, SceneRequest};
use async_trait::async_trait;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use storymimi::Overrides;
use storymimi::providers::builtin::Storyteller;

/// Sequences of a story's scenes as the API reports them.
async fn sequences(app_get: reqwest::Response) -> Vec<i64> {
    let detail: Value = app_get.json().await.unwrap();
    detail["scenes"].as_array().unwrap().iter().map(|s| s["sequence"].as_i64().unwrap()).collect()
}

/// The builtin storyteller, counting how often each scene (0-based index) is written, so a
/// test can tell a resumed story from one silently rewritten from scratch.
struct Counting {
    inner: Storyteller,
    writes: Mutex<HashMap<usize, u32>>,
}

impl Counting {
    fn new(delay: Duration) -> Arc<Self> {
        Arc::new(Self { inner: Storyteller::new(delay), writes: Mutex::default() })
    }

    fn writes_of(&self, index: usize) -> u32 {
        self.writes.lock().unwrap().get(&index).copied().unwrap_or(0)
    }
}

#[async_trait]
impl Llm for Counting {
    fn name(&self) -> &str {
        "counting"
    }
    async fn plan_story(&self, id: StoryId, spec: &StorySpec) -> Result<StoryPlan, ProviderError> {
        self.inner.plan_story(id, spec).await
    }
    async fn write_scene(&self, request: SceneRequest<'_>) -> Result<SceneDraft, ProviderError> {
        *self.writes.lock().unwrap().entry(request.index).or_default() += 1;
        self.inner.write_scene(request).await
    }
}

/// The scene sequences stored for a story, read from the database file of a stopped server.
async fn stored_sequences(data_dir: &std::path::Path, id: &str) -> Vec<u32> {
    let db = storymimi::db::Db::open(&data_dir.join("storymimi.db"), 1).await.unwrap();
    let (_, scenes) = db.story_with_scenes(id.parse().unwrap()).await.unwrap().unwrap();
    scenes.iter().map(|s| s.sequence).collect()
}

#[tokio::test]
async fn a_story_interrupted_by_a_restart_resumes_where_it_stopped() {
    let storyteller = Counting::new(Duration::from_millis(150));
    let overrides = || Overrides { llm: Some(storyteller.clone()), ..Overrides::default() };
    let app = spawn_app_with(|_| {}, overrides()).await;
    let user = app.register("ada@example.com").await;
    let id = app.create_story(&user, json!({"prompt": "a sleepy bear called Bruno", "num_scenes": 6})).await;
    app.wait_for(&user, &id, 20, |s| s["scenes_done"].as_u64() >= Some(2)).await;
    let (config, data) = app.stop().await;
    let kept = stored_sequences(data.path(), &id).await;
    assert!(kept.len() >= 2 && kept.len() < 6, "the stop really interrupted the story: {kept:?}");

    let app = start(config, data, overrides()).await;
    let status = app.wait_until_finished(&user, &id).await;
    assert_eq!(status["status"], "completed");
    assert_eq!(sequences(app.get(&format!("/stories/{id}"), &user.token).await).await, [1, 2, 3, 4, 5, 6]);
    for sequence in kept {
        let writes = storyteller.writes_of(sequence as usize - 1);
        assert_eq!(writes, 1, "scene {sequence} was finished before the restart, yet written {writes} times");
    }
}

fn start_binary(data_dir: &std::path::Path) -> crate::binary::Server {
    crate::binary::start(data_dir, &[])
}

#[tokio::test]
async fn a_story_survives_kill_9_of_the_process() {
    let data = tempfile::tempdir().unwrap();
    let mut server = start_binary(data.path());
    let registered = server.register("correct horse battery").await;
    let token = registered["access_token"].as_str().unwrap().to_owned();
    let body = json!({"prompt": "a curious robot called Bolt", "num_scenes": 8});
    let created = server.post_json("/stories/", Some(&token), body).await;
    let id = created["story_id"].as_str().unwrap().to_owned();
    let status_path = format!("/stories/{id}/status");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while server.get_json(&status_path, &token).await["scenes_done"].as_u64() < Some(2) {
        assert!(tokio::time::Instant::now() < deadline, "no progress before the kill");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.child.kill().unwrap(); // SIGKILL: no shutdown, no cleanup.
    server.child.wait().unwrap();
    let kept = stored_sequences(data.path(), &id).await;
    assert!(kept.len() >= 2 && kept.len() < 8, "the kill really interrupted the story: {kept:?}");

    let mut server = start_binary(data.path());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let s = server.get_json(&status_path, &token).await;
        if s["status"] == "completed" {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "story not resumed: {s}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let detail = server.get_json(&format!("/stories/{id}"), &token).await;
    let seqs: Vec<i64> = detail["scenes"].as_array().unwrap().iter().map(|s| s["sequence"].as_i64().unwrap()).collect();
    assert_eq!(seqs, (1..=8).collect::<Vec<_>>());
    // The new process wrote only the scenes that were not stored: none was written again.
    let metrics = server.client.get(format!("{}/metrics", server.base)).send().await.unwrap().text().await.unwrap();
    let written = metric_sum(&metrics, "storymimi_provider_call_duration_seconds_count{", "call=\"scene\"") as usize;
    assert_eq!(written, 8 - kept.len(), "scenes written after the restart (stored before: {kept:?})");
    server.child.kill().unwrap();
    server.child.wait().unwrap();
}

/// A storyteller that panics when asked for a scene: a bug in a provider.
struct Panicking;

#[async_trait]
impl Llm for Panicking {
    fn name(&self) -> &str {
        "panicking"
    }
    async fn plan_story(&self, id: StoryId, spec: &StorySpec) -> Result<StoryPlan, ProviderError> {
        Storyteller::new(Duration::ZERO).plan_story(id, spec).await
    }
    async fn write_scene(&self, _: SceneRequest<'_>) -> Result<SceneDraft, ProviderError> {
        panic!("storyteller bug");
    }
}

#[tokio::test]
async fn a_panicking_storyteller_fails_the_story_not_the_server() {
    let app = spawn_app_with(
        |c| c.limits.story_restart_limit = 2,
        Overrides { llm: Some(Arc::new(Panicking)), ..Overrides::default() },
    )
    .await;
    let user = app.register("ada@example.com").await;
    let id = app.create_story(&user, json!({"prompt": "a doomed story", "num_scenes": 2})).await;
    let status = app.wait_until_finished(&user, &id).await;
    assert_eq!(status["status"], "failed");
    assert_eq!(status["stage"], "failed");
    let error = status["error"].as_str().unwrap();
    assert!(!error.is_empty() && !error.contains("storyteller bug"), "internals stay inside: {error}");
    // Still serving, and other stories still start.
    assert_eq!(app.client.get(app.url("/healthz")).send().await.unwrap().status(), StatusCode::OK);
    let metrics = app.metrics().await;
    assert!(metrics.contains("storymimi_story_status_transitions_total{status=\"failed\"} 1"), "{metrics}");
    // Every crashed actor was counted out (ractor skips post_stop on a panic).
    assert!(metrics.contains("storymimi_actors_alive{kind=\"story\"} 0"), "{metrics}");
}

/// Fails the first `failures` scene calls with a transient error, then writes normally.
struct Flaky {
    failures: AtomicU32,
    first_scene_writes: AtomicU32,
}

#[async_trait]
impl Llm for Flaky {
    fn name(&self) -> &str {
        "flaky"
    }
    async fn plan_story(&self, id: StoryId, spec: &StorySpec) -> Result<StoryPlan, ProviderError> {
        Storyteller::new(Duration::ZERO).plan_story(id, spec).await
    }
    async fn write_scene(&self, request: SceneRequest<'_>) -> Result<SceneDraft, ProviderError> {
        if request.index == 0 {
            self.first_scene_writes.fetch_add(1, Ordering::SeqCst);
        }
        if request.index == 1 && self.failures.load(Ordering::SeqCst) > 0 {
            self.failures.fetch_sub(1, Ordering::SeqCst);
            return Err(ProviderError::transient("provider overloaded"));
        }
        Storyteller::new(Duration::ZERO).write_scene(request).await
    }
}

async fn detail(app: &crate::helpers::TestApp, user: &User, id: &str) -> Value {
    app.get(&format!("/stories/{id}"), &user.token).await.json().await.unwrap()
}

#[tokio::test]
async fn a_failed_story_keeps_its_scenes_and_retry_resumes_it() {
    // provider_retries = 1: two failed attempts on scene 2 fail the story.
    let flaky = Arc::new(Flaky { failures: AtomicU32::new(2), first_scene_writes: AtomicU32::new(0) });
    let app = spawn_app_with(|_| {}, Overrides { llm: Some(flaky.clone()), ..Overrides::default() }).await;
    let user = app.register("ada@example.com").await;
    let id = app.create_story(&user, json!({"prompt": "a fox named Ruby", "num_scenes": 3})).await;
    let failed = app.wait_until_finished(&user, &id).await;
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["error"], "provider overloaded");
    assert_eq!(failed["scenes_done"], 1);
    let first_scene = detail(&app, &user, &id).await["scenes"][0].clone();

    let retry = app.post(&format!("/stories/{id}/retry/"), Some(&user.token), json!({})).await;
    assert_eq!(retry.status(), StatusCode::ACCEPTED);
    let done = app.wait_until_finished(&user, &id).await;
    assert_eq!(done["status"], "completed");
    let after = detail(&app, &user, &id).await;
    assert_eq!(after["scenes"][0], first_scene, "scene 1 was kept");
    assert_eq!(flaky.first_scene_writes.load(Ordering::SeqCst), 1, "scene 1 was not written again");
    assert_eq!(after["scenes"].as_array().unwrap().len(), 3);
    assert!(after["error"].is_null());
}

#[tokio::test]
async fn deleting_a_story_while_it_is_written_stops_it_cleanly() {
    let app = spawn_app_with(|c| c.providers.llm.builtin_delay_ms = 100, Overrides::default()).await;
    let user = app.register("ada@example.com").await;
    let id = app.create_story(&user, json!({"prompt": "a long story", "num_scenes": 10})).await;
    app.wait_for(&user, &id, 20, |s| s["scenes_done"].as_u64() >= Some(1)).await;
    assert_eq!(app.delete(&format!("/stories/{id}"), &user.token).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.get(&format!("/stories/{id}"), &user.token).await.status(), StatusCode::NOT_FOUND);
    // The actor is gone too.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let metrics = app.metrics().await;
        if metrics.contains("storymimi_actors_alive{kind=\"story\"} 0") {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the story actor is still alive: {metrics}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn many_stories_at_once_all_complete() {
    let app = spawn_app().await;
    // Four families, each at its cap of three stories in flight.
    let mut stories = Vec::new();
    for family in 0..4 {
        let user = app.register(&format!("parent{family}@example.com")).await;
        for i in 0..3 {
            let prompt = format!("story number {i} about an owl");
            let id = app.create_story(&user, json!({"prompt": prompt, "num_scenes": 3})).await;
            stories.push((id, User { id: user.id.clone(), token: user.token.clone(), refresh: user.refresh.clone() }));
        }
    }
    for (id, user) in &stories {
        assert_eq!(app.wait_until_finished(user, id).await["status"], "completed");
        assert_eq!(sequences(app.get(&format!("/stories/{id}"), &user.token).await).await, [1, 2, 3]);
    }
}
