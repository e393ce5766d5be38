//! OpenSSH (`sshd`, `sshd-session`) messages: authentication failures and successes, invalid
//! users, PAM failures, refusals, and the pre-authentication disconnects that scanners leave.
//!
//! Each message becomes an [`SshMessage`] (borrowed, no allocation) and then an `Event` with
//! `event.category = authentication`. Attacker-chosen text (user names, client banners, auth
//! info) can contain ` from 1.2.3.4 port 22`; the address is therefore taken from the position
//! OpenSSH writes it in, and where the message shape allows several readings the one that leaves
//! a well-formed tail (` port N`, ` ssh2`, `: info`, end of line) wins.
//!
//! What counts as one authentication attempt (see [`SshMessage::is_attempt`]): every
//! `Failed <method>` line, plus the failures that sshd logs without a `Failed` line
//! (`maximum authentication attempts exceeded`, PAM errors, `User … not allowed`, `ROOT LOGIN
//! REFUSED`). `Invalid user X from A port P` is *not* a separate attempt when sshd goes on to log
//! `Failed … for invalid user X from A port P` for the same pid and port: [`AttemptDedup`] folds
//! the two into one, so that one guess counts once (fail2ban counts it twice).

use firebreak_core::event::Event;
use jiff::Timestamp;
use memchr::memmem;
use serde_json::Value;

use super::syslog::SyslogLine;
use super::{is_address, normalise_address, parse_ip};

/// Program names whose messages this parser reads.
pub fn is_sshd(program: &str) -> bool {
    matches!(program, "sshd" | "sshd-session" | "sshd-auth" | "ssh")
}

/// What an sshd message says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SshKind {
    /// `Failed <method> for [invalid user ]U from A port P ssh2[: info]`.
    Failed,
    /// `Accepted <method> for U from A port P ssh2[: info]`.
    Accepted,
    /// `Invalid user U from A [port P]` (also the older `Illegal user`).
    InvalidUser,
    /// `[error: PAM: ]Authentication failure|error for U from A`, `User not known to the
    /// underlying authentication module for …`.
    PamError,
    /// `pam_unix(sshd:auth): authentication failure; … rhost=A [user=U]`.
    PamAuthFailure,
    /// `ROOT LOGIN REFUSED FROM A`.
    RootLoginRefused,
    /// `User U [from A] not allowed because <reason>`.
    UserNotAllowed,
    /// TCP wrappers: `refused connect from name (A)`.
    RefusedConnect,
    /// `maximum authentication attempts exceeded for [invalid user ]U from A port P ssh2`.
    MaxAuthAttempts,
    /// `Disconnecting: Too many authentication failures [for U]` (no address).
    TooManyAuthFailures,
    /// `Disconnecting [invalid|authenticating] user U A port P: Change of username or service
    /// not allowed: …` and other `Disconnecting … user` reasons.
    DisconnectingUser,
    /// `Received disconnect from A [port P]:N: text`.
    ReceivedDisconnect,
    /// `Connection closed by [authenticating user U |invalid user U ]A [port P]`.
    ConnectionClosed,
    /// `Connection reset by [authenticating user U ]A [port P]`.
    ConnectionReset,
    /// `Disconnected from [authenticating user U |invalid user U |user U ]A port P`.
    Disconnected,
    /// `Did not receive identification string from A [port P]`.
    NoIdentification,
    /// `Bad protocol version identification '…' from A [port P]`.
    BadProtocolVersion,
    /// `kex_exchange_identification: …` (no address: the pid's `Connection from` has it).
    KexFailure,
    /// `banner exchange: Connection from A port P: …`, `ssh_dispatch_run_fatal: Connection from
    /// A port P: …`.
    ProtocolError,
    /// `Timeout before authentication for [connection from ]A …`.
    PreauthTimeout,
    /// `Unable to negotiate with A port P: no matching X found…`, or without an address
    /// `Unable to negotiate a …`, `no matching X found: …`.
    NegotiationFailed,
    /// `Read from socket failed: Connection reset by peer` (no address).
    ReadFailed,
    /// `Connection from A port P [on B port Q]`: a new connection, no judgement.
    ConnectionFrom,
    /// `SSH: Server;Ltype: …;Remote: A-P;…` (a patched sshd's connection trace).
    ServerTrace,
}

impl SshKind {
    /// The `event.action` for this kind.
    pub fn action(self, preauth: bool) -> &'static str {
        match self {
            SshKind::Failed | SshKind::Accepted => "ssh_login",
            SshKind::InvalidUser => "ssh_invalid_user",
            SshKind::PamError | SshKind::PamAuthFailure => "ssh_pam_failure",
            SshKind::RootLoginRefused => "ssh_root_login_refused",
            SshKind::UserNotAllowed => "ssh_user_not_allowed",
            SshKind::RefusedConnect => "ssh_connection_refused",
            SshKind::MaxAuthAttempts => "ssh_max_auth_attempts",
            SshKind::TooManyAuthFailures => "ssh_too_many_auth_failures",
            SshKind::DisconnectingUser => "ssh_disconnecting_user",
            SshKind::ReceivedDisconnect
            | SshKind::ConnectionClosed
            | SshKind::ConnectionReset
            | SshKind::Disconnected => {
                if preauth {
                    "ssh_preauth_disconnect"
                } else {
                    "ssh_disconnect"
                }
            }
            SshKind::NoIdentification => "ssh_no_identification",
            SshKind::BadProtocolVersion => "ssh_bad_protocol_version",
            SshKind::KexFailure => "ssh_kex_failure",
            SshKind::ProtocolError => "ssh_protocol_error",
            SshKind::PreauthTimeout => "ssh_preauth_timeout",
            SshKind::NegotiationFailed => "ssh_negotiation_failed",
            SshKind::ReadFailed => "ssh_read_failed",
            SshKind::ConnectionFrom | SshKind::ServerTrace => "ssh_connection",
        }
    }
}

