//! Multi-homing (RFC 9260 §5.4, §6.4, §6.4.1, §8.2): paths added to an association and
//! verified by heartbeats, failover to an alternate when the primary fails, retransmission of
//! timed-out data on another path, replies to the path the data came from, and the return
//! to the primary once it answers again.
//!
//! The wire: each side has two addresses, and path `i` joins address `i` of A with address
//! `i` of Z (a packet to the peer's address `i` leaves from the sender's address `i`), with
//! a one-way delay of 10 ms. A path can be taken down (both directions).

use core::time::Duration;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Instant;

use braid_wire::chunk::chunk_type as t;
use braid_wire::{Bytes, ChecksumPolicy, Chunk, Packet, Tsn};

use crate::harness::{payload, Side};
use crate::{
    AddPathError, Association, AssociationConfig, AssociationHandle, Endpoint, EndpointConfig,
    Event, PathId, PathState, Ports, SendOptions, State, StreamId,
};

const PORT: u16 = 5000;
const DELAY: Duration = Duration::from_millis(10);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn idx(side: Side) -> usize {
    match side {
        Side::A => 0,
        Side::Z => 1,
    }
}

/// A packet that went on the wire.
#[derive(Debug, Clone)]
struct Wire {
    /// Since the start.
    at: Duration,
    from: Side,
    path: usize,
    chunks: Vec<Chunk>,
}

impl Wire {
    fn has(&self, ty: u8) -> bool {
        self.chunks.iter().any(|c| chunk_kind(c) == ty)
    }

    fn data_tsns(&self) -> Vec<Tsn> {
        self.chunks
            .iter()
            .filter_map(|c| match c {
                Chunk::Data(d) => Some(d.tsn),
                _ => None,
            })
            .collect()
    }
}

fn chunk_kind(c: &Chunk) -> u8 {
    match c {
        Chunk::Data(_) => t::DATA,
        Chunk::Sack(_) => t::SACK,
        Chunk::Heartbeat(_) => t::HEARTBEAT,
        Chunk::HeartbeatAck(_) => t::HEARTBEAT_ACK,
        _ => 0xff,
    }
}

/// Two endpoints, two addresses each, in virtual time.
struct Net {
    start: Instant,
    now: Instant,
    eps: [Endpoint; 2],
    /// [side][path]
    addrs: [[SocketAddr; 2]; 2],
    /// The association of each side.
    handles: [AssociationHandle; 2],
    /// Whether path `i` delivers.
    up: [bool; 2],
    in_flight: BTreeMap<(Instant, u64), (usize, SocketAddr, Bytes)>,
    seq: u64,
    log: Vec<Wire>,
    events: Vec<(Duration, Side, Event)>,
    buf: Vec<u8>,
    /// Packets sent to an address neither side has.
    nowhere: usize,
    /// Messages A sent on stream 1 and Z read, in order.
    sent: u32,
    read: u32,
}

impl Net {
    /// A and Z with `config`, A connected to Z's address 0 and both ESTABLISHED.
    fn established(config: AssociationConfig) -> Self {
        let start = Instant::now();
        let ep = |seed| {
            Endpoint::new(
                start,
                EndpointConfig {
                    port: PORT,
                    rng_seed: seed,
                    association: config.clone(),
                    ..EndpointConfig::default()
                },
            )
        };
        let addr = |s: &str| s.parse::<SocketAddr>().unwrap();
        let mut net = Net {
            start,
            now: start,
            eps: [ep(1), ep(2)],
            addrs: [
                [addr("192.0.2.1:9899"), addr("198.51.100.1:9899")],
                [addr("192.0.2.2:9899"), addr("198.51.100.2:9899")],
            ],
            handles: [AssociationHandle(0), AssociationHandle(0)],
            up: [true, true],
            in_flight: BTreeMap::new(),
            seq: 0,
            log: Vec::new(),
            events: Vec::new(),
            buf: Vec::new(),
            nowhere: 0,
            sent: 0,
            read: 0,
        };
        let z0 = net.addrs[1][0];
        net.handles[0] = net.eps[0].connect(start, z0, PORT, None).unwrap();
        net.run(ms(500));
        assert!(
            net.event_at(Side::Z, &Event::Connected).is_some(),
            "Z connected: {:?}",
            net.events
        );
        for side in [Side::A, Side::Z] {
            assert_eq!(net.assoc(side).state(), State::Established);
        }
        net.events.clear();
        net
    }

