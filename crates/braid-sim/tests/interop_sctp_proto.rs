//! Interop: Braid against `sctp-proto` (the str0m / webrtc-rs sans-IO SCTP core) in the
//! simulator, each as client and as server.
//!
//! Both sides exchange raw SCTP packets (common header onwards) over simulated links.
//! `sctp-proto` wants a peer `SocketAddr`; it gets the peer node's fake address
//! ([`NodeId::address`]). Both sides use SCTP ports 5000/5000, RTO.Initial 1 s, and packets
//! of at most 1200 bytes (`sctp-proto`'s MTU is its `max_payload_size` + 28). Braid offers
//! no extensions by default, so plain DATA is used.
//!
//! What `sctp-proto` does not make deterministic: it draws its verification tag, initial TSN
//! and cookie from the OS generator, and starts the client's T1-init timer from
//! `Instant::now()` (not the simulated clock) in `Endpoint::connect`; nothing in these tests
//! depends on those values.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use braid_proto::{AssociationConfig, CloseReason, Event, Message, Ppid, StreamId};
use braid_sim::check::{no_packet_above, Checker};
use braid_sim::{ms, secs, LinkConfig, LinkId, NodeId, Sim};
use bytes::Bytes;
use sctp_proto::{PayloadProtocolIdentifier, ReliabilityType};

/// `sctp-proto` sizes packets as `max_payload_size` + 12 (common header) + 16 (DATA header).
const PROTO_MAX_PAYLOAD: u32 = (MTU - 28) as u32;

#[path = "common/mixed.rs"]
mod mixed;

use mixed::{clean, connect, dump, lossy, peer, transfer, until_closed, Load, Wire, MTU};

/// The capture; `sctp-proto` never sends zero checksums, so every CRC32c must be right.
fn wire(sim: &mut Net) -> Wire {
    mixed::wire(sim, braid_wire::ChecksumPolicy::Crc32c)
}
#[path = "common/sctp_proto.rs"]
mod sp;

use sp::ProtoNode;

/// A node of the mixed simulation.
type Peer = mixed::Peer<ProtoNode>;

/// The test's workload on `sctp-proto`: messages on any stream, ordered or not, read whole.
impl mixed::Foreign for ProtoNode {
    fn established(&self) -> bool {
        ProtoNode::established(self)
    }

    fn closed(&self) -> bool {
        ProtoNode::closed(self)
    }

    /// Never refuses: `sctp-proto` buffers without a limit.
    fn send(&mut self, _now: Instant, stream: u16, payload: &Bytes, unordered: bool) -> bool {
        let first = self.opened.insert(stream);
        let a = self.assoc();
        // A stream the peer already sent on exists (accepted); others are opened.
        let mut s = if a.stream_ids().contains(&stream) {
            a.stream(stream).expect("stream")
        } else {
            a.open_stream(stream, PayloadProtocolIdentifier::Binary)
                .expect("open stream")
        };
        if first {
            s.set_reliability_params(unordered, ReliabilityType::Reliable, 0)
                .expect("reliability");
        }
        let n = s
            .write_sctp(payload, PayloadProtocolIdentifier::Binary)
            .expect("write");
        assert_eq!(n, payload.len());
        true
    }

    /// `sctp-proto`'s read API does not expose the U bit of a received message.
    fn read(&mut self, unordered: &HashSet<u16>) -> Vec<Message> {
        let mut got = Vec::new();
        let Some(a) = self.assoc.as_mut() else {
            return got;
        };
        while a.accept_stream().is_some() {}
        for id in a.stream_ids() {
            let Ok(mut s) = a.stream(id) else { continue };
            while let Ok(Some(chunks)) = s.read_sctp() {
                let mut buf = vec![0u8; chunks.len()];
                let n = chunks.read(&mut buf).expect("read");
                buf.truncate(n);
                got.push(Message {
                    stream: StreamId(id),
                    ppid: Ppid(chunks.ppi as u32),
                    unordered: unordered.contains(&id),
                    payload: buf.into(),
                });
            }
        }
        got
    }

    fn shutdown(&mut self, _now: Instant) {
        self.assoc().shutdown().expect("shutdown");
    }
}

