//! nginx and Apache access logs in the combined and common formats:
//! `client ident user [dd/Mon/yyyy:hh:mm:ss +zzzz] "METHOD target HTTP/v" status bytes
//! ["referrer" "user agent" …]`. Extra quoted fields after the user agent (often
//! `$http_x_forwarded_for`) are kept in [`AccessRecord::extra`]; the first is offered as the
//! `X-Forwarded-For` value, for [`super::TrustedProxies`] to judge.

use firebreak_core::event::Event;
use jiff::Timestamp;
use serde_json::Value;

use super::proxy::TrustedProxies;
use super::time::{Civil, Cursor, month_from_abbrev};
use super::{is_address, parse_ip};

/// One access-log line, borrowed from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessRecord<'a> {
    /// The peer address as logged (the proxy's, when there is one).
    pub client: &'a str,
    /// The authenticated user, `None` for `-`.
    pub user: Option<&'a str>,
    pub timestamp: Timestamp,
    /// The request line as logged (escapes left as the server wrote them).
    pub request: &'a str,
    pub method: Option<&'a str>,
    pub target: Option<&'a str>,
    pub version: Option<&'a str>,
    pub status: u16,
    pub bytes: Option<u64>,
    pub referrer: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    /// The first quoted field after the user agent, when present and not `-`.
    pub forwarded_for: Option<&'a str>,
    /// Whatever follows the user agent, unparsed.
    pub extra: Option<&'a str>,
    /// Apache's `vhost_combined` prefix (`%v:%p`): the virtual host and port.
    pub vhost: Option<&'a str>,
}

impl<'a> AccessRecord<'a> {
    pub fn path(&self) -> Option<&'a str> {
        let target = self.target?;
        Some(memchr::memchr(b'?', target.as_bytes()).map_or(target, |at| &target[..at]))
    }

    pub fn query(&self) -> Option<&'a str> {
        let target = self.target?;
        memchr::memchr(b'?', target.as_bytes()).map(|at| &target[at + 1..])
    }

    /// `success` below 400, `failure` for 4xx and 5xx.
    pub fn outcome(&self) -> &'static str {
        if self.status >= 400 { "failure" } else { "success" }
    }

    /// The event, with the logged peer as the source.
    pub fn to_event(&self) -> Event {
        self.to_event_behind(&TrustedProxies::default())
    }

    /// The event, with the real client as the source: when the logged peer is one of `proxies`,
    /// the client is read from the forwarded-for field (see [`TrustedProxies::client_ip`]) and
    /// the proxy's address is kept in `http.request.proxy_ip`.
    pub fn to_event_behind(&self, proxies: &TrustedProxies) -> Event {
        let mut fields: Vec<(&str, Value)> = Vec::with_capacity(16);
        fields.push(("firebreak.source", Value::from("webserver")));
        fields.push(("event.category", Value::from("web")));
        fields.push(("event.action", Value::from("http_request")));
        fields.push(("event.outcome", Value::from(self.outcome())));
        let peer = parse_ip(self.client);
        match peer {
            Some(peer) => {
                let client = proxies.client_ip(peer, self.forwarded_for);
                fields.push(("source.address", Value::from(client.to_string())));
                fields.push(("source.ip", Value::from(client.to_string())));
                if client != peer {
                    fields.push(("http.request.proxy_ip", Value::from(peer.to_string())));
                }
            }
            None => fields.push(("source.address", Value::from(self.client))),
        }
        if let Some(user) = self.user {
            fields.push(("user.name", Value::from(user)));
        }
        if let Some(method) = self.method {
            fields.push(("http.request.method", Value::from(method)));
        }
        if let Some(target) = self.target {
            fields.push(("url.original", Value::from(target)));
        } else {
            fields.push(("url.original", Value::from(self.request)));
        }
        if let Some(path) = self.path() {
            fields.push(("url.path", Value::from(path)));
        }
        if let Some(query) = self.query() {
            fields.push(("url.query", Value::from(query)));
        }
        if let Some(version) = self.version.and_then(|v| v.strip_prefix("HTTP/")) {
            fields.push(("http.version", Value::from(version)));
        }
        fields.push(("http.response.status_code", Value::from(self.status)));
        if let Some(bytes) = self.bytes {
            fields.push(("http.response.body.bytes", Value::from(bytes)));
        }
        if let Some(referrer) = self.referrer {
            fields.push(("http.request.referrer", Value::from(referrer)));
        }
        if let Some(agent) = self.user_agent {
            fields.push(("user_agent.original", Value::from(agent)));
        }
        if let Some((domain, port)) = self.vhost.and_then(|v| v.rsplit_once(':')) {
            fields.push(("url.domain", Value::from(domain)));
            if let Ok(port) = port.parse::<u16>() {
                fields.push(("url.port", Value::from(port)));
            }
        }
        if let Some(forwarded) = self.forwarded_for {
            fields.push(("http.request.forwarded_for", Value::from(forwarded)));
        }
        Event::from_pairs(self.timestamp, fields)
    }
}

