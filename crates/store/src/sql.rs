//! `SqlStore`: the `Store` trait in SQL, once, for SQLite and PostgreSQL through sqlx's `Any`
//! driver. The two engines differ only in their migrations and in how a write is serialised:
//! SQLite allows one writer, so writes take an in-process lock; PostgreSQL locks the incident row.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use firebreak_core::incident::Milestones;
use firebreak_core::{
    AccessRole, Alert, AlertStatus, Decision, DecisionKind, EntryKind, Hash, Incident,
    IncidentStats, NewEntry, NewIncident, Person, ResponseRole, Severity, Status, Suppression,
    SuppressionStatus, Task, TaskStatus, TimelineEntry,
};
use jiff::Timestamp;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyPool, Executor, Row, Transaction};
use tokio::sync::Mutex;

mod notify;
mod response;
mod triage;

use crate::{
    AlertFilter, Bouncer, DecisionChange, DecisionFilter, DocumentKind, Job, JobState, NewAlert,
    NewJob, RoleAssignment,
};
use crate::{
    AuditRecord, DocumentVersion, EventQuery, EventRecord, Evidence, IncidentChange,
    IncidentFilter, NewToken, ObligationRecord, Result, Store, StoreError, TokenInfo, TokenKind,
    User,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Engine {
    Sqlite,
    Postgres,
}

#[derive(Debug)]
pub struct SqlStore {
    pool: AnyPool,
    engine: Engine,
    /// On SQLite, a plain connection for bulk event inserts: a prepared statement run per row
    /// in one transaction is several times faster than anything sqlx's `Any` layer allows, and
    /// the event drain is the busiest writer there is.
    bulk: Option<Arc<std::sync::Mutex<rusqlite::Connection>>>,
    /// SQLite has one writer at a time; taking this before a write transaction avoids
    /// `SQLITE_BUSY` on lock upgrades. Unused on PostgreSQL.
    write_lock: Mutex<()>,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Hides the password in a database URL, for messages and logs.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let Some((credentials, host)) = rest.rsplit_once('@') else { return url.to_owned() };
    match credentials.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:[redacted]@{host}"),
        None => url.to_owned(),
    }
}

