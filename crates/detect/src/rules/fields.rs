//! Field names: the ECS names rules use, Sigma's taxonomy names mapped onto them, and `View`,
//! the borrowed record a compiled rule reads.
//!
//! # Field mapping (Sigma → ECS)
//!
//! Rules may name fields in ECS (`source.ip`) or with Sigma's web-server taxonomy
//! (`c-ip`); both resolve to the same slot. The mapping:
//!
//! | Sigma name | ECS name |
//! |---|---|
//! | `c-ip`, `ClientIP`, `src_ip`, `SourceIp` | `source.ip` |
//! | `cs-method` | `http.request.method` |
//! | `c-uri`, `cs-uri` | `url.original` |
//! | `cs-uri-stem`, `c-uri-stem` | `url.path` |
//! | `cs-uri-query`, `c-uri-query` | `url.query` |
//! | `c-useragent`, `cs-user-agent` | `user_agent.original` |
//! | `cs-referer`, `cs-referrer` | `http.request.referrer` |
//! | `sc-status` | `http.response.status_code` |
//! | `sc-bytes` | `http.response.body.bytes` |
//! | `cs-host` | `url.domain` |
//! | `User`, `user`, `username`, `cs-username` | `user.name` |
//! | `Image` | `process.executable` |
//! | `CommandLine` | `process.command_line` |
//! | `Computer`, `hostname` | `host.name` |
//!
//! Every other name is looked up as written (a dotted ECS name) in the event of JSON lines.
//! firebreak adds `firebreak.attempt` (`true` on an sshd line that is one new authentication
//! attempt, after folding `Invalid user` with the `Failed password` that repeats it) and
//! `firebreak.source` (`sshd`, `sudo`, `webserver`, `application`, …). On successful logins,
//! when the scanner has a geo database, `source.geo.country_iso_code` and `source.geo.location`
//! (`latitude,longitude`) are looked up from `source.ip`.

use std::borrow::Cow;
use std::sync::LazyLock;

use firebreak_core::event::Event;
use serde_json::Value;

/// The fields held in fixed slots of a [`View`], in slot order.
pub const SLOTS: &[&str] = &[
    "event.action",
    "event.outcome",
    "event.category",
    "source.ip",
    "source.address",
    "user.name",
    "url.original",
    "url.path",
    "url.query",
    "http.request.method",
    "http.response.status_code",
    "user_agent.original",
    "http.request.referrer",
    "http.response.body.bytes",
    "process.name",
    "host.name",
    "message",
    "ssh.method",
    "event.reason",
    "firebreak.attempt",
    "firebreak.source",
    "source.geo.country_iso_code",
    "source.geo.location",
];

pub const SLOT_COUNT: usize = 23;
const _: () = assert!(SLOTS.len() == SLOT_COUNT);
// Masks of slots are `u32`s.
const _: () = assert!(SLOT_COUNT <= 32);

pub const ACTION: usize = 0;
pub const OUTCOME: usize = 1;
pub const CATEGORY: usize = 2;
pub const SOURCE_IP: usize = 3;
pub const SOURCE_ADDRESS: usize = 4;
pub const USER: usize = 5;
pub const URL: usize = 6;
pub const PATH: usize = 7;
pub const QUERY: usize = 8;
pub const METHOD: usize = 9;
pub const STATUS: usize = 10;
pub const AGENT: usize = 11;
pub const REFERRER: usize = 12;
pub const BYTES: usize = 13;
pub const PROCESS: usize = 14;
pub const HOST: usize = 15;
pub const MESSAGE: usize = 16;
pub const SSH_METHOD: usize = 17;
pub const REASON: usize = 18;
pub const ATTEMPT: usize = 19;
pub const SOURCE: usize = 20;
/// Set from the geo database (when the scanner has one) on successful logins.
pub const COUNTRY: usize = 21;
/// `latitude,longitude`.
pub const LOCATION: usize = 22;

/// A field as a compiled rule names it: a slot, or a dotted name read from the JSON event.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FieldRef {
    Slot(usize),
    Other(Box<str>),
}