/// One sshd message, borrowed from the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SshMessage<'a> {
    pub kind: SshKind,
    /// The client address as written: an IP or, with `UseDNS`, a host name.
    pub address: Option<&'a str>,
    pub port: Option<u16>,
    pub user: Option<&'a str>,
    /// The authentication method of `Failed`/`Accepted` (`password`, `publickey`, …).
    pub method: Option<&'a str>,
    /// sshd said the user does not exist (`invalid user`, `illegal user`).
    pub invalid_user: bool,
    /// The message ended with `[preauth]`: the client never authenticated.
    pub preauth: bool,
    /// The reason code of `Received disconnect` (11 = by application, 3 = auth failure, 14 = no
    /// more auth methods).
    pub disconnect_code: Option<u8>,
    /// Free text: the reason (`not listed in AllowUsers`, `Auth fail`, what failed to negotiate…).
    pub detail: Option<&'a str>,
}

impl<'a> SshMessage<'a> {
    #[inline(always)]
    fn new(kind: SshKind) -> SshMessage<'a> {
        SshMessage {
            kind,
            address: None,
            port: None,
            user: None,
            method: None,
            invalid_user: false,
            preauth: false,
            disconnect_code: None,
            detail: None,
        }
    }

    /// `event.outcome`: `failure` for refused or failed authentication, `success` for accepted,
    /// `unknown` for connection-level messages that judge nothing by themselves.
    pub fn outcome(&self) -> &'static str {
        match self.kind {
            SshKind::Accepted => "success",
            SshKind::Failed
            | SshKind::InvalidUser
            | SshKind::PamError
            | SshKind::PamAuthFailure
            | SshKind::RootLoginRefused
            | SshKind::UserNotAllowed
            | SshKind::RefusedConnect
            | SshKind::MaxAuthAttempts
            | SshKind::TooManyAuthFailures
            | SshKind::DisconnectingUser => "failure",
            SshKind::ReceivedDisconnect if self.disconnect_code == Some(3) => "failure",
            SshKind::ReceivedDisconnect if self.disconnect_code == Some(14) => "failure",
            SshKind::NoIdentification
            | SshKind::BadProtocolVersion
            | SshKind::KexFailure
            | SshKind::ProtocolError
            | SshKind::PreauthTimeout
            | SshKind::NegotiationFailed => "failure",
            _ => "unknown",
        }
    }

    /// Whether this line is one authentication attempt that failed (before deduplication with
    /// a preceding `Invalid user` line, see [`AttemptDedup`]). A failed `publickey` for an
    /// existing user is not one: clients offer every key they hold, and a user with three keys
    /// would otherwise fail three times per login.
    pub fn is_attempt(&self) -> bool {
        match self.kind {
            SshKind::Failed => self.method != Some("publickey") || self.invalid_user,
            SshKind::InvalidUser
            | SshKind::PamError
            | SshKind::RootLoginRefused
            | SshKind::UserNotAllowed
            | SshKind::MaxAuthAttempts => true,
            _ => false,
        }
    }

    /// The event for this message in its syslog envelope. `firebreak.source` says it was read
    /// from sshd, so that the rules written for sshd lines apply to it (see
    /// `Scanner::feed_event`).
    pub fn to_event(&self, line: &SyslogLine<'_>, now: Timestamp) -> Event {
        let mut fields = line.base_fields();
        fields.push(("firebreak.source", Value::from("sshd")));
        fields.push(("event.category", Value::from("authentication")));
        fields.push(("event.action", Value::from(self.kind.action(self.preauth))));
        fields.push(("event.outcome", Value::from(self.outcome())));
        if let Some(address) = self.address {
            fields.push(("source.address", Value::from(normalise_address(address).as_ref())));
            if let Some(ip) = parse_ip(address) {
                fields.push(("source.ip", Value::from(ip.to_string())));
            }
        }
        if let Some(port) = self.port {
            fields.push(("source.port", Value::from(port)));
        }
        if let Some(user) = self.user {
            fields.push(("user.name", Value::from(user)));
        }
        if let Some(method) = self.method {
            fields.push(("ssh.method", Value::from(method)));
        }
        if self.invalid_user {
            fields.push(("ssh.invalid_user", Value::from(true)));
        }
        if self.preauth {
            fields.push(("ssh.preauth", Value::from(true)));
        }
        if let Some(code) = self.disconnect_code {
            fields.push(("ssh.disconnect_code", Value::from(code)));
        }
        if let Some(detail) = self.detail {
            fields.push(("event.reason", Value::from(detail)));
        }
        Event::from_pairs(line.timestamp.unwrap_or(now), fields)
    }
}

/// Folds `Invalid user X from A port P` and the `Failed … for invalid user X from A port P` that
/// follows it (same pid, same port) into one attempt. Bounded: remembers the last few pids only.
#[derive(Debug, Clone)]
pub struct AttemptDedup {
    recent: [(u32, u16); 64],
    next: usize,
}

impl Default for AttemptDedup {
    fn default() -> AttemptDedup {
        AttemptDedup { recent: [(0, 0); 64], next: 0 }
    }
}

impl AttemptDedup {
    pub fn new() -> AttemptDedup {
        AttemptDedup::default()
    }

    /// Whether this message starts a new failed attempt (call once per message, in log order).
    /// A repeated line (`message repeated N times`) is N attempts; the caller multiplies.
    pub fn is_new_attempt(&mut self, pid: Option<u32>, message: &SshMessage<'_>) -> bool {
        if !message.is_attempt() {
            return false;
        }
        let (Some(pid), Some(port)) = (pid, message.port) else { return true };
        let key = (pid, port);
        match message.kind {
            SshKind::InvalidUser => {
                self.recent[self.next] = key;
                self.next = (self.next + 1) % self.recent.len();
                true
            }
            SshKind::Failed if message.invalid_user => {
                match self.recent.iter().position(|seen| *seen == key) {
                    Some(index) => {
                        // Counted already by its `Invalid user` line; forget it so that a second
                        // password guess on the same connection counts again.
                        self.recent[index] = (0, 0);
                        false
                    }
                    None => true,
                }
            }
            _ => true,
        }
    }
}

