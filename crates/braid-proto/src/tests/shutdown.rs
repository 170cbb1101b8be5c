//! Ending an association: graceful shutdown (RFC 9260 §9.2) from either side, at once from
//! both, with each of its packets lost, and with a peer that never answers; ABORT (§9.1)
//! from either side; and shutdown before the association is up.

use core::time::Duration;

use braid_wire::cause::Reason;
use braid_wire::chunk::chunk_type as t;
use braid_wire::{Abort, Chunk, ErrorCause, Tsn};

use super::heartbeat::{endpoint, established_with, gaps, run_stamped, sent_times};
use crate::harness::{find, perfect, Fate, Pair, Side};
use crate::{AssociationConfig, CloseReason, EndpointConfig, Event, State};

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The user of `side` asks for a graceful shutdown.
fn shutdown(pair: &mut Pair, side: Side) {
    let now = pair.now;
    pair.assoc_mut(side).shutdown(now);
}

/// After the exchange, with every output drained as a driver would, neither endpoint holds an
/// association any more and nothing is left to send, now or later.
fn assert_forgotten(pair: &mut Pair) {
    for side in [Side::A, Side::Z] {
        assert!(pair.transmit(side).is_empty(), "{side:?}: {}", pair.trace());
        pair.events(side);
    }
    pair.advance(secs(600));
    for side in [Side::A, Side::Z] {
        assert!(pair.transmit(side).is_empty(), "{side:?}: {}", pair.trace());
        assert!(pair.events(side).is_empty());
        assert_eq!(
            pair.ep(side).association_count(),
            0,
            "{side:?} still holds its closed, drained association"
        );
    }
}

/// The three-way exchange, started by each side in turn.
#[test]
fn graceful_shutdown_from_either_side() {
    for closer in [Side::A, Side::Z] {
        let peer = closer.other();
        let mut pair = Pair::established();
        let closer_tags = (
            pair.assoc(closer).local_tag(),
            pair.assoc(closer).peer_tag(),
        );
        let peer_initial_tsn = pair.assoc(closer).negotiated().unwrap().peer_initial_tsn;
        shutdown(&mut pair, closer);
        // closer -> SHUTDOWN -> peer
        let sd = pair.transmit_one(closer);
        assert!(sd.is(t::SHUTDOWN), "{sd}");
        assert_eq!(sd.header().verification_tag, closer_tags.1);
        let ack = find(&sd, |c| match c {
            Chunk::Shutdown(s) => Some(s.cumulative_tsn_ack),
            _ => None,
        });
        // No DATA was received: the Cumulative TSN Ack is the peer's initial TSN - 1.
        assert_eq!(ack, Some(Tsn(peer_initial_tsn).prev()));
        assert_eq!(pair.state(closer), Some(State::ShutdownSent));
        assert!(pair.events(closer).is_empty());
        pair.deliver(&sd);
        assert_eq!(pair.events(peer), vec![Event::ShutdownStarted]);
        assert_eq!(pair.state(peer), Some(State::ShutdownAckSent));
        // closer <- SHUTDOWN ACK <- peer
        let sa = pair.transmit_one(peer);
        assert!(sa.is(t::SHUTDOWN_ACK), "{sa}");
        assert_eq!(sa.header().verification_tag, closer_tags.0);
        pair.deliver(&sa);
        assert_eq!(pair.state(closer), Some(State::Closed));
        assert_eq!(
            pair.events(closer),
            vec![Event::Closed(CloseReason::Shutdown)]
        );
        // closer -> SHUTDOWN COMPLETE -> peer
        let sc = pair.transmit_one(closer);
        assert!(sc.is(t::SHUTDOWN_COMPLETE), "{sc}");
        assert_eq!(sc.header().verification_tag, closer_tags.1);
        let t_bit = find(&sc, |c| match c {
            Chunk::ShutdownComplete(s) => Some(s.t_bit),
            _ => None,
        });
        assert_eq!(t_bit, Some(false));
        pair.deliver(&sc);
        assert_eq!(pair.state(peer), Some(State::Closed));
        assert_eq!(
            pair.events(peer),
            vec![Event::Closed(CloseReason::Shutdown)]
        );
        assert_forgotten(&mut pair);
    }
}

