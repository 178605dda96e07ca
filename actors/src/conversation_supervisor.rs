//! ConversationSupervisor: spawns a user's ConversationActor on first use — a socket, or a story
//! event for a user with none alive —, finds it again through its registry, and passivates it
//! when idle. Passivation is a handshake (`TryPassivate`), so a socket attaching at that moment
//! is told to come back for a fresh actor; the passivated actor drains its mailbox and keeps its
//! ring before the next one for that user starts, so no event falls between the two. When
//! another machine becomes a user's home, their conversation here is evicted: its sockets close
//! (the app reconnects to the new home) and it stops without writing.

use crate::conversation::{ConversationActor, ConversationDeps, ConversationMessage, PassivationRequests};
use crate::model::UserId;
use crate::ports::{ActorKind, Alive, StoryEvent, StoryEvents};
use ractor::rpc::CallResult;
use ractor::{Actor, ActorCell, ActorId, ActorProcessingErr, ActorRef, MessagingErr, RpcReplyPort, SupervisionEvent};
use std::collections::HashMap;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

/// How long a stopping conversation may take to handle its mailbox and keep its ring (when
/// passivated, and on shutdown).
pub const STOP_WAIT: Duration = Duration::from_secs(10);

/// A user's entry in the registry.
enum Entry {
    Live(ActorRef<ConversationMessage>),
    /// No actor yet: story events wait here, in order, while the supervisor starts one.
    Waking(Vec<(StoryEvent, Instant)>),
}

#[derive(Default)]
struct Entries {
    users: HashMap<UserId, Entry>,
    /// Asked to start an actor for a user whose story events have nowhere to go.
    supervisor: Option<ActorRef<ConversationSupervisorMessage>>,
}

/// Live conversation actors by user. Story events reach the owner's conversation through it
/// (as the story actors' [`StoryEvents`]), which is started for them if none is alive: they
/// belong in the user's event stream whether or not a socket is open.
#[derive(Clone, Default)]
pub struct Registry(Arc<RwLock<Entries>>);

impl Registry {
    // The entries stay consistent whatever panicked while holding the lock (every change is
    // one map operation), so a poisoned lock is used as it is rather than dropping events.
    fn read(&self) -> RwLockReadGuard<'_, Entries> {
        crate::sync::read(&self.0)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Entries> {
        crate::sync::write(&self.0)
    }

    pub fn get(&self, user: UserId) -> Option<ActorRef<ConversationMessage>> {
        match self.read().users.get(&user)? {
            Entry::Live(actor) => Some(actor.clone()),
            Entry::Waking(_) => None,
        }
    }

