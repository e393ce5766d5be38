//! Integration tests of firebreak-comply, in one binary: multi-jurisdiction scenarios, per-regime
//! deadline tables, and parsing robustness.

// This is a test binary: helpers outside #[test] functions may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod fuzz;
mod regimes;
mod scenarios;

use firebreak_comply::{Assessment, Facts, RulesTable, compute};

/// One incident and what the statutes say it owes.
#[derive(Debug)]
pub struct Case {
    /// What the case shows.
    pub name: &'static str,
    /// The facts, in the facts-file TOML format.
    pub facts: &'static str,
    /// Exactly the obligations expected, as `(rule id, deadline code)`; see `Deadline::code`.
    pub owed: &'static [(&'static str, &'static str)],
    /// Rules expected among "not triggered", with a fragment of the reason.
    pub not: &'static [(&'static str, &'static str)],
}

/// Runs every case and reports all mismatches at once.
pub fn check_all(cases: &[Case]) {
    let table = RulesTable::builtin().unwrap();
    let mut failures = Vec::new();
    for case in cases {
        if let Err(e) = check_one(case, &table) {
            failures.push(format!("── {}\n{e}", case.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

fn check_one(case: &Case, table: &RulesTable) -> Result<Assessment, String> {
    let facts = Facts::from_toml(case.facts).map_err(|e| e.to_string())?;
    let a = compute(&facts, table);
    let mut got: Vec<(String, String)> =
        a.obligations.iter().map(|o| (o.rule_id.clone(), o.deadline.code())).collect();
    got.sort();
    let mut want: Vec<(String, String)> =
        case.owed.iter().map(|(r, d)| (r.to_string(), d.to_string())).collect();
    want.sort();
    let mut errors = Vec::new();
    for w in &want {
        if !got.contains(w) {
            let actual =
                got.iter().find(|g| g.0 == w.0).map(|g| g.1.as_str()).unwrap_or("(not owed)");
            errors.push(format!("  want {} = {}\n   got {actual}", w.0, w.1));
        }
    }
    for g in &got {
        if !want.iter().any(|w| w.0 == g.0) {
            errors.push(format!("  unexpected {} = {}", g.0, g.1));
        }
    }
    for (id, fragment) in case.not {
        match a.not_triggered.iter().find(|n| n.rule_id == *id) {
            Some(n) if n.reason.contains(fragment) => {}
            Some(n) => errors.push(format!("  {id}: reason `{}` lacks `{fragment}`", n.reason)),
            None => errors.push(format!("  {id}: expected in not_triggered")),
        }
    }
    if errors.is_empty() { Ok(a) } else { Err(errors.join("\n")) }
}
