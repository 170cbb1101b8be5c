//! ABORT chunk (RFC 9260 §3.3.7).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |   Type = 6    |  Reserved   |T|            Length             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! \                                                               \
//! /                   zero or more Error Causes                   /
//! \                                                               \
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! T bit: set when the sender filled in the receiver's tag (reflected) rather than its own
//! (RFC 9260 §8.5.1).

use bytes::Bytes;
use core::fmt;

use super::{chunk_type, fmt_list, ChunkValue, EncodeChunk};
use crate::cause::{causes_len, parse_causes, write_causes, ErrorCause};
use crate::error::Result;

/// An ABORT chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Abort {
    /// T bit: the verification tag is reflected (the receiver's own tag).
    pub t_bit: bool,
    /// Why the association is aborted.
    pub causes: Vec<ErrorCause>,
}

impl ChunkValue for Abort {
    const TYPE: u8 = chunk_type::ABORT;

    fn parse(flags: u8, value: &Bytes) -> Result<Self> {
        Ok(Self {
            t_bit: flags & 1 != 0,
            causes: parse_causes(value)?,
        })
    }
}

impl EncodeChunk for Abort {
    fn chunk_type(&self) -> u8 {
        Self::TYPE
    }

    fn chunk_flags(&self) -> u8 {
        u8::from(self.t_bit)
    }

    fn value_len(&self) -> usize {
        causes_len(&self.causes)
    }

    fn write_value(&self, out: &mut Vec<u8>) {
        write_causes(&self.causes, out);
    }
}

impl fmt::Display for Abort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.t_bit { "ABORT(T" } else { "ABORT(" })?;
        if !self.causes.is_empty() {
            if self.t_bit {
                f.write_str(", ")?;
            }
            fmt_list(f, &self.causes)?;
        }
        f.write_str(")")
    }
}
