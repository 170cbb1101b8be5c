//! Parameters: the TLVs carried by INIT, INIT ACK, HEARTBEAT, ASCONF, ASCONF-ACK and RE-CONFIG
//! chunks (RFC 9260 §3.2.1, and the extensions).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |        Parameter Type         |       Parameter Length        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! \                                                               \
//! /                        Parameter Value                        /
//! \                                                               \
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! The length counts the 4-byte header and the value but not the padding to a multiple of 4.
//! [`Parameter`] is the closed set of every parameter Braid knows; any other type becomes
//! [`Parameter::Unknown`], keeping its bytes, and [`UnknownParameter::action`] gives the RFC 9260
//! §3.2.1 upper-two-bits rule for it.
//!
//! One file per family, each opening with the RFC diagrams:
//! * `address.rs`: IPv4 / IPv6 / Host Name Address, Supported Address Types (RFC 9260 §3.3.2.1);
//! * `init.rs`: the other INIT / INIT ACK / HEARTBEAT parameters of RFC 9260, plus the
//!   capability parameters of the extensions (ECN, Forward-TSN, Supported Extensions,
//!   Adaptation Layer Indication, Padding, Zero Checksum Acceptable);
//! * `auth.rs`: Random, Chunk List, Requested HMAC Algorithm (RFC 4895);
//! * `asconf.rs`: the ASCONF request and response parameters (RFC 5061);
//! * `reconfig.rs`: the RE-CONFIG request and response parameters (RFC 6525).
//!
//! Parsing is zero-copy (opaque values are [`Bytes`] slices of the input) and never panics: a
//! value of the wrong size is [`WireError::InvalidLength`], a value cut short inside a fixed part
//! is [`WireError::Truncated`], and a nested TLV that lies about its length is
//! [`WireError::LengthTooShort`] or [`WireError::LengthPastEnd`].

use bytes::Bytes;
use core::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::error::{Result, WireError};
use crate::tlv::{self, Padding, Reader, TlvIter};
use crate::UnrecognizedAction;

mod address;
mod asconf;
mod auth;
mod init;
mod reconfig;
#[cfg(test)]
pub(crate) mod strategy;

pub use asconf::{AddressRequest, ErrorCauseIndication};
pub use reconfig::{
    AddStreamsRequest, IncomingSsnResetRequest, NextTsns, OutgoingSsnResetRequest,
    ReconfigResponse, ReconfigResult, SsnTsnResetRequest,
};

/// Parameter type codes (RFC 9260 §3.2.1 and the IANA "Chunk Parameter Types" registry).
///
/// The upper two bits of each code say what a receiver that does not know it must do
/// ([`UnrecognizedAction::for_param_type`]).
pub mod param_type {
    /// Heartbeat Info (RFC 9260 §3.3.5).
    pub const HEARTBEAT_INFO: u16 = 1;
    /// IPv4 Address (RFC 9260 §3.3.2.1).
    pub const IPV4_ADDRESS: u16 = 5;
    /// IPv6 Address (RFC 9260 §3.3.2.1).
    pub const IPV6_ADDRESS: u16 = 6;
    /// State Cookie (RFC 9260 §3.3.3.1).
    pub const STATE_COOKIE: u16 = 7;
    /// Unrecognized Parameter (RFC 9260 §3.3.3.1).
    pub const UNRECOGNIZED_PARAMETER: u16 = 8;
    /// Cookie Preservative (RFC 9260 §3.3.2.1).
    pub const COOKIE_PRESERVATIVE: u16 = 9;
    /// Host Name Address (RFC 9260 §3.3.2.1, deprecated).
    pub const HOST_NAME_ADDRESS: u16 = 11;
    /// Supported Address Types (RFC 9260 §3.3.2.1).
    pub const SUPPORTED_ADDRESS_TYPES: u16 = 12;
    /// Outgoing SSN Reset Request (RFC 6525 §4.1).
    pub const OUTGOING_SSN_RESET_REQUEST: u16 = 13;
    /// Incoming SSN Reset Request (RFC 6525 §4.2).
    pub const INCOMING_SSN_RESET_REQUEST: u16 = 14;
    /// SSN/TSN Reset Request (RFC 6525 §4.3).
    pub const SSN_TSN_RESET_REQUEST: u16 = 15;
    /// Re-configuration Response (RFC 6525 §4.4).
    pub const RECONFIG_RESPONSE: u16 = 16;
    /// Add Outgoing Streams Request (RFC 6525 §4.5).
    pub const ADD_OUTGOING_STREAMS_REQUEST: u16 = 17;
    /// Add Incoming Streams Request (RFC 6525 §4.6).
    pub const ADD_INCOMING_STREAMS_REQUEST: u16 = 18;
    /// ECN Capable (RFC 9260 Appendix A, RFC 3168).
    pub const ECN_CAPABLE: u16 = 0x8000;
    /// Zero Checksum Acceptable (RFC 9653 §4).
    pub const ZERO_CHECKSUM_ACCEPTABLE: u16 = 0x8001;
    /// Random (RFC 4895 §3.1).
    pub const RANDOM: u16 = 0x8002;
    /// Chunk List (RFC 4895 §3.2).
    pub const CHUNK_LIST: u16 = 0x8003;
    /// Requested HMAC Algorithm (RFC 4895 §3.3).
    pub const REQUESTED_HMAC_ALGORITHM: u16 = 0x8004;
    /// Padding (RFC 4820 §4).
    pub const PADDING: u16 = 0x8005;
    /// Supported Extensions (RFC 5061 §4.2.7).
    pub const SUPPORTED_EXTENSIONS: u16 = 0x8008;
    /// Forward-TSN Supported (RFC 3758 §3.1).
    pub const FORWARD_TSN_SUPPORTED: u16 = 0xC000;
    /// Add IP Address (RFC 5061 §4.2.1).
    pub const ADD_IP_ADDRESS: u16 = 0xC001;
    /// Delete IP Address (RFC 5061 §4.2.2).
    pub const DELETE_IP_ADDRESS: u16 = 0xC002;
    /// Error Cause Indication (RFC 5061 §4.2.3).
    pub const ERROR_CAUSE_INDICATION: u16 = 0xC003;
    /// Set Primary Address (RFC 5061 §4.2.4).
    pub const SET_PRIMARY_ADDRESS: u16 = 0xC004;
    /// Success Indication (RFC 5061 §4.2.5).
    pub const SUCCESS_INDICATION: u16 = 0xC005;
    /// Adaptation Layer Indication (RFC 5061 §4.2.6).
    pub const ADAPTATION_LAYER_INDICATION: u16 = 0xC006;

