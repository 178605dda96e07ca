//! Several machines, one truth, in one test: a real libSQL primary (`sqld`, found through
//! `STORYMIMI_TEST_SQLD`) on random ports, and real `storymimi` processes holding embedded
//! replicas of it, each in a data dir of its own. The primary can be stopped, killed, paused
//! and started again on the same ports and files; machines are `binary::Server`s (stop, kill,
//! pause, resume). Tests of homes and takeovers build on this.

use crate::binary::{self, Server, Starting};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tempfile::TempDir;

/// One cluster at a time in this test binary (each is several processes on two shared cores),
/// and none while a test that is sensitive to load runs (see [`without_clusters`]).
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// For a test whose outcome depends on timing (a reply's latency): no cluster runs while the
/// guard is held.
pub async fn without_clusters() -> tokio::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().await
}

/// A libSQL primary: `sqld` in a temp dir, on its own ports.
pub struct Primary {
    _turn: tokio::sync::MutexGuard<'static, ()>,
    sqld: PathBuf,
    dir: TempDir,
    http: u16,
    grpc: u16,
    child: Option<Child>,
    client: reqwest::Client,
    /// Extra arguments and environment of every (re)start, e.g. its JWT keys.
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// The token [`Primary::query`] presents, when the primary checks tokens.
    pub token: Option<String>,
}

/// The sqld to test against, or `None` (the caller skips, unless the run requires sqld).
pub fn sqld() -> Option<PathBuf> {
    let path = std::env::var_os("STORYMIMI_TEST_SQLD").map(PathBuf::from).filter(|p| p.is_file());
    if path.is_none() {
        crate::helpers::skip_without("sqld", "set STORYMIMI_TEST_SQLD to libSQL's sqld (see ../shared/tools)");
    }
    path
}

/// A port free right now on 127.0.0.1.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Primary {
    /// A new, empty primary, ready; `None` when there is no sqld to run (the test skips).
    pub async fn start() -> Option<Self> {
        Self::start_with(&[], None).await
    }

    /// As [`Primary::start`], with extra arguments, and the token its own queries present.
    pub async fn start_with(args: &[&str], token: Option<&str>) -> Option<Self> {
        let sqld = sqld()?;
        let turn = ONE_AT_A_TIME.lock().await;
        let dir = tempfile::tempdir().unwrap();
        let (http, grpc, client) = (free_port(), free_port(), crate::helpers::client());
        let args = args.iter().map(|a| a.to_string()).collect();
        let token = token.map(str::to_owned);
        let mut primary =
            Self { _turn: turn, sqld, dir, http, grpc, child: None, client, args, env: Vec::new(), token };
        primary.restart().await;
        Some(primary)
    }

    /// The URL replicas are given (sqld's HTTP port, which serves replication and writes).
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http)
    }

    /// Start it again (after `stop` or `kill`) on the same ports and files; wait until healthy.
    pub async fn restart(&mut self) {
        assert!(self.child.is_none(), "the primary is running");
        let log = std::fs::File::create(self.dir.path().join("sqld.log")).unwrap();
        let child = Command::new(&self.sqld)
            .arg("--db-path")
            .arg(self.dir.path().join("db.sqld"))
            .args(["--http-listen-addr", &format!("127.0.0.1:{}", self.http)])
            .args(["--grpc-listen-addr", &format!("127.0.0.1:{}", self.grpc)])
            .arg("--no-welcome")
            .args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("sqld starts");
        self.child = Some(child);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let health = self.client.get(format!("{}/health", self.url())).send().await;
            if health.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            assert!(tokio::time::Instant::now() < deadline, "sqld did not become healthy: {}", self.log());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGTERM (sqld shuts down cleanly), and wait for it to be gone.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            assert!(binary::signal(&child, libc::SIGTERM), "sqld is running");
            let _ = child.wait();
        }
    }

    /// SIGKILL: sqld recovers its log at the next start.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGSTOP: it keeps its connections open but answers nothing (a partition, a stall).
    pub fn pause(&self) {
        assert!(binary::signal(self.child.as_ref().expect("a running primary"), libc::SIGSTOP));
    }

    pub fn resume(&self) {
        assert!(binary::signal(self.child.as_ref().expect("a running primary"), libc::SIGCONT));
    }

    /// Rows of `sql` run on the primary itself (over its HTTP API): each cell's value, as sqld
    /// sends it (integers as text, `null` for NULL).
    pub async fn query(&self, sql: &str) -> Vec<Vec<Value>> {
        let body = json!({"requests": [{"type": "execute", "stmt": {"sql": sql}}, {"type": "close"}]});
        let mut request = self.client.post(format!("{}/v2/pipeline", self.url())).json(&body);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response: Value = request.send().await.unwrap().json().await.unwrap();
        let result = &response["results"][0];
        assert_eq!(result["type"], "ok", "{sql}: {response}");
        let rows = result["response"]["result"]["rows"].as_array().unwrap();
        rows.iter().map(|row| row.as_array().unwrap().iter().map(|cell| cell["value"].clone()).collect()).collect()
    }

    /// The one integer `sql` answers.
    pub async fn count(&self, sql: &str) -> i64 {
        let rows = self.query(sql).await;
        rows[0][0].as_str().and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("{sql}: {rows:?}"))
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sqld.log")).unwrap_or_default()
    }
}