/// `sctp-proto`'s settings here: the shared ones, its packets at most [`MTU`] bytes.
fn proto_client(remote: SocketAddr) -> ProtoNode {
    ProtoNode::client(remote, PROTO_MAX_PAYLOAD, sp::base_transport())
}

fn proto_server(remote: SocketAddr) -> ProtoNode {
    ProtoNode::server(remote, PROTO_MAX_PAYLOAD, sp::base_transport())
}

type Net = Sim<Peer>;
const CLIENT: NodeId = NodeId(0);
const SERVER: NodeId = NodeId(1);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Braid,
    Proto,
}

/// Client and server over links with `link` in both directions.
fn build(seed: u64, client: Who, link: &LinkConfig) -> Net {
    let config = AssociationConfig::default();
    mixed::build(seed, link, client == Who::Braid, config, |_, is_client| {
        if is_client {
            proto_client(SERVER.address())
        } else {
            proto_server(CLIENT.address())
        }
    })
}

/// Parses the capture and checks that every DATA chunk on `unordered_stream` has the U
/// bit set and every other one has it clear (what RFC 9260 §3.3.1 puts on the wire for
/// unordered sends), and that every packet is at most [`MTU`] bytes.
fn check_wire(sim: &mut Net, unordered_stream: u16) -> usize {
    use braid_wire::pcap::{sctp_payload, PcapReader};
    use braid_wire::{ChecksumPolicy, Chunk, Packet};
    no_packet_above(sim.trace(), MTU).expect("no packet above the MTU");
    let pcap = sim.take_pcap();
    let mut reader = PcapReader::new(&pcap[..]).expect("pcap");
    let mut data = 0;
    while let Some(record) = reader.next_record().expect("record") {
        let frame = sctp_payload(reader.link_type(), &record.data).expect("SCTP");
        let packet = Packet::parse(frame.sctp, ChecksumPolicy::default()).expect("valid packet");
        assert_eq!(packet.header().src_port, 5000);
        assert_eq!(packet.header().dst_port, 5000);
        for raw in packet.raw_chunks() {
            if let Ok(Chunk::Data(d)) = raw.parse() {
                assert_eq!(
                    d.unordered,
                    d.stream_id == unordered_stream,
                    "U bit of a DATA chunk on stream {}",
                    d.stream_id
                );
                data += 1;
            }
        }
    }
    data
}

const LOAD: Load = Load {
    count: 400,
    sizes: &[3000],
    streams: 4,
};

fn handshake(client: Who, seed: u64) {
    let mut sim = build(seed, client, &clean(ms(50)));
    connect(&mut sim);
    // Two round trips of 100 ms: INIT, INIT ACK, COOKIE ECHO, COOKIE ACK.
    assert_eq!(sim.elapsed(), ms(200));
    let braid = if client == Who::Braid { CLIENT } else { SERVER };
    let proto = if client == Who::Braid { SERVER } else { CLIENT };
    assert_eq!(
        peer(&mut sim, braid).braid().poll_event(),
        Some(Event::Connected)
    );
    let negotiated = peer(&mut sim, braid)
        .braid()
        .negotiated()
        .cloned()
        .expect("negotiated");
    println!("{client:?} client: Braid negotiated {negotiated:?}");
    assert!(peer(&mut sim, proto)
        .other()
        .events
        .iter()
        .any(|e| matches!(e, sctp_proto::Event::Connected)));
    assert_eq!(sim.trace().len(), 4, "exactly four handshake packets");
    // Idle for a while: heartbeats (Braid, 30 s) are answered and nothing breaks.
    sim.run_for(secs(95)).expect("no livelock");
    assert!(peer(&mut sim, CLIENT).established() && peer(&mut sim, SERVER).established());
    assert!(peer(&mut sim, braid).braid().stats().heartbeats_sent >= 2);
    check_wire(&mut sim, u16::MAX);
}

#[test]
fn handshake_braid_client_proto_server() {
    handshake(Who::Braid, 1);
}

#[test]
fn handshake_proto_client_braid_server() {
    handshake(Who::Proto, 2);
}

/// Multi-stream transfer both ways over a clean link, then the wire check.
fn streams(client: Who, seed: u64) {
    let mut sim = build(seed, client, &clean(ms(20)));
    connect(&mut sim);
    transfer(&mut sim, CLIENT, LOAD, secs(60));
    transfer(&mut sim, SERVER, LOAD, secs(60));
    let data = check_wire(&mut sim, LOAD.streams - 1);
    assert!(data >= 2 * LOAD.count * 3, "{data} DATA chunks");
}

