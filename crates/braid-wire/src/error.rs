//! The one error type of the wire layer.

use thiserror::Error;

/// Why bytes could not be parsed as SCTP, or a value could not be encoded.
///
/// Every parse function of this crate returns one of these instead of panicking. The `what`
/// fields name the structure being read (`"INIT chunk"`, `"SACK gap blocks"`, ...), so a log line
/// says where the input went wrong.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum WireError {
    /// Fewer bytes than a fixed-size header or field needs.
    #[error("{what}: truncated, need {need} bytes, have {have}")]
    Truncated {
        /// The structure being read.
        what: &'static str,
        /// Bytes needed.
        need: usize,
        /// Bytes available.
        have: usize,
    },
    /// A TLV length field smaller than the TLV's own header (or the structure's fixed part).
    #[error("{what}: length {len} is below the minimum {min}")]
    LengthTooShort {
        /// The structure being read.
        what: &'static str,
        /// The length field's value.
        len: usize,
        /// The smallest valid length.
        min: usize,
    },
    /// A TLV length field that runs past the end of the enclosing buffer.
    #[error("{what}: length {len} runs past the {available} bytes available")]
    LengthPastEnd {
        /// The structure being read.
        what: &'static str,
        /// The length field's value.
        len: usize,
        /// Bytes left in the enclosing buffer.
        available: usize,
    },
    /// A length that is not allowed for this structure (wrong fixed size, or not a multiple of an
    /// element size).
    #[error("{what}: invalid length {len}")]
    InvalidLength {
        /// The structure being read.
        what: &'static str,
        /// The offending length.
        len: usize,
    },
    /// Chunk padding missing or running past the end of the packet (RFC 9260 §3.2: every chunk
    /// is padded to a multiple of 4 bytes).
    #[error("{what}: padding missing or truncated ({trailing} trailing bytes)")]
    BadPadding {
        /// The structure being read.
        what: &'static str,
        /// The number of bytes left that do not make a whole, padded TLV.
        trailing: usize,
    },
    /// A field holds a value the specification forbids.
    #[error("{what}: invalid value {value}")]
    InvalidValue {
        /// The field being read.
        what: &'static str,
        /// The value found.
        value: u64,
    },
    /// The checksum in the common header does not match the packet.
    #[error("checksum mismatch: header has {found:#010x}, packet computes to {computed:#010x}")]
    BadChecksum {
        /// The checksum found in the header (as a host-order CRC value).
        found: u32,
        /// The CRC32c computed over the packet.
        computed: u32,
    },
    /// RFC 9260 §6.10: INIT, INIT ACK and SHUTDOWN COMPLETE must not be bundled.
    #[error("chunk type {chunk_type} must be the only chunk in its packet (RFC 9260 §6.10)")]
    BundlingViolation {
        /// The chunk type that must stand alone.
        chunk_type: u8,
    },
    /// A packet with no chunk at all.
    #[error("packet holds no chunk")]
    NoChunks,
    /// A chunk does not fit in the room left in the packet being built.
    #[error("chunk of {needed} bytes does not fit in the {remaining} bytes left in the packet")]
    NoRoom {
        /// Bytes the chunk needs, padding included.
        needed: usize,
        /// Bytes left before the packet size limit.
        remaining: usize,
    },
    /// A value too large to encode in its length field.
    #[error("{what}: {len} bytes do not fit a 16-bit length field")]
    TooLong {
        /// The structure being encoded.
        what: &'static str,
        /// Its length in bytes.
        len: usize,
    },
}

/// Result alias for the wire layer.
pub type Result<T, E = WireError> = core::result::Result<T, E>;
