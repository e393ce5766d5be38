//! Configuration: a TOML file, then `FIREBREAK_*` environment variables over it
//! (`FIREBREAK_DATABASE`, `FIREBREAK_SERVER__LISTEN`: sections joined by a double underscore).
//! Unknown keys are rejected with their name and where they came from.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// Environment variables with the `FIREBREAK_` prefix that are not configuration keys: the
/// client's server address and token, the config file's own path, and test switches.
const NOT_CONFIG: &[&str] = &["url", "token", "config", "test_postgres", "log"];

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// `sqlite://PATH` (the default, one file) or `postgres://USER@HOST/DB`.
    pub database: String,
    /// Where the ingest spool lives. Acknowledged events are durable here before they reach
    /// the database.
    pub data_dir: PathBuf,
    pub server: ServerConfig,
    pub ingest: IngestConfig,
    pub obligations: ObligationsConfig,
    pub evidence: EvidenceConfig,
    pub detection: DetectionConfig,
    pub incidents: IncidentsConfig,
    pub sources: crate::sources::SourcesConfig,
    pub response: ResponseConfig,
    pub notify: crate::notify::NotifyConfig,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            database: "sqlite://firebreak.db".into(),
            data_dir: PathBuf::from("firebreak-data"),
            server: ServerConfig::default(),
            ingest: IngestConfig::default(),
            obligations: ObligationsConfig::default(),
            evidence: EvidenceConfig::default(),
            detection: DetectionConfig::default(),
            incidents: IncidentsConfig::default(),
            sources: crate::sources::SourcesConfig::default(),
            response: ResponseConfig::default(),
            notify: crate::notify::NotifyConfig::default(),
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("database", &firebreak_store::redact_url(&self.database))
            .field("data_dir", &self.data_dir)
            .field("server", &self.server)
            .field("ingest", &self.ingest)
            .field("obligations", &self.obligations)
            .field("evidence", &self.evidence)
            .field("detection", &self.detection)
            .field("incidents", &self.incidents)
            .field("sources", &self.sources)
            .field("response", &self.response)
            .field("notify", &self.notify)
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// Seconds to wait for requests in flight at shutdown.
    pub shutdown_grace_secs: u64,
}

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        ServerConfig { listen: SocketAddr::from(([127, 0, 0, 1], 8080)), shutdown_grace_secs: 30 }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestConfig {
    /// The largest request body accepted on `/api/v1/events`, after decompression.
    pub max_body_bytes: usize,
    /// The largest single event (one NDJSON line, or one array item).
    pub max_event_bytes: usize,
    /// Rows per database transaction when moving events from the spool to the store.
    pub drain_batch: usize,
    /// How far (in events) the store may fall behind the spool before ingest answers 503 with
    /// `Retry-After`, so that senders hold their events instead of the spool filling the disk
    /// under an overload that never ends. 0 sets no limit.
    pub max_backlog_events: u64,
    /// Stored events are kept this many days after they were received, then deleted (evidence
    /// captured into an incident is a copy and stays). 0 keeps them forever.
    pub retention_days: u32,
}

impl Default for IngestConfig {
    fn default() -> IngestConfig {
        IngestConfig {
            max_body_bytes: 16 << 20,
            max_event_bytes: 1 << 20,
            drain_batch: 20_000,
            // About 2 GB of spool at a typical 400 bytes an event; minutes of the heaviest burst.
            max_backlog_events: 5_000_000,
            retention_days: 90,
        }
    }
}

/// Live detection on ingested events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectionConfig {
    pub enabled: bool,
    /// Load the built-in rule pack.
    pub builtin_rules: bool,
    /// Directories of Sigma rules to load as well.
    pub rules: Vec<PathBuf>,
    /// Threat-intelligence lists: one address or CIDR range per line. Read again when they
    /// change; a changed list that does not read keeps its old entries.
    pub threat_intel: Vec<PathBuf>,
    /// Addresses, ranges and `user:NAME` lines that never raise an alert.
    pub allow: Option<PathBuf>,
    /// One alert per rule and group in this many seconds; later firings update its count.
    pub suppression_secs: u64,
    /// How late (seconds, by event time) an event may arrive and still count in its window.
    pub lateness_secs: u64,
}

