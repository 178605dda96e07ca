//! Ports: what the core needs from the outside world, as traits.
//! `src/` implements them (libSQL store, providers, metrics) and hands them in at start-up.

use crate::model::{
    CharacterSheet, Draft, Redo, Scene, SceneDraft, Stage, StoryId, StoryPlan, StorySpec, StoryState, StoryStatus,
    UserId, Writer,
};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

/// A failed provider call. `retryable` decides between backing off and giving up; a provider
/// that said when to come back (`Retry-After`) sets `retry_after`.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{message}")]
pub struct ProviderError {
    pub message: String,
    pub retryable: bool,
    pub retry_after: Option<Duration>,
    /// The provider did not answer in time.
    pub timed_out: bool,
    /// The provider answered, but with nothing usable: asked again with this reason, not retried
    /// as it was.
    pub rejected: Option<Rejection>,
}

impl ProviderError {
    pub fn transient(message: impl Into<String>) -> Self {
        Self { message: message.into(), retryable: true, retry_after: None, timed_out: false, rejected: None }
    }
    pub fn permanent(message: impl Into<String>) -> Self {
        Self { retryable: false, ..Self::transient(message) }
    }
    /// No answer in time (retryable).
    pub fn timeout(message: impl Into<String>) -> Self {
        Self { timed_out: true, ..Self::transient(message) }
    }
    /// An answer that cannot be used, for `why`.
    pub fn rejected(why: Rejection) -> Self {
        Self {
            rejected: Some(why),
            ..Self::permanent(format!("the model's answer was not usable ({})", why.reason().as_str()))
        }
    }
    pub fn retry_after(mut self, wait: Option<Duration>) -> Self {
        self.retry_after = wait;
        self
    }
    /// What the metrics call this failure.
    pub fn reason(&self) -> Reason {
        match self.rejected {
            Some(why) => why.reason(),
            None if self.timed_out => Reason::Timeout,
            None => Reason::Error,
        }
    }
}

/// Why a storyteller's text was not taken. The model is asked again with the reason stated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// Not for children (the safety check).
    Unsafe(Concern),
    /// Outside the age's word range (this many words).
    Length { words: usize },
    /// The same words over and over.
    Loop,
    /// The last sentence is not finished.
    Unfinished,
    /// Told by an "I" when the story is about the hero.
    Person,
    /// The hero's name is missing.
    Hero,
    /// Headings, markup or the instructions themselves left in the text.
    Markup,
    /// Not a plan that can be read (no JSON, missing or repeated scenes).
    Parse,
}

impl Rejection {
    pub fn reason(self) -> Reason {
        match self {
            Self::Unsafe(_) => Reason::Unsafe,
            Self::Length { .. } => Reason::Length,
            Self::Loop => Reason::Loop,
            Self::Unfinished => Reason::Unfinished,
            Self::Person => Reason::Person,
            Self::Hero => Reason::Hero,
            Self::Markup => Reason::Markup,
            Self::Parse => Reason::Parse,
        }
    }
}

/// Why a model's work was asked for again or replaced: the `reason` label of
/// `provider_retries_total` and `provider_fallbacks_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    Unsafe,
    Length,
    Loop,
    Unfinished,
    Person,
    Hero,
    Markup,
    Parse,
    /// The provider failed (an error answer, a cut stream, unreachable).
    Error,
    Timeout,
}

impl Reason {
    pub const ALL: [Reason; 10] = [
        Self::Unsafe,
        Self::Length,
        Self::Loop,
        Self::Unfinished,
        Self::Person,
        Self::Hero,
        Self::Markup,
        Self::Parse,
        Self::Error,
        Self::Timeout,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unsafe => "unsafe",
            Self::Length => "length",
            Self::Loop => "loop",
            Self::Unfinished => "unfinished",
            Self::Person => "person",
            Self::Hero => "hero",
            Self::Markup => "markup",
            Self::Parse => "parse",
            Self::Error => "error",
            Self::Timeout => "timeout",
        }
    }
}

/// What the storyteller gets to write one scene.
#[derive(Clone, Copy, Debug)]
pub struct SceneRequest<'a> {
    pub story_id: StoryId,
    pub spec: &'a StorySpec,
    pub plan: &'a StoryPlan,
    /// 0-based index into `plan.scenes`.
    pub index: usize,
    pub previous: &'a [Scene],
    /// A page written again: the scenes after it (which it must lead to), what the child asked
    /// to change, and which version it is (0 for a scene's first writing).
    pub redo: Option<RedoContext<'a>>,
}