    /// Both sides add a path to the peer's second address.
    fn add_paths(&mut self) {
        for side in [Side::A, Side::Z] {
            let (i, now) = (idx(side), self.now);
            let remote = self.addrs[1 - i][1];
            let h = self.handles[i];
            let id = self.eps[i].add_path(now, h, remote).unwrap();
            assert_eq!(id, PathId(1));
            assert_eq!(
                self.assoc(side).path_state(PathId(1)),
                Some(PathState::Unconfirmed)
            );
        }
    }

    fn assoc(&self, side: Side) -> &Association {
        let i = idx(side);
        self.eps[i].association(self.handles[i]).unwrap()
    }

    fn assoc_mut(&mut self, side: Side) -> &mut Association {
        let i = idx(side);
        let h = self.handles[i];
        self.eps[i].association_mut(h).unwrap()
    }

    fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    /// A queues `n` messages of `len` bytes on stream 1.
    fn send(&mut self, n: u32, len: usize) {
        let now = self.now;
        for _ in 0..n {
            let msg = payload(1, self.sent, len);
            self.assoc_mut(Side::A)
                .send(now, StreamId(1), msg, &SendOptions::default())
                .unwrap();
            self.sent += 1;
        }
    }

    /// Z reads what it can; each message must be the next one A sent, intact.
    fn read(&mut self) {
        let h = self.handles[1];
        let Some(z) = self.eps[1].association_mut(h) else {
            return;
        };
        let mut got = Vec::new();
        while let Some(m) = z.read_message() {
            got.push(m);
        }
        for m in got {
            assert_eq!(m.stream, StreamId(1));
            let want = payload(1, self.read, m.payload.len());
            assert_eq!(m.payload, want, "message {} intact and in order", self.read);
            self.read += 1;
        }
        assert!(self.read <= self.sent, "no message twice");
    }

    fn transmit(&mut self, side: Side) {
        let i = idx(side);
        loop {
            let now = self.now;
            let mut buf = std::mem::take(&mut self.buf);
            buf.clear();
            let Some(tx) = self.eps[i].poll_transmit(now, &mut buf) else {
                self.buf = buf;
                return;
            };
            let bytes = Bytes::copy_from_slice(&buf[buf.len() - tx.len..]);
            self.buf = buf;
            let Some(path) = self.addrs[1 - i].iter().position(|a| *a == tx.remote) else {
                // Nobody is there (any more): lost.
                self.nowhere += 1;
                continue;
            };
            let packet = Packet::parse(bytes.clone(), ChecksumPolicy::Unchecked).unwrap();
            let chunks = packet.chunks().map(|c| c.unwrap()).collect();
            self.log.push(Wire {
                at: self.elapsed(),
                from: side,
                path,
                chunks,
            });
            if self.up[path] {
                self.seq += 1;
                let from = self.addrs[i][path];
                self.in_flight
                    .insert((now + DELAY, self.seq), (1 - i, from, bytes));
            }
        }
    }

    fn drain_events(&mut self) {
        for side in [Side::A, Side::Z] {
            while let Some((h, e)) = self.eps[idx(side)].poll_event() {
                if e == Event::Connected {
                    self.handles[idx(side)] = h;
                }
                self.events.push((self.elapsed(), side, e));
            }
        }
    }

