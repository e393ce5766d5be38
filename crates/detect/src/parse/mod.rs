//! Parsers: one raw log line → one normalised [`Event`], one file per log format.
//!
//! Every parser works in two steps. The first reads the line into a borrowed record
//! (`SyslogLine`, `SshMessage`, `AccessRecord`, `WebErrorRecord`) without allocating; the second
//! turns a record into an `Event` with ECS field names. Callers that only need to decide whether
//! a line matters (the hot path of `scan`) stop after the first step.
//!
//! Input contract, shared by all parsers:
//! - a line is at most [`ParseConfig::max_line_len`] bytes; longer lines are rejected with
//!   [`ParseError::TooLong`] before any parsing, and counted;
//! - bytes that are not UTF-8 are replaced by U+FFFD (lossy) and the line is still parsed, so
//!   that an attacker cannot hide a failure behind one bad byte; such lines are counted;
//! - no parser panics, on any input (property tests and a fuzz target check this);
//! - time is a parameter: a year-less timestamp is placed relative to the `now` passed in, in the
//!   configured time zone, and a line without a timestamp gets `now`.
//!
//! Fields are ECS where ECS has a name. Where it has none, firebreak adds these:
//! - `event.count`: how many times a syslog message was logged (`message repeated N times`);
//! - `source.address`: the client as logged (an IP, or a host name with sshd's `UseDNS`), beside
//!   `source.ip`, which is only set for IPs (IPv4-mapped IPv6 written as IPv4);
//! - `ssh.method`, `ssh.invalid_user`, `ssh.preauth`, `ssh.disconnect_code`: what sshd said;
//! - `http.request.forwarded_for`: the logged `X-Forwarded-For`; `http.request.proxy_ip`: the
//!   peer, when a trusted proxy and the client was read from the header;
//! - `http.request.line`: the request line an nginx error names;
//! - `firebreak.source`: the line source the event was read from (`sshd`, `webserver`), which
//!   decides the Sigma `logsource` whose rules apply to it;
//! - `firebreak.attempt`: `true` on an sshd line that is one new failed authentication attempt
//!   (set by [`LineParser`], which keeps the [`sshd::AttemptDedup`] state).

pub mod access;
pub mod custom;
pub mod detect_format;
pub mod json;
pub mod proxy;
pub mod sshd;
pub mod syslog;
pub mod time;
pub mod web_error;

#[cfg(test)]
pub(crate) mod check;
#[cfg(test)]
mod props;

use std::borrow::Cow;
use std::net::IpAddr;

use firebreak_core::event::Event;
use jiff::Timestamp;
use jiff::tz::TimeZone;

pub use access::AccessRecord;
pub use custom::{CustomConfig, CustomParser, CustomParserError};
pub use detect_format::{Format, detect_format};
pub use proxy::TrustedProxies;
pub use sshd::SshMessage;
pub use syslog::{SyslogLine, SyslogParser};
pub use web_error::WebErrorRecord;

/// The longest line accepted by default: 64 KiB.
pub const DEFAULT_MAX_LINE_LEN: usize = 64 * 1024;

/// Settings shared by all parsers.
#[derive(Debug, Clone)]
pub struct ParseConfig {
    /// Lines longer than this many bytes are rejected, not parsed.
    pub max_line_len: usize,
    /// The zone of timestamps written without an offset (syslog, nginx and Apache error logs).
    pub time_zone: TimeZone,
    /// Reverse proxies whose `X-Forwarded-For` is believed for access logs (none by default).
    pub trusted_proxies: TrustedProxies,
}

impl Default for ParseConfig {
    fn default() -> ParseConfig {
        ParseConfig {
            max_line_len: DEFAULT_MAX_LINE_LEN,
            time_zone: TimeZone::UTC,
            trusted_proxies: TrustedProxies::default(),
        }
    }
}

