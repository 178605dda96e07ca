//! Resume keeps its word: `session {resumed: true}` whenever every event after the client's
//! `last_seq` can be delivered — none missed on a fresh server, a conversation passivated and
//! loaded again, a graceful restart —, `false` only when events were really lost. Both ways of
//! resuming (`?last_seq=` and `resume {last_seq}`) end the same way: the missed events, then
//! the `session` that answers. (A SIGTERM drain and kill -9 are in `drain.rs`.)

use crate::helpers::{TestApp, User, spawn_app, spawn_app_with, start};
use crate::ws_client::{Auth, Ws, connect, try_connect, ws_url};
use serde_json::{Value, json};
use std::time::Duration;
use storymimi::Overrides;

/// The two ways of resuming.
#[derive(Clone, Copy, Debug)]
pub enum Form {
    /// `GET /conversation/{id}?last_seq=N`
    Query,
    /// `{"type": "resume", "last_seq": N}` on an open socket
    Message,
}

const BOTH: [Form; 2] = [Form::Query, Form::Message];

/// Resume at `last_seq` on a new socket: the socket, the events replayed and the `session`
/// that followed them (the requirements snapshot of the greeting is read past).
pub async fn resume(app: &TestApp, user: &User, last_seq: u64, form: Form) -> (Ws, Vec<Value>, Value) {
    resume_at(&ws_url(app, &user.id), &user.token, last_seq, form).await
}

/// [`resume`] on the conversation at `url`, as the holder of `token`.
pub async fn resume_at(url: &str, token: &str, last_seq: u64, form: Form) -> (Ws, Vec<Value>, Value) {
    let url = match form {
        Form::Query => format!("{url}?last_seq={last_seq}"),
        Form::Message => url.to_owned(),
    };
    let mut ws = try_connect(&url, Auth::Header(token), &[]).await.expect("handshake");
    if let Form::Message = form {
        let greeting = ws.next_event().await;
        assert_eq!((greeting["type"].as_str(), greeting["resumed"].as_bool()), (Some("session"), Some(false)));
        assert_eq!(ws.next_event().await["type"], "requirements");
        ws.send(json!({"type": "resume", "last_seq": last_seq})).await;
    }
    let (session, replayed) = ws.until("session").await;
    if let Form::Query = form {
        let requirements = ws.next_event().await;
        assert_eq!(requirements["type"], "requirements", "the greeting ends as usual: {requirements}");
    }
    (ws, replayed, session)
}

fn seq(event: &Value) -> u64 {
    event["seq"].as_u64().unwrap_or_else(|| panic!("a stream event has a seq: {event}"))
}

/// The child says `text` on a new socket; the events of the answer (all with a `seq`).
async fn talk(app: &TestApp, user: &User, text: &str) -> Vec<Value> {
    let (mut ws, _, _) = connect(app, user).await;
    ws.say(text).await;
    let (reply, mut events) = ws.until("agent_message").await;
    events.push(reply);
    events
}

