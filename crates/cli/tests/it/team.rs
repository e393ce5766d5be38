//! The team: roster, on-call, roles in an incident, tasks, and the offline contact list.

use crate::Server;

#[tokio::test]
async fn a_team_is_formed_tasks_are_tracked_and_the_contact_list_exported() {
    let (dir, server) = Server::start_fresh();
    let admin = server.admin_token().await;
    let json = |out: std::process::Output| -> serde_json::Value {
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let ana = json(server.cli(
        &admin,
        &[
            "people",
            "add",
            "--name",
            "Ana Lima",
            "--email",
            "ana@example.org",
            "--phone",
            "+351 21 000 0000",
            "--time-zone",
            "Europe/Lisbon",
            "--can-hold",
            "incident_commander",
            "--can-hold",
            "technical_lead",
            "--format",
            "json",
        ],
    ));
    let bo = json(server.cli(
        &admin,
        &[
            "people",
            "add",
            "--name",
            "Bo Berg",
            "--email",
            "bo@example.org",
            "--time-zone",
            "Europe/Stockholm",
            "--can-hold",
            "scribe",
            "--format",
            "json",
        ],
    ));
    let (ana_id, bo_id) = (ana["id"].to_string(), bo["id"].to_string());
    let bad_zone = server.cli(
        &admin,
        &[
            "people",
            "add",
            "--name",
            "X",
            "--email",
            "x@example.org",
            "--time-zone",
            "Mars/Olympus",
        ],
    );
    assert_eq!(bad_zone.status.code(), Some(2));

    assert!(server.cli(&admin, &["oncall", "set", "incident_commander", &ana_id]).status.success());
    let refused = server.cli(&admin, &["oncall", "set", "incident_commander", &bo_id]);
    assert!(
        String::from_utf8_lossy(&refused.stderr)
            .contains("not on the roster as able to act as incident commander")
    );

    assert!(
        server
            .cli(
                &admin,
                &["incident", "create", "--title", "Account takeover wave", "--severity", "SEV2"]
            )
            .status
            .success()
    );
    assert!(
        server
            .cli(&admin, &["incident", "assign", "1", "incident_commander", &ana_id])
            .status
            .success()
    );
    assert!(server.cli(&admin, &["incident", "assign", "1", "scribe", &bo_id]).status.success());

    let task = json(server.cli(
        &admin,
        &[
            "task",
            "add",
            "1",
            "--title",
            "Force password resets",
            "--owner",
            &ana_id,
            "--due",
            "2020-01-01T00:00:00Z",
            "--check",
            "list the accounts",
            "--check",
            "send the resets",
            "--format",
            "json",
        ],
    ));
    assert_eq!(task[0]["status"], "open");
    let overdue = json(server.cli(&admin, &["task", "overdue", "--format", "json"]));
    assert_eq!(overdue.as_array().unwrap().len(), 1);
    let table = server.cli(&admin, &["task", "list", "1"]);
    assert!(String::from_utf8_lossy(&table.stdout).contains("[OVERDUE]"));
    let done = json(server.cli(
        &admin,
        &[
            "task", "update", "1", "1", "--tick", "0", "--tick", "1", "--status", "done",
            "--format", "json",
        ],
    ));
    assert_eq!(done[0]["status"], "done");
    assert!(
        json(server.cli(&admin, &["task", "overdue", "--format", "json"]))
            .as_array()
            .unwrap()
            .is_empty()
    );

    let shown = String::from_utf8_lossy(&server.cli(&admin, &["incident", "show", "1"]).stdout)
        .into_owned();
    for expected in [
        "Ana Lima is incident commander",
        "Bo Berg is scribe",
        "Task added: Force password resets",
        "status open → done",
    ] {
        assert!(shown.contains(expected), "`{expected}` is not on the timeline:\n{shown}");
    }
    assert!(server.cli(&admin, &["timeline", "verify", "1"]).status.success());

    let out = dir.path().join("war-room");
    assert!(
        server
            .cli(&admin, &["contacts", "export", "--out", out.to_str().unwrap()])
            .status
            .success()
    );
    let csv = std::fs::read_to_string(out.join("contacts.csv")).unwrap();
    assert!(csv.contains("Ana Lima,ana@example.org,'+351 21 000 0000,Europe/Lisbon,incident commander; technical lead,incident commander"), "{csv}");
    assert_eq!(
        std::fs::read_to_string(out.join("contacts.vcf")).unwrap().matches("BEGIN:VCARD").count(),
        2
    );
    assert!(
        std::fs::read_to_string(out.join("contacts.html"))
            .unwrap()
            .contains("<b>incident commander</b>: Ana Lima")
    );
    assert!(std::fs::read(out.join("contacts.pdf")).unwrap().starts_with(b"%PDF-1.4"));
    server.stop();
}
