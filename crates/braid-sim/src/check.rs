//! Invariant checks: for data tests, self-describing payloads, exactly-once delivery,
//! per-stream order of ordered messages, intact content, and packet sizes; and checks run
//! after every step of a simulation ([`Check`], [`Sim::add_check`]).
//!
//! A payload made by [`Checker::payload`] carries its own identity — a 16-byte header
//! (`"BRSM"`, stream, flags, sequence number, length) followed by a byte pattern derived from
//! them — so a received message proves where it came from and that no byte changed.
//!
//! The per-step checks ([`MtuCheck`], [`NoSendAfterClose`], [`CwndCheck`], [`BufferCheck`],
//! all four at once with [`AssociationChecks`]) look at the trace incrementally and at the
//! associations' public counters, so the first step that breaks an invariant stops the run
//! with [`SimError::Invariant`](crate::SimError::Invariant), naming the time:
//!
//! ```
//! use braid_proto::AssociationConfig;
//! use braid_sim::check::AssociationChecks;
//! use braid_sim::{ms, Sim};
//!
//! let config = AssociationConfig::default();
//! let mut sim = Sim::builder().seed(3).delay(ms(20)).association(config.clone()).build();
//! sim.add_check(AssociationChecks::new(&config));
//! sim.run_for(ms(500)).expect("no invariant broken");
//! ```

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::time::Duration;

use braid_proto::{Association, AssociationConfig, Message, State, Stats, StreamId};
use bytes::{BufMut, Bytes, BytesMut};

use crate::sim::{NodeId, Sim, TraceEntry};

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

// ------------------------------------------------------------------------ per-step checks

/// An invariant checked after every step of a simulation (see [`Sim::add_check`]).
///
/// Any `FnMut(&Sim<N>) -> Result<(), String>` closure is a check.
pub trait Check<N> {
    /// Looks at the simulation as it is now (right after a batch of packets was sent).
    ///
    /// # Errors
    ///
    /// The broken invariant, named, and how it broke; the simulator reports it with the
    /// time as [`SimError::Invariant`](crate::SimError::Invariant).
    fn check(&mut self, sim: &Sim<N>) -> Result<(), String>;
}

impl<N, F> Check<N> for F
where
    F: FnMut(&Sim<N>) -> Result<(), String>,
{
    fn check(&mut self, sim: &Sim<N>) -> Result<(), String> {
        self(sim)
    }
}

/// A node that is, or holds, a Braid [`Association`]: the association checks look at it
/// through this (a wrapper node, or a node of another stack, returns `None` when it has
/// none).
pub trait AssociationNode {
    /// The association, if the node has one.
    fn association(&self) -> Option<&Association>;
}

impl AssociationNode for Association {
    fn association(&self) -> Option<&Association> {
        Some(self)
    }
}

/// "No packet above the MTU": every packet sent (traced or [unroutable](Sim::unroutable)) is
/// at most `mtu` bytes. Reads only the packets sent since it last looked.
#[derive(Debug, Clone)]
pub struct MtuCheck {
    mtu: usize,
    traced: usize,
    unroutable: usize,
}

impl MtuCheck {
    /// Packets must be at most `mtu` bytes (SCTP common header onwards).
    pub fn new(mtu: usize) -> Self {
        Self {
            mtu,
            traced: 0,
            unroutable: 0,
        }
    }
}

impl<N> Check<N> for MtuCheck {
    fn check(&mut self, sim: &Sim<N>) -> Result<(), String> {
        let trace = sim.trace();
        let start = std::mem::replace(&mut self.traced, trace.len());
        let above = trace
            .iter()
            .enumerate()
            .skip(start)
            .find(|(_, e)| e.len > self.mtu);
        if let Some((i, e)) = above {
            return Err(format!(
                "no packet above the MTU: node {} sent {} bytes (MTU {}) at {:?} on path {} (trace entry {i}, pcap frame {})",
                e.from.0,
                e.len,
                self.mtu,
                e.sent_at,
                e.path,
                i + 1
            ));
        }
        let lost = sim.unroutable();
        let new = lost.get(self.unroutable..).unwrap_or_default();
        self.unroutable = lost.len();
        if let Some(e) = new.iter().find(|e| e.len > self.mtu) {
            return Err(format!(
                "no packet above the MTU: node {} sent {} bytes (MTU {}) at {:?} on path {} (which has no link)",
                e.from.0, e.len, self.mtu, e.sent_at, e.path
            ));
        }
        Ok(())
    }
}

