//! No token or password ever reaches a log line, even at the most verbose log level.

use std::process::Stdio;

use serde_json::{Value, json};

use crate::Server;

#[tokio::test]
async fn tokens_and_passwords_stay_out_of_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("server.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let server = Server::start_logging(dir.path(), port, "trace", Stdio::from(log));
    let setup = server.setup.clone().unwrap();
    let client = reqwest::Client::new();
    let password = "correct horse battery staple";
    let admin: Value = client
        .post(server.url("/api/v1/auth/setup"))
        .bearer_auth(&setup)
        .json(&json!({ "password": password }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let admin = admin["token"].as_str().unwrap().to_owned();
    let session: Value = client
        .post(server.url("/api/v1/auth/login"))
        .json(&json!({ "username": "admin", "password": password }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let session = session["token"].as_str().unwrap().to_owned();
    let wrong = client
        .post(server.url("/api/v1/auth/login"))
        .json(&json!({ "username": "admin", "password": "not the password at all" }))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let ingest = server.token(&session, "ingest").await;
    client
        .post(server.url("/api/v1/events"))
        .bearer_auth(&ingest)
        .body("{\"message\":\"x\"}")
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    client
        .get(server.url("/api/v1/incidents"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    client
        .get(server.url("/api/v1/incidents"))
        .bearer_auth("fbk_this-one-is-wrong")
        .send()
        .await
        .unwrap();
    server.stop();

    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.lines().count() > 5, "the trace log is suspiciously short:\n{log}");
    for secret in [
        setup.as_str(),
        &admin,
        &session,
        &ingest,
        password,
        "not the password at all",
        "fbk_this-one-is-wrong",
    ] {
        assert!(!log.contains(secret), "a secret reached the log");
    }
    // Nor the tokens' hashes, which are as good as the tokens for a database lookup.
    for token in [&admin, &session, &ingest] {
        let digest: String = sha256_hex(token);
        assert!(!log.contains(&digest), "a token hash reached the log");
    }
}

fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}
