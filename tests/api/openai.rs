//! The OpenAI-compatible providers against a small in-test server that answers as the OpenAI
//! API documents (chat completions with SSE, images, speech), including its bad days: events
//! split across reads, a stream cut short, 429 with `Retry-After`, 500s then success, a
//! timeout, malformed JSON, a refused key.

use crate::helpers::{metric_sum, metric_value, spawn_app_with};
use crate::media::{fetch, mp3_seconds};
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use storymimi::config::{Config, IllustratorKind, LlmKind, NarratorKind, Secret};
use storymimi::{Overrides, providers};

const KEY: &str = "sk-test-0123456789abcdefSECRET";

#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Chat {
    /// Plans as asked, scenes streamed in tiny pieces; the first scene stream is cut short.
    Good,
    /// Plans that are not JSON, however often asked: the offline storyteller must carry the story.
    Garbage,
    /// 401 naming the key, as OpenAI does.
    RefuseKey,
    /// Never answers in time.
    Slow,
}

pub(crate) struct Fake {
    chat: Chat,
    /// Every chat request, whatever came of it.
    chats: AtomicU32,
    plans: AtomicU32,
    scenes: AtomicU32,
    images: AtomicU32,
    speeches: AtomicU32,
    /// Statuses the image API answers before it succeeds.
    image_failures: Mutex<VecDeque<u16>>,
    /// Answer images as a `url` to fetch instead of base64.
    image_urls: bool,
    base: Mutex<String>,
    speech_inputs: Mutex<Vec<String>>,
    /// The prompt of every image request.
    image_prompts: Mutex<Vec<String>>,
    /// Agent replies whose stream the client closed before the end.
    replies_dropped: Arc<AtomicU32>,
}

/// Counts a reply stream dropped before it was sent whole (the client closed it).
struct DropGuard(Arc<AtomicU32>, bool);