/// What a scene written again is told.
#[derive(Clone, Copy, Debug)]
pub struct RedoContext<'a> {
    pub following: &'a [Scene],
    pub hint: Option<&'a str>,
    pub take: u32,
}

/// The language model, as the story generator uses it: plan, then write scene by scene.
#[async_trait]
pub trait Llm: Send + Sync + 'static {
    /// Short name for logs and metrics (`builtin`, `openai`).
    fn name(&self) -> &str;
    async fn plan_story(&self, story_id: StoryId, spec: &StorySpec) -> Result<StoryPlan, ProviderError>;
    async fn write_scene(&self, request: SceneRequest<'_>) -> Result<SceneDraft, ProviderError>;
    /// Plan again, told why the last plan was not taken. A storyteller that cannot be told
    /// (the offline one) plans as before.
    async fn replan_story(
        &self,
        story_id: StoryId,
        spec: &StorySpec,
        _rejected: Rejection,
    ) -> Result<StoryPlan, ProviderError> {
        self.plan_story(story_id, spec).await
    }
    /// Write the scene again, told why the last one was not taken.
    async fn rewrite_scene(
        &self,
        request: SceneRequest<'_>,
        _rejected: Rejection,
    ) -> Result<SceneDraft, ProviderError> {
        self.write_scene(request).await
    }
    /// Write the scene (again, told why, when `rejected`), telling `so_far` the text as it is
    /// written. A storyteller that cannot tell it as it goes writes it whole.
    async fn stream_scene(
        &self,
        request: SceneRequest<'_>,
        rejected: Option<Rejection>,
        _so_far: TextSoFar<'_>,
    ) -> Result<SceneDraft, ProviderError> {
        match rejected {
            None => self.write_scene(request).await,
            Some(why) => self.rewrite_scene(request, why).await,
        }
    }
}

/// Where a storyteller tells a scene's text as it is written: each call the whole text so far,
/// in whole sentences, tidied as the finished text will be; it grows, but a call made again (a
/// retry) starts again.
pub type TextSoFar<'a> = &'a (dyn Fn(&str) + Send + Sync);

/// Why a text is not for children.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Concern {
    Violence,
    Weapons,
    Sexual,
    DrugsAlcohol,
    SelfHarm,
    Hate,
    Insult,
    Profanity,
    Gore,
}

impl Concern {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Violence => "violence",
            Self::Weapons => "weapons",
            Self::Sexual => "sexual",
            Self::DrugsAlcohol => "drugs_alcohol",
            Self::SelfHarm => "self_harm",
            Self::Hate => "hate",
            Self::Insult => "insult",
            Self::Profanity => "profanity",
            Self::Gore => "gore",
        }
    }
}

/// Stands between every text and the child: what the child types, what is asked over REST,
/// what the agent and the storyteller write. Logs name the concern, never the text.
#[async_trait]
pub trait Safety: Send + Sync + 'static {
    /// The first concern found in `text`, or `None` when it is fit for a children's story.
    async fn check(&self, text: &str) -> Option<Concern>;
    /// `text` with personal data (phone numbers, e-mail and street addresses, a child's full
    /// name with their age) replaced by placeholders, before anything is stored.
    fn redact(&self, text: &str) -> String;
}

/// Who says a line to a chat model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChatRole {
    System,
    User,
    Assistant,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ChatLine {
    pub role: ChatRole,
    pub content: String,
}

/// A chat model for the agent's replies, streamed piece by piece.
#[async_trait]
pub trait ChatModel: Send + Sync + 'static {
    fn name(&self) -> &str;
    /// Answer `lines`, handing each piece of the reply to `on_piece` as it arrives. Dropping
    /// the future stops the model (the HTTP stream is closed).
    async fn reply(&self, lines: Vec<ChatLine>, on_piece: Box<dyn FnMut(String) + Send>) -> Result<(), ProviderError>;
}

/// A character as a model read it: nothing checked yet.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReadCharacter {
    pub name: Option<String>,
    pub kind: Option<String>,
}

