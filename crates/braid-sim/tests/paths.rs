//! Several independent paths between two nodes: each packet takes the path its node chose,
//! with that path's delay and impairments, counted in that path's link stats; a path taken
//! down by its schedule leaves the others working; a packet on a path with no link is
//! recorded, not a panic; and runs stay a pure function of the seed.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use braid_proto::{Association, AssociationConfig, PathId, Ports, SendOptions, State, StreamId};
use braid_sim::{
    ms, secs, DropReason, Fate, LinkChange, LinkConfig, LinkId, Node, NodeId, Outgoing, Sim,
    TraceEntry,
};
use bytes::Bytes;

/// A test node that sends packets on the paths a plan says, when it says, and records what
/// arrives on which path. Each packet starts with its sequence number (8 bytes).
#[derive(Default)]
struct Probe {
    /// (when, path, length), in time order.
    plan: VecDeque<(Instant, usize, usize)>,
    /// Packets due, with their path.
    out: VecDeque<(usize, Vec<u8>)>,
    sent: u64,
    /// (when, path, sequence number) of each packet that arrived.
    got: Vec<(Instant, usize, u64)>,
}

impl Probe {
    /// A probe that sends one `len`-byte packet on each path of `paths` every `every`, `count`
    /// times, starting at `start`.
    fn periodic(start: Instant, every: Duration, count: u32, paths: &[usize], len: usize) -> Self {
        let mut p = Probe::default();
        for i in 0..count {
            for &path in paths {
                p.plan.push_back((start + every * i, path, len));
            }
        }
        p
    }

    fn arrivals_on(&self, path: usize) -> Vec<(Instant, u64)> {
        self.got
            .iter()
            .filter(|g| g.1 == path)
            .map(|g| (g.0, g.2))
            .collect()
    }
}

impl Node for Probe {
    fn handle_packet(&mut self, now: Instant, path: usize, packet: Bytes) {
        let mut seq = [0u8; 8];
        seq.copy_from_slice(&packet[..8]);
        self.got.push((now, path, u64::from_be_bytes(seq)));
    }

    fn handle_timeout(&mut self, now: Instant) {
        while self.plan.front().is_some_and(|p| p.0 <= now) {
            let (_, path, len) = self.plan.pop_front().expect("front");
            let mut bytes = self.sent.to_be_bytes().to_vec();
            bytes.resize(len.max(8), 0xab);
            self.sent += 1;
            self.out.push_back((path, bytes));
        }
    }

    fn poll_transmit(&mut self, _now: Instant, buf: &mut Vec<u8>) -> Option<Outgoing> {
        let (path, bytes) = self.out.pop_front()?;
        buf.extend_from_slice(&bytes);
        Some(Outgoing {
            path,
            len: bytes.len(),
        })
    }

    fn poll_timeout(&self) -> Option<Instant> {
        if self.out.is_empty() {
            self.plan.front().map(|p| p.0)
        } else {
            None
        }
    }
}

fn delay(d: Duration) -> LinkConfig {
    LinkConfig {
        delay: d,
        ..LinkConfig::default()
    }
}

const A: NodeId = NodeId(0);
const B: NodeId = NodeId(1);

/// Two probes joined by `paths`; `make` builds A and B from the start instant.
fn probes(
    seed: u64,
    paths: &[(LinkConfig, LinkConfig)],
    make: impl FnOnce(Instant) -> (Probe, Probe),
) -> Sim<Probe> {
    let mut sim = Sim::new(seed);
    let (a, b) = make(sim.now());
    let ia = sim.add_node(a);
    let ib = sim.add_node(b);
    assert_eq!((ia, ib), (A, B));
    let links = sim.connect_paths(A, B, paths);
    assert_eq!(links.len(), paths.len());
    let (ab, ba): (Vec<LinkId>, Vec<LinkId>) = links.into_iter().unzip();
    assert_eq!(sim.paths(A), &ab[..]);
    assert_eq!(sim.paths(B), &ba[..]);
    sim
}

