//! Triage in SQL: assigning alerts, false positives and the suppressions they propose, moving
//! alerts between incidents, merging and splitting incidents. Every change that touches an
//! incident appends its timeline entry in the same transaction.

use firebreak_core::{
    Alert, AlertStatus, EntryKind, Incident, IncidentStats, NewEntry, NewIncident, Suppression,
    SuppressionKind, SuppressionStatus,
};
use jiff::Timestamp;
use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use super::{
    ALERT_COLUMNS, Arg, INCIDENT_COLUMNS, Listing, SqlStore, alert_from_row, from_nanos,
    incident_from_row, nanos, opt_from_nanos,
};
use crate::{AlertFilter, Result, StoreError};

const SUPPRESSION_COLUMNS: &str = "id, alert_id, rule_id, kind, value, reason, status, \
    proposed_by, proposed_at, decided_by, decided_at, decision_reason";

fn suppression_from_row(row: &AnyRow) -> Result<Suppression> {
    let kind: String = row.try_get("kind")?;
    let status: String = row.try_get("status")?;
    Ok(Suppression {
        id: row.try_get("id")?,
        alert_id: row.try_get("alert_id")?,
        rule_id: row.try_get("rule_id")?,
        kind: SuppressionKind::parse(&kind)
            .ok_or_else(|| StoreError::Other(format!("unknown suppression kind `{kind}`")))?,
        value: row.try_get("value")?,
        reason: row.try_get("reason")?,
        status: SuppressionStatus::parse(&status)
            .ok_or_else(|| StoreError::Other(format!("unknown suppression status `{status}`")))?,
        proposed_by: row.try_get("proposed_by")?,
        proposed_at: from_nanos(row.try_get("proposed_at")?),
        decided_by: row.try_get("decided_by")?,
        decided_at: opt_from_nanos(row.try_get("decided_at")?),
        decision_reason: row.try_get("decision_reason")?,
    })
}

/// A timeline entry for a triage step, happening now.
fn triage_entry(actor: &str, at: Timestamp, summary: String, data: serde_json::Value) -> NewEntry {
    NewEntry { kind: EntryKind::Triage, occurred_at: at, actor: actor.to_owned(), summary, data }
}

impl SqlStore {
    async fn alert_in(&self, tx: &mut Transaction<'_, Any>, id: i64) -> Result<Alert> {
        let sql = format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE id = $1{}", self.for_update());
        match sqlx::query(&sql).bind(id).fetch_optional(&mut **tx).await? {
            Some(row) => alert_from_row(&row),
            None => Err(StoreError::NotFound(format!("alert {id}"))),
        }
    }

    /// An incident that may still take alerts: it exists, is open and was not merged away.
    async fn open_incident_in(&self, tx: &mut Transaction<'_, Any>, id: i64) -> Result<Incident> {
        let incident = self.incident_in(tx, id).await?;
        if let Some(into) = incident.merged_into {
            return Err(StoreError::Conflict(format!(
                "incident {id} was merged into incident {into}"
            )));
        }
        if !incident.status.is_open() {
            return Err(StoreError::Conflict(format!("incident {id} is closed")));
        }
        Ok(incident)
    }

    /// Moves one alert into `incident_id` inside `tx`, with an entry on the incident it leaves
    /// (if any) and on the one it joins.
    async fn move_alert_in(
        &self,
        tx: &mut Transaction<'_, Any>,
        alert: &Alert,
        incident_id: i64,
        reason: &str,
        actor: &str,
        at: Timestamp,
    ) -> Result<()> {
        if alert.incident_id == Some(incident_id) {
            return Ok(());
        }
        sqlx::query("UPDATE alerts SET incident_id = $1, updated_at = $2 WHERE id = $3")
            .bind(incident_id)
            .bind(nanos(at))
            .bind(alert.id)
            .execute(&mut **tx)
            .await?;
        let data = json!({
            "alert_id": alert.id,
            "rule_id": alert.rule_id,
            "group": alert.group,
            "from_incident": alert.incident_id,
            "to_incident": incident_id,
            "reason": reason,
        });
        if let Some(old) = alert.incident_id {
            let summary = format!("Alert {} moved to incident {incident_id}: {reason}", alert.id);
            self.append_in(tx, old, triage_entry(actor, at, summary, data.clone()), at).await?;
        }
        let entry = NewEntry {
            kind: EntryKind::AlertLinked,
            occurred_at: at,
            actor: actor.to_owned(),
            summary: format!("Alert {}: {} (moved here by hand: {reason})", alert.id, alert.title),
            data,
        };
        self.append_in(tx, incident_id, entry, at).await?;
        Ok(())
    }

