//! Multi-homed associations in the simulator (RFC 9260 §6.4, §6.4.1, §8.2): two
//! associations joined by two paths, each having added the other's second address
//! (`Association::add_path`, path index `i` = `PathId(i)`). A bulk transfer survives path 0
//! going down for good, finishing over path 1; when path 0 comes back, data returns to it.
//! Every message is checked as it is read (exactly once, in order, intact), and the
//! per-step association checks (MTU, no send after close, flight within each path's cwnd,
//! buffer bounds) run throughout.

use std::time::Duration;

use braid_proto::{
    Association, AssociationConfig, Event, PathId, PathState, Ports, SendError, SendOptions, State,
    StreamId,
};
use braid_sim::check::{AssociationChecks, Checker};
use braid_sim::{ms, secs, LinkChange, LinkConfig, NodeId, Sim, SimError};

const CLIENT: NodeId = NodeId(0);
const SERVER: NodeId = NodeId(1);

/// Failure detection scaled down so a test sees it within seconds: RTO 200 ms – 1 s, a path
/// INACTIVE after three consecutive timeouts, heartbeats every 500 ms (plus RTO, jittered).
fn config() -> AssociationConfig {
    AssociationConfig {
        rto_initial: ms(200),
        rto_min: ms(200),
        rto_max: ms(1000),
        path_max_retrans: 2,
        heartbeat_interval: Some(ms(500)),
        delayed_ack: ms(50),
        send_buffer_size: 256 * 1024,
        ..AssociationConfig::default()
    }
}

/// A 20 Mbit/s path with `delay` one way, a 64-packet queue, a 1200-byte MTU, and
/// `schedule`.
fn link(delay: Duration, schedule: &[(Duration, LinkChange)]) -> LinkConfig {
    LinkConfig {
        delay,
        jitter: ms(1),
        bandwidth_bps: Some(20_000_000),
        queue_packets: Some(64),
        mtu: Some(1200),
        schedule: schedule.to_vec(),
        ..LinkConfig::default()
    }
}

/// Client and server joined by path 0 (20 ms, with `schedule` in both directions) and
/// path 1 (30 ms), both sides with a second path to the other's path-1 address.
fn two_paths(seed: u64, schedule: &[(Duration, LinkChange)]) -> Sim<Association> {
    let mut sim = Sim::new(seed);
    let now = sim.now();
    let (s1, s2) = (sim.next_seed(), sim.next_seed());
    let c = sim.add_node(Association::connect(
        now,
        config(),
        Ports::default(),
        s1,
        Some(SERVER.path_address(0)),
    ));
    let s = sim.add_node(Association::accept(
        now,
        config(),
        Ports::default(),
        s2,
        Some(CLIENT.path_address(0)),
    ));
    assert_eq!((c, s), (CLIENT, SERVER));
    let p0 = link(ms(20), schedule);
    let p1 = link(ms(30), &[]);
    sim.connect_paths(c, s, &[(p0.clone(), p0), (p1.clone(), p1)]);
    for (node, peer) in [(c, s), (s, c)] {
        let a = sim.node_mut(node).expect("node");
        assert_eq!(a.add_path(now, Some(peer.path_address(1))), Ok(PathId(1)));
    }
    sim.add_check(AssociationChecks::new(&config()));
    sim
}

/// Events each side reported, with the time.
#[derive(Default)]
struct Events(Vec<(Duration, NodeId, Event)>);

impl Events {
    fn drain(&mut self, sim: &mut Sim<Association>) {
        let at = sim.elapsed();
        for id in [CLIENT, SERVER] {
            let a = sim.node_mut(id).expect("node");
            while let Some(e) = a.poll_event() {
                self.0.push((at, id, e));
            }
        }
    }

    fn at(&self, id: NodeId, event: &Event) -> Option<Duration> {
        self.0
            .iter()
            .find(|e| e.1 == id && &e.2 == event)
            .map(|e| e.0)
    }
}

/// Sends `count` messages of `size` bytes from client to server as fast as the send buffer
/// takes them, reading and checking everything, within `limit`.
fn transfer(
    sim: &mut Sim<Association>,
    events: &mut Events,
    checker: &mut Checker,
    count: usize,
    size: usize,
    limit: Duration,
) -> Result<(), SimError> {
    let deadline = sim.now() + limit;
    let mut sent = 0;
    let target = checker.received_count() + count;
    while checker.received_count() < target {
        while sent < count {
            let (id, payload) = checker.payload(0, false, size);
            let now = sim.now();
            let client = sim.node_mut(CLIENT).expect("client");
            match client.send(now, StreamId(0), payload, &SendOptions::default()) {
                Ok(()) => {
                    checker.sent(id);
                    sent += 1;
                }
                Err(SendError::BufferFull { .. }) => break,
                Err(e) => panic!("send: {e}"),
            }
        }
        let step = sim.now() + ms(5);
        sim.run_until(step)?;
        events.drain(sim);
        let server = sim.node_mut(SERVER).expect("server");
        while let Some(msg) = server.read_message() {
            if let Err(v) = checker.received(&msg) {
                panic!("delivery broken: {v}");
            }
        }
        assert!(sim.now() < deadline, "transfer not done in {limit:?}");
    }
    Ok(())
}

