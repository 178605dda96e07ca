//! `POST /stories/{id}/scenes/{sequence}/regenerate`: redo one page of a completed story, with
//! the child's hint ("make the dragon bigger") through the safety check. The old page stays
//! readable until the new one is stored; then the detail, its ETag, the bundle and the events
//! (`scene_ready` for that page, then `story_completed`) show the new one.

use super::owned_story;
use crate::error::{ApiError, ApiResult};
use crate::homes::HomeUser;
use crate::http::ApiJson;
use crate::state::AppState;
use actors::model::StoryId;
use actors::ports::{OwnedStory, RedoRequest};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct RegenerateRequest {
    /// What to change, in the child's words (at most `max_hint_chars`); the page is simply
    /// told again without one.
    pub hint: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct RegenerateResponse {
    #[schema(value_type = String, format = "uuid")]
    pub story_id: StoryId,
    /// The page being redone.
    pub sequence: u32,
}

/// Redo one page of a completed story: new text, picture and narration, written with the
/// story's plan and the pages around it. The body is optional.
#[utoipa::path(post, path = "/stories/{story_id}/scenes/{sequence}/regenerate", tag = "stories",
    security(("bearer" = [])), request_body(content = RegenerateRequest, description = "optional"),
    params(("story_id" = String, Path), ("sequence" = u32, Path, description = "the page, from 1")),
    responses((status = 202, body = RegenerateResponse),
        (status = 404, body = crate::error::ErrorBody, description = "no such story of the caller's, or no such page"),
        (status = 409, body = crate::error::ErrorBody, description = "`not_completed`: the story is still being written (or failed); `already_redoing`: this page is being redone"),
        (status = 422, body = crate::error::ErrorBody, description = "the hint is too long, or `unsafe_content`"),
        (status = 429, body = crate::error::ErrorBody, description = "`rate_limited`: the story's redos of the last day are at the limit; see Retry-After")))]
pub async fn regenerate(
    State(state): State<AppState>,
    HomeUser(caller): HomeUser,
    Path((story_id, sequence)): Path<(String, String)>,
    body: Option<ApiJson<RegenerateRequest>>,
) -> ApiResult<(StatusCode, ApiJson<RegenerateResponse>)> {
    let story = owned_story(&state, caller, &story_id).await?;
    let sequence: u32 =
        sequence.parse().map_err(|_| ApiError::BadRequest("the page must be a whole number, from 1".into()))?;
    let hint = body.and_then(|ApiJson(r)| r.hint).map(|h| h.trim().to_owned()).filter(|h| !h.is_empty());
    let hint = match hint {
        Some(h) if h.chars().count() > state.config.limits.max_hint_chars => {
            let limit = state.config.limits.max_hint_chars;
            return Err(ApiError::validation("hint", format!("the hint must be at most {limit} characters")));
        }
        Some(h) => Some(crate::http::screened(&state, "hint", &h).await?),
        None => None,
    };
    let per_day = state.config.limits.max_redos_per_story_per_day;
    let owned = OwnedStory { id: story.id, owner: story.user_id };
    match state.engine.stories().redo(owned, sequence, hint.as_deref(), per_day).await? {
        RedoRequest::Queued => {}
        RedoRequest::NoSuchScene => return Err(ApiError::NotFound("scene")),
        RedoRequest::NotCompleted => {
            return Err(ApiError::Conflict {
                code: "not_completed",
                message: format!("only a completed story's pages can be redone; this one is {}", story.status.as_str()),
            });
        }
        RedoRequest::InProgress => {
            return Err(ApiError::Conflict {
                code: "already_redoing",
                message: format!("page {sequence} is being redone already"),
            });
        }
        RedoRequest::Limited { limit, retry_after } => {
            return Err(ApiError::RedosUsedUp { limit, retry_after_secs: retry_after.as_secs().max(1) });
        }
    }
    Ok((StatusCode::ACCEPTED, ApiJson(RegenerateResponse { story_id: story.id, sequence })))
}
