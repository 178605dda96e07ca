//! Table 3, time to the first page, with the builtin providers slowed to a remote model's latency
//! (`builtin_llm_delay_ms`, `builtin_image_delay_ms`, `builtin_speech_delay_ms`): from
//! `story_started` to the first `scene_delta` and the first `scene_text`, against the floor
//! (the plan and one text call), and to the first `scene_ready`, against the plan, one text
//! call and the slower of picture and narration. Measured as a client sees it, on a socket.

use super::App;
use futures_util::StreamExt;
use serde_json::Value;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

const LLM_MS: u64 = 2_000;
const IMAGE_MS: u64 = 4_000;
const SPEECH_MS: u64 = 2_500;

/// When each first thing arrived, from `story_started`.
struct Firsts {
    delta: Duration,
    text: Duration,
    ready: Duration,
}

async fn one_story(app: &App, user: &str) -> Firsts {
    let url = format!("{}/conversation/{user}", app.base.replacen("http", "ws", 1));
    let mut request = url.into_client_request().expect("request");
    let bearer = HeaderValue::from_str(&format!("Bearer {}", app.token)).expect("header");
    request.headers_mut().insert("authorization", bearer);
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.expect("websocket");
    let id = app.create(2).await;
    let (mut started, mut delta, mut text, mut ready) = (None, None, None, None);
    loop {
        let message = tokio::time::timeout(Duration::from_secs(120), socket.next())
            .await
            .expect("an event in time")
            .expect("the socket stays open")
            .expect("a frame");
        let Ok(text_frame) = message.to_text() else { continue };
        let Ok(event) = serde_json::from_str::<Value>(text_frame) else { continue };
        if event["story_id"].as_str() != Some(id.as_str()) {
            continue;
        }
        let now = Instant::now();
        match event["type"].as_str() {
            Some("story_started") => started = started.or(Some(now)),
            Some("scene_delta") => delta = delta.or(Some(now)),
            Some("scene_text") => text = text.or(Some(now)),
            Some("scene_ready") => ready = ready.or(Some(now)),
            Some("story_completed") => break,
            Some("story_failed") => panic!("story failed: {event}"),
            _ => {}
        }
    }
    let since = |t: Option<Instant>| t.expect("seen").duration_since(started.expect("story_started"));
    Firsts { delta: since(delta), text: since(text), ready: since(ready) }
}

fn row(what: &str, times: &[Duration], floor: Duration) {
    let mut ms: Vec<u128> = times.iter().map(Duration::as_millis).collect();
    ms.sort();
    let median = ms[ms.len() / 2];
    println!(
        "| {what} | {median} ms | {}–{} ms | {} ms | {:.2}× |",
        ms[0],
        ms[ms.len() - 1],
        floor.as_millis(),
        median as f64 / floor.as_millis() as f64
    );
}

pub async fn run(runs: usize) {
    let app = super::start(
        |c| {
            c.storage.backend = storymimi::config::MediaBackend::Memory;
            c.providers.llm.builtin_delay_ms = LLM_MS;
            c.providers.image.builtin_delay_ms = IMAGE_MS;
            c.providers.speech.builtin_delay_ms = SPEECH_MS;
        },
        storymimi::Overrides::default(),
    )
    .await;
    let ready: Value =
        app.client.get(format!("{}/readyz", app.base)).send().await.expect("readyz").json().await.expect("json");
    let narrated = ready["narrator"]["available"] == true;
    let user = app.user_id.clone();
    let mut firsts = Vec::new();
    for _ in 0..runs {
        firsts.push(one_story(&app, &user).await);
    }
    let (llm, image, speech) =
        (Duration::from_millis(LLM_MS), Duration::from_millis(IMAGE_MS), Duration::from_millis(SPEECH_MS));
    let slower = if narrated { image.max(speech) } else { image };
    println!(
        "\nTime to the first page, builtin providers slowed (text call {LLM_MS} ms, picture {IMAGE_MS} ms, \
         narration {SPEECH_MS} ms{}), a 2-scene story, {runs} runs, from `story_started`:\n",
        if narrated { "" } else { "; no narrator on this machine" }
    );
    println!("| first … | median | range | floor | median / floor |");
    println!("|---|---:|---:|---:|---:|");
    row("`scene_delta`", &firsts.iter().map(|f| f.delta).collect::<Vec<_>>(), llm * 2);
    row("`scene_text`", &firsts.iter().map(|f| f.text).collect::<Vec<_>>(), llm * 2);
    row("`scene_ready`", &firsts.iter().map(|f| f.ready).collect::<Vec<_>>(), llm * 2 + slower);
}
