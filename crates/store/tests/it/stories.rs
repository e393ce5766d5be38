//! Stories: what the server asks of the store, told end to end.

use firebreak_core::{
    AccessRole, EntryKind, Event, NewEntry, NewIncident, Severity, Status, verify_chain,
};
use firebreak_store::{
    AuditRecord, DocumentKind, EventRecord, IncidentChange, IncidentFilter, NewToken, Store,
    StoreError, TokenKind,
};
use jiff::{SignedDuration, Timestamp};

use crate::subjects;

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn new_incident(title: &str, severity: Severity) -> NewIncident {
    NewIncident { title: title.into(), summary: "s".into(), severity, drill: false }
}

#[tokio::test]
async fn an_incident_walks_its_lifecycle_and_its_timeline_verifies() {
    for subject in subjects().await {
        let store = &*subject.store;
        let t0 = at("2026-03-29T00:30:00Z");
        let incident = store
            .create_incident(
                &new_incident("Credential stuffing on /login", Severity::Sev2),
                "ana",
                t0,
            )
            .await
            .unwrap();
        assert_eq!(incident.status, Status::Detected, "{}", subject.name);
        assert_eq!(incident.milestones.detected, Some(t0));

        let steps = [Status::Triage, Status::Containment, Status::Eradication, Status::Recovery];
        for (minutes, to) in (1..).zip(steps) {
            let when = t0 + SignedDuration::from_mins(minutes);
            let (changed, entry) = store
                .change_incident(
                    incident.id,
                    &IncidentChange::Status { to, reason: "next".into() },
                    "ana",
                    when,
                )
                .await
                .unwrap();
            assert_eq!(changed.status, to);
            assert_eq!(entry.kind, EntryKind::StatusChanged);
        }
        // Skipping ahead is refused, with the reason, and changes nothing.
        let refused = store
            .change_incident(
                incident.id,
                &IncidentChange::Status { to: Status::Closed, reason: String::new() },
                "ana",
                t0,
            )
            .await
            .unwrap_err();
        assert!(
            matches!(&refused, StoreError::Conflict(reason) if reason.contains("recovery to closed")),
            "{refused}"
        );

        store
            .change_incident(
                incident.id,
                &IncidentChange::Severity { to: Severity::Sev1, reason: "data left".into() },
                "bo",
                t0 + SignedDuration::from_mins(9),
            )
            .await
            .unwrap();
        store
            .append_entry(
                incident.id,
                NewEntry {
                    kind: EntryKind::Note,
                    occurred_at: t0,
                    actor: "bo".into(),
                    summary: "Blocked 203.0.113.0/24 at the edge".into(),
                    data: serde_json::json!({"text": "é ✓"}),
                },
                t0 + SignedDuration::from_mins(10),
            )
            .await
            .unwrap();

        let loaded = store.get_incident(incident.id).await.unwrap();
        assert_eq!(loaded.severity, Severity::Sev1);
        assert_eq!(loaded.status, Status::Recovery);
        assert_eq!(loaded.milestones.containment, Some(t0 + SignedDuration::from_mins(2)));
        assert_eq!(loaded.milestones.closed, None);

        let timeline = store.timeline(incident.id).await.unwrap();
        let kinds: Vec<EntryKind> = timeline.iter().map(|entry| entry.kind).collect();
        assert_eq!(kinds.len(), 7, "{kinds:?}");
        assert_eq!(kinds[0], EntryKind::Created);
        assert_eq!(verify_chain(&timeline), Ok(()), "{}", subject.name);
        subject.finish().await;
    }
}

#[tokio::test]
async fn a_row_changed_behind_the_stores_back_is_named() {
    for subject in subjects().await {
        let store = &*subject.store;
        let incident = store
            .create_incident(&new_incident("t", Severity::Sev3), "ana", at("2026-01-01T00:00:00Z"))
            .await
            .unwrap();
        for minute in 1..=4 {
            store
                .append_entry(
                    incident.id,
                    NewEntry {
                        kind: EntryKind::Note,
                        occurred_at: at("2026-01-01T00:00:00Z"),
                        actor: "ana".into(),
                        summary: format!("n{minute}"),
                        data: serde_json::Value::Null,
                    },
                    at("2026-01-01T00:05:00Z"),
                )
                .await
                .unwrap();
        }
        // The append-only guard refuses an honest UPDATE…
        let update = "UPDATE timeline_entries SET summary = 'nothing happened' WHERE incident_id = $1 AND seq = 3";
        assert!(sqlx::query(update).bind(incident.id).execute(subject.store.pool()).await.is_err());
        // …so the attacker removes it first.
        let drop = match subject.name {
            "sqlite" => "DROP TRIGGER timeline_entries_no_update",
            _ => "DROP TRIGGER timeline_entries_no_change ON timeline_entries",
        };
        sqlx::query(drop).execute(subject.store.pool()).await.unwrap();
        sqlx::query(update).bind(incident.id).execute(subject.store.pool()).await.unwrap();
        let error = verify_chain(&store.timeline(incident.id).await.unwrap()).unwrap_err();
        assert_eq!(error.seq, 3, "{}: {error}", subject.name);
        subject.finish().await;
    }
}

