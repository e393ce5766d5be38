//! Accounts and credentials: the first-start setup exchange, password login, API tokens,
//! users, and the audit log.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use firebreak_core::AccessRole;
use firebreak_store::{AuditRecord, NewToken, TokenInfo, TokenKind};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::auth::{
    Admin, Caller, CallerSlot, Need, check_password_rules, hash_password, new_token,
    verify_password,
};
use crate::error::{ApiError, ErrorBody, JsonBody};

/// How long a login session lasts.
const SESSION_HOURS: i64 = 12;
/// The longest name for a user or a token.
const MAX_NAME_CHARS: usize = 64;

#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedToken {
    pub id: i64,
    /// The secret. Shown once; only its hash is kept.
    pub token: String,
    pub role: AccessRole,
    #[schema(value_type = Option<String>)]
    pub expires_at: Option<Timestamp>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetupRequest {
    /// The administrator's password, for logging in later (at least 12 characters).
    pub password: Option<String>,
}

/// Exchanges the one-time setup token printed at first start for the administrator's API token,
/// optionally setting the administrator's password. The setup token is then revoked.
#[utoipa::path(post, path = "/api/v1/auth/setup", tag = "auth", request_body = SetupRequest,
    responses((status = 201, body = IssuedToken), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("token" = ["setup"])))]
pub async fn setup(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(request): JsonBody<SetupRequest>,
) -> Result<(StatusCode, Json<IssuedToken>), ApiError> {
    if !caller.setup {
        return Err(ApiError::ForbiddenBecause("this needs the one-time setup token".into()));
    }
    let user_id =
        caller.user_id.ok_or_else(|| ApiError::Internal("setup token without a user".into()))?;
    if let Some(password) = request.password {
        check_password_rules(&password)?;
        let hash = hash_password(password).await?;
        state.store.set_password(user_id, &hash).await?;
    }
    let now = state.clock.now();
    state.store.revoke_token(caller.token_id, now).await?;
    let issued =
        issue(&state, "admin (from setup)", TokenKind::Api, AccessRole::Admin, Some(user_id), None)
            .await?;
    Ok((StatusCode::CREATED, Json(issued)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest").field("username", &self.username).finish_non_exhaustive()
    }
}

/// Logs in with a password and returns a session token valid for 12 hours.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 201, body = IssuedToken), (status = 401, body = ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    slot: Option<axum::Extension<CallerSlot>>,
    JsonBody(request): JsonBody<LoginRequest>,
) -> Result<(StatusCode, Json<IssuedToken>), ApiError> {
    if let Some(axum::Extension(slot)) = slot
        && let Ok(mut guard) = slot.0.lock()
    {
        *guard = Some(format!(
            "login:{}",
            request.username.chars().take(MAX_NAME_CHARS).collect::<String>()
        ));
    }
    if request.password.chars().count() > crate::auth::MAX_PASSWORD_CHARS {
        return Err(ApiError::BadToken);
    }
    let user = state.store.user_by_name(&request.username).await?;
    // Verify against a hash even for unknown users, so that timing does not tell who exists.
    let stored = user.as_ref().and_then(|u| u.password_hash.clone()).unwrap_or_else(|| {
        "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$7cM0Pl9xLh3k0JgxGqlJYf0V1cYq2Xq3bT2iYh4nq2A".into()
    });
    let valid = verify_password(request.password, stored).await;
    let Some(user) = user.filter(|u| valid && !u.disabled && u.password_hash.is_some()) else {
        return Err(ApiError::Unauthenticated);
    };
    let expires = state.clock.now() + SignedDuration::from_hours(SESSION_HOURS);
    let issued =
        issue(&state, "session", TokenKind::Session, user.role, Some(user.id), Some(expires))
            .await?;
    Ok((StatusCode::CREATED, Json(issued)))
}

async fn issue(
    state: &AppState,
    name: &str,
    kind: TokenKind,
    role: AccessRole,
    user_id: Option<i64>,
    expires_at: Option<Timestamp>,
) -> Result<IssuedToken, ApiError> {
    let (secret, hash) = new_token()?;
    let info = state
        .store
        .create_token(
            NewToken { name: name.to_owned(), kind, role, user_id, hash, expires_at },
            state.clock.now(),
        )
        .await?;
    Ok(IssuedToken { id: info.id, token: secret.0, role, expires_at })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// What the token is for, e.g. `vector on web-1`.
    pub name: String,
    pub role: AccessRole,
    /// Lifetime in hours; none for a token that lasts until revoked.
    pub expires_in_hours: Option<u32>,
}