    /// Whether [`Parameter::parse`](super::Parameter::parse) decodes this type into a typed
    /// variant rather than [`Parameter::Unknown`](super::Parameter::Unknown).
    pub const fn is_known(t: u16) -> bool {
        matches!(
            t,
            HEARTBEAT_INFO
                | IPV4_ADDRESS
                | IPV6_ADDRESS
                | STATE_COOKIE
                | UNRECOGNIZED_PARAMETER
                | COOKIE_PRESERVATIVE
                | HOST_NAME_ADDRESS
                | SUPPORTED_ADDRESS_TYPES
                | OUTGOING_SSN_RESET_REQUEST
                | INCOMING_SSN_RESET_REQUEST
                | SSN_TSN_RESET_REQUEST
                | RECONFIG_RESPONSE
                | ADD_OUTGOING_STREAMS_REQUEST
                | ADD_INCOMING_STREAMS_REQUEST
                | ECN_CAPABLE
                | ZERO_CHECKSUM_ACCEPTABLE
                | RANDOM
                | CHUNK_LIST
                | REQUESTED_HMAC_ALGORITHM
                | PADDING
                | SUPPORTED_EXTENSIONS
                | FORWARD_TSN_SUPPORTED
                | ADD_IP_ADDRESS
                | DELETE_IP_ADDRESS
                | ERROR_CAUSE_INDICATION
                | SET_PRIMARY_ADDRESS
                | SUCCESS_INDICATION
                | ADAPTATION_LAYER_INDICATION
        )
    }
}

/// A parameter of unknown type, kept verbatim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownParameter {
    /// The 16-bit parameter type.
    pub param_type: u16,
    /// The value, without header or padding.
    pub value: Bytes,
}

impl UnknownParameter {
    /// What RFC 9260 §3.2.1 says to do with it.
    pub fn action(&self) -> UnrecognizedAction {
        UnrecognizedAction::for_param_type(self.param_type)
    }

    /// The Unrecognized Parameter (type 8) that reports this parameter back to its sender
    /// (RFC 9260 §3.3.3.1: the whole parameter, header included, copied into the report).
    pub fn to_unrecognized(&self) -> Parameter {
        let mut tlv = Vec::with_capacity(tlv::TLV_HEADER_LEN + self.value.len());
        Parameter::Unknown(self.clone()).write(&mut tlv);
        Parameter::UnrecognizedParameter(Bytes::from(tlv))
    }
}

