//! Routing a user's requests to their home, before any upgrade or body work: served here when
//! this machine is (or becomes) the home; otherwise answered with `fly-replay: instance=<home>`
//! (421), which Fly's proxy replays there, adding `fly-replay-src`. A request that arrives
//! replayed is never replayed again: served, claimed, or 503 `unavailable` with `Retry-After`.

use super::Placement;
use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::state::AppState;
use actors::model::UserId;
use axum::extract::FromRequestParts;
use axum::http::{HeaderMap, Method, header, request::Parts};

/// Fly's proxy adds this header to a request it replays.
const FLY_REPLAY_SRC: &str = "fly-replay-src";

/// Whether the proxy replayed this request here.
fn replayed(headers: &HeaderMap) -> bool {
    headers.contains_key(FLY_REPLAY_SRC)
}

/// Serve `user`'s request here, or say where (`read`: it only reads, and may be served from this
/// replica when the primary cannot settle the home).
pub async fn route(state: &AppState, user: UserId, headers: &HeaderMap, read: bool) -> Result<(), ApiError> {
    match state.homes.place(user, replayed(headers), read).await {
        Placement::Here => Ok(()),
        Placement::Elsewhere(home) => {
            state.metrics.homes.replays.inc();
            Err(ApiError::Misdirected { home })
        }
        Placement::NotHere => Err(ApiError::NotHome),
        Placement::NoSuchUser(e) => Err(e.into()),
    }
}

/// The authenticated caller of a route of their live state (their stories, conversation and
/// history), served by their home machine.
#[derive(Clone, Copy, Debug)]
pub struct HomeUser(pub AuthUser);

impl FromRequestParts<AppState> for HomeUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let caller = AuthUser::from_request_parts(parts, state).await?;
        let read = parts.method == Method::GET && !parts.headers.contains_key(header::UPGRADE);
        route(state, caller.0, &parts.headers, read).await?;
        Ok(Self(caller))
    }
}
