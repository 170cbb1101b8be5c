//! Interop: Braid against `dcsctp` (WebRTC's SCTP, the Rust port; crates.io `dcsctp`
//! 0.1.16) in the simulator, each as client and as server.
//!
//! Both sides exchange raw SCTP packets (common header onwards) over simulated links, use
//! SCTP ports 5000/5000, RTO.Initial and RTO.Min 1 s, and packets of at most 1200 bytes.
//! dcsctp is driven sans-IO through `tests/common/dcsctp.rs` (`handle_input`,
//! `advance_time` on a clock mapped from the simulated one, `SendPacket` events).
//!
//! Extensions. dcsctp offers PR-SCTP (FORWARD-TSN) and RE-CONFIG in every INIT / INIT ACK,
//! and I-DATA / zero checksum only when configured. Braid by default offers nothing, so the
//! default tests run plain DATA with CRC32c: dcsctp needs no extension to interoperate, and
//! sends neither FORWARD-TSN nor RE-CONFIG when the peer did not offer them. The `idata_*`
//! tests switch on I-DATA (RFC 8260) and zero checksum (RFC 9653, method 1 = DTLS) on both
//! sides and check that I-DATA and zero checksums are really on the wire.
//!
//! What dcsctp does not make deterministic: it draws its verification tag, initial TSN and
//! tie-tags from `fastrand`'s thread-local generator, seeded per thread from the OS; nothing
//! in these tests depends on those values. dcsctp also hex-formats every packet it sends or
//! receives for its log (`logging::log_packet`), logger or not, which costs wall time but not
//! simulated time, so the loads here are kept small.
//!
//! dcsctp 0.1.16 deviations seen here (Braid stays correct in each case):
//!
//! * `shutdown()` silently discards messages accepted by `send` but not yet transmitted: the
//!   SHUTDOWN goes out as soon as nothing is in flight, with the send queue still full, and
//!   dcsctp then reports a normal `OnClosed` (RFC 9260 §9.2, §11.1 B; see
//!   [`discards_queued`]). The graceful-shutdown tests
//!   started by dcsctp therefore wait until its data is acknowledged.
//!
//! Differences that are not deviations: with zero checksum negotiated, dcsctp as server
//! sends its INIT ACK with a zero checksum (it has seen the INIT's Zero Checksum Acceptable
//! parameter), Braid keeps the CRC32c on its INIT ACK; both send INIT and COOKIE ECHO with a
//! CRC32c (RFC 9653 §5.2). dcsctp's `close()` emits `OnClosed` (not `OnAborted`) for its own
//! ABORT. dcsctp always announces 65535 streams each way; Braid's 1024 win.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use braid_proto::{AssociationConfig, CloseReason, Event, Extensions, Message, Ppid, StreamId};
use braid_sim::check::Checker;
use braid_sim::{ms, secs, LinkConfig, LinkId, NodeId, Sim};
use bytes::Bytes;
use dcsctp::api::{
    ErrorKind, Options, SocketEvent,
    ZERO_CHECKSUM_ALTERNATE_ERROR_DETECTION_METHOD_LOWER_LAYER_DTLS,
};

#[path = "common/dcsctp.rs"]
mod dc;

use dc::DcNode;

#[path = "common/mixed.rs"]
mod mixed;

use mixed::{clean, connect, dump, lossy, peer, transfer, until_closed, Load, Wire, MTU, PPID};

fn wire(sim: &mut Net) -> Wire {
    mixed::wire(sim, braid_wire::ChecksumPolicy::ZeroAllowed)
}

/// A node of the mixed simulation.
type Peer = mixed::Peer<DcNode>;

impl mixed::Foreign for DcNode {
    fn established(&self) -> bool {
        DcNode::established(self)
    }

    fn closed(&self) -> bool {
        DcNode::closed(self)
    }

    fn send(&mut self, now: Instant, stream: u16, payload: &Bytes, unordered: bool) -> bool {
        DcNode::send(self, now, stream, PPID, payload, unordered).expect("dcsctp send")
    }

