//! Each user has a home: machines with replicas of one real primary (`cluster`), real
//! `storymimi` processes, behind a stand-in for Fly's proxy (`fly_proxy`). A user's requests
//! reach their home wherever they land, and one conversation actor serves them; a home killed
//! mid-story is taken over within the lease and the sweep, the story finishing once per scene;
//! a home paused past its lease writes nothing more when it wakes and closes its sockets 1012.

mod model;

use crate::binary::{self, Server};
use crate::cluster::{Machine, Primary, replica_env};
use crate::fly_proxy::FlyProxy;
use crate::helpers::{metric_sum, metric_value};
use crate::ws_client::{Auth, Ws, try_connect};
use model::start_model;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// Short leases and sweeps, so takeovers happen within seconds (and a renewal every 1.3 s
/// survives a busy machine).
const LEASE_SECS: u64 = 4;
const SWEEP_SECS: u64 = 1;

/// Machines `m1`, `m2`, … with replicas of `primary` and one media dir, all started at once,
/// ready; the proxy in front of them, landing traffic on `m1`; and the media dir.
async fn cluster(primary: &Primary, count: usize, extra: &[(&str, &str)]) -> (Vec<Machine>, FlyProxy, TempDir) {
    let url = primary.url();
    let media = tempfile::tempdir().unwrap();
    let media_dir = media.path().to_str().unwrap().to_owned();
    let (lease, sweep) = (LEASE_SECS.to_string(), SWEEP_SECS.to_string());
    let names: Vec<String> = (1..=count).map(|i| format!("m{i}")).collect();
    let starting: Vec<_> = names
        .iter()
        .map(|name| {
            let mut env = replica_env(&url, extra);
            env.extend([
                ("STORYMIMI_INSTANCE_ID", name.as_str()),
                ("STORYMIMI_HOME_LEASE_SECS", lease.as_str()),
                ("STORYMIMI_HOME_SWEEP_SECS", sweep.as_str()),
                ("STORYMIMI_MEDIA_DIR", media_dir.as_str()),
            ]);
            let data = tempfile::tempdir().unwrap();
            let process = binary::spawn(data.path(), &env);
            (data, process)
        })
        .collect();
    let mut machines = Vec::new();
    for (data, process) in starting {
        let server = process.listening().unwrap_or_else(|exited| panic!("a machine did not start: {exited:#?}"));
        server.wait_ready(60).await;
        machines.push(Machine { server, data });
    }
    let routes: Vec<(&str, &str)> =
        names.iter().map(String::as_str).zip(machines.iter().map(|m| m.base.as_str())).collect();
    let proxy = FlyProxy::start(&routes).await;
    (machines, proxy, media)
}

/// Sign up through the proxy (served wherever it lands): (user id, access token).
async fn sign_up(proxy: &FlyProxy) -> (String, String) {
    let body = binary::register_at(&reqwest::Client::new(), &proxy.base, "correct horse battery").await;
    (body["user_id"].as_str().unwrap().to_owned(), body["access_token"].as_str().unwrap().to_owned())
}

/// A request through the proxy, landing on `machine` when given.
fn via(
    proxy: &FlyProxy,
    method: reqwest::Method,
    path: &str,
    token: &str,
    machine: Option<&str>,
) -> reqwest::RequestBuilder {
    let mut request = reqwest::Client::new().request(method, format!("{}{path}", proxy.base)).bearer_auth(token);
    if let Some(machine) = machine {
        request = request.header("fly-force-instance-id", machine);
    }
    request
}

