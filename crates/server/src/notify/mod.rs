//! Notifications: channels (Slack-compatible webhooks, signed JSON webhooks, e-mail over SMTP),
//! routes by severity, event and response role, escalation along a chain of roles until
//! someone acknowledges, acknowledgement (API, CLI, signed link), and communication templates.
//!
//! Every notification is a record (`Store::create_notification`) made before it is sent, so
//! that its id can go into its signed acknowledgement link; when its attempts are over, they are
//! stored with one timeline entry of kind `communication` saying what went out to whom
//! (`Store::finish_notifications`), in one transaction. What one route sends for one event is an
//! escalation: acknowledging any of its messages acknowledges it, and cancels the pending
//! escalation job (kind `escalation`, run by [`escalation::EscalationHandler`]).
//!
//! Other code notifies about an incident with [`Notifier::incident_event`].

pub mod config;
mod email;
pub mod escalation;
pub mod sign;
mod slack;
pub mod templates;
#[cfg(test)]
mod tests;
pub mod webhook;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use firebreak_core::incident::{MAX_TEXT_CHARS, MAX_TITLE_CHARS, check_text};
use firebreak_core::{
    Clock, EntryKind, Incident, NewEntry, Person, ResponseRole, Severity, Status,
};
use firebreak_store::{
    DecisionFilter, Delivery, DeliveryAttempt, NewEscalation, NewJob, NewNotification,
    Notification, NotificationFilter, Store, StoreError,
};
use jiff::{SignedDuration, Timestamp};
use serde_json::json;

pub use config::NotifyConfig;
use config::{ChannelConfig, RouteConfig};
use sign::AckKey;
use templates::Template;

/// The event of a message sent by hand from a template or a draft.
pub const COMMUNICATION: &str = "communication";
/// Who the timeline names for what firebreak sends on its own.
const ACTOR: &str = "firebreak";

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Invalid(String),
    #[error("cannot read or create the acknowledgement key: {0}")]
    Key(std::io::Error),
    #[error("cannot set up the HTTP client: {0}")]
    Http(String),
}

impl From<NotifyError> for crate::error::ApiError {
    fn from(error: NotifyError) -> crate::error::ApiError {
        match error {
            NotifyError::Store(error) => error.into(),
            NotifyError::Invalid(reason) => crate::error::ApiError::Invalid(reason),
            other => crate::error::ApiError::Internal(other.to_string()),
        }
    }
}

/// Why one attempt failed; a permanent failure (a refusal) is not retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub detail: String,
    pub permanent: bool,
}

/// One notification on its way out.
#[derive(Debug)]
pub struct Outgoing<'a> {
    pub notification: &'a Notification,
    pub incident: &'a Incident,
    /// The signed acknowledgement link, for messages that can be acknowledged.
    pub ack_url: Option<String>,
    /// E-mail recipients.
    pub to: Vec<String>,
}

/// The outcome of one HTTP attempt. The error never names the URL: chat webhook URLs are
/// secrets.
async fn http_outcome(
    response: Result<reqwest::Response, reqwest::Error>,
) -> Result<String, Failure> {
    match response {
        Ok(response) => {
            let status = response.status();
            if status.is_success() {
                return Ok(format!("HTTP {}", status.as_u16()));
            }
            let body = response.text().await.unwrap_or_default();
            let body: String = body.chars().take(200).collect();
            let permanent = status.is_client_error()
                && status != reqwest::StatusCode::REQUEST_TIMEOUT
                && status != reqwest::StatusCode::TOO_MANY_REQUESTS;
            Err(Failure { detail: format!("HTTP {}: {}", status.as_u16(), body.trim()), permanent })
        }
        Err(error) => Err(Failure { detail: error.without_url().to_string(), permanent: false }),
    }
}

/// A draft from a template, for people to review before sending.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Draft {
    pub template: String,
    pub subject: String,
    pub body: String,
}

/// A message reviewed by people, to send to channels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Communication {
    /// The template it was drafted from, if any (recorded on the timeline).
    pub template: Option<String>,
    pub subject: String,
    pub body: String,
    pub channels: Vec<String>,
}

/// Someone to reach for a role of the chain.
#[derive(Debug, Clone)]
struct Reached {
    level: u32,
    role: ResponseRole,
    person: Person,
    /// Roles passed over on the way because nobody held them or was on call for them.
    skipped: Vec<ResponseRole>,
}

/// A notification to record and send.
struct Planned<'c> {
    new: NewNotification,
    channel: &'c ChannelConfig,
    to: Vec<String>,
}

