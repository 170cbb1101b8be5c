//! Error causes: the TLVs that ABORT and ERROR chunks carry (RFC 9260 §3.3.10), and that an
//! ASCONF-ACK carries inside its Error Cause Indication parameter (RFC 5061 §4.2.3).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |          Cause Code           |         Cause Length          |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! /                  Cause-Specific Information                   /
//! \                                                               \
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! The Cause Length counts the 4-byte header and the information, never the padding. In a
//! sequence every cause but the last is padded to a multiple of 4 bytes; [`parse_causes`] accepts
//! the last one with or without its padding, [`write_causes`] leaves it off (the chunk adds it).
//!
//! One file per family, each opening with its RFC diagrams:
//!
//! | file           | specification                                                 | codes         |
//! |----------------|---------------------------------------------------------------|---------------|
//! | `base.rs`      | RFC 9260 §3.3.10.1–13                                         | 1–13          |
//! | `udp_encap.rs` | draft-tuexen-tsvwg-sctp-udp-encaps-cons §4 (updates RFC 6951) | 14            |
//! | `asconf.rs`    | RFC 5061 §4.3                                                 | 0x00A0–0x00A4 |
//! | `auth.rs`      | RFC 4895 §4.1                                                 | 0x0105        |
//! | `raw.rs`       | opaque payloads shared by several causes                      |               |
//!
//! Extensions Braid speaks that define **no** error cause: RFC 6525 (stream reconfiguration: a
//! refused or failed request is answered by the Result field of a Re-configuration Response
//! parameter, §4.4, never by an error cause), RFC 3758 (PR-SCTP), RFC 4820 (padding), RFC 7053
//! (SACK-IMMEDIATELY), RFC 8260 (I-DATA and stream schedulers) and RFC 9653 (zero checksum).
//! Every other code parses as [`ErrorCause::Unknown`], its bytes kept.
//!
//! Parsing is zero-copy (variable-length payloads are [`Bytes`] slices of the input) and cannot
//! panic. A cause whose length is fixed by its specification and is wrong on the wire fails with
//! [`WireError::InvalidLength`]; causes that carry copies of other TLVs keep them verbatim and
//! only decode them on demand ([`RawParams::iter`]), so a peer's malformed copy never makes the
//! ABORT or ERROR around it unreadable.

use bytes::Bytes;
use core::fmt;

use crate::error::{Result, WireError};
use crate::tlv::{self, Padding, TlvIter};
use crate::Tsn;

mod asconf;
mod auth;
mod base;
mod raw;
mod udp_encap;

#[cfg(test)]
pub(crate) mod strategy;

pub use auth::UnsupportedHmacId;
pub use base::{
    InvalidStreamId, MissingMandatoryParameter, NoUserData, StaleCookie, UnrecognizedChunkType,
};
pub use raw::{RawParams, RawParamsIter, Reason};
pub use udp_encap::NewEncapsulationPort;

