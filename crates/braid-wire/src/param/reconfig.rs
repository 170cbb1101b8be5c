//! The parameters of the RE-CONFIG chunk (RFC 6525 §4): stream reset and stream addition.
//!
//! Their types (13–18) have the upper two bits `00`: a receiver that does not know one stops
//! processing the chunk without reporting it (RFC 6525 §4, RFC 9260 §3.2.1).
//!
//! Outgoing SSN Reset Request (type 13, §4.1), length 16 + 2N (no stream listed = all):
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Parameter Type = 13       | Parameter Length = 16 + 2 * N |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |           Re-configuration Request Sequence Number            |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |           Re-configuration Response Sequence Number           |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                Sender's Last Assigned TSN                     |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Stream Number 1 (optional)   |    Stream Number 2 (optional) |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! /                            ......                             /
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Stream Number N-1 (optional) |    Stream Number N (optional) |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! Incoming SSN Reset Request (type 14, §4.2), length 8 + 2N:
//!
//! ```text
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Parameter Type = 14       |  Parameter Length = 8 + 2 * N |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |          Re-configuration Request Sequence Number             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Stream Number 1 (optional)   |    Stream Number 2 (optional) |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! /                            ......                             /
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! SSN/TSN Reset Request (type 15, §4.3), length 8:
//!
//! ```text
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Parameter Type = 15       |      Parameter Length = 8     |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |         Re-configuration Request Sequence Number              |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! Re-configuration Response (type 16, §4.4), length 12, or 20 when answering an SSN/TSN Reset
//! Request with both next TSNs (one without the other is malformed):
//!
//! ```text
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Parameter Type = 16       |      Parameter Length         |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |         Re-configuration Response Sequence Number             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                            Result                             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                   Sender's Next TSN (optional)                |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                  Receiver's Next TSN (optional)               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! Add Outgoing Streams Request (type 17, §4.5) and Add Incoming Streams Request (type 18,
//! §4.6), length 12:
//!
//! ```text
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |   Parameter Type = 17 / 18    |      Parameter Length = 12    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |          Re-configuration Request Sequence Number             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |      Number of new streams    |         Reserved              |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use bytes::Bytes;
use core::fmt;

use super::{exact, exact_u32, u16_list, write_u16_list};
use crate::error::{Result, WireError};
use crate::serial::Tsn;
use crate::tlv::Reader;

/// Outgoing SSN Reset Request (RFC 6525 §4.1): the sender resets some of its outgoing streams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingSsnResetRequest {
    /// Re-configuration Request Sequence Number of this request.
    pub request_seq: u32,
    /// Re-configuration Response Sequence Number: the peer's Incoming SSN Reset Request this
    /// answers, if it answers one (otherwise the peer's last request number).
    pub response_seq: u32,
    /// Sender's Last Assigned TSN: the streams reset once every TSN up to this one arrived.
    pub last_assigned_tsn: Tsn,
    /// The streams to reset; empty means all of them.
    pub streams: Vec<u16>,
}

impl OutgoingSsnResetRequest {
    pub(super) fn parse(value: &Bytes) -> Result<Self> {
        const WHAT: &str = "Outgoing SSN Reset Request parameter";
        let mut r = Reader::new(value, WHAT);
        let request_seq = r.u32()?;
        let response_seq = r.u32()?;
        let last_assigned_tsn = Tsn(r.u32()?);
        let streams = stream_list(value, r.rest(), WHAT)?;
        Ok(Self {
            request_seq,
            response_seq,
            last_assigned_tsn,
            streams,
        })
    }

    pub(super) fn value_len(&self) -> usize {
        12 + 2 * self.streams.len()
    }

    pub(super) fn write_value(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.request_seq.to_be_bytes());
        out.extend_from_slice(&self.response_seq.to_be_bytes());
        out.extend_from_slice(&self.last_assigned_tsn.get().to_be_bytes());
        write_u16_list(out, &self.streams);
    }
}

impl fmt::Display for OutgoingSsnResetRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "OutgoingSsnReset(req={}, resp={}, last_tsn={}, streams={})",
            self.request_seq,
            self.response_seq,
            self.last_assigned_tsn,
            Streams(&self.streams)
        )
    }
}

/// Incoming SSN Reset Request (RFC 6525 §4.2): the sender asks the peer to reset some of the
/// peer's outgoing streams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingSsnResetRequest {
    /// Re-configuration Request Sequence Number of this request.
    pub request_seq: u32,
    /// The streams to reset; empty means all of them.
    pub streams: Vec<u16>,
}

