//! Containment through the API: decisions (take, list, extend, roll back), the bouncers that
//! enforce them, playbooks (list, apply to an incident), and the approvals playbooks wait for.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use firebreak_core::incident::{MAX_TEXT_CHARS, check_text};
use firebreak_core::{AccessRole, Decision, DecisionKind, Term};
use firebreak_store::{Bouncer, DecisionFilter, Job, JobState};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::auth::{Admin, Commander, Need, Responder, Viewer};
use crate::error::{ApiError, ErrorBody, JsonBody};
use crate::response::{APPROVAL_TIMEOUT, DecideError, DecisionRequest};

impl From<DecideError> for ApiError {
    fn from(error: DecideError) -> ApiError {
        match error {
            DecideError::Refused(why) => ApiError::Conflict(why),
            already @ DecideError::AlreadyInForce(_) => ApiError::Conflict(already.to_string()),
            DecideError::Store(error) => error.into(),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DecisionsQuery {
    /// Only decisions in force now (default true).
    pub active: Option<bool>,
    pub incident: Option<i64>,
    pub kind: Option<DecisionKind>,
    pub target: Option<String>,
    /// Newest first; default 1000.
    pub limit: Option<u32>,
}

/// Containment decisions, newest first.
#[utoipa::path(get, path = "/api/v1/decisions", tag = "enforcement", params(DecisionsQuery),
    responses((status = 200, body = Vec<Decision>)),
    security(("token" = ["viewer"])))]
pub async fn list(
    State(state): State<AppState>,
    _: Need<Viewer>,
    Query(query): Query<DecisionsQuery>,
) -> Result<Json<Vec<Decision>>, ApiError> {
    let filter = DecisionFilter {
        in_force_at: query.active.unwrap_or(true).then(|| state.clock.now()),
        incident_id: query.incident,
        kind: query.kind,
        target: query.target,
        limit: query.limit,
    };
    Ok(Json(state.store.list_decisions(&filter).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDecision {
    pub kind: DecisionKind,
    /// An address or CIDR range (ban), an account (lock_account, revoke_sessions), a host.
    pub target: String,
    /// Seconds; default the policy's base ban, lengthened for repeat offenders.
    pub duration_secs: Option<u64>,
    pub reason: String,
    pub incident_id: Option<i64>,
    #[serde(default)]
    pub term: Term,
}

/// Takes a containment decision. A never-ban address or range answers 409 with the reason.
#[utoipa::path(post, path = "/api/v1/decisions", tag = "enforcement", request_body = NewDecision,
    responses((status = 201, body = Decision), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("token" = ["commander"])))]
pub async fn create(
    State(state): State<AppState>,
    Need(caller, _): Need<Commander>,
    JsonBody(new): JsonBody<NewDecision>,
) -> Result<(StatusCode, Json<Decision>), ApiError> {
    check_text("reason", &new.reason, 1, MAX_TEXT_CHARS).map_err(ApiError::Invalid)?;
    let duration = match new.duration_secs {
        Some(0) => return Err(ApiError::Invalid("`duration_secs` must be positive".into())),
        Some(secs) => Some(SignedDuration::from_secs(i64::try_from(secs).unwrap_or(i64::MAX / 4))),
        None => None,
    };
    let request = DecisionRequest {
        kind: new.kind,
        target: new.target,
        duration,
        reason: new.reason,
        incident_id: new.incident_id,
        term: new.term,
    };
    let decision = state.responder.decide(request, &caller.actor).await?;
    Ok((StatusCode::CREATED, Json(decision)))
}

/// One decision.
#[utoipa::path(get, path = "/api/v1/decisions/{id}", tag = "enforcement", params(("id" = i64, Path)),
    responses((status = 200, body = Decision), (status = 404, body = ErrorBody)),
    security(("token" = ["viewer"])))]
