//! StoryActor: writes one story as a pipeline. It plans the story, then writes scene texts one
//! after another; each scene's picture and narration are made in parallel by tasks that report
//! back as messages, so the next scene's text is written while the last one is illustrated.
//! A scene is persisted and announced, in order, only when its text, image and audio are all
//! stored: persisted scenes are the checkpoints a restarted actor resumes from.
//!
//! One voice per story: while no scene is stored, a model that keeps writing rejected text
//! has the whole story rewritten offline (its plan, pending scenes and cover dropped); once a
//! scene is stored, the rest is written offline and the story is `mixed`. Who wrote the plan
//! and each scene is stored with it, so a resumed story keeps to the voice it had.

pub mod checks;
mod media;
mod redo;
mod stream;
mod writing;

use crate::fair::FairPermits;
use crate::model::{Scene, Stage, StoryId, StoryState, StoryStatus, UserId, Writer};
use crate::ports::{
    ActorKind, Alive, Illustrator, Llm, MediaStore, Narrator, Observer, OwnedStory, Progress, ProviderError, Safety,
    SceneRequest, StoreError, StoreErrorKind, StoryEvent, StoryEvents, StoryStore,
};
use crate::retry::RetryPolicy;
use checks::SceneRules;
pub use media::MediaTarget;
use media::{MediaTasks, spawn_media};
use ractor::{Actor, ActorProcessingErr, ActorRef};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;
use stream::SceneStream;
pub use writing::FallbackPolicy;
use writing::{Outcome, fell_back};

/// Shared by every story actor: the ports and the limits.
pub struct StoryDeps {
    pub store: Arc<dyn StoryStore>,
    pub llm: Arc<dyn Llm>,
    /// Whether `llm` is a language model (its text is checked) or the offline storyteller.
    pub llm_writer: Writer,
    /// Every generated title and scene passes this before it is stored or sent.
    pub safety: Arc<dyn Safety>,
    /// The offline storyteller, for when the configured one keeps writing rejected text.
    pub fallback: Arc<dyn Llm>,
    /// What a story does when its model keeps writing rejected text.
    pub fallback_policy: FallbackPolicy,
    /// How often a rejected plan or scene is asked for again, with the reason.
    pub rewrites: u32,
    pub illustrator: Arc<dyn Illustrator>,
    /// `None` when no narrator is available: scenes then have no audio.
    pub narrator: Option<Arc<dyn Narrator>>,
    pub media: Arc<dyn MediaStore>,
    pub observer: Arc<dyn Observer>,
    /// Concurrent calls allowed into each provider across all stories; a burst queues here.
    pub llm_permits: Arc<FairPermits>,
    pub image_permits: Arc<FairPermits>,
    pub audio_permits: Arc<FairPermits>,
    /// Scenes of one story whose media may be in flight while later texts are written.
    pub lookahead: usize,
    pub retry: RetryPolicy,
    /// How often one story may crash its actor before it is marked failed.
    pub restart_limit: u32,
    /// First wait before a story paused by failing storage is tried again (it doubles).
    pub storage_retry: std::time::Duration,
    /// Where what happens is told (the owner's conversation, if one is alive).
    pub events: Arc<dyn StoryEvents>,
}

impl StoryDeps {
    fn publish(&self, user: UserId, event: StoryEvent) {
        self.events.publish(user, event);
    }

    fn progress_event(&self, story: &StoryState, stage: Stage) -> StoryEvent {
        StoryEvent::Progress {
            story_id: story.story_id,
            status: story.status,
            stage,
            scenes_done: story.scenes.len() as u32,
            scenes_total: u32::from(story.spec.num_scenes),
        }
    }
}

pub struct StoryActor;

pub enum StoryMessage {
    /// Do the next piece of work (plan, or the next scene's text).
    Advance,
    /// A media task finished: the stored key, or why it failed. `draft` is the draft of the
    /// story it was made for (a story rewritten offline starts a new one).
    MediaReady { target: MediaTarget, draft: u32, result: Result<String, StepError> },
}

/// A scene whose text is written and whose media are on their way.
struct Pending {
    scene: Scene,
    audio_needed: bool,
}

impl Pending {
    fn complete(&self) -> bool {
        self.scene.image_key.is_some() && (self.scene.audio_key.is_some() || !self.audio_needed)
    }
}

