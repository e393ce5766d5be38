//! Breach-notification obligations of an incident: its facts (versioned; each change goes on the
//! timeline with what it did to the obligations), the obligations computed from them with their
//! sources and reasons, reminders, and what people decided or sent for each.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use axum::Json;
use axum::extract::{Path, State};
use firebreak_comply::{Assessment, Facts, ObligationStatus, RulesTable};
use firebreak_core::incident::{MAX_TEXT_CHARS, check_text};
use firebreak_core::{EntryKind, NewEntry};
use firebreak_store::{DocumentKind, ObligationRecord};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::{Need, Responder, Viewer};
use crate::error::{ApiError, ErrorBody, JsonBody};

/// The largest facts document accepted.
const MAX_FACTS_BYTES: usize = 256 << 10;

fn table() -> Result<&'static RulesTable, ApiError> {
    static TABLE: OnceLock<Result<RulesTable, String>> = OnceLock::new();
    TABLE.get_or_init(|| RulesTable::builtin().map_err(|error| error.to_string())).as_ref().map_err(
        |error| ApiError::Internal(format!("the built-in rules table does not load: {error}")),
    )
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ObligationsView {
    pub incident_id: i64,
    /// The facts version the obligations were computed from; none before facts are recorded.
    pub facts_version: Option<i64>,
    /// Obligations, the rules still waiting for a fact, and those considered and not required,
    /// each with its citation and its reasons.
    #[schema(value_type = Object)]
    pub assessment: Option<Assessment>,
    /// Each obligation's tracking status, and when reminders fall.
    pub tracking: Vec<Tracking>,
    /// The same, as a table for a terminal.
    pub text: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Tracking {
    pub rule_id: String,
    #[schema(value_type = Object)]
    pub status: ObligationStatus,
    /// Reminder instants, by `[obligations] reminders` in the configuration (by default at
    /// half-time, 24 hours and 1 hour before the deadline), RFC 3339.
    pub reminders: Vec<String>,
}

async fn view(state: &AppState, incident_id: i64) -> Result<ObligationsView, ApiError> {
    let plan =
        state.config.obligations.plan().map_err(|error| ApiError::Internal(error.to_string()))?;
    view_of(&*state.store, &plan, state.clock.now(), incident_id).await
}

/// The obligations of an incident at `now`, with their tracking status and reminder instants.
pub async fn view_of(
    store: &dyn firebreak_store::Store,
    plan: &[firebreak_comply::tracking::Reminder],
    now: Timestamp,
    incident_id: i64,
) -> Result<ObligationsView, ApiError> {
    let Some(latest) = store.latest_document(incident_id, DocumentKind::Facts).await? else {
        return Ok(ObligationsView {
            incident_id,
            facts_version: None,
            assessment: None,
            tracking: Vec::new(),
            text: format!(
                "No facts recorded for incident {incident_id} yet: PUT them to /api/v1/incidents/{incident_id}/facts.\n"
            ),
        });
    };
    let facts = Facts::from_json(&latest.doc).map_err(|error| {
        ApiError::Internal(format!(
            "stored facts version {} no longer reads: {error}",
            latest.version
        ))
    })?;
    let assessment = firebreak_comply::compute(&facts, table()?);
    let records: BTreeMap<String, ObligationRecord> = store
        .obligation_records(incident_id)
        .await?
        .into_iter()
        .map(|record| (record.rule_id.clone(), record))
        .collect();
    let tracking = assessment
        .obligations
        .iter()
        .map(|obligation| {
            let record = records.get(&obligation.rule_id);
            let status = match record.map(|r| (r.status.as_str(), r.detail.clone())) {
                Some(("not_required", reason)) => ObligationStatus::NotRequired { reason },
                Some(("late", reason)) => ObligationStatus::Late { reason },
                Some((status, detail)) => ObligationStatus::derive(
                    obligation,
                    now,
                    status == "drafted",
                    (status == "sent").then_some(detail.as_str()),
                ),
                None => ObligationStatus::derive(obligation, now, false, None),
            };
            Tracking {
                rule_id: obligation.rule_id.clone(),
                status,
                reminders: firebreak_comply::tracking::reminders_for(obligation, plan)
                    .into_iter()
                    .map(|at| at.to_string())
                    .collect(),
            }
        })
        .collect();
    let text = firebreak_comply::render_text(&assessment);
    Ok(ObligationsView {
        incident_id,
        facts_version: Some(latest.version),
        assessment: Some(assessment),
        tracking,
        text,
    })
}

/// The incident's obligations, computed from its latest facts.
#[utoipa::path(get, path = "/api/v1/incidents/{id}/obligations", tag = "obligations", params(("id" = i64, Path)),
    responses((status = 200, body = ObligationsView), (status = 404, body = ErrorBody)),
    security(("token" = ["viewer"])))]
