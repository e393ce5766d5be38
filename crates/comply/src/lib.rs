//! Breach-notification obligations: which regimes an incident triggers, who must be told, by when,
//! and why. Pure: no I/O, no async runtime, no SQL, no HTTP; time is a parameter.
