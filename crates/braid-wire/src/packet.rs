//! SCTP packets: the common header (RFC 9260 §3.1) and the chunk sequence behind it.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Source Port Number        |     Destination Port Number   |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                      Verification Tag                         |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                           Checksum                            |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                      Chunk #1 ... Chunk #n                    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! [`Packet::parse`] checks, once and without allocating: the header length, the checksum
//! under a [`ChecksumPolicy`], the framing of every chunk (lengths, padding) and the bundling
//! rule of RFC 9260 §6.10. After that, iterating the chunks cannot fail on framing; only the
//! typed decoding of a single chunk's value can, and it is lazy ([`Packet::chunks`]).

use bytes::{Buf, Bytes};
use core::fmt;

use crate::checksum::{packet_crc32c, stored_checksum, ChecksumPolicy};
use crate::chunk::{chunk_type, Chunk};
use crate::error::{Result, WireError};
use crate::tlv::{next_tlv_at, Padding};

/// The 12-byte common header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct CommonHeader {
    /// Sender's SCTP port.
    pub src_port: u16,
    /// Receiver's SCTP port.
    pub dst_port: u16,
    /// Verification tag (RFC 9260 §8.5).
    pub verification_tag: u32,
    /// The checksum field as a CRC value (stored little-endian on the wire, see
    /// [`checksum`](crate::checksum)). Ignored by [`PacketBuilder`](crate::PacketBuilder),
    /// which computes it.
    pub checksum: u32,
}

impl CommonHeader {
    /// Length of the common header.
    pub const LEN: usize = 12;

    /// Reads the common header from the start of `data`.
    pub fn parse(data: &[u8]) -> Result<Self> {
        let h: &[u8; Self::LEN] = data
            .get(..Self::LEN)
            .and_then(|h| h.try_into().ok())
            .ok_or(WireError::Truncated {
                what: "common header",
                need: Self::LEN,
                have: data.len(),
            })?;
        Ok(Self {
            src_port: u16::from_be_bytes([h[0], h[1]]),
            dst_port: u16::from_be_bytes([h[2], h[3]]),
            verification_tag: u32::from_be_bytes([h[4], h[5], h[6], h[7]]),
            checksum: u32::from_le_bytes([h[8], h[9], h[10], h[11]]),
        })
    }

    /// Appends the header (with its `checksum` field as given).
    pub fn write(&self, out: &mut Vec<u8>) {
        let mut h = [0u8; Self::LEN];
        h[0..2].copy_from_slice(&self.src_port.to_be_bytes());
        h[2..4].copy_from_slice(&self.dst_port.to_be_bytes());
        h[4..8].copy_from_slice(&self.verification_tag.to_be_bytes());
        h[8..12].copy_from_slice(&self.checksum.to_le_bytes());
        out.extend_from_slice(&h);
    }
}

/// Whether a chunk type must be alone in its packet (RFC 9260 §6.10).
pub const fn must_stand_alone(t: u8) -> bool {
    matches!(
        t,
        chunk_type::INIT | chunk_type::INIT_ACK | chunk_type::SHUTDOWN_COMPLETE
    )
}

/// One chunk as framed on the wire, not yet decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawChunk {
    /// The chunk type.
    pub chunk_type: u8,
    /// The flags byte.
    pub flags: u8,
    /// The value: after the 4-byte header, without padding (zero-copy).
    pub value: Bytes,
}

impl RawChunk {
    /// Decodes the value into a typed [`Chunk`].
    pub fn parse(&self) -> Result<Chunk> {
        Chunk::parse(self.chunk_type, self.flags, &self.value)
    }

    /// Decodes the value into a typed [`Chunk`], handing the value on (see
    /// [`Chunk::parse_owned`]).
    pub fn into_chunk(self) -> Result<Chunk> {
        Chunk::parse_owned(self.chunk_type, self.flags, self.value)
    }

    /// The chunk as it stood on the wire, header included and padding excluded (what the
    /// "Unrecognized Chunk Type" error cause carries). Allocates.
    pub fn to_wire(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + self.value.len());
        let len = u16::try_from(4 + self.value.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&[self.chunk_type, self.flags]);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&self.value);
        out
    }
}