impl SqlStore {
    pub async fn open(url: &str) -> Result<SqlStore> {
        sqlx::any::install_default_drivers();
        let (engine, url) = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (Engine::Postgres, url.to_owned())
        } else {
            let path = url
                .strip_prefix("sqlite://")
                .or_else(|| url.strip_prefix("sqlite:"))
                .unwrap_or(url);
            if path.is_empty() || path.contains('?') {
                return Err(StoreError::Invalid(format!(
                    "`{url}` is not a database URL: use sqlite://PATH or postgres://USER@HOST/DB"
                )));
            }
            (Engine::Sqlite, format!("sqlite://{path}?mode=rwc"))
        };
        let options = AnyPoolOptions::new()
            .max_connections(if engine == Engine::Sqlite { 4 } else { 8 })
            .acquire_timeout(Duration::from_secs(5))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if engine == Engine::Sqlite {
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA synchronous = FULL").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                        conn.execute("PRAGMA busy_timeout = 10000").await?;
                    }
                    Ok(())
                })
            });
        let pool = options.connect(&url).await.map_err(|error| {
            StoreError::Other(format!(
                "cannot open the database at {}: {error}",
                redact_url(&url).trim_end_matches("?mode=rwc")
            ))
        })?;
        let migrator = match engine {
            Engine::Sqlite => &SQLITE_MIGRATIONS,
            Engine::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&pool).await.map_err(|error| {
            StoreError::Other(format!("cannot apply the database migrations: {error}"))
        })?;
        let bulk = match engine {
            Engine::Sqlite => {
                let path =
                    url.trim_start_matches("sqlite://").trim_end_matches("?mode=rwc").to_owned();
                let conn = rusqlite::Connection::open(&path)
                    .and_then(|conn| {
                        conn.execute_batch(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; \
                             PRAGMA cache_size = -131072;",
                        )?;
                        Ok(conn)
                    })
                    .map_err(|error| {
                        StoreError::Other(format!("cannot open {path} for bulk writes: {error}"))
                    })?;
                Some(Arc::new(std::sync::Mutex::new(conn)))
            }
            Engine::Postgres => None,
        };
        Ok(SqlStore { pool, engine, bulk, write_lock: Mutex::new(()) })
    }

    /// The pool, for tests that tamper with rows behind the store's back.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    async fn write_guard(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match self.engine {
            Engine::Sqlite => Some(self.write_lock.lock().await),
            Engine::Postgres => None,
        }
    }

    fn for_update(&self) -> &'static str {
        match self.engine {
            Engine::Sqlite => "",
            Engine::Postgres => " FOR UPDATE",
        }
    }

    /// One firing of [`Store::record_alerts`], inside its transaction.
    async fn record_alert_in(
        &self,
        tx: &mut Transaction<'_, Any>,
        alert: &NewAlert,
        suppression: jiff::SignedDuration,
        at: Timestamp,
    ) -> Result<(Alert, bool)> {
        let key = firebreak_core::alert::group_key(&alert.group);
        let since = alert.first_seen.checked_sub(suppression).unwrap_or(alert.first_seen);
        let sql = format!(
            "SELECT {ALERT_COLUMNS} FROM alerts WHERE rule_id = $1 AND group_key = $2 AND last_seen >= $3 ORDER BY last_seen DESC LIMIT 1{}",
            self.for_update()
        );
        let existing = sqlx::query(&sql)
            .bind(alert.rule_id.as_str())
            .bind(key.as_str())
            .bind(nanos(since))
            .fetch_optional(&mut **tx)
            .await?;
        let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        let result = match existing {
            Some(row) => {
                let mut stored = alert_from_row(&row)?;
                stored.count = stored.count.saturating_add(alert.count);
                stored.first_seen = stored.first_seen.min(alert.first_seen);
                stored.last_seen = stored.last_seen.max(alert.last_seen);
                for line in &alert.sample {
                    if stored.sample.len() < 10 && !stored.sample.contains(line) {
                        stored.sample.push(line.clone());
                    }
                }
                sqlx::query("UPDATE alerts SET count = $1, first_seen = $2, last_seen = $3, sample = $4, updated_at = $5 WHERE id = $6")
                    .bind(count(stored.count))
                    .bind(nanos(stored.first_seen))
                    .bind(nanos(stored.last_seen))
                    .bind(serde_json::to_string(&stored.sample).unwrap_or_default())
                    .bind(nanos(at))
                    .bind(stored.id)
                    .execute(&mut **tx)
                    .await?;
                (stored, false)
            }
            None => {
                let sql = format!(
                    "INSERT INTO alerts (rule_id, title, severity, group_key, count, first_seen, last_seen, tags, sample, status, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'new', $10, $10) RETURNING {ALERT_COLUMNS}"
                );
                let row = sqlx::query(&sql)
                    .bind(alert.rule_id.as_str())
                    .bind(alert.title.as_str())
                    .bind(alert.severity.as_str())
                    .bind(key.as_str())
                    .bind(count(alert.count))
                    .bind(nanos(alert.first_seen))
                    .bind(nanos(alert.last_seen))
                    .bind(serde_json::to_string(&alert.tags).unwrap_or_default())
                    .bind(serde_json::to_string(&alert.sample).unwrap_or_default())
                    .bind(nanos(at))
                    .fetch_one(&mut **tx)
                    .await?;
                (alert_from_row(&row)?, true)
            }
        };
        Ok(result)
    }

    async fn incident_in(&self, tx: &mut Transaction<'_, Any>, id: i64) -> Result<Incident> {
        let sql =
            format!("SELECT {INCIDENT_COLUMNS} FROM incidents WHERE id = $1{}", self.for_update());
        let row = sqlx::query(&sql).bind(id).fetch_optional(&mut **tx).await?;
        match row {
            Some(row) => incident_from_row(&row),
            None => Err(StoreError::NotFound(format!("incident {id}"))),
        }
    }

    /// The row `select` finds for `id` (its one `$1`), read by `read`; `NotFound` names it as
    /// `what id`.
    async fn by_id<T>(
        &self,
        select: &str,
        id: i64,
        what: &str,
        read: fn(&AnyRow) -> Result<T>,
    ) -> Result<T> {
        match sqlx::query(select).bind(id).fetch_optional(&self.pool).await? {
            Some(row) => read(&row),
            None => Err(StoreError::NotFound(format!("{what} {id}"))),
        }
    }

    /// Inserts a new incident with its first timeline entry, inside `tx`.
    async fn insert_incident_in(
        &self,
        tx: &mut Transaction<'_, Any>,
        new: &NewIncident,
        actor: &str,
        at: Timestamp,
    ) -> Result<Incident> {
        new.validate().map_err(StoreError::Invalid)?;
        let sql = format!(
            "INSERT INTO incidents (title, summary, severity, status, drill, created_at, updated_at, detected_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6, $6) RETURNING {INCIDENT_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(new.title.as_str())
            .bind(new.summary.as_str())
            .bind(new.severity.as_str())
            .bind(Status::Detected.as_str())
            .bind(i64::from(new.drill))
            .bind(nanos(at))
            .fetch_one(&mut **tx)
            .await?;
        let incident = incident_from_row(&row)?;
        let entry = NewEntry {
            kind: EntryKind::Created,
            occurred_at: at,
            actor: actor.to_owned(),
            summary: format!("Incident opened: {} ({})", incident.title, incident.severity),
            data: serde_json::json!({
                "title": incident.title,
                "summary": incident.summary,
                "severity": incident.severity,
                "drill": incident.drill,
            }),
        };
        self.append_in(tx, incident.id, entry, at).await?;
        Ok(incident)
    }

    async fn append_in(
        &self,
        tx: &mut Transaction<'_, Any>,
        incident_id: i64,
        entry: NewEntry,
        recorded_at: Timestamp,
    ) -> Result<TimelineEntry> {
        let last = sqlx::query(
            "SELECT seq, hash FROM timeline_entries WHERE incident_id = $1 ORDER BY seq DESC LIMIT 1",
        )
        .bind(incident_id)
        .fetch_optional(&mut **tx)
        .await?;
        let (seq, prev) = match last {
            Some(row) => {
                let seq: i64 = row.try_get(0)?;
                let hash: String = row.try_get(1)?;
                let prev = Hash::from_hex(&hash).ok_or_else(|| {
                    StoreError::Other(format!(
                        "timeline entry {seq} of incident {incident_id} has a malformed hash"
                    ))
                })?;
                (seq + 1, prev)
            }
            None => (1, Hash::ZERO),
        };
        let sealed = TimelineEntry::seal(incident_id, seq, prev, recorded_at, entry);
        sqlx::query(
            "INSERT INTO timeline_entries (incident_id, seq, kind, occurred_at, recorded_at, actor, summary, data, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(incident_id)
        .bind(seq)
        .bind(sealed.kind.as_str())
        .bind(nanos(sealed.occurred_at))
        .bind(nanos(sealed.recorded_at))
        .bind(sealed.actor.as_str())
        .bind(sealed.summary.as_str())
        .bind(sealed.data.to_string())
        .bind(sealed.prev_hash.to_hex())
        .bind(sealed.hash.to_hex())
        .execute(&mut **tx)
        .await?;
        Ok(sealed)
    }
}

const INCIDENT_COLUMNS: &str = "id, title, summary, severity, status, drill, merged_into, created_at, updated_at, \
    detected_at, triage_at, containment_at, eradication_at, recovery_at, post_incident_review_at, closed_at";

const EVENT_COLUMNS: &str =
    "id, ts, received_at, category, action, outcome, source_ip, user_name, host_name, doc";

/// The SQL and the arguments of an event search, in bind order.
enum Arg {
    Text(String),
    Int(i64),
}

fn search_sql(query: &EventQuery) -> (String, Vec<Arg>) {
    let mut sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE 1 = 1");
    let mut args = Vec::new();
    let mut bind = |sql: &mut String, clause: &str, arg: Arg| {
        args.push(arg);
        sql.push_str(&clause.replace('?', &format!("${}", args.len())));
    };
    let columns = [
        ("source_ip", &query.ip),
        ("user_name", &query.user),
        ("host_name", &query.host),
        ("category", &query.category),
        ("outcome", &query.outcome),
    ];
    for (column, value) in columns {
        if let Some(value) = value {
            bind(&mut sql, &format!(" AND {column} = ?"), Arg::Text(value.clone()));
        }
    }
    if let Some(from) = query.from {
        bind(&mut sql, " AND ts >= ?", Arg::Int(nanos(from)));
    }
    if let Some(to) = query.to {
        bind(&mut sql, " AND ts < ?", Arg::Int(nanos(to)));
    }
    if let Some(text) = &query.text {
        // Escape LIKE's wildcards so the text is matched literally.
        let escaped = text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        bind(&mut sql, " AND doc LIKE ? ESCAPE '\\'", Arg::Text(format!("%{escaped}%")));
    }
    if let Some((ts, id)) = query.before {
        args.push(Arg::Int(nanos(ts)));
        let ts_arg = args.len();
        args.push(Arg::Int(id));
        let id_arg = args.len();
        sql.push_str(&format!(" AND (ts < ${ts_arg} OR (ts = ${ts_arg} AND id < ${id_arg}))"));
    }
    args.push(Arg::Int(i64::from(query.limit.clamp(1, 10_000))));
    sql.push_str(&format!(" ORDER BY ts DESC, id DESC LIMIT ${}", args.len()));
    (sql, args)
}

fn bind_args<'q>(
    mut query: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>,
    args: &'q [Arg],
) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>> {
    for arg in args {
        query = match arg {
            Arg::Text(text) => query.bind(text.as_str()),
            Arg::Int(value) => query.bind(*value),
        };
    }
    query
}

/// A listing query built from optional filters: each clause's `?` becomes the next `$n`, and
/// the arguments are kept in bind order, so a filter's clause and its value cannot drift apart.
struct Listing {
    sql: String,
    args: Vec<Arg>,
}

impl Listing {
    /// `select` ends in a WHERE clause that further clauses are ANDed to (`WHERE 1 = 1`).
    fn new(select: String) -> Listing {
        Listing { sql: select, args: Vec::new() }
    }

    fn and(&mut self, clause: &str, arg: Option<Arg>) {
        if let Some(arg) = arg {
            self.args.push(arg);
            self.sql.push(' ');
            self.sql.push_str(&clause.replace('?', &format!("${}", self.args.len())));
        }
    }

    /// Appends `ORDER BY … LIMIT ?` (the limit is the last argument) and runs the query.
    async fn fetch(mut self, pool: &AnyPool, order: &str, limit: i64) -> Result<Vec<AnyRow>> {
        self.args.push(Arg::Int(limit));
        self.sql.push_str(&format!(" ORDER BY {order} LIMIT ${}", self.args.len()));
        Ok(bind_args(sqlx::query(&self.sql), &self.args).fetch_all(pool).await?)
    }
}

fn nanos(at: Timestamp) -> i64 {
    // i64 nanoseconds cover 1677–2262; jiff's range is wider, so clamp rather than wrap.
    i64::try_from(at.as_nanosecond()).unwrap_or(if at.as_second() < 0 {
        i64::MIN
    } else {
        i64::MAX
    })
}

