//! DATA chunk (RFC 9260 §3.3.1), with the I bit of RFC 7053.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |   Type = 0    |  Res  |I|U|B|E|            Length             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                              TSN                              |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |      Stream Identifier S      |   Stream Sequence Number n    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                  Payload Protocol Identifier                  |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! \                                                               \
//! /                 User Data (seq n of Stream S)                 /
//! \                                                               \
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use bytes::{Buf, Bytes};
use core::fmt;

use super::{chunk_type, ChunkValue, EncodeChunk};
use crate::error::{Result, WireError};
use crate::serial::{Ssn, Tsn};

pub(crate) const FLAG_E: u8 = 0x01;
pub(crate) const FLAG_B: u8 = 0x02;
pub(crate) const FLAG_U: u8 = 0x04;
pub(crate) const FLAG_I: u8 = 0x08;

/// Bytes of the DATA chunk value before the user data.
pub(crate) const DATA_FIXED_LEN: usize = 12;

/// A DATA chunk: one fragment (or the whole) of a user message.
///
/// The payload is a zero-copy slice of the received packet. A DATA chunk with no user data is
/// parsed (so the core can answer it with the "No User Data" cause, RFC 9260 §6.2), not
/// rejected here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Data<P = Bytes> {
    /// Transmission Sequence Number.
    pub tsn: Tsn,
    /// Stream identifier.
    pub stream_id: u16,
    /// Stream Sequence Number (ignored by the receiver for unordered data).
    pub ssn: Ssn,
    /// Payload Protocol Identifier, opaque to SCTP.
    pub ppid: u32,
    /// U bit: unordered delivery.
    pub unordered: bool,
    /// B bit: first fragment of the message.
    pub beginning: bool,
    /// E bit: last fragment of the message.
    pub ending: bool,
    /// I bit (RFC 7053): the sender asks for a SACK without delay.
    pub immediate_sack: bool,
    /// User data: a `Bytes` (received chunks, and [`Chunk`](super::Chunk)), or a borrowed
    /// slice ([`DataRef`]) to encode a payload without touching its reference count.
    pub payload: P,
}

/// Decodes the U, B, E and I bits shared by DATA and I-DATA.
pub(crate) fn flag_bits(flags: u8) -> (bool, bool, bool, bool) {
    (
        flags & FLAG_U != 0,
        flags & FLAG_B != 0,
        flags & FLAG_E != 0,
        flags & FLAG_I != 0,
    )
}

/// Encodes the U, B, E and I bits shared by DATA and I-DATA.
pub(crate) fn flags_byte(unordered: bool, beginning: bool, ending: bool, immediate: bool) -> u8 {
    (if unordered { FLAG_U } else { 0 })
        | (if beginning { FLAG_B } else { 0 })
        | (if ending { FLAG_E } else { 0 })
        | (if immediate { FLAG_I } else { 0 })
}

/// Writes the `UBEI`-style flag letters of a data chunk.
pub(crate) fn fmt_flags(
    f: &mut fmt::Formatter<'_>,
    unordered: bool,
    beginning: bool,
    ending: bool,
    immediate: bool,
) -> fmt::Result {
    for (set, c) in [
        (unordered, "U"),
        (beginning, "B"),
        (ending, "E"),
        (immediate, "I"),
    ] {
        if set {
            f.write_str(c)?;
        }
    }
    Ok(())
}

impl ChunkValue for Data {
    const TYPE: u8 = chunk_type::DATA;

    fn parse(flags: u8, value: &Bytes) -> Result<Self> {
        Self::parse_owned(flags, value.clone())
    }
}

impl Data {
    /// Parses a DATA chunk value, keeping `value` itself as the payload: what the receive
    /// path uses, so a chunk's bytes are handed on without touching their reference count.
    pub fn parse_owned(flags: u8, mut value: Bytes) -> Result<Self> {
        let h = fixed::<DATA_FIXED_LEN>(&value, "DATA chunk")?;
        value.advance(DATA_FIXED_LEN);
        let (unordered, beginning, ending, immediate_sack) = flag_bits(flags);
        Ok(Self {
            tsn: Tsn(u32::from_be_bytes([h[0], h[1], h[2], h[3]])),
            stream_id: u16::from_be_bytes([h[4], h[5]]),
            ssn: Ssn(u16::from_be_bytes([h[6], h[7]])),
            ppid: u32::from_be_bytes([h[8], h[9], h[10], h[11]]),
            unordered,
            beginning,
            ending,
            immediate_sack,
            payload: value,
        })
    }

    /// A view of this chunk for encoding.
    pub fn view(&self) -> DataRef<'_> {
        DataRef {
            tsn: self.tsn,
            stream_id: self.stream_id,
            ssn: self.ssn,
            ppid: self.ppid,
            unordered: self.unordered,
            beginning: self.beginning,
            ending: self.ending,
            immediate_sack: self.immediate_sack,
            payload: &self.payload,
        }
    }
}

/// The fixed part of a data chunk's value, or the error for a value too short to hold it.
pub(crate) fn fixed<const N: usize>(value: &[u8], what: &'static str) -> Result<[u8; N]> {
    value
        .get(..N)
        .and_then(|h| h.try_into().ok())
        .ok_or(WireError::Truncated {
            what,
            need: N,
            have: value.len(),
        })
}

/// A DATA chunk borrowing its payload: how the send path writes a fragment into a packet
/// without cloning the `Bytes` that holds it.
pub type DataRef<'a> = Data<&'a [u8]>;

impl<P: AsRef<[u8]>> EncodeChunk for Data<P> {
    fn chunk_type(&self) -> u8 {
        chunk_type::DATA
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
        DATA_FIXED_LEN + self.payload.as_ref().len()
    }

    fn write_value(&self, out: &mut Vec<u8>) {
        let mut h = [0u8; DATA_FIXED_LEN];
        h[0..4].copy_from_slice(&self.tsn.0.to_be_bytes());
        h[4..6].copy_from_slice(&self.stream_id.to_be_bytes());
        h[6..8].copy_from_slice(&self.ssn.0.to_be_bytes());
        h[8..12].copy_from_slice(&self.ppid.to_be_bytes());
        out.reserve(self.value_len());
        out.extend_from_slice(&h);
        out.extend_from_slice(self.payload.as_ref());
    }
}

impl fmt::Display for Data {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "DATA(tsn={}, sid={}, ssn={}, ppid={}, ",
            self.tsn, self.stream_id, self.ssn, self.ppid
        )?;
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
