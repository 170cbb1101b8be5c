//! The one place where lengths, padding and bounds are checked.
//!
//! Every structure of SCTP is either fixed fields or a Type-Length-Value sequence with a 4-byte
//! header whose length sits at bytes 2..4 (chunks: type, flags, length; parameters and error
//! causes: type, length). [`Reader`] reads fixed fields with bounds checks; [`TlvIter`] walks a
//! TLV sequence and hands out each value as a zero-copy [`Bytes`] slice. Nothing here can panic
//! on any input.

use bytes::Bytes;

use crate::error::{Result, WireError};

/// Size of every TLV header: chunk (type, flags, length) or parameter/cause (type, length).
pub(crate) const TLV_HEADER_LEN: usize = 4;

/// Rounds `len` up to the next multiple of 4 (RFC 9260 §3.2 chunk and parameter padding).
#[inline]
pub const fn padded_len(len: usize) -> usize {
    (len + 3) & !3
}

/// Appends the zero bytes that pad a TLV of `len` bytes to a multiple of 4.
#[inline]
pub(crate) fn write_padding(out: &mut Vec<u8>, len: usize) {
    const ZEROS: [u8; 3] = [0; 3];
    let pad = padded_len(len) - len;
    out.extend_from_slice(ZEROS.get(..pad).unwrap_or(&[]));
}

/// Appends a 4-byte TLV header (type as two bytes, then a length).
#[inline]
pub(crate) fn write_tlv_header(out: &mut Vec<u8>, head: [u8; 2], len: u16) {
    let [l0, l1] = len.to_be_bytes();
    out.extend_from_slice(&[head[0], head[1], l0, l1]);
}

/// Converts a TLV's total length to its 16-bit length field.
#[inline]
pub(crate) fn tlv_len(what: &'static str, value_len: usize) -> Result<u16> {
    u16::try_from(TLV_HEADER_LEN + value_len).map_err(|_| WireError::TooLong {
        what,
        len: TLV_HEADER_LEN + value_len,
    })
}

/// A TLV element of a sequence (a parameter or an error cause).
pub(crate) trait TlvElement {
    /// Header plus value, without padding.
    fn encoded_len(&self) -> usize;
    /// Appends header and value, without padding.
    fn write(&self, out: &mut Vec<u8>);
}

/// Encoded length of a TLV sequence: every element padded except the last (RFC 9260 §3.2:
/// the chunk length excludes the last parameter's padding, which the chunk's own supplies).
pub(crate) fn seq_len<T: TlvElement>(items: &[T]) -> usize {
    let padded: usize = items.iter().map(|i| padded_len(i.encoded_len())).sum();
    let last_pad = items
        .last()
        .map_or(0, |l| padded_len(l.encoded_len()) - l.encoded_len());
    padded - last_pad
}

/// Appends a TLV sequence: every element padded except the last.
pub(crate) fn write_seq<T: TlvElement>(items: &[T], out: &mut Vec<u8>) {
    let n = items.len();
    for (i, item) in items.iter().enumerate() {
        item.write(out);
        if i + 1 != n {
            write_padding(out, item.encoded_len());
        }
    }
}

/// Bounds-checked big-endian reader over a [`Bytes`] value.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    buf: &'a Bytes,
    pos: usize,
    what: &'static str,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `buf`; `what` names the structure in errors.
    pub(crate) fn new(buf: &'a Bytes, what: &'static str) -> Self {
        Self { buf, pos: 0, what }
    }

    /// Bytes not yet read.
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    fn need(&self, n: usize) -> Result<()> {
        if self.remaining() < n {
            Err(WireError::Truncated {
                what: self.what,
                need: self.pos + n,
                have: self.buf.len(),
            })
        } else {
            Ok(())
        }
    }

    /// Reads `N` bytes as an array.
    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        self.need(N)?;
        let mut out = [0u8; N];
        if let Some(src) = self.buf.get(self.pos..self.pos + N) {
            out.copy_from_slice(src);
        }
        self.pos += N;
        Ok(out)
    }

    /// Reads a big-endian u16.
    pub(crate) fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    /// Reads a big-endian u32.
    pub(crate) fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    /// Takes everything left as a zero-copy slice.
    pub(crate) fn rest(&mut self) -> Bytes {
        let start = self.pos.min(self.buf.len());
        self.pos = self.buf.len();
        self.buf.slice(start..)
    }

    /// Fails with [`WireError::InvalidLength`] unless everything has been read.
    pub(crate) fn finish(&self) -> Result<()> {
        if self.remaining() == 0 {
            Ok(())
        } else {
            Err(WireError::InvalidLength {
                what: self.what,
                len: self.buf.len(),
            })
        }
    }
}

/// How a TLV sequence treats missing padding after its last element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Padding {
    /// Every element, the last included, must be followed by its padding (chunks in a packet:
    /// RFC 9260 §3.2 "the sender MUST pad the chunk").
    Required,
    /// The last element's padding may be absent (parameters in a chunk: RFC 9260 §3.2 says the
    /// chunk length excludes the last parameter's padding, and a robust receiver accepts both).
    LastOptional,
}

