//! Operation Error (ERROR) chunk (RFC 9260 §3.3.10).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |   Type = 9    | Chunk Flags   |            Length             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! \                                                               \
//! /                    one or more Error Causes                   /
//! \                                                               \
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use bytes::Bytes;
use core::fmt;

use super::{chunk_type, fmt_list, ChunkValue, EncodeChunk};
use crate::cause::{causes_len, parse_causes, write_causes, ErrorCause};
use crate::error::Result;

/// An ERROR chunk: conditions the peer reports without aborting.
///
/// RFC 9260 §3.3.10 asks for at least one cause; an empty list is parsed anyway (the
/// association decides whether that is worth a reaction).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationError {
    /// The reported error causes.
    pub causes: Vec<ErrorCause>,
}

impl ChunkValue for OperationError {
    const TYPE: u8 = chunk_type::ERROR;

    fn parse(_flags: u8, value: &Bytes) -> Result<Self> {
        Ok(Self {
            causes: parse_causes(value)?,
        })
    }
}

impl EncodeChunk for OperationError {
    fn chunk_type(&self) -> u8 {
        Self::TYPE
    }

    fn chunk_flags(&self) -> u8 {
        0
    }

    fn value_len(&self) -> usize {
        causes_len(&self.causes)
    }

    fn write_value(&self, out: &mut Vec<u8>) {
        write_causes(&self.causes, out);
    }
}

impl fmt::Display for OperationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ERROR(")?;
        fmt_list(f, &self.causes)?;
        f.write_str(")")
    }
}
