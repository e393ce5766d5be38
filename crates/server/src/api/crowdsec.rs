//! The decisions API as CrowdSec's local API serves it to bouncers, so that the bouncers people
//! already run (firewall, nginx, traefik, …) enforce firebreak's bans unchanged:
//! `GET /v1/decisions/stream` (`startup=true` for everything in force, then what is new and
//! what ended since the bouncer's last pull) and `GET /v1/decisions?ip=…`, with the bouncer's
//! key in `X-Api-Key`. And the check endpoint an app or nginx's `auth_request` calls per
//! request: one in-memory lookup, no database.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{PoisonError, RwLock};

use axum::Json;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use firebreak_core::{Decision, DecisionKind, EntryKind, NewEntry};
use firebreak_store::{Bouncer, DecisionFilter, Store, StoreError};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::auth::hash_token;
use crate::error::ApiError;

/// The bouncers' keys (their hashes), in memory: the check endpoint must not wait on the
/// database for every request it answers.
#[derive(Debug, Default)]
pub struct BouncerKeys {
    by_hash: RwLock<HashMap<String, (i64, String)>>,
}

impl BouncerKeys {
    pub async fn load(store: &dyn Store) -> Result<BouncerKeys, StoreError> {
        let keys = BouncerKeys::default();
        for bouncer in store.list_bouncers().await? {
            keys.add(&bouncer);
        }
        Ok(keys)
    }

    pub fn add(&self, bouncer: &Bouncer) {
        let mut map = self.by_hash.write().unwrap_or_else(PoisonError::into_inner);
        if bouncer.revoked_at.is_none() {
            map.insert(bouncer.key_hash.clone(), (bouncer.id, bouncer.name.clone()));
        } else {
            map.remove(&bouncer.key_hash);
        }
    }

    pub fn remove(&self, id: i64) {
        let mut map = self.by_hash.write().unwrap_or_else(PoisonError::into_inner);
        map.retain(|_, (bouncer, _)| *bouncer != id);
    }

    fn find(&self, key: &str) -> Option<(i64, String)> {
        let map = self.by_hash.read().unwrap_or_else(PoisonError::into_inner);
        map.get(&hash_token(key)).cloned()
    }
}

/// A caller with a bouncer key in `X-Api-Key`. Refused as CrowdSec refuses: 403.
#[derive(Debug, Clone)]
pub struct BouncerCaller {
    pub id: i64,
    pub name: String,
}

impl FromRequestParts<AppState> for BouncerCaller {
    type Rejection = Response;

    #[tracing::instrument(level = "debug", skip_all)] // Never record the key.
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let key = parts.headers.get("x-api-key").and_then(|value| value.to_str().ok());
        match key.and_then(|key| state.bouncers.find(key)) {
            Some((id, name)) => Ok(BouncerCaller { id, name }),
            None => {
                state.metrics.auth_failures.add(1);
                Err(forbidden())
            }
        }
    }
}

fn forbidden() -> Response {
    (StatusCode::FORBIDDEN, Json(serde_json::json!({ "message": "access forbidden" })))
        .into_response()
}

/// A decision as CrowdSec writes it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CsDecision {
    pub id: i64,
    pub origin: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// `Ip` or `Range`.
    pub scope: String,
    pub value: String,
    /// Time left, as Go writes durations (`3599s`).
    pub duration: String,
    pub until: String,
    pub scenario: String,
    pub simulated: bool,
}

