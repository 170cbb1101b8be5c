//! The SCTP checksum: CRC32c (RFC 9260 §6.8, Appendix A) or zero (RFC 9653).
//!
//! The CRC is computed over the whole packet with the 4-byte checksum field taken as zero, and
//! stored so that the CRC's least significant byte comes first on the wire (RFC 9260
//! Appendix A; e.g. CRC 0xCAA002F8 is sent as `f8 02 a0 ca`). Hardware CRC32c instructions
//! (SSE 4.2 on x86_64, the CRC extension on aarch64) are used where the CPU has them.

/// Byte offset of the checksum field in the common header.
pub const CHECKSUM_OFFSET: usize = 8;

/// Which checksums a receiver accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChecksumPolicy {
    /// A correct CRC32c is required (RFC 9260 §6.8). The default.
    #[default]
    Crc32c,
    /// A checksum of zero is accepted as well as a correct CRC32c (RFC 9653 §5, once the peer
    /// has been told that zero checksums are acceptable, or on a transport with its own
    /// integrity check such as DTLS).
    ZeroAllowed,
    /// No check at all: for fuzzing, test vectors, and decoding captures taken with checksum
    /// offload. Never use this on a live association.
    Unchecked,
}

/// CRC32c (Castagnoli) of `data`.
#[inline]
pub fn crc32c(data: &[u8]) -> u32 {
    crc32c::crc32c(data)
}

/// The SCTP checksum of a whole packet: CRC32c with the checksum field taken as zero.
/// Returns `None` if `packet` is shorter than the common header.
#[inline]
pub fn packet_crc32c(packet: &[u8]) -> Option<u32> {
    let mut head = [0u8; CHECKSUM_OFFSET + 4];
    head[..CHECKSUM_OFFSET].copy_from_slice(packet.get(..CHECKSUM_OFFSET)?);
    let rest = packet.get(CHECKSUM_OFFSET + 4..)?;
    Some(crc32c::crc32c_append(crc32c::crc32c(&head), rest))
}

/// The checksum field as stored in `packet`, as a CRC value (little-endian on the wire).
#[inline]
pub fn stored_checksum(packet: &[u8]) -> Option<u32> {
    let field = packet.get(CHECKSUM_OFFSET..CHECKSUM_OFFSET + 4)?;
    Some(u32::from_le_bytes(field.try_into().ok()?))
}

/// Computes the CRC32c of `packet` and writes it into the checksum field. Does nothing if the
/// buffer is shorter than the common header.
#[inline]
pub fn write_crc32c(packet: &mut [u8]) {
    // With the field zeroed, the CRC of the packet as it stands is the one §6.8 asks for:
    // one pass, no copy of the header.
    if let Some(field) = packet.get_mut(CHECKSUM_OFFSET..CHECKSUM_OFFSET + 4) {
        field.fill(0);
        let crc = crc32c(packet);
        if let Some(field) = packet.get_mut(CHECKSUM_OFFSET..CHECKSUM_OFFSET + 4) {
            field.copy_from_slice(&crc.to_le_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 3720 §B.4 check values, the same CRC32c as SCTP's.
    #[test]
    fn check_values() {
        assert_eq!(crc32c(&[0u8; 32]), 0x8A91_36AA);
        assert_eq!(crc32c(&[0xffu8; 32]), 0x62A8_AB43);
        let up: Vec<u8> = (0u8..32).collect();
        assert_eq!(crc32c(&up), 0x46DD_794E);
        let down: Vec<u8> = (0u8..32).rev().collect();
        assert_eq!(crc32c(&down), 0x113F_DB5C);
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
    }

    #[test]
    fn field_is_ignored_and_little_endian() {
        let mut pkt = [0u8; 16];
        pkt[12] = 7;
        write_crc32c(&mut pkt);
        let crc = stored_checksum(&pkt).unwrap();
        assert_eq!(packet_crc32c(&pkt), Some(crc));
        let mut zeroed = pkt;
        zeroed[8..12].fill(0);
        assert_eq!(crc32c(&zeroed), crc);
        assert_eq!(packet_crc32c(&[0u8; 11]), None);
    }
}
