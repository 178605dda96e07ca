//! Scene text as it is written, over a real socket: each scene's checked sentences
//! (`scene_delta`), then its whole text (`scene_text`), then each medium as it is stored
//! (`scene_media`), then `scene_ready` as before, all in the replayable stream; a model's text
//! that fails a check is never shown, and a scene written again after it was shown comes whole
//! in a `scene_text` that replaces it.

use crate::helpers::{TestApp, User, metric_value, spawn_app_with};
use crate::resume::{Form, resume};
use crate::voice::{Script, start_model, through};
use crate::ws_client::{Ws, connect};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use storymimi::Overrides;

/// Every event of the user's stream until `story_completed`, the socket having been open from
/// before the story was asked for.
async fn story_events(app: &TestApp, user: &User, ws: &mut Ws, body: Value) -> Vec<Value> {
    app.create_story(user, body).await;
    let (done, mut events) = ws.until("story_completed").await;
    events.push(done);
    events
}

/// The events about scene `sequence`, in the order they came.
fn of_scene(events: &[Value], sequence: u64) -> Vec<&Value> {
    events
        .iter()
        .filter(|e| e["sequence"].as_u64() == Some(sequence) || e["scene"]["sequence"].as_u64() == Some(sequence))
        .collect()
}

fn deltas(events: &[&Value]) -> String {
    events.iter().filter(|e| e["type"] == "scene_delta").map(|e| e["delta"].as_str().unwrap()).collect()
}

fn one<'a>(events: &[&'a Value], kind: &str) -> &'a Value {
    let found: Vec<&&Value> = events.iter().filter(|e| e["type"] == kind).collect();
    assert_eq!(found.len(), 1, "one {kind}: {events:?}");
    found[0]
}

#[tokio::test]
async fn each_scene_is_shown_as_it_is_written_then_whole_then_its_media_then_ready() {
    let app = spawn_app_with(|c| c.providers.llm.builtin_delay_ms = 120, Overrides::default()).await;
    let user = app.register("ada@example.com").await;
    let (mut ws, session, _) = connect(&app, &user).await;
    let before = session["last_seq"].as_u64().unwrap();
    let body = json!({"prompt": "a brave dragon called Pip in the forest", "num_scenes": 3});
    let events = story_events(&app, &user, &mut ws, body).await;
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().expect("every story event has a seq")).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in the order of the stream");

    let id = events[0]["story_id"].as_str().unwrap();
    let detail: Value = app.get(&format!("/stories/{id}"), &user.token).await.json().await.unwrap();
    let narrated = !detail["scenes"][0]["audio_url"].is_null();
    for sequence in 1..=3 {
        let scene = of_scene(&events, sequence);
        let kinds: Vec<&str> = scene.iter().map(|e| e["type"].as_str().unwrap()).collect();
        let text_at = kinds.iter().position(|k| *k == "scene_text").unwrap();
        let (first_media, ready_at) = (kinds.iter().position(|k| *k == "scene_media").unwrap(), kinds.len() - 1);
        assert!(
            kinds[..text_at].len() >= 3 && kinds[..text_at].iter().all(|k| *k == "scene_delta"),
            "scene {sequence}: sentences first, one at a time: {kinds:?}"
        );
        assert!(text_at < first_media && kinds[ready_at] == "scene_ready", "scene {sequence}: {kinds:?}");
        let (text, ready) = (one(&scene, "scene_text"), &one(&scene, "scene_ready")["scene"]);
        let shown = deltas(&scene);
        // What was shown is the beginning of the scene, whole sentences each.
        assert!(text["text"].as_str().unwrap().starts_with(&shown), "scene {sequence}: {shown:?} / {text}");
        for delta in scene.iter().filter(|e| e["type"] == "scene_delta") {
            let sentence = delta["delta"].as_str().unwrap().trim_end();
            assert!(sentence.ends_with(['.', '!', '?', '"']), "a whole sentence: {sentence:?}");
        }
        assert_eq!((&text["text"], &text["title"]), (&ready["text"], &ready["title"]), "scene {sequence}");
        assert_eq!(ready, &detail["scenes"][sequence as usize - 1], "scene_ready unchanged");
        let media: Vec<&&Value> = scene.iter().filter(|e| e["type"] == "scene_media").collect();
        assert_eq!(media.len(), if narrated { 2 } else { 1 }, "one event per medium: {media:?}");
        let image = media.iter().find(|m| m.get("image_url").is_some()).expect("the picture's own event");
        assert_eq!(image["image_url"], ready["image_url"]);
        assert!(image.get("audio_url").is_none(), "only what was stored: {image}");
        if narrated {
            let audio = media.iter().find(|m| m.get("audio_url").is_some()).unwrap();
            assert_eq!(audio["audio_url"], ready["audio_url"]);
        }
    }
    let metrics = app.metrics().await;
    assert_eq!(metric_value(&metrics, "storymimi_story_first_text_seconds_count"), Some(1.0), "{metrics}");

    // Replayed on resume, exactly as they came.
    let (_ws, replayed, session) = resume(&app, &user, before, Form::Query).await;
    assert_eq!(session["resumed"], true);
    let kinds = |list: &[Value]| list.iter().map(|e| (e["seq"].clone(), e["type"].clone())).collect::<Vec<_>>();
    let replayed: Vec<Value> = replayed.into_iter().filter(|e| e["seq"].as_u64() >= seqs.first().copied()).collect();
    assert_eq!(kinds(&replayed), kinds(&events));
    for (again, first) in replayed.iter().zip(&events) {
        assert_eq!(again.get("delta"), first.get("delta"));
    }
}