    /// dcsctp's `Message` does not carry the U bit.
    fn read(&mut self, unordered: &HashSet<u16>) -> Vec<Message> {
        std::iter::from_fn(|| DcNode::read(self))
            .map(|(stream, ppid, payload)| Message {
                stream: StreamId(stream),
                ppid: Ppid(ppid),
                unordered: unordered.contains(&stream),
                payload: payload.into(),
            })
            .collect()
    }

    fn shutdown(&mut self, now: Instant) {
        DcNode::shutdown(self, now);
    }
}

type Net = Sim<Peer>;
const CLIENT: NodeId = NodeId(0);
const SERVER: NodeId = NodeId(1);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Braid,
    Dc,
}

/// Which extensions both sides offer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ext {
    /// Braid's and dcsctp's defaults: Braid offers nothing; dcsctp PR-SCTP and RE-CONFIG.
    Default,
    /// Both also offer I-DATA and zero checksum (method 1, DTLS).
    IDataZeroChecksum,
}

fn braid_config(ext: Ext) -> AssociationConfig {
    let mut c = AssociationConfig::default();
    if ext == Ext::IDataZeroChecksum {
        c.extensions = Extensions {
            interleaving: true,
            zero_checksum_edmid: Some(1),
            ..Extensions::default()
        };
    }
    c
}

fn dc_options(ext: Ext) -> Options {
    let mut o = dc::options(MTU);
    if ext == Ext::IDataZeroChecksum {
        o.enable_message_interleaving = true;
        o.zero_checksum_alternate_error_detection_method =
            ZERO_CHECKSUM_ALTERNATE_ERROR_DETECTION_METHOD_LOWER_LAYER_DTLS;
    }
    o
}

/// Client and server over links with `link` in both directions.
fn build(seed: u64, client: Who, link: &LinkConfig, ext: Ext) -> Net {
    mixed::build(
        seed,
        link,
        client == Who::Braid,
        braid_config(ext),
        |now, is_client| {
            let name = if is_client { "client" } else { "server" };
            DcNode::new(name, now, &dc_options(ext), is_client)
        },
    )
}

/// Sizes around the 1172-byte DATA payload of a 1200-byte packet (1168 with I-DATA), up to
/// 66 000 bytes (57 fragments).
const SIZES: &[usize] = &[
    16, 17, 100, 1000, 1168, 1169, 1172, 1173, 2345, 4000, 9000, 66_000,
];

/// Messages of 1 to 15 bytes (below the [`Checker`]'s header) on one ordered stream: every
/// one arrives once, in order, byte for byte.
fn tiny(sim: &mut Net, from: NodeId) {
    let to = if from == CLIENT { SERVER } else { CLIENT };
    let stream = 9;
    let sent: Vec<Vec<u8>> = (1..=15u8)
        .map(|n| (0..n).map(|k| n.wrapping_mul(17) ^ k).collect())
        .collect();
    for p in &sent {
        let now = sim.now();
        assert!(peer(sim, from).send(now, stream, Bytes::from(p.clone()), false));
    }
    sim.run_for(secs(2)).expect("no livelock");
    let got: Vec<Vec<u8>> = peer(sim, to)
        .read(&HashSet::new())
        .into_iter()
        .map(|m| {
            assert_eq!(
                (m.stream, m.ppid, m.unordered),
                (StreamId(stream), Ppid(PPID), false)
            );
            m.payload.to_vec()
        })
        .collect();
    assert_eq!(got, sent, "tiny messages, in order");
}

/// Checks the U bit of every DATA / I-DATA chunk: set exactly on `unordered_stream`.
fn check_u_bits(w: &Wire, unordered_stream: u16) {
    assert_eq!(w.bad_ports, 0, "every packet 5000 -> 5000");
    for side in &w.data_u {
        for &(u, sid) in side {
            assert_eq!(
                u,
                sid == unordered_stream,
                "U bit of a chunk on stream {sid}"
            );
        }
    }
}

