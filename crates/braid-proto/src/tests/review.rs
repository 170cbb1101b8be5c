//! Regressions found by review: each test fails on the code before its fix.

use core::time::Duration;

use braid_wire::chunk::chunk_type as t;
use braid_wire::{Abort, Chunk, Data, Sack, Shutdown, Ssn, Tsn};

use crate::harness::{data_config, packet, payload, perfect, Fate, Pair, Side};
use crate::{SendOptions, State, StreamId};

/// A DATA chunk from A to Z with this relative TSN.
fn data(tsn: u32, ssn: u16) -> Chunk {
    Chunk::Data(Data {
        tsn: Tsn(tsn),
        stream_id: 0,
        ssn: Ssn(ssn),
        ppid: 0,
        unordered: false,
        beginning: true,
        ending: true,
        immediate_sack: false,
        payload: payload(0, u32::from(ssn), 100),
    })
}

/// Aborting with data in flight leaves no deadline behind: a driver that honours
/// `poll_timeout` must not spin on a closed association (its T3 went with the TCB).
#[test]
fn no_timer_survives_an_abort() {
    let mut pair = Pair::established_with(data_config(1 << 20), data_config(1 << 20));
    let now = pair.now;
    pair.assoc_mut(Side::A)
        .send(
            now,
            StreamId(0),
            payload(0, 0, 500),
            &SendOptions::default(),
        )
        .unwrap();
    let sent = pair.transmit(Side::A);
    assert!(sent.iter().any(|s| s.is(t::DATA)));
    // (the DATA is lost)
    let now = pair.now;
    pair.assoc_mut(Side::A).abort(now, "bye");
    pair.transmit(Side::A);
    assert_eq!(pair.assoc(Side::A).state(), State::Closed);
    assert_eq!(pair.assoc(Side::A).poll_timeout(), None);
}

/// DATA then ABORT in one packet: the association closes and sends nothing more — no SACK
/// for the DATA of a dead association.
#[test]
fn no_sack_after_the_peer_aborts() {
    let mut pair = Pair::established_with(data_config(1 << 20), data_config(1 << 20));
    let z_tag = pair.assoc(Side::Z).local_tag();
    let tsn = pair.assoc(Side::Z).negotiated().unwrap().peer_initial_tsn;
    pair.deliver_bytes(
        Side::Z,
        packet(
            z_tag,
            &[
                data(tsn, 0),
                Chunk::Abort(Abort {
                    t_bit: false,
                    causes: vec![],
                }),
            ],
        ),
    );
    assert_eq!(pair.state(Side::Z), Some(State::Closed));
    assert!(pair.transmit(Side::Z).is_empty());
    pair.advance(Duration::from_secs(1));
    assert!(pair.transmit(Side::Z).is_empty(), "no delayed SACK either");
}

/// In SHUTDOWN-SENT every packet with DATA is answered with a SHUTDOWN (RFC 9260 §9.2), but
/// a peer sending thousands of them before the driver drains gets one SHUTDOWN, not
/// thousands queued.
#[test]
fn shutdown_answers_do_not_pile_up() {
    let mut pair = Pair::established_with(data_config(1 << 20), data_config(1 << 20));
    let now = pair.now;
    pair.assoc_mut(Side::Z).shutdown(now);
    let first = pair.transmit(Side::Z);
    assert!(first.iter().any(|s| s.is(t::SHUTDOWN)));
    assert_eq!(pair.state(Side::Z), Some(State::ShutdownSent));
    let z_tag = pair.assoc(Side::Z).local_tag();
    let base = pair.assoc(Side::Z).negotiated().unwrap().peer_initial_tsn;
    for i in 0..2000u32 {
        pair.deliver_bytes(
            Side::Z,
            packet(z_tag, &[data(base.wrapping_add(i), i as u16)]),
        );
    }
    let out = pair.transmit(Side::Z);
    let shutdowns: usize = out
        .iter()
        .map(|s| {
            s.chunks()
                .iter()
                .filter(|c| matches!(c, Chunk::Shutdown(_)))
                .count()
        })
        .sum();
    assert_eq!(shutdowns, 1, "{} packets", out.len());
    // And it carries the latest cumulative TSN.
    let cum = out.iter().flat_map(|s| s.chunks()).find_map(|c| match c {
        Chunk::Shutdown(Shutdown { cumulative_tsn_ack }) => Some(cumulative_tsn_ack),
        _ => None,
    });
    assert_eq!(cum, Some(Tsn(base.wrapping_add(1999))));
}

