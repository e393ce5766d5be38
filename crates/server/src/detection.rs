//! Live detection: events moved into the store are fed, in order, to the same engine
//! `firebreak scan` uses; its findings become alerts, and the incident policy turns alerts into
//! incidents (or adds them to the open incident of the same rule and group).
//!
//! The engine runs on a thread of its own (it is CPU work with state), fed by the drain through
//! a bounded channel; alerts are written by an async task. The engine's window state is saved to
//! `data_dir/detection-state.json` every minute and at shutdown, and restored at start, so
//! windows survive a restart. (After a crash, the events between the last save and the crash
//! are not re-fed: their windows start again. Decided so because replaying them would need the
//! spool kept longer than the store needs it.)
//!
//! The threat-intelligence lists (`[detection] threat_intel`) are looked at (`stat`: time,
//! size, inode) before each batch and every two seconds, and read again when one changed; the
//! engine then carries its windows over to the new rules (`Scanner::with_rules`). A changed
//! list that does not read keeps its old entries, with a warning naming the file and line.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use firebreak_core::{Clock, EntryKind, Event, NewEntry, NewIncident};
use firebreak_detect::engine::Allowlist;
use firebreak_detect::rules::RuleFile;
use firebreak_detect::{Finding, RuleSet, ScanConfig, Scanner, Snapshot};
use firebreak_store::{NewAlert, Store};
use jiff::{SignedDuration, Timestamp};
use tokio::sync::{mpsc, watch};

use crate::config::{DetectionConfig, IncidentGrouping, IncidentsConfig};
use crate::metrics::Metrics;
use crate::triage::Suppressions;

/// Loads the built-in pack (unless left out) and every `*.yml`/`*.yaml` in `dirs`, with the
/// threat-intelligence lists. A broken file is an error naming it.
pub fn load_rules(
    builtin: bool,
    dirs: &[PathBuf],
    threat_intel: &[PathBuf],
) -> Result<RuleSet, String> {
    ThreatIntel::load(builtin, dirs, threat_intel).map(|(rules, _)| rules)
}

/// The rule files as (name, text): the built-in pack (unless left out), then every
/// `*.yml`/`*.yaml` in `dirs`, in name order.
fn read_rule_files(builtin: bool, dirs: &[PathBuf]) -> Result<Vec<(String, String)>, String> {
    let mut owned: Vec<(String, String)> = Vec::new();
    if builtin {
        owned.extend(
            firebreak_detect::pack::FILES
                .iter()
                .map(|(name, text)| ((*name).to_owned(), (*text).to_owned())),
        );
    }
    for dir in dirs {
        owned.extend(crate::read_yaml_files(dir, "rules")?);
    }
    if owned.is_empty() {
        return Err("no detection rules: load the built-in pack or give rule directories".into());
    }
    Ok(owned)
}

/// Reads a threat-intelligence list (addresses and CIDR ranges), naming a bad line.
fn read_list(path: &Path) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("cannot read the list {}: {error}", path.display()))?;
    let (entries, bad) = firebreak_detect::engine::parse_ip_list(&text);
    match bad.first() {
        Some(line) => {
            Err(format!("{}: line {line} is not an address or a CIDR range", path.display()))
        }
        None => Ok(entries),
    }
}

/// Compiles the rules with the threat-intelligence entries.
fn compile(files: &[(String, String)], threat_intel: Vec<String>) -> Result<RuleSet, String> {
    // The pack's threat-intelligence rule names this list; without files it is empty.
    let lists: HashMap<String, Vec<String>> =
        HashMap::from([("threat_intel".to_owned(), threat_intel)]);
    let files: Vec<RuleFile<'_>> =
        files.iter().map(|(name, text)| RuleFile { name, text }).collect();
    RuleSet::load(&files, &lists).map_err(|error| error.to_string())
}

/// The rule files as read at start and the threat-intelligence lists as last read, with what
/// `stat` said of each list file then, so that a change costs no more than a `stat` to see.
#[derive(Debug)]
struct ThreatIntel {
    rule_files: Vec<(String, String)>,
    lists: Vec<ListFile>,
}

#[derive(Debug)]
struct ListFile {
    path: PathBuf,
    stamp: Option<Stamp>,
    entries: Vec<String>,
}

/// What `stat` says of a file; a change to any of it is a change to the file (an edit in
/// place, or a new file renamed over it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    modified: (i64, i64),
    size: u64,
    device: u64,
    inode: u64,
}

