//! Evidence with chain of custody: upload a file, capture a search's events or a log excerpt,
//! read it back, re-verify it, export it all as a zip that a third party checks with
//! `sha256sum -c`. Every acquisition, access, export and re-verification is a custody record on
//! the incident's hash-chained timeline (kind `evidence`): who, when, why.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use firebreak_core::incident::{MAX_TEXT_CHARS, check_text};
use firebreak_core::{EntryKind, NewEntry};
use firebreak_store::Evidence;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::api::events::SearchQuery;
use crate::auth::{Caller, Need, Responder, Viewer};
use crate::error::{ApiError, ErrorBody, JsonBody};
use crate::evidence::{BlobError, Check};

/// The most events one capture saves.
const MAX_CAPTURED_EVENTS: usize = 1_000_000;

fn check_name(name: &str) -> Result<String, ApiError> {
    let name = name.trim();
    let valid = !name.is_empty()
        && name.chars().count() <= 200
        && !name.starts_with('.')
        && name.chars().all(|c| !c.is_control() && c != '/' && c != '\\');
    if valid {
        Ok(name.to_owned())
    } else {
        Err(ApiError::Invalid(format!(
            "`name`: `{name}` is not a plain file name (1 to 200 characters, no slashes, not starting with a dot)"
        )))
    }
}

fn custody(
    actor: &str,
    action: &str,
    evidence: &Evidence,
    reason: &str,
    at: jiff::Timestamp,
) -> NewEntry {
    NewEntry {
        kind: EntryKind::Evidence,
        occurred_at: at,
        actor: actor.to_owned(),
        summary: format!(
            "Evidence {}`{}` {action}{}",
            // Not yet stored at acquisition: the id is in `data` once the store assigns it.
            if evidence.id == 0 { String::new() } else { format!("{} ", evidence.id) },
            evidence.name,
            if reason.is_empty() { String::new() } else { format!(": {reason}") }
        ),
        data: serde_json::json!({
            "custody": action,
            "evidence_id": evidence.id,
            "name": evidence.name,
            "sha256": evidence.sha256,
            "size": evidence.size,
            "reason": reason,
        }),
    }
}

async fn acquire(
    state: &AppState,
    caller: &Caller,
    mut evidence: Evidence,
    reason: &str,
) -> Result<Evidence, ApiError> {
    let now = state.clock.now();
    evidence.acquired_at = now;
    evidence.acquired_by = caller.actor.clone();
    let entry = custody(&caller.actor, "acquired", &evidence, reason, now);
    let (stored, _) = state.store.add_evidence(&evidence, entry).await?;
    Ok(stored)
}

fn blank(
    incident_id: i64,
    name: String,
    description: String,
    media_type: &str,
    source: &str,
    sha256: String,
    size: u64,
) -> Evidence {
    Evidence {
        id: 0,
        incident_id,
        name,
        description,
        media_type: media_type.to_owned(),
        source: source.to_owned(),
        sha256,
        size: i64::try_from(size).unwrap_or(i64::MAX),
        acquired_at: jiff::Timestamp::UNIX_EPOCH,
        acquired_by: String::new(),
    }
}

fn blob_error(error: BlobError) -> ApiError {
    match error {
        BlobError::TooLarge(limit) => {
            ApiError::TooLarge { limit: usize::try_from(limit).unwrap_or(usize::MAX) }
        }
        BlobError::Io(error) => ApiError::Internal(format!("evidence storage: {error}")),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    /// The file name to keep.
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Why it is acquired (goes in the custody record).
    #[serde(default)]
    pub reason: String,
}

/// Uploads a file as evidence. Its SHA-256 and size are taken as it arrives.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/evidence", tag = "evidence", params(("id" = i64, Path), UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = Evidence), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 413, body = ErrorBody)),
    security(("token" = ["responder"])))]
