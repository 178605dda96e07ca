//! ConversationActor: one per user. Holds the draft and recent turns (rehydrated from the
//! store), persists every child turn before answering it, streams the agent's replies, and
//! fans every event out to all of the user's sockets with a sequence number. A ring of recent
//! events lets a reconnecting client catch up exactly.

use crate::agent::{self, AgentLimits};
use crate::model::{Draft, StoryId, UserId};
use crate::ports::{
    ActorKind, Alive, CloseReason, Concern, ConversationStore, Creation, MediaLinks, Observer, Outbound, Residency,
    RingStore, Safety, Speaker, StoryEvent, TurnRecord,
};
use crate::protocol::{ClientMessage, Refusal, RequirementsView, ServerEvent, encode};
use crate::rate::TokenBucket;
use crate::stories::StoryService;
use reply::Stream;
use ring::Ring;

mod reply;
mod ring;
mod understanding;
use ractor::{Actor, ActorId, ActorProcessingErr, ActorRef, RpcReplyPort};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug)]
pub struct ConversationConfig {
    /// Events kept for `resume`.
    pub ring_size: usize,
    /// With no socket for this long, the actor stops (its state is in the store).
    pub passivate_after: Duration,
    /// Pause between streamed reply chunks (`agent_delta`).
    pub delta_delay: Duration,
    /// Turns kept in memory for context.
    pub history_turns: usize,
    /// Child messages per minute one user may send (over all their sockets).
    pub turns_per_minute: u32,
    pub agent: AgentLimits,
    /// How long a model may take to read a child's turn before the builtin rules answer.
    pub understanding_timeout: Duration,
    /// How long the chat model may take to say a reply before the builtin words are said.
    pub reply_timeout: Duration,
}

pub struct ConversationDeps {
    pub store: Arc<dyn ConversationStore>,
    /// Where the event ring is kept between one actor of a user and the next.
    pub rings: Arc<dyn RingStore>,
    pub observer: Arc<dyn Observer>,
    pub config: ConversationConfig,
    /// Every child message, extracted requirement and agent reply passes this first.
    pub safety: Arc<dyn Safety>,
    /// With a chat model the agent speaks through it; without, the builtin agent's words are used.
    pub chat: Option<Arc<dyn crate::ports::ChatModel>>,
    /// With a model, it reads what the child says (checked, with the builtin rules as fallback).
    pub understander: Option<Arc<dyn crate::ports::Understander>>,
    /// To create and start the stories the child agreed on.
    pub stories: StoryService,
    /// Turns media keys of story events into the URLs the app fetches.
    pub links: Arc<dyn MediaLinks>,
    /// Told when a user's conversation is passivated (another machine may become their home).
    pub residency: Arc<dyn Residency>,
}

/// Where an idle conversation asks to be passivated (its supervisor, which then asks back
/// with [`ConversationMessage::TryPassivate`]).
pub trait PassivationRequests: Send + Sync + 'static {
    fn idle(&self, user: UserId);
}

pub struct ConversationActor;

const COULD_NOT_START: &str = "Oh no, I couldn't start the story just now. Shall we try again?";

/// Stored (turns, transcripts) in place of a child's message the safety check held back.
pub const WITHHELD: &str = "(held back by the safety filter)";

/// The requirements as text, for the safety check: title, names and kinds, setting, wish.
fn requirements_text(draft: &Draft) -> String {
    let mut parts: Vec<&str> = Vec::new();
    parts.extend(draft.title.as_deref());
    for c in std::iter::once(&draft.hero).chain(&draft.companions) {
        parts.extend(c.name.as_deref());
        parts.extend(c.kind.as_deref());
        parts.extend(c.trait_word.as_deref());
    }
    parts.extend(draft.place());
    parts.extend(draft.wish.as_deref());
    parts.join("\n")
}

/// The actor is stopping for idleness: ask the supervisor for a fresh one.
#[derive(Debug)]
pub struct Passivated;