/// The story as a model read it from a child's turn (the whole draft as it now stands; `None`
/// where the model says nothing). Unchecked: the agent validates it before using any of it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Reading {
    pub hero: Option<ReadCharacter>,
    pub friends: Vec<ReadCharacter>,
    pub setting: Option<String>,
    pub style: Option<String>,
    pub num_scenes: Option<i64>,
    pub age: Option<i64>,
    pub title: Option<String>,
    pub wish: Option<String>,
}

/// A model that reads what a child says into the story being agreed on (structured output).
#[async_trait]
pub trait Understander: Send + Sync + 'static {
    fn name(&self) -> &str;
    /// How the model reads `said` for `draft`; `Ok(None)`: it answered, but nothing readable.
    async fn read(&self, draft: &Draft, said: &str) -> Result<Option<Reading>, ProviderError>;
}

/// A picture or a sound, as a provider made it.
#[derive(Clone, Debug, PartialEq)]
pub struct Media {
    pub bytes: Vec<u8>,
    /// Exact MIME type (`image/png`, `audio/mpeg`): the app derives the file extension from it.
    pub content_type: String,
}

/// What to draw: one scene, or the cover when `index` is `None`.
#[derive(Clone, Copy, Debug)]
pub struct IllustrationRequest<'a> {
    pub story_id: StoryId,
    pub spec: &'a StorySpec,
    pub plan: &'a StoryPlan,
    pub index: Option<usize>,
    /// The scene's text (the story's title for the cover).
    pub text: &'a str,
}

impl<'a> IllustrationRequest<'a> {
    /// The characters in this picture, from the plan's sheet: the hero always, and everyone
    /// else the scene's text (the title, for the cover) names. Every picture request states
    /// their looks in the sheet's own words, so the same hero looks the same on every page.
    pub fn characters(&self) -> Vec<&'a CharacterSheet> {
        let text = self.text;
        self.plan
            .characters
            .iter()
            .enumerate()
            .filter(|(i, c)| *i == 0 || crate::text::names(text, &c.name))
            .map(|(_, c)| c)
            .collect()
    }
}

#[async_trait]
pub trait Illustrator: Send + Sync + 'static {
    fn name(&self) -> &str;
    async fn illustrate(&self, request: IllustrationRequest<'_>) -> Result<Media, ProviderError>;
}

#[async_trait]
pub trait Narrator: Send + Sync + 'static {
    fn name(&self) -> &str;
    /// Read `text` aloud in `language` (a BCP 47 tag).
    async fn narrate(&self, text: &str, language: &str) -> Result<Media, ProviderError>;
}

/// Where media bytes live. Keys are content addresses: the same bytes always get the same key.
#[async_trait]
pub trait MediaStore: Send + Sync + 'static {
    async fn put(&self, media: &Media) -> Result<String, StoreError>;
    /// Remove a stored object; removing one that is not there is not an error.
    async fn delete(&self, key: &str) -> Result<(), StoreError>;
}

/// What kind of storage failure it is, in the terms the core and the edge act on. Adapters
/// classify their own errors once, where they are born (SQLite's result codes, OpenDAL's and
/// the OS's error kinds); nothing reads an error's text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StoreErrorKind {
    /// The row is gone (a story deleted while it was being written).
    NotFound,
    /// No room to write (a full disk, a quota): wait for space.
    Full,
    /// Storage cannot be reached or written now (an I/O error, a read-only volume, a store that
    /// does not answer): wait and try again.
    Unavailable,
    /// Another writer holds the lock past the busy timeout: try again shortly.
    Busy,
    /// What the write refers to is gone (a deleted user: a foreign key).
    ReferenceGone,
    /// The write conflicts with what is stored (a unique key).
    Conflict,
    /// What is stored does not read back (a malformed row or file).
    Corrupt,
    /// This machine is no longer the home of the user whose live state the write belongs to
    /// (another machine took it over): the write was refused, and the user's actors here stop.
    Fenced,
    /// Anything else: a bug, not a condition to wait out.
    Other,
}

impl StoreErrorKind {
    /// Waiting may cure it: back off and try again instead of giving up.
    pub fn is_transient(self) -> bool {
        matches!(self, Self::Full | Self::Unavailable | Self::Busy)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotFound => "not_found",
            Self::Full => "full",
            Self::Unavailable => "unavailable",
            Self::Busy => "busy",
            Self::ReferenceGone => "reference_gone",
            Self::Conflict => "conflict",
            Self::Corrupt => "corrupt",
            Self::Fenced => "fenced",
            Self::Other => "other",
        }
    }
}