pub async fn get(
    State(state): State<AppState>,
    _: Need<Viewer>,
    Path(id): Path<i64>,
) -> Result<Json<ObligationsView>, ApiError> {
    Ok(Json(view(&state, id).await?))
}

/// The incident's latest facts document.
#[utoipa::path(get, path = "/api/v1/incidents/{id}/facts", tag = "obligations", params(("id" = i64, Path)),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody)),
    security(("token" = ["viewer"])))]
pub async fn get_facts(
    State(state): State<AppState>,
    _: Need<Viewer>,
    Path(id): Path<i64>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let latest = state
        .store
        .latest_document(id, DocumentKind::Facts)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("facts of incident {id}")))?;
    let facts: serde_json::Value = serde_json::from_str(&latest.doc).unwrap_or_default();
    Ok(Json(
        serde_json::json!({ "version": latest.version, "recorded_at": latest.recorded_at, "actor": latest.actor, "facts": facts }),
    ))
}

/// Records a new version of the incident's facts (the format of `firebreak obligations --facts`,
/// as JSON). The obligations are recomputed and the change goes on the timeline.
#[utoipa::path(put, path = "/api/v1/incidents/{id}/facts", tag = "obligations", params(("id" = i64, Path)),
    request_body(content = Object, description = "The facts document (see crates/comply/examples/facts.toml, as JSON)"),
    responses((status = 200, body = ObligationsView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("token" = ["responder"])))]
pub async fn put_facts(
    State(state): State<AppState>,
    Need(caller, _): Need<Responder>,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> Result<Json<ObligationsView>, ApiError> {
    if body.len() > MAX_FACTS_BYTES {
        return Err(ApiError::TooLarge { limit: MAX_FACTS_BYTES });
    }
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::Invalid("the facts document is not UTF-8".into()))?;
    let facts = Facts::from_json(text)
        .map_err(|error| ApiError::Invalid(format!("the facts document: {error}")))?;
    record(&state, id, &caller.actor, &facts, "Breach facts recorded").await?;
    Ok(Json(view(&state, id).await?))
}

/// Stores `facts` as the next version and puts what changed in the obligations on the timeline.
pub(crate) async fn record(
    state: &AppState,
    id: i64,
    actor: &str,
    facts: &Facts,
    what: &str,
) -> Result<(), ApiError> {
    let table = table()?;
    let before = match state.store.latest_document(id, DocumentKind::Facts).await? {
        Some(latest) => {
            Facts::from_json(&latest.doc).ok().map(|old| firebreak_comply::compute(&old, table))
        }
        None => None,
    };
    let after = firebreak_comply::compute(facts, table);
    let due = |assessment: &Assessment| -> BTreeMap<String, String> {
        assessment
            .obligations
            .iter()
            .map(|o| {
                (
                    o.rule_id.clone(),
                    o.deadline.latest().map_or_else(|| o.deadline.to_string(), |at| at.to_string()),
                )
            })
            .collect()
    };
    let new = due(&after);
    let old = before.as_ref().map(due).unwrap_or_default();
    let added: Vec<&String> = new.keys().filter(|rule| !old.contains_key(*rule)).collect();
    let removed: Vec<&String> = old.keys().filter(|rule| !new.contains_key(*rule)).collect();
    let moved: Vec<&String> = new
        .keys()
        .filter(|rule| old.get(*rule).is_some_and(|d| Some(d) != new.get(*rule)))
        .collect();
    let earliest = after.obligations.iter().filter_map(|o| o.deadline.latest()).min();
    let mut summary = format!("{what}: {} obligation(s)", after.obligations.len());
    if let Some(earliest) = earliest {
        summary.push_str(&format!(", the first due by {earliest}"));
    }
    if !added.is_empty() || !removed.is_empty() || !moved.is_empty() {
        summary.push_str(&format!(
            "; {} new, {} no longer owed, {} with a new deadline",
            added.len(),
            removed.len(),
            moved.len()
        ));
    }
    let now = state.clock.now();
    let document =
        serde_json::to_string(facts).map_err(|error| ApiError::Internal(error.to_string()))?;
    let entry = NewEntry {
        kind: EntryKind::Obligation,
        occurred_at: now,
        actor: actor.to_owned(),
        summary,
        data: serde_json::json!({
            "rules_table": after.table_version,
            "obligations": new,
            "added": added,
            "removed": removed,
            "deadline_changed": moved,
        }),
    };
    state.store.record_document(id, DocumentKind::Facts, &document, entry, now).await?;
    let plan =
        state.config.obligations.plan().map_err(|error| ApiError::Internal(error.to_string()))?;
    schedule_reminders(&*state.store, &plan, now, id, &after).await?;
    Ok(())
}

