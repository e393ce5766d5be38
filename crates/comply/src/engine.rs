//! The engine: applies every row of the rules table to the facts and says, for each, whether a
//! notice is owed, by when and why — or why not, or which fact is missing to decide.

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use crate::calendar::{self, CalcError, HolidayCalendar};
use crate::facts::{Facts, Moment};
use crate::rules::{
    Anchor, Area, Basis, Condition, Confidence, CountOf, EncryptionRule, Period, Recipient,
    Relation, Rule, RulesTable, Threshold, Unit, moment_name,
};

/// The result of applying a rules table to an incident's facts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    /// The rules table's version, so a stored assessment can be traced to its rules.
    pub table_version: String,
    /// Notices owed, earliest deadline first.
    pub obligations: Vec<Obligation>,
    /// Rules that may apply but need a fact that is not recorded yet.
    pub undetermined: Vec<Undetermined>,
    /// Rules that do not apply, each with the reason.
    pub not_triggered: Vec<NotTriggered>,
    /// Inconsistencies in the facts that did not stop the computation (e.g. a sent notice under
    /// a rule id the table does not have).
    pub warnings: Vec<String>,
}

/// A notice owed under one rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Obligation {
    /// The rule's id (record the notice under it in `notices_sent`).
    pub rule_id: String,
    /// Regime name.
    pub regime: String,
    /// What to do.
    pub title: String,
    /// Article or section.
    pub citation: String,
    /// Where the rule applies.
    pub jurisdiction: String,
    /// Who must be told.
    pub recipient: Recipient,
    /// Which body, when known.
    pub recipient_detail: Option<String>,
    /// Research confidence of the row (show L and M rows as such).
    pub confidence: Confidence,
    /// When the row was last checked.
    pub last_checked: Date,
    /// When the notice is due.
    pub deadline: Deadline,
    /// The head-count threshold the rule applied, with its exact operator.
    pub threshold: Option<Threshold>,
    /// How the deadline was counted, when it has a clock.
    pub clock: Option<Clock>,
    /// When the notice was sent, if recorded.
    pub sent: Option<Timestamp>,
    /// Which facts and which parts of the rule produced this obligation.
    pub why: Vec<String>,
    /// The row's caveats.
    pub notes: Option<String>,
}

/// When a notice is due. All instants are UTC.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Deadline {
    /// Due by this instant; with `asap`, "without undue delay, and at the latest" then.
    Due {
        /// The outer limit.
        at: Timestamp,
        /// The rule also requires acting without undue delay.
        asap: bool,
    },
    /// "Without undue delay" (or similar) with no outer limit in the rule.
    Asap,
    /// The clock's anchor fact is not recorded yet.
    Pending {
        /// The facts field(s) to record, e.g. `moments.discovery`.
        missing: Vec<String>,
        /// The rule also requires acting without undue delay.
        asap: bool,
        /// An outer bound that is already known from another limit (DORA's 24 h cap).
        latest: Option<Timestamp>,
    },
    /// Tied to another notice that has not been sent yet.
    AfterNotice {
        /// The other rule's id.
        notice: String,
        /// How this notice relates to it, e.g. "15 calendar days after" or "before".
        relation: String,
        /// The latest possible instant, from the other notice's own deadline (None if that
        /// has no fixed limit yet).
        latest: Option<Timestamp>,
        /// The rule also requires acting without undue delay.
        asap: bool,
    },
}

impl Deadline {
    /// The latest instant the notice may be sent, when one is known.
    pub fn latest(&self) -> Option<Timestamp> {
        match self {
            Deadline::Due { at, .. } => Some(*at),
            Deadline::Pending { latest, .. } | Deadline::AfterNotice { latest, .. } => *latest,
            Deadline::Asap => None,
        }
    }
}

impl Deadline {
    /// A compact code for tests and logs: `due T`, `asap T` (without undue delay, at the latest
    /// T), `asap`, `pending FIELD[ | T]`, `after NOTICE[ | T]`.
    pub fn code(&self) -> String {
        let bound = |t: &Option<Timestamp>| t.map(|t| format!(" | {t}")).unwrap_or_default();
        match self {
            Deadline::Due { at, asap: false } => format!("due {at}"),
            Deadline::Due { at, asap: true } => format!("asap {at}"),
            Deadline::Asap => "asap".to_string(),
            Deadline::Pending { missing, latest, .. } => {
                format!("pending {}{}", missing.join(","), bound(latest))
            }
            Deadline::AfterNotice { notice, latest, .. } => {
                format!("after {notice}{}", bound(latest))
            }
        }
    }
}

