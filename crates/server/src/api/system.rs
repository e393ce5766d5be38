//! Liveness, readiness and metrics: unauthenticated, for orchestrators and scrapers.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

use crate::AppState;

/// The process is up.
pub async fn healthz() -> impl IntoResponse {
    Json(serde_json::json!({ "status": "ok" }))
}

/// The store answers and the spool left by the previous run has been replayed into it.
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    if let Err(error) = state.store.ping().await {
        tracing::warn!(%error, "Readiness check: the store does not answer.");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({ "status": "store unavailable" })),
        );
    }
    let stored = *state.drained.borrow();
    if stored < state.replay_target {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(
                serde_json::json!({ "status": "replaying", "remaining": state.replay_target - stored }),
            ),
        );
    }
    (StatusCode::OK, Json(serde_json::json!({ "status": "ready", "store": state.store.engine() })))
}

pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    state.metrics.spool_committed.set(state.spool.committed());
    let mut text = state.metrics.render();
    match state.store.incident_stats().await {
        Ok(stats) => text.push_str(&crate::metrics::render_incidents(&stats)),
        Err(error) => tracing::warn!(%error, "The incident figures are missing from /metrics."),
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}