/// RFC 9260 §9.2: in SHUTDOWN-SENT a packet with DATA is answered with a SHUTDOWN, plus a
/// SACK when "duplicate TSNs have been received" (found by the soak: a retransmission of
/// data already acknowledged by a lost SHUTDOWN was answered by a bare SHUTDOWN).
#[test]
fn shutdown_sent_reports_duplicates_with_a_sack() {
    let mut pair = Pair::established_with(data_config(1 << 20), data_config(1 << 20));
    let now = pair.now;
    pair.assoc_mut(Side::Z).shutdown(now);
    pair.transmit(Side::Z);
    assert_eq!(pair.state(Side::Z), Some(State::ShutdownSent));
    let z_tag = pair.assoc(Side::Z).local_tag();
    let tsn = pair.assoc(Side::Z).negotiated().unwrap().peer_initial_tsn;
    let answer = |pair: &mut Pair| -> (bool, Vec<Tsn>) {
        pair.deliver_bytes(Side::Z, packet(z_tag, &[data(tsn, 0)]));
        let out = pair.transmit(Side::Z);
        let chunks: Vec<Chunk> = out.iter().flat_map(|s| s.chunks()).collect();
        let shutdown = chunks.iter().any(|c| matches!(c, Chunk::Shutdown(_)));
        let dups = chunks
            .iter()
            .filter_map(|c| match c {
                Chunk::Sack(s) => Some(s.duplicate_tsns.clone()),
                _ => None,
            })
            .flatten()
            .collect();
        (shutdown, dups)
    };
    // New data in sequence: the SHUTDOWN's Cumulative TSN Ack says it all.
    assert_eq!(answer(&mut pair), (true, vec![]));
    // The same chunk again (its acknowledgement was lost): a SACK reports the duplicate.
    assert_eq!(answer(&mut pair), (true, vec![Tsn(tsn)]));
}

/// RFC 9260 §3.3.8: a SHUTDOWN's missing gap blocks do not revoke what earlier SACKs
/// gap-acknowledged (unlike a SACK without them).
#[test]
fn shutdown_does_not_revoke_gap_acked_data() {
    let mut pair = Pair::established_with(data_config(1 << 20), data_config(1 << 20));
    let now = pair.now;
    for i in 0..4u32 {
        pair.assoc_mut(Side::A)
            .send(
                now,
                StreamId(0),
                payload(0, i, 1000),
                &SendOptions::default(),
            )
            .unwrap();
    }
    let sent = pair.transmit(Side::A);
    assert_eq!(sent.len(), 4);
    let a_tag = pair.assoc(Side::A).local_tag();
    let first = pair.assoc(Side::A).negotiated().unwrap().local_initial_tsn;
    // Z -> SACK(cum first-1, gap +2..+4): the first chunk is missing, three are gap-acked.
    let sack = Sack {
        cumulative_tsn_ack: Tsn(first.wrapping_sub(1)),
        a_rwnd: 1 << 20,
        gap_blocks: vec![braid_wire::GapAckBlock { start: 2, end: 4 }],
        duplicate_tsns: vec![],
    };
    pair.deliver_bytes(Side::A, packet(a_tag, &[Chunk::Sack(sack)]));
    let in_flight = pair.assoc(Side::A).bytes_in_flight();
    assert!(in_flight > 0 && in_flight < 2000, "{in_flight}");
    // Z -> SHUTDOWN(cum first-1): no gap blocks, but nothing revoked.
    pair.deliver_bytes(
        Side::A,
        packet(
            a_tag,
            &[Chunk::Shutdown(Shutdown {
                cumulative_tsn_ack: Tsn(first.wrapping_sub(1)),
            })],
        ),
    );
    assert_eq!(pair.assoc(Side::A).bytes_in_flight(), in_flight);
    // The exchange still completes.
    pair.run(Duration::from_secs(10), &mut |_, _| Fate::Deliver);
    let _ = perfect;
}

/// The SHUTDOWN COMPLETE is lost and a late packet reaches the side that already closed,
/// which answers with a T-bit ABORT (RFC 9260 §8.4 rule 8). The side in SHUTDOWN-ACK-SENT had
/// every byte acknowledged both ways: the shutdown is complete, not aborted (found by the
/// soak matrix, seeds 996 and 4301).
#[test]
fn lost_shutdown_complete_then_out_of_the_blue_abort_is_a_graceful_close() {
    let mut pair = Pair::established_with(data_config(1 << 20), data_config(1 << 20));
    let a_tag = pair.assoc(Side::A).local_tag();
    let now = pair.now;
    pair.assoc_mut(Side::A).shutdown(now);
    // A -> SHUTDOWN -> Z;  A <- SHUTDOWN ACK <- Z;  A -> SHUTDOWN COMPLETE -> (lost)
    let shutdown = pair.transmit_one(Side::A);
    pair.deliver(&shutdown);
    let ack = pair.transmit_one(Side::Z);
    assert!(ack.is(t::SHUTDOWN_ACK));
    pair.deliver(&ack);
    let complete = pair.transmit_one(Side::A);
    assert!(complete.is(t::SHUTDOWN_COMPLETE));
    assert!(pair
        .events(Side::A)
        .contains(&crate::Event::Closed(crate::CloseReason::Shutdown)));
    assert_eq!(pair.a.association_count(), 0, "A forgot the association");
    assert_eq!(pair.state(Side::Z), Some(State::ShutdownAckSent));
    // A late packet of the old association (a heartbeat) reaches A:
    // Z -> HEARTBEAT(tag A) -> A;  A <- ... A -> ABORT(T, tag A) -> Z
    let hb = Chunk::Heartbeat(braid_wire::Heartbeat {
        info: braid_wire::Bytes::from_static(b"late"),
    });
    pair.deliver_bytes(Side::A, packet(a_tag, &[hb]));
    let abort = pair.transmit_one(Side::A);
    assert!(abort.is(t::ABORT));
    pair.deliver(&abort);
    assert_eq!(
        pair.events(Side::Z),
        vec![
            crate::Event::ShutdownStarted,
            crate::Event::Closed(crate::CloseReason::Shutdown)
        ]
    );
}
