//! The long soak run, and the replay of one seed.
//!
//! ```text
//! cargo run --release -p braid-sim --example soak                      # seeds 0..100000
//! cargo run --release -p braid-sim --example soak -- --seeds 10000 --from 5000
//! cargo run --release -p braid-sim --example soak -- --seed 1234 --pcap seed1234.pcap
//! ```
//!
//! `--trace` lists every packet of the replayed run: time, direction, chunk types, fate.
//! `--threads N` sets the worker threads (default: the available parallelism).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use braid_sim::soak::{failure_line, run, run_many, Report, Totals};

fn usage() -> ! {
    eprintln!(
        "usage: soak [--seeds N] [--from S] [--threads N] | --seed S [--pcap FILE] [--trace]"
    );
    std::process::exit(2)
}

fn number(arg: Option<String>) -> u64 {
    arg.and_then(|a| a.parse().ok()).unwrap_or_else(|| usage())
}

fn main() {
    let mut seeds = 100_000u64;
    let mut from = 0u64;
    let mut seed = None;
    let mut pcap = None;
    let mut trace = false;
    let mut threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seeds" => seeds = number(args.next()),
            "--from" => from = number(args.next()),
            "--seed" => seed = Some(number(args.next())),
            "--threads" => threads = number(args.next()).max(1) as usize,
            "--pcap" => pcap = Some(args.next().unwrap_or_else(|| usage())),
            "--trace" => trace = true,
            _ => usage(),
        }
    }
    if let Some(seed) = seed {
        replay(seed, pcap.as_deref(), trace);
    } else {
        long_run(from, seeds, threads);
    }
}

fn replay(seed: u64, pcap: Option<&str>, trace: bool) {
    let started = Instant::now();
    let report = run(seed, pcap.is_some() || trace);
    if trace {
        print_trace(&report);
        for (name, log) in ["client", "server"].iter().zip(&report.rto_log) {
            let changes: Vec<String> = log
                .iter()
                .map(|(at, n, rto)| format!("{at:.3?} (after #{n}): {rto:.3?}"))
                .collect();
            println!("{name} RTO: {}", changes.join(", "));
        }
    }
    println!("{}", report.summary);
    println!("wall time {:?}", started.elapsed());
    if let Some(path) = pcap {
        match std::fs::write(path, &report.pcap) {
            Ok(()) => println!("pcap: {} bytes written to {path}", report.pcap.len()),
            Err(e) => eprintln!("cannot write {path}: {e}"),
        }
    }
    match report.failure {
        Some(f) => {
            println!("{}", failure_line(seed, &f));
            std::process::exit(1);
        }
        None => println!("seed {seed}: every invariant held"),
    }
}

fn long_run(from: u64, seeds: u64, threads: usize) {
    let started = Instant::now();
    let done = AtomicU64::new(0);
    let progress = Mutex::new(Totals::default());
    let totals = run_many(from..from + seeds, threads, &|r: &Report| {
        if let Some(f) = &r.failure {
            println!("{}", failure_line(r.scenario.seed, f));
        }
        let mut p = progress
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        p.add(r);
        let n = done.fetch_add(1, Ordering::Relaxed) + 1;
        if n.is_multiple_of(1000) {
            println!(
                "{n}/{seeds} seeds, {} failures, {:?} virtual, {} B, wall {:?}",
                p.failures.len(),
                p.virtual_time,
                p.bytes,
                started.elapsed()
            );
        }
    });
    println!(
        "soak seeds {from}..{}: {} runs, {} failures, total virtual time {:?}, total bytes {}, {} messages, {} runs with a 256 KiB message, wall {:?}",
        from + seeds,
        totals.runs,
        totals.failures.len(),
        totals.virtual_time,
        totals.bytes,
        totals.messages,
        totals.max_message_runs,
        started.elapsed()
    );
    for (seed, f) in &totals.failures {
        println!("{}", failure_line(*seed, f));
    }
    if !totals.failures.is_empty() {
        std::process::exit(1);
    }
}

/// The chunk type names of an SCTP packet (common header onwards).
fn chunks(sctp: &[u8]) -> String {
    let mut names = Vec::new();
    let mut at = 12;
    while let Some(h) = sctp.get(at..at + 4) {
        let (kind, flags, len) = (h[0], h[1], usize::from(u16::from_be_bytes([h[2], h[3]])));
        let name = match kind {
            0 => "DATA",
            1 => "INIT",
            2 => "INIT_ACK",
            3 => "SACK",
            4 => "HEARTBEAT",
            5 => "HEARTBEAT_ACK",
            6 => "ABORT",
            7 => "SHUTDOWN",
            8 => "SHUTDOWN_ACK",
            9 => "ERROR",
            10 => "COOKIE_ECHO",
            11 => "COOKIE_ACK",
            14 => "SHUTDOWN_COMPLETE",
            _ => "?",
        };
        if kind == 0 {
            let tsn = sctp
                .get(at + 4..at + 8)
                .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
            names.push(format!("DATA(tsn {tsn}, {len} B)"));
        } else if kind == 3 {
            let cum = sctp
                .get(at + 4..at + 8)
                .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
            names.push(format!("SACK(cum {cum})"));
        } else if flags & 1 != 0 && matches!(kind, 6 | 14) {
            names.push(format!("{name}(T)"));
        } else {
            names.push(name.to_string());
        }
        if len < 4 {
            break;
        }
        at += (len + 3) & !3;
    }
    names.join(" ")
}

fn print_trace(report: &Report) {
    let Ok(mut reader) = braid_wire::pcap::PcapReader::new(&report.pcap[..]) else {
        return;
    };
    let mut i = 0usize;
    while let Ok(Some(record)) = reader.next_record() {
        i += 1;
        let Some(frame) = braid_wire::pcap::sctp_payload(reader.link_type(), &record.data) else {
            continue;
        };
        let dir = if frame.src == braid_sim::Sim::CLIENT.address().ip() {
            "C->S"
        } else {
            "S->C"
        };
        let fate = report.trace.get(i - 1).map(|e| {
            let mut f = format!("{:?}", e.fate);
            if let Some(at) = e.arrived_at {
                f += &format!(" at {at:?}");
            }
            for (flag, name) in [
                (e.corrupted, " corrupted"),
                (e.duplicated, " duplicated"),
                (e.reordered, " reordered"),
            ] {
                if flag {
                    f += name;
                }
            }
            f
        });
        println!(
            "#{i} {:?} {dir} {} B: {} -> {}",
            record.timestamp,
            frame.sctp.len(),
            chunks(&frame.sctp),
            fate.unwrap_or_default()
        );
    }
}