impl Drop for DropGuard {
    fn drop(&mut self) {
        if !self.1 {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// An agent reply, streamed a word at a time with `pause` between words.
fn agent_reply(fake: &Fake, text: &str, pause: Duration) -> Response {
    let words: Vec<String> = text.split_inclusive(' ').map(str::to_owned).collect();
    let guard = DropGuard(fake.replies_dropped.clone(), false);
    let stream = futures_util::stream::unfold(
        (words.into_iter(), guard, false),
        move |(mut words, mut guard, ended)| async move {
            if ended {
                return None;
            }
            tokio::time::sleep(pause).await;
            let event = match words.next() {
                Some(w) => json!({"choices": [{"index": 0, "delta": {"content": w}, "finish_reason": null}]}),
                None => {
                    guard.1 = true;
                    let done = format!(
                        "data: {}\n\ndata: [DONE]\n\n",
                        json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
                    );
                    return Some((Ok::<_, std::io::Error>(done.into_bytes()), (words, guard, true)));
                }
            };
            Some((Ok(format!("data: {event}\n\n").into_bytes()), (words, guard, false)))
        },
    );
    ([("content-type", "text/event-stream")], Body::from_stream(stream)).into_response()
}

fn png() -> Vec<u8> {
    let mut pixmap = resvg::tiny_skia::Pixmap::new(8, 8).unwrap();
    pixmap.fill(resvg::tiny_skia::Color::from_rgba8(200, 120, 40, 255));
    pixmap.encode_png().unwrap()
}

/// Real MP3 bytes: a quiet tone, a tenth of a second per character (so joins can be measured).
fn mp3_for(text: &str) -> Vec<u8> {
    let rate = 16_000u32;
    let samples = (text.chars().count() as u32) * rate / 10;
    let data: Vec<u8> = (0..samples).flat_map(|i| (((i as f32 * 0.05).sin() * 3000.0) as i16).to_le_bytes()).collect();
    let pcm = providers::audio::Pcm { sample_rate: rate, channels: 1, data: &data };
    providers::audio::encode_mp3(&pcm, 32).unwrap()
}

/// How the fake model's plans say Ruby looks.
pub(crate) const RUBY: &str = "a small red fox with golden ears and a green scarf";

/// What happens in each scene of the plans the fake model writes: all different, about Ruby.
pub(crate) const OUTLINES: [&str; 8] = [
    "Ruby wakes up in her cosy den and packs some berries.",
    "Ruby meets a kind owl by the river.",
    "The owl shows Ruby a secret meadow full of flowers.",
    "A summer storm makes everyone hide under an oak tree.",
    "Ruby helps a lost duckling find its mother.",
    "Everyone shares a picnic as the sun goes down.",
    "Ruby walks home under the stars, humming a song.",
    "Back in her den, Ruby falls asleep smiling.",
];

pub(crate) const SCENE: &str = "Ruby the fox woke up early in her cosy den under the old oak tree. The sun was warm and \
    the birds were singing. She stretched her paws and sniffed the morning air, which smelled of rain and \
    flowers. Today was a special day, because her friend the owl had promised to show her the secret meadow \
    beyond the river. Ruby packed some berries and a soft blanket, then trotted happily along the path, \
    waving her bushy tail. Everything felt bright and new, and she could not wait to see what the day would \
    bring for two good friends.";

pub(crate) fn sse(events: &[Value], done: bool) -> String {
    let mut body: String = events.iter().map(|e| format!("data: {e}\n\n")).collect();
    if done {
        body.push_str("data: [DONE]\n\n");
    }
    body
}

/// An SSE body sent 5 bytes at a time, as a slow network would deliver it.
fn trickle(body: String) -> Response {
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = body.into_bytes().chunks(5).map(|c| Ok(c.to_vec())).collect();
    let stream = futures_util::stream::iter(chunks);
    ([("content-type", "text/event-stream")], Body::from_stream(stream)).into_response()
}

async fn chat(State(fake): State<Arc<Fake>>, headers: HeaderMap, axum::Json(request): axum::Json<Value>) -> Response {
    fake.chats.fetch_add(1, Ordering::SeqCst);
    assert_eq!(headers["authorization"], format!("Bearer {KEY}"));
    let system = request["messages"][0]["content"].as_str().unwrap_or_default();
    if system.starts_with("You help a storytelling app") {
        // Reading the child's turn: this model changes nothing (the builtin rules' reading stands).
        let done = json!({"choices": [{"index": 0, "delta": {"content": "{}"}, "finish_reason": "stop"}]});
        return trickle(sse(&[done], true));
    }
    if system.starts_with("You are Mimi") {
        assert_eq!(request["stream"], true, "replies are streamed");
        let said = request["messages"].as_array().unwrap().last().unwrap()["content"].as_str().unwrap_or_default();
        return if said.contains("slowly") {
            agent_reply(&fake, &"Once upon a time there was a very long reply. ".repeat(20), Duration::from_millis(100))
        } else if said.contains("rude") {
            agent_reply(&fake, "You are stupid. Go away. ", Duration::ZERO)
        } else {
            agent_reply(&fake, "What a lovely idea! Tell me more about your hero. ", Duration::ZERO)
        };
    }
    let prompt = request["messages"][1]["content"].as_str().unwrap_or_default().to_owned();
    match fake.chat {
        Chat::RefuseKey => {
            let body = json!({"error": {"message": format!("Incorrect API key provided: {KEY}."), "type": "invalid_request_error"}});
            return (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
        }
        Chat::Slow => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            return StatusCode::GATEWAY_TIMEOUT.into_response();
        }
        _ => {}
    }
    if prompt.starts_with("Plan") {
        fake.plans.fetch_add(1, Ordering::SeqCst);
        let n: usize = prompt.split("exactly ").nth(1).and_then(|r| r.split(' ').next()?.parse().ok()).unwrap();
        let content = if fake.chat == Chat::Garbage {
            ") {1} {2} 1. [fennek] fennek, fennek is a fox. [1] [3]".to_owned()
        } else {
            let scenes: Vec<Value> = (1..=n)
                .map(|i| json!({"title": format!("Part {i} of Ruby's day"), "outline": OUTLINES[i - 1]}))
                .collect();
            json!({"title": "Ruby and the Secret Meadow", "scenes": scenes, "characters": [
                {"name": "Ruby", "kind": "fox", "look": RUBY},
                {"name": "Hoot", "kind": "owl", "look": "a round grey owl with a yellow bow"}]})
            .to_string()
        };
        let answer = json!({"choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
            "usage": {"completion_tokens": 42}});
        return axum::Json(answer).into_response();
    }
    assert_eq!(request["stream"], true, "scenes are streamed");
    let call = fake.scenes.fetch_add(1, Ordering::SeqCst);
    let text = SCENE;
    let mut events = vec![
        json!({"choices": [{"index": 0, "delta": {"role": "assistant", "content": null}, "finish_reason": null}]}),
    ];
    events.extend(
        text.split_inclusive(' ')
            .map(|w| json!({"choices": [{"index": 0, "delta": {"content": w}, "finish_reason": null}]})),
    );
    if call == 0 && fake.chat == Chat::Good {
        // Cut short: no finish, no [DONE].
        events.truncate(events.len() / 2);
        return trickle(sse(&events, false));
    }
    events.push(json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}));
    events.push(json!({"choices": [], "usage": {"completion_tokens": 100}}));
    trickle(sse(&events, true))
}

async fn images(State(fake): State<Arc<Fake>>, axum::Json(request): axum::Json<Value>) -> Response {
    fake.images.fetch_add(1, Ordering::SeqCst);
    let prompt = request["prompt"].as_str().unwrap();
    assert!(prompt.contains("children's book illustration"));
    fake.image_prompts.lock().unwrap().push(prompt.to_owned());
    let failure = fake.image_failures.lock().unwrap().pop_front();
    match failure {
        Some(429) => return (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "0")], "slow down").into_response(),
        // 200 with a body that is not JSON at all.
        Some(200) => return ([("content-type", "application/json")], "{\"data\": [{\"b64_json\": ").into_response(),
        Some(status) => return StatusCode::from_u16(status).unwrap().into_response(),
        None => {}
    }
    if fake.image_urls {
        let url = format!("{}/files/picture.png", fake.base.lock().unwrap());
        return axum::Json(json!({"created": 1, "data": [{"url": url}]})).into_response();
    }
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(png());
    axum::Json(json!({"created": 1, "data": [{"b64_json": b64}]})).into_response()
}

