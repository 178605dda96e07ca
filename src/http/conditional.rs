//! Conditional requests (RFC 9110 §13): one rule for every route that sends an `ETag`.

use axum::extract::FromRequestParts;
use axum::http::{HeaderMap, HeaderValue, header, request::Parts};

/// Whether `If-None-Match` matches `etag`. The comparison is weak, as RFC 9110 §13.1.2 asks
/// for `If-None-Match`: `W/"x"` (what a compressing proxy sends back) matches `"x"`.
pub fn none_match(headers: &HeaderMap, etag: &str) -> bool {
    matches(headers.get_all(header::IF_NONE_MATCH).iter(), etag)
}

fn matches<'a>(values: impl Iterator<Item = &'a HeaderValue>, etag: &str) -> bool {
    let opaque = |tag: &str| tag.trim().trim_start_matches("W/").to_owned();
    let ours = opaque(etag);
    values
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|tag| tag.trim() == "*" || opaque(tag) == ours)
}

/// A request's `If-None-Match` values, taken without copying the rest of its headers (the
/// cached story read is answered in a few microseconds; a copy of every header was a part).
pub struct IfNoneMatch(Vec<HeaderValue>);

impl IfNoneMatch {
    pub fn matches(&self, etag: &str) -> bool {
        matches(self.0.iter(), etag)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for IfNoneMatch {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(parts.headers.get_all(header::IF_NONE_MATCH).iter().cloned().collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::IF_NONE_MATCH, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn weak_comparison_lists_and_star() {
        assert!(none_match(&with("\"abc\""), "\"abc\""));
        assert!(none_match(&with("W/\"abc\""), "\"abc\""));
        assert!(none_match(&with("\"x\", W/\"abc\""), "\"abc\""));
        assert!(none_match(&with("*"), "\"abc\""));
        assert!(!none_match(&with("\"abd\""), "\"abc\""));
        assert!(!none_match(&with("abc"), "\"abc\""), "an unquoted tag is not the same tag");
        assert!(!none_match(&HeaderMap::new(), "\"abc\""));
    }
}