impl IncomingSsnResetRequest {
    pub(super) fn parse(value: &Bytes) -> Result<Self> {
        const WHAT: &str = "Incoming SSN Reset Request parameter";
        let mut r = Reader::new(value, WHAT);
        let request_seq = r.u32()?;
        let streams = stream_list(value, r.rest(), WHAT)?;
        Ok(Self {
            request_seq,
            streams,
        })
    }

    pub(super) fn value_len(&self) -> usize {
        4 + 2 * self.streams.len()
    }

    pub(super) fn write_value(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.request_seq.to_be_bytes());
        write_u16_list(out, &self.streams);
    }
}

impl fmt::Display for IncomingSsnResetRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "IncomingSsnReset(req={}, streams={})",
            self.request_seq,
            Streams(&self.streams)
        )
    }
}

/// SSN/TSN Reset Request (RFC 6525 §4.3): reset every stream and both TSN spaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SsnTsnResetRequest {
    /// Re-configuration Request Sequence Number of this request.
    pub request_seq: u32,
}

impl SsnTsnResetRequest {
    pub(super) fn parse(value: &Bytes) -> Result<Self> {
        Ok(Self {
            request_seq: exact_u32(value, "SSN/TSN Reset Request parameter")?,
        })
    }

    pub(super) fn value_len(&self) -> usize {
        4
    }

    pub(super) fn write_value(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.request_seq.to_be_bytes());
    }
}

impl fmt::Display for SsnTsnResetRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SsnTsnReset(req={})", self.request_seq)
    }
}

/// The Result field of a Re-configuration Response (RFC 6525 §4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReconfigResult {
    /// 0: "Success - Nothing to do".
    SuccessNothingToDo,
    /// 1: "Success - Performed".
    SuccessPerformed,
    /// 2: "Denied".
    Denied,
    /// 3: "Error - Wrong SSN".
    ErrorWrongSsn,
    /// 4: "Error - Request already in progress".
    ErrorRequestAlreadyInProgress,
    /// 5: "Error - Bad Sequence Number".
    ErrorBadSequenceNumber,
    /// 6: "In progress": the request will be performed later; ask again.
    InProgress,
    /// Any other value (7 and up). Parsing never produces `Unknown(0..=6)`.
    Unknown(u32),
}

impl ReconfigResult {
    /// The result for a wire value.
    pub const fn from_u32(v: u32) -> Self {
        match v {
            0 => Self::SuccessNothingToDo,
            1 => Self::SuccessPerformed,
            2 => Self::Denied,
            3 => Self::ErrorWrongSsn,
            4 => Self::ErrorRequestAlreadyInProgress,
            5 => Self::ErrorBadSequenceNumber,
            6 => Self::InProgress,
            other => Self::Unknown(other),
        }
    }

    /// The wire value.
    pub const fn to_u32(self) -> u32 {
        match self {
            Self::SuccessNothingToDo => 0,
            Self::SuccessPerformed => 1,
            Self::Denied => 2,
            Self::ErrorWrongSsn => 3,
            Self::ErrorRequestAlreadyInProgress => 4,
            Self::ErrorBadSequenceNumber => 5,
            Self::InProgress => 6,
            Self::Unknown(v) => v,
        }
    }

    /// Whether the request succeeded (results 0 and 1).
    pub const fn is_success(self) -> bool {
        matches!(self, Self::SuccessNothingToDo | Self::SuccessPerformed)
    }
}

impl From<u32> for ReconfigResult {
    fn from(v: u32) -> Self {
        Self::from_u32(v)
    }
}

impl From<ReconfigResult> for u32 {
    fn from(r: ReconfigResult) -> Self {
        r.to_u32()
    }
}

impl fmt::Display for ReconfigResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::SuccessNothingToDo => "Success - Nothing to do",
            Self::SuccessPerformed => "Success - Performed",
            Self::Denied => "Denied",
            Self::ErrorWrongSsn => "Error - Wrong SSN",
            Self::ErrorRequestAlreadyInProgress => "Error - Request already in progress",
            Self::ErrorBadSequenceNumber => "Error - Bad Sequence Number",
            Self::InProgress => "In progress",
            Self::Unknown(v) => return write!(f, "Unknown({v})"),
        })
    }
}

/// The optional pair closing a Re-configuration Response to an SSN/TSN Reset Request
/// (RFC 6525 §4.4): both are present or neither is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NextTsns {
    /// Sender's Next TSN: the next TSN the responder will send.
    pub sender_next_tsn: Tsn,
    /// Receiver's Next TSN: the next TSN the responder expects to receive.
    pub receiver_next_tsn: Tsn,
}

