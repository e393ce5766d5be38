//! Escalation with a fake clock, a real SQLite store in a temporary directory, the real
//! scheduler, and e-mail delivered over SMTP to a sink on loopback.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use firebreak_core::{Clock, FakeClock, NewIncident, Person, ResponseRole, Severity, Status};
use firebreak_store::{IncidentChange, JobState, NotificationFilter, NotificationStatus, Store};
use jiff::{SignedDuration, Timestamp};

use super::Notifier;
use super::config::{ChannelConfig, EmailChannel, NotifyConfig, RouteConfig, SmtpTls};
use super::escalation::{EscalationHandler, KIND};
use crate::scheduler::Scheduler;

/// A mail as the sink received it.
#[derive(Debug, Clone, Default)]
pub struct Mail {
    pub to: Vec<String>,
    pub data: String,
}

/// An SMTP server on loopback: `mailin` speaks the protocol, this loop does the I/O.
pub struct Sink {
    pub port: u16,
    pub mails: Arc<Mutex<Vec<Mail>>>,
}

struct Collect {
    mails: Arc<Mutex<Vec<Mail>>>,
    current: Mail,
}

impl mailin::Handler for Collect {
    fn data_start(&mut self, _: &str, _: &str, _: bool, to: &[String]) -> mailin::Response {
        self.current = Mail { to: to.to_vec(), data: String::new() };
        mailin::response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.current.data.push_str(&String::from_utf8_lossy(buf));
        Ok(())
    }

    fn data_end(&mut self) -> mailin::Response {
        self.mails.lock().unwrap().push(std::mem::take(&mut self.current));
        mailin::response::OK
    }
}

impl Sink {
    pub fn start() -> Sink {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mails = Arc::new(Mutex::new(Vec::new()));
        let shared = mails.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mails = shared.clone();
                std::thread::spawn(move || {
                    let peer = stream.peer_addr().unwrap().ip();
                    let mut session = mailin::SessionBuilder::new("sink.test")
                        .build(peer, Collect { mails, current: Mail::default() });
                    let mut out = stream.try_clone().unwrap();
                    session.greeting().write_to(&mut out).unwrap();
                    let mut reader = BufReader::new(stream);
                    let mut line = Vec::new();
                    loop {
                        line.clear();
                        if reader.read_until(b'\n', &mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        let response = session.process(&line);
                        if response.action != mailin::Action::NoReply {
                            response.write_to(&mut out).unwrap();
                            out.flush().unwrap();
                        }
                        if response.action == mailin::Action::Close {
                            return;
                        }
                    }
                });
            }
        });
        Sink { port, mails }
    }

    /// Waits (at most 10 s) until `count` mails have come, and returns them all.
    pub fn wait_for(&self, count: usize) -> Vec<Mail> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let mails = self.mails.lock().unwrap().clone();
            if mails.len() >= count {
                return mails;
            }
            assert!(Instant::now() < deadline, "only {} of {count} mails came", mails.len());
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

struct World {
    dir: tempfile::TempDir,
    url: String,
    clock: Arc<FakeClock>,
    sink: Sink,
    config: NotifyConfig,
}

impl World {
    fn new(rounds: u32) -> World {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("firebreak.db").display());
        let clock = Arc::new(FakeClock::new("2026-03-01T10:00:00Z".parse().unwrap()));
        let sink = Sink::start();
        let config = NotifyConfig {
            public_url: Some("https://firebreak.example.com".into()),
            channels: vec![ChannelConfig::Email(EmailChannel {
                name: "mail".into(),
                host: "127.0.0.1".into(),
                port: Some(sink.port),
                tls: SmtpTls::None,
                from: "firebreak@example.com".into(),
                username: None,
                password: None,
                to: Vec::new(),
                timeout_secs: 10,
                retries: 0,
                backoff_ms: 10,
            })],
            routes: vec![RouteConfig {
                name: Some("page".into()),
                min_severity: Severity::Sev2,
                events: Vec::new(),
                channels: Vec::new(),
                roles: vec![ResponseRole::IncidentCommander, ResponseRole::TechnicalLead],
                email_channel: None,
                escalate_after_minutes: Some(10),
                rounds,
            }],
            templates: Vec::new(),
        };
        World { dir, url, clock, sink, config }
    }

    /// The server's parts, as `serve` wires them: opened afresh, as after a restart.
    async fn start(&self) -> (Arc<dyn Store>, Arc<Notifier>, Scheduler) {
        let store = firebreak_store::open(&self.url).await.unwrap();
        let clock: Arc<dyn Clock> = self.clock.clone();
        let notifier = Arc::new(
            Notifier::new(
                self.config.clone(),
                "http://127.0.0.1:1",
                self.dir.path(),
                store.clone(),
                clock.clone(),
            )
            .unwrap(),
        );
        let mut scheduler = Scheduler::new(store.clone(), clock);
        scheduler.register(KIND, Arc::new(EscalationHandler(notifier.clone())));
        scheduler.start().await.unwrap();
        (store, notifier, scheduler)
    }

    fn advance(&self, minutes: i64) {
        self.clock.advance(SignedDuration::from_mins(minutes));
    }
}