/// A parameter of an INIT, INIT ACK, ASCONF, ASCONF-ACK, RE-CONFIG or HEARTBEAT chunk.
///
/// Each variant names its type code ([`param_type`]) and the RFC section that defines it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Parameter {
    /// Heartbeat Info (type 1, RFC 9260 §3.3.5): opaque sender data that HEARTBEAT ACK echoes.
    HeartbeatInfo(Bytes),
    /// IPv4 Address (type 5, RFC 9260 §3.3.2.1): an address of the sending endpoint.
    Ipv4Address(Ipv4Addr),
    /// IPv6 Address (type 6, RFC 9260 §3.3.2.1): an address of the sending endpoint.
    Ipv6Address(Ipv6Addr),
    /// State Cookie (type 7, RFC 9260 §3.3.3.1): opaque to the receiver of the INIT ACK, which
    /// echoes it in COOKIE ECHO.
    StateCookie(Bytes),
    /// Unrecognized Parameter (type 8, RFC 9260 §3.3.3.1): the complete TLV (header, value,
    /// as received) of a parameter the sender of this one did not recognise.
    UnrecognizedParameter(Bytes),
    /// Cookie Preservative (type 9, RFC 9260 §3.3.2.1): the suggested cookie life-span
    /// increment, in milliseconds.
    CookiePreservative(u32),
    /// Host Name Address (type 11, RFC 9260 §3.3.2.1): a host name, as sent (normally
    /// NUL-terminated).
    ///
    /// **Deprecated**: RFC 9260 forbids sending it, and an endpoint receiving it in INIT or
    /// INIT ACK must abort the association with an "Unresolvable Address" error cause. This
    /// crate parses it only so that the core can give that answer; see
    /// [`Parameter::is_deprecated`].
    HostNameAddress(Bytes),
    /// Supported Address Types (type 12, RFC 9260 §3.3.2.1): the address parameter types the
    /// sender can use (5 = IPv4, 6 = IPv6, 11 = Host Name).
    SupportedAddressTypes(Vec<u16>),
    /// Outgoing SSN Reset Request (type 13, RFC 6525 §4.1).
    OutgoingSsnResetRequest(OutgoingSsnResetRequest),
    /// Incoming SSN Reset Request (type 14, RFC 6525 §4.2).
    IncomingSsnResetRequest(IncomingSsnResetRequest),
    /// SSN/TSN Reset Request (type 15, RFC 6525 §4.3).
    SsnTsnResetRequest(SsnTsnResetRequest),
    /// Re-configuration Response (type 16, RFC 6525 §4.4).
    ReconfigResponse(ReconfigResponse),
    /// Add Outgoing Streams Request (type 17, RFC 6525 §4.5).
    AddOutgoingStreamsRequest(AddStreamsRequest),
    /// Add Incoming Streams Request (type 18, RFC 6525 §4.6).
    AddIncomingStreamsRequest(AddStreamsRequest),
    /// ECN Capable (type 0x8000, RFC 9260 Appendix A): the sender supports ECN. No value.
    EcnCapable,
    /// Zero Checksum Acceptable (type 0x8001, RFC 9653 §4): the sender accepts packets with a
    /// zero checksum when the given Error Detection Method Identifier (EDMID) protects them
    /// (1 = SCTP over DTLS).
    ZeroChecksumAcceptable(u32),
    /// Random (type 0x8002, RFC 4895 §3.1): the sender's random number for the AUTH key
    /// (RFC 4895 asks for 32 bytes; the length is the core's to check).
    Random(Bytes),
    /// Chunk List (type 0x8003, RFC 4895 §3.2): the chunk types the sender requires to be
    /// authenticated.
    ChunkList(Vec<u8>),
    /// Requested HMAC Algorithm (type 0x8004, RFC 4895 §3.3): HMAC identifiers in order of
    /// preference (1 = SHA-1, 3 = SHA-256).
    RequestedHmacAlgorithm(Vec<u16>),
    /// Padding (type 0x8005, RFC 4820 §4): padding data that enlarges an INIT chunk; the
    /// receiver ignores its content.
    Padding(Bytes),
    /// Supported Extensions (type 0x8008, RFC 5061 §4.2.7): the extension chunk types the
    /// sender supports.
    SupportedExtensions(Vec<u8>),
    /// Forward-TSN Supported (type 0xC000, RFC 3758 §3.1): the sender supports PR-SCTP's
    /// FORWARD TSN chunk. No value.
    ForwardTsnSupported,
    /// Add IP Address (type 0xC001, RFC 5061 §4.2.1).
    AddIpAddress(AddressRequest),
    /// Delete IP Address (type 0xC002, RFC 5061 §4.2.2).
    DeleteIpAddress(AddressRequest),
    /// Error Cause Indication (type 0xC003, RFC 5061 §4.2.3): an ASCONF request failed.
    ErrorCauseIndication(ErrorCauseIndication),
    /// Set Primary Address (type 0xC004, RFC 5061 §4.2.4).
    SetPrimaryAddress(AddressRequest),
    /// Success Indication (type 0xC005, RFC 5061 §4.2.5): the ASCONF-Response Correlation ID
    /// of a request that succeeded.
    SuccessIndication(u32),
    /// Adaptation Layer Indication (type 0xC006, RFC 5061 §4.2.6): the 32-bit Adaptation Code
    /// Point of the upper layer.
    AdaptationLayerIndication(u32),
    /// Any other type, kept verbatim.
    Unknown(UnknownParameter),
}

impl Parameter {
    /// Parses one parameter value of the given type.
    ///
    /// `value` is the value only: no header, no padding. Opaque values are zero-copy slices
    /// of it.
    pub fn parse(param_type: u16, value: &Bytes) -> Result<Self> {
        use self::param_type as t;
        Ok(match param_type {
            t::HEARTBEAT_INFO => Self::HeartbeatInfo(value.clone()),
            t::IPV4_ADDRESS => Self::Ipv4Address(address::parse_ipv4(value)?),
            t::IPV6_ADDRESS => Self::Ipv6Address(address::parse_ipv6(value)?),
            t::STATE_COOKIE => Self::StateCookie(value.clone()),
            t::UNRECOGNIZED_PARAMETER => Self::UnrecognizedParameter(value.clone()),
            t::COOKIE_PRESERVATIVE => {
                Self::CookiePreservative(exact_u32(value, "Cookie Preservative parameter")?)
            }
            t::HOST_NAME_ADDRESS => Self::HostNameAddress(value.clone()),
            t::SUPPORTED_ADDRESS_TYPES => {
                Self::SupportedAddressTypes(u16_list(value, "Supported Address Types parameter")?)
            }
            t::OUTGOING_SSN_RESET_REQUEST => {
                Self::OutgoingSsnResetRequest(OutgoingSsnResetRequest::parse(value)?)
            }
            t::INCOMING_SSN_RESET_REQUEST => {
                Self::IncomingSsnResetRequest(IncomingSsnResetRequest::parse(value)?)
            }
            t::SSN_TSN_RESET_REQUEST => Self::SsnTsnResetRequest(SsnTsnResetRequest::parse(value)?),
            t::RECONFIG_RESPONSE => Self::ReconfigResponse(ReconfigResponse::parse(value)?),
            t::ADD_OUTGOING_STREAMS_REQUEST => Self::AddOutgoingStreamsRequest(
                AddStreamsRequest::parse(value, "Add Outgoing Streams Request parameter")?,
            ),
            t::ADD_INCOMING_STREAMS_REQUEST => Self::AddIncomingStreamsRequest(
                AddStreamsRequest::parse(value, "Add Incoming Streams Request parameter")?,
            ),
            t::ECN_CAPABLE => {
                exact_empty(value, "ECN Capable parameter")?;
                Self::EcnCapable
            }
            t::ZERO_CHECKSUM_ACCEPTABLE => Self::ZeroChecksumAcceptable(exact_u32(
                value,
                "Zero Checksum Acceptable parameter",
            )?),
            t::RANDOM => Self::Random(value.clone()),
            t::CHUNK_LIST => Self::ChunkList(value.to_vec()),
            t::REQUESTED_HMAC_ALGORITHM => {
                Self::RequestedHmacAlgorithm(u16_list(value, "Requested HMAC Algorithm parameter")?)
            }
            t::PADDING => Self::Padding(value.clone()),
            t::SUPPORTED_EXTENSIONS => Self::SupportedExtensions(value.to_vec()),
            t::FORWARD_TSN_SUPPORTED => {
                exact_empty(value, "Forward-TSN Supported parameter")?;
                Self::ForwardTsnSupported
            }
            t::ADD_IP_ADDRESS => {
                Self::AddIpAddress(AddressRequest::parse(value, "Add IP Address parameter")?)
            }
            t::DELETE_IP_ADDRESS => {
                Self::DeleteIpAddress(AddressRequest::parse(value, "Delete IP Address parameter")?)
            }
            t::ERROR_CAUSE_INDICATION => {
                Self::ErrorCauseIndication(ErrorCauseIndication::parse(value)?)
            }
            t::SET_PRIMARY_ADDRESS => Self::SetPrimaryAddress(AddressRequest::parse(
                value,
                "Set Primary Address parameter",
            )?),
            t::SUCCESS_INDICATION => {
                Self::SuccessIndication(exact_u32(value, "Success Indication parameter")?)
            }
            t::ADAPTATION_LAYER_INDICATION => Self::AdaptationLayerIndication(exact_u32(
                value,
                "Adaptation Layer Indication parameter",
            )?),
            _ => Self::Unknown(UnknownParameter {
                param_type,
                value: value.clone(),
            }),
        })
    }

