//! The error causes of the base protocol, RFC 9260 §3.3.10.1–13.
//!
//! ```text
//! §3.3.10.1  Invalid Stream Identifier
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |        Cause Code = 1         |       Cause Length = 8        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |       Stream Identifier       |          (Reserved)           |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!
//! §3.3.10.2  Missing Mandatory Parameter
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |        Cause Code = 2         |   Cause Length = 8 + N * 2    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                   Number of missing params = N                |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |   Missing Param Type #1       |   Missing Param Type #2       |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |   Missing Param Type #N-1     |   Missing Param Type #N       |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!
//! §3.3.10.3  Stale Cookie Error
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |        Cause Code = 3         |       Cause Length = 8        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                 Measure of Staleness (usec.)                  |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!
//! §3.3.10.4  Out of Resource                 §3.3.10.7  Invalid Mandatory Parameter
//! §3.3.10.10 Cookie Received While Shutting Down
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Cause Code = 4, 7, 10     |       Cause Length = 4        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!
//! §3.3.10.5  Unresolvable Address
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |        Cause Code = 5         |      Cause Length = Variable  |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! /                    Unresolvable Address (a TLV)               /
//! \                                                               \
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!
//! §3.3.10.6  Unrecognized Chunk Type
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |        Cause Code = 6         |      Cause Length = Variable  |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! /            Unrecognized Chunk (header included)               /
//! \                                                               \
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!
//! §3.3.10.8  Unrecognized Parameters
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |        Cause Code = 8         |      Cause Length = Variable  |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! /        Unrecognized Parameters (one or more TLVs)             /
//! \                                                               \
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!
//! §3.3.10.9  No User Data
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |        Cause Code = 9         |       Cause Length = 8        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! /                           TSN value                           /
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!
//! §3.3.10.11 Restart of an Association with New Addresses
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |        Cause Code = 11        |      Cause Length = Variable  |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! /                New Address TLVs (one or more)                 /
//! \                                                               \
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!
//! §3.3.10.12 User-Initiated Abort
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |        Cause Code = 12        |      Cause Length = Variable  |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! /                    Upper Layer Abort Reason                   /
//! \                                                               \
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!
//! §3.3.10.13 Protocol Violation
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |        Cause Code = 13        |      Cause Length = Variable  |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! /                    Additional Information                     /
//! \                                                               \
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! The fixed-size causes (1, 3, 4, 7, 9, 10) reject any other length with
//! [`WireError::InvalidLength`]. Missing Mandatory Parameter must hold exactly the number of
//! types its count announces. The variable causes keep their payload verbatim: 5, 8 and 11 as
//! [`RawParams`](super::RawParams), 6 as [`UnrecognizedChunkType`], 12 and 13 as
//! [`Reason`](super::Reason).

use bytes::Bytes;
use core::fmt;

use super::expect_len;
use crate::error::{Result, WireError};
use crate::tlv::Reader;
use crate::Tsn;

/// Invalid Stream Identifier (code 1): data was sent to a stream that does not exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InvalidStreamId {
    /// The stream identifier the DATA or I-DATA chunk named.
    pub stream_id: u16,
}

impl InvalidStreamId {
    const WHAT: &'static str = "Invalid Stream Identifier cause";

    pub(super) fn parse(value: &Bytes) -> Result<Self> {
        expect_len(value, 4, Self::WHAT)?;
        let mut r = Reader::new(value, Self::WHAT);
        let stream_id = r.u16()?;
        let _reserved = r.u16()?; // RFC 9260: ignored on receipt
        Ok(Self { stream_id })
    }

    pub(super) fn value_len(&self) -> usize {
        4
    }

    pub(super) fn write_value(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.stream_id.to_be_bytes());
        out.extend_from_slice(&[0, 0]);
    }
}

impl fmt::Display for InvalidStreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InvalidStreamId({})", self.stream_id)
    }
}

/// Missing Mandatory Parameter (code 2): an INIT or INIT ACK lacked these parameter types.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct MissingMandatoryParameter {
    /// The types of the missing parameters. Emitting more than 32765 overflows the cause.
    pub param_types: Vec<u16>,
}

