//! Counters for `/metrics`, in the Prometheus text format. A handful of atomics; no registry.

use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn add(&self, by: u64) {
        self.0.fetch_add(by, Ordering::Relaxed);
    }
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

#[derive(Debug, Default)]
pub struct Gauge(AtomicI64);

impl Gauge {
    pub fn set(&self, to: i64) {
        self.0.store(to, Ordering::Relaxed);
    }
    pub fn get(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

#[derive(Debug, Default)]
pub struct Metrics {
    pub events_accepted: Counter,
    pub events_rejected: Counter,
    pub ingest_backlogged: Counter,
    pub events_stored: Counter,
    pub drain_errors: Counter,
    pub spool_committed: Gauge,
    pub store_checkpoint: Gauge,
    pub http_requests: Counter,
    pub http_server_errors: Counter,
    pub auth_failures: Counter,
    pub alerts_created: Counter,
    pub events_scanned: Counter,
    pub incidents_opened: Counter,
    pub syslog_unreadable: Counter,
    pub alerts_suppressed: Counter,
    pub events_expired: Counter,
    pub file_lines: Counter,
    pub file_unreadable: Counter,
    pub file_too_long: Counter,
    pub file_invalid_utf8: Counter,
    pub file_rotations: Counter,
    pub file_truncations: Counter,
    pub file_errors: Counter,
    pub threat_intel_reloads: Counter,
    pub threat_intel_reload_errors: Counter,
}

impl Metrics {
    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut counter = |name: &str, help: &str, value: u64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}");
        };
        counter(
            "firebreak_events_accepted_total",
            "Events accepted by ingest and made durable in the spool.",
            self.events_accepted.get(),
        );
        counter(
            "firebreak_events_rejected_total",
            "Events rejected by ingest (bad JSON, not an object, bad timestamp, too large).",
            self.events_rejected.get(),
        );
        counter(
            "firebreak_ingest_backlogged_total",
            "Ingest requests answered 503 because the store was too far behind the spool.",
            self.ingest_backlogged.get(),
        );
        counter(
            "firebreak_events_stored_total",
            "Events moved from the spool into the store.",
            self.events_stored.get(),
        );
        counter(
            "firebreak_drain_errors_total",
            "Failed attempts to move events from the spool into the store.",
            self.drain_errors.get(),
        );
        counter(
            "firebreak_http_requests_total",
            "HTTP requests answered.",
            self.http_requests.get(),
        );
        counter(
            "firebreak_http_server_errors_total",
            "HTTP requests answered with a 5xx status.",
            self.http_server_errors.get(),
        );
        counter(
            "firebreak_auth_failures_total",
            "Requests refused for a missing or invalid token.",
            self.auth_failures.get(),
        );
        counter(
            "firebreak_events_scanned_total",
            "Stored events that live detection has scanned (behind events_stored while it catches up).",
            self.events_scanned.get(),
        );
        counter(
            "firebreak_alerts_created_total",
            "Alerts opened by live detection.",
            self.alerts_created.get(),
        );
        counter(
            "firebreak_incidents_opened_total",
            "Incidents opened from alerts by the incident policy.",
            self.incidents_opened.get(),
        );
        counter(
            "firebreak_syslog_unreadable_total",
            "Syslog messages no parser could read (dropped).",
            self.syslog_unreadable.get(),
        );
        counter(
            "firebreak_alerts_suppressed_total",
            "Rule firings silenced by an accepted suppression (no alert raised).",
            self.alerts_suppressed.get(),
        );
        counter(
            "firebreak_events_expired_total",
            "Stored events deleted by the retention period.",
            self.events_expired.get(),
        );
        counter(
            "firebreak_file_lines_total",
            "Lines read from followed files (blank lines aside).",
            self.file_lines.get(),
        );
        counter(
            "firebreak_file_unreadable_total",
            "Lines of followed files no parser could read (dropped).",
            self.file_unreadable.get(),
        );
        counter(
            "firebreak_file_too_long_total",
            "Lines of followed files longer than the line limit (skipped).",
            self.file_too_long.get(),
        );
        counter(
            "firebreak_file_invalid_utf8_total",
            "Lines of followed files with bytes that are not UTF-8 (read with them replaced).",
            self.file_invalid_utf8.get(),
        );
        counter(
            "firebreak_file_rotations_total",
            "Followed files replaced by a new file at their path.",
            self.file_rotations.get(),
        );
        counter(
            "firebreak_file_truncations_total",
            "Followed files found shorter than what was read of them (read again from the start).",
            self.file_truncations.get(),
        );
        counter(
            "firebreak_file_errors_total",
            "Failed attempts to read a followed file or hand its lines to the spool (retried).",
            self.file_errors.get(),
        );
        counter(
            "firebreak_threat_intel_reloads_total",
            "Threat-intelligence lists read again after they changed.",
            self.threat_intel_reloads.get(),
        );
        counter(
            "firebreak_threat_intel_reload_errors_total",
            "Changed threat-intelligence lists that did not read (the old list stayed in force).",
            self.threat_intel_reload_errors.get(),
        );
        let committed = self.spool_committed.get();
        let checkpoint = self.store_checkpoint.get();
        let _ = writeln!(
            out,
            "# HELP firebreak_spool_committed_seq Last event sequence number durable in the spool.\n# TYPE firebreak_spool_committed_seq gauge\nfirebreak_spool_committed_seq {committed}"
        );
        let _ = writeln!(
            out,
            "# HELP firebreak_store_checkpoint_seq Last event sequence number in the store.\n# TYPE firebreak_store_checkpoint_seq gauge\nfirebreak_store_checkpoint_seq {checkpoint}"
        );
        let _ = writeln!(
            out,
            "# HELP firebreak_ingest_lag_events Events durable in the spool and not yet in the store.\n# TYPE firebreak_ingest_lag_events gauge\nfirebreak_ingest_lag_events {}",
            committed - checkpoint
        );
        out
    }
}

/// The incident gauges, from the store's figures: drills are practice and stay out of them
/// (counted in a gauge of their own), as do incidents merged into others.
pub fn render_incidents(stats: &firebreak_core::IncidentStats) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP firebreak_incidents_open Open incidents per severity (drills and merged incidents left out).\n# TYPE firebreak_incidents_open gauge"
    );
    for severity in firebreak_core::Severity::ALL {
        let open = stats.open_by_severity.get(severity.as_str()).copied().unwrap_or(0);
        let _ = writeln!(out, "firebreak_incidents_open{{severity=\"{severity}\"}} {open}");
    }
    let mut gauge = |name: &str, help: &str, value: String| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}");
    };
    gauge(
        "firebreak_incidents",
        "Incidents, drills and merged ones left out.",
        stats.total.to_string(),
    );
    gauge(
        "firebreak_incident_drills",
        "Drills (test incidents), kept out of every other incident figure.",
        stats.drills.to_string(),
    );
    if let Some(secs) = stats.median_secs_to_contain {
        gauge(
            "firebreak_incident_median_seconds_to_contain",
            "Median time from detection to containment.",
            secs.to_string(),
        );
    }
    if let Some(secs) = stats.median_secs_to_close {
        gauge(
            "firebreak_incident_median_seconds_to_close",
            "Median time from detection to closing.",
            secs.to_string(),
        );
    }
    out
}
