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

use bytes::{Buf, Bytes};
use core::fmt;

use super::data::{fixed, flag_bits, flags_byte, fmt_flags};
use super::{chunk_type, ChunkValue, EncodeChunk};
use crate::error::Result;
use crate::serial::{Fsn, Mid, Tsn};

/// Bytes of the I-DATA chunk value before the user data.
pub(crate) const IDATA_FIXED_LEN: usize = 16;

/// An I-DATA chunk: a DATA chunk with a 32-bit message identifier and fragment number, so
/// messages of different streams can be interleaved.
///
/// On the wire the PPID and the FSN share a field: with `beginning` set it carries `ppid` (and
/// `fsn` is 0 by definition); otherwise it carries `fsn` (and `ppid` is 0 here). Values built
/// for sending should follow that rule, or the field not carried is lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IData<P = Bytes> {
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
    /// User data: a `Bytes` (received chunks, and [`Chunk`](super::Chunk)), or a borrowed
    /// slice ([`IDataRef`]) to encode a payload without touching its reference count.
    pub payload: P,
}

impl ChunkValue for IData {
    const TYPE: u8 = chunk_type::I_DATA;

    fn parse(flags: u8, value: &Bytes) -> Result<Self> {
        Self::parse_owned(flags, value.clone())
    }
}

impl IData {
    /// Parses an I-DATA chunk value, keeping `value` itself as the payload (see
    /// [`Data::parse_owned`](super::Data::parse_owned)).
    pub fn parse_owned(flags: u8, mut value: Bytes) -> Result<Self> {
        let h = fixed::<IDATA_FIXED_LEN>(&value, "I-DATA chunk")?;
        value.advance(IDATA_FIXED_LEN);
        let (unordered, beginning, ending, immediate_sack) = flag_bits(flags);
        let ppid_or_fsn = u32::from_be_bytes([h[12], h[13], h[14], h[15]]);
        let (ppid, fsn) = if beginning {
            (ppid_or_fsn, Fsn(0))
        } else {
            (0, Fsn(ppid_or_fsn))
        };
        Ok(Self {
            tsn: Tsn(u32::from_be_bytes([h[0], h[1], h[2], h[3]])),
            stream_id: u16::from_be_bytes([h[4], h[5]]),
            mid: Mid(u32::from_be_bytes([h[8], h[9], h[10], h[11]])),
            fsn,
            ppid,
            unordered,
            beginning,
            ending,
            immediate_sack,
            payload: value,
        })
    }

    /// A view of this chunk for encoding.
    pub fn view(&self) -> IDataRef<'_> {
        IDataRef {
            tsn: self.tsn,
            stream_id: self.stream_id,
            mid: self.mid,
            fsn: self.fsn,
            ppid: self.ppid,
            unordered: self.unordered,
            beginning: self.beginning,
            ending: self.ending,
            immediate_sack: self.immediate_sack,
            payload: &self.payload,
        }
    }
}

/// A I-DATA chunk borrowing its payload: how the send path writes a fragment into a packet
/// without cloning the `Bytes` that holds it.
pub type IDataRef<'a> = IData<&'a [u8]>;

impl<P: AsRef<[u8]>> EncodeChunk for IData<P> {
    fn chunk_type(&self) -> u8 {
        chunk_type::I_DATA
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
        IDATA_FIXED_LEN + self.payload.as_ref().len()
    }

    fn write_value(&self, out: &mut Vec<u8>) {
        // RFC 8260 §2.1: the B fragment carries the PPID, the others their FSN.
        let field = if self.beginning {
            self.ppid
        } else {
            self.fsn.0
        };
        let mut h = [0u8; IDATA_FIXED_LEN];
        h[0..4].copy_from_slice(&self.tsn.0.to_be_bytes());
        h[4..6].copy_from_slice(&self.stream_id.to_be_bytes());
        h[8..12].copy_from_slice(&self.mid.0.to_be_bytes());
        h[12..16].copy_from_slice(&field.to_be_bytes());
        out.reserve(self.value_len());
        out.extend_from_slice(&h);
        out.extend_from_slice(self.payload.as_ref());
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