impl std::fmt::Display for Deadline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let latest = |t: &Option<Timestamp>| match t {
            Some(t) => format!("; at the latest {t}"),
            None => String::new(),
        };
        match self {
            Deadline::Due { at, asap: true } => {
                write!(f, "without undue delay, at the latest {at}")
            }
            Deadline::Due { at, asap: false } => write!(f, "by {at}"),
            Deadline::Asap => f.write_str("without undue delay (no fixed limit)"),
            Deadline::Pending { missing, latest: l, .. } => {
                write!(f, "pending: record {}{}", missing.join(", "), latest(l))
            }
            Deadline::AfterNotice { notice, relation, latest: l, .. } => {
                write!(f, "{relation} notice `{notice}` (not sent yet){}", latest(l))
            }
        }
    }
}

/// How a deadline was counted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Clock {
    /// What starts the clock, e.g. `discovery` or `notice:us-ca-individuals`.
    pub anchor: String,
    /// When the anchor happened, if recorded.
    pub anchor_at: Option<Timestamp>,
    /// Number of units.
    pub amount: i64,
    /// Unit of the period.
    pub unit: Unit,
    /// Working-day calendar, for business days.
    pub calendar: Option<HolidayCalendar>,
    /// Zone in which day-based periods end.
    pub time_zone: String,
}

/// A rule that may apply but needs more facts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Undetermined {
    /// The rule's id.
    pub rule_id: String,
    /// Regime name.
    pub regime: String,
    /// Article or section.
    pub citation: String,
    /// The facts fields to record.
    pub missing: Vec<String>,
    /// What is already established.
    pub why: Vec<String>,
}

/// A rule considered and not triggered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotTriggered {
    /// The rule's id.
    pub rule_id: String,
    /// Regime name.
    pub regime: String,
    /// Article or section.
    pub citation: String,
    /// Why not.
    pub reason: String,
    /// False when the rule is outside the incident's scope altogether (another place, another
    /// kind of entity); true when it was in scope and a condition, threshold or exemption ruled
    /// it out. Renderers show the second kind.
    pub in_scope: bool,
}

/// Why one rule's deadline could not be computed (reported in `undetermined`).
#[derive(Debug, thiserror::Error)]
pub enum ComputeError {
    /// Deadline arithmetic failed.
    #[error("rule `{rule}`: {source}")]
    Calc {
        /// The rule id.
        rule: String,
        /// The arithmetic error.
        source: CalcError,
    },
    /// A rule names a time zone the bundled database does not know.
    #[error("rule `{rule}`: unknown time zone `{tz}`")]
    TimeZone {
        /// The rule id.
        rule: String,
        /// The zone name.
        tz: String,
    },
}

/// The tri-state outcome of a test on the facts.
enum Truth {
    Yes(String),
    No(String),
    /// Depends on a fact not recorded; names its field.
    Unknown(String),
}