const FROM: &str = " from ";

/// The first ` port ` in `text`.
fn find_port(text: &str) -> Option<usize> {
    super::find_str(text.as_bytes(), b" port ")
}

/// The first `: ` in `text`.
fn find_colon_space(text: &str) -> Option<usize> {
    super::find_str(text.as_bytes(), b": ")
}

/// Reads one sshd message (the syslog message part). `None` when it is not one this parser
/// knows; such lines are normal (session opened, key exchange details…).
#[inline(always)]
pub fn parse(message: &str) -> Option<SshMessage<'_>> {
    let mut text = message.trim_end();
    // sshd's log levels and PAM's prefix, which change nothing about the meaning.
    for prefix in ["error: ", "fatal: "] {
        if let Some(rest) = text.strip_prefix(prefix) {
            text = rest;
            break;
        }
    }
    if let Some(rest) = text.strip_prefix("PAM: ") {
        text = rest;
    }
    let mut preauth = false;
    if let Some(rest) = text.strip_suffix("[preauth]") {
        text = rest.trim_end();
        preauth = true;
    }
    let mut parsed = parse_body(text)?;
    parsed.preauth = preauth;
    Some(parsed)
}

#[inline(always)]
fn parse_body(text: &str) -> Option<SshMessage<'_>> {
    let first = *text.as_bytes().first()?;
    match first {
        b'F' => {
            if let Some(rest) = text.strip_prefix("Failed ") {
                return auth_result(SshKind::Failed, rest);
            }
        }
        b'A' => {
            if let Some(rest) = text.strip_prefix("Accepted ") {
                return auth_result(SshKind::Accepted, rest);
            }
            if let Some(rest) = text.strip_prefix("Authentication failure for ") {
                return pam_error(rest, Some("authentication failure"));
            }
            if let Some(rest) = text.strip_prefix("Authentication error for ") {
                return pam_error(rest, Some("authentication error"));
            }
        }
        b'a' => {
            if let Some(rest) = text.strip_prefix("authentication failure for ") {
                return pam_error(rest, Some("authentication failure"));
            }
            if let Some(rest) = text.strip_prefix("authentication error for ") {
                return pam_error(rest, Some("authentication error"));
            }
        }
        b'I' => {
            if let Some(rest) = text.strip_prefix("Invalid user ") {
                return invalid_user(rest);
            }
            if let Some(rest) = text.strip_prefix("Illegal user ") {
                return invalid_user(rest);
            }
        }
        b'U' => {
            if let Some(rest) =
                text.strip_prefix("User not known to the underlying authentication module for ")
            {
                return pam_error(rest, Some("user not known"));
            }
            if let Some(rest) = text.strip_prefix("User ") {
                return user_not_allowed(rest);
            }
            if let Some(rest) = text.strip_prefix("Unable to negotiate") {
                return negotiation(rest);
            }
        }
        b'R' => {
            if let Some(rest) = text.strip_prefix("ROOT LOGIN REFUSED FROM ") {
                let mut m = SshMessage::new(SshKind::RootLoginRefused);
                m.user = Some("root");
                let (address, port, _) = address_port_tail(rest)?;
                (m.address, m.port) = (Some(address), port);
                return Some(m);
            }
            if let Some(rest) = text.strip_prefix("Received disconnect from ") {
                return received_disconnect(rest);
            }
            if let Some(rest) = text.strip_prefix("Read from socket failed: ") {
                let mut m = SshMessage::new(SshKind::ReadFailed);
                m.detail = Some(rest);
                return Some(m);
            }
        }
        b'r' => {
            if let Some(rest) = text.strip_prefix("refused connect from ") {
                let open = rest.rfind('(')?;
                let inner = rest[open + 1..].strip_suffix(')')?;
                let mut m = SshMessage::new(SshKind::RefusedConnect);
                m.address = Some(inner).filter(|a| is_address(a));
                m.address?;
                return Some(m);
            }
        }
        b'm' => {
            if let Some(rest) = text.strip_prefix("maximum authentication attempts exceeded for ") {
                return max_attempts(rest);
            }
        }
        b'D' => {
            if let Some(rest) = text.strip_prefix("Disconnecting: Too many authentication failures")
            {
                let mut m = SshMessage::new(SshKind::TooManyAuthFailures);
                m.user = rest.strip_prefix(" for ").map(str::trim_end);
                return Some(m);
            }
            if let Some(rest) = text.strip_prefix("Disconnecting ") {
                return disconnecting_user(rest);
            }
            if let Some(rest) = text.strip_prefix("Disconnected from ") {
                return closed(SshKind::Disconnected, rest);
            }
            if let Some(rest) = text.strip_prefix("Did not receive identification string from ") {
                let mut m = SshMessage::new(SshKind::NoIdentification);
                let (address, port, _) = address_port_tail(rest)?;
                (m.address, m.port) = (Some(address), port);
                return Some(m);
            }
        }
        b'C' => {
            if let Some(rest) = text.strip_prefix("Connection closed by ") {
                return closed(SshKind::ConnectionClosed, rest);
            }
            if let Some(rest) = text.strip_prefix("Connection reset by ") {
                return closed(SshKind::ConnectionReset, rest);
            }
            if let Some(rest) = text.strip_prefix("Connection from ") {
                let mut m = SshMessage::new(SshKind::ConnectionFrom);
                let (address, rest) = split_token(rest);
                m.address = Some(address).filter(|a| is_address(a));
                m.address?;
                m.port = rest.strip_prefix(" port ").and_then(leading_port);
                return Some(m);
            }
        }
        b'B' => {
            if let Some(rest) = text.strip_prefix("Bad protocol version identification '") {
                let at = rest.rfind(FROM)?;
                let mut m = SshMessage::new(SshKind::BadProtocolVersion);
                m.detail = rest[..at].strip_suffix('\'');
                let (address, port, _) = address_port_tail(&rest[at + FROM.len()..])?;
                (m.address, m.port) = (Some(address), port);
                return Some(m);
            }
        }
        b'k' => {
            if let Some(rest) = text.strip_prefix("kex_exchange_identification: ") {
                let mut m = SshMessage::new(SshKind::KexFailure);
                m.detail = Some(rest);
                return Some(m);
            }
        }
        b'b' | b's' => {
            let rest = text
                .strip_prefix("banner exchange: Connection from ")
                .or_else(|| text.strip_prefix("ssh_dispatch_run_fatal: Connection from "))?;
            let (head, detail) = rest.split_once(": ")?;
            let mut m = SshMessage::new(SshKind::ProtocolError);
            let (address, port, _) = address_port_tail(head)?;
            (m.address, m.port, m.detail) = (Some(address), port, Some(detail));
            return Some(m);
        }
        b'T' => {
            if let Some(rest) = text.strip_prefix("Timeout before authentication for ") {
                let rest = rest.strip_prefix("connection from ").unwrap_or(rest);
                let (address, rest) = split_token(rest);
                let mut m = SshMessage::new(SshKind::PreauthTimeout);
                m.address = Some(address.trim_end_matches(',')).filter(|a| is_address(a));
                m.address?;
                m.port = rest.strip_prefix(" port ").and_then(leading_port);
                return Some(m);
            }
        }
        b'n' if text.starts_with("no matching ") => {
            let mut m = SshMessage::new(SshKind::NegotiationFailed);
            m.detail = Some(text);
            return Some(m);
        }
        b'p' if text.starts_with("pam_") => {
            return pam_auth_failure(text);
        }
        b'S' => {
            if let Some(rest) = text.strip_prefix("SSH: Server;Ltype: ") {
                let at = memmem::find(rest.as_bytes(), b";Remote: ")?;
                let remote = &rest[at + 9..];
                let remote = remote.split(';').next()?;
                let dash = remote.rfind('-')?;
                let mut m = SshMessage::new(SshKind::ServerTrace);
                m.address = Some(&remote[..dash]).filter(|a| is_address(a));
                m.address?;
                m.port = remote[dash + 1..].parse().ok();
                return Some(m);
            }
        }
        _ => {}
    }
    None
}