/// The adapter's own error, kept as the source of a [`StoreError`].
pub type StoreCause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A storage failure: its kind, and what the adapter saw as its source (for the logs).
#[derive(Debug, thiserror::Error)]
#[error("storage failure: {}", kind.as_str())]
pub struct StoreError {
    kind: StoreErrorKind,
    #[source]
    source: Option<StoreCause>,
}

impl StoreError {
    pub fn new(kind: StoreErrorKind, source: impl Into<StoreCause>) -> Self {
        Self { kind, source: Some(source.into()) }
    }

    /// The story is gone (deleted while being written).
    pub fn not_found() -> Self {
        Self { kind: StoreErrorKind::NotFound, source: None }
    }

    /// The write was refused: this machine is no longer the user's home.
    pub fn fenced() -> Self {
        Self { kind: StoreErrorKind::Fenced, source: None }
    }

    pub fn kind(&self) -> StoreErrorKind {
        self.kind
    }
}

/// Where a story's progress is recorded.
#[derive(Clone, Debug, PartialEq)]
pub struct Progress {
    pub status: StoryStatus,
    pub stage: Stage,
    pub error: Option<String>,
}

/// A story and the user it belongs to: its writes are the owner's live state, made only by
/// the owner's home (the store refuses them elsewhere with [`StoreErrorKind::Fenced`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct OwnedStory {
    pub id: StoryId,
    pub owner: UserId,
}

/// Persistence the story actors need. Every write is durable when it returns.
#[async_trait]
pub trait StoryStore: Send + Sync + 'static {
    async fn load_story(&self, id: StoryId) -> Result<Option<StoryState>, StoreError>;
    /// The plan and who wrote it. A cover drawn for an earlier plan is dropped with it (the
    /// model's plan, replaced by an offline one, keeps nothing of the model's).
    async fn save_plan(&self, story: OwnedStory, plan: &StoryPlan, planned_by: Writer) -> Result<(), StoreError>;
    /// Idempotent on `(story, sequence)`: a scene saved twice is kept once.
    async fn save_scene(&self, story: OwnedStory, scene: &Scene) -> Result<(), StoreError>;
    async fn set_progress(&self, story: OwnedStory, progress: &Progress) -> Result<(), StoreError>;
    async fn save_cover(&self, story: OwnedStory, key: &str) -> Result<(), StoreError>;
    /// Put `scene` in place of the stored scene of its sequence and mark `redo` done, in one
    /// write: the old scene or the new one is stored, never neither. Returns the media keys of
    /// the old scene that nothing refers to any more (to be deleted).
    async fn replace_scene(&self, story: OwnedStory, redo: &Redo, scene: &Scene) -> Result<Vec<String>, StoreError>;
    /// The redo could not be done (the model kept failing, a provider stayed down): the old
    /// scene stays and the redo is over.
    async fn give_up_redo(&self, story: OwnedStory, redo: &Redo) -> Result<(), StoreError>;
}

/// How a creation request ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Creation {
    Created(StoryId),
    /// The same idempotency key and request were seen before: that story.
    Replayed(StoryId),
    /// The idempotency key was used before for a different request.
    KeyReused,
    /// The user already has this many stories being written.
    UserBusy {
        limit: u32,
    },
    /// The service has as many stories being written as it takes.
    ServiceBusy,
}

/// How many stories may be pending or processing at once: per user, and in all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InFlightCaps {
    pub per_user: u32,
    pub total: u32,
}

/// How putting a failed story back in the queue ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reset {
    Reset,
    NotFailed,
    UserBusy { limit: u32 },
    ServiceBusy,
}

/// How asking to redo a page ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RedoRequest {
    /// Queued: the page will be written again.
    Queued,
    /// The story has no scene of that number.
    NoSuchScene,
    /// The story is not completed (pending, being written, failed).
    NotCompleted,
    /// That page is already being redone.
    InProgress,
    /// The story's redos of the last day are at `limit`; the oldest leaves the window in
    /// `retry_after`.
    Limited { limit: u32, retry_after: Duration },
}

/// A client's idempotency key and the fingerprint of the request it came with.
#[derive(Clone, Copy, Debug)]
pub struct Idempotency<'a> {
    pub key: &'a str,
    pub fingerprint: &'a str,
}

