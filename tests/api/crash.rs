//! Crash consistency, proven by a loop: the real binary writes several stories and is killed
//! with SIGKILL at random moments, again and again. In the end every story is complete with
//! scenes 1..N, each saved exactly once across all the processes (their own logs say when a
//! scene was saved), every media URL answers, and no media file is left that nothing refers to.

use crate::binary::start as start_binary_with;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime};

const STORIES: usize = 4;
const SCENES: u64 = 5;

/// A small pseudo-random sequence (no dependency needed), seeded by the clock and printed.
struct Lcg(u64);

impl Lcg {
    fn next_ms(&mut self, low: u64, high: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        low + (self.0 >> 33) % (high - low)
    }
}

fn env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("STORYMIMI_BUILTIN_LLM_DELAY_MS", "80"),
        ("STORYMIMI_NARRATOR", "none"),
        ("STORYMIMI_MAX_STORIES_IN_FLIGHT_PER_USER", "10"),
        ("STORYMIMI_LOG", "info"),
    ]
}

#[tokio::test]
async fn stories_survive_repeated_kill_9_each_scene_saved_exactly_once() {
    let data = tempfile::tempdir().unwrap();
    let seed = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_nanos() as u64;
    eprintln!("crash loop seed {seed}");
    let mut rng = Lcg(seed);
    let mut logs: Vec<String> = Vec::new();

    let mut server = start_binary_with(data.path(), &env());
    let token = server.register("correct horse battery").await["access_token"].as_str().unwrap().to_owned();
    let mut ids = Vec::new();
    for i in 0..STORIES {
        let body = json!({"prompt": format!("a sleepy owl number {i} in the forest"), "num_scenes": SCENES});
        let created = server.post_json("/stories/", Some(&token), body).await;
        ids.push(created["story_id"].as_str().unwrap().to_owned());
    }
    let status = |id: &str| format!("/stories/{id}/status");
    // Kill at random moments while work remains.
    for round in 0..5 {
        tokio::time::sleep(Duration::from_millis(rng.next_ms(150, 700))).await;
        server.child.kill().unwrap(); // SIGKILL
        server.child.wait().unwrap();
        logs.extend(server.output.lock().unwrap().drain(..));
        server = start_binary_with(data.path(), &env());
        let mut done = 0;
        for id in &ids {
            if server.get_json(&status(id), &token).await["status"] == "completed" {
                done += 1;
            }
        }
        eprintln!("round {round}: {done} of {STORIES} stories complete");
        if done == STORIES {
            break;
        }
    }
    // Then let it finish.
    let deadline = Instant::now() + Duration::from_secs(60);
    for id in &ids {
        loop {
            let s = server.get_json(&status(id), &token).await;
            if s["status"] == "completed" {
                break;
            }
            assert_ne!(s["status"], "failed", "{s}");
            assert!(Instant::now() < deadline, "story not finished: {s}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    // Every scene there, every picture readable.
    for id in &ids {
        let detail = server.get_json(&format!("/stories/{id}"), &token).await;
        let scenes = detail["scenes"].as_array().unwrap();
        let sequences: Vec<u64> = scenes.iter().map(|s| s["sequence"].as_u64().unwrap()).collect();
        assert_eq!(sequences, (1..=SCENES).collect::<Vec<_>>(), "{id}");
        for url in
            scenes.iter().map(|s| s["image_url"].as_str().unwrap()).chain([detail["cover_image_url"].as_str().unwrap()])
        {
            let response = server.client.get(format!("{}{url}", server.base)).send().await.unwrap();
            assert_eq!(response.status(), 200, "{url}");
        }
    }
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    logs.extend(server.output.lock().unwrap().drain(..));

    // Each scene saved at most once over all the processes (a kill between the commit and its
    // log line can hide one save, never add one): a resumed story never rewrote a saved scene.
    let mut saves: HashMap<(String, u64), usize> = HashMap::new();
    for line in &logs {
        let Ok(event) = serde_json::from_str::<Value>(line) else { continue };
        if event["message"] == "scene saved" {
            let key = (event["story"].as_str().unwrap().to_owned(), event["scene"].as_u64().unwrap());
            *saves.entry(key).or_default() += 1;
        }
    }
    assert!(!saves.is_empty(), "the processes logged their saves");
    for (scene, count) in &saves {
        assert_eq!(*count, 1, "{scene:?} was saved {count} times");
    }

    // One more start with no grace: media left by killed tasks are swept, referenced ones kept.
    let mut sweep_env = env();
    sweep_env.push(("STORYMIMI_MEDIA_SWEEP_GRACE_SECS", "0"));
    let mut server = start_binary_with(data.path(), &sweep_env);
    let db_path = data.path().join("storymimi.db");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let referenced = {
            let db = storymimi::db::Db::open(&db_path, 1).await.unwrap();
            db.referenced_media().await.unwrap()
        };
        let mut files = Vec::new();
        let root = data.path().join("media");
        let mut dirs = vec![root.clone()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                if entry.path().is_dir() {
                    dirs.push(entry.path());
                } else {
                    files.push(entry.path().strip_prefix(&root).unwrap().to_string_lossy().into_owned());
                }
            }
        }
        if files.len() == referenced.len() && files.iter().all(|f| referenced.contains(f)) {
            break;
        }
        assert!(Instant::now() < deadline, "{} files, {} referenced", files.len(), referenced.len());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.child.kill().unwrap();
    server.child.wait().unwrap();
}

fn page_one(detail: &Value) -> String {
    detail["scenes"][0]["scene_id"].as_str().unwrap().to_owned()
}

/// The detail of story `id` once it is completed with a page 1 other than `not`.
async fn completed(server: &crate::binary::Server, token: &str, id: &str, not: Option<&str>) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let detail = server.get_json(&format!("/stories/{id}"), token).await;
        if detail["status"] == "completed" && not != Some(page_one(&detail).as_str()) {
            return detail;
        }
        assert!(Instant::now() < deadline, "page 1 was not (re)done: {detail}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The scenes of story `id` stored in the database of a killed server, and the redos waiting.
async fn stored(data: &std::path::Path, id: &str) -> (Vec<actors::model::Scene>, usize) {
    let db = storymimi::db::Db::open(&data.join("storymimi.db"), 1).await.unwrap();
    let id = id.parse().unwrap();
    let (_, scenes) = db.story_with_scenes(id).await.unwrap().unwrap();
    (scenes, db.redos_waiting(id).await.unwrap().len())
}

#[tokio::test]
async fn a_page_redone_across_kill_9_is_the_old_one_or_the_new_one_never_neither() {
    let data = tempfile::tempdir().unwrap();
    let env = [("STORYMIMI_BUILTIN_IMAGE_DELAY_MS", "300"), ("STORYMIMI_NARRATOR", "none"), ("STORYMIMI_LOG", "info")];
    let mut server = start_binary_with(data.path(), &env);
    let token = server.register("correct horse battery").await["access_token"].as_str().unwrap().to_owned();
    let body = json!({"prompt": "a sleepy owl in the forest", "num_scenes": 2});
    let id = server.post_json("/stories/", Some(&token), body).await["story_id"].as_str().unwrap().to_owned();
    let mut current = page_one(&completed(&server, &token, &id, None).await);
    let mut rng = Lcg(SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_nanos() as u64);
    // A kill while the text is written (the 150 ms text call), two at random, one after it is done.
    let (mut before_commit, mut after_commit) = (0, 0);
    for wait in [40, rng.next_ms(100, 700), rng.next_ms(100, 700), 2_000] {
        let asked = server.client.post(format!("{}/stories/{id}/scenes/1/regenerate", server.base)).bearer_auth(&token);
        assert_eq!(asked.json(&json!({})).send().await.unwrap().status(), 202);
        tokio::time::sleep(Duration::from_millis(wait)).await;
        server.child.kill().unwrap(); // SIGKILL
        server.child.wait().unwrap();

        // Never neither: page 1 is stored, the old or a new one, with its picture on disk; a new
        // one only with its redo done, the old one only with its redo still waiting.
        let (scenes, waiting) = stored(data.path(), &id).await;
        assert_eq!(scenes.iter().map(|s| s.sequence).collect::<Vec<_>>(), [1, 2]);
        let key = scenes[0].image_key.as_deref().unwrap();
        assert!(data.path().join("media").join(key).exists(), "the stored page's picture is there: {key}");
        let redone = scenes[0].scene_id.to_string() != current;
        assert_eq!(waiting, usize::from(!redone), "after {wait} ms: redone {redone}, {waiting} waiting");
        if redone {
            after_commit += 1
        } else {
            before_commit += 1
        }

        // Started again, a redo left waiting is done.
        server = start_binary_with(data.path(), &env);
        let detail = completed(&server, &token, &id, Some(&current)).await;
        current = page_one(&detail);
        for url in detail["scenes"].as_array().unwrap().iter().map(|s| s["image_url"].as_str().unwrap()) {
            let response = server.client.get(format!("{}{url}", server.base)).send().await.unwrap();
            assert_eq!(response.status(), 200, "{url}");
        }
    }
    assert!(before_commit >= 1 && after_commit >= 1, "killed before the new page was stored and after");
    server.child.kill().unwrap();
    server.child.wait().unwrap();
}
