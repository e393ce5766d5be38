//! `cargo xtask conformance`: scores firebreak's parsers against fail2ban's annotated test logs
//! (`../shared/corpora/fail2ban/logs`, read at run time, never copied), the way fail2ban's own
//! `samplestestcase.py` scores its filters: per line, does it match, and on a match, do host,
//! time and user agree.
//!
//! "Match" means: the line parses into an event that the fail2ban filter of the same name would
//! count as a failure. The mapping from our events to that decision is written here, in our own
//! words, from the log formats; fail2ban's multi-line sshd behaviour (a failure without an
//! address waits for the connection's address; `Accepted` after several user names is a
//! failure) is emulated per sshd pid, because several annotations depend on it.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use firebreak_detect::parse::sshd::{self, SshKind, SshMessage};
use firebreak_detect::parse::syslog::{SyslogLine, SyslogParser};
use firebreak_detect::parse::web_error::{WebErrorKind, WebErrorParser, WebErrorRecord};
use firebreak_detect::parse::{access, normalise_address};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde_json::{Map, Value};

/// fail2ban's test "now": 2005-08-14 10:00:00 UTC.
const NOW: i64 = 1_124_013_600;
/// fail2ban's test time zone.
const TZ: &str = "CET-01CEST-02,M3.5.0,M10.5.0";
const FILES: [&str; 5] =
    ["sshd", "nginx-http-auth", "nginx-botsearch", "apache-auth", "apache-noscript"];

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let corpus = match args.iter().position(|a| a == "--corpus") {
        Some(i) => PathBuf::from(args.get(i + 1).context("--corpus needs a directory")?),
        None => repository_root()?.join("../shared/corpora/fail2ban/logs"),
    };
    if !corpus.is_dir() {
        bail!(
            "the fail2ban corpus is missing: {} is not a directory (expected ../shared/corpora/fail2ban/logs beside the repository, or pass --corpus DIR)",
            corpus.display()
        );
    }
    let zone = TimeZone::posix(TZ).context("the test time zone")?;
    check_zone(&zone)?;
    let now = Timestamp::from_second(NOW)?;
    let mut rows = Vec::new();
    for name in FILES {
        let path = corpus.join(name);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let mut scorer = Scorer::new(name, zone.clone(), now);
        scorer.file(&text, &corpus)?;
        rows.extend(scorer.finish());
    }
    print_table(&rows);
    through_rules(&corpus)?;
    sigma(&repository_root()?)?;
    Ok(())
}

/// The directory holding the workspace `Cargo.toml`.
fn repository_root() -> anyhow::Result<PathBuf> {
    let xtask = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = xtask.parent().context("xtask has no parent directory")?;
    Ok(root.to_path_buf())
}

/// The POSIX rule must agree with the Paris rules for the corpus years.
fn check_zone(zone: &TimeZone) -> anyhow::Result<()> {
    for (local, utc) in
        [("2005-06-21T16:47:48", 1_119_365_268), ("2004-11-11T23:33:27", 1_100_212_407)]
    {
        let dt: jiff::civil::DateTime = local.parse()?;
        let got = zone.to_ambiguous_timestamp(dt).compatible()?.as_second();
        if got != utc {
            bail!("time zone {TZ} reads {local} as {got}, expected {utc}");
        }
    }
    Ok(())
}

#[derive(Debug, Default, Clone)]
struct Row {
    name: String,
    tp: u32,
    fp: u32,
    false_negative: u32,
    tn: u32,
    host: (u32, u32),
    time: (u32, u32),
    user: (u32, u32),
    skipped: u32,
    /// `users` annotations (sshd multi-line sessions): agreeing/checked.
    users: (u32, u32),
    /// `attempts` annotations seen (not scored: they count fail2ban's tickets, not lines).
    attempts: u32,
    misses: Vec<String>,
}

impl Row {
    fn total(&self) -> u32 {
        self.tp + self.fp + self.false_negative + self.tn
    }
}

fn pct(good: u32, all: u32) -> String {
    if all == 0 {
        "-".to_owned()
    } else {
        format!("{:.1}%", f64::from(good) * 100.0 / f64::from(all))
    }
}

