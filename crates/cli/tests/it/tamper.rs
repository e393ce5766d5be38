//! A timeline row changed behind the server's back is found, and named, by `timeline verify`.

use crate::Server;

#[tokio::test]
async fn timeline_verify_names_the_entry_changed_in_the_database() {
    let (dir, server) = Server::start_fresh();
    let admin = server.admin_token().await;
    let created = server.cli(
        &admin,
        &["incident", "create", "--title", "Stuffing on /login", "--severity", "SEV2"],
    );
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    for text in ["blocked 203.0.113.0/24", "reset 14 passwords", "told support"] {
        assert!(server.cli(&admin, &["incident", "note", "1", text]).status.success());
    }
    let status = server.cli(&admin, &["incident", "status", "1", "triage", "--reason", "looking"]);
    assert!(status.status.success());
    let verified = server.cli(&admin, &["timeline", "verify", "1"]);
    assert!(verified.status.success(), "{}", String::from_utf8_lossy(&verified.stdout));
    assert!(String::from_utf8_lossy(&verified.stdout).contains("verifies: 5 entries"));

    let csv = server.cli(&admin, &["timeline", "export", "1", "--csv"]);
    let csv = String::from_utf8_lossy(&csv.stdout);
    assert_eq!(csv.lines().count(), 6, "{csv}");
    assert!(csv.starts_with("seq,occurred_at,recorded_at,kind,actor,summary,data,prev_hash,hash"));
    let notes = server.cli(&admin, &["timeline", "export", "1", "--kind", "note"]);
    let notes: Vec<serde_json::Value> = serde_json::from_slice(&notes.stdout).unwrap();
    assert_eq!(notes.len(), 3);

    // Someone with the database file rewrites history.
    sqlx::any::install_default_drivers();
    let url = format!("sqlite://{}", dir.path().join("firebreak.db").display());
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&url).await.unwrap();
    sqlx::query("DROP TRIGGER timeline_entries_no_update").execute(&mut conn).await.unwrap();
    sqlx::query(
        "UPDATE timeline_entries SET summary = 'nothing to see' WHERE incident_id = 1 AND seq = 3",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    drop(conn);

    let verified = server.cli(&admin, &["timeline", "verify", "1"]);
    let stdout = String::from_utf8_lossy(&verified.stdout);
    assert_eq!(verified.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("does NOT verify: timeline entry 3 does not verify"), "{stdout}");

    // The same verdict straight from the file, without trusting the server.
    let offline = server.cli(&admin, &["timeline", "verify", "--database", &url, "1"]);
    assert_eq!(offline.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&offline.stdout).contains("timeline entry 3 does not verify"));
    server.stop();
}
