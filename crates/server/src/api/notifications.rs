//! Notifications and communications: list and read what was sent (with every attempt),
//! acknowledge it (with a token, or through the signed link in the message, which needs none),
//! draft a communication from a template and send the reviewed text.

use axum::Json;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use firebreak_core::ResponseRole;
use firebreak_store::{
    AuditRecord, DeliveryAttempt, Notification, NotificationFilter, NotificationStatus,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::auth::{Need, Responder, Viewer};
use crate::error::{ApiError, ErrorBody, JsonBody};
use crate::notify::{Communication, Draft};

/// A notification as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationView {
    pub id: i64,
    pub incident_id: i64,
    /// What one route sent for one event; acknowledging any of it stops the chain.
    pub escalation_id: Option<i64>,
    /// The step of the escalation chain (0: the first message).
    pub level: u32,
    /// What it is about: `incident_opened`, `communication`, …
    pub event: String,
    pub subject: String,
    pub body: String,
    pub channel: String,
    /// An e-mail address, or the channel's name.
    pub recipient: String,
    pub person_id: Option<i64>,
    pub role: Option<ResponseRole>,
    /// `pending`, `sent`, `failed` or `acknowledged`.
    pub status: String,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub created_at: String,
    pub sent_at: Option<String>,
    pub acknowledged_by: Option<String>,
    pub acknowledged_at: Option<String>,
    /// Every attempt, on the single-notification read only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempt_log: Option<Vec<AttemptView>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptView {
    pub attempt: u32,
    pub at: String,
    pub ok: bool,
    /// The answer (`HTTP 200`, `SMTP 250 …`) or the error.
    pub detail: String,
}

impl From<DeliveryAttempt> for AttemptView {
    fn from(attempt: DeliveryAttempt) -> AttemptView {
        AttemptView {
            attempt: attempt.attempt,
            at: attempt.at.to_string(),
            ok: attempt.ok,
            detail: attempt.detail,
        }
    }
}

impl From<Notification> for NotificationView {
    fn from(n: Notification) -> NotificationView {
        NotificationView {
            id: n.id,
            incident_id: n.incident_id,
            escalation_id: n.escalation_id,
            level: n.level,
            event: n.event,
            subject: n.subject,
            body: n.body,
            channel: n.channel,
            recipient: n.recipient,
            person_id: n.person_id,
            role: n.role,
            status: n.status.as_str().to_owned(),
            attempts: n.attempts,
            last_error: n.last_error,
            created_at: n.created_at.to_string(),
            sent_at: n.sent_at.map(|at| at.to_string()),
            acknowledged_by: n.acknowledged_by,
            acknowledged_at: n.acknowledged_at.map(|at| at.to_string()),
            attempt_log: None,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only this incident's notifications.
    pub incident: Option<i64>,
    /// Only those of this escalation.
    pub escalation: Option<i64>,
    /// `pending`, `sent`, `failed` or `acknowledged`.
    pub status: Option<String>,
    /// Newest first; default 100, at most 1000.
    pub limit: Option<u32>,
}

/// Notifications, newest first.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "notifications", params(ListQuery),
    responses((status = 200, body = Vec<NotificationView>), (status = 400, body = ErrorBody)),
    security(("token" = ["viewer"])))]
pub async fn list(
    State(state): State<AppState>,
    _: Need<Viewer>,
    Query(query): Query<ListQuery>,
) -> Result<Json<Vec<NotificationView>>, ApiError> {
    let status = match &query.status {
        Some(text) => Some(NotificationStatus::parse(text).ok_or_else(|| {
            ApiError::Invalid(format!(
                "`status`: `{text}` is none of pending, sent, failed, acknowledged"
            ))
        })?),
        None => None,
    };
    let filter = NotificationFilter {
        incident_id: query.incident,
        escalation_id: query.escalation,
        status,
        limit: query.limit,
    };
    let list = state.store.list_notifications(&filter).await?;
    Ok(Json(list.into_iter().map(NotificationView::from).collect()))
}

/// One notification, with every delivery attempt.
#[utoipa::path(get, path = "/api/v1/notifications/{id}", tag = "notifications", params(("id" = i64, Path)),
    responses((status = 200, body = NotificationView), (status = 404, body = ErrorBody)),
    security(("token" = ["viewer"])))]
pub async fn get(
    State(state): State<AppState>,
    _: Need<Viewer>,
    Path(id): Path<i64>,
) -> Result<Json<NotificationView>, ApiError> {
    let notification = state.store.get_notification(id).await?;
    let attempts = state.store.notification_attempts(id).await?;
    let mut view = NotificationView::from(notification);
    view.attempt_log = Some(attempts.into_iter().map(AttemptView::from).collect());
    Ok(Json(view))
}

