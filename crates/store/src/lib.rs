//! firebreak's storage: one `Store` trait, implemented once in SQL for two engines — SQLite, the
//! embedded default (one file, WAL, foreign keys, `synchronous=FULL`), and PostgreSQL — each with
//! its own migrations under `migrations/`, applied at start.
//!
//! This is the only crate that knows SQL. It knows nothing of HTTP.

mod notify;
mod sql;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use firebreak_core::{
    AccessRole, Alert, AlertStatus, Decision, DecisionKind, Event, Incident, IncidentStats,
    NewEntry, NewIncident, Person, ResponseRole, Severity, Status, Suppression, SuppressionStatus,
    Task, TimelineEntry,
};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

pub use firebreak_core::Evidence;
pub use notify::{
    Delivery, DeliveryAttempt, Escalation, NewEscalation, NewNotification, Notification,
    NotificationFilter, NotificationStatus,
};
pub use sql::{SqlStore, redact_url};

/// Why a store call failed. `NotFound` and `Conflict` are the caller's business; `Other` is ours.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} not found")]
    NotFound(String),
    /// The change is not allowed in the current state (an invalid transition, a duplicate name).
    #[error("{0}")]
    Conflict(String),
    #[error("invalid input: {0}")]
    Invalid(String),
    #[error("database error: {0}")]
    Other(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> StoreError {
        match &error {
            sqlx::Error::RowNotFound => StoreError::NotFound("row".into()),
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Conflict(format!("already exists: {}", db.message()))
            }
            _ => StoreError::Other(error.to_string()),
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// An event as written to the store: its ingest sequence number is its id.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRecord {
    pub id: i64,
    pub ts: Timestamp,
    pub received_at: Timestamp,
    pub category: Option<String>,
    pub action: Option<String>,
    pub outcome: Option<String>,
    pub source_ip: Option<String>,
    pub user_name: Option<String>,
    pub host_name: Option<String>,
    /// The whole event as compact JSON.
    pub doc: String,
}

impl EventRecord {
    /// Indexes an event kept as the bytes that came (`doc` is those bytes; `ts` is the event
    /// time as `Event::from_json` would read it).
    pub fn from_raw(
        id: i64,
        received_at: Timestamp,
        raw: &[u8],
    ) -> Result<EventRecord, firebreak_core::EventError> {
        let columns = firebreak_core::event::Columns::read(raw, received_at)?;
        let doc = std::str::from_utf8(raw)
            .map_err(|error| firebreak_core::EventError::Json(error.to_string()))?
            .to_owned();
        Ok(EventRecord {
            id,
            ts: columns.timestamp,
            received_at,
            category: columns.category,
            action: columns.action,
            outcome: columns.outcome,
            source_ip: columns.source_ip,
            user_name: columns.user_name,
            host_name: columns.host_name,
            doc,
        })
    }

    pub fn from_event(id: i64, received_at: Timestamp, event: &Event) -> EventRecord {
        EventRecord {
            id,
            ts: event.timestamp,
            received_at,
            category: event.category().map(str::to_owned),
            action: event.action().map(str::to_owned),
            outcome: event.outcome().map(str::to_owned),
            source_ip: event.source_ip().map(|ip| ip.to_string()),
            user_name: event.user_name().map(str::to_owned),
            host_name: event.host_name().map(str::to_owned),
            doc: event.to_json(),
        }
    }
}

/// A search over stored events, newest first. Every filter given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct EventQuery {
    pub ip: Option<String>,
    pub user: Option<String>,
    pub host: Option<String>,
    pub category: Option<String>,
    pub outcome: Option<String>,
    /// Event time at or after.
    pub from: Option<Timestamp>,
    /// Event time before.
    pub to: Option<Timestamp>,
    /// Text that must appear somewhere in the event (case-sensitive substring).
    pub text: Option<String>,
    /// Keyset cursor: only events strictly older than this (event time, id).
    pub before: Option<(Timestamp, i64)>,
    pub limit: u32,
}