/// Wait until no conversation actor is alive: the user's has been passivated.
async fn passivated(app: &TestApp) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !app.metrics().await.contains("storymimi_actors_alive{kind=\"conversation\"} 0\n") {
        assert!(tokio::time::Instant::now() < deadline, "the conversation was not passivated");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_reconnect_that_missed_nothing_is_resumed_on_a_fresh_server() {
    let app = spawn_app().await;
    let user = app.register("ada@example.com").await;
    // The conversation has sent no event yet: the greeting's `last_seq` is all there is.
    let (ws, greeting, _) = connect(&app, &user).await;
    let last = greeting["last_seq"].as_u64().unwrap();
    drop(ws);
    for form in BOTH {
        let (_, replayed, session) = resume(&app, &user, last, form).await;
        assert!(replayed.is_empty(), "{form:?}: nothing to replay: {replayed:?}");
        assert_eq!((session["resumed"].as_bool(), session["last_seq"].as_u64()), (Some(true), Some(last)), "{form:?}");
    }
}

#[tokio::test]
async fn a_passivated_conversation_resumes_what_it_sent_and_what_happened_while_it_slept() {
    let app = spawn_app_with(|c| c.conversation.idle_secs = 1, Overrides::default()).await;
    let user = app.register("ada@example.com").await;
    let (phone, greeting, _) = connect(&app, &user).await;
    let phone_last = greeting["last_seq"].as_u64().unwrap();
    drop(phone);
    let missed = talk(&app, &user, "a fox named Ruby").await;
    let tablet_last = seq(missed.last().unwrap());

    for form in BOTH {
        passivated(&app).await;
        let (_, replayed, session) = resume(&app, &user, tablet_last, form).await;
        assert!(replayed.is_empty(), "{form:?}: {replayed:?}");
        assert_eq!((session["resumed"].as_bool(), session["last_seq"].as_u64()), (Some(true), Some(tablet_last)));
    }
    passivated(&app).await;
    let (_, replayed, session) = resume(&app, &user, phone_last, Form::Query).await;
    assert_eq!(replayed, missed, "what the phone missed, kept across passivation");
    assert_eq!(session["resumed"], true);

    // A story written while no conversation is alive: its events still join the stream.
    passivated(&app).await;
    let story = app.create_story(&user, json!({"prompt": "a penguin named Pebble", "num_scenes": 1})).await;
    assert_eq!(app.wait_until_finished(&user, &story).await["status"], "completed");
    passivated(&app).await;
    let (_, replayed, session) = resume(&app, &user, tablet_last, Form::Message).await;
    let kinds: Vec<&str> = replayed.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds.first(), Some(&"story_started"), "{kinds:?}");
    assert_eq!(kinds.last(), Some(&"story_completed"), "{kinds:?}");
    assert!(kinds.contains(&"scene_ready"), "{kinds:?}");
    assert!(replayed.iter().all(|e| e["story_id"] == story.as_str()), "{replayed:?}");
    assert_eq!(session["resumed"], true);
    assert_eq!(session["last_seq"].as_u64(), Some(seq(replayed.last().unwrap())));
}

#[tokio::test]
async fn a_graceful_restart_keeps_the_stream() {
    let app = spawn_app().await;
    let user = app.register("ada@example.com").await;
    let (phone, greeting, _) = connect(&app, &user).await;
    let phone_last = greeting["last_seq"].as_u64().unwrap();
    drop(phone);
    let missed = talk(&app, &user, "a brave dragon called Pip").await;
    let tablet_last = seq(missed.last().unwrap());

    let (config, data) = app.stop().await;
    let app = start(config, data, Overrides::default()).await;
    for form in BOTH {
        let (_, replayed, session) = resume(&app, &user, tablet_last, form).await;
        assert!(replayed.is_empty(), "{form:?}: {replayed:?}");
        assert_eq!((session["resumed"].as_bool(), session["last_seq"].as_u64()), (Some(true), Some(tablet_last)));
    }
    let (mut phone, replayed, session) = resume(&app, &user, phone_last, Form::Query).await;
    assert_eq!(replayed, missed, "what the phone missed, kept across the restart");
    assert_eq!(session["resumed"], true);
    // The stream goes on after the restart, above every seq given out before it.
    phone.say("in the forest").await;
    let (reply, _) = phone.until("agent_message").await;
    assert!(seq(&reply) > tablet_last);
}

#[tokio::test]
async fn both_ways_of_resuming_end_with_the_session_that_answers() {
    let app = spawn_app().await;
    let user = app.register("ada@example.com").await;
    let seen = talk(&app, &user, "a fox named Ruby").await;
    let last_seq = seq(seen.last().unwrap());
    let missed = talk(&app, &user, "in the forest").await;
    let latest = seq(missed.last().unwrap());

    for form in BOTH {
        let (mut ws, replayed, session) = resume(&app, &user, last_seq, form).await;
        assert_eq!(replayed, missed, "{form:?}: the same events, same seqs, same order");
        assert_eq!(session["type"], "session");
        assert!(session.get("seq").is_none(), "{session}");
        assert_eq!((session["resumed"].as_bool(), session["last_seq"].as_u64()), (Some(true), Some(latest)));
        assert!(ws.try_next_event(Duration::from_millis(200)).await.is_none(), "{form:?}: and nothing more");
    }

    // Events that are no longer kept: told so at once, with where the stream is now.
    for form in BOTH {
        let (_, replayed, session) = resume(&app, &user, 1, form).await;
        assert!(replayed.is_empty(), "{form:?}: {replayed:?}");
        assert_eq!((session["resumed"].as_bool(), session["last_seq"].as_u64()), (Some(false), Some(latest)));
    }
}

