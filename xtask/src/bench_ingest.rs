//! `cargo xtask bench-ingest [BATCHES] [--connections N]`: ingest throughput over HTTP on loopback, NDJSON batches
//! of 1,000 events, durability on, against a baseline measured in the same run that appends the
//! same request bodies to a file with one fsync per batch.
//!
//! It builds and starts the real release binary on a fresh SQLite file, so the figure includes
//! HTTP, authentication, parsing and validation of every event, the spool's fsync, and (for the
//! second figure) the move into SQLite.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use serde_json::{Value, json};

const PER_BATCH: usize = 1000;
/// Concurrent client connections, as a few shippers (or one with a little concurrency) send.
const CONNECTIONS: usize = 4;

/// Rounds of (baseline, firebreak) in alternation; the medians are reported, so that one
/// noisy moment of the machine moves neither figure much.
const ROUNDS: usize = 5;

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let mut batches = 300;
    let mut connections = CONNECTIONS;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if arg == "--connections" {
            let n = args.next().context("--connections needs a number")?;
            connections = n.parse::<usize>().context("--connections needs a number")?.max(1);
        } else {
            batches = arg.parse().context("BATCHES must be a number")?;
        }
    }
    let root = workspace_root();
    let binary = build_release(&root)?;
    // Shared buffers: a request hands the client its body without a copy, so the client, which
    // runs on the same cores, spends no more per batch than it must. Each round is an hour later
    // in event time than the one before: the same traffic replayed within minutes would be a
    // brute-force wave from every address, and the benchmark would time its alerts instead.
    let round_bodies = |round: usize| -> Vec<Bytes> {
        (0..batches).map(|i| Bytes::from(body(round, i))).collect()
    };
    let bytes: usize = round_bodies(0).iter().map(|b| b.len()).sum();
    let events = batches * PER_BATCH;
    println!(
        "ingest benchmark: {batches} batches × {PER_BATCH} events ({} bytes/event), {connections} connections, SQLite, durability on; median of {ROUNDS} rounds",
        bytes / events
    );
    let dir = tempfile::tempdir()?;
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let server = runtime.block_on(Server::start(&binary, dir.path()))?;
    let (mut baselines, mut acks, mut stores) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        let bodies = round_bodies(round);
        baselines.push(baseline(dir.path(), &bodies)?);
        let (acked, stored) = runtime.block_on(server.post_all(&bodies, round, connections))?;
        acks.push(acked);
        stores.push(stored);
    }
    let median = |mut values: Vec<f64>| {
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    let per_second = |durations: &[Duration]| -> Vec<f64> {
        durations.iter().map(|d| events as f64 / d.as_secs_f64()).collect()
    };
    // The disk's fsync time drifts over seconds; a baseline and the firebreak round beside it
    // see the same disk, so the ratio is taken per round and its median reported.
    let ratios: Vec<f64> =
        per_second(&acks).iter().zip(per_second(&baselines)).map(|(a, b)| a / b).collect();
    let (baseline_rate, acked_rate, stored_rate, ratio) = (
        median(per_second(&baselines)),
        median(per_second(&acks)),
        median(per_second(&stores)),
        median(ratios.clone()),
    );
    let spread = |values: Vec<f64>| {
        let (low, high) =
            values.iter().fold((f64::MAX, f64::MIN), |(l, h), v| (l.min(*v), h.max(*v)));
        format!("[{low:.2}–{high:.2}]")
    };
    for (round, (b, a)) in per_second(&baselines).iter().zip(per_second(&acks)).enumerate() {
        println!("  round {}: baseline {b:>9.0}  firebreak {a:>9.0} events/s", round + 1);
    }
    println!("baseline  append + fsync per batch      {baseline_rate:>12.0} events/s");
    println!(
        "firebreak acknowledged (durable)        {acked_rate:>12.0} events/s   ratio to baseline {ratio:.2} {} (per round)",
        spread(ratios)
    );
    println!(
        "firebreak all of them in SQLite         {stored_rate:>12.0} events/s   (from the first request to the last event indexed)"
    );
    let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
    println!(
        "targets: ≥ 100000 events/s acknowledged: {}; ≥ 0.5 of the baseline: {}",
        verdict(acked_rate >= 100_000.0),
        verdict(ratio >= 0.5)
    );
    // Detection scans events once they are stored, so it finishes the throughput rounds after
    // the drain; the delay is timed from a quiet start.
    let behind = runtime.block_on(server.settled())?;
    println!(
        "live detection had scanned all {} events {:.1} s after the last round was stored",
        ROUNDS * events,
        behind.as_secs_f64()
    );
    let mut delays = Vec::new();
    for trial in 0..5 {
        delays.push(runtime.block_on(server.detection_delay(trial))?);
    }
    delays.sort();
    let median = delays[delays.len() / 2];
    println!(
        "live detection: from the event that crosses the credential-stuffing threshold to the open incident: median {:.1} ms (worst {:.1} ms over {} trials); target under 1000 ms: {}",
        median.as_secs_f64() * 1000.0,
        delays[delays.len() - 1].as_secs_f64() * 1000.0,
        delays.len(),
        verdict(delays[delays.len() - 1] < Duration::from_secs(1))
    );
    drop(server);
    Ok(())
}

