//! Chunks of a type Braid does not know (RFC 9260 §3.2).

use bytes::Bytes;
use core::fmt;

use super::EncodeChunk;
use crate::UnrecognizedAction;

/// A chunk of unknown type, kept verbatim so it can be reported ("Unrecognized Chunk Type"
/// carries the whole chunk) or forwarded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownChunk {
    /// The chunk type.
    pub chunk_type: u8,
    /// The flags byte.
    pub flags: u8,
    /// The value, without header or padding.
    pub value: Bytes,
}

impl UnknownChunk {
    /// What RFC 9260 §3.2 says to do with it (its type's upper two bits).
    pub fn action(&self) -> UnrecognizedAction {
        UnrecognizedAction::for_chunk_type(self.chunk_type)
    }
}

impl EncodeChunk for UnknownChunk {
    fn chunk_type(&self) -> u8 {
        self.chunk_type
    }

    fn chunk_flags(&self) -> u8 {
        self.flags
    }

    fn value_len(&self) -> usize {
        self.value.len()
    }

    fn write_value(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.value);
    }
}

impl fmt::Display for UnknownChunk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "UNKNOWN(type={:#04x}, flags={:#04x}, {} bytes, {:?})",
            self.chunk_type,
            self.flags,
            self.value.len(),
            self.action()
        )
    }
}
