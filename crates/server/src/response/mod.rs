//! Response: containment decisions and the playbooks that take them.
//!
//! A decision (ban an address or range, lock an account, revoke its sessions, isolate a host)
//! is checked against the never-ban list, lengthened for repeat offenders, stored with its
//! timeline entry, put in the in-memory index that the check endpoint reads, applied with
//! nftables when configured, and given an expiry job in the scheduler. Bouncers pull it through
//! the CrowdSec-compatible API (`api::crowdsec`). Rolling back or extending goes the same way.
//!
//! Playbooks run when the incident policy opens an incident from an alert (all their steps) or
//! adds an alert to an incident opened earlier (only the evidence and containment steps
//! not behind an approval, for the new alert's address or account: a wave of addresses is
//! banned address by address, while tasks, notices and approvals happen once). An approval
//! step pauses the run: a job waits for its timeout, and approving (or the timeout with
//! `on_timeout: proceed`) runs the steps after it.

pub mod actions;
pub mod index;
pub mod nft;

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, PoisonError, RwLock};

use async_trait::async_trait;
use firebreak_core::{
    Alert, ChecklistItem, Clock, Decision, DecisionKind, EntryKind, Incident, NewEntry,
    ResponseRole, Task, TaskStatus, Term,
};
use firebreak_respond::playbook::{Action, OnTimeout};
use firebreak_respond::{BanPolicy, Playbook};
use firebreak_store::{
    DecisionChange, DecisionFilter, EventQuery, IncidentChange, Job, NewJob, Store, StoreError,
};
use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use crate::api::evidence::{EventsCapture, EvidenceSink, capture_events};
use crate::config::ResponseConfig;
use crate::scheduler::JobHandler;
use index::ActiveIndex;
use nft::Nftables;

/// Tells people about an incident (the notification channels implement it).
#[async_trait]
pub trait IncidentNotifier: Send + Sync {
    /// Notifies the people holding (or on call for) `roles`; returns what was sent, in words.
    async fn notify(
        &self,
        incident: &Incident,
        roles: &[ResponseRole],
        message: &str,
    ) -> Result<String, String>;
}

/// A containment decision asked for by a person or a playbook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionRequest {
    pub kind: DecisionKind,
    pub target: String,
    /// Default: the policy's base ban, lengthened for repeat offenders.
    pub duration: Option<SignedDuration>,
    pub reason: String,
    pub incident_id: Option<i64>,
    pub term: Term,
}

#[derive(Debug, thiserror::Error)]
pub enum DecideError {
    /// The policy refuses it (a never-ban range, a target that is not an address).
    #[error("refused: {0}")]
    Refused(String),
    /// A decision of the same kind on the same target is in force and lasts at least as long.
    #[error("{} {} is already in force until {} (decision {})", .0.kind.as_str(), .0.target, .0.expires_at, .0.id)]
    AlreadyInForce(Box<Decision>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub struct Responder {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    policy: BanPolicy,
    playbooks: Vec<Playbook>,
    run_playbooks: bool,
    pub index: ActiveIndex,
    nft: Option<Nftables>,
    evidence: EvidenceSink,
    notifier: RwLock<Option<Arc<dyn IncidentNotifier>>>,
    /// The app's admin API, told to enforce and lift decisions.
    actions: Arc<Vec<(actions::HttpActionConfig, reqwest::Method)>>,
    http: reqwest::Client,
}

impl std::fmt::Debug for Responder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Responder")
            .field("playbooks", &self.playbooks.len())
            .field("active", &self.index.len())
            .field("nftables", &self.nft.as_ref().map(Nftables::table))
            .finish_non_exhaustive()
    }
}

/// Job kinds this module runs.
pub const DECISION_EXPIRY: &str = "decision_expiry";
pub const APPROVAL_TIMEOUT: &str = "approval_timeout";

