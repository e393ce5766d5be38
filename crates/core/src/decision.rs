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

/// Short-term containment stops the bleeding now; long-term keeps a fix in place while the
/// root cause is removed (NIST SP 800-61).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Term {
    Short,
    Long,
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
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub created_at: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub expires_at: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub rolled_back_at: Option<Timestamp>,
}

impl Decision {
    /// Whether the decision is in force at `now`.
    pub fn in_force(&self, now: Timestamp) -> bool {
        self.rolled_back_at.is_none() && now < self.expires_at
    }
}
