//! Playbooks: YAML files saying which incidents they apply to (rule ids, ATT&CK tags, severity)
//! and the ordered steps to take — tasks for people, automated actions, approvals, conditions.
//! Checked at load: every mistake is reported with its file, step and reason.
//!
//! ```yaml
//! id: credential-stuffing
//! title: Brute force and credential stuffing
//! applies_to:
//!   rules: [credential_stuffing, ssh_brute_force]
//!   tags: [attack.t1110]
//!   min_severity: SEV3
//! steps:
//!   - preserve_evidence: {}
//!   - ban: { field: source.ip, duration: 4h }
//!   - notify: { roles: [incident_commander], message: "Banned {target}" }
//!   - task: { title: Check the targeted accounts, role: technical_lead, due: 2h }
//!   - approval: { role: commander, timeout: 30m, on_timeout: stop }
//!     if: { group_has: user.name }
//!   - lock_account: { field: user.name, duration: 24h }
//! ```

use firebreak_core::{AccessRole, ResponseRole, Severity, Status, Term};
use jiff::SignedDuration;
use serde::{Deserialize, Serialize};

use crate::parse_duration;

/// A playbook file that does not read or does not check, with where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {message}")]
pub struct PlaybookError {
    pub file: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Playbook {
    pub id: String,
    pub title: String,
    pub description: String,
    pub applies_to: AppliesTo,
    pub steps: Vec<Step>,
    /// The file it came from, for messages.
    pub file: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppliesTo {
    /// Rule ids or names; an alert of any of them matches.
    #[serde(default)]
    pub rules: Vec<String>,
    /// ATT&CK tags; an alert with any of them (or a sub-technique of one) matches.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Only incidents at least this severe.
    #[serde(default)]
    pub min_severity: Option<Severity>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    /// A name for people and for the timeline; default: the action's own.
    pub name: String,
    /// The step runs only when this holds; otherwise it is skipped (and the skip recorded).
    pub condition: Option<Condition>,
    pub action: Action,
}

/// Every condition given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// The alert's group has this field (e.g. `user.name`: an account is involved).
    #[serde(default)]
    pub group_has: Option<String>,
    /// The incident is at least this severe.
    #[serde(default)]
    pub min_severity: Option<Severity>,
}

impl Condition {
    pub fn holds(
        &self,
        group: &serde_json::Map<String, serde_json::Value>,
        severity: Severity,
    ) -> bool {
        self.group_has.as_ref().is_none_or(|field| group.get(field).is_some_and(|v| !v.is_null()))
            && self.min_severity.is_none_or(|min| severity <= min)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Capture the events behind the incident's alerts as evidence. A containment action that
    /// follows runs only after this has been done (evidence first).
    PreserveEvidence,
    /// Ban the address in `field` of the alert's group (default `source.ip`).
    Ban {
        field: String,
        duration: Option<SignedDuration>,
        term: Term,
    },
    LockAccount {
        field: String,
        duration: Option<SignedDuration>,
        term: Term,
    },
    RevokeSessions {
        field: String,
    },
    IsolateHost {
        field: String,
        duration: Option<SignedDuration>,
        term: Term,
    },
    /// Tell the people holding (or on call for) these roles.
    Notify {
        roles: Vec<ResponseRole>,
        message: String,
    },
    /// A task for people.
    Task {
        title: String,
        role: Option<ResponseRole>,
        due: Option<SignedDuration>,
        checklist: Vec<String>,
    },
    /// Wait for someone with `role` to approve the steps that follow; after `timeout`, go on
    /// or stop as `on_timeout` says.
    Approval {
        role: AccessRole,
        timeout: SignedDuration,
        on_timeout: OnTimeout,
    },
    /// Move the incident to a phase (e.g. containment).
    SetStatus {
        status: Status,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnTimeout {
    Proceed,
    Stop,
}

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Action::PreserveEvidence => "preserve_evidence",
            Action::Ban { .. } => "ban",
            Action::LockAccount { .. } => "lock_account",
            Action::RevokeSessions { .. } => "revoke_sessions",
            Action::IsolateHost { .. } => "isolate_host",
            Action::Notify { .. } => "notify",
            Action::Task { .. } => "task",
            Action::Approval { .. } => "approval",
            Action::SetStatus { .. } => "set_status",
        }
    }

