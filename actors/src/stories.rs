//! The story service: the one way to create, retry, redo a page of and delete a story, used
//! alike by the HTTP edge and by a conversation that agreed on a story. Each operation writes
//! through the catalog (which keeps caches right), counts the transition, and starts or stops
//! the actor.

use crate::model::{StoryId, StorySpec, StoryStatus, UserId};
use crate::ports::{
    Creation, EngineDown, Idempotency, InFlightCaps, MediaStore, Observer, OwnedStory, RedoRequest, Reset, StoreError,
    StoryCatalog, StoryLauncher,
};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum StoryServiceError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    EngineDown(#[from] EngineDown),
}

#[derive(Clone)]
pub struct StoryService {
    catalog: Arc<dyn StoryCatalog>,
    launcher: Arc<dyn StoryLauncher>,
    media: Arc<dyn MediaStore>,
    observer: Arc<dyn Observer>,
    caps: InFlightCaps,
}

impl StoryService {
    pub fn new(
        catalog: Arc<dyn StoryCatalog>,
        launcher: Arc<dyn StoryLauncher>,
        media: Arc<dyn MediaStore>,
        observer: Arc<dyn Observer>,
        caps: InFlightCaps,
    ) -> Self {
        Self { catalog, launcher, media, observer, caps }
    }

    /// Record a pending story and start writing it. A story whose actor could not be started
    /// stays pending and is adopted at the next start, so that is not an error here.
    pub async fn create(
        &self,
        user: UserId,
        spec: &StorySpec,
        idempotency: Option<Idempotency<'_>>,
    ) -> Result<Creation, StoreError> {
        let creation = self.catalog.create_story(user, spec, idempotency, self.caps).await?;
        if let Creation::Created(id) = creation {
            self.observer.status_changed(id, StoryStatus::Pending);
            if self.launcher.start(OwnedStory { id, owner: user }).is_err() {
                tracing::error!(story = %id, "story engine is down; story left pending");
            }
        }
        Ok(creation)
    }

    /// Resume a failed story from its last finished scene (within the caps).
    pub async fn retry(&self, story: OwnedStory) -> Result<Reset, StoryServiceError> {
        let reset = self.catalog.reset_failed_story(story.id, self.caps).await?;
        if reset == Reset::Reset {
            self.observer.status_changed(story.id, StoryStatus::Pending);
            self.launcher.start(story)?;
        }
        Ok(reset)
    }

    /// Queue a redo of page `sequence` of a completed story (the child's `hint` already
    /// checked), within `per_day` redos of the story a day, and start its actor to do it.
    pub async fn redo(
        &self,
        story: OwnedStory,
        sequence: u32,
        hint: Option<&str>,
        per_day: u32,
    ) -> Result<RedoRequest, StoryServiceError> {
        let request = self.catalog.request_redo(story.id, sequence, hint, per_day).await?;
        if request == RedoRequest::Queued {
            self.launcher.start(story)?;
        }
        Ok(request)
    }

    /// Stop the story's work, delete it, and remove the media no other story shares.
    /// `false` when there was no such story.
    pub async fn delete(&self, id: StoryId) -> Result<bool, StoreError> {
        // Not running is fine: there is nothing to stop.
        let _ = self.launcher.cancel(id);
        let Some(orphans) = self.catalog.delete_story(id).await? else { return Ok(false) };
        // A failure leaves an unreferenced file, never a broken story.
        for key in orphans {
            if let Err(e) = self.media.delete(&key).await {
                tracing::warn!(%key, error = ?e, "could not delete media of a deleted story");
            }
        }
        Ok(true)
    }
}
