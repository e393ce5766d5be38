//! Bad input gets a clear error that says what and where, and loses nothing already accepted.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::{BIN, Server};

#[tokio::test]
async fn malformed_and_oversized_bodies_are_refused_and_the_good_lines_kept() {
    let (_dir, server) = Server::start_fresh();
    let admin = server.admin_token().await;
    let client = reqwest::Client::new();
    let post = |body: Vec<u8>| {
        client.post(server.url("/api/v1/events")).bearer_auth(&admin).body(body).send()
    };

    let answer =
        post(b"{\"message\":\"one\"}\nnot json\n{\"message\":\"two\"}\n\xff\xfe\n".to_vec())
            .await
            .unwrap();
    assert_eq!(answer.status(), 200);
    let answer: Value = answer.json().await.unwrap();
    assert_eq!(answer["accepted"], 2);
    assert_eq!(answer["rejected"], 2);
    assert_eq!(answer["errors"][0]["line"], 2);
    assert_eq!(answer["errors"][1]["line"], 4);

    let answer = post(b"{\"message\": ".to_vec()).await.unwrap();
    assert_eq!(answer.status(), 400);
    let answer = post(Vec::new()).await.unwrap();
    assert_eq!(answer.status(), 400);
    let body: Value = answer.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_request");

    let huge = vec![b' '; 17 << 20];
    let answer = post(huge).await.unwrap();
    assert_eq!(answer.status(), 413);

    let bad_json = client
        .post(server.url("/api/v1/incidents"))
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body("{\"title\": 5}")
        .send()
        .await
        .unwrap();
    assert_eq!(bad_json.status(), 400);
    let body: Value = bad_json.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("title"), "{body}");

    server.wait_ready().await;
    let page: Value = client
        .get(server.url("/api/v1/events"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let messages: Vec<&str> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"]["message"].as_str().unwrap())
        .collect();
    assert_eq!(messages, vec!["one", "two"]);
    server.stop();
}

#[tokio::test]
async fn a_failed_start_leaves_the_store_intact() {
    let (dir, server) = Server::start_fresh();
    let admin = server.admin_token().await;
    assert!(
        server
            .cli(&admin, &["incident", "create", "--title", "keep me", "--severity", "SEV3"])
            .status
            .success()
    );
    let port = server.port;
    server.stop();

    let config = dir.path().join("firebreak.toml");
    std::fs::write(&config, "[server]\nlissen = \"127.0.0.1:1\"\n").unwrap();
    let checked =
        Command::new(BIN).args(["config", "check", "--config"]).arg(&config).output().unwrap();
    assert_eq!(checked.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&checked.stderr);
    assert!(
        stderr.contains("unknown key `server.lissen`") && stderr.contains("firebreak.toml"),
        "{stderr}"
    );
    let served = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&config)
        .arg("--database")
        .arg(format!("sqlite://{}", dir.path().join("firebreak.db").display()))
        .output()
        .unwrap();
    assert_eq!(served.status.code(), Some(2));

    let started = Instant::now();
    let unreachable = Command::new(BIN)
        .args(["serve", "--database", "postgres://firebreak:hunter2@127.0.0.1:1/firebreak"])
        .arg("--data-dir")
        .arg(dir.path().join("other"))
        .output()
        .unwrap();
    assert_eq!(unreachable.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&unreachable.stderr);
    assert!(
        stderr.contains(
            "cannot open the database at postgres://firebreak:[redacted]@127.0.0.1:1/firebreak"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2"));
    assert!(started.elapsed() < Duration::from_secs(30));

    let server = Server::start(dir.path(), port);
    assert!(server.setup.is_none(), "no second administrator on restart");
    let shown = server.cli(&admin, &["incident", "show", "1"]);
    assert!(String::from_utf8_lossy(&shown.stdout).contains("keep me"));
    assert!(server.cli(&admin, &["timeline", "verify", "1"]).status.success());
    server.stop();
}