    /// Runs for `limit`, or until `done` holds after a step.
    fn run_until(&mut self, limit: Duration, mut done: impl FnMut(&Net) -> bool) -> bool {
        let end = self.now + limit;
        loop {
            self.transmit(Side::A);
            self.transmit(Side::Z);
            self.drain_events();
            self.read();
            if done(self) {
                return true;
            }
            let arrival = self.in_flight.keys().next().map(|k| k.0);
            let timer = self.eps.iter().filter_map(Endpoint::poll_timeout).min();
            match [arrival, timer].into_iter().flatten().min() {
                Some(at) if at <= end => {
                    self.now = self.now.max(at);
                    let now = self.now;
                    while let Some(e) = self.in_flight.first_entry() {
                        if e.key().0 > now {
                            break;
                        }
                        let (to, from, bytes) = e.remove();
                        self.eps[to].handle_datagram(now, from, bytes);
                    }
                    for ep in &mut self.eps {
                        ep.handle_timeout(now);
                    }
                }
                _ => {
                    self.now = end;
                    return false;
                }
            }
        }
    }

    fn run(&mut self, limit: Duration) {
        self.run_until(limit, |_| false);
    }

    /// When `side` reported `event`, if it did.
    fn event_at(&self, side: Side, event: &Event) -> Option<Duration> {
        self.events
            .iter()
            .find(|e| e.1 == side && &e.2 == event)
            .map(|e| e.0)
    }

    fn packets(&self, from: Side, ty: u8) -> impl Iterator<Item = &Wire> + '_ {
        self.log.iter().filter(move |w| w.from == from && w.has(ty))
    }
}

/// Fast failure detection: RTO 100–400 ms (the delayed SACK, 40 ms, stays below it), a
/// path INACTIVE after three timeouts in a row, heartbeats every 200 ms (plus RTO and
/// jitter).
fn fast() -> AssociationConfig {
    AssociationConfig {
        rto_initial: ms(100),
        rto_min: ms(100),
        rto_max: ms(400),
        delayed_ack: ms(40),
        path_max_retrans: 2,
        heartbeat_interval: Some(ms(200)),
        ..AssociationConfig::default()
    }
}

/// Established, both second paths added and confirmed.
fn two_confirmed_paths() -> Net {
    let mut net = Net::established(fast());
    net.add_paths();
    let confirmed = Event::PathConfirmed { path: PathId(1) };
    net.run(ms(200));
    for side in [Side::A, Side::Z] {
        assert!(
            net.event_at(side, &confirmed).is_some(),
            "{side:?}: {:?}",
            net.events
        );
        assert_eq!(
            net.assoc(side).path_state(PathId(1)),
            Some(PathState::Active)
        );
    }
    net
}

#[test]
fn added_path_is_confirmed_by_a_heartbeat_on_it() {
    let mut net = Net::established(fast());
    let added = net.elapsed();
    net.add_paths();
    // Data queued while path 1 is UNCONFIRMED goes on path 0 only.
    net.send(5, 500);
    net.run(ms(200));

    // A -> HEARTBEAT (path 1) -> Z; Z -> HEARTBEAT ACK (path 1) -> A: the probe goes out at
    // once, the ACK answers on the path it came from (§6.4), and the path is CONFIRMED.
    let hb = net
        .packets(Side::A, t::HEARTBEAT)
        .find(|w| w.path == 1)
        .expect("A probed path 1");
    assert_eq!(hb.at, added);
    let ack = net
        .packets(Side::Z, t::HEARTBEAT_ACK)
        .find(|w| w.at == hb.at + DELAY)
        .expect("Z acknowledged A's probe");
    assert_eq!(ack.path, 1);
    assert_eq!(
        net.event_at(Side::A, &Event::PathConfirmed { path: PathId(1) }),
        Some(ack.at + DELAY)
    );
    assert_eq!(
        net.assoc(Side::A).path_state(PathId(1)),
        Some(PathState::Active)
    );
    assert_eq!(
        net.assoc(Side::A).paths().collect::<Vec<_>>(),
        vec![PathId(0), PathId(1)]
    );
    assert_eq!(
        net.assoc(Side::A).path_remote(PathId(1)),
        Some(net.addrs[1][1])
    );
    assert!(net.assoc(Side::A).path_stats(PathId(1)).is_some());
    // The primary stays where data goes.
    assert!(net.packets(Side::A, t::DATA).all(|w| w.path == 0));
    assert_eq!(net.read, 5);
    assert_eq!(net.assoc(Side::A).current_path(), PathId(0));
}

