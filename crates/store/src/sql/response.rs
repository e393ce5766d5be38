//! Response in SQL: containment decisions, bouncers, and the scheduler's durable jobs.

use firebreak_core::{Decision, DecisionKind, EntryKind, NewEntry, Term};
use jiff::Timestamp;
use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Arg, Listing, SqlStore, from_nanos, nanos, opt_from_nanos};
use crate::{Bouncer, DecisionChange, DecisionFilter, Job, JobState, NewJob, Result, StoreError};

const DECISION_COLUMNS: &str = "id, kind, target, reason, incident_id, decided_by, term, offence, \
    created_at, expires_at, rolled_back_at, rolled_back_by";

fn decision_from_row(row: &AnyRow) -> Result<Decision> {
    let kind: String = row.try_get("kind")?;
    let term: String = row.try_get("term")?;
    Ok(Decision {
        id: row.try_get("id")?,
        kind: DecisionKind::parse(&kind)
            .ok_or_else(|| StoreError::Other(format!("unknown decision kind `{kind}`")))?,
        target: row.try_get("target")?,
        reason: row.try_get("reason")?,
        incident_id: row.try_get("incident_id")?,
        decided_by: row.try_get("decided_by")?,
        term: Term::parse(&term)
            .ok_or_else(|| StoreError::Other(format!("unknown decision term `{term}`")))?,
        offence: u32::try_from(row.try_get::<i64, _>("offence")?).unwrap_or(u32::MAX),
        created_at: from_nanos(row.try_get("created_at")?),
        expires_at: from_nanos(row.try_get("expires_at")?),
        rolled_back_at: opt_from_nanos(row.try_get("rolled_back_at")?),
        rolled_back_by: row.try_get("rolled_back_by")?,
    })
}

const BOUNCER_COLUMNS: &str = "id, name, key_hash, created_at, last_pull, revoked_at";

fn bouncer_from_row(row: &AnyRow) -> Result<Bouncer> {
    Ok(Bouncer {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        key_hash: row.try_get("key_hash")?,
        created_at: from_nanos(row.try_get("created_at")?),
        last_pull: opt_from_nanos(row.try_get("last_pull")?),
        revoked_at: opt_from_nanos(row.try_get("revoked_at")?),
    })
}

const JOB_COLUMNS: &str = "id, kind, due_at, payload, state, dedupe_key, attempts, last_error";

fn job_from_row(row: &AnyRow) -> Result<Job> {
    let state: String = row.try_get("state")?;
    let payload: String = row.try_get("payload")?;
    Ok(Job {
        id: row.try_get("id")?,
        kind: row.try_get("kind")?,
        due_at: from_nanos(row.try_get("due_at")?),
        payload: serde_json::from_str(&payload)
            .map_err(|error| StoreError::Other(format!("job payload: {error}")))?,
        state: JobState::parse(&state)
            .ok_or_else(|| StoreError::Other(format!("unknown job state `{state}`")))?,
        dedupe_key: row.try_get("dedupe_key")?,
        attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
        last_error: row.try_get("last_error")?,
    })
}

