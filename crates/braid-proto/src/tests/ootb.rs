//! Out-of-the-blue packets (RFC 9260 §8.4): what an endpoint with no association for the
//! sender answers to each kind of packet, rule by rule — and the same rules for a standalone
//! [`Association::accept`] driven without an endpoint.
//!
//! Rule 1 (non-unicast addresses) is the socket layer's business and has no test here.

use std::time::Instant;

use braid_wire::cause::StaleCookie;
use braid_wire::chunk::chunk_type as t;
use braid_wire::{
    Abort, Bytes, ChecksumPolicy, Chunk, CookieEcho, ErrorCause, Heartbeat, Init, OperationError,
    Packet, Shutdown, ShutdownComplete, Tsn,
};

use crate::harness::{packet, packet_ports, Pair, Side, PORT};
use crate::{
    Association, AssociationConfig, CloseReason, EndpointConfig, Event, PathId, Ports, State,
    MAX_CONTROL_QUEUE,
};

/// The verification tag a stranger with no association puts in its packets.
const STRANGER_TAG: u32 = 0x5eed_f00d;
/// The Initiate Tag of the stranger's INIT.
const STRANGER_INITIATE_TAG: u32 = 0x1234_5678;

// ---------------------------------------------------------------- helpers

fn init(initiate_tag: u32) -> Chunk {
    Chunk::Init(Init {
        initiate_tag,
        a_rwnd: 65536,
        outbound_streams: 10,
        inbound_streams: 10,
        initial_tsn: Tsn(1000),
        params: Vec::new(),
    })
}

fn heartbeat() -> Chunk {
    Chunk::Heartbeat(Heartbeat {
        info: Bytes::from_static(b"anyone there?"),
    })
}

fn abort(t_bit: bool) -> Chunk {
    Chunk::Abort(Abort {
        t_bit,
        causes: Vec::new(),
    })
}

fn shutdown_complete(t_bit: bool) -> Chunk {
    Chunk::ShutdownComplete(ShutdownComplete { t_bit })
}

fn stale_cookie_error() -> Chunk {
    Chunk::Error(OperationError {
        causes: vec![ErrorCause::StaleCookie(StaleCookie { staleness_us: 5000 })],
    })
}

fn garbage_cookie() -> Chunk {
    Chunk::CookieEcho(CookieEcho {
        cookie: Bytes::from(vec![0xa5; 80]),
    })
}

/// What the ABORT that §8.4 rule 8 prescribes looks like: T bit set, no cause.
fn reflected_abort() -> Vec<Chunk> {
    vec![abort(true)]
}

/// Every packet `side` sends now, as (verification tag, chunks).
fn answers(pair: &mut Pair, side: Side) -> Vec<(u32, Vec<Chunk>)> {
    pair.transmit(side)
        .iter()
        .map(|s| (s.header().verification_tag, s.chunks()))
        .collect()
}

/// A stranger (A's address, no association anywhere) sends `chunks` with `tag` to Z; returns
/// what Z answers. Z must still have no association afterwards.
fn stranger_to_z(pair: &mut Pair, tag: u32, chunks: &[Chunk]) -> Vec<(u32, Vec<Chunk>)> {
    pair.deliver_bytes(Side::Z, packet(tag, chunks));
    let out = answers(pair, Side::Z);
    assert_eq!(
        pair.z.association_count(),
        0,
        "an out-of-the-blue packet created state: {chunks:?}"
    );
    out
}

fn z_refuses_incoming() -> Pair {
    let z = EndpointConfig {
        accept_incoming: false,
        ..Default::default()
    };
    Pair::with_config(EndpointConfig::default(), z)
}

/// Feeds one packet to a standalone association and returns what it sends, as (verification
/// tag, chunks).
fn feed(assoc: &mut Association, now: Instant, bytes: Bytes) -> Vec<(u32, Vec<Chunk>)> {
    assoc.handle_packet(now, PathId(0), bytes);
    drain(assoc, now)
}

