//! Notifications in SQL: each one recorded before it is sent, finished with its attempts and
//! the timeline entry that says what went out, acknowledged with its entry; escalations.

use firebreak_core::{NewEntry, ResponseRole};
use jiff::Timestamp;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Arg, Listing, SqlStore, from_nanos, nanos, opt_from_nanos, parse_column};
use crate::{
    Delivery, DeliveryAttempt, Escalation, NewEscalation, NewNotification, Notification,
    NotificationFilter, NotificationStatus, Result, StoreError,
};

const NOTIFICATION_COLUMNS: &str = "id, incident_id, escalation_id, level, event, subject, body, \
    channel, recipient, person_id, role, status, attempts, last_error, created_at, sent_at, \
    acknowledged_by, acknowledged_at";

fn notification_from_row(row: &AnyRow) -> Result<Notification> {
    let status: String = row.try_get("status")?;
    let role: Option<String> = row.try_get("role")?;
    Ok(Notification {
        id: row.try_get("id")?,
        incident_id: row.try_get("incident_id")?,
        escalation_id: row.try_get("escalation_id")?,
        level: u32::try_from(row.try_get::<i64, _>("level")?).unwrap_or(u32::MAX),
        event: row.try_get("event")?,
        subject: row.try_get("subject")?,
        body: row.try_get("body")?,
        channel: row.try_get("channel")?,
        recipient: row.try_get("recipient")?,
        person_id: row.try_get("person_id")?,
        role: role.map(|role| parse_column::<ResponseRole>("role", &role)).transpose()?,
        status: NotificationStatus::parse(&status)
            .ok_or_else(|| StoreError::Other(format!("unknown notification status `{status}`")))?,
        attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
        last_error: row.try_get("last_error")?,
        created_at: from_nanos(row.try_get("created_at")?),
        sent_at: opt_from_nanos(row.try_get("sent_at")?),
        acknowledged_by: row.try_get("acknowledged_by")?,
        acknowledged_at: opt_from_nanos(row.try_get("acknowledged_at")?),
    })
}

const ESCALATION_COLUMNS: &str = "id, incident_id, route, event, subject, body, created_at, \
    acknowledged_by, acknowledged_at, ended_at, ended_reason";

fn escalation_from_row(row: &AnyRow) -> Result<Escalation> {
    Ok(Escalation {
        id: row.try_get("id")?,
        incident_id: row.try_get("incident_id")?,
        route: row.try_get("route")?,
        event: row.try_get("event")?,
        subject: row.try_get("subject")?,
        body: row.try_get("body")?,
        created_at: from_nanos(row.try_get("created_at")?),
        acknowledged_by: row.try_get("acknowledged_by")?,
        acknowledged_at: opt_from_nanos(row.try_get("acknowledged_at")?),
        ended_at: opt_from_nanos(row.try_get("ended_at")?),
        ended_reason: row.try_get("ended_reason")?,
    })
}