/// Ana commands, Bo leads technically; both on call. An incident at `severity`.
async fn team_and_incident(store: &dyn Store, at: Timestamp, severity: Severity) -> i64 {
    for (name, role) in
        [("Ana", ResponseRole::IncidentCommander), ("Bo", ResponseRole::TechnicalLead)]
    {
        let person = match store.list_people().await.unwrap().into_iter().find(|p| p.name == name) {
            Some(person) => person,
            None => store
                .create_person(&Person {
                    id: 0,
                    name: name.into(),
                    email: format!("{}@example.org", name.to_lowercase()),
                    phone: None,
                    time_zone: "UTC".into(),
                    roles: vec![role],
                })
                .await
                .unwrap(),
        };
        store.set_on_call(role, person.id, at).await.unwrap();
    }
    let new = NewIncident {
        title: "Credential stuffing".into(),
        summary: String::new(),
        severity,
        drill: false,
    };
    store.create_incident(&new, "test", at).await.unwrap().id
}

async fn recipients(store: &dyn Store, incident_id: i64) -> Vec<(u32, String)> {
    let filter = NotificationFilter { incident_id: Some(incident_id), ..Default::default() };
    let mut list: Vec<(u32, String)> = store
        .list_notifications(&filter)
        .await
        .unwrap()
        .into_iter()
        .map(|n| (n.level, n.recipient))
        .collect();
    list.reverse();
    list
}

#[tokio::test]
async fn unacknowledged_pages_go_down_the_chain_round_after_round_then_stop() {
    let world = World::new(2);
    let (store, notifier, scheduler) = world.start().await;
    let incident = team_and_incident(&*store, world.clock.now(), Severity::Sev2).await;

    // Not severe enough for the route: nothing.
    let minor = team_and_incident(&*store, world.clock.now(), Severity::Sev3).await;
    assert!(
        notifier
            .incident_event(minor, Severity::Sev3, "incident_opened", "")
            .await
            .unwrap()
            .is_empty()
    );

    let sent =
        notifier.incident_event(incident, Severity::Sev2, "incident_opened", "Wave").await.unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].status, NotificationStatus::Sent);
    let mails = world.sink.wait_for(1);
    assert_eq!(mails[0].to, vec!["ana@example.org"]);
    assert!(mails[0].data.contains("https://firebreak.example.com/ack/"), "{}", mails[0].data);

    world.advance(9);
    assert_eq!(scheduler.tick().await.unwrap(), 0, "not yet: 9 of 10 minutes");
    world.advance(2);
    assert_eq!(scheduler.tick().await.unwrap(), 1);
    assert_eq!(world.sink.wait_for(2)[1].to, vec!["bo@example.org"]);
    // The second round starts over with the commander, then the technical lead again.
    for expected in ["ana@example.org", "bo@example.org"] {
        world.advance(10);
        assert_eq!(scheduler.tick().await.unwrap(), 1);
        assert_eq!(world.sink.wait_for(1).last().unwrap().to, vec![expected]);
    }
    assert_eq!(
        recipients(&*store, incident).await,
        vec![
            (0, "ana@example.org".into()),
            (1, "bo@example.org".into()),
            (2, "ana@example.org".into()),
            (3, "bo@example.org".into()),
        ]
    );
    // Two rounds are over: the escalation stops, and the timeline says so.
    world.advance(10);
    assert_eq!(scheduler.tick().await.unwrap(), 1);
    world.advance(60);
    assert_eq!(scheduler.tick().await.unwrap(), 0);
    assert_eq!(world.sink.mails.lock().unwrap().len(), 4);
    let escalation = store.get_escalation(sent[0].escalation_id.unwrap()).await.unwrap();
    assert!(escalation.ended_reason.unwrap().contains("nobody acknowledged after 2 rounds"));
    let timeline = store.timeline(incident).await.unwrap();
    let communications: Vec<&str> = timeline
        .iter()
        .filter(|e| e.kind == firebreak_core::EntryKind::Communication)
        .map(|e| e.summary.as_str())
        .collect();
    assert_eq!(communications.len(), 5, "{communications:#?}");
    assert!(communications[1].starts_with("Escalated (page, step 2)"), "{communications:#?}");
    assert!(communications[4].contains("stopped"), "{communications:#?}");
    firebreak_core::verify_chain(&timeline).unwrap();
}

