//! nginx and Apache *error* logs: the lines that say a client failed HTTP authentication, was
//! denied, asked for a script or file that does not exist, or broke the TLS handshake.
//!
//! nginx: `YYYY/MM/DD hh:mm:ss [level] pid#tid: *conn message, client: A, server: S[, request:
//! "…"][, host: "…"]…`. The message can hold attacker text (a user name), so the client is the
//! leftmost `, client: ` after which the rest of the line reads as nginx's own trailer.
//!
//! Apache: `[Www Mmm dd hh:mm:ss[.us] yyyy] [module:level] [pid N[:tid M]] [client A[:port]]
//! [AHnnnnn: ]message[, referer: …]`, also sent through syslog (`ErrorLog syslog`), and 2.2's
//! `[…] [error] [client A] message`.

use firebreak_core::event::Event;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde_json::Value;

use super::syslog::SyslogParser;
use super::time::{Civil, Cursor, LocalTime, month_from_abbrev};
use super::{is_address, parse_ip};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebServer {
    Nginx,
    Apache,
}

/// What an error line says about the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebErrorKind {
    /// Basic or digest authentication named a user that does not exist.
    UserNotFound,
    /// The user exists; the password was wrong.
    PasswordMismatch,
    /// Authentication failed without saying why (PAM, `authentication failure`).
    AuthFailure,
    /// Authenticated, but not allowed (`Authorization of user … failed`).
    AuthzFailure,
    /// `client denied by server configuration`, nginx `access forbidden by rule`.
    AccessDenied,
    /// `client used wrong authentication scheme`.
    WrongAuthScheme,
    /// A malformed or replayed digest (`invalid nonce`, `realm mismatch`, `unknown algorithm`,
    /// `invalid qop`).
    DigestInvalid,
    /// The TLS server name and the HTTP host disagree (Apache AH02031–AH02033).
    SniMismatch,
    /// `File does not exist`, nginx `open() "…" failed (2: No such file or directory)`.
    FileNotFound,
    /// `script not found or unable to stat`, `Primary script unknown`.
    ScriptNotFound,
    /// nginx `SSL_do_handshake() failed`, `SSL_read() failed`.
    TlsFailure,
    /// nginx `limit_req`: `limiting requests, excess: … by zone "…"`.
    RateLimited,
    /// nginx `no user/password was provided for basic authentication`: the challenge a browser
    /// gets before it asks its user, so not a failure by itself.
    AuthMissing,
    /// Anything else.
    Other,
}

impl WebErrorKind {
    pub fn action(self) -> &'static str {
        match self {
            WebErrorKind::UserNotFound => "http_auth_user_not_found",
            WebErrorKind::PasswordMismatch => "http_auth_password_mismatch",
            WebErrorKind::AuthFailure => "http_auth_failure",
            WebErrorKind::AuthzFailure => "http_authz_failure",
            WebErrorKind::AccessDenied => "http_access_denied",
            WebErrorKind::WrongAuthScheme => "http_auth_scheme_mismatch",
            WebErrorKind::DigestInvalid => "http_digest_invalid",
            WebErrorKind::SniMismatch => "tls_sni_mismatch",
            WebErrorKind::FileNotFound => "http_file_not_found",
            WebErrorKind::ScriptNotFound => "http_script_not_found",
            WebErrorKind::TlsFailure => "tls_handshake_failed",
            WebErrorKind::RateLimited => "http_rate_limited",
            WebErrorKind::AuthMissing => "http_auth_missing",
            WebErrorKind::Other => "web_error",
        }
    }

    fn category(self) -> &'static str {
        match self {
            WebErrorKind::UserNotFound
            | WebErrorKind::PasswordMismatch
            | WebErrorKind::AuthFailure
            | WebErrorKind::AuthzFailure
            | WebErrorKind::WrongAuthScheme
            | WebErrorKind::DigestInvalid
            | WebErrorKind::AuthMissing => "authentication",
            WebErrorKind::TlsFailure | WebErrorKind::SniMismatch => "network",
            _ => "web",
        }
    }
}

