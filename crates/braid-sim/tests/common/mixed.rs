//! What the interop tests share: a simulator node that is either a Braid association or
//! another stack's node (`Peer<ProtoNode>`, `Peer<DcNode>`), the two-node network, the
//! checked transfer, and readings of the capture.
#![allow(dead_code, unreachable_pub)]

use std::collections::HashSet;
use std::time::{Duration, Instant};

use braid_proto::{
    Association, AssociationConfig, Message, Ports, Ppid, SendError, SendOptions, State, StreamId,
};
use braid_sim::check::{no_packet_above, Checker};
use braid_sim::{ms, secs, LinkConfig, Node, NodeId, Outgoing, Sim};
use braid_wire::ChecksumPolicy;
use bytes::Bytes;

/// The PPID of every message the interop tests send (53, WebRTC binary).
pub const PPID: u32 = 53;

/// Largest SCTP packet either side sends (Braid's default `max_packet_size`), and the links'
/// MTU.
pub const MTU: usize = 1200;

/// What the interop tests ask of the other stack's node.
pub trait Foreign: Node {
    /// Its association is up.
    fn established(&self) -> bool;
    /// Its association has ended.
    fn closed(&self) -> bool;
    /// Queues one message with [`PPID`]; `false` when its send buffer is full.
    fn send(&mut self, now: Instant, stream: u16, payload: &Bytes, unordered: bool) -> bool;
    /// Every complete message. The other stacks do not report the U bit of what they
    /// deliver, so messages on one of the `unordered` streams are marked unordered (the wire
    /// checks verify the bit itself).
    fn read(&mut self, unordered: &HashSet<u16>) -> Vec<Message>;
    /// Starts a graceful shutdown.
    fn shutdown(&mut self, now: Instant);
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

    /// Queues one message; `false` when the send buffer is full.
    pub fn send(&mut self, now: Instant, stream: u16, payload: Bytes, unordered: bool) -> bool {
        match self {
            Peer::Braid(a) => {
                let opts = SendOptions {
                    unordered,
                    ppid: Ppid(PPID),
                    ..SendOptions::default()
                };
                match a.send(now, StreamId(stream), payload, &opts) {
                    Ok(()) => true,
                    Err(SendError::BufferFull { .. }) => false,
                    Err(e) => panic!("Braid send failed: {e}"),
                }
            }
            Peer::Other(o) => o.send(now, stream, &payload, unordered),
        }
    }

    /// Every complete message (see [`Foreign::read`] for `unordered`).
    pub fn read(&mut self, unordered: &HashSet<u16>) -> Vec<Message> {
        match self {
            Peer::Braid(a) => std::iter::from_fn(|| a.read_message()).collect(),
            Peer::Other(o) => o.read(unordered),
        }
    }

    /// Starts a graceful shutdown.
    pub fn shutdown(&mut self, now: Instant) {
        match self {
            Peer::Braid(a) => a.shutdown(now),
            Peer::Other(o) => o.shutdown(now),
        }
    }
}

/// Node `id` of the simulation.
pub fn peer<F: Foreign>(sim: &mut Sim<Peer<F>>, id: NodeId) -> &mut Peer<F> {
    sim.node_mut(id).expect("node")
}

/// `count` messages round robin over `streams` streams, the last unordered, with sizes
/// cycling through `sizes` (at least 16 bytes: the [`Checker`] header).
#[derive(Clone, Copy)]
pub struct Load {
    pub count: usize,
    pub streams: u16,
    pub sizes: &'static [usize],
}

impl Load {
    pub fn bytes(&self) -> usize {
        (0..self.count)
            .map(|i| self.sizes[i % self.sizes.len()])
            .sum()
    }
}

