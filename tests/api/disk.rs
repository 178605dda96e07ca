//! A full data volume (a real tmpfs, filled on purpose): readiness says so, writes answer 503
//! `unavailable` (a child's message an `error` event of that code), story work pauses, and
//! everything resumes by itself when space returns. Needs root to mount the tmpfs (`.ci/run`
//! requires it); skips locally otherwise.

use crate::helpers::{assert_error, skip_without, start, test_config};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use storymimi::Overrides;
use storymimi::config::NarratorKind;

/// A small tmpfs, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Option<Self> {
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Self(dir.to_owned()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Write until the volume is full; the ballast file.
fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("ballast");
    let mut file = std::fs::File::create(&path).unwrap();
    let block = vec![7u8; 64 * 1024];
    while file.write_all(&block).is_ok() {}
    let small = [7u8; 512];
    while file.write_all(&small).is_ok() {}
    let _ = file.sync_all();
    path
}

#[tokio::test]
async fn a_full_disk_pauses_the_service_and_it_resumes_when_space_returns() {
    let outer = tempfile::tempdir().unwrap();
    let Some(_tmpfs) = Tmpfs::mount(outer.path(), "24m") else {
        skip_without("tmpfs", "mounting a tmpfs needs root");
        return;
    };
    let mut config = test_config(&outer);
    config.providers.llm.builtin_delay_ms = 150;
    config.providers.speech.kind = NarratorKind::None;
    config.storage.retry_ms = 200;
    // SQLite reuses its write-ahead log's space once a checkpoint has copied it back, so with
    // checkpoints every 250 ms a full volume may still take a write or two, at random. Rare
    // checkpoints make "full" mean full for the whole test (the WAL only grows).
    config.db.checkpoint_interval_ms = 3_600_000;
    let app = start(config, outer, Overrides::default()).await;
    let user = app.register("ada@example.com").await;
    let id = app.create_story(&user, json!({"prompt": "a long owl story", "num_scenes": 8})).await;
    app.wait_for(&user, &id, 30, |s| s["scenes_done"].as_u64() >= Some(1)).await;
    let (mut ws, _, _) = crate::ws_client::connect(&app, &user).await;

    let ballast = fill(&app.config.data_dir);
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let ready: Value = ready.json().await.unwrap();
    assert_eq!(ready["checks"]["storage"], "down", "{ready}");
    assert_eq!(ready["reason"], "the data volume cannot take writes (full)", "{ready}");
    // This machine's own volume: a proxy should route elsewhere.
    let machine = app.client.get(app.url("/readyz/machine")).send().await.unwrap();
    assert_eq!(machine.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(machine.json::<Value>().await.unwrap()["reason"], "the data volume cannot take writes (full)");

    // SQLite first fills the space its write-ahead log already has, so the first writes may
    // still fit; a write that needs new space answers 503, never 500, and so do the writes
    // after it.
    let text = "a long dream about owls ".repeat(160);
    let path = format!("/conversation/{}/transcripts", user.id);
    let mut refused = None;
    for _ in 0..400 {
        let response = app.post(&path, Some(&user.token), json!({ "text": text })).await;
        if response.status() != StatusCode::CREATED {
            refused = Some(response);
            break;
        }
    }
    let refused = refused.expect("400 transcripts of 4 KB fitted on a full 24 MB volume");
    assert_error(refused, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
    // A refused write leaves the log's file as long as the frames it got written, and the next
    // write reuses them: a smaller one may still fit. Small writes use that slack up, so the
    // writes below, none smaller, find no room.
    let mut slack_used = false;
    for _ in 0..400 {
        let response = app.post(&path, Some(&user.token), json!({ "text": "owl" })).await;
        if response.status() != StatusCode::CREATED {
            assert_error(response, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
            slack_used = true;
            break;
        }
    }
    assert!(slack_used, "400 tiny transcripts fitted on a full volume");
    let body = json!({"email": "bo@example.com", "password": "correct horse battery"});
    let register = app.post("/auth/register", None, body.clone()).await;
    assert_error(register, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
    let create = app.post("/stories/", Some(&user.token), json!({"prompt": "another", "num_scenes": 1})).await;
    assert_eq!(create.headers().get("retry-after").map(|v| v.as_bytes()), Some(&b"5"[..]));
    assert_error(create, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
    ws.say("a dragon called Pip").await;
    // The story's own events may come first (a scene can still fit in the log's old space);
    // the child's message must get the error, and nothing the agent says.
    let (event, before) = ws.until("error").await;
    assert_eq!(event["code"], "unavailable", "{event}");
    assert!(
        before.iter().all(|e| e["type"].as_str().is_some_and(|t| t.starts_with("scene_") || t.starts_with("story_"))),
        "{before:?}"
    );

    // The story waits (it is not failed, and not abandoned).
    tokio::time::sleep(Duration::from_secs(2)).await;
    let status: Value = app.get(&format!("/stories/{id}/status"), &user.token).await.json().await.unwrap();
    assert_eq!(status["status"], "processing", "{status}");

    std::fs::remove_file(&ballast).unwrap();
    let done = app.wait_for(&user, &id, 90, |s| s["status"] != "processing").await;
    assert_eq!(done["status"], "completed", "{done}");
    let detail: Value = app.get(&format!("/stories/{id}"), &user.token).await.json().await.unwrap();
    let sequences: Vec<u64> =
        detail["scenes"].as_array().unwrap().iter().map(|s| s["sequence"].as_u64().unwrap()).collect();
    assert_eq!(sequences, (1..=8).collect::<Vec<_>>());
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.client.get(app.url("/readyz")).send().await.unwrap().status() != StatusCode::OK {
        assert!(Instant::now() < deadline, "not ready again after space returned");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(app.post("/auth/register", None, body).await.status(), StatusCode::CREATED);
    ws.say("a dragon called Pip").await;
    assert!(!ws.reply().await.is_empty(), "the message sent again is answered");
}
