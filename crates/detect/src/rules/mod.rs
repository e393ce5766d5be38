//! Rules: Sigma detection and correlation rules, loaded from YAML text and compiled for
//! [`crate::engine::Scanner`].
//!
//! Loading is pure: the caller reads the files (`firebreak scan` reads a directory) and passes
//! each file's name and text; errors name the file and the problem. A file may hold several
//! documents (`---`), and a correlation may name rules of other files, by `id` or `name`.
//!
//! The log source decides which lines a rule sees: `product`, `service` and `category` of the
//! rule must each be absent or equal what the line is (see [`LineSource`]).
//!
//! Extension: a correlation of type `event_count` or `value_count` may carry `firebreak-rate`,
//! which makes it fire on a rate well above normal rather than on a fixed count; see
//! [`RateSpec`].

pub mod fields;
pub mod matcher;
#[cfg(test)]
mod matcher_tests;

use std::collections::HashMap;

use firebreak_core::incident::Severity;
use rsigma_parser::{
    ConditionOperator, CorrelationCondition, CorrelationRule, CorrelationType, Level, SigmaRule,
};
use serde::{Deserialize, Serialize};

pub use fields::{FieldRef, View};
pub use matcher::{Lists, Matcher};

/// A rule file that cannot be used, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {problem}")]
pub struct RuleError {
    pub file: String,
    /// The rule's title or id when the problem is inside one rule of the file.
    pub rule: Option<String>,
    pub problem: String,
}

impl RuleError {
    fn new(file: &str, rule: Option<&str>, problem: impl Into<String>) -> RuleError {
        let problem = problem.into();
        let problem = match rule {
            Some(rule) => format!("rule `{rule}`: {problem}"),
            None => problem,
        };
        RuleError { file: file.to_owned(), rule: rule.map(str::to_owned), problem }
    }
}

/// What kind of line a line is, for matching a rule's `logsource`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LineSource {
    pub product: &'static str,
    pub service: &'static str,
    pub category: &'static str,
}

/// A rule's `logsource`, as far as firebreak reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceFilter {
    pub product: Option<String>,
    pub service: Option<String>,
    pub category: Option<String>,
}

impl SourceFilter {
    /// Whether lines of this source reach the rule. JSON lines say their own category.
    pub fn admits(&self, source: &LineSource, category: Option<&str>) -> bool {
        let eq = |want: &Option<String>, have: &str| {
            want.as_deref().is_none_or(|w| w.eq_ignore_ascii_case(have))
        };
        let category_ok = match (&self.category, category) {
            (None, _) => true,
            (Some(want), Some(have)) if want.eq_ignore_ascii_case(have) => true,
            (Some(want), _) => want.eq_ignore_ascii_case(source.category),
        };
        eq(&self.product, source.product) && eq(&self.service, source.service) && category_ok
    }
}

/// Sigma level → firebreak severity: critical → SEV1, high → SEV2, medium → SEV3, low and
/// informational → SEV4.
pub fn severity(level: Option<Level>) -> Severity {
    match level {
        Some(Level::Critical) => Severity::Sev1,
        Some(Level::High) => Severity::Sev2,
        Some(Level::Medium) | None => Severity::Sev3,
        Some(Level::Low) | Some(Level::Informational) => Severity::Sev4,
    }
}

/// One compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// The Sigma `name` (readable, and what correlations use), else the `id`, else the title.
    pub id: String,
    pub name: Option<String>,
    pub title: String,
    pub description: Option<String>,
    pub level: Option<Level>,
    pub severity: Severity,
    pub tags: Vec<String>,
    pub file: String,
    pub kind: RuleKind,
}

#[derive(Debug, Clone)]
pub enum RuleKind {
    Detection {
        source: SourceFilter,
        matcher: Matcher,
        /// What a finding of this rule is grouped by (`firebreak-group`); empty for the
        /// default (`source.ip`, else `source.address`, else `user.name`).
        group: Vec<FieldRef>,
        /// `firebreak-geo`: a match fires only when the login is new for its group.
        geo: Option<GeoCheck>,
        /// Whether a match is a finding of its own (false when only a correlation uses it,
        /// unless that correlation says `generate: true`).
        generate: bool,
    },
    Correlation(Correlation),
}

/// A compiled Sigma correlation.
#[derive(Debug, Clone)]
pub struct Correlation {
    pub kind: CorrelationType,
    /// Indexes of the rules it aggregates, in the order given (which matters for
    /// `temporal_ordered`).
    pub rules: Vec<usize>,
    pub group_by: Vec<FieldRef>,
    /// Seconds.
    pub timespan: i64,
    /// Every predicate must hold (`gt: 10` and `lte: 20` is a range).
    pub predicates: Vec<(ConditionOperator, f64)>,
    /// The counted or summed field (`value_count`, `value_sum`).
    pub field: Option<FieldRef>,
    pub rate: Option<RateSpec>,
}

