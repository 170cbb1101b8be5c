//! # braid-wire — the SCTP wire format
//!
//! Bytes on the wire and nothing else: no time, no state. This crate parses and emits every
//! packet, chunk, parameter and error cause of SCTP (RFC 9260) and the extensions Braid speaks
//! (RFC 3758, 4820, 4895, 5061, 6525, 7053, 8260, 9653).
//!
//! * **Zero-copy**: a [`Packet`] is a validated view over a [`Bytes`] buffer; chunk values, DATA
//!   payloads and cookies are [`Bytes`] slices of it, never copies.
//! * **Panic-free**: every parse returns [`WireError`] on bad input. Lengths, padding and bounds
//!   are checked in one place (`tlv.rs`).
//! * **Complete**: every chunk type has a typed representation, and anything unknown keeps its
//!   bytes and tells which RFC 9260 §3.2 / §3.2.1 action ([`UnrecognizedAction`]) applies.
//!
//! ```
//! use braid_wire::{Chunk, ChecksumPolicy, CommonHeader, Data, Packet, PacketBuilder, Tsn};
//! use bytes::Bytes;
//!
//! // Build a packet holding one DATA chunk into a reusable buffer...
//! let mut buf = Vec::with_capacity(1500);
//! let header = CommonHeader { src_port: 5000, dst_port: 5000, verification_tag: 0xdead_beef, checksum: 0 };
//! let mut builder = PacketBuilder::new(&mut buf, header, 1200);
//! let data = Data {
//!     tsn: Tsn(1), stream_id: 0, ssn: braid_wire::Ssn(0), ppid: 51,
//!     unordered: false, beginning: true, ending: true, immediate_sack: false,
//!     payload: Bytes::from_static(b"hello"),
//! };
//! builder.push(&data).unwrap();
//! let len = builder.finish_crc32c();
//!
//! // ...and parse it back, checking the CRC32c.
//! let packet = Packet::parse(Bytes::copy_from_slice(&buf[..len]), ChecksumPolicy::Crc32c).unwrap();
//! assert_eq!(packet.header().verification_tag, 0xdead_beef);
//! let first = packet.chunks().next();
//! match first {
//!     Some(Ok(Chunk::Data(d))) => assert_eq!(&d.payload[..], b"hello"),
//!     other => panic!("unexpected {other:?}"),
//! }
//! ```
#![cfg_attr(
    not(test),
    deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::panic)
)]

pub mod builder;
pub mod cause;
pub mod checksum;
pub mod chunk;
mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod packet;
pub mod param;
pub mod pcap;
pub mod serial;
mod tlv;

pub use builder::PacketBuilder;
pub use bytes::Bytes;
pub use cause::ErrorCause;
pub use checksum::ChecksumPolicy;
pub use chunk::*;
pub use error::{Result, WireError};
pub use packet::{CommonHeader, Packet};
pub use param::Parameter;
pub use serial::{Fsn, Mid, Ssn, Tsn};
pub use tlv::padded_len;

/// What a receiver does with a chunk or parameter type it does not recognise: the action
/// encoded in the type's upper two bits (RFC 9260 §3.2 for chunks, §3.2.1 for parameters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnrecognizedAction {
    /// `00`: stop processing; for a chunk, discard the whole packet; for a parameter, discard
    /// it and the rest of the chunk's parameters.
    Stop,
    /// `01`: as [`Stop`](Self::Stop), and report it (an ERROR with "Unrecognized Chunk Type",
    /// or an "Unrecognized Parameter").
    StopAndReport,
    /// `10`: skip it and go on with the next one.
    Skip,
    /// `11`: skip it, go on, and report it.
    SkipAndReport,
}

impl UnrecognizedAction {
    /// The action for a chunk type (its upper two bits).
    #[inline]
    pub const fn for_chunk_type(chunk_type: u8) -> Self {
        Self::from_bits(chunk_type >> 6)
    }

    /// The action for a parameter type (the upper two bits of its 16-bit type).
    #[inline]
    pub const fn for_param_type(param_type: u16) -> Self {
        Self::from_bits((param_type >> 14) as u8)
    }

    const fn from_bits(bits: u8) -> Self {
        match bits & 0b11 {
            0b00 => Self::Stop,
            0b01 => Self::StopAndReport,
            0b10 => Self::Skip,
            _ => Self::SkipAndReport,
        }
    }

    /// Whether processing goes on after this element.
    #[inline]
    pub const fn skips(self) -> bool {
        matches!(self, Self::Skip | Self::SkipAndReport)
    }

    /// Whether the element is reported to the peer.
    #[inline]
    pub const fn reports(self) -> bool {
        matches!(self, Self::StopAndReport | Self::SkipAndReport)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upper_two_bits() {
        assert_eq!(
            UnrecognizedAction::for_chunk_type(0x3f),
            UnrecognizedAction::Stop
        );
        assert_eq!(
            UnrecognizedAction::for_chunk_type(0x7f),
            UnrecognizedAction::StopAndReport
        );
        assert_eq!(
            UnrecognizedAction::for_chunk_type(0xbf),
            UnrecognizedAction::Skip
        );
        assert_eq!(
            UnrecognizedAction::for_chunk_type(0xff),
            UnrecognizedAction::SkipAndReport
        );
        assert_eq!(
            UnrecognizedAction::for_param_type(0x8001),
            UnrecognizedAction::Skip
        );
        assert_eq!(
            UnrecognizedAction::for_param_type(0xc000),
            UnrecognizedAction::SkipAndReport
        );
        assert_eq!(
            UnrecognizedAction::for_param_type(0x4000),
            UnrecognizedAction::StopAndReport
        );
        assert!(
            UnrecognizedAction::SkipAndReport.skips()
                && UnrecognizedAction::SkipAndReport.reports()
        );
        assert!(!UnrecognizedAction::Stop.skips() && !UnrecognizedAction::Stop.reports());
    }
}
