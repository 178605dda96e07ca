//! The safety table (tests/safety/table.txt: names, disguised swearing, compounds, harm to
//! someone, and classic tales, old names, animals, mild mischief) on every path a text takes:
//! a REST story prompt, a child's message in a conversation over a real WebSocket, and text a
//! storyteller wrote. Unsafe lines are held back on each; allowed lines pass untouched.

use crate::helpers::{TestApp, User, metric_sum, spawn_app_with};
use crate::ws_client::connect;
use actors::model::{SceneDraft, StoryId, StoryPlan, StorySpec};
use actors::ports::{Llm, ProviderError, SceneRequest};
use async_trait::async_trait;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use storymimi::Overrides;
use storymimi::config::{Config, NarratorKind};
use storymimi::providers::builtin::Storyteller;

struct Row {
    text: String,
    /// The concern it must be held back for; `None`: it must pass.
    concern: Option<String>,
}

fn table() -> Vec<Row> {
    let rows: Vec<Row> = include_str!("../safety/table.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|line| {
            let (label, text) = line.split_once('|').expect("`label | text`");
            Row { text: text.trim().to_owned(), concern: label.trim().strip_prefix("unsafe ").map(str::to_owned) }
        })
        .collect();
    let unsafe_rows = rows.iter().filter(|r| r.concern.is_some()).count();
    assert!(unsafe_rows >= 60 && rows.len() - unsafe_rows >= 60, "the table is too small");
    rows
}

/// Room for a whole table of requests from one child; pictures one at a time, so a table of
/// stories leaves the other tests running beside it a core of their own.
fn roomy(c: &mut Config) {
    c.providers.speech.kind = NarratorKind::None;
    c.providers.image.concurrency = 1;
    c.limits.max_stories_in_flight_per_user = 1_000;
    c.limits.max_stories_in_flight = 1_000;
    c.conversation.turns_per_minute = 100_000;
    c.ws.rate_per_sec = 1_000.0;
    c.ws.burst = 1_000;
}

#[tokio::test]
async fn the_table_on_rest_prompts() {
    // The stories asked for are not the point here: their writing waits, so the test does not.
    let app = spawn_app_with(
        |c| {
            roomy(c);
            c.providers.llm.builtin_delay_ms = 600_000;
        },
        Overrides::default(),
    )
    .await;
    let user = app.register("ada@example.com").await;
    let mut wrong = Vec::new();
    for row in table() {
        let response = app.post("/stories/", Some(&user.token), json!({"prompt": row.text, "num_scenes": 1})).await;
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        match &row.concern {
            Some(_)
                if status == 422 && body["error"]["code"] == "unsafe_content" && body["error"]["field"] == "prompt" => {
            }
            None if status == 202 => {
                let id = body["story_id"].as_str().unwrap();
                let story: Value = app.get(&format!("/stories/{id}"), &user.token).await.json().await.unwrap();
                if story["prompt"] != row.text {
                    wrong.push(format!("{:?} was stored as {}", row.text, story["prompt"]));
                }
            }
            _ => wrong.push(format!("{:?} ({:?}) → {status} {body}", row.text, row.concern)),
        }
    }
    assert!(wrong.is_empty(), "{} wrong:\n{}", wrong.len(), wrong.join("\n"));
    let flagged = metric_sum(&app.metrics().await, "storymimi_safety_flags_total", "path=\"prompt\"");
    assert_eq!(flagged as usize, table().iter().filter(|r| r.concern.is_some()).count());
}

/// The redirect the agent says instead of answering what was held back.
fn redirected(reply: &str) -> bool {
    reply.contains("Let's keep our story kind") || reply.contains("tell a grown-up")
}