/// Asserts that dcsctp reported its connection and nothing else (no error, no abort).
fn dc_only_connected(sim: &mut Net, id: NodeId) {
    let events = &peer(sim, id).other().events;
    assert!(
        matches!(events.as_slice(), [SocketEvent::OnConnected()]),
        "dcsctp events: {events:?}"
    );
}

fn roles(client: Who) -> (NodeId, NodeId) {
    if client == Who::Braid {
        (CLIENT, SERVER)
    } else {
        (SERVER, CLIENT)
    }
}

fn handshake(client: Who, seed: u64, ext: Ext) {
    let mut sim = build(seed, client, &clean(ms(50)), ext);
    connect(&mut sim);
    // Two round trips of 100 ms: INIT, INIT ACK, COOKIE ECHO, COOKIE ACK.
    assert_eq!(sim.elapsed(), ms(200));
    let (braid, dcs) = roles(client);
    assert_eq!(
        peer(&mut sim, braid).braid().poll_event(),
        Some(Event::Connected)
    );
    let n = peer(&mut sim, braid)
        .braid()
        .negotiated()
        .cloned()
        .expect("negotiated");
    println!("{client:?} client, {ext:?}: Braid negotiated {n:?}");
    let on = ext == Ext::IDataZeroChecksum;
    // Braid offers PR-SCTP / RE-CONFIG only when configured: never here.
    assert!(!n.partial_reliability && !n.stream_reconfig, "{n:?}");
    assert_eq!(n.interleaving, on, "{n:?}");
    assert_eq!(n.zero_checksum_tx, on, "{n:?}");
    assert_eq!(n.zero_checksum_rx, on, "{n:?}");
    assert_eq!((n.outbound_streams, n.inbound_streams), (1024, 1024));
    let d = peer(&mut sim, dcs).other();
    assert!(
        matches!(d.events.as_slice(), [SocketEvent::OnConnected()]),
        "{:?}",
        d.events
    );
    let m = d.socket.get_metrics().expect("metrics");
    assert_eq!(m.uses_message_interleaving, on);
    assert_eq!(m.uses_zero_checksum, on);
    assert_eq!(
        (
            m.negotiated_maximum_incoming_streams,
            m.negotiated_maximum_outgoing_streams
        ),
        (1024, 1024)
    );
    assert_eq!(sim.trace().len(), 4, "exactly four handshake packets");
    // Idle for a while: both sides' heartbeats (30 s; dcsctp adds the RTO) are answered and
    // nothing breaks.
    sim.run_for(secs(95)).expect("no livelock");
    assert!(peer(&mut sim, CLIENT).established() && peer(&mut sim, SERVER).established());
    assert!(peer(&mut sim, braid).braid().stats().heartbeats_sent >= 2);
    dc_only_connected(&mut sim, dcs);
    let w = wire(&mut sim);
    for side in [braid.0, dcs.0] {
        let hb = w.control[side]
            .iter()
            .filter(|c| **c == "HEARTBEAT")
            .count();
        let ack = w.control[1 - side]
            .iter()
            .filter(|c| **c == "HEARTBEAT-ACK")
            .count();
        assert!(hb >= 2 && ack == hb, "side {side}: {}", w.summary());
    }
    // No ERROR, ABORT, FORWARD-TSN or RE-CONFIG: only the handshake and heartbeats.
    for side in &w.control {
        assert!(
            side.iter().all(|c| matches!(
                *c,
                "INIT" | "INIT-ACK" | "COOKIE-ECHO" | "COOKIE-ACK" | "HEARTBEAT" | "HEARTBEAT-ACK"
            )),
            "{}",
            w.summary()
        );
    }
    check_u_bits(&w, u16::MAX);
    if on {
        // RFC 9653 §5.2: INIT is always sent with a CRC32c; after the handshake both sides
        // send zero checksums.
        assert!(
            w.zero_checksum[0] > 0 && w.zero_checksum[1] > 0,
            "{}",
            w.summary()
        );
    } else {
        assert_eq!(w.zero_checksum, [0, 0], "{}", w.summary());
    }
}

