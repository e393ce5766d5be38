//! Breach-notification obligations: which regimes an incident triggers, who must be told, by when,
//! and why. Pure: no I/O, no async runtime, no SQL, no HTTP; time is a parameter.
//!
//! Not legal advice: every row carries its citation, its research confidence (H/M/L) and the
//! date it was last checked, so people can verify before relying on it.

pub mod calendar;
pub mod engine;
pub mod facts;
pub mod rules;

pub use engine::{
    Assessment, Clock, ComputeError, Deadline, NotTriggered, Obligation, Undetermined, compute,
};
pub use facts::{Facts, FactsError};
pub use rules::{RulesError, RulesTable};
