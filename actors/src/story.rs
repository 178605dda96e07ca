//! StoryActor: writes one story. Plans it, then writes scene after scene, persisting each
//! before announcing it. Each step is one message to itself, so a stop request lands between
//! steps and a restarted actor resumes from the first scene not yet persisted.

use crate::conversation::ConversationMessage;
use crate::conversation_supervisor::Registry;
use crate::model::{Scene, SceneId, Stage, StoryId, StoryState, StoryStatus, UserId};
use crate::ports::{
    ActorKind, Llm, MediaLinks, Observer, Progress, ProviderError, SceneRequest, StoreError, StoryStore,
};
use crate::protocol::{SceneView, ServerEvent};
use crate::retry::RetryPolicy;
use ractor::{Actor, ActorProcessingErr, ActorRef};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::Semaphore;

/// Shared by every story actor: the ports and the limits.
pub struct StoryDeps {
    pub store: Arc<dyn StoryStore>,
    pub llm: Arc<dyn Llm>,
    pub observer: Arc<dyn Observer>,
    /// Concurrent calls allowed into the LLM provider; a burst of stories queues here.
    pub llm_permits: Arc<Semaphore>,
    pub retry: RetryPolicy,
    /// How often one story may crash its actor before it is marked failed.
    pub restart_limit: u32,
    /// Where live progress goes: the owner's conversation actor, if one is alive.
    pub registry: Registry,
    pub links: Arc<dyn MediaLinks>,
}

impl StoryDeps {
    /// Tell the owner's connected devices (if any) what happened.
    pub(crate) fn publish(&self, user: UserId, event: ServerEvent) {
        if let Some(conversation) = self.registry.get(user) {
            let _ = conversation.send_message(ConversationMessage::Story { event, at: Instant::now() });
        }
    }

    fn progress_event(&self, story: &StoryState, stage: Stage) -> ServerEvent {
        ServerEvent::StoryProgress {
            story_id: story.story_id,
            status: story.status,
            stage,
            scenes_done: story.scenes.len() as u32,
            scenes_total: u32::from(story.spec.num_scenes),
        }
    }
}

pub struct StoryActor;

#[derive(Debug)]
pub enum StoryMessage {
    /// Do the next piece of work (plan, or the next scene).
    Advance,
}

pub struct StoryActorState {
    story_id: StoryId,
    deps: Arc<StoryDeps>,
    started: Instant,
    story: Option<StoryState>,
}

pub struct StoryArgs {
    pub story_id: StoryId,
    pub deps: Arc<StoryDeps>,
}

/// What a step decided.
enum Next {
    Continue,
    Finished,
}

#[derive(Debug, thiserror::Error)]
enum StepError {
    #[error(transparent)]
    Provider(#[from] ProviderError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Actor for StoryActor {
    type Msg = StoryMessage;
    type State = StoryActorState;
    type Arguments = StoryArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<Self::Msg>,
        args: Self::Arguments,
    ) -> Result<Self::State, ActorProcessingErr> {
        args.deps.observer.actor_started(ActorKind::Story);
        myself.send_message(StoryMessage::Advance)?;
        Ok(StoryActorState { story_id: args.story_id, deps: args.deps, started: Instant::now(), story: None })
    }

    async fn post_stop(&self, _: ActorRef<Self::Msg>, state: &mut Self::State) -> Result<(), ActorProcessingErr> {
        state.deps.observer.actor_stopped(ActorKind::Story);
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            StoryMessage::Advance => match step(state).await {
                Ok(Next::Continue) => myself.send_message(StoryMessage::Advance)?,
                Ok(Next::Finished) | Err(StepError::Store(StoreError::NotFound)) => myself.stop(None),
                Err(StepError::Provider(e)) => {
                    tracing::warn!(story = %state.story_id, error = %e, "story failed");
                    fail(state, &e.message).await?;
                    myself.stop(None);
                }
                // A storage failure is the supervisor's business: it restarts us from the checkpoint.
                Err(StepError::Store(e)) => return Err(e.into()),
            },
        }
        Ok(())
    }
}

