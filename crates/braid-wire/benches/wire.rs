//! Criterion benchmarks for braid-wire: packet parse and emit, CRC32c against a memcpy
//! reference, and (printed before criterion starts) an allocation and zero-copy check.
//!
//! Run with `cargo bench -p braid-wire`; `cargo test -p braid-wire --benches` runs every
//! benchmark once as a smoke test (and still asserts the allocation counts).

// The counting global allocator below has to implement the unsafe `GlobalAlloc` trait.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use braid_wire::checksum::crc32c;
use braid_wire::{
    Bytes, ChecksumPolicy, Chunk, CommonHeader, Data, GapAckBlock, Packet, PacketBuilder, Sack,
    Ssn, Tsn,
};
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput};

// ---------------------------------------------------------------------------------------------
// Allocation counting
// ---------------------------------------------------------------------------------------------

/// Wraps the system allocator and counts allocations (alloc, alloc_zeroed, realloc) while
/// [`COUNTING`] is set. Off during the criterion runs, so they pay only a relaxed load.
struct CountingAlloc;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCS: AtomicU64 = AtomicU64::new(0);

impl CountingAlloc {
    #[inline]
    fn count() {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so the
// `GlobalAlloc` contract is upheld by `System`; the counter has no effect on memory.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        Self::count();
        // SAFETY: forwarded unchanged, see above.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        Self::count();
        // SAFETY: forwarded unchanged, see above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        Self::count();
        // SAFETY: forwarded unchanged, see above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged, see above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// Average allocations per call of `f`, after one uncounted warm-up call (which may promote a
/// `Bytes` to its shared representation, or grow a reused buffer).
fn allocs_per_call(iterations: u64, mut f: impl FnMut()) -> f64 {
    f();
    ALLOCS.store(0, Ordering::Relaxed);
    COUNTING.store(true, Ordering::Relaxed);
    for _ in 0..iterations {
        f();
    }
    COUNTING.store(false, Ordering::Relaxed);
    ALLOCS.load(Ordering::Relaxed) as f64 / iterations as f64
}

// ---------------------------------------------------------------------------------------------
// Test packets
// ---------------------------------------------------------------------------------------------

/// Size of the DATA test packet: 12-byte common header + 16-byte DATA header + payload.
const DATA_PACKET_LEN: usize = 1200;
const DATA_PAYLOAD_LEN: usize = DATA_PACKET_LEN - CommonHeader::LEN - 16;
const SACK_GAPS: u16 = 50;

fn header() -> CommonHeader {
    CommonHeader {
        src_port: 5000,
        dst_port: 5001,
        verification_tag: 0xdead_beef,
        checksum: 0,
    }
}

fn data_chunk() -> Data {
    let payload: Vec<u8> = (0..DATA_PAYLOAD_LEN).map(|i| (i * 31 + 7) as u8).collect();
    Data {
        tsn: Tsn(0x1234_5678),
        stream_id: 3,
        ssn: Ssn(42),
        ppid: 51,
        unordered: false,
        beginning: true,
        ending: true,
        immediate_sack: false,
        payload: Bytes::from(payload),
    }
}

fn sack_chunk() -> Sack {
    Sack {
        cumulative_tsn_ack: Tsn(1000),
        a_rwnd: 1 << 20,
        gap_blocks: (0..SACK_GAPS)
            .map(|i| GapAckBlock {
                start: 2 + 4 * i,
                end: 3 + 4 * i,
            })
            .collect(),
        duplicate_tsns: Vec::new(),
    }
}

/// Emits `chunk` as the only chunk of a packet into `buf` (cleared first); returns its length.
fn emit(buf: &mut Vec<u8>, chunk: &(impl braid_wire::EncodeChunk + ?Sized)) -> usize {
    buf.clear();
    let mut builder = PacketBuilder::new(buf, header(), DATA_PACKET_LEN);
    builder.push(chunk).expect("chunk fits");
    builder.finish_crc32c()
}

fn packet_bytes(chunk: &(impl braid_wire::EncodeChunk + ?Sized)) -> Bytes {
    let mut buf = Vec::with_capacity(1500);
    let len = emit(&mut buf, chunk);
    Bytes::copy_from_slice(&buf[..len])
}

/// Parses a packet and decodes every chunk; returns the DATA payload bytes plus the number of
/// SACK gap blocks seen, so nothing is optimised away.
#[inline]
fn parse_and_decode(bytes: &Bytes, policy: ChecksumPolicy) -> usize {
    let packet = Packet::parse(bytes.clone(), policy).expect("valid packet");
    let mut seen = 0;
    for chunk in packet.chunks() {
        match chunk.expect("valid chunk") {
            Chunk::Data(d) => seen += d.payload.len(),
            Chunk::Sack(s) => seen += s.gap_blocks.len(),
            _ => {}
        }
    }
    seen
}

/// A buffer of `len` bytes starting at byte `page_offset` of a 4 KiB page, so the relative
/// placement of a memcpy source and destination is known rather than left to malloc.
struct PlacedBuf {
    storage: Vec<u8>,
    start: usize,
    len: usize,
}

impl PlacedBuf {
    fn new(len: usize, page_offset: usize, fill: u8) -> Self {
        let storage = vec![fill; len + 4096];
        let base = storage.as_ptr() as usize;
        let start = (page_offset % 4096 + 4096 - base % 4096) % 4096;
        let buf = Self {
            storage,
            start,
            len,
        };
        assert_eq!(buf.as_slice().as_ptr() as usize % 4096, page_offset % 4096);
        buf
    }

    fn as_slice(&self) -> &[u8] {
        &self.storage[self.start..self.start + self.len]
    }

    fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.storage[self.start..self.start + self.len]
    }
}

// ---------------------------------------------------------------------------------------------
// Allocation and zero-copy report (before criterion)
// ---------------------------------------------------------------------------------------------

fn alloc_report() {
    const N: u64 = 1000;
    let data = data_chunk();
    let sack = sack_chunk();
    let data_pkt = packet_bytes(&data);
    let sack_pkt = packet_bytes(&sack);
    assert_eq!(data_pkt.len(), DATA_PACKET_LEN);

    // Zero-copy: the decoded payload must point into the packet's own buffer.
    let packet = Packet::parse(data_pkt.clone(), ChecksumPolicy::Crc32c).expect("valid packet");
    let Some(Ok(Chunk::Data(d))) = packet.chunks().next() else {
        panic!("expected one DATA chunk");
    };
    let buf = packet.as_bytes().as_ptr_range();
    let payload = d.payload.as_ptr_range();
    let inside = buf.start <= payload.start && payload.end <= buf.end;
    assert!(inside, "DATA payload was copied out of the packet buffer");
    assert_eq!(
        payload.start as usize - buf.start as usize,
        CommonHeader::LEN + 16
    );
    println!(
        "zero-copy: DATA payload {:p}..{:p} lies inside packet buffer {:p}..{:p} \
         (offset {}): yes",
        payload.start,
        payload.end,
        buf.start,
        buf.end,
        payload.start as usize - buf.start as usize
    );
    drop((d, packet));

    let parse_data = allocs_per_call(N, || {
        black_box(parse_and_decode(&data_pkt, ChecksumPolicy::Crc32c));
    });
    let parse_data_fresh = {
        // A receive buffer just handed over as `Bytes::from(Vec)` (len == capacity): the
        // first slice of it promotes the `Bytes` to its shared form. The Vec itself is not
        // counted.
        let mut total = 0u64;
        for _ in 0..N {
            let fresh = Bytes::from(data_pkt.to_vec());
            ALLOCS.store(0, Ordering::Relaxed);
            COUNTING.store(true, Ordering::Relaxed);
            black_box(parse_and_decode(&fresh, ChecksumPolicy::Crc32c));
            COUNTING.store(false, Ordering::Relaxed);
            total += ALLOCS.load(Ordering::Relaxed);
        }
        total as f64 / N as f64
    };
    let parse_sack = allocs_per_call(N, || {
        black_box(parse_and_decode(&sack_pkt, ChecksumPolicy::Crc32c));
    });
    let mut out = Vec::with_capacity(1500);
    let emit_data = allocs_per_call(N, || {
        black_box(emit(&mut out, black_box(&data)));
    });
    let emit_sack = allocs_per_call(N, || {
        black_box(emit(&mut out, black_box(&sack)));
    });

    println!("allocations per operation (average of {N}, after one warm-up call):");
    println!("  {:<62} {:>6} {:>9}", "operation", "allocs", "expected");
    let rows = [
        (
            "Packet::parse(Crc32c) + DATA decode (1200 B)",
            parse_data,
            Some(0.0),
        ),
        (
            "  same, on a fresh Bytes::from(Vec) (first slice promotes it)",
            parse_data_fresh,
            None,
        ),
        (
            "Packet::parse(Crc32c) + SACK decode (50 gaps, 0 dups)",
            parse_sack,
            Some(1.0),
        ),
        ("emit DATA 1200 B into a reused Vec", emit_data, Some(0.0)),
        ("emit SACK 50 gaps into a reused Vec", emit_sack, Some(0.0)),
    ];
    for (what, got, expected) in rows {
        let exp = expected.map_or_else(|| "-".to_owned(), |e| format!("{e}"));
        println!("  {what:<62} {got:>6.2} {exp:>9}");
    }
    for (what, got, expected) in rows {
        if let Some(e) = expected {
            assert!(got == e, "{what}: {got} allocations per call, expected {e}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Benchmarks
// ---------------------------------------------------------------------------------------------

fn bench_parse(c: &mut Criterion) {
    let cases = [
        ("parse/data_1200", packet_bytes(&data_chunk())),
        ("parse/sack_50_gaps", packet_bytes(&sack_chunk())),
    ];
    for (name, pkt) in cases {
        let mut group = c.benchmark_group(name);
        group.throughput(Throughput::BytesDecimal(pkt.len() as u64));
        for (id, policy) in [
            ("crc32c", ChecksumPolicy::Crc32c),
            ("unchecked", ChecksumPolicy::Unchecked),
        ] {
            group.bench_function(id, |b| {
                b.iter(|| parse_and_decode(black_box(&pkt), black_box(policy)))
            });
        }
        group.finish();
    }
}

fn bench_emit(c: &mut Criterion) {
    let data = data_chunk();
    let sack = sack_chunk();
    let mut out = Vec::with_capacity(1500);
    let mut group = c.benchmark_group("emit");
    group.throughput(Throughput::BytesDecimal(DATA_PACKET_LEN as u64));
    group.bench_function("data_1200", |b| b.iter(|| emit(&mut out, black_box(&data))));
    group.throughput(Throughput::BytesDecimal(emit(&mut out, &sack) as u64));
    group.bench_function("sack_50_gaps", |b| {
        b.iter(|| emit(&mut out, black_box(&sack)))
    });
    group.finish();
}

fn bench_crc_vs_memcpy(c: &mut Criterion) {
    const SIZES: [usize; 3] = [1200, 1480, 65536];
    // Source at page offset 0. The reference destination sits 64 bytes further into its
    // page. On AMD EPYC with glibc 2.36, a destination a few bytes (8..16) past the source
    // modulo 4 KiB sends a 64 KiB copy down a slow `rep movsb` path (~2.7 GB/s instead of
    // ~45 GB/s); that case is measured separately and named as such.
    let src = PlacedBuf::new(65536, 0, 0xa5);
    let mut dst = PlacedBuf::new(65536, 64, 0);
    let mut dst_same = PlacedBuf::new(65536, 0, 0);
    let mut dst_16 = PlacedBuf::new(65536, 16, 0);
    println!(
        "memcpy buffers, address % 4096: src {}, dst {} (memcpy/*), dst {} \
         (memcpy/65536_same_4k_offset), dst {} (memcpy/65536_dst_16B_after)",
        src.as_slice().as_ptr() as usize % 4096,
        dst.as_slice().as_ptr() as usize % 4096,
        dst_same.as_slice().as_ptr() as usize % 4096,
        dst_16.as_slice().as_ptr() as usize % 4096,
    );

    let mut group = c.benchmark_group("crc32c");
    for n in SIZES {
        let input = &src.as_slice()[..n];
        group.throughput(Throughput::BytesDecimal(n as u64));
        group.bench_function(n.to_string(), |b| b.iter(|| crc32c(black_box(input))));
    }
    group.finish();

    // The crate the lane kernel stands in for on x86_64, for comparison.
    let mut group = c.benchmark_group("crc32c_crate");
    for n in SIZES {
        let input = &src.as_slice()[..n];
        group.throughput(Throughput::BytesDecimal(n as u64));
        group.bench_function(n.to_string(), |b| {
            b.iter(|| crc32c::crc32c(black_box(input)))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("memcpy");
    for n in SIZES {
        bench_copy(
            &mut group,
            &n.to_string(),
            &src.as_slice()[..n],
            &mut dst.as_mut_slice()[..n],
        );
    }
    bench_copy(
        &mut group,
        "65536_same_4k_offset",
        src.as_slice(),
        dst_same.as_mut_slice(),
    );
    bench_copy(
        &mut group,
        "65536_dst_16B_after",
        src.as_slice(),
        dst_16.as_mut_slice(),
    );
    group.finish();
}

fn bench_copy(group: &mut BenchmarkGroup<'_, WallTime>, id: &str, src: &[u8], dst: &mut [u8]) {
    group.throughput(Throughput::BytesDecimal(src.len() as u64));
    group.bench_function(id, |b| {
        b.iter(|| black_box(&mut *dst).copy_from_slice(black_box(src)))
    });
}

fn main() {
    alloc_report();
    // Kept short so the whole run takes about two minutes on two cores.
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50)
        .configure_from_args();
    bench_parse(&mut c);
    bench_emit(&mut c);
    bench_crc_vs_memcpy(&mut c);
    c.final_summary();
}
