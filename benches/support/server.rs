//! The real `storymimi` binary as a separate process for the benches, with the policies that
//! are not throughput lifted (rate limits, the typing pause, the sign-up throttle, the
//! per-user socket cap), and what can be read of that process from outside (`/proc`).
// Shared by benches that each use a part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub const SECRET: &str = "benchmark-secret-benchmark-secret-0123";

pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A `kB` field of `/proc/<pid>/status` (`VmRSS`, `RssAnon`, …), in KiB; 0 once it is gone.
    pub fn status_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    pub fn rss_kib(&self) -> u64 {
        self.status_kib("VmRSS")
    }

    /// SIGTERM (the graceful drain), then up to `grace` for the process to exit, else SIGKILL.
    pub fn stop(&mut self, grace: Duration) -> Option<ExitStatus> {
        let pid = libc::pid_t::try_from(self.pid()).ok()?;
        // SAFETY: `kill` only sends a signal, to our own child.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        None
    }
}

/// CPU time (user + system) a process has used so far (`self`: this one), from /proc.
pub fn cpu_time(pid: &str) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command name (which may hold spaces and ends with `)`); utime and
    // stime are the 12th and 13th of them, in clock ticks (USER_HZ, 100 on Linux).
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

/// Read the child's stdout until `find` extracts the bound address.
pub fn wait_for_addr(child: &mut Child, find: impl Fn(&str) -> Option<String>) -> SocketAddr {
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    let addr = loop {
        let line = lines.next().expect("server printed its address").expect("utf-8");
        if let Some(addr) = find(&line) {
            break addr;
        }
    };
    std::thread::spawn(move || lines.for_each(drop));
    addr.parse().expect("an address")
}

/// The release binary on a random port over `data`, `env` on top of the bench settings; its
/// stderr goes to `stderr` (jemalloc writes its `stats_print` there).
pub fn spawn_storymimi(data: &std::path::Path, env: &[(&str, &str)], stderr: Stdio) -> Server {
    let mut command = Command::new(env!("CARGO_BIN_EXE_storymimi"));
    command
        .env("STORYMIMI_ENV", "production")
        .env("STORYMIMI_JWT_SECRET", SECRET)
        .env("STORYMIMI_ADDR", "127.0.0.1:0")
        .env("STORYMIMI_DATA_DIR", data)
        .env("STORYMIMI_LOG", "warn,storymimi::startup=info")
        .env("STORYMIMI_WS_RATE_PER_SEC", "1000000")
        .env("STORYMIMI_WS_BURST", "1000000")
        .env("STORYMIMI_CONVERSATION_TURNS_PER_MINUTE", "100000000")
        .env("STORYMIMI_AGENT_DELTA_DELAY_MS", "0")
        .env("STORYMIMI_WS_MAX_SOCKETS_PER_USER", "100000")
        .env("STORYMIMI_HTTP_MAX_CONNECTIONS", "100000")
        .env("STORYMIMI_REGISTRATIONS_PER_MINUTE_PER_ADDRESS", "100000")
        .env("STORYMIMI_CONFIG", data.join("none.toml"));
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command.stdout(Stdio::piped()).stderr(stderr).spawn().expect("storymimi starts");
    let addr = wait_for_addr(&mut child, |line| {
        let event: serde_json::Value = serde_json::from_str(line).ok()?;
        (event["message"] == "storymimi listening").then(|| event["addr"].as_str().map(str::to_owned))?
    });
    Server { child, addr }
}
