//! `POST /api/v1/events`: one JSON object, a JSON array of objects, or NDJSON (also objects
//! back to back on a line, as Fluent Bit's `json_stream` sends), optionally gzip-compressed.
//! Good events are kept even when others in the same request are bad; the answer counts both
//! and gives each bad one's line (or array item) and reason. A 2xx answer means the accepted
//! events are on disk in the spool.

use std::io::Read;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use firebreak_core::Event;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::{Ingest, Need};
use crate::error::ApiError;
use crate::{AppState, SpoolAudited};

/// At most this many rejections are listed in an answer; the count covers them all.
const MAX_LISTED_ERRORS: usize = 100;

#[derive(Debug, Serialize, ToSchema, PartialEq, Eq)]
pub struct IngestResult {
    pub accepted: u64,
    pub rejected: u64,
    /// The first rejections, each with where it was and why.
    pub errors: Vec<LineError>,
}

#[derive(Debug, Serialize, ToSchema, PartialEq, Eq)]
pub struct LineError {
    /// 1-based line of the body (NDJSON), or 0 for a JSON array.
    pub line: u64,
    /// 0-based item of a JSON array, when the body is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<u64>,
    pub reason: String,
}

/// The events of one body, normalised, and what was wrong with the rest.
#[derive(Debug, Default)]
pub struct Parsed {
    /// The accepted events, one per line, as they came; empty when `verbatim`.
    pub payload: Vec<u8>,
    /// Every line of the body was accepted byte for byte (the usual NDJSON batch): the body
    /// itself is the payload, and is not copied.
    pub verbatim: bool,
    pub accepted: u32,
    pub rejected: u64,
    pub errors: Vec<LineError>,
}

impl Parsed {
    /// The accepted events, one per line (blank lines may come between): the body itself when
    /// it was kept verbatim.
    pub fn kept<'a>(&'a self, body: &'a [u8]) -> &'a [u8] {
        if self.verbatim { body } else { &self.payload }
    }

    /// From the line at `line_start` on, events are kept line by line: the lines before it,
    /// all accepted as they came, are copied into the payload first.
    fn leave_verbatim(&mut self, body: &[u8], line_start: usize) {
        if self.verbatim {
            self.verbatim = false;
            self.payload.reserve(body.len() + 1);
            self.payload.extend_from_slice(body.get(..line_start).unwrap_or_default());
        }
    }

    /// Keeps one event's bytes as they came, on one line of the payload.
    fn accept(&mut self, raw: &[u8]) {
        let raw = raw.trim_ascii();
        if memchr::memchr2(b'\n', b'\r', raw).is_some() {
            // A raw line break in valid JSON can only be whitespace between tokens.
            self.payload
                .extend(raw.iter().map(|&b| if b == b'\n' || b == b'\r' { b' ' } else { b }));
        } else {
            self.payload.extend_from_slice(raw);
        }
        self.payload.push(b'\n');
        self.accepted += 1;
    }

    fn reject(&mut self, line: u64, item: Option<u64>, reason: String) {
        self.rejected += 1;
        if self.errors.len() < MAX_LISTED_ERRORS {
            self.errors.push(LineError { line, item, reason });
        }
    }

    fn check(&mut self, raw: &[u8], line: u64, item: Option<u64>, max_event_bytes: usize) {
        if raw.len() > max_event_bytes {
            let what = if item.is_some() { "event" } else { "line" };
            self.reject(
                line,
                item,
                format!("the {what} is larger than the limit of {max_event_bytes} bytes"),
            );
            return;
        }
        match Event::validate_json(raw) {
            Ok(()) => self.accept(raw),
            Err(error) => self.reject(line, item, error.to_string()),
        }
    }
}

