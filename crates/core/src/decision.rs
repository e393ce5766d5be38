//! `Decision`: a containment decision in force — ban this address, lock this account, revoke
//! this token, isolate this host — for a time, because of an incident.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    /// Ban an address or a range (CIDR).
    Ban,
    LockAccount,
    RevokeSessions,
    IsolateHost,
}

impl DecisionKind {
    pub const ALL: [DecisionKind; 4] = [
        DecisionKind::Ban,
        DecisionKind::LockAccount,
        DecisionKind::RevokeSessions,
        DecisionKind::IsolateHost,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DecisionKind::Ban => "ban",
            DecisionKind::LockAccount => "lock_account",
            DecisionKind::RevokeSessions => "revoke_sessions",
            DecisionKind::IsolateHost => "isolate_host",
        }
    }

    pub fn parse(text: &str) -> Option<DecisionKind> {
        DecisionKind::ALL.into_iter().find(|kind| kind.as_str() == text)
    }

    /// What the target names, for people: an address, an account, a host.
    pub fn target_noun(self) -> &'static str {
        match self {
            DecisionKind::Ban => "address or range",
            DecisionKind::LockAccount | DecisionKind::RevokeSessions => "account",
            DecisionKind::IsolateHost => "host",
        }
    }
}

/// Short-term containment stops the bleeding now; long-term keeps a fix in place while the
/// root cause is removed (NIST SP 800-61).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Term {
    #[default]
    Short,
    Long,
}

impl Term {
    pub fn as_str(self) -> &'static str {
        match self {
            Term::Short => "short",
            Term::Long => "long",
        }
    }

    pub fn parse(text: &str) -> Option<Term> {
        [Term::Short, Term::Long].into_iter().find(|term| term.as_str() == text)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Decision {
    pub id: i64,
    pub kind: DecisionKind,
    /// What it applies to: an address or range, an account name, a token id, a host name.
    pub target: String,
    pub reason: String,
    pub incident_id: Option<i64>,
    /// Who or what decided: a person, or a playbook step.
    pub decided_by: String,
    pub term: Term,
    /// How many decisions of the same kind on the same target came before this one (the
    /// repeat-offender count that lengthened it).
    pub offence: u32,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub created_at: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub expires_at: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub rolled_back_at: Option<Timestamp>,
    pub rolled_back_by: Option<String>,
}

impl Decision {
    /// Whether the decision is in force at `now`.
    pub fn in_force(&self, now: Timestamp) -> bool {
        self.rolled_back_at.is_none() && now < self.expires_at
    }

    /// When it stopped or stops being in force: rolled back, or expired.
    pub fn ends_at(&self) -> Timestamp {
        match self.rolled_back_at {
            Some(at) if at < self.expires_at => at,
            _ => self.expires_at,
        }
    }

    /// For a ban: whether the target is a range (CIDR) rather than one address.
    pub fn is_range(&self) -> bool {
        self.kind == DecisionKind::Ban && self.target.contains('/')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap_or(Timestamp::UNIX_EPOCH)
    }

    #[test]
    fn a_decision_is_in_force_until_it_expires_or_is_rolled_back() {
        let mut decision = Decision {
            id: 1,
            kind: DecisionKind::Ban,
            target: "203.0.113.0/24".into(),
            reason: "stuffing".into(),
            incident_id: None,
            decided_by: "ana".into(),
            term: Term::Short,
            offence: 0,
            created_at: at("2026-01-01T00:00:00Z"),
            expires_at: at("2026-01-01T04:00:00Z"),
            rolled_back_at: None,
            rolled_back_by: None,
        };
        assert!(decision.is_range());
        assert!(decision.in_force(at("2026-01-01T03:59:59Z")));
        assert!(!decision.in_force(at("2026-01-01T04:00:00Z")));
        assert_eq!(decision.ends_at(), at("2026-01-01T04:00:00Z"));
        decision.rolled_back_at = Some(at("2026-01-01T01:00:00Z"));
        assert!(!decision.in_force(at("2026-01-01T02:00:00Z")));
        assert_eq!(decision.ends_at(), at("2026-01-01T01:00:00Z"));
        for kind in DecisionKind::ALL {
            assert_eq!(DecisionKind::parse(kind.as_str()), Some(kind));
        }
    }
}
