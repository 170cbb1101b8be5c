//! SACK chunk (RFC 9260 §3.3.4).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |   Type = 3    |  Chunk Flags  |         Chunk Length          |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                      Cumulative TSN Ack                       |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |          Advertised Receiver Window Credit (a_rwnd)           |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Number of Gap Ack Blocks = N  |  Number of Duplicate TSNs = M |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |    Gap Ack Block #1 Start     |     Gap Ack Block #1 End      |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! /                                                               /
//! \                              ...                              \
//! /                                                               /
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                        Duplicate TSN 1                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! /                              ...                              /
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use bytes::Bytes;
use core::fmt;

use super::{chunk_type, ChunkValue, EncodeChunk};
use crate::error::{Result, WireError};
use crate::serial::Tsn;
use crate::tlv::Reader;

const SACK_FIXED_LEN: usize = 12;

/// A Gap Ack Block: TSNs `cum_ack + start ..= cum_ack + end` were received (RFC 9260 §3.3.4).
/// Offsets are relative to the Cumulative TSN Ack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GapAckBlock {
    /// Offset of the first TSN of the block.
    pub start: u16,
    /// Offset of the last TSN of the block.
    pub end: u16,
}

/// A Selective Acknowledgement.
///
/// The gap block and duplicate lists are empty `Vec`s (no allocation) in the common case of a
/// loss-free path. The counts on the wire must match the chunk length exactly; block ordering
/// and overlap are semantic checks left to the association (RFC 9260 §6.2.1 does not make a
/// malformed block list a reason to reject the chunk).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sack {
    /// Highest TSN received in sequence.
    pub cumulative_tsn_ack: Tsn,
    /// Advertised receiver window credit in bytes.
    pub a_rwnd: u32,
    /// Gap Ack Blocks, in wire order.
    pub gap_blocks: Vec<GapAckBlock>,
    /// TSNs received more than once since the last SACK.
    pub duplicate_tsns: Vec<Tsn>,
}

impl Sack {
    /// The absolute TSN ranges the gap blocks acknowledge, as `(first, last)` inclusive.
    pub fn gap_ranges(&self) -> impl Iterator<Item = (Tsn, Tsn)> + '_ {
        let cum = self.cumulative_tsn_ack;
        self.gap_blocks
            .iter()
            .map(move |b| (cum.add(u32::from(b.start)), cum.add(u32::from(b.end))))
    }
}

impl ChunkValue for Sack {
    const TYPE: u8 = chunk_type::SACK;

    fn parse(_flags: u8, value: &Bytes) -> Result<Self> {
        let mut r = Reader::new(value, "SACK chunk");
        let cumulative_tsn_ack = Tsn(r.u32()?);
        let a_rwnd = r.u32()?;
        let num_gaps = usize::from(r.u16()?);
        let num_dups = usize::from(r.u16()?);
        let expected = SACK_FIXED_LEN + 4 * num_gaps + 4 * num_dups;
        if value.len() != expected {
            return Err(WireError::InvalidLength {
                what: "SACK chunk",
                len: value.len() + 4,
            });
        }
        let mut gap_blocks = Vec::with_capacity(num_gaps);
        for _ in 0..num_gaps {
            gap_blocks.push(GapAckBlock {
                start: r.u16()?,
                end: r.u16()?,
            });
        }
        let mut duplicate_tsns = Vec::with_capacity(num_dups);
        for _ in 0..num_dups {
            duplicate_tsns.push(Tsn(r.u32()?));
        }
        Ok(Self {
            cumulative_tsn_ack,
            a_rwnd,
            gap_blocks,
            duplicate_tsns,
        })
    }
}

impl EncodeChunk for Sack {
    fn chunk_type(&self) -> u8 {
        Self::TYPE
    }

    fn chunk_flags(&self) -> u8 {
        0
    }

    fn value_len(&self) -> usize {
        // The counts are 16-bit: lists longer than that are truncated on the wire.
        let gaps = self.gap_blocks.len().min(usize::from(u16::MAX));
        let dups = self.duplicate_tsns.len().min(usize::from(u16::MAX));
        SACK_FIXED_LEN + 4 * gaps + 4 * dups
    }

    fn write_value(&self, out: &mut Vec<u8>) {
        let gaps = self
            .gap_blocks
            .get(..usize::from(u16::MAX))
            .unwrap_or(&self.gap_blocks);
        let dups = self
            .duplicate_tsns
            .get(..usize::from(u16::MAX))
            .unwrap_or(&self.duplicate_tsns);
        out.extend_from_slice(&self.cumulative_tsn_ack.0.to_be_bytes());
        out.extend_from_slice(&self.a_rwnd.to_be_bytes());
        out.extend_from_slice(&(gaps.len() as u16).to_be_bytes());
        out.extend_from_slice(&(dups.len() as u16).to_be_bytes());
        for b in gaps {
            out.extend_from_slice(&b.start.to_be_bytes());
            out.extend_from_slice(&b.end.to_be_bytes());
        }
        for d in dups {
            out.extend_from_slice(&d.0.to_be_bytes());
        }
    }
}

impl fmt::Display for Sack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SACK(cum_ack={}, a_rwnd={}",
            self.cumulative_tsn_ack, self.a_rwnd
        )?;
        if !self.gap_blocks.is_empty() {
            f.write_str(", gaps=[")?;
            for (i, b) in self.gap_blocks.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{}-{}", b.start, b.end)?;
            }
            f.write_str("]")?;
        }
        if !self.duplicate_tsns.is_empty() {
            f.write_str(", dups=")?;
            super::fmt_list(f, &self.duplicate_tsns)?;
        }
        f.write_str(")")
    }
}
