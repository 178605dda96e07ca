//! Pumping one upgraded socket: a reader (this task) that reassembles messages under the size
//! cap and hands them to the ConnectionActor, and a writer task that drains the bounded
//! outbound queue, sends pings, and closes with the code it is told.
//! `read_frame` is not cancel-safe, so reading and writing live in separate tasks.

use super::batched::Batched;
use crate::state::AppState;
use actors::Connection;
use actors::model::UserId;
use actors::ports::{CloseReason, Outbound, OutboundFull};
use fastwebsockets::upgrade::UpgradeFut;
use fastwebsockets::{Frame, OpCode, Payload, WebSocketError, WebSocketRead, WebSocketWrite};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{ReadHalf, WriteHalf};
use tokio::sync::{mpsc, watch};

type Io = TokioIo<Upgraded>;
type Writer = WebSocketWrite<Batched<WriteHalf<Io>>>;

/// What the writer sends: events from the core, and control frames the reader owes the peer.
/// One channel for both keeps an idle socket small.
enum Outgoing {
    Event(Arc<str>),
    Pong(Box<[u8]>),
    CloseEcho(Box<[u8]>),
}

/// The core's view of this socket's write side.
struct WsOutbound {
    queue: mpsc::Sender<Outgoing>,
    close: watch::Sender<Option<CloseReason>>,
}

impl Outbound for WsOutbound {
    fn send(&self, frame: Arc<str>) -> Result<(), OutboundFull> {
        match self.queue.try_send(Outgoing::Event(frame)) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(_)) => Err(OutboundFull),
            // The writer is gone: the socket is closing; nothing to deliver to.
            Err(mpsc::error::TrySendError::Closed(_)) => Ok(()),
        }
    }

    fn close(&self, reason: CloseReason) {
        // First close wins.
        self.close.send_if_modified(|current| {
            current.is_none() && {
                *current = Some(reason);
                true
            }
        });
    }
}

struct Limits {
    max_message: usize,
    idle: Duration,
    ping_every: Duration,
    write_timeout: Duration,
}

/// Who a socket is for, as the handshake established it.
pub struct SocketOwner {
    pub user: UserId,
    /// Replay events after this one at once.
    pub last_seq: Option<u64>,
    /// When the access token the socket was opened with expires (unix seconds): the socket
    /// closes then (token expired), and the client reconnects with a fresh token.
    pub token_expires_at: i64,
    /// The user's socket slot, held for the socket's life.
    pub slot: super::SocketSlot,
}

