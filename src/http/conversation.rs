//! `/conversation/{user_id}/history` and `/transcripts`: the seed app's conversation history.
//! The WebSocket conversation writes every child message here too.

use crate::db::transcripts::Transcript;
use crate::error::{ApiError, ApiResult};
use crate::homes::HomeUser;
use crate::http::{ApiJson, page_limit};
use crate::state::AppState;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/conversation/{user_id}/history", get(history))
        .route("/conversation/{user_id}/transcripts", post(add_transcript))
}

#[derive(Serialize, ToSchema)]
pub struct TranscriptView {
    pub transcript_id: String,
    pub text: String,
    /// What was understood from it (the requirements at the time), if known.
    #[schema(value_type = Option<Object>)]
    pub requirements: Option<serde_json::Value>,
    pub created_at: String,
}

impl From<Transcript> for TranscriptView {
    fn from(t: Transcript) -> Self {
        Self { transcript_id: t.id, text: t.text, requirements: t.requirements, created_at: t.created_at }
    }
}

#[derive(Deserialize, ToSchema)]
pub struct NewTranscript {
    pub text: String,
    #[schema(value_type = Option<Object>)]
    pub requirements: Option<serde_json::Value>,
}

#[derive(Deserialize, IntoParams)]
pub struct HistoryParams {
    /// How many, newest first (default 5).
    pub limit: Option<i64>,
}

/// The latest transcripts, newest first.
#[utoipa::path(get, path = "/conversation/{user_id}/history", tag = "conversation", security(("bearer" = [])),
    params(("user_id" = String, Path), HistoryParams),
    responses((status = 200, body = [TranscriptView]), (status = 403, body = crate::error::ErrorBody)))]
pub async fn history(
    State(state): State<AppState>,
    HomeUser(caller): HomeUser,
    Path(user_id): Path<String>,
    Query(params): Query<HistoryParams>,
) -> ApiResult<ApiJson<Vec<TranscriptView>>> {
    let user = caller.owns(&user_id)?;
    let limit = page_limit(params.limit, 5, state.config.limits.max_page_size)?;
    let transcripts = state.db.transcripts(user, limit).await?;
    Ok(ApiJson(transcripts.into_iter().map(TranscriptView::from).collect()))
}

/// Save a transcript (e.g. one recorded while offline).
#[utoipa::path(post, path = "/conversation/{user_id}/transcripts", tag = "conversation", security(("bearer" = [])),
    params(("user_id" = String, Path)), request_body = NewTranscript,
    responses((status = 201, body = TranscriptView), (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn add_transcript(
    State(state): State<AppState>,
    HomeUser(caller): HomeUser,
    Path(user_id): Path<String>,
    ApiJson(body): ApiJson<NewTranscript>,
) -> ApiResult<(StatusCode, ApiJson<TranscriptView>)> {
    let user = caller.owns(&user_id)?;
    let text = body.text.trim();
    if text.is_empty() {
        return Err(ApiError::validation("text", "the transcript must not be empty"));
    }
    let max = state.config.conversation.max_transcript_chars;
    if text.chars().count() > max {
        return Err(ApiError::validation("text", format!("the transcript must be at most {max} characters")));
    }
    let text = super::screened(&state, "text", text).await?;
    if let Some(requirements) = &body.requirements {
        if !requirements.is_object() {
            return Err(ApiError::validation("requirements", "requirements must be a JSON object"));
        }
        super::screened(&state, "requirements", &requirements.to_string()).await?;
    }
    let saved = state.db.add_transcript(user, &text, body.requirements.as_ref()).await?;
    Ok((StatusCode::CREATED, ApiJson(saved.into())))
}
