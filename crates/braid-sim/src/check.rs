//! Invariant checks for data tests: self-describing payloads, exactly-once delivery,
//! per-stream order of ordered messages, intact content, and packet sizes.
//!
//! A payload made by [`Checker::payload`] carries its own identity — a 16-byte header
//! (`"BRSM"`, stream, flags, sequence number, length) followed by a byte pattern derived from
//! them — so a received message proves where it came from and that no byte changed.

use std::collections::{BTreeMap, HashSet, VecDeque};

use braid_proto::{Message, StreamId};
use bytes::{BufMut, Bytes, BytesMut};

use crate::sim::TraceEntry;

const MAGIC: &[u8; 4] = b"BRSM";
/// Size of the header of a checked payload; payloads are at least this long.
pub const PAYLOAD_HEADER_LEN: usize = 16;
const FLAG_UNORDERED: u8 = 1;

/// An invariant a test run broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// The message is not a checked payload, or its bytes changed.
    Corrupt {
        /// The stream it arrived on.
        stream: u16,
        /// What is wrong.
        what: &'static str,
    },
    /// The payload says another stream or another ordering than it arrived with.
    WrongMetadata {
        /// The stream it arrived on.
        stream: u16,
        /// Its sequence number.
        seq: u64,
    },
    /// A message arrived that was never sent.
    NeverSent {
        /// Its stream.
        stream: u16,
        /// Its sequence number.
        seq: u64,
    },
    /// A message arrived a second time.
    Duplicate {
        /// Its stream.
        stream: u16,
        /// Its sequence number.
        seq: u64,
    },
    /// An ordered message arrived before an earlier ordered message of its stream.
    OutOfOrder {
        /// Its stream.
        stream: u16,
        /// The sequence number that arrived.
        got: u64,
        /// The one expected.
        expected: u64,
    },
    /// Messages sent were never delivered.
    Missing {
        /// How many.
        count: usize,
        /// The first few, as (stream, sequence number).
        first: Vec<(u16, u64)>,
    },
    /// A packet larger than the MTU was sent.
    AboveMtu {
        /// Index in the trace.
        index: usize,
        /// Its size.
        len: usize,
        /// The limit.
        mtu: usize,
    },
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

impl std::error::Error for Violation {}

/// The pattern byte at offset `i` of a payload body.
fn pattern(stream: u16, seq: u64, i: usize) -> u8 {
    (seq.wrapping_mul(31) as u8)
        .wrapping_add(i as u8)
        .wrapping_mul(7)
        ^ (stream as u8)
}

/// The identity a checked payload carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PayloadId {
    /// The stream it was sent on.
    pub stream: u16,
    /// Its sequence number within the stream.
    pub seq: u64,
    /// Whether it was sent unordered.
    pub unordered: bool,
}

/// Makes a checked payload of `len` bytes (at least [`PAYLOAD_HEADER_LEN`]).
pub fn make_payload(id: PayloadId, len: usize) -> Bytes {
    let len = len.max(PAYLOAD_HEADER_LEN);
    let mut b = BytesMut::with_capacity(len);
    b.put_slice(MAGIC);
    b.put_u16(id.stream);
    b.put_u8(u8::from(id.unordered) * FLAG_UNORDERED);
    b.put_u8(0);
    b.put_u32(u32::try_from(id.seq).unwrap_or(u32::MAX));
    b.put_u32(u32::try_from(len).unwrap_or(u32::MAX));
    for i in PAYLOAD_HEADER_LEN..len {
        b.put_u8(pattern(id.stream, id.seq, i));
    }
    b.freeze()
}

/// Reads and verifies a checked payload: header, length and every pattern byte.
pub fn parse_payload(stream: u16, bytes: &[u8]) -> Result<PayloadId, Violation> {
    let corrupt = |what| Violation::Corrupt { stream, what };
    let header = bytes
        .get(..PAYLOAD_HEADER_LEN)
        .ok_or(corrupt("shorter than a header"))?;
    let field = |range: std::ops::Range<usize>| header.get(range).unwrap_or_default();
    if field(0..4) != MAGIC {
        return Err(corrupt("bad magic"));
    }
    let be16 = |s: &[u8]| s.iter().fold(0u16, |a, &b| (a << 8) | u16::from(b));
    let be32 = |s: &[u8]| s.iter().fold(0u32, |a, &b| (a << 8) | u32::from(b));
    let id = PayloadId {
        stream: be16(field(4..6)),
        unordered: field(6..7).first().is_some_and(|f| f & FLAG_UNORDERED != 0),
        seq: u64::from(be32(field(8..12))),
    };
    if be32(field(12..16)) as usize != bytes.len() {
        return Err(corrupt("length mismatch"));
    }
    let intact = bytes
        .iter()
        .enumerate()
        .skip(PAYLOAD_HEADER_LEN)
        .all(|(i, &b)| b == pattern(id.stream, id.seq, i));
    if !intact {
        return Err(corrupt("pattern mismatch"));
    }
    Ok(id)
}

/// Tracks messages sent and received and checks exactly-once, in-order, intact delivery.
#[derive(Debug, Default)]
pub struct Checker {
    next_seq: BTreeMap<u16, u64>,
    /// Ordered messages sent and not yet received, per stream, in send order.
    ordered_pending: BTreeMap<u16, VecDeque<u64>>,
    sent: HashSet<(u16, u64)>,
    received: HashSet<(u16, u64)>,
    bytes_received: u64,
}