/// Splits and checks a body. Pure, so that it can be tested and fuzzed without a server.
///
/// Each event is checked with `Event::validate_json` (what the store will accept) and kept as
/// the bytes that came: no event is parsed into a tree or written out again on this path.
pub fn parse_body(body: &[u8], max_event_bytes: usize) -> Parsed {
    let mut parsed = Parsed::default();
    let trimmed = body.trim_ascii_start();
    if trimmed.first() == Some(&b'[') {
        match serde_json::from_slice::<Vec<&serde_json::value::RawValue>>(trimmed) {
            Ok(items) => {
                for (index, item) in items.into_iter().enumerate() {
                    parsed.check(item.get().as_bytes(), 0, Some(index as u64), max_event_bytes);
                }
            }
            Err(error) => parsed.reject(
                u64::try_from(error.line()).unwrap_or(0),
                None,
                format!("the body is not a valid JSON array: {error}"),
            ),
        }
        return parsed;
    }
    let mut start = 0;
    parsed.verbatim = true;
    let ends = memchr::memchr_iter(b'\n', body).chain(std::iter::once(body.len()));
    for (index, end) in ends.enumerate() {
        let number = index as u64 + 1;
        let segment = body.get(start..end).unwrap_or_default();
        let line = segment.trim_ascii();
        let line_start = start;
        start = end + 1;
        if segment.is_empty() {
            continue;
        }
        // A line stays in the body as it came only if it is accepted whole and untrimmed.
        if line.len() != segment.len() {
            parsed.leave_verbatim(body, line_start);
        }
        if line.is_empty() {
            continue;
        }
        if line.len() > max_event_bytes {
            parsed.leave_verbatim(body, line_start);
            parsed.reject(
                number,
                None,
                format!("the line is larger than the limit of {max_event_bytes} bytes"),
            );
            continue;
        }
        match Event::validate_json(line) {
            Ok(()) if parsed.verbatim => parsed.accepted += 1,
            Ok(()) => parsed.accept(line),
            // Perhaps several objects back to back (Fluent Bit's `json_stream`).
            Err(first_error) => {
                parsed.leave_verbatim(body, line_start);
                let mut stream = serde_json::Deserializer::from_slice(line)
                    .into_iter::<&serde_json::value::RawValue>();
                let mut values = Vec::new();
                let whole = loop {
                    match stream.next() {
                        None => break true,
                        Some(Ok(raw)) => values.push(raw),
                        Some(Err(_)) => break false,
                    }
                };
                if whole && values.len() > 1 {
                    for raw in values {
                        parsed.check(raw.get().as_bytes(), number, None, max_event_bytes);
                    }
                } else {
                    let reason = match first_error {
                        firebreak_core::EventError::Json(reason) => {
                            format!("invalid JSON: {reason}")
                        }
                        other => other.to_string(),
                    };
                    parsed.reject(number, None, reason);
                }
            }
        }
    }
    if parsed.accepted == 0 {
        parsed.verbatim = false;
    }
    // A single object pretty-printed over several lines fails line by line; read it whole.
    if parsed.accepted == 0 && parsed.rejected > 1 && Event::validate_json(trimmed).is_ok() {
        let mut whole = Parsed::default();
        whole.accept(trimmed);
        return whole;
    }
    parsed
}

