//! The scan engine's contract, one case per line where possible: windows in event time,
//! lateness, suppression, allowlists, the key cap, eviction, snapshots, bad input, broken rule
//! files (which must give an error naming the file, never a panic), and explanations.

use std::collections::HashMap;
use std::sync::Arc;

use jiff::Timestamp;
use proptest::prelude::*;

use crate::engine::{Allowlist, ScanConfig, Scanner, Snapshot, explain, parse_ip_list};
use crate::pack;
use crate::parse::{Format, LineParser, ParseConfig};
use crate::rules::{RuleFile, RuleSet};

fn now() -> Timestamp {
    "2026-12-04T12:00:00Z".parse().unwrap()
}

fn no_lists() -> HashMap<String, Vec<String>> {
    HashMap::new()
}

fn pack_scanner(config: ScanConfig) -> Scanner {
    Scanner::new(Arc::new(pack::builtin_default().unwrap()), config)
}

/// An sshd failure at 10:MM:SS from an address, on its own connection.
fn fail(at: &str, ip: &str, n: u32) -> String {
    format!(
        "Dec  4 10:{at} web1 sshd[{}]: Failed password for root from {ip} port {} ssh2",
        100 + n,
        4000 + n
    )
}

/// Feeds syslog lines; returns `rule_id group-values count` per finding.
fn scan(scanner: &mut Scanner, lines: &[String]) -> Vec<String> {
    for line in lines {
        scanner.feed(Format::Syslog, line.as_bytes(), now());
    }
    scanner
        .findings()
        .iter()
        .map(|f| {
            let group: Vec<&str> = f.group.values().map(String::as_str).collect();
            format!("{} {} {}", f.rule_id, group.join(","), f.count)
        })
        .collect()
}

fn check(lines: &[String], config: ScanConfig, expect: &[&str]) {
    let mut scanner = pack_scanner(config);
    let got = scan(&mut scanner, lines);
    let got: Vec<&str> =
        got.iter().map(String::as_str).filter(|f| f.starts_with("ssh_brute_force ")).collect();
    assert_eq!(got, expect, "lines: {lines:#?}");
}

#[test]
fn windows_count_in_event_time() {
    let ip = "203.0.113.5";
    // Five in ten minutes fire; five spread over eleven minutes do not.
    let fast: Vec<String> = (0..5).map(|i| fail(&format!("0{i}:00"), ip, i)).collect();
    check(&fast, ScanConfig::default(), &["ssh_brute_force 203.0.113.5 5"]);
    let slow: Vec<String> = ["00:00", "03:00", "06:00", "09:00", "11:00"]
        .iter()
        .zip(0..)
        .map(|(t, i)| fail(t, ip, i))
        .collect();
    check(&slow, ScanConfig::default(), &[]);
}

#[test]
fn late_lines_within_the_lateness_still_count() {
    let ip = "203.0.113.6";
    let order = ["04:00", "05:00", "03:30", "04:30", "05:30"];
    let lines: Vec<String> = order.iter().zip(0..).map(|(t, i)| fail(t, ip, i)).collect();
    check(&lines, ScanConfig::default(), &["ssh_brute_force 203.0.113.6 5"]);
    // With no lateness allowed, the two late lines are dropped and counted.
    let mut scanner = pack_scanner(ScanConfig { lateness: 0, ..ScanConfig::default() });
    assert!(scan(&mut scanner, &lines).is_empty());
    assert_eq!(scanner.stats().late, 2);
}

#[test]
fn one_finding_per_rule_and_key_per_suppression_period() {
    let ip = "203.0.113.7";
    let lines: Vec<String> = (0..9).map(|i| fail(&format!("0{i}:00"), ip, i)).collect();
    check(&lines, ScanConfig::default(), &["ssh_brute_force 203.0.113.7 9"]);
    let short = ScanConfig { suppression: 120, ..ScanConfig::default() };
    // A new finding counts from the threshold (an event_count keeps only the times it needs).
    let expect = [
        "ssh_brute_force 203.0.113.7 6",
        "ssh_brute_force 203.0.113.7 6",
        "ssh_brute_force 203.0.113.7 5",
    ];
    check(&lines, short, &expect);
}

