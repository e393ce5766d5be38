//! Triage end to end, through the client commands: alerts grouped by hand (merge, split),
//! assigned, marked false positives whose accepted suppression silences the next firing, the
//! pivot from an alert to its events, and drills kept out of the figures.

use serde_json::Value;

use crate::{Server, cli_ok, get_json, post_events, stuffing_burst, wait_until};

/// The linked credential-stuffing alert of `ip`, once detection has stored it.
async fn alert_of(server: &Server, token: &str, ip: &str) -> Value {
    wait_until(&format!("an incident's alert for {ip}"), async || {
        let alerts = get_json(server, token, "/api/v1/alerts?rule=credential_stuffing").await;
        alerts
            .as_array()?
            .iter()
            .find(|a| a["group"]["source.ip"] == ip && !a["incident_id"].is_null())
            .cloned()
    })
    .await
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|error| panic!("{error}: {text}"))
}

#[tokio::test]
async fn alerts_are_grouped_assigned_suppressed_and_pivoted_with_drills_left_out() {
    let (_dir, server) = Server::start_fresh();
    let admin = server.admin_token().await;
    let ingest = server.token(&admin, "ingest").await;
    let responder = server.token(&admin, "responder").await;
    post_events(
        &server,
        &ingest,
        stuffing_burst("203.0.113.10", 2, 0) + &stuffing_burst("203.0.113.11", 2, 0),
    )
    .await;
    let a = alert_of(&server, &admin, "203.0.113.10").await;
    let b = alert_of(&server, &admin, "203.0.113.11").await;
    let (alert_a, alert_b) = (a["id"].to_string(), b["id"].to_string());
    let (incident_a, incident_b) = (a["incident_id"].to_string(), b["incident_id"].to_string());
    assert_ne!(incident_a, incident_b, "the policy opens one incident per address");

    // One wave, so merge b into a: a responder may not (merging closes), a commander may.
    let refused = server.cli(
        &responder,
        &["incident", "merge", &incident_b, "--into", &incident_a, "--reason", "one wave"],
    );
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("403")
            || String::from_utf8_lossy(&refused.stderr).contains("commander")
    );
    cli_ok(
        &server,
        &admin,
        &["incident", "merge", &incident_b, "--into", &incident_a, "--reason", "one wave"],
    );
    let merged =
        json(&cli_ok(&server, &admin, &["incident", "show", &incident_b, "--format", "json"]));
    assert_eq!(merged["incident"]["merged_into"].to_string(), incident_a, "{merged}");
    assert_eq!(merged["incident"]["status"], "closed");
    let moved = get_json(&server, &admin, &format!("/api/v1/alerts/{alert_b}")).await;
    assert_eq!(moved["incident_id"].to_string(), incident_a);

    // Then, on a closer look, split b back out into an incident of its own.
    let split = json(&cli_ok(
        &server,
        &responder,
        &[
            "incident",
            "split",
            &incident_a,
            &alert_b,
            "--title",
            "Second actor",
            "--reason",
            "different tooling",
            "--format",
            "json",
        ],
    ));
    let incident_c = split["id"].to_string();
    assert_eq!(split["severity"], a["severity"], "the severity comes from the source incident");
    let in_c = get_json(&server, &admin, &format!("/api/v1/alerts?incident={incident_c}")).await;
    assert_eq!(in_c.as_array().unwrap().len(), 1);

    // Assigning an alert to a person of the team.
    let person = json(&cli_ok(
        &server,
        &admin,
        &[
            "people",
            "add",
            "--name",
            "Dana Ops",
            "--email",
            "dana@example.org",
            "--time-zone",
            "Europe/Lisbon",
            "--format",
            "json",
        ],
    ));
    let person_id = person["id"].to_string();
    cli_ok(&server, &responder, &["alert", "assign", &alert_a, &person_id]);
    let mine = get_json(&server, &admin, &format!("/api/v1/alerts?assignee={person_id}")).await;
    assert_eq!(mine[0]["id"].to_string(), alert_a);

    // b was the pen testers: a false positive proposes, a commander accepts the address.
    let outcome = json(&cli_ok(
        &server,
        &responder,
        &["alert", "false-positive", &alert_b, "--reason", "booked pen test", "--format", "json"],
    ));
    let proposed = outcome["proposed"].as_array().unwrap();
    let allow =
        proposed.iter().find(|p| p["kind"] == "allow" && p["value"] == "203.0.113.11").unwrap();
    let allow_id = allow["id"].to_string();
    let refused = server.cli(&responder, &["suppression", "accept", &allow_id, "--reason", "ok"]);
    assert!(!refused.status.success(), "accepting is a commander's call");
    cli_ok(&server, &admin, &["suppression", "accept", &allow_id, "--reason", "pen test all week"]);
    let listed = cli_ok(&server, &admin, &["suppression", "list", "--status", "accepted"]);
    assert!(listed.contains("203.0.113.11") && listed.contains("accepted"), "{listed}");

    // Two hours later both addresses come back: only the one not suppressed raises an alert.
    post_events(
        &server,
        &ingest,
        stuffing_burst("203.0.113.11", 4, 0) + &stuffing_burst("203.0.113.12", 4, 0),
    )
    .await;
    alert_of(&server, &admin, "203.0.113.12").await;
    wait_until("the suppressed firing to be counted", async || {
        let metrics = reqwest::get(server.url("/metrics")).await.ok()?.text().await.ok()?;
        let line = metrics.lines().find(|l| l.starts_with("firebreak_alerts_suppressed_total "))?;
        (!line.ends_with(" 0")).then_some(())
    })
    .await;
    let alerts = get_json(&server, &admin, "/api/v1/alerts?rule=credential_stuffing").await;
    let of_b: Vec<&Value> = alerts
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["group"]["source.ip"] == "203.0.113.11")
        .collect();
    assert_eq!(of_b.len(), 1, "no new alert for the suppressed address: {alerts}");

    // The pivot: every event of a's address; with --rule-only, only those its rule looks at.
    post_events(&server, &ingest, "{\"@timestamp\":\"2026-09-01T05:00:00Z\",\"event\":{\"category\":\"web\",\"outcome\":\"success\"},\"source\":{\"ip\":\"203.0.113.10\"},\"url\":{\"path\":\"/\"}}\n".into()).await;
    let all = wait_until("the later event of a's address", async || {
        let page =
            json(&cli_ok(&server, &admin, &["alert", "events", &alert_a, "--format", "json"]));
        (page["events"].as_array()?.len() == 13).then_some(page)
    })
    .await;
    assert_eq!(all["events"][0]["event"]["event"]["category"], "web", "newest first");
    let ruled = json(&cli_ok(
        &server,
        &admin,
        &["alert", "events", &alert_a, "--rule-only", "--format", "json"],
    ));
    assert_eq!(ruled["events"].as_array().unwrap().len(), 12, "{ruled}");
    let searched = json(&cli_ok(
        &server,
        &admin,
        &[
            "events",
            "search",
            "--rule",
            "credential_stuffing",
            "--ip",
            "203.0.113.10",
            "--format",
            "json",
        ],
    ));
    assert_eq!(searched["events"].as_array().unwrap().len(), 12);
    let unknown = server.cli(&admin, &["events", "search", "--rule", "no_such_rule"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no_such_rule"));

    // A drill is counted apart, never in the figures or the open-incident gauges.
    let before = json(&cli_ok(&server, &admin, &["incident", "stats", "--format", "json"]));
    cli_ok(
        &server,
        &admin,
        &["incident", "create", "--title", "Tabletop", "--severity", "SEV1", "--drill"],
    );
    let after = json(&cli_ok(&server, &admin, &["incident", "stats", "--format", "json"]));
    assert_eq!(after["total"], before["total"]);
    assert_eq!(after["drills"], 1);
    assert_eq!(after["merged"], 1);
    let metrics = reqwest::get(server.url("/metrics")).await.unwrap().text().await.unwrap();
    assert!(metrics.contains("firebreak_incidents_open{severity=\"SEV1\"} 0"), "{metrics}");
    assert!(metrics.contains("firebreak_incident_drills 1"), "{metrics}");

    // Every step is on the timelines, and every chain still verifies.
    for incident in [&incident_a, &incident_b, &incident_c] {
        cli_ok(&server, &admin, &["timeline", "verify", incident]);
    }
    let timeline = cli_ok(&server, &admin, &["timeline", "export", &incident_a, "--csv"]);
    for needle in ["merged in", "split out", "assigned to Dana Ops"] {
        assert!(timeline.contains(needle), "`{needle}` missing from:\n{timeline}");
    }
    let timeline_c = cli_ok(&server, &admin, &["timeline", "export", &incident_c, "--csv"]);
    assert!(
        timeline_c.contains("false positive") && timeline_c.contains("accepted"),
        "{timeline_c}"
    );
    server.stop();
}

#[tokio::test]
async fn grouped_by_rule_a_distributed_wave_is_one_incident() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with_config(dir.path(), "[incidents]\ngroup_by = \"rule\"\n");
    let admin = server.admin_token().await;
    let ingest = server.token(&admin, "ingest").await;
    let wave: String = (20..25).map(|n| stuffing_burst(&format!("198.51.100.{n}"), 3, 0)).collect();
    post_events(&server, &ingest, wave).await;
    let mut incidents = std::collections::BTreeSet::new();
    for n in 20..25 {
        let alert = alert_of(&server, &admin, &format!("198.51.100.{n}")).await;
        incidents.insert(alert["incident_id"].to_string());
    }
    assert_eq!(incidents.len(), 1, "five addresses, one rule, one incident: {incidents:?}");
    server.stop();
}
