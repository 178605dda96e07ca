//! Root of the actor tree and the handle the edge holds ([`Engine`]). The root restarts a
//! crashed supervisor, forwards requests to the current one, and parents the connection actors
//! so that stopping the tree closes every socket (1001) before stopping the rest.

use crate::connection::{ConnectionActor, ConnectionArgs, ConnectionLimits, ConnectionMessage, ConversationLocator};
use crate::conversation::{ConversationConfig, ConversationDeps, ConversationMessage};
use crate::conversation_supervisor::{ConversationSupervisor, ConversationSupervisorMessage, Registry, STOP_WAIT};
use crate::fair::FairPermits;
use crate::model::{StoryId, UserId, Writer};
pub use crate::ports::EngineDown;
use crate::ports::{
    ActorKind, Alive, ChatModel, ConversationStore, Illustrator, InFlightCaps, Llm, MediaLinks, MediaStore, Narrator,
    Observer, Outbound, OwnedStory, Residency, RingStore, Safety, StoryCatalog, StoryLauncher, StoryStore,
    Understander,
};
use crate::retry::RetryPolicy;
use crate::stories::StoryService;
use crate::story::{FallbackPolicy, StoryDeps};
use crate::story_supervisor::{StorySupervisor, StorySupervisorMessage};
use async_trait::async_trait;
use ractor::rpc::CallResult;
use ractor::{Actor, ActorProcessingErr, ActorRef, SpawnErr, SupervisionEvent};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// What the core needs from outside, implemented in `src/`.
pub struct Ports {
    pub stories: Arc<dyn StoryStore>,
    /// Story creation, retry and deletion (the same store as `stories`, seen as a catalog).
    pub catalog: Arc<dyn StoryCatalog>,
    pub conversations: Arc<dyn ConversationStore>,
    /// Where a stopping conversation keeps its event ring for the next one.
    pub rings: Arc<dyn RingStore>,
    pub llm: Arc<dyn Llm>,
    /// `Model` when `llm` is a language model (its text is checked, and replaced when it keeps
    /// failing), `Offline` when it is the offline storyteller.
    pub llm_writer: Writer,
    /// The offline storyteller: writes what the configured one keeps getting wrong.
    pub fallback_llm: Arc<dyn Llm>,
    pub safety: Arc<dyn Safety>,
    /// The agent speaks through this chat model when set.
    pub chat: Option<Arc<dyn ChatModel>>,
    /// A model reads what the child says when set (checked; the builtin rules otherwise).
    pub understander: Option<Arc<dyn Understander>>,
    pub illustrator: Arc<dyn Illustrator>,
    /// `None` when no narrator is available (stories then have no audio).
    pub narrator: Option<Arc<dyn Narrator>>,
    pub media: Arc<dyn MediaStore>,
    pub observer: Arc<dyn Observer>,
    pub links: Arc<dyn MediaLinks>,
    /// Told when a user's live state leaves this machine.
    pub residency: Arc<dyn Residency>,
}

#[derive(Clone, Copy, Debug)]
pub struct EngineConfig {
    /// Concurrent calls into each provider across all stories.
    pub llm_concurrency: usize,
    pub image_concurrency: usize,
    pub audio_concurrency: usize,
    /// Scenes of one story whose media may be in flight while later texts are written.
    pub lookahead: usize,
    pub retry: RetryPolicy,
    /// How often a rejected plan or scene is asked for again, with the reason.
    pub rewrites: u32,
    /// What a story does when its model keeps writing rejected text.
    pub fallback_policy: FallbackPolicy,
    /// Crashes of one story's actor before the story is marked failed.
    pub restart_limit: u32,
    /// Stories pending or processing at once, per user and in all.
    pub in_flight: InFlightCaps,
    /// First wait before a story paused by failing storage is tried again (it doubles, to 1 min).
    pub storage_retry: Duration,
    pub conversation: ConversationConfig,
    pub connection: ConnectionLimits,
    /// On shutdown, how long stories may take to finish the step they are in.
    pub shutdown_grace: Duration,
}

