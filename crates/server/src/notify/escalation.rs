//! The scheduler's `escalation` jobs: one per step of a chain, due when the step before it has
//! gone unacknowledged for the route's `escalate_after_minutes`. Each has the dedupe key
//! `escalation:ESCALATION:LEVEL`, so that scheduling a step twice schedules it once, and an
//! acknowledgement cancels exactly the pending step.
//!
//! When the chain is exhausted (`rounds` passes through its roles, default 2), the escalation
//! stops and says so on the timeline rather than paging the same people for ever: by then
//! the incident needs a person to decide, and the timeline shows nobody answered.

use std::sync::Arc;

use async_trait::async_trait;
use firebreak_store::Job;

use super::Notifier;
use crate::scheduler::JobHandler;

/// The job kind the scheduler dispatches on.
pub const KIND: &str = "escalation";

/// The dedupe key of one step of one escalation.
pub fn job_key(escalation_id: i64, level: u32) -> String {
    format!("{KIND}:{escalation_id}:{level}")
}

/// Runs escalation steps through the notifier.
#[derive(Debug)]
pub struct EscalationHandler(pub Arc<Notifier>);

#[derive(Debug, serde::Deserialize)]
struct Payload {
    escalation_id: i64,
    level: u32,
}

#[async_trait]
impl JobHandler for EscalationHandler {
    async fn run(&self, job: &Job) -> Result<(), String> {
        let payload: Payload = serde_json::from_value(job.payload.clone())
            .map_err(|error| format!("an escalation job's payload does not read: {error}"))?;
        self.0.escalate(payload.escalation_id, payload.level).await.map_err(|e| e.to_string())
    }
}
