//! The server's parts driven directly, with a fake clock: the scheduler and the responder on a
//! real SQLite store.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stderr)] // Test code.

mod scheduler;