/// Both users call shutdown before either SHUTDOWN arrives: each answers the other's
/// SHUTDOWN with a SHUTDOWN ACK from SHUTDOWN-SENT (§9.2), each SHUTDOWN ACK then finds its
/// receiver in SHUTDOWN-ACK-SENT and is answered with SHUTDOWN COMPLETE, and both close
/// gracefully.
#[test]
fn simultaneous_shutdown_closes_both_gracefully() {
    let mut pair = Pair::established();
    shutdown(&mut pair, Side::A);
    shutdown(&mut pair, Side::Z);
    // A -> SHUTDOWN -> Z and Z -> SHUTDOWN -> A, crossing.
    let a_sd = pair.transmit_one(Side::A);
    let z_sd = pair.transmit_one(Side::Z);
    assert!(a_sd.is(t::SHUTDOWN) && z_sd.is(t::SHUTDOWN));
    pair.deliver(&a_sd);
    pair.deliver(&z_sd);
    assert_eq!(pair.state(Side::A), Some(State::ShutdownAckSent));
    assert_eq!(pair.state(Side::Z), Some(State::ShutdownAckSent));
    // A -> SHUTDOWN ACK -> Z and Z -> SHUTDOWN ACK -> A, crossing.
    let a_sa = pair.transmit_one(Side::A);
    let z_sa = pair.transmit_one(Side::Z);
    assert!(a_sa.is(t::SHUTDOWN_ACK) && z_sa.is(t::SHUTDOWN_ACK));
    pair.deliver(&a_sa);
    pair.deliver(&z_sa);
    // A -> SHUTDOWN COMPLETE -> Z and Z -> SHUTDOWN COMPLETE -> A; both already closed,
    // so these are discarded without a reply (§8.4 rule 6).
    let a_sc = pair.transmit_one(Side::A);
    let z_sc = pair.transmit_one(Side::Z);
    assert!(a_sc.is(t::SHUTDOWN_COMPLETE) && z_sc.is(t::SHUTDOWN_COMPLETE));
    pair.deliver(&a_sc);
    pair.deliver(&z_sc);
    for side in [Side::A, Side::Z] {
        let events = pair.events(side);
        let closes: Vec<_> = events
            .iter()
            .filter(|e| matches!(e, Event::Closed(_)))
            .collect();
        assert_eq!(
            closes,
            vec![&Event::Closed(CloseReason::Shutdown)],
            "{side:?}: {events:?}"
        );
    }
    assert_forgotten(&mut pair);
}

/// A -> SHUTDOWN -> (lost) Z: T2-shutdown expires after one RTO (1 s), SHUTDOWN goes again,
/// and the exchange completes.
#[test]
fn lost_shutdown_is_retransmitted_after_the_rto() {
    let mut pair = Pair::established();
    let rto = pair.assoc(Side::A).rto(pair.assoc(Side::A).primary_path());
    assert_eq!(rto, Some(secs(1)));
    let t0 = pair.now;
    shutdown(&mut pair, Side::A);
    // A -> SHUTDOWN -> (lost) Z
    let lost = pair.transmit_one(Side::A);
    assert!(lost.is(t::SHUTDOWN));
    assert_eq!(pair.a.poll_timeout(), Some(t0 + secs(1)), "T2 = RTO");
    pair.advance(secs(1) - Duration::from_micros(1));
    assert!(pair.transmit(Side::A).is_empty(), "too early");
    pair.advance(Duration::from_micros(1));
    // A -> SHUTDOWN (again) -> Z, then the rest over a perfect network.
    let again = pair.transmit_one(Side::A);
    assert!(again.is(t::SHUTDOWN));
    pair.deliver(&again);
    pair.run(secs(5), &mut perfect);
    assert_eq!(
        pair.events(Side::A),
        vec![Event::Closed(CloseReason::Shutdown)]
    );
    assert_eq!(
        pair.events(Side::Z),
        vec![Event::ShutdownStarted, Event::Closed(CloseReason::Shutdown)]
    );
    assert_eq!(pair.sent_count(Side::A, t::SHUTDOWN), 2);
    assert_forgotten(&mut pair);
}

