//! The incident timeline: append-only entries, each sealed by SHA-256 over its canonical bytes
//! and the previous entry's hash, so that any change to a stored entry breaks the chain from
//! that entry on.
//!
//! Canonical bytes: the entry (without its hash) as JSON with object keys sorted at every depth,
//! no insignificant whitespace, timestamps as RFC 3339 in UTC with nanoseconds as stored. The
//! first entry's previous hash is 32 zero bytes.

use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// A SHA-256 digest, shown and stored as lowercase hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    pub const ZERO: Hash = Hash([0; 32]);

    /// The SHA-256 of `bytes`.
    pub fn sha256(bytes: &[u8]) -> Hash {
        Hash(Sha256::digest(bytes).into())
    }

    pub fn to_hex(&self) -> String {
        let mut text = String::with_capacity(64);
        for byte in self.0 {
            text.push(char::from(b"0123456789abcdef"[usize::from(byte >> 4)]));
            text.push(char::from(b"0123456789abcdef"[usize::from(byte & 0xf)]));
        }
        text
    }

    pub fn from_hex(text: &str) -> Option<Hash> {
        let bytes = text.as_bytes();
        if bytes.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (slot, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
            let high = char::from(pair[0]).to_digit(16)?;
            let low = char::from(pair[1]).to_digit(16)?;
            *slot = u8::try_from(high * 16 + low).ok()?;
        }
        Some(Hash(out))
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl Serialize for Hash {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Hash {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Hash, D::Error> {
        let text = String::deserialize(deserializer)?;
        Hash::from_hex(&text).ok_or_else(|| serde::de::Error::custom("expected 64 hex digits"))
    }
}

/// What kind of thing an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    Created,
    StatusChanged,
    SeverityChanged,
    Note,
    Decision,
    AlertLinked,
    RoleAssigned,
    Task,
    Evidence,
    Action,
    Communication,
    Obligation,
    /// A version of the damage assessment.
    Assessment,
    /// Triage of alerts: assigned, marked a false positive, moved between incidents; a
    /// suppression accepted or refused; incidents merged or split.
    Triage,
}

impl EntryKind {
    pub const ALL: [EntryKind; 14] = [
        EntryKind::Created,
        EntryKind::StatusChanged,
        EntryKind::SeverityChanged,
        EntryKind::Note,
        EntryKind::Decision,
        EntryKind::AlertLinked,
        EntryKind::RoleAssigned,
        EntryKind::Task,
        EntryKind::Evidence,
        EntryKind::Action,
        EntryKind::Communication,
        EntryKind::Obligation,
        EntryKind::Assessment,
        EntryKind::Triage,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Created => "created",
            EntryKind::StatusChanged => "status_changed",
            EntryKind::SeverityChanged => "severity_changed",
            EntryKind::Note => "note",
            EntryKind::Decision => "decision",
            EntryKind::AlertLinked => "alert_linked",
            EntryKind::RoleAssigned => "role_assigned",
            EntryKind::Task => "task",
            EntryKind::Evidence => "evidence",
            EntryKind::Action => "action",
            EntryKind::Communication => "communication",
            EntryKind::Obligation => "obligation",
            EntryKind::Assessment => "assessment",
            EntryKind::Triage => "triage",
        }
    }

    pub fn parse(text: &str) -> Option<EntryKind> {
        EntryKind::ALL.into_iter().find(|kind| kind.as_str() == text)
    }
}

/// An entry before it is sealed into the chain.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEntry {
    pub kind: EntryKind,
    /// When the thing happened (may be earlier than when it was recorded).
    pub occurred_at: Timestamp,
    /// Who or what did it: a person's name, a token's name, or `firebreak` itself.
    pub actor: String,
    pub summary: String,
    pub data: Value,
}

/// One sealed timeline entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TimelineEntry {
    pub incident_id: i64,
    /// Position in the incident's chain, from 1.
    pub seq: i64,
    pub kind: EntryKind,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub occurred_at: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub recorded_at: Timestamp,
    pub actor: String,
    pub summary: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub data: Value,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub prev_hash: Hash,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub hash: Hash,
}

impl TimelineEntry {
    /// Seals `new` as entry `seq` of `incident_id`, after the entry whose hash is `prev_hash`.
    pub fn seal(
        incident_id: i64,
        seq: i64,
        prev_hash: Hash,
        recorded_at: Timestamp,
        new: NewEntry,
    ) -> TimelineEntry {
        let mut entry = TimelineEntry {
            incident_id,
            seq,
            kind: new.kind,
            occurred_at: new.occurred_at,
            recorded_at,
            actor: new.actor,
            summary: new.summary,
            data: new.data,
            prev_hash,
            hash: Hash::ZERO,
        };
        entry.hash = entry.compute_hash();
        entry
    }