/// Takes events for detection and investigation.
#[utoipa::path(
    post,
    path = "/api/v1/events",
    tag = "ingest",
    request_body(content = String, description = "One JSON object, a JSON array of objects, or NDJSON. `Content-Encoding: gzip` is accepted.", content_type = "application/x-ndjson"),
    responses(
        (status = 200, description = "Events accepted (some may have been rejected: see `rejected`)", body = IngestResult),
        (status = 400, description = "No event in the body was acceptable", body = IngestResult),
        (status = 401, description = "No valid token", body = crate::error::ErrorBody),
        (status = 413, description = "The body is over the limit", body = crate::error::ErrorBody),
        (status = 503, description = "Nothing taken: the store is `ingest.max_backlog_events` or more behind, or the spool failed; send again after `Retry-After` seconds", body = crate::error::ErrorBody),
    ),
    security(("token" = ["ingest"]))
)]
pub async fn post_events(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    Need(caller, _): Need<Ingest>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let backlog =
        u64::try_from(state.spool.committed().saturating_sub(state.metrics.store_checkpoint.get()))
            .unwrap_or(0);
    if let Some(refusal) = backlog_refusal(backlog, state.config.ingest.max_backlog_events) {
        state.metrics.ingest_backlogged.add(1);
        return Err(refusal);
    }
    let limit = state.config.ingest.max_body_bytes;
    let gzip = headers
        .get(axum::http::header::CONTENT_ENCODING)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.eq_ignore_ascii_case("gzip"));
    let body = if gzip { axum::body::Bytes::from(gunzip(&body, limit)?) } else { body };
    let received_at = state.clock.now();
    let max_event = state.config.ingest.max_event_bytes;
    let (parsed, body) = tokio::task::spawn_blocking(move || (parse_body(&body, max_event), body))
        .await
        .map_err(|error| ApiError::Internal(error.to_string()))?;
    state.metrics.events_rejected.add(parsed.rejected);
    let result = IngestResult {
        accepted: u64::from(parsed.accepted),
        rejected: parsed.rejected,
        errors: parsed.errors,
    };
    if parsed.accepted == 0 {
        if result.rejected == 0 {
            return Err(ApiError::Invalid("the body holds no events".into()));
        }
        return Ok((StatusCode::BAD_REQUEST, Json(result)).into_response());
    }
    // Who sent it travels with the events, and becomes the audit record when they are stored.
    let meta = serde_json::to_vec(&serde_json::json!({
        "actor": caller.actor,
        "remote_addr": peer.ip().to_string(),
        "rejected": result.rejected,
    }))
    .unwrap_or_default();
    let at = i64::try_from(received_at.as_nanosecond()).unwrap_or(i64::MAX);
    let payload = if parsed.verbatim { body } else { Bytes::from(parsed.payload) };
    state.spool.append(parsed.accepted, at, meta, payload).await.map_err(|error| {
        ApiError::Unavailable(format!("the events could not be made durable: {error}"))
    })?;
    state.metrics.events_accepted.add(result.accepted);
    let mut response = (StatusCode::OK, Json(result)).into_response();
    response.extensions_mut().insert(SpoolAudited);
    Ok(response)
}

/// Refuses a request while the store is `limit` or more events behind the spool (0: no limit).
/// Nothing of the request is taken, so nothing is lost: the sender keeps it and retries.
fn backlog_refusal(backlog: u64, limit: u64) -> Option<ApiError> {
    (limit > 0 && backlog >= limit).then_some(ApiError::Backlogged { backlog, limit })
}

