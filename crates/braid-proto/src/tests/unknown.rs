//! Chunk and parameter types the receiver does not know (RFC 9260 §3.2, §3.2.1, §3.2.2):
//! the upper two bits of the type say whether to go on with the rest and whether to tell
//! the sender.

use core::time::Duration;

use braid_wire::cause::UnrecognizedChunkType;
use braid_wire::chunk::chunk_type as t;
use braid_wire::param::{Parameter, UnknownParameter};
use braid_wire::{Bytes, Chunk, ErrorCause, Heartbeat, UnknownChunk, UnrecognizedAction};

use crate::harness::{packet, Fate, Pair, Side};
use crate::{EndpointConfig, Event, State};

/// One chunk type for each upper-two-bit combination: 00, 01, 10, 11.
const CHUNK_TYPES: [u8; 4] = [0x3f, 0x7f, 0xbf, 0xff];
/// One parameter type for each upper-two-bit combination: 00, 01, 10, 11.
const PARAM_TYPES: [u16; 4] = [0x3f42, 0x7f42, 0xbf42, 0xff42];

fn heartbeat(info: &'static [u8]) -> Chunk {
    Chunk::Heartbeat(Heartbeat {
        info: Bytes::from_static(info),
    })
}

fn heartbeat_ack(info: &'static [u8]) -> Chunk {
    Chunk::HeartbeatAck(Heartbeat {
        info: Bytes::from_static(info),
    })
}

fn unknown_param(param_type: u16) -> Parameter {
    Parameter::Unknown(UnknownParameter {
        param_type,
        value: Bytes::from_static(&[0xde, 0xad, 0xbe, 0xef]),
    })
}

/// The whole TLV of [`unknown_param`], as the Unrecognized Parameter(s) must carry it.
fn unknown_param_tlv(param_type: u16) -> Vec<u8> {
    let [hi, lo] = param_type.to_be_bytes();
    vec![hi, lo, 0, 8, 0xde, 0xad, 0xbe, 0xef]
}

/// Both sides offer PR-SCTP, so that `negotiated().partial_reliability` shows whether the
/// Forward-TSN-Supported parameter after an unknown one was processed.
fn pr_sctp_pair() -> Pair {
    let mut config = EndpointConfig::default();
    config.association.extensions.partial_reliability = true;
    Pair::with_config(config.clone(), config)
}

/// The packet with the INIT (or INIT ACK) parameters rewritten by `f`.
fn rewrite_init(chunks: Vec<Chunk>, tag: u32, f: impl Fn(&mut Vec<Parameter>)) -> Bytes {
    let chunks: Vec<Chunk> = chunks
        .into_iter()
        .map(|c| match c {
            Chunk::Init(mut i) => {
                f(&mut i.params);
                Chunk::Init(i)
            }
            Chunk::InitAck(mut i) => {
                f(&mut i.params);
                Chunk::InitAck(i)
            }
            other => other,
        })
        .collect();
    packet(tag, &chunks)
}

// ---------------------------------------------------------------- §3.2 chunk types

