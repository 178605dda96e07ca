//! The real `storymimi` binary as a process: started with an environment, in production mode
//! (JSON logs, kept), found at the address it logs; stopped, killed, paused and resumed with
//! signals. Used by the crash and flood tests and by the multi-machine harness (`cluster`).

use crate::helpers::SECRET;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

/// The real binary, listening, with its output kept.
pub struct Server {
    pub child: Child,
    pub base: String,
    pub output: Arc<Mutex<Vec<String>>>,
    pub client: reqwest::Client,
}

/// A process started but not (yet) listening (killed if dropped so).
pub struct Starting {
    child: Option<Child>,
    output: Arc<Mutex<Vec<String>>>,
    addr: mpsc::Receiver<String>,
}

/// A process that ended before it listened: how, and what it said.
#[derive(Debug)]
pub struct Exited {
    pub status: Option<ExitStatus>,
    pub output: Vec<String>,
}

/// Start the binary on a random port with `data_dir` and `env` (over production defaults).
pub fn spawn(data_dir: &Path, env: &[(&str, &str)]) -> Starting {
    spawn_through(None, data_dir, env)
}

/// As [`spawn`], the binary started by `wrapper` (given the binary's path as its argument), as
/// the image's entrypoint starts it.
pub fn spawn_through(wrapper: Option<&Path>, data_dir: &Path, env: &[(&str, &str)]) -> Starting {
    let binary = env!("CARGO_BIN_EXE_storymimi");
    let mut command = match wrapper {
        Some(wrapper) => {
            let mut command = Command::new(wrapper);
            command.arg(binary);
            command
        }
        None => Command::new(binary),
    };
    command
        .env("STORYMIMI_ENV", "production")
        .env("STORYMIMI_JWT_SECRET", SECRET)
        .env("STORYMIMI_ADDR", "127.0.0.1:0")
        .env("STORYMIMI_DATA_DIR", data_dir)
        .env("STORYMIMI_BUILTIN_LLM_DELAY_MS", "150")
        .env("STORYMIMI_CONFIG", data_dir.join("none.toml"));
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("the storymimi binary starts");
    let output = Arc::new(Mutex::new(Vec::new()));
    let (stderr, stdout) = (child.stderr.take().unwrap(), child.stdout.take().unwrap());
    let keep = output.clone();
    std::thread::spawn(move || {
        BufReader::new(stderr).lines().map_while(Result::ok).for_each(|l| keep.lock().unwrap().push(l))
    });
    let (found, addr) = mpsc::channel();
    let keep = output.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            // The server logs the address it actually bound.
            if let Ok(event) = serde_json::from_str::<Value>(&line)
                && event["message"] == "storymimi listening"
            {
                let _ = found.send(event["addr"].as_str().unwrap_or_default().to_owned());
            }
            keep.lock().unwrap().push(line);
        }
    });
    Starting { child: Some(child), output, addr }
}

impl Drop for Starting {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Starting {
    /// Wait (at most a minute) until it listens; `Err` when it ended first.
    pub fn listening(mut self) -> Result<Server, Exited> {
        let mut child = self.child.take().expect("a started process");
        match self.addr.recv_timeout(Duration::from_secs(60)) {
            Ok(addr) => Ok(Server {
                child,
                base: format!("http://{addr}"),
                output: self.output.clone(),
                client: crate::helpers::client(),
            }),
            Err(_) => {
                let _ = child.kill();
                let status = child.wait().ok();
                // The output threads finish with the process.
                std::thread::sleep(Duration::from_millis(100));
                Err(Exited { status, output: self.output.lock().unwrap().clone() })
            }
        }
    }
}

/// Start the binary and wait until it listens.
pub fn start(data_dir: &Path, env: &[(&str, &str)]) -> Server {
    spawn(data_dir, env).listening().unwrap_or_else(|exited| panic!("the server did not start: {exited:#?}"))
}

/// Register ada@example.com at `base`; the response body.
pub async fn register_at(client: &reqwest::Client, base: &str, password: &str) -> Value {
    let body = json!({"email": "ada@example.com", "password": password});
    client.post(format!("{base}/auth/register")).json(&body).send().await.unwrap().json().await.unwrap()
}

impl Server {
    /// `GET path` as the holder of `token`: the JSON answer.
    pub async fn get_json(&self, path: &str, token: &str) -> Value {
        let response = self.client.get(format!("{}{path}", self.base)).bearer_auth(token).send().await.unwrap();
        response.json().await.unwrap()
    }

    /// `POST body` to `path`, as the holder of `token` when there is one: the JSON answer.
    pub async fn post_json(&self, path: &str, token: Option<&str>, body: Value) -> Value {
        let mut request = self.client.post(format!("{}{path}", self.base)).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap().json().await.unwrap()
    }

    /// Register ada@example.com: the response body.
    pub async fn register(&self, password: &str) -> Value {
        register_at(&self.client, &self.base, password).await
    }

    /// `GET /readyz`: the status and the body.
    pub async fn readyz(&self) -> (u16, Value) {
        self.status_json("/readyz").await
    }

    /// `GET path` without a token: the status and the JSON body.
    pub async fn status_json(&self, path: &str) -> (u16, Value) {
        let response = self.client.get(format!("{}{path}", self.base)).send().await.unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    /// Poll `/readyz` until it answers 200 (or fail after `secs`).
    pub async fn wait_ready(&self, secs: u64) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let (status, body) = self.readyz().await;
            if status == 200 {
                return body;
            }
            assert!(tokio::time::Instant::now() < deadline, "not ready after {secs} s: {body}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The JSON log events whose message is `message`.
    pub fn logged(&self, message: &str) -> Vec<Value> {
        let output = self.output.lock().unwrap();
        output
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|e| e["message"] == message)
            .collect()
    }

    /// SIGSTOP: the process freezes (a long GC pause, a partition) until [`Server::resume`].
    pub fn pause(&self) {
        assert!(signal(&self.child, libc::SIGSTOP), "the server is running");
    }

    pub fn resume(&self) {
        assert!(signal(&self.child, libc::SIGCONT), "the server is running");
    }

    /// SIGKILL, and wait for the process to be gone.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM (a graceful stop), and wait for the process to end.
    pub fn terminate(&mut self) -> Option<ExitStatus> {
        assert!(signal(&self.child, libc::SIGTERM), "the server is running");
        self.child.wait().ok()
    }
}

/// No process outlives its test, even one that failed half-way (or left it paused).
impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            signal(&self.child, libc::SIGCONT);
            self.kill();
        }
    }
}

/// Send `signal` to a child process; whether it was delivered.
pub fn signal(child: &Child, signal: i32) -> bool {
    let Ok(pid) = i32::try_from(child.id()) else { return false };
    // SAFETY: sending a signal to a child process this test started (and has not reaped).
    unsafe { libc::kill(pid, signal) == 0 }
}