async fn speech(State(fake): State<Arc<Fake>>, axum::Json(request): axum::Json<Value>) -> Response {
    fake.speeches.fetch_add(1, Ordering::SeqCst);
    let input = request["input"].as_str().unwrap().to_owned();
    let bytes = mp3_for(&input);
    fake.speech_inputs.lock().unwrap().push(input);
    ([("content-type", "audio/mpeg")], bytes).into_response()
}

/// Flags one made-up phrase, as the moderation API documents its answer.
async fn moderations(axum::Json(request): axum::Json<Value>) -> axum::Json<Value> {
    let flagged = request["input"].as_str().unwrap().contains("purple monkey dishwasher");
    axum::Json(json!({"id": "modr-1", "model": request["model"], "results": [{
        "flagged": flagged,
        "categories": {"harassment": flagged, "violence": false, "sexual": false},
        "category_scores": {"harassment": if flagged { 0.9 } else { 0.01 }, "violence": 0.0, "sexual": 0.0},
    }]}))
}

pub(crate) async fn start_fake(fake: Fake) -> (Arc<Fake>, String) {
    let fake = Arc::new(fake);
    let app = Router::new()
        .route("/v1/chat/completions", post(chat))
        .route("/v1/images/generations", post(images))
        .route("/v1/audio/speech", post(speech))
        .route("/v1/models", get(|| async { axum::Json(json!({"object": "list", "data": []})) }))
        .route("/v1/moderations", post(moderations))
        .route("/files/picture.png", get(|| async { ([("content-type", "image/png")], png()) }))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    *fake.base.lock().unwrap() = base.clone();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (fake, format!("{base}/v1"))
}

pub(crate) fn fake(chat: Chat) -> Fake {
    Fake {
        chat,
        chats: AtomicU32::new(0),
        plans: AtomicU32::new(0),
        scenes: AtomicU32::new(0),
        images: AtomicU32::new(0),
        speeches: AtomicU32::new(0),
        image_failures: Mutex::new(VecDeque::new()),
        image_urls: false,
        base: Mutex::new(String::new()),
        speech_inputs: Mutex::new(Vec::new()),
        image_prompts: Mutex::new(Vec::new()),
        replies_dropped: Arc::new(AtomicU32::new(0)),
    }
}

pub(crate) fn openai_everywhere(c: &mut Config, base: &str) {
    c.providers.llm.kind = LlmKind::Openai;
    c.providers.image.kind = IllustratorKind::Openai;
    c.providers.speech.kind = NarratorKind::Openai;
    for url in [&mut c.providers.llm.base_url, &mut c.providers.image.base_url, &mut c.providers.speech.base_url] {
        *url = base.to_owned();
    }
    c.providers.llm.api_key = Some(Secret::new(KEY));
    c.providers.llm.model = "test-model".into();
    c.providers.speech.max_chars = 200;
    c.providers.retries = 5;
}

