//! The syslog envelope: RFC 3164 (`Mmm dd hh:mm:ss host prog[pid]: msg`, also with the ISO 8601
//! time rsyslog writes), RFC 5424, and the timestamp-less `host prog[pid]: msg` of
//! `journalctl -o short` exports. The envelope hands the message to the program's parser.
//!
//! Also unwrapped here: rsyslog's `message repeated N times: [ … ]` (the count is kept) and the
//! Solaris `[ID 800047 auth.info] ` message prefix.

use firebreak_core::event::Event;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde_json::Value;

use super::ParseError;
use super::time::{Civil, Cursor, LocalTime, month_from_abbrev};

/// Which envelope a line had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyslogFormat {
    Rfc3164,
    Rfc5424,
    /// `host prog[pid]: msg` with no time, as journal exports write it.
    NoTimestamp,
}

/// One syslog line, borrowed from the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyslogLine<'a> {
    pub format: SyslogFormat,
    /// `None` only for [`SyslogFormat::NoTimestamp`].
    pub timestamp: Option<Timestamp>,
    pub priority: Option<u8>,
    pub host: Option<&'a str>,
    pub program: Option<&'a str>,
    pub pid: Option<u32>,
    /// The message, unwrapped from `message repeated N times: [ … ]`.
    pub message: &'a str,
    /// How many times the message was logged: N for `message repeated N times`, else 1.
    pub count: u32,
}

impl SyslogLine<'_> {
    /// The fields every syslog event carries: time, host, process, message, count.
    pub fn base_fields(&self) -> Vec<(&'static str, Value)> {
        let mut fields = Vec::with_capacity(8);
        if let Some(host) = self.host {
            fields.push(("host.name", Value::from(host)));
        }
        if let Some(program) = self.program {
            fields.push(("process.name", Value::from(program)));
        }
        if let Some(pid) = self.pid {
            fields.push(("process.pid", Value::from(pid)));
        }
        if let Some(priority) = self.priority {
            fields.push(("log.syslog.priority", Value::from(priority)));
        }
        fields.push(("message", Value::from(self.message)));
        if self.count != 1 {
            fields.push(("event.count", Value::from(self.count)));
        }
        fields
    }

    /// The event of a line whose message no built-in parser reads, named by its line source as
    /// a scan names it (`firebreak.source`: `sudo`, with the user the line names, else `syslog`),
    /// so that `serve` applies the rules of that source to it as `firebreak scan` does.
    pub fn to_event(&self, now: Timestamp) -> Event {
        let mut fields = self.base_fields();
        if self.program == Some("sudo") {
            fields.push(("firebreak.source", Value::from("sudo")));
            if let Some(user) = sudo_user(self.message) {
                fields.push(("user.name", Value::from(user)));
            }
        } else {
            fields.push(("firebreak.source", Value::from("syslog")));
        }
        Event::from_pairs(self.timestamp.unwrap_or(now), fields)
    }
}

/// The user of a sudo line: `alice : 3 incorrect password attempts ; …`, or the user PAM names
/// as the one asking (`ruser=alice`, else `logname=alice`).
pub(crate) fn sudo_user(message: &str) -> Option<&str> {
    if let Some((user, _)) = message.split_once(" : ") {
        let user = user.trim();
        if !user.is_empty() && !user.contains(' ') {
            return Some(user);
        }
    }
    for key in ["ruser=", "logname="] {
        if let Some(start) = message.find(key) {
            let rest = message.get(start + key.len()..)?;
            let user = rest.split_whitespace().next().unwrap_or("");
            if !user.is_empty() {
                return Some(user);
            }
        }
    }
    None
}

/// Reads syslog envelopes; keeps the local-time cache and the last timestamp between lines.
#[derive(Debug, Clone)]
pub struct SyslogParser {
    local: LocalTime,
    last: Option<LastStamp>,
}

/// The last RFC 3164 timestamp read: its text, the `now` it was placed against, and the instant.
/// A log written in order repeats its timestamp on many lines (every line of a busy second), and
/// the same text before a space always reads the same (the reader never takes a space after the
/// seconds), so comparing at most 40 bytes replaces the month, digits and calendar work.
#[derive(Debug, Clone, Copy)]
struct LastStamp {
    text: [u8; LAST_STAMP_MAX],
    len: usize,
    now: Timestamp,
    at: Timestamp,
}

const LAST_STAMP_MAX: usize = 40;

