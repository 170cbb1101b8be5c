//! A simulator node that is either a Braid association or another stack's node, for the
//! interop tests (`Peer<ProtoNode>`, `Peer<DcNode>`).
#![allow(dead_code, unreachable_pub)]

use std::time::{Duration, Instant};

use braid_proto::{Association, State};
use braid_sim::{ms, secs, LinkConfig, Node, NodeId, Outgoing, Sim};
use bytes::Bytes;

/// What the interop tests ask of the other stack's node.
pub trait Foreign: Node {
    /// Its association is up.
    fn established(&self) -> bool;
    /// Its association has ended.
    fn closed(&self) -> bool;
}

/// Braid or the other stack.
pub enum Peer<F> {
    Braid(Box<Association>),
    Other(Box<F>),
}

impl<F: Foreign> Node for Peer<F> {
    fn handle_packet(&mut self, now: Instant, path: usize, packet: Bytes) {
        match self {
            Peer::Braid(a) => Node::handle_packet(a.as_mut(), now, path, packet),
            Peer::Other(o) => o.handle_packet(now, path, packet),
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        match self {
            Peer::Braid(a) => Node::handle_timeout(a.as_mut(), now),
            Peer::Other(o) => o.handle_timeout(now),
        }
    }

    fn poll_transmit(&mut self, now: Instant, buf: &mut Vec<u8>) -> Option<Outgoing> {
        match self {
            Peer::Braid(a) => Node::poll_transmit(a.as_mut(), now, buf),
            Peer::Other(o) => o.poll_transmit(now, buf),
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        match self {
            Peer::Braid(a) => Node::poll_timeout(a.as_ref()),
            Peer::Other(o) => o.poll_timeout(),
        }
    }
}

impl<F: Foreign> Peer<F> {
    pub fn braid(&mut self) -> &mut Association {
        match self {
            Peer::Braid(a) => a,
            Peer::Other(_) => panic!("not Braid"),
        }
    }

    pub fn other(&mut self) -> &mut F {
        match self {
            Peer::Other(o) => o,
            Peer::Braid(_) => panic!("not the other stack"),
        }
    }

    pub fn established(&self) -> bool {
        match self {
            Peer::Braid(a) => a.state() == State::Established,
            Peer::Other(o) => o.established(),
        }
    }

    pub fn closed(&self) -> bool {
        match self {
            Peer::Braid(a) => a.state() == State::Closed,
            Peer::Other(o) => o.closed(),
        }
    }
}

/// A link with `delay` and nothing else but the MTU.
pub fn clean(delay: Duration, mtu: usize) -> LinkConfig {
    LinkConfig {
        delay,
        mtu: Some(mtu),
        ..LinkConfig::default()
    }
}

/// 50 ms, 10 Mbit/s with a 100-packet queue, random loss `loss`.
pub fn lossy(loss: f64, mtu: usize) -> LinkConfig {
    LinkConfig {
        delay: ms(50),
        bandwidth_bps: Some(10_000_000),
        queue_packets: Some(100),
        loss,
        mtu: Some(mtu),
        ..LinkConfig::default()
    }
}

/// Runs until both nodes (0, the client, and 1, the server) are up, for at most 10 s of
/// simulated time; whether they are.
pub fn connect<F: Foreign>(sim: &mut Sim<Peer<F>>) -> bool {
    let deadline = sim.now() + secs(10);
    let up = |s: &Sim<Peer<F>>, id| s.node(NodeId(id)).is_some_and(Peer::established);
    sim.run_until_cond(deadline, |s| up(s, 0) && up(s, 1))
        .expect("no livelock")
}