/// `password for [invalid user ]U from A port P ssh2[: info]`.
#[inline(always)]
fn auth_result(kind: SshKind, rest: &str) -> Option<SshMessage<'_>> {
    // The method is one word (`password`, `keyboard-interactive/pam`).
    let space = super::find_byte(b' ', rest.as_bytes())?;
    let (method, rest) = (&rest[..space], rest[space..].strip_prefix(" for ")?);
    if method.is_empty() {
        return None;
    }
    let mut m = SshMessage::new(kind);
    m.method = Some(method);
    let rest = match rest.strip_prefix("invalid user ") {
        Some(after) => {
            m.invalid_user = true;
            after
        }
        None => rest,
    };
    // `invalid user  from …` (empty name) leaves the rest starting with ` from `.
    let (user, address, port, info) = user_from_address(rest, true)?;
    (m.user, m.address, m.port) = (Some(user), Some(address), port);
    m.detail = info;
    Some(m)
}

/// Finds the ` from A` that ends the user name: the leftmost one after which the line continues
/// as sshd writes it (end, ` port N`, ` ssh2`, `: info`, ` via X`). Returns (user, address, port,
/// info).
fn user_from_address(
    rest: &str,
    allow_info: bool,
) -> Option<(&str, &str, Option<u16>, Option<&str>)> {
    let bytes = rest.as_bytes();
    // An empty user name leaves `from A` at the start; then each ` from `, left to right.
    let mut next = rest.starts_with("from ").then_some((0, 5));
    let mut from = 0;
    loop {
        let (user_end, address_start) = match next.take() {
            Some(candidate) => candidate,
            None => {
                let at = from + super::find_str(bytes.get(from..)?, FROM.as_bytes())?;
                from = at + 1;
                (at, at + FROM.len())
            }
        };
        let after = &rest[address_start..];
        let (address, tail) = split_token(after);
        if !is_address(address) {
            continue;
        }
        if let Some((port, info)) = valid_tail(tail, allow_info) {
            return Some((&rest[..user_end], address, port, info));
        }
    }
}

/// The part after an address: `""`, ` port N`, ` port N ssh2`, `: info`, ` via X`.
fn valid_tail(tail: &str, allow_info: bool) -> Option<(Option<u16>, Option<&str>)> {
    let mut tail = tail;
    let mut port = None;
    if let Some(rest) = tail.strip_prefix(" port ") {
        let (number, digits) = super::leading_u16(rest);
        port = Some(number?);
        tail = &rest[digits..];
    }
    if let Some(rest) = tail.strip_prefix(" ssh") {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        tail = &rest[digits..];
    }
    if tail.is_empty() {
        return Some((port, None));
    }
    if let Some(info) = tail.strip_prefix(": ") {
        return allow_info.then_some((port, Some(info)));
    }
    if let Some(via) = tail.strip_prefix(" via ") {
        return (!via.contains(' ')).then_some((port, None));
    }
    None
}

fn split_token(text: &str) -> (&str, &str) {
    match super::find_byte(b' ', text.as_bytes()) {
        Some(at) => (&text[..at], &text[at..]),
        None => (text, ""),
    }
}

fn leading_port(text: &str) -> Option<u16> {
    super::leading_u16(text).0
}

/// `A[ port P][ ssh2]` read from the right, for messages that end with the address.
/// Returns (address, port, what came before the address).
fn address_port_tail(text: &str) -> Option<(&str, Option<u16>, &str)> {
    let mut text = text.trim_end();
    for suffix in [" ssh2", " ssh1"] {
        if let Some(rest) = text.strip_suffix(suffix) {
            text = rest;
        }
    }
    // A port is the last word after the last ` port ` (a number has no space in it): that
    // ` port ` ends at the last space, so one backward search for a space finds it.
    let mut port = None;
    if let Some(space) = memchr::memrchr(b' ', text.as_bytes())
        && let Some(at) = space.checked_sub(5)
        && text.as_bytes().get(at..space) == Some(b" port")
        && let Some(number) = super::decimal_u16(&text[space + 1..])
    {
        port = Some(number);
        text = &text[..at];
    }
    let (head, address) = match memchr::memrchr(b' ', text.as_bytes()) {
        Some(at) => (&text[..at], &text[at + 1..]),
        None => ("", text),
    };
    is_address(address).then_some((address, port, head))
}