impl SyslogParser {
    /// `zone` is the zone of timestamps written without an offset.
    pub fn new(zone: TimeZone) -> SyslogParser {
        SyslogParser { local: LocalTime::new(zone), last: None }
    }

    /// Reads an RFC 3164 or RFC 5424 line. Year-less times are placed relative to `now`.
    #[inline(always)]
    pub fn parse<'a>(
        &mut self,
        line: &'a str,
        now: Timestamp,
    ) -> Result<SyslogLine<'a>, ParseError> {
        let bytes = line.as_bytes();
        let mut cursor = Cursor::new(bytes);
        let priority = read_priority(&mut cursor);
        if priority.is_some() && cursor.eat_str("1 ").is_some() {
            return self.parse_5424(line, cursor, priority);
        }
        cursor.skip_spaces();
        let timestamp = self.read_timestamp(&mut cursor, now)?;
        if cursor.skip_spaces() == 0 {
            return Err(ParseError::BadTimestamp);
        }
        let rest = line.get(cursor.pos..).ok_or(ParseError::BadTimestamp)?;
        let mut parsed = parse_header(rest);
        parsed.format = SyslogFormat::Rfc3164;
        parsed.timestamp = Some(timestamp);
        parsed.priority = priority;
        Ok(parsed)
    }

    /// Reads `host prog[pid]: msg` (no timestamp), as `journalctl -o short` without its time, or
    /// a journal `MESSAGE` with its `SYSLOG_IDENTIFIER`.
    pub fn parse_without_timestamp<'a>(&self, line: &'a str) -> Result<SyslogLine<'a>, ParseError> {
        let parsed = parse_header(line.trim_start());
        if parsed.program.is_none() {
            return Err(ParseError::NotThisFormat { format: "syslog" });
        }
        Ok(parsed)
    }

    fn read_timestamp(
        &mut self,
        cursor: &mut Cursor<'_>,
        now: Timestamp,
    ) -> Result<Timestamp, ParseError> {
        let start = cursor.pos;
        if let Some(last) = &self.last
            && last.now == now
            && let (Some(text), Some(seen)) =
                (last.text.get(..last.len), cursor.bytes.get(start..start + last.len))
            && text == seen
            && cursor.bytes.get(start + last.len) == Some(&b' ')
        {
            cursor.pos = start + last.len;
            return Ok(last.at);
        }
        let at = match cursor.peek() {
            Some(b'0'..=b'9') => read_iso(cursor, &mut self.local),
            _ => read_bsd(cursor, &mut self.local, now),
        }
        .ok_or(ParseError::BadTimestamp)?;
        let len = cursor.pos - start;
        if cursor.peek() == Some(b' ')
            && let (Some(seen), true) = (cursor.bytes.get(start..cursor.pos), len <= LAST_STAMP_MAX)
        {
            let mut text = [0; LAST_STAMP_MAX];
            if let Some(place) = text.get_mut(..len) {
                place.copy_from_slice(seen);
                self.last = Some(LastStamp { text, len, now, at });
            }
        }
        Ok(at)
    }

    fn parse_5424<'a>(
        &mut self,
        line: &'a str,
        mut cursor: Cursor<'a>,
        priority: Option<u8>,
    ) -> Result<SyslogLine<'a>, ParseError> {
        let timestamp = if cursor.eat(b'-').is_some() {
            None
        } else {
            Some(read_iso(&mut cursor, &mut self.local).ok_or(ParseError::BadTimestamp)?)
        };
        cursor.eat(b' ').ok_or(ParseError::BadTimestamp)?;
        let mut field = || -> Option<&'a str> {
            let start = cursor.pos;
            let len = super::find_byte(b' ', cursor.rest())?;
            cursor.pos += len + 1;
            let value = line.get(start..start + len)?;
            Some(value).filter(|v| *v != "-")
        };
        let not_5424 = ParseError::NotThisFormat { format: "RFC 5424 syslog" };
        let host = field();
        let program = field();
        let procid = field();
        let _msgid = field();
        // Structured data: `-` or one or more `[id key="value" …]`, values may hold `\]`, `\"`.
        if cursor.eat(b'-').is_none() {
            if cursor.peek() != Some(b'[') {
                return Err(not_5424);
            }
            while cursor.peek() == Some(b'[') {
                skip_sd_element(&mut cursor).ok_or(not_5424.clone())?;
            }
        }
        let _ = cursor.eat(b' ');
        let mut message = line.get(cursor.pos..).unwrap_or("");
        message = message.strip_prefix('\u{feff}').unwrap_or(message);
        let (message, count) = unwrap_message(message);
        Ok(SyslogLine {
            format: SyslogFormat::Rfc5424,
            timestamp,
            priority,
            host,
            program,
            pid: procid.and_then(|p| p.parse().ok()),
            message,
            count,
        })
    }
}