fn drain(assoc: &mut Association, now: Instant) -> Vec<(u32, Vec<Chunk>)> {
    let mut out = Vec::new();
    let mut buf = Vec::new();
    while let Some(tx) = assoc.poll_transmit(now, &mut buf) {
        let bytes = buf.split_off(buf.len() - tx.len);
        let p = Packet::parse(Bytes::from(bytes), ChecksumPolicy::Crc32c).unwrap();
        let chunks = p.chunks().map(|c| c.unwrap()).collect();
        out.push((p.header().verification_tag, chunks));
    }
    out
}

/// Moves packets between two standalone associations until neither has any to send.
fn pump(a: &mut Association, b: &mut Association, now: Instant) {
    fn one_way(from: &mut Association, to: &mut Association, now: Instant) -> bool {
        let mut buf = Vec::new();
        let mut moved = false;
        while let Some(tx) = from.poll_transmit(now, &mut buf) {
            let bytes = buf.split_off(buf.len() - tx.len);
            to.handle_packet(now, PathId(0), Bytes::from(bytes));
            moved = true;
        }
        moved
    }
    while one_way(a, b, now) | one_way(b, a, now) {}
}

// ---------------------------------------------------------------- rule 2

/// §8.4 rule 2: a packet holding an ABORT — first or not, T bit or not — is discarded without a
/// word, so two endpoints without state never ping-pong ABORTs.
#[test]
fn rule2_a_packet_with_an_abort_is_discarded() {
    let mut pair = Pair::new();
    // stranger -> ABORT -> Z: nothing back.
    assert_eq!(stranger_to_z(&mut pair, STRANGER_TAG, &[abort(false)]), []);
    assert_eq!(stranger_to_z(&mut pair, STRANGER_TAG, &[abort(true)]), []);
    // stranger -> HEARTBEAT + ABORT -> Z: the HEARTBEAT alone would earn an ABORT (rule 8),
    // but the packet carries an ABORT, so nothing.
    assert_eq!(
        stranger_to_z(&mut pair, STRANGER_TAG, &[heartbeat(), abort(false)]),
        []
    );
    assert_eq!(pair.z.stats().ootb_replies, 0);
}

// ---------------------------------------------------------------- rule 3

/// §8.4 rule 3: an endpoint that takes no associations answers an INIT (tag 0) with an ABORT
/// whose tag is the INIT's Initiate Tag, T bit clear (the tag is the peer's, not reflected).
#[test]
fn rule3_init_to_a_refusing_endpoint_is_aborted_with_its_initiate_tag() {
    let mut pair = z_refuses_incoming();
    // stranger -> INIT (tag 0, Initiate Tag X) -> Z
    // stranger <- ABORT (tag X, T=0) <- Z
    let out = stranger_to_z(&mut pair, 0, &[init(STRANGER_INITIATE_TAG)]);
    assert_eq!(out, vec![(STRANGER_INITIATE_TAG, vec![abort(false)])]);
    // An INIT with a non-zero tag breaks §8.5.1 A: discarded, no ABORT.
    assert_eq!(
        stranger_to_z(&mut pair, STRANGER_TAG, &[init(STRANGER_INITIATE_TAG)]),
        []
    );
}

/// The same as a story between two real endpoints: A's association learns of the refusal
/// from the ABORT and closes at once instead of retransmitting INITs.
#[test]
fn rule3_refused_init_closes_the_initiator() {
    let mut pair = z_refuses_incoming();
    pair.connect(Side::A);
    let a_tag = pair.assoc(Side::A).local_tag();
    // A -> INIT -> Z
    let init = pair.transmit_one(Side::A);
    assert!(init.is(t::INIT));
    pair.deliver(&init);
    assert_eq!(pair.z.association_count(), 0);
    // A <- ABORT (A's Initiate Tag, T=0) <- Z
    let abort_packet = pair.transmit_one(Side::Z);
    assert_eq!(abort_packet.header().verification_tag, a_tag);
    assert_eq!(abort_packet.chunks(), vec![abort(false)]);
    pair.deliver(&abort_packet);
    assert_eq!(pair.state(Side::A), Some(State::Closed));
    assert_eq!(
        pair.events(Side::A),
        vec![Event::Closed(CloseReason::PeerAborted(Vec::new()))]
    );
    assert!(pair.transmit(Side::A).is_empty());
}

