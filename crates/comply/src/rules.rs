//! The rules table: one row per notification duty (regime × recipient), read from
//! `rules.toml`, which is data, not code. This file defines its shape and validates it at load.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::calendar::HolidayCalendar;
use crate::facts::{Country, DataCategory, EntityType, Moment, RiskLevel, Role, Sector, UsState};

/// The built-in table, compiled into the crate.
const BUILTIN: &str = include_str!("rules.toml");

/// A versioned set of rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesTable {
    /// Version of the table; bump it whenever a row changes.
    pub version: String,
    /// Named sets of data categories that rows can refer to with `data_set`.
    #[serde(default)]
    pub data_sets: BTreeMap<String, Vec<DataCategory>>,
    /// The rows.
    #[serde(rename = "rule")]
    pub rules: Vec<Rule>,
}

/// One notification duty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Stable identifier, e.g. `gdpr-33`, `us-ca-ag`. Notices sent are recorded under it.
    pub id: String,
    /// The regime (law or regulation) the row belongs to, e.g. `GDPR`, `California`.
    pub regime: String,
    /// What must be done, in a few words.
    pub title: String,
    /// Article or section.
    pub citation: String,
    /// Where the rule applies, for display (`EU/EEA`, `US-CA`, `US (federal)`).
    pub jurisdiction: String,
    /// Who must be told.
    pub recipient: Recipient,
    /// The body or channel, when the recipient is an authority (e.g. "Attorney General").
    #[serde(default)]
    pub recipient_detail: Option<String>,
    /// How sure the research is: H, M or L.
    pub confidence: Confidence,
    /// When the row was last checked against its sources.
    pub last_checked: Date,
    /// False for rules enacted but not in force (kept so the UI can show them as such).
    #[serde(default = "yes")]
    pub in_force: bool,
    /// The rule applies to incidents whose clock starts on or after this date.
    #[serde(default)]
    pub in_force_from: Option<Date>,
    /// The geographic gate.
    pub applies: Applies,
    /// Further conditions; all must hold.
    #[serde(default)]
    pub when: Vec<Condition>,
    /// A head-count threshold with its exact operator.
    #[serde(default)]
    pub threshold: Option<Threshold>,
    /// How encryption affects this duty (it is not a uniform safe harbour).
    #[serde(default)]
    pub encryption: EncryptionRule,
    /// When the notice is due.
    pub deadline: DeadlineSpec,
    /// IANA time zone in which day-based periods end (the recipient's seat; for EU-wide rules the
    /// easternmost zone, so a deadline is never later than in any member state).
    pub tz: String,
    /// The notice template (required contents), if the table has one for this duty.
    #[serde(default)]
    pub notice: Option<NoticeTemplate>,
    /// Caveats worth showing next to the obligation.
    #[serde(default)]
    pub notes: Option<String>,
}

fn yes() -> bool {
    true
}

/// Who receives a notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Recipient {
    /// A regulator, data-protection authority, CSIRT or attorney general.
    Authority,
    /// The people whose data was affected.
    Individuals,
    /// Prominent media outlets.
    Media,
    /// Nationwide consumer reporting agencies (credit bureaus).
    CreditBureaus,
    /// The controller (when the organisation is a processor).
    Controller,
    /// The HIPAA covered entity (when the organisation is a business associate).
    CoveredEntity,
    /// Card brands and the acquirer (contractual).
    CardBrands,
    /// The public, through a filing (SEC Form 8-K).
    Public,
    /// Not a notice: an internal step with its own deadline (e.g. Australia's assessment).
    Internal,
}

impl Recipient {
    /// Display name.
    pub fn name(self) -> &'static str {
        match self {
            Recipient::Authority => "authority",
            Recipient::Individuals => "individuals",
            Recipient::Media => "media",
            Recipient::CreditBureaus => "credit bureaus",
            Recipient::Controller => "controller",
            Recipient::CoveredEntity => "covered entity",
            Recipient::CardBrands => "card brands",
            Recipient::Public => "public filing",
            Recipient::Internal => "internal step",
        }
    }
}