/// A -> SHUTDOWN -> Z, A <- SHUTDOWN ACK <- (lost) Z. Whichever T2 runs out first recovers:
/// Z's, which resends the SHUTDOWN ACK, or A's, whose second SHUTDOWN Z answers at once
/// with another SHUTDOWN ACK. The RTOs are arranged so each case happens.
#[test]
fn lost_shutdown_ack_is_recovered() {
    // (RTO.Min of A, RTO.Min of Z) and who recovers.
    for (a_rto, z_rto, z_first) in [(secs(3), secs(1), true), (secs(1), secs(3), false)] {
        let config = |rto| {
            endpoint(AssociationConfig {
                rto_initial: rto,
                rto_min: rto,
                ..Default::default()
            })
        };
        let (mut pair, _) = established_with(config(a_rto), config(z_rto));
        let t0 = pair.now;
        shutdown(&mut pair, Side::A);
        let mut dropped = false;
        let events = run_stamped(&mut pair, secs(20), &mut |sent, _| {
            if sent.is(t::SHUTDOWN_ACK) && !dropped {
                dropped = true;
                Fate::Drop
            } else {
                Fate::Deliver
            }
        });
        assert!(dropped);
        let events: Vec<_> = events
            .into_iter()
            .map(|(at, s, e)| (at - t0, s, e))
            .collect();
        // SHUTDOWN reaches Z at 10 ms; its first SHUTDOWN ACK is lost.
        let (recovery, shutdowns) = if z_first {
            // Z's T2 at 10 ms + 1 s: A <- SHUTDOWN ACK <- Z arrives at 1.02 s.
            (ms(1020), 1)
        } else {
            // A's T2 at 1 s: A -> SHUTDOWN -> Z at 1.01 s, answered at once.
            (ms(1020), 2)
        };
        assert_eq!(
            events,
            vec![
                (ms(10), Side::Z, Event::ShutdownStarted),
                (recovery, Side::A, Event::Closed(CloseReason::Shutdown)),
                (
                    recovery + ms(10),
                    Side::Z,
                    Event::Closed(CloseReason::Shutdown)
                ),
            ],
            "z_first = {z_first}: {}",
            pair.trace()
        );
        assert_eq!(pair.sent_count(Side::A, t::SHUTDOWN), shutdowns);
        assert_eq!(pair.sent_count(Side::Z, t::SHUTDOWN_ACK), 2);
        assert_forgotten(&mut pair);
    }
}

