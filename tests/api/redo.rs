//! Redo one page: `POST /stories/{id}/scenes/{n}/regenerate {hint?}` writes the page again
//! (text, picture, narration) with the story's plan and the pages around it as context; the old
//! page stays readable until the new one is stored, then the detail, its ETag, the bundle and
//! the events show the new one, and the old page's media are deleted. Its refusals (404, 409,
//! 422, 429) and the hint reaching a model are here; kill -9 mid-redo is in `crash.rs`.

use crate::helpers::{TestApp, User, assert_error, spawn_app_with};
use crate::media::fetch;
use crate::voice::{Script, start_model, through};
use crate::ws_client::connect;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;
use storymimi::Overrides;
use storymimi::config::NarratorKind;

pub(crate) async fn finished(app: &TestApp, user: &User, scenes: u8) -> Value {
    let id = app
        .create_story(user, json!({"prompt": "a brave dragon called Pip in the forest", "num_scenes": scenes}))
        .await;
    assert_eq!(app.wait_until_finished(user, &id).await["status"], "completed");
    app.get(&format!("/stories/{id}"), &user.token).await.json().await.unwrap()
}

fn regenerate(id: &str, sequence: u32) -> String {
    format!("/stories/{id}/scenes/{sequence}/regenerate")
}

/// The file under the media dir that a media URL names.
fn file_of(app: &TestApp, url: &str) -> std::path::PathBuf {
    app.config.media_dir().join(url.trim_start_matches("/media/").split('?').next().unwrap())
}

#[tokio::test]
async fn a_page_is_redone_and_the_old_one_stays_readable_until_the_new_one_is_stored() {
    let app = spawn_app_with(|c| c.providers.llm.builtin_delay_ms = 300, Overrides::default()).await;
    let user = app.register("ada@example.com").await;
    let before = finished(&app, &user, 3).await;
    let id = before["story_id"].as_str().unwrap();
    let etag = app.get(&format!("/stories/{id}"), &user.token).await.headers()["etag"].clone();
    let old = before["scenes"][1].clone();
    let (mut ws, _, _) = connect(&app, &user).await;

    let asked = app.post(&regenerate(id, 2), Some(&user.token), json!({"hint": "make the dragon bigger"})).await;
    assert_eq!(asked.status(), StatusCode::ACCEPTED);
    assert_eq!(asked.json::<Value>().await.unwrap(), json!({"story_id": id, "sequence": 2}));
    // Being redone: still complete and readable as it was.
    let meanwhile: Value = app.get(&format!("/stories/{id}"), &user.token).await.json().await.unwrap();
    assert_eq!((meanwhile["status"].as_str(), &meanwhile["scenes"][1]), (Some("completed"), &old));
    let again = app.post(&regenerate(id, 2), Some(&user.token), json!({})).await;
    assert_error(again, StatusCode::CONFLICT, "already_redoing").await;

    let (done, events) = ws.until("story_completed").await;
    assert_eq!(done["story_id"], id);
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert!(!kinds.contains(&"scene_delta"), "a page being redone is not streamed over the old one: {kinds:?}");
    assert_eq!(kinds.first(), Some(&"scene_text"), "{kinds:?}");
    assert_eq!(kinds.last(), Some(&"scene_ready"), "{kinds:?}");
    assert!(events.iter().all(|e| e["sequence"] == 2 || e["scene"]["sequence"] == 2), "{events:?}");
    let ready = &events.last().unwrap()["scene"];

    let after: Value = app.get(&format!("/stories/{id}"), &user.token).await.json().await.unwrap();
    let new = &after["scenes"][1];
    assert_eq!(new, ready, "the detail shows what scene_ready said");
    assert_ne!(new["scene_id"], old["scene_id"]);
    assert_ne!(new["text"], old["text"]);
    assert_ne!(new["image_url"], old["image_url"]);
    assert_eq!((&after["scenes"][0], &after["scenes"][2]), (&before["scenes"][0], &before["scenes"][2]));
    let fresh = app.client.get(app.url(&format!("/stories/{id}"))).bearer_auth(&user.token);
    assert_eq!(fresh.header("if-none-match", etag).send().await.unwrap().status(), StatusCode::OK, "a new ETag");
    assert_eq!(fetch(&app, new["image_url"].as_str().unwrap()).await.status(), StatusCode::OK);
    // The old page's files are gone; nothing else used them.
    for url in [&old["image_url"], &old["audio_url"]].into_iter().filter_map(Value::as_str) {
        assert!(!file_of(&app, url).exists(), "{url} was deleted");
        assert_eq!(fetch(&app, url).await.status(), StatusCode::NOT_FOUND);
    }
    let bytes = app.get(&format!("/stories/{id}/bundle"), &user.token).await.bytes().await.unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let bundled: Value = serde_json::from_reader(archive.by_name("story.json").unwrap()).unwrap();
    assert_eq!(bundled["scenes"][1]["text"], new["text"]);

    // Once done, the page can be redone again: another version.
    let next = app.post(&regenerate(id, 2), Some(&user.token), json!({})).await;
    assert_eq!(next.status(), StatusCode::ACCEPTED);
    ws.until("story_completed").await;
    let third: Value = app.get(&format!("/stories/{id}"), &user.token).await.json().await.unwrap();
    assert_ne!(third["scenes"][1]["text"], new["text"]);
}

