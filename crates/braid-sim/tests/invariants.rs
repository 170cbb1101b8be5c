//! Per-step invariant checks ([`Sim::add_check`]): the association checks hold on lossy bulk
//! transfers over several seeds, and each check fires on a constructed violation, stopping
//! the run at the step that broke it with the time and the invariant's name.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use braid_proto::{Association, AssociationConfig, Ports, SendError, SendOptions, State, StreamId};
use braid_sim::check::{
    AssociationChecks, AssociationNode, BufferCheck, Checker, CwndCheck, MtuCheck, NoSendAfterClose,
};
use braid_sim::{ms, secs, LinkChange, LinkConfig, Node, NodeId, Outgoing, Sim, SimError};
use bytes::Bytes;

const CLIENT: NodeId = Sim::CLIENT;
const SERVER: NodeId = Sim::SERVER;

fn config() -> AssociationConfig {
    AssociationConfig {
        send_buffer_size: 128 * 1024,
        receive_window: 64 * 1024,
        ..AssociationConfig::default()
    }
}

/// A 10 Mbit/s, 20 ms path with `loss`, duplication, reordering and a 40-packet queue.
fn lossy(loss: f64) -> LinkConfig {
    LinkConfig {
        delay: ms(20),
        jitter: ms(2),
        bandwidth_bps: Some(10_000_000),
        queue_packets: Some(40),
        loss,
        duplicate: 0.01,
        reorder: 0.02,
        reorder_delay: ms(15),
        mtu: Some(1200),
        ..LinkConfig::default()
    }
}

/// A node that is an association, optionally misbehaving once it has closed: it sends
/// `junk` extra packets at `junk_after` past its close, and `echo` extra packets for every
/// packet that arrives after it closed.
struct Rogue {
    a: Association,
    junk: usize,
    junk_after: Duration,
    junk_at: Option<Instant>,
    echo: usize,
    out: VecDeque<Vec<u8>>,
}

impl Rogue {
    fn new(a: Association) -> Self {
        Self {
            a,
            junk: 0,
            junk_after: Duration::ZERO,
            junk_at: None,
            echo: 0,
            out: VecDeque::new(),
        }
    }

    fn closed(&self) -> bool {
        self.a.state() == State::Closed && self.a.close_reason().is_some()
    }

    fn queue(&mut self, n: usize) {
        for _ in 0..n {
            // A well-formed common header with a wrong tag and no chunks: junk the peer drops.
            self.out
                .push_back(vec![0x13, 0x88, 0x13, 0x88, 0, 0, 0, 1, 0, 0, 0, 0]);
        }
    }
}

impl AssociationNode for Rogue {
    fn association(&self) -> Option<&Association> {
        Some(&self.a)
    }
}

impl Node for Rogue {
    fn handle_packet(&mut self, now: Instant, path: usize, packet: Bytes) {
        if self.closed() {
            self.queue(self.echo);
        }
        Node::handle_packet(&mut self.a, now, path, packet);
    }

    fn handle_timeout(&mut self, now: Instant) {
        if self.junk_at.is_some_and(|t| t <= now) {
            self.junk_at = None;
            let n = std::mem::take(&mut self.junk);
            self.queue(n);
        }
        if Association::poll_timeout(&self.a).is_some_and(|t| t <= now) {
            Association::handle_timeout(&mut self.a, now);
        }
    }

    fn poll_transmit(&mut self, now: Instant, buf: &mut Vec<u8>) -> Option<Outgoing> {
        if let Some(t) = Node::poll_transmit(&mut self.a, now, buf) {
            return Some(t);
        }
        if self.junk > 0 && self.junk_at.is_none() && self.closed() {
            self.junk_at = Some(now + self.junk_after);
        }
        let p = self.out.pop_front()?;
        buf.extend_from_slice(&p);
        Some(Outgoing {
            path: 0,
            len: p.len(),
        })
    }

