//! `Event`: one normalised security-relevant record, with Elastic Common Schema (ECS) field names.
//!
//! The common fields have typed accessors; everything else stays as JSON. An event may carry ECS
//! fields nested (`{"source": {"ip": …}}`) or dotted (`{"source.ip": …}`); accessors read both.

use std::net::IpAddr;

use jiff::Timestamp;
use serde_json::{Map, Value};

/// The largest JSON nesting accepted in an event, so that hostile input cannot exhaust the stack.
pub const MAX_DEPTH: usize = 32;

/// Why a JSON value is not an acceptable event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("invalid JSON: {0}")]
    Json(String),
    #[error("an event must be a JSON object, found {0}")]
    NotAnObject(&'static str),
    #[error("field `{field}` is not a valid timestamp: {reason}")]
    Timestamp { field: &'static str, reason: String },
    #[error("JSON nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
}

/// One normalised event. `@timestamp` is always present once an event is accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub timestamp: Timestamp,
    /// All fields, `@timestamp` included, as received (after timestamp normalisation).
    pub fields: Map<String, Value>,
}

impl Event {
    /// Reads one event from JSON text.
    ///
    /// The event time is taken from `@timestamp` (ECS), else `timestamp` (Vector's default log
    /// schema), else `date` (Fluent Bit's `json_date_key`), each as RFC 3339 text or as seconds
    /// since the epoch; failing all three it is `received_at`. The chosen time is written back
    /// as `@timestamp` in RFC 3339.
    pub fn from_json(text: &[u8], received_at: Timestamp) -> Result<Event, EventError> {
        let value: Value =
            serde_json::from_slice(text).map_err(|error| EventError::Json(error.to_string()))?;
        Event::from_value(value, received_at)
    }

    pub fn from_value(value: Value, received_at: Timestamp) -> Result<Event, EventError> {
        let mut fields = match value {
            Value::Object(map) => map,
            other => return Err(EventError::NotAnObject(json_kind(&other))),
        };
        if depth_exceeds(&fields, MAX_DEPTH) {
            return Err(EventError::TooDeep);
        }
        let mut timestamp = None;
        for field in ["@timestamp", "timestamp", "date"] {
            if let Some(value) = fields.get(field) {
                timestamp = Some(parse_time(value).map_err(|reason| EventError::Timestamp {
                    field: match field {
                        "@timestamp" => "@timestamp",
                        "timestamp" => "timestamp",
                        _ => "date",
                    },
                    reason,
                })?);
                break;
            }
        }
        let timestamp = timestamp.unwrap_or(received_at);
        fields.insert("@timestamp".to_owned(), Value::String(timestamp.to_string()));
        Ok(Event { timestamp, fields })
    }

    /// Builds an event from fields given as dotted ECS names. For parsers and tests.
    pub fn from_pairs<'a>(
        timestamp: Timestamp,
        pairs: impl IntoIterator<Item = (&'a str, Value)>,
    ) -> Event {
        let mut fields = Map::new();
        fields.insert("@timestamp".to_owned(), Value::String(timestamp.to_string()));
        for (name, value) in pairs {
            fields.insert(name.to_owned(), value);
        }
        Event { timestamp, fields }
    }

    /// The field with the given dotted ECS name, whether stored dotted or nested.
    pub fn get(&self, name: &str) -> Option<&Value> {
        if let Some(value) = self.fields.get(name) {
            return Some(value);
        }
        lookup_nested(&self.fields, name)
    }

    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(Value::as_str)
    }

    pub fn category(&self) -> Option<&str> {
        // ECS allows `event.category` to be an array; the first entry is the primary one.
        match self.get("event.category")? {
            Value::String(text) => Some(text),
            Value::Array(items) => items.first().and_then(Value::as_str),
            _ => None,
        }
    }

    pub fn action(&self) -> Option<&str> {
        self.get_str("event.action")
    }

    pub fn outcome(&self) -> Option<&str> {
        self.get_str("event.outcome")
    }

    pub fn source_ip(&self) -> Option<IpAddr> {
        self.get_str("source.ip")?.parse().ok()
    }

    pub fn user_name(&self) -> Option<&str> {
        self.get_str("user.name")
    }

    pub fn host_name(&self) -> Option<&str> {
        self.get_str("host.name")
    }

    pub fn url_path(&self) -> Option<&str> {
        self.get_str("url.path")
    }

    pub fn message(&self) -> Option<&str> {
        self.get_str("message").or_else(|| self.get_str("log"))
    }

    pub fn status_code(&self) -> Option<u16> {
        match self.get("http.response.status_code")? {
            Value::Number(number) => number.as_u64().and_then(|code| u16::try_from(code).ok()),
            Value::String(text) => text.parse().ok(),
            _ => None,
        }
    }

    /// The event as one line of compact JSON.
    pub fn to_json(&self) -> String {
        // Serialising a map of JSON values cannot fail.
        serde_json::to_string(&self.fields).unwrap_or_default()
    }
}

