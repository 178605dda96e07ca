//! `/stories/*` and `/users/{id}/stories`: create (202, idempotent), detail (ETag), status,
//! list (cursor), delete, retry. Another user's story is reported as not found.

use crate::auth::{AuthUser, sha256_hex, token_hash};
use crate::cache::CachedDetail;
use crate::db::stories::{CreateOutcome, StoryRow};
use crate::error::{ApiError, ApiResult};
use crate::http::{ApiJson, page_limit};
use crate::media_links::MediaUrls;
use crate::state::AppState;
use actors::model::{Scene, SceneId, Stage, StoryId, StoryStatus, UserId};
use actors::ports::MediaLinks;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};

mod validate;
pub use validate::CreateStoryRequest;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/stories", post(create_story))
        .route("/stories/{story_id}", get(story_detail).delete(delete_story))
        .route("/stories/{story_id}/status", get(story_status))
        .route("/stories/{story_id}/retry", post(retry_story))
        .route("/users/{user_id}/stories", get(list_stories))
}

#[derive(Serialize, ToSchema)]
pub struct CreateStoryResponse {
    #[schema(value_type = String, format = "uuid")]
    pub story_id: StoryId,
    #[schema(schema_with = crate::http::openapi::status_schema)]
    pub status: StoryStatus,
}

#[derive(Serialize, ToSchema)]
pub struct SceneView {
    #[schema(value_type = String, format = "uuid")]
    pub scene_id: SceneId,
    /// 1-based.
    pub sequence: u32,
    pub title: String,
    pub text: String,
    pub image_url: Option<String>,
    pub audio_url: Option<String>,
}

