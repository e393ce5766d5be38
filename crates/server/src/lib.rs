//! firebreak's service: configuration, ingest through a durable spool, authentication and
//! authorisation, and the REST API with its OpenAPI document.
//!
//! This is the only crate that knows HTTP. It never reads the wall clock except through the
//! `Clock` it is given, and never writes SQL: the store does.

pub mod api;
pub mod auth;
pub mod background;
pub mod config;
pub mod detection;
pub mod drain;
pub mod error;
pub mod evidence;
pub mod ingest;
pub mod metrics;
pub mod notify;
pub mod response;
pub mod retention;
pub mod scheduler;
pub mod sources;
pub mod spool;
pub mod triage;

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use firebreak_core::{AccessRole, Clock};
use firebreak_store::{AuditRecord, NewToken, Store, TokenKind};
use jiff::SignedDuration;
use tokio::sync::watch;
use utoipa::OpenApi;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{CallerSlot, Secret};
use crate::config::Config;
use crate::metrics::Metrics;
use crate::spool::Spool;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub config: Arc<Config>,
    pub clock: Arc<dyn Clock>,
    pub spool: Spool,
    pub metrics: Arc<Metrics>,
    /// The last sequence number the drain task has put in the store.
    pub drained: watch::Receiver<i64>,
    /// The spool's end at start: until the store holds it, the server is not ready.
    pub replay_target: i64,
    pub blobs: evidence::BlobStore,
    /// The accepted suppressions, shared with the alert writer.
    pub suppressions: Arc<triage::Suppressions>,
    /// The rules in force, for searching events by rule (none if none could be loaded).
    pub rules: Option<watch::Receiver<Arc<firebreak_detect::RuleSet>>>,
    /// Containment: decisions, their index for the check endpoint, playbooks.
    pub responder: Arc<response::Responder>,
    /// The bouncers' key hashes, for the CrowdSec-compatible API and the check endpoint.
    pub bouncers: Arc<api::crowdsec::BouncerKeys>,
    /// Sends notifications and takes their acknowledgements.
    pub notifier: Arc<notify::Notifier>,
}

/// Marks a response whose audit record travels with its events through the spool.
#[derive(Debug, Clone, Copy)]
pub struct SpoolAudited;

/// Marks a refusal that took and changed nothing because the store is behind (ingest's
/// backlog limit). It is counted in `/metrics` instead of audited: an audit row would be one
/// more write to the store that is already behind, for every retry of every sender.
#[derive(Debug, Clone, Copy)]
pub struct RefusedForBacklog;

/// Marks a response whose handler wrote its own audit record (with what only it knows).
#[derive(Debug, Clone, Copy)]
pub struct SelfAudited;

#[derive(OpenApi)]
#[openapi(
    info(title = "firebreak", description = "Security incident response for business apps: ingest, incidents, timeline, access."),
    modifiers(&SecurityAddon),
    tags(
        (name = "ingest", description = "Events in and out"),
        (name = "alerts", description = "Alerts from live detection"),
        (name = "incidents", description = "Incidents and their hash-chained timeline"),
        (name = "investigation", description = "Searching stored events"),
        (name = "evidence", description = "Evidence with chain of custody"),
        (name = "team", description = "People, on-call and response roles"),
        (name = "tasks", description = "Tasks of an incident"),
        (name = "damage", description = "The damage assessment"),
        (name = "obligations", description = "Breach-notification facts, obligations and their tracking"),
        (name = "notifications", description = "Notifications, their acknowledgement, and communications"),
        (name = "auth", description = "Setup, login, tokens, users and the audit log"),
        (name = "enforcement", description = "Containment decisions, playbooks, approvals, bouncers (a CrowdSec-compatible decisions API) and the check endpoint"),
    )
)]
struct ApiDoc;

struct SecurityAddon;

impl utoipa::Modify for SecurityAddon {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API token (`fbk_…`). The scope names the least role the route needs: ingest, viewer, responder, commander or admin (or the one-time setup token).",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "bouncer",
            SecurityScheme::ApiKey(utoipa::openapi::security::ApiKey::Header(
                utoipa::openapi::security::ApiKeyValue::with_description(
                    "X-Api-Key",
                    "A bouncer's key (`firebreak bouncer add`), as CrowdSec bouncers send it.",
                ),
            )),
        );
    }
}

