//! WebSocket benchmark. Round-trip latency (p50/p99) and messages/s through StoryMimi's full
//! path (socket → ConnectionActor → ConversationActor → reply event → socket) against a bare
//! fastwebsockets echo server measured in the same run, with 1, 100 and 1000 concurrent
//! sockets: for `ping` (answered by the connection actor) and for `user_message` (the agent
//! answers, the child's turn and the agent's are persisted before the answer, every event fans
//! out); then `user_message` through an embedded replica of a local libSQL primary (`sqld`)
//! beside the local file, in the same run: the price of delegated writes; then memory per
//! idle authenticated socket (server RSS delta over 5,000 sockets). The servers run as
//! separate processes; this process is the load generator.
//!
//!     cargo bench --bench ws            # the full run (~1 min)
//!     cargo bench --bench ws -- --quick # a smoke run
//!     cargo bench --bench ws -- user_message  # only the rows whose message matches (or `memory`, `replica`)

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use storymimi::auth::JwtKeys;
use storymimi::config::{AuthSettings, Secret};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

#[path = "support/server.rs"]
mod server;
#[path = "support/sqld.rs"]
mod sqld;

use server::{SECRET, Server, cpu_time, spawn_storymimi, wait_for_addr};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--echo-server") {
        return echo::serve();
    }
    let quick = args.iter().any(|a| a == "--quick");
    // Cargo passes `--bench`; any other bare word selects rows (handy under a profiler).
    let only = args.iter().skip(1).find(|a| !a.starts_with("--")).cloned();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(run(quick, only.as_deref()));
}

fn spawn_echo() -> Server {
    let mut child = Command::new(std::env::current_exe().expect("own path"))
        .arg("--echo-server")
        .stdout(Stdio::piped())
        .spawn()
        .expect("echo server starts");
    let addr = wait_for_addr(&mut child, |line| line.strip_prefix("LISTENING ").map(str::to_owned));
    Server { child, addr }
}

/// A client that is cheap enough not to be the bottleneck (small read buffer).
async fn open(url: &str, token: Option<&str>, greeting: usize) -> Socket {
    let mut request = url.into_client_request().expect("url");
    if let Some(token) = token {
        request
            .headers_mut()
            .insert("authorization", HeaderValue::from_str(&format!("Bearer {token}")).expect("header"));
    }
    let config = WebSocketConfig::default().read_buffer_size(4096).write_buffer_size(0);
    let (mut socket, _) =
        tokio_tungstenite::connect_async_with_config(request, Some(config), true).await.expect("websocket connects");
    for _ in 0..greeting {
        next_text(&mut socket).await;
    }
    socket
}

async fn next_text(socket: &mut Socket) {
    next_of(socket, None).await;
}

/// An event's type, read as a client reads it: the JSON decoded (as the outside harness's
/// load generator does), not a substring searched for.
#[derive(serde::Deserialize)]
struct Typed<'a> {
    #[serde(rename = "type", borrow)]
    kind: std::borrow::Cow<'a, str>,
}

