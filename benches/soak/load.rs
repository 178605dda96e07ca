//! The soak's traffic against one server, shaped like the SRE's run of issue 18: real accounts
//! (argon2 on sign-up and sign-in), WebSocket sessions that connect (half of them resuming at
//! the last `seq` they saw), say a few things, sometimes confirm a story, and leave; stories
//! created over REST and read back (detail, list, cover picture) once written.

use futures_util::{SinkExt, StreamExt};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

const PASSWORD: &str = "correct horse battery staple";
/// What children say in an ordinary session (never a yes: those sessions make no story).
const LINES: [&str; 10] = [
    "a brave dragon called Pip",
    "in a snowy castle",
    "make it funny",
    "three parts",
    "actually make it a unicorn",
    "call him Max",
    "I don't know",
    "under the sea",
    "a robot called Beep Boop who is afraid of the dark",
    "I'm five",
];
/// A whole conversation that ends with a story.
const STORY: [&str; 5] = ["a brave dragon called Pip", "in a snowy castle", "make it funny", "three parts", "yes!"];
const REPLY_TIMEOUT: Duration = Duration::from_secs(30);

/// How the traffic is paced (the same for every server of a run).
#[derive(Clone, Copy)]
pub struct Shape {
    pub sessions_per_sec: f64,
    pub max_sessions: usize,
    /// One session in this many confirms a story.
    pub story_session_every: u64,
    pub rest_story_every: Duration,
    pub login_every: Duration,
}

pub struct User {
    id: String,
    email: String,
    token: Mutex<String>,
    last_seq: AtomicU64,
}

/// What the traffic did to one server, counted by the client.
#[derive(Default)]
pub struct Counters {
    pub sessions: AtomicU64,
    pub messages: AtomicU64,
    pub ws_stories: AtomicU64,
    pub rest_stories: AtomicU64,
    pub stories_read: AtomicU64,
    pub logins: AtomicU64,
    pub skipped_sessions: AtomicU64,
    pub errors: Mutex<BTreeMap<String, u64>>,
}

impl Counters {
    fn error(&self, what: impl Into<String>) {
        *actors::sync::lock(&self.errors).entry(what.into()).or_default() += 1;
    }
}

pub struct Target {
    pub base: String,
    pub client: reqwest::Client,
    pub users: Vec<User>,
    pub counters: Counters,
    next_login: AtomicU64,
}

/// `n` accounts registered over REST on the server at `base` (two at a time: argon2 is the cost).
pub async fn register(base: String, n: usize) -> Result<Target, String> {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().map_err(|e| e.to_string())?;
    let mut users = Vec::with_capacity(n);
    for pair in (0..n).collect::<Vec<_>>().chunks(2) {
        let made = pair.iter().map(|&i| {
            let (client, base) = (client.clone(), base.clone());
            async move {
                let email = format!("soak{i}@example.com");
                let body = json!({"email": email, "password": PASSWORD, "display_name": "Soak"});
                let answer = post_until_accepted(&client, &format!("{base}/auth/register"), &body).await?;
                let token = answer["access_token"].as_str().ok_or("no token")?.to_owned();
                let id = answer["user_id"].as_str().ok_or("no user id")?.to_owned();
                Ok::<_, String>(User { id, email, token: Mutex::new(token), last_seq: AtomicU64::new(0) })
            }
        });
        for user in futures_util::future::join_all(made).await {
            users.push(user?);
        }
    }
    Ok(Target { base, client, users, counters: Counters::default(), next_login: AtomicU64::new(0) })
}

/// POST `body`, waiting out 503 `busy` (the password hashers' queue is full).
async fn post_until_accepted(client: &reqwest::Client, url: &str, body: &Value) -> Result<Value, String> {
    loop {
        let response = client.post(url).json(body).send().await.map_err(|e| e.to_string())?;
        match response.status().as_u16() {
            200 | 201 => return response.json().await.map_err(|e| e.to_string()),
            429 | 503 => tokio::time::sleep(Duration::from_millis(200)).await,
            status => return Err(format!("{url}: {status}")),
        }
    }
}

