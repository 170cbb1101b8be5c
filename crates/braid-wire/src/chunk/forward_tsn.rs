//! FORWARD-TSN chunk (RFC 3758 §3.2).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |   Type = 192  |  Flags = 0x00 |        Length = Variable      |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                      New Cumulative TSN                       |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |         Stream-1              |       Stream Sequence-1       |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! \                                                               /
//! /                                                               \
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |         Stream-N              |       Stream Sequence-N       |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use bytes::Bytes;
use core::fmt;

use super::{chunk_type, ChunkValue, EncodeChunk};
use crate::error::{Result, WireError};
use crate::serial::{Ssn, Tsn};
use crate::tlv::Reader;

/// One (stream, SSN) pair of a FORWARD-TSN: the largest SSN skipped on that stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ForwardTsnStream {
    /// Stream identifier.
    pub stream_id: u16,
    /// The largest stream sequence number skipped.
    pub ssn: Ssn,
}

/// A FORWARD-TSN chunk: the receiver moves its cumulative TSN to `new_cumulative_tsn`,
/// abandoning what lies before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardTsn {
    /// The new cumulative TSN.
    pub new_cumulative_tsn: Tsn,
    /// Per ordered stream, the largest SSN skipped.
    pub streams: Vec<ForwardTsnStream>,
}

impl ChunkValue for ForwardTsn {
    const TYPE: u8 = chunk_type::FORWARD_TSN;

    fn parse(_flags: u8, value: &Bytes) -> Result<Self> {
        let mut r = Reader::new(value, "FORWARD-TSN chunk");
        let new_cumulative_tsn = Tsn(r.u32()?);
        if !r.remaining().is_multiple_of(4) {
            return Err(WireError::InvalidLength {
                what: "FORWARD-TSN chunk",
                len: value.len() + 4,
            });
        }
        let mut streams = Vec::with_capacity(r.remaining() / 4);
        while r.remaining() > 0 {
            streams.push(ForwardTsnStream {
                stream_id: r.u16()?,
                ssn: Ssn(r.u16()?),
            });
        }
        Ok(Self {
            new_cumulative_tsn,
            streams,
        })
    }
}

impl EncodeChunk for ForwardTsn {
    fn chunk_type(&self) -> u8 {
        Self::TYPE
    }

    fn chunk_flags(&self) -> u8 {
        0
    }

    fn value_len(&self) -> usize {
        4 + 4 * self.streams.len()
    }

    fn write_value(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.new_cumulative_tsn.0.to_be_bytes());
        for s in &self.streams {
            out.extend_from_slice(&s.stream_id.to_be_bytes());
            out.extend_from_slice(&s.ssn.0.to_be_bytes());
        }
    }
}

impl fmt::Display for ForwardTsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FORWARD-TSN(new_cum_tsn={}", self.new_cumulative_tsn)?;
        for s in &self.streams {
            write!(f, ", sid {} ssn {}", s.stream_id, s.ssn)?;
        }
        f.write_str(")")
    }
}
