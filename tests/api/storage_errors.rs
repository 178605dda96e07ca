//! Each kind of storage failure reaches the client as the README documents it, over HTTP and in
//! a WebSocket `error` event, driven by real failures: a deleted account (a foreign key), a
//! write lock another connection holds on the database file (busy), a media store that does
//! not answer (unavailable). A full volume is `disk.rs` (it mounts a tmpfs).

use crate::helpers::{assert_error, spawn_app, spawn_app_with};
use crate::ws_client::connect;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;
use storymimi::Overrides;
use storymimi::config::{MediaBackend, NarratorKind, Secret};

/// What the database holds of what `user` said: their turns in conversations and transcripts.
async fn rows_of(app: &crate::helpers::TestApp, user: &str) -> i64 {
    let db = storymimi::db::Db::open(&app.config.db_path(), 1).await.unwrap();
    let conn = db.reader().await;
    let sql = "SELECT (SELECT COUNT(*) FROM conversation_turns WHERE user_id = ?1 AND speaker = 'child')
                    + (SELECT COUNT(*) FROM transcripts WHERE user_id = ?1)";
    conn.query(sql, [user]).await.unwrap().next().await.unwrap().unwrap().get(0).unwrap()
}

#[tokio::test]
async fn a_deleted_account_is_told_it_no_longer_exists_and_nothing_is_stored() {
    let app = spawn_app().await;
    let user = app.register("gone@example.com").await;
    let (mut ws, _, _) = connect(&app, &user).await;
    let db = storymimi::db::Db::open(&app.config.db_path(), 1).await.unwrap();
    db.writer().await.execute("DELETE FROM users WHERE id = ?1", [user.id.clone()]).await.unwrap();

    // Its token is still valid, but every write refers to a user that is gone.
    let transcripts = format!("/conversation/{}/transcripts", user.id);
    let posted = app.post(&transcripts, Some(&user.token), json!({"text": "a fox in the snow"})).await;
    assert!(posted.headers().contains_key("www-authenticate"));
    let body = assert_error(posted, StatusCode::UNAUTHORIZED, "unauthorized").await;
    assert_eq!(body["error"]["message"], "this account no longer exists");
    let created = app.post("/stories/", Some(&user.token), json!({"prompt": "a fox"})).await;
    assert_error(created, StatusCode::UNAUTHORIZED, "unauthorized").await;

    ws.say("a dragon called Pip").await;
    let event = ws.next_event().await;
    assert_eq!((event["type"].as_str(), event["code"].as_str()), (Some("error"), Some("unauthorized")), "{event}");
    assert_eq!(rows_of(&app, &user.id).await, 0);
}

#[tokio::test]
async fn a_write_lock_held_by_another_connection_answers_busy_and_the_message_can_be_sent_again() {
    let app = spawn_app().await;
    let user = app.register("ada@example.com").await;
    let (mut ws, _, _) = connect(&app, &user).await;
    // Another connection to the database file (as another process would be) takes the write lock.
    let other = libsql::Builder::new_local(app.config.db_path()).build().await.unwrap();
    let holder = other.connect().unwrap();
    holder.execute("BEGIN IMMEDIATE", ()).await.unwrap();

    // The server waits out its busy timeout (5 s), then says so.
    ws.say("a dragon called Pip").await;
    let event = ws.try_next_event(Duration::from_secs(30)).await.expect("an answer");
    assert_eq!((event["type"].as_str(), event["code"].as_str()), (Some("error"), Some("busy")), "{event}");
    let body = json!({"email": "bo@example.com", "password": "correct horse battery"});
    let refused = app.post("/auth/register", None, body.clone()).await;
    assert_eq!(refused.headers().get("retry-after").map(|v| v.as_bytes()), Some(&b"1"[..]));
    assert_error(refused, StatusCode::SERVICE_UNAVAILABLE, "busy").await;
    assert_eq!(rows_of(&app, &user.id).await, 0, "the refused message was not half-stored");

    holder.execute("ROLLBACK", ()).await.unwrap();
    assert_eq!(app.post("/auth/register", None, body).await.status(), StatusCode::CREATED);
    ws.say("a dragon called Pip").await;
    assert!(!ws.reply().await.is_empty(), "sent again, it is answered");
    assert_eq!(rows_of(&app, &user.id).await, 1, "stored once");
}