/// The 16-bit cause codes known to this module (IANA "Error Cause Codes" registry).
pub mod code {
    /// Invalid Stream Identifier (RFC 9260 §3.3.10.1).
    pub const INVALID_STREAM_ID: u16 = 1;
    /// Missing Mandatory Parameter (RFC 9260 §3.3.10.2).
    pub const MISSING_MANDATORY_PARAMETER: u16 = 2;
    /// Stale Cookie Error (RFC 9260 §3.3.10.3).
    pub const STALE_COOKIE: u16 = 3;
    /// Out of Resource (RFC 9260 §3.3.10.4).
    pub const OUT_OF_RESOURCE: u16 = 4;
    /// Unresolvable Address (RFC 9260 §3.3.10.5).
    pub const UNRESOLVABLE_ADDRESS: u16 = 5;
    /// Unrecognized Chunk Type (RFC 9260 §3.3.10.6).
    pub const UNRECOGNIZED_CHUNK_TYPE: u16 = 6;
    /// Invalid Mandatory Parameter (RFC 9260 §3.3.10.7).
    pub const INVALID_MANDATORY_PARAMETER: u16 = 7;
    /// Unrecognized Parameters (RFC 9260 §3.3.10.8).
    pub const UNRECOGNIZED_PARAMETERS: u16 = 8;
    /// No User Data (RFC 9260 §3.3.10.9).
    pub const NO_USER_DATA: u16 = 9;
    /// Cookie Received While Shutting Down (RFC 9260 §3.3.10.10).
    pub const COOKIE_RECEIVED_WHILE_SHUTTING_DOWN: u16 = 10;
    /// Restart of an Association with New Addresses (RFC 9260 §3.3.10.11).
    pub const RESTART_WITH_NEW_ADDRESSES: u16 = 11;
    /// User-Initiated Abort (RFC 9260 §3.3.10.12).
    pub const USER_INITIATED_ABORT: u16 = 12;
    /// Protocol Violation (RFC 9260 §3.3.10.13).
    pub const PROTOCOL_VIOLATION: u16 = 13;
    /// Restart of an Association with New Encapsulation Port (SCTP over UDP,
    /// draft-tuexen-tsvwg-sctp-udp-encaps-cons §4; sent by Linux).
    pub const RESTART_WITH_NEW_ENCAPSULATION_PORT: u16 = 14;
    /// Request to Delete Last Remaining IP Address (RFC 5061 §4.3.1).
    pub const DELETE_LAST_REMAINING_ADDRESS: u16 = 0x00A0;
    /// Operation Refused Due to Resource Shortage (RFC 5061 §4.3.2).
    pub const RESOURCE_SHORTAGE: u16 = 0x00A1;
    /// Request to Delete Source IP Address (RFC 5061 §4.3.3).
    pub const DELETE_SOURCE_ADDRESS: u16 = 0x00A2;
    /// Association Aborted Due to Illegal ASCONF-ACK (RFC 5061 §4.3.4).
    pub const ILLEGAL_ASCONF_ACK: u16 = 0x00A3;
    /// Request Refused - No Authorization (RFC 5061 §4.3.5).
    pub const REQUEST_REFUSED: u16 = 0x00A4;
    /// Unsupported HMAC Identifier (RFC 4895 §4.1).
    pub const UNSUPPORTED_HMAC_ID: u16 = 0x0105;

    /// Every code above, in increasing order.
    pub const KNOWN: [u16; 20] = [
        INVALID_STREAM_ID,
        MISSING_MANDATORY_PARAMETER,
        STALE_COOKIE,
        OUT_OF_RESOURCE,
        UNRESOLVABLE_ADDRESS,
        UNRECOGNIZED_CHUNK_TYPE,
        INVALID_MANDATORY_PARAMETER,
        UNRECOGNIZED_PARAMETERS,
        NO_USER_DATA,
        COOKIE_RECEIVED_WHILE_SHUTTING_DOWN,
        RESTART_WITH_NEW_ADDRESSES,
        USER_INITIATED_ABORT,
        PROTOCOL_VIOLATION,
        RESTART_WITH_NEW_ENCAPSULATION_PORT,
        DELETE_LAST_REMAINING_ADDRESS,
        RESOURCE_SHORTAGE,
        DELETE_SOURCE_ADDRESS,
        ILLEGAL_ASCONF_ACK,
        REQUEST_REFUSED,
        UNSUPPORTED_HMAC_ID,
    ];

    /// Whether `code` has a typed variant in [`ErrorCause`](super::ErrorCause).
    pub fn is_known(code: u16) -> bool {
        KNOWN.contains(&code)
    }
}

/// A cause whose code this module does not know, kept verbatim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownCause {
    /// The cause code.
    pub code: u16,
    /// The cause-specific information, without header or padding.
    pub value: Bytes,
}

impl fmt::Display for UnknownCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Unknown(code={:#06x}, {} bytes)",
            self.code,
            self.value.len()
        )
    }
}