async fn step(state: &mut StoryActorState) -> Result<Next, StepError> {
    let deps = state.deps.clone();
    let story = match &mut state.story {
        Some(story) => story,
        slot => {
            let loaded = deps.store.load_story(state.story_id).await?.ok_or(StoreError::NotFound)?;
            slot.insert(loaded)
        }
    };
    if story.status == StoryStatus::Completed {
        return Ok(Next::Finished);
    }
    let (user, id) = (story.user_id, story.story_id);

    let Some(plan) = story.plan.clone() else {
        set_progress(&deps, story, StoryStatus::Processing, Stage::Planning).await?;
        let plan = {
            let _permit = deps.llm_permits.acquire().await;
            let (llm, id, spec) = (&deps.llm, story.story_id, &story.spec);
            deps.retry.run("plan", || llm.plan_story(id, spec)).await?
        };
        deps.store.save_plan(story.story_id, &plan).await?;
        story.plan = Some(plan);
        return Ok(Next::Continue);
    };

    let total = plan.scenes.len();
    let Some(index) = first_missing(&story.scenes, total) else {
        set_progress(&deps, story, StoryStatus::Completed, Stage::Done).await?;
        deps.observer.story_finished(id, StoryStatus::Completed, state.started.elapsed());
        deps.publish(user, ServerEvent::StoryCompleted { story_id: id });
        return Ok(Next::Finished);
    };

    set_progress(&deps, story, StoryStatus::Processing, Stage::Writing).await?;
    let draft = {
        let _permit = deps.llm_permits.acquire().await;
        let request =
            SceneRequest { story_id: story.story_id, spec: &story.spec, plan: &plan, index, previous: &story.scenes };
        let llm = &deps.llm;
        deps.retry.run("scene", || llm.write_scene(request)).await?
    };
    let scene = Scene {
        scene_id: SceneId::new(),
        sequence: index as u32 + 1,
        title: draft.title,
        text: draft.text,
        image_key: None,
        audio_key: None,
    };
    deps.store.save_scene(id, &scene).await?;
    deps.observer.scene_saved(id, &scene);
    let view = SceneView::new(&scene, |key| deps.links.link(key));
    story.scenes.push(scene);
    story.scenes.sort_by_key(|s| s.sequence);
    deps.publish(user, ServerEvent::SceneReady { story_id: id, scene: view });
    deps.publish(user, deps.progress_event(story, Stage::Writing));
    Ok(Next::Continue)
}

/// Index of the first scene not yet persisted, if any.
fn first_missing(scenes: &[Scene], total: usize) -> Option<usize> {
    (0..total).find(|i| !scenes.iter().any(|s| s.sequence as usize == i + 1))
}

async fn set_progress(
    deps: &StoryDeps,
    story: &mut StoryState,
    status: StoryStatus,
    stage: Stage,
) -> Result<(), StoreError> {
    deps.store.set_progress(story.story_id, &Progress { status, stage, error: None }).await?;
    if story.status != status {
        if status == StoryStatus::Processing {
            deps.publish(story.user_id, ServerEvent::StoryStarted { story_id: story.story_id });
        }
        story.status = status;
        deps.observer.status_changed(story.story_id, status);
        deps.publish(story.user_id, deps.progress_event(story, stage));
    }
    Ok(())
}

async fn fail(state: &StoryActorState, reason: &str) -> Result<(), StoreError> {
    let user = state.story.as_ref().map(|s| s.user_id);
    mark_failed(&state.deps, state.story_id, user, reason).await?;
    state.deps.observer.story_finished(state.story_id, StoryStatus::Failed, state.started.elapsed());
    Ok(())
}

/// Record a story as failed with a reason the app can show, and tell the owner.
pub(crate) async fn mark_failed(
    deps: &StoryDeps,
    id: StoryId,
    user: Option<UserId>,
    reason: &str,
) -> Result<(), StoreError> {
    let progress = Progress { status: StoryStatus::Failed, stage: Stage::Failed, error: Some(reason.to_owned()) };
    deps.store.set_progress(id, &progress).await?;
    deps.observer.status_changed(id, StoryStatus::Failed);
    let user = match user {
        Some(user) => Some(user),
        None => deps.store.load_story(id).await?.map(|s| s.user_id),
    };
    if let Some(user) = user {
        deps.publish(user, ServerEvent::StoryFailed { story_id: id, error: reason.to_owned() });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scene(sequence: u32) -> Scene {
        Scene {
            scene_id: SceneId::new(),
            sequence,
            title: String::new(),
            text: String::new(),
            image_key: None,
            audio_key: None,
        }
    }

    #[test]
    fn resumes_at_first_gap() {
        assert_eq!(first_missing(&[], 3), Some(0));
        assert_eq!(first_missing(&[scene(1), scene(2)], 3), Some(2));
        assert_eq!(first_missing(&[scene(1), scene(3)], 3), Some(1));
        assert_eq!(first_missing(&[scene(1), scene(2), scene(3)], 3), None);
    }
}
