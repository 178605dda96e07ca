//! A story's pictures and narrations, each made by a background task that reports back to the
//! story actor as a message, tagged with the draft of the story it was made for.

use super::writing::observed;
use super::{StepError, StoryDeps, StoryMessage};
use crate::model::{Stage, StoryId, StoryPlan, StorySpec, StoryState, UserId};
use crate::ports::{IllustrationRequest, ProviderError};
use ractor::ActorRef;
use std::sync::Arc;
use std::time::Instant;

/// Which media a finished task made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediaTarget {
    Cover,
    Image(u32),
    Audio(u32),
}

/// Abort handles of a story's media tasks; dropping it aborts them.
pub(super) struct MediaTasks(pub(super) Vec<tokio::task::AbortHandle>);

impl MediaTasks {
    pub(super) fn abort_all(&mut self) {
        for task in self.0.drain(..) {
            task.abort();
        }
    }
}

impl Drop for MediaTasks {
    fn drop(&mut self) {
        self.abort_all();
    }
}

/// Make one picture or narration for `draft` of the story in the background and report back
/// to the actor.
pub(super) fn spawn_media(
    deps: &Arc<StoryDeps>,
    myself: &ActorRef<StoryMessage>,
    (story, draft): (&StoryState, u32),
    plan: &StoryPlan,
    target: MediaTarget,
    text: String,
) -> tokio::task::AbortHandle {
    let (deps, myself, plan, spec, story_id, user) =
        (deps.clone(), myself.clone(), plan.clone(), story.spec.clone(), story.story_id, story.user_id);
    tokio::spawn(async move {
        let result = make_media(&deps, (story_id, user), &spec, &plan, target, &text).await;
        // The actor may be gone (story deleted or finished failing): nothing to report to.
        let _ = myself.send_message(StoryMessage::MediaReady { target, draft, result });
    })
    .abort_handle()
}

async fn make_media(
    deps: &StoryDeps,
    (story_id, user): (StoryId, UserId),
    spec: &StorySpec,
    plan: &StoryPlan,
    target: MediaTarget,
    text: &str,
) -> Result<String, StepError> {
    let asked = Instant::now();
    let media = match target {
        MediaTarget::Cover | MediaTarget::Image(_) => {
            let _permit = deps.image_permits.acquire(user).await;
            let index = match target {
                MediaTarget::Image(seq) => Some(seq as usize - 1),
                _ => None,
            };
            let request = IllustrationRequest { story_id, spec, plan, index, text };
            let illustrator = &deps.illustrator;
            let illustrate = || observed(deps, illustrator.name(), "illustrate", illustrator.illustrate(request));
            let retried = |e: &ProviderError| deps.observer.provider_retry("illustrate", e.reason());
            deps.retry.run_observed("illustrate", retried, illustrate).await?
        }
        MediaTarget::Audio(_) => {
            let Some(narrator) = &deps.narrator else { return Err(ProviderError::permanent("no narrator").into()) };
            let _permit = deps.audio_permits.acquire(user).await;
            let narrate = || observed(deps, narrator.name(), "narrate", narrator.narrate(text, &spec.language));
            let retried = |e: &ProviderError| deps.observer.provider_retry("narrate", e.reason());
            deps.retry.run_observed("narrate", retried, narrate).await?
        }
    };
    // A store that cannot write (a full disk) is storage trouble, not the provider's.
    let key = deps.media.put(&media).await?;
    let stage = if let MediaTarget::Audio(_) = target { Stage::Narrating } else { Stage::Illustrating };
    deps.observer.story_step(stage, asked.elapsed());
    Ok(key)
}