#[tokio::test]
async fn a_models_text_that_fails_a_check_is_never_shown_and_a_rewrite_replaces_what_was() {
    let (_model, base) = start_model(Script::EachRuleOnce).await;
    let app = spawn_app_with(through(&base), Overrides::default()).await;
    let user = app.register("ada@example.com").await;
    let (mut ws, _, _) = connect(&app, &user).await;
    let body = json!({"prompt": "a fox named Ruby", "num_scenes": 5, "age": 7});
    let events = story_events(&app, &user, &mut ws, body).await;
    let texts: BTreeMap<u64, &Value> =
        events.iter().filter(|e| e["type"] == "scene_text").map(|e| (e["sequence"].as_u64().unwrap(), e)).collect();

    // Scene 1 first had an unsafe sentence in its middle: the sentences before it were shown,
    // it never was, and the rewrite went on from what was shown (the same beginning).
    let scene = of_scene(&events, 1);
    let shown = deltas(&scene);
    assert!(shown.contains("singing.") && shown.contains("She stretched") && !shown.contains("beer"), "{shown}");
    let whole = texts[&1]["text"].as_str().unwrap();
    assert!(whole.starts_with(&shown) && !whole.contains("beer"), "{whole}");

    // Scene 2 was first too short: its first sentence was shown, then the text was rejected
    // and written again; the new text does not go on from what was shown, so nothing more was
    // streamed and `scene_text` replaces it.
    let scene = of_scene(&events, 2);
    let shown = deltas(&scene);
    assert_eq!(shown, "Ruby the fox woke up.", "{scene:?}");
    let whole = texts[&2]["text"].as_str().unwrap();
    assert!(!whole.starts_with(&shown) && whole.split_whitespace().count() >= 80, "{whole}");
    let kinds: Vec<&str> = scene.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(&kinds[..2], ["scene_delta", "scene_text"], "replaced, never appended to");

    // Scene 5 was first told by "I" from its third sentence on: that was never shown.
    let shown = deltas(&of_scene(&events, 5));
    assert!(shown.contains("singing.") && !shown.contains("I stretched"), "{shown}");
    for (sequence, text) in &texts {
        let ready = events.iter().find(|e| e["type"] == "scene_ready" && e["scene"]["sequence"] == *sequence);
        assert_eq!(ready.unwrap()["scene"]["text"], text["text"]);
    }
}