impl FieldRef {
    /// Resolves a rule's field name through the Sigma → ECS table.
    pub fn resolve(name: &str) -> FieldRef {
        let ecs = ecs_name(name);
        match SLOTS.iter().position(|slot| *slot == ecs) {
            Some(index) => FieldRef::Slot(index),
            None => FieldRef::Other(ecs.into()),
        }
    }

    /// The ECS name.
    pub fn name(&self) -> &str {
        match self {
            FieldRef::Slot(index) => SLOTS.get(*index).copied().unwrap_or("?"),
            FieldRef::Other(name) => name,
        }
    }
}

/// The ECS name of a Sigma field name (unchanged when it is not in the table).
pub fn ecs_name(name: &str) -> &str {
    match name {
        "c-ip" | "ClientIP" | "src_ip" | "SourceIp" | "client_ip" => "source.ip",
        "cs-method" => "http.request.method",
        "c-uri" | "cs-uri" => "url.original",
        "cs-uri-stem" | "c-uri-stem" => "url.path",
        "cs-uri-query" | "c-uri-query" => "url.query",
        "c-useragent" | "cs-user-agent" => "user_agent.original",
        "cs-referer" | "cs-referrer" => "http.request.referrer",
        "sc-status" => "http.response.status_code",
        "sc-bytes" => "http.response.body.bytes",
        "cs-host" => "url.domain",
        "User" | "user" | "username" | "cs-username" => "user.name",
        "Image" => "process.executable",
        "CommandLine" => "process.command_line",
        "Computer" | "hostname" => "host.name",
        other => other,
    }
}

/// Decimal text of small numbers, so that a status code is a `&'static str` without formatting.
static NUMBERS: LazyLock<Vec<String>> =
    LazyLock::new(|| (0..1000).map(|n| n.to_string()).collect());

pub fn number_text(n: u64) -> Cow<'static, str> {
    match NUMBERS.get(n as usize) {
        Some(text) => Cow::Borrowed(text.as_str()),
        None => Cow::Owned(n.to_string()),
    }
}

/// One line as rules see it: the fixed slots, borrowed from the line where possible, and the
/// JSON event behind it when the line was JSON.
///
/// Slots are `Copy` (a borrowed text, or the place of an owned one in `owned`), so that a view
/// is cheap to set up and to drop on every line: with a `Cow` per slot, dropping the view
/// checked every slot for an allocation, which cost as much as reading the syslog header.
#[derive(Debug, Default)]
pub struct View<'a> {
    slots: [Slot<'a>; SLOT_COUNT],
    /// Texts the view owns (numbers written out, values of JSON events), in the order set.
    owned: Vec<String>,
    pub event: Option<&'a Event>,
    /// The whole line, for Sigma keyword searches.
    pub raw: &'a str,
    /// Slots (bit = slot index) in which no `contains` value of any candidate rule occurs, as
    /// found by one combined scan per slot (see `Scanner`): such tests are false at once.
    pub no_hits: u32,
    /// Slots (bit = slot index) that hold a value, kept by [`View::set`] and
    /// [`View::from_event`]: the scanner passes over a rule that needs a slot the line lacks.
    pub present: u32,
}

/// One slot of a [`View`].
#[derive(Debug, Default, Clone, Copy)]
enum Slot<'a> {
    #[default]
    Empty,
    Borrowed(&'a str),
    /// An index into [`View::owned`].
    Owned(usize),
}

