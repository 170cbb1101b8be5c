//! Bulk-transfer throughput benchmark (issue 4): two standalone [`Association`]s joined by an
//! in-memory, lossless, zero-delay link, one thread, virtual time, no syscalls in the
//! measured loop.
//!
//! The client sends 1 GiB on stream 0, as 64 KiB messages and as 1200-byte messages, at
//! `max_packet_size` 1500 and 1200; the server reads every message and checks it (length,
//! stream, PPID, first and last byte, and the whole payload of every 1024th message), so a
//! broken build cannot report a fast number.
//!
//! # Driver
//!
//! Each loop iteration is one step of virtual time ([`STEP`]):
//! 1. the client's send queue is topped up (`send` until `SendError::BufferFull`) and its
//!    `poll_transmit` drained;
//! 2. every packet on the client-to-server link goes to the server's `handle_packet`; after
//!    each one the server's messages are read (`read_message` until `None`) and its
//!    `poll_transmit` drained onto the server-to-client link (the crate contract: drain after
//!    every input);
//! 3. every packet on the server-to-client link (SACKs) goes to the client's `handle_packet`,
//!    each followed by a drain of the client's `poll_transmit` (new data, delivered next step);
//! 4. due timers (`poll_timeout` / `handle_timeout`) and events are handled on both sides.
//!
//! When an iteration moves nothing, virtual time jumps to the earliest deadline.
//!
//! # What the harness allocates
//!
//! Packets are written by `poll_transmit` into 256 KiB `Vec<u8>` batches. A full batch (or
//! the last one of a step) is converted once into [`Bytes`] — one 24-byte `Shared` header
//! allocation per batch, the only allocation the harness makes in steady state — and each
//! packet is handed on as a refcounted slice of it. Batches are recycled: once the receiving
//! association has dropped every view of a batch (it keeps payload views until the message
//! is read), `Bytes::try_into_mut` turns it back into a `Vec<u8>` with its capacity, without
//! copying (the `Shared` header is freed). Packet range lists and the batch lists are
//! preallocated. Message payloads are refcounted slices of one pattern buffer.
//!
//! The counting global allocator attributes every allocation made while a call into the
//! core is running (`send`, `poll_transmit`, `handle_packet`, `read_message`,
//! `handle_timeout`, `poll_event`) to the core, and everything else to the harness.
//!
//! # Running
//!
//! `cargo bench -p braid-proto --bench throughput` runs the full benchmark and prints a
//! table. Without `--bench` (`cargo test -p braid-proto --bench throughput`) it moves 4 MiB
//! per run and checks the same invariants.
//!
//! Environment knobs (for profiling):
//! * `BRAID_TP_BYTES=67108864` — bytes per run (suffixes `K`, `M`, `G` are powers of two);
//! * `BRAID_TP_ONLY=64k/1500,1200/1200` — which runs (message size / MTU);
//! * `BRAID_TP_TRACE_ALLOCS=500` — capture the backtraces of the first 500 core allocations
//!   of the steady state (from 25% of the transfer) and print their sites, most frequent
//!   first, to stderr (slow: use a short run);
//! * `BRAID_TP_RWND=4M` — the receive window;
//! * `BRAID_TP_REPEATS=3` — runs per configuration, the median (by wall time) is shown;
//! * `BRAID_TP_ZERO_CHECKSUM=1` — negotiate RFC 9653 zero checksums (as over DTLS), to see
//!   the cost of everything but the CRC32c.
#![allow(unsafe_code)] // the counting global allocator

use std::alloc::{GlobalAlloc, Layout, System};
use std::backtrace::Backtrace;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use braid_proto::{
    Association, AssociationConfig, Extensions, Message, PathId, Ports, Ppid, SendError,
    SendOptions, State, StreamId,
};
use bytes::Bytes;

// ------------------------------------------------------------------ counting allocator