impl Default for DetectionConfig {
    fn default() -> DetectionConfig {
        DetectionConfig {
            enabled: true,
            builtin_rules: true,
            rules: Vec::new(),
            threat_intel: Vec::new(),
            allow: None,
            suppression_secs: 3600,
            lateness_secs: 120,
        }
    }
}

/// Response: playbooks, containment decisions and their enforcement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ResponseConfig {
    /// Run the matching playbooks on incidents opened (or joined) by alerts.
    pub playbooks_enabled: bool,
    /// Load the shipped playbooks.
    pub builtin_playbooks: bool,
    /// Directories of playbook files (`*.yml`, `*.yaml`) to load as well.
    pub playbooks: Vec<PathBuf>,
    /// Addresses and ranges that are never banned, whatever a rule, a playbook or a person
    /// says (the administrators' own, the office, the load balancers). The addresses of
    /// `[detection] allow` are never banned either.
    pub never_ban: Vec<String>,
    /// The first ban of an address, in seconds, when the playbook or person gives none.
    pub ban_secs: u64,
    /// Each earlier ban of the same target multiplies the next one by this.
    pub repeat_multiplier: u32,
    /// No ban lasts longer (seconds).
    pub max_ban_secs: u64,
    /// IPv6 offenders are banned as their /N (64: one subscriber; 128: the address alone).
    pub ipv6_prefix: u8,
    pub nftables: NftablesConfig,
    /// HTTP calls to the app's own admin API that enforce decisions (`[[response.actions]]`).
    pub actions: Vec<crate::response::actions::HttpActionConfig>,
}

impl Default for ResponseConfig {
    fn default() -> ResponseConfig {
        ResponseConfig {
            playbooks_enabled: true,
            builtin_playbooks: true,
            playbooks: Vec::new(),
            never_ban: Vec::new(),
            ban_secs: 4 * 3600,
            repeat_multiplier: 2,
            max_ban_secs: 30 * 86_400,
            ipv6_prefix: 64,
            nftables: NftablesConfig::default(),
            actions: Vec::new(),
        }
    }
}

/// Bans applied directly with nftables, for hosts without a bouncer: firebreak keeps its own
/// table with two sets (IPv4, IPv6) whose elements time out with their decisions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NftablesConfig {
    pub enabled: bool,
    /// The `inet` table firebreak owns (created at start, never someone else's).
    pub table: String,
    /// Also add an input chain that drops traffic from the sets (otherwise only the sets are
    /// kept, for rules of your own to use).
    pub drop_chain: bool,
}

impl Default for NftablesConfig {
    fn default() -> NftablesConfig {
        NftablesConfig { enabled: false, table: "firebreak".into(), drop_chain: true }
    }
}

/// The incident policy: which alerts open incidents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IncidentsConfig {
    /// Open an incident from an alert (or add the alert to the open incident of the same rule
    /// and group).
    pub from_alerts: bool,
    /// Only alerts at least this severe (SEV1 is the most severe).
    pub min_severity: firebreak_core::Severity,
    /// Which open incident an alert joins: `group` (default) — the one holding the same rule
    /// for the same group (address, user); `rule` — the one holding the same rule, whatever the
    /// group, so that a distributed wave (a thousand addresses stuffing credentials) is one
    /// incident, not a thousand.
    pub group_by: IncidentGrouping,
    /// With `group_by = "group"`: once one rule has opened this many incidents in the last hour,
    /// its further alerts join that rule's newest open incident instead of opening their own,
    /// so that a wave over a hundred thousand addresses is a handful of incidents, not a hundred
    /// thousand (each alert is still recorded, and each joining alert still runs the playbooks).
    /// 0 never folds.
    pub wave_after: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentGrouping {
    Group,
    Rule,
}

