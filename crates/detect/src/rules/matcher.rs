//! Sigma detections compiled to matchers over a [`View`]: each detection item becomes one test
//! on one field (an Aho-Corasick automaton for all `contains` values of the item, a set of
//! lowercase literals for plain equality, one regular expression for wildcards), and the
//! condition becomes a tree over the named detections.
//!
//! # Why our own evaluator (and rsigma's parser)
//!
//! `rsigma-parser` (pinned at `=0.15.0`, the last release that builds on Rust 1.95) reads the
//! YAML, the condition grammar, the modifiers and the correlation blocks; it accepts the whole
//! SigmaHQ corpus, and writing that again would gain nothing. Its evaluator, `rsigma-eval`,
//! matches rules against JSON events: measured on the 86 SigmaHQ webserver rules it ran at about
//! 39,000 events/s on one core, while the targets here are 1–2 million lines/s, and building a
//! JSON event for each line alone costs more than parsing the line. So the compiled form here
//! reads the parsers' borrowed records through fixed field slots, does no allocation for a line
//! that matches nothing, and shares one automaton across all values of an item. Windows,
//! correlations and suppression are ours too, because they must be snapshotted (serde), bounded
//! and run in event time with tolerated lateness, which rsigma-eval's correlation engine does not
//! offer in that form.
//!
//! # What is supported
//!
//! Detections: maps (AND), lists (OR), keyword lists (searched in the raw line), wildcards `*`
//! `?` with `\` escapes, `null` and empty values, and the modifiers `contains`, `startswith`,
//! `endswith`, `all`, `cased`, `re` (with `i`, `m`, `s`), `cidr`, `exists`, `neq`, `lt`/`lte`/
//! `gt`/`gte`, `fieldref`, `expand` (placeholders name caller-given lists), `windash`, `base64`,
//! `base64offset`, and `wide`/`utf16*` under base64. Conditions: `and`, `or`, `not`,
//! parentheses, `1 of`, `N of`, `all of`, `them`. Correlations: `event_count`, `value_count`,
//! `value_sum`, `value_avg`, `temporal`, `temporal_ordered`, chained (a correlation of
//! correlations), sliding windows. Rejected with a reason: time-part modifiers (`minute` …
//! `year`), `utf16`/`wide` on plain text, array quantifiers, filter documents, correlation
//! aliases, extended boolean temporal conditions, `tumbling`/`session` windows,
//! `value_percentile` and `value_median`.

use std::net::IpAddr;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind};
use ipnet::IpNet;
use regex::Regex;
use rsigma_parser::value::{SigmaString, SpecialChar, StringPart};
use rsigma_parser::{
    ConditionExpr, Detection, DetectionItem, Detections, Modifier, Quantifier, SelectorPattern,
    SigmaValue,
};

use super::fields::{FieldRef, View};
use crate::parse::parse_ip;

/// Named lists that `|expand` placeholders (`%threat_intel%`) resolve to.
pub trait Lists {
    /// The entries of the list, or `None` if there is no such list.
    fn list(&self, name: &str) -> Option<&[String]>;
}

impl Lists for std::collections::HashMap<String, Vec<String>> {
    fn list(&self, name: &str) -> Option<&[String]> {
        self.get(name).map(Vec::as_slice)
    }
}

/// Whether any of some literals occurs in a text: the test behind `contains` lists, and the
/// scanner's prefilters. Aho-Corasick's DFA (a few kilobytes for the lists rules carry) reads
/// the text a byte at a time, at about 1.5 ns a byte; for up to 64 literals a packed SIMD
/// searcher (Teddy) finds the same answer several times faster on texts of more than a few dozen
/// bytes (a user agent: 160 ns → 50 ns, measured), but it cannot fold case, so the text is
/// lowercased into a buffer on the stack first (ASCII only, exactly what
/// `ascii_case_insensitive` folds). Short texts, and lists Teddy does not take, use the DFA.
#[derive(Debug, Clone)]
pub struct AnyOf {
    dfa: AhoCorasick,
    /// The literals, lowercased unless `cased`; leftmost-first, which finds a match exactly
    /// when the DFA does.
    packed: Option<Box<aho_corasick::packed::Searcher>>,
    cased: bool,
}

/// Texts up to this long are lowercased on the stack; longer ones (rare) in a vector.
const LOWER_ON_STACK: usize = 512;

impl AnyOf {
    pub fn new<P: AsRef<str>>(
        patterns: &[P],
        cased: bool,
    ) -> Result<AnyOf, aho_corasick::BuildError> {
        let kind = (patterns.len() <= 2_000).then_some(AhoCorasickKind::DFA);
        let dfa = AhoCorasickBuilder::new()
            .ascii_case_insensitive(!cased)
            .kind(kind)
            .build(patterns.iter().map(AsRef::as_ref))?;
        let mut builder = aho_corasick::packed::Config::new().builder();
        for pattern in patterns {
            let pattern = pattern.as_ref();
            if cased {
                builder.add(pattern);
            } else {
                builder.add(pattern.to_ascii_lowercase());
            }
        }
        Ok(AnyOf { dfa, packed: builder.build().map(Box::new), cased })
    }

