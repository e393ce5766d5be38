//! Reading stored events back, page by page, in ingest order.

use axum::Json;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::auth::{Need, Viewer};
use crate::error::{ApiError, ErrorBody};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    /// Return events with ids after this one (default 0: from the start).
    pub after: Option<i64>,
    /// Page size (default 1000, at most 10000).
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StoredEvent {
    /// The ingest sequence number.
    pub id: i64,
    /// The event time (`@timestamp`, else Vector's `timestamp`, else Fluent Bit's `date`, else
    /// the time of receipt), RFC 3339 in UTC.
    pub timestamp: String,
    pub received_at: String,
    /// The event as it was received.
    #[schema(value_type = Object)]
    pub event: serde_json::Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventsPage {
    pub events: Vec<StoredEvent>,
    /// Pass as `after` for the next page; absent at the end.
    pub next: Option<i64>,
}

/// Stored events in ingest order.
#[utoipa::path(get, path = "/api/v1/events", tag = "ingest", params(EventsQuery),
    responses((status = 200, body = EventsPage), (status = 401, body = ErrorBody)),
    security(("token" = ["viewer"])))]
pub async fn list(
    State(state): State<AppState>,
    _: Need<Viewer>,
    Query(query): Query<EventsQuery>,
) -> Result<Json<EventsPage>, ApiError> {
    let limit = query.limit.unwrap_or(1000).clamp(1, 10_000);
    let rows = state.store.list_events(query.after.unwrap_or(0), limit).await?;
    let next = (rows.len() == limit as usize).then(|| rows.last().map(|row| row.id)).flatten();
    let events = rows
        .into_iter()
        .map(|row| StoredEvent {
            id: row.id,
            timestamp: row.ts.to_string(),
            received_at: row.received_at.to_string(),
            event: serde_json::from_str(&row.doc).unwrap_or(serde_json::Value::String(row.doc)),
        })
        .collect();
    Ok(Json(EventsPage { events, next }))
}