pub async fn upload(
    State(state): State<AppState>,
    Need(caller, _): Need<Responder>,
    Path(id): Path<i64>,
    Query(query): Query<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Evidence>), ApiError> {
    let name = check_name(&query.name)?;
    check_text("description", &query.description, 0, MAX_TEXT_CHARS).map_err(ApiError::Invalid)?;
    check_text("reason", &query.reason, 0, MAX_TEXT_CHARS).map_err(ApiError::Invalid)?;
    state.store.get_incident(id).await?;
    let media_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .filter(|value| value.len() <= 100)
        .unwrap_or("application/octet-stream")
        .to_owned();
    let mut writer = state
        .blobs
        .writer(state.config.evidence.max_bytes)
        .await
        .map_err(|e| blob_error(e.into()))?;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|error| ApiError::Invalid(format!("the upload broke off: {error}")))?;
        writer.write(&chunk).await.map_err(blob_error)?;
    }
    let (sha256, size) = writer.finish(&state.blobs).await.map_err(blob_error)?;
    let evidence = blank(id, name, query.description, &media_type, "upload", sha256, size);
    let stored = acquire(&state, &caller, evidence, &query.reason).await?;
    Ok((StatusCode::CREATED, Json(stored)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Excerpt {
    pub name: String,
    /// The log lines, as copied.
    pub text: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub reason: String,
}

/// Captures log lines pasted by a person as evidence (text/plain).
#[utoipa::path(post, path = "/api/v1/incidents/{id}/evidence/excerpt", tag = "evidence", params(("id" = i64, Path)), request_body = Excerpt,
    responses((status = 201, body = Evidence), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("token" = ["responder"])))]
pub async fn excerpt(
    State(state): State<AppState>,
    Need(caller, _): Need<Responder>,
    Path(id): Path<i64>,
    JsonBody(excerpt): JsonBody<Excerpt>,
) -> Result<(StatusCode, Json<Evidence>), ApiError> {
    let name = check_name(&excerpt.name)?;
    check_text("text", &excerpt.text, 1, usize::MAX).map_err(ApiError::Invalid)?;
    check_text("description", &excerpt.description, 0, MAX_TEXT_CHARS)
        .map_err(ApiError::Invalid)?;
    state.store.get_incident(id).await?;
    let (sha256, size) = state
        .blobs
        .put(excerpt.text.as_bytes(), state.config.evidence.max_bytes)
        .await
        .map_err(blob_error)?;
    let evidence =
        blank(id, name, excerpt.description, "text/plain; charset=utf-8", "excerpt", sha256, size);
    let stored = acquire(&state, &caller, evidence, &excerpt.reason).await?;
    Ok((StatusCode::CREATED, Json(stored)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Capture {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub reason: String,
    /// The search whose events to save (the filters of `/api/v1/events/search`).
    #[schema(value_type = Object)]
    pub query: serde_json::Value,
}

/// Saves every event a search finds (up to 1,000,000, newest first) into the incident as one
/// NDJSON evidence file.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/evidence/events", tag = "evidence", params(("id" = i64, Path)), request_body = Capture,
    responses((status = 201, body = Evidence), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("token" = ["responder"])))]
pub async fn capture(
    State(state): State<AppState>,
    Need(caller, _): Need<Responder>,
    Path(id): Path<i64>,
    JsonBody(capture): JsonBody<Capture>,
) -> Result<(StatusCode, Json<Evidence>), ApiError> {
    let name = check_name(&capture.name)?;
    check_text("description", &capture.description, 0, MAX_TEXT_CHARS)
        .map_err(ApiError::Invalid)?;
    state.store.get_incident(id).await?;
    let search: SearchQuery = serde_json::from_value(capture.query.clone())
        .map_err(|error| ApiError::Invalid(format!("`query`: {error}")))?;
    let query = search.to_store(5000)?;
    let sink = EvidenceSink::of(&state);
    let stored = capture_events(
        &sink,
        &caller.actor,
        id,
        query,
        EventsCapture {
            name,
            description: capture.description,
            what: capture.query.to_string(),
            reason: capture.reason,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(stored)))
}

/// Where captured evidence goes: the store for its record, the blob store for its bytes.
#[derive(Clone)]
pub struct EvidenceSink {
    pub store: std::sync::Arc<dyn firebreak_store::Store>,
    pub blobs: crate::evidence::BlobStore,
    pub max_bytes: u64,
    pub clock: std::sync::Arc<dyn firebreak_core::Clock>,
}

impl std::fmt::Debug for EvidenceSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EvidenceSink").field("max_bytes", &self.max_bytes).finish_non_exhaustive()
    }
}