/// Applies the table to the facts. Never fails: a deadline that cannot be computed (dates at the
/// edge of the representable range, a zone missing from a hand-built table) moves its rule to
/// `undetermined` with the reason, rather than hiding the other obligations.
pub fn compute(facts: &Facts, table: &RulesTable) -> Assessment {
    let mut applicable: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut undetermined = Vec::new();
    let mut not_triggered = Vec::new();
    for rule in &table.rules {
        match evaluate(rule, facts, table) {
            Outcome::Applies(why) => {
                applicable.insert(rule.id.as_str(), why);
            }
            Outcome::Undetermined(missing, why) => undetermined.push(Undetermined {
                rule_id: rule.id.clone(),
                regime: rule.regime.clone(),
                citation: rule.citation.clone(),
                missing,
                why,
            }),
            Outcome::No(reason, in_scope) => not_triggered.push(NotTriggered {
                rule_id: rule.id.clone(),
                regime: rule.regime.clone(),
                citation: rule.citation.clone(),
                reason,
                in_scope,
            }),
        }
    }
    let mut ctx = Ctx { facts, table, applicable: &applicable, memo: BTreeMap::new() };
    let mut obligations = Vec::new();
    for rule in &table.rules {
        let Some(why) = applicable.get(rule.id.as_str()) else { continue };
        let (deadline, clock, mut trail) = match ctx.deadline(rule) {
            Ok(d) => d,
            Err(e) => {
                undetermined.push(Undetermined {
                    rule_id: rule.id.clone(),
                    regime: rule.regime.clone(),
                    citation: rule.citation.clone(),
                    missing: vec!["a deadline within the supported date range".into()],
                    why: vec![e.to_string()],
                });
                continue;
            }
        };
        let mut why = why.clone();
        why.append(&mut trail);
        obligations.push(Obligation {
            rule_id: rule.id.clone(),
            regime: rule.regime.clone(),
            title: rule.title.clone(),
            citation: rule.citation.clone(),
            jurisdiction: rule.jurisdiction.clone(),
            recipient: rule.recipient,
            recipient_detail: rule.recipient_detail.clone(),
            confidence: rule.confidence,
            last_checked: rule.last_checked,
            deadline,
            threshold: rule.threshold,
            clock,
            sent: facts.notices_sent.get(&rule.id).copied(),
            why,
            notes: rule.notes.clone(),
        });
    }
    obligations.sort_by_key(sort_key);
    let mut warnings = Vec::new();
    for id in facts.notices_sent.keys() {
        if table.get(id).is_none() {
            warnings.push(format!(
                "notices_sent.{id}: no rule `{id}` in rules table {}; the sending is ignored",
                table.version
            ));
        } else if !applicable.contains_key(id.as_str()) {
            warnings.push(format!(
                "notices_sent.{id}: recorded, but the rule does not apply on these facts"
            ));
        }
    }
    Assessment {
        table_version: table.version.clone(),
        obligations,
        undetermined,
        not_triggered,
        warnings,
    }
}

/// Most urgent first: by the latest permissible instant; open-ended "without undue delay"
/// duties last.
fn sort_key(o: &Obligation) -> (bool, Option<Timestamp>, u8, String) {
    // On a tie a chained notice goes first: "before" or "with" another notice means it must
    // not trail the one it is tied to.
    let rank = match &o.deadline {
        Deadline::AfterNotice { .. } => 0,
        Deadline::Due { .. } => 1,
        Deadline::Pending { .. } => 2,
        Deadline::Asap => 3,
    };
    let latest = o.deadline.latest();
    (latest.is_none(), latest, rank, o.rule_id.clone())
}

enum Outcome {
    Applies(Vec<String>),
    Undetermined(Vec<String>, Vec<String>),
    No(String, bool),
}

fn evaluate(rule: &Rule, facts: &Facts, table: &RulesTable) -> Outcome {
    let mut why = Vec::new();
    // Geography first: a rule for another place is out of scope, not "not triggered".
    match geography(rule, facts) {
        Truth::Yes(w) => why.push(w),
        Truth::No(r) => return Outcome::No(r, false),
        Truth::Unknown(f) => return Outcome::Undetermined(vec![f], why),
    }
    if let Some(from) = rule.in_force_from
        && let Some((name, at)) = clock_start(rule, facts)
    {
        let day = at.to_zoned(tz_or_utc(&rule.tz)).date();
        if day < from {
            return Outcome::No(
                format!(
                    "this row applies from {from}; {name} ({day}) is earlier, so an earlier version of the law (not in this table) governs"
                ),
                true,
            );
        }
    }
    let mut missing = Vec::new();
    for c in &rule.when {
        match condition(c, facts, table, rule) {
            Truth::Yes(w) => why.push(w),
            // Entity and role mismatches mean the rule is for someone else.
            Truth::No(r) => {
                let in_scope = !matches!(
                    c,
                    Condition::EntityAny(_) | Condition::EntityNone(_) | Condition::Role(_)
                );
                return Outcome::No(r, in_scope);
            }
            Truth::Unknown(f) => missing.push(f),
        }
    }
    if let Some(t) = &rule.threshold {
        match threshold(t, rule, facts) {
            Truth::Yes(w) => why.push(w),
            Truth::No(r) => return Outcome::No(r, true),
            Truth::Unknown(f) => missing.push(f),
        }
    }
    match encryption(rule.encryption, facts) {
        Truth::Yes(w) => why.push(w),
        Truth::No(r) => return Outcome::No(r, true),
        Truth::Unknown(f) => missing.push(f),
    }
    if !rule.in_force {
        // Checked last, so only organisations the rule would cover are told it is not in force.
        return Outcome::No(
            "not in force yet; it would apply on these facts, so plan for it".into(),
            true,
        );
    }
    if missing.is_empty() {
        Outcome::Applies(why)
    } else {
        missing.dedup();
        Outcome::Undetermined(missing, why)
    }
}