#[tokio::test]
async fn incidents_are_listed_by_status_severity_and_time() {
    for subject in subjects().await {
        let store = &*subject.store;
        let a = store
            .create_incident(&new_incident("a", Severity::Sev1), "x", at("2026-01-01T00:00:00Z"))
            .await
            .unwrap();
        let b = store
            .create_incident(&new_incident("b", Severity::Sev3), "x", at("2026-01-02T00:00:00Z"))
            .await
            .unwrap();
        let c = store
            .create_incident(&new_incident("c", Severity::Sev3), "x", at("2026-01-03T00:00:00Z"))
            .await
            .unwrap();
        store
            .change_incident(
                c.id,
                &IncidentChange::Status { to: Status::Triage, reason: String::new() },
                "x",
                at("2026-01-03T01:00:00Z"),
            )
            .await
            .unwrap();

        let ids = |list: Vec<firebreak_core::Incident>| {
            list.into_iter().map(|i| i.id).collect::<Vec<_>>()
        };
        assert_eq!(
            ids(store.list_incidents(&IncidentFilter::default()).await.unwrap()),
            vec![c.id, b.id, a.id]
        );
        let sev3 = IncidentFilter { severity: Some(Severity::Sev3), ..Default::default() };
        assert_eq!(ids(store.list_incidents(&sev3).await.unwrap()), vec![c.id, b.id]);
        let detected_sev3 = IncidentFilter { status: Some(Status::Detected), ..sev3 };
        assert_eq!(ids(store.list_incidents(&detected_sev3).await.unwrap()), vec![b.id]);
        let window = IncidentFilter {
            from: Some(at("2026-01-02T00:00:00Z")),
            to: Some(at("2026-01-03T00:00:00Z")),
            ..Default::default()
        };
        assert_eq!(ids(store.list_incidents(&window).await.unwrap()), vec![b.id]);
        assert!(matches!(store.get_incident(9999).await, Err(StoreError::NotFound(_))));
        assert!(matches!(store.timeline(9999).await, Err(StoreError::NotFound(_))));
        let empty = NewIncident {
            title: "".into(),
            summary: String::new(),
            severity: Severity::Sev4,
            drill: false,
        };
        assert!(matches!(
            store.create_incident(&empty, "x", at("2026-01-01T00:00:00Z")).await,
            Err(StoreError::Invalid(_))
        ));
        subject.finish().await;
    }
}

