//! An OpenAI-compatible model the machines of a test share, so that what they asked of it is
//! counted across processes (one of which is killed): plans from `OUTLINES`, each scene written
//! slowly and counted by the outline it was asked for.

use crate::openai::{OUTLINES, SCENE, sse};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Default)]
pub struct Model {
    pub plans: Mutex<u32>,
    /// Calls per scene (1-based, by outline).
    pub scenes: Mutex<HashMap<usize, u32>>,
    scene_time: Duration,
}

async fn chat(State(model): State<Arc<Model>>, axum::Json(request): axum::Json<Value>) -> Response {
    let prompt = request["messages"][1]["content"].as_str().unwrap_or_default().to_owned();
    if prompt.starts_with("Plan") {
        *model.plans.lock().unwrap() += 1;
        let n: usize = prompt.split("exactly ").nth(1).and_then(|r| r.split(' ').next()?.parse().ok()).unwrap();
        let scenes: Vec<Value> =
            (1..=n).map(|i| json!({"title": format!("Part {i}"), "outline": OUTLINES[i - 1]})).collect();
        let content = json!({"title": "Ruby and the Secret Meadow", "scenes": scenes}).to_string();
        let answer = json!({"choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}]});
        return axum::Json(answer).into_response();
    }
    if let Some(scene) = OUTLINES.iter().position(|outline| prompt.contains(outline)) {
        *model.scenes.lock().unwrap().entry(scene + 1).or_default() += 1;
        tokio::time::sleep(model.scene_time).await;
    }
    let mut events: Vec<Value> =
        SCENE.split_inclusive(' ').map(|w| json!({"choices": [{"index": 0, "delta": {"content": w}}]})).collect();
    events.push(json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}));
    ([("content-type", "text/event-stream")], sse(&events, true)).into_response()
}

/// The model, and the base URL to give the machines.
pub async fn start_model(scene_time: Duration) -> (Arc<Model>, String) {
    let model = Arc::new(Model { scene_time, ..Model::default() });
    let app = axum::Router::new().route("/v1/chat/completions", axum::routing::post(chat)).with_state(model.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (model, base)
}
