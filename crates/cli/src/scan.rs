//! `firebreak scan`, `rules list` and `rules test`: read log files (plain, `.gz`, or `-` for
//! standard input), hand their lines to the detection engine, print what it found. The engine
//! is pure; this file does the reading, the progress line and the printing.
//!
//! Exit status of `scan`: 0 when nothing was found, 1 when there are findings, 2 on an error.

use std::io::{BufRead, BufReader, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use firebreak_core::{Clock, SystemClock};
use firebreak_detect::parse::detect_format::{Format, detect_format};
use firebreak_detect::parse::split_line;
use firebreak_detect::{RuleSet, ScanConfig, Scanner};

use crate::Format as Output;

#[derive(Debug, clap::Args)]
pub struct RuleArgs {
    /// A directory of Sigma rule files (`*.yml`, `*.yaml`) to load besides the built-in pack.
    #[arg(long)]
    pub rules: Vec<PathBuf>,
    /// Leave the built-in rule pack out.
    #[arg(long)]
    pub no_builtin: bool,
    /// A threat-intelligence list: one address or CIDR range per line (`#` comments).
    #[arg(long)]
    pub threat_intel: Vec<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct ScanArgs {
    /// Log files; `-` reads standard input; `.gz` files are decompressed.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub rules: RuleArgs,
    /// Addresses, ranges and users that never raise a finding: one per line (`user:NAME`).
    #[arg(long)]
    pub allow: Option<PathBuf>,
    /// Output: a table for people, or JSON (one finding per line).
    #[arg(long, value_enum, default_value = "table")]
    pub format: Output,
    /// "Now", for placing year-less timestamps (RFC 3339; default: the clock).
    #[arg(long)]
    pub now: Option<jiff::Timestamp>,
}

#[derive(Debug, clap::Args)]
pub struct RulesTestArgs {
    /// The rule's id (see `firebreak rules list`).
    pub rule: String,
    pub logfile: PathBuf,
    #[command(flatten)]
    pub rules: RuleArgs,
    #[arg(long)]
    pub now: Option<jiff::Timestamp>,
}

/// Loads the built-in pack and the given directories. A broken file is an error naming it.
pub fn load_rules(args: &RuleArgs) -> anyhow::Result<RuleSet> {
    firebreak_server::detection::load_rules(!args.no_builtin, &args.rules, &args.threat_intel)
        .map_err(|error| anyhow::anyhow!(error))
}

fn open(path: &Path) -> anyhow::Result<(Box<dyn Read>, Option<u64>)> {
    if path == Path::new("-") {
        return Ok((Box::new(std::io::stdin().lock()), None));
    }
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let size = file.metadata().ok().map(|m| m.len());
    if path.extension().is_some_and(|ext| ext == "gz") {
        return Ok((Box::new(flate2::read::MultiGzDecoder::new(file)), None));
    }
    Ok((Box::new(file), size))
}

/// Reads one line of at most `max` bytes; the rest of a longer line is skipped, and the line is
/// returned whole up to `max + 1` bytes so that the engine counts it as too long.
fn read_line(reader: &mut impl BufRead, line: &mut Vec<u8>, max: usize) -> std::io::Result<bool> {
    line.clear();
    loop {
        let buffer = reader.fill_buf()?;
        if buffer.is_empty() {
            return Ok(!line.is_empty());
        }
        let (chunk, found) = match split_line(buffer) {
            Some((chunk, _)) => (chunk, true),
            None => (buffer, false),
        };
        keep(line, chunk, max);
        let consumed = chunk.len() + usize::from(found);
        reader.consume(consumed);
        if found {
            return Ok(true);
        }
    }
}

/// Appends to a line held across buffer fills, up to `max + 1` bytes.
fn keep(line: &mut Vec<u8>, chunk: &[u8], max: usize) {
    let room = (max + 1).saturating_sub(line.len());
    line.extend_from_slice(chunk.get(..chunk.len().min(room)).unwrap_or(chunk));
}

/// Hands every remaining line of `reader` to `each`, in order, as [`read_line`] would read them,
/// but without copying the lines that lie whole in the reader's buffer (nearly all): only a line
/// cut by the end of a fill is put together in `carry`.
fn each_line(
    reader: &mut impl BufRead,
    carry: &mut Vec<u8>,
    max: usize,
    mut each: impl FnMut(&[u8]),
) -> std::io::Result<()> {
    carry.clear();
    // A line begun in an earlier fill is in `carry`.
    let mut pending = false;
    loop {
        let buffer = reader.fill_buf()?;
        let filled = buffer.len();
        if filled == 0 {
            if pending {
                each(carry);
            }
            return Ok(());
        }
        let mut rest = buffer;
        if pending {
            match split_line(rest) {
                Some((end, after)) => {
                    keep(carry, end, max);
                    each(carry);
                    pending = false;
                    rest = after;
                }
                None => {
                    keep(carry, rest, max);
                    rest = &[];
                }
            }
        }
        while let Some((line, after)) = split_line(rest) {
            each(line.get(..=max).unwrap_or(line));
            rest = after;
        }
        if !rest.is_empty() {
            carry.clear();
            keep(carry, rest, max);
            pending = true;
        }
        reader.consume(filled);
    }
}

/// Shows how far a big file has got, on standard error, only when it is a terminal.
struct Progress {
    name: String,
    total: Option<u64>,
    last: Instant,
    enabled: bool,
}

impl Progress {
    fn new(name: &str, total: Option<u64>) -> Progress {
        let enabled = std::io::stderr().is_terminal() && total.is_none_or(|t| t > 50 << 20);
        Progress { name: name.to_owned(), total, last: Instant::now(), enabled }
    }

    #[allow(clippy::print_stderr)]
    fn update(&mut self, bytes: u64, lines: u64) {
        if !self.enabled || self.last.elapsed() < Duration::from_millis(250) {
            return;
        }
        self.last = Instant::now();
        match self.total {
            Some(total) if total > 0 => {
                eprint!("\rscanning {}: {:>3}% ({lines} lines)", self.name, bytes * 100 / total)
            }
            _ => eprint!("\rscanning {}: {lines} lines", self.name),
        }
    }

    #[allow(clippy::print_stderr)]
    fn finish(&self) {
        if self.enabled {
            eprint!("\r\x1b[K");
        }
    }
}

#[allow(clippy::print_stdout, clippy::print_stderr)]
pub fn scan(args: &ScanArgs) -> anyhow::Result<ExitCode> {
    let rules = Arc::new(load_rules(&args.rules)?);
    let mut config = ScanConfig::default();
    if let Some(path) = &args.allow {
        config.allow = firebreak_server::detection::read_allowlist(path)
            .map_err(|error| anyhow::anyhow!(error))?;
    }
    let max = config.parse.max_line_len;
    let now = args.now.unwrap_or_else(|| SystemClock.now());
    let mut scanner = Scanner::new(rules, config);
    let mut line = Vec::with_capacity(1024);
    for path in &args.files {
        let name = path.display().to_string();
        let (input, size) = open(path)?;
        let mut reader = BufReader::with_capacity(1 << 20, input);
        // The format is decided per file, from its first lines.
        let mut head: Vec<Vec<u8>> = Vec::new();
        while head.len() < 20
            && read_line(&mut reader, &mut line, max).with_context(|| format!("reading {name}"))?
        {
            head.push(line.clone());
        }
        if head.is_empty() {
            continue;
        }
        let samples: Vec<String> =
            head.iter().map(|l| String::from_utf8_lossy(l).into_owned()).collect();
        let sample_refs: Vec<&str> = samples.iter().map(String::as_str).collect();
        let Some(format) = detect_format(&sample_refs, now) else {
            bail!(
                "{name}: cannot tell which log format this is from its first lines (syslog/OpenSSH, nginx or Apache access or error logs, JSON)"
            );
        };
        let mut progress = Progress::new(&name, size);
        let mut bytes = 0u64;
        let mut lines = 0u64;
        for sample in &head {
            scanner.feed(format, sample, now);
        }
        each_line(&mut reader, &mut line, max, |line| {
            scanner.feed(format, line, now);
            bytes += line.len() as u64 + 1;
            lines += 1;
            if lines.is_multiple_of(65_536) {
                progress.update(bytes, lines);
            }
        })
        .with_context(|| format!("reading {name}"))?;
        progress.finish();
        if args.format == Output::Table {
            eprintln!("{name}: read as {}", format.name());
        }
    }
    scanner.sweep();
    let stats = scanner.stats();
    let findings = scanner.take_findings();
    // Buffered: standard output is line-buffered, a write per finding otherwise.
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    match args.format {
        Output::Json => {
            for finding in &findings {
                serde_json::to_writer(&mut stdout, finding)?;
                stdout.write_all(b"\n")?;
            }
        }
        Output::Table => {
            writeln!(
                stdout,
                "{:<32}  {:<4}  {:<36}  {:>7}  {:<20}  {:<20}  TITLE",
                "RULE", "SEV", "GROUP", "COUNT", "FIRST (UTC)", "LAST (UTC)"
            )?;
            for finding in &findings {
                let group: Vec<String> =
                    finding.group.iter().map(|(k, v)| format!("{k}={v}")).collect();
                writeln!(
                    stdout,
                    "{:<32}  {:<4}  {:<36}  {:>7}  {:<20}  {:<20}  {}",
                    finding.rule_id,
                    finding.severity.as_str(),
                    group.join(" "),
                    finding.count,
                    finding.first_seen.strftime("%Y-%m-%d %H:%M:%S"),
                    finding.last_seen.strftime("%Y-%m-%d %H:%M:%S"),
                    finding.title
                )?;
            }
            writeln!(
                stdout,
                "{} findings from {} lines ({} unreadable, {} too long, {} allowlisted)",
                findings.len(),
                stats.lines,
                stats.malformed,
                stats.too_long,
                stats.allowlisted
            )?;
        }
    }
    stdout.flush()?;
    Ok(if findings.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

#[allow(clippy::print_stdout)]
pub fn list(args: &RuleArgs, format: Output) -> anyhow::Result<ExitCode> {
    let rules = load_rules(args)?;
    if format == Output::Json {
        let list: Vec<serde_json::Value> = rules
            .rules
            .iter()
            .map(|rule| serde_json::json!({ "id": rule.id, "title": rule.title, "severity": rule.severity, "tags": rule.tags, "file": rule.file }))
            .collect();
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("{:<36}  {:<4}  {:<48}  TAGS", "RULE", "SEV", "TITLE");
    for rule in &rules.rules {
        println!(
            "{:<36}  {:<4}  {:<48}  {}",
            rule.id,
            rule.severity.as_str(),
            rule.title,
            rule.tags.join(" ")
        );
    }
    println!("{} rules", rules.rules.len());
    Ok(ExitCode::SUCCESS)
}

#[allow(clippy::print_stdout)]
pub fn test(args: &RulesTestArgs) -> anyhow::Result<ExitCode> {
    let rules = Arc::new(load_rules(&args.rules)?);
    let text = std::fs::read(&args.logfile)
        .with_context(|| format!("cannot read {}", args.logfile.display()))?;
    let lines: Vec<&[u8]> = text.split(|&b| b == b'\n').filter(|l| !l.is_empty()).collect();
    let now = args.now.unwrap_or_else(|| SystemClock.now());
    let samples: Vec<String> =
        lines.iter().take(20).map(|l| String::from_utf8_lossy(l).into_owned()).collect();
    let sample_refs: Vec<&str> = samples.iter().map(String::as_str).collect();
    let format = detect_format(&sample_refs, now).unwrap_or(Format::Json);
    let Some(explanation) = firebreak_detect::engine::explain(
        rules,
        &args.rule,
        ScanConfig::default(),
        format,
        &lines,
        now,
    ) else {
        bail!("there is no rule `{}` (see `firebreak rules list`)", args.rule);
    };
    println!(
        "Rule {} over {} ({} lines, read as {}):",
        explanation.rule_id,
        args.logfile.display(),
        lines.len(),
        format.name()
    );
    for line in &explanation.lines {
        let matched: Vec<String> = line
            .rules
            .iter()
            .map(|m| {
                let parts: Vec<String> = m
                    .selections
                    .iter()
                    .map(|(name, hit)| format!("{name}={}", if *hit { "yes" } else { "no" }))
                    .collect();
                format!(
                    "{} {} [{}]",
                    m.rule_id,
                    if m.matched { "MATCH" } else { "no" },
                    parts.join(" ")
                )
            })
            .collect();
        if !line.read {
            println!("  line {:>5}: not read (not {} or too long)", line.number, format.name());
        } else if line.rules.iter().any(|m| m.matched) {
            let fields: Vec<String> = line.fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
            println!("  line {:>5}: {}   ({})", line.number, matched.join("; "), fields.join(" "));
        }
    }
    for finding in &explanation.findings {
        let group: Vec<String> = finding.group.iter().map(|(k, v)| format!("{k}={v}")).collect();
        println!(
            "FIRES: {} for {} — count {}, {} … {}",
            finding.rule_id,
            group.join(" "),
            finding.count,
            finding.first_seen,
            finding.last_seen
        );
    }
    if explanation.findings.is_empty() {
        println!("Does not fire on these lines.");
    }
    Ok(if explanation.findings.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

#[cfg(test)]
mod tests {
    use std::io::BufReader;

    use super::{each_line, read_line};

    /// `each_line` reads what `read_line` reads, whatever the buffer cuts: lines split across
    /// fills, empty lines, lines over the limit (cut to `max + 1` bytes), a last line without
    /// `\n`.
    #[test]
    fn each_line_reads_as_read_line_does() {
        let long = "x".repeat(40);
        let texts = [
            String::new(),
            "\n".into(),
            "a\nb\n".into(),
            "a\n\nbb\nccc".into(),
            format!("short\n{long}\nafter\n{long}"),
            format!("{long}\n\n{long}\nz\n"),
        ];
        for text in &texts {
            for capacity in [1, 2, 3, 7, 16, 64] {
                for max in [4, 10, 100] {
                    let mut want = Vec::new();
                    let mut reader = BufReader::with_capacity(capacity, text.as_bytes());
                    let mut line = Vec::new();
                    while read_line(&mut reader, &mut line, max).unwrap() {
                        want.push(line.clone());
                    }
                    let mut got = Vec::new();
                    let mut reader = BufReader::with_capacity(capacity, text.as_bytes());
                    each_line(&mut reader, &mut line, max, |l| got.push(l.to_vec())).unwrap();
                    assert_eq!(got, want, "{text:?} capacity {capacity} max {max}");
                }
            }
        }
    }
}
