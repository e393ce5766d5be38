//! `cargo xtask bench-response`: how fast containment follows detection, and how fast the check
//! endpoint answers.
//!
//! 1. The delay from the event that crosses the credential-stuffing threshold to the ban being
//!    in a bouncer's decisions stream, and (when this machine can run `nft`, as root) in
//!    firebreak's nftables set. Target: under 2 seconds.
//! 2. The check endpoint's throughput and latency (p50, p99, measured by the client over
//!    loopback HTTP with keep-alive) with 100,000 decisions in force, against `/healthz` on the
//!    same server in the same run as the baseline (the cheapest route there is).
//!
//! Figures are printed, never asserted.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::bench_ingest::{Server, build_release, workspace_root};

const TRIALS: usize = 5;
const DECISIONS: usize = 100_000;
const CONCURRENCY: usize = 16;
const LOAD_SECS: u64 = 3;

pub fn run(_args: &[String]) -> anyhow::Result<()> {
    let binary = build_release(&workspace_root())?;
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(delay(&binary))?;
    runtime.block_on(check_load(&binary))?;
    Ok(())
}

fn nft_usable() -> bool {
    std::process::Command::new("nft")
        .args(["list", "tables"])
        .output()
        .is_ok_and(|output| output.status.success())
}

fn nft_has(table: &str, ip: &str) -> bool {
    std::process::Command::new("nft")
        .args(["list", "set", "inet", table, "banned4"])
        .output()
        .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).contains(ip))
}

