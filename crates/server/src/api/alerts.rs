//! Alerts from live detection: list them, read one, acknowledge it.

use axum::Json;
use axum::extract::{Path, Query, State};
use firebreak_core::{Alert, AlertStatus};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::AppState;
use crate::auth::{Need, Responder, Viewer};
use crate::error::{ApiError, ErrorBody};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AlertsQuery {
    /// `new`, `acknowledged`, `false_positive` or `resolved`.
    pub status: Option<AlertStatus>,
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
    Ok(Json(state.store.list_alerts(query.status, query.limit.unwrap_or(100)).await?))
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
