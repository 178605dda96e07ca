//! StorySupervisor: owns one StoryActor per story being written. Starts them on request or
//! when the edge adopts unfinished stories of users this machine is home to, stops a user's
//! stories when another machine becomes their home, restarts crashed ones (one-for-one,
//! limited), and marks a story failed when its actor keeps crashing. A story whose storage cannot write
//! for now (a full disk, a store that does not answer, a lock held elsewhere) is paused and tried
//! again with backoff, however long that takes: it is never left `processing` with no actor and
//! nothing scheduled.

use crate::model::{StoryId, UserId};
use crate::ports::{ActorKind, Alive, OwnedStory, StoreError, StoreErrorKind};
use crate::story::{StoryActor, StoryArgs, StoryDeps, StoryMessage, mark_failed};
use ractor::{Actor, ActorCell, ActorId, ActorProcessingErr, ActorRef, SupervisionEvent};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

pub struct StorySupervisor;

#[derive(Debug)]
pub enum StorySupervisorMessage {
    /// Write this story (no-op when it is already being written).
    StartStory(OwnedStory),
    /// Stop writing this story (it was deleted).
    CancelStory(StoryId),
    /// Write these unfinished stories, each unless it is being written or waits for storage.
    Adopt(Vec<OwnedStory>),
    /// Another machine is this user's home now: stop writing their stories here.
    StopOwner(UserId),
    /// A paused story's wait is over: try again.
    Resume(StoryId),
}

/// A story waiting for storage to work again.
struct Paused {
    owner: UserId,
    /// Pauses so far, for the backoff.
    attempts: u32,
    /// The story was given up on but could not be marked failed yet: mark it, don't restart it.
    give_up: bool,
}

struct Child {
    actor: ActorRef<StoryMessage>,
    owner: UserId,
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
    async fn spawn(&mut self, myself: &ActorRef<StorySupervisorMessage>, story: OwnedStory, restarts: u32) {
        let OwnedStory { id, owner } = story;
        let args = StoryArgs { story_id: id, deps: self.deps.clone() };
        match Actor::spawn_linked(None, StoryActor, args, myself.get_cell()).await {
            Ok((actor, _)) => {
                self.by_actor.insert(actor.get_id(), id);
                self.children.insert(id, Child { actor, owner, restarts, again: false });
            }
            Err(e) => tracing::error!(story = %id, error = %e, "could not start story actor"),
        }
    }

    fn forget(&mut self, cell: &ActorCell) -> Option<(StoryId, Child)> {
        let id = self.by_actor.remove(&cell.get_id())?;
        self.children.remove(&id).map(|child| (id, child))
    }

    /// Try the story again after a backoff (1×, 2×, 4× … the base, at most a minute).
    fn pause(&mut self, myself: &ActorRef<StorySupervisorMessage>, story: OwnedStory, give_up: bool) {
        let OwnedStory { id, owner } = story;
        let entry = self.paused.entry(id).or_insert(Paused { owner, attempts: 0, give_up });
        entry.attempts += 1;
        entry.give_up |= give_up;
        let wait = self.deps.storage_retry.saturating_mul(1 << entry.attempts.min(6)).min(Duration::from_secs(60));
        tracing::warn!(story = %id, wait_ms = wait.as_millis() as u64, "storage is failing; story paused");
        myself.send_after(wait, move || StorySupervisorMessage::Resume(id));
    }

    /// Record the story as failed; if even that cannot be written, keep trying later (unless
    /// another machine is the owner's home now: it decides).
    async fn give_up(&mut self, myself: &ActorRef<StorySupervisorMessage>, story: OwnedStory) {
        let reason = "Something went wrong while writing this story. Please try again.";
        match mark_failed(&self.deps, story, reason).await {
            Ok(()) => {
                self.paused.remove(&story.id);
            }
            Err(e) if e.kind() == StoreErrorKind::Fenced => {
                self.paused.remove(&story.id);
            }
            Err(e) => {
                tracing::error!(story = %story.id, error = ?e, "could not mark story failed");
                self.pause(myself, story, true);
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
            StorySupervisorMessage::StartStory(story) => {
                state.paused.remove(&story.id);
                match state.children.get_mut(&story.id) {
                    Some(child) => child.again = true,
                    None => state.spawn(&myself, story, 0).await,
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
                Some(paused) => {
                    let story = OwnedStory { id, owner: paused.owner };
                    if paused.give_up {
                        state.give_up(&myself, story).await;
                    } else if !state.children.contains_key(&id) {
                        // Stays in `paused` until it finishes: a failing store pauses it again, longer.
                        state.spawn(&myself, story, 0).await;
                    }
                }
            },
            StorySupervisorMessage::Adopt(stories) => {
                let new: Vec<OwnedStory> = stories
                    .into_iter()
                    .filter(|s| !state.children.contains_key(&s.id) && !state.paused.contains_key(&s.id))
                    .collect();
                if !new.is_empty() {
                    tracing::info!(count = new.len(), "adopting unfinished stories");
                }
                for story in new {
                    state.spawn(&myself, story, 0).await;
                }
            }
            StorySupervisorMessage::StopOwner(user) => {
                state.paused.retain(|_, paused| paused.owner != user);
                for child in state.children.values_mut().filter(|c| c.owner == user) {
                    child.again = false;
                    child.actor.stop(Some("home moved".into()));
                }
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
                if let Some((id, child)) = state.forget(&cell) {
                    // It finished, was cancelled, or failed with a reason: not paused any more.
                    state.paused.remove(&id);
                    if child.again {
                        state.spawn(&myself, OwnedStory { id, owner: child.owner }, 0).await;
                    }
                }
            }
            SupervisionEvent::ActorFailed(cell, error) => {
                let Some((id, child)) = state.forget(&cell) else {
                    return Ok(());
                };
                let story = OwnedStory { id, owner: child.owner };
                // Storage that cannot write now (full, unavailable, busy) is waited out; a write
                // refused because another machine is the owner's home now ends it here; any
                // other failure, storage's included, counts as a crash.
                match error.downcast_ref::<StoreError>().map(StoreError::kind) {
                    Some(kind) if kind.is_transient() => {
                        state.pause(&myself, story, false);
                        return Ok(());
                    }
                    Some(StoreErrorKind::Fenced) => return Ok(()),
                    _ => {}
                }
                let restarts = child.restarts + 1;
                if restarts <= state.deps.restart_limit {
                    tracing::warn!(story = %id, restarts, ?error, "story actor crashed, restarting");
                    // A short pause so a crash loop does not spin.
                    tokio::time::sleep(Duration::from_millis(50 * u64::from(restarts))).await;
                    state.spawn(&myself, story, restarts).await;
                } else {
                    tracing::error!(story = %id, ?error, "story actor keeps crashing, giving up");
                    state.give_up(&myself, story).await;
                }
            }
            _ => {}
        }
        Ok(())
    }
}
