//! Sigma detection semantics, one case per line: a detection section, a JSON event, and whether
//! it matches. Modifiers, wildcards, case, lists, conditions (`1 of`, `all of`, `not`), null and
//! keyword searches, as the Sigma specification describes them.

use std::collections::HashMap;

use firebreak_core::event::Event;
use jiff::Timestamp;

use super::fields::View;
use super::{RuleFile, RuleKind, RuleSet};

/// `detection` is the YAML body under `detection:` (indented by four spaces per level below).
fn check(detection: &str, event: &str, expect: bool) {
    let yaml = format!("title: t\nname: t\nlogsource: {{}}\ndetection:\n{detection}\n");
    let mut lists = HashMap::new();
    lists.insert("bad".to_owned(), vec!["203.0.113.0/24".to_owned()]);
    let set = RuleSet::load(&[RuleFile { name: "t.yml", text: &yaml }], &lists)
        .unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    let RuleKind::Detection { matcher, .. } = &set.rules[0].kind else { panic!("not a detection") };
    let event = Event::from_json(event.as_bytes(), Timestamp::UNIX_EPOCH).unwrap();
    let view = View::from_event(&event, "raw line with Mimikatz inside");
    assert_eq!(matcher.matches(&view), expect, "{detection}\n{}", event.to_json());
    if matcher.decided_by_presence() {
        assert_eq!(matcher.required_slots() & !view.present == 0, expect, "{detection}");
    }
    let equal = |(slot, prints): &(usize, Vec<u128>)| {
        let value = view.slot(*slot).and_then(super::matcher::fingerprint);
        value.is_some_and(|v| prints.contains(&v))
    };
    if matcher.decided_by_equality() {
        assert_eq!(matcher.quick_equalities().iter().all(equal), expect, "{detection}");
    }
    if expect {
        // What lets the scanner pass over a rule unread must never hold for one that matches.
        assert_eq!(matcher.required_slots() & !view.present, 0, "{detection}");
        assert!(matcher.can_match(), "{detection}");
        assert!(matcher.quick_equalities().iter().all(equal), "{detection}");
    }
}

#[test]
fn sigma_semantics() {
    let e = r#"{"url.original": "/a/B?q=Union Select", "user.name": "Alice", "http.response.status_code": 404, "source.ip": "203.0.113.9", "empty": "", "payload": "SGVsbG8gd29ybGQ="}"#;
    let cases: &[(&str, bool)] = &[
        // absent fields (http.request.method is a slot this event leaves empty)
        ("  s:\n    http.request.method: null\n  condition: s", true),
        ("  s:\n    http.request.method|exists: false\n  condition: s", true),
        ("  s:\n    http.request.method|exists: true\n  condition: s", false),
        ("  s:\n    user.name|exists: true\n    source.ip|exists: true\n  condition: s", true),
        (
            "  s:\n    user.name: ALICE\n    http.response.status_code: [403, 404]\n  condition: s",
            true,
        ),
        ("  s:\n    user.name: alic\n  condition: s", false),
        (
            "  s:\n    user.name: alice\n  f:\n    source.ip: 203.0.113.9\n  condition: s and f",
            true,
        ),
        (
            "  s:\n    user.name: alice\n  f:\n    http.request.method: GET\n  condition: s and not f",
            true,
        ),
        ("  s:\n    - http.request.method: GET\n    - user.name: alice\n  condition: s", true),
        (
            "  a:\n    http.request.method: GET\n  b:\n    user.name: alice\n  condition: 1 of them",
            true,
        ),
        // equality is case-insensitive, `cased` makes it exact
        ("  s:\n    user.name: alice\n  condition: s", true),
        ("  s:\n    user.name|cased: alice\n  condition: s", false),
        // lists are OR, maps are AND
        ("  s:\n    user.name: [bob, alice]\n  condition: s", true),
        ("  s:\n    user.name: alice\n    http.response.status_code: 200\n  condition: s", false),
        ("  s:\n    - user.name: bob\n    - http.response.status_code: 404\n  condition: s", true),
        // contains / startswith / endswith / all
        ("  s:\n    url.original|contains: 'union select'\n  condition: s", true),
        ("  s:\n    url.original|contains|all: [union, select, nothere]\n  condition: s", false),
        ("  s:\n    url.original|contains|all: [union, select]\n  condition: s", true),
        ("  s:\n    url.original|startswith: /A/\n  condition: s", true),
        ("  s:\n    url.original|endswith: 'select'\n  condition: s", true),
        // wildcards, escaped wildcards
        ("  s:\n    url.original: '/a/*select'\n  condition: s", true),
        ("  s:\n    url.original: '/a/?'\n  condition: s", false),
        ("  s:\n    url.original: '/a/\\*'\n  condition: s", false),
        // numbers and comparisons
        ("  s:\n    http.response.status_code: 404\n  condition: s", true),
        ("  s:\n    http.response.status_code|gte: 400\n  condition: s", true),
        ("  s:\n    http.response.status_code|lt: 400\n  condition: s", false),
        // regular expressions (case-sensitive unless `i`)
        ("  s:\n    url.original|re: 'union\\s+select'\n  condition: s", false),
        ("  s:\n    url.original|re|i: 'union\\s+select'\n  condition: s", true),
        // cidr, expand lists, neq, exists, null, empty
        ("  s:\n    source.ip|cidr: 203.0.113.0/24\n  condition: s", true),
        ("  s:\n    source.ip|expand: '%bad%'\n  condition: s", true),
        ("  s:\n    user.name|neq: alice\n  condition: s", false),
        ("  s:\n    missing|exists: true\n  condition: s", false),
        ("  s:\n    user.name|exists: true\n  condition: s", true),
        ("  s:\n    missing: null\n  condition: s", true),
        ("  s:\n    empty: ''\n  condition: s", true),
        // base64 and base64offset
        ("  s:\n    payload|base64: Hello world\n  condition: s", true),
        ("  s:\n    payload|base64offset|contains: world\n  condition: s", true),
        // field references
        ("  s:\n    user.name|fieldref: user.name\n  condition: s", true),
        // keywords search the raw line, case-insensitively
        ("  keywords:\n    - mimikatz\n  condition: keywords", true),
        // conditions
        ("  a:\n    user.name: alice\n  b:\n    user.name: bob\n  condition: a and not b", true),
        (
            "  sel_a:\n    user.name: alice\n  sel_b:\n    user.name: bob\n  condition: 1 of sel_*",
            true,
        ),
        (
            "  sel_a:\n    user.name: alice\n  sel_b:\n    user.name: bob\n  condition: all of sel_*",
            false,
        ),
        ("  a:\n    user.name: alice\n  b:\n    user.name: bob\n  condition: all of them", false),
        (
            "  s1:\n    user.name: alice\n  s2:\n    http.response.status_code: 404\n  s3:\n    user.name: bob\n  condition: 2 of s*",
            true,
        ),
        (
            "  s1:\n    user.name: alice\n  s2:\n    http.response.status_code: 200\n  s3:\n    user.name: bob\n  condition: 2 of s*",
            false,
        ),
        ("  a:\n    user.name: alice\n  b:\n    user.name: bob\n  condition: not b and a", true),
    ];
    for (detection, expect) in cases {
        check(detection, e, *expect);
    }
}
