//! One story, one rendering: `GET /stories/{id}`, the bundle's `story.json` and the
//! WebSocket's `scene_ready.scene` say the same, field by field; conditional requests follow
//! one rule; a story is counted the same however it was started.

use crate::helpers::{TestApp, User, metric_value, spawn_app};
use crate::ws_client::connect;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A story created over REST while a socket listens: the detail and every `scene_ready`.
async fn story_with_live_scenes(app: &TestApp, user: &User) -> (Value, Vec<Value>) {
    let (mut ws, _, _) = connect(app, user).await;
    let id = app.create_story(user, json!({"prompt": "a penguin named Pebble on the ice", "num_scenes": 3})).await;
    let (_, events) = ws.until("story_completed").await;
    let live = events.into_iter().filter(|e| e["type"] == "scene_ready").map(|e| e["scene"].clone()).collect();
    let detail = app.get(&format!("/stories/{id}"), &user.token).await.json().await.unwrap();
    (detail, live)
}

#[tokio::test]
async fn the_detail_the_bundle_and_the_live_scenes_are_one_rendering() {
    let app = spawn_app().await;
    let user = app.register("ada@example.com").await;
    let (detail, live) = story_with_live_scenes(&app, &user).await;
    assert_eq!(detail["status"], "completed");
    // `scene_ready.scene` is exactly an element of the detail's `scenes`.
    assert_eq!(detail["scenes"].as_array().unwrap(), &live);

    let id = detail["story_id"].as_str().unwrap();
    let bytes = app.get(&format!("/stories/{id}/bundle"), &user.token).await.bytes().await.unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let bundled: Value = serde_json::from_reader(archive.by_name("story.json").unwrap()).unwrap();
    // The same fields with the same values, except that media URLs are paths in the archive.
    let relative = |url: &Value, path: &str| {
        let (url, local) = (url.as_str().unwrap(), path);
        let extension = url.split('?').next().unwrap().rsplit('.').next().unwrap();
        assert_eq!(local.rsplit('.').next().unwrap(), extension, "{local} keeps the type of {url}");
    };
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&bundled), keys(&detail));
    let offline = json!({"writer": "offline", "model_scenes": [], "offline_scenes": [1, 2, 3]});
    assert_eq!(bundled["written_by"], offline, "the builtin storyteller wrote it, and the bundle says so");
    for (field, value) in detail.as_object().unwrap() {
        match field.as_str() {
            "cover_image_url" => {
                let path = bundled[field].as_str().unwrap();
                assert!(path.starts_with("cover."), "{path}");
                relative(value, path);
            }
            "scenes" => {
                for (live, local) in value.as_array().unwrap().iter().zip(bundled["scenes"].as_array().unwrap()) {
                    assert_eq!(keys(live), keys(local));
                    for (key, v) in live.as_object().unwrap() {
                        match key.as_str() {
                            "image_url" => relative(v, local[key].as_str().unwrap()),
                            "audio_url" if v.is_null() => assert!(local[key].is_null()),
                            "audio_url" => relative(v, local[key].as_str().unwrap()),
                            _ => assert_eq!(&local[key], v, "scene field {key}"),
                        }
                    }
                }
            }
            _ => assert_eq!(&bundled[field], value, "field {field}"),
        }
    }
}

#[tokio::test]
async fn a_weak_etag_from_a_proxy_still_gets_304_everywhere() {
    let app = spawn_app().await;
    let user = app.register("ada@example.com").await;
    let id = app.create_story(&user, json!({"prompt": "a frog", "num_scenes": 1})).await;
    app.wait_until_finished(&user, &id).await;
    let first = app.get(&format!("/stories/{id}"), &user.token).await;
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    let detail: Value = first.json().await.unwrap();
    let media = detail["scenes"][0]["image_url"].as_str().unwrap().to_owned();
    for (path, token) in [(format!("/stories/{id}"), Some(&user.token)), (media.clone(), None)] {
        let tag = if token.is_some() {
            etag.clone()
        } else {
            app.client.get(app.url(&path)).send().await.unwrap().headers()["etag"].to_str().unwrap().to_owned()
        };
        let mut request = app.client.get(app.url(&path)).header("if-none-match", format!("W/{tag}"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        assert_eq!(request.send().await.unwrap().status(), StatusCode::NOT_MODIFIED, "{path}");
    }
}

#[tokio::test]
async fn stories_started_in_a_conversation_are_counted_like_rest_ones() {
    let app = spawn_app().await;
    let user = app.register("ada@example.com").await;
    let pending = "storymimi_story_status_transitions_total{status=\"pending\"}";
    assert_eq!(metric_value(&app.metrics().await, pending), Some(0.0), "exported from the start");
    let (mut ws, _, _) = connect(&app, &user).await;
    for line in ["a brave dragon called Pip", "in a castle", "make it funny", "two parts"] {
        ws.say(line).await;
        ws.reply().await;
    }
    ws.send(json!({"type": "start_story"})).await;
    ws.until("story_completed").await;
    assert_eq!(metric_value(&app.metrics().await, pending), Some(1.0));
    app.create_story(&user, json!({"prompt": "a frog", "num_scenes": 1})).await;
    assert_eq!(metric_value(&app.metrics().await, pending), Some(2.0));
}