/// Allocations (and reallocations) made inside a call into the core, and their bytes.
static CORE_ALLOCS: AtomicU64 = AtomicU64::new(0);
static CORE_BYTES: AtomicU64 = AtomicU64::new(0);
/// Allocations made by the harness itself.
static HARNESS_ALLOCS: AtomicU64 = AtomicU64::new(0);
static HARNESS_BYTES: AtomicU64 = AtomicU64::new(0);
/// Set while a call into the core runs (see [`in_core`]).
static IN_CORE: AtomicBool = AtomicBool::new(false);
/// Backtraces still to print of core allocations (armed in steady state).
static TRACE_LEFT: AtomicU64 = AtomicU64::new(0);
/// Set while a backtrace is captured and printed: its own allocations are not counted.
static IN_HOOK: AtomicBool = AtomicBool::new(false);

/// The bench is single-threaded: a relaxed load and store is exact here and nearly free.
fn add(counter: &AtomicU64, n: u64) {
    counter.store(
        counter.load(Ordering::Relaxed).wrapping_add(n),
        Ordering::Relaxed,
    );
}

fn record(size: usize) {
    if IN_HOOK.load(Ordering::Relaxed) {
        return;
    }
    if IN_CORE.load(Ordering::Relaxed) {
        add(&CORE_ALLOCS, 1);
        add(&CORE_BYTES, size as u64);
        if TRACE_LEFT.load(Ordering::Relaxed) > 0 {
            trace_allocation(size);
        }
    } else {
        add(&HARNESS_ALLOCS, 1);
        add(&HARNESS_BYTES, size as u64);
    }
}

/// Allocation sites sampled in steady state: (site, bytes).
static SITES: Mutex<Vec<(String, u64)>> = Mutex::new(Vec::new());

/// Records where a core allocation comes from: what allocates (the innermost frame that is
/// not allocator plumbing) and the two innermost braid frames, with their lines.
fn trace_allocation(size: usize) {
    IN_HOOK.store(true, Ordering::Relaxed);
    TRACE_LEFT.store(
        TRACE_LEFT.load(Ordering::Relaxed).saturating_sub(1),
        Ordering::Relaxed,
    );
    let bt = Backtrace::force_capture().to_string();
    // Frames as (symbol, location).
    let mut frames: Vec<(String, String)> = Vec::new();
    for line in bt.lines() {
        let t = line.trim_start();
        if let Some(at) = t.strip_prefix("at ") {
            if let Some(f) = frames.last_mut() {
                if f.1.is_empty() {
                    f.1 = at.rsplit('/').next().unwrap_or(at).to_owned();
                }
            }
        } else if let Some((_, sym)) = t.split_once(": ") {
            frames.push((sym.to_owned(), String::new()));
        }
    }
    let is_braid = |s: &str| {
        (s.contains("braid_proto") || s.contains("braid_wire")) && !s.contains("throughput")
    };
    let first_braid = frames.iter().position(|f| is_braid(&f.0));
    let what = first_braid
        .and_then(|i| {
            frames[..i].iter().rev().find(|f| {
                !(f.0.contains("alloc::alloc")
                    || f.0.contains("raw_vec")
                    || f.0.contains("Global")
                    || f.0.contains("GlobalAlloc")
                    || f.0.contains("__rust"))
            })
        })
        .map_or("?", |f| f.0.as_str());
    let mut site = what.to_owned();
    for f in frames.iter().filter(|f| is_braid(&f.0)).take(2) {
        site.push_str(&format!("\n        <- {} ({})", f.0, f.1));
    }
    if let Ok(mut sites) = SITES.lock() {
        sites.push((site, size as u64));
    }
    IN_HOOK.store(false, Ordering::Relaxed);
}

/// Prints the sampled allocation sites, most frequent first, and forgets them.
fn print_sites(name: &str) {
    let Ok(mut sites) = SITES.lock() else { return };
    if sites.is_empty() {
        return;
    }
    let total = sites.len();
    let mut by_site: Vec<(String, u64, u64)> = Vec::new();
    for (site, bytes) in sites.drain(..) {
        match by_site.iter_mut().find(|s| s.0 == site) {
            Some(s) => {
                s.1 += 1;
                s.2 += bytes;
            }
            None => by_site.push((site, 1, bytes)),
        }
    }
    by_site.sort_by_key(|s| std::cmp::Reverse(s.1));
    eprintln!("{name}: {total} steady-state core allocations sampled, by site:");
    for (site, count, bytes) in by_site {
        eprintln!(
            "  {:5.1}%  {count} allocs, {} B avg: {site}",
            100.0 * count as f64 / total as f64,
            bytes / count
        );
    }
    eprintln!();
}

