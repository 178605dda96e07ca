//! StorySupervisor: owns one StoryActor per story being written. Starts them on request,
//! re-adopts unfinished stories at start-up, restarts crashed ones (one-for-one, limited),
//! and marks a story failed when its actor keeps crashing.

use crate::model::StoryId;
use crate::ports::ActorKind;
use crate::story::{StoryActor, StoryArgs, StoryDeps, StoryMessage, mark_failed};
use ractor::{Actor, ActorCell, ActorId, ActorProcessingErr, ActorRef, RpcReplyPort, SupervisionEvent};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

pub struct StorySupervisor;

#[derive(Debug)]
pub enum StorySupervisorMessage {
    /// Write this story (no-op when it is already being written).
    StartStory(StoryId),
    /// Stop writing this story (it was deleted).
    CancelStory(StoryId),
    /// Start every story the store says was left unfinished.
    AdoptUnfinished,
    /// Which stories are being written right now.
    RunningStories(RpcReplyPort<Vec<StoryId>>),
}

struct Child {
    actor: ActorRef<StoryMessage>,
    restarts: u32,
}

pub struct StorySupervisorState {
    deps: Arc<StoryDeps>,
    children: HashMap<StoryId, Child>,
    by_actor: HashMap<ActorId, StoryId>,
}

impl StorySupervisorState {
    async fn spawn(&mut self, myself: &ActorRef<StorySupervisorMessage>, id: StoryId, restarts: u32) {
        let args = StoryArgs { story_id: id, deps: self.deps.clone() };
        match Actor::spawn_linked(None, StoryActor, args, myself.get_cell()).await {
            Ok((actor, _)) => {
                self.by_actor.insert(actor.get_id(), id);
                self.children.insert(id, Child { actor, restarts });
            }
            Err(e) => tracing::error!(story = %id, error = %e, "could not start story actor"),
        }
    }

    fn forget(&mut self, cell: &ActorCell) -> Option<(StoryId, Child)> {
        let id = self.by_actor.remove(&cell.get_id())?;
        self.children.remove(&id).map(|child| (id, child))
    }
}

impl Actor for StorySupervisor {
    type Msg = StorySupervisorMessage;
    type State = StorySupervisorState;
    type Arguments = Arc<StoryDeps>;

    async fn pre_start(&self, _: ActorRef<Self::Msg>, deps: Arc<StoryDeps>) -> Result<Self::State, ActorProcessingErr> {
        deps.observer.actor_started(ActorKind::StorySupervisor);
        Ok(StorySupervisorState { deps, children: HashMap::new(), by_actor: HashMap::new() })
    }

    async fn post_stop(&self, _: ActorRef<Self::Msg>, state: &mut Self::State) -> Result<(), ActorProcessingErr> {
        // Let each story finish the step it is in (a scene being saved), then stop.
        for (_, child) in state.children.drain() {
            let _ = child.actor.stop_and_wait(None, None).await;
        }
        state.deps.observer.actor_stopped(ActorKind::StorySupervisor);
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            StorySupervisorMessage::StartStory(id) => {
                if !state.children.contains_key(&id) {
                    state.spawn(&myself, id, 0).await;
                }
            }
            StorySupervisorMessage::CancelStory(id) => {
                if let Some(child) = state.children.get(&id) {
                    child.actor.stop(Some("cancelled".into()));
                }
            }
            StorySupervisorMessage::AdoptUnfinished => match state.deps.store.unfinished_stories().await {
                Ok(ids) => {
                    if !ids.is_empty() {
                        tracing::info!(count = ids.len(), "re-adopting unfinished stories");
                    }
                    for id in ids {
                        if !state.children.contains_key(&id) {
                            state.spawn(&myself, id, 0).await;
                        }
                    }
                }
                Err(e) => tracing::error!(error = %e, "could not list unfinished stories"),
            },
            StorySupervisorMessage::RunningStories(reply) => {
                let _ = reply.send(state.children.keys().copied().collect());
            }
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<Self::Msg>,
        event: SupervisionEvent,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match event {
            SupervisionEvent::ActorTerminated(cell, _, _) => {
                state.forget(&cell);
            }
            SupervisionEvent::ActorFailed(cell, error) => {
                let Some((id, child)) = state.forget(&cell) else {
                    return Ok(());
                };
                let restarts = child.restarts + 1;
                if restarts <= state.deps.restart_limit {
                    tracing::warn!(story = %id, restarts, %error, "story actor crashed, restarting");
                    // A short pause so a crash loop does not spin.
                    tokio::time::sleep(Duration::from_millis(50 * u64::from(restarts))).await;
                    state.spawn(&myself, id, restarts).await;
                } else {
                    tracing::error!(story = %id, %error, "story actor keeps crashing, giving up");
                    let reason = "Something went wrong while writing this story. Please try again.";
                    if let Err(e) = mark_failed(&state.deps, id, None, reason).await {
                        tracing::error!(story = %id, error = %e, "could not mark story failed");
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }
}