/// Traffic until `until` from the accounts `users` (a window that moves each cycle, so state
/// kept per user would grow): sessions at the shape's rate (at most `max_sessions` at once; a
/// session that would exceed it is skipped and counted), REST stories and sign-ins; then waits
/// for the sessions in progress. Session `k` of every server uses the same random choices.
pub async fn run(target: Arc<Target>, shape: Shape, until: Instant, first_session: &AtomicU64, users: Range<usize>) {
    let mut tasks = tokio::task::JoinSet::new();
    let open = Arc::new(tokio::sync::Semaphore::new(shape.max_sessions));
    let mut sessions = tokio::time::interval(Duration::from_secs_f64(1.0 / shape.sessions_per_sec));
    let mut stories = tokio::time::interval(shape.rest_story_every);
    let mut logins = tokio::time::interval(shape.login_every);
    for ticker in [&mut sessions, &mut stories, &mut logins] {
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    }
    let deadline = tokio::time::sleep_until(until.into());
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            _ = &mut deadline => break,
            _ = sessions.tick() => {
                let k = first_session.fetch_add(1, Relaxed);
                let Ok(permit) = open.clone().try_acquire_owned() else {
                    target.counters.skipped_sessions.fetch_add(1, Relaxed);
                    continue;
                };
                let (target, users) = (target.clone(), users.clone());
                tasks.spawn(async move {
                    let story = k % shape.story_session_every == shape.story_session_every - 1;
                    if let Err(e) = session(&target, k, story, users).await {
                        target.counters.error(e);
                    }
                    drop(permit);
                });
            }
            _ = stories.tick() => {
                let (target, users) = (target.clone(), users.clone());
                tasks.spawn(async move {
                    if let Err(e) = rest_story(&target, users).await {
                        target.counters.error(e);
                    }
                });
            }
            _ = logins.tick() => {
                let (target, users) = (target.clone(), users.clone());
                tasks.spawn(async move {
                    if let Err(e) = login(&target, users).await {
                        target.counters.error(e);
                    }
                });
            }
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    }
    while tasks.join_next().await.is_some() {}
}

/// One WebSocket session: connect, a few messages (or a whole story conversation), leave.
async fn session(target: &Target, k: u64, story: bool, users: Range<usize>) -> Result<(), String> {
    let mut rng = StdRng::seed_from_u64(k);
    let user = &target.users[rng.random_range(users)];
    let last_seq = user.last_seq.load(Relaxed);
    let mut url = format!("{}/conversation/{}", target.base.replacen("http", "ws", 1), user.id);
    if rng.random_bool(0.5) && last_seq > 0 {
        url.push_str(&format!("?last_seq={last_seq}"));
    }
    let mut request = url.into_client_request().map_err(|e| format!("request: {e}"))?;
    let token = actors::sync::lock(&user.token).clone();
    let bearer = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|e| e.to_string())?;
    request.headers_mut().insert("authorization", bearer);
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.map_err(|e| format!("connect: {e}"))?;
    // The greeting ends with the `requirements` snapshot, which has no `seq`.
    until(&mut socket, user, |e| e["type"] == "requirements" && e.get("seq").is_none()).await?;
    let lines: Vec<&str> = if story {
        socket.send(Message::text(r#"{"type":"reset"}"#)).await.map_err(|e| format!("send: {e}"))?;
        until(&mut socket, user, |e| e["type"] == "requirements").await?;
        STORY.to_vec()
    } else {
        (0..rng.random_range(2..=4)).map(|_| LINES[rng.random_range(0..LINES.len())]).collect()
    };
    for (i, line) in lines.iter().enumerate() {
        tokio::time::sleep(Duration::from_millis(rng.random_range(200..800))).await;
        let message = json!({"type": "user_message", "content": line, "client_id": format!("{k}-{i}")});
        socket.send(Message::text(message.to_string())).await.map_err(|e| format!("send: {e}"))?;
        target.counters.messages.fetch_add(1, Relaxed);
        let last = story && i == lines.len() - 1;
        let answer = if last { "story_started" } else { "agent_message" };
        until(&mut socket, user, |e| e["type"] == answer).await?;
    }
    if story {
        target.counters.ws_stories.fetch_add(1, Relaxed);
    }
    let _ = socket.close(None).await;
    target.counters.sessions.fetch_add(1, Relaxed);
    Ok(())
}

/// Events until one `wanted` arrives (an `error` event ends the wait), keeping the user's
/// highest `seq` for the next session's resume.
async fn until(socket: &mut Socket, user: &User, wanted: impl Fn(&Value) -> bool) -> Result<Value, String> {
    let deadline = Instant::now() + REPLY_TIMEOUT;
    loop {
        let frame = tokio::time::timeout_at(deadline.into(), socket.next()).await.map_err(|_| "reply timeout")?;
        let text = match frame {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(Message::Close(close))) => return Err(format!("closed: {:?}", close.map(|c| c.code))),
            Some(Ok(other)) => return Err(format!("unexpected frame {other:?}")),
            Some(Err(e)) => return Err(format!("socket: {e}")),
            None => return Err("socket ended".into()),
        };
        let event: Value = serde_json::from_str(text.as_str()).map_err(|e| format!("bad json: {e}"))?;
        if let Some(seq) = event["seq"].as_u64() {
            user.last_seq.fetch_max(seq, Relaxed);
        }
        if event["type"] == "error" {
            return Err(format!("error event: {}", event["code"]));
        }
        if wanted(&event) {
            return Ok(event);
        }
    }
}