#[inline(always)]
fn invalid_user(rest: &str) -> Option<SshMessage<'_>> {
    let mut m = SshMessage::new(SshKind::InvalidUser);
    m.invalid_user = true;
    let (user, address, port, _) = user_from_address(rest, false)?;
    (m.user, m.address, m.port) = (Some(user), Some(address), port);
    Some(m)
}

fn pam_error<'a>(rest: &'a str, detail: Option<&'a str>) -> Option<SshMessage<'a>> {
    let mut m = SshMessage::new(SshKind::PamError);
    let rest =
        match rest.strip_prefix("illegal user ").or_else(|| rest.strip_prefix("invalid user ")) {
            Some(after) => {
                m.invalid_user = true;
                after
            }
            None => rest,
        };
    let (user, address, port, _) = user_from_address(rest, false)?;
    (m.user, m.address, m.port, m.detail) = (Some(user), Some(address), port, detail);
    Some(m)
}

/// `U from A not allowed because R` or `U not allowed because R` (no address).
fn user_not_allowed(rest: &str) -> Option<SshMessage<'_>> {
    let at = rest.rfind(" not allowed because ")?;
    let (head, reason) = (&rest[..at], &rest[at + " not allowed because ".len()..]);
    let mut m = SshMessage::new(SshKind::UserNotAllowed);
    m.detail = Some(reason);
    match head.rfind(FROM) {
        Some(from) if is_address(&head[from + FROM.len()..]) => {
            m.user = Some(&head[..from]);
            m.address = Some(&head[from + FROM.len()..]);
        }
        _ => m.user = Some(head),
    }
    Some(m)
}

fn max_attempts(rest: &str) -> Option<SshMessage<'_>> {
    let mut m = SshMessage::new(SshKind::MaxAuthAttempts);
    let rest = match rest.strip_prefix("invalid user ") {
        Some(after) => {
            m.invalid_user = true;
            after
        }
        None => rest,
    };
    let (user, address, port, _) = user_from_address(rest, false)?;
    (m.user, m.address, m.port) = (Some(user), Some(address), port);
    Some(m)
}

/// `A[ port P]:[ ]N: text`.
#[inline(always)]
fn received_disconnect(rest: &str) -> Option<SshMessage<'_>> {
    // An IPv6 address holds colons, so the address ends at ` port N:` (OpenSSH ≥ 7.3) or, in
    // the older format without a port, at the `: ` before the reason code.
    let (head, tail) = match find_port(rest) {
        Some(at) => {
            let after = &rest[at + 6..];
            let colon = super::find_byte(b':', after.as_bytes())?;
            (&rest[..at + 6 + colon], &after[colon + 1..])
        }
        None => {
            let at = find_colon_space(rest)?;
            (&rest[..at], &rest[at + 1..])
        }
    };
    let (address, port, before) = address_port_tail(head)?;
    if !before.is_empty() {
        return None;
    }
    let tail = tail.trim_start();
    let (code, text) = tail.split_once(':').unwrap_or((tail, ""));
    let mut m = SshMessage::new(SshKind::ReceivedDisconnect);
    (m.address, m.port) = (Some(address), port);
    m.disconnect_code = code.trim().parse().ok();
    m.detail = Some(text.trim());
    Some(m)
}

/// `[authenticating user U |invalid user U |user U ]A[ port P][: reason]` after `Connection
/// closed by`, `Connection reset by`, `Disconnected from`.
#[inline(always)]
fn closed(kind: SshKind, rest: &str) -> Option<SshMessage<'_>> {
    let mut m = SshMessage::new(kind);
    let mut rest = rest;
    // `…port 22: reason` (Disconnecting ones carry a reason).
    if let Some(at) = find_colon_space(rest)
        && (find_port(&rest[..at]).is_some() || !rest[..at].contains(' '))
    {
        m.detail = Some(&rest[at + 2..]);
        rest = &rest[..at];
    }
    for (prefix, invalid) in
        [("authenticating user ", false), ("invalid user ", true), ("user ", false)]
    {
        if let Some(after) = rest.strip_prefix(prefix) {
            m.invalid_user = invalid;
            let (address, port, user) = address_port_tail(after)?;
            (m.address, m.port, m.user) = (Some(address), port, Some(user));
            return Some(m);
        }
    }
    let (address, port, before) = address_port_tail(rest)?;
    if !before.is_empty() {
        return None;
    }
    (m.address, m.port) = (Some(address), port);
    Some(m)
}

/// `[invalid |authenticating ]user U A port P: reason`.
fn disconnecting_user(rest: &str) -> Option<SshMessage<'_>> {
    let mut m = SshMessage::new(SshKind::DisconnectingUser);
    let rest = rest.strip_prefix("from ").unwrap_or(rest);
    let rest = if let Some(after) = rest.strip_prefix("invalid user ") {
        m.invalid_user = true;
        after
    } else {
        rest.strip_prefix("authenticating user ").or_else(|| rest.strip_prefix("user "))?
    };
    // The reason follows the first ` port N: `.
    let mut search = 0;
    while let Some(found) = find_port(&rest[search..]) {
        let at = search + found;
        let after = &rest[at + 6..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 && after[digits..].starts_with(':') {
            let (address, port, user) = address_port_tail(&rest[..at + 6 + digits])?;
            (m.address, m.port, m.user) = (Some(address), port, Some(user));
            m.detail = Some(after[digits + 1..].trim());
            return Some(m);
        }
        search = at + 6;
    }
    None
}

