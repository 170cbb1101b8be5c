//! Association lifecycle benchmark: handshakes per second between two [`Endpoint`]s, and the
//! server endpoint's memory and INIT rate under an INIT flood.
//!
//! Everything runs in-process on one thread over an in-memory, zero-delay "network" with
//! virtual time (an `Instant` this file advances): no sockets, no sleeps, no syscalls in the
//! measured loops (`Instant::now` is a vDSO read on Linux with a TSC clock source).
//!
//! `cargo bench -p braid-proto --bench lifecycle` runs the full benchmark and prints a table.
//! Without `--bench` (e.g. `cargo test -p braid-proto --benches`) it runs a small smoke version
//! that only checks the invariants.
#![allow(unsafe_code)] // the counting global allocator

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use braid_proto::{
    Association, AssociationConfig, CloseReason, Endpoint, EndpointConfig, Event, Ports, State,
};
use braid_wire::checksum::write_crc32c;
use braid_wire::Bytes;
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

// ------------------------------------------------------------------ counting allocator

/// Live heap bytes and allocation count, kept by [`Counting`].
///
/// The bench is single-threaded, so the counters use a relaxed load and store rather than a
/// locked read-modify-write: exact here, and nearly free in the measured loops.
static LIVE_BYTES: AtomicU64 = AtomicU64::new(0);
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

fn add(counter: &AtomicU64, n: u64) {
    counter.store(
        counter.load(Ordering::Relaxed).wrapping_add(n),
        Ordering::Relaxed,
    );
}

fn sub(counter: &AtomicU64, n: u64) {
    counter.store(
        counter.load(Ordering::Relaxed).wrapping_sub(n),
        Ordering::Relaxed,
    );
}

/// [`System`], counting live bytes and allocations.
struct Counting;

// SAFETY: every method forwards to `System` with the caller's arguments unchanged; the
// counters do not touch the memory.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            add(&LIVE_BYTES, layout.size() as u64);
            add(&ALLOCATIONS, 1);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            add(&LIVE_BYTES, layout.size() as u64);
            add(&ALLOCATIONS, 1);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.dealloc(ptr, layout) };
        sub(&LIVE_BYTES, layout.size() as u64);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            add(&LIVE_BYTES, new_size as u64);
            sub(&LIVE_BYTES, layout.size() as u64);
            add(&ALLOCATIONS, 1);
        }
        p
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn live_bytes() -> u64 {
    LIVE_BYTES.load(Ordering::Relaxed)
}

fn allocations() -> u64 {
    ALLOCATIONS.load(Ordering::Relaxed)
}

/// The process's resident set size in kB (`VmRSS` in /proc/self/status), if readable.
fn vm_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

// ------------------------------------------------------------------ scale

/// How much work to do: the full benchmark, or a smoke run for `cargo test --benches`.
struct Scale {
    /// Wall time per measured handshake run (at least `min_lifecycles` are done).
    run_time: Duration,
    min_lifecycles: u64,
    warmup: Duration,
    /// Measured runs per figure; the median is reported.
    runs: usize,
    /// INIT flood checkpoints (the last is the flood's size).
    checkpoints: &'static [u64],
    /// INITs per run of the INIT rate measurement.
    rate_inits: u64,
}

const FULL: Scale = Scale {
    run_time: Duration::from_secs(1),
    min_lifecycles: 1_000,
    warmup: Duration::from_millis(500),
    runs: 5,
    checkpoints: &[0, 1_000, 10_000, 100_000, 1_000_000],
    rate_inits: 250_000,
};

const SMOKE: Scale = Scale {
    run_time: Duration::ZERO,
    min_lifecycles: 50,
    warmup: Duration::ZERO,
    runs: 1,
    checkpoints: &[0, 1_000, 3_000],
    rate_inits: 500,
};

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs.get(xs.len() / 2).copied().unwrap_or(f64::NAN)
}

// ------------------------------------------------------------------ handshakes

const SERVER: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 5000);
const SCTP_PORT: u16 = 5000;
/// One-way "delay" of a hop, in virtual time only.
const HOP: Duration = Duration::from_micros(25);

/// The client's UDP address for its `i`-th association: a new port each time, a new IPv4
/// address every 64,000 ports.
fn client_addr(i: u64) -> SocketAddr {
    let port = 1024 + (i % 64_000) as u16;
    let host = 0x0a01_0000 | ((i / 64_000) as u32 & 0xffff);
    SocketAddr::from((Ipv4Addr::from(host), port))
}

