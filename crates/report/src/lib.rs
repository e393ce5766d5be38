//! Documents for people, rendered to bytes: the offline contact list now, the post-incident report
//! later. Pure: no I/O, no runtime, no SQL, no HTTP; the caller writes the bytes where it wants.

pub mod contacts;
pub mod pdf;