/// [`System`], counting allocations.
struct Counting;

// SAFETY: every method forwards to `System` with the caller's arguments unchanged; the
// counters do not touch the memory.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            record(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            record(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.dealloc(ptr, layout) };
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            record(new_size);
        }
        p
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Runs a call into the core, attributing its allocations to the core.
#[inline(always)]
fn in_core<R>(f: impl FnOnce() -> R) -> R {
    IN_CORE.store(true, Ordering::Relaxed);
    let r = f();
    IN_CORE.store(false, Ordering::Relaxed);
    r
}

/// A snapshot of the allocation counters.
#[derive(Debug, Clone, Copy, Default)]
struct AllocCount {
    core_allocs: u64,
    core_bytes: u64,
    harness_allocs: u64,
    harness_bytes: u64,
}

impl AllocCount {
    fn now() -> Self {
        Self {
            core_allocs: CORE_ALLOCS.load(Ordering::Relaxed),
            core_bytes: CORE_BYTES.load(Ordering::Relaxed),
            harness_allocs: HARNESS_ALLOCS.load(Ordering::Relaxed),
            harness_bytes: HARNESS_BYTES.load(Ordering::Relaxed),
        }
    }

    fn since(self, before: Self) -> Self {
        Self {
            core_allocs: self.core_allocs - before.core_allocs,
            core_bytes: self.core_bytes - before.core_bytes,
            harness_allocs: self.harness_allocs - before.harness_allocs,
            harness_bytes: self.harness_bytes - before.harness_bytes,
        }
    }
}

// ------------------------------------------------------------------ the link

/// Capacity of one packet batch.
const BATCH_CAPACITY: usize = 256 * 1024;
/// Most packets in one batch (a SACK-only packet is 28 bytes).
const BATCH_PACKETS: usize = BATCH_CAPACITY / 28 + 1;
/// Virtual time per loop iteration: the link's round-trip time.
const STEP: Duration = Duration::from_micros(10);

/// A packet in a batch: its offset and length.
type Range = (usize, usize);

/// Recycled packet buffers and packet range lists.
struct Pool {
    free: Vec<Vec<u8>>,
    free_ranges: Vec<Vec<Range>>,
    /// Batches handed to an association, which may still hold views of them.
    lent: Vec<Bytes>,
    /// Batches ever created (the pool's high-water mark).
    created: usize,
}

impl Pool {
    fn new() -> Self {
        Self {
            free: Vec::with_capacity(4096),
            free_ranges: Vec::with_capacity(4096),
            lent: Vec::with_capacity(4096),
            created: 0,
        }
    }

    fn take(&mut self) -> Vec<u8> {
        self.free.pop().unwrap_or_else(|| {
            self.created += 1;
            Vec::with_capacity(BATCH_CAPACITY)
        })
    }

    fn take_ranges(&mut self) -> Vec<Range> {
        self.free_ranges
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(BATCH_PACKETS))
    }

    /// Turns every batch no association holds a view of back into an empty `Vec`.
    fn reclaim(&mut self) {
        let mut i = 0;
        while i < self.lent.len() {
            if self.lent[i].is_unique() {
                let batch = self.lent.swap_remove(i);
                match batch.try_into_mut() {
                    Ok(mut m) => {
                        // Empty first: `Vec::from(BytesMut)` moves the contents to the front.
                        m.clear();
                        self.free.push(m.into());
                    }
                    Err(batch) => self.lent.push(batch),
                }
            } else {
                i += 1;
            }
        }
    }
}

/// One direction of the link: the batch being written and the batches waiting to be
/// delivered.
struct Link {
    buf: Vec<u8>,
    ranges: Vec<Range>,
    frozen: Vec<(Bytes, Vec<Range>)>,
    /// Packets delivered.
    packets: u64,
}

impl Link {
    fn new(pool: &mut Pool) -> Self {
        Self {
            buf: pool.take(),
            ranges: pool.take_ranges(),
            frozen: Vec::with_capacity(4096),
            packets: 0,
        }
    }

    fn is_empty(&self) -> bool {
        self.ranges.is_empty() && self.frozen.is_empty()
    }

