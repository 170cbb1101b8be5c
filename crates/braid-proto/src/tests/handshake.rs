//! The four-way handshake (RFC 9260 §5.1): both roles, each packet lost once, and giving up
//! after Max.Init.Retransmits.

use core::time::Duration;

use braid_wire::chunk::chunk_type as t;

use crate::harness::{perfect, Fate, Pair, Side};
use crate::{AssociationConfig, CloseReason, Event, State};

#[test]
fn normal_handshake_in_both_roles() {
    for client in [Side::A, Side::Z] {
        let server = client.other();
        let mut pair = Pair::new();
        pair.connect(client);
        // client -> INIT -> server
        let init = pair.transmit_one(client);
        assert!(init.is(t::INIT));
        assert_eq!(
            init.header().verification_tag,
            0,
            "INIT carries tag 0 (§8.5.1 A)"
        );
        assert_eq!(pair.state(client), Some(State::CookieWait));
        pair.deliver(&init);
        // The server keeps no state for an INIT (§5.1.3).
        assert_eq!(pair.ep(server).association_count(), 0);
        // client <- INIT-ACK <- server
        let ack = pair.transmit_one(server);
        assert!(ack.is(t::INIT_ACK));
        pair.deliver(&ack);
        assert_eq!(pair.state(client), Some(State::CookieEchoed));
        // client -> COOKIE-ECHO -> server
        let echo = pair.transmit_one(client);
        assert!(echo.is(t::COOKIE_ECHO));
        pair.deliver(&echo);
        assert_eq!(pair.state(server), Some(State::Established));
        // client <- COOKIE-ACK <- server
        let cack = pair.transmit_one(server);
        assert!(cack.is(t::COOKIE_ACK));
        pair.deliver(&cack);
        assert_eq!(pair.state(client), Some(State::Established));
        assert_eq!(pair.events(client), vec![Event::Connected]);
        assert_eq!(pair.events(server), vec![Event::Connected]);
        // The tags each side expects are the ones the other uses.
        let c = pair.assoc(client);
        let (c_local, c_peer) = (c.local_tag(), c.peer_tag());
        let s = pair.assoc(server);
        assert_eq!((s.local_tag(), s.peer_tag()), (c_peer, c_local));
        assert_ne!(c_local, 0);
        assert_ne!(c_peer, 0);
        assert_eq!(pair.assoc(client).side(), crate::Side::Client);
        assert_eq!(pair.assoc(server).side(), crate::Side::Server);
    }
}

#[test]
fn stream_counts_are_the_minimum_of_os_and_mis() {
    let mut pair = Pair::new();
    let config = AssociationConfig {
        outbound_streams: 300,
        inbound_streams: 7,
        ..Default::default()
    };
    pair.connect_with(Side::A, config);
    pair.run(Duration::from_secs(1), &mut perfect);
    let z_mis = pair.z.config().association.inbound_streams;
    let z_os = pair.z.config().association.outbound_streams;
    let a = pair.assoc(Side::A).negotiated().copied().unwrap();
    let z = pair.assoc(Side::Z).negotiated().copied().unwrap();
    assert_eq!(a.outbound_streams, 300.min(z_mis));
    assert_eq!(a.inbound_streams, 7.min(z_os));
    assert_eq!(
        (z.outbound_streams, z.inbound_streams),
        (a.inbound_streams, a.outbound_streams)
    );
}

/// Each of the four handshake packets lost once: the sender's T1 timer recovers it after one
/// RTO.Initial (1 s), and the handshake completes.
#[test]
fn each_handshake_packet_lost_once() {
    for lost in [t::INIT, t::INIT_ACK, t::COOKIE_ECHO, t::COOKIE_ACK] {
        let mut pair = Pair::new();
        pair.connect(Side::A);
        let mut dropped = false;
        pair.run(Duration::from_secs(10), &mut |sent, _| {
            if sent.is(lost) && !dropped {
                dropped = true;
                Fate::Drop
            } else {
                Fate::Deliver
            }
        });
        assert!(dropped);
        assert_eq!(
            pair.state(Side::A),
            Some(State::Established),
            "lost {}: {}",
            crate::harness::name(lost),
            pair.trace()
        );
        assert_eq!(
            pair.state(Side::Z),
            Some(State::Established),
            "lost {}: {}",
            crate::harness::name(lost),
            pair.trace()
        );
        // A retransmits INIT when INIT or INIT-ACK is lost, COOKIE-ECHO when COOKIE-ECHO or
        // COOKIE-ACK is lost; Z never retransmits (it keeps no timer before the cookie).
        let (inits, echoes) = (
            pair.sent_count(Side::A, t::INIT),
            pair.sent_count(Side::A, t::COOKIE_ECHO),
        );
        match lost {
            t::INIT | t::INIT_ACK => assert_eq!((inits, echoes), (2, 1), "{}", pair.trace()),
            _ => assert_eq!((inits, echoes), (1, 2), "{}", pair.trace()),
        }
        // A lost COOKIE-ACK means Z gets the COOKIE-ECHO twice: case D (§5.2.4), answered
        // with a second COOKIE-ACK and no second association.
        assert_eq!(pair.z.association_count(), 1);
        let a = pair.assoc(Side::A);
        assert_eq!(a.stats().handshake_retransmits, 1);
    }
}

/// A -> INIT -> (lost) Z, again and again: after Max.Init.Retransmits retransmissions with
/// the RTO doubling each time (§6.3.3 E2), A gives up and reports why.
#[test]
fn all_inits_lost_closes_after_max_init_retransmits() {
    let mut pair = Pair::new();
    let config = AssociationConfig {
        max_init_retransmits: 4,
        ..Default::default()
    };
    let h = pair.connect_with(Side::A, config);
    let start = pair.now;
    let mut init_times = Vec::new();
    for _ in 0..10 {
        let sent = pair.transmit(Side::A);
        for s in &sent {
            assert!(s.is(t::INIT));
            init_times.push(pair.now - start);
        }
        pair.advance(Duration::from_millis(100));
        if pair.a.association(h).map(|a| a.state()) == Some(State::Closed) {
            break;
        }
        let next = pair.a.poll_timeout().unwrap();
        pair.advance(next - pair.now);
    }
    // 1 INIT + 4 retransmissions, 1 s then 2, 4, 8 s apart; the fifth expiry (16 s later)
    // gives up.
    let secs: Vec<u64> = init_times.iter().map(|d| d.as_secs()).collect();
    assert_eq!(secs, vec![0, 1, 3, 7, 15]);
    let events = pair.events(Side::A);
    assert_eq!(events, vec![Event::Closed(CloseReason::InitTimeout)]);
    assert_eq!(pair.now - start, Duration::from_millis(31_100));
}
