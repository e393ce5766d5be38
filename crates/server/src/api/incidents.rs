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
    let summary = format!("Opened by {}. {}", caller.actor, incident.summary);
    state.notifier.spawn_incident_event(incident.id, incident.severity, "incident_opened", summary);
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

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TimelineQuery {
    /// Only entries of this kind (e.g. `note`, `status_changed`, `decision`).
    pub kind: Option<EntryKind>,
    /// Only entries by this actor.
    pub actor: Option<String>,
    /// Only things that happened at or after (RFC 3339).
    #[param(value_type = Option<String>)]
    pub from: Option<Timestamp>,
    /// Only things that happened before (RFC 3339).
    #[param(value_type = Option<String>)]
    pub to: Option<Timestamp>,
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

/// The timeline, in order, with each entry's hash and its predecessor's; filtered, and as JSON
/// or CSV. (A filtered timeline cannot be verified on its own: verify the whole one.)
#[utoipa::path(get, path = "/api/v1/incidents/{id}/timeline", tag = "incidents", params(("id" = i64, Path), TimelineQuery),
    responses((status = 200, body = Vec<TimelineEntry>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("token" = ["viewer"])))]
pub async fn timeline(
    State(state): State<AppState>,
    _: Need<Viewer>,
    Path(id): Path<i64>,
    Query(query): Query<TimelineQuery>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let entries: Vec<TimelineEntry> = state
        .store
        .timeline(id)
        .await?
        .into_iter()
        .filter(|entry| query.kind.is_none_or(|kind| entry.kind == kind))
        .filter(|entry| query.actor.as_ref().is_none_or(|actor| &entry.actor == actor))
        .filter(|entry| query.from.is_none_or(|from| entry.occurred_at >= from))
        .filter(|entry| query.to.is_none_or(|to| entry.occurred_at < to))
        .collect();
    match query.format.as_deref() {
        None | Some("json") => Ok(Json(entries).into_response()),
        Some("csv") => Ok((
            [
                (axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (
                    axum::http::header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"incident-{id}-timeline.csv\""),
                ),
            ],
            timeline_csv(&entries),
        )
            .into_response()),
        Some(other) => {
            Err(ApiError::Invalid(format!("`format`: `{other}` is neither json nor csv")))
        }
    }
}

/// The timeline as CSV (RFC 4180), safe to open in a spreadsheet: a cell that a spreadsheet
/// would run as a formula is prefixed with an apostrophe.
pub fn timeline_csv(entries: &[TimelineEntry]) -> String {
    fn cell(text: &str) -> String {
        let defused = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
            format!("'{text}")
        } else {
            text.to_owned()
        };
        if defused.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", defused.replace('"', "\"\""))
        } else {
            defused
        }
    }
    let mut out =
        String::from("seq,occurred_at,recorded_at,kind,actor,summary,data,prev_hash,hash\r\n");
    for entry in entries {
        let row = [
            entry.seq.to_string(),
            entry.occurred_at.to_string(),
            entry.recorded_at.to_string(),
            entry.kind.as_str().to_owned(),
            entry.actor.clone(),
            entry.summary.clone(),
            entry.data.to_string(),
            entry.prev_hash.to_hex(),
            entry.hash.to_hex(),
        ];
        let cells: Vec<String> = row.iter().map(|text| cell(text)).collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        let at: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let entry = TimelineEntry::seal(
            1,
            1,
            firebreak_core::Hash::ZERO,
            at,
            NewEntry {
                kind: EntryKind::Note,
                occurred_at: at,
                actor: "=cmd|' /C calc'!A0".into(),
                summary: "a, \"b\"\nc".into(),
                data: serde_json::json!({"k": 1}),
            },
        );
        let csv = timeline_csv(&[entry]);
        let row = csv.lines().nth(1).unwrap();
        assert!(row.contains("'=cmd|' /C calc'!A0"), "{row}");
        assert!(csv.contains("\"a, \"\"b\"\"\nc\""), "{csv}");
        assert!(csv.contains("\"{\"\"k\"\":1}\""), "{csv}");
    }
}

