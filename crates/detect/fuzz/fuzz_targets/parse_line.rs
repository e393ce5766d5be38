//! Fuzz target: any bytes, through every built-in format and the borrowed-record parsers. The
//! only failure is a panic (or a hang): every parser must return an error instead.

#![no_main]

use firebreak_detect::parse::sshd;
use firebreak_detect::parse::syslog::SyslogParser;
use firebreak_detect::parse::web_error::WebErrorParser;
use firebreak_detect::parse::{Format, LineParser, ParseConfig, access, detect_format};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let now = Timestamp::from_second(1_124_013_600).unwrap_or(Timestamp::UNIX_EPOCH);
    for format in [Format::Syslog, Format::Access, Format::NginxError, Format::ApacheError, Format::Json] {
        let _ = LineParser::new(format, ParseConfig::default()).parse(data, now);
    }
    let text = String::from_utf8_lossy(data);
    let _ = sshd::parse(&text);
    let _ = access::parse(&text);
    let _ = SyslogParser::new(TimeZone::UTC).parse_without_timestamp(&text);
    let _ = WebErrorParser::new(TimeZone::UTC).parse_at(&text, now);
    let _ = detect_format(&[&text], now);
});
