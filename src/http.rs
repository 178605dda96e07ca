//! The HTTP edge: each module exposes `router()`; this file merges them and adds the layers
//! (metrics, body limit, request ids, tracing without query strings).

mod auth;
mod bundle;
mod conditional;
mod conversation;
mod edge;
pub(crate) mod health;
mod json;
mod media;
pub(crate) mod openapi;
mod stories;
mod users;
mod web;

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::DefaultBodyLimit;
use axum::http::Uri;
use axum::{Extension, Router};

pub use json::ApiJson;
pub use stories::detail_renderer;

/// Every route of the service, with its layers (see `edge` for what every request goes through).
pub fn router(state: AppState) -> Router {
    let edge = edge::EdgeLayer::new(state.metrics.clone(), state.draining.clone());
    Router::new()
        .merge(auth::router())
        .merge(users::router())
        .merge(stories::router())
        .merge(health::router(state.config.http.metrics_addr.is_none()))
        .merge(conversation::router())
        .merge(media::router())
        .merge(bundle::router())
        .merge(web::router())
        .merge(crate::ws::router())
        .fallback(|| async { ApiError::NotFound("route") })
        .method_not_allowed_fallback(|| async { ApiError::BadRequest("method not allowed on this route".into()) })
        .with_state(state.clone())
        .merge(openapi::router())
        // One layer of the router's: each is boxed around every route and cloned per request.
        .layer(
            tower::ServiceBuilder::new()
                .layer(edge)
                .layer(DefaultBodyLimit::max(state.config.http.max_body_bytes))
                .layer(Extension(json::BodyLimit(state.config.http.max_body_bytes))),
        )
}

/// Text a client sends for a child's story (`field` of the request): personal data taken out,
/// and refused with 422 `unsafe_content` when it is not for children. The text is never logged.
pub async fn screened(state: &AppState, field: &'static str, text: &str) -> Result<String, ApiError> {
    use actors::ports::Observer as _;
    let text = state.safety.redact(text);
    match state.safety.check(&text).await {
        None => Ok(text),
        Some(concern) => {
            state.metrics.content_flagged(field, concern);
            tracing::info!(field, concern = concern.as_str(), "request held back by the safety check");
            Err(ApiError::UnsafeContent { field })
        }
    }
}

/// Every error is the documented JSON error: the rejections of axum's own extractors (a
/// malformed query string, a path that is not UTF-8) answer `text/plain`, so they are rewritten
/// here, keeping their status and message.
async fn json_errors(response: axum::response::Response) -> axum::response::Response {
    use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
    use axum::response::IntoResponse;
    let status = response.status();
    let json = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 16 * 1024).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes);
    let message = if text.trim().is_empty() { status.canonical_reason().unwrap_or("error") } else { text.trim() };
    let code = match status.as_u16() {
        400 => "bad_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        413 => "payload_too_large",
        415 => "unsupported_media_type",
        422 => "validation_failed",
        429 => "rate_limited",
        503 => "unavailable",
        s if s >= 500 => "internal",
        _ => "bad_request",
    };
    let body = axum::Json(serde_json::json!({"error": {"code": code, "message": message}}));
    parts.headers.remove(CONTENT_LENGTH);
    parts.headers.remove(CONTENT_TYPE);
    let mut rewritten = (status, body).into_response();
    for (name, value) in parts.headers.iter() {
        rewritten.headers_mut().insert(name.clone(), value.clone());
    }
    rewritten
}

/// A list's `limit` parameter: `default` when absent, else 1..=`max` or a 422 naming `limit`.
pub fn page_limit(raw: Option<i64>, default: u32, max: u32) -> Result<u32, ApiError> {
    match raw {
        None => Ok(default.min(max)),
        Some(n) if (1..=i64::from(max)).contains(&n) => Ok(n as u32),
        Some(_) => Err(ApiError::validation("limit", format!("limit must be between 1 and {max}"))),
    }
}

/// `/stories/` and `/stories` are the same route (the seed app posts to `/stories/`).
/// Runs before routing. `/docs/` is left alone: the docs UI lives under it.
pub fn trim_trailing_slash<B>(mut request: axum::http::Request<B>) -> axum::http::Request<B> {
    let path = request.uri().path();
    if path.len() > 1 && path.ends_with('/') && !path.starts_with("/docs") {
        let trimmed = path.trim_end_matches('/');
        let trimmed = if trimmed.is_empty() { "/" } else { trimmed };
        let new = match request.uri().query() {
            Some(q) => format!("{trimmed}?{q}"),
            None => trimmed.to_owned(),
        };
        let mut parts = request.uri().clone().into_parts();
        if let Ok(pq) = new.parse() {
            parts.path_and_query = Some(pq);
            if let Ok(uri) = Uri::from_parts(parts) {
                *request.uri_mut() = uri;
            }
        }
    }
    request
}