/// Why a line gave no event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("line of {len} bytes is longer than the limit of {max}")]
    TooLong { len: usize, max: usize },
    #[error("the line is empty")]
    Empty,
    #[error("not a {format} line")]
    NotThisFormat { format: &'static str },
    #[error("the timestamp is missing or invalid")]
    BadTimestamp,
    #[error("the {program} message is not one firebreak reads")]
    UnknownMessage { program: &'static str },
    #[error("invalid JSON event: {0}")]
    Json(String),
}

/// Counts kept by a [`LineParser`], so that dropped input is visible rather than silent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ParseStats {
    pub lines: u64,
    pub events: u64,
    pub too_long: u64,
    /// Lines that held bytes which are not UTF-8 (parsed after lossy replacement).
    pub invalid_utf8: u64,
    /// Lines of the right shape whose content no parser reads (for example an sshd message
    /// that says nothing about authentication).
    pub ignored: u64,
    /// Lines that are not of the expected format at all.
    pub malformed: u64,
}

/// Applies the shared input contract: length limit, then lossy UTF-8 decoding.
pub fn decode_line<'a>(
    line: &'a [u8],
    max_line_len: usize,
    stats: &mut ParseStats,
) -> Result<Cow<'a, str>, ParseError> {
    stats.lines += 1;
    if line.len() > max_line_len {
        stats.too_long += 1;
        return Err(ParseError::TooLong { len: line.len(), max: max_line_len });
    }
    let line = trim_line_end(line);
    // simdutf8's check gives the same verdict as `std::str::from_utf8` (the error's position,
    // which only it would add, is not used), in a third of the time on log lines.
    match simdutf8::basic::from_utf8(line) {
        Ok(text) => Ok(Cow::Borrowed(text)),
        Err(_) => {
            stats.invalid_utf8 += 1;
            Ok(String::from_utf8_lossy(line))
        }
    }
}

/// The first `needle` in `text`, found by its first byte with [`find_byte`]: the words sshd
/// messages are cut at (` from `, ` port `, `: `) come after short fields, and a substring
/// searcher set up on every line cost more than the search.
pub(crate) fn find_str(text: &[u8], needle: &[u8]) -> Option<usize> {
    let (&first, _) = needle.split_first()?;
    let mut from = 0;
    loop {
        let at = from + find_byte(first, text.get(from..)?)?;
        if text.get(at..at + needle.len()) == Some(needle) {
            return Some(at);
        }
        from = at + 1;
    }
}

/// The leading decimal digits of `text` as a `u16` (`None` when there are none or they pass
/// 65535, as `str::parse` would say of them), and how many there are.
pub(crate) fn leading_u16(text: &str) -> (Option<u16>, usize) {
    let mut value = 0u32;
    let mut digits = 0;
    for b in text.bytes() {
        if !b.is_ascii_digit() {
            break;
        }
        value = value.saturating_mul(10).saturating_add(u32::from(b - b'0'));
        digits += 1;
    }
    let number = if digits == 0 { None } else { u16::try_from(value).ok() };
    (number, digits)
}

/// A decimal number as `str::parse` reads one for an unsigned type of at most `max` (an
/// optional `+`, then digits only, no overflow), in a plain loop: the generic parse cost five
/// times as much on the ports and pids of every line.
pub(crate) fn decimal(text: &str, max: u64) -> Option<u64> {
    let digits = text.strip_prefix('+').unwrap_or(text);
    if digits.is_empty() {
        return None;
    }
    let value = if digits.len() <= 19 {
        // At most 19 digits cannot overflow a u64: no checked multiply on each (its `mul` and
        // overflow test were most of a pid's reading, where a shift and add do).
        let mut value = 0u64;
        for b in digits.bytes() {
            let digit = b.wrapping_sub(b'0');
            if digit > 9 {
                return None;
            }
            value = value.wrapping_mul(10).wrapping_add(u64::from(digit));
        }
        value
    } else {
        digits.bytes().try_fold(0u64, |n, b| {
            if b.is_ascii_digit() {
                n.checked_mul(10)?.checked_add(u64::from(b - b'0'))
            } else {
                None
            }
        })?
    };
    (value <= max).then_some(value)
}