/// Acknowledges a notification: someone is on it. Its escalation stops; the acknowledgement
/// goes on the incident's timeline. 409 if it was already acknowledged.
#[utoipa::path(post, path = "/api/v1/notifications/{id}/acknowledge", tag = "notifications", params(("id" = i64, Path)),
    responses((status = 200, body = NotificationView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("token" = ["responder"])))]
pub async fn acknowledge(
    State(state): State<AppState>,
    Need(caller, _): Need<Responder>,
    Path(id): Path<i64>,
) -> Result<Json<NotificationView>, ApiError> {
    let acknowledged = state.notifier.acknowledge(id, &caller.actor, "API").await?;
    Ok(Json(acknowledged.into()))
}

#[derive(Debug, Deserialize)]
pub struct AckLinkQuery {
    pub sig: Option<String>,
}

/// `GET /ack/{id}?sig=…`: the signed link in a message. It needs no token — the signature (an
/// HMAC over the notification's id under the server's key) is the proof — so it lives outside
/// `/api/v1` and the OpenAPI document. Opening it only shows a page with a button: mail
/// scanners and link previews fetch links, and must not acknowledge a page for the person it
/// woke. The button POSTs the same signature back (`ack_confirm`). Every use, refused ones
/// included, is audited.
pub async fn ack_link(
    State(state): State<AppState>,
    ConnectInfo(remote): ConnectInfo<std::net::SocketAddr>,
    Path(id): Path<String>,
    Query(query): Query<AckLinkQuery>,
) -> Response {
    let parsed = id.parse::<i64>().ok();
    let sig = query.sig.unwrap_or_default();
    let (status, page) = match parsed {
        Some(id) if state.notifier.verify_ack(id, &sig) => {
            match state.store.get_notification(id).await {
                Ok(notification) => {
                    (StatusCode::OK, confirm_page(id, notification.incident_id, &sig))
                }
                Err(_) => (
                    StatusCode::NOT_FOUND,
                    page("Unknown notification", "There is no such notification."),
                ),
            }
        }
        _ => (StatusCode::FORBIDDEN, refused_page()),
    };
    audit_link(&state, "GET /ack/{id}", "anonymous".into(), &id, remote, status).await;
    (status, Html(page)).into_response()
}

#[derive(Debug, Deserialize)]
pub struct AckForm {
    pub sig: String,
}

/// `POST /ack/{id}` (the button of the link's page, a form with the signature): acknowledges.
pub async fn ack_confirm(
    State(state): State<AppState>,
    ConnectInfo(remote): ConnectInfo<std::net::SocketAddr>,
    Path(id): Path<String>,
    axum::Form(form): axum::Form<AckForm>,
) -> Response {
    let parsed = id.parse::<i64>().ok().filter(|id| state.notifier.verify_ack(*id, &form.sig));
    let (status, actor, page) = match parsed {
        Some(id) => match state.store.get_notification(id).await {
            Ok(notification) => {
                let actor = format!("link:{}", notification.recipient);
                match state.notifier.acknowledge(id, &actor, "signed link").await {
                    Ok(_) => (
                        StatusCode::OK,
                        actor,
                        page(
                            "Acknowledged",
                            &format!(
                                "Notification {id} about incident {} is acknowledged. The escalation stops, and the incident's timeline records it.",
                                notification.incident_id
                            ),
                        ),
                    ),
                    Err(crate::notify::NotifyError::Store(
                        firebreak_store::StoreError::Conflict(why),
                    )) => (StatusCode::OK, actor, page("Already acknowledged", &why)),
                    Err(error) => {
                        let error = ApiError::from(error);
                        let (_, status) = error.code();
                        if let ApiError::Internal(detail) = &error {
                            tracing::error!(error = %detail, "An acknowledgement link failed.");
                        }
                        (
                            status,
                            actor,
                            page(
                                "Not acknowledged",
                                "Something went wrong; try again, or acknowledge with `firebreak notify ack`.",
                            ),
                        )
                    }
                }
            }
            Err(_) => (
                StatusCode::NOT_FOUND,
                "anonymous".to_owned(),
                page("Unknown notification", "There is no such notification."),
            ),
        },
        None => (StatusCode::FORBIDDEN, "anonymous".to_owned(), refused_page()),
    };
    audit_link(&state, "POST /ack/{id}", actor, &id, remote, status).await;
    let mut response = (status, Html(page)).into_response();
    response.extensions_mut().insert(crate::SelfAudited);
    response
}

fn refused_page() -> String {
    page("Refused", "This acknowledgement link is not valid: its signature does not match.")
}

