//! I-DATA chunk (RFC 8260 §2.1).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |   Type = 64   |  Res  |I|U|B|E|       Length = Variable       |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                              TSN                              |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |        Stream Identifier      |           Reserved            |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                      Message Identifier                       |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |    Payload Protocol Identifier / Fragment Sequence Number     |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! \                                                               \
//! /                           User Data                           /
//! \                                                               \
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! RFC 8260 §2.1: the fourth word is the PPID when the B bit is set (and the FSN is then 0),
//! and the FSN otherwise.

use bytes::Bytes;
use core::fmt;

use super::data::{flag_bits, flags_byte, fmt_flags};
use super::{chunk_type, ChunkValue, EncodeChunk};
use crate::error::Result;
use crate::serial::{Fsn, Mid, Tsn};
use crate::tlv::Reader;

/// Bytes of the I-DATA chunk value before the user data.
pub(crate) const IDATA_FIXED_LEN: usize = 16;

/// An I-DATA chunk: a DATA chunk with a 32-bit message identifier and fragment number, so
/// messages of different streams can be interleaved.
///
/// On the wire the PPID and the FSN share a field: with `beginning` set it carries `ppid` (and
/// `fsn` is 0 by definition); otherwise it carries `fsn` (and `ppid` is 0 here). Values built
/// for sending should follow that rule, or the field not carried is lost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IData {
    /// Transmission Sequence Number.
    pub tsn: Tsn,
    /// Stream identifier.
    pub stream_id: u16,
    /// Message identifier (per stream, and per ordered/unordered).
    pub mid: Mid,
    /// Fragment sequence number (0 for the first fragment).
    pub fsn: Fsn,
    /// Payload Protocol Identifier (carried only by the first fragment).
    pub ppid: u32,
    /// U bit: unordered delivery.
    pub unordered: bool,
    /// B bit: first fragment.
    pub beginning: bool,
    /// E bit: last fragment.
    pub ending: bool,
    /// I bit (RFC 7053): SACK immediately.
    pub immediate_sack: bool,
    /// User data.
    pub payload: Bytes,
}

impl ChunkValue for IData {
    const TYPE: u8 = chunk_type::I_DATA;

    fn parse(flags: u8, value: &Bytes) -> Result<Self> {
        let mut r = Reader::new(value, "I-DATA chunk");
        let tsn = Tsn(r.u32()?);
        let stream_id = r.u16()?;
        let _reserved = r.u16()?;
        let mid = Mid(r.u32()?);
        let ppid_or_fsn = r.u32()?;
        let (unordered, beginning, ending, immediate_sack) = flag_bits(flags);
        let (ppid, fsn) = if beginning {
            (ppid_or_fsn, Fsn(0))
        } else {
            (0, Fsn(ppid_or_fsn))
        };
        Ok(Self {
            tsn,
            stream_id,
            mid,
            fsn,
            ppid,
            unordered,
            beginning,
            ending,
            immediate_sack,
            payload: r.rest(),
        })
    }
}

impl EncodeChunk for IData {
    fn chunk_type(&self) -> u8 {
        Self::TYPE
    }

    fn chunk_flags(&self) -> u8 {
        flags_byte(
            self.unordered,
            self.beginning,
            self.ending,
            self.immediate_sack,
        )
    }

    fn value_len(&self) -> usize {
        IDATA_FIXED_LEN + self.payload.len()
    }

    fn write_value(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.tsn.0.to_be_bytes());
        out.extend_from_slice(&self.stream_id.to_be_bytes());
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&self.mid.0.to_be_bytes());
        let field = if self.beginning {
            self.ppid
        } else {
            self.fsn.0
        };
        out.extend_from_slice(&field.to_be_bytes());
        out.extend_from_slice(&self.payload);
    }
}

impl fmt::Display for IData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "I-DATA(tsn={}, sid={}, mid={}, ",
            self.tsn, self.stream_id, self.mid
        )?;
        if self.beginning {
            write!(f, "ppid={}, ", self.ppid)?;
        } else {
            write!(f, "fsn={}, ", self.fsn)?;
        }
        fmt_flags(
            f,
            self.unordered,
            self.beginning,
            self.ending,
            self.immediate_sack,
        )?;
        write!(f, " {} bytes)", self.payload.len())
    }
}
