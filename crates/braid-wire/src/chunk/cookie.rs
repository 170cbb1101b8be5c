//! COOKIE ECHO chunk (RFC 9260 §3.3.11). COOKIE ACK (§3.3.12) has no value and is the unit
//! variant [`Chunk::CookieAck`](super::Chunk::CookieAck).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |   Type = 10   |  Chunk Flags  |            Length             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! /                            Cookie                             /
//! \                                                               \
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use bytes::Bytes;
use core::fmt;

use super::{chunk_type, ChunkValue, EncodeChunk};
use crate::error::Result;

/// A COOKIE ECHO chunk: the State Cookie from the INIT ACK, returned verbatim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookieEcho {
    /// The cookie bytes, opaque to everyone but their creator.
    pub cookie: Bytes,
}

impl ChunkValue for CookieEcho {
    const TYPE: u8 = chunk_type::COOKIE_ECHO;

    fn parse(_flags: u8, value: &Bytes) -> Result<Self> {
        Ok(Self {
            cookie: value.clone(),
        })
    }
}

impl EncodeChunk for CookieEcho {
    fn chunk_type(&self) -> u8 {
        Self::TYPE
    }

    fn chunk_flags(&self) -> u8 {
        0
    }

    fn value_len(&self) -> usize {
        self.cookie.len()
    }

    fn write_value(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.cookie);
    }
}

impl fmt::Display for CookieEcho {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "COOKIE-ECHO({} bytes)", self.cookie.len())
    }
}