/// `firebreak-geo` on a detection rule (extension): the match is a finding only when, for its
/// group (`firebreak-group`, normally `user.name`), the login comes from a country not seen
/// before (`new_country`; the first login of a group sets the baseline and does not fire), or
/// from a place farther from the previous login than `max_kmh` allows in the time between
/// (`impossible_travel`; moves under `min_km` are ignored as database noise). State per group:
/// up to 16 countries and the last location, kept 90 days.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "check", rename_all = "snake_case", deny_unknown_fields)]
pub enum GeoCheck {
    NewCountry,
    ImpossibleTravel {
        #[serde(default = "default_kmh")]
        max_kmh: f64,
        #[serde(default = "default_min_km")]
        min_km: f64,
    },
}

fn default_kmh() -> f64 {
    1000.0
}

fn default_min_km() -> f64 {
    500.0
}

/// `firebreak-rate`: fire when the count in the current `timespan` bucket is at least `factor`
/// times the normal count, where normal is an exponentially weighted moving average of the
/// count per bucket (weight `alpha` for the newest bucket), never taken below `floor`, learnt per
/// group-by key (or once, without group-by). The Sigma condition must hold as well, and nothing
/// fires before `warmup` buckets have been seen.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateSpec {
    pub factor: f64,
    #[serde(default = "default_alpha")]
    pub alpha: f64,
    #[serde(default)]
    pub floor: f64,
    #[serde(default = "default_warmup")]
    pub warmup: u32,
}

fn default_alpha() -> f64 {
    0.2
}

fn default_warmup() -> u32 {
    3
}

impl Correlation {
    pub fn condition_holds(&self, value: f64) -> bool {
        self.predicates.iter().all(|(op, limit)| match op {
            ConditionOperator::Lt => value < *limit,
            ConditionOperator::Lte => value <= *limit,
            ConditionOperator::Gt => value > *limit,
            ConditionOperator::Gte => value >= *limit,
            ConditionOperator::Eq => value == *limit,
            ConditionOperator::Neq => value != *limit,
        })
    }

    /// The smallest count for which the condition can hold (bounds how many times are kept
    /// per key).
    pub fn needed(&self) -> usize {
        let mut needed = 1.0f64;
        for (op, limit) in &self.predicates {
            match op {
                ConditionOperator::Gte | ConditionOperator::Eq => needed = needed.max(*limit),
                ConditionOperator::Gt => needed = needed.max(limit.floor() + 1.0),
                _ => {}
            }
        }
        needed.clamp(1.0, 100_000.0) as usize
    }
}

/// A set of compiled rules, with the names that correlations refer to.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    /// For each rule, the correlations fed by it.
    pub(crate) feeds: Vec<Vec<usize>>,
}

/// One source file for [`RuleSet::load`]: its name (for errors) and its text.
#[derive(Debug, Clone, Copy)]
pub struct RuleFile<'a> {
    pub name: &'a str,
    pub text: &'a str,
}

/// Rules parsed but not yet compiled (correlations may name rules of later files).
struct Parsed<'a> {
    file: &'a str,
    rules: Vec<SigmaRule>,
    correlations: Vec<CorrelationRule>,
}