#[test]
fn handshake_braid_client_dcsctp_server() {
    handshake(Who::Braid, 1, Ext::Default);
}

#[test]
fn handshake_dcsctp_client_braid_server() {
    handshake(Who::Dc, 2, Ext::Default);
}

#[test]
fn handshake_idata_zero_checksum_braid_client() {
    handshake(Who::Braid, 21, Ext::IDataZeroChecksum);
}

#[test]
fn handshake_idata_zero_checksum_dcsctp_client() {
    handshake(Who::Dc, 22, Ext::IDataZeroChecksum);
}

const LOAD: Load = Load {
    count: 240,
    streams: 4,
    sizes: SIZES,
};

/// Multi-stream transfer both ways over a clean link (sizes 1 B to 66 000 B, three ordered
/// streams and one unordered), then the wire check.
fn streams(client: Who, seed: u64, ext: Ext) {
    let mut sim = build(seed, client, &clean(ms(20)), ext);
    connect(&mut sim);
    tiny(&mut sim, CLIENT);
    tiny(&mut sim, SERVER);
    transfer(&mut sim, CLIENT, LOAD, secs(60));
    transfer(&mut sim, SERVER, LOAD, secs(60));
    let (braid, dcs) = roles(client);
    dc_only_connected(&mut sim, dcs);
    assert_eq!(
        peer(&mut sim, braid).braid().poll_event(),
        Some(Event::Connected)
    );
    let w = wire(&mut sim);
    check_u_bits(&w, LOAD.streams - 1);
    for side in 0..2 {
        // At least one chunk per fragment.
        let min: usize = (0..LOAD.count)
            .map(|i| SIZES[i % SIZES.len()].div_ceil(1172))
            .sum();
        assert!(
            w.data_tsns[side].len() >= min + 15,
            "{} chunks",
            w.data_tsns[side].len()
        );
        if ext == Ext::IDataZeroChecksum {
            assert_eq!(w.idata[side], w.data_tsns[side].len(), "only I-DATA");
            // RFC 9653 §5.2: the packets with INIT and COOKIE ECHO carry a CRC32c. The
            // INIT ACK may go with a zero checksum (its sender saw the INIT's parameter):
            // dcsctp does so, Braid keeps the CRC32c. Everything else has a zero checksum.
            let expected: &[&[&str]] = match (side, client) {
                (0, _) => &[&["INIT"], &["COOKIE-ECHO"]],
                (_, Who::Dc) => &[&["INIT-ACK"]],
                (_, Who::Braid) => &[],
            };
            assert_eq!(w.crc_packets[side], expected, "{}", w.summary());
        } else {
            assert_eq!(w.idata[side], 0);
            assert_eq!(w.zero_checksum[side], 0);
        }
    }
}

#[test]
fn streams_braid_client_dcsctp_server() {
    streams(Who::Braid, 3, Ext::Default);
}

#[test]
fn streams_dcsctp_client_braid_server() {
    streams(Who::Dc, 4, Ext::Default);
}

#[test]
fn streams_idata_zero_checksum_braid_client() {
    streams(Who::Braid, 23, Ext::IDataZeroChecksum);
}

#[test]
fn streams_idata_zero_checksum_dcsctp_client() {
    streams(Who::Dc, 24, Ext::IDataZeroChecksum);
}

/// Smaller messages for the lossy runs (sizes up to 9000 B).
const LOSS_LOAD: Load = Load {
    count: 200,
    streams: 4,
    sizes: &[16, 100, 1000, 1172, 1173, 2345, 4000, 9000],
};