/// Sends `load` from `from` to the other node (0, the client, or 1, the server) and checks
/// every message with a [`Checker`]: content intact, exactly once, per-stream order for
/// ordered streams, the PPID.
pub fn transfer<F: Foreign>(
    sim: &mut Sim<Peer<F>>,
    from: NodeId,
    load: Load,
    limit: Duration,
) -> Checker {
    let (client, server) = (NodeId(0), NodeId(1));
    let to = if from == client { server } else { client };
    let unordered_stream = load.streams - 1;
    let unordered_set = HashSet::from([unordered_stream]);
    let mut checker = Checker::new();
    let deadline = sim.now() + limit;
    let mut i = 0usize;
    loop {
        while i < load.count {
            let stream = (i % usize::from(load.streams)) as u16;
            let unordered = stream == unordered_stream;
            let size = load.sizes[i % load.sizes.len()];
            let (id, payload) = checker.payload(stream, unordered, size);
            let now = sim.now();
            if !peer(sim, from).send(now, stream, payload, unordered) {
                break;
            }
            checker.sent(id);
            i += 1;
        }
        let step = sim.now() + ms(10);
        sim.run_until(step).expect("no livelock");
        for msg in peer(sim, to).read(&unordered_set) {
            assert_eq!(msg.ppid, Ppid(PPID));
            if let Err(v) = checker.received(&msg) {
                panic!("invariant broken at {:?}: {v}", sim.elapsed());
            }
        }
        if i == load.count && checker.received_count() == load.count {
            break;
        }
        assert!(
            sim.now() < deadline,
            "transfer not done after {limit:?}: {}/{} delivered",
            checker.received_count(),
            load.count
        );
    }
    checker.all_delivered().expect("every message delivered");
    assert_eq!(checker.bytes_received(), load.bytes() as u64);
    assert!(peer(sim, client).established() && peer(sim, server).established());
    checker
}

/// Runs for at most 30 s of simulated time until both nodes are closed, checking every
/// message node `to` reads on the way; whether both closed.
pub fn until_closed<F: Foreign>(sim: &mut Sim<Peer<F>>, to: NodeId, checker: &mut Checker) -> bool {
    let deadline = sim.now() + secs(30);
    let mut done = false;
    while sim.now() < deadline && !done {
        sim.run_for(ms(10)).expect("no livelock");
        for msg in peer(sim, to).read(&HashSet::new()) {
            checker.received(&msg).expect("invariants hold");
        }
        done = peer(sim, NodeId(0)).closed() && peer(sim, NodeId(1)).closed();
    }
    done
}

/// Every packet captured so far, one line each (time, sender, the packet as `braid decode`
/// prints it), to document what each side sent. Ends the capture.
pub fn dump<F: Foreign>(sim: &mut Sim<Peer<F>>) -> String {
    use braid_wire::pcap::{sctp_payload, PcapReader};
    use braid_wire::{ChecksumPolicy, Packet};
    use std::fmt::Write;
    let pcap = sim.take_pcap();
    let mut reader = PcapReader::new(&pcap[..]).expect("pcap");
    let mut out = String::new();
    while let Some(record) = reader.next_record().expect("record") {
        let frame = sctp_payload(reader.link_type(), &record.data).expect("SCTP");
        let from = if frame.src == NodeId(0).address().ip() {
            "client"
        } else {
            "server"
        };
        let _ = match Packet::parse(frame.sctp, ChecksumPolicy::ZeroAllowed) {
            Ok(packet) => writeln!(out, "{:?} {from}: {packet}", record.timestamp),
            Err(e) => writeln!(out, "{:?} {from}: ({e})", record.timestamp),
        };
    }
    out
}

/// Braid against the other stack over links with `link` in both directions, capturing:
/// node 0 is the client, node 1 the server, and Braid is the client when `braid_client`.
/// `other(now, is_client)` makes the other stack's node.
pub fn build<F: Foreign>(
    seed: u64,
    link: &LinkConfig,
    braid_client: bool,
    config: AssociationConfig,
    other: impl FnOnce(Instant, bool) -> F,
) -> Sim<Peer<F>> {
    let mut sim = Sim::new(seed);
    sim.enable_capture();
    let now = sim.now();
    let (cs, ss) = (sim.next_seed(), sim.next_seed());
    let (c, s) = if braid_client {
        let a = Association::connect(now, config, Ports::default(), cs, Some(NodeId(1).address()));
        (
            Peer::Braid(Box::new(a)),
            Peer::Other(Box::new(other(now, false))),
        )
    } else {
        let a = Association::accept(now, config, Ports::default(), ss, Some(NodeId(0).address()));
        (
            Peer::Other(Box::new(other(now, true))),
            Peer::Braid(Box::new(a)),
        )
    };
    let c = sim.add_node(c);
    let s = sim.add_node(s);
    sim.connect(c, s, link.clone(), link.clone());
    sim
}

/// A link with `delay` and nothing else but the [`MTU`].
pub fn clean(delay: Duration) -> LinkConfig {
    LinkConfig {
        delay,
        mtu: Some(MTU),
        ..LinkConfig::default()
    }
}

/// 50 ms, 10 Mbit/s with a 100-packet queue, random loss `loss`.
pub fn lossy(loss: f64) -> LinkConfig {
    LinkConfig {
        delay: ms(50),
        bandwidth_bps: Some(10_000_000),
        queue_packets: Some(100),
        loss,
        mtu: Some(MTU),
        ..LinkConfig::default()
    }
}