/// One error-log line, borrowed from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebErrorRecord<'a> {
    pub server: WebServer,
    /// `None` for a journal line without its own time.
    pub timestamp: Option<Timestamp>,
    pub level: &'a str,
    /// Apache's module (`auth_basic`, `evasive20`…), when logged.
    pub module: Option<&'a str>,
    pub client: Option<&'a str>,
    pub client_port: Option<u16>,
    /// Apache's error code (`AH01618`).
    pub code: Option<&'a str>,
    /// The message without the client trailer (nginx) or prefixes (Apache).
    pub message: &'a str,
    pub kind: WebErrorKind,
    pub user: Option<&'a str>,
    /// The file or URL path the message is about, when it names one.
    pub path: Option<&'a str>,
    /// nginx's `request: "…"`.
    pub request: Option<&'a str>,
}

impl WebErrorRecord<'_> {
    pub fn outcome(&self) -> &'static str {
        match self.kind {
            WebErrorKind::Other | WebErrorKind::AuthMissing => "unknown",
            _ => "failure",
        }
    }

    pub fn to_event(&self, now: Timestamp) -> Event {
        let mut fields: Vec<(&str, Value)> = Vec::with_capacity(12);
        fields.push(("event.category", Value::from(self.kind.category())));
        fields.push(("event.action", Value::from(self.kind.action())));
        fields.push(("event.outcome", Value::from(self.outcome())));
        fields.push(("log.level", Value::from(self.level)));
        fields.push((
            "process.name",
            Value::from(match self.server {
                WebServer::Nginx => "nginx",
                WebServer::Apache => "apache",
            }),
        ));
        if let Some(module) = self.module {
            fields.push(("log.logger", Value::from(module)));
        }
        if let Some(client) = self.client {
            fields.push(("source.address", Value::from(client)));
            if let Some(ip) = parse_ip(client) {
                fields.push(("source.ip", Value::from(ip.to_string())));
            }
        }
        if let Some(port) = self.client_port {
            fields.push(("source.port", Value::from(port)));
        }
        if let Some(code) = self.code {
            fields.push(("error.code", Value::from(code)));
        }
        if let Some(user) = self.user {
            fields.push(("user.name", Value::from(user)));
        }
        if let Some(path) = self.path {
            fields.push(("file.path", Value::from(path)));
        }
        if let Some(request) = self.request {
            fields.push(("http.request.line", Value::from(request)));
            let mut parts = request.split(' ');
            if let (Some(method), Some(target)) = (parts.next(), parts.next()) {
                fields.push(("http.request.method", Value::from(method)));
                fields.push(("url.original", Value::from(target)));
                fields.push(("url.path", Value::from(target.split('?').next().unwrap_or(target))));
            }
        }
        fields.push(("message", Value::from(self.message)));
        Event::from_pairs(self.timestamp.unwrap_or(now), fields)
    }
}

/// Reads nginx and Apache error lines; keeps the local-time cache (both write local time).
#[derive(Debug, Clone)]
pub struct WebErrorParser {
    local: LocalTime,
    syslog: SyslogParser,
}

impl WebErrorParser {
    pub fn new(zone: TimeZone) -> WebErrorParser {
        WebErrorParser { local: LocalTime::new(zone.clone()), syslog: SyslogParser::new(zone) }
    }