/// What kind of credential a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    /// A long-lived API token, made by an administrator.
    Api,
    /// A session token from a password login; expires.
    Session,
    /// The one-time token printed at first start; consumed on use.
    Setup,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Api => "api",
            TokenKind::Session => "session",
            TokenKind::Setup => "setup",
        }
    }

    fn parse(text: &str) -> Option<TokenKind> {
        [TokenKind::Api, TokenKind::Session, TokenKind::Setup]
            .into_iter()
            .find(|k| k.as_str() == text)
    }
}

/// A token as stored: never the secret, only its SHA-256 (hex).
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    pub id: i64,
    pub name: String,
    pub kind: TokenKind,
    pub role: AccessRole,
    pub user_id: Option<i64>,
    #[serde(skip)]
    pub hash: String,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

impl fmt::Debug for TokenInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenInfo")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("role", &self.role)
            .field("hash", &"[redacted]")
            .finish_non_exhaustive()
    }
}

impl TokenInfo {
    /// Whether the token may be used at `now`.
    pub fn usable(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|expiry| now < expiry)
    }
}

#[derive(Debug, Clone)]
pub struct NewToken {
    pub name: String,
    pub kind: TokenKind,
    pub role: AccessRole,
    pub user_id: Option<i64>,
    /// SHA-256 of the secret, hex.
    pub hash: String,
    pub expires_at: Option<Timestamp>,
}

#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub role: AccessRole,
    #[serde(skip)]
    pub password_hash: Option<String>,
    pub created_at: Timestamp,
    pub disabled: bool,
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("role", &self.role)
            .field("password_hash", &self.password_hash.as_ref().map(|_| "[redacted]"))
            .finish_non_exhaustive()
    }
}

/// One state-changing call: who, what, when, from where, and how it ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub at: Timestamp,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub remote_addr: String,
    pub status: u16,
    pub detail: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct IncidentFilter {
    pub status: Option<Status>,
    pub severity: Option<Severity>,
    /// Created at or after.
    pub from: Option<Timestamp>,
    /// Created before.
    pub to: Option<Timestamp>,
    pub limit: Option<u32>,
}

/// The kinds of versioned document an incident keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    /// The breach-notification facts (`comply::Facts`, JSON).
    Facts,
    /// The damage assessment (`comply::DamageAssessment`, JSON).
    Damage,
}

impl DocumentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentKind::Facts => "facts",
            DocumentKind::Damage => "damage",
        }
    }
}

/// One version of an incident's document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DocumentVersion {
    pub version: i64,
    pub doc: String,
    pub recorded_at: Timestamp,
    pub actor: String,
}

/// What people decided or did about one obligation of an incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObligationRecord {
    pub rule_id: String,
    /// `drafted`, `sent`, `not_required` or `late`.
    pub status: String,
    /// The reason, or the reference to the evidence of sending.
    pub detail: String,
    pub at: Timestamp,
    pub actor: String,
}

/// A change to an incident, validated by the store inside its transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IncidentChange {
    Status { to: Status, reason: String },
    Severity { to: Severity, reason: String },
}

#[async_trait]
pub trait Store: Send + Sync + fmt::Debug {
    /// Which engine this is, for logs and `/readyz`.
    fn engine(&self) -> &'static str;
    async fn ping(&self) -> Result<()>;

    // Events. `checkpoint` is the highest ingest sequence number written with this batch; it is
    // stored in the same transaction as the events and the audit records of the requests that
    // brought them, so that replay after a crash neither loses nor repeats.
    async fn insert_events(
        &self,
        events: Vec<EventRecord>,
        audits: Vec<AuditRecord>,
        checkpoint: i64,
    ) -> Result<()>;
    async fn ingest_checkpoint(&self) -> Result<i64>;
    async fn list_events(&self, after_id: i64, limit: u32) -> Result<Vec<EventRecord>>;
    async fn count_events(&self) -> Result<i64>;
    /// Events matching `query`, newest first (event time, then id).
    async fn search_events(&self, query: &EventQuery) -> Result<Vec<EventRecord>>;
    /// How the database runs `search_events` for `query` (its plan, one line per step).
    async fn explain_search(&self, query: &EventQuery) -> Result<Vec<String>>;