/// A received SCTP packet: validated header, checksum and chunk framing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    header: CommonHeader,
    data: Bytes,
    chunk_count: usize,
}

impl Packet {
    /// Validates `data` as one SCTP packet.
    ///
    /// Fails on: fewer than 12 bytes; a checksum the policy rejects; no chunk; a chunk header
    /// truncated, a length below 4 or past the end, missing padding; INIT, INIT ACK or
    /// SHUTDOWN COMPLETE bundled with anything (RFC 9260 §6.10). Chunk values are not decoded
    /// here.
    pub fn parse(data: Bytes, policy: ChecksumPolicy) -> Result<Self> {
        let header = CommonHeader::parse(&data)?;
        match policy {
            ChecksumPolicy::Unchecked => {}
            ChecksumPolicy::ZeroAllowed if header.checksum == 0 => {}
            ChecksumPolicy::Crc32c | ChecksumPolicy::ZeroAllowed => {
                let computed = packet_crc32c(&data).unwrap_or(0);
                let found = stored_checksum(&data).unwrap_or(0);
                if computed != found {
                    return Err(WireError::BadChecksum { found, computed });
                }
            }
        }
        let mut chunk_count = 0usize;
        let mut lonely = None;
        let mut pos = CommonHeader::LEN;
        while pos < data.len() {
            let at = next_tlv_at(&data, pos, "chunk", Padding::Required)?;
            let t = at.head[0];
            if must_stand_alone(t) {
                lonely = Some(t);
            }
            chunk_count += 1;
            pos = at.next;
        }
        if let (Some(chunk_type), 2..) = (lonely, chunk_count) {
            return Err(WireError::BundlingViolation { chunk_type });
        }
        if chunk_count == 0 {
            return Err(WireError::NoChunks);
        }
        Ok(Self {
            header,
            data,
            chunk_count,
        })
    }

    /// The common header.
    pub fn header(&self) -> &CommonHeader {
        &self.header
    }

    /// The whole packet as received.
    pub fn as_bytes(&self) -> &Bytes {
        &self.data
    }

    /// Number of chunks.
    pub fn chunk_count(&self) -> usize {
        self.chunk_count
    }

    /// The chunks, taking the packet: like [`raw_chunks`](Self::raw_chunks), but the last
    /// chunk's value is the packet's own buffer, trimmed, so a packet of one chunk (the
    /// common DATA or SACK packet) is handed on without touching its reference count.
    pub fn into_raw_chunks(self) -> impl Iterator<Item = RawChunk> {
        let mut data = self.data;
        let mut pos = CommonHeader::LEN;
        core::iter::from_fn(move || {
            if pos >= data.len() {
                return None;
            }
            let at = next_tlv_at(&data, pos, "chunk", Padding::Required).ok()?;
            pos = at.next;
            let value = if pos >= data.len() {
                let mut last = core::mem::take(&mut data);
                last.truncate(at.value.end);
                last.advance(at.value.start);
                last
            } else {
                data.slice(at.value)
            };
            Some(RawChunk {
                chunk_type: at.head[0],
                flags: at.head[1],
                value,
            })
        })
    }

    /// The chunks, framed but not decoded. Never yields an error: framing was validated.
    pub fn raw_chunks(&self) -> impl Iterator<Item = RawChunk> + '_ {
        // A clone costs one reference count, as slicing the last chunk would.
        self.clone().into_raw_chunks()
    }

    /// The chunks, decoded. An item is an error when that chunk's value is malformed; the
    /// other chunks are still yielded.
    pub fn chunks(&self) -> impl Iterator<Item = Result<Chunk>> + '_ {
        self.raw_chunks().map(|c| c.parse())
    }
}

impl fmt::Display for Packet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let h = &self.header;
        write!(
            f,
            "{} > {} vtag={:#010x} [",
            h.src_port, h.dst_port, h.verification_tag
        )?;
        for (i, raw) in self.raw_chunks().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            match raw.parse() {
                Ok(c) => write!(f, "{c}")?,
                Err(e) => write!(f, "MALFORMED(type={:#04x}: {e})", raw.chunk_type)?,
            }
        }
        f.write_str("]")
    }
}
