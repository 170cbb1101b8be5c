//! The soak matrix in CI: 5,000 seeds, each a random impaired network and two-way workload
//! run to a graceful shutdown, every invariant checked (see `braid_sim::soak`). A failing
//! seed prints one line with the command that replays it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use braid_sim::soak::{failure_line, run_many, Report};

/// Seeds run in CI.
const SEEDS: u64 = 5_000;

#[test]
fn soak_matrix() {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let started = Instant::now();
    let failed = AtomicU64::new(0);
    let totals = run_many(0..SEEDS, threads, &|r: &Report| {
        if let Some(f) = &r.failure {
            // Printed as soon as it happens, one line per seed.
            println!("{}", failure_line(r.scenario.seed, f));
            failed.fetch_add(1, Ordering::Relaxed);
        }
    });
    println!(
        "soak: {} runs, {} failures, {} messages, {} payload bytes, {:?} virtual time, {} runs with a 256 KiB message; {:?} wall on {threads} threads",
        totals.runs,
        totals.failures.len(),
        totals.messages,
        totals.bytes,
        totals.virtual_time,
        totals.max_message_runs,
        started.elapsed()
    );
    assert_eq!(totals.runs, SEEDS);
    assert!(
        totals.max_message_runs > 0,
        "the matrix covers 256 KiB messages"
    );
    let new: Vec<_> = totals
        .failures
        .iter()
        .map(|(seed, f)| failure_line(*seed, f))
        .collect();
    assert!(
        new.is_empty(),
        "{} of {SEEDS} seeds failed:\n{}",
        new.len(),
        new.join("\n")
    );
}
