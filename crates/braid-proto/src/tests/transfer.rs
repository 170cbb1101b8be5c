//! Data transfer scenarios (issue 4), in virtual time with fixed seeds: streams ordered and
//! unordered, message sizes up to 16 MiB, loss, reordering, duplication, RTO back-off,
//! congestion control, zero windows, slow readers, misbehaving peers, many streams under
//! random loss, and shutdown with data outstanding (RFC 9260 §6, §7, §9.2).
//!
//! A sends, Z receives. TSNs in comments are relative to A's initial TSN
//! (`A -> DATA(tsn 7) -> (lost) Z`).

use core::time::Duration;
use std::collections::{BTreeMap, HashSet};
use std::time::Instant;

use braid_wire::chunk::chunk_type;
use braid_wire::{Bytes, Chunk, Data, ErrorCause, Sack, Ssn, Tsn};
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

use crate::harness::{
    data_config, find, packet, payload, perfect, Fate, Network, Pair, Sent, Side,
};
use crate::{
    Association, AssociationConfig, AssociationHandle, CloseReason, EndpointConfig, Event, Message,
    PathId, Ppid, SendError, SendOptions, State, StreamId,
};

// ------------------------------------------------------------------------------ helpers

/// The default path MTU (`max_packet_size`).
const MTU: usize = 1200;
/// A message that fills a packet at the default MTU: one message, one chunk, one packet, so
/// relative TSN n is message n.
const FULL: usize = 1172;
/// Payload of a DATA chunk that fills a packet at `mtu`: common header 12, DATA header 16.
fn full_chunk(mtu: usize) -> usize {
    mtu - 12 - 16
}

/// `config` with changes to the association part.
fn config_with(max_message: usize, f: impl FnOnce(&mut AssociationConfig)) -> EndpointConfig {
    let mut c = data_config(max_message);
    f(&mut c.association);
    c
}

/// A's first TSN, from its INIT: the base of the relative TSNs in the comments.
fn base_tsn(pair: &Pair) -> u32 {
    pair.log
        .iter()
        .filter(|(_, s)| s.from == Side::A)
        .find_map(|(_, s)| {
            s.chunks().into_iter().find_map(|c| match c {
                Chunk::Init(i) => Some(i.initial_tsn.0),
                _ => None,
            })
        })
        .expect("A sent an INIT")
}

fn data_chunks(s: &Sent) -> Vec<Data> {
    s.chunks()
        .into_iter()
        .filter_map(|c| match c {
            Chunk::Data(d) => Some(d),
            _ => None,
        })
        .collect()
}

fn sacks(s: &Sent) -> Vec<Sack> {
    s.chunks()
        .into_iter()
        .filter_map(|c| match c {
            Chunk::Sack(d) => Some(d),
            _ => None,
        })
        .collect()
}

/// The relative TSNs of the DATA chunks in a packet A sent.
fn rel_tsns(s: &Sent, base: u32) -> Vec<u32> {
    if s.from != Side::A {
        return Vec::new();
    }
    data_chunks(s)
        .iter()
        .map(|d| d.tsn.0.wrapping_sub(base))
        .collect()
}

/// Every DATA chunk A put on the wire, with its send time and relative TSN.
fn data_log(pair: &Pair) -> Vec<(Duration, u32, Data)> {
    let base = base_tsn(pair);
    pair.log
        .iter()
        .filter(|(_, s)| s.from == Side::A && s.types().contains(&chunk_type::DATA))
        .flat_map(|(t, s)| {
            data_chunks(s)
                .into_iter()
                .map(move |d| (*t, d.tsn.0.wrapping_sub(base), d))
        })
        .collect()
}

/// Every SACK Z sent, with its send time.
fn z_sacks(pair: &Pair) -> Vec<(Duration, Sack)> {
    pair.log
        .iter()
        .filter(|(_, s)| s.from == Side::Z && s.types().contains(&chunk_type::SACK))
        .flat_map(|(t, s)| sacks(s).into_iter().map(move |k| (*t, k)))
        .collect()
}

/// Whether a SACK reports `tsn` missing: below the end of its last gap block, above its
/// cumulative ack, in no block.
fn reports_missing(s: &Sack, tsn: u32) -> bool {
    let cum = s.cumulative_tsn_ack.0;
    let off = tsn.wrapping_sub(cum);
    if off == 0 || off >= 1 << 31 {
        return false;
    }
    let Some(last) = s.gap_blocks.iter().map(|b| u32::from(b.end)).max() else {
        return false;
    };
    off < last
        && !s
            .gap_blocks
            .iter()
            .any(|b| u32::from(b.start) <= off && off <= u32::from(b.end))
}

/// Queues messages on A, all at once.
fn send_all(pair: &mut Pair, msgs: &[(u16, Bytes, bool)]) {
    let now = pair.now;
    for (stream, p, unordered) in msgs {
        let opts = SendOptions {
            ppid: Ppid(50 + u32::from(*stream)),
            unordered: *unordered,
            ..Default::default()
        };
        pair.assoc_mut(Side::A)
            .send(now, StreamId(*stream), p.clone(), &opts)
            .unwrap();
    }
}

/// Runs in steps of `step`, the reader reading after each, until `want` messages arrived or
/// `limit` passed. Returns what was read.
fn run_reading(
    pair: &mut Pair,
    want: usize,
    step: Duration,
    limit: Duration,
    net: &mut Network<'_>,
) -> Vec<Message> {
    let mut got = Vec::new();
    let end = pair.now + limit;
    while got.len() < want && pair.now < end {
        pair.run(step, net);
        got.extend(pair.read_all(Side::Z));
    }
    got
}

/// Checks that each stream's ordered messages arrived exactly once and in order, and that
/// the unordered ones arrived exactly once (in any order).
fn check_delivery(sent: &[(u16, Bytes, bool)], got: &[Message]) {
    assert_eq!(got.len(), sent.len(), "messages delivered");
    let mut streams: BTreeMap<u16, (Vec<&Bytes>, Vec<&Bytes>)> = BTreeMap::new();
    for (s, p, u) in sent {
        let e = streams.entry(*s).or_default();
        if *u {
            e.1.push(p)
        } else {
            e.0.push(p)
        }
    }
    for (s, (ordered, unordered)) in &streams {
        let have_o: Vec<&Bytes> = got
            .iter()
            .filter(|m| m.stream == StreamId(*s) && !m.unordered)
            .map(|m| &m.payload)
            .collect();
        assert!(
            have_o == *ordered,
            "stream {s}: ordered messages in order, once"
        );
        let mut have_u: Vec<&Bytes> = got
            .iter()
            .filter(|m| m.stream == StreamId(*s) && m.unordered)
            .map(|m| &m.payload)
            .collect();
        let mut want_u = unordered.clone();
        have_u.sort();
        want_u.sort();
        assert!(have_u == want_u, "stream {s}: unordered messages once each");
    }
    for m in got {
        assert_eq!(m.ppid, Ppid(50 + u32::from(m.stream.0)), "PPID kept");
    }
}

/// A wire with a bandwidth, driven one arrival at a time, so a test can look at the sender
/// before and after each packet it receives. Packets leave each side one after the other at
/// `rate` bytes per second (an unbounded queue: nothing is dropped but by `net`), then take
/// `delay`.
struct Link {
    rate: Option<u64>,
    delay: Duration,
    queue: BTreeMap<(Instant, u64), (Side, Bytes)>,
    seq: u64,
    free: [Instant; 2],
    /// The instant the pair's log counts from, learned from the first packet sent.
    origin: Option<Instant>,
}

impl Link {
    fn new(pair: &Pair, rate: Option<u64>, delay: Duration) -> Self {
        Self {
            rate,
            delay,
            queue: BTreeMap::new(),
            seq: 0,
            free: [pair.now; 2],
            origin: None,
        }
    }

    /// `t` on the clock of `pair.log`.
    fn rel(&self, t: Instant) -> Duration {
        t - self.origin.expect("a packet was sent")
    }

    fn schedule(&mut self, now: Instant, from: Side, bytes: Bytes, extra: Duration) {
        let i = usize::from(from == Side::Z);
        let serialisation = self.rate.map_or(Duration::ZERO, |r| {
            Duration::from_nanos(bytes.len() as u64 * 1_000_000_000 / r)
        });
        let start = self.free[i].max(now);
        self.free[i] = start + serialisation;
        self.seq += 1;
        self.queue.insert(
            (self.free[i] + self.delay + extra, self.seq),
            (from.other(), bytes),
        );
    }