pub(crate) fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

pub(crate) fn build_release(root: &Path) -> anyhow::Result<PathBuf> {
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["build", "--release", "--quiet", "--package", "firebreak-cli"])
        .current_dir(root)
        .status()
        .context("cannot run cargo")?;
    if !status.success() {
        bail!("building the release binary failed");
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    Ok(target.join("release").join("firebreak"))
}

/// One batch of realistic ECS authentication events from an app's login API: every client
/// address distinct, so that the load is traffic, not an attack (the detection delay is measured
/// separately, on a burst of its own).
fn body(round: usize, index: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(PER_BATCH * 320);
    for n in 0..PER_BATCH {
        let id = index * PER_BATCH + n;
        let _ = writeln!(
            out,
            "{}",
            json!({
                "@timestamp": format!("2026-03-01T{:02}:{:02}:{:02}.{:03}Z", (round + id / 3_600_000) % 24, (id / 60_000) % 60, (id / 1000) % 60, id % 1000),
                "event": { "category": "authentication", "action": "login", "outcome": if id.is_multiple_of(7) { "success" } else { "failure" }, "dataset": "shop.auth" },
                "source": { "ip": format!("10.{}.{}.{}", (id / 65_536) % 256, (id / 256) % 256, id % 256), "port": 40000 + id % 20000 },
                "user": { "name": format!("customer{}", id % 5003) },
                "user_agent": { "original": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36" },
                "url": { "path": "/api/v1/login" },
                "http": { "request": { "method": "POST" }, "response": { "status_code": if id.is_multiple_of(7) { 200 } else { 401 } } },
                "host": { "name": "shop-api-1" },
            })
        );
    }
    out
}

fn baseline(dir: &Path, bodies: &[Bytes]) -> anyhow::Result<Duration> {
    let path = dir.join("baseline.log");
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(&path)?;
    let started = Instant::now();
    for body in bodies {
        file.write_all(body)?;
        file.sync_data()?;
    }
    let took = started.elapsed();
    std::fs::remove_file(path)?;
    Ok(took)
}

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) struct Server {
    _process: Running,
    pub(crate) base: String,
    pub(crate) admin: String,
    pub(crate) ingest: String,
    pub(crate) client: reqwest::Client,
}

impl Server {
    async fn start(binary: &Path, dir: &Path) -> anyhow::Result<Server> {
        Server::start_with(binary, dir, None).await
    }

    /// Starts the binary on a SQLite file in `dir`, with a configuration file if given.
    pub(crate) async fn start_with(
        binary: &Path,
        dir: &Path,
        config: Option<&Path>,
    ) -> anyhow::Result<Server> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let mut command = Command::new(binary);
        match config {
            Some(config) => command.env("FIREBREAK_CONFIG", config),
            None => command.env_remove("FIREBREAK_CONFIG"),
        };
        let mut child = command
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--database")
            .arg(format!("sqlite://{}", dir.join("firebreak.db").display()))
            .arg("--data-dir")
            .arg(dir.join("data"))
            .env("FIREBREAK_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .context("cannot start firebreak")?;
        let stdout = child.stdout.take().context("no stdout")?;
        let process = Running(child);
        let mut setup = None;
        let mut lines = BufReader::new(stdout).lines();
        for line in lines.by_ref() {
            let line = line?;
            if let Some(word) = line.split_whitespace().find(|w| w.starts_with("fbk_")) {
                setup = Some(word.to_owned());
            }
            if line.starts_with("firebreak is listening") {
                break;
            }
        }
        std::thread::spawn(move || for _ in lines {});
        let setup = setup.context("firebreak printed no setup token")?;
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        let admin: Value = client
            .post(format!("{base}/api/v1/auth/setup"))
            .bearer_auth(&setup)
            .json(&json!({}))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let admin = admin["token"].as_str().context("no admin token")?.to_owned();
        let ingest: Value = client
            .post(format!("{base}/api/v1/tokens"))
            .bearer_auth(&admin)
            .json(&json!({ "name": "bench", "role": "ingest" }))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let ingest = ingest["token"].as_str().context("no ingest token")?.to_owned();
        Ok(Server { _process: process, base, admin, ingest, client })
    }