/// A -> SHUTDOWN COMPLETE -> (lost) Z. A is closed and has forgotten the association; Z, in
/// SHUTDOWN-ACK-SENT, resends the SHUTDOWN ACK when T2 expires. A answers it as an
/// out-of-the-blue SHUTDOWN ACK (§8.4 rule 5): SHUTDOWN COMPLETE with the T bit, carrying
/// the SHUTDOWN ACK's own tag — which Z accepts (§8.5.1 C) and closes.
#[test]
fn lost_shutdown_complete_is_answered_out_of_the_blue() {
    let mut pair = Pair::established();
    let (a_tag, z_tag) = (
        pair.assoc(Side::A).local_tag(),
        pair.assoc(Side::Z).local_tag(),
    );
    shutdown(&mut pair, Side::A);
    // A -> SHUTDOWN -> Z
    let sd = pair.transmit_one(Side::A);
    pair.deliver(&sd);
    let t0 = pair.now;
    // A <- SHUTDOWN ACK <- Z
    let sa = pair.transmit_one(Side::Z);
    assert!(sa.is(t::SHUTDOWN_ACK));
    pair.deliver(&sa);
    // A -> SHUTDOWN COMPLETE -> (lost) Z
    let lost = pair.transmit_one(Side::A);
    assert!(lost.is(t::SHUTDOWN_COMPLETE));
    assert_eq!(
        pair.events(Side::A),
        vec![Event::Closed(CloseReason::Shutdown)]
    );
    assert_eq!(pair.state(Side::Z), Some(State::ShutdownAckSent));
    assert_eq!(pair.events(Side::Z), vec![Event::ShutdownStarted]);
    // Z's T2: one RTO (1 s) after its SHUTDOWN ACK.
    assert_eq!(pair.z.poll_timeout(), Some(t0 + secs(1)));
    pair.advance(secs(1));
    // A <- SHUTDOWN ACK (again) <- Z
    let again = pair.transmit_one(Side::Z);
    assert!(again.is(t::SHUTDOWN_ACK));
    assert_eq!(again.header().verification_tag, a_tag);
    pair.deliver(&again);
    // A -> SHUTDOWN COMPLETE (T bit, A's old tag reflected) -> Z
    let sc = pair.transmit_one(Side::A);
    assert!(sc.is(t::SHUTDOWN_COMPLETE), "{sc}");
    let t_bit = find(&sc, |c| match c {
        Chunk::ShutdownComplete(s) => Some(s.t_bit),
        _ => None,
    });
    assert_eq!(t_bit, Some(true));
    assert_eq!(sc.header().verification_tag, a_tag);
    assert_ne!(a_tag, z_tag);
    pair.deliver(&sc);
    assert_eq!(
        pair.events(Side::Z),
        vec![Event::Closed(CloseReason::Shutdown)]
    );
    assert_forgotten(&mut pair);
}

/// A -> SHUTDOWN -> (lost) Z, every time, with Association.Max.Retrans = 4: T2 backs off
/// 1, 2, 4, 8 s (§6.3.3 E2 rules, §9.2), and when it expires the fifth time the peer is
/// unreachable — at 31 s, well before the T5 guard (5 × RTO.Max = 300 s). No HEARTBEAT goes
/// out once the SHUTDOWN has (§8.3).
#[test]
fn shutdown_never_answered_closes_unreachable_after_max_retrans() {
    let a = endpoint(AssociationConfig {
        association_max_retrans: 4,
        ..Default::default()
    });
    let (mut pair, start) = established_with(a, EndpointConfig::default());
    let t0 = pair.now;
    shutdown(&mut pair, Side::A);
    let events = run_stamped(&mut pair, secs(400), &mut |_, _| Fate::Drop);
    let shutdowns = sent_times(&pair, start, t0, Side::A, t::SHUTDOWN);
    assert_eq!(
        shutdowns,
        [0, 1, 3, 7, 15].map(secs).to_vec(),
        "1 + 4 retransmissions"
    );
    assert_eq!(gaps(&shutdowns), [1, 2, 4, 8].map(secs).to_vec());
    let a_events: Vec<_> = events
        .iter()
        .filter(|(_, s, _)| *s == Side::A)
        .map(|(at, _, e)| (*at - t0, e.clone()))
        .collect();
    assert_eq!(
        a_events,
        vec![(secs(31), Event::Closed(CloseReason::Unreachable))]
    );
    let heartbeats = sent_times(&pair, start, t0, Side::A, t::HEARTBEAT);
    assert!(
        heartbeats.is_empty(),
        "HEARTBEATs after SHUTDOWN (§8.3): {heartbeats:?}"
    );
}