/// A port as `str::parse::<u16>` reads it (see [`decimal`]).
pub(crate) fn decimal_u16(text: &str) -> Option<u16> {
    decimal(text, u64::from(u16::MAX)).and_then(|n| u16::try_from(n).ok())
}

/// A pid or count as `str::parse::<u32>` reads it (see [`decimal`]).
pub(crate) fn decimal_u32(text: &str) -> Option<u32> {
    decimal(text, u64::from(u32::MAX)).and_then(|n| u32::try_from(n).ok())
}

/// How far [`find_byte`] looks with a plain loop before it calls memchr.
const SHORT: usize = 16;

/// The first `needle` in `bytes`: a plain loop over the first [`SHORT`] bytes (the fields of a
/// log line are short, and memchr's vector set-up costs more than reading them), memchr past them.
pub(crate) fn find_byte(needle: u8, bytes: &[u8]) -> Option<usize> {
    let head = bytes.get(..SHORT).unwrap_or(bytes);
    match head.iter().position(|&b| b == needle) {
        Some(at) => Some(at),
        None => memchr::memchr(needle, bytes.get(SHORT..)?).map(|at| at + SHORT),
    }
}

/// The first line of `bytes` (without its `\n`) and what follows it; `None` when no `\n` is
/// left. A memchr search: splitting with a byte predicate costs as much per line as reading a
/// syslog header.
pub fn split_line(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let at = memchr::memchr(b'\n', bytes)?;
    Some((bytes.get(..at)?, bytes.get(at + 1..)?))
}

fn trim_line_end(mut line: &[u8]) -> &[u8] {
    while let [rest @ .., b'\n' | b'\r'] = line {
        line = rest;
    }
    line
}

/// One configured parser for one source: the format and its state (the time cache).
#[derive(Debug)]
pub struct LineParser {
    format: Format,
    config: ParseConfig,
    syslog: SyslogParser,
    access: access::AccessParser,
    web: web_error::WebErrorParser,
    custom: Option<CustomParser>,
    dedup: sshd::AttemptDedup,
    stats: ParseStats,
}

impl LineParser {
    pub fn new(format: Format, config: ParseConfig) -> LineParser {
        LineParser {
            format,
            syslog: SyslogParser::new(config.time_zone.clone()),
            access: access::AccessParser::default(),
            web: web_error::WebErrorParser::new(config.time_zone.clone()),
            config,
            custom: None,
            dedup: sshd::AttemptDedup::new(),
            stats: ParseStats::default(),
        }
    }

    /// A parser for a user-defined format.
    pub fn custom(parser: CustomParser, config: ParseConfig) -> LineParser {
        let mut this = LineParser::new(Format::Custom, config);
        this.custom = Some(parser);
        this
    }

    pub fn format(&self) -> Format {
        self.format
    }

    pub fn stats(&self) -> ParseStats {
        self.stats
    }

    /// Parses one line (without or with its trailing newline) into an event. Lines are read in
    /// order: an sshd `Invalid user` line and the `Failed password` that repeats it make one
    /// `firebreak.attempt`.
    pub fn parse(&mut self, line: &[u8], now: Timestamp) -> Result<Event, ParseError> {
        let text = decode_line(line, self.config.max_line_len, &mut self.stats)?;
        let result = self.parse_text(&text, now);
        match &result {
            Ok(_) => self.stats.events += 1,
            Err(ParseError::UnknownMessage { .. }) => self.stats.ignored += 1,
            Err(ParseError::TooLong { .. }) => {}
            Err(_) => self.stats.malformed += 1,
        }
        result
    }