impl SceneView {
    /// The scene as the app sees it: media keys become stable capability URLs.
    fn new(s: Scene, links: &MediaUrls) -> Self {
        Self {
            image_url: s.image_key.as_deref().map(|k| links.link(k)),
            audio_url: s.audio_key.as_deref().map(|k| links.link(k)),
            scene_id: s.scene_id,
            sequence: s.sequence,
            title: s.title,
            text: s.text,
        }
    }
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
        (status = 413, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn create_story(
    State(state): State<AppState>,
    caller: AuthUser,
    headers: HeaderMap,
    ApiJson(request): ApiJson<CreateStoryRequest>,
) -> ApiResult<Response> {
    let key = idempotency_key(&headers)?;
    let fingerprint = token_hash(&serde_json::to_string(&request).map_err(anyhow::Error::from)?);
    let spec = request.validate(caller, &state.config)?;
    let outcome = state.db.create_story(caller.0, &spec, key.as_deref().map(|k| (k, fingerprint.as_str()))).await?;
    let (id, replayed) = match outcome {
        CreateOutcome::Created(id) => (id, false),
        CreateOutcome::Replayed(id) => (id, true),
        CreateOutcome::KeyReused => {
            return Err(ApiError::Conflict {
                code: "idempotency_key_reused",
                message: "this Idempotency-Key was already used for a different request".into(),
            });
        }
    };
    let status = if replayed {
        state.db.story(id).await?.map_or(StoryStatus::Pending, |s| s.status)
    } else {
        state.metrics.story_entered(StoryStatus::Pending);
        if state.engine.start_story(id).is_err() {
            // Still safe: the story is pending and is adopted at the next start.
            tracing::error!(story = %id, "story engine is down; story left pending");
        }
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
    caller: AuthUser,
    Path(story_id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let id = parse_story_id(&story_id)?;
    let detail = match state.stories.get(id).await {
        Some(hit) => {
            state.metrics.cache_lookups.with_label_values(&["story", "hit"]).inc();
            hit
        }
        None => {
            state.metrics.cache_lookups.with_label_values(&["story", "miss"]).inc();
            let generation = state.stories.generation(id).await;
            let Some(fresh) = render_detail(&state, id).await? else { return Err(ApiError::NotFound("story")) };
            let fresh = Arc::new(fresh);
            state.stories.insert_if_unchanged(id, generation, Arc::clone(&fresh)).await;
            fresh
        }
    };
    if detail.owner != caller.0 {
        return Err(ApiError::NotFound("story"));
    }
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == detail.etag || t.trim() == "*"));
    let etag_header = (header::ETAG, HeaderValue::from_str(&detail.etag).map_err(anyhow::Error::from)?);
    let cache = (header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
    if matches {
        return Ok((StatusCode::NOT_MODIFIED, [etag_header, cache]).into_response());
    }
    let content_type = (header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(([etag_header, cache, content_type], detail.body.clone()).into_response())
}

/// The detail of a story as JSON with its ETag, read from the database.
async fn render_detail(state: &AppState, id: StoryId) -> ApiResult<Option<CachedDetail>> {
    let Some((story, scenes)) = state.db.story_with_scenes(id).await? else { return Ok(None) };
    let detail = StoryDetail {
        story_id: story.id,
        title: story.title(),
        status: story.status,
        stage: story.stage,
        scenes: scenes.into_iter().map(|scene| SceneView::new(scene, &state.links)).collect(),
        user_id: story.user_id,
        created_at: story.created_at,
        updated_at: story.updated_at,
        prompt: story.spec.prompt,
        style: story.spec.style.as_str().to_owned(),
        num_scenes: story.spec.num_scenes,
        age: story.spec.age,
        language: story.spec.language,
        cover_image_url: story.cover_key.as_deref().map(|k| state.links.link(k)),
        error: story.error,
    };
    let body = serde_json::to_vec(&detail).map_err(anyhow::Error::from)?;
    let etag = format!("\"{}\"", &sha256_hex(&body)[..32]);
    Ok(Some(CachedDetail { owner: story.user_id, body, etag }))
}

/// Progress of a story: status, stage and scene counts.
#[utoipa::path(get, path = "/stories/{story_id}/status", tag = "stories", security(("bearer" = [])),
    params(("story_id" = String, Path)),
    responses((status = 200, body = StoryStatusView), (status = 404, body = crate::error::ErrorBody)))]
pub async fn story_status(
    State(state): State<AppState>,
    caller: AuthUser,
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
    caller: AuthUser,
    Path(story_id): Path<String>,
) -> ApiResult<StatusCode> {
    let story = owned_story(&state, caller, &story_id).await?;
    let _ = state.engine.cancel_story(story.id);
    let orphans = state.db.delete_story(story.id).await?.unwrap_or_default();
    state.stories.invalidate(story.id).await;
    // Files no other story shares; a failure leaves an unreferenced file, never a broken story.
    for key in orphans {
        if let Err(e) = state.media.delete(&key).await {
            tracing::warn!(%key, error = %e, "could not delete media of a deleted story");
        }
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Resume a failed story from its last finished scene.
#[utoipa::path(post, path = "/stories/{story_id}/retry", tag = "stories", security(("bearer" = [])),
    params(("story_id" = String, Path)),
    responses((status = 202, body = CreateStoryResponse), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn retry_story(
    State(state): State<AppState>,
    caller: AuthUser,
    Path(story_id): Path<String>,
) -> ApiResult<(StatusCode, ApiJson<CreateStoryResponse>)> {
    let story = owned_story(&state, caller, &story_id).await?;
    let reset = state.db.reset_failed_story(story.id).await?;
    state.stories.invalidate(story.id).await;
    if !reset {
        return Err(ApiError::Conflict {
            code: "not_failed",
            message: format!("only a failed story can be retried; this one is {}", story.status.as_str()),
        });
    }
    state.metrics.story_entered(StoryStatus::Pending);
    state.engine.start_story(story.id).map_err(|e| ApiError::Unavailable(e.to_string()))?;
    Ok((StatusCode::ACCEPTED, ApiJson(CreateStoryResponse { story_id: story.id, status: StoryStatus::Pending })))
}

/// A user's stories, newest first. Only your own.
#[utoipa::path(get, path = "/users/{user_id}/stories", tag = "stories", security(("bearer" = [])),
    params(("user_id" = String, Path), ListParams),
    responses((status = 200, body = StoryList), (status = 403, body = crate::error::ErrorBody)))]
pub async fn list_stories(
    State(state): State<AppState>,
    caller: AuthUser,
    Path(user_id): Path<String>,
    Query(params): Query<ListParams>,
) -> ApiResult<ApiJson<StoryList>> {
    let user = caller.owns(&user_id)?;
    let limit = page_limit(params.limit, 20, state.config.max_page_size)?;
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