    /// The 16-bit type code.
    pub fn param_type(&self) -> u16 {
        use self::param_type as t;
        match self {
            Self::HeartbeatInfo(_) => t::HEARTBEAT_INFO,
            Self::Ipv4Address(_) => t::IPV4_ADDRESS,
            Self::Ipv6Address(_) => t::IPV6_ADDRESS,
            Self::StateCookie(_) => t::STATE_COOKIE,
            Self::UnrecognizedParameter(_) => t::UNRECOGNIZED_PARAMETER,
            Self::CookiePreservative(_) => t::COOKIE_PRESERVATIVE,
            Self::HostNameAddress(_) => t::HOST_NAME_ADDRESS,
            Self::SupportedAddressTypes(_) => t::SUPPORTED_ADDRESS_TYPES,
            Self::OutgoingSsnResetRequest(_) => t::OUTGOING_SSN_RESET_REQUEST,
            Self::IncomingSsnResetRequest(_) => t::INCOMING_SSN_RESET_REQUEST,
            Self::SsnTsnResetRequest(_) => t::SSN_TSN_RESET_REQUEST,
            Self::ReconfigResponse(_) => t::RECONFIG_RESPONSE,
            Self::AddOutgoingStreamsRequest(_) => t::ADD_OUTGOING_STREAMS_REQUEST,
            Self::AddIncomingStreamsRequest(_) => t::ADD_INCOMING_STREAMS_REQUEST,
            Self::EcnCapable => t::ECN_CAPABLE,
            Self::ZeroChecksumAcceptable(_) => t::ZERO_CHECKSUM_ACCEPTABLE,
            Self::Random(_) => t::RANDOM,
            Self::ChunkList(_) => t::CHUNK_LIST,
            Self::RequestedHmacAlgorithm(_) => t::REQUESTED_HMAC_ALGORITHM,
            Self::Padding(_) => t::PADDING,
            Self::SupportedExtensions(_) => t::SUPPORTED_EXTENSIONS,
            Self::ForwardTsnSupported => t::FORWARD_TSN_SUPPORTED,
            Self::AddIpAddress(_) => t::ADD_IP_ADDRESS,
            Self::DeleteIpAddress(_) => t::DELETE_IP_ADDRESS,
            Self::ErrorCauseIndication(_) => t::ERROR_CAUSE_INDICATION,
            Self::SetPrimaryAddress(_) => t::SET_PRIMARY_ADDRESS,
            Self::SuccessIndication(_) => t::SUCCESS_INDICATION,
            Self::AdaptationLayerIndication(_) => t::ADAPTATION_LAYER_INDICATION,
            Self::Unknown(u) => u.param_type,
        }
    }

    /// Length of the value (without the 4-byte header and padding).
    pub fn value_len(&self) -> usize {
        match self {
            Self::HeartbeatInfo(b)
            | Self::StateCookie(b)
            | Self::UnrecognizedParameter(b)
            | Self::HostNameAddress(b)
            | Self::Random(b)
            | Self::Padding(b) => b.len(),
            Self::Ipv4Address(_) => 4,
            Self::Ipv6Address(_) => 16,
            Self::CookiePreservative(_)
            | Self::ZeroChecksumAcceptable(_)
            | Self::SuccessIndication(_)
            | Self::AdaptationLayerIndication(_) => 4,
            Self::SupportedAddressTypes(v) | Self::RequestedHmacAlgorithm(v) => 2 * v.len(),
            Self::ChunkList(v) | Self::SupportedExtensions(v) => v.len(),
            Self::OutgoingSsnResetRequest(p) => p.value_len(),
            Self::IncomingSsnResetRequest(p) => p.value_len(),
            Self::SsnTsnResetRequest(p) => p.value_len(),
            Self::ReconfigResponse(p) => p.value_len(),
            Self::AddOutgoingStreamsRequest(p) | Self::AddIncomingStreamsRequest(p) => {
                p.value_len()
            }
            Self::EcnCapable | Self::ForwardTsnSupported => 0,
            Self::AddIpAddress(p) | Self::DeleteIpAddress(p) | Self::SetPrimaryAddress(p) => {
                p.value_len()
            }
            Self::ErrorCauseIndication(p) => p.value_len(),
            Self::Unknown(u) => u.value.len(),
        }
    }