/// How sure the research is about a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Confidence {
    /// Low: unverified.
    L,
    /// Medium: one secondary or possibly stale source.
    M,
    /// High: primary text or two reputable summaries.
    H,
}

/// The geographic gate of a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Applies {
    /// What links the incident to the area.
    pub basis: Basis,
    /// The area; absent for `basis = "everywhere"`.
    #[serde(default)]
    pub area: Option<Area>,
}

/// What links an incident to a rule's area.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// People residing in the area are affected.
    People,
    /// The organisation is established in the area.
    Establishment,
    /// Either of the two.
    PeopleOrEstablishment,
    /// No geographic gate (the entity-type conditions decide).
    Everywhere,
}

/// A place: a country, a US state, or a group of countries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Area {
    /// The European Economic Area.
    Eea,
    /// The European Union.
    Eu,
    /// One country.
    Country(Country),
    /// One US state or territory.
    UsState(UsState),
}

impl Area {
    fn parse(s: &str) -> Result<Area, String> {
        match s {
            "eea" => Ok(Area::Eea),
            "eu" => Ok(Area::Eu),
            _ => match s.strip_prefix("US-") {
                Some(st) => UsState::parse(st).map(Area::UsState),
                None => Country::parse(s).map(Area::Country),
            },
        }
    }

    /// Whether a country is in the area (a US state area contains no whole country).
    pub fn contains_country(self, c: Country) -> bool {
        match self {
            Area::Eea => c.in_eea(),
            Area::Eu => c.in_eu(),
            Area::Country(x) => x == c,
            Area::UsState(_) => false,
        }
    }
}

impl fmt::Display for Area {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Area::Eea => f.write_str("eea"),
            Area::Eu => f.write_str("eu"),
            Area::Country(c) => write!(f, "{c}"),
            Area::UsState(s) => write!(f, "US-{s}"),
        }
    }
}