/// How each association ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Teardown {
    /// SHUTDOWN / SHUTDOWN ACK / SHUTDOWN COMPLETE, started by the client.
    Graceful,
    /// One ABORT from the client.
    Abort,
}

/// A client endpoint, a server endpoint and the wire between them.
struct Pair {
    client: Endpoint,
    server: Endpoint,
    buf: Vec<u8>,
    now: Instant,
    /// The client's address for the current association.
    client_addr: SocketAddr,
    next_client: u64,
    packets: u64,
    connected: u64,
    closed: u64,
}

impl Pair {
    fn new() -> Self {
        let now = Instant::now();
        let client = Endpoint::new(
            now,
            EndpointConfig {
                port: SCTP_PORT,
                accept_incoming: false,
                rng_seed: 1,
                ..EndpointConfig::default()
            },
        );
        let server = Endpoint::new(
            now,
            EndpointConfig {
                port: SCTP_PORT,
                accept_incoming: true,
                rng_seed: 2,
                ..EndpointConfig::default()
            },
        );
        Self {
            client,
            server,
            buf: Vec::with_capacity(2048),
            now,
            client_addr: client_addr(0),
            next_client: 0,
            packets: 0,
            connected: 0,
            closed: 0,
        }
    }

    /// Moves packets both ways until neither side has anything to send, then runs due timers
    /// and drains events, as the crate contract asks after every input.
    fn settle(&mut self) {
        loop {
            let mut moved = 0;
            while let Some(t) = self.client.poll_transmit(self.now, &mut self.buf) {
                debug_assert_eq!(t.remote, SERVER);
                let start = self.buf.len() - t.len;
                let data = Bytes::copy_from_slice(&self.buf[start..]);
                self.buf.clear();
                self.now += HOP;
                self.server
                    .handle_datagram(self.now, self.client_addr, data);
                moved += 1;
            }
            while let Some(t) = self.server.poll_transmit(self.now, &mut self.buf) {
                debug_assert_eq!(t.remote, self.client_addr);
                let start = self.buf.len() - t.len;
                let data = Bytes::copy_from_slice(&self.buf[start..]);
                self.buf.clear();
                self.now += HOP;
                self.client.handle_datagram(self.now, SERVER, data);
                moved += 1;
            }
            for ep in [&mut self.client, &mut self.server] {
                if ep.poll_timeout().is_some_and(|t| t <= self.now) {
                    ep.handle_timeout(self.now);
                    moved += 1;
                }
            }
            self.packets += moved;
            if moved == 0 {
                break;
            }
        }
        for ep in [&mut self.client, &mut self.server] {
            while let Some((_, event)) = ep.poll_event() {
                match event {
                    Event::Connected => self.connected += 1,
                    Event::Closed(
                        CloseReason::Shutdown
                        | CloseReason::Aborted(_)
                        | CloseReason::PeerAborted(_),
                    ) => self.closed += 1,
                    Event::ShutdownStarted => {}
                    other => panic!("unexpected event {other:?}"),
                }
            }
        }
    }

    /// One association from INIT to its end; returns (handshake, whole lifecycle) wall time.
    fn lifecycle(&mut self, teardown: Teardown) -> (Duration, Duration) {
        let t0 = Instant::now();
        self.client_addr = client_addr(self.next_client);
        self.next_client += 1;
        let handle = self
            .client
            .connect(self.now, SERVER, SCTP_PORT, None)
            .expect("the previous association was reaped");
        self.settle();
        let t1 = Instant::now();
        let assoc = self
            .client
            .association_mut(handle)
            .expect("the client association exists");
        debug_assert_eq!(assoc.state(), State::Established);
        match teardown {
            Teardown::Graceful => assoc.shutdown(self.now),
            Teardown::Abort => assoc.abort(self.now, "bench"),
        }
        self.settle();
        let t2 = Instant::now();
        (t1 - t0, t2 - t0)
    }
}

/// One measured figure of the handshake table.
struct HandshakeFigure {
    handshake_per_s: f64,
    lifecycle_per_s: f64,
    allocs_per_lifecycle: f64,
    packets_per_lifecycle: f64,
}

