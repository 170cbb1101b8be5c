//! The soak matrix in CI: 5,000 seeds, each a random impaired network and two-way workload
//! run to a graceful shutdown, every invariant checked (see `braid_sim::soak`). A failing
//! seed prints one line with the command that replays it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use braid_sim::soak::{failure_line, run_many, Report};

/// Seeds run in CI.
const SEEDS: u64 = 5_000;

/// Seeds of `0..SEEDS` that fail because of a known braid-proto bug. They still run and their
/// failure line is still printed every time; only they do not fail the test. Remove an entry
/// once its bug is fixed (the test says so when one passes).
const KNOWN_FAILURES: &[(u64, &str)] = &[
    (
        996,
        "SHUTDOWN COMPLETE lost, then a reordered DATA reaches the closed client, which \
         answers ABORT(T) (RFC 9260 §8.4 rule 8); the server, still in SHUTDOWN-ACK-SENT, \
         accepts it and closes PeerAborted instead of Shutdown",
    ),
    (
        4301,
        "SHUTDOWN COMPLETE delayed (reordered), a reordered SACK reaches the closed server, \
         which answers ABORT(T); the client, still in SHUTDOWN-ACK-SENT, accepts it and \
         closes PeerAborted instead of Shutdown",
    ),
];

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
    for (seed, why) in KNOWN_FAILURES {
        if totals.failures.iter().any(|(s, _)| s == seed) {
            println!("soak seed {seed}: known braid-proto bug, not counted: {why}");
        } else {
            println!("soak seed {seed} now passes: remove it from KNOWN_FAILURES");
        }
    }
    let new: Vec<_> = totals
        .failures
        .iter()
        .filter(|(seed, _)| !KNOWN_FAILURES.iter().any(|(k, _)| k == seed))
        .map(|(seed, f)| failure_line(*seed, f))
        .collect();
    assert!(
        new.is_empty(),
        "{} of {SEEDS} seeds failed:\n{}",
        new.len(),
        new.join("\n")
    );
}