/// Whether an association has closed (CLOSED after being opened, with a reason): once it has,
/// and the packets of that step are sent, it has nothing left to send.
fn is_closed(a: &Association) -> bool {
    a.state() == State::Closed && a.close_reason().is_some()
}

/// What a closed node sent and received at one instant.
#[derive(Debug, Clone, Copy, Default)]
struct AtInstant {
    sent: u64,
    arrived: u64,
    /// The first packet sent then: its trace entry, or `None` if it was unroutable.
    first: Option<Option<usize>>,
}

/// A node seen closed.
#[derive(Debug, Clone, Default)]
struct Closed {
    at: Duration,
    trace_from: usize,
    unroutable_from: usize,
    received: u64,
    instants: BTreeMap<Duration, AtInstant>,
}

/// "No send after close": once a node's association has closed and the packets of that step
/// went out, the node sends nothing but immediate replies to packets that arrive (RFC 9260
/// §8.4, e.g. the SHUTDOWN COMPLETE that answers a retransmitted SHUTDOWN ACK): at most one
/// packet per packet arriving at that instant. Reads only the packets sent since it last
/// looked.
#[derive(Debug, Clone, Default)]
pub struct NoSendAfterClose {
    traced: usize,
    unroutable: usize,
    nodes: Vec<Option<Closed>>,
}

impl NoSendAfterClose {
    /// A check of every node with an association.
    pub fn new() -> Self {
        Self::default()
    }

    fn count_send(&mut self, from: NodeId, at: Duration, index: Option<usize>, traced: bool) {
        let Some(Some(c)) = self.nodes.get_mut(from.0) else {
            return;
        };
        let after = match index {
            Some(i) if traced => i >= c.trace_from,
            Some(i) => i >= c.unroutable_from,
            None => false,
        };
        if after {
            let slot = c.instants.entry(at).or_default();
            slot.sent += 1;
            slot.first.get_or_insert(index.filter(|_| traced));
        }
    }
}

impl<N: AssociationNode> Check<N> for NoSendAfterClose {
    fn check(&mut self, sim: &Sim<N>) -> Result<(), String> {
        let now = sim.elapsed();
        let (trace, lost) = (sim.trace(), sim.unroutable());
        if self.nodes.len() < sim.node_count() {
            self.nodes.resize(sim.node_count(), None);
        }
        for (i, slot) in self.nodes.iter_mut().enumerate() {
            let id = NodeId(i);
            let received = sim.packets_received(id);
            match slot {
                None => {
                    let closed = sim
                        .node(id)
                        .and_then(AssociationNode::association)
                        .is_some_and(is_closed);
                    if closed {
                        *slot = Some(Closed {
                            at: now,
                            trace_from: trace.len(),
                            unroutable_from: lost.len(),
                            received,
                            instants: BTreeMap::new(),
                        });
                    }
                }
                Some(c) => {
                    // Arrivals since the last look all happened at this instant: the clock
                    // only moves at the start of a step, and every step ends with a look.
                    let arrived = received.saturating_sub(c.received);
                    c.received = received;
                    if arrived > 0 {
                        c.instants.entry(now).or_default().arrived += arrived;
                    }
                }
            }
        }
        let start = self.traced;
        self.traced = trace.len();
        for (i, e) in trace.iter().enumerate().skip(start) {
            self.count_send(e.from, e.sent_at, Some(i), true);
        }
        let start = self.unroutable;
        self.unroutable = lost.len();
        for (i, e) in lost.iter().enumerate().skip(start) {
            self.count_send(e.from, e.sent_at, Some(i), false);
        }
        for (i, c) in self.nodes.iter_mut().enumerate() {
            let Some(c) = c else { continue };
            for (&at, s) in &c.instants {
                if s.sent > s.arrived {
                    let first = match s.first {
                        Some(Some(f)) => format!("trace entry {f}, pcap frame {}", f + 1),
                        _ => "on a path with no link".to_owned(),
                    };
                    return Err(format!(
                        "no send after close: node {i} (closed at {:?}) sent {} packet(s) at {at:?} (first: {first}) with only {} arriving then",
                        c.at, s.sent, s.arrived
                    ));
                }
            }
            // Earlier instants are final: nothing more can arrive or be sent then.
            c.instants.retain(|&at, _| at >= now);
        }
        Ok(())
    }
}

