//! Followed files (`[[sources.file]]`): appended lines become stored events and alerts; rotation,
//! truncation and restarts lose no line and repeat none; threat-intelligence lists edited while
//! the server runs apply to the next events.
//!
//! "Repeat none" is checked without waiting for time to pass: every test ends by writing a last
//! line and waiting for it; lines are read, spooled and stored in order, so a line read twice
//! would be stored before it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::{Server, free_port, get_json};

/// A failed SSH password for user `u{n}`, on its own connection.
fn line(n: u32, ip: &str) -> String {
    format!(
        "Oct 11 22:14:{:02} web1 sshd[{}]: Failed password for u{n} from {ip} port {} ssh2\n",
        n % 60,
        4000 + n,
        50000 + n
    )
}

fn lines(range: std::ops::Range<u32>, ip: &str) -> String {
    range.map(|n| line(n, ip)).collect()
}

fn append(path: &Path, text: &[u8]) {
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path).unwrap();
    file.write_all(text).unwrap();
}

/// A configuration that follows `log` (and any more TOML after it).
fn config(dir: &Path, log: &Path, more: &str) -> PathBuf {
    let path = dir.join("firebreak.toml");
    std::fs::write(
        &path,
        format!("[[sources.file]]\npath = {:?}\n{more}", log.display().to_string()),
    )
    .unwrap();
    path
}

fn start(dir: &Path, config: &Path, log: Stdio) -> Server {
    let database = format!("sqlite://{}", dir.join("firebreak.db").display());
    Server::start_on_with_config(dir, free_port(), &database, config, log)
}

/// The users of the stored events from `ip`, oldest first.
async fn users(server: &Server, admin: &str, ip: &str) -> Vec<String> {
    let page: Value = reqwest::Client::new()
        .get(server.url("/api/v1/events/search"))
        .query(&[("ip", ip), ("limit", "10000")])
        .bearer_auth(admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut users: Vec<String> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"]["user.name"].as_str().unwrap_or("?").to_owned())
        .collect();
    users.reverse();
    users
}

/// Waits until the events from `ip` include user `u{last}`, and returns them all.
async fn users_through(server: &Server, admin: &str, ip: &str, last: u32) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let want = format!("u{last}");
    loop {
        let users = users(server, admin, ip).await;
        if users.contains(&want) {
            return users;
        }
        assert!(Instant::now() < deadline, "u{last} from {ip} never arrived; stored: {users:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn names(range: std::ops::Range<u32>) -> Vec<String> {
    range.map(|n| format!("u{n}")).collect()
}

async fn alerts(server: &Server, admin: &str) -> Vec<Value> {
    serde_json::from_value(get_json(server, admin, "/api/v1/alerts").await).unwrap()
}

/// Waits for an alert of `rule` for `ip`.
async fn alert_for(server: &Server, admin: &str, rule: &str, ip: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let alerts = alerts(server, admin).await;
        if let Some(alert) =
            alerts.iter().find(|a| a["rule_id"] == rule && a["group"]["source.ip"] == ip)
        {
            return alert.clone();
        }
        assert!(Instant::now() < deadline, "no {rule} alert for {ip} in {alerts:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn metric(server: &Server, name: &str) -> u64 {
    let text = reqwest::get(server.url("/metrics")).await.unwrap().text().await.unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {text}"))
}

#[tokio::test]
async fn lines_appended_to_an_auth_log_become_events_and_a_brute_force_alert() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("auth.log");
    let ip = "203.0.113.50";
    // Already there when the server first looks: left alone (`start` is the end by default).
    std::fs::write(&log, line(100, ip)).unwrap();
    let config = config(dir.path(), &log, "");
    let server = start(dir.path(), &config, Stdio::inherit());
    let admin = server.admin_token().await;

    append(&log, lines(0..6, ip).as_bytes());
    // A line too long to keep, a line with a byte that is not UTF-8 (read, not hidden), a
    // line no parser reads, and half a line, whose end comes later.
    append(&log, format!("{}\n", "x".repeat(100_000)).as_bytes());
    append(
        &log,
        b"Oct 11 22:14:07 web1 sshd[4007]: Failed password for u\xff7 from 203.0.113.50 port 50007 ssh2\n",
    );
    append(&log, b"this is not a log line\n");
    let last = line(8, ip);
    let (head, tail) = last.split_at(30);
    append(&log, head.as_bytes());

    let alert = alert_for(&server, &admin, "ssh_brute_force", ip).await;
    assert_eq!(alert["severity"], "SEV2", "{alert}");
    let stored = users_through(&server, &admin, ip, 5).await;
    assert!(!stored.contains(&"u8".to_owned()), "a half-written line was read: {stored:?}");
    append(&log, tail.as_bytes());
    let mut stored = users_through(&server, &admin, ip, 8).await;
    assert_eq!(stored.remove(6), "u\u{fffd}7");
    assert_eq!(stored, [names(0..6), names(8..9)].concat());

    assert_eq!(metric(&server, "firebreak_file_too_long_total").await, 1);
    assert_eq!(metric(&server, "firebreak_file_invalid_utf8_total").await, 1);
    assert_eq!(metric(&server, "firebreak_file_unreadable_total").await, 1);
    assert_eq!(metric(&server, "firebreak_file_lines_total").await, 10);
    server.stop();
}

#[tokio::test]
async fn rotation_and_truncation_lose_no_line_and_repeat_none() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("auth.log");
    let ip = "198.51.100.60";
    std::fs::write(&log, "").unwrap();
    let config = config(dir.path(), &log, "format = \"syslog\"\n");
    let server = start(dir.path(), &config, Stdio::inherit());
    let admin = server.admin_token().await;

    append(&log, lines(0..5, ip).as_bytes());
    assert_eq!(users_through(&server, &admin, ip, 4).await, names(0..5));

    // Lines the server may not have read yet, the last one without its newline, then a
    // rotation: the old file is finished first, its last line too.
    append(&log, format!("{}{}", line(5, ip), line(6, ip).trim_end()).as_bytes());
    std::fs::rename(&log, dir.path().join("auth.log.1")).unwrap();
    std::fs::write(&log, lines(7..9, ip)).unwrap();
    assert_eq!(users_through(&server, &admin, ip, 8).await, names(0..9));

    // Truncated (`copytruncate`, `> file`): shorter than what was read, so read from 0. (Not
    // appended to before it is read: a truncated file that has grown past the old size cannot
    // be told from one that grew, by any follower.)
    std::fs::write(&log, line(9, ip)).unwrap();
    assert_eq!(users_through(&server, &admin, ip, 9).await, names(0..10));
    append(&log, line(10, ip).as_bytes());
    assert_eq!(users_through(&server, &admin, ip, 10).await, names(0..11));

    assert_eq!(metric(&server, "firebreak_file_rotations_total").await, 1);
    assert_eq!(metric(&server, "firebreak_file_truncations_total").await, 1);
    server.stop();
}

#[tokio::test]
async fn a_restart_carries_on_from_the_saved_position() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("auth.log");
    let ip = "198.51.100.70";
    std::fs::write(&log, "").unwrap();
    let config = config(dir.path(), &log, "");
    let server = start(dir.path(), &config, Stdio::inherit());
    let admin = server.admin_token().await;
    append(&log, lines(0..3, ip).as_bytes());
    assert_eq!(users_through(&server, &admin, ip, 2).await, names(0..3));
    server.stop();

    // While it is stopped: more lines, a rotation, and half a line in the new file.
    append(&log, line(3, ip).as_bytes());
    std::fs::rename(&log, dir.path().join("auth.log.1")).unwrap();
    let half = line(5, ip);
    let (head, tail) = half.split_at(20);
    std::fs::write(&log, format!("{}{head}", line(4, ip))).unwrap();

    let server = start(dir.path(), &config, Stdio::inherit());
    append(&log, format!("{tail}{}", line(6, ip)).as_bytes());
    assert_eq!(users_through(&server, &admin, ip, 6).await, names(0..7));
    server.stop();

    // And once more with nothing in between.
    let server = start(dir.path(), &config, Stdio::inherit());
    append(&log, line(7, ip).as_bytes());
    assert_eq!(users_through(&server, &admin, ip, 7).await, names(0..8));
    server.stop();
}