    fn poll_timeout(&self) -> Option<Instant> {
        match (Association::poll_timeout(&self.a), self.junk_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// Two associations (client `CLIENT`, server `SERVER`) wrapped as [`Rogue`]s, joined by one
/// path with the given links.
fn rogues(seed: u64, c2s: LinkConfig, s2c: LinkConfig, config: &AssociationConfig) -> Sim<Rogue> {
    let mut sim = Sim::new(seed);
    let now = sim.now();
    let (cs, ss) = (sim.next_seed(), sim.next_seed());
    let c = Association::connect(now, config.clone(), Ports::default(), cs, None);
    let s = Association::accept(now, config.clone(), Ports::default(), ss, None);
    sim.add_node(Rogue::new(c));
    sim.add_node(Rogue::new(s));
    sim.connect(CLIENT, SERVER, c2s, s2c);
    sim
}

trait Assoc {
    fn assoc(&mut self, id: NodeId) -> &mut Association;
}

impl Assoc for Sim<Association> {
    fn assoc(&mut self, id: NodeId) -> &mut Association {
        self.node_mut(id).expect("node")
    }
}

impl Assoc for Sim<Rogue> {
    fn assoc(&mut self, id: NodeId) -> &mut Association {
        &mut self.node_mut(id).expect("node").a
    }
}

fn established<S: Assoc>(sim: &mut S) -> bool {
    sim.assoc(CLIENT).state() == State::Established
        && sim.assoc(SERVER).state() == State::Established
}

/// Sends `bytes` in `size`-byte messages on 3 streams (the last unordered) from the client,
/// and half as much back from the server, as fast as the send buffers take it; reads and
/// checks everything. Returns the first error the simulator reports.
fn bulk<N: Node + 'static>(
    sim: &mut Sim<N>,
    bytes: usize,
    size: usize,
    limit: Duration,
) -> Result<(), SimError>
where
    Sim<N>: Assoc,
{
    let deadline = sim.now() + limit;
    let up = sim.run_until_cond(deadline, established)?;
    assert!(up, "handshake");
    let mut flows = [
        (CLIENT, SERVER, bytes / size),
        (SERVER, CLIENT, bytes / size / 2),
    ]
    .map(|(from, to, count)| (from, to, count, 0usize, Checker::new()));
    loop {
        for (from, _, count, i, checker) in &mut flows {
            while *i < *count {
                let stream = (*i % 3) as u16;
                let unordered = stream == 2;
                let (id, payload) = checker.payload(stream, unordered, size);
                let opts = SendOptions {
                    unordered,
                    ..SendOptions::default()
                };
                let now = sim.now();
                match sim.assoc(*from).send(now, StreamId(stream), payload, &opts) {
                    Ok(()) => {
                        checker.sent(id);
                        *i += 1;
                    }
                    Err(SendError::BufferFull { .. }) => break,
                    Err(e) => panic!("send: {e}"),
                }
            }
        }
        let step = sim.now() + ms(5);
        sim.run_until(step)?;
        for (_, to, _, _, checker) in &mut flows {
            while let Some(msg) = sim.assoc(*to).read_message() {
                if let Err(v) = checker.received(&msg) {
                    panic!("delivery broken at {:?}: {v}", sim.elapsed());
                }
            }
        }
        if flows
            .iter()
            .all(|(_, _, count, i, c)| i == count && c.received_count() == *count)
        {
            break;
        }
        assert!(sim.now() < deadline, "transfer not done by {limit:?}");
    }
    for (.., c) in &flows {
        c.all_delivered().expect("all delivered");
    }
    Ok(())
}

/// Shuts the client down and runs until both sides are closed, then a minute more.
fn shutdown<N: Node>(sim: &mut Sim<N>) -> Result<(), SimError>
where
    Sim<N>: Assoc,
{
    let now = sim.now();
    sim.assoc(CLIENT).shutdown(now);
    let closed = sim.run_until_cond(now + secs(120), |s| {
        s.assoc(CLIENT).state() == State::Closed && s.assoc(SERVER).state() == State::Closed
    })?;
    assert!(closed, "both closed");
    sim.run_for(secs(60))
}

#[test]
fn association_checks_hold_on_lossy_bulk_transfers() {
    let config = config();
    for seed in 1..=4 {
        let mut sim = Sim::builder()
            .seed(seed)
            .forward(|l| *l = lossy(0.02))
            .reverse(|l| *l = lossy(0.01))
            .association(config.clone())
            .build();
        sim.add_check(AssociationChecks::new(&config));
        bulk(&mut sim, 1_500_000, 3000, secs(120)).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        let c = sim.assoc(CLIENT).stats();
        assert!(c.retransmissions > 0, "seed {seed}: losses were repaired");
        shutdown(&mut sim).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
    }
}

#[test]
fn a_closure_is_a_check_and_its_failure_stops_the_run_at_that_step() {
    let mut sim = Sim::builder().seed(1).delay(ms(50)).build();
    // "At most three packets": the fourth (the COOKIE ACK, sent at 150 ms) breaks it.
    sim.add_check(|s: &Sim<Association>| {
        if s.trace().len() > 3 {
            Err(format!("at most three packets, {} sent", s.trace().len()))
        } else {
            Ok(())
        }
    });
    let err = sim.run_for(secs(1)).expect_err("the check fails");
    assert_eq!(
        err,
        SimError::Invariant {
            at: ms(150),
            what: "at most three packets, 4 sent".into()
        }
    );
    assert_eq!(sim.elapsed(), ms(150), "the run stopped at that step");
    assert_eq!(
        err.to_string(),
        "invariant broken at 150ms: at most three packets, 4 sent"
    );
    // `step` reports it too, every time until the check is removed.
    assert!(matches!(sim.step(), Err(SimError::Invariant { .. })));
    sim.clear_checks();
    assert_eq!(sim.step(), Ok(true));
}

#[test]
fn mtu_check_fires_on_a_packet_above_the_mtu() {
    // The associations build 1400-byte packets on a network whose MTU is 1200 (the link
    // would drop them; the check names the first one sent).
    let big = AssociationConfig {
        max_packet_size: 1400,
        ..config()
    };
    let mut sim = Sim::builder()
        .seed(1)
        .delay(ms(10))
        .association(big)
        .build();
    sim.add_check(MtuCheck::new(1200));
    let err = bulk(&mut sim, 100_000, 5000, secs(10)).expect_err("the check fails");
    let SimError::Invariant { at, what } = err else {
        panic!("{err}")
    };
    assert!(what.starts_with("no packet above the MTU"), "{what}");
    let first = sim
        .trace()
        .iter()
        .position(|e| e.len > 1200)
        .expect("a big packet");
    let e = &sim.trace()[first];
    assert_eq!(e.sent_at, at);
    assert!(what.contains(&format!("trace entry {first}")), "{what}");
    assert!(
        sim.trace()[first..].iter().all(|e| e.sent_at == at),
        "stopped right after the batch that carried it"
    );
    // The same transfer with right-sized packets passes.
    let mut sim = Sim::builder()
        .seed(1)
        .delay(ms(10))
        .association(config())
        .build();
    sim.add_check(MtuCheck::new(1200));
    bulk(&mut sim, 100_000, 5000, secs(10)).expect("no big packet");
}

#[test]
fn no_send_after_close_fires_on_a_node_that_sends_after_closing() {
    let config = config();
    let clean = LinkConfig {
        delay: ms(10),
        ..LinkConfig::default()
    };
    // Well-behaved: shutdown, close, a minute of quiet.
    let mut sim = rogues(1, clean.clone(), clean.clone(), &config);
    sim.add_check(NoSendAfterClose::new());
    bulk(&mut sim, 20_000, 1000, secs(10)).expect("transfer");
    shutdown(&mut sim).expect("nothing sent after closing");

    // The server sends two packets 3 s after it closed.
    let mut sim = rogues(1, clean.clone(), clean, &config);
    sim.node_mut(SERVER).expect("server").junk = 2;
    sim.node_mut(SERVER).expect("server").junk_after = secs(3);
    sim.add_check(NoSendAfterClose::new());
    bulk(&mut sim, 20_000, 1000, secs(10)).expect("transfer");
    let err = shutdown(&mut sim).expect_err("the check fails");
    let SimError::Invariant { at, what } = err else {
        panic!("{err}")
    };
    assert!(what.starts_with("no send after close: node 1"), "{what}");
    assert!(
        what.contains("sent 2 packet(s)") && what.contains("only 0 arriving"),
        "{what}"
    );
    let last = sim.trace().last().expect("the junk");
    assert_eq!((last.from, last.sent_at, last.len), (SERVER, at, 12));
}

/// The client aborts while its link to the server is down, so the server, not knowing,
/// keeps sending (retransmissions, then heartbeats) to the closed client, which answers
/// each packet (RFC 9260 §8.4). The rogue client adds `echo` extra packets per arrival.
fn abort_unheard(echo: usize) -> (Sim<Rogue>, Result<(), SimError>) {
    let config = AssociationConfig {
        heartbeat_interval: Some(secs(1)),
        ..config()
    };
    let c2s = LinkConfig {
        delay: ms(10),
        schedule: vec![(secs(1), LinkChange::Down)],
        ..LinkConfig::default()
    };
    let s2c = LinkConfig {
        delay: ms(10),
        ..LinkConfig::default()
    };
    let mut sim = rogues(2, c2s, s2c, &config);
    sim.node_mut(CLIENT).expect("client").echo = echo;
    sim.add_check(NoSendAfterClose::new());
    let up = sim
        .run_until_cond(sim.now() + secs(1), established)
        .expect("handshake");
    assert!(up);
    sim.run_until(sim.epoch() + secs(2)).expect("run");
    // The server has data in flight when the client goes.
    let now = sim.now();
    sim.assoc(SERVER)
        .send(
            now,
            StreamId(0),
            Bytes::from(vec![7u8; 3000]),
            &SendOptions::default(),
        )
        .expect("send");
    sim.assoc(CLIENT).abort(now, "bye");
    let result = sim.run_for(secs(30));
    (sim, result)
}

#[test]
fn no_send_after_close_allows_one_reply_per_arrival_and_no_more() {
    let (sim, result) = abort_unheard(0);
    result.expect("replies to arriving packets are allowed");
    let closed_at = secs(2);
    let after: Vec<_> = sim
        .trace()
        .iter()
        .filter(|e| e.from == CLIENT && e.sent_at > closed_at)
        .collect();
    let arrivals = sim
        .trace()
        .iter()
        .filter(|e| e.to == CLIENT && e.arrived_at.is_some_and(|t| t > closed_at))
        .count();
    assert!(arrivals > 3, "the server kept sending: {arrivals}");
    assert!(!after.is_empty(), "the closed client answered them");
    assert!(after.len() <= arrivals);

    // One packet more per arrival is one too many.
    let (sim, result) = abort_unheard(1);
    let Err(SimError::Invariant { at, what }) = result else {
        panic!("the check fails: {result:?}")
    };
    assert!(what.starts_with("no send after close: node 0"), "{what}");
    assert!(at > closed_at);
    assert_eq!(sim.elapsed(), at);
}

#[test]
fn cwnd_check_fires_when_its_bound_is_broken() {
    let config = config();
    let build = || {
        Sim::builder()
            .seed(3)
            .forward(|l| *l = lossy(0.01))
            .reverse(|l| *l = lossy(0.0))
            .association(config.clone())
            .build()
    };
    // Sound bound: passes.
    let mut sim = build();
    sim.add_check(CwndCheck::new(config.max_packet_size));
    bulk(&mut sim, 300_000, 3000, secs(30)).expect("within cwnd + PMTU - 1");

    // Told the PMTU is 1 byte, the check allows no bytes beyond cwnd: RFC 9260 §6.1 B's
    // one-packet overshoot, which Braid uses, breaks that.
    let mut sim = build();
    sim.add_check(CwndCheck::new(1));
    let err = bulk(&mut sim, 300_000, 3000, secs(30)).expect_err("the check fails");
    let SimError::Invariant { what, .. } = &err else {
        panic!("{err}")
    };
    assert!(what.starts_with("cwnd within its bounds: node 0"), "{what}");
    assert!(what.contains("bytes in flight after sending"), "{what}");
    let a = sim.assoc(CLIENT);
    let ps = a.path_stats(a.primary_path()).expect("path");
    assert!(ps.bytes_in_flight > ps.cwnd, "{ps:?}");

    // Told the PMTU is larger than cwnd can be after a timeout, the lower bound fires as
    // soon as the association is up.
    let mut sim = build();
    sim.add_check(CwndCheck::new(100_000));
    let err = sim.run_for(secs(2)).expect_err("the check fails");
    let SimError::Invariant { what, .. } = &err else {
        panic!("{err}")
    };
    assert!(what.contains("below one PMTU"), "{what}");
}

#[test]
fn buffer_check_fires_when_a_bound_is_broken() {
    let config = config();
    let b = BufferCheck::for_config(&config);
    assert_eq!(
        b,
        BufferCheck::new(128 * 1024, 256 * 1024 + 4 * 1200),
        "window = max(receive_window, max_message_size), plus 4 packets"
    );
    let build = || {
        Sim::builder()
            .seed(4)
            .delay(ms(20))
            .association(config.clone())
            .build()
    };
    let mut sim = build();
    sim.add_check(b);
    bulk(&mut sim, 400_000, 4000, secs(30)).expect("within the configured bounds");

    // A send limit below what `send` accepts: queueing breaks it.
    let mut sim = build();
    sim.add_check(BufferCheck::new(10_000, usize::MAX));
    let err = bulk(&mut sim, 400_000, 4000, secs(30)).expect_err("the check fails");
    assert!(err.to_string().contains("bytes queued to send"), "{err}");

    // A receive limit of 5000 bytes with a server that does not read.
    let mut sim = build();
    sim.add_check(BufferCheck::new(usize::MAX, 5000));
    sim.run_until_cond(sim.now() + secs(2), established)
        .expect("handshake");
    let now = sim.now();
    for _ in 0..10 {
        sim.assoc(CLIENT)
            .send(
                now,
                StreamId(0),
                Bytes::from(vec![1u8; 1000]),
                &SendOptions::default(),
            )
            .expect("send");
    }
    let err = sim.run_for(secs(2)).expect_err("the check fails");
    assert!(
        err.to_string()
            .contains("received bytes, above the limit of 5000"),
        "{err}"
    );
    assert!(sim.assoc(SERVER).receive_buffered() > 5000);
}
