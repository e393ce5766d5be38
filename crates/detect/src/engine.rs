//! The scan engine: lines in (bytes and a `now`), findings out. Rules see each line through a
//! borrowed [`View`] of the parsers' records; no `Event` is built unless the line is JSON.
//!
//! Semantics, all in event time (the line's timestamp, else `now`):
//! - sliding windows per correlation and group-by key; a line older than the newest time seen
//!   minus [`ScanConfig::lateness`] is counted as late and skipped, anything newer is placed in
//!   order, so lines that arrive slightly out of order count;
//! - one finding per (rule, group) per [`ScanConfig::suppression`]: further firings update its
//!   `count`, `last_seen` and samples;
//! - the allowlist ([`Allowlist`]) is checked before any rule: an allowlisted address or user
//!   never reaches a rule;
//! - memory is bounded: a key keeps at most as many times as its condition needs, idle keys are
//!   evicted once their window has passed, and a hard cap on keys ([`ScanConfig::max_keys`])
//!   refuses new keys, counted in [`ScanStats::keys_refused`];
//! - state snapshots ([`Scanner::snapshot`]) are serde values, restored by
//!   [`Scanner::restore`], so windows survive a restart.
//!
//! A detection rule that no correlation consumes is a finding of its own, grouped by
//! `source.ip` (else `source.address`, else `user.name`, else nothing).

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::BuildHasher;
use std::net::IpAddr;
use std::sync::Arc;

use compact_str::CompactString;
use foldhash::fast::RandomState;
use hashbrown::hash_map::RawEntryMut;

use firebreak_core::event::Event;
use firebreak_core::incident::Severity;
use ipnet::IpNet;
use jiff::Timestamp;
use rsigma_parser::CorrelationType;
use serde::{Deserialize, Serialize};

use crate::geo::{GeoDb, distance_km};
use crate::parse::access::AccessParser;
use crate::parse::sshd::{self, AttemptDedup};
use crate::parse::web_error::WebErrorParser;
use crate::parse::{
    self, Format, ParseConfig, ParseStats, SyslogLine, SyslogParser, decode_line,
    normalise_address, parse_ip,
};
use crate::rules::fields::{self, FieldRef, View, number_text};
use crate::rules::matcher::{AnyOf, Matcher, QUICK_SLOTS, QUICK_VALUES, fingerprint, parse_net};
use crate::rules::{Correlation, GeoCheck, LineSource, RuleKind, RuleSet};

/// Addresses, networks and users that no rule ever sees.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Allowlist {
    pub networks: Vec<IpNet>,
    pub users: HashSet<String>,
}

impl Allowlist {
    /// Reads one entry per line: an address, a network, or `user:NAME`; `#` starts a comment.
    /// Returns the lines that are none of these (1-based numbers).
    pub fn parse(text: &str) -> (Allowlist, Vec<usize>) {
        let mut list = Allowlist::default();
        let mut bad = Vec::new();
        for (number, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            if let Some(user) = line.strip_prefix("user:") {
                list.users.insert(user.trim().to_owned());
            } else if let Some(net) = parse_net(line) {
                list.networks.push(net);
            } else {
                bad.push(number + 1);
            }
        }
        (list, bad)
    }

    fn admits_ip(&self, ip: IpAddr) -> bool {
        self.networks.iter().any(|n| n.contains(&ip))
    }
}

/// Reads a threat-intelligence list: one address or network per line, `#` and `;` comments.
/// Returns the entries (as `|expand` list entries) and the numbers of the lines that are not.
pub fn parse_ip_list(text: &str) -> (Vec<String>, Vec<usize>) {
    let mut entries = Vec::new();
    let mut bad = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.split(['#', ';']).next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        match parse_net(line) {
            Some(net) => entries.push(net.to_string()),
            None => bad.push(number + 1),
        }
    }
    (entries, bad)
}

/// Settings of a [`Scanner`].
#[derive(Debug, Clone)]
pub struct ScanConfig {
    pub parse: ParseConfig,
    /// How far (seconds) a line may be older than the newest line seen and still count.
    pub lateness: i64,
    /// One finding per (rule, group) in this many seconds.
    pub suppression: i64,
    /// The most group-by keys held in window state, over all rules.
    pub max_keys: usize,
    /// The most findings kept; later ones are counted in [`ScanStats::findings_refused`].
    pub max_findings: usize,
    /// Raw lines kept per finding.
    pub samples: usize,
    pub allow: Allowlist,
    /// Country and location of addresses, for the `firebreak-geo` rules (none: they never fire).
    pub geo: Option<Arc<GeoDb>>,
}

impl Default for ScanConfig {
    fn default() -> ScanConfig {
        ScanConfig {
            parse: ParseConfig::default(),
            lateness: 120,
            suppression: 3600,
            max_keys: 4_000_000,
            max_findings: 100_000,
            samples: 5,
            allow: Allowlist::default(),
            geo: None,
        }
    }
}

/// One alert: a rule fired for a group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Shared with the scanner's copy of the rule's id, title and tags: a new finding clones
    /// three pointers, not a string per tag (findings open by the ten thousand in an attack).
    pub rule_id: Arc<str>,
    pub title: Arc<str>,
    pub severity: Severity,
    /// ECS field → value, e.g. `{"source.ip": "203.0.113.5"}`.
    pub group: BTreeMap<String, String>,
    /// Matching events (detection rules) or the correlation's value when it fired, plus the
    /// events that came while it was suppressed.
    pub count: u64,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    pub sample: Vec<String>,
    pub tags: Arc<[String]>,
}

/// What happened to the input.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanStats {
    pub lines: u64,
    pub too_long: u64,
    pub invalid_utf8: u64,
    /// Lines of no format the scanner reads (garbage, binary).
    pub malformed: u64,
    /// Lines read but of no interest to any parser (sshd's session chatter…).
    pub ignored: u64,
    pub allowlisted: u64,
    pub late: u64,
    pub matches: u64,
    pub keys: u64,
    pub keys_evicted: u64,
    /// New keys refused because [`ScanConfig::max_keys`] was reached.
    pub keys_refused: u64,
    pub findings_refused: u64,
}

/// A group-by key: the values joined by U+001F, inline up to 24 bytes (an address fits).
type Key = CompactString;
type Map<V> = HashMap<Key, V, RandomState>;

/// A table of the scanner's keyed by group: the window states of one correlation, or the open
/// findings of one rule. Every table of a scanner shares its [`Scanner::hasher`], so that a key's
/// hash, taken once, finds it in each (a failure line updates three or four windows by the same
/// address or user) and, carried in its [`Fire`], its open finding.
type Table<V> = hashbrown::HashMap<Key, V, RandomState>;

/// Times in window state are seconds since 2000-01-01 as `u32` (until 2136): half the memory of
/// `i64`, and keys are what a million addresses multiply. Earlier times count as 2000-01-01.
const EPOCH: i64 = 946_684_800;

fn rel(time: i64) -> u32 {
    (time - EPOCH).clamp(1, i64::from(u32::MAX)) as u32
}

/// The window state of one key. Stored (in snapshots) as [`StoredState`], where the inline
/// `Few` is a `Count` like any other, so that the format does not depend on the split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "StoredState", into = "StoredState")]
enum KeyState {
    /// Event times, sorted, while there are at most [`FEW_TIMES`] of them: held inline, because
    /// most keys see a few events and an allocation per key (and a reallocation per event) cost
    /// more than the count itself. Five, so that the usual threshold (`gte: 5`) never leaves it.
    Few(Times),
    /// Event times, sorted, at most as many as the condition needs, once more than
    /// [`FEW_TIMES`].
    /// Boxed slices rather than vectors: 16 bytes instead of 24 in every map entry, which is what
    /// a million keys multiply.
    Count(Box<[u32]>),
    /// Distinct values with the time each was last seen.
    Values(Box<[(Key, u32)]>),
    /// (time, value) pairs inside the window.
    Sum(Box<[(u32, f64)]>),
    /// For each rule of the correlation: the time it was last seen (temporal) or the start of
    /// the chain that reached it (temporal_ordered); 0 when none.
    Temporal(Box<[u32]>),
    /// The same for up to [`FEW`] rules (a chain of two is the common one), inline.
    TemporalFew(Few),
    /// `firebreak-rate` on an event count: held inline, no pointer to chase per line.
    Burst(Burst),
    /// `firebreak-rate` on a value count (distinct values per bucket).
    Rate(Box<Rate>),
    /// `firebreak-geo`: countries seen (oldest first) and the last location with its time.
    Geo(Box<GeoState>),
}

/// Up to [`FEW_TIMES`] sorted event times, inline, the unused places 0 (no event time is: see
/// [`rel`]). Without a length field, five times fit where four and a length did: a key's entry
/// stays 48 bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Times([u32; FEW_TIMES]);

const FEW_TIMES: usize = 5;