fn print_table(rows: &[Row]) {
    println!("fail2ban corpus conformance (now = {NOW}, TZ = {TZ})");
    println!(
        "{:<34} {:>5} {:>4} {:>4} {:>4} {:>4} {:>8} {:>13} {:>13} {:>9} {:>5}",
        "file [options]", "lines", "TP", "FP", "FN", "TN", "match", "host", "time", "user", "skip"
    );
    let mut total = Row { name: "TOTAL".into(), ..Row::default() };
    for row in rows {
        print_row(row);
        total.tp += row.tp;
        total.fp += row.fp;
        total.false_negative += row.false_negative;
        total.tn += row.tn;
        total.host.0 += row.host.0;
        total.host.1 += row.host.1;
        total.time.0 += row.time.0;
        total.time.1 += row.time.1;
        total.user.0 += row.user.0;
        total.user.1 += row.user.1;
        total.skipped += row.skipped;
        total.users.0 += row.users.0;
        total.users.1 += row.users.1;
        total.attempts += row.attempts;
    }
    print_row(&total);
    println!(
        "multi-line sshd sessions, scored separately: `users` {}/{} agree; {} `attempts` annotations not scored (they count fail2ban tickets).",
        total.users.0, total.users.1, total.attempts
    );
    println!(
        "\nmatch = (TP+TN)/lines; host/time/user = agreeing/checked on true positives; skip = annotations whose constraint was false."
    );
    for row in rows {
        for miss in &row.misses {
            println!("  {}: {miss}", row.name);
        }
    }
}

fn print_row(row: &Row) {
    let frac = |(good, all): (u32, u32)| format!("{good}/{all} {}", pct(good, all));
    println!(
        "{:<34} {:>5} {:>4} {:>4} {:>4} {:>4} {:>8} {:>13} {:>13} {:>9} {:>5}",
        row.name,
        row.total(),
        row.tp,
        row.fp,
        row.false_negative,
        row.tn,
        pct(row.tp + row.tn, row.total()),
        frac(row.host),
        frac(row.time),
        frac(row.user),
        row.skipped
    );
}

/// Options of one filter variant (`mode`, `logtype`, `logging`).
type Options = Map<String, Value>;

/// What our parsers say about one line, seen as fail2ban's filter would see it.
#[derive(Debug, Clone, PartialEq)]
struct Verdict {
    host: String,
    time: Option<i64>,
    user: Option<String>,
    /// Every user the connection tried so far (sshd), sorted.
    users: Vec<String>,
}

struct Scorer {
    name: &'static str,
    zone: TimeZone,
    now: Timestamp,
    /// One state per option set in force; rows keyed by the options' text.
    variants: Vec<(Options, Variant)>,
    rows: Vec<Row>,
    file_options: Options,
}

struct Variant {
    syslog: SyslogParser,
    web: WebErrorParser,
    sessions: HashMap<String, Session>,
}

impl Scorer {
    fn new(name: &'static str, zone: TimeZone, now: Timestamp) -> Scorer {
        let mut this = Scorer {
            name,
            zone,
            now,
            variants: Vec::new(),
            rows: Vec::new(),
            file_options: Options::new(),
        };
        this.set_options(vec![Options::new()]);
        this
    }

    fn set_options(&mut self, sets: Vec<Options>) {
        self.variants = sets
            .into_iter()
            .map(|mut options| {
                for (k, v) in &self.file_options {
                    options.entry(k.clone()).or_insert(v.clone());
                }
                options.remove("test.condition");
                let variant = Variant {
                    syslog: SyslogParser::new(self.zone.clone()),
                    web: WebErrorParser::new(self.zone.clone()),
                    sessions: HashMap::new(),
                };
                (options, variant)
            })
            .collect();
    }