/// §8.4 rule 3 / §5.1.3: an accepting endpoint answers an INIT with an INIT ACK to the INIT's
/// Initiate Tag, and keeps no state for it, however often it comes.
#[test]
fn rule3_init_to_an_accepting_endpoint_gets_an_init_ack_and_no_state() {
    let mut pair = Pair::new();
    for n in 1..=3 {
        // stranger -> INIT -> Z; stranger <- INIT ACK <- Z
        let out = stranger_to_z(&mut pair, 0, &[init(STRANGER_INITIATE_TAG)]);
        assert_eq!(out.len(), 1, "{out:?}");
        let (tag, chunks) = &out[0];
        assert_eq!(*tag, STRANGER_INITIATE_TAG);
        let [Chunk::InitAck(ack)] = chunks.as_slice() else {
            panic!("expected a lone INIT ACK, got {chunks:?}");
        };
        assert_ne!(ack.initiate_tag, 0);
        assert!(ack.state_cookie().is_some());
        assert_eq!(pair.z.stats().init_acks, n);
        assert_eq!(pair.z.stats().ootb_replies, 0);
    }
}

// ---------------------------------------------------------------- rule 4

/// §8.4 rule 4 / §5.1.5: a COOKIE ECHO is processed as §5.1 says; one whose cookie is forged or
/// corrupted is silently discarded and creates nothing. A genuine one still works afterwards.
#[test]
fn rule4_cookie_echo_with_an_invalid_cookie_is_discarded() {
    let mut pair = Pair::new();
    // stranger -> COOKIE ECHO (garbage) -> Z: nothing.
    assert_eq!(
        stranger_to_z(&mut pair, STRANGER_TAG, &[garbage_cookie()]),
        []
    );
    assert_eq!(pair.z.stats().cookies_rejected, 1);

    // stranger -> INIT -> Z; stranger <- INIT ACK <- Z
    let out = stranger_to_z(&mut pair, 0, &[init(STRANGER_INITIATE_TAG)]);
    let Chunk::InitAck(ack) = &out[0].1[0] else {
        panic!("expected an INIT ACK, got {out:?}");
    };
    let z_tag = ack.initiate_tag;
    let cookie = ack.state_cookie().unwrap().clone();
    // stranger -> COOKIE ECHO (one bit flipped) -> Z: nothing.
    let mut tampered = cookie.to_vec();
    tampered[20] ^= 0x01;
    let echo = Chunk::CookieEcho(CookieEcho {
        cookie: Bytes::from(tampered),
    });
    assert_eq!(stranger_to_z(&mut pair, z_tag, &[echo]), []);
    assert_eq!(pair.z.stats().cookies_rejected, 2);

    // stranger -> COOKIE ECHO (genuine) -> Z; stranger <- COOKIE ACK <- Z
    pair.deliver_bytes(
        Side::Z,
        packet(z_tag, &[Chunk::CookieEcho(CookieEcho { cookie })]),
    );
    assert_eq!(
        answers(&mut pair, Side::Z),
        vec![(STRANGER_INITIATE_TAG, vec![Chunk::CookieAck])]
    );
    assert_eq!(pair.z.association_count(), 1);
}

// ---------------------------------------------------------------- rule 5

