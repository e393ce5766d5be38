//! Response end to end: playbooks run on incidents opened by alerts, bans reach bouncers through
//! the CrowdSec-compatible stream and the check endpoint, never-ban addresses stay unbanned,
//! decisions expire, roll back and lengthen for repeat offenders. With `FIREBREAK_TEST_NFT`
//! set (root, `nft` installed), bans are also checked in nftables; with
//! `FIREBREAK_TEST_BOUNCER` naming Debian's `crowdsec-firewall-bouncer`, the real bouncer
//! enforces them.

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::{Server, cli_ok, free_port, get_json, post_events, stuffing_burst, wait_until};

async fn bouncer_key(server: &Server, admin: &str, name: &str) -> String {
    let created: Value = reqwest::Client::new()
        .post(server.url("/api/v1/bouncers"))
        .bearer_auth(admin)
        .json(&json!({ "name": name }))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    created["key"].as_str().unwrap().to_owned()
}

async fn as_bouncer(server: &Server, key: &str, path: &str) -> (u16, Value) {
    let response =
        reqwest::Client::new().get(server.url(path)).header("x-api-key", key).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The active ban of `ip`, once the playbook has taken it.
async fn ban_of(server: &Server, admin: &str, ip: &str) -> Value {
    wait_until(&format!("a ban of {ip}"), async || {
        let decisions = get_json(server, admin, "/api/v1/decisions").await;
        decisions.as_array()?.iter().find(|d| d["target"] == ip).cloned()
    })
    .await
}

fn values(stream: &Value, key: &str) -> Vec<String> {
    stream[key]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d["value"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn the_playbook_bans_the_stuffer_and_never_the_protected_address() {
    let dir = tempfile::tempdir().unwrap();
    let server =
        Server::start_with_config(dir.path(), "[response]\nnever_ban = [\"198.51.100.0/28\"]\n");
    let admin = server.admin_token().await;
    let ingest = server.token(&admin, "ingest").await;
    let key = bouncer_key(&server, &admin, "edge").await;
    let (status, startup) = as_bouncer(&server, &key, "/v1/decisions/stream?startup=true").await;
    assert_eq!((status, startup.clone()), (200, json!({ "new": null, "deleted": null })));

    post_events(
        &server,
        &ingest,
        stuffing_burst("203.0.113.50", 2, 0) + &stuffing_burst("198.51.100.7", 2, 0),
    )
    .await;
    let ban = ban_of(&server, &admin, "203.0.113.50").await;
    let incident = ban["incident_id"].to_string();
    assert_eq!(ban["kind"], "ban");
    assert_eq!(ban["decided_by"], "playbook:brute-force");

    // The protected address raised its alert and incident, but the ban was refused.
    let refused = wait_until("the refusal on the protected incident", async || {
        let alerts = get_json(&server, &admin, "/api/v1/alerts?rule=credential_stuffing").await;
        let alert =
            alerts.as_array()?.iter().find(|a| a["group"]["source.ip"] == "198.51.100.7")?.clone();
        let id = alert["incident_id"].as_i64()?;
        let timeline = get_json(&server, &admin, &format!("/api/v1/incidents/{id}/timeline")).await;
        timeline
            .as_array()?
            .iter()
            .find(|e| e["summary"].as_str().is_some_and(|s| s.contains("refused by policy")))
            .cloned()
    })
    .await;
    assert!(refused["summary"].as_str().unwrap().contains("198.51.100.0/28"), "{refused}");
    let all = get_json(&server, &admin, "/api/v1/decisions?active=false").await;
    assert!(all.as_array().unwrap().iter().all(|d| d["target"] != "198.51.100.7"), "{all}");
    // Nor by hand.
    let by_hand =
        server.cli(&admin, &["decision", "add", "ban", "198.51.100.0/24", "--reason", "wave"]);
    assert!(!by_hand.status.success());
    assert!(String::from_utf8_lossy(&by_hand.stderr).contains("never-ban"), "{by_hand:?}");

    // The timeline, in order: detection, evidence preserved, decision, notification; tasks.
    let timeline =
        get_json(&server, &admin, &format!("/api/v1/incidents/{incident}/timeline")).await;
    let kinds: Vec<&str> =
        timeline.as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    let at = |kind: &str| {
        kinds.iter().position(|k| *k == kind).unwrap_or_else(|| panic!("no {kind} in {kinds:?}"))
    };
    assert!(at("alert_linked") < at("evidence"), "{kinds:?}");
    assert!(at("evidence") < at("decision"), "evidence first: {kinds:?}");
    assert!(at("decision") < at("communication"), "{kinds:?}");
    let evidence =
        get_json(&server, &admin, &format!("/api/v1/incidents/{incident}/evidence")).await;
    assert!(evidence[0]["description"].as_str().unwrap().contains("12 events"), "{evidence}");
    let tasks = get_json(&server, &admin, &format!("/api/v1/incidents/{incident}/tasks")).await;
    assert_eq!(tasks.as_array().unwrap().len(), 2, "{tasks}");
    cli_ok(&server, &admin, &["timeline", "verify", &incident]);

    // Bouncers see it; the check endpoint refuses the address and lets the others through.
    let (_, pulled) = as_bouncer(&server, &key, "/v1/decisions/stream").await;
    let everything = get_json(&server, &admin, "/api/v1/decisions?active=false").await;
    assert_eq!(values(&pulled, "new"), ["203.0.113.50"], "{pulled} {everything}");
    let (_, query) = as_bouncer(&server, &key, "/v1/decisions?ip=203.0.113.50").await;
    assert_eq!(query[0]["scope"], "Ip");
    let (status, _) = as_bouncer(&server, &key, "/api/v1/check?ip=203.0.113.50").await;
    assert_eq!(status, 403);
    let (status, answer) = as_bouncer(&server, &key, "/api/v1/check?ip=198.51.100.7").await;
    assert_eq!((status, answer["decision"].as_str()), (200, Some("allow")));

    // Rolled back: it leaves the stream as deleted and the check lets it through.
    let id = ban["id"].to_string();
    cli_ok(&server, &admin, &["decision", "rollback", &id, "--reason", "customer's NAT gateway"]);
    let (_, pulled) = as_bouncer(&server, &key, "/v1/decisions/stream").await;
    assert_eq!(values(&pulled, "deleted"), ["203.0.113.50"], "{pulled}");
    let (status, _) = as_bouncer(&server, &key, "/api/v1/check?ip=203.0.113.50").await;
    assert_eq!(status, 200);

    // A repeat offender's ban is longer: twice the asked hour.
    let again = cli_ok(
        &server,
        &admin,
        &[
            "decision",
            "add",
            "ban",
            "203.0.113.50",
            "--duration",
            "1h",
            "--reason",
            "back again",
            "--format",
            "json",
        ],
    );
    let again: Value = serde_json::from_str(&again).unwrap();
    let (created, expires): (jiff::Timestamp, jiff::Timestamp) = (
        again[0]["created_at"].as_str().unwrap().parse().unwrap(),
        again[0]["expires_at"].as_str().unwrap().parse().unwrap(),
    );
    assert_eq!(again[0]["offence"], 1);
    assert_eq!(expires.as_second() - created.as_second(), 7200, "{again}");
    server.stop();
}

/// A playbook of our own with a short ban, so that expiry happens within the test.
const SHORT_BAN: &str = "id: short-ban\ntitle: Short ban\napplies_to:\n  rules: [credential_stuffing]\nsteps:\n  - preserve_evidence: {}\n  - ban: { duration: 3s }\n";

fn short_ban_config(dir: &Path, extra: &str) -> String {
    let playbooks = dir.join("playbooks");
    std::fs::create_dir_all(&playbooks).unwrap();
    std::fs::write(playbooks.join("short.yml"), SHORT_BAN).unwrap();
    format!(
        "[response]\nbuiltin_playbooks = false\nplaybooks = [\"{}\"]\n{extra}",
        playbooks.display()
    )
}

#[tokio::test]
async fn an_expired_ban_leaves_the_stream_and_the_check() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with_config(dir.path(), &short_ban_config(dir.path(), ""));
    let admin = server.admin_token().await;
    let ingest = server.token(&admin, "ingest").await;
    let key = bouncer_key(&server, &admin, "edge").await;
    as_bouncer(&server, &key, "/v1/decisions/stream?startup=true").await;
    post_events(&server, &ingest, stuffing_burst("203.0.113.61", 2, 0)).await;
    let ban = ban_of(&server, &admin, "203.0.113.61").await;
    let (_, pulled) = as_bouncer(&server, &key, "/v1/decisions/stream").await;
    assert_eq!(values(&pulled, "new"), ["203.0.113.61"]);
    let incident = ban["incident_id"].as_i64().unwrap();
    wait_until("the expiry on the timeline", async || {
        let timeline =
            get_json(&server, &admin, &format!("/api/v1/incidents/{incident}/timeline")).await;
        timeline
            .as_array()?
            .iter()
            .any(|e| e["summary"].as_str().is_some_and(|s| s.contains("expired")))
            .then_some(())
    })
    .await;
    let (_, pulled) = as_bouncer(&server, &key, "/v1/decisions/stream").await;
    assert_eq!(values(&pulled, "deleted"), ["203.0.113.61"], "{pulled}");
    let (status, _) = as_bouncer(&server, &key, "/api/v1/check?ip=203.0.113.61").await;
    assert_eq!(status, 200);
    server.stop();
}

#[tokio::test]
async fn playbooks_are_checked_offline_with_their_mistakes_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("good.yml"), SHORT_BAN).unwrap();
    let broken =
        SHORT_BAN.replace("  - preserve_evidence: {}\n", "").replace("short-ban", "broken");
    std::fs::write(dir.path().join("broken.yml"), broken).unwrap();
    std::fs::write(
        dir.path().join("typo.yml"),
        SHORT_BAN.replace("credential_stuffing", "credential_stufing").replace("short-ban", "typo"),
    )
    .unwrap();
    let output = Command::new(crate::BIN)
        .args(["playbooks", "check"])
        .arg(dir.path())
        .env("FIREBREAK_LOG", "warn")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("broken.yml: step 1 (ban): containment before `preserve_evidence`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("typo.yml: `applies_to.rules`: no rule `credential_stufing`"),
        "{stderr}"
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("1 of 3 playbooks check"));
}

