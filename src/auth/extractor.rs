//! `AuthUser`: the caller, from `Authorization: Bearer <jwt>`; 401 otherwise.

use crate::error::ApiError;
use crate::state::AppState;
use actors::model::UserId;
use axum::extract::FromRequestParts;
use axum::http::{HeaderMap, header, request::Parts};

/// The authenticated caller.
#[derive(Clone, Copy, Debug)]
pub struct AuthUser(pub UserId);

impl AuthUser {
    /// 403 unless the caller is `user`: a user may act only on their own resources.
    pub fn must_be(self, user: UserId) -> Result<(), ApiError> {
        if self.0 == user { Ok(()) } else { Err(ApiError::Forbidden) }
    }

    /// A user id from a path, which must be the caller (403 otherwise, also when malformed).
    pub fn owns(self, raw: &str) -> Result<UserId, ApiError> {
        let user: UserId = raw.parse().map_err(|_| ApiError::Forbidden)?;
        self.must_be(user)?;
        Ok(user)
    }
}

/// The token of an `Authorization: Bearer …` header, if present.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token.trim())
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = bearer_token(&parts.headers).ok_or(ApiError::Unauthorized("missing bearer token"))?;
        authenticate(state, token).map(|v| AuthUser(v.user))
    }
}

/// A token that is valid and whose session was not signed out.
pub fn authenticate(state: &AppState, token: &str) -> Result<super::Verified, ApiError> {
    let verified = state.keys.verify_session(token).ok_or(ApiError::Unauthorized("invalid or expired token"))?;
    if verified.session.as_deref().is_some_and(|s| state.revoked.is_revoked(s)) {
        return Err(ApiError::Unauthorized("this session was signed out"));
    }
    Ok(verified)
}

/// The client's address: the peer of the connection, or the header a trusted proxy sets
/// (`client_ip_header`, e.g. `Fly-Client-IP`). `None` when neither is known.
#[derive(Clone, Copy, Debug)]
pub struct ClientAddress(pub Option<std::net::IpAddr>);

impl FromRequestParts<AppState> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let from_proxy = state
            .config
            .http
            .client_ip_header
            .as_deref()
            .and_then(|name| parts.headers.get(name)?.to_str().ok()?.trim().parse().ok());
        let peer = parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
        Ok(Self(from_proxy.or(peer)))
    }
}