/// §8.4 rule 5: a SHUTDOWN ACK gets a SHUTDOWN COMPLETE carrying the packet's own tag, T bit
/// set (reflected), sent back to the port it came from.
#[test]
fn rule5_shutdown_ack_gets_shutdown_complete_with_the_tag_reflected() {
    let mut pair = Pair::new();
    // stranger (port 6000) -> SHUTDOWN ACK -> Z
    pair.deliver_bytes(
        Side::Z,
        packet_ports(6000, PORT, STRANGER_TAG, &[Chunk::ShutdownAck]),
    );
    // stranger <- SHUTDOWN COMPLETE (T=1, tag reflected) <- Z
    let reply = pair.transmit_one(Side::Z);
    let h = reply.header();
    assert_eq!(
        (h.src_port, h.dst_port, h.verification_tag),
        (PORT, 6000, STRANGER_TAG)
    );
    assert_eq!(reply.chunks(), vec![shutdown_complete(true)]);
    assert_eq!(pair.z.association_count(), 0);
    assert_eq!(pair.z.stats().ootb_replies, 1);
}

/// Rule 5 is what finishes a shutdown whose SHUTDOWN COMPLETE was lost: the side that sent it
/// has forgotten the association, so Z's retransmitted SHUTDOWN ACK is out of the blue, and
/// the reflected SHUTDOWN COMPLETE (T=1, Z's peer tag) is one Z accepts (§8.5.1 C).
#[test]
fn rule5_recovers_a_lost_shutdown_complete() {
    let mut pair = Pair::established();
    let a_tag = pair.assoc(Side::A).local_tag();
    let now = pair.now;
    pair.assoc_mut(Side::A).shutdown(now);
    // A -> SHUTDOWN -> Z
    let shutdown = pair.transmit_one(Side::A);
    assert!(shutdown.is(t::SHUTDOWN));
    pair.deliver(&shutdown);
    // A <- SHUTDOWN ACK <- Z
    let ack = pair.transmit_one(Side::Z);
    assert!(ack.is(t::SHUTDOWN_ACK));
    pair.deliver(&ack);
    // A -> SHUTDOWN COMPLETE -> (lost) Z
    let complete = pair.transmit_one(Side::A);
    assert!(complete.is(t::SHUTDOWN_COMPLETE));
    assert_eq!(
        pair.events(Side::A),
        vec![Event::Closed(CloseReason::Shutdown)]
    );
    assert_eq!(pair.state(Side::Z), Some(State::ShutdownAckSent));
    // Z's T2-shutdown expires: A <- SHUTDOWN ACK (again) <- Z
    let due = pair.z.poll_timeout().unwrap();
    pair.advance(due - pair.now);
    let again = pair.transmit_one(Side::Z);
    assert!(again.is(t::SHUTDOWN_ACK));
    assert_eq!(again.header().verification_tag, a_tag);
    pair.deliver(&again);
    assert_eq!(pair.a.association_count(), 0, "A forgot the association");
    // A (no association) -> SHUTDOWN COMPLETE (T=1, tag reflected) -> Z
    let reply = pair.transmit_one(Side::A);
    assert_eq!(reply.header().verification_tag, a_tag);
    assert_eq!(reply.chunks(), vec![shutdown_complete(true)]);
    pair.deliver(&reply);
    assert_eq!(pair.state(Side::Z), Some(State::Closed));
    assert_eq!(
        pair.events(Side::Z).last(),
        Some(&Event::Closed(CloseReason::Shutdown))
    );
}

// ---------------------------------------------------------------- rules 6 and 7

/// §8.4 rule 6: a SHUTDOWN COMPLETE is discarded, with or without the T bit.
#[test]
fn rule6_shutdown_complete_is_discarded() {
    let mut pair = Pair::new();
    for t_bit in [false, true] {
        assert_eq!(
            stranger_to_z(&mut pair, STRANGER_TAG, &[shutdown_complete(t_bit)]),
            []
        );
    }
    assert_eq!(pair.z.stats().ootb_replies, 0);
}