#[test]
fn streams_braid_client_proto_server() {
    streams(Who::Braid, 3);
}

#[test]
fn streams_proto_client_braid_server() {
    streams(Who::Proto, 4);
}

fn loss(client: Who, seed: u64, p: f64, limit: Duration) {
    let mut sim = build(seed, client, &lossy(p));
    connect(&mut sim);
    let start = sim.now();
    transfer(&mut sim, CLIENT, LOAD, limit);
    let forward = sim.now() - start;
    let start = sim.now();
    transfer(&mut sim, SERVER, LOAD, limit);
    println!(
        "{client:?} client, loss {p}: 1.2 MB client->server in {forward:?}, server->client in {:?}",
        sim.now() - start
    );
    for link in [LinkId(0), LinkId(1)] {
        let stats = sim.link_stats(link).expect("link");
        assert!(stats.dropped_random > 0, "{link:?} lost nothing");
    }
    check_wire(&mut sim, LOAD.streams - 1);
}

#[test]
fn loss_1_percent_braid_client_proto_server() {
    loss(Who::Braid, 5, 0.01, secs(120));
}

#[test]
fn loss_1_percent_proto_client_braid_server() {
    loss(Who::Proto, 6, 0.01, secs(120));
}

#[test]
fn loss_5_percent_braid_client_proto_server() {
    loss(Who::Braid, 7, 0.05, secs(300));
}

#[test]
fn loss_5_percent_proto_client_braid_server() {
    loss(Who::Proto, 8, 0.05, secs(300));
}

/// Serial-number "a > b" (RFC 9260 §1.6, 32 bits).
fn tsn_after(a: u32, b: u32) -> bool {
    a != b && a.wrapping_sub(b) < 1 << 31
}

/// Braid starts a graceful shutdown right after queueing 50 messages: they are all
/// delivered first (RFC 9260 §9.2), then both sides close with SHUTDOWN, SHUTDOWN ACK,
/// SHUTDOWN COMPLETE, and nothing is sent after.
fn braid_shutdown(client: Who, seed: u64) {
    let mut sim = build(seed, client, &clean(ms(20)));
    connect(&mut sim);
    let (braid, proto) = if client == Who::Braid {
        (CLIENT, SERVER)
    } else {
        (SERVER, CLIENT)
    };
    let mut checker = Checker::new();
    for i in 0..50u16 {
        let (id, payload) = checker.payload(i % 2, false, 2000);
        let now = sim.now();
        assert!(peer(&mut sim, braid).send(now, i % 2, payload, false));
        checker.sent(id);
    }
    let now = sim.now();
    peer(&mut sim, braid).shutdown(now);
    let done = until_closed(&mut sim, proto, &mut checker);
    checker
        .all_delivered()
        .expect("data queued before SHUTDOWN delivered");
    assert!(done, "both sides closed:\n{}", dump(&mut sim));
    assert_eq!(
        peer(&mut sim, braid).braid().close_reason(),
        Some(&CloseReason::Shutdown)
    );
    let lost: Vec<_> = peer(&mut sim, proto)
        .other()
        .events
        .iter()
        .filter_map(|e| match e {
            sctp_proto::Event::AssociationLost { reason } => Some(reason.to_string()),
            _ => None,
        })
        .collect();
    println!("sctp-proto closed with {lost:?} at {:?}", sim.elapsed());
    let last = sim.trace().last().cloned();
    sim.run_for(secs(120)).expect("no livelock");
    assert_eq!(sim.trace().last().cloned(), last, "silent after close");
    let w = wire(&mut sim);
    let (b, p) = (braid.0, proto.0);
    assert_eq!(w.control[b].last(), Some(&"SHUTDOWN-COMPLETE"), "{w:?}");
    assert_eq!(w.control[p].last(), Some(&"SHUTDOWN-ACK"), "{w:?}");
    // Braid's SHUTDOWN acknowledges what sctp-proto sent: nothing, so its initial TSN - 1.
    let expected = w.initial_tsn[p].expect("INIT").wrapping_sub(1);
    assert!(
        w.shutdown_cum_acks[b].iter().all(|&c| c == expected),
        "{w:?}"
    );
}

