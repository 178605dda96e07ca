//! With `llm = openai` the model reads what the child says, against an in-test server that
//! answers as the OpenAI API documents with scripted readings: a good one (what the builtin
//! rules could not read), an invalid one, an unsafe one, a slow one, garbage, and a complete
//! draft. Only a good, safe reading is used; every other turn is the builtin rules', and the
//! builtin rules alone start a story.

use crate::helpers::{metric_sum, spawn_app_with};
use crate::ws_client::{Ws, connect};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use storymimi::Overrides;
use storymimi::config::{LlmKind, NarratorKind};

#[derive(Default)]
struct Model {
    /// Answer 400 to `json_schema`, as servers without structured output do.
    refuses_schema: bool,
    /// The `response_format` of every reading asked for (`plain` when none).
    formats: Mutex<Vec<String>>,
}

/// What the model reads, by what the child said.
fn reading(said: &str) -> Option<Value> {
    let character = |name: &str, kind: &str| json!({"name": name, "kind": kind});
    let draft = |hero: Value, setting: Value, style: Value, scenes: Value, age: Value, wish: Value| {
        json!({"hero": hero, "friends": [], "setting": setting, "style": style, "num_scenes": scenes, "age": age,
               "title": null, "wish": wish})
    };
    let null = Value::Null;
    Some(if said.contains("eight legs") {
        let wish = json!("wanted to spin the biggest web in the world");
        draft(character("Webby", "spider"), json!("the attic"), null.clone(), null.clone(), null, wish)
    } else if said.contains("scary") {
        draft(character("Tom", "cat"), null.clone(), json!("horror"), null, json!(99), Value::Null)
    } else if said.contains("funny name") {
        draft(character("Shithead", "fox"), Value::Null, Value::Null, Value::Null, Value::Null, Value::Null)
    } else if said.contains("everything at once") {
        draft(character("Pip", "dragon"), json!("castle"), json!("funny"), json!(3), Value::Null, Value::Null)
    } else if said.contains("gibberish") {
        return None;
    } else {
        json!({})
    })
}

async fn chat(State(model): State<Arc<Model>>, axum::Json(request): axum::Json<Value>) -> Response {
    let system = request["messages"][0]["content"].as_str().unwrap_or_default();
    if !system.starts_with("You help a storytelling app") {
        // The agent's voice and the storyteller: down, so the builtin words are said.
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    let format = request["response_format"]["type"].as_str().unwrap_or("plain").to_owned();
    model.formats.lock().unwrap().push(format.clone());
    if model.refuses_schema && format == "json_schema" {
        let error = json!({"error": {"message": "response_format json_schema is not supported", "type": "invalid_request_error"}});
        return (StatusCode::BAD_REQUEST, axum::Json(error)).into_response();
    }
    let said = request["messages"][1]["content"].as_str().unwrap_or_default();
    let said = said.rsplit("The child said: ").next().unwrap_or_default();
    if said.contains("take your time") {
        tokio::time::sleep(Duration::from_secs(10)).await;
    }
    let content = reading(said).map_or_else(|| "Sure! The hero is a {fox, ok? 🦊".to_owned(), |r| r.to_string());
    assert_eq!(request["stream"], true, "a reading is streamed, so it can be stopped");
    // As the API streams it: the content in two pieces, a finish, the usage, [DONE].
    let middle = content.char_indices().nth(content.chars().count() / 2).map_or(0, |(i, _)| i);
    let (head, tail) = content.split_at(middle);
    let events = [
        json!({"choices": [{"index": 0, "delta": {"role": "assistant", "content": head}, "finish_reason": null}]}),
        json!({"choices": [{"index": 0, "delta": {"content": tail}, "finish_reason": null}]}),
        json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}),
        json!({"choices": [], "usage": {"completion_tokens": 30}}),
    ];
    let mut body: String = events.iter().map(|e| format!("data: {e}\n\n")).collect();
    body.push_str("data: [DONE]\n\n");
    ([("content-type", "text/event-stream")], body).into_response()
}

