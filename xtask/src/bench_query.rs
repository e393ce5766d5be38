//! `cargo xtask bench-query [EVENTS]`: the first page of an investigation query by source
//! address over millions of events stored in SQLite (default 5,000,000), with the plan the
//! database uses, against the same query on a column that has no index, in the same run.

use std::time::{Duration, Instant};

use anyhow::Context;
use firebreak_store::{EventQuery, EventRecord, SqlStore, Store};
use jiff::{SignedDuration, Timestamp};

const BATCH: usize = 50_000;
const ADDRESSES: usize = 50_000;

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let events: usize = match args.first() {
        Some(text) => text.parse().context("EVENTS must be a number")?,
        None => 5_000_000,
    };
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(bench(events))
}

/// A skewed mix: a few addresses are busy, most appear a handful of times.
fn address_number(id: usize) -> usize {
    if id.is_multiple_of(10) { id % 50 } else { (id * 7919) % ADDRESSES }
}

fn address(n: usize) -> String {
    format!("10.{}.{}.{}", n / 65_536 % 256, n / 256 % 256, n % 256)
}

async fn bench(events: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let store =
        SqlStore::open(&format!("sqlite://{}", dir.path().join("firebreak.db").display())).await?;
    let start: Timestamp = "2026-01-01T00:00:00Z".parse()?;
    let filled = Instant::now();
    let mut id = 0usize;
    while id < events {
        let mut rows = Vec::with_capacity(BATCH);
        for _ in 0..BATCH.min(events - id) {
            id += 1;
            let n = address_number(id);
            let ts = start + SignedDuration::from_millis(i64::try_from(id)? * 50);
            let ip = address(n);
            let user = format!("customer{}", id % 20_011);
            let doc = format!(
                r#"{{"@timestamp":"{ts}","event":{{"category":"authentication","outcome":"{}"}},"source":{{"ip":"{ip}"}},"user":{{"name":"{user}"}},"url":{{"path":"/api/v1/login"}},"host":{{"name":"web-{}"}}}}"#,
                if id.is_multiple_of(9) { "success" } else { "failure" },
                id % 12
            );
            rows.push(EventRecord {
                id: i64::try_from(id)?,
                ts,
                received_at: ts,
                category: Some("authentication".into()),
                action: None,
                outcome: Some(if id.is_multiple_of(9) { "success" } else { "failure" }.into()),
                source_ip: Some(ip),
                user_name: Some(user),
                host_name: Some(format!("web-{}", id % 12)),
                doc,
            });
        }
        store.insert_events(rows, Vec::new(), i64::try_from(id)?).await?;
    }
    println!(
        "query benchmark: {events} events in SQLite ({:.1} s to load)",
        filled.elapsed().as_secs_f64()
    );

    let by_address =
        |n: usize| EventQuery { ip: Some(address(n)), limit: 100, ..Default::default() };
    let plan = store.explain_search(&by_address(7)).await?;
    println!("plan for a query by address: {}", plan.join(" | "));
    let mut indexed = Vec::new();
    // Addresses of events spread over the whole range: busy ones and rare ones.
    for id in [10usize, 20, 11, 4_999, 77_777, 1_234_567, 3_141_593, 4_999_999, 2_718_281] {
        let n = address_number(id.min(events));
        let started = Instant::now();
        let page = store.search_events(&by_address(n)).await?;
        indexed.push(started.elapsed());
        anyhow::ensure!(!page.is_empty(), "address {} has no events", address(n));
    }
    let by_host = EventQuery {
        host: Some("web-5".into()),
        text: Some("customer77\"".into()),
        limit: 100,
        ..Default::default()
    };
    println!(
        "plan for the baseline (a column without an index): {}",
        store.explain_search(&by_host).await?.join(" | ")
    );
    let started = Instant::now();
    store.search_events(&by_host).await?;
    let baseline = started.elapsed();
    indexed.sort();
    let median = indexed[indexed.len() / 2];
    let worst = indexed[indexed.len() - 1];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "first page (100 events) by address: median {:.2} ms, worst {:.2} ms over {} addresses",
        ms(median),
        ms(worst),
        indexed.len()
    );
    println!(
        "baseline, unindexed column and text: {:.1} ms   ratio {:.0}× faster with the index",
        ms(baseline),
        baseline.as_secs_f64() / median.as_secs_f64()
    );
    println!(
        "target: first page under 200 ms: {}",
        if worst < Duration::from_millis(200) { "met" } else { "NOT met" }
    );
    Ok(())
}
