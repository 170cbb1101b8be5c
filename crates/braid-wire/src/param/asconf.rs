//! The parameters of ASCONF and ASCONF-ACK (RFC 5061 §4.2).
//!
//! Add IP Address (type 0xC001, §4.2.1), Delete IP Address (type 0xC002, §4.2.2) and Set
//! Primary Address (type 0xC004, §4.2.4) share one shape: an ASCONF-Request Correlation ID,
//! then exactly one IPv4 or IPv6 Address parameter (RFC 9260 §3.3.2.1) as a nested TLV.
//! Set Primary Address may also appear in INIT and INIT ACK.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Type = 0xC001/0xC002/0xC004   |        Length = Variable      |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |               ASCONF-Request Correlation ID                   |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                       Address Parameter                       |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! Error Cause Indication (type 0xC003, §4.2.3), in ASCONF-ACK: the correlation ID of the
//! failed request, then the error causes (RFC 9260 §3.3.10 TLVs).
//!
//! ```text
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |         Type = 0xC003         |      Length = Variable        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                ASCONF-Response Correlation ID                 |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                        Error Cause(s)                         |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! Success Indication (type 0xC005, §4.2.5), in ASCONF-ACK: only the correlation ID (length 8).
//!
//! ```text
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |         Type = 0xC005         |          Length = 8           |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                ASCONF-Response Correlation ID                 |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! Adaptation Layer Indication (type 0xC006, §4.2.6) and Supported Extensions (type 0x8008,
//! §4.2.7) belong to the handshake and live in `init.rs`.

use bytes::Bytes;
use core::fmt;
use std::net::IpAddr;

use super::address;
use crate::error::Result;
use crate::tlv::Reader;

/// The value of Add IP Address, Delete IP Address and Set Primary Address (RFC 5061 §4.2.1,
/// §4.2.2, §4.2.4).
///
/// On the wire the address is a nested IPv4 (type 5) or IPv6 (type 6) Address parameter;
/// any other nested type, or a nested length that lies, fails to parse. A wildcard address
/// (`0.0.0.0` / `::`) asks the peer to use the packet's source address (RFC 5061 §4.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AddressRequest {
    /// ASCONF-Request Correlation ID: chosen by the sender, copied unchanged into the reply.
    pub correlation_id: u32,
    /// The address to add, delete or make primary.
    pub address: IpAddr,
}

impl AddressRequest {
    pub(super) fn parse(value: &Bytes, what: &'static str) -> Result<Self> {
        let mut r = Reader::new(value, what);
        let correlation_id = r.u32()?;
        let address = address::parse_nested_address(r.rest(), what)?;
        Ok(Self {
            correlation_id,
            address,
        })
    }

    pub(super) fn value_len(&self) -> usize {
        4 + address::nested_address_len(&self.address)
    }

    pub(super) fn write_value(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.correlation_id.to_be_bytes());
        address::write_nested_address(out, &self.address);
    }
}

impl fmt::Display for AddressRequest {
    /// `(corr=7, 192.0.2.1)`: the variant name goes in front.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "(corr={}, {})", self.correlation_id, self.address)
    }
}

/// The value of Error Cause Indication (RFC 5061 §4.2.3): which ASCONF request failed, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorCauseIndication {
    /// ASCONF-Response Correlation ID: the correlation ID of the failed request.
    pub correlation_id: u32,
    /// The error causes, as raw bytes: a TLV sequence (last padding optional) that
    /// [`crate::cause::parse_causes`] decodes. Kept raw so that a malformed cause does not
    /// hide which request failed.
    pub causes: Bytes,
}

impl ErrorCauseIndication {
    pub(super) fn parse(value: &Bytes) -> Result<Self> {
        let mut r = Reader::new(value, "Error Cause Indication parameter");
        let correlation_id = r.u32()?;
        Ok(Self {
            correlation_id,
            causes: r.rest(),
        })
    }

    pub(super) fn value_len(&self) -> usize {
        4 + self.causes.len()
    }

    pub(super) fn write_value(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.correlation_id.to_be_bytes());
        out.extend_from_slice(&self.causes);
    }
}

