//! RE-CONFIG chunk (RFC 6525 §3.1).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Type = 130    |  Chunk Flags  |      Chunk Length             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! \                                                               \
//! /                  Re-configuration Parameter                   /
//! \                                                               \
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! \                                                               \
//! /             Re-configuration Parameter (optional)             /
//! \                                                               \
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! RFC 6525 §3.1 allows one or two parameters and only certain pairs; which pairs are valid is
//! the stream-reset logic's decision, so all parameters are kept here.

use bytes::Bytes;
use core::fmt;

use super::{chunk_type, ChunkValue, EncodeChunk};
use crate::error::Result;
use crate::param::{params_len, parse_params, write_params, Parameter};

/// A RE-CONFIG chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReConfig {
    /// The re-configuration request and response parameters, in wire order.
    pub params: Vec<Parameter>,
}

impl ChunkValue for ReConfig {
    const TYPE: u8 = chunk_type::RE_CONFIG;

    fn parse(_flags: u8, value: &Bytes) -> Result<Self> {
        Ok(Self {
            params: parse_params(value)?,
        })
    }
}

impl EncodeChunk for ReConfig {
    fn chunk_type(&self) -> u8 {
        Self::TYPE
    }

    fn chunk_flags(&self) -> u8 {
        0
    }

    fn value_len(&self) -> usize {
        params_len(&self.params)
    }

    fn write_value(&self, out: &mut Vec<u8>) {
        write_params(&self.params, out);
    }
}

impl fmt::Display for ReConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RE-CONFIG(")?;
        super::fmt_list(f, &self.params)?;
        f.write_str(")")
    }
}
