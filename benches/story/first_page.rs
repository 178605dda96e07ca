//! Table 3, time to the first page, with the builtin providers slowed to a remote model's latency
//! (`builtin_llm_delay_ms`, `builtin_image_delay_ms`, `builtin_speech_delay_ms`): from
//! `story_started` to the first `scene_delta` and the first `scene_text`, against the floor
//! (the plan and one text call), and to the first `scene_ready`, against the plan, one text
//! call and the slower of picture and narration. Measured as a client sees it, on a socket; the
//! floors are measured in the same run, by calling the same slowed providers directly.

use super::App;
use actors::model::{SpecLimits, StoryId, StorySpec};
use actors::ports::{IllustrationRequest, SceneRequest};
use futures_util::StreamExt;
use serde_json::Value;
use std::time::{Duration, Instant};
use storymimi::config::Config;
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
    let median = median(times).as_millis();
    println!(
        "| {what} | {median} ms | {}–{} ms | {} ms | {:.2}× |",
        ms[0],
        ms[ms.len() - 1],
        floor.as_millis(),
        median as f64 / floor.as_millis() as f64
    );
}

/// The floors, measured: the slowed providers called one after another as a story needs them,
/// without the service (plan + one scene's text; and + the slower of picture and narration).
struct Floors {
    text: Duration,
    ready: Duration,
    narrated: bool,
}

async fn floors(config: &Config, runs: usize) -> Floors {
    let llm = storymimi::providers::builtin_llm(&config.providers);
    let illustrator = storymimi::providers::illustrator(&config.providers);
    let (narrator, _) = storymimi::providers::narrator(&config.providers).await;
    let request = actors::requirements::request_from("a brave dragon called Pip");
    let spec = StorySpec::new(request, &SpecLimits::default()).expect("spec");
    let (mut text, mut ready) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let id = StoryId::new();
        let start = Instant::now();
        let plan = llm.plan_story(id, &spec).await.expect("plan");
        let scene = SceneRequest { story_id: id, spec: &spec, plan: &plan, index: 0, previous: &[], redo: None };
        let draft = llm.write_scene(scene).await.expect("scene");
        text.push(start.elapsed());
        let picture = IllustrationRequest { story_id: id, spec: &spec, plan: &plan, index: Some(0), text: &draft.text };
        let media = async {
            let drawn = Instant::now();
            illustrator.illustrate(picture).await.expect("picture");
            drawn.elapsed()
        };
        let voice = async {
            let spoken = Instant::now();
            if let Some(narrator) = &narrator {
                narrator.narrate(&draft.text, "en").await.expect("narration");
            }
            spoken.elapsed()
        };
        let (drawn, spoken) = tokio::join!(media, voice);
        ready.push(*text.last().expect("a run") + drawn.max(spoken));
    }
    Floors { text: median(&text), ready: median(&ready), narrated: narrator.is_some() }
}

fn median(times: &[Duration]) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2]
}

pub async fn run(runs: usize) {
    let slowed = |c: &mut Config| {
        c.storage.backend = storymimi::config::MediaBackend::Memory;
        c.providers.llm.builtin_delay_ms = LLM_MS;
        c.providers.image.builtin_delay_ms = IMAGE_MS;
        c.providers.speech.builtin_delay_ms = SPEECH_MS;
    };
    let mut config = Config::default();
    slowed(&mut config);
    let floors = floors(&config, runs).await;
    let app = super::start(slowed, storymimi::Overrides::default()).await;
    let user = app.user_id.clone();
    let mut firsts = Vec::new();
    for _ in 0..runs {
        firsts.push(one_story(&app, &user).await);
    }
    println!(
        "\nTime to the first page, builtin providers slowed (text call {LLM_MS} ms, picture {IMAGE_MS} ms, \
         narration {SPEECH_MS} ms{}), a 2-scene story, {runs} runs, from `story_started`; floors measured \
         in the same run by calling the slowed providers directly:\n",
        if floors.narrated { "" } else { "; no narrator on this machine" }
    );
    println!("| first … | median | range | floor | median / floor |");
    println!("|---|---:|---:|---:|---:|");
    row("`scene_delta`", &firsts.iter().map(|f| f.delta).collect::<Vec<_>>(), floors.text);
    row("`scene_text`", &firsts.iter().map(|f| f.text).collect::<Vec<_>>(), floors.text);
    row("`scene_ready`", &firsts.iter().map(|f| f.ready).collect::<Vec<_>>(), floors.ready);
}
