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

/// What the drain task works with.
#[derive(Debug)]
pub struct Drain {
    pub store: Arc<dyn Store>,
    pub reader: SpoolReader,
    /// Events per store transaction, at most.
    pub batch: usize,
    pub metrics: Arc<Metrics>,
    pub clock: Arc<dyn Clock>,
    /// Where the last stored sequence number is published.
    pub progress: watch::Sender<i64>,
    pub stop: watch::Receiver<bool>,
    /// Live detection's input, when it is on.
    pub detect: Option<tokio::sync::mpsc::Sender<crate::detection::Batch>>,
}

/// The drain running on its own thread (see [`spawn`]).
#[derive(Debug)]
pub struct Running {
    done: tokio::sync::oneshot::Receiver<()>,
    abort: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Running {
    /// Waits until the drain has ended (after `stop`, once the spool is in the store).
    pub async fn finished(&mut self) {
        let _ = (&mut self.done).await;
    }

    /// Stops the drain where it is: its input to detection closes, the spool keeps the rest.
    pub fn abort(&mut self) {
        if let Some(abort) = self.abort.take() {
            let _ = abort.send(());
        }
    }
}

/// Starts the drain on a thread of its own with its own runtime, at background priority
/// ([`crate::background`]): decoding, the store's bulk insert (on that runtime's blocking pool,
/// whose threads inherit the priority) and the hand-over to detection all yield to requests.
pub fn spawn(drain: Drain) -> std::io::Result<Running> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let (done_tx, done) = tokio::sync::oneshot::channel();
    let (abort, abort_rx) = tokio::sync::oneshot::channel::<()>();
    std::thread::Builder::new().name("drain".into()).spawn(move || {
        crate::background::lower_this_thread("drain");
        runtime.block_on(async {
            tokio::select! {
                () = run(drain) => {}
                _ = abort_rx => {}
            }
        });
        let _ = done_tx.send(());
    })?;
    Ok(Running { done, abort: Some(abort) })
}

/// Runs until `stop` turns true and everything committed before then is stored.
pub async fn run(drain: Drain) {
    let Drain { store, mut reader, batch, metrics, clock, progress, mut stop, detect } = drain;
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
            let batch: Option<crate::detection::Batch> = detect
                .as_ref()
                .map(|_| rows.iter().map(|row| (row.received_at, row.doc.clone())).collect());
            match store.insert_events(rows, audits, checkpoint).await {
                Ok(()) => {
                    metrics.events_stored.add(count);
                    // Detection sees events once they are stored, in the order they came.
                    if let (Some(detect), Some(batch)) = (&detect, batch)
                        && detect.send(batch).await.is_err()
                    {
                        tracing::error!(
                            "The detection engine stopped; events are stored but not scanned."
                        );
                    }
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
