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