fn dash_none(text: &str) -> Option<&str> {
    (text != "-" && !text.is_empty()).then_some(text)
}

/// Reads one access-log line (combined, common, or Apache's `vhost_combined` with a leading
/// `host:port`); `None` if it is not one.
pub fn parse(line: &str) -> Option<AccessRecord<'_>> {
    AccessParser::default().parse(line)
}

/// Reads access-log lines one after the other, keeping the last timestamp: the lines of one
/// second share its text, and comparing that text costs less than reading the date again.
#[derive(Debug, Clone, Default)]
pub struct AccessParser {
    last: Option<LastStamp>,
}

/// The text between `[` and `]` of the last timestamp read, and the instant it names. The same
/// text before a `]` always reads the same.
#[derive(Debug, Clone, Copy)]
struct LastStamp {
    text: [u8; LAST_STAMP_MAX],
    len: usize,
    at: Timestamp,
}

const LAST_STAMP_MAX: usize = 40;

impl AccessParser {
    /// As [`parse`].
    pub fn parse<'a>(&mut self, line: &'a str) -> Option<AccessRecord<'a>> {
        if let Some(record) = parse_plain(line, &mut self.last) {
            return Some(record);
        }
        let (vhost, rest) = line.split_once(' ')?;
        let (_, port) = vhost.rsplit_once(':')?;
        port.parse::<u16>().ok()?;
        let mut record = parse_plain(rest, &mut self.last)?;
        record.vhost = Some(vhost);
        Some(record)
    }
}

/// `dd/Mon/yyyy:hh:mm:ss zone` from the cursor (just after `[`), through the last timestamp.
fn read_stamp(cursor: &mut Cursor<'_>, last: &mut Option<LastStamp>) -> Option<Timestamp> {
    let bytes = cursor.bytes;
    let start = cursor.pos;
    if let Some(last) = last
        && let (Some(text), Some(seen)) =
            (last.text.get(..last.len), bytes.get(start..start + last.len))
        && text == seen
        && bytes.get(start + last.len) == Some(&b']')
    {
        cursor.pos = start + last.len;
        return Some(last.at);
    }
    let day = cursor.digits(1, 2)?;
    cursor.eat(b'/')?;
    let month = month_from_abbrev(bytes.get(cursor.pos..cursor.pos + 3)?)?;
    cursor.pos += 3;
    cursor.eat(b'/')?;
    let year = cursor.digits(4, 4)?;
    cursor.eat(b':')?;
    let (hour, minute, second, nanos) = cursor.clock()?;
    cursor.skip_spaces();
    let offset = cursor.offset()?;
    let civil = Civil {
        year: i32::try_from(year).ok()?,
        month,
        day: u8::try_from(day).ok()?,
        hour,
        minute,
        second,
        nanos,
    };
    let at = civil.at_offset(offset)?;
    let len = cursor.pos - start;
    if cursor.peek() == Some(b']')
        && let Some(seen) = bytes.get(start..cursor.pos)
    {
        let mut text = [0; LAST_STAMP_MAX];
        if let Some(place) = text.get_mut(..len) {
            place.copy_from_slice(seen);
            *last = Some(LastStamp { text, len, at });
        }
    }
    Some(at)
}

