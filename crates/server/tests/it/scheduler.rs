//! Decision expiry on a fake clock, and the scheduler across restarts: a job due while the
//! server was down fires once after the start; one cut short by a crash runs again, once.

use std::sync::Arc;

use firebreak_core::{Clock, DecisionKind, FakeClock, NewIncident, Severity, Term};
use firebreak_respond::BanPolicy;
use firebreak_server::api::evidence::EvidenceSink;
use firebreak_server::config::ResponseConfig;
use firebreak_server::evidence::BlobStore;
use firebreak_server::response::{DECISION_EXPIRY, DecisionRequest, ExpiryHandler, Responder};
use firebreak_server::scheduler::Scheduler;
use firebreak_store::Store;
use jiff::SignedDuration;

struct World {
    store: Arc<dyn Store>,
    clock: Arc<FakeClock>,
    _dir: tempfile::TempDir,
    blobs: std::path::PathBuf,
}

impl World {
    async fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let store = firebreak_store::open(&format!("sqlite://{}", dir.path().join("db").display()))
            .await
            .unwrap();
        let clock = Arc::new(FakeClock::new("2026-10-01T02:00:00Z".parse().unwrap()));
        let blobs = dir.path().join("evidence");
        World { store, clock, _dir: dir, blobs }
    }

    /// A responder and a scheduler, as `serve` starts them.
    async fn start(&self) -> (Arc<Responder>, Scheduler) {
        let sink = EvidenceSink {
            store: self.store.clone(),
            blobs: BlobStore::new(self.blobs.clone()),
            max_bytes: 1 << 20,
            clock: self.clock.clone(),
        };
        let responder = Responder::new(
            &ResponseConfig::default(),
            BanPolicy::default(),
            Vec::new(),
            self.store.clone(),
            self.clock.clone(),
            sink,
        )
        .await
        .unwrap();
        let responder = Arc::new(responder);
        let mut scheduler = Scheduler::new(self.store.clone(), self.clock.clone());
        scheduler.register(DECISION_EXPIRY, Arc::new(ExpiryHandler(responder.clone())));
        scheduler.start().await.unwrap();
        (responder, scheduler)
    }

    async fn ban(&self, responder: &Responder, ip: &str, minutes: i64, incident: i64) -> i64 {
        let request = DecisionRequest {
            kind: DecisionKind::Ban,
            target: ip.into(),
            duration: Some(SignedDuration::from_mins(minutes)),
            reason: "stuffing".into(),
            incident_id: Some(incident),
            term: Term::Short,
        };
        responder.decide(request, "ana").await.unwrap().id
    }

    async fn expiries(&self, incident: i64, decision: i64) -> usize {
        let needle = format!("Decision {decision} expired");
        let timeline = self.store.timeline(incident).await.unwrap();
        timeline.iter().filter(|entry| entry.summary.contains(&needle)).count()
    }

    fn advance(&self, minutes: i64) {
        self.clock.advance(SignedDuration::from_mins(minutes));
    }
}

#[tokio::test]
async fn a_decision_expires_when_the_clock_says_and_not_before() {
    let world = World::new().await;
    let new = NewIncident {
        title: "t".into(),
        summary: String::new(),
        severity: Severity::Sev3,
        drill: false,
    };
    let incident = world.store.create_incident(&new, "ana", world.clock.now()).await.unwrap().id;
    let (responder, scheduler) = world.start().await;
    let id = world.ban(&responder, "203.0.113.5", 10, incident).await;
    let ip = "203.0.113.5".parse().unwrap();
    world.advance(9);
    assert_eq!(scheduler.tick().await.unwrap(), 0);
    assert!(responder.index.check_ip(ip, world.clock.now()).is_some());
    world.advance(2);
    assert_eq!(scheduler.tick().await.unwrap(), 1);
    assert!(responder.index.check_ip(ip, world.clock.now()).is_none());
    assert_eq!(world.expiries(incident, id).await, 1);
    assert_eq!(scheduler.tick().await.unwrap(), 0, "never twice");

    // Extended before it expires: the first expiry job finds it still in force and does nothing.
    let id = world.ban(&responder, "203.0.113.6", 10, incident).await;
    let until = world.clock.now() + SignedDuration::from_mins(30);
    responder.extend(id, until, "still coming", "ana").await.unwrap();
    world.advance(11);
    assert_eq!(scheduler.tick().await.unwrap(), 1);
    assert_eq!(world.expiries(incident, id).await, 0);
    world.advance(20);
    assert_eq!(scheduler.tick().await.unwrap(), 1);
    assert_eq!(world.expiries(incident, id).await, 1);
}

