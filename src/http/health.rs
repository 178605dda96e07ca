//! Liveness, readiness (of the service, and of this machine for a proxy's routing) and the
//! Prometheus endpoint; and the drain: from the shutdown signal on, readiness fails and every
//! other request is told to come back (503 + `Retry-After`) while the process finishes its
//! work, instead of finding the port closed.

use crate::config::MediaBackend;
use crate::db::ReplicaHealth;
use crate::error::ApiError;
use crate::state::AppState;
use crate::storage_errors::io_kind;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, Version, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether the process is draining (shutting down). Set once, never cleared.
#[derive(Default)]
pub struct Draining(AtomicBool);

impl Draining {
    pub fn begin(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub fn is_draining(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// While draining, the answer to every request but the health and metrics endpoints: 503
/// `unavailable`, `Retry-After` and `Connection: close`, WebSocket upgrades included (before
/// any upgrade), so clients back off and reconnect to the next process.
pub fn drain_refusal(request: &Request) -> Option<Response> {
    if matches!(request.uri().path(), "/healthz" | "/readyz" | "/readyz/machine" | "/metrics") {
        return None;
    }
    let mut response = ApiError::Unavailable("the server is restarting; try again shortly").into_response();
    // HTTP/1 keep-alive clients reconnect (to another machine, or the next process); HTTP/2
    // has no such header, its connections end when the server stops.
    if request.version() <= Version::HTTP_11 {
        response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    Some(response)
}

/// Health and readiness; `/metrics` too unless it has a port of its own (`metrics_addr`).
pub fn router(metrics_here: bool) -> Router<AppState> {
    let router = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/readyz/machine", get(machine_readyz));
    if metrics_here { router.route("/metrics", get(metrics)) } else { router }
}

/// Only `/metrics`, for the internal metrics port.
pub fn metrics_router(state: AppState) -> Router {
    Router::new().route("/metrics", get(metrics)).with_state(state)
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "alive")))]
pub async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

/// The database and the media store answer (and an embedded replica is in sync with its
/// primary: `replica` says since when it is not); 503 otherwise, and at once from the shutdown
/// signal on (`"status": "draining"`). Each provider (llm, illustrator, narrator) is reported
/// with whether it answers, but does not make the service unready: a story whose provider is
/// down fails with a reason and can be retried.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, description = "ready"), (status = 503, description = "a dependency is down, or shutting down")))]
pub async fn readyz(State(state): State<AppState>) -> Response {
    let Some(checks) = Checks::run(&state, true).await else { return draining() };
    let media = checks.media.clone().unwrap_or(Ok(()));
    let ok = checks.database().is_ok() && media.is_ok() && checks.storage.is_ok();
    let providers = state.providers.report().await;
    let reason = [checks.database(), media, checks.storage.clone()].into_iter().find_map(Result::err);
    let mut body = json!({
        "status": if ok { "ready" } else { "unavailable" },
        "checks": checks.words(),
        "reason": reason,
        "narrator": providers["narrator"],
        "providers": providers,
    });
    checks.add_replica(&mut body);
    (if ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE }, Json(body)).into_response()
}

/// Whether a proxy should send this machine traffic (Fly's routing check): 503 only for what
/// another machine would not share: draining, its own database file or replica not answering
/// (or a replica not synced once since start-up: it may be arbitrarily old), its data volume
/// full, its local media directory. The database primary, which every machine shares, is
/// reported (`"status": "degraded"`, with the reason) but answers 200: routing away from one
/// machine would not help, and routing away from all of them would refuse every family, where
/// the machines can still serve reads, media and the conversation. An S3 media store, shared
/// too, is not asked at all (a store that hangs must not slow this check): `/readyz` reports it.
#[utoipa::path(get, path = "/readyz/machine", tag = "operations",
    responses((status = 200, description = "this machine can serve (\"degraded\": a shared dependency is down)"),
        (status = 503, description = "this machine cannot serve, or is shutting down")))]
pub async fn machine_readyz(State(state): State<AppState>) -> Response {
    let shared_media = state.config.storage.backend == MediaBackend::S3;
    let Some(checks) = Checks::run(&state, !shared_media).await else { return draining() };
    let own = [
        checks.local.clone(),
        checks.replica_synced_once(),
        checks.storage.clone(),
        checks.media.clone().unwrap_or(Ok(())),
    ];
    let (status, code, reason) = match (own.into_iter().find_map(Result::err), checks.primary().err()) {
        (Some(reason), _) => ("unavailable", StatusCode::SERVICE_UNAVAILABLE, Some(reason)),
        (None, Some(reason)) => ("degraded", StatusCode::OK, Some(reason)),
        (None, None) => ("ready", StatusCode::OK, None),
    };
    let mut body = json!({ "status": status, "checks": checks.words(), "reason": reason });
    checks.add_replica(&mut body);
    (code, Json(body)).into_response()
}

