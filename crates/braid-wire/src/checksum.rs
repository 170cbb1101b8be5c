//! The SCTP checksum: CRC32c (RFC 9260 §6.8, Appendix A) or zero (RFC 9653).
//!
//! The CRC is computed over the whole packet with the 4-byte checksum field taken as zero, and
//! stored so that the CRC's least significant byte comes first on the wire (RFC 9260
//! Appendix A; e.g. CRC 0xCAA002F8 is sent as `f8 02 a0 ca`). Hardware CRC32c instructions
//! (SSE 4.2 on x86_64, the CRC extension on aarch64) are used where the CPU has them.
//!
//! On x86_64 with SSE 4.2 and PCLMULQDQ the whole buffer is split into three equal lanes whose
//! CRC instructions overlap (the instruction has a latency of three cycles and a throughput of
//! one), and the lane CRCs are joined with one carry-less multiply each. The `crc32c` crate runs
//! three lanes only over 768-byte blocks and the remainder one instruction at a time, which for
//! the 1200–1500-byte packets SCTP carries leaves half the packet on the slow path; the lane
//! kernel here takes 52 ns instead of 90 ns for 1200 bytes and 63 ns instead of 124 ns for 1480
//! (`cargo bench -p braid-wire -- crc32c`). Elsewhere the crate does the work.

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
    crc32c_append(0, data)
}

/// CRC32c of the concatenation of the bytes `crc` was computed over and `data`.
#[inline]
pub fn crc32c_append(crc: u32, data: &[u8]) -> u32 {
    #[cfg(target_arch = "x86_64")]
    if lanes::available() {
        return lanes::append_checked(crc, data);
    }
    crc32c::crc32c_append(crc, data)
}