/// The API routes and their OpenAPI document, built from the same annotations so that neither
/// can miss a route.
pub fn api_router() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(ingest::post_events, api::events::list))
        .routes(routes!(api::events::search))
        .routes(routes!(api::events::export))
        .routes(routes!(api::incidents::list, api::incidents::create))
        .routes(routes!(api::incidents::get))
        .routes(routes!(api::incidents::stats))
        .routes(routes!(api::incidents::move_alerts))
        .routes(routes!(api::incidents::merge))
        .routes(routes!(api::incidents::split))
        .routes(routes!(api::alerts::assign))
        .routes(routes!(api::alerts::false_positive))
        .routes(routes!(api::alerts::events))
        .routes(routes!(api::crowdsec::stream))
        .routes(routes!(api::crowdsec::decisions))
        .routes(routes!(api::crowdsec::check))
        .routes(routes!(api::decisions::list, api::decisions::create))
        .routes(routes!(api::decisions::get))
        .routes(routes!(api::decisions::extend))
        .routes(routes!(api::decisions::roll_back))
        .routes(routes!(api::decisions::create_bouncer, api::decisions::list_bouncers))
        .routes(routes!(api::decisions::revoke_bouncer))
        .routes(routes!(api::decisions::playbooks))
        .routes(routes!(api::decisions::apply))
        .routes(routes!(api::decisions::approvals))
        .routes(routes!(api::decisions::decide_approval))
        .routes(routes!(api::suppressions::list))
        .routes(routes!(api::suppressions::accept))
        .routes(routes!(api::suppressions::refuse))
        .routes(routes!(api::incidents::change_status))
        .routes(routes!(api::incidents::change_severity))
        .routes(routes!(api::incidents::add_note))
        .routes(routes!(api::incidents::timeline))
        .routes(routes!(api::obligations::get))
        .routes(routes!(api::obligations::get_facts, api::obligations::put_facts))
        .routes(routes!(api::obligations::update))
        .routes(routes!(api::obligations::draft))
        .routes(routes!(api::evidence::upload, api::evidence::list))
        .routes(routes!(api::evidence::excerpt))
        .routes(routes!(api::evidence::capture))
        .routes(routes!(api::evidence::content))
        .routes(routes!(api::evidence::verify))
        .routes(routes!(api::evidence::export))
        .routes(routes!(api::team::create, api::team::list))
        .routes(routes!(api::team::on_call))
        .routes(routes!(api::team::set_on_call))
        .routes(routes!(api::team::assign, api::team::roles))
        .routes(routes!(api::tasks::create, api::tasks::list))
        .routes(routes!(api::tasks::update))
        .routes(routes!(api::tasks::overdue))
        .routes(routes!(api::damage::put, api::damage::get))
        .routes(routes!(api::alerts::list))
        .routes(routes!(api::alerts::get))
        .routes(routes!(api::alerts::acknowledge))
        .routes(routes!(api::auth::setup))
        .routes(routes!(api::auth::login))
        .routes(routes!(api::auth::create_token, api::auth::list_tokens))
        .routes(routes!(api::auth::revoke_token))
        .routes(routes!(api::auth::create_user))
        .routes(routes!(api::auth::audit))
        .routes(routes!(api::notifications::list))
        .routes(routes!(api::notifications::get))
        .routes(routes!(api::notifications::acknowledge))
        .routes(routes!(api::notifications::templates))
        .routes(routes!(api::notifications::draft))
        .routes(routes!(api::notifications::send))
        .split_for_parts()
}

/// The whole application.
pub fn app(state: AppState) -> Router {
    let (api, doc) = api_router();
    let doc = Arc::new(doc);
    let body_limit = state.config.ingest.max_body_bytes;
    Router::new()
        .merge(api)
        .route(
            "/api/v1/openapi.json",
            get(move || {
                let doc = doc.clone();
                async move { axum::Json((*doc).clone()) }
            }),
        )
        .route("/healthz", get(api::system::healthz))
        .route("/readyz", get(api::system::readyz))
        .route("/metrics", get(api::system::metrics))
        // The signed acknowledgement link in messages: no token, so not under /api/v1.
        .route("/ack/{id}", get(api::notifications::ack_link).post(api::notifications::ack_confirm))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state)
}

