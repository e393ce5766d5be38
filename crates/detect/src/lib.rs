//! Detection: raw log lines → normalised `Event`s (parsers), and events → alerts (rules over
//! sliding windows). Pure: no I/O, no async runtime, no SQL, no HTTP; time is a parameter.