impl EvidenceSink {
    pub fn of(state: &AppState) -> EvidenceSink {
        EvidenceSink {
            store: state.store.clone(),
            blobs: state.blobs.clone(),
            max_bytes: state.config.evidence.max_bytes,
            clock: state.clock.clone(),
        }
    }
}

/// What a capture of events is called and why it is made.
#[derive(Debug)]
pub struct EventsCapture {
    pub name: String,
    pub description: String,
    /// The query, in words, for the description.
    pub what: String,
    pub reason: String,
}

/// Saves every event `query` finds (up to 1,000,000, newest first) into the incident as one
/// NDJSON evidence file, with its custody record: for people through the API, and for
/// playbooks (evidence before containment).
pub async fn capture_events(
    state: &EvidenceSink,
    actor: &str,
    incident_id: i64,
    mut query: firebreak_store::EventQuery,
    capture: EventsCapture,
) -> Result<Evidence, ApiError> {
    let mut writer = state.blobs.writer(state.max_bytes).await.map_err(|e| blob_error(e.into()))?;
    let mut count = 0usize;
    while count < MAX_CAPTURED_EVENTS {
        let rows = state.store.search_events(&query).await?;
        if rows.is_empty() {
            break;
        }
        query.before = rows.last().map(|row| (row.ts, row.id));
        let mut chunk = Vec::new();
        for row in rows.into_iter().take(MAX_CAPTURED_EVENTS - count) {
            count += 1;
            chunk.extend_from_slice(row.doc.as_bytes());
            chunk.push(b'\n');
        }
        writer.write(&chunk).await.map_err(blob_error)?;
    }
    let (sha256, size) = writer.finish(&state.blobs).await.map_err(blob_error)?;
    let description = if capture.description.is_empty() {
        format!("{count} events matching {}", capture.what)
    } else {
        format!("{} ({count} events matching {})", capture.description, capture.what)
    };
    let mut evidence = blank(
        incident_id,
        capture.name,
        description,
        "application/x-ndjson",
        "events",
        sha256,
        size,
    );
    let now = state.clock.now();
    evidence.acquired_at = now;
    evidence.acquired_by = actor.to_owned();
    let entry = custody(actor, "acquired", &evidence, &capture.reason, now);
    let (stored, _) = state.store.add_evidence(&evidence, entry).await?;
    Ok(stored)
}

/// The incident's evidence, in order of acquisition.
#[utoipa::path(get, path = "/api/v1/incidents/{id}/evidence", tag = "evidence", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<Evidence>), (status = 404, body = ErrorBody)),
    security(("token" = ["viewer"])))]