/// The same with the default Association.Max.Retrans (10): T2 backs off up to RTO.Max
/// (60 s) and would give up at 363 s, so the T5-shutdown-guard (5 × RTO.Max = 300 s) ends
/// the association first, with an ABORT (§9.2).
#[test]
fn shutdown_never_answered_ends_at_the_t5_guard() {
    let (mut pair, start) = established_with(EndpointConfig::default(), EndpointConfig::default());
    let t0 = pair.now;
    shutdown(&mut pair, Side::A);
    let events = run_stamped(&mut pair, secs(400), &mut |_, _| Fate::Drop);
    let shutdowns = sent_times(&pair, start, t0, Side::A, t::SHUTDOWN);
    assert_eq!(
        gaps(&shutdowns),
        [1, 2, 4, 8, 16, 32, 60, 60, 60].map(secs).to_vec(),
        "T2 doubles, capped at RTO.Max"
    );
    let a_events: Vec<_> = events
        .iter()
        .filter(|(_, s, _)| *s == Side::A)
        .map(|(at, _, e)| (*at - t0, e.clone()))
        .collect();
    assert_eq!(
        a_events,
        vec![(secs(300), Event::Closed(CloseReason::ShutdownGuardExpired))]
    );
    let aborts = sent_times(&pair, start, t0, Side::A, t::ABORT);
    assert_eq!(aborts, vec![secs(300)]);
    let heartbeats = sent_times(&pair, start, t0, Side::A, t::HEARTBEAT);
    assert!(
        heartbeats.is_empty(),
        "HEARTBEATs after SHUTDOWN (§8.3): {heartbeats:?}"
    );
}

/// A -> SHUTDOWN -> Z, then A goes silent: Z in SHUTDOWN-ACK-SENT resends its SHUTDOWN ACK
/// on each T2 expiry (1, 2, 4, ... 60 s) and, past Association.Max.Retrans (10), reports the
/// peer unreachable at 363 s (Z has no T5: only the SHUTDOWN sender arms it). Nor does Z
/// heartbeat once its SHUTDOWN ACK is out (§8.3).
#[test]
fn shutdown_ack_never_answered_closes_unreachable() {
    let (mut pair, start) = established_with(EndpointConfig::default(), EndpointConfig::default());
    let t0 = pair.now;
    shutdown(&mut pair, Side::A);
    let events = run_stamped(&mut pair, secs(500), &mut |sent, n| {
        if sent.from == Side::A && !(sent.is(t::SHUTDOWN) && n == 1) {
            Fate::Drop
        } else {
            Fate::Deliver
        }
    });
    let acks = sent_times(&pair, start, t0, Side::Z, t::SHUTDOWN_ACK);
    assert_eq!(
        gaps(&acks),
        [1, 2, 4, 8, 16, 32, 60, 60, 60, 60].map(secs).to_vec(),
        "1 + 10 SHUTDOWN ACKs"
    );
    assert_eq!(acks[0], ms(10));
    let z_events: Vec<_> = events
        .iter()
        .filter(|(_, s, _)| *s == Side::Z)
        .map(|(at, _, e)| (*at - t0, e.clone()))
        .collect();
    assert_eq!(
        z_events,
        vec![
            (ms(10), Event::ShutdownStarted),
            (ms(10) + secs(363), Event::Closed(CloseReason::Unreachable)),
        ]
    );
    let heartbeats = sent_times(&pair, start, t0, Side::Z, t::HEARTBEAT);
    assert!(
        heartbeats.is_empty(),
        "HEARTBEATs after SHUTDOWN ACK (§8.3): {heartbeats:?}"
    );
}

