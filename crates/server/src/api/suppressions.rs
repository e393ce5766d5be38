//! Suppressions proposed by false positives: list them, accept or refuse them. Accepting one is
//! a commander's call, since it silences alerts from then on.

use axum::Json;
use axum::extract::{Path, Query, State};
use firebreak_core::incident::{MAX_TEXT_CHARS, check_text};
use firebreak_core::{Suppression, SuppressionStatus};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::auth::{Commander, Need, Viewer};
use crate::error::{ApiError, ErrorBody, JsonBody};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SuppressionsQuery {
    /// `proposed`, `accepted` or `refused`.
    pub status: Option<SuppressionStatus>,
}

/// Suppressions, oldest first.
#[utoipa::path(get, path = "/api/v1/suppressions", tag = "alerts", params(SuppressionsQuery),
    responses((status = 200, body = Vec<Suppression>)),
    security(("token" = ["viewer"])))]
pub async fn list(
    State(state): State<AppState>,
    _: Need<Viewer>,
    Query(query): Query<SuppressionsQuery>,
) -> Result<Json<Vec<Suppression>>, ApiError> {
    Ok(Json(state.store.list_suppressions(query.status).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// Why: required, since it decides what the team will no longer be told.
    pub reason: String,
}

/// Accepts a proposed suppression: from now on, the firings it covers raise no alert.
#[utoipa::path(post, path = "/api/v1/suppressions/{id}/accept", tag = "alerts", params(("id" = i64, Path)), request_body = Decision,
    responses((status = 200, body = Suppression), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("token" = ["commander"])))]
pub async fn accept(
    State(state): State<AppState>,
    Need(caller, _): Need<Commander>,
    Path(id): Path<i64>,
    JsonBody(decision): JsonBody<Decision>,
) -> Result<Json<Suppression>, ApiError> {
    decide(state, &caller.actor, id, true, decision).await
}

/// Refuses a proposed suppression: the alerts it would have silenced keep coming.
#[utoipa::path(post, path = "/api/v1/suppressions/{id}/refuse", tag = "alerts", params(("id" = i64, Path)), request_body = Decision,
    responses((status = 200, body = Suppression), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("token" = ["commander"])))]
pub async fn refuse(
    State(state): State<AppState>,
    Need(caller, _): Need<Commander>,
    Path(id): Path<i64>,
    JsonBody(decision): JsonBody<Decision>,
) -> Result<Json<Suppression>, ApiError> {
    decide(state, &caller.actor, id, false, decision).await
}

async fn decide(
    state: AppState,
    actor: &str,
    id: i64,
    accept: bool,
    decision: Decision,
) -> Result<Json<Suppression>, ApiError> {
    check_text("reason", &decision.reason, 1, MAX_TEXT_CHARS).map_err(ApiError::Invalid)?;
    let decided = state
        .store
        .decide_suppression(id, accept, &decision.reason, actor, state.clock.now())
        .await?;
    state.suppressions.accept(decided.clone());
    Ok(Json(decided))
}
