//! End-to-end tests: the real `firebreak` binary, started on an ephemeral port with its own
//! SQLite file and spool, driven over HTTP and through its own client commands.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stderr)] // Test code.

mod bad_input;
mod durability;
mod evidence;
mod investigation;
mod live;
mod notify;
mod obligations;
mod respond;
mod routes;
mod scan;
mod scenario;
mod secrets;
mod syslog;
mod tail;
mod tamper;
mod team;
mod triage;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub const BIN: &str = env!("CARGO_BIN_EXE_firebreak");

/// A running `firebreak serve`.
#[derive(Debug)]
pub struct Server {
    pub child: Child,
    pub base: String,
    pub dir: PathBuf,
    /// The one-time setup token, on a first start.
    pub setup: Option<String>,
    pub port: u16,
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Server {
    /// Starts a server on a fresh directory.
    pub fn start_fresh() -> (tempfile::TempDir, Server) {
        let dir = tempfile::tempdir().unwrap();
        let server = Server::start(dir.path(), free_port());
        (dir, server)
    }

    /// Starts (or restarts) a server on `dir`, waiting until it listens.
    pub fn start(dir: &Path, port: u16) -> Server {
        Server::start_logging(dir, port, "warn", Stdio::inherit())
    }

    /// Starts a server with a log filter and somewhere for its log to go.
    pub fn start_logging(dir: &Path, port: u16, filter: &str, log: Stdio) -> Server {
        let database = format!("sqlite://{}", dir.join("firebreak.db").display());
        Server::start_on(dir, port, &database, filter, log)
    }

    /// Starts a server on a given database.
    pub fn start_on(dir: &Path, port: u16, database: &str, filter: &str, log: Stdio) -> Server {
        Server::spawn(dir, port, database, None, filter, log)
    }

    /// Starts a server on a fresh SQLite file in `dir` with `config` written as its
    /// configuration file.
    pub fn start_with_config(dir: &Path, config: &str) -> Server {
        let path = dir.join("firebreak.toml");
        std::fs::write(&path, config).unwrap();
        let database = format!("sqlite://{}", dir.join("firebreak.db").display());
        Server::start_on_with_config(dir, free_port(), &database, &path, Stdio::inherit())
    }

    /// Starts a server with a configuration file as well.
    pub fn start_on_with_config(
        dir: &Path,
        port: u16,
        database: &str,
        config: &Path,
        log: Stdio,
    ) -> Server {
        Server::spawn(dir, port, database, Some(config), "warn", log)
    }

    fn spawn(
        dir: &Path,
        port: u16,
        database: &str,
        config: Option<&Path>,
        filter: &str,
        log: Stdio,
    ) -> Server {
        let mut command = Command::new(BIN);
        if let Some(config) = config {
            command.env("FIREBREAK_CONFIG", config);
        } else {
            command.env_remove("FIREBREAK_CONFIG");
        }
        let mut child = command
            .arg("serve")
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--database")
            .arg(database)
            .arg("--data-dir")
            .arg(dir.join("data"))
            .env("FIREBREAK_LOG", filter)
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let mut setup = None;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            assert!(Instant::now() < deadline, "the server did not start");
            let line = lines.next().expect("the server exited before listening").unwrap();
            if let Some(token) = line.split_whitespace().find(|word| word.starts_with("fbk_")) {
                setup = Some(token.to_owned());
            }
            if line.starts_with("firebreak is listening on") {
                break;
            }
        }
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server { child, base: format!("http://127.0.0.1:{port}"), dir: dir.to_owned(), setup, port }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Exchanges the setup token for an administrator token.
    pub async fn admin_token(&self) -> String {
        let setup = self.setup.as_deref().expect("not a first start");
        let answer: Value = reqwest::Client::new()
            .post(self.url("/api/v1/auth/setup"))
            .bearer_auth(setup)
            .json(&json!({ "password": "a long enough password" }))
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap()
            .json()
            .await
            .unwrap();
        answer["token"].as_str().unwrap().to_owned()
    }

    pub async fn token(&self, admin: &str, role: &str) -> String {
        let answer: Value = reqwest::Client::new()
            .post(self.url("/api/v1/tokens"))
            .bearer_auth(admin)
            .json(&json!({ "name": format!("test {role}"), "role": role }))
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap()
            .json()
            .await
            .unwrap();
        answer["token"].as_str().unwrap().to_owned()
    }

    pub async fn wait_ready(&self) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Ok(response) = client.get(self.url("/readyz")).send().await
                && response.status().is_success()
            {
                return;
            }
            assert!(Instant::now() < deadline, "the server never became ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn signal(&self, signal: i32) {
        let pid = i32::try_from(self.child.id()).unwrap();
        // SAFETY-free: libc::kill is a plain system call on a pid we own.
        assert_eq!(unsafe_kill(pid, signal), 0);
    }

    /// Sends SIGTERM and waits for a clean exit.
    pub fn stop(mut self) {
        self.signal(libc::SIGTERM);
        let status = self.child.wait().unwrap();
        assert!(status.success(), "the server exited with {status}");
    }

    /// Runs a client command against this server.
    pub fn cli(&self, token: &str, args: &[&str]) -> std::process::Output {
        Command::new(BIN)
            .args(args)
            .env("FIREBREAK_URL", &self.base)
            .env("FIREBREAK_TOKEN", token)
            .env("FIREBREAK_LOG", "warn")
            .env("XDG_CONFIG_HOME", self.dir.join("no-client-config"))
            .output()
            .unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn unsafe_kill(pid: i32, signal: i32) -> i32 {
    // The workspace forbids `unsafe`; `kill(1)` does the same from outside.
    let status =
        Command::new("kill").arg(format!("-{signal}")).arg(pid.to_string()).status().unwrap();
    if status.success() { 0 } else { -1 }
}

/// Polls `probe` until it gives a value, for at most 30 seconds; `what` names the wait in the
/// failure. For the work the server does in the background (detection, draining).
pub async fn wait_until<T>(what: &str, mut probe: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(Instant::now() < deadline, "gave up waiting: {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// GET `path` with `token`, as JSON; panics on a non-2xx answer.
pub async fn get_json(server: &Server, token: &str, path: &str) -> Value {
    reqwest::Client::new()
        .get(server.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// A client command's standard output, after checking that it succeeded.
pub fn cli_ok(server: &Server, token: &str, args: &[&str]) -> String {
    let output = server.cli(token, args);
    assert!(
        output.status.success(),
        "firebreak {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A credential-stuffing burst from `ip`: 12 users failing to log in, one a second, from
/// `hour:minute:00` on 2026-09-01 (UTC), as NDJSON.
pub fn stuffing_burst(ip: &str, hour: u32, minute: u32) -> String {
    (0..12)
        .map(|n| {
            format!(
                "{{\"@timestamp\":\"2026-09-01T{hour:02}:{minute:02}:{n:02}Z\",\"event\":{{\"category\":\"authentication\",\"action\":\"login\",\"outcome\":\"failure\"}},\"source\":{{\"ip\":\"{ip}\"}},\"user\":{{\"name\":\"customer{n}@example.org\"}}}}\n"
            )
        })
        .collect()
}

/// Posts NDJSON events with an ingest token; panics unless the server accepts them.
pub async fn post_events(server: &Server, token: &str, body: String) {
    reqwest::Client::new()
        .post(server.url("/api/v1/events"))
        .bearer_auth(token)
        .body(body)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
}