async fn audit_link(
    state: &AppState,
    action: &str,
    actor: String,
    id: &str,
    remote: std::net::SocketAddr,
    status: StatusCode,
) {
    let record = AuditRecord {
        at: state.clock.now(),
        actor,
        action: action.into(),
        target: format!("/ack/{id}"),
        remote_addr: remote.ip().to_string(),
        status: status.as_u16(),
        detail: "acknowledgement link".into(),
    };
    if let Err(error) = state.store.audit(&record).await {
        tracing::error!(%error, "Could not write an audit record.");
    }
}

/// The page a signed link opens: what it is about, and a button that acknowledges.
fn confirm_page(id: i64, incident_id: i64, sig: &str) -> String {
    // The signature is hex, checked above; nothing else in the form comes from outside.
    let sig: String = sig.chars().filter(char::is_ascii_hexdigit).collect();
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>firebreak: acknowledge</title></head>\
         <body><h1>Acknowledge notification {id}</h1><p>About incident {incident_id}. Acknowledging \
         stops the escalation, and the incident's timeline records it.</p>\
         <form method=\"post\" action=\"/ack/{id}\"><input type=\"hidden\" name=\"sig\" value=\"{sig}\">\
         <button type=\"submit\">Acknowledge</button></form></body></html>"
    )
}

/// A small page for people who clicked a link; everything in it is escaped.
fn page(title: &str, text: &str) -> String {
    let escape = |s: &str| {
        s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
    };
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>firebreak: {}</title></head>\
         <body><h1>{}</h1><p>{}</p></body></html>",
        escape(title),
        escape(title),
        escape(text)
    )
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateView {
    pub name: String,
    pub subject: String,
    pub body: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateList {
    pub templates: Vec<TemplateView>,
    /// The `{{variable}}`s templates may use, with what each holds.
    pub variables: std::collections::BTreeMap<String, String>,
}

/// The communication templates (built in, and from the configuration) and their variables.
#[utoipa::path(get, path = "/api/v1/communications/templates", tag = "notifications",
    responses((status = 200, body = TemplateList)),
    security(("token" = ["viewer"])))]
pub async fn templates(
    State(state): State<AppState>,
    _: Need<Viewer>,
) -> Result<Json<TemplateList>, ApiError> {
    let templates = state
        .notifier
        .templates()
        .into_iter()
        .map(|t| TemplateView { name: t.name, subject: t.subject, body: t.body })
        .collect();
    let variables = crate::notify::templates::VARIABLES
        .iter()
        .map(|(name, what)| ((*name).to_owned(), (*what).to_owned()))
        .collect();
    Ok(Json(TemplateList { templates, variables }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DraftRequest {
    /// `internal_update`, `status_update`, `executive_summary`, or one from the configuration.
    pub template: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DraftView {
    pub template: String,
    pub subject: String,
    pub body: String,
}

impl From<Draft> for DraftView {
    fn from(draft: Draft) -> DraftView {
        DraftView { template: draft.template, subject: draft.subject, body: draft.body }
    }
}

/// A draft from a template, filled from the incident as it stands, for review. Nothing is
/// sent or recorded.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/communications/draft", tag = "notifications", params(("id" = i64, Path)), request_body = DraftRequest,
    responses((status = 200, body = DraftView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("token" = ["responder"])))]
pub async fn draft(
    State(state): State<AppState>,
    _: Need<Responder>,
    Path(id): Path<i64>,
    JsonBody(request): JsonBody<DraftRequest>,
) -> Result<Json<DraftView>, ApiError> {
    Ok(Json(state.notifier.draft(id, &request.template).await?.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendRequest {
    /// The template it was drafted from, if any (recorded on the timeline).
    pub template: Option<String>,
    pub subject: String,
    /// The reviewed text, sent as it is.
    pub body: String,
    /// Names of configured channels.
    pub channels: Vec<String>,
}

/// Sends a reviewed communication to channels; the sent copy, with each channel's outcome,
/// goes on the incident's timeline.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/communications/send", tag = "notifications", params(("id" = i64, Path)), request_body = SendRequest,
    responses((status = 200, body = Vec<NotificationView>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("token" = ["responder"])))]
pub async fn send(
    State(state): State<AppState>,
    Need(caller, _): Need<Responder>,
    Path(id): Path<i64>,
    JsonBody(request): JsonBody<SendRequest>,
) -> Result<Json<Vec<NotificationView>>, ApiError> {
    let message = Communication {
        template: request.template,
        subject: request.subject,
        body: request.body,
        channels: request.channels,
    };
    let sent = state.notifier.send_communication(id, &message, &caller.actor).await?;
    Ok(Json(sent.into_iter().map(NotificationView::from).collect()))
}
