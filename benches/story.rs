//! Story pipeline and read-path benchmark, printed as tables.
//!
//! 1. Makespan: a story written with fixed-latency providers (LLM 200 ms a call, picture 300 ms,
//!    narration 150 ms) against the ideal critical path, plan + n × text + the last scene's
//!    slowest medium: what a perfect pipeline would take.
//! 2. `GET /stories/{id}` requests per second with the hot cache against no cache, and against
//!    the floor: bare hyper serving the same JSON body on the same machine, in the same run.
//!    Load comes from `wrk` (Debian package `wrk`) when installed, else from an in-process
//!    client (which then is the bottleneck, and the table says so).
//! 3. `POST /stories/` on the local file and through an embedded replica of a local libSQL
//!    primary (`sqld`), in the same run: one client's latency, and 16 clients' creations/s.
//! 4. Time to the first page (`story/first_page.rs`): the first words, the first whole text and
//!    the first stored scene of a story, with realistic provider latencies, against their floors.
//! 5. A takeover: two real processes with replicas of a local `sqld`; the home of a user is
//!    killed (SIGKILL) mid-story; how long until the other machine holds the user and stores
//!    the story's next scene.
//!
//! ```text
//! cargo bench --bench story                  # `-- --quick` for a smoke run
//! cargo bench --bench story -- first-page    # only table 4 (`--quick`: one story)
//! cargo bench --bench story -- takeover      # only table 5 (`--quick`: one run per lease)
//! ```

use actors::model::{SceneDraft, StoryId, StoryPlan, StorySpec};
use actors::ports::{IllustrationRequest, Illustrator, Llm, Media, Narrator, ProviderError, SceneRequest};
use async_trait::async_trait;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use storymimi::config::{Config, Secret};
use storymimi::providers::builtin::Storyteller;
use storymimi::{Application, Overrides};

#[path = "support/sqld.rs"]
mod sqld;
#[path = "support/takeover.rs"]
mod takeover;

#[path = "story/first_page.rs"]
mod first_page;

const LLM: Duration = Duration::from_millis(200);
const IMAGE: Duration = Duration::from_millis(300);
const AUDIO: Duration = Duration::from_millis(150);

struct SlowLlm(Storyteller);
struct SlowIllustrator;
struct SlowNarrator;

#[async_trait]
impl Llm for SlowLlm {
    fn name(&self) -> &str {
        "fixed-latency"
    }
    async fn plan_story(&self, id: StoryId, spec: &StorySpec) -> Result<StoryPlan, ProviderError> {
        tokio::time::sleep(LLM).await;
        self.0.plan_story(id, spec).await
    }
    async fn write_scene(&self, request: SceneRequest<'_>) -> Result<SceneDraft, ProviderError> {
        tokio::time::sleep(LLM).await;
        self.0.write_scene(request).await
    }
}

#[async_trait]
impl Illustrator for SlowIllustrator {
    fn name(&self) -> &str {
        "fixed-latency"
    }
    async fn illustrate(&self, request: IllustrationRequest<'_>) -> Result<Media, ProviderError> {
        tokio::time::sleep(IMAGE).await;
        Ok(Media {
            bytes: format!("{:?}{}", request.index, request.text).into_bytes(),
            content_type: "image/png".into(),
        })
    }
}

#[async_trait]
impl Narrator for SlowNarrator {
    fn name(&self) -> &str {
        "fixed-latency"
    }
    async fn narrate(&self, text: &str, _: &str) -> Result<Media, ProviderError> {
        tokio::time::sleep(AUDIO).await;
        Ok(Media { bytes: text.as_bytes().to_vec(), content_type: "audio/mpeg".into() })
    }
}

struct App {
    base: String,
    client: reqwest::Client,
    token: String,
    user_id: String,
    _data: Option<tempfile::TempDir>,
}

async fn start(change: impl FnOnce(&mut Config), overrides: Overrides) -> App {
    let data = tempfile::tempdir().expect("temp dir");
    let mut config = Config { data_dir: data.path().to_owned(), log: "error".into(), ..Config::default() };
    config.http.addr = "127.0.0.1:0".parse().expect("addr");
    config.auth.jwt_secret = Some(Secret::new("bench-secret-bench-secret-bench-secret"));
    change(&mut config);
    let app = Application::build_with(config, overrides).await.expect("app");
    let base = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    let client = reqwest::Client::new();
    let body = json!({"email": "bench@example.com", "password": "correct horse battery"});
    let registered: Value = client
        .post(format!("{base}/auth/register"))
        .json(&body)
        .send()
        .await
        .expect("register")
        .json()
        .await
        .expect("json");
    let token = registered["access_token"].as_str().expect("token").to_owned();
    let user_id = registered["user_id"].as_str().expect("user id").to_owned();
    App { base, client, token, user_id, _data: Some(data) }
}