#[test]
fn allowlisted_addresses_and_users_never_reach_a_rule() {
    let lines: Vec<String> = (0..6).map(|i| fail(&format!("0{i}:00"), "10.1.2.3", i)).collect();
    let (allow, bad) = Allowlist::parse("# office\n10.0.0.0/8\nuser:backup\nnot an address\n");
    assert_eq!(bad, vec![4]);
    let mut scanner = pack_scanner(ScanConfig { allow: allow.clone(), ..ScanConfig::default() });
    assert!(scan(&mut scanner, &lines).is_empty());
    assert_eq!(scanner.stats().allowlisted, 6);
    let users: Vec<String> = (0..6)
        .map(|i| format!("Dec  4 10:0{i}:00 h sshd[{i}]: Failed password for backup from 192.0.2.{i} port 22 ssh2"))
        .collect();
    let mut scanner = pack_scanner(ScanConfig { allow, ..ScanConfig::default() });
    assert!(scan(&mut scanner, &users).is_empty());
}

#[test]
fn the_key_cap_refuses_new_keys_and_counts_them() {
    let lines: Vec<String> = (0..20).map(|i| fail("00:00", &format!("192.0.2.{i}"), i)).collect();
    let mut scanner = pack_scanner(ScanConfig { max_keys: 10, ..ScanConfig::default() });
    scan(&mut scanner, &lines);
    let stats = scanner.stats();
    assert_eq!(stats.keys, 10);
    assert!(stats.keys_refused > 0);
}

#[test]
fn idle_keys_are_evicted_once_their_window_has_passed() {
    let mut scanner = pack_scanner(ScanConfig::default());
    scan(&mut scanner, &[fail("00:00", "192.0.2.1", 1)]);
    assert!(scanner.stats().keys > 0);
    // Two hours later, on another address.
    scan(
        &mut scanner,
        &["Dec  4 12:00:00 web1 sshd[9]: Failed password for root from 192.0.2.2 port 1 ssh2"
            .to_owned()],
    );
    scanner.sweep();
    let kept = scanner.snapshot();
    let json = serde_json::to_string(&kept).unwrap();
    assert!(!json.contains("192.0.2.1\""), "{json}");
    assert!(scanner.stats().keys_evicted > 0);
}

#[test]
fn state_survives_a_snapshot_and_a_restart() {
    let ip = "203.0.113.9";
    let mut scanner = pack_scanner(ScanConfig::default());
    scan(&mut scanner, &(0..3).map(|i| fail(&format!("0{i}:00"), ip, i)).collect::<Vec<_>>());
    let json = serde_json::to_string(&scanner.snapshot()).unwrap();
    let snapshot: Snapshot = serde_json::from_str(&json).unwrap();
    let rules = Arc::new(pack::builtin_default().unwrap());
    let mut restored = Scanner::restore(rules, ScanConfig::default(), snapshot);
    let got =
        scan(&mut restored, &(3..5).map(|i| fail(&format!("0{i}:00"), ip, i)).collect::<Vec<_>>());
    assert!(got.contains(&"ssh_brute_force 203.0.113.9 5".to_owned()), "{got:?}");
}

#[test]
fn with_new_rules_the_windows_carry_on_and_the_new_list_applies() {
    let ip = "203.0.113.10";
    let mut scanner = pack_scanner(ScanConfig::default());
    scan(&mut scanner, &(0..3).map(|i| fail(&format!("0{i}:00"), ip, i)).collect::<Vec<_>>());
    let lists = HashMap::from([("threat_intel".to_owned(), vec!["198.51.100.0/24".to_owned()])]);
    let mut scanner = scanner.with_rules(Arc::new(pack::builtin(&lists).unwrap()));
    let mut lines: Vec<String> = (3..5).map(|i| fail(&format!("0{i}:00"), ip, i)).collect();
    lines.push(fail("05:00", "198.51.100.20", 9));
    let got = scan(&mut scanner, &lines);
    assert!(got.contains(&"ssh_brute_force 203.0.113.10 5".to_owned()), "{got:?}");
    assert!(got.contains(&"threat_intel_source 198.51.100.20 1".to_owned()), "{got:?}");
}

