//! proptest strategies for [`Parameter`], shared with the chunk tests (INIT, ASCONF, RE-CONFIG
//! round trips).
//!
//! Every strategy generates only values that are valid to emit and that parse back to
//! themselves: lists are bounded to 0..64 entries, byte strings to 0..256 bytes, and
//! [`Parameter::Unknown`] only takes type codes this module does not know.

use bytes::Bytes;
use proptest::collection::vec;
use proptest::prelude::*;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::*;
use crate::serial::Tsn;

/// Any parameter, every variant included.
pub(crate) fn any_parameter() -> impl Strategy<Value = Parameter> {
    prop_oneof![
        // RFC 9260 (opaque values and addresses).
        prop_oneof![
            any_bytes().prop_map(Parameter::HeartbeatInfo),
            any_ipv4().prop_map(Parameter::Ipv4Address),
            any_ipv6().prop_map(Parameter::Ipv6Address),
            any_bytes().prop_map(Parameter::StateCookie),
            any_bytes().prop_map(Parameter::UnrecognizedParameter),
            any::<u32>().prop_map(Parameter::CookiePreservative),
            any_bytes().prop_map(Parameter::HostNameAddress),
            vec(any::<u16>(), 0..64).prop_map(Parameter::SupportedAddressTypes),
        ],
        // RFC 6525.
        prop_oneof![
            any_outgoing_reset().prop_map(Parameter::OutgoingSsnResetRequest),
            any_incoming_reset().prop_map(Parameter::IncomingSsnResetRequest),
            any::<u32>()
                .prop_map(|request_seq| SsnTsnResetRequest { request_seq })
                .prop_map(Parameter::SsnTsnResetRequest),
            any_reconfig_response().prop_map(Parameter::ReconfigResponse),
            any_add_streams().prop_map(Parameter::AddOutgoingStreamsRequest),
            any_add_streams().prop_map(Parameter::AddIncomingStreamsRequest),
        ],
        // Capabilities, AUTH, padding.
        prop_oneof![
            Just(Parameter::EcnCapable),
            any::<u32>().prop_map(Parameter::ZeroChecksumAcceptable),
            any_bytes().prop_map(Parameter::Random),
            vec(any::<u8>(), 0..64).prop_map(Parameter::ChunkList),
            vec(any::<u16>(), 0..64).prop_map(Parameter::RequestedHmacAlgorithm),
            any_bytes().prop_map(Parameter::Padding),
            vec(any::<u8>(), 0..64).prop_map(Parameter::SupportedExtensions),
            Just(Parameter::ForwardTsnSupported),
            any::<u32>().prop_map(Parameter::AdaptationLayerIndication),
        ],
        // RFC 5061 ASCONF.
        prop_oneof![
            any_address_request().prop_map(Parameter::AddIpAddress),
            any_address_request().prop_map(Parameter::DeleteIpAddress),
            any_error_cause_indication().prop_map(Parameter::ErrorCauseIndication),
            any_address_request().prop_map(Parameter::SetPrimaryAddress),
            any::<u32>().prop_map(Parameter::SuccessIndication),
        ],
        // Anything else.
        (unknown_param_type(), any_bytes()).prop_map(|(param_type, value)| Parameter::Unknown(
            UnknownParameter { param_type, value }
        )),
    ]
}

/// A type code that [`Parameter::parse`] does not know.
pub(crate) fn unknown_param_type() -> impl Strategy<Value = u16> {
    any::<u16>().prop_filter("a known parameter type", |&t| !param_type::is_known(t))
}

/// Opaque bytes, 0..256 long.
pub(crate) fn any_bytes() -> impl Strategy<Value = Bytes> {
    vec(any::<u8>(), 0..256).prop_map(Bytes::from)
}

/// Any IPv4 address.
pub(crate) fn any_ipv4() -> impl Strategy<Value = Ipv4Addr> {
    any::<[u8; 4]>().prop_map(Ipv4Addr::from)
}

/// Any IPv6 address.
pub(crate) fn any_ipv6() -> impl Strategy<Value = Ipv6Addr> {
    any::<[u8; 16]>().prop_map(Ipv6Addr::from)
}

/// An Add IP / Delete IP / Set Primary value.
pub(crate) fn any_address_request() -> impl Strategy<Value = AddressRequest> {
    let address = prop_oneof![
        any_ipv4().prop_map(IpAddr::V4),
        any_ipv6().prop_map(IpAddr::V6)
    ];
    (any::<u32>(), address).prop_map(|(correlation_id, address)| AddressRequest {
        correlation_id,
        address,
    })
}

/// An Error Cause Indication whose causes form a well-framed TLV sequence.
pub(crate) fn any_error_cause_indication() -> impl Strategy<Value = ErrorCauseIndication> {
    let causes = vec((any::<u16>(), vec(any::<u8>(), 0..32)), 0..4).prop_map(|causes| {
        let mut out = Vec::new();
        let n = causes.len();
        for (i, (code, value)) in causes.into_iter().enumerate() {
            let len = tlv::TLV_HEADER_LEN + value.len();
            tlv::write_tlv_header(&mut out, code.to_be_bytes(), len as u16);
            out.extend_from_slice(&value);
            if i + 1 != n {
                tlv::write_padding(&mut out, len);
            }
        }
        Bytes::from(out)
    });
    (any::<u32>(), causes).prop_map(|(correlation_id, causes)| ErrorCauseIndication {
        correlation_id,
        causes,
    })
}

/// An Outgoing SSN Reset Request.
pub(crate) fn any_outgoing_reset() -> impl Strategy<Value = OutgoingSsnResetRequest> {
    (
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
        vec(any::<u16>(), 0..64),
    )
        .prop_map(
            |(request_seq, response_seq, tsn, streams)| OutgoingSsnResetRequest {
                request_seq,
                response_seq,
                last_assigned_tsn: Tsn(tsn),
                streams,
            },
        )
}

/// An Incoming SSN Reset Request.
pub(crate) fn any_incoming_reset() -> impl Strategy<Value = IncomingSsnResetRequest> {
    (any::<u32>(), vec(any::<u16>(), 0..64)).prop_map(|(request_seq, streams)| {
        IncomingSsnResetRequest {
            request_seq,
            streams,
        }
    })
}

/// A Re-configuration Response result; `Unknown` only for values above 6.
pub(crate) fn any_reconfig_result() -> impl Strategy<Value = ReconfigResult> {
    prop_oneof![
        (0u32..=6).prop_map(ReconfigResult::from_u32),
        (7u32..).prop_map(ReconfigResult::Unknown)
    ]
}

/// A Re-configuration Response, with or without the next TSNs.
pub(crate) fn any_reconfig_response() -> impl Strategy<Value = ReconfigResponse> {
    let next = proptest::option::of((any::<u32>(), any::<u32>()).prop_map(|(s, r)| NextTsns {
        sender_next_tsn: Tsn(s),
        receiver_next_tsn: Tsn(r),
    }));
    (any::<u32>(), any_reconfig_result(), next).prop_map(|(response_seq, result, next_tsns)| {
        ReconfigResponse {
            response_seq,
            result,
            next_tsns,
        }
    })
}

/// An Add Outgoing / Incoming Streams Request.
pub(crate) fn any_add_streams() -> impl Strategy<Value = AddStreamsRequest> {
    (any::<u32>(), any::<u16>()).prop_map(|(request_seq, new_streams)| AddStreamsRequest {
        request_seq,
        new_streams,
    })
}
