//! Syslog sources: RFC 3164 and RFC 5424 messages over UDP (one message per datagram) and TCP
//! (one message per line). Messages no parser reads are counted
//! (`firebreak_syslog_unreadable_total`) and dropped; nothing else is lost once a batch is in
//! the spool. UDP and TCP syslog carry no acknowledgement, so a message still in the batch
//! buffer when the process is killed is lost, as with any syslog receiver; at shutdown the
//! buffer is flushed.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use firebreak_core::Clock;
use firebreak_detect::parse::detect_format::Format;
use firebreak_detect::{LineParser, ParseConfig};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncReadExt;
use tokio::sync::{mpsc, watch};

use super::{Pending, append};
use crate::metrics::Metrics;
use crate::spool::Spool;

/// The longest message kept; longer ones are cut off and fail to parse, counted.
const MAX_MESSAGE: usize = 64 << 10;

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

/// Binds the listener and starts it with its batching task.
pub(super) async fn start(
    source: &SyslogSource,
    spool: Spool,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    stop: watch::Receiver<bool>,
) -> std::io::Result<Vec<tokio::task::JoinHandle<()>>> {
    let name = format!(
        "syslog {} {}",
        match source.protocol {
            Protocol::Udp => "udp",
            Protocol::Tcp => "tcp",
        },
        source.listen
    );
    let (lines_tx, lines_rx) = mpsc::channel::<(SocketAddr, Vec<u8>)>(10_000);
    let receive = match source.protocol {
        Protocol::Udp => {
            let socket = tokio::net::UdpSocket::bind(source.listen).await?;
            tokio::spawn(receive_udp(socket, lines_tx, stop.clone()))
        }
        Protocol::Tcp => {
            let listener = tokio::net::TcpListener::bind(source.listen).await?;
            tokio::spawn(accept_tcp(listener, lines_tx, stop.clone()))
        }
    };
    tracing::info!(source = %name, "Receiving syslog.");
    let batch = tokio::spawn(batch(name, lines_rx, spool, clock, metrics, stop));
    Ok(vec![receive, batch])
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
    let mut parser = LineParser::new(Format::Syslog, ParseConfig::default());
    let mut pending = Pending::default();
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    loop {
        let mut ticked = false;
        let stopping = tokio::select! {
            next = lines.recv() => match next {
                Some((peer, message)) => {
                    read(&mut parser, &mut pending, peer, &message, clock.now(), &metrics);
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
        if pending.count > 0 && (stopping || ticked || pending.is_full()) {
            flush(&name, &spool, &*clock, &metrics, &mut pending).await;
        }
        if stopping {
            // Take what is already queued, then stop.
            while let Ok((peer, message)) = lines.try_recv() {
                read(&mut parser, &mut pending, peer, &message, clock.now(), &metrics);
            }
            if pending.count > 0 {
                flush(&name, &spool, &*clock, &metrics, &mut pending).await;
            }
            return;
        }
    }
}

/// Reads one message into the batch, or counts it as unreadable.
fn read(
    parser: &mut LineParser,
    pending: &mut Pending,
    peer: SocketAddr,
    message: &[u8],
    now: jiff::Timestamp,
    metrics: &Metrics,
) {
    match parser.parse(message, now) {
        Ok(event) => {
            pending.push(&event);
            pending.last_peer = Some(peer);
        }
        Err(_) => metrics.syslog_unreadable.add(1),
    }
}

async fn flush(
    name: &str,
    spool: &Spool,
    clock: &dyn Clock,
    metrics: &Metrics,
    pending: &mut Pending,
) {
    if let Err(error) = append(name, spool, clock, metrics, pending).await {
        tracing::error!(%error, source = name, "Syslog events could not be written to the spool; they are lost.");
    }
}
