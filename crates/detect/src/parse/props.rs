//! Property tests: every parser takes arbitrary input without panicking, and lines rendered from
//! known fields read back as those fields.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use proptest::prelude::*;

use super::check::{config, now};
use super::custom::{CustomConfig, CustomParser};
use super::proxy::TrustedProxies;
use super::syslog::SyslogParser;
use super::web_error::WebErrorParser;
use super::{Format, LineParser, ParseConfig, ParseError, access, detect_format, json, sshd};

const FORMATS: [Format; 5] =
    [Format::Syslog, Format::Access, Format::NginxError, Format::ApacheError, Format::Json];

/// Text that looks like log lines often enough to reach deep into the parsers.
fn loggy() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("Feb 25 14:34:10 ".to_owned()),
        Just("host sshd[130]: ".to_owned()),
        Just("Failed password for ".to_owned()),
        Just("invalid user ".to_owned()),
        Just(" from ".to_owned()),
        Just("192.0.2.1".to_owned()),
        Just("::ffff:1.2.3.4".to_owned()),
        Just(" port ".to_owned()),
        Just("22".to_owned()),
        Just(" ssh2".to_owned()),
        Just(": ".to_owned()),
        Just(" [preauth]".to_owned()),
        Just("message repeated 3 times: [ ".to_owned()),
        Just("]".to_owned()),
        Just("\"".to_owned()),
        Just("[".to_owned()),
        Just("<38>1 ".to_owned()),
        Just("2019-07-08T17:40:16.954167-04:00 ".to_owned()),
        Just("[20/Jan/2015:19:53:28 +0100] ".to_owned()),
        Just("\"GET / HTTP/1.1\" 404 47 ".to_owned()),
        Just("2012/04/09 11:53:29 [error] 2865#7: *1 ".to_owned()),
        Just(", client: ".to_owned()),
        Just(", server: ".to_owned()),
        Just("[Thu Jul 11 01:21:41 2013] [error] [client ".to_owned()),
        Just("user ".to_owned()),
        Just(" not found".to_owned()),
        Just("Received disconnect from ".to_owned()),
        Just("Connection closed by ".to_owned()),
        "[ -~]{0,8}",
        "\\PC{0,4}",
    ];
    proptest::collection::vec(piece, 0..24).prop_map(|parts| parts.concat())
}