impl Times {
    const EMPTY: Times = Times([0; FEW_TIMES]);

    fn len(&self) -> usize {
        self.0.iter().take_while(|t| **t != 0).count()
    }

    fn times(&self) -> &[u32] {
        self.0.get(..self.len()).unwrap_or_default()
    }

    /// `times` when they fit: at most [`FEW_TIMES`], none 0.
    fn from_slice(times: &[u32]) -> Option<Times> {
        if times.len() > FEW_TIMES || times.contains(&0) {
            return None;
        }
        let mut few = Times::EMPTY;
        for (slot, time) in few.0.iter_mut().zip(times) {
            *slot = *time;
        }
        Some(few)
    }
}

/// Up to [`FEW`] times of a temporal chain, inline (0 where a rule was not seen).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Few {
    len: u8,
    times: [u32; FEW],
}

const FEW: usize = 4;

impl Few {
    fn times(&self) -> &[u32] {
        self.times.get(..usize::from(self.len)).unwrap_or_default()
    }

    fn times_mut(&mut self) -> &mut [u32] {
        self.times.get_mut(..usize::from(self.len)).unwrap_or_default()
    }

    /// The first [`FEW`] times of `times`.
    fn from_slice(times: &[u32]) -> Few {
        let mut few = Few { len: 0, times: [0; FEW] };
        for (slot, time) in few.times.iter_mut().zip(times) {
            *slot = *time;
            few.len += 1;
        }
        few
    }
}

/// [`KeyState`] as snapshots hold it: the same variants, with `Few` written as a `Count`.
#[derive(Serialize, Deserialize)]
#[serde(rename = "KeyState")]
enum StoredState {
    Count(Box<[u32]>),
    Values(Box<[(Key, u32)]>),
    Sum(Box<[(u32, f64)]>),
    Temporal(Box<[u32]>),
    Burst(Burst),
    Rate(Box<Rate>),
    Geo(Box<GeoState>),
}

impl From<StoredState> for KeyState {
    fn from(stored: StoredState) -> KeyState {
        match stored {
            StoredState::Count(times) => match Times::from_slice(&times) {
                Some(few) => KeyState::Few(few),
                None => KeyState::Count(times),
            },
            StoredState::Values(values) => KeyState::Values(values),
            StoredState::Sum(items) => KeyState::Sum(items),
            StoredState::Temporal(times) if times.len() <= FEW => {
                KeyState::TemporalFew(Few::from_slice(&times))
            }
            StoredState::Temporal(times) => KeyState::Temporal(times),
            StoredState::Burst(burst) => KeyState::Burst(burst),
            StoredState::Rate(rate) => KeyState::Rate(rate),
            StoredState::Geo(geo) => KeyState::Geo(geo),
        }
    }
}

