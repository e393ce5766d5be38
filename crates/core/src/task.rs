//! `Task`: work for a person in an incident — made by hand, later by playbooks — with an owner,
//! a response role, a due time, a status and a checklist.

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::incident::UnknownName;
use crate::person::ResponseRole;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    Open,
    InProgress,
    Blocked,
    Done,
    Cancelled,
}

impl TaskStatus {
    pub const ALL: [TaskStatus; 5] = [
        TaskStatus::Open,
        TaskStatus::InProgress,
        TaskStatus::Blocked,
        TaskStatus::Done,
        TaskStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Open => "open",
            TaskStatus::InProgress => "in_progress",
            TaskStatus::Blocked => "blocked",
            TaskStatus::Done => "done",
            TaskStatus::Cancelled => "cancelled",
        }
    }

    /// Still to be done.
    pub fn is_open(self) -> bool {
        !matches!(self, TaskStatus::Done | TaskStatus::Cancelled)
    }
}

impl fmt::Display for TaskStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TaskStatus {
    type Err = UnknownName;
    fn from_str(text: &str) -> Result<TaskStatus, UnknownName> {
        TaskStatus::ALL.into_iter().find(|s| s.as_str() == text).ok_or_else(|| UnknownName {
            what: "task status",
            value: text.to_owned(),
            expected: "open, in_progress, blocked, done, cancelled",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChecklistItem {
    pub text: String,
    pub done: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Task {
    pub id: i64,
    pub incident_id: i64,
    pub title: String,
    /// The person who owns it (a `Person` id).
    pub owner_id: Option<i64>,
    /// The response role that owns it, when no one person does.
    pub role: Option<ResponseRole>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub due_at: Option<Timestamp>,
    pub status: TaskStatus,
    pub checklist: Vec<ChecklistItem>,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub created_at: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub updated_at: Timestamp,
}

impl Task {
    /// Open, with a due time that has passed.
    pub fn is_overdue(&self, now: Timestamp) -> bool {
        self.status.is_open() && self.due_at.is_some_and(|due| due < now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_open_tasks_past_their_due_time_are_overdue() {
        let now: Timestamp = "2026-01-01T12:00:00Z".parse().unwrap();
        let mut task = Task {
            id: 1,
            incident_id: 1,
            title: "Rotate the API keys".into(),
            owner_id: None,
            role: Some(ResponseRole::TechnicalLead),
            due_at: Some("2026-01-01T11:00:00Z".parse().unwrap()),
            status: TaskStatus::InProgress,
            checklist: Vec::new(),
            created_at: now,
            updated_at: now,
        };
        assert!(task.is_overdue(now));
        task.status = TaskStatus::Done;
        assert!(!task.is_overdue(now));
        task.status = TaskStatus::Open;
        task.due_at = None;
        assert!(!task.is_overdue(now));
        for status in TaskStatus::ALL {
            assert_eq!(status.as_str().parse::<TaskStatus>(), Ok(status));
        }
    }
}