    // Users and tokens.
    async fn count_users(&self) -> Result<i64>;
    async fn create_user(
        &self,
        name: &str,
        role: AccessRole,
        password_hash: Option<&str>,
        at: Timestamp,
    ) -> Result<User>;
    async fn user_by_name(&self, name: &str) -> Result<Option<User>>;
    async fn user_by_id(&self, id: i64) -> Result<Option<User>>;
    async fn set_password(&self, user_id: i64, password_hash: &str) -> Result<()>;
    async fn create_token(&self, token: NewToken, at: Timestamp) -> Result<TokenInfo>;
    async fn token_by_hash(&self, hash: &str) -> Result<Option<TokenInfo>>;
    async fn list_tokens(&self) -> Result<Vec<TokenInfo>>;
    /// Revokes a token; `NotFound` if there is none, `Conflict` if it was already revoked.
    async fn revoke_token(&self, id: i64, at: Timestamp) -> Result<()>;

    // Audit.
    async fn audit(&self, record: &AuditRecord) -> Result<()>;
    async fn list_audit(&self, limit: u32) -> Result<Vec<AuditRecord>>;

    // Incidents and their timeline.
    async fn create_incident(
        &self,
        new: &NewIncident,
        actor: &str,
        at: Timestamp,
    ) -> Result<Incident>;
    async fn get_incident(&self, id: i64) -> Result<Incident>;
    async fn list_incidents(&self, filter: &IncidentFilter) -> Result<Vec<Incident>>;
    /// Applies a change, validating it against the incident's current state, and appends the
    /// timeline entry that records it, in one transaction.
    async fn change_incident(
        &self,
        id: i64,
        change: &IncidentChange,
        actor: &str,
        at: Timestamp,
    ) -> Result<(Incident, TimelineEntry)>;
    async fn append_entry(
        &self,
        incident_id: i64,
        entry: NewEntry,
        recorded_at: Timestamp,
    ) -> Result<TimelineEntry>;
    async fn timeline(&self, incident_id: i64) -> Result<Vec<TimelineEntry>>;

    // Versioned documents (breach facts, damage assessment) and obligation tracking.
    /// Stores a new version of one of the incident's documents with the timeline entry that
    /// records the change, in one transaction. Returns the version.
    async fn record_document(
        &self,
        incident_id: i64,
        kind: DocumentKind,
        doc: &str,
        entry: NewEntry,
        at: Timestamp,
    ) -> Result<(i64, TimelineEntry)>;
    async fn latest_document(
        &self,
        incident_id: i64,
        kind: DocumentKind,
    ) -> Result<Option<DocumentVersion>>;
    /// Records a decision or action on one obligation, with its timeline entry.
    async fn record_obligation(
        &self,
        incident_id: i64,
        record: &ObligationRecord,
        entry: NewEntry,
    ) -> Result<TimelineEntry>;
    async fn obligation_records(&self, incident_id: i64) -> Result<Vec<ObligationRecord>>;

    // Evidence. The acquisition and its custody record are written in one transaction; the
    // `id` of `evidence` is ignored and assigned.
    async fn add_evidence(
        &self,
        evidence: &Evidence,
        custody: NewEntry,
    ) -> Result<(Evidence, TimelineEntry)>;
    async fn list_evidence(&self, incident_id: i64) -> Result<Vec<Evidence>>;
    async fn get_evidence(&self, incident_id: i64, id: i64) -> Result<Evidence>;

    // The team. `person.id` is ignored on create and assigned.
    async fn create_person(&self, person: &Person) -> Result<Person>;
    async fn list_people(&self) -> Result<Vec<Person>>;
    async fn get_person(&self, id: i64) -> Result<Person>;
    async fn set_on_call(&self, role: ResponseRole, person_id: i64, at: Timestamp) -> Result<()>;
    async fn on_call(&self) -> Result<Vec<(ResponseRole, Person)>>;
    /// Gives `role` in an incident to a person (replacing whoever held it), with its entry.
    async fn assign_role(
        &self,
        incident_id: i64,
        role: ResponseRole,
        person_id: i64,
        entry: NewEntry,
    ) -> Result<TimelineEntry>;
    async fn incident_roles(&self, incident_id: i64) -> Result<Vec<RoleAssignment>>;

