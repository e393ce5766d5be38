//! Reading stored events back, page by page, in ingest order.

use axum::Json;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use firebreak_store::{EventQuery, EventRecord};

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

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    /// Source address (`source.ip`).
    pub ip: Option<String>,
    /// `user.name`.
    pub user: Option<String>,
    /// `host.name`.
    pub host: Option<String>,
    /// `event.category`.
    pub category: Option<String>,
    /// `event.outcome`.
    pub outcome: Option<String>,
    /// Event time at or after (RFC 3339).
    #[param(value_type = Option<String>)]
    pub from: Option<jiff::Timestamp>,
    /// Event time before (RFC 3339).
    #[param(value_type = Option<String>)]
    pub to: Option<jiff::Timestamp>,
    /// Text that appears anywhere in the event, matched literally.
    pub text: Option<String>,
    /// Only events that this rule looks at (its selection matches; for a correlation, the
    /// selection of a rule it aggregates). Matched as pages are read, so a page may hold fewer
    /// events than `limit` and still have a `next_cursor`.
    pub rule: Option<String>,
    /// From a previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// Page size (default 100, at most 10000).
    pub limit: Option<u32>,
}

/// The longest free-text search accepted.
const MAX_SEARCH_TEXT: usize = 1000;

impl SearchQuery {
    pub fn to_store(&self, limit: u32) -> Result<EventQuery, ApiError> {
        if self.text.as_ref().is_some_and(|text| text.len() > MAX_SEARCH_TEXT) {
            return Err(ApiError::Invalid(format!(
                "`text` is longer than {MAX_SEARCH_TEXT} bytes"
            )));
        }
        let ip = match &self.ip {
            Some(ip) => Some(
                ip.parse::<std::net::IpAddr>()
                    .map_err(|_| ApiError::Invalid(format!("`ip`: `{ip}` is not an IP address")))?
                    .to_string(),
            ),
            None => None,
        };
        let before = match &self.cursor {
            Some(cursor) => Some(parse_cursor(cursor).ok_or_else(|| {
                ApiError::Invalid(format!("`cursor`: `{cursor}` is not a cursor from this API"))
            })?),
            None => None,
        };
        Ok(EventQuery {
            ip,
            user: self.user.clone(),
            host: self.host.clone(),
            category: self.category.clone(),
            outcome: self.outcome.clone(),
            from: self.from,
            to: self.to,
            text: self.text.clone(),
            before,
            limit,
        })
    }
}

pub fn cursor_of(position: (jiff::Timestamp, i64)) -> String {
    format!("{}_{}", position.0.as_nanosecond(), position.1)
}

/// "The events of a rule": a rule of the loaded set, tested against each stored event.
#[derive(Debug, Clone)]
pub struct RuleFilter {
    rules: std::sync::Arc<firebreak_detect::RuleSet>,
    index: usize,
}

impl RuleFilter {
    /// The filter for `rule`, or none when no rule is asked for.
    pub fn of(state: &AppState, rule: Option<&str>) -> Result<Option<RuleFilter>, ApiError> {
        let Some(rule) = rule else { return Ok(None) };
        let Some(rules) = &state.rules else {
            return Err(ApiError::Invalid(
                "no detection rules are loaded, so events cannot be searched by rule".into(),
            ));
        };
        // The set in force now; a search that pages on keeps the set its page began with.
        let rules = std::sync::Arc::clone(&rules.borrow());
        let (index, _) =
            rules.rule(rule).ok_or_else(|| ApiError::NotFound(format!("rule `{rule}`")))?;
        Ok(Some(RuleFilter { rules, index }))
    }

    pub fn keeps(&self, row: &EventRecord) -> bool {
        match firebreak_core::Event::from_json(row.doc.as_bytes(), row.received_at) {
            Ok(event) => self.rules.matches_event(self.index, &event, &row.doc),
            Err(_) => false,
        }
    }
}

/// At most this many stored events are read to fill one page of a rule search; past it, the
/// page is returned as it is, with a cursor to go on from.
const RULE_SCAN_PER_PAGE: usize = 200_000;