/// The stories' lifecycle writes (create, reset for retry, delete), as the story service
/// needs them. Implementations keep every derived copy (caches) right.
#[async_trait]
pub trait StoryCatalog: Send + Sync + 'static {
    /// Create a pending story for `user`, unless that would pass `caps` (checked and
    /// inserted atomically).
    async fn create_story(
        &self,
        user: UserId,
        spec: &StorySpec,
        idempotency: Option<Idempotency<'_>>,
        caps: InFlightCaps,
    ) -> Result<Creation, StoreError>;
    /// `failed` → `pending`, keeping the finished scenes, within `caps`.
    async fn reset_failed_story(&self, id: StoryId, caps: InFlightCaps) -> Result<Reset, StoreError>;
    /// Delete a story and its scenes; the media keys no other story uses. `None`: no such story.
    async fn delete_story(&self, id: StoryId) -> Result<Option<Vec<String>>, StoreError>;
    /// Queue a redo of scene `sequence` of a completed story, with the child's checked `hint`,
    /// unless the story already had `per_day` redos in the last 24 hours (checked and queued
    /// atomically).
    async fn request_redo(
        &self,
        id: StoryId,
        sequence: u32,
        hint: Option<&str>,
        per_day: u32,
    ) -> Result<RedoRequest, StoreError>;
}

/// The actor tree is not running (shutting down, or failed to start).
#[derive(Clone, Copy, Debug, thiserror::Error)]
#[error("the story engine is not running")]
pub struct EngineDown;

/// Starts and stops the writing of stories (the story supervisor, behind the root).
pub trait StoryLauncher: Send + Sync + 'static {
    /// Write this story; a no-op when it is already being written.
    fn start(&self, story: OwnedStory) -> Result<(), EngineDown>;
    /// Stop writing this story, with its in-flight pictures and narrations.
    fn cancel(&self, id: StoryId) -> Result<(), EngineDown>;
}

/// What happened to a story, in domain terms. The conversation turns these into protocol
/// events for the owner's sockets.
#[derive(Clone, Debug, PartialEq)]
pub enum StoryEvent {
    Started {
        story_id: StoryId,
    },
    Progress {
        story_id: StoryId,
        status: StoryStatus,
        stage: Stage,
        scenes_done: u32,
        scenes_total: u32,
    },
    /// More of a scene's text, as it is written: whole sentences that passed the checks, to
    /// be appended to what came before.
    SceneDelta {
        story_id: StoryId,
        sequence: u32,
        delta: String,
    },
    /// A scene's text, whole and checked: it replaces whatever was shown for the scene.
    SceneText {
        story_id: StoryId,
        sequence: u32,
        title: String,
        text: String,
    },
    /// A scene's picture (`image_key`) or narration (`audio_key`) was stored.
    SceneMedia {
        story_id: StoryId,
        sequence: u32,
        image_key: Option<String>,
        audio_key: Option<String>,
    },
    /// A finished scene was persisted (text, picture and narration stored).
    SceneSaved {
        story_id: StoryId,
        scene: Scene,
    },
    Completed {
        story_id: StoryId,
    },
    Failed {
        story_id: StoryId,
        error: String,
    },
}

/// Where story actors publish what happened; delivery is best effort (nobody may be listening).
pub trait StoryEvents: Send + Sync + 'static {
    fn publish(&self, owner: UserId, event: StoryEvent);
}

/// Who said a conversation turn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Speaker {
    Child,
    Agent,
}