#[test]
fn shutdown_by_braid_client() {
    braid_shutdown(Who::Braid, 9);
}

#[test]
fn shutdown_by_braid_server() {
    braid_shutdown(Who::Proto, 10);
}

/// sctp-proto starts the shutdown once its 50 messages are delivered and acknowledged.
///
/// sctp-proto 0.10.8 MISBEHAVES: it fills the SHUTDOWN's Cumulative TSN Ack with its own
/// Cumulative TSN Ack Point (`ChunkShutdown { cumulative_tsn_ack:
/// self.cumulative_tsn_ack_point }`, the last of ITS OWN TSNs the peer acknowledged) instead
/// of the last TSN it received in sequence from the peer (RFC 9260 §3.3.8; §6.2: "the SCTP
/// endpoint MUST fill in the Cumulative TSN Ack field to indicate the latest sequential TSN
/// (of a valid DATA chunk) it has received"). The value is thus unrelated to Braid's TSNs
/// and, since both sides pick random initial TSNs, what Braid sees is random:
///
/// * serially after Braid's highest TSN sent (half the time): it acknowledges TSNs never
///   sent. Braid aborts with a Protocol Violation cause ("SACK acknowledges a TSN never
///   sent", §3.3.10.13), as Linux does (`sctp_sf_violation_ctsn`); RFC 9260 does not
///   prescribe a reaction.
/// * otherwise: Braid treats it as a stale acknowledgement (§6.2.1 D i), and the shutdown
///   completes.
///
/// The test checks the SHUTDOWN's value against sctp-proto's own TSNs (the bug) and
/// Braid's reaction against whichever case happened.
fn proto_shutdown(client: Who, seed: u64) {
    let mut sim = build(seed, client, &clean(ms(20)));
    connect(&mut sim);
    let (braid, proto) = if client == Who::Braid {
        (CLIENT, SERVER)
    } else {
        (SERVER, CLIENT)
    };
    let mut checker = Checker::new();
    for i in 0..50u16 {
        let (id, payload) = checker.payload(i % 2, false, 2000);
        let now = sim.now();
        assert!(peer(&mut sim, proto).send(now, i % 2, payload, false));
        checker.sent(id);
    }
    sim.run_for(secs(2)).expect("no livelock");
    for msg in peer(&mut sim, braid).read(&HashSet::new()) {
        checker.received(&msg).expect("invariants hold");
    }
    checker
        .all_delivered()
        .expect("delivered before the shutdown");
    let now = sim.now();
    peer(&mut sim, proto).shutdown(now);
    let deadline = sim.now() + secs(30);
    let braid_closed = sim
        .run_until_cond(deadline, |s| peer(s, braid).closed())
        .expect("no livelock");
    assert!(braid_closed, "Braid closed");
    sim.run_for(secs(5)).expect("no livelock");
    let reason = peer(&mut sim, braid).braid().close_reason().cloned();
    let w = wire(&mut sim);
    let (b, p) = (braid.0, proto.0);
    let proto_initial = w.initial_tsn[p].expect("INIT");
    let braid_highest_sent = w.initial_tsn[b].expect("INIT").wrapping_sub(1);
    let proto_last_acked = proto_initial.wrapping_add(w.data_tsns[p].len() as u32 - 1);
    let cum = *w.shutdown_cum_acks[p].first().expect("a SHUTDOWN");
    println!(
        "sctp-proto SHUTDOWN cum TSN ack {cum} = its own last acked TSN {proto_last_acked}; \
         RFC 9260 wants Braid's {braid_highest_sent}; Braid: {reason:?}"
    );
    assert!(w.data_tsns[b].is_empty());
    assert_eq!(cum, proto_last_acked, "sctp-proto's own TSN space");
    proto_shutdown_outcome(&mut sim, braid, proto, &w, reason);
}

