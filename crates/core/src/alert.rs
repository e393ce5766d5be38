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
    /// The person (from the team) who has the alert in hand.
    pub assignee_id: Option<i64>,
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

/// What an accepted suppression silences.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SuppressionKind {
    /// An allowlist entry: an address (`203.0.113.5`) or a user (`user:alice`), for every rule.
    Allow,
    /// A rule filter: this rule, for exactly this group (the value is the canonical group key).
    RuleFilter,
}

/// Where a proposed suppression stands. Only a person moves it out of `proposed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SuppressionStatus {
    Proposed,
    Accepted,
    Refused,
}

impl SuppressionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SuppressionKind::Allow => "allow",
            SuppressionKind::RuleFilter => "rule_filter",
        }
    }

    pub fn parse(text: &str) -> Option<SuppressionKind> {
        [SuppressionKind::Allow, SuppressionKind::RuleFilter]
            .into_iter()
            .find(|kind| kind.as_str() == text)
    }
}

impl SuppressionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SuppressionStatus::Proposed => "proposed",
            SuppressionStatus::Accepted => "accepted",
            SuppressionStatus::Refused => "refused",
        }
    }

    pub fn parse(text: &str) -> Option<SuppressionStatus> {
        [SuppressionStatus::Proposed, SuppressionStatus::Accepted, SuppressionStatus::Refused]
            .into_iter()
            .find(|status| status.as_str() == text)
    }
}

/// A suppression proposed when an alert is marked a false positive: it silences future alerts
/// only once a person accepts it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Suppression {
    pub id: i64,
    /// The alert whose false positive proposed it.
    pub alert_id: i64,
    pub rule_id: String,
    pub kind: SuppressionKind,
    /// `allow`: the address or `user:NAME`; `rule_filter`: the group key as canonical JSON.
    pub value: String,
    /// Why the alert was a false positive.
    pub reason: String,
    pub status: SuppressionStatus,
    pub proposed_by: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub proposed_at: Timestamp,
    pub decided_by: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub decided_at: Option<Timestamp>,
    pub decision_reason: Option<String>,
}

impl Suppression {
    /// The suppressions a false positive of `alert` proposes: an allowlist entry for the
    /// address and for the user of its group (each when present), and a filter of its rule for
    /// exactly its group. Ids are 0 until stored.
    pub fn proposals_for(alert: &Alert, reason: &str, actor: &str, at: Timestamp) -> Vec<Self> {
        let proposal = |kind, value: String| Suppression {
            id: 0,
            alert_id: alert.id,
            rule_id: alert.rule_id.clone(),
            kind,
            value,
            reason: reason.to_owned(),
            status: SuppressionStatus::Proposed,
            proposed_by: actor.to_owned(),
            proposed_at: at,
            decided_by: None,
            decided_at: None,
            decision_reason: None,
        };
        let mut proposals = Vec::new();
        if let Some(ip) = alert.group.get("source.ip").and_then(Value::as_str) {
            proposals.push(proposal(SuppressionKind::Allow, ip.to_owned()));
        }
        if let Some(user) = alert.group.get("user.name").and_then(Value::as_str) {
            proposals.push(proposal(SuppressionKind::Allow, format!("user:{user}")));
        }
        proposals.push(proposal(SuppressionKind::RuleFilter, group_key(&alert.group)));
        proposals
    }

    /// Whether this suppression, once accepted, silences a firing of `rule_id` for `group`.
    pub fn covers(&self, rule_id: &str, group: &Map<String, Value>) -> bool {
        match self.kind {
            SuppressionKind::RuleFilter => {
                self.rule_id == rule_id && self.value == group_key(group)
            }
            SuppressionKind::Allow => match self.value.strip_prefix("user:") {
                Some(user) => group.get("user.name").and_then(Value::as_str) == Some(user),
                None => group.get("source.ip").and_then(Value::as_str) == Some(self.value.as_str()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn alert(group: Value) -> Alert {
        Alert {
            id: 7,
            rule_id: "ssh-brute-force".into(),
            title: "SSH brute force".into(),
            severity: Severity::Sev3,
            group: group.as_object().cloned().unwrap_or_default(),
            count: 12,
            first_seen: Timestamp::UNIX_EPOCH,
            last_seen: Timestamp::UNIX_EPOCH,
            tags: Vec::new(),
            status: AlertStatus::New,
            incident_id: None,
            assignee_id: None,
            sample: Vec::new(),
        }
    }

    #[test]
    fn a_false_positive_proposes_the_address_the_user_and_the_rule_for_its_group() {
        let alert = alert(json!({"source.ip": "198.51.100.7", "user.name": "scanner"}));
        let proposals =
            Suppression::proposals_for(&alert, "our scanner", "ana", Timestamp::UNIX_EPOCH);
        let values: Vec<(SuppressionKind, &str)> =
            proposals.iter().map(|p| (p.kind, p.value.as_str())).collect();
        assert_eq!(
            values,
            [
                (SuppressionKind::Allow, "198.51.100.7"),
                (SuppressionKind::Allow, "user:scanner"),
                (
                    SuppressionKind::RuleFilter,
                    r#"{"source.ip":"198.51.100.7","user.name":"scanner"}"#
                ),
            ]
        );
        assert!(proposals.iter().all(|p| p.status == SuppressionStatus::Proposed));
    }

    #[test]
    fn an_allow_entry_covers_every_rule_and_a_rule_filter_only_its_own_group() {
        let alert = alert(json!({"source.ip": "198.51.100.7"}));
        let proposals = Suppression::proposals_for(&alert, "r", "ana", Timestamp::UNIX_EPOCH);
        let (allow, filter) = (&proposals[0], &proposals[1]);
        let same = alert.group.clone();
        let other: Map<String, Value> =
            json!({"source.ip": "198.51.100.8"}).as_object().cloned().unwrap_or_default();
        assert!(allow.covers("web-sqli", &same));
        assert!(!allow.covers("web-sqli", &other));
        assert!(filter.covers("ssh-brute-force", &same));
        assert!(!filter.covers("web-sqli", &same));
        assert!(!filter.covers("ssh-brute-force", &other));
        let user = Suppression { value: "user:bob".into(), ..allow.clone() };
        let bob: Map<String, Value> =
            json!({"user.name": "bob"}).as_object().cloned().unwrap_or_default();
        assert!(user.covers("any", &bob));
        assert!(!user.covers("any", &same));
    }
}