pub async fn get(
    State(state): State<AppState>,
    _: Need<Viewer>,
    Path(id): Path<i64>,
) -> Result<Json<Decision>, ApiError> {
    Ok(Json(state.store.get_decision(id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Extension {
    /// The new expiry (RFC 3339), later than the current one.
    #[schema(value_type = String)]
    pub until: Timestamp,
    pub reason: String,
}

/// Extends a decision in force.
#[utoipa::path(post, path = "/api/v1/decisions/{id}/extend", tag = "enforcement", params(("id" = i64, Path)), request_body = Extension,
    responses((status = 200, body = Decision), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("token" = ["commander"])))]
pub async fn extend(
    State(state): State<AppState>,
    Need(caller, _): Need<Commander>,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<Extension>,
) -> Result<Json<Decision>, ApiError> {
    check_text("reason", &body.reason, 1, MAX_TEXT_CHARS).map_err(ApiError::Invalid)?;
    Ok(Json(state.responder.extend(id, body.until, &body.reason, &caller.actor).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    pub reason: String,
}

/// Rolls a decision back: it stops at once, and leaves the bouncers' streams and nftables.
#[utoipa::path(post, path = "/api/v1/decisions/{id}/roll-back", tag = "enforcement", params(("id" = i64, Path)), request_body = Reason,
    responses((status = 200, body = Decision), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("token" = ["commander"])))]
pub async fn roll_back(
    State(state): State<AppState>,
    Need(caller, _): Need<Commander>,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<Reason>,
) -> Result<Json<Decision>, ApiError> {
    check_text("reason", &body.reason, 1, MAX_TEXT_CHARS).map_err(ApiError::Invalid)?;
    Ok(Json(state.responder.roll_back(id, &body.reason, &caller.actor).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBouncer {
    /// A name for the bouncer (where it runs, what it guards).
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedBouncer {
    #[schema(value_type = Object)]
    pub bouncer: Bouncer,
    /// The key for the bouncer's configuration (`api_key`): shown only now.
    pub key: String,
}

/// Registers a bouncer and makes its key (shown once; only its hash is kept).
#[utoipa::path(post, path = "/api/v1/bouncers", tag = "enforcement", request_body = NewBouncer,
    responses((status = 201, body = CreatedBouncer), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("token" = ["admin"])))]
pub async fn create_bouncer(
    State(state): State<AppState>,
    _: Need<Admin>,
    JsonBody(new): JsonBody<NewBouncer>,
) -> Result<(StatusCode, Json<CreatedBouncer>), ApiError> {
    check_text("name", &new.name, 1, 100).map_err(ApiError::Invalid)?;
    let (secret, hash) = crate::auth::new_token()?;
    let bouncer = state.store.create_bouncer(&new.name, &hash, state.clock.now()).await?;
    state.bouncers.add(&bouncer);
    Ok((StatusCode::CREATED, Json(CreatedBouncer { bouncer, key: secret.0 })))
}

/// The bouncers, with their last pull.
#[utoipa::path(get, path = "/api/v1/bouncers", tag = "enforcement",
    responses((status = 200, body = Vec<Object>)),
    security(("token" = ["admin"])))]
pub async fn list_bouncers(
    State(state): State<AppState>,
    _: Need<Admin>,
) -> Result<Json<Vec<Bouncer>>, ApiError> {
    Ok(Json(state.store.list_bouncers().await?))
}

/// Revokes a bouncer's key.
#[utoipa::path(post, path = "/api/v1/bouncers/{id}/revoke", tag = "enforcement", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("token" = ["admin"])))]
pub async fn revoke_bouncer(
    State(state): State<AppState>,
    _: Need<Admin>,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    state.store.revoke_bouncer(id, state.clock.now()).await?;
    state.bouncers.remove(id);
    Ok(StatusCode::NO_CONTENT)
}

/// The loaded playbooks, with their steps.
#[utoipa::path(get, path = "/api/v1/playbooks", tag = "enforcement",
    responses((status = 200, body = Vec<Object>)),
    security(("token" = ["viewer"])))]