#[test]
fn unconfirmed_path_carries_nothing_but_probes() {
    let mut net = Net::established(fast());
    net.up[1] = false;
    net.add_paths();
    net.send(20, 1000);
    net.run(ms(3000));
    assert_eq!(net.read, 20);
    assert_eq!(net.nowhere, 0);
    // §5.4: only HEARTBEATs go to an UNCONFIRMED address.
    for w in net.log.iter().filter(|w| w.path == 1) {
        assert!(
            w.chunks.iter().all(|c| matches!(c, Chunk::Heartbeat(_))),
            "{w:?}"
        );
    }
    // One probe per RTO (backed off 100, 200, 400 ms), then at the heartbeat rate once
    // INACTIVE after Path.Max.Retrans + 1 lost probes: a handful, not a flood.
    let probes = net.packets(Side::A, t::HEARTBEAT).filter(|w| w.path == 1);
    let n = probes.count();
    assert!((4..=10).contains(&n), "{n} probes");
    let inactive = Event::PathStatus {
        path: PathId(1),
        active: false,
    };
    assert!(net.event_at(Side::A, &inactive).is_some());
    assert_eq!(
        net.assoc(Side::A).path_state(PathId(1)),
        Some(PathState::Unconfirmed)
    );
    // Lost probes do not count against the association (§5.4).
    assert_eq!(net.assoc(Side::A).state(), State::Established);

    // The path comes up: a later probe confirms it.
    net.up[1] = true;
    let confirmed = Event::PathConfirmed { path: PathId(1) };
    assert!(net.run_until(ms(2000), |n| n.event_at(Side::A, &confirmed).is_some()));
    assert_eq!(
        net.assoc(Side::A).path_state(PathId(1)),
        Some(PathState::Active)
    );
}

#[test]
fn t3_retransmission_goes_to_the_other_path() {
    let mut net = two_confirmed_paths();
    net.up[0] = false;
    let t0 = net.elapsed();
    net.send(1, 300);
    net.run_until(ms(1000), |n| n.read == 1);
    assert_eq!(net.read, 1);
    // Z's delayed SACK.
    net.run(ms(300));

    // A -> DATA (path 0, lost); T3-rtx on path 0 -> the same TSN again on path 1.
    let data: Vec<_> = net
        .packets(Side::A, t::DATA)
        .filter(|w| w.at >= t0)
        .collect();
    let summary: Vec<_> = data.iter().map(|w| (w.at, w.path, w.data_tsns())).collect();
    assert_eq!(data.len(), 2, "{summary:?}");
    assert_eq!(data[0].path, 0);
    assert_eq!(data[1].path, 1, "the retransmission takes the other path");
    assert_eq!(data[0].data_tsns(), data[1].data_tsns());
    assert_eq!(data[1].at - data[0].at, ms(100), "after one RTO");
    // Z's SACK goes back on the path the DATA came from (§6.4).
    let sack = net
        .packets(Side::Z, t::SACK)
        .find(|w| w.at > data[1].at)
        .expect("a SACK");
    assert_eq!(sack.path, 1);
    // One timeout is below Path.Max.Retrans: path 0 is still ACTIVE and still primary.
    let a = net.assoc(Side::A);
    assert_eq!(a.stats().timer_retransmit_events, 1);
    assert_eq!(a.path_state(PathId(0)), Some(PathState::Active));
    assert_eq!(a.current_path(), PathId(0));
}