/// An error cause of an ABORT or ERROR chunk, or of an ASCONF Error Cause Indication.
///
/// Emitting: a cause is meant to fit its 16-bit length field ([`encoded_len`](Self::encoded_len)
/// at most 65535). [`write`](Self::write) saturates the field otherwise, so chunk builders that
/// take causes from outside check `encoded_len` first.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorCause {
    /// 1: a DATA or I-DATA chunk was sent to a stream that does not exist.
    InvalidStreamId(InvalidStreamId),
    /// 2: an INIT or INIT ACK lacked mandatory parameters.
    MissingMandatoryParameter(MissingMandatoryParameter),
    /// 3: a COOKIE ECHO arrived with an expired cookie.
    StaleCookie(StaleCookie),
    /// 4: the sender is out of resource (usually memory).
    OutOfResource,
    /// 5: the sender cannot resolve an address; holds the address parameter TLV.
    UnresolvableAddress(RawParams),
    /// 6: the receiver did not understand a chunk; holds that whole chunk.
    UnrecognizedChunkType(UnrecognizedChunkType),
    /// 7: a mandatory parameter was set to an invalid value.
    InvalidMandatoryParameter,
    /// 8: the receiver did not understand parameters of an INIT, INIT ACK or ASCONF; holds them.
    UnrecognizedParameters(RawParams),
    /// 9: a DATA or I-DATA chunk had no user data.
    NoUserData(NoUserData),
    /// 10: a COOKIE ECHO arrived while shutting down.
    CookieReceivedWhileShuttingDown,
    /// 11: a restarting INIT added addresses; holds the new address parameter TLVs.
    RestartWithNewAddresses(RawParams),
    /// 12: the upper layer aborted the association; holds its reason.
    UserInitiatedAbort(Reason),
    /// 13: the peer broke the protocol; holds free-form diagnostics.
    ProtocolViolation(Reason),
    /// 14: a restarting INIT came from a different UDP encapsulation port.
    RestartWithNewEncapsulationPort(NewEncapsulationPort),
    /// 0x00A0: an ASCONF asked to delete the last remaining address; holds the refused request.
    DeleteLastRemainingAddress(RawParams),
    /// 0x00A1: an ASCONF request was refused for lack of resources; holds the refused request.
    ResourceShortage(RawParams),
    /// 0x00A2: an ASCONF asked to delete the packet's source address; holds the refused request.
    DeleteSourceAddress(RawParams),
    /// 0x00A3: an ABORT because of an ASCONF-ACK that was never asked for.
    IllegalAsconfAck,
    /// 0x00A4: an ASCONF request was not authorized; holds the refused request.
    RequestRefused(RawParams),
    /// 0x0105: an AUTH chunk used an HMAC algorithm the receiver does not support.
    UnsupportedHmacId(UnsupportedHmacId),
    /// Any other code, kept verbatim.
    Unknown(UnknownCause),
}

/// Fails with [`WireError::InvalidLength`] unless `value` is exactly `len` bytes.
fn expect_len(value: &Bytes, len: usize, what: &'static str) -> Result<()> {
    if value.len() == len {
        Ok(())
    } else {
        Err(WireError::InvalidLength {
            what,
            len: value.len(),
        })
    }
}

impl ErrorCause {
    /// Parses one cause value (the bytes after the 4-byte header, without padding) of `code`.
    pub fn parse(code: u16, value: &Bytes) -> Result<Self> {
        let raw = || RawParams(value.clone());
        Ok(match code {
            code::INVALID_STREAM_ID => Self::InvalidStreamId(InvalidStreamId::parse(value)?),
            code::MISSING_MANDATORY_PARAMETER => {
                Self::MissingMandatoryParameter(MissingMandatoryParameter::parse(value)?)
            }
            code::STALE_COOKIE => Self::StaleCookie(StaleCookie::parse(value)?),
            code::OUT_OF_RESOURCE => {
                expect_len(value, 0, "Out of Resource cause")?;
                Self::OutOfResource
            }
            code::UNRESOLVABLE_ADDRESS => Self::UnresolvableAddress(raw()),
            code::UNRECOGNIZED_CHUNK_TYPE => Self::UnrecognizedChunkType(UnrecognizedChunkType {
                chunk: value.clone(),
            }),
            code::INVALID_MANDATORY_PARAMETER => {
                expect_len(value, 0, "Invalid Mandatory Parameter cause")?;
                Self::InvalidMandatoryParameter
            }
            code::UNRECOGNIZED_PARAMETERS => Self::UnrecognizedParameters(raw()),
            code::NO_USER_DATA => Self::NoUserData(NoUserData::parse(value)?),
            code::COOKIE_RECEIVED_WHILE_SHUTTING_DOWN => {
                expect_len(value, 0, "Cookie Received While Shutting Down cause")?;
                Self::CookieReceivedWhileShuttingDown
            }
            code::RESTART_WITH_NEW_ADDRESSES => Self::RestartWithNewAddresses(raw()),
            code::USER_INITIATED_ABORT => Self::UserInitiatedAbort(Reason(value.clone())),
            code::PROTOCOL_VIOLATION => Self::ProtocolViolation(Reason(value.clone())),
            code::RESTART_WITH_NEW_ENCAPSULATION_PORT => {
                Self::RestartWithNewEncapsulationPort(NewEncapsulationPort::parse(value)?)
            }
            code::DELETE_LAST_REMAINING_ADDRESS => Self::DeleteLastRemainingAddress(raw()),
            code::RESOURCE_SHORTAGE => Self::ResourceShortage(raw()),
            code::DELETE_SOURCE_ADDRESS => Self::DeleteSourceAddress(raw()),
            code::ILLEGAL_ASCONF_ACK => {
                expect_len(value, 0, "Illegal ASCONF-ACK cause")?;
                Self::IllegalAsconfAck
            }
            code::REQUEST_REFUSED => Self::RequestRefused(raw()),
            code::UNSUPPORTED_HMAC_ID => Self::UnsupportedHmacId(UnsupportedHmacId::parse(value)?),
            _ => Self::Unknown(UnknownCause {
                code,
                value: value.clone(),
            }),
        })
    }