    // Tasks. `task.id` is ignored on create; `save_task` replaces the stored task by id. Each
    // write carries its timeline entry.
    async fn create_task(&self, task: &Task, entry: NewEntry) -> Result<Task>;
    async fn save_task(&self, task: &Task, entry: NewEntry) -> Result<Task>;
    async fn get_task(&self, incident_id: i64, id: i64) -> Result<Task>;
    async fn list_tasks(&self, incident_id: i64) -> Result<Vec<Task>>;
    /// Open tasks of every incident whose due time is before `now`, most overdue first.
    async fn overdue_tasks(&self, now: Timestamp) -> Result<Vec<Task>>;

    // Alerts.
    /// Folds a firing into the alert for the same rule and group whose last firing is within
    /// `suppression` of this one (adding its count), or opens a new alert. True when new.
    async fn record_alert(
        &self,
        alert: &NewAlert,
        suppression: jiff::SignedDuration,
        at: Timestamp,
    ) -> Result<(Alert, bool)> {
        let recorded = self.record_alerts(std::slice::from_ref(alert), suppression, at).await?;
        recorded.into_iter().next().ok_or_else(|| StoreError::Other("no alert was recorded".into()))
    }
    /// [`Store::record_alert`] for each firing in order, in one transaction (a wave of firings
    /// costs one commit, not one each); a firing folds into one recorded earlier in the batch.
    async fn record_alerts(
        &self,
        alerts: &[NewAlert],
        suppression: jiff::SignedDuration,
        at: Timestamp,
    ) -> Result<Vec<(Alert, bool)>>;
    async fn get_alert(&self, id: i64) -> Result<Alert>;
    /// Alerts matching every filter given, newest first.
    async fn list_alerts(&self, filter: &AlertFilter) -> Result<Vec<Alert>>;
    /// The open incident that already holds an alert of this rule and group (of this rule in
    /// any group, when `group_key` is none), if any.
    async fn open_incident_for(
        &self,
        rule_id: &str,
        group_key: Option<&str>,
    ) -> Result<Option<i64>>;
    /// Links the alert to the incident, with the timeline entry that records it.
    async fn link_alert(&self, alert_id: i64, incident_id: i64, entry: NewEntry) -> Result<()> {
        self.link_alerts(vec![(alert_id, incident_id, entry)]).await
    }
    /// [`Store::link_alert`] for each `(alert, incident, entry)` in order, in one transaction.
    async fn link_alerts(&self, links: Vec<(i64, i64, NewEntry)>) -> Result<()>;
    async fn set_alert_status(&self, id: i64, status: AlertStatus, at: Timestamp) -> Result<Alert>;

    // Triage. Each change that touches an incident appends its entry in the same transaction.
    /// Puts the alert in a person's hands (`None`: in nobody's).
    async fn assign_alert(
        &self,
        id: i64,
        person_id: Option<i64>,
        actor: &str,
        at: Timestamp,
    ) -> Result<Alert>;
    /// Marks the alert a false positive and stores the suppressions that proposes.
    async fn mark_false_positive(
        &self,
        id: i64,
        reason: &str,
        actor: &str,
        at: Timestamp,
    ) -> Result<(Alert, Vec<Suppression>)>;
    async fn list_suppressions(
        &self,
        status: Option<SuppressionStatus>,
    ) -> Result<Vec<Suppression>>;
    /// Accepts or refuses a proposed suppression; `Conflict` if it was already decided.
    async fn decide_suppression(
        &self,
        id: i64,
        accept: bool,
        reason: &str,
        actor: &str,
        at: Timestamp,
    ) -> Result<Suppression>;
    /// Moves alerts into an open incident by hand (from wherever they were, if anywhere).
    async fn move_alerts(
        &self,
        alert_ids: &[i64],
        incident_id: i64,
        reason: &str,
        actor: &str,
        at: Timestamp,
    ) -> Result<Vec<Alert>>;
    /// Merges incident `from` into `into`: its alerts move, it is closed and marked merged.
    /// Its timeline, tasks and evidence stay where they were recorded (custody is per incident).
    async fn merge_incidents(
        &self,
        from: i64,
        into: i64,
        reason: &str,
        actor: &str,
        at: Timestamp,
    ) -> Result<Incident>;
    /// Opens a new incident holding `alert_ids`, taken out of incident `from`.
    async fn split_incident(
        &self,
        from: i64,
        alert_ids: &[i64],
        new: &NewIncident,
        reason: &str,
        actor: &str,
        at: Timestamp,
    ) -> Result<Incident>;
    /// Figures over every incident, drills and merged ones left out.
    async fn incident_stats(&self) -> Result<IncidentStats>;