/// Sends notifications, escalates them, and takes their acknowledgements.
pub struct Notifier {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    config: NotifyConfig,
    public_url: String,
    key: AckKey,
    http: reqwest::Client,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier")
            .field("channels", &self.config.channels.len())
            .field("routes", &self.config.routes.len())
            .field("public_url", &self.public_url)
            .finish_non_exhaustive()
    }
}

impl Notifier {
    /// Reads (or creates, on the first start) the acknowledgement key in `data_dir`.
    /// `public_url` is where people reach this server, for the links in messages.
    pub fn new(
        config: NotifyConfig,
        public_url: &str,
        data_dir: &Path,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
    ) -> Result<Notifier, NotifyError> {
        config.validate().map_err(NotifyError::Invalid)?;
        let key = AckKey::load_or_create(data_dir).map_err(NotifyError::Key)?;
        let http = reqwest::Client::builder()
            // Webhook targets come from the configuration only: never follow a redirect
            // somewhere else.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|error| NotifyError::Http(error.to_string()))?;
        if config.public_url.is_none() && !config.routes.is_empty() {
            tracing::warn!(
                url = %public_url,
                "`notify.public_url` is not set: acknowledgement links point at the listen address."
            );
        }
        let public_url = config.public_url.as_deref().unwrap_or(public_url);
        let public_url = public_url.trim_end_matches('/').to_owned();
        Ok(Notifier { store, clock, config, public_url, key, http })
    }

    pub fn config(&self) -> &NotifyConfig {
        &self.config
    }

    /// The signed link that acknowledges a notification without a token.
    pub fn ack_url(&self, notification_id: i64) -> String {
        format!("{}/ack/{notification_id}?sig={}", self.public_url, self.key.sign(notification_id))
    }

    /// Whether `signature` is the one this server gave the notification's link.
    pub fn verify_ack(&self, notification_id: i64, signature: &str) -> bool {
        self.key.verify(notification_id, signature)
    }

    /// The communication templates: the built-in ones, replaced or added to by configuration.
    pub fn templates(&self) -> Vec<Template> {
        let mut all = templates::builtin();
        for custom in &self.config.templates {
            let template = Template {
                name: custom.name.clone(),
                subject: custom.subject.clone(),
                body: custom.body.clone(),
            };
            match all.iter_mut().find(|t| t.name == custom.name) {
                Some(slot) => *slot = template,
                None => all.push(template),
            }
        }
        all
    }

    /// Notifies about an event of an incident through every route that takes it: the route's
    /// channels, and the first person of its chain of roles (starting the escalation when the
    /// route has one). `kind` names the event (`incident_opened`, a playbook's step…), matched
    /// against routes' `events`; `severity` is matched against their `min_severity`; `summary`
    /// opens the message. Returns what was sent (each on the incident's timeline). Waits for
    /// the sending, retries included: call [`Notifier::spawn_incident_event`] not to.
    pub async fn incident_event(
        &self,
        incident_id: i64,
        severity: Severity,
        kind: &str,
        summary: &str,
    ) -> Result<Vec<Notification>, NotifyError> {
        let incident = self.store.get_incident(incident_id).await?;
        let mut sent = Vec::new();
        for (name, route) in self.config.named_routes() {
            if severity > route.min_severity
                || (!route.events.is_empty() && !route.events.iter().any(|e| e == kind))
            {
                continue;
            }
            sent.extend(self.dispatch(&incident, &name, route, kind, summary).await?);
        }
        Ok(sent)
    }

    /// [`Notifier::incident_event`] in the background; failures are logged.
    pub fn spawn_incident_event(
        self: &Arc<Self>,
        incident_id: i64,
        severity: Severity,
        kind: &str,
        summary: String,
    ) {
        if self.config.routes.is_empty() {
            return;
        }
        let notifier = self.clone();
        let kind = kind.to_owned();
        tokio::spawn(async move {
            if let Err(error) =
                notifier.incident_event(incident_id, severity, &kind, &summary).await
            {
                tracing::error!(%error, incident_id, event = %kind, "Could not notify about an incident event.");
            }
        });
    }