fn stamp(path: &Path) -> Option<Stamp> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).ok()?;
    Some(Stamp {
        modified: (meta.mtime(), meta.mtime_nsec()),
        size: meta.len(),
        device: meta.dev(),
        inode: meta.ino(),
    })
}

impl ThreatIntel {
    /// Reads the rules and the lists; any error stops the start.
    fn load(
        builtin: bool,
        dirs: &[PathBuf],
        threat_intel: &[PathBuf],
    ) -> Result<(RuleSet, ThreatIntel), String> {
        let mut lists = Vec::new();
        for path in threat_intel {
            // The stamp first: a change made while the file is read is seen at the next look.
            let stamp = stamp(path);
            lists.push(ListFile { path: path.clone(), stamp, entries: read_list(path)? });
        }
        let intel = ThreatIntel { rule_files: read_rule_files(builtin, dirs)?, lists };
        Ok((compile(&intel.rule_files, intel.entries())?, intel))
    }

    fn entries(&self) -> Vec<String> {
        self.lists.iter().flat_map(|list| list.entries.iter().cloned()).collect()
    }

    /// The rules with the lists read again, when a list file changed and reads. A list that
    /// does not read keeps its old entries, with a warning naming the file and the line.
    fn reload(&mut self, metrics: &Metrics) -> Option<RuleSet> {
        let mut changed = false;
        for list in &mut self.lists {
            let now = stamp(&list.path);
            if now == list.stamp {
                continue;
            }
            list.stamp = now;
            match read_list(&list.path) {
                Ok(entries) => {
                    list.entries = entries;
                    changed = true;
                }
                Err(error) => {
                    metrics.threat_intel_reload_errors.add(1);
                    tracing::warn!(%error, "A threat-intelligence list changed but does not read; its old entries stay in force.");
                }
            }
        }
        if !changed {
            return None;
        }
        match compile(&self.rule_files, self.entries()) {
            Ok(rules) => {
                metrics.threat_intel_reloads.add(1);
                let entries: usize = self.lists.iter().map(|list| list.entries.len()).sum();
                tracing::info!(entries, "Threat-intelligence lists read again.");
                Some(rules)
            }
            Err(error) => {
                metrics.threat_intel_reload_errors.add(1);
                tracing::warn!(%error, "The rules do not compile with the changed threat-intelligence lists; the old ones stay in force.");
                None
            }
        }
    }
}

/// Reads an allowlist file (addresses, ranges, `user:NAME`), naming a bad line.
pub fn read_allowlist(path: &Path) -> Result<Allowlist, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("cannot read the allowlist {}: {error}", path.display()))?;
    let (allow, bad) = Allowlist::parse(&text);
    match bad.first() {
        Some(line) => Err(format!(
            "{}: line {line} is neither an address, a range nor `user:NAME`",
            path.display()
        )),
        None => Ok(allow),
    }
}

/// Events for the engine: when each was received, and the event as received.
pub type Batch = Vec<(Timestamp, String)>;

/// The running detector: send it batches of stored events.
#[derive(Debug)]
pub struct Detector {
    /// The rules the engine runs, for searching stored events by rule: the set in force, since
    /// a threat-intelligence list edited while serving recompiles it.
    pub rules: watch::Receiver<Arc<RuleSet>>,
    pub events: mpsc::Sender<Batch>,
    pub engine: std::thread::JoinHandle<()>,
    pub alerts: tokio::task::JoinHandle<()>,
}

/// Where alerts go: the store, the counters, the suppressions that may drop them, and the
/// responder whose playbooks act on the incidents they open or join.
#[derive(Debug)]
pub struct Sinks {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<Metrics>,
    pub suppressions: Arc<Suppressions>,
    pub responder: Option<Arc<crate::response::Responder>>,
    /// Told of each incident opened, to route notifications.
    pub notifier: Option<Arc<crate::notify::Notifier>>,
}