#[tokio::test]
async fn a_threat_intelligence_list_edited_while_serving_applies_to_the_next_events() {
    let dir = tempfile::tempdir().unwrap();
    let intel = dir.path().join("intel.txt");
    std::fs::write(&intel, "192.0.2.1\n").unwrap();
    let log = dir.path().join("auth.log");
    let server_log = dir.path().join("server.log");
    let config = config(
        dir.path(),
        &log,
        &format!("\n[detection]\nthreat_intel = [{:?}]\n", intel.display().to_string()),
    );
    let server =
        start(dir.path(), &config, Stdio::from(std::fs::File::create(&server_log).unwrap()));
    let admin = server.admin_token().await;
    let ingest = server.token(&admin, "ingest").await;
    let post = |ip: &'static str, second: u32| {
        let request = reqwest::Client::new()
            .post(server.url("/api/v1/events"))
            .bearer_auth(&ingest)
            .json(&json!({
                "@timestamp": format!("2026-09-01T02:00:{second:02}Z"),
                "event": { "category": "network", "action": "connection" },
                "source": { "ip": ip },
            }));
        async move { request.send().await.unwrap().error_for_status().unwrap() }
    };

    // Not listed yet: no alert. (The listed address after it is the barrier: once its alert is
    // there, the event before it has been through the engine.)
    post("203.0.113.99", 0).await;
    post("192.0.2.1", 1).await;
    alert_for(&server, &admin, "threat_intel_source", "192.0.2.1").await;
    let early = alerts(&server, &admin).await;
    assert!(early.iter().all(|a| a["group"]["source.ip"] != "203.0.113.99"), "{early:?}");

    // Edits are renamed into place, as a feed updater does: a write in place could be seen half
    // done (and read again once whole), which would make the reload count below vary.
    let replace = |text: &str| {
        let new = dir.path().join("intel.txt.new");
        std::fs::write(&new, text).unwrap();
        std::fs::rename(&new, &intel).unwrap();
    };
    replace("192.0.2.1\n203.0.113.99\n");
    post("203.0.113.99", 2).await;
    alert_for(&server, &admin, "threat_intel_source", "203.0.113.99").await;
    assert_eq!(metric(&server, "firebreak_threat_intel_reloads_total").await, 1);
    // The search of stored events by rule reads the list in force too: both events of the
    // newly listed address are the rule's now, the one from before the edit included.
    let found =
        get_json(&server, &admin, "/api/v1/events/search?rule=threat_intel_source&ip=203.0.113.99")
            .await;
    assert_eq!(found["events"].as_array().map(Vec::len), Some(2), "{found}");

    // A broken edit keeps the list in force, and the warning names the file and the line.
    replace("192.0.2.1\nnot an address\n");
    let deadline = Instant::now() + Duration::from_secs(30);
    while metric(&server, "firebreak_threat_intel_reload_errors_total").await == 0 {
        assert!(Instant::now() < deadline, "the broken list was never noticed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let logged = std::fs::read_to_string(&server_log).unwrap();
    assert!(logged.contains("intel.txt: line 2 is not an address"), "{logged}");
    assert_eq!(metric(&server, "firebreak_threat_intel_reloads_total").await, 1);
    server.stop();
}
