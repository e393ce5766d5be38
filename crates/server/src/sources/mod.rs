//! Sources that firebreak reads itself, rather than waiting for events to be posted: syslog
//! listeners (`syslog.rs`) and followed log files (`file.rs`). Each line is parsed by the
//! detection crate's parsers (an sshd line becomes an authentication event, and so on) and then
//! goes the way of events posted to the API: into the spool, the store, and live detection.
//! The parsed events say which line source they come from (`firebreak.source`), so the rules
//! written for that source (`logsource: service: sshd`, …) apply to them as in `firebreak scan`.

mod file;
mod syslog;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use firebreak_core::{Clock, Event};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::metrics::Metrics;
use crate::spool::Spool;

pub use file::{FileFormat, FileSource, Start};
pub use syslog::{Protocol, SyslogSource};

/// Events per spool record, at most.
const BATCH: usize = 1000;

/// `[sources]`: `[[sources.syslog]]` listeners and `[[sources.file]]` files.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SourcesConfig {
    pub syslog: Vec<SyslogSource>,
    pub file: Vec<FileSource>,
}

impl SourcesConfig {
    /// A file followed twice would be stored twice: each path may appear once.
    pub fn validate(&self) -> Result<(), String> {
        for (index, source) in self.file.iter().enumerate() {
            if self.file.iter().take(index).any(|other| other.path == source.path) {
                return Err(format!(
                    "`sources.file`: the path {} is listed twice",
                    source.path.display()
                ));
            }
        }
        Ok(())
    }
}

/// Starts every configured source: binds the listeners (failing at start if one cannot be
/// bound) and starts following the files (whose positions are kept under `data_dir`).
pub async fn start(
    config: &SourcesConfig,
    data_dir: &Path,
    spool: Spool,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    stop: watch::Receiver<bool>,
) -> std::io::Result<Vec<tokio::task::JoinHandle<()>>> {
    let mut tasks = Vec::new();
    for source in &config.syslog {
        tasks.extend(
            syslog::start(source, spool.clone(), clock.clone(), metrics.clone(), stop.clone())
                .await?,
        );
    }
    for source in &config.file {
        tasks.push(file::start(
            source.clone(),
            data_dir,
            spool.clone(),
            clock.clone(),
            metrics.clone(),
            stop.clone(),
        )?);
    }
    Ok(tasks)
}

/// Events parsed and not yet in the spool.
#[derive(Debug, Default)]
struct Pending {
    payload: Vec<u8>,
    count: u32,
    /// Who sent the last event, for syslog.
    last_peer: Option<SocketAddr>,
}

impl Pending {
    fn push(&mut self, event: &Event) {
        self.payload.extend_from_slice(event.to_json().as_bytes());
        self.payload.push(b'\n');
        self.count += 1;
    }

    fn is_full(&self) -> bool {
        self.count as usize >= BATCH
    }
}

/// Appends the waiting events to the spool as one record from `actor`, and waits until they
/// are on disk. On an error the events stay out of the spool (the caller decides whether they
/// are lost); either way `pending` is empty afterwards.
async fn append(
    actor: &str,
    spool: &Spool,
    clock: &dyn Clock,
    metrics: &Metrics,
    pending: &mut Pending,
) -> std::io::Result<()> {
    let Pending { payload, count, last_peer } = std::mem::take(pending);
    let at = i64::try_from(clock.now().as_nanosecond()).unwrap_or(i64::MAX);
    let meta = serde_json::to_vec(&serde_json::json!({
        "actor": actor,
        "remote_addr": last_peer.map(|p| p.ip().to_string()).unwrap_or_default(),
        "rejected": 0,
    }))
    .unwrap_or_default();
    spool.append(count, at, meta, payload).await?;
    metrics.events_accepted.add(u64::from(count));
    Ok(())
}