    /// Whether this step contains: it changes what the attacker (or a user) can do.
    pub fn contains(&self) -> bool {
        matches!(
            self,
            Action::Ban { .. }
                | Action::LockAccount { .. }
                | Action::RevokeSessions { .. }
                | Action::IsolateHost { .. }
        )
    }
}

// The file's shape, before checking.

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlaybook {
    id: String,
    title: String,
    #[serde(default)]
    description: String,
    applies_to: AppliesTo,
    steps: Vec<RawStep>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    name: Option<String>,
    #[serde(rename = "if")]
    condition: Option<Condition>,
    preserve_evidence: Option<Empty>,
    ban: Option<Containment>,
    lock_account: Option<Containment>,
    revoke_sessions: Option<Containment>,
    isolate_host: Option<Containment>,
    notify: Option<RawNotify>,
    task: Option<RawTask>,
    approval: Option<RawApproval>,
    set_status: Option<Status>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Empty {}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Containment {
    field: Option<String>,
    duration: Option<String>,
    #[serde(default)]
    term: Term,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNotify {
    roles: Vec<ResponseRole>,
    #[serde(default)]
    message: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTask {
    title: String,
    role: Option<ResponseRole>,
    due: Option<String>,
    #[serde(default)]
    checklist: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApproval {
    role: AccessRole,
    timeout: String,
    on_timeout: OnTimeout,
}

/// The largest playbook file read, and the most steps one may have.
pub const MAX_FILE_BYTES: usize = 256 * 1024;
pub const MAX_STEPS: usize = 100;

impl Playbook {
    /// Reads and checks one playbook file. `rule_known` says whether a rule id exists (so a
    /// typo in `applies_to.rules` is an error, not a playbook that never runs).
    pub fn parse(
        file: &str,
        text: &str,
        rule_known: &dyn Fn(&str) -> bool,
    ) -> Result<Playbook, PlaybookError> {
        let error = |message: String| PlaybookError { file: file.to_owned(), message };
        if text.len() > MAX_FILE_BYTES {
            return Err(error(format!("larger than {MAX_FILE_BYTES} bytes")));
        }
        let raw: RawPlaybook = yaml_serde::from_str(text).map_err(|e| error(e.to_string()))?;
        if raw.id.trim().is_empty()
            || !raw.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(error(format!("`id` `{}` must be letters, digits, `-` and `_`", raw.id)));
        }
        if raw.applies_to.rules.is_empty() && raw.applies_to.tags.is_empty() {
            return Err(error(
                "`applies_to` names no rule and no tag, so it would never apply".into(),
            ));
        }
        if let Some(rule) = raw.applies_to.rules.iter().find(|rule| !rule_known(rule)) {
            return Err(error(format!("`applies_to.rules`: no rule `{rule}` is loaded")));
        }
        if raw.steps.is_empty() || raw.steps.len() > MAX_STEPS {
            return Err(error(format!(
                "a playbook has 1 to {MAX_STEPS} steps, not {}",
                raw.steps.len()
            )));
        }
        let mut steps = Vec::with_capacity(raw.steps.len());
        let mut preserved = false;
        for (index, raw) in raw.steps.into_iter().enumerate() {
            let number = index + 1;
            let step =
                convert(raw).map_err(|message| error(format!("step {number}: {message}")))?;
            if step.action == Action::PreserveEvidence {
                preserved = true;
            }
            if step.action.contains() && !preserved {
                return Err(error(format!(
                    "step {number} ({}): containment before `preserve_evidence`; evidence comes first",
                    step.name
                )));
            }
            steps.push(step);
        }
        Ok(Playbook {
            id: raw.id,
            title: raw.title,
            description: raw.description,
            applies_to: raw.applies_to,
            steps,
            file: file.to_owned(),
        })
    }

    /// Whether the playbook applies to an incident opened from an alert of `rule_id` with
    /// `tags`, at `severity`.
    pub fn applies(&self, rule_id: &str, tags: &[String], severity: Severity) -> bool {
        let severe_enough = self.applies_to.min_severity.is_none_or(|min| severity <= min);
        let by_rule = self.applies_to.rules.iter().any(|rule| rule == rule_id);
        let by_tag = self.applies_to.tags.iter().any(|wanted| {
            tags.iter().any(|tag| {
                tag.eq_ignore_ascii_case(wanted)
                    || tag
                        .to_ascii_lowercase()
                        .strip_prefix(&wanted.to_ascii_lowercase())
                        .is_some_and(|rest| rest.starts_with('.'))
            })
        });
        severe_enough && (by_rule || by_tag)
    }
}

fn convert(raw: RawStep) -> Result<Step, String> {
    let duration = |text: &Option<String>| text.as_deref().map(parse_duration).transpose();
    let field =
        |given: &Option<String>, default: &str| given.clone().unwrap_or_else(|| default.to_owned());
    let mut actions = Vec::new();
    if raw.preserve_evidence.is_some() {
        actions.push(Action::PreserveEvidence);
    }
    if let Some(c) = &raw.ban {
        actions.push(Action::Ban {
            field: field(&c.field, "source.ip"),
            duration: duration(&c.duration)?,
            term: c.term,
        });
    }
    if let Some(c) = &raw.lock_account {
        actions.push(Action::LockAccount {
            field: field(&c.field, "user.name"),
            duration: duration(&c.duration)?,
            term: c.term,
        });
    }
    if let Some(c) = &raw.revoke_sessions {
        if c.duration.is_some() {
            return Err("`revoke_sessions` takes no duration: revoking is done once".into());
        }
        actions.push(Action::RevokeSessions { field: field(&c.field, "user.name") });
    }
    if let Some(c) = &raw.isolate_host {
        actions.push(Action::IsolateHost {
            field: field(&c.field, "host.name"),
            duration: duration(&c.duration)?,
            term: c.term,
        });
    }
    if let Some(n) = raw.notify {
        if n.roles.is_empty() {
            return Err("`notify` names no role".into());
        }
        actions.push(Action::Notify { roles: n.roles, message: n.message });
    }
    if let Some(t) = raw.task {
        if t.title.trim().is_empty() {
            return Err("`task` has an empty title".into());
        }
        actions.push(Action::Task {
            title: t.title,
            role: t.role,
            due: duration(&t.due)?,
            checklist: t.checklist,
        });
    }
    if let Some(a) = raw.approval {
        actions.push(Action::Approval {
            role: a.role,
            timeout: parse_duration(&a.timeout)?,
            on_timeout: a.on_timeout,
        });
    }
    if let Some(status) = raw.set_status {
        actions.push(Action::SetStatus { status });
    }
    let mut actions = actions.into_iter();
    let (Some(action), None) = (actions.next(), actions.next()) else {
        return Err("a step is exactly one of preserve_evidence, ban, lock_account, revoke_sessions, isolate_host, notify, task, approval, set_status".into());
    };
    Ok(Step {
        name: raw.name.unwrap_or_else(|| action.name().to_owned()),
        condition: raw.condition,
        action,
    })
}

/// The playbooks shipped with firebreak.
pub const BUILTIN: &[(&str, &str)] = &[
    ("brute_force.yml", include_str!("../playbooks/brute_force.yml")),
    ("account_takeover.yml", include_str!("../playbooks/account_takeover.yml")),
    ("data_exfiltration.yml", include_str!("../playbooks/data_exfiltration.yml")),
    ("privilege_escalation.yml", include_str!("../playbooks/privilege_escalation.yml")),
    ("web_attack.yml", include_str!("../playbooks/web_attack.yml")),
    ("malicious_code.yml", include_str!("../playbooks/malicious_code.yml")),
    ("destructive_deletion.yml", include_str!("../playbooks/destructive_deletion.yml")),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn any_rule(_: &str) -> bool {
        true
    }

    fn parse(text: &str) -> Result<Playbook, PlaybookError> {
        Playbook::parse("test.yml", text, &any_rule)
    }

    const GOOD: &str = "id: stuffing\ntitle: Stuffing\napplies_to:\n  rules: [credential_stuffing]\n  tags: [attack.t1110]\n  min_severity: SEV3\nsteps:\n  - preserve_evidence: {}\n  - ban: { duration: 4h }\n  - name: lock\n    if: { group_has: user.name }\n    lock_account: { duration: 1d, term: long }\n";

    #[test]
    fn a_playbook_reads_with_defaults_filled_in() {
        let playbook = parse(GOOD).unwrap();
        assert_eq!(playbook.steps.len(), 3);
        assert_eq!(
            playbook.steps[1].action,
            Action::Ban {
                field: "source.ip".into(),
                duration: Some(SignedDuration::from_hours(4)),
                term: Term::Short
            }
        );
        assert_eq!(playbook.steps[2].name, "lock");
        assert!(playbook.applies("credential_stuffing", &[], Severity::Sev2));
        assert!(playbook.applies("other", &["attack.t1110.004".into()], Severity::Sev3));
        assert!(!playbook.applies("other", &["attack.t11100".into()], Severity::Sev3));
        assert!(!playbook.applies("credential_stuffing", &[], Severity::Sev4), "not severe enough");
    }

    #[test]
    fn mistakes_are_named_with_their_step() {
        let cases = [
            (
                GOOD.replace("  - preserve_evidence: {}\n", ""),
                "step 1 (ban): containment before `preserve_evidence`",
            ),
            (GOOD.replace("duration: 4h", "duration: 4 hours"), "step 2: `4 hours`"),
            (
                GOOD.replace(
                    "ban: { duration: 4h }",
                    "ban: { duration: 4h }\n    notify: { roles: [scribe] }",
                ),
                "step 2: a step is exactly one of",
            ),
            (GOOD.replace("ban:", "bam:"), "unknown field `bam`"),
            (
                GOOD.replace(
                    "  rules: [credential_stuffing]\n  tags: [attack.t1110]\n",
                    "  rules: []\n",
                ),
                "never apply",
            ),
            (GOOD.replace("SEV3", "SEV9"), "SEV9"),
            (
                "id: x\ntitle: t\napplies_to: { rules: [a] }\nsteps: []\n".to_owned(),
                "1 to 100 steps",
            ),
            ("{{{".to_owned(), "test.yml"),
        ];
        for (text, expected) in cases {
            let error = parse(&text).unwrap_err().to_string();
            assert!(error.contains(expected), "expected `{expected}` in `{error}`");
        }
        let unknown = Playbook::parse("p.yml", GOOD, &|rule| rule != "credential_stuffing");
        assert!(unknown.unwrap_err().message.contains("no rule `credential_stuffing`"));
    }

    #[test]
    fn conditions_hold_on_the_group_and_the_severity() {
        let group: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(r#"{"source.ip":"203.0.113.5"}"#).unwrap();
        let needs_user = Condition { group_has: Some("user.name".into()), min_severity: None };
        assert!(!needs_user.holds(&group, Severity::Sev1));
        let needs_sev2 = Condition { group_has: None, min_severity: Some(Severity::Sev2) };
        assert!(needs_sev2.holds(&group, Severity::Sev1));
        assert!(!needs_sev2.holds(&group, Severity::Sev3));
    }

    #[test]
    fn the_shipped_playbooks_check() {
        for (name, text) in BUILTIN {
            if let Err(error) = Playbook::parse(name, text, &any_rule) {
                panic!("{error}");
            }
        }
    }
}
