//! The error causes of dynamic address reconfiguration, RFC 5061 §4.3, sent mostly inside the
//! Error Cause Indication parameter of an ASCONF-ACK (§4.2.3), and in an ABORT for 0x00A3.
//!
//! ```text
//! §4.3.1  Request to Delete Last Remaining IP Address
//! §4.3.2  Operation Refused Due to Resource Shortage
//! §4.3.3  Request to Delete Source IP Address
//! §4.3.5  Request Refused - No Authorization
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Cause Code = 0x00A0/A1/A2/A4  |     Cause Length = Variable   |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! /      TLV copy of the refused ASCONF parameter (the request)   /
//! \                                                               \
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!
//! §4.3.4  Association Aborted Due to Illegal ASCONF-ACK
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Cause Code = 0x00A3       |       Cause Length = 4        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! The four refusals carry the request they refuse (Add IP Address 0xC001, Delete IP Address
//! 0xC002 or Set Primary Address 0xC004, with its correlation ID) as
//! [`RawParams`]; the ASCONF-ACK handler finds it with [`ErrorCause::refused_asconf_request`].
//! The illegal ASCONF-ACK cause carries nothing, and any other length is refused. Both shapes
//! match what Linux emits (the refused request is appended to the cause; 0x00A3 goes out with
//! length 4) and what Wireshark decodes.

use super::{ErrorCause, RawParams};

impl ErrorCause {
    /// For an RFC 5061 refusal (0x00A0, 0x00A1, 0x00A2, 0x00A4), the copy of the refused ASCONF
    /// request parameter; `None` for every other cause.
    pub fn refused_asconf_request(&self) -> Option<&RawParams> {
        match self {
            Self::DeleteLastRemainingAddress(p)
            | Self::ResourceShortage(p)
            | Self::DeleteSourceAddress(p)
            | Self::RequestRefused(p) => Some(p),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{code, parse_causes};
    use super::*;
    use crate::error::WireError;
    use bytes::Bytes;

    /// A Delete IP Address request (0xC002): correlation ID 0x01020304, IPv4 10.0.0.1.
    const DELETE_REQUEST: &[u8] = &[
        0xc0, 0x02, 0x00, 0x10, 0x01, 0x02, 0x03, 0x04, // type, length 16, correlation ID
        0x00, 0x05, 0x00, 0x08, 10, 0, 0, 1, // IPv4 Address parameter
    ];

    #[test]
    fn captured_refusals() {
        for (code, display) in [
            (
                code::DELETE_LAST_REMAINING_ADDRESS,
                "DeleteLastRemainingAddress",
            ),
            (code::RESOURCE_SHORTAGE, "ResourceShortage"),
            (code::DELETE_SOURCE_ADDRESS, "DeleteSourceAddress"),
            (code::REQUEST_REFUSED, "RequestRefused"),
        ] {
            let mut bytes = Vec::new();
            bytes.extend_from_slice(&code.to_be_bytes());
            bytes.extend_from_slice(&20u16.to_be_bytes());
            bytes.extend_from_slice(DELETE_REQUEST);
            let causes = parse_causes(&Bytes::from(bytes.clone())).unwrap();
            assert_eq!(causes.len(), 1);
            let cause = &causes[0];
            assert_eq!(cause.code(), code);
            let request = cause.refused_asconf_request().unwrap();
            assert_eq!(request.as_bytes().as_ref(), DELETE_REQUEST);
            let (t, value) = request.iter().next().unwrap().unwrap();
            assert_eq!(t, 0xc002);
            assert_eq!(value.len(), 12);
            assert_eq!(
                cause.to_string(),
                format!("{display}(params=[0xc002], 16 bytes)")
            );
            let mut out = Vec::new();
            cause.write(&mut out);
            assert_eq!(out, bytes);
        }
    }

    #[test]
    fn illegal_asconf_ack() {
        let causes = parse_causes(&Bytes::from_static(&[0x00, 0xa3, 0x00, 0x04])).unwrap();
        assert_eq!(causes, vec![ErrorCause::IllegalAsconfAck]);
        assert_eq!(causes[0].refused_asconf_request(), None);
        assert_eq!(
            causes[0].name(),
            "Association Aborted Due to Illegal ASCONF-ACK"
        );
        assert_eq!(
            parse_causes(&Bytes::from_static(&[0x00, 0xa3, 0x00, 0x08, 0, 0, 0, 0])),
            Err(WireError::InvalidLength {
                what: "Illegal ASCONF-ACK cause",
                len: 4
            })
        );
    }

    #[test]
    fn base_causes_are_not_asconf_refusals() {
        assert_eq!(
            ErrorCause::unrecognized_parameters(DELETE_REQUEST).refused_asconf_request(),
            None
        );
    }
}