/// Makes an API token (e.g. an ingest-only token for a log shipper).
#[utoipa::path(post, path = "/api/v1/tokens", tag = "auth", request_body = TokenRequest,
    responses((status = 201, body = IssuedToken), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("token" = ["admin"])))]
pub async fn create_token(
    State(state): State<AppState>,
    _: Need<Admin>,
    JsonBody(request): JsonBody<TokenRequest>,
) -> Result<(StatusCode, Json<IssuedToken>), ApiError> {
    firebreak_core::incident::check_text("name", &request.name, 1, MAX_NAME_CHARS)
        .map_err(ApiError::Invalid)?;
    let expires = request
        .expires_in_hours
        .map(|hours| state.clock.now() + SignedDuration::from_hours(i64::from(hours)));
    let issued = issue(&state, &request.name, TokenKind::Api, request.role, None, expires).await?;
    Ok((StatusCode::CREATED, Json(issued)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenView {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub role: AccessRole,
    pub user_id: Option<i64>,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
}

impl From<TokenInfo> for TokenView {
    fn from(token: TokenInfo) -> TokenView {
        TokenView {
            id: token.id,
            name: token.name,
            kind: token.kind.as_str().to_owned(),
            role: token.role,
            user_id: token.user_id,
            created_at: token.created_at.to_string(),
            expires_at: token.expires_at.map(|t| t.to_string()),
            revoked_at: token.revoked_at.map(|t| t.to_string()),
        }
    }
}

/// Lists tokens (never their secrets).
#[utoipa::path(get, path = "/api/v1/tokens", tag = "auth",
    responses((status = 200, body = Vec<TokenView>), (status = 403, body = ErrorBody)),
    security(("token" = ["admin"])))]
pub async fn list_tokens(
    State(state): State<AppState>,
    _: Need<Admin>,
) -> Result<Json<Vec<TokenView>>, ApiError> {
    Ok(Json(state.store.list_tokens().await?.into_iter().map(TokenView::from).collect()))
}

/// Revokes a token at once.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "auth", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("token" = ["admin"])))]
pub async fn revoke_token(
    State(state): State<AppState>,
    _: Need<Admin>,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    state.store.revoke_token(id, state.clock.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserRequest {
    pub name: String,
    pub role: AccessRole,
    /// At least 12 characters; without one the user can only use API tokens.
    pub password: Option<String>,
}

impl std::fmt::Debug for UserRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRequest")
            .field("name", &self.name)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: i64,
    pub name: String,
    pub role: AccessRole,
}

/// Creates a user who can log in with a password.
#[utoipa::path(post, path = "/api/v1/users", tag = "auth", request_body = UserRequest,
    responses((status = 201, body = UserView), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("token" = ["admin"])))]
pub async fn create_user(
    State(state): State<AppState>,
    _: Need<Admin>,
    JsonBody(request): JsonBody<UserRequest>,
) -> Result<(StatusCode, Json<UserView>), ApiError> {
    firebreak_core::incident::check_text("name", &request.name, 1, MAX_NAME_CHARS)
        .map_err(ApiError::Invalid)?;
    if request.role == AccessRole::Ingest {
        return Err(ApiError::Invalid(
            "people cannot hold the ingest role; make an ingest token instead".into(),
        ));
    }
    let hash = match request.password {
        Some(password) => {
            check_password_rules(&password)?;
            Some(hash_password(password).await?)
        }
        None => None,
    };
    let user = state
        .store
        .create_user(&request.name, request.role, hash.as_deref(), state.clock.now())
        .await?;
    Ok((StatusCode::CREATED, Json(UserView { id: user.id, name: user.name, role: user.role })))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Newest first; default 100, at most 1000.
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditView {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub remote_addr: String,
    pub status: u16,
    pub detail: String,
}

impl From<AuditRecord> for AuditView {
    fn from(record: AuditRecord) -> AuditView {
        AuditView {
            at: record.at.to_string(),
            actor: record.actor,
            action: record.action,
            target: record.target,
            remote_addr: record.remote_addr,
            status: record.status,
            detail: record.detail,
        }
    }
}

/// The audit log: every state-changing call, newest first.
#[utoipa::path(get, path = "/api/v1/audit", tag = "auth", params(AuditQuery),
    responses((status = 200, body = Vec<AuditView>), (status = 403, body = ErrorBody)),
    security(("token" = ["admin"])))]
pub async fn audit(
    State(state): State<AppState>,
    _: Need<Admin>,
    Query(query): Query<AuditQuery>,
) -> Result<Json<Vec<AuditView>>, ApiError> {
    let limit = query.limit.unwrap_or(100).clamp(1, 1000);
    Ok(Json(state.store.list_audit(limit).await?.into_iter().map(AuditView::from).collect()))
}
