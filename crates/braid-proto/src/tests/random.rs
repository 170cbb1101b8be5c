//! A million random datagrams, seeded and deterministic, thrown at an endpoint: pure noise,
//! and packets built to reach the state machine (right ports, the right or a random
//! verification tag, random chunk types, flags and lengths, a valid CRC32c).
//!
//! What must hold: nothing panics; no association appears without a valid COOKIE ECHO; the
//! replies waiting in the endpoint never exceed `max_pending_replies` (nor an association's
//! [`MAX_CONTROL_QUEUE`]) while a driver drains them now and then; and afterwards the
//! endpoint still works.

use core::time::Duration;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use braid_wire::checksum::write_crc32c;
use braid_wire::chunk::chunk_type as t;
use braid_wire::{Bytes, ChecksumPolicy, Chunk, Heartbeat, Init, Packet, Tsn};
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

use crate::harness::{packet_ports, perfect, Pair, Side, PORT};
use crate::{CloseReason, Endpoint, EndpointConfig, Event, State, MAX_CONTROL_QUEUE};

const DATAGRAMS: u32 = 1_000_000;
/// How many datagrams arrive between two drains of the output.
const DRAIN_EVERY: u32 = 256;
/// A small reply bound, so the flood reaches it.
const MAX_PENDING: usize = 64;

/// Chunk types worth aiming at: everything RFC 9260 and the extensions define, and a few
/// unassigned ones with each pair of upper bits.
const TYPES: &[u8] = &[
    t::DATA,
    t::INIT,
    t::INIT_ACK,
    t::SACK,
    t::HEARTBEAT,
    t::HEARTBEAT_ACK,
    t::ABORT,
    t::SHUTDOWN,
    t::SHUTDOWN_ACK,
    t::ERROR,
    t::COOKIE_ECHO,
    t::COOKIE_ACK,
    t::ECNE,
    t::CWR,
    t::SHUTDOWN_COMPLETE,
    t::AUTH,
    t::I_DATA,
    t::ASCONF_ACK,
    t::RE_CONFIG,
    t::PAD,
    192, // FORWARD TSN
    193, // ASCONF
    194, // I-FORWARD TSN
    0x3f,
    0x7f,
    0xbf,
    0xff,
];

/// Chunks a peer that knows the tag may legitimately use to end the association.
// DATA and I-DATA too: from the real peer under the right tag, an empty or contradictory data
// chunk is a protocol violation whose RFC answer is an ABORT (RFC 9260 §6.2 "No User Data";
// RFC 8260 §2.2), which a random chunk easily is.
const ENDING: &[u8] = &[t::ABORT, t::SHUTDOWN, t::SHUTDOWN_ACK, t::DATA, t::I_DATA];

/// Random bytes to copy from: datagrams and chunk values are slices of it at random
/// offsets, which is far cheaper in an unoptimised build than generating every byte.
const POOL: usize = 1 << 20;

/// The datagram generator: seeded ChaCha8 for the decisions, and a pool of ChaCha8 bytes.
struct Gen {
    rng: ChaCha8Rng,
    pool: Vec<u8>,
}

impl Gen {
    fn new(seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut pool = vec![0; POOL];
        rng.fill_bytes(&mut pool);
        Self { rng, pool }
    }

    fn u32(&mut self) -> u32 {
        self.rng.next_u32()
    }

    fn below(&mut self, n: u32) -> u32 {
        self.u32() % n
    }

    /// True with probability `pct` %.
    fn pct(&mut self, pct: u32) -> bool {
        self.below(100) < pct
    }

    fn byte(&mut self) -> u8 {
        self.u32() as u8
    }

    /// Appends `len` (< 64 KiB) random bytes.
    fn fill(&mut self, out: &mut Vec<u8>, len: usize) {
        let at = self.below((POOL - len) as u32) as usize;
        out.extend_from_slice(&self.pool[at..at + len]);
    }

    fn address(&mut self) -> SocketAddr {
        let port = self.u32() as u16;
        if self.pct(80) {
            SocketAddr::from((Ipv4Addr::from(self.u32()), port))
        } else {
            let ip = u128::from(self.rng.next_u64()) << 64 | u128::from(self.rng.next_u64());
            SocketAddr::from((Ipv6Addr::from(ip), port))
        }
    }