pub enum ConversationMessage {
    Attach {
        conn: ActorId,
        outbound: Arc<dyn Outbound>,
        resume_from: Option<u64>,
        reply: RpcReplyPort<Result<(), Passivated>>,
    },
    Detach(ActorId),
    Client {
        conn: ActorId,
        message: ClientMessage,
    },
    /// Tell one socket what was wrong with its message; then close it when `close` is set, so
    /// the explanation arrives before the close frame.
    Refuse {
        conn: ActorId,
        refusal: Refusal,
        message: String,
        close: Option<CloseReason>,
    },
    /// A story of this user changed; `at` is when it happened, for fan-out latency.
    Story {
        event: StoryEvent,
        at: Instant,
    },
    /// Send the next chunk of reply number `n`.
    StreamNext(u64),
    /// The chat model wrote more of reply number `n`.
    ModelPiece(u64, String),
    /// The chat model finished reply number `n` (or failed).
    ModelDone(u64, Result<(), crate::ports::ProviderError>),
    /// From the supervisor's periodic sweep: ask to be passivated if idle.
    CheckIdle,
    /// The user signed out: close every socket.
    SignOut,
    /// From the supervisor: stop if still idle (replies whether it will).
    TryPassivate(RpcReplyPort<bool>),
    /// Another machine is the user's home now: close every socket (the app reconnects there)
    /// and stop, writing nothing more (the writes would be refused).
    HomeMoved,
}

pub struct ConversationState {
    user: UserId,
    deps: Arc<ConversationDeps>,
    supervisor: Arc<dyn PassivationRequests>,
    conversation_id: String,
    draft: Draft,
    turns: VecDeque<TurnRecord>,
    conns: Vec<(ActorId, Arc<dyn Outbound>)>,
    /// The user's event stream, for `resume`.
    ring: Ring,
    stream: Option<Stream>,
    streams_started: u64,
    /// When the child's message that the next reply answers arrived (for `first_words`).
    reply_asked: Option<Instant>,
    last_activity: Instant,
    passivating: bool,
    /// The user's turns per minute, across all their sockets.
    turn_budget: TokenBucket,
    _alive: Alive,
    /// Set by `post_stop`, which ractor runs only when the actor stops normally.
    stopped_normally: bool,
    /// Another machine is the user's home: nothing is written on the way out.
    moved: bool,
}

/// An actor that failed (ractor then skips `post_stop`) closes the sockets still attached
/// (conversation crashed), so their clients reconnect and `resume` with the next conversation actor instead
/// of staying open and hearing nothing.
impl Drop for ConversationState {
    fn drop(&mut self) {
        if !self.stopped_normally {
            for (_, outbound) in self.conns.drain(..) {
                outbound.close(CloseReason::ConversationCrashed);
            }
        }
    }
}

impl Actor for ConversationActor {
    type Msg = ConversationMessage;
    type State = ConversationState;
    type Arguments = (UserId, Arc<ConversationDeps>, Arc<dyn PassivationRequests>);