/// Checks how an sctp-proto-initiated shutdown ended, given its SHUTDOWN (see
/// [`proto_shutdown`]): Braid's reaction, and sctp-proto's end state.
///
/// sctp-proto 0.10.8 also MISBEHAVES at the end of a shutdown it started: on SHUTDOWN ACK
/// it sends SHUTDOWN COMPLETE but never leaves SHUTDOWN-SENT (`handle_shutdown_ack` only
/// stops T2 and queues the chunk; the `false` that `gather_outbound` returns after it is
/// dropped by `poll_transmit`), so `is_closed()` stays false, no `AssociationLost` event
/// comes, and no timer is left. RFC 9260 §9.2: "Upon the receipt of the SHUTDOWN ACK, the
/// sender of the SHUTDOWN MUST stop the T2-shutdown timer, send a SHUTDOWN COMPLETE chunk to
/// its peer, and remove all record of the association." Braid is CLOSED either way.
fn proto_shutdown_outcome(
    sim: &mut Net,
    braid: NodeId,
    proto: NodeId,
    w: &Wire,
    reason: Option<CloseReason>,
) {
    let (b, p) = (braid.0, proto.0);
    let cum = *w.shutdown_cum_acks[p].first().expect("a SHUTDOWN");
    let braid_highest_sent = w.initial_tsn[b]
        .expect("INIT")
        .wrapping_add(w.data_tsns[b].len() as u32)
        .wrapping_sub(1);
    assert!(peer(sim, braid).closed(), "Braid closed");
    let node = peer(sim, proto).other();
    let events = format!("{:?}", node.events);
    let a = node.assoc();
    if tsn_after(cum, braid_highest_sent) {
        assert_eq!(
            reason,
            Some(CloseReason::ProtocolViolation(
                "SACK acknowledges a TSN never sent"
            ))
        );
        assert_eq!(w.control[b].last(), Some(&"ABORT"), "{w:?}");
        assert!(a.is_closed(), "sctp-proto closed by the ABORT: {events}");
    } else {
        assert_eq!(reason, Some(CloseReason::Shutdown));
        assert_eq!(w.control[b].last(), Some(&"SHUTDOWN-ACK"), "{w:?}");
        assert_eq!(w.control[p].last(), Some(&"SHUTDOWN-COMPLETE"), "{w:?}");
        assert!(
            a.is_closing() && !a.is_closed() && a.poll_timeout().is_none(),
            "sctp-proto stuck in SHUTDOWN-SENT after sending SHUTDOWN COMPLETE: {events}"
        );
    }
}

#[test]
fn shutdown_by_proto_client() {
    proto_shutdown(Who::Proto, 11);
}

#[test]
fn shutdown_by_proto_server() {
    proto_shutdown(Who::Braid, 12);
}

/// sctp-proto 0.10.8 MISBEHAVES: messages accepted by `write_sctp` but not yet transmitted
/// when `shutdown()` is called are never sent. `shutdown()` checks only the in-flight queue
/// and sends SHUTDOWN at once, and in SHUTDOWN-PENDING / SHUTDOWN-SENT `gather_outbound`
/// only retransmits. RFC 9260 §11.1 B (Shutdown): "Any locally queued user data will be
/// delivered to the peer"; §9.2: the endpoint stays in SHUTDOWN-PENDING until all
/// outstanding data is acknowledged. Braid receives nothing, and stays consistent.
#[test]
fn proto_shutdown_discards_queued_data() {
    let mut sim = build(13, Who::Proto, &clean(ms(20)));
    connect(&mut sim);
    let mut checker = Checker::new();
    for i in 0..10u16 {
        let (id, payload) = checker.payload(0, false, 2000);
        let now = sim.now();
        assert!(peer(&mut sim, CLIENT).send(now, 0, payload, false), "{i}");
        checker.sent(id);
    }
    let now = sim.now();
    peer(&mut sim, CLIENT).shutdown(now);
    let deadline = sim.now() + secs(30);
    let braid_closed = sim
        .run_until_cond(deadline, |s| peer(s, SERVER).closed())
        .expect("no livelock");
    assert!(braid_closed, "Braid closed");
    sim.run_for(secs(5)).expect("no livelock");
    assert_eq!(peer(&mut sim, SERVER).read(&HashSet::new()).len(), 0);
    assert!(matches!(
        checker.all_delivered(),
        Err(braid_sim::check::Violation::Missing { count: 10, .. })
    ));
    let reason = peer(&mut sim, SERVER).braid().close_reason().cloned();
    let w = wire(&mut sim);
    assert!(w.data_tsns[0].is_empty(), "sctp-proto sent no DATA: {w:?}");
    proto_shutdown_outcome(&mut sim, SERVER, CLIENT, &w, reason);
}