    fn chunk_type(&mut self, ending_allowed: bool) -> u8 {
        loop {
            let ty = if self.pct(85) {
                TYPES[self.below(TYPES.len() as u32) as usize]
            } else {
                self.byte()
            };
            if ending_allowed || !ENDING.contains(&ty) {
                return ty;
            }
        }
    }

    /// Pure noise: 0 to 299 random bytes.
    fn noise(&mut self) -> Bytes {
        let mut out = Vec::new();
        let len = self.below(300) as usize;
        self.fill(&mut out, len);
        Bytes::from(out)
    }

    /// A packet with these header fields, 1 to 4 random chunks and a valid CRC32c. Chunk
    /// values are random, sometimes shaped like the real thing (a Heartbeat Info, INIT's
    /// fixed fields); lengths are usually right and sometimes anything.
    fn structured(&mut self, src: u16, dst: u16, tag: u32, ending_allowed: bool) -> Bytes {
        if self.pct(2) {
            return self.valid_init(src, dst);
        }
        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(&src.to_be_bytes());
        out.extend_from_slice(&dst.to_be_bytes());
        out.extend_from_slice(&tag.to_be_bytes());
        out.extend_from_slice(&[0; 4]);
        for _ in 0..1 + self.below(4) {
            let ty = self.chunk_type(ending_allowed);
            let flags = if self.pct(50) { 0 } else { self.byte() };
            let mut value = Vec::new();
            let len = if self.pct(80) {
                self.below(48)
            } else {
                self.below(400)
            } as usize;
            match ty {
                t::HEARTBEAT | t::HEARTBEAT_ACK if self.pct(70) => {
                    // Heartbeat Info parameter (type 1).
                    value.extend_from_slice(&[0, 1]);
                    value.extend_from_slice(&((4 + len) as u16).to_be_bytes());
                    self.fill(&mut value, len);
                }
                t::INIT | t::INIT_ACK if self.pct(50) => {
                    // Nonzero tag, a_rwnd, streams, TSN; then random parameters.
                    value.extend_from_slice(&(self.u32() | 1).to_be_bytes());
                    value.extend_from_slice(&[0, 1, 0, 0, 0, 10, 0, 10]);
                    self.fill(&mut value, 4);
                    self.fill(&mut value, len & !3);
                }
                _ => self.fill(&mut value, len),
            }
            let right = 4 + value.len();
            let length = if self.pct(90) {
                right as u16
            } else {
                self.u32() as u16
            };
            out.push(ty);
            out.push(flags);
            out.extend_from_slice(&length.to_be_bytes());
            out.extend_from_slice(&value);
            let pad = if self.pct(95) {
                (4 - right % 4) % 4
            } else {
                self.below(4) as usize
            };
            out.extend(core::iter::repeat_n(0, pad));
        }
        write_crc32c(&mut out);
        Bytes::from(out)
    }

    /// A well-formed INIT (tag 0), which a listening endpoint answers with an INIT ACK.
    fn valid_init(&mut self, src: u16, dst: u16) -> Bytes {
        let init = Init {
            initiate_tag: self.u32() | 1,
            a_rwnd: 65536,
            outbound_streams: 1 + self.below(100) as u16,
            inbound_streams: 1 + self.below(100) as u16,
            initial_tsn: Tsn(self.u32()),
            params: Vec::new(),
        };
        packet_ports(src, dst, 0, &[Chunk::Init(init)])
    }

    /// A tag: 0, the association's own (when given), or random — never the other side's.
    fn tag(&mut self, own: Option<u32>, avoid: u32) -> u32 {
        match (self.below(10), own) {
            (0, _) => 0,
            (1..=5, Some(own)) => own,
            _ => loop {
                let tag = self.u32();
                if Some(tag) != own && tag != avoid {
                    return tag;
                }
            },
        }
    }
}

/// What a driver saw while draining.
#[derive(Debug, Default)]
struct Drained {
    stateless: usize,
    association: usize,
    events: usize,
    peer_errors: usize,
}