fn parse_plain<'a>(line: &'a str, last: &mut Option<LastStamp>) -> Option<AccessRecord<'a>> {
    let bytes = line.as_bytes();
    let mut at = 0;
    let mut token = || -> Option<&str> {
        let start = at;
        let len = memchr::memchr(b' ', bytes.get(start..)?)?;
        at = start + len + 1;
        line.get(start..start + len)
    };
    let client = token()?;
    let _ident = token()?;
    let user = token()?;
    if !is_address(client) {
        return None;
    }
    let mut cursor = Cursor::new(bytes);
    cursor.pos = at;
    cursor.eat(b'[')?;
    let timestamp = read_stamp(&mut cursor, last)?;
    cursor.eat(b']')?;
    cursor.eat(b' ')?;
    cursor.eat(b'"')?;
    // The request ends at the quote followed by ` <3-digit status> `.
    let request_start = cursor.pos;
    let mut search = request_start;
    let (request_end, status) = loop {
        let quote = search + memchr::memchr(b'"', bytes.get(search..)?)?;
        let escaped =
            bytes[request_start..quote].iter().rev().take_while(|&&b| b == b'\\').count() % 2 == 1;
        if let Some(status) = status_after(bytes, quote).filter(|_| !escaped) {
            break (quote, status);
        }
        search = quote + 1;
    };
    let request = line.get(request_start..request_end)?;
    let rest = line.get(request_end + 6..).unwrap_or(""); // after `" 200 `
    let (bytes_text, mut rest) = match memchr::memchr(b' ', rest.as_bytes()) {
        Some(space) => (&rest[..space], &rest[space + 1..]),
        None => (rest, ""),
    };
    let sent = bytes_text.parse::<u64>().ok();
    if sent.is_none() && bytes_text != "-" {
        return None;
    }
    let mut quoted = [None; 3];
    for slot in &mut quoted {
        rest = rest.trim_start();
        let Some(inner) = rest.strip_prefix('"') else { break };
        let Some(end) = closing_quote(inner) else { break };
        *slot = Some(&inner[..end]);
        rest = &inner[end + 1..];
    }
    let (method, target, version) = split_request(request);
    let extra_start = match (quoted[0], quoted[1]) {
        (Some(_), Some(agent)) => {
            Some(agent.as_ptr() as usize - line.as_ptr() as usize + agent.len() + 1)
        }
        _ => None,
    };
    Some(AccessRecord {
        client,
        user: dash_none(user),
        timestamp,
        request,
        method,
        target,
        version,
        status,
        bytes: sent,
        referrer: quoted[0].and_then(dash_none),
        user_agent: quoted[1].and_then(dash_none),
        forwarded_for: quoted[2].and_then(dash_none),
        extra: extra_start
            .and_then(|start| line.get(start..))
            .map(str::trim)
            .filter(|s| !s.is_empty()),
        vhost: None,
    })
}