pub struct StoryActorState {
    story_id: StoryId,
    deps: Arc<StoryDeps>,
    started: Instant,
    story: Option<StoryState>,
    pending: BTreeMap<u32, Pending>,
    /// Index of the next scene whose text is to be written.
    next_index: usize,
    cover_requested: bool,
    /// Picture and narration tasks in flight: aborted when the actor ends, however it ends
    /// (deleted, failed, crashed, shut down), so no work runs for a story that is gone.
    media_tasks: MediaTasks,
    _alive: Alive,
    /// Writing failed while media were in flight: finish those scenes, then fail with this.
    failure: Option<ProviderError>,
    /// Counts the story's drafts: media made for an abandoned one are not used.
    draft: u32,
    /// Scenes whose text this actor showed (streamed or whole): written again, they come whole.
    shown: BTreeSet<u32>,
    /// Scenes up to this one may have been shown by an actor before this one (the story was
    /// being written when this actor took it over): they are not streamed again.
    quiet_until: u32,
    /// A page of the finished story being redone, waiting for its media.
    redo: Option<redo::InFlight>,
}

pub struct StoryArgs {
    pub story_id: StoryId,
    pub deps: Arc<StoryDeps>,
}

/// What a step decided.
enum Next {
    /// More work to do now.
    Continue,
    /// Waiting for media tasks to report.
    Wait,
    Finished,
}