fn gunzip(body: &[u8], limit: usize) -> Result<Vec<u8>, ApiError> {
    let mut out = Vec::new();
    let mut decoder = flate2::read::GzDecoder::new(body).take(limit as u64 + 1);
    decoder
        .read_to_end(&mut out)
        .map_err(|error| ApiError::Invalid(format!("the gzip body could not be read: {error}")))?;
    if out.len() > limit {
        return Err(ApiError::TooLarge { limit });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(parsed: &Parsed, body: &[u8]) -> Vec<String> {
        String::from_utf8(parsed.kept(body).to_vec())
            .unwrap()
            .lines()
            .filter(|line| !line.is_empty())
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn a_clean_batch_is_kept_verbatim_and_any_other_line_by_line() {
        let clean = b"{\"a\":1}\n\n{\"b\":2}\n{\"c\":3}";
        let parsed = parse_body(clean, 1000);
        assert!(parsed.verbatim && parsed.payload.is_empty());
        assert_eq!(parsed.accepted, 3);
        assert_eq!(lines(&parsed, clean), [r#"{"a":1}"#, r#"{"b":2}"#, r#"{"c":3}"#]);
        for (body, kept) in [
            (&b"{\"a\":1}\n{oops\n{\"c\":3}\n"[..], vec![r#"{"a":1}"#, r#"{"c":3}"#]),
            (b"{\"a\":1}\r\n{\"b\":2}\r\n", vec![r#"{"a":1}"#, r#"{"b":2}"#]),
            (b"{\"a\":1}\n   \n {\"b\":2}\n", vec![r#"{"a":1}"#, r#"{"b":2}"#]),
        ] {
            let parsed = parse_body(body, 1000);
            assert!(!parsed.verbatim, "{body:?}");
            assert_eq!(lines(&parsed, body), kept, "{body:?}");
        }
    }

    #[test]
    fn ndjson_keeps_good_lines_and_names_bad_ones() {
        let body = b"{\"message\":\"a\"}\n\n{oops\n[1]\n{\"message\":\"b\"}{\"message\":\"c\"}\n{\"@timestamp\":\"nope\"}\n";
        let parsed = parse_body(body, 1000);
        assert_eq!(parsed.accepted, 3);
        assert_eq!(parsed.rejected, 3);
        let where_: Vec<u64> = parsed.errors.iter().map(|e| e.line).collect();
        assert_eq!(where_, vec![3, 4, 6]);
        assert!(parsed.errors[0].reason.contains("invalid JSON"), "{:?}", parsed.errors);
        assert_eq!(lines(&parsed, body)[1], r#"{"message":"b"}"#, "back-to-back objects are split");
        assert!(parsed.errors[1].reason.contains("must be a JSON object"));
        assert!(parsed.errors[2].reason.contains("@timestamp"));
        assert_eq!(lines(&parsed, body).len(), 3);
    }

    #[test]
    fn arrays_name_the_bad_item() {
        let body = br#" [{"log":"a","date":1.5}, 7, {"log":"b"}]"#;
        let parsed = parse_body(body, 1000);
        assert_eq!((parsed.accepted, parsed.rejected), (2, 1));
        assert_eq!(parsed.errors[0].item, Some(1));
        assert_eq!(lines(&parsed, body)[0], r#"{"log":"a","date":1.5}"#);
        let broken = parse_body(b"[{\"a\":1},", 1000);
        assert_eq!((broken.accepted, broken.rejected), (0, 1));
    }

    #[test]
    fn a_pretty_printed_object_is_one_event() {
        let parsed = parse_body(
            b"{\n  \"message\": \"x\",\n  \"source\": {\"ip\": \"192.0.2.1\"}\n}\n",
            1000,
        );
        assert_eq!((parsed.accepted, parsed.rejected), (1, 0));
    }

    #[test]
    fn oversized_lines_are_rejected_alone() {
        let big = format!("{{\"message\":\"{}\"}}\n{{\"message\":\"ok\"}}", "x".repeat(200));
        let parsed = parse_body(big.as_bytes(), 100);
        assert_eq!((parsed.accepted, parsed.rejected), (1, 1));
        assert_eq!(parsed.errors[0].line, 1);
    }

    #[test]
    fn a_backlog_at_the_limit_is_refused_and_no_limit_refuses_nothing() {
        assert!(super::backlog_refusal(999, 1000).is_none());
        let refusal = super::backlog_refusal(1000, 1000).map(|e| e.to_string()).unwrap_or_default();
        assert!(refusal.contains("1000 events behind"), "{refusal}");
        assert!(super::backlog_refusal(u64::MAX, 0).is_none());
    }

    #[test]
    fn garbage_never_panics() {
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..2000 {
            let len = (seed % 200) as usize;
            let mut bytes = Vec::with_capacity(len);
            for _ in 0..len {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let alphabet = b"{}[]\":,\n 0a\\\xff";
                bytes.push(alphabet[(seed % alphabet.len() as u64) as usize]);
            }
            let parsed = parse_body(&bytes, 64);
            assert!(parsed.errors.len() <= MAX_LISTED_ERRORS);
            // What is kept is exactly the accepted events, verbatim or not.
            assert_eq!(lines(&parsed, &bytes).len(), parsed.accepted as usize, "{bytes:?}");
        }
    }
}