    pub(super) async fn list_alerts_sql(&self, filter: &AlertFilter) -> Result<Vec<Alert>> {
        let mut list = Listing::new(format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE 1 = 1"));
        list.and("AND status = ?", filter.status.map(|s| Arg::Text(s.as_str().into())));
        list.and("AND rule_id = ?", filter.rule_id.clone().map(Arg::Text));
        list.and("AND incident_id = ?", filter.incident_id.map(Arg::Int));
        list.and("AND assignee_id = ?", filter.assignee_id.map(Arg::Int));
        let limit = i64::from(filter.limit.unwrap_or(100).clamp(1, 1000));
        let rows = list.fetch(&self.pool, "id DESC", limit).await?;
        rows.iter().map(alert_from_row).collect()
    }

    pub(super) async fn assign_alert_sql(
        &self,
        id: i64,
        person_id: Option<i64>,
        actor: &str,
        at: Timestamp,
    ) -> Result<Alert> {
        let _guard = self.write_guard().await;
        let mut tx = self.pool.begin().await?;
        let mut alert = self.alert_in(&mut tx, id).await?;
        let name = match person_id {
            Some(person_id) => {
                let row = sqlx::query("SELECT name FROM people WHERE id = $1")
                    .bind(person_id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or_else(|| StoreError::NotFound(format!("person {person_id}")))?;
                Some(row.try_get::<String, _>(0)?)
            }
            None => None,
        };
        sqlx::query("UPDATE alerts SET assignee_id = $1, updated_at = $2 WHERE id = $3")
            .bind(person_id)
            .bind(nanos(at))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        alert.assignee_id = person_id;
        if let Some(incident_id) = alert.incident_id {
            let summary = match &name {
                Some(name) => format!("Alert {id} assigned to {name}"),
                None => format!("Alert {id} unassigned"),
            };
            let data = json!({ "alert_id": id, "person_id": person_id, "person": name });
            self.append_in(&mut tx, incident_id, triage_entry(actor, at, summary, data), at)
                .await?;
        }
        tx.commit().await?;
        Ok(alert)
    }

    pub(super) async fn mark_false_positive_sql(
        &self,
        id: i64,
        reason: &str,
        actor: &str,
        at: Timestamp,
    ) -> Result<(Alert, Vec<Suppression>)> {
        let _guard = self.write_guard().await;
        let mut tx = self.pool.begin().await?;
        let mut alert = self.alert_in(&mut tx, id).await?;
        if alert.status == AlertStatus::FalsePositive {
            return Err(StoreError::Conflict(format!(
                "alert {id} is already marked a false positive"
            )));
        }
        sqlx::query("UPDATE alerts SET status = 'false_positive', updated_at = $1 WHERE id = $2")
            .bind(nanos(at))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        alert.status = AlertStatus::FalsePositive;
        let mut stored = Vec::new();
        for proposal in Suppression::proposals_for(&alert, reason, actor, at) {
            let sql = format!(
                "INSERT INTO suppressions (alert_id, rule_id, kind, value, reason, status, proposed_by, proposed_at) \
                 VALUES ($1, $2, $3, $4, $5, 'proposed', $6, $7) RETURNING {SUPPRESSION_COLUMNS}"
            );
            let row = sqlx::query(&sql)
                .bind(proposal.alert_id)
                .bind(proposal.rule_id.as_str())
                .bind(proposal.kind.as_str())
                .bind(proposal.value.as_str())
                .bind(proposal.reason.as_str())
                .bind(proposal.proposed_by.as_str())
                .bind(nanos(proposal.proposed_at))
                .fetch_one(&mut *tx)
                .await?;
            stored.push(suppression_from_row(&row)?);
        }
        if let Some(incident_id) = alert.incident_id {
            let summary = format!("Alert {id} marked a false positive: {reason}");
            let proposed: Vec<_> = stored
                .iter()
                .map(|s| json!({ "id": s.id, "kind": s.kind, "value": s.value }))
                .collect();
            let data = json!({ "alert_id": id, "reason": reason, "proposed": proposed });
            self.append_in(&mut tx, incident_id, triage_entry(actor, at, summary, data), at)
                .await?;
        }
        tx.commit().await?;
        Ok((alert, stored))
    }

    pub(super) async fn list_suppressions_sql(
        &self,
        status: Option<SuppressionStatus>,
    ) -> Result<Vec<Suppression>> {
        let rows = match status {
            Some(status) => {
                let sql = format!(
                    "SELECT {SUPPRESSION_COLUMNS} FROM suppressions WHERE status = $1 ORDER BY id"
                );
                sqlx::query(&sql).bind(status.as_str()).fetch_all(&self.pool).await?
            }
            None => {
                let sql = format!("SELECT {SUPPRESSION_COLUMNS} FROM suppressions ORDER BY id");
                sqlx::query(&sql).fetch_all(&self.pool).await?
            }
        };
        rows.iter().map(suppression_from_row).collect()
    }

    pub(super) async fn decide_suppression_sql(
        &self,
        id: i64,
        accept: bool,
        reason: &str,
        actor: &str,
        at: Timestamp,
    ) -> Result<Suppression> {
        let _guard = self.write_guard().await;
        let mut tx = self.pool.begin().await?;
        let sql = format!(
            "SELECT {SUPPRESSION_COLUMNS} FROM suppressions WHERE id = $1{}",
            self.for_update()
        );
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("suppression {id}")))?;
        let mut suppression = suppression_from_row(&row)?;
        if suppression.status != SuppressionStatus::Proposed {
            return Err(StoreError::Conflict(format!(
                "suppression {id} was already {} by {}",
                suppression.status.as_str(),
                suppression.decided_by.as_deref().unwrap_or("someone")
            )));
        }
        suppression.status =
            if accept { SuppressionStatus::Accepted } else { SuppressionStatus::Refused };
        suppression.decided_by = Some(actor.to_owned());
        suppression.decided_at = Some(at);
        suppression.decision_reason = Some(reason.to_owned());
        sqlx::query(
            "UPDATE suppressions SET status = $1, decided_by = $2, decided_at = $3, decision_reason = $4 WHERE id = $5",
        )
        .bind(suppression.status.as_str())
        .bind(actor)
        .bind(nanos(at))
        .bind(reason)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let alert = self.alert_in(&mut tx, suppression.alert_id).await?;
        if let Some(incident_id) = alert.incident_id {
            let summary = format!(
                "Suppression {id} ({} {}) {}: {reason}",
                suppression.kind.as_str(),
                suppression.value,
                suppression.status.as_str()
            );
            let data = json!({
                "suppression_id": id,
                "alert_id": alert.id,
                "kind": suppression.kind,
                "value": suppression.value,
                "status": suppression.status,
                "reason": reason,
            });
            self.append_in(&mut tx, incident_id, triage_entry(actor, at, summary, data), at)
                .await?;
        }
        tx.commit().await?;
        Ok(suppression)
    }

