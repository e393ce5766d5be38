//! Syslog sources: RFC 3164 and RFC 5424 messages over UDP (one message per datagram) and TCP
//! (one message per line). Each message is parsed by the detection crate's parsers (an sshd
//! message becomes an authentication event, and so on) and then goes the way of events posted
//! to the API: into the spool, the store, and live detection. Messages no parser reads are
//! counted (`firebreak_syslog_unreadable_total`) and dropped; nothing else is lost once a batch
//! is in the spool. UDP and TCP syslog carry no acknowledgement, so a message still in the
//! batch buffer when the process is killed is lost, as with any syslog receiver; at shutdown
//! the buffer is flushed.
//!
//! The events say which line source they come from (`firebreak.source`), so the rules written
//! for sshd lines (`logsource: service: sshd`) apply to them as in `firebreak scan`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use firebreak_core::Clock;
use firebreak_detect::parse::detect_format::Format;
use firebreak_detect::parse::sshd::{self, AttemptDedup};
use firebreak_detect::parse::syslog::SyslogParser;
use firebreak_detect::{LineParser, ParseConfig};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncReadExt;
use tokio::sync::{mpsc, watch};

use crate::metrics::Metrics;
use crate::spool::Spool;

/// The longest message kept; longer ones are cut off and fail to parse, counted.
const MAX_MESSAGE: usize = 64 << 10;
/// Events per spool record, at most.
const BATCH: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Udp,
    Tcp,
}

/// One syslog listener: `[[sources.syslog]]` with `listen` and `protocol`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyslogSource {
    pub listen: SocketAddr,
    pub protocol: Protocol,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SourcesConfig {
    pub syslog: Vec<SyslogSource>,
}

/// Binds every configured listener (failing at start if one cannot be bound) and starts them.
pub async fn start(
    config: &SourcesConfig,
    spool: Spool,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    stop: watch::Receiver<bool>,
) -> std::io::Result<Vec<tokio::task::JoinHandle<()>>> {
    let mut tasks = Vec::new();
    for source in &config.syslog {
        let name = format!(
            "syslog {} {}",
            match source.protocol {
                Protocol::Udp => "udp",
                Protocol::Tcp => "tcp",
            },
            source.listen
        );
        let (lines_tx, lines_rx) = mpsc::channel::<(SocketAddr, Vec<u8>)>(10_000);
        match source.protocol {
            Protocol::Udp => {
                let socket = tokio::net::UdpSocket::bind(source.listen).await?;
                tasks.push(tokio::spawn(receive_udp(socket, lines_tx, stop.clone())));
            }
            Protocol::Tcp => {
                let listener = tokio::net::TcpListener::bind(source.listen).await?;
                tasks.push(tokio::spawn(accept_tcp(listener, lines_tx, stop.clone())));
            }
        }
        tracing::info!(source = %name, "Receiving syslog.");
        tasks.push(tokio::spawn(batch(
            name,
            lines_rx,
            spool.clone(),
            clock.clone(),
            metrics.clone(),
            stop.clone(),
        )));
    }
    Ok(tasks)
}

async fn receive_udp(
    socket: tokio::net::UdpSocket,
    lines: mpsc::Sender<(SocketAddr, Vec<u8>)>,
    mut stop: watch::Receiver<bool>,
) {
    let mut buffer = vec![0u8; MAX_MESSAGE];
    loop {
        tokio::select! {
            received = socket.recv_from(&mut buffer) => match received {
                Ok((size, peer)) => {
                    let message = buffer[..size].trim_ascii_end().to_vec();
                    if lines.send((peer, message)).await.is_err() {
                        return;
                    }
                }
                Err(error) => tracing::warn!(%error, "A syslog datagram could not be read."),
            },
            _ = stop.changed() => return,
        }
    }
}

async fn accept_tcp(
    listener: tokio::net::TcpListener,
    lines: mpsc::Sender<(SocketAddr, Vec<u8>)>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    tokio::spawn(read_tcp(stream, peer, lines.clone(), stop.clone()));
                }
                Err(error) => tracing::warn!(%error, "A syslog connection could not be accepted."),
            },
            _ = stop.changed() => return,
        }
    }
}

/// Splits a TCP stream into lines of at most `MAX_MESSAGE` bytes (the rest of a longer line is
/// dropped, so that one sender cannot make the server hold an unbounded line).
async fn read_tcp(
    mut stream: tokio::net::TcpStream,
    peer: SocketAddr,
    lines: mpsc::Sender<(SocketAddr, Vec<u8>)>,
    mut stop: watch::Receiver<bool>,
) {
    let mut chunk = vec![0u8; 64 << 10];
    let mut line: Vec<u8> = Vec::new();
    loop {
        let read = tokio::select! {
            read = stream.read(&mut chunk) => read,
            _ = stop.changed() => return,
        };
        let size = match read {
            Ok(0) | Err(_) => break,
            Ok(size) => size,
        };
        for &byte in &chunk[..size] {
            if byte == b'\n' {
                let message = std::mem::take(&mut line);
                if !message.trim_ascii().is_empty()
                    && lines.send((peer, message.trim_ascii_end().to_vec())).await.is_err()
                {
                    return;
                }
            } else if line.len() < MAX_MESSAGE {
                line.push(byte);
            }
        }
    }
    if !line.trim_ascii().is_empty() {
        let _ = lines.send((peer, line)).await;
    }
}