proptest! {
    // 512 cases by default; `PROPTEST_CASES=100000` for a longer hunt.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(512),
        ..ProptestConfig::default()
    })]

    #[test]
    fn no_parser_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        for format in FORMATS {
            let mut parser = LineParser::new(format, config());
            let _ = parser.parse(&bytes, now());
        }
    }

    #[test]
    fn no_parser_panics_on_log_like_text(text in loggy()) {
        for format in FORMATS {
            let mut parser = LineParser::new(format, config());
            let _ = parser.parse(text.as_bytes(), now());
        }
        let _ = sshd::parse(&text);
        let _ = access::parse(&text);
        let _ = WebErrorParser::new(TimeZone::UTC).parse_at(&text, now());
        let _ = SyslogParser::new(TimeZone::UTC).parse_without_timestamp(&text);
        let _ = json::parse(text.as_bytes(), now());
        let _ = detect_format(&[text.as_str(), text.as_str()], now());
    }

    #[test]
    fn custom_parsers_do_not_panic(pattern in "[ -~]{0,30}", line in "\\PC{0,60}") {
        let config = CustomConfig {
            name: "p".into(),
            pattern,
            fields: Default::default(),
            timestamp: None,
            static_fields: Default::default(),
        };
        if let Ok(parser) = CustomParser::new(&config, TimeZone::UTC) {
            let _ = parser.parse(&line, now());
        }
    }

    #[test]
    fn proxies_do_not_panic(header in "[0-9a-f:., \\[\\]]{0,60}") {
        let proxies = TrustedProxies::parse(["10.0.0.0/8", "::1/128"]).unwrap();
        let _ = proxies.client_ip("10.0.0.1".parse().unwrap(), Some(&header));
    }

    #[test]
    fn lines_over_the_limit_are_rejected_and_counted(extra in 1usize..100) {
        let mut parser = LineParser::new(Format::Syslog, ParseConfig { max_line_len: 64, ..config() });
        let line = vec![b'a'; 64 + extra];
        prop_assert_eq!(parser.parse(&line, now()), Err(ParseError::TooLong { len: 64 + extra, max: 64 }));
        prop_assert_eq!(parser.stats().too_long, 1);
    }

    #[test]
    fn syslog_round_trip(
        month in 0usize..12, day in 1u8..=28, hour in 0u8..24, minute in 0u8..60, second in 0u8..60,
        host in "[a-z][a-z0-9-]{0,12}", program in "[a-z][a-z0-9_-]{0,10}", pid in 1u32..4_000_000,
        message in "[ -~]{0,80}",
    ) {
        const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
        let line = format!("{} {day:>2} {hour:02}:{minute:02}:{second:02} {host} {program}[{pid}]: {message}", MONTHS[month]);
        let parsed = SyslogParser::new(TimeZone::UTC).parse(&line, now()).unwrap();
        prop_assert_eq!(parsed.host, Some(host.as_str()));
        prop_assert_eq!(parsed.program, Some(program.as_str()));
        prop_assert_eq!(parsed.pid, Some(pid));
        let ts = parsed.timestamp.unwrap();
        prop_assert!(ts <= now().checked_add(jiff::SignedDuration::from_hours(24)).unwrap());
        let zoned = ts.to_zoned(TimeZone::UTC);
        prop_assert_eq!((zoned.month() as usize, zoned.day() as u8, zoned.hour() as u8), (month + 1, day, hour));
        if !message.starts_with("message repeated") && !message.starts_with("[ID ") && !message.starts_with("kernel:") {
            prop_assert_eq!(parsed.message, message.as_str());
        }
    }

    #[test]
    fn sshd_failed_password_round_trip(
        user_parts in proptest::collection::vec(prop_oneof![
            "[a-zA-Z0-9._-]{1,8}".boxed(),
            Just(" from 10.9.8.7".to_owned()).boxed(),
            Just(" from 10.9.8.7 port 22 ssh2".to_owned()).boxed(),
            Just(" ".to_owned()).boxed(),
        ], 1..5),
        a in 1u8..=223, b in any::<u8>(), c in any::<u8>(), d in 1u8..=254,
        port in 1u16..,
        invalid in any::<bool>(),
    ) {
        // Without `: ` a user name cannot end the address search early: the real address wins.
        let user = user_parts.concat();
        let ip = format!("{a}.{b}.{c}.{d}");
        let invalid_text = if invalid { "invalid user " } else { "" };
        let message = format!("Failed password for {invalid_text}{user} from {ip} port {port} ssh2");
        let parsed = sshd::parse(&message).unwrap();
        prop_assert_eq!(parsed.address, Some(ip.as_str()));
        prop_assert_eq!(parsed.port, Some(port));
        prop_assert_eq!(parsed.user, Some(user.as_str()));
        prop_assert_eq!(parsed.invalid_user, invalid);
    }

    #[test]
    fn access_round_trip(
        a in 1u8..=223, d in 1u8..=254,
        user in prop_oneof![Just("-".to_owned()), "[a-z]{1,8}".boxed()],
        method in prop_oneof![Just("GET"), Just("POST"), Just("HEAD"), Just("PROPFIND")],
        path in "/[a-zA-Z0-9/._%-]{0,30}", query in proptest::option::of("[a-z0-9=&%]{1,20}"),
        status in 100u16..600, size in proptest::option::of(0u64..10_000_000),
        referrer in "[ -!#-\\[\\]-~]{0,30}", agent in "[ -!#-\\[\\]-~]{0,40}",
        seconds in 0i64..2_000_000_000, offset_minutes in -720i32..=840,
    ) {
        let offset_minutes = offset_minutes - offset_minutes % 15;
        let ts = Timestamp::from_second(seconds).unwrap();
        let offset = jiff::tz::Offset::from_seconds(offset_minutes * 60).unwrap();
        let stamp = ts.to_zoned(TimeZone::fixed(offset)).strftime("%d/%b/%Y:%H:%M:%S %z").to_string();
        let target = match &query { Some(q) => format!("{path}?{q}"), None => path.clone() };
        let size_text = size.map_or("-".to_owned(), |s| s.to_string());
        let ip = format!("{a}.0.2.{d}");
        let line = format!("{ip} - {user} [{stamp}] \"{method} {target} HTTP/1.1\" {status} {size_text} \"{referrer}\" \"{agent}\"");
        let record = access::parse(&line).unwrap();
        prop_assert_eq!(record.client, ip.as_str());
        prop_assert_eq!(record.user, (user != "-").then_some(user.as_str()));
        prop_assert_eq!(record.timestamp, ts);
        prop_assert_eq!(record.method, Some(method));
        prop_assert_eq!(record.path(), Some(path.as_str()));
        prop_assert_eq!(record.query(), query.as_deref());
        prop_assert_eq!(record.status, status);
        prop_assert_eq!(record.bytes, size);
        prop_assert_eq!(record.referrer, (!referrer.is_empty() && referrer != "-").then_some(referrer.as_str()));
        prop_assert_eq!(record.user_agent, (!agent.is_empty() && agent != "-").then_some(agent.as_str()));
    }
}

#[test]
fn invalid_utf8_is_replaced_parsed_and_counted() {
    let mut parser = LineParser::new(Format::Syslog, config());
    let mut line = b"Feb 25 14:34:10 bastion sshd[31609]: Failed password for invalid user \xff\xfe from 192.0.2.1 port 22 ssh2".to_vec();
    let event = parser.parse(&line, now()).unwrap();
    assert_eq!(event.user_name(), Some("\u{fffd}\u{fffd}"));
    assert_eq!(event.source_ip(), Some("192.0.2.1".parse().unwrap()));
    line.push(b'\n');
    parser.parse(&line, now()).unwrap();
    assert_eq!(parser.stats().invalid_utf8, 2);
    assert_eq!(parser.stats().events, 2);
}