async fn bouncer_key(server: &Server) -> anyhow::Result<String> {
    let created: Value = server
        .client
        .post(format!("{}/api/v1/bouncers", server.base))
        .bearer_auth(&server.admin)
        .json(&json!({ "name": "bench" }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(created["key"].as_str().context("no bouncer key")?.to_owned())
}

async fn delay(binary: &Path) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let nft = nft_usable();
    let table = format!("fbbench{}", std::process::id());
    let config = dir.path().join("firebreak.toml");
    let nft_section = if nft {
        format!("[response.nftables]\nenabled = true\ntable = \"{table}\"\ndrop_chain = false\n")
    } else {
        String::new()
    };
    std::fs::write(&config, nft_section)?;
    let server = Server::start_with(binary, dir.path(), Some(&config)).await?;
    let key = bouncer_key(&server).await?;
    let pull = |startup: bool| {
        server
            .client
            .get(format!("{}/v1/decisions/stream?startup={startup}", server.base))
            .header("x-api-key", &key)
            .send()
    };
    pull(true).await?.error_for_status()?;
    let (mut to_stream, mut to_nft) = (Vec::new(), Vec::new());
    for trial in 0..TRIALS {
        let ip = format!("203.0.113.{}", 100 + trial);
        let event = |n: usize| {
            json!({
                "@timestamp": format!("2026-03-02T13:{trial:02}:{n:02}Z"),
                "event": { "category": "authentication", "action": "login", "outcome": "failure" },
                "source": { "ip": ip },
                "user": { "name": format!("victim{n}@example.org") },
            })
            .to_string()
        };
        let post = |body: String| {
            server
                .client
                .post(format!("{}/api/v1/events", server.base))
                .bearer_auth(&server.ingest)
                .body(body)
                .send()
        };
        // Four failures for four users: under the threshold. Then the fifth crosses it.
        post((0..4).map(|n| event(n) + "\n").collect()).await?.error_for_status()?;
        server.settled().await?;
        tokio::time::sleep(Duration::from_millis(200)).await;
        pull(false).await?.error_for_status()?;
        let started = Instant::now();
        post(event(4)).await?.error_for_status()?;
        loop {
            let stream: Value = pull(false).await?.error_for_status()?.json().await?;
            let new = stream["new"].as_array().cloned().unwrap_or_default();
            if new.iter().any(|d| d["value"] == ip.as_str()) {
                to_stream.push(started.elapsed());
                break;
            }
            if started.elapsed() > Duration::from_secs(30) {
                bail!("no ban of {ip} in the stream within 30 s");
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        if nft {
            loop {
                if nft_has(&table, &ip) {
                    to_nft.push(started.elapsed());
                    break;
                }
                if started.elapsed() > Duration::from_secs(30) {
                    bail!("no ban of {ip} in nftables within 30 s");
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
    }
    let report = |what: &str, delays: &mut Vec<Duration>| {
        delays.sort();
        let (median, worst) = (delays[delays.len() / 2], delays[delays.len() - 1]);
        println!(
            "threshold event → ban {what}: median {:.0} ms, worst {:.0} ms over {} trials; target under 2000 ms: {}",
            median.as_secs_f64() * 1000.0,
            worst.as_secs_f64() * 1000.0,
            delays.len(),
            if worst < Duration::from_secs(2) { "met" } else { "NOT met" }
        );
    };
    report("in the bouncers' decisions stream", &mut to_stream);
    if nft {
        report("in the nftables set", &mut to_nft);
    } else {
        println!(
            "threshold event → ban in nftables: skipped (nft is not usable here; run as root with nftables installed)"
        );
    }
    drop(server);
    if nft {
        let _ =
            std::process::Command::new("nft").args(["delete", "table", "inet", &table]).status();
    }
    Ok(())
}

/// Writes `DECISIONS` bans in force straight into a fresh database (one transaction), as if
/// a long attack had been contained address by address.
async fn seed(dir: &Path) -> anyhow::Result<()> {
    let path = dir.join("firebreak.db");
    // Opening through the store applies the migrations.
    drop(firebreak_store::SqlStore::open(&format!("sqlite://{}", path.display())).await?);
    let mut conn = rusqlite::Connection::open(&path)?;
    let tx = conn.transaction()?;
    let now =
        i64::try_from(firebreak_core::Clock::now(&firebreak_core::SystemClock).as_nanosecond())?;
    let day = 86_400 * 1_000_000_000_i64;
    {
        let mut insert = tx.prepare(
            "INSERT INTO decisions (kind, target, reason, incident_id, decided_by, term, offence, created_at, updated_at, expires_at) \
             VALUES ('ban', ?1, 'benchmark', NULL, 'bench', 'short', 0, ?2, ?2, ?3)",
        )?;
        for n in 0..DECISIONS {
            let ip = format!("10.{}.{}.{}", (n >> 16) & 255, (n >> 8) & 255, n & 255);
            insert.execute(rusqlite::params![ip, now, now + day])?;
        }
    }
    tx.commit()?;
    Ok(())
}

struct Load {
    requests: usize,
    seconds: f64,
    p50: Duration,
    p99: Duration,
}

async fn load(
    client: &reqwest::Client,
    base: &str,
    key: &str,
    path_of: fn(usize) -> String,
) -> anyhow::Result<Load> {
    let client = Arc::new(client.clone());
    let started = Instant::now();
    let deadline = started + Duration::from_secs(LOAD_SECS);
    let mut tasks = Vec::new();
    for worker in 0..CONCURRENCY {
        let client = client.clone();
        let base = base.to_owned();
        let key = key.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut n = worker;
            while Instant::now() < deadline {
                let sent = Instant::now();
                let response = client
                    .get(format!("{base}{}", path_of(n)))
                    .header("x-api-key", &key)
                    .send()
                    .await?;
                let status = response.status().as_u16();
                let _ = response.bytes().await?;
                if status != 200 && status != 403 {
                    bail!("the check answered {status}");
                }
                latencies.push(sent.elapsed());
                n += CONCURRENCY;
            }
            Ok::<_, anyhow::Error>(latencies)
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await??);
    }
    let seconds = started.elapsed().as_secs_f64();
    all.sort();
    let at = |q: f64| all[((all.len() as f64 * q) as usize).min(all.len() - 1)];
    Ok(Load { requests: all.len(), seconds, p50: at(0.5), p99: at(0.99) })
}

fn check_path(n: usize) -> String {
    // Every other request asks about a banned address; the rest about one that is not.
    let n = n.wrapping_mul(2_654_435_761) % DECISIONS;
    if n.is_multiple_of(2) {
        format!("/api/v1/check?ip=10.{}.{}.{}", (n >> 16) & 255, (n >> 8) & 255, n & 255)
    } else {
        format!("/api/v1/check?ip=192.0.2.{}", n & 255)
    }
}

fn healthz_path(_: usize) -> String {
    "/healthz".to_owned()
}

async fn check_load(binary: &Path) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let seeding = Instant::now();
    seed(dir.path()).await?;
    let seeded = seeding.elapsed();
    let config = dir.path().join("firebreak.toml");
    std::fs::write(&config, "")?;
    let server = Server::start_with(binary, dir.path(), Some(&config)).await?;
    let key = bouncer_key(&server).await?;
    let active: Vec<Value> = server
        .client
        .get(format!("{}/api/v1/decisions?limit=100000", server.base))
        .bearer_auth(&server.admin)
        .send()
        .await?
        .json()
        .await?;
    println!(
        "check endpoint: {} decisions in force (seeded in {:.1} s), {CONCURRENCY} connections, {LOAD_SECS} s each, loopback HTTP",
        active.len(),
        seeded.as_secs_f64()
    );
    let baseline = load(&server.client, &server.base, &key, healthz_path).await?;
    let check = load(&server.client, &server.base, &key, check_path).await?;
    let rate = |l: &Load| l.requests as f64 / l.seconds;
    println!(
        "baseline  GET /healthz        {:>9.0} requests/s   p50 {:>6} µs   p99 {:>6} µs",
        rate(&baseline),
        baseline.p50.as_micros(),
        baseline.p99.as_micros()
    );
    println!(
        "firebreak GET /api/v1/check   {:>9.0} requests/s   p50 {:>6} µs   p99 {:>6} µs   ratio to baseline {:.2}",
        rate(&check),
        check.p50.as_micros(),
        check.p99.as_micros(),
        rate(&check) / rate(&baseline)
    );
    drop(server);
    Ok(())
}