    /// The 16-bit cause code.
    pub fn code(&self) -> u16 {
        match self {
            Self::InvalidStreamId(_) => code::INVALID_STREAM_ID,
            Self::MissingMandatoryParameter(_) => code::MISSING_MANDATORY_PARAMETER,
            Self::StaleCookie(_) => code::STALE_COOKIE,
            Self::OutOfResource => code::OUT_OF_RESOURCE,
            Self::UnresolvableAddress(_) => code::UNRESOLVABLE_ADDRESS,
            Self::UnrecognizedChunkType(_) => code::UNRECOGNIZED_CHUNK_TYPE,
            Self::InvalidMandatoryParameter => code::INVALID_MANDATORY_PARAMETER,
            Self::UnrecognizedParameters(_) => code::UNRECOGNIZED_PARAMETERS,
            Self::NoUserData(_) => code::NO_USER_DATA,
            Self::CookieReceivedWhileShuttingDown => code::COOKIE_RECEIVED_WHILE_SHUTTING_DOWN,
            Self::RestartWithNewAddresses(_) => code::RESTART_WITH_NEW_ADDRESSES,
            Self::UserInitiatedAbort(_) => code::USER_INITIATED_ABORT,
            Self::ProtocolViolation(_) => code::PROTOCOL_VIOLATION,
            Self::RestartWithNewEncapsulationPort(_) => code::RESTART_WITH_NEW_ENCAPSULATION_PORT,
            Self::DeleteLastRemainingAddress(_) => code::DELETE_LAST_REMAINING_ADDRESS,
            Self::ResourceShortage(_) => code::RESOURCE_SHORTAGE,
            Self::DeleteSourceAddress(_) => code::DELETE_SOURCE_ADDRESS,
            Self::IllegalAsconfAck => code::ILLEGAL_ASCONF_ACK,
            Self::RequestRefused(_) => code::REQUEST_REFUSED,
            Self::UnsupportedHmacId(_) => code::UNSUPPORTED_HMAC_ID,
            Self::Unknown(u) => u.code,
        }
    }

