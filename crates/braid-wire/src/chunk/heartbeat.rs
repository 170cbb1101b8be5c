//! HEARTBEAT (RFC 9260 §3.3.5) and HEARTBEAT ACK (§3.3.6) chunks.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Type = 4/5   |  Chunk Flags  |       Heartbeat Length        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! \                                                               \
//! /          Heartbeat Information TLV (Variable-Length)          /
//! \                                                               \
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! The Heartbeat Information TLV is parameter type 1 ("Heartbeat Info"), whose value is opaque
//! sender data that the HEARTBEAT ACK echoes back unchanged.

use bytes::Bytes;
use core::fmt;

use super::{chunk_type, ChunkValue, EncodeChunk};
use crate::error::{Result, WireError};
use crate::param::{parse_params, Parameter};
use crate::tlv;

/// The value of a HEARTBEAT or HEARTBEAT ACK chunk
/// ([`Chunk::Heartbeat`](super::Chunk::Heartbeat) / [`Chunk::HeartbeatAck`](super::Chunk::HeartbeatAck)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heartbeat {
    /// The Heartbeat Info parameter's value: opaque to the receiver, echoed by the ACK.
    pub info: Bytes,
}

/// Parameter type of Heartbeat Info (RFC 9260 §3.3.5).
const HEARTBEAT_INFO: u16 = 1;

impl ChunkValue for Heartbeat {
    const TYPE: u8 = chunk_type::HEARTBEAT;

    fn parse(_flags: u8, value: &Bytes) -> Result<Self> {
        // RFC 9260 §3.3.5: the chunk carries exactly the Heartbeat Info TLV.
        match parse_params(value)?.into_iter().next() {
            Some(Parameter::HeartbeatInfo(info)) => Ok(Self { info }),
            Some(other) => Err(WireError::InvalidValue {
                what: "HEARTBEAT parameter type",
                value: u64::from(other.param_type()),
            }),
            None => Err(WireError::Truncated {
                what: "HEARTBEAT chunk",
                need: 4,
                have: 0,
            }),
        }
    }
}

impl EncodeChunk for Heartbeat {
    /// Always [`chunk_type::HEARTBEAT`]; a HEARTBEAT ACK is written through
    /// [`Chunk::HeartbeatAck`](super::Chunk::HeartbeatAck).
    fn chunk_type(&self) -> u8 {
        chunk_type::HEARTBEAT
    }

    fn chunk_flags(&self) -> u8 {
        0
    }

    fn value_len(&self) -> usize {
        tlv::TLV_HEADER_LEN + self.info.len()
    }

    fn write_value(&self, out: &mut Vec<u8>) {
        let len = u16::try_from(self.value_len()).unwrap_or(u16::MAX);
        tlv::write_tlv_header(out, HEARTBEAT_INFO.to_be_bytes(), len);
        out.extend_from_slice(&self.info);
    }
}

impl fmt::Display for Heartbeat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "(info {} bytes)", self.info.len())
    }
}