    /// Appends the value bytes.
    pub fn write_value(&self, out: &mut Vec<u8>) {
        match self {
            Self::HeartbeatInfo(b)
            | Self::StateCookie(b)
            | Self::UnrecognizedParameter(b)
            | Self::HostNameAddress(b)
            | Self::Random(b)
            | Self::Padding(b) => out.extend_from_slice(b),
            Self::Ipv4Address(a) => out.extend_from_slice(&a.octets()),
            Self::Ipv6Address(a) => out.extend_from_slice(&a.octets()),
            Self::CookiePreservative(v)
            | Self::ZeroChecksumAcceptable(v)
            | Self::SuccessIndication(v)
            | Self::AdaptationLayerIndication(v) => out.extend_from_slice(&v.to_be_bytes()),
            Self::SupportedAddressTypes(v) | Self::RequestedHmacAlgorithm(v) => {
                write_u16_list(out, v);
            }
            Self::ChunkList(v) | Self::SupportedExtensions(v) => out.extend_from_slice(v),
            Self::OutgoingSsnResetRequest(p) => p.write_value(out),
            Self::IncomingSsnResetRequest(p) => p.write_value(out),
            Self::SsnTsnResetRequest(p) => p.write_value(out),
            Self::ReconfigResponse(p) => p.write_value(out),
            Self::AddOutgoingStreamsRequest(p) | Self::AddIncomingStreamsRequest(p) => {
                p.write_value(out);
            }
            Self::EcnCapable | Self::ForwardTsnSupported => {}
            Self::AddIpAddress(p) | Self::DeleteIpAddress(p) | Self::SetPrimaryAddress(p) => {
                p.write_value(out);
            }
            Self::ErrorCauseIndication(p) => p.write_value(out),
            Self::Unknown(u) => out.extend_from_slice(&u.value),
        }
    }

    /// Header plus value, without padding.
    pub fn encoded_len(&self) -> usize {
        tlv::TLV_HEADER_LEN + self.value_len()
    }

    /// Appends header and value (no padding).
    ///
    /// The caller keeps the value within the 65 531 bytes a 16-bit length field can describe
    /// (check [`encoded_len`](Self::encoded_len)); a larger value would be written with a
    /// saturated, wrong length.
    pub fn write(&self, out: &mut Vec<u8>) {
        let len = u16::try_from(self.encoded_len()).unwrap_or(u16::MAX);
        tlv::write_tlv_header(out, self.param_type().to_be_bytes(), len);
        self.write_value(out);
    }

    /// Whether RFC 9260 deprecates this parameter: true only for
    /// [`HostNameAddress`](Self::HostNameAddress), which the core must answer by aborting the
    /// association with an "Unresolvable Address" error cause.
    pub fn is_deprecated(&self) -> bool {
        matches!(self, Self::HostNameAddress(_))
    }
}

impl fmt::Display for Parameter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::HeartbeatInfo(b) => write!(f, "HeartbeatInfo({} bytes)", b.len()),
            Self::Ipv4Address(a) => write!(f, "IPv4({a})"),
            Self::Ipv6Address(a) => write!(f, "IPv6({a})"),
            Self::StateCookie(b) => write!(f, "StateCookie({} bytes)", b.len()),
            Self::UnrecognizedParameter(b) => init::fmt_unrecognized(f, b),
            Self::CookiePreservative(ms) => write!(f, "CookiePreservative(+{ms}ms)"),
            Self::HostNameAddress(b) => address::fmt_host_name(f, b),
            Self::SupportedAddressTypes(v) => {
                write!(
                    f,
                    "SupportedAddressTypes{}",
                    List(v, address::address_type_name)
                )
            }
            Self::OutgoingSsnResetRequest(p) => p.fmt(f),
            Self::IncomingSsnResetRequest(p) => p.fmt(f),
            Self::SsnTsnResetRequest(p) => p.fmt(f),
            Self::ReconfigResponse(p) => p.fmt(f),
            Self::AddOutgoingStreamsRequest(p) => write!(f, "AddOutgoingStreams{p}"),
            Self::AddIncomingStreamsRequest(p) => write!(f, "AddIncomingStreams{p}"),
            Self::EcnCapable => f.write_str("EcnCapable"),
            Self::ZeroChecksumAcceptable(m) => write!(f, "ZeroChecksumAcceptable(edmid={m})"),
            Self::Random(b) => write!(f, "Random({} bytes)", b.len()),
            Self::ChunkList(v) => write!(f, "ChunkList{}", List(v, chunk_type_name)),
            Self::RequestedHmacAlgorithm(v) => {
                write!(f, "RequestedHmacAlgorithm{}", List(v, auth::hmac_name))
            }
            Self::Padding(b) => write!(f, "Padding({} bytes)", b.len()),
            Self::SupportedExtensions(v) => {
                write!(f, "SupportedExtensions{}", List(v, chunk_type_name))
            }
            Self::ForwardTsnSupported => f.write_str("ForwardTsnSupported"),
            Self::AddIpAddress(p) => write!(f, "AddIp{p}"),
            Self::DeleteIpAddress(p) => write!(f, "DeleteIp{p}"),
            Self::ErrorCauseIndication(p) => p.fmt(f),
            Self::SetPrimaryAddress(p) => write!(f, "SetPrimary{p}"),
            Self::SuccessIndication(id) => write!(f, "SuccessIndication(corr={id})"),
            Self::AdaptationLayerIndication(c) => write!(f, "AdaptationLayer({c:#010x})"),
            Self::Unknown(u) => write!(
                f,
                "Unknown(type={:#06x}, {} bytes, {})",
                u.param_type,
                u.value.len(),
                action_name(u.action())
            ),
        }
    }
}

