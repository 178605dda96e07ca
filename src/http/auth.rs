//! `/auth/*`: register, login, refresh (rotating), logout.

use crate::auth::{ClientAddress, new_refresh_token, token_hash};
use crate::db::tokens::RefreshError;
use crate::db::users::{CreateUserError, FirstSession, UserRecord};
use crate::error::{ApiError, ApiResult};
use crate::http::ApiJson;
use crate::http::users::UserView;
use crate::state::AppState;
use actors::model::UserId;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/register", post(register))
        .route("/auth/login", post(login))
        .route("/auth/refresh", post(refresh))
        .route("/auth/logout", post(logout))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RegisterRequest {
    pub email: String,
    /// 8 to 128 characters.
    pub password: String,
    #[serde(default, alias = "username", alias = "name")]
    pub display_name: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

#[derive(Deserialize, ToSchema)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Serialize, ToSchema)]
pub struct TokenResponse {
    /// JWT for `Authorization: Bearer`.
    pub access_token: String,
    /// Opaque; use once at `/auth/refresh`.
    pub refresh_token: String,
    /// Always `bearer`.
    pub token_type: &'static str,
    /// Seconds until `access_token` expires.
    pub expires_in: u64,
    #[schema(value_type = String, format = "uuid")]
    pub user_id: UserId,
}

#[derive(Serialize, ToSchema)]
pub struct RegisterResponse {
    pub user: UserView,
    #[serde(flatten)]
    pub tokens: TokenResponse,
}

/// A validated new account.
pub struct NewAccount {
    pub email: String,
    pub password: String,
    pub display_name: String,
}

impl RegisterRequest {
    pub fn validate(self) -> ApiResult<NewAccount> {
        let email = self.email.trim().to_owned();
        let valid_email = email.len() <= 254
            && email
                .split_once('@')
                .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.') && !domain.starts_with('.'))
            && !email.chars().any(char::is_whitespace);
        if !valid_email {
            return Err(ApiError::validation("email", "a valid email address is required"));
        }
        if !(8..=128).contains(&self.password.chars().count()) {
            return Err(ApiError::validation("password", "the password must be 8 to 128 characters"));
        }
        let display_name = self.display_name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
        let display_name = display_name.unwrap_or_else(|| email.split('@').next().unwrap_or_default().to_owned());
        if display_name.chars().count() > 80 {
            return Err(ApiError::validation("display_name", "the display name must be at most 80 characters"));
        }
        Ok(NewAccount { email, password: self.password, display_name })
    }
}

/// Create an account (shared with `POST /users/`), with the refresh token of its first
/// session when one is given (stored together: nothing is left behind if either fails).
pub async fn create_account(
    state: &AppState,
    address: ClientAddress,
    request: RegisterRequest,
    session: Option<FirstSession<'_>>,
) -> ApiResult<UserRecord> {
    let account = request.validate()?;
    state.auth.registration(address.0)?;
    let hash = state.auth.hasher.hash(account.password).await.map_err(|e| state.auth.busy(e))?;
    state.db.create_user_signed_in(&account.email, &account.display_name, &hash, session).await.map_err(|e| match e {
        CreateUserError::EmailTaken => {
            ApiError::Conflict { code: "email_taken", message: "this email is already registered".into() }
        }
        CreateUserError::Db(e) => e.into(),
    })
}

/// A new sign-in session: its refresh token and its family (the session's id).
struct NewSession {
    refresh_token: String,
    family: String,
}

impl NewSession {
    fn new() -> Self {
        // The family is the sign-in session: access tokens carry it, so signing out revokes them.
        Self { refresh_token: new_refresh_token(), family: uuid::Uuid::new_v4().to_string() }
    }

    /// The tokens the client gets, once the refresh token is stored.
    fn tokens(self, state: &AppState, user: UserId) -> ApiResult<TokenResponse> {
        let access_token =
            state.keys.issue(user, Some(&self.family)).map_err(|e| anyhow::Error::new(e).context("signing failed"))?;
        Ok(TokenResponse {
            access_token,
            refresh_token: self.refresh_token,
            token_type: "bearer",
            expires_in: state.keys.ttl_secs,
            user_id: user,
        })
    }
}

/// Tokens for a fresh login: the refresh token starts a new family.
async fn issue_tokens(state: &AppState, user: UserId) -> ApiResult<TokenResponse> {
    let session = NewSession::new();
    let ttl = state.config.auth.refresh_token_ttl_secs;
    state.db.insert_refresh_token(&token_hash(&session.refresh_token), &session.family, user, ttl).await?;
    session.tokens(state, user)
}

/// Register a new account and sign in.
#[utoipa::path(post, path = "/auth/register", tag = "auth", request_body = RegisterRequest,
    responses((status = 201, body = RegisterResponse), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody),
        (status = 429, body = crate::error::ErrorBody, description = "too many sign-ups from this address; see Retry-After"),
        (status = 503, body = crate::error::ErrorBody, description = "too many password checks at once; see Retry-After")))]
