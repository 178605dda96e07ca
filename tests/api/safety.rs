//! Child safety on every path: what is typed, what is asked over REST, what the storyteller
//! writes. Nothing unsafe is stored or sent, personal data is taken out before storage, and
//! the child is steered back kindly.

use crate::helpers::{TestApp, assert_error, spawn_app, spawn_app_with};
use crate::ws_client::connect;
use actors::model::{SceneDraft, StoryId, StoryPlan, StorySpec};
use actors::ports::{Llm, ProviderError, SceneRequest};
use async_trait::async_trait;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use storymimi::Overrides;
use storymimi::providers::builtin::Storyteller;

const UNSAFE: &str = "a dragon called Stupid Idiot who wants to kill everyone with a knife and drink beer";

/// Every text column of the database file, as one string: what storage holds.
async fn everything_stored(app: &TestApp) -> String {
    let db = storymimi::db::Db::open(&app.config.db_path(), 1).await.unwrap();
    let conn = db.reader().await;
    let mut all = String::new();
    for (table, columns) in [
        ("stories", "coalesce(title,'') || ' ' || prompt || ' ' || coalesce(plan,'')"),
        ("scenes", "title || ' ' || text"),
        ("conversation_turns", "content || ' ' || coalesce(requirements,'')"),
        ("conversations", "draft"),
        ("transcripts", "text || ' ' || coalesce(requirements,'')"),
    ] {
        let mut rows = conn.query(&format!("SELECT {columns} FROM {table}"), ()).await.unwrap();
        while let Some(row) = rows.next().await.unwrap() {
            all.push_str(&row.get::<String>(0).unwrap());
            all.push('\n');
        }
    }
    all
}

#[tokio::test]
async fn an_unsafe_rest_prompt_or_title_is_refused_kindly() {
    let app = spawn_app().await;
    let user = app.register("ada@example.com").await;
    let response = app.post("/stories/", Some(&user.token), json!({"prompt": UNSAFE})).await;
    let body = assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "unsafe_content").await;
    assert_eq!(body["error"]["field"], "prompt");
    assert!(body["error"]["message"].as_str().unwrap().contains("kind"), "{body}");
    let response = app.post("/stories/", Some(&user.token), json!({"prompt": "a fox", "title": "The F*ck Fox"})).await;
    assert_eq!(
        assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "unsafe_content").await["error"]["field"],
        "title"
    );
    let listed: Value = app.get(&format!("/users/{}/stories", user.id), &user.token).await.json().await.unwrap();
    assert_eq!(listed["stories"], json!([]), "nothing was created");
    let metrics = app.metrics().await;
    assert!(metrics.contains("storymimi_safety_flags_total{concern=\"violence\",path=\"prompt\"} 1"), "{metrics}");
    assert!(!everything_stored(&app).await.contains("Idiot"));
}

#[tokio::test]
async fn personal_data_never_reaches_storage() {
    let app = spawn_app().await;
    let user = app.register("ada@example.com").await;
    let prompt = "a story for Emma Johnson aged 7 who lives at 12 Oak Tree Lane, mum's phone 07700 900123";
    let id = app.create_story(&user, json!({"prompt": prompt, "num_scenes": 1})).await;
    app.wait_until_finished(&user, &id).await;
    let detail: Value = app.get(&format!("/stories/{id}"), &user.token).await.json().await.unwrap();
    let stored = detail["prompt"].as_str().unwrap();
    assert!(stored.contains("[name]") && stored.contains("[address]") && stored.contains("[phone]"), "{stored}");

    let (mut ws, _, _) = connect(&app, &user).await;
    ws.say("my name is Leo Martin and I am 6, email me at leo@example.com").await;
    ws.reply().await;
    let all = everything_stored(&app).await;
    for secret in ["Emma", "Johnson", "Oak Tree", "07700", "Leo", "Martin", "leo@example.com"] {
        assert!(!all.contains(secret), "{secret} was stored:\n{all}");
    }
}

