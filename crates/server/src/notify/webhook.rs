//! Generic JSON webhooks, signed.
//!
//! The body is one JSON object:
//!
//! ```json
//! {
//!   "version": 1,
//!   "notification_id": 12,
//!   "event": "incident_opened",
//!   "subject": "[SEV2] Incident 3 opened: …",
//!   "text": "…",
//!   "incident": { "id": 3, "title": "…", "severity": "SEV2", "status": "detected" },
//!   "escalation_id": 5,
//!   "level": 0,
//!   "acknowledge_url": "https://firebreak.example.com/ack/12?sig=…",
//!   "sent_at": "2026-03-01T10:00:00Z"
//! }
//! ```
//!
//! (`escalation_id` and `acknowledge_url` are null for a communication.) Two headers come with
//! it: `X-Firebreak-Timestamp`, Unix seconds, and `X-Firebreak-Signature: sha256=HEX`, the
//! HMAC-SHA256 under the channel's `secret` of the timestamp, a `.`, and the body's bytes. A
//! receiver recomputes it, compares in constant time, and refuses old timestamps, so that a
//! captured request cannot be replayed later.

use jiff::Timestamp;
use serde_json::json;

use super::config::WebhookChannel;
use super::sign::{hex, hmac};
use super::{Failure, Outgoing, http_outcome};

pub const TIMESTAMP_HEADER: &str = "X-Firebreak-Timestamp";
pub const SIGNATURE_HEADER: &str = "X-Firebreak-Signature";

pub fn payload(out: &Outgoing<'_>, now: Timestamp) -> serde_json::Value {
    let n = out.notification;
    json!({
        "version": 1,
        "notification_id": n.id,
        "event": n.event,
        "subject": n.subject,
        "text": n.body,
        "incident": {
            "id": out.incident.id,
            "title": out.incident.title,
            "severity": out.incident.severity,
            "status": out.incident.status,
        },
        "escalation_id": n.escalation_id,
        "level": n.level,
        "acknowledge_url": out.ack_url,
        "sent_at": now,
    })
}

/// The signature header's value for a body sent at `timestamp` (Unix seconds).
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut message = format!("{timestamp}.").into_bytes();
    message.extend_from_slice(body);
    format!("sha256={}", hex(&hmac(secret.as_bytes(), &message)))
}

pub async fn send(
    channel: &WebhookChannel,
    http: &reqwest::Client,
    out: &Outgoing<'_>,
    now: Timestamp,
) -> Result<String, Failure> {
    let body = payload(out, now).to_string().into_bytes();
    let timestamp = now.as_second();
    let response = http
        .post(&channel.url.0)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(TIMESTAMP_HEADER, timestamp.to_string())
        .header(SIGNATURE_HEADER, signature(&channel.secret.0, timestamp, &body))
        .body(body)
        .send()
        .await;
    http_outcome(response).await
}