    /// Posts four failed logins for distinct users from a fresh address, waits until they are
    /// stored, then posts the fifth (which crosses `credential_stuffing`'s threshold) and times
    /// how long until an incident for that address is open.
    async fn detection_delay(&self, trial: usize) -> anyhow::Result<Duration> {
        let ip = format!("203.0.113.{}", 10 + trial);
        let event = |n: usize| {
            json!({
                "@timestamp": format!("2026-03-02T12:{:02}:{n:02}Z", trial),
                "event": { "category": "authentication", "action": "login", "outcome": "failure" },
                "source": { "ip": ip },
                "user": { "name": format!("victim{n}@example.org") },
            })
            .to_string()
        };
        let post = |body: String| {
            self.client
                .post(format!("{}/api/v1/events", self.base))
                .bearer_auth(&self.ingest)
                .body(body)
                .send()
        };
        let before: String = (0..4).map(|n| event(n) + "\n").collect();
        post(before).await?.error_for_status()?;
        self.settled().await?;
        tokio::time::sleep(Duration::from_millis(100)).await;
        let started = Instant::now();
        post(event(4)).await?.error_for_status()?;
        loop {
            let incidents: Vec<Value> = self
                .client
                .get(format!("{}/api/v1/incidents?limit=20", self.base))
                .bearer_auth(&self.admin)
                .send()
                .await?
                .json()
                .await?;
            if incidents.iter().any(|i| i["title"].as_str().is_some_and(|t| t.contains(&ip))) {
                return Ok(started.elapsed());
            }
            if started.elapsed() > Duration::from_secs(30) {
                bail!("no incident for {ip} within 30 s");
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// One value from `/metrics`.
    pub(crate) async fn metric(&self, name: &str) -> anyhow::Result<i64> {
        let metrics =
            self.client.get(format!("{}/metrics", self.base)).send().await?.text().await?;
        Ok(metrics
            .lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
            .and_then(|n| n.trim().parse::<i64>().ok())
            .unwrap_or(0))
    }

    /// Waits until live detection has scanned every event acknowledged so far (it scans them
    /// once they are stored), and says how long that took.
    pub(crate) async fn settled(&self) -> anyhow::Result<Duration> {
        let started = Instant::now();
        let target = self.metric("firebreak_spool_committed_seq").await?;
        while self.metric("firebreak_events_scanned_total").await? < target {
            if started.elapsed() > Duration::from_secs(600) {
                bail!("live detection did not catch up within 10 minutes");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Ok(started.elapsed())
    }

    /// Posts every body over `connections` connections; returns the time until the last
    /// acknowledgement and the time until the store holds them all.
    async fn post_all(
        &self,
        bodies: &[Bytes],
        round: usize,
        connections: usize,
    ) -> anyhow::Result<(Duration, Duration)> {
        let next = Arc::new(AtomicUsize::new(0));
        let bodies: Arc<Vec<Bytes>> = Arc::new(bodies.to_vec());
        let started = Instant::now();
        let mut senders = Vec::new();
        for _ in 0..connections {
            let (next, bodies, url, token, client) = (
                next.clone(),
                bodies.clone(),
                format!("{}/api/v1/events", self.base),
                self.ingest.clone(),
                self.client.clone(),
            );
            senders.push(tokio::spawn(async move {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(body) = bodies.get(index) else { return Ok::<(), anyhow::Error>(()) };
                    let response = client
                        .post(&url)
                        .bearer_auth(&token)
                        .header("content-type", "application/x-ndjson")
                        .body(body.clone())
                        .send()
                        .await?
                        .error_for_status()?;
                    let answer: Value = response.json().await?;
                    if answer["accepted"] != PER_BATCH {
                        bail!("a batch was not wholly accepted: {answer}");
                    }
                }
            }));
        }
        for sender in senders {
            sender.await??;
        }
        let acked = started.elapsed();
        let total = ((round + 1) * bodies.len() * PER_BATCH) as i64;
        loop {
            let stored = self.metric("firebreak_store_checkpoint_seq").await?;
            if stored >= total {
                break;
            }
            if started.elapsed() > Duration::from_secs(600) {
                bail!("the store did not catch up within 10 minutes ({stored} of {total})");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok((acked, started.elapsed()))
    }
}
