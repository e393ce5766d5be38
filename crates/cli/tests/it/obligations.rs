//! `firebreak obligations --facts FILE`: obligations from a facts file, without a server.

use std::process::Command;

use crate::BIN;

#[test]
fn a_facts_file_gives_cited_obligations_and_a_bad_one_a_precise_error() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../comply/examples/facts.toml");
    let out = Command::new(BIN).args(["obligations", "--facts", example]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("GDPR Art. 33(1)") && text.contains("why:"), "{text}");

    let json = Command::new(BIN)
        .args(["obligations", "--format", "json", "--facts", example])
        .output()
        .unwrap();
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let obligations = value["obligations"].as_array().unwrap();
    assert!(!obligations.is_empty());
    assert!(obligations.iter().all(|o| o["citation"].as_str().is_some_and(|c| !c.is_empty())));

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("facts.toml");
    let original = std::fs::read_to_string(example).unwrap();
    let broken = original.replacen("country = \"US\"", "country = \"Atlantis\"", 1);
    assert_ne!(original, broken, "the example names a US jurisdiction");
    std::fs::write(&bad, broken).unwrap();
    let out = Command::new(BIN).args(["obligations", "--facts"]).arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Atlantis") && stderr.contains("facts.toml"), "{stderr}");
}

#[tokio::test]
async fn an_incidents_facts_drive_its_obligations_and_every_change_is_on_the_timeline() {
    let (_dir, server) = crate::Server::start_fresh();
    let admin = server.admin_token().await;
    assert!(
        server
            .cli(
                &admin,
                &[
                    "incident",
                    "create",
                    "--title",
                    "Customer database copied",
                    "--severity",
                    "SEV1"
                ]
            )
            .status
            .success()
    );
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../comply/examples/facts.toml");

    let recorded = server.cli(&admin, &["obligations", "1", "--record", example]);
    let text = String::from_utf8_lossy(&recorded.stdout);
    assert!(recorded.status.success(), "{}", String::from_utf8_lossy(&recorded.stderr));
    assert!(text.contains("GDPR Art. 33(1)") && text.contains("Tracking:"), "{text}");

    // The California attorney general's notice is chained to the consumer notice: sending that
    // one gives the chained one a fixed deadline.
    let before = server.cli(&admin, &["obligations", "1", "--format", "json"]);
    let before: serde_json::Value = serde_json::from_slice(&before.stdout).unwrap();
    let chained = |view: &serde_json::Value| {
        view["assessment"]["obligations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["rule_id"] == "us-ca-ag")
            .unwrap()["deadline"]
            .clone()
    };
    let marked = server.cli(
        &admin,
        &[
            "obligations",
            "1",
            "--mark",
            "us-ca-individuals",
            "--as",
            "sent",
            "--detail",
            "mail merge batch 7",
            "--sent-at",
            "2026-03-10T12:00:00Z",
            "--format",
            "json",
        ],
    );
    assert!(marked.status.success(), "{}", String::from_utf8_lossy(&marked.stderr));
    let after: serde_json::Value = serde_json::from_slice(&marked.stdout).unwrap();
    assert_ne!(
        chained(&before),
        chained(&after),
        "the chained deadline moved once the notice was sent"
    );
    let status = after["tracking"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["rule_id"] == "us-ca-individuals")
        .unwrap()["status"]
        .clone();
    assert!(status.to_string().contains("mail merge batch 7"), "{status}");

    let refused =
        server.cli(&admin, &["obligations", "1", "--mark", "no-such-rule", "--as", "drafted"]);
    assert_eq!(refused.status.code(), Some(2));

    let shown = server.cli(&admin, &["incident", "show", "1"]);
    let timeline = String::from_utf8_lossy(&shown.stdout);
    assert!(timeline.contains("Breach facts recorded"), "{timeline}");
    assert!(timeline.contains("Notice `us-ca-individuals` sent"), "{timeline}");
    assert!(timeline.contains("marked sent"), "{timeline}");
    assert!(server.cli(&admin, &["timeline", "verify", "1"]).status.success());
    server.stop();
}

#[tokio::test]
async fn a_damage_assessment_flows_into_the_obligations() {
    let (dir, server) = crate::Server::start_fresh();
    let admin = server.admin_token().await;
    assert!(
        server
            .cli(
                &admin,
                &["incident", "create", "--title", "Backup bucket exposed", "--severity", "SEV1"]
            )
            .status
            .success()
    );
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../comply/examples/facts.toml");
    assert!(server.cli(&admin, &["obligations", "1", "--record", example]).status.success());
    let owed = |server: &crate::Server| -> Vec<String> {
        let out = server.cli(&admin, &["obligations", "1", "--format", "json"]);
        let view: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        view["assessment"]["obligations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["rule_id"].as_str().unwrap().to_owned())
            .collect()
    };
    let before = owed(&server);
    assert!(
        before.contains(&"us-ca-individuals".to_owned()) && before.contains(&"gdpr-34".to_owned()),
        "{before:?}"
    );

    // The backups were encrypted and the key never left the vault.
    let damage = dir.path().join("damage.toml");
    std::fs::write(
        &damage,
        "data_categories = [\"credentials\", \"contact_details\"]\nencrypted = true\nkey_safe = true\nsystems = [\"backup-bucket\"]\n\
         [[affected]]\ncountry = \"US\"\nstate = \"CA\"\npeople = 1200\nrecords = 1200\n[[affected]]\ncountry = \"DE\"\npeople = 300\n\
         [[downtime]]\nfunction = \"payments\"\nminutes = 40\n[estimated_cost]\namount = 80000\ncurrency = \"EUR\"\n",
    )
    .unwrap();
    let recorded = server.cli(&admin, &["damage", "1", "--record", damage.to_str().unwrap()]);
    assert!(recorded.status.success(), "{}", String::from_utf8_lossy(&recorded.stderr));
    assert!(String::from_utf8_lossy(&recorded.stdout).contains("Damage assessment v1"));
    let after = owed(&server);
    assert!(
        !after.contains(&"us-ca-individuals".to_owned()),
        "encrypted with a safe key: no state notice ({after:?})"
    );
    assert!(
        !after.contains(&"gdpr-34".to_owned()),
        "encryption removes the duty to tell data subjects"
    );
    assert!(after.contains(&"gdpr-33".to_owned()), "but not the duty to tell the authority");

    let shown = String::from_utf8_lossy(&server.cli(&admin, &["incident", "show", "1"]).stdout)
        .into_owned();
    assert!(shown.contains("Damage assessment v1: 1500 people in 2 jurisdiction(s)"), "{shown}");
    assert!(shown.contains("Breach facts updated from damage assessment v1"), "{shown}");
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"data_categories": ["gossip"]}"#).unwrap();
    let refused = server.cli(&admin, &["damage", "1", "--record", bad.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("gossip"));
    assert!(server.cli(&admin, &["timeline", "verify", "1"]).status.success());
    server.stop();
}
