//! `Incident`: what people respond to. Severity SEV1–SEV4, and a status that moves through the
//! NIST SP 800-61 phases by validated transitions, keeping the time each milestone was reached.

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// How bad an incident is. Lower number, worse incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Severity {
    /// Critical: a confirmed breach of sensitive data, or a core business function down for
    /// customers, or an attacker with administrative control. All hands, now, day or night.
    #[serde(rename = "SEV1")]
    Sev1,
    /// High: an active attack that is succeeding in part (an account taken over, data read
    /// without authorisation) or a major function degraded. Respond now, wake the on-call team.
    #[serde(rename = "SEV2")]
    Sev2,
    /// Medium: an attack in progress that controls are holding (credential stuffing being
    /// blocked, a web scan), or a limited exposure with no sensitive data. Respond within hours.
    #[serde(rename = "SEV3")]
    Sev3,
    /// Low: suspicious activity with no sign of success, or a policy deviation. Next business day.
    #[serde(rename = "SEV4")]
    Sev4,
}

impl Severity {
    pub const ALL: [Severity; 4] = [Severity::Sev1, Severity::Sev2, Severity::Sev3, Severity::Sev4];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Sev1 => "SEV1",
            Severity::Sev2 => "SEV2",
            Severity::Sev3 => "SEV3",
            Severity::Sev4 => "SEV4",
        }
    }

    /// The written definition, for people choosing a severity.
    pub fn definition(self) -> &'static str {
        match self {
            Severity::Sev1 => {
                "Critical: confirmed breach of sensitive data, a core business function down for customers, or an attacker with administrative control. All hands, now."
            }
            Severity::Sev2 => {
                "High: an attack succeeding in part (account taken over, data read without authorisation) or a major function degraded. Respond now."
            }
            Severity::Sev3 => {
                "Medium: an attack in progress that controls are holding, or a limited exposure with no sensitive data. Respond within hours."
            }
            Severity::Sev4 => {
                "Low: suspicious activity with no sign of success, or a policy deviation. Next business day."
            }
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{value}`; expected one of: {expected}")]
pub struct UnknownName {
    pub what: &'static str,
    pub value: String,
    pub expected: &'static str,
}

impl FromStr for Severity {
    type Err = UnknownName;
    fn from_str(text: &str) -> Result<Severity, UnknownName> {
        Severity::ALL.into_iter().find(|s| s.as_str().eq_ignore_ascii_case(text)).ok_or_else(|| {
            UnknownName {
                what: "severity",
                value: text.to_owned(),
                expected: "SEV1, SEV2, SEV3, SEV4",
            }
        })
    }
}

/// Where an incident stands, in NIST SP 800-61 terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Detected,
    Triage,
    Containment,
    Eradication,
    Recovery,
    PostIncidentReview,
    Closed,
}

impl Status {
    pub const ALL: [Status; 7] = [
        Status::Detected,
        Status::Triage,
        Status::Containment,
        Status::Eradication,
        Status::Recovery,
        Status::PostIncidentReview,
        Status::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Detected => "detected",
            Status::Triage => "triage",
            Status::Containment => "containment",
            Status::Eradication => "eradication",
            Status::Recovery => "recovery",
            Status::PostIncidentReview => "post_incident_review",
            Status::Closed => "closed",
        }
    }

    /// Whether the incident is still being worked on (anything but closed).
    pub fn is_open(self) -> bool {
        self != Status::Closed
    }

    /// The statuses reachable from this one.
    ///
    /// The phases run forwards; an incident can also go back when analysis finds more (NIST's
    /// loop from containment back to detection and analysis), skip eradication when there is
    /// nothing to remove, close straight from detection or triage when it is a false positive,
    /// and be reopened into triage after closing.
    pub fn next(self) -> &'static [Status] {
        use Status::*;
        match self {
            Detected => &[Triage, Containment, Closed],
            Triage => &[Containment, PostIncidentReview, Closed],
            Containment => &[Eradication, Recovery, Triage],
            Eradication => &[Recovery, Containment],
            Recovery => &[PostIncidentReview, Containment],
            PostIncidentReview => &[Closed, Recovery],
            Closed => &[Triage],
        }
    }

    /// Checks a transition, saying why it is refused.
    pub fn check_transition(self, to: Status) -> Result<(), TransitionError> {
        if self == to {
            return Err(TransitionError {
                from: self,
                to,
                reason: "the incident is already there",
            });
        }
        if self.next().contains(&to) {
            Ok(())
        } else {
            Err(TransitionError {
                from: self,
                to,
                reason: match (self, to) {
                    (Status::Closed, _) => "a closed incident can only be reopened into triage",
                    (_, Status::Detected) => {
                        "detection is where an incident starts, not a phase to return to"
                    }
                    (_, Status::Closed) => {
                        "an incident closes after its post-incident review (or straight away only from detection or triage, as a false positive)"
                    }
                    (_, Status::PostIncidentReview) => "the post-incident review follows recovery",
                    (_, Status::Eradication) => "eradication follows containment",
                    (_, Status::Recovery) => "recovery follows containment or eradication",
                    _ => "that phase does not follow this one",
                },
            })
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = UnknownName;
    fn from_str(text: &str) -> Result<Status, UnknownName> {
        let wanted = text.replace(['-', ' '], "_");
        Status::ALL.into_iter().find(|s| s.as_str().eq_ignore_ascii_case(&wanted)).ok_or_else(
            || UnknownName {
                what: "status",
                value: text.to_owned(),
                expected: "detected, triage, containment, eradication, recovery, post_incident_review, closed",
            },
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot move an incident from {from} to {to}: {reason}")]
pub struct TransitionError {
    pub from: Status,
    pub to: Status,
    pub reason: &'static str,
}

/// When each phase was first reached. A phase re-entered keeps its first time.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Milestones {
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub detected: Option<Timestamp>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub triage: Option<Timestamp>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub containment: Option<Timestamp>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub eradication: Option<Timestamp>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub recovery: Option<Timestamp>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub post_incident_review: Option<Timestamp>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub closed: Option<Timestamp>,
}

impl Milestones {
    pub fn get(&self, status: Status) -> Option<Timestamp> {
        match status {
            Status::Detected => self.detected,
            Status::Triage => self.triage,
            Status::Containment => self.containment,
            Status::Eradication => self.eradication,
            Status::Recovery => self.recovery,
            Status::PostIncidentReview => self.post_incident_review,
            Status::Closed => self.closed,
        }
    }

    fn slot(&mut self, status: Status) -> &mut Option<Timestamp> {
        match status {
            Status::Detected => &mut self.detected,
            Status::Triage => &mut self.triage,
            Status::Containment => &mut self.containment,
            Status::Eradication => &mut self.eradication,
            Status::Recovery => &mut self.recovery,
            Status::PostIncidentReview => &mut self.post_incident_review,
            Status::Closed => &mut self.closed,
        }
    }

    /// Records that `status` was reached at `at`, unless it was reached before.
    pub fn reach(&mut self, status: Status, at: Timestamp) {
        self.slot(status).get_or_insert(at);
    }
}

/// An incident as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Incident {
    pub id: i64,
    pub title: String,
    pub summary: String,
    pub severity: Severity,
    pub status: Status,
    /// A drill or test: kept out of metrics.
    pub drill: bool,
    /// Set when this incident was merged into another: it is closed, and its alerts moved there.
    pub merged_into: Option<i64>,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub created_at: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub updated_at: Timestamp,
    pub milestones: Milestones,
}

impl Incident {
    /// Moves the incident to `to` at `at`, recording the milestone.
    pub fn transition(&mut self, to: Status, at: Timestamp) -> Result<(), TransitionError> {
        self.status.check_transition(to)?;
        self.status = to;
        self.milestones.reach(to, at);
        self.updated_at = at;
        Ok(())
    }
}

/// The figures a team reports on its incidents. Drills and merged incidents are left out
/// (a drill is practice; a merged incident lives on in the one it joined), and counted apart.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IncidentStats {
    /// Real incidents, open or closed.
    pub total: u64,
    /// Open real incidents per severity (`SEV1` … `SEV4`).
    pub open_by_severity: std::collections::BTreeMap<String, u64>,
    /// Real incidents per current status.
    pub by_status: std::collections::BTreeMap<String, u64>,
    /// Median seconds from detection to containment, over incidents that reached containment.
    pub median_secs_to_contain: Option<i64>,
    /// Median seconds from detection to closing, over closed incidents.
    pub median_secs_to_close: Option<i64>,
    /// Drills, not counted above.
    pub drills: u64,
    /// Merged into another incident, not counted above.
    pub merged: u64,
}

impl IncidentStats {
    pub fn of<'a>(incidents: impl IntoIterator<Item = &'a Incident>) -> IncidentStats {
        let mut stats = IncidentStats::default();
        let mut contain = Vec::new();
        let mut close = Vec::new();
        for incident in incidents {
            if incident.drill {
                stats.drills += 1;
                continue;
            }
            if incident.merged_into.is_some() {
                stats.merged += 1;
                continue;
            }
            stats.total += 1;
            *stats.by_status.entry(incident.status.as_str().to_owned()).or_default() += 1;
            if incident.status.is_open() {
                *stats
                    .open_by_severity
                    .entry(incident.severity.as_str().to_owned())
                    .or_default() += 1;
            }
            let detected = incident.milestones.detected.unwrap_or(incident.created_at);
            let since = |at: Option<Timestamp>| at.map(|at| at.as_second() - detected.as_second());
            contain.extend(since(incident.milestones.containment));
            close.extend(since(incident.milestones.closed));
        }
        stats.median_secs_to_contain = median(&mut contain);
        stats.median_secs_to_close = median(&mut close);
        stats
    }
}

/// The median (the lower middle of an even count), or none of nothing.
fn median(values: &mut [i64]) -> Option<i64> {
    values.sort_unstable();
    values.get(values.len().saturating_sub(1) / 2).copied()
}

/// What is needed to open an incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewIncident {
    pub title: String,
    #[serde(default)]
    pub summary: String,
    pub severity: Severity,
    #[serde(default)]
    pub drill: bool,
}

/// Limits on what people type into an incident.
pub const MAX_TITLE_CHARS: usize = 200;
pub const MAX_TEXT_CHARS: usize = 20_000;

impl NewIncident {
    pub fn validate(&self) -> Result<(), String> {
        check_text("title", &self.title, 1, MAX_TITLE_CHARS)?;
        check_text("summary", &self.summary, 0, MAX_TEXT_CHARS)
    }
}

/// Checks a piece of free text against its length limits, naming the field.
pub fn check_text(field: &str, text: &str, min: usize, max: usize) -> Result<(), String> {
    let chars = text.chars().count();
    if text.trim().chars().count() < min {
        return Err(format!("`{field}` must not be empty"));
    }
    if chars > max {
        return Err(format!("`{field}` is {chars} characters long; the limit is {max}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn every_status_round_trips_through_its_name() {
        for status in Status::ALL {
            assert_eq!(status.as_str().parse::<Status>(), Ok(status));
        }
        assert_eq!("post-incident-review".parse::<Status>(), Ok(Status::PostIncidentReview));
        for severity in Severity::ALL {
            assert_eq!(severity.as_str().parse::<Severity>(), Ok(severity));
        }
        assert!("SEV5".parse::<Severity>().is_err());
    }

    #[test]
    fn the_happy_path_walks_every_phase_and_keeps_first_times() {
        let mut incident = Incident {
            id: 1,
            title: "t".into(),
            summary: String::new(),
            severity: Severity::Sev2,
            status: Status::Detected,
            drill: false,
            merged_into: None,
            created_at: at("2026-01-01T00:00:00Z"),
            updated_at: at("2026-01-01T00:00:00Z"),
            milestones: Milestones::default(),
        };
        let path = [
            Status::Triage,
            Status::Containment,
            Status::Eradication,
            Status::Containment,
            Status::Eradication,
            Status::Recovery,
            Status::PostIncidentReview,
            Status::Closed,
        ];
        for (hour, status) in path.into_iter().enumerate() {
            incident.transition(status, at(&format!("2026-01-01T{:02}:00:00Z", hour + 1))).unwrap();
        }
        assert_eq!(incident.milestones.containment, Some(at("2026-01-01T02:00:00Z")));
        assert_eq!(incident.milestones.eradication, Some(at("2026-01-01T03:00:00Z")));
        assert_eq!(incident.milestones.closed, Some(at("2026-01-01T08:00:00Z")));
    }

    #[test]
    fn invalid_transitions_say_why() {
        let refused = [
            (Status::Detected, Status::Recovery),
            (Status::Closed, Status::Containment),
            (Status::Containment, Status::Closed),
            (Status::Recovery, Status::Detected),
            (Status::Triage, Status::Triage),
        ];
        for (from, to) in refused {
            let error = from.check_transition(to).unwrap_err();
            assert!(!error.reason.is_empty());
            assert!(error.to_string().contains(from.as_str()), "{error}");
        }
    }

    #[test]
    fn text_limits_name_the_field() {
        let new = NewIncident {
            title: " ".into(),
            summary: String::new(),
            severity: Severity::Sev3,
            drill: false,
        };
        assert_eq!(new.validate(), Err("`title` must not be empty".into()));
    }

    #[test]
    fn stats_leave_drills_and_merged_incidents_out() {
        let base = |id: i64, severity: Severity| Incident {
            id,
            title: "t".into(),
            summary: String::new(),
            severity,
            status: Status::Detected,
            drill: false,
            merged_into: None,
            created_at: at("2026-01-01T00:00:00Z"),
            updated_at: at("2026-01-01T00:00:00Z"),
            milestones: Milestones {
                detected: Some(at("2026-01-01T00:00:00Z")),
                ..Milestones::default()
            },
        };
        let mut contained = base(1, Severity::Sev2);
        contained.transition(Status::Containment, at("2026-01-01T00:10:00Z")).unwrap();
        let mut closed = base(2, Severity::Sev3);
        closed.transition(Status::Containment, at("2026-01-01T00:30:00Z")).unwrap();
        closed.status = Status::Closed;
        closed.milestones.closed = Some(at("2026-01-02T00:00:00Z"));
        let open = base(3, Severity::Sev2);
        let drill = Incident { drill: true, ..base(4, Severity::Sev1) };
        let merged = Incident { merged_into: Some(1), ..base(5, Severity::Sev1) };
        let stats = IncidentStats::of(&[contained, closed, open, drill, merged]);
        assert_eq!(stats.total, 3);
        assert_eq!(stats.drills, 1);
        assert_eq!(stats.merged, 1);
        assert_eq!(stats.open_by_severity.get("SEV2"), Some(&2));
        assert_eq!(stats.open_by_severity.get("SEV1"), None, "the drill and the merged are out");
        assert_eq!(stats.by_status.get("closed"), Some(&1));
        assert_eq!(stats.median_secs_to_contain, Some(600));
        assert_eq!(stats.median_secs_to_close, Some(86_400));
    }
}