/// Runs lifecycles for at least `scale.run_time` and `scale.min_lifecycles`, on a fresh pair.
fn handshake_run(scale: &Scale, teardown: Teardown, run_time: Duration) -> HandshakeFigure {
    let mut pair = Pair::new();
    let (mut hs, mut total, mut n) = (Duration::ZERO, Duration::ZERO, 0u64);
    let allocs0 = allocations();
    while n < scale.min_lifecycles || total < run_time {
        let (h, t) = pair.lifecycle(teardown);
        hs += h;
        total += t;
        n += 1;
    }
    let allocs = allocations() - allocs0;
    // Every association came up and went down on both sides, and none was kept.
    assert_eq!(pair.connected, 2 * n, "Connected events");
    assert_eq!(pair.closed, 2 * n, "Closed events");
    assert!(pair.client.association_count() <= 1 && pair.server.association_count() <= 1);
    assert_eq!(pair.server.stats().accepted, n);
    HandshakeFigure {
        handshake_per_s: n as f64 / hs.as_secs_f64(),
        lifecycle_per_s: n as f64 / total.as_secs_f64(),
        allocs_per_lifecycle: allocs as f64 / n as f64,
        packets_per_lifecycle: pair.packets as f64 / n as f64,
    }
}

fn handshake_median(scale: &Scale, teardown: Teardown) -> HandshakeFigure {
    handshake_run(scale, teardown, scale.warmup);
    let runs: Vec<HandshakeFigure> = (0..scale.runs)
        .map(|_| handshake_run(scale, teardown, scale.run_time))
        .collect();
    HandshakeFigure {
        handshake_per_s: median(runs.iter().map(|r| r.handshake_per_s).collect()),
        lifecycle_per_s: median(runs.iter().map(|r| r.lifecycle_per_s).collect()),
        allocs_per_lifecycle: median(runs.iter().map(|r| r.allocs_per_lifecycle).collect()),
        packets_per_lifecycle: median(runs.iter().map(|r| r.packets_per_lifecycle).collect()),
    }
}

// ------------------------------------------------------------------ INIT flood

/// Makes INIT packets from random sources: a real Braid INIT with a random source port and
/// Initiate Tag, its checksum recomputed.
struct InitGen {
    rng: ChaCha8Rng,
    template: Vec<u8>,
    scratch: Vec<u8>,
}

impl InitGen {
    fn new(seed: u64) -> Self {
        let now = Instant::now();
        let ports = Ports {
            local: SCTP_PORT,
            peer: SCTP_PORT,
        };
        let mut client = Association::connect(now, AssociationConfig::default(), ports, 7, None);
        let mut template = Vec::new();
        let t = client
            .poll_transmit(now, &mut template)
            .expect("a connecting association sends its INIT");
        assert_eq!(t.len, template.len());
        assert_eq!(template.get(12), Some(&1), "chunk type INIT");
        let scratch = Vec::with_capacity(template.len());
        Self {
            rng: ChaCha8Rng::seed_from_u64(seed),
            template,
            scratch,
        }
    }

    /// The next INIT and where it comes from (random IPv4 address and port; the SCTP source
    /// port is the same random port).
    fn next_init(&mut self) -> (SocketAddr, Bytes) {
        let ip = Ipv4Addr::from(self.rng.next_u32());
        let port = 1024 + (self.rng.next_u32() % (65_536 - 1024)) as u16;
        let tag = self.rng.next_u32().max(1);
        self.scratch.clear();
        self.scratch.extend_from_slice(&self.template);
        self.scratch[0..2].copy_from_slice(&port.to_be_bytes());
        self.scratch[16..20].copy_from_slice(&tag.to_be_bytes());
        write_crc32c(&mut self.scratch);
        (
            SocketAddr::from((ip, port)),
            Bytes::copy_from_slice(&self.scratch),
        )
    }
}

fn flood_server(now: Instant) -> Endpoint {
    Endpoint::new(
        now,
        EndpointConfig {
            port: SCTP_PORT,
            accept_incoming: true,
            rng_seed: 2,
            ..EndpointConfig::default()
        },
    )
}

/// Sends every queued reply into the void, as a driver's `sendmmsg` would.
fn drain(server: &mut Endpoint, now: Instant, out: &mut Vec<u8>) -> u64 {
    let mut n = 0;
    while let Some(t) = server.poll_transmit(now, out) {
        black_box(&out[out.len() - t.len..]);
        out.clear();
        n += 1;
    }
    n
}

/// Whether and how often the flood's driver drains the endpoint's replies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Drain {
    Every(u64),
    Never,
}

/// One row of the flood memory table.
struct FloodRow {
    inits: u64,
    live_bytes: u64,
    rss_kb: Option<u64>,
    associations: usize,
    pending: usize,
    init_acks: u64,
    replies_dropped: u64,
    sent: u64,
}