    pub(super) async fn move_alerts_sql(
        &self,
        alert_ids: &[i64],
        incident_id: i64,
        reason: &str,
        actor: &str,
        at: Timestamp,
    ) -> Result<Vec<Alert>> {
        let _guard = self.write_guard().await;
        let mut tx = self.pool.begin().await?;
        self.open_incident_in(&mut tx, incident_id).await?;
        let mut moved = Vec::with_capacity(alert_ids.len());
        for &id in alert_ids {
            let mut alert = self.alert_in(&mut tx, id).await?;
            self.move_alert_in(&mut tx, &alert, incident_id, reason, actor, at).await?;
            alert.incident_id = Some(incident_id);
            moved.push(alert);
        }
        tx.commit().await?;
        Ok(moved)
    }

    pub(super) async fn merge_incidents_sql(
        &self,
        from: i64,
        into: i64,
        reason: &str,
        actor: &str,
        at: Timestamp,
    ) -> Result<Incident> {
        if from == into {
            return Err(StoreError::Invalid(format!("incident {from} cannot merge into itself")));
        }
        let _guard = self.write_guard().await;
        let mut tx = self.pool.begin().await?;
        // Lock in id order, so that two merges of the same pair cannot deadlock on PostgreSQL.
        let (first, second) = (from.min(into), from.max(into));
        let a = self.open_incident_in(&mut tx, first).await?;
        let b = self.open_incident_in(&mut tx, second).await?;
        let (source, target) = if a.id == from { (a, b) } else { (b, a) };
        let rows = sqlx::query(&format!(
            "SELECT {ALERT_COLUMNS} FROM alerts WHERE incident_id = $1 ORDER BY id"
        ))
        .bind(from)
        .fetch_all(&mut *tx)
        .await?;
        let alerts: Vec<Alert> = rows.iter().map(alert_from_row).collect::<Result<_>>()?;
        for alert in &alerts {
            self.move_alert_in(&mut tx, alert, into, reason, actor, at).await?;
        }
        // Merging ends the incident whatever phase it was in: its work continues in the target.
        sqlx::query(
            "UPDATE incidents SET status = 'closed', merged_into = $1, updated_at = $2, \
             closed_at = COALESCE(closed_at, $2) WHERE id = $3",
        )
        .bind(into)
        .bind(nanos(at))
        .bind(from)
        .execute(&mut *tx)
        .await?;
        let data = json!({
            "from_incident": from,
            "into_incident": into,
            "alerts": alerts.iter().map(|a| a.id).collect::<Vec<_>>(),
            "reason": reason,
            "previous_status": source.status,
        });
        let summary = format!("Merged into incident {into} ({}): {reason}", target.title);
        let entry = triage_entry(actor, at, summary, data.clone());
        self.append_in(&mut tx, from, entry, at).await?;
        let summary = format!(
            "Incident {from} ({}) merged in with {} alerts: {reason}",
            source.title,
            alerts.len()
        );
        self.append_in(&mut tx, into, triage_entry(actor, at, summary, data), at).await?;
        let target = self.incident_in(&mut tx, into).await?;
        tx.commit().await?;
        Ok(target)
    }