/// On shutdown, how long the conversations may take to handle what is in their mailboxes and
/// keep their rings, after the stories have stopped (their supervisor's wait, and a margin).
const KEEP_RINGS: Duration = STOP_WAIT.saturating_add(Duration::from_secs(1));

/// The longest [`Engine::shutdown`] takes with this grace for the stories: their steps, then
/// the conversations keeping their rings, and a second's margin. A process manager's kill
/// timeout must be longer (see the deploy docs).
pub fn shutdown_bound(shutdown_grace: Duration) -> Duration {
    shutdown_grace + KEEP_RINGS + Duration::from_secs(1)
}

pub struct RootActor;

pub enum RootMessage {
    Stories(StorySupervisorMessage),
    Conversations(ConversationSupervisorMessage),
}

/// Starting and stopping stories goes through the root, which knows the current supervisor.
impl StoryLauncher for ActorRef<RootMessage> {
    fn start(&self, story: OwnedStory) -> Result<(), EngineDown> {
        self.send_message(RootMessage::Stories(StorySupervisorMessage::StartStory(story))).map_err(|_| EngineDown)
    }

    fn cancel(&self, id: StoryId) -> Result<(), EngineDown> {
        self.send_message(RootMessage::Stories(StorySupervisorMessage::CancelStory(id))).map_err(|_| EngineDown)
    }
}

#[async_trait]
impl ConversationLocator for ActorRef<RootMessage> {
    async fn conversation(&self, user: UserId) -> Option<ActorRef<ConversationMessage>> {
        let get = |reply| RootMessage::Conversations(ConversationSupervisorMessage::GetOrSpawn(user, reply));
        match self.call(get, Some(Duration::from_secs(5))).await {
            Ok(CallResult::Success(found)) => found,
            _ => None,
        }
    }
}

/// The story service whose stories are started through `root`.
fn story_service(ports: &Ports, root: &ActorRef<RootMessage>, caps: InFlightCaps) -> StoryService {
    StoryService::new(ports.catalog.clone(), Arc::new(root.clone()), ports.media.clone(), ports.observer.clone(), caps)
}

pub struct RootArgs {
    ports: Ports,
    config: EngineConfig,
    registry: Registry,
}

pub struct RootState {
    story_deps: Arc<StoryDeps>,
    conversation_deps: Arc<ConversationDeps>,
    registry: Registry,
    stories: ActorRef<StorySupervisorMessage>,
    conversations: ActorRef<ConversationSupervisorMessage>,
    shutdown_grace: Duration,
    _alive: Alive,
}

/// The story supervisor. It starts empty: unfinished stories are adopted by the edge, for the
/// users this machine is home to (after a restart of the supervisor too, at the edge's next
/// sweep).
async fn spawn_stories(
    myself: &ActorRef<RootMessage>,
    deps: &Arc<StoryDeps>,
) -> Result<ActorRef<StorySupervisorMessage>, SpawnErr> {
    Ok(Actor::spawn_linked(None, StorySupervisor, deps.clone(), myself.get_cell()).await?.0)
}

async fn spawn_conversations(
    myself: &ActorRef<RootMessage>,
    deps: &Arc<ConversationDeps>,
    registry: &Registry,
) -> Result<ActorRef<ConversationSupervisorMessage>, SpawnErr> {
    let args = (deps.clone(), registry.clone());
    Ok(Actor::spawn_linked(None, ConversationSupervisor, args, myself.get_cell()).await?.0)
}

impl Actor for RootActor {
    type Msg = RootMessage;
    type State = RootState;
    type Arguments = RootArgs;