    /// Reads one line of either server's error log, bare or inside a syslog or journal envelope.
    pub fn parse<'a>(&mut self, line: &'a str) -> Option<WebErrorRecord<'a>> {
        self.parse_depth(line, None, 0)
    }

    /// As [`WebErrorParser::parse`], placing a year-less syslog envelope relative to `now`.
    pub fn parse_at<'a>(&mut self, line: &'a str, now: Timestamp) -> Option<WebErrorRecord<'a>> {
        self.parse_depth(line, Some(now), 0)
    }

    fn parse_depth<'a>(
        &mut self,
        line: &'a str,
        now: Option<Timestamp>,
        depth: u8,
    ) -> Option<WebErrorRecord<'a>> {
        let line = line.trim_end();
        match line.as_bytes().first()? {
            b'0'..=b'9' => {
                if let Some(record) = self.nginx(line) {
                    return Some(record);
                }
            }
            b'[' => return self.apache(line, true),
            _ => {}
        }
        if depth >= 2 {
            return None;
        }
        // Through syslog (`Feb 15 16:23:00 srv httpd[1]: [authz_core:error] …`) or a journal
        // export (`host nginx[1]: 2023/12/09 …`).
        let envelope = match now {
            Some(now) => self.syslog.parse(line, now).ok(),
            None => None,
        };
        let (timestamp, message) = match envelope {
            Some(envelope) => (envelope.timestamp, envelope.message),
            None => {
                let envelope = self.syslog.parse_without_timestamp(line).ok()?;
                (None, envelope.message)
            }
        };
        if message.starts_with('[') {
            let mut record = self.apache(message, false)?;
            record.timestamp = record.timestamp.or(timestamp);
            return Some(record);
        }
        let mut record = self.parse_depth(message, now, depth + 1)?;
        record.timestamp = record.timestamp.or(timestamp);
        Some(record)
    }

    fn nginx<'a>(&mut self, line: &'a str) -> Option<WebErrorRecord<'a>> {
        let bytes = line.as_bytes();
        let mut cursor = Cursor::new(bytes);
        let year = cursor.digits(4, 4)?;
        cursor.eat(b'/')?;
        let month = cursor.digits(2, 2)?;
        cursor.eat(b'/')?;
        let day = cursor.digits(2, 2)?;
        cursor.eat(b' ')?;
        let (hour, minute, second, nanos) = cursor.clock()?;
        cursor.eat(b' ')?;
        cursor.eat(b'[')?;
        let level_start = cursor.pos;
        let level_len = memchr::memchr(b']', cursor.rest())?;
        let level = line.get(level_start..level_start + level_len)?;
        cursor.pos += level_len + 1;
        cursor.eat(b' ')?;
        // `pid#tid: ` then optional `*conn `.
        cursor.digits(1, 10)?;
        cursor.eat(b'#')?;
        cursor.digits(1, 20)?;
        cursor.eat_str(": ")?;
        if cursor.eat(b'*').is_some() {
            cursor.digits(1, 20)?;
            cursor.eat(b' ')?;
        }
        let body = line.get(cursor.pos..)?;
        let civil = Civil {
            year: i32::try_from(year).ok()?,
            month: u8::try_from(month).ok()?,
            day: u8::try_from(day).ok()?,
            hour,
            minute,
            second,
            nanos,
        };
        let timestamp = self.local.resolve(civil)?;
        let (message, client, request) = match nginx_trailer(body) {
            Some((message, client, request)) => (message, Some(client), request),
            None => (body, None, None),
        };
        let mut record = WebErrorRecord {
            server: WebServer::Nginx,
            timestamp: Some(timestamp),
            level,
            module: None,
            client,
            client_port: None,
            code: None,
            message,
            kind: WebErrorKind::Other,
            user: None,
            path: None,
            request,
        };
        classify_nginx(&mut record);
        Some(record)
    }

    fn apache<'a>(&mut self, line: &'a str, with_time: bool) -> Option<WebErrorRecord<'a>> {
        let mut rest = line;
        let mut timestamp = None;
        if with_time {
            let inner = rest.strip_prefix('[')?;
            let close = inner.find(']')?;
            timestamp = Some(self.apache_time(&inner[..close])?);
            rest = inner[close + 1..].trim_start();
        }
        // `[module:level]` or `[level]`.
        let inner = rest.strip_prefix('[')?;
        let close = inner.find(']')?;
        let tag = &inner[..close];
        let (module, level) = match tag.split_once(':') {
            Some((module, level)) => (Some(module).filter(|m| !m.is_empty()), level),
            None => (None, tag),
        };
        rest = inner[close + 1..].trim_start();
        if let Some(inner) = rest.strip_prefix("[pid ") {
            let close = inner.find(']')?;
            rest = inner[close + 1..].trim_start();
        }
        let mut client = None;
        let mut client_port = None;
        let after_client = rest.strip_prefix("[client ").or_else(|| rest.strip_prefix("[remote "));
        if let Some(inner) = after_client {
            let (address, port, after) = apache_client(inner)?;
            client = Some(address);
            client_port = port;
            rest = after.trim_start();
        }
        let mut code = None;
        if rest.starts_with("AH")
            && let Some((ah, after)) = rest.split_once(": ")
            && ah.len() == 7
            && ah[2..].bytes().all(|b| b.is_ascii_digit())
        {
            code = Some(ah);
            rest = after;
        }
        let message = match rest.rfind(", referer: ") {
            Some(at) => &rest[..at],
            None => rest,
        };
        let mut record = WebErrorRecord {
            server: WebServer::Apache,
            timestamp,
            level,
            module,
            client,
            client_port,
            code,
            message,
            kind: WebErrorKind::Other,
            user: None,
            path: None,
            request: None,
        };
        classify_apache(&mut record);
        Some(record)
    }

    /// `Sun Jun 09 07:57:47 2013` or `Sat Jul 20 21:34:49.453232 2013`.
    fn apache_time(&mut self, text: &str) -> Option<Timestamp> {
        let bytes = text.as_bytes();
        let mut cursor = Cursor::new(bytes);
        cursor.pos = 4; // weekday and space
        let month = month_from_abbrev(bytes.get(4..7)?)?;
        cursor.pos = 7;
        cursor.skip_spaces();
        let day = cursor.digits(1, 2)?;
        cursor.eat(b' ')?;
        let (hour, minute, second, nanos) = cursor.clock()?;
        cursor.eat(b' ')?;
        let year = cursor.digits(4, 4)?;
        let civil = Civil {
            year: i32::try_from(year).ok()?,
            month,
            day: u8::try_from(day).ok()?,
            hour,
            minute,
            second,
            nanos,
        };
        self.local.resolve(civil)
    }
}

