//! `spawn_app()`: a real server on 127.0.0.1:0 with its own temp data dir, plus small
//! client helpers so tests read as specifications.

use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;
use storymimi::config::Secret;
use storymimi::{Application, Config, Overrides};
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const SECRET: &str = "integration-test-secret-0123456789abcdef";

pub struct TestApp {
    pub base: String,
    pub client: Client,
    pub config: Config,
    /// Kept alive for the app's lifetime; a restarted app can reuse it.
    pub data: TempDir,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<anyhow::Result<()>>>,
}

/// A user signed in on a test app.
pub struct User {
    pub id: String,
    pub token: String,
    pub refresh: String,
}

/// A client that lets go of an idle connection before the server does: the server closes a
/// kept-alive connection idle for `http_header_read_timeout_secs` (10 s), and a request sent on a
/// connection it is closing is lost (hyper's `IncompleteMessage`), as with any HTTP client.
pub fn client() -> Client {
    Client::builder().pool_idle_timeout(Duration::from_secs(4)).build().unwrap()
}

pub fn test_config(data: &TempDir) -> Config {
    let mut config =
        Config { data_dir: data.path().to_owned(), log: "warn".into(), shutdown_grace_secs: 5, ..Config::default() };
    config.http.addr = "127.0.0.1:0".parse().unwrap();
    config.auth.jwt_secret = Some(Secret::new(SECRET));
    config.providers.retries = 1;
    config.conversation.agent_delta_delay_ms = 0;
    config
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}, Overrides::default()).await
}

/// Spawn with a changed config (never the process environment) and provider overrides.
pub async fn spawn_app_with(change: impl FnOnce(&mut Config), overrides: Overrides) -> TestApp {
    let data = tempfile::tempdir().unwrap();
    let mut config = test_config(&data);
    change(&mut config);
    start(config, data, overrides).await
}

pub async fn start(config: Config, data: TempDir, overrides: Overrides) -> TestApp {
    storymimi::telemetry::init(&config);
    let app = Application::build_with(config.clone(), overrides).await.expect("app builds");
    let base = format!("http://{}", app.local_addr());
    let (tx, rx) = oneshot::channel();
    let handle = tokio::spawn(app.run_until_stopped(async {
        let _ = rx.await;
    }));
    TestApp { base, client: client(), config, data, shutdown: Some(tx), handle: Some(handle) }
}

impl TestApp {
    /// Graceful stop (as on SIGTERM); returns the data dir so a new app can reopen it.
    pub async fn stop(mut self) -> (Config, TempDir) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(handle) = self.handle.take() {
            handle.await.unwrap().unwrap();
        }
        (self.config.clone(), self.data)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.client.get(self.url(path)).bearer_auth(token).send().await.unwrap()
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Response {
        let mut request = self.client.post(self.url(path)).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }

    pub async fn delete(&self, path: &str, token: &str) -> Response {
        self.client.delete(self.url(path)).bearer_auth(token).send().await.unwrap()
    }

    pub async fn register(&self, email: &str) -> User {
        let response = self
            .post(
                "/auth/register",
                None,
                json!({"email": email, "password": "correct horse battery", "display_name": "Test"}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.unwrap();
        User {
            id: body["user_id"].as_str().unwrap().to_owned(),
            token: body["access_token"].as_str().unwrap().to_owned(),
            refresh: body["refresh_token"].as_str().unwrap().to_owned(),
        }
    }

    /// Create a story and return its id.
    pub async fn create_story(&self, user: &User, body: Value) -> String {
        let response = self.post("/stories/", Some(&user.token), body).await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        let body: Value = response.json().await.unwrap();
        body["story_id"].as_str().unwrap().to_owned()
    }

    /// Poll the status endpoint until `done` holds (or fail after `secs`).
    pub async fn wait_for(&self, user: &User, story: &str, secs: u64, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let status: Value = self.get(&format!("/stories/{story}/status"), &user.token).await.json().await.unwrap();
            if done(&status) {
                return status;
            }
            assert!(tokio::time::Instant::now() < deadline, "story did not get there in {secs}s: {status}");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// The Prometheus text of `/metrics`.
    pub async fn metrics(&self) -> String {
        self.client.get(self.url("/metrics")).send().await.unwrap().text().await.unwrap()
    }

    pub async fn wait_until_finished(&self, user: &User, story: &str) -> Value {
        self.wait_for(user, story, 30, |s| s["status"] == "completed" || s["status"] == "failed").await
    }
}

/// Assert an error response: status, `{"error": {"code": …}}`.
pub async fn assert_error(response: Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(response.status(), status);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
    body
}

/// A test that needs an outside tool skips without it, and says so — unless the run requires
/// that tool (`STORYMIMI_REQUIRE_TOOLS=espeak-ng,moto`, as `.ci/run` sets): then it fails.
pub fn skip_without(tool: &str, why: &str) {
    let required = std::env::var("STORYMIMI_REQUIRE_TOOLS").unwrap_or_default();
    assert!(!required.split(',').any(|t| t.trim() == tool), "{tool} is required in this run but missing: {why}");
    eprintln!("skipped: {tool} is missing ({why})");
}

/// The value of the first metric line that starts with `line_start` (name and labels), if any.
pub fn metric_value(metrics: &str, line_start: &str) -> Option<f64> {
    metrics.lines().find(|l| l.starts_with(line_start))?.rsplit(' ').next()?.parse().ok()
}

/// The sum of the metric lines that start with `name` and contain `label` (0 when none do).
pub fn metric_sum(metrics: &str, name: &str, label: &str) -> f64 {
    metrics
        .lines()
        .filter(|l| l.starts_with(name) && l.contains(label))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}