/// Whether the association has its congestion state (it is up and not yet closed).
fn has_send_state(s: State) -> bool {
    matches!(
        s,
        State::Established
            | State::ShutdownPending
            | State::ShutdownSent
            | State::ShutdownReceived
            | State::ShutdownAckSent
    )
}

/// "cwnd within its bounds" on each path of each association (RFC 9260 §7: congestion
/// state is per destination):
///
/// * cwnd is never below one PMTU while the association is up (RFC 9260 §7.2.1–§7.2.3: the
///   initial window is at least 2·MTU, a T3-rtx timeout sets it to 1·MTU, every other
///   reduction to at least 4·MTU or half of itself if that is above);
/// * after a batch of packets that carried new DATA (or retransmissions other than those of
///   a fast retransmit or a T3-rtx expiry, which RFC 9260 §7.2.4 and §6.3.3 E3 let ignore
///   cwnd), the bytes in flight are at most cwnd + PMTU − 1. RFC 9260 §6.1 B: the sender
///   "MUST NOT transmit new data ... if it has cwnd + (PMTU - 1) or more bytes of data
///   outstanding", may exceed cwnd by up to PMTU − 1 bytes only while the flight is below
///   cwnd, and "the breach of cwnd MUST constitute one packet only".
///
/// Only right after sending is the flight bounded: a loss can halve cwnd with the flight
/// unchanged. So the flight bound is checked on the primary path, and on any other path
/// whose flight grew in the step (the one the batch went to: an alternate while the
/// primary is INACTIVE, or after a T3-rtx expiry). Braid counts the flight in padded chunk
/// bytes, headers included, and its PMTU is `max_packet_size`.
#[derive(Debug, Clone)]
pub struct CwndCheck {
    pmtu: usize,
    last: Vec<Stats>,
    /// Per node, per path index: the flight at the last look.
    flight: Vec<Vec<usize>>,
}

impl CwndCheck {
    /// For associations whose `max_packet_size` is `pmtu`.
    pub fn new(pmtu: usize) -> Self {
        Self {
            pmtu,
            last: Vec::new(),
            flight: Vec::new(),
        }
    }
}

impl<N: AssociationNode> Check<N> for CwndCheck {
    fn check(&mut self, sim: &Sim<N>) -> Result<(), String> {
        if self.last.len() < sim.node_count() {
            self.last.resize(sim.node_count(), Stats::default());
            self.flight.resize(sim.node_count(), Vec::new());
        }
        for (i, (last, flights)) in self.last.iter_mut().zip(&mut self.flight).enumerate() {
            let Some(a) = sim.node(NodeId(i)).and_then(AssociationNode::association) else {
                continue;
            };
            let s = a.stats();
            let prev = std::mem::replace(last, s);
            if !has_send_state(a.state()) {
                continue;
            }
            let new_data = s.data_chunks_sent.saturating_sub(prev.data_chunks_sent);
            let retransmitted = s.retransmissions.saturating_sub(prev.retransmissions);
            let exempt = s.fast_retransmits > prev.fast_retransmits
                || s.timer_retransmit_events > prev.timer_retransmit_events;
            let sent_within_cwnd = new_data > 0 || (retransmitted > 0 && !exempt);
            for path in a.paths() {
                let Some(ps) = a.path_stats(path) else {
                    continue;
                };
                let slot = usize::from(path.0);
                if flights.len() <= slot {
                    flights.resize(slot + 1, 0);
                }
                let grew = flights
                    .get_mut(slot)
                    .is_some_and(|f| std::mem::replace(f, ps.bytes_in_flight) < ps.bytes_in_flight);
                if ps.cwnd < self.pmtu {
                    return Err(format!(
                        "cwnd within its bounds: node {i} path {} has cwnd {} below one PMTU ({}) in {:?}",
                        path.0,
                        ps.cwnd,
                        self.pmtu,
                        a.state()
                    ));
                }
                let bounded = path == a.primary_path() || grew;
                let limit = ps.cwnd + self.pmtu.saturating_sub(1);
                if bounded && sent_within_cwnd && ps.bytes_in_flight > limit {
                    return Err(format!(
                        "cwnd within its bounds: node {i} path {} has {} bytes in flight after sending {new_data} new and {retransmitted} retransmitted chunks, above cwnd {} + PMTU {} - 1 (RFC 9260 §6.1 B)",
                        path.0,
                        ps.bytes_in_flight,
                        ps.cwnd,
                        self.pmtu
                    ));
                }
            }
        }
        Ok(())
    }
}