impl Speaker {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Child => "child",
            Self::Agent => "agent",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct TurnRecord {
    pub speaker: Speaker,
    pub content: String,
    /// The client's id for a child's message, so a resend is recognised.
    pub client_id: Option<String>,
}

/// Turns of a conversation kept for context: in a live conversation, and loaded with a
/// passivated one.
pub const RECENT_TURNS: usize = 20;

/// A user's conversation as stored: what rehydrates a passivated ConversationActor.
#[derive(Clone, Debug)]
pub struct ConversationRecord {
    pub conversation_id: String,
    pub draft: Draft,
    /// Most recent turns, oldest first.
    pub turns: Vec<TurnRecord>,
}

/// Persistence the conversation actors need.
#[async_trait]
pub trait ConversationStore: Send + Sync + 'static {
    async fn load_conversation(&self, user: UserId) -> Result<Option<ConversationRecord>, StoreError>;
    /// Store a turn and the draft as it stands after it, atomically; a child's turn is also
    /// kept as a transcript. `Ok(false)` when the turn's `client_id` was already stored (a resend).
    async fn record_turn(
        &self,
        user: UserId,
        conversation_id: &str,
        turn: &TurnRecord,
        draft: &Draft,
    ) -> Result<bool, StoreError>;
    /// Queue a turn nobody waits for (the agent's reply): written in order with the turns
    /// before and after it, failures logged. The draft is not touched: whatever changed it
    /// stored it already.
    fn record_turn_soon(&self, user: UserId, conversation_id: &str, turn: &TurnRecord);
    /// What the agent understood from the child's latest turn: the draft after it, also kept with
    /// that turn's transcript. Durable when it returns.
    async fn record_understanding(&self, user: UserId, conversation_id: &str, draft: &Draft) -> Result<(), StoreError>;
    /// Store the draft alone (a new conversation, or the draft after a story started).
    async fn save_draft(&self, user: UserId, conversation_id: &str, draft: &Draft) -> Result<(), StoreError>;
}

/// What a conversation kept of its event stream when it stopped normally (passivated, or the
/// server shut down gracefully), for the user's next conversation actor: a client that
/// reconnects with any `last_seq` from `complete_after` on still gets every event after it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KeptRing {
    /// Every event after this `seq` is in `events`: nothing after it was lost.
    pub complete_after: u64,
    /// The latest `seq` given out (what `session.last_seq` said).
    pub last_seq: u64,
    /// The ring, oldest first: each event's `seq` and its encoded frame.
    pub events: Vec<(u64, Arc<str>)>,
}

/// Where a stopping conversation keeps its ring, and its successor takes it back.
#[async_trait]
pub trait RingStore: Send + Sync + 'static {
    /// Keep `user`'s ring (replacing whatever was kept before). Durable when it returns.
    async fn keep_ring(&self, user: UserId, ring: &KeptRing) -> Result<(), StoreError>;
    /// What was kept for `user`, handed out once: only the actor that directly follows the one
    /// that kept it may continue its stream. (After a crash nothing was kept, and a later actor
    /// must not vouch for events the crashed one sent.)
    async fn take_ring(&self, user: UserId) -> Result<Option<KeptRing>, StoreError>;
}

/// The client is not reading fast enough: its outbound queue is full.
#[derive(Debug, thiserror::Error)]
#[error("outbound queue full")]
pub struct OutboundFull;

/// The write side of one client connection, as the core sees it: a bounded queue of
/// already-encoded text frames, and a way to close it saying why.
pub trait Outbound: Send + Sync + 'static {
    fn send(&self, frame: Arc<str>) -> Result<(), OutboundFull>;
    /// Close the connection; the first close wins, later ones do nothing.
    fn close(&self, reason: CloseReason);
}

/// Why a connection is closed. The core says why; the edge alone turns a reason into a
/// WebSocket close code and text (`src/ws/close.rs`), so a new reason is a new variant here and
/// one line there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseReason {
    /// The conversation is over from our side (the socket's work is done).
    Done,
    /// The server is shutting down or restarting: come back shortly.
    GoingAway,
    /// The access token the socket was opened with expired: reconnect with a fresh one.
    TokenExpired,
    /// The user signed out (or the session was revoked).
    SignedOut,
    /// The client does not read its events fast enough.
    TooSlow,
    /// The client kept sending faster than allowed.
    RateLimited,
    /// The client kept sending messages that were refused.
    TooManyRefusals,
    /// A message over the size limit.
    TooLarge,
    /// A text message that is not UTF-8.
    InvalidText,
    /// Nothing heard from the client for too long.
    Idle,
    /// The user's conversation crashed; a fresh one takes over on reconnect.
    ConversationCrashed,
    /// The user's conversation could not be reached or started.
    ConversationUnavailable,
    /// This connection's own actor crashed.
    ConnectionCrashed,
    /// Another machine became the user's home: reconnect (the proxy takes the app there).
    HomeMoved,
}

/// Where the core says that a user's live state left this machine, so that the edge may let
/// another machine become their home (the home follows the family).
pub trait Residency: Send + Sync + 'static {
    /// `user`'s conversation actor was passivated here (idle, no socket).
    fn passivated(&self, user: UserId);
}

/// Turns a stored media key into the URL the app fetches (capability URLs live at the edge).
pub trait MediaLinks: Send + Sync + 'static {
    fn link(&self, key: &str) -> String;
}

