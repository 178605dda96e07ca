//! The browser client (`web/`): one page, its script and its style, built into the binary and
//! served at `/` with exact types, an `ETag` (revalidated on every load, so a new release is
//! picked up at once) and a strict Content-Security-Policy: nothing inline, nothing from
//! another origin.

use crate::digest::sha256_hex;
use crate::state::AppState;
use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::sync::LazyLock;

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
    media-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
    frame-ancestors 'none'";

struct Asset {
    body: &'static [u8],
    content_type: &'static str,
    etag: HeaderValue,
}

fn asset(body: &'static [u8], content_type: &'static str) -> Asset {
    let etag =
        HeaderValue::from_str(&format!("\"{}\"", &sha256_hex(body)[..32])).unwrap_or(HeaderValue::from_static("\"0\""));
    Asset { body, content_type, etag }
}

static PAGE: LazyLock<Asset> =
    LazyLock::new(|| asset(include_bytes!("../../web/index.html"), "text/html; charset=utf-8"));
static SCRIPT: LazyLock<Asset> =
    LazyLock::new(|| asset(include_bytes!("../../web/app.js"), "text/javascript; charset=utf-8"));
static STYLE: LazyLock<Asset> =
    LazyLock::new(|| asset(include_bytes!("../../web/style.css"), "text/css; charset=utf-8"));

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|headers: HeaderMap| async move { serve(&PAGE, &headers) }))
        .route("/app.js", get(|headers: HeaderMap| async move { serve(&SCRIPT, &headers) }))
        .route("/style.css", get(|headers: HeaderMap| async move { serve(&STYLE, &headers) }))
        // Browsers ask for it on every page; there is none (and no error to log for it).
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
}

fn serve(asset: &Asset, headers: &HeaderMap) -> Response {
    let common = [
        (header::ETAG, asset.etag.clone()),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP)),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        (header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")),
    ];
    if super::conditional::none_match(headers, asset.etag.to_str().unwrap_or_default()) {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    (common, [(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type))], asset.body).into_response()
}
