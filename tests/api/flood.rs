//! Sign-in under attack: throttles per account and per address, and bounded password
//! hashing, so a flood of logins neither fills memory nor slows everyone else.

use crate::binary::{register_at, start as start_binary_with};
use crate::helpers::{assert_error, metric_value, spawn_app};
use reqwest::StatusCode;
use serde_json::json;
use std::time::{Duration, Instant};

#[tokio::test]
async fn repeated_sign_ins_are_throttled_per_account_with_retry_after() {
    let app = spawn_app().await;
    app.register("ada@example.com").await;
    let wrong = json!({"email": "ada@example.com", "password": "not the password"});
    for _ in 0..10 {
        assert_eq!(app.post("/auth/login", None, wrong.clone()).await.status(), StatusCode::UNAUTHORIZED);
    }
    let throttled = app.post("/auth/login", None, wrong.clone()).await;
    let retry_after: u64 = throttled.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=6).contains(&retry_after), "{retry_after}");
    assert_error(throttled, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    // Even the right password waits: the throttle is the account's.
    let right = json!({"email": "ada@example.com", "password": "correct horse battery"});
    assert_eq!(app.post("/auth/login", None, right).await.status(), StatusCode::TOO_MANY_REQUESTS);
    // Other accounts are not affected.
    app.register("bo@example.com").await;
    let bo = json!({"email": "bo@example.com", "password": "correct horse battery"});
    assert_eq!(app.post("/auth/login", None, bo).await.status(), StatusCode::OK);
    let metrics = app.metrics().await;
    assert!(metrics.contains("storymimi_auth_throttled_total{endpoint=\"login\",scope=\"account\"} 2"), "{metrics}");
}

fn rss_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status.lines().find_map(|l| l.strip_prefix(field)?.trim().strip_suffix("kB")?.trim().parse().ok()).unwrap()
}

/// 400 wrong-password logins, 200 at a time, with the throttles out of the way so every one
/// reaches the password hasher: memory stays bounded and health checks stay fast.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_flood_neither_fills_memory_nor_slows_health_checks() {
    let data = tempfile::tempdir().unwrap();
    let env = [
        ("STORYMIMI_LOGIN_ATTEMPTS_PER_MINUTE_PER_ACCOUNT", "1000000"),
        ("STORYMIMI_LOGIN_ATTEMPTS_PER_MINUTE_PER_ADDRESS", "1000000"),
    ];
    let mut server = start_binary_with(data.path(), &env);
    let pid = server.child.id();
    let client = reqwest::Client::builder().pool_max_idle_per_host(256).build().unwrap();
    register_at(&client, &server.base, "correct horse battery").await;
    let before = rss_kib(pid, "VmRSS:");

    let (base, flood_client) = (server.base.clone(), client.clone());
    let flood = tokio::spawn(async move {
        let mut statuses = Vec::new();
        for _ in 0..2 {
            let wave = (0..200).map(|_| {
                let (client, base) = (flood_client.clone(), base.clone());
                tokio::spawn(async move {
                    let body = json!({"email": "ada@example.com", "password": "wrong password"});
                    let r = client.post(format!("{base}/auth/login")).json(&body).send().await.unwrap();
                    let (status, retry) = (r.status(), r.headers().get("retry-after").is_some());
                    let body: serde_json::Value = r.json().await.unwrap();
                    (status, retry, body["error"]["code"].as_str().unwrap_or_default().to_owned())
                })
            });
            for call in futures_util::future::join_all(wave).await {
                statuses.push(call.unwrap());
            }
        }
        statuses
    });
    let mut health = Vec::new();
    while !flood.is_finished() {
        let started = Instant::now();
        let ok = client.get(format!("{}/healthz", server.base)).send().await.unwrap().status().is_success();
        health.push(started.elapsed());
        assert!(ok);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let statuses = flood.await.unwrap();
    let peak = rss_kib(pid, "VmHWM:");
    // The binary's allocator tells what it holds: the live bytes, within its active pages,
    // within its resident ones (the hashes' blocks freed, their pages not all given back yet).
    let metrics = client.get(format!("{}/metrics", server.base)).send().await.unwrap().text().await.unwrap();
    let bytes = |what: &str| {
        metric_value(&metrics, &format!("storymimi_allocator_{what}_bytes "))
            .unwrap_or_else(|| panic!("{what}: {metrics}"))
    };
    let (allocated, active, resident) = (bytes("allocated"), bytes("active"), bytes("resident"));
    assert!(0.0 < allocated && allocated <= active && active <= resident, "{allocated} ≤ {active} ≤ {resident}");
    // Its background threads return freed pages while the server is quiet (docs/RELIABILITY.md).
    let threads = std::fs::read_dir(format!("/proc/{pid}/task")).unwrap();
    let names: Vec<String> =
        threads.map(|t| std::fs::read_to_string(t.unwrap().path().join("comm")).unwrap().trim().to_owned()).collect();
    assert!(names.iter().any(|n| n.starts_with("jemalloc_bg_thd")), "{names:?}");
    server.child.kill().unwrap();
    server.child.wait().unwrap();

    assert_eq!(statuses.len(), 400);
    for (status, retry_after, code) in &statuses {
        match *status {
            StatusCode::UNAUTHORIZED => assert_eq!(code, "unauthorized"),
            StatusCode::SERVICE_UNAVAILABLE => assert!(*retry_after && code == "busy", "{code}"),
            other => panic!("unexpected {other} {code}"),
        }
    }
    let busy = statuses.iter().filter(|(s, ..)| *s == StatusCode::SERVICE_UNAVAILABLE).count();
    assert!(busy > 0, "the hasher's queue was never full: the flood was not a flood");
    let growth_mib = peak.saturating_sub(before) / 1024;
    health.sort();
    let p90 = health[health.len() * 9 / 10];
    eprintln!(
        "login flood: {busy}/400 turned away, RSS growth {growth_mib} MiB, /healthz p90 {p90:?} over {} checks",
        health.len()
    );
    assert!(growth_mib < 128, "resident memory grew by {growth_mib} MiB");
    assert!(p90 < Duration::from_millis(250), "/healthz p90 {p90:?}");
}
