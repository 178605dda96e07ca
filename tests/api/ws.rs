//! The conversation WebSocket: handshake, protocol errors, limits, fan-out, passivation, slow
//! consumers, and a whole conversation to a finished story (resume is in `resume.rs`).

use crate::helpers::{spawn_app, spawn_app_with};
use crate::ws_client::{Auth, connect, try_connect, ws_url};
use futures_util::SinkExt;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;
use storymimi::Overrides;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};

fn kinds(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn a_whole_conversation_ends_in_a_story_streamed_scene_by_scene() {
    let app = spawn_app().await;
    let user = app.register("ada@example.com").await;
    let (mut ws, session, requirements) = connect(&app, &user).await;
    assert_eq!(session["resumed"], false);
    assert_eq!(requirements["ready"], false);

    ws.say("hello!").await;
    assert!(ws.reply().await.contains("Who should our story be about"));
    ws.say("a brave dragon called Pip").await;
    let (req, _) = ws.until("requirements").await;
    assert_eq!(req["characters"][0], json!({"name": "Pip", "kind": "dragon", "role": "hero"}));
    assert!(ws.reply().await.contains("Where does Pip the dragon live"));
    ws.say("in a snowy mountain castle").await;
    ws.reply().await;
    ws.say("make it funny").await;
    ws.reply().await;
    ws.say("three parts please").await;
    let (req, _) = ws.until("requirements").await;
    assert_eq!(req["ready"], true);
    assert_eq!(req["missing"], json!([]));
    assert!(ws.reply().await.contains("Shall I make it?"));

    ws.say("yes!").await;
    // Confirmation, then the story arrives scene by scene.
    let (started, _) = ws.until("story_started").await;
    let story_id = started["story_id"].as_str().unwrap().to_owned();
    let (completed, events) = ws.until("story_completed").await;
    assert_eq!(completed["story_id"], story_id.as_str());
    let scenes: Vec<&Value> = events.iter().filter(|e| e["type"] == "scene_ready").collect();
    let sequences: Vec<i64> = scenes.iter().map(|e| e["scene"]["sequence"].as_i64().unwrap()).collect();
    assert_eq!(sequences, [1, 2, 3]);
    let progress = events.iter().rfind(|e| e["type"] == "story_progress").unwrap();
    assert_eq!((progress["scenes_done"].as_u64(), progress["scenes_total"].as_u64()), (Some(3), Some(3)));
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "sequence numbers increase: {seqs:?}");

    // The REST detail says the same.
    let detail: Value = app.get(&format!("/stories/{story_id}"), &user.token).await.json().await.unwrap();
    assert_eq!(detail["status"], "completed");
    assert_eq!(detail["style"], "funny");
    for (rest, live) in detail["scenes"].as_array().unwrap().iter().zip(&scenes) {
        assert_eq!(rest["text"], live["scene"]["text"]);
        assert_eq!(rest["scene_id"], live["scene"]["scene_id"]);
    }
    assert!(detail["scenes"][0]["text"].as_str().unwrap().contains("Pip"));
}

#[tokio::test]
async fn the_three_ways_to_authenticate_and_the_rejections() {
    let app = spawn_app().await;
    let ada = app.register("ada@example.com").await;
    let bo = app.register("bo@example.com").await;
    let url = ws_url(&app, &ada.id);

    let header = try_connect(&url, Auth::Header(&ada.token), &[]).await.expect("bearer header");
    assert!(header.response.headers().get("sec-websocket-protocol").is_none(), "nothing offered, nothing echoed");
    let seed = try_connect(&url, Auth::Subprotocol(&ada.token), &[]).await.expect("seed subprotocol form");
    assert_eq!(seed.response.headers()["sec-websocket-protocol"], "Authorization", "echo one offered protocol");
    try_connect(&url, Auth::Query(&ada.token), &[]).await.expect("query token");

    assert_eq!(try_connect(&url, Auth::None, &[]).await.err(), Some(StatusCode::UNAUTHORIZED));
    assert_eq!(try_connect(&url, Auth::Header("garbage"), &[]).await.err(), Some(StatusCode::UNAUTHORIZED));
    assert_eq!(
        try_connect(&url, Auth::Header(&bo.token), &[]).await.err(),
        Some(StatusCode::FORBIDDEN),
        "another user's id"
    );
    let evil = [("origin", "https://evil.example")];
    assert_eq!(try_connect(&url, Auth::Header(&ada.token), &evil).await.err(), Some(StatusCode::FORBIDDEN));
    let own = app.base.clone();
    try_connect(&url, Auth::Header(&ada.token), &[("origin", own.as_str())]).await.expect("the service's own origin");
    let other_scheme = own.replacen("http://", "https://", 1);
    assert_eq!(
        try_connect(&url, Auth::Header(&ada.token), &[("origin", other_scheme.as_str())]).await.err(),
        Some(StatusCode::FORBIDDEN),
        "same host, other scheme: another origin"
    );

    // Offering only `Bearer <token>`: the handshake goes through, and the token is not echoed.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(app.base.trim_start_matches("http://")).await.unwrap();
    let handshake = format!(
        "GET /conversation/{} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Protocol: Bearer {}\r\n\r\n",
        ada.id, ada.token
    );
    tcp.write_all(handshake.as_bytes()).await.unwrap();
    let mut head = vec![0u8; 2048];
    let n = tcp.read(&mut head).await.unwrap();
    let head = String::from_utf8_lossy(&head[..n]);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(!head.contains(&ada.token), "the token came back in a header: {head}");
}