/// The user's socket through the proxy (landing on `machine` when given), greeting read.
async fn socket(proxy: &FlyProxy, user: &str, token: &str, machine: Option<&str>) -> Ws {
    let extra: Vec<(&'static str, &str)> = machine.map(|m| ("fly-force-instance-id", m)).into_iter().collect();
    let url = proxy.ws(&format!("/conversation/{user}"));
    let mut ws = try_connect(&url, Auth::Header(token), &extra).await.expect("the handshake");
    assert_eq!(ws.next_event().await["type"], "session");
    assert_eq!(ws.next_event().await["type"], "requirements");
    ws
}

async fn metrics(machine: &Server) -> String {
    machine.client.get(format!("{}/metrics", machine.base)).send().await.unwrap().text().await.unwrap()
}

async fn metric(machine: &Server, line_start: &str) -> f64 {
    metric_value(&metrics(machine).await, line_start).unwrap_or_else(|| panic!("no {line_start}"))
}

/// The user's home on the primary: (instance, holder empty or not, epoch).
async fn home_on_primary(primary: &Primary, user: &str) -> Option<(String, bool, i64)> {
    let rows = primary.query(&format!("SELECT instance, holder, epoch FROM homes WHERE user_id = '{user}'")).await;
    let row = rows.first()?;
    let epoch = row[2].as_str().and_then(|e| e.parse().ok()).unwrap();
    Some((row[0].as_str().unwrap().to_owned(), row[1].as_str().is_some_and(|h| !h.is_empty()), epoch))
}

/// Wait (at most `secs`) until `check` holds; how long it took.
async fn until<F: AsyncFn() -> bool>(what: &str, secs: u64, check: F) -> Duration {
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < Duration::from_secs(secs), "not within {secs} s: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    started.elapsed()
}

async fn story_status(primary: &Primary, story: &str) -> String {
    let rows = primary.query(&format!("SELECT status FROM stories WHERE id = '{story}'")).await;
    rows[0][0].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_users_requests_reach_their_home_wherever_they_land_and_one_conversation_serves_them() {
    let Some(primary) = Primary::start().await else { return };
    let (machines, proxy, _media) = cluster(&primary, 2, &[]).await;
    proxy.land_on("m2");
    let (user, token) = sign_up(&proxy).await;
    assert_eq!(primary.count("SELECT count(*) FROM homes").await, 0, "signing up claims no home");

    let mut first = socket(&proxy, &user, &token, Some("m1")).await;
    assert_eq!(home_on_primary(&primary, &user).await.map(|h| h.0), Some("m1".into()));
    // Story routes and a second socket land on m2, and are replayed to m1.
    let created = via(&proxy, reqwest::Method::POST, "/stories/", &token, Some("m2"))
        .json(&json!({"prompt": "a shy unicorn called Luna", "num_scenes": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 202);
    let story = created.json::<Value>().await.unwrap()["story_id"].as_str().unwrap().to_owned();
    let (started, _) = first.until("story_started").await;
    assert_eq!(started["story_id"], story.as_str(), "the story's events reach the socket on the home");
    let history = via(&proxy, reqwest::Method::GET, &format!("/conversation/{user}/history"), &token, Some("m2"));
    assert_eq!(history.send().await.unwrap().status(), 200);
    let mut second = socket(&proxy, &user, &token, Some("m2")).await;
    second.say("a brave dragon called Pip").await;
    first.until("agent_message").await;
    second.until("agent_message").await;
    assert!(proxy.replays() >= 3, "replayed: {}", proxy.replays());
    assert!(metric(&machines[1], "storymimi_replays_total").await >= 3.0);
    // One conversation actor, on the home, with both sockets.
    let alive = |m: &str, kind: &str| metric_sum(m, "storymimi_actors_alive", &format!("kind=\"{kind}\""));
    let (on_home, elsewhere) = (metrics(&machines[0]).await, metrics(&machines[1]).await);
    assert_eq!((alive(&on_home, "conversation"), alive(&on_home, "connection")), (1.0, 2.0));
    assert_eq!((alive(&elsewhere, "conversation"), alive(&elsewhere, "connection")), (0.0, 0.0));
    assert_eq!(metric_value(&on_home, "storymimi_homes_held").unwrap(), 1.0);

    // Straight at m2, a request is sent to the home; one already replayed is never replayed again.
    let direct = |replayed: bool| {
        let request = machines[1].client.get(format!("{}/stories/{story}", machines[1].base)).bearer_auth(&token);
        if replayed { request.header("fly-replay-src", "instance=m1;state=replayed") } else { request }
    };
    let misdirected = direct(false).send().await.unwrap();
    assert_eq!(misdirected.status(), 421);
    assert_eq!(misdirected.headers()["fly-replay"], "instance=m1");
    let refused = direct(true).send().await.unwrap();
    assert_eq!(refused.status(), 503);
    assert!(refused.headers().contains_key("retry-after"));
    assert_eq!(refused.json::<Value>().await.unwrap()["error"]["code"], "unavailable");
    // Media are served by any machine, straight.
    first.until("story_completed").await;
    let detail: Value = via(&proxy, reqwest::Method::GET, &format!("/stories/{story}"), &token, Some("m2"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let picture = detail["scenes"][0]["image_url"].as_str().unwrap();
    let media = machines[1].client.get(format!("{}{picture}", machines[1].base)).send().await.unwrap();
    assert_eq!(media.status(), 200);
}

/// A cluster writing stories with `model` (pictures builtin, no narration).
async fn cluster_with_model(primary: &Primary, base: &str) -> (Vec<Machine>, FlyProxy, TempDir) {
    let env = [
        ("STORYMIMI_LLM", "openai"),
        ("STORYMIMI_LLM_BASE_URL", base),
        ("STORYMIMI_LLM_API_KEY", "sk-test"),
        ("STORYMIMI_LLM_MODEL", "test-model"),
    ];
    cluster(primary, 2, &env).await
}

/// Create a five-scene story through the proxy (landing on m1) and wait for its first scene.
async fn story_on_m1(proxy: &FlyProxy, token: &str, ws: &mut Ws) -> String {
    let body = json!({"prompt": "a fox called Ruby", "num_scenes": 5});
    let created = via(proxy, reqwest::Method::POST, "/stories/", token, Some("m1")).json(&body).send().await.unwrap();
    assert_eq!(created.status(), 202);
    let story = created.json::<Value>().await.unwrap()["story_id"].as_str().unwrap().to_owned();
    ws.until("scene_ready").await;
    story
}

async fn scenes_on_primary(primary: &Primary, story: &str) -> Vec<i64> {
    let rows =
        primary.query(&format!("SELECT sequence FROM scenes WHERE story_id = '{story}' ORDER BY sequence")).await;
    rows.iter().map(|r| r[0].as_str().unwrap().parse().unwrap()).collect()
}

#[tokio::test]
async fn a_home_killed_mid_story_is_taken_over_and_every_scene_is_written_once() {
    let Some(primary) = Primary::start().await else { return };
    let (model, base) = start_model(Duration::from_millis(800)).await;
    let (mut machines, proxy, _media) = cluster_with_model(&primary, &base).await;
    let (user, token) = sign_up(&proxy).await;
    let mut ws = socket(&proxy, &user, &token, Some("m1")).await;
    let story = story_on_m1(&proxy, &token, &mut ws).await;

    machines[0].kill();
    let stored_before = scenes_on_primary(&primary, &story).await;
    assert!(!stored_before.is_empty() && stored_before.len() < 5, "mid-story: {stored_before:?}");
    assert_eq!(ws.closed().await, None, "the socket went with the machine");
    // Nobody is connected: the sweep on m2 finds the unfinished story once the lease lapses.
    let took = until("m2 takes the user over", 60, async || {
        home_on_primary(&primary, &user)
            .await
            .is_some_and(|(instance, held, epoch)| instance == "m2" && held && epoch == 2)
    })
    .await;
    eprintln!("took over {took:?} after kill -9 (lease {LEASE_SECS} s, sweep {SWEEP_SECS} s)");
    // The lapsed lease and the next sweep, with room for a busy machine (no request came).
    assert!(took < Duration::from_secs(LEASE_SECS + SWEEP_SECS + 15), "{took:?}");
    // (The primary has the claim a moment before m2 has heard back and counted it.)
    until("m2 counts its takeover", 30, async || metric(&machines[1], "storymimi_home_takeovers_total").await >= 1.0)
        .await;
    let on_m2 = metrics(&machines[1]).await;
    assert_eq!(metric_value(&on_m2, "storymimi_home_takeovers_total"), Some(1.0));
    assert_eq!(metric_value(&on_m2, "storymimi_home_claims_total{reason=\"sweep\"}"), Some(1.0));
    until("the story completes on m2", 120, async || story_status(&primary, &story).await == "completed").await;

    assert_eq!(scenes_on_primary(&primary, &story).await, [1, 2, 3, 4, 5], "each scene stored once");
    assert_eq!(*model.plans.lock().unwrap(), 1, "the stored plan was taken up, not made again");
    let calls = model.scenes.lock().unwrap().clone();
    for sequence in &stored_before {
        assert_eq!(calls[&(*sequence as usize)], 1, "scene {sequence} was stored before the kill: {calls:?}");
    }
    // Only scenes in flight at the kill (written ahead, at most 3: the pipeline's lookahead,
    // never stored) were asked for again.
    assert!(calls.values().sum::<u32>() <= 5 + 3, "{calls:?}");

    // The app reconnects through the proxy (m1 is gone: it lands on m2, the home) and gets its story.
    let _ws = socket(&proxy, &user, &token, None).await;
    let detail = via(&proxy, reqwest::Method::GET, &format!("/stories/{story}"), &token, None).send().await.unwrap();
    let detail: Value = detail.json().await.unwrap();
    assert_eq!(detail["status"], "completed");
    assert_eq!(detail["scenes"].as_array().unwrap().len(), 5);
}

#[tokio::test]
async fn a_home_paused_past_its_lease_writes_nothing_when_it_wakes_and_closes_its_sockets_1012() {
    let Some(primary) = Primary::start().await else { return };
    let (model, base) = start_model(Duration::from_millis(800)).await;
    let (machines, proxy, _media) = cluster_with_model(&primary, &base).await;
    let (user, token) = sign_up(&proxy).await;
    let mut ws = socket(&proxy, &user, &token, Some("m1")).await;
    let story = story_on_m1(&proxy, &token, &mut ws).await;

    machines[0].pause();
    until("m2 takes the user over", 60, async || {
        home_on_primary(&primary, &user).await.is_some_and(|(instance, _, _)| instance == "m2")
    })
    .await;
    until("the story completes on m2", 120, async || story_status(&primary, &story).await == "completed").await;
    let snapshot =
        "SELECT status, stage, updated_at, (SELECT count(*) FROM scenes WHERE story_id = s.id) FROM stories s";
    let finished = primary.query(snapshot).await;
    let turns = primary.count("SELECT count(*) FROM conversation_turns").await;
    let fenced_before = metric(&machines[1], "storymimi_fenced_writes_total").await;

    // m1 wakes up believing it is home, with a scene in flight: its writes are refused.
    machines[0].resume();
    assert_eq!(ws.closed().await, Some(1012), "the app is told to reconnect");
    until("m1 notices", 30, async || metric(&machines[0], "storymimi_fenced_writes_total").await >= 1.0).await;
    assert_eq!(metric(&machines[0], "storymimi_homes_held").await, 0.0);
    assert_eq!(metric_sum(&metrics(&machines[0]).await, "storymimi_actors_alive", "kind=\"story\""), 0.0);
    assert_eq!(primary.query(snapshot).await, finished, "m1 wrote nothing to the story");
    assert_eq!(primary.count("SELECT count(*) FROM conversation_turns").await, turns);
    assert_eq!(metric(&machines[1], "storymimi_fenced_writes_total").await, fenced_before);
    assert_eq!(home_on_primary(&primary, &user).await.map(|h| h.0), Some("m2".into()));

    // Reconnecting through the proxy lands on m1, which sends it to m2.
    let mut again = socket(&proxy, &user, &token, Some("m1")).await;
    again.say("a brave dragon called Pip").await;
    again.until("agent_message").await;
    assert_eq!(metric_sum(&metrics(&machines[1]).await, "storymimi_actors_alive", "kind=\"connection\""), 1.0);
    assert!(model.scenes.lock().unwrap().values().all(|calls| *calls <= 2));
}

#[tokio::test]
async fn an_idle_users_home_is_let_go_and_the_next_machine_they_reach_becomes_it() {
    let Some(primary) = Primary::start().await else { return };
    let (machines, proxy, _media) = cluster(&primary, 2, &[("STORYMIMI_CONVERSATION_IDLE_SECS", "1")]).await;
    let (user, token) = sign_up(&proxy).await;
    let ws = socket(&proxy, &user, &token, Some("m1")).await;
    assert_eq!(home_on_primary(&primary, &user).await, Some(("m1".into(), true, 1)));
    drop(ws);
    // Passivated with no socket and no story: let go, the row (and its epoch) kept.
    until("m1 lets the home go", 30, async || home_on_primary(&primary, &user).await == Some(("m1".into(), false, 1)))
        .await;
    until("m1 holds nothing", 30, async || metric(&machines[0], "storymimi_homes_held").await == 0.0).await;
    // The family shows up at m2 (straight, no proxy: a 421 only means m2's replica has not yet
    // synced the release, every 200 ms here).
    let stories = format!("{}/users/{user}/stories", machines[1].base);
    until("m2 serves the user", 30, async || {
        machines[1].client.get(&stories).bearer_auth(&token).send().await.unwrap().status() == 200
    })
    .await;
    assert_eq!(home_on_primary(&primary, &user).await, Some(("m2".into(), true, 2)));
    let replays = proxy.replays();
    let _ws = socket(&proxy, &user, &token, Some("m2")).await;
    assert_eq!(proxy.replays(), replays, "its socket is served where it landed");
    let on_m2 = metrics(&machines[1]).await;
    assert_eq!(metric_value(&on_m2, "storymimi_home_claims_total{reason=\"request\"}"), Some(1.0));
    assert_eq!(metric_value(&on_m2, "storymimi_home_takeovers_total"), Some(0.0), "released, not lapsed");
}
