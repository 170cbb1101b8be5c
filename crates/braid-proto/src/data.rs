//! User data as the application sees it (messages, send options) and as the data path
//! carries it inside the core (fragments).

use core::time::Duration;

use braid_wire::Bytes;

use crate::ids::{Ppid, StreamId};

/// How to send one message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SendOptions {
    /// Payload Protocol Identifier carried with the message.
    pub ppid: Ppid,
    /// Deliver without ordering it against the stream's other messages (U bit).
    pub unordered: bool,
    /// PR-SCTP timed reliability (RFC 7496 §3.1): abandon the message if not acknowledged
    /// within this time of being sent. Honoured once partial reliability is implemented.
    pub lifetime: Option<Duration>,
    /// PR-SCTP limited retransmissions (RFC 7496 §3.2): abandon after this many
    /// retransmissions. Honoured once partial reliability is implemented.
    pub max_retransmissions: Option<u32>,
}

/// A message received in full, read with `read_message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The stream it arrived on.
    pub stream: StreamId,
    /// Its Payload Protocol Identifier.
    pub ppid: Ppid,
    /// Whether it was sent unordered.
    pub unordered: bool,
    /// The message. Zero-copy (a view of the received packet) when it came in one chunk.
    pub payload: Bytes,
}

/// One piece of a message as a DATA or I-DATA chunk carries it, before a TSN is assigned
/// (sending) or after the TSN was tracked (receiving).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fragment {
    /// Stream.
    pub(crate) stream: StreamId,
    /// Message sequence: the SSN (DATA, 16 bits, widened) or the MID (I-DATA).
    pub(crate) seq: u32,
    /// Fragment sequence number within the message (I-DATA); 0 for DATA.
    pub(crate) fsn: u32,
    /// Payload Protocol Identifier.
    pub(crate) ppid: Ppid,
    /// U bit.
    pub(crate) unordered: bool,
    /// B bit: first fragment.
    pub(crate) beginning: bool,
    /// E bit: last fragment.
    pub(crate) ending: bool,
    /// The bytes.
    pub(crate) payload: Bytes,
}
