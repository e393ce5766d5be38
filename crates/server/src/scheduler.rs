//! The scheduler: durable jobs (decision expiry, escalations, reminders, approval timeouts) kept
//! in the store, claimed once when due, and run by the handler registered for their kind.
//!
//! Time is the `Clock`'s, so tests drive it with a fake clock and call [`Scheduler::tick`]; in
//! `serve`, [`Scheduler::run`] ticks every 250 ms. A job is claimed (pending → running) in one
//! transaction, so it never runs twice side by side; one left running by a crash or a stop is
//! pending again at the next start ([`Scheduler::start`]) and runs then — handlers are written
//! to be idempotent for that reason. Jobs that came due while the server was down run once, at
//! the first tick after the start.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use firebreak_core::Clock;
use firebreak_store::{Job, Store, StoreError};
use tokio::sync::watch;

/// What runs a kind of job. It must be idempotent: after a crash, a job may run again.
#[async_trait]
pub trait JobHandler: Send + Sync {
    async fn run(&self, job: &Job) -> Result<(), String>;
}

#[derive(Clone)]
pub struct Scheduler {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    handlers: HashMap<&'static str, Arc<dyn JobHandler>>,
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut kinds: Vec<&&str> = self.handlers.keys().collect();
        kinds.sort();
        f.debug_struct("Scheduler").field("kinds", &kinds).finish_non_exhaustive()
    }
}

/// How many due jobs one tick claims at most.
const BATCH: u32 = 100;

impl Scheduler {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Scheduler {
        Scheduler { store, clock, handlers: HashMap::new() }
    }

    pub fn register(&mut self, kind: &'static str, handler: Arc<dyn JobHandler>) {
        self.handlers.insert(kind, handler);
    }

    /// Makes jobs interrupted by the last stop pending again. Call once, before ticking.
    pub async fn start(&self) -> Result<u64, StoreError> {
        let requeued = self.store.requeue_interrupted_jobs().await?;
        if requeued > 0 {
            tracing::info!(jobs = requeued, "Jobs interrupted by the last stop will run again.");
        }
        Ok(requeued)
    }

    /// Runs every job due now; returns how many ran (whether they succeeded or not).
    pub async fn tick(&self) -> Result<usize, StoreError> {
        let mut ran = 0;
        loop {
            let jobs = self.store.claim_due_jobs(self.clock.now(), BATCH).await?;
            let count = jobs.len();
            for job in jobs {
                let outcome = match self.handlers.get(job.kind.as_str()) {
                    Some(handler) => handler.run(&job).await,
                    None => Err(format!("no handler for jobs of kind `{}`", job.kind)),
                };
                if let Err(error) = &outcome {
                    tracing::warn!(job = job.id, kind = %job.kind, %error, "A scheduled job failed.");
                }
                let error = outcome.err();
                self.store.finish_job(job.id, error.as_deref(), self.clock.now()).await?;
                ran += 1;
            }
            if count < BATCH as usize {
                return Ok(ran);
            }
        }
    }

    /// Ticks until `stop` turns true.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        loop {
            if let Err(error) = self.tick().await {
                tracing::warn!(%error, "The scheduler could not read its jobs; it tries again.");
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(250)) => {}
                _ = stop.changed() => return,
            }
        }
    }
}