/// The scheduler's job kind for obligation reminders.
pub const OBLIGATION_REMINDER: &str = "obligation_reminder";

/// Schedules a job at every future reminder instant of every obligation. A deadline that moves
/// gets jobs at its new instants; the old ones find, when they come due, that their instant is
/// no longer a reminder and do nothing.
pub async fn schedule_reminders(
    store: &dyn firebreak_store::Store,
    plan: &[firebreak_comply::tracking::Reminder],
    now: Timestamp,
    incident_id: i64,
    assessment: &Assessment,
) -> Result<(), ApiError> {
    for obligation in &assessment.obligations {
        for at in firebreak_comply::tracking::reminders_for(obligation, plan) {
            if at <= now {
                continue;
            }
            let job = firebreak_store::NewJob {
                kind: OBLIGATION_REMINDER.into(),
                due_at: at,
                payload: serde_json::json!({ "incident_id": incident_id, "rule_id": obligation.rule_id, "at": at }),
                dedupe_key: Some(format!("reminder:{incident_id}:{}:{at}", obligation.rule_id)),
            };
            store.schedule_job(&job, now).await?;
        }
    }
    Ok(())
}

/// Sends a due obligation reminder, unless the obligation is gone, done, or no longer has a
/// reminder at this instant: on the incident's timeline, and to the routes that take
/// `obligation_reminder` events.
#[derive(Clone)]
pub struct ReminderHandler {
    pub store: std::sync::Arc<dyn firebreak_store::Store>,
    pub clock: std::sync::Arc<dyn firebreak_core::Clock>,
    pub plan: Vec<firebreak_comply::tracking::Reminder>,
    pub notifier: Option<std::sync::Arc<crate::notify::Notifier>>,
}