/// Drains everything an endpoint wants to send and report, as a driver does, and checks the
/// bounds: at most `max_pending_replies` stateless replies, and per association at most
/// [`MAX_CONTROL_QUEUE`] chunks (so packets) since the last drain.
fn drain(ep: &mut Endpoint, now: std::time::Instant, buf: &mut Vec<u8>, seen: &mut Drained) {
    let max = ep.config().max_pending_replies;
    assert!(
        ep.pending_replies() <= max,
        "{} > {max}",
        ep.pending_replies()
    );
    if ep.poll_timeout().is_some_and(|t| t <= now) {
        ep.handle_timeout(now);
    }
    let (mut stateless, mut association) = (0, 0);
    loop {
        buf.clear();
        match ep.poll_transmit(now, buf) {
            Some(tx) if tx.association.is_none() => stateless += 1,
            Some(_) => association += 1,
            None => break,
        }
    }
    assert!(stateless <= max, "{stateless} stateless replies > {max}");
    assert!(
        association <= MAX_CONTROL_QUEUE + 1,
        "{association} association packets"
    );
    seen.stateless += stateless;
    seen.association += association;
    while let Some((_, e)) = ep.poll_event() {
        seen.events += 1;
        if matches!(e, Event::PeerError(_)) {
            seen.peer_errors += 1;
        }
    }
}

fn config() -> EndpointConfig {
    EndpointConfig {
        max_pending_replies: MAX_PENDING,
        ..Default::default()
    }
}

/// Z listens with no association. A million datagrams from random addresses (a tenth from one
/// fixed address): noise, and packets for Z's port with tag 0 or a random one. Then A
/// connects normally — the only way in.
#[test]
fn a_million_datagrams_at_an_endpoint_without_associations() {
    let started = std::time::Instant::now();
    let mut pair = Pair::with_config(config(), config());
    let mut g = Gen::new(0x5eed_0001);
    let mut buf = Vec::new();
    let mut seen = Drained::default();
    let fixed = g.address();
    for i in 0..DATAGRAMS {
        let from = if g.pct(10) { fixed } else { g.address() };
        let bytes = if g.pct(40) {
            g.noise()
        } else {
            let dst = if g.pct(90) { PORT } else { g.byte().into() };
            let src = if g.pct(50) { PORT } else { g.u32() as u16 };
            let tag = g.tag(None, 0);
            g.structured(src, dst, tag, true)
        };
        pair.now += Duration::from_micros(20);
        let now = pair.now;
        pair.z.handle_datagram(now, from, bytes);
        assert_eq!(pair.z.association_count(), 0, "datagram {i}");
        if i % DRAIN_EVERY == DRAIN_EVERY - 1 {
            drain(&mut pair.z, now, &mut buf, &mut seen);
        }
    }
    let now = pair.now;
    drain(&mut pair.z, now, &mut buf, &mut seen);
    let stats = pair.z.stats();
    assert!(stats.init_acks > 1000, "{stats:?}");
    assert!(
        stats.replies_dropped > 0,
        "the bound was never reached: {stats:?}"
    );
    assert_eq!(stats.accepted, 0);
    assert_eq!(seen.association, 0);
    assert_eq!(seen.events, 0);
    println!(
        "lone endpoint: {DATAGRAMS} datagrams in {:?}: {} replies sent, {stats:?}",
        started.elapsed(),
        seen.stateless
    );

    // A -> INIT -> Z, ... -> COOKIE ACK: a valid COOKIE ECHO is the way in.
    pair.connect(Side::A);
    pair.run(Duration::from_secs(1), &mut perfect);
    assert_eq!(
        pair.state(Side::A),
        Some(State::Established),
        "{}",
        pair.trace()
    );
    assert_eq!(pair.state(Side::Z), Some(State::Established));
    assert_eq!(pair.z.association_count(), 1);
}

