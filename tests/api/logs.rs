//! What the service writes to its logs never includes secrets: tokens (even in URLs),
//! passwords, refresh tokens or the signing key.

use crate::binary::start as start_binary_with;
use crate::helpers::SECRET;
use crate::ws_client::{Auth, try_connect};
use serde_json::json;

#[tokio::test]
async fn secrets_never_reach_the_logs() {
    let data = tempfile::tempdir().unwrap();
    let mut server = start_binary_with(data.path(), &[("STORYMIMI_LOG", "debug")]);
    let password = "a very secret password";
    let registered = server.register(password).await;
    let token = registered["access_token"].as_str().unwrap().to_owned();
    let refresh = registered["refresh_token"].as_str().unwrap().to_owned();
    let user = registered["user_id"].as_str().unwrap();

    // A browser-style connection with the token in the URL, and a conversation over it.
    let url = format!("{}/conversation/{user}", server.base.replacen("http", "ws", 1));
    let mut ws = try_connect(&url, Auth::Query(&token), &[]).await.expect("connects");
    ws.say("a dragon called Pip").await;
    ws.until("agent_message").await;
    drop(ws);
    let refreshed = server.post_json("/auth/refresh", None, json!({"refresh_token": refresh})).await;
    server.client.get(format!("{}/users/me?access_token={token}", server.base)).send().await.unwrap();
    // Wait for that last request's log line before reading them all.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !server.output.lock().unwrap().iter().any(|l| l.contains("/users/me")) {
        assert!(std::time::Instant::now() < deadline, "the last request was never logged");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    server.child.kill().unwrap();
    server.child.wait().unwrap();

    let output = server.output.lock().unwrap().join("\n");
    assert!(output.contains("/conversation/"), "request logs are there at debug level:\n{output}");
    let new_refresh = refreshed["refresh_token"].as_str().unwrap();
    for secret in [token.as_str(), refresh.as_str(), new_refresh, password, SECRET] {
        assert!(!output.contains(secret), "a secret leaked into the logs: {secret}");
    }
}