/// Why a step did not go through: the provider (retried, then the story fails with a reason)
/// or storage (the story pauses and resumes when storage works again).
#[derive(Debug, thiserror::Error)]
pub enum StepError {
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
        let alive = Alive::new(args.deps.observer.clone(), ActorKind::Story);
        myself.send_message(StoryMessage::Advance)?;
        Ok(StoryActorState {
            story_id: args.story_id,
            deps: args.deps,
            started: Instant::now(),
            story: None,
            pending: BTreeMap::new(),
            next_index: 0,
            cover_requested: false,
            failure: None,
            media_tasks: MediaTasks(Vec::new()),
            _alive: alive,
            draft: 0,
            shown: BTreeSet::new(),
            quiet_until: 0,
            redo: None,
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        let outcome = match message {
            StoryMessage::Advance if state.failure.is_some() => Ok(Next::Wait),
            StoryMessage::Advance => match Box::pin(advance(state, &myself)).await {
                // Keep the scenes already written: let their media finish before failing.
                Err(StepError::Provider(e)) if !state.pending.is_empty() => {
                    state.failure = Some(e);
                    Ok(Next::Wait)
                }
                other => other,
            },
            // Made for a draft the story abandoned: not used.
            StoryMessage::MediaReady { draft, .. } if draft != state.draft => Ok(Next::Wait),
            StoryMessage::MediaReady { target, result, .. } if state.redo.is_some() => {
                Box::pin(redo::media_ready(state, target, result)).await
            }
            StoryMessage::MediaReady { target, result, .. } => {
                Box::pin(media_ready(state, &myself, target, result)).await
            }
        };
        match outcome {
            Ok(Next::Continue) => myself.send_message(StoryMessage::Advance)?,
            Ok(Next::Wait) => {}
            Ok(Next::Finished) => myself.stop(None),
            // The story, or its owner, was deleted while it was being written: nothing to do.
            Err(StepError::Store(e))
                if matches!(e.kind(), StoreErrorKind::NotFound | StoreErrorKind::ReferenceGone) =>
            {
                myself.stop(None)
            }
            // Another machine is the owner's home now: it goes on from the last stored scene.
            Err(StepError::Store(e)) if e.kind() == StoreErrorKind::Fenced => {
                tracing::info!(story = %state.story_id, "no longer this user's home; the story goes on elsewhere");
                myself.stop(None)
            }
            Err(StepError::Provider(e)) => {
                tracing::warn!(story = %state.story_id, error = %e, "story failed");
                match fail(state, &e.message).await {
                    Err(e) if e.kind() == StoreErrorKind::Fenced => {}
                    other => other?,
                }
                myself.stop(None);
            }
            // Any other storage failure is the supervisor's business: it pauses the story while
            // storage cannot write, else restarts it from the checkpoint (a limited number of times).
            Err(StepError::Store(e)) => return Err(e.into()),
        }
        Ok(())
    }
}

/// The story as its owner's writes name it.
fn owned(story: &StoryState) -> OwnedStory {
    OwnedStory { id: story.story_id, owner: story.user_id }
}

async fn loaded(state: &mut StoryActorState) -> Result<&mut StoryState, StoreError> {
    if state.story.is_none() {
        let story = state.deps.store.load_story(state.story_id).await?.ok_or_else(StoreError::not_found)?;
        if story.status == StoryStatus::Processing {
            state.quiet_until = (story.scenes.len() + state.deps.lookahead) as u32;
        }
        state.story = Some(story);
    }
    state.story.as_mut().ok_or_else(StoreError::not_found)
}

async fn advance(state: &mut StoryActorState, myself: &ActorRef<StoryMessage>) -> Result<Next, StepError> {
    let deps = state.deps.clone();
    let story = loaded(state).await?;
    if story.status == StoryStatus::Completed {
        // A finished story's actor only redoes the pages asked for, if any.
        return redo::next(state, myself).await;
    }
    let rules = SceneRules::for_story(&story.spec);
    let Some(plan) = story.plan.clone() else {
        set_progress(&deps, story, StoryStatus::Processing, Stage::Planning).await?;
        let (id, asked) = (story.story_id, Instant::now());
        let (plan, by) = match writing::plan(&deps, (id, story.user_id), &story.spec, &rules).await? {
            Outcome::Written(plan, by) => (plan, by),
            Outcome::GaveUp(why) if deps.fallback_policy == FallbackPolicy::Fail => {
                return Err(writing::failure(None, why).into());
            }
            Outcome::GaveUp(why) => {
                fell_back(&deps, "plan", id, None, why);
                (writing::offline_plan(&deps, id, &story.spec).await?, Writer::Offline)
            }
        };
        deps.store.save_plan(owned(story), &plan, by).await?;
        deps.observer.story_step(Stage::Planning, asked.elapsed());
        story.plan = Some(plan);
        story.planned_by = Some(by);
        return Ok(Next::Continue);
    };
    if story.cover_key.is_none() && !state.cover_requested {
        let story = state.story.as_ref().ok_or_else(StoreError::not_found)?;
        let task = spawn_media(&deps, myself, (story, state.draft), &plan, MediaTarget::Cover, plan.title.clone());
        state.media_tasks.0.push(task);
        state.cover_requested = true;
    }
    let story = state.story.as_mut().ok_or_else(StoreError::not_found)?;
    let total = plan.scenes.len();
    // Skip scenes already persisted (a resumed story) or already in the pipeline.
    while state.next_index < total
        && (story.scenes.iter().any(|s| s.sequence as usize == state.next_index + 1)
            || state.pending.contains_key(&(state.next_index as u32 + 1)))
    {
        state.next_index += 1;
    }
    if state.next_index >= total || state.pending.len() >= deps.lookahead {
        return finish_or_wait(state).await;
    }

    let index = state.next_index;
    let sequence = index as u32 + 1;
    set_progress(&deps, story, StoryStatus::Processing, Stage::Writing).await?;
    let writer = voice(&deps, story, &state.pending);
    let previous = &story.scenes;
    let request =
        SceneRequest { story_id: story.story_id, spec: &story.spec, plan: &plan, index, previous, redo: None };
    let asked = Instant::now();
    let quiet = state.shown.contains(&sequence) || sequence <= state.quiet_until;
    let mut stream = SceneStream::new(story.story_id, story.user_id, sequence, quiet);
    if sequence == 1 {
        stream = stream.timed_from(state.started);
    }
    let stream = tokio::sync::Mutex::new(stream);
    let written = writing::scene(&deps, story.user_id, request, &rules, (writer, &stream)).await;
    if stream.into_inner().shown() {
        state.shown.insert(sequence);
    }
    let (draft, by) = match written? {
        Outcome::Written(draft, by) => (draft, by),
        Outcome::GaveUp(why) if deps.fallback_policy == FallbackPolicy::Fail => {
            return Err(writing::failure(Some(index + 1), why).into());
        }
        Outcome::GaveUp(why) => {
            fell_back(&deps, "scene", story.story_id, Some(index + 1), why);
            if story.scenes.is_empty() {
                return rewrite_offline(state).await;
            }
            let quiet = SceneStream::new(story.story_id, story.user_id, sequence, true);
            (writing::offline_scene(&deps, request, &tokio::sync::Mutex::new(quiet)).await?, Writer::Offline)
        }
    };
    deps.observer.story_step(Stage::Writing, asked.elapsed());
    // Whole and checked: it replaces whatever was shown of the scene.
    let (title, text) = (draft.title.clone(), draft.text.clone());
    deps.publish(story.user_id, StoryEvent::SceneText { story_id: story.story_id, sequence, title, text });
    state.shown.insert(sequence);
    let scene = Scene::written(sequence, draft, by);
    let story = state.story.as_ref().ok_or_else(StoreError::not_found)?;
    state.media_tasks.0.retain(|t| !t.is_finished());
    let made_for = (story, state.draft);
    let task = spawn_media(&deps, myself, made_for, &plan, MediaTarget::Image(sequence), scene.text.clone());
    state.media_tasks.0.push(task);
    if deps.narrator.is_some() {
        let task = spawn_media(&deps, myself, made_for, &plan, MediaTarget::Audio(sequence), scene.text.clone());
        state.media_tasks.0.push(task);
    }
    state.pending.insert(sequence, Pending { scene, audio_needed: deps.narrator.is_some() });
    state.next_index += 1;
    Ok(Next::Continue)
}

/// Who writes the next scene: the model while the story is all its own, the offline storyteller
/// once anything of it is offline (planned, stored or pending), so the voice changes once at most.
fn voice(deps: &StoryDeps, story: &StoryState, pending: &BTreeMap<u32, Pending>) -> Writer {
    let offline = Some(Writer::Offline);
    if deps.llm_writer == Writer::Offline
        || story.planned_by == offline
        || story.scenes.iter().chain(pending.values().map(|p| &p.scene)).any(|s| s.written_by == offline)
    {
        Writer::Offline
    } else {
        Writer::Model
    }
}

/// No scene is stored yet and the model keeps failing: nothing of the model's is kept. Its
/// plan, the scenes waiting for their media and the cover drawn for its title are dropped, and
/// the offline storyteller writes the whole story.
async fn rewrite_offline(state: &mut StoryActorState) -> Result<Next, StepError> {
    state.media_tasks.abort_all();
    state.draft += 1;
    state.pending.clear();
    state.next_index = 0;
    state.cover_requested = false;
    let deps = state.deps.clone();
    let story = state.story.as_mut().ok_or_else(StoreError::not_found)?;
    let plan = writing::offline_plan(&deps, story.story_id, &story.spec).await?;
    deps.store.save_plan(owned(story), &plan, Writer::Offline).await?;
    story.plan = Some(plan);
    story.planned_by = Some(Writer::Offline);
    story.cover_key = None;
    Ok(Next::Continue)
}

async fn media_ready(
    state: &mut StoryActorState,
    myself: &ActorRef<StoryMessage>,
    target: MediaTarget,
    result: Result<String, StepError>,
) -> Result<Next, StepError> {
    let key = result?;
    let deps = state.deps.clone();
    match target {
        MediaTarget::Cover => {
            let story = loaded(state).await?;
            deps.store.save_cover(owned(story), &key).await?;
            story.cover_key = Some(key);
        }
        MediaTarget::Image(sequence) | MediaTarget::Audio(sequence) => {
            if let Some(p) = state.pending.get_mut(&sequence) {
                let (story_id, user) = (state.story_id, state.story.as_ref().map(|s| s.user_id));
                let (image_key, audio_key) = match target {
                    MediaTarget::Audio(_) => (None, Some(key)),
                    _ => (Some(key), None),
                };
                p.scene.image_key = image_key.clone().or(p.scene.image_key.take());
                p.scene.audio_key = audio_key.clone().or(p.scene.audio_key.take());
                if let Some(user) = user {
                    deps.publish(user, StoryEvent::SceneMedia { story_id, sequence, image_key, audio_key });
                }
            }
        }
    }
    // Persist and announce every scene that is now complete, in order.
    let (had_room, started) = (state.pending.len() < deps.lookahead, state.started);
    while state.pending.first_key_value().is_some_and(|(_, p)| p.complete()) {
        let Some((_, done)) = state.pending.pop_first() else { break };
        let story = loaded(state).await?;
        let (user, id) = (story.user_id, story.story_id);
        deps.store.save_scene(owned(story), &done.scene).await?;
        deps.observer.scene_saved(id, &done.scene);
        if done.scene.sequence == 1 {
            deps.observer.first_scene(id, started.elapsed());
        }
        tracing::info!(story = %id, scene = done.scene.sequence, "scene saved");
        story.scenes.push(done.scene.clone());
        story.scenes.sort_by_key(|s| s.sequence);
        deps.publish(user, StoryEvent::SceneSaved { story_id: id, scene: done.scene });
        deps.publish(user, deps.progress_event(story, Stage::Writing));
    }
    if !had_room && state.pending.len() < deps.lookahead {
        let _ = myself.send_message(StoryMessage::Advance);
    }
    finish_or_wait(state).await
}

/// Complete the story when every scene and the cover are stored; otherwise report what it waits for.
async fn finish_or_wait(state: &mut StoryActorState) -> Result<Next, StepError> {
    if state.pending.is_empty()
        && let Some(failure) = state.failure.take()
    {
        return Err(failure.into());
    }
    let deps = state.deps.clone();
    let waiting_for_images = state.pending.values().any(|p| p.scene.image_key.is_none());
    let all_written =
        state.next_index >= state.story.as_ref().and_then(|s| s.plan.as_ref()).map_or(usize::MAX, |p| p.scenes.len());
    let (nothing_pending, elapsed) = (state.pending.is_empty(), state.started.elapsed());
    let story = loaded(state).await?;
    if all_written && nothing_pending && story.cover_key.is_some() {
        let id = story.story_id;
        set_progress(&deps, story, StoryStatus::Completed, Stage::Done).await?;
        deps.observer.story_finished(id, StoryStatus::Completed, elapsed);
        deps.publish(story.user_id, StoryEvent::Completed { story_id: id });
        return Ok(Next::Finished);
    }
    if all_written {
        let stage =
            if waiting_for_images || story.cover_key.is_none() { Stage::Illustrating } else { Stage::Narrating };
        set_progress(&deps, story, StoryStatus::Processing, stage).await?;
    }
    Ok(Next::Wait)
}

async fn set_progress(
    deps: &StoryDeps,
    story: &mut StoryState,
    status: StoryStatus,
    stage: Stage,
) -> Result<(), StoreError> {
    deps.store.set_progress(owned(story), &Progress { status, stage, error: None }).await?;
    if story.status != status {
        if status == StoryStatus::Processing {
            deps.publish(story.user_id, StoryEvent::Started { story_id: story.story_id });
        }
        story.status = status;
        deps.observer.status_changed(story.story_id, status);
        deps.publish(story.user_id, deps.progress_event(story, stage));
    }
    Ok(())
}

async fn fail(state: &mut StoryActorState, reason: &str) -> Result<(), StoreError> {
    let story = owned(loaded(state).await?);
    mark_failed(&state.deps, story, reason).await?;
    state.deps.observer.story_finished(state.story_id, StoryStatus::Failed, state.started.elapsed());
    Ok(())
}

/// Record a story as failed with a reason the app can show, and tell the owner.
pub(crate) async fn mark_failed(deps: &StoryDeps, story: OwnedStory, reason: &str) -> Result<(), StoreError> {
    let progress = Progress { status: StoryStatus::Failed, stage: Stage::Failed, error: Some(reason.to_owned()) };
    deps.store.set_progress(story, &progress).await?;
    deps.observer.status_changed(story.id, StoryStatus::Failed);
    deps.publish(story.owner, StoryEvent::Failed { story_id: story.id, error: reason.to_owned() });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scene(sequence: u32) -> Scene {
        Scene::written(sequence, crate::model::SceneDraft { title: String::new(), text: String::new() }, Writer::Model)
    }

    #[test]
    fn a_scene_is_complete_with_its_picture_and_its_narration() {
        let mut p = Pending { scene: scene(1), audio_needed: true };
        assert!(!p.complete());
        p.scene.image_key = Some("i".into());
        assert!(!p.complete());
        p.scene.audio_key = Some("a".into());
        assert!(p.complete());
        let no_narrator = Pending { scene: Scene { image_key: Some("i".into()), ..scene(2) }, audio_needed: false };
        assert!(no_narrator.complete());
    }
}
