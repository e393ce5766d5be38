//! People, the response roles they hold in an incident, and the access roles of API tokens.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::incident::UnknownName;

/// A person on the response roster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Person {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
    /// IANA time zone name, e.g. `Europe/Lisbon`.
    pub time_zone: String,
    /// The response roles this person can hold.
    pub roles: Vec<ResponseRole>,
}

/// A role in the response to one incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ResponseRole {
    IncidentCommander,
    TechnicalLead,
    CommunicationsCoordinator,
    LegalAdvisor,
    BusinessContinuityManager,
    Scribe,
}

impl ResponseRole {
    pub const ALL: [ResponseRole; 6] = [
        ResponseRole::IncidentCommander,
        ResponseRole::TechnicalLead,
        ResponseRole::CommunicationsCoordinator,
        ResponseRole::LegalAdvisor,
        ResponseRole::BusinessContinuityManager,
        ResponseRole::Scribe,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ResponseRole::IncidentCommander => "incident_commander",
            ResponseRole::TechnicalLead => "technical_lead",
            ResponseRole::CommunicationsCoordinator => "communications_coordinator",
            ResponseRole::LegalAdvisor => "legal_advisor",
            ResponseRole::BusinessContinuityManager => "business_continuity_manager",
            ResponseRole::Scribe => "scribe",
        }
    }

    /// For people: "incident commander".
    pub fn title(self) -> String {
        self.as_str().replace('_', " ")
    }
}

impl fmt::Display for ResponseRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ResponseRole {
    type Err = UnknownName;
    fn from_str(text: &str) -> Result<ResponseRole, UnknownName> {
        let wanted = text.replace(['-', ' '], "_");
        ResponseRole::ALL.into_iter().find(|role| role.as_str().eq_ignore_ascii_case(&wanted)).ok_or_else(|| UnknownName {
            what: "response role",
            value: text.to_owned(),
            expected: "incident_commander, technical_lead, communications_coordinator, legal_advisor, business_continuity_manager, scribe",
        })
    }
}

/// What an API token or a user may do. Each role includes those before it, except `Ingest`,
/// which may only send events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AccessRole {
    /// May only post events to the ingest endpoint.
    Ingest,
    /// Reads everything.
    Viewer,
    /// Works incidents: notes, status, severity, tasks, evidence.
    Responder,
    /// Opens and closes incidents, takes containment decisions.
    Commander,
    /// Manages users, tokens and configuration.
    Admin,
}

impl AccessRole {
    pub const ALL: [AccessRole; 5] = [
        AccessRole::Ingest,
        AccessRole::Viewer,
        AccessRole::Responder,
        AccessRole::Commander,
        AccessRole::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AccessRole::Ingest => "ingest",
            AccessRole::Viewer => "viewer",
            AccessRole::Responder => "responder",
            AccessRole::Commander => "commander",
            AccessRole::Admin => "admin",
        }
    }

    /// Whether a holder of `self` may do what needs `required`.
    pub fn allows(self, required: AccessRole) -> bool {
        match (self, required) {
            // Ingest tokens do exactly one thing; every other role may ingest too.
            (AccessRole::Ingest, AccessRole::Ingest) => true,
            (AccessRole::Ingest, _) => false,
            (_, AccessRole::Ingest) => true,
            (held, needed) => held >= needed,
        }
    }

    /// The role just below `self` in the hierarchy, for authorisation tests.
    pub fn below(self) -> Option<AccessRole> {
        match self {
            AccessRole::Ingest => None,
            AccessRole::Viewer => Some(AccessRole::Ingest),
            AccessRole::Responder => Some(AccessRole::Viewer),
            AccessRole::Commander => Some(AccessRole::Responder),
            AccessRole::Admin => Some(AccessRole::Commander),
        }
    }
}

impl fmt::Display for AccessRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AccessRole {
    type Err = UnknownName;
    fn from_str(text: &str) -> Result<AccessRole, UnknownName> {
        AccessRole::ALL.into_iter().find(|role| role.as_str() == text).ok_or_else(|| UnknownName {
            what: "role",
            value: text.to_owned(),
            expected: "ingest, viewer, responder, commander, admin",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_include_those_below_but_ingest_stands_apart() {
        use AccessRole::*;
        assert!(Admin.allows(Viewer));
        assert!(Commander.allows(Responder));
        assert!(!Viewer.allows(Responder));
        assert!(Viewer.allows(Ingest));
        assert!(!Ingest.allows(Viewer));
        for role in AccessRole::ALL {
            assert_eq!(role.as_str().parse::<AccessRole>(), Ok(role));
            if let Some(lower) = role.below() {
                assert!(!lower.allows(role), "{lower} must not pass for {role}");
            }
        }
    }
}