fn from_nanos(value: i64) -> Timestamp {
    Timestamp::from_nanosecond(i128::from(value)).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn opt_from_nanos(value: Option<i64>) -> Option<Timestamp> {
    value.map(from_nanos)
}

fn parse_column<T: FromStr>(column: &str, text: &str) -> Result<T> {
    text.parse().map_err(|_| {
        StoreError::Other(format!(
            "column {column} holds `{text}`, which this version does not know"
        ))
    })
}

fn incident_from_row(row: &AnyRow) -> Result<Incident> {
    let severity: String = row.try_get("severity")?;
    let status: String = row.try_get("status")?;
    Ok(Incident {
        id: row.try_get("id")?,
        title: row.try_get("title")?,
        summary: row.try_get("summary")?,
        severity: parse_column::<Severity>("severity", &severity)?,
        status: parse_column::<Status>("status", &status)?,
        drill: row.try_get::<i64, _>("drill")? != 0,
        merged_into: row.try_get("merged_into")?,
        created_at: from_nanos(row.try_get("created_at")?),
        updated_at: from_nanos(row.try_get("updated_at")?),
        milestones: Milestones {
            detected: opt_from_nanos(row.try_get("detected_at")?),
            triage: opt_from_nanos(row.try_get("triage_at")?),
            containment: opt_from_nanos(row.try_get("containment_at")?),
            eradication: opt_from_nanos(row.try_get("eradication_at")?),
            recovery: opt_from_nanos(row.try_get("recovery_at")?),
            post_incident_review: opt_from_nanos(row.try_get("post_incident_review_at")?),
            closed: opt_from_nanos(row.try_get("closed_at")?),
        },
    })
}

fn entry_from_row(row: &AnyRow) -> Result<TimelineEntry> {
    let seq: i64 = row.try_get("seq")?;
    let kind: String = row.try_get("kind")?;
    let data: String = row.try_get("data")?;
    let prev_hash: String = row.try_get("prev_hash")?;
    let hash: String = row.try_get("hash")?;
    // A tampered row must still load, so that `verify` can name it: unreadable parts become
    // values that cannot verify instead of errors.
    Ok(TimelineEntry {
        incident_id: row.try_get("incident_id")?,
        seq,
        kind: EntryKind::parse(&kind).unwrap_or(EntryKind::Note),
        occurred_at: from_nanos(row.try_get("occurred_at")?),
        recorded_at: from_nanos(row.try_get("recorded_at")?),
        actor: row.try_get("actor")?,
        summary: row.try_get("summary")?,
        data: serde_json::from_str(&data).unwrap_or(serde_json::Value::String(data)),
        prev_hash: Hash::from_hex(&prev_hash).unwrap_or(Hash::ZERO),
        hash: Hash::from_hex(&hash).unwrap_or(Hash::ZERO),
    })
}

fn event_from_row(row: &AnyRow) -> Result<EventRecord> {
    Ok(EventRecord {
        id: row.try_get("id")?,
        ts: from_nanos(row.try_get("ts")?),
        received_at: from_nanos(row.try_get("received_at")?),
        category: row.try_get("category")?,
        action: row.try_get("action")?,
        outcome: row.try_get("outcome")?,
        source_ip: row.try_get("source_ip")?,
        user_name: row.try_get("user_name")?,
        host_name: row.try_get("host_name")?,
        doc: row.try_get("doc")?,
    })
}

fn token_from_row(row: &AnyRow) -> Result<TokenInfo> {
    let kind: String = row.try_get("kind")?;
    let role: String = row.try_get("role")?;
    Ok(TokenInfo {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        kind: TokenKind::parse(&kind)
            .ok_or_else(|| StoreError::Other(format!("unknown token kind `{kind}`")))?,
        role: parse_column::<AccessRole>("role", &role)?,
        user_id: row.try_get("user_id")?,
        hash: row.try_get("hash")?,
        created_at: from_nanos(row.try_get("created_at")?),
        expires_at: opt_from_nanos(row.try_get("expires_at")?),
        revoked_at: opt_from_nanos(row.try_get("revoked_at")?),
    })
}

fn user_from_row(row: &AnyRow) -> Result<User> {
    let role: String = row.try_get("role")?;
    Ok(User {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        role: parse_column::<AccessRole>("role", &role)?,
        password_hash: row.try_get("password_hash")?,
        created_at: from_nanos(row.try_get("created_at")?),
        disabled: row.try_get::<i64, _>("disabled")? != 0,
    })
}

async fn insert_audit(tx: &mut Transaction<'_, Any>, record: &AuditRecord) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (at, actor, action, target, remote_addr, status, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(nanos(record.at))
    .bind(record.actor.as_str())
    .bind(record.action.as_str())
    .bind(record.target.as_str())
    .bind(record.remote_addr.as_str())
    .bind(i64::from(record.status))
    .bind(record.detail.as_str())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The SQLite fast path of `insert_events`: one transaction, one prepared statement per table.
fn sqlite_bulk_insert(
    conn: &mut rusqlite::Connection,
    events: &[EventRecord],
    audits: &[AuditRecord],
    checkpoint: i64,
) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    {
        let mut insert = tx.prepare_cached(
            "INSERT INTO events (id, ts, received_at, category, action, outcome, source_ip, user_name, host_name, doc) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT (id) DO NOTHING",
        )?;
        for event in events {
            insert.execute(rusqlite::params![
                event.id,
                nanos(event.ts),
                nanos(event.received_at),
                event.category,
                event.action,
                event.outcome,
                event.source_ip,
                event.user_name,
                event.host_name,
                event.doc,
            ])?;
        }
        let mut audit = tx.prepare_cached(
            "INSERT INTO audit_log (at, actor, action, target, remote_addr, status, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        for record in audits {
            audit.execute(rusqlite::params![
                nanos(record.at),
                record.actor,
                record.action,
                record.target,
                record.remote_addr,
                i64::from(record.status),
                record.detail,
            ])?;
        }
        tx.execute(
            "UPDATE ingest_checkpoint SET seq = ?1 WHERE id = 1 AND seq < ?1",
            [checkpoint],
        )?;
    }
    tx.commit()
}

const PERSON_COLUMNS: &str = "id, name, email, phone, time_zone, roles";
const PERSON_COLUMNS_P: &str = "p.id, p.name, p.email, p.phone, p.time_zone, p.roles";

fn person_from_row(row: &AnyRow) -> Result<Person> {
    let roles: String = row.try_get("roles")?;
    Ok(Person {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        email: row.try_get("email")?,
        phone: row.try_get("phone")?,
        time_zone: row.try_get("time_zone")?,
        roles: serde_json::from_str(&roles)
            .map_err(|error| StoreError::Other(format!("column roles: {error}")))?,
    })
}

const ALERT_COLUMNS: &str = "id, rule_id, title, severity, group_key, count, first_seen, last_seen, tags, sample, status, incident_id, assignee_id";

fn alert_from_row(row: &AnyRow) -> Result<Alert> {
    let severity: String = row.try_get("severity")?;
    let status: String = row.try_get("status")?;
    let group: String = row.try_get("group_key")?;
    let tags: String = row.try_get("tags")?;
    let sample: String = row.try_get("sample")?;
    Ok(Alert {
        id: row.try_get("id")?,
        rule_id: row.try_get("rule_id")?,
        title: row.try_get("title")?,
        severity: parse_column::<Severity>("severity", &severity)?,
        group: serde_json::from_str(&group).unwrap_or_default(),
        count: u64::try_from(row.try_get::<i64, _>("count")?).unwrap_or(0),
        first_seen: from_nanos(row.try_get("first_seen")?),
        last_seen: from_nanos(row.try_get("last_seen")?),
        tags: serde_json::from_str(&tags).unwrap_or_default(),
        status: AlertStatus::parse(&status)
            .ok_or_else(|| StoreError::Other(format!("unknown alert status `{status}`")))?,
        incident_id: row.try_get("incident_id")?,
        assignee_id: row.try_get("assignee_id")?,
        sample: serde_json::from_str(&sample).unwrap_or_default(),
    })
}

const TASK_COLUMNS: &str =
    "id, incident_id, title, owner_id, role, due_at, status, checklist, created_at, updated_at";

fn task_from_row(row: &AnyRow) -> Result<Task> {
    let status: String = row.try_get("status")?;
    let role: Option<String> = row.try_get("role")?;
    let checklist: String = row.try_get("checklist")?;
    Ok(Task {
        id: row.try_get("id")?,
        incident_id: row.try_get("incident_id")?,
        title: row.try_get("title")?,
        owner_id: row.try_get("owner_id")?,
        role: role.map(|role| parse_column::<ResponseRole>("role", &role)).transpose()?,
        due_at: opt_from_nanos(row.try_get("due_at")?),
        status: parse_column::<TaskStatus>("status", &status)?,
        checklist: serde_json::from_str(&checklist)
            .map_err(|error| StoreError::Other(format!("column checklist: {error}")))?,
        created_at: from_nanos(row.try_get("created_at")?),
        updated_at: from_nanos(row.try_get("updated_at")?),
    })
}

const EVIDENCE_COLUMNS: &str = "id, incident_id, name, description, media_type, source, sha256, size, acquired_at, acquired_by";

fn evidence_from_row(row: &AnyRow) -> Result<Evidence> {
    Ok(Evidence {
        id: row.try_get("id")?,
        incident_id: row.try_get("incident_id")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        media_type: row.try_get("media_type")?,
        source: row.try_get("source")?,
        sha256: row.try_get("sha256")?,
        size: row.try_get("size")?,
        acquired_at: from_nanos(row.try_get("acquired_at")?),
        acquired_by: row.try_get("acquired_by")?,
    })
}

const TOKEN_COLUMNS: &str =
    "id, name, kind, role, user_id, hash, created_at, expires_at, revoked_at";
const USER_COLUMNS: &str = "id, name, role, password_hash, created_at, disabled";

#[async_trait]
impl Store for SqlStore {
    fn engine(&self) -> &'static str {
        match self.engine {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgres",
        }
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn insert_events(
        &self,
        events: Vec<EventRecord>,
        audits: Vec<AuditRecord>,
        checkpoint: i64,
    ) -> Result<()> {
        let _guard = self.write_guard().await;
        if let Some(bulk) = &self.bulk {
            let bulk = bulk.clone();
            return tokio::task::spawn_blocking(move || {
                let mut conn = bulk
                    .lock()
                    .map_err(|_| StoreError::Other("the bulk connection is poisoned".into()))?;
                sqlite_bulk_insert(&mut conn, &events, &audits, checkpoint).map_err(|error| {
                    StoreError::Other(format!("bulk insert of events failed: {error}"))
                })
            })
            .await
            .map_err(|error| StoreError::Other(format!("the bulk insert task failed: {error}")))?;
        }
        let mut tx = self.pool.begin().await?;
        if !events.is_empty() {
            // One parameter, a JSON array of rows, unpacked by the database itself: binding
            // ten parameters per row costs far more than the insert on both engines.
            let mut rows = String::with_capacity(events.iter().map(|e| e.doc.len() + 160).sum());
            rows.push('[');
            for (index, event) in events.iter().enumerate() {
                if index > 0 {
                    rows.push(',');
                }
                let row = serde_json::json!([
                    event.id,
                    nanos(event.ts),
                    nanos(event.received_at),
                    event.category,
                    event.action,
                    event.outcome,
                    event.source_ip,
                    event.user_name,
                    event.host_name,
                    event.doc,
                ]);
                rows.push_str(&row.to_string());
            }
            rows.push(']');
            let sql = match self.engine {
                Engine::Sqlite => {
                    "INSERT INTO events (id, ts, received_at, category, action, outcome, source_ip, user_name, host_name, doc) \
                     SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6, value->>7, value->>8, value->>9 \
                     FROM json_each($1) WHERE true ON CONFLICT (id) DO NOTHING"
                }
                Engine::Postgres => {
                    "INSERT INTO events (id, ts, received_at, category, action, outcome, source_ip, user_name, host_name, doc) \
                     SELECT (r->>0)::bigint, (r->>1)::bigint, (r->>2)::bigint, r->>3, r->>4, r->>5, r->>6, r->>7, r->>8, r->>9 \
                     FROM jsonb_array_elements($1::jsonb) AS r ON CONFLICT (id) DO NOTHING"
                }
            };
            sqlx::query(sql).bind(rows).execute(&mut *tx).await?;
        }
        for record in &audits {
            insert_audit(&mut tx, record).await?;
        }
        sqlx::query("UPDATE ingest_checkpoint SET seq = $1 WHERE id = 1 AND seq < $1")
            .bind(checkpoint)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn ingest_checkpoint(&self) -> Result<i64> {
        let row = sqlx::query("SELECT seq FROM ingest_checkpoint WHERE id = 1")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get(0)?)
    }

    async fn list_events(&self, after_id: i64, limit: u32) -> Result<Vec<EventRecord>> {
        let sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE id > $1 ORDER BY id LIMIT $2");
        let rows =
            sqlx::query(&sql).bind(after_id).bind(i64::from(limit)).fetch_all(&self.pool).await?;
        rows.iter().map(event_from_row).collect()
    }

    async fn count_events(&self) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) FROM events").fetch_one(&self.pool).await?;
        Ok(row.try_get(0)?)
    }

    async fn search_events(&self, query: &EventQuery) -> Result<Vec<EventRecord>> {
        let (sql, args) = search_sql(query);
        let rows = bind_args(sqlx::query(&sql), &args).fetch_all(&self.pool).await?;
        rows.iter().map(event_from_row).collect()
    }

    async fn explain_search(&self, query: &EventQuery) -> Result<Vec<String>> {
        let (sql, args) = search_sql(query);
        match self.engine {
            Engine::Sqlite => {
                let explain = format!("EXPLAIN QUERY PLAN {sql}");
                let rows = bind_args(sqlx::query(&explain), &args).fetch_all(&self.pool).await?;
                rows.iter().map(|row| Ok(row.try_get::<String, _>("detail")?)).collect()
            }
            Engine::Postgres => {
                let explain = format!("EXPLAIN {sql}");
                let rows = bind_args(sqlx::query(&explain), &args).fetch_all(&self.pool).await?;
                rows.iter().map(|row| Ok(row.try_get::<String, _>(0)?)).collect()
            }
        }
    }

    async fn count_users(&self) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) FROM users").fetch_one(&self.pool).await?;
        Ok(row.try_get(0)?)
    }

    async fn create_user(
        &self,
        name: &str,
        role: AccessRole,
        password_hash: Option<&str>,
        at: Timestamp,
    ) -> Result<User> {
        let _guard = self.write_guard().await;
        let sql = format!(
            "INSERT INTO users (name, role, password_hash, created_at, disabled) VALUES ($1, $2, $3, $4, 0) RETURNING {USER_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(name)
            .bind(role.as_str())
            .bind(password_hash)
            .bind(nanos(at))
            .fetch_one(&self.pool)
            .await
            .map_err(|error| match StoreError::from(error) {
                StoreError::Conflict(_) => {
                    StoreError::Conflict(format!("a user named `{name}` already exists"))
                }
                other => other,
            })?;
        user_from_row(&row)
    }

    async fn user_by_name(&self, name: &str) -> Result<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE name = $1");
        let row = sqlx::query(&sql).bind(name).fetch_optional(&self.pool).await?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn user_by_id(&self, id: i64) -> Result<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        let row = sqlx::query(&sql).bind(id).fetch_optional(&self.pool).await?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn set_password(&self, user_id: i64, password_hash: &str) -> Result<()> {
        let _guard = self.write_guard().await;
        let done = sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(password_hash)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("user {user_id}")));
        }
        Ok(())
    }

    async fn create_token(&self, token: NewToken, at: Timestamp) -> Result<TokenInfo> {
        let _guard = self.write_guard().await;
        let sql = format!(
            "INSERT INTO tokens (name, kind, role, user_id, hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {TOKEN_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(token.name.as_str())
            .bind(token.kind.as_str())
            .bind(token.role.as_str())
            .bind(token.user_id)
            .bind(token.hash.as_str())
            .bind(nanos(at))
            .bind(token.expires_at.map(nanos))
            .fetch_one(&self.pool)
            .await?;
        token_from_row(&row)
    }

    async fn token_by_hash(&self, hash: &str) -> Result<Option<TokenInfo>> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE hash = $1");
        let row = sqlx::query(&sql).bind(hash).fetch_optional(&self.pool).await?;
        row.as_ref().map(token_from_row).transpose()
    }

    async fn list_tokens(&self) -> Result<Vec<TokenInfo>> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM tokens ORDER BY id");
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        rows.iter().map(token_from_row).collect()
    }

    async fn revoke_token(&self, id: i64, at: Timestamp) -> Result<()> {
        let _guard = self.write_guard().await;
        let done =
            sqlx::query("UPDATE tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(nanos(at))
                .bind(id)
                .execute(&self.pool)
                .await?;
        if done.rows_affected() == 1 {
            return Ok(());
        }
        let exists = sqlx::query("SELECT id FROM tokens WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        match exists {
            Some(_) => Err(StoreError::Conflict(format!("token {id} is already revoked"))),
            None => Err(StoreError::NotFound(format!("token {id}"))),
        }
    }

    async fn audit(&self, record: &AuditRecord) -> Result<()> {
        let _guard = self.write_guard().await;
        let mut tx = self.pool.begin().await?;
        insert_audit(&mut tx, record).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn list_audit(&self, limit: u32) -> Result<Vec<AuditRecord>> {
        let rows = sqlx::query(
            "SELECT at, actor, action, target, remote_addr, status, detail FROM audit_log ORDER BY id DESC LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(AuditRecord {
                    at: from_nanos(row.try_get("at")?),
                    actor: row.try_get("actor")?,
                    action: row.try_get("action")?,
                    target: row.try_get("target")?,
                    remote_addr: row.try_get("remote_addr")?,
                    status: u16::try_from(row.try_get::<i64, _>("status")?).unwrap_or(0),
                    detail: row.try_get("detail")?,
                })
            })
            .collect()
    }

    async fn create_incident(
        &self,
        new: &NewIncident,
        actor: &str,
        at: Timestamp,
    ) -> Result<Incident> {
        let _guard = self.write_guard().await;
        let mut tx = self.pool.begin().await?;
        let incident = self.insert_incident_in(&mut tx, new, actor, at).await?;
        tx.commit().await?;
        Ok(incident)
    }

    async fn get_incident(&self, id: i64) -> Result<Incident> {
        let sql = format!("SELECT {INCIDENT_COLUMNS} FROM incidents WHERE id = $1");
        self.by_id(&sql, id, "incident", incident_from_row).await
    }

    async fn list_incidents(&self, filter: &IncidentFilter) -> Result<Vec<Incident>> {
        let mut list =
            Listing::new(format!("SELECT {INCIDENT_COLUMNS} FROM incidents WHERE 1 = 1"));
        list.and("AND status = ?", filter.status.map(|s| Arg::Text(s.as_str().into())));
        list.and("AND severity = ?", filter.severity.map(|s| Arg::Text(s.as_str().into())));
        list.and("AND created_at >= ?", filter.from.map(|at| Arg::Int(nanos(at))));
        list.and("AND created_at < ?", filter.to.map(|at| Arg::Int(nanos(at))));
        let limit = i64::from(filter.limit.unwrap_or(100).min(1000));
        let rows = list.fetch(&self.pool, "id DESC", limit).await?;
        rows.iter().map(incident_from_row).collect()
    }

    async fn change_incident(
        &self,
        id: i64,
        change: &IncidentChange,
        actor: &str,
        at: Timestamp,
    ) -> Result<(Incident, TimelineEntry)> {
        let _guard = self.write_guard().await;
        let mut tx = self.pool.begin().await?;
        let mut incident = self.incident_in(&mut tx, id).await?;
        let entry = match change {
            IncidentChange::Status { to, reason } => {
                let from = incident.status;
                incident
                    .transition(*to, at)
                    .map_err(|error| StoreError::Conflict(error.to_string()))?;
                NewEntry {
                    kind: EntryKind::StatusChanged,
                    occurred_at: at,
                    actor: actor.to_owned(),
                    summary: format!("Status changed from {from} to {to}"),
                    data: serde_json::json!({"from": from, "to": to, "reason": reason}),
                }
            }
            IncidentChange::Severity { to, reason } => {
                let from = incident.severity;
                if from == *to {
                    return Err(StoreError::Conflict(format!("the incident is already {to}")));
                }
                incident.severity = *to;
                incident.updated_at = at;
                NewEntry {
                    kind: EntryKind::SeverityChanged,
                    occurred_at: at,
                    actor: actor.to_owned(),
                    summary: format!("Severity changed from {from} to {to}"),
                    data: serde_json::json!({"from": from, "to": to, "reason": reason}),
                }
            }
        };
        let milestone = |status| incident.milestones.get(status).map(nanos);
        sqlx::query(
            "UPDATE incidents SET severity = $1, status = $2, updated_at = $3, triage_at = $4, containment_at = $5, \
             eradication_at = $6, recovery_at = $7, post_incident_review_at = $8, closed_at = $9 WHERE id = $10",
        )
        .bind(incident.severity.as_str())
        .bind(incident.status.as_str())
        .bind(nanos(incident.updated_at))
        .bind(milestone(Status::Triage))
        .bind(milestone(Status::Containment))
        .bind(milestone(Status::Eradication))
        .bind(milestone(Status::Recovery))
        .bind(milestone(Status::PostIncidentReview))
        .bind(milestone(Status::Closed))
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let sealed = self.append_in(&mut tx, id, entry, at).await?;
        tx.commit().await?;
        Ok((incident, sealed))
    }

    async fn append_entry(
        &self,
        incident_id: i64,
        entry: NewEntry,
        recorded_at: Timestamp,
    ) -> Result<TimelineEntry> {
        let _guard = self.write_guard().await;
        let mut tx = self.pool.begin().await?;
        self.incident_in(&mut tx, incident_id).await?;
        let sealed = self.append_in(&mut tx, incident_id, entry, recorded_at).await?;
        tx.commit().await?;
        Ok(sealed)
    }

    async fn timeline(&self, incident_id: i64) -> Result<Vec<TimelineEntry>> {
        self.get_incident(incident_id).await?;
        let rows = sqlx::query(
            "SELECT incident_id, seq, kind, occurred_at, recorded_at, actor, summary, data, prev_hash, hash \
             FROM timeline_entries WHERE incident_id = $1 ORDER BY seq",
        )
        .bind(incident_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(entry_from_row).collect()
    }

    async fn record_document(
        &self,
        incident_id: i64,
        kind: DocumentKind,
        doc: &str,
        entry: NewEntry,
        at: Timestamp,
    ) -> Result<(i64, TimelineEntry)> {
        let _guard = self.write_guard().await;
        let mut tx = self.pool.begin().await?;
        self.incident_in(&mut tx, incident_id).await?;
        let row = sqlx::query(
            "SELECT COALESCE(MAX(version), 0) FROM incident_documents WHERE incident_id = $1 AND kind = $2",
        )
        .bind(incident_id)
        .bind(kind.as_str())
        .fetch_one(&mut *tx)
        .await?;
        let version: i64 = row.try_get::<i64, _>(0)? + 1;
        sqlx::query(
            "INSERT INTO incident_documents (incident_id, kind, version, doc, recorded_at, actor) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(incident_id)
        .bind(kind.as_str())
        .bind(version)
        .bind(doc)
        .bind(nanos(at))
        .bind(entry.actor.as_str())
        .execute(&mut *tx)
        .await?;
        let sealed = self.append_in(&mut tx, incident_id, entry, at).await?;
        tx.commit().await?;
        Ok((version, sealed))
    }

    async fn latest_document(
        &self,
        incident_id: i64,
        kind: DocumentKind,
    ) -> Result<Option<DocumentVersion>> {
        self.get_incident(incident_id).await?;
        let row = sqlx::query(
            "SELECT version, doc, recorded_at, actor FROM incident_documents WHERE incident_id = $1 AND kind = $2 \
             ORDER BY version DESC LIMIT 1",
        )
        .bind(incident_id)
        .bind(kind.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(DocumentVersion {
                version: row.try_get("version")?,
                doc: row.try_get("doc")?,
                recorded_at: from_nanos(row.try_get("recorded_at")?),
                actor: row.try_get("actor")?,
            })
        })
        .transpose()
    }

    async fn record_obligation(
        &self,
        incident_id: i64,
        record: &ObligationRecord,
        entry: NewEntry,
    ) -> Result<TimelineEntry> {
        let _guard = self.write_guard().await;
        let mut tx = self.pool.begin().await?;
        self.incident_in(&mut tx, incident_id).await?;
        sqlx::query(
            "INSERT INTO obligation_status (incident_id, rule_id, status, detail, at, actor) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (incident_id, rule_id) DO UPDATE SET status = excluded.status, detail = excluded.detail, at = excluded.at, actor = excluded.actor",
        )
        .bind(incident_id)
        .bind(record.rule_id.as_str())
        .bind(record.status.as_str())
        .bind(record.detail.as_str())
        .bind(nanos(record.at))
        .bind(record.actor.as_str())
        .execute(&mut *tx)
        .await?;
        let sealed = self.append_in(&mut tx, incident_id, entry, record.at).await?;
        tx.commit().await?;
        Ok(sealed)
    }

    async fn obligation_records(&self, incident_id: i64) -> Result<Vec<ObligationRecord>> {
        self.get_incident(incident_id).await?;
        let rows = sqlx::query(
            "SELECT rule_id, status, detail, at, actor FROM obligation_status WHERE incident_id = $1 ORDER BY rule_id",
        )
        .bind(incident_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ObligationRecord {
                    rule_id: row.try_get("rule_id")?,
                    status: row.try_get("status")?,
                    detail: row.try_get("detail")?,
                    at: from_nanos(row.try_get("at")?),
                    actor: row.try_get("actor")?,
                })
            })
            .collect()
    }

    async fn add_evidence(
        &self,
        evidence: &Evidence,
        custody: NewEntry,
    ) -> Result<(Evidence, TimelineEntry)> {
        let _guard = self.write_guard().await;
        let mut tx = self.pool.begin().await?;
        self.incident_in(&mut tx, evidence.incident_id).await?;
        let sql = format!(
            "INSERT INTO evidence (incident_id, name, description, media_type, source, sha256, size, acquired_at, acquired_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {EVIDENCE_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(evidence.incident_id)
            .bind(evidence.name.as_str())
            .bind(evidence.description.as_str())
            .bind(evidence.media_type.as_str())
            .bind(evidence.source.as_str())
            .bind(evidence.sha256.as_str())
            .bind(evidence.size)
            .bind(nanos(evidence.acquired_at))
            .bind(evidence.acquired_by.as_str())
            .fetch_one(&mut *tx)
            .await?;
        let stored = evidence_from_row(&row)?;
        let mut custody = custody;
        if let serde_json::Value::Object(map) = &mut custody.data {
            map.insert("evidence_id".into(), serde_json::Value::from(stored.id));
        }
        let sealed =
            self.append_in(&mut tx, evidence.incident_id, custody, evidence.acquired_at).await?;
        tx.commit().await?;
        Ok((stored, sealed))
    }

    async fn list_evidence(&self, incident_id: i64) -> Result<Vec<Evidence>> {
        self.get_incident(incident_id).await?;
        let sql =
            format!("SELECT {EVIDENCE_COLUMNS} FROM evidence WHERE incident_id = $1 ORDER BY id");
        let rows = sqlx::query(&sql).bind(incident_id).fetch_all(&self.pool).await?;
        rows.iter().map(evidence_from_row).collect()
    }

    async fn get_evidence(&self, incident_id: i64, id: i64) -> Result<Evidence> {
        let sql =
            format!("SELECT {EVIDENCE_COLUMNS} FROM evidence WHERE incident_id = $1 AND id = $2");
        match sqlx::query(&sql).bind(incident_id).bind(id).fetch_optional(&self.pool).await? {
            Some(row) => evidence_from_row(&row),
            None => Err(StoreError::NotFound(format!("evidence {id} of incident {incident_id}"))),
        }
    }

    async fn create_person(&self, person: &Person) -> Result<Person> {
        let _guard = self.write_guard().await;
        let sql = format!(
            "INSERT INTO people (name, email, phone, time_zone, roles) VALUES ($1, $2, $3, $4, $5) RETURNING {PERSON_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(person.name.as_str())
            .bind(person.email.as_str())
            .bind(person.phone.as_deref())
            .bind(person.time_zone.as_str())
            .bind(serde_json::to_string(&person.roles).unwrap_or_else(|_| "[]".into()))
            .fetch_one(&self.pool)
            .await
            .map_err(|error| match StoreError::from(error) {
                StoreError::Conflict(_) => StoreError::Conflict(format!(
                    "someone with the email `{}` is already on the roster",
                    person.email
                )),
                other => other,
            })?;
        person_from_row(&row)
    }

    async fn list_people(&self) -> Result<Vec<Person>> {
        let sql = format!("SELECT {PERSON_COLUMNS} FROM people ORDER BY name, id");
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        rows.iter().map(person_from_row).collect()
    }

    async fn get_person(&self, id: i64) -> Result<Person> {
        let sql = format!("SELECT {PERSON_COLUMNS} FROM people WHERE id = $1");
        self.by_id(&sql, id, "person", person_from_row).await
    }

    async fn set_on_call(&self, role: ResponseRole, person_id: i64, at: Timestamp) -> Result<()> {
        self.get_person(person_id).await?;
        let _guard = self.write_guard().await;
        sqlx::query(
            "INSERT INTO on_call (role, person_id, since) VALUES ($1, $2, $3) \
             ON CONFLICT (role) DO UPDATE SET person_id = excluded.person_id, since = excluded.since",
        )
        .bind(role.as_str())
        .bind(person_id)
        .bind(nanos(at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn on_call(&self) -> Result<Vec<(ResponseRole, Person)>> {
        let sql = format!(
            "SELECT o.role AS on_call_role, {} FROM on_call o JOIN people p ON p.id = o.person_id ORDER BY o.role",
            PERSON_COLUMNS_P
        );
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                let role: String = row.try_get("on_call_role")?;
                Ok((parse_column::<ResponseRole>("role", &role)?, person_from_row(row)?))
            })
            .collect()
    }

    async fn assign_role(
        &self,
        incident_id: i64,
        role: ResponseRole,
        person_id: i64,
        entry: NewEntry,
    ) -> Result<TimelineEntry> {
        self.get_person(person_id).await?;
        let _guard = self.write_guard().await;
        let mut tx = self.pool.begin().await?;
        self.incident_in(&mut tx, incident_id).await?;
        let at = entry.occurred_at;
        sqlx::query(
            "INSERT INTO incident_roles (incident_id, role, person_id, assigned_at, assigned_by) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (incident_id, role) DO UPDATE SET person_id = excluded.person_id, assigned_at = excluded.assigned_at, assigned_by = excluded.assigned_by",
        )
        .bind(incident_id)
        .bind(role.as_str())
        .bind(person_id)
        .bind(nanos(at))
        .bind(entry.actor.as_str())
        .execute(&mut *tx)
        .await?;
        let sealed = self.append_in(&mut tx, incident_id, entry, at).await?;
        tx.commit().await?;
        Ok(sealed)
    }

    async fn incident_roles(&self, incident_id: i64) -> Result<Vec<RoleAssignment>> {
        self.get_incident(incident_id).await?;
        let sql = format!(
            "SELECT r.role AS assigned_role, r.assigned_at, r.assigned_by, {} FROM incident_roles r \
             JOIN people p ON p.id = r.person_id WHERE r.incident_id = $1 ORDER BY r.role",
            PERSON_COLUMNS_P
        );
        let rows = sqlx::query(&sql).bind(incident_id).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                let role: String = row.try_get("assigned_role")?;
                Ok(RoleAssignment {
                    role: parse_column::<ResponseRole>("role", &role)?,
                    person: person_from_row(row)?,
                    assigned_at: from_nanos(row.try_get("assigned_at")?),
                    assigned_by: row.try_get("assigned_by")?,
                })
            })
            .collect()
    }

    async fn create_task(&self, task: &Task, entry: NewEntry) -> Result<Task> {
        let _guard = self.write_guard().await;
        let mut tx = self.pool.begin().await?;
        self.incident_in(&mut tx, task.incident_id).await?;
        let sql = format!(
            "INSERT INTO tasks (incident_id, title, owner_id, role, due_at, status, checklist, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING {TASK_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(task.incident_id)
            .bind(task.title.as_str())
            .bind(task.owner_id)
            .bind(task.role.map(ResponseRole::as_str))
            .bind(task.due_at.map(nanos))
            .bind(task.status.as_str())
            .bind(serde_json::to_string(&task.checklist).unwrap_or_else(|_| "[]".into()))
            .bind(nanos(task.created_at))
            .fetch_one(&mut *tx)
            .await?;
        let stored = task_from_row(&row)?;
        let mut entry = entry;
        if let serde_json::Value::Object(map) = &mut entry.data {
            map.insert("task_id".into(), serde_json::Value::from(stored.id));
        }
        self.append_in(&mut tx, task.incident_id, entry, task.created_at).await?;
        tx.commit().await?;
        Ok(stored)
    }

    async fn save_task(&self, task: &Task, entry: NewEntry) -> Result<Task> {
        let _guard = self.write_guard().await;
        let mut tx = self.pool.begin().await?;
        self.incident_in(&mut tx, task.incident_id).await?;
        let sql = format!(
            "UPDATE tasks SET title = $1, owner_id = $2, role = $3, due_at = $4, status = $5, checklist = $6, updated_at = $7 \
             WHERE id = $8 AND incident_id = $9 RETURNING {TASK_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(task.title.as_str())
            .bind(task.owner_id)
            .bind(task.role.map(ResponseRole::as_str))
            .bind(task.due_at.map(nanos))
            .bind(task.status.as_str())
            .bind(serde_json::to_string(&task.checklist).unwrap_or_else(|_| "[]".into()))
            .bind(nanos(task.updated_at))
            .bind(task.id)
            .bind(task.incident_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| {
                StoreError::NotFound(format!("task {} of incident {}", task.id, task.incident_id))
            })?;
        let stored = task_from_row(&row)?;
        self.append_in(&mut tx, task.incident_id, entry, task.updated_at).await?;
        tx.commit().await?;
        Ok(stored)
    }

    async fn get_task(&self, incident_id: i64, id: i64) -> Result<Task> {
        let sql = format!("SELECT {TASK_COLUMNS} FROM tasks WHERE incident_id = $1 AND id = $2");
        match sqlx::query(&sql).bind(incident_id).bind(id).fetch_optional(&self.pool).await? {
            Some(row) => task_from_row(&row),
            None => Err(StoreError::NotFound(format!("task {id} of incident {incident_id}"))),
        }
    }

    async fn list_tasks(&self, incident_id: i64) -> Result<Vec<Task>> {
        self.get_incident(incident_id).await?;
        let sql = format!("SELECT {TASK_COLUMNS} FROM tasks WHERE incident_id = $1 ORDER BY id");
        let rows = sqlx::query(&sql).bind(incident_id).fetch_all(&self.pool).await?;
        rows.iter().map(task_from_row).collect()
    }

    async fn overdue_tasks(&self, now: Timestamp) -> Result<Vec<Task>> {
        let sql = format!(
            "SELECT {TASK_COLUMNS} FROM tasks WHERE status IN ('open', 'in_progress', 'blocked') AND due_at < $1 ORDER BY due_at, id"
        );
        let rows = sqlx::query(&sql).bind(nanos(now)).fetch_all(&self.pool).await?;
        rows.iter().map(task_from_row).collect()
    }

    async fn record_alerts(
        &self,
        alerts: &[NewAlert],
        suppression: jiff::SignedDuration,
        at: Timestamp,
    ) -> Result<Vec<(Alert, bool)>> {
        let _guard = self.write_guard().await;
        let mut tx = self.pool.begin().await?;
        let mut recorded = Vec::with_capacity(alerts.len());
        for alert in alerts {
            recorded.push(self.record_alert_in(&mut tx, alert, suppression, at).await?);
        }
        tx.commit().await?;
        Ok(recorded)
    }

    async fn get_alert(&self, id: i64) -> Result<Alert> {
        let sql = format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE id = $1");
        self.by_id(&sql, id, "alert", alert_from_row).await
    }

    async fn list_alerts(&self, filter: &AlertFilter) -> Result<Vec<Alert>> {
        self.list_alerts_sql(filter).await
    }

    async fn open_incident_for(
        &self,
        rule_id: &str,
        group_key: Option<&str>,
    ) -> Result<Option<i64>> {
        let select = "SELECT a.incident_id FROM alerts a JOIN incidents i ON i.id = a.incident_id \
             WHERE a.rule_id = $1 AND i.status <> 'closed'";
        let row = match group_key {
            Some(key) => {
                let sql = format!("{select} AND a.group_key = $2 ORDER BY a.id DESC LIMIT 1");
                sqlx::query(&sql).bind(rule_id).bind(key).fetch_optional(&self.pool).await?
            }
            None => {
                let sql = format!("{select} ORDER BY a.id DESC LIMIT 1");
                sqlx::query(&sql).bind(rule_id).fetch_optional(&self.pool).await?
            }
        };
        Ok(row.map(|row| row.try_get::<i64, _>(0)).transpose()?)
    }

    async fn link_alerts(&self, links: Vec<(i64, i64, NewEntry)>) -> Result<()> {
        let _guard = self.write_guard().await;
        let mut tx = self.pool.begin().await?;
        for (alert_id, incident_id, entry) in links {
            self.incident_in(&mut tx, incident_id).await?;
            let at = entry.occurred_at;
            let done =
                sqlx::query("UPDATE alerts SET incident_id = $1, updated_at = $2 WHERE id = $3")
                    .bind(incident_id)
                    .bind(nanos(at))
                    .bind(alert_id)
                    .execute(&mut *tx)
                    .await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound(format!("alert {alert_id}")));
            }
            self.append_in(&mut tx, incident_id, entry, at).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn set_alert_status(&self, id: i64, status: AlertStatus, at: Timestamp) -> Result<Alert> {
        let _guard = self.write_guard().await;
        let sql = format!(
            "UPDATE alerts SET status = $1, updated_at = $2 WHERE id = $3 RETURNING {ALERT_COLUMNS}"
        );
        match sqlx::query(&sql)
            .bind(status.as_str())
            .bind(nanos(at))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
        {
            Some(row) => alert_from_row(&row),
            None => Err(StoreError::NotFound(format!("alert {id}"))),
        }
    }

    async fn assign_alert(
        &self,
        id: i64,
        person_id: Option<i64>,
        actor: &str,
        at: Timestamp,
    ) -> Result<Alert> {
        self.assign_alert_sql(id, person_id, actor, at).await
    }

    async fn mark_false_positive(
        &self,
        id: i64,
        reason: &str,
        actor: &str,
        at: Timestamp,
    ) -> Result<(Alert, Vec<Suppression>)> {
        self.mark_false_positive_sql(id, reason, actor, at).await
    }

    async fn list_suppressions(
        &self,
        status: Option<SuppressionStatus>,
    ) -> Result<Vec<Suppression>> {
        self.list_suppressions_sql(status).await
    }

    async fn decide_suppression(
        &self,
        id: i64,
        accept: bool,
        reason: &str,
        actor: &str,
        at: Timestamp,
    ) -> Result<Suppression> {
        self.decide_suppression_sql(id, accept, reason, actor, at).await
    }

    async fn move_alerts(
        &self,
        alert_ids: &[i64],
        incident_id: i64,
        reason: &str,
        actor: &str,
        at: Timestamp,
    ) -> Result<Vec<Alert>> {
        self.move_alerts_sql(alert_ids, incident_id, reason, actor, at).await
    }

    async fn merge_incidents(
        &self,
        from: i64,
        into: i64,
        reason: &str,
        actor: &str,
        at: Timestamp,
    ) -> Result<Incident> {
        self.merge_incidents_sql(from, into, reason, actor, at).await
    }

    async fn split_incident(
        &self,
        from: i64,
        alert_ids: &[i64],
        new: &NewIncident,
        reason: &str,
        actor: &str,
        at: Timestamp,
    ) -> Result<Incident> {
        self.split_incident_sql(from, alert_ids, new, reason, actor, at).await
    }

    async fn incident_stats(&self) -> Result<IncidentStats> {
        self.incident_stats_sql().await
    }

    async fn delete_events_before(&self, before: Timestamp, limit: u32) -> Result<u64> {
        self.delete_events_before_sql(before, limit).await
    }

    async fn create_decision(
        &self,
        decision: &Decision,
        entry: Option<NewEntry>,
    ) -> Result<Decision> {
        self.create_decision_sql(decision, entry).await
    }

    async fn count_decisions(&self, kind: DecisionKind, target: &str) -> Result<u32> {
        self.count_decisions_sql(kind, target).await
    }

    async fn get_decision(&self, id: i64) -> Result<Decision> {
        self.get_decision_sql(id).await
    }

    async fn list_decisions(&self, filter: &DecisionFilter) -> Result<Vec<Decision>> {
        self.list_decisions_sql(filter).await
    }

    async fn change_decision(
        &self,
        id: i64,
        change: DecisionChange,
        reason: &str,
        actor: &str,
        at: Timestamp,
    ) -> Result<Decision> {
        self.change_decision_sql(id, change, reason, actor, at).await
    }

    async fn decisions_since(
        &self,
        since: Timestamp,
        now: Timestamp,
    ) -> Result<(Vec<Decision>, Vec<Decision>)> {
        self.decisions_since_sql(since, now).await
    }

    async fn create_bouncer(&self, name: &str, key_hash: &str, at: Timestamp) -> Result<Bouncer> {
        self.create_bouncer_sql(name, key_hash, at).await
    }

    async fn bouncer_by_hash(&self, key_hash: &str) -> Result<Option<Bouncer>> {
        self.bouncer_by_hash_sql(key_hash).await
    }

    async fn list_bouncers(&self) -> Result<Vec<Bouncer>> {
        self.list_bouncers_sql().await
    }

    async fn revoke_bouncer(&self, id: i64, at: Timestamp) -> Result<()> {
        self.revoke_bouncer_sql(id, at).await
    }

    async fn bouncer_pulled(&self, id: i64, at: Timestamp) -> Result<Option<Timestamp>> {
        self.bouncer_pulled_sql(id, at).await
    }

    async fn schedule_job(&self, job: &NewJob, at: Timestamp) -> Result<Job> {
        self.schedule_job_sql(job, at).await
    }

    async fn claim_due_jobs(&self, now: Timestamp, limit: u32) -> Result<Vec<Job>> {
        self.claim_due_jobs_sql(now, limit).await
    }

    async fn finish_job(&self, id: i64, error: Option<&str>, at: Timestamp) -> Result<()> {
        self.finish_job_sql(id, error, at).await
    }

    async fn cancel_job(&self, dedupe_key: &str, at: Timestamp) -> Result<bool> {
        self.cancel_job_sql(dedupe_key, at).await
    }

    async fn requeue_interrupted_jobs(&self) -> Result<u64> {
        self.requeue_interrupted_jobs_sql().await
    }

    async fn list_jobs(&self, state: Option<JobState>, limit: u32) -> Result<Vec<Job>> {
        self.list_jobs_sql(state, limit).await
    }

    async fn create_notification(
        &self,
        new: &crate::NewNotification,
        at: Timestamp,
    ) -> Result<crate::Notification> {
        self.create_notification_sql(new, at).await
    }

    async fn finish_notifications(
        &self,
        incident_id: i64,
        deliveries: &[crate::Delivery],
        entry: NewEntry,
        at: Timestamp,
    ) -> Result<Vec<crate::Notification>> {
        self.finish_notifications_sql(incident_id, deliveries, entry, at).await
    }

    async fn get_notification(&self, id: i64) -> Result<crate::Notification> {
        self.get_notification_sql(id).await
    }

    async fn list_notifications(
        &self,
        filter: &crate::NotificationFilter,
    ) -> Result<Vec<crate::Notification>> {
        self.list_notifications_sql(filter).await
    }

    async fn notification_attempts(&self, id: i64) -> Result<Vec<crate::DeliveryAttempt>> {
        self.notification_attempts_sql(id).await
    }

    async fn acknowledge_notification(
        &self,
        id: i64,
        actor: &str,
        at: Timestamp,
        entry: NewEntry,
    ) -> Result<crate::Notification> {
        self.acknowledge_notification_sql(id, actor, at, entry).await
    }

    async fn create_escalation(
        &self,
        new: &crate::NewEscalation,
        at: Timestamp,
    ) -> Result<crate::Escalation> {
        self.create_escalation_sql(new, at).await
    }

    async fn get_escalation(&self, id: i64) -> Result<crate::Escalation> {
        self.get_escalation_sql(id).await
    }

    async fn end_escalation(
        &self,
        id: i64,
        reason: &str,
        entry: NewEntry,
        at: Timestamp,
    ) -> Result<crate::Escalation> {
        self.end_escalation_sql(id, reason, entry, at).await
    }
}