#[tokio::test]
async fn allowed_origins_are_configurable() {
    let app =
        spawn_app_with(|c| c.ws.allowed_origins = vec!["https://app.storymimi.example".into()], Overrides::default())
            .await;
    let ada = app.register("ada@example.com").await;
    let url = ws_url(&app, &ada.id);
    let origin = [("origin", "https://app.storymimi.example")];
    try_connect(&url, Auth::Header(&ada.token), &origin).await.expect("listed origin");
}

#[tokio::test]
async fn protocol_errors_are_events_and_the_connection_stays_open() {
    let app = spawn_app().await;
    let user = app.register("ada@example.com").await;
    let (mut ws, _, _) = connect(&app, &user).await;
    let cases: [(Message, &str); 4] = [
        (Message::text("{not json"), "bad_json"),
        (Message::text(r#"{"type":"dance"}"#), "unknown_type"),
        (Message::text(r#"{"type":"user_message"}"#), "invalid_message"),
        (Message::binary(vec![1u8, 2, 3]), "binary_not_supported"),
    ];
    for (message, code) in cases {
        ws.socket.send(message).await.unwrap();
        let event = ws.next_event().await;
        assert_eq!((event["type"].as_str(), event["code"].as_str()), (Some("error"), Some(code)), "{event}");
        assert!(event.get("seq").is_none() && event["timestamp"].is_string(), "per-socket: no seq: {event}");
    }
    ws.send(json!({"type": "ping"})).await;
    assert_eq!(ws.next_event().await["type"], "pong");
}

#[tokio::test]
async fn oversize_messages_close_with_1009_even_when_fragmented() {
    let app = spawn_app_with(|c| c.ws.max_message_bytes = 1024, Overrides::default()).await;
    let user = app.register("ada@example.com").await;

    let (mut ws, _, _) = connect(&app, &user).await;
    ws.say(&"x".repeat(2000)).await;
    assert_eq!(ws.closed().await, Some(1009));

    // Each fragment is small; together they are over the limit.
    let (mut ws, _, _) = connect(&app, &user).await;
    let part = "y".repeat(600);
    ws.socket.send(Message::Frame(Frame::message(part.clone(), OpCode::Data(Data::Text), false))).await.unwrap();
    ws.socket.send(Message::Frame(Frame::message(part, OpCode::Data(Data::Continue), true))).await.unwrap();
    assert_eq!(ws.closed().await, Some(1009));

    // A fragmented message within the limit is reassembled.
    let (mut ws, _, _) = connect(&app, &user).await;
    ws.socket.send(Message::Frame(Frame::message(r#"{"type":"#, OpCode::Data(Data::Text), false))).await.unwrap();
    ws.socket.send(Message::Frame(Frame::message(r#""ping"}"#, OpCode::Data(Data::Continue), true))).await.unwrap();
    assert_eq!(ws.next_event().await["type"], "pong");
}

#[tokio::test]
async fn flooding_is_rate_limited_then_closed() {
    let app = spawn_app_with(
        |c| {
            c.ws.rate_per_sec = 2.0;
            c.ws.burst = 3;
            c.ws.max_strikes = 3;
        },
        Overrides::default(),
    )
    .await;
    let user = app.register("ada@example.com").await;
    let (mut ws, _, _) = connect(&app, &user).await;
    for _ in 0..10 {
        ws.send(json!({"type": "ping"})).await;
    }
    let mut codes = Vec::new();
    while let Some(event) = ws.try_next_event(Duration::from_secs(5)).await {
        codes.push(event["code"].as_str().unwrap_or(event["type"].as_str().unwrap()).to_owned());
    }
    // The burst passes, then each message is refused, then the flooding client is closed.
    assert_eq!(codes, ["pong", "pong", "pong", "rate_limited", "rate_limited", "rate_limited", "rate_limited"]);
    assert_eq!(ws.closed().await, Some(1008));
    let metrics = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("storymimi_ws_frames_rejected_total{reason=\"rate_limited\"} 4"), "{metrics}");
}

#[tokio::test]
async fn every_socket_of_a_user_gets_the_events() {
    let app = spawn_app().await;
    let user = app.register("ada@example.com").await;
    let other = app.register("bo@example.com").await;
    let (mut phone, _, _) = connect(&app, &user).await;
    let (mut tablet, _, _) = connect(&app, &user).await;
    let (mut stranger, _, _) = connect(&app, &other).await;
    phone.say("a sleepy owl called Hoot").await;
    let (on_phone, before_phone) = phone.until("agent_message").await;
    let (on_tablet, before_tablet) = tablet.until("agent_message").await;
    assert_eq!(on_phone, on_tablet);
    assert_eq!(kinds(&before_phone), kinds(&before_tablet));
    assert!(stranger.try_next_event(Duration::from_millis(300)).await.is_none(), "other users hear nothing");
}

#[tokio::test]
async fn stories_created_over_rest_stream_to_open_sockets() {
    let app = spawn_app().await;
    let user = app.register("ada@example.com").await;
    let (mut ws, _, _) = connect(&app, &user).await;
    let id = app.create_story(&user, json!({"prompt": "a penguin named Pebble", "num_scenes": 2})).await;
    let (started, _) = ws.until("story_started").await;
    assert_eq!(started["story_id"], id.as_str());
    let (_, events) = ws.until("story_completed").await;
    let ready: Vec<i64> = events
        .iter()
        .filter(|e| e["type"] == "scene_ready")
        .map(|e| e["scene"]["sequence"].as_i64().unwrap())
        .collect();
    assert_eq!(ready, [1, 2]);
}

/// The builtin agent's words stream a few at a time when paced; unpaced (no typing pause) they
/// are one delta, the whole reply. Either way the deltas spell the message.
#[tokio::test]
async fn a_reply_is_one_delta_unpaced_and_chunks_when_paced() {
    for (delay_ms, one_delta) in [(0, true), (1, false)] {
        let app = spawn_app_with(|c| c.conversation.agent_delta_delay_ms = delay_ms, Overrides::default()).await;
        let user = app.register("ada@example.com").await;
        let (mut ws, _, _) = connect(&app, &user).await;
        ws.say("hello").await;
        let (message, before) = ws.until("agent_message").await;
        let deltas: Vec<&str> =
            before.iter().filter(|e| e["type"] == "agent_delta").map(|e| e["delta"].as_str().unwrap()).collect();
        assert_eq!(deltas.concat(), message["content"].as_str().unwrap(), "delay {delay_ms} ms");
        assert_eq!(deltas.len() == 1, one_delta, "delay {delay_ms} ms: {deltas:?}");
    }
}

#[tokio::test]
async fn cancel_stops_a_streaming_reply() {
    let app = spawn_app_with(|c| c.conversation.agent_delta_delay_ms = 100, Overrides::default()).await;
    let user = app.register("ada@example.com").await;
    let (mut ws, _, _) = connect(&app, &user).await;
    ws.say("hello").await;
    let (delta, _) = ws.until("agent_delta").await;
    ws.send(json!({"type": "cancel"})).await;
    let (message, deltas) = ws.until("agent_message").await;
    assert_eq!(message["cancelled"], true);
    assert_eq!(message["message_id"], delta["message_id"]);
    let content = message["content"].as_str().unwrap();
    assert!(content.len() < "Hi, I'm Mimi! Let's make a story together.".len(), "cut short: {content:?}");
    assert!(deltas.len() <= 1);
}

#[tokio::test]
async fn a_passivated_conversation_comes_back_with_its_draft() {
    let app = spawn_app_with(|c| c.conversation.idle_secs = 1, Overrides::default()).await;
    let user = app.register("ada@example.com").await;
    let (mut ws, _, _) = connect(&app, &user).await;
    ws.say("a unicorn called Luna in the forest").await;
    ws.reply().await;
    drop(ws);

    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let metrics = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
        if metrics.contains("storymimi_actors_alive{kind=\"conversation\"} 0") {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "conversation was not passivated");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, _, requirements) = connect(&app, &user).await;
    assert_eq!(requirements["characters"][0]["name"], "Luna");
    assert_eq!(requirements["setting"], "forest");
}

#[tokio::test]
async fn a_slow_consumer_is_disconnected_while_others_keep_working() {
    let app = spawn_app_with(
        |c| {
            c.ws.outbound_queue = 64;
            c.ws.write_timeout_secs = 1;
            c.ws.rate_per_sec = 100_000.0;
            c.ws.burst = 100_000;
        },
        Overrides::default(),
    )
    .await;
    let slow_user = app.register("slow@example.com").await;
    let fast_user = app.register("fast@example.com").await;
    let mut slow = crate::ws_client::connect_small_window(&app, &slow_user).await;
    let (mut fast, _, _) = connect(&app, &fast_user).await;
    slow.say("hello").await;
    // The first event of the reply (the greeting's session and requirements carry no seq).
    let first = loop {
        let event = slow.next_event().await;
        if event["seq"].is_u64() {
            break event;
        }
    };
    slow.until("agent_message").await;

    // Each resume replays the reply's events; the slow client asks again and again, never reading.
    let resume = Message::text(json!({"type": "resume", "last_seq": first["seq"].as_u64().unwrap() - 1}).to_string());
    for _ in 0..20_000 {
        if slow.socket.feed(resume.clone()).await.is_err() {
            break;
        }
    }
    let _ = slow.socket.flush().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let metrics = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
        if metrics.contains("storymimi_ws_outbound_dropped_total 1") {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "slow consumer not dropped:\n{metrics}");
        // Meanwhile the other client is served normally.
        fast.send(json!({"type": "ping"})).await;
        assert_eq!(fast.next_event().await["type"], "pong");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The slow socket is gone for good (within the write timeout), the fast one still works.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let metrics = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
        if metrics.contains("storymimi_ws_connections 1\n")
            && metrics.contains("storymimi_actors_alive{kind=\"connection\"} 1\n")
        {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "slow socket still open:\n{metrics}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    fast.send(json!({"type": "ping"})).await;
    assert_eq!(fast.next_event().await["type"], "pong");
}

#[tokio::test]
async fn shutdown_closes_sockets_with_going_away() {
    let app = spawn_app().await;
    let user = app.register("ada@example.com").await;
    let (mut ws, _, _) = connect(&app, &user).await;
    let stopping = tokio::spawn(app.stop());
    assert_eq!(ws.closed().await, Some(1001));
    stopping.await.unwrap();
}

#[tokio::test]
async fn conversation_history_keeps_what_the_child_said() {
    let app = spawn_app().await;
    let user = app.register("ada@example.com").await;
    let other = app.register("bo@example.com").await;
    let (mut ws, _, _) = connect(&app, &user).await;
    for line in ["a robot called Bolt", "on the moon", "make it a mystery"] {
        ws.say(line).await;
        ws.reply().await;
    }
    let history: Value =
        app.get(&format!("/conversation/{}/history?limit=2", user.id), &user.token).await.json().await.unwrap();
    let texts: Vec<&str> = history.as_array().unwrap().iter().map(|t| t["text"].as_str().unwrap()).collect();
    assert_eq!(texts, ["make it a mystery", "on the moon"]);
    assert_eq!(history[0]["requirements"]["style"], "mystery");

    let saved = app
        .post(
            &format!("/conversation/{}/transcripts/", user.id),
            Some(&user.token),
            json!({"text": "said offline", "requirements": {"style": "funny"}}),
        )
        .await;
    assert_eq!(saved.status(), StatusCode::CREATED);
    let history: Value =
        app.get(&format!("/conversation/{}/history", user.id), &user.token).await.json().await.unwrap();
    assert_eq!(history[0]["text"], "said offline");
    assert_eq!(history.as_array().unwrap().len(), 4);
    let denied = app.get(&format!("/conversation/{}/history", user.id), &other.token).await;
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);
    // Requirements are an object (schemathesis found a string accepted and served back).
    let path = format!("/conversation/{}/transcripts", user.id);
    let wrong = app.post(&path, Some(&user.token), json!({"text": "hi", "requirements": "funny"})).await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let empty =
        app.post(&format!("/conversation/{}/transcripts", user.id), Some(&user.token), json!({"text": " "})).await;
    assert_eq!(empty.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_silent_peer_is_closed_after_the_idle_timeout() {
    let app = spawn_app_with(
        |c| {
            c.ws.ping_interval_secs = 1;
            c.ws.idle_timeout_secs = 2;
        },
        Overrides::default(),
    )
    .await;
    let user = app.register("ada@example.com").await;
    let (mut ws, _, _) = connect(&app, &user).await;
    // Neither reading (so no pong goes back to the server's pings) nor writing: the server
    // closes after the idle timeout. Watch for its close frame without reading.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !ws.close_frame_waiting().await {
        assert!(tokio::time::Instant::now() < deadline, "the idle socket was not closed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(ws.closed().await, Some(1000));
    drop(ws);
    // After the closing handshake the socket is gone.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let metrics = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
        if metrics.contains("storymimi_ws_connections 0") {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{metrics}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn signing_out_closes_the_users_sockets() {
    let app = spawn_app().await;
    let user = app.register("ada@example.com").await;
    let (mut phone, _, _) = connect(&app, &user).await;
    let (mut tablet, _, _) = connect(&app, &user).await;
    let out = app.post("/auth/logout", None, json!({"refresh_token": user.refresh})).await;
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    assert_eq!(phone.closed().await, Some(1008));
    assert_eq!(tablet.closed().await, Some(1008));
}

/// A safety check with a bug: it panics on one word, taking the conversation actor down.
struct PanicsOn(&'static str);

#[async_trait::async_trait]
impl actors::ports::Safety for PanicsOn {
    async fn check(&self, text: &str) -> Option<actors::ports::Concern> {
        assert!(!text.contains(self.0), "a bug in the safety check");
        None
    }
    fn redact(&self, text: &str) -> String {
        text.to_owned()
    }
}

#[tokio::test]
async fn a_crashed_conversation_closes_every_socket_with_1011_and_comes_back_with_its_draft() {
    // It panics on the requirements the agent extracts: after the child's message was stored.
    let overrides = Overrides { safety: Some(std::sync::Arc::new(PanicsOn("Kaboom\nfox"))), ..Overrides::default() };
    let app = spawn_app_with(|_| {}, overrides).await;
    let user = app.register("ada@example.com").await;
    let (mut phone, _, _) = connect(&app, &user).await;
    let (mut tablet, _, _) = connect(&app, &user).await;
    phone.say("a fox called Ruby").await;
    phone.reply().await;
    tablet.reply().await;

    phone.say("actually a fox called Kaboom").await;
    // Neither socket is left open and silent: both are told to reconnect.
    assert_eq!(phone.closed().await, Some(1011));
    assert_eq!(tablet.closed().await, Some(1011));

    let (mut again, session, requirements) = connect(&app, &user).await;
    assert_eq!(session["type"], "session");
    assert_eq!(requirements["characters"][0]["name"], "Ruby", "the draft came back: {requirements}");
    // The message that crashed it had been stored before the agent ran.
    let history: Value =
        app.get(&format!("/conversation/{}/history?limit=1", user.id), &user.token).await.json().await.unwrap();
    assert_eq!(history[0]["text"], "actually a fox called Kaboom");
    again.say("in the forest").await;
    assert!(again.reply().await.contains('?'));
    let metrics = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("storymimi_actors_alive{kind=\"conversation\"} 1\n"), "counted once: {metrics}");
}

/// The app resends a message it saw no answer to, with the same `client_id`: a message this
/// conversation has answered is stored once and not answered again, also by a conversation
/// rehydrated from the database after it was passivated.
#[tokio::test]
async fn a_resent_message_counts_once() {
    let app = spawn_app_with(|c| c.conversation.idle_secs = 1, Overrides::default()).await;
    let user = app.register("ada@example.com").await;
    let (mut ws, _, _) = connect(&app, &user).await;
    let message = json!({"type": "user_message", "content": "a brave dragon called Pip", "client_id": "m1"});
    ws.send(message.clone()).await;
    assert!(ws.reply().await.contains("Pip"));
    ws.send(message.clone()).await;
    assert!(ws.try_next_event(Duration::from_millis(500)).await.is_none(), "a resend is not answered again");
    drop(ws);
    let passivated = "storymimi_actors_alive{kind=\"conversation\"} 0";
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !app.metrics().await.contains(passivated) {
        assert!(tokio::time::Instant::now() < deadline, "the conversation was not passivated");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (mut ws, _, _) = connect(&app, &user).await;
    ws.send(message).await;
    assert!(ws.try_next_event(Duration::from_millis(500)).await.is_none(), "nor after rehydration");
    let history: Value =
        app.get(&format!("/conversation/{}/history", user.id), &user.token).await.json().await.unwrap();
    assert_eq!(history.as_array().unwrap().len(), 1, "{history}");
}