impl From<KeyState> for StoredState {
    fn from(state: KeyState) -> StoredState {
        match state {
            KeyState::Few(few) => StoredState::Count(few.times().into()),
            KeyState::Count(times) => StoredState::Count(times),
            KeyState::Values(values) => StoredState::Values(values),
            KeyState::Sum(items) => StoredState::Sum(items),
            KeyState::Temporal(times) => StoredState::Temporal(times),
            KeyState::TemporalFew(few) => StoredState::Temporal(few.times().into()),
            KeyState::Burst(burst) => StoredState::Burst(burst),
            KeyState::Rate(rate) => StoredState::Rate(rate),
            KeyState::Geo(geo) => StoredState::Geo(geo),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct Burst {
    /// The bucket (time / timespan, since 2000) being counted; 0 before the first event.
    bucket: u32,
    count: u32,
    normal: f32,
    buckets: u16,
    last: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct GeoState {
    countries: Vec<Key>,
    last: Option<(f64, f64, u32)>,
    seen: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Rate {
    bucket: i64,
    values: std::collections::HashSet<Key, RandomState>,
    normal: f64,
    buckets: u32,
    last: u32,
}

impl KeyState {
    fn last_time(&self) -> u32 {
        match self {
            KeyState::Few(few) => few.times().last().copied().unwrap_or(0),
            KeyState::Count(times) => times.last().copied().unwrap_or(0),
            KeyState::Values(values) => values.iter().map(|v| v.1).max().unwrap_or(0),
            KeyState::Sum(items) => items.iter().map(|i| i.0).max().unwrap_or(0),
            KeyState::Temporal(times) => times.iter().copied().max().unwrap_or(0),
            KeyState::TemporalFew(few) => few.times().iter().copied().max().unwrap_or(0),
            KeyState::Burst(burst) => burst.last,
            KeyState::Rate(rate) => rate.last,
            KeyState::Geo(geo) => geo.seen,
        }
    }
}

/// Everything a scanner must keep across a restart.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub watermark: Option<i64>,
    /// Rule id → group key → state.
    windows: BTreeMap<String, Map<KeyState>>,
    pub findings: Vec<Finding>,
    /// (rule id, group key, index into `findings`).
    open: Vec<(String, Key, usize)>,
    pub stats: ScanStats,
}

const SSHD: LineSource =
    LineSource { product: "linux", service: "sshd", category: "authentication" };
const SUDO: LineSource =
    LineSource { product: "linux", service: "sudo", category: "process_creation" };
const SYSLOG: LineSource = LineSource { product: "linux", service: "syslog", category: "" };
const WEB: LineSource = LineSource { product: "", service: "", category: "webserver" };
const APP: LineSource = LineSource { product: "application", service: "", category: "" };

/// The sources whose candidate rules are worked out once, by their `firebreak.source` name, in
/// the order of [`Scanner::candidates`]. Anything else is an application event.
const LINE_SOURCES: [(&str, LineSource); 4] =
    [("sshd", SSHD), ("sudo", SUDO), ("syslog", SYSLOG), ("webserver", WEB)];

/// A detection rule that may match the lines of a source, with what lets the scanner pass over
/// it without reading the rule: the first of the slot masks its matcher needs
/// (`Matcher::first_need`: all ruled out by the prefilters, no match), the slots it requires
/// (`Matcher::required_slots`: one absent, no match) and the short values up to two slots must
/// equal (`Matcher::quick_equalities`: one unequal, no match); and whether these checks are the
/// whole rule (`Matcher::decided_by_presence`, `Matcher::decided_by_equality`: all pass, a match).
#[derive(Debug, Clone, Copy)]
struct Candidate {
    index: usize,
    need: u32,
    required: u32,
    /// The checks of [`Candidate::may_match`] are the whole rule: passing them is a match.
    decided: bool,
    /// `equal[..equals]` are in use.
    equals: usize,
    equal: [Equal; QUICK_SLOTS],
}

/// A slot and the fingerprints of the values (`prints[..count]`) one of which it must equal.
#[derive(Debug, Clone, Copy, Default)]
struct Equal {
    slot: usize,
    count: usize,
    prints: [u128; QUICK_VALUES],
}

impl Equal {
    fn holds(&self, view: &View<'_>) -> bool {
        let value = view.slot(self.slot);
        value
            .and_then(fingerprint)
            .is_some_and(|print| self.prints.get(..self.count).unwrap_or_default().contains(&print))
    }
}

impl Candidate {
    fn new(index: usize, matcher: &Matcher) -> Candidate {
        let mut candidate = Candidate {
            index,
            need: matcher.first_need(),
            required: matcher.required_slots(),
            decided: matcher.decided_by_presence() || matcher.decided_by_equality(),
            equals: 0,
            equal: Default::default(),
        };
        for (place, (slot, prints)) in candidate.equal.iter_mut().zip(matcher.quick_equalities()) {
            place.slot = slot;
            for (to, print) in place.prints.iter_mut().zip(&prints) {
                *to = *print;
                place.count += 1;
            }
            candidate.equals += 1;
        }
        candidate
    }

    /// A candidate read from the rule each time (application events: see `evaluate`).
    fn unfiltered(index: usize) -> Candidate {
        Candidate {
            index,
            need: 0,
            required: 0,
            decided: false,
            equals: 0,
            equal: Default::default(),
        }
    }

    /// False when the line cannot match the rule, as far as the candidate tells without it.
    fn may_match(&self, view: &View<'_>) -> bool {
        if (self.need != 0 && self.need & !view.no_hits == 0) || self.required & !view.present != 0
        {
            return false;
        }
        self.equal.get(..self.equals).unwrap_or_default().iter().all(|e| e.holds(view))
    }
}

/// A rule's id, title and tags, as its findings share them.
type RuleMeta = (Arc<str>, Arc<str>, Arc<[String]>);

/// A firing to be turned into a finding.
#[derive(Debug)]
struct Fire {
    rule: usize,
    key: Key,
    /// Where the group as (ECS name, value) pairs comes from, built only when a finding is
    /// opened: most firings only update one.
    group: FireGroup,
    count: u64,
    /// The hash of `key` by [`Scanner::hasher`].
    hash: u64,
    /// What a suppressed repeat adds to the open finding's count.
    increment: u64,
    time: i64,
}

/// The group of a [`Fire`].
#[derive(Debug)]
enum FireGroup {
    /// A correlation's: its `group-by` names over the values joined in the key.
    Key,
    /// A detection rule's that is a finding of its own: read from the line (see
    /// [`detection_group`]).
    Line,
    /// Given (geo rules).
    Given(Vec<(String, String)>),
}

/// The streaming scan engine over one rule set.
#[derive(Debug)]
pub struct Scanner {
    rules: Arc<RuleSet>,
    /// An empty rule set that stands in for `rules` while a line is evaluated.
    stand_in: Option<Arc<RuleSet>>,
    config: ScanConfig,
    syslog: SyslogParser,
    access: AccessParser,
    web_error: WebErrorParser,
    dedup: AttemptDedup,
    parse_stats: ParseStats,
    /// Detection rules per line source ([`LINE_SOURCES`]).
    candidates: [Vec<Candidate>; LINE_SOURCES.len()],
    /// Per line source, one automaton per slot holding every `contains` value of the
    /// candidate rules: one scan tells that none of them can match (most lines).
    prefilters: [Vec<(usize, u32, AnyOf)>; LINE_SOURCES.len()],
    needs_bytes: bool,
    /// The hasher of every [`Table`] (see there).
    hasher: RandomState,
    /// Per line, the hashes of the line's values already taken, by slot (a key of one field).
    slot_hashes: Vec<(usize, u64)>,
    windows: Vec<Table<KeyState>>,
    /// Per rule, its id, title and tags as findings share them.
    meta: Vec<RuleMeta>,
    /// Per rule, the decay factors of a `firebreak-rate` correlation (see [`decay_table`]).
    decay: Vec<Box<[f64]>>,
    /// Keys held over all windows (kept, not recounted, on the hot path).
    keys: usize,
    /// Per rule, its open findings by group key (indexes into `findings`).
    open: Vec<Table<usize>>,
    findings: Vec<Finding>,
    watermark: Option<i64>,
    stats: ScanStats,
    next_sweep: u64,
    /// The detection rules that matched the last line fed (for explanations and scoring).
    last_matches: Vec<usize>,
    key_buf: String,
    /// The firings of the line being evaluated (empty between lines; kept for its capacity).
    fires: Vec<Fire>,
    /// Detection rules whose selections are recorded per line (for [`explain`]).
    explaining: Vec<usize>,
    last_explained: Vec<RuleMatch>,
    last_fields: Vec<(String, String)>,
}

impl Scanner {
    pub fn new(rules: Arc<RuleSet>, config: ScanConfig) -> Scanner {
        let mut candidates: [Vec<Candidate>; LINE_SOURCES.len()] = Default::default();
        let mut needs_bytes = false;
        for (index, rule) in rules.rules.iter().enumerate() {
            match &rule.kind {
                RuleKind::Detection { source, matcher, .. } => {
                    for (slot, (_, line_source)) in LINE_SOURCES.iter().enumerate() {
                        if source.admits(line_source, None)
                            && matcher.can_match()
                            && let Some(list) = candidates.get_mut(slot)
                        {
                            list.push(Candidate::new(index, matcher));
                        }
                    }
                    needs_bytes |= matcher.fields().contains(&FieldRef::Slot(fields::BYTES));
                }
                RuleKind::Correlation(c) => {
                    needs_bytes |= c.field == Some(FieldRef::Slot(fields::BYTES));
                }
            }
        }
        let hasher = RandomState::default();
        let windows = vec![Table::with_hasher(hasher.clone()); rules.rules.len()];
        let open = vec![Table::with_hasher(hasher.clone()); rules.rules.len()];
        let meta = rules
            .rules
            .iter()
            .map(|rule| {
                (rule.id.as_str().into(), rule.title.as_str().into(), rule.tags.clone().into())
            })
            .collect();
        let decay = rules
            .rules
            .iter()
            .map(|rule| match &rule.kind {
                RuleKind::Correlation(c) => decay_table(c),
                RuleKind::Detection { .. } => Box::default(),
            })
            .collect();
        let prefilters = candidates
            .clone()
            .map(|list| prefilters(&rules, &list.iter().map(|c| c.index).collect::<Vec<_>>()));
        Scanner {
            prefilters,
            syslog: SyslogParser::new(config.parse.time_zone.clone()),
            access: AccessParser::default(),
            web_error: WebErrorParser::new(config.parse.time_zone.clone()),
            rules,
            stand_in: Some(Arc::default()),
            config,
            dedup: AttemptDedup::new(),
            parse_stats: ParseStats::default(),
            candidates,
            needs_bytes,
            hasher,
            slot_hashes: Vec::new(),
            windows,
            meta,
            decay,
            keys: 0,
            open,
            findings: Vec::new(),
            watermark: None,
            stats: ScanStats::default(),
            next_sweep: 1 << 16,
            last_matches: Vec::new(),
            key_buf: String::new(),
            fires: Vec::new(),
            explaining: Vec::new(),
            last_explained: Vec::new(),
            last_fields: Vec::new(),
        }
    }

    /// A scanner that carries on from a snapshot. State of rules no longer loaded is dropped.
    pub fn restore(rules: Arc<RuleSet>, config: ScanConfig, snapshot: Snapshot) -> Scanner {
        let mut scanner = Scanner::new(rules, config);
        let Snapshot { watermark, mut windows, findings, open, stats } = snapshot;
        for (index, rule) in scanner.rules.rules.iter().enumerate() {
            if let (Some(state), Some(slot)) =
                (windows.remove(&rule.id), scanner.windows.get_mut(index))
            {
                slot.extend(state);
            }
        }
        for (rule_id, key, finding) in open {
            if let Some((index, _)) = scanner.rules.rule(&rule_id)
                && finding < findings.len()
                && let Some(table) = scanner.open.get_mut(index)
            {
                table.insert(key, finding);
            }
        }
        scanner.keys = scanner.windows.iter().map(|w| w.len()).sum();
        scanner.findings = findings;
        scanner.watermark = watermark;
        scanner.stats = stats;
        scanner
    }

    pub fn snapshot(&self) -> Snapshot {
        let mut windows = BTreeMap::new();
        for (rule, state) in self.rules.rules.iter().zip(&self.windows) {
            if !state.is_empty() {
                let state = state.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                windows.insert(rule.id.clone(), state);
            }
        }
        Snapshot {
            watermark: self.watermark,
            windows,
            findings: self.findings.clone(),
            open: self.open_by_id(),
            stats: self.stats,
        }
    }

    /// The same scanner over another rule set (say, with new threat-intelligence lists): the
    /// windows, open findings and counts of the rules still loaded (by id) carry over, moved
    /// rather than copied as a [`Scanner::snapshot`] would copy them.
    pub fn with_rules(self, rules: Arc<RuleSet>) -> Scanner {
        let open = self.open_by_id();
        let mut windows = BTreeMap::new();
        for (rule, state) in self.rules.rules.iter().zip(self.windows) {
            if !state.is_empty() {
                windows.insert(rule.id.clone(), state.into_iter().collect());
            }
        }
        let snapshot = Snapshot {
            watermark: self.watermark,
            windows,
            findings: self.findings,
            open,
            stats: self.stats,
        };
        Scanner::restore(rules, self.config, snapshot)
    }

    fn open_by_id(&self) -> Vec<(String, Key, usize)> {
        self.rules
            .rules
            .iter()
            .zip(&self.open)
            .flat_map(|(rule, open)| {
                open.iter().map(|(key, finding)| (rule.id.clone(), key.clone(), *finding))
            })
            .collect()
    }

    pub fn stats(&self) -> ScanStats {
        let mut stats = self.stats;
        stats.keys = self.windows.iter().map(|w| w.len() as u64).sum();
        stats
    }

    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }

    /// Hands over the findings so far and forgets them; a rule and group that fires again
    /// afterwards opens a new finding (window state is kept).
    pub fn take_findings(&mut self) -> Vec<Finding> {
        self.open.iter_mut().for_each(Table::clear);
        std::mem::take(&mut self.findings)
    }

    /// The indexes (in the rule set) of the detection rules that matched the last line fed.
    pub fn last_matches(&self) -> &[usize] {
        &self.last_matches
    }

    /// Scans one line of the given format.
    pub fn feed(&mut self, format: Format, line: &[u8], now: Timestamp) {
        self.stats.lines += 1;
        self.last_matches.clear();
        self.last_explained.clear();
        self.last_fields.clear();
        let text = match decode_line(line, self.config.parse.max_line_len, &mut self.parse_stats) {
            Ok(text) => text,
            Err(_) => {
                self.stats.too_long += 1;
                return;
            }
        };
        // `decode_line` copies exactly the lines that were not UTF-8 (lossy replacement).
        if matches!(text, Cow::Owned(_)) {
            self.stats.invalid_utf8 += 1;
        }
        if text.chars().all(char::is_whitespace) {
            self.stats.ignored += 1;
            return;
        }
        match format {
            Format::Syslog => self.feed_syslog(&text, now),
            Format::Access => self.feed_access(&text),
            Format::Json => self.feed_json(&text, now),
            Format::NginxError | Format::ApacheError => match self.web_error.parse_at(&text, now) {
                Some(record) => {
                    let event = record.to_event(now);
                    self.feed_event(&event, &text);
                }
                None => self.stats.malformed += 1,
            },
            Format::Custom => self.stats.malformed += 1,
        }
    }

    fn feed_syslog(&mut self, text: &str, now: Timestamp) {
        let Ok(line) = self.syslog.parse(text, now) else {
            self.stats.malformed += 1;
            return;
        };
        let time = line.timestamp.unwrap_or(now).as_second();
        let weight = u64::from(line.count.max(1));
        let program = line.program.unwrap_or("");
        let mut view = View::new(text);
        let source;
        if sshd::is_sshd(program) {
            let Some(message) = sshd::parse(line.message) else {
                self.stats.ignored += 1;
                return;
            };
            source = 0;
            ssh_view(&mut view, &line, &message);
            if self.dedup.is_new_attempt(line.pid, &message) {
                view.set(fields::ATTEMPT, "true");
            }
        } else if program == "sudo" {
            source = 1;
            syslog_view(&mut view, &line, "sudo");
            if let Some(user) = crate::parse::syslog::sudo_user(line.message) {
                view.set(fields::USER, user);
            }
        } else {
            source = 2;
            syslog_view(&mut view, &line, "syslog");
        }
        self.evaluate(source, None, &mut view, time, weight);
    }

    fn feed_access(&mut self, text: &str) {
        let Some(record) = self.access.parse(text) else {
            self.stats.malformed += 1;
            return;
        };
        let mut view = View::new(text);
        view.set(fields::SOURCE, "webserver");
        view.set(fields::CATEGORY, "web");
        view.set(fields::ACTION, "http_request");
        view.set(fields::OUTCOME, record.outcome());
        let proxies = &self.config.parse.trusted_proxies;
        let (address, is_ip) = address_text(record.client);
        let client = if !is_ip {
            None
        } else if !proxies.is_empty()
            && let Some(peer) = parse_ip(&address)
            && proxies.is_trusted(peer)
        {
            Some(Cow::Owned(proxies.client_ip(peer, record.forwarded_for).to_string()))
        } else {
            Some(address)
        };
        match client {
            Some(ip) => {
                view.set(fields::SOURCE_ADDRESS, ip);
                view.copy(fields::SOURCE_ADDRESS, fields::SOURCE_IP);
            }
            None => view.set(fields::SOURCE_ADDRESS, record.client),
        }
        if let Some(user) = record.user {
            view.set(fields::USER, user);
        }
        if let Some(method) = record.method {
            view.set(fields::METHOD, method);
        }
        view.set(fields::URL, record.target.unwrap_or(record.request));
        if let Some(path) = record.path() {
            view.set(fields::PATH, path);
        }
        if let Some(query) = record.query() {
            view.set(fields::QUERY, query);
        }
        view.set(fields::STATUS, number_text(u64::from(record.status)));
        if self.needs_bytes
            && let Some(bytes) = record.bytes
        {
            view.set(fields::BYTES, number_text(bytes));
        }
        if let Some(agent) = record.user_agent {
            view.set(fields::AGENT, agent);
        }
        if let Some(referrer) = record.referrer {
            view.set(fields::REFERRER, referrer);
        }
        self.evaluate(3, None, &mut view, record.timestamp.as_second(), 1);
    }

    fn feed_json(&mut self, text: &str, now: Timestamp) {
        match parse::json::parse(text.as_bytes(), now) {
            Ok(event) => self.feed_event(&event, text),
            Err(_) => self.stats.malformed += 1,
        }
    }

    /// Scans an event that is already built (JSON lines, or events from the ingest path). An
    /// event read from a line source (`firebreak.source`: `sshd`, `webserver`, …, as the parsers
    /// set it) gets the rules of that source, as the line would in a scan; any other event is an
    /// application event, and gets the rules whose logsource admits its category.
    pub fn feed_event(&mut self, event: &Event, raw: &str) {
        self.last_matches.clear();
        let mut view = View::from_event(event, raw);
        let source = view
            .slot(fields::SOURCE)
            .and_then(|name| LINE_SOURCES.iter().position(|(source, _)| *source == name));
        let category = view.slot(fields::CATEGORY).map(str::to_owned);
        let weight = event.get("event.count").and_then(serde_json::Value::as_u64).unwrap_or(1);
        self.evaluate(
            source.unwrap_or(LINE_SOURCES.len()),
            category.as_deref(),
            &mut view,
            event.timestamp.as_second(),
            weight.max(1),
        );
    }

    fn evaluate(
        &mut self,
        source: usize,
        category: Option<&str>,
        view: &mut View<'_>,
        time: i64,
        weight: u64,
    ) {
        self.slot_hashes.clear();
        if self.allowlisted(view) {
            self.stats.allowlisted += 1;
            return;
        }
        if let Some(mark) = self.watermark {
            if time < mark.saturating_sub(self.config.lateness) {
                self.stats.late += 1;
                return;
            }
            if time > mark {
                self.watermark = Some(time);
            }
        } else {
            self.watermark = Some(time);
        }
        if let Some(geo) = &self.config.geo
            && view.slot(fields::OUTCOME) == Some("success")
            && let Some(point) =
                view.slot(fields::SOURCE_IP).and_then(parse_ip).and_then(|ip| geo.lookup(ip))
        {
            if let Some(country) = point.country {
                view.set(fields::COUNTRY, country.to_string());
            }
            if let Some((lat, lon)) = point.location {
                view.set(fields::LOCATION, format!("{lat},{lon}"));
            }
        }
        if let Some(prefilters) = self.prefilters.get(source) {
            for (slot, covers, automaton) in prefilters {
                if let Some(value) = view.slot(*slot)
                    && !automaton.occurs(value)
                {
                    view.no_hits |= covers;
                }
            }
        }
        let view: &View<'_> = view;
        // The rule set is moved out for the line (and a stand-in moved in), so that the rules
        // can be read while the scanner's state changes: cloning the `Arc` cost two atomic
        // operations per line. Put back below, before anything else reads `self.rules`.
        let rules = match self.stand_in.take() {
            Some(stand_in) => std::mem::replace(&mut self.rules, stand_in),
            None => Arc::clone(&self.rules),
        };
        if !self.explaining.is_empty() {
            self.last_fields = view
                .filled()
                .filter_map(|(slot, value)| {
                    Some(((*fields::SLOTS.get(slot)?).to_owned(), value.to_owned()))
                })
                .collect();
            for &index in &self.explaining {
                if let Some(rule) = rules.rules.get(index)
                    && let RuleKind::Detection { matcher, .. } = &rule.kind
                {
                    self.last_explained.push(RuleMatch {
                        rule_id: rule.id.clone(),
                        matched: matcher.matches(view),
                        selections: matcher.explain(view),
                    });
                }
            }
        }
        // Kept across lines, so that a firing allocates nothing.
        let mut fires = std::mem::take(&mut self.fires);
        fires.clear();
        // Taken out for the loop (the rule set is shared, the lists are ours) and put back.
        let taken = match self.candidates.get_mut(source) {
            Some(list) => std::mem::take(list),
            None => rules
                .rules
                .iter()
                .enumerate()
                .filter(|(_, r)| match &r.kind {
                    RuleKind::Detection { source, .. } => source.admits(&APP, category),
                    RuleKind::Correlation(_) => false,
                })
                .map(|(index, _)| Candidate::unfiltered(index))
                .collect::<Vec<_>>(),
        };
        let candidates = &taken;
        for candidate in candidates {
            if !candidate.may_match(view) {
                continue;
            }
            let (index, decided) = (candidate.index, candidate.decided);
            let Some(rule) = rules.rules.get(index) else { continue };
            let RuleKind::Detection { matcher, generate, group, geo, .. } = &rule.kind else {
                continue;
            };
            if !decided && !matcher.matches(view) {
                continue;
            }
            self.stats.matches += 1;
            self.last_matches.push(index);
            if let Some(check) = geo {
                if let Some(fire) = self.geo_step(index, *check, group, view, time) {
                    fires.push(fire);
                }
            } else if *generate {
                let key = detection_key(group, view);
                fires.push(Fire {
                    rule: index,
                    hash: self.hasher.hash_one(key.as_str()),
                    key,
                    group: FireGroup::Line,
                    count: weight,
                    increment: weight,
                    time,
                });
            }
            for &correlation in rules.feeds.get(index).map(Vec::as_slice).unwrap_or(&[]) {
                self.update(
                    &rules,
                    correlation,
                    index,
                    Input::View(view),
                    time,
                    weight,
                    &mut fires,
                );
            }
        }
        if let Some(list) = self.candidates.get_mut(source) {
            *list = taken;
        }
        // Firings of correlations feed correlations in turn (chains are short; bounded anyway).
        let mut done = 0;
        let mut rounds = 0;
        while done < fires.len() && rounds < 8 {
            let end = fires.len();
            for i in done..end {
                let Some(fire) = fires.get(i) else { break };
                let (rule, count) = (fire.rule, fire.count);
                let feeds = rules.feeds.get(rule).map(Vec::as_slice).unwrap_or(&[]);
                if feeds.is_empty() {
                    continue;
                }
                let key = fire.key.clone();
                let explicit = match &fire.group {
                    FireGroup::Key => None,
                    FireGroup::Line => Some(match rules.rules.get(rule).map(|r| &r.kind) {
                        Some(RuleKind::Detection { group, .. }) => detection_group(group, view),
                        _ => Vec::new(),
                    }),
                    FireGroup::Given(group) => Some(group.clone()),
                };
                let names: &[FieldRef] = match rules.rules.get(rule).map(|r| &r.kind) {
                    Some(RuleKind::Correlation(c)) => &c.group_by,
                    _ => &[],
                };
                for &correlation in feeds {
                    let input = match &explicit {
                        Some(group) => Input::Group(group),
                        None => Input::Keyed(names, &key),
                    };
                    self.update(&rules, correlation, rule, input, time, count, &mut fires);
                }
            }
            done = end;
            rounds += 1;
        }
        for fire in fires.drain(..) {
            self.record(&rules, fire, view);
        }
        self.fires = fires;
        self.stand_in = Some(std::mem::replace(&mut self.rules, rules));
        if self.stats.lines >= self.next_sweep {
            self.sweep();
            // Amortised: a sweep visits every key, so the next one waits at least as many lines.
            self.next_sweep = self.stats.lines + (self.keys as u64).max(1 << 16);
        }
    }

    /// The hash of a line's value of `slot` (`value`), taken once per line.
    fn slot_hash(&mut self, slot: usize, value: &str) -> u64 {
        if let Some((_, hash)) = self.slot_hashes.iter().find(|(s, _)| *s == slot) {
            return *hash;
        }
        let hash = self.hasher.hash_one(value);
        self.slot_hashes.push((slot, hash));
        hash
    }

    fn allowlisted(&self, view: &View<'_>) -> bool {
        let allow = &self.config.allow;
        if !allow.networks.is_empty()
            && let Some(ip) = view.slot(fields::SOURCE_IP).and_then(parse_ip)
            && allow.admits_ip(ip)
        {
            return true;
        }
        !allow.users.is_empty() && view.slot(fields::USER).is_some_and(|u| allow.users.contains(u))
    }

    #[allow(clippy::too_many_arguments)]
    fn update(
        &mut self,
        rules: &RuleSet,
        index: usize,
        from: usize,
        input: Input<'_, '_>,
        time: i64,
        weight: u64,
        fires: &mut Vec<Fire>,
    ) {
        let Some(rule) = rules.rules.get(index) else { return };
        let RuleKind::Correlation(c) = &rule.kind else { return };
        // The key is built in a buffer kept across lines (no allocation unless the key is new),
        // or, for one field, borrowed: the line's value, or the key of the firing that feeds
        // this correlation (what splitting and joining it again would give when it holds no
        // separator).
        let mut buf = std::mem::take(&mut self.key_buf);
        buf.clear();
        let key: &str = match (&input, c.group_by.as_slice()) {
            (Input::View(view), [FieldRef::Slot(slot)]) => match view.slot(*slot) {
                Some(value) => value,
                None => {
                    self.key_buf = buf;
                    return;
                }
            },
            (Input::Keyed([name], key), [field])
                if name.name() == field.name() && !key.contains('\u{1f}') =>
            {
                key
            }
            _ => {
                for (i, field) in c.group_by.iter().enumerate() {
                    let Some(value) = input.get(field) else {
                        self.key_buf = buf;
                        return;
                    };
                    if i > 0 {
                        buf.push('\u{1f}');
                    }
                    buf.push_str(&value);
                }
                &buf
            }
        };
        let hash = match (&input, c.group_by.as_slice()) {
            (Input::View(_), [FieldRef::Slot(slot)]) => self.slot_hash(*slot, key),
            _ => self.hasher.hash_one(key),
        };
        let value = match &c.field {
            Some(field) => match input.get(field) {
                Some(value) => Some(value),
                None => {
                    self.key_buf = buf;
                    return;
                }
            },
            None => None,
        };
        let fired = 'fired: {
            let Some(window) = self.windows.get_mut(index) else { break 'fired None };
            // One probe, by the hash taken above, whether the key is there or not.
            let state = match window.raw_entry_mut().from_hash(hash, |k| k.as_str() == key) {
                RawEntryMut::Occupied(entry) => entry.into_mut(),
                RawEntryMut::Vacant(entry) => {
                    if self.keys >= self.config.max_keys {
                        self.stats.keys_refused += 1;
                        break 'fired None;
                    }
                    self.keys += 1;
                    entry.insert_hashed_nocheck(hash, Key::from(key), initial_state(c)).1
                }
            };
            let position = c.rules.iter().position(|r| *r == from).unwrap_or(0);
            let decay = self.decay.get(index).map_or(&[][..], |d| &d[..]);
            step(c, decay, state, position, value.as_deref(), time, weight)
        };
        if let Some(count) = fired {
            fires.push(Fire {
                rule: index,
                key: Key::from(key),
                hash,
                group: FireGroup::Key,
                count,
                increment: weight,
                time,
            });
        }
        self.key_buf = buf;
    }

    /// A `firebreak-geo` rule matched: fires when the country is new for the group, or the
    /// move since the last login is faster than the rule allows.
    fn geo_step(
        &mut self,
        index: usize,
        check: GeoCheck,
        group_by: &[FieldRef],
        view: &View<'_>,
        time: i64,
    ) -> Option<Fire> {
        let fields: &[FieldRef] =
            if group_by.is_empty() { &[FieldRef::Slot(fields::USER)] } else { group_by };
        let mut group = Vec::with_capacity(fields.len());
        for field in fields {
            group.push((field.name().to_owned(), view.get(field)?.into_owned()));
        }
        let key = join_key(group.iter().map(|(_, v)| v.as_str()));
        let window = self.windows.get_mut(index)?;
        if !window.contains_key(&key) {
            if self.keys >= self.config.max_keys {
                self.stats.keys_refused += 1;
                return None;
            }
            self.keys += 1;
            let state = GeoState { countries: Vec::new(), last: None, seen: 0 };
            window.insert(key.clone(), KeyState::Geo(Box::new(state)));
        }
        let KeyState::Geo(state) = window.get_mut(&key)? else { return None };
        let now = rel(time);
        let first = state.seen == 0;
        state.seen = state.seen.max(now);
        let fired = match check {
            GeoCheck::NewCountry => {
                let country = view.slot(fields::COUNTRY)?;
                let known = state.countries.iter().any(|c| c.as_str() == country);
                if !known {
                    if state.countries.len() >= 16 {
                        state.countries.remove(0);
                    }
                    state.countries.push(Key::from(country));
                }
                !known && !first
            }
            GeoCheck::ImpossibleTravel { max_kmh, min_km } => {
                let (lat, lon) = view
                    .slot(fields::LOCATION)?
                    .split_once(',')
                    .and_then(|(a, b)| Some((a.parse::<f64>().ok()?, b.parse::<f64>().ok()?)))?;
                let fired = match state.last {
                    Some((plat, plon, then)) => {
                        let km = distance_km((plat, plon), (lat, lon));
                        let hours = f64::from(now.abs_diff(then)).max(60.0) / 3600.0;
                        km >= min_km && km / hours > max_kmh
                    }
                    None => false,
                };
                state.last = Some((lat, lon, now));
                fired
            }
        };
        fired.then_some(Fire {
            rule: index,
            hash: self.hasher.hash_one(key.as_str()),
            key,
            group: FireGroup::Given(group),
            count: 1,
            increment: 1,
            time,
        })
    }

    fn record(&mut self, rules: &RuleSet, fire: Fire, view: &View<'_>) {
        let raw = view.raw;
        let Some(rule) = rules.rules.get(fire.rule) else { return };
        let at = Timestamp::from_second(fire.time).unwrap_or(Timestamp::UNIX_EPOCH);
        let open = self.open.get(fire.rule).and_then(|open| {
            open.raw_entry().from_hash(fire.hash, |k| *k == fire.key).map(|(_, index)| *index)
        });
        if let Some(index) = open
            && let Some(finding) = self.findings.get_mut(index)
            && fire.time.saturating_sub(finding.first_seen.as_second()) < self.config.suppression
        {
            finding.count += fire.increment;
            if at > finding.last_seen {
                finding.last_seen = at;
            }
            if finding.sample.len() < self.config.samples {
                finding.sample.push(raw.to_owned());
            }
            return;
        }
        if self.findings.len() >= self.config.max_findings {
            self.stats.findings_refused += 1;
            return;
        }
        let Some((id, title, tags)) = self.meta.get(fire.rule) else { return };
        let (id, title, tags) = (Arc::clone(id), Arc::clone(title), Arc::clone(tags));
        let (count, key, hash, rule_index) = (fire.count, fire.key.clone(), fire.hash, fire.rule);
        let mut sample = Vec::with_capacity(self.config.samples.max(1));
        sample.push(raw.to_owned());
        self.findings.push(Finding {
            rule_id: id,
            title,
            severity: rule.severity,
            group: fire_group(rules, fire, view).into_iter().collect(),
            count,
            first_seen: at,
            last_seen: at,
            sample,
            tags,
        });
        let index = self.findings.len() - 1;
        if let Some(open) = self.open.get_mut(rule_index) {
            match open.raw_entry_mut().from_hash(hash, |k| *k == key) {
                RawEntryMut::Occupied(mut entry) => *entry.get_mut() = index,
                RawEntryMut::Vacant(entry) => {
                    entry.insert_hashed_nocheck(hash, key, index);
                }
            }
        }
    }

    /// Drops keys whose windows have passed and suppression entries that have expired.
    pub fn sweep(&mut self) {
        let Some(mark) = self.watermark else { return };
        let lateness = self.config.lateness;
        let mut evicted = 0;
        for (rule, window) in self.rules.rules.iter().zip(self.windows.iter_mut()) {
            let keep = match &rule.kind {
                RuleKind::Correlation(c) if c.rate.is_some() => c.timespan.saturating_mul(50),
                RuleKind::Correlation(c) => c.timespan,
                RuleKind::Detection { geo: Some(_), .. } => 90 * 86_400,
                RuleKind::Detection { .. } => continue,
            };
            let oldest = rel(mark.saturating_sub(keep).saturating_sub(lateness));
            let before = window.len();
            window.retain(|_, state| state.last_time() >= oldest);
            evicted += before - window.len();
            if window.capacity() > 4 * window.len().max(1024) {
                window.shrink_to_fit();
            }
        }
        self.keys = self.keys.saturating_sub(evicted);
        self.stats.keys_evicted += evicted as u64;
        let suppression = self.config.suppression;
        let findings = &self.findings;
        for open in &mut self.open {
            open.retain(|_, index| {
                findings
                    .get(*index)
                    .is_some_and(|f| f.first_seen.as_second() >= mark.saturating_sub(suppression))
            });
        }
    }
}

/// The combined `contains` automatons of some detection rules, per slot (see `View::no_hits`),
/// with the slots each one rules out. The path and query are parts of `url.original`, which the
/// static sources always set, so their values join its automaton: one scan for all three.
fn prefilters(rules: &RuleSet, candidates: &[usize]) -> Vec<(usize, u32, AnyOf)> {
    let mut values: BTreeMap<usize, (u32, Vec<String>)> = BTreeMap::new();
    for &index in candidates {
        if let Some(RuleKind::Detection { matcher, .. }) = rules.rules.get(index).map(|r| &r.kind) {
            for (slot, value) in matcher.contains_values() {
                let scanned =
                    if matches!(slot, fields::PATH | fields::QUERY) { fields::URL } else { slot };
                if slot < 32 {
                    let entry = values.entry(scanned).or_insert((0, Vec::new()));
                    entry.0 |= 1 << slot;
                    entry.1.push(value);
                }
            }
        }
    }
    values
        .into_iter()
        .filter_map(|(slot, (covers, patterns))| {
            Some((slot, covers, AnyOf::new(&patterns, false).ok()?))
        })
        .collect()
}

/// The group of a firing as (ECS name, value) pairs.
fn fire_group(rules: &RuleSet, fire: Fire, view: &View<'_>) -> Vec<(String, String)> {
    let kind = rules.rules.get(fire.rule).map(|r| &r.kind);
    match (fire.group, kind) {
        (FireGroup::Given(group), _) => group,
        (FireGroup::Line, Some(RuleKind::Detection { group, .. })) => detection_group(group, view),
        (FireGroup::Key, Some(RuleKind::Correlation(c))) => c
            .group_by
            .iter()
            .zip(fire.key.split('\u{1f}'))
            .map(|(f, v)| (f.name().to_owned(), v.to_owned()))
            .collect(),
        _ => Vec::new(),
    }
}

/// The group of a finding of a detection rule: its `firebreak-group` fields (empty text when
/// the line has none), else the first of `source.ip`, `source.address`, `user.name` it has.
fn detection_group(group: &[FieldRef], view: &View<'_>) -> Vec<(String, String)> {
    if group.is_empty() {
        return default_group(view);
    }
    group
        .iter()
        .map(|f| (f.name().to_owned(), view.get(f).map(Cow::into_owned).unwrap_or_default()))
        .collect()
}

/// The key of [`detection_group`]'s values, built from the line without owning them.
fn detection_key(group: &[FieldRef], view: &View<'_>) -> Key {
    if group.is_empty() {
        return default_slot(view).map(|(_, value)| Key::from(value)).unwrap_or_default();
    }
    let mut key = Key::default();
    for (i, field) in group.iter().enumerate() {
        if i > 0 {
            key.push('\u{1f}');
        }
        if let Some(value) = view.get(field) {
            key.push_str(&value);
        }
    }
    key
}

/// The key of a group: its values joined by U+001F.
fn join_key<'a>(values: impl Iterator<Item = &'a str>) -> Key {
    let mut key = Key::default();
    for (i, value) in values.enumerate() {
        if i > 0 {
            key.push('\u{1f}');
        }
        key.push_str(value);
    }
    key
}

/// What a correlation reads its group and value from: a line, or a correlation that fired.
#[derive(Clone, Copy)]
enum Input<'v, 'a> {
    View(&'v View<'a>),
    Group(&'v [(String, String)]),
    /// A correlation's firing: its `group-by` fields and the key holding their values.
    Keyed(&'v [FieldRef], &'v str),
}

impl Input<'_, '_> {
    fn get(&self, field: &FieldRef) -> Option<Cow<'_, str>> {
        match self {
            Input::View(view) => view.get(field),
            Input::Group(group) => group
                .iter()
                .find(|(name, _)| name == field.name())
                .map(|(_, v)| Cow::Borrowed(v.as_str())),
            Input::Keyed(names, key) => {
                let position = names.iter().position(|n| n.name() == field.name())?;
                key.split('\u{1f}').nth(position).map(Cow::Borrowed)
            }
        }
    }
}

fn initial_state(c: &Correlation) -> KeyState {
    if c.rate.is_some() {
        if c.kind == CorrelationType::ValueCount {
            return KeyState::Rate(Box::new(Rate {
                bucket: i64::MIN,
                values: Default::default(),
                normal: 0.0,
                buckets: 0,
                last: 0,
            }));
        }
        return KeyState::Burst(Burst { bucket: 0, count: 0, normal: 0.0, buckets: 0, last: 0 });
    }
    match c.kind {
        CorrelationType::ValueCount => KeyState::Values(Box::default()),
        CorrelationType::ValueSum | CorrelationType::ValueAvg => KeyState::Sum(Box::default()),
        CorrelationType::Temporal | CorrelationType::TemporalOrdered => {
            if c.rules.len() <= FEW {
                // At most FEW (4): the length fits a u8.
                KeyState::TemporalFew(Few { len: c.rules.len() as u8, times: [0; FEW] })
            } else {
                KeyState::Temporal(vec![0; c.rules.len()].into_boxed_slice())
            }
        }
        _ => KeyState::Few(Times::EMPTY),
    }
}

/// Runs `change` on the items as a vector and stores them back without spare capacity (most
/// keys see one event: a million keys with room for four would waste most of it).
fn edit<T>(items: &mut Box<[T]>, grow: usize, change: impl FnOnce(&mut Vec<T>)) {
    let mut vec = std::mem::take(items).into_vec();
    // Exactly the room needed, so that no shrinking reallocation splits the block afterwards.
    vec.reserve_exact(grow);
    change(&mut vec);
    *items = vec.into_boxed_slice();
}

/// Folds a finished bucket into the normal rate (and decays it through `gaps` empty ones).
/// `decay` holds `(1 - alpha)^g` for every `g` up to [`MAX_GAPS`] (see [`decay_table`]).
fn learn(
    normal: f64,
    buckets: u32,
    finished: f64,
    gaps: i64,
    alpha: f64,
    decay: &[f64],
) -> (f64, u32) {
    let mut normal =
        if buckets == 0 { finished } else { alpha * finished + (1.0 - alpha) * normal };
    let gaps = gaps.clamp(0, MAX_GAPS) as i32;
    if gaps > 0 {
        // `powi(0)` is exactly 1: skipped.
        normal *= match decay.get(gaps as usize) {
            Some(factor) => *factor,
            None => (1.0 - alpha).powi(gaps),
        };
    }
    (normal, buckets.saturating_add(1 + gaps as u32))
}

/// The most empty buckets a rate decays through at once.
const MAX_GAPS: i64 = 1000;

/// `(1 - alpha)^g` for `g` in `0..=MAX_GAPS`, computed by the very `powi` that `learn` would call
/// (so the figures are the same to the bit): a table lookup instead of a `powi` call on each new
/// bucket of each key, which showed in profiles of access logs (one rate key per client).
fn decay_table(c: &Correlation) -> Box<[f64]> {
    let Some(spec) = c.rate else { return Box::default() };
    (0..=MAX_GAPS as i32).map(|g| (1.0 - spec.alpha).powi(std::hint::black_box(g))).collect()
}

/// Adds one input to a key's state; returns the correlation's value when it fires.
#[allow(clippy::too_many_arguments)]
fn step(
    c: &Correlation,
    decay: &[f64],
    state: &mut KeyState,
    position: usize,
    value: Option<&str>,
    time: i64,
    weight: u64,
) -> Option<u64> {
    let now = rel(time);
    let span = u32::try_from(c.timespan).unwrap_or(u32::MAX);
    let start = now.saturating_sub(span);
    match state {
        KeyState::Few(few) => {
            let keep = c.needed();
            let adds = usize::try_from(weight).unwrap_or(usize::MAX).min(keep);
            let mut len = few.len();
            if keep > FEW_TIMES && len.saturating_add(adds) > FEW_TIMES {
                // Out of inline room: the boxed form from here on (it never shrinks back).
                *state = KeyState::Count(few.times().into());
                return step(c, decay, state, position, value, time, weight);
            }
            // The same steps as `Count` below, in place: the length stays within `FEW_TIMES`.
            let times = &mut few.0;
            for _ in 0..adds {
                let at = times.get(..len).unwrap_or_default().partition_point(|t| *t <= now);
                if len >= keep {
                    if at == 0 {
                        break;
                    }
                    times.copy_within(1..at, 0);
                    if let Some(slot) = times.get_mut(at - 1) {
                        *slot = now;
                    }
                } else {
                    times.copy_within(at..len, at + 1);
                    if let Some(slot) = times.get_mut(at) {
                        *slot = now;
                    }
                    len += 1;
                }
            }
            count_fires(c, times.get(..len).unwrap_or_default(), now, span)
        }
        KeyState::Count(times) => {
            let keep = c.needed();
            for _ in 0..weight.min(keep as u64) {
                let at = times.partition_point(|t| *t <= now);
                if times.len() >= keep {
                    // Full: drop the oldest and slide the newer ones down, in place (a hot key
                    // must not reallocate on every event).
                    if at == 0 {
                        break; // older than every time kept: it cannot change the newest run
                    }
                    times.copy_within(1..at, 0);
                    if let Some(slot) = times.get_mut(at - 1) {
                        *slot = now;
                    }
                } else {
                    edit(times, 1, |times| times.insert(at, now));
                }
            }
            count_fires(c, times, now, span)
        }
        KeyState::Values(values) => {
            let value = value?;
            let keep = c.needed();
            match values.iter_mut().find(|(v, _)| v.as_str() == value) {
                Some(entry) => entry.1 = entry.1.max(now),
                None => {
                    // Reuse an expired entry, or the oldest when full; grow only otherwise.
                    let oldest =
                        values.iter().enumerate().min_by_key(|(_, v)| v.1).map(|(i, v)| (i, v.1));
                    match oldest {
                        Some((index, time)) if time < start || values.len() >= keep => {
                            if let Some(entry) = values.get_mut(index) {
                                *entry = (Key::from(value), now);
                            }
                        }
                        _ => edit(values, 1, |values| values.push((Key::from(value), now))),
                    }
                }
            }
            let count = values.iter().filter(|(_, t)| *t >= start).count();
            c.condition_holds(count as f64).then_some(count as u64)
        }
        KeyState::Sum(items) => {
            let amount: f64 = value?.trim().parse().ok()?;
            edit(items, 1, |items| {
                items.retain(|(t, _)| *t >= start);
                items.push((now, amount));
            });
            let sum: f64 = items.iter().map(|i| i.1).sum();
            let value = if c.kind == CorrelationType::ValueAvg {
                sum / items.len().max(1) as f64
            } else {
                sum
            };
            c.condition_holds(value).then_some(value.max(0.0) as u64)
        }
        KeyState::Temporal(times) => temporal_step(c, times, position, now, start),
        KeyState::TemporalFew(few) => temporal_step(c, few.times_mut(), position, now, start),
        KeyState::Burst(burst) => {
            let spec = c.rate?;
            let bucket =
                u32::try_from((time - EPOCH).div_euclid(c.timespan).max(1)).unwrap_or(u32::MAX);
            burst.last = burst.last.max(now);
            if bucket > burst.bucket {
                if burst.bucket != 0 {
                    let gaps = i64::from(bucket - burst.bucket - 1);
                    let (normal, buckets) = learn(
                        f64::from(burst.normal),
                        u32::from(burst.buckets),
                        f64::from(burst.count),
                        gaps,
                        spec.alpha,
                        decay,
                    );
                    burst.normal = normal as f32;
                    burst.buckets = u16::try_from(buckets).unwrap_or(u16::MAX);
                }
                burst.bucket = bucket;
                burst.count = 0;
            } else if bucket < burst.bucket {
                return None; // late for a closed bucket: it only would have changed the past.
            }
            burst.count = burst.count.saturating_add(u32::try_from(weight).unwrap_or(u32::MAX));
            let current = f64::from(burst.count);
            let normal = f64::from(burst.normal).max(spec.floor);
            let fires = u32::from(burst.buckets) >= spec.warmup
                && current >= spec.factor * normal
                && c.condition_holds(current);
            fires.then_some(u64::from(burst.count))
        }
        KeyState::Rate(rate) => {
            let spec = c.rate?;
            let value = value?;
            let bucket = time.div_euclid(c.timespan);
            rate.last = rate.last.max(now);
            if bucket > rate.bucket {
                if rate.bucket != i64::MIN {
                    let finished = rate.values.len() as f64;
                    let gaps = bucket - rate.bucket - 1;
                    (rate.normal, rate.buckets) =
                        learn(rate.normal, rate.buckets, finished, gaps, spec.alpha, decay);
                }
                rate.bucket = bucket;
                rate.values.clear();
            } else if bucket < rate.bucket {
                return None;
            }
            if rate.values.len() < 100_000 {
                // One hash: inserting a value already held leaves the set as it is.
                rate.values.insert(Key::from(value));
            }
            let current = rate.values.len() as f64;
            let normal = rate.normal.max(spec.floor);
            let fires = rate.buckets >= spec.warmup
                && current >= spec.factor * normal
                && c.condition_holds(current);
            fires.then_some(current as u64)
        }
        // Fed by `Scanner::geo_step`, never by a correlation.
        KeyState::Geo(_) => None,
    }
}

/// A temporal correlation's step over its per-rule times (boxed or inline).
fn temporal_step(
    c: &Correlation,
    times: &mut [u32],
    position: usize,
    now: u32,
    start: u32,
) -> Option<u64> {
    if c.kind == CorrelationType::TemporalOrdered {
        if position == 0 {
            if let Some(first) = times.first_mut() {
                *first = now;
            }
        } else {
            let previous = times.get(position - 1).copied().unwrap_or(0);
            if previous != 0
                && previous >= start
                && let Some(slot) = times.get_mut(position)
            {
                *slot = previous;
            }
        }
        let last = times.last().copied().unwrap_or(0);
        if last != 0 && last >= start && position + 1 == times.len() {
            times.iter_mut().for_each(|t| *t = 0);
            return Some(c.rules.len() as u64);
        }
        None
    } else {
        if let Some(slot) = times.get_mut(position) {
            *slot = (*slot).max(now);
        }
        let all = times.iter().all(|t| *t != 0 && *t >= start);
        all.then_some(c.rules.len() as u64)
    }
}

/// An event count's value over sorted times, when its condition holds: the times within the
/// timespan before the newest, if the event just added (`now`) is among them.
fn count_fires(c: &Correlation, times: &[u32], now: u32, span: u32) -> Option<u64> {
    let newest = times.last().copied().unwrap_or(now);
    let from = newest.saturating_sub(span);
    let count = times.iter().filter(|t| **t >= from).count();
    (now >= from && c.condition_holds(count as f64)).then_some(count as u64)
}

fn default_group(view: &View<'_>) -> Vec<(String, String)> {
    match default_slot(view) {
        Some((name, value)) => vec![(name.to_owned(), value.to_owned())],
        None => Vec::new(),
    }
}

/// The field a detection finding is grouped by when its rule names none, and its value.
fn default_slot<'v>(view: &'v View<'_>) -> Option<(&'static str, &'v str)> {
    for slot in [fields::SOURCE_IP, fields::SOURCE_ADDRESS, fields::USER] {
        if let Some(value) = view.slot(slot) {
            return Some((fields::SLOTS.get(slot).copied().unwrap_or("?"), value));
        }
    }
    None
}

fn syslog_view<'a>(view: &mut View<'a>, line: &SyslogLine<'a>, source: &'static str) {
    view.set_str(fields::SOURCE, source);
    if let Some(host) = line.host {
        view.set_str(fields::HOST, host);
    }
    if let Some(program) = line.program {
        view.set_str(fields::PROCESS, program);
    }
    view.set_str(fields::MESSAGE, line.message);
}