impl SqlStore {
    pub(super) async fn create_notification_sql(
        &self,
        new: &NewNotification,
        at: Timestamp,
    ) -> Result<Notification> {
        let _guard = self.write_guard().await;
        let mut tx = self.pool.begin().await?;
        self.incident_in(&mut tx, new.incident_id).await?;
        let sql = format!(
            "INSERT INTO notifications (incident_id, escalation_id, level, event, subject, body, channel, recipient, person_id, role, status, attempts, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending', 0, $11) RETURNING {NOTIFICATION_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(new.incident_id)
            .bind(new.escalation_id)
            .bind(i64::from(new.level))
            .bind(new.event.as_str())
            .bind(new.subject.as_str())
            .bind(new.body.as_str())
            .bind(new.channel.as_str())
            .bind(new.recipient.as_str())
            .bind(new.person_id)
            .bind(new.role.map(ResponseRole::as_str))
            .bind(nanos(at))
            .fetch_one(&mut *tx)
            .await?;
        let stored = notification_from_row(&row)?;
        tx.commit().await?;
        Ok(stored)
    }

    pub(super) async fn finish_notifications_sql(
        &self,
        incident_id: i64,
        deliveries: &[Delivery],
        entry: NewEntry,
        at: Timestamp,
    ) -> Result<Vec<Notification>> {
        let _guard = self.write_guard().await;
        let mut tx = self.pool.begin().await?;
        self.incident_in(&mut tx, incident_id).await?;
        let mut finished = Vec::with_capacity(deliveries.len());
        for delivery in deliveries {
            let id = delivery.notification_id;
            for attempt in &delivery.attempts {
                sqlx::query(
                    "INSERT INTO notification_attempts (notification_id, attempt, at, ok, detail) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(id)
                .bind(i64::from(attempt.attempt))
                .bind(nanos(attempt.at))
                .bind(i64::from(attempt.ok))
                .bind(attempt.detail.as_str())
                .execute(&mut *tx)
                .await?;
            }
            let status =
                if delivery.sent() { NotificationStatus::Sent } else { NotificationStatus::Failed };
            let sent_at = delivery.attempts.iter().find(|a| a.ok).map(|a| nanos(a.at));
            let last_error = match delivery.sent() {
                true => None,
                false => delivery.attempts.last().map(|a| a.detail.as_str()),
            };
            // An acknowledgement that came while it was being sent stays.
            let sql = format!(
                "UPDATE notifications SET status = CASE WHEN status = 'acknowledged' THEN status ELSE $1 END, \
                 attempts = $2, sent_at = $3, last_error = $4 WHERE id = $5 AND incident_id = $6 \
                 RETURNING {NOTIFICATION_COLUMNS}"
            );
            let row = sqlx::query(&sql)
                .bind(status.as_str())
                .bind(i64::try_from(delivery.attempts.len()).unwrap_or(i64::MAX))
                .bind(sent_at)
                .bind(last_error)
                .bind(id)
                .bind(incident_id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| {
                    StoreError::NotFound(format!("notification {id} of incident {incident_id}"))
                })?;
            finished.push(notification_from_row(&row)?);
        }
        self.append_in(&mut tx, incident_id, entry, at).await?;
        tx.commit().await?;
        Ok(finished)
    }

    pub(super) async fn get_notification_sql(&self, id: i64) -> Result<Notification> {
        let sql = format!("SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE id = $1");
        self.by_id(&sql, id, "notification", notification_from_row).await
    }

    pub(super) async fn list_notifications_sql(
        &self,
        filter: &NotificationFilter,
    ) -> Result<Vec<Notification>> {
        let select = format!("SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE 1 = 1");
        let mut list = Listing::new(select);
        list.and("AND incident_id = ?", filter.incident_id.map(Arg::Int));
        list.and("AND escalation_id = ?", filter.escalation_id.map(Arg::Int));
        list.and("AND status = ?", filter.status.map(|s| Arg::Text(s.as_str().into())));
        let limit = i64::from(filter.limit.unwrap_or(100).clamp(1, 1000));
        let rows = list.fetch(&self.pool, "id DESC", limit).await?;
        rows.iter().map(notification_from_row).collect()
    }

    pub(super) async fn notification_attempts_sql(&self, id: i64) -> Result<Vec<DeliveryAttempt>> {
        self.get_notification_sql(id).await?;
        let rows = sqlx::query(
            "SELECT attempt, at, ok, detail FROM notification_attempts WHERE notification_id = $1 ORDER BY attempt",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(DeliveryAttempt {
                    attempt: u32::try_from(row.try_get::<i64, _>("attempt")?).unwrap_or(u32::MAX),
                    at: from_nanos(row.try_get("at")?),
                    ok: row.try_get::<i64, _>("ok")? != 0,
                    detail: row.try_get("detail")?,
                })
            })
            .collect()
    }

    pub(super) async fn acknowledge_notification_sql(
        &self,
        id: i64,
        actor: &str,
        at: Timestamp,
        entry: NewEntry,
    ) -> Result<Notification> {
        let _guard = self.write_guard().await;
        let mut tx = self.pool.begin().await?;
        let sql = format!(
            "SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE id = $1{}",
            self.for_update()
        );
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("notification {id}")))?;
        let notification = notification_from_row(&row)?;
        if let (Some(by), Some(when)) =
            (&notification.acknowledged_by, notification.acknowledged_at)
        {
            return Err(StoreError::Conflict(format!(
                "notification {id} was already acknowledged by {by} at {when}"
            )));
        }
        // Lock the incident too, so that the entry's place in the chain is ours.
        self.incident_in(&mut tx, notification.incident_id).await?;
        sqlx::query(
            "UPDATE notifications SET status = 'acknowledged', acknowledged_by = $1, acknowledged_at = $2 WHERE id = $3",
        )
        .bind(actor)
        .bind(nanos(at))
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if let Some(escalation_id) = notification.escalation_id {
            // The whole page is acknowledged: its other messages too, and the chain stops.
            sqlx::query(
                "UPDATE notifications SET status = 'acknowledged', acknowledged_by = $1, acknowledged_at = $2 \
                 WHERE escalation_id = $3 AND acknowledged_at IS NULL AND status IN ('pending', 'sent')",
            )
            .bind(actor)
            .bind(nanos(at))
            .bind(escalation_id)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE escalations SET acknowledged_by = $1, acknowledged_at = $2 \
                 WHERE id = $3 AND acknowledged_at IS NULL",
            )
            .bind(actor)
            .bind(nanos(at))
            .bind(escalation_id)
            .execute(&mut *tx)
            .await?;
        }
        self.append_in(&mut tx, notification.incident_id, entry, at).await?;
        let sql = format!("SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE id = $1");
        let row = sqlx::query(&sql).bind(id).fetch_one(&mut *tx).await?;
        let acknowledged = notification_from_row(&row)?;
        tx.commit().await?;
        Ok(acknowledged)
    }

    pub(super) async fn create_escalation_sql(
        &self,
        new: &NewEscalation,
        at: Timestamp,
    ) -> Result<Escalation> {
        let _guard = self.write_guard().await;
        let mut tx = self.pool.begin().await?;
        self.incident_in(&mut tx, new.incident_id).await?;
        let sql = format!(
            "INSERT INTO escalations (incident_id, route, event, subject, body, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {ESCALATION_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(new.incident_id)
            .bind(new.route.as_str())
            .bind(new.event.as_str())
            .bind(new.subject.as_str())
            .bind(new.body.as_str())
            .bind(nanos(at))
            .fetch_one(&mut *tx)
            .await?;
        let stored = escalation_from_row(&row)?;
        tx.commit().await?;
        Ok(stored)
    }

    pub(super) async fn get_escalation_sql(&self, id: i64) -> Result<Escalation> {
        let sql = format!("SELECT {ESCALATION_COLUMNS} FROM escalations WHERE id = $1");
        self.by_id(&sql, id, "escalation", escalation_from_row).await
    }

    pub(super) async fn end_escalation_sql(
        &self,
        id: i64,
        reason: &str,
        entry: NewEntry,
        at: Timestamp,
    ) -> Result<Escalation> {
        let _guard = self.write_guard().await;
        let mut tx = self.pool.begin().await?;
        let sql = format!(
            "SELECT {ESCALATION_COLUMNS} FROM escalations WHERE id = $1{}",
            self.for_update()
        );
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("escalation {id}")))?;
        let mut escalation = escalation_from_row(&row)?;
        if !escalation.is_live() {
            return Err(StoreError::Conflict(format!("escalation {id} has already stopped")));
        }
        self.incident_in(&mut tx, escalation.incident_id).await?;
        sqlx::query("UPDATE escalations SET ended_at = $1, ended_reason = $2 WHERE id = $3")
            .bind(nanos(at))
            .bind(reason)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        escalation.ended_at = Some(at);
        escalation.ended_reason = Some(reason.to_owned());
        self.append_in(&mut tx, escalation.incident_id, entry, at).await?;
        tx.commit().await?;
        Ok(escalation)
    }
}
