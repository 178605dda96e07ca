//! ConnectionActor: one per socket. Turns text frames into client messages, enforces the
//! per-connection rate limit, forwards to the user's ConversationActor, and closes clients
//! that keep abusing the connection. The edge owns the socket; this actor owns the decisions.

use crate::conversation::ConversationMessage;
use crate::model::UserId;
use crate::ports::{ActorKind, Alive, CloseReason, Observer, Outbound};
use crate::protocol::{ClientMessage, Refusal, ServerEvent, encode, parse_client};
use crate::rate::TokenBucket;
use async_trait::async_trait;
use ractor::rpc::CallResult;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug)]
pub struct ConnectionLimits {
    /// Messages per second on average…
    pub rate_per_sec: f64,
    /// …with bursts up to this many.
    pub burst: u32,
    /// Refused frames tolerated within `strike_window` before the connection is closed.
    pub max_strikes: u32,
    pub strike_window: Duration,
}

/// Finds the user's conversation actor, spawning (and rehydrating) it if needed.
#[async_trait]
pub trait ConversationLocator: Send + Sync + 'static {
    /// `None` when it could not be started (the store is down, or the tree is stopping).
    async fn conversation(&self, user: UserId) -> Option<ActorRef<ConversationMessage>>;
}

pub struct ConnectionActor;

pub enum ConnectionMessage {
    /// A whole text message (reassembled and size-checked by the edge). Replies when handled,
    /// so the reader waits: a fast client cannot queue work without bound. The reply is
    /// `false` once the connection is being closed: stop reading.
    Text(String, RpcReplyPort<bool>),
    Binary,
    /// A message over the size limit (the edge closes the socket).
    TooLarge,
}

pub struct ConnectionArgs {
    pub user: UserId,
    pub outbound: Arc<dyn Outbound>,
    pub conversations: Arc<dyn ConversationLocator>,
    pub observer: Arc<dyn Observer>,
    pub limits: ConnectionLimits,
    /// `last_seq` the client gave when connecting, to replay what it missed.
    pub resume_from: Option<u64>,
}

pub struct ConnectionState {
    args: ConnectionArgs,
    conversation: ActorRef<ConversationMessage>,
    bucket: TokenBucket,
    strikes: VecDeque<Instant>,
    /// A close was requested; further frames are ignored.
    closing: bool,
    _alive: Alive,
}

/// A connection actor that crashed must not leave its socket open with nobody reading it:
/// close it (a no-op after the normal close in `post_stop`, the first close wins).
impl Drop for ConnectionState {
    fn drop(&mut self) {
        self.args.outbound.close(CloseReason::ConnectionCrashed);
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the conversation could not be reached")]
struct NoConversation;

/// Find (or spawn) the user's conversation and attach this connection to it. Retries when the
/// conversation it found was just passivating.
async fn attach(
    myself: &ActorRef<ConnectionMessage>,
    args: &ConnectionArgs,
    resume_from: Option<u64>,
) -> Result<ActorRef<ConversationMessage>, NoConversation> {
    let timeout = Some(Duration::from_secs(5));
    for _ in 0..3 {
        let conversation = args.conversations.conversation(args.user).await.ok_or(NoConversation)?;
        let outbound = args.outbound.clone();
        let conn = myself.get_id();
        let attach = |reply| ConversationMessage::Attach { conn, outbound, resume_from, reply };
        if let Ok(CallResult::Success(Ok(()))) = conversation.call(attach, timeout).await {
            return Ok(conversation);
        }
    }
    Err(NoConversation)
}

impl Actor for ConnectionActor {
    type Msg = ConnectionMessage;
    type State = ConnectionState;
    type Arguments = ConnectionArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<Self::Msg>,
        args: Self::Arguments,
    ) -> Result<Self::State, ActorProcessingErr> {
        // Boxed: a large future inlined here would make every idle connection's task larger.
        let conversation = Box::pin(attach(&myself, &args, args.resume_from)).await?;
        let alive = Alive::new(args.observer.clone(), ActorKind::Connection);
        let bucket = TokenBucket::new(args.limits.rate_per_sec, args.limits.burst);
        Ok(ConnectionState { args, conversation, bucket, strikes: VecDeque::new(), closing: false, _alive: alive })
    }

    async fn post_stop(&self, myself: ActorRef<Self::Msg>, state: &mut Self::State) -> Result<(), ActorProcessingErr> {
        let _ = state.conversation.send_message(ConversationMessage::Detach(myself.get_id()));
        // A no-op when the peer already left; on shutdown, tells the client to reconnect later.
        state.args.outbound.close(CloseReason::GoingAway);
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            ConnectionMessage::Text(text, reply) => {
                if !state.closing {
                    Box::pin(state.on_text(&myself, text)).await;
                }
                let _ = reply.send(!state.closing);
            }
            ConnectionMessage::Binary => {
                state.refuse(&myself, Refusal::Binary, "binary frames are not supported; send JSON text".into())
            }
            ConnectionMessage::TooLarge => state.args.observer.frame_rejected(Refusal::TooLarge.code()),
        }
        Ok(())
    }
}

