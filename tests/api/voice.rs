//! One voice per story, against an in-test OpenAI-compatible server that writes what it is
//! told to: text that breaks each rule once (asked again, the reason is in the next request),
//! text that never gets better (the offline storyteller writes the whole story, or, once a
//! scene is stored, the rest — also across a kill -9), and the `fail` policy. Every retry and
//! fallback shows in the metrics, each fallback in a WARN line without the child's words.

use crate::binary::start as start_binary_with;
use crate::helpers::{TestApp, User, metric_sum, spawn_app_with};
use crate::openai::{OUTLINES, SCENE, sse};
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use storymimi::Overrides;
use storymimi::config::{Config, FallbackPolicy, LlmKind, NarratorKind};

/// What the model writes for a scene.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Script {
    /// The plan's first answer is not JSON; scene `n`'s first answer breaks rule `n` of
    /// [`BROKEN`]; every answer asked again is good.
    EachRuleOnce,
    /// Scenes from this one on are always told by "I".
    FirstPersonFrom(usize),
    Good,
}

/// Scene text breaking one rule each, with the words the model is then told.
const BROKEN: [(&str, &str); 7] = [
    ("unsafe", "not right for young children"),
    ("length", "it had 10 words"),
    ("loop", "the same words again and again"),
    ("unfinished", "stopped in the middle of a sentence"),
    ("person", "told by \"I\" instead of about the hero"),
    ("hero", "it did not name Ruby"),
    ("markup", "headings, notes or these instructions"),
];

fn broken(rule: &str) -> String {
    let last = SCENE.rfind("Everything").unwrap();
    match rule {
        // In the middle: what comes after it is fine, but it must never be shown.
        "unsafe" => SCENE.replacen("singing. ", "singing. Then the fox drank beer and got drunk. ", 1),
        "length" => "Ruby the fox woke up. She smiled at the sun.".into(),
        "loop" => format!("{SCENE} Ruby said a fox is a fox, a fox is a fox, a fox is a fox."),
        "unfinished" => format!("{}Everything felt bright and new, and she could", &SCENE[..last]),
        "person" => SCENE.replace("She stretched her paws", "I stretched my paws"),
        "hero" => SCENE.replace("Ruby", "Rosa"),
        "markup" => format!("{SCENE}\nNote: this scene has 99 words."),
        _ => unreachable!(),
    }
}

pub(crate) struct Model {
    script: Mutex<Script>,
    /// The user message of every plan and scene request, in order.
    asked: Mutex<Vec<String>>,
}

impl Model {
    fn asked(&self, what: impl Fn(&str) -> bool) -> Vec<String> {
        self.asked.lock().unwrap().iter().filter(|m| what(m)).cloned().collect()
    }

    pub(crate) fn scene_asks(&self, n: usize) -> Vec<String> {
        self.asked(|m| m.contains(&format!("Write scene {n} of")))
    }
}

async fn chat(State(model): State<Arc<Model>>, axum::Json(request): axum::Json<Value>) -> Response {
    let asked = request["messages"][1]["content"].as_str().unwrap_or_default().to_owned();
    let again = asked.contains("could not be used");
    model.asked.lock().unwrap().push(asked.clone());
    let script = *model.script.lock().unwrap();
    if asked.starts_with("Plan") {
        let content = if script == Script::EachRuleOnce && !again {
            "Sure! Here is a plan: Ruby, then more Ruby.".to_owned()
        } else {
            let n: usize = asked.split("exactly ").nth(1).and_then(|r| r.split(' ').next()?.parse().ok()).unwrap();
            let scenes: Vec<Value> = (1..=n)
                .map(|i| json!({"title": format!("Ruby's day, part {i}"), "outline": OUTLINES[i - 1]}))
                .collect();
            json!({"title": "Ruby and the Secret Meadow", "scenes": scenes}).to_string()
        };
        let answer = json!({"choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}]});
        return axum::Json(answer).into_response();
    }
    let n: usize = asked.split("Write scene ").nth(1).and_then(|r| r.split(' ').next()?.parse().ok()).unwrap_or(0);
    let text = match script {
        Script::EachRuleOnce if !again && (1..=BROKEN.len()).contains(&n) => broken(BROKEN[n - 1].0),
        Script::FirstPersonFrom(first) if n >= first => broken("person"),
        _ => SCENE.to_owned(),
    };
    let mut events: Vec<Value> =
        text.split_inclusive(' ').map(|w| json!({"choices": [{"index": 0, "delta": {"content": w}}]})).collect();
    events.push(json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}));
    ([("content-type", "text/event-stream")], sse(&events, true)).into_response()
}