    /// Closes the current batch: one conversion into `Bytes` for all its packets.
    fn freeze(&mut self, pool: &mut Pool) {
        if self.ranges.is_empty() {
            return;
        }
        let data = std::mem::replace(&mut self.buf, pool.take());
        let ranges = std::mem::replace(&mut self.ranges, pool.take_ranges());
        self.frozen.push((Bytes::from(data), ranges));
    }

    /// Drains `poll_transmit` onto the link.
    fn transmit(&mut self, from: &mut Association, now: Instant, pool: &mut Pool, mtu: usize) {
        loop {
            // Never let `poll_transmit` grow the buffer: a new batch when a packet may not fit.
            if self.buf.capacity() - self.buf.len() < mtu || self.ranges.len() == BATCH_PACKETS {
                self.freeze(pool);
            }
            let Some(t) = in_core(|| from.poll_transmit(now, &mut self.buf)) else {
                break;
            };
            self.ranges.push((self.buf.len() - t.len, t.len));
        }
    }

    /// Takes the batches to deliver (swapping in `spare`, an empty list).
    fn take_batches(
        &mut self,
        pool: &mut Pool,
        spare: &mut Vec<(Bytes, Vec<Range>)>,
    ) -> Vec<(Bytes, Vec<Range>)> {
        self.freeze(pool);
        std::mem::replace(&mut self.frozen, std::mem::take(spare))
    }
}

// ------------------------------------------------------------------ one run

/// One benchmark configuration.
#[derive(Debug, Clone, Copy)]
struct RunSpec {
    message_size: usize,
    mtu: usize,
    total_bytes: u64,
    receive_window: u32,
    /// RFC 9653 zero checksum negotiated (SCTP over DTLS): no CRC32c either way.
    zero_checksum: bool,
}

impl RunSpec {
    fn name(&self) -> String {
        let size = if self.message_size.is_multiple_of(1024) {
            format!("{}k", self.message_size / 1024)
        } else {
            self.message_size.to_string()
        };
        format!("{size}/{}", self.mtu)
    }
}

/// What one run measured.
#[derive(Debug, Clone)]
struct RunResult {
    spec: RunSpec,
    elapsed: Duration,
    bytes: u64,
    messages: u64,
    /// Packets client -> server (all carry DATA) and server -> client.
    data_packets: u64,
    reverse_packets: u64,
    sacks: u64,
    retransmissions: u64,
    fast_retransmits: u64,
    t3_expiries: u64,
    cwnd: usize,
    /// Allocations between 25% and 75% of the transfer, and the data packets sent meanwhile.
    steady: AllocCount,
    steady_data_packets: u64,
    batches: usize,
    virtual_time: Duration,
}

const STREAM: StreamId = StreamId(0);
const PPID: Ppid = Ppid(53); // WebRTC binary