    async fn pre_start(
        &self,
        _: ActorRef<Self::Msg>,
        (user, deps, supervisor): Self::Arguments,
    ) -> Result<Self::State, ActorProcessingErr> {
        let stored = deps.store.load_conversation(user).await?;
        let (conversation_id, draft, turns) = match stored {
            Some(c) => (c.conversation_id, c.draft, c.turns.into_iter().collect()),
            None => (uuid::Uuid::new_v4().to_string(), Draft::default(), VecDeque::new()),
        };
        // The stream the previous actor kept, continued; else numbered from the clock.
        let kept = match deps.rings.take_ring(user).await {
            Ok(kept) => kept,
            Err(e) => {
                tracing::error!(%user, error = %e, "could not take back the kept event ring; starting a fresh one");
                None
            }
        };
        let clock = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0) * 1000;
        let ring = Ring::new(deps.config.ring_size, kept, clock);
        let alive = Alive::new(deps.observer.clone(), ActorKind::Conversation);
        let per_minute = deps.config.turns_per_minute;
        // Bursts of up to ten (a third of the minute for generous limits).
        let turn_budget = TokenBucket::new(f64::from(per_minute) / 60.0, per_minute.min(10).max(per_minute / 3));
        Ok(ConversationState {
            user,
            deps,
            supervisor,
            conversation_id,
            draft,
            turns,
            conns: Vec::new(),
            ring,
            stream: None,
            streams_started: 0,
            reply_asked: None,
            last_activity: Instant::now(),
            passivating: false,
            turn_budget,
            _alive: alive,
            stopped_normally: false,
            moved: false,
        })
    }

    /// A normal stop (passivation, shutdown): a reply still streaming is said whole, and the
    /// ring is kept for the user's next actor, so no event of this one is lost to a client.
    async fn post_stop(&self, _: ActorRef<Self::Msg>, state: &mut Self::State) -> Result<(), ActorProcessingErr> {
        state.stopped_normally = true;
        if state.moved {
            return Ok(());
        }
        if let Some(stream) = &state.stream {
            // A model still writing is cut where it is; the builtin agent's words are known whole.
            let cancelled = stream.is_model_writing();
            state.finish_stream(cancelled).await;
        }
        if let Err(e) = state.deps.rings.keep_ring(state.user, &state.ring.kept()).await {
            tracing::error!(user = %state.user, error = %e, "could not keep the event ring; clients will refetch");
        }
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            ConversationMessage::Attach { conn, outbound, resume_from, reply } => {
                if state.passivating {
                    let _ = reply.send(Err(Passivated));
                    return Ok(());
                }
                state.last_activity = Instant::now();
                state.conns.push((conn, outbound));
                let _ = reply.send(Ok(()));
                // Like `resume` by message: the missed events, then the session that answers it.
                let resumed = resume_from.is_some_and(|last| state.replay(conn, last));
                state.unicast(conn, &state.session(resumed));
                state.unicast(conn, &ServerEvent::Requirements(RequirementsView::of(&state.draft)));
            }
            ConversationMessage::Detach(conn) => {
                state.conns.retain(|(id, _)| *id != conn);
                state.last_activity = Instant::now();
            }
            ConversationMessage::Client { conn, message } => {
                state.last_activity = Instant::now();
                state.deps.observer.message_in(message.kind());
                // Boxed so the idle actor's task does not carry the largest handler's state inline.
                Box::pin(state.on_client(&myself, conn, message)).await;
            }
            ConversationMessage::Refuse { conn, refusal, message, close } => {
                state.deps.observer.frame_rejected(refusal.code());
                state.unicast(conn, &ServerEvent::refusal(refusal, message));
                if let Some(reason) = close
                    && let Some(i) = state.conns.iter().position(|(id, _)| *id == conn)
                {
                    state.conns.remove(i).1.close(reason);
                }
            }
            ConversationMessage::Story { event, at } => {
                state.broadcast(ServerEvent::from_story(event, state.deps.links.as_ref()));
                state.deps.observer.fanout(at.elapsed());
            }
            ConversationMessage::StreamNext(number) => Box::pin(state.stream_next(&myself, number)).await,
            ConversationMessage::ModelPiece(number, piece) => Box::pin(state.model_piece(&myself, number, piece)).await,
            ConversationMessage::ModelDone(number, result) => Box::pin(state.model_done(&myself, number, result)).await,
            ConversationMessage::CheckIdle => {
                if state.is_idle() {
                    state.supervisor.idle(state.user);
                }
            }
            ConversationMessage::SignOut => {
                for (_, outbound) in state.conns.drain(..) {
                    outbound.close(CloseReason::SignedOut);
                }
            }
            ConversationMessage::TryPassivate(reply) => {
                state.passivating = state.is_idle();
                let _ = reply.send(state.passivating);
            }
            ConversationMessage::HomeMoved => {
                state.moved = true;
                state.abandon_stream();
                for (_, outbound) in state.conns.drain(..) {
                    outbound.close(CloseReason::HomeMoved);
                }
                myself.stop(Some("home moved".into()));
            }
        }
        Ok(())
    }
}

impl ConversationState {
    fn is_idle(&self) -> bool {
        self.conns.is_empty()
            && self.stream.is_none()
            && self.last_activity.elapsed() >= self.deps.config.passivate_after
    }

    /// Queue a frame on one connection; a full queue disconnects that client.
    fn deliver(&mut self, index: usize, frame: &Arc<str>) -> bool {
        let (_, outbound) = &self.conns[index];
        if outbound.send(frame.clone()).is_ok() {
            return true;
        }
        outbound.close(CloseReason::TooSlow);
        self.deps.observer.outbound_dropped();
        self.conns.remove(index);
        false
    }

    /// An event for every socket of the user, remembered for `resume`.
    fn broadcast(&mut self, event: ServerEvent) {
        let frame = self.ring.push(&event);
        let mut i = 0;
        while i < self.conns.len() {
            if self.deliver(i, &frame) {
                i += 1;
            }
        }
        self.deps.observer.message_out(event.kind(), self.conns.len());
    }

    fn session(&self, resumed: bool) -> ServerEvent {
        ServerEvent::Session { conversation_id: self.conversation_id.clone(), resumed, last_seq: self.ring.latest() }
    }

    /// An event for one socket only (session, error, pong, the requirements on connect): no
    /// `seq`, and not replayed.
    fn unicast(&mut self, conn: ActorId, event: &ServerEvent) {
        let frame: Arc<str> = encode(None, event).into();
        if let Some(i) = self.conns.iter().position(|(id, _)| *id == conn) {
            self.deliver(i, &frame);
            self.deps.observer.message_out(event.kind(), 1);
        }
    }

