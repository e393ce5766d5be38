//! Detection: raw log lines → normalised `Event`s (parsers), and events → alerts (rules over
//! sliding windows). Pure: no I/O, no async runtime, no SQL, no HTTP; time is a parameter.
//!
//! The parsers live in [`parse`]: one file per log format, each producing a borrowed record
//! first (no allocation on the hot path) and an [`firebreak_core::event::Event`] on demand.
//!
//! Rules are Sigma ([`rules`]: loading, the Sigma → ECS field table, the compiled matcher and
//! why it is ours), evaluated by [`engine::Scanner`] (windows, correlations, suppression,
//! allowlists, bounded state, snapshots; [`engine::explain`] for `rules test`). The built-in
//! pack is [`pack`] (YAML under `crates/detect/rules/`), and [`geo`] reads MaxMind databases for
//! the new-country and impossible-travel rules.

pub mod engine;
pub mod geo;
pub mod pack;
pub mod parse;
pub mod rules;

pub use engine::{Finding, ScanConfig, ScanStats, Scanner, Snapshot};
pub use parse::{LineParser, ParseConfig, ParseError, ParseStats};
pub use rules::{RuleError, RuleFile, RuleSet};

#[cfg(test)]
mod engine_tests;
#[cfg(test)]
mod pack_tests;
