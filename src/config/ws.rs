//! The `ws` section: what one WebSocket may send, how fast, and how long it may stay quiet.

use super::{ConfigError, invalid};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct WsSettings {
    /// Browser origins allowed to open the WebSocket, besides the service's own.
    pub allowed_origins: Vec<String>,
    /// Largest WebSocket message, counted over all its fragments; larger closes with 1009.
    #[serde(rename = "ws_max_message_bytes")]
    pub max_message_bytes: usize,
    /// Events queued for one socket before the client counts as too slow (close 1008).
    #[serde(rename = "ws_outbound_queue")]
    pub outbound_queue: usize,
    /// Messages per second a socket may send on average…
    #[serde(rename = "ws_rate_per_sec")]
    pub rate_per_sec: f64,
    /// …with bursts up to this many.
    #[serde(rename = "ws_burst")]
    pub burst: u32,
    /// Refused messages tolerated within 10 s before the socket is closed (1008).
    #[serde(rename = "ws_max_strikes")]
    pub max_strikes: u32,
    #[serde(rename = "ws_ping_interval_secs")]
    pub ping_interval_secs: u64,
    /// A socket silent this long (no frames, no pongs) is closed.
    #[serde(rename = "ws_idle_timeout_secs")]
    pub idle_timeout_secs: u64,
    /// A write to a socket blocked this long drops the connection.
    #[serde(rename = "ws_write_timeout_secs")]
    pub write_timeout_secs: u64,
    /// WebSockets one user may have open at once; more are refused with 429.
    #[serde(rename = "ws_max_sockets_per_user")]
    pub max_sockets_per_user: usize,
}

impl Default for WsSettings {
    fn default() -> Self {
        Self {
            allowed_origins: Vec::new(),
            max_message_bytes: 16 * 1024,
            outbound_queue: 256,
            rate_per_sec: 10.0,
            burst: 20,
            max_strikes: 10,
            ping_interval_secs: 20,
            idle_timeout_secs: 60,
            write_timeout_secs: 10,
            max_sockets_per_user: 8,
        }
    }
}

impl WsSettings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.outbound_queue == 0 || self.max_message_bytes == 0 || self.max_sockets_per_user == 0 {
            return invalid("ws_outbound_queue, ws_max_message_bytes and ws_max_sockets_per_user must be at least 1");
        }
        if self.ping_interval_secs == 0 || self.idle_timeout_secs <= self.ping_interval_secs {
            return invalid("ws_idle_timeout_secs must be longer than ws_ping_interval_secs (which must be > 0)");
        }
        if !self.rate_per_sec.is_finite() || self.rate_per_sec <= 0.0 || self.burst == 0 {
            return invalid("ws_rate_per_sec and ws_burst must be positive");
        }
        if self.write_timeout_secs == 0 {
            return invalid("ws_write_timeout_secs must be at least 1");
        }
        Ok(())
    }
}
