//! The one layer every route is served through: the drain's refusal, the request id (kept from
//! the client, else made here, and sent back), a tracing span without the query string, the
//! request metrics by route template, and the documented JSON error for axum's own plain-text
//! rejections. One layer instead of six: each of those as its own layer cost a clone of the
//! boxed service below it, a boxed future or a wrapped body on every request, and the cached
//! read `GET /stories/{id}` is mostly this overhead.

use super::health::Draining;
use crate::metrics::Metrics;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue};
use axum::response::Response;
use futures_util::future::BoxFuture;
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Instant;
use tracing::Instrument;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// What the layer needs, shared by every route's copy of it.
struct Shared {
    metrics: Arc<Metrics>,
    draining: Arc<Draining>,
    ids: RequestIds,
}

#[derive(Clone)]
pub struct EdgeLayer(Arc<Shared>);

impl EdgeLayer {
    pub fn new(metrics: Arc<Metrics>, draining: Arc<Draining>) -> Self {
        Self(Arc::new(Shared { metrics, draining, ids: RequestIds::default() }))
    }
}

impl<S> tower::Layer<S> for EdgeLayer {
    type Service = Edge<S>;

    fn layer(&self, inner: S) -> Edge<S> {
        Edge { inner, shared: self.0.clone() }
    }
}

#[derive(Clone)]
pub struct Edge<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S> tower::Service<Request> for Edge<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible> + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        if self.shared.draining.is_draining()
            && let Some(refusal) = super::health::drain_refusal(&request)
        {
            return Box::pin(std::future::ready(Ok(refusal)));
        }
        let id = match request.headers().get(&REQUEST_ID) {
            Some(id) => id.clone(),
            None => {
                let id = self.shared.ids.next();
                request.headers_mut().insert(REQUEST_ID, id.clone());
                id
            }
        };
        // The path only: query strings may carry tokens (`?access_token=`).
        let span = tracing::info_span!(
            "http",
            method = %request.method(),
            path = %request.uri().path(),
            request_id = id.to_str().unwrap_or("-"),
        );
        let route = request.extensions().get::<MatchedPath>().cloned();
        let method = request.method().clone();
        let shared = self.shared.clone();
        let started = Instant::now();
        let answer = self.inner.call(request);
        Box::pin(
            async move {
                let Ok(response) = answer.await;
                let mut response = super::json_errors(response).await;
                let status = response.status();
                let route = route.as_ref().map_or("unmatched", MatchedPath::as_str);
                shared.metrics.observe_http(method.as_str(), route, status.as_str(), started.elapsed());
                if status.is_server_error() {
                    tracing::error!(status = status.as_u16(), "response failed");
                } else {
                    tracing::debug!(
                        status = status.as_u16(),
                        latency_us = started.elapsed().as_micros() as u64,
                        "finished processing request"
                    );
                }
                response.headers_mut().insert(REQUEST_ID, id);
                Ok(response)
            }
            .instrument(span),
        )
    }
}

/// Request ids: a random prefix per process and a counter. Unique is all an id needs; a random
/// UUID per request cost a system call on the hot path.
struct RequestIds {
    prefix: String,
    next: AtomicU64,
}

impl Default for RequestIds {
    fn default() -> Self {
        Self { prefix: uuid::Uuid::new_v4().simple().to_string()[..12].to_owned(), next: AtomicU64::new(0) }
    }
}

impl RequestIds {
    fn next(&self) -> HeaderValue {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        // Hex digits and a dash: always a valid header value.
        HeaderValue::from_maybe_shared(bytes::Bytes::from(format!("{}-{n:x}", self.prefix)))
            .unwrap_or(HeaderValue::from_static("-"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_differ_and_share_the_process_prefix() {
        let ids = RequestIds::default();
        let (a, b) = (ids.next(), ids.next());
        assert_ne!(a, b);
        let prefix = |v: &HeaderValue| v.to_str().unwrap().split('-').next().unwrap().to_owned();
        assert_eq!(prefix(&a), prefix(&b));
        assert_eq!(prefix(&a).len(), 12);
    }
}