/// The moment a rule's own clock starts (for `in_force_from`), or the earliest recorded
/// discovery/awareness/determination when the clock runs from another notice.
fn clock_start(rule: &Rule, facts: &Facts) -> Option<(&'static str, Timestamp)> {
    if let Some(p) = &rule.deadline.within
        && let Anchor::Moment(m) | Anchor::YearEndOf(m) = p.after
        && let Some(t) = facts.moments.get(m)
    {
        return Some((moment_name(m), t));
    }
    [Moment::Discovery, Moment::Awareness, Moment::Determination]
        .into_iter()
        .filter_map(|m| facts.moments.get(m).map(|t| (moment_name(m), t)))
        .min_by_key(|(_, t)| *t)
}

fn tz_or_utc(name: &str) -> TimeZone {
    // Names were validated when the table loaded; UTC is only a defensive fallback.
    TimeZone::get(name).unwrap_or(TimeZone::UTC)
}

fn area_count(area: Area, facts: &Facts) -> u64 {
    match area {
        Area::UsState(s) => facts.count_in_state(s),
        _ => facts
            .affected
            .iter()
            .filter(|a| area.contains_country(a.country))
            .map(|a| a.count)
            .sum(),
    }
}

fn geography(rule: &Rule, facts: &Facts) -> Truth {
    let Some(area) = rule.applies.area else {
        return Truth::Yes("applies wherever the people live (entity-based rule)".into());
    };
    let people = area_count(area, facts);
    let established = facts.organisation.established_in.iter().any(|c| area.contains_country(*c));
    let people_yes =
        Truth::Yes(format!("{people} affected people reside in {}", rule.jurisdiction));
    let est_yes = Truth::Yes(format!("the organisation is established in {}", rule.jurisdiction));
    match rule.applies.basis {
        Basis::Everywhere => Truth::Yes("no geographic condition".into()),
        Basis::People if people > 0 => people_yes,
        Basis::People => Truth::No(format!("no affected residents of {}", rule.jurisdiction)),
        Basis::Establishment if established => est_yes,
        Basis::Establishment => {
            Truth::No(format!("the organisation is not established in {}", rule.jurisdiction))
        }
        Basis::PeopleOrEstablishment if people > 0 => people_yes,
        Basis::PeopleOrEstablishment if established => est_yes,
        Basis::PeopleOrEstablishment => Truth::No(format!(
            "no affected residents of {0} and no establishment in {0}",
            rule.jurisdiction
        )),
    }
}

