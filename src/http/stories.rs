//! `/stories/*` and `/users/{id}/stories`: create (202, idempotent), detail (ETag), status,
//! list (cursor), delete, retry, redo a page. Another user's story is reported as not found.

use crate::auth::AuthUser;
use crate::db::stories::StoryRow;
use crate::digest::sha256_hex;
use crate::error::{ApiError, ApiResult};
use crate::homes::HomeUser;
use crate::http::{ApiJson, page_limit};
use crate::state::AppState;
use actors::model::{StoryId, StoryStatus};
use actors::ports::{Creation, Idempotency, MediaLinks, OwnedStory, Reset};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use std::sync::Arc;
use utoipa::IntoParams;

pub mod regenerate;
mod validate;
mod views;
use regenerate::regenerate;
pub use validate::CreateStoryRequest;
pub use views::{CreateStoryResponse, StoryDetail, StoryList, StoryStatusView, StorySummary};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/stories", post(create_story))
        .route("/stories/{story_id}", get(story_detail).delete(delete_story))
        .route("/stories/{story_id}/status", get(story_status))
        .route("/stories/{story_id}/retry", post(retry_story))
        .route("/stories/{story_id}/scenes/{sequence}/regenerate", post(regenerate))
        .route("/users/{user_id}/stories", get(list_stories))
}

#[derive(Deserialize, IntoParams)]
pub struct ListParams {
    /// Page size, 1..=max_page_size (default 20).
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

pub(super) fn parse_story_id(raw: &str) -> ApiResult<StoryId> {
    raw.parse().map_err(|_| ApiError::BadRequest("the story id must be a UUID".into()))
}

/// The story, if it exists and belongs to the caller. Someone else's story is "not found".
async fn owned_story(state: &AppState, caller: AuthUser, raw_id: &str) -> ApiResult<StoryRow> {
    let id = parse_story_id(raw_id)?;
    match state.db.story(id).await? {
        Some(story) if story.user_id == caller.0 => Ok(story),
        _ => Err(ApiError::NotFound("story")),
    }
}

/// Ask for a new story. Returns at once; the story is written in the background.
#[utoipa::path(post, path = "/stories/", tag = "stories", security(("bearer" = [])), request_body = CreateStoryRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "repeat-safe creation: the same key and body return the same story")),
    responses((status = 202, body = CreateStoryResponse), (status = 409, body = crate::error::ErrorBody),
        (status = 413, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody, description = "invalid, or `unsafe_content`: not for a children's story"),
        (status = 429, body = crate::error::ErrorBody, description = "`too_many_stories`: the caller's stories in flight are at the cap; see Retry-After"),
        (status = 503, body = crate::error::ErrorBody, description = "`busy`: the service's stories in flight are at the cap")))]
pub async fn create_story(
    State(state): State<AppState>,
    HomeUser(caller): HomeUser,
    headers: HeaderMap,
    ApiJson(mut request): ApiJson<CreateStoryRequest>,
) -> ApiResult<Response> {
    let key = idempotency_key(&headers)?;
    let fingerprint = sha256_hex(&serde_json::to_vec(&request).map_err(anyhow::Error::from)?);
    // Out of bounds is a validation error whatever the text says; then the text is checked and
    // stripped of personal data before anything is read from it (the cast too).
    request.clone().validate(caller, &state.config.limits)?;
    request.prompt = super::screened(&state, "prompt", &request.prompt).await?;
    if let Some(title) = &request.title {
        request.title = Some(super::screened(&state, "title", title).await?);
    }
    let spec = request.validate(caller, &state.config.limits)?;
    let idempotency = key.as_deref().map(|key| Idempotency { key, fingerprint: &fingerprint });
    let (id, replayed) = match state.engine.stories().create(caller.0, &spec, idempotency).await? {
        Creation::Created(id) => (id, false),
        Creation::Replayed(id) => (id, true),
        Creation::UserBusy { limit } => {
            return Err(ApiError::TooManyStories { limit });
        }
        Creation::ServiceBusy => return Err(ApiError::Busy),
        Creation::KeyReused => {
            return Err(ApiError::Conflict {
                code: "idempotency_key_reused",
                message: "this Idempotency-Key was already used for a different request".into(),
            });
        }
    };
    let status = if replayed {
        state.db.story(id).await?.map_or(StoryStatus::Pending, |s| s.status)
    } else {
        StoryStatus::Pending
    };
    let mut response = (StatusCode::ACCEPTED, ApiJson(CreateStoryResponse { story_id: id, status })).into_response();
    if replayed {
        response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

fn idempotency_key(headers: &HeaderMap) -> ApiResult<Option<String>> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    match value.to_str() {
        Ok(key) if !key.is_empty() && key.len() <= 255 && key.chars().all(|c| c.is_ascii_graphic()) => {
            Ok(Some(key.to_owned()))
        }
        _ => Err(ApiError::BadRequest("Idempotency-Key must be 1 to 255 visible ASCII characters".into())),
    }
}

/// A story with its finished scenes. Sends a strong `ETag`; `If-None-Match` gives 304.
#[utoipa::path(get, path = "/stories/{story_id}", tag = "stories", security(("bearer" = [])),
    params(("story_id" = String, Path)),
    responses((status = 200, body = StoryDetail), (status = 304), (status = 404, body = crate::error::ErrorBody)))]