pub(crate) async fn start_model(script: Script) -> (Arc<Model>, String) {
    let model = Arc::new(Model { script: Mutex::new(script), asked: Mutex::new(Vec::new()) });
    let app = Router::new().route("/v1/chat/completions", post(chat)).with_state(model.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (model, base)
}

pub(crate) fn through(base: &str) -> impl FnOnce(&mut Config) + '_ {
    move |c: &mut Config| {
        c.providers.llm.kind = LlmKind::Openai;
        c.providers.llm.base_url = base.to_owned();
        c.providers.speech.kind = NarratorKind::None;
    }
}

async fn story(app: &TestApp, user: &User, scenes: u8) -> (String, Value) {
    let body = json!({"prompt": "a fox named Ruby", "num_scenes": scenes, "age": 7});
    let id = app.create_story(user, body).await;
    let status = app.wait_until_finished(user, &id).await;
    let detail: Value = app.get(&format!("/stories/{id}"), &user.token).await.json().await.unwrap();
    assert_eq!(detail["status"], status["status"]);
    (id, detail)
}

fn counted(metrics: &str, name: &str, call: &str, reason: &str) -> f64 {
    metric_sum(metrics, &format!("storymimi_{name}_total"), &format!("call=\"{call}\",reason=\"{reason}\""))
}

#[tokio::test]
async fn each_rejected_text_is_asked_again_with_its_reason_and_the_story_keeps_the_model_voice() {
    let (model, base) = start_model(Script::EachRuleOnce).await;
    let app = spawn_app_with(through(&base), Overrides::default()).await;
    let user = app.register("ada@example.com").await;
    let (_, detail) = story(&app, &user, BROKEN.len() as u8).await;
    assert_eq!(detail["status"], "completed", "{detail}");
    assert_eq!(detail["title"], "Ruby and the Secret Meadow");
    assert_eq!(
        detail["written_by"],
        json!({"writer": "model", "model_scenes": [1, 2, 3, 4, 5, 6, 7], "offline_scenes": []})
    );
    let plans = model.asked(|m| m.starts_with("Plan"));
    assert_eq!(plans.len(), 2, "asked again once");
    assert!(plans[1].contains("could not be used: it was not the JSON asked for"), "{}", plans[1]);
    let metrics = app.metrics().await;
    assert_eq!(counted(&metrics, "provider_retries", "plan", "parse"), 1.0, "{metrics}");
    for (n, (rule, told)) in BROKEN.iter().enumerate() {
        let asks = model.scene_asks(n + 1);
        assert_eq!(asks.len(), 2, "scene {} ({rule}) asked twice", n + 1);
        assert!(!asks[0].contains("could not be used"));
        assert!(asks[1].contains("could not be used") && asks[1].contains(told), "{rule}: {}", asks[1]);
        assert!(asks[1].contains("in 80 to 160 words, and end with a finished sentence"), "{}", asks[1]);
        assert_eq!(counted(&metrics, "provider_retries", "scene", rule), 1.0, "{rule}:\n{metrics}");
    }
    let text: String = detail["scenes"].as_array().unwrap().iter().map(|s| s["text"].as_str().unwrap()).collect();
    assert!(!text.contains("beer") && !text.contains("Note:") && !text.contains("I stretched"), "{text}");
    assert_eq!(metric_sum(&metrics, "storymimi_provider_fallbacks_total", ""), 0.0, "{metrics}");
}

#[tokio::test]
async fn a_model_failing_before_any_scene_is_stored_leaves_nothing_of_its_own() {
    let (model, base) = start_model(Script::FirstPersonFrom(1)).await;
    let app = spawn_app_with(through(&base), Overrides::default()).await;
    let user = app.register("ada@example.com").await;
    let (_, detail) = story(&app, &user, 3).await;
    assert_eq!(detail["status"], "completed", "{detail}");
    // Asked three times (two rewrites), then no more: the offline storyteller wrote it all.
    assert_eq!(model.scene_asks(1).len(), 3);
    assert!(model.scene_asks(2).is_empty());
    assert_eq!(detail["written_by"], json!({"writer": "offline", "model_scenes": [], "offline_scenes": [1, 2, 3]}));
    assert_ne!(detail["title"], "Ruby and the Secret Meadow", "the model's plan was dropped too");
    for scene in detail["scenes"].as_array().unwrap() {
        let text = scene["text"].as_str().unwrap();
        assert!(
            text.contains("Ruby")
                && !text.contains("I stretched")
                && !scene["title"].as_str().unwrap().contains("part")
        );
    }
    let metrics = app.metrics().await;
    assert_eq!(counted(&metrics, "provider_retries", "scene", "person"), 2.0, "{metrics}");
    assert_eq!(counted(&metrics, "provider_fallbacks", "scene", "person"), 1.0, "{metrics}");
}