/// If the quote at `quote` is followed by ` NNN ` or ` NNN` at the end, the status.
fn status_after(bytes: &[u8], quote: usize) -> Option<u16> {
    let after = bytes.get(quote + 1..)?;
    let [b' ', a @ b'1'..=b'5', b @ b'0'..=b'9', c @ b'0'..=b'9', rest @ ..] = after else {
        return None;
    };
    if !(rest.is_empty() || rest[0] == b' ') {
        return None;
    }
    Some(u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0'))
}

/// The end of a quoted field: the first `"` not escaped by a backslash. Jumps from one quote or
/// backslash to the next with memchr: a user agent is a hundred bytes that are neither.
fn closing_quote(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut from = 0;
    loop {
        let at = from + memchr::memchr2(b'\\', b'"', bytes.get(from..)?)?;
        if bytes.get(at) == Some(&b'"') {
            return Some(at);
        }
        from = at + 2;
    }
}

/// `GET /x?y HTTP/1.1` → method, target, version. A request line that is not three parts (a TLS
/// handshake sent to port 80, `-`) gives none.
fn split_request(request: &str) -> (Option<&str>, Option<&str>, Option<&str>) {
    let Some(space) = memchr::memchr(b' ', request.as_bytes()) else { return (None, None, None) };
    let (method, rest) = (&request[..space], &request[space + 1..]);
    if method.is_empty()
        || !method.bytes().all(|b| b.is_ascii_uppercase() || b == b'_' || b == b'-')
    {
        return (None, None, None);
    }
    match memchr::memrchr(b' ', rest.as_bytes()) {
        Some(space) if rest[space + 1..].starts_with("HTTP/") => {
            (Some(method), Some(&rest[..space]), Some(&rest[space + 1..]))
        }
        _ => (Some(method), Some(rest), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::Format;
    use crate::parse::check::check_fields;

    #[test]
    fn combined_lines() {
        check_fields(
            Format::Access,
            r#"203.0.113.7 - alice [10/Oct/2024:13:55:36 +0200] "GET /login.php?next=%2Fadmin HTTP/1.1" 401 512 "https://example.com/" "Mozilla/5.0 (X11; Linux x86_64)""#,
            &[
                ("@timestamp", "2024-10-10T11:55:36Z"),
                ("source.ip", "203.0.113.7"),
                ("user.name", "alice"),
                ("http.request.method", "GET"),
                ("url.original", "/login.php?next=%2Fadmin"),
                ("url.path", "/login.php"),
                ("url.query", "next=%2Fadmin"),
                ("http.version", "1.1"),
                ("http.response.status_code", "401"),
                ("http.response.body.bytes", "512"),
                ("http.request.referrer", "https://example.com/"),
                ("user_agent.original", "Mozilla/5.0 (X11; Linux x86_64)"),
                ("event.category", "web"),
                ("event.outcome", "failure"),
            ],
        );
    }

    #[test]
    fn common_lines_and_odd_requests() {
        check_fields(
            Format::Access,
            r#"2001:db8::1 - - [01/Jan/2025:00:00:00 +0000] "POST /api HTTP/2.0" 200 -"#,
            &[
                ("source.ip", "2001:db8::1"),
                ("user.name", "null"),
                ("http.response.body.bytes", "null"),
                ("event.outcome", "success"),
            ],
        );
        check_fields(
            Format::Access,
            r#"192.0.2.201 - - [01/Jan/2025:00:00:00 +0000] "\x16\x03\x01\x00\xa5" 400 157 "-" "-""#,
            &[
                ("http.request.method", "null"),
                ("url.original", r"\x16\x03\x01\x00\xa5"),
                ("http.request.referrer", "null"),
            ],
        );
        check_fields(
            Format::Access,
            r#"203.0.113.78 - - [20/Jan/2015:19:53:28 +0100] "GET //phpmyadmin/setup/index.php HTTP/1.1" 404 47 "-" "-" "198.51.100.4""#,
            &[
                ("url.path", "//phpmyadmin/setup/index.php"),
                ("http.request.forwarded_for", "198.51.100.4"),
                ("@timestamp", "2015-01-20T18:53:28Z"),
            ],
        );
        // Apache escapes a quote inside the request as \"; the request still ends at the status.
        check_fields(
            Format::Access,
            r#"192.0.2.3 - - [01/Jan/2025:00:00:00 +0000] "GET /a\"b\" 200 1 HTTP/1.1" 404 0 "-" "curl/8""#,
            &[
                ("url.original", r#"/a\"b\" 200 1"#),
                ("http.response.status_code", "404"),
                ("user_agent.original", "curl/8"),
            ],
        );
    }

    #[test]
    fn apache_vhost_combined() {
        check_fields(
            Format::Access,
            r#"shop.example.com:443 198.51.100.23 - - [02/Feb/2025:08:00:01 +0100] "GET /cart HTTP/2.0" 302 0 "-" "Mozilla/5.0""#,
            &[
                ("url.domain", "shop.example.com"),
                ("url.port", "443"),
                ("source.ip", "198.51.100.23"),
                ("url.path", "/cart"),
            ],
        );
    }

    #[test]
    fn the_client_behind_a_trusted_proxy() {
        let line = r#"10.0.0.2 - - [01/Jan/2025:00:00:00 +0000] "POST /login HTTP/1.1" 401 0 "-" "curl/8" "203.0.113.50, 10.0.0.9""#;
        let record = parse(line).unwrap();
        let proxies = TrustedProxies::parse(["10.0.0.0/8"]).unwrap();
        let event = record.to_event_behind(&proxies);
        assert_eq!(event.get_str("source.ip"), Some("203.0.113.50"));
        assert_eq!(event.get_str("http.request.proxy_ip"), Some("10.0.0.2"));
        // Not trusted: the header is the client's own claim and changes nothing.
        let event = record.to_event();
        assert_eq!(event.get_str("source.ip"), Some("10.0.0.2"));
        assert_eq!(event.get_str("http.request.proxy_ip"), None);
    }

    #[test]
    fn not_access_lines() {
        for line in [
            "",
            "hello",
            "198.51.100.9 - - [xx] \"GET / HTTP/1.1\" 200 1",
            "198.51.100.9 - - [01/Jan/2025:00:00:00 +0000] \"GET /\" 999 1",
        ] {
            assert!(parse(line).is_none(), "{line}");
        }
    }

    proptest::proptest! {
        /// A parser that has read other lines (and kept the last timestamp) reads each line as
        /// a fresh one does.
        #[test]
        fn the_last_timestamp_changes_nothing(
            picks in proptest::collection::vec((0usize..9, 0usize..3), 1..40)
        ) {
            let stamps = [
                "10/Oct/2024:13:55:36 +0200",
                "10/Oct/2024:13:55:36 +0000",
                "10/Oct/2024:13:55:36 -0700",
                "10/Oct/2024:13:55:37 +0200",
                "10/Oct/2024:13:55:36 +02",
                "10/Oct/2024:13:55:36.250 +0200",
                "1/Oct/2024:13:55:36 +0200",
                "31/Feb/2024:13:55:36 +0200",
                "10/Oct/2024:13:55:36 +0200 ",
            ];
            let tails = ["] \"GET / HTTP/1.1\" 200 5", "]x \"GET / HTTP/1.1\" 200 5", "] \"GET /\" 404 -"];
            let mut kept = AccessParser::default();
            for (stamp, tail) in picks {
                let line = format!("192.0.2.1 - - [{}{}", stamps[stamp], tails[tail]);
                proptest::prop_assert_eq!(kept.parse(&line), parse(&line), "{}", line);
            }
        }
    }
}