/// Loads the shipped playbooks (unless left out) and every `*.yml`/`*.yaml` in `dirs`,
/// checking rule names with `rule_known`. Two playbooks with one id are an error.
pub fn load_playbooks(
    builtin: bool,
    dirs: &[PathBuf],
    rule_known: &dyn Fn(&str) -> bool,
) -> Result<Vec<Playbook>, String> {
    let mut files: Vec<(String, String)> = Vec::new();
    if builtin {
        files.extend(
            firebreak_respond::playbook::BUILTIN
                .iter()
                .map(|(name, text)| (format!("builtin/{name}"), (*text).to_owned())),
        );
    }
    for dir in dirs {
        files.extend(crate::read_yaml_files(dir, "playbooks")?);
    }
    let mut playbooks: Vec<Playbook> = Vec::new();
    let mut errors = Vec::new();
    for (name, text) in &files {
        match Playbook::parse(name, text, rule_known) {
            Ok(playbook) => {
                if let Some(other) = playbooks.iter().find(|p| p.id == playbook.id) {
                    errors.push(format!("{name}: id `{}` is also {}", playbook.id, other.file));
                } else {
                    playbooks.push(playbook);
                }
            }
            Err(error) => errors.push(error.to_string()),
        }
    }
    if errors.is_empty() { Ok(playbooks) } else { Err(errors.join("\n")) }
}

/// The never-ban list from configuration (and the detection allowlist's networks).
pub fn ban_policy(config: &ResponseConfig, allowed: &[ipnet::IpNet]) -> Result<BanPolicy, String> {
    let mut never = allowed.to_vec();
    for entry in &config.never_ban {
        let net = entry
            .parse::<ipnet::IpNet>()
            .or_else(|_| entry.parse::<IpAddr>().map(ipnet::IpNet::from))
            .map_err(|_| {
                format!("[response] never_ban: `{entry}` is neither an address nor a CIDR range")
            })?;
        never.push(net);
    }
    if config.ipv6_prefix == 0 || config.ipv6_prefix > 128 {
        return Err(format!("[response] ipv6_prefix: {} is not 1 to 128", config.ipv6_prefix));
    }
    Ok(BanPolicy {
        never,
        base_secs: config.ban_secs.max(1),
        repeat_multiplier: f64::from(config.repeat_multiplier.max(1)),
        max_secs: config.max_ban_secs.max(1),
        ipv6_prefix: config.ipv6_prefix,
    })
}

impl Responder {
    pub async fn new(
        config: &ResponseConfig,
        policy: BanPolicy,
        playbooks: Vec<Playbook>,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        evidence: EvidenceSink,
    ) -> Result<Responder, String> {
        let nft = if config.nftables.enabled {
            let nft = Nftables::new(&config.nftables)?;
            nft.setup().await.map_err(|error| format!("nftables: {error}"))?;
            Some(nft)
        } else {
            None
        };
        let mut checked = Vec::new();
        for action in &config.actions {
            checked.push((action.clone(), actions::check(action)?));
        }
        let http = reqwest::Client::builder()
            // Targets come from the configuration only: never follow a redirect elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|error| format!("cannot set up the HTTP client: {error}"))?;
        let responder = Responder {
            actions: Arc::new(checked),
            http,
            store,
            clock,
            policy,
            playbooks,
            run_playbooks: config.playbooks_enabled,
            index: ActiveIndex::default(),
            nft,
            evidence,
            notifier: RwLock::new(None),
        };
        // Decisions in force come back into the index, and into nftables (a reboot empties it).
        let now = responder.clock.now();
        let filter = DecisionFilter {
            in_force_at: Some(now),
            limit: Some(100_000),
            ..DecisionFilter::default()
        };
        let active = responder.store.list_decisions(&filter).await.map_err(|e| e.to_string())?;
        for decision in &active {
            responder.index.insert(decision);
        }
        if let Some(nft) = &responder.nft {
            let bans: Vec<Decision> =
                active.iter().filter(|d| d.kind == DecisionKind::Ban).cloned().collect();
            if let Err(error) = nft.add_all(&bans, now).await {
                tracing::warn!(%error, "Could not restore the bans in force in nftables.");
            }
        }
        Ok(responder)
    }

    pub fn set_notifier(&self, notifier: Arc<dyn IncidentNotifier>) {
        *self.notifier.write().unwrap_or_else(PoisonError::into_inner) = Some(notifier);
    }

    pub fn playbooks(&self) -> &[Playbook] {
        &self.playbooks
    }

    pub fn policy(&self) -> &BanPolicy {
        &self.policy
    }

