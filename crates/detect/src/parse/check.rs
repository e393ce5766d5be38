//! The data-driven test helper: one real log line and the expected reading, one line per case.
//!
//! `expect("ssh_login failure 192.0.2.1:22 user=root")` names the action, the outcome, the
//! client address (`-` for none) with its port, and the user; `check_fields` compares any ECS
//! fields for the formats whose events are wider (web access logs).

use firebreak_core::event::Event;
use jiff::Timestamp;
use serde_json::Value;

use super::time::cet;
use super::{Format, LineParser, ParseConfig, ParseError};

/// fail2ban's "now" for its test logs: 2005-08-14 10:00:00 UTC.
pub fn now() -> Timestamp {
    Timestamp::from_second(1_124_013_600).unwrap()
}

pub fn config() -> ParseConfig {
    ParseConfig { time_zone: cet(), ..ParseConfig::default() }
}

pub fn expect(summary: &str) -> String {
    summary.to_owned()
}

pub fn sshd_event(line: &str) -> Result<Event, ParseError> {
    LineParser::new(Format::Syslog, config()).parse(line.as_bytes(), now())
}

/// `action outcome address[:port][ user=U]` of an event.
pub fn summary(event: &Event) -> String {
    let mut text = format!(
        "{} {} {}",
        event.action().unwrap_or("-"),
        event.outcome().unwrap_or("-"),
        event.get_str("source.address").unwrap_or("-")
    );
    if let Some(port) = event.get("source.port") {
        text.push_str(&format!(":{port}"));
    }
    if let Some(user) = event.user_name() {
        text.push_str(&format!(" user={user}"));
    }
    text
}

/// The contract every built-in parser's events meet (checked on every fixture): a time, a
/// category, an action and an outcome from ECS's allowed values, and addresses that are what
/// their names say.
#[track_caller]
pub fn assert_event_contract(event: &Event, line: &str) {
    assert!(event.get_str("@timestamp").is_some(), "no @timestamp: {line}");
    assert!(event.category().is_some(), "no event.category: {line}");
    assert!(event.action().is_some(), "no event.action: {line}");
    assert!(
        matches!(event.outcome(), Some("success" | "failure" | "unknown")),
        "event.outcome {:?}: {line}",
        event.outcome()
    );
    if let Some(ip) = event.get_str("source.ip") {
        let parsed: std::net::IpAddr =
            ip.parse().unwrap_or_else(|_| panic!("source.ip {ip}: {line}"));
        assert_eq!(parsed.to_string(), ip, "source.ip not canonical: {line}");
        assert!(parsed.to_canonical() == parsed, "source.ip is IPv4-mapped: {line}");
    }
    if let Some(port) = event.get("source.port") {
        assert!(port.as_u64().is_some_and(|p| p <= 65_535), "source.port {port}: {line}");
    }
}

#[track_caller]
pub fn check_sshd(line: &str, expected: String) {
    let event = sshd_event(line).unwrap_or_else(|error| panic!("{line}\n→ {error}"));
    assert_eq!(summary(&event), expected, "{line}");
    assert_eq!(event.category(), Some("authentication"));
    assert_event_contract(&event, line);
}

/// Parses `line` in `format` and compares the named fields (as text; `null` = absent).
#[track_caller]
pub fn check_fields(format: Format, line: &str, expected: &[(&str, &str)]) {
    let event = LineParser::new(format, config())
        .parse(line.as_bytes(), now())
        .unwrap_or_else(|error| panic!("{line}\n→ {error}"));
    if format != Format::Json {
        assert_event_contract(&event, line);
    }
    for (field, want) in expected {
        let got = match event.get(field) {
            None => "null".to_owned(),
            Some(Value::String(text)) => text.clone(),
            Some(other) => other.to_string(),
        };
        assert_eq!(&got, want, "field {field} of {line}");
    }
}