    /// Sends what both sides have, runs the timers due before the next arrival, and returns
    /// that arrival (not yet delivered, `pair.now` at its time), or `None` at `end`.
    fn next(
        &mut self,
        pair: &mut Pair,
        end: Instant,
        net: &mut Network<'_>,
    ) -> Option<(Side, Bytes)> {
        loop {
            for side in [Side::A, Side::Z] {
                for sent in pair.transmit(side) {
                    let first = sent.types().first().copied().unwrap_or(0);
                    let n = pair.sent_count(side, first);
                    let now = pair.now;
                    if self.origin.is_none() {
                        self.origin = pair.log.last().map(|(t, _)| now - *t);
                    }
                    match net(&sent, n) {
                        Fate::Deliver => self.schedule(now, side, sent.bytes, Duration::ZERO),
                        Fate::Drop => {}
                        Fate::Duplicate => {
                            self.schedule(now, side, sent.bytes.clone(), Duration::ZERO);
                            self.schedule(now, side, sent.bytes, Duration::from_micros(1));
                        }
                        Fate::Delay(d) => self.schedule(now, side, sent.bytes, d),
                        Fate::Rewrite(b) => self.schedule(now, side, b, Duration::ZERO),
                    }
                }
            }
            let arrival = self.queue.keys().next().map(|k| k.0);
            let timer = [pair.a.poll_timeout(), pair.z.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            match (arrival, timer) {
                (a, Some(t)) if t <= end && a.is_none_or(|a| t < a) => {
                    pair.now = pair.now.max(t);
                    let now = pair.now;
                    pair.a.handle_timeout(now);
                    pair.z.handle_timeout(now);
                }
                (Some(a), _) if a <= end => {
                    let (_, (to, bytes)) = self.queue.pop_first().unwrap();
                    pair.now = pair.now.max(a);
                    return Some((to, bytes));
                }
                _ => {
                    pair.now = pair.now.max(end);
                    return None;
                }
            }
        }
    }
}

impl Link {
    /// Delivers everything for `d` more, over a perfect network.
    fn settle(&mut self, pair: &mut Pair, d: Duration) {
        let end = pair.now + d;
        while let Some((to, bytes)) = self.next(pair, end, &mut perfect) {
            pair.deliver_bytes(to, bytes);
        }
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

// ------------------------------------------------------------------------------ 2. sizes

/// Messages of 1 byte up to 16 MiB, fragmented at the path MTU and put back together byte
/// for byte, at MTU 1200 (WebRTC) and 9000 (jumbo frames).
#[test]
fn message_sizes_from_one_byte_to_sixteen_mib() {
    const MAX: usize = 16 * 1024 * 1024;
    for mtu in [1200usize, 9000] {
        let c = config_with(MAX, |a| a.max_packet_size = mtu);
        let mut pair = Pair::established_with(c.clone(), c);
        let p = full_chunk(mtu);
        let sizes = [
            1,
            2,
            3,
            4,
            5,
            p - 1,
            p,
            p + 1,
            2 * p,
            2 * p + 1,
            65_535,
            65_536,
            100_001,
            1 << 20,
            MAX,
        ];
        let msgs: Vec<(u16, Bytes, bool)> = sizes
            .iter()
            .enumerate()
            .map(|(i, &len)| (0, payload(0, i as u32, len), false))
            .collect();
        send_all(&mut pair, &msgs);
        let (started, t0) = (std::time::Instant::now(), pair.now);
        let got = run_reading(
            &mut pair,
            msgs.len(),
            ms(50),
            Duration::from_secs(60),
            &mut perfect,
        );
        check_delivery(&msgs, &got);
        for (m, &len) in got.iter().zip(&sizes) {
            assert_eq!(m.payload.len(), len);
        }
        // Every packet fits the path MTU; the 16 MiB message went in chunks of at most p
        // bytes (the first may share a packet with the previous message's tail), the first
        // with B, the last with E.
        assert!(pair.log.iter().all(|(_, s)| s.bytes.len() <= mtu));
        let chunks = data_log(&pair);
        let biggest: Vec<&Data> = chunks
            .iter()
            .map(|(_, _, d)| d)
            .filter(|d| d.ssn == Ssn(sizes.len() as u16 - 1))
            .collect();
        assert!(biggest.iter().all(|d| d.payload.len() <= p));
        assert_eq!(biggest.iter().map(|d| d.payload.len()).sum::<usize>(), MAX);
        let n = biggest.len();
        assert!(
            (MAX.div_ceil(p)..=MAX.div_ceil(p) + 1).contains(&n),
            "MTU {mtu}: {n}"
        );
        assert!(biggest[0].beginning && !biggest[0].ending);
        assert!(biggest[1..biggest.len() - 1]
            .iter()
            .all(|d| !d.beginning && !d.ending));
        assert!(biggest.last().unwrap().ending);
        assert_eq!(pair.assoc(Side::A).stats().retransmissions, 0);
        eprintln!(
            "MTU {mtu}: 17.3 MiB in {:?} of virtual time, {:?} of wall time",
            pair.now - t0,
            started.elapsed()
        );
    }
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// Drops the first transmission of the chunks whose relative TSN `lose` picks; delivers
/// everything else.
fn lose_first(base: u32, lose: impl Fn(u32) -> bool) -> impl FnMut(&Sent, usize) -> Fate {
    let mut seen = HashSet::new();
    move |s, _| {
        let fresh: Vec<u32> = rel_tsns(s, base)
            .into_iter()
            .filter(|t| seen.insert(*t))
            .collect();
        if fresh.iter().any(|t| lose(*t)) {
            Fate::Drop
        } else {
            Fate::Deliver
        }
    }
}

/// Runs over `link`, the reader reading after every packet Z receives, until `want`
/// messages arrived or `limit` passed.
fn run_link(
    pair: &mut Pair,
    link: &mut Link,
    want: usize,
    limit: Duration,
    net: &mut Network<'_>,
) -> Vec<Message> {
    let end = pair.now + limit;
    let mut got = Vec::new();
    while got.len() < want {
        let Some((to, bytes)) = link.next(pair, end, net) else {
            break;
        };
        pair.deliver_bytes(to, bytes);
        if to == Side::Z {
            got.extend(pair.read_all(Side::Z));
        }
    }
    got
}

/// Lets the last SACKs arrive.
fn settle(pair: &mut Pair) {
    pair.run(secs(2), &mut perfect);
}

/// The arrival times at A of the SACKs that count as a miss indication for the absolute TSN
/// `tsn` under HTNA (RFC 9260 §7.2.4): they report it missing and newly acknowledge a higher
/// TSN.
fn miss_indications(pair: &Pair, tsn: u32) -> Vec<Duration> {
    let mut highest: Option<Tsn> = None;
    let mut out = Vec::new();
    for (t, s) in z_sacks(pair) {
        let last = s.gap_blocks.iter().map(|b| u32::from(b.end)).max();
        let top = Tsn(s.cumulative_tsn_ack.0.wrapping_add(last.unwrap_or(0)));
        let new_high = highest.is_none_or(|h| top.follows(h));
        if new_high {
            highest = Some(top);
            if reports_missing(&s, tsn) {
                out.push(t + pair.delay);
            }
        }
    }
    out
}

/// `n` messages of `len` bytes on stream 0, ordered.
fn stream0(n: u32, len: usize) -> Vec<(u16, Bytes, bool)> {
    on_stream(0, n, len)
}

/// `n` messages of `len` bytes on `stream`, ordered.
fn on_stream(stream: u16, n: u32, len: usize) -> Vec<(u16, Bytes, bool)> {
    (0..n)
        .map(|i| (stream, payload(stream, i, len), false))
        .collect()
}

/// When A sent each copy of the chunk with relative TSN `tsn`.
fn copies_of(pair: &Pair, tsn: u32) -> Vec<Duration> {
    data_log(pair)
        .iter()
        .filter(|(_, t, _)| *t == tsn)
        .map(|(at, _, _)| *at)
        .collect()
}

// ------------------------------------------------------------------------------ 1. streams

/// One stream, ordered, messages of random sizes: all arrive, in order, intact.
#[test]
fn single_stream_ordered_transfer() {
    let mut pair = Pair::established_with(data_config(1 << 20), data_config(1 << 20));
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let msgs: Vec<(u16, Bytes, bool)> = (0..300u32)
        .map(|i| {
            (
                0u16,
                payload(0, i, 1 + rng.next_u32() as usize % 6000),
                false,
            )
        })
        .collect();
    send_all(&mut pair, &msgs);
    let got = run_reading(&mut pair, msgs.len(), ms(50), secs(60), &mut perfect);
    check_delivery(&msgs, &got);
    assert!(got.iter().all(|m| !m.unordered));
    assert_eq!(pair.assoc(Side::A).stats().retransmissions, 0);
}

/// Unordered messages (U bit) are handed over as soon as they are complete, ahead of
/// ordered ones queued before them; an ordered message waits for its predecessors.
#[test]
fn unordered_messages_overtake_and_ordered_ones_wait() {
    let mut pair = Pair::established_with(data_config(1 << 20), data_config(1 << 20));
    let base = base_tsn(&pair);
    // Messages of one packet each, all on stream 0, alternating: u0, o0, u1, o1, ...
    let msgs: Vec<(u16, Bytes, bool)> = (0..40u32)
        .map(|i| (0u16, payload(0, i, FULL), i % 2 == 0))
        .collect();
    send_all(&mut pair, &msgs);
    // A -> DATA(tsn 0: u0) -> (200 ms late) Z
    // A -> DATA(tsn 1: o0) -> (200 ms late) Z
    // A -> DATA(tsn 2: u1) -> Z              readable at once, ahead of u0
    // A -> DATA(tsn 3: o1) -> Z              waits for o0
    let mut seen = HashSet::new();
    let got = run_reading(&mut pair, msgs.len(), ms(5), secs(30), &mut |s, _| {
        let fresh: Vec<u32> = rel_tsns(s, base)
            .into_iter()
            .filter(|t| seen.insert(*t))
            .collect();
        if fresh.contains(&0) || fresh.contains(&1) {
            Fate::Delay(ms(200))
        } else {
            Fate::Deliver
        }
    });
    check_delivery(&msgs, &got);
    let pos = |p: &Bytes| got.iter().position(|m| m.payload == p).unwrap();
    assert!(pos(&msgs[2].1) < pos(&msgs[0].1), "u1 overtook u0");
    assert!(pos(&msgs[2].1) < pos(&msgs[1].1), "u1 overtook o0");
    assert!(pos(&msgs[1].1) < pos(&msgs[3].1), "o1 waited for o0");
    assert!(got.iter().filter(|m| m.unordered).count() == 20);
}

/// Eight streams, a third of the messages unordered, sizes 1..4000, every fifth packet
/// late: each stream's ordered messages in order, every message exactly once.
#[test]
fn many_streams_ordered_and_unordered_under_reordering() {
    let mut pair = Pair::established_with(data_config(1 << 20), data_config(1 << 20));
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let msgs: Vec<(u16, Bytes, bool)> = (0..400u32)
        .map(|i| {
            let stream = (i % 8) as u16;
            let len = 1 + rng.next_u32() as usize % 4000;
            (stream, payload(stream, i, len), i % 3 == 0)
        })
        .collect();
    send_all(&mut pair, &msgs);
    // A -> DATA -> Z, but every fifth DATA packet takes 25 ms longer.
    let mut n = 0;
    let got = run_reading(&mut pair, msgs.len(), ms(50), secs(60), &mut |s, _| {
        if s.from == Side::A && s.types().contains(&chunk_type::DATA) {
            n += 1;
            if n % 5 == 0 {
                return Fate::Delay(ms(25));
            }
        }
        Fate::Deliver
    });
    check_delivery(&msgs, &got);
    for m in &got {
        let i = msgs.iter().position(|(_, p, _)| p == &m.payload).unwrap();
        assert_eq!(m.unordered, msgs[i].2, "U bit kept");
        assert_eq!(m.stream, StreamId(msgs[i].0));
    }
}

// ------------------------------------------------------------------------------ 3. loss

/// One DATA chunk lost in the middle of a transfer: the SACKs for the data behind it report
/// it missing, and the third miss indication has it fast-retransmitted (RFC 9260 §7.2.4),
/// long before T3-rtx would expire.
#[test]
fn one_lost_data_chunk_is_fast_retransmitted() {
    let mut pair = Pair::established_with(data_config(1 << 20), data_config(1 << 20));
    let base = base_tsn(&pair);
    let msgs = stream0(30, FULL);
    send_all(&mut pair, &msgs);
    // A -> DATA(tsn 2) -> (lost) Z
    // A -> DATA(tsn 3, 4, ...) -> Z;  Z -> SACK(cum 1, gap 3..) -> A, three times
    // A -> DATA(tsn 2) -> Z           (fast retransmit)
    let mut net = lose_first(base, |t| t == 2);
    let got = run_reading(&mut pair, msgs.len(), ms(50), secs(30), &mut net);
    check_delivery(&msgs, &got);
    let st = pair.assoc(Side::A).stats();
    assert_eq!(st.fast_retransmits, 1, "{st:?}");
    assert_eq!(st.timer_retransmit_events, 0, "no T3 needed");
    assert_eq!(st.retransmissions, 1);
    let copies = copies_of(&pair, 2);
    assert_eq!(copies.len(), 2);
    assert!(copies[1] - copies[0] < secs(1), "well before one RTO");
    assert_eq!(pair.assoc(Side::A).bytes_in_flight(), 0);
}

/// A lost SACK needs no repair: SACKs are cumulative, and the next one acknowledges
/// everything the lost one did (RFC 9260 §6.2). Over a 10 MB/s link the packets arrive
/// spaced out, so Z acknowledges every second one.
#[test]
fn lost_sack_is_covered_by_the_next_one() {
    let mut pair = Pair::established_with(data_config(1 << 20), data_config(1 << 20));
    let msgs = stream0(40, FULL);
    send_all(&mut pair, &msgs);
    let mut link = Link::new(&pair, Some(10_000_000), ms(10));
    // A -> DATA(tsn 0..3) -> Z
    // Z -> SACK(cum 1) -> A
    // Z -> SACK(cum 3) -> (lost) A
    // A -> DATA(tsn 4..6) -> Z
    // Z -> SACK(cum 5) -> A          acknowledges 2..5 at once
    let got = run_link(&mut pair, &mut link, msgs.len(), secs(30), &mut |s, n| {
        if s.from == Side::Z && s.is(chunk_type::SACK) && n == 2 {
            Fate::Drop
        } else {
            Fate::Deliver
        }
    });
    check_delivery(&msgs, &got);
    link.settle(&mut pair, secs(1));
    let zs = z_sacks(&pair);
    assert!(zs[2]
        .1
        .cumulative_tsn_ack
        .follows(zs[1].1.cumulative_tsn_ack));
    let st = pair.assoc(Side::A).stats();
    assert_eq!(st.retransmissions, 0, "{st:?}");
    assert_eq!(st.timer_retransmit_events, 0);
    assert_eq!(st.sacks_received as usize, zs.len() - 1);
    assert_eq!(pair.assoc(Side::A).bytes_in_flight(), 0);
}

/// The last packet of a burst is lost: no later data makes SACKs report it missing, so only
/// T3-rtx recovers it (RFC 9260 §6.3.3), one RTO after the timer was last (re)started — by
/// the SACK that acknowledged the rest of the burst (§6.3.2 R3).
#[test]
fn lost_last_packet_of_a_burst_needs_the_t3_timer() {
    let mut pair = Pair::established_with(data_config(1 << 20), data_config(1 << 20));
    let base = base_tsn(&pair);
    let rto = pair.assoc(Side::A).rto(PathId(0)).unwrap();
    assert_eq!(rto, secs(1), "RTO.Min");
    let msgs = stream0(4, FULL);
    send_all(&mut pair, &msgs);
    // A -> DATA(tsn 0..2) -> Z
    // A -> DATA(tsn 3) -> (lost) Z
    // Z -> SACK(cum 2) -> A            no gap: nothing reported missing
    // ... one RTO ...
    // A -> DATA(tsn 3) -> Z            T3-rtx
    let mut net = lose_first(base, |t| t == 3);
    let got = run_reading(&mut pair, msgs.len(), ms(50), secs(30), &mut net);
    check_delivery(&msgs, &got);
    let log = data_log(&pair);
    let t0 = log[0].0;
    assert!(
        log.iter().take(4).all(|(t, _, _)| *t == t0),
        "one burst (an initial cwnd of 4404 bytes takes four 1188-byte chunks)"
    );
    let st = pair.assoc(Side::A).stats();
    assert_eq!(st.fast_retransmits, 0, "{st:?}");
    assert_eq!(st.timer_retransmit_events, 1);
    let copies = copies_of(&pair, 3);
    assert_eq!(copies.len(), 2);
    // The last SACK that acknowledged the earliest outstanding TSN (advanced the cumulative
    // ack) before the retransmission restarted T3 when it arrived.
    let mut cum = None;
    let mut restart = None;
    for (t, s) in z_sacks(&pair) {
        if cum.is_none_or(|c: Tsn| s.cumulative_tsn_ack.follows(c)) && t + pair.delay <= copies[1] {
            cum = Some(s.cumulative_tsn_ack);
            restart = Some(t + pair.delay);
        }
    }
    let restart = restart.unwrap();
    assert_eq!(
        copies[1],
        restart + rto,
        "T3 expiry one RTO after its restart{}",
        pair.trace()
    );
    assert!(copies[1] - copies[0] >= rto);
}

/// Three miss indications make a chunk fast-retransmitted, once: §7.2.4 step 5 makes it
/// ineligible for another fast retransmit however many SACKs keep reporting it missing, so
/// if that copy is lost too, T3-rtx has to resend it.
#[test]
fn three_miss_indications_trigger_exactly_one_fast_retransmit() {
    for lose_the_retransmission in [false, true] {
        let mut pair = Pair::established_with(data_config(1 << 20), data_config(1 << 20));
        let base = base_tsn(&pair);
        let msgs = stream0(60, FULL);
        send_all(&mut pair, &msgs);
        // A -> DATA(tsn 3) -> (lost) Z
        // Z -> SACK(cum 2, gap ..) -> A    x3: the third has tsn 3 fast-retransmitted
        // A -> DATA(tsn 3) -> (lost, in the second run) Z
        // Z -> SACK(cum 2, gap ..) -> A    many more: no second fast retransmit
        let mut copies_seen = 0;
        let got = run_reading(&mut pair, msgs.len(), ms(50), secs(60), &mut |s, _| {
            if rel_tsns(s, base).contains(&3) {
                copies_seen += 1;
                if copies_seen == 1 || (copies_seen == 2 && lose_the_retransmission) {
                    return Fate::Drop;
                }
            }
            Fate::Deliver
        });
        check_delivery(&msgs, &got);
        let st = pair.assoc(Side::A).stats();
        let copies = copies_of(&pair, 3);
        assert_eq!(st.fast_retransmits, 1, "{st:?}");
        if lose_the_retransmission {
            assert_eq!(copies.len(), 3, "original, fast retransmit, T3: {copies:?}");
            assert_eq!(st.timer_retransmit_events, 1);
            let missing_after = miss_indications(&pair, base + 3)
                .iter()
                .filter(|t| **t > copies[1] && **t < copies[2])
                .count();
            assert!(
                missing_after >= 3,
                "SACKs kept reporting it: {missing_after}"
            );
        } else {
            assert_eq!(
                copies.len(),
                2,
                "original and one fast retransmit: {copies:?}"
            );
            assert_eq!(st.timer_retransmit_events, 0);
        }
        // The fast retransmit left when the third SACK reporting tsn 3 missing, and newly
        // acknowledging a higher TSN, arrived (§7.2.4 3: it ignores cwnd and is not delayed).
        let arrivals = miss_indications(&pair, base + 3);
        assert!(arrivals.len() >= 3);
        assert_eq!(
            copies[1],
            arrivals[2],
            "on the third miss indication: {arrivals:?}{}",
            pair.trace()
        );
    }
}

/// Ten packets in a row lost: everything is recovered, delivered once and in order.
#[test]
fn burst_loss_of_ten_packets() {
    let mut pair = Pair::established_with(data_config(1 << 20), data_config(1 << 20));
    let base = base_tsn(&pair);
    let msgs = stream0(100, FULL);
    send_all(&mut pair, &msgs);
    // A -> DATA(tsn 20..29) -> (lost) Z
    let mut net = lose_first(base, |t| (20..30).contains(&t));
    let got = run_reading(&mut pair, msgs.len(), ms(50), secs(60), &mut net);
    check_delivery(&msgs, &got);
    settle(&mut pair);
    for t in 20..30 {
        assert!(copies_of(&pair, t).len() >= 2, "tsn {t} resent");
    }
    let st = pair.assoc(Side::A).stats();
    assert!(st.retransmissions >= 10, "{st:?}");
    assert_eq!(pair.assoc(Side::A).bytes_in_flight(), 0);
}

/// Packets overtaking each other on the wire: delivery stays in order, exactly once.
#[test]
fn reordering_keeps_order_and_delivers_once() {
    let mut pair = Pair::established_with(data_config(1 << 20), data_config(1 << 20));
    let base = base_tsn(&pair);
    let msgs = stream0(120, FULL);
    send_all(&mut pair, &msgs);
    // A -> DATA(tsn 3, 7, 11, ...) -> (15 ms late) Z
    let got = run_reading(&mut pair, msgs.len(), ms(50), secs(60), &mut |s, _| {
        if rel_tsns(s, base).iter().any(|t| t % 4 == 3) {
            Fate::Delay(ms(15))
        } else {
            Fate::Deliver
        }
    });
    check_delivery(&msgs, &got);
    assert_eq!(pair.assoc(Side::A).stats().timer_retransmit_events, 0);
    assert_eq!(pair.assoc(Side::Z).stats().messages_received, 120);
}

/// Every packet arrives twice: each message is delivered once, and Z's SACKs report the
/// duplicate TSNs (RFC 9260 §6.2).
#[test]
fn duplicated_packets_are_delivered_once_and_reported() {
    let mut pair = Pair::established_with(data_config(1 << 20), data_config(1 << 20));
    let base = base_tsn(&pair);
    let msgs = stream0(50, FULL);
    send_all(&mut pair, &msgs);
    // A -> DATA(tsn n) -> Z, twice
    // Z -> SACK(cum n, dup n) -> A
    let got = run_reading(&mut pair, msgs.len(), ms(50), secs(30), &mut |s, _| {
        if s.from == Side::A {
            Fate::Duplicate
        } else {
            Fate::Deliver
        }
    });
    check_delivery(&msgs, &got);
    settle(&mut pair);
    let (a, z) = (pair.assoc(Side::A).stats(), pair.assoc(Side::Z).stats());
    assert_eq!(a.retransmissions, 0);
    assert_eq!(z.duplicate_tsns_received, a.data_chunks_sent, "{z:?}");
    assert_eq!(z.messages_received, 50);
    let reported: Vec<u32> = z_sacks(&pair)
        .iter()
        .flat_map(|(_, s)| s.duplicate_tsns.iter().map(|t| t.0.wrapping_sub(base)))
        .collect();
    assert!(!reported.is_empty(), "duplicates reported");
    assert!(reported.iter().all(|t| *t < 50), "{reported:?}");
    let distinct: HashSet<u32> = reported.iter().copied().collect();
    assert_eq!(
        distinct.len(),
        reported.len(),
        "each duplicate reported once"
    );
}

// ------------------------------------------------------------------------------ 4. RTO

/// With every packet from A lost, T3-rtx expires at RTO, 2·RTO, 4·RTO, ... capped at
/// RTO.Max (RFC 9260 §6.3.3 E2), and the association gives up, `Unreachable`, when the
/// error counter passes Association.Max.Retrans (§8.1). The first expiry needs T3-rtx
/// started when the DATA went out (§6.3.2 R1), with no packet arriving afterwards.
#[test]
fn rto_doubles_up_to_rto_max_then_the_peer_is_unreachable() {
    let c = config_with(1 << 20, |a| {
        a.heartbeat_interval = None;
        a.rto_max = secs(10);
    });
    let max_retrans = c.association.association_max_retrans;
    let mut pair = Pair::established_with(c.clone(), c);
    assert_eq!(pair.assoc(Side::A).rto(PathId(0)), Some(secs(1)), "RTO.Min");
    send_all(&mut pair, &stream0(1, FULL));
    // A -> DATA(tsn 0) -> (lost) Z, again and again
    pair.run(secs(200), &mut |s, _| {
        if s.from == Side::A {
            Fate::Drop
        } else {
            Fate::Deliver
        }
    });
    let sends: Vec<Duration> = copies_of(&pair, 0);
    let gaps: Vec<u64> = sends
        .windows(2)
        .map(|w| (w[1] - w[0]).as_millis() as u64)
        .collect();
    assert_eq!(
        gaps,
        [1000, 2000, 4000, 8000, 10_000, 10_000, 10_000, 10_000, 10_000, 10_000],
        "one original and Association.Max.Retrans ({max_retrans}) retransmissions"
    );
    let st = pair.assoc(Side::A).stats();
    assert_eq!(st.timer_retransmit_events, u64::from(max_retrans) + 1);
    // The expiry that passes the limit ends the association: an ABORT (lost, too) and
    // `Closed(Unreachable)`.
    let abort = pair
        .log
        .iter()
        .find(|(_, s)| s.from == Side::A && s.is(chunk_type::ABORT))
        .map(|(t, _)| *t)
        .expect("ABORT sent");
    assert_eq!(abort, *sends.last().unwrap() + secs(10));
    assert_eq!(pair.state(Side::A), Some(State::Closed));
    let events = pair.events(Side::A);
    assert!(
        events.contains(&Event::Closed(CloseReason::Unreachable)),
        "{events:?}"
    );
}

/// The network heals after three timeouts: the retransmission that gets through is
/// acknowledged, but (Karn, §6.3.1 C5) gives no RTT sample, so the RTO stays backed off;
/// the first chunk sent once and acknowledged gives one, and the RTO is again
/// SRTT + 4·RTTVAR (§6.3.1 C3).
#[test]
fn rto_resets_from_a_fresh_rtt_sample_once_the_network_heals() {
    let c = config_with(1 << 20, |a| {
        a.heartbeat_interval = None;
        a.rto_min = ms(10);
    });
    let mut pair = Pair::established_with(c.clone(), c);
    let base = base_tsn(&pair);
    let rto0 = pair.assoc(Side::A).rto(PathId(0)).unwrap();
    send_all(&mut pair, &stream0(1, FULL));
    // A -> DATA(tsn 0) -> (lost) Z     three times: T3 at RTO, 2·RTO, 4·RTO
    // A -> DATA(tsn 0) -> Z            the fourth copy gets through
    // Z -> SACK(cum 0) -> A
    let mut copies = 0;
    pair.run(secs(30), &mut |s, _| {
        if rel_tsns(s, base).contains(&0) {
            copies += 1;
            if copies <= 3 {
                return Fate::Drop;
            }
        }
        Fate::Deliver
    });
    let sends = copies_of(&pair, 0);
    let gaps: Vec<Duration> = sends.windows(2).map(|w| w[1] - w[0]).collect();
    assert_eq!(gaps, [rto0, rto0 * 2, rto0 * 4], "{}", pair.trace());
    let before = pair.assoc(Side::A).path_stats(PathId(0)).unwrap();
    assert_eq!(
        before.rto,
        rto0 * 8,
        "backed off three times, no sample since: {before:?}"
    );
    assert_eq!(
        before.error_count, 0,
        "acknowledged data clears the error counter"
    );
    assert_eq!(pair.assoc(Side::A).bytes_in_flight(), 0);
    // A -> DATA(tsn 1, 2) -> Z
    // Z -> SACK(cum 2) -> A            an RTT sample
    send_all(
        &mut pair,
        &[
            (0, payload(0, 1, FULL), false),
            (0, payload(0, 2, FULL), false),
        ],
    );
    pair.run(secs(1), &mut perfect);
    assert_eq!(pair.read_all(Side::Z).len(), 3);
    let after = pair.assoc(Side::A).path_stats(PathId(0)).unwrap();
    let srtt = after.srtt.unwrap();
    assert_eq!(
        after.rto,
        (srtt + after.rttvar * 4).clamp(ms(10), secs(60)),
        "{after:?}"
    );
    assert!(after.rto < before.rto, "{after:?}");
}

// ------------------------------------------------------------------------------ 5. cwnd

/// One SACK as A saw it: path state before and after, and whether it started a fast
/// retransmit.
#[derive(Debug, Clone, Copy)]
struct SackStep {
    at: Duration,
    before: crate::PathStats,
    after: crate::PathStats,
    fast_retransmit: bool,
}

/// cwnd over a transfer with a big backlog on a 1 MB/s, 50 ms one-way path: slow start
/// (RFC 9260 §7.2.1), one loss and fast retransmit (§7.2.4, §7.2.3), then congestion
/// avoidance (§7.2.2). cwnd counts padded chunk sizes (1188 bytes per full packet).
#[test]
fn cwnd_follows_slow_start_fast_retransmit_and_congestion_avoidance() {
    // RTO.Min well below the default second so the RTO follows the RTT; no heartbeats.
    let c = config_with(1 << 20, |a| {
        a.heartbeat_interval = None;
        a.rto_min = ms(200);
        a.receive_window = 16 << 20;
    });
    let mut pair = Pair::established_with(c.clone(), c);
    let base = base_tsn(&pair);
    let initial = pair.assoc(Side::A).path_stats(PathId(0)).unwrap();
    // §7.2.1: min(4·MTU, max(2·MTU, 4404)) = 4404 at MTU 1200.
    assert_eq!(initial.cwnd, 4404);
    assert_eq!(
        initial.ssthresh,
        16 << 20,
        "ssthresh starts at the peer's a_rwnd"
    );
    send_all(&mut pair, &stream0(4000, FULL));
    let start = pair.now;
    let mut link = Link::new(&pair, Some(1_000_000), ms(50));
    // A -> DATA(tsn 150) -> (lost) Z
    let mut net = lose_first(base, |t| t == 150);
    let mut steps = Vec::new();
    let end = pair.now + secs(4);
    while let Some((to, bytes)) = link.next(&mut pair, end, &mut net) {
        let is_sack = to == Side::A && bytes.len() > 12 && bytes[12] == chunk_type::SACK;
        let before = pair.assoc(Side::A).path_stats(PathId(0)).unwrap();
        let fr = pair.assoc(Side::A).stats().fast_retransmits;
        pair.deliver_bytes(to, bytes);
        if to == Side::Z {
            pair.read_all(Side::Z);
        } else if is_sack {
            steps.push(SackStep {
                at: pair.now - start,
                before,
                after: pair.assoc(Side::A).path_stats(PathId(0)).unwrap(),
                fast_retransmit: pair.assoc(Side::A).stats().fast_retransmits > fr,
            });
        }
    }
    let st = pair.assoc(Side::A).stats();
    assert_eq!(st.fast_retransmits, 1, "{st:?}");
    assert_eq!(st.timer_retransmit_events, 0, "{st:?}");
    let fr = steps.iter().position(|s| s.fast_retransmit).unwrap();

    // Slow start: cwnd grows only when the window was fully used, by at most one MTU and
    // at most the bytes acknowledged per SACK.
    for s in &steps[..fr] {
        let (b, a) = (s.before, s.after);
        assert!(b.cwnd <= b.ssthresh, "slow start: {s:?}");
        assert!(a.cwnd >= b.cwnd, "{s:?}");
        let growth = a.cwnd - b.cwnd;
        let acked = b.bytes_in_flight - a.bytes_in_flight;
        assert!(growth <= MTU, "at most one MTU per SACK: {s:?}");
        assert!(growth <= acked, "at most the bytes acknowledged: {s:?}");
        if b.bytes_in_flight + MTU <= b.cwnd {
            assert_eq!(growth, 0, "window not fully used: {s:?}");
        }
    }
    let peak = steps[fr].before.cwnd;
    assert!(peak >= 10 * initial.cwnd, "slow start grew cwnd to {peak}");

    // Fast retransmit: ssthresh = max(cwnd/2, 4·MTU), cwnd = ssthresh.
    let s = steps[fr];
    assert_eq!(s.after.ssthresh, (peak / 2).max(4 * MTU), "{s:?}");
    assert_eq!(s.after.cwnd, s.after.ssthresh, "{s:?}");
    let ssthresh = s.after.ssthresh;

    // Afterwards: no more reductions, and in congestion avoidance (cwnd > ssthresh) cwnd
    // grows by exactly one MTU at a time, at most once per RTT (> 100 ms here).
    let mut increases = Vec::new();
    for s in &steps[fr + 1..] {
        assert_eq!(s.after.ssthresh, ssthresh, "{s:?}");
        assert!(s.after.cwnd >= s.before.cwnd, "{s:?}");
        let growth = s.after.cwnd - s.before.cwnd;
        assert!(growth <= MTU, "{s:?}");
        if s.before.cwnd > s.before.ssthresh && growth > 0 {
            assert_eq!(growth, MTU, "{s:?}");
            increases.push(s.at);
        }
    }
    assert!(
        increases.len() >= 5,
        "congestion avoidance ran: {increases:?}"
    );
    for w in increases.windows(2) {
        assert!(
            w[1] - w[0] >= ms(95),
            "one MTU per RTT at most: {increases:?}"
        );
    }
}

// ------------------------------------------------------------------------------ 6. zero window

/// What A saw while Z's window was closed: for each SACK, its a_rwnd; for each burst A
/// sent, the new TSNs in it and A's flight before it.
struct WindowWatch {
    /// The a_rwnd of the last SACK A received.
    last_a_rwnd: u32,
    /// A's bytes in flight after the last packet it received.
    flight: usize,
    /// Highest relative TSN A has sent.
    highest: Option<u32>,
    /// Times A sent a new TSN while the last a_rwnd was 0.
    probes: Vec<Duration>,
    /// When A first learned the window was 0 with nothing in flight.
    closed_idle: Option<Duration>,
    saw_zero: bool,
}

impl WindowWatch {
    fn new() -> Self {
        Self {
            last_a_rwnd: u32::MAX,
            flight: 0,
            highest: None,
            probes: Vec::new(),
            closed_idle: None,
            saw_zero: false,
        }
    }

    /// Checks what A sent since `from` in the log: with the window closed, a new TSN only
    /// when nothing was in flight, and one at a time (RFC 9260 §6.1 A).
    fn check_sends(&mut self, pair: &Pair, from: usize, base: u32) {
        let mut new = Vec::new();
        for (t, s) in &pair.log[from..] {
            for tsn in rel_tsns(s, base) {
                if self.highest.is_none_or(|h| tsn > h) {
                    self.highest = Some(tsn);
                    new.push((*t, tsn));
                }
            }
        }
        if self.last_a_rwnd == 0 && !new.is_empty() {
            assert_eq!(new.len(), 1, "one zero-window probe at a time: {new:?}");
            assert_eq!(
                self.flight, 0,
                "a probe only with nothing in flight: {new:?}"
            );
            self.probes.push(new[0].0);
        }
    }

    /// Notes a packet A received.
    fn on_received(&mut self, pair: &Pair, link: &Link, bytes: &Bytes) {
        let sent = Sent {
            from: Side::Z,
            bytes: bytes.clone(),
        };
        if let Some(s) = sacks(&sent).last() {
            self.last_a_rwnd = s.a_rwnd;
        }
        self.flight = pair.assoc(Side::A).bytes_in_flight();
        if self.last_a_rwnd == 0 {
            self.saw_zero = true;
            if self.flight == 0 && self.closed_idle.is_none() {
                self.closed_idle = Some(link.rel(pair.now));
            }
        }
    }
}

/// Runs A and Z over `link` for `d`, Z not reading, watching the window rules; returns the
/// most bytes Z held.
fn run_unread(
    pair: &mut Pair,
    link: &mut Link,
    watch: &mut WindowWatch,
    d: Duration,
    base: u32,
) -> u64 {
    let end = pair.now + d;
    let mut held = 0;
    loop {
        let from = pair.log.len();
        let next = link.next(pair, end, &mut perfect);
        watch.check_sends(pair, from, base);
        let Some((to, bytes)) = next else { break };
        pair.deliver_bytes(to, bytes.clone());
        if to == Side::A {
            watch.on_received(pair, link, &bytes);
        }
        held = held.max(pair.assoc(Side::Z).stats().data_bytes_received);
    }
    held
}

/// A zero-window config for Z: a 64 KiB window.
fn small_window() -> EndpointConfig {
    config_with(16 * 1024, |a| a.receive_window = 64 * 1024)
}

/// Z's reader stops: its window closes, A stops at it and keeps at most one zero-window
/// probe outstanding (RFC 9260 §6.1 A); Z holds no more than its window plus headroom.
/// Then Z reads, its window update reopens the window, and the transfer completes.
#[test]
fn zero_window_stops_the_sender_until_the_reader_reads() {
    let mut pair = Pair::established_with(data_config(1 << 20), small_window());
    let base = base_tsn(&pair);
    let msgs = stream0(150, 1000);
    send_all(&mut pair, &msgs);
    let mut link = Link::new(&pair, None, ms(10));
    let mut watch = WindowWatch::new();
    // A -> DATA ... -> Z   until Z -> SACK(a_rwnd 0) -> A
    // A -> DATA(one probe) -> Z, only with nothing in flight
    let held = run_unread(&mut pair, &mut link, &mut watch, secs(20), base);
    assert!(watch.saw_zero, "the window closed");
    assert!(!watch.probes.is_empty(), "zero-window probes went out");
    assert_eq!(pair.assoc(Side::A).peer_rwnd(), 0);
    assert!(
        pair.assoc(Side::A).total_buffered() > 0,
        "A is stalled, not dropping"
    );
    assert!(held <= 64 * 1024 + 4 * MTU as u64, "Z held {held} bytes");
    assert_eq!(pair.state(Side::A), Some(State::Established));
    // Z reads: window update SACKs reopen the window; everything arrives, in order.
    let mut got = pair.read_all(Side::Z);
    got.extend(run_link(
        &mut pair,
        &mut link,
        150 - got.len(),
        secs(60),
        &mut perfect,
    ));
    check_delivery(&msgs, &got);
    link.settle(&mut pair, secs(1));
    assert_eq!(pair.assoc(Side::A).bytes_in_flight(), 0);
    assert_eq!(pair.assoc(Side::A).total_buffered(), 0);
}

/// The endpoint's own `send` and `read_message`, the short way an I/O driver takes, carry
/// messages like the association's, and a read that reopens a closed window has its window
/// update (RFC 9260 §6.2) sent at once; a send on an association that is gone is refused.
#[test]
fn endpoint_send_and_read_carry_messages_and_the_window_update() {
    let mut pair = Pair::established_with(data_config(1 << 20), small_window());
    let base = base_tsn(&pair);
    let (a, z) = (pair.handle(Side::A), pair.handle(Side::Z));
    let msgs = stream0(150, 1000);
    let now = pair.now;
    let opts = SendOptions {
        ppid: Ppid(50),
        ..SendOptions::default()
    };
    for (stream, p, _) in &msgs {
        pair.a
            .send(now, a, StreamId(*stream), p.clone(), &opts)
            .expect("send");
    }
    let mut link = Link::new(&pair, None, ms(10));
    let mut watch = WindowWatch::new();
    run_unread(&mut pair, &mut link, &mut watch, secs(20), base);
    assert!(watch.saw_zero, "the window closed");
    let mut got = Vec::new();
    while let Some(m) = pair.z.read_message(z) {
        got.push(m);
    }
    assert!(!got.is_empty());
    let update = pair.transmit(Side::Z).iter().find_map(|s| {
        find(s, |c| {
            matches!(c, Chunk::Sack(s) if s.a_rwnd > 0).then_some(())
        })
    });
    assert!(update.is_some(), "the read sent a window update");
    // The rest flows, read the same way.
    let end = pair.now + secs(60);
    while got.len() < msgs.len() {
        let Some((to, bytes)) = link.next(&mut pair, end, &mut perfect) else {
            break;
        };
        pair.deliver_bytes(to, bytes);
        while let Some(m) = pair.z.read_message(z) {
            got.push(m);
        }
    }
    check_delivery(&msgs, &got);
    let gone = AssociationHandle(u64::MAX);
    assert_eq!(
        pair.a.send(
            now,
            gone,
            StreamId(0),
            payload(0, 0, 10),
            &SendOptions::default()
        ),
        Err(SendError::NotEstablished)
    );
    assert!(pair.a.read_message(gone).is_none());
}

/// RFC 9260 §6.1 A: "The sender SHOULD send the first zero window probe after 1 RTO when
/// it detects that the receiver has closed its window and SHOULD increase the probe
/// interval exponentially afterwards."
#[test]
fn zero_window_probes_wait_an_rto_and_back_off() {
    // Heartbeats off: a HEARTBEAT ACK's RTT sample legitimately recomputes the backed-off
    // RTO (RFC 9260 §6.3.1 C3, §8.3), which would restart the probes' backoff mid-test.
    let no_heartbeats = |c: EndpointConfig| EndpointConfig {
        association: AssociationConfig {
            heartbeat_interval: None,
            ..c.association
        },
        ..c
    };
    let mut pair = Pair::established_with(
        no_heartbeats(data_config(1 << 20)),
        no_heartbeats(small_window()),
    );
    let base = base_tsn(&pair);
    send_all(&mut pair, &stream0(150, 1000));
    let mut link = Link::new(&pair, None, ms(10));
    let mut watch = WindowWatch::new();
    run_unread(&mut pair, &mut link, &mut watch, secs(60), base);
    let rto = secs(1);
    let closed = watch
        .closed_idle
        .expect("the window closed with nothing in flight");
    // Every DATA packet A sent after that: probes and their retransmissions.
    let probes: Vec<Duration> = data_log(&pair)
        .iter()
        .map(|(t, _, _)| *t)
        .filter(|t| *t >= closed)
        .collect();
    assert!(probes.len() >= 3, "{probes:?}");
    assert!(
        probes[0] - closed >= rto,
        "first probe after one RTO: closed at {closed:?}, {probes:?}"
    );
    for w in probes.windows(3) {
        assert!(
            w[2] - w[1] >= (w[1] - w[0]) * 2 || w[2] - w[1] >= secs(60),
            "exponential: {probes:?}"
        );
    }
}

/// RFC 9260 §6.1 A: "If the sender continues to receive SACKs from the peer while doing
/// zero window probing, the unacknowledged window probes SHOULD NOT increment the error
/// counter for the association or any destination transport address." A reader that
/// pauses for ten minutes (no heartbeats to help) must not make the peer "unreachable".
#[test]
fn a_long_zero_window_does_not_count_as_peer_failure() {
    let no_hb = |mut c: EndpointConfig| {
        c.association.heartbeat_interval = None;
        c
    };
    let mut pair = Pair::established_with(no_hb(data_config(1 << 20)), no_hb(small_window()));
    let base = base_tsn(&pair);
    let msgs = stream0(150, 1000);
    send_all(&mut pair, &msgs);
    let mut link = Link::new(&pair, None, ms(10));
    let mut watch = WindowWatch::new();
    run_unread(&mut pair, &mut link, &mut watch, secs(600), base);
    assert!(watch.saw_zero);
    assert_eq!(
        pair.state(Side::A),
        Some(State::Established),
        "{:?}",
        pair.events(Side::A)
    );
    let mut got = pair.read_all(Side::Z);
    got.extend(run_link(
        &mut pair,
        &mut link,
        150 - got.len(),
        secs(120),
        &mut perfect,
    ));
    check_delivery(&msgs, &got);
}

// ------------------------------------------------------------------------------ 7. slow reader

/// A fast sender and a reader that takes one message per 100 ms: 50 MiB in 256 KiB
/// messages. Z never holds more than its window plus a few packets of headroom, and every
/// message arrives intact.
#[test]
fn slow_reader_and_fast_sender_fifty_mib() {
    const SIZE: usize = 256 * 1024;
    const COUNT: u32 = 200;
    let mut pair = Pair::established_with(data_config(SIZE), data_config(SIZE));
    let window = pair.z.config().association.receive_window as u64;
    let msgs: Vec<(u16, Bytes, bool)> = (0..COUNT)
        .map(|i| (0u16, payload(0, i, SIZE), false))
        .collect();
    send_all(&mut pair, &msgs);
    let mut got: Vec<Message> = Vec::new();
    let mut read_bytes = 0u64;
    let mut most_held = 0u64;
    let mut step = 0u32;
    while got.len() < COUNT as usize && step < 10 * 60 * 100 {
        pair.run(ms(10), &mut perfect);
        step += 1;
        // Held: accepted and not yet read (partial messages, complete ones waiting).
        let held = pair.assoc(Side::Z).stats().data_bytes_received - read_bytes;
        most_held = most_held.max(held);
        assert!(held <= window + 4 * MTU as u64, "Z holds {held} bytes");
        let ready = pair.assoc(Side::Z).readable_messages() as u64;
        assert!(
            ready * SIZE as u64 <= window + 4 * MTU as u64,
            "{ready} ready"
        );
        if step.is_multiple_of(10) {
            if let Some(m) = pair.assoc_mut(Side::Z).read_message() {
                read_bytes += m.payload.len() as u64;
                got.push(m);
            }
        }
    }
    check_delivery(&msgs, &got);
    assert!(most_held > window / 2, "the window was used: {most_held}");
    // One message per 100 ms: the reader, not the network, set the pace.
    assert!(step >= 10 * (COUNT - 5), "{step} steps");
    assert_eq!(pair.assoc(Side::A).stats().retransmissions, 0);
}

// ------------------------------------------------------------------------------ 8. hostile peers

/// A DATA chunk as a peer might build it: the I bit set, so Z answers at once.
fn hand_data(tsn: u32, stream: u16, ssn: u16, b: bool, e: bool, payload: Bytes) -> Chunk {
    Chunk::Data(Data {
        tsn: Tsn(tsn),
        stream_id: stream,
        ssn: Ssn(ssn),
        ppid: 0,
        unordered: false,
        beginning: b,
        ending: e,
        immediate_sack: true,
        payload,
    })
}

/// Delivers `chunks` to Z in one packet as if from A, and returns Z's answer.
fn to_z(pair: &mut Pair, chunks: &[Chunk]) -> Vec<Chunk> {
    let tag = pair.assoc(Side::Z).local_tag();
    pair.deliver_bytes(Side::Z, packet(tag, chunks));
    pair.transmit(Side::Z)
        .iter()
        .flat_map(Sent::chunks)
        .collect()
}

fn last_sack(chunks: &[Chunk]) -> Sack {
    chunks
        .iter()
        .rev()
        .find_map(|c| match c {
            Chunk::Sack(s) => Some(s.clone()),
            _ => None,
        })
        .expect("a SACK")
}

/// Z with a 16 KiB window (8 KiB messages) and 16 inbound streams; the TSN it expects next.
fn hostile_setup() -> (Pair, u32) {
    let z = config_with(8 * 1024, |a| {
        a.receive_window = 16 * 1024;
        a.inbound_streams = 16;
    });
    let pair = Pair::established_with(data_config(1 << 20), z);
    let next = pair.assoc(Side::Z).negotiated().unwrap().peer_initial_tsn;
    (pair, next)
}

/// A peer ignoring Z's window: what does not fit is dropped and not acknowledged
/// (RFC 9260 §6.2), and Z never holds more than its window plus the headroom kept for the
/// chunk that fills the cumulative TSN.
#[test]
fn data_beyond_the_window_is_dropped_and_not_acknowledged() {
    let (mut pair, t) = hostile_setup();
    let window = 16 * 1024u64;
    // A -> DATA(t+1 .. t+30, 1000 bytes each) -> Z     t itself missing: all out of order
    let mut sack = None;
    for i in 1..=30u32 {
        let out = to_z(
            &mut pair,
            &[hand_data(
                t + i,
                0,
                i as u16,
                true,
                true,
                payload(0, i, 1000),
            )],
        );
        sack = Some(last_sack(&out));
    }
    // Z -> SACK(cum t-1, gap t+1..t+17, a_rwnd 0) -> A: 16 fit; the 17th arrives while 384
    // bytes of window are still open and is taken (§6.2 only requires dropping once the
    // window is zero — taking one overshooting chunk is what lets a zero-window probe make
    // progress, and the headroom bounds it); the window is then closed and 13 are dropped.
    let sack = sack.unwrap();
    let z = pair.assoc(Side::Z).stats();
    assert_eq!(z.data_dropped, 13, "{z:?}");
    assert_eq!(sack.cumulative_tsn_ack, Tsn(t.wrapping_sub(1)));
    assert_eq!(sack.gap_blocks.len(), 1);
    assert_eq!((sack.gap_blocks[0].start, sack.gap_blocks[0].end), (2, 18));
    assert_eq!(sack.a_rwnd, 0);
    // A -> DATA(t) -> Z: fills the cumulative TSN (the headroom has room for it).
    let out = to_z(
        &mut pair,
        &[hand_data(t, 0, 0, true, true, payload(0, 0, 1000))],
    );
    let sack = last_sack(&out);
    assert_eq!(sack.cumulative_tsn_ack, Tsn(t + 17));
    assert_eq!(sack.a_rwnd, 0);
    assert_eq!(pair.assoc(Side::Z).readable_messages(), 18);
    // A -> DATA(t+17 ..) -> Z, on and on: whatever Z takes stays within the bound.
    for i in 17..=40u32 {
        let out = to_z(
            &mut pair,
            &[hand_data(
                t + i,
                0,
                i as u16,
                true,
                true,
                payload(0, i, 1000),
            )],
        );
        let sack = last_sack(&out);
        let held = pair.assoc(Side::Z).stats().data_bytes_received;
        assert!(held <= window + 4 * MTU as u64, "Z holds {held}");
        // Never an acknowledgement for a chunk Z did not keep.
        let acked = sack.cumulative_tsn_ack.0.wrapping_sub(t) + 1;
        assert_eq!(u64::from(acked) * 1000, held, "{sack:?}");
    }
    let z = pair.assoc(Side::Z).stats();
    assert!(z.data_dropped > 14, "{z:?}");
    assert_eq!(pair.state(Side::Z), Some(State::Established));
}

/// RFC 9260 §6.2: "When the receiver's advertised window is 0, the receiver MUST drop any
/// new incoming DATA chunk with a TSN larger than the largest TSN received so far."
#[test]
fn zero_window_receiver_drops_data_beyond_the_largest_tsn() {
    let (mut pair, t) = hostile_setup();
    // A -> DATA(t .. t+16, 1000 bytes each) -> Z: the window (16 KiB) is full.
    let mut sack = None;
    for i in 0..=16u32 {
        let out = to_z(
            &mut pair,
            &[hand_data(
                t + i,
                0,
                i as u16,
                true,
                true,
                payload(0, i, 1000),
            )],
        );
        sack = Some(last_sack(&out));
    }
    let sack = sack.unwrap();
    assert_eq!(sack.a_rwnd, 0, "{sack:?}");
    assert_eq!(sack.cumulative_tsn_ack, Tsn(t + 16));
    let dropped = pair.assoc(Side::Z).stats().data_dropped;
    // A -> DATA(t+17) -> Z: beyond the largest TSN, into a zero window: dropped.
    let out = to_z(
        &mut pair,
        &[hand_data(t + 17, 0, 17, true, true, payload(0, 17, 1000))],
    );
    let sack = last_sack(&out);
    assert_eq!(
        sack.cumulative_tsn_ack,
        Tsn(t + 16),
        "not acknowledged: {sack:?}"
    );
    assert_eq!(pair.assoc(Side::Z).stats().data_dropped, dropped + 1);
}

/// A message larger than max_message_size: Z aborts with a Protocol Violation cause.
#[test]
fn message_larger_than_the_maximum_is_a_protocol_violation() {
    let (mut pair, t) = hostile_setup();
    // A -> DATA(t .. t+8: B, -, -, ..., 1000 bytes each, no E) -> Z: 9000 > 8192 bytes
    let mut out = Vec::new();
    for i in 0..9u32 {
        out = to_z(
            &mut pair,
            &[hand_data(t + i, 0, 0, i == 0, false, payload(0, i, 1000))],
        );
        if pair.state(Side::Z) == Some(State::Closed) {
            break;
        }
    }
    // Z -> ABORT(Protocol Violation) -> A
    let abort = out
        .iter()
        .find_map(|c| match c {
            Chunk::Abort(a) => Some(a.clone()),
            _ => None,
        })
        .expect("ABORT");
    assert!(
        abort
            .causes
            .iter()
            .any(|c| matches!(c, ErrorCause::ProtocolViolation(_))),
        "{abort:?}"
    );
    assert_eq!(pair.state(Side::Z), Some(State::Closed));
    assert_eq!(pair.assoc(Side::Z).readable_messages(), 0);
    let events = pair.events(Side::Z);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Closed(CloseReason::ProtocolViolation(_)))),
        "{events:?}"
    );
}

/// RFC 9260 §6.2: "If an endpoint receives a DATA chunk with no user data (i.e., the Length
/// field is set to 16), it MUST send an ABORT with an error cause set to 'No User Data'."
#[test]
fn empty_data_chunk_is_aborted_with_no_user_data() {
    let (mut pair, t) = hostile_setup();
    // A -> DATA(t, 0 bytes) -> Z
    // Z -> ABORT(No User Data: t) -> A
    let out = to_z(&mut pair, &[hand_data(t, 0, 0, true, true, Bytes::new())]);
    let abort = out
        .iter()
        .find_map(|c| match c {
            Chunk::Abort(a) => Some(a.clone()),
            _ => None,
        })
        .expect("ABORT");
    assert!(
        abort
            .causes
            .iter()
            .any(|c| matches!(c, ErrorCause::NoUserData(n) if n.tsn == Tsn(t))),
        "{abort:?}"
    );
    assert_eq!(pair.state(Side::Z), Some(State::Closed));
}

/// RFC 9260 §6.5: DATA on a stream the peer may not use is acknowledged, reported with an
/// "Invalid Stream Identifier" ERROR, and discarded; the association goes on.
#[test]
fn data_on_an_invalid_stream_is_acknowledged_and_reported() {
    let (mut pair, t) = hostile_setup();
    assert_eq!(
        pair.assoc(Side::Z).negotiated().unwrap().inbound_streams,
        16
    );
    // A -> DATA(t, stream 100) -> Z
    // Z -> SACK(cum t), ERROR(Invalid Stream Identifier 100) -> A
    let out = to_z(
        &mut pair,
        &[hand_data(t, 100, 0, true, true, payload(100, 0, 100))],
    );
    assert_eq!(
        last_sack(&out).cumulative_tsn_ack,
        Tsn(t),
        "acknowledged: {out:?}"
    );
    let reported = out.iter().any(|c| {
        matches!(c, Chunk::Error(e) if e.causes.iter().any(|c| matches!(c,
            ErrorCause::InvalidStreamId(i) if i.stream_id == 100)))
    });
    assert!(reported, "{out:?}");
    assert_eq!(pair.assoc(Side::Z).readable_messages(), 0, "discarded");
    assert_eq!(pair.state(Side::Z), Some(State::Established));
    // A -> DATA(t+1, stream 3) -> Z: delivered as usual.
    let out = to_z(
        &mut pair,
        &[hand_data(t + 1, 3, 0, true, true, payload(3, 1, 100))],
    );
    assert_eq!(last_sack(&out).cumulative_tsn_ack, Tsn(t + 1));
    let m = pair.read_all(Side::Z);
    assert_eq!(m.len(), 1);
    assert_eq!(
        (m[0].stream, &m[0].payload),
        (StreamId(3), &payload(3, 1, 100))
    );
}

// ------------------------------------------------------------------------------ 9. many streams

/// 10,000 messages of 1..3000 bytes on 100 streams, round-robin, over a network losing 1% of
/// all packets (seeded): every message arrives exactly once, each stream in order.
#[test]
fn ten_thousand_messages_on_a_hundred_streams_with_one_percent_loss() {
    let mut pair = Pair::established_with(data_config(1 << 20), data_config(1 << 20));
    let mut rng = ChaCha8Rng::seed_from_u64(0x5eed);
    // Queued stream by stream: only the scheduler interleaves them.
    let msgs: Vec<(u16, Bytes, bool)> = (0..100u16)
        .flat_map(|stream| (0..100u32).map(move |seq| (stream, seq)))
        .map(|(stream, seq)| {
            let len = 1 + rng.next_u32() as usize % 3000;
            (stream, payload(stream, seq, len), false)
        })
        .collect();
    send_all(&mut pair, &msgs);
    let mut loss = ChaCha8Rng::seed_from_u64(42);
    let mut lost = 0;
    let got = run_reading(&mut pair, msgs.len(), ms(50), secs(900), &mut |_, _| {
        if loss.next_u32() % 100 == 0 {
            lost += 1;
            Fate::Drop
        } else {
            Fate::Deliver
        }
    });
    check_delivery(&msgs, &got);
    assert!(lost > 50, "{lost} packets lost");
    // Round robin: the first 100 messages to leave came from 100 different streams.
    let firsts: HashSet<u16> = data_log(&pair)
        .iter()
        .filter(|(_, _, d)| d.beginning)
        .take(100)
        .map(|(_, _, d)| d.stream_id)
        .collect();
    assert_eq!(firsts.len(), 100);
    let st = pair.assoc(Side::A).stats();
    assert!(st.retransmissions > 0, "{st:?}");
}

// ------------------------------------------------------------------------------ 10. shutdown

/// SHUTDOWN with data still queued and in flight, under loss: A sends its SHUTDOWN only
/// once everything is acknowledged (RFC 9260 §9.2), Z has every message before the
/// association closes, and both sides close gracefully.
#[test]
fn shutdown_with_data_outstanding_under_loss_delivers_everything() {
    let mut pair = Pair::established_with(data_config(1 << 20), data_config(1 << 20));
    let base = base_tsn(&pair);
    let msgs: Vec<(u16, Bytes, bool)> = (0..60u32)
        .map(|i| ((i % 3) as u16, payload((i % 3) as u16, i, 2000), false))
        .collect();
    send_all(&mut pair, &msgs);
    let now = pair.now;
    pair.assoc_mut(Side::A).shutdown(now);
    assert_eq!(pair.state(Side::A), Some(State::ShutdownPending));
    assert!(pair
        .assoc_mut(Side::A)
        .send(
            now,
            StreamId(0),
            payload(0, 99, 10),
            &SendOptions::default()
        )
        .is_err());
    // A -> DATA(every 7th tsn) -> (lost) Z, the first time
    // A -> SHUTDOWN -> (lost) Z, the first time
    // Z -> SHUTDOWN ACK -> (lost) A, the first time
    let mut lossy = lose_first(base, |t| t % 7 == 3);
    let mut net = |s: &Sent, n: usize| {
        if (s.is(chunk_type::SHUTDOWN) || s.is(chunk_type::SHUTDOWN_ACK)) && n == 1 {
            return Fate::Drop;
        }
        lossy(s, n)
    };
    let mut got = Vec::new();
    let mut closed = [false, false];
    for _ in 0..6000 {
        pair.run(ms(10), &mut net);
        if !closed[1] {
            got.extend(pair.read_all(Side::Z));
        }
        for (i, side) in [Side::A, Side::Z].into_iter().enumerate() {
            for e in pair.events(side) {
                if let Event::Closed(r) = e {
                    assert_eq!(r, CloseReason::Shutdown, "{side:?}");
                    if side == Side::Z {
                        assert_eq!(got.len(), msgs.len(), "everything read before Z closed");
                    }
                    closed[i] = true;
                }
            }
        }
        if closed == [true, true] {
            break;
        }
    }
    assert_eq!(closed, [true, true], "{}", pair.trace());
    check_delivery(&msgs, &got);
    // The first SHUTDOWN left after the last DATA, once Z had acknowledged every TSN.
    let shutdown = pair
        .log
        .iter()
        .find(|(_, s)| s.from == Side::A && s.is(chunk_type::SHUTDOWN))
        .map(|(t, _)| *t)
        .unwrap();
    let data = data_log(&pair);
    let last_tsn = data.iter().map(|(_, t, _)| *t).max().unwrap();
    assert!(
        data.iter().all(|(t, _, _)| *t <= shutdown),
        "no DATA after SHUTDOWN"
    );
    let all_acked = z_sacks(&pair)
        .iter()
        .find(|(_, s)| s.cumulative_tsn_ack.0.wrapping_sub(base) == last_tsn)
        .map(|(t, _)| *t + pair.delay)
        .unwrap();
    assert!(shutdown >= all_acked, "{}", pair.trace());
    assert!(
        copies_of(&pair, 3).len() >= 2,
        "a loss was repaired during shutdown"
    );
}

/// Sends one message on stream 0 from `side`, now.
fn send_from(pair: &mut Pair, side: Side, len: usize) {
    let now = pair.now;
    pair.assoc_mut(side)
        .send(
            now,
            StreamId(0),
            payload(0, 0, len),
            &SendOptions::default(),
        )
        .unwrap();
}

/// Request and reply: the delayed SACK for each message rides in front of the reply's DATA
/// (RFC 9260 §6.1, after rule D), so an echo exchange sends no SACK packets of its own, and
/// each side's SACKs still acknowledge every TSN the other sent.
#[test]
fn a_reply_carries_the_delayed_sack() {
    let mut pair = Pair::established_with(data_config(1 << 20), data_config(1 << 20));
    for round in 0..10 {
        for side in [Side::A, Side::Z] {
            send_from(&mut pair, side, 100);
            let sent = pair.transmit_one(side);
            let want = if round == 0 && side == Side::A {
                // Nothing of Z's to acknowledge yet.
                vec![chunk_type::DATA]
            } else {
                vec![chunk_type::SACK, chunk_type::DATA]
            };
            assert_eq!(sent.types(), want, "round {round}, {side:?}");
            if let Some(sack) = sacks(&sent).first() {
                // It acknowledges the message just read, the one this DATA answers.
                assert_eq!(sack.cumulative_tsn_ack, last_tsn_sent(&pair, side.other()));
            }
            pair.deliver(&sent);
            assert!(pair.transmit(side.other()).is_empty(), "the SACK waits");
            assert_eq!(pair.read_all(side.other()).len(), 1);
        }
    }
    // With no reply to ride on, the last SACK goes alone when the delayed-SACK timer fires.
    assert!(pair.transmit(Side::A).is_empty());
    pair.advance(ms(200));
    let sent = pair.transmit_one(Side::A);
    assert_eq!(sent.types(), vec![chunk_type::SACK]);
    assert_eq!(
        sacks(&sent)[0].cumulative_tsn_ack,
        last_tsn_sent(&pair, Side::Z)
    );
    // Z acknowledged A's ten messages in its ten replies; A acknowledged nine of Z's replies
    // in its next messages and the tenth alone.
    for side in [Side::A, Side::Z] {
        assert_eq!(pair.assoc(side).stats().sacks_sent, 10, "{side:?}");
    }
}

/// The TSN of the last DATA chunk `side` put on the wire.
fn last_tsn_sent(pair: &Pair, side: Side) -> Tsn {
    pair.log
        .iter()
        .rev()
        .filter(|(_, s)| s.from == side)
        .find_map(|(_, s)| data_chunks(s).last().map(|d| d.tsn))
        .expect("a DATA chunk")
}

/// A pending SACK does not push a packet-sized message into two packets: the message goes
/// whole without it, and the SACK keeps its delayed-SACK timer.
#[test]
fn a_full_packet_goes_without_the_delayed_sack() {
    let mut pair = Pair::established_with(data_config(1 << 20), data_config(1 << 20));
    send_from(&mut pair, Side::A, 100);
    let sent = pair.transmit_one(Side::A);
    pair.deliver(&sent);
    assert!(pair.transmit(Side::Z).is_empty());
    pair.advance(ms(50));
    send_from(&mut pair, Side::Z, FULL);
    let sent = pair.transmit_one(Side::Z);
    assert_eq!(sent.types(), vec![chunk_type::DATA]);
    assert_eq!(data_chunks(&sent)[0].payload.len(), FULL, "one whole chunk");
    // 200 ms after A's DATA arrived, not after Z's packet.
    pair.advance(ms(149));
    assert!(pair.transmit(Side::Z).is_empty());
    pair.advance(ms(1));
    let sent = pair.transmit_one(Side::Z);
    assert_eq!(sent.types(), vec![chunk_type::SACK]);
    assert_eq!(pair.assoc(Side::Z).stats().sacks_sent, 1);
}

// ------------------------------------------------------------------------------ 11. sending API

/// One step of [`drain_watching`]: an amount of A's before and after it, the SACKs A
/// received during it, and the events A reported after it.
#[derive(Debug)]
struct Step {
    before: usize,
    after: usize,
    sacks: u64,
    events: Vec<Event>,
}

impl Step {
    /// Whether the amount fell from above `threshold` to at or below it in this step.
    fn crosses(&self, threshold: usize) -> bool {
        self.before > threshold && self.after <= threshold
    }
}

/// Runs the pair over a perfect network in 1 ms steps until A has nothing queued or in
/// flight (10 s at most), watching `amount` of A and draining A's events through
/// `Association::poll_event` after every step.
fn drain_watching(pair: &mut Pair, amount: impl Fn(&Association) -> usize) -> Vec<Step> {
    let end = pair.now + secs(10);
    let mut steps = Vec::new();
    loop {
        let a = pair.assoc(Side::A);
        if (a.total_buffered() == 0 && a.bytes_in_flight() == 0) || pair.now >= end {
            return steps;
        }
        let (before, sacks) = (amount(a), a.stats().sacks_received);
        pair.run(ms(1), &mut perfect);
        let events = core::iter::from_fn(|| pair.assoc_mut(Side::A).poll_event()).collect();
        let a = pair.assoc(Side::A);
        steps.push(Step {
            before,
            after: amount(a),
            sacks: a.stats().sacks_received - sacks,
            events,
        });
    }
}

/// Every event of a drain, in order.
fn all_events(steps: &[Step]) -> Vec<Event> {
    steps.iter().flat_map(|s| s.events.clone()).collect()
}

/// The one step of a drain in which the amount crossed `threshold` downwards, which must be
/// one in which SACKs arrived: the first flight (the initial cwnd, RFC 9260 §7.2.1) leaves
/// the amount above it, and only the SACKs that open cwnd let the rest go.
fn crossing(steps: &[Step], threshold: usize) -> &Step {
    let crossing: Vec<&Step> = steps.iter().filter(|s| s.crosses(threshold)).collect();
    assert_eq!(crossing.len(), 1, "{steps:?}");
    assert!(crossing[0].sacks > 0, "{:?}", crossing[0]);
    assert!(steps[0].after > threshold, "the first flight is cwnd-bound");
    crossing[0]
}

/// Two rounds of one drain: A queues `batches` (stream, how many packet-sized messages) and
/// the pair runs until A is idle. Each round, `amount` crosses `low` once, in a step with
/// SACKs, whose events include `event`; the round's events are `want`, in order; Z gets
/// every message.
fn drain_twice(
    pair: &mut Pair,
    batches: &[(u16, u32)],
    amount: impl Fn(&Association) -> usize + Copy,
    low: usize,
    event: &Event,
    want: &[Event],
) {
    let messages: u32 = batches.iter().map(|(_, n)| n).sum();
    for round in 0..2u32 {
        for &(stream, n) in batches {
            send_all(pair, &on_stream(stream, n, FULL));
        }
        let steps = drain_watching(pair, amount);
        let step = crossing(&steps, low);
        assert!(
            step.events.contains(event),
            "round {round}: reported in the step that crossed: {step:?}"
        );
        assert_eq!(all_events(&steps), want, "round {round}");
        settle(pair);
        assert_eq!(pair.read_all(Side::Z).len(), messages as usize);
    }
}

/// A stream's `BufferedAmountLow` fires once per crossing of its threshold (the W3C
/// `bufferedAmountLowThreshold`: "When the bufferedAmount decreases from above this
/// threshold to equal or below it, the bufferedamountlow event fires"), in the step where
/// SACKs let the stream drain past it, and not again on the way down to zero. A stream that
/// never holds more than its threshold reports nothing, and the total, with no threshold
/// set, reports nothing either.
#[test]
fn stream_buffered_amount_low_fires_once_per_crossing_as_sacks_drain_it() {
    const LOW: usize = 8 * FULL;
    let mut pair = Pair::established_with(data_config(1 << 20), data_config(1 << 20));
    let a = pair.assoc_mut(Side::A);
    a.set_buffered_amount_low_threshold(StreamId(0), LOW);
    a.set_buffered_amount_low_threshold(StreamId(1), 64 * 1024);
    let low = Event::BufferedAmountLow(StreamId(0));
    drain_twice(
        &mut pair,
        &[(0, 30), (1, 3)],
        |a| a.buffered_amount(StreamId(0)),
        LOW,
        &low,
        std::slice::from_ref(&low),
    );
}

/// `TotalBufferedAmountLow` follows the same rule over the sum of all streams: once per
/// crossing of its threshold, in the step where SACKs let the total drain past it. Each
/// stream, at its default threshold 0, reports once as it empties, stream 0 first (round
/// robin gives stream 1 the last message).
#[test]
fn total_buffered_amount_low_fires_once_per_crossing_over_all_streams() {
    const LOW: usize = 10 * FULL;
    let mut pair = Pair::established_with(data_config(1 << 20), data_config(1 << 20));
    pair.assoc_mut(Side::A)
        .set_total_buffered_amount_low_threshold(LOW);
    drain_twice(
        &mut pair,
        &[(0, 12), (1, 12)],
        Association::total_buffered,
        LOW,
        &Event::TotalBufferedAmountLow,
        &[
            Event::TotalBufferedAmountLow,
            Event::BufferedAmountLow(StreamId(0)),
            Event::BufferedAmountLow(StreamId(1)),
        ],
    );
}

/// Thresholds above all that is ever queued are never crossed: the data drains and no
/// buffered-amount event is reported, for the stream or for the total.
#[test]
fn no_buffered_amount_low_event_when_no_threshold_is_crossed() {
    const HIGH: usize = 64 * 1024;
    let mut pair = Pair::established_with(data_config(1 << 20), data_config(1 << 20));
    let a = pair.assoc_mut(Side::A);
    a.set_buffered_amount_low_threshold(StreamId(0), HIGH);
    a.set_total_buffered_amount_low_threshold(HIGH);
    send_all(&mut pair, &stream0(20, FULL));
    let steps = drain_watching(&mut pair, Association::total_buffered);
    assert!(steps.first().is_some_and(|s| s.before == 20 * FULL));
    assert_eq!(all_events(&steps), []);
    settle(&mut pair);
    assert_eq!(pair.read_all(Side::Z).len(), 20);
    assert_eq!(pair.assoc_mut(Side::A).poll_event(), None);
}

/// RFC 9260 §6.10: "When bundling control chunks with DATA chunks, an endpoint MUST place
/// control chunks first in the outbound SCTP packet." A answers Z's HEARTBEAT while it has
/// a SACK pending and a message to send: one packet carries the SACK, the HEARTBEAT ACK
/// and the DATA, in that order, and Z takes all three from it.
#[test]
fn a_heartbeat_ack_and_a_sack_ride_in_front_of_data() {
    // Only Z sends heartbeats, so A's packets carry nothing of its own but the answers.
    let quiet = config_with(1 << 20, |c| c.heartbeat_interval = None);
    let mut pair = Pair::established_with(quiet, data_config(1 << 20));
    // Z's heartbeat timer (RFC 9260 §8.3: HB.interval plus jitter around RTO).
    let mut heartbeat = Vec::new();
    for _ in 0..60 {
        pair.advance(secs(1));
        heartbeat = pair.transmit(Side::Z);
        if !heartbeat.is_empty() {
            break;
        }
    }
    assert_eq!(heartbeat.len(), 1, "{}", pair.trace());
    let heartbeat = heartbeat.remove(0);
    assert_eq!(heartbeat.types(), [chunk_type::HEARTBEAT]);
    // Z -> HEARTBEAT -> A, then Z -> DATA -> A: A's SACK for it waits (delayed SACK).
    send_from(&mut pair, Side::Z, 100);
    let z_data = pair.transmit_one(Side::Z);
    pair.deliver(&heartbeat);
    pair.deliver(&z_data);
    // A's application sends before A transmits.
    send_from(&mut pair, Side::A, 200);
    let sent = pair.transmit_one(Side::A);
    assert_eq!(
        sent.types(),
        [
            chunk_type::SACK,
            chunk_type::HEARTBEAT_ACK,
            chunk_type::DATA
        ],
        "{}",
        pair.trace()
    );
    let info = |c: &Chunk| match c {
        Chunk::Heartbeat(h) | Chunk::HeartbeatAck(h) => Some(h.info.clone()),
        _ => None,
    };
    assert_eq!(find(&sent, info), find(&heartbeat, info), "the info echoed");
    assert_eq!(
        sacks(&sent)[0].cumulative_tsn_ack,
        last_tsn_sent(&pair, Side::Z)
    );
    // A -> SACK + HEARTBEAT ACK + DATA -> Z: all three taken.
    let heartbeat_acks = pair.assoc(Side::Z).stats().heartbeat_acks;
    pair.deliver(&sent);
    let z = pair.assoc(Side::Z);
    assert_eq!(z.stats().heartbeat_acks, heartbeat_acks + 1);
    assert_eq!(z.bytes_in_flight(), 0, "the SACK acknowledged Z's DATA");
    let got = pair.read_all(Side::Z);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].payload, payload(0, 0, 200));
    assert_eq!(pair.read_all(Side::A).len(), 1);
}