/// §3.2: an unknown chunk between two HEARTBEATs, on an established association.
/// * 00: the rest of the packet is not processed; nothing reported.
/// * 01: the rest is not processed; an ERROR with "Unrecognized Chunk Type" carrying the
///   whole chunk (header included, padding not) goes back.
/// * 10: skipped; the second HEARTBEAT is answered too.
/// * 11: skipped and reported.
///
/// The first HEARTBEAT, before the unknown chunk, is answered in every case, and the
/// association is never disturbed.
#[test]
fn unknown_chunk_types_by_their_upper_bits() {
    for chunk_type in CHUNK_TYPES {
        let action = UnrecognizedAction::for_chunk_type(chunk_type);
        let mut pair = Pair::established();
        let z = pair.assoc(Side::Z);
        let (z_local, z_peer) = (z.local_tag(), z.peer_tag());
        // A 5-byte value, so the chunk is padded on the wire but not in the report.
        let unknown = Chunk::Unknown(UnknownChunk {
            chunk_type,
            flags: 0x5a,
            value: Bytes::from_static(b"hello"),
        });
        // A -> HEARTBEAT + UNKNOWN + HEARTBEAT -> Z
        let bundle = packet(
            z_local,
            &[heartbeat(b"before"), unknown, heartbeat(b"after")],
        );
        pair.deliver_bytes(Side::Z, bundle);
        // A <- what Z answers <- Z
        let sent = pair.transmit(Side::Z);
        for s in &sent {
            assert_eq!(s.header().verification_tag, z_peer, "{s}");
        }
        let chunks: Vec<Chunk> = sent.iter().flat_map(|s| s.chunks()).collect();
        let report = ErrorCause::UnrecognizedChunkType(UnrecognizedChunkType {
            chunk: Bytes::from(vec![chunk_type, 0x5a, 0, 9, b'h', b'e', b'l', b'l', b'o']),
        });
        let error = Chunk::Error(braid_wire::OperationError {
            causes: vec![report.clone()],
        });
        let expected = match action {
            UnrecognizedAction::Stop => vec![heartbeat_ack(b"before")],
            UnrecognizedAction::StopAndReport => vec![heartbeat_ack(b"before"), error],
            UnrecognizedAction::Skip => {
                vec![heartbeat_ack(b"before"), heartbeat_ack(b"after")]
            }
            UnrecognizedAction::SkipAndReport => {
                vec![heartbeat_ack(b"before"), error, heartbeat_ack(b"after")]
            }
        };
        assert_eq!(chunks, expected, "type {chunk_type:#04x}: {}", pair.trace());
        assert_eq!(pair.state(Side::Z), Some(State::Established));
        assert_eq!(pair.events(Side::Z), []);
        // A receives the report and tells its user.
        for s in &sent {
            pair.deliver(s);
        }
        let a_events = pair.events(Side::A);
        if action.reports() {
            assert_eq!(a_events, vec![Event::PeerError(vec![report])]);
        } else {
            assert_eq!(a_events, []);
        }
        assert_eq!(pair.state(Side::A), Some(State::Established));
    }
}

// ---------------------------------------------------------------- §3.2.1 parameters in INIT

/// §3.2.1 / §3.3.3: an unknown parameter in an INIT, before A's Forward-TSN-Supported (and
/// Supported Extensions) parameters.
/// * 00 / 01: Z stops processing the INIT's parameters there, so it never sees PR-SCTP
///   offered; 10 / 11: it goes on and PR-SCTP is negotiated.
/// * 01 / 11: Z's INIT ACK carries an Unrecognized Parameter holding the whole TLV; 00 / 10:
///   nothing.
///
/// The handshake completes in every case.
#[test]
fn unknown_init_parameters_by_their_upper_bits() {
    for param_type in PARAM_TYPES {
        let action = UnrecognizedAction::for_param_type(param_type);
        let mut pair = pr_sctp_pair();
        pair.connect(Side::A);
        let mut init_acks = Vec::new();
        // A -> INIT (unknown parameter first) -> Z; A <- INIT ACK <- Z; ...
        pair.run(Duration::from_secs(1), &mut |sent, _| {
            if sent.is(t::INIT) {
                let tag = sent.header().verification_tag;
                assert!(sent
                    .chunks()
                    .iter()
                    .any(|c| matches!(c, Chunk::Init(i) if i.params.contains(&Parameter::ForwardTsnSupported))));
                return Fate::Rewrite(rewrite_init(sent.chunks(), tag, |params| {
                    params.insert(0, unknown_param(param_type));
                }));
            }
            if sent.is(t::INIT_ACK) {
                init_acks.push(sent.clone());
            }
            Fate::Deliver
        });
        let case = format!("type {param_type:#06x}");
        assert_eq!(
            pair.state(Side::A),
            Some(State::Established),
            "{case}: {}",
            pair.trace()
        );
        assert_eq!(
            pair.state(Side::Z),
            Some(State::Established),
            "{case}: {}",
            pair.trace()
        );
        assert_eq!(init_acks.len(), 1, "{case}");
        let Some(Chunk::InitAck(ack)) = init_acks[0].chunks().into_iter().next() else {
            panic!("{case}: not an INIT ACK");
        };
        let reported: Vec<&Parameter> = ack
            .params
            .iter()
            .filter(|p| matches!(p, Parameter::UnrecognizedParameter(_)))
            .collect();
        if action.reports() {
            assert_eq!(
                reported,
                vec![&Parameter::UnrecognizedParameter(Bytes::from(
                    unknown_param_tlv(param_type)
                ))],
                "{case}"
            );
        } else {
            assert_eq!(reported, Vec::<&Parameter>::new(), "{case}");
        }
        let z = pair.assoc(Side::Z).negotiated().copied().unwrap();
        assert_eq!(
            z.partial_reliability,
            action.skips(),
            "{case}: Z processed the parameters after the unknown one"
        );
        // The INIT ACK's Unrecognized Parameter is no unknown parameter to A: no ERROR back.
        assert_eq!(pair.sent_count(Side::A, t::ERROR), 0, "{case}");
        assert_eq!(pair.events(Side::A), vec![Event::Connected], "{case}");
        assert_eq!(pair.events(Side::Z), vec![Event::Connected], "{case}");
    }
}

