//! Ports: what the core needs from the outside world, as traits.
//! `src/` implements them (libSQL store, providers, metrics) and hands them in at start-up.

use crate::model::{
    Scene, SceneDraft, Stage, StoryId, StoryPlan, StorySpec, StoryState, StoryStatus,
};
use async_trait::async_trait;
use std::time::Duration;

/// A failed provider call. `retryable` decides between backing off and giving up.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{message}")]
pub struct ProviderError {
    pub message: String,
    pub retryable: bool,
}

impl ProviderError {
    pub fn transient(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            retryable: true,
        }
    }
    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            retryable: false,
        }
    }
}

/// What the storyteller gets to write one scene.
#[derive(Clone, Copy, Debug)]
pub struct SceneRequest<'a> {
    pub story_id: StoryId,
    pub spec: &'a StorySpec,
    pub plan: &'a StoryPlan,
    /// 0-based index into `plan.scenes`.
    pub index: usize,
    pub previous: &'a [Scene],
}

/// The language model, as the story generator uses it: plan, then write scene by scene.
#[async_trait]
pub trait Llm: Send + Sync + 'static {
    /// Short name for logs and metrics (`builtin`, `openai`).
    fn name(&self) -> &str;
    async fn plan_story(
        &self,
        story_id: StoryId,
        spec: &StorySpec,
    ) -> Result<StoryPlan, ProviderError>;
    async fn write_scene(&self, request: SceneRequest<'_>) -> Result<SceneDraft, ProviderError>;
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The story is gone (deleted while being written).
    #[error("story not found")]
    NotFound,
    #[error("storage failure: {0}")]
    Backend(String),
}

/// Where a story's progress is recorded.
#[derive(Clone, Debug, PartialEq)]
pub struct Progress {
    pub status: StoryStatus,
    pub stage: Stage,
    pub error: Option<String>,
}

/// Persistence the story actors need. Every write is durable when it returns.
#[async_trait]
pub trait StoryStore: Send + Sync + 'static {
    async fn load_story(&self, id: StoryId) -> Result<Option<StoryState>, StoreError>;
    async fn save_plan(&self, id: StoryId, plan: &StoryPlan) -> Result<(), StoreError>;
    /// Idempotent on `(story, sequence)`: a scene saved twice is kept once.
    async fn save_scene(&self, id: StoryId, scene: &Scene) -> Result<(), StoreError>;
    async fn set_progress(&self, id: StoryId, progress: &Progress) -> Result<(), StoreError>;
    /// Stories left `pending` or `processing`, oldest first.
    async fn unfinished_stories(&self) -> Result<Vec<StoryId>, StoreError>;
}

/// Kinds of actors, for the "actors alive" gauge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ActorKind {
    Root,
    StorySupervisor,
    Story,
}

impl ActorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Root => "root",
            Self::StorySupervisor => "story_supervisor",
            Self::Story => "story",
        }
    }
}

/// Side channel for what happened in the core: metrics today, live fan-out to sockets next.
/// Calls must not block.
pub trait StoryObserver: Send + Sync + 'static {
    fn actor_started(&self, _kind: ActorKind) {}
    fn actor_stopped(&self, _kind: ActorKind) {}
    fn status_changed(&self, _story: StoryId, _status: StoryStatus) {}
    fn scene_saved(&self, _story: StoryId, _scene: &Scene) {}
    /// A story reached `completed` or `failed`; `elapsed` is this actor's share of the work.
    fn story_finished(&self, _story: StoryId, _status: StoryStatus, _elapsed: Duration) {}
}

/// An observer that ignores everything.
pub struct NoObserver;
impl StoryObserver for NoObserver {}
