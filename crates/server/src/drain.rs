//! The drain task: moves events from the spool into the store in large transactions, with the
//! spool position and the ingest audit records written in the same transaction.

use std::sync::Arc;
use std::time::Duration;

use firebreak_core::Clock;
use firebreak_store::{AuditRecord, EventRecord, Store};
use jiff::Timestamp;
use tokio::sync::watch;

use crate::metrics::Metrics;
use crate::spool::{Record, SpoolReader};

/// How far the drain has got, for `/readyz` and shutdown.
#[derive(Debug, Clone)]
pub struct DrainProgress(pub watch::Receiver<i64>);

/// Runs until `stop` turns true and everything committed before then is stored.
pub async fn run(
    store: Arc<dyn Store>,
    mut reader: SpoolReader,
    batch: usize,
    metrics: Arc<Metrics>,
    clock: Arc<dyn Clock>,
    progress: watch::Sender<i64>,
    mut stop: watch::Receiver<bool>,
) {
    let mut committed = reader.watch();
    loop {
        let (back, read) = match tokio::task::spawn_blocking(move || {
            let read = reader.read(batch);
            (reader, read)
        })
        .await
        {
            Ok(pair) => pair,
            Err(error) => {
                tracing::error!(%error, "The spool reader failed; ingest will not reach the store until restart.");
                return;
            }
        };
        reader = back;
        let records = match read {
            Ok(records) => records,
            Err(error) => {
                metrics.drain_errors.add(1);
                tracing::error!(%error, "Could not read the ingest spool; retrying.");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if records.is_empty() {
            if *stop.borrow() && reader.position() >= reader.committed() {
                return;
            }
            tokio::select! {
                _ = committed.changed() => {}
                _ = stop.changed() => {}
            }
            continue;
        }
        let checkpoint = reader.position();
        loop {
            // Decoded afresh on each attempt: the store takes the rows, and retries are rare.
            let (rows, audits) = decode(&records, clock.now());
            let count = rows.len() as u64;
            match store.insert_events(rows, audits, checkpoint).await {
                Ok(()) => {
                    metrics.events_stored.add(count);
                    break;
                }
                Err(error) => {
                    metrics.drain_errors.add(1);
                    tracing::error!(%error, "Could not write events to the store; retrying. They are safe in the spool.");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
        metrics.store_checkpoint.set(checkpoint);
        progress.send_replace(checkpoint);
        if let Err(error) = reader.remove_finished() {
            tracing::warn!(%error, "Could not delete a drained spool segment.");
        }
    }
}

/// Turns spool records into store rows and one audit record per ingest request.
fn decode(records: &[Record], now: Timestamp) -> (Vec<EventRecord>, Vec<AuditRecord>) {
    let mut rows = Vec::with_capacity(records.iter().map(|r| r.count as usize).sum());
    let mut audits = Vec::with_capacity(records.len());
    for record in records {
        let received_at =
            Timestamp::from_nanosecond(i128::from(record.received_at_ns)).unwrap_or(now);
        let lines = record.payload.split(|&b| b == b'\n').filter(|line| !line.is_empty());
        for (seq, line) in (record.first_seq..).zip(lines) {
            // Lines were normalised before they were written, so they parse; a line that does not
            // (disk corruption the CRC missed) is logged and skipped, keeping the numbering.
            match EventRecord::from_raw(seq, received_at, line) {
                Ok(row) => rows.push(row),
                Err(error) => {
                    tracing::error!(seq, %error, "Skipped an unreadable event in the spool.")
                }
            }
        }
        let meta: serde_json::Value = serde_json::from_slice(&record.meta).unwrap_or_default();
        let text =
            |key: &str| meta.get(key).and_then(|v| v.as_str()).unwrap_or("unknown").to_owned();
        audits.push(AuditRecord {
            at: received_at,
            actor: text("actor"),
            action: "POST /api/v1/events".into(),
            target: format!("events {}..={}", record.first_seq, record.last_seq()),
            remote_addr: text("remote_addr"),
            status: 200,
            detail: format!(
                "accepted {}, rejected {}",
                record.count,
                meta.get("rejected").and_then(|v| v.as_u64()).unwrap_or(0)
            ),
        });
    }
    (rows, audits)
}
