//! Conditional requests (RFC 9110 §13): one rule for every route that sends an `ETag`.

use axum::http::{HeaderMap, header};

/// Whether `If-None-Match` matches `etag`. The comparison is weak, as RFC 9110 §13.1.2 asks
/// for `If-None-Match`: `W/"x"` (what a compressing proxy sends back) matches `"x"`.
pub fn none_match(headers: &HeaderMap, etag: &str) -> bool {
    let opaque = |tag: &str| tag.trim().trim_start_matches("W/").to_owned();
    let ours = opaque(etag);
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|tag| tag.trim() == "*" || opaque(tag) == ours)
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