    /// Whether any literal occurs in `text` (ASCII case ignored unless built `cased`).
    pub fn occurs(&self, text: &str) -> bool {
        let Some(packed) = &self.packed else { return self.dfa.is_match(text) };
        let bytes = text.as_bytes();
        if bytes.len() < packed.minimum_len() {
            return self.dfa.is_match(text);
        }
        if self.cased {
            return packed.find(bytes).is_some();
        }
        let mut stack = [0u8; LOWER_ON_STACK];
        match stack.get_mut(..bytes.len()) {
            Some(lower) => {
                lower.copy_from_slice(bytes);
                lower.make_ascii_lowercase();
                packed.find(&*lower).is_some()
            }
            None => packed.find(bytes.to_ascii_lowercase()).is_some(),
        }
    }
}

/// The most values [`Matcher::quick_equalities`] carries per slot.
pub const QUICK_VALUES: usize = 2;

/// The most slots [`Matcher::quick_equalities`] carries.
pub const QUICK_SLOTS: usize = 2;

/// A text of at most 15 bytes, ASCII-lowercased, with its length, as one number: two texts have
/// the same fingerprint exactly when they are equal ignoring ASCII case. `None` when longer.
pub fn fingerprint(text: &str) -> Option<u128> {
    let bytes = text.as_bytes();
    if bytes.len() > 15 {
        return None;
    }
    // Built in a register, byte by byte: writing the bytes to an array and reading it back as
    // one number stalled on the store forwarding (a tenth of `evaluate`'s time in profiles).
    let mut print = (bytes.len() as u128) << 120;
    for (i, b) in bytes.iter().enumerate() {
        print |= u128::from(b.to_ascii_lowercase()) << (8 * i);
    }
    Some(print)
}

/// A compiled test on one field.
#[derive(Debug, Clone)]
enum Test {
    /// Case-insensitive equality with any of these (stored lowercase).
    EqAny(Vec<Box<str>>),
    EqCased(Vec<Box<str>>),
    /// Any (or, with `all`, every) pattern occurs.
    Contains {
        automaton: AnyOf,
        all: bool,
        patterns: usize,
        values: Vec<String>,
    },
    StartsWith {
        values: Vec<Box<str>>,
        cased: bool,
    },
    EndsWith {
        values: Vec<Box<str>>,
        cased: bool,
    },
    /// Wildcard values and `|re`: one alternation.
    Regex(Vec<Regex>, bool),
    Cidr(Vec<IpNet>),
    Number {
        op: Cmp,
        value: f64,
    },
    Exists(bool),
    /// `field: null` — absent or empty.
    Null,
    FieldRef(FieldRef),
}

#[derive(Debug, Clone, Copy)]
enum Cmp {
    Lt,
    Lte,
    Gt,
    Gte,
}

/// One detection item: a field (or the whole line, for keywords) and its test.
#[derive(Debug, Clone)]
struct Item {
    field: Option<FieldRef>,
    test: Test,
    negate: bool,
}

/// A named detection: items ANDed (a map), or alternatives ORed (a list of maps).
#[derive(Debug, Clone)]
enum Node {
    All(Vec<Node>),
    Any(Vec<Node>),
    Not(Box<Node>),
    /// `N of …`: at least N of these.
    AtLeast(usize, Vec<Node>),
    Item(Item),
    /// A reference to a named detection, by index.
    Named(usize),
}

/// A compiled detection section: named detections and the condition over them.
#[derive(Debug, Clone)]
pub struct Matcher {
    names: Vec<String>,
    named: Vec<Node>,
    condition: Node,
    /// The fields the rule reads (for explanations).
    fields: Vec<FieldRef>,
    /// Slot masks (bit = slot) of which each must hold a slot where a `contains` value may
    /// occur, or the rule cannot match: when the scanner's prefilters found none of their
    /// values in those slots (`View::no_hits`), the rule is skipped without walking its tree.
    needs: Vec<u32>,
}

impl Matcher {
    /// Compiles a detection section; the error is a sentence naming what is not supported.
    pub fn compile(detections: &Detections, lists: &dyn Lists) -> Result<Matcher, String> {
        let mut names: Vec<String> = detections.named.keys().cloned().collect();
        names.sort();
        let mut fields = Vec::new();
        let mut named = Vec::with_capacity(names.len());
        for name in &names {
            let detection = detections.named.get(name).ok_or("internal: lost a detection")?;
            let node = compile_detection(detection, lists, &mut fields)
                .map_err(|e| format!("detection `{name}`: {e}"))?;
            named.push(node);
        }
        let mut conditions = Vec::new();
        for condition in &detections.conditions {
            conditions.push(compile_condition(condition, &names)?);
        }
        if conditions.is_empty() {
            return Err("the detection has no condition".into());
        }
        let condition =
            if conditions.len() == 1 { conditions.remove(0) } else { Node::Any(conditions) };
        let mut matcher = Matcher { names, named, condition, fields, needs: Vec::new() };
        matcher.needs = matcher.needs_of(&matcher.condition, 0);
        Ok(matcher)
    }