/// Builds the engine from configuration, restores its state, and starts its thread and the
/// alert task. Errors (a broken rule file, a bad allowlist) stop the server from starting.
pub fn start(
    config: &DetectionConfig,
    policy: IncidentsConfig,
    data_dir: &Path,
    sinks: Sinks,
) -> Result<Detector, String> {
    let Sinks { store, clock, metrics, suppressions, responder, notifier } = sinks;
    let (rules, intel) =
        ThreatIntel::load(config.builtin_rules, &config.rules, &config.threat_intel)?;
    let rules = Arc::new(rules);
    let mut scan = ScanConfig {
        suppression: i64::try_from(config.suppression_secs).unwrap_or(i64::MAX),
        lateness: i64::try_from(config.lateness_secs).unwrap_or(i64::MAX),
        ..ScanConfig::default()
    };
    if let Some(path) = &config.allow {
        scan.allow = read_allowlist(path)?;
    }
    let state_path = data_dir.join("detection-state.json");
    let scanner = match std::fs::read(&state_path) {
        Ok(bytes) => match serde_json::from_slice::<Snapshot>(&bytes) {
            Ok(snapshot) => Scanner::restore(rules.clone(), scan, snapshot),
            Err(error) => {
                tracing::warn!(%error, "The saved detection state does not read; windows start empty.");
                Scanner::new(rules.clone(), scan)
            }
        },
        Err(_) => Scanner::new(rules.clone(), scan),
    };
    tracing::info!(rules = rules.rules.len(), "Live detection is on.");
    let (rules_tx, rules_rx) = watch::channel(Arc::clone(&rules));
    let (events_tx, events_rx) = mpsc::channel::<Batch>(64);
    let (findings_tx, findings_rx) = mpsc::channel::<Vec<Finding>>(256);
    let engine_metrics = metrics.clone();
    let runtime = tokio::runtime::Handle::current();
    let engine = std::thread::Builder::new()
        .name("detection".into())
        .spawn(move || {
            crate::background::lower_this_thread("detection");
            run_engine(
                scanner,
                Reloads { intel, in_force: rules_tx },
                events_rx,
                findings_tx,
                &state_path,
                &engine_metrics,
                runtime,
            )
        })
        .map_err(|error| format!("cannot start the detection thread: {error}"))?;
    let suppression =
        SignedDuration::from_secs(i64::try_from(config.suppression_secs).unwrap_or(i64::MAX / 2));
    let writer = AlertWriter {
        store,
        clock,
        metrics,
        policy,
        suppression,
        suppressions,
        responder,
        notifier,
        opened: std::sync::Mutex::default(),
    };
    let alerts = tokio::spawn(writer.run(findings_rx));
    Ok(Detector { rules: rules_rx, events: events_tx, engine, alerts })
}

/// How often the threat-intelligence lists are looked at when no events come (they are also
/// looked at before each batch, so that a batch sees the lists as they were when it came).
const LIST_POLL: Duration = Duration::from_secs(2);

/// The engine thread's threat-intelligence lists, and where it publishes the rule set an edit
/// of them recompiles into.
struct Reloads {
    intel: ThreatIntel,
    in_force: watch::Sender<Arc<RuleSet>>,
}

fn run_engine(
    mut scanner: Scanner,
    mut reloads: Reloads,
    mut events: mpsc::Receiver<Batch>,
    findings: mpsc::Sender<Vec<Finding>>,
    state_path: &Path,
    metrics: &Metrics,
    runtime: tokio::runtime::Handle,
) {
    let mut saved = Instant::now();
    let mut unsaved = false;
    loop {
        let next = runtime.block_on(async { tokio::time::timeout(LIST_POLL, events.recv()).await });
        if let Some(rules) = reloads.intel.reload(metrics) {
            // The windows carry over: a list change does not reset a brute-force count. The
            // search of stored events by rule uses the new set from now on too.
            let rules = Arc::new(rules);
            reloads.in_force.send_replace(Arc::clone(&rules));
            scanner = scanner.with_rules(rules);
        }
        let batch = match next {
            Ok(Some(batch)) => batch,
            Ok(None) => break,
            Err(_) => Vec::new(),
        };
        for (received, doc) in &batch {
            match Event::from_json(doc.as_bytes(), *received) {
                Ok(event) => scanner.feed_event(&event, doc),
                Err(error) => {
                    tracing::warn!(%error, "A stored event does not read as an event; detection skipped it.")
                }
            }
        }
        metrics.events_scanned.add(batch.len() as u64);
        unsaved |= !batch.is_empty();
        let found = scanner.take_findings();
        if !found.is_empty() && findings.blocking_send(found).is_err() {
            tracing::error!("The alert writer stopped; findings are lost.");
        }
        if unsaved && saved.elapsed() > Duration::from_secs(60) {
            save(&scanner, state_path);
            saved = Instant::now();
            unsaved = false;
        }
    }
    scanner.sweep();
    let found = scanner.take_findings();
    if !found.is_empty() {
        let _ = findings.blocking_send(found);
    }
    save(&scanner, state_path);
}

