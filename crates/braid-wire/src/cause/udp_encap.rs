//! The error cause of SCTP over UDP: Restart of an Association with New Encapsulation Port
//! (code 14), defined by draft-tuexen-tsvwg-sctp-udp-encaps-cons §4, which updates RFC 6951. A
//! Linux endpoint sends it in an ABORT when an INIT for an existing association arrives from
//! another UDP port.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |        Cause Code = 14        |       Cause Length = 8        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Current Encapsulation Port   |    New Encapsulation Port     |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use bytes::Bytes;
use core::fmt;

use super::expect_len;
use crate::error::Result;
use crate::tlv::Reader;

/// Restart of an Association with New Encapsulation Port (code 14): an INIT matching an existing
/// association arrived from a different UDP encapsulation port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NewEncapsulationPort {
    /// The encapsulation port the association uses.
    pub current_port: u16,
    /// The port the restarting INIT came from.
    pub new_port: u16,
}

impl NewEncapsulationPort {
    const WHAT: &'static str = "New Encapsulation Port cause";

    pub(super) fn parse(value: &Bytes) -> Result<Self> {
        expect_len(value, 4, Self::WHAT)?;
        let mut r = Reader::new(value, Self::WHAT);
        Ok(Self {
            current_port: r.u16()?,
            new_port: r.u16()?,
        })
    }

    pub(super) fn value_len(&self) -> usize {
        4
    }

    pub(super) fn write_value(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.current_port.to_be_bytes());
        out.extend_from_slice(&self.new_port.to_be_bytes());
    }
}

impl fmt::Display for NewEncapsulationPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "RestartWithNewEncapsulationPort(current={}, new={})",
            self.current_port, self.new_port
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::{code, parse_causes, ErrorCause};
    use super::*;
    use crate::error::WireError;

    #[test]
    fn captured_abort() {
        let value = Bytes::from_static(&[0x00, 0x0e, 0x00, 0x08, 0x26, 0xab, 0x04, 0xd2]);
        let causes = parse_causes(&value).unwrap();
        let expected = NewEncapsulationPort {
            current_port: 9899,
            new_port: 1234,
        };
        assert_eq!(
            causes,
            vec![ErrorCause::RestartWithNewEncapsulationPort(expected)]
        );
        assert_eq!(
            causes[0].to_string(),
            "RestartWithNewEncapsulationPort(current=9899, new=1234)"
        );
        let mut out = Vec::new();
        causes[0].write(&mut out);
        assert_eq!(out, value.as_ref());
    }

    #[test]
    fn wrong_length() {
        assert_eq!(
            ErrorCause::parse(
                code::RESTART_WITH_NEW_ENCAPSULATION_PORT,
                &Bytes::from_static(&[0, 1])
            ),
            Err(WireError::InvalidLength {
                what: "New Encapsulation Port cause",
                len: 2
            })
        );
    }
}