    pub fn matches(&self, view: &View<'_>) -> bool {
        if view.no_hits != 0 && self.needs.iter().any(|mask| mask & !view.no_hits == 0) {
            return false;
        }
        self.eval(&self.condition, view)
    }

    /// The first slot mask of `needs` (0 when there is none): a rule whose prefiltered slots in
    /// this mask all had no hit cannot match.
    pub fn first_need(&self) -> u32 {
        self.needs.first().copied().unwrap_or(0)
    }

    /// The slots (bit = slot) the rule cannot match without: those of its items that are false
    /// on an absent value, through `and` (all of them) and `or` (those every alternative needs).
    pub fn required_slots(&self) -> u32 {
        self.required(&self.condition, 0)
    }

    fn required(&self, node: &Node, depth: usize) -> u32 {
        if depth > 32 {
            return 0;
        }
        match node {
            Node::Item(Item { field: Some(FieldRef::Slot(slot)), test, negate: false })
                if *slot < 32 =>
            {
                match test {
                    // True on an absent value.
                    Test::Exists(false) | Test::Null => 0,
                    _ => 1 << slot,
                }
            }
            Node::All(nodes) => nodes.iter().fold(0, |all, n| all | self.required(n, depth + 1)),
            Node::Any(nodes) | Node::AtLeast(_, nodes) => {
                if matches!(node, Node::AtLeast(0, _)) || nodes.is_empty() {
                    return 0;
                }
                nodes.iter().fold(u32::MAX, |all, n| all & self.required(n, depth + 1))
            }
            Node::Named(index) => self.named.get(*index).map_or(0, |n| self.required(n, depth + 1)),
            Node::Item(_) | Node::Not(_) => 0,
        }
    }

    /// Slots (at most [`QUICK_SLOTS`]) the rule cannot match without each equalling one of at
    /// most [`QUICK_VALUES`] short values (`a: x` or `a: [x, y]` items and-ed into the
    /// condition), as [`fingerprint`]s: the scanner compares them before reading the rule.
    pub fn quick_equalities(&self) -> Vec<(usize, Vec<u128>)> {
        let mut found = Vec::new();
        self.find_equalities(&self.condition, 0, &mut found);
        found
    }

    fn find_equalities(&self, node: &Node, depth: usize, found: &mut Vec<(usize, Vec<u128>)>) {
        if depth > 32 || found.len() >= QUICK_SLOTS {
            return;
        }
        match node {
            Node::Item(Item {
                field: Some(FieldRef::Slot(slot)),
                test: Test::EqAny(values),
                negate: false,
            }) if *slot < 32 && !values.is_empty() && values.len() <= QUICK_VALUES => {
                if let Some(prints) = values.iter().map(|v| fingerprint(v)).collect() {
                    found.push((*slot, prints));
                }
            }
            Node::All(nodes) => {
                for n in nodes {
                    self.find_equalities(n, depth + 1, found);
                }
            }
            Node::Named(index) => {
                if let Some(n) = self.named.get(*index) {
                    self.find_equalities(n, depth + 1, found);
                }
            }
            _ => {}
        }
    }

    /// True when the condition is only the items [`Matcher::quick_equalities`] finds, and-ed:
    /// the fingerprints the scanner compares then decide the rule, and its tree is not walked.
    pub fn decided_by_equality(&self) -> bool {
        let found = self.quick_equalities().len();
        found > 0 && self.items_in_conjunction(&self.condition, 0) == Some(found)
    }

    /// The number of items under a tree of conjunctions and names, `None` when anything else
    /// (an alternative, a negation) is in it.
    fn items_in_conjunction(&self, node: &Node, depth: usize) -> Option<usize> {
        if depth > 32 {
            return None;
        }
        match node {
            Node::Item(_) => Some(1),
            Node::All(nodes) => nodes
                .iter()
                .try_fold(0, |sum, n| Some(sum + self.items_in_conjunction(n, depth + 1)?)),
            Node::Named(index) => {
                self.named.get(*index).and_then(|n| self.items_in_conjunction(n, depth + 1))
            }
            Node::Any(_) | Node::Not(_) | Node::AtLeast(..) => None,
        }
    }

    /// True when the condition is only that some slots hold a value (`field|exists: true`,
    /// and-ed): the rule then matches exactly when [`Matcher::required_slots`] are all present.
    pub fn decided_by_presence(&self) -> bool {
        self.presence_only(&self.condition, 0)
    }

    fn presence_only(&self, node: &Node, depth: usize) -> bool {
        if depth > 32 {
            return false;
        }
        match node {
            Node::Item(Item {
                field: Some(FieldRef::Slot(slot)),
                test: Test::Exists(true),
                negate: false,
            }) => *slot < 32,
            Node::All(nodes) => nodes.iter().all(|n| self.presence_only(n, depth + 1)),
            Node::Named(index) => {
                self.named.get(*index).is_some_and(|n| self.presence_only(n, depth + 1))
            }
            _ => false,
        }
    }

