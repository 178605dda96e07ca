//! `GET /conversation/{user_id}`: the WebSocket. Authentication, the user check, the user's
//! home (a replay to it) and the `Origin` allowlist happen before the upgrade, so failures are
//! ordinary HTTP errors.
//! The socket itself is pumped by `socket.rs`; the decisions are the ConnectionActor's.

mod batched;
mod close;
mod slots;
mod socket;

pub use slots::{SocketSlot, SocketSlots};

use crate::auth::bearer_token;
use crate::error::ApiError;
use crate::state::AppState;
use actors::model::UserId;
use axum::Router;
use axum::body::Body;
use axum::extract::{FromRequestParts, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use axum::routing::get;
use fastwebsockets::upgrade::IncomingUpgrade;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new().route("/conversation/{user_id}", get(connect))
}

#[derive(Deserialize)]
struct ConnectParams {
    /// For browsers, which cannot set headers on a WebSocket. Never logged.
    access_token: Option<String>,
    /// Resume at connect time: replay events after this sequence number.
    last_seq: Option<u64>,
}

/// Every protocol the client offered in `Sec-WebSocket-Protocol` (all header lines).
fn offered_protocols(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect()
}

/// The protocol to echo: one the client offered that is not the token itself (the seed app
/// offers `Authorization, Bearer <token>`: we answer `Authorization`). A token is never echoed
/// back in a response header: a client offering only `Bearer <token>` gets none.
fn chosen_protocol(offered: &[String]) -> Option<&str> {
    offered.iter().find(|p| !p.starts_with("Bearer ")).map(String::as_str)
}

/// Browsers send `Origin`; native apps do not. Allowed: the configured list, the public URL's
/// origin, and the service's own origin — the request's host with the service's scheme
/// (`https` when the public URL is, else `http`): scheme, host and port must all match.
fn origin_allowed(origin: &str, host: Option<&str>, public_url: Option<&str>, allowed: &[String]) -> bool {
    let origin = origin.trim_end_matches('/');
    let same = |candidate: &str| candidate.trim_end_matches('/').eq_ignore_ascii_case(origin);
    if allowed.iter().any(|a| a == "*" || same(a)) {
        return true;
    }
    let public_origin = public_url.map(|u| {
        let (scheme, rest) = u.split_once("://").unwrap_or(("http", u));
        format!("{scheme}://{}", rest.split('/').next().unwrap_or(rest))
    });
    if public_origin.as_deref().is_some_and(same) {
        return true;
    }
    let scheme = public_url.and_then(|u| u.split_once("://")).map_or("http", |(s, _)| s);
    host.is_some_and(|h| same(&format!("{scheme}://{h}")))
}

async fn connect(
    State(state): State<AppState>,
    Path(user_id): Path<String>,
    Query(params): Query<ConnectParams>,
    request: Request,
) -> Result<Response, ApiError> {
    let (mut parts, _) = request.into_parts();
    let offered = offered_protocols(&parts.headers);
    let token = bearer_token(&parts.headers)
        .map(str::to_owned)
        .or_else(|| offered.iter().find_map(|p| p.strip_prefix("Bearer ").map(|t| t.trim().to_owned())))
        .or(params.access_token)
        .ok_or(ApiError::Unauthorized("missing bearer token"))?;
    let verified = crate::auth::authenticate(&state, &token)?;
    let user: UserId = user_id.parse().map_err(|_| ApiError::Forbidden)?;
    if user != verified.user {
        return Err(ApiError::Forbidden);
    }
    // The user's live state is on their home machine: the proxy replays the upgrade there.
    crate::homes::route(&state, user, &parts.headers, false).await?;
    let slot = state.sockets.take(user).ok_or(ApiError::TooManySockets { limit: state.sockets.limit() })?;
    if let Some(origin) = parts.headers.get(header::ORIGIN) {
        let host = parts.headers.get(header::HOST).and_then(|h| h.to_str().ok());
        let public_url = state.config.http.public_url.as_deref();
        if !origin.to_str().is_ok_and(|o| origin_allowed(o, host, public_url, &state.config.ws.allowed_origins)) {
            return Err(ApiError::Forbidden);
        }
    }
    let upgrade = IncomingUpgrade::from_request_parts(&mut parts, &state)
        .await
        .map_err(|_| ApiError::BadRequest("expected a WebSocket upgrade (Sec-WebSocket-Key, version 13)".into()))?;
    let (response, upgraded) =
        upgrade.upgrade().map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("upgrade")))?;
    let mut response = response.map(Body::new);
    if let Some(protocol) = chosen_protocol(&offered).and_then(|p| HeaderValue::from_str(p).ok()) {
        response.headers_mut().insert(header::SEC_WEBSOCKET_PROTOCOL, protocol);
    }
    let socket = socket::SocketOwner { user, last_seq: params.last_seq, token_expires_at: verified.expires_at, slot };
    tokio::spawn(socket::serve(upgraded, state, socket));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echoes_an_offered_protocol_never_inventing_one() {
        let seed = vec!["Authorization".to_owned(), "Bearer abc.def".to_owned()];
        assert_eq!(chosen_protocol(&seed), Some("Authorization"));
        assert_eq!(chosen_protocol(&["Bearer abc".to_owned()]), None, "the token is never echoed");
        assert_eq!(chosen_protocol(&[]), None);
    }

    #[test]
    fn origins() {
        let allowed = vec!["https://app.storymimi.example".to_owned()];
        assert!(origin_allowed("https://app.storymimi.example", None, None, &allowed));
        assert!(origin_allowed("http://localhost:8080", Some("localhost:8080"), None, &[]));
        assert!(!origin_allowed("https://localhost:8080", Some("localhost:8080"), None, &[]), "the scheme counts");
        assert!(!origin_allowed("http://localhost:9090", Some("localhost:8080"), None, &[]), "the port counts");
        assert!(!origin_allowed("https://evil.example", Some("localhost:8080"), None, &allowed));
        assert!(origin_allowed("https://anything.example", None, None, &["*".to_owned()]));
        // Behind a TLS proxy: the public URL says https.
        let public = Some("https://storymimi.fly.dev");
        assert!(origin_allowed("https://storymimi.fly.dev", Some("storymimi.fly.dev"), public, &[]));
        assert!(!origin_allowed("http://storymimi.fly.dev", Some("storymimi.fly.dev"), public, &[]));
    }
}