#[tokio::test]
async fn an_unsafe_message_gets_a_gentle_redirect_and_is_not_kept() {
    let app = spawn_app().await;
    let user = app.register("ada@example.com").await;
    let (mut ws, _, _) = connect(&app, &user).await;
    ws.say("a fox called Ruby").await;
    ws.reply().await;
    ws.say(UNSAFE).await;
    let (requirements, _) = ws.until("requirements").await;
    let reply = ws.reply().await;
    assert!(reply.contains("kind") && reply.contains("Ruby"), "{reply}");
    assert_eq!(requirements["characters"][0]["name"], "Ruby", "the draft kept its hero: {requirements}");
    assert_eq!(requirements["characters"].as_array().unwrap().len(), 1);

    ws.say("I want to kill myself").await;
    assert!(ws.reply().await.contains("grown-up"));

    let history: Value =
        app.get(&format!("/conversation/{}/history?limit=5", user.id), &user.token).await.json().await.unwrap();
    let texts: Vec<&str> = history.as_array().unwrap().iter().map(|t| t["text"].as_str().unwrap()).collect();
    assert_eq!(texts[..2], [actors::conversation::WITHHELD, actors::conversation::WITHHELD]);
    let all = everything_stored(&app).await;
    for word in ["Stupid", "kill", "beer", "knife"] {
        assert!(!all.contains(word), "{word} was stored");
    }
    let metrics = app.metrics().await;
    assert!(metrics.contains("path=\"child_message\""), "{metrics}");

    let response =
        app.post(&format!("/conversation/{}/transcripts", user.id), Some(&user.token), json!({"text": UNSAFE})).await;
    assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "unsafe_content").await;
}

/// A storyteller that writes something unsafe the first `bad` times it is asked for a scene.
struct Unruly {
    bad: AtomicU32,
    asked: AtomicU32,
}

#[async_trait]
impl Llm for Unruly {
    fn name(&self) -> &str {
        "unruly"
    }
    async fn plan_story(&self, id: StoryId, spec: &StorySpec) -> Result<StoryPlan, ProviderError> {
        Storyteller::new(Duration::ZERO).plan_story(id, spec).await
    }
    async fn write_scene(&self, request: SceneRequest<'_>) -> Result<SceneDraft, ProviderError> {
        self.asked.fetch_add(1, Ordering::SeqCst);
        if self.bad.load(Ordering::SeqCst) > 0 {
            self.bad.fetch_sub(1, Ordering::SeqCst);
            return Ok(SceneDraft { title: "Bad".into(), text: "Then the fox drank beer and got drunk.".into() });
        }
        Storyteller::new(Duration::ZERO).write_scene(request).await
    }
}

async fn story_with(bad: u32) -> (Arc<Unruly>, Value, String) {
    let unruly = Arc::new(Unruly { bad: AtomicU32::new(bad), asked: AtomicU32::new(0) });
    let app = spawn_app_with(|_| {}, Overrides { llm: Some(unruly.clone()), ..Overrides::default() }).await;
    let user = app.register("ada@example.com").await;
    let id = app.create_story(&user, json!({"prompt": "a fox named Ruby", "num_scenes": 1})).await;
    assert_eq!(app.wait_until_finished(&user, &id).await["status"], "completed");
    let detail: Value = app.get(&format!("/stories/{id}"), &user.token).await.json().await.unwrap();
    let flagged = app.metrics().await;
    assert!(!everything_stored(&app).await.contains("beer"));
    (unruly, detail, flagged)
}

#[tokio::test]
async fn unsafe_generated_text_is_written_again_then_replaced_never_kept() {
    // Twice unsafe: asked again, the third answer is used.
    let (unruly, detail, metrics) = story_with(2).await;
    assert_eq!(unruly.asked.load(Ordering::SeqCst), 3);
    assert!(detail["scenes"][0]["text"].as_str().unwrap().contains("Ruby"));
    assert!(metrics.contains("storymimi_safety_flags_total{concern=\"drugs_alcohol\",path=\"scene\"} 2"), "{metrics}");

    // Always unsafe: after three tries the offline storyteller writes the scene.
    let (unruly, detail, _) = story_with(u32::MAX).await;
    assert_eq!(unruly.asked.load(Ordering::SeqCst), 3);
    let text = detail["scenes"][0]["text"].as_str().unwrap();
    assert!(text.contains("Ruby") && !text.contains("beer"), "{text}");
}
