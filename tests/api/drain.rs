//! A deploy that loses nothing, with the real binary and real signals. On SIGTERM readiness
//! fails at once, the port stays open and new requests and upgrades are asked to come back
//! (503 + `Retry-After`) while the process drains; what happened during the drain is replayed by
//! the restarted process with `resumed: true`. After kill -9, `resumed: false` stays the honest
//! answer, and REST still has the story.

use crate::binary::{Server, start as start_binary_with};
use crate::resume::{Form, resume_at};
use crate::ws_client::{Auth, refused, try_connect};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

fn env() -> Vec<(&'static str, &'static str)> {
    vec![
        // Each story step takes 4 s: the drain waits for the one in flight.
        ("STORYMIMI_BUILTIN_LLM_DELAY_MS", "4000"),
        // A reply takes seconds to say: the child is still hearing it when the signal comes.
        ("STORYMIMI_AGENT_DELTA_DELAY_MS", "400"),
        ("STORYMIMI_NARRATOR", "none"),
    ]
}

fn sigterm(server: &Server) {
    assert!(crate::binary::signal(&server.child, libc::SIGTERM), "the server is running");
}

fn ws_url(server: &Server, user: &str) -> String {
    format!("{}/conversation/{user}", server.base.replacen("http", "ws", 1))
}

/// A 503 `unavailable` that says when to come back.
async fn assert_come_back_later(response: reqwest::Response) {
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let retry_after: Option<u64> =
        response.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
    assert!(retry_after.is_some_and(|s| s >= 1), "Retry-After: {retry_after:?}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unavailable", "{body}");
}

#[tokio::test]
async fn a_sigterm_drain_answers_503_and_the_next_process_replays_what_it_did() {
    let data = tempfile::tempdir().unwrap();
    let mut server = start_binary_with(data.path(), &env());
    let registered = server.register("correct horse battery").await;
    let token = registered["access_token"].as_str().unwrap().to_owned();
    let user = registered["user_id"].as_str().unwrap().to_owned();
    let url = ws_url(&server, &user);
    let mut ws = try_connect(&url, Auth::Header(&token), &[]).await.unwrap();
    let story =
        server.post_json("/stories/", Some(&token), json!({"prompt": "an owl called Hoot", "num_scenes": 2})).await;
    let story = story["story_id"].as_str().unwrap().to_owned();
    // Planning has begun (4 s): the drain will wait for it.
    let (_, before) = ws.until("story_started").await;
    ws.say("a brave dragon called Pip").await;
    let (delta, more) = ws.until("agent_delta").await;
    let mut received: Vec<Value> = before.into_iter().chain(more).chain([delta.clone()]).collect();

    sigterm(&server);
    // Readiness fails at once, on a port that still answers.
    let fresh = reqwest::Client::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    loop {
        let ready = fresh.get(format!("{}/readyz", server.base)).send().await.expect("an answer, not a refusal");
        if ready.status() == StatusCode::SERVICE_UNAVAILABLE {
            assert_eq!(ready.json::<Value>().await.unwrap()["status"], "draining");
            let machine = fresh.get(format!("{}/readyz/machine", server.base)).send().await.unwrap();
            assert_eq!(machine.status(), StatusCode::SERVICE_UNAVAILABLE, "the proxy routes away too");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "readiness still {}", ready.status());
    }
    // New requests and WebSocket upgrades are asked to come back.
    let status = fresh.get(format!("{}/stories/{story}/status", server.base)).bearer_auth(&token).send().await;
    assert_come_back_later(status.expect("an answer, not a refusal")).await;
    let upgrade = refused(&url, &token).await;
    assert_eq!(upgrade.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(upgrade.headers().contains_key("retry-after"), "{:?}", upgrade.headers());
    // The open socket is told the server is going away.
    while let Some(event) = ws.try_next_event(Duration::from_secs(10)).await {
        received.push(event);
    }
    assert_eq!(ws.close, Some(Some(1001)));
    let highest = received.iter().filter_map(|e| e["seq"].as_u64()).max().unwrap();
    assert!(!received.iter().any(|e| e["type"] == "agent_message"), "the reply was cut off by the close");
    assert!(server.child.wait().unwrap().success(), "a clean exit");

    // The next process replays what the drain did: the reply, said whole.
    let mut server = start_binary_with(data.path(), &env());
    let (mut ws, replayed, session) = resume_at(&ws_url(&server, &user), &token, highest, Form::Query).await;
    assert_eq!(session["resumed"], true, "{session}");
    let seqs: Vec<u64> = replayed.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(seqs.first().is_some_and(|first| *first == highest + 1), "{seqs:?}");
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    let message = replayed.iter().find(|e| e["type"] == "agent_message").expect("the reply of the drain");
    assert_eq!(message["message_id"], delta["message_id"]);
    assert!(message["content"].as_str().unwrap().ends_with('?'), "said whole: {message}");

    // kill -9 keeps nothing: the next process cannot vouch for what this one sent.
    ws.say("in a snowy castle").await;
    let (reply, _) = ws.until("agent_message").await;
    let highest = reply["seq"].as_u64().unwrap();
    drop(ws);
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let server = start_binary_with(data.path(), &env());
    let (_, replayed, session) = resume_at(&ws_url(&server, &user), &token, highest, Form::Query).await;
    assert!(replayed.is_empty(), "{replayed:?}");
    assert_eq!(session["resumed"], false, "{session}");
    // Refetching over REST finds the story.
    let detail = server.get_json(&format!("/stories/{story}"), &token).await;
    assert_eq!(detail["story_id"], story.as_str());
    let mut server = server;
    server.child.kill().unwrap();
    server.child.wait().unwrap();
}
