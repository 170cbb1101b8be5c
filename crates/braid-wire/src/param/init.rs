//! The other parameters of INIT, INIT ACK and HEARTBEAT: those of RFC 9260 itself, and the
//! capability parameters the extensions add to the handshake.
//!
//! Heartbeat Info (type 1, RFC 9260 §3.3.5), State Cookie (type 7, §3.3.3.1), Padding
//! (type 0x8005, RFC 4820 §4) and Random (type 0x8002, see `auth.rs`) share one shape: an
//! opaque value of any length, kept as a zero-copy slice.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |   Type = 1 / 7 / 0x8005       |            Length             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! /      Sender-Specific Heartbeat Info / Cookie / Padding Data   /
//! \                                                               \
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! Unrecognized Parameter (type 8, RFC 9260 §3.3.3.1): the unrecognized parameter copied
//! whole, header included, into the value.
//!
//! ```text
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |           Type = 8            |            Length             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! /                    Unrecognized Parameter                     /
//! \                                                               \
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! Cookie Preservative (type 9, RFC 9260 §3.3.2.1), Adaptation Layer Indication (type 0xC006,
//! RFC 5061 §4.2.6) and Zero Checksum Acceptable (type 0x8001, RFC 9653 §4) are exactly one
//! 32-bit field (length 8): the suggested cookie life-span increment in milliseconds, the
//! Adaptation Code Point, and the Error Detection Method Identifier (EDMID).
//!
//! ```text
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Type = 9 / 0xC006 / 0x8001   |          Length = 8           |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |   Life-Span Increment (ms) / Adaptation Code Point / EDMID    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! ECN Capable (type 0x8000, RFC 9260 Appendix A) and Forward-TSN Supported (type 0xC000,
//! RFC 3758 §3.1) have no value (length 4).
//!
//! ```text
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |    Type = 0x8000 / 0xC000     |          Length = 4           |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! Supported Extensions (type 0x8008, RFC 5061 §4.2.7): one byte per extension chunk type,
//! length 4 + N (padding after the list, outside the length).
//!
//! ```text
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Parameter Type = 0x8008   |      Parameter Length         |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | CHUNK TYPE 1  |  CHUNK TYPE 2 |  CHUNK TYPE 3 |  CHUNK TYPE 4 |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                             ....                              |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use bytes::Bytes;
use core::fmt;

use crate::tlv::Reader;

/// `UnrecognizedParameter(type=0x4007, 7 bytes)`: names the reported type when the copied TLV
/// is long enough to hold one.
pub(super) fn fmt_unrecognized(f: &mut fmt::Formatter<'_>, tlv: &Bytes) -> fmt::Result {
    match Reader::new(tlv, "Unrecognized Parameter").u16() {
        Ok(t) => write!(
            f,
            "UnrecognizedParameter(type={t:#06x}, {} bytes)",
            tlv.len()
        ),
        Err(_) => write!(f, "UnrecognizedParameter({} bytes)", tlv.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{parse_params, Parameter};
    use crate::error::WireError;
    use bytes::Bytes;

    fn one(bytes: &'static [u8]) -> Parameter {
        let mut v = parse_params(&Bytes::from_static(bytes)).unwrap();
        assert_eq!(v.len(), 1);
        v.remove(0)
    }

    #[test]
    fn wire_bytes() {
        assert_eq!(one(&[0x80, 0x00, 0x00, 0x04]), Parameter::EcnCapable);
        assert_eq!(
            one(&[0xc0, 0x00, 0x00, 0x04]),
            Parameter::ForwardTsnSupported
        );
        assert_eq!(
            one(&[0x00, 0x09, 0x00, 0x08, 0x00, 0x00, 0x03, 0xe8]),
            Parameter::CookiePreservative(1000)
        );
        assert_eq!(
            one(&[0x80, 0x01, 0x00, 0x08, 0x00, 0x00, 0x00, 0x01]),
            Parameter::ZeroChecksumAcceptable(1)
        );
        assert_eq!(
            one(&[0xc0, 0x06, 0x00, 0x08, 0x12, 0x34, 0x56, 0x78]),
            Parameter::AdaptationLayerIndication(0x1234_5678)
        );
        // Supported Extensions as WebRTC stacks send it: RE-CONFIG, FORWARD-TSN, I-DATA, padded.
        let p = one(&[0x80, 0x08, 0x00, 0x07, 0x82, 0xc0, 0x40, 0x00]);
        assert_eq!(p, Parameter::SupportedExtensions(vec![0x82, 0xc0, 0x40]));
        assert_eq!(
            p.to_string(),
            "SupportedExtensions[RE-CONFIG, FORWARD-TSN, I-DATA]"
        );
        assert_eq!(
            one(&[0x00, 0x01, 0x00, 0x06, 0xaa, 0xbb]),
            Parameter::HeartbeatInfo(Bytes::from_static(&[0xaa, 0xbb]))
        );
        assert_eq!(
            one(&[0x80, 0x05, 0x00, 0x04]),
            Parameter::Padding(Bytes::new())
        );
    }

    #[test]
    fn fixed_sizes_are_exact() {
        let cases: [(u16, &str); 5] = [
            (0x0009, "Cookie Preservative parameter"),
            (0x8001, "Zero Checksum Acceptable parameter"),
            (0xC005, "Success Indication parameter"),
            (0xC006, "Adaptation Layer Indication parameter"),
            (0x000F, "SSN/TSN Reset Request parameter"),
        ];
        for (t, what) in cases {
            for len in [0, 3, 5, 8] {
                let err = Parameter::parse(t, &Bytes::from(vec![0; len])).unwrap_err();
                assert_eq!(err, WireError::InvalidLength { what, len }, "type {t:#x}");
            }
        }
        for t in [0x8000, 0xC000] {
            assert!(matches!(
                Parameter::parse(t, &Bytes::from_static(&[0])),
                Err(WireError::InvalidLength { len: 1, .. })
            ));
        }
    }

    #[test]
    fn unrecognized_parameter_display() {
        let p = Parameter::UnrecognizedParameter(Bytes::from_static(&[0xc0, 0x09, 0, 4]));
        assert_eq!(p.to_string(), "UnrecognizedParameter(type=0xc009, 4 bytes)");
        let p = Parameter::UnrecognizedParameter(Bytes::from_static(&[0xc0]));
        assert_eq!(p.to_string(), "UnrecognizedParameter(1 bytes)");
    }
}