/// Parses a parameter sequence (the last parameter's padding may be absent).
pub fn parse_params(value: &Bytes) -> Result<Vec<Parameter>> {
    TlvIter::new(value.clone(), "parameter", Padding::LastOptional)
        .map(|t| t.and_then(|t| Parameter::parse(u16::from_be_bytes(t.head), &t.value)))
        .collect()
}

/// Encoded length of a sequence: every element padded except the last.
pub fn params_len(params: &[Parameter]) -> usize {
    tlv::seq_len(params)
}

/// Appends a sequence: every element padded except the last (RFC 9260 §3.2).
pub fn write_params(params: &[Parameter], out: &mut Vec<u8>) {
    tlv::write_seq(params, out);
}

impl tlv::TlvElement for Parameter {
    fn encoded_len(&self) -> usize {
        Parameter::encoded_len(self)
    }

    fn write(&self, out: &mut Vec<u8>) {
        Parameter::write(self, out);
    }
}

// ---- helpers shared by the family files ----

/// A value that must be exactly one big-endian u32.
fn exact_u32(value: &Bytes, what: &'static str) -> Result<u32> {
    Ok(u32::from_be_bytes(exact::<4>(value, what)?))
}

/// A value that must be exactly `N` bytes.
fn exact<const N: usize>(value: &Bytes, what: &'static str) -> Result<[u8; N]> {
    if value.len() != N {
        return Err(WireError::InvalidLength {
            what,
            len: value.len(),
        });
    }
    Reader::new(value, what).array()
}

/// A value that must be empty.
fn exact_empty(value: &Bytes, what: &'static str) -> Result<()> {
    exact::<0>(value, what).map(drop)
}

/// A list of big-endian u16s filling the whole value.
fn u16_list(value: &Bytes, what: &'static str) -> Result<Vec<u16>> {
    if !value.len().is_multiple_of(2) {
        return Err(WireError::InvalidLength {
            what,
            len: value.len(),
        });
    }
    let mut r = Reader::new(value, what);
    let mut out = Vec::with_capacity(value.len() / 2);
    while r.remaining() > 0 {
        out.push(r.u16()?);
    }
    Ok(out)
}

/// Appends a list of big-endian u16s.
fn write_u16_list(out: &mut Vec<u8>, list: &[u16]) {
    out.reserve(2 * list.len());
    for v in list {
        out.extend_from_slice(&v.to_be_bytes());
    }
}

/// Formats a list as `[a, b, c]`, each element through `name` when it has one.
struct List<'a, T, F>(&'a [T], F);

impl<T: Copy + fmt::Display, F: Fn(T) -> Option<&'static str>> fmt::Display for List<'_, T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, &v) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            match (self.1)(v) {
                Some(name) => f.write_str(name)?,
                None => write!(f, "{v}")?,
            }
        }
        f.write_str("]")
    }
}

/// Trace names of the chunk types that Supported Extensions and Chunk List name (a local table,
/// so this module does not depend on `chunk/`).
fn chunk_type_name(t: u8) -> Option<&'static str> {
    Some(match t {
        0 => "DATA",
        1 => "INIT",
        2 => "INIT-ACK",
        3 => "SACK",
        4 => "HEARTBEAT",
        5 => "HEARTBEAT-ACK",
        6 => "ABORT",
        7 => "SHUTDOWN",
        8 => "SHUTDOWN-ACK",
        9 => "ERROR",
        10 => "COOKIE-ECHO",
        11 => "COOKIE-ACK",
        12 => "ECNE",
        13 => "CWR",
        14 => "SHUTDOWN-COMPLETE",
        15 => "AUTH",
        0x40 => "I-DATA",
        0x80 => "ASCONF-ACK",
        0x82 => "RE-CONFIG",
        0x84 => "PAD",
        0xC0 => "FORWARD-TSN",
        0xC1 => "ASCONF",
        0xC2 => "I-FORWARD-TSN",
        _ => return None,
    })
}

fn action_name(a: UnrecognizedAction) -> &'static str {
    match a {
        UnrecognizedAction::Stop => "stop",
        UnrecognizedAction::StopAndReport => "stop+report",
        UnrecognizedAction::Skip => "skip",
        UnrecognizedAction::SkipAndReport => "skip+report",
    }
}

#[cfg(test)]
mod tests {
    use super::strategy::{any_parameter, unknown_param_type};
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;

    fn encode(p: &Parameter) -> Vec<u8> {
        let mut out = Vec::new();
        p.write(&mut out);
        out
    }

    /// Parses one encoded parameter (header + value).
    fn decode(bytes: &[u8]) -> Result<Parameter> {
        let mut params = parse_params(&Bytes::copy_from_slice(bytes))?;
        assert_eq!(params.len(), 1);
        Ok(params.remove(0))
    }

