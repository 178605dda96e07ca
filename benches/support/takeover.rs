//! How long a takeover takes: two real `storymimi` processes with replicas of a local `sqld`;
//! the home of a user is killed (SIGKILL) mid-story, and the clock runs until the other machine
//! holds the user (the primary's `homes` row) and until the story's next scene is stored there.
//! Nobody is connected, so the takeover is the sweep's, after the lapsed lease.

use super::sqld::Primary;
use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A machine: the real binary, listening.
struct Machine {
    child: Child,
    base: String,
    _data: tempfile::TempDir,
}

impl Drop for Machine {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("addr").port()
}

async fn machine(primary: &Primary, name: &str, lease: u64, sweep: u64) -> Machine {
    let data = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_storymimi"))
        .env("STORYMIMI_ENV", "production")
        .env("STORYMIMI_JWT_SECRET", "a-benchmark-secret-of-at-least-32-characters")
        .env("STORYMIMI_ADDR", format!("127.0.0.1:{port}"))
        .env("STORYMIMI_DATA_DIR", data.path())
        .env("STORYMIMI_CONFIG", data.path().join("none.toml"))
        .env("STORYMIMI_DB_URL", &primary.url)
        .env("STORYMIMI_DB_PRIMARY_TIMEOUT_MS", "2000")
        .env("STORYMIMI_NARRATOR", "none")
        .env("STORYMIMI_BUILTIN_LLM_DELAY_MS", "300")
        .env("STORYMIMI_INSTANCE_ID", name)
        .env("STORYMIMI_HOME_LEASE_SECS", lease.to_string())
        .env("STORYMIMI_HOME_SWEEP_SECS", sweep.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the storymimi binary starts");
    let machine = Machine { child, base: format!("http://127.0.0.1:{port}"), _data: data };
    let deadline = Instant::now() + Duration::from_secs(60);
    while !reqwest::get(format!("{}/readyz", machine.base)).await.is_ok_and(|r| r.status().is_success()) {
        assert!(Instant::now() < deadline, "{name} did not become ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    machine
}

/// `POST body` to `url` (as the holder of `token`, when given): the JSON answer.
async fn post(url: String, token: Option<&str>, body: Value) -> Value {
    let mut request = reqwest::Client::new().post(url).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("an answer");
    response.json().await.expect("JSON")
}

/// The one integer `sql` answers on the primary (over its HTTP API).
async fn count(primary: &Primary, sql: &str) -> i64 {
    let body = json!({"requests": [{"type": "execute", "stmt": {"sql": sql}}, {"type": "close"}]});
    let response = post(format!("{}/v2/pipeline", primary.url), None, body).await;
    let cell = &response["results"][0]["response"]["result"]["rows"][0][0]["value"];
    cell.as_str().and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("{sql}: {response}"))
}

async fn poll(primary: &Primary, sql: &str, until: impl Fn(i64) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !until(count(primary, sql).await) {
        assert!(Instant::now() < deadline, "not within 2 minutes: {sql}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One takeover: (kill → the other machine holds the user, kill → its first scene stored).
async fn once(lease: u64, sweep: u64) -> Option<(Duration, Duration)> {
    let primary = Primary::start().await?;
    let (home, other) = (machine(&primary, "m1", lease, sweep).await, machine(&primary, "m2", lease, sweep).await);
    let account = json!({"email": "ada@example.com", "password": "correct horse battery"});
    let signed = post(format!("{}/auth/register", home.base), None, account).await;
    let token = signed["access_token"].as_str().expect("a token");
    let asked = json!({"prompt": "a fox called Ruby", "num_scenes": 8});
    let created = post(format!("{}/stories/", home.base), Some(token), asked).await;
    let story = created["story_id"].as_str().expect("a story").to_owned();
    let scenes = format!("SELECT count(*) FROM scenes WHERE story_id = '{story}'");
    poll(&primary, &scenes, |n| n >= 1).await;
    let mut home = home;
    let _ = home.child.kill();
    let _ = home.child.wait();
    let killed = Instant::now();
    let stored = count(&primary, &scenes).await;
    poll(&primary, "SELECT count(*) FROM homes WHERE instance = 'm2' AND holder <> ''", |n| n == 1).await;
    let claimed = killed.elapsed();
    poll(&primary, &scenes, |n| n > stored).await;
    let resumed = killed.elapsed();
    drop(other);
    Some((claimed, resumed))
}

/// The table: a few takeovers with the default lease and sweep, and with short ones.
pub async fn takeover(quick: bool) {
    println!(
        "\nTakeover after kill -9 of a user's home mid-story (two machines, replicas of a local sqld, nobody connected):\n"
    );
    println!(
        "| lease / sweep | runs | kill → claimed elsewhere (median, max) | kill → next scene stored elsewhere (median, max) | median claim / (lease + sweep) |"
    );
    println!("|---|---:|---:|---:|---:|");
    let runs = if quick { 1 } else { 3 };
    for (lease, sweep) in [(15, 5), (4, 1)] {
        let mut claims = Vec::new();
        let mut resumes = Vec::new();
        for _ in 0..runs {
            let Some((claimed, resumed)) = once(lease, sweep).await else { return };
            claims.push(claimed);
            resumes.push(resumed);
        }
        claims.sort_unstable();
        resumes.sort_unstable();
        let (median, max) = (claims[claims.len() / 2], claims[claims.len() - 1]);
        println!(
            "| {lease} s / {sweep} s | {runs} | {:.1} s, {:.1} s | {:.1} s, {:.1} s | {:.2}× |",
            median.as_secs_f64(),
            max.as_secs_f64(),
            resumes[resumes.len() / 2].as_secs_f64(),
            resumes[resumes.len() - 1].as_secs_f64(),
            median.as_secs_f64() / (lease + sweep) as f64
        );
    }
}
