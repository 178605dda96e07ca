//! The HTTP server loop: accepts connections under a cap, sets `TCP_NODELAY` (small WebSocket
//! frames must not wait for Nagle), bounds how long and how large a request head may be (a
//! slow or huge header cannot hold a connection), backs off on accept errors instead of
//! spinning, and shuts down gracefully. hyper does the protocol work.

use axum::extract::ConnectInfo;
use axum::extract::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use prometheus::{IntCounter, IntGauge};
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tower::ServiceExt as _;

#[derive(Clone, Copy, Debug)]
pub struct ServerLimits {
    /// A request head (first byte to the end of the headers) must arrive within this; an idle
    /// kept-alive connection is closed after it too.
    pub header_read_timeout: Duration,
    /// Largest request head; larger is answered 431 and the connection closed.
    pub max_header_bytes: usize,
    /// Open connections at most; beyond it new ones get a 503 and are closed.
    pub max_connections: usize,
    /// How long shutdown waits for in-flight requests.
    pub grace: Duration,
}

/// What the server counts.
#[derive(Clone)]
pub struct ServerMetrics {
    pub refused: IntCounter,
    pub accept_errors: IntCounter,
    /// Connections open now (each holds one of the cap's permits).
    pub open: IntGauge,
}

/// The whole answer to a connection over the cap: the documented JSON error.
fn refusal() -> Vec<u8> {
    let body = r#"{"error":{"code":"unavailable","message":"too many connections; try again shortly"}}"#;
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\n\
         connection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Serve `app` on `listener` until `shutdown` resolves, then stop accepting and give in-flight
/// connections `limits.grace` to finish. (The drain comes before: the listener stays open while
/// the app answers 503, see `startup`.)
pub async fn serve<S>(
    listener: TcpListener,
    app: S,
    limits: ServerLimits,
    metrics: ServerMetrics,
    shutdown: impl Future<Output = ()>,
) where
    S: tower::Service<Request<Incoming>, Response = axum::response::Response, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(limits.max_header_bytes.max(8192));
    builder.http2().timer(TokioTimer::new()).max_header_list_size(limits.max_header_bytes as u32);
    let builder = Arc::new(builder);
    let connections = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut backoff = Duration::from_millis(5);
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait, then try again, never spin.
                    metrics.accept_errors.inc();
                    tracing::warn!(error = %e, backoff_ms = backoff.as_millis() as u64, "accept failed");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        backoff = Duration::from_millis(5);
        let Ok(permit) = connections.clone().try_acquire_owned() else {
            metrics.refused.inc();
            tokio::spawn(refuse(tcp));
            continue;
        };
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
        let service = app.clone().map_request(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            request
        });
        let connection =
            builder.serve_connection_with_upgrades(TokioIo::new(tcp), TowerToHyperService::new(service)).into_owned();
        let connection = graceful.watch(connection);
        let open = metrics.open.clone();
        open.inc();
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            open.dec();
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.grace, graceful.shutdown()).await.is_err() {
        tracing::warn!("some connections were still busy at the end of the grace period");
    }
}

/// Tell a client over the connection cap why, briefly, and close.
async fn refuse(mut tcp: TcpStream) {
    let _ = tokio::time::timeout(Duration::from_secs(1), tcp.write_all(&refusal())).await;
    let _ = tcp.shutdown().await;
}

/// The peer of a request, as the server loop recorded it.
pub fn peer_of<B>(request: &axum::http::Request<B>) -> Option<SocketAddr> {
    request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_refusal_is_a_well_formed_response() {
        let bytes = super::refusal();
        let text = std::str::from_utf8(&bytes).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let length: usize = head.lines().find_map(|l| l.strip_prefix("content-length: ")).unwrap().parse().unwrap();
        assert_eq!(body.len(), length);
        assert!(serde_json::from_str::<serde_json::Value>(body).is_ok());
    }
}