async fn history(app: &TestApp, user: &User, limit: usize) -> Vec<String> {
    let path = format!("/conversation/{}/history?limit={limit}", user.id);
    let history: Value = app.get(&path, &user.token).await.json().await.unwrap();
    history.as_array().unwrap().iter().rev().map(|t| t["text"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn the_table_in_the_conversation() {
    let app = spawn_app_with(roomy, Overrides::default()).await;
    let user = app.register("ada@example.com").await;
    let (mut ws, _, _) = connect(&app, &user).await;
    let rows = table();
    let mut wrong = Vec::new();
    for unsafe_part in [true, false] {
        let part: Vec<&Row> = rows.iter().filter(|r| r.concern.is_some() == unsafe_part).collect();
        for row in &part {
            // A fresh story each time, so one line cannot lean on another.
            ws.send(json!({"type": "reset"})).await;
            ws.say(&row.text).await;
            let reply = ws.reply().await;
            if redirected(&reply) != unsafe_part {
                wrong.push(format!("{:?} ({:?}) → {reply}", row.text, row.concern));
            }
        }
        // What is stored: the marker for every line held back, every allowed line as said.
        let stored = history(&app, &user, part.len()).await;
        for (row, kept) in part.iter().zip(&stored) {
            let expected = if unsafe_part { actors::conversation::WITHHELD } else { row.text.as_str() };
            if kept != expected {
                wrong.push(format!("{:?} was stored as {kept:?}", row.text));
            }
        }
    }
    assert!(wrong.is_empty(), "{} wrong:\n{}", wrong.len(), wrong.join("\n"));
    let seen = app.metrics().await;
    let unsafe_rows = rows.iter().filter(|r| r.concern.is_some()).count();
    assert_eq!(metric_sum(&seen, "storymimi_safety_flags_total", "path=\"child_message\"") as usize, unsafe_rows);
    for path in ["requirements", "agent_reply"] {
        let flagged = metric_sum(&seen, "storymimi_safety_flags_total", &format!("path=\"{path}\""));
        assert_eq!(flagged, 0.0, "an allowed line was held back on {path}:\n{seen}");
    }
}

/// A storyteller that writes each table line into the scene of the story asked for it
/// ("line 12"), as a model could.
struct Echo {
    rows: Vec<String>,
}

#[async_trait]
impl Llm for Echo {
    fn name(&self) -> &str {
        "echo"
    }
    async fn plan_story(&self, id: StoryId, spec: &StorySpec) -> Result<StoryPlan, ProviderError> {
        Storyteller::new(Duration::ZERO).plan_story(id, spec).await
    }
    async fn write_scene(&self, request: SceneRequest<'_>) -> Result<SceneDraft, ProviderError> {
        let line: usize = request.spec.prompt.trim_start_matches("line ").parse().unwrap();
        let text = format!("It was a sunny morning. {}. Then everyone went home for tea.", self.rows[line]);
        Ok(SceneDraft { title: "A Day Out".into(), text })
    }
}

#[tokio::test]
async fn the_table_in_generated_text() {
    let rows = table();
    let echo = Arc::new(Echo { rows: rows.iter().map(|r| r.text.clone()).collect() });
    let app = spawn_app_with(roomy, Overrides { llm: Some(echo), ..Overrides::default() }).await;
    let user = app.register("ada@example.com").await;
    let mut stories = Vec::new();
    for i in 0..rows.len() {
        stories.push(app.create_story(&user, json!({"prompt": format!("line {i}"), "num_scenes": 1})).await);
    }
    let mut wrong = Vec::new();
    for (row, id) in rows.iter().zip(&stories) {
        let status = app.wait_for(&user, id, 120, |s| s["status"] == "completed" || s["status"] == "failed").await;
        let story: Value = app.get(&format!("/stories/{id}"), &user.token).await.json().await.unwrap();
        let text = story["scenes"][0]["text"].as_str().unwrap_or_default();
        let kept = text.contains(&row.text);
        // Held back: written again, then by the offline storyteller; never stored.
        if status["status"] != "completed" || kept == row.concern.is_some() {
            wrong.push(format!("{:?} ({:?}) → {} {text:?}", row.text, row.concern, status["status"]));
        }
    }
    assert!(wrong.is_empty(), "{} wrong:\n{}", wrong.len(), wrong.join("\n"));
    let unsafe_rows = rows.iter().filter(|r| r.concern.is_some()).count();
    let flagged = metric_sum(&app.metrics().await, "storymimi_safety_flags_total", "path=\"scene\"");
    assert_eq!(flagged as usize, 3 * unsafe_rows, "each unsafe scene asked three times, then written offline");
}
