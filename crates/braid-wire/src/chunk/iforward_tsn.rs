//! I-FORWARD-TSN chunk (RFC 8260 §2.3.1).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |   Type = 194  |  Flags = 0x00 |      Length = Variable        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                       New Cumulative TSN                      |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Stream Identifier 1       |       Reserved              |U|
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                     Message Identifier 1                      |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! \                                                               \
//! /                                                               /
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Stream Identifier N       |       Reserved              |U|
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                     Message Identifier N                      |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use bytes::Bytes;
use core::fmt;

use super::{chunk_type, ChunkValue, EncodeChunk};
use crate::error::{Result, WireError};
use crate::serial::{Mid, Tsn};
use crate::tlv::Reader;

/// One entry of an I-FORWARD-TSN: the largest MID skipped on a stream, ordered or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IForwardTsnStream {
    /// Stream identifier.
    pub stream_id: u16,
    /// U bit: the entry concerns the unordered message sequence.
    pub unordered: bool,
    /// The largest message identifier skipped.
    pub mid: Mid,
}

/// An I-FORWARD-TSN chunk: FORWARD-TSN for I-DATA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IForwardTsn {
    /// The new cumulative TSN.
    pub new_cumulative_tsn: Tsn,
    /// Per stream and ordering, the largest MID skipped.
    pub streams: Vec<IForwardTsnStream>,
}

impl ChunkValue for IForwardTsn {
    const TYPE: u8 = chunk_type::I_FORWARD_TSN;

    fn parse(_flags: u8, value: &Bytes) -> Result<Self> {
        let mut r = Reader::new(value, "I-FORWARD-TSN chunk");
        let new_cumulative_tsn = Tsn(r.u32()?);
        if !r.remaining().is_multiple_of(8) {
            return Err(WireError::InvalidLength {
                what: "I-FORWARD-TSN chunk",
                len: value.len() + 4,
            });
        }
        let mut streams = Vec::with_capacity(r.remaining() / 8);
        while r.remaining() > 0 {
            let stream_id = r.u16()?;
            let unordered = r.u16()? & 1 != 0;
            streams.push(IForwardTsnStream {
                stream_id,
                unordered,
                mid: Mid(r.u32()?),
            });
        }
        Ok(Self {
            new_cumulative_tsn,
            streams,
        })
    }
}

impl EncodeChunk for IForwardTsn {
    fn chunk_type(&self) -> u8 {
        Self::TYPE
    }

    fn chunk_flags(&self) -> u8 {
        0
    }

    fn value_len(&self) -> usize {
        4 + 8 * self.streams.len()
    }

    fn write_value(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.new_cumulative_tsn.0.to_be_bytes());
        for s in &self.streams {
            out.extend_from_slice(&s.stream_id.to_be_bytes());
            out.extend_from_slice(&u16::from(s.unordered).to_be_bytes());
            out.extend_from_slice(&s.mid.0.to_be_bytes());
        }
    }
}

impl fmt::Display for IForwardTsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "I-FORWARD-TSN(new_cum_tsn={}", self.new_cumulative_tsn)?;
        for s in &self.streams {
            let u = if s.unordered { " U" } else { "" };
            write!(f, ", sid {}{u} mid {}", s.stream_id, s.mid)?;
        }
        f.write_str(")")
    }
}