impl Checker {
    /// An empty checker.
    pub fn new() -> Self {
        Self::default()
    }

    /// The next payload for `stream` (numbered per stream from 0), of `len` bytes. Record it
    /// as sent with [`sent`](Self::sent) once the association accepted it.
    pub fn payload(&self, stream: u16, unordered: bool, len: usize) -> (PayloadId, Bytes) {
        let seq = self.next_seq.get(&stream).copied().unwrap_or(0);
        let id = PayloadId {
            stream,
            seq,
            unordered,
        };
        (id, make_payload(id, len))
    }

    /// Records that the payload `id` was accepted for sending.
    pub fn sent(&mut self, id: PayloadId) {
        self.next_seq.insert(id.stream, id.seq + 1);
        self.sent.insert((id.stream, id.seq));
        if !id.unordered {
            self.ordered_pending
                .entry(id.stream)
                .or_default()
                .push_back(id.seq);
        }
    }

    /// Checks one received message.
    ///
    /// # Errors
    ///
    /// The first invariant it breaks.
    pub fn received(&mut self, msg: &Message) -> Result<(), Violation> {
        let stream = msg.stream.0;
        let id = parse_payload(stream, &msg.payload)?;
        if id.stream != stream || id.unordered != msg.unordered {
            return Err(Violation::WrongMetadata {
                stream,
                seq: id.seq,
            });
        }
        if !self.sent.contains(&(stream, id.seq)) {
            return Err(Violation::NeverSent {
                stream,
                seq: id.seq,
            });
        }
        if self.received.contains(&(stream, id.seq)) {
            return Err(Violation::Duplicate {
                stream,
                seq: id.seq,
            });
        }
        if !id.unordered {
            let queue = self.ordered_pending.entry(stream).or_default();
            match queue.front() {
                Some(&expected) if expected == id.seq => {
                    queue.pop_front();
                }
                Some(&expected) => {
                    return Err(Violation::OutOfOrder {
                        stream,
                        got: id.seq,
                        expected,
                    })
                }
                None => {
                    return Err(Violation::NeverSent {
                        stream,
                        seq: id.seq,
                    })
                }
            }
        }
        // Counted only once every check passed, so a rejected message can still arrive later.
        self.received.insert((stream, id.seq));
        self.bytes_received += msg.payload.len() as u64;
        Ok(())
    }

    /// Messages recorded as sent.
    pub fn sent_count(&self) -> usize {
        self.sent.len()
    }

    /// Messages received (each once).
    pub fn received_count(&self) -> usize {
        self.received.len()
    }

    /// Payload bytes received.
    pub fn bytes_received(&self) -> u64 {
        self.bytes_received
    }

    /// Checks that every message sent was received.
    ///
    /// # Errors
    ///
    /// [`Violation::Missing`] otherwise.
    pub fn all_delivered(&self) -> Result<(), Violation> {
        let mut missing: Vec<_> = self.sent.difference(&self.received).copied().collect();
        if missing.is_empty() {
            return Ok(());
        }
        missing.sort_unstable();
        let count = missing.len();
        missing.truncate(8);
        Err(Violation::Missing {
            count,
            first: missing,
        })
    }
}

/// Checks that no traced packet exceeds `mtu` bytes.
///
/// # Errors
///
/// [`Violation::AboveMtu`] for the first that does.
pub fn no_packet_above(trace: &[TraceEntry], mtu: usize) -> Result<(), Violation> {
    match trace.iter().position(|e| e.len > mtu) {
        Some(index) => Err(Violation::AboveMtu {
            index,
            len: trace.get(index).map_or(0, |e| e.len),
            mtu,
        }),
        None => Ok(()),
    }
}

/// A [`StreamId`] from a number (a convenience for tests).
pub fn stream(n: u16) -> StreamId {
    StreamId(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use braid_proto::Ppid;

    fn msg(id: PayloadId, payload: Bytes) -> Message {
        Message {
            stream: StreamId(id.stream),
            ppid: Ppid(0),
            unordered: id.unordered,
            payload,
        }
    }

    #[test]
    fn catches_every_violation() {
        let mut c = Checker::new();
        let mut sent = Vec::new();
        for _ in 0..3 {
            let (id, p) = c.payload(1, false, 100);
            c.sent(id);
            sent.push((id, p));
        }
        let [(a, pa), (b, pb), (d, pd)] = &sent[..] else {
            panic!("three payloads")
        };
        assert!(matches!(
            c.received(&msg(*b, pb.clone())),
            Err(Violation::OutOfOrder {
                got: 1,
                expected: 0,
                ..
            })
        ));
        c.received(&msg(*a, pa.clone())).expect("in order");
        assert!(matches!(
            c.received(&msg(*a, pa.clone())),
            Err(Violation::Duplicate { .. })
        ));
        let mut bad = pb.to_vec();
        bad[50] ^= 1;
        assert!(matches!(
            c.received(&msg(*b, bad.into())),
            Err(Violation::Corrupt { .. })
        ));
        c.received(&msg(*b, pb.clone())).expect("in order");
        assert!(matches!(
            c.all_delivered(),
            Err(Violation::Missing { count: 1, .. })
        ));
        c.received(&msg(*d, pd.clone())).expect("in order");
        c.all_delivered().expect("all delivered");
        assert_eq!(c.bytes_received(), 300);
    }
}
