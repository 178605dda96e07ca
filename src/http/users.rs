//! `/users/*`: the seed's user endpoints. A user may read only themself.

use crate::auth::AuthUser;
use crate::db::users::UserRecord;
use crate::error::{ApiError, ApiResult};
use crate::http::ApiJson;
use crate::http::auth::{RegisterRequest, create_account};
use crate::state::AppState;
use actors::model::UserId;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::Serialize;
use utoipa::ToSchema;

pub fn router() -> Router<AppState> {
    Router::new().route("/users", post(create_user)).route("/users/me", get(me)).route("/users/{user_id}", get(user))
}

#[derive(Serialize, ToSchema)]
pub struct UserView {
    #[schema(value_type = String, format = "uuid")]
    pub user_id: UserId,
    pub email: String,
    pub display_name: String,
    pub created_at: String,
}

impl From<&UserRecord> for UserView {
    fn from(u: &UserRecord) -> Self {
        Self {
            user_id: u.id,
            email: u.email.clone(),
            display_name: u.display_name.clone(),
            created_at: u.created_at.clone(),
        }
    }
}

/// Create a user (the seed's form of registration; sign in with `/auth/login`).
#[utoipa::path(post, path = "/users/", tag = "users", request_body = RegisterRequest,
    responses((status = 201, body = UserView), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn create_user(
    State(state): State<AppState>,
    address: crate::auth::ClientAddress,
    ApiJson(request): ApiJson<RegisterRequest>,
) -> ApiResult<(StatusCode, ApiJson<UserView>)> {
    let user = create_account(&state, address, request, None).await?;
    Ok((StatusCode::CREATED, ApiJson(UserView::from(&user))))
}

/// The signed-in user.
#[utoipa::path(get, path = "/users/me", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = UserView), (status = 401, body = crate::error::ErrorBody)))]
pub async fn me(State(state): State<AppState>, caller: AuthUser) -> ApiResult<ApiJson<UserView>> {
    let user = state.db.user_by_id(caller.0).await?.ok_or(ApiError::NotFound("user"))?;
    Ok(ApiJson(UserView::from(&user)))
}

/// A user by id: only yourself.
#[utoipa::path(get, path = "/users/{user_id}", tag = "users", security(("bearer" = [])),
    params(("user_id" = String, Path, description = "user id (UUID)")),
    responses((status = 200, body = UserView), (status = 403, body = crate::error::ErrorBody)))]
pub async fn user(
    State(state): State<AppState>,
    caller: AuthUser,
    Path(user_id): Path<String>,
) -> ApiResult<ApiJson<UserView>> {
    caller.owns(&user_id)?;
    me(State(state), caller).await
}