/// `A]`, `A:port]`, `[v6]:port]` → (address, port, the rest after `]`).
fn apache_client(inner: &str) -> Option<(&str, Option<u16>, &str)> {
    if let Some(v6) = inner.strip_prefix('[') {
        let close = v6.find(']')?;
        let address = &v6[..close];
        let after = &v6[close + 1..];
        let (port, after) = match after.strip_prefix(':') {
            Some(p) => {
                let end = p.find(']')?;
                (p[..end].parse().ok(), &p[end + 1..])
            }
            None => (None, after.strip_prefix(']')?),
        };
        return Some((address, port, after));
    }
    let close = inner.find(']')?;
    let token = &inner[..close];
    let after = &inner[close + 1..];
    if parse_ip(token).is_some() || (is_address(token) && !token.contains(':')) {
        return Some((token, None, after));
    }
    let (address, port) = token.rsplit_once(':')?;
    is_address(address).then_some((address, port.parse().ok(), after))
}

/// Splits `message, client: A, server: S, request: "…", …` at the client that starts a trailer
/// reading cleanly to the end of the line.
fn nginx_trailer(body: &str) -> Option<(&str, &str, Option<&str>)> {
    for (at, _) in body.match_indices(", client: ") {
        let rest = &body[at + ", client: ".len()..];
        let end = rest.find(", ").unwrap_or(rest.len());
        let client = &rest[..end];
        if !is_address(client) {
            continue;
        }
        if let Some(request) = trailer_fields(&rest[end..]) {
            return Some((&body[..at], client, request));
        }
    }
    None
}

/// Reads `(, key: value)*` to the end; values are `"…"` or bare. Returns the request, if any.
fn trailer_fields(mut rest: &str) -> Option<Option<&str>> {
    let mut request = None;
    while !rest.is_empty() {
        let after = rest.strip_prefix(", ")?;
        let colon = after.find(": ")?;
        let key = &after[..colon];
        // A second `client` means this trailer is text someone wrote into the message.
        if key.is_empty()
            || key == "client"
            || !key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
        {
            return None;
        }
        let value = &after[colon + 2..];
        if let Some(quoted) = value.strip_prefix('"') {
            // The closing quote is the one followed by the next field or the end.
            let mut found = None;
            for (q, _) in quoted.match_indices('"') {
                let next = &quoted[q + 1..];
                if next.is_empty() || next_is_field(next) {
                    found = Some(q);
                    break;
                }
            }
            let q = found?;
            if key == "request" {
                request = Some(&quoted[..q]);
            }
            rest = &quoted[q + 1..];
        } else {
            let end = value.find(", ").unwrap_or(value.len());
            rest = &value[end..];
        }
    }
    Some(request)
}