proptest! {
    /// The decimal reader gives what the standard parser gives.
    #[test]
    fn decimals_read_as_the_standard_parser_reads_them(text in "[+0-9a -]{0,12}") {
        prop_assert_eq!(super::decimal_u16(&text), text.parse::<u16>().ok());
        prop_assert_eq!(super::decimal_u32(&text), text.parse::<u32>().ok());
    }

    /// Around the length where the reader stops checking each step for overflow (19 digits).
    #[test]
    fn long_decimals_read_as_the_standard_parser_reads_them(text in "[+]?[0-9]{17,22}") {
        prop_assert_eq!(super::decimal(&text, u64::MAX), text.parse::<u64>().ok());
    }

    /// The substring search by first byte finds what memmem finds.
    #[test]
    fn find_str_agrees_with_memmem(bytes in proptest::collection::vec(prop_oneof![Just(b' '), Just(b'f'), Just(b'r'), Just(b'o'), Just(b'm'), Just(b':')], 0..40)) {
        for needle in [&b" from "[..], b": ", b" fr", b"x", b""] {
            let expected = if needle.is_empty() { None } else { memchr::memmem::find(&bytes, needle) };
            prop_assert_eq!(super::find_str(&bytes, needle), expected);
        }
    }

    /// Leading digits read as a port agree with `str::parse` on the digits.
    #[test]
    fn leading_ports_read_as_the_standard_parser_reads_them(text in "[0-9]{0,8}[ a0-9]{0,3}") {
        let digits = text.bytes().take_while(u8::is_ascii_digit).count();
        prop_assert_eq!(super::leading_u16(&text), (text[..digits].parse::<u16>().ok(), digits));
    }

    /// The address check agrees with its definition (every byte allowed, one alphanumeric).
    #[test]
    fn is_address_agrees_with_its_definition(text in "[a-z0-9.:_ /-]{0,12}") {
        let expected = !text.is_empty()
            && text.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':'))
            && text.bytes().any(|b| b.is_ascii_alphanumeric());
        prop_assert_eq!(super::is_address(&text), expected);
    }

    /// The short-field byte search finds what memchr finds, on both sides of its loop's end.
    #[test]
    fn find_byte_agrees_with_memchr(bytes in proptest::collection::vec(prop_oneof![Just(b' '), Just(b'a'), Just(b']')], 0..40)) {
        for needle in [b' ', b']', b'x'] {
            prop_assert_eq!(super::find_byte(needle, &bytes), memchr::memchr(needle, &bytes));
        }
    }

    /// The quick IPv4 check agrees with the standard parser.
    #[test]
    fn is_ipv4_agrees_with_the_standard_parser(text in "[0-9.a+ ]{0,17}") {
        prop_assert_eq!(super::is_ipv4(&text), text.parse::<std::net::Ipv4Addr>().is_ok());
    }

    /// … and on text shaped like addresses (parts over 255, leading zeros, parts missing).
    #[test]
    fn is_ipv4_agrees_on_near_addresses(parts in proptest::collection::vec("0{0,2}[0-9]{1,3}", 2..6)) {
        let text = parts.join(".");
        prop_assert_eq!(super::is_ipv4(&text), text.parse::<std::net::Ipv4Addr>().is_ok());
    }
}

#[test]
fn decimals_on_the_edges() {
    for text in [
        "65535",
        "65536",
        "4294967295",
        "4294967296",
        "+",
        "",
        "+7",
        "007",
        "-1",
        "1 ",
        "0000000000000000000000022",
        "99999999999999999999999",
        "9999999999999999999",
        "18446744073709551615",
        "18446744073709551616",
    ] {
        assert_eq!(super::decimal(text, u64::MAX), text.parse::<u64>().ok(), "{text:?}");
        assert_eq!(super::decimal_u16(text), text.parse::<u16>().ok(), "{text:?}");
        assert_eq!(super::decimal_u32(text), text.parse::<u32>().ok(), "{text:?}");
    }
}

#[test]
fn is_ipv4_on_the_edges() {
    for text in [
        "0.0.0.0",
        "255.255.255.255",
        "1.2.3.4",
        "10.0.0.1",
        "256.1.1.1",
        "01.2.3.4",
        "1.2.3",
        "1.2.3.4.5",
        "1..2.3",
        ".1.2.3",
        "1.2.3.",
        "1.2.3.04",
        "1000.1.1.1",
        "1.2.3.4 ",
        "+1.2.3.4",
        "",
        "a.b.c.d",
        "001.1.1.1",
        "0.0.0.00",
    ] {
        assert_eq!(super::is_ipv4(text), text.parse::<std::net::Ipv4Addr>().is_ok(), "{text}");
    }
}