/// A story over REST; once written, its detail (twice: the second from the cache), the
/// user's list and the cover picture are read.
async fn rest_story(target: &Target, users: Range<usize>) -> Result<(), String> {
    let n = target.counters.rest_stories.fetch_add(1, Relaxed);
    let user = &target.users[users.start + (n as usize * 7) % users.len()];
    let token = actors::sync::lock(&user.token).clone();
    let body = json!({"prompt": "a shy fox called Ruby who wants to see the northern lights", "num_scenes": 2 + n % 4});
    let response = target
        .client
        .post(format!("{}/stories/", target.base))
        .bearer_auth(&token)
        .json(&body)
        .send()
        .await
        .map_err(|e| format!("create: {e}"))?;
    if response.status() != 202 {
        return Err(format!("create: {}", response.status()));
    }
    let created: Value = response.json().await.map_err(|e| e.to_string())?;
    let id = created["story_id"].as_str().ok_or("no story id")?.to_owned();
    let get = |path: String| target.client.get(format!("{}{path}", target.base)).bearer_auth(&token).send();
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let status: Value = get(format!("/stories/{id}/status"))
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        match status["status"].as_str() {
            Some("completed") => break,
            Some("failed") => return Err("story failed".into()),
            _ if Instant::now() > deadline => return Err("story not written within 5 min".into()),
            _ => {}
        }
    }
    let detail: Value =
        get(format!("/stories/{id}")).await.map_err(|e| e.to_string())?.json().await.map_err(|e| e.to_string())?;
    get(format!("/stories/{id}")).await.map_err(|e| e.to_string())?.bytes().await.map_err(|e| e.to_string())?;
    get(format!("/users/{}/stories?limit=5", user.id))
        .await
        .map_err(|e| e.to_string())?
        .bytes()
        .await
        .map_err(|e| e.to_string())?;
    if let Some(cover) = detail["cover_image_url"].as_str() {
        get(cover.to_owned()).await.map_err(|e| e.to_string())?.bytes().await.map_err(|e| e.to_string())?;
    }
    target.counters.stories_read.fetch_add(1, Relaxed);
    Ok(())
}

/// The next user signs in again (argon2), and their sessions use the new token.
async fn login(target: &Target, users: Range<usize>) -> Result<(), String> {
    let n = target.next_login.fetch_add(1, Relaxed) as usize;
    let user = &target.users[users.start + n % users.len()];
    let body = json!({"email": user.email, "password": PASSWORD});
    let answer = post_until_accepted(&target.client, &format!("{}/auth/login", target.base), &body).await?;
    let token = answer["access_token"].as_str().ok_or("no token")?.to_owned();
    *actors::sync::lock(&user.token) = token;
    target.counters.logins.fetch_add(1, Relaxed);
    Ok(())
}
