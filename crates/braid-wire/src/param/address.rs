//! Address parameters of INIT and INIT ACK (RFC 9260 §3.3.2.1), also nested in the ASCONF
//! address parameters (RFC 5061 §4.2).
//!
//! IPv4 Address (type 5), exactly 4 bytes of address:
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |           Type = 5            |          Length = 8           |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                         IPv4 Address                          |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! IPv6 Address (type 6), exactly 16 bytes of address:
//!
//! ```text
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |           Type = 6            |          Length = 20          |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                                                               |
//! |                         IPv6 Address                          |
//! |                                                               |
//! |                                                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! Host Name Address (type 11), **deprecated** by RFC 9260: a receiver aborts the association
//! with an "Unresolvable Address" error cause. Parsed only so the core can do that.
//!
//! ```text
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |           Type = 11           |            Length             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! /                           Host Name                           /
//! \                                                               \
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! Supported Address Types (type 12), a list of 16-bit address parameter types; an odd count
//! leaves two bytes of padding after the list, outside the length:
//!
//! ```text
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |           Type = 12           |            Length             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |        Address Type #1        |        Address Type #2        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                            ......                             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use bytes::Bytes;
use core::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{exact, param_type};
use crate::error::{Result, WireError};
use crate::tlv::{self, Padding, TlvIter};

/// The value of an IPv4 Address parameter.
pub(super) fn parse_ipv4(value: &Bytes) -> Result<Ipv4Addr> {
    exact::<4>(value, "IPv4 Address parameter").map(Ipv4Addr::from)
}

/// The value of an IPv6 Address parameter.
pub(super) fn parse_ipv6(value: &Bytes) -> Result<Ipv6Addr> {
    exact::<16>(value, "IPv6 Address parameter").map(Ipv6Addr::from)
}

/// Parses `buf` as exactly one IPv4 or IPv6 Address parameter TLV (the ASCONF nesting):
/// a length that lies, a type other than 5 or 6, or bytes after it are errors.
pub(super) fn parse_nested_address(buf: Bytes, what: &'static str) -> Result<IpAddr> {
    let total = buf.len();
    let mut tlvs = TlvIter::new(buf, what, Padding::LastOptional);
    let tlv = tlvs.next().ok_or(WireError::Truncated {
        what,
        need: tlv::TLV_HEADER_LEN,
        have: 0,
    })??;
    if tlvs.next().is_some() {
        // Something after the address TLV (an address TLV never needs padding).
        return Err(WireError::InvalidLength { what, len: total });
    }
    match u16::from_be_bytes(tlv.head) {
        param_type::IPV4_ADDRESS => parse_ipv4(&tlv.value).map(IpAddr::V4),
        param_type::IPV6_ADDRESS => parse_ipv6(&tlv.value).map(IpAddr::V6),
        other => Err(WireError::InvalidValue {
            what,
            value: u64::from(other),
        }),
    }
}

/// Encoded length of an address parameter TLV (header included).
pub(super) fn nested_address_len(address: &IpAddr) -> usize {
    tlv::TLV_HEADER_LEN
        + match address {
            IpAddr::V4(_) => 4,
            IpAddr::V6(_) => 16,
        }
}

/// Appends an IPv4 or IPv6 Address parameter TLV (8 or 20 bytes, never padded).
pub(super) fn write_nested_address(out: &mut Vec<u8>, address: &IpAddr) {
    match address {
        IpAddr::V4(a) => {
            tlv::write_tlv_header(out, param_type::IPV4_ADDRESS.to_be_bytes(), 8);
            out.extend_from_slice(&a.octets());
        }
        IpAddr::V6(a) => {
            tlv::write_tlv_header(out, param_type::IPV6_ADDRESS.to_be_bytes(), 20);
            out.extend_from_slice(&a.octets());
        }
    }
}

/// Trace names of the address types Supported Address Types lists.
pub(super) fn address_type_name(t: u16) -> Option<&'static str> {
    match t {
        param_type::IPV4_ADDRESS => Some("IPv4"),
        param_type::IPV6_ADDRESS => Some("IPv6"),
        param_type::HOST_NAME_ADDRESS => Some("HostName"),
        _ => None,
    }
}

/// `HostNameAddress("example.com", deprecated)`: the name as sent, trailing NULs dropped,
/// escaped so that peer-chosen bytes cannot forge trace lines.
pub(super) fn fmt_host_name(f: &mut fmt::Formatter<'_>, name: &Bytes) -> fmt::Result {
    let mut end = name.len();
    while end > 0 && name.get(end - 1) == Some(&0) {
        end -= 1;
    }
    let shown = name.get(..end).unwrap_or(&[]);
    write!(
        f,
        "HostNameAddress(\"{}\", deprecated)",
        shown.escape_ascii()
    )
}