#[test]
fn each_packet_takes_its_path_with_that_paths_delay() {
    let mut sim = Sim::new(1);
    let t0 = sim.now();
    let a = Probe::periodic(t0, ms(100), 3, &[0, 1], 100);
    let b = Probe::periodic(t0, ms(100), 3, &[1, 0], 200);
    sim.add_node(a);
    sim.add_node(b);
    sim.enable_capture();
    let links = sim.connect_paths(
        A,
        B,
        &[
            (delay(ms(10)), delay(ms(20))),
            (delay(ms(50)), delay(ms(70))),
        ],
    );
    let [(ab0, ba0), (ab1, ba1)] = links[..] else {
        panic!("two paths")
    };
    sim.run_for(secs(1)).expect("run");

    // B got A's packets: path 0 after 10 ms, path 1 after 50 ms, each on the path it was
    // sent on.
    let b = sim.node(B).expect("b");
    let on0: Vec<_> = b.arrivals_on(0).iter().map(|g| g.0 - t0).collect();
    let on1: Vec<_> = b.arrivals_on(1).iter().map(|g| g.0 - t0).collect();
    assert_eq!(on0, [ms(10), ms(110), ms(210)]);
    assert_eq!(on1, [ms(50), ms(150), ms(250)]);
    // A sent 0, 2, 4 on path 0 and 1, 3, 5 on path 1.
    let seqs: Vec<_> = b.arrivals_on(1).iter().map(|g| g.1).collect();
    assert_eq!(seqs, [1, 3, 5]);
    let a = sim.node(A).expect("a");
    let on0: Vec<_> = a.arrivals_on(0).iter().map(|g| g.0 - t0).collect();
    let on1: Vec<_> = a.arrivals_on(1).iter().map(|g| g.0 - t0).collect();
    assert_eq!(on0, [ms(20), ms(120), ms(220)]);
    assert_eq!(on1, [ms(70), ms(170), ms(270)]);

    // The trace records each packet's link and path; per-path link stats.
    assert_eq!(sim.trace().len(), 12);
    for e in sim.trace() {
        let want = match (e.from, e.path) {
            (A, 0) => ab0,
            (A, 1) => ab1,
            (B, 0) => ba0,
            (B, 1) => ba1,
            other => panic!("unexpected {other:?}"),
        };
        assert_eq!(e.link, want, "{e:?}");
        assert_eq!(e.fate, Fate::Delivered);
        let d = [ms(10), ms(50), ms(20), ms(70)][usize::from(e.from == B) * 2 + e.path];
        assert_eq!(e.arrived_at, Some(e.sent_at + d), "{e:?}");
    }
    for (link, len) in [(ab0, 100), (ab1, 100), (ba0, 200), (ba1, 200)] {
        let s = sim.link_stats(link).expect("stats");
        assert_eq!((s.sent, s.delivered, s.dropped()), (3, 3, 0), "{link:?}");
        assert_eq!(s.bytes_sent, 3 * len);
    }

    // The capture shows each path with its own addresses: 10.0.<path>.<node + 1>.
    let pcap = sim.take_pcap();
    let mut reader = braid_wire::pcap::PcapReader::new(&pcap[..]).expect("pcap");
    for e in sim.trace() {
        let record = reader.next_record().expect("read").expect("a record");
        let frame =
            braid_wire::pcap::sctp_payload(reader.link_type(), &record.data).expect("frame");
        assert_eq!(frame.src, e.from.path_address(e.path).ip());
        assert_eq!(frame.dst, e.to.path_address(e.path).ip());
        assert_eq!(frame.sctp.len(), e.len);
    }
    assert_eq!(B.path_address(1).ip(), std::net::Ipv4Addr::new(10, 0, 1, 2));
    assert_eq!(A.path_address(0), A.address());
}

#[test]
fn each_path_has_its_own_impairments_and_stats() {
    // Path 0: clean, MTU 500. Path 1: 30 % loss, no MTU. Both carry 600-byte packets A → B
    // and 100-byte packets B → A.
    let paths = [
        (
            LinkConfig {
                mtu: Some(500),
                ..delay(ms(5))
            },
            delay(ms(5)),
        ),
        (
            LinkConfig {
                loss: 0.3,
                ..delay(ms(5))
            },
            LinkConfig {
                loss: 0.3,
                ..delay(ms(5))
            },
        ),
    ];
    let mut sim = probes(7, &paths, |t0| {
        (
            Probe::periodic(t0, ms(1), 1000, &[0, 1], 600),
            Probe::periodic(t0, ms(1), 1000, &[0, 1], 100),
        )
    });
    sim.run_for(secs(2)).expect("run");
    let [ab0, ab1] = [sim.paths(A)[0], sim.paths(A)[1]];
    let [ba0, ba1] = [sim.paths(B)[0], sim.paths(B)[1]];
    let s = sim.link_stats(ab0).expect("stats");
    assert_eq!((s.sent, s.dropped_mtu, s.delivered), (1000, 1000, 0));
    let s = sim.link_stats(ba0).expect("stats");
    assert_eq!((s.sent, s.dropped(), s.delivered), (1000, 0, 1000));
    for link in [ab1, ba1] {
        let s = sim.link_stats(link).expect("stats");
        assert_eq!(s.sent, 1000);
        assert_eq!(s.dropped_mtu, 0);
        assert!((240..360).contains(&s.dropped_random), "{link:?}: {s:?}");
        assert_eq!(s.delivered + s.dropped_random, 1000);
    }
    let b = sim.node(B).expect("b");
    assert!(b.arrivals_on(0).is_empty(), "path 0 drops A's big packets");
    assert_eq!(
        b.arrivals_on(1).len() as u64,
        sim.link_stats(ab1).expect("stats").delivered
    );
    let mtu_drops = sim
        .trace()
        .iter()
        .filter(|e| e.fate == Fate::Dropped(DropReason::Mtu))
        .count();
    assert!(sim
        .trace()
        .iter()
        .filter(|e| e.fate == Fate::Dropped(DropReason::Mtu))
        .all(|e| e.path == 0 && e.from == A));
    assert_eq!(mtu_drops, 1000);
}