#[test]
fn primary_failure_fails_over_and_delivers_everything_in_order() {
    let mut net = two_confirmed_paths();
    net.send(400, 1000);
    // Path 0 fails completely in the middle of the transfer.
    net.run_until(ms(5000), |n| n.read >= 100);
    net.up[0] = false;
    let down = net.elapsed();
    assert!(net.run_until(ms(30_000), |n| n.read == 400));

    let inactive = Event::PathStatus {
        path: PathId(0),
        active: false,
    };
    let failed = net.event_at(Side::A, &inactive).expect("path 0 INACTIVE");
    assert!(failed > down);
    assert_eq!(
        net.assoc(Side::A).path_state(PathId(0)),
        Some(PathState::Inactive)
    );
    assert_eq!(net.assoc(Side::A).current_path(), PathId(1));
    // Once INACTIVE, every DATA packet goes on path 1; only heartbeats try path 0.
    let after: Vec<_> = net
        .packets(Side::A, t::DATA)
        .filter(|w| w.at > failed)
        .collect();
    assert!(!after.is_empty());
    assert!(after.iter().all(|w| w.path == 1));
    assert!(net
        .packets(Side::A, t::HEARTBEAT)
        .any(|w| w.at > failed && w.path == 0));
    // Z answers on the path the data comes from.
    assert!(net
        .packets(Side::Z, t::SACK)
        .filter(|w| w.at > failed + ms(100))
        .all(|w| w.path == 1));
    // Every message arrived exactly once, in order (checked as read), and nobody closed.
    assert_eq!(net.read, 400);
    for side in [Side::A, Side::Z] {
        assert_eq!(net.assoc(side).state(), State::Established);
    }
}

#[test]
fn data_returns_to_the_primary_when_it_recovers() {
    let mut net = two_confirmed_paths();
    net.up[0] = false;
    net.send(50, 1000);
    let inactive = Event::PathStatus {
        path: PathId(0),
        active: false,
    };
    assert!(net.run_until(ms(10_000), |n| n.read == 50
        && n.event_at(Side::A, &inactive).is_some()));
    assert_eq!(net.assoc(Side::A).current_path(), PathId(1));

    // Path 0 is repaired: a heartbeat on it is answered, the path is ACTIVE again.
    net.up[0] = true;
    let active = Event::PathStatus {
        path: PathId(0),
        active: true,
    };
    assert!(net.run_until(ms(5000), |n| n.event_at(Side::A, &active).is_some()));
    let back = net.event_at(Side::A, &active).unwrap();
    assert_eq!(net.assoc(Side::A).current_path(), PathId(0));

    net.send(50, 1000);
    assert!(net.run_until(ms(5000), |n| n.read == 100));
    let after: Vec<_> = net
        .packets(Side::A, t::DATA)
        .filter(|w| w.at > back)
        .collect();
    assert!(!after.is_empty());
    assert!(after.iter().all(|w| w.path == 0));
}

#[test]
fn an_alternate_path_follows_its_new_udp_port() {
    // RFC 6951 §5.4 on path 1: A's second address now sends from another UDP port (a NAT
    // rebinding). Z finds the association by tag and the one path with that IP address,
    // and moves path 1 there; path 0 is untouched.
    let mut net = two_confirmed_paths();
    let old = net.addrs[0][1];
    let moved: SocketAddr = "198.51.100.1:40000".parse().unwrap();
    net.addrs[0][1] = moved;
    let t0 = net.elapsed();
    net.run(ms(2000));
    assert_eq!(net.eps[1].stats().port_changes, 1);
    let z = net.assoc(Side::Z);
    assert_eq!(z.path_remote(PathId(1)), Some(moved));
    assert_eq!(z.path_remote(PathId(0)), Some(net.addrs[0][0]));
    assert_eq!(z.path_state(PathId(1)), Some(PathState::Active));
    // Z's heartbeats reach the new port and are answered.
    assert!(net
        .packets(Side::Z, t::HEARTBEAT)
        .any(|w| w.path == 1 && w.at > t0 + ms(1000)));
    assert!(net
        .packets(Side::A, t::HEARTBEAT_ACK)
        .any(|w| w.path == 1 && w.at > t0 + ms(1000)));
    assert_ne!(old, moved);
}