fn ssh_view<'a>(view: &mut View<'a>, line: &SyslogLine<'a>, message: &sshd::SshMessage<'a>) {
    syslog_view(view, line, "sshd");
    view.set_str(fields::CATEGORY, "authentication");
    view.set_str(fields::ACTION, message.kind.action(message.preauth));
    view.set_str(fields::OUTCOME, message.outcome());
    if let Some(address) = message.address {
        let (address, is_ip) = address_text(address);
        view.set(fields::SOURCE_ADDRESS, address);
        if is_ip {
            view.copy(fields::SOURCE_ADDRESS, fields::SOURCE_IP);
        }
    }
    if let Some(user) = message.user {
        view.set_str(fields::USER, user);
    }
    if let Some(method) = message.method {
        view.set_str(fields::SSH_METHOD, method);
    }
    if let Some(detail) = message.detail {
        view.set_str(fields::REASON, detail);
    }
}

/// The address as rules compare it, and whether it is an IP. Plain IPv4 text (the common case)
/// is already canonical — Rust's parser refuses leading zeros — so it is borrowed without the
/// formatting round trip `normalise_address` needs for IPv6.
fn address_text(text: &str) -> (Cow<'_, str>, bool) {
    if parse::is_ipv4(text) {
        return (Cow::Borrowed(text), true);
    }
    let is_ip = parse_ip(text).is_some();
    (normalise_address(text), is_ip)
}

