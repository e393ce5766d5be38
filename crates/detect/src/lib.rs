//! Detection: raw log lines → normalised `Event`s (parsers), and events → alerts (rules over
//! sliding windows). Pure: no I/O, no async runtime, no SQL, no HTTP; time is a parameter.
//!
//! The parsers live in [`parse`]: one file per log format, each producing a borrowed record
//! first (no allocation on the hot path) and an [`firebreak_core::event::Event`] on demand.

pub mod parse;

pub use parse::{LineParser, ParseConfig, ParseError, ParseStats};
pub mod engine;
pub mod geo;
pub mod pack;
pub mod rules;

#[cfg(test)]
mod engine_tests;
#[cfg(test)]
mod pack_tests;