#[tokio::test]
async fn with_the_fail_policy_the_story_fails_with_the_reason_and_a_retry_asks_the_model_again() {
    let (model, base) = start_model(Script::FirstPersonFrom(2)).await;
    let app = spawn_app_with(
        |c| {
            through(&base)(c);
            c.providers.llm.fallback = FallbackPolicy::Fail;
            c.providers.llm.rewrites = 1;
        },
        Overrides::default(),
    )
    .await;
    let user = app.register("ada@example.com").await;
    let (id, detail) = story(&app, &user, 2).await;
    assert_eq!(detail["status"], "failed", "{detail}");
    let error = detail["error"].as_str().unwrap();
    assert_eq!(error, "The story model could not write scene 2 well: it told the story as \"I\". Please try again.");
    assert_eq!(detail["scenes"].as_array().unwrap().len(), 1, "the finished scene is kept");
    assert_eq!(model.scene_asks(2).len(), 2);
    let metrics = app.metrics().await;
    assert_eq!(metric_sum(&metrics, "storymimi_provider_fallbacks_total", ""), 0.0, "nothing written offline");

    *model.script.lock().unwrap() = Script::Good;
    let retry = app.post(&format!("/stories/{id}/retry"), Some(&user.token), json!({})).await;
    assert_eq!(retry.status(), reqwest::StatusCode::ACCEPTED);
    let done = app.wait_until_finished(&user, &id).await;
    assert_eq!(done["status"], "completed", "{done}");
    let detail: Value = app.get(&format!("/stories/{id}"), &user.token).await.json().await.unwrap();
    assert_eq!(detail["written_by"], json!({"writer": "model", "model_scenes": [1, 2], "offline_scenes": []}));
    assert_eq!(model.scene_asks(1).len(), 1, "the kept scene was not written again");
}

#[tokio::test]
async fn once_a_scene_is_stored_the_rest_is_offline_and_stays_so_after_a_kill_9() {
    let (model, base) = start_model(Script::FirstPersonFrom(2)).await;
    let data = tempfile::tempdir().unwrap();
    let env = [
        ("STORYMIMI_LLM", "openai"),
        ("STORYMIMI_LLM_BASE_URL", base.as_str()),
        ("STORYMIMI_NARRATOR", "none"),
        // Scene 2 is written only once scene 1 is stored; offline scenes take a while.
        ("STORYMIMI_PIPELINE_LOOKAHEAD", "1"),
        ("STORYMIMI_BUILTIN_LLM_DELAY_MS", "1500"),
    ];
    let mut server = start_binary_with(data.path(), &env);
    let token = server.register("correct horse battery").await["access_token"].as_str().unwrap().to_owned();
    let prompt = "a fox named Ruby who sings to the moon";
    let created =
        server.post_json("/stories/", Some(&token), json!({"prompt": prompt, "num_scenes": 3, "age": 7})).await;
    let id = created["story_id"].as_str().unwrap().to_owned();
    let status = format!("/stories/{id}/status");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let now = server.get_json(&status, &token).await;
        assert_ne!(now["status"], "completed", "the kill came too late");
        if now["scenes_done"] == 2 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{now}");
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let logs = server.output.lock().unwrap().join("\n");
    let fallback = logs.lines().find(|l| l.contains("the offline storyteller writes")).expect("a fallback line");
    let line: Value = serde_json::from_str(fallback).unwrap();
    assert_eq!(line["level"], "WARN", "{line}");
    assert_eq!(
        (line["story"].as_str(), line["reason"].as_str(), line["scene"].as_u64()),
        (Some(&*id), Some("person"), Some(2))
    );
    assert!(!logs.contains("sings to the moon"), "the child's words stay out of the logs");

    // Back with a model that now writes well: the story keeps the voice it changed to.
    *model.script.lock().unwrap() = Script::Good;
    let asked_before = model.asked(|_| true).len();
    let mut server = start_binary_with(data.path(), &env);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while server.get_json(&status, &token).await["status"] != "completed" {
        assert!(tokio::time::Instant::now() < deadline, "the resumed story did not finish");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let detail = server.get_json(&format!("/stories/{id}"), &token).await;
    assert_eq!(detail["written_by"], json!({"writer": "mixed", "model_scenes": [1], "offline_scenes": [2, 3]}));
    assert_eq!(model.asked(|_| true).len(), asked_before, "the model was not asked again after the restart");
    let metrics = server.client.get(format!("{}/metrics", server.base)).send().await.unwrap().text().await.unwrap();
    assert_eq!(counted(&metrics, "provider_fallbacks", "scene", "person"), 0.0, "nothing fell back in this process");
    server.child.kill().unwrap();
    server.child.wait().unwrap();
}
