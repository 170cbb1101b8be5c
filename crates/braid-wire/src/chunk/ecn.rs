//! ECN Echo (ECNE) and Congestion Window Reduced (CWR) chunks (RFC 9260 Appendix A).
//!
//! ```text
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Type = 12/13  | Chunk Flags   |          Length = 8           |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                        Lowest TSN Number                      |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use bytes::Bytes;
use core::fmt;

use super::{chunk_type, expect_len, ChunkValue, EncodeChunk};
use crate::error::Result;
use crate::serial::Tsn;
use crate::tlv::Reader;

macro_rules! tsn_chunk {
    ($(#[$doc:meta])* $name:ident, $ty:expr, $what:literal, $label:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $name {
            /// The lowest TSN concerned.
            pub lowest_tsn: Tsn,
        }

        impl ChunkValue for $name {
            const TYPE: u8 = $ty;

            fn parse(_flags: u8, value: &Bytes) -> Result<Self> {
                expect_len($what, value, 4)?;
                Ok(Self { lowest_tsn: Tsn(Reader::new(value, $what).u32()?) })
            }
        }

        impl EncodeChunk for $name {
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
                out.extend_from_slice(&self.lowest_tsn.0.to_be_bytes());
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($label, "(lowest_tsn={})"), self.lowest_tsn)
            }
        }
    };
}

tsn_chunk!(
    /// ECN Echo: the receiver saw a Congestion Experienced mark.
    Ecne, chunk_type::ECNE, "ECNE chunk", "ECNE"
);
tsn_chunk!(
    /// Congestion Window Reduced: the sender reacted to an ECNE.
    Cwr, chunk_type::CWR, "CWR chunk", "CWR"
);