fn nft_set(table: &str, family: &str, set: &str) -> String {
    let output = Command::new("nft").args(["list", "set", family, table, set]).output().unwrap();
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test]
async fn bans_are_applied_in_nftables_and_leave_it_at_expiry() {
    if std::env::var_os("FIREBREAK_TEST_NFT").is_none() {
        eprintln!(
            "skipped: set FIREBREAK_TEST_NFT=1 (root, with nft) to test nftables enforcement"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let table = format!("fbtest{}", free_port());
    let extra = format!("[response.nftables]\nenabled = true\ntable = \"{table}\"\n");
    let server = Server::start_with_config(dir.path(), &short_ban_config(dir.path(), &extra));
    let admin = server.admin_token().await;
    let ingest = server.token(&admin, "ingest").await;
    post_events(&server, &ingest, stuffing_burst("203.0.113.62", 2, 0)).await;
    let ban = ban_of(&server, &admin, "203.0.113.62").await;
    wait_until("the address in the nftables set", async || {
        nft_set(&table, "inet", "banned4").contains("203.0.113.62").then_some(())
    })
    .await;
    let incident = ban["incident_id"].as_i64().unwrap();
    wait_until("the enforcement on the timeline", async || {
        let timeline =
            get_json(&server, &admin, &format!("/api/v1/incidents/{incident}/timeline")).await;
        let found = timeline.as_array()?.iter().any(|e| {
            e["summary"].as_str().is_some_and(|s| s.contains("added to the nftables table"))
        });
        found.then_some(())
    })
    .await;
    wait_until("the address gone from the set", async || {
        (!nft_set(&table, "inet", "banned4").contains("203.0.113.62")).then_some(())
    })
    .await;
    server.stop();
    let _ = Command::new("nft").args(["delete", "table", "inet", &table]).status();
}

/// A webhook receiver on loopback: every body posted to it.
async fn webhook_receiver() -> (u16, std::sync::Arc<std::sync::Mutex<Vec<Value>>>) {
    let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: axum::Json<Value>| {
            let sink = sink.clone();
            async move {
                sink.lock().unwrap().push(body.0);
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (port, received)
}

/// The whole chain with real processes: a credential-stuffing burst posted to `serve` → alert
/// → incident → playbook → the address banned, in the decisions stream, applied by Debian's
/// `crowdsec-firewall-bouncer` into nftables (and by firebreak's own nftables set); a webhook
/// receiver gets the notification; the timeline holds detection, evidence, decision,
/// enforcement and notification in that order; at expiry the ban leaves the stream and the set.
#[tokio::test]
async fn the_crowdsec_firewall_bouncer_enforces_and_lifts_the_ban() {
    let Some(binary) = std::env::var_os("FIREBREAK_TEST_BOUNCER") else {
        eprintln!(
            "skipped: set FIREBREAK_TEST_BOUNCER to crowdsec-firewall-bouncer's path (root, nftables) to test with the real bouncer"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (hook_port, hooks) = webhook_receiver().await;
    let own_table = format!("fbown{}", free_port());
    let playbook = "id: stuffing-e2e\ntitle: Credential stuffing, end to end\napplies_to:\n  rules: [credential_stuffing]\nsteps:\n  - preserve_evidence: {}\n  - ban: { duration: 6s }\n  - notify: { roles: [incident_commander], message: \"Credential stuffing: the source is banned.\" }\n";
    let playbooks = dir.path().join("playbooks");
    std::fs::create_dir_all(&playbooks).unwrap();
    std::fs::write(playbooks.join("e2e.yml"), playbook).unwrap();
    let config = format!(
        "[response]\nbuiltin_playbooks = false\nplaybooks = [\"{}\"]\n\n[response.nftables]\nenabled = true\ntable = \"{own_table}\"\ndrop_chain = false\n\n\
         [[notify.channels]]\nname = \"siem\"\ntype = \"webhook\"\nurl = \"http://127.0.0.1:{hook_port}/hook\"\nsecret = \"a webhook secret for the test\"\n\n\
         [[notify.routes]]\nname = \"playbooks\"\nevents = [\"playbook\"]\nchannels = [\"siem\"]\n",
        playbooks.display()
    );
    let server = Server::start_with_config(dir.path(), &config);
    let admin = server.admin_token().await;
    let ingest = server.token(&admin, "ingest").await;
    let key = bouncer_key(&server, &admin, "firewall").await;
    let table = format!("fbcs{}", free_port());
    let bouncer_config = dir.path().join("bouncer.yaml");
    std::fs::write(
        &bouncer_config,
        format!(
            "mode: nftables\npid_dir: {dir}\nupdate_frequency: 200ms\ndaemonize: false\nlog_mode: stdout\nlog_level: info\n\
             api_url: {url}/\napi_key: {key}\ndisable_ipv6: true\ndeny_action: DROP\ndeny_log: false\n\
             supported_decisions_types:\n  - ban\nblacklists_ipv4: {table}-blacklists\nblacklists_ipv6: {table}6-blacklists\n\
             nftables:\n  ipv4:\n    enabled: true\n    set-only: false\n    table: {table}\n    chain: {table}-chain\n\
             \x20 ipv6:\n    enabled: false\n    set-only: false\n    table: {table}6\n    chain: {table}6-chain\n\
             prometheus:\n  enabled: false\n  listen_addr: 127.0.0.1\n  listen_port: 60601\n",
            dir = dir.path().display(),
            url = server.base,
        ),
    )
    .unwrap();
    let mut bouncer = Command::new(binary)
        .arg("-c")
        .arg(&bouncer_config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let set = format!("{table}-blacklists");
    wait_until("the bouncer's first pull", async || {
        let bouncers = get_json(&server, &admin, "/api/v1/bouncers").await;
        (!bouncers[0]["last_pull"].is_null()).then_some(())
    })
    .await;
    post_events(&server, &ingest, stuffing_burst("203.0.113.63", 2, 0)).await;
    let ban = ban_of(&server, &admin, "203.0.113.63").await;
    wait_until("the bouncer's nftables set holding the address", async || {
        nft_set(&table, "ip", &set).contains("203.0.113.63").then_some(())
    })
    .await;
    assert!(nft_set(&own_table, "inet", "banned4").contains("203.0.113.63"));
    let hook =
        wait_until("the webhook notification", async || hooks.lock().unwrap().first().cloned())
            .await;
    assert!(hook.to_string().contains("Credential stuffing: the source is banned."), "{hook}");

    let incident = ban["incident_id"].as_i64().unwrap();
    let timeline = wait_until("the notification on the timeline", async || {
        let timeline =
            get_json(&server, &admin, &format!("/api/v1/incidents/{incident}/timeline")).await;
        let found = timeline
            .as_array()?
            .iter()
            .any(|e| e["summary"].as_str().is_some_and(|s| s.contains("sent through siem")));
        found.then_some(timeline)
    })
    .await;
    let summaries: Vec<&str> =
        timeline.as_array().unwrap().iter().map(|e| e["summary"].as_str().unwrap()).collect();
    let position = |needle: &str| {
        summaries
            .iter()
            .position(|s| s.contains(needle))
            .unwrap_or_else(|| panic!("no `{needle}` in {summaries:#?}"))
    };
    let detection = position("Alert");
    let evidence = position("acquired");
    let decision = position("Decision: ban");
    let enforcement = position("Enforced: 203.0.113.63 added to the nftables table");
    let notification = position("sent through siem");
    assert!(detection < evidence && evidence < decision, "{summaries:#?}");
    assert!(decision < enforcement && enforcement < notification, "{summaries:#?}");
    assert!(decision < position("pulled by the bouncer `firewall`"), "{summaries:#?}");

    // At expiry the ban leaves the stream (as deleted) and both nftables sets.
    wait_until("the address gone from the bouncer's set at expiry", async || {
        (!nft_set(&table, "ip", &set).contains("203.0.113.63")).then_some(())
    })
    .await;
    wait_until("the address gone from firebreak's own set", async || {
        (!nft_set(&own_table, "inet", "banned4").contains("203.0.113.63")).then_some(())
    })
    .await;
    let decisions = get_json(&server, &admin, "/api/v1/decisions").await;
    assert_eq!(decisions, json!([]), "nothing in force after the expiry");
    let _ = bouncer.kill();
    let _ = bouncer.wait();
    let _ = Command::new("nft").args(["delete", "table", "ip", &table]).status();
    let _ = Command::new("nft").args(["delete", "table", "inet", &own_table]).status();
    server.stop();
}

/// The app's admin API, as a test sees it: every request (method, path, signature check,
/// body), the first one answered 503 to make firebreak retry.
async fn admin_api(
    secret: &'static str,
) -> (u16, std::sync::Arc<std::sync::Mutex<Vec<(String, String, bool, Value)>>>) {
    use axum::http::{HeaderMap, StatusCode, Uri};
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = seen.clone();
    let first = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let app = axum::Router::new().fallback(
        move |method: axum::http::Method, uri: Uri, headers: HeaderMap, body: axum::body::Bytes| {
            let (sink, first) = (sink.clone(), first.clone());
            async move {
                if first.swap(false, std::sync::atomic::Ordering::SeqCst) {
                    return StatusCode::SERVICE_UNAVAILABLE;
                }
                let header = |name: &str| {
                    headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
                };
                let timestamp = header("x-firebreak-timestamp");
                let signed = header("x-firebreak-signature");
                let mut message = format!("{timestamp}.").into_bytes();
                message.extend_from_slice(&body);
                let valid = signed == format!("sha256={}", hmac_hex(secret.as_bytes(), &message));
                let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
                sink.lock().unwrap().push((method.to_string(), uri.path().to_owned(), valid, json));
                StatusCode::OK
            }
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (port, seen)
}

/// HMAC-SHA256, written out here so that the test checks firebreak's signature independently.
fn hmac_hex(key: &[u8], message: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let mut block = [0u8; 64];
    block[..key.len()].copy_from_slice(key);
    let pad = |byte: u8| block.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new().chain_update(pad(0x36)).chain_update(message).finalize();
    let outer = Sha256::new().chain_update(pad(0x5c)).chain_update(inner).finalize();
    outer.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn an_account_lock_calls_the_apps_admin_api_signed_and_the_rollback_undoes_it() {
    const SECRET: &str = "the app's shared secret";
    let (port, seen) = admin_api(SECRET).await;
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "[[response.actions]]\nname = \"lock\"\nkind = \"lock_account\"\nurl = \"http://127.0.0.1:{port}/admin/users/{{target}}/lock\"\n\
         body = '{{\"user\": \"{{target}}\", \"until\": \"{{expires_at}}\", \"reason\": \"{{reason}}\"}}'\nsecret = \"{SECRET}\"\n\n\
         [[response.actions]]\nname = \"unlock\"\nkind = \"lock_account\"\non = \"lift\"\nmethod = \"DELETE\"\n\
         url = \"http://127.0.0.1:{port}/admin/users/{{target}}/lock\"\nsecret = \"{SECRET}\"\n"
    );
    let server = Server::start_with_config(dir.path(), &config);
    let admin = server.admin_token().await;
    let key = bouncer_key(&server, &admin, "app").await;
    let incident = cli_ok(
        &server,
        &admin,
        &["incident", "create", "--title", "Takeover", "--severity", "SEV2", "--format", "json"],
    );
    let incident: Value = serde_json::from_str(&incident).unwrap();
    let incident = incident["id"].to_string();
    let taken = cli_ok(
        &server,
        &admin,
        &[
            "decision",
            "add",
            "lock_account",
            "alice/ops",
            "--duration",
            "1h",
            "--reason",
            "took over \"alice\"",
            "--incident",
            &incident,
            "--format",
            "json",
        ],
    );
    let taken: Value = serde_json::from_str(&taken).unwrap();
    let (status, _) = as_bouncer(&server, &key, "/api/v1/check?user=alice%2Fops").await;
    assert_eq!(status, 403, "the app's own check refuses the locked account");
    let lock = wait_until("the lock call", async || seen.lock().unwrap().first().cloned()).await;
    assert_eq!(
        (lock.0.as_str(), lock.1.as_str(), lock.2),
        ("POST", "/admin/users/alice%2Fops/lock", true),
        "{lock:?}"
    );
    assert_eq!(lock.3["user"], "alice/ops");
    assert_eq!(lock.3["reason"], "took over \"alice\"");

    let id = taken[0]["id"].to_string();
    cli_ok(
        &server,
        &admin,
        &["decision", "rollback", &id, "--reason", "the owner confirmed it was them"],
    );
    let unlock = wait_until("the unlock call", async || seen.lock().unwrap().get(1).cloned()).await;
    assert_eq!(
        (unlock.0.as_str(), unlock.1.as_str(), unlock.2),
        ("DELETE", "/admin/users/alice%2Fops/lock", true)
    );
    let timeline = wait_until("both calls on the timeline", async || {
        let timeline =
            get_json(&server, &admin, &format!("/api/v1/incidents/{incident}/timeline")).await;
        let calls = timeline.as_array()?.iter().filter(|e| e["data"]["enforcer"] == "http").count();
        (calls == 2).then_some(timeline)
    })
    .await;
    let lock_entry =
        timeline.as_array().unwrap().iter().find(|e| e["data"]["action"] == "lock").unwrap();
    assert_eq!(lock_entry["data"]["attempts"], 2, "the 503 was retried: {lock_entry}");
    assert!(lock_entry["summary"].as_str().unwrap().contains("done"), "{lock_entry}");
    server.stop();
}