    async fn pre_start(&self, myself: ActorRef<Self::Msg>, args: RootArgs) -> Result<Self::State, ActorProcessingErr> {
        let RootArgs { ports, config, registry } = args;
        let alive = Alive::new(ports.observer.clone(), ActorKind::Root);
        let stories = story_service(&ports, &myself, config.in_flight);
        let story_deps = Arc::new(StoryDeps {
            store: ports.stories,
            llm: ports.llm,
            llm_writer: ports.llm_writer,
            safety: ports.safety.clone(),
            fallback: ports.fallback_llm,
            fallback_policy: config.fallback_policy,
            rewrites: config.rewrites,
            illustrator: ports.illustrator,
            narrator: ports.narrator,
            media: ports.media,
            observer: ports.observer.clone(),
            llm_permits: FairPermits::new(config.llm_concurrency),
            image_permits: FairPermits::new(config.image_concurrency),
            audio_permits: FairPermits::new(config.audio_concurrency),
            lookahead: config.lookahead.max(1),
            retry: config.retry,
            restart_limit: config.restart_limit,
            storage_retry: config.storage_retry,
            events: Arc::new(registry.clone()),
        });
        let conversation_deps = Arc::new(ConversationDeps {
            store: ports.conversations,
            rings: ports.rings,
            observer: ports.observer.clone(),
            config: config.conversation,
            safety: ports.safety,
            chat: ports.chat,
            understander: ports.understander,
            stories,
            links: ports.links,
            residency: ports.residency,
        });
        let stories = spawn_stories(&myself, &story_deps).await?;
        let conversations = spawn_conversations(&myself, &conversation_deps, &registry).await?;
        let shutdown_grace = config.shutdown_grace;
        Ok(RootState { story_deps, conversation_deps, registry, stories, conversations, shutdown_grace, _alive: alive })
    }

    /// Sockets first (going away), then the stories, each finishing the step it is in; their
    /// events still reach the conversations, which stop last and keep their rings, so a client
    /// reconnecting to the next process misses nothing that happened during the drain.
    async fn post_stop(&self, myself: ActorRef<Self::Msg>, state: &mut Self::State) -> Result<(), ActorProcessingErr> {
        let (stories, conversations) = (state.stories.get_id(), state.conversations.get_id());
        for child in myself.get_children() {
            if child.get_id() != stories && child.get_id() != conversations {
                child.stop(Some("shutdown".into()));
            }
        }
        if state.stories.stop_and_wait(None, Some(state.shutdown_grace)).await.is_err() {
            tracing::warn!("stories did not finish their steps in time; they resume at the next start");
        }
        // Drained, not stopped: events queued for conversations not started yet are handled.
        let _ = state.conversations.drain_and_wait(Some(KEEP_RINGS)).await;
        Ok(())
    }

    async fn handle(
        &self,
        _: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            RootMessage::Stories(msg) => state.stories.send_message(msg)?,
            RootMessage::Conversations(msg) => state.conversations.send_message(msg)?,
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<Self::Msg>,
        event: SupervisionEvent,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        if let SupervisionEvent::ActorFailed(cell, error) = event {
            if cell.get_id() == state.stories.get_id() {
                tracing::error!(%error, "story supervisor crashed, restarting it");
                state.stories = spawn_stories(&myself, &state.story_deps).await?;
            } else if cell.get_id() == state.conversations.get_id() {
                tracing::error!(%error, "conversation supervisor crashed, restarting it");
                state.conversations = spawn_conversations(&myself, &state.conversation_deps, &state.registry).await?;
            } else {
                tracing::warn!(%error, "connection actor crashed; its socket is closed");
            }
        }
        Ok(())
    }
}

/// The running actor tree, as the edge sees it.
pub struct Engine {
    root: ActorRef<RootMessage>,
    stories: StoryService,
    conversations: Arc<dyn ConversationLocator>,
    handle: std::sync::Mutex<Option<JoinHandle<()>>>,
    registry: Registry,
    observer: Arc<dyn Observer>,
    connection_limits: ConnectionLimits,
    shutdown_grace: Duration,
}

/// The edge's handle on one socket's ConnectionActor.
pub struct Connection {
    actor: ActorRef<ConnectionMessage>,
}

impl Connection {
    /// Hand over a text message; returns once it is handled (backpressure for the reader).
    /// `false` when the connection is closing or gone: stop reading.
    pub async fn text(&self, text: String) -> bool {
        matches!(
            self.actor.call(|reply| ConnectionMessage::Text(text, reply), None).await,
            Ok(CallResult::Success(true))
        )
    }

