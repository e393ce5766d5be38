//! The response team: the roster of people and the roles they can hold, who is on call for each
//! response role, and who holds each role in an incident (each assignment on the timeline).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use firebreak_core::incident::check_text;
use firebreak_core::{EntryKind, NewEntry, Person, ResponseRole};
use firebreak_store::RoleAssignment;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::{Commander, Need, Viewer};
use crate::error::{ApiError, ErrorBody, JsonBody};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPerson {
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
    /// IANA time zone, e.g. `Europe/Lisbon`.
    pub time_zone: String,
    /// The response roles this person can hold.
    #[serde(default)]
    pub roles: Vec<ResponseRole>,
}

/// Adds a person to the roster.
#[utoipa::path(post, path = "/api/v1/people", tag = "team", request_body = NewPerson,
    responses((status = 201, body = Person), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("token" = ["commander"])))]
pub async fn create(
    State(state): State<AppState>,
    _: Need<Commander>,
    JsonBody(new): JsonBody<NewPerson>,
) -> Result<(StatusCode, Json<Person>), ApiError> {
    check_text("name", &new.name, 1, 200).map_err(ApiError::Invalid)?;
    check_text("email", &new.email, 3, 320).map_err(ApiError::Invalid)?;
    if !new.email.contains('@') || new.email.contains(char::is_whitespace) {
        return Err(ApiError::Invalid(format!(
            "`email`: `{}` is not an e-mail address",
            new.email
        )));
    }
    if let Some(phone) = &new.phone {
        check_text("phone", phone, 1, 40).map_err(ApiError::Invalid)?;
    }
    if jiff::tz::TimeZone::get(&new.time_zone).is_err() {
        return Err(ApiError::Invalid(format!(
            "`time_zone`: `{}` is not an IANA time zone",
            new.time_zone
        )));
    }
    let person = Person {
        id: 0,
        name: new.name,
        email: new.email,
        phone: new.phone,
        time_zone: new.time_zone,
        roles: new.roles,
    };
    Ok((StatusCode::CREATED, Json(state.store.create_person(&person).await?)))
}

/// The roster.
#[utoipa::path(get, path = "/api/v1/people", tag = "team",
    responses((status = 200, body = Vec<Person>)),
    security(("token" = ["viewer"])))]
pub async fn list(
    State(state): State<AppState>,
    _: Need<Viewer>,
) -> Result<Json<Vec<Person>>, ApiError> {
    Ok(Json(state.store.list_people().await?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OnCall {
    pub role: ResponseRole,
    pub person: Person,
}

/// Who is on call for each response role.
#[utoipa::path(get, path = "/api/v1/on-call", tag = "team",
    responses((status = 200, body = Vec<OnCall>)),
    security(("token" = ["viewer"])))]
pub async fn on_call(
    State(state): State<AppState>,
    _: Need<Viewer>,
) -> Result<Json<Vec<OnCall>>, ApiError> {
    let list = state
        .store
        .on_call()
        .await?
        .into_iter()
        .map(|(role, person)| OnCall { role, person })
        .collect();
    Ok(Json(list))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonRef {
    pub person_id: i64,
}

fn check_can_hold(person: &Person, role: ResponseRole) -> Result<(), ApiError> {
    if person.roles.contains(&role) {
        Ok(())
    } else {
        Err(ApiError::Conflict(format!(
            "{} is not on the roster as able to act as {}",
            person.name,
            role.title()
        )))
    }
}

/// Puts a person on call for a response role.
#[utoipa::path(put, path = "/api/v1/on-call/{role}", tag = "team", params(("role" = ResponseRole, Path)), request_body = PersonRef,
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("token" = ["commander"])))]
pub async fn set_on_call(
    State(state): State<AppState>,
    _: Need<Commander>,
    Path(role): Path<ResponseRole>,
    JsonBody(who): JsonBody<PersonRef>,
) -> Result<StatusCode, ApiError> {
    let person = state.store.get_person(who.person_id).await?;
    check_can_hold(&person, role)?;
    state.store.set_on_call(role, person.id, state.clock.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Assignment {
    pub role: ResponseRole,
    pub person_id: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AssignmentView {
    pub role: ResponseRole,
    pub person: Person,
    pub assigned_at: String,
    pub assigned_by: String,
}

impl From<RoleAssignment> for AssignmentView {
    fn from(assignment: RoleAssignment) -> AssignmentView {
        AssignmentView {
            role: assignment.role,
            person: assignment.person,
            assigned_at: assignment.assigned_at.to_string(),
            assigned_by: assignment.assigned_by,
        }
    }
}

/// Gives a response role in the incident to a person; the assignment goes on the timeline.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/roles", tag = "team", params(("id" = i64, Path)), request_body = Assignment,
    responses((status = 200, body = Vec<AssignmentView>), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("token" = ["commander"])))]
pub async fn assign(
    State(state): State<AppState>,
    Need(caller, _): Need<Commander>,
    Path(id): Path<i64>,
    JsonBody(assignment): JsonBody<Assignment>,
) -> Result<Json<Vec<AssignmentView>>, ApiError> {
    let person = state.store.get_person(assignment.person_id).await?;
    check_can_hold(&person, assignment.role)?;
    let now = state.clock.now();
    let entry = NewEntry {
        kind: EntryKind::RoleAssigned,
        occurred_at: now,
        actor: caller.actor,
        summary: format!("{} is {}", person.name, assignment.role.title()),
        data: serde_json::json!({ "role": assignment.role, "person_id": person.id, "person": person.name }),
    };
    state.store.assign_role(id, assignment.role, person.id, entry).await?;
    Ok(Json(state.store.incident_roles(id).await?.into_iter().map(AssignmentView::from).collect()))
}

/// Who holds which response role in the incident.
#[utoipa::path(get, path = "/api/v1/incidents/{id}/roles", tag = "team", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<AssignmentView>), (status = 404, body = ErrorBody)),
    security(("token" = ["viewer"])))]
pub async fn roles(
    State(state): State<AppState>,
    _: Need<Viewer>,
    Path(id): Path<i64>,
) -> Result<Json<Vec<AssignmentView>>, ApiError> {
    Ok(Json(state.store.incident_roles(id).await?.into_iter().map(AssignmentView::from).collect()))
}