/// `send` refuses a message above `max_message_size` with the typed error naming both sizes,
/// and the refusal leaves nothing behind: nothing queued, counted, sent or reported. A
/// message of exactly the maximum is taken and arrives whole.
#[test]
fn send_refuses_a_message_above_the_maximum_size() {
    const MAX: usize = 4000;
    let mut pair = Pair::established_with(data_config(MAX), data_config(MAX));
    let (now, before) = (pair.now, pair.assoc(Side::A).stats());
    let refused = pair.assoc_mut(Side::A).send(
        now,
        StreamId(0),
        payload(0, 0, MAX + 1),
        &SendOptions::default(),
    );
    assert_eq!(
        refused,
        Err(SendError::TooLarge {
            size: MAX + 1,
            max: MAX
        })
    );
    let a = pair.assoc(Side::A);
    assert_eq!((a.total_buffered(), a.buffered_amount(StreamId(0))), (0, 0));
    assert_eq!(a.stats(), before);
    assert!(pair.transmit(Side::A).is_empty());
    assert_eq!(pair.assoc_mut(Side::A).poll_event(), None);
    send_all(&mut pair, &stream0(1, MAX));
    assert_eq!(pair.assoc(Side::A).total_buffered(), MAX);
    settle(&mut pair);
    let got = pair.read_all(Side::Z);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].payload, payload(0, 0, MAX));
}

