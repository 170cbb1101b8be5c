//! The parameters of SCTP-AUTH (RFC 4895 §3), sent in INIT and INIT ACK.
//!
//! Random (type 0x8002, §3.1): the sender's random number, an input to the association's
//! shared key (RFC 4895 asks for 32 bytes; that check belongs to the core).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Parameter Type = 0x8002   |       Parameter Length        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! \                                                               \
//! /                        Random Number                          /
//! \                                                               \
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! Chunk List (type 0x8003, §3.2): one byte per chunk type the sender requires to arrive
//! inside an AUTH-authenticated packet (INIT, INIT ACK, SHUTDOWN COMPLETE and AUTH itself are
//! never allowed there; the core enforces that).
//!
//! ```text
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Parameter Type = 0x8003   |       Parameter Length        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Chunk Type 1  | Chunk Type 2  | Chunk Type 3  | Chunk Type 4  |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! /                                                               /
//! \                              ...                              \
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! Requested HMAC Algorithm (type 0x8004, §3.3): 16-bit HMAC identifiers, most preferred
//! first (1 = SHA-1, which every implementation supports; 3 = SHA-256). An odd byte count is an
//! error.
//!
//! ```text
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Parameter Type = 0x8004   |       Parameter Length        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |          HMAC Identifier 1    |      HMAC Identifier 2        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! /                                                               /
//! \                              ...                              \
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

/// Trace names of the HMAC identifiers of RFC 4895 §6.1.
pub(super) fn hmac_name(id: u16) -> Option<&'static str> {
    match id {
        1 => Some("SHA-1"),
        3 => Some("SHA-256"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::{parse_params, Parameter};
    use crate::error::WireError;
    use bytes::Bytes;

    #[test]
    fn wire_bytes() {
        let bytes = Bytes::from_static(&[
            0x80, 0x02, 0x00, 0x08, 1, 2, 3, 4, // Random, 4 bytes
            0x80, 0x03, 0x00, 0x06, 0x00, 0x03, 0x00, 0x00, // Chunk List [DATA, SACK], padded
            0x80, 0x04, 0x00, 0x06, 0x00, 0x03, // HMAC [SHA-256], last, unpadded
        ]);
        let params = parse_params(&bytes).unwrap();
        assert_eq!(
            params,
            vec![
                Parameter::Random(bytes.slice(4..8)),
                Parameter::ChunkList(vec![0, 3]),
                Parameter::RequestedHmacAlgorithm(vec![3]),
            ]
        );
        assert_eq!(params[1].to_string(), "ChunkList[DATA, SACK]");
        assert_eq!(params[2].to_string(), "RequestedHmacAlgorithm[SHA-256]");
        assert_eq!(
            Parameter::RequestedHmacAlgorithm(vec![2]).to_string(),
            "RequestedHmacAlgorithm[2]"
        );
    }

    #[test]
    fn odd_hmac_list() {
        assert_eq!(
            Parameter::parse(0x8004, &Bytes::from_static(&[0, 1, 0])).unwrap_err(),
            WireError::InvalidLength {
                what: "Requested HMAC Algorithm parameter",
                len: 3
            }
        );
    }
}
