//! JSON and ECS events passed through: an app that already writes ECS JSON needs no parser.
//! The time comes from `@timestamp` (or `timestamp`, `date`), else it is `now`; see
//! [`Event::from_json`].

use firebreak_core::event::Event;
use jiff::Timestamp;

use super::ParseError;

/// Reads one JSON object as an event.
pub fn parse(line: &[u8], now: Timestamp) -> Result<Event, ParseError> {
    Event::from_json(line, now).map_err(|error| ParseError::Json(error.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::Format;
    use crate::parse::check::{check_fields, now};

    #[test]
    fn passes_ecs_through() {
        check_fields(
            Format::Json,
            r#"{"@timestamp":"2026-03-01T10:00:00Z","event":{"category":"authentication","outcome":"failure"},"source.ip":"203.0.113.5","user":{"name":"ana"}}"#,
            &[
                ("source.ip", "203.0.113.5"),
                ("user.name", "ana"),
                ("event.outcome", "failure"),
                ("@timestamp", "2026-03-01T10:00:00Z"),
            ],
        );
    }

    #[test]
    fn rejects_what_is_not_an_object() {
        assert!(matches!(parse(b"[1,2]", now()), Err(ParseError::Json(_))));
        assert!(matches!(parse(b"{\"a\":", now()), Err(ParseError::Json(_))));
    }
}
