//! Operating the service: health, readiness, metrics, OpenAPI and docs, unknown routes.

use crate::helpers::{assert_error, spawn_app};
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn health_and_readiness() {
    let app = spawn_app().await;
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    assert!(health.headers().contains_key("x-request-id"));
    let ready: Value = app.client.get(app.url("/readyz")).send().await.unwrap().json().await.unwrap();
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["checks"], json!({"database": "ok", "media": "ok", "storage": "ok"}));
    assert!(ready["reason"].is_null());
    assert!(ready["narrator"]["available"].is_boolean() && ready["narrator"]["detail"].is_string());
    // The machine check (a proxy's routing) asks no provider: only what this machine has.
    let machine: Value = app.client.get(app.url("/readyz/machine")).send().await.unwrap().json().await.unwrap();
    assert_eq!(
        machine,
        json!({"status": "ready", "checks": {"database": "ok", "media": "ok", "storage": "ok"}, "reason": null})
    );
}

#[tokio::test]
async fn metrics_count_requests_by_route_template_and_stories_by_status() {
    let app = spawn_app().await;
    let user = app.register("ada@example.com").await;
    let id = app.create_story(&user, json!({"prompt": "a frog", "num_scenes": 1})).await;
    app.wait_until_finished(&user, &id).await;
    let text = app.metrics().await;
    for expected in [
        "storymimi_http_requests_total{method=\"POST\",route=\"/stories\",status=\"202\"} 1",
        "storymimi_http_requests_total{method=\"POST\",route=\"/auth/register\",status=\"201\"} 1",
        "storymimi_story_status_transitions_total{status=\"completed\"} 1",
        "storymimi_story_generation_duration_seconds_count{outcome=\"completed\"} 1",
        "storymimi_scenes_written_total 1",
        "storymimi_actors_alive{kind=\"root\"} 1",
        "storymimi_http_request_duration_seconds_bucket",
    ] {
        assert!(text.contains(expected), "missing {expected}\n{text}");
    }
    assert!(!text.contains(&id), "story ids never become labels");
}

#[tokio::test]
async fn openapi_document_and_offline_docs_page() {
    let app = spawn_app().await;
    let doc: Value = app.client.get(app.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in ["/auth/login", "/stories/", "/stories/{story_id}", "/users/{user_id}/stories"] {
        assert!(doc["paths"].get(path).is_some(), "{path} missing from the OpenAPI document");
    }
    let status_enum = &doc["components"]["schemas"]["StoryStatusView"]["properties"]["status"]["enum"];
    assert_eq!(status_enum, &json!(["pending", "processing", "completed", "failed"]));
    let page = app.client.get(app.url("/docs/")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("swagger"), "Swagger UI served from the binary");
    let asset = app.client.get(app.url("/docs/swagger-ui-bundle.js")).send().await.unwrap();
    assert_eq!(asset.status(), StatusCode::OK);
}

#[tokio::test]
async fn unknown_routes_get_json_404() {
    let app = spawn_app().await;
    assert_error(app.client.get(app.url("/nope")).send().await.unwrap(), StatusCode::NOT_FOUND, "not_found").await;
}

/// axum's own extractors answer malformed queries and paths in `text/plain`: every error here
/// is the documented JSON error instead.
#[tokio::test]
async fn malformed_queries_and_paths_get_the_json_error() {
    let app = crate::helpers::spawn_app().await;
    let user = app.register("ada@example.com").await;
    for path in [
        format!("/users/{}/stories?limit=abc", user.id),
        "/stories/%ff%fe".to_owned(),
        format!("/conversation/{}?last_seq=-1", user.id),
        "/media/ab/cd.png?sig=1&sig=2".to_owned(),
    ] {
        let response = app.get(&path, &user.token).await;
        let status = response.status();
        assert!(status.is_client_error(), "{path}: {status}");
        assert_eq!(response.headers()["content-type"], "application/json", "{path}");
        let body: Value = response.json().await.unwrap();
        assert!(body["error"]["code"].is_string() && body["error"]["message"].is_string(), "{path}: {body}");
    }
}

#[tokio::test]
async fn metrics_can_live_on_an_internal_port_only() {
    let data = tempfile::tempdir().unwrap();
    let mut server = crate::binary::start(data.path(), &[("STORYMIMI_METRICS_ADDR", "127.0.0.1:0")]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let metrics_addr = loop {
        let found = server.output.lock().unwrap().iter().find_map(|line| {
            let event: Value = serde_json::from_str(line).ok()?;
            (event["message"] == "metrics on their own port").then(|| event["addr"].as_str().map(str::to_owned))?
        });
        if let Some(addr) = found {
            break addr;
        }
        assert!(std::time::Instant::now() < deadline, "no metrics port announced");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    let client = reqwest::Client::new();
    let public = client.get(format!("{}/metrics", server.base)).send().await.unwrap();
    assert_eq!(public.status(), StatusCode::NOT_FOUND, "not on the public port");
    let internal = client.get(format!("http://{metrics_addr}/metrics")).send().await.unwrap();
    assert_eq!(internal.status(), StatusCode::OK);
    assert!(internal.text().await.unwrap().contains("storymimi_actors_alive"));
    server.child.kill().unwrap();
    server.child.wait().unwrap();
}
