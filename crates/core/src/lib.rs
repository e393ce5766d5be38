//! Domain types of firebreak: what an event, an alert, an incident and a timeline entry are,
//! and the rules they obey. Pure: no I/O, no async runtime, no SQL, no HTTP; time is a parameter.

pub mod clock;
