//! Nobody can starve everyone else: stories in flight are capped per user, provider work is
//! shared round-robin between users, and sockets and conversation turns are capped per user.

use crate::helpers::{TestApp, User, assert_error, spawn_app_with};
use crate::ws_client::{Auth, connect, try_connect, ws_url};
use reqwest::StatusCode;
use serde_json::json;
use std::time::{Duration, Instant};
use storymimi::Overrides;
use storymimi::config::NarratorKind;

#[tokio::test]
async fn stories_in_flight_are_capped_per_user() {
    let app = spawn_app_with(|c| c.providers.llm.builtin_delay_ms = 200, Overrides::default()).await;
    let ada = app.register("ada@example.com").await;
    let mut accepted = Vec::new();
    for i in 0..3 {
        accepted.push(app.create_story(&ada, json!({"prompt": format!("owl story {i}"), "num_scenes": 2})).await);
    }
    let refused = app.post("/stories/", Some(&ada.token), json!({"prompt": "one more"})).await;
    assert_eq!(refused.headers()["retry-after"], "10");
    let body = assert_error(refused, StatusCode::TOO_MANY_REQUESTS, "too_many_stories").await;
    assert!(body["error"]["message"].as_str().unwrap().contains('3'), "{body}");
    // Another user is not affected.
    let bo = app.register("bo@example.com").await;
    app.create_story(&bo, json!({"prompt": "a fox", "num_scenes": 1})).await;
    // Once one is finished, there is room again.
    app.wait_until_finished(&ada, &accepted[0]).await;
    app.create_story(&ada, json!({"prompt": "now there is room", "num_scenes": 1})).await;
}

/// From asking to the story being complete.
async fn time_story(app: &TestApp, user: &User) -> Duration {
    let started = Instant::now();
    let id = app.create_story(user, json!({"prompt": "a quick frog", "num_scenes": 1})).await;
    app.wait_for(user, &id, 120, |s| s["status"] == "completed").await;
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_users_burst_does_not_starve_another() {
    let app = spawn_app_with(
        |c| {
            // Model calls long enough that waiting for them, not the machine's CPU (shared with
            // other tests and A's pictures), decides B's time: fairness is about the queue.
            c.providers.llm.builtin_delay_ms = 150;
            c.providers.speech.kind = NarratorKind::None;
            // Let A queue far more work than the providers can do at once.
            c.limits.max_stories_in_flight_per_user = 60;
        },
        Overrides::default(),
    )
    .await;
    let (a, b) = (app.register("a@example.com").await, app.register("b@example.com").await);
    // Medians of three, before and during: other tests share the machine's two cores.
    let mut alone = Vec::new();
    for _ in 0..3 {
        alone.push(time_story(&app, &b).await);
    }
    let mut burst = Vec::new();
    for i in 0..60 {
        burst.push(app.create_story(&a, json!({"prompt": format!("a long owl story {i}"), "num_scenes": 3})).await);
    }
    let mut meanwhile = Vec::new();
    for _ in 0..3 {
        meanwhile.push(time_story(&app, &b).await);
    }
    alone.sort();
    meanwhile.sort();
    let (solo, during) = (alone[1], meanwhile[1]);
    let status =
        app.get(&format!("/stories/{}/status", burst[59]), &a.token).await.json::<serde_json::Value>().await.unwrap();
    assert_ne!(status["status"], "completed", "A's burst was still being written when B's story finished");
    eprintln!("fairness: B alone {solo:?}, during A's burst of 60 {during:?}");
    assert!(during < solo * 3, "B's story took {during:?} during A's burst, {solo:?} alone");
}

#[tokio::test]
async fn sockets_per_user_are_capped() {
    let app = spawn_app_with(|c| c.ws.max_sockets_per_user = 2, Overrides::default()).await;
    let user = app.register("ada@example.com").await;
    let (first, _, _) = connect(&app, &user).await;
    let (_second, _, _) = connect(&app, &user).await;
    let refused = try_connect(&ws_url(&app, &user.id), Auth::Header(&user.token), &[]).await.err();
    assert_eq!(refused, Some(StatusCode::TOO_MANY_REQUESTS));
    drop(first);
    let deadline = Instant::now() + Duration::from_secs(5);
    while try_connect(&ws_url(&app, &user.id), Auth::Header(&user.token), &[]).await.is_err() {
        assert!(Instant::now() < deadline, "the closed socket's slot never came back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn conversation_turns_per_minute_are_capped_across_sockets() {
    let app = spawn_app_with(|c| c.conversation.turns_per_minute = 6, Overrides::default()).await;
    let user = app.register("ada@example.com").await;
    let (mut phone, _, _) = connect(&app, &user).await;
    let (mut tablet, _, _) = connect(&app, &user).await;
    for i in 0..3 {
        phone.say(&format!("hello {i}")).await;
        phone.reply().await;
        tablet.say(&format!("hi {i}")).await;
        tablet.reply().await;
    }
    tablet.say("one too many").await;
    let refused = tablet.until("error").await.0;
    assert_eq!(refused["code"], "rate_limited", "{refused}");
    let metrics = app.metrics().await;
    assert!(metrics.contains("storymimi_ws_frames_rejected_total{reason=\"turn_rate\"} 1"), "{metrics}");
}