    /// Send `conn` every event after `last_seq`; `false` when they are not all kept (or
    /// `last_seq` is not one this stream gave out). Nothing missed is a complete replay.
    fn replay(&mut self, conn: ActorId, last_seq: u64) -> bool {
        let Some(missed) = self.ring.after(last_seq) else {
            return false;
        };
        let Some(i) = self.conns.iter().position(|(id, _)| *id == conn) else {
            return false;
        };
        missed.iter().all(|frame| self.deliver(i, frame))
    }

    async fn on_client(&mut self, myself: &ActorRef<ConversationMessage>, conn: ActorId, message: ClientMessage) {
        match message {
            ClientMessage::UserMessage { content, client_id, .. } => {
                self.on_user_message(myself, conn, content, client_id).await
            }
            ClientMessage::PartialTranscript { .. } => {} // live captions only; act on the final message
            ClientMessage::Cancel => self.finish_stream(true).await,
            ClientMessage::StartStory => {
                self.finish_stream(true).await;
                let mut draft = self.draft.clone();
                let turn = agent::confirm(&mut draft);
                self.draft = draft;
                self.save_draft().await;
                self.after_turn(myself, turn, true).await;
            }
            ClientMessage::Resume { last_seq } => {
                // The missed events, then the session that says whether that was all of them.
                let resumed = self.replay(conn, last_seq);
                self.unicast(conn, &self.session(resumed));
            }
            ClientMessage::Reset => {
                self.finish_stream(true).await;
                self.conversation_id = uuid::Uuid::new_v4().to_string();
                self.draft.start_over();
                self.turns.clear();
                self.save_draft().await;
                // Every socket hears of the new conversation; like any `session`, without a `seq`.
                let session = self.session(false);
                for conn in self.conns.iter().map(|(id, _)| *id).collect::<Vec<_>>() {
                    self.unicast(conn, &session);
                }
                self.broadcast(ServerEvent::Requirements(RequirementsView::of(&self.draft)));
            }
            ClientMessage::Ping => self.unicast(conn, &ServerEvent::Pong),
        }
    }

    async fn on_user_message(
        &mut self,
        myself: &ActorRef<ConversationMessage>,
        conn: ActorId,
        content: String,
        client_id: Option<String>,
    ) {
        let asked = Instant::now();
        if !self.turn_budget.take() {
            self.deps.observer.frame_rejected("turn_rate");
            let message = "Let's slow down a little, I'm still thinking! Try again in a moment.";
            self.unicast(conn, &ServerEvent::refusal(Refusal::RateLimited, message));
            return;
        }
        // Personal data never reaches the agent or the store.
        let content = self.deps.safety.redact(content.trim());
        if content.is_empty() {
            self.deps.observer.frame_rejected(Refusal::InvalidMessage.code());
            self.unicast(conn, &ServerEvent::refusal(Refusal::InvalidMessage, "`content` must not be empty"));
            return;
        }
        // The child spoke over the agent: stop the reply in progress.
        self.finish_stream(true).await;
        let concern = self.deps.safety.check(&content).await;
        let stored = if concern.is_some() { WITHHELD.to_owned() } else { content.clone() };
        let record = TurnRecord { speaker: Speaker::Child, content: stored, client_id };
        // Persist before the agent even runs: whatever happens next, the child's message is kept.
        match self.deps.store.record_turn(self.user, &self.conversation_id, &record, &self.draft).await {
            Ok(true) => {}
            // A resend of a message this conversation has answered.
            Ok(false) if self.turns.iter().any(|t| t.client_id == record.client_id) => return,
            // A resend of a message stored by a write that seemed to fail (its answer was lost
            // on the way back from a replica's primary): stored once, answered now.
            Ok(false) => {}
            Err(e) => {
                tracing::error!(user = %self.user, error = ?e, "could not save a conversation turn");
                self.unicast(conn, &ServerEvent::not_saved(e.kind()));
                return;
            }
        }
        let mut draft = self.draft.clone();
        // A redirect is said in the builtin agent's exact words, never reworded by a model.
        let (turn, held) = match concern {
            Some(concern) => (self.held_back("child_message", concern), true),
            None => {
                let turn = self.agent_turn(&mut draft, &content).await;
                // What the agent took from it (names included) must be safe too; unchanged, it
                // was checked when the draft became what it is.
                let understood = requirements_text(&draft);
                let changed = understood != requirements_text(&self.draft);
                let concern = if changed { self.deps.safety.check(&understood).await } else { None };
                match concern {
                    Some(concern) => {
                        draft = self.draft.clone();
                        (self.held_back("requirements", concern), true)
                    }
                    None => (turn, false),
                }
            }
        };
        // What was understood is durable before it is shown.
        if draft != self.draft
            && let Err(e) = self.deps.store.record_understanding(self.user, &self.conversation_id, &draft).await
        {
            tracing::error!(user = %self.user, error = ?e, "could not save the draft");
        }
        let through_model = !held && !turn.start;
        self.draft = draft;
        self.remember(record);
        self.reply_asked = Some(asked);
        self.after_turn(myself, turn, through_model).await;
    }