/// The next text frame, or the next one whose type is `kind`.
async fn next_of(socket: &mut Socket, kind: Option<&str>) {
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) => {
                let typed: Option<Typed> = serde_json::from_str(text.as_str()).ok();
                if kind.is_none_or(|k| typed.is_some_and(|t| t.kind == k)) {
                    return;
                }
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// What the closed loop sends, and which event answers it.
#[derive(Clone, Copy)]
enum Ask {
    Ping,
    /// A child's message (the outside harness's: [`SENTENCE`]): answered when the whole
    /// `agent_message` has arrived.
    UserMessage,
    /// Child's messages that each change what the agent understood (the draft is stored with
    /// every turn, as in a real conversation), in a cycle.
    Changing,
}

/// What the outside harness (`../shared/bench/`, its load generator's default) says each turn:
/// the same line, so both benches measure the same work.
const SENTENCE: &str = "I want a magic story about a dragon called Sparky with three scenes";

/// The `Changing` cycle: each line changes the hero, the setting or the style.
const CHANGING: [&str; 4] = ["a dragon called Pip", "in a castle", "a unicorn called Sky", "under the sea"];

struct Target {
    name: &'static str,
    server: Server,
    path: &'static str,
    /// Events the server sends on connect (StoryMimi: `session`, `requirements`).
    greeting: usize,
    authenticated: bool,
    /// All sockets for one user (one conversation) instead of one user each.
    one_user: Option<actors::model::UserId>,
    /// Registered users to connect as, one per socket (a conversation's turns are stored, and
    /// need a user row); random ids when empty.
    users: Vec<actors::model::UserId>,
}

impl Target {
    fn url(&self) -> String {
        format!("ws://{}{}", self.server.addr, self.path)
    }

    async fn connect_many(&self, n: usize, keys: &JwtKeys) -> Vec<Socket> {
        let mut sockets = Vec::with_capacity(n);
        // In batches: the listen backlog is finite.
        for chunk in (0..n).collect::<Vec<_>>().chunks(200) {
            let opens = chunk.iter().map(|&i| {
                let user = self.one_user.or_else(|| self.users.get(i).copied()).unwrap_or_default();
                let token = self.authenticated.then(|| keys.issue(user, None).expect("token"));
                let url = if self.authenticated { self.url().replace("{user}", &user.to_string()) } else { self.url() };
                async move { open(&url, token.as_deref(), self.greeting).await }
            });
            sockets.extend(futures_util::future::join_all(opens).await);
        }
        sockets
    }
}

struct Stats {
    p50_us: u64,
    p99_us: u64,
    per_sec: f64,
    /// CPU time (user + system) per answered message, of the server and of this load
    /// generator: what a message costs, however busy the machine's neighbours are.
    server_cpu_us: f64,
    client_cpu_us: f64,
}

/// Every socket sends `ask` and waits for its answer, again and again (closed loop), to the
/// server whose process is `server`.
async fn load(server: &Server, sockets: Vec<Socket>, ask: Ask, warmup: Duration, measure: Duration) -> Stats {
    let start = Instant::now() + warmup;
    let end = start + measure;
    let pid = server.child.id().to_string();
    let cpu = tokio::spawn(async move {
        tokio::time::sleep_until(start.into()).await;
        let (server, client) = (cpu_time(&pid), cpu_time("self"));
        tokio::time::sleep_until(end.into()).await;
        (cpu_time(&pid).saturating_sub(server), cpu_time("self").saturating_sub(client))
    });
    let tasks = sockets.into_iter().map(|mut socket| {
        tokio::spawn(async move {
            let mut latencies = Vec::new();
            let user_message =
                |content: &str| Message::text(json!({"type": "user_message", "content": content}).to_string());
            let (messages, answer) = match ask {
                Ask::Ping => (vec![Message::text(r#"{"type":"ping"}"#)], None),
                Ask::UserMessage => (vec![user_message(SENTENCE)], Some("agent_message")),
                Ask::Changing => (CHANGING.iter().map(|c| user_message(c)).collect(), Some("agent_message")),
            };
            for message in messages.iter().cycle() {
                let sent = Instant::now();
                if sent >= end {
                    break;
                }
                socket.send(message.clone()).await.expect("send");
                next_of(&mut socket, answer).await;
                if sent >= start {
                    latencies.push(sent.elapsed().as_micros() as u64);
                }
            }
            let _ = socket.close(None).await;
            latencies
        })
    });
    let mut all: Vec<u64> = Vec::new();
    for task in futures_util::future::join_all(tasks).await {
        all.extend(task.expect("load task"));
    }
    all.sort_unstable();
    let pct =
        |p: f64| all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1))).copied().unwrap_or(0);
    let (server_cpu, client_cpu) = cpu.await.expect("cpu sampler");
    let per_message = |cpu: Duration| cpu.as_secs_f64() * 1e6 / all.len().max(1) as f64;
    Stats {
        p50_us: pct(0.50),
        p99_us: pct(0.99),
        per_sec: all.len() as f64 / measure.as_secs_f64(),
        server_cpu_us: per_message(server_cpu),
        client_cpu_us: per_message(client_cpu),
    }
}

async fn idle_memory(target: &Target, n: usize, keys: &JwtKeys) -> f64 {
    drop(target.connect_many(10, keys).await); // warm up allocator and caches
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = target.server.rss_kib();
    let sockets = target.connect_many(n, keys).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = target.server.rss_kib();
    drop(sockets);
    (after.saturating_sub(before) * 1024) as f64 / n as f64
}

/// (turns written, group commits) so far, from the server's metrics.
async fn turn_commits(addr: SocketAddr) -> (f64, f64) {
    let text = reqwest::get(format!("http://{addr}/metrics")).await.expect("metrics").text().await.expect("body");
    let value = |name: &str| {
        text.lines().find_map(|l| l.strip_prefix(name)?.trim().parse::<f64>().ok()).expect("the turn commit metric")
    };
    (value("storymimi_db_turns_per_commit_sum"), value("storymimi_db_turns_per_commit_count"))
}

fn user_message_sizes(quick: bool) -> &'static [usize] {
    if quick { &[1, 50] } else { &[1, 50, 100] }
}