impl ConnectionState {
    async fn on_text(&mut self, myself: &ActorRef<ConnectionMessage>, text: String) {
        if !self.bucket.take() {
            let message = format!("slow down: at most {} messages per second", self.args.limits.rate_per_sec);
            self.refuse(myself, Refusal::RateLimited, message);
            return;
        }
        match parse_client(&text) {
            // Keepalive is about this socket: answered here, one hop sooner than the conversation
            // could, and it says nothing to the user's other sockets.
            Ok(ClientMessage::Ping) => self.pong(),
            Ok(message) => {
                let conn = myself.get_id();
                if let Err(e) = self.conversation.send_message(ConversationMessage::Client { conn, message }) {
                    // The conversation crashed or was passivated under us: re-attach and resend.
                    let ractor::MessagingErr::SendErr(ConversationMessage::Client { message, .. }) = e else {
                        return;
                    };
                    match attach(myself, &self.args, None).await {
                        Ok(conversation) => {
                            let _ = conversation.send_message(ConversationMessage::Client { conn, message });
                            self.conversation = conversation;
                        }
                        Err(_) => {
                            self.closing = true;
                            self.args.outbound.close(CloseReason::ConversationUnavailable);
                        }
                    }
                }
            }
            Err((refusal, message)) => self.refuse(myself, refusal, message),
        }
    }

    fn pong(&mut self) {
        let observer = &self.args.observer;
        observer.message_in(ClientMessage::Ping.kind());
        if self.args.outbound.send(encode(None, &ServerEvent::Pong).into()).is_ok() {
            observer.message_out(ServerEvent::Pong.kind(), 1);
        } else {
            // Like any event to a socket whose queue is full: the client is not reading.
            self.closing = true;
            self.args.outbound.close(CloseReason::TooSlow);
            observer.outbound_dropped();
        }
    }

    /// Tell the client what was wrong; close the connection if it keeps happening.
    fn refuse(&mut self, myself: &ActorRef<ConnectionMessage>, refusal: Refusal, message: String) {
        let now = Instant::now();
        self.strikes.push_back(now);
        while self.strikes.front().is_some_and(|t| now.duration_since(*t) > self.args.limits.strike_window) {
            self.strikes.pop_front();
        }
        let close = (self.strikes.len() > self.args.limits.max_strikes as usize).then(|| {
            self.closing = true;
            if refusal == Refusal::RateLimited { CloseReason::RateLimited } else { CloseReason::TooManyRefusals }
        });
        let conn = myself.get_id();
        let refused = ConversationMessage::Refuse { conn, refusal, message, close };
        if self.conversation.send_message(refused).is_err()
            && let Some(reason) = close
        {
            self.args.outbound.close(reason);
        }
    }
}