#[test]
fn add_path_is_bounded_and_checked() {
    let config = AssociationConfig {
        max_paths: 2,
        ..fast()
    };
    let mut net = Net::established(config);
    let now = net.now;
    let (h, z1) = (net.handles[0], net.addrs[1][1]);
    let z0 = net.addrs[1][0];
    let ep = &mut net.eps[0];
    assert_eq!(
        ep.add_path(now, h, z0),
        Err(AddPathError::Duplicate(z0)),
        "the address of path 0"
    );
    assert_eq!(ep.add_path(now, h, z1), Ok(PathId(1)));
    // Its own RTO estimator, at RTO.Initial, and its own congestion window at the initial
    // value of RFC 9260 §7.2.1: min(4·MTU, max(2·MTU, 4404)).
    let stats = ep.association(h).unwrap().path_stats(PathId(1)).unwrap();
    assert_eq!((stats.rto, stats.srtt), (ms(100), None));
    assert_eq!(stats.cwnd, 4404);
    assert_eq!(stats.bytes_in_flight, 0);
    let z2: SocketAddr = "203.0.113.2:9899".parse().unwrap();
    assert_eq!(
        ep.add_path(now, h, z2),
        Err(AddPathError::TooManyPaths { max: 2 })
    );
    assert_eq!(
        ep.add_path(now, AssociationHandle(77), z2),
        Err(AddPathError::UnknownAssociation)
    );
    assert_eq!(ep.association(h).unwrap().paths().count(), 2);

    // A standalone association: the same bound.
    let mut a = Association::connect(now, fast(), Ports::default(), 7, None);
    for i in 1..8 {
        assert_eq!(a.add_path(now, None), Ok(PathId(i)));
    }
    assert_eq!(
        a.add_path(now, None),
        Err(AddPathError::TooManyPaths { max: 8 })
    );
    a.abort(now, "done");
    assert_eq!(a.add_path(now, None), Err(AddPathError::Closed));
}

/// Two standalone associations (no addresses: paths by id), zero delay: moves packets on
/// the paths that are up until neither side sends, recording (sender is the client, path,
/// DATA TSNs) of every packet.
fn pump(
    now: Instant,
    c: &mut Association,
    s: &mut Association,
    up: [bool; 2],
    log: &mut Vec<(bool, PathId, Vec<Tsn>, bool)>,
) {
    let mut buf = Vec::new();
    loop {
        for a in [&mut *c, &mut *s] {
            if a.poll_timeout().is_some_and(|t| t <= now) {
                a.handle_timeout(now);
            }
        }
        let mut moved = false;
        for from_client in [true, false] {
            let (from, to) = if from_client {
                (&mut *c, &mut *s)
            } else {
                (&mut *s, &mut *c)
            };
            while let Some(tx) = from.poll_transmit(now, &mut buf) {
                let bytes = Bytes::from(buf.split_off(buf.len() - tx.len));
                let packet = Packet::parse(bytes.clone(), ChecksumPolicy::Unchecked).unwrap();
                let chunks: Vec<Chunk> = packet.chunks().map(|c| c.unwrap()).collect();
                let tsns = chunks
                    .iter()
                    .filter_map(|c| match c {
                        Chunk::Data(d) => Some(d.tsn),
                        _ => None,
                    })
                    .collect();
                let sack = chunks.iter().any(|c| matches!(c, Chunk::Sack(_)));
                log.push((from_client, tx.path, tsns, sack));
                assert_eq!(tx.remote, None);
                if up[usize::from(tx.path.0)] {
                    to.handle_packet(now, tx.path, bytes);
                    moved = true;
                }
            }
        }
        if !moved {
            return;
        }
    }
}