    /// Conversation actors alive.
    pub fn len(&self) -> usize {
        self.read().users.values().filter(|e| matches!(e, Entry::Live(_))).count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `actor` now serves `user`: the story events that waited for it go first, in order (under
    /// the lock, so none published meanwhile can overtake them).
    fn go_live(&self, user: UserId, actor: &ActorRef<ConversationMessage>) {
        let mut entries = self.write();
        if let Some(Entry::Waking(waiting)) = entries.users.remove(&user) {
            for (event, at) in waiting {
                let _ = actor.send_message(ConversationMessage::Story { event, at });
            }
        }
        entries.users.insert(user, Entry::Live(actor.clone()));
    }

    /// Remove `user`'s entry if it is still `actor` (a newer actor may have replaced it), or
    /// still waiting for one when `actor` is `None` (it could not be started).
    fn remove(&self, user: UserId, actor: Option<ActorId>) {
        let mut entries = self.write();
        let current = match entries.users.get(&user) {
            Some(Entry::Live(a)) => Some(a.get_id()),
            Some(Entry::Waking(_)) => None,
            None => return,
        };
        if current == actor {
            entries.users.remove(&user);
        }
    }

    /// Forget every entry and serve through `supervisor` from now on (a supervisor (re)starts).
    fn reset(&self, supervisor: Option<ActorRef<ConversationSupervisorMessage>>) {
        let mut entries = self.write();
        entries.users.clear();
        entries.supervisor = supervisor;
    }
}

impl StoryEvents for Registry {
    fn publish(&self, owner: UserId, event: StoryEvent) {
        let at = Instant::now();
        let mut entries = self.write();
        let event = match entries.users.get_mut(&owner) {
            Some(Entry::Live(actor)) => match actor.send_message(ConversationMessage::Story { event, at }) {
                Ok(()) => return,
                // It stopped under us (crashed): a fresh one takes the event.
                Err(MessagingErr::SendErr(ConversationMessage::Story { event, .. })) => event,
                Err(_) => return,
            },
            Some(Entry::Waking(waiting)) => {
                waiting.push((event, at));
                return;
            }
            None => event,
        };
        entries.users.insert(owner, Entry::Waking(vec![(event, at)]));
        if let Some(supervisor) = &entries.supervisor {
            let _ = supervisor.send_message(ConversationSupervisorMessage::Wake(owner));
        }
    }
}

impl PassivationRequests for ActorRef<ConversationSupervisorMessage> {
    fn idle(&self, user: UserId) {
        let _ = self.send_message(ConversationSupervisorMessage::Idle(user));
    }
}

pub struct ConversationSupervisor;

pub enum ConversationSupervisorMessage {
    /// The user's conversation actor, spawned (and rehydrated) if needed; `None` if it
    /// could not be started (the store is down).
    GetOrSpawn(UserId, RpcReplyPort<Option<ActorRef<ConversationMessage>>>),
    /// Story events wait for this user's conversation: start it.
    Wake(UserId),
    /// From a conversation actor that has had no socket for a while.
    Idle(UserId),
    /// Periodic: ask every conversation whether it is idle (one timer for all of them).
    Sweep,
    /// Another machine is this user's home now: stop their conversation here.
    Evict(UserId),
}

pub struct ConversationSupervisorState {
    deps: Arc<ConversationDeps>,
    registry: Registry,
    by_actor: HashMap<ActorId, UserId>,
    _alive: Alive,
}

impl ConversationSupervisorState {
    fn forget(&mut self, cell: &ActorCell) {
        if let Some(user) = self.by_actor.remove(&cell.get_id()) {
            self.registry.remove(user, Some(cell.get_id()));
        }
    }

    /// `user`'s live actor, started (and handed the events waiting for it) if there is none.
    async fn live(
        &mut self,
        myself: &ActorRef<ConversationSupervisorMessage>,
        user: UserId,
    ) -> Option<ActorRef<ConversationMessage>> {
        if let Some(actor) = self.registry.get(user) {
            return Some(actor);
        }
        let args = (user, self.deps.clone(), Arc::new(myself.clone()) as Arc<dyn PassivationRequests>);
        match Actor::spawn_linked(None, ConversationActor, args, myself.get_cell()).await {
            Ok((actor, _)) => {
                self.by_actor.insert(actor.get_id(), user);
                self.registry.go_live(user, &actor);
                Some(actor)
            }
            Err(e) => {
                tracing::error!(%user, error = %e, "could not start a conversation");
                // The events that waited are lost; the next actor's stream starts afresh, so
                // clients are told to refetch rather than misled.
                self.registry.remove(user, None);
                None
            }
        }
    }
}

impl Actor for ConversationSupervisor {
    type Msg = ConversationSupervisorMessage;
    type State = ConversationSupervisorState;
    type Arguments = (Arc<ConversationDeps>, Registry);

    async fn pre_start(
        &self,
        myself: ActorRef<Self::Msg>,
        (deps, registry): Self::Arguments,
    ) -> Result<Self::State, ActorProcessingErr> {
        // After a restart, entries of the previous incarnation point at stopped actors.
        registry.reset(Some(myself.clone()));
        let period = (deps.config.passivate_after / 2).max(Duration::from_millis(10));
        myself.send_interval(period, || ConversationSupervisorMessage::Sweep);
        let alive = Alive::new(deps.observer.clone(), ActorKind::ConversationSupervisor);
        Ok(ConversationSupervisorState { deps, registry, by_actor: HashMap::new(), _alive: alive })
    }

    /// Every conversation finishes what is in its mailbox (story events of the shutdown
    /// included) and keeps its ring before the supervisor is gone.
    async fn post_stop(&self, myself: ActorRef<Self::Msg>, state: &mut Self::State) -> Result<(), ActorProcessingErr> {
        myself.drain_children_and_wait(Some(STOP_WAIT)).await;
        state.registry.reset(None);
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            ConversationSupervisorMessage::GetOrSpawn(user, reply) => {
                let actor = state.live(&myself, user).await;
                let _ = reply.send(actor);
            }
            ConversationSupervisorMessage::Wake(user) => {
                state.live(&myself, user).await;
            }
            ConversationSupervisorMessage::Sweep => {
                for child in myself.get_children() {
                    let _ = child.send_message(ConversationMessage::CheckIdle);
                }
            }
            ConversationSupervisorMessage::Idle(user) => {
                let Some(actor) = state.registry.get(user) else {
                    return Ok(());
                };
                let answer = actor.call(ConversationMessage::TryPassivate, Some(Duration::from_secs(2))).await;
                if let Ok(CallResult::Success(true)) = answer {
                    // Events published from now on wait for the next actor, which starts only
                    // after this one has handled those already sent to it and kept its ring
                    // (this handler holds the supervisor until then).
                    state.registry.remove(user, Some(actor.get_id()));
                    state.by_actor.remove(&actor.get_id());
                    if actor.drain_and_wait(Some(STOP_WAIT)).await.is_err() {
                        tracing::warn!(%user, "a passivated conversation took too long to stop");
                    }
                    state.deps.residency.passivated(user);
                }
            }
            ConversationSupervisorMessage::Evict(user) => {
                // Events waiting for an actor are dropped with it: the new home tells the story.
                match state.registry.get(user) {
                    Some(actor) => {
                        state.registry.remove(user, Some(actor.get_id()));
                        state.by_actor.remove(&actor.get_id());
                        let _ = actor.send_message(ConversationMessage::HomeMoved);
                    }
                    None => state.registry.remove(user, None),
                }
            }
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        _: ActorRef<Self::Msg>,
        event: SupervisionEvent,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match event {
            SupervisionEvent::ActorTerminated(cell, _, _) => state.forget(&cell),
            SupervisionEvent::ActorFailed(cell, error) => {
                // Its state is in the store: the next message for this user spawns a fresh one.
                tracing::error!(%error, "conversation actor crashed");
                state.forget(&cell);
            }
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::StoryId;
    use std::sync::Mutex;

    /// Stands in for a conversation: records the stories of the events it is given.
    struct Recorder;

    impl Actor for Recorder {
        type Msg = ConversationMessage;
        type State = Arc<Mutex<Vec<StoryId>>>;
        type Arguments = Arc<Mutex<Vec<StoryId>>>;

        async fn pre_start(
            &self,
            _: ActorRef<Self::Msg>,
            seen: Self::Arguments,
        ) -> Result<Self::State, ActorProcessingErr> {
            Ok(seen)
        }

        async fn handle(
            &self,
            _: ActorRef<Self::Msg>,
            message: Self::Msg,
            seen: &mut Self::State,
        ) -> Result<(), ActorProcessingErr> {
            if let ConversationMessage::Story { event: StoryEvent::Started { story_id }, .. } = message {
                seen.lock().unwrap().push(story_id);
            }
            Ok(())
        }
    }

    #[tokio::test]
    async fn events_for_a_user_with_no_conversation_wait_for_one_and_keep_their_order() {
        let registry = Registry::default();
        let user = UserId::new();
        let stories: Vec<StoryId> = (0..6).map(|_| StoryId::new()).collect();
        for story_id in &stories[..3] {
            registry.publish(user, StoryEvent::Started { story_id: *story_id });
        }
        assert!(registry.get(user).is_none(), "waiting is not alive");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (actor, handle) = Actor::spawn(None, Recorder, seen.clone()).await.unwrap();
        registry.go_live(user, &actor);
        for story_id in &stories[3..] {
            registry.publish(user, StoryEvent::Started { story_id: *story_id });
        }
        actor.drain().unwrap();
        handle.await.unwrap();
        assert_eq!(*seen.lock().unwrap(), stories);
    }
}