/// One TLV as found on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawTlv {
    /// The first two header bytes: chunk type and flags, or a 16-bit parameter/cause type.
    pub(crate) head: [u8; 2],
    /// The value: everything after the 4-byte header up to the length field, without padding.
    pub(crate) value: Bytes,
}

/// Iterator over a TLV sequence. After the first error it yields nothing more.
#[derive(Debug, Clone)]
pub(crate) struct TlvIter {
    buf: Bytes,
    pos: usize,
    what: &'static str,
    padding: Padding,
    failed: bool,
}

impl TlvIter {
    /// Walks `buf` as a TLV sequence; `what` names the elements in errors.
    pub(crate) fn new(buf: Bytes, what: &'static str, padding: Padding) -> Self {
        Self {
            buf,
            pos: 0,
            what,
            padding,
            failed: false,
        }
    }

    fn next_tlv(&mut self) -> Result<RawTlv> {
        let at = next_tlv_at(&self.buf, self.pos, self.what, self.padding)?;
        let value = self.buf.slice(at.value.clone());
        self.pos = at.next;
        Ok(RawTlv {
            head: at.head,
            value,
        })
    }
}

/// Where one TLV sits in its sequence (see [`next_tlv_at`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TlvAt {
    /// The first two header bytes.
    pub(crate) head: [u8; 2],
    /// The value's bytes in the sequence, without padding.
    pub(crate) value: core::ops::Range<usize>,
    /// Where the next TLV starts (after the padding, or at the end).
    pub(crate) next: usize,
}

/// Frames the TLV starting at `pos` of `buf`: the one place the length, minimum length and
/// padding rules are checked. Works on plain bytes, so walking a sequence only to validate it
/// touches no reference count.
pub(crate) fn next_tlv_at(
    buf: &[u8],
    pos: usize,
    what: &'static str,
    padding: Padding,
) -> Result<TlvAt> {
    let available = buf.len().saturating_sub(pos);
    let header: [u8; TLV_HEADER_LEN] = buf
        .get(pos..pos + TLV_HEADER_LEN)
        .and_then(|h| h.try_into().ok())
        .ok_or(WireError::Truncated {
            what,
            need: TLV_HEADER_LEN,
            have: available,
        })?;
    let len = usize::from(u16::from_be_bytes([header[2], header[3]]));
    if len < TLV_HEADER_LEN {
        return Err(WireError::LengthTooShort {
            what,
            len,
            min: TLV_HEADER_LEN,
        });
    }
    if len > available {
        return Err(WireError::LengthPastEnd {
            what,
            len,
            available,
        });
    }
    let padded = padded_len(len);
    // Padding that would run past the end is only allowed for the last element, and only
    // where the sequence permits it.
    if padded > available && padding == Padding::Required {
        return Err(WireError::BadPadding {
            what,
            trailing: available,
        });
    }
    Ok(TlvAt {
        head: [header[0], header[1]],
        value: pos + TLV_HEADER_LEN..pos + len,
        next: pos + padded.min(available),
    })
}

impl Iterator for TlvIter {
    type Item = Result<RawTlv>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.buf.len() {
            return None;
        }
        let item = self.next_tlv();
        self.failed = item.is_err();
        Some(item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tlvs(bytes: &'static [u8], padding: Padding) -> Vec<Result<RawTlv>> {
        TlvIter::new(Bytes::from_static(bytes), "test", padding).collect()
    }

    #[test]
    fn walks_padded_sequence() {
        let out = tlvs(&[0, 1, 0, 5, 0xaa, 0, 0, 0, 0, 2, 0, 4], Padding::Required);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].as_ref().unwrap().value.as_ref(), &[0xaa]);
        assert_eq!(out[1].as_ref().unwrap().head, [0, 2]);
        assert!(out[1].as_ref().unwrap().value.is_empty());
    }

    #[test]
    fn rejects_lengths_that_lie() {
        assert!(matches!(
            tlvs(&[0, 1, 0, 3], Padding::Required)[0],
            Err(WireError::LengthTooShort { len: 3, .. })
        ));
        assert!(matches!(
            tlvs(&[0, 1, 0xff, 0xff, 0], Padding::Required)[0],
            Err(WireError::LengthPastEnd { len: 65535, .. })
        ));
        assert!(matches!(
            tlvs(&[0, 1, 0], Padding::Required)[0],
            Err(WireError::Truncated { .. })
        ));
    }

    #[test]
    fn last_padding_policy() {
        let bytes: &'static [u8] = &[0, 1, 0, 5, 0xaa];
        assert!(matches!(
            tlvs(bytes, Padding::Required)[0],
            Err(WireError::BadPadding { .. })
        ));
        let lenient = tlvs(bytes, Padding::LastOptional);
        assert_eq!(lenient.len(), 1);
        assert!(lenient[0].is_ok());
    }

    #[test]
    fn stops_after_first_error() {
        let out = tlvs(&[0, 1, 0, 0, 0, 1, 0, 4], Padding::Required);
        assert_eq!(out.len(), 1);
    }
}