/// Reads one message into an event. An sshd message carries the fields the detection rules
/// key on when they read log lines themselves: `firebreak.source` and, for one new
/// authentication attempt, `firebreak.attempt` (an `Invalid user` line and the `Failed
/// password` that repeats it count once).
struct Reader {
    syslog: SyslogParser,
    dedup: AttemptDedup,
    other: LineParser,
}

impl Reader {
    fn new() -> Reader {
        let config = ParseConfig::default();
        Reader {
            syslog: SyslogParser::new(config.time_zone.clone()),
            dedup: AttemptDedup::new(),
            other: LineParser::new(Format::Syslog, config),
        }
    }

    fn read(&mut self, message: &[u8], now: jiff::Timestamp) -> Option<firebreak_core::Event> {
        let text = std::str::from_utf8(message).ok();
        if let Some(text) = text
            && let Ok(line) = self.syslog.parse(text, now)
            && line.program.is_some_and(sshd::is_sshd)
            && let Some(ssh) = sshd::parse(line.message)
        {
            let mut event = ssh.to_event(&line, now);
            event
                .fields
                .insert("firebreak.source".into(), serde_json::Value::String("sshd".into()));
            if ssh.is_attempt() && self.dedup.is_new_attempt(line.pid, &ssh) {
                event.fields.insert("firebreak.attempt".into(), serde_json::Value::Bool(true));
            }
            return Some(event);
        }
        self.other.parse(message, now).ok()
    }
}

/// Parses messages and appends them to the spool in batches: when `BATCH` are waiting, or
/// 200 ms after the first of a batch, and at shutdown.
async fn batch(
    name: String,
    mut lines: mpsc::Receiver<(SocketAddr, Vec<u8>)>,
    spool: Spool,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    mut stop: watch::Receiver<bool>,
) {
    let mut parser = Reader::new();
    let mut pending = Pending::default();
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    loop {
        let mut ticked = false;
        let stopping = tokio::select! {
            next = lines.recv() => match next {
                Some((peer, message)) => {
                    pending.push(&mut parser, peer, &message, clock.now(), &metrics);
                    false
                }
                None => true,
            },
            _ = tick.tick() => {
                ticked = true;
                false
            }
            _ = stop.changed() => true,
        };
        if pending.count > 0 && (stopping || ticked || pending.count as usize >= BATCH) {
            flush(&name, &spool, &*clock, &metrics, &mut pending).await;
        }
        if stopping {
            // Take what is already queued, then stop.
            while let Ok((peer, message)) = lines.try_recv() {
                pending.push(&mut parser, peer, &message, clock.now(), &metrics);
            }
            if pending.count > 0 {
                flush(&name, &spool, &*clock, &metrics, &mut pending).await;
            }
            return;
        }
    }
}

/// Events parsed and not yet in the spool.
#[derive(Debug, Default)]
struct Pending {
    payload: Vec<u8>,
    count: u32,
    last_peer: Option<SocketAddr>,
}

impl Pending {
    /// Reads one message into the batch, or counts it as unreadable.
    fn push(
        &mut self,
        reader: &mut Reader,
        peer: SocketAddr,
        message: &[u8],
        now: jiff::Timestamp,
        metrics: &Metrics,
    ) {
        match reader.read(message, now) {
            Some(event) => {
                self.payload.extend_from_slice(event.to_json().as_bytes());
                self.payload.push(b'\n');
                self.count += 1;
                self.last_peer = Some(peer);
            }
            None => metrics.syslog_unreadable.add(1),
        }
    }
}

async fn flush(
    name: &str,
    spool: &Spool,
    clock: &dyn Clock,
    metrics: &Metrics,
    pending: &mut Pending,
) {
    let Pending { payload, count, last_peer: peer } = pending;
    let at = i64::try_from(clock.now().as_nanosecond()).unwrap_or(i64::MAX);
    let meta = serde_json::to_vec(&serde_json::json!({
        "actor": name,
        "remote_addr": peer.map(|p| p.ip().to_string()).unwrap_or_default(),
        "rejected": 0,
    }))
    .unwrap_or_default();
    match spool.append(*count, at, meta, std::mem::take(payload)).await {
        Ok(_) => metrics.events_accepted.add(u64::from(*count)),
        Err(error) => {
            tracing::error!(%error, source = name, "Syslog events could not be written to the spool; they are lost.")
        }
    }
    *count = 0;
}