    pub(super) async fn split_incident_sql(
        &self,
        from: i64,
        alert_ids: &[i64],
        new: &NewIncident,
        reason: &str,
        actor: &str,
        at: Timestamp,
    ) -> Result<Incident> {
        if alert_ids.is_empty() {
            return Err(StoreError::Invalid("a split needs at least one alert to move".into()));
        }
        let _guard = self.write_guard().await;
        let mut tx = self.pool.begin().await?;
        let source = self.open_incident_in(&mut tx, from).await?;
        let mut alerts = Vec::with_capacity(alert_ids.len());
        for &id in alert_ids {
            let alert = self.alert_in(&mut tx, id).await?;
            if alert.incident_id != Some(from) {
                return Err(StoreError::Invalid(format!(
                    "alert {id} is not in incident {from}, so it cannot be split out of it"
                )));
            }
            alerts.push(alert);
        }
        let created = self.insert_incident_in(&mut tx, new, actor, at).await?;
        let data = json!({
            "from_incident": from,
            "new_incident": created.id,
            "alerts": alert_ids,
            "reason": reason,
        });
        let summary = format!("Split out of incident {from} ({}): {reason}", source.title);
        let entry = triage_entry(actor, at, summary, data.clone());
        self.append_in(&mut tx, created.id, entry, at).await?;
        for alert in &alerts {
            self.move_alert_in(&mut tx, alert, created.id, reason, actor, at).await?;
        }
        let summary = format!(
            "{} alerts split out into incident {} ({}): {reason}",
            alerts.len(),
            created.id,
            created.title
        );
        self.append_in(&mut tx, from, triage_entry(actor, at, summary, data), at).await?;
        tx.commit().await?;
        Ok(created)
    }

    pub(super) async fn incident_stats_sql(&self) -> Result<IncidentStats> {
        let sql = format!("SELECT {INCIDENT_COLUMNS} FROM incidents");
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        let incidents: Vec<Incident> = rows.iter().map(incident_from_row).collect::<Result<_>>()?;
        Ok(IncidentStats::of(&incidents))
    }

    pub(super) async fn delete_events_before_sql(
        &self,
        before: Timestamp,
        limit: u32,
    ) -> Result<u64> {
        let _guard = self.write_guard().await;
        // Ids are ingest sequence numbers, so the oldest received come first by id: look only
        // at the `limit` lowest ids (the primary key), never scan the table for old rows.
        let done = sqlx::query(
            "DELETE FROM events WHERE id IN (SELECT id FROM events ORDER BY id LIMIT $2) AND received_at < $1",
        )
        .bind(nanos(before))
        .bind(i64::from(limit.max(1)))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }
}