#[test]
fn a_path_taken_down_leaves_the_other_working() {
    // Path 1 is down from 1 s to 2 s in both directions; path 0 stays up.
    let outage = |l: LinkConfig| LinkConfig {
        schedule: vec![(secs(1), LinkChange::Down), (secs(2), LinkChange::Up)],
        ..l
    };
    let paths = [
        (delay(ms(30)), delay(ms(30))),
        (outage(delay(ms(10))), outage(delay(ms(10)))),
    ];
    // A packet on each path every 100 ms for 3 s, both ways.
    let mut sim = probes(3, &paths, |t0| {
        (
            Probe::periodic(t0, ms(100), 30, &[0, 1], 64),
            Probe::periodic(t0, ms(100), 30, &[0, 1], 64),
        )
    });
    let t0 = sim.now();
    sim.run_for(secs(4)).expect("run");
    for (node, link0, link1) in [
        (B, sim.paths(A)[0], sim.paths(A)[1]),
        (A, sim.paths(B)[0], sim.paths(B)[1]),
    ] {
        let n = sim.node(node).expect("node");
        // Path 0: everything, 30 ms after sending.
        let on0 = n.arrivals_on(0);
        assert_eq!(on0.len(), 30);
        assert!(on0
            .iter()
            .enumerate()
            .all(|(i, g)| g.0 - t0 == ms(100) * i as u32 + ms(30)));
        // Path 1: nothing sent from 1 s to 1.9 s arrives (the one sent at 0.99.. none: sends
        // are at whole 100 ms, so 1.0 s .. 1.9 s, 10 packets, are lost).
        let on1: Vec<Duration> = n.arrivals_on(1).iter().map(|g| g.0 - t0).collect();
        assert_eq!(on1.len(), 20, "{on1:?}");
        assert!(on1.iter().all(|&t| t < secs(1) || t > secs(2)), "{on1:?}");
        assert_eq!(on1.last(), Some(&(ms(2900) + ms(10))));
        let s0 = sim.link_stats(link0).expect("stats");
        let s1 = sim.link_stats(link1).expect("stats");
        assert_eq!((s0.sent, s0.delivered), (30, 30));
        assert_eq!((s1.sent, s1.delivered, s1.dropped_link_down), (30, 20, 10));
    }
    let down: Vec<&TraceEntry> = sim
        .trace()
        .iter()
        .filter(|e| e.fate == Fate::Dropped(DropReason::LinkDown))
        .collect();
    assert_eq!(down.len(), 20);
    assert!(down
        .iter()
        .all(|e| e.path == 1 && e.sent_at >= secs(1) && e.sent_at < secs(2)));
}

#[test]
fn a_packet_on_a_path_without_a_link_is_recorded_not_sent() {
    let mut sim = probes(1, &[(delay(ms(1)), delay(ms(1)))], |t0| {
        (
            Probe::periodic(t0, ms(10), 2, &[0, 3], 50),
            Probe::default(),
        )
    });
    sim.run_for(ms(100)).expect("run");
    assert_eq!(sim.trace().len(), 2, "only path 0 packets are traced");
    assert!(sim.trace().iter().all(|e| e.path == 0));
    let lost = sim.unroutable();
    assert_eq!(lost.len(), 2);
    assert!(lost
        .iter()
        .all(|u| u.from == A && u.path == 3 && u.len == 50));
    assert_eq!(lost[1].sent_at, ms(10));
    assert_eq!(sim.node(B).expect("b").got.len(), 2);
    // A node with no path at all: everything it sends is unroutable.
    let mut lone = Sim::new(1);
    let t0 = lone.now();
    lone.add_node(Probe::periodic(t0, ms(10), 3, &[0], 20));
    lone.run_for(ms(100)).expect("run");
    assert!(lone.trace().is_empty());
    assert_eq!(lone.unroutable().len(), 3);
}