    /// False when no line can match: an item that must equal one of no values (an empty
    /// `%threat_intel%` list) in every alternative. Such a rule is left out of the scanner's
    /// candidates rather than tested on every line.
    pub fn can_match(&self) -> bool {
        self.node_can_match(&self.condition, 0)
    }

    fn node_can_match(&self, node: &Node, depth: usize) -> bool {
        if depth > 32 {
            return true;
        }
        match node {
            Node::Item(Item {
                test: Test::EqAny(values) | Test::EqCased(values), negate, ..
            }) => *negate || !values.is_empty(),
            Node::All(nodes) => nodes.iter().all(|n| self.node_can_match(n, depth + 1)),
            Node::Any(nodes) => nodes.iter().any(|n| self.node_can_match(n, depth + 1)),
            Node::AtLeast(n, nodes) => {
                nodes.iter().filter(|node| self.node_can_match(node, depth + 1)).count() >= *n
            }
            Node::Named(index) => {
                self.named.get(*index).is_none_or(|n| self.node_can_match(n, depth + 1))
            }
            Node::Item(_) | Node::Not(_) => true,
        }
    }

    /// What a node needs to match (see `needs`): an item `contains` on a slot needs that slot,
    /// `all` needs what each part needs, `any` (and `N of`) needs one of what each part needs.
    fn needs_of(&self, node: &Node, depth: usize) -> Vec<u32> {
        if depth > 32 {
            return Vec::new();
        }
        match node {
            Node::Item(Item {
                field: Some(FieldRef::Slot(slot)),
                test: Test::Contains { .. },
                negate: false,
            }) if *slot < 32 => vec![1 << slot],
            Node::All(nodes) => nodes.iter().flat_map(|n| self.needs_of(n, depth + 1)).collect(),
            Node::Any(nodes) | Node::AtLeast(_, nodes) => {
                if matches!(node, Node::AtLeast(0, _)) {
                    return Vec::new();
                }
                let mut any = 0;
                for node in nodes {
                    match self.needs_of(node, depth + 1).first() {
                        Some(mask) => any |= mask,
                        None => return Vec::new(),
                    }
                }
                if any == 0 { Vec::new() } else { vec![any] }
            }
            Node::Named(index) => {
                self.named.get(*index).map(|n| self.needs_of(n, depth + 1)).unwrap_or_default()
            }
            Node::Item(_) | Node::Not(_) => Vec::new(),
        }
    }

    /// Each named detection and whether it matched this line.
    pub fn explain(&self, view: &View<'_>) -> Vec<(String, bool)> {
        self.names
            .iter()
            .zip(&self.named)
            .map(|(name, node)| (name.clone(), self.eval(node, view)))
            .collect()
    }

    pub fn fields(&self) -> &[FieldRef] {
        &self.fields
    }

    /// Every `contains` value the rule looks for in a slot, as (slot, value).
    pub fn contains_values(&self) -> Vec<(usize, String)> {
        let mut out = Vec::new();
        let mut stack: Vec<&Node> = self.named.iter().collect();
        while let Some(node) = stack.pop() {
            match node {
                Node::All(nodes) | Node::Any(nodes) | Node::AtLeast(_, nodes) => {
                    stack.extend(nodes)
                }
                Node::Not(inner) => stack.push(inner),
                Node::Item(Item {
                    field: Some(FieldRef::Slot(slot)),
                    test: Test::Contains { values, .. },
                    ..
                }) => out.extend(values.iter().map(|v| (*slot, v.clone()))),
                _ => {}
            }
        }
        out
    }

    fn eval(&self, node: &Node, view: &View<'_>) -> bool {
        match node {
            Node::All(nodes) => nodes.iter().all(|n| self.eval(n, view)),
            Node::Any(nodes) => nodes.iter().any(|n| self.eval(n, view)),
            Node::Not(node) => !self.eval(node, view),
            Node::AtLeast(n, nodes) => {
                nodes.iter().filter(|node| self.eval(node, view)).take(*n).count() >= *n
            }
            Node::Item(item) => item.eval(view),
            Node::Named(index) => self.named.get(*index).is_some_and(|n| self.eval(n, view)),
        }
    }
}

impl Item {
    fn eval(&self, view: &View<'_>) -> bool {
        if let (Test::Contains { .. }, Some(FieldRef::Slot(slot))) = (&self.test, &self.field)
            && *slot < 32
            && view.no_hits & (1 << slot) != 0
        {
            return self.negate;
        }
        let value = match &self.field {
            Some(field) => view.get(field),
            None => Some(std::borrow::Cow::Borrowed(view.raw)),
        };
        let result = match (&self.test, value) {
            (Test::Exists(want), value) => value.is_some() == *want,
            (Test::Null, value) => value.is_none_or(|v| v.is_empty()),
            (_, None) => false,
            (test, Some(value)) => test.eval(&value, view),
        };
        result != self.negate
    }
}