/// What the live path does: the line parser builds events, the engine reads them as events.
fn feed_as_events(scanner: &mut Scanner, format: Format, lines: &[String]) -> Vec<String> {
    let mut parser = LineParser::new(format, ParseConfig::default());
    for line in lines {
        if let Ok(event) = parser.parse(line.as_bytes(), now()) {
            scanner.feed_event(&event, &event.to_json());
        }
    }
    let mut found: Vec<String> = scanner
        .findings()
        .iter()
        .map(|f| {
            let group: Vec<&str> = f.group.values().map(String::as_str).collect();
            format!("{} {} {}", f.rule_id, group.join(","), f.count)
        })
        .collect();
    found.sort();
    found
}

#[test]
fn events_parsed_from_lines_get_the_rules_of_their_line_source() {
    // An `Invalid user` line and the failure that repeats it count once, as in a scan.
    let mut lines: Vec<String> = (0..5)
        .flat_map(|i| {
            [
                format!("Dec  4 10:0{i}:00 web1 sshd[{}]: Invalid user guest{i} from 203.0.113.11 port {}", 100 + i, 4000 + i),
                format!("Dec  4 10:0{i}:01 web1 sshd[{}]: Failed password for invalid user guest{i} from 203.0.113.11 port {} ssh2", 100 + i, 4000 + i),
            ]
        })
        .collect();
    lines.push("Dec  4 10:06:00 web1 sshd[200]: Accepted password for guest4 from 203.0.113.11 port 5000 ssh2".into());
    let mut scanned = scan(&mut pack_scanner(ScanConfig::default()), &lines);
    scanned.sort();
    let as_events =
        feed_as_events(&mut pack_scanner(ScanConfig::default()), Format::Syslog, &lines);
    assert!(as_events.contains(&"ssh_brute_force 203.0.113.11 5".to_owned()), "{as_events:?}");
    assert!(as_events.iter().any(|f| f.starts_with("ssh_success_after_failures_address ")));
    assert_eq!(as_events, scanned);

    let access: Vec<String> = (0..30)
        .map(|i| format!(r#"198.51.100.30 - - [04/Dec/2026:10:00:{i:02} +0000] "GET /wp-login.php?n={i} HTTP/1.1" 401 12 "-" "curl/8""#))
        .collect();
    let mut scanner = pack_scanner(ScanConfig::default());
    for line in &access {
        scanner.feed(Format::Access, line.as_bytes(), now());
    }
    let mut scanned: Vec<String> =
        scanner.findings().iter().map(|f| format!("{} {}", f.rule_id, f.count)).collect();
    scanned.sort();
    let as_events =
        feed_as_events(&mut pack_scanner(ScanConfig::default()), Format::Access, &access);
    let as_events: Vec<String> = as_events
        .iter()
        .map(|f| {
            let mut words = f.split(' ');
            format!("{} {}", words.next().unwrap(), words.next_back().unwrap())
        })
        .collect();
    assert!(!scanned.is_empty());
    assert_eq!(as_events, scanned);
}

#[test]
fn an_event_that_names_no_line_source_gets_the_application_rules_only() {
    // `firebreak.attempt` alone does not make an event an sshd line.
    let mut scanner = pack_scanner(ScanConfig::default());
    for n in 0..6 {
        let doc = format!(
            r#"{{"@timestamp":"2026-12-04T10:00:0{n}Z","event":{{"category":"authentication","outcome":"failure"}},"source":{{"ip":"192.0.2.60"}},"user":{{"name":"u{n}"}},"firebreak":{{"attempt":true}}}}"#
        );
        let event = firebreak_core::Event::from_json(doc.as_bytes(), now()).unwrap();
        scanner.feed_event(&event, &doc);
    }
    let rules: Vec<&str> = scanner.findings().iter().map(|f| &*f.rule_id).collect();
    assert!(!rules.iter().any(|r| r.starts_with("ssh_")), "{rules:?}");
    assert!(rules.contains(&"credential_stuffing"), "{rules:?}");
}

#[test]
fn bad_lines_are_counted_and_skipped() {
    let mut scanner = pack_scanner(ScanConfig::default());
    let long = vec![b'a'; 70_000];
    let inputs: Vec<&[u8]> = vec![
        b"garbage",
        b"\x00\x01\x02\xff\xfe binary",
        &long,
        b"Dec  4 10:00:00 web1 sshd[1]: Failed password for r\xffot from 192.0.2.1 port 22 ssh2",
        b"",
    ];
    for input in &inputs {
        scanner.feed(Format::Syslog, input, now());
        scanner.feed(Format::Access, input, now());
        scanner.feed(Format::Json, input, now());
    }
    let stats = scanner.stats();
    assert_eq!(stats.lines, 15);
    assert_eq!(stats.too_long, 3);
    assert!(stats.invalid_utf8 >= 3);
    assert!(stats.malformed >= 6, "{stats:?}");
}

fn load(text: &str) -> Result<RuleSet, String> {
    RuleSet::load(&[RuleFile { name: "broken.yml", text }], &no_lists()).map_err(|e| e.to_string())
}

#[test]
fn broken_rule_files_give_an_error_naming_the_file() {
    let cases = [
        ("title: [unclosed", "broken.yml: "),
        ("just text", "broken.yml: "),
        (
            "title: t\nlogsource: {}\ndetection:\n  sel:\n    a|nosuch: x\n  condition: sel\n",
            "broken.yml: ",
        ),
        (
            "title: t\nlogsource: {}\ndetection:\n  sel:\n    a: x\n  condition: sel and other\n",
            "`other`",
        ),
        (
            "title: t\nlogsource: {}\ndetection:\n  sel:\n    a|re: '(['\n  condition: sel\n",
            "regular expression",
        ),
        (
            "title: t\nlogsource: {}\ndetection:\n  sel:\n    a|cidr: 'nonsense'\n  condition: sel\n",
            "not a network",
        ),
        (
            "title: c\ncorrelation:\n  type: event_count\n  rules: [missing]\n  group-by: [source.ip]\n  timespan: 5m\n  condition:\n    gte: 3\n",
            "not loaded: missing",
        ),
        (
            "title: r\nname: r\nlogsource: {}\ndetection:\n  s:\n    a: x\n  condition: s\n---\ntitle: c\ncorrelation:\n  type: event_count\n  rules: [r]\n  group-by: [source.ip]\n  timespan: 5m\n  condition:\n    gte: 3\nfirebreak-rate:\n  factor: 0\n",
            "firebreak-rate",
        ),
    ];
    for (text, expect) in cases {
        let error = load(text).err().unwrap_or_else(|| panic!("loaded: {text}"));
        assert!(error.starts_with("broken.yml: ") && error.contains(expect), "{error}");
    }
}

#[test]
fn the_pack_loads_and_every_rule_is_named() {
    let rules = pack::builtin_default().unwrap();
    assert!(rules.len() >= 30);
    for rule in &rules.rules {
        assert!(rule.name.is_some(), "{} has no name", rule.id);
    }
}

#[test]
fn threat_intelligence_lists_are_parsed_with_their_bad_lines() {
    let (entries, bad) =
        parse_ip_list("# feed\n203.0.113.7\n198.51.100.0/24 ; spam\nbogus\n2001:db8::/32\n");
    assert_eq!(entries, vec!["203.0.113.7/32", "198.51.100.0/24", "2001:db8::/32"]);
    assert_eq!(bad, vec![4]);
}

#[test]
fn explain_says_which_selection_matched_each_line() {
    let rules = Arc::new(pack::builtin_default().unwrap());
    let lines: Vec<String> = (0..5).map(|i| fail(&format!("0{i}:00"), "203.0.113.10", i)).collect();
    let mut input: Vec<&[u8]> = lines.iter().map(|l| l.as_bytes()).collect();
    input.push(b"not a syslog line");
    let explanation =
        explain(rules, "ssh_brute_force", ScanConfig::default(), Format::Syslog, &input, now())
            .unwrap();
    assert_eq!(explanation.findings.len(), 1);
    let first = &explanation.lines[0];
    assert!(first.read);
    assert_eq!(first.rules[0].rule_id, "ssh_auth_failure");
    assert_eq!(first.rules[0].selections, vec![("selection".to_owned(), true)]);
    assert!(first.fields.contains(&("source.ip".to_owned(), "203.0.113.10".to_owned())));
    assert!(!explanation.lines[5].read);
}

#[test]
fn temporal_and_value_sum_correlations() {
    let yaml = "title: a\nname: a\nlogsource: {product: application}\ndetection:\n  s:\n    event.action: a\n  condition: s\n---\ntitle: b\nname: b\nlogsource: {product: application}\ndetection:\n  s:\n    event.action: b\n  condition: s\n---\ntitle: both\nname: both\ncorrelation:\n  type: temporal\n  rules: [a, b]\n  group-by: [user.name]\n  timespan: 5m\n---\ntitle: sum\nname: sum\ncorrelation:\n  type: value_sum\n  rules: [a]\n  group-by: [user.name]\n  timespan: 5m\n  condition:\n    field: n\n    gte: 10\n---\ntitle: avg\nname: avg\ncorrelation:\n  type: value_avg\n  rules: [a]\n  group-by: [user.name]\n  timespan: 5m\n  condition:\n    field: n\n    gte: 5\n";
    let rules =
        Arc::new(RuleSet::load(&[RuleFile { name: "t.yml", text: yaml }], &no_lists()).unwrap());
    let mut scanner = Scanner::new(rules, ScanConfig::default());
    for line in [
        r#"{"@timestamp":"2026-12-04T10:00:00Z","event.action":"b","user.name":"u"}"#,
        r#"{"@timestamp":"2026-12-04T10:01:00Z","event.action":"a","user.name":"u","n":4}"#,
        r#"{"@timestamp":"2026-12-04T10:02:00Z","event.action":"a","user.name":"u","n":6}"#,
    ] {
        scanner.feed(Format::Json, line.as_bytes(), now());
    }
    let ids: Vec<&str> = scanner.findings().iter().map(|f| &*f.rule_id).collect();
    assert_eq!(ids, vec!["both", "sum", "avg"]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(256)
    ))]

    /// Rule text from outside never panics the loader: arbitrary text, and the pack's own files
    /// with a random cut and a random insertion.
    #[test]
    fn the_loader_never_panics(text in ".{0,400}", file in 0..pack::FILES.len(), cut in any::<prop::sample::Index>(), insert in "[ :\\-\\[\\]{}|*%a-z0-9\n]{0,12}") {
        let _ = load(&text);
        let (_, original) = pack::FILES[file];
        let at = cut.index(original.len() + 1);
        let at = (0..=at).rev().find(|i| original.is_char_boundary(*i)).unwrap_or(0);
        let mangled = format!("{}{}{}", &original[..at], insert, &original[at..]);
        let _ = load(&mangled);
        let _ = load(&original[..at]);
    }

    /// Any bytes, in any format, are a counted line and never a panic.
    #[test]
    fn the_scanner_never_panics(lines in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 1..20)) {
        let mut scanner = pack_scanner(ScanConfig::default());
        for line in &lines {
            for format in [Format::Syslog, Format::Access, Format::Json, Format::NginxError] {
                scanner.feed(format, line, now());
            }
        }
        prop_assert_eq!(scanner.stats().lines, lines.len() as u64 * 4);
    }
}

#[test]
fn extreme_settings_do_not_overflow() {
    let config = ScanConfig { lateness: i64::MAX, suppression: i64::MAX, ..ScanConfig::default() };
    let lines: Vec<String> = (0..6).map(|i| fail(&format!("0{i}:00"), "192.0.2.50", i)).collect();
    let mut scanner = pack_scanner(config);
    scan(&mut scanner, &lines);
    scanner.sweep();
    assert_eq!(scanner.stats().late, 0);
}