/// One page of a search: the events and where the next page starts (none at the end).
pub async fn search_page(
    state: &AppState,
    mut query: EventQuery,
    rule: Option<&RuleFilter>,
) -> Result<(Vec<EventRecord>, Option<(jiff::Timestamp, i64)>), ApiError> {
    let limit = query.limit as usize;
    let Some(rule) = rule else {
        let rows = state.store.search_events(&query).await?;
        let next = (rows.len() == limit).then(|| rows.last().map(|row| (row.ts, row.id))).flatten();
        return Ok((rows, next));
    };
    const READ: u32 = 2000;
    query.limit = READ;
    let mut kept = Vec::new();
    let mut scanned = 0;
    loop {
        let rows = state.store.search_events(&query).await?;
        let full = rows.len() == READ as usize;
        scanned += rows.len();
        let mut last = None;
        for row in rows {
            last = Some((row.ts, row.id));
            if rule.keeps(&row) {
                kept.push(row);
                if kept.len() == limit {
                    return Ok((kept, last));
                }
            }
        }
        if !full {
            return Ok((kept, None));
        }
        if scanned >= RULE_SCAN_PER_PAGE {
            return Ok((kept, last));
        }
        query.before = last;
    }
}

pub fn parse_cursor(text: &str) -> Option<(jiff::Timestamp, i64)> {
    let (nanos, id) = text.split_once('_')?;
    Some((jiff::Timestamp::from_nanosecond(nanos.parse().ok()?).ok()?, id.parse().ok()?))
}

pub fn stored(row: EventRecord) -> StoredEvent {
    StoredEvent {
        id: row.id,
        timestamp: row.ts.to_string(),
        received_at: row.received_at.to_string(),
        event: serde_json::from_str(&row.doc).unwrap_or(serde_json::Value::String(row.doc)),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SearchPage {
    /// Newest first.
    pub events: Vec<StoredEvent>,
    /// Pass as `cursor` for the next (older) page; absent at the end.
    pub next_cursor: Option<String>,
}

/// Searches stored events by address, user, host, category, outcome, time range and text,
/// newest first, a page at a time.
#[utoipa::path(get, path = "/api/v1/events/search", tag = "investigation", params(SearchQuery),
    responses((status = 200, body = SearchPage), (status = 400, body = ErrorBody)),
    security(("token" = ["viewer"])))]
pub async fn search(
    State(state): State<AppState>,
    _: Need<Viewer>,
    Query(query): Query<SearchQuery>,
) -> Result<Json<SearchPage>, ApiError> {
    let limit = query.limit.unwrap_or(100).clamp(1, 10_000);
    let rule = RuleFilter::of(&state, query.rule.as_deref())?;
    let (rows, next) = search_page(&state, query.to_store(limit)?, rule.as_ref()).await?;
    Ok(Json(SearchPage {
        events: rows.into_iter().map(stored).collect(),
        next_cursor: next.map(cursor_of),
    }))
}

/// Every matching event as NDJSON, newest first, streamed page by page: memory stays flat
/// however many match.
#[utoipa::path(get, path = "/api/v1/events/export", tag = "investigation", params(SearchQuery),
    responses((status = 200, description = "NDJSON, one stored event per line", content_type = "application/x-ndjson"), (status = 400, body = ErrorBody)),
    security(("token" = ["viewer"])))]
pub async fn export(
    State(state): State<AppState>,
    _: Need<Viewer>,
    Query(query): Query<SearchQuery>,
) -> Result<axum::response::Response, ApiError> {
    const PAGE: u32 = 5000;
    let first = query.to_store(PAGE)?;
    let rule = RuleFilter::of(&state, query.rule.as_deref())?;
    let pages = futures_util::stream::unfold(Some(first), move |next| {
        let store = state.store.clone();
        let rule = rule.clone();
        async move {
            let mut query = next?;
            match store.search_events(&query).await {
                Ok(rows) if rows.is_empty() => None,
                Ok(rows) => {
                    let more = rows.len() == PAGE as usize;
                    query.before = rows.last().map(|row| (row.ts, row.id));
                    let mut chunk = Vec::with_capacity(rows.len() * 512);
                    for row in rows {
                        if rule.as_ref().is_some_and(|rule| !rule.keeps(&row)) {
                            continue;
                        }
                        if serde_json::to_writer(&mut chunk, &stored(row)).is_ok() {
                            chunk.push(b'\n');
                        }
                    }
                    Some((
                        Ok::<_, std::io::Error>(axum::body::Bytes::from(chunk)),
                        more.then_some(query),
                    ))
                }
                Err(error) => {
                    tracing::error!(%error, "An event export failed part way.");
                    Some((Err(std::io::Error::other("the export failed part way")), None))
                }
            }
        }
    });
    axum::response::Response::builder()
        .header(axum::http::header::CONTENT_TYPE, "application/x-ndjson")
        .body(axum::body::Body::from_stream(pages))
        .map_err(|error| ApiError::Internal(error.to_string()))
}