    /// One route's messages for one event.
    async fn dispatch(
        &self,
        incident: &Incident,
        route_name: &str,
        route: &RouteConfig,
        kind: &str,
        summary: &str,
    ) -> Result<Vec<Notification>, NotifyError> {
        let subject = subject_of(incident, kind);
        let body = body_of(incident, summary);
        let escalation = match route.roles.is_empty() {
            true => None,
            false => Some(
                self.store
                    .create_escalation(
                        &NewEscalation {
                            incident_id: incident.id,
                            route: route_name.to_owned(),
                            event: kind.to_owned(),
                            subject: subject.clone(),
                            body: body.clone(),
                        },
                        self.clock.now(),
                    )
                    .await?,
            ),
        };
        let escalation_id = escalation.as_ref().map(|e| e.id);
        let mut planned = Vec::new();
        for name in &route.channels {
            let Some(channel) = self.config.channel(name) else { continue };
            let to = match channel {
                ChannelConfig::Email(email) => email.to.clone(),
                _ => Vec::new(),
            };
            let recipient = if to.is_empty() { name.clone() } else { to.join(", ") };
            planned.push(Planned {
                new: NewNotification {
                    incident_id: incident.id,
                    escalation_id,
                    level: 0,
                    event: kind.to_owned(),
                    subject: subject.clone(),
                    body: body.clone(),
                    channel: name.clone(),
                    recipient,
                    person_id: None,
                    role: None,
                },
                channel,
                to,
            });
        }
        let total = chain_length(route);
        let reached = match escalation_id {
            Some(_) => self.reach(incident.id, route, 0, total).await?,
            None => None,
        };
        if let Some(reached) = &reached
            && let Some(plan) = self.person_plan(incident, route, escalation_id, kind, reached)
        {
            planned.push(with_text(plan, &subject, &body));
        }
        let notifications = self.send_planned(incident, planned, escalation_id.is_some()).await?;
        let mut summary_line = format!("Notified about {} ({route_name})", kind.replace('_', " "));
        if let Some(reached) = &reached
            && !reached.skipped.is_empty()
        {
            summary_line.push_str(&format!("; nobody to reach as {}", titles(&reached.skipped)));
        }
        let finished = self
            .finish(
                incident.id,
                &notifications,
                ACTOR,
                summary_line,
                json!({
                    "event": kind,
                    "route": route_name,
                    "escalation_id": escalation_id,
                    "subject": subject,
                    "body": body,
                }),
            )
            .await?;
        if let Some(escalation_id) = escalation_id {
            match (&reached, route.escalate_after_minutes) {
                (Some(reached), Some(minutes)) => {
                    self.schedule(escalation_id, reached.level + 1, minutes).await?;
                }
                (Some(_), None) => {}
                (None, _) => {
                    self.end(
                        escalation_id,
                        incident.id,
                        &format!(
                            "nobody holds or is on call for any role of the chain ({})",
                            titles(&route.roles)
                        ),
                    )
                    .await?;
                }
            }
        }
        Ok(finished)
    }