/// Re-configuration Response (RFC 6525 §4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReconfigResponse {
    /// Re-configuration Response Sequence Number: the request sequence number answered.
    pub response_seq: u32,
    /// The outcome.
    pub result: ReconfigResult,
    /// Both next TSNs, present only in a response to an SSN/TSN Reset Request.
    pub next_tsns: Option<NextTsns>,
}

impl ReconfigResponse {
    pub(super) fn parse(value: &Bytes) -> Result<Self> {
        const WHAT: &str = "Re-configuration Response parameter";
        if !matches!(value.len(), 8 | 16) {
            return Err(WireError::InvalidLength {
                what: WHAT,
                len: value.len(),
            });
        }
        let mut r = Reader::new(value, WHAT);
        let response_seq = r.u32()?;
        let result = ReconfigResult::from_u32(r.u32()?);
        let next_tsns = if r.remaining() > 0 {
            Some(NextTsns {
                sender_next_tsn: Tsn(r.u32()?),
                receiver_next_tsn: Tsn(r.u32()?),
            })
        } else {
            None
        };
        r.finish()?;
        Ok(Self {
            response_seq,
            result,
            next_tsns,
        })
    }

    pub(super) fn value_len(&self) -> usize {
        if self.next_tsns.is_some() {
            16
        } else {
            8
        }
    }

    pub(super) fn write_value(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.response_seq.to_be_bytes());
        out.extend_from_slice(&self.result.to_u32().to_be_bytes());
        if let Some(n) = self.next_tsns {
            out.extend_from_slice(&n.sender_next_tsn.get().to_be_bytes());
            out.extend_from_slice(&n.receiver_next_tsn.get().to_be_bytes());
        }
    }
}

impl fmt::Display for ReconfigResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ReconfigResponse(resp={}, result={}",
            self.response_seq, self.result
        )?;
        if let Some(n) = self.next_tsns {
            write!(
                f,
                ", sender_next_tsn={}, receiver_next_tsn={}",
                n.sender_next_tsn, n.receiver_next_tsn
            )?;
        }
        f.write_str(")")
    }
}

/// Add Outgoing Streams Request (RFC 6525 §4.5) or Add Incoming Streams Request (§4.6); the
/// [`Parameter`](super::Parameter) variant says which direction.
///
/// The reserved 16 bits are written as zero and ignored on receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AddStreamsRequest {
    /// Re-configuration Request Sequence Number of this request.
    pub request_seq: u32,
    /// Number of new streams to add.
    pub new_streams: u16,
}

impl AddStreamsRequest {
    pub(super) fn parse(value: &Bytes, what: &'static str) -> Result<Self> {
        let [a, b, c, d, e, f, _reserved @ ..] = exact::<8>(value, what)?;
        Ok(Self {
            request_seq: u32::from_be_bytes([a, b, c, d]),
            new_streams: u16::from_be_bytes([e, f]),
        })
    }

    pub(super) fn value_len(&self) -> usize {
        8
    }

    pub(super) fn write_value(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.request_seq.to_be_bytes());
        out.extend_from_slice(&self.new_streams.to_be_bytes());
        out.extend_from_slice(&[0, 0]);
    }
}

impl fmt::Display for AddStreamsRequest {
    /// `(req=3, new_streams=5)`: the variant name goes in front.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "(req={}, new_streams={})",
            self.request_seq, self.new_streams
        )
    }
}

/// The stream list after a fixed part; an odd count is reported with the whole value's length.
fn stream_list(value: &Bytes, rest: Bytes, what: &'static str) -> Result<Vec<u16>> {
    u16_list(&rest, what).map_err(|_| WireError::InvalidLength {
        what,
        len: value.len(),
    })
}

/// A stream list for traces: `[1, 2]`, or `all` for the empty list.
struct Streams<'a>(&'a [u16]);

