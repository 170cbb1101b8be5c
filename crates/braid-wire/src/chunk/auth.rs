//! AUTH chunk (RFC 4895 §4.1).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Type = 0x0F   |   Flags=0     |             Length            |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Shared Key Identifier     |   HMAC Identifier             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                                                               |
//! \                             HMAC                              /
//! /                                                               \
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use bytes::Bytes;
use core::fmt;

use super::{chunk_type, ChunkValue, EncodeChunk};
use crate::error::Result;
use crate::tlv::Reader;

/// An AUTH chunk: authenticates the chunks that follow it in the packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Auth {
    /// Which shared key was used.
    pub shared_key_id: u16,
    /// Which HMAC algorithm (RFC 4895 §3.3: 1 = SHA-1, 3 = SHA-256).
    pub hmac_id: u16,
    /// The HMAC over the packet's authenticated chunks.
    pub hmac: Bytes,
}

impl ChunkValue for Auth {
    const TYPE: u8 = chunk_type::AUTH;

    fn parse(_flags: u8, value: &Bytes) -> Result<Self> {
        let mut r = Reader::new(value, "AUTH chunk");
        Ok(Self {
            shared_key_id: r.u16()?,
            hmac_id: r.u16()?,
            hmac: r.rest(),
        })
    }
}

impl EncodeChunk for Auth {
    fn chunk_type(&self) -> u8 {
        Self::TYPE
    }

    fn chunk_flags(&self) -> u8 {
        0
    }

    fn value_len(&self) -> usize {
        4 + self.hmac.len()
    }

    fn write_value(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.shared_key_id.to_be_bytes());
        out.extend_from_slice(&self.hmac_id.to_be_bytes());
        out.extend_from_slice(&self.hmac);
    }
}

impl fmt::Display for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "AUTH(key={}, hmac_id={}, {} bytes)",
            self.shared_key_id,
            self.hmac_id,
            self.hmac.len()
        )
    }
}