fn loss(client: Who, seed: u64, p: f64, limit: Duration) {
    let mut sim = build(seed, client, &lossy(p), Ext::Default);
    connect(&mut sim);
    let start = sim.now();
    transfer(&mut sim, CLIENT, LOSS_LOAD, limit);
    let forward = sim.now() - start;
    let start = sim.now();
    transfer(&mut sim, SERVER, LOSS_LOAD, limit);
    println!(
        "{client:?} client, loss {p}: {} B client->server in {forward:?}, server->client in {:?}",
        LOSS_LOAD.bytes(),
        sim.now() - start
    );
    for link in [LinkId(0), LinkId(1)] {
        let stats = sim.link_stats(link).expect("link");
        assert!(stats.dropped_random > 0, "{link:?} lost nothing");
    }
    let (braid, dcs) = roles(client);
    dc_only_connected(&mut sim, dcs);
    assert!(peer(&mut sim, braid).braid().stats().retransmissions > 0);
    let w = wire(&mut sim);
    check_u_bits(&w, LOSS_LOAD.streams - 1);
}

#[test]
fn loss_1_percent_braid_client_dcsctp_server() {
    loss(Who::Braid, 5, 0.01, secs(120));
}

#[test]
fn loss_1_percent_dcsctp_client_braid_server() {
    loss(Who::Dc, 6, 0.01, secs(120));
}

#[test]
fn loss_5_percent_braid_client_dcsctp_server() {
    loss(Who::Braid, 7, 0.05, secs(300));
}

#[test]
fn loss_5_percent_dcsctp_client_braid_server() {
    loss(Who::Dc, 8, 0.05, secs(300));
}

/// `initiator` sends 50 messages of 2000 B and starts a graceful shutdown: at once when
/// Braid initiates; for dcsctp, only once all of them are delivered and acknowledged (see
/// [`discards_queued`] for why). Every message is delivered first
/// (RFC 9260 §9.2), then SHUTDOWN, SHUTDOWN ACK, SHUTDOWN COMPLETE; both sides report a
/// graceful close (Braid `Closed(CloseReason::Shutdown)`, dcsctp `OnClosed`, no error or
/// abort), and nothing is sent after.
fn shutdown(client: Who, initiator: Who, seed: u64) {
    let mut sim = build(seed, client, &clean(ms(20)), Ext::Default);
    connect(&mut sim);
    let (braid, dcs) = roles(client);
    let (from, to) = if initiator == Who::Braid {
        (braid, dcs)
    } else {
        (dcs, braid)
    };
    let mut checker = Checker::new();
    for i in 0..50u16 {
        let (id, payload) = checker.payload(i % 2, false, 2000);
        let now = sim.now();
        assert!(peer(&mut sim, from).send(now, i % 2, payload, false));
        checker.sent(id);
    }
    if initiator == Who::Dc {
        sim.run_for(secs(2)).expect("no livelock");
        for msg in peer(&mut sim, to).read(&HashSet::new()) {
            checker.received(&msg).expect("invariants hold");
        }
        checker
            .all_delivered()
            .expect("delivered before the shutdown");
    }
    let now = sim.now();
    peer(&mut sim, from).shutdown(now);
    let done = until_closed(&mut sim, to, &mut checker);
    checker
        .all_delivered()
        .expect("data queued before the shutdown delivered");
    assert!(done, "both sides closed:\n{}", dump(&mut sim));
    println!(
        "{client:?} client, {initiator:?} shut down: closed at {:?}",
        sim.elapsed()
    );
    check_graceful_close(&mut sim, braid, dcs, initiator);
    let w = wire(&mut sim);
    let (f, t) = (from.0, to.0);
    assert!(!w.shutdown_cum_acks[f].is_empty(), "{}", w.summary());
    assert!(w.shutdown_cum_acks[t].is_empty(), "{}", w.summary());
    // The SHUTDOWN acknowledges what the peer sent: nothing, so its initial TSN - 1.
    let expected = w.initial_tsn[t].expect("INIT").wrapping_sub(1);
    assert!(
        w.shutdown_cum_acks[f].iter().all(|&c| c == expected),
        "{}",
        w.summary()
    );
    assert!(w.data_tsns[t].is_empty());
    assert!(w.data_tsns[f].len() >= 50 * 2000 / 1172, "{}", w.summary());
    check_shutdown_wire(&w, from, to);
}

