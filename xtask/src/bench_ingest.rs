//! `cargo xtask bench-ingest`: ingest throughput over HTTP on loopback, against a baseline.

pub fn run(_args: &[String]) -> anyhow::Result<()> {
    anyhow::bail!("bench-ingest is being written")
}