// ---------------------------------------------------------------- §3.2.1 parameters in INIT ACK

/// §3.2.1 / §3.2.2: an unknown parameter in an INIT ACK, after the State Cookie and before Z's
/// Forward-TSN-Supported (and Supported Extensions) parameters.
/// * 00 / 01: A stops processing there and does not see PR-SCTP offered; 10 / 11: it does.
/// * 01 / 11: A bundles an ERROR with an "Unrecognized Parameters" cause holding the whole
///   TLV after the COOKIE ECHO, in the same packet; Z's new association reports it to its
///   user. 00 / 10: the COOKIE ECHO goes alone.
///
/// The handshake completes in every case.
#[test]
fn unknown_init_ack_parameters_by_their_upper_bits() {
    for param_type in PARAM_TYPES {
        let action = UnrecognizedAction::for_param_type(param_type);
        let mut pair = pr_sctp_pair();
        pair.connect(Side::A);
        let mut echoes = Vec::new();
        // A -> INIT -> Z; A <- INIT ACK (cookie, unknown, the rest) <- Z; A -> COOKIE ECHO ...
        pair.run(Duration::from_secs(1), &mut |sent, _| {
            if sent.is(t::INIT_ACK) {
                let tag = sent.header().verification_tag;
                return Fate::Rewrite(rewrite_init(sent.chunks(), tag, |params| {
                    let cookie = params
                        .iter()
                        .position(|p| matches!(p, Parameter::StateCookie(_)))
                        .expect("INIT ACK without a cookie");
                    let cookie = params.remove(cookie);
                    assert!(params.contains(&Parameter::ForwardTsnSupported));
                    params.insert(0, unknown_param(param_type));
                    params.insert(0, cookie);
                }));
            }
            if sent.is(t::COOKIE_ECHO) {
                echoes.push(sent.clone());
            }
            Fate::Deliver
        });
        let case = format!("type {param_type:#06x}");
        assert_eq!(
            pair.state(Side::A),
            Some(State::Established),
            "{case}: {}",
            pair.trace()
        );
        assert_eq!(
            pair.state(Side::Z),
            Some(State::Established),
            "{case}: {}",
            pair.trace()
        );
        assert_eq!(echoes.len(), 1, "{case}");
        let report = ErrorCause::UnrecognizedParameters(braid_wire::cause::RawParams::new(
            unknown_param_tlv(param_type),
        ));
        let chunks = echoes[0].chunks();
        assert!(
            matches!(chunks.first(), Some(Chunk::CookieEcho(_))),
            "{case}: COOKIE ECHO first"
        );
        if action.reports() {
            assert_eq!(
                chunks[1..],
                [Chunk::Error(braid_wire::OperationError {
                    causes: vec![report.clone()],
                })],
                "{case}: the ERROR is bundled after the COOKIE ECHO"
            );
        } else {
            assert_eq!(chunks.len(), 1, "{case}: {chunks:?}");
        }
        let a = pair.assoc(Side::A).negotiated().copied().unwrap();
        assert_eq!(
            a.partial_reliability,
            action.skips(),
            "{case}: A processed the parameters after the unknown one"
        );
        assert_eq!(pair.events(Side::A), vec![Event::Connected], "{case}");
        let mut z_expected = vec![Event::Connected];
        if action.reports() {
            z_expected.push(Event::PeerError(vec![report]));
        }
        assert_eq!(pair.events(Side::Z), z_expected, "{case}");
    }
}