/// Both sides closed gracefully and reported it, and stay silent for two minutes.
fn check_graceful_close(sim: &mut Net, braid: NodeId, dcs: NodeId, initiator: Who) {
    let b = peer(sim, braid).braid();
    assert_eq!(b.close_reason(), Some(&CloseReason::Shutdown));
    let events: Vec<Event> = std::iter::from_fn(|| b.poll_event()).collect();
    assert_eq!(events.first(), Some(&Event::Connected));
    assert_eq!(events.last(), Some(&Event::Closed(CloseReason::Shutdown)));
    assert_eq!(
        events.contains(&Event::ShutdownStarted),
        initiator == Who::Dc,
        "{events:?}"
    );
    let d = peer(sim, dcs).other();
    assert!(
        matches!(
            d.events.as_slice(),
            [SocketEvent::OnConnected(), SocketEvent::OnClosed()]
        ),
        "dcsctp closed gracefully: {:?}",
        d.events
    );
    let last = sim.trace().last().cloned();
    sim.run_for(secs(120)).expect("no livelock");
    assert_eq!(sim.trace().last().cloned(), last, "silent after close");
}

/// The shutdown's control chunks: the initiator's end with SHUTDOWN, SHUTDOWN COMPLETE; the
/// peer's with one SHUTDOWN ACK, and the peer sends no SHUTDOWN.
fn check_shutdown_wire(w: &Wire, from: NodeId, to: NodeId) {
    let (f, t) = (from.0, to.0);
    let tail = |side: usize, n: usize| -> Vec<&str> {
        let c = &w.control[side];
        c[c.len().saturating_sub(n)..].to_vec()
    };
    assert_eq!(
        tail(f, 2),
        ["SHUTDOWN", "SHUTDOWN-COMPLETE"],
        "{}",
        w.summary()
    );
    assert_eq!(tail(t, 1), ["SHUTDOWN-ACK"], "{}", w.summary());
    assert!(!w.control[t].contains(&"SHUTDOWN"), "{}", w.summary());
}

#[test]
fn shutdown_by_braid_client() {
    shutdown(Who::Braid, Who::Braid, 9);
}

#[test]
fn shutdown_by_braid_server() {
    shutdown(Who::Dc, Who::Braid, 10);
}

#[test]
fn shutdown_by_dcsctp_client() {
    shutdown(Who::Dc, Who::Dc, 11);
}

#[test]
fn shutdown_by_dcsctp_server() {
    shutdown(Who::Braid, Who::Dc, 12);
}

