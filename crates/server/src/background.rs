//! Background work runs at a lower CPU priority than the request path.
//!
//! Moving events from the spool into the store and live detection are the heavy, steady work of
//! `serve`; acknowledging a request is the work a sender waits on. An acknowledged event is
//! already durable in the spool, so under a burst the right order is: acknowledge at the rate
//! the disk allows, and let indexing and detection catch up behind. On a small machine they
//! would otherwise take half of the CPU away from acknowledging while the burst lasts. Outside
//! bursts nothing competes, and the lower priority costs nothing.

/// How much nicer (in `nice` steps, up to 19) background threads are than the process: ten
/// steps gives them about a tenth of the CPU weight of request threads when both want it.
pub const NICENESS: i32 = 10;

/// Lowers the calling thread's priority by [`NICENESS`]. Threads it starts later inherit it
/// (the drain's runtime and its blocking pool). A failure is logged and otherwise harmless.
pub fn lower_this_thread(what: &str) {
    let thread = rustix::thread::gettid();
    let lowered = rustix::process::getpriority_process(Some(thread)).and_then(|now| {
        rustix::process::setpriority_process(Some(thread), (now + NICENESS).min(19))
    });
    if let Err(error) = lowered {
        tracing::debug!(%error, thread = what, "Could not lower the priority of a background thread.");
    }
}