    fn row(&mut self, options: &Options, file: &str) -> &mut Row {
        let label = if options.is_empty() {
            file.to_owned()
        } else {
            let parts: Vec<String> =
                options.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("?"))).collect();
            format!("{file} [{}]", parts.join(","))
        };
        match self.rows.iter().position(|r| r.name == label) {
            Some(i) => &mut self.rows[i],
            None => {
                self.rows.push(Row { name: label, ..Row::default() });
                let last = self.rows.len() - 1;
                &mut self.rows[last]
            }
        }
    }

    fn file(&mut self, text: &str, corpus: &Path) -> anyhow::Result<()> {
        self.file_named(text, corpus, self.name)
    }

    fn file_named(&mut self, text: &str, corpus: &Path, file: &str) -> anyhow::Result<()> {
        let mut annotation: Option<Map<String, Value>> = None;
        for (number, line) in text.lines().enumerate() {
            let trimmed = line.trim();
            if let Some(comment) = trimmed.strip_prefix('#') {
                let comment = comment.trim();
                if let Some(json) = comment.strip_prefix("failJSON:") {
                    annotation = Some(
                        parse_object(json)
                            .with_context(|| format!("{file}:{}: bad failJSON", number + 1))?,
                    );
                } else if let Some(json) = comment.strip_prefix("filterOptions:") {
                    let value: Value = serde_json::from_str(json.trim())
                        .with_context(|| format!("{file}:{}", number + 1))?;
                    let sets = match value {
                        Value::Array(items) => {
                            items.into_iter().filter_map(|v| v.as_object().cloned()).collect()
                        }
                        Value::Object(map) => vec![map],
                        _ => vec![Options::new()],
                    };
                    self.set_options(sets);
                } else if let Some(json) = comment.strip_prefix("fileOptions:") {
                    self.file_options = parse_object(json)?;
                    self.file_options.remove("test.condition");
                    self.set_options(vec![Options::new()]);
                } else if let Some(added) = comment.strip_prefix("addFILE:") {
                    let added = added.trim().trim_matches('"');
                    let path = corpus.join(added);
                    let text = std::fs::read_to_string(&path)
                        .with_context(|| format!("cannot read {}", path.display()))?;
                    let saved = std::mem::take(&mut self.file_options);
                    self.file_options = Options::new();
                    self.set_options(vec![Options::new()]);
                    self.file_named(&text, corpus, added)?;
                    self.file_options = saved;
                }
                continue;
            }
            if trimmed.is_empty() {
                continue;
            }
            let expected = annotation.take();
            let line = line.trim_end_matches('\r');
            let mut variants = std::mem::take(&mut self.variants);
            for (options, variant) in &mut variants {
                let verdict = decide(self.name, line, options, variant, self.now);
                let name = self.name;
                let row = self.row(options, file);
                score(row, expected.as_ref(), options, name, verdict.as_ref(), line);
            }
            self.variants = variants;
        }
        Ok(())
    }

    fn finish(self) -> Vec<Row> {
        self.rows
    }
}

fn parse_object(json: &str) -> anyhow::Result<Map<String, Value>> {
    match serde_json::from_str(json.trim())? {
        Value::Object(map) => Ok(map),
        _ => bail!("not a JSON object"),
    }
}

fn score(
    row: &mut Row,
    expected: Option<&Map<String, Value>>,
    options: &Options,
    name: &str,
    verdict: Option<&Verdict>,
    line: &str,
) {
    let want_match = match expected {
        None => false,
        Some(annotation) => {
            if let Some(constraint) = annotation.get("constraint").and_then(Value::as_str)
                && !constraint_holds(constraint, name, options)
            {
                row.skipped += 1;
                return;
            }
            annotation.get("match").and_then(Value::as_bool).unwrap_or(false)
        }
    };
    match (want_match, verdict) {
        (true, Some(verdict)) => {
            row.tp += 1;
            let Some(annotation) = expected else { return };
            if let Some(host) = annotation.get("host").and_then(Value::as_str) {
                row.host.1 += 1;
                if host == verdict.host {
                    row.host.0 += 1;
                } else {
                    row.misses.push(format!("host {} ≠ expected {host}: {line}", verdict.host));
                }
            }
            if let Some(time) = annotation.get("time").and_then(Value::as_str) {
                row.time.1 += 1;
                let want = local_epoch(time);
                if want.is_some() && want == verdict.time {
                    row.time.0 += 1;
                } else {
                    row.misses.push(format!(
                        "time {:?} ≠ expected {time} ({want:?}): {line}",
                        verdict.time
                    ));
                }
            }
            if let Some(Value::Array(users)) = annotation.get("users") {
                let mut want: Vec<&str> = users.iter().filter_map(Value::as_str).collect();
                want.sort_unstable();
                row.users.1 += 1;
                if want == verdict.users.iter().map(String::as_str).collect::<Vec<_>>() {
                    row.users.0 += 1;
                } else {
                    row.misses
                        .push(format!("users {:?} ≠ expected {want:?}: {line}", verdict.users));
                }
            }
            if annotation.contains_key("attempts") {
                row.attempts += 1;
            }
            if let Some(user) = annotation.get("user").and_then(Value::as_str) {
                row.user.1 += 1;
                if verdict.user.as_deref() == Some(user) {
                    row.user.0 += 1;
                } else {
                    row.misses.push(format!("user {:?} ≠ expected {user:?}: {line}", verdict.user));
                }
            }
        }
        (true, None) => {
            row.false_negative += 1;
            row.misses.push(format!("FN: {line}"));
        }
        (false, Some(_)) => {
            row.fp += 1;
            row.misses.push(format!("FP: {line}"));
        }
        (false, None) => row.tn += 1,
    }
}