/// The pattern message `i` carries: bytes `i % 256 ..` of this buffer.
fn pattern(max_message: usize) -> Bytes {
    (0..max_message + 256)
        .map(|k| ((k as u32).wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect::<Vec<u8>>()
        .into()
}

/// Checks each message read against the pattern.
struct Verifier {
    pattern: Bytes,
    size: usize,
    next: u64,
    bytes: u64,
}

impl Verifier {
    fn check(&mut self, m: &Message) {
        let i = self.next;
        let off = (i % 256) as usize;
        let p = &m.payload;
        assert_eq!(p.len(), self.size, "message {i}: wrong length");
        assert_eq!(
            (m.stream, m.ppid),
            (STREAM, PPID),
            "message {i}: stream/PPID"
        );
        let expect = &self.pattern[off..off + self.size];
        assert!(
            p.first() == expect.first() && p.last() == expect.last(),
            "message {i}: wrong payload"
        );
        if i.is_multiple_of(1024) {
            assert!(p[..] == *expect, "message {i}: wrong payload");
        }
        self.next += 1;
        self.bytes += p.len() as u64;
    }
}

fn config(spec: &RunSpec) -> AssociationConfig {
    AssociationConfig {
        max_packet_size: spec.mtu,
        receive_window: spec.receive_window,
        send_buffer_size: 16 << 20,
        max_message_size: 256 << 10,
        rto_initial: Duration::from_secs(1),
        // Above the peer's delayed-ACK timer (200 ms): the last odd packet of a transfer waits
        // for it, and a shorter RTO.Min would retransmit it spuriously.
        rto_min: Duration::from_millis(250),
        extensions: Extensions {
            zero_checksum_edmid: spec.zero_checksum.then_some(1),
            ..Extensions::default()
        },
        ..AssociationConfig::default()
    }
}

/// Connects the pair (outside the measurement).
fn establish(client: &mut Association, server: &mut Association, now: Instant) {
    fn pump(from: &mut Association, to: &mut Association, now: Instant) -> bool {
        let mut buf = Vec::new();
        let mut moved = false;
        while let Some(t) = from.poll_transmit(now, &mut buf) {
            let packet = buf.split_off(buf.len() - t.len);
            to.handle_packet(now, PathId(0), packet.into());
            moved = true;
        }
        moved
    }
    while pump(client, server, now) | pump(server, client, now) {}
    assert_eq!(client.state(), State::Established);
    assert_eq!(server.state(), State::Established);
    while client.poll_event().is_some() || server.poll_event().is_some() {}
}

fn run(spec: RunSpec) -> RunResult {
    let start = Instant::now();
    let cfg = config(&spec);
    let mut client = Association::connect(start, cfg.clone(), Ports::default(), 1, None);
    let mut server = Association::accept(start, cfg, Ports::default(), 2, None);
    let mut now = start + Duration::from_millis(1);
    establish(&mut client, &mut server, now);

    let n_messages = spec.total_bytes / spec.message_size as u64;
    let total = n_messages * spec.message_size as u64;
    let pattern = pattern(spec.message_size);
    let mut verifier = Verifier {
        pattern: pattern.clone(),
        size: spec.message_size,
        next: 0,
        bytes: 0,
    };
    let opts = SendOptions {
        ppid: PPID,
        ..SendOptions::default()
    };
    // Make the pattern buffer's refcount shared now, so slicing it later allocates nothing.
    drop(pattern.slice(0..1));

    let mut pool = Pool::new();
    let mut c2s = Link::new(&mut pool);
    let mut s2c = Link::new(&mut pool);
    let mut spare: Vec<(Bytes, Vec<Range>)> = Vec::with_capacity(4096);
    let mut queued = 0u64;
    let mtu = spec.mtu;
    let trace = std::env::var("BRAID_TP_TRACE_ALLOCS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(0);
    let quarter = total / 4;
    let three_quarters = total - quarter;
    let mut steady_from: Option<(AllocCount, u64)> = None;
    let mut steady: Option<(AllocCount, u64)> = None;

    let wall = Instant::now();
    loop {
        let moved_before = c2s.packets + s2c.packets;

        // 1. Top up the send queue; send what cwnd and the peer's window allow.
        while queued < n_messages {
            let off = (queued % 256) as usize;
            let payload = pattern.slice(off..off + spec.message_size);
            match in_core(|| client.send(now, STREAM, payload, &opts)) {
                Ok(()) => queued += 1,
                Err(SendError::BufferFull { .. }) => break,
                Err(e) => panic!("send failed: {e}"),
            }
        }
        c2s.transmit(&mut client, now, &mut pool, mtu);

        // 2. Client -> server: DATA in, messages read, SACKs out.
        let mut batches = c2s.take_batches(&mut pool, &mut spare);
        for (data, ranges) in batches.drain(..) {
            for &(off, len) in &ranges {
                let packet = data.slice(off..off + len);
                in_core(|| server.handle_packet(now, PathId(0), packet));
                while let Some(m) = in_core(|| server.read_message()) {
                    verifier.check(&m);
                }
                s2c.transmit(&mut server, now, &mut pool, mtu);
            }
            c2s.packets += ranges.len() as u64;
            pool.lent.push(data);
            pool.free_ranges.push(reset(ranges));
        }
        spare = batches;

        // 3. Server -> client: SACKs in, more DATA out (delivered in the next step).
        let mut batches = s2c.take_batches(&mut pool, &mut spare);
        for (data, ranges) in batches.drain(..) {
            for &(off, len) in &ranges {
                let packet = data.slice(off..off + len);
                in_core(|| client.handle_packet(now, PathId(0), packet));
                c2s.transmit(&mut client, now, &mut pool, mtu);
            }
            s2c.packets += ranges.len() as u64;
            pool.lent.push(data);
            pool.free_ranges.push(reset(ranges));
        }
        spare = batches;

        // 4. Timers and events.
        for (a, link) in [(&mut client, &mut c2s), (&mut server, &mut s2c)] {
            if a.poll_timeout().is_some_and(|t| t <= now) {
                in_core(|| a.handle_timeout(now));
                link.transmit(a, now, &mut pool, mtu);
            }
            while in_core(|| a.poll_event()).is_some() {}
        }
        pool.reclaim();

        // Steady-state window: 25% to 75% of the bytes delivered.
        if steady_from.is_none() && verifier.bytes >= quarter {
            steady_from = Some((AllocCount::now(), client.stats().packets_sent));
            TRACE_LEFT.store(trace, Ordering::Relaxed);
        }
        if steady.is_none() && verifier.bytes >= three_quarters {
            TRACE_LEFT.store(0, Ordering::Relaxed);
            if let Some((a, p)) = steady_from {
                steady = Some((AllocCount::now().since(a), client.stats().packets_sent - p));
            }
        }

        let idle = c2s.is_empty() && s2c.is_empty();
        if verifier.next == n_messages && client.bytes_in_flight() == 0 && idle {
            break;
        }
        now += STEP;
        if c2s.packets + s2c.packets == moved_before && idle {
            // Nothing moved: jump to the next deadline.
            let next = [client.poll_timeout(), server.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            if let Some(t) = next {
                now = now.max(t);
            }
        }
        assert!(
            now - start < Duration::from_secs(600),
            "{}: stalled at {} of {} messages",
            spec.name(),
            verifier.next,
            n_messages
        );
    }
    let elapsed = wall.elapsed();
    TRACE_LEFT.store(0, Ordering::Relaxed);
    print_sites(&spec.name());

    let cs = client.stats();
    let ss = server.stats();
    assert_eq!(verifier.bytes, total, "bytes delivered");
    assert_eq!(ss.messages_received, n_messages, "messages delivered");
    assert_eq!(cs.data_bytes_sent, total, "bytes sent once each");
    let (steady, steady_data_packets) = steady.unwrap_or_default();
    RunResult {
        spec,
        elapsed,
        bytes: verifier.bytes,
        messages: verifier.next,
        data_packets: cs.packets_sent,
        reverse_packets: ss.packets_sent,
        sacks: ss.sacks_sent,
        retransmissions: cs.retransmissions,
        fast_retransmits: cs.fast_retransmits,
        t3_expiries: cs.timer_retransmit_events,
        cwnd: client
            .path_stats(client.primary_path())
            .map_or(0, |p| p.cwnd),
        steady,
        steady_data_packets,
        batches: pool.created,
        virtual_time: now - start,
    }
}

/// An emptied range list, for reuse.
fn reset(mut ranges: Vec<Range>) -> Vec<Range> {
    ranges.clear();
    ranges
}

// ------------------------------------------------------------------ main

/// Parses `4096`, `64K`, `16M`, `1G` (powers of two).
fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, shift) = match s.chars().last()? {
        'k' | 'K' => (&s[..s.len() - 1], 10),
        'm' | 'M' => (&s[..s.len() - 1], 20),
        'g' | 'G' => (&s[..s.len() - 1], 30),
        _ => (s, 0),
    };
    num.parse::<u64>().ok().map(|n| n << shift)
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --bench throughput` does not.
    let full = std::env::args().any(|a| a == "--bench");
    let total_bytes = std::env::var("BRAID_TP_BYTES")
        .ok()
        .and_then(|s| parse_size(&s))
        .unwrap_or(if full { 1 << 30 } else { 4 << 20 });
    let receive_window = std::env::var("BRAID_TP_RWND")
        .ok()
        .and_then(|s| parse_size(&s))
        .map_or(4 << 20, |n| u32::try_from(n).unwrap_or(u32::MAX));
    let only = std::env::var("BRAID_TP_ONLY").unwrap_or_default();
    let zero_checksum = std::env::var("BRAID_TP_ZERO_CHECKSUM").is_ok_and(|v| v == "1");
    let repeats = std::env::var("BRAID_TP_REPEATS")
        .ok()
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(if full { 3 } else { 1 })
        .max(1);

    let specs =
        [(65_536, 1500), (65_536, 1200), (1200, 1500), (1200, 1200)].map(|(message_size, mtu)| {
            RunSpec {
                message_size,
                mtu,
                total_bytes,
                receive_window,
                zero_checksum,
            }
        });
    println!(
        "braid-proto throughput bench ({}): {} MiB per run, median of {repeats}, receive \
         window {} KiB, {}, single thread, lossless zero-delay link, virtual time step {:?}",
        if full { "full" } else { "smoke" },
        total_bytes >> 20,
        receive_window >> 10,
        if zero_checksum {
            "zero checksum (RFC 9653)"
        } else {
            "CRC32c"
        },
        STEP
    );
    println!();

    let mut results = Vec::new();
    for spec in specs {
        let name = spec.name();
        if !only.is_empty() && !only.split(',').any(|s| s.trim() == name) {
            continue;
        }
        // Median of `repeats` runs by wall time (all are checked).
        let mut runs: Vec<RunResult> = (0..repeats).map(|_| run(spec)).collect();
        runs.sort_by_key(|r| r.elapsed);
        results.push(runs.swap_remove(runs.len() / 2));
    }

    println!(
        "{:<10} {:>8} {:>9} {:>9} {:>9} {:>8} {:>11} {:>9} {:>11} {:>5} {:>9} {:>7}",
        "msg/MTU",
        "MB/s",
        "kpkt/s",
        "kdata/s",
        "SACK/pkt",
        "B/pkt",
        "allocs/pkt",
        "B al/pkt",
        "harness/pkt",
        "retx",
        "cwnd",
        "time s"
    );
    for r in &results {
        let s = r.elapsed.as_secs_f64();
        let steady_pkts = r.steady_data_packets.max(1) as f64;
        println!(
            "{:<10} {:>8.0} {:>9.0} {:>9.0} {:>9.3} {:>8.0} {:>11.3} {:>9.1} {:>11.4} {:>5} {:>9} {:>7.3}",
            r.spec.name(),
            r.bytes as f64 / s / 1e6,
            (r.data_packets + r.reverse_packets) as f64 / s / 1e3,
            r.data_packets as f64 / s / 1e3,
            r.sacks as f64 / r.data_packets as f64,
            r.bytes as f64 / r.data_packets as f64,
            r.steady.core_allocs as f64 / steady_pkts,
            r.steady.core_bytes as f64 / steady_pkts,
            r.steady.harness_allocs as f64 / steady_pkts,
            r.retransmissions,
            r.cwnd,
            s
        );
    }
    println!();
    println!(
        "MB/s: payload delivered and checked, 1e6 bytes per second of wall clock. kpkt/s: \
         packets both ways; kdata/s: client -> server (all carry DATA). SACK/pkt: SACKs per \
         DATA packet. B/pkt: payload per DATA packet. allocs/pkt, B al/pkt: heap allocations \
         (and their bytes) made inside the core per DATA packet between 25% and 75% of the \
         transfer; harness/pkt: the harness's own (one Bytes header per 256 KiB batch). \
         retx: client retransmissions (0 expected). cwnd: the client's final cwnd."
    );
    for r in &results {
        println!(
            "  {}: {} messages, {} data + {} reverse packets, fast rtx {}, T3 {}, \
             {} batches of 256 KiB, virtual time {:?}, steady state: {} core allocs, \
             {} data packets",
            r.spec.name(),
            r.messages,
            r.data_packets,
            r.reverse_packets,
            r.fast_retransmits,
            r.t3_expiries,
            r.batches,
            r.virtual_time,
            r.steady.core_allocs,
            r.steady_data_packets
        );
    }
    let bad: Vec<String> = results
        .iter()
        .filter(|r| r.retransmissions != 0 || r.t3_expiries != 0)
        .map(|r| r.spec.name())
        .collect();
    assert!(
        bad.is_empty(),
        "retransmissions on a lossless link: {bad:?}"
    );
}
