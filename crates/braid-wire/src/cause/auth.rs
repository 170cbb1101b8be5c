//! The error cause of SCTP authentication, RFC 4895 §4.1.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Cause Code = 0x0105       |       Cause Length = 6        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |        HMAC Identifier        |            Padding            |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! The Cause Length is 6: the two bytes after the HMAC Identifier are the ordinary TLV padding,
//! outside the length, so the value is exactly 2 bytes and any other length is refused.

use bytes::Bytes;
use core::fmt;

use super::expect_len;
use crate::error::Result;
use crate::tlv::Reader;

/// Unsupported HMAC Identifier (code 0x0105): an AUTH chunk used an HMAC algorithm the receiver
/// does not support.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UnsupportedHmacId {
    /// The HMAC Identifier of the AUTH chunk (RFC 4895 §3.3: 1 = SHA-1, 3 = SHA-256).
    pub hmac_id: u16,
}

impl UnsupportedHmacId {
    const WHAT: &'static str = "Unsupported HMAC Identifier cause";

    pub(super) fn parse(value: &Bytes) -> Result<Self> {
        expect_len(value, 2, Self::WHAT)?;
        Ok(Self {
            hmac_id: Reader::new(value, Self::WHAT).u16()?,
        })
    }

    pub(super) fn value_len(&self) -> usize {
        2
    }

    pub(super) fn write_value(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.hmac_id.to_be_bytes());
    }
}

impl fmt::Display for UnsupportedHmacId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UnsupportedHmacId({})", self.hmac_id)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{causes_len, code, parse_causes, write_causes, ErrorCause};
    use super::*;
    use crate::error::WireError;

    #[test]
    fn captured_error_chunk() {
        // ERROR value: Unsupported HMAC Identifier for id 2, with its 2 bytes of padding, then
        // a Protocol Violation.
        let value = Bytes::from_static(&[
            0x01, 0x05, 0x00, 0x06, 0x00, 0x02, 0x00, 0x00, //
            0x00, 0x0d, 0x00, 0x05, b'!',
        ]);
        let causes = parse_causes(&value).unwrap();
        assert_eq!(
            causes,
            vec![
                ErrorCause::unsupported_hmac_id(2),
                ErrorCause::protocol_violation("!")
            ]
        );
        assert_eq!(causes[0].encoded_len(), 6);
        let mut out = Vec::new();
        write_causes(&causes, &mut out);
        assert_eq!(out, value.as_ref());
        assert_eq!(causes_len(&causes), value.len());
    }

    #[test]
    fn padding_inside_the_length_is_refused() {
        for len in [0usize, 1, 3, 4] {
            assert_eq!(
                ErrorCause::parse(code::UNSUPPORTED_HMAC_ID, &Bytes::from(vec![0u8; len])),
                Err(WireError::InvalidLength {
                    what: "Unsupported HMAC Identifier cause",
                    len
                })
            );
        }
    }
}