impl Default for IncidentsConfig {
    fn default() -> IncidentsConfig {
        IncidentsConfig {
            from_alerts: true,
            min_severity: firebreak_core::Severity::Sev3,
            group_by: IncidentGrouping::Group,
            wave_after: 20,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvidenceConfig {
    /// The largest piece of evidence accepted (an upload, or a capture of events), in bytes.
    /// Evidence is kept under `data_dir/evidence`.
    pub max_bytes: u64,
}

impl Default for EvidenceConfig {
    fn default() -> EvidenceConfig {
        EvidenceConfig { max_bytes: 1 << 30 }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ObligationsConfig {
    /// When to remind before a notification deadline: `"50%"` of the time between the clock's
    /// start and the deadline, or a span before it such as `"24h"` or `"90m"`.
    pub reminders: Vec<String>,
}

impl Default for ObligationsConfig {
    fn default() -> ObligationsConfig {
        ObligationsConfig { reminders: vec!["50%".into(), "24h".into(), "1h".into()] }
    }
}

impl ObligationsConfig {
    pub fn plan(&self) -> Result<Vec<firebreak_comply::Reminder>, ConfigError> {
        self.reminders
            .iter()
            .map(|text| {
                if let Some(percent) = text.strip_suffix('%') {
                    return match percent.trim().parse::<u8>() {
                        Ok(p) if (1..=99).contains(&p) => Ok(firebreak_comply::Reminder::Elapsed(p)),
                        _ => Err(ConfigError(format!(
                            "key `obligations.reminders`: `{text}` is not a percentage between 1% and 99%"
                        ))),
                    };
                }
                match text.parse::<jiff::SignedDuration>() {
                    Ok(span) if span.is_positive() => Ok(firebreak_comply::Reminder::Before(span)),
                    _ => Err(ConfigError(format!(
                        "key `obligations.reminders`: `{text}` is neither a percentage (\"50%\") nor a span before the deadline (\"24h\")"
                    ))),
                }
            })
            .collect()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct ConfigError(String);

impl Config {
    /// Reads the file (if given) and the environment over the defaults.
    pub fn load(file: Option<&Path>, env: &[(String, String)]) -> Result<Config, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            if !path.exists() {
                return Err(ConfigError(format!("the file {} does not exist", path.display())));
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        // Read the environment given, not the process's, so that callers and tests control it.
        figment = figment.merge(EnvSnapshot { pairs: env.to_vec() });
        let config: Config = figment.extract().map_err(|error| ConfigError(describe(error)))?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.ingest.max_event_bytes == 0
            || self.ingest.max_event_bytes > self.ingest.max_body_bytes
        {
            return Err(ConfigError(
                "`ingest.max_event_bytes` must be between 1 and `ingest.max_body_bytes`".into(),
            ));
        }
        if self.ingest.drain_batch == 0 {
            return Err(ConfigError("`ingest.drain_batch` must be at least 1".into()));
        }
        self.obligations.plan()?;
        self.sources.validate().map_err(ConfigError)?;
        self.notify.validate().map_err(ConfigError)?;
        Ok(())
    }
}

fn describe(error: figment::Error) -> String {
    let mut out = Vec::new();
    for error in error {
        let mut text = match &error.kind {
            figment::error::Kind::UnknownField(field, _) => {
                let mut path = error.path.clone();
                if path.last() != Some(field) {
                    path.push(field.clone());
                }
                format!("unknown key `{}`", path.join("."))
            }
            _ => {
                let key = error.path.join(".");
                if key.is_empty() {
                    error.kind.to_string()
                } else {
                    format!("key `{key}`: {}", error.kind)
                }
            }
        };
        if let Some(metadata) = &error.metadata {
            match &metadata.source {
                Some(source) => text.push_str(&format!(" (in {} {source})", metadata.name)),
                None => text.push_str(&format!(" (in {})", metadata.name)),
            }
        }
        out.push(text);
    }
    out.join("; ")
}

/// An environment provider over a given list of variables.
struct EnvSnapshot {
    pairs: Vec<(String, String)>,
}

impl figment::Provider for EnvSnapshot {
    fn metadata(&self) -> figment::Metadata {
        figment::Metadata::named("environment variable")
    }

    fn data(
        &self,
    ) -> Result<figment::value::Map<figment::Profile, figment::value::Dict>, figment::Error> {
        let mut dict = figment::value::Dict::new();
        for (name, value) in &self.pairs {
            let Some(rest) = name.strip_prefix("FIREBREAK_") else { continue };
            let key = rest.to_ascii_lowercase();
            if NOT_CONFIG.contains(&key.as_str()) || key.starts_with("test_") {
                continue;
            }
            let path: Vec<&str> = key.split("__").collect();
            let parsed: figment::value::Value =
                value.parse().unwrap_or_else(|_| value.clone().into());
            insert_path(&mut dict, &path, parsed);
        }
        Ok(figment::Profile::Default.collect(dict))
    }
}

fn insert_path(dict: &mut figment::value::Dict, path: &[&str], value: figment::value::Value) {
    match path {
        [] => {}
        [last] => {
            dict.insert((*last).to_owned(), value);
        }
        [head, rest @ ..] => {
            let entry = dict
                .entry((*head).to_owned())
                .or_insert_with(|| figment::value::Dict::new().into());
            if let figment::value::Value::Dict(_, inner) = entry {
                insert_path(inner, rest, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn the_environment_overrides_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("firebreak.toml");
        std::fs::write(
            &path,
            "database = \"sqlite://a.db\"\n[server]\nlisten = \"127.0.0.1:9000\"\n",
        )
        .unwrap();
        let config = Config::load(
            Some(&path),
            &env(&[
                ("FIREBREAK_SERVER__LISTEN", "0.0.0.0:9100"),
                ("FIREBREAK_TOKEN", "x"),
                ("FIREBREAK_TEST_POSTGRES", "y"),
                ("HOME", "/"),
            ]),
        )
        .unwrap();
        assert_eq!(config.database, "sqlite://a.db");
        assert_eq!(config.server.listen, "0.0.0.0:9100".parse().unwrap());
    }

    #[test]
    fn unknown_keys_are_named_with_their_source() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("firebreak.toml");
        std::fs::write(&path, "[server]\nlisten = \"127.0.0.1:9000\"\nlissen = 1\n").unwrap();
        let error = Config::load(Some(&path), &[]).unwrap_err().to_string();
        assert!(error.contains("unknown key `server.lissen`"), "{error}");
        assert!(error.contains("firebreak.toml"), "{error}");

        let error = Config::load(None, &env(&[("FIREBREAK_INGEST__MAX_BODY", "5")]))
            .unwrap_err()
            .to_string();
        assert!(error.contains("unknown key `ingest.max_body`"), "{error}");
        assert!(error.contains("environment variable"), "{error}");

        let error = Config::load(None, &env(&[("FIREBREAK_SERVER__LISTEN", "not an address")]))
            .unwrap_err()
            .to_string();
        assert!(error.contains("server.listen"), "{error}");
    }

    #[test]
    fn reminder_plans_are_checked() {
        let config = Config::load(None, &env(&[])).unwrap();
        assert_eq!(config.obligations.plan().unwrap().len(), 3);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("firebreak.toml");
        std::fs::write(&path, "[obligations]\nreminders = [\"75%\", \"2h 30m\"]\n").unwrap();
        assert_eq!(Config::load(Some(&path), &[]).unwrap().obligations.plan().unwrap().len(), 2);
        std::fs::write(&path, "[obligations]\nreminders = [\"soon\"]\n").unwrap();
        let error = Config::load(Some(&path), &[]).unwrap_err().to_string();
        assert!(error.contains("obligations.reminders") && error.contains("soon"), "{error}");
    }

    #[test]
    fn file_sources_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("firebreak.toml");
        std::fs::write(
            &path,
            "[[sources.file]]\npath = \"/var/log/auth.log\"\nformat = \"syslog\"\n\n[[sources.file]]\npath = \"/var/log/nginx/access.log\"\nstart = \"beginning\"\n",
        )
        .unwrap();
        let config = Config::load(Some(&path), &[]).unwrap();
        let files = &config.sources.file;
        assert_eq!(files.len(), 2);
        assert_eq!(files[0].format, crate::sources::FileFormat::Syslog);
        assert_eq!(files[0].start, crate::sources::Start::End);
        assert_eq!(files[1].format, crate::sources::FileFormat::Auto);
        assert_eq!(files[1].start, crate::sources::Start::Beginning);

        let bad = [
            ("path = \"/a\"\nformt = \"syslog\"\n", "unknown key `sources.file.0.formt`"),
            ("path = \"/a\"\nformat = \"csv\"\n", "csv"),
            ("path = \"/a\"\nstart = \"middle\"\n", "middle"),
            ("format = \"json\"\n", "path"),
            ("path = \"/a\"\n\n[[sources.file]]\npath = \"/a\"\n", "listed twice"),
        ];
        for (text, want) in bad {
            std::fs::write(&path, format!("[[sources.file]]\n{text}")).unwrap();
            let error = Config::load(Some(&path), &[]).unwrap_err().to_string();
            assert!(error.contains(want), "{text}: {error}");
        }
    }

    #[test]
    fn the_database_password_never_shows_in_debug() {
        let config = Config { database: "postgres://fb:hunter2@db/fb".into(), ..Config::default() };
        assert!(!format!("{config:?}").contains("hunter2"));
    }
}