fn local_epoch(text: &str) -> Option<i64> {
    let dt: jiff::civil::DateTime = text.parse().ok()?;
    let zone = TimeZone::posix(TZ).ok()?;
    Some(zone.to_ambiguous_timestamp(dt).compatible().ok()?.as_second())
}

/// The few constraint forms the corpus uses: `name == 'x'`, `opts.get('k') == 'v'`, `!=`.
fn constraint_holds(constraint: &str, name: &str, options: &Options) -> bool {
    let (lhs, rhs, equal) = if let Some((l, r)) = constraint.split_once("==") {
        (l, r, true)
    } else if let Some((l, r)) = constraint.split_once("!=") {
        (l, r, false)
    } else {
        return true;
    };
    let value = |text: &str| -> Option<String> {
        let text = text.trim();
        if text == "name" {
            return Some(name.to_owned());
        }
        if let Some(key) = text.strip_prefix("opts.get(").and_then(|t| t.strip_suffix(')')) {
            let key = key.trim_matches(|c| c == '\'' || c == '"');
            return options.get(key).and_then(Value::as_str).map(str::to_owned);
        }
        Some(text.trim_matches(|c| c == '\'' || c == '"').to_owned())
    };
    (value(lhs) == value(rhs)) == equal
}

fn decide(
    filter: &str,
    line: &str,
    options: &Options,
    variant: &mut Variant,
    now: Timestamp,
) -> Option<Verdict> {
    let mode = options.get("mode").and_then(Value::as_str).unwrap_or("normal");
    let journal = options.get("logtype").and_then(Value::as_str) == Some("journal");
    match filter {
        "sshd" => sshd_decide(line, mode, journal, variant, now),
        "nginx-http-auth" | "nginx-botsearch" | "apache-auth" | "apache-noscript" => {
            if filter == "nginx-botsearch"
                && let Some(record) = access::parse(line)
            {
                let path = record.target.unwrap_or("");
                let method_ok = matches!(record.method, Some("GET" | "POST" | "HEAD"));
                return (record.status == 404 && method_ok && bot_search_path(path)).then(|| {
                    Verdict {
                        host: normalise_address(record.client).into_owned(),
                        time: Some(record.timestamp.as_second()),
                        user: record.user.map(str::to_owned),
                        users: Vec::new(),
                    }
                });
            }
            let record = variant.web.parse_at(line, now)?;
            let hit = web_decide(filter, mode, &record);
            let client = record.client?;
            hit.then(|| Verdict {
                host: normalise_address(client).into_owned(),
                time: Some(record.timestamp.unwrap_or(now).as_second()),
                user: record.user.map(str::to_owned),
                users: Vec::new(),
            })
        }
        _ => None,
    }
}

fn web_decide(filter: &str, mode: &str, record: &WebErrorRecord<'_>) -> bool {
    use WebErrorKind as K;
    match filter {
        "nginx-http-auth" => {
            let auth =
                matches!(record.kind, K::UserNotFound | K::PasswordMismatch | K::AuthFailure);
            let tls = record.kind == K::TlsFailure;
            match mode {
                "fallback" => tls,
                "aggressive" => auth || tls,
                _ => auth,
            }
        }
        "nginx-botsearch" => {
            record.kind == K::FileNotFound
                && record.request.is_some_and(|request| {
                    let mut parts = request.split(' ');
                    matches!(parts.next(), Some("GET" | "POST" | "HEAD"))
                        && parts.next().is_some_and(bot_search_path)
                })
        }
        "apache-auth" => {
            if mode != "aggressive" && record.module.is_some_and(|m| m.starts_with("evasive")) {
                return false;
            }
            match record.kind {
                K::UserNotFound
                | K::PasswordMismatch
                | K::AuthFailure
                | K::AuthzFailure
                | K::AccessDenied
                | K::WrongAuthScheme
                | K::SniMismatch => true,
                // A stale nonce ("hash is not …") is what an honest client sends after a restart.
                K::DigestInvalid => !record.message.contains("received - hash is not"),
                _ => false,
            }
        }
        "apache-noscript" => match record.kind {
            K::ScriptNotFound => record.path.is_none_or(is_script_path),
            K::FileNotFound => record.path.is_some_and(is_script_path),
            _ => false,
        },
        _ => false,
    }
}

