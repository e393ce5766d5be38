//! The built-in rule pack: our own Sigma files under `crates/detect/rules/`, compiled into the
//! binary. `threat_intel` is the one list the pack reads; without it, its rule never matches.

use std::collections::HashMap;

use crate::rules::{Lists, RuleError, RuleFile, RuleSet};

/// Every file of the pack: (file name, YAML text).
pub const FILES: &[(&str, &str)] = &[
    ("account_takeover.yml", include_str!("../rules/account_takeover.yml")),
    ("api_spike.yml", include_str!("../rules/api_spike.yml")),
    ("app_brute_force.yml", include_str!("../rules/app_brute_force.yml")),
    ("credential_stuffing.yml", include_str!("../rules/credential_stuffing.yml")),
    ("data_exfiltration.yml", include_str!("../rules/data_exfiltration.yml")),
    ("file_integrity.yml", include_str!("../rules/file_integrity.yml")),
    ("geo_logins.yml", include_str!("../rules/geo_logins.yml")),
    ("http_brute_force.yml", include_str!("../rules/http_brute_force.yml")),
    ("password_spraying.yml", include_str!("../rules/password_spraying.yml")),
    ("privilege_escalation.yml", include_str!("../rules/privilege_escalation.yml")),
    ("ssh_brute_force.yml", include_str!("../rules/ssh_brute_force.yml")),
    ("threat_intel.yml", include_str!("../rules/threat_intel.yml")),
    ("web_attacks.yml", include_str!("../rules/web_attacks.yml")),
    ("web_status_bursts.yml", include_str!("../rules/web_status_bursts.yml")),
];

/// The lists the pack reads, with an empty `threat_intel` where the caller gave none.
struct WithDefaults<'a> {
    given: &'a dyn Lists,
    empty: Vec<String>,
}

impl Lists for WithDefaults<'_> {
    fn list(&self, name: &str) -> Option<&[String]> {
        self.given.list(name).or_else(|| (name == "threat_intel").then_some(self.empty.as_slice()))
    }
}

/// Compiles the built-in pack with the caller's lists (`threat_intel`: addresses and networks).
pub fn builtin(lists: &dyn Lists) -> Result<RuleSet, RuleError> {
    let files: Vec<RuleFile<'_>> =
        FILES.iter().map(|(name, text)| RuleFile { name, text }).collect();
    RuleSet::load(&files, &WithDefaults { given: lists, empty: Vec::new() })
}

/// The pack with no lists.
pub fn builtin_default() -> Result<RuleSet, RuleError> {
    builtin(&HashMap::<String, Vec<String>>::new())
}