impl Serialize for Area {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Area {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Area::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A condition on the facts. Written in TOML as a one-key table, e.g. `{ entity_any = [...] }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// The organisation has at least one of these entity types.
    EntityAny(Vec<EntityType>),
    /// The organisation has none of these entity types.
    EntityNone(Vec<EntityType>),
    /// The organisation acts in this role.
    Role(Role),
    /// The organisation works in at least one of these sectors.
    SectorAny(Vec<Sector>),
    /// The assessed risk is at least this level.
    RiskAtLeast(RiskLevel),
    /// A yes/no finding of the risk assessment is yes.
    Flag(Flag),
    /// At least one of these data categories is involved.
    DataAny(Vec<DataCategory>),
    /// At least one category of the named data set is involved.
    DataSet(String),
    /// Annual turnover above this amount in AUD.
    TurnoverAudOver(u64),
    /// A head-count threshold (for use inside `any_of`).
    Count(Threshold),
    /// At least one of the nested conditions holds.
    AnyOf(Vec<Condition>),
}

/// Yes/no findings in [`crate::facts::Risk`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flag {
    /// `risk.significant_incident`
    SignificantIncident,
    /// `risk.major_ict_incident`
    MajorIctIncident,
    /// `risk.material`
    Material,
    /// `risk.notification_incident`
    NotificationIncident,
    /// `risk.reportable_cybersecurity_incident`
    ReportableCybersecurityIncident,
    /// `risk.cert_in_listed`
    CertInListed,
    /// `risk.ransom_paid`
    RansomPaid,
}

impl Flag {
    /// The facts-file field.
    pub fn field(self) -> &'static str {
        match self {
            Flag::SignificantIncident => "risk.significant_incident",
            Flag::MajorIctIncident => "risk.major_ict_incident",
            Flag::Material => "risk.material",
            Flag::NotificationIncident => "risk.notification_incident",
            Flag::ReportableCybersecurityIncident => "risk.reportable_cybersecurity_incident",
            Flag::CertInListed => "risk.cert_in_listed",
            Flag::RansomPaid => "risk.ransom_paid",
        }
    }
}

/// A head-count threshold with its exact operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    /// The comparison.
    pub op: Op,
    /// The number compared against.
    pub value: u64,
    /// Which people are counted.
    #[serde(default)]
    pub of: CountOf,
}

/// Comparison operators; `>` and `>=` differ at exactly the threshold, and that matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// More than.
    #[serde(rename = ">")]
    Gt,
    /// At least.
    #[serde(rename = ">=")]
    Ge,
    /// Fewer than.
    #[serde(rename = "<")]
    Lt,
}

impl Op {
    /// Applies the comparison.
    pub fn holds(self, n: u64, value: u64) -> bool {
        match self {
            Op::Gt => n > value,
            Op::Ge => n >= value,
            Op::Lt => n < value,
        }
    }

    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            Op::Gt => ">",
            Op::Ge => "≥",
            Op::Lt => "<",
        }
    }
}

/// Which people a threshold counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CountOf {
    /// Residents of the rule's area (per state for a US state).
    #[default]
    Area,
    /// Everyone affected, wherever they live.
    Total,
    /// Residents of any single US state or territory (HIPAA's media rule).
    AnyUsState,
}

/// How encryption affects a duty.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EncryptionRule {
    /// Encryption changes nothing.
    #[default]
    NoExemption,
    /// Exempt if the data was encrypted and the key was not compromised.
    UnlessKeyCompromised,
    /// Exempt only if the PHI was "secured" per HHS guidance.
    HhsSecured,
}

/// When a notice is due. The deadline is the earliest of the limits that apply; `asap` adds
/// "without undue delay" in front of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadlineSpec {
    /// The rule says "without undue delay", "promptly", "as soon as practicable" or similar.
    #[serde(default)]
    pub asap: bool,
    /// The outer limit, counted from an anchor.
    #[serde(default)]
    pub within: Option<Period>,
    /// A second limit that also bounds the first (DORA: 4 h after classification but no later
    /// than 24 h after awareness). If the cap would fall before `within`'s own anchor (the
    /// classification came late), `within` alone applies.
    #[serde(default)]
    pub cap: Option<Period>,
    /// The notice must go with, or before, another notice of the table.
    #[serde(default)]
    pub chain: Option<Chain>,
    /// Which days count for business-day periods.
    #[serde(default)]
    pub calendar: Option<HolidayCalendar>,
}

/// A period after an anchor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Period {
    /// How many units.
    pub amount: i64,
    /// Which units.
    pub unit: Unit,
    /// From when.
    pub after: Anchor,
}

/// Units of a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// Elapsed hours.
    Hours,
    /// Calendar days, ending at the end of the last day.
    CalendarDays,
    /// Working days of the rule's calendar, ending at the end of the last one.
    BusinessDays,
    /// Calendar months, ending at the end of the same day-of-month.
    Months,
}

impl Unit {
    /// Display name, singular or plural.
    pub fn name(self, n: i64) -> &'static str {
        match (self, n == 1) {
            (Unit::Hours, true) => "hour",
            (Unit::Hours, false) => "hours",
            (Unit::CalendarDays, true) => "calendar day",
            (Unit::CalendarDays, false) => "calendar days",
            (Unit::BusinessDays, true) => "business day",
            (Unit::BusinessDays, false) => "business days",
            (Unit::Months, true) => "month",
            (Unit::Months, false) => "months",
        }
    }
}

/// What starts a clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Anchor {
    /// A recorded moment of the incident.
    Moment(Moment),
    /// The sending of another notice of the table (by rule id).
    Notice(String),
    /// The end of the calendar year containing a moment (HIPAA's annual log).
    YearEndOf(Moment),
}

impl Anchor {
    fn parse(s: &str) -> Result<Anchor, String> {
        if let Some(id) = s.strip_prefix("notice:") {
            return Ok(Anchor::Notice(id.to_string()));
        }
        let (year_end, name) = match s.strip_prefix("year_end:") {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let m: Moment = serde_json::from_value(serde_json::Value::String(name.to_string()))
            .map_err(|_| format!("unknown anchor `{s}`"))?;
        Ok(if year_end { Anchor::YearEndOf(m) } else { Anchor::Moment(m) })
    }
}

impl fmt::Display for Anchor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Anchor::Moment(m) => f.write_str(moment_name(*m)),
            Anchor::Notice(id) => write!(f, "notice:{id}"),
            Anchor::YearEndOf(m) => write!(f, "year_end:{}", moment_name(*m)),
        }
    }
}

/// A moment's bare name (`discovery`).
pub fn moment_name(m: Moment) -> &'static str {
    m.field().trim_start_matches("moments.")
}

impl Serialize for Anchor {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Anchor {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Anchor::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A notice tied to another notice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Chain {
    /// The other rule's id.
    pub notice: String,
    /// How the two relate in time.
    pub relation: Relation,
}

/// Timing relative to another notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    /// Strictly before the other notice (MD: the AG before consumers).
    Before,
    /// No later than the other notice.
    NoLaterThan,
    /// At the same time as the other notice.
    SameTime,
}

impl Relation {
    /// Display phrase.
    pub fn phrase(self) -> &'static str {
        match self {
            Relation::Before => "before",
            Relation::NoLaterThan => "no later than",
            Relation::SameTime => "at the same time as",
        }
    }
}

/// Which list of required contents a notice draft uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeTemplate {
    /// GDPR Art. 33(3) (and UK GDPR).
    GdprAuthority,
    /// GDPR Art. 34(2).
    GdprIndividuals,
    /// HIPAA 45 CFR 164.404(c).
    HipaaIndividuals,
    /// SEC Form 8-K Item 1.05.
    #[serde(rename = "sec_8k")]
    Sec8k,
    /// A generic US state notice to individuals.
    UsStateIndividuals,
    /// NIS2 Art. 23(4) staged reports.
    Nis2,
    /// A generic authority notice (facts, scope, measures, contact).
    GenericAuthority,
    /// A generic notice to individuals.
    GenericIndividuals,
}

// ---------------------------------------------------------------------------------------------
// Loading and validation

/// Why a rules table was rejected.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    /// TOML syntax or shape.
    #[error("rules table: {0}")]
    Parse(String),
    /// A row breaks an invariant.
    #[error("rules table, rule `{rule}`: {message}")]
    Invalid {
        /// The rule id.
        rule: String,
        /// What is wrong.
        message: String,
    },
}

impl RulesTable {
    /// The table compiled into the crate. It is validated by a test, so this only fails if the
    /// build itself is broken.
    pub fn builtin() -> Result<RulesTable, RulesError> {
        RulesTable::from_toml(BUILTIN)
    }

    /// Parses and validates a table.
    pub fn from_toml(text: &str) -> Result<RulesTable, RulesError> {
        let table: RulesTable =
            toml::from_str(text).map_err(|e| RulesError::Parse(e.to_string()))?;
        table.validate()?;
        Ok(table)
    }

    /// Looks a rule up by id.
    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }

    /// Checks the invariants the engine relies on.
    pub fn validate(&self) -> Result<(), RulesError> {
        if self.version.trim().is_empty() {
            return Err(RulesError::Parse("version must not be empty".into()));
        }
        let mut ids = BTreeSet::new();
        for r in &self.rules {
            if !ids.insert(r.id.as_str()) {
                return Err(invalid(r, "duplicate id"));
            }
        }
        for r in &self.rules {
            r.validate(self)?;
        }
        // Chains must not loop, or the engine would recurse forever.
        for r in &self.rules {
            let mut seen = vec![r.id.as_str()];
            let mut cur = r;
            while let Some(up) = cur.upstream() {
                if seen.contains(&up) {
                    return Err(invalid(r, "notices chain in a cycle"));
                }
                seen.push(up);
                match self.get(up) {
                    Some(next) => cur = next,
                    None => break,
                }
            }
        }
        Ok(())
    }
}

fn invalid(r: &Rule, message: &str) -> RulesError {
    RulesError::Invalid { rule: r.id.clone(), message: message.to_string() }
}

impl Rule {
    /// The notice this rule's deadline depends on, if any. A rule depends on at most one.
    pub fn upstream(&self) -> Option<&str> {
        if let Some(c) = &self.deadline.chain {
            return Some(c.notice.as_str());
        }
        for p in [&self.deadline.within, &self.deadline.cap].into_iter().flatten() {
            if let Anchor::Notice(id) = &p.after {
                return Some(id.as_str());
            }
        }
        None
    }

    fn validate(&self, table: &RulesTable) -> Result<(), RulesError> {
        if TimeZone::get(&self.tz).is_err() {
            return Err(invalid(self, &format!("unknown time zone `{}`", self.tz)));
        }
        match (self.applies.basis, self.applies.area) {
            (Basis::Everywhere, Some(_)) => {
                return Err(invalid(self, "basis `everywhere` takes no area"));
            }
            (Basis::Everywhere, None) | (_, Some(_)) => {}
            (_, None) => return Err(invalid(self, "this basis needs an area")),
        }
        let d = &self.deadline;
        if !d.asap && d.within.is_none() && d.chain.is_none() {
            return Err(invalid(self, "deadline needs asap, within or chain"));
        }
        if d.cap.is_some() && d.within.is_none() {
            return Err(invalid(self, "cap needs within"));
        }
        let notices: Vec<&str> = [&d.within, &d.cap]
            .into_iter()
            .flatten()
            .filter_map(|p| match &p.after {
                Anchor::Notice(id) => Some(id.as_str()),
                _ => None,
            })
            .chain(d.chain.iter().map(|c| c.notice.as_str()))
            .collect();
        if notices.len() > 1 {
            return Err(invalid(self, "a deadline may depend on at most one other notice"));
        }
        for id in notices {
            if table.get(id).is_none() || id == self.id {
                return Err(invalid(self, &format!("chains to unknown notice `{id}`")));
            }
        }
        for p in [&d.within, &d.cap].into_iter().flatten() {
            // Ten years is far beyond any notification period; the bound keeps business-day
            // counting (one step per day) cheap even for a hand-written table.
            if p.amount <= 0 || p.amount > 3660 {
                return Err(invalid(self, "period amounts must be between 1 and 3660"));
            }
            if p.unit == Unit::BusinessDays && d.calendar.is_none() {
                return Err(invalid(self, "business days need a calendar"));
            }
            if matches!(p.after, Anchor::YearEndOf(_)) && p.unit != Unit::CalendarDays {
                return Err(invalid(self, "year-end anchors count calendar days"));
            }
        }
        let area_count_without_area =
            |t: &Threshold| t.of == CountOf::Area && self.applies.area.is_none();
        if self.threshold.as_ref().is_some_and(area_count_without_area) {
            return Err(invalid(
                self,
                "a threshold counting the area needs an area (or `of = \"total\"`)",
            ));
        }
        let mut conds: Vec<&Condition> = self.when.iter().collect();
        while let Some(c) = conds.pop() {
            match c {
                Condition::DataSet(name) if !table.data_sets.contains_key(name) => {
                    return Err(invalid(self, &format!("unknown data set `{name}`")));
                }
                Condition::Count(t) if area_count_without_area(t) => {
                    return Err(invalid(self, "a count of the area needs an area"));
                }
                Condition::AnyOf(inner) => conds.extend(inner.iter()),
                _ => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_table_loads_and_validates() {
        let t = RulesTable::builtin().unwrap();
        assert!(!t.rules.is_empty());
        assert!(t.version.starts_with(char::is_numeric));
    }

    #[test]
    fn every_rule_has_citation_and_date() {
        let t = RulesTable::builtin().unwrap();
        for r in &t.rules {
            assert!(!r.citation.trim().is_empty(), "{}", r.id);
            assert!(r.last_checked.year() >= 2025, "{}", r.id);
        }
    }

    #[test]
    fn the_table_covers_the_required_regimes() {
        let t = RulesTable::builtin().unwrap();
        let required = [
            "gdpr-33",
            "gdpr-33-2",
            "gdpr-34",
            "uk-gdpr-33",
            "uk-gdpr-34",
            "nis2-early-warning",
            "nis2-notification",
            "nis2-final",
            "dora-initial",
            "dora-intermediate",
            "dora-final",
            "us-hipaa-individuals",
            "us-hipaa-hhs-500",
            "us-hipaa-hhs-log",
            "us-hipaa-media",
            "us-hipaa-ba",
            "us-ftc-hbnr-individuals",
            "us-sec-8k-105",
            "us-glba-safeguards",
            "us-bank-36h",
            "us-nydfs-500-17",
            "us-circia-incident",
            "ca-pipeda-opc",
            "au-ndb-assessment",
            "au-ransom",
            "br-lgpd-anpd",
            "sg-pdpa-pdpc",
            "in-cert-in",
            "jp-appi-ppc-final",
            "za-popia-regulator",
        ];
        for id in required {
            assert!(t.get(id).is_some(), "{id}");
        }
        // Every state of the research table, with its individual notice.
        for st in
            "AL AZ CA CO CT DE DC FL IL IN IA LA ME MD MA NM NY OH OK OR PA PR RI SD TN TX VT WA WI"
                .split(' ')
        {
            let id = format!("us-{}-individuals", st.to_lowercase());
            assert!(t.get(&id).is_some(), "{id}");
        }
        assert!(!t.get("us-circia-incident").unwrap().in_force);
    }

    #[test]
    fn thresholds_keep_their_operators() {
        let t = RulesTable::builtin().unwrap();
        let op = |id: &str| t.get(id).unwrap().threshold.map(|x| (x.op, x.value));
        assert_eq!(op("us-hipaa-media"), Some((Op::Gt, 500)));
        assert_eq!(op("us-hipaa-hhs-500"), Some((Op::Ge, 500)));
        assert_eq!(op("us-glba-safeguards"), Some((Op::Ge, 500)));
        assert_eq!(op("us-co-ag"), Some((Op::Ge, 500)));
        assert_eq!(op("us-ca-ag"), Some((Op::Gt, 500)));
        assert_eq!(op("us-tx-ag"), Some((Op::Ge, 250)));
        assert_eq!(op("us-dc-ag"), Some((Op::Ge, 50)));
    }

    #[test]
    fn invalid_tables_are_rejected_with_the_rule_named() {
        let base = r#"
version = "1"
[[rule]]
id = "a"
regime = "X"
title = "t"
citation = "c"
jurisdiction = "j"
recipient = "authority"
confidence = "H"
last_checked = "2026-01-01"
applies = { basis = "everywhere" }
tz = "UTC"
"#;
        let cases = [
            ("deadline = { asap = false }", "needs asap"),
            ("deadline = { asap = true }\nthreshold = { op = \">\", value = 5 }", "needs an area"),
            (
                "deadline = { within = { amount = 0, unit = \"hours\", after = \"discovery\" } }",
                "between 1 and 3660",
            ),
            ("deadline = { chain = { notice = \"zz\", relation = \"before\" } }", "unknown notice"),
            (
                "deadline = { within = { amount = 3, unit = \"business_days\", after = \"discovery\" } }",
                "calendar",
            ),
            ("deadline = { chain = { notice = \"a\", relation = \"before\" } }", "unknown notice"),
            (
                "deadline = { within = { amount = 3, unit = \"hours\", after = \"lunch\" } }",
                "unknown anchor `lunch`",
            ),
        ];
        for (deadline, want) in cases {
            let err = RulesTable::from_toml(&format!("{base}{deadline}\n")).unwrap_err();
            assert!(err.to_string().contains(want), "{deadline}: {err}");
        }
    }
}