    /// The notification to the person reached, by e-mail.
    fn person_plan<'c>(
        &'c self,
        incident: &Incident,
        route: &RouteConfig,
        escalation_id: Option<i64>,
        kind: &str,
        reached: &Reached,
    ) -> Option<(NewNotification, &'c ChannelConfig, Vec<String>)> {
        let email = self.config.email_channel_of(route)?;
        let channel = self.config.channel(&email.name)?;
        Some((
            NewNotification {
                incident_id: incident.id,
                escalation_id,
                level: reached.level,
                event: kind.to_owned(),
                subject: String::new(),
                body: String::new(),
                channel: email.name.clone(),
                recipient: reached.person.email.clone(),
                person_id: Some(reached.person.id),
                role: Some(reached.role),
            },
            channel,
            vec![reached.person.email.clone()],
        ))
    }

    /// The first person to reach at `level` or after: whoever holds the role in the incident,
    /// else whoever is on call for it. Levels go round the chain `rounds` times.
    async fn reach(
        &self,
        incident_id: i64,
        route: &RouteConfig,
        from: u32,
        total: u32,
    ) -> Result<Option<Reached>, NotifyError> {
        let holders = self.store.incident_roles(incident_id).await?;
        let on_call = self.store.on_call().await?;
        let mut skipped = Vec::new();
        for level in from..total {
            let Some(role) = role_at(route, level) else { break };
            let person = holders
                .iter()
                .find(|assignment| assignment.role == role)
                .map(|assignment| assignment.person.clone())
                .or_else(|| on_call.iter().find(|(r, _)| *r == role).map(|(_, p)| p.clone()));
            match person {
                Some(person) => return Ok(Some(Reached { level, role, person, skipped })),
                None => {
                    if !skipped.contains(&role) {
                        skipped.push(role);
                    }
                }
            }
        }
        Ok(None)
    }

    /// Records each planned notification, then sends them all at once.
    async fn send_planned(
        &self,
        incident: &Incident,
        planned: Vec<Planned<'_>>,
        acknowledgeable: bool,
    ) -> Result<Vec<(Notification, Delivery)>, NotifyError> {
        let mut recorded = Vec::with_capacity(planned.len());
        for plan in planned {
            let notification = self.store.create_notification(&plan.new, self.clock.now()).await?;
            recorded.push((notification, plan.channel, plan.to));
        }
        let sends = recorded.iter().map(|(notification, channel, to)| async move {
            let out = Outgoing {
                notification,
                incident,
                ack_url: acknowledgeable.then(|| self.ack_url(notification.id)),
                to: to.clone(),
            };
            let attempts = self.deliver(channel, &out).await;
            Delivery { notification_id: notification.id, attempts }
        });
        let deliveries = futures_util::future::join_all(sends).await;
        Ok(recorded.into_iter().map(|(notification, _, _)| notification).zip(deliveries).collect())
    }

    /// Tries to deliver one notification: a timeout per attempt, retries with a doubling
    /// backoff, no retry after a refusal. Every attempt is returned, to be recorded.
    async fn deliver(&self, channel: &ChannelConfig, out: &Outgoing<'_>) -> Vec<DeliveryAttempt> {
        let retry = channel.retry();
        let mut attempts = Vec::new();
        let mut wait = Duration::from_millis(retry.backoff_ms);
        let tries = retry.retries.saturating_add(1);
        for attempt in 1..=tries {
            let now = self.clock.now();
            let once = async {
                match channel {
                    ChannelConfig::Slack(slack) => slack::send(slack, &self.http, out).await,
                    ChannelConfig::Webhook(hook) => webhook::send(hook, &self.http, out, now).await,
                    ChannelConfig::Email(email) => email::send(email, out).await,
                }
            };
            let limit = Duration::from_secs(retry.timeout_secs.max(1));
            let outcome = match tokio::time::timeout(limit, once).await {
                Ok(outcome) => outcome,
                Err(_) => Err(Failure {
                    detail: format!("no answer within {} s", retry.timeout_secs),
                    permanent: false,
                }),
            };
            let (ok, detail, permanent) = match outcome {
                Ok(detail) => (true, detail, false),
                Err(failure) => (false, failure.detail, failure.permanent),
            };
            if !ok {
                tracing::warn!(
                    channel = %channel.name(),
                    notification_id = out.notification.id,
                    attempt,
                    error = %detail,
                    "A notification attempt failed."
                );
            }
            attempts.push(DeliveryAttempt { attempt, at: now, ok, detail });
            if ok || permanent || attempt == tries {
                break;
            }
            tokio::time::sleep(wait).await;
            wait = wait.saturating_mul(2);
        }
        attempts
    }

    /// Stores the outcomes with the one timeline entry that says what went out.
    async fn finish(
        &self,
        incident_id: i64,
        sent: &[(Notification, Delivery)],
        actor: &str,
        mut summary: String,
        mut data: serde_json::Value,
    ) -> Result<Vec<Notification>, NotifyError> {
        let outcomes: Vec<String> = sent
            .iter()
            .map(|(n, d)| {
                let whom = match n.role {
                    Some(role) => format!("{} ({})", n.recipient, role.title()),
                    None => n.recipient.clone(),
                };
                let how = match d.sent() {
                    true => "sent".to_owned(),
                    false => format!("failed after {} attempts", d.attempts.len()),
                };
                format!("{whom} via {}: {how}", n.channel)
            })
            .collect();
        if !outcomes.is_empty() {
            summary.push_str(": ");
            summary.push_str(&outcomes.join("; "));
        }
        if let serde_json::Value::Object(map) = &mut data {
            let list: Vec<serde_json::Value> = sent
                .iter()
                .map(|(n, d)| {
                    json!({
                        "notification_id": n.id,
                        "channel": n.channel,
                        "recipient": n.recipient,
                        "role": n.role,
                        "level": n.level,
                        "sent": d.sent(),
                        "attempts": d.attempts,
                    })
                })
                .collect();
            map.insert("notifications".into(), json!(list));
        }
        let now = self.clock.now();
        let entry = NewEntry {
            kind: EntryKind::Communication,
            occurred_at: now,
            actor: actor.to_owned(),
            summary: clip(&summary),
            data,
        };
        let deliveries: Vec<Delivery> = sent.iter().map(|(_, d)| d.clone()).collect();
        Ok(self.store.finish_notifications(incident_id, &deliveries, entry, now).await?)
    }

    async fn schedule(
        &self,
        escalation_id: i64,
        level: u32,
        minutes: u32,
    ) -> Result<(), NotifyError> {
        let now = self.clock.now();
        let due_at = now
            .saturating_add(SignedDuration::from_mins(i64::from(minutes)))
            .unwrap_or(Timestamp::MAX);
        self.store
            .schedule_job(
                &NewJob {
                    kind: escalation::KIND.into(),
                    due_at,
                    payload: json!({ "escalation_id": escalation_id, "level": level }),
                    dedupe_key: Some(escalation::job_key(escalation_id, level)),
                },
                now,
            )
            .await?;
        Ok(())
    }

    async fn end(
        &self,
        escalation_id: i64,
        incident_id: i64,
        reason: &str,
    ) -> Result<(), NotifyError> {
        let now = self.clock.now();
        let entry = NewEntry {
            kind: EntryKind::Communication,
            occurred_at: now,
            actor: ACTOR.into(),
            summary: clip(&format!("Escalation {escalation_id} stopped: {reason}")),
            data: json!({ "escalation_id": escalation_id, "stopped": reason }),
        };
        match self.store.end_escalation(escalation_id, reason, entry, now).await {
            Ok(_) | Err(StoreError::Conflict(_)) => Ok(()),
            Err(error) => {
                tracing::warn!(%error, incident_id, escalation_id, "Could not stop an escalation.");
                Err(error.into())
            }
        }
    }

    /// The escalation job at `level`: unless someone acknowledged, or the incident is closed,
    /// the next person in the chain is e-mailed and the next step scheduled. Idempotent: a
    /// step whose message was already sent (a run interrupted by a crash) is not sent again.
    pub async fn escalate(&self, escalation_id: i64, level: u32) -> Result<(), NotifyError> {
        let escalation = self.store.get_escalation(escalation_id).await?;
        if !escalation.is_live() {
            return Ok(());
        }
        let incident_id = escalation.incident_id;
        let Some((_, route)) =
            self.config.named_routes().find(|(name, _)| *name == escalation.route)
        else {
            return self.end(escalation_id, incident_id, "its route is no longer configured").await;
        };
        let incident = self.store.get_incident(incident_id).await?;
        if incident.status == Status::Closed {
            return self.end(escalation_id, incident_id, "the incident is closed").await;
        }
        let Some(minutes) = route.escalate_after_minutes else {
            return self.end(escalation_id, incident_id, "its route no longer escalates").await;
        };
        let filter = NotificationFilter {
            escalation_id: Some(escalation_id),
            limit: Some(1000),
            ..NotificationFilter::default()
        };
        let sent = self.store.list_notifications(&filter).await?;
        if let Some(done) = sent.iter().map(|n| n.level).max()
            && done >= level
        {
            // This step ran before (the job was interrupted after sending): only make sure
            // the next one is scheduled.
            return self.schedule(escalation_id, done + 1, minutes).await;
        }
        let total = chain_length(route);
        let Some(reached) = self.reach(incident_id, route, level, total).await? else {
            let reason = format!(
                "nobody acknowledged after {} round{} through the chain ({})",
                route.rounds,
                if route.rounds == 1 { "" } else { "s" },
                titles(&route.roles)
            );
            return self.end(escalation_id, incident_id, &reason).await;
        };
        let Some(plan) =
            self.person_plan(&incident, route, Some(escalation_id), &escalation.event, &reached)
        else {
            return self.end(escalation_id, incident_id, "its e-mail channel is gone").await;
        };
        let subject = format!("[Escalated] {}", escalation.subject);
        let body = format!(
            "Not acknowledged within {minutes} minutes: escalated to you as {}.\n\n{}",
            reached.role.title(),
            escalation.body
        );
        let planned = vec![with_text(plan, &subject, &body)];
        let notifications = self.send_planned(&incident, planned, true).await?;
        let mut summary = format!(
            "Escalated ({}, step {}): not acknowledged within {minutes} minutes",
            escalation.route,
            reached.level + 1
        );
        if !reached.skipped.is_empty() {
            summary.push_str(&format!("; nobody to reach as {}", titles(&reached.skipped)));
        }
        self.finish(
            incident_id,
            &notifications,
            ACTOR,
            summary,
            json!({
                "event": escalation.event,
                "route": escalation.route,
                "escalation_id": escalation_id,
                "level": reached.level,
                "subject": subject,
                "body": body,
            }),
        )
        .await?;
        self.schedule(escalation_id, reached.level + 1, minutes).await
    }

    /// Acknowledges a notification (and its escalation), on the timeline, and cancels the
    /// escalation's pending step. `via` says how: `api`, `link`.
    pub async fn acknowledge(
        &self,
        id: i64,
        actor: &str,
        via: &str,
    ) -> Result<Notification, NotifyError> {
        let notification = self.store.get_notification(id).await?;
        let now = self.clock.now();
        let mut summary = format!(
            "{actor} acknowledged notification {id} ({} via {}) through the {via}",
            notification.recipient, notification.channel
        );
        if let Some(escalation_id) = notification.escalation_id {
            summary.push_str(&format!("; escalation {escalation_id} stops"));
        }
        let entry = NewEntry {
            kind: EntryKind::Communication,
            occurred_at: now,
            actor: actor.to_owned(),
            summary: clip(&summary),
            data: json!({
                "notification_id": id,
                "escalation_id": notification.escalation_id,
                "acknowledged_by": actor,
                "via": via,
            }),
        };
        let acknowledged = self.store.acknowledge_notification(id, actor, now, entry).await?;
        if let Some(escalation_id) = acknowledged.escalation_id {
            let filter = NotificationFilter {
                escalation_id: Some(escalation_id),
                limit: Some(1000),
                ..NotificationFilter::default()
            };
            let sent = self.store.list_notifications(&filter).await?;
            let next = sent.iter().map(|n| n.level).max().unwrap_or(0) + 1;
            self.store.cancel_job(&escalation::job_key(escalation_id, next), now).await?;
        }
        tracing::info!(notification_id = id, actor = %actor, via = %via, "A notification was acknowledged.");
        Ok(acknowledged)
    }

    /// The values templates are filled with, from the incident as it stands.
    pub async fn values(
        &self,
        incident_id: i64,
    ) -> Result<BTreeMap<&'static str, String>, NotifyError> {
        let incident = self.store.get_incident(incident_id).await?;
        let now = self.clock.now();
        let tasks = self.store.list_tasks(incident_id).await?;
        let open: Vec<String> = tasks
            .iter()
            .filter(|task| task.status.is_open())
            .map(|task| {
                let mut line = format!("- {} ({}", task.title, task.status.as_str());
                if let Some(role) = task.role {
                    line.push_str(&format!(", {}", role.title()));
                }
                if let Some(due) = task.due_at {
                    line.push_str(&format!(", due {}", minutes(due)));
                }
                line.push(')');
                line
            })
            .collect();
        let decisions = self
            .store
            .list_decisions(&DecisionFilter {
                in_force_at: Some(now),
                incident_id: Some(incident_id),
                ..DecisionFilter::default()
            })
            .await?;
        let decision_lines: Vec<String> = decisions
            .iter()
            .map(|d| {
                format!(
                    "- {} {} until {} ({} term): {}",
                    d.kind.as_str(),
                    d.target,
                    minutes(d.expires_at),
                    d.term.as_str(),
                    d.reason
                )
            })
            .collect();
        let commander = self
            .store
            .incident_roles(incident_id)
            .await?
            .into_iter()
            .find(|assignment| assignment.role == ResponseRole::IncidentCommander)
            .map(|assignment| assignment.person.name)
            .unwrap_or_else(|| "not assigned".into());
        let or_none = |lines: Vec<String>| match lines.is_empty() {
            true => "- none".to_owned(),
            false => lines.join("\n"),
        };
        let summary = match incident.summary.trim().is_empty() {
            true => "(no summary yet)".to_owned(),
            false => incident.summary.clone(),
        };
        Ok(BTreeMap::from([
            ("id", incident.id.to_string()),
            ("title", incident.title.clone()),
            ("summary", summary),
            ("severity", incident.severity.as_str().to_owned()),
            ("severity_definition", incident.severity.definition().to_owned()),
            ("status", incident.status.as_str().replace('_', " ")),
            ("opened_at", minutes(incident.created_at)),
            ("updated_at", minutes(incident.updated_at)),
            (
                "contained_at",
                incident.milestones.containment.map(minutes).unwrap_or_else(|| "not yet".into()),
            ),
            ("now", minutes(now)),
            ("commander", commander),
            ("open_task_count", open.len().to_string()),
            ("open_tasks", or_none(open)),
            ("decision_count", decisions.len().to_string()),
            ("decisions", or_none(decision_lines)),
        ]))
    }

    /// A draft of `template` filled from the incident, for people to review.
    pub async fn draft(&self, incident_id: i64, template: &str) -> Result<Draft, NotifyError> {
        let all = self.templates();
        let Some(chosen) = all.iter().find(|t| t.name == template) else {
            let names: Vec<&str> = all.iter().map(|t| t.name.as_str()).collect();
            return Err(NotifyError::Invalid(format!(
                "no template is named `{template}`; there are: {}",
                names.join(", ")
            )));
        };
        let values = self.values(incident_id).await?;
        Ok(Draft {
            template: chosen.name.clone(),
            subject: templates::render(&chosen.subject, &values).map_err(NotifyError::Invalid)?,
            body: templates::render(&chosen.body, &values).map_err(NotifyError::Invalid)?,
        })
    }

    /// Sends a reviewed message to channels, as it is; the sent copy goes on the timeline.
    pub async fn send_communication(
        &self,
        incident_id: i64,
        message: &Communication,
        actor: &str,
    ) -> Result<Vec<Notification>, NotifyError> {
        check_text("subject", &message.subject, 1, MAX_TITLE_CHARS)
            .map_err(NotifyError::Invalid)?;
        check_text("body", &message.body, 1, MAX_TEXT_CHARS).map_err(NotifyError::Invalid)?;
        if message.channels.is_empty() {
            return Err(NotifyError::Invalid("`channels`: name at least one channel".into()));
        }
        let incident = self.store.get_incident(incident_id).await?;
        let mut planned = Vec::new();
        for name in &message.channels {
            let channel = self.config.channel(name).ok_or_else(|| {
                let names: Vec<&str> = self.config.channels.iter().map(|c| c.name()).collect();
                NotifyError::Invalid(format!(
                    "`channels`: no channel is named `{name}`; configured: {}",
                    if names.is_empty() { "none".to_owned() } else { names.join(", ") }
                ))
            })?;
            let to = match channel {
                ChannelConfig::Email(email) if email.to.is_empty() => {
                    return Err(NotifyError::Invalid(format!(
                        "`channels`: the e-mail channel `{name}` has no `to` addresses"
                    )));
                }
                ChannelConfig::Email(email) => email.to.clone(),
                _ => Vec::new(),
            };
            let recipient = if to.is_empty() { name.clone() } else { to.join(", ") };
            planned.push(Planned {
                new: NewNotification {
                    incident_id,
                    escalation_id: None,
                    level: 0,
                    event: COMMUNICATION.into(),
                    subject: message.subject.clone(),
                    body: message.body.clone(),
                    channel: name.clone(),
                    recipient,
                    person_id: None,
                    role: None,
                },
                channel,
                to,
            });
        }
        let sent = self.send_planned(&incident, planned, false).await?;
        let summary = format!(
            "Communication sent ({}): {}",
            message.template.as_deref().unwrap_or("written by hand"),
            message.subject
        );
        self.finish(
            incident_id,
            &sent,
            actor,
            summary,
            json!({
                "event": COMMUNICATION,
                "template": message.template,
                "subject": message.subject,
                "body": message.body,
                "channels": message.channels,
            }),
        )
        .await
    }
}