impl Test {
    fn eval(&self, value: &str, view: &View<'_>) -> bool {
        match self {
            Test::EqAny(values) => values.iter().any(|v| v.eq_ignore_ascii_case(value)),
            Test::EqCased(values) => values.iter().any(|v| **v == *value),
            Test::Contains { automaton, all, patterns, .. } => {
                if *all {
                    let mut seen = vec![false; *patterns];
                    for found in automaton.dfa.find_overlapping_iter(value) {
                        if let Some(slot) = seen.get_mut(found.pattern().as_usize()) {
                            *slot = true;
                        }
                    }
                    seen.iter().all(|s| *s)
                } else {
                    automaton.occurs(value)
                }
            }
            Test::StartsWith { values, cased } => values.iter().any(|v| {
                value.get(..v.len()).is_some_and(|head| {
                    if *cased { head == &**v } else { head.eq_ignore_ascii_case(v) }
                })
            }),
            Test::EndsWith { values, cased } => values.iter().any(|v| {
                value.len() >= v.len()
                    && value.get(value.len() - v.len()..).is_some_and(|tail| {
                        if *cased { tail == &**v } else { tail.eq_ignore_ascii_case(v) }
                    })
            }),
            Test::Regex(regexes, all) => {
                if *all {
                    regexes.iter().all(|r| r.is_match(value))
                } else {
                    regexes.iter().any(|r| r.is_match(value))
                }
            }
            Test::Cidr(nets) => {
                parse_ip(value).is_some_and(|ip: IpAddr| nets.iter().any(|n| n.contains(&ip)))
            }
            Test::Number { op, value: limit } => number(value).is_some_and(|v| match op {
                Cmp::Lt => v < *limit,
                Cmp::Lte => v <= *limit,
                Cmp::Gt => v > *limit,
                Cmp::Gte => v >= *limit,
            }),
            Test::FieldRef(other) => view.get(other).is_some_and(|o| o.eq_ignore_ascii_case(value)),
            Test::Exists(_) | Test::Null => false,
        }
    }
}

/// A field's text as a number: plain digits (a status code, a byte count) without going through
/// the float parser, anything else as `f64` parses it.
fn number(text: &str) -> Option<f64> {
    let text = text.trim();
    if !text.is_empty() && text.len() <= 15 && text.bytes().all(|b| b.is_ascii_digit()) {
        // At most 15 digits: exact in an f64, as the float parser would give it.
        let n = text.bytes().fold(0u64, |n, b| n * 10 + u64::from(b - b'0'));
        return Some(n as f64);
    }
    text.parse::<f64>().ok()
}

fn compile_detection(
    detection: &Detection,
    lists: &dyn Lists,
    fields: &mut Vec<FieldRef>,
) -> Result<Node, String> {
    match detection {
        Detection::AllOf(items) => {
            let nodes = items
                .iter()
                .map(|item| compile_item(item, lists, fields))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Node::All(nodes))
        }
        Detection::AnyOf(detections) => Ok(Node::Any(
            detections
                .iter()
                .map(|d| compile_detection(d, lists, fields))
                .collect::<Result<Vec<_>, _>>()?,
        )),
        Detection::And(detections) => Ok(Node::All(
            detections
                .iter()
                .map(|d| compile_detection(d, lists, fields))
                .collect::<Result<Vec<_>, _>>()?,
        )),
        Detection::Keywords(values) => {
            let item = DetectionItem {
                field: rsigma_parser::FieldSpec::new(None, vec![Modifier::Contains]),
                values: values.clone(),
            };
            compile_item(&item, lists, fields)
        }
        Detection::ArrayMatch { field, .. } => {
            Err(format!("array quantifiers (on `{field}`) are not supported"))
        }
        Detection::Conditional { .. } => {
            Err("nested conditional detections are not supported".into())
        }
    }
}