/// Users in the server's database before it starts (the bench does not pay for password
/// hashing): a stored turn needs its user.
async fn register(data: &std::path::Path, n: usize) -> Vec<actors::model::UserId> {
    create_users(&storymimi::db::Db::open(&data.join("storymimi.db"), 1).await.expect("database"), n).await
}

async fn create_users(db: &storymimi::db::Db, n: usize) -> Vec<actors::model::UserId> {
    let mut users = Vec::with_capacity(n);
    for i in 0..n {
        let user = db.create_user(&format!("bench{i}@example.com"), "Bench", "not-a-hash").await.expect("user");
        users.push(user.id);
    }
    users
}

async fn run(quick: bool, only: Option<&str>) {
    let wanted = |row: &str| only.is_none_or(|only| row.contains(only));
    let data = tempfile::tempdir().expect("temp dir");
    let keys = JwtKeys::new(&AuthSettings { jwt_secret: Some(Secret::new(SECRET)), ..AuthSettings::default() });
    let (warmup, measure) = if quick {
        (Duration::from_millis(200), Duration::from_millis(500))
    } else {
        (Duration::from_secs(1), Duration::from_secs(3))
    };
    let sizes: &[usize] = if quick { &[1, 100] } else { &[1, 100, 1000] };
    let idle_sockets = if quick { 500 } else { 5000 };
    // A socket is only opened for a user that exists (the home check reads the account).
    let sizes_for_users =
        sizes.iter().chain(user_message_sizes(quick)).chain([&idle_sockets]).copied().max().unwrap_or(1);

    let users = register(data.path(), sizes_for_users).await;
    let echo = Target {
        name: "echo",
        server: spawn_echo(),
        path: "/echo",
        greeting: 0,
        authenticated: false,
        one_user: None,
        users: Vec::new(),
    };
    let full = Target {
        name: "storymimi, one user per socket",
        server: spawn_storymimi(data.path(), &[], Stdio::null()),
        path: "/conversation/{user}",
        greeting: 2,
        authenticated: true,
        one_user: None,
        users,
    };
    println!(
        "WebSocket round trip: ping → reply, closed loop per socket; {measure:?} measured after {warmup:?} warm-up\n"
    );
    println!(
        "| message | sockets | echo p50 | echo p99 | echo msg/s | full p50 | full p99 | full msg/s | p99 ratio | msg/s ratio |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut rows = Vec::new();
    for &n in sizes.iter().filter(|_| wanted("ping")) {
        let e = load(&echo.server, echo.connect_many(n, &keys).await, Ask::Ping, warmup, measure).await;
        let f = load(&full.server, full.connect_many(n, &keys).await, Ask::Ping, warmup, measure).await;
        rows.push(("ping", n, e, f));
    }
    // `user_message` at each size, then a conversation where every message changes the draft
    // (50 sockets, as the aim).
    let mut asks: Vec<(&str, usize, Ask)> = Vec::new();
    if wanted("user_message") {
        asks.extend(user_message_sizes(quick).iter().map(|&n| ("user_message", n, Ask::UserMessage)));
    }
    if wanted("user_message") || wanted("changing") {
        asks.push(("user_message, changing", 50, Ask::Changing));
    }
    let mut commits = Vec::new();
    for (label, n, ask) in asks {
        let e = load(&echo.server, echo.connect_many(n, &keys).await, Ask::Ping, warmup, measure).await;
        let before = turn_commits(full.server.addr).await;
        let f = load(&full.server, full.connect_many(n, &keys).await, ask, warmup, measure).await;
        let after = turn_commits(full.server.addr).await;
        commits.push((label, n, (after.0 - before.0) / (after.1 - before.1).max(1.0)));
        rows.push((label, n, e, f));
    }
    for (ask, n, e, f) in &rows {
        println!(
            "| {ask} | {n} | {} µs | {} µs | {:.0} | {} µs | {} µs | {:.0} | {:.2}× | {:.2}× |",
            e.p50_us,
            e.p99_us,
            e.per_sec,
            f.p50_us,
            f.p99_us,
            f.per_sec,
            f.p99_us as f64 / e.p99_us.max(1) as f64,
            f.per_sec / e.per_sec.max(1.0)
        );
    }
    println!("\nCPU time per message (user + system, over the measured seconds):\n");
    println!("| message | sockets | echo server | full server | server ratio | load generator (echo / full) |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (ask, n, e, f) in &rows {
        println!(
            "| {ask} | {n} | {:.1} µs | {:.1} µs | {:.1}× | {:.1} / {:.1} µs |",
            e.server_cpu_us,
            f.server_cpu_us,
            f.server_cpu_us / e.server_cpu_us.max(0.1),
            e.client_cpu_us,
            f.client_cpu_us
        );
    }
    for (ask, n, per_commit) in commits {
        println!("\n`{ask}` at {n} sockets: {per_commit:.1} writes per group commit");
    }
    if wanted("user_message") || wanted("replica") {
        through_a_replica(&full, &keys, warmup, measure, quick).await;
    }
    if !wanted("memory") {
        return;
    }
    println!("\nMemory per idle socket (server RSS delta over {idle_sockets} sockets):\n");
    println!("| server | bytes per socket |");
    println!("|---|---:|");
    let shared_data = tempfile::tempdir().expect("temp dir");
    let one_user = register(shared_data.path(), 1).await[0];
    let shared = Target {
        name: "storymimi, one user for all sockets",
        server: spawn_storymimi(shared_data.path(), &[], Stdio::null()),
        one_user: Some(one_user),
        users: Vec::new(),
        ..full
    };
    for target in [&echo, &full, &shared] {
        let per = idle_memory(target, idle_sockets, &keys).await;
        println!("| {} | {:.0} B ({:.1} KiB) |", target.name, per, per / 1024.0);
    }
}

/// `user_message` on the local file (`local`) and through an embedded replica of a local
/// primary, one after the other in this run: what delegating each group commit costs.
async fn through_a_replica(local: &Target, keys: &JwtKeys, warmup: Duration, measure: Duration, quick: bool) {
    let Some(primary) = sqld::Primary::start().await else { return };
    let sizes = user_message_sizes(quick);
    let users = {
        let dir = tempfile::tempdir().expect("temp dir");
        let errors = prometheus::IntCounter::new("e", "e").expect("counter");
        let db = storymimi::db::Db::open_replica(&dir.path().join("r.db"), 1, &primary.settings(), errors)
            .await
            .expect("a replica");
        create_users(&db, sizes.iter().copied().max().unwrap_or(1)).await
    };
    let data = tempfile::tempdir().expect("temp dir");
    let replica = Target {
        name: "storymimi, replica",
        server: spawn_storymimi(data.path(), &[("STORYMIMI_DB_URL", &primary.url)], Stdio::null()),
        path: "/conversation/{user}",
        greeting: 2,
        authenticated: true,
        one_user: None,
        users,
    };
    println!("\n`user_message` on the local file and through an embedded replica of a local sqld:\n");
    println!(
        "| database | sockets | p50 | p99 | msg/s | server CPU/msg | writes per group commit | msg/s vs local | p99 vs local |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for &n in sizes {
        let mut local_stats = None;
        for (name, target) in [("local file", local), ("replica of a local sqld", &replica)] {
            let before = turn_commits(target.server.addr).await;
            let stats =
                load(&target.server, target.connect_many(n, keys).await, Ask::UserMessage, warmup, measure).await;
            let after = turn_commits(target.server.addr).await;
            let per_commit = (after.0 - before.0) / (after.1 - before.1).max(1.0);
            let base = local_stats.get_or_insert((stats.per_sec, stats.p99_us));
            println!(
                "| {name} | {n} | {} µs | {} µs | {:.0} | {:.1} µs | {per_commit:.1} | {:.2}× | {:.2}× |",
                stats.p50_us,
                stats.p99_us,
                stats.per_sec,
                stats.server_cpu_us,
                stats.per_sec / base.0.max(1.0),
                stats.p99_us as f64 / base.1.max(1) as f64
            );
        }
    }
}

/// The baseline: a bare fastwebsockets echo server (axum only routes the upgrade).
mod echo {
    use axum::Router;
    use axum::response::IntoResponse;
    use axum::routing::get;
    use fastwebsockets::upgrade::IncomingUpgrade;
    use fastwebsockets::{FragmentCollector, OpCode};

    pub fn serve() {
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
        runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
            println!("LISTENING {}", listener.local_addr().expect("addr"));
            let app = Router::new().route("/echo", get(upgrade));
            axum::serve(listener, app).await.expect("serve");
        });
    }

    async fn upgrade(upgrade: IncomingUpgrade) -> impl IntoResponse {
        let (response, fut) = upgrade.upgrade().expect("upgrade");
        tokio::spawn(async move {
            let Ok(ws) = fut.await else { return };
            let mut ws = FragmentCollector::new(ws);
            while let Ok(frame) = ws.read_frame().await {
                if frame.opcode == OpCode::Close {
                    break;
                }
                let echo = matches!(frame.opcode, OpCode::Text | OpCode::Binary);
                if echo && ws.write_frame(frame).await.is_err() {
                    break;
                }
            }
        });
        response
    }
}
