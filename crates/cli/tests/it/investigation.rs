//! Investigation: stored events searched and exported through the API and the CLI.

use crate::{Server, get_json, wait_until};

#[tokio::test]
async fn events_are_searched_by_address_and_exported_as_a_stream() {
    let (_dir, server) = Server::start_fresh();
    let admin = server.admin_token().await;
    let mut body = String::new();
    for n in 0..2500 {
        body.push_str(&format!(
            "{{\"@timestamp\":\"2026-06-01T10:{:02}:{:02}Z\",\"source\":{{\"ip\":\"203.0.113.{}\"}},\"user\":{{\"name\":\"u{}\"}},\"message\":\"login {}\"}}\n",
            n / 60 % 60,
            n % 60,
            n % 10,
            n % 7,
            if n == 1234 { "from a tor exit" } else { "failed" }
        ));
    }
    reqwest::Client::new()
        .post(server.url("/api/v1/events"))
        .bearer_auth(&admin)
        .body(body)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    server.wait_ready().await;
    // Wait for the drain: the search reads the store.
    wait_until("the 2,500 events stored", async || {
        let page = get_json(&server, &admin, "/api/v1/events?limit=10000").await;
        (page["events"].as_array()?.len() == 2500).then_some(())
    })
    .await;

    let searched = server.cli(
        &admin,
        &["events", "search", "--ip", "203.0.113.3", "--limit", "100", "--format", "json"],
    );
    assert!(searched.status.success(), "{}", String::from_utf8_lossy(&searched.stderr));
    let page: serde_json::Value = serde_json::from_slice(&searched.stdout).unwrap();
    assert_eq!(page["events"].as_array().unwrap().len(), 100);
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    let next = server.cli(
        &admin,
        &[
            "events",
            "search",
            "--ip",
            "203.0.113.3",
            "--limit",
            "200",
            "--cursor",
            &cursor,
            "--format",
            "json",
        ],
    );
    let next: serde_json::Value = serde_json::from_slice(&next.stdout).unwrap();
    assert_eq!(next["events"].as_array().unwrap().len(), 150);
    assert!(next["next_cursor"].is_null());

    let table = server.cli(&admin, &["events", "search", "--text", "tor exit"]);
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(table.contains("203.0.113.4") && table.contains("login from a tor exit"), "{table}");

    let exported = server.cli(&admin, &["events", "export", "--user", "u3"]);
    assert!(exported.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&exported.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), (0..2500).filter(|n| n % 7 == 3).count());
    assert!(lines.iter().all(|l| l["event"]["user"]["name"] == "u3"));

    let bad = server.cli(&admin, &["events", "search", "--ip", "not-an-ip"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not an IP address"));
    server.stop();
}
