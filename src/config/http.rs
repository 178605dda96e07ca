//! The `http` section: where the service listens and what one request may cost.

use super::{ConfigError, invalid};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct HttpSettings {
    pub addr: SocketAddr,
    /// Public base URL (e.g. `https://storymimi.fly.dev`) for absolute media URLs; relative when unset.
    pub public_url: Option<String>,
    /// Serve `/metrics` on this address only (an internal port the scraper reaches, e.g.
    /// `0.0.0.0:9091` on Fly), not on the public one. Unset: on the main address.
    pub metrics_addr: Option<SocketAddr>,
    /// Largest accepted request body; larger gets 413.
    pub max_body_bytes: usize,
    /// A header a trusted proxy sets to the client's address (e.g. `Fly-Client-IP`); unset:
    /// the connection's peer address is used.
    pub client_ip_header: Option<String>,
    /// A request head must arrive within this (and an idle kept-alive connection is closed).
    #[serde(rename = "http_header_read_timeout_secs")]
    pub header_read_timeout_secs: u64,
    /// Largest request head (at least 8192); larger gets 431.
    #[serde(rename = "http_max_header_bytes")]
    pub max_header_bytes: usize,
    /// Open HTTP connections (WebSockets included) at most; beyond it: 503 and close.
    #[serde(rename = "http_max_connections")]
    pub max_connections: usize,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([0, 0, 0, 0], 8080)),
            public_url: None,
            metrics_addr: None,
            max_body_bytes: 64 * 1024,
            client_ip_header: None,
            header_read_timeout_secs: 10,
            max_header_bytes: 16 * 1024,
            max_connections: 4096,
        }
    }
}

impl HttpSettings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.max_header_bytes < 8192 || self.max_connections == 0 || self.header_read_timeout_secs == 0 {
            return invalid(
                "http_max_header_bytes must be at least 8192, http_max_connections and http_header_read_timeout_secs at least 1",
            );
        }
        if self.max_body_bytes == 0 {
            return invalid("max_body_bytes must be at least 1");
        }
        if let Some(url) = &self.public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return invalid("public_url must be an http(s) URL");
        }
        Ok(())
    }
}