    /// The cause's name as its specification spells it (`"Unknown"` for unknown codes).
    pub fn name(&self) -> &'static str {
        match self {
            Self::InvalidStreamId(_) => "Invalid Stream Identifier",
            Self::MissingMandatoryParameter(_) => "Missing Mandatory Parameter",
            Self::StaleCookie(_) => "Stale Cookie Error",
            Self::OutOfResource => "Out of Resource",
            Self::UnresolvableAddress(_) => "Unresolvable Address",
            Self::UnrecognizedChunkType(_) => "Unrecognized Chunk Type",
            Self::InvalidMandatoryParameter => "Invalid Mandatory Parameter",
            Self::UnrecognizedParameters(_) => "Unrecognized Parameters",
            Self::NoUserData(_) => "No User Data",
            Self::CookieReceivedWhileShuttingDown => "Cookie Received While Shutting Down",
            Self::RestartWithNewAddresses(_) => "Restart of an Association with New Addresses",
            Self::UserInitiatedAbort(_) => "User-Initiated Abort",
            Self::ProtocolViolation(_) => "Protocol Violation",
            Self::RestartWithNewEncapsulationPort(_) => {
                "Restart of an Association with New Encapsulation Port"
            }
            Self::DeleteLastRemainingAddress(_) => "Request to Delete Last Remaining IP Address",
            Self::ResourceShortage(_) => "Operation Refused Due to Resource Shortage",
            Self::DeleteSourceAddress(_) => "Request to Delete Source IP Address",
            Self::IllegalAsconfAck => "Association Aborted Due to Illegal ASCONF-ACK",
            Self::RequestRefused(_) => "Request Refused - No Authorization",
            Self::UnsupportedHmacId(_) => "Unsupported HMAC Identifier",
            Self::Unknown(_) => "Unknown",
        }
    }

    /// Length of the cause-specific information (without header and padding).
    pub fn value_len(&self) -> usize {
        match self {
            Self::InvalidStreamId(c) => c.value_len(),
            Self::MissingMandatoryParameter(c) => c.value_len(),
            Self::StaleCookie(c) => c.value_len(),
            Self::NoUserData(c) => c.value_len(),
            Self::RestartWithNewEncapsulationPort(c) => c.value_len(),
            Self::UnsupportedHmacId(c) => c.value_len(),
            Self::UnrecognizedChunkType(c) => c.chunk.len(),
            Self::UnresolvableAddress(p)
            | Self::UnrecognizedParameters(p)
            | Self::RestartWithNewAddresses(p)
            | Self::DeleteLastRemainingAddress(p)
            | Self::ResourceShortage(p)
            | Self::DeleteSourceAddress(p)
            | Self::RequestRefused(p) => p.0.len(),
            Self::UserInitiatedAbort(r) | Self::ProtocolViolation(r) => r.0.len(),
            Self::OutOfResource
            | Self::InvalidMandatoryParameter
            | Self::CookieReceivedWhileShuttingDown
            | Self::IllegalAsconfAck => 0,
            Self::Unknown(u) => u.value.len(),
        }
    }

    /// Appends the cause-specific information (exactly [`value_len`](Self::value_len) bytes).
    pub fn write_value(&self, out: &mut Vec<u8>) {
        match self {
            Self::InvalidStreamId(c) => c.write_value(out),
            Self::MissingMandatoryParameter(c) => c.write_value(out),
            Self::StaleCookie(c) => c.write_value(out),
            Self::NoUserData(c) => c.write_value(out),
            Self::RestartWithNewEncapsulationPort(c) => c.write_value(out),
            Self::UnsupportedHmacId(c) => c.write_value(out),
            Self::UnrecognizedChunkType(c) => out.extend_from_slice(&c.chunk),
            Self::UnresolvableAddress(p)
            | Self::UnrecognizedParameters(p)
            | Self::RestartWithNewAddresses(p)
            | Self::DeleteLastRemainingAddress(p)
            | Self::ResourceShortage(p)
            | Self::DeleteSourceAddress(p)
            | Self::RequestRefused(p) => out.extend_from_slice(&p.0),
            Self::UserInitiatedAbort(r) | Self::ProtocolViolation(r) => out.extend_from_slice(&r.0),
            Self::OutOfResource
            | Self::InvalidMandatoryParameter
            | Self::CookieReceivedWhileShuttingDown
            | Self::IllegalAsconfAck => {}
            Self::Unknown(u) => out.extend_from_slice(&u.value),
        }
    }

    /// Header plus value, without padding: the value of the Cause Length field.
    pub fn encoded_len(&self) -> usize {
        tlv::TLV_HEADER_LEN + self.value_len()
    }

    /// Appends header and value (no padding).
    pub fn write(&self, out: &mut Vec<u8>) {
        let len = u16::try_from(self.encoded_len()).unwrap_or(u16::MAX);
        tlv::write_tlv_header(out, self.code().to_be_bytes(), len);
        self.write_value(out);
    }

    /// Invalid Stream Identifier for `stream_id`.
    pub fn invalid_stream_id(stream_id: u16) -> Self {
        Self::InvalidStreamId(InvalidStreamId { stream_id })
    }

    /// Missing Mandatory Parameter listing the missing parameter types.
    pub fn missing_mandatory_parameters(param_types: impl Into<Vec<u16>>) -> Self {
        Self::MissingMandatoryParameter(MissingMandatoryParameter {
            param_types: param_types.into(),
        })
    }

    /// Stale Cookie Error, the cookie having expired `staleness_us` microseconds ago.
    pub fn stale_cookie(staleness_us: u32) -> Self {
        Self::StaleCookie(StaleCookie { staleness_us })
    }

    /// Unrecognized Chunk Type reporting `chunk` (the whole chunk, header included).
    pub fn unrecognized_chunk(chunk: impl Into<Bytes>) -> Self {
        Self::UnrecognizedChunkType(UnrecognizedChunkType {
            chunk: chunk.into(),
        })
    }

    /// Unrecognized Parameters reporting `params` (complete parameter TLVs).
    pub fn unrecognized_parameters(params: impl Into<Bytes>) -> Self {
        Self::UnrecognizedParameters(RawParams(params.into()))
    }

    /// No User Data for the DATA chunk of `tsn`.
    pub fn no_user_data(tsn: Tsn) -> Self {
        Self::NoUserData(NoUserData { tsn })
    }

    /// User-Initiated Abort with the upper layer's `reason` (often UTF-8 text).
    pub fn user_abort(reason: impl Into<Bytes>) -> Self {
        Self::UserInitiatedAbort(Reason(reason.into()))
    }

    /// Protocol Violation with free-form `info` (often UTF-8 text).
    pub fn protocol_violation(info: impl Into<Bytes>) -> Self {
        Self::ProtocolViolation(Reason(info.into()))
    }

    /// Unsupported HMAC Identifier for `hmac_id`.
    pub fn unsupported_hmac_id(hmac_id: u16) -> Self {
        Self::UnsupportedHmacId(UnsupportedHmacId { hmac_id })
    }
}