    proptest! {
        #[test]
        fn round_trip(p in any_parameter()) {
            let bytes = encode(&p);
            prop_assert_eq!(bytes.len(), p.encoded_len());
            let len = u16::from_be_bytes([bytes[2], bytes[3]]);
            prop_assert_eq!(usize::from(len), p.encoded_len());
            let back = decode(&bytes).unwrap();
            prop_assert_eq!(&back, &p);
            prop_assert_eq!(encode(&back), bytes);
            // Display never panics and never prints nothing.
            prop_assert!(!p.to_string().is_empty());
        }

        #[test]
        fn sequence_round_trip(ps in vec(any_parameter(), 0..12)) {
            let mut bytes = Vec::new();
            write_params(&ps, &mut bytes);
            prop_assert_eq!(bytes.len(), params_len(&ps));
            let back = parse_params(&Bytes::from(bytes.clone())).unwrap();
            prop_assert_eq!(&back, &ps);
            let mut again = Vec::new();
            write_params(&back, &mut again);
            prop_assert_eq!(again, bytes.clone());
            // A sender that pads the last parameter too is accepted just the same.
            let mut padded = bytes;
            tlv::write_padding(&mut padded, params_len(&ps));
            prop_assert_eq!(parse_params(&Bytes::from(padded)).unwrap(), ps);
        }

        #[test]
        fn arbitrary_sequences_never_panic(bytes in vec(any::<u8>(), 0..512)) {
            if let Ok(params) = parse_params(&Bytes::from(bytes)) {
                for p in params {
                    let _ = p.to_string();
                    // Whatever parsed re-encodes to something that parses to the same value.
                    prop_assert_eq!(decode(&encode(&p)).unwrap(), p);
                }
            }
        }

        #[test]
        fn arbitrary_values_never_panic(
            idx in 0..KNOWN.len(),
            other in unknown_param_type(),
            value in vec(any::<u8>(), 0..96),
        ) {
            let value = Bytes::from(value);
            for t in [KNOWN[idx], other] {
                if let Ok(p) = Parameter::parse(t, &value) {
                    prop_assert_eq!(p.param_type(), t);
                    prop_assert_eq!(p.value_len(), value.len());
                    let mut v = Vec::new();
                    p.write_value(&mut v);
                    // Bytes that parse are canonical, except ignored reserved fields.
                    if !matches!(
                        p,
                        Parameter::AddOutgoingStreamsRequest(_)
                            | Parameter::AddIncomingStreamsRequest(_)
                    ) {
                        prop_assert_eq!(&v[..], &value[..]);
                    }
                    let _ = p.to_string();
                }
            }
        }
    }

    /// Every known type code, for the fuzz-style property above.
    const KNOWN: [u16; 28] = {
        use param_type::*;
        [
            HEARTBEAT_INFO,
            IPV4_ADDRESS,
            IPV6_ADDRESS,
            STATE_COOKIE,
            UNRECOGNIZED_PARAMETER,
            COOKIE_PRESERVATIVE,
            HOST_NAME_ADDRESS,
            SUPPORTED_ADDRESS_TYPES,
            OUTGOING_SSN_RESET_REQUEST,
            INCOMING_SSN_RESET_REQUEST,
            SSN_TSN_RESET_REQUEST,
            RECONFIG_RESPONSE,
            ADD_OUTGOING_STREAMS_REQUEST,
            ADD_INCOMING_STREAMS_REQUEST,
            ECN_CAPABLE,
            ZERO_CHECKSUM_ACCEPTABLE,
            RANDOM,
            CHUNK_LIST,
            REQUESTED_HMAC_ALGORITHM,
            PADDING,
            SUPPORTED_EXTENSIONS,
            FORWARD_TSN_SUPPORTED,
            ADD_IP_ADDRESS,
            DELETE_IP_ADDRESS,
            ERROR_CAUSE_INDICATION,
            SET_PRIMARY_ADDRESS,
            SUCCESS_INDICATION,
            ADAPTATION_LAYER_INDICATION,
        ]
    };

    #[test]
    fn strategy_covers_every_variant() {
        use proptest::strategy::ValueTree;
        use proptest::test_runner::TestRunner;
        let mut runner = TestRunner::deterministic();
        let strategy = any_parameter();
        let mut seen = std::collections::BTreeSet::new();
        let mut unknown = 0;
        for _ in 0..5000 {
            let p = strategy.new_tree(&mut runner).unwrap().current();
            match p {
                Parameter::Unknown(u) => {
                    assert!(!param_type::is_known(u.param_type));
                    unknown += 1;
                }
                p => {
                    seen.insert(p.param_type());
                }
            }
        }
        assert!(unknown > 0);
        assert_eq!(seen.into_iter().collect::<Vec<_>>(), {
            let mut k = KNOWN.to_vec();
            k.sort_unstable();
            k
        });
    }

    #[test]
    fn known_table_matches_is_known() {
        assert!(KNOWN.iter().all(|&t| param_type::is_known(t)));
        let count = (0..=u16::MAX).filter(|&t| param_type::is_known(t)).count();
        assert_eq!(count, KNOWN.len());
    }