pub async fn playbooks(
    State(state): State<AppState>,
    _: Need<Viewer>,
) -> Result<Json<Vec<firebreak_respond::Playbook>>, ApiError> {
    Ok(Json(state.responder.playbooks().to_vec()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Apply {
    /// The playbook's id.
    pub playbook: String,
}

/// Applies a playbook to an incident (mid-way, or again), with its latest alert as subject.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/playbooks", tag = "enforcement", params(("id" = i64, Path)), request_body = Apply,
    responses((status = 202, description = "The playbook ran up to its end or to an approval"), (status = 404, body = ErrorBody)),
    security(("token" = ["commander"])))]
pub async fn apply(
    State(state): State<AppState>,
    Need(caller, _): Need<Commander>,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<Apply>,
) -> Result<StatusCode, ApiError> {
    state.responder.apply(id, &body.playbook, &caller.actor).await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Approval {
    pub id: i64,
    pub incident_id: i64,
    pub playbook: String,
    /// The role that may approve.
    pub role: AccessRole,
    /// When it times out.
    #[schema(value_type = String)]
    pub due_at: Timestamp,
    /// `proceed` or `stop` at the timeout.
    pub on_timeout: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ApprovalsQuery {
    pub incident: Option<i64>,
}

fn approval_of(job: &Job) -> Option<Approval> {
    (job.kind == APPROVAL_TIMEOUT).then(|| Approval {
        id: job.id,
        incident_id: job.payload["incident_id"].as_i64().unwrap_or_default(),
        playbook: job.payload["playbook"].as_str().unwrap_or_default().to_owned(),
        role: serde_json::from_value(job.payload["role"].clone()).unwrap_or(AccessRole::Admin),
        due_at: job.due_at,
        on_timeout: job.payload["on_timeout"].as_str().unwrap_or("stop").to_owned(),
    })
}

/// Approvals that playbooks are waiting for.
#[utoipa::path(get, path = "/api/v1/approvals", tag = "enforcement", params(ApprovalsQuery),
    responses((status = 200, body = Vec<Approval>)),
    security(("token" = ["viewer"])))]
pub async fn approvals(
    State(state): State<AppState>,
    _: Need<Viewer>,
    Query(query): Query<ApprovalsQuery>,
) -> Result<Json<Vec<Approval>>, ApiError> {
    let jobs = state.store.list_jobs(Some(JobState::Pending), 10_000).await?;
    Ok(Json(
        jobs.iter()
            .filter_map(approval_of)
            .filter(|a| query.incident.is_none_or(|id| a.incident_id == id))
            .collect(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Verdict {
    pub approve: bool,
    pub reason: String,
}

/// Approves (the playbook goes on) or rejects (it stops) a pending approval. The caller needs
/// the role the playbook's step names.
#[utoipa::path(post, path = "/api/v1/approvals/{id}", tag = "enforcement", params(("id" = i64, Path)), request_body = Verdict,
    responses((status = 200, description = "Decided"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("token" = ["responder"])))]
pub async fn decide_approval(
    State(state): State<AppState>,
    Need(caller, _): Need<Responder>,
    Path(id): Path<i64>,
    JsonBody(verdict): JsonBody<Verdict>,
) -> Result<StatusCode, ApiError> {
    check_text("reason", &verdict.reason, 1, MAX_TEXT_CHARS).map_err(ApiError::Invalid)?;
    let jobs = state.store.list_jobs(Some(JobState::Pending), 10_000).await?;
    let job = jobs
        .into_iter()
        .find(|job| job.id == id && job.kind == APPROVAL_TIMEOUT)
        .ok_or_else(|| ApiError::NotFound(format!("pending approval {id}")))?;
    if let Some(approval) = approval_of(&job) {
        caller.require(approval.role)?;
    }
    state.responder.decide_approval(&job, verdict.approve, &caller.actor, &verdict.reason).await?;
    Ok(StatusCode::OK)
}
