//! Verification tags (RFC 9260 §8.5, §8.5.1): which tag each packet carries, and which
//! received packets an association accepts, chunk type by chunk type.
//!
//! In these stories the packets "from A" that carry a wrong tag are hand-built (a blind
//! attacker, or a stale packet from an old incarnation) and delivered from A's address.

use core::time::Duration;

use braid_wire::chunk::chunk_type as t;
use braid_wire::{
    checksum, Abort, Bytes, Chunk, CookieEcho, ErrorCause, Heartbeat, Init, ShutdownComplete, Tsn,
};

use crate::harness::{packet, perfect, Fate, Pair, Sent, Side};
use crate::{CloseReason, Event, State};

// ---------------------------------------------------------------- helpers

fn heartbeat(info: &'static [u8]) -> Chunk {
    Chunk::Heartbeat(Heartbeat {
        info: Bytes::from_static(info),
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

/// (tag Z expects, tag Z sends with).
fn z_tags(pair: &Pair) -> (u32, u32) {
    let z = pair.assoc(Side::Z);
    let tags = (z.local_tag(), z.peer_tag());
    assert_ne!(tags.0, tags.1, "the tests need distinct tags");
    tags
}

/// Every packet `side` sends now, as (verification tag, chunks).
fn answers(pair: &mut Pair, side: Side) -> Vec<(u32, Vec<Chunk>)> {
    pair.transmit(side)
        .iter()
        .map(|s| (s.header().verification_tag, s.chunks()))
        .collect()
}

/// The same packet with another verification tag (and a fresh checksum).
fn retag(sent: &Sent, tag: u32) -> Bytes {
    packet(tag, &sent.chunks())
}

/// Z shut down by A up to SHUTDOWN-ACK-SENT; Z's SHUTDOWN ACK is returned undelivered.
fn z_in_shutdown_ack_sent() -> (Pair, Sent) {
    let mut pair = Pair::established();
    let now = pair.now;
    pair.assoc_mut(Side::A).shutdown(now);
    // A -> SHUTDOWN -> Z
    let shutdown = pair.transmit_one(Side::A);
    assert!(shutdown.is(t::SHUTDOWN));
    pair.deliver(&shutdown);
    // A <- SHUTDOWN ACK <- (held) Z
    let ack = pair.transmit_one(Side::Z);
    assert!(ack.is(t::SHUTDOWN_ACK));
    assert_eq!(pair.state(Side::Z), Some(State::ShutdownAckSent));
    pair.events(Side::Z);
    (pair, ack)
}

// ---------------------------------------------------------------- §8.5

/// §8.5: every packet of the handshake and after carries the tag the receiver chose (its
/// Initiate Tag), INIT excepted (0, §8.5.1 A).
#[test]
fn every_packet_carries_the_receivers_tag() {
    let mut pair = Pair::established();
    let (a_local, z_local) = (
        pair.assoc(Side::A).local_tag(),
        pair.assoc(Side::Z).local_tag(),
    );
    // Two minutes of heartbeats each way, to have packets after the handshake too.
    pair.run(Duration::from_secs(120), &mut perfect);
    assert!(
        pair.sent_count(Side::A, t::HEARTBEAT) > 0,
        "{}",
        pair.trace()
    );
    assert!(
        pair.sent_count(Side::Z, t::HEARTBEAT_ACK) > 0,
        "{}",
        pair.trace()
    );
    for (_, sent) in &pair.log {
        let expected = match (sent.from, sent.types()[0]) {
            (_, t::INIT) => 0,
            (Side::A, _) => z_local,
            (Side::Z, _) => a_local,
        };
        assert_eq!(sent.header().verification_tag, expected, "{sent}");
    }
}

/// §8.5: a packet whose tag is not ours is dropped before any chunk is processed: no
/// HEARTBEAT ACK, and the drop is counted. The same HEARTBEAT with our tag is answered.
#[test]
fn packet_with_a_wrong_tag_is_dropped() {
    let mut pair = Pair::established();
    let (z_local, z_peer) = z_tags(&pair);
    for wrong in [z_local ^ 1, z_peer, 0] {
        let dropped = pair.assoc(Side::Z).stats().packets_dropped;
        // A -> HEARTBEAT (wrong tag) -> Z: nothing back.
        pair.deliver_bytes(Side::Z, packet(wrong, &[heartbeat(b"wrong tag")]));
        assert_eq!(answers(&mut pair, Side::Z), [], "tag {wrong:#x}");
        assert_eq!(
            pair.assoc(Side::Z).stats().packets_dropped,
            dropped + 1,
            "tag {wrong:#x}"
        );
    }
    // A -> HEARTBEAT (Z's tag) -> Z; A <- HEARTBEAT ACK (A's tag) <- Z
    pair.deliver_bytes(Side::Z, packet(z_local, &[heartbeat(b"right tag")]));
    let ack = Chunk::HeartbeatAck(Heartbeat {
        info: Bytes::from_static(b"right tag"),
    });
    assert_eq!(answers(&mut pair, Side::Z), vec![(z_peer, vec![ack])]);
    assert_eq!(pair.state(Side::Z), Some(State::Established));
}

// ---------------------------------------------------------------- §8.5.1 A: INIT

/// §8.5.1 A: an INIT must come with tag 0; with any other tag it is discarded — by an
/// association (no INIT ACK, no restart) and by an endpoint with no association (not even the
/// rule 8 ABORT).
#[test]
fn init_with_a_non_zero_tag_is_discarded() {
    let mut pair = Pair::established();
    let (z_local, z_peer) = z_tags(&pair);
    for tag in [z_local, z_peer, 0xdead_beef] {
        // A -> INIT (tag != 0) -> Z: nothing back, nothing changes.
        pair.deliver_bytes(Side::Z, packet(tag, &[init(0x0bad_cafe)]));
        assert_eq!(answers(&mut pair, Side::Z), [], "tag {tag:#x}");
        assert_eq!(pair.state(Side::Z), Some(State::Established));
        assert_eq!(z_tags(&pair), (z_local, z_peer));
    }
    assert_eq!(pair.events(Side::Z), []);

    let mut fresh = Pair::new();
    fresh.deliver_bytes(Side::Z, packet(0xdead_beef, &[init(0x0bad_cafe)]));
    assert_eq!(answers(&mut fresh, Side::Z), []);
    assert_eq!(fresh.z.association_count(), 0);
}

/// §8.5.1 A: a packet with tag 0 must hold an INIT and nothing else; otherwise it is
/// discarded (by the endpoint and by an established association).
#[test]
fn tag_zero_packet_with_more_than_an_init_is_discarded() {
    // Hand-assembled, since the packet builder refuses to bundle an INIT (§6.10).
    let init_only = packet(0, &[init(0x0bad_cafe)]);
    let hb_only = packet(0, &[heartbeat(b"bundled")]);
    let mut bytes = init_only.to_vec();
    bytes.extend_from_slice(&hb_only[12..]);
    checksum::write_crc32c(&mut bytes);
    let bundled = Bytes::from(bytes);

    let mut fresh = Pair::new();
    fresh.deliver_bytes(Side::Z, bundled.clone());
    assert_eq!(answers(&mut fresh, Side::Z), [], "no INIT ACK, no ABORT");
    assert_eq!(fresh.z.association_count(), 0);

    let mut pair = Pair::established();
    let tags = z_tags(&pair);
    pair.deliver_bytes(Side::Z, bundled);
    assert_eq!(answers(&mut pair, Side::Z), []);
    assert_eq!(pair.state(Side::Z), Some(State::Established));
    assert_eq!(z_tags(&pair), tags);
}

// ---------------------------------------------------------------- §8.5.1 B: ABORT

/// §8.5.1 B, all four combinations on an established association: an ABORT is accepted with
/// our tag and the T bit clear, or with the peer's tag and the T bit set (reflected); the
/// other two are discarded.
#[test]
fn abort_tag_rules() {
    for (t_bit, use_local, accepted) in [
        (false, true, true),
        (false, false, false),
        (true, false, true),
        (true, true, false),
    ] {
        let mut pair = Pair::established();
        let (z_local, z_peer) = z_tags(&pair);
        let tag = if use_local { z_local } else { z_peer };
        let case = format!(
            "T={} tag={}",
            u8::from(t_bit),
            if use_local { "Z's" } else { "A's" }
        );
        let dropped = pair.assoc(Side::Z).stats().packets_dropped;
        // A -> ABORT -> Z
        pair.deliver_bytes(Side::Z, packet(tag, &[abort(t_bit)]));
        assert_eq!(answers(&mut pair, Side::Z), [], "{case}: never answered");
        if accepted {
            assert_eq!(pair.state(Side::Z), Some(State::Closed), "{case}");
            assert_eq!(
                pair.events(Side::Z),
                vec![Event::Closed(CloseReason::PeerAborted(Vec::new()))],
                "{case}"
            );
        } else {
            assert_eq!(pair.state(Side::Z), Some(State::Established), "{case}");
            assert_eq!(pair.events(Side::Z), [], "{case}");
            assert_eq!(
                pair.assoc(Side::Z).stats().packets_dropped,
                dropped + 1,
                "{case}"
            );
        }
    }
}

/// §8.5.1 B, sending side: an ABORT from an association with a TCB carries the peer's tag and
/// the T bit clear; the peer accepts it and learns the cause.
#[test]
fn abort_is_sent_with_the_peers_tag_and_t_bit_clear() {
    let mut pair = Pair::established();
    let a_peer = pair.assoc(Side::A).peer_tag();
    let now = pair.now;
    pair.assoc_mut(Side::A).abort(now, "bye");
    // A -> ABORT (Z's tag, T=0) -> Z
    let abort_packet = pair.transmit_one(Side::A);
    assert_eq!(abort_packet.header().verification_tag, a_peer);
    let chunks = abort_packet.chunks();
    let [Chunk::Abort(a)] = chunks.as_slice() else {
        panic!("expected a lone ABORT: {abort_packet}");
    };
    assert!(!a.t_bit);
    pair.deliver(&abort_packet);
    assert_eq!(pair.state(Side::Z), Some(State::Closed));
    assert!(matches!(
        pair.events(Side::Z).as_slice(),
        [Event::Closed(CloseReason::PeerAborted(causes))]
            if matches!(causes.as_slice(), [ErrorCause::UserInitiatedAbort(_)])
    ));
}

/// §8.5.1 B in COOKIE-WAIT: the peer's tag is not known yet, so only an ABORT with our own
/// tag and the T bit clear (the §8.4 rule 3 answer to our INIT) is accepted; a "reflected"
/// ABORT with tag 0 is not.
#[test]
fn abort_in_cookie_wait() {
    let mut pair = Pair::new();
    pair.connect(Side::A);
    let a_local = pair.assoc(Side::A).local_tag();
    // A -> INIT -> (lost) Z
    assert!(pair.transmit_one(Side::A).is(t::INIT));
    for (tag, t_bit) in [(0, true), (a_local ^ 1, false), (a_local, true)] {
        pair.deliver_bytes(Side::A, packet(tag, &[abort(t_bit)]));
        assert_eq!(
            pair.state(Side::A),
            Some(State::CookieWait),
            "tag {tag:#x} T={t_bit}"
        );
    }
    assert_eq!(pair.events(Side::A), []);
    // A <- ABORT (A's tag, T=0) <- Z
    pair.deliver_bytes(Side::A, packet(a_local, &[abort(false)]));
    assert_eq!(pair.state(Side::A), Some(State::Closed));
    assert_eq!(
        pair.events(Side::A),
        vec![Event::Closed(CloseReason::PeerAborted(Vec::new()))]
    );
}

// ---------------------------------------------------------------- §8.5.1 C: SHUTDOWN COMPLETE

/// §8.5.1 C: in SHUTDOWN-ACK-SENT a SHUTDOWN COMPLETE is accepted with our tag and T clear, or
/// with the peer's tag and T set; the other two are discarded and Z stays in
/// SHUTDOWN-ACK-SENT.
#[test]
fn shutdown_complete_tag_rules() {
    for (t_bit, use_local, accepted) in [
        (false, true, true),
        (false, false, false),
        (true, false, true),
        (true, true, false),
    ] {
        let (mut pair, _ack) = z_in_shutdown_ack_sent();
        let (z_local, z_peer) = z_tags(&pair);
        let tag = if use_local { z_local } else { z_peer };
        let case = format!(
            "T={} tag={}",
            u8::from(t_bit),
            if use_local { "Z's" } else { "A's" }
        );
        // A -> SHUTDOWN COMPLETE -> Z
        pair.deliver_bytes(Side::Z, packet(tag, &[shutdown_complete(t_bit)]));
        assert_eq!(answers(&mut pair, Side::Z), [], "{case}");
        if accepted {
            assert_eq!(pair.state(Side::Z), Some(State::Closed), "{case}");
            assert_eq!(
                pair.events(Side::Z),
                vec![Event::Closed(CloseReason::Shutdown)],
                "{case}"
            );
        } else {
            assert_eq!(pair.state(Side::Z), Some(State::ShutdownAckSent), "{case}");
            assert_eq!(pair.events(Side::Z), [], "{case}");
        }
    }
}

/// §8.5.1 C: a SHUTDOWN COMPLETE with a valid tag is still ignored outside
/// SHUTDOWN-ACK-SENT — here in ESTABLISHED and in SHUTDOWN-SENT.
#[test]
fn shutdown_complete_is_ignored_outside_shutdown_ack_sent() {
    let mut pair = Pair::established();
    let (z_local, z_peer) = z_tags(&pair);
    for (tag, t_bit) in [(z_local, false), (z_peer, true)] {
        pair.deliver_bytes(Side::Z, packet(tag, &[shutdown_complete(t_bit)]));
        assert_eq!(pair.state(Side::Z), Some(State::Established));
    }
    // A enters SHUTDOWN-SENT; its SHUTDOWN is held back.
    let now = pair.now;
    pair.assoc_mut(Side::A).shutdown(now);
    assert!(pair.transmit_one(Side::A).is(t::SHUTDOWN));
    assert_eq!(pair.state(Side::A), Some(State::ShutdownSent));
    for (tag, t_bit) in [(z_peer, false), (z_local, true)] {
        // A <- SHUTDOWN COMPLETE (a valid tag for A) <- Z
        pair.deliver_bytes(Side::A, packet(tag, &[shutdown_complete(t_bit)]));
        assert_eq!(pair.state(Side::A), Some(State::ShutdownSent));
    }
    assert_eq!(pair.events(Side::A), []);
    assert_eq!(pair.events(Side::Z), []);
}

/// §8.5.1 C, sending side: the side with a TCB sends SHUTDOWN COMPLETE with the peer's tag and
/// the T bit clear.
#[test]
fn shutdown_complete_is_sent_with_the_peers_tag_and_t_bit_clear() {
    let (mut pair, ack) = z_in_shutdown_ack_sent();
    let a_peer = pair.assoc(Side::A).peer_tag();
    // A <- SHUTDOWN ACK <- Z
    pair.deliver(&ack);
    // A -> SHUTDOWN COMPLETE (Z's tag, T=0) -> Z
    let complete = pair.transmit_one(Side::A);
    assert_eq!(complete.header().verification_tag, a_peer);
    assert_eq!(complete.chunks(), vec![shutdown_complete(false)]);
    pair.deliver(&complete);
    assert_eq!(pair.state(Side::Z), Some(State::Closed));
    assert_eq!(
        pair.events(Side::Z),
        vec![Event::Closed(CloseReason::Shutdown)]
    );
}

// ---------------------------------------------------------------- §8.5.1 D: COOKIE ECHO

/// §8.5.1 D / §5.1.5 step 3: a COOKIE ECHO's packet tag must be the one in the cookie. A valid
/// cookie in a packet with another tag is discarded, by the endpoint (no association) and by
/// an established association (no COOKIE ACK).
#[test]
fn cookie_echo_tag_must_match_the_cookie() {
    let mut pair = Pair::new();
    pair.connect(Side::A);
    // A -> INIT -> Z; A <- INIT ACK <- Z
    let init = pair.transmit_one(Side::A);
    pair.deliver(&init);
    let init_ack = pair.transmit_one(Side::Z);
    pair.deliver(&init_ack);
    // A -> COOKIE ECHO, retagged -> Z: discarded.
    let echo = pair.transmit_one(Side::A);
    assert!(echo.is(t::COOKIE_ECHO));
    let z_tag = echo.header().verification_tag;
    pair.deliver_bytes(Side::Z, retag(&echo, z_tag ^ 1));
    assert_eq!(answers(&mut pair, Side::Z), []);
    assert_eq!(pair.z.association_count(), 0);
    assert_eq!(pair.z.stats().cookies_rejected, 1);
    // A -> COOKIE ECHO (the real one) -> Z; A <- COOKIE ACK <- Z
    pair.deliver(&echo);
    let cookie_ack = pair.transmit_one(Side::Z);
    assert!(cookie_ack.is(t::COOKIE_ACK));
    pair.deliver(&cookie_ack);
    assert_eq!(pair.state(Side::A), Some(State::Established));
    assert_eq!(pair.state(Side::Z), Some(State::Established));
    pair.events(Side::Z);

    // Replayed to the established association with a wrong tag: nothing.
    pair.deliver_bytes(Side::Z, retag(&echo, z_tag ^ 1));
    assert_eq!(answers(&mut pair, Side::Z), []);
    // Replayed with the right tag: a duplicate (§5.2.4 D), acknowledged again.
    pair.deliver(&echo);
    let again = answers(&mut pair, Side::Z);
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].1, vec![Chunk::CookieAck]);
    assert_eq!(pair.state(Side::Z), Some(State::Established));
    assert_eq!(pair.z.association_count(), 1);
    assert_eq!(pair.events(Side::Z), []);
}

/// §8.5.1 D / §5.1.5 on the COOKIE ECHO itself: the hand-built echo of a valid cookie, with
/// the cookie's own tag, is what opens the association — checked with a cookie echoed under
/// A's tag (the one the INIT ACK was addressed to), which must not work.
#[test]
fn cookie_echo_under_the_initiators_tag_is_discarded() {
    let mut pair = Pair::new();
    pair.connect(Side::A);
    let a_local = pair.assoc(Side::A).local_tag();
    let init = pair.transmit_one(Side::A);
    pair.deliver(&init);
    let init_ack = pair.transmit_one(Side::Z);
    let Some(Chunk::InitAck(ack)) = init_ack.chunks().into_iter().next() else {
        panic!("expected an INIT ACK: {init_ack}");
    };
    let echo = Chunk::CookieEcho(CookieEcho {
        cookie: ack.state_cookie().unwrap().clone(),
    });
    // A -> COOKIE ECHO (A's own tag) -> Z: discarded.
    pair.deliver_bytes(Side::Z, packet(a_local, std::slice::from_ref(&echo)));
    assert_eq!(answers(&mut pair, Side::Z), []);
    assert_eq!(pair.z.association_count(), 0);
    // A -> COOKIE ECHO (Z's tag) -> Z: accepted.
    pair.deliver_bytes(Side::Z, packet(ack.initiate_tag, &[echo]));
    assert_eq!(
        answers(&mut pair, Side::Z),
        vec![(a_local, vec![Chunk::CookieAck])]
    );
    assert_eq!(pair.z.association_count(), 1);
}

// ---------------------------------------------------------------- §8.5.1 E: SHUTDOWN ACK

/// §8.5.1 E: a SHUTDOWN ACK received in COOKIE-WAIT or COOKIE-ECHOED is out of the blue (§8.4
/// rule 5): SHUTDOWN COMPLETE with the packet's own tag and the T bit set. The handshake goes
/// on untouched (§9.2): same state, T1 still running.
#[test]
fn shutdown_ack_in_cookie_wait_and_cookie_echoed_is_out_of_the_blue() {
    for state in [State::CookieWait, State::CookieEchoed] {
        let mut pair = Pair::new();
        pair.connect(Side::A);
        // A -> INIT -> Z; (COOKIE-ECHOED only:) A <- INIT ACK <- Z, A -> COOKIE ECHO -> (held)
        let init = pair.transmit_one(Side::A);
        if state == State::CookieEchoed {
            pair.deliver(&init);
            let ack = pair.transmit_one(Side::Z);
            pair.deliver(&ack);
            assert!(pair.transmit_one(Side::A).is(t::COOKIE_ECHO));
        }
        assert_eq!(pair.state(Side::A), Some(state));
        let t1 = pair.a.poll_timeout();
        let a_local = pair.assoc(Side::A).local_tag();
        for tag in [0x5eed_f00d, a_local] {
            // A <- SHUTDOWN ACK (some tag) <- stranger
            pair.deliver_bytes(Side::A, packet(tag, &[Chunk::ShutdownAck]));
            // A -> SHUTDOWN COMPLETE (T=1, that tag) -> stranger
            assert_eq!(
                answers(&mut pair, Side::A),
                vec![(tag, vec![shutdown_complete(true)])],
                "{state:?}, tag {tag:#x}"
            );
            assert_eq!(pair.state(Side::A), Some(state));
            assert_eq!(pair.a.poll_timeout(), t1, "T1 keeps running");
        }
        assert_eq!(pair.events(Side::A), []);
    }
}

// ---------------------------------------------------------------- INIT ACK

/// §8.5: an INIT ACK must carry our tag (the INIT's Initiate Tag). One with another tag is
/// dropped in COOKIE-WAIT: no COOKIE ECHO, no state change; the genuine one still works.
#[test]
fn init_ack_with_a_wrong_tag_in_cookie_wait_is_ignored() {
    let mut pair = Pair::new();
    pair.connect(Side::A);
    let a_local = pair.assoc(Side::A).local_tag();
    // A -> INIT -> Z
    let init = pair.transmit_one(Side::A);
    pair.deliver(&init);
    // A <- INIT ACK (retagged) <- Z: dropped.
    let ack = pair.transmit_one(Side::Z);
    assert_eq!(ack.header().verification_tag, a_local);
    for wrong in [a_local ^ 1, 0] {
        let dropped = pair.assoc(Side::A).stats().packets_dropped;
        pair.deliver_bytes(Side::A, retag(&ack, wrong));
        assert_eq!(answers(&mut pair, Side::A), [], "tag {wrong:#x}");
        assert_eq!(pair.state(Side::A), Some(State::CookieWait));
        assert_eq!(pair.assoc(Side::A).peer_tag(), 0);
        assert_eq!(pair.assoc(Side::A).stats().packets_dropped, dropped + 1);
    }
    // A <- INIT ACK (genuine) <- Z; A -> COOKIE ECHO -> Z ...
    pair.deliver(&ack);
    assert_eq!(pair.state(Side::A), Some(State::CookieEchoed));
    pair.run(Duration::from_secs(1), &mut |_, _| Fate::Deliver);
    assert_eq!(pair.state(Side::A), Some(State::Established));
    assert_eq!(pair.state(Side::Z), Some(State::Established));
}