fn condition(c: &Condition, facts: &Facts, table: &RulesTable, rule: &Rule) -> Truth {
    let names = |v: &[crate::facts::EntityType]| {
        v.iter().map(|e| e.name()).collect::<Vec<_>>().join(" or ")
    };
    match c {
        Condition::EntityAny(types) => match types.iter().find(|t| facts.is(**t)) {
            Some(t) => Truth::Yes(format!("the organisation is a {}", names(&[*t]))),
            None => Truth::No(format!("the organisation is not a {}", names(types))),
        },
        Condition::EntityNone(types) => match types.iter().find(|t| facts.is(**t)) {
            Some(t) => Truth::No(format!(
                "the organisation is a {}, which this rule excludes",
                names(&[*t])
            )),
            None => Truth::Yes(format!("the organisation is not a {}", names(types))),
        },
        Condition::Role(r) => {
            if facts.organisation.role == *r {
                Truth::Yes(format!("the organisation acts as {}", r.name()))
            } else {
                Truth::No(format!(
                    "the organisation acts as {}, this duty is the {}'s",
                    facts.organisation.role.name(),
                    r.name()
                ))
            }
        }
        Condition::RiskAtLeast(min) => match facts.risk.level {
            None => Truth::Unknown("risk.level".into()),
            Some(l) if l >= *min => {
                Truth::Yes(format!("risk level `{}` is at least `{}`", l.name(), min.name()))
            }
            Some(l) => Truth::No(format!("risk level `{}` is below `{}`", l.name(), min.name())),
        },
        Condition::Flag(f) => {
            let v = match f {
                crate::rules::Flag::SignificantIncident => facts.risk.significant_incident,
                crate::rules::Flag::MajorIctIncident => facts.risk.major_ict_incident,
                crate::rules::Flag::Material => facts.risk.material,
                crate::rules::Flag::NotificationIncident => facts.risk.notification_incident,
                crate::rules::Flag::ReportableCybersecurityIncident => {
                    facts.risk.reportable_cybersecurity_incident
                }
                crate::rules::Flag::CertInListed => facts.risk.cert_in_listed,
                crate::rules::Flag::RansomPaid => facts.risk.ransom_paid,
            };
            match v {
                Some(true) => Truth::Yes(format!("{} = true", f.field())),
                Some(false) => Truth::No(format!("{} = false", f.field())),
                None => Truth::Unknown(f.field().into()),
            }
        }
        Condition::DataAny(cats) => data_match(cats, facts, None),
        Condition::DataSet(name) => {
            let cats = table.data_sets.get(name).map(Vec::as_slice).unwrap_or(&[]);
            data_match(cats, facts, Some(name))
        }
        Condition::SectorAny(sectors) => {
            match sectors.iter().find(|s| facts.organisation.sectors.contains(s)) {
                Some(s) => Truth::Yes(format!("the organisation is in the {} sector", s.name())),
                None => Truth::No(format!(
                    "the organisation is not in the {} sector",
                    sectors.iter().map(|s| s.name()).collect::<Vec<_>>().join(" or ")
                )),
            }
        }
        Condition::TurnoverAudOver(v) => match facts.organisation.annual_turnover_aud {
            Some(t) if t > *v => Truth::Yes(format!("annual turnover AUD {t} > {v}")),
            Some(t) => Truth::No(format!("annual turnover AUD {t} is not above {v}")),
            None => Truth::Unknown("organisation.annual_turnover_aud".into()),
        },
        Condition::Count(t) => threshold(t, rule, facts),
        Condition::AnyOf(inner) => {
            let mut nos = Vec::new();
            let mut unknown = None;
            for c in inner {
                match condition(c, facts, table, rule) {
                    Truth::Yes(w) => return Truth::Yes(w),
                    Truth::No(r) => nos.push(r),
                    Truth::Unknown(f) => unknown = unknown.or(Some(f)),
                }
            }
            match unknown {
                Some(f) => Truth::Unknown(f),
                None => Truth::No(nos.join("; and ")),
            }
        }
    }
}

fn data_match(cats: &[crate::facts::DataCategory], facts: &Facts, set: Option<&str>) -> Truth {
    if facts.data.is_empty() {
        return Truth::Unknown("data".into());
    }
    let hit: Vec<&str> = facts.data.iter().filter(|d| cats.contains(d)).map(|d| d.name()).collect();
    let within = set.map(|s| format!(" (data set `{s}`)")).unwrap_or_default();
    if hit.is_empty() {
        let all: Vec<&str> = cats.iter().map(|d| d.name()).collect();
        Truth::No(format!(
            "none of the data involved is covered{within}: needs one of {}",
            all.join(", ")
        ))
    } else {
        Truth::Yes(format!("covered data involved{within}: {}", hit.join(", ")))
    }
}

