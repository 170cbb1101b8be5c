//! INIT (RFC 9260 §3.3.2) and INIT ACK (§3.3.3) chunks: the same fixed part, then parameters.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Type = 1/2   |  Chunk Flags  |         Chunk Length          |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                         Initiate Tag                          |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |          Advertised Receiver Window Credit (a_rwnd)           |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Number of Outbound Streams   |   Number of Inbound Streams   |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                          Initial TSN                          |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! \                                                               \
//! /              Optional/Variable-Length Parameters              /
//! \                                                               \
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! Semantic checks (a zero Initiate Tag or zero stream counts, RFC 9260 §3.3.2, answered with
//! an ABORT) belong to the association, not to the wire format; they are parsed as found.

use bytes::Bytes;
use core::fmt;

use super::{chunk_type, EncodeChunk};
use crate::error::Result;
use crate::param::{params_len, parse_params, write_params, Parameter};
use crate::serial::Tsn;
use crate::tlv::Reader;

const INIT_FIXED_LEN: usize = 16;

/// The value of an INIT or INIT ACK chunk ([`Chunk::Init`](super::Chunk::Init) /
/// [`Chunk::InitAck`](super::Chunk::InitAck)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Init {
    /// The tag the sender expects in every packet sent to it.
    pub initiate_tag: u32,
    /// The sender's initial receive window in bytes.
    pub a_rwnd: u32,
    /// Outbound streams the sender wants to open (OS).
    pub outbound_streams: u16,
    /// Inbound streams the sender allows (MIS).
    pub inbound_streams: u16,
    /// The first TSN the sender will use.
    pub initial_tsn: Tsn,
    /// Optional and variable-length parameters, in wire order.
    pub params: Vec<Parameter>,
}

impl Init {
    pub(crate) fn parse_with(what: &'static str, value: &Bytes) -> Result<Self> {
        let mut r = Reader::new(value, what);
        let initiate_tag = r.u32()?;
        let a_rwnd = r.u32()?;
        let outbound_streams = r.u16()?;
        let inbound_streams = r.u16()?;
        let initial_tsn = Tsn(r.u32()?);
        let params = parse_params(&r.rest())?;
        Ok(Self {
            initiate_tag,
            a_rwnd,
            outbound_streams,
            inbound_streams,
            initial_tsn,
            params,
        })
    }

    /// The State Cookie parameter's value, if present (INIT ACK).
    pub fn state_cookie(&self) -> Option<&Bytes> {
        self.params.iter().find_map(|p| match p {
            Parameter::StateCookie(c) => Some(c),
            _ => None,
        })
    }
}

impl EncodeChunk for Init {
    /// Always [`chunk_type::INIT`]; INIT ACK is written through
    /// [`Chunk::InitAck`](super::Chunk::InitAck), which overrides the type.
    fn chunk_type(&self) -> u8 {
        chunk_type::INIT
    }

    fn chunk_flags(&self) -> u8 {
        0
    }

    fn value_len(&self) -> usize {
        INIT_FIXED_LEN + params_len(&self.params)
    }

    fn write_value(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.initiate_tag.to_be_bytes());
        out.extend_from_slice(&self.a_rwnd.to_be_bytes());
        out.extend_from_slice(&self.outbound_streams.to_be_bytes());
        out.extend_from_slice(&self.inbound_streams.to_be_bytes());
        out.extend_from_slice(&self.initial_tsn.0.to_be_bytes());
        write_params(&self.params, out);
    }
}

impl fmt::Display for Init {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "(tag={:#010x}, a_rwnd={}, os={}, mis={}, init_tsn={}",
            self.initiate_tag,
            self.a_rwnd,
            self.outbound_streams,
            self.inbound_streams,
            self.initial_tsn
        )?;
        for p in &self.params {
            write!(f, ", {p}")?;
        }
        f.write_str(")")
    }
}