/// Writes the engine's state atomically: a temporary file, synced, renamed over the old one.
fn save(scanner: &Scanner, path: &Path) {
    let temp = path.with_extension("json.tmp");
    let written = serde_json::to_vec(&scanner.snapshot())
        .map_err(std::io::Error::other)
        .and_then(|bytes| {
            use std::io::Write;
            let mut file = std::fs::File::create(&temp)?;
            file.write_all(&bytes)?;
            file.sync_all()
        })
        .and_then(|()| std::fs::rename(&temp, path));
    if let Err(error) = written {
        tracing::warn!(%error, "Could not save the detection state.");
    }
}

/// Turns findings into alerts, and alerts into incidents by the policy.
struct AlertWriter {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    policy: IncidentsConfig,
    suppression: SignedDuration,
    suppressions: Arc<Suppressions>,
    /// Runs the matching playbooks on the incident an alert joins.
    responder: Option<Arc<crate::response::Responder>>,
    /// Told of each incident opened, to route notifications.
    notifier: Option<Arc<crate::notify::Notifier>>,
    /// Per rule, its latest incidents opened and when (at most `wave_after`, the last hour):
    /// how a wave is told apart, and which incident it joins (found here, not by a search of
    /// the rule's alerts, which a wave makes longer with every alert). Kept in memory: after a
    /// restart a wave opens up to `wave_after` more incidents before folding again.
    opened: std::sync::Mutex<HashMap<String, std::collections::VecDeque<(Timestamp, i64)>>>,
}

/// The span in which `wave_after` incidents of one rule make a wave.
const WAVE_SPAN: SignedDuration = SignedDuration::from_hours(1);

impl AlertWriter {
    /// When `rule` has opened `wave_after` incidents within [`WAVE_SPAN`] before `now`: the
    /// newest of them.
    fn wave_incident(&self, rule: &str, now: Timestamp) -> Option<i64> {
        let limit = self.policy.wave_after as usize;
        let mut opened = self.opened.lock().ok()?;
        let times = opened.get_mut(rule)?;
        while times.front().is_some_and(|(at, _)| *at < now - WAVE_SPAN) {
            times.pop_front();
        }
        (limit > 0 && times.len() >= limit).then(|| times.back().map(|(_, id)| *id)).flatten()
    }

    fn note_opened(&self, rule: &str, incident: i64, now: Timestamp) {
        let limit = self.policy.wave_after as usize;
        if limit == 0 {
            return;
        }
        if let Ok(mut opened) = self.opened.lock() {
            let times = opened.entry(rule.to_owned()).or_default();
            times.push_back((now, incident));
            while times.len() > limit {
                times.pop_front();
            }
        }
    }

    async fn run(self, mut findings: mpsc::Receiver<Vec<Finding>>) {
        while let Some(batch) = findings.recv().await {
            if let Err(error) = self.handle(batch).await {
                tracing::error!(%error, "Could not record alerts.");
            }
        }
    }