#[test]
fn t3_retransmission_transmit_names_the_alternate_path() {
    let start = Instant::now();
    let mut c = Association::connect(start, fast(), Ports::default(), 1, None);
    let mut s = Association::accept(start, fast(), Ports::default(), 2, None);
    assert_eq!(c.add_path(start, None), Ok(PathId(1)));
    assert_eq!(s.add_path(start, None), Ok(PathId(1)));
    let mut log = Vec::new();
    pump(start, &mut c, &mut s, [true, true], &mut log);
    assert_eq!(c.state(), State::Established);
    // Up: path 1 is probed at once and confirmed.
    assert_eq!(c.path_state(PathId(1)), Some(PathState::Active), "{log:?}");

    // Path 0 goes down; a message goes out on the primary and is lost.
    log.clear();
    c.send(
        start,
        StreamId(0),
        Bytes::from_static(b"hello"),
        &SendOptions::default(),
    )
    .unwrap();
    pump(start, &mut c, &mut s, [false, true], &mut log);
    let first: Vec<_> = log.iter().filter(|l| l.0 && !l.2.is_empty()).collect();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].1, PathId(0));
    let tsn = first[0].2.clone();

    // T3-rtx expires: the retransmission's Transmit names path 1.
    let t3 = c.poll_timeout().unwrap();
    assert_eq!(t3, start + ms(100));
    c.handle_timeout(t3);
    s.handle_timeout(t3);
    log.clear();
    pump(t3, &mut c, &mut s, [false, true], &mut log);
    let again: Vec<_> = log.iter().filter(|l| l.0 && !l.2.is_empty()).collect();
    assert_eq!(again.len(), 1, "{log:?}");
    assert_eq!((again[0].1, &again[0].2), (PathId(1), &tsn));
    assert_eq!(
        s.read_message().map(|m| m.payload),
        Some(Bytes::from_static(b"hello"))
    );
    // The chunk left path 0's flight and counts on path 1's, against its cwnd (§6.4).
    let flight = |c: &Association, p| c.path_stats(PathId(p)).unwrap().bytes_in_flight;
    assert_eq!(flight(&c, 0), 0);
    assert!(flight(&c, 1) > 0);
    assert_eq!(c.bytes_in_flight(), flight(&c, 1));
    // The delayed SACK comes back on path 1 (where the DATA came from) and empties the
    // flight.
    log.clear();
    let mut now = t3;
    while c.bytes_in_flight() > 0 && now < t3 + ms(1000) {
        now = [c.poll_timeout(), s.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
            .unwrap();
        pump(now, &mut c, &mut s, [false, true], &mut log);
    }
    assert_eq!(c.bytes_in_flight(), 0);
    let sacks: Vec<_> = log.iter().filter(|l| !l.0 && l.3).collect();
    assert!(!sacks.is_empty());
    assert!(sacks.iter().all(|l| l.1 == PathId(1)), "{sacks:?}");
}

/// An endpoint that connects to 192.0.2.2:9899, and the INIT it sent.
fn connecting(config: AssociationConfig) -> (Endpoint, Instant, SocketAddr, braid_wire::Init) {
    let now = Instant::now();
    let mut ep = Endpoint::new(
        now,
        EndpointConfig {
            port: PORT,
            rng_seed: 9,
            association: config,
            ..EndpointConfig::default()
        },
    );
    let z0: SocketAddr = "192.0.2.2:9899".parse().unwrap();
    ep.connect(now, z0, PORT, None).unwrap();
    let mut buf = Vec::new();
    let tx = ep.poll_transmit(now, &mut buf).unwrap();
    assert_eq!(tx.remote, z0);
    let packet = Packet::parse(Bytes::from(buf), ChecksumPolicy::Unchecked).unwrap();
    let Some(Ok(Chunk::Init(init))) = packet.chunks().next() else {
        panic!("an INIT");
    };
    (ep, now, z0, init)
}

/// Z's INIT ACK to A's INIT, listing `addresses`.
fn init_ack(init: &braid_wire::Init, addresses: &[std::net::IpAddr]) -> Bytes {
    use braid_wire::param::Parameter;
    let mut params = vec![Parameter::StateCookie(Bytes::from_static(b"opaque cookie"))];
    for a in addresses {
        params.push(match a {
            std::net::IpAddr::V4(v4) => Parameter::Ipv4Address(*v4),
            std::net::IpAddr::V6(v6) => Parameter::Ipv6Address(*v6),
        });
    }
    let ack = braid_wire::Init {
        initiate_tag: 0x5eed_0001,
        a_rwnd: 65536,
        outbound_streams: 8,
        inbound_streams: 8,
        initial_tsn: Tsn(1000),
        params,
    };
    crate::harness::packet(init.initiate_tag, &[Chunk::InitAck(ack)])
}