impl fmt::Display for ErrorCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidStreamId(c) => c.fmt(f),
            Self::MissingMandatoryParameter(c) => c.fmt(f),
            Self::StaleCookie(c) => c.fmt(f),
            Self::OutOfResource => f.write_str("OutOfResource"),
            Self::UnresolvableAddress(p) => write!(f, "UnresolvableAddress({p})"),
            Self::UnrecognizedChunkType(c) => c.fmt(f),
            Self::InvalidMandatoryParameter => f.write_str("InvalidMandatoryParameter"),
            Self::UnrecognizedParameters(p) => write!(f, "UnrecognizedParameters({p})"),
            Self::NoUserData(c) => c.fmt(f),
            Self::CookieReceivedWhileShuttingDown => f.write_str("CookieReceivedWhileShuttingDown"),
            Self::RestartWithNewAddresses(p) => write!(f, "RestartWithNewAddresses({p})"),
            Self::UserInitiatedAbort(r) => write!(f, "UserAbort({r})"),
            Self::ProtocolViolation(r) => write!(f, "ProtocolViolation({r})"),
            Self::RestartWithNewEncapsulationPort(c) => c.fmt(f),
            Self::DeleteLastRemainingAddress(p) => write!(f, "DeleteLastRemainingAddress({p})"),
            Self::ResourceShortage(p) => write!(f, "ResourceShortage({p})"),
            Self::DeleteSourceAddress(p) => write!(f, "DeleteSourceAddress({p})"),
            Self::IllegalAsconfAck => f.write_str("IllegalAsconfAck"),
            Self::RequestRefused(p) => write!(f, "RequestRefused({p})"),
            Self::UnsupportedHmacId(c) => c.fmt(f),
            Self::Unknown(u) => u.fmt(f),
        }
    }
}

/// Parses a cause sequence (the value of an ABORT or ERROR chunk). The last cause's padding may
/// be present or absent.
pub fn parse_causes(value: &Bytes) -> Result<Vec<ErrorCause>> {
    TlvIter::new(value.clone(), "error cause", Padding::LastOptional)
        .map(|t| t.and_then(|t| ErrorCause::parse(u16::from_be_bytes(t.head), &t.value)))
        .collect()
}

/// Encoded length of a sequence: every element padded except the last.
pub fn causes_len(causes: &[ErrorCause]) -> usize {
    tlv::seq_len(causes)
}

/// Appends a sequence: every element padded except the last (RFC 9260 §3.2).
pub fn write_causes(causes: &[ErrorCause], out: &mut Vec<u8>) {
    tlv::write_seq(causes, out);
}

impl tlv::TlvElement for ErrorCause {
    fn encoded_len(&self) -> usize {
        ErrorCause::encoded_len(self)
    }

    fn write(&self, out: &mut Vec<u8>) {
        ErrorCause::write(self, out);
    }
}

#[cfg(test)]
mod tests {
    use super::strategy::{any_cause, any_cause_of_unknown_code};
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    use std::collections::BTreeSet;

    fn encode(cause: &ErrorCause) -> Vec<u8> {
        let mut out = Vec::new();
        cause.write(&mut out);
        out
    }

    /// Splits one encoded cause back into code and value, as a chunk parser would.
    fn decode(bytes: &[u8]) -> Result<ErrorCause> {
        let causes = parse_causes(&Bytes::copy_from_slice(bytes))?;
        assert_eq!(causes.len(), 1);
        Ok(causes.into_iter().next().unwrap())
    }