pub async fn register(
    State(state): State<AppState>,
    address: ClientAddress,
    ApiJson(request): ApiJson<RegisterRequest>,
) -> ApiResult<(StatusCode, ApiJson<RegisterResponse>)> {
    let session = NewSession::new();
    let hash = token_hash(&session.refresh_token);
    let first = FirstSession {
        token_hash: &hash,
        family_id: &session.family,
        ttl_secs: state.config.auth.refresh_token_ttl_secs,
    };
    let user = create_account(&state, address, request, Some(first)).await?;
    let tokens = session.tokens(&state, user.id)?;
    Ok((StatusCode::CREATED, ApiJson(RegisterResponse { user: UserView::from(&user), tokens })))
}

/// Sign in with email and password.
#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = TokenResponse), (status = 401, body = crate::error::ErrorBody),
        (status = 429, body = crate::error::ErrorBody, description = "too many attempts for this account or from this address; see Retry-After"),
        (status = 503, body = crate::error::ErrorBody, description = "too many password checks at once; see Retry-After")))]
pub async fn login(
    State(state): State<AppState>,
    address: ClientAddress,
    ApiJson(request): ApiJson<LoginRequest>,
) -> ApiResult<ApiJson<TokenResponse>> {
    state.auth.login_attempt(&request.email, address.0)?;
    let user = state.db.user_by_email(request.email.trim()).await?;
    // Verify against a real hash even for unknown emails, so timing does not reveal accounts.
    let stored = user.as_ref().map_or(DUMMY_HASH.to_owned(), |u| u.password_hash.clone());
    let ok = state.auth.hasher.verify(request.password, stored).await.map_err(|e| state.auth.busy(e))?;
    match user {
        Some(user) if ok => Ok(ApiJson(issue_tokens(&state, user.id).await?)),
        _ => Err(ApiError::Unauthorized("wrong email or password")),
    }
}

/// argon2id hash of a random password nobody knows.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2Q1yV8YbVMp8FhUr4Mxm3qvyJ0z3kJ8Xq3Yd2yUO6UQ";

#[cfg(test)]
mod tests {
    #[test]
    fn dummy_hash_is_a_well_formed_argon2id_hash() {
        let parsed = argon2::password_hash::phc::PasswordHash::new(super::DUMMY_HASH).unwrap();
        assert_eq!(parsed.algorithm.as_str(), "argon2id");
    }
}

/// Exchange a refresh token for new tokens. Each refresh token works once; presenting a used
/// one signs out every session that descends from the same login.
#[utoipa::path(post, path = "/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = TokenResponse), (status = 401, body = crate::error::ErrorBody)))]
pub async fn refresh(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<RefreshRequest>,
) -> ApiResult<ApiJson<TokenResponse>> {
    let new_token = new_refresh_token();
    let old = token_hash(&request.refresh_token);
    let (user, family) = state
        .db
        .rotate_refresh_token(&old, &token_hash(&new_token), state.config.auth.refresh_token_ttl_secs)
        .await
        .map_err(|e| match e {
            RefreshError::Unknown | RefreshError::Expired => ApiError::Unauthorized("invalid or expired refresh token"),
            RefreshError::Revoked => ApiError::Unauthorized("this session was signed out"),
            RefreshError::Reused(family) => {
                // Whoever holds the copies: every access token of that sign-in stops working too.
                state.revoked.revoke(&family);
                ApiError::Unauthorized("refresh token reused; please sign in again")
            }
            RefreshError::Db(e) => e.into(),
        })?;
    let access_token =
        state.keys.issue(user, Some(&family)).map_err(|e| anyhow::Error::new(e).context("signing failed"))?;
    Ok(ApiJson(TokenResponse {
        access_token,
        refresh_token: new_token,
        token_type: "bearer",
        expires_in: state.keys.ttl_secs,
        user_id: user,
    }))
}

/// Sign out: the refresh token's whole family stops working and the user's sockets close. Always 204.
#[utoipa::path(post, path = "/auth/logout", tag = "auth", request_body = RefreshRequest, responses((status = 204)))]
pub async fn logout(State(state): State<AppState>, ApiJson(request): ApiJson<RefreshRequest>) -> ApiResult<StatusCode> {
    if let Some((user, family)) = state.db.revoke_refresh_family(&token_hash(&request.refresh_token)).await? {
        // Signed out: that session's access tokens stop working, and the user's sockets close.
        state.revoked.revoke(&family);
        state.engine.sign_out(user);
    }
    Ok(StatusCode::NO_CONTENT)
}
