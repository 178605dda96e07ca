//! Resources no client can take from others: slow or huge request heads, too many
//! connections, and replies that do not wait in the network stack.

use crate::helpers::spawn_app_with;
use crate::ws_client::connect;
use std::time::{Duration, Instant};
use storymimi::Overrides;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn raw(base: &str) -> TcpStream {
    TcpStream::connect(base.trim_start_matches("http://")).await.unwrap()
}

/// Everything the server sends until it closes the connection (or `wait` passes).
async fn read_until_closed(tcp: &mut TcpStream, wait: Duration) -> Option<String> {
    let mut out = Vec::new();
    let read = tokio::time::timeout(wait, async {
        let mut buf = [0u8; 4096];
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    });
    read.await.ok().map(|()| String::from_utf8_lossy(&out).into_owned())
}

#[tokio::test]
async fn a_request_head_that_never_finishes_is_closed_within_the_timeout() {
    let app = spawn_app_with(|c| c.http.header_read_timeout_secs = 1, Overrides::default()).await;
    let mut tcp = raw(&app.base).await;
    let started = Instant::now();
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: storymimi\r\nX-Slow: a").await.unwrap();
    let answer = read_until_closed(&mut tcp, Duration::from_secs(5)).await.expect("closed by the server");
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(3), "closed after {took:?}: {answer}");

    // A kept-alive connection left idle is closed the same way.
    let mut tcp = raw(&app.base).await;
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: storymimi\r\n\r\n").await.unwrap();
    let answer = read_until_closed(&mut tcp, Duration::from_secs(5)).await.expect("closed by the server");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test]
async fn a_huge_request_head_is_refused() {
    let app = spawn_app_with(|c| c.http.max_header_bytes = 8192, Overrides::default()).await;
    let mut tcp = raw(&app.base).await;
    let big = "a".repeat(64 * 1024);
    let _ = tcp.write_all(format!("GET /healthz HTTP/1.1\r\nHost: storymimi\r\nX-Big: {big}\r\n\r\n").as_bytes()).await;
    let answer = read_until_closed(&mut tcp, Duration::from_secs(5)).await.unwrap_or_default();
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer:.200}");
    // Others are served as usual.
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
}

#[tokio::test]
async fn connections_over_the_cap_are_refused_clearly_and_served_again_later() {
    let app = spawn_app_with(|c| c.http.max_connections = 3, Overrides::default()).await;
    let held = [raw(&app.base).await, raw(&app.base).await, raw(&app.base).await];
    // Give the server the moment it needs to accept them.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut extra = raw(&app.base).await;
    let answer = read_until_closed(&mut extra, Duration::from_secs(5)).await.expect("refused and closed");
    assert!(answer.starts_with("HTTP/1.1 503") && answer.contains("retry-after: 1"), "{answer}");
    assert!(answer.contains("\"code\":\"unavailable\""), "{answer}");
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Ok(r) = app.client.get(app.url("/metrics")).send().await
            && r.status() == 200
        {
            let metrics = r.text().await.unwrap();
            assert!(metrics.contains("storymimi_http_connections_refused_total 1"), "{metrics}");
            break;
        }
        assert!(Instant::now() < deadline, "never served again");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Nagle's algorithm meeting delayed ACKs held every reply back ~40 ms; replies go out at once.
#[tokio::test]
async fn a_reply_is_not_held_back_by_the_network_stack() {
    let _quiet = crate::cluster::without_clusters().await;
    let app = spawn_app_with(
        |c| {
            c.conversation.agent_delta_delay_ms = 0;
            c.ws.rate_per_sec = 1000.0;
            c.conversation.turns_per_minute = 10_000;
        },
        Overrides::default(),
    )
    .await;
    let user = app.register("ada@example.com").await;
    let (mut ws, _, _) = connect(&app, &user).await;
    ws.say("hello").await;
    ws.reply().await;
    let mut took = Vec::new();
    for i in 0..21 {
        let started = Instant::now();
        ws.say(&format!("hmm number {i}")).await;
        ws.reply().await;
        took.push(started.elapsed());
    }
    took.sort();
    let median = took[took.len() / 2];
    // A stall is ~40 ms; a debug build answers in a few.
    eprintln!("reply latency: median {median:?}, all {took:?}");
    assert!(median < Duration::from_millis(15), "median reply took {median:?}: {took:?}");
}