/// A playbook's `notify` step: the people holding (or on call for) the roles are e-mailed,
/// through the first e-mail channel configured, with an acknowledgement link; no escalation
/// (the playbook decides what comes next).
#[async_trait::async_trait]
impl crate::response::IncidentNotifier for Notifier {
    async fn notify(
        &self,
        incident: &Incident,
        roles: &[ResponseRole],
        message: &str,
    ) -> Result<String, String> {
        // The routes that take playbook notices (chat, webhooks) get the message; the people
        // holding the step's roles get it by e-mail, when there is an e-mail channel.
        let mut said = Vec::new();
        let routed = self.incident_event(incident.id, incident.severity, "playbook", message).await;
        match routed {
            Ok(sent) if !sent.is_empty() => {
                let channels: Vec<&str> = sent.iter().map(|n| n.channel.as_str()).collect();
                said.push(format!("sent through {}", channels.join(", ")));
            }
            Ok(_) => {}
            Err(error) => said.push(format!("the routes failed: {error}")),
        }
        if self.config.channels.iter().any(|c| matches!(c, ChannelConfig::Email(_))) {
            match self.notify_roles(incident, roles, message).await {
                Ok(words) => said.push(words),
                Err(error) => said.push(error.to_string()),
            }
        }
        if said.is_empty() {
            return Err(
                "no route takes playbook notices and no e-mail channel is configured".into()
            );
        }
        Ok(said.join("; "))
    }
}

