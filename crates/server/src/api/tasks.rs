//! Tasks of an incident: made by hand now, by playbooks later; every change on the timeline;
//! overdue ones listed across incidents.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use firebreak_core::incident::check_text;
use firebreak_core::{ChecklistItem, EntryKind, NewEntry, ResponseRole, Task, TaskStatus};
use jiff::Timestamp;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::{Need, Responder, Viewer};
use crate::error::{ApiError, ErrorBody, JsonBody};

const MAX_CHECKLIST: usize = 100;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTask {
    pub title: String,
    pub owner_id: Option<i64>,
    pub role: Option<ResponseRole>,
    #[schema(value_type = Option<String>)]
    pub due_at: Option<Timestamp>,
    /// Checklist items, all open.
    #[serde(default)]
    pub checklist: Vec<String>,
}

pub(crate) fn entry(actor: &str, summary: String, task: &Task, at: Timestamp) -> NewEntry {
    NewEntry {
        kind: EntryKind::Task,
        occurred_at: at,
        actor: actor.to_owned(),
        summary,
        data: serde_json::json!({
            "task_id": task.id,
            "title": task.title,
            "status": task.status,
            "owner_id": task.owner_id,
            "role": task.role,
            "due_at": task.due_at,
            "checklist": task.checklist,
        }),
    }
}

/// Adds a task to the incident.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/tasks", tag = "tasks", params(("id" = i64, Path)), request_body = NewTask,
    responses((status = 201, body = Task), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("token" = ["responder"])))]
pub async fn create(
    State(state): State<AppState>,
    Need(caller, _): Need<Responder>,
    Path(id): Path<i64>,
    JsonBody(new): JsonBody<NewTask>,
) -> Result<(StatusCode, Json<Task>), ApiError> {
    check_text("title", &new.title, 1, 200).map_err(ApiError::Invalid)?;
    if new.checklist.len() > MAX_CHECKLIST {
        return Err(ApiError::Invalid(format!("a checklist holds at most {MAX_CHECKLIST} items")));
    }
    for item in &new.checklist {
        check_text("checklist item", item, 1, 500).map_err(ApiError::Invalid)?;
    }
    if let Some(owner) = new.owner_id {
        state.store.get_person(owner).await?;
    }
    let now = state.clock.now();
    let task = Task {
        id: 0,
        incident_id: id,
        title: new.title,
        owner_id: new.owner_id,
        role: new.role,
        due_at: new.due_at,
        status: TaskStatus::Open,
        checklist: new
            .checklist
            .into_iter()
            .map(|text| ChecklistItem { text, done: false })
            .collect(),
        created_at: now,
        updated_at: now,
    };
    let summary = format!("Task added: {}", task.title);
    let stored = state.store.create_task(&task, entry(&caller.actor, summary, &task, now)).await?;
    Ok((StatusCode::CREATED, Json(stored)))
}

/// The incident's tasks.
#[utoipa::path(get, path = "/api/v1/incidents/{id}/tasks", tag = "tasks", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<Task>), (status = 404, body = ErrorBody)),
    security(("token" = ["viewer"])))]
pub async fn list(
    State(state): State<AppState>,
    _: Need<Viewer>,
    Path(id): Path<i64>,
) -> Result<Json<Vec<Task>>, ApiError> {
    Ok(Json(state.store.list_tasks(id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskChange {
    pub status: Option<TaskStatus>,
    pub owner_id: Option<i64>,
    pub role: Option<ResponseRole>,
    #[schema(value_type = Option<String>)]
    pub due_at: Option<Timestamp>,
    /// Tick these checklist items (0-based).
    #[serde(default)]
    pub check: Vec<usize>,
    /// Untick these.
    #[serde(default)]
    pub uncheck: Vec<usize>,
}

/// Changes a task: status, owner, role, due time, checklist ticks.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/tasks/{task}", tag = "tasks", params(("id" = i64, Path), ("task" = i64, Path)), request_body = TaskChange,
    responses((status = 200, body = Task), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("token" = ["responder"])))]
pub async fn update(
    State(state): State<AppState>,
    Need(caller, _): Need<Responder>,
    Path((id, task_id)): Path<(i64, i64)>,
    JsonBody(change): JsonBody<TaskChange>,
) -> Result<Json<Task>, ApiError> {
    let mut task = state.store.get_task(id, task_id).await?;
    let mut what = Vec::new();
    if let Some(status) = change.status.filter(|status| *status != task.status) {
        what.push(format!("status {} → {}", task.status, status));
        task.status = status;
    }
    if let Some(owner) = change.owner_id {
        let person = state.store.get_person(owner).await?;
        what.push(format!("owner {}", person.name));
        task.owner_id = Some(owner);
    }
    if let Some(role) = change.role {
        what.push(format!("role {}", role.title()));
        task.role = Some(role);
    }
    if let Some(due) = change.due_at {
        what.push(format!("due {due}"));
        task.due_at = Some(due);
    }
    for (indices, done) in [(&change.check, true), (&change.uncheck, false)] {
        for &index in indices {
            let item = task
                .checklist
                .get_mut(index)
                .ok_or_else(|| ApiError::Invalid(format!("the checklist has no item {index}")))?;
            item.done = done;
            what.push(format!("{} `{}`", if done { "ticked" } else { "unticked" }, item.text));
        }
    }
    if what.is_empty() {
        return Err(ApiError::Invalid("nothing to change".into()));
    }
    let now = state.clock.now();
    task.updated_at = now;
    let summary = format!("Task `{}`: {}", task.title, what.join(", "));
    let saved = state.store.save_task(&task, entry(&caller.actor, summary, &task, now)).await?;
    Ok(Json(saved))
}

/// Open tasks past their due time, across incidents, most overdue first.
#[utoipa::path(get, path = "/api/v1/tasks/overdue", tag = "tasks",
    responses((status = 200, body = Vec<Task>)),
    security(("token" = ["viewer"])))]
pub async fn overdue(
    State(state): State<AppState>,
    _: Need<Viewer>,
) -> Result<Json<Vec<Task>>, ApiError> {
    Ok(Json(state.store.overdue_tasks(state.clock.now()).await?))
}