async fn start_model(model: Model) -> (Arc<Model>, String) {
    let model = Arc::new(model);
    let app = Router::new().route("/v1/chat/completions", post(chat)).with_state(model.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (model, base)
}

async fn app_with(model: Model, timeout_ms: u64) -> (Arc<Model>, crate::helpers::TestApp) {
    let (model, base) = start_model(model).await;
    let app = spawn_app_with(
        |c| {
            c.providers.llm.kind = LlmKind::Openai;
            c.providers.llm.base_url = base.clone();
            c.providers.speech.kind = NarratorKind::None;
            c.providers.retries = 0;
            c.conversation.agent_understanding_timeout_ms = timeout_ms;
        },
        Overrides::default(),
    )
    .await;
    (model, app)
}

/// Say `line`: the requirements shown after it and the agent's reply.
async fn turn(ws: &mut Ws, line: &str) -> (Value, String) {
    ws.say(line).await;
    let (requirements, _) = ws.until("requirements").await;
    (requirements, ws.reply().await)
}

fn outcomes(metrics: &str, outcome: &str) -> f64 {
    metric_sum(metrics, "storymimi_agent_understanding_total", &format!("outcome=\"{outcome}\""))
}

#[tokio::test]
async fn the_model_reads_what_the_rules_cannot_and_asks_the_way_the_server_takes() {
    let (model, app) = app_with(Model { refuses_schema: true, ..Model::default() }, 4_000).await;
    let user = app.register("ada@example.com").await;
    let (mut ws, _, _) = connect(&app, &user).await;
    let (requirements, reply) = turn(&mut ws, "my fave is the one with eight legs that makes webs in the attic").await;
    assert_eq!(
        requirements["characters"][0],
        json!({"name": "Webby", "kind": "spider", "role": "hero"}),
        "{requirements}"
    );
    assert_eq!(requirements["setting"], "the attic");
    assert!(reply.contains("Webby the spider"), "the agent says back what the model read: {reply}");
    // A second turn asks straight away the way that worked.
    turn(&mut ws, "make it funny").await;
    let formats = model.formats.lock().unwrap().clone();
    assert_eq!(formats, ["json_schema", "json_object", "json_object"]);
    let seen = app.metrics().await;
    assert_eq!(outcomes(&seen, "used"), 2.0, "{seen}");
    assert!(metric_sum(&seen, "storymimi_provider_call_duration_seconds_count", "call=\"understand\"") >= 2.0);
}

#[tokio::test]
async fn invalid_unsafe_and_unreadable_readings_leave_the_turn_to_the_builtin_rules() {
    let (model, app) = app_with(Model::default(), 4_000).await;
    let user = app.register("ada@example.com").await;
    let (mut ws, _, _) = connect(&app, &user).await;

    // Invalid (a style and an age the service does not take): the rules read the turn.
    let (requirements, _) = turn(&mut ws, "a scary cat called Tom").await;
    assert_eq!(requirements["characters"][0]["name"], "Tom");
    assert_eq!(requirements["style"], "mystery", "the rules' reading of 'scary', not the model's 'horror'");
    assert_eq!(requirements["age"], Value::Null);

    // Unsafe (a name the child never said): the rules read it; the child is not told off.
    let (requirements, reply) = turn(&mut ws, "and a fox with a funny name").await;
    assert!(!requirements.to_string().contains("Shithead"), "{requirements}");
    assert_eq!(requirements["characters"][1], json!({"name": null, "kind": "fox", "role": "friend"}));
    assert!(!reply.contains("keep our story kind"), "{reply}");

    // Garbage instead of JSON.
    let (requirements, _) = turn(&mut ws, "gibberish, in the deep blue sea").await;
    assert_eq!(requirements["setting"], "sea");

    assert_eq!(model.formats.lock().unwrap().len(), 3, "the model was asked every time");
    let seen = app.metrics().await;
    for outcome in ["invalid", "unsafe", "unreadable"] {
        assert_eq!(outcomes(&seen, outcome), 1.0, "{outcome}:\n{seen}");
    }
    assert_eq!(outcomes(&seen, "used"), 0.0);
    assert!(!seen.contains("path=\"requirements\""), "the model's unsafe name was not what the child said: {seen}");
}

#[tokio::test]
async fn a_slow_model_costs_a_turn_its_own_timeout_at_most() {
    let (_model, app) = app_with(Model::default(), 500).await;
    let user = app.register("ada@example.com").await;
    let (mut ws, _, _) = connect(&app, &user).await;
    let asked = Instant::now();
    let (requirements, _) = turn(&mut ws, "take your time, a bear called Bo").await;
    assert!(asked.elapsed() < Duration::from_millis(500) + Duration::from_secs(1), "{:?}", asked.elapsed());
    assert_eq!(requirements["characters"][0]["name"], "Bo");
    assert_eq!(outcomes(&app.metrics().await, "timeout"), 1.0);
}

#[tokio::test]
async fn only_the_builtin_rules_start_a_story() {
    let (model, app) = app_with(Model::default(), 4_000).await;
    let user = app.register("ada@example.com").await;
    let (mut ws, _, _) = connect(&app, &user).await;
    let (requirements, reply) = turn(&mut ws, "everything at once please").await;
    assert_eq!(requirements["ready"], true, "{requirements}");
    assert!(reply.contains("Shall I make it?"), "{reply}");
    assert!(ws.try_next_event(Duration::from_millis(300)).await.is_none_or(|e| e["type"] != "story_started"));
    let asked = model.formats.lock().unwrap().len();
    ws.say("yes!").await;
    let (started, _) = ws.until("story_started").await;
    assert!(started["story_id"].is_string());
    assert_eq!(model.formats.lock().unwrap().len(), asked, "a yes to 'Shall I make it?' is the rules' alone");
}
