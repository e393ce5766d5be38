//! Which built-in format a file is in, judged from its first lines: each candidate parser reads
//! the samples, and the one that reads most of them (at least half) wins.

use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::access;
use super::syslog::SyslogParser;
use super::web_error::{WebErrorParser, WebServer};

/// A log format firebreak reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// RFC 3164 / RFC 5424 syslog; the program's parser reads the message (sshd → OpenSSH).
    Syslog,
    /// nginx or Apache access log, combined or common.
    Access,
    NginxError,
    ApacheError,
    /// One JSON object per line (ECS or close to it).
    Json,
    /// A user-defined regular expression.
    Custom,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Syslog => "syslog",
            Format::Access => "access",
            Format::NginxError => "nginx-error",
            Format::ApacheError => "apache-error",
            Format::Json => "json",
            Format::Custom => "custom",
        }
    }
}

/// The built-in format most of `samples` (blank lines ignored) are in, if any reads at least
/// half of them. `now` only matters for year-less syslog times.
pub fn detect_format(samples: &[&str], now: Timestamp) -> Option<Format> {
    let lines: Vec<&str> =
        samples.iter().map(|l| l.trim_end()).filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        return None;
    }
    let mut syslog = SyslogParser::new(TimeZone::UTC);
    let mut web = WebErrorParser::new(TimeZone::UTC);
    let mut counts = [
        (Format::Json, 0usize),
        (Format::Access, 0),
        (Format::NginxError, 0),
        (Format::ApacheError, 0),
        (Format::Syslog, 0),
    ];
    for line in &lines {
        let format = if line.starts_with('{')
            && serde_json::from_str::<serde_json::Value>(line).is_ok_and(|v| v.is_object())
        {
            Some(Format::Json)
        } else if access::parse(line).is_some() {
            Some(Format::Access)
        } else if let Some(record) =
            web.parse(line).filter(|_| !line.starts_with(|c: char| c.is_ascii_alphabetic()))
        {
            Some(match record.server {
                WebServer::Nginx => Format::NginxError,
                WebServer::Apache => Format::ApacheError,
            })
        } else if syslog.parse(line, now).is_ok() {
            Some(Format::Syslog)
        } else {
            None
        };
        if let Some(format) = format
            && let Some(slot) = counts.iter_mut().find(|(f, _)| *f == format)
        {
            slot.1 += 1;
        }
    }
    let (format, count) = counts.iter().copied().max_by_key(|(_, count)| *count)?;
    (count * 2 >= lines.len() && count > 0).then_some(format)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::check::now;

    #[test]
    fn tells_the_formats_apart() {
        let cases: [(&[&str], Option<Format>); 6] = [
            (
                &[
                    "Feb 25 14:34:10 bastion sshd[31609]: Failed password for root from 198.51.100.9 port 1 ssh2",
                    "",
                ],
                Some(Format::Syslog),
            ),
            (
                &[
                    r#"198.51.100.9 - - [20/Jan/2015:19:53:28 +0100] "GET / HTTP/1.1" 404 47 "-" "-""#,
                ],
                Some(Format::Access),
            ),
            (
                &[
                    r#"2012/04/09 11:53:29 [error] 2865#7: *66647 user "bob" was not found in "/x", client: 203.0.113.43, server: s"#,
                ],
                Some(Format::NginxError),
            ),
            (
                &["[Thu Jul 11 01:21:41 2013] [error] [client 198.51.100.113] user  not found: /"],
                Some(Format::ApacheError),
            ),
            (&[r#"{"@timestamp":"2026-01-01T00:00:00Z"}"#, r#"{"a":1}"#], Some(Format::Json)),
            (&["hello", "world"], None),
        ];
        for (samples, want) in cases {
            assert_eq!(detect_format(samples, now()), want, "{samples:?}");
        }
    }
}
