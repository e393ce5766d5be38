//! `Alert`: a rule firing for one group key, with its counts and the events that made it fire.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::incident::Severity;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AlertStatus {
    New,
    Acknowledged,
    FalsePositive,
    Resolved,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Alert {
    pub id: i64,
    pub rule_id: String,
    pub title: String,
    pub severity: Severity,
    /// The group key: ECS field name → value, e.g. `{"source.ip": "203.0.113.5"}`.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub group: Map<String, Value>,
    pub count: u64,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub first_seen: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub last_seen: Timestamp,
    pub tags: Vec<String>,
    pub status: AlertStatus,
    pub incident_id: Option<i64>,
    /// A few of the events that made the rule fire, as received.
    pub sample: Vec<String>,
}

impl AlertStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::New => "new",
            AlertStatus::Acknowledged => "acknowledged",
            AlertStatus::FalsePositive => "false_positive",
            AlertStatus::Resolved => "resolved",
        }
    }

    pub fn parse(text: &str) -> Option<AlertStatus> {
        [
            AlertStatus::New,
            AlertStatus::Acknowledged,
            AlertStatus::FalsePositive,
            AlertStatus::Resolved,
        ]
        .into_iter()
        .find(|status| status.as_str() == text)
    }
}

/// The canonical text of a group key, for storing and comparing: JSON with sorted keys.
pub fn group_key(group: &Map<String, Value>) -> String {
    let sorted: std::collections::BTreeMap<&String, &Value> = group.iter().collect();
    serde_json::to_string(&sorted).unwrap_or_default()
}