impl fmt::Display for Streams<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("all")
        } else {
            write!(f, "{:?}", self.0)
        }
    }
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
        let bytes = Bytes::from_static(&[
            0x00, 0x0d, 0x00, 0x14, // Outgoing SSN Reset Request, length 20
            0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 100, // req 3, resp 2, last TSN 100
            0, 1, 0, 2, // streams 1, 2
            0x00, 0x10, 0x00, 0x0c, 0, 0, 0, 3, 0, 0, 0, 1, // Response: resp 3, Performed
        ]);
        let params = parse_params(&bytes).unwrap();
        assert_eq!(
            params,
            vec![
                Parameter::OutgoingSsnResetRequest(OutgoingSsnResetRequest {
                    request_seq: 3,
                    response_seq: 2,
                    last_assigned_tsn: Tsn(100),
                    streams: vec![1, 2],
                }),
                Parameter::ReconfigResponse(ReconfigResponse {
                    response_seq: 3,
                    result: ReconfigResult::SuccessPerformed,
                    next_tsns: None,
                }),
            ]
        );
        assert_eq!(
            params[0].to_string(),
            "OutgoingSsnReset(req=3, resp=2, last_tsn=100, streams=[1, 2])"
        );
        assert_eq!(
            params[1].to_string(),
            "ReconfigResponse(resp=3, result=Success - Performed)"
        );

        let p = parse(16, &[0, 0, 0, 4, 0, 0, 0, 6, 0, 0, 0, 10, 0, 0, 0, 20]).unwrap();
        assert_eq!(
            p.to_string(),
            "ReconfigResponse(resp=4, result=In progress, sender_next_tsn=10, receiver_next_tsn=20)"
        );
        let p = parse(14, &[0, 0, 0, 9]).unwrap();
        assert_eq!(p.to_string(), "IncomingSsnReset(req=9, streams=all)");
        assert_eq!(
            parse(15, &[0, 0, 0, 9]).unwrap().to_string(),
            "SsnTsnReset(req=9)"
        );
        // The reserved field is ignored.
        let p = parse(17, &[0, 0, 0, 9, 0, 5, 0xff, 0xff]).unwrap();
        assert_eq!(
            p,
            Parameter::AddOutgoingStreamsRequest(AddStreamsRequest {
                request_seq: 9,
                new_streams: 5
            })
        );
        assert_eq!(p.to_string(), "AddOutgoingStreams(req=9, new_streams=5)");
        let mut v = Vec::new();
        p.write_value(&mut v);
        assert_eq!(v, [0, 0, 0, 9, 0, 5, 0, 0]);
        let p = parse(18, &[0, 0, 0, 9, 0, 5, 0, 0]).unwrap();
        assert_eq!(p.to_string(), "AddIncomingStreams(req=9, new_streams=5)");
    }

    #[test]
    fn result_codes() {
        for v in 0..=10u32 {
            let r = ReconfigResult::from_u32(v);
            assert_eq!(r.to_u32(), v);
            assert_eq!(matches!(r, ReconfigResult::Unknown(_)), v > 6);
        }
        assert!(ReconfigResult::SuccessNothingToDo.is_success());
        assert!(!ReconfigResult::InProgress.is_success());
        assert_eq!(ReconfigResult::Unknown(9).to_string(), "Unknown(9)");
    }

    #[test]
    fn response_with_only_one_tsn() {
        assert_eq!(
            parse(16, &[0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 10]),
            Err(WireError::InvalidLength {
                what: "Re-configuration Response parameter",
                len: 12
            })
        );
        for len in [0, 4, 7, 9, 20] {
            assert!(matches!(
                Parameter::parse(16, &Bytes::from(vec![0; len])),
                Err(WireError::InvalidLength { len: l, .. }) if l == len
            ));
        }
    }

    #[test]
    fn truncated_and_odd() {
        // Fixed parts cut short.
        assert!(matches!(
            parse(13, &[0, 0, 0, 3, 0, 0, 0, 2]),
            Err(WireError::Truncated { .. })
        ));
        assert!(matches!(parse(13, &[]), Err(WireError::Truncated { .. })));
        assert!(matches!(
            parse(14, &[0, 0, 0]),
            Err(WireError::Truncated { .. })
        ));
        // Odd stream lists.
        assert_eq!(
            parse(13, &[0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 100, 0, 1, 0]),
            Err(WireError::InvalidLength {
                what: "Outgoing SSN Reset Request parameter",
                len: 15
            })
        );
        assert_eq!(
            parse(14, &[0, 0, 0, 3, 0]),
            Err(WireError::InvalidLength {
                what: "Incoming SSN Reset Request parameter",
                len: 5
            })
        );
        // Fixed sizes.
        for t in [17, 18] {
            for len in [0, 4, 7, 9, 12] {
                assert!(matches!(
                    Parameter::parse(t, &Bytes::from(vec![0; len])),
                    Err(WireError::InvalidLength { len: l, .. }) if l == len
                ));
            }
        }
    }
}