/// A and Z are up. A million datagrams at Z: half from A's address — with Z's tag (no chunk
/// that may end the association, which anyone with the tag may send), tag 0 or a random tag
/// — and half from random addresses. Z's association survives, no other appears, the
/// replies stay bounded, and a graceful shutdown still completes.
#[test]
fn a_million_datagrams_at_an_established_endpoint() {
    let started = std::time::Instant::now();
    let mut pair = Pair::with_config(config(), config());
    pair.connect(Side::A);
    pair.run(Duration::from_secs(1), &mut perfect);
    assert_eq!(pair.state(Side::Z), Some(State::Established));
    pair.events(Side::A);
    pair.events(Side::Z);
    let (own, peer) = (
        pair.assoc(Side::Z).local_tag(),
        pair.assoc(Side::Z).peer_tag(),
    );
    let accepted = pair.z.stats().accepted;
    let a_addr = pair.a_addr;
    let mut g = Gen::new(0x5eed_0002);
    let mut buf = Vec::new();
    let mut seen = Drained::default();
    for i in 0..DATAGRAMS {
        let from_peer = g.pct(50);
        let from = if from_peer { a_addr } else { g.address() };
        let bytes = if g.pct(30) {
            g.noise()
        } else {
            let dst = if g.pct(95) { PORT } else { g.byte().into() };
            let src = if g.pct(90) { PORT } else { g.u32() as u16 };
            let tag = g.tag(Some(own), peer);
            g.structured(src, dst, tag, !(from_peer && tag == own))
        };
        pair.now += Duration::from_micros(20);
        let now = pair.now;
        pair.z.handle_datagram(now, from, bytes);
        assert_eq!(pair.z.association_count(), 1, "datagram {i}");
        if i % DRAIN_EVERY == DRAIN_EVERY - 1 {
            drain(&mut pair.z, now, &mut buf, &mut seen);
        }
    }
    let now = pair.now;
    drain(&mut pair.z, now, &mut buf, &mut seen);
    let z = pair.assoc(Side::Z);
    assert_eq!(z.state(), State::Established);
    assert_eq!((z.local_tag(), z.peer_tag()), (own, peer));
    assert!(seen.association > 1000, "{seen:?}");
    assert!(seen.peer_errors > 0, "{seen:?}");
    let stats = pair.z.stats();
    assert_eq!(stats.accepted, accepted);
    println!(
        "established endpoint: {DATAGRAMS} datagrams in {:?}: {seen:?}, {stats:?}, {:?}",
        started.elapsed(),
        z.stats()
    );

    // A burst of HEARTBEATs with the right tag and no drain in between: the association
    // answers the first MAX_CONTROL_QUEUE and drops the rest.
    let before = pair.assoc(Side::Z).stats().control_dropped;
    let hb = Chunk::Heartbeat(Heartbeat {
        info: Bytes::from_static(b"burst"),
    });
    let hb = packet_ports(PORT, PORT, own, &[hb]);
    for _ in 0..2 * MAX_CONTROL_QUEUE {
        let now = pair.now;
        pair.z.handle_datagram(now, a_addr, hb.clone());
    }
    let mut burst = Drained::default();
    let now = pair.now;
    drain(&mut pair.z, now, &mut buf, &mut burst);
    assert!(burst.association > 0, "{burst:?}");
    let dropped = pair.assoc(Side::Z).stats().control_dropped - before;
    assert_eq!(dropped, MAX_CONTROL_QUEUE as u64);

    // A's side saw none of it; A -> SHUTDOWN -> Z ... still completes.
    pair.transmit(Side::A);
    let now = pair.now;
    pair.assoc_mut(Side::A).shutdown(now);
    pair.run(Duration::from_secs(10), &mut perfect);
    assert_eq!(
        pair.events(Side::A),
        vec![Event::Closed(CloseReason::Shutdown)],
        "{}",
        pair.trace()
    );
    let z_events = pair.events(Side::Z);
    assert_eq!(
        z_events,
        vec![Event::ShutdownStarted, Event::Closed(CloseReason::Shutdown)]
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

    /// Any bytes from the peer's address, tagged or not: no panic, the association stays.
    #[test]
    fn any_bytes_from_the_peer_leave_the_association_up(
        body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
        tagged in proptest::prelude::any::<bool>(),
    ) {
        let mut pair = Pair::established();
        let tag = pair.assoc(Side::Z).local_tag();
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&PORT.to_be_bytes());
        bytes.extend_from_slice(&PORT.to_be_bytes());
        bytes.extend_from_slice(&(if tagged { tag } else { 0x1234_5678 }).to_be_bytes());
        bytes.extend_from_slice(&[0; 4]);
        bytes.extend_from_slice(&body);
        write_crc32c(&mut bytes);
        let bytes = Bytes::from(bytes);
        let ending = Packet::parse(bytes.clone(), ChecksumPolicy::Unchecked)
            .is_ok_and(|p| p.raw_chunks().any(|c| ENDING.contains(&c.chunk_type)));
        pair.deliver_bytes(Side::Z, bytes);
        proptest::prop_assert_eq!(pair.z.association_count(), 1);
        if !(tagged && ending) {
            proptest::prop_assert_eq!(pair.state(Side::Z), Some(State::Established));
        }
    }
}
