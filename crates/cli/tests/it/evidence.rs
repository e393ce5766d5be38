//! Evidence: acquired with its hash, every access on the custody log, exported as a bundle that
//! `sha256sum -c` checks, and a changed byte found and named.

use std::process::Command;

use crate::{Server, wait_until};

#[tokio::test]
async fn evidence_keeps_its_chain_of_custody_and_its_bundle_checks_with_sha256sum() {
    let (dir, server) = Server::start_fresh();
    let admin = server.admin_token().await;
    assert!(
        server
            .cli(
                &admin,
                &[
                    "incident",
                    "create",
                    "--title",
                    "Data export by a support account",
                    "--severity",
                    "SEV2"
                ]
            )
            .status
            .success()
    );

    let file = dir.path().join("nginx-access.log");
    std::fs::write(&file, "203.0.113.9 - - [01/Jun/2026:10:00:00 +0000] \"GET /admin/export?all=1 HTTP/1.1\" 200 912345 \"-\" \"curl/8\"\n").unwrap();
    let added = server.cli(
        &admin,
        &[
            "evidence",
            "add",
            "1",
            file.to_str().unwrap(),
            "--reason",
            "the request that took the data",
            "--format",
            "json",
        ],
    );
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    let added: serde_json::Value = serde_json::from_slice(&added.stdout).unwrap();
    let expected_hash: String = {
        use sha2::Digest;
        sha2::Sha256::digest(std::fs::read(&file).unwrap())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    assert_eq!(added["sha256"], expected_hash.as_str());

    let mut events = String::new();
    for n in 0..40 {
        events.push_str(&format!("{{\"@timestamp\":\"2026-06-01T10:00:{n:02}Z\",\"source\":{{\"ip\":\"203.0.113.9\"}},\"message\":\"export page {n}\"}}\n"));
    }
    reqwest::Client::new()
        .post(server.url("/api/v1/events"))
        .bearer_auth(&admin)
        .body(events)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    wait_until("the 40 events stored", async || {
        let found =
            server.cli(&admin, &["events", "search", "--ip", "203.0.113.9", "--format", "json"]);
        let page: serde_json::Value = serde_json::from_slice(&found.stdout).ok()?;
        (page["events"].as_array()?.len() == 40).then_some(())
    })
    .await;
    let captured = server.cli(
        &admin,
        &[
            "evidence",
            "capture",
            "--incident",
            "1",
            "--name",
            "events-203.0.113.9.ndjson",
            "--ip",
            "203.0.113.9",
            "--format",
            "json",
        ],
    );
    assert!(captured.status.success(), "{}", String::from_utf8_lossy(&captured.stderr));
    let captured: serde_json::Value = serde_json::from_slice(&captured.stdout).unwrap();
    assert!(captured["description"].as_str().unwrap().starts_with("40 events"), "{captured}");

    let copy = dir.path().join("copy.log");
    assert!(
        server
            .cli(
                &admin,
                &[
                    "evidence",
                    "get",
                    "1",
                    "1",
                    "--out",
                    copy.to_str().unwrap(),
                    "--reason",
                    "analysis"
                ]
            )
            .status
            .success()
    );
    assert_eq!(std::fs::read(&copy).unwrap(), std::fs::read(&file).unwrap());
    let verified = server.cli(&admin, &["evidence", "verify", "1"]);
    assert!(verified.status.success(), "{}", String::from_utf8_lossy(&verified.stdout));

    // The bundle checks with sha256sum alone.
    let bundle = dir.path().join("bundle.zip");
    assert!(
        server
            .cli(
                &admin,
                &[
                    "evidence",
                    "export",
                    "1",
                    "--out",
                    bundle.to_str().unwrap(),
                    "--reason",
                    "for the insurer"
                ]
            )
            .status
            .success()
    );
    let unpacked = dir.path().join("unpacked");
    zip::ZipArchive::new(std::fs::File::open(&bundle).unwrap())
        .unwrap()
        .extract(&unpacked)
        .unwrap();
    let checked = Command::new("sha256sum")
        .args(["-c", "SHA256SUMS"])
        .current_dir(&unpacked)
        .output()
        .unwrap();
    assert!(checked.status.success(), "{}", String::from_utf8_lossy(&checked.stdout));
    assert_eq!(String::from_utf8_lossy(&checked.stdout).matches(": OK").count(), 3);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(unpacked.join("manifest.json")).unwrap()).unwrap();
    let custody: Vec<String> = manifest["custody"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["data"]["custody"].as_str().unwrap().to_owned())
        .collect();
    for action in ["acquired", "accessed", "re-verified", "exported"] {
        assert!(
            custody.iter().any(|c| c == action),
            "{action} is not in the custody log {custody:?}"
        );
    }
    // A byte changed in the bundle is caught by sha256sum too.
    let inside = unpacked.join("evidence").join(format!("1-{}", "nginx-access.log"));
    let mut bytes = std::fs::read(&inside).unwrap();
    bytes[0] ^= 1;
    std::fs::write(&inside, bytes).unwrap();
    assert!(
        !Command::new("sha256sum")
            .args(["-c", "--quiet", "SHA256SUMS"])
            .current_dir(&unpacked)
            .output()
            .unwrap()
            .status
            .success()
    );

    // A byte changed in the evidence store behind the server's back is found and named.
    let blob = dir
        .path()
        .join("data")
        .join("evidence")
        .join("sha256")
        .join(&expected_hash[..2])
        .join(&expected_hash);
    let mut bytes = std::fs::read(&blob).unwrap();
    bytes[3] ^= 0x20;
    std::fs::write(&blob, bytes).unwrap();
    let failed = server.cli(&admin, &["evidence", "verify", "1"]);
    assert_eq!(failed.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&failed.stdout);
    assert!(
        stdout.contains("Evidence 1 `nginx-access.log` does NOT verify")
            && stdout.contains(&expected_hash),
        "{stdout}"
    );
    assert!(
        server.cli(&admin, &["timeline", "verify", "1"]).status.success(),
        "custody records keep the chain whole"
    );
    server.stop();
}