#[tokio::test]
async fn a_media_store_that_does_not_answer_is_unavailable_and_stories_wait_for_it() {
    // An S3 endpoint where nothing listens.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let app = spawn_app_with(
        |c| {
            c.storage.backend = MediaBackend::S3;
            c.storage.s3_bucket = Some("storymimi-media".into());
            c.storage.s3_region = Some("us-east-1".into());
            c.storage.s3_endpoint = Some(format!("http://127.0.0.1:{port}"));
            c.storage.s3_access_key_id = Some(Secret::new("test"));
            c.storage.s3_secret_access_key = Some(Secret::new("test"));
            c.providers.speech.kind = NarratorKind::None;
            c.storage.retry_ms = 100;
        },
        Overrides::default(),
    )
    .await;
    let links = storymimi::media_links::MediaUrls::from_config(&app.config);
    let key = format!("ab/{}.png", "ab".repeat(32));
    let fetched = app.client.get(app.url(&actors::ports::MediaLinks::link(&links, &key))).send().await.unwrap();
    assert_eq!(fetched.headers().get("retry-after").map(|v| v.as_bytes()), Some(&b"5"[..]));
    assert_error(fetched, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let ready: Value = ready.json().await.unwrap();
    assert_eq!(ready["reason"], "the media store does not answer (unavailable)", "{ready}");
    // Every machine shares the store: routing away from this one would help no one, so the
    // machine check (Fly's routing) neither fails on it nor waits for it.
    let machine: Value = app.client.get(app.url("/readyz/machine")).send().await.unwrap().json().await.unwrap();
    assert_eq!(machine["status"], "ready", "{machine}");
    assert!(machine["checks"].get("media").is_none(), "{machine}");

    // A story cannot store its pictures: it waits for the store instead of failing.
    let user = app.register("ada@example.com").await;
    let id = app.create_story(&user, json!({"prompt": "an owl", "num_scenes": 1})).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let status: Value = app.get(&format!("/stories/{id}/status"), &user.token).await.json().await.unwrap();
    assert_eq!((status["status"].as_str(), status["scenes_done"].as_u64()), (Some("processing"), Some(0)), "{status}");
}

#[tokio::test]
async fn a_story_whose_stored_rows_are_corrupt_fails_instead_of_waiting_for_ever() {
    let app = spawn_app_with(|c| c.providers.llm.builtin_delay_ms = 2_000, Overrides::default()).await;
    let user = app.register("ada@example.com").await;
    let id = app.create_story(&user, json!({"prompt": "an owl", "num_scenes": 3})).await;
    let (config, data) = app.stop().await; // left unfinished, to be adopted at the next start
    // A scene that does not read back (a sequence no scene can have): waiting cannot cure that.
    let db = storymimi::db::Db::open(&config.db_path(), 1).await.unwrap();
    db.writer()
        .await
        .execute(
            "INSERT INTO scenes (id, story_id, sequence, title, text, created_at) VALUES ('x', ?1, -1, 't', 't', 'now')",
            [id.clone()],
        )
        .await
        .unwrap();
    drop(db);

    let app = crate::helpers::start(config, data, Overrides::default()).await;
    let status = app.wait_for(&user, &id, 30, |s| s["status"] != "processing" && s["status"] != "pending").await;
    assert_eq!(status["status"], "failed", "{status}");
    assert!(status["error"].as_str().is_some_and(|e| !e.is_empty()), "{status}");
}
