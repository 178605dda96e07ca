//! Media on S3-compatible storage (what production uses on Fly), against a local moto server.
//! Skipped, with a message, when moto is not installed (`pip install "moto[server]"`).

use crate::helpers::spawn_app_with;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use storymimi::Overrides;
use storymimi::config::Secret;

struct Moto(Child);

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn start_moto() -> Option<(Moto, String)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok()?.port();
    // `python3 -m moto.server` works even where the `moto_server` script is not on PATH.
    let child = Command::new("python3")
        .args(["-m", "moto.server", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut moto = Moto(child);
    let endpoint = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while tokio::time::Instant::now() < deadline {
        // Exits at once when moto is not installed.
        if moto.0.try_wait().ok().flatten().is_some() {
            return None;
        }
        if client.get(&endpoint).send().await.is_ok() {
            return Some((moto, endpoint));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

#[tokio::test]
async fn media_live_on_s3_compatible_storage() {
    let Some((_moto, endpoint)) = start_moto().await else {
        crate::helpers::skip_without("moto", "pip install \"moto[server]\"");
        return;
    };
    let created = reqwest::Client::new().put(format!("{endpoint}/storymimi-media")).send().await.unwrap();
    assert!(created.status().is_success(), "bucket created: {}", created.status());
    let app = spawn_app_with(
        |c| {
            c.storage.backend = storymimi::config::MediaBackend::S3;
            c.storage.s3_bucket = Some("storymimi-media".into());
            c.storage.s3_region = Some("us-east-1".into());
            c.storage.s3_endpoint = Some(endpoint.clone());
            c.storage.s3_access_key_id = Some(Secret::new("test"));
            c.storage.s3_secret_access_key = Some(Secret::new("test"));
            c.providers.speech.kind = storymimi::config::NarratorKind::None;
        },
        Overrides::default(),
    )
    .await;
    let ready: Value = app.client.get(app.url("/readyz")).send().await.unwrap().json().await.unwrap();
    assert_eq!(ready["checks"]["media"], "ok", "{ready}");
    let user = app.register("ada@example.com").await;
    let id = app.create_story(&user, json!({"prompt": "a whale named Wally in the sea", "num_scenes": 2})).await;
    assert_eq!(app.wait_until_finished(&user, &id).await["status"], "completed");
    let detail: Value = app.get(&format!("/stories/{id}"), &user.token).await.json().await.unwrap();
    let url = detail["scenes"][1]["image_url"].as_str().unwrap().to_owned();
    let image = app.client.get(app.url(&url)).send().await.unwrap();
    assert_eq!(image.status(), StatusCode::OK);
    let png = image.bytes().await.unwrap();
    assert!(resvg::tiny_skia::Pixmap::decode_png(&png).is_ok());
    let part = app.client.get(app.url(&url)).header("range", "bytes=0-1").send().await.unwrap();
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    app.delete(&format!("/stories/{id}"), &user.token).await;
    assert_eq!(app.client.get(app.url(&url)).send().await.unwrap().status(), StatusCode::NOT_FOUND);
}