/// Floods a fresh server endpoint with INITs, measuring at each checkpoint. Returns the rows
/// and the flood's INITs per second (checkpoints excluded).
fn flood(scale: &Scale, mode: Drain) -> (Vec<FloodRow>, f64) {
    let mut gen = InitGen::new(42);
    let mut out = Vec::with_capacity(2048);
    let start = Instant::now();
    let mut now = start;
    let mut server = flood_server(now);
    let max_pending = server.config().max_pending_replies;
    let mut rows = Vec::with_capacity(scale.checkpoints.len());
    let mut sent = 0u64;
    let mut done = 0u64;
    let mut busy = Duration::ZERO;
    for &checkpoint in scale.checkpoints {
        let t0 = Instant::now();
        while done < checkpoint {
            let (from, init) = gen.next_init();
            now += Duration::from_micros(1);
            server.handle_datagram(now, from, init);
            done += 1;
            if let Drain::Every(n) = mode {
                if done.is_multiple_of(n) {
                    sent += drain(&mut server, now, &mut out);
                }
            }
        }
        if let Drain::Every(_) = mode {
            // The end of the driver's batch.
            sent += drain(&mut server, now, &mut out);
        }
        busy += t0.elapsed();
        let stats = server.stats();
        let row = FloodRow {
            inits: done,
            live_bytes: live_bytes(),
            rss_kb: vm_rss_kb(),
            associations: server.association_count(),
            pending: server.pending_replies(),
            init_acks: stats.init_acks,
            replies_dropped: stats.replies_dropped,
            sent,
        };
        assert_eq!(row.associations, 0, "an INIT must not create state");
        assert!(row.pending <= max_pending);
        assert_eq!(stats.datagrams, done);
        assert_eq!(stats.invalid, 0);
        match mode {
            Drain::Every(_) => assert_eq!(sent, done, "every INIT answered"),
            Drain::Never => assert_eq!(row.pending as u64, done.min(max_pending as u64)),
        }
        rows.push(row);
    }
    let rate = done as f64 / busy.as_secs_f64();
    (rows, rate)
}

/// One measured run of the INIT rate: nanoseconds and allocations per INIT.
fn init_rate_run(n: u64, mode: Option<Drain>) -> (f64, f64) {
    let mut gen = InitGen::new(43);
    let mut out = Vec::with_capacity(2048);
    let start = Instant::now();
    let mut now = start;
    let mut server = flood_server(now);
    let allocs0 = allocations();
    let t0 = Instant::now();
    for i in 1..=n {
        let (from, init) = gen.next_init();
        now += Duration::from_micros(1);
        match mode {
            // The generator alone, to subtract.
            None => {
                black_box((from, init));
            }
            Some(Drain::Never) => server.handle_datagram(now, from, init),
            Some(Drain::Every(every)) => {
                server.handle_datagram(now, from, init);
                if i % every == 0 {
                    drain(&mut server, now, &mut out);
                }
            }
        }
    }
    if let Some(Drain::Every(_)) = mode {
        drain(&mut server, now, &mut out);
    }
    let elapsed = t0.elapsed();
    let allocs = allocations() - allocs0;
    black_box(&server);
    (
        elapsed.as_nanos() as f64 / n as f64,
        allocs as f64 / n as f64,
    )
}

fn init_rate_median(scale: &Scale, mode: Option<Drain>) -> (f64, f64) {
    init_rate_run(scale.rate_inits / 4, mode);
    let runs: Vec<(f64, f64)> = (0..scale.runs)
        .map(|_| init_rate_run(scale.rate_inits, mode))
        .collect();
    (
        median(runs.iter().map(|r| r.0).collect()),
        median(runs.iter().map(|r| r.1).collect()),
    )
}

// ------------------------------------------------------------------ output

fn print_flood(title: &str, rows: &[FloodRow], rate: f64) {
    println!("{title}  (flood rate {:.0} INIT/s)", rate);
    println!(
        "  {:>9}  {:>12}  {:>10}  {:>10}  {:>6}  {:>7}  {:>9}  {:>15}  {:>9}",
        "INITs",
        "live heap B",
        "Δ heap B",
        "VmRSS kB",
        "assocs",
        "pending",
        "init_acks",
        "replies_dropped",
        "sent"
    );
    let base = rows.first().map_or(0, |r| r.live_bytes);
    for r in rows {
        println!(
            "  {:>9}  {:>12}  {:>+10}  {:>10}  {:>6}  {:>7}  {:>9}  {:>15}  {:>9}",
            r.inits,
            r.live_bytes,
            r.live_bytes as i64 - base as i64,
            r.rss_kb.map_or_else(|| "?".to_owned(), |k| k.to_string()),
            r.associations,
            r.pending,
            r.init_acks,
            r.replies_dropped,
            r.sent
        );
    }
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not.
    let full = std::env::args().any(|a| a == "--bench");
    let scale = if full { &FULL } else { &SMOKE };
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());

    println!(
        "braid-proto lifecycle bench ({}), nproc = {nproc}, single thread, virtual time",
        if full { "full" } else { "smoke" }
    );
    println!();

    // BRAID_BENCH_ONLY=flood,rate,handshakes picks sections (e.g. to profile one).
    let only = std::env::var("BRAID_BENCH_ONLY").unwrap_or_default();
    let run = |name: &str| only.is_empty() || only.split(',').any(|s| s.trim() == name);
    // Memory first, so earlier work does not blur the RSS figures.
    if run("flood") {
        flood_section(scale);
    }
    if run("rate") {
        rate_section(scale);
    }
    if run("handshakes") {
        handshake_section(scale);
    }
}