    /// Takes a containment decision: checked, lengthened for repeat offenders, stored with its
    /// timeline entry, indexed, enforced, and given its expiry job.
    pub async fn decide(
        &self,
        request: DecisionRequest,
        actor: &str,
    ) -> Result<Decision, DecideError> {
        let target = match request.kind {
            DecisionKind::Ban => self
                .policy
                .check(&request.target)
                .map_err(|refusal| DecideError::Refused(refusal.to_string()))?,
            _ => {
                let target = request.target.trim();
                if target.is_empty() || target.len() > 256 || target.chars().any(char::is_control) {
                    return Err(DecideError::Refused(format!(
                        "`{}` is not a {}",
                        request.target,
                        request.kind.target_noun()
                    )));
                }
                target.to_owned()
            }
        };
        let now = self.clock.now();
        // One decision per target at a time: a second incident about the same address (two
        // rules firing on one wave) does not stack a second ban; a longer one extends it.
        let in_force = DecisionFilter {
            in_force_at: Some(now),
            kind: Some(request.kind),
            target: Some(target.clone()),
            limit: Some(1),
            ..DecisionFilter::default()
        };
        let existing = self.store.list_decisions(&in_force).await?.into_iter().next();
        let count = self.store.count_decisions(request.kind, &target).await?;
        let earlier = count.saturating_sub(u32::from(existing.is_some()));
        let requested = request.duration.map(|d| u64::try_from(d.as_secs()).unwrap_or(1));
        let secs = self.policy.duration_secs(requested, earlier);
        let expires_at =
            now + SignedDuration::from_secs(i64::try_from(secs).unwrap_or(i64::MAX / 4));
        if let Some(existing) = existing {
            if existing.expires_at >= expires_at {
                return Err(DecideError::AlreadyInForce(Box::new(existing)));
            }
            let reason = format!("extended by a new decision: {}", request.reason);
            return Ok(self.extend(existing.id, expires_at, &reason, actor).await?);
        }
        let decision = Decision {
            id: 0,
            kind: request.kind,
            target: target.clone(),
            reason: request.reason.clone(),
            incident_id: request.incident_id,
            decided_by: actor.to_owned(),
            term: request.term,
            offence: earlier,
            created_at: now,
            expires_at,
            rolled_back_at: None,
            rolled_back_by: None,
        };
        let repeat = if earlier > 0 {
            format!(" (repeat offender: {} earlier, so {}h)", earlier, secs / 3600)
        } else {
            String::new()
        };
        let entry = NewEntry {
            kind: EntryKind::Decision,
            occurred_at: now,
            actor: actor.to_owned(),
            summary: format!(
                "Decision: {} {target} until {expires_at} ({} term){repeat}: {}",
                request.kind.as_str(),
                request.term.as_str(),
                request.reason
            ),
            data: json!({
                "kind": request.kind,
                "target": target,
                "expires_at": expires_at,
                "term": request.term,
                "offence": earlier,
                "reason": request.reason,
            }),
        };
        let stored = self.store.create_decision(&decision, Some(entry)).await?;
        self.index.insert(&stored);
        self.enforce(&stored).await;
        self.call_app(&stored, actions::ActionEvent::Take);
        let job = NewJob {
            kind: DECISION_EXPIRY.into(),
            due_at: stored.expires_at,
            payload: json!({ "decision_id": stored.id }),
            dedupe_key: Some(format!("decision-expiry:{}:{}", stored.id, stored.expires_at)),
        };
        self.store.schedule_job(&job, now).await?;
        tracing::info!(decision = stored.id, kind = stored.kind.as_str(), target = %stored.target, until = %stored.expires_at, "Containment decision taken.");
        Ok(stored)
    }

    /// Applies a ban with nftables, when configured, and records that it was enforced.
    async fn enforce(&self, decision: &Decision) {
        let (Some(nft), DecisionKind::Ban) = (&self.nft, decision.kind) else { return };
        let now = self.clock.now();
        let outcome = nft.add(decision, now).await;
        let summary = match &outcome {
            Ok(()) => format!(
                "Enforced: {} added to the nftables table `{}` until {}",
                decision.target,
                nft.table(),
                decision.expires_at
            ),
            Err(error) => {
                format!("Enforcement with nftables failed for {}: {error}", decision.target)
            }
        };
        if let Err(error) = &outcome {
            tracing::error!(%error, decision = decision.id, "nftables enforcement failed.");
        }
        self.record(
            decision.incident_id,
            "firebreak",
            summary,
            json!({
                "decision_id": decision.id,
                "enforcer": "nftables",
                "ok": outcome.is_ok(),
            }),
        )
        .await;
    }