/// Why a detection rule did or did not match one line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleMatch {
    pub rule_id: String,
    pub matched: bool,
    /// Each named detection (selection, filter…) and whether it matched.
    pub selections: Vec<(String, bool)>,
}

/// One line as [`explain`] saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineExplanation {
    /// 1-based.
    pub number: usize,
    /// False when the line was not of the format (or too long): no rule saw it.
    pub read: bool,
    /// The fields rules saw (ECS name → value).
    pub fields: Vec<(String, String)>,
    pub rules: Vec<RuleMatch>,
}

/// What a rule (and, for a correlation, the rules it aggregates) made of some lines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    pub rule_id: String,
    pub lines: Vec<LineExplanation>,
    /// The findings of the rule itself after the last line.
    pub findings: Vec<Finding>,
    pub stats: ScanStats,
}

/// `rules test`: runs `lines` through a fresh scanner and says, per line, which of the rule's
/// detections matched, and which findings the rule produced. `None` when no rule has that id.
pub fn explain(
    rules: Arc<RuleSet>,
    rule_id: &str,
    config: ScanConfig,
    format: Format,
    lines: &[&[u8]],
    now: Timestamp,
) -> Option<Explanation> {
    let (index, rule) = rules.rule(rule_id)?;
    let rule_id = rule.id.clone();
    // The detection rules behind it, through chains of correlations.
    let mut explaining = Vec::new();
    let mut pending = vec![index];
    while let Some(next) = pending.pop() {
        match rules.rules.get(next).map(|r| &r.kind) {
            Some(RuleKind::Detection { .. }) if !explaining.contains(&next) => {
                explaining.push(next)
            }
            Some(RuleKind::Correlation(c)) => pending.extend(c.rules.iter().copied()),
            _ => {}
        }
    }
    explaining.sort_unstable();
    let mut scanner = Scanner::new(Arc::clone(&rules), config);
    scanner.explaining = explaining;
    let mut out = Vec::with_capacity(lines.len());
    for (number, line) in lines.iter().enumerate() {
        scanner.feed(format, line, now);
        out.push(LineExplanation {
            number: number + 1,
            read: !scanner.last_fields.is_empty() || !scanner.last_explained.is_empty(),
            fields: std::mem::take(&mut scanner.last_fields),
            rules: std::mem::take(&mut scanner.last_explained),
        });
    }
    let findings = scanner.findings().iter().filter(|f| *f.rule_id == *rule_id).cloned().collect();
    Some(Explanation { rule_id, lines: out, findings, stats: scanner.stats() })
}