fn read_priority(cursor: &mut Cursor<'_>) -> Option<u8> {
    if cursor.peek() != Some(b'<') {
        return None;
    }
    let save = cursor.pos;
    cursor.pos += 1;
    match cursor.digits(1, 3) {
        Some(value) if value <= 191 && cursor.eat(b'>').is_some() => u8::try_from(value).ok(),
        _ => {
            cursor.pos = save;
            None
        }
    }
}

fn skip_sd_element(cursor: &mut Cursor<'_>) -> Option<()> {
    cursor.eat(b'[')?;
    let mut in_quotes = false;
    loop {
        let byte = cursor.peek()?;
        cursor.pos += 1;
        match byte {
            b'\\' if in_quotes => cursor.pos += 1,
            b'"' => in_quotes = !in_quotes,
            b']' if !in_quotes => return Some(()),
            _ => {}
        }
    }
}

/// `Mmm dd hh:mm:ss` (day padded with a space or a zero, or not at all), optionally followed by
/// a year (`Mmm dd yyyy hh:mm:ss`, as some appliances write).
fn read_bsd(cursor: &mut Cursor<'_>, local: &mut LocalTime, now: Timestamp) -> Option<Timestamp> {
    let month = month_from_abbrev(cursor.bytes.get(cursor.pos..cursor.pos + 3)?)?;
    cursor.pos += 3;
    if cursor.skip_spaces() == 0 {
        return None;
    }
    let day = u8::try_from(cursor.digits(1, 2)?).ok()?;
    cursor.eat(b' ')?;
    let save = cursor.pos;
    let year = match cursor.digits(4, 4) {
        Some(year) if cursor.eat(b' ').is_some() => Some(i32::try_from(year).ok()?),
        _ => {
            cursor.pos = save;
            None
        }
    };
    let (hour, minute, second, nanos) = cursor.clock()?;
    let civil = Civil { year: year.unwrap_or(0), month, day, hour, minute, second, nanos };
    match year {
        Some(_) => local.resolve(civil),
        None => local.resolve_yearless(civil, now),
    }
}

/// `YYYY-MM-DD[T ]hh:mm:ss[.frac][offset]`; without an offset the time is local.
pub(crate) fn read_iso(cursor: &mut Cursor<'_>, local: &mut LocalTime) -> Option<Timestamp> {
    let year = cursor.digits(4, 4)?;
    cursor.eat(b'-')?;
    let month = cursor.digits(2, 2)?;
    cursor.eat(b'-')?;
    let day = cursor.digits(2, 2)?;
    if cursor.eat(b'T').is_none() {
        cursor.eat(b' ')?;
    }
    let (hour, minute, second, nanos) = cursor.clock()?;
    let civil = Civil {
        year: i32::try_from(year).ok()?,
        month: u8::try_from(month).ok()?,
        day: u8::try_from(day).ok()?,
        hour,
        minute,
        second,
        nanos,
    };
    match cursor.offset() {
        Some(offset) => civil.at_offset(offset),
        None => local.resolve(civil),
    }
}

/// Reads `[host] tag message` after the timestamp. The first token is the host unless it already
/// looks like a tag (`prog[pid]:`, `prog:`, `[prog]`), which is how hostless lines are told apart.
#[inline(always)]
fn parse_header(rest: &str) -> SyslogLine<'_> {
    let mut host = None;
    let mut rest = rest;
    let first_end = super::find_byte(b' ', rest.as_bytes()).unwrap_or(rest.len());
    let first = &rest[..first_end];
    if !looks_like_tag(first) && first_end < rest.len() {
        host = Some(first);
        rest = rest[first_end..].trim_start_matches(' ');
    }
    let (program, pid, message) = match read_tag(rest) {
        Some(tag) => tag,
        None => (None, None, rest),
    };
    let (message, count) = unwrap_message(message);
    SyslogLine {
        format: SyslogFormat::NoTimestamp,
        timestamp: None,
        priority: None,
        host,
        program,
        pid,
        message,
        count,
    }
}

fn looks_like_tag(token: &str) -> bool {
    token.ends_with(':') || token.ends_with(']') || token.starts_with('[')
}

