//! The built-in pack against its fixtures: for each alerting rule, the `fires` lines make it
//! fire and the `quiet` lines do not. Fixture files live in `crates/detect/rules/fixtures/`.

use std::collections::HashMap;
use std::sync::Arc;

use jiff::Timestamp;

use crate::engine::{ScanConfig, Scanner};
use crate::geo::GeoDb;
use crate::pack;
use crate::parse::Format;
use crate::rules::RuleKind;
use crate::{LineParser, ParseConfig};

const FIXTURES: &[(&str, &str)] = &[
    ("api_call_spike", include_str!("../rules/fixtures/api_call_spike.txt")),
    ("api_token_spike", include_str!("../rules/fixtures/api_token_spike.txt")),
    ("app_admin_grant", include_str!("../rules/fixtures/app_admin_grant.txt")),
    ("app_brute_force", include_str!("../rules/fixtures/app_brute_force.txt")),
    ("app_role_self_grant", include_str!("../rules/fixtures/app_role_self_grant.txt")),
    ("bulk_data_export", include_str!("../rules/fixtures/bulk_data_export.txt")),
    ("credential_stuffing", include_str!("../rules/fixtures/credential_stuffing.txt")),
    ("file_integrity_change", include_str!("../rules/fixtures/file_integrity_change.txt")),
    ("impossible_travel", include_str!("../rules/fixtures/impossible_travel.txt")),
    ("login_new_country", include_str!("../rules/fixtures/login_new_country.txt")),
    ("http_brute_force", include_str!("../rules/fixtures/http_brute_force.txt")),
    ("mass_deletion", include_str!("../rules/fixtures/mass_deletion.txt")),
    ("password_spraying", include_str!("../rules/fixtures/password_spraying.txt")),
    ("ssh_brute_force", include_str!("../rules/fixtures/ssh_brute_force.txt")),
    ("ssh_failures_per_user", include_str!("../rules/fixtures/ssh_failures_per_user.txt")),
    (
        "ssh_success_after_failures_address",
        include_str!("../rules/fixtures/ssh_success_after_failures_address.txt"),
    ),
    (
        "ssh_success_after_failures_user",
        include_str!("../rules/fixtures/ssh_success_after_failures_user.txt"),
    ),
    ("sudo_failures", include_str!("../rules/fixtures/sudo_failures.txt")),
    ("threat_intel_source", include_str!("../rules/fixtures/threat_intel_source.txt")),
    ("web_5xx_burst", include_str!("../rules/fixtures/web_5xx_burst.txt")),
    ("web_command_injection", include_str!("../rules/fixtures/web_command_injection.txt")),
    ("web_denied_burst", include_str!("../rules/fixtures/web_denied_burst.txt")),
    ("web_path_traversal", include_str!("../rules/fixtures/web_path_traversal.txt")),
    ("web_scanner_user_agent", include_str!("../rules/fixtures/web_scanner_user_agent.txt")),
    ("web_sensitive_file_probe", include_str!("../rules/fixtures/web_sensitive_file_probe.txt")),
    ("web_sql_injection", include_str!("../rules/fixtures/web_sql_injection.txt")),
    ("web_xss", include_str!("../rules/fixtures/web_xss.txt")),
];

fn now() -> Timestamp {
    "2026-12-04T12:00:00Z".parse().unwrap()
}

struct Fixture<'a> {
    format: Format,
    lists: HashMap<String, Vec<String>>,
    geo: Vec<(ipnet::Ipv4Net, String, f64, f64)>,
    fires: Vec<&'a str>,
    quiet: Vec<&'a str>,
}

fn read(text: &str) -> Fixture<'_> {
    let mut fixture = Fixture {
        format: Format::Syslog,
        lists: HashMap::new(),
        geo: vec![],
        fires: vec![],
        quiet: vec![],
    };
    let mut section = 0;
    for line in text.lines() {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        if let Some(format) = line.strip_prefix("format: ") {
            fixture.format = match format {
                "syslog" => Format::Syslog,
                "access" => Format::Access,
                "json" => Format::Json,
                other => panic!("unknown fixture format {other}"),
            };
        } else if let Some(list) = line.strip_prefix("list ") {
            let (name, entries) = list.split_once(": ").unwrap();
            fixture.lists.insert(name.to_owned(), entries.split(' ').map(str::to_owned).collect());
        } else if let Some(entry) = line.strip_prefix("geo ") {
            let parts: Vec<&str> = entry.split(' ').collect();
            fixture.geo.push((
                parts[0].parse().unwrap(),
                parts[1].to_owned(),
                parts[2].parse().unwrap(),
                parts[3].parse().unwrap(),
            ));
        } else if line == "fires:" {
            section = 1;
        } else if line == "quiet:" {
            section = 2;
        } else if section == 1 {
            fixture.fires.push(line);
        } else if section == 2 {
            fixture.quiet.push(line);
        }
    }
    fixture
}

