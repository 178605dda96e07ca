//! A libSQL primary for the benchmarks' replica rows: `sqld` (from `STORYMIMI_TEST_SQLD`, else
//! `../shared/tools/sqld`) in a temp dir, on free ports; gone when dropped.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Primary {
    child: Child,
    _dir: tempfile::TempDir,
    pub url: String,
}

impl Drop for Primary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("addr").port()
}

impl Primary {
    /// A new, empty primary, ready; `None` (with a note) when there is no sqld here.
    pub async fn start() -> Option<Self> {
        let default = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/tools/sqld");
        let sqld = std::env::var_os("STORYMIMI_TEST_SQLD").map_or(default, PathBuf::from);
        if !sqld.is_file() {
            println!("\n(no sqld at {}: the replica rows are skipped)", sqld.display());
            return None;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let (http, grpc) = (free_port(), free_port());
        let child = Command::new(&sqld)
            .arg("--db-path")
            .arg(dir.path().join("db.sqld"))
            .args(["--http-listen-addr", &format!("127.0.0.1:{http}")])
            .args(["--grpc-listen-addr", &format!("127.0.0.1:{grpc}")])
            .arg("--no-welcome")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("sqld starts");
        let primary = Self { child, _dir: dir, url: format!("http://127.0.0.1:{http}") };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !reqwest::get(format!("{}/health", primary.url)).await.is_ok_and(|r| r.status().is_success()) {
            assert!(Instant::now() < deadline, "sqld did not become healthy");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Some(primary)
    }

    /// The replica settings the benchmarks use (syncs every second, as by default).
    pub fn settings(&self) -> storymimi::config::ReplicaSettings {
        storymimi::config::ReplicaSettings {
            url: storymimi::config::DbUrl::try_from(self.url.clone()).expect("url"),
            auth_token: storymimi::config::Secret::new(""),
            sync_interval: Duration::from_secs(1),
            primary_timeout: Duration::from_secs(5),
            startup_sync_timeout: Duration::from_secs(30),
        }
    }
}