/// `prog[pid]: `, `prog: `, `[prog]: `, `[prog] ` → (program, pid, message).
#[inline(always)]
fn read_tag(rest: &str) -> Option<(Option<&str>, Option<u32>, &str)> {
    let bytes = rest.as_bytes();
    if let Some(inner) = rest.strip_prefix('[') {
        let close = inner.find(']')?;
        let program = &inner[..close];
        if program.is_empty() || program.contains(' ') {
            return None;
        }
        let after = &inner[close + 1..];
        let after = after.strip_prefix(':').unwrap_or(after);
        return Some((Some(program), None, after.strip_prefix(' ').unwrap_or(after)));
    }
    let end = bytes.iter().position(|&b| matches!(b, b'[' | b':' | b' '))?;
    if end == 0 {
        return None;
    }
    let program = &rest[..end];
    let mut pid = None;
    let mut after = &rest[end..];
    if let Some(inner) = after.strip_prefix('[') {
        let close = super::find_byte(b']', inner.as_bytes())?;
        pid = super::decimal_u32(&inner[..close]);
        after = &inner[close + 1..];
        after = after.strip_prefix(':').unwrap_or(after);
    } else {
        after = after.strip_prefix(':')?;
    }
    if !(after.is_empty() || after.starts_with(' ')) {
        return None;
    }
    Some((Some(program), pid, after.strip_prefix(' ').unwrap_or(after)))
}

/// Unwraps rsyslog's `message repeated N times: [ msg]`, Solaris's `[ID n facility.level] ` and
/// the kernel time stamp some journals put before a message (`kernel: [  970.699396] `).
#[inline(always)]
fn unwrap_message(message: &str) -> (&str, u32) {
    let mut message = strip_kernel_prefix(message);
    let mut count = 1;
    if let Some(rest) = message.strip_prefix("message repeated ")
        && let Some((number, inner)) = rest.split_once(" times: [")
        && let (Ok(n), Some(inner)) = (number.parse::<u32>(), inner.strip_suffix(']'))
    {
        count = n.max(1);
        message = inner.strip_prefix(' ').unwrap_or(inner);
    }
    if let Some(rest) = message.strip_prefix("[ID ")
        && let Some(close) = rest.find("] ")
    {
        message = &rest[close + 2..];
    }
    (message, count)
}