impl MissingMandatoryParameter {
    const WHAT: &'static str = "Missing Mandatory Parameter cause";

    pub(super) fn parse(value: &Bytes) -> Result<Self> {
        let mut r = Reader::new(value, Self::WHAT);
        let count = r.u32()?;
        let rest = r.remaining();
        if rest & 1 != 0 {
            return Err(WireError::InvalidLength {
                what: Self::WHAT,
                len: value.len(),
            });
        }
        // The count must match the types present: a count that lies either way is refused, not
        // trusted (it would otherwise size an allocation or hide trailing bytes).
        if u32::try_from(rest / 2).ok() != Some(count) {
            return Err(WireError::InvalidValue {
                what: "Missing Mandatory Parameter count",
                value: count.into(),
            });
        }
        let mut param_types = Vec::with_capacity(rest / 2);
        while r.remaining() > 0 {
            param_types.push(r.u16()?);
        }
        Ok(Self { param_types })
    }

    pub(super) fn value_len(&self) -> usize {
        4 + 2 * self.param_types.len()
    }

    pub(super) fn write_value(&self, out: &mut Vec<u8>) {
        let count = u32::try_from(self.param_types.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&count.to_be_bytes());
        for t in &self.param_types {
            out.extend_from_slice(&t.to_be_bytes());
        }
    }
}

impl fmt::Display for MissingMandatoryParameter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MissingMandatoryParameter([")?;
        for (i, t) in self.param_types.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{t:#06x}")?;
        }
        f.write_str("])")
    }
}

/// Stale Cookie Error (code 3): a COOKIE ECHO carried a cookie that had expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StaleCookie {
    /// How long ago the cookie expired, in microseconds (RFC 9260 §5.2.6 uses it to ask for a
    /// longer Cookie Preservative).
    pub staleness_us: u32,
}

impl StaleCookie {
    const WHAT: &'static str = "Stale Cookie Error cause";

    pub(super) fn parse(value: &Bytes) -> Result<Self> {
        expect_len(value, 4, Self::WHAT)?;
        Ok(Self {
            staleness_us: Reader::new(value, Self::WHAT).u32()?,
        })
    }

    pub(super) fn value_len(&self) -> usize {
        4
    }

    pub(super) fn write_value(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.staleness_us.to_be_bytes());
    }
}

impl fmt::Display for StaleCookie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StaleCookie(staleness={}us)", self.staleness_us)
    }
}

/// Unrecognized Chunk Type (code 6): the whole chunk the receiver did not understand, kept
/// verbatim (type, flags, length and value, as it arrived).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct UnrecognizedChunkType {
    /// The unrecognized chunk, header included.
    pub chunk: Bytes,
}

impl UnrecognizedChunkType {
    /// The unrecognized chunk's type (its first byte), if the copy is not empty.
    pub fn chunk_type(&self) -> Option<u8> {
        self.chunk.first().copied()
    }
}

impl fmt::Display for UnrecognizedChunkType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.chunk_type() {
            Some(t) => write!(
                f,
                "UnrecognizedChunkType(type={t:#04x}, {} bytes)",
                self.chunk.len()
            ),
            None => f.write_str("UnrecognizedChunkType(empty)"),
        }
    }
}

/// No User Data (code 9): a DATA or I-DATA chunk arrived without user data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NoUserData {
    /// The TSN of the empty chunk.
    pub tsn: Tsn,
}

impl NoUserData {
    const WHAT: &'static str = "No User Data cause";

    pub(super) fn parse(value: &Bytes) -> Result<Self> {
        expect_len(value, 4, Self::WHAT)?;
        Ok(Self {
            tsn: Tsn(Reader::new(value, Self::WHAT).u32()?),
        })
    }

    pub(super) fn value_len(&self) -> usize {
        4
    }

    pub(super) fn write_value(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.tsn.0.to_be_bytes());
    }
}