fn compile_item(
    item: &DetectionItem,
    lists: &dyn Lists,
    fields: &mut Vec<FieldRef>,
) -> Result<Node, String> {
    let field = item.field.name.as_deref().map(FieldRef::resolve);
    if let Some(field) = &field
        && !fields.contains(field)
    {
        fields.push(field.clone());
    }
    let mods = &item.field.modifiers;
    let has = |m: Modifier| mods.contains(&m);
    for m in mods {
        match m {
            Modifier::Minute
            | Modifier::Hour
            | Modifier::Day
            | Modifier::Week
            | Modifier::Month
            | Modifier::Year => {
                return Err(format!("the `{m:?}` time-part modifier is not supported"));
            }
            Modifier::Utf16be | Modifier::Utf16 | Modifier::Wide
                if !has(Modifier::Base64) && !has(Modifier::Base64Offset) =>
            {
                return Err(
                    "`utf16`/`wide` without `base64` is not supported (text fields only)".into()
                );
            }
            _ => {}
        }
    }
    let node = |test: Test, negate: bool| Node::Item(Item { field: field.clone(), test, negate });
    let negate = has(Modifier::Neq);
    if has(Modifier::Exists) {
        let want = matches!(item.values.first(), Some(SigmaValue::Bool(true)))
            || matches!(item.values.first(), Some(SigmaValue::String(s)) if s.original.eq_ignore_ascii_case("true"));
        return Ok(node(Test::Exists(want), false));
    }
    if has(Modifier::FieldRef) {
        let mut nodes = Vec::new();
        for value in &item.values {
            let name = value_string(value).ok_or("`fieldref` needs field names")?;
            nodes.push(node(Test::FieldRef(FieldRef::resolve(&name)), negate));
        }
        return Ok(combine(nodes, has(Modifier::All)));
    }
    for (modifier, op) in [
        (Modifier::Lt, Cmp::Lt),
        (Modifier::Lte, Cmp::Lte),
        (Modifier::Gt, Cmp::Gt),
        (Modifier::Gte, Cmp::Gte),
    ] {
        if has(modifier) {
            let mut nodes = Vec::new();
            for value in &item.values {
                let limit = match value {
                    SigmaValue::Integer(n) => *n as f64,
                    SigmaValue::Float(f) => *f,
                    SigmaValue::String(s) => s
                        .original
                        .trim()
                        .parse::<f64>()
                        .map_err(|_| format!("`{}` is not a number", s.original))?,
                    _ => return Err("a comparison needs a number".into()),
                };
                nodes.push(node(Test::Number { op, value: limit }, negate));
            }
            return Ok(combine(nodes, false));
        }
    }
    if has(Modifier::Cidr) {
        let mut nets = Vec::new();
        for value in &item.values {
            let text = value_string(value).ok_or("`cidr` needs network strings")?;
            nets.push(parse_net(&text).ok_or_else(|| format!("`{text}` is not a network"))?);
        }
        return Ok(node(Test::Cidr(nets), negate));
    }
    let cased = has(Modifier::Cased);
    let all = has(Modifier::All);
    // Null and empty values stand on their own.
    let mut nodes = Vec::new();
    let mut strings: Vec<SigmaString> = Vec::new();
    for value in &item.values {
        match value {
            SigmaValue::Null => nodes.push(node(Test::Null, negate)),
            SigmaValue::String(s) if has(Modifier::Expand) && is_placeholder(&s.original) => {
                let name = s.original.trim_matches('%');
                let entries = lists
                    .list(name)
                    .ok_or_else(|| format!("the placeholder `%{name}%` names no list"))?;
                let nets: Vec<IpNet> = entries.iter().filter_map(|e| parse_net(e)).collect();
                if entries.is_empty() {
                    // An empty list matches nothing, without reading the field as an address.
                    nodes.push(node(Test::EqAny(Vec::new()), negate));
                } else if nets.len() == entries.len() {
                    nodes.push(node(Test::Cidr(nets), negate));
                } else {
                    let values = entries.iter().map(|e| e.to_ascii_lowercase().into()).collect();
                    nodes.push(node(Test::EqAny(values), negate));
                }
            }
            SigmaValue::String(s) => strings.push(s.clone()),
            SigmaValue::Integer(n) => strings.push(SigmaString::from_raw(&n.to_string())),
            SigmaValue::Float(f) => strings.push(SigmaString::from_raw(&f.to_string())),
            SigmaValue::Bool(b) => strings.push(SigmaString::from_raw(&b.to_string())),
        }
    }
    if strings.is_empty() {
        return Ok(combine(nodes, all));
    }
    // Encodings turn each value into one or more literal values.
    let strings = encode(strings, mods)?;
    if has(Modifier::Re) {
        let mut regexes = Vec::new();
        for s in &strings {
            let mut flags = String::new();
            if has(Modifier::IgnoreCase) {
                flags.push('i');
            }
            if has(Modifier::Multiline) {
                flags.push('m');
            }
            if has(Modifier::DotAll) {
                flags.push('s');
            }
            let pattern = if flags.is_empty() {
                s.original.clone()
            } else {
                format!("(?{flags}){}", s.original)
            };
            let regex =
                regex::RegexBuilder::new(&pattern).size_limit(1 << 22).build().map_err(|e| {
                    format!("regular expression `{}`: {}", s.original, first_line(&e.to_string()))
                })?;
            regexes.push(regex);
        }
        nodes.push(node(Test::Regex(regexes, all), negate));
        return Ok(combine(nodes, all));
    }
    let contains = has(Modifier::Contains) || item.field.name.is_none();
    let starts = has(Modifier::StartsWith);
    let ends = has(Modifier::EndsWith);
    let mut plain = Vec::new();
    let mut globs = Vec::new();
    for s in strings {
        match plain_text(&s) {
            Some(text) => plain.push(text),
            None => globs.push(s),
        }
    }
    if !plain.is_empty() {
        let test = if contains {
            let automaton =
                AnyOf::new(&plain, cased).map_err(|e| format!("cannot build the matcher: {e}"))?;
            Test::Contains { automaton, all, patterns: plain.len(), values: plain.clone() }
        } else if starts {
            let values = plain.iter().map(|p| p.as_str().into()).collect();
            Test::StartsWith { values, cased }
        } else if ends {
            let values = plain.iter().map(|p| p.as_str().into()).collect();
            Test::EndsWith { values, cased }
        } else if cased {
            Test::EqCased(plain.iter().map(|p| p.as_str().into()).collect())
        } else {
            Test::EqAny(plain.iter().map(|p| p.to_ascii_lowercase().into()).collect())
        };
        if all && !contains && plain.len() > 1 {
            // `all` over equality-like tests: each value on its own.
            let split = split_all(test);
            nodes.extend(split.into_iter().map(|t| node(t, negate)));
        } else {
            nodes.push(node(test, negate));
        }
    }
    if !globs.is_empty() {
        let mut regexes = Vec::new();
        for s in &globs {
            let mut pattern = String::new();
            if !cased {
                pattern.push_str("(?is)");
            } else {
                pattern.push_str("(?s)");
            }
            if !(contains || ends) {
                pattern.push('^');
            }
            for part in &s.parts {
                match part {
                    StringPart::Plain(text) => pattern.push_str(&regex::escape(text)),
                    StringPart::Special(SpecialChar::WildcardMulti) => pattern.push_str(".*"),
                    StringPart::Special(SpecialChar::WildcardSingle) => pattern.push('.'),
                }
            }
            if !(contains || starts) {
                pattern.push('$');
            }
            let regex =
                regex::RegexBuilder::new(&pattern).size_limit(1 << 22).build().map_err(|e| {
                    format!("wildcard `{}`: {}", s.original, first_line(&e.to_string()))
                })?;
            regexes.push(regex);
        }
        nodes.push(node(Test::Regex(regexes, all), negate));
    }
    Ok(combine(nodes, all))
}

