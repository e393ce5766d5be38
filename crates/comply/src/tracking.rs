//! Tracking an obligation after it is computed: its status, and when to remind people before the
//! deadline. Pure: the current time is a parameter; storage belongs to another crate.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::engine::{NotTriggered, Obligation};

/// Where an obligation stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ObligationStatus {
    /// Due and not yet drafted.
    Owed,
    /// A draft exists; not sent.
    Drafted,
    /// Sent in time.
    Sent {
        /// Reference to the evidence of sending (ticket, email id, portal receipt).
        evidence: String,
    },
    /// Decided not to be required.
    NotRequired {
        /// Why (from the engine, or a person's decision).
        reason: String,
    },
    /// The deadline passed without the notice, or it was sent after the deadline.
    Late {
        /// What happened, with the instants involved.
        reason: String,
    },
}

impl ObligationStatus {
    /// Derives the status at `now`. `evidence` is the reference recorded with the sending
    /// (the sending instant itself is `Obligation::sent`, from the facts' `notices_sent`).
    pub fn derive(
        ob: &Obligation,
        now: Timestamp,
        drafted: bool,
        evidence: Option<&str>,
    ) -> ObligationStatus {
        let due = ob.deadline.latest();
        match (ob.sent, due) {
            (Some(sent), Some(due)) if sent > due => ObligationStatus::Late {
                reason: format!(
                    "sent {sent}, {} after the deadline {due}{}",
                    human(sent.duration_since(due)),
                    evidence.map(|e| format!(" (evidence: {e})")).unwrap_or_default()
                ),
            },
            (Some(_), _) => {
                ObligationStatus::Sent { evidence: evidence.unwrap_or("not recorded").to_string() }
            }
            (None, Some(due)) if now > due => ObligationStatus::Late {
                reason: format!(
                    "deadline {due} passed {} ago and no sending is recorded",
                    human(now.duration_since(due))
                ),
            },
            (None, _) if drafted => ObligationStatus::Drafted,
            (None, _) => ObligationStatus::Owed,
        }
    }

    /// The status of a rule the engine found not to apply.
    pub fn not_required(n: &NotTriggered) -> ObligationStatus {
        ObligationStatus::NotRequired { reason: n.reason.clone() }
    }
}

/// "3h 20m" style durations for messages.
fn human(d: SignedDuration) -> String {
    let mins = d.as_secs() / 60;
    let (days, hours, minutes) = (mins / 1440, (mins % 1440) / 60, mins % 60);
    match (days, hours) {
        (0, 0) => format!("{minutes}m"),
        (0, _) => format!("{hours}h {minutes}m"),
        _ => format!("{days}d {hours}h"),
    }
}

/// When to remind, relative to a clock. Written in TOML/JSON as `{ elapsed = 50 }` or
/// `{ before = "24h" }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reminder {
    /// When this percentage of the time between anchor and deadline has elapsed (50 =
    /// half-time).
    Elapsed(u8),
    /// This long before the deadline.
    Before(SignedDuration),
}

/// A sensible default: half-time, 24 hours before and 1 hour before.
pub fn default_plan() -> Vec<Reminder> {
    vec![
        Reminder::Elapsed(50),
        Reminder::Before(SignedDuration::from_hours(24)),
        Reminder::Before(SignedDuration::from_hours(1)),
    ]
}

/// Reminder instants for a clock that started at `start` and ends at `deadline`: sorted,
/// without duplicates, and only those strictly between the two (a "24 h before" reminder for a
/// 6-hour clock would lie before the clock started, so it is dropped).
pub fn reminders(start: Timestamp, deadline: Timestamp, plan: &[Reminder]) -> Vec<Timestamp> {
    let total = deadline.duration_since(start);
    let mut out: Vec<Timestamp> = plan
        .iter()
        .filter_map(|r| match *r {
            Reminder::Elapsed(p) => {
                let part = total.checked_mul(i32::from(p.min(100)))?.checked_div(100)?;
                start.checked_add(part).ok()
            }
            Reminder::Before(d) => deadline.checked_sub(d).ok(),
        })
        .filter(|t| *t > start && *t < deadline)
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Reminders for an obligation whose clock and deadline are both known; empty otherwise.
pub fn reminders_for(ob: &Obligation, plan: &[Reminder]) -> Vec<Timestamp> {
    match (ob.clock.as_ref().and_then(|c| c.anchor_at), ob.deadline.latest()) {
        (Some(start), Some(due)) => reminders(start, due, plan),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Facts, RulesTable, compute};

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn half_time_24h_and_1h_before_a_72h_clock() {
        let r = reminders(ts("2026-03-02T17:00:00Z"), ts("2026-03-05T17:00:00Z"), &default_plan());
        assert_eq!(
            r,
            [ts("2026-03-04T05:00:00Z"), ts("2026-03-04T17:00:00Z"), ts("2026-03-05T16:00:00Z")]
        );
    }

    #[test]
    fn reminders_before_the_clock_started_are_dropped_and_duplicates_merged() {
        let plan = [
            Reminder::Before(SignedDuration::from_hours(24)),
            Reminder::Elapsed(50),
            Reminder::Before(SignedDuration::from_hours(3)),
        ];
        let r = reminders(ts("2026-06-01T03:00:00Z"), ts("2026-06-01T09:00:00Z"), &plan);
        assert_eq!(r, [ts("2026-06-01T06:00:00Z")]);
    }

    #[test]
    fn reminder_plans_parse_from_toml() {
        #[derive(Deserialize)]
        struct Plan {
            plan: Vec<Reminder>,
        }
        let p: Plan = toml::from_str("plan = [{ elapsed = 50 }, { before = \"24h\" }]").unwrap();
        assert_eq!(p.plan, default_plan()[..2]);
    }

    #[test]
    fn status_follows_the_clock_and_the_sending() {
        let facts = Facts::from_toml(
            "[moments]\nawareness = \"2026-03-02T17:00:00Z\"\n[[affected]]\ncountry = \"FR\"\ncount = 3\n[risk]\nlevel = \"risk\"\n",
        )
        .unwrap();
        let table = RulesTable::builtin().unwrap();
        let a = compute(&facts, &table);
        let ob = a.obligations.iter().find(|o| o.rule_id == "gdpr-33").unwrap();
        let before = ts("2026-03-04T00:00:00Z");
        let after = ts("2026-03-06T00:00:00Z");
        assert_eq!(ObligationStatus::derive(ob, before, false, None), ObligationStatus::Owed);
        assert_eq!(ObligationStatus::derive(ob, before, true, None), ObligationStatus::Drafted);
        assert_eq!(
            ObligationStatus::derive(ob, after, true, None),
            ObligationStatus::Late {
                reason: "deadline 2026-03-05T17:00:00Z passed 7h 0m ago and no sending is recorded"
                    .into()
            }
        );
        let mut sent = ob.clone();
        sent.sent = Some(ts("2026-03-05T12:00:00Z"));
        assert_eq!(
            ObligationStatus::derive(&sent, after, true, Some("DPA-123")),
            ObligationStatus::Sent { evidence: "DPA-123".into() }
        );
        sent.sent = Some(ts("2026-03-05T20:30:00Z"));
        assert_eq!(
            ObligationStatus::derive(&sent, after, true, Some("DPA-123")),
            ObligationStatus::Late {
                reason: "sent 2026-03-05T20:30:00Z, 3h 30m after the deadline 2026-03-05T17:00:00Z (evidence: DPA-123)".into()
            }
        );
        assert_eq!(reminders_for(ob, &default_plan()).len(), 3);
    }
}
