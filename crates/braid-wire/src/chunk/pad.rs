//! PAD chunk (RFC 4820 §3).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Type = 0x84   |   Flags=0     |             Length            |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                                                               |
//! \                         Padding Data                          /
//! /                                                               \
//! |                                                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! Used to grow a packet to a given size, e.g. for path MTU probes (RFC 8899 §6.2).

use bytes::Bytes;
use core::fmt;

use super::{chunk_type, ChunkValue, EncodeChunk};
use crate::error::Result;

/// A PAD chunk. The receiver ignores the padding data (RFC 4820 §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pad {
    /// The padding data.
    pub padding: Bytes,
}

impl Pad {
    /// A PAD chunk whose value is `len` zero bytes.
    pub fn zeros(len: usize) -> Self {
        Self {
            padding: Bytes::from(vec![0; len]),
        }
    }
}

impl ChunkValue for Pad {
    const TYPE: u8 = chunk_type::PAD;

    fn parse(_flags: u8, value: &Bytes) -> Result<Self> {
        Ok(Self {
            padding: value.clone(),
        })
    }
}

impl EncodeChunk for Pad {
    fn chunk_type(&self) -> u8 {
        Self::TYPE
    }

    fn chunk_flags(&self) -> u8 {
        0
    }

    fn value_len(&self) -> usize {
        self.padding.len()
    }

    fn write_value(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.padding);
    }
}

impl fmt::Display for Pad {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PAD({} bytes)", self.padding.len())
    }
}