/// A lossy, jittery, reordering two-path run of probes.
fn noisy(seed: u64) -> Sim<Probe> {
    let noisy = |d: u64, loss: f64| LinkConfig {
        delay: ms(d),
        jitter: ms(5),
        loss,
        reorder: 0.05,
        reorder_delay: ms(20),
        duplicate: 0.02,
        corrupt: 0.02,
        bandwidth_bps: Some(2_000_000),
        queue_packets: Some(20),
        ..LinkConfig::default()
    };
    let paths = [
        (noisy(10, 0.05), noisy(12, 0.05)),
        (noisy(40, 0.2), noisy(45, 0.1)),
    ];
    let mut sim = probes(seed, &paths, |t0| {
        (
            Probe::periodic(t0, ms(2), 500, &[0, 1, 1], 700),
            Probe::periodic(t0, ms(3), 300, &[1, 0], 300),
        )
    });
    sim.enable_capture();
    sim.run_for(secs(3)).expect("run");
    sim
}

#[test]
fn same_seed_same_run_on_every_path() {
    let (mut x, mut y) = (noisy(42), noisy(42));
    assert!(x.trace() == y.trace(), "same seed, same trace");
    assert!(x.trace().iter().any(|e| e.path == 1) && x.trace().iter().any(|e| e.path == 0));
    assert_eq!(x.take_pcap(), y.take_pcap());
    // What each node received, relative to each run's own start.
    let got = |sim: &Sim<Probe>, id: NodeId| -> Vec<(Duration, usize, u64)> {
        let n = sim.node(id).expect("node");
        n.got
            .iter()
            .map(|g| (g.0 - sim.epoch(), g.1, g.2))
            .collect()
    };
    for id in [A, B] {
        let (gx, gy) = (got(&x, id), got(&y, id));
        assert!(gx.len() > 100);
        assert!(gx == gy, "node {id:?} received differently");
    }
    for l in 0..4 {
        assert_eq!(x.link_stats(LinkId(l)), y.link_stats(LinkId(l)));
    }
    let z = noisy(43);
    assert_ne!(x.trace(), z.trace(), "another seed, another run");
}

#[test]
fn associations_run_on_path_zero_of_two() {
    // Two associations joined by two paths: they have one path each, PathId(0), so the
    // handshake and data use path 0 and path 1 stays idle.
    let mut sim = Sim::new(5);
    let now = sim.now();
    let (s1, s2) = (sim.next_seed(), sim.next_seed());
    let config = AssociationConfig::default();
    let c = sim.add_node(Association::connect(
        now,
        config.clone(),
        Ports::default(),
        s1,
        Some(B.address()),
    ));
    let s = sim.add_node(Association::accept(
        now,
        config,
        Ports::default(),
        s2,
        Some(A.address()),
    ));
    let links = sim.connect_paths(
        c,
        s,
        &[(delay(ms(25)), delay(ms(25))), (delay(ms(1)), delay(ms(1)))],
    );
    let up = sim
        .run_until_cond(now + secs(5), |sim| {
            sim.node(c).is_some_and(|a| a.state() == State::Established)
        })
        .expect("run");
    assert!(up);
    assert_eq!(sim.elapsed(), ms(100), "two round trips of path 0");
    let t = sim.now();
    let client = sim.node_mut(c).expect("client");
    client
        .send(
            t,
            StreamId(1),
            Bytes::from_static(b"hello"),
            &SendOptions::default(),
        )
        .expect("send");
    sim.run_for(ms(100)).expect("run");
    let msg = sim
        .node_mut(s)
        .expect("server")
        .read_message()
        .expect("a message");
    assert_eq!(&msg.payload[..], b"hello");
    assert!(sim.trace().iter().all(|e| e.path == 0));
    let (ab, ba) = links[1];
    assert_eq!(sim.link_stats(ab).expect("stats").sent, 0);
    assert_eq!(sim.link_stats(ba).expect("stats").sent, 0);
    assert!(sim.node(c).expect("client").path_stats(PathId(0)).is_some());
    assert!(sim.unroutable().is_empty());
}