/// §8.4 rule 7: an ERROR with a "Stale Cookie" cause and a COOKIE ACK are discarded. Any other
/// ERROR is not covered by rule 7 and falls through to rule 8.
#[test]
fn rule7_stale_cookie_error_and_cookie_ack_are_discarded() {
    let mut pair = Pair::new();
    // stranger -> ERROR (Stale Cookie) -> Z: nothing.
    assert_eq!(
        stranger_to_z(&mut pair, STRANGER_TAG, &[stale_cookie_error()]),
        []
    );
    // stranger -> COOKIE ACK -> Z: nothing.
    assert_eq!(
        stranger_to_z(&mut pair, STRANGER_TAG, &[Chunk::CookieAck]),
        []
    );
    // stranger -> HEARTBEAT + COOKIE ACK -> Z: the packet contains a COOKIE ACK: nothing.
    assert_eq!(
        stranger_to_z(&mut pair, STRANGER_TAG, &[heartbeat(), Chunk::CookieAck]),
        []
    );
    assert_eq!(pair.z.stats().ootb_replies, 0);
    // stranger -> ERROR (Out of Resource) -> Z; stranger <- ABORT (T=1) <- Z (rule 8).
    let other_error = Chunk::Error(OperationError {
        causes: vec![ErrorCause::OutOfResource],
    });
    assert_eq!(
        stranger_to_z(&mut pair, STRANGER_TAG, &[other_error]),
        vec![(STRANGER_TAG, reflected_abort())]
    );
}

// ---------------------------------------------------------------- rule 8

/// §8.4 rule 8: anything else earns an ABORT carrying the packet's own tag with the T bit set,
/// sent back to the port it came from, and the packet is not processed further.
#[test]
fn rule8_anything_else_gets_an_abort_with_the_tag_reflected() {
    let mut pair = Pair::new();
    let shutdown = Chunk::Shutdown(Shutdown {
        cumulative_tsn_ack: Tsn(77),
    });
    let heartbeat_ack = Chunk::HeartbeatAck(Heartbeat {
        info: Bytes::from_static(b"never sent"),
    });
    for (i, chunks) in [
        vec![heartbeat()],
        vec![shutdown],
        vec![heartbeat_ack],
        vec![heartbeat(), heartbeat()],
    ]
    .into_iter()
    .enumerate()
    {
        let tag = STRANGER_TAG + i as u32;
        // stranger (port 6000) -> ... -> Z; stranger <- ABORT (T=1, tag reflected) <- Z
        pair.deliver_bytes(Side::Z, packet_ports(6000, PORT, tag, &chunks));
        let reply = pair.transmit_one(Side::Z);
        let h = reply.header();
        assert_eq!(
            (h.src_port, h.dst_port, h.verification_tag),
            (PORT, 6000, tag),
            "{chunks:?}"
        );
        assert_eq!(reply.chunks(), reflected_abort(), "{chunks:?}");
        assert_eq!(pair.z.association_count(), 0);
    }
    assert_eq!(pair.z.stats().ootb_replies, 4);
}

// ---------------------------------------------------------------- standalone association

