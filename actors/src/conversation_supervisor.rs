//! ConversationSupervisor: spawns a user's ConversationActor on first use, finds it again
//! through its registry, and passivates it when idle. Passivation is a handshake
//! (`TryPassivate`), so a socket attaching at that moment is told to come back for a fresh actor.

use crate::conversation::{ConversationActor, ConversationDeps, ConversationMessage, PassivationRequests};
use crate::model::UserId;
use crate::ports::{ActorKind, Alive, StoryEvent, StoryEvents};
use ractor::rpc::CallResult;
use ractor::{Actor, ActorCell, ActorId, ActorProcessingErr, ActorRef, RpcReplyPort, SupervisionEvent};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// Live conversation actors by user. Story events reach the owner's conversation through it
/// (as the story actors' [`StoryEvents`]), if one is alive.
#[derive(Clone, Default)]
pub struct Registry(Arc<RwLock<HashMap<UserId, ActorRef<ConversationMessage>>>>);

impl Registry {
    pub fn get(&self, user: UserId) -> Option<ActorRef<ConversationMessage>> {
        self.0.read().ok()?.get(&user).cloned()
    }

    pub fn len(&self) -> usize {
        self.0.read().map_or(0, |m| m.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn insert(&self, user: UserId, actor: ActorRef<ConversationMessage>) {
        if let Ok(mut m) = self.0.write() {
            m.insert(user, actor);
        }
    }

    /// Remove `user`'s entry if it is still `actor` (a newer actor may have replaced it).
    fn remove(&self, user: UserId, actor: ActorId) {
        if let Ok(mut m) = self.0.write()
            && m.get(&user).is_some_and(|a| a.get_id() == actor)
        {
            m.remove(&user);
        }
    }

    fn clear(&self) {
        if let Ok(mut m) = self.0.write() {
            m.clear();
        }
    }
}

impl StoryEvents for Registry {
    fn publish(&self, owner: UserId, event: StoryEvent) {
        if let Some(conversation) = self.get(owner) {
            let _ = conversation.send_message(ConversationMessage::Story { event, at: Instant::now() });
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
    /// From a conversation actor that has had no socket for a while.
    Idle(UserId),
    /// Periodic: ask every conversation whether it is idle (one timer for all of them).
    Sweep,
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
            self.registry.remove(user, cell.get_id());
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
        registry.clear();
        let period = (deps.config.passivate_after / 2).max(Duration::from_millis(10));
        myself.send_interval(period, || ConversationSupervisorMessage::Sweep);
        let alive = Alive::new(deps.observer.clone(), ActorKind::ConversationSupervisor);
        Ok(ConversationSupervisorState { deps, registry, by_actor: HashMap::new(), _alive: alive })
    }

    async fn post_stop(&self, myself: ActorRef<Self::Msg>, state: &mut Self::State) -> Result<(), ActorProcessingErr> {
        myself.stop_children_and_wait(Some("shutdown".into()), Some(Duration::from_secs(5))).await;
        state.registry.clear();
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
                if let Some(actor) = state.registry.get(user) {
                    let _ = reply.send(Some(actor));
                    return Ok(());
                }
                let args = (user, state.deps.clone(), Arc::new(myself.clone()) as Arc<dyn PassivationRequests>);
                match Actor::spawn_linked(None, ConversationActor, args, myself.get_cell()).await {
                    Ok((actor, _)) => {
                        state.by_actor.insert(actor.get_id(), user);
                        state.registry.insert(user, actor.clone());
                        let _ = reply.send(Some(actor));
                    }
                    Err(e) => {
                        tracing::error!(%user, error = %e, "could not start a conversation");
                        let _ = reply.send(None);
                    }
                }
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
                    state.registry.remove(user, actor.get_id());
                    state.by_actor.remove(&actor.get_id());
                    actor.stop(Some("passivated".into()));
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