/// INIT flood memory, draining and not.
fn flood_section(scale: &Scale) {
    let (drained, drained_rate) = flood(scale, Drain::Every(64));
    print_flood(
        "INIT flood, driver drains poll_transmit every 64 INITs (and at each checkpoint)",
        &drained,
        drained_rate,
    );
    let (undrained, undrained_rate) = flood(scale, Drain::Never);
    print_flood(
        "INIT flood, driver never drains (max_pending_replies = 256)",
        &undrained,
        undrained_rate,
    );
    for rows in [&drained, &undrained] {
        let first = rows.get(1).map_or(0, |r| r.live_bytes);
        let last = rows.last().map_or(0, |r| r.live_bytes);
        assert!(
            last <= first + 4096,
            "endpoint memory grew with INITs: {first} -> {last} bytes"
        );
    }
    println!();
}

/// INIT processing rate.
fn rate_section(scale: &Scale) {
    let (gen_ns, gen_allocs) = init_rate_median(scale, None);
    let (drain_ns, drain_allocs) = init_rate_median(scale, Some(Drain::Every(64)));
    let (never_ns, never_allocs) = init_rate_median(scale, Some(Drain::Never));
    println!(
        "INIT processing (median of {} runs x {} INITs; handle_datagram + poll_transmit)",
        scale.runs, scale.rate_inits
    );
    println!(
        "  {:<44}  {:>12}  {:>10}  {:>14}  {:>10}",
        "case", "INIT/s net", "ns gross", "ns/INIT net", "allocs net"
    );
    println!(
        "  {:<44}  {:>12.0}  {:>10.0}  {:>14}  {:>10.1}",
        "packet generator alone (subtracted below)",
        1e9 / gen_ns,
        gen_ns,
        "-",
        gen_allocs
    );
    for (name, ns, allocs) in [
        ("INIT -> INIT ACK, drained every 64", drain_ns, drain_allocs),
        (
            "INIT, not drained (INIT ACK built, dropped)",
            never_ns,
            never_allocs,
        ),
    ] {
        println!(
            "  {:<44}  {:>12.0}  {:>10.0}  {:>14.0}  {:>10.1}",
            name,
            1e9 / (ns - gen_ns),
            ns,
            ns - gen_ns,
            allocs - gen_allocs
        );
    }
    println!();
}

/// Handshakes per second.
fn handshake_section(scale: &Scale) {
    let graceful = handshake_median(scale, Teardown::Graceful);
    let abort = handshake_median(scale, Teardown::Abort);
    println!(
        "Handshakes, client Endpoint -> server Endpoint, one association at a time \
         (median of {} runs x {:?})",
        scale.runs, scale.run_time
    );
    println!(
        "  {:<44}  {:>12}  {:>10}  {:>10}  {:>8}",
        "case", "per second", "µs each", "allocs", "packets"
    );
    let rows: [(&str, f64, Option<&HandshakeFigure>); 3] = [
        (
            "handshake only (INIT -> COOKIE ACK)",
            graceful.handshake_per_s,
            None,
        ),
        (
            "handshake + graceful shutdown",
            graceful.lifecycle_per_s,
            Some(&graceful),
        ),
        ("handshake + ABORT", abort.lifecycle_per_s, Some(&abort)),
    ];
    for (name, rate, whole) in rows {
        println!(
            "  {:<44}  {:>12.0}  {:>10.2}  {:>10}  {:>8}",
            name,
            rate,
            1e6 / rate,
            whole.map_or_else(
                || "-".to_owned(),
                |f| format!("{:.1}", f.allocs_per_lifecycle)
            ),
            whole.map_or_else(
                || "4".to_owned(),
                |f| format!("{:.1}", f.packets_per_lifecycle)
            ),
        );
    }
}