    fn parse_text(&mut self, text: &str, now: Timestamp) -> Result<Event, ParseError> {
        if text.trim().is_empty() {
            return Err(ParseError::Empty);
        }
        match self.format {
            Format::Syslog => {
                // The program's own parser where there is one (sshd), else a generic event
                // carrying the message.
                let line = self.syslog.parse(text, now)?;
                match line.program {
                    Some(program) if sshd::is_sshd(program) => {
                        let message = sshd::parse(line.message)
                            .ok_or(ParseError::UnknownMessage { program: "sshd" })?;
                        let mut event = message.to_event(&line, now);
                        if self.dedup.is_new_attempt(line.pid, &message) {
                            event.fields.insert("firebreak.attempt".into(), true.into());
                        }
                        Ok(event)
                    }
                    _ => Ok(line.to_event(now)),
                }
            }
            Format::Access => {
                let record = self
                    .access
                    .parse(text)
                    .ok_or(ParseError::NotThisFormat { format: "access log" })?;
                Ok(record.to_event_behind(&self.config.trusted_proxies))
            }
            Format::NginxError | Format::ApacheError => {
                let record = self
                    .web
                    .parse_at(text, now)
                    .ok_or(ParseError::NotThisFormat { format: "web server error log" })?;
                Ok(record.to_event(now))
            }
            Format::Json => json::parse(text.as_bytes(), now),
            Format::Custom => match &self.custom {
                Some(parser) => parser.parse(text, now),
                None => Err(ParseError::NotThisFormat { format: "custom" }),
            },
        }
    }
}

/// Reads a client address as a log writes it: an IP (IPv4-mapped IPv6 becomes IPv4), possibly
/// in brackets. Host names give `None`.
pub fn parse_ip(text: &str) -> Option<IpAddr> {
    let text = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')).unwrap_or(text);
    let ip: IpAddr = text.parse().ok()?;
    Some(canonical_ip(ip))
}

/// Whether `text` is an IPv4 address exactly as `Ipv4Addr`'s parser accepts one (four decimal
/// parts of at most 255, no leading zeros), without building it: the per-line check of whether a
/// logged client is an IP, which the standard parser made a visible part of each line's cost.
pub fn is_ipv4(text: &str) -> bool {
    let bytes = text.as_bytes();
    if !(7..=15).contains(&bytes.len()) {
        return false;
    }
    // Part by part: one to three digits (no leading zero, at most 255), a dot between parts.
    let mut rest = bytes;
    for part in 0..4 {
        let (value, digits) = match rest {
            [a @ b'1'..=b'9', b @ b'0'..=b'9', c @ b'0'..=b'9', ..] => {
                (digit(*a) * 100 + digit(*b) * 10 + digit(*c), 3)
            }
            [a @ b'1'..=b'9', b @ b'0'..=b'9', ..] => (digit(*a) * 10 + digit(*b), 2),
            [a @ b'0'..=b'9', ..] => (digit(*a), 1),
            _ => return false,
        };
        let after = rest.get(digits..).unwrap_or_default();
        rest = match (part, after) {
            (3, []) => return value <= 255,
            (0..=2, [b'.', tail @ ..]) if value <= 255 => tail,
            _ => return false,
        };
    }
    false
}

fn digit(b: u8) -> u32 {
    u32::from(b - b'0')
}

/// IPv4-mapped IPv6 (`::ffff:a.b.c.d`) as plain IPv4; anything else unchanged.
pub fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

/// Whether a token can be a client address as logs write it: an IP, or a host name (letters,
/// digits, `.`, `-`, `_`, `:`), which is what sshd logs when `UseDNS` is on.
pub fn is_address(text: &str) -> bool {
    if text.is_empty() || text.len() > 255 {
        return false;
    }
    let mut alphanumeric = false;
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() {
            alphanumeric = true;
        } else if !matches!(b, b'.' | b'-' | b'_' | b':') {
            return false;
        }
    }
    alphanumeric
}

/// The address as it should be compared and stored: the canonical IP text when it is an IP,
/// else the host name as written.
pub fn normalise_address(text: &str) -> Cow<'_, str> {
    match parse_ip(text) {
        Some(ip) if ip.to_string() != text => Cow::Owned(ip.to_string()),
        _ => Cow::Borrowed(text),
    }
}