/// Paths that bots probe: webmail, phpMyAdmin, WordPress login, cgi-bin, mysqladmin.
fn bot_search_path(path: &str) -> bool {
    let path = path.strip_prefix('/').unwrap_or(path);
    let path = path.strip_prefix('/').unwrap_or(path);
    let mut rest = path;
    for prefix in ["typo3/", "xampp/", "admin/"] {
        if let Some(after) = rest.strip_prefix(prefix) {
            rest = after;
            break;
        }
    }
    let starts_ci = |prefix: &str| {
        rest.get(..prefix.len()).is_some_and(|head| head.eq_ignore_ascii_case(prefix))
    };
    let admin = rest.starts_with("pma") || starts_ci("phpmyadmin") || starts_ci("myadmin");
    admin
        || [
            "roundcube",
            "mail",
            "extmail",
            "horde",
            "webmail",
            "v-webmail",
            "vwebmail",
            "wp-login.php",
            "wp-signup.php",
            "wp-admin.php",
            "cgi-bin",
            "mysqladmin",
        ]
        .iter()
        .any(|p| path.starts_with(p))
}

/// A path naming a script: PHP (also php4/php5, php-cgi), ASP, EXE, Perl, or under cgi-bin.
fn is_script_path(path: &str) -> bool {
    let word_end =
        |rest: &str| rest.chars().next().is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
    for (at, _) in path.match_indices("php") {
        let rest = &path[at + 3..];
        let rest = rest.strip_prefix(['4', '5']).unwrap_or(rest);
        let rest = rest.strip_prefix(".cgi").or_else(|| rest.strip_prefix("-cgi")).unwrap_or(rest);
        if word_end(rest) {
            return true;
        }
    }
    for suffix in [".asp", ".exe", ".pl"] {
        if path.match_indices(suffix).any(|(at, _)| word_end(&path[at + suffix.len()..])) {
            return true;
        }
    }
    path.match_indices("cgi-bin")
        .any(|(at, _)| at == 0 || !path[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_'))
}

/// fail2ban's per-connection memory for sshd: the address once known, the users tried, and
/// whether a failure is waiting for an address.
#[derive(Debug, Default)]
struct Session {
    host: Option<String>,
    users: BTreeSet<String>,
    pending: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// A failure by itself.
    Fail,
    /// Not a failure, but it gives the connection's address (and may turn into one).
    Helper,
}

fn sshd_role(m: &SshMessage<'_>, mode: &str) -> Option<(Role, bool)> {
    let ddos = matches!(mode, "ddos" | "aggressive");
    let extra = matches!(mode, "extra" | "aggressive");
    let normal_other = matches!(mode, "normal" | "ddos" | "aggressive");
    let detail = m.detail.unwrap_or("");
    Some(match m.kind {
        SshKind::Failed => {
            if m.method == Some("publickey") && !m.invalid_user {
                (Role::Helper, false)
            } else {
                (Role::Fail, false)
            }
        }
        SshKind::Accepted => (Role::Helper, true),
        SshKind::InvalidUser
        | SshKind::PamError
        | SshKind::RootLoginRefused
        | SshKind::UserNotAllowed
        | SshKind::RefusedConnect
        | SshKind::MaxAuthAttempts
        | SshKind::TooManyAuthFailures => (Role::Fail, false),
        SshKind::DisconnectingUser => {
            if detail.starts_with("Change of username or service not allowed") {
                (Role::Fail, true)
            } else if detail.starts_with("Too many authentication failures") {
                return None;
            } else if ddos && m.preauth {
                (Role::Fail, true)
            } else if normal_other {
                (Role::Helper, true)
            } else {
                return None;
            }
        }
        SshKind::PamAuthFailure => (Role::Helper, false),
        SshKind::ReceivedDisconnect => match m.disconnect_code {
            Some(3) if detail.ends_with("Auth fail") => (Role::Fail, true),
            Some(11) => (Role::Helper, true),
            Some(14) if extra && detail.contains("authentication methods available") => {
                (Role::Fail, true)
            }
            _ => return None,
        },
        SshKind::ConnectionClosed | SshKind::ConnectionReset | SshKind::Disconnected => {
            let with_user = m.user.is_some();
            if detail.starts_with("Too many authentication failures") {
                return None;
            }
            let extra_fail = extra && m.kind == SshKind::Disconnected && with_user;
            if (extra_fail || ddos) && m.preauth {
                (Role::Fail, true)
            } else if normal_other {
                (Role::Helper, true)
            } else {
                return None;
            }
        }
        SshKind::NoIdentification | SshKind::BadProtocolVersion | SshKind::PreauthTimeout
            if ddos =>
        {
            (Role::Fail, false)
        }
        SshKind::ProtocolError
            if ddos
                && (detail.starts_with("invalid format")
                    || detail.starts_with("message authentication code incorrect")
                    || detail.starts_with("Connection corrupted")) =>
        {
            (Role::Fail, false)
        }
        SshKind::KexFailure if ddos => {
            let d = detail.strip_prefix("read: ").unwrap_or(detail);
            let d = d.to_ascii_lowercase();
            if d.starts_with("client sent invalid protocol identifier")
                || d.starts_with("connection closed by remote host")
                || d.starts_with("connection reset by peer")
            {
                (Role::Fail, false)
            } else {
                return None;
            }
        }
        SshKind::ReadFailed if ddos && detail.starts_with("Connection reset by peer") => {
            (Role::Fail, true)
        }
        SshKind::ServerTrace if ddos => (Role::Helper, false),
        SshKind::NegotiationFailed if extra => (Role::Fail, false),
        SshKind::ConnectionFrom => (Role::Helper, false),
        _ => return None,
    })
}

fn sshd_decide(
    line: &str,
    mode: &str,
    journal: bool,
    variant: &mut Variant,
    now: Timestamp,
) -> Option<Verdict> {
    let envelope: SyslogLine<'_> = if journal {
        variant.syslog.parse_without_timestamp(line).ok()?
    } else {
        variant.syslog.parse(line, now).ok()?
    };
    if !envelope.program.is_some_and(sshd::is_sshd) {
        return None;
    }
    let message = sshd::parse(envelope.message)?;
    let (role, forget) = sshd_role(&message, mode)?;
    let key = format!(
        "{}|{}|{:?}",
        envelope.host.unwrap_or(""),
        envelope.program.unwrap_or(""),
        envelope.pid
    );
    let user = message.user.map(str::to_owned);
    let mut host = message.address.map(|a| normalise_address(a).into_owned());
    let mut pending = false;
    let mut many_users = false;
    let mut users: Vec<String> = user.iter().cloned().collect();
    match variant.sessions.get_mut(&key) {
        Some(session) => {
            if let Some(user) = &user {
                session.users.insert(user.clone());
            }
            if host.is_none() {
                host = session.host.clone();
            } else {
                session.host = host.clone();
            }
            pending = session.pending;
            many_users = session.users.len() > 1;
            users = session.users.iter().cloned().collect();
        }
        None if !forget || role == Role::Fail => {
            let mut session = Session { host: host.clone(), ..Session::default() };
            session.users.extend(user.clone());
            variant.sessions.insert(key.clone(), session);
        }
        None => {}
    }
    let role = if role == Role::Helper && (pending || many_users) { Role::Fail } else { role };
    let verdict = match (role, &host) {
        (Role::Fail, Some(host)) => {
            if let Some(session) = variant.sessions.get_mut(&key) {
                session.pending = false;
            }
            Some(Verdict {
                host: host.clone(),
                time: Some(envelope.timestamp.unwrap_or(now).as_second()),
                user,
                users,
            })
        }
        (Role::Fail, None) => {
            if let Some(session) = variant.sessions.get_mut(&key) {
                session.pending = true;
            }
            None
        }
        _ => None,
    };
    // A disconnect ends the connection's memory, unless it left a failure waiting for an address.
    if forget && !(role == Role::Fail && host.is_none()) {
        variant.sessions.remove(&key);
    }
    verdict
}

/// Sigma: every rule of the pinned SigmaHQ corpus must load, or be rejected with a precise
/// reason. Prints the counts and the reasons grouped (backticked specifics folded to `…`).
fn sigma(root: &Path) -> anyhow::Result<()> {
    use firebreak_detect::rules::{RuleFile, RuleKind, RuleSet};
    let base = root.join("../shared/corpora/sigma");
    if !base.is_dir() {
        println!("\nSigma corpus missing ({} is not a directory): skipped.", base.display());
        return Ok(());
    }
    let mut paths = Vec::new();
    for dir in ["rules", "rules-emerging-threats", "rules-threat-hunting"] {
        collect_yaml(&base.join(dir), &mut paths)?;
    }
    paths.sort();
    let mut texts = Vec::new();
    for path in &paths {
        let name = path.strip_prefix(&base).unwrap_or(path).display().to_string();
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        texts.push((name, text));
    }
    let files: Vec<RuleFile<'_>> =
        texts.iter().map(|(name, text)| RuleFile { name, text }).collect();
    let lists: HashMap<String, Vec<String>> = HashMap::new();
    let started = std::time::Instant::now();
    let (set, errors) = RuleSet::load_lenient(&files, &lists);
    let elapsed = started.elapsed();
    let failed: BTreeSet<&str> = errors.iter().map(|e| e.file.as_str()).collect();
    let loaded = files.len() - failed.len();
    println!(
        "\nSigma corpus (rules/, rules-emerging-threats/, rules-threat-hunting/): {} files, {} loaded ({:.2}%), {} rejected; {} rules compiled in {:.0} ms",
        files.len(),
        loaded,
        loaded as f64 * 100.0 / files.len().max(1) as f64,
        failed.len(),
        set.rules.len(),
        elapsed.as_secs_f64() * 1000.0
    );
    let ours = set
        .rules
        .iter()
        .filter(|r| match &r.kind {
            RuleKind::Detection { source, .. } => {
                source.category.as_deref() == Some("webserver")
                    || source.service.as_deref() == Some("sshd")
                    || source.service.as_deref() == Some("sudo")
            }
            RuleKind::Correlation(_) => false,
        })
        .count();
    println!("rules for firebreak's own log sources (webserver, sshd, sudo) that evaluate: {ours}");
    // They do evaluate: the whole corpus over 100,000 generated access-log lines.
    let set = std::sync::Arc::new(set);
    let mut scanner =
        firebreak_detect::Scanner::new(set.clone(), firebreak_detect::ScanConfig::default());
    let log = crate::bench_scan::generate_nginx(100_000);
    let now = Timestamp::from_second(1_796_000_000)?;
    let started = std::time::Instant::now();
    let mut hits: HashMap<usize, u64> = HashMap::new();
    for line in log.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        scanner.feed(firebreak_detect::parse::Format::Access, line, now);
        for rule in scanner.last_matches() {
            *hits.entry(*rule).or_default() += 1;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let mut top: Vec<(u64, &str)> = hits
        .iter()
        .filter_map(|(rule, n)| Some((*n, set.rules.get(*rule)?.title.as_str())))
        .collect();
    top.sort_by(|a, b| b.cmp(a));
    let top: Vec<String> = top.iter().take(5).map(|(n, t)| format!("{t} ({n})")).collect();
    println!(
        "the whole corpus over 100,000 generated access-log lines: {} rules matched, {:.0} lines/s; most: {}",
        hits.len(),
        100_000.0 / elapsed,
        top.join("; ")
    );
    let mut groups: HashMap<String, (usize, String)> = HashMap::new();
    for error in &errors {
        let entry = groups.entry(fold_specifics(&error.problem)).or_insert((0, error.to_string()));
        entry.0 += 1;
    }
    let mut groups: Vec<_> = groups.into_iter().collect();
    groups.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.0.cmp(&b.0)));
    println!("reasons for rejection:");
    for (reason, (count, example)) in groups {
        println!("  {count:>4}  {reason}\n        e.g. {example}");
    }
    Ok(())
}