fn threshold(t: &Threshold, rule: &Rule, facts: &Facts) -> Truth {
    let op = t.op.symbol();
    let v = t.value;
    match t.of {
        CountOf::AnyUsState => {
            let mut states: Vec<_> = facts.affected.iter().filter_map(|a| a.state).collect();
            states.sort();
            states.dedup();
            let hits: Vec<String> = states
                .iter()
                .map(|s| (s, facts.count_in_state(*s)))
                .filter(|(_, n)| t.op.holds(*n, v))
                .map(|(s, n)| format!("{s}: {n}"))
                .collect();
            if hits.is_empty() {
                Truth::No(format!("no single US state has {op} {v} affected residents"))
            } else {
                Truth::Yes(format!("residents of one state {op} {v}: {}", hits.join(", ")))
            }
        }
        of => {
            let (n, what) = match (of, rule.applies.area) {
                (CountOf::Area, Some(area)) => {
                    (area_count(area, facts), format!("in {}", rule.jurisdiction))
                }
                _ => (facts.count_total(), "in total".to_string()),
            };
            if t.op.holds(n, v) {
                Truth::Yes(format!("{n} affected {what}, threshold {op} {v} met"))
            } else {
                Truth::No(format!("{n} affected {what}, threshold {op} {v} not met"))
            }
        }
    }
}

