//! The stories API: creation, validation, idempotency, reading, listing, ownership, deletion.

use crate::helpers::{assert_error, spawn_app, spawn_app_with};
use reqwest::StatusCode;
use serde_json::{Value, json};
use storymimi::Overrides;

#[tokio::test]
async fn a_story_is_written_scene_by_scene_to_completion() {
    let app = spawn_app().await;
    let user = app.register("ada@example.com").await;
    let id = app
        .create_story(&user, json!({"prompt": "a brave dragon called Pip who is afraid of the dark", "num_scenes": 4, "style": "fantasy"}))
        .await;
    let status = app.wait_until_finished(&user, &id).await;
    assert_eq!(
        status,
        json!({"story_id": id, "status": "completed", "stage": "done", "scenes_done": 4, "scenes_total": 4, "error": null})
    );

    let detail: Value = app.get(&format!("/stories/{id}"), &user.token).await.json().await.unwrap();
    assert_eq!(detail["status"], "completed");
    assert_eq!(detail["user_id"], user.id.as_str());
    assert_eq!(detail["style"], "fantasy");
    assert!(!detail["title"].as_str().unwrap().is_empty());
    let scenes = detail["scenes"].as_array().unwrap();
    let sequences: Vec<i64> = scenes.iter().map(|s| s["sequence"].as_i64().unwrap()).collect();
    assert_eq!(sequences, [1, 2, 3, 4]);
    for scene in scenes {
        let text = scene["text"].as_str().unwrap();
        assert!(text.contains("Pip"), "{text}");
        assert!(scene["scene_id"].as_str().is_some() && scene["title"].as_str().is_some());
        assert!(scene.get("image_url").is_some() && scene.get("audio_url").is_some());
    }
    assert!(scenes[0]["text"].as_str().unwrap().contains("dragon"));
}