fn split_all(test: Test) -> Vec<Test> {
    match test {
        Test::EqAny(values) => values.into_iter().map(|v| Test::EqAny(vec![v])).collect(),
        Test::EqCased(values) => values.into_iter().map(|v| Test::EqCased(vec![v])).collect(),
        Test::StartsWith { values, cased } => {
            values.into_iter().map(|v| Test::StartsWith { values: vec![v], cased }).collect()
        }
        Test::EndsWith { values, cased } => {
            values.into_iter().map(|v| Test::EndsWith { values: vec![v], cased }).collect()
        }
        other => vec![other],
    }
}

fn combine(mut nodes: Vec<Node>, all: bool) -> Node {
    if nodes.len() == 1 {
        return nodes.remove(0);
    }
    if all { Node::All(nodes) } else { Node::Any(nodes) }
}

fn is_placeholder(text: &str) -> bool {
    text.len() > 2 && text.starts_with('%') && text.ends_with('%')
}

fn value_string(value: &SigmaValue) -> Option<String> {
    match value {
        SigmaValue::String(s) => Some(s.original.clone()),
        SigmaValue::Integer(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A network (`10.0.0.0/8`) or a single address (`192.0.2.1`).
pub fn parse_net(text: &str) -> Option<IpNet> {
    let text = text.trim();
    if let Ok(net) = text.parse::<IpNet>() {
        return Some(net.trunc());
    }
    parse_ip(text).map(IpNet::from)
}

fn plain_text(s: &SigmaString) -> Option<String> {
    s.as_plain()
}

fn first_line(text: &str) -> String {
    text.lines().last().unwrap_or(text).trim().to_owned()
}

/// Applies `windash`, `base64`, `base64offset`, `utf16*`/`wide` to literal values.
fn encode(values: Vec<SigmaString>, mods: &[Modifier]) -> Result<Vec<SigmaString>, String> {
    let mut values = values;
    if mods.contains(&Modifier::WindAsh) {
        let mut out = Vec::new();
        for v in values {
            out.push(v.clone());
            let text = v.original.clone();
            for dash in ["/", "\u{2013}", "\u{2014}", "\u{2015}"] {
                let variant = text.replace('-', dash);
                if variant != text {
                    out.push(SigmaString::new(&variant));
                }
            }
        }
        values = out;
    }
    let wide =
        mods.iter().any(|m| matches!(m, Modifier::Wide | Modifier::Utf16 | Modifier::Utf16be));
    let b64 = mods.contains(&Modifier::Base64);
    let b64off = mods.contains(&Modifier::Base64Offset);
    if !(b64 || b64off) {
        return Ok(values);
    }
    let mut out = Vec::new();
    for v in values {
        let text = v.as_plain().ok_or("`base64` values cannot hold wildcards")?;
        let bytes: Vec<u8> = if wide {
            let big = mods.contains(&Modifier::Utf16be);
            let mut b = Vec::new();
            if mods.contains(&Modifier::Utf16) {
                b.extend_from_slice(&[0xff, 0xfe]);
            }
            for unit in text.encode_utf16() {
                let pair = if big { unit.to_be_bytes() } else { unit.to_le_bytes() };
                b.extend_from_slice(&pair);
            }
            b
        } else {
            text.into_bytes()
        };
        if b64off {
            // The three alignments of the text inside a longer base64 stream, trimmed of the
            // characters that depend on the neighbours.
            for shift in 0..3usize {
                let mut padded = vec![0u8; shift];
                padded.extend_from_slice(&bytes);
                let encoded = base64(&padded);
                let start = [0, 2, 3][shift];
                let end_trim = [0, 3, 2][(bytes.len() + shift) % 3];
                let end = encoded.trim_end_matches('=').len().saturating_sub(end_trim);
                if let Some(piece) = encoded.get(start..end.max(start)) {
                    out.push(SigmaString::from_raw(piece));
                }
            }
        } else {
            out.push(SigmaString::from_raw(&base64(&bytes)));
        }
    }
    Ok(out)
}

fn base64(bytes: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(TABLE[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn compile_condition(expr: &ConditionExpr, names: &[String]) -> Result<Node, String> {
    match expr {
        ConditionExpr::And(items) => Ok(Node::All(
            items.iter().map(|e| compile_condition(e, names)).collect::<Result<_, _>>()?,
        )),
        ConditionExpr::Or(items) => Ok(Node::Any(
            items.iter().map(|e| compile_condition(e, names)).collect::<Result<_, _>>()?,
        )),
        ConditionExpr::Not(inner) => Ok(Node::Not(Box::new(compile_condition(inner, names)?))),
        ConditionExpr::Identifier(name) => names
            .iter()
            .position(|n| n == name)
            .map(Node::Named)
            .ok_or_else(|| format!("the condition names `{name}`, which is not a detection")),
        ConditionExpr::Selector { quantifier, pattern } => {
            let chosen: Vec<usize> = names
                .iter()
                .enumerate()
                .filter(|(_, n)| match pattern {
                    SelectorPattern::Them => !n.starts_with('_'),
                    SelectorPattern::Pattern(p) => glob_match(p, n),
                })
                .map(|(i, _)| i)
                .collect();
            if chosen.is_empty() {
                return Err(format!("the condition's `{pattern}` matches no detection"));
            }
            let nodes: Vec<Node> = chosen.into_iter().map(Node::Named).collect();
            Ok(match quantifier {
                Quantifier::Any => Node::Any(nodes),
                Quantifier::All => Node::All(nodes),
                Quantifier::Count(1) => Node::Any(nodes),
                Quantifier::Count(n) => {
                    Node::AtLeast(usize::try_from(*n).unwrap_or(usize::MAX), nodes)
                }
            })
        }
    }
}

/// Sigma selector patterns: `*` matches any run of characters.
fn glob_match(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((head, rest)) => {
            let Some(tail) = name.strip_prefix(head) else { return false };
            if rest.is_empty() {
                return true;
            }
            (0..=tail.len()).any(|i| tail.is_char_boundary(i) && glob_match(rest, &tail[i..]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::base64;

    proptest::proptest! {
        /// `AnyOf` (Teddy on lowercased text, or the DFA) answers as an Aho-Corasick automaton
        /// with the same literals does, with and without ASCII case folding, on texts short and
        /// long enough for Teddy.
        #[test]
        fn any_of_answers_as_aho_corasick(
            patterns in proptest::collection::vec("[a-cA-C%/.é]{1,5}", 1..12),
            text in "[a-cA-CxX%/. é]{0,120}",
            cased in proptest::bool::ANY,
        ) {
            let any = super::AnyOf::new(&patterns, cased).unwrap();
            let reference = aho_corasick::AhoCorasickBuilder::new()
                .ascii_case_insensitive(!cased)
                .build(&patterns)
                .unwrap();
            proptest::prop_assert_eq!(any.occurs(&text), reference.is_match(&text));
        }

        #[test]
        fn fingerprints_tell_texts_apart_as_ascii_case_folding_does(
            a in "[aAbB\\x00é_]{0,16}",
            b in "[aAbB\\x00é_]{0,16}",
        ) {
            use super::fingerprint;
            let (fa, fb) = (fingerprint(&a), fingerprint(&b));
            proptest::prop_assert_eq!(fa.is_some(), a.len() <= 15);
            if fa.is_some() && fb.is_some() {
                proptest::prop_assert_eq!(fa == fb, a.eq_ignore_ascii_case(&b));
            }
        }
    }

    #[test]
    fn fingerprints_are_equal_exactly_when_texts_are_equal_ignoring_ascii_case() {
        use super::fingerprint;
        let texts = ["", "a", "A", "ab", "a\0", "401", "403", "ssh_login", "SSH_Login", "é", "É"];
        for a in texts {
            for b in texts {
                assert_eq!(fingerprint(a) == fingerprint(b), a.eq_ignore_ascii_case(b), "{a} {b}");
            }
        }
        assert_eq!(fingerprint("0123456789abcdef"), None);
        assert!(fingerprint("0123456789abcde").is_some());
    }

    #[test]
    fn base64_matches_the_rfc_examples() {
        for (input, output) in
            [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foobar", "Zm9vYmFy")]
        {
            assert_eq!(base64(input.as_bytes()), output);
        }
    }
}
