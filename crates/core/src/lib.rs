//! Domain types of firebreak: what an event, an alert, an incident and a timeline entry are,
//! and the rules they obey. Pure: no I/O, no async runtime, no SQL, no HTTP; time is a parameter.

pub mod alert;
pub mod clock;
pub mod decision;
pub mod event;
pub mod evidence;
pub mod incident;
pub mod person;
pub mod task;
pub mod timeline;

pub use alert::{Alert, AlertStatus, Suppression, SuppressionKind, SuppressionStatus};
pub use clock::{Clock, FakeClock, SystemClock};
pub use decision::{Decision, DecisionKind, Term};
pub use event::{Event, EventError};
pub use evidence::Evidence;
pub use incident::{
    Incident, IncidentStats, Milestones, NewIncident, Severity, Status, TransitionError,
};
pub use person::{AccessRole, Person, ResponseRole};
pub use task::{ChecklistItem, Task, TaskStatus};
pub use timeline::{ChainError, EntryKind, Hash, NewEntry, TimelineEntry, verify_chain};