/// `Unable to negotiate with A port P: no matching X found. Their offer: …` or `Unable to
/// negotiate a key exchange method`.
fn negotiation(rest: &str) -> Option<SshMessage<'_>> {
    let mut m = SshMessage::new(SshKind::NegotiationFailed);
    if let Some(rest) = rest.strip_prefix(" with ") {
        let (head, detail) = rest.split_once(": ")?;
        let (address, port, before) = address_port_tail(head)?;
        if !before.is_empty() {
            return None;
        }
        (m.address, m.port, m.detail) = (Some(address), port, Some(detail));
    } else {
        m.detail = Some(rest.trim());
    }
    Some(m)
}

/// `pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=A
/// [user=U]`. The user is `user=`, else `ruser=`.
fn pam_auth_failure(text: &str) -> Option<SshMessage<'_>> {
    // `pam_unix`, `pam_sss`, `pam_ldap`…: a short module name, then the service and facility.
    let at = super::find_byte(b'(', text.as_bytes())?;
    let rest = text[at..].strip_prefix("(sshd:auth): authentication failure;")?;
    let mut m = SshMessage::new(SshKind::PamAuthFailure);
    let mut ruser = None;
    for pair in rest.split_ascii_whitespace() {
        let Some((key, value)) = pair.split_once('=') else { continue };
        match key {
            "rhost" if !value.is_empty() => m.address = Some(value).filter(|a| is_address(a)),
            "user" if !value.is_empty() => m.user = Some(value),
            "ruser" if !value.is_empty() => ruser = Some(value),
            _ => {}
        }
    }
    m.user = m.user.or(ruser);
    m.detail = Some(&text[..at]);
    Some(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::check::{check_sshd, expect};

    #[test]
    fn failed_and_accepted_logins() {
        check_sshd(
            "Feb 25 14:34:10 bastion sshd[31609]: Failed password for invalid user GUEST from 203.0.113.69 port 51273 ssh2",
            expect("ssh_login failure 203.0.113.69:51273 user=GUEST"),
        );
        check_sshd(
            "Feb 25 14:34:10 bastion sshd[31610]: Failed password for invalid user GUEST from 2001:db8:aaaa::1:1",
            expect("ssh_login failure 2001:db8:aaaa::1:1 user=GUEST"),
        );
        check_sshd(
            "Jul  3 14:59:17 host sshd-session[1578]: Failed password for root from 192.0.2.201 port 41022 ssh2",
            expect("ssh_login failure 192.0.2.201:41022 user=root"),
        );
        check_sshd(
            "Sep 29 17:15:02 orbit sshd[12953]: Failed hostbased for dmitri from 127.0.0.9 port 39114 ssh2: RSA 5d:1f:0b, client user \"dmitri\", client host \"localhost.localdomain\"",
            expect("ssh_login failure 127.0.0.9:39114 user=dmitri"),
        );
        check_sshd(
            "Nov 28 09:16:03 srv sshd[32314]: Accepted publickey for deployer from 192.0.2.201 port 50312 ssh2: DSA 9a:c4:2e",
            expect("ssh_login success 192.0.2.201:50312 user=deployer"),
        );
        check_sshd(
            "Apr 30 01:42:12 studio-mac.local sshd[2561]: Failed keyboard-interactive/pam for invalid user mariaa from 198.51.100.77 port 47001 ssh2",
            expect("ssh_login failure 198.51.100.77:47001 user=mariaa"),
        );
        check_sshd(
            "Mar 29 05:59:23 sol10 sshd[20885]: [ID 800047 auth.info] Failed keyboard-interactive for <invalid username> from 198.51.100.55 port 52288 ssh2",
            expect("ssh_login failure 198.51.100.55:52288 user=<invalid username>"),
        );
    }

    #[test]
    fn injected_addresses_in_user_names_and_auth_info_do_not_win() {
        check_sshd(
            "Nov 11 08:04:51 jumpbox sshd[2744]: Failed password for invalid user from 10.20.30.1 from 127.0.0.9 port 60123 ssh2",
            expect("ssh_login failure 127.0.0.9:60123 user=from 10.20.30.1"),
        );
        check_sshd(
            "Nov 11 08:04:52 jumpbox sshd[2744]: Failed password for invalid user test from 10.20.30.2 port 44444 ssh2 from 127.0.0.9 port 60123 ssh2",
            expect("ssh_login failure 127.0.0.9:60123 user=test from 10.20.30.2 port 44444 ssh2"),
        );
        check_sshd(
            "Nov 11 08:04:52 jumpbox sshd[2744]: Failed password for invalid user test from 127.0.0.9 port 60123 ssh2: from 10.20.30.2 port 44444 ssh2",
            expect("ssh_login failure 127.0.0.9:60123 user=test"),
        );
        check_sshd(
            "Sep 29 17:15:02 orbit sshd[12953]: Failed password for user from 127.0.0.9 port 21212 ssh1: ruser from 198.51.100.9",
            expect("ssh_login failure 127.0.0.9:21212 user=user"),
        );
        check_sshd(
            "Jul 17 23:04:01 srv sshd[1307]: Connection closed by authenticating user test 127.0.0.9 port 13579 192.0.2.11 port 46999 [preauth]",
            expect(
                "ssh_preauth_disconnect unknown 192.0.2.11:46999 user=test 127.0.0.9 port 13579",
            ),
        );
        check_sshd(
            "Jun  7 01:11:58 host sshd[8790]: Bad protocol version identification 'probe' from 192.0.2.201' from 203.0.113.115 port 33001",
            expect("ssh_bad_protocol_version failure 203.0.113.115:33001"),
        );
    }

    #[test]
    fn invalid_users_pam_and_refusals() {
        check_sshd(
            "Jul 20 14:42:12 localhost sshd[22715]: Invalid user ftp from 192.0.2.202 port 38880",
            expect("ssh_invalid_user failure 192.0.2.202:38880 user=ftp"),
        );
        check_sshd(
            "Jun  6 04:17:04 host sshd[1189081]: Invalid user  from 192.0.2.168 port 35550",
            expect("ssh_invalid_user failure 192.0.2.168:35550 user="),
        );
        check_sshd(
            "Jun 21 16:47:48 edge-7f3k sshd[13716]: error: PAM: Authentication failure for kq7user from 198.051.100.6",
            expect("ssh_pam_failure failure 198.051.100.6 user=kq7user"),
        );
        check_sshd(
            "Apr 29 17:16:20 studio-mac.local sshd[62319]: error: PAM: authentication error for maria from example.com via 192.168.9.201",
            expect("ssh_pam_failure failure example.com user=maria"),
        );
        check_sshd(
            "Dec 12 20:04:39 ranger sshd[1335]: error: PAM: User not known to the underlying authentication module for illegal user svcscan from 10.99.4.227 ",
            expect("ssh_pam_failure failure 10.99.4.227 user=svcscan"),
        );
        check_sshd(
            "Mar  9 04:12:55 web0 sshd[2211]: ROOT LOGIN REFUSED FROM ::ffff:198.51.100.4",
            expect("ssh_root_login_refused failure 198.51.100.4 user=root"),
        );
        check_sshd(
            "Apr 16 22:01:15 fortress sshd[5161]: User root from 198.51.100.128 not allowed because listed in DenyUsers",
            expect("ssh_user_not_allowed failure 198.51.100.128 user=root"),
        );
        check_sshd(
            "Apr 24 01:39:19 host sshd[3726]: User root not allowed because account is locked",
            expect("ssh_user_not_allowed failure - user=root"),
        );
        check_sshd(
            "Nov 11 23:33:27 Server sshd[5181]: refused connect from _cmVmdXNlZA==_@::ffff:203.0.113.161 (::ffff:203.0.113.161)",
            expect("ssh_connection_refused failure 203.0.113.161"),
        );
        check_sshd(
            "Nov 23 21:50:37 myhost sshd[21817]: error: maximum authentication attempts exceeded for root from 198.51.100.61 port 49001 ssh2 [preauth]",
            expect("ssh_max_auth_attempts failure 198.51.100.61:49001 user=root"),
        );
        check_sshd(
            "2016-05-17T19:03:51.123456+00:00 host sshd[2723]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.132  user=root",
            expect("ssh_pam_failure failure 192.0.2.132 user=root"),
        );
        check_sshd(
            "Nov 23 21:50:19 sshd[8155]: Disconnecting: Too many authentication failures for root [preauth]",
            expect("ssh_too_many_auth_failures failure - user=root"),
        );
        check_sshd(
            "Mar 19 16:47:49 test sshd[5679]: Disconnecting invalid user admin 192.0.2.137 port 45005: Change of username or service not allowed: (admin,ssh-connection) -> (user,ssh-connection) [preauth]",
            expect("ssh_disconnecting_user failure 192.0.2.137:45005 user=admin"),
        );
    }

    #[test]
    fn disconnects_and_scanner_traces() {
        check_sshd(
            "May 27 00:16:33 host sshd[2371]: Received disconnect from 198.51.100.176 port 59990:11: Closing session [preauth]",
            expect("ssh_preauth_disconnect unknown 198.51.100.176:59990"),
        );
        check_sshd(
            "Apr 24 01:39:19 host sshd[3726]: error: Received disconnect from 198.51.100.134: 11: Closing session [preauth]",
            expect("ssh_preauth_disconnect unknown 198.51.100.134"),
        );
        check_sshd(
            "Jul 13 18:44:28 ops1 sshd[4938]: Received disconnect from 203.0.113.192: 3: org.example.SshClient: Auth fail",
            expect("ssh_disconnect failure 203.0.113.192"),
        );
        check_sshd(
            "Nov 25 01:35:14 srv sshd[3632]: error: Received disconnect from 192.168.7.92 port 2684:14: No supported authentication methods available [preauth]",
            expect("ssh_preauth_disconnect failure 192.168.7.92:2684"),
        );
        check_sshd(
            "Mar 15 09:21:01 host sshd[2724]: Connection closed by 192.0.2.232 [preauth]",
            expect("ssh_preauth_disconnect unknown 192.0.2.232"),
        );
        check_sshd(
            "Jun  6 04:17:09 host sshd[1189081]: Connection closed by invalid user  192.0.2.168 port 35550 [preauth]",
            expect("ssh_preauth_disconnect unknown 192.0.2.168:35550 user="),
        );
        check_sshd(
            "Jul 18 17:19:11 srv sshd[2108]: Disconnected from 192.0.2.104 port 36001 [preauth]",
            expect("ssh_preauth_disconnect unknown 192.0.2.104:36001"),
        );
        check_sshd(
            "Jun  7 01:11:57 host sshd[8789]: Did not receive identification string from 192.0.2.205 port 36336",
            expect("ssh_no_identification failure 192.0.2.205:36336"),
        );
        check_sshd(
            "Feb 17 17:40:17 sshd[19732]: Connection from 192.0.2.110 port 63004 on 192.0.2.110 port 22",
            expect("ssh_connection unknown 192.0.2.110:63004"),
        );
        check_sshd(
            "Feb 17 17:40:18 sshd[19732]: error: kex_exchange_identification: Connection closed by remote host",
            expect("ssh_kex_failure failure -"),
        );
        check_sshd(
            "Mar  1 18:59:33 hostname sshd[1189582]: banner exchange: Connection from 192.0.2.122 port 45105: invalid format",
            expect("ssh_protocol_error failure 192.0.2.122:45105"),
        );
        check_sshd(
            "Jun 10 09:43:06 host sshd[3808]: Timeout before authentication for connection from 192.0.2.137 to 127.0.0.9, pid = 29098",
            expect("ssh_preauth_timeout failure 192.0.2.137"),
        );
        check_sshd(
            "Nov 26 13:03:29 srv sshd[52]: Unable to negotiate with 192.0.2.201 port 56419: no matching cipher found. Their offer: aes256-cbc [preauth]",
            expect("ssh_negotiation_failed failure 192.0.2.201:56419"),
        );
        check_sshd(
            "Nov 24 23:46:39 host sshd[32693]: SSH: Server;Ltype: Version;Remote: 127.0.0.9-1790;Protocol: 2.0;Client: libssh2_1.10.0",
            expect("ssh_connection unknown 127.0.0.9:1790"),
        );
    }

    #[test]
    fn ipv6_clients_keep_their_colons() {
        check_sshd(
            "Oct  2 07:00:01 gw sshd[77]: Received disconnect from 2001:db8::7 port 50022:11: disconnected by user",
            expect("ssh_disconnect unknown 2001:db8::7:50022"),
        );
        check_sshd(
            "Oct  2 07:00:02 gw sshd[78]: Received disconnect from 2001:db8::8: 3: Auth fail [preauth]",
            expect("ssh_preauth_disconnect failure 2001:db8::8"),
        );
        check_sshd(
            "Oct  2 07:00:03 gw sshd[79]: Connection closed by 2001:db8::9 port 50023 [preauth]",
            expect("ssh_preauth_disconnect unknown 2001:db8::9:50023"),
        );
        check_sshd(
            "Oct  2 07:00:04 gw sshd[80]: Accepted password for ana from 2001:db8::a port 50024 ssh2",
            expect("ssh_login success 2001:db8::a:50024 user=ana"),
        );
    }

    #[test]
    fn the_event_carries_the_envelope() {
        crate::parse::check::check_fields(
            crate::parse::Format::Syslog,
            "Aug 13 23:59:58 bastion-2 sshd[40112]: Failed password for invalid user oracle from ::ffff:198.51.100.40 port 40022 ssh2",
            &[
                ("@timestamp", "2005-08-13T21:59:58Z"),
                ("event.category", "authentication"),
                ("event.action", "ssh_login"),
                ("event.outcome", "failure"),
                ("source.ip", "198.51.100.40"),
                ("source.address", "198.51.100.40"),
                ("source.port", "40022"),
                ("user.name", "oracle"),
                ("ssh.method", "password"),
                ("ssh.invalid_user", "true"),
                ("process.name", "sshd"),
                ("process.pid", "40112"),
                ("host.name", "bastion-2"),
                (
                    "message",
                    "Failed password for invalid user oracle from ::ffff:198.51.100.40 port 40022 ssh2",
                ),
                ("event.count", "null"),
            ],
        );
    }

    #[test]
    fn repeated_messages_carry_their_count() {
        let event = crate::parse::check::sshd_event(
            "Jun  1 10:00:00 h sshd[16]: message repeated 4 times: [ Failed password for root from 192.0.2.9 port 22 ssh2]",
        )
        .unwrap();
        assert_eq!(event.get("event.count"), Some(&Value::from(4)));
        assert_eq!(event.source_ip(), Some("192.0.2.9".parse().unwrap()));
    }

    #[test]
    fn lines_sshd_logs_that_say_nothing_are_not_events() {
        for line in [
            "Mar  7 18:53:24 bar sshd[1565]: pam_unix(sshd:session): session opened for user known by (uid=0)",
            "Apr 24 01:39:19 host sshd[3726]: input_userauth_request: invalid user root [preauth]",
            "Nov 28 09:16:03 srv sshd[32314]: Postponed publickey for deployer from 192.0.2.201 port 50312 ssh2 [preauth]",
            "Oct 15 19:51:35 server sshd[7599]: Address 198.51.100.9 maps to scan-44.example.com, but this does not map back to the address - POSSIBLE BREAK-IN ATTEMPT!",
        ] {
            assert!(crate::parse::check::sshd_event(line).is_err(), "{line}");
        }
    }

    /// The port read from the right by one search for the last space agrees with taking the
    /// last ` port ` anywhere (a two-way reverse search, as this was written before).
    fn port_tail_by_rfind(text: &str) -> Option<(&str, Option<u16>, &str)> {
        let mut text = text.trim_end();
        for suffix in [" ssh2", " ssh1"] {
            if let Some(rest) = text.strip_suffix(suffix) {
                text = rest;
            }
        }
        let mut port = None;
        if let Some(at) = text.rfind(" port ")
            && let Ok(number) = text[at + 6..].parse::<u16>()
        {
            port = Some(number);
            text = &text[..at];
        }
        let (head, address) = match text.rfind(' ') {
            Some(at) => (&text[..at], &text[at + 1..]),
            None => ("", text),
        };
        crate::parse::is_address(address).then_some((address, port, head))
    }

    proptest::proptest! {
        #[test]
        fn the_port_tail_is_read_as_a_search_for_the_last_port_would(
            parts in proptest::collection::vec(proptest::prop_oneof![
                proptest::strategy::Just(" port ".to_owned()),
                proptest::strategy::Just(" port".to_owned()),
                proptest::strategy::Just("port ".to_owned()),
                proptest::strategy::Just(" ".to_owned()),
                proptest::strategy::Just(" ssh2".to_owned()),
                proptest::strategy::Just("+".to_owned()),
                "[0-9]{1,6}",
                "[a-z.:]{1,8}",
                "[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}",
            ], 0..10)
        ) {
            let text = parts.concat();
            proptest::prop_assert_eq!(address_port_tail(&text), port_tail_by_rfind(&text), "{:?}", text);
        }
    }

    #[test]
    fn one_invalid_user_guess_is_one_attempt() {
        let mut dedup = AttemptDedup::new();
        let invalid = parse("Invalid user admin from 192.0.2.201 port 4242").unwrap();
        let failed =
            parse("Failed password for invalid user admin from 192.0.2.201 port 4242 ssh2")
                .unwrap();
        assert!(dedup.is_new_attempt(Some(7), &invalid));
        assert!(!dedup.is_new_attempt(Some(7), &failed));
        // A second password on the same connection is a second guess.
        assert!(dedup.is_new_attempt(Some(7), &failed));
        // Another connection is another guess.
        assert!(dedup.is_new_attempt(Some(8), &failed));
        let publickey =
            parse("Failed publickey for deployer from 192.0.2.201 port 1 ssh2: RSA x").unwrap();
        assert!(!dedup.is_new_attempt(Some(16), &publickey));
    }
}
