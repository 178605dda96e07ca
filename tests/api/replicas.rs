//! Machines holding embedded replicas of one libSQL primary (a real `sqld`, real `storymimi`
//! processes; see `cluster`): stories and conversations work through a replica, what one
//! machine writes another reads, the primary can go away and come back, migrations run once
//! however many machines start together, and one data dir never serves two processes.

use crate::binary::{self, Server};
use crate::cluster::{Primary, start_machine_in, start_machines};
use crate::ws_client::{Auth, Ws, try_connect};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Duration;

/// Register ada@example.com on `machine`: (user id, access token).
async fn register(machine: &Server) -> (String, String) {
    let body = machine.register("correct horse battery").await;
    (body["user_id"].as_str().unwrap().to_owned(), body["access_token"].as_str().unwrap().to_owned())
}

fn conversation_url(machine: &Server, user: &str) -> String {
    format!("{}/conversation/{user}", machine.base.replacen("http", "ws", 1))
}

/// Connect to the user's conversation on `machine` and read the greeting.
async fn converse(machine: &Server, user: &str, token: &str) -> Ws {
    converse_from(machine, user, token).await.0
}

/// [`converse`], also telling the stream's latest `seq` on connecting.
async fn converse_from(machine: &Server, user: &str, token: &str) -> (Ws, u64) {
    let mut ws = try_connect(&conversation_url(machine, user), Auth::Header(token), &[]).await.expect("the handshake");
    let session = ws.next_event().await;
    assert_eq!(session["type"], "session");
    assert_eq!(ws.next_event().await["type"], "requirements");
    (ws, session["last_seq"].as_u64().unwrap())
}

async fn say(ws: &mut Ws, content: &str, client_id: &str) {
    ws.send(json!({"type": "user_message", "content": content, "client_id": client_id})).await;
}

/// The next event about the conversation (a story's progress events are passed over), or
/// `None` when none comes within `wait`.
async fn conversation_event(ws: &mut Ws, wait: Duration) -> Option<Value> {
    loop {
        let event = ws.try_next_event(wait).await?;
        let kind = event["type"].as_str().unwrap_or_default();
        if !kind.starts_with("story_") && !kind.starts_with("scene_") {
            return Some(event);
        }
    }
}