impl Drop for Primary {
    fn drop(&mut self) {
        if let Some(child) = &self.child {
            // A paused process ignores SIGKILL's cleanup until continued.
            binary::signal(child, libc::SIGCONT);
        }
        self.kill();
    }
}

/// A machine's settings for a replica of `primary`: quick syncs and short timeouts, so tests
/// see the primary go and come back within seconds; then `extra`, which may override them.
pub fn replica_env<'a>(primary: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut env = vec![
        ("STORYMIMI_DB_URL", primary),
        ("STORYMIMI_DB_SYNC_INTERVAL_MS", "200"),
        ("STORYMIMI_DB_PRIMARY_TIMEOUT_MS", "2000"),
        ("STORYMIMI_DB_STARTUP_SYNC_TIMEOUT_SECS", "10"),
        ("STORYMIMI_NARRATOR", "none"),
        ("STORYMIMI_STORAGE_RETRY_MS", "200"),
    ];
    env.extend_from_slice(extra);
    env
}

/// A machine of the cluster: its process and its data dir.
pub struct Machine {
    pub server: Server,
    pub data: TempDir,
}

impl std::ops::Deref for Machine {
    type Target = Server;
    fn deref(&self) -> &Server {
        &self.server
    }
}

impl std::ops::DerefMut for Machine {
    fn deref_mut(&mut self) -> &mut Server {
        &mut self.server
    }
}

/// Start machines with replicas of `primary`, all at the same moment, and wait until each
/// listens (not until each is ready: see `Server::wait_ready`).
pub fn start_machines(primary: &Primary, count: usize, extra: &[(&str, &str)]) -> Vec<Machine> {
    let url = primary.url();
    let env = replica_env(&url, extra);
    let starting: Vec<(TempDir, Starting)> = (0..count)
        .map(|_| {
            let data = tempfile::tempdir().unwrap();
            let process = binary::spawn(data.path(), &env);
            (data, process)
        })
        .collect();
    starting
        .into_iter()
        .map(|(data, process)| {
            let server = process.listening().unwrap_or_else(|exited| panic!("a machine did not start: {exited:#?}"));
            Machine { server, data }
        })
        .collect()
}

/// Start one machine on an existing data dir (a restart), with a replica of `primary`.
pub fn start_machine_in(primary: &Primary, data: &Path, extra: &[(&str, &str)]) -> Starting {
    binary::spawn(data, &replica_env(&primary.url(), extra))
}