impl SqlStore {
    pub(super) async fn create_decision_sql(
        &self,
        decision: &Decision,
        entry: Option<NewEntry>,
    ) -> Result<Decision> {
        if decision.target.trim().is_empty() {
            return Err(StoreError::Invalid("a decision needs a target".into()));
        }
        if decision.expires_at <= decision.created_at {
            return Err(StoreError::Invalid("a decision must expire after it is taken".into()));
        }
        let _guard = self.write_guard().await;
        let mut tx = self.pool.begin().await?;
        if let Some(incident_id) = decision.incident_id {
            self.incident_in(&mut tx, incident_id).await?;
        }
        let sql = format!(
            "INSERT INTO decisions (kind, target, reason, incident_id, decided_by, term, offence, created_at, updated_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9) RETURNING {DECISION_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(decision.kind.as_str())
            .bind(decision.target.as_str())
            .bind(decision.reason.as_str())
            .bind(decision.incident_id)
            .bind(decision.decided_by.as_str())
            .bind(decision.term.as_str())
            .bind(i64::from(decision.offence))
            .bind(nanos(decision.created_at))
            .bind(nanos(decision.expires_at))
            .fetch_one(&mut *tx)
            .await?;
        let stored = decision_from_row(&row)?;
        if let (Some(incident_id), Some(mut entry)) = (stored.incident_id, entry) {
            if let serde_json::Value::Object(data) = &mut entry.data {
                data.insert("decision_id".into(), json!(stored.id));
            }
            self.append_in(&mut tx, incident_id, entry, stored.created_at).await?;
        }
        tx.commit().await?;
        Ok(stored)
    }

    pub(super) async fn count_decisions_sql(
        &self,
        kind: DecisionKind,
        target: &str,
    ) -> Result<u32> {
        let row = sqlx::query("SELECT COUNT(*) FROM decisions WHERE kind = $1 AND target = $2")
            .bind(kind.as_str())
            .bind(target)
            .fetch_one(&self.pool)
            .await?;
        Ok(u32::try_from(row.try_get::<i64, _>(0)?).unwrap_or(u32::MAX))
    }

    pub(super) async fn get_decision_sql(&self, id: i64) -> Result<Decision> {
        let sql = format!("SELECT {DECISION_COLUMNS} FROM decisions WHERE id = $1");
        self.by_id(&sql, id, "decision", decision_from_row).await
    }

    pub(super) async fn list_decisions_sql(
        &self,
        filter: &DecisionFilter,
    ) -> Result<Vec<Decision>> {
        let select = format!("SELECT {DECISION_COLUMNS} FROM decisions WHERE 1 = 1");
        let mut list = Listing::new(select);
        let in_force = filter.in_force_at.map(|at| Arg::Int(nanos(at)));
        list.and("AND rolled_back_at IS NULL AND expires_at > ?", in_force);
        list.and("AND incident_id = ?", filter.incident_id.map(Arg::Int));
        list.and("AND kind = ?", filter.kind.map(|k| Arg::Text(k.as_str().into())));
        list.and("AND target = ?", filter.target.clone().map(Arg::Text));
        let limit = i64::from(filter.limit.unwrap_or(1000).clamp(1, 100_000));
        let rows = list.fetch(&self.pool, "id DESC", limit).await?;
        rows.iter().map(decision_from_row).collect()
    }

    pub(super) async fn change_decision_sql(
        &self,
        id: i64,
        change: DecisionChange,
        reason: &str,
        actor: &str,
        at: Timestamp,
    ) -> Result<Decision> {
        let _guard = self.write_guard().await;
        let mut tx = self.pool.begin().await?;
        let sql =
            format!("SELECT {DECISION_COLUMNS} FROM decisions WHERE id = $1{}", self.for_update());
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("decision {id}")))?;
        let mut decision = decision_from_row(&row)?;
        if !decision.in_force(at) {
            return Err(StoreError::Conflict(format!(
                "decision {id} is no longer in force (it ended {})",
                decision.ends_at()
            )));
        }
        let (summary, data) = match change {
            DecisionChange::Extend { until } => {
                if until <= decision.expires_at {
                    return Err(StoreError::Invalid(format!(
                        "the new expiry {until} is not later than the current one {}",
                        decision.expires_at
                    )));
                }
                let previous = decision.expires_at;
                decision.expires_at = until;
                sqlx::query("UPDATE decisions SET expires_at = $1, updated_at = $2 WHERE id = $3")
                    .bind(nanos(until))
                    .bind(nanos(at))
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                (
                    format!(
                        "Decision {id} extended: {} {} until {until}: {reason}",
                        decision.kind.as_str(),
                        decision.target
                    ),
                    json!({ "decision_id": id, "change": "extend", "from": previous, "until": until, "reason": reason }),
                )
            }
            DecisionChange::RollBack => {
                decision.rolled_back_at = Some(at);
                decision.rolled_back_by = Some(actor.to_owned());
                sqlx::query(
                    "UPDATE decisions SET rolled_back_at = $1, rolled_back_by = $2, updated_at = $1 WHERE id = $3",
                )
                .bind(nanos(at))
                .bind(actor)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                (
                    format!(
                        "Decision {id} rolled back: {} {}: {reason}",
                        decision.kind.as_str(),
                        decision.target
                    ),
                    json!({ "decision_id": id, "change": "roll_back", "reason": reason }),
                )
            }
        };
        if let Some(incident_id) = decision.incident_id {
            let entry = NewEntry {
                kind: EntryKind::Decision,
                occurred_at: at,
                actor: actor.to_owned(),
                summary,
                data,
            };
            self.append_in(&mut tx, incident_id, entry, at).await?;
        }
        tx.commit().await?;
        Ok(decision)
    }

    pub(super) async fn decisions_since_sql(
        &self,
        since: Timestamp,
        now: Timestamp,
    ) -> Result<(Vec<Decision>, Vec<Decision>)> {
        let (since, now) = (nanos(since), nanos(now));
        let sql = format!(
            "SELECT {DECISION_COLUMNS} FROM decisions WHERE rolled_back_at IS NULL AND expires_at > $1 \
             AND updated_at > $2 ORDER BY id"
        );
        let rows = sqlx::query(&sql).bind(now).bind(since).fetch_all(&self.pool).await?;
        let fresh = rows.iter().map(decision_from_row).collect::<Result<Vec<_>>>()?;
        let sql = format!(
            "SELECT {DECISION_COLUMNS} FROM decisions WHERE created_at <= $1 AND \
             ((rolled_back_at > $1 AND rolled_back_at <= $2) OR \
              (rolled_back_at IS NULL AND expires_at > $1 AND expires_at <= $2)) ORDER BY id"
        );
        let rows = sqlx::query(&sql).bind(since).bind(now).fetch_all(&self.pool).await?;
        let ended = rows.iter().map(decision_from_row).collect::<Result<Vec<_>>>()?;
        Ok((fresh, ended))
    }

    pub(super) async fn create_bouncer_sql(
        &self,
        name: &str,
        key_hash: &str,
        at: Timestamp,
    ) -> Result<Bouncer> {
        let _guard = self.write_guard().await;
        let sql = format!(
            "INSERT INTO bouncers (name, key_hash, created_at) VALUES ($1, $2, $3) RETURNING {BOUNCER_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(name)
            .bind(key_hash)
            .bind(nanos(at))
            .fetch_one(&self.pool)
            .await?;
        bouncer_from_row(&row)
    }

    pub(super) async fn bouncer_by_hash_sql(&self, key_hash: &str) -> Result<Option<Bouncer>> {
        let sql = format!("SELECT {BOUNCER_COLUMNS} FROM bouncers WHERE key_hash = $1");
        let row = sqlx::query(&sql).bind(key_hash).fetch_optional(&self.pool).await?;
        row.as_ref().map(bouncer_from_row).transpose()
    }

    pub(super) async fn list_bouncers_sql(&self) -> Result<Vec<Bouncer>> {
        let sql = format!("SELECT {BOUNCER_COLUMNS} FROM bouncers ORDER BY id");
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        rows.iter().map(bouncer_from_row).collect()
    }

    pub(super) async fn revoke_bouncer_sql(&self, id: i64, at: Timestamp) -> Result<()> {
        let _guard = self.write_guard().await;
        let done =
            sqlx::query("UPDATE bouncers SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(nanos(at))
                .bind(id)
                .execute(&self.pool)
                .await?;
        if done.rows_affected() == 0 {
            self.list_bouncers_sql()
                .await?
                .iter()
                .find(|b| b.id == id)
                .ok_or_else(|| StoreError::NotFound(format!("bouncer {id}")))?;
            return Err(StoreError::Conflict(format!("bouncer {id} was already revoked")));
        }
        Ok(())
    }

    pub(super) async fn bouncer_pulled_sql(
        &self,
        id: i64,
        at: Timestamp,
    ) -> Result<Option<Timestamp>> {
        let _guard = self.write_guard().await;
        let mut tx = self.pool.begin().await?;
        let sql = format!("SELECT last_pull FROM bouncers WHERE id = $1{}", self.for_update());
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("bouncer {id}")))?;
        let previous = opt_from_nanos(row.try_get("last_pull")?);
        sqlx::query("UPDATE bouncers SET last_pull = $1 WHERE id = $2")
            .bind(nanos(at))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(previous)
    }

    pub(super) async fn schedule_job_sql(&self, job: &NewJob, at: Timestamp) -> Result<Job> {
        let _guard = self.write_guard().await;
        let mut tx = self.pool.begin().await?;
        if let Some(key) = &job.dedupe_key {
            let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE dedupe_key = $1");
            if let Some(row) = sqlx::query(&sql).bind(key.as_str()).fetch_optional(&mut *tx).await?
            {
                return job_from_row(&row);
            }
        }
        let sql = format!(
            "INSERT INTO jobs (kind, due_at, payload, state, dedupe_key, created_at, attempts) \
             VALUES ($1, $2, $3, 'pending', $4, $5, 0) RETURNING {JOB_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(job.kind.as_str())
            .bind(nanos(job.due_at))
            .bind(job.payload.to_string())
            .bind(job.dedupe_key.as_deref())
            .bind(nanos(at))
            .fetch_one(&mut *tx)
            .await?;
        let stored = job_from_row(&row)?;
        tx.commit().await?;
        Ok(stored)
    }

    pub(super) async fn claim_due_jobs_sql(&self, now: Timestamp, limit: u32) -> Result<Vec<Job>> {
        let _guard = self.write_guard().await;
        let mut tx = self.pool.begin().await?;
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE state = 'pending' AND due_at <= $1 ORDER BY due_at, id LIMIT $2{}",
            match self.for_update() {
                "" => "",
                _ => " FOR UPDATE SKIP LOCKED",
            }
        );
        let rows = sqlx::query(&sql)
            .bind(nanos(now))
            .bind(i64::from(limit.clamp(1, 1000)))
            .fetch_all(&mut *tx)
            .await?;
        let mut jobs = rows.iter().map(job_from_row).collect::<Result<Vec<_>>>()?;
        for job in &mut jobs {
            sqlx::query(
                "UPDATE jobs SET state = 'running', claimed_at = $1, attempts = attempts + 1 WHERE id = $2",
            )
            .bind(nanos(now))
            .bind(job.id)
            .execute(&mut *tx)
            .await?;
            job.state = JobState::Running;
            job.attempts += 1;
        }
        tx.commit().await?;
        Ok(jobs)
    }

    pub(super) async fn finish_job_sql(
        &self,
        id: i64,
        error: Option<&str>,
        at: Timestamp,
    ) -> Result<()> {
        let _guard = self.write_guard().await;
        let state = if error.is_some() { JobState::Failed } else { JobState::Done };
        let done = sqlx::query(
            "UPDATE jobs SET state = $1, done_at = $2, last_error = $3 WHERE id = $4 AND state = 'running'",
        )
        .bind(state.as_str())
        .bind(nanos(at))
        .bind(error)
        .bind(id)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict(format!("job {id} is not running")));
        }
        Ok(())
    }

    pub(super) async fn cancel_job_sql(&self, dedupe_key: &str, at: Timestamp) -> Result<bool> {
        let _guard = self.write_guard().await;
        let done = sqlx::query(
            "UPDATE jobs SET state = 'cancelled', done_at = $1 WHERE dedupe_key = $2 AND state = 'pending'",
        )
        .bind(nanos(at))
        .bind(dedupe_key)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    pub(super) async fn requeue_interrupted_jobs_sql(&self) -> Result<u64> {
        let _guard = self.write_guard().await;
        let done = sqlx::query("UPDATE jobs SET state = 'pending' WHERE state = 'running'")
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    pub(super) async fn list_jobs_sql(
        &self,
        state: Option<JobState>,
        limit: u32,
    ) -> Result<Vec<Job>> {
        let limit = i64::from(limit.clamp(1, 10_000));
        let rows = match state {
            Some(state) => {
                let sql = format!(
                    "SELECT {JOB_COLUMNS} FROM jobs WHERE state = $1 ORDER BY due_at, id LIMIT $2"
                );
                sqlx::query(&sql).bind(state.as_str()).bind(limit).fetch_all(&self.pool).await?
            }
            None => {
                let sql = format!("SELECT {JOB_COLUMNS} FROM jobs ORDER BY due_at, id LIMIT $1");
                sqlx::query(&sql).bind(limit).fetch_all(&self.pool).await?
            }
        };
        rows.iter().map(job_from_row).collect()
    }
}