fn next_is_field(text: &str) -> bool {
    let Some(after) = text.strip_prefix(", ") else { return false };
    match after.find(": ") {
        Some(colon) => {
            after[..colon].bytes().all(|b| b.is_ascii_lowercase() || b == b'_') && colon > 0
        }
        None => false,
    }
}

fn classify_nginx(record: &mut WebErrorRecord<'_>) {
    let message = record.message;
    if let Some(rest) = message.strip_prefix("user \"") {
        if let Some(user) = rest.strip_suffix("\": password mismatch") {
            record.kind = WebErrorKind::PasswordMismatch;
            record.user = Some(user);
        } else if let Some(at) =
            rest.rfind("\" was not found in \"").or_else(|| rest.rfind("\": was not found in \""))
        {
            record.kind = WebErrorKind::UserNotFound;
            record.user = Some(&rest[..at]);
            record.path = rest[at..].split('"').nth(2);
        }
    } else if let Some(rest) =
        message.strip_prefix("PAM: user '").or_else(|| message.strip_prefix("user '"))
    {
        if let Some(at) = rest.rfind("' - not authenticated: ") {
            record.kind = WebErrorKind::AuthFailure;
            record.user = Some(&rest[..at]);
        }
    } else if message.starts_with("SSL_do_handshake() failed")
        || message.starts_with("SSL_read() failed")
    {
        record.kind = WebErrorKind::TlsFailure;
    } else if message.starts_with("limiting requests, excess:") {
        record.kind = WebErrorKind::RateLimited;
    } else if message.starts_with("no user/password was provided for basic authentication") {
        record.kind = WebErrorKind::AuthMissing;
    } else if message.starts_with("access forbidden by rule") {
        record.kind = WebErrorKind::AccessDenied;
    } else if message.ends_with("(2: No such file or directory)") {
        // `open() "/p" failed (2: …)` or `"/p" is not found (2: …)`.
        let quoted = message.split('"').nth(1);
        record.kind = WebErrorKind::FileNotFound;
        record.path = quoted;
    }
}