/// Counts every request, and writes an audit record for every call that may change state.
async fn observe(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let remote = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip().to_string())
        .unwrap_or_else(|| "unknown".into());
    let slot = CallerSlot::default();
    request.extensions_mut().insert(slot.clone());
    let response = next.run(request).await;
    let status = response.status();
    state.metrics.http_requests.add(1);
    if status.is_server_error() {
        state.metrics.http_server_errors.add(1);
    }
    if status == axum::http::StatusCode::UNAUTHORIZED {
        state.metrics.auth_failures.add(1);
    }
    let changes_state = !matches!(
        method,
        axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS
    );
    let audited_elsewhere = response.extensions().get::<SpoolAudited>().is_some()
        || response.extensions().get::<SelfAudited>().is_some()
        || response.extensions().get::<RefusedForBacklog>().is_some();
    if changes_state && !audited_elsewhere {
        let actor = slot
            .0
            .lock()
            .ok()
            .and_then(|guard| guard.clone())
            .unwrap_or_else(|| "anonymous".into());
        let record = AuditRecord {
            at: state.clock.now(),
            actor,
            action: format!("{method} {path}"),
            target: path.clone(),
            remote_addr: remote,
            status: status.as_u16(),
            detail: String::new(),
        };
        if let Err(error) = state.store.audit(&record).await {
            // The change itself is done; losing its audit record is logged loudly.
            tracing::error!(%error, action = %record.action, "Could not write an audit record.");
        }
    }
    response
}

/// What the first start hands the operator.
#[derive(Debug)]
pub struct SetupToken {
    pub user: String,
    pub secret: Secret,
    pub expires_at: jiff::Timestamp,
}

/// On an empty store, creates the administrator and a one-time setup token valid for 24 hours.
/// There is no default password: the token is printed once, and exchanged at
/// `/api/v1/auth/setup` for an API token (and optionally a password).
pub async fn bootstrap(
    store: &dyn Store,
    clock: &dyn Clock,
) -> Result<Option<SetupToken>, error::ApiError> {
    if store.count_users().await? > 0 {
        return Ok(None);
    }
    let now = clock.now();
    let user = store.create_user("admin", AccessRole::Admin, None, now).await?;
    let (secret, hash) = auth::new_token()?;
    let expires_at = now + SignedDuration::from_hours(24);
    store
        .create_token(
            NewToken {
                name: "setup".into(),
                kind: TokenKind::Setup,
                role: AccessRole::Admin,
                user_id: Some(user.id),
                hash,
                expires_at: Some(expires_at),
            },
            now,
        )
        .await?;
    tracing::info!(user = %user.name, "Created the administrator and a one-time setup token.");
    Ok(Some(SetupToken { user: user.name, secret, expires_at }))
}