/// "Buffered bytes within their bounds": each association's send queue holds at most
/// `send_limit` bytes ([`Association::total_buffered`]) and its receive side at most
/// `receive_limit` ([`Association::receive_buffered`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BufferCheck {
    send_limit: usize,
    receive_limit: usize,
}

impl BufferCheck {
    /// Explicit limits, in bytes.
    pub fn new(send_limit: usize, receive_limit: usize) -> Self {
        Self {
            send_limit,
            receive_limit,
        }
    }

    /// The limits a configuration guarantees: `send_buffer_size` for what is queued (`send`
    /// refuses more with `BufferFull`), and for what is received and held the window — the
    /// larger of `receive_window` and `max_message_size`, since a message is reassembled
    /// whole — plus the reassembly headroom of four `max_packet_size` packets that lets the
    /// chunk filling the cumulative TSN in.
    pub fn for_config(config: &AssociationConfig) -> Self {
        let window = (config.receive_window as usize).max(config.max_message_size);
        Self::new(config.send_buffer_size, window + 4 * config.max_packet_size)
    }
}

impl<N: AssociationNode> Check<N> for BufferCheck {
    fn check(&mut self, sim: &Sim<N>) -> Result<(), String> {
        for i in 0..sim.node_count() {
            let Some(a) = sim.node(NodeId(i)).and_then(AssociationNode::association) else {
                continue;
            };
            let queued = a.total_buffered();
            if queued > self.send_limit {
                return Err(format!(
                    "buffered bytes within their bounds: node {i} has {queued} bytes queued to send, above the send buffer of {}",
                    self.send_limit
                ));
            }
            let held = a.receive_buffered();
            if held > self.receive_limit {
                return Err(format!(
                    "buffered bytes within their bounds: node {i} holds {held} received bytes, above the limit of {}",
                    self.receive_limit
                ));
            }
        }
        Ok(())
    }
}

/// The four association checks at once — [`MtuCheck`] (at `max_packet_size`),
/// [`NoSendAfterClose`], [`CwndCheck`] and [`BufferCheck::for_config`] — for associations
/// that share one configuration's sizes.
#[derive(Debug, Clone)]
pub struct AssociationChecks {
    mtu: MtuCheck,
    close: NoSendAfterClose,
    cwnd: CwndCheck,
    buffers: BufferCheck,
}

impl AssociationChecks {
    /// The checks for associations configured with `config`.
    pub fn new(config: &AssociationConfig) -> Self {
        Self {
            mtu: MtuCheck::new(config.max_packet_size),
            close: NoSendAfterClose::new(),
            cwnd: CwndCheck::new(config.max_packet_size),
            buffers: BufferCheck::for_config(config),
        }
    }
}

impl<N: AssociationNode> Check<N> for AssociationChecks {
    fn check(&mut self, sim: &Sim<N>) -> Result<(), String> {
        self.mtu.check(sim)?;
        self.close.check(sim)?;
        self.cwnd.check(sim)?;
        self.buffers.check(sim)
    }
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