#[tokio::test]
async fn a_story_through_openai_compatible_apis_survives_their_bad_days() {
    let fake = fake(Chat::Good);
    fake.image_failures.lock().unwrap().extend([429, 500, 200, 503]);
    let (fake, base) = start_fake(fake).await;
    let app = spawn_app_with(|c| openai_everywhere(c, &base), Overrides::default()).await;
    let user = app.register("ada@example.com").await;
    let id = app.create_story(&user, json!({"prompt": "a fox named Ruby", "num_scenes": 2, "age": 7})).await;
    let status = app.wait_until_finished(&user, &id).await;
    assert_eq!(status["status"], "completed", "{status}");

    let detail: Value = app.get(&format!("/stories/{id}"), &user.token).await.json().await.unwrap();
    assert_eq!(detail["title"], "Ruby and the Secret Meadow", "the model's plan was used");
    assert_eq!(fake.plans.load(Ordering::SeqCst), 1, "structured output worked the first time");
    // Scene 1's first stream was cut short and asked again: 2 scenes, 3 streams.
    assert_eq!(fake.scenes.load(Ordering::SeqCst), 3);
    for scene in detail["scenes"].as_array().unwrap() {
        let text = scene["text"].as_str().unwrap();
        assert!(
            text.starts_with("Ruby the fox woke up") && (80..=160).contains(&text.split_whitespace().count()),
            "{text}"
        );
        let image = fetch(&app, scene["image_url"].as_str().unwrap()).await;
        assert_eq!(image.headers()["content-type"], "image/png");
        assert_eq!(image.bytes().await.unwrap().to_vec(), png());
        let audio = fetch(&app, scene["audio_url"].as_str().unwrap()).await.bytes().await.unwrap().to_vec();
        // Split into pieces of at most 200 characters, and joined back into one playable MP3.
        let expected: f64 = text.chars().count() as f64 / 10.0;
        let seconds = mp3_seconds(audio);
        assert!((seconds - expected).abs() < 0.5 + expected * 0.05, "{seconds:.2}s, expected {expected:.2}s");
    }
    let inputs = fake.speech_inputs.lock().unwrap().clone();
    assert!(inputs.len() >= 4 && inputs.iter().all(|i| i.chars().count() <= 200), "{inputs:?}");
    // Four failures (one a malformed answer), then a cover and two pictures.
    assert_eq!(fake.images.load(Ordering::SeqCst), 4 + 3);
    let metrics = app.metrics().await;
    assert!(metrics.contains("storymimi_llm_tokens_total{provider=\"openai\"} 242"), "{metrics}");
    let errors = metric_sum(&metrics, "storymimi_provider_errors_total", "kind=\"transient\"");
    assert_eq!(errors, 5.0, "4 image failures and 1 cut stream:\n{metrics}");
    let retried = |call: &str| {
        metric_sum(&metrics, "storymimi_provider_retries_total", &format!("call=\"{call}\",reason=\"error\""))
    };
    assert_eq!((retried("illustrate"), retried("scene")), (4.0, 1.0), "{metrics}");
    assert_eq!(detail["written_by"], json!({"writer": "model", "model_scenes": [1, 2], "offline_scenes": []}));
    // The model's character sheet, and every picture asked for with Ruby's look in its words.
    assert_eq!(detail["characters"][0], json!({"name": "Ruby", "kind": "fox", "look": RUBY}));
    let prompts = fake.image_prompts.lock().unwrap().clone();
    assert_eq!(prompts.len(), 7);
    for prompt in &prompts {
        assert!(prompt.contains(&format!("Ruby is {RUBY}.")), "{prompt}");
    }

    let ready: Value = fetch(&app, "/readyz").await.json().await.unwrap();
    for capability in ["llm", "illustrator", "narrator"] {
        assert_eq!(ready["providers"][capability]["kind"], "openai");
        assert_eq!(ready["providers"][capability]["available"], true, "{ready}");
    }
}

