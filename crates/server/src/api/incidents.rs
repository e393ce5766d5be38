//! Incidents: create, list, get, change status or severity, add notes, read the timeline.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use firebreak_core::incident::{MAX_TEXT_CHARS, check_text};
use firebreak_core::{
    AccessRole, EntryKind, Incident, NewEntry, NewIncident, Severity, Status, TimelineEntry,
};
use firebreak_store::{IncidentChange, IncidentFilter};
use jiff::Timestamp;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::auth::{Need, Responder, Viewer};
use crate::error::{ApiError, ErrorBody, JsonBody};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub status: Option<Status>,
    pub severity: Option<Severity>,
    /// Created at or after (RFC 3339).
    #[param(value_type = Option<String>)]
    pub from: Option<Timestamp>,
    /// Created before (RFC 3339).
    #[param(value_type = Option<String>)]
    pub to: Option<Timestamp>,
    /// At most this many, newest first (default 100, at most 1000).
    pub limit: Option<u32>,
}

/// Lists incidents, newest first.
#[utoipa::path(get, path = "/api/v1/incidents", tag = "incidents", params(ListQuery),
    responses((status = 200, body = Vec<Incident>), (status = 401, body = ErrorBody)),
    security(("token" = ["viewer"])))]
pub async fn list(
    State(state): State<AppState>,
    _: Need<Viewer>,
    Query(query): Query<ListQuery>,
) -> Result<Json<Vec<Incident>>, ApiError> {
    let filter = IncidentFilter {
        status: query.status,
        severity: query.severity,
        from: query.from,
        to: query.to,
        limit: query.limit,
    };
    Ok(Json(state.store.list_incidents(&filter).await?))
}

/// Opens an incident. Its first timeline entry records who opened it.
#[utoipa::path(post, path = "/api/v1/incidents", tag = "incidents", request_body = NewIncident,
    responses((status = 201, body = Incident), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("token" = ["responder"])))]
pub async fn create(
    State(state): State<AppState>,
    Need(caller, _): Need<Responder>,
    JsonBody(new): JsonBody<NewIncident>,
) -> Result<(StatusCode, Json<Incident>), ApiError> {
    let incident = state.store.create_incident(&new, &caller.actor, state.clock.now()).await?;
    tracing::info!(incident_id = incident.id, actor = %caller.actor, "An incident was opened.");
    Ok((StatusCode::CREATED, Json(incident)))
}

/// One incident.
#[utoipa::path(get, path = "/api/v1/incidents/{id}", tag = "incidents", params(("id" = i64, Path)),
    responses((status = 200, body = Incident), (status = 404, body = ErrorBody)),
    security(("token" = ["viewer"])))]
pub async fn get(
    State(state): State<AppState>,
    _: Need<Viewer>,
    Path(id): Path<i64>,
) -> Result<Json<Incident>, ApiError> {
    Ok(Json(state.store.get_incident(id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    pub status: Status,
    #[serde(default)]
    pub reason: String,
}

/// Moves an incident to another phase. An invalid transition answers 409 with the reason;
/// closing needs the commander role.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/status", tag = "incidents", params(("id" = i64, Path)), request_body = StatusChange,
    responses((status = 200, body = Incident), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("token" = ["responder"])))]
pub async fn change_status(
    State(state): State<AppState>,
    Need(caller, _): Need<Responder>,
    Path(id): Path<i64>,
    JsonBody(change): JsonBody<StatusChange>,
) -> Result<Json<Incident>, ApiError> {
    if change.status == Status::Closed {
        caller.require(AccessRole::Commander)?;
    }
    check_text("reason", &change.reason, 0, MAX_TEXT_CHARS).map_err(ApiError::Invalid)?;
    let change = IncidentChange::Status { to: change.status, reason: change.reason };
    let (incident, _) =
        state.store.change_incident(id, &change, &caller.actor, state.clock.now()).await?;
    Ok(Json(incident))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeverityChange {
    pub severity: Severity,
    /// Why: required, since severity drives who is woken up.
    pub reason: String,
}

/// Changes an incident's severity, with a reason.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/severity", tag = "incidents", params(("id" = i64, Path)), request_body = SeverityChange,
    responses((status = 200, body = Incident), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("token" = ["responder"])))]
pub async fn change_severity(
    State(state): State<AppState>,
    Need(caller, _): Need<Responder>,
    Path(id): Path<i64>,
    JsonBody(change): JsonBody<SeverityChange>,
) -> Result<Json<Incident>, ApiError> {
    check_text("reason", &change.reason, 1, MAX_TEXT_CHARS).map_err(ApiError::Invalid)?;
    let change = IncidentChange::Severity { to: change.severity, reason: change.reason };
    let (incident, _) =
        state.store.change_incident(id, &change, &caller.actor, state.clock.now()).await?;
    Ok(Json(incident))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewNote {
    pub text: String,
    /// When what the note describes happened, if earlier than now (RFC 3339).
    #[schema(value_type = Option<String>)]
    pub occurred_at: Option<Timestamp>,
}

/// Adds a note to the timeline.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/notes", tag = "incidents", params(("id" = i64, Path)), request_body = NewNote,
    responses((status = 201, body = TimelineEntry), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("token" = ["responder"])))]
pub async fn add_note(
    State(state): State<AppState>,
    Need(caller, _): Need<Responder>,
    Path(id): Path<i64>,
    JsonBody(note): JsonBody<NewNote>,
) -> Result<(StatusCode, Json<TimelineEntry>), ApiError> {
    check_text("text", &note.text, 1, MAX_TEXT_CHARS).map_err(ApiError::Invalid)?;
    let now = state.clock.now();
    let occurred_at = note.occurred_at.unwrap_or(now);
    if occurred_at > now {
        return Err(ApiError::Invalid("`occurred_at` is in the future".into()));
    }
    let entry = NewEntry {
        kind: EntryKind::Note,
        occurred_at,
        actor: caller.actor.clone(),
        summary: note.text.chars().take(200).collect(),
        data: serde_json::json!({ "text": note.text }),
    };
    let sealed = state.store.append_entry(id, entry, now).await?;
    Ok((StatusCode::CREATED, Json(sealed)))
}

/// The whole timeline, in order, with each entry's hash and its predecessor's.
#[utoipa::path(get, path = "/api/v1/incidents/{id}/timeline", tag = "incidents", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<TimelineEntry>), (status = 404, body = ErrorBody)),
    security(("token" = ["viewer"])))]
pub async fn timeline(
    State(state): State<AppState>,
    _: Need<Viewer>,
    Path(id): Path<i64>,
) -> Result<Json<Vec<TimelineEntry>>, ApiError> {
    Ok(Json(state.store.timeline(id).await?))
}
