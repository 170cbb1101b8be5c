//! SHUTDOWN (RFC 9260 §3.3.8) and SHUTDOWN COMPLETE (§3.3.13) chunks. SHUTDOWN ACK (§3.3.9)
//! has no value and is the unit variant [`Chunk::ShutdownAck`](super::Chunk::ShutdownAck).
//!
//! ```text
//! SHUTDOWN:
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |   Type = 7    |  Chunk Flags  |          Length = 8           |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                      Cumulative TSN Ack                       |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!
//! SHUTDOWN COMPLETE:
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |   Type = 14   |  Reserved   |T|          Length = 4           |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use bytes::Bytes;
use core::fmt;

use super::{chunk_type, expect_len, ChunkValue, EncodeChunk};
use crate::error::Result;
use crate::serial::Tsn;
use crate::tlv::Reader;

/// A SHUTDOWN chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shutdown {
    /// The last TSN received in sequence.
    pub cumulative_tsn_ack: Tsn,
}

impl ChunkValue for Shutdown {
    const TYPE: u8 = chunk_type::SHUTDOWN;

    fn parse(_flags: u8, value: &Bytes) -> Result<Self> {
        expect_len("SHUTDOWN chunk", value, 4)?;
        Ok(Self {
            cumulative_tsn_ack: Tsn(Reader::new(value, "SHUTDOWN chunk").u32()?),
        })
    }
}

impl EncodeChunk for Shutdown {
    fn chunk_type(&self) -> u8 {
        Self::TYPE
    }

    fn chunk_flags(&self) -> u8 {
        0
    }

    fn value_len(&self) -> usize {
        4
    }

    fn write_value(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.cumulative_tsn_ack.0.to_be_bytes());
    }
}

impl fmt::Display for Shutdown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SHUTDOWN(cum_ack={})", self.cumulative_tsn_ack)
    }
}

/// A SHUTDOWN COMPLETE chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShutdownComplete {
    /// T bit: the verification tag is reflected (RFC 9260 §8.5.1).
    pub t_bit: bool,
}

impl ChunkValue for ShutdownComplete {
    const TYPE: u8 = chunk_type::SHUTDOWN_COMPLETE;

    fn parse(flags: u8, value: &Bytes) -> Result<Self> {
        expect_len("SHUTDOWN COMPLETE chunk", value, 0)?;
        Ok(Self {
            t_bit: flags & 1 != 0,
        })
    }
}

impl EncodeChunk for ShutdownComplete {
    fn chunk_type(&self) -> u8 {
        Self::TYPE
    }

    fn chunk_flags(&self) -> u8 {
        u8::from(self.t_bit)
    }

    fn value_len(&self) -> usize {
        0
    }

    fn write_value(&self, _out: &mut Vec<u8>) {}
}

impl fmt::Display for ShutdownComplete {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.t_bit {
            "SHUTDOWN-COMPLETE(T)"
        } else {
            "SHUTDOWN-COMPLETE"
        })
    }
}
