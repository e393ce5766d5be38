//! `firebreak scan` and `firebreak rules`: files, gzip, standard input, exit statuses, and bad
//! input that is counted rather than fatal.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::BIN;

fn auth_log() -> String {
    let mut log = String::new();
    for i in 0..30 {
        log.push_str(&format!("Jun 14 15:16:{i:02} web1 sshd[{}]: Failed password for invalid user user{i} from 203.0.113.50 port {} ssh2\n", 1000 + i, 40000 + i));
    }
    log.push_str("Jun 14 15:18:00 web1 sshd[3000]: Accepted password for alice from 192.0.2.10 port 50000 ssh2\n");
    log
}

#[test]
fn scan_finds_the_attack_in_plain_gzip_and_standard_input() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("auth.log");
    std::fs::write(&plain, auth_log()).unwrap();
    let gz = dir.path().join("auth.log.1.gz");
    let mut encoder = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::default(),
    );
    encoder.write_all(auth_log().as_bytes()).unwrap();
    encoder.finish().unwrap();

    for file in [&plain, &gz] {
        let out = Command::new(BIN)
            .args(["scan", "--format", "json", "--now", "2026-06-15T00:00:00Z"])
            .arg(file)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
        let findings: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let brute = findings
            .iter()
            .find(|f| f["rule_id"] == "ssh_brute_force")
            .expect("ssh_brute_force fires");
        assert_eq!(brute["group"], serde_json::json!({"source.ip": "203.0.113.50"}));
        for key in ["title", "severity", "count", "first_seen", "last_seen", "sample", "tags"] {
            assert!(!brute[key].is_null(), "{key} missing in {brute}");
        }
    }

    let mut child = Command::new(BIN)
        .args(["scan", "-", "--now", "2026-06-15T00:00:00Z"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(auth_log().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("SSH brute force from one address"));

    // Quiet logs: nothing found, exit 0.
    let quiet = dir.path().join("quiet.log");
    std::fs::write(&quiet, "Jun 14 15:18:00 web1 sshd[3000]: Accepted publickey for alice from 192.0.2.10 port 50000 ssh2\n").unwrap();
    let out = Command::new(BIN)
        .args(["scan", "--now", "2026-06-15T00:00:00Z"])
        .arg(&quiet)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn bad_lines_are_counted_and_bad_rules_named() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("mixed.log");
    let mut bytes = auth_log().into_bytes();
    bytes.extend_from_slice(b"\xff\xfe\x00garbage\n");
    bytes.extend_from_slice(&vec![b'A'; 200_000]);
    bytes.push(b'\n');
    bytes.extend_from_slice(b"Jun 14 15:19:00 web1 sshd[3001]: Failed password for root from 198.51.100.9 port 1 ssh2\n");
    std::fs::write(&log, bytes).unwrap();
    let out = Command::new(BIN)
        .args(["scan", "--now", "2026-06-15T00:00:00Z"])
        .arg(&log)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("1 too long") && stdout.contains("from 34 lines"), "{stdout}");

    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    std::fs::write(
        rules.join("broken.yml"),
        "title: half a rule\ndetection:\n  selection:\n    - [unclosed\n",
    )
    .unwrap();
    let out = Command::new(BIN).args(["scan", "--rules"]).arg(&rules).arg(&log).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("broken.yml"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let listed = Command::new(BIN).args(["rules", "list"]).output().unwrap();
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.contains("ssh_brute_force") && listed.contains("attack.t1110"), "{listed}");
    let tested = Command::new(BIN)
        .args(["rules", "test", "ssh_brute_force"])
        .arg(&log)
        .args(["--now", "2026-06-15T00:00:00Z"])
        .output()
        .unwrap();
    let tested = String::from_utf8_lossy(&tested.stdout);
    assert!(tested.contains("FIRES: ssh_brute_force for source.ip=203.0.113.50"), "{tested}");
}