    /// Calls the app's admin API for this decision (every configured action of its kind and
    /// event), in the background so that detection never waits on the app; each outcome goes
    /// on the incident's timeline.
    fn call_app(&self, decision: &Decision, on: actions::ActionEvent) {
        if actions::matching(&self.actions, decision.kind, on).next().is_none() {
            return;
        }
        let (store, clock, http, all) =
            (self.store.clone(), self.clock.clone(), self.http.clone(), self.actions.clone());
        let decision = decision.clone();
        tokio::spawn(async move {
            for (action, method) in actions::matching(&all, decision.kind, on) {
                let outcome = actions::run(&http, action, method, &decision, clock.now()).await;
                let when = match on {
                    actions::ActionEvent::Take => "take",
                    actions::ActionEvent::Lift => "lift",
                };
                let summary = format!(
                    "App action `{}` ({when} {} {}): {} after {} attempt{}",
                    action.name,
                    decision.kind.as_str(),
                    decision.target,
                    if outcome.ok { "done" } else { "FAILED" },
                    outcome.attempts,
                    if outcome.attempts == 1 { "" } else { "s" }
                );
                if !outcome.ok {
                    tracing::error!(action = %action.name, decision = decision.id, answer = %outcome.answer, "An app action failed.");
                }
                let Some(incident_id) = decision.incident_id else { continue };
                let now = clock.now();
                let entry = NewEntry {
                    kind: EntryKind::Action,
                    occurred_at: now,
                    actor: "firebreak".into(),
                    summary,
                    data: json!({
                        "decision_id": decision.id,
                        "enforcer": "http",
                        "action": action.name,
                        "on": when,
                        "ok": outcome.ok,
                        "attempts": outcome.attempts,
                        "answer": outcome.answer,
                    }),
                };
                if let Err(error) = store.append_entry(incident_id, entry, now).await {
                    tracing::error!(%error, "Could not record an app action on the timeline.");
                }
            }
        });
    }

    /// An `action` entry on the incident's timeline, if there is an incident; a failure to
    /// write it is logged (the action itself has happened).
    async fn record(
        &self,
        incident_id: Option<i64>,
        actor: &str,
        summary: String,
        data: serde_json::Value,
    ) {
        if let Some(incident_id) = incident_id {
            self.record_kind(incident_id, EntryKind::Action, actor, summary, data).await;
        }
    }

    pub async fn roll_back(
        &self,
        id: i64,
        reason: &str,
        actor: &str,
    ) -> Result<Decision, StoreError> {
        let decision = self
            .store
            .change_decision(id, DecisionChange::RollBack, reason, actor, self.clock.now())
            .await?;
        self.index.remove(&decision);
        self.call_app(&decision, actions::ActionEvent::Lift);
        if let (Some(nft), DecisionKind::Ban) = (&self.nft, decision.kind) {
            let outcome = nft.remove(&decision).await;
            let summary = match &outcome {
                Ok(()) => format!("Rolled back in nftables: {} removed", decision.target),
                Err(error) => {
                    format!("Rolling back {} in nftables failed: {error}", decision.target)
                }
            };
            self.record(
                decision.incident_id,
                "firebreak",
                summary,
                json!({ "decision_id": id, "enforcer": "nftables", "ok": outcome.is_ok() }),
            )
            .await;
        }
        Ok(decision)
    }

    pub async fn extend(
        &self,
        id: i64,
        until: Timestamp,
        reason: &str,
        actor: &str,
    ) -> Result<Decision, StoreError> {
        let now = self.clock.now();
        let change = DecisionChange::Extend { until };
        let decision = self.store.change_decision(id, change, reason, actor, now).await?;
        self.index.insert(&decision);
        self.enforce(&decision).await;
        self.call_app(&decision, actions::ActionEvent::Take);
        let job = NewJob {
            kind: DECISION_EXPIRY.into(),
            due_at: until,
            payload: json!({ "decision_id": id }),
            dedupe_key: Some(format!("decision-expiry:{id}:{until}")),
        };
        self.store.schedule_job(&job, now).await?;
        Ok(decision)
    }