impl Notifier {
    /// E-mails the people holding (or on call for) `roles` about the incident; returns what
    /// was sent, in words. On the timeline like every notification.
    pub async fn notify_roles(
        &self,
        incident: &Incident,
        roles: &[ResponseRole],
        message: &str,
    ) -> Result<String, NotifyError> {
        let Some(channel) =
            self.config.channels.iter().find(|c| matches!(c, ChannelConfig::Email(_)))
        else {
            return Err(NotifyError::Invalid("no e-mail channel is configured".into()));
        };
        let holders = self.store.incident_roles(incident.id).await?;
        let on_call = self.store.on_call().await?;
        let subject = subject_of(incident, "playbook");
        let body = body_of(incident, message);
        let mut planned = Vec::new();
        let mut nobody = Vec::new();
        for &role in roles {
            let person = holders
                .iter()
                .find(|assignment| assignment.role == role)
                .map(|assignment| assignment.person.clone())
                .or_else(|| on_call.iter().find(|(r, _)| *r == role).map(|(_, p)| p.clone()));
            let Some(person) = person else {
                nobody.push(role);
                continue;
            };
            planned.push(Planned {
                new: NewNotification {
                    incident_id: incident.id,
                    escalation_id: None,
                    level: 0,
                    event: "playbook".into(),
                    subject: subject.clone(),
                    body: body.clone(),
                    channel: channel.name().to_owned(),
                    recipient: person.email.clone(),
                    person_id: Some(person.id),
                    role: Some(role),
                },
                channel,
                to: vec![person.email],
            });
        }
        let sent = self.send_planned(incident, planned, true).await?;
        let mut words: Vec<String> = sent
            .iter()
            .map(|(n, d)| {
                let role = n.role.map(|r| r.title()).unwrap_or_default();
                let how = if d.sent() { "sent" } else { "failed" };
                format!("{} ({role}) {how}", n.recipient)
            })
            .collect();
        if !nobody.is_empty() {
            words.push(format!("nobody to reach as {}", titles(&nobody)));
        }
        if !sent.is_empty() {
            let data = json!({ "event": "playbook", "subject": subject, "body": body });
            self.finish(incident.id, &sent, ACTOR, "Notified for a playbook".into(), data).await?;
        }
        Ok(words.join("; "))
    }
}