fn draining() -> Response {
    let body = json!({ "status": "draining", "reason": "the server is shutting down" });
    (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
}

/// One look at what readiness depends on; `None` while draining.
struct Checks {
    /// The local database file, or the replica's file, answers a query.
    local: Result<(), String>,
    replica: Option<ReplicaHealth>,
    /// `None` when not asked.
    media: Option<Result<(), String>>,
    storage: Result<(), String>,
}

impl Checks {
    async fn run(state: &AppState, ask_media: bool) -> Option<Self> {
        if state.draining.is_draining() {
            return None;
        }
        let local = state.db.ping().await.map_err(|e| {
            tracing::warn!(check = "database", error = ?e, "readiness check failed");
            format!("the database does not answer ({})", e.kind().as_str())
        });
        let media = match ask_media {
            true => Some(state.media.check().await.map_err(|e| {
                tracing::warn!(check = "media", error = ?e, "readiness check failed");
                format!("the media store does not answer ({})", e.kind().as_str())
            })),
            false => None,
        };
        let storage = writable(&state.config.data_dir).await.map_err(|e| {
            tracing::warn!(check = "storage", error = ?e, "readiness check failed");
            format!("the data volume cannot take writes ({})", io_kind(&e).as_str())
        });
        Some(Self { local, replica: state.db.replica_health(), media, storage })
    }

    /// A replica is current once it is in sync with its primary; until then it serves reads
    /// from what it has, but writes cannot be made.
    fn primary(&self) -> Result<(), String> {
        self.replica.as_ref().and_then(ReplicaHealth::problem).map_or(Ok(()), Err)
    }

    /// The service's database: the file answers and, for a replica, the primary too.
    fn database(&self) -> Result<(), String> {
        self.local.clone().and_then(|()| self.primary())
    }

    fn replica_synced_once(&self) -> Result<(), String> {
        match &self.replica {
            Some(replica) if !replica.ever_synced => {
                Err("the replica has not synced with the database primary since start-up".into())
            }
            _ => Ok(()),
        }
    }

    fn words(&self) -> serde_json::Value {
        let word = |r: &Result<(), String>| if r.is_ok() { "ok" } else { "down" };
        let mut checks = json!({ "database": word(&self.database()), "storage": word(&self.storage) });
        if let Some(media) = &self.media {
            checks["media"] = json!(word(media));
        }
        if self.replica.is_some() {
            checks["primary"] = json!(word(&self.primary()));
        }
        checks
    }

    /// The primary's address and the sync's error stay in the logs (this answers anyone).
    fn add_replica(&self, body: &mut serde_json::Value) {
        if let Some(replica) = &self.replica {
            body["replica"] = json!({
                "in_sync": replica.in_sync,
                "ever_synced": replica.ever_synced,
                "sync_age_seconds": (replica.sync_age.as_secs_f64() * 10.0).round() / 10.0,
            });
        }
    }
}

/// Room to write in the data directory (the database and local media live there): a small
/// file is written and removed. A full or read-only volume fails here before users do.
async fn writable(dir: &std::path::Path) -> std::io::Result<()> {
    let probe = dir.join(".readyz-probe");
    let written = tokio::fs::write(&probe, vec![0u8; 64 * 1024]).await;
    let _ = tokio::fs::remove_file(&probe).await;
    written
}

/// Prometheus text exposition.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, description = "metrics", content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    refresh_levels(&state).await;
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], state.metrics.render())
}

/// Levels read at scrape time: a replica's sync age, password checks in use, and the
/// unfinished stories by stage (one indexed query; a database that does not answer in time
/// leaves the last values).
async fn refresh_levels(state: &AppState) {
    if let Some(replica) = state.db.replica_health() {
        state.metrics.replica_sync_age.set(replica.sync_age.as_secs_f64());
    }
    let capacity = &state.metrics.capacity;
    let (used, _) = state.auth.hasher.slots();
    capacity.password_hash_slots_used.set(i64::try_from(used).unwrap_or(i64::MAX));
    match tokio::time::timeout(std::time::Duration::from_secs(2), state.db.unfinished_by_stage()).await {
        Ok(Ok(stages)) => capacity.set_unfinished(&stages),
        Ok(Err(e)) => tracing::warn!(error = %e, "could not count the unfinished stories for /metrics"),
        Err(_) => tracing::warn!("counting the unfinished stories for /metrics timed out"),
    }
}