impl<'a> View<'a> {
    pub fn new(raw: &'a str) -> View<'a> {
        View {
            slots: [Slot::Empty; SLOT_COUNT],
            owned: Vec::new(),
            event: None,
            raw,
            no_hits: 0,
            present: 0,
        }
    }

    /// Sets a slot to a text borrowed from the line (or static): the parsers' path.
    #[inline]
    pub fn set_str(&mut self, slot: usize, text: &'a str) {
        if let Some(place) = self.slots.get_mut(slot) {
            *place = Slot::Borrowed(text);
            self.present |= 1 << slot;
        }
    }

    #[inline]
    pub fn set(&mut self, slot: usize, value: impl Into<Cow<'a, str>>) {
        let filled = match value.into() {
            Cow::Borrowed(text) => Slot::Borrowed(text),
            Cow::Owned(text) => self.keep(text),
        };
        if let Some(place) = self.slots.get_mut(slot) {
            *place = filled;
            self.present |= 1 << slot;
        }
    }

    /// Sets slot `to` to what slot `from` holds (nothing when it holds nothing): one text in
    /// two fields (`source.ip` and `source.address`) is neither copied nor cloned.
    pub fn copy(&mut self, from: usize, to: usize) {
        // Rebuilt by its variant rather than copied whole: the slot was stored a word at a time
        // a moment ago, and a copy reads it back in wider loads that stall on store forwarding.
        let held = match self.slots.get(from) {
            Some(Slot::Borrowed(text)) => Slot::Borrowed(text),
            Some(Slot::Owned(index)) => Slot::Owned(*index),
            Some(Slot::Empty) | None => return,
        };
        if let Some(place) = self.slots.get_mut(to) {
            *place = held;
            self.present |= 1 << to;
        }
    }

    /// Takes an owned text (lines mostly set borrowed ones: kept out of the inlined path).
    #[cold]
    fn keep(&mut self, text: String) -> Slot<'a> {
        self.owned.push(text);
        Slot::Owned(self.owned.len() - 1)
    }

    /// The text in a slot.
    pub fn slot(&self, slot: usize) -> Option<&str> {
        match self.slots.get(slot)? {
            Slot::Empty => None,
            Slot::Borrowed(text) => Some(text),
            Slot::Owned(index) => self.owned.get(*index).map(String::as_str),
        }
    }

    /// Every slot that holds a text: (slot, text).
    pub fn filled(&self) -> impl Iterator<Item = (usize, &str)> {
        (0..SLOT_COUNT).filter_map(|slot| Some((slot, self.slot(slot)?)))
    }

    /// The field's value as text (numbers and booleans of JSON events written as JSON writes them).
    pub fn get(&self, field: &FieldRef) -> Option<Cow<'_, str>> {
        match field {
            FieldRef::Slot(index) => self.slot(*index).map(Cow::Borrowed),
            FieldRef::Other(name) => {
                let value = self.event?.get(name)?;
                value_text(value)
            }
        }
    }

    /// Fills the slots from a JSON event (every slot that the event has).
    pub fn from_event(event: &'a Event, raw: &'a str) -> View<'a> {
        let mut view = View::new(raw);
        view.event = Some(event);
        for (index, name) in SLOTS.iter().enumerate() {
            if let Some(text) = event.get(name).and_then(value_text) {
                view.set(index, text);
            }
        }
        if view.slot(SOURCE).is_none() {
            view.set(SOURCE, "application");
        }
        view
    }
}

fn value_text(value: &Value) -> Option<Cow<'_, str>> {
    match value {
        Value::String(text) => Some(Cow::Borrowed(text)),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        Value::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
        // ECS allows arrays (event.category): the first entry stands for the field.
        Value::Array(items) => items.first().and_then(value_text),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A copied slot holds the same text (borrowed or owned) and counts as present; copying an
    /// empty slot leaves the target as it was.
    #[test]
    fn a_copied_slot_holds_the_same_text() {
        let mut view = View::new("raw");
        view.set(SOURCE_ADDRESS, "2001:db8::1".to_owned());
        view.copy(SOURCE_ADDRESS, SOURCE_IP);
        assert_eq!(view.slot(SOURCE_IP), Some("2001:db8::1"));
        assert_ne!(view.present & (1 << SOURCE_IP), 0);
        view.set_str(USER, "alice");
        view.copy(USER, HOST);
        assert_eq!(view.slot(HOST), Some("alice"));
        view.copy(URL, SOURCE_IP);
        assert_eq!(view.slot(SOURCE_IP), Some("2001:db8::1"));
        assert_eq!(view.present & (1 << URL), 0);
    }
}
