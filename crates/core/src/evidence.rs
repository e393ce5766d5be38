//! `Evidence`: something acquired for an incident, fixed by its SHA-256 and size at the moment of
//! acquisition. Its chain of custody is the incident's timeline (entries of kind `evidence`).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Evidence {
    pub id: i64,
    pub incident_id: i64,
    /// A file name for people and exports (no directories).
    pub name: String,
    pub description: String,
    pub media_type: String,
    /// `upload`, `events` (a saved search) or `excerpt` (pasted log lines).
    pub source: String,
    /// SHA-256 of the content, hex, taken at acquisition.
    pub sha256: String,
    pub size: i64,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub acquired_at: Timestamp,
    pub acquired_by: String,
}