fn lookup_nested<'a>(fields: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    let (head, rest) = name.split_once('.')?;
    match fields.get(head)? {
        Value::Object(inner) => inner.get(rest).or_else(|| lookup_nested(inner, rest)),
        _ => None,
    }
}

fn depth_exceeds(map: &Map<String, Value>, limit: usize) -> bool {
    fn value_depth_exceeds(value: &Value, limit: usize) -> bool {
        match value {
            Value::Object(map) => depth_exceeds(map, limit),
            Value::Array(items) => {
                limit == 0 || items.iter().any(|item| value_depth_exceeds(item, limit - 1))
            }
            _ => false,
        }
    }
    limit == 0 || map.values().any(|value| value_depth_exceeds(value, limit - 1))
}

fn parse_time(value: &Value) -> Result<Timestamp, String> {
    match value {
        Value::String(text) => text.parse::<Timestamp>().map_err(|error| error.to_string()),
        Value::Number(number) => {
            // Read the decimal text, not the f64: 1772359200.25 must stay exactly .25 seconds.
            let text = number.to_string();
            let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
            let seconds: i64 = whole
                .parse()
                .map_err(|_| format!("{text} is not a number of seconds since the epoch"))?;
            if fraction.len() > 9 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!("{text} is not a number of seconds with at most 9 decimals"));
            }
            let nanos = if fraction.is_empty() {
                0
            } else {
                let padded = format!("{fraction:0<9}");
                padded.parse::<i32>().map_err(|error| error.to_string())?
            };
            let nanos = if seconds < 0 { -nanos } else { nanos };
            Timestamp::new(seconds, nanos).map_err(|error| error.to_string())
        }
        other => Err(format!("expected text or a number, found {}", json_kind(other))),
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn received() -> Timestamp {
        "2026-01-02T03:04:05Z".parse().unwrap()
    }

    #[test]
    fn reads_nested_and_dotted_fields() {
        let event = Event::from_json(
            br#"{"@timestamp":"2026-03-01T10:00:00Z","source":{"ip":"203.0.113.5"},"user.name":"ana","event":{"category":["authentication"],"outcome":"failure"},"http":{"response":{"status_code":401}}}"#,
            received(),
        )
        .unwrap();
        assert_eq!(event.timestamp.to_string(), "2026-03-01T10:00:00Z");
        assert_eq!(event.source_ip(), Some("203.0.113.5".parse().unwrap()));
        assert_eq!(event.user_name(), Some("ana"));
        assert_eq!(event.category(), Some("authentication"));
        assert_eq!(event.outcome(), Some("failure"));
        assert_eq!(event.status_code(), Some(401));
    }

    #[test]
    fn takes_the_time_from_vector_and_fluent_bit_fields() {
        let vector = Event::from_json(
            br#"{"timestamp":"2026-03-01T10:00:00.5Z","message":"x"}"#,
            received(),
        )
        .unwrap();
        assert_eq!(vector.timestamp.to_string(), "2026-03-01T10:00:00.5Z");
        let fluent = Event::from_json(br#"{"date":1772359200.25,"log":"x"}"#, received()).unwrap();
        assert_eq!(fluent.timestamp.to_string(), "2026-03-01T10:00:00.25Z");
        assert_eq!(fluent.message(), Some("x"));
        let none = Event::from_json(br#"{"message":"x"}"#, received()).unwrap();
        assert_eq!(none.timestamp, received());
        assert_eq!(none.get_str("@timestamp"), Some("2026-01-02T03:04:05Z"));
    }

    #[test]
    fn rejects_what_is_not_an_event() {
        assert!(matches!(Event::from_json(b"[1]", received()), Err(EventError::NotAnObject(_))));
        assert!(matches!(Event::from_json(b"{", received()), Err(EventError::Json(_))));
        assert!(matches!(
            Event::from_json(br#"{"@timestamp":"yesterday"}"#, received()),
            Err(EventError::Timestamp { field: "@timestamp", .. })
        ));
        assert!(matches!(
            Event::from_json(br#"{"date":1e300}"#, received()),
            Err(EventError::Timestamp { field: "date", .. })
        ));
        let deep = format!("{}1{}", r#"{"a":"#.repeat(40), "}".repeat(40));
        assert_eq!(Event::from_json(deep.as_bytes(), received()), Err(EventError::TooDeep));
    }
}
