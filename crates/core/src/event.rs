//! `Event`: one normalised security-relevant record, with Elastic Common Schema (ECS) field names.
//!
//! The common fields have typed accessors; everything else stays as JSON. An event may carry ECS
//! fields nested (`{"source": {"ip": …}}`) or dotted (`{"source.ip": …}`); accessors read both.

use std::net::IpAddr;

use jiff::Timestamp;
use serde_json::{Map, Value};

mod quick;

/// The fields that may carry the event time, in order of preference: ECS, Vector's default log
/// schema, Fluent Bit's `json_date_key`.
const TIME_FIELDS: [&str; 3] = ["@timestamp", "timestamp", "date"];

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

    /// Checks that `text` would be accepted by `from_json`, without building the event: first
    /// one hand-written pass over the bytes (see `quick`), and only when that is unsure, one
    /// pass for nesting and serde_json's shallow parse of the time fields, which also words the
    /// error. Ingest uses it on the hot path and stores the bytes as they came.
    pub fn validate_json(text: &[u8]) -> Result<(), EventError> {
        #[derive(serde::Deserialize)]
        struct Probe<'a> {
            #[serde(rename = "@timestamp", borrow, default)]
            at: Option<&'a serde_json::value::RawValue>,
            #[serde(borrow, default)]
            timestamp: Option<&'a serde_json::value::RawValue>,
            #[serde(borrow, default)]
            date: Option<&'a serde_json::value::RawValue>,
        }
        if let quick::Quick::Valid(time) = quick::check_object(text, MAX_DEPTH) {
            if let Some((field, raw)) = time
                && !quick::plain_utc_time(raw)
            {
                parse_raw_time(raw).map_err(|reason| EventError::Timestamp { field, reason })?;
            }
            return Ok(());
        }
        if nesting_exceeds(text, MAX_DEPTH) {
            return Err(EventError::TooDeep);
        }
        let first = text.iter().find(|b| !b.is_ascii_whitespace()).copied();
        if first.is_some() && first != Some(b'{') {
            // Serde would read a struct from an array; only an object is an event.
            return Err(match serde_json::from_slice::<Value>(text) {
                Ok(other) => EventError::NotAnObject(json_kind(&other)),
                Err(error) => EventError::Json(error.to_string()),
            });
        }
        let probe: Probe<'_> = match serde_json::from_slice(text) {
            Ok(probe) => probe,
            // Failures are rare: let the full parse give the same verdict and reason (it also
            // accepts repeated keys, which a struct refuses).
            Err(_) => return Event::from_json(text, Timestamp::UNIX_EPOCH).map(|_| ()),
        };
        let fields =
            [("@timestamp", probe.at), ("timestamp", probe.timestamp), ("date", probe.date)];
        if let Some((field, Some(raw))) = fields.into_iter().find(|(_, raw)| raw.is_some()) {
            parse_raw_time(raw.get()).map_err(|reason| EventError::Timestamp { field, reason })?;
        }
        Ok(())
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
        for field in TIME_FIELDS {
            // A null time is no time: the next field, or the time of receipt, stands in.
            if let Some(value) = fields.get(field).filter(|value| !value.is_null()) {
                timestamp = Some(
                    parse_time(value).map_err(|reason| EventError::Timestamp { field, reason })?,
                );
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

/// Whether JSON text nests arrays and objects deeper than `limit`, counting outside strings.
fn nesting_exceeds(text: &[u8], limit: usize) -> bool {
    // Most events open far fewer brackets than the limit in all: then none can be too deep.
    // Counting is one branch-free pass; the exact walk runs only when the count is high.
    let opened = text.iter().filter(|&&b| b == b'{' || b == b'[').count();
    if opened <= limit {
        return false;
    }
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &byte in text {
        if in_string {
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                in_string = false;
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > limit {
                    return true;
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// A member that may be present with any value, `null` included (unlike `Option`, which reads
/// `null` as absent): a dotted ECS name present as `null` still hides the nested one.
#[derive(Debug, Default, Clone, Copy)]
struct Raw<'a>(Option<&'a serde_json::value::RawValue>);

impl<'de: 'a, 'a> serde::Deserialize<'de> for Raw<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Raw<'a>, D::Error> {
        <&'a serde_json::value::RawValue>::deserialize(deserializer).map(|raw| Raw(Some(raw)))
    }
}

/// The fields firebreak indexes, read from an event's JSON without building the event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Columns {
    pub timestamp: Timestamp,
    pub category: Option<String>,
    pub action: Option<String>,
    pub outcome: Option<String>,
    pub source_ip: Option<String>,
    pub user_name: Option<String>,
    pub host_name: Option<String>,
}

impl Columns {
    /// What `Event::from_json` and its accessors would give, in one shallow pass. The store's
    /// drain uses it to index events kept as the bytes that came.
    pub fn read(text: &[u8], received_at: Timestamp) -> Result<Columns, EventError> {
        use serde_json::value::RawValue;
        #[derive(serde::Deserialize)]
        struct Probe<'a> {
            #[serde(rename = "@timestamp", borrow, default)]
            at: Option<&'a RawValue>,
            #[serde(borrow, default)]
            timestamp: Option<&'a RawValue>,
            #[serde(borrow, default)]
            date: Option<&'a RawValue>,
            #[serde(borrow, default)]
            event: Option<&'a RawValue>,
            #[serde(borrow, default)]
            source: Option<&'a RawValue>,
            #[serde(borrow, default)]
            user: Option<&'a RawValue>,
            #[serde(borrow, default)]
            host: Option<&'a RawValue>,
            #[serde(rename = "event.category", borrow, default)]
            event_category: Raw<'a>,
            #[serde(rename = "event.action", borrow, default)]
            event_action: Raw<'a>,
            #[serde(rename = "event.outcome", borrow, default)]
            event_outcome: Raw<'a>,
            #[serde(rename = "source.ip", borrow, default)]
            source_ip: Raw<'a>,
            #[serde(rename = "user.name", borrow, default)]
            user_name: Raw<'a>,
            #[serde(rename = "host.name", borrow, default)]
            host_name: Raw<'a>,
        }
        let probe: Probe<'_> = match serde_json::from_slice(text) {
            Ok(probe) if text.trim_ascii_start().first() == Some(&b'{') => probe,
            // Anything unusual (repeated keys, not an object): the full parse decides.
            _ => {
                let event = Event::from_json(text, received_at)?;
                return Ok(Columns::of(&event));
            }
        };
        // The probe has checked the syntax; what `validate_json` adds is the nesting limit.
        if nesting_exceeds(text, MAX_DEPTH) {
            return Err(EventError::TooDeep);
        }
        // The ECS objects that hold indexed fields, read shallowly; a member of the wrong type
        // (a `source` that is a string, say) simply yields nothing, as the accessors do.
        #[derive(serde::Deserialize, Default)]
        struct Nested<'a> {
            #[serde(borrow, default)]
            category: Option<&'a RawValue>,
            #[serde(borrow, default)]
            action: Option<&'a RawValue>,
            #[serde(borrow, default)]
            outcome: Option<&'a RawValue>,
            #[serde(borrow, default)]
            ip: Option<&'a RawValue>,
            #[serde(borrow, default)]
            name: Option<&'a RawValue>,
        }
        fn nested(raw: Option<&RawValue>) -> Nested<'_> {
            raw.filter(|raw| raw.get().starts_with('{'))
                .and_then(|raw| serde_json::from_str(raw.get()).ok())
                .unwrap_or_default()
        }
        let text_of = |raw: Option<&RawValue>| -> Option<String> {
            raw.filter(|raw| raw.get().starts_with('"'))
                .and_then(|raw| serde_json::from_str(raw.get()).ok())
        };
        let event = nested(probe.event);
        let source = nested(probe.source);
        let user = nested(probe.user);
        let host = nested(probe.host);
        // A null deserialises as `None` here, so the first present field is the first non-null.
        let mut timestamp = received_at;
        if let Some(raw) = [probe.at, probe.timestamp, probe.date].into_iter().flatten().next() {
            timestamp = parse_raw_time(raw.get())
                .map_err(|reason| EventError::Timestamp { field: "@timestamp", reason })?;
        }
        // Dotted names win over nested ones, as in `Event::get`.
        let category_raw = probe.event_category.0.or(event.category);
        let category = match category_raw.map(|raw| raw.get().as_bytes().first()) {
            Some(Some(b'[')) => category_raw
                .and_then(|raw| serde_json::from_str::<Vec<&RawValue>>(raw.get()).ok())
                .and_then(|items| text_of(items.first().copied())),
            _ => text_of(category_raw),
        };
        Ok(Columns {
            timestamp,
            category,
            action: text_of(probe.event_action.0.or(event.action)),
            outcome: text_of(probe.event_outcome.0.or(event.outcome)),
            source_ip: text_of(probe.source_ip.0.or(source.ip))
                .and_then(|text| text.parse::<IpAddr>().ok())
                .map(|ip| ip.to_string()),
            user_name: text_of(probe.user_name.0.or(user.name)),
            host_name: text_of(probe.host_name.0.or(host.name)),
        })
    }

    pub fn of(event: &Event) -> Columns {
        Columns {
            timestamp: event.timestamp,
            category: event.category().map(str::to_owned),
            action: event.action().map(str::to_owned),
            outcome: event.outcome().map(str::to_owned),
            source_ip: event.source_ip().map(|ip| ip.to_string()),
            user_name: event.user_name().map(str::to_owned),
            host_name: event.host_name().map(str::to_owned),
        }
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

/// `parse_time` on JSON text, without building a `Value` for the common plain string.
fn parse_raw_time(raw: &str) -> Result<Timestamp, String> {
    if let Some(inner) = raw.strip_prefix('"').and_then(|rest| rest.strip_suffix('"'))
        && !inner.contains('\\')
    {
        return inner.parse::<Timestamp>().map_err(|error| error.to_string());
    }
    let value: Value = serde_json::from_str(raw).map_err(|error| error.to_string())?;
    parse_time(&value)
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

    /// `validate_json` is the ingest fast path: it must accept exactly what `from_json` accepts,
    /// or an acknowledged event could fail later.
    #[test]
    fn validation_agrees_with_parsing() {
        let mut cases: Vec<Vec<u8>> = vec![
            br#"{"@timestamp":null,"timestamp":"2026-01-01T00:00:00Z"}"#.to_vec(),
            br#"{"@timestamp":null,"timestamp":"bad"}"#.to_vec(),
            br#"{"date":"2026-01-01T00:00:00+02:00"}"#.to_vec(),
            br#"{"date":true}"#.to_vec(),
            br#"{"a":"\"{{{{"}"#.to_vec(),
            b"[]".to_vec(),
            b"\"text\"".to_vec(),
            b"{} {}".to_vec(),
            b"".to_vec(),
        ];
        for depth in 28..38 {
            cases.push(
                format!("{{\"x\":{}1{}}}", "[".repeat(depth), "]".repeat(depth)).into_bytes(),
            );
            cases.push(
                format!("{}{{}}{}", r#"{"a":"#.repeat(depth), "}".repeat(depth)).into_bytes(),
            );
        }
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let alphabet = br#"{}[]":,0.e-1t"@timestampdate\ "#;
        for _ in 0..20_000 {
            let mut bytes = vec![b'{'];
            for _ in 0..(seed % 40) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                bytes.push(alphabet[(seed % alphabet.len() as u64) as usize]);
            }
            cases.push(bytes);
        }
        for case in cases {
            let validated = Event::validate_json(&case);
            let parsed = Event::from_json(&case, received());
            assert_eq!(
                validated.is_ok(),
                parsed.is_ok(),
                "{}: {validated:?} vs {parsed:?}",
                String::from_utf8_lossy(&case)
            );
        }
    }

    #[test]
    fn columns_read_shallowly_agree_with_the_event() {
        let cases: [&[u8]; 9] = [
            br#"{"@timestamp":"2026-03-01T10:00:00Z","source":{"ip":"::ffff:203.0.113.5"},"user.name":"ana","user":{"name":"bo"},"event":{"category":["authentication","web"],"outcome":"failure","action":"login"},"host":{"name":"h"}}"#,
            br#"{"timestamp":"2026-03-01T10:00:00Z","source":"not an object","event":{"category":7}}"#,
            br#"{"date":1772359200.25,"source.ip":"2001:db8::1","event.outcome":"success"}"#,
            br#"{"@timestamp":null,"date":5,"user":{"name":"\u00e9ve"}}"#,
            br#"{"source":{"ip":"999.1.1.1"},"host.name":null}"#,
            br#"{"a":1,"a":2,"user.name":"dup"}"#,
            br#"{"event":{"category":"iam"},"event.category":"file"}"#,
            br#"{"user":{"name":{"first":"x"}}}"#,
            br#"{"user.name":null,"user":{"name":"bo"},"source":{"ip":null}}"#,
        ];
        for case in cases {
            let event = Event::from_json(case, received()).unwrap();
            assert_eq!(
                Columns::read(case, received()).unwrap(),
                Columns::of(&event),
                "{}",
                String::from_utf8_lossy(case)
            );
        }
        assert!(Columns::read(b"[1]", received()).is_err());
        assert!(Columns::read(br#"{"date":"x"}"#, received()).is_err());
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
