//! [`PacketBuilder`]: fills one packet, up to a size limit, in a caller-provided buffer.

use crate::checksum::{write_crc32c, CHECKSUM_OFFSET};
use crate::chunk::EncodeChunk;
use crate::error::{Result, WireError};
use crate::packet::{must_stand_alone, CommonHeader};

/// Builds one SCTP packet at the end of a caller-owned `Vec<u8>`, so the hot path reuses one
/// buffer and allocates nothing per packet.
///
/// `max_len` is the largest SCTP packet allowed, common header included: the path MTU minus
/// the IP (and, for RFC 6951 encapsulation, UDP) headers. Chunks are appended with their
/// padding; the checksum is written by [`finish_crc32c`](Self::finish_crc32c) or left zero by
/// [`finish_zero_checksum`](Self::finish_zero_checksum) (RFC 9653).
///
/// Enforces RFC 9260 §6.10: INIT, INIT ACK and SHUTDOWN COMPLETE go alone.
#[derive(Debug)]
pub struct PacketBuilder<'a> {
    out: &'a mut Vec<u8>,
    start: usize,
    limit: usize,
    chunks: usize,
    alone: bool,
}

impl<'a> PacketBuilder<'a> {
    /// Starts a packet at the end of `out` with the given header (its checksum is ignored).
    pub fn new(out: &'a mut Vec<u8>, header: CommonHeader, max_len: usize) -> Self {
        let start = out.len();
        CommonHeader {
            checksum: 0,
            ..header
        }
        .write(out);
        Self {
            out,
            start,
            limit: start.saturating_add(max_len.max(CommonHeader::LEN)),
            chunks: 0,
            alone: false,
        }
    }

    /// Bytes still free before `max_len`.
    pub fn remaining(&self) -> usize {
        self.limit.saturating_sub(self.out.len())
    }

    /// Current packet length.
    pub fn len(&self) -> usize {
        self.out.len() - self.start
    }

    /// Whether no chunk has been added yet.
    pub fn is_empty(&self) -> bool {
        self.chunks == 0
    }

    /// Number of chunks added.
    pub fn chunk_count(&self) -> usize {
        self.chunks
    }

    /// Whether `chunk` (with its padding) fits in the room left.
    pub fn fits(&self, chunk: &(impl EncodeChunk + ?Sized)) -> bool {
        chunk.padded_len() <= self.remaining()
    }

    /// Appends a chunk. Fails, writing nothing, with [`WireError::NoRoom`] if it does not fit,
    /// [`WireError::BundlingViolation`] if it may not share the packet, or
    /// [`WireError::TooLong`] if it exceeds a 16-bit chunk length.
    pub fn push(&mut self, chunk: &(impl EncodeChunk + ?Sized)) -> Result<()> {
        let t = chunk.chunk_type();
        if self.alone || (self.chunks > 0 && must_stand_alone(t)) {
            return Err(WireError::BundlingViolation { chunk_type: t });
        }
        if !self.fits(chunk) {
            return Err(WireError::NoRoom {
                needed: chunk.padded_len(),
                remaining: self.remaining(),
            });
        }
        chunk.write_to(self.out)?;
        self.chunks += 1;
        self.alone = must_stand_alone(t);
        Ok(())
    }

    /// Writes the CRC32c and returns the packet length.
    pub fn finish_crc32c(self) -> usize {
        if let Some(packet) = self.out.get_mut(self.start..) {
            write_crc32c(packet);
        }
        self.out.len() - self.start
    }

    /// Leaves the checksum field zero (RFC 9653, only once the peer accepts it) and returns
    /// the packet length.
    pub fn finish_zero_checksum(self) -> usize {
        if let Some(field) = self
            .out
            .get_mut(self.start + CHECKSUM_OFFSET..self.start + CHECKSUM_OFFSET + 4)
        {
            field.fill(0);
        }
        self.out.len() - self.start
    }
}