#[tokio::test]
async fn a_misbehaving_model_still_yields_a_finished_sensible_story() {
    let mut fake = fake(Chat::Garbage);
    fake.image_urls = true;
    let (fake, base) = start_fake(fake).await;
    let app = spawn_app_with(|c| openai_everywhere(c, &base), Overrides::default()).await;
    let user = app.register("ada@example.com").await;
    let id = app.create_story(&user, json!({"prompt": "a fox named Ruby in the forest", "num_scenes": 2})).await;
    assert_eq!(app.wait_until_finished(&user, &id).await["status"], "completed");
    // Asked, then asked again twice with the reason; then the offline storyteller wrote the
    // whole story, so its scenes were never asked of the model.
    assert_eq!(fake.plans.load(Ordering::SeqCst), 3);
    assert_eq!(fake.scenes.load(Ordering::SeqCst), 0);
    let detail: Value = app.get(&format!("/stories/{id}"), &user.token).await.json().await.unwrap();
    assert_eq!(detail["written_by"]["writer"], "offline");
    // The offline plan's sheet: its hero's look is in every picture request, word for word.
    let look = detail["characters"][0]["look"].as_str().unwrap();
    assert_eq!(detail["characters"][0]["name"], "Ruby");
    let prompts = fake.image_prompts.lock().unwrap().clone();
    assert!(prompts.len() == 3 && prompts.iter().all(|p| p.contains(&format!("Ruby is {look}."))), "{prompts:?}");
    for scene in detail["scenes"].as_array().unwrap() {
        let text = scene["text"].as_str().unwrap();
        assert!(text.contains("Ruby") && (60..=200).contains(&text.split_whitespace().count()), "{text}");
        // Pictures came as URLs and were fetched.
        assert_eq!(fetch(&app, scene["image_url"].as_str().unwrap()).await.bytes().await.unwrap().to_vec(), png());
    }
    let metrics = app.metrics().await;
    let parse = "call=\"plan\",reason=\"parse\"";
    assert_eq!(metric_sum(&metrics, "storymimi_provider_retries_total", parse), 2.0, "{metrics}");
    assert_eq!(metric_sum(&metrics, "storymimi_provider_fallbacks_total", parse), 1.0, "{metrics}");
}

#[tokio::test]
async fn a_refused_key_fails_the_story_at_once_with_a_reason_that_hides_the_key() {
    let (fake, base) = start_fake(fake(Chat::RefuseKey)).await;
    let app = spawn_app_with(|c| openai_everywhere(c, &base), Overrides::default()).await;
    let user = app.register("ada@example.com").await;
    let id = app.create_story(&user, json!({"prompt": "a fox", "num_scenes": 1})).await;
    let status = app.wait_until_finished(&user, &id).await;
    assert_eq!(status["status"], "failed");
    let error = status["error"].as_str().unwrap();
    assert!(error.contains("llm provider") && error.contains("401"), "{error}");
    assert!(!error.contains("0123456789abcdef"), "the key leaked: {error}");
    // 401 cannot succeed by asking again, nor by asking another way: one request in all.
    assert_eq!(fake.chats.load(Ordering::SeqCst), 1);
    let metrics = app.metrics().await;
    assert_eq!(metric_sum(&metrics, "storymimi_provider_errors_total", "kind=\"permanent\""), 1.0, "{metrics}");
    assert!(!metrics.contains("SECRET"), "{metrics}");
}

#[tokio::test]
async fn a_provider_that_does_not_answer_in_time_fails_the_story_retryably() {
    let (_fake, base) = start_fake(fake(Chat::Slow)).await;
    let app = spawn_app_with(
        |c| {
            openai_everywhere(c, &base);
            c.providers.timeout_secs = 1;
            c.providers.retries = 1;
        },
        Overrides::default(),
    )
    .await;
    let user = app.register("ada@example.com").await;
    let id = app.create_story(&user, json!({"prompt": "a fox", "num_scenes": 1})).await;
    let status = app.wait_until_finished(&user, &id).await;
    assert_eq!(status["status"], "failed");
    assert!(status["error"].as_str().unwrap().contains("did not answer in time"), "{status}");
}