impl fmt::Display for NoUserData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NoUserData(tsn={})", self.tsn)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{code, parse_causes, ErrorCause, RawParams, Reason};
    use super::*;

    fn parse(code: u16, value: &'static [u8]) -> Result<ErrorCause> {
        ErrorCause::parse(code, &Bytes::from_static(value))
    }

    #[test]
    fn captured_abort_with_user_reason() {
        // ABORT value as sent by usrsctp-style stacks: one User-Initiated Abort cause, padded.
        let value = Bytes::from_static(&[
            0x00, 0x0c, 0x00, 0x0e, b'g', b'o', b'i', b'n', b'g', b' ', b'a', b'w', b'a', b'y',
            0x00, 0x00,
        ]);
        let causes = parse_causes(&value).unwrap();
        assert_eq!(causes, vec![ErrorCause::user_abort("going away")]);
        let ErrorCause::UserInitiatedAbort(reason) = &causes[0] else {
            panic!()
        };
        assert_eq!(reason.to_string_lossy(), "going away");
        // Zero-copy: the reason points into the packet buffer.
        assert_eq!(reason.0.as_ptr(), value[4..].as_ptr());
        assert_eq!(causes[0].to_string(), "UserAbort(\"going away\")");
    }

    #[test]
    fn captured_error_chunk_causes() {
        let value = Bytes::from_static(&[
            0x00, 0x01, 0x00, 0x08, 0x00, 0x07, 0xff,
            0xff, // Invalid Stream Id 7, reserved set
            0x00, 0x03, 0x00, 0x08, 0x00, 0x00, 0x04, 0xb0, // Stale Cookie, 1200 us
            0x00, 0x09, 0x00, 0x08, 0x12, 0x34, 0x56, 0x78, // No User Data, TSN 0x12345678
            0x00, 0x0a, 0x00, 0x04, // Cookie Received While Shutting Down
            0x00, 0x06, 0x00, 0x0c, 0x7f, 0x00, 0x00, 0x08, 0xaa, 0xbb, 0xcc, 0xdd,
        ]);
        let causes = parse_causes(&value).unwrap();
        assert_eq!(
            causes,
            vec![
                ErrorCause::invalid_stream_id(7),
                ErrorCause::stale_cookie(1200),
                ErrorCause::no_user_data(Tsn(0x1234_5678)),
                ErrorCause::CookieReceivedWhileShuttingDown,
                ErrorCause::unrecognized_chunk(Bytes::from_static(&[
                    0x7f, 0, 0, 8, 0xaa, 0xbb, 0xcc, 0xdd
                ])),
            ]
        );
        let ErrorCause::UnrecognizedChunkType(chunk) = &causes[4] else {
            panic!()
        };
        assert_eq!(chunk.chunk_type(), Some(0x7f));
        assert_eq!(
            causes[4].to_string(),
            "UnrecognizedChunkType(type=0x7f, 8 bytes)"
        );
        // The reserved field is not kept: it is written back as zero.
        let mut out = Vec::new();
        causes[0].write(&mut out);
        assert_eq!(out, [0, 1, 0, 8, 0, 7, 0, 0]);
    }

    #[test]
    fn missing_mandatory_parameter() {
        let cause = parse(code::MISSING_MANDATORY_PARAMETER, &[0, 0, 0, 2, 0, 7, 0, 9]).unwrap();
        assert_eq!(cause, ErrorCause::missing_mandatory_parameters([7, 9]));
        assert_eq!(cause.value_len(), 8);
        // No types at all is well-formed.
        assert_eq!(
            parse(code::MISSING_MANDATORY_PARAMETER, &[0, 0, 0, 0]).unwrap(),
            ErrorCause::missing_mandatory_parameters([])
        );
    }

    #[test]
    fn missing_mandatory_parameter_count_that_lies() {
        let count_err = |value| parse(code::MISSING_MANDATORY_PARAMETER, value).unwrap_err();
        // Announces 3, holds 2.
        assert_eq!(
            count_err(&[0, 0, 0, 3, 0, 7, 0, 9]),
            WireError::InvalidValue {
                what: "Missing Mandatory Parameter count",
                value: 3
            }
        );
        // Announces 1, holds 2.
        assert_eq!(
            count_err(&[0, 0, 0, 1, 0, 7, 0, 9]),
            WireError::InvalidValue {
                what: "Missing Mandatory Parameter count",
                value: 1
            }
        );
        // Announces 4 billion, holds none.
        assert_eq!(
            count_err(&[0xff, 0xff, 0xff, 0xff]),
            WireError::InvalidValue {
                what: "Missing Mandatory Parameter count",
                value: 0xffff_ffff
            }
        );
        // Half a type.
        assert_eq!(
            count_err(&[0, 0, 0, 1, 0, 7, 0]),
            WireError::InvalidLength {
                what: "Missing Mandatory Parameter cause",
                len: 7
            }
        );
        // No room for the count.
        assert!(matches!(
            count_err(&[0, 0, 1]),
            WireError::Truncated {
                need: 4,
                have: 3,
                ..
            }
        ));
    }

    #[test]
    fn fixed_sizes_are_enforced() {
        // Stale Cookie with 3 bytes.
        assert_eq!(
            parse(code::STALE_COOKIE, &[0, 0, 4]).unwrap_err(),
            WireError::InvalidLength {
                what: "Stale Cookie Error cause",
                len: 3
            }
        );
        for (code, what) in [
            (code::INVALID_STREAM_ID, "Invalid Stream Identifier cause"),
            (code::STALE_COOKIE, "Stale Cookie Error cause"),
            (code::NO_USER_DATA, "No User Data cause"),
        ] {
            for len in [0usize, 2, 3, 5, 8] {
                let value = Bytes::from(vec![0u8; len]);
                assert_eq!(
                    ErrorCause::parse(code, &value).unwrap_err(),
                    WireError::InvalidLength { what, len },
                );
            }
        }
    }

    #[test]
    fn truncated_in_a_sequence() {
        // Cause header says 8 bytes, only 6 remain.
        assert!(matches!(
            parse_causes(&Bytes::from_static(&[0, 3, 0, 8, 0, 0])),
            Err(WireError::LengthPastEnd {
                len: 8,
                available: 6,
                ..
            })
        ));
        // Cause header says 7 for a Stale Cookie: the value is 3 bytes.
        assert!(matches!(
            parse_causes(&Bytes::from_static(&[0, 3, 0, 7, 0, 0, 1])),
            Err(WireError::InvalidLength { len: 3, .. })
        ));
    }

    #[test]
    fn variable_causes_keep_their_bytes() {
        // Unresolvable Address holding a Host Name Address parameter (type 11).
        let tlv: &'static [u8] = &[0, 11, 0, 8, b'h', b'o', b's', 0];
        let cause = parse(code::UNRESOLVABLE_ADDRESS, tlv).unwrap();
        let ErrorCause::UnresolvableAddress(params) = &cause else {
            panic!()
        };
        let inner: Vec<_> = params.iter().collect::<Result<_>>().unwrap();
        assert_eq!(inner, vec![(11, Bytes::from_static(b"hos\0"))]);
        assert_eq!(
            cause.to_string(),
            "UnresolvableAddress(params=[0x000b], 8 bytes)"
        );

        // Restart with new addresses: two IPv4 Address parameters.
        let two: &'static [u8] = &[0, 5, 0, 8, 10, 0, 0, 1, 0, 5, 0, 8, 10, 0, 0, 2];
        let cause = parse(code::RESTART_WITH_NEW_ADDRESSES, two).unwrap();
        assert_eq!(
            cause,
            ErrorCause::RestartWithNewAddresses(RawParams(Bytes::from_static(two)))
        );
        let ErrorCause::RestartWithNewAddresses(params) = &cause else {
            panic!()
        };
        assert_eq!(params.iter().count(), 2);

        // Protocol Violation with non-UTF-8 diagnostics.
        let cause = parse(code::PROTOCOL_VIOLATION, &[b'b', b'a', b'd', 0xff]).unwrap();
        assert_eq!(
            cause,
            ErrorCause::ProtocolViolation(Reason(Bytes::from_static(b"bad\xff")))
        );
        assert_eq!(cause.to_string(), "ProtocolViolation(\"bad\u{fffd}\")");

        // An empty chunk copy has no type.
        let cause = parse(code::UNRECOGNIZED_CHUNK_TYPE, &[]).unwrap();
        let ErrorCause::UnrecognizedChunkType(chunk) = &cause else {
            panic!()
        };
        assert_eq!(chunk.chunk_type(), None);
        assert_eq!(cause.to_string(), "UnrecognizedChunkType(empty)");
    }
}