    /// The expiry job: the decision leaves the index (and nftables, where its element has
    /// timed out by itself) and its end goes on the timeline. An extended or rolled-back
    /// decision's earlier expiry job finds nothing to do.
    async fn expire(&self, job: &Job) -> Result<(), String> {
        let id = job.payload["decision_id"].as_i64().ok_or("the job names no decision")?;
        let decision = self.store.get_decision(id).await.map_err(|e| e.to_string())?;
        let now = self.clock.now();
        if decision.rolled_back_at.is_some() || decision.expires_at > now {
            return Ok(());
        }
        self.index.remove(&decision);
        self.call_app(&decision, actions::ActionEvent::Lift);
        if let (Some(nft), DecisionKind::Ban) = (&self.nft, decision.kind) {
            nft.remove(&decision).await?;
        }
        let summary = format!(
            "Decision {id} expired: {} {} is no longer in force",
            decision.kind.as_str(),
            decision.target
        );
        if let Some(incident_id) = decision.incident_id {
            let entry = NewEntry {
                kind: EntryKind::Decision,
                occurred_at: decision.expires_at,
                actor: "firebreak".into(),
                summary,
                data: json!({ "decision_id": id, "change": "expired" }),
            };
            self.store.append_entry(incident_id, entry, now).await.map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// Called when the incident policy puts `alert` into `incident`: runs the matching
    /// playbooks — all their steps when the alert `opened` the incident; the evidence and
    /// containment steps when it joins one. Alerts join only incidents of their own rule, so
    /// the playbooks that match a joining alert are those that ran when the incident opened.
    pub async fn on_alert(&self, incident: &Incident, alert: &Alert, opened: bool) {
        if !self.run_playbooks {
            return;
        }
        for playbook in self
            .playbooks
            .iter()
            .filter(|p| p.applies(&alert.rule_id, &alert.tags, incident.severity))
        {
            self.run(incident, playbook, Some(alert), 0, !opened, "firebreak").await;
        }
    }

    /// Applies a playbook by hand (mid-way through an incident, or again), with the
    /// incident's latest alert as its subject.
    pub async fn apply(
        &self,
        incident_id: i64,
        playbook_id: &str,
        actor: &str,
    ) -> Result<(), StoreError> {
        let incident = self.store.get_incident(incident_id).await?;
        let playbook = self
            .playbooks
            .iter()
            .find(|p| p.id == playbook_id)
            .ok_or_else(|| StoreError::NotFound(format!("playbook `{playbook_id}`")))?;
        let filter = firebreak_store::AlertFilter {
            incident_id: Some(incident_id),
            limit: Some(1),
            ..Default::default()
        };
        let alert = self.store.list_alerts(&filter).await?.into_iter().next();
        self.run(&incident, playbook, alert.as_ref(), 0, false, actor).await;
        Ok(())
    }

    /// Runs `playbook`'s steps from `from`. `joining`: only the evidence and containment steps
    /// before the first approval (an alert joining an incident opened earlier).
    async fn run(
        &self,
        incident: &Incident,
        playbook: &Playbook,
        alert: Option<&Alert>,
        from: usize,
        joining: bool,
        actor: &str,
    ) {
        let who = format!("playbook:{}", playbook.id);
        if from == 0 {
            let summary = if joining {
                format!(
                    "Playbook `{}` ({}) applied to alert {}",
                    playbook.id,
                    playbook.title,
                    alert.map_or(0, |a| a.id)
                )
            } else {
                format!("Playbook `{}` started: {}", playbook.id, playbook.title)
            };
            let data =
                json!({ "playbook": playbook.id, "alert_id": alert.map(|a| a.id), "by": actor });
            self.record(Some(incident.id), &who, summary, data).await;
        }
        let empty = serde_json::Map::new();
        let group = alert.map_or(&empty, |a| &a.group);
        for (index, step) in playbook.steps.iter().enumerate().skip(from) {
            let number = index + 1;
            if joining && matches!(step.action, Action::Approval { .. }) {
                return;
            }
            if joining && !(step.action.contains() || step.action == Action::PreserveEvidence) {
                continue;
            }
            if let Some(condition) = &step.condition
                && !condition.holds(group, incident.severity)
            {
                let summary = format!(
                    "Playbook `{}` step {number} ({}) skipped: its condition does not hold",
                    playbook.id, step.name
                );
                self.record(
                    Some(incident.id),
                    &who,
                    summary,
                    json!({ "playbook": playbook.id, "step": number, "skipped": true }),
                )
                .await;
                continue;
            }
            let paused = self.step(incident, playbook, alert, group, index, &who).await;
            if paused {
                return;
            }
        }
    }

    /// Runs one step; true when the run pauses (an approval).
    async fn step(
        &self,
        incident: &Incident,
        playbook: &Playbook,
        alert: Option<&Alert>,
        group: &serde_json::Map<String, serde_json::Value>,
        index: usize,
        who: &str,
    ) -> bool {
        let step = &playbook.steps[index];
        let number = index + 1;
        let value = |field: &str| group.get(field).and_then(|v| v.as_str()).map(str::to_owned);
        let reason = format!(
            "playbook `{}` step {number} ({}), alert {}",
            playbook.id,
            step.name,
            alert.map_or(0, |a| a.id)
        );
        match &step.action {
            Action::PreserveEvidence => self.preserve(incident, alert, who, &reason).await,
            Action::Ban { field, duration, term } => {
                let Some(ip) = value(field).and_then(|v| v.parse::<IpAddr>().ok()) else {
                    self.skip(
                        incident,
                        playbook,
                        number,
                        &format!("the alert has no address in `{field}`"),
                    )
                    .await;
                    return false;
                };
                let target = self.policy.target_for(ip);
                self.contain(
                    incident,
                    DecisionKind::Ban,
                    target,
                    *duration,
                    *term,
                    who,
                    &reason,
                    playbook,
                    number,
                )
                .await;
            }
            Action::LockAccount { field, duration, term }
            | Action::IsolateHost { field, duration, term } => {
                let kind = if matches!(step.action, Action::LockAccount { .. }) {
                    DecisionKind::LockAccount
                } else {
                    DecisionKind::IsolateHost
                };
                let Some(target) = value(field) else {
                    self.skip(incident, playbook, number, &format!("the alert has no `{field}`"))
                        .await;
                    return false;
                };
                self.contain(
                    incident, kind, target, *duration, *term, who, &reason, playbook, number,
                )
                .await;
            }
            Action::RevokeSessions { field } => {
                let Some(target) = value(field) else {
                    self.skip(incident, playbook, number, &format!("the alert has no `{field}`"))
                        .await;
                    return false;
                };
                // Revoking is immediate; the decision keeps the account's old sessions refused
                // at the check endpoint for an hour, so that the app can catch up.
                let hour = Some(SignedDuration::from_hours(1));
                self.contain(
                    incident,
                    DecisionKind::RevokeSessions,
                    target,
                    hour,
                    Term::Short,
                    who,
                    &reason,
                    playbook,
                    number,
                )
                .await;
            }
            Action::Notify { roles, message } => {
                let notifier = self.notifier.read().unwrap_or_else(PoisonError::into_inner).clone();
                let text = if message.is_empty() {
                    format!("{}: {}", playbook.title, incident.title)
                } else {
                    message.clone()
                };
                let (summary, ok) = match notifier {
                    Some(notifier) => match notifier.notify(incident, roles, &text).await {
                        Ok(sent) => (format!("Notified ({}): {sent}", step.name), true),
                        Err(error) => {
                            (format!("Notification failed ({}): {error}", step.name), false)
                        }
                    },
                    None => (
                        format!(
                            "Notification to {} not sent: no notification channel is configured",
                            role_list(roles)
                        ),
                        false,
                    ),
                };
                self.record_kind(incident.id, EntryKind::Communication, who, summary, json!({ "playbook": playbook.id, "step": number, "roles": roles, "message": text, "ok": ok })).await;
            }
            Action::Task { title, role, due, checklist } => {
                let now = self.clock.now();
                let task = Task {
                    id: 0,
                    incident_id: incident.id,
                    title: title.clone(),
                    owner_id: None,
                    role: *role,
                    due_at: due.map(|due| now + due),
                    status: TaskStatus::Open,
                    checklist: checklist
                        .iter()
                        .map(|text| ChecklistItem { text: text.clone(), done: false })
                        .collect(),
                    created_at: now,
                    updated_at: now,
                };
                let summary = format!("Task added by playbook `{}`: {}", playbook.id, task.title);
                if let Err(error) = self
                    .store
                    .create_task(&task, crate::api::tasks::entry(who, summary, &task, now))
                    .await
                {
                    tracing::error!(%error, incident = incident.id, "A playbook could not add its task.");
                }
            }
            Action::Approval { role, timeout, on_timeout } => {
                let now = self.clock.now();
                let due = now + *timeout;
                let job = NewJob {
                    kind: APPROVAL_TIMEOUT.into(),
                    due_at: due,
                    payload: json!({
                        "incident_id": incident.id,
                        "playbook": playbook.id,
                        "alert_id": alert.map(|a| a.id),
                        "step": index,
                        "role": role,
                        "on_timeout": on_timeout,
                    }),
                    dedupe_key: Some(format!(
                        "approval:{}:{}:{index}:{}",
                        incident.id,
                        playbook.id,
                        now.as_nanosecond()
                    )),
                };
                match self.store.schedule_job(&job, now).await {
                    Ok(job) => {
                        let then = match on_timeout {
                            OnTimeout::Proceed => "go on",
                            OnTimeout::Stop => "stop",
                        };
                        let summary = format!(
                            "Playbook `{}` waits for approval {} by a {}: approve by {due}, or it will {then}",
                            playbook.id,
                            job.id,
                            role.as_str()
                        );
                        self.record(Some(incident.id), who, summary, json!({ "playbook": playbook.id, "step": number, "approval": job.id, "role": role, "due": due })).await;
                    }
                    Err(error) => {
                        tracing::error!(%error, "A playbook could not schedule its approval.")
                    }
                }
                return true;
            }
            Action::SetStatus { status } => {
                let change = IncidentChange::Status { to: *status, reason: reason.clone() };
                if let Err(error) =
                    self.store.change_incident(incident.id, &change, who, self.clock.now()).await
                {
                    self.skip(incident, playbook, number, &error.to_string()).await;
                }
            }
        }
        false
    }

    async fn skip(&self, incident: &Incident, playbook: &Playbook, number: usize, why: &str) {
        let summary = format!("Playbook `{}` step {number} skipped: {why}", playbook.id);
        self.record(
            Some(incident.id),
            &format!("playbook:{}", playbook.id),
            summary,
            json!({ "playbook": playbook.id, "step": number, "skipped": true }),
        )
        .await;
    }

    async fn record_kind(
        &self,
        incident_id: i64,
        kind: EntryKind,
        actor: &str,
        summary: String,
        data: serde_json::Value,
    ) {
        let now = self.clock.now();
        let entry = NewEntry { kind, occurred_at: now, actor: actor.to_owned(), summary, data };
        if let Err(error) = self.store.append_entry(incident_id, entry, now).await {
            tracing::error!(%error, incident_id, "Could not write a timeline entry.");
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn contain(
        &self,
        incident: &Incident,
        kind: DecisionKind,
        target: String,
        duration: Option<SignedDuration>,
        term: Term,
        who: &str,
        reason: &str,
        playbook: &Playbook,
        number: usize,
    ) {
        let request = DecisionRequest {
            kind,
            target: target.clone(),
            duration,
            reason: reason.to_owned(),
            incident_id: Some(incident.id),
            term,
        };
        match self.decide(request, who).await {
            Ok(_) => {}
            Err(DecideError::AlreadyInForce(existing)) => {
                let summary = format!(
                    "Playbook `{}` step {number}: {} {target} is already in force until {} (decision {}, incident {})",
                    playbook.id,
                    kind.as_str(),
                    existing.expires_at,
                    existing.id,
                    existing.incident_id.map_or_else(|| "none".to_owned(), |id| id.to_string())
                );
                self.record_kind(incident.id, EntryKind::Decision, who, summary, json!({ "playbook": playbook.id, "step": number, "already": existing.id, "target": target })).await;
            }
            Err(DecideError::Refused(why)) => {
                let summary = format!(
                    "Playbook `{}` step {number}: {} {target} refused by policy: {why}",
                    playbook.id,
                    kind.as_str()
                );
                self.record_kind(incident.id, EntryKind::Decision, who, summary, json!({ "playbook": playbook.id, "step": number, "refused": why, "target": target })).await;
            }
            Err(error) => {
                tracing::error!(%error, incident = incident.id, "A playbook's containment failed.")
            }
        }
    }

    /// Evidence first: the events behind the alert (its address, else its user, from an hour
    /// before its first event to its last) are captured into the incident.
    async fn preserve(&self, incident: &Incident, alert: Option<&Alert>, who: &str, reason: &str) {
        let Some(alert) = alert else { return };
        let value =
            |field: &str| alert.group.get(field).and_then(|v| v.as_str()).map(str::to_owned);
        let mut query = EventQuery {
            from: Some(alert.first_seen - SignedDuration::from_hours(1)),
            to: Some(alert.last_seen + SignedDuration::from_secs(1)),
            limit: 5000,
            ..EventQuery::default()
        };
        let what = if let Some(ip) = value("source.ip") {
            query.ip = ip.parse::<IpAddr>().ok().map(|ip| ip.to_string());
            format!("source.ip {ip}")
        } else if let Some(user) = value("user.name") {
            query.user = Some(user.clone());
            format!("user.name {user}")
        } else {
            return;
        };
        let capture = EventsCapture {
            name: format!("alert-{}-events.ndjson", alert.id),
            description: format!("The events behind alert {} ({})", alert.id, alert.title),
            what: format!(
                "{what} from {} to {}",
                query.from.unwrap_or(alert.first_seen),
                alert.last_seen
            ),
            reason: format!("preserved before containment ({reason})"),
        };
        if let Err(error) = capture_events(&self.evidence, who, incident.id, query, capture).await {
            tracing::error!(
                ?error,
                incident = incident.id,
                "Could not preserve the alert's events."
            );
        }
    }

    /// Approves (`true`) or rejects a pending approval; the steps after it run (or not).
    pub async fn decide_approval(
        &self,
        job: &Job,
        approve: bool,
        actor: &str,
        reason: &str,
    ) -> Result<(), StoreError> {
        let key = job.dedupe_key.as_deref().unwrap_or_default();
        if !self.store.cancel_job(key, self.clock.now()).await? {
            return Err(StoreError::Conflict(format!(
                "approval {} was already decided or timed out",
                job.id
            )));
        }
        self.resume(job, approve, actor, reason).await
    }

    async fn resume(
        &self,
        job: &Job,
        go_on: bool,
        actor: &str,
        why: &str,
    ) -> Result<(), StoreError> {
        let incident_id = job.payload["incident_id"].as_i64().unwrap_or_default();
        let playbook_id = job.payload["playbook"].as_str().unwrap_or_default();
        let step = job.payload["step"].as_u64().and_then(|s| usize::try_from(s).ok()).unwrap_or(0);
        let incident = self.store.get_incident(incident_id).await?;
        let playbook = self
            .playbooks
            .iter()
            .find(|p| p.id == playbook_id)
            .ok_or_else(|| StoreError::NotFound(format!("playbook `{playbook_id}`")))?;
        let alert = match job.payload["alert_id"].as_i64() {
            Some(id) => Some(self.store.get_alert(id).await?),
            None => None,
        };
        let verdict = if go_on { "approved" } else { "rejected" };
        let summary =
            format!("Approval {} of playbook `{playbook_id}` {verdict} by {actor}: {why}", job.id);
        self.record_kind(incident_id, EntryKind::Decision, actor, summary, json!({ "approval": job.id, "playbook": playbook_id, "approved": go_on, "reason": why })).await;
        if go_on {
            self.run(&incident, playbook, alert.as_ref(), step + 1, false, actor).await;
        }
        Ok(())
    }
}

fn role_list(roles: &[ResponseRole]) -> String {
    roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ")
}

/// The scheduler's handler for decision expiry.
#[derive(Debug, Clone)]
pub struct ExpiryHandler(pub Arc<Responder>);

#[async_trait]
impl JobHandler for ExpiryHandler {
    async fn run(&self, job: &Job) -> Result<(), String> {
        self.0.expire(job).await
    }
}

/// The scheduler's handler for approvals that time out.
#[derive(Debug, Clone)]
pub struct ApprovalTimeoutHandler(pub Arc<Responder>);

#[async_trait]
impl JobHandler for ApprovalTimeoutHandler {
    async fn run(&self, job: &Job) -> Result<(), String> {
        let proceed = job.payload["on_timeout"].as_str() == Some("proceed");
        self.0
            .resume(job, proceed, "firebreak", "the approval timed out")
            .await
            .map_err(|e| e.to_string())
    }
}
