//! Alerts from live detection and their triage: list, read, acknowledge, assign, mark a false
//! positive (which proposes suppressions), and pivot to the events behind them.

use axum::Json;
use axum::extract::{Path, Query, State};
use firebreak_core::incident::{MAX_TEXT_CHARS, check_text};
use firebreak_core::{Alert, AlertStatus, Suppression};
use firebreak_store::{AlertFilter, EventQuery};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::api::events::{RuleFilter, SearchPage, search_page, stored};
use crate::auth::{Need, Responder, Viewer};
use crate::error::{ApiError, ErrorBody, JsonBody};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AlertsQuery {
    /// `new`, `acknowledged`, `false_positive` or `resolved`.
    pub status: Option<AlertStatus>,
    /// Only alerts of this rule.
    pub rule: Option<String>,
    /// Only alerts grouped into this incident.
    pub incident: Option<i64>,
    /// Only alerts in this person's hands.
    pub assignee: Option<i64>,
    /// Newest first; default 100, at most 1000.
    pub limit: Option<u32>,
}

/// Alerts, newest first.
#[utoipa::path(get, path = "/api/v1/alerts", tag = "alerts", params(AlertsQuery),
    responses((status = 200, body = Vec<Alert>)),
    security(("token" = ["viewer"])))]
pub async fn list(
    State(state): State<AppState>,
    _: Need<Viewer>,
    Query(query): Query<AlertsQuery>,
) -> Result<Json<Vec<Alert>>, ApiError> {
    let filter = AlertFilter {
        status: query.status,
        rule_id: query.rule,
        incident_id: query.incident,
        assignee_id: query.assignee,
        limit: query.limit,
    };
    Ok(Json(state.store.list_alerts(&filter).await?))
}

/// One alert, with a sample of the events that made it fire.
#[utoipa::path(get, path = "/api/v1/alerts/{id}", tag = "alerts", params(("id" = i64, Path)),
    responses((status = 200, body = Alert), (status = 404, body = ErrorBody)),
    security(("token" = ["viewer"])))]
pub async fn get(
    State(state): State<AppState>,
    _: Need<Viewer>,
    Path(id): Path<i64>,
) -> Result<Json<Alert>, ApiError> {
    Ok(Json(state.store.get_alert(id).await?))
}

/// Acknowledges an alert: someone is on it.
#[utoipa::path(post, path = "/api/v1/alerts/{id}/acknowledge", tag = "alerts", params(("id" = i64, Path)),
    responses((status = 200, body = Alert), (status = 404, body = ErrorBody)),
    security(("token" = ["responder"])))]
pub async fn acknowledge(
    State(state): State<AppState>,
    _: Need<Responder>,
    Path(id): Path<i64>,
) -> Result<Json<Alert>, ApiError> {
    Ok(Json(state.store.set_alert_status(id, AlertStatus::Acknowledged, state.clock.now()).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Assignment {
    /// The person (from the team) who takes the alert; absent or null to unassign.
    pub person_id: Option<i64>,
}

/// Puts an alert in a person's hands (on its incident's timeline, if it has one).
#[utoipa::path(post, path = "/api/v1/alerts/{id}/assign", tag = "alerts", params(("id" = i64, Path)), request_body = Assignment,
    responses((status = 200, body = Alert), (status = 404, body = ErrorBody)),
    security(("token" = ["responder"])))]
pub async fn assign(
    State(state): State<AppState>,
    Need(caller, _): Need<Responder>,
    Path(id): Path<i64>,
    JsonBody(assignment): JsonBody<Assignment>,
) -> Result<Json<Alert>, ApiError> {
    let now = state.clock.now();
    Ok(Json(state.store.assign_alert(id, assignment.person_id, &caller.actor, now).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FalsePositive {
    /// Why the alert is not an attack: required, it is what the suppression will rest on.
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FalsePositiveOutcome {
    pub alert: Alert,
    /// The suppressions proposed; none silences anything until a commander accepts it.
    pub proposed: Vec<Suppression>,
}

/// Marks an alert a false positive, proposing suppressions: an allowlist entry for its address
/// and its user, and a filter of its rule for its group.
#[utoipa::path(post, path = "/api/v1/alerts/{id}/false-positive", tag = "alerts", params(("id" = i64, Path)), request_body = FalsePositive,
    responses((status = 200, body = FalsePositiveOutcome), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("token" = ["responder"])))]
pub async fn false_positive(
    State(state): State<AppState>,
    Need(caller, _): Need<Responder>,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<FalsePositive>,
) -> Result<Json<FalsePositiveOutcome>, ApiError> {
    check_text("reason", &body.reason, 1, MAX_TEXT_CHARS).map_err(ApiError::Invalid)?;
    let now = state.clock.now();
    let (alert, proposed) =
        state.store.mark_false_positive(id, &body.reason, &caller.actor, now).await?;
    Ok(Json(FalsePositiveOutcome { alert, proposed }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PivotQuery {
    /// `ip` (the alert's `source.ip`) or `user` (its `user.name`); default: the address if the
    /// alert's group has one, else the user.
    pub by: Option<String>,
    /// Only the events the alert's rule looks at.
    pub rule_only: Option<bool>,
    /// From a previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// Page size (default 100, at most 10000).
    pub limit: Option<u32>,
}

/// Every stored event of the alert's address or user, newest first: the pivot from an alert
/// to what else that address or user did.
#[utoipa::path(get, path = "/api/v1/alerts/{id}/events", tag = "investigation", params(("id" = i64, Path), PivotQuery),
    responses((status = 200, body = SearchPage), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("token" = ["viewer"])))]
pub async fn events(
    State(state): State<AppState>,
    _: Need<Viewer>,
    Path(id): Path<i64>,
    Query(query): Query<PivotQuery>,
) -> Result<Json<SearchPage>, ApiError> {
    let alert = state.store.get_alert(id).await?;
    let value = |field: &str| alert.group.get(field).and_then(|v| v.as_str()).map(str::to_owned);
    let (ip, user) = (value("source.ip"), value("user.name"));
    let by = query.by.as_deref().unwrap_or(if ip.is_some() { "ip" } else { "user" });
    let limit = query.limit.unwrap_or(100).clamp(1, 10_000);
    let mut search = EventQuery { limit, ..EventQuery::default() };
    match by {
        "ip" => search.ip = Some(ip.ok_or_else(|| no_field(id, "source.ip"))?),
        "user" => search.user = Some(user.ok_or_else(|| no_field(id, "user.name"))?),
        other => {
            return Err(ApiError::Invalid(format!("`by`: `{other}` is neither `ip` nor `user`")));
        }
    }
    if let Some(cursor) = &query.cursor {
        search.before = Some(crate::api::events::parse_cursor(cursor).ok_or_else(|| {
            ApiError::Invalid(format!("`cursor`: `{cursor}` is not a cursor from this API"))
        })?);
    }
    let rule = match query.rule_only {
        Some(true) => RuleFilter::of(&state, Some(&alert.rule_id))?,
        _ => None,
    };
    let (rows, next) = search_page(&state, search, rule.as_ref()).await?;
    Ok(Json(SearchPage {
        events: rows.into_iter().map(stored).collect(),
        next_cursor: next.map(crate::api::events::cursor_of),
    }))
}

fn no_field(id: i64, field: &str) -> ApiError {
    ApiError::Invalid(format!(
        "alert {id} is not grouped by `{field}`, so there is nothing to pivot on"
    ))
}
