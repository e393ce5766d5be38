//! Nothing acknowledged is lost: not on SIGKILL mid-stream, not on SIGTERM.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;
use tokio::sync::Mutex;

use crate::Server;

const BATCHES: usize = 100;
const PER_BATCH: usize = 1000;

fn batch(index: usize) -> String {
    let mut body = String::with_capacity(PER_BATCH * 200);
    for n in 0..PER_BATCH {
        let id = index * PER_BATCH + n;
        body.push_str(&format!(
            "{{\"@timestamp\":\"2026-03-01T10:{:02}:{:02}Z\",\"event\":{{\"category\":\"authentication\",\"outcome\":\"failure\"}},\"source\":{{\"ip\":\"198.51.100.{}\"}},\"user\":{{\"name\":\"user{}\"}},\"labels\":{{\"n\":{id}}}}}\n",
            (id / 60) % 60,
            id % 60,
            id % 250,
            id % 977
        ));
    }
    body
}

/// Every stored event's `labels.n`, read back through the API.
async fn stored_markers(server: &Server, token: &str) -> Vec<u64> {
    let client = reqwest::Client::new();
    let mut after = 0i64;
    let mut markers = Vec::new();
    loop {
        let page: Value = client
            .get(server.url(&format!("/api/v1/events?after={after}&limit=10000")))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for event in page["events"].as_array().unwrap() {
            markers.push(event["event"]["labels"]["n"].as_u64().unwrap());
        }
        match page["next"].as_i64() {
            Some(next) => after = next,
            None => return markers,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_stream_loses_nothing_acknowledged() {
    let (dir, server) = Server::start_fresh();
    let admin = server.admin_token().await;
    let ingest = server.token(&admin, "ingest").await;
    let acknowledged = Arc::new(Mutex::new(Vec::<usize>::new()));
    let next = Arc::new(AtomicUsize::new(0));
    let mut senders = Vec::new();
    for _ in 0..4 {
        let (url, token, acknowledged, next) =
            (server.url("/api/v1/events"), ingest.clone(), acknowledged.clone(), next.clone());
        senders.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            loop {
                let index = next.fetch_add(1, Ordering::SeqCst);
                if index >= BATCHES {
                    return;
                }
                let sent = client
                    .post(&url)
                    .bearer_auth(&token)
                    .header("content-type", "application/x-ndjson")
                    .body(batch(index))
                    .send()
                    .await;
                match sent {
                    Ok(response) if response.status().is_success() => {
                        let answer: Value = response.json().await.unwrap();
                        assert_eq!(answer["accepted"], PER_BATCH);
                        acknowledged.lock().await.push(index);
                    }
                    // The server died under us: this batch was never acknowledged.
                    _ => return,
                }
            }
        }));
    }
    // Kill mid-stream: once a good part has been acknowledged, with requests in flight.
    loop {
        if acknowledged.lock().await.len() >= 30 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    server.signal(libc::SIGKILL);
    for sender in senders {
        sender.await.unwrap();
    }
    let port = server.port;
    drop(server);
    let acknowledged = acknowledged.lock().await.clone();
    assert!(
        acknowledged.len() >= 30 && acknowledged.len() < BATCHES,
        "{} batches acknowledged",
        acknowledged.len()
    );

    let server = Server::start(dir.path(), port);
    server.wait_ready().await;
    let markers = stored_markers(&server, &admin).await;
    let unique: HashSet<u64> = markers.iter().copied().collect();
    assert_eq!(unique.len(), markers.len(), "no event is stored twice");
    let mut missing = 0;
    for index in &acknowledged {
        for n in 0..PER_BATCH {
            if !unique.contains(&((index * PER_BATCH + n) as u64)) {
                missing += 1;
            }
        }
    }
    assert_eq!(missing, 0, "{missing} acknowledged events were lost");
    eprintln!(
        "sigkill: {} batches acknowledged before the kill, {} events stored after restart",
        acknowledged.len(),
        markers.len()
    );
    server.stop();
}

#[tokio::test]
async fn sigterm_moves_everything_into_the_store_before_exiting() {
    let (dir, server) = Server::start_fresh();
    let admin = server.admin_token().await;
    let client = reqwest::Client::new();
    for index in 0..5 {
        client
            .post(server.url("/api/v1/events"))
            .bearer_auth(&admin)
            .body(batch(index))
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap();
    }
    server.stop();
    // Straight from the file, with no server: the events are in the store, not only the spool.
    sqlx::any::install_default_drivers();
    let url = format!("sqlite://{}", dir.path().join("firebreak.db").display());
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&url).await.unwrap();
    let row: (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM events").fetch_one(&mut conn).await.unwrap();
    assert_eq!(row.0, 5 * PER_BATCH as i64);
    let audit: (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM audit_log WHERE action = 'POST /api/v1/events'")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(audit.0, 5, "each ingest request is audited");
}

/// While the store is held (another writer keeps SQLite's write lock), ingest keeps accepting
/// until the store is `max_backlog_events` behind; then it answers 503 with `Retry-After` and
/// takes nothing. Once the store is free again, the backlog drains and ingest accepts again.
#[tokio::test]
async fn ingest_pushes_back_when_the_store_falls_too_far_behind() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with_config(dir.path(), "[ingest]\nmax_backlog_events = 1500\n");
    let url = format!("sqlite://{}", dir.path().join("firebreak.db").display());
    let admin = server.admin_token().await;
    let ingest = server.token(&admin, "ingest").await;
    let client = reqwest::Client::new();
    let post = |body: String| {
        client.post(server.url("/api/v1/events")).bearer_auth(&ingest).body(body).send()
    };
    let stored = async || {
        let metrics =
            client.get(server.url("/metrics")).send().await.unwrap().text().await.unwrap();
        metrics
            .lines()
            .find_map(|line| line.strip_prefix("firebreak_store_checkpoint_seq "))
            .and_then(|n| n.trim().parse::<u64>().ok())
            .unwrap()
    };

    sqlx::any::install_default_drivers();
    let mut lock = <sqlx::AnyConnection as sqlx::Connection>::connect(&url).await.unwrap();
    sqlx::query("BEGIN IMMEDIATE").execute(&mut lock).await.unwrap();

    for index in 0..2 {
        let answer = post(batch(index)).await.unwrap();
        assert_eq!(answer.status(), 200, "batch {index}: {}", answer.text().await.unwrap());
    }
    let refused = post(batch(2)).await.unwrap();
    assert_eq!(refused.status(), 503);
    assert_eq!(refused.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("1"));
    let body: Value = refused.json().await.unwrap();
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("2000 events behind") && message.contains("1500"), "{message}");
    assert_eq!(stored().await, 0, "the store was locked, yet something reached it");
    let refused_again = post(batch(2)).await.unwrap();
    assert_eq!(refused_again.status(), 503, "a refusal must not wait on the locked store");

    sqlx::query("ROLLBACK").execute(&mut lock).await.unwrap();
    drop(lock);
    crate::wait_until("the backlog to drain", async || (stored().await == 2000).then_some(()))
        .await;
    let accepted = post(batch(2)).await.unwrap();
    assert_eq!(accepted.status(), 200);
    crate::wait_until("the last batch to be stored", async || {
        (stored().await == 3000).then_some(())
    })
    .await;
    let metrics = client.get(server.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("firebreak_ingest_backlogged_total 2"), "{metrics}");
    server.stop();
    // The three accepted batches are audited (through the spool); the refusals took nothing.
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&url).await.unwrap();
    let audit: (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM audit_log WHERE action = 'POST /api/v1/events'")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(audit.0, 3);
}