    /// Deletes up to `limit` events received before `before` (retention); returns how many.
    async fn delete_events_before(&self, before: Timestamp, limit: u32) -> Result<u64>;

    // Containment decisions. `decision.id` is ignored on create; the entry (if the decision
    // belongs to an incident) is written in the same transaction.
    async fn create_decision(
        &self,
        decision: &Decision,
        entry: Option<NewEntry>,
    ) -> Result<Decision>;
    /// How many decisions of this kind were ever taken on this target (repeat offenders).
    async fn count_decisions(&self, kind: DecisionKind, target: &str) -> Result<u32>;
    async fn get_decision(&self, id: i64) -> Result<Decision>;
    async fn list_decisions(&self, filter: &DecisionFilter) -> Result<Vec<Decision>>;
    /// Extends or rolls back a decision in force, with the entry on its incident's timeline;
    /// `Conflict` if it is no longer in force.
    async fn change_decision(
        &self,
        id: i64,
        change: DecisionChange,
        reason: &str,
        actor: &str,
        at: Timestamp,
    ) -> Result<Decision>;
    /// For a bouncer's stream: the decisions in force at `now` that were taken or changed
    /// after `since`, and those taken at or before `since` that ended in (`since`, `now`].
    async fn decisions_since(
        &self,
        since: Timestamp,
        now: Timestamp,
    ) -> Result<(Vec<Decision>, Vec<Decision>)>;

    // Bouncers: enforcers that pull decisions with a key, kept only as its SHA-256.
    async fn create_bouncer(&self, name: &str, key_hash: &str, at: Timestamp) -> Result<Bouncer>;
    async fn bouncer_by_hash(&self, key_hash: &str) -> Result<Option<Bouncer>>;
    async fn list_bouncers(&self) -> Result<Vec<Bouncer>>;
    async fn revoke_bouncer(&self, id: i64, at: Timestamp) -> Result<()>;
    /// Records a pull at `at`; returns the previous one.
    async fn bouncer_pulled(&self, id: i64, at: Timestamp) -> Result<Option<Timestamp>>;

    // The scheduler's durable jobs.
    /// Schedules a job; with a dedupe key already scheduled, returns that job instead.
    async fn schedule_job(&self, job: &NewJob, at: Timestamp) -> Result<Job>;
    /// Takes up to `limit` pending jobs due at `now`, marking them running, in one transaction:
    /// a job is claimed once.
    async fn claim_due_jobs(&self, now: Timestamp, limit: u32) -> Result<Vec<Job>>;
    /// Marks a claimed job done, or failed with its error.
    async fn finish_job(&self, id: i64, error: Option<&str>, at: Timestamp) -> Result<()>;
    /// Cancels the pending job with this dedupe key, if there is one.
    async fn cancel_job(&self, dedupe_key: &str, at: Timestamp) -> Result<bool>;
    /// At start: jobs left running by a stop are pending again (their handlers are
    /// idempotent). Returns how many.
    async fn requeue_interrupted_jobs(&self) -> Result<u64>;
    async fn list_jobs(&self, state: Option<JobState>, limit: u32) -> Result<Vec<Job>>;

