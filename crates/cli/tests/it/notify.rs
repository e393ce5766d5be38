//! Notifications end to end: the real server sends an incident's notification to a Slack-style
//! receiver and a signed JSON webhook (an HTTP server inside the test, which fails the first
//! delivery to see the retry), and an e-mail over SMTP, with a login, to a mail server on
//! loopback; the signed link in the e-mail acknowledges it, a forged one is refused; the CLI
//! acknowledges, drafts and sends a communication; secrets show nowhere.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::{Server, cli_ok, free_port, get_json, wait_until};

const WEBHOOK_SECRET: &str = "webhook-secret-of-the-test";
const SMTP_PASSWORD: &str = "smtp-password-of-the-test";

/// What the HTTP receiver got: path, headers, body.
type Received = Arc<Mutex<Vec<(String, HeaderMap, Bytes)>>>;

#[derive(Clone)]
struct Receiver {
    received: Received,
    /// Answer 503 to the first signed webhook, to make the server retry.
    fail_first_hook: Arc<Mutex<bool>>,
}

async fn slack(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    r.received.lock().unwrap().push(("/slack".into(), headers, body));
    StatusCode::OK
}

async fn hook(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    if std::mem::take(&mut *r.fail_first_hook.lock().unwrap()) {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    r.received.lock().unwrap().push(("/hook".into(), headers, body));
    StatusCode::NO_CONTENT
}

async fn start_receiver() -> (u16, Received) {
    let received: Received = Arc::default();
    let state =
        Receiver { received: received.clone(), fail_first_hook: Arc::new(Mutex::new(true)) };
    let app = axum::Router::new()
        .route("/slack", axum::routing::post(slack))
        .route("/hook", axum::routing::post(hook))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (port, received)
}

/// A mail as the SMTP server received it, with the login it came with.
#[derive(Debug, Clone, Default)]
struct Mail {
    to: Vec<String>,
    data: String,
    login: Option<(String, String)>,
}

struct Collect {
    mails: Arc<Mutex<Vec<Mail>>>,
    current: Mail,
}

impl mailin::Handler for Collect {
    fn auth_plain(&mut self, _: &str, user: &str, password: &str) -> mailin::Response {
        self.current.login = Some((user.to_owned(), password.to_owned()));
        mailin::response::AUTH_OK
    }

    fn data_start(&mut self, _: &str, _: &str, _: bool, to: &[String]) -> mailin::Response {
        self.current.to = to.to_vec();
        self.current.data.clear();
        mailin::response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.current.data.push_str(&String::from_utf8_lossy(buf));
        Ok(())
    }

    fn data_end(&mut self) -> mailin::Response {
        self.mails.lock().unwrap().push(self.current.clone());
        mailin::response::OK
    }
}

/// An SMTP server on loopback (`mailin` speaks the protocol; this does the I/O). It offers
/// AUTH PLAIN without TLS, which only a loopback test may do.
fn start_smtp() -> (u16, Arc<Mutex<Vec<Mail>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mails = Arc::new(Mutex::new(Vec::new()));
    let shared = mails.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mails = shared.clone();
            std::thread::spawn(move || {
                let peer = stream.peer_addr().unwrap().ip();
                let mut session = mailin::SessionBuilder::new("mail.test")
                    .enable_auth(mailin::AuthMechanism::Plain)
                    .insecure_enable_plaintext_auth()
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
    (port, mails)
}

/// HMAC-SHA256, written out (RFC 2104) so that the test does not trust the server's code.
fn hmac_sha256(key: &[u8], message: &[u8]) -> String {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.iter().map(|k| k ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new().chain_update(pad(0x36)).chain_update(message).finalize();
    let outer = Sha256::new().chain_update(pad(0x5c)).chain_update(inner).finalize();
    outer.iter().map(|b| format!("{b:02x}")).collect()
}

/// Undoes quoted-printable (soft line breaks, `=XX`), which mail bodies may come in.
fn unquote(text: &str) -> String {
    let joined = text.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Ok(byte) = u8::from_str_radix(&joined[i + 1..i + 3], 16)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn wait_for_mails(mails: &Arc<Mutex<Vec<Mail>>>, count: usize) -> Vec<Mail> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got = mails.lock().unwrap().clone();
        if got.len() >= count {
            return got;
        }
        assert!(Instant::now() < deadline, "only {} of {count} mails came", got.len());
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn received_on(received: &Received, path: &str) -> Vec<(HeaderMap, Value, Bytes)> {
    received
        .lock()
        .unwrap()
        .iter()
        .filter(|(p, _, _)| p == path)
        .map(|(_, headers, body)| {
            (headers.clone(), serde_json::from_slice(body).unwrap(), body.clone())
        })
        .collect()
}

// Several threads: the receiver must answer while the test waits on a client command.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_reach_chat_webhook_and_mail_and_the_signed_link_acknowledges() {
    let dir = tempfile::tempdir().unwrap();
    let (http_port, received) = start_receiver().await;
    let (smtp_port, mails) = start_smtp();
    let config = dir.path().join("firebreak.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[[notify.channels]]
name = "chat"
type = "slack"
url = "http://127.0.0.1:{http_port}/slack"

[[notify.channels]]
name = "siem"
type = "webhook"
url = "http://127.0.0.1:{http_port}/hook"
secret = "{WEBHOOK_SECRET}"
backoff_ms = 50

[[notify.channels]]
name = "mail"
type = "email"
host = "127.0.0.1"
port = {smtp_port}
tls = "none"
from = "Firebreak <firebreak@example.com>"
username = "firebreak"
password = "{SMTP_PASSWORD}"
to = ["secops@example.com"]

[[notify.routes]]
name = "serious"
min_severity = "SEV2"
channels = ["chat", "siem"]
roles = ["incident_commander"]
escalate_after_minutes = 30
"#
        ),
    )
    .unwrap();

    // `config check` shows the configuration with its secrets hidden.
    let check = std::process::Command::new(crate::BIN)
        .args(["config", "check", "--config"])
        .arg(&config)
        .env("FIREBREAK_LOG", "warn")
        .output()
        .unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
    let shown = String::from_utf8_lossy(&check.stdout);
    assert!(shown.contains("127.0.0.1") && shown.contains("[redacted]"), "{shown}");
    assert!(!shown.contains(SMTP_PASSWORD) && !shown.contains(WEBHOOK_SECRET), "{shown}");

    let log_path = dir.path().join("server.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let database = format!("sqlite://{}", dir.path().join("firebreak.db").display());
    let server =
        Server::start_on_with_config(dir.path(), free_port(), &database, &config, Stdio::from(log));
    let admin = server.admin_token().await;
    let person: Value = serde_json::from_str(&cli_ok(
        &server,
        &admin,
        &[
            "people",
            "add",
            "--name",
            "Ana Lima",
            "--email",
            "ana@example.org",
            "--can-hold",
            "incident_commander",
            "--format",
            "json",
        ],
    ))
    .unwrap();
    cli_ok(&server, &admin, &["oncall", "set", "incident_commander", &person["id"].to_string()]);

    // Not severe enough for the route: nothing is sent.
    cli_ok(&server, &admin, &["incident", "create", "--title", "Port scan", "--severity", "SEV4"]);
    let incident: Value = serde_json::from_str(&cli_ok(
        &server,
        &admin,
        &[
            "incident",
            "create",
            "--title",
            "Credential stuffing on /login",
            "--severity",
            "SEV2",
            "--format",
            "json",
        ],
    ))
    .unwrap();
    let id = incident["id"].as_i64().unwrap();

    // The commander's e-mail, through the SMTP login, with a signed acknowledgement link.
    let mail = wait_for_mails(&mails, 1).await.remove(0);
    assert_eq!(mail.to, vec!["ana@example.org"]);
    assert_eq!(mail.login, Some(("firebreak".into(), SMTP_PASSWORD.into())));
    let text = unquote(&mail.data);
    assert!(text.contains("Credential stuffing on /login"), "{text}");
    let link = text
        .split_whitespace()
        .find(|word| word.contains("/ack/"))
        .unwrap_or_else(|| panic!("no acknowledgement link in {text}"))
        .to_owned();
    assert!(link.starts_with(&server.base), "{link}");

    // Slack-style: text and blocks. The webhook: the documented object, signed.
    let (_, slack_body, _) =
        wait_until("the Slack notification", async || received_on(&received, "/slack").pop()).await;
    assert!(slack_body["text"].as_str().unwrap().contains("Credential stuffing"), "{slack_body}");
    assert!(slack_body["blocks"].as_array().is_some_and(|b| !b.is_empty()), "{slack_body}");
    let (headers, hook_body, raw) =
        wait_until("the webhook", async || received_on(&received, "/hook").pop()).await;
    assert_eq!(hook_body["incident"]["id"], id);
    assert_eq!(hook_body["incident"]["severity"], "SEV2");
    assert_eq!(hook_body["event"], "incident_opened");
    let timestamp = headers["x-firebreak-timestamp"].to_str().unwrap();
    let mut signed = format!("{timestamp}.").into_bytes();
    signed.extend_from_slice(&raw);
    assert_eq!(
        headers["x-firebreak-signature"].to_str().unwrap(),
        format!("sha256={}", hmac_sha256(WEBHOOK_SECRET.as_bytes(), &signed))
    );
    assert_ne!(
        headers["x-firebreak-signature"].to_str().unwrap(),
        format!("sha256={}", hmac_sha256(b"another secret", &signed)),
        "the check can fail"
    );

    // Every notification is a record; the webhook's first attempt failed and was retried.
    let list = wait_until("three notifications sent", async || {
        let list = get_json(&server, &admin, &format!("/api/v1/notifications?incident={id}")).await;
        let done = list.as_array().unwrap().iter().all(|n| n["status"] != "pending");
        (list.as_array().unwrap().len() == 3 && done).then_some(list)
    })
    .await;
    let by_channel = |name: &str| {
        list.as_array().unwrap().iter().find(|n| n["channel"] == name).unwrap().clone()
    };
    assert_eq!(by_channel("mail")["recipient"], "ana@example.org");
    assert_eq!(by_channel("mail")["role"], "incident_commander");
    let siem =
        get_json(&server, &admin, &format!("/api/v1/notifications/{}", by_channel("siem")["id"]))
            .await;
    assert_eq!(siem["status"], "sent");
    let attempts = siem["attempt_log"].as_array().unwrap();
    assert_eq!(attempts.len(), 2, "{siem}");
    assert_eq!(attempts[0]["ok"], false);
    assert!(attempts[0]["detail"].as_str().unwrap().contains("503"), "{siem}");
    assert_eq!(attempts[1]["ok"], true);

    // Forged, missing or borrowed signatures are refused, and nothing is acknowledged.
    let client = reqwest::Client::new();
    let mail_id = by_channel("mail")["id"].as_i64().unwrap();
    let signature = link.split("sig=").nth(1).unwrap().to_owned();
    let mut forged = signature.clone().into_bytes();
    forged[0] = if forged[0] == b'a' { b'b' } else { b'a' };
    let forged = String::from_utf8(forged).unwrap();
    let other_id = by_channel("chat")["id"].as_i64().unwrap();
    for bad in [
        format!("/ack/{mail_id}?sig={forged}"),
        format!("/ack/{mail_id}"),
        format!("/ack/{other_id}?sig={signature}"),
        format!("/ack/{mail_id}?sig="),
    ] {
        let answer = client.get(server.url(&bad)).send().await.unwrap();
        assert_eq!(answer.status(), 403, "{bad}");
    }
    let unchanged = get_json(&server, &admin, &format!("/api/v1/notifications/{mail_id}")).await;
    assert_eq!(unchanged["status"], "sent");

    // Opening the real link (as a mail scanner would) acknowledges nothing: it shows a button.
    let answer = client.get(&link).send().await.unwrap();
    assert_eq!(answer.status(), 200);
    let page = answer.text().await.unwrap();
    assert!(page.contains("<form method=\"post\"") && page.contains(&signature), "{page}");
    let opened = get_json(&server, &admin, &format!("/api/v1/notifications/{mail_id}")).await;
    assert_eq!(opened["status"], "sent");
    // The button, with no token, acknowledges; a forged form is refused; a second click says
    // it already was.
    let press = |sig: String| {
        client.post(server.url(&format!("/ack/{mail_id}"))).form(&[("sig", sig)]).send()
    };
    assert_eq!(press(forged.clone()).await.unwrap().status(), 403);
    let answer = press(signature.clone()).await.unwrap();
    assert_eq!(answer.status(), 200);
    assert!(answer.text().await.unwrap().contains("acknowledged"));
    let acknowledged = get_json(&server, &admin, &format!("/api/v1/notifications/{mail_id}")).await;
    assert_eq!(acknowledged["status"], "acknowledged");
    assert_eq!(acknowledged["acknowledged_by"], "link:ana@example.org");
    let again = press(signature.clone()).await.unwrap();
    assert_eq!(again.status(), 200);
    assert!(again.text().await.unwrap().contains("Already acknowledged"));
    // The page's other messages are acknowledged with it.
    let chat = get_json(&server, &admin, &format!("/api/v1/notifications/{other_id}")).await;
    assert_eq!(chat["status"], "acknowledged");

    // Link uses are audited, refusals included.
    let audit = get_json(&server, &admin, "/api/v1/audit?limit=1000").await;
    let uses = |action: &str| -> Vec<Value> {
        audit.as_array().unwrap().iter().filter(|r| r["action"] == action).cloned().collect()
    };
    let (opened, pressed) = (uses("GET /ack/{id}"), uses("POST /ack/{id}"));
    assert!(opened.iter().filter(|r| r["status"] == 403).count() >= 4, "{opened:?}");
    assert!(pressed.iter().any(|r| r["status"] == 403), "{pressed:?}");
    assert!(pressed.iter().any(|r| r["status"] == 200 && r["actor"] == "link:ana@example.org"));
    assert_eq!(pressed.len(), 3, "one record a press, not two: {pressed:?}");

    // The CLI acknowledges too, on a second incident.
    let second: Value = serde_json::from_str(&cli_ok(
        &server,
        &admin,
        &[
            "incident",
            "create",
            "--title",
            "Admin login from abroad",
            "--severity",
            "SEV1",
            "--format",
            "json",
        ],
    ))
    .unwrap();
    let second_id = second["id"].to_string();
    let second_list = wait_until("the second incident's notifications", async || {
        let list = serde_json::from_str::<Value>(&cli_ok(
            &server,
            &admin,
            &["notify", "list", "--incident", &second_id, "--format", "json"],
        ))
        .unwrap();
        let all = list.as_array().unwrap();
        (all.len() == 3 && all.iter().all(|n| n["status"] != "pending")).then_some(list)
    })
    .await;
    let chat_id = second_list.as_array().unwrap().iter().find(|n| n["channel"] == "chat").unwrap()
        ["id"]
        .to_string();
    let acked = cli_ok(&server, &admin, &["notify", "ack", &chat_id]);
    assert!(acked.contains("acknowledged by admin"), "{acked}");
    let twice = server.cli(&admin, &["notify", "ack", &chat_id]);
    assert!(!twice.status.success());
    assert!(String::from_utf8_lossy(&twice.stderr).contains("already acknowledged"));

    // A communication: drafted from a template, reviewed, sent; the copy on the timeline.
    let draft: Value = serde_json::from_str(&cli_ok(
        &server,
        &admin,
        &["notify", "draft", &id.to_string(), "--template", "internal_update", "--format", "json"],
    ))
    .unwrap();
    let subject = draft["subject"].as_str().unwrap();
    let body = draft["body"].as_str().unwrap();
    assert!(subject.contains("Credential stuffing on /login") && subject.contains("SEV2"));
    assert!(body.contains("Severity: SEV2") && body.contains("Incident commander: not assigned"));
    let reviewed = body.replace("Next update: ", "Next update: 14:00 UTC");
    let sent: Value = serde_json::from_str(&cli_ok(
        &server,
        &admin,
        &[
            "notify",
            "send",
            &id.to_string(),
            "--template",
            "internal_update",
            "--subject",
            subject,
            "--body",
            &reviewed,
            "--channel",
            "chat",
            "--channel",
            "mail",
            "--format",
            "json",
        ],
    ))
    .unwrap();
    assert_eq!(sent.as_array().unwrap().len(), 2);
    assert!(sent.as_array().unwrap().iter().all(|n| n["status"] == "sent"), "{sent}");
    let to_team = wait_until("the communication by mail", async || {
        mails.lock().unwrap().iter().find(|m| m.to == ["secops@example.com"]).cloned()
    })
    .await;
    assert!(unquote(&to_team.data).contains("Next update: 14:00 UTC"));
    assert!(!unquote(&to_team.data).contains("/ack/"), "a communication carries no ack link");
    let bad = server.cli(
        &admin,
        &["notify", "send", &id.to_string(), "--subject", "x", "--body", "y", "--channel", "pager"],
    );
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no channel is named `pager`"));

    let timeline = get_json(&server, &admin, &format!("/api/v1/incidents/{id}/timeline")).await;
    let communications: Vec<&str> = timeline
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "communication")
        .map(|e| e["summary"].as_str().unwrap())
        .collect();
    assert_eq!(communications.len(), 3, "{communications:#?}");
    assert!(communications[0].starts_with("Notified about incident opened (serious)"));
    assert!(communications[1].contains("acknowledged notification"));
    assert!(communications[2].starts_with("Communication sent (internal_update)"));
    let copy = timeline
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["summary"].as_str().unwrap().starts_with("Communication sent"))
        .unwrap();
    assert_eq!(copy["data"]["body"], json!(reviewed));
    assert!(server.cli(&admin, &["timeline", "verify", &id.to_string()]).status.success());

    server.stop();
    let logged = std::fs::read_to_string(&log_path).unwrap();
    for secret in [SMTP_PASSWORD, WEBHOOK_SECRET, signature.as_str()] {
        assert!(!logged.contains(secret), "the log shows a secret:\n{logged}");
    }
}