/// The figures over every incident, drills and merged incidents left out (and counted apart).
#[utoipa::path(get, path = "/api/v1/incidents/stats", tag = "incidents",
    responses((status = 200, body = firebreak_core::IncidentStats)),
    security(("token" = ["viewer"])))]
pub async fn stats(
    State(state): State<AppState>,
    _: Need<Viewer>,
) -> Result<Json<firebreak_core::IncidentStats>, ApiError> {
    Ok(Json(state.store.incident_stats().await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertMove {
    /// The alerts to group into this incident (taken from wherever they were).
    pub alerts: Vec<i64>,
    pub reason: String,
}

/// Groups alerts into this incident by hand.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/alerts", tag = "incidents", params(("id" = i64, Path)), request_body = AlertMove,
    responses((status = 200, body = Vec<firebreak_core::Alert>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("token" = ["responder"])))]
pub async fn move_alerts(
    State(state): State<AppState>,
    Need(caller, _): Need<Responder>,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<AlertMove>,
) -> Result<Json<Vec<firebreak_core::Alert>>, ApiError> {
    check_alert_list(&body.alerts)?;
    check_text("reason", &body.reason, 1, MAX_TEXT_CHARS).map_err(ApiError::Invalid)?;
    let now = state.clock.now();
    Ok(Json(state.store.move_alerts(&body.alerts, id, &body.reason, &caller.actor, now).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Merge {
    /// The incident that takes this one's alerts and goes on.
    pub into: i64,
    pub reason: String,
}

/// Merges this incident into another: its alerts move there, and it is closed, marked merged.
/// Its timeline, tasks and evidence stay where they were recorded. Needs a commander, since it
/// closes an incident.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/merge", tag = "incidents", params(("id" = i64, Path)), request_body = Merge,
    responses((status = 200, body = Incident), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("token" = ["commander"])))]
pub async fn merge(
    State(state): State<AppState>,
    Need(caller, _): Need<crate::auth::Commander>,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<Merge>,
) -> Result<Json<Incident>, ApiError> {
    check_text("reason", &body.reason, 1, MAX_TEXT_CHARS).map_err(ApiError::Invalid)?;
    let now = state.clock.now();
    Ok(Json(state.store.merge_incidents(id, body.into, &body.reason, &caller.actor, now).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Split {
    /// The alerts of this incident that make the new one.
    pub alerts: Vec<i64>,
    pub title: String,
    /// Default: this incident's severity.
    pub severity: Option<Severity>,
    #[serde(default)]
    pub summary: String,
    pub reason: String,
}

/// Splits alerts out of this incident into a new one.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/split", tag = "incidents", params(("id" = i64, Path)), request_body = Split,
    responses((status = 201, body = Incident), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("token" = ["responder"])))]
pub async fn split(
    State(state): State<AppState>,
    Need(caller, _): Need<Responder>,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<Split>,
) -> Result<(StatusCode, Json<Incident>), ApiError> {
    check_alert_list(&body.alerts)?;
    check_text("reason", &body.reason, 1, MAX_TEXT_CHARS).map_err(ApiError::Invalid)?;
    let source = state.store.get_incident(id).await?;
    let new = NewIncident {
        title: body.title,
        summary: body.summary,
        severity: body.severity.unwrap_or(source.severity),
        drill: source.drill,
    };
    new.validate().map_err(ApiError::Invalid)?;
    let now = state.clock.now();
    let created = state
        .store
        .split_incident(id, &body.alerts, &new, &body.reason, &caller.actor, now)
        .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// The most alerts one triage call moves.
const MAX_ALERTS_PER_CALL: usize = 1000;

fn check_alert_list(alerts: &[i64]) -> Result<(), ApiError> {
    if alerts.is_empty() {
        return Err(ApiError::Invalid("`alerts` must name at least one alert".into()));
    }
    if alerts.len() > MAX_ALERTS_PER_CALL {
        return Err(ApiError::Invalid(format!(
            "`alerts` names {} alerts; the limit is {MAX_ALERTS_PER_CALL} per call",
            alerts.len()
        )));
    }
    Ok(())
}