    proptest! {
        #[test]
        fn every_cause_round_trips(cause in any_cause()) {
            let bytes = encode(&cause);
            prop_assert_eq!(bytes.len(), cause.encoded_len());
            prop_assert!(bytes.len() <= usize::from(u16::MAX));
            let parsed = decode(&bytes).unwrap();
            prop_assert_eq!(&parsed, &cause);
            prop_assert_eq!(&encode(&parsed), &bytes);
            // The value alone, through ErrorCause::parse, gives the same answer.
            let value = Bytes::copy_from_slice(&bytes[4..]);
            prop_assert_eq!(ErrorCause::parse(cause.code(), &value).unwrap(), cause);
        }

        #[test]
        fn unknown_codes_keep_their_bytes(cause in any_cause_of_unknown_code()) {
            let bytes = encode(&cause);
            let parsed = decode(&bytes).unwrap();
            prop_assert!(matches!(parsed, ErrorCause::Unknown(_)));
            prop_assert_eq!(encode(&parsed), bytes);
        }

        #[test]
        fn sequences_round_trip(causes in vec(any_cause(), 0..8)) {
            let mut out = Vec::new();
            write_causes(&causes, &mut out);
            prop_assert_eq!(out.len(), causes_len(&causes));
            let parsed = parse_causes(&Bytes::from(out.clone())).unwrap();
            prop_assert_eq!(&parsed, &causes);
            let mut again = Vec::new();
            write_causes(&parsed, &mut again);
            prop_assert_eq!(&again, &out);
            // The chunk pads the last cause; that form parses to the same list.
            let mut padded = out;
            tlv::write_padding(&mut padded, causes_len(&causes));
            prop_assert_eq!(parse_causes(&Bytes::from(padded)).unwrap(), causes);
        }

        #[test]
        fn arbitrary_sequences_never_panic(bytes in vec(any::<u8>(), 0..512)) {
            if let Ok(causes) = parse_causes(&Bytes::from(bytes)) {
                let mut out = Vec::new();
                write_causes(&causes, &mut out);
                prop_assert_eq!(parse_causes(&Bytes::from(out)).unwrap(), causes);
            }
        }

        #[test]
        fn arbitrary_values_never_panic(
            index in 0..code::KNOWN.len(),
            value in vec(any::<u8>(), 0..300),
        ) {
            let code = code::KNOWN[index];
            if let Ok(cause) = ErrorCause::parse(code, &Bytes::from(value)) {
                prop_assert_eq!(cause.code(), code);
                prop_assert!(!matches!(cause, ErrorCause::Unknown(_)));
                // Whatever parses re-encodes to something that parses to the same value
                // (reserved bits are not kept, so the bytes may differ).
                let mut again = Vec::new();
                cause.write_value(&mut again);
                prop_assert_eq!(again.len(), cause.value_len());
                prop_assert_eq!(ErrorCause::parse(code, &Bytes::from(again)).unwrap(), cause);
            }
        }
    }