#[tokio::test]
async fn events_pushed_out_of_the_ring_are_owned_up_to() {
    // A turn is three events unpaced (requirements, the reply as one delta, the message).
    let app = spawn_app_with(|c| c.conversation.ring_size = 2, Overrides::default()).await;
    let user = app.register("ada@example.com").await;
    let seen = talk(&app, &user, "a fox named Ruby").await;
    let missed = talk(&app, &user, "in the forest").await;
    assert!(missed.len() > 2, "more than the ring holds: {}", missed.len());
    for form in BOTH {
        let (_, replayed, session) = resume(&app, &user, seq(seen.last().unwrap()), form).await;
        assert!(replayed.is_empty(), "{form:?}: a partial replay would look complete: {replayed:?}");
        assert_eq!(session["resumed"], false, "{form:?}");
        assert_eq!(session["last_seq"].as_u64(), Some(seq(missed.last().unwrap())));
    }
    // Within what is kept, still exact.
    let from = seq(&missed[missed.len() - 3]);
    let (_, replayed, session) = resume(&app, &user, from, Form::Query).await;
    assert_eq!(replayed, missed[missed.len() - 2..]);
    assert_eq!(session["resumed"], true);
}

/// The usual at-least-once client: keep the highest `seq` seen, drop any event at or below it.
struct DedupClient {
    highest: u64,
    kept: Vec<Value>,
}

impl DedupClient {
    fn take(&mut self, event: Value) {
        match event["seq"].as_u64() {
            Some(seq) if seq <= self.highest => {} // a duplicate
            Some(seq) => {
                self.highest = seq;
                self.kept.push(event);
            }
            None => self.kept.push(event), // per-socket: session, error, pong, requirements on connect
        }
    }
}

#[tokio::test]
async fn the_usual_dedup_client_loses_nothing_across_a_reconnect() {
    let app = spawn_app().await;
    let user = app.register("ada@example.com").await;
    let mut client = DedupClient { highest: 0, kept: Vec::new() };
    let (mut phone, session, requirements) = connect(&app, &user).await;
    assert!(session.get("seq").is_none() && requirements.get("seq").is_none());
    assert!(session["last_seq"].is_u64(), "{session}");
    client.take(session);
    client.take(requirements);
    phone.say("a fox named Ruby").await;
    let (reply, before) = phone.until("agent_message").await;
    before.into_iter().chain([reply]).for_each(|e| client.take(e));
    phone.send(json!({"type": "ping"})).await;
    client.take(phone.until("pong").await.0);
    drop(phone);

    // While the phone is away, the tablet talks.
    let (mut tablet, _, _) = connect(&app, &user).await;
    tablet.say("in the forest").await;
    let (reply, mut missed) = tablet.until("agent_message").await;
    missed.push(reply);

    // Back, with `?last_seq=`: the session arrives too, and must not make the client drop the replay.
    let url = format!("{}?last_seq={}", ws_url(&app, &user.id), client.highest);
    let mut phone = try_connect(&url, Auth::Header(&user.token), &[]).await.unwrap();
    let kept_before = client.kept.len();
    loop {
        let event = phone.next_event().await;
        let done = event["type"] == "requirements" && event.get("seq").is_none();
        client.take(event);
        if done {
            break;
        }
    }
    let replayed: Vec<&Value> = client.kept[kept_before..].iter().filter(|e| e["seq"].is_u64()).collect();
    assert_eq!(replayed, missed.iter().collect::<Vec<_>>(), "every missed event kept, in order");
    let session = client.kept[kept_before..].iter().find(|e| e["type"] == "session").unwrap();
    assert_eq!(session["resumed"], true);
    assert_eq!(session["last_seq"].as_u64(), Some(client.highest), "{session}");
}
