//! Throughput of the parsers on generated logs, on one thread: OpenSSH auth log (syslog
//! envelope + sshd message) and nginx combined access log. Prints lines per second for the
//! record step (what the hot path uses) and for full `Event` construction.
//!
//! `cargo run --release -p firebreak-detect --example parse_bench [LINES]`

#![allow(clippy::print_stdout)] // A benchmark that reports.

use std::hint::black_box;
use std::time::Instant;

use firebreak_detect::parse::sshd::{self, AttemptDedup};
use firebreak_detect::parse::syslog::SyslogParser;
use firebreak_detect::parse::{Format, LineParser, ParseConfig, access};
use jiff::Timestamp;
use jiff::tz::TimeZone;

/// A small deterministic generator (xorshift), so runs are comparable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const MONTHS: [&str; 12] =
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const USERS: [&str; 6] = ["root", "admin", "test", "oracle", "ubuntu", "deploy"];

fn auth_log(lines: usize) -> Vec<u8> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut out = Vec::with_capacity(lines * 110);
    let mut second = 0u64;
    for _ in 0..lines {
        second += rng.below(3);
        let (day, rest) = (1 + (second / 86_400) % 28, second % 86_400);
        let stamp = format!(
            "{} {:>2} {:02}:{:02}:{:02}",
            MONTHS[2],
            day,
            rest / 3600,
            rest / 60 % 60,
            rest % 60
        );
        let ip = format!(
            "{}.{}.{}.{}",
            1 + rng.below(223),
            rng.below(256),
            rng.below(256),
            1 + rng.below(254)
        );
        let pid = 1000 + rng.below(60_000);
        let port = 1024 + rng.below(60_000);
        let user = USERS[rng.below(USERS.len() as u64) as usize];
        let message = match rng.below(100) {
            0..=11 => format!("Failed password for {user} from {ip} port {port} ssh2"),
            12..=19 => format!("Invalid user {user} from {ip} port {port}"),
            20..=27 => {
                format!("Failed password for invalid user {user} from {ip} port {port} ssh2")
            }
            28..=35 => format!("Connection closed by {ip} port {port} [preauth]"),
            36..=41 => format!("Received disconnect from {ip} port {port}:11: Bye Bye [preauth]"),
            42..=47 => format!("Disconnected from invalid user {user} {ip} port {port} [preauth]"),
            48..=52 => format!(
                "Accepted publickey for {user} from {ip} port {port} ssh2: ED25519 SHA256:abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
            ),
            53..=60 => format!(
                "pam_unix(sshd:session): session opened for user {user}(uid=1000) by (uid=0)"
            ),
            61..=66 => format!("pam_unix(sshd:session): session closed for user {user}"),
            67..=72 => format!(
                "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={ip}  user={user}"
            ),
            73..=76 => format!(
                "message repeated 2 times: [ Failed password for {user} from {ip} port {port} ssh2]"
            ),
            77..=82 => format!("Connection from {ip} port {port} on 10.0.0.1 port 22 rdomain \"\""),
            _ => "Server listening on 0.0.0.0 port 22.".to_owned(),
        };
        out.extend_from_slice(format!("{stamp} web-1 sshd[{pid}]: {message}\n").as_bytes());
    }
    out
}

fn nginx_log(lines: usize) -> Vec<u8> {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut out = Vec::with_capacity(lines * 180);
    let paths = [
        "/",
        "/login",
        "/api/v1/items?page=2",
        "/wp-login.php",
        "/static/app.js",
        "/.env",
        "/search?q=%27+OR+1%3D1--",
    ];
    let agents = [
        "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
        "curl/8.5.0",
        "python-requests/2.31.0",
    ];
    for i in 0..lines {
        let ip = format!(
            "{}.{}.{}.{}",
            1 + rng.below(223),
            rng.below(256),
            rng.below(256),
            1 + rng.below(254)
        );
        let path = paths[rng.below(paths.len() as u64) as usize];
        let agent = agents[rng.below(agents.len() as u64) as usize];
        let status = [200, 200, 200, 301, 401, 403, 404, 500][rng.below(8) as usize];
        let s = i % 86_400;
        out.extend_from_slice(
            format!(
                "{ip} - - [14/Mar/2026:{:02}:{:02}:{:02} +0000] \"GET {path} HTTP/1.1\" {status} {} \"-\" \"{agent}\"\n",
                s / 3600,
                s / 60 % 60,
                s % 60,
                rng.below(50_000)
            )
            .as_bytes(),
        );
    }
    out
}

fn lines(buffer: &[u8]) -> impl Iterator<Item = &[u8]> {
    buffer.split(|&b| b == b'\n').filter(|l| !l.is_empty())
}

fn report(name: &str, count: usize, started: Instant) {
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{name:<44} {count:>9} lines  {:>7.3} s  {:>12.0} lines/s",
        seconds,
        count as f64 / seconds
    );
}

fn main() {
    let count: usize = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(1_000_000);
    let now = Timestamp::from_second(1_773_000_000).unwrap_or(Timestamp::UNIX_EPOCH);
    let auth = auth_log(count);
    let nginx = nginx_log(count);
    println!(
        "generated {count} auth lines ({} MB) and {count} nginx lines ({} MB)",
        auth.len() / 1_000_000,
        nginx.len() / 1_000_000
    );

    for _ in 0..2 {
        // Records only: syslog envelope + sshd message + attempt dedup, no allocation per line.
        let started = Instant::now();
        let mut syslog = SyslogParser::new(TimeZone::UTC);
        let mut dedup = AttemptDedup::new();
        let (mut n, mut attempts) = (0usize, 0u64);
        for line in lines(&auth) {
            n += 1;
            let Ok(text) = std::str::from_utf8(line) else { continue };
            let Ok(envelope) = syslog.parse(text, now) else { continue };
            if !envelope.program.is_some_and(sshd::is_sshd) {
                continue;
            }
            if let Some(message) = sshd::parse(envelope.message)
                && dedup.is_new_attempt(envelope.pid, &message)
            {
                attempts += u64::from(envelope.count);
            }
        }
        black_box(attempts);
        report("sshd: envelope + message + dedup (records)", n, started);

        let started = Instant::now();
        let mut parser = LineParser::new(Format::Syslog, ParseConfig::default());
        let mut events = 0usize;
        for line in lines(&auth) {
            events += usize::from(black_box(parser.parse(line, now)).is_ok());
        }
        report("sshd: full Event per line", parser.stats().lines as usize, started);
        black_box(events);

        let started = Instant::now();
        let (mut n, mut failures) = (0usize, 0usize);
        for line in lines(&nginx) {
            n += 1;
            let Ok(text) = std::str::from_utf8(line) else { continue };
            if let Some(record) = access::parse(text) {
                failures += usize::from(record.status >= 400);
            }
        }
        black_box(failures);
        report("nginx access: records", n, started);

        let started = Instant::now();
        let mut parser = LineParser::new(Format::Access, ParseConfig::default());
        for line in lines(&nginx) {
            black_box(parser.parse(line, now).ok());
        }
        report("nginx access: full Event per line", parser.stats().lines as usize, started);
    }
}
