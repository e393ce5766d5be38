//! `cargo xtask COMMAND`: benchmarks and conformance runs. Each prints its figures; none is part
//! of `cargo test`, and none reads anything outside the repository but `../shared/corpora`.

#![allow(clippy::print_stdout, clippy::print_stderr)] // A command-line tool that reports.

mod bench_ingest;
mod bench_query;
mod bench_response;
mod bench_scan;
mod conformance;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("bench-ingest") => bench_ingest::run(&args[1..]),
        Some("bench-query") => bench_query::run(&args[1..]),
        Some("bench-scan") => bench_scan::run(&args[1..]),
        Some("bench-response") => bench_response::run(&args[1..]),
        Some("conformance") => conformance::run(&args[1..]),
        _ => {
            eprintln!(
                "usage: cargo xtask <bench-ingest|bench-query|bench-scan|bench-response|conformance>"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(1)
        }
    }
}