fn classify_apache(record: &mut WebErrorRecord<'_>) {
    let mut message = record.message;
    // `Digest: `, `Basic: ` — the scheme, written by 2.2.
    if let Some((scheme, rest)) = message.split_once(": ")
        && matches!(scheme, "Digest" | "Basic")
    {
        message = rest;
    }
    if let Some(rest) = message.strip_prefix("user `") {
        // Digest: user `name' in realm `r' not found
        if let Some(end) = rest.find("' in realm `") {
            record.user = Some(&rest[..end]);
            let tail = &rest[end..];
            record.kind = if tail.contains("' not found") {
                WebErrorKind::UserNotFound
            } else if tail.contains("failure") || tail.contains("denied by provider") {
                WebErrorKind::AuthFailure
            } else {
                WebErrorKind::Other
            };
            record.path = tail.rsplit_once(": ").map(|(_, p)| p);
        }
    } else if let Some(rest) = message.strip_prefix("user ") {
        const MARKERS: [(&str, WebErrorKind); 5] = [
            (" not found", WebErrorKind::UserNotFound),
            (": password mismatch", WebErrorKind::PasswordMismatch),
            (": authentication failure for \"", WebErrorKind::PasswordMismatch),
            (": authorization failure for \"", WebErrorKind::AuthzFailure),
            (" denied by provider", WebErrorKind::AuthzFailure),
        ];
        let found = MARKERS
            .iter()
            .filter_map(|(marker, kind)| rest.find(marker).map(|at| (at, *marker, *kind)))
            .min_by_key(|(at, _, _)| *at);
        if let Some((at, marker, kind)) = found {
            record.user = Some(&rest[..at]);
            record.kind = kind;
            let tail = &rest[at + marker.len()..];
            record.path = match kind {
                WebErrorKind::UserNotFound | WebErrorKind::PasswordMismatch
                    if marker.ends_with("mismatch") || marker == " not found" =>
                {
                    tail.strip_prefix(": ")
                }
                _ => tail.split('"').next().filter(|p| p.starts_with('/')),
            };
        }
    } else if let Some(path) = message.strip_prefix("client denied by server configuration") {
        record.kind = WebErrorKind::AccessDenied;
        record.path = path.strip_prefix(": ");
    } else if let Some(path) = message.strip_prefix("client used wrong authentication scheme") {
        record.kind = WebErrorKind::WrongAuthScheme;
        record.path = path.strip_prefix(": ");
    } else if let Some(rest) = message.strip_prefix("Authorization of user ") {
        if let Some(at) = rest.find(" to access ") {
            record.kind = WebErrorKind::AuthzFailure;
            record.user = Some(&rest[..at]);
            record.path = rest[at + 11..].split(' ').next();
        }
    } else if message.starts_with("invalid nonce ")
        || message.starts_with("realm mismatch - got `")
        || message.starts_with("unknown algorithm `")
        || message.starts_with("invalid qop `")
    {
        record.kind = WebErrorKind::DigestInvalid;
    } else if (message.starts_with("Hostname ") && message.contains(" provided via SNI"))
        || message.starts_with("No hostname was provided via SNI")
    {
        record.kind = WebErrorKind::SniMismatch;
    } else if let Some(path) = message.strip_prefix("File does not exist: ") {
        record.kind = WebErrorKind::FileNotFound;
        record.path = Some(path);
    } else if let Some(path) = message
        .strip_prefix("script not found or unable to stat: ")
        .or_else(|| message.strip_prefix("Script not found or unable to stat: "))
    {
        record.kind = WebErrorKind::ScriptNotFound;
        record.path = Some(path);
    } else if let Some(rest) = message.strip_prefix("script '") {
        if let Some(at) = rest.find("' not found or unable to stat") {
            record.kind = WebErrorKind::ScriptNotFound;
            record.path = Some(&rest[..at]);
        }
    } else if let Some(rest) = message.strip_prefix("stderr from ") {
        if let Some(path) = rest.strip_suffix(": script not found or unable to stat") {
            record.kind = WebErrorKind::ScriptNotFound;
            record.path = Some(path);
        }
    } else if message.starts_with("Got error 'Primary script unknown") {
        record.kind = WebErrorKind::ScriptNotFound;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::Format;
    use crate::parse::check::check_fields;

    fn kind(line: &str) -> (WebErrorKind, Option<String>, Option<String>) {
        let mut parser = WebErrorParser::new(crate::parse::time::cet());
        let record = parser.parse(line).unwrap_or_else(|| panic!("{line}"));
        (record.kind, record.client.map(str::to_owned), record.user.map(str::to_owned))
    }

    #[track_caller]
    fn check(line: &str, want: WebErrorKind, client: &str, user: Option<&str>) {
        assert_eq!(kind(line), (want, Some(client.to_owned()), user.map(str::to_owned)), "{line}");
    }

    #[test]
    fn nginx_auth_failures() {
        check(
            r#"2012/04/09 11:53:29 [error] 2865#7: *66647 user "bob" was not found in "/srv/www/.htpasswd", client: 203.0.113.43, server: shop.example.org, request: "GET / HTTP/1.1", host: "shop.example.org""#,
            WebErrorKind::UserNotFound,
            "203.0.113.43",
            Some("bob"),
        );
        check(
            r#"2014/04/03 22:20:38 [error] 30708#7: *3 user "ana maria": password mismatch, client: 192.0.2.201, server: , request: "GET / HTTP/1.1", host: "gateway:9443""#,
            WebErrorKind::PasswordMismatch,
            "192.0.2.201",
            Some("ana maria"),
        );
        check(
            r#"2025/09/07 21:20:40 [error] 23141#23148: *24470 PAM: user 'username' - not authenticated: Authentication failure, client: 192.0.2.150, server: dav.example.net, request: "GET / HTTP/2.0", host: "dav.example.net""#,
            WebErrorKind::AuthFailure,
            "192.0.2.150",
            Some("username"),
        );
    }

    #[test]
    fn nginx_rate_limits_and_challenges() {
        check_fields(
            Format::NginxError,
            r#"2024/05/06 07:08:09 [error] 811#811: *90 limiting requests, excess: 10.250 by zone "login", client: 198.51.100.200, server: app.example.com, request: "POST /api/login HTTP/1.1", host: "app.example.com""#,
            &[
                ("event.action", "http_rate_limited"),
                ("event.outcome", "failure"),
                ("source.ip", "198.51.100.200"),
                ("url.path", "/api/login"),
            ],
        );
        check_fields(
            Format::NginxError,
            r#"2024/05/06 07:08:10 [error] 811#811: *91 no user/password was provided for basic authentication, client: 198.51.100.201, server: app.example.com, request: "GET /admin HTTP/1.1", host: "app.example.com""#,
            &[
                ("event.action", "http_auth_missing"),
                ("event.outcome", "unknown"),
                ("event.category", "authentication"),
            ],
        );
    }

    #[test]
    fn nginx_client_injected_through_the_user_name_loses() {
        let line = r#"2014/04/03 22:20:40 [error] 30708#7: *3 user "test": password mismatch, client: 127.0.0.9, server: test, request: "GET / HTTP/1.1", host: "gateway:9443"": was not found in "/etc/nginx/users.htpasswd", client: 192.0.2.2, server: , request: "GET / HTTP/1.1", host: "gateway:9443""#;
        let (kind, client, _) = kind(line);
        assert_eq!((kind, client.as_deref()), (WebErrorKind::UserNotFound, Some("192.0.2.2")));
        // And through the request line: the real client comes first and its trailer reads to the end.
        let line = r#"2014/04/03 22:20:40 [error] 1#7: *3 user "a": password mismatch, client: 192.0.2.9, server: s, request: "GET /?x=, client: 10.0.0.1, server: y HTTP/1.1", host: "h""#;
        assert_eq!(
            super::WebErrorParser::new(TimeZone::UTC).parse(line).unwrap().client,
            Some("192.0.2.9")
        );
    }

    #[test]
    fn nginx_missing_files_and_tls() {
        check(
            r#"2015/01/21 10:56:10 [error] 2833#7: *16336 open() "/srv/site/cgi-bin/php5" failed (2: No such file or directory), client: 198.51.100.79, server: localhost, request: "GET /cgi-bin/php5 HTTP/1.1", host: "198.51.100.9""#,
            WebErrorKind::FileNotFound,
            "198.51.100.79",
            None,
        );
        check(
            r#"2020/11/25 14:42:16 [crit] 76952#76959: *2454307 SSL_do_handshake() failed (SSL: error:1408F0C6:SSL routines:ssl3_get_record:packet length too long) while SSL handshaking, client: 203.0.113.14, server: 0.0.0.0:443"#,
            WebErrorKind::TlsFailure,
            "203.0.113.14",
            None,
        );
        check(
            r#"host nginx[23148]: host nginx: 2025/09/07 21:20:40 [error] 23141#23148: *24470 PAM: user 'username' - not authenticated: Authentication failure, client: 192.0.2.120, server: dav.example.net, request: "GET / HTTP/2.0", host: "dav.example.net""#,
            WebErrorKind::AuthFailure,
            "192.0.2.120",
            Some("username"),
        );
        check_fields(
            Format::NginxError,
            r#"2015/01/21 15:02:27 [error] 2833#7: *16813 "/srv/site/roundcube/" is not found (2: No such file or directory), client: 198.51.100.79, server: localhost, request: "GET /roundcube/ HTTP/1.1", host: "198.51.100.9""#,
            &[
                ("event.action", "http_file_not_found"),
                ("url.path", "/roundcube/"),
                ("source.ip", "198.51.100.79"),
                ("@timestamp", "2015-01-21T14:02:27Z"),
            ],
        );
    }

    #[test]
    fn apache_auth_failures() {
        check(
            "[Thu Jul 11 01:21:41 2013] [error] [client 198.51.100.113] user  not found: /",
            WebErrorKind::UserNotFound,
            "198.51.100.113",
            Some(""),
        );
        check(
            "[Thu Jul 11 01:21:44 2013] [error] [client 2001:db8::c0de:1] user guest6 not found: /",
            WebErrorKind::UserNotFound,
            "2001:db8::c0de:1",
            Some("guest6"),
        );
        check(
            "[Sat Jul 20 21:39:11.978080 2013] [auth_basic:error] [pid 17519:tid 140123053950720] [client 127.0.0.9:51390] AH01617: user username: authentication failure for \"/private/file\": Password Mismatch",
            WebErrorKind::PasswordMismatch,
            "127.0.0.9",
            Some("username"),
        );
        check(
            "[Sat Jul 20 22:11:44.147674 2013] [authz_owner:error] [pid 17547:tid 140122922129152] [client [2001:db8::c0de:1]:51548] AH01637: Authorization of user guest6 to access /private/owned/report.html failed, reason: file owner dmitri does not match",
            WebErrorKind::AuthzFailure,
            "2001:db8::c0de:1",
            Some("guest6"),
        );
        check(
            "[Thu Jul 18 00:08:39 2013] [error] [client 127.0.0.9] Digest: user `username' in realm `staff area' not found: /vault2/secret.html",
            WebErrorKind::UserNotFound,
            "127.0.0.9",
            Some("username"),
        );
        check(
            "[Wed Jul 17 23:50:37 2013] [error] [client 127.0.0.9] Digest: user username: password mismatch: /vault/secret.html",
            WebErrorKind::PasswordMismatch,
            "127.0.0.9",
            Some("username"),
        );
        check(
            "[Mon Nov 06 13:39:56.637868 2023] [auth_basic:error] [pid 3175008:tid 140494544914112] [remote 192.0.2.141:35924] AH01618: user nobody1 not found: /admin",
            WebErrorKind::UserNotFound,
            "192.0.2.141",
            Some("nobody1"),
        );
        check(
            "[Wed Mar 28 01:31:42.355210 2018] [ssl:error] [pid 6593] [client 203.0.113.139:58028] AH02033: No hostname was provided via SNI for a name based virtual host",
            WebErrorKind::SniMismatch,
            "203.0.113.139",
            None,
        );
        check(
            "[Wed Jul 17 23:20:45 2013] [error] [client 127.0.0.9] client denied by server configuration: /srv/html/closed/index.html",
            WebErrorKind::AccessDenied,
            "127.0.0.9",
            None,
        );
    }

    #[test]
    fn apache_missing_scripts() {
        check(
            "[Sun Jun 09 07:57:47 2013] [error] [client 203.0.113.43] script '/usr/lib/cgi-bin/viewer.cgiwp-login.php' not found or unable to stat",
            WebErrorKind::ScriptNotFound,
            "203.0.113.43",
            None,
        );
        check(
            "[Tue Jul 22 06:48:30 2008] [error] [client 198.51.100.186] File does not exist: /home/alice/public_html/proxy-check.php",
            WebErrorKind::FileNotFound,
            "198.51.100.186",
            None,
        );
        check(
            "[Sun Mar 11 08:56:20.913548 2018] [proxy_fcgi:error] [pid 749:tid 140142593419008] [client 192.0.2.166:50900] AH01071: Got error 'Primary script unknown\\n'",
            WebErrorKind::ScriptNotFound,
            "192.0.2.166",
            None,
        );
        check(
            "[Wed Dec 18 23:58:03.148113 2024] [cgi:error] [pid 16727:tid 1878] [client 192.0.2.174:35092] AH02811: stderr from /usr/lib/cgi-bin/router: script not found or unable to stat",
            WebErrorKind::ScriptNotFound,
            "192.0.2.174",
            None,
        );
        // The first [client] is the real one; the rest is the (attacker-chosen) path.
        let (kind, client, _) = kind(
            "[Sat Jun 01 02:17:42 2013] [error] [client 192.168.44.1] File does not exist: /srv/web/site/[client 192.168.55.1] user root not found",
        );
        assert_eq!((kind, client.as_deref()), (WebErrorKind::FileNotFound, Some("192.168.44.1")));
    }

    #[test]
    fn apache_through_syslog() {
        let mut parser = WebErrorParser::new(crate::parse::time::cet());
        let now = crate::parse::check::now();
        let record = parser
            .parse_at("Feb 15 16:23:40 srv httpd/backend2[22041]: [authz_core:error] [pid 22043] [client 192.0.2.202:59392] AH01630: client denied by server configuration: /srv/backend2/", now)
            .unwrap();
        assert_eq!((record.kind, record.client), (WebErrorKind::AccessDenied, Some("192.0.2.202")));
        assert_eq!(record.timestamp.unwrap().to_string(), "2005-02-15T15:23:40Z");
    }
}