#[tokio::test]
async fn trailing_slashes_are_optional() {
    let app = spawn_app().await;
    let user = app.register("ada@example.com").await;
    let with = app.post("/stories/", Some(&user.token), json!({"prompt": "a fox"})).await;
    let without = app.post("/stories", Some(&user.token), json!({"prompt": "a fox"})).await;
    assert_eq!((with.status(), without.status()), (StatusCode::ACCEPTED, StatusCode::ACCEPTED));
    let id = with.json::<Value>().await.unwrap()["story_id"].as_str().unwrap().to_owned();
    assert_eq!(app.get(&format!("/stories/{id}/"), &user.token).await.status(), StatusCode::OK);
    assert_eq!(app.get(&format!("/stories/{id}/status/"), &user.token).await.status(), StatusCode::OK);
    assert_eq!(app.get("/users/me/", &user.token).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn creation_answers_202_with_a_lowercase_status() {
    let app = spawn_app().await;
    let user = app.register("ada@example.com").await;
    let response = app.post("/stories/", Some(&user.token), json!({"prompt": "a robot", "user_id": user.id})).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "pending");
    let someone_else =
        app.post("/stories/", Some(&user.token), json!({"prompt": "a robot", "user_id": uuid::Uuid::new_v4()})).await;
    assert_error(someone_else, StatusCode::FORBIDDEN, "forbidden").await;
    let anonymous = app.client.post(app.url("/stories/")).json(&json!({"prompt": "a robot"})).send().await.unwrap();
    assert_error(anonymous, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

#[tokio::test]
async fn invalid_requests_get_clear_errors() {
    let app = spawn_app_with(
        |c| {
            c.limits.max_prompt_chars = 50;
            c.http.max_body_bytes = 1024
        },
        Overrides::default(),
    )
    .await;
    let user = app.register("ada@example.com").await;
    let cases = [
        (json!({"prompt": "   "}), "prompt"),
        (json!({"prompt": "x".repeat(51)}), "prompt"),
        (json!({"prompt": "a fox", "num_scenes": 0}), "num_scenes"),
        (json!({"prompt": "a fox", "num_scenes": 13}), "num_scenes"),
        (json!({"prompt": "a fox", "style": "horror"}), "style"),
        (json!({"prompt": "a fox", "age": 99}), "age"),
        (json!({"prompt": "a fox", "language": "klingon please"}), "language"),
    ];
    for (body, field) in cases {
        let response = app.post("/stories/", Some(&user.token), body.clone()).await;
        let error = assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(error["error"]["field"], field, "{body}");
    }
    let no_prompt = app.post("/stories/", Some(&user.token), json!({"title": "x"})).await;
    assert_error(no_prompt, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let wrong_type = app.post("/stories/", Some(&user.token), json!({"prompt": "a fox", "num_scenes": "five"})).await;
    assert_error(wrong_type, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;

    let huge = app.post("/stories/", Some(&user.token), json!({"prompt": "y".repeat(4096)})).await;
    assert_error(huge, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    let malformed = app
        .client
        .post(app.url("/stories/"))
        .bearer_auth(&user.token)
        .header("content-type", "application/json")
        .body("{\"prompt\": ")
        .send()
        .await
        .unwrap();
    assert_error(malformed, StatusCode::BAD_REQUEST, "bad_request").await;
    let not_json =
        app.client.post(app.url("/stories/")).bearer_auth(&user.token).body("prompt=fox").send().await.unwrap();
    assert_error(not_json, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type").await;
    let bad_id = app.get("/stories/not-a-uuid", &user.token).await;
    assert_error(bad_id, StatusCode::BAD_REQUEST, "bad_request").await;
}

#[tokio::test]
async fn idempotency_key_returns_the_same_story() {
    let app = spawn_app().await;
    let ada = app.register("ada@example.com").await;
    let bo = app.register("bo@example.com").await;
    let send = |token: String, body: Value| {
        let request =
            app.client.post(app.url("/stories/")).bearer_auth(token).header("Idempotency-Key", "tap-42").json(&body);
        async move { request.send().await.unwrap() }
    };
    let body = json!({"prompt": "a penguin who loves jelly", "num_scenes": 2});
    let first = send(ada.token.clone(), body.clone()).await;
    assert_eq!(first.status(), StatusCode::ACCEPTED);
    let first_id = first.json::<Value>().await.unwrap()["story_id"].clone();
    let again = send(ada.token.clone(), body.clone()).await;
    assert_eq!(again.status(), StatusCode::ACCEPTED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.json::<Value>().await.unwrap()["story_id"], first_id);

    let changed = send(ada.token.clone(), json!({"prompt": "something else"})).await;
    assert_error(changed, StatusCode::CONFLICT, "idempotency_key_reused").await;
    // Keys are per user.
    let other = send(bo.token.clone(), body).await;
    assert_ne!(other.json::<Value>().await.unwrap()["story_id"], first_id);
    let list: Value = app.get(&format!("/users/{}/stories", ada.id), &ada.token).await.json().await.unwrap();
    assert_eq!(list["stories"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn detail_has_an_etag_and_answers_304() {
    let app = spawn_app().await;
    let user = app.register("ada@example.com").await;
    let id = app.create_story(&user, json!({"prompt": "a cat detective", "num_scenes": 1})).await;
    app.wait_until_finished(&user, &id).await;
    let first = app.get(&format!("/stories/{id}"), &user.token).await;
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    assert!(etag.starts_with('"'));
    let again = app
        .client
        .get(app.url(&format!("/stories/{id}")))
        .bearer_auth(&user.token)
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(again.headers()["etag"], etag.as_str());
}

#[tokio::test]
async fn lists_are_newest_first_and_paginated() {
    let app = spawn_app().await;
    let user = app.register("ada@example.com").await;
    let mut ids = Vec::new();
    for prompt in ["a fox", "a bear", "an owl"] {
        ids.push(app.create_story(&user, json!({"prompt": prompt, "num_scenes": 1})).await);
    }
    let path = format!("/users/{}/stories", user.id);
    let page: Value = app.get(&format!("{path}?limit=2"), &user.token).await.json().await.unwrap();
    let got: Vec<&str> = page["stories"].as_array().unwrap().iter().map(|s| s["story_id"].as_str().unwrap()).collect();
    assert_eq!(got, [ids[2].as_str(), ids[1].as_str()]);
    let cursor = page["next_cursor"].as_str().unwrap();
    let next: Value = app.get(&format!("{path}?limit=2&cursor={cursor}"), &user.token).await.json().await.unwrap();
    assert_eq!(next["stories"][0]["story_id"], ids[0].as_str());
    assert!(next["next_cursor"].is_null());
    assert_error(
        app.get(&format!("{path}?limit=0"), &user.token).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_error(app.get(&format!("{path}?cursor=%%%"), &user.token).await, StatusCode::BAD_REQUEST, "bad_request")
        .await;
}

#[tokio::test]
async fn other_users_cannot_see_or_touch_a_story() {
    let app = spawn_app().await;
    let ada = app.register("ada@example.com").await;
    let bo = app.register("bo@example.com").await;
    let id = app.create_story(&ada, json!({"prompt": "a secret story", "num_scenes": 1})).await;
    for path in [format!("/stories/{id}"), format!("/stories/{id}/status")] {
        assert_error(app.get(&path, &bo.token).await, StatusCode::NOT_FOUND, "not_found").await;
    }
    assert_error(app.delete(&format!("/stories/{id}"), &bo.token).await, StatusCode::NOT_FOUND, "not_found").await;
    assert_error(
        app.post(&format!("/stories/{id}/retry"), Some(&bo.token), json!({})).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(app.get(&format!("/users/{}/stories", ada.id), &bo.token).await, StatusCode::FORBIDDEN, "forbidden")
        .await;
    // Still there for its owner.
    assert_eq!(app.get(&format!("/stories/{id}"), &ada.token).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn deleting_a_story_removes_it() {
    let app = spawn_app().await;
    let user = app.register("ada@example.com").await;
    let id = app.create_story(&user, json!({"prompt": "a short one", "num_scenes": 2})).await;
    app.wait_until_finished(&user, &id).await;
    assert_eq!(app.delete(&format!("/stories/{id}"), &user.token).await.status(), StatusCode::NO_CONTENT);
    assert_error(app.get(&format!("/stories/{id}"), &user.token).await, StatusCode::NOT_FOUND, "not_found").await;
    let list: Value = app.get(&format!("/users/{}/stories", user.id), &user.token).await.json().await.unwrap();
    assert!(list["stories"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn only_failed_stories_can_be_retried() {
    let app = spawn_app().await;
    let user = app.register("ada@example.com").await;
    let id = app.create_story(&user, json!({"prompt": "a happy ending", "num_scenes": 1})).await;
    app.wait_until_finished(&user, &id).await;
    let retry = app.post(&format!("/stories/{id}/retry"), Some(&user.token), json!({})).await;
    assert_error(retry, StatusCode::CONFLICT, "not_failed").await;
}