    // Notifications. Each is recorded before it is sent (its id goes into its acknowledgement
    // link), then finished with its attempts and the timeline entry saying what went out.
    async fn create_notification(
        &self,
        new: &NewNotification,
        at: Timestamp,
    ) -> Result<Notification>;
    /// Records how each notification's sending ended, and appends `entry` (the communication
    /// on the incident's timeline), in one transaction.
    async fn finish_notifications(
        &self,
        incident_id: i64,
        deliveries: &[Delivery],
        entry: NewEntry,
        at: Timestamp,
    ) -> Result<Vec<Notification>>;
    async fn get_notification(&self, id: i64) -> Result<Notification>;
    /// Newest first.
    async fn list_notifications(&self, filter: &NotificationFilter) -> Result<Vec<Notification>>;
    async fn notification_attempts(&self, id: i64) -> Result<Vec<DeliveryAttempt>>;
    /// Acknowledges a notification (and, if it belongs to an escalation, the escalation and its
    /// other messages), with its entry; `Conflict` if it was already acknowledged.
    async fn acknowledge_notification(
        &self,
        id: i64,
        actor: &str,
        at: Timestamp,
        entry: NewEntry,
    ) -> Result<Notification>;
    async fn create_escalation(&self, new: &NewEscalation, at: Timestamp) -> Result<Escalation>;
    async fn get_escalation(&self, id: i64) -> Result<Escalation>;
    /// Stops an escalation nobody acknowledged, with its entry; `Conflict` if it had stopped.
    async fn end_escalation(
        &self,
        id: i64,
        reason: &str,
        entry: NewEntry,
        at: Timestamp,
    ) -> Result<Escalation>;
}

/// Which decisions to list. Every filter given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct DecisionFilter {
    /// Only decisions in force at this time.
    pub in_force_at: Option<Timestamp>,
    pub incident_id: Option<i64>,
    pub kind: Option<DecisionKind>,
    pub target: Option<String>,
    /// Default 1000, at most 100000.
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecisionChange {
    /// A new expiry (later than the current one).
    Extend {
        until: Timestamp,
    },
    RollBack,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bouncer {
    pub id: i64,
    pub name: String,
    #[serde(skip)]
    pub key_hash: String,
    pub created_at: Timestamp,
    pub last_pull: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Pending,
    Running,
    Done,
    Failed,
    Cancelled,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Pending => "pending",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<JobState> {
        [
            JobState::Pending,
            JobState::Running,
            JobState::Done,
            JobState::Failed,
            JobState::Cancelled,
        ]
        .into_iter()
        .find(|state| state.as_str() == text)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    /// What to do, e.g. `decision_expiry`, `escalation`; the scheduler dispatches on it.
    pub kind: String,
    pub due_at: Timestamp,
    /// The job's arguments, JSON.
    pub payload: serde_json::Value,
    pub dedupe_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub due_at: Timestamp,
    pub payload: serde_json::Value,
    pub state: JobState,
    pub dedupe_key: Option<String>,
    pub attempts: u32,
    pub last_error: Option<String>,
}

/// Which alerts to list. Every filter given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct AlertFilter {
    pub status: Option<AlertStatus>,
    pub rule_id: Option<String>,
    pub incident_id: Option<i64>,
    pub assignee_id: Option<i64>,
    /// Default 100, at most 1000.
    pub limit: Option<u32>,
}

/// A rule firing, as the detection engine reports it; `record_alert` folds it into an alert.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAlert {
    pub rule_id: String,
    pub title: String,
    pub severity: Severity,
    pub group: serde_json::Map<String, serde_json::Value>,
    pub count: u64,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    pub tags: Vec<String>,
    pub sample: Vec<String>,
}

/// Who holds a response role in an incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoleAssignment {
    pub role: ResponseRole,
    pub person: Person,
    pub assigned_at: Timestamp,
    pub assigned_by: String,
}

/// Opens the store at `url` (`sqlite://PATH` or `postgres://…`), creating the SQLite file if
/// needed and applying migrations.
pub async fn open(url: &str) -> Result<Arc<dyn Store>> {
    Ok(Arc::new(SqlStore::open(url).await?))
}
