//! The one error type at the HTTP edge: every failure maps to a status and a JSON body
//! `{"error": {"code", "message"}}`. Internal details are logged, never sent.

use actors::ports::{StoreError, StoreErrorKind};
use actors::protocol::storage_error_code;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error("you do not have access to this resource")]
    Forbidden,
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("the request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{message}")]
    Validation { field: &'static str, message: String },
    /// A prompt, title or transcript that is not for a children's story.
    #[error("Let's keep our stories kind and safe for children. Please try a different idea!")]
    UnsafeContent { field: &'static str },
    #[error("the service is not ready: {0}")]
    Unavailable(&'static str),
    /// Storage failed: status and code by the failure's kind, the same code a WebSocket
    /// `error` event carries (`actors::protocol::storage_error_code`).
    #[error("{}", storage_message(.0.kind()))]
    Storage(#[source] StoreError),
    #[error("too many attempts; try again in {retry_after_secs} s")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("the service is busy; try again in a moment")]
    Busy,
    #[error("you already have {limit} stories being written; wait for one to finish")]
    TooManyStories { limit: u32 },
    #[error("this story's pages were redone {limit} times in the last day; try again in {retry_after_secs} s")]
    RedosUsedUp { limit: u32, retry_after_secs: u64 },
    #[error("at most {limit} connections per user; close one first")]
    TooManySockets { limit: usize },
    /// The caller's home is another machine: Fly's proxy replays the request there
    /// (`fly-replay: instance=…`); a client without that proxy sees 421.
    #[error("this request belongs on another machine of the service")]
    Misdirected { home: crate::config::InstanceId },
    /// A request already replayed to this machine whose user's home is elsewhere (it is never
    /// replayed twice), or whose home could not be settled: try again shortly.
    #[error("your conversation is moving between machines; try again in a moment")]
    NotHome,
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `validation_failed`, `invalid_token`.
    pub code: String,
    pub message: String,
    /// The offending request field, for validation errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ApiError {
    pub fn validation(field: &'static str, message: impl Into<String>) -> Self {
        Self::Validation { field, message: message.into() }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Validation { .. } | Self::UnsafeContent { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unavailable(_) | Self::Busy | Self::NotHome => StatusCode::SERVICE_UNAVAILABLE,
            Self::Misdirected { .. } => StatusCode::MISDIRECTED_REQUEST,
            Self::Storage(e) => match e.kind() {
                StoreErrorKind::NotFound => StatusCode::NOT_FOUND,
                StoreErrorKind::Full | StoreErrorKind::Unavailable | StoreErrorKind::Busy | StoreErrorKind::Fenced => {
                    StatusCode::SERVICE_UNAVAILABLE
                }
                StoreErrorKind::ReferenceGone => StatusCode::UNAUTHORIZED,
                StoreErrorKind::Conflict => StatusCode::CONFLICT,
                StoreErrorKind::Corrupt | StoreErrorKind::Other => StatusCode::INTERNAL_SERVER_ERROR,
            },
            Self::TooManyRequests { .. }
            | Self::TooManyStories { .. }
            | Self::TooManySockets { .. }
            | Self::RedosUsedUp { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad_request",
            Self::Unauthorized(_) => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::Conflict { code, .. } => code,
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::UnsupportedMediaType(_) => "unsupported_media_type",
            Self::Validation { .. } => "validation_failed",
            Self::UnsafeContent { .. } => "unsafe_content",
            Self::Unavailable(_) | Self::NotHome => "unavailable",
            Self::Misdirected { .. } => "misdirected",
            Self::Storage(e) => storage_error_code(e.kind()),
            Self::TooManyRequests { .. } | Self::RedosUsedUp { .. } => "rate_limited",
            Self::Busy => "busy",
            Self::TooManyStories { .. } => "too_many_stories",
            Self::TooManySockets { .. } => "too_many_connections",
            Self::Internal(_) => "internal",
        }
    }

    pub fn body(&self) -> ErrorBody {
        let field = match self {
            Self::Validation { field, .. } | Self::UnsafeContent { field } => Some((*field).to_owned()),
            _ => None,
        };
        ErrorBody { error: ErrorDetail { code: self.code().to_owned(), message: self.to_string(), field } }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            Self::Internal(e) => tracing::error!(error = ?e, "request failed"),
            Self::Storage(e) if e.kind().is_transient() => {
                tracing::warn!(error = ?e, "storage cannot take writes for now")
            }
            Self::Storage(e) if self.status().is_server_error() => tracing::error!(error = ?e, "request failed"),
            _ => {}
        }
        let mut response = (self.status(), axum::Json(self.body())).into_response();
        if self.status() == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Self::Misdirected { home } = &self
            && let Ok(replay) = HeaderValue::from_str(&format!("instance={home}"))
        {
            response.headers_mut().insert(FLY_REPLAY, replay);
        }
        let retry_after = match &self {
            Self::TooManyRequests { retry_after_secs } | Self::RedosUsedUp { retry_after_secs, .. } => {
                Some(*retry_after_secs)
            }
            Self::Busy => Some(1),
            Self::Unavailable(_) => Some(5),
            Self::Storage(e) if matches!(e.kind(), StoreErrorKind::Busy | StoreErrorKind::Fenced) => Some(1),
            Self::NotHome => Some(1),
            Self::Storage(e) if e.kind().is_transient() => Some(5),
            // A story takes seconds to minutes: look again shortly.
            Self::TooManyStories { .. } => Some(10),
            Self::TooManySockets { .. } => Some(5),
            _ => None,
        };
        if let Some(secs) = retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// What a client is told about a storage failure of this kind; details stay in the logs.
fn storage_message(kind: StoreErrorKind) -> &'static str {
    match kind {
        StoreErrorKind::NotFound => "not found",
        StoreErrorKind::Full => "storage is full; try again later",
        StoreErrorKind::Unavailable => "storage is unavailable; try again later",
        StoreErrorKind::Busy => "the service is busy; try again in a moment",
        // A write refused because its user row is gone: a valid token of a deleted account.
        StoreErrorKind::ReferenceGone => "this account no longer exists",
        StoreErrorKind::Conflict => "this conflicts with what is stored",
        StoreErrorKind::Fenced => "your conversation moved to another machine; try again in a moment",
        StoreErrorKind::Corrupt | StoreErrorKind::Other => "internal error",
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Fly's proxy replays a response carrying this header to the machine it names.
pub const FLY_REPLAY: header::HeaderName = header::HeaderName::from_static("fly-replay");

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        Self::Storage(e)
    }
}

impl From<crate::db::DbError> for ApiError {
    fn from(e: crate::db::DbError) -> Self {
        Self::Storage(e.into())
    }
}

impl From<crate::media::MediaError> for ApiError {
    fn from(e: crate::media::MediaError) -> Self {
        Self::Storage(e.into())
    }
}

impl From<actors::stories::StoryServiceError> for ApiError {
    fn from(e: actors::stories::StoryServiceError) -> Self {
        match e {
            actors::stories::StoryServiceError::Store(e) => e.into(),
            actors::stories::StoryServiceError::EngineDown(_) => Self::Unavailable("the story engine is not running"),
        }
    }
}