#[tokio::test]
async fn a_redo_is_refused_clearly_and_limited_per_day() {
    let app = spawn_app_with(
        |c| {
            c.limits.max_redos_per_story_per_day = 2;
            c.limits.max_hint_chars = 40;
            c.providers.speech.kind = NarratorKind::None;
        },
        Overrides::default(),
    )
    .await;
    let user = app.register("ada@example.com").await;
    let other = app.register("bo@example.com").await;
    let story = finished(&app, &user, 2).await;
    let id = story["story_id"].as_str().unwrap();
    let post = |path: String, user: &User, body: Value| {
        let token = user.token.clone();
        let app = &app;
        async move { app.post(&path, Some(&token), body).await }
    };
    assert_error(post(regenerate(id, 3), &user, json!({})).await, StatusCode::NOT_FOUND, "not_found").await;
    assert_error(post(regenerate(id, 0), &user, json!({})).await, StatusCode::NOT_FOUND, "not_found").await;
    assert_error(post(regenerate(id, 1), &other, json!({})).await, StatusCode::NOT_FOUND, "not_found").await;
    let bad = app.post(&format!("/stories/{id}/scenes/one/regenerate"), Some(&user.token), json!({})).await;
    assert_error(bad, StatusCode::BAD_REQUEST, "bad_request").await;
    let unsafe_hint = post(regenerate(id, 1), &user, json!({"hint": "give the dragon a gun"})).await;
    let body = assert_error(unsafe_hint, StatusCode::UNPROCESSABLE_ENTITY, "unsafe_content").await;
    assert_eq!(body["error"]["field"], "hint");
    let long = post(regenerate(id, 1), &user, json!({"hint": "bigger ".repeat(10)})).await;
    assert_eq!(
        assert_error(long, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await["error"]["field"],
        "hint"
    );

    // A page can be asked for with no body at all.
    let bare = app.client.post(app.url(&regenerate(id, 1))).bearer_auth(&user.token).send().await.unwrap();
    assert_eq!(bare.status(), StatusCode::ACCEPTED);
    wait_redone(&app, &user, id, 1, &story["scenes"][0]["scene_id"]).await;
    assert_eq!(post(regenerate(id, 2), &user, json!({})).await.status(), StatusCode::ACCEPTED);
    let third = post(regenerate(id, 1), &user, json!({})).await;
    let retry_after: u64 = third.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((86_000..=86_400).contains(&retry_after), "until the oldest redo is a day old: {retry_after}");
    assert_error(third, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;

    // A story still being written: 409.
    let slow = spawn_app_with(|c| c.providers.llm.builtin_delay_ms = 500, Overrides::default()).await;
    let user = slow.register("ada@example.com").await;
    let id = slow.create_story(&user, json!({"prompt": "a sleepy owl", "num_scenes": 3})).await;
    slow.wait_for(&user, &id, 30, |s| s["scenes_done"].as_u64() >= Some(1)).await;
    let early = slow.post(&regenerate(&id, 1), Some(&user.token), json!({})).await;
    assert_error(early, StatusCode::CONFLICT, "not_completed").await;
}

/// Wait until page `sequence` of story `id` is no longer the scene `old_id`.
pub(crate) async fn wait_redone(app: &TestApp, user: &User, id: &str, sequence: usize, old_id: &Value) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let detail: Value = app.get(&format!("/stories/{id}"), &user.token).await.json().await.unwrap();
        if &detail["scenes"][sequence - 1]["scene_id"] != old_id {
            return detail;
        }
        assert!(tokio::time::Instant::now() < deadline, "page {sequence} was not redone");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_model_redoes_a_page_told_the_childs_hint_and_what_comes_next() {
    let (model, base) = start_model(Script::Good).await;
    let app = spawn_app_with(through(&base), Overrides::default()).await;
    let user = app.register("ada@example.com").await;
    let id = app.create_story(&user, json!({"prompt": "a fox named Ruby", "num_scenes": 3, "age": 7})).await;
    assert_eq!(app.wait_until_finished(&user, &id).await["status"], "completed");
    let before: Value = app.get(&format!("/stories/{id}"), &user.token).await.json().await.unwrap();
    let asked = app.post(&regenerate(&id, 2), Some(&user.token), json!({"hint": "  make the owl sing  "})).await;
    assert_eq!(asked.status(), StatusCode::ACCEPTED);
    let after = wait_redone(&app, &user, &id, 2, &before["scenes"][1]["scene_id"]).await;
    let asks = model.scene_asks(2);
    assert_eq!(asks.len(), 2, "written, then written again");
    let redo = &asks[1];
    assert!(redo.contains("because the child asked: \"make the owl sing\""), "{redo}");
    let next_opening = before["scenes"][2]["text"].as_str().unwrap().split_inclusive('.').next().unwrap();
    assert!(redo.contains(next_opening.trim()), "told what comes next: {redo}");
    assert_eq!(after["written_by"]["writer"], "model");
}
