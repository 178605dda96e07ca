//! A small stand-in for Fly's proxy in front of the cluster's machines. Each request lands on
//! a chosen machine (`fly-force-instance-id`, as Fly honours it, else the one the test landed
//! traffic on; a machine that does not answer is passed over for the next, as Fly routes around
//! a dead one). A response carrying `fly-replay: instance=<id>` is not passed on: the request,
//! kept whole, is sent to that machine with `fly-replay-src` added, and what it answers is the
//! answer — also for a WebSocket upgrade, whose 101 is then spliced through. Like Fly, it
//! replays a request once.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Response, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// The largest request body it keeps for a replay (Fly keeps up to 1 MB).
const MAX_BODY: usize = 1 << 20;

struct Machines {
    /// Instance id and `host:port`, in the order a dead one is passed over for the next.
    all: Vec<(String, String)>,
    landing: Mutex<String>,
    replays: AtomicUsize,
}

pub struct FlyProxy {
    /// `http://127.0.0.1:port`.
    pub base: String,
    machines: Arc<Machines>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FlyProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FlyProxy {
    /// A proxy in front of `machines` (instance id, base URL), landing traffic on the first.
    pub async fn start(machines: &[(&str, &str)]) -> Self {
        let all: Vec<(String, String)> = machines
            .iter()
            .map(|(id, base)| ((*id).to_owned(), base.trim_start_matches("http://").to_owned()))
            .collect();
        let landing = Mutex::new(all[0].0.clone());
        let machines = Arc::new(Machines { all, landing, replays: AtomicUsize::new(0) });
        let app = axum::Router::new().fallback(forward).with_state(machines.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { base, machines, task }
    }

    /// Land the requests that name no machine on `instance` from now on.
    pub fn land_on(&self, instance: &str) {
        *self.machines.landing.lock().unwrap() = instance.to_owned();
    }

    /// Requests replayed so far.
    pub fn replays(&self) -> usize {
        self.machines.replays.load(Ordering::SeqCst)
    }

    /// `ws://…` for `path`.
    pub fn ws(&self, path: &str) -> String {
        format!("{}{path}", self.base.replacen("http", "ws", 1))
    }
}

fn answer(status: StatusCode, text: &str) -> Response<Body> {
    Response::builder().status(status).body(Body::from(text.to_owned())).unwrap()
}

/// The instance a `fly-replay` value names (`instance=<id>`, among other fields).
fn replay_target(headers: &HeaderMap) -> Option<String> {
    let value = headers.get("fly-replay")?.to_str().ok()?;
    value.split([';', ',']).find_map(|field| field.trim().strip_prefix("instance=").map(str::to_owned))
}

async fn forward(State(machines): State<Arc<Machines>>, mut request: Request) -> Response<Body> {
    let client_upgrade = hyper::upgrade::on(&mut request);
    let (parts, body) = request.into_parts();
    let Ok(body) = http_body_util::Limited::new(body, MAX_BODY).collect().await.map(|b| b.to_bytes()) else {
        return answer(StatusCode::PAYLOAD_TOO_LARGE, "too large to replay");
    };
    let mut headers = parts.headers.clone();
    headers.remove(header::TRANSFER_ENCODING);
    let forced = headers.remove("fly-force-instance-id").and_then(|v| v.to_str().ok().map(str::to_owned));
    let first = forced.unwrap_or_else(|| machines.landing.lock().unwrap().clone());
    let path = parts.uri.path_and_query().map_or("/".to_owned(), |p| p.to_string());
    let send = |target: String, headers: HeaderMap| {
        let (method, path, body) = (parts.method.clone(), path.clone(), body.clone());
        let machines = machines.clone();
        async move {
            let mut order: Vec<&(String, String)> = machines.all.iter().filter(|(id, _)| *id == target).collect();
            order.extend(machines.all.iter().filter(|(id, _)| *id != target));
            for (id, addr) in order {
                let Ok(stream) = tokio::net::TcpStream::connect(addr).await else { continue };
                let Ok((mut sender, conn)) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await else {
                    continue;
                };
                tokio::spawn(conn.with_upgrades());
                let mut request = hyper::Request::builder().method(method.clone()).uri(path.clone());
                *request.headers_mut().unwrap() = headers.clone();
                let request = request.body(Full::new(body.clone())).unwrap();
                if let Ok(response) = sender.send_request(request).await {
                    return Some((id.clone(), response));
                }
            }
            None
        }
    };
    let Some((landed, mut response)) = send(first, headers.clone()).await else {
        return answer(StatusCode::BAD_GATEWAY, "no machine answers");
    };
    if let Some(target) = replay_target(response.headers()) {
        machines.replays.fetch_add(1, Ordering::SeqCst);
        let source = format!("instance={landed};region=local;state=replayed");
        headers.insert("fly-replay-src", HeaderValue::from_str(&source).unwrap());
        let Some((_, replayed)) = send(target, headers).await else {
            return answer(StatusCode::BAD_GATEWAY, "the replay target does not answer");
        };
        response = replayed;
    }
    if response.status() == StatusCode::SWITCHING_PROTOCOLS {
        let machine_upgrade = hyper::upgrade::on(&mut response);
        tokio::spawn(async move {
            if let (Ok(client), Ok(machine)) = (client_upgrade.await, machine_upgrade.await) {
                let _ = tokio::io::copy_bidirectional(&mut TokioIo::new(client), &mut TokioIo::new(machine)).await;
            }
        });
    }
    response.map(Body::new)
}
