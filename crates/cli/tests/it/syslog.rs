//! Syslog over UDP and TCP: messages are parsed, stored like ingested events, and detected on,
//! sshd and sudo messages by the rules written for their lines as in `firebreak scan`.

use std::io::Write;
use std::process::Stdio;

use serde_json::Value;

use crate::{Server, free_port, get_json, wait_until};

#[tokio::test]
async fn syslog_over_udp_and_tcp_is_stored_and_detected() {
    let dir = tempfile::tempdir().unwrap();
    let (udp, tcp) = (free_port(), free_port());
    let config = dir.path().join("firebreak.toml");
    std::fs::write(
        &config,
        format!("[[sources.syslog]]\nlisten = \"127.0.0.1:{udp}\"\nprotocol = \"udp\"\n\n[[sources.syslog]]\nlisten = \"127.0.0.1:{tcp}\"\nprotocol = \"tcp\"\n"),
    )
    .unwrap();
    // The harness passes --database and --data-dir; the configuration file adds the sources.
    let database = format!("sqlite://{}", dir.path().join("firebreak.db").display());
    let server =
        Server::start_on_with_config(dir.path(), free_port(), &database, &config, Stdio::inherit());
    let admin = server.admin_token().await;
    let line = |n: usize, ip: &str| {
        format!(
            "<38>Oct 11 22:14:{n:02} web1 sshd[{}]: Failed password for invalid user guest{n} from {ip} port {} ssh2",
            4000 + n,
            50000 + n
        )
    };

    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    for n in 0..8 {
        socket.send_to(line(n, "198.51.100.201").as_bytes(), ("127.0.0.1", udp)).unwrap();
    }
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", tcp)).unwrap();
    for n in 0..8 {
        writeln!(stream, "{}", line(n, "198.51.100.202")).unwrap();
    }
    writeln!(stream, "this is not syslog at all").unwrap();
    stream.flush().unwrap();
    drop(stream);

    let client = reqwest::Client::new();
    let mut groups: Vec<String> = wait_until("two credential-stuffing alerts", async || {
        let alerts = get_json(&server, &admin, "/api/v1/alerts").await;
        let groups: Vec<String> = alerts
            .as_array()?
            .iter()
            .filter(|a| a["rule_id"] == "credential_stuffing")
            .map(|a| a["group"]["source.ip"].as_str().unwrap_or("").to_owned())
            .collect();
        (groups.len() == 2).then_some(groups)
    })
    .await;
    groups.sort();
    assert_eq!(groups, vec!["198.51.100.201", "198.51.100.202"]);
    let found =
        server.cli(&admin, &["events", "search", "--ip", "198.51.100.202", "--format", "json"]);
    let page: Value = serde_json::from_slice(&found.stdout).unwrap();
    assert_eq!(page["events"].as_array().unwrap().len(), 8);
    assert_eq!(page["events"][0]["event"]["event.category"], "authentication");
    let metrics = client.get(server.url("/metrics")).send().await.unwrap().text().await.unwrap();
    // A line that is not syslog is kept as a generic event or counted as unreadable, never fatal.
    assert!(metrics.contains("firebreak_syslog_unreadable_total"), "{metrics}");
    server.stop();
}

#[tokio::test]
async fn sshd_and_sudo_messages_by_syslog_raise_their_alerts() {
    let dir = tempfile::tempdir().unwrap();
    let udp = free_port();
    let config = dir.path().join("firebreak.toml");
    std::fs::write(
        &config,
        format!("[[sources.syslog]]\nlisten = \"127.0.0.1:{udp}\"\nprotocol = \"udp\"\n"),
    )
    .unwrap();
    let database = format!("sqlite://{}", dir.path().join("firebreak.db").display());
    let server =
        Server::start_on_with_config(dir.path(), free_port(), &database, &config, Stdio::inherit());
    let admin = server.admin_token().await;
    // One user, so that no multi-user rule (credential stuffing) stands in for the sshd rules.
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    for n in 0..6 {
        let message = format!(
            "<38>Oct 11 22:15:{n:02} web1 sshd[{}]: Failed password for root from 198.51.100.203 port {} ssh2",
            5000 + n,
            51000 + n
        );
        socket.send_to(message.as_bytes(), ("127.0.0.1", udp)).unwrap();
    }
    // sudo refusing one user three times: the rules of `logsource: service: sudo`.
    for n in 0..3 {
        let message = format!(
            "<85>Oct 11 22:16:{n:02} web1 sudo[{}]: pam_unix(sudo:auth): authentication failure; logname=frank uid=1001 euid=0 tty=/dev/pts/1 ruser=frank rhost=  user=frank",
            6000 + n
        );
        socket.send_to(message.as_bytes(), ("127.0.0.1", udp)).unwrap();
    }

    let alert = wait_until("an ssh_brute_force alert", async || {
        let alerts = get_json(&server, &admin, "/api/v1/alerts").await;
        alerts.as_array()?.iter().find(|a| a["rule_id"] == "ssh_brute_force").cloned()
    })
    .await;
    assert_eq!(alert["group"], serde_json::json!({"source.ip": "198.51.100.203"}));
    assert!(alert["count"].as_u64().unwrap() >= 5, "{alert}");
    let alert = wait_until("a sudo_failures alert", async || {
        let alerts = get_json(&server, &admin, "/api/v1/alerts").await;
        alerts.as_array()?.iter().find(|a| a["rule_id"] == "sudo_failures").cloned()
    })
    .await;
    assert_eq!(alert["group"], serde_json::json!({"user.name": "frank"}));
    server.stop();
}
