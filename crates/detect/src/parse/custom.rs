//! User-defined parsers: a regular expression with named captures, each mapped to an ECS field,
//! built from a config file section. A capture named with `__` for `.` (`source__ip`) maps to
//! that field without being listed; `fields` maps any other name.
//!
//! ```toml
//! name = "myapp-login"
//! pattern = '^(?P<ts>\S+) login failed user=(?P<user>\S+) ip=(?P<source__ip>\S+)$'
//! fields = { user = "user.name" }
//! timestamp = { capture = "ts", format = "%Y-%m-%dT%H:%M:%S%:z" }
//! static_fields = { "event.category" = "authentication", "event.outcome" = "failure" }
//! ```
//!
//! The regex crate guarantees linear-time matching, so a user pattern cannot be made to
//! backtrack catastrophically on hostile input.

use std::collections::BTreeMap;

use firebreak_core::event::Event;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use regex::Regex;
use serde::Deserialize;
use serde_json::Value;

use super::{ParseError, parse_ip};

/// A user-defined parser as written in configuration.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomConfig {
    /// A name for error messages and `event.module`.
    pub name: String,
    /// The regular expression (Rust `regex` syntax), with named captures.
    pub pattern: String,
    /// Capture name → ECS field name.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    /// Which capture holds the event time, and its `strftime` format.
    #[serde(default)]
    pub timestamp: Option<TimestampConfig>,
    /// Fields set on every event (`event.category`, `event.outcome`…).
    #[serde(default)]
    pub static_fields: BTreeMap<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimestampConfig {
    pub capture: String,
    /// A `strftime` format such as `%Y-%m-%d %H:%M:%S`; without `%z` the time is read in the
    /// configured zone.
    pub format: String,
}

/// Why a custom parser's configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CustomParserError {
    #[error("parser `{name}`: the pattern does not compile: {reason}")]
    BadPattern { name: String, reason: String },
    #[error("parser `{name}`: the pattern has no named captures, so it would produce empty events")]
    NoCaptures { name: String },
    #[error(
        "parser `{name}`: `fields` maps `{capture}`, but the pattern has no capture of that name (it has: {known})"
    )]
    UnknownCapture { name: String, capture: String, known: String },
    #[error(
        "parser `{name}`: `{field}` is not a field name (use dotted ECS names such as `source.ip`)"
    )]
    BadFieldName { name: String, field: String },
    #[error("parser `{name}`: the timestamp capture `{capture}` is not in the pattern")]
    UnknownTimestampCapture { name: String, capture: String },
    #[error("parser `{name}`: the timestamp format is empty")]
    EmptyTimestampFormat { name: String },
    #[error("parser `{name}`: the pattern is longer than {max} bytes")]
    PatternTooLong { name: String, max: usize },
}

/// The largest pattern accepted, and the compiled size limit, so that configuration cannot
/// exhaust memory.
const MAX_PATTERN_LEN: usize = 16 * 1024;
const MAX_COMPILED_SIZE: usize = 8 * 1024 * 1024;

/// A compiled user-defined parser.
#[derive(Debug, Clone)]
pub struct CustomParser {
    name: String,
    regex: Regex,
    /// (capture index, ECS field) for every mapped capture.
    captures: Vec<(usize, String)>,
    timestamp: Option<(usize, String)>,
    static_fields: Vec<(String, Value)>,
    zone: TimeZone,
}