    #[test]
    fn strategy_covers_every_code() {
        let config = Config::default();
        let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]);
        let mut runner = TestRunner::new_with_rng(config, rng);
        let strategy = any_cause();
        let mut seen = BTreeSet::new();
        let mut unknown = 0;
        for _ in 0..4000 {
            let cause = strategy.new_tree(&mut runner).unwrap().current();
            if let ErrorCause::Unknown(u) = &cause {
                assert!(!code::is_known(u.code));
                unknown += 1;
            } else {
                seen.insert(cause.code());
            }
        }
        assert_eq!(seen, code::KNOWN.iter().copied().collect::<BTreeSet<_>>());
        assert!(unknown > 0);
    }

    #[test]
    fn known_codes_are_sorted_and_distinct() {
        assert!(code::KNOWN.windows(2).all(|w| w[0] < w[1]));
        assert!(code::is_known(code::UNSUPPORTED_HMAC_ID));
        assert!(!code::is_known(0));
        assert!(!code::is_known(15));
    }

    #[test]
    fn sequence_length_fields_that_lie() {
        // Length 0 and 3: below the 4-byte header.
        for len in [0u8, 3] {
            let err = parse_causes(&Bytes::from(vec![0, 1, 0, len, 0, 0, 0, 0])).unwrap_err();
            assert_eq!(
                err,
                WireError::LengthTooShort {
                    what: "error cause",
                    len: len.into(),
                    min: 4
                }
            );
        }
        // Length 65535: far past the end.
        let err = parse_causes(&Bytes::from_static(&[0, 12, 0xff, 0xff, b'x'])).unwrap_err();
        assert_eq!(
            err,
            WireError::LengthPastEnd {
                what: "error cause",
                len: 65535,
                available: 5
            }
        );
        // A good cause followed by a lying one: the whole sequence fails.
        let bytes = [0, 4, 0, 4, 0, 12, 0, 3];
        assert!(matches!(
            parse_causes(&Bytes::copy_from_slice(&bytes)),
            Err(WireError::LengthTooShort { len: 3, .. })
        ));
        // A header cut short.
        assert!(matches!(
            parse_causes(&Bytes::from_static(&[0, 1, 0])),
            Err(WireError::Truncated { .. })
        ));
    }

    #[test]
    fn empty_sequence() {
        assert_eq!(parse_causes(&Bytes::new()).unwrap(), vec![]);
        assert_eq!(causes_len(&[]), 0);
        let mut out = Vec::new();
        write_causes(&[], &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn padding_between_causes() {
        // Missing Mandatory Parameter with one type (length 10) is padded to 12 before the next.
        let causes = [
            ErrorCause::missing_mandatory_parameters([7]),
            ErrorCause::OutOfResource,
            ErrorCause::user_abort("bye"),
        ];
        let mut out = Vec::new();
        write_causes(&causes, &mut out);
        assert_eq!(
            out,
            [
                0, 2, 0, 10, 0, 0, 0, 1, 0, 7, 0, 0, // MMP + 2 bytes padding
                0, 4, 0, 4, // Out of Resource
                0, 12, 0, 7, b'b', b'y', b'e', // User-Initiated Abort, last: unpadded
            ]
        );
        assert_eq!(causes_len(&causes), out.len());
        assert_eq!(parse_causes(&Bytes::from(out)).unwrap(), causes);
    }

    #[test]
    fn empty_causes_must_be_empty() {
        for code in [
            code::OUT_OF_RESOURCE,
            code::INVALID_MANDATORY_PARAMETER,
            code::COOKIE_RECEIVED_WHILE_SHUTTING_DOWN,
            code::ILLEGAL_ASCONF_ACK,
        ] {
            assert!(ErrorCause::parse(code, &Bytes::new()).is_ok());
            assert!(matches!(
                ErrorCause::parse(code, &Bytes::from_static(&[0, 0, 0, 0])),
                Err(WireError::InvalidLength { len: 4, .. })
            ));
        }
    }

    #[test]
    fn unknown_cause() {
        let cause = decode(&[0x12, 0x34, 0, 7, 1, 2, 3]).unwrap();
        assert_eq!(
            cause,
            ErrorCause::Unknown(UnknownCause {
                code: 0x1234,
                value: Bytes::from_static(&[1, 2, 3])
            })
        );
        assert_eq!(cause.to_string(), "Unknown(code=0x1234, 3 bytes)");
        assert_eq!(cause.name(), "Unknown");
    }

    #[test]
    fn display_reads_like_a_trace() {
        let cases = [
            (ErrorCause::invalid_stream_id(7), "InvalidStreamId(7)"),
            (
                ErrorCause::stale_cookie(1200),
                "StaleCookie(staleness=1200us)",
            ),
            (
                ErrorCause::user_abort("going away"),
                "UserAbort(\"going away\")",
            ),
            (
                ErrorCause::unrecognized_chunk(Bytes::from(vec![
                    0x7f, 0, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0,
                ])),
                "UnrecognizedChunkType(type=0x7f, 12 bytes)",
            ),
            (
                ErrorCause::missing_mandatory_parameters([7, 9]),
                "MissingMandatoryParameter([0x0007, 0x0009])",
            ),
            (ErrorCause::no_user_data(Tsn(42)), "NoUserData(tsn=42)"),
            (ErrorCause::OutOfResource, "OutOfResource"),
            (
                ErrorCause::protocol_violation("bad \"tsn\""),
                "ProtocolViolation(\"bad \\\"tsn\\\"\")",
            ),
            (
                ErrorCause::unrecognized_parameters(Bytes::from_static(&[
                    0x80, 0x09, 0, 5, 1, 0, 0, 0, 0xc0, 0x04, 0, 4,
                ])),
                "UnrecognizedParameters(params=[0x8009, 0xc004], 12 bytes)",
            ),
            (ErrorCause::unsupported_hmac_id(3), "UnsupportedHmacId(3)"),
            (ErrorCause::IllegalAsconfAck, "IllegalAsconfAck"),
        ];
        for (cause, text) in cases {
            assert_eq!(cause.to_string(), text);
        }
    }
}
