//! Live detection end to end: a credential-stuffing burst posted to the ingest API becomes a
//! stored alert and an open incident, with the alert on the incident's timeline.

use serde_json::Value;

use crate::{Server, get_json, wait_until};

#[tokio::test]
async fn a_credential_stuffing_burst_becomes_an_alert_and_an_incident() {
    let (_dir, server) = Server::start_fresh();
    let admin = server.admin_token().await;
    let ingest = server.token(&admin, "ingest").await;
    let client = reqwest::Client::new();
    let mut burst = String::new();
    for n in 0..12 {
        burst.push_str(&format!(
            "{{\"@timestamp\":\"2026-09-01T02:00:{n:02}Z\",\"event\":{{\"category\":\"authentication\",\"action\":\"login\",\"outcome\":\"failure\"}},\"source\":{{\"ip\":\"203.0.113.77\"}},\"user\":{{\"name\":\"customer{n}@example.org\"}},\"url\":{{\"path\":\"/api/login\"}}}}\n"
        ));
    }
    // And someone who only mistyped once, who must not appear.
    burst.push_str("{\"@timestamp\":\"2026-09-01T02:00:30Z\",\"event\":{\"category\":\"authentication\",\"outcome\":\"failure\"},\"source\":{\"ip\":\"192.0.2.44\"},\"user\":{\"name\":\"bob\"}}\n");
    client
        .post(server.url("/api/v1/events"))
        .bearer_auth(&ingest)
        .body(burst)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();

    // Wait until the alert is stored and linked to its incident (asynchronous by design).
    let alerts: Vec<Value> = wait_until("the alert linked to its incident", async || {
        let alerts = get_json(&server, &admin, "/api/v1/alerts").await;
        let alerts = alerts.as_array()?.clone();
        let linked = alerts
            .iter()
            .any(|a| a["rule_id"] == "credential_stuffing" && !a["incident_id"].is_null());
        linked.then_some(alerts)
    })
    .await;
    let incidents: Vec<Value> = client
        .get(server.url("/api/v1/incidents"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let stuffing = alerts
        .iter()
        .find(|a| a["rule_id"] == "credential_stuffing")
        .unwrap_or_else(|| panic!("no credential_stuffing alert in {alerts:?}"));
    assert_eq!(stuffing["group"], serde_json::json!({"source.ip": "203.0.113.77"}));
    assert!(alerts.iter().all(|a| a["group"]["source.ip"] != "192.0.2.44"), "{alerts:?}");
    let incident = incidents
        .iter()
        .find(|i| i["id"] == stuffing["incident_id"])
        .expect("the alert's incident is open");
    assert_eq!(incident["status"], "detected");
    assert!(incident["title"].as_str().unwrap().contains("203.0.113.77"), "{incident}");

    let id = incident["id"].to_string();
    let shown = String::from_utf8_lossy(&server.cli(&admin, &["incident", "show", &id]).stdout)
        .into_owned();
    assert!(shown.contains("alert_linked") && shown.contains("Credential stuffing"), "{shown}");
    let acked: Value = client
        .post(server.url(&format!("/api/v1/alerts/{}/acknowledge", stuffing["id"])))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(acked["status"], "acknowledged");
    server.stop();
}

/// A wave: once a rule has opened `wave_after` incidents in the hour, its alerts for further
/// addresses join the newest of them instead of opening one each.
#[tokio::test]
async fn a_wave_over_many_addresses_folds_into_the_incidents_it_already_opened() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with_config(dir.path(), "[incidents]\nwave_after = 2\n");
    let admin = server.admin_token().await;
    let ingest = server.token(&admin, "ingest").await;
    let addresses = ["203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.4"];
    let body: String = addresses
        .iter()
        .enumerate()
        .map(|(minute, ip)| crate::stuffing_burst(ip, 3, minute as u32))
        .collect();
    crate::post_events(&server, &ingest, body).await;

    let stuffing: Vec<Value> = wait_until("four linked credential-stuffing alerts", async || {
        let alerts = get_json(&server, &admin, "/api/v1/alerts").await;
        let mut stuffing: Vec<Value> = alerts
            .as_array()?
            .iter()
            .filter(|a| a["rule_id"] == "credential_stuffing" && !a["incident_id"].is_null())
            .cloned()
            .collect();
        stuffing.sort_by_key(|a| a["id"].as_i64());
        (stuffing.len() == addresses.len()).then_some(stuffing)
    })
    .await;
    let incident_of = |ip: &str| {
        stuffing
            .iter()
            .find(|a| a["group"]["source.ip"] == ip)
            .map(|a| a["incident_id"].clone())
            .unwrap_or_else(|| panic!("no alert for {ip} in {stuffing:?}"))
    };
    let (first, second) = (incident_of(addresses[0]), incident_of(addresses[1]));
    assert_ne!(first, second, "below the wave, each address has its own incident");
    assert_eq!(incident_of(addresses[2]), second, "the wave joins the newest incident");
    assert_eq!(incident_of(addresses[3]), second);
    let shown = crate::cli_ok(&server, &admin, &["incident", "show", &second.to_string()]);
    assert!(shown.contains("203.0.113.4"), "the joining alert is on the timeline: {shown}");

    // Once the wave's incident is closed, the next address opens an incident of its own.
    let second_id = second.to_string();
    crate::cli_ok(
        &server,
        &admin,
        &["incident", "status", &second_id, "closed", "--reason", "handled as one wave"],
    );
    crate::post_events(&server, &ingest, crate::stuffing_burst("203.0.113.5", 3, 10)).await;
    let fifth = wait_until("the fifth address's alert, linked", async || {
        let alerts = get_json(&server, &admin, "/api/v1/alerts").await;
        alerts.as_array()?.iter().find_map(|a| {
            (a["group"]["source.ip"] == "203.0.113.5" && a["rule_id"] == "credential_stuffing")
                .then(|| a["incident_id"].clone())
                .filter(|id| !id.is_null())
        })
    })
    .await;
    assert!(fifth != first && fifth != second, "{fifth} should be a new incident");
    server.stop();
}