/// Only bans reach bouncers: an account lock is the app's business (the check endpoint).
fn to_crowdsec(decision: &Decision, now: Timestamp) -> Option<CsDecision> {
    if decision.kind != DecisionKind::Ban {
        return None;
    }
    let left = (decision.ends_at().as_second() - now.as_second()).max(0);
    Some(CsDecision {
        id: decision.id,
        origin: "firebreak".into(),
        kind: "ban".into(),
        scope: if decision.is_range() { "Range".into() } else { "Ip".into() },
        value: decision.target.clone(),
        duration: format!("{left}s"),
        until: decision.expires_at.to_string(),
        scenario: format!("firebreak/{}", decision.reason.chars().take(200).collect::<String>()),
        simulated: false,
    })
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct StreamQuery {
    /// `true`: every decision in force (a bouncer starting); otherwise what changed since its
    /// last pull.
    pub startup: Option<bool>,
    /// Accepted for compatibility (`ip,range`); only bans of addresses and ranges exist here.
    pub scopes: Option<String>,
    pub origins: Option<String>,
    pub scenarios_containing: Option<String>,
    pub scenarios_not_containing: Option<String>,
    /// Accepted for compatibility.
    pub community_pull: Option<bool>,
    pub additional_pull: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Stream {
    /// `null` when empty, as CrowdSec answers.
    pub new: Option<Vec<CsDecision>>,
    pub deleted: Option<Vec<CsDecision>>,
}

/// Decisions for a bouncer: at its start everything in force, then what is new and what
/// ended since its last pull.
#[utoipa::path(get, path = "/v1/decisions/stream", tag = "enforcement", params(StreamQuery),
    responses((status = 200, body = Stream), (status = 403, description = "No valid bouncer key")),
    security(("bouncer" = [])))]