/// Pump the socket until it ends.
pub async fn serve(upgraded: UpgradeFut, state: AppState, owner: SocketOwner) {
    let SocketOwner { user, last_seq, token_expires_at, slot: _slot } = owner;
    let expires_in = u64::try_from(token_expires_at - chrono::Utc::now().timestamp()).unwrap_or(0);
    let token_expiry = tokio::time::Instant::now() + Duration::from_secs(expires_in);
    let ws = match upgraded.await {
        Ok(ws) => ws,
        Err(e) => {
            tracing::debug!(error = %e, "websocket upgrade did not complete");
            return;
        }
    };
    let config = &state.config;
    let limits = Limits {
        max_message: config.ws.max_message_bytes,
        idle: Duration::from_secs(config.ws.idle_timeout_secs),
        ping_every: Duration::from_secs(config.ws.ping_interval_secs),
        write_timeout: Duration::from_secs(config.ws.write_timeout_secs),
    };
    let mut ws = ws;
    ws.set_auto_pong(true);
    ws.set_auto_close(true);
    // One frame can never exceed the whole-message cap (the reassembly check covers the rest).
    ws.set_max_message_size(limits.max_message);
    // Frames are written into a buffer and flushed once per burst: several small frames of
    // one reply leave in one segment (with TCP_NODELAY, nothing waits for Nagle).
    let (mut reader, writer) = ws.split(|io| {
        let (read, write) = tokio::io::split(io);
        (read, Batched::new(write))
    });

    let (queue_tx, queue_rx) = mpsc::channel(config.ws.outbound_queue);
    let (close_tx, close_rx) = watch::channel(None);
    let outbound = Arc::new(WsOutbound { queue: queue_tx, close: close_tx });
    state.metrics.ws_connections.inc();
    let mut writing = tokio::spawn(write_loop(writer, queue_rx, close_rx, limits.ping_every, limits.write_timeout));
    let (mut writer_done, mut peer_closed) = (false, false);

    // Boxed: this one-off future would otherwise enlarge the socket task for its whole life.
    match Box::pin(state.engine.open_connection(user, outbound.clone(), last_seq)).await {
        Ok(connection) => {
            tokio::select! {
                closed = read_loop(&mut reader, &connection, &outbound, &limits) => peer_closed = closed,
                // The writer ended (closed, or the peer stopped reading): stop reading too.
                // Dropping a read mid-frame is fine here, the socket is being discarded.
                _ = &mut writing => writer_done = true,
                _ = tokio::time::sleep_until(token_expiry) => {
                    outbound.close(CloseReason::TokenExpired);
                }
            }
            connection.closed();
        }
        Err(e) => {
            tracing::error!(%user, error = %e, "could not start a connection actor");
            outbound.close(CloseReason::ConversationUnavailable);
        }
    }
    outbound.close(CloseReason::Done);
    if !writer_done {
        let _ = writing.await;
    }
    // The closing handshake: wait (briefly) for the peer's Close before dropping TCP. Dropping at
    // once can reset the connection and lose the Close frame the peer has not read yet.
    if !peer_closed {
        let _ = tokio::time::timeout(CLOSE_LINGER, drain(&mut reader)).await;
    }
    state.metrics.ws_connections.dec();
}

/// How long a closed socket waits for the peer's Close frame.
const CLOSE_LINGER: Duration = Duration::from_secs(2);

/// Read and discard frames until the peer's Close, EOF or an error.
async fn drain(reader: &mut WebSocketRead<ReadHalf<Io>>) {
    let mut ignore = |_: Frame<'_>| std::future::ready(Ok::<(), std::io::Error>(()));
    while let Ok(frame) = reader.read_frame(&mut ignore).await {
        if frame.opcode == OpCode::Close {
            return;
        }
    }
}

/// Hand every whole message to the ConnectionActor until the socket ends; `true` when the
/// peer closed it (nothing more to wait for).
async fn read_loop(
    reader: &mut WebSocketRead<ReadHalf<Io>>,
    connection: &Connection,
    outbound: &WsOutbound,
    limits: &Limits,
) -> bool {
    let mut obligated = |frame: Frame<'_>| {
        let owed = match frame.opcode {
            OpCode::Close => Outgoing::CloseEcho(frame.payload.to_vec().into()),
            _ => Outgoing::Pong(frame.payload.to_vec().into()),
        };
        // A peer flooding pings while not reading gets its pongs dropped, not queued without bound.
        let _ = outbound.queue.try_send(owed);
        std::future::ready(Ok::<(), std::io::Error>(()))
    };
    // A message being reassembled from fragments: its kind and bytes so far.
    let mut partial: Option<(OpCode, Vec<u8>)> = None;
    loop {
        // Dropping `read_frame` mid-frame is fine here: on timeout we close the socket anyway.
        let frame = match tokio::time::timeout(limits.idle, reader.read_frame(&mut obligated)).await {
            Err(_) => {
                outbound.close(CloseReason::Idle);
                return false;
            }
            Ok(Err(WebSocketError::FrameTooLarge)) => {
                too_large(connection, outbound);
                return false;
            }
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "websocket read ended");
                return false;
            }
            Ok(Ok(frame)) => frame,
        };
        let message = match frame.opcode {
            // The peer closed; the echo is already queued.
            OpCode::Close => return true,
            OpCode::Ping | OpCode::Pong => continue,
            OpCode::Text | OpCode::Binary if frame.fin => Some((frame.opcode, frame.payload.to_vec())),
            OpCode::Text | OpCode::Binary => {
                partial = Some((frame.opcode, frame.payload.to_vec()));
                None
            }
            OpCode::Continuation => {
                let Some((_, bytes)) = partial.as_mut() else { return false }; // protocol error: nothing to continue
                if bytes.len() + frame.payload.len() > limits.max_message {
                    too_large(connection, outbound);
                    return false;
                }
                bytes.extend_from_slice(&frame.payload);
                if frame.fin { partial.take() } else { None }
            }
        };
        let Some((opcode, bytes)) = message else { continue };
        if opcode == OpCode::Binary {
            connection.binary();
            continue;
        }
        let Ok(text) = String::from_utf8(bytes) else {
            outbound.close(CloseReason::InvalidText);
            return false;
        };
        if !connection.text(text).await {
            return false;
        }
    }
}