/// A person's notification, with its text.
fn with_text<'c>(
    (mut new, channel, to): (NewNotification, &'c ChannelConfig, Vec<String>),
    subject: &str,
    body: &str,
) -> Planned<'c> {
    new.subject = subject.to_owned();
    new.body = body.to_owned();
    Planned { new, channel, to }
}

fn chain_length(route: &RouteConfig) -> u32 {
    u32::try_from(route.roles.len()).unwrap_or(u32::MAX).saturating_mul(route.rounds)
}

fn role_at(route: &RouteConfig, level: u32) -> Option<ResponseRole> {
    let len = route.roles.len();
    if len == 0 {
        return None;
    }
    route.roles.get(usize::try_from(level).ok()? % len).copied()
}

fn titles(roles: &[ResponseRole]) -> String {
    roles.iter().map(|role| role.title()).collect::<Vec<_>>().join(", ")
}

fn subject_of(incident: &Incident, kind: &str) -> String {
    let drill = if incident.drill { "[DRILL] " } else { "" };
    let subject = format!(
        "{drill}[{}] Incident {}: {} — {}",
        incident.severity,
        incident.id,
        incident.title,
        kind.replace('_', " ")
    );
    subject.chars().take(MAX_TITLE_CHARS).collect()
}

fn body_of(incident: &Incident, summary: &str) -> String {
    let mut body = String::new();
    if !summary.trim().is_empty() {
        body.push_str(summary.trim());
        body.push_str("\n\n");
    }
    body.push_str(&format!(
        "Incident {}: {}\nSeverity: {} — {}\nStatus: {}\nOpened: {}\n",
        incident.id,
        incident.title,
        incident.severity,
        incident.severity.definition(),
        incident.status.as_str().replace('_', " "),
        minutes(incident.created_at)
    ));
    if incident.drill {
        body.push_str("This is a drill.\n");
    }
    body
}

/// A time for people: UTC, to the minute.
fn minutes(at: Timestamp) -> String {
    at.strftime("%Y-%m-%d %H:%M UTC").to_string()
}

/// Timeline summaries stay within the length people read.
fn clip(text: &str) -> String {
    text.chars().take(2000).collect()
}