impl fmt::Display for ErrorCauseIndication {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ErrorCauseIndication(corr={}, causes={} bytes)",
            self.correlation_id,
            self.causes.len()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::{parse_params, Parameter};
    use super::*;
    use crate::error::WireError;
    use std::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn wire_bytes() {
        let bytes = Bytes::from_static(&[
            0xc0, 0x01, 0x00, 0x10, // Add IP Address, length 16
            0x00, 0x00, 0x00, 0x2a, // correlation ID 42
            0x00, 0x05, 0x00, 0x08, 192, 0, 2, 1, // IPv4 Address 192.0.2.1
            0xc0, 0x05, 0x00, 0x08, 0x00, 0x00, 0x00, 0x2a, // Success Indication 42
            0xc0, 0x03, 0x00, 0x10, // Error Cause Indication, length 16
            0x00, 0x00, 0x00, 0x2b, // correlation ID 43
            0x00, 0xa0, 0x00, 0x08, 1, 2, 3, 4, // one cause (code 0xa0)
        ]);
        let params = parse_params(&bytes).unwrap();
        let add = Parameter::AddIpAddress(AddressRequest {
            correlation_id: 42,
            address: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
        });
        let err = Parameter::ErrorCauseIndication(ErrorCauseIndication {
            correlation_id: 43,
            causes: bytes.slice(32..),
        });
        assert_eq!(params, vec![add, Parameter::SuccessIndication(42), err]);
        assert_eq!(params[0].to_string(), "AddIp(corr=42, 192.0.2.1)");
        assert_eq!(
            params[2].to_string(),
            "ErrorCauseIndication(corr=43, causes=8 bytes)"
        );

        let v6 = AddressRequest {
            correlation_id: 1,
            address: IpAddr::V6(Ipv6Addr::LOCALHOST),
        };
        let p = Parameter::SetPrimaryAddress(v6);
        assert_eq!(p.encoded_len(), 4 + 4 + 20);
        assert_eq!(p.to_string(), "SetPrimary(corr=1, ::1)");
        assert_eq!(
            Parameter::DeleteIpAddress(v6).to_string(),
            "DeleteIp(corr=1, ::1)"
        );
    }

    fn parse(t: u16, v: &'static [u8]) -> Result<Parameter> {
        Parameter::parse(t, &Bytes::from_static(v))
    }

    #[test]
    fn nested_address_that_lies() {
        let what = "Add IP Address parameter";
        // Nested length 2: shorter than its own header.
        assert_eq!(
            parse(0xc001, &[0, 0, 0, 1, 0, 5, 0, 2, 10, 0, 0, 1]),
            Err(WireError::LengthTooShort {
                what,
                len: 2,
                min: 4
            })
        );
        // Nested length 20 with 8 bytes there.
        assert_eq!(
            parse(0xc001, &[0, 0, 0, 1, 0, 5, 0, 20, 10, 0, 0, 1]),
            Err(WireError::LengthPastEnd {
                what,
                len: 20,
                available: 8
            })
        );
        // Nested IPv6 whose length says IPv4-sized.
        assert!(matches!(
            parse(0xc002, &[0, 0, 0, 1, 0, 6, 0, 8, 10, 0, 0, 1]),
            Err(WireError::InvalidLength {
                what: "IPv6 Address parameter",
                len: 4
            })
        ));
        // Nested Host Name Address, or any other type.
        assert_eq!(
            parse(0xc004, &[0, 0, 0, 1, 0, 11, 0, 8, b'a', b'b', b'c', 0]),
            Err(WireError::InvalidValue {
                what: "Set Primary Address parameter",
                value: 11
            })
        );
        // No address at all, or a correlation ID cut short.
        assert!(matches!(
            parse(0xc001, &[0, 0, 0, 1]),
            Err(WireError::Truncated { .. })
        ));
        assert!(matches!(
            parse(0xc001, &[0, 0, 1]),
            Err(WireError::Truncated { .. })
        ));
        assert!(matches!(
            parse(0xc003, &[0, 0, 1]),
            Err(WireError::Truncated { .. })
        ));
        // Trailing bytes after the address.
        assert!(matches!(
            parse(0xc001, &[0, 0, 0, 1, 0, 5, 0, 8, 10, 0, 0, 1, 9]),
            Err(WireError::InvalidLength {
                what: "Add IP Address parameter",
                len: 9
            })
        ));
    }

    #[test]
    fn error_cause_indication_without_causes() {
        // An empty cause list still tells which request failed; the core decides what to make
        // of it.
        assert_eq!(
            parse(0xc003, &[0, 0, 0, 9]),
            Ok(Parameter::ErrorCauseIndication(ErrorCauseIndication {
                correlation_id: 9,
                causes: Bytes::new()
            }))
        );
    }
}