#[inline(always)]
fn strip_kernel_prefix(message: &str) -> &str {
    let Some(rest) = message.strip_prefix("kernel:") else { return message };
    let rest = rest.strip_prefix(' ').unwrap_or(rest);
    let Some(inner) = rest.strip_prefix('[') else { return message };
    let Some(close) = inner.find(']') else { return message };
    if !inner[..close].trim_start().bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return message;
    }
    let after = &inner[close + 1..];
    let after = after.strip_prefix(':').unwrap_or(after);
    after.strip_prefix(' ').unwrap_or(after)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::time::cet;

    fn now() -> Timestamp {
        Timestamp::from_second(1_124_013_600).unwrap()
    }

    fn parse(line: &str) -> SyslogLine<'_> {
        SyslogParser::new(cet()).parse(line, now()).unwrap()
    }

    #[test]
    fn reads_the_classic_envelope() {
        let line = parse(
            "Feb 25 14:34:10 bastion sshd[31609]: Failed password for root from 198.51.100.9",
        );
        assert_eq!(line.timestamp.unwrap().to_string(), "2005-02-25T13:34:10Z");
        assert_eq!(line.host, Some("bastion"));
        assert_eq!(line.program, Some("sshd"));
        assert_eq!(line.pid, Some(31609));
        assert_eq!(line.message, "Failed password for root from 198.51.100.9");
        assert_eq!(line.count, 1);
    }

    #[test]
    fn reads_hostless_and_bracketed_tags() {
        let line = parse("Nov 23 21:50:19 sshd[8155]: Disconnecting: Too many");
        assert_eq!((line.host, line.program, line.pid), (None, Some("sshd"), Some(8155)));
        let line = parse("Mar  3 00:17:22 [sshd]: User root from 198.51.100.9 not allowed");
        assert_eq!((line.host, line.program), (None, Some("sshd")));
        assert_eq!(line.message, "User root from 198.51.100.9 not allowed");
        let line = parse("Jun 25 23:53:34 [sshd] User root");
        assert_eq!((line.program, line.message), (Some("sshd"), "User root"));
        let line = parse("Feb 7 16:01:07 linux-m899 sshd[5113]: x");
        assert_eq!((line.host, line.message), (Some("linux-m899"), "x"));
        let line = parse("Feb 15 16:23:40 srv httpd/backend2[22041]: [authz_core:error] x");
        assert_eq!(line.program, Some("httpd/backend2"));
    }

    #[test]
    fn reads_rsyslog_iso_times() {
        let line =
            parse("2016-05-17T19:03:51.123456+00:00 host sshd[2723]: pam_unix(sshd:auth): x");
        assert_eq!(line.timestamp.unwrap().to_string(), "2016-05-17T19:03:51.123456Z");
        assert_eq!(line.message, "pam_unix(sshd:auth): x");
    }

    #[test]
    fn unwraps_repeated_messages_and_solaris_ids() {
        let line = parse(
            "Jun  1 10:00:00 h sshd[8]: message repeated 3 times: [ Failed password for root from 198.51.100.9 port 22 ssh2]",
        );
        assert_eq!(line.count, 3);
        assert_eq!(line.message, "Failed password for root from 198.51.100.9 port 22 ssh2");
        let line = parse("Mar 29 05:59:23 sol10 sshd[20885]: [ID 800047 auth.info] Failed x");
        assert_eq!(line.message, "Failed x");
        let line = parse("Mar 29 05:59:23 sol10 sshd[20885]: kernel:[  970.699396]: Failed y");
        assert_eq!(line.message, "Failed y");
    }

    #[test]
    fn reads_rfc_5424_with_structured_data() {
        let line = parse(
            r#"<38>1 2019-07-08T17:40:17.954167-04:00 hostname.example.com sshd 44444 - [timeQuality tzKnown="1"][xxx@123 test="[brackets\]"] Failed unknown"#,
        );
        assert_eq!(line.format, SyslogFormat::Rfc5424);
        assert_eq!(line.timestamp.unwrap().to_string(), "2019-07-08T21:40:17.954167Z");
        assert_eq!(
            (line.host, line.program, line.pid),
            (Some("hostname.example.com"), Some("sshd"), Some(44444))
        );
        assert_eq!(line.message, "Failed unknown");
        assert_eq!(line.priority, Some(38));
    }

    #[test]
    fn reads_journal_lines_without_time() {
        let parser = SyslogParser::new(cet());
        let line = parser.parse_without_timestamp("host nginx[983485]: 2023/12/09 x").unwrap();
        assert_eq!(
            (line.host, line.program, line.pid),
            (Some("host"), Some("nginx"), Some(983485))
        );
        assert_eq!(line.timestamp, None);
    }

    proptest::proptest! {
        /// A parser that has read other lines (and kept the last timestamp) reads each line as
        /// a fresh parser does.
        #[test]
        fn the_last_timestamp_changes_nothing(
            picks in proptest::collection::vec((0usize..12, 0usize..4, 0usize..3), 1..40)
        ) {
            let stamps = [
                "Feb 25 14:34:10",
                "Feb 25 14:34:10.250",
                "Feb 25 14:34:1",
                "Feb 25 2004 14:34:10",
                "Feb 25 14:34:11",
                "Feb 5 14:34:10",
                "Feb  5 14:34:10",
                "2005-02-25T14:34:10",
                "2005-02-25T14:34:10Z",
                "2005-02-25T14:34:10+01:00",
                "Feb 25 14:34:10:",
                "Dec 31 23:59:59",
            ];
            let tails = [" host sshd[1]: x", "  host sshd[1]: x", "host sshd[1]: x", ".5 h p: x"];
            let nows = [
                now(),
                Timestamp::from_second(1_104_537_600).unwrap(),
                Timestamp::from_second(1_109_289_600).unwrap(),
            ];
            let mut kept = SyslogParser::new(cet());
            for (stamp, tail, at) in picks {
                let line = format!("{}{}", stamps[stamp], tails[tail]);
                let fresh = SyslogParser::new(cet()).parse(&line, nows[at]);
                proptest::prop_assert_eq!(kept.parse(&line, nows[at]), fresh, "{}", line);
            }
        }
    }

    #[test]
    fn rejects_what_is_not_syslog() {
        let mut parser = SyslogParser::new(cet());
        for line in
            ["", "hello world", "Foo 12 10:00:00 h p: x", "Jan 32 10:00:00 h p: x", "<999>1 x"]
        {
            assert!(parser.parse(line, now()).is_err(), "{line}");
        }
    }
}