#[tokio::test]
async fn events_are_written_once_with_their_checkpoint() {
    for subject in subjects().await {
        let store = &*subject.store;
        assert_eq!(store.ingest_checkpoint().await.unwrap(), 0);
        let received = at("2026-02-01T00:00:00Z");
        let records: Vec<EventRecord> = (1..=450)
            .map(|id| {
                let json = format!(r#"{{"@timestamp":"2026-02-01T00:00:{:02}Z","source":{{"ip":"203.0.113.{}"}},"user":{{"name":"u{id}"}},"event":{{"category":"authentication","outcome":"failure"}}}}"#, id % 60, id % 250);
                EventRecord::from_event(id, received, &Event::from_json(json.as_bytes(), received).unwrap())
            })
            .collect();
        store.insert_events(records[..300].to_vec(), Vec::new(), 300).await.unwrap();
        // A replay after a crash may offer rows again: they are not duplicated.
        store.insert_events(records[250..].to_vec(), Vec::new(), 450).await.unwrap();
        assert_eq!(store.count_events().await.unwrap(), 450);
        assert_eq!(store.ingest_checkpoint().await.unwrap(), 450);
        // The checkpoint never moves back.
        store.insert_events(Vec::new(), Vec::new(), 10).await.unwrap();
        assert_eq!(store.ingest_checkpoint().await.unwrap(), 450);
        let page = store.list_events(440, 100).await.unwrap();
        assert_eq!(page.iter().map(|e| e.id).collect::<Vec<_>>(), (441..=450).collect::<Vec<_>>());
        assert_eq!(page[0], records[440]);
        subject.finish().await;
    }
}

#[tokio::test]
async fn users_tokens_and_audit() {
    for subject in subjects().await {
        let store = &*subject.store;
        let now = at("2026-02-01T00:00:00Z");
        assert_eq!(store.count_users().await.unwrap(), 0);
        let admin = store.create_user("admin", AccessRole::Admin, None, now).await.unwrap();
        assert!(matches!(
            store.create_user("admin", AccessRole::Viewer, None, now).await,
            Err(StoreError::Conflict(_))
        ));
        store.set_password(admin.id, "$argon2id$v=19$fake").await.unwrap();
        assert_eq!(
            store.user_by_name("admin").await.unwrap().unwrap().password_hash.as_deref(),
            Some("$argon2id$v=19$fake")
        );
        assert!(format!("{admin:?}").contains("redacted") || admin.password_hash.is_none());

        let token = store
            .create_token(
                NewToken {
                    name: "ci".into(),
                    kind: TokenKind::Api,
                    role: AccessRole::Responder,
                    user_id: Some(admin.id),
                    hash: "ab".repeat(32),
                    expires_at: Some(now + SignedDuration::from_hours(1)),
                },
                now,
            )
            .await
            .unwrap();
        assert!(!format!("{token:?}").contains(&"ab".repeat(32)));
        let found = store.token_by_hash(&"ab".repeat(32)).await.unwrap().unwrap();
        assert_eq!(found.role, AccessRole::Responder);
        assert!(found.usable(now));
        assert!(!found.usable(now + SignedDuration::from_hours(2)));
        store.revoke_token(token.id, now).await.unwrap();
        assert!(!store.token_by_hash(&"ab".repeat(32)).await.unwrap().unwrap().usable(now));
        assert!(matches!(store.revoke_token(token.id, now).await, Err(StoreError::Conflict(_))));
        assert!(matches!(store.revoke_token(777, now).await, Err(StoreError::NotFound(_))));
        assert_eq!(store.list_tokens().await.unwrap().len(), 1);

        let record = AuditRecord {
            at: now,
            actor: "admin".into(),
            action: "POST /api/v1/incidents".into(),
            target: "incident 1".into(),
            remote_addr: "127.0.0.1".into(),
            status: 201,
            detail: String::new(),
        };
        store.audit(&record).await.unwrap();
        assert_eq!(store.list_audit(10).await.unwrap(), vec![record]);
        subject.finish().await;
    }
}

#[tokio::test]
async fn concurrent_appends_keep_one_chain() {
    for subject in subjects().await {
        let incident = subject
            .store
            .create_incident(&new_incident("busy", Severity::Sev2), "x", at("2026-01-01T00:00:00Z"))
            .await
            .unwrap();
        let mut tasks = Vec::new();
        for writer in 0..8 {
            let store = subject.store.clone();
            tasks.push(tokio::spawn(async move {
                for note in 0..10 {
                    store
                        .append_entry(
                            incident.id,
                            NewEntry {
                                kind: EntryKind::Note,
                                occurred_at: at("2026-01-01T00:00:00Z"),
                                actor: format!("w{writer}"),
                                summary: format!("{note}"),
                                data: serde_json::Value::Null,
                            },
                            at("2026-01-01T00:00:01Z"),
                        )
                        .await
                        .unwrap();
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        let timeline = subject.store.timeline(incident.id).await.unwrap();
        assert_eq!(timeline.len(), 81);
        assert_eq!(verify_chain(&timeline), Ok(()), "{}", subject.name);
        subject.finish().await;
    }
}

#[tokio::test]
async fn an_unreachable_database_is_a_clear_error() {
    let error = firebreak_store::open("postgres://nobody:secret@127.0.0.1:1/none")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("cannot open the database at postgres://nobody:[redacted]@127.0.0.1:1/none"),
        "{error}"
    );
    assert!(!error.contains("secret"));
    let error = firebreak_store::open("sqlite:///nonexistent-dir/x/firebreak.db")
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("cannot open the database"), "{error}");
}

#[tokio::test]
async fn facts_are_versioned_and_obligation_decisions_kept_with_the_timeline() {
    use firebreak_store::ObligationRecord;
    for subject in subjects().await {
        let store = &*subject.store;
        let t0 = at("2026-04-01T09:00:00Z");
        let incident = store
            .create_incident(&new_incident("breach", Severity::Sev1), "ana", t0)
            .await
            .unwrap();
        assert_eq!(store.latest_document(incident.id, DocumentKind::Facts).await.unwrap(), None);
        let note = |summary: &str| NewEntry {
            kind: EntryKind::Obligation,
            occurred_at: t0,
            actor: "ana".into(),
            summary: summary.into(),
            data: serde_json::Value::Null,
        };
        let (v1, _) = store
            .record_document(incident.id, DocumentKind::Facts, r#"{"v":1}"#, note("facts v1"), t0)
            .await
            .unwrap();
        let (v2, _) = store
            .record_document(incident.id, DocumentKind::Facts, r#"{"v":2}"#, note("facts v2"), t0)
            .await
            .unwrap();
        assert_eq!((v1, v2), (1, 2));
        let latest =
            store.latest_document(incident.id, DocumentKind::Facts).await.unwrap().unwrap();
        assert_eq!(store.latest_document(incident.id, DocumentKind::Damage).await.unwrap(), None);
        assert_eq!(
            (latest.version, latest.doc.as_str(), latest.actor.as_str()),
            (2, r#"{"v":2}"#, "ana")
        );

        let record = |status: &str, detail: &str| ObligationRecord {
            rule_id: "gdpr-33".into(),
            status: status.into(),
            detail: detail.into(),
            at: t0,
            actor: "lee".into(),
        };
        store
            .record_obligation(incident.id, &record("drafted", ""), note("drafted"))
            .await
            .unwrap();
        store
            .record_obligation(
                incident.id,
                &record("sent", "DPA portal receipt 4411"),
                note("sent"),
            )
            .await
            .unwrap();
        assert_eq!(
            store.obligation_records(incident.id).await.unwrap(),
            vec![record("sent", "DPA portal receipt 4411")]
        );
        let timeline = store.timeline(incident.id).await.unwrap();
        assert_eq!(timeline.len(), 5);
        assert_eq!(verify_chain(&timeline), Ok(()));
        assert!(matches!(
            store.record_document(4242, DocumentKind::Facts, "{}", note("x"), t0).await,
            Err(StoreError::NotFound(_))
        ));
        subject.finish().await;
    }
}

#[tokio::test]
async fn events_are_searched_newest_first_by_address_user_time_and_text() {
    use firebreak_store::EventQuery;
    for subject in subjects().await {
        let store = &*subject.store;
        let received = at("2026-05-01T00:00:00Z");
        let rows: Vec<EventRecord> = (1..=300)
            .map(|id| {
                let json = format!(
                    r#"{{"@timestamp":"2026-05-01T{:02}:{:02}:00Z","source":{{"ip":"192.0.2.{}"}},"user":{{"name":"u{}"}},"event":{{"outcome":"{}"}},"message":"{}"}}"#,
                    id / 60,
                    id % 60,
                    id % 3,
                    id % 5,
                    if id % 2 == 0 { "success" } else { "failure" },
                    if id == 77 { "100%_sure" } else { "plain" }
                );
                EventRecord::from_raw(id, received, json.as_bytes()).unwrap()
            })
            .collect();
        store.insert_events(rows, Vec::new(), 300).await.unwrap();

        let search = |query: EventQuery| async move { store.search_events(&query).await.unwrap() };
        let by_ip =
            search(EventQuery { ip: Some("192.0.2.1".into()), limit: 1000, ..Default::default() })
                .await;
        assert_eq!(by_ip.len(), 100, "{}", subject.name);
        assert!(by_ip.windows(2).all(|w| (w[0].ts, w[0].id) > (w[1].ts, w[1].id)), "newest first");

        let narrow = search(EventQuery {
            ip: Some("192.0.2.1".into()),
            user: Some("u2".into()),
            outcome: Some("failure".into()),
            from: Some(at("2026-05-01T01:00:00Z")),
            to: Some(at("2026-05-01T03:00:00Z")),
            limit: 1000,
            ..Default::default()
        })
        .await;
        let ids: Vec<i64> = narrow.iter().map(|e| e.id).collect();
        let expected: Vec<i64> =
            (60..180).rev().filter(|id| id % 3 == 1 && id % 5 == 2 && id % 2 == 1).collect();
        assert_eq!(ids, expected);

        // Keyset pages cover everything exactly once.
        let mut seen = Vec::new();
        let mut before = None;
        loop {
            let page = search(EventQuery { before, limit: 70, ..Default::default() }).await;
            if page.is_empty() {
                break;
            }
            before = page.last().map(|e| (e.ts, e.id));
            seen.extend(page.into_iter().map(|e| e.id));
        }
        seen.sort();
        assert_eq!(seen, (1..=300).collect::<Vec<_>>());

        // Text is matched literally, wildcards included.
        let text =
            search(EventQuery { text: Some("100%_".into()), limit: 10, ..Default::default() })
                .await;
        assert_eq!(text.iter().map(|e| e.id).collect::<Vec<_>>(), vec![77]);
        assert!(
            search(EventQuery { text: Some("1%0".into()), limit: 10, ..Default::default() })
                .await
                .is_empty()
        );

        let plan = store
            .explain_search(&EventQuery {
                ip: Some("192.0.2.1".into()),
                limit: 100,
                ..Default::default()
            })
            .await
            .unwrap();
        if subject.name == "sqlite" {
            assert!(plan.iter().any(|line| line.contains("events_source_ip")), "{plan:?}");
        }
        subject.finish().await;
    }
}

#[tokio::test]
async fn the_team_holds_roles_and_tasks_come_due() {
    use firebreak_core::{ChecklistItem, Person, ResponseRole, Task, TaskStatus};
    for subject in subjects().await {
        let store = &*subject.store;
        let t0 = at("2026-07-01T08:00:00Z");
        let person = |name: &str, email: &str| Person {
            id: 0,
            name: name.into(),
            email: email.into(),
            phone: Some("+351 21 000 0000".into()),
            time_zone: "Europe/Lisbon".into(),
            roles: vec![ResponseRole::IncidentCommander, ResponseRole::TechnicalLead],
        };
        let ana = store.create_person(&person("Ana", "ana@example.org")).await.unwrap();
        let bo = store.create_person(&person("Bo", "bo@example.org")).await.unwrap();
        assert!(matches!(
            store.create_person(&person("Ana again", "ana@example.org")).await,
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(store.list_people().await.unwrap().len(), 2);
        store.set_on_call(ResponseRole::IncidentCommander, ana.id, t0).await.unwrap();
        store.set_on_call(ResponseRole::IncidentCommander, bo.id, t0).await.unwrap();
        assert_eq!(
            store.on_call().await.unwrap(),
            vec![(ResponseRole::IncidentCommander, bo.clone())]
        );

        let incident =
            store.create_incident(&new_incident("ATO", Severity::Sev2), "x", t0).await.unwrap();
        let entry = |summary: &str| NewEntry {
            kind: EntryKind::RoleAssigned,
            occurred_at: t0,
            actor: "x".into(),
            summary: summary.into(),
            data: serde_json::json!({}),
        };
        store
            .assign_role(
                incident.id,
                ResponseRole::IncidentCommander,
                ana.id,
                entry("ana commands"),
            )
            .await
            .unwrap();
        store
            .assign_role(incident.id, ResponseRole::IncidentCommander, bo.id, entry("bo commands"))
            .await
            .unwrap();
        let roles = store.incident_roles(incident.id).await.unwrap();
        assert_eq!(roles.len(), 1);
        assert_eq!(roles[0].person, bo);
        assert!(matches!(
            store.assign_role(incident.id, ResponseRole::Scribe, 999, entry("x")).await,
            Err(StoreError::NotFound(_))
        ));

        let task = Task {
            id: 0,
            incident_id: incident.id,
            title: "Rotate keys".into(),
            owner_id: Some(ana.id),
            role: None,
            due_at: Some(t0 + SignedDuration::from_hours(1)),
            status: TaskStatus::Open,
            checklist: vec![ChecklistItem { text: "API".into(), done: false }],
            created_at: t0,
            updated_at: t0,
        };
        let task_entry = |summary: &str| NewEntry {
            kind: EntryKind::Task,
            occurred_at: t0,
            actor: "x".into(),
            summary: summary.into(),
            data: serde_json::json!({}),
        };
        let mut task = store.create_task(&task, task_entry("task")).await.unwrap();
        assert_eq!(store.overdue_tasks(t0).await.unwrap(), vec![]);
        assert_eq!(
            store.overdue_tasks(t0 + SignedDuration::from_hours(2)).await.unwrap(),
            vec![task.clone()]
        );
        task.status = TaskStatus::Done;
        task.checklist[0].done = true;
        task.updated_at = t0 + SignedDuration::from_mins(30);
        let saved = store.save_task(&task, task_entry("done")).await.unwrap();
        assert_eq!(saved, task);
        assert_eq!(store.get_task(incident.id, task.id).await.unwrap(), task);
        assert!(store.overdue_tasks(t0 + SignedDuration::from_hours(2)).await.unwrap().is_empty());
        let timeline = store.timeline(incident.id).await.unwrap();
        assert_eq!(timeline.len(), 5);
        assert_eq!(verify_chain(&timeline), Ok(()));
        subject.finish().await;
    }
}

#[tokio::test]
async fn firings_fold_into_one_alert_per_rule_and_group_per_suppression_period() {
    use firebreak_core::AlertStatus;
    use firebreak_store::{AlertFilter, NewAlert};
    for subject in subjects().await {
        let store = &*subject.store;
        let t0 = at("2026-08-01T10:00:00Z");
        let hour = SignedDuration::from_hours(1);
        let firing = |minutes: i64, ip: &str| NewAlert {
            rule_id: "credential_stuffing".into(),
            title: "Credential stuffing".into(),
            severity: Severity::Sev2,
            group: serde_json::json!({"source.ip": ip}).as_object().unwrap().clone(),
            count: 5,
            first_seen: t0 + SignedDuration::from_mins(minutes),
            last_seen: t0 + SignedDuration::from_mins(minutes + 1),
            tags: vec!["attack.t1110.004".into()],
            sample: vec![format!("line {minutes}")],
        };
        let (first, created) =
            store.record_alert(&firing(0, "203.0.113.5"), hour, t0).await.unwrap();
        assert!(created);
        let (same, created) =
            store.record_alert(&firing(30, "203.0.113.5"), hour, t0).await.unwrap();
        assert!(!created);
        assert_eq!((same.id, same.count, same.sample.len()), (first.id, 10, 2));
        let (other, created) =
            store.record_alert(&firing(31, "198.51.100.1"), hour, t0).await.unwrap();
        assert!(created && other.id != first.id);
        let (later, created) =
            store.record_alert(&firing(200, "203.0.113.5"), hour, t0).await.unwrap();
        assert!(created && later.id != first.id, "a new suppression period, a new alert");

        let incident = store
            .create_incident(&new_incident("stuffing", Severity::Sev2), "firebreak", t0)
            .await
            .unwrap();
        let key = firebreak_core::alert::group_key(&first.group);
        assert_eq!(store.open_incident_for("credential_stuffing", Some(&key)).await.unwrap(), None);
        let entry = NewEntry {
            kind: EntryKind::AlertLinked,
            occurred_at: t0,
            actor: "firebreak".into(),
            summary: "linked".into(),
            data: serde_json::json!({}),
        };
        store.link_alert(first.id, incident.id, entry).await.unwrap();
        assert_eq!(
            store.open_incident_for("credential_stuffing", Some(&key)).await.unwrap(),
            Some(incident.id)
        );
        assert_eq!(
            store.open_incident_for("credential_stuffing", None).await.unwrap(),
            Some(incident.id),
            "by rule alone, whatever the group"
        );
        assert_eq!(store.open_incident_for("web_xss", None).await.unwrap(), None);
        let acked = store.set_alert_status(first.id, AlertStatus::Acknowledged, t0).await.unwrap();
        assert_eq!(
            (acked.status, acked.incident_id),
            (AlertStatus::Acknowledged, Some(incident.id))
        );
        let filter = |status| AlertFilter { status, limit: Some(10), ..AlertFilter::default() };
        assert_eq!(store.list_alerts(&filter(Some(AlertStatus::New))).await.unwrap().len(), 2);
        assert_eq!(store.list_alerts(&filter(None)).await.unwrap().len(), 3);
        subject.finish().await;
    }
}

#[tokio::test]
async fn a_batch_of_firings_is_recorded_and_linked_in_order_in_one_go() {
    use firebreak_store::NewAlert;
    for subject in subjects().await {
        let store = &*subject.store;
        let t0 = at("2026-08-01T10:00:00Z");
        let hour = SignedDuration::from_hours(1);
        let firing = |ip: &str| NewAlert {
            rule_id: "ssh_brute_force".into(),
            title: "SSH brute force".into(),
            severity: Severity::Sev3,
            group: serde_json::json!({"source.ip": ip}).as_object().unwrap().clone(),
            count: 10,
            first_seen: t0,
            last_seen: t0,
            tags: Vec::new(),
            sample: vec![format!("from {ip}")],
        };
        let batch = [firing("203.0.113.1"), firing("203.0.113.2"), firing("203.0.113.1")];
        let recorded = store.record_alerts(&batch, hour, t0).await.unwrap();
        let created: Vec<bool> = recorded.iter().map(|(_, created)| *created).collect();
        assert_eq!(
            created,
            [true, true, false],
            "{}: the third folds into the first",
            subject.name
        );
        assert_eq!(recorded[2].0.id, recorded[0].0.id);
        assert_eq!(recorded[2].0.count, 20);

        let incident = store
            .create_incident(&new_incident("wave", Severity::Sev3), "firebreak", t0)
            .await
            .unwrap();
        let entry = |n: i64| NewEntry {
            kind: EntryKind::AlertLinked,
            occurred_at: t0,
            actor: "firebreak".into(),
            summary: format!("alert {n}"),
            data: serde_json::json!({}),
        };
        let links = recorded[..2]
            .iter()
            .map(|(alert, _)| (alert.id, incident.id, entry(alert.id)))
            .collect();
        store.link_alerts(links).await.unwrap();
        let timeline = store.timeline(incident.id).await.unwrap();
        assert_eq!(verify_chain(&timeline), Ok(()));
        let linked: Vec<&str> = timeline
            .iter()
            .filter(|e| e.kind == EntryKind::AlertLinked)
            .map(|e| e.summary.as_str())
            .collect();
        let expected =
            [format!("alert {}", recorded[0].0.id), format!("alert {}", recorded[1].0.id)];
        assert_eq!(linked, expected);
        // A link to an alert that does not exist undoes the whole batch.
        let bad = vec![(recorded[0].0.id, incident.id, entry(0)), (999_999, incident.id, entry(1))];
        assert!(matches!(store.link_alerts(bad).await, Err(StoreError::NotFound(_))));
        assert_eq!(store.timeline(incident.id).await.unwrap().len(), timeline.len());
        subject.finish().await;
    }
}

#[tokio::test]
async fn triage_assigns_suppresses_merges_and_splits_with_every_step_on_the_timeline() {
    use firebreak_core::{AlertStatus, Person, SuppressionKind, SuppressionStatus};
    use firebreak_store::{AlertFilter, NewAlert};
    for subject in subjects().await {
        let store = &*subject.store;
        let t0 = at("2026-08-01T10:00:00Z");
        let hour = SignedDuration::from_hours(1);
        let firing = |rule: &str, ip: &str| NewAlert {
            rule_id: rule.into(),
            title: rule.into(),
            severity: Severity::Sev3,
            group: serde_json::json!({"source.ip": ip}).as_object().unwrap().clone(),
            count: 5,
            first_seen: t0,
            last_seen: t0,
            tags: Vec::new(),
            sample: Vec::new(),
        };
        let mut alerts = Vec::new();
        for (rule, ip) in [("ssh", "203.0.113.1"), ("ssh", "203.0.113.2"), ("web", "203.0.113.3")] {
            alerts.push(store.record_alert(&firing(rule, ip), hour, t0).await.unwrap().0);
        }
        let a = store.create_incident(&new_incident("wave a", Severity::Sev3), "ana", t0).await;
        let b = store.create_incident(&new_incident("wave b", Severity::Sev2), "ana", t0).await;
        let (a, b) = (a.unwrap(), b.unwrap());

        // Grouping by hand, then moving one alert on: both incidents record it.
        let ids: Vec<i64> = alerts.iter().map(|alert| alert.id).collect();
        store.move_alerts(&ids, a.id, "one wave", "ana", t0).await.unwrap();
        store.move_alerts(&ids[2..], b.id, "a different attack", "ana", t0).await.unwrap();
        let in_a = AlertFilter { incident_id: Some(a.id), ..AlertFilter::default() };
        assert_eq!(store.list_alerts(&in_a).await.unwrap().len(), 2);
        let a_timeline = store.timeline(a.id).await.unwrap();
        assert!(a_timeline.iter().any(|e| e.summary.contains("moved to incident")));

        // Assigning: the person must exist; the step is on the incident's timeline.
        let person = Person {
            id: 0,
            name: "Bo".into(),
            email: "bo@example.com".into(),
            phone: None,
            time_zone: "UTC".into(),
            roles: Vec::new(),
        };
        let person = store.create_person(&person).await.unwrap();
        let assigned = store.assign_alert(ids[0], Some(person.id), "ana", t0).await.unwrap();
        assert_eq!(assigned.assignee_id, Some(person.id));
        assert!(matches!(
            store.assign_alert(ids[0], Some(9999), "ana", t0).await,
            Err(StoreError::NotFound(_))
        ));
        let mine = AlertFilter { assignee_id: Some(person.id), ..AlertFilter::default() };
        assert_eq!(store.list_alerts(&mine).await.unwrap().len(), 1);

        // A false positive proposes; only a decision accepts, and only once.
        let (fp, proposed) =
            store.mark_false_positive(ids[1], "our scanner", "ana", t0).await.unwrap();
        assert_eq!(fp.status, AlertStatus::FalsePositive);
        let kinds: Vec<SuppressionKind> = proposed.iter().map(|p| p.kind).collect();
        assert_eq!(kinds, [SuppressionKind::Allow, SuppressionKind::RuleFilter]);
        assert!(matches!(
            store.mark_false_positive(ids[1], "again", "ana", t0).await,
            Err(StoreError::Conflict(_))
        ));
        let accepted =
            store.decide_suppression(proposed[0].id, true, "yes", "cmd", t0).await.unwrap();
        assert_eq!(accepted.status, SuppressionStatus::Accepted);
        store.decide_suppression(proposed[1].id, false, "too wide", "cmd", t0).await.unwrap();
        let again = store.decide_suppression(proposed[0].id, false, "no", "cmd", t0).await;
        assert!(matches!(again, Err(StoreError::Conflict(_))));
        let live = store.list_suppressions(Some(SuppressionStatus::Accepted)).await.unwrap();
        assert_eq!(live.iter().map(|s| s.id).collect::<Vec<_>>(), [proposed[0].id]);

        // Split one alert out of a, then merge b into the new one.
        let split = store
            .split_incident(
                a.id,
                &ids[..1],
                &new_incident("split", Severity::Sev3),
                "apart",
                "ana",
                t0,
            )
            .await
            .unwrap();
        assert_eq!(store.get_alert(ids[0]).await.unwrap().incident_id, Some(split.id));
        let wrong = store
            .split_incident(a.id, &ids[2..], &new_incident("x", Severity::Sev3), "r", "ana", t0)
            .await;
        assert!(matches!(wrong, Err(StoreError::Invalid(_))), "alert 3 is in b, not a");
        store.merge_incidents(b.id, split.id, "same actor", "cmd", t0).await.unwrap();
        let merged = store.get_incident(b.id).await.unwrap();
        assert_eq!((merged.merged_into, merged.status), (Some(split.id), Status::Closed));
        assert_eq!(store.get_alert(ids[2]).await.unwrap().incident_id, Some(split.id));
        let closed = store.move_alerts(&ids[..1], b.id, "back", "ana", t0).await;
        assert!(
            matches!(closed, Err(StoreError::Conflict(_))),
            "a merged incident takes no alerts"
        );
        let itself = store.merge_incidents(split.id, split.id, "r", "cmd", t0).await;
        assert!(matches!(itself, Err(StoreError::Invalid(_))));

        // Every chain still verifies; the figures leave the merged incident out.
        for id in [a.id, b.id, split.id] {
            let entries = store.timeline(id).await.unwrap();
            assert!(verify_chain(&entries).is_ok(), "incident {id}");
            assert!(entries.iter().any(|e| e.kind == EntryKind::Triage), "incident {id}");
        }
        let stats = store.incident_stats().await.unwrap();
        assert_eq!((stats.total, stats.merged), (2, 1));
        subject.finish().await;
    }
}

#[tokio::test]
async fn retention_deletes_the_oldest_received_events_in_batches() {
    for subject in subjects().await {
        let store = &*subject.store;
        let t0 = at("2026-08-01T00:00:00Z");
        let events: Vec<EventRecord> = (1..=25)
            .map(|id| {
                let received = t0 + SignedDuration::from_hours(id);
                let doc = format!(r#"{{"message":"e{id}"}}"#);
                EventRecord::from_raw(id, received, doc.as_bytes()).unwrap()
            })
            .collect();
        store.insert_events(events, Vec::new(), 25).await.unwrap();
        let cutoff = t0 + SignedDuration::from_hours(10) + SignedDuration::from_mins(30);
        assert_eq!(store.delete_events_before(cutoff, 4).await.unwrap(), 4);
        assert_eq!(store.delete_events_before(cutoff, 4).await.unwrap(), 4);
        assert_eq!(store.delete_events_before(cutoff, 4).await.unwrap(), 2, "10 were older");
        assert_eq!(store.delete_events_before(cutoff, 4).await.unwrap(), 0);
        assert_eq!(store.count_events().await.unwrap(), 15);
        assert_eq!(store.list_events(0, 1).await.unwrap()[0].id, 11);
        subject.finish().await;
    }
}

#[tokio::test]
async fn decisions_stream_their_starts_and_ends_and_jobs_are_claimed_once() {
    use firebreak_core::{Decision, DecisionKind, Term};
    use firebreak_store::{DecisionChange, DecisionFilter, JobState, NewJob};
    for subject in subjects().await {
        let store = &*subject.store;
        let t0 = at("2026-08-01T10:00:00Z");
        let mins = SignedDuration::from_mins;
        let incident =
            store.create_incident(&new_incident("stuffing", Severity::Sev2), "ana", t0).await;
        let incident = incident.unwrap();
        let ban = |target: &str, minutes: i64| Decision {
            id: 0,
            kind: DecisionKind::Ban,
            target: target.into(),
            reason: "credential stuffing".into(),
            incident_id: Some(incident.id),
            decided_by: "playbook".into(),
            term: Term::Short,
            offence: 0,
            created_at: t0,
            expires_at: t0 + mins(minutes),
            rolled_back_at: None,
            rolled_back_by: None,
        };
        let entry = || NewEntry {
            kind: EntryKind::Decision,
            occurred_at: t0,
            actor: "playbook".into(),
            summary: "ban".into(),
            data: serde_json::json!({}),
        };
        let a = store.create_decision(&ban("203.0.113.5", 60), Some(entry())).await.unwrap();
        let b = store.create_decision(&ban("198.51.100.0/24", 10), Some(entry())).await.unwrap();
        assert_eq!(store.count_decisions(DecisionKind::Ban, "203.0.113.5").await.unwrap(), 1);
        let bad = Decision { expires_at: t0, ..ban("192.0.2.1", 0) };
        assert!(matches!(store.create_decision(&bad, None).await, Err(StoreError::Invalid(_))));

        // The stream: both new after t0 - 1m; at +15m, b has ended.
        let (fresh, ended) = store.decisions_since(t0 - mins(1), t0 + mins(1)).await.unwrap();
        assert_eq!((fresh.len(), ended.len()), (2, 0));
        let (fresh, ended) = store.decisions_since(t0 + mins(1), t0 + mins(15)).await.unwrap();
        assert!(fresh.is_empty());
        assert_eq!(ended.iter().map(|d| d.id).collect::<Vec<_>>(), [b.id]);
        let active =
            DecisionFilter { in_force_at: Some(t0 + mins(15)), ..DecisionFilter::default() };
        assert_eq!(store.list_decisions(&active).await.unwrap().len(), 1);

        // Extending shows it again as new; rolling back ends it; an ended one cannot change.
        let until = t0 + mins(120);
        let extend = DecisionChange::Extend { until };
        store.change_decision(a.id, extend, "still coming", "ana", t0 + mins(20)).await.unwrap();
        let (fresh, _) = store.decisions_since(t0 + mins(15), t0 + mins(21)).await.unwrap();
        assert_eq!(fresh.iter().map(|d| (d.id, d.expires_at)).collect::<Vec<_>>(), [(a.id, until)]);
        let back = DecisionChange::RollBack;
        let rolled = store.change_decision(a.id, back, "customer NAT", "ana", t0 + mins(30));
        assert_eq!(rolled.await.unwrap().rolled_back_by.as_deref(), Some("ana"));
        let (_, ended) = store.decisions_since(t0 + mins(21), t0 + mins(31)).await.unwrap();
        assert_eq!(ended.iter().map(|d| d.id).collect::<Vec<_>>(), [a.id]);
        let again = store.change_decision(a.id, back, "again", "ana", t0 + mins(32)).await;
        assert!(matches!(again, Err(StoreError::Conflict(_))));
        let entries = store.timeline(incident.id).await.unwrap();
        assert_eq!(entries.iter().filter(|e| e.kind == EntryKind::Decision).count(), 4);
        assert!(verify_chain(&entries).is_ok());

        // Jobs: deduplicated, claimed once, requeued after an interruption.
        let job = |key: &str, minutes: i64| NewJob {
            kind: "decision_expiry".into(),
            due_at: t0 + mins(minutes),
            payload: serde_json::json!({ "decision": 1 }),
            dedupe_key: Some(key.into()),
        };
        let first = store.schedule_job(&job("expire-1", 5), t0).await.unwrap();
        let same = store.schedule_job(&job("expire-1", 9), t0).await.unwrap();
        assert_eq!(first.id, same.id);
        store.schedule_job(&job("expire-2", 50), t0).await.unwrap();
        store.schedule_job(&job("cancel-me", 1), t0).await.unwrap();
        assert!(store.cancel_job("cancel-me", t0).await.unwrap());
        assert!(store.claim_due_jobs(t0, 10).await.unwrap().is_empty());
        let claimed = store.claim_due_jobs(t0 + mins(10), 10).await.unwrap();
        assert_eq!(claimed.iter().map(|j| j.id).collect::<Vec<_>>(), [first.id]);
        assert!(store.claim_due_jobs(t0 + mins(10), 10).await.unwrap().is_empty(), "once");
        assert_eq!(store.requeue_interrupted_jobs().await.unwrap(), 1);
        let again = store.claim_due_jobs(t0 + mins(10), 10).await.unwrap();
        assert_eq!((again.len(), again[0].attempts), (1, 2));
        store.finish_job(first.id, None, t0 + mins(10)).await.unwrap();
        assert!(store.finish_job(first.id, None, t0 + mins(10)).await.is_err());
        let done = store.list_jobs(Some(JobState::Done), 10).await.unwrap();
        assert_eq!(done.len(), 1);

        // Bouncers: pulls are recorded.
        let bouncer = store.create_bouncer("edge", "abc123", t0).await.unwrap();
        assert_eq!(store.bouncer_pulled(bouncer.id, t0).await.unwrap(), None);
        assert_eq!(store.bouncer_pulled(bouncer.id, t0 + mins(1)).await.unwrap(), Some(t0));
        assert_eq!(store.bouncer_by_hash("abc123").await.unwrap().map(|b| b.id), Some(bouncer.id));
        store.revoke_bouncer(bouncer.id, t0).await.unwrap();
        assert!(matches!(store.revoke_bouncer(bouncer.id, t0).await, Err(StoreError::Conflict(_))));
        subject.finish().await;
    }
}