    /// One batch of firings (what the engine found in one batch of events): the alerts are
    /// recorded in one transaction and linked to their incidents in another, so that a wave of
    /// firings costs two commits, not two per firing; then the playbooks run, alert by alert.
    async fn handle(&self, batch: Vec<Finding>) -> Result<(), firebreak_store::StoreError> {
        let AlertWriter {
            store,
            clock,
            metrics,
            policy,
            suppression,
            suppressions,
            responder,
            notifier,
            opened: _,
        } = self;
        let (store, clock, suppression) = (&**store, &**clock, *suppression);
        let mut news = Vec::with_capacity(batch.len());
        for finding in batch {
            let group: serde_json::Map<String, serde_json::Value> =
                finding.group.into_iter().map(|(k, v)| (k, serde_json::Value::String(v))).collect();
            let new = NewAlert {
                rule_id: finding.rule_id.to_string(),
                title: finding.title.to_string(),
                severity: finding.severity,
                group,
                count: finding.count,
                first_seen: finding.first_seen,
                last_seen: finding.last_seen,
                tags: finding.tags.to_vec(),
                sample: finding.sample,
            };
            if let Some(id) = suppressions.covering(&new.rule_id, &new.group) {
                metrics.alerts_suppressed.add(1);
                tracing::debug!(rule = %new.rule_id, suppression = id, "A firing was suppressed.");
                continue;
            }
            news.push(new);
        }
        if news.is_empty() {
            return Ok(());
        }
        let now = clock.now();
        let recorded = store.record_alerts(&news, suppression, now).await?;
        // Incidents chosen earlier in this batch, by (rule, group or none): their links are not
        // stored yet, so the store's search would not find them.
        let mut chosen: HashMap<(String, Option<String>), i64> = HashMap::new();
        // Wave incidents already found open in this batch (one read each, not one per alert).
        let mut open_waves = std::collections::HashSet::new();
        let mut links = Vec::new();
        let mut joined = Vec::new();
        for (alert, created) in recorded {
            if !created {
                continue;
            }
            metrics.alerts_created.add(1);
            let describe: Vec<String> = alert
                .group
                .iter()
                .map(|(k, v)| format!("{k} {}", v.as_str().unwrap_or_default()))
                .collect();
            let describe = describe.join(", ");
            tracing::info!(rule = %alert.rule_id, group = %describe, count = alert.count, "A rule fired.");
            if !policy.from_alerts
                || alert.severity > policy.min_severity
                || alert.incident_id.is_some()
            {
                continue;
            }
            let key = match policy.group_by {
                IncidentGrouping::Group => Some(firebreak_core::alert::group_key(&alert.group)),
                IncidentGrouping::Rule => None,
            };
            let mut joins = chosen.get(&(alert.rule_id.clone(), key.clone())).copied();
            if joins.is_none() {
                joins = store.open_incident_for(&alert.rule_id, key.as_deref()).await?;
            }
            if joins.is_none()
                && key.is_some()
                && let Some(newest) = self.wave_incident(&alert.rule_id, now)
            {
                // The wave's newest incident, unless it was closed meanwhile (then the alert
                // opens one: a wave that outlives its incident is news).
                if open_waves.contains(&newest)
                    || store.get_incident(newest).await?.status.is_open()
                {
                    open_waves.insert(newest);
                    joins = Some(newest);
                }
            }
            let (incident_id, opened) = match joins {
                Some(id) => (id, false),
                None => {
                    let incident = store
                        .create_incident(
                            &NewIncident {
                                title: format!("{}: {describe}", alert.title)
                                    .chars()
                                    .take(200)
                                    .collect(),
                                summary: format!(
                                    "Opened by firebreak from alert {} (rule {}).",
                                    alert.id, alert.rule_id
                                ),
                                severity: alert.severity,
                                drill: false,
                            },
                            "firebreak",
                            now,
                        )
                        .await?;
                    metrics.incidents_opened.add(1);
                    self.note_opened(&alert.rule_id, incident.id, now);
                    tracing::info!(incident_id = incident.id, rule = %alert.rule_id, "An incident was opened from an alert.");
                    if let Some(notifier) = notifier {
                        let summary = format!("Opened by detection: {} ({describe}).", alert.title);
                        notifier.spawn_incident_event(
                            incident.id,
                            incident.severity,
                            "incident_opened",
                            summary,
                        );
                    }
                    (incident.id, true)
                }
            };
            chosen.insert((alert.rule_id.clone(), key), incident_id);
            let entry = NewEntry {
                kind: EntryKind::AlertLinked,
                occurred_at: alert.first_seen,
                actor: "firebreak".into(),
                summary: format!(
                    "Alert {}: {} ({describe}, {} events)",
                    alert.id, alert.title, alert.count
                ),
                data: serde_json::json!({
                    "alert_id": alert.id,
                    "rule_id": alert.rule_id,
                    "group": alert.group,
                    "count": alert.count,
                    "first_seen": alert.first_seen,
                    "last_seen": alert.last_seen,
                    "tags": alert.tags,
                    "sample": alert.sample,
                }),
            };
            links.push((alert.id, incident_id, entry));
            joined.push((alert, incident_id, opened));
        }
        if links.is_empty() {
            return Ok(());
        }
        store.link_alerts(links).await?;
        if let Some(responder) = responder {
            for (mut alert, incident_id, opened) in joined {
                // Read afresh for each alert: the previous one's playbook may have moved it on.
                let incident = store.get_incident(incident_id).await?;
                alert.incident_id = Some(incident_id);
                responder.on_alert(&incident, &alert, opened).await;
            }
        }
        Ok(())
    }
}