/// The ids of the rules that fired on these lines.
fn fired(fixture: &Fixture<'_>, lines: &[&str]) -> Vec<String> {
    let rules = Arc::new(pack::builtin(&fixture.lists).unwrap());
    let mut config = ScanConfig::default();
    if !fixture.geo.is_empty() {
        let networks: Vec<_> =
            fixture.geo.iter().map(|(net, cc, lat, lon)| (*net, cc.as_str(), *lat, *lon)).collect();
        let db = GeoDb::from_bytes(crate::geo::write::database(&networks)).unwrap();
        config.geo = Some(Arc::new(db));
    }
    let mut scanner = Scanner::new(Arc::clone(&rules), config.clone());
    for line in lines {
        scanner.feed(fixture.format, line.as_bytes(), now());
    }
    let stats = scanner.stats();
    assert_eq!(stats.malformed, 0, "a fixture line is malformed: {stats:?}");
    let found: Vec<String> = scanner.findings().iter().map(|f| f.rule_id.to_string()).collect();
    // `serve` reads the same lines into events (files, syslog) and feeds those: the same rules
    // must fire, with the same groups and counts, as in a scan.
    let mut live = Scanner::new(rules, config);
    let mut parser = LineParser::new(fixture.format, ParseConfig::default());
    for line in lines {
        if let Ok(event) = parser.parse(line.as_bytes(), now()) {
            live.feed_event(&event, line);
        }
    }
    let summary = |scanner: &Scanner| {
        let mut all: Vec<String> = scanner
            .findings()
            .iter()
            .map(|f| format!("{} {:?} {}", f.rule_id, f.group, f.count))
            .collect();
        all.sort();
        all
    };
    assert_eq!(summary(&live), summary(&scanner), "lines read as events, as `serve` reads them");
    found
}

fn check(rule: &str, text: &str) {
    let fixture = read(text);
    assert!(!fixture.fires.is_empty() && !fixture.quiet.is_empty(), "{rule}: empty fixture");
    let fires = fired(&fixture, &fixture.fires);
    assert!(fires.iter().any(|r| r == rule), "{rule} did not fire on its lines; fired: {fires:?}");
    let quiet = fired(&fixture, &fixture.quiet);
    assert!(!quiet.iter().any(|r| r == rule), "{rule} fired on its quiet lines");
}

#[test]
fn every_rule_fires_on_its_fixture_and_not_on_its_quiet_lines() {
    for (rule, text) in FIXTURES {
        check(rule, text);
    }
}

#[test]
fn every_alerting_rule_has_a_fixture() {
    let rules = pack::builtin_default().unwrap();
    for rule in &rules.rules {
        let alerting = match &rule.kind {
            RuleKind::Detection { generate, .. } => *generate,
            RuleKind::Correlation(_) => true,
        };
        if alerting {
            assert!(
                FIXTURES.iter().any(|(name, _)| *name == rule.id),
                "{} has no fixture",
                rule.id
            );
        }
    }
}

#[test]
fn every_rule_has_a_level_and_attack_tags() {
    let rules = pack::builtin_default().unwrap();
    for rule in &rules.rules {
        assert!(rule.level.is_some(), "{} has no level", rule.id);
        assert!(
            rule.tags.iter().any(|t| t.starts_with("attack.")),
            "{} has no ATT&CK tag",
            rule.id
        );
    }
}

#[test]
fn a_stored_event_is_matched_by_the_rules_that_look_at_it() {
    let rules = pack::builtin_default().unwrap();
    let event = |json: &str| firebreak_core::Event::from_json(json.as_bytes(), now()).unwrap();
    let failure = r#"{"@timestamp":"2026-12-04T10:00:00Z","event":{"category":["authentication"],"outcome":"failure","action":"app_login"},"source":{"ip":"203.0.113.8"},"user":{"name":"ana"}}"#;
    let success = r#"{"@timestamp":"2026-12-04T10:00:00Z","event":{"category":["authentication"],"outcome":"success","action":"app_login"},"source":{"ip":"203.0.113.8"},"user":{"name":"ana"}}"#;
    let (base, _) = rules.rule("app_login_failure").unwrap();
    let (brute, _) = rules.rule("app_brute_force").unwrap();
    assert!(rules.matches_event(base, &event(failure), failure));
    assert!(rules.matches_event(brute, &event(failure), failure), "through its correlation");
    assert!(!rules.matches_event(base, &event(success), success));
    assert!(!rules.matches_event(brute, &event(success), success));
}

#[test]
fn a_stored_event_of_another_category_is_not_the_rules() {
    let rules = pack::builtin_default().unwrap();
    let json = r#"{"@timestamp":"2026-12-04T10:00:00Z","event":{"category":["file"],"outcome":"failure"},"source":{"ip":"203.0.113.8"}}"#;
    let event = firebreak_core::Event::from_json(json.as_bytes(), now()).unwrap();
    let (base, _) = rules.rule("app_login_failure").unwrap();
    assert!(!rules.matches_event(base, &event, json));
}