fn encryption(rule: EncryptionRule, facts: &Facts) -> Truth {
    let e = facts.encryption;
    match rule {
        EncryptionRule::NoExemption if e.encrypted => {
            Truth::Yes("encryption does not exempt this duty".into())
        }
        EncryptionRule::NoExemption => Truth::Yes("data not encrypted".into()),
        EncryptionRule::UnlessKeyCompromised if e.protected() => {
            Truth::No("exempt: the data was encrypted and the key was not compromised".into())
        }
        EncryptionRule::UnlessKeyCompromised if e.encrypted => {
            Truth::Yes("encrypted, but the key was compromised, so no exemption".into())
        }
        EncryptionRule::UnlessKeyCompromised => Truth::Yes("data not encrypted".into()),
        EncryptionRule::HhsSecured if e.hhs_secured && !e.key_compromised => {
            Truth::No("exempt: the PHI was secured as HHS guidance defines it".into())
        }
        EncryptionRule::HhsSecured => {
            Truth::Yes("PHI was not secured per HHS guidance (unsecured PHI)".into())
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Deadlines

/// One limit's outcome.
#[derive(Clone)]
enum Limit {
    Fixed(Timestamp),
    /// Waits for an unsent notice; `latest` from that notice's own deadline.
    Bound {
        notice: String,
        relation: String,
        latest: Option<Timestamp>,
    },
    Pending(Vec<String>),
}

struct Ctx<'a> {
    facts: &'a Facts,
    table: &'a RulesTable,
    applicable: &'a BTreeMap<&'a str, Vec<String>>,
    memo: BTreeMap<String, Deadline>,
}

type Computed = (Deadline, Option<Clock>, Vec<String>);

impl Ctx<'_> {
    fn deadline(&mut self, rule: &Rule) -> Result<Computed, ComputeError> {
        let tz = TimeZone::get(&rule.tz)
            .map_err(|_| ComputeError::TimeZone { rule: rule.id.clone(), tz: rule.tz.clone() })?;
        let spec = &rule.deadline;
        let mut why = Vec::new();
        let mut limits = Vec::new();
        let mut clock = None;
        let mut within_anchor = None;
        if let Some(p) = &spec.within {
            let (limit, anchor_at) = self.period(rule, p, &tz, &mut why)?;
            within_anchor = anchor_at;
            clock = Some(Clock {
                anchor: p.after.to_string(),
                anchor_at,
                amount: p.amount,
                unit: p.unit,
                calendar: if p.unit == Unit::BusinessDays { spec.calendar } else { None },
                time_zone: rule.tz.clone(),
            });
            limits.push(limit);
        }
        if let Some(p) = &spec.cap {
            let (limit, _) = self.period(rule, p, &tz, &mut why)?;
            // A cap that falls before the main clock even starts (a late classification) would
            // be impossible to meet; the rule then runs from the main anchor alone.
            match (&limit, within_anchor) {
                (Limit::Fixed(cap), Some(start)) if *cap < start => why.push(format!(
                    "the cap ({} {} after {}) passed before the clock started, so only the main period applies",
                    p.amount,
                    p.unit.name(p.amount),
                    p.after
                )),
                _ => limits.push(limit),
            }
        }
        if let Some(chain) = &spec.chain {
            let phrase = chain.relation.phrase();
            match self.facts.notices_sent.get(&chain.notice) {
                Some(sent) => {
                    why.push(format!("must go {phrase} notice `{}`, sent {sent}", chain.notice));
                    limits.push(Limit::Fixed(*sent));
                }
                None => {
                    let latest = self.upstream_latest(&chain.notice)?;
                    why.push(format!("must go {phrase} notice `{}`, not sent yet", chain.notice));
                    limits.push(Limit::Bound {
                        notice: chain.notice.clone(),
                        relation: phrase.to_string(),
                        latest,
                    });
                }
            }
            if chain.relation == Relation::Before {
                why.push(format!("send it strictly before `{}`", chain.notice));
            }
        }
        let deadline = combine(spec.asap, limits);
        if spec.asap {
            why.push(match deadline {
                Deadline::Asap => {
                    "the rule requires acting without undue delay and sets no fixed limit".into()
                }
                _ => {
                    "the rule requires acting without undue delay; the outer limit is not a target"
                        .into()
                }
            });
        }
        self.memo.insert(rule.id.clone(), deadline.clone());
        Ok((deadline, clock, why))
    }

    /// The latest instant an unsent upstream notice may go, from its own deadline.
    fn upstream_latest(&mut self, id: &str) -> Result<Option<Timestamp>, ComputeError> {
        if let Some(d) = self.memo.get(id) {
            return Ok(d.latest());
        }
        if !self.applicable.contains_key(id) {
            return Ok(None);
        }
        let Some(up) = self.table.get(id) else { return Ok(None) };
        let (d, _, _) = self.deadline(up)?;
        Ok(d.latest())
    }

    fn period(
        &mut self,
        rule: &Rule,
        p: &Period,
        tz: &TimeZone,
        why: &mut Vec<String>,
    ) -> Result<(Limit, Option<Timestamp>), ComputeError> {
        let cal = rule.deadline.calendar.unwrap_or(HolidayCalendar::WeekendsOnly);
        let add = |from: Timestamp| -> Result<Timestamp, ComputeError> {
            add_period(from, p.amount, p.unit, tz, cal)
                .map_err(|source| ComputeError::Calc { rule: rule.id.clone(), source })
        };
        let span = format!("{} {}", p.amount, p.unit.name(p.amount));
        match &p.after {
            Anchor::Moment(m) => match self.facts.moments.get(*m) {
                Some(at) => {
                    let due = add(at)?;
                    why.push(format!("{span} after {} ({at}) → {due}", moment_name(*m)));
                    Ok((Limit::Fixed(due), Some(at)))
                }
                None => {
                    why.push(format!("{span} after {}, which is not recorded", moment_name(*m)));
                    Ok((Limit::Pending(vec![m.field().to_string()]), None))
                }
            },
            Anchor::YearEndOf(m) => match self.facts.moments.get(*m) {
                Some(at) => {
                    let end = calendar::year_end(at, tz)
                        .map_err(|source| ComputeError::Calc { rule: rule.id.clone(), source })?;
                    let due = add(end)?;
                    why.push(format!(
                        "{span} after the end of the calendar year of {} ({at}) → {due}",
                        moment_name(*m)
                    ));
                    Ok((Limit::Fixed(due), Some(end)))
                }
                None => Ok((Limit::Pending(vec![m.field().to_string()]), None)),
            },
            Anchor::Notice(id) => match self.facts.notices_sent.get(id) {
                Some(at) => {
                    let due = add(*at)?;
                    why.push(format!("{span} after notice `{id}` was sent ({at}) → {due}"));
                    Ok((Limit::Fixed(due), Some(*at)))
                }
                None => {
                    let up = self.upstream_latest(id)?;
                    let latest = match up {
                        Some(t) => Some(add(t)?),
                        None => None,
                    };
                    why.push(match latest {
                        Some(l) => format!(
                            "{span} after notice `{id}`, not sent yet; if it goes at its own deadline this is due {l}"
                        ),
                        None => format!("{span} after notice `{id}`, not sent yet and without a fixed deadline"),
                    });
                    Ok((
                        Limit::Bound {
                            notice: id.clone(),
                            relation: format!("{span} after"),
                            latest,
                        },
                        None,
                    ))
                }
            },
        }
    }
}

/// Adds a period to an instant in a zone, by the conventions of [`crate::calendar`].
pub fn add_period(
    from: Timestamp,
    amount: i64,
    unit: Unit,
    tz: &TimeZone,
    cal: HolidayCalendar,
) -> Result<Timestamp, CalcError> {
    match unit {
        Unit::Hours => calendar::add_hours(from, amount),
        Unit::CalendarDays => calendar::add_calendar_days(from, amount, tz),
        Unit::BusinessDays => calendar::add_business_days(from, amount, tz, cal),
        Unit::Months => calendar::add_months(from, amount, tz),
    }
}

/// The deadline is the earliest of the limits; a pending or unsent-notice limit makes the whole
/// deadline pending or chained, bounded by whatever is already fixed.
fn combine(asap: bool, limits: Vec<Limit>) -> Deadline {
    if limits.is_empty() {
        return Deadline::Asap;
    }
    let min_opt = |a: Option<Timestamp>, b: Option<Timestamp>| match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    };
    let mut fixed: Option<Timestamp> = None;
    let mut missing = Vec::new();
    let mut bound: Option<(String, String, Option<Timestamp>)> = None;
    for l in limits {
        match l {
            Limit::Fixed(t) => fixed = min_opt(fixed, Some(t)),
            Limit::Pending(m) => missing.extend(m),
            Limit::Bound { notice, relation, latest } => bound = Some((notice, relation, latest)),
        }
    }
    if !missing.is_empty() {
        let upstream = bound.as_ref().and_then(|b| b.2);
        return Deadline::Pending { missing, asap, latest: min_opt(fixed, upstream) };
    }
    match bound {
        Some((notice, relation, latest)) => {
            Deadline::AfterNotice { notice, relation, latest: min_opt(fixed, latest), asap }
        }
        None => match fixed {
            Some(at) => Deadline::Due { at, asap },
            None => Deadline::Asap,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(toml: &str) -> Assessment {
        compute(&Facts::from_toml(toml).unwrap(), &RulesTable::builtin().unwrap())
    }

    #[test]
    fn unassessed_findings_make_rules_undetermined_not_guessed() {
        let a = run(
            "[[affected]]\ncountry = \"DE\"\ncount = 3\n[[affected]]\ncountry = \"US\"\nstate = \"CA\"\ncount = 3\n",
        );
        let missing =
            |id: &str| a.undetermined.iter().find(|u| u.rule_id == id).map(|u| u.missing.clone());
        assert_eq!(missing("gdpr-33"), Some(vec!["risk.level".to_string()]));
        assert_eq!(missing("us-ca-individuals"), Some(vec!["data".to_string()]));
        assert!(a.obligations.iter().all(|o| o.rule_id != "gdpr-33"));
    }

    #[test]
    fn a_false_finding_beats_a_missing_one() {
        // No data recorded, but only 3 Californians: the AG threshold already rules it out, so
        // the rule is "not triggered" rather than "undetermined".
        let a = run("[[affected]]\ncountry = \"US\"\nstate = \"CA\"\ncount = 3\n");
        let n = a.not_triggered.iter().find(|n| n.rule_id == "us-ca-ag").unwrap();
        assert!(n.reason.contains("threshold > 500 not met"), "{}", n.reason);
        assert!(a.undetermined.iter().any(|u| u.rule_id == "us-ca-individuals"));
    }

    #[test]
    fn obligations_come_most_urgent_first() {
        let a = run(
            "data = [\"credentials\"]\n[moments]\ndiscovery = \"2026-03-02T17:00:00Z\"\nawareness = \"2026-03-02T17:00:00Z\"\n[[affected]]\ncountry = \"US\"\nstate = \"MD\"\ncount = 5\n[[affected]]\ncountry = \"FR\"\ncount = 5\n[risk]\nlevel = \"high\"\n",
        );
        let ids: Vec<&str> = a.obligations.iter().map(|o| o.rule_id.as_str()).collect();
        assert_eq!(ids, ["gdpr-33", "us-md-ag", "us-md-individuals", "gdpr-34"]);
    }
}