/// Either user aborts: the peer gets an ABORT (T bit clear, its own tag) with a
/// "User-Initiated Abort" cause carrying the reason (§9.1), and closes with it; the aborting
/// side closes at once; neither answers anything afterwards.
#[test]
fn abort_from_either_side() {
    for aborter in [Side::A, Side::Z] {
        let peer = aborter.other();
        let mut pair = Pair::established();
        let peer_tag = pair.assoc(peer).local_tag();
        let now = pair.now;
        pair.assoc_mut(aborter).abort(now, "bye");
        assert_eq!(pair.state(aborter), Some(State::Closed));
        assert_eq!(
            pair.events(aborter),
            vec![Event::Closed(CloseReason::Aborted("bye".into()))]
        );
        // aborter -> ABORT (User-Initiated Abort "bye") -> peer
        let abort = pair.transmit_one(aborter);
        assert!(abort.is(t::ABORT), "{abort}");
        assert_eq!(abort.header().verification_tag, peer_tag);
        let cause = ErrorCause::UserInitiatedAbort(Reason::new(&b"bye"[..]));
        assert_eq!(
            find(&abort, |c| match c {
                Chunk::Abort(a) => Some(a.clone()),
                _ => None,
            }),
            Some(Abort {
                t_bit: false,
                causes: vec![cause.clone()],
            })
        );
        pair.deliver(&abort);
        assert_eq!(pair.state(peer), Some(State::Closed));
        assert_eq!(
            pair.events(peer),
            vec![Event::Closed(CloseReason::PeerAborted(vec![cause]))]
        );
        // §9.1: an ABORT is never answered.
        assert!(pair.transmit(peer).is_empty());
        assert_forgotten(&mut pair);
    }
}

/// shutdown() before the association is up abandons the attempt. In COOKIE-WAIT the peer's
/// tag is unknown, so nothing is sent: no ABORT, and no more INITs. In COOKIE-ECHOED the tag
/// is known and the peer gets an ABORT.
#[test]
fn shutdown_before_established_abandons_the_attempt() {
    // COOKIE-WAIT: A -> INIT -> (lost) Z, then the user gives up.
    let mut pair = Pair::new();
    pair.connect(Side::A);
    let init = pair.transmit_one(Side::A);
    assert!(init.is(t::INIT));
    assert_eq!(pair.state(Side::A), Some(State::CookieWait));
    shutdown(&mut pair, Side::A);
    assert_eq!(pair.state(Side::A), Some(State::Closed));
    let events = pair.events(Side::A);
    assert!(
        matches!(events.as_slice(), [Event::Closed(CloseReason::Aborted(_))]),
        "{events:?}"
    );
    assert!(pair.transmit(Side::A).is_empty(), "{}", pair.trace());
    pair.run(secs(120), &mut perfect);
    assert_eq!(pair.sent_count(Side::A, t::INIT), 1, "{}", pair.trace());
    assert_eq!(pair.z.association_count(), 0);
    assert_forgotten(&mut pair);

    // COOKIE-WAIT with the INIT not yet on the wire: it never goes.
    let mut pair = Pair::new();
    pair.connect(Side::A);
    shutdown(&mut pair, Side::A);
    pair.run(secs(120), &mut perfect);
    assert_eq!(pair.sent_count(Side::A, t::INIT), 0, "{}", pair.trace());
    assert_eq!(pair.z.association_count(), 0);
    assert_forgotten(&mut pair);

    // COOKIE-ECHOED: A -> INIT -> Z, A <- INIT ACK <- Z, then the user gives up.
    let mut pair = Pair::new();
    pair.connect(Side::A);
    let init = pair.transmit_one(Side::A);
    pair.deliver(&init);
    let init_ack = pair.transmit_one(Side::Z);
    pair.deliver(&init_ack);
    let echo = pair.transmit_one(Side::A);
    assert!(echo.is(t::COOKIE_ECHO));
    assert_eq!(pair.state(Side::A), Some(State::CookieEchoed));
    let z_tag = pair.assoc(Side::A).peer_tag();
    shutdown(&mut pair, Side::A);
    // A -> ABORT -> Z (which has no TCB and discards it, §8.4 rule 2).
    let abort = pair.transmit_one(Side::A);
    assert!(abort.is(t::ABORT), "{abort}");
    assert_eq!(abort.header().verification_tag, z_tag);
    let events = pair.events(Side::A);
    assert!(
        matches!(events.as_slice(), [Event::Closed(CloseReason::Aborted(_))]),
        "{events:?}"
    );
    pair.deliver(&abort);
    pair.run(secs(120), &mut perfect);
    assert_eq!(pair.sent_count(Side::A, t::COOKIE_ECHO), 1);
    assert_eq!(pair.z.association_count(), 0);
    assert_forgotten(&mut pair);
}