pub async fn story_detail(
    State(state): State<AppState>,
    HomeUser(caller): HomeUser,
    Path(story_id): Path<String>,
    if_none_match: super::conditional::IfNoneMatch,
) -> ApiResult<Response> {
    let id = parse_story_id(&story_id)?;
    let detail = match state.stories.get(id).await? {
        Some(detail) if detail.owner == caller.0 => detail,
        _ => return Err(ApiError::NotFound("story")),
    };
    let matches = if_none_match.matches(detail.etag.to_str().unwrap_or_default());
    let etag_header = (header::ETAG, detail.etag.clone());
    let cache = (header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
    if matches {
        return Ok((StatusCode::NOT_MODIFIED, [etag_header, cache]).into_response());
    }
    let content_type = (header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(([etag_header, cache, content_type], detail.body.clone()).into_response())
}

/// How the hot cache renders a story's detail: the body `GET /stories/{id}` sends.
pub fn detail_renderer(links: Arc<crate::media_links::MediaUrls>) -> crate::cache::RenderDetail {
    Box::new(move |story, scenes| serde_json::to_vec(&StoryDetail::new(story, scenes, |key| links.link(key))))
}

/// Progress of a story: status, stage and scene counts.
#[utoipa::path(get, path = "/stories/{story_id}/status", tag = "stories", security(("bearer" = [])),
    params(("story_id" = String, Path)),
    responses((status = 200, body = StoryStatusView), (status = 404, body = crate::error::ErrorBody)))]
pub async fn story_status(
    State(state): State<AppState>,
    HomeUser(caller): HomeUser,
    Path(story_id): Path<String>,
) -> ApiResult<ApiJson<StoryStatusView>> {
    let story = owned_story(&state, caller, &story_id).await?;
    Ok(ApiJson(StoryStatusView {
        story_id: story.id,
        status: story.status,
        stage: story.stage,
        scenes_done: story.scenes_done,
        scenes_total: u32::from(story.spec.num_scenes),
        error: story.error,
    }))
}

/// Delete a story and its scenes (stops its generation if running).
#[utoipa::path(delete, path = "/stories/{story_id}", tag = "stories", security(("bearer" = [])),
    params(("story_id" = String, Path)), responses((status = 204), (status = 404, body = crate::error::ErrorBody)))]
pub async fn delete_story(
    State(state): State<AppState>,
    HomeUser(caller): HomeUser,
    Path(story_id): Path<String>,
) -> ApiResult<StatusCode> {
    let story = owned_story(&state, caller, &story_id).await?;
    if !state.engine.stories().delete(story.id).await? {
        return Err(ApiError::NotFound("story"));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Resume a failed story from its last finished scene.
#[utoipa::path(post, path = "/stories/{story_id}/retry", tag = "stories", security(("bearer" = [])),
    params(("story_id" = String, Path)),
    responses((status = 202, body = CreateStoryResponse), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn retry_story(
    State(state): State<AppState>,
    HomeUser(caller): HomeUser,
    Path(story_id): Path<String>,
) -> ApiResult<(StatusCode, ApiJson<CreateStoryResponse>)> {
    let story = owned_story(&state, caller, &story_id).await?;
    match state.engine.stories().retry(OwnedStory { id: story.id, owner: story.user_id }).await? {
        Reset::Reset => {}
        Reset::NotFailed => {
            return Err(ApiError::Conflict {
                code: "not_failed",
                message: format!("only a failed story can be retried; this one is {}", story.status.as_str()),
            });
        }
        Reset::UserBusy { limit } => return Err(ApiError::TooManyStories { limit }),
        Reset::ServiceBusy => return Err(ApiError::Busy),
    }
    Ok((StatusCode::ACCEPTED, ApiJson(CreateStoryResponse { story_id: story.id, status: StoryStatus::Pending })))
}

/// A user's stories, newest first. Only your own.
#[utoipa::path(get, path = "/users/{user_id}/stories", tag = "stories", security(("bearer" = [])),
    params(("user_id" = String, Path), ListParams),
    responses((status = 200, body = StoryList), (status = 403, body = crate::error::ErrorBody)))]
pub async fn list_stories(
    State(state): State<AppState>,
    HomeUser(caller): HomeUser,
    Path(user_id): Path<String>,
    Query(params): Query<ListParams>,
) -> ApiResult<ApiJson<StoryList>> {
    let user = caller.owns(&user_id)?;
    let limit = page_limit(params.limit, 20, state.config.limits.max_page_size)?;
    let cursor = params.cursor.as_deref().map(decode_cursor).transpose()?;
    let page = state.db.list_stories(user, limit, cursor).await?;
    Ok(ApiJson(StoryList {
        stories: page
            .stories
            .into_iter()
            .map(|s| StorySummary {
                story_id: s.id,
                title: s.title(),
                status: s.status,
                style: s.spec.style.as_str().to_owned(),
                scenes_done: s.scenes_done,
                scenes_total: u32::from(s.spec.num_scenes),
                cover_image_url: s.cover_key.as_deref().map(|k| state.links.link(k)),
                created_at: s.created_at,
                updated_at: s.updated_at,
            })
            .collect(),
        next_cursor: page.next.map(|(t, id)| URL_SAFE_NO_PAD.encode(format!("{t}|{id}"))),
    }))
}

fn decode_cursor(raw: &str) -> ApiResult<(String, StoryId)> {
    let bad = || ApiError::BadRequest("invalid cursor".into());
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(raw).map_err(|_| bad())?).map_err(|_| bad())?;
    let (time, id) = text.split_once('|').ok_or_else(bad)?;
    Ok((time.to_owned(), id.parse().map_err(|_| bad())?))
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// A cursor is ours or a 400, whatever a client sends back.
        #[test]
        fn any_cursor_is_decoded_or_refused(raw in ".{0,200}", time in "[0-9:TZ.-]{0,30}") {
            let _ = decode_cursor(&raw);
            let ours = URL_SAFE_NO_PAD.encode(format!("{time}|{}", StoryId::new()));
            proptest::prop_assert!(decode_cursor(&ours).is_ok());
        }
    }
}