/// Creates an administrator with an API token, for scripted set-ups (`firebreak admin create`).
pub async fn create_admin(
    store: &dyn Store,
    clock: &dyn Clock,
    name: &str,
) -> Result<Secret, error::ApiError> {
    let now = clock.now();
    let user = store.create_user(name, AccessRole::Admin, None, now).await?;
    let (secret, hash) = auth::new_token()?;
    store
        .create_token(
            NewToken {
                name: format!("{name} (admin create)"),
                kind: TokenKind::Api,
                role: AccessRole::Admin,
                user_id: Some(user.id),
                hash,
                expires_at: None,
            },
            now,
        )
        .await?;
    Ok(secret)
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("detection: {0}")]
    Detection(String),
    #[error("response: {0}")]
    Response(String),
    #[error("cannot open the ingest spool in {dir}: {error}")]
    Spool { dir: String, error: std::io::Error },
    #[error(transparent)]
    Store(#[from] firebreak_store::StoreError),
    #[error("notifications: {0}")]
    Notify(#[from] notify::NotifyError),
    #[error("the server failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Runs the service on `listener` until `shutdown` completes, then stops taking requests,
/// finishes those in flight, and moves every spooled event into the store before returning.
pub async fn serve(
    config: Config,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let checkpoint = store.ingest_checkpoint().await?;
    let spool_dir = config.data_dir.join("spool");
    let (spool, reader, writer_thread) = Spool::open(&spool_dir, checkpoint)
        .map_err(|error| ServeError::Spool { dir: spool_dir.display().to_string(), error })?;
    let replay_target = spool.committed();
    if replay_target > checkpoint {
        tracing::info!(
            events = replay_target - checkpoint,
            "Replaying events from the spool into the store."
        );
    }
    let metrics = Arc::new(Metrics::default());
    metrics.store_checkpoint.set(checkpoint);
    let suppressions = Arc::new(triage::Suppressions::load(&*store).await?);

    // Response: the ban policy, the playbooks (checked against the rules), decisions in force.
    let d = &config.detection;
    let known_rules = detection::load_rules(d.builtin_rules, &d.rules, &d.threat_intel).ok();
    let allowed = match &d.allow {
        Some(path) => detection::read_allowlist(path).map_err(ServeError::Detection)?.networks,
        None => Vec::new(),
    };
    let policy = response::ban_policy(&config.response, &allowed).map_err(ServeError::Response)?;
    let rule_known = |id: &str| known_rules.as_ref().is_none_or(|rules| rules.rule(id).is_some());
    let playbooks = response::load_playbooks(
        config.response.builtin_playbooks,
        &config.response.playbooks,
        &rule_known,
    )
    .map_err(ServeError::Response)?;
    let blobs = evidence::BlobStore::new(config.data_dir.join("evidence"));
    let sink = api::evidence::EvidenceSink {
        store: store.clone(),
        blobs: blobs.clone(),
        max_bytes: config.evidence.max_bytes,
        clock: clock.clone(),
    };
    let responder = Arc::new(
        response::Responder::new(
            &config.response,
            policy,
            playbooks,
            store.clone(),
            clock.clone(),
            sink,
        )
        .await
        .map_err(ServeError::Response)?,
    );
    let bouncers = Arc::new(api::crowdsec::BouncerKeys::load(&*store).await?);

    // Notifications: incidents opened by detection or through the API are routed.
    let public_url = format!("http://{}", listener.local_addr()?);
    let notifier = Arc::new(notify::Notifier::new(
        config.notify.clone(),
        &public_url,
        &config.data_dir,
        store.clone(),
        clock.clone(),
    )?);
    responder.set_notifier(notifier.clone());

    // The scheduler: decision expiry, approval timeouts and escalations (jobs due while
    // stopped run now).
    let mut scheduler = scheduler::Scheduler::new(store.clone(), clock.clone());
    scheduler
        .register(response::DECISION_EXPIRY, Arc::new(response::ExpiryHandler(responder.clone())));
    scheduler.register(
        response::APPROVAL_TIMEOUT,
        Arc::new(response::ApprovalTimeoutHandler(responder.clone())),
    );
    scheduler.register(
        notify::escalation::KIND,
        Arc::new(notify::escalation::EscalationHandler(notifier.clone())),
    );
    scheduler.register(
        api::obligations::OBLIGATION_REMINDER,
        Arc::new(api::obligations::ReminderHandler {
            store: store.clone(),
            clock: clock.clone(),
            plan: config.obligations.plan().map_err(|e| ServeError::Response(e.to_string()))?,
            notifier: Some(notifier.clone()),
        }),
    );
    scheduler.start().await?;
    let (scheduler_stop, scheduler_stop_rx) = watch::channel(false);
    let scheduler_task = tokio::spawn(scheduler.run(scheduler_stop_rx));

    let detector = if config.detection.enabled {
        Some(
            detection::start(
                &config.detection,
                config.incidents.clone(),
                &config.data_dir,
                detection::Sinks {
                    store: store.clone(),
                    clock: clock.clone(),
                    metrics: metrics.clone(),
                    suppressions: suppressions.clone(),
                    responder: Some(responder.clone()),
                    notifier: Some(notifier.clone()),
                },
            )
            .map_err(ServeError::Detection)?,
        )
    } else {
        None
    };
    let (rules, detect_tx, detector_parts) = match detector {
        Some(detection::Detector { rules, events, engine, alerts }) => {
            (Some(rules), Some(events), Some((engine, alerts)))
        }
        None => {
            // Without live detection the rules still serve investigation (events by rule).
            let d = &config.detection;
            match detection::load_rules(d.builtin_rules, &d.rules, &d.threat_intel) {
                // Nothing reloads them without the engine: a channel whose sender is gone.
                Ok(rules) => (Some(watch::channel(Arc::new(rules)).1), None, None),
                Err(error) => {
                    tracing::warn!(%error, "No rules for searching events by rule.");
                    (None, None, None)
                }
            }
        }
    };
    let (drained_tx, drained_rx) = watch::channel(checkpoint);
    let (stop_tx, stop_rx) = watch::channel(false);
    let drain = drain::spawn(drain::Drain {
        store: store.clone(),
        reader,
        batch: config.ingest.drain_batch,
        metrics: metrics.clone(),
        clock: clock.clone(),
        progress: drained_tx,
        stop: stop_rx,
        detect: detect_tx,
    })?;
    let grace = Duration::from_secs(config.server.shutdown_grace_secs);
    let (sources_stop, sources_stop_rx) = watch::channel(false);
    let source_tasks = sources::start(
        &config.sources,
        &config.data_dir,
        spool.clone(),
        clock.clone(),
        metrics.clone(),
        sources_stop_rx,
    )
    .await?;
    let retention = tokio::spawn(retention::run(
        store.clone(),
        clock.clone(),
        metrics.clone(),
        config.ingest.retention_days,
        sources_stop.subscribe(),
    ));
    let state = AppState {
        store: store.clone(),
        config: Arc::new(config),
        clock,
        spool,
        metrics,
        drained: drained_rx,
        replay_target,
        blobs,
        suppressions,
        rules,
        responder,
        bouncers,
        notifier,
    };
    let router = app(state);
    tracing::info!(address = %listener.local_addr()?, "Listening.");
    axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await?;
    // The scheduler stops between jobs (one cut short runs again at the next start).
    let _ = scheduler_stop.send(true);
    let _ = tokio::time::timeout(grace, scheduler_task).await;
    // The sources flush what they hold and let go of the spool; retention stops.
    let _ = sources_stop.send(true);
    retention.abort();
    for mut task in source_tasks {
        if tokio::time::timeout(grace, &mut task).await.is_err() {
            task.abort();
        }
    }
    // The router and every spool handle are gone: the writer thread ends once it has synced.
    tracing::info!("Stopped taking requests; moving the rest of the spool into the store.");
    let _ = tokio::task::spawn_blocking(move || writer_thread.join()).await;
    let _ = stop_tx.send(true);
    let mut drain = drain;
    match tokio::time::timeout(grace, drain.finished()).await {
        Ok(_) => tracing::info!("Everything accepted is in the store."),
        Err(_) => {
            // Stop it, so that the detector's input closes; the spool keeps the rest.
            drain.abort();
            tracing::warn!(
                "Shutdown grace period over; what remains in the spool is replayed at the next start."
            );
        }
    }
    // The drain has ended, so the detector's input is closed: it finishes, saves its state,
    // and the alert task writes the last alerts.
    if let Some((engine, alerts)) = detector_parts {
        let _ = tokio::task::spawn_blocking(move || engine.join()).await;
        if tokio::time::timeout(grace, alerts).await.is_err() {
            tracing::warn!("Shutdown grace period over before the last alerts were written.");
        }
    }
    Ok(())
}

/// Reads every `*.yml` and `*.yaml` file in `dir`, in name order, as (path, text); `what` names
/// the files in errors ("rules", "playbooks").
pub fn read_yaml_files(dir: &Path, what: &str) -> Result<Vec<(String, String)>, String> {
    let entries = std::fs::read_dir(dir)
        .map_err(|error| format!("cannot read the {what} directory {}: {error}", dir.display()))?;
    let mut paths: Vec<std::path::PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "yml" || ext == "yaml"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).map_err(|error| {
                format!("cannot read the {what} file {}: {error}", path.display())
            })?;
            Ok((path.display().to_string(), text))
        })
        .collect()
}