/// Runs until both nodes (0, the client, and 1, the server) are up, for at most 10 s of
/// simulated time, and fails with the packets exchanged if they are not.
pub fn connect<F: Foreign>(sim: &mut Sim<Peer<F>>) {
    let deadline = sim.now() + secs(10);
    let up = |s: &Sim<Peer<F>>, id| s.node(NodeId(id)).is_some_and(Peer::established);
    let done = sim
        .run_until_cond(deadline, |s| up(s, 0) && up(s, 1))
        .expect("no livelock");
    assert!(done, "handshake did not finish:\n{}", dump(sim));
}

/// What the wire showed, per side (index = node id). Ends the capture.
#[derive(Debug, Default)]
pub struct Wire {
    /// Initial TSN from the INIT / INIT ACK.
    pub initial_tsn: [Option<u32>; 2],
    /// TSNs of the DATA and I-DATA chunks sent.
    pub data_tsns: [Vec<u32>; 2],
    /// I-DATA chunks sent.
    pub idata: [usize; 2],
    /// DATA chunks (U bit, stream) sent.
    pub data_u: [Vec<(bool, u16)>; 2],
    /// Cumulative TSN Ack of each SHUTDOWN sent.
    pub shutdown_cum_acks: [Vec<u32>; 2],
    /// Chunk names per side, in order, excluding DATA, I-DATA and SACK.
    pub control: [Vec<&'static str>; 2],
    /// Packets with a zero checksum / with a CRC32c, per side.
    pub zero_checksum: [usize; 2],
    pub crc: [usize; 2],
    /// The chunk names of each packet sent with a CRC32c, per side.
    pub crc_packets: [Vec<Vec<&'static str>>; 2],
    /// Packets whose ports were not 5000/5000.
    pub bad_ports: usize,
}

impl Wire {
    /// Everything but the per-chunk lists.
    pub fn summary(&self) -> String {
        format!(
            "initial TSNs {:?}, DATA/I-DATA chunks [{}, {}], I-DATA {:?}, SHUTDOWN cum acks \
             {:?}, control {:?}, zero-checksum packets {:?}, CRC32c packets {:?}, bad ports {}",
            self.initial_tsn,
            self.data_tsns[0].len(),
            self.data_tsns[1].len(),
            self.idata,
            self.shutdown_cum_acks,
            self.control,
            self.zero_checksum,
            self.crc_packets,
            self.bad_ports
        )
    }
}

/// Reads the capture (packets checked under `policy`, none above the [`MTU`]).
pub fn wire<F: Foreign>(sim: &mut Sim<Peer<F>>, policy: ChecksumPolicy) -> Wire {
    use braid_wire::pcap::{sctp_payload, PcapReader};
    use braid_wire::{Chunk, Packet};
    no_packet_above(sim.trace(), MTU).expect("no packet above the MTU");
    let pcap = sim.take_pcap();
    let mut reader = PcapReader::new(&pcap[..]).expect("pcap");
    let mut w = Wire::default();
    while let Some(record) = reader.next_record().expect("record") {
        let frame = sctp_payload(reader.link_type(), &record.data).expect("SCTP");
        let side = usize::from(frame.src != NodeId(0).address().ip());
        let packet = Packet::parse(frame.sctp, policy).expect("valid packet");
        let h = packet.header();
        if (h.src_port, h.dst_port) != (5000, 5000) {
            w.bad_ports += 1;
        }
        if h.checksum == 0 {
            w.zero_checksum[side] += 1;
        } else {
            w.crc[side] += 1;
            let names = packet
                .raw_chunks()
                .map(|r| r.parse().map_or("?", |c| c.name()))
                .collect();
            w.crc_packets[side].push(names);
        }
        for raw in packet.raw_chunks() {
            let chunk = raw.parse().expect("valid chunk");
            match &chunk {
                Chunk::Init(c) | Chunk::InitAck(c) => w.initial_tsn[side] = Some(c.initial_tsn.0),
                Chunk::Data(d) => {
                    w.data_tsns[side].push(d.tsn.0);
                    w.data_u[side].push((d.unordered, d.stream_id));
                }
                Chunk::IData(d) => {
                    w.data_tsns[side].push(d.tsn.0);
                    w.data_u[side].push((d.unordered, d.stream_id));
                    w.idata[side] += 1;
                }
                Chunk::Shutdown(c) => w.shutdown_cum_acks[side].push(c.cumulative_tsn_ack.0),
                _ => {}
            }
            if !matches!(chunk, Chunk::Data(_) | Chunk::IData(_) | Chunk::Sack(_)) {
                w.control[side].push(chunk.name());
            }
        }
    }
    w
}