impl std::fmt::Debug for ReminderHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReminderHandler").finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl crate::scheduler::JobHandler for ReminderHandler {
    async fn run(&self, job: &firebreak_store::Job) -> Result<(), String> {
        let incident_id = job.payload["incident_id"].as_i64().ok_or("no incident in the job")?;
        let rule_id = job.payload["rule_id"].as_str().ok_or("no rule in the job")?;
        let at = job.payload["at"].as_str().unwrap_or_default();
        let now = self.clock.now();
        let view = view_of(&*self.store, &self.plan, now, incident_id)
            .await
            .map_err(|error| format!("{error:?}"))?;
        let Some(tracking) = view.tracking.iter().find(|t| t.rule_id == rule_id) else {
            return Ok(()); // No longer owed.
        };
        let open = matches!(tracking.status, ObligationStatus::Owed | ObligationStatus::Drafted);
        if !open || !tracking.reminders.iter().any(|r| r == at) {
            return Ok(()); // Done, decided, or its deadline moved.
        }
        let obligation = view
            .assessment
            .as_ref()
            .and_then(|a| a.obligations.iter().find(|o| o.rule_id == rule_id));
        let (title, deadline) = match obligation {
            Some(o) => (
                o.title.clone(),
                o.deadline.latest().map_or_else(|| o.deadline.to_string(), |d| d.to_string()),
            ),
            None => (rule_id.to_owned(), String::new()),
        };
        let summary = format!("Reminder: {title} ({rule_id}) is due by {deadline}");
        let entry = NewEntry {
            kind: EntryKind::Obligation,
            occurred_at: now,
            actor: "firebreak".into(),
            summary: summary.clone(),
            data: serde_json::json!({ "reminder": rule_id, "at": at, "deadline": deadline }),
        };
        self.store.append_entry(incident_id, entry, now).await.map_err(|e| e.to_string())?;
        if let Some(notifier) = &self.notifier {
            let incident = self.store.get_incident(incident_id).await.map_err(|e| e.to_string())?;
            notifier
                .incident_event(incident_id, incident.severity, OBLIGATION_REMINDER, &summary)
                .await
                .map_err(|error| error.to_string())?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Drafted,
    Sent,
    NotRequired,
    Late,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObligationUpdate {
    pub status: Decision,
    /// For `sent`: the reference to the evidence of sending; for `not_required` and `late`:
    /// the reason (required).
    #[serde(default)]
    pub detail: String,
    /// For `sent`: when it was sent (RFC 3339; default now). Recorded in the facts, so that
    /// notices chained to this one get their deadlines.
    #[schema(value_type = Option<String>)]
    pub sent_at: Option<Timestamp>,
}

/// Records what was done about one obligation: drafted, sent (with evidence), not required or
/// late (with the reason).
#[utoipa::path(post, path = "/api/v1/incidents/{id}/obligations/{rule}", tag = "obligations",
    params(("id" = i64, Path), ("rule" = String, Path, description = "The rule id, e.g. gdpr-33")),
    request_body = ObligationUpdate,
    responses((status = 200, body = ObligationsView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("token" = ["responder"])))]
pub async fn update(
    State(state): State<AppState>,
    Need(caller, _): Need<Responder>,
    Path((id, rule)): Path<(i64, String)>,
    JsonBody(update): JsonBody<ObligationUpdate>,
) -> Result<Json<ObligationsView>, ApiError> {
    let needs_detail =
        matches!(update.status, Decision::Sent | Decision::NotRequired | Decision::Late);
    check_text("detail", &update.detail, usize::from(needs_detail), MAX_TEXT_CHARS)
        .map_err(ApiError::Invalid)?;
    let latest = state.store.latest_document(id, DocumentKind::Facts).await?.ok_or_else(|| {
        ApiError::Conflict(format!("incident {id} has no facts yet, so it has no obligations"))
    })?;
    let mut facts =
        Facts::from_json(&latest.doc).map_err(|error| ApiError::Internal(error.to_string()))?;
    let assessment = firebreak_comply::compute(&facts, table()?);
    if !assessment.obligations.iter().any(|o| o.rule_id == rule) {
        return Err(ApiError::NotFound(format!("obligation `{rule}` on incident {id}")));
    }
    let now = state.clock.now();
    if update.status == Decision::Sent {
        let sent_at = update.sent_at.unwrap_or(now);
        if sent_at > now {
            return Err(ApiError::Invalid("`sent_at` is in the future".into()));
        }
        facts.notices_sent.insert(rule.clone(), sent_at);
        record(&state, id, &caller.actor, &facts, &format!("Notice `{rule}` sent")).await?;
    }
    let status = match update.status {
        Decision::Drafted => "drafted",
        Decision::Sent => "sent",
        Decision::NotRequired => "not_required",
        Decision::Late => "late",
    };
    let record = ObligationRecord {
        rule_id: rule.clone(),
        status: status.into(),
        detail: update.detail.clone(),
        at: now,
        actor: caller.actor.clone(),
    };
    let entry = NewEntry {
        kind: EntryKind::Obligation,
        occurred_at: update.sent_at.unwrap_or(now),
        actor: caller.actor.clone(),
        summary: format!(
            "Obligation `{rule}` marked {status}{}",
            if update.detail.is_empty() { String::new() } else { format!(": {}", update.detail) }
        ),
        data: serde_json::json!({ "rule_id": rule, "status": status, "detail": update.detail }),
    };
    state.store.record_obligation(id, &record, entry).await?;
    Ok(Json(view(&state, id).await?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DraftView {
    pub rule_id: String,
    /// The notice with every section its regime requires, filled from the facts; what is still
    /// missing shows as `[MISSING: …]`.
    pub markdown: String,
    pub complete: bool,
}

/// A draft of one obligation's notice, with the contents its regime requires.
#[utoipa::path(get, path = "/api/v1/incidents/{id}/obligations/{rule}/draft", tag = "obligations",
    params(("id" = i64, Path), ("rule" = String, Path, description = "The rule id, e.g. gdpr-33")),
    responses((status = 200, body = DraftView), (status = 404, body = ErrorBody)),
    security(("token" = ["viewer"])))]
pub async fn draft(
    State(state): State<AppState>,
    _: Need<Viewer>,
    Path((id, rule)): Path<(i64, String)>,
) -> Result<Json<DraftView>, ApiError> {
    let latest = state
        .store
        .latest_document(id, DocumentKind::Facts)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("facts of incident {id}")))?;
    let facts =
        Facts::from_json(&latest.doc).map_err(|error| ApiError::Internal(error.to_string()))?;
    let table = table()?;
    let assessment = firebreak_comply::compute(&facts, table);
    let obligation = assessment
        .obligations
        .iter()
        .find(|o| o.rule_id == rule)
        .ok_or_else(|| ApiError::NotFound(format!("obligation `{rule}` on incident {id}")))?;
    let draft = firebreak_comply::draft(obligation, &facts, table);
    Ok(Json(DraftView {
        rule_id: rule,
        markdown: draft.to_markdown(),
        complete: draft.is_complete(),
    }))
}
