//! The damage assessment of an incident, versioned: each change is a new version and a timeline
//! entry; when the incident has breach facts, the assessment's legal part (who, where, which
//! data, encryption) flows into them and the obligations are recomputed.

use axum::Json;
use axum::extract::{Path, State};
use firebreak_comply::{DamageAssessment, Facts};
use firebreak_core::{EntryKind, NewEntry};
use firebreak_store::DocumentKind;
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::{Need, Responder, Viewer};
use crate::error::{ApiError, ErrorBody};

const MAX_BYTES: usize = 256 << 10;

#[derive(Debug, Serialize, ToSchema)]
pub struct DamageView {
    pub version: i64,
    pub recorded_at: String,
    pub actor: String,
    #[schema(value_type = Object)]
    pub assessment: DamageAssessment,
}

fn summary(version: i64, damage: &DamageAssessment) -> String {
    let mut parts = vec![format!(
        "Damage assessment v{version}: {} people in {} jurisdiction(s)",
        damage.people(),
        damage.affected.len()
    )];
    if !damage.data_categories.is_empty() {
        let names: Vec<&str> = damage.data_categories.iter().map(|c| c.name()).collect();
        parts.push(names.join(", "));
    }
    parts.push(match (damage.encrypted, damage.key_safe) {
        (false, _) => "not encrypted".to_owned(),
        (true, true) => "encrypted, key safe".to_owned(),
        (true, false) => "encrypted but the key was exposed".to_owned(),
    });
    if !damage.systems.is_empty() {
        parts.push(format!("systems: {}", damage.systems.join(", ")));
    }
    for downtime in &damage.downtime {
        parts.push(format!("{} down {} min", downtime.function, downtime.minutes));
    }
    if let Some(cost) = &damage.estimated_cost {
        parts.push(format!("estimated cost {} {}", cost.amount, cost.currency));
    }
    parts.join("; ")
}

/// Records a new version of the damage assessment.
#[utoipa::path(put, path = "/api/v1/incidents/{id}/damage", tag = "damage", params(("id" = i64, Path)),
    request_body(content = Object, description = "The damage assessment (data categories, affected per jurisdiction, encryption, systems, downtime, cost)"),
    responses((status = 200, body = DamageView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("token" = ["responder"])))]
pub async fn put(
    State(state): State<AppState>,
    Need(caller, _): Need<Responder>,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> Result<Json<DamageView>, ApiError> {
    if body.len() > MAX_BYTES {
        return Err(ApiError::TooLarge { limit: MAX_BYTES });
    }
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::Invalid("the damage assessment is not UTF-8".into()))?;
    let damage =
        DamageAssessment::from_json(text).map_err(|error| ApiError::Invalid(error.to_string()))?;
    let previous = state.store.latest_document(id, DocumentKind::Damage).await?;
    let version = previous.as_ref().map_or(1, |p| p.version + 1);
    let now = state.clock.now();
    let document =
        serde_json::to_string(&damage).map_err(|error| ApiError::Internal(error.to_string()))?;
    let entry = NewEntry {
        kind: EntryKind::Assessment,
        occurred_at: now,
        actor: caller.actor.clone(),
        summary: summary(version, &damage),
        data: serde_json::json!({ "damage_assessment": version, "assessment": damage }),
    };
    let (version, _) =
        state.store.record_document(id, DocumentKind::Damage, &document, entry, now).await?;
    // The legal part flows into the breach facts, when the incident has them.
    if let Some(latest) = state.store.latest_document(id, DocumentKind::Facts).await? {
        let mut facts =
            Facts::from_json(&latest.doc).map_err(|error| ApiError::Internal(error.to_string()))?;
        damage.apply(&mut facts);
        crate::api::obligations::record(
            &state,
            id,
            &caller.actor,
            &facts,
            &format!("Breach facts updated from damage assessment v{version}"),
        )
        .await?;
    }
    Ok(Json(DamageView {
        version,
        recorded_at: now.to_string(),
        actor: caller.actor,
        assessment: damage,
    }))
}

/// The latest damage assessment.
#[utoipa::path(get, path = "/api/v1/incidents/{id}/damage", tag = "damage", params(("id" = i64, Path)),
    responses((status = 200, body = DamageView), (status = 404, body = ErrorBody)),
    security(("token" = ["viewer"])))]
pub async fn get(
    State(state): State<AppState>,
    _: Need<Viewer>,
    Path(id): Path<i64>,
) -> Result<Json<DamageView>, ApiError> {
    let latest = state
        .store
        .latest_document(id, DocumentKind::Damage)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("damage assessment of incident {id}")))?;
    let assessment = DamageAssessment::from_json(&latest.doc)
        .map_err(|error| ApiError::Internal(error.to_string()))?;
    Ok(Json(DamageView {
        version: latest.version,
        recorded_at: latest.recorded_at.to_string(),
        actor: latest.actor,
        assessment,
    }))
}
