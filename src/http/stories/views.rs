//! What the story routes answer, serialized once: the detail (shared with the offline bundle),
//! status, and list views.

use crate::db::stories::StoryRow;
use actors::model::{Authorship, Scene, Stage, StoryId, StoryStatus, UserId, Voice};
use actors::protocol::SceneView;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct CreateStoryResponse {
    #[schema(value_type = String, format = "uuid")]
    pub story_id: StoryId,
    #[schema(schema_with = crate::http::openapi::status_schema)]
    pub status: StoryStatus,
}

#[derive(Serialize, ToSchema)]
pub struct StoryDetail {
    #[schema(value_type = String, format = "uuid")]
    pub story_id: StoryId,
    pub title: String,
    #[schema(schema_with = crate::http::openapi::status_schema)]
    pub status: StoryStatus,
    #[schema(schema_with = crate::http::openapi::stage_schema)]
    pub stage: Stage,
    /// Each exactly as `scene_ready.scene` on the WebSocket.
    pub scenes: Vec<SceneView>,
    #[schema(value_type = String, format = "uuid")]
    pub user_id: UserId,
    pub created_at: String,
    pub updated_at: String,
    pub prompt: String,
    pub style: String,
    pub num_scenes: u8,
    pub age: u8,
    pub language: String,
    pub cover_image_url: Option<String>,
    /// Why the story failed, when it did.
    pub error: Option<String>,
    /// Who wrote the story; `null` until it is planned (and for stories written before this
    /// was recorded).
    pub written_by: Option<WrittenBy>,
    /// The character sheet, the hero first: how each character looks in every picture. Empty
    /// until the story is planned (and for stories planned before sheets existed).
    pub characters: Vec<CharacterView>,
}

/// One character of a story: every picture request states `look` in these very words.
#[derive(Serialize, ToSchema)]
pub struct CharacterView {
    pub name: String,
    /// What they are: `dragon`, `fox`, `girl`…
    pub kind: String,
    /// A short look: size, colours, what they wear ("a small teal dragon with a yellow scarf").
    pub look: String,
}

/// Who wrote a story: the language model (`model`), the offline storyteller (`offline`), or
/// `mixed`: the model's plan and first scenes, then the offline storyteller's, because the
/// model kept writing text that was not good enough. Lists the stored scenes each wrote.
#[derive(Serialize, ToSchema)]
pub struct WrittenBy {
    #[schema(schema_with = crate::http::openapi::voice_schema)]
    pub writer: Voice,
    pub model_scenes: Vec<u32>,
    pub offline_scenes: Vec<u32>,
}

impl From<Authorship> for WrittenBy {
    fn from(a: Authorship) -> Self {
        Self { writer: a.writer, model_scenes: a.model_scenes, offline_scenes: a.offline_scenes }
    }
}

#[derive(Serialize, ToSchema)]
pub struct StoryStatusView {
    #[schema(value_type = String, format = "uuid")]
    pub story_id: StoryId,
    #[schema(schema_with = crate::http::openapi::status_schema)]
    pub status: StoryStatus,
    #[schema(schema_with = crate::http::openapi::stage_schema)]
    pub stage: Stage,
    pub scenes_done: u32,
    pub scenes_total: u32,
    pub error: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct StorySummary {
    #[schema(value_type = String, format = "uuid")]
    pub story_id: StoryId,
    pub title: String,
    #[schema(schema_with = crate::http::openapi::status_schema)]
    pub status: StoryStatus,
    pub style: String,
    pub scenes_done: u32,
    pub scenes_total: u32,
    pub cover_image_url: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct StoryList {
    pub stories: Vec<StorySummary>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

impl StoryDetail {
    /// The one rendering of a story: `link` turns a media key into what the reader fetches
    /// (a capability URL for the API, a path inside the archive for the bundle).
    pub fn new(story: StoryRow, scenes: Vec<Scene>, link: impl Fn(&str) -> String) -> Self {
        let characters = story.plan.as_ref().map_or_else(Vec::new, |plan| {
            let sheet = plan.characters.iter();
            sheet.map(|c| CharacterView { name: c.name.clone(), kind: c.kind.clone(), look: c.look.clone() }).collect()
        });
        Self {
            characters,
            written_by: Authorship::of(story.planned_by, &scenes).map(WrittenBy::from),
            title: story.title(),
            story_id: story.id,
            status: story.status,
            stage: story.stage,
            scenes: scenes.iter().map(|scene| SceneView::new(scene, &link)).collect(),
            user_id: story.user_id,
            created_at: story.created_at,
            updated_at: story.updated_at,
            prompt: story.spec.prompt,
            style: story.spec.style.as_str().to_owned(),
            num_scenes: story.spec.num_scenes.get(),
            age: story.spec.age.get(),
            language: story.spec.language.to_string(),
            cover_image_url: story.cover_key.as_deref().map(link),
            error: story.error,
        }
    }
}