pub async fn stream(
    State(state): State<AppState>,
    bouncer: BouncerCaller,
    Query(query): Query<StreamQuery>,
) -> Result<Json<Stream>, ApiError> {
    let now = state.clock.now();
    let previous = state.store.bouncer_pulled(bouncer.id, now).await?;
    let (fresh, ended) = match previous {
        Some(since) if query.startup != Some(true) => {
            state.store.decisions_since(since, now).await?
        }
        _ => {
            let filter = DecisionFilter {
                in_force_at: Some(now),
                kind: Some(DecisionKind::Ban),
                limit: Some(100_000),
                ..DecisionFilter::default()
            };
            (state.store.list_decisions(&filter).await?, Vec::new())
        }
    };
    let new: Vec<CsDecision> = fresh.iter().filter_map(|d| to_crowdsec(d, now)).collect();
    let deleted: Vec<CsDecision> = ended.iter().filter_map(|d| to_crowdsec(d, now)).collect();
    // Enforcement goes on the timeline: which bouncer took which decision, and when.
    for decision in fresh.iter().filter(|d| d.kind == DecisionKind::Ban) {
        let Some(incident_id) = decision.incident_id else { continue };
        let entry = NewEntry {
            kind: EntryKind::Action,
            occurred_at: now,
            actor: format!("bouncer:{}", bouncer.name),
            summary: format!(
                "Enforced: decision {} ({}) pulled by the bouncer `{}`",
                decision.id, decision.target, bouncer.name
            ),
            data: serde_json::json!({ "decision_id": decision.id, "enforcer": "bouncer", "bouncer": bouncer.name }),
        };
        if let Err(error) = state.store.append_entry(incident_id, entry, now).await {
            tracing::warn!(%error, "Could not record a bouncer's pull on the timeline.");
        }
    }
    if !new.is_empty() || !deleted.is_empty() {
        tracing::info!(bouncer = %bouncer.name, new = new.len(), deleted = deleted.len(), "A bouncer pulled decisions.");
    }
    Ok(Json(Stream {
        new: (!new.is_empty()).then_some(new),
        deleted: (!deleted.is_empty()).then_some(deleted),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct DecisionsQuery {
    /// Decisions that cover this address (its own, or a range holding it).
    pub ip: Option<String>,
    /// Decisions on exactly this range.
    pub range: Option<String>,
    /// With `value`: `ip` or `range`.
    pub scope: Option<String>,
    pub value: Option<String>,
    /// Only `ban` exists here.
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

/// The decisions in force that match, as CrowdSec answers `GET /v1/decisions` (`null` when
/// none).
#[utoipa::path(get, path = "/v1/decisions", tag = "enforcement", params(DecisionsQuery),
    responses((status = 200, body = Option<Vec<CsDecision>>), (status = 403, description = "No valid bouncer key")),
    security(("bouncer" = [])))]
pub async fn decisions(
    State(state): State<AppState>,
    _: BouncerCaller,
    Query(query): Query<DecisionsQuery>,
) -> Result<Json<Option<Vec<CsDecision>>>, ApiError> {
    let now = state.clock.now();
    if query.kind.as_deref().is_some_and(|kind| kind != "ban") {
        return Ok(Json(None));
    }
    let ip = match (&query.ip, query.scope.as_deref(), &query.value) {
        (Some(ip), _, _) | (None, Some("ip" | "Ip"), Some(ip)) => Some(
            ip.parse::<IpAddr>()
                .map_err(|_| ApiError::Invalid(format!("`{ip}` is not an IP address")))?,
        ),
        _ => None,
    };
    let range = match (&query.range, query.scope.as_deref(), &query.value) {
        (Some(range), _, _) | (None, Some("range" | "Range"), Some(range)) => Some(range.clone()),
        _ => None,
    };
    let matching: Vec<CsDecision> = match (ip, range) {
        // A bouncer in live mode asks this per request: answered from the in-memory index,
        // reading only the decisions that cover the address.
        (Some(ip), _) => {
            let mut found = Vec::new();
            for hit in state.responder.index.covering_ip(ip, now) {
                let decision = state.store.get_decision(hit.decision).await?;
                found.extend(to_crowdsec(&decision, now));
            }
            found
        }
        (None, target) => {
            let filter = DecisionFilter {
                in_force_at: Some(now),
                kind: Some(DecisionKind::Ban),
                target,
                limit: Some(100_000),
                ..DecisionFilter::default()
            };
            let found = state.store.list_decisions(&filter).await?;
            found.iter().filter_map(|d| to_crowdsec(d, now)).collect()
        }
    };
    Ok(Json((!matching.is_empty()).then_some(matching)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CheckQuery {
    /// The client address of the request being checked.
    pub ip: Option<String>,
    /// The account making it.
    pub user: Option<String>,
    /// The host it is served from.
    pub host: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CheckAnswer {
    /// `allow`, or the kind of the decision that applies (`ban`, `lock_account`, …).
    pub decision: String,
    pub id: Option<i64>,
    pub until: Option<String>,
}

/// Is this address, account or host under a decision? 200 to allow, 403 to refuse: what
/// nginx's `auth_request` expects. Answered from memory.
#[utoipa::path(get, path = "/api/v1/check", tag = "enforcement", params(CheckQuery),
    responses((status = 200, body = CheckAnswer), (status = 403, body = CheckAnswer, description = "Under a decision, or no valid bouncer key")),
    security(("bouncer" = [])))]
pub async fn check(
    State(state): State<AppState>,
    _: BouncerCaller,
    Query(query): Query<CheckQuery>,
) -> Result<Response, ApiError> {
    let now = state.clock.now();
    let index = &state.responder.index;
    let ip = match &query.ip {
        Some(text) => Some(
            text.parse::<IpAddr>()
                .map_err(|_| ApiError::Invalid(format!("`ip`: `{text}` is not an IP address")))?,
        ),
        None => None,
    };
    let hit = ip
        .and_then(|ip| index.check_ip(ip, now).map(|hit| ("ban", hit)))
        .or_else(|| {
            query
                .user
                .as_deref()
                .and_then(|user| index.check_account(user, now))
                .map(|h| ("account", h))
        })
        .or_else(|| {
            query.host.as_deref().and_then(|host| index.check_host(host, now)).map(|h| ("host", h))
        });
    Ok(match hit {
        None => {
            Json(CheckAnswer { decision: "allow".into(), id: None, until: None }).into_response()
        }
        Some((what, hit)) => (
            StatusCode::FORBIDDEN,
            Json(CheckAnswer {
                decision: what.into(),
                id: Some(hit.decision),
                until: Some(hit.expires_at.to_string()),
            }),
        )
            .into_response(),
    })
}