fn established(sim: &mut Sim<Association>, events: &mut Events) {
    let deadline = sim.now() + secs(2);
    let up = sim
        .run_until_cond(deadline, |s| {
            [CLIENT, SERVER]
                .iter()
                .all(|&id| s.node(id).is_some_and(|a| a.state() == State::Established))
        })
        .expect("run");
    assert!(up, "handshake");
    events.drain(sim);
}

/// Bytes of data-sized packets (above 1000 bytes) the client sent on `path` in `window`.
fn client_data_on(sim: &Sim<Association>, path: usize, from: Duration, to: Duration) -> usize {
    sim.trace()
        .iter()
        .filter(|e| e.from == CLIENT && e.path == path && e.len > 1000)
        .filter(|e| e.sent_at >= from && e.sent_at < to)
        .count()
}

const MESSAGES: usize = 256;
const SIZE: usize = 8192; // 2 MiB in all

#[test]
fn transfer_completes_over_path_1_when_path_0_dies() {
    for seed in [1, 2, 3] {
        let down_at = ms(400);
        let mut sim = two_paths(seed, &[(down_at, LinkChange::Down)]);
        let mut events = Events::default();
        established(&mut sim, &mut events);
        let mut checker = Checker::new();
        transfer(
            &mut sim,
            &mut events,
            &mut checker,
            MESSAGES,
            SIZE,
            secs(60),
        )
        .expect("no invariant broken");
        checker.all_delivered().expect("all delivered");
        let end = sim.elapsed();

        // Path 1 was confirmed by a heartbeat; path 0 was given up on after the outage.
        let confirmed = Event::PathConfirmed { path: PathId(1) };
        assert!(events.at(CLIENT, &confirmed).is_some_and(|t| t < down_at));
        let inactive = Event::PathStatus {
            path: PathId(0),
            active: false,
        };
        let failed = events.at(CLIENT, &inactive).expect("path 0 INACTIVE");
        assert!(failed > down_at, "seed {seed}");
        let client = sim.node(CLIENT).expect("client");
        assert_eq!(client.path_state(PathId(0)), Some(PathState::Inactive));
        assert_eq!(client.current_path(), PathId(1));
        assert_eq!(client.state(), State::Established);

        // Data went on path 0 before the outage and on path 1 after it; only probes (small
        // heartbeats) tried path 0 once it was INACTIVE.
        assert!(client_data_on(&sim, 0, Duration::ZERO, down_at) > 0);
        assert_eq!(client_data_on(&sim, 0, failed, end), 0, "seed {seed}");
        assert!(client_data_on(&sim, 1, down_at, end) > 1000, "seed {seed}");
        // Most of the transfer crossed path 1, and the server's SACKs followed the data
        // there (RFC 9260 §6.4: replies go where the DATA came from).
        let (c_to_s1, s_to_c1) = (sim.paths(CLIENT)[1], sim.paths(SERVER)[1]);
        let stats = sim.link_stats(c_to_s1).expect("stats");
        assert!(stats.delivered > 1000, "{stats:?}");
        assert!(sim.link_stats(s_to_c1).expect("stats").delivered > 100);
    }
}

#[test]
fn data_returns_to_path_0_when_it_comes_back() {
    for seed in [4, 5] {
        let down_at = ms(400);
        let up_at = secs(4);
        let mut sim = two_paths(
            seed,
            &[(down_at, LinkChange::Down), (up_at, LinkChange::Up)],
        );
        let mut events = Events::default();
        established(&mut sim, &mut events);
        let mut checker = Checker::new();
        // The first MiB: path 0 dies during it.
        transfer(
            &mut sim,
            &mut events,
            &mut checker,
            MESSAGES / 2,
            SIZE,
            secs(60),
        )
        .expect("no invariant broken");
        let first_done = sim.elapsed();
        let inactive = Event::PathStatus {
            path: PathId(0),
            active: false,
        };
        let failed = events.at(CLIENT, &inactive).expect("path 0 INACTIVE");
        assert!(
            failed < first_done,
            "seed {seed}: the outage is noticed mid-transfer"
        );
        // While path 0 is INACTIVE, data goes on path 1 only.
        assert_eq!(client_data_on(&sim, 0, failed, first_done), 0);
        assert!(client_data_on(&sim, 1, failed, first_done) > 100);

        // Path 0 is back: a heartbeat answered makes it ACTIVE, and it is primary again.
        let active = Event::PathStatus {
            path: PathId(0),
            active: true,
        };
        let deadline = sim.now() + secs(20);
        while events.at(CLIENT, &active).is_none() {
            sim.run_for(ms(10)).expect("no invariant broken");
            events.drain(&mut sim);
            assert!(sim.now() < deadline, "path 0 never ACTIVE again");
        }
        let back = events.at(CLIENT, &active).expect("active");
        assert!(back > up_at);
        assert_eq!(sim.node(CLIENT).expect("c").current_path(), PathId(0));

        // The second MiB goes on path 0.
        let from = sim.elapsed();
        transfer(
            &mut sim,
            &mut events,
            &mut checker,
            MESSAGES / 2,
            SIZE,
            secs(60),
        )
        .expect("no invariant broken");
        checker.all_delivered().expect("all delivered");
        let end = sim.elapsed();
        assert!(client_data_on(&sim, 0, from, end) > 500, "seed {seed}");
        assert_eq!(client_data_on(&sim, 1, from, end), 0, "seed {seed}");
        for id in [CLIENT, SERVER] {
            assert_eq!(
                sim.node(id).expect("node").path_state(PathId(0)),
                Some(PathState::Active)
            );
        }
    }
}
