//! proptest strategies for error causes, shared with the chunk module (ABORT and ERROR round
//! trips). Every value generated is valid to emit: it fits its length field, and the TLV copies
//! it carries are well-formed.

use bytes::Bytes;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::strategy::Union;

use super::{code, ErrorCause, NewEncapsulationPort, RawParams, Reason, UnknownCause};
use crate::tlv;
use crate::Tsn;

/// Arbitrary bytes, 0..256 long.
pub(crate) fn any_bytes() -> impl Strategy<Value = Bytes> {
    vec(any::<u8>(), 0..256).prop_map(Bytes::from)
}

/// One complete TLV with a `head` (two type bytes) and a 0..60-byte value; padded unless `last`.
fn tlv_bytes(head: [u8; 2], value: &[u8], last: bool, out: &mut Vec<u8>) {
    let len = tlv::TLV_HEADER_LEN + value.len();
    tlv::write_tlv_header(out, head, u16::try_from(len).unwrap_or(u16::MAX));
    out.extend_from_slice(value);
    if !last {
        tlv::write_padding(out, len);
    }
}

/// 1..=4 well-formed parameter TLVs of any type, the last one unpadded.
pub(crate) fn param_tlvs() -> impl Strategy<Value = RawParams> {
    vec((any::<u16>(), vec(any::<u8>(), 0..60)), 1..=4).prop_map(|params| {
        let mut out = Vec::new();
        let n = params.len();
        for (i, (t, value)) in params.iter().enumerate() {
            tlv_bytes(t.to_be_bytes(), value, i + 1 == n, &mut out);
        }
        RawParams(Bytes::from(out))
    })
}

/// A complete chunk (type, flags, length, value), as Unrecognized Chunk Type reports it.
fn any_chunk() -> impl Strategy<Value = Bytes> {
    (any::<u8>(), any::<u8>(), vec(any::<u8>(), 0..252)).prop_map(|(t, flags, value)| {
        let mut out = Vec::new();
        tlv_bytes([t, flags], &value, true, &mut out);
        Bytes::from(out)
    })
}

/// A cause with a code this module does not know, and any value.
pub(crate) fn any_cause_of_unknown_code() -> impl Strategy<Value = ErrorCause> {
    (
        any::<u16>().prop_filter("known cause code", |c| !code::is_known(*c)),
        any_bytes(),
    )
        .prop_map(|(code, value)| ErrorCause::Unknown(UnknownCause { code, value }))
}

/// Any error cause: every variant, and unknown codes.
pub(crate) fn any_cause() -> impl Strategy<Value = ErrorCause> {
    let params = || param_tlvs().boxed();
    Union::new(vec![
        any::<u16>().prop_map(ErrorCause::invalid_stream_id).boxed(),
        vec(any::<u16>(), 0..64)
            .prop_map(ErrorCause::missing_mandatory_parameters)
            .boxed(),
        any::<u32>().prop_map(ErrorCause::stale_cookie).boxed(),
        Just(ErrorCause::OutOfResource).boxed(),
        params().prop_map(ErrorCause::UnresolvableAddress).boxed(),
        any_chunk().prop_map(ErrorCause::unrecognized_chunk).boxed(),
        Just(ErrorCause::InvalidMandatoryParameter).boxed(),
        params()
            .prop_map(ErrorCause::UnrecognizedParameters)
            .boxed(),
        any::<u32>()
            .prop_map(|t| ErrorCause::no_user_data(Tsn(t)))
            .boxed(),
        Just(ErrorCause::CookieReceivedWhileShuttingDown).boxed(),
        params()
            .prop_map(ErrorCause::RestartWithNewAddresses)
            .boxed(),
        any_bytes()
            .prop_map(|r| ErrorCause::UserInitiatedAbort(Reason(r)))
            .boxed(),
        any_bytes()
            .prop_map(|r| ErrorCause::ProtocolViolation(Reason(r)))
            .boxed(),
        (any::<u16>(), any::<u16>())
            .prop_map(|(current_port, new_port)| {
                ErrorCause::RestartWithNewEncapsulationPort(NewEncapsulationPort {
                    current_port,
                    new_port,
                })
            })
            .boxed(),
        params()
            .prop_map(ErrorCause::DeleteLastRemainingAddress)
            .boxed(),
        params().prop_map(ErrorCause::ResourceShortage).boxed(),
        params().prop_map(ErrorCause::DeleteSourceAddress).boxed(),
        Just(ErrorCause::IllegalAsconfAck).boxed(),
        params().prop_map(ErrorCause::RequestRefused).boxed(),
        any::<u16>()
            .prop_map(ErrorCause::unsupported_hmac_id)
            .boxed(),
        any_cause_of_unknown_code().boxed(),
    ])
}
