//! A small WebSocket test client over tokio-tungstenite: connect in each of the three auth
//! forms, send JSON, and read events with a timeout.

use crate::helpers::{TestApp, User};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderValue, Response, StatusCode};
use tokio_tungstenite::tungstenite::{Error, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub enum Auth<'a> {
    Header(&'a str),
    /// The seed Flutter app: `protocols: ['Authorization', 'Bearer <token>']`.
    Subprotocol(&'a str),
    Query(&'a str),
    None,
}

pub struct Ws {
    pub socket: Socket,
    pub response: Response<Option<Vec<u8>>>,
    /// Set once the server closed: the close code, if it sent one.
    pub close: Option<Option<u16>>,
}

pub fn ws_url(app: &TestApp, user_id: &str) -> String {
    format!("{}/conversation/{user_id}", app.base.replacen("http", "ws", 1))
}

/// Try to connect; `Err(status)` when the handshake was refused with an HTTP status.
pub async fn try_connect(url: &str, auth: Auth<'_>, extra: &[(&'static str, &str)]) -> Result<Ws, StatusCode> {
    let url = match auth {
        Auth::Query(token) => format!("{url}{}access_token={token}", if url.contains('?') { "&" } else { "?" }),
        _ => url.to_owned(),
    };
    let mut request = url.into_client_request().unwrap();
    let headers = request.headers_mut();
    match auth {
        Auth::Header(token) => {
            headers.insert("authorization", HeaderValue::from_str(&format!("Bearer {token}")).unwrap());
        }
        Auth::Subprotocol(token) => {
            headers.insert(
                "sec-websocket-protocol",
                HeaderValue::from_str(&format!("Authorization, Bearer {token}")).unwrap(),
            );
        }
        Auth::Query(_) | Auth::None => {}
    }
    for (name, value) in extra {
        headers.insert(*name, HeaderValue::from_str(value).unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((socket, response)) => Ok(Ws { socket, response, close: None }),
        Err(Error::Http(response)) => Err(response.status()),
        Err(e) => panic!("websocket connect failed: {e}"),
    }
}

/// An upgrade the server must refuse with an HTTP answer (not a refused TCP connection): the
/// answer, headers and body included.
pub async fn refused(url: &str, token: &str) -> Response<Option<Vec<u8>>> {
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert("authorization", HeaderValue::from_str(&format!("Bearer {token}")).unwrap());
    match tokio_tungstenite::connect_async(request).await {
        Err(Error::Http(response)) => *response,
        Ok((_, response)) => panic!("the upgrade went through: {}", response.status()),
        Err(e) => panic!("no HTTP answer to the upgrade: {e}"),
    }
}

/// Connect as `user` with a bearer header and read the greeting (`session`, `requirements`).
pub async fn connect(app: &TestApp, user: &User) -> (Ws, Value, Value) {
    let mut ws = try_connect(&ws_url(app, &user.id), Auth::Header(&user.token), &[]).await.expect("handshake");
    let session = ws.next_event().await;
    assert_eq!(session["type"], "session", "{session}");
    let requirements = ws.next_event().await;
    assert_eq!(requirements["type"], "requirements", "{requirements}");
    (ws, session, requirements)
}

impl Ws {
    pub async fn send(&mut self, value: Value) {
        self.socket.send(Message::text(value.to_string())).await.unwrap();
    }

    pub async fn say(&mut self, content: &str) {
        self.send(json!({"type": "user_message", "content": content})).await;
    }

    /// The next JSON event (pings and pongs of the WebSocket layer are skipped).
    pub async fn next_event(&mut self) -> Value {
        self.try_next_event(Duration::from_secs(10)).await.expect("an event before the timeout")
    }

    /// The next event within `wait`; `None` on timeout or when the server closed.
    pub async fn try_next_event(&mut self, wait: Duration) -> Option<Value> {
        if self.close.is_some() {
            return None;
        }
        loop {
            let message = match tokio::time::timeout(wait, self.socket.next()).await.ok()? {
                Some(Ok(message)) => message,
                Some(Err(_)) | None => {
                    self.close = Some(None);
                    return None;
                }
            };
            match message {
                Message::Text(text) => return Some(serde_json::from_str(text.as_str()).unwrap()),
                Message::Close(frame) => {
                    self.close = Some(frame.map(|f| u16::from(f.code)));
                    return None;
                }
                Message::Ping(_) | Message::Pong(_) => continue,
                other => panic!("expected a text event, got {other:?}"),
            }
        }
    }

    /// Read events until one of `kind` arrives; returns it and everything read before it.
    pub async fn until(&mut self, kind: &str) -> (Value, Vec<Value>) {
        let mut before = Vec::new();
        loop {
            let event = self.next_event().await;
            if event["type"] == kind {
                return (event, before);
            }
            before.push(event);
        }
    }

    /// The agent's whole reply to what was just said.
    pub async fn reply(&mut self) -> String {
        let (message, _) = self.until("agent_message").await;
        message["content"].as_str().unwrap().to_owned()
    }

    /// Whether the server's close frame has arrived, looked at without reading anything (so no
    /// pong is sent back for the pings before it): the frames waiting in the socket are walked.
    pub async fn close_frame_waiting(&self) -> bool {
        let MaybeTlsStream::Plain(tcp) = self.socket.get_ref() else { return false };
        let mut buf = vec![0u8; 64 * 1024];
        let Ok(n) = tcp.peek(&mut buf).await else { return false };
        let mut at = 0;
        while at + 2 <= n {
            let (opcode, len7) = (buf[at] & 0x0f, usize::from(buf[at + 1] & 0x7f));
            if opcode == 0x8 {
                return true;
            }
            let (header, len) = match len7 {
                126 if at + 4 <= n => (4, usize::from(u16::from_be_bytes([buf[at + 2], buf[at + 3]]))),
                126 | 127 => return false, // long frames: not ours to skip here
                len => (2, len),
            };
            at += header + len;
        }
        false
    }

    /// Wait for the server to close the connection; returns the close code (None: dropped).
    pub async fn closed(&mut self) -> Option<u16> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while self.close.is_none() {
            assert!(tokio::time::Instant::now() < deadline, "the server did not close the connection");
            self.try_next_event(Duration::from_secs(10)).await;
        }
        self.close.flatten()
    }
}

/// A client with a tiny receive window, to play a consumer that stops reading.
pub async fn connect_small_window(app: &TestApp, user: &User) -> Ws {
    let addr: std::net::SocketAddr = app.base.trim_start_matches("http://").parse().unwrap();
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(addr).await.unwrap();
    let mut request = ws_url(app, &user.id).into_client_request().unwrap();
    request.headers_mut().insert("authorization", HeaderValue::from_str(&format!("Bearer {}", user.token)).unwrap());
    let (socket, response) = tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(stream)).await.unwrap();
    Ws { socket, response, close: None }
}