#[test]
fn addresses_in_the_init_ack_become_paths_when_asked() {
    let config = AssociationConfig {
        learn_peer_addresses: true,
        ..fast()
    };
    let (mut ep, now, z0, init) = connecting(config);
    let z1: SocketAddr = "198.51.100.2:9899".parse().unwrap();
    // A <- INIT ACK listing 198.51.100.2, its own source, a multicast and an IPv6 address:
    // only the first is a new path of path 0's family.
    let listed = [
        z1.ip(),
        z0.ip(),
        "224.0.0.1".parse().unwrap(),
        "2001:db8::2".parse().unwrap(),
    ];
    ep.handle_datagram(now, z0, init_ack(&init, &listed));
    let h = AssociationHandle(0);
    let a = ep.association(h).unwrap();
    assert_eq!(a.state(), State::CookieEchoed);
    assert_eq!(a.paths().collect::<Vec<_>>(), vec![PathId(0), PathId(1)]);
    assert_eq!(a.path_remote(PathId(1)), Some(z1));
    assert_eq!(a.path_state(PathId(1)), Some(PathState::Unconfirmed));
    // The COOKIE ECHO goes to path 0 only.
    let mut buf = Vec::new();
    let echo = ep.poll_transmit(now, &mut buf).unwrap();
    assert_eq!(echo.remote, z0);
    assert!(ep.poll_transmit(now, &mut buf).is_none());

    // A <- COOKIE ACK: up, and path 1 is probed at once.
    let tag = init.initiate_tag;
    ep.handle_datagram(now, z0, crate::harness::packet(tag, &[Chunk::CookieAck]));
    assert_eq!(ep.poll_timeout(), Some(now), "the probe is due");
    ep.handle_timeout(now);
    let mut probe = None;
    while let Some(tx) = ep.poll_transmit(now, &mut buf) {
        let bytes = Bytes::copy_from_slice(&buf[buf.len() - tx.len..]);
        let packet = Packet::parse(bytes, ChecksumPolicy::Unchecked).unwrap();
        let first = packet.chunks().next();
        if let Some(Ok(Chunk::Heartbeat(hb))) = first {
            assert_eq!(tx.remote, z1, "the probe goes to the listed address");
            probe = Some(hb);
        }
    }
    let probe = probe.expect("a probe of path 1");

    // A HEARTBEAT from the listed address reaches path 1: the ACK goes back there (§6.4).
    let t1 = now + ms(5);
    let hb = braid_wire::Heartbeat {
        info: Bytes::from_static(b"from z1"),
    };
    ep.handle_datagram(t1, z1, crate::harness::packet(tag, &[Chunk::Heartbeat(hb)]));
    let tx = ep.poll_transmit(t1, &mut buf).unwrap();
    assert_eq!(tx.remote, z1);
    let reply = Bytes::copy_from_slice(&buf[buf.len() - tx.len..]);
    let reply = Packet::parse(reply, ChecksumPolicy::Unchecked).unwrap();
    let first = reply.chunks().next();
    assert!(
        matches!(&first, Some(Ok(Chunk::HeartbeatAck(a))) if &a.info[..] == b"from z1"),
        "{first:?}"
    );
    // A <- HEARTBEAT ACK for the probe: path 1 CONFIRMED.
    ep.handle_datagram(
        t1,
        z1,
        crate::harness::packet(tag, &[Chunk::HeartbeatAck(probe)]),
    );
    let mut events = Vec::new();
    while let Some((_, e)) = ep.poll_event() {
        events.push(e);
    }
    assert!(events.contains(&Event::PathConfirmed { path: PathId(1) }));
    assert_eq!(
        ep.association(h).unwrap().path_state(PathId(1)),
        Some(PathState::Active)
    );
}

#[test]
fn addresses_in_the_init_ack_are_ignored_by_default() {
    let (mut ep, now, z0, init) = connecting(fast());
    let listed = ["198.51.100.2".parse().unwrap()];
    ep.handle_datagram(now, z0, init_ack(&init, &listed));
    let a = ep.association(AssociationHandle(0)).unwrap();
    assert_eq!(a.state(), State::CookieEchoed);
    assert_eq!(a.paths().count(), 1);
}