#[cfg(test)]
mod size_tests {
    /// Window state is multiplied by the number of keys: keep an entry at 48 bytes.
    #[test]
    fn key_state_stays_small() {
        assert!(std::mem::size_of::<super::KeyState>() <= 24);
        assert!(std::mem::size_of::<super::Key>() <= 24);
    }

    proptest::proptest! {
        /// The decay table gives what `powi` gives, to the bit.
        #[test]
        fn the_decay_table_is_powi(
            alpha in 0.01f64..=1.0, gaps in 0i64..1200, normal in 0.0f64..1e6, finished in 0.0f64..1e6
        ) {
            let table: Vec<f64> =
                (0..=super::MAX_GAPS as i32).map(|g| (1.0 - alpha).powi(std::hint::black_box(g))).collect();
            let with = super::learn(normal, 3, finished, gaps, alpha, &table);
            let without = super::learn(normal, 3, finished, gaps, alpha, &[]);
            proptest::prop_assert_eq!(with.0.to_bits(), without.0.to_bits());
            proptest::prop_assert_eq!(with.1, without.1);
        }
    }

    proptest::proptest! {
        /// An event count held inline fires as the boxed one does, event by event, whatever the
        /// threshold, the order of the times (late ones included) and the weights.
        #[test]
        fn inline_counts_fire_as_boxed_counts_do(
            threshold in 1u32..9,
            events in proptest::collection::vec((0i64..1_500, 1u64..4), 1..40),
        ) {
            use super::{KeyState, Times, step};
            let text = format!(
                "title: One\nname: one\nlogsource:\n  product: linux\ndetection:\n  selection:\n    \
                 user.name: x\n  condition: selection\n---\ntitle: Many\ncorrelation:\n  \
                 type: event_count\n  rules:\n    - one\n  group-by:\n    - user.name\n  \
                 timespan: 10m\n  condition:\n    gte: {threshold}\n"
            );
            let files = [crate::rules::RuleFile { name: "count.yml", text: &text }];
            let lists = std::collections::HashMap::<String, Vec<String>>::new();
            let rules = crate::rules::RuleSet::load(&files, &lists).unwrap();
            let c = rules
                .rules
                .iter()
                .find_map(|r| match &r.kind {
                    crate::rules::RuleKind::Correlation(c) => Some(c),
                    _ => None,
                })
                .unwrap();
            let (mut inline, mut boxed) = (KeyState::Few(Times::EMPTY), KeyState::Count(Box::default()));
            for (offset, weight) in events {
                let time = 1_700_000_000 + offset;
                let a = step(c, &[], &mut inline, 0, None, time, weight);
                let b = step(c, &[], &mut boxed, 0, None, time, weight);
                proptest::prop_assert_eq!(a, b);
            }
        }
    }