    #[test]
    fn sequence_length_fields_that_lie() {
        // Length 0 and 3: shorter than the header itself.
        for len in [0u8, 3] {
            let bytes = Bytes::from(vec![0x00, 0x05, 0x00, len, 192, 0, 2, 1]);
            assert!(matches!(
                parse_params(&bytes),
                Err(WireError::LengthTooShort { len: l, min: 4, .. }) if l == usize::from(len)
            ));
        }
        // Length 65535: far past the end.
        let bytes = Bytes::from_static(&[0x00, 0x05, 0xff, 0xff, 192, 0, 2, 1]);
        assert!(matches!(
            parse_params(&bytes),
            Err(WireError::LengthPastEnd {
                len: 65535,
                available: 8,
                ..
            })
        ));
        // A good parameter followed by a lying one: the whole sequence fails.
        let bytes = Bytes::from_static(&[0x80, 0x00, 0x00, 0x04, 0xc0, 0x00, 0x00, 0x00]);
        assert!(matches!(
            parse_params(&bytes),
            Err(WireError::LengthTooShort { len: 0, .. })
        ));
        // A header cut short.
        let bytes = Bytes::from_static(&[0x80, 0x00, 0x00]);
        assert!(matches!(
            parse_params(&bytes),
            Err(WireError::Truncated { .. })
        ));
    }

    #[test]
    fn empty_sequence() {
        assert_eq!(parse_params(&Bytes::new()).unwrap(), vec![]);
        assert_eq!(params_len(&[]), 0);
    }

    #[test]
    fn unknown_keeps_bytes_and_action() {
        let bytes = [0x40, 0x07, 0x00, 0x07, 1, 2, 3];
        let p = decode(&bytes).unwrap();
        let Parameter::Unknown(u) = &p else {
            panic!("{p:?}")
        };
        assert_eq!(u.param_type, 0x4007);
        assert_eq!(&u.value[..], &[1, 2, 3]);
        assert_eq!(u.action(), UnrecognizedAction::StopAndReport);
        assert_eq!(p.to_string(), "Unknown(type=0x4007, 3 bytes, stop+report)");
        // Reporting it back wraps the whole TLV in an Unrecognized Parameter.
        let report = u.to_unrecognized();
        assert_eq!(
            report,
            Parameter::UnrecognizedParameter(Bytes::copy_from_slice(&bytes))
        );
        assert_eq!(
            report.to_string(),
            "UnrecognizedParameter(type=0x4007, 7 bytes)"
        );
    }

    #[test]
    fn zero_copy() {
        let buf = Bytes::from_static(&[0x00, 0x07, 0x00, 0x08, 0xde, 0xad, 0xbe, 0xef]);
        let params = parse_params(&buf).unwrap();
        let Some(Parameter::StateCookie(c)) = params.first() else {
            panic!("{params:?}")
        };
        assert_eq!(c.as_ptr(), buf[4..].as_ptr());
    }

    #[test]
    fn only_host_name_is_deprecated() {
        assert!(Parameter::HostNameAddress(Bytes::from_static(b"a\0")).is_deprecated());
        assert!(!Parameter::Ipv4Address(Ipv4Addr::LOCALHOST).is_deprecated());
    }

    #[test]
    fn display_reads_like_a_trace() {
        use crate::Tsn;
        let cases: Vec<(Parameter, &str)> = vec![
            (
                Parameter::Ipv4Address(Ipv4Addr::new(192, 0, 2, 1)),
                "IPv4(192.0.2.1)",
            ),
            (
                Parameter::Ipv6Address("2001:db8::1".parse().unwrap()),
                "IPv6(2001:db8::1)",
            ),
            (
                Parameter::StateCookie(Bytes::from(vec![0; 36])),
                "StateCookie(36 bytes)",
            ),
            (
                Parameter::SupportedExtensions(vec![0x82, 0xC0, 0x40]),
                "SupportedExtensions[RE-CONFIG, FORWARD-TSN, I-DATA]",
            ),
            (
                Parameter::SupportedExtensions(vec![0x99]),
                "SupportedExtensions[153]",
            ),
            (
                Parameter::OutgoingSsnResetRequest(OutgoingSsnResetRequest {
                    request_seq: 3,
                    response_seq: 2,
                    last_assigned_tsn: Tsn(100),
                    streams: vec![1, 2],
                }),
                "OutgoingSsnReset(req=3, resp=2, last_tsn=100, streams=[1, 2])",
            ),
            (
                Parameter::CookiePreservative(1000),
                "CookiePreservative(+1000ms)",
            ),
            (
                Parameter::SupportedAddressTypes(vec![5, 6]),
                "SupportedAddressTypes[IPv4, IPv6]",
            ),
            (
                Parameter::RequestedHmacAlgorithm(vec![3, 1]),
                "RequestedHmacAlgorithm[SHA-256, SHA-1]",
            ),
            (Parameter::ChunkList(vec![0, 3]), "ChunkList[DATA, SACK]"),
            (Parameter::EcnCapable, "EcnCapable"),
            (Parameter::ForwardTsnSupported, "ForwardTsnSupported"),
            (
                Parameter::ZeroChecksumAcceptable(1),
                "ZeroChecksumAcceptable(edmid=1)",
            ),
            (Parameter::SuccessIndication(7), "SuccessIndication(corr=7)"),
            (
                Parameter::AdaptationLayerIndication(0x1234),
                "AdaptationLayer(0x00001234)",
            ),
            (
                Parameter::HeartbeatInfo(Bytes::from_static(b"xy")),
                "HeartbeatInfo(2 bytes)",
            ),
            (
                Parameter::Random(Bytes::from(vec![0; 32])),
                "Random(32 bytes)",
            ),
            (
                Parameter::Padding(Bytes::from(vec![0; 8])),
                "Padding(8 bytes)",
            ),
        ];
        for (p, want) in cases {
            assert_eq!(p.to_string(), want);
        }
    }
}
