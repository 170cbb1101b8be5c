//! ASCONF (RFC 5061 §3.1.1) and ASCONF-ACK (§3.1.2) chunks.
//!
//! ```text
//! ASCONF:
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Type = 0xC1   |  Chunk Flags  |      Chunk Length             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                       Sequence Number                         |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                    Address Parameter                          |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                     ASCONF Parameter #1                       |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! \                                                               \
//! /                             ....                              /
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!
//! ASCONF-ACK:
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Type = 0x80   |  Chunk Flags  |      Chunk Length             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                       Sequence Number                         |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                 ASCONF Parameter Response#1                   |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! /                             ....                              /
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use bytes::Bytes;
use core::fmt;

use super::{chunk_type, ChunkValue, EncodeChunk};
use crate::error::{Result, WireError};
use crate::param::{params_len, parse_params, write_params, Parameter};
use crate::tlv::Reader;

/// Parameter types of the IPv4 and IPv6 Address parameters (RFC 9260 §3.3.2.1).
const ADDRESS_PARAM_TYPES: [u16; 2] = [5, 6];

fn fmt_params(f: &mut fmt::Formatter<'_>, params: &[Parameter]) -> fmt::Result {
    for p in params {
        write!(f, ", {p}")?;
    }
    f.write_str(")")
}

/// An ASCONF chunk: requests to add or delete addresses or to set the primary.
///
/// `params` holds, in wire order, the mandatory Address Parameter (an IPv4 or IPv6 address
/// that identifies the association, RFC 5061 §3.1.1) followed by the ASCONF request
/// parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asconf {
    /// Serial number of this request.
    pub sequence_number: u32,
    /// The Address Parameter, then the request parameters.
    pub params: Vec<Parameter>,
}

impl Asconf {
    /// The Address Parameter (the first parameter).
    pub fn address(&self) -> Option<&Parameter> {
        self.params.first()
    }

    /// The request parameters (everything after the Address Parameter).
    pub fn requests(&self) -> &[Parameter] {
        self.params.get(1..).unwrap_or(&[])
    }
}

impl ChunkValue for Asconf {
    const TYPE: u8 = chunk_type::ASCONF;

    fn parse(_flags: u8, value: &Bytes) -> Result<Self> {
        let mut r = Reader::new(value, "ASCONF chunk");
        let sequence_number = r.u32()?;
        let params = parse_params(&r.rest())?;
        // RFC 5061 §3.1.1: the Address Parameter is mandatory and comes first.
        match params.first().map(Parameter::param_type) {
            Some(t) if ADDRESS_PARAM_TYPES.contains(&t) => Ok(Self {
                sequence_number,
                params,
            }),
            Some(t) => Err(WireError::InvalidValue {
                what: "ASCONF address parameter type",
                value: u64::from(t),
            }),
            None => Err(WireError::Truncated {
                what: "ASCONF chunk",
                need: 12,
                have: value.len(),
            }),
        }
    }
}

impl EncodeChunk for Asconf {
    fn chunk_type(&self) -> u8 {
        Self::TYPE
    }

    fn chunk_flags(&self) -> u8 {
        0
    }

    fn value_len(&self) -> usize {
        4 + params_len(&self.params)
    }

    fn write_value(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.sequence_number.to_be_bytes());
        write_params(&self.params, out);
    }
}

impl fmt::Display for Asconf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ASCONF(seq={}", self.sequence_number)?;
        fmt_params(f, &self.params)
    }
}

/// An ASCONF-ACK chunk: the responses to one ASCONF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsconfAck {
    /// The Sequence Number of the ASCONF being acknowledged.
    pub sequence_number: u32,
    /// Success and Error Cause Indication parameters, in wire order.
    pub params: Vec<Parameter>,
}

impl ChunkValue for AsconfAck {
    const TYPE: u8 = chunk_type::ASCONF_ACK;

    fn parse(_flags: u8, value: &Bytes) -> Result<Self> {
        let mut r = Reader::new(value, "ASCONF-ACK chunk");
        let sequence_number = r.u32()?;
        Ok(Self {
            sequence_number,
            params: parse_params(&r.rest())?,
        })
    }
}

impl EncodeChunk for AsconfAck {
    fn chunk_type(&self) -> u8 {
        Self::TYPE
    }

    fn chunk_flags(&self) -> u8 {
        0
    }

    fn value_len(&self) -> usize {
        4 + params_len(&self.params)
    }

    fn write_value(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.sequence_number.to_be_bytes());
        write_params(&self.params, out);
    }
}

impl fmt::Display for AsconfAck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ASCONF-ACK(seq={}", self.sequence_number)?;
        fmt_params(f, &self.params)
    }
}