    /// A count (and a temporal chain) held inline is written to snapshots as any is, and read
    /// back inline.
    #[test]
    fn inline_counts_are_stored_as_counts() {
        use super::{FEW_TIMES, Few, KeyState, Times};
        let few = KeyState::Few(Times([5, 9, 0, 0, 0]));
        let json = serde_json::to_string(&few).unwrap();
        assert_eq!(json, r#"{"Count":[5,9]}"#);
        assert_eq!(serde_json::from_str::<KeyState>(&json).unwrap(), few);
        let five = KeyState::Few(Times([1, 2, 3, 4, 5]));
        let json = serde_json::to_string(&five).unwrap();
        assert_eq!(serde_json::from_str::<KeyState>(&json).unwrap(), five);
        let many: Vec<u32> = (1..=FEW_TIMES as u32 + 1).collect();
        let json = serde_json::to_string(&many).unwrap();
        let read: KeyState = serde_json::from_str(&format!(r#"{{"Count":{json}}}"#)).unwrap();
        assert_eq!(read, KeyState::Count(many.into_boxed_slice()));
        let pair = KeyState::TemporalFew(Few { len: 2, times: [7, 0, 0, 0] });
        let json = serde_json::to_string(&pair).unwrap();
        assert_eq!(json, r#"{"Temporal":[7,0]}"#);
        assert_eq!(serde_json::from_str::<KeyState>(&json).unwrap(), pair);
    }
}