#[tokio::test]
async fn readiness_says_which_provider_does_not_answer() {
    let app = spawn_app_with(
        |c| {
            // Nothing listens on port 9 (discard) here.
            c.providers.llm.kind = LlmKind::Openai;
            c.providers.llm.base_url = "http://127.0.0.1:9/v1".into();
        },
        Overrides::default(),
    )
    .await;
    let ready: Value = fetch(&app, "/readyz").await.json().await.unwrap();
    assert_eq!(ready["status"], "ready", "a provider being down does not take the service out");
    assert_eq!(ready["providers"]["llm"]["available"], false);
    assert!(ready["providers"]["llm"]["detail"].as_str().unwrap().contains("could not be reached"), "{ready}");
    assert_eq!(ready["providers"]["illustrator"]["kind"], "builtin");
}

#[tokio::test]
async fn the_agent_speaks_through_the_model_safely_and_cancel_closes_its_stream() {
    let (fake, base) = start_fake(fake(Chat::Good)).await;
    let app = spawn_app_with(|c| openai_everywhere(c, &base), Overrides::default()).await;
    let user = app.register("ada@example.com").await;
    let (mut ws, _, _) = crate::ws_client::connect(&app, &user).await;

    ws.say("a brave dragon called Pip").await;
    let (requirements, _) = ws.until("requirements").await;
    assert_eq!(requirements["characters"][0]["name"], "Pip", "what the child wants is still read deterministically");
    let (message, deltas) = ws.until("agent_message").await;
    assert_eq!(message["content"], "What a lovely idea! Tell me more about your hero.");
    let deltas: Vec<&str> =
        deltas.iter().filter(|e| e["type"] == "agent_delta").map(|e| e["delta"].as_str().unwrap()).collect();
    assert_eq!(
        deltas,
        ["What a lovely idea!", " Tell me more about your hero."],
        "released a whole sentence at a time"
    );

    // The model says something unkind: the child hears the builtin agent's words instead.
    ws.say("something rude please").await;
    let reply = ws.reply().await;
    assert!(!reply.contains("stupid") && !reply.is_empty(), "{reply}");
    let metrics = app.metrics().await;
    assert!(metrics.contains("path=\"agent_reply\""));
    let unsafe_reply = "storymimi_provider_fallbacks_total{call=\"reply\",reason=\"unsafe\"}";
    assert_eq!(metric_value(&metrics, unsafe_reply), Some(1.0), "{metrics}");

    // Cancel stops the model: its HTTP stream is closed, not left to run.
    ws.say("tell it slowly").await;
    ws.until("agent_delta").await;
    ws.send(json!({"type": "cancel"})).await;
    let (message, _) = ws.until("agent_message").await;
    assert_eq!(message["cancelled"], true);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while fake.replies_dropped.load(Ordering::SeqCst) == 0 {
        assert!(tokio::time::Instant::now() < deadline, "the model's stream was left running");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_moderation_api_is_a_second_opinion_and_its_absence_leaves_the_lists_in_charge() {
    let (_fake, base) = start_fake(fake(Chat::Good)).await;
    let app = spawn_app_with(
        |c| {
            c.providers.moderation.enabled = true;
            c.providers.moderation.base_url = base.clone();
        },
        Overrides::default(),
    )
    .await;
    let user = app.register("ada@example.com").await;
    let refused = app.post("/stories/", Some(&user.token), json!({"prompt": "a purple monkey dishwasher"})).await;
    let body = crate::helpers::assert_error(refused, reqwest::StatusCode::UNPROCESSABLE_ENTITY, "unsafe_content").await;
    assert_eq!(body["error"]["field"], "prompt");
    assert!(app.metrics().await.contains("concern=\"insult\",path=\"prompt\""));
    app.create_story(&user, json!({"prompt": "a happy monkey", "num_scenes": 1})).await;

    let app = spawn_app_with(
        |c| {
            c.providers.moderation.enabled = true;
            c.providers.moderation.base_url = "http://127.0.0.1:9/v1".into();
        },
        Overrides::default(),
    )
    .await;
    let user = app.register("ada@example.com").await;
    app.create_story(&user, json!({"prompt": "a happy monkey", "num_scenes": 1})).await;
    let refused = app.post("/stories/", Some(&user.token), json!({"prompt": "a monkey with a gun"})).await;
    assert_eq!(refused.status(), reqwest::StatusCode::UNPROCESSABLE_ENTITY, "the lists still hold");
    let seen = app.metrics().await;
    let unavailable = metric_value(&seen, "storymimi_moderation_unavailable_total ").unwrap_or(0.0);
    assert!(unavailable >= 1.0, "{seen}");
}
