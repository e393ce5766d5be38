//! Notifications: recorded before sending, finished with their attempts and one timeline
//! entry, acknowledged once (the whole escalation with them); escalations stop once.

use firebreak_core::{
    EntryKind, NewEntry, NewIncident, Person, ResponseRole, Severity, verify_chain,
};
use firebreak_store::{
    Delivery, DeliveryAttempt, NewEscalation, NewNotification, NotificationFilter,
    NotificationStatus, Store, StoreError,
};
use jiff::Timestamp;
use serde_json::json;

use crate::subjects;

fn entry(summary: &str, at: Timestamp) -> NewEntry {
    NewEntry {
        kind: EntryKind::Communication,
        occurred_at: at,
        actor: "firebreak".into(),
        summary: summary.into(),
        data: json!({}),
    }
}

#[tokio::test]
async fn notifications_are_sent_acknowledged_once_and_escalations_stop_once() {
    for subject in subjects().await {
        let store = &*subject.store;
        let name = subject.name;
        let t0: Timestamp = "2026-03-01T10:00:00Z".parse().unwrap();
        let new = NewIncident {
            title: "Stuffing".into(),
            summary: String::new(),
            severity: Severity::Sev2,
            drill: false,
        };
        let incident = store.create_incident(&new, "ana", t0).await.unwrap().id;
        let ana = store
            .create_person(&Person {
                id: 0,
                name: "Ana".into(),
                email: "ana@example.org".into(),
                phone: None,
                time_zone: "UTC".into(),
                roles: vec![ResponseRole::IncidentCommander],
            })
            .await
            .unwrap();
        let escalation = store
            .create_escalation(
                &NewEscalation {
                    incident_id: incident,
                    route: "page".into(),
                    event: "incident_opened".into(),
                    subject: "s".into(),
                    body: "b".into(),
                },
                t0,
            )
            .await
            .unwrap();
        assert!(escalation.is_live());
        let mut ids = Vec::new();
        for (channel, recipient, person_id, role) in [
            ("chat", "chat", None, None),
            ("mail", "ana@example.org", Some(ana.id), Some(ResponseRole::IncidentCommander)),
        ] {
            let new = NewNotification {
                incident_id: incident,
                escalation_id: Some(escalation.id),
                level: 0,
                event: "incident_opened".into(),
                subject: "s".into(),
                body: "b".into(),
                channel: channel.into(),
                recipient: recipient.into(),
                person_id,
                role,
            };
            let recorded = store.create_notification(&new, t0).await.unwrap();
            assert_eq!(recorded.status, NotificationStatus::Pending, "{name}");
            assert_eq!(recorded.role, role);
            ids.push(recorded.id);
        }
        let attempt = |n: u32, ok: bool, detail: &str| DeliveryAttempt {
            attempt: n,
            at: t0,
            ok,
            detail: detail.into(),
        };
        let deliveries = [
            Delivery {
                notification_id: ids[0],
                attempts: vec![attempt(1, false, "HTTP 503"), attempt(2, true, "HTTP 200")],
            },
            Delivery {
                notification_id: ids[1],
                attempts: vec![attempt(1, false, "refused"), attempt(2, false, "refused again")],
            },
        ];
        let finished = store
            .finish_notifications(incident, &deliveries, entry("Notified", t0), t0)
            .await
            .unwrap();
        assert_eq!(finished[0].status, NotificationStatus::Sent, "{name}");
        assert_eq!(finished[0].sent_at, Some(t0));
        assert_eq!(finished[1].status, NotificationStatus::Failed);
        assert_eq!(finished[1].attempts, 2);
        assert_eq!(finished[1].last_error.as_deref(), Some("refused again"));
        assert_eq!(store.notification_attempts(ids[0]).await.unwrap(), deliveries[0].attempts);

        let filter = NotificationFilter { incident_id: Some(incident), ..Default::default() };
        let listed = store.list_notifications(&filter).await.unwrap();
        assert_eq!(listed.iter().map(|n| n.id).collect::<Vec<_>>(), vec![ids[1], ids[0]]);
        let failed = NotificationFilter {
            status: Some(NotificationStatus::Failed),
            ..NotificationFilter::default()
        };
        assert_eq!(store.list_notifications(&failed).await.unwrap().len(), 1);

        let acknowledged = store
            .acknowledge_notification(ids[1], "ana", t0, entry("Acknowledged", t0))
            .await
            .unwrap();
        assert_eq!(acknowledged.status, NotificationStatus::Acknowledged, "{name}");
        assert_eq!(acknowledged.acknowledged_by.as_deref(), Some("ana"));
        let sibling = store.get_notification(ids[0]).await.unwrap();
        assert_eq!(sibling.status, NotificationStatus::Acknowledged, "the page goes with it");
        let stopped = store.get_escalation(escalation.id).await.unwrap();
        assert_eq!(stopped.acknowledged_by.as_deref(), Some("ana"));
        assert!(!stopped.is_live());
        assert!(matches!(
            store.acknowledge_notification(ids[0], "bo", t0, entry("again", t0)).await,
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(
            store.end_escalation(escalation.id, "late", entry("end", t0), t0).await,
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(store.get_notification(9999).await, Err(StoreError::NotFound(_))));

        let timeline = store.timeline(incident).await.unwrap();
        let summaries: Vec<&str> = timeline.iter().map(|e| e.summary.as_str()).collect();
        assert_eq!(&summaries[1..], ["Notified", "Acknowledged"], "{name}");
        verify_chain(&timeline).unwrap();
        subject.finish().await;
    }
}