/// dcsctp 0.1.16 DEVIATES: messages accepted by `send` but not yet transmitted when
/// `shutdown()` is called are silently discarded. `do_shutdown` enters SHUTDOWN-PENDING and
/// `maybe_send_shutdown` sends the SHUTDOWN as soon as the retransmission queue has no
/// unacknowledged chunk (`unacked_items() == 0`), without looking at the send queue; from
/// SHUTDOWN-SENT on, nothing more is taken from the send queue. So once the first flight
/// (the initial cwnd, 10 MTUs) is acknowledged, SHUTDOWN goes out and the rest is dropped,
/// with no error event, and dcsctp reports a normal `OnClosed`. RFC 9260 §9.2: "the
/// endpoint enters the SHUTDOWN-PENDING state and remains there until all outstanding data
/// has been acknowledged by its peer"; §11.1 B (Shutdown): "any locally queued user data
/// will be delivered to the peer"; dcsctp's own doc of `shutdown()`: "Gracefully shutdowns
/// the socket and sends all outstanding data". Braid receives a prefix of the messages,
/// in order, and closes normally.
fn discards_queued(client: Who, seed: u64) {
    let mut sim = build(seed, client, &clean(ms(20)), Ext::Default);
    connect(&mut sim);
    let (braid, dcs) = roles(client);
    let mut checker = Checker::new();
    let mut sent = Vec::new();
    for _ in 0..50 {
        let (id, payload) = checker.payload(0, false, 2000);
        let now = sim.now();
        assert!(peer(&mut sim, dcs).send(now, 0, payload, false));
        checker.sent(id);
        sent.push(id.seq);
    }
    let now = sim.now();
    peer(&mut sim, dcs).shutdown(now);
    let deadline = sim.now() + secs(30);
    let closed = sim
        .run_until_cond(deadline, |s| {
            peer(s, CLIENT).closed() && peer(s, SERVER).closed()
        })
        .expect("no livelock");
    assert!(closed, "both sides closed");
    let got: Vec<u64> = peer(&mut sim, braid)
        .read(&HashSet::new())
        .iter()
        .map(|m| {
            checker.received(m).expect("invariants hold");
            braid_sim::check::parse_payload(0, &m.payload)
                .expect("checked payload")
                .seq
        })
        .collect();
    println!(
        "{client:?} client: dcsctp delivered {} of 50 messages queued before shutdown()",
        got.len()
    );
    assert!(!got.is_empty() && got.len() < 50, "{got:?}");
    assert_eq!(got, sent[..got.len()], "a prefix, in order");
    assert!(matches!(
        checker.all_delivered(),
        Err(braid_sim::check::Violation::Missing { count, .. }) if count == 50 - got.len()
    ));
    check_graceful_close(&mut sim, braid, dcs, Who::Dc);
    let w = wire(&mut sim);
    // The rest was never transmitted (not lost: the link is clean): fewer DATA chunks than
    // the 50 messages need.
    let dc_chunks: HashSet<u32> = w.data_tsns[dcs.0].iter().copied().collect();
    assert!(dc_chunks.len() * 1172 < 50 * 2000, "{}", w.summary());
    assert_eq!(sim.link_stats(LinkId(0)).expect("link").dropped(), 0);
    check_shutdown_wire(&w, dcs, braid);
}

#[test]
fn dcsctp_shutdown_discards_queued_data_dcsctp_client() {
    discards_queued(Who::Dc, 15);
}

#[test]
fn dcsctp_shutdown_discards_queued_data_dcsctp_server() {
    discards_queued(Who::Braid, 16);
}

/// Braid's ABORT reaches dcsctp as `OnAborted(PeerReported)`, and dcsctp's (`close()`)
/// reaches Braid as `Closed(PeerAborted)`; both sides end CLOSED.
#[test]
fn abort_both_ways() {
    for (client, seed, aborter) in [
        (Who::Braid, 13, Who::Braid),
        (Who::Dc, 14, Who::Braid),
        (Who::Braid, 17, Who::Dc),
        (Who::Dc, 18, Who::Dc),
    ] {
        let mut sim = build(seed, client, &clean(ms(20)), Ext::Default);
        connect(&mut sim);
        let (braid, dcs) = roles(client);
        let now = sim.now();
        if aborter == Who::Braid {
            peer(&mut sim, braid).braid().abort(now, "test");
        } else {
            let d = peer(&mut sim, dcs).other();
            d.advance(now);
            d.socket.close();
        }
        sim.run_for(secs(1)).expect("no livelock");
        assert!(peer(&mut sim, braid).closed() && peer(&mut sim, dcs).closed());
        let reason = peer(&mut sim, braid).braid().close_reason().cloned();
        let d = peer(&mut sim, dcs).other();
        if aborter == Who::Braid {
            assert_eq!(reason, Some(CloseReason::Aborted("test".into())));
            assert!(
                matches!(
                    d.events.as_slice(),
                    [
                        SocketEvent::OnConnected(),
                        SocketEvent::OnAborted(ErrorKind::PeerReported, _)
                    ]
                ),
                "{:?}",
                d.events
            );
        } else {
            assert!(
                matches!(reason, Some(CloseReason::PeerAborted(_))),
                "{reason:?}"
            );
            // `close()` reports `OnClosed` before it returns (and nothing after).
            assert!(
                matches!(
                    d.events.as_slice(),
                    [SocketEvent::OnConnected(), SocketEvent::OnClosed()]
                ),
                "{:?}",
                d.events
            );
        }
    }
}
