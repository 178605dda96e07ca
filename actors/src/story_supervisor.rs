//! StorySupervisor: owns one StoryActor per story being written. Starts them on request,
//! re-adopts unfinished stories at start-up, restarts crashed ones (one-for-one, limited),
//! and marks a story failed when its actor keeps crashing. A story whose storage cannot write
//! for now (a full disk, a store that does not answer, a lock held elsewhere) is paused and tried
//! again with backoff, however long that takes: it is never left `processing` with no actor and
//! nothing scheduled.

use crate::model::StoryId;
use crate::ports::{ActorKind, Alive, StoreError};
use crate::story::{StoryActor, StoryArgs, StoryDeps, StoryMessage, mark_failed};
use ractor::{Actor, ActorCell, ActorId, ActorProcessingErr, ActorRef, SupervisionEvent};
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
    /// A paused story's wait is over: try again.
    Resume(StoryId),
}

/// A story waiting for storage to work again.
struct Paused {
    /// Pauses so far, for the backoff.
    attempts: u32,
    /// The story was given up on but could not be marked failed yet: mark it, don't restart it.
    give_up: bool,
}

struct Child {
    actor: ActorRef<StoryMessage>,
    restarts: u32,
    /// Asked to start while running (a page to redo queued as it was finishing): when it
    /// stops, it is started again to look.
    again: bool,
}

pub struct StorySupervisorState {
    deps: Arc<StoryDeps>,
    children: HashMap<StoryId, Child>,
    by_actor: HashMap<ActorId, StoryId>,
    paused: HashMap<StoryId, Paused>,
    _alive: Alive,
}

impl StorySupervisorState {
    async fn spawn(&mut self, myself: &ActorRef<StorySupervisorMessage>, id: StoryId, restarts: u32) {
        let args = StoryArgs { story_id: id, deps: self.deps.clone() };
        match Actor::spawn_linked(None, StoryActor, args, myself.get_cell()).await {
            Ok((actor, _)) => {
                self.by_actor.insert(actor.get_id(), id);
                self.children.insert(id, Child { actor, restarts, again: false });
            }
            Err(e) => tracing::error!(story = %id, error = %e, "could not start story actor"),
        }
    }

    fn forget(&mut self, cell: &ActorCell) -> Option<(StoryId, Child)> {
        let id = self.by_actor.remove(&cell.get_id())?;
        self.children.remove(&id).map(|child| (id, child))
    }

    /// Try `id` again after a backoff (1×, 2×, 4× … the base, at most a minute).
    fn pause(&mut self, myself: &ActorRef<StorySupervisorMessage>, id: StoryId, give_up: bool) {
        let entry = self.paused.entry(id).or_insert(Paused { attempts: 0, give_up });
        entry.attempts += 1;
        entry.give_up |= give_up;
        let wait = self.deps.storage_retry.saturating_mul(1 << entry.attempts.min(6)).min(Duration::from_secs(60));
        tracing::warn!(story = %id, wait_ms = wait.as_millis() as u64, "storage is failing; story paused");
        myself.send_after(wait, move || StorySupervisorMessage::Resume(id));
    }

    /// Record the story as failed; if even that cannot be written, keep trying later.
    async fn give_up(&mut self, myself: &ActorRef<StorySupervisorMessage>, id: StoryId) {
        let reason = "Something went wrong while writing this story. Please try again.";
        match mark_failed(&self.deps, id, None, reason).await {
            Ok(()) => {
                self.paused.remove(&id);
            }
            Err(e) => {
                tracing::error!(story = %id, error = ?e, "could not mark story failed");
                self.pause(myself, id, true);
            }
        }
    }
}

impl Actor for StorySupervisor {
    type Msg = StorySupervisorMessage;
    type State = StorySupervisorState;
    type Arguments = Arc<StoryDeps>;

    async fn pre_start(&self, _: ActorRef<Self::Msg>, deps: Arc<StoryDeps>) -> Result<Self::State, ActorProcessingErr> {
        let alive = Alive::new(deps.observer.clone(), ActorKind::StorySupervisor);
        Ok(StorySupervisorState {
            deps,
            children: HashMap::new(),
            by_actor: HashMap::new(),
            paused: HashMap::new(),
            _alive: alive,
        })
    }

    async fn post_stop(&self, _: ActorRef<Self::Msg>, state: &mut Self::State) -> Result<(), ActorProcessingErr> {
        // Let each story finish the step it is in (a scene being saved), then stop.
        for (_, child) in state.children.drain() {
            let _ = child.actor.stop_and_wait(None, None).await;
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
            StorySupervisorMessage::StartStory(id) => {
                state.paused.remove(&id);
                match state.children.get_mut(&id) {
                    Some(child) => child.again = true,
                    None => state.spawn(&myself, id, 0).await,
                }
            }
            StorySupervisorMessage::CancelStory(id) => {
                state.paused.remove(&id);
                if let Some(child) = state.children.get_mut(&id) {
                    child.again = false;
                    child.actor.stop(Some("cancelled".into()));
                }
            }
            StorySupervisorMessage::Resume(id) => match state.paused.get(&id) {
                None => {} // started again or cancelled meanwhile
                Some(paused) if paused.give_up => state.give_up(&myself, id).await,
                // Stays in `paused` until it finishes: a failing store pauses it again, longer.
                Some(_) if !state.children.contains_key(&id) => state.spawn(&myself, id, 0).await,
                Some(_) => {}
            },
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
                Err(e) => tracing::error!(error = ?e, "could not list unfinished stories"),
            },
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
                if let Some((id, child)) = state.forget(&cell) {
                    // It finished, was cancelled, or failed with a reason: not paused any more.
                    state.paused.remove(&id);
                    if child.again {
                        state.spawn(&myself, id, 0).await;
                    }
                }
            }
            SupervisionEvent::ActorFailed(cell, error) => {
                let Some((id, child)) = state.forget(&cell) else {
                    return Ok(());
                };
                // Storage that cannot write now (full, unavailable, busy) is waited out; any
                // other failure, storage's included, counts as a crash.
                if error.downcast_ref::<StoreError>().is_some_and(|e| e.kind().is_transient()) {
                    state.pause(&myself, id, false);
                    return Ok(());
                }
                let restarts = child.restarts + 1;
                if restarts <= state.deps.restart_limit {
                    tracing::warn!(story = %id, restarts, ?error, "story actor crashed, restarting");
                    // A short pause so a crash loop does not spin.
                    tokio::time::sleep(Duration::from_millis(50 * u64::from(restarts))).await;
                    state.spawn(&myself, id, restarts).await;
                } else {
                    tracing::error!(story = %id, ?error, "story actor keeps crashing, giving up");
                    state.give_up(&myself, id).await;
                }
            }
            _ => {}
        }
        Ok(())
    }
}
