//! Event retention: every hour (and at start), stored events received more than the configured
//! number of days ago are deleted, a bounded batch per transaction so that ingest keeps going.
//! Evidence captured from events is a copy in the blob store and is not touched.

use std::sync::Arc;
use std::time::Duration;

use firebreak_core::Clock;
use firebreak_store::Store;
use jiff::SignedDuration;
use tokio::sync::watch;

use crate::metrics::Metrics;

/// Rows deleted per transaction.
const BATCH: u32 = 10_000;
/// How often the sweep runs.
const EVERY: Duration = Duration::from_secs(3600);

pub async fn run(
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    days: u32,
    mut stop: watch::Receiver<bool>,
) {
    if days == 0 {
        return;
    }
    loop {
        let cutoff = clock.now() - SignedDuration::from_hours(24 * i64::from(days));
        let mut total = 0u64;
        loop {
            match store.delete_events_before(cutoff, BATCH).await {
                Ok(deleted) => {
                    total += deleted;
                    metrics.events_expired.add(deleted);
                    if deleted < u64::from(BATCH) {
                        break;
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "The retention sweep failed; it runs again in an hour.");
                    break;
                }
            }
            tokio::task::yield_now().await;
        }
        if total > 0 {
            tracing::info!(events = total, %cutoff, "Expired events deleted (retention).");
        }
        tokio::select! {
            _ = tokio::time::sleep(EVERY) => {}
            _ = stop.changed() => return,
        }
    }
}