    /// The canonical bytes that the hash covers (everything but the hash itself).
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let body = serde_json::json!({
            "actor": self.actor,
            "data": self.data,
            "incident_id": self.incident_id,
            "kind": self.kind.as_str(),
            "occurred_at": self.occurred_at.to_string(),
            "recorded_at": self.recorded_at.to_string(),
            "seq": self.seq,
            "summary": self.summary,
        });
        let mut out = Vec::with_capacity(256);
        write_canonical(&body, &mut out);
        out
    }

    pub fn compute_hash(&self) -> Hash {
        let mut hasher = Sha256::new();
        hasher.update(self.prev_hash.0);
        hasher.update(self.canonical_bytes());
        Hash(hasher.finalize().into())
    }
}

/// Writes JSON with object keys sorted at every depth, whatever order the map keeps them in.
fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push(b'{');
            for (index, key) in keys.into_iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                write_scalar(&Value::String(key.clone()), out);
                out.push(b':');
                if let Some(inner) = map.get(key) {
                    write_canonical(inner, out);
                }
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        scalar => write_scalar(scalar, out),
    }
}

fn write_scalar(value: &Value, out: &mut Vec<u8>) {
    // Scalars serialise the same whatever the map order; this cannot fail for a `Value`.
    if let Ok(text) = serde_json::to_vec(value) {
        out.extend_from_slice(&text);
    }
}

/// Why a chain does not verify, naming the first entry at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("timeline entry {seq} does not verify: {reason}")]
pub struct ChainError {
    pub seq: i64,
    pub reason: String,
}

/// Recomputes the chain of one incident's entries, in order, and names the first that fails.
pub fn verify_chain(entries: &[TimelineEntry]) -> Result<(), ChainError> {
    let mut prev = Hash::ZERO;
    for (index, entry) in entries.iter().enumerate() {
        let expected_seq = i64::try_from(index).unwrap_or(i64::MAX).saturating_add(1);
        if entry.seq != expected_seq {
            return Err(ChainError {
                seq: entry.seq,
                reason: format!(
                    "expected entry {expected_seq} here: an entry is missing or was inserted"
                ),
            });
        }
        if entry.prev_hash != prev {
            return Err(ChainError {
                seq: entry.seq,
                reason: format!(
                    "its previous hash is {} but the entry before it hashes to {prev}",
                    entry.prev_hash
                ),
            });
        }
        let computed = entry.compute_hash();
        if computed != entry.hash {
            return Err(ChainError {
                seq: entry.seq,
                reason: format!(
                    "its content hashes to {computed}, not the stored {}: it was changed after it was written",
                    entry.hash
                ),
            });
        }
        prev = entry.hash;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(count: i64) -> Vec<TimelineEntry> {
        let mut entries: Vec<TimelineEntry> = Vec::new();
        for seq in 1..=count {
            let prev = entries.last().map_or(Hash::ZERO, |entry| entry.hash);
            let at: Timestamp = "2026-05-01T12:00:00.123456789Z".parse().unwrap();
            entries.push(TimelineEntry::seal(
                7,
                seq,
                prev,
                at,
                NewEntry {
                    kind: EntryKind::Note,
                    occurred_at: at,
                    actor: "ana".into(),
                    summary: format!("note {seq}"),
                    data: serde_json::json!({"z": 1, "a": {"y": [1, 2], "b": null}}),
                },
            ));
        }
        entries
    }

    #[test]
    fn a_fresh_chain_verifies() {
        assert_eq!(verify_chain(&chain(5)), Ok(()));
        assert_eq!(verify_chain(&[]), Ok(()));
    }

    #[test]
    fn canonical_bytes_sort_keys_at_every_depth() {
        let entry = &chain(1)[0];
        let text = String::from_utf8(entry.canonical_bytes()).unwrap();
        assert_eq!(
            text,
            r#"{"actor":"ana","data":{"a":{"b":null,"y":[1,2]},"z":1},"incident_id":7,"kind":"note","occurred_at":"2026-05-01T12:00:00.123456789Z","recorded_at":"2026-05-01T12:00:00.123456789Z","seq":1,"summary":"note 1"}"#
        );
    }

    #[test]
    fn a_changed_entry_is_named() {
        let mut entries = chain(5);
        entries[2].summary = "rewritten".into();
        assert_eq!(verify_chain(&entries).unwrap_err().seq, 3);

        let mut entries = chain(5);
        entries.remove(1);
        assert_eq!(verify_chain(&entries).unwrap_err().seq, 3);

        // Re-sealing an edited entry does not help: the next entry's link breaks.
        let mut entries = chain(5);
        entries[1].summary = "rewritten".into();
        entries[1].hash = entries[1].compute_hash();
        assert_eq!(verify_chain(&entries).unwrap_err().seq, 3);
    }

    #[test]
    fn hashes_round_trip_through_hex() {
        let hash = chain(1)[0].hash;
        assert_eq!(Hash::from_hex(&hash.to_hex()), Some(hash));
        assert_eq!(Hash::from_hex("zz"), None);
    }
}