/// Poll `GET path` on `machine` until it answers `status` (or fail after `secs`).
async fn eventually(machine: &Server, path: &str, token: &str, status: u16, secs: u64) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let response = machine.client.get(format!("{}{path}", machine.base)).bearer_auth(token).send().await.unwrap();
        if response.status().as_u16() == status {
            return response.json().await.unwrap_or(Value::Null);
        }
        assert!(tokio::time::Instant::now() < deadline, "{path} never answered {status}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The bytes at a media URL (relative to the machine).
async fn fetch(machine: &Server, url: &str) -> bytes::Bytes {
    let response = machine.client.get(format!("{}{url}", machine.base)).send().await.unwrap();
    assert_eq!(response.status(), 200, "{url}");
    response.bytes().await.unwrap()
}

async fn create_story(machine: &Server, token: &str, body: Value) -> String {
    let created = machine.post_json("/stories/", Some(token), body).await;
    created["story_id"].as_str().unwrap_or_else(|| panic!("{created}")).to_owned()
}

async fn wait_completed(machine: &Server, token: &str, story: &str, secs: u64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let status = machine.get_json(&format!("/stories/{story}/status"), token).await;
        if status["status"] == "completed" {
            return;
        }
        assert_ne!(status["status"], "failed", "{status}");
        assert!(tokio::time::Instant::now() < deadline, "not completed after {secs} s: {status}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Rows stored on the primary for the child's message `client_id`.
async fn turns_on_primary(primary: &Primary, client_id: &str) -> i64 {
    primary.count(&format!("SELECT count(*) FROM conversation_turns WHERE client_id = '{client_id}'")).await
}

#[tokio::test]
async fn a_story_and_a_conversation_work_end_to_end_through_a_replica() {
    let Some(primary) = Primary::start().await else { return };
    // (This primary checks no token; the machine sends it all the same, and never logs it.)
    let token_env = [("STORYMIMI_DB_AUTH_TOKEN", "replica-token-s3cr3t"), ("STORYMIMI_LOG", "debug")];
    let machine = start_machines(&primary, 1, &token_env).pop().unwrap();
    machine.wait_ready(20).await;
    let (user, token) = register(&machine).await;
    let story = create_story(&machine, &token, json!({"prompt": "a shy unicorn called Luna", "num_scenes": 3})).await;
    wait_completed(&machine, &token, &story, 60).await;
    let detail = machine.get_json(&format!("/stories/{story}"), &token).await;
    assert_eq!(detail["scenes"].as_array().unwrap().len(), 3, "{detail}");
    let stored = format!("SELECT count(*) FROM scenes WHERE story_id = '{story}'");
    assert_eq!(primary.count(&stored).await, 3, "the scenes are on the primary");

    let mut ws = converse(&machine, &user, &token).await;
    say(&mut ws, "a brave dragon called Pip", "m1").await;
    // The turn is stored before anything answers it: on the primary, once the first event comes.
    let first = ws.next_event().await;
    assert_ne!(first["type"], "error", "{first}");
    assert_eq!(turns_on_primary(&primary, "m1").await, 1);
    ws.reply().await;
    say(&mut ws, "in a snowy castle", "m2").await;
    assert!(ws.reply().await.to_lowercase().contains("story"), "the agent moved on to the style");
    let history = machine.get_json(&format!("/conversation/{user}/history?limit=5"), &token).await;
    let said: Vec<&str> = history.as_array().unwrap().iter().map(|t| t["text"].as_str().unwrap()).collect();
    assert_eq!(said, ["in a snowy castle", "a brave dragon called Pip"]);
    let drafts = format!("SELECT draft FROM conversations WHERE user_id = '{user}'");
    assert!(primary.query(&drafts).await[0][0].as_str().unwrap().contains("Pip"), "the draft is on the primary");
    let output = machine.output.lock().unwrap().join("\n");
    assert!(output.contains("opening an embedded replica"), "{output}");
    assert!(!output.contains("s3cr3t"), "the primary's token was logged");
}

/// A conversation stopping with the server keeps its events in the primary; the next actor
/// takes them back (once), so a client resuming misses nothing.
#[tokio::test]
async fn a_graceful_restart_keeps_the_conversations_stream_in_the_primary() {
    let Some(primary) = Primary::start().await else { return };
    let mut machine = start_machines(&primary, 1, &[]).pop().unwrap();
    machine.wait_ready(20).await;
    let (user, token) = register(&machine).await;
    let (mut ws, before) = converse_from(&machine, &user, &token).await;
    say(&mut ws, "a brave dragon called Pip", "p1").await;
    let (reply, mut said) = ws.until("agent_message").await;
    said.push(reply);
    drop(ws);
    machine.terminate();
    assert_eq!(primary.count("SELECT count(*) FROM conversation_rings").await, 1, "kept in the primary");
    machine.server = start_machine_in(&primary, machine.data.path(), &[]).listening().unwrap();
    machine.wait_ready(20).await;
    let url = conversation_url(&machine, &user);
    let (_, replayed, session) = crate::resume::resume_at(&url, &token, before, crate::resume::Form::Query).await;
    assert_eq!(session["resumed"], true, "{session}");
    assert_eq!(replayed, said);
    assert_eq!(primary.count("SELECT count(*) FROM conversation_rings").await, 0, "taken back, once");
}

#[tokio::test]
async fn a_write_on_one_machine_is_read_on_another_after_its_sync() {
    let Some(primary) = Primary::start().await else { return };
    // Both keep media in one directory (content-addressed files: either serves the other's).
    let media = tempfile::tempdir().unwrap();
    let shared = media.path().to_str().unwrap();
    let env = [("STORYMIMI_MEDIA_DIR", shared), ("STORYMIMI_BUILTIN_LLM_DELAY_MS", "1000")];
    let machines = start_machines(&primary, 2, &env);
    for machine in &machines {
        machine.wait_ready(20).await;
    }
    let (a, b) = (&machines[0], &machines[1]);
    let (user, token) = register(a).await;
    // B reads the account from its own replica once synced (every 200 ms here).
    eventually(b, "/users/me", &token, 200, 5).await;
    let login = json!({"email": "ada@example.com", "password": "correct horse battery"});
    assert!(b.post_json("/auth/login", None, login).await["access_token"].is_string(), "signing in on B");
    let story = create_story(a, &token, json!({"prompt": "a sleepy owl in the forest", "num_scenes": 1})).await;
    // The story is the user's live state, whose home is A: B sends its readers there (Fly's
    // proxy replays them; tests/api/homes.rs goes through a stand-in for it).
    let home: String = primary.query("SELECT instance FROM homes").await[0][0].as_str().unwrap().to_owned();
    for path in [format!("/stories/{story}"), format!("/users/{user}/stories")] {
        let on_b = b.client.get(format!("{}{path}", b.base)).bearer_auth(&token).send().await.unwrap();
        assert_eq!(on_b.status(), 421, "{path}");
        assert_eq!(on_b.headers()["fly-replay"].to_str().unwrap(), format!("instance={home}"));
    }
    wait_completed(a, &token, &story, 60).await;
    let on_a = a.get_json(&format!("/stories/{story}"), &token).await;
    let picture = on_a["scenes"][0]["image_url"].as_str().unwrap();
    let (from_a, from_b) = (fetch(a, picture).await, fetch(b, picture).await);
    assert!(from_a.len() > 1000 && from_a == from_b, "B serves the picture A drew");
    assert!(std::fs::read_dir(media.path()).unwrap().count() > 0, "in the shared directory");
}

#[tokio::test]
async fn with_the_primary_down_reads_are_served_writes_refused_and_all_comes_back() {
    let Some(mut primary) = Primary::start().await else { return };
    let mut machine = start_machines(&primary, 1, &[("STORYMIMI_BUILTIN_LLM_DELAY_MS", "250")]).pop().unwrap();
    machine.wait_ready(20).await;
    let (user, token) = register(&machine).await;
    let done = create_story(&machine, &token, json!({"prompt": "a quick frog", "num_scenes": 1})).await;
    wait_completed(&machine, &token, &done, 60).await;
    let mut ws = converse(&machine, &user, &token).await;
    say(&mut ws, "a brave dragon called Pip", "c1").await;
    ws.reply().await;
    // A story being written when the primary goes.
    let unfinished = create_story(&machine, &token, json!({"prompt": "a long walk", "num_scenes": 4})).await;
    let status = format!("/stories/{unfinished}/status");
    while machine.get_json(&status, &token).await["scenes_done"].as_u64() < Some(1) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    primary.kill();

    // Reads are served from the replica.
    let detail = eventually(&machine, &format!("/stories/{done}"), &token, 200, 1).await;
    assert_eq!(detail["status"], "completed");
    eventually(&machine, &format!("/users/{user}/stories"), &token, 200, 1).await;
    eventually(&machine, &format!("/conversation/{user}/history"), &token, 200, 1).await;
    // Writes are refused, with a time to come back.
    let response = machine
        .client
        .post(format!("{}/stories/", machine.base))
        .bearer_auth(&token)
        .json(&json!({"prompt": "a new idea"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert!(response.headers().get("retry-after").is_some());
    assert_eq!(response.json::<Value>().await.unwrap()["error"]["code"], "unavailable");
    // A child's message is not acknowledged: an error, and no answer.
    say(&mut ws, "in a snowy castle", "c2").await;
    let refused = conversation_event(&mut ws, Duration::from_secs(10)).await.expect("an answer");
    assert_eq!((refused["type"].as_str(), refused["code"].as_str()), (Some("error"), Some("unavailable")));
    let more = conversation_event(&mut ws, Duration::from_millis(500)).await;
    assert!(more.is_none(), "nothing answered the lost message: {more:?}");
    // Not ready, and saying why.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let body = loop {
        let (status, body) = machine.readyz().await;
        if status == 503 {
            break body;
        }
        assert!(tokio::time::Instant::now() < deadline, "still ready without its primary: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(body["checks"]["database"], "down", "{body}");
    assert_eq!(body["checks"]["primary"], "down", "{body}");
    assert!(body["reason"].as_str().unwrap().contains("primary cannot be reached"), "{body}");
    assert_eq!(body["replica"]["in_sync"], false);
    assert!(body["replica"]["sync_age_seconds"].as_f64().unwrap() > 0.0, "{body}");
    // The machine itself can still serve (reads, the conversation): a proxy keeps routing here.
    let (status, body) = machine.status_json("/readyz/machine").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("degraded")), "{body}");
    assert_eq!(body["checks"]["primary"], "down", "{body}");
    assert!(body["reason"].as_str().unwrap().contains("primary cannot be reached"), "{body}");
    let metrics = machine.client.get(format!("{}/metrics", machine.base)).send().await.unwrap().text().await.unwrap();
    assert!(crate::helpers::metric_value(&metrics, "storymimi_db_replica_sync_errors_total").unwrap() >= 1.0);
    assert!(crate::helpers::metric_value(&metrics, "storymimi_db_replica_sync_age_seconds").unwrap() > 0.0);

    // The primary comes back: everything works again, in the same process.
    primary.restart().await;
    machine.wait_ready(20).await;
    say(&mut ws, "in a snowy castle", "c2").await; // the app's resend
    ws.reply().await;
    assert_eq!(turns_on_primary(&primary, "c2").await, 1);
    create_story(&machine, &token, json!({"prompt": "a new idea", "num_scenes": 1})).await;
    wait_completed(&machine, &token, &unfinished, 60).await;
    let sequences = format!("SELECT sequence FROM scenes WHERE story_id = '{unfinished}' ORDER BY sequence");
    let stored: Vec<Value> = primary.query(&sequences).await.into_iter().map(|mut row| row.remove(0)).collect();
    assert_eq!(stored, ["1", "2", "3", "4"]);
    let saves: Vec<Value> =
        machine.logged("scene saved").into_iter().filter(|e| e["story"] == unfinished.as_str()).collect();
    assert_eq!(saves.len(), 4, "each scene saved once: {saves:#?}");
    machine.kill();
}

#[tokio::test]
async fn a_write_whose_answer_timed_out_is_made_once_when_retried() {
    let Some(primary) = Primary::start().await else { return };
    let machine = start_machines(&primary, 1, &[("STORYMIMI_DB_PRIMARY_TIMEOUT_MS", "1000")]).pop().unwrap();
    machine.wait_ready(20).await;
    let (user, token) = register(&machine).await;
    let mut ws = converse(&machine, &user, &token).await;
    // The primary stalls: writes reach it but no answer comes back in time.
    primary.pause();
    say(&mut ws, "a robot called Bolt", "b1").await;
    let refused = ws.next_event().await;
    assert_eq!((refused["type"].as_str(), refused["code"].as_str()), (Some("error"), Some("unavailable")));
    let story = |key: &str| {
        let request = machine.client.post(format!("{}/stories/", machine.base)).bearer_auth(&token);
        request.header("idempotency-key", key).json(&json!({"prompt": "a robot on the moon", "num_scenes": 1})).send()
    };
    assert_eq!(story("k1").await.unwrap().status(), 503);
    primary.resume();
    machine.wait_ready(20).await;
    // The app sends both again: each is made once, and the message is answered now.
    say(&mut ws, "a robot called Bolt", "b1").await;
    assert!(ws.reply().await.contains("Bolt"));
    assert_eq!(turns_on_primary(&primary, "b1").await, 1);
    assert_eq!(story("k1").await.unwrap().status(), 202);
    assert_eq!(story("k1").await.unwrap().status(), 202);
    assert_eq!(primary.count(&format!("SELECT count(*) FROM stories WHERE user_id = '{user}'")).await, 1);
}

/// The migrations this build has: the files in `schema/`.
fn migrations() -> i64 {
    std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/schema")).unwrap().count() as i64
}

#[tokio::test]
async fn two_machines_started_at_once_on_an_empty_primary_apply_each_migration_once() {
    let Some(primary) = Primary::start().await else { return };
    let machines = start_machines(&primary, 2, &[]);
    let mut applied: HashMap<i64, usize> = HashMap::new();
    for machine in &machines {
        machine.wait_ready(20).await;
        for event in machine.logged("applied migration") {
            *applied.entry(event["version"].as_i64().unwrap()).or_default() += 1;
        }
    }
    let versions = primary.count("SELECT count(*) FROM schema_migrations").await;
    assert_eq!(versions, migrations(), "every migration applied");
    assert_eq!(applied.len() as i64, versions, "{applied:?}");
    assert!(applied.values().all(|&n| n == 1), "each migration applied by one machine: {applied:?}");
}

/// The same race, inside one process and without timing luck: both replicas find every
/// migration missing before either applies one. The schema made through the primary is the
/// local file's, statement by statement (libSQL re-prints each statement it forwards: it
/// writes keywords used as names, `key` and `plan`, in capitals; SQLite ignores their case).
#[tokio::test]
async fn migrations_made_through_a_primary_give_the_local_schema() {
    let Some(primary) = Primary::start().await else { return };
    let settings = storymimi::config::ReplicaSettings {
        url: storymimi::config::DbUrl::try_from(primary.url()).unwrap(),
        auth_token: storymimi::config::Secret::new(""),
        sync_interval: Duration::from_millis(200),
        primary_timeout: Duration::from_secs(5),
        startup_sync_timeout: Duration::from_secs(10),
    };
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let open = |dir: &tempfile::TempDir| {
        let (path, errors) = (dir.path().join("r.db"), prometheus::IntCounter::new("e", "e").unwrap());
        let settings = settings.clone();
        async move { storymimi::db::Db::open_replica(&path, 1, &settings, errors).await }
    };
    let (a, b) = tokio::join!(open(&dirs[0]), open(&dirs[1]));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(primary.count("SELECT count(*) FROM schema_migrations").await, migrations());
    let local = storymimi::db::Db::open(&dirs[2].path().join("l.db"), 1).await.unwrap();
    let schema = schema_of(&local).await;
    assert!(schema.len() > 60, "{schema:#?}");
    assert!(schema.iter().any(|s| s.contains("email text not null unique collate nocase")), "{schema:#?}");
    assert_eq!(schema_of(&a).await, schema);
    assert_eq!(schema_of(&b).await, schema);
}

/// Every table's and index's statement (comments, spacing and case aside), every column and
/// every index's columns, uniqueness and partiality.
async fn schema_of(db: &storymimi::db::Db) -> Vec<String> {
    let conn = db.reader().await;
    let mut rows = conn
        .query(
            "SELECT m.type || ' ' || m.name || ': ' || p.name || ' ' || p.type || ' ' || p.\"notnull\" || ' '
                    || coalesce(p.dflt_value, '-') || ' ' || p.pk
             FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table'
             UNION ALL
             SELECT 'index ' || m.name || ' on ' || m.tbl_name || ': ' || i.name || ' ' || l.\"unique\" || ' ' || l.partial
             FROM sqlite_master m JOIN pragma_index_list(m.tbl_name) l ON l.name = m.name
             JOIN pragma_index_info(m.name) i WHERE m.type = 'index'
             UNION ALL
             SELECT 'sql ' || sql FROM sqlite_master WHERE sql IS NOT NULL",
            (),
        )
        .await
        .unwrap();
    let mut schema = Vec::new();
    while let Some(row) = rows.next().await.unwrap() {
        let text = row.get::<String>(0).unwrap().to_lowercase();
        let text: String = text.lines().map(|l| l.split("--").next().unwrap_or_default()).collect::<Vec<_>>().join(" ");
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        schema.push(text.replace("( ", "(").replace(" )", ")").replace(" (", "(").replace(" ,", ","));
    }
    schema.sort();
    schema
}

#[tokio::test]
async fn a_machine_starts_and_serves_reads_while_its_primary_is_down_but_a_new_one_does_not() {
    let Some(mut primary) = Primary::start().await else { return };
    let mut machine = start_machines(&primary, 1, &[]).pop().unwrap();
    machine.wait_ready(20).await;
    let (_, token) = register(&machine).await;
    machine.terminate();
    primary.stop();
    // Its replica opens from the file alone: it listens, serves reads, and is not ready.
    let quick = [("STORYMIMI_DB_STARTUP_SYNC_TIMEOUT_SECS", "1")];
    machine.server = start_machine_in(&primary, machine.data.path(), &quick).listening().unwrap();
    assert_eq!(machine.get_json("/users/me", &token).await["email"], "ada@example.com");
    let (status, body) = machine.readyz().await;
    assert_eq!(status, 503, "{body}");
    // Nor routable: its replica may be arbitrarily old, and machines that synced can serve.
    let (status, body) = machine.status_json("/readyz/machine").await;
    assert_eq!(status, 503, "{body}");
    assert!(body["reason"].as_str().unwrap().contains("since start-up"), "{body}");
    // A new machine has nothing to serve until its first sync: it says so and stops.
    let empty = tempfile::tempdir().unwrap();
    let refused = start_machine_in(&primary, empty.path(), &quick).listening().err().expect("refused to start");
    assert!(!refused.status.unwrap().success());
    assert!(refused.output.iter().any(|l| l.contains("not up to date") && l.contains(&primary.url())), "{refused:#?}");
    primary.restart().await;
    machine.wait_ready(20).await;
    let login = json!({"email": "ada@example.com", "password": "correct horse battery"});
    assert!(machine.post_json("/auth/login", None, login).await["access_token"].is_string());
}

#[tokio::test]
async fn a_second_process_on_the_same_data_dir_refuses_to_start() {
    let data = tempfile::tempdir().unwrap();
    let mut first = binary::start(data.path(), &[]);
    // Frozen (stopped by a debugger, a stalled VM), it still owns its data dir.
    first.pause();
    let refused = binary::spawn(data.path(), &[]).listening().err().expect("the second process refused to start");
    first.resume();
    assert!(!refused.status.unwrap().success());
    let said = format!("another storymimi process (pid {}) is using the data directory", first.child.id());
    assert!(refused.output.iter().any(|l| l.contains(&said)), "{refused:#?}");
    // The first goes on serving; once it has stopped, the directory is free again.
    assert_eq!(first.readyz().await.0, 200);
    first.terminate();
    binary::start(data.path(), &[]).kill();
    // With a replica (where two processes would corrupt the file) just the same.
    let Some(primary) = Primary::start().await else { return };
    let machine = start_machines(&primary, 1, &[]).pop().unwrap();
    let second = start_machine_in(&primary, machine.data.path(), &[]).listening().err().expect("refused");
    assert!(second.output.iter().any(|l| l.contains("another storymimi process")), "{second:#?}");
    machine.wait_ready(20).await;
}