/// The same rules for a standalone association that listens (`Association::accept`, e.g.
/// over DTLS): every out-of-the-blue packet gets the §8.4 answer, nothing changes its state,
/// and it still accepts a genuine peer afterwards.
#[test]
fn standalone_accept_follows_the_same_rules() {
    let start = Instant::now();
    let mut server = Association::accept(
        start,
        AssociationConfig::default(),
        Ports::default(),
        2,
        None,
    );
    let now = start;
    let tag = STRANGER_TAG;
    let silent: [(&str, Vec<Chunk>); 8] = [
        ("rule 2: ABORT", vec![abort(false)]),
        ("rule 2: ABORT, T=1", vec![abort(true)]),
        ("rule 2: HEARTBEAT + ABORT", vec![heartbeat(), abort(false)]),
        ("§8.5.1 A: INIT with a non-zero tag", vec![init(1)]),
        ("rule 4: invalid COOKIE ECHO", vec![garbage_cookie()]),
        ("rule 6: SHUTDOWN COMPLETE", vec![shutdown_complete(false)]),
        ("rule 7: Stale Cookie ERROR", vec![stale_cookie_error()]),
        ("rule 7: COOKIE ACK", vec![Chunk::CookieAck]),
    ];
    for (what, chunks) in silent {
        assert_eq!(feed(&mut server, now, packet(tag, &chunks)), [], "{what}");
        assert_eq!(server.state(), State::Closed, "{what}");
    }
    // stranger -> SHUTDOWN ACK -> server; stranger <- SHUTDOWN COMPLETE (T=1, reflected)
    assert_eq!(
        feed(&mut server, now, packet(tag, &[Chunk::ShutdownAck])),
        vec![(tag, vec![shutdown_complete(true)])]
    );
    // stranger -> HEARTBEAT / SHUTDOWN -> server; stranger <- ABORT (T=1, reflected)
    let shutdown = Chunk::Shutdown(Shutdown {
        cumulative_tsn_ack: Tsn(1),
    });
    for chunk in [heartbeat(), shutdown] {
        assert_eq!(
            feed(&mut server, now, packet(tag, &[chunk])),
            vec![(tag, reflected_abort())]
        );
    }
    // stranger -> INIT -> server; stranger <- INIT ACK (to the Initiate Tag), no state.
    let out = feed(&mut server, now, packet(0, &[init(STRANGER_INITIATE_TAG)]));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, STRANGER_INITIATE_TAG);
    assert!(matches!(out[0].1.as_slice(), [Chunk::InitAck(_)]));
    assert_eq!(server.state(), State::Closed);
    assert_eq!((server.local_tag(), server.peer_tag()), (0, 0));
    assert_eq!(server.poll_timeout(), None, "no timer for an INIT");
    assert_eq!(server.poll_event(), None);

    // A genuine client still gets in.
    let mut client =
        Association::connect(now, AssociationConfig::default(), Ports::default(), 1, None);
    pump(&mut client, &mut server, now);
    assert_eq!(client.state(), State::Established);
    assert_eq!(server.state(), State::Established);
    assert_eq!(server.poll_event(), Some(Event::Connected));
}

/// A standalone association that is not listening (it connected and was then abandoned)
/// answers like an endpoint that refuses associations: an INIT gets the rule 3 ABORT.
#[test]
fn standalone_closed_association_aborts_an_init() {
    let now = Instant::now();
    let mut assoc =
        Association::connect(now, AssociationConfig::default(), Ports::default(), 3, None);
    let first = drain(&mut assoc, now);
    assert!(matches!(first[0].1.as_slice(), [Chunk::Init(_)]));
    assoc.abort(now, "changed my mind");
    assert_eq!(drain(&mut assoc, now), [], "no peer tag yet: no ABORT");
    assert_eq!(assoc.state(), State::Closed);
    // stranger -> INIT -> assoc; stranger <- ABORT (Initiate Tag, T=0)
    assert_eq!(
        feed(&mut assoc, now, packet(0, &[init(STRANGER_INITIATE_TAG)])),
        vec![(STRANGER_INITIATE_TAG, vec![abort(false)])]
    );
    // stranger -> HEARTBEAT -> assoc; stranger <- ABORT (T=1, reflected)
    assert_eq!(
        feed(&mut assoc, now, packet(STRANGER_TAG, &[heartbeat()])),
        vec![(STRANGER_TAG, reflected_abort())]
    );
}

/// Out-of-the-blue answers are provoked at will by anyone who can reach the port, so a
/// standalone association must keep them within its control-queue bound
/// ([`MAX_CONTROL_QUEUE`]) when its caller is slow to drain, as it does for HEARTBEAT ACKs.
#[test]
fn standalone_ootb_replies_stay_within_the_control_queue_bound() {
    let now = Instant::now();
    let mut server =
        Association::accept(now, AssociationConfig::default(), Ports::default(), 2, None);
    let flood = 4 * MAX_CONTROL_QUEUE;
    for i in 0..flood {
        server.handle_packet(now, PathId(0), packet(i as u32 + 1, &[heartbeat()]));
    }
    let aborts: usize = drain(&mut server, now)
        .iter()
        .map(|(_, chunks)| chunks.len())
        .sum();
    assert!(
        aborts <= MAX_CONTROL_QUEUE,
        "{aborts} ABORTs queued for {flood} out-of-the-blue packets"
    );
    assert!(server.stats().control_dropped > 0);
}