/// Every counter of a lossless two-way exchange, exactly: messages and user bytes from the
/// scenario, packets, bytes, DATA chunks and SACKs from what the harness moved.
#[test]
fn counters_match_the_scenario_and_the_wire() {
    let mut pair = Pair::established_with(data_config(1 << 20), data_config(1 << 20));
    let base = [Side::A, Side::Z].map(|side| pair.assoc(side).stats());
    let logged = pair.log.len();
    // A sends five messages, one fragmented; Z answers with two.
    let sizes = [
        (Side::A, vec![1usize, 100, FULL, 3000, 20_000]),
        (Side::Z, vec![50, 2000]),
    ];
    for (side, lens) in &sizes {
        for &len in lens {
            send_from(&mut pair, *side, len);
        }
    }
    settle(&mut pair);
    let read = [Side::A, Side::Z].map(|side| pair.read_all(side).len());
    assert_eq!(read, [2, 5]);
    let wire: Vec<&Sent> = pair.log[logged..].iter().map(|(_, s)| s).collect();
    // (packets, bytes, DATA chunks, SACK chunks) a side put on the wire.
    let carried = |side: Side| {
        let out: Vec<&&Sent> = wire.iter().filter(|s| s.from == side).collect();
        let count = |t: u8| -> u64 {
            out.iter()
                .map(|s| s.types().iter().filter(|&&c| c == t).count() as u64)
                .sum()
        };
        (
            out.len() as u64,
            out.iter().map(|s| s.bytes.len() as u64).sum::<u64>(),
            count(chunk_type::DATA),
            count(chunk_type::SACK),
        )
    };
    for (i, (side, lens)) in sizes.iter().enumerate() {
        let peer = &sizes[1 - i].1;
        let (b, st) = (base[i], pair.assoc(*side).stats());
        let (packets, bytes, data, sack) = carried(*side);
        let (in_packets, in_bytes, in_data, in_sack) = carried(side.other());
        let user = |l: &[usize]| l.iter().sum::<usize>() as u64;
        // A counter's name and its change over the exchange.
        macro_rules! delta {
            ($counter:ident) => {
                (stringify!($counter), st.$counter - b.$counter)
            };
        }
        let counters = [
            (delta!(messages_sent), lens.len() as u64),
            (delta!(messages_received), peer.len() as u64),
            (delta!(data_bytes_sent), user(lens)),
            (delta!(data_bytes_received), user(peer)),
            (delta!(packets_sent), packets),
            (delta!(packets_received), in_packets),
            (delta!(bytes_sent), bytes),
            (delta!(bytes_received), in_bytes),
            (delta!(data_chunks_sent), data),
            (delta!(data_chunks_received), in_data),
            (delta!(sacks_sent), sack),
            (delta!(sacks_received), in_sack),
        ];
        for ((name, got), want) in counters {
            assert_eq!(got, want, "{side:?} {name}");
        }
        assert_eq!(
            (
                st.retransmissions,
                st.packets_dropped,
                st.duplicate_tsns_received
            ),
            (0, 0, 0),
            "{side:?}"
        );
    }
    // 20,000 bytes take at least 18 chunks at 1172 bytes each.
    assert!(carried(Side::A).2 >= 1 + 1 + 1 + 3 + 18);
}