#[tokio::test]
async fn jobs_due_during_downtime_fire_once_after_the_restart() {
    let world = World::new().await;
    let new = NewIncident {
        title: "t".into(),
        summary: String::new(),
        severity: Severity::Sev3,
        drill: false,
    };
    let incident = world.store.create_incident(&new, "ana", world.clock.now()).await.unwrap().id;
    let (responder, scheduler) = world.start().await;
    let due_while_down = world.ban(&responder, "198.51.100.1", 1, incident).await;
    let cut_short = world.ban(&responder, "198.51.100.2", 2, incident).await;
    drop((responder, scheduler));

    // Down for ten minutes; and a crash had left one job claimed but not finished.
    world.advance(10);
    let claimed = world.store.claim_due_jobs(world.clock.now(), 1).await.unwrap();
    assert_eq!(claimed.len(), 1);

    let (responder, scheduler) = world.start().await;
    assert_eq!(scheduler.tick().await.unwrap(), 2, "both expiries run after the start");
    assert_eq!(scheduler.tick().await.unwrap(), 0);
    for id in [due_while_down, cut_short] {
        assert_eq!(world.expiries(incident, id).await, 1, "decision {id}");
    }
    let ip = "198.51.100.1".parse().unwrap();
    assert!(responder.index.check_ip(ip, world.clock.now()).is_none());
}

#[tokio::test]
async fn obligation_reminders_fall_when_due_and_stop_once_the_obligation_is_settled() {
    use firebreak_comply::{Facts, RulesTable};
    use firebreak_core::{EntryKind, NewEntry};
    use firebreak_server::api::obligations::{
        OBLIGATION_REMINDER, ReminderHandler, schedule_reminders,
    };
    use firebreak_store::{DocumentKind, ObligationRecord};

    let world = World::new().await;
    let example = include_str!("../../../comply/examples/facts.toml");
    let facts = Facts::from_toml(example).unwrap();
    // Aware at 2026-03-02T17:00Z: GDPR Art. 33's 72 hours end 2026-03-05T17:00Z.
    world.clock.set("2026-03-02T17:00:00Z".parse().unwrap());
    let now = world.clock.now();
    let new = NewIncident {
        title: "t".into(),
        summary: String::new(),
        severity: Severity::Sev1,
        drill: false,
    };
    let incident = world.store.create_incident(&new, "ana", now).await.unwrap().id;
    let entry = NewEntry {
        kind: EntryKind::Obligation,
        occurred_at: now,
        actor: "ana".into(),
        summary: "facts".into(),
        data: serde_json::json!({}),
    };
    let json = serde_json::to_string(&facts).unwrap();
    world.store.record_document(incident, DocumentKind::Facts, &json, entry, now).await.unwrap();
    let assessment = firebreak_comply::compute(&facts, &RulesTable::builtin().unwrap());
    assert!(assessment.obligations.iter().any(|o| o.rule_id == "gdpr-33"));
    let plan = firebreak_comply::tracking::default_plan();
    schedule_reminders(&*world.store, &plan, now, incident, &assessment).await.unwrap();

    let mut scheduler = Scheduler::new(world.store.clone(), world.clock.clone());
    let handler = ReminderHandler {
        store: world.store.clone(),
        clock: world.clock.clone(),
        plan: plan.clone(),
        notifier: None,
    };
    scheduler.register(OBLIGATION_REMINDER, Arc::new(handler));
    scheduler.start().await.unwrap();
    let gdpr_reminders = async || {
        let timeline = world.store.timeline(incident).await.unwrap();
        timeline
            .iter()
            .filter(|e| e.summary.starts_with("Reminder:") && e.summary.contains("(gdpr-33)"))
            .count()
    };
    assert_eq!(scheduler.tick().await.unwrap(), 0, "nothing is due at awareness");
    // Half-time: 36 hours in.
    world.clock.set("2026-03-04T05:30:00Z".parse().unwrap());
    assert!(scheduler.tick().await.unwrap() >= 1);
    assert_eq!(gdpr_reminders().await, 1);
    // Settled as not required: the 24-hours-before reminder finds nothing to say.
    let record = ObligationRecord {
        rule_id: "gdpr-33".into(),
        status: "not_required".into(),
        detail: "the DPA confirmed no notice is needed".into(),
        at: world.clock.now(),
        actor: "legal".into(),
    };
    let entry = NewEntry {
        kind: EntryKind::Obligation,
        occurred_at: world.clock.now(),
        actor: "legal".into(),
        summary: "not required".into(),
        data: serde_json::json!({}),
    };
    world.store.record_obligation(incident, &record, entry).await.unwrap();
    world.clock.set("2026-03-05T16:30:00Z".parse().unwrap());
    assert!(scheduler.tick().await.unwrap() >= 2, "the 24 h and 1 h jobs ran");
    assert_eq!(gdpr_reminders().await, 1, "no reminder once it is settled");
    assert_eq!(scheduler.tick().await.unwrap(), 0);
}