/// The SCTP checksum of a whole packet: CRC32c with the checksum field taken as zero.
/// Returns `None` if `packet` is shorter than the common header.
#[inline]
pub fn packet_crc32c(packet: &[u8]) -> Option<u32> {
    let mut head = [0u8; CHECKSUM_OFFSET + 4];
    head[..CHECKSUM_OFFSET].copy_from_slice(packet.get(..CHECKSUM_OFFSET)?);
    let rest = packet.get(CHECKSUM_OFFSET + 4..)?;
    Some(crc32c_append(crc32c(&head), rest))
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

/// The three-lane kernel (see the module notes).
#[cfg(target_arch = "x86_64")]
mod lanes {
    use std::arch::x86_64::{
        _mm_clmulepi64_si128, _mm_crc32_u64, _mm_crc32_u8, _mm_cvtsi128_si64, _mm_cvtsi64_si128,
    };

    /// The reflected CRC32c polynomial.
    const POLY: u32 = 0x82F6_3B78;
    /// Longest lane, in 8-byte words; longer inputs are taken three lanes of this at a time.
    const MAX_WORDS: usize = 512;

    /// `v · x^n mod P` in the reflected representation the CRC instruction uses.
    const fn times_x(mut v: u32, n: u32) -> u32 {
        let mut i = 0;
        while i < n {
            v = if v & 1 == 1 { (v >> 1) ^ POLY } else { v >> 1 };
            i += 1;
        }
        v
    }

    /// Entry `w` moves a lane CRC over `w * words_apart` words of data that follow it:
    /// `x^(64·w·words_apart − 33) mod P`, the factor a carry-less multiply by the CRC followed
    /// by one CRC instruction over the product turns into `crc · x^(64·w·words_apart) mod P`
    /// (the −33 is the x^32 that final instruction multiplies by and the one-bit offset of a
    /// reflected 32 × 32 → 63-bit product in a 64-bit word). Entry 0 is never used.
    // Evaluated at compile time, where an index out of range is a build error.
    #[allow(clippy::indexing_slicing)]
    const fn shift_table(words_apart: u32) -> [u64; MAX_WORDS + 1] {
        let mut table = [0u64; MAX_WORDS + 1];
        let step = 64 * words_apart;
        // x^0 is the top bit in the reflected representation.
        let mut factor = times_x(1 << 31, step - 33);
        let mut w = 1;
        while w <= MAX_WORDS {
            table[w] = factor as u64;
            factor = times_x(factor, step);
            w += 1;
        }
        table
    }

    /// Moves the first lane's CRC over the two lanes after it.
    static OVER_TWO: [u64; MAX_WORDS + 1] = shift_table(2);
    /// Moves the second lane's CRC over the lane after it.
    static OVER_ONE: [u64; MAX_WORDS + 1] = shift_table(1);

    /// Whether this CPU has both instructions (`std` caches the answer).
    #[inline]
    pub(super) fn available() -> bool {
        std::arch::is_x86_feature_detected!("sse4.2")
            && std::arch::is_x86_feature_detected!("pclmulqdq")
    }

    /// [`append`] for a caller that has checked [`available`].
    #[inline]
    pub(super) fn append_checked(crc: u32, data: &[u8]) -> u32 {
        // SAFETY: `append` is safe code compiled with SSE 4.2 and PCLMULQDQ enabled; the only
        // requirement for calling it is that the CPU has both, which the caller checked.
        #[allow(unsafe_code)]
        unsafe {
            append(crc, data)
        }
    }

    #[inline]
    fn word(bytes: &[u8]) -> u64 {
        let mut w = [0u8; 8];
        w.copy_from_slice(bytes);
        u64::from_le_bytes(w)
    }

    /// `crc · x^(64·words) mod P` through a carry-less multiply by the table's factor.
    #[target_feature(enable = "sse4.2,pclmulqdq")]
    fn shift(crc: u64, factor: u64) -> u64 {
        let product = _mm_clmulepi64_si128(
            _mm_cvtsi64_si128(crc as i64),
            _mm_cvtsi64_si128(factor as i64),
            0,
        );
        _mm_crc32_u64(0, _mm_cvtsi128_si64(product) as u64)
    }

    #[target_feature(enable = "sse4.2,pclmulqdq")]
    fn append(crc: u32, mut data: &[u8]) -> u32 {
        let mut state = u64::from(!crc);
        while data.len() >= 24 {
            let words = (data.len() / 24).min(MAX_WORDS);
            let (a, rest) = data.split_at(8 * words);
            let (b, rest) = rest.split_at(8 * words);
            let (c, rest) = rest.split_at(8 * words);
            let (mut sa, mut sb, mut sc) = (state, 0, 0);
            for ((a, b), c) in a
                .chunks_exact(8)
                .zip(b.chunks_exact(8))
                .zip(c.chunks_exact(8))
            {
                sa = _mm_crc32_u64(sa, word(a));
                sb = _mm_crc32_u64(sb, word(b));
                sc = _mm_crc32_u64(sc, word(c));
            }
            // The register after a‖b‖c is a's moved over b and c, plus b's moved over c,
            // plus c's (the CRC is linear and the lanes after the first start from zero).
            // `words` is in 1..=MAX_WORDS, so both lookups hit.
            let over_two = OVER_TWO.get(words).copied().unwrap_or_default();
            let over_one = OVER_ONE.get(words).copied().unwrap_or_default();
            state = shift(sa, over_two) ^ shift(sb, over_one) ^ sc;
            data = rest;
        }
        let mut tail = data.chunks_exact(8);
        for w in &mut tail {
            state = _mm_crc32_u64(state, word(w));
        }
        let mut state = state as u32;
        for &b in tail.remainder() {
            state = _mm_crc32_u8(state, b);
        }
        !state
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

    fn noise(n: usize) -> Vec<u8> {
        (0..n as u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect()
    }

    // Every length up to a few packets, at every alignment of the first word, matches the
    // crate's implementation: the lane split, the joins and the byte tail are all exercised.
    #[test]
    fn lanes_match_the_crate_for_every_packet_length() {
        let data = noise(3100);
        for start in 0..8 {
            for end in start..data.len() {
                let slice = &data[start..end];
                assert_eq!(crc32c(slice), crc32c::crc32c(slice), "bytes {start}..{end}");
            }
        }
    }

    // Lengths around the longest lane (three lanes of 4096 bytes per round) and a maximal
    // packet, in one piece and appended in two.
    #[test]
    fn lanes_match_the_crate_for_long_inputs() {
        let data = noise(70_000);
        for n in [
            12_287, 12_288, 12_289, 12_312, 24_576, 24_600, 36_871, 65_535, 70_000,
        ] {
            let whole = crc32c::crc32c(&data[..n]);
            assert_eq!(crc32c(&data[..n]), whole, "{n} bytes");
            let (a, b) = data[..n].split_at(n / 3 + 5);
            assert_eq!(crc32c_append(crc32c(a), b), whole, "{n} bytes in two");
        }
    }
}