fn too_large(connection: &Connection, outbound: &WsOutbound) {
    connection.too_large();
    outbound.close(CloseReason::TooLarge);
}

/// What the writer sends next.
enum Out {
    Queued(Outgoing),
    Ping,
    Close(u16, &'static str),
    Done,
}

/// Frames written in one burst before a flush, so a fast producer cannot starve the flush.
const BURST: usize = 64;

async fn write_loop(
    mut writer: Writer,
    mut queue: mpsc::Receiver<Outgoing>,
    mut close: watch::Receiver<Option<CloseReason>>,
    ping_every: Duration,
    write_timeout: Duration,
) {
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + ping_every, ping_every);
    loop {
        let next = tokio::select! {
            biased;
            _ = close.changed() => match *close.borrow() {
                Some(reason) => {
                    let (code, text) = super::close::code_and_text(reason);
                    Out::Close(code, text)
                }
                None => Out::Done,
            },
            item = queue.recv() => item.map_or(Out::Done, Out::Queued),
            _ = ping.tick() => Out::Ping,
        };
        let (frame, last) = match &next {
            Out::Queued(item) => (frame_of(item), matches!(item, Outgoing::CloseEcho(_))),
            Out::Ping => (Frame::new(true, OpCode::Ping, None, Payload::Borrowed(&[])), false),
            Out::Close(code, reason) => (Frame::close(*code, reason.as_bytes()), true),
            Out::Done => return,
        };
        if let Out::Close(..) = next {
            // Frames queued before the close (an error explaining it) go out first.
            while let Ok(item) = queue.try_recv() {
                if !write(&mut writer, frame_of(&item), write_timeout).await {
                    return;
                }
            }
        }
        if !write(&mut writer, frame, write_timeout).await || last {
            let _ = tokio::time::timeout(write_timeout, writer.flush()).await;
            return;
        }
        // Whatever else is already queued goes out with it, in one flush.
        if matches!(next, Out::Queued(_)) {
            for _ in 0..BURST {
                let Ok(item) = queue.try_recv() else { break };
                let last = matches!(item, Outgoing::CloseEcho(_));
                if !write(&mut writer, frame_of(&item), write_timeout).await {
                    return;
                }
                if last {
                    let _ = tokio::time::timeout(write_timeout, writer.flush()).await;
                    return;
                }
            }
        }
        if !matches!(tokio::time::timeout(write_timeout, writer.flush()).await, Ok(Ok(()))) {
            return;
        }
    }
}

fn frame_of(item: &Outgoing) -> Frame<'_> {
    match item {
        Outgoing::Event(text) => Frame::text(Payload::Borrowed(text.as_bytes())),
        Outgoing::Pong(payload) => Frame::pong(Payload::Borrowed(payload)),
        Outgoing::CloseEcho(payload) => Frame::close_raw(Payload::Borrowed(payload)),
    }
}

/// Write one frame (into the buffer; a full buffer goes out); `false` on error or when the
/// peer stopped reading for `timeout`.
async fn write(writer: &mut Writer, frame: Frame<'_>, timeout: Duration) -> bool {
    matches!(tokio::time::timeout(timeout, writer.write_frame(frame)).await, Ok(Ok(())))
}
