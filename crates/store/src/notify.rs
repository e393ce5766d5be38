//! Notifications as records: what was sent about an incident, to whom and through which
//! channel, every attempt, who acknowledged it; and escalations, which group what one route
//! sent for one event so that acknowledging any of it stops the chain.

use firebreak_core::ResponseRole;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Where a notification stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationStatus {
    /// Recorded, being sent.
    Pending,
    Sent,
    /// Every attempt failed.
    Failed,
    Acknowledged,
}

impl NotificationStatus {
    pub const ALL: [NotificationStatus; 4] = [
        NotificationStatus::Pending,
        NotificationStatus::Sent,
        NotificationStatus::Failed,
        NotificationStatus::Acknowledged,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NotificationStatus::Pending => "pending",
            NotificationStatus::Sent => "sent",
            NotificationStatus::Failed => "failed",
            NotificationStatus::Acknowledged => "acknowledged",
        }
    }

    pub fn parse(text: &str) -> Option<NotificationStatus> {
        NotificationStatus::ALL.into_iter().find(|status| status.as_str() == text)
    }
}

/// A notification before it is sent: recorded first, so that its id can go into the signed
/// acknowledgement link it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNotification {
    pub incident_id: i64,
    pub escalation_id: Option<i64>,
    /// The step of the escalation chain (0 for the first message).
    pub level: u32,
    /// What it is about: `incident_opened`, `communication`, a playbook's event…
    pub event: String,
    pub subject: String,
    pub body: String,
    /// The configured channel's name.
    pub channel: String,
    /// An e-mail address, or the channel's name for a chat or webhook channel.
    pub recipient: String,
    pub person_id: Option<i64>,
    pub role: Option<ResponseRole>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notification {
    pub id: i64,
    pub incident_id: i64,
    pub escalation_id: Option<i64>,
    pub level: u32,
    pub event: String,
    pub subject: String,
    pub body: String,
    pub channel: String,
    pub recipient: String,
    pub person_id: Option<i64>,
    pub role: Option<ResponseRole>,
    pub status: NotificationStatus,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub created_at: Timestamp,
    pub sent_at: Option<Timestamp>,
    pub acknowledged_by: Option<String>,
    pub acknowledged_at: Option<Timestamp>,
}

/// One try at delivering a notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryAttempt {
    pub attempt: u32,
    pub at: Timestamp,
    pub ok: bool,
    /// The answer (`HTTP 200`, `250 OK`) or the error.
    pub detail: String,
}

/// How the sending of one recorded notification ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub notification_id: i64,
    pub attempts: Vec<DeliveryAttempt>,
}

impl Delivery {
    /// Sent if any attempt succeeded.
    pub fn sent(&self) -> bool {
        self.attempts.iter().any(|attempt| attempt.ok)
    }
}

/// Which notifications to list. Every filter given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct NotificationFilter {
    pub incident_id: Option<i64>,
    pub escalation_id: Option<i64>,
    pub status: Option<NotificationStatus>,
    /// Newest first; default 100, at most 1000.
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEscalation {
    pub incident_id: i64,
    /// The route's name in the configuration.
    pub route: String,
    pub event: String,
    pub subject: String,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Escalation {
    pub id: i64,
    pub incident_id: i64,
    pub route: String,
    pub event: String,
    pub subject: String,
    pub body: String,
    pub created_at: Timestamp,
    pub acknowledged_by: Option<String>,
    pub acknowledged_at: Option<Timestamp>,
    /// Set when the chain stopped without an acknowledgement (exhausted, incident closed).
    pub ended_at: Option<Timestamp>,
    pub ended_reason: Option<String>,
}

impl Escalation {
    /// Still going: neither acknowledged nor ended.
    pub fn is_live(&self) -> bool {
        self.acknowledged_at.is_none() && self.ended_at.is_none()
    }
}