#[cfg(test)]
mod tests {
    use super::super::{parse_params, Parameter};
    use super::*;

    fn parse(t: u16, v: &'static [u8]) -> Result<Parameter> {
        Parameter::parse(t, &Bytes::from_static(v))
    }

    #[test]
    fn wire_bytes() {
        let p = parse_params(&Bytes::from_static(&[0, 5, 0, 8, 192, 0, 2, 1])).unwrap();
        assert_eq!(p, vec![Parameter::Ipv4Address(Ipv4Addr::new(192, 0, 2, 1))]);
        let mut v6 = vec![0, 6, 0, 20];
        v6.extend_from_slice(&"2001:db8::7".parse::<Ipv6Addr>().unwrap().octets());
        let p = parse_params(&Bytes::from(v6)).unwrap();
        assert_eq!(
            p,
            vec![Parameter::Ipv6Address("2001:db8::7".parse().unwrap())]
        );
        // Supported Address Types with one entry: the length excludes the two padding bytes.
        let p = parse_params(&Bytes::from_static(&[0, 12, 0, 6, 0, 5, 0, 0])).unwrap();
        assert_eq!(p, vec![Parameter::SupportedAddressTypes(vec![5])]);
    }

    #[test]
    fn address_lengths_are_exact() {
        for v in [&[1u8, 2, 3][..], &[1, 2, 3, 4, 5], &[]] {
            let err = Parameter::parse(5, &Bytes::copy_from_slice(v)).unwrap_err();
            assert_eq!(
                err,
                WireError::InvalidLength {
                    what: "IPv4 Address parameter",
                    len: v.len()
                }
            );
        }
        assert!(matches!(
            parse(6, &[0; 15]),
            Err(WireError::InvalidLength { len: 15, .. })
        ));
        assert!(matches!(
            parse(6, &[0; 17]),
            Err(WireError::InvalidLength { len: 17, .. })
        ));
    }

    #[test]
    fn odd_address_type_list() {
        assert_eq!(
            parse(12, &[0, 5, 0]).unwrap_err(),
            WireError::InvalidLength {
                what: "Supported Address Types parameter",
                len: 3
            }
        );
        assert_eq!(
            parse(12, &[]).unwrap(),
            Parameter::SupportedAddressTypes(vec![])
        );
    }

    #[test]
    fn host_name_is_parsed_and_flagged() {
        let p = parse(11, b"example.com\0").unwrap();
        assert!(p.is_deprecated());
        assert_eq!(
            p.to_string(),
            "HostNameAddress(\"example.com\", deprecated)"
        );
        let p = parse(11, b"a\nb\0\0\0").unwrap();
        assert_eq!(p.to_string(), "HostNameAddress(\"a\\nb\", deprecated)");
        assert_eq!(
            parse(11, b"").unwrap().to_string(),
            "HostNameAddress(\"\", deprecated)"
        );
    }

    #[test]
    fn nested_address() {
        let w = "nested";
        let ok = parse_nested_address(Bytes::from_static(&[0, 5, 0, 8, 10, 0, 0, 1]), w);
        assert_eq!(ok, Ok(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))));
        // Length shorter than the header.
        let e = parse_nested_address(Bytes::from_static(&[0, 5, 0, 2, 10, 0, 0, 1]), w);
        assert!(matches!(e, Err(WireError::LengthTooShort { len: 2, .. })));
        // Length past the end.
        let e = parse_nested_address(Bytes::from_static(&[0, 5, 0, 12, 10, 0, 0, 1]), w);
        assert!(matches!(
            e,
            Err(WireError::LengthPastEnd {
                len: 12,
                available: 8,
                ..
            })
        ));
        // Length that covers only part of the address.
        let e = parse_nested_address(Bytes::from_static(&[0, 5, 0, 7, 10, 0, 0]), w);
        assert!(matches!(e, Err(WireError::InvalidLength { len: 3, .. })));
        // Not an address type.
        let e = parse_nested_address(Bytes::from_static(&[0, 11, 0, 8, 10, 0, 0, 1]), w);
        assert_eq!(e, Err(WireError::InvalidValue { what: w, value: 11 }));
        // Missing, truncated, or followed by more bytes.
        assert!(matches!(
            parse_nested_address(Bytes::new(), w),
            Err(WireError::Truncated { .. })
        ));
        assert!(matches!(
            parse_nested_address(Bytes::from_static(&[0, 5]), w),
            Err(WireError::Truncated { .. })
        ));
        let e = parse_nested_address(
            Bytes::from_static(&[0, 5, 0, 8, 10, 0, 0, 1, 0, 0, 0, 0]),
            w,
        );
        assert!(matches!(e, Err(WireError::InvalidLength { len: 12, .. })));
    }
}