    /// The agent's answer to `content`, understood by the model when one reads it well, else
    /// by the builtin rules. The agent reads arbitrary text: should it ever panic, the
    /// conversation goes on (the draft as it was, the message still stored) instead of the
    /// actor dying with the child's message.
    async fn agent_turn(&self, draft: &mut Draft, content: &str) -> agent::Turn {
        let read = self.model_reading(content).await;
        let before = draft.clone();
        let limits = self.deps.config.agent;
        let respond = || match &read {
            Some(read) => agent::respond_reading(draft, content, read, &limits),
            None => agent::respond(draft, content, &limits),
        };
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(respond)) {
            Ok(turn) => turn,
            Err(_) => {
                tracing::error!(user = %self.user, "the agent failed on a message; the conversation goes on");
                *draft = before;
                agent::Turn { reply: "Oops, I got a bit muddled! Can you say that another way?".into(), start: false }
            }
        }
    }

    /// A child's message that is not for a children's story: the agent redirects, the draft
    /// stays as it was, and what is stored is a marker instead of the words.
    fn held_back(&self, path: &'static str, concern: Concern) -> agent::Turn {
        self.deps.observer.content_flagged(path, concern);
        tracing::info!(user = %self.user, concern = concern.as_str(), path, "child message held back");
        agent::redirect(&self.draft, concern)
    }

    /// Show the updated requirements, start the story if agreed, and say the reply.
    /// The draft is already stored; only starting a story changes it again here.
    /// `through_model`: the chat model (if any) may say the reply in its own words.
    async fn after_turn(&mut self, myself: &ActorRef<ConversationMessage>, turn: agent::Turn, through_model: bool) {
        self.broadcast(ServerEvent::Requirements(RequirementsView::of(&self.draft)));
        let mut reply = turn.reply;
        if turn.start {
            match self.start_story().await {
                Ok(_) => {
                    self.draft.start_over();
                    self.save_draft().await;
                    self.broadcast(ServerEvent::Requirements(RequirementsView::of(&self.draft)));
                }
                Err(why) => reply = why,
            }
        }
        if let Some(concern) = self.deps.safety.check(&reply).await {
            self.deps.observer.content_flagged("agent_reply", concern);
            tracing::warn!(user = %self.user, concern = concern.as_str(), "agent reply held back");
            reply = agent::redirect(&self.draft, concern).reply;
        }
        self.begin_stream(myself, reply, through_model).await;
    }

    /// Create and start the agreed story; what to tell the child when it cannot start.
    async fn start_story(&mut self) -> Result<StoryId, String> {
        let spec = match self.draft.to_spec(&self.deps.config.agent) {
            Ok(spec) => spec,
            Err(e) => {
                // The agent keeps its draft within the limits: this is a defect, said kindly.
                tracing::error!(user = %self.user, error = %e, "the agreed draft is not a valid story request");
                return Err(COULD_NOT_START.into());
            }
        };
        match self.deps.stories.create(self.user, &spec, None).await {
            Ok(Creation::Created(id) | Creation::Replayed(id)) => Ok(id),
            Ok(Creation::UserBusy { limit }) => Err(format!(
                "You already have {limit} stories being made! Let's wait for one to finish, then I'll make this one."
            )),
            Ok(Creation::ServiceBusy) => {
                Err("So many stories are being written right now! Let's try again in a little while.".into())
            }
            Ok(Creation::KeyReused) => Err(COULD_NOT_START.into()), // no key given: cannot happen
            Err(e) => {
                tracing::error!(user = %self.user, error = ?e, "could not create the agreed story");
                Err(COULD_NOT_START.into())
            }
        }
    }

    async fn save_draft(&self) {
        if let Err(e) = self.deps.store.save_draft(self.user, &self.conversation_id, &self.draft).await {
            tracing::error!(user = %self.user, error = ?e, "could not save the draft");
        }
    }

    fn remember(&mut self, turn: TurnRecord) {
        self.turns.push_back(turn);
        while self.turns.len() > self.deps.config.history_turns {
            self.turns.pop_front();
        }
    }
}