    pub fn binary(&self) {
        let _ = self.actor.send_message(ConnectionMessage::Binary);
    }

    pub fn too_large(&self) {
        let _ = self.actor.send_message(ConnectionMessage::TooLarge);
    }

    /// The socket is gone: detach and stop.
    pub fn closed(&self) {
        self.actor.stop(None);
    }
}

impl Engine {
    /// Start the tree. It writes no story until the edge adopts some (see [`Engine::adopt`]).
    pub async fn start(ports: Ports, config: EngineConfig) -> Result<Self, SpawnErr> {
        let registry = Registry::default();
        let observer = ports.observer.clone();
        let (catalog, media) = (ports.catalog.clone(), ports.media.clone());
        let args = RootArgs { ports, config, registry: registry.clone() };
        let (root, handle) = Actor::spawn(None, RootActor, args).await?;
        Ok(Self {
            stories: StoryService::new(catalog, Arc::new(root.clone()), media, observer.clone(), config.in_flight),
            conversations: Arc::new(root.clone()),
            root,
            handle: std::sync::Mutex::new(Some(handle)),
            registry,
            observer,
            connection_limits: config.connection,
            shutdown_grace: config.shutdown_grace,
        })
    }

    /// Create, retry and delete stories (the same service the conversations use).
    pub fn stories(&self) -> &StoryService {
        &self.stories
    }

    /// Close every socket of `user` (they signed out).
    pub fn sign_out(&self, user: UserId) {
        if let Some(conversation) = self.registry.get(user) {
            let _ = conversation.send_message(ConversationMessage::SignOut);
        }
    }

    /// Conversation actors alive right now.
    pub fn conversations_alive(&self) -> usize {
        self.registry.len()
    }

    /// Whether `user` has a conversation actor alive here.
    pub fn has_conversation(&self, user: UserId) -> bool {
        self.registry.get(user).is_some()
    }

    /// Write these unfinished stories here (each unless it is already being written or waits
    /// for storage): their owners' home is this machine.
    pub fn adopt(&self, stories: Vec<OwnedStory>) {
        if !stories.is_empty() {
            let _ = self.root.send_message(RootMessage::Stories(StorySupervisorMessage::Adopt(stories)));
        }
    }

    /// Another machine is `user`'s home now: their sockets here close (the app reconnects to
    /// it), their conversation and stories here stop, writing nothing more.
    pub fn lost_home(&self, user: UserId) {
        let _ = self.root.send_message(RootMessage::Conversations(ConversationSupervisorMessage::Evict(user)));
        let _ = self.root.send_message(RootMessage::Stories(StorySupervisorMessage::StopOwner(user)));
    }

    /// Start the ConnectionActor for a new socket of `user`, attached to their conversation.
    pub async fn open_connection(
        &self,
        user: UserId,
        outbound: Arc<dyn Outbound>,
        resume_from: Option<u64>,
    ) -> Result<Connection, EngineDown> {
        let args = ConnectionArgs {
            user,
            outbound,
            conversations: self.conversations.clone(),
            observer: self.observer.clone(),
            limits: self.connection_limits,
            resume_from,
        };
        let (actor, _) =
            Actor::spawn_linked(None, ConnectionActor, args, self.root.get_cell()).await.map_err(|_| EngineDown)?;
        Ok(Connection { actor })
    }

    /// Stop the tree: sockets close (going away), in-flight story steps finish (at most the
    /// configured grace), then every conversation keeps its ring.
    pub async fn shutdown(&self) {
        let bound = shutdown_bound(self.shutdown_grace);
        if self.root.stop_and_wait(Some("shutdown".into()), Some(bound)).await.is_err() {
            tracing::warn!("actor tree did not stop within {bound:?}; unfinished stories resume at next start");
            self.root.kill();
        }
        let handle = crate::sync::lock(&self.handle).take();
        if let Some(handle) = handle {
            let _ = handle.await;
        }
    }
}