impl App {
    /// Another handle on the same server and user (the data dir stays with the first).
    fn clone_client(&self) -> App {
        let (base, client) = (self.base.clone(), self.client.clone());
        App { base, client, token: self.token.clone(), user_id: self.user_id.clone(), _data: None }
    }

    async fn create(&self, scenes: u8) -> String {
        let body = json!({"prompt": "a brave dragon called Pip", "num_scenes": scenes});
        let created: Value = self
            .client
            .post(format!("{}/stories/", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .expect("create")
            .json()
            .await
            .expect("json");
        created["story_id"].as_str().expect("id").to_owned()
    }

    async fn wait(&self, id: &str) {
        loop {
            let status: Value = self
                .client
                .get(format!("{}/stories/{id}/status", self.base))
                .bearer_auth(&self.token)
                .send()
                .await
                .expect("status")
                .json()
                .await
                .expect("json");
            match status["status"].as_str() {
                Some("completed") => return,
                Some("failed") => panic!("story failed: {status}"),
                _ => tokio::time::sleep(Duration::from_millis(5)).await,
            }
        }
    }

    /// Requests per second for `GET /stories/{id}` from `workers` concurrent clients.
    async fn read_rate(&self, id: &str, workers: usize, measure: Duration) -> f64 {
        let end = Instant::now() + measure;
        let tasks: Vec<_> = (0..workers)
            .map(|_| {
                let (client, url, token) =
                    (self.client.clone(), format!("{}/stories/{id}", self.base), self.token.clone());
                tokio::spawn(async move {
                    let mut n = 0u64;
                    while Instant::now() < end {
                        let response = client.get(&url).bearer_auth(&token).send().await.expect("get");
                        assert!(response.status().is_success());
                        response.bytes().await.expect("body");
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        let mut total = 0;
        for task in tasks {
            total += task.await.expect("worker");
        }
        total as f64 / measure.as_secs_f64()
    }
}

fn which_wrk() -> bool {
    std::process::Command::new("wrk").arg("--version").output().is_ok()
}

/// Requests per second `wrk` reaches on `url` (2 threads, 50 connections), if wrk is installed.
fn wrk(url: &str, token: &str, seconds: u64) -> Option<f64> {
    let out = std::process::Command::new("wrk")
        .args(["-t2", "-c50", &format!("-d{seconds}s"), "-H", &format!("Authorization: Bearer {token}"), url])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find(|l| l.starts_with("Requests/sec:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Bare hyper serving `body` with the same headers the story route sends: the floor.
async fn bare_hyper(body: bytes::Bytes, etag: String) -> String {
    use hyper::service::service_fn;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else { continue };
            let _ = tcp.set_nodelay(true);
            let (body, etag) = (body.clone(), etag.clone());
            tokio::spawn(async move {
                let service = service_fn(move |_req: hyper::Request<hyper::body::Incoming>| {
                    let response = hyper::Response::builder()
                        .header("content-type", "application/json")
                        .header("etag", etag.as_str())
                        .header("cache-control", "private, no-cache")
                        .body(http_body_util::Full::new(body.clone()))
                        .expect("response");
                    async move { Ok::<_, std::convert::Infallible>(response) }
                });
                let io = hyper_util::rt::TokioIo::new(tcp);
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
            });
        }
    });
    format!("http://{addr}/story")
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    if std::env::args().any(|a| a == "first-page") {
        runtime.block_on(first_page::run(if quick { 1 } else { 3 }));
        return;
    }
    if std::env::args().any(|a| a == "takeover") {
        runtime.block_on(takeover::takeover(quick));
        return;
    }
    runtime.block_on(async {
        println!(
            "Story makespan, fixed-latency providers (LLM {LLM:?}/call, picture {IMAGE:?}, narration {AUDIO:?}):\n"
        );
        println!("| scenes | makespan | ideal critical path | ratio |");
        println!("|---:|---:|---:|---:|");
        let sizes: &[u8] = if quick { &[3] } else { &[3, 6, 12] };
        for &n in sizes {
            let overrides = Overrides {
                llm: Some(Arc::new(SlowLlm(Storyteller::new(Duration::ZERO)))),
                illustrator: Some(Arc::new(SlowIllustrator)),
                narrator: Some(Arc::new(SlowNarrator)),
                ..Overrides::default()
            };
            let app = start(|c| c.storage.backend = storymimi::config::MediaBackend::Memory, overrides).await;
            let started = Instant::now();
            let id = app.create(n).await;
            app.wait(&id).await;
            let makespan = started.elapsed();
            // Plan, then every text in turn, then the last scene's slower medium.
            let ideal = LLM + LLM * u32::from(n) + IMAGE.max(AUDIO);
            println!(
                "| {n} | {} ms | {} ms | {:.2}× |",
                makespan.as_millis(),
                ideal.as_millis(),
                makespan.as_secs_f64() / ideal.as_secs_f64()
            );
        }

        let measure = if quick { Duration::from_millis(500) } else { Duration::from_secs(3) };
        let using_wrk = which_wrk();
        let load = if using_wrk {
            "wrk, 2 threads, 50 connections"
        } else {
            "in-process client, 16 workers (wrk not installed)"
        };
        println!("\n`GET /stories/{{id}}` of a finished 6-scene story ({load}), {measure:?} each:\n");
        println!("| server | requests/s | vs bare hyper |");
        println!("|---|---:|---:|");
        let mut rates = Vec::new();
        let mut floor_body = None;
        for (name, capacity) in [("none (every request reads the database)", 0), ("hot (moka)", 10_000)] {
            let app = start(
                |c| {
                    c.storage.backend = storymimi::config::MediaBackend::Memory;
                    c.cache.capacity = capacity;
                    c.providers.speech.kind = storymimi::config::NarratorKind::None
                },
                Overrides::default(),
            )
            .await;
            let id = app.create(6).await;
            app.wait(&id).await;
            let url = format!("{}/stories/{id}", app.base);
            let rate = if using_wrk {
                wrk(&url, &app.token, measure.as_secs().max(1)).expect("wrk ran")
            } else {
                app.read_rate(&id, 16, measure).await
            };
            rates.push((name, rate));
            if floor_body.is_none() {
                let response = app.client.get(&url).bearer_auth(&app.token).send().await.expect("get");
                let etag = response.headers()["etag"].to_str().expect("etag").to_owned();
                floor_body = Some((response.bytes().await.expect("body"), etag, app.token.clone()));
            }
        }
        let (body, etag, token) = floor_body.expect("a story body");
        println!("(the body is {} bytes)", body.len());
        let url = bare_hyper(body, etag).await;
        let floor = if using_wrk {
            wrk(&url, &token, measure.as_secs().max(1)).expect("wrk ran")
        } else {
            let client = reqwest::Client::new();
            let end = Instant::now() + measure;
            let mut n = 0u64;
            while Instant::now() < end {
                client.get(&url).send().await.expect("get").bytes().await.expect("body");
                n += 1;
            }
            n as f64 / measure.as_secs_f64()
        };
        for (name, rate) in &rates {
            println!("| storymimi, cache {name} | {rate:.0} | {:.2}× |", rate / floor);
        }
        println!("| bare hyper, same body and headers | {floor:.0} | 1.00× |");
        println!("\nhot / none: {:.2}×", rates[1].1 / rates[0].1);
        creations(measure).await;
        first_page::run(if quick { 1 } else { 3 }).await;
        takeover::takeover(quick).await;
    });
}

/// `POST /stories/` on the local file and through a replica: one client's latency (p50/p99
/// over 200 creations), then 16 clients' creations per second. The stories wait for a
/// storyteller that answers in an hour, so only their creation is measured.
async fn creations(measure: Duration) {
    let Some(primary) = sqld::Primary::start().await else { return };
    println!("\n`POST /stories/` (the pending story and its checks, one write), {measure:?} under load:\n");
    println!("| database | 1 client p50 | 1 client p99 | 16 clients: creations/s | creations/s vs local |");
    println!("|---|---:|---:|---:|---:|");
    let mut local_rate = None;
    for (name, url) in [("local file", None), ("replica of a local sqld", Some(primary.settings().url))] {
        let app = start(
            |c| {
                c.storage.backend = storymimi::config::MediaBackend::Memory;
                c.providers.llm.builtin_delay_ms = 3_600_000;
                c.limits.max_stories_in_flight_per_user = u32::MAX;
                c.limits.max_stories_in_flight = u32::MAX;
                c.db.url = url;
            },
            Overrides::default(),
        )
        .await;
        let mut latencies: Vec<Duration> = Vec::with_capacity(200);
        for _ in 0..200 {
            let started = Instant::now();
            app.create(1).await;
            latencies.push(started.elapsed());
        }
        latencies.sort_unstable();
        let end = Instant::now() + measure;
        let workers: Vec<_> = (0..16)
            .map(|_| {
                let app = app.clone_client();
                tokio::spawn(async move {
                    let mut n = 0u64;
                    while Instant::now() < end {
                        app.create(1).await;
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        let mut created = 0;
        for worker in workers {
            created += worker.await.expect("worker");
        }
        let rate = created as f64 / measure.as_secs_f64();
        let base = *local_rate.get_or_insert(rate);
        println!(
            "| {name} | {:.2} ms | {:.2} ms | {rate:.0} | {:.2}× |",
            latencies[100].as_secs_f64() * 1e3,
            latencies[197].as_secs_f64() * 1e3,
            rate / base
        );
    }
}
