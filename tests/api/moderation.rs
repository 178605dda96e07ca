//! A moderation service that accepts and never answers must not freeze a conversation: every
//! check has a total timeout, after which the builtin filter decides alone (counted), and the
//! service is left alone for a while instead of being waited on again for every check.

use crate::helpers::{metric_value, spawn_app_with};
use crate::ws_client::connect;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};
use storymimi::Overrides;

/// A server that accepts connections and reads requests but never answers; counts connections.
async fn hung_server() -> (Arc<AtomicU32>, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/v1", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicU32::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            held.push(socket);
        }
    });
    (accepted, base)
}

#[tokio::test]
async fn a_hung_moderation_service_delays_a_reply_by_its_timeout_at_most() {
    let (accepted, base) = hung_server().await;
    let timeout = Duration::from_millis(500);
    let app = spawn_app_with(
        |c| {
            c.providers.moderation.enabled = true;
            c.providers.moderation.base_url = base.clone();
            c.providers.moderation.timeout_ms = timeout.as_millis() as u64;
        },
        Overrides::default(),
    )
    .await;
    let user = app.register("ada@example.com").await;
    let (mut ws, _, _) = connect(&app, &user).await;

    let asked = Instant::now();
    ws.say("a fox called Ruby").await;
    let reply = ws.reply().await;
    let took = asked.elapsed();
    assert!(reply.contains("Ruby"), "{reply}");
    assert!(took < timeout + Duration::from_secs(1), "the reply took {took:?} with a {timeout:?} moderation timeout");
    assert!(accepted.load(Ordering::SeqCst) >= 1, "the moderation service was asked");
    let seen = app.metrics().await;
    assert!(metric_value(&seen, "storymimi_moderation_timeouts_total ").unwrap_or(0.0) >= 1.0, "{seen}");

    // The lists still decide alone, on every path, and quickly.
    ws.say("a cat who wants to hit his sister").await;
    assert!(ws.reply().await.contains("kind"));
    let asked = Instant::now();
    let response = app.post("/stories/", Some(&user.token), json!({"prompt": "a happy monkey", "num_scenes": 1})).await;
    assert_eq!(response.status(), reqwest::StatusCode::ACCEPTED);
    assert!(asked.elapsed() < timeout + Duration::from_secs(1), "REST waited {:?}", asked.elapsed());
}