#[tokio::test]
async fn an_acknowledged_page_goes_no_further() {
    let world = World::new(3);
    let (store, notifier, scheduler) = world.start().await;
    let incident = team_and_incident(&*store, world.clock.now(), Severity::Sev1).await;
    let sent =
        notifier.incident_event(incident, Severity::Sev1, "incident_opened", "").await.unwrap();
    world.sink.wait_for(1);
    world.advance(3);
    let acknowledged = notifier.acknowledge(sent[0].id, "ana", "API").await.unwrap();
    assert_eq!(acknowledged.status, NotificationStatus::Acknowledged);
    assert_eq!(acknowledged.acknowledged_by.as_deref(), Some("ana"));
    let pending = store.list_jobs(Some(JobState::Pending), 100).await.unwrap();
    assert!(pending.is_empty(), "the pending step is cancelled: {pending:?}");
    for _ in 0..6 {
        world.advance(10);
        assert_eq!(scheduler.tick().await.unwrap(), 0);
    }
    assert_eq!(world.sink.mails.lock().unwrap().len(), 1);
    let again = notifier.acknowledge(sent[0].id, "bo", "API").await.unwrap_err();
    assert!(again.to_string().contains("already acknowledged by ana"), "{again}");
    let timeline = store.timeline(incident).await.unwrap();
    assert!(timeline.iter().any(|e| e.actor == "ana" && e.summary.contains("acknowledged")));

    // A closed incident stops its escalation at the next step.
    let other = team_and_incident(&*store, world.clock.now(), Severity::Sev1).await;
    let sent = notifier.incident_event(other, Severity::Sev1, "incident_opened", "").await.unwrap();
    world.sink.wait_for(2);
    let close = IncidentChange::Status { to: Status::Closed, reason: "false positive".into() };
    store.change_incident(other, &close, "test", world.clock.now()).await.unwrap();
    world.advance(10);
    assert_eq!(scheduler.tick().await.unwrap(), 1);
    assert_eq!(world.sink.mails.lock().unwrap().len(), 2);
    let escalation = store.get_escalation(sent[0].escalation_id.unwrap()).await.unwrap();
    assert_eq!(escalation.ended_reason.as_deref(), Some("the incident is closed"));
}

#[tokio::test]
async fn a_step_due_while_the_server_was_down_runs_once_after_the_restart() {
    let world = World::new(2);
    let incident;
    {
        let (store, notifier, _scheduler) = world.start().await;
        incident = team_and_incident(&*store, world.clock.now(), Severity::Sev2).await;
        notifier.incident_event(incident, Severity::Sev2, "incident_opened", "").await.unwrap();
        world.sink.wait_for(1);
    }
    // Down for 25 minutes: the step due at 10 minutes came and went.
    world.advance(25);
    let (store, notifier, scheduler) = world.start().await;
    assert_eq!(scheduler.tick().await.unwrap(), 1);
    assert_eq!(scheduler.tick().await.unwrap(), 0);
    assert_eq!(world.sink.wait_for(2)[1].to, vec!["bo@example.org"]);

    // A crash in the middle of the next step: claimed and sent, but never marked done.
    world.advance(10);
    let claimed = store.claim_due_jobs(world.clock.now(), 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let handler = EscalationHandler(notifier.clone());
    crate::scheduler::JobHandler::run(&handler, &claimed[0]).await.unwrap();
    assert_eq!(world.sink.wait_for(3)[2].to, vec!["ana@example.org"]);
    drop((store, notifier, scheduler, handler));
    let (store, _notifier, scheduler) = world.start().await;
    assert_eq!(scheduler.tick().await.unwrap(), 1, "the interrupted step runs again");
    assert_eq!(scheduler.tick().await.unwrap(), 0);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(world.sink.mails.lock().unwrap().len(), 3, "but its mail is not sent twice");
    assert_eq!(
        recipients(&*store, incident).await,
        vec![
            (0, "ana@example.org".into()),
            (1, "bo@example.org".into()),
            (2, "ana@example.org".into()),
        ]
    );
    // The step after it is still scheduled, once.
    let pending = store.list_jobs(Some(JobState::Pending), 100).await.unwrap();
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert_eq!(pending[0].dedupe_key.as_deref(), Some("escalation:1:3"));
}

#[tokio::test]
async fn a_playbook_step_mails_the_roles_it_names() {
    let world = World::new(1);
    let (store, notifier, _scheduler) = world.start().await;
    let incident = team_and_incident(&*store, world.clock.now(), Severity::Sev3).await;
    let incident = store.get_incident(incident).await.unwrap();
    let roles = [ResponseRole::TechnicalLead, ResponseRole::Scribe];
    let words = notifier.notify_roles(&incident, &roles, "Banned 203.0.113.5").await.unwrap();
    assert_eq!(words, "bo@example.org (technical lead) sent; nobody to reach as scribe");
    let mail = world.sink.wait_for(1).remove(0);
    assert_eq!(mail.to, vec!["bo@example.org"]);
    assert!(mail.data.contains("Banned 203.0.113.5"), "{}", mail.data);
    let timeline = store.timeline(incident.id).await.unwrap();
    assert!(timeline.last().unwrap().summary.starts_with("Notified for a playbook"));
}