pub async fn list(
    State(state): State<AppState>,
    _: Need<Viewer>,
    Path(id): Path<i64>,
) -> Result<Json<Vec<Evidence>>, ApiError> {
    Ok(Json(state.store.list_evidence(id).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReasonQuery {
    /// Why (goes in the custody record).
    #[serde(default)]
    pub reason: String,
}

/// The evidence's bytes. The access is a custody record.
#[utoipa::path(get, path = "/api/v1/incidents/{id}/evidence/{evidence}/content", tag = "evidence",
    params(("id" = i64, Path), ("evidence" = i64, Path), ReasonQuery),
    responses((status = 200, content_type = "application/octet-stream"), (status = 404, body = ErrorBody)),
    security(("token" = ["viewer"])))]
pub async fn content(
    State(state): State<AppState>,
    Need(caller, _): Need<Viewer>,
    Path((id, evidence_id)): Path<(i64, i64)>,
    Query(query): Query<ReasonQuery>,
) -> Result<Response, ApiError> {
    check_text("reason", &query.reason, 0, MAX_TEXT_CHARS).map_err(ApiError::Invalid)?;
    let evidence = state.store.get_evidence(id, evidence_id).await?;
    let file = state.blobs.read(&evidence.sha256).await.map_err(|error| {
        ApiError::Internal(format!("evidence {evidence_id} cannot be read: {error}"))
    })?;
    let now = state.clock.now();
    state
        .store
        .append_entry(id, custody(&caller.actor, "accessed", &evidence, &query.reason, now), now)
        .await?;
    Response::builder()
        .header(header::CONTENT_TYPE, evidence.media_type.as_str())
        .header(header::CONTENT_LENGTH, evidence.size)
        .header("x-content-sha256", evidence.sha256.as_str())
        .body(Body::from_stream(file_chunks(file)))
        .map_err(|error| ApiError::Internal(error.to_string()))
}

fn file_chunks(
    file: tokio::fs::File,
) -> impl futures_util::Stream<Item = std::io::Result<axum::body::Bytes>> {
    futures_util::stream::unfold(Some(file), |file| async move {
        use tokio::io::AsyncReadExt;
        let mut file = file?;
        let mut buffer = vec![0u8; 1 << 16];
        match file.read(&mut buffer).await {
            Ok(0) => None,
            Ok(read) => {
                buffer.truncate(read);
                Some((Ok(axum::body::Bytes::from(buffer)), Some(file)))
            }
            Err(error) => Some((Err(error), None)),
        }
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Verification {
    pub evidence_id: i64,
    pub name: String,
    pub ok: bool,
    /// What was found, when it is not what was recorded.
    pub problem: Option<String>,
}

/// Re-reads every piece of evidence and compares its SHA-256 and size with those taken at
/// acquisition. Each check is a custody record.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/evidence/verify", tag = "evidence", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<Verification>), (status = 404, body = ErrorBody)),
    security(("token" = ["responder"])))]
pub async fn verify(
    State(state): State<AppState>,
    Need(caller, _): Need<Responder>,
    Path(id): Path<i64>,
) -> Result<Json<Vec<Verification>>, ApiError> {
    let mut results = Vec::new();
    for evidence in state.store.list_evidence(id).await? {
        let size = u64::try_from(evidence.size).unwrap_or(0);
        let check = state
            .blobs
            .check(&evidence.sha256, size)
            .await
            .map_err(|error| ApiError::Internal(error.to_string()))?;
        let problem = match check {
            Check::Intact => None,
            Check::Missing => Some("its content is missing from the evidence store".to_owned()),
            Check::Changed { sha256, size } => Some(format!(
                "its content now hashes to {sha256} ({size} bytes), not the {} ({} bytes) taken at acquisition",
                evidence.sha256, evidence.size
            )),
        };
        let now = state.clock.now();
        let action = if problem.is_none() { "re-verified" } else { "FAILED verification" };
        let mut entry =
            custody(&caller.actor, action, &evidence, problem.as_deref().unwrap_or(""), now);
        if let serde_json::Value::Object(map) = &mut entry.data {
            map.insert("ok".into(), serde_json::Value::Bool(problem.is_none()));
        }
        state.store.append_entry(id, entry, now).await?;
        results.push(Verification {
            evidence_id: evidence.id,
            name: evidence.name,
            ok: problem.is_none(),
            problem,
        });
    }
    Ok(Json(results))
}

/// Every piece of evidence as a zip: the files under `evidence/`, `SHA256SUMS` (check with
/// `sha256sum -c SHA256SUMS` in the unpacked folder), and `manifest.json` with hashes, sizes
/// and the custody log. The export is itself a custody record.
#[utoipa::path(get, path = "/api/v1/incidents/{id}/evidence/export", tag = "evidence", params(("id" = i64, Path), ReasonQuery),
    responses((status = 200, content_type = "application/zip"), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("token" = ["viewer"])))]