impl CustomParser {
    /// Compiles a configuration; `zone` reads times written without an offset.
    pub fn new(config: &CustomConfig, zone: TimeZone) -> Result<CustomParser, CustomParserError> {
        let name = config.name.clone();
        if config.pattern.len() > MAX_PATTERN_LEN {
            return Err(CustomParserError::PatternTooLong { name, max: MAX_PATTERN_LEN });
        }
        let regex = regex::RegexBuilder::new(&config.pattern)
            .size_limit(MAX_COMPILED_SIZE)
            .build()
            .map_err(|error| CustomParserError::BadPattern {
                name: name.clone(),
                reason: error.to_string(),
            })?;
        let names: Vec<(usize, &str)> =
            regex.capture_names().enumerate().filter_map(|(i, n)| n.map(|n| (i, n))).collect();
        if names.is_empty() {
            return Err(CustomParserError::NoCaptures { name });
        }
        let known = names.iter().map(|(_, n)| *n).collect::<Vec<_>>().join(", ");
        for capture in config.fields.keys() {
            if !names.iter().any(|(_, n)| n == capture) {
                return Err(CustomParserError::UnknownCapture {
                    name,
                    capture: capture.clone(),
                    known,
                });
            }
        }
        let timestamp_capture = config.timestamp.as_ref().map(|t| t.capture.as_str());
        let mut captures = Vec::new();
        for (index, capture) in &names {
            if Some(*capture) == timestamp_capture {
                continue;
            }
            let field = match config.fields.get(*capture) {
                Some(field) => field.clone(),
                None => capture.replace("__", "."),
            };
            check_field_name(&name, &field)?;
            captures.push((*index, field));
        }
        for field in config.static_fields.keys() {
            check_field_name(&name, field)?;
        }
        let timestamp = match &config.timestamp {
            None => None,
            Some(t) => {
                if t.format.is_empty() {
                    return Err(CustomParserError::EmptyTimestampFormat { name });
                }
                let index =
                    names.iter().find(|(_, n)| *n == t.capture).map(|(i, _)| *i).ok_or_else(
                        || CustomParserError::UnknownTimestampCapture {
                            name: name.clone(),
                            capture: t.capture.clone(),
                        },
                    )?;
                Some((index, t.format.clone()))
            }
        };
        Ok(CustomParser {
            name,
            regex,
            captures,
            timestamp,
            static_fields: config
                .static_fields
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            zone,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Matches one line; captures that did not take part are left out of the event.
    pub fn parse(&self, line: &str, now: Timestamp) -> Result<Event, ParseError> {
        let caps =
            self.regex.captures(line).ok_or(ParseError::NotThisFormat { format: "custom" })?;
        let timestamp = match &self.timestamp {
            None => now,
            Some((index, format)) => {
                let text = caps.get(*index).ok_or(ParseError::BadTimestamp)?.as_str();
                self.read_time(format, text).ok_or(ParseError::BadTimestamp)?
            }
        };
        let mut fields: Vec<(&str, Value)> =
            Vec::with_capacity(self.captures.len() + self.static_fields.len() + 2);
        for (field, value) in &self.static_fields {
            fields.push((field, value.clone()));
        }
        fields.push(("event.module", Value::from(self.name.as_str())));
        for (index, field) in &self.captures {
            if let Some(m) = caps.get(*index) {
                fields.push((field, typed_value(field, m.as_str())));
            }
        }
        fields.push(("message", Value::from(line)));
        Ok(Event::from_pairs(timestamp, fields))
    }

    fn read_time(&self, format: &str, text: &str) -> Option<Timestamp> {
        let broken = jiff::fmt::strtime::BrokenDownTime::parse(format, text).ok()?;
        if let Ok(ts) = broken.to_timestamp() {
            return Some(ts);
        }
        let dt = broken.to_datetime().ok()?;
        self.zone.to_ambiguous_timestamp(dt).compatible().ok()
    }
}

fn check_field_name(name: &str, field: &str) -> Result<(), CustomParserError> {
    let ok = !field.is_empty()
        && field != "@timestamp"
        && field.split('.').all(|part| {
            !part.is_empty()
                && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'@')
        });
    if ok {
        Ok(())
    } else {
        Err(CustomParserError::BadFieldName { name: name.to_owned(), field: field.to_owned() })
    }
}

/// Numbers for the ECS fields that are numbers; a canonical address for `source.ip`.
fn typed_value(field: &str, text: &str) -> Value {
    match field {
        "source.port"
        | "destination.port"
        | "http.response.status_code"
        | "http.response.body.bytes"
        | "process.pid"
        | "event.count" => match text.parse::<u64>() {
            Ok(number) => Value::from(number),
            Err(_) => Value::from(text),
        },
        "source.ip" | "destination.ip" | "client.ip" => match parse_ip(text) {
            Some(ip) => Value::from(ip.to_string()),
            None => Value::from(text),
        },
        _ => Value::from(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::check::now;

    fn config(toml_like: &str) -> CustomConfig {
        serde_json::from_str(toml_like).unwrap()
    }

    #[test]
    fn maps_named_captures_to_ecs_fields() {
        let parser = CustomParser::new(
            &config(
                r#"{"name":"app","pattern":"^(?P<ts>\\S+) login failed user=(?P<user>\\S+) ip=(?P<source__ip>\\S+) port=(?P<source__port>\\d+)$",
                   "fields":{"user":"user.name"},
                   "timestamp":{"capture":"ts","format":"%Y-%m-%dT%H:%M:%S%:z"},
                   "static_fields":{"event.category":"authentication","event.outcome":"failure"}}"#,
            ),
            TimeZone::UTC,
        )
        .unwrap();
        let event = parser
            .parse(
                "2026-01-02T03:04:05+01:00 login failed user=ana ip=::ffff:192.0.2.104 port=4444",
                now(),
            )
            .unwrap();
        assert_eq!(event.timestamp.to_string(), "2026-01-02T02:04:05Z");
        assert_eq!(event.user_name(), Some("ana"));
        assert_eq!(event.get_str("source.ip"), Some("192.0.2.104"));
        assert_eq!(event.get("source.port"), Some(&Value::from(4444)));
        assert_eq!(event.outcome(), Some("failure"));
        assert!(matches!(parser.parse("nope", now()), Err(ParseError::NotThisFormat { .. })));
        assert!(matches!(
            parser.parse("yesterday login failed user=a ip=198.51.100.9 port=1", now()),
            Err(ParseError::BadTimestamp)
        ));
    }

    #[test]
    fn bad_configuration_gets_a_precise_error() {
        let unknown_key =
            serde_json::from_str::<CustomConfig>(r#"{"name":"a","pattern":"x","feilds":{}}"#);
        assert!(unknown_key.unwrap_err().to_string().contains("unknown field `feilds`"));
        let err = |json: &str| CustomParser::new(&config(json), TimeZone::UTC).unwrap_err();
        assert!(matches!(
            err(r#"{"name":"a","pattern":"(?P<x>"}"#),
            CustomParserError::BadPattern { .. }
        ));
        assert_eq!(
            err(r#"{"name":"a","pattern":"x+"}"#),
            CustomParserError::NoCaptures { name: "a".into() }
        );
        assert_eq!(
            err(r#"{"name":"a","pattern":"(?P<x>.)","fields":{"y":"user.name"}}"#).to_string(),
            "parser `a`: `fields` maps `y`, but the pattern has no capture of that name (it has: x)"
        );
        assert!(matches!(
            err(r#"{"name":"a","pattern":"(?P<x>.)","fields":{"x":"user..name"}}"#),
            CustomParserError::BadFieldName { .. }
        ));
        assert!(matches!(
            err(r#"{"name":"a","pattern":"(?P<x>.)","timestamp":{"capture":"t","format":"%s"}}"#),
            CustomParserError::UnknownTimestampCapture { .. }
        ));
    }
}