/// Kinds of actors, for the "actors alive" gauge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ActorKind {
    Root,
    StorySupervisor,
    Story,
    ConversationSupervisor,
    Conversation,
    Connection,
}

impl ActorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Root => "root",
            Self::StorySupervisor => "story_supervisor",
            Self::Story => "story",
            Self::ConversationSupervisor => "conversation_supervisor",
            Self::Conversation => "conversation",
            Self::Connection => "connection",
        }
    }
}

/// Side channel for what happened in the core (metrics). Calls must not block.
pub trait Observer: Send + Sync + 'static {
    fn actor_started(&self, _kind: ActorKind) {}
    fn actor_stopped(&self, _kind: ActorKind) {}
    fn status_changed(&self, _story: StoryId, _status: StoryStatus) {}
    fn scene_saved(&self, _story: StoryId, _scene: &Scene) {}
    /// A story reached `completed` or `failed`; `elapsed` is this actor's share of the work.
    fn story_finished(&self, _story: StoryId, _status: StoryStatus, _elapsed: Duration) {}
    /// One attempt at a provider call (`plan`, `scene`, `illustrate`, `narrate`) ended; `error`
    /// when it failed.
    fn provider_call(&self, _provider: &str, _call: &'static str, _elapsed: Duration, _error: Option<&ProviderError>) {}
    /// A provider call (`plan`, `scene`, `illustrate`, `narrate`) is made again for `reason`.
    fn provider_retry(&self, _call: &'static str, _reason: Reason) {}
    /// What the model wrote (`plan`, `scene`, `reply`) was given up on for `reason`: the offline
    /// storyteller or the builtin agent's words took its place.
    fn provider_fallback(&self, _call: &'static str, _reason: Reason) {}
    /// What came of asking a model to read a child's turn (`used`, `invalid`, `unsafe`,
    /// `timeout`, `failed`, `unreadable`); anything but `used` left the turn to the builtin rules.
    fn understanding(&self, _outcome: &'static str) {}
    /// A text on `path` (`child_message`, `requirements`, `scene`, `plan`, `agent_reply`) was
    /// held back for `concern`.
    fn content_flagged(&self, _path: &'static str, _concern: Concern) {}
    /// A client message of this `type` was accepted.
    fn message_in(&self, _kind: &str) {}
    /// An event of this `type` was queued for `sockets` connections.
    fn message_out(&self, _kind: &str, _sockets: usize) {}
    /// A client frame was refused (`bad_json`, `rate_limited`, `too_large`, …).
    fn frame_rejected(&self, _reason: &str) {}
    /// A slow client's queue was full: it was disconnected.
    fn outbound_dropped(&self) {}
    /// From a story event happening to its being queued on every socket of its owner.
    fn fanout(&self, _latency: Duration) {}
    /// One step of a story was stored, `elapsed` after it was asked for (permit waits and
    /// retries included): `Planning` the plan, `Writing` one scene's text, `Illustrating` one
    /// picture (or the cover), `Narrating` one scene's narration.
    fn story_step(&self, _stage: Stage, _elapsed: Duration) {}
    /// A story's first scene was stored, `elapsed` after its actor started.
    fn first_scene(&self, _story: StoryId, _elapsed: Duration) {}
    /// A story's first words were shown (its first `scene_delta`), `elapsed` after its actor
    /// started.
    fn first_text(&self, _story: StoryId, _elapsed: Duration) {}
    /// The agent's first words in answer to a child's message went out, `elapsed` after it arrived.
    fn first_words(&self, _elapsed: Duration) {}
}

/// Counts an actor as alive for exactly as long as it exists. Kept in the actor's state, it is
/// dropped however the actor ends (stopped, failed, panicked or killed: ractor runs
/// `post_stop` only for the first), so the "actors alive" gauge cannot drift.
pub struct Alive {
    observer: Arc<dyn Observer>,
    kind: ActorKind,
}

impl Alive {
    pub fn new(observer: Arc<dyn Observer>, kind: ActorKind) -> Self {
        observer.actor_started(kind);
        Self { observer, kind }
    }
}

impl Drop for Alive {
    fn drop(&mut self) {
        self.observer.actor_stopped(self.kind);
    }
}

/// An observer that ignores everything.
pub struct NoObserver;
impl Observer for NoObserver {}
