//! `GET /media/{key}?sig=…`: media bytes for the app's cache. The URL is a stable capability
//! (content-addressed key + HMAC, no expiry); responses carry the exact type, a strong ETag,
//! year-long immutable caching, and answer single byte ranges (iOS players probe `bytes=0-1`).
//! Bytes are streamed from storage, never buffered whole.

use crate::error::ApiError;
use crate::media::{content_type_of, hash_of, is_valid_key};
use crate::state::AppState;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

const CACHE_FOREVER: &str = "public, max-age=31536000, immutable";

pub fn router() -> Router<AppState> {
    Router::new().route("/media/{*key}", get(media))
}

#[derive(Deserialize)]
pub struct MediaParams {
    sig: Option<String>,
}

/// Which bytes to send.
#[derive(Debug, PartialEq)]
enum Span {
    Whole,
    Part { start: u64, end: u64 },
    Unsatisfiable,
}

/// One `bytes=` range against an object of `size` bytes. Several ranges, other units or
/// malformed headers are ignored (the whole object is sent), as RFC 9110 allows.
fn span(header: Option<&str>, size: u64) -> Span {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else { return Span::Whole };
    if spec.contains(',') {
        return Span::Whole;
    }
    let Some((first, last)) = spec.split_once('-') else { return Span::Whole };
    let (first, last) = (first.trim(), last.trim());
    let (start, end) = match (first.parse::<u64>(), last.parse::<u64>()) {
        (Ok(start), Ok(end)) if start <= end => (start, end.min(size.saturating_sub(1))),
        (Ok(_), Ok(_)) => return Span::Whole,
        (Ok(start), Err(_)) if last.is_empty() => (start, size.saturating_sub(1)),
        (Err(_), Ok(suffix)) if first.is_empty() => {
            if suffix == 0 {
                return Span::Unsatisfiable;
            }
            (size.saturating_sub(suffix), size.saturating_sub(1))
        }
        _ => return Span::Whole,
    };
    if size == 0 || start >= size { Span::Unsatisfiable } else { Span::Part { start, end } }
}

async fn media(
    State(state): State<AppState>,
    Path(key): Path<String>,
    Query(params): Query<MediaParams>,
    headers: HeaderMap,
) -> Response {
    let response =
        serve(&state, &key, params.sig.as_deref(), &headers).await.unwrap_or_else(IntoResponse::into_response);
    state.metrics.media_requests.with_label_values(&[response.status().as_str()]).inc();
    response
}

async fn serve(state: &AppState, key: &str, sig: Option<&str>, headers: &HeaderMap) -> Result<Response, ApiError> {
    // Refuse anything that is not one of our keys before touching storage (no traversal).
    let content_type = content_type_of(key).filter(|_| is_valid_key(key)).ok_or(ApiError::NotFound("media"))?;
    if !sig.is_some_and(|sig| state.links.verify(key, sig)) {
        return Err(ApiError::Forbidden);
    }
    let size = state.media.size(key).await?.ok_or(ApiError::NotFound("media"))?;
    let etag = format!("\"{}\"", hash_of(key));
    let mut response_headers = HeaderMap::new();
    let value = |v: &str| HeaderValue::from_str(v).map_err(|e| ApiError::Internal(e.into()));
    response_headers.insert(header::ETAG, value(&etag)?);
    response_headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(CACHE_FOREVER));
    response_headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if super::conditional::none_match(headers, &etag) {
        return Ok((StatusCode::NOT_MODIFIED, response_headers).into_response());
    }
    let (status, start, end) = match span(headers.get(header::RANGE).and_then(|v| v.to_str().ok()), size) {
        Span::Whole => (StatusCode::OK, 0, size.saturating_sub(1)),
        Span::Part { start, end } => {
            response_headers.insert(header::CONTENT_RANGE, value(&format!("bytes {start}-{end}/{size}"))?);
            (StatusCode::PARTIAL_CONTENT, start, end)
        }
        Span::Unsatisfiable => {
            response_headers.insert(header::CONTENT_RANGE, value(&format!("bytes */{size}"))?);
            let body = axum::Json(ApiError::BadRequest("range not satisfiable".into()).body());
            return Ok((StatusCode::RANGE_NOT_SATISFIABLE, response_headers, body).into_response());
        }
    };
    let length = if size == 0 { 0 } else { end - start + 1 };
    response_headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response_headers.insert(header::CONTENT_LENGTH, value(&length.to_string())?);
    let body = if length == 0 {
        Body::empty()
    } else {
        let stream = state.media.stream(key, start..end + 1).await?;
        Body::from_stream(stream)
    };
    state.metrics.media_bytes.inc_by(length);
    Ok((status, response_headers, body).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(span(None, 100), Span::Whole);
        assert_eq!(span(Some("bytes=0-1"), 100), Span::Part { start: 0, end: 1 });
        assert_eq!(span(Some("bytes=90-"), 100), Span::Part { start: 90, end: 99 });
        assert_eq!(span(Some("bytes=-10"), 100), Span::Part { start: 90, end: 99 });
        assert_eq!(span(Some("bytes=50-1000"), 100), Span::Part { start: 50, end: 99 });
        assert_eq!(span(Some("bytes=100-"), 100), Span::Unsatisfiable);
        assert_eq!(span(Some("bytes=-0"), 100), Span::Unsatisfiable);
        assert_eq!(span(Some("bytes=0-1,5-6"), 100), Span::Whole);
        assert_eq!(span(Some("items=0-1"), 100), Span::Whole);
        assert_eq!(span(Some("bytes=5-2"), 100), Span::Whole);
    }

    proptest::proptest! {
        /// Any `Range` header against any size: a span inside the object, or a refusal.
        #[test]
        fn any_range_header_is_answered_sensibly(header in ".{0,40}", size in 0u64..10_000_000) {
            match span(Some(&header), size) {
                Span::Part { start, end } => proptest::prop_assert!(start <= end && end < size),
                Span::Whole | Span::Unsatisfiable => {}
            }
            let numeric = format!("bytes={}", header.chars().filter(|c| c.is_ascii_digit() || *c == '-').collect::<String>());
            if let Span::Part { start, end } = span(Some(&numeric), size) {
                proptest::prop_assert!(start <= end && end < size);
            }
        }
    }
}