/// §8.5 before §3.2: an unknown chunk in a packet with a wrong tag is never looked at, so
/// even a "report" type earns no ERROR (a blind sender cannot make us talk).
#[test]
fn unknown_chunk_with_a_wrong_tag_is_not_reported() {
    let mut pair = Pair::established();
    let z_local = pair.assoc(Side::Z).local_tag();
    for chunk_type in CHUNK_TYPES {
        let unknown = Chunk::Unknown(UnknownChunk {
            chunk_type,
            flags: 0,
            value: Bytes::from_static(b"psst"),
        });
        // A -> UNKNOWN (wrong tag) -> Z: nothing back.
        pair.deliver_bytes(Side::Z, packet(z_local ^ 1, &[unknown]));
        assert!(pair.transmit(Side::Z).is_empty(), "type {chunk_type:#04x}");
    }
    assert_eq!(pair.assoc(Side::Z).stats().packets_dropped, 4);
    assert_eq!(pair.state(Side::Z), Some(State::Established));
}

/// §3.2 with §5.1 D: unknown chunks bundled after the COOKIE ECHO are handled by the
/// association the cookie creates, which reports the 01 / 11 kinds after its COOKIE ACK.
#[test]
fn unknown_chunk_bundled_after_cookie_echo() {
    for chunk_type in CHUNK_TYPES {
        let action = UnrecognizedAction::for_chunk_type(chunk_type);
        let unknown = UnknownChunk {
            chunk_type,
            flags: 0,
            value: Bytes::from_static(b"late"),
        };
        let mut pair = Pair::new();
        pair.connect(Side::A);
        let mut from_z = Vec::new();
        // A -> INIT -> Z; A <- INIT ACK <- Z; A -> COOKIE ECHO + UNKNOWN -> Z; ...
        pair.run(Duration::from_secs(1), &mut |sent, _| {
            if sent.is(t::COOKIE_ECHO) {
                let mut chunks = sent.chunks();
                chunks.push(Chunk::Unknown(unknown.clone()));
                return Fate::Rewrite(packet(sent.header().verification_tag, &chunks));
            }
            if sent.from == Side::Z {
                from_z.extend(sent.chunks());
            }
            Fate::Deliver
        });
        let case = format!("type {chunk_type:#04x}");
        assert_eq!(pair.state(Side::A), Some(State::Established), "{case}");
        assert_eq!(pair.state(Side::Z), Some(State::Established), "{case}");
        let report = ErrorCause::UnrecognizedChunkType(UnrecognizedChunkType {
            chunk: Bytes::from(vec![chunk_type, 0, 0, 8, b'l', b'a', b't', b'e']),
        });
        let errors: Vec<&Chunk> = from_z
            .iter()
            .filter(|c| matches!(c, Chunk::Error(_)))
            .collect();
        if action.reports() {
            assert_eq!(
                errors,
                vec![&Chunk::Error(braid_wire::OperationError {
                    causes: vec![report.clone()],
                })],
                "{case}: {}",
                pair.trace()
            );
            assert!(pair
                .events(Side::A)
                .contains(&Event::PeerError(vec![report])));
        } else {
            assert!(errors.is_empty(), "{case}: {}", pair.trace());
        }
    }
}