fn collect_yaml(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    if !dir.is_dir() {
        return Ok(());
    }
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_yaml(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "yml" || e == "yaml") {
            out.push(path);
        }
    }
    Ok(())
}

/// `rule `x`: the `y` modifier…` → `rule `…`: the `…` modifier…`, for grouping.
fn fold_specifics(problem: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for c in problem.chars() {
        if c == '`' {
            if inside {
                out.push_str("…`");
            } else {
                out.push('`');
            }
            inside = !inside;
        } else if !inside {
            out.push(c);
        }
    }
    out
}

/// fail2ban's sshd file through the built-in RULES rather than the parsers: a line "matches"
/// when the pack's `ssh_auth_failure` rule (one failed authentication attempt) matched it.
/// Scored where fail2ban's default variant applies (no `mode` other than normal, no journal
/// `logtype`). The two disagree by definition in places, listed below the counts: firebreak
/// counts an `Invalid user` line and the `Failed password for invalid user` that repeats it as
/// one attempt, and ignores a failed public key of an existing user.
fn through_rules(corpus: &Path) -> anyhow::Result<()> {
    use firebreak_detect::engine::{ScanConfig, Scanner};
    use firebreak_detect::parse::{Format, ParseConfig};
    let rules = std::sync::Arc::new(firebreak_detect::pack::builtin_default()?);
    let Some((failure, _)) = rules.rule("ssh_auth_failure") else {
        bail!("the pack has no ssh_auth_failure rule");
    };
    let zone = TimeZone::posix(TZ).context("the test time zone")?;
    let config = ScanConfig {
        parse: ParseConfig { time_zone: zone, ..ParseConfig::default() },
        // The corpus jumps between years; every line must reach the rules.
        lateness: 100 * 365 * 86_400,
        ..ScanConfig::default()
    };
    let mut scanner = Scanner::new(rules.clone(), config);
    let now = Timestamp::from_second(NOW)?;
    let text = std::fs::read_to_string(corpus.join("sshd")).context("cannot read the sshd log")?;
    let (mut tp, mut fp, mut fn_, mut tn) = (0u32, 0u32, 0u32, 0u32);
    let mut applicable = true;
    let mut expected: Option<bool> = None;
    let mut skip_next = false;
    let mut differences = Vec::new();
    for line in text.lines() {
        if let Some(comment) = line.strip_prefix('#') {
            let comment = comment.trim();
            if let Some(json) = comment.strip_prefix("failJSON:") {
                let object = parse_object(json.trim())?;
                skip_next = object.contains_key("constraint");
                expected = Some(object.get("match").and_then(Value::as_bool).unwrap_or(false));
            } else if let Some(json) = comment.strip_prefix("filterOptions:") {
                let value: Value = serde_json::from_str(json.trim()).unwrap_or(Value::Null);
                let sets: Vec<Value> = match value {
                    Value::Array(items) => items,
                    other => vec![other],
                };
                applicable = sets.iter().any(|set| {
                    let mode = set.get("mode").and_then(Value::as_str);
                    matches!(mode, None | Some("normal")) && set.get("logtype").is_none()
                });
            }
            continue;
        }
        if line.trim().is_empty() {
            continue;
        }
        let want = expected.take().unwrap_or(false);
        scanner.feed(Format::Syslog, line.as_bytes(), now);
        if !applicable || std::mem::take(&mut skip_next) {
            continue;
        }
        let got = scanner.last_matches().contains(&failure);
        match (want, got) {
            (true, true) => tp += 1,
            (false, true) => fp += 1,
            (true, false) => fn_ += 1,
            (false, false) => tn += 1,
        }
        if want != got && differences.len() < 12 {
            let short: String = line.chars().take(110).collect();
            differences.push(format!("{} {short}", if got { "FP" } else { "FN" }));
        }
    }
    let total = tp + fp + fn_ + tn;
    println!(
        "\nfail2ban sshd through the built-in rules (ssh_auth_failure, default variant): {total} lines, TP {tp} FP {fp} FN {fn_} TN {tn}, agreement {}",
        pct(tp + tn, total)
    );
    for difference in differences {
        println!("  {difference}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bot_paths_and_script_paths() {
        for path in [
            "//phpmyadmin/setup/index.php",
            "/phpMyAdmin-2.8.2.3/x",
            "/admin/pma/x",
            "/cgi-bin/php4",
            "/roundcube/",
            "/wp-login.php",
        ] {
            assert!(bot_search_path(path), "{path}");
        }
        for path in ["/", "/index.html", "/images/mail.png"] {
            assert!(!bot_search_path(path), "{path}");
        }
        for path in
            ["/home/x/azenv.php", "/x/cgi-bin/php-cgi", "/usr/lib/cgi-bin/netadmin", "/a/b.pl"]
        {
            assert!(is_script_path(path), "{path}");
        }
        for path in ["/home/x/photo.png", "/x/phpinfo", "/a/b.plx"] {
            assert!(!is_script_path(path), "{path}");
        }
    }
}
