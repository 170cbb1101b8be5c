//! proptest strategies generating every chunk type with values valid to emit.

use bytes::Bytes;
use proptest::collection::vec;
use proptest::prelude::*;

use super::*;
use crate::cause::strategy::any_cause;
use crate::param::strategy::any_parameter;
use crate::param::Parameter;
use crate::serial::{Fsn, Mid, Ssn, Tsn};

pub(crate) fn bytes(max: usize) -> impl Strategy<Value = Bytes> {
    vec(any::<u8>(), 0..max).prop_map(Bytes::from)
}

fn tsn() -> impl Strategy<Value = Tsn> {
    any::<u32>().prop_map(Tsn)
}

pub(crate) fn any_data() -> impl Strategy<Value = Data> {
    (
        tsn(),
        any::<u16>(),
        any::<u16>(),
        any::<u32>(),
        any::<[bool; 4]>(),
        bytes(1500),
    )
        .prop_map(|(tsn, stream_id, ssn, ppid, [u, b, e, i], payload)| Data {
            tsn,
            stream_id,
            ssn: Ssn(ssn),
            ppid,
            unordered: u,
            beginning: b,
            ending: e,
            immediate_sack: i,
            payload,
        })
}

fn any_idata() -> impl Strategy<Value = IData> {
    (
        tsn(),
        any::<u16>(),
        any::<u32>(),
        any::<u32>(),
        any::<[bool; 4]>(),
        bytes(600),
    )
        .prop_map(
            |(tsn, stream_id, mid, field, [u, b, e, i], payload)| IData {
                tsn,
                stream_id,
                mid: Mid(mid),
                // RFC 8260 §2.1: one wire field, PPID on the first fragment, FSN on the others.
                fsn: Fsn(if b { 0 } else { field }),
                ppid: if b { field } else { 0 },
                unordered: u,
                beginning: b,
                ending: e,
                immediate_sack: i,
                payload,
            },
        )
}

fn any_init() -> impl Strategy<Value = Init> {
    (
        any::<u32>(),
        any::<u32>(),
        any::<u16>(),
        any::<u16>(),
        tsn(),
        vec(any_parameter(), 0..8),
    )
        .prop_map(
            |(initiate_tag, a_rwnd, outbound_streams, inbound_streams, initial_tsn, params)| Init {
                initiate_tag,
                a_rwnd,
                outbound_streams,
                inbound_streams,
                initial_tsn,
                params,
            },
        )
}

pub(crate) fn any_sack() -> impl Strategy<Value = Sack> {
    (
        tsn(),
        any::<u32>(),
        vec(any::<(u16, u16)>(), 0..60),
        vec(tsn(), 0..20),
    )
        .prop_map(|(cumulative_tsn_ack, a_rwnd, gaps, duplicate_tsns)| Sack {
            cumulative_tsn_ack,
            a_rwnd,
            gap_blocks: gaps
                .into_iter()
                .map(|(start, end)| GapAckBlock { start, end })
                .collect(),
            duplicate_tsns,
        })
}

fn address_param() -> impl Strategy<Value = Parameter> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(|a| Parameter::parse(5, &Bytes::copy_from_slice(&a)).unwrap()),
        any::<[u8; 16]>().prop_map(|a| Parameter::parse(6, &Bytes::copy_from_slice(&a)).unwrap()),
    ]
}

/// Every chunk type.
pub(crate) fn any_chunk() -> impl Strategy<Value = Chunk> {
    prop_oneof![
        any_data().prop_map(Chunk::Data),
        any_init().prop_map(Chunk::Init),
        any_init().prop_map(Chunk::InitAck),
        any_sack().prop_map(Chunk::Sack),
        bytes(64).prop_map(|info| Chunk::Heartbeat(Heartbeat { info })),
        bytes(64).prop_map(|info| Chunk::HeartbeatAck(Heartbeat { info })),
        (any::<bool>(), vec(any_cause(), 0..4))
            .prop_map(|(t_bit, causes)| Chunk::Abort(Abort { t_bit, causes })),
        tsn().prop_map(|t| Chunk::Shutdown(Shutdown {
            cumulative_tsn_ack: t
        })),
        Just(Chunk::ShutdownAck),
        vec(any_cause(), 0..4).prop_map(|causes| Chunk::Error(OperationError { causes })),
        bytes(300).prop_map(|cookie| Chunk::CookieEcho(CookieEcho { cookie })),
        Just(Chunk::CookieAck),
        tsn().prop_map(|t| Chunk::Ecne(Ecne { lowest_tsn: t })),
        tsn().prop_map(|t| Chunk::Cwr(Cwr { lowest_tsn: t })),
        any::<bool>().prop_map(|t_bit| Chunk::ShutdownComplete(ShutdownComplete { t_bit })),
        (any::<u16>(), any::<u16>(), bytes(64)).prop_map(|(shared_key_id, hmac_id, hmac)| {
            Chunk::Auth(Auth {
                shared_key_id,
                hmac_id,
                hmac,
            })
        }),
        any_idata().prop_map(Chunk::IData),
        (any::<u32>(), vec(any_parameter(), 0..4)).prop_map(|(sequence_number, params)| {
            Chunk::AsconfAck(AsconfAck {
                sequence_number,
                params,
            })
        }),
        vec(any_parameter(), 0..3).prop_map(|params| Chunk::ReConfig(ReConfig { params })),
        bytes(200).prop_map(|padding| Chunk::Pad(Pad { padding })),
        (tsn(), vec(any::<(u16, u16)>(), 0..20)).prop_map(|(t, s)| Chunk::ForwardTsn(ForwardTsn {
            new_cumulative_tsn: t,
            streams: s
                .into_iter()
                .map(|(stream_id, ssn)| ForwardTsnStream {
                    stream_id,
                    ssn: Ssn(ssn)
                })
                .collect(),
        })),
        (any::<u32>(), address_param(), vec(any_parameter(), 0..4)).prop_map(
            |(sequence_number, addr, rest)| {
                let mut params = vec![addr];
                params.extend(rest);
                Chunk::Asconf(Asconf {
                    sequence_number,
                    params,
                })
            }
        ),
        (tsn(), vec(any::<(u16, bool, u32)>(), 0..20)).prop_map(|(t, s)| Chunk::IForwardTsn(
            IForwardTsn {
                new_cumulative_tsn: t,
                streams: s
                    .into_iter()
                    .map(|(stream_id, unordered, mid)| IForwardTsnStream {
                        stream_id,
                        unordered,
                        mid: Mid(mid)
                    })
                    .collect(),
            }
        )),
        (
            any::<u8>().prop_filter("unknown type", |t| chunk_type::name(*t).is_none()),
            any::<u8>(),
            bytes(100)
        )
            .prop_map(|(chunk_type, flags, value)| Chunk::Unknown(UnknownChunk {
                chunk_type,
                flags,
                value
            })),
    ]
}