pub async fn export(
    State(state): State<AppState>,
    Need(caller, _): Need<Viewer>,
    Path(id): Path<i64>,
    Query(query): Query<ReasonQuery>,
) -> Result<Response, ApiError> {
    check_text("reason", &query.reason, 0, MAX_TEXT_CHARS).map_err(ApiError::Invalid)?;
    let incident = state.store.get_incident(id).await?;
    let items = state.store.list_evidence(id).await?;
    let now = state.clock.now();
    // Record the exports first, so that the log in the bundle includes them.
    for evidence in &items {
        state
            .store
            .append_entry(id, custody(&caller.actor, "exported", evidence, &query.reason, now), now)
            .await?;
    }
    let custody_log: Vec<_> = state
        .store
        .timeline(id)
        .await?
        .into_iter()
        .filter(|entry| entry.kind == EntryKind::Evidence)
        .collect();
    let mut files = Vec::new();
    for evidence in &items {
        let path = state
            .blobs
            .file_path(&evidence.sha256)
            .ok_or_else(|| ApiError::Internal("bad hash".into()))?;
        files.push((
            format!("evidence/{}-{}", evidence.id, evidence.name),
            path,
            evidence.sha256.clone(),
        ));
    }
    let manifest = serde_json::json!({
        "incident": { "id": incident.id, "title": incident.title },
        "exported_at": now,
        "exported_by": caller.actor,
        "reason": query.reason,
        "check": "sha256sum -c SHA256SUMS",
        "evidence": items,
        "custody": custody_log,
    });
    let temp = state
        .blobs
        .temp_path("export-", ".zip")
        .await
        .map_err(|error| ApiError::Internal(error.to_string()))?;
    let path = temp.clone();
    let built = tokio::task::spawn_blocking(move || write_zip(&path, &files, &manifest))
        .await
        .map_err(|error| ApiError::Internal(error.to_string()))?;
    if let Err(error) = built {
        let _ = tokio::fs::remove_file(&temp).await;
        return Err(ApiError::Internal(format!("building the evidence bundle failed: {error}")));
    }
    let file = tokio::fs::File::open(&temp)
        .await
        .map_err(|error| ApiError::Internal(error.to_string()))?;
    // The name goes once the file is open; the bytes stay until the download ends.
    let _ = tokio::fs::remove_file(&temp).await;
    Response::builder()
        .header(header::CONTENT_TYPE, "application/zip")
        .header(
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"incident-{id}-evidence.zip\""),
        )
        .body(Body::from_stream(file_chunks(file)))
        .map_err(|error| ApiError::Internal(error.to_string()))
}

fn write_zip(
    path: &std::path::Path,
    files: &[(String, std::path::PathBuf, String)],
    manifest: &serde_json::Value,
) -> std::io::Result<()> {
    use std::io::Write;
    let out = std::fs::File::create(path)?;
    let mut zip = zip::ZipWriter::new(out);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(true);
    let mut sums = String::new();
    for (name, blob, sha256) in files {
        zip.start_file(name.as_str(), options).map_err(std::io::Error::other)?;
        let mut source = std::fs::File::open(blob)?;
        std::io::copy(&mut source, &mut zip)?;
        sums.push_str(&format!("{sha256}  {name}\n"));
    }
    let manifest_bytes = serde_json::to_vec_pretty(manifest).map_err(std::io::Error::other)?;
    zip.start_file("manifest.json", options).map_err(std::io::Error::other)?;
    zip.write_all(&manifest_bytes)?;
    let manifest_sum = firebreak_core::Hash::sha256(&manifest_bytes).to_hex();
    sums.push_str(&format!("{manifest_sum}  manifest.json\n"));
    zip.start_file("SHA256SUMS", options).map_err(std::io::Error::other)?;
    zip.write_all(sums.as_bytes())?;
    zip.finish().map_err(std::io::Error::other)?.sync_all()
}
