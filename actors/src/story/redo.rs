//! Writing one page of a finished story again, as asked: new text (with the story's plan, the
//! scenes around it and the child's hint as context; checked, and asked again, like any scene),
//! a new picture and narration; then, in one write, the new scene in place of the old one,
//! which stays readable until then. The old media nothing else uses are deleted. A redo that
//! cannot be done (the model keeps failing, a provider stays down) keeps the old scene. Redos
//! are done one at a time, oldest first; a process killed mid-redo does it again at start-up.

use super::stream::SceneStream;
use super::writing::{self, Outcome, fell_back};
use super::{FallbackPolicy, MediaTarget, Next, Pending, StepError, StoryActorState, StoryMessage, loaded, voice};
use crate::model::{Redo, Scene, Writer};
use crate::ports::{OwnedStory, RedoContext, SceneRequest, StoryEvent};
use crate::story::checks::SceneRules;
use crate::story::media::spawn_media;
use ractor::ActorRef;
use std::collections::BTreeMap;
use tokio::sync::Mutex;

/// The redo whose media are being made.
pub(super) struct InFlight {
    redo: Redo,
    pending: Pending,
}

/// Start the story's next redo: write the page's text, then have its media made. `Finished`
/// when none is waiting.
pub(super) async fn next(state: &mut StoryActorState, myself: &ActorRef<StoryMessage>) -> Result<Next, StepError> {
    let deps = state.deps.clone();
    let story = loaded(state).await?;
    let Some(redo) = story.redos.first().cloned() else { return Ok(Next::Finished) };
    let (id, user, sequence) = (story.story_id, story.user_id, redo.sequence);
    let (Some(at), Some(plan)) = (story.scenes.iter().position(|s| s.sequence == sequence), story.plan.clone()) else {
        return give_up(state, redo).await;
    };
    let rules = SceneRules::for_story(&story.spec);
    let writer = voice(&deps, story, &BTreeMap::new());
    let context = RedoContext { following: &story.scenes[at + 1..], hint: redo.hint.as_deref(), take: redo.take };
    let index = sequence as usize - 1;
    let previous = &story.scenes[..at];
    let request = SceneRequest { story_id: id, spec: &story.spec, plan: &plan, index, previous, redo: Some(context) };
    // The page stays as it is until the new one is stored: nothing of it is shown as it is written.
    let stream = Mutex::new(SceneStream::new(id, user, sequence, true));
    let written = match writing::scene(&deps, user, request, &rules, (writer, &stream)).await {
        Ok(Outcome::Written(draft, by)) => Ok((draft, by)),
        Ok(Outcome::GaveUp(why)) if deps.fallback_policy == FallbackPolicy::Offline => {
            fell_back(&deps, "scene", id, Some(sequence as usize), why);
            writing::offline_scene(&deps, request, &stream).await.map(|draft| (draft, Writer::Offline))
        }
        Ok(Outcome::GaveUp(why)) => Err(writing::failure(Some(sequence as usize), why)),
        Err(e) => Err(e),
    };
    let (draft, by) = match written {
        Ok(written) => written,
        Err(e) => {
            tracing::warn!(story = %id, scene = sequence, error = %e, "a page could not be redone; the old one stays");
            return give_up(state, redo).await;
        }
    };
    let (title, text) = (draft.title.clone(), draft.text.clone());
    deps.publish(user, StoryEvent::SceneText { story_id: id, sequence, title, text });
    let scene = Scene::written(sequence, draft, by);
    // Media made for an earlier redo (given up) are not used for this one.
    state.draft += 1;
    let story = state.story.as_ref().ok_or_else(crate::ports::StoreError::not_found)?;
    let made_for = (story, state.draft);
    state.media_tasks.0.retain(|t| !t.is_finished());
    let task = spawn_media(&deps, myself, made_for, &plan, MediaTarget::Image(sequence), scene.text.clone());
    state.media_tasks.0.push(task);
    if deps.narrator.is_some() {
        let task = spawn_media(&deps, myself, made_for, &plan, MediaTarget::Audio(sequence), scene.text.clone());
        state.media_tasks.0.push(task);
    }
    state.redo = Some(InFlight { redo, pending: Pending { scene, audio_needed: deps.narrator.is_some() } });
    Ok(Next::Wait)
}

/// A medium of the page being redone is stored; with both, the new page takes the old one's place.
pub(super) async fn media_ready(
    state: &mut StoryActorState,
    target: MediaTarget,
    result: Result<String, StepError>,
) -> Result<Next, StepError> {
    let deps = state.deps.clone();
    let Some(flight) = state.redo.as_mut() else { return Ok(Next::Wait) };
    let key = match result {
        Ok(key) => key,
        Err(StepError::Provider(e)) => {
            let (story, scene) = (state.story_id, flight.redo.sequence);
            tracing::warn!(%story, scene, error = %e, "a page could not be redone; the old one stays");
            state.media_tasks.abort_all();
            let Some(flight) = state.redo.take() else { return Ok(Next::Wait) };
            return give_up(state, flight.redo).await;
        }
        Err(store) => return Err(store),
    };
    let (id, sequence) = (state.story_id, flight.redo.sequence);
    let (image_key, audio_key) = match target {
        MediaTarget::Image(_) => (Some(key), None),
        MediaTarget::Audio(_) => (None, Some(key)),
        MediaTarget::Cover => return Ok(Next::Wait),
    };
    let scene = &mut flight.pending.scene;
    scene.image_key = image_key.clone().or(scene.image_key.take());
    scene.audio_key = audio_key.clone().or(scene.audio_key.take());
    let user = loaded(state).await?.user_id;
    let owned = OwnedStory { id, owner: user };
    deps.publish(user, StoryEvent::SceneMedia { story_id: id, sequence, image_key, audio_key });
    if !state.redo.as_ref().is_some_and(|f| f.pending.complete()) {
        return Ok(Next::Wait);
    }
    let Some(InFlight { redo, pending }) = state.redo.take() else { return Ok(Next::Wait) };
    let orphans = deps.store.replace_scene(owned, &redo, &pending.scene).await?;
    // A file that cannot be deleted now is left to the media sweep, never a broken page.
    for key in orphans {
        if let Err(e) = deps.media.delete(&key).await {
            tracing::warn!(%key, error = ?e, "could not delete the media of a redone page");
        }
    }
    deps.observer.scene_saved(id, &pending.scene);
    tracing::info!(story = %id, scene = sequence, "scene redone");
    deps.publish(user, StoryEvent::SceneSaved { story_id: id, scene: pending.scene });
    deps.publish(user, StoryEvent::Completed { story_id: id });
    // Read the story again: the new page, and any redo asked for meanwhile.
    state.story = None;
    Ok(Next::Continue)
}

/// The old page stays and the redo is over; the owner hears the story is complete as it was.
async fn give_up(state: &mut StoryActorState, redo: Redo) -> Result<Next, StepError> {
    let deps = state.deps.clone();
    let user = loaded(state).await?.user_id;
    deps.store.give_up_redo(OwnedStory { id: state.story_id, owner: user }, &redo).await?;
    deps.publish(user, StoryEvent::Completed { story_id: state.story_id });
    state.story = None;
    Ok(Next::Continue)
}
