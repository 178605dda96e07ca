//! Root of the actor tree and the handle the edge holds ([`Engine`]).
//! The root restarts a crashed StorySupervisor, which then re-adopts unfinished stories.

use crate::model::StoryId;
use crate::ports::ActorKind;
use crate::story::StoryDeps;
use crate::story_supervisor::{StorySupervisor, StorySupervisorMessage};
use ractor::{Actor, ActorProcessingErr, ActorRef, SpawnErr, SupervisionEvent};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

pub struct RootActor;

#[derive(Debug)]
pub enum RootMessage {
    /// Forward to the current StorySupervisor.
    Stories(StorySupervisorMessage),
}

pub struct RootState {
    deps: Arc<StoryDeps>,
    stories: ActorRef<StorySupervisorMessage>,
}

async fn spawn_stories(
    myself: &ActorRef<RootMessage>,
    deps: &Arc<StoryDeps>,
) -> Result<ActorRef<StorySupervisorMessage>, SpawnErr> {
    let (stories, _) =
        Actor::spawn_linked(None, StorySupervisor, deps.clone(), myself.get_cell()).await?;
    // Cannot fail: the supervisor was just started and nothing has stopped it yet.
    let _ = stories.send_message(StorySupervisorMessage::AdoptUnfinished);
    Ok(stories)
}

impl Actor for RootActor {
    type Msg = RootMessage;
    type State = RootState;
    type Arguments = Arc<StoryDeps>;

    async fn pre_start(
        &self,
        myself: ActorRef<Self::Msg>,
        deps: Arc<StoryDeps>,
    ) -> Result<Self::State, ActorProcessingErr> {
        deps.observer.actor_started(ActorKind::Root);
        let stories = spawn_stories(&myself, &deps).await?;
        Ok(RootState { deps, stories })
    }

    async fn post_stop(
        &self,
        _: ActorRef<Self::Msg>,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        let _ = state.stories.stop_and_wait(None, None).await;
        state.deps.observer.actor_stopped(ActorKind::Root);
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
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<Self::Msg>,
        event: SupervisionEvent,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        if let SupervisionEvent::ActorFailed(cell, error) = event
            && cell.get_id() == state.stories.get_id()
        {
            tracing::error!(%error, "story supervisor crashed, restarting it");
            state.stories = spawn_stories(&myself, &state.deps).await?;
        }
        Ok(())
    }
}

/// The running actor tree, as the edge sees it.
pub struct Engine {
    root: ActorRef<RootMessage>,
    handle: std::sync::Mutex<Option<JoinHandle<()>>>,
}

#[derive(Debug, thiserror::Error)]
#[error("the story engine is not running")]
pub struct EngineDown;

impl Engine {
    /// Start the tree; unfinished stories are re-adopted straight away.
    pub async fn start(deps: Arc<StoryDeps>) -> Result<Self, SpawnErr> {
        let (root, handle) = Actor::spawn(None, RootActor, deps).await?;
        Ok(Self {
            root,
            handle: std::sync::Mutex::new(Some(handle)),
        })
    }

    pub fn start_story(&self, id: StoryId) -> Result<(), EngineDown> {
        self.stories(StorySupervisorMessage::StartStory(id))
    }

    pub fn cancel_story(&self, id: StoryId) -> Result<(), EngineDown> {
        self.stories(StorySupervisorMessage::CancelStory(id))
    }

    pub async fn running_stories(&self) -> Result<Vec<StoryId>, EngineDown> {
        let ask = |reply| RootMessage::Stories(StorySupervisorMessage::RunningStories(reply));
        match self.root.call(ask, Some(Duration::from_secs(5))).await {
            Ok(ractor::rpc::CallResult::Success(ids)) => Ok(ids),
            _ => Err(EngineDown),
        }
    }

    fn stories(&self, msg: StorySupervisorMessage) -> Result<(), EngineDown> {
        self.root
            .send_message(RootMessage::Stories(msg))
            .map_err(|_| EngineDown)
    }

    /// Stop the tree, letting in-flight steps finish for at most `grace`.
    pub async fn shutdown(&self, grace: Duration) {
        if self
            .root
            .stop_and_wait(Some("shutdown".into()), Some(grace))
            .await
            .is_err()
        {
            tracing::warn!(
                "actor tree did not stop within {grace:?}; unfinished stories resume at next start"
            );
            self.root.kill();
        }
        let handle = self.handle.lock().ok().and_then(|mut h| h.take());
        if let Some(handle) = handle {
            let _ = handle.await;
        }
    }
}