impl RuleSet {
    /// Loads and compiles every rule; the first broken file fails the load.
    pub fn load(files: &[RuleFile<'_>], lists: &dyn Lists) -> Result<RuleSet, RuleError> {
        let (set, mut errors) = RuleSet::load_lenient(files, lists);
        match errors.is_empty() {
            true => Ok(set),
            false => Err(errors.remove(0)),
        }
    }

    /// Loads what can be loaded and returns the errors of the rest (for conformance runs and
    /// `rules check`).
    pub fn load_lenient(files: &[RuleFile<'_>], lists: &dyn Lists) -> (RuleSet, Vec<RuleError>) {
        let mut errors = Vec::new();
        let mut parsed = Vec::new();
        for file in files {
            match parse_file(file) {
                Ok(p) => parsed.push(p),
                Err(e) => errors.push(e),
            }
        }
        let mut set = RuleSet::default();
        let mut names: HashMap<String, usize> = HashMap::new();
        // Detection rules first, then correlations (which refer to them, or to each other).
        let mut referenced: HashMap<String, bool> = HashMap::new();
        for p in &parsed {
            for c in &p.correlations {
                for r in &c.rules {
                    let entry = referenced.entry(r.clone()).or_insert(false);
                    *entry |= c.generate;
                }
            }
        }
        for p in &parsed {
            for rule in &p.rules {
                let label = rule.id.clone().unwrap_or_else(|| rule.title.clone());
                let matcher = match Matcher::compile(&rule.detection, lists) {
                    Ok(m) => m,
                    Err(problem) => {
                        errors.push(RuleError::new(p.file, Some(&label), problem));
                        continue;
                    }
                };
                let group = match rule.custom_attributes.get("firebreak-group") {
                    None => Vec::new(),
                    Some(value) => match value.as_sequence() {
                        Some(items) if items.iter().all(|i| i.as_str().is_some()) => {
                            items.iter().filter_map(|i| i.as_str()).map(FieldRef::resolve).collect()
                        }
                        _ => {
                            errors.push(RuleError::new(
                                p.file,
                                Some(&label),
                                "`firebreak-group` must be a list of field names",
                            ));
                            continue;
                        }
                    },
                };
                let geo = match rule.custom_attributes.get("firebreak-geo") {
                    None => None,
                    Some(value) => {
                        match serde_json::to_value(value).map_err(|e| e.to_string()).and_then(|v| {
                            serde_json::from_value::<GeoCheck>(v).map_err(|e| e.to_string())
                        }) {
                            Ok(check) => Some(check),
                            Err(problem) => {
                                errors.push(RuleError::new(
                                    p.file,
                                    Some(&label),
                                    format!("`firebreak-geo`: {problem}"),
                                ));
                                continue;
                            }
                        }
                    }
                };
                let id = rule.name.clone().or_else(|| rule.id.clone()).unwrap_or(label);
                let keys = [rule.id.as_deref(), rule.name.as_deref()];
                let referenced_by: Vec<bool> =
                    keys.iter().flatten().filter_map(|k| referenced.get(*k).copied()).collect();
                let generate = referenced_by.is_empty() || referenced_by.iter().any(|g| *g);
                let index = set.rules.len();
                for key in keys.into_iter().flatten() {
                    names.insert(key.to_owned(), index);
                }
                set.rules.push(Rule {
                    id,
                    name: rule.name.clone(),
                    title: rule.title.clone(),
                    description: rule.description.clone(),
                    level: rule.level,
                    severity: severity(rule.level),
                    tags: rule.tags.clone(),
                    file: p.file.to_owned(),
                    kind: RuleKind::Detection {
                        source: SourceFilter {
                            product: rule.logsource.product.clone(),
                            service: rule.logsource.service.clone(),
                            category: rule.logsource.category.clone(),
                        },
                        matcher,
                        group,
                        geo,
                        generate,
                    },
                });
            }
        }
        // Correlations may refer to correlations: add them in rounds until none can be added.
        let mut pending: Vec<(&str, &CorrelationRule)> =
            parsed.iter().flat_map(|p| p.correlations.iter().map(move |c| (p.file, c))).collect();
        loop {
            let before = pending.len();
            let mut rest = Vec::new();
            for (file, c) in pending {
                let unresolved = c.rules.iter().any(|r| !names.contains_key(r));
                if unresolved {
                    rest.push((file, c));
                    continue;
                }
                let label = c.id.clone().unwrap_or_else(|| c.title.clone());
                match compile_correlation(c, &names) {
                    Ok(correlation) => {
                        let index = set.rules.len();
                        for key in [c.id.as_deref(), c.name.as_deref()].into_iter().flatten() {
                            names.insert(key.to_owned(), index);
                        }
                        set.rules.push(Rule {
                            id: c.name.clone().or_else(|| c.id.clone()).unwrap_or(label),
                            name: c.name.clone(),
                            title: c.title.clone(),
                            description: c.description.clone(),
                            level: c.level,
                            severity: severity(c.level),
                            tags: c.tags.clone(),
                            file: file.to_owned(),
                            kind: RuleKind::Correlation(correlation),
                        });
                    }
                    Err(problem) => errors.push(RuleError::new(file, Some(&label), problem)),
                }
            }
            pending = rest;
            if pending.is_empty() || pending.len() == before {
                break;
            }
        }
        for (file, c) in pending {
            let missing: Vec<&str> =
                c.rules.iter().filter(|r| !names.contains_key(*r)).map(String::as_str).collect();
            let label = c.id.clone().unwrap_or_else(|| c.title.clone());
            errors.push(RuleError::new(
                file,
                Some(&label),
                format!("the correlation names rules that are not loaded: {}", missing.join(", ")),
            ));
        }
        set.feeds = vec![Vec::new(); set.rules.len()];
        for (index, rule) in set.rules.iter().enumerate() {
            if let RuleKind::Correlation(c) = &rule.kind {
                for source in &c.rules {
                    if let Some(feeds) = set.feeds.get_mut(*source)
                        && !feeds.contains(&index)
                    {
                        feeds.push(index);
                    }
                }
            }
        }
        (set, errors)
    }

    pub fn rule(&self, id: &str) -> Option<(usize, &Rule)> {
        self.rules.iter().enumerate().find(|(_, r)| r.id == id || r.name.as_deref() == Some(id))
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether a stored event is one that rule `index` looks at: for a detection rule, its
    /// selection matches (its `logsource` aside: a stored event no longer says which parser
    /// made it); for a correlation, one of the rules it aggregates matches. This is the
    /// investigation's "events of this rule", not a firing: windows and thresholds play no part.
    pub fn matches_event(&self, index: usize, event: &firebreak_core::Event, raw: &str) -> bool {
        let view = View::from_event(event, raw);
        self.matches_view(index, &view, 0)
    }

    fn matches_view(&self, index: usize, view: &View<'_>, depth: usize) -> bool {
        // Correlations may chain; a loop is refused at load, and the depth bounds the rest.
        if depth > 8 {
            return false;
        }
        match self.rules.get(index).map(|rule| &rule.kind) {
            Some(RuleKind::Detection { matcher, source, .. }) => {
                // An event that says its category must say the rule's, if the rule names one.
                let category = view.slot(fields::CATEGORY);
                let category_ok = match (&source.category, category) {
                    (Some(want), Some(have)) => want.eq_ignore_ascii_case(have),
                    _ => true,
                };
                category_ok && matcher.matches(view)
            }
            Some(RuleKind::Correlation(correlation)) => {
                correlation.rules.iter().any(|&inner| self.matches_view(inner, view, depth + 1))
            }
            None => false,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

fn parse_file<'a>(file: &RuleFile<'a>) -> Result<Parsed<'a>, RuleError> {
    let collection = rsigma_parser::parse_sigma_yaml(file.text)
        .map_err(|e| RuleError::new(file.name, None, e.to_string()))?;
    if let Some(first) = collection.errors.first() {
        return Err(RuleError::new(file.name, None, first.clone()));
    }
    if !collection.filters.is_empty() {
        return Err(RuleError::new(
            file.name,
            None,
            "Sigma filter documents are not supported yet",
        ));
    }
    if collection.rules.is_empty() && collection.correlations.is_empty() {
        return Err(RuleError::new(file.name, None, "the file holds no rule"));
    }
    Ok(Parsed { file: file.name, rules: collection.rules, correlations: collection.correlations })
}

fn compile_correlation(
    c: &CorrelationRule,
    names: &HashMap<String, usize>,
) -> Result<Correlation, String> {
    let rules = c.rules.iter().filter_map(|r| names.get(r).copied()).collect::<Vec<_>>();
    if rules.is_empty() {
        return Err("the correlation names no rule".into());
    }
    if !c.aliases.is_empty() {
        return Err("field aliases in correlations are not supported".into());
    }
    if c.window != rsigma_parser::WindowMode::Sliding {
        return Err(format!("`window: {}` is not supported (sliding only)", c.window.as_str()));
    }
    let group_by = c.group_by.iter().map(|g| FieldRef::resolve(g)).collect();
    let timespan = i64::try_from(c.timespan.seconds).map_err(|_| "the timespan is too long")?;
    if timespan <= 0 {
        return Err("the timespan must be positive".into());
    }
    let (predicates, field) = match &c.condition {
        CorrelationCondition::Threshold { predicates, field, .. } => {
            let predicates = predicates.iter().map(|(op, v)| (*op, *v as f64)).collect();
            let field = field.as_ref().and_then(|f| f.first()).map(|f| FieldRef::resolve(f));
            (predicates, field)
        }
        CorrelationCondition::Extended(_) => {
            return Err(
                "extended boolean conditions on temporal correlations are not supported".into()
            );
        }
    };
    match c.correlation_type {
        CorrelationType::EventCount
        | CorrelationType::Temporal
        | CorrelationType::TemporalOrdered => {}
        CorrelationType::ValueCount | CorrelationType::ValueSum | CorrelationType::ValueAvg => {
            if field.is_none() {
                return Err(format!(
                    "`{}` needs `field` in its condition",
                    c.correlation_type.as_str()
                ));
            }
        }
        other => return Err(format!("correlation type `{}` is not supported", other.as_str())),
    }
    let rate = match c.custom_attributes.get("firebreak-rate") {
        None => None,
        Some(value) => {
            if !matches!(
                c.correlation_type,
                CorrelationType::EventCount | CorrelationType::ValueCount
            ) {
                return Err("`firebreak-rate` applies to event_count and value_count only".into());
            }
            let json = serde_json::to_value(value).map_err(|e| format!("`firebreak-rate`: {e}"))?;
            let spec: RateSpec =
                serde_json::from_value(json).map_err(|e| format!("`firebreak-rate`: {e}"))?;
            if !(spec.factor > 0.0 && spec.alpha > 0.0 && spec.alpha <= 1.0) {
                return Err("`firebreak-rate` needs factor > 0 and 0 < alpha ≤ 1".into());
            }
            Some(spec)
        }
    };
    Ok(Correlation { kind: c.correlation_type, rules, group_by, timespan, predicates, field, rate })
}
