//! The send queue: messages the application has handed over and that have not yet been cut
//! into fragments (RFC 9260 §6.5 streams and SSNs, §6.9 fragmentation; RFC 8260 §2 MID/FSN,
//! §3 stream schedulers).
//!
//! Role: `push` queues a message on its stream; `next_fragment` asks the [stream
//! scheduler](super::scheduler) which stream goes next and cuts the next fragment of that
//! stream's head message — a zero-copy [`Bytes::slice`] of it — numbering it on the way:
//! the SSN (DATA) or MID (I-DATA) is assigned when the message's *first* fragment is taken,
//! so a message discarded before it was sent does not burn a sequence number. The fragment
//! then belongs to the outstanding-data tracker; the queue forgets it.
//!
//! The queue also keeps each stream's buffered amount — bytes not yet handed out, which is
//! WebRTC's `bufferedAmount` (data "not yet transmitted to the network") — and their total,
//! raises "buffered amount low" events for each stream (WebRTC's `bufferedamountlow`) and
//! for the total, pauses streams for an RFC 6525 reset, and drops unsent messages whose
//! PR-SCTP lifetime expired.
//!
//! Memory: queued payload plus [`MESSAGE_OVERHEAD`] bytes of bookkeeping per message never
//! exceed the configured `buffer_limit` (`push` refuses what would not fit). Per-stream state
//! exists only for streams that were used (a message, a threshold, a priority, a reset):
//! a slab of records (about 150 bytes a stream with its scheduler slot and index entry),
//! indexed by a small slot number, found from the stream id through a hash map at `push`
//! (once per message, never per fragment). A dense array of
//! 65 535 entries would cost more than the data for the common WebRTC case of a handful of
//! channels; a per-fragment hash lookup would cost time. Stream records and the scheduler
//! heap are O(streams used) ≤ 65 535; the event list holds at most one entry per stream, and
//! the total's event is one flag.
//! The per-fragment path allocates nothing: one refcount increment for the slice.

use core::hash::{BuildHasherDefault, Hasher};
use core::mem;
use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use braid_wire::{Bytes, Mid, Ssn};
use bytes::Buf;

use super::scheduler::{Scheduler, StreamScheduler};
use crate::data::{Fragment, SendOptions};
use crate::ids::{Ppid, StreamId};

/// Default limit on queued bytes.
pub(crate) const DEFAULT_BUFFER_LIMIT: usize = 4 * 1024 * 1024;

/// Bytes each queued message counts against the buffer limit on top of its payload: its
/// bookkeeping. Without it a flood of one-byte messages would hold ~100 times the limit.
pub(crate) const MESSAGE_OVERHEAD: usize = mem::size_of::<Queued>();

/// Why a message was not queued.
///
/// `NotEstablished` and `TooLarge` are checked by the association before the message reaches
/// the queue; they live here so that sending has one error type.
#[allow(unreachable_pub)] // Re-exported from the crate root once the association integrates it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The association is not in a state that takes new messages: not yet ESTABLISHED, or
    /// shutting down or closed (RFC 9260 §9.2: once shutdown starts, the endpoint accepts no
    /// new data from its user).
    #[error("the association does not accept messages in its current state")]
    NotEstablished,
    /// The message is larger than the association accepts as one message.
    #[error("message of {size} bytes is larger than the maximum of {max}")]
    TooLarge {
        /// The message's size.
        size: usize,
        /// The largest message accepted.
        max: usize,
    },
    /// The stream does not exist: stream ids run from 0 to the negotiated number of
    /// outbound streams minus one (RFC 9260 §5.1.1).
    #[error("stream {stream} is out of range: the association has {streams} outbound streams")]
    StreamOutOfRange {
        /// The stream asked for.
        stream: StreamId,
        /// The number of outbound streams.
        streams: u16,
    },
    /// The message is empty. A DATA chunk must carry user data (RFC 9260 §6.2: a DATA chunk
    /// without user data makes the receiver ABORT with "No User Data"), so SCTP cannot send a
    /// zero-length message.
    #[error("cannot send an empty message")]
    Empty,
    /// The send buffer is full: the message and its bookkeeping would exceed the limit. Wait
    /// for the buffered amount to drop (a buffered-amount-low event) and retry.
    #[error("send buffer full: {needed} bytes needed, {available} available")]
    BufferFull {
        /// What the message counts against the limit (its size plus bookkeeping).
        needed: usize,
        /// What is left under the limit.
        available: usize,
    },
}

/// Send queue parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SendQueueConfig {
    /// Most bytes queued (payload plus [`MESSAGE_OVERHEAD`] per message).
    pub(crate) buffer_limit: usize,
    /// Number of outbound streams (negotiated: the smaller of our OS and the peer's MIS).
    pub(crate) streams: u16,
    /// I-DATA (RFC 8260) is in use: MIDs and FSNs instead of SSNs, and messages of different
    /// streams may interleave.
    pub(crate) interleaving: bool,
    /// The stream scheduler.
    pub(crate) scheduler: Scheduler,
}

impl Default for SendQueueConfig {
    fn default() -> Self {
        Self {
            buffer_limit: DEFAULT_BUFFER_LIMIT,
            streams: 1024,
            interleaving: false,
            scheduler: Scheduler::default(),
        }
    }
}

/// What the outstanding-data tracker needs to know about the message a fragment belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct MessageMeta {
    /// PR-SCTP timed reliability (RFC 7496 §3.1): abandon when not acknowledged by then.
    pub(crate) expires_at: Option<Instant>,
    /// PR-SCTP limited retransmissions (RFC 7496 §3.2).
    pub(crate) max_retransmissions: Option<u32>,
}

/// One queued message.
#[derive(Debug)]
struct Queued {
    /// The whole message; `offset` bytes of it were handed out already.
    payload: Bytes,
    offset: usize,
    ppid: Ppid,
    unordered: bool,
    /// Queue order over all streams (FCFS).
    order: u64,
    /// SSN or MID, valid once `fragments > 0`.
    seq: u32,
    /// Fragments handed out (the next FSN).
    fragments: u32,
    expires_at: Option<Instant>,
    max_retransmissions: Option<u32>,
}

impl Queued {
    fn remaining(&self) -> usize {
        self.payload.len().saturating_sub(self.offset)
    }

    fn started(&self) -> bool {
        self.fragments > 0
    }
}

/// Where a stream is in an RFC 6525 outgoing reset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ResetState {
    /// Sending normally.
    Open,
    /// A reset was asked for: no new message starts; a started one is finished.
    Paused,
    /// In a RE-CONFIG request in flight, waiting for the peer's answer.
    Resetting,
}

/// One stream's state.
#[derive(Debug)]
struct Stream {
    id: StreamId,
    /// In use (false: the slot is on the free list).
    live: bool,
    messages: VecDeque<Queued>,
    /// Bytes of `messages` not yet handed out.
    buffered: usize,
    /// Next SSN of an ordered message (DATA).
    next_ssn: Ssn,
    /// Next MID of an ordered message (I-DATA).
    next_mid: Mid,
    /// Next MID of an unordered message (I-DATA: its own sequence, RFC 8260 §2.1).
    next_unordered_mid: Mid,
    low_threshold: usize,
    /// A low event for this stream is in the event list.
    low_pending: bool,
    reset: ResetState,
}

impl Stream {
    fn new(id: StreamId) -> Self {
        Self {
            id,
            live: true,
            messages: VecDeque::new(),
            buffered: 0,
            next_ssn: Ssn::new(0),
            next_mid: Mid::new(0),
            next_unordered_mid: Mid::new(0),
            low_threshold: 0,
            low_pending: false,
            reset: ResetState::Open,
        }
    }

    /// The head message's queue order, if the stream may send it now.
    fn sendable_head(&self) -> Option<u64> {
        let head = self.messages.front()?;
        (self.reset == ResetState::Open || head.started()).then_some(head.order)
    }

    /// Sequence numbers start over (RFC 6525 §5.2.2 for a reset stream; RFC 9260 §5.2.4
    /// for a restarted association).
    fn reset_sequence(&mut self) {
        self.next_ssn = Ssn::new(0);
        self.next_mid = Mid::new(0);
        self.next_unordered_mid = Mid::new(0);
    }

    fn is_pristine(&self) -> bool {
        self.messages.is_empty()
            && self.next_ssn.get() == 0
            && self.next_mid.get() == 0
            && self.next_unordered_mid.get() == 0
            && self.low_threshold == 0
            && !self.low_pending
            && self.reset == ResetState::Open
    }
}

/// Hashes a [`StreamId`] with one multiplication (Fibonacci hashing): the ids come from the
/// local application, bounded by the stream count, so there is no flooding to defend against.
#[derive(Debug, Default, Clone, Copy)]
struct StreamIdHasher(u64);

impl Hasher for StreamIdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u16(&mut self, n: u16) {
        self.0 = (self.0 ^ u64::from(n)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type StreamMap = HashMap<StreamId, u32, BuildHasherDefault<StreamIdHasher>>;

/// Queued outbound messages per stream, the stream scheduler, and fragmentation.
#[derive(Debug)]
pub(crate) struct SendQueue {
    buffer_limit: usize,
    stream_count: u16,
    interleaving: bool,
    /// Stream records; a record's index is its slot.
    streams: Vec<Stream>,
    /// Slots of freed records.
    free: Vec<u32>,
    index: StreamMap,
    scheduler: StreamScheduler,
    /// DATA only: the stream whose started message must be finished before anything else.
    current: Option<u32>,
    /// Payload bytes queued and not handed out.
    buffered: usize,
    /// What counts against `buffer_limit`: `buffered` plus overhead per message.
    used: usize,
    /// Messages queued.
    messages: usize,
    /// Queued messages with a lifetime (`discard_expired` has nothing to do while zero).
    with_lifetime: usize,
    /// Next queue order.
    next_order: u64,
    /// Streams whose buffered amount fell to their threshold; at most one entry per stream.
    low_events: VecDeque<StreamId>,
    /// The threshold of the total buffered amount's low event; `None` (no event) until set.
    total_low_threshold: Option<usize>,
    /// The total buffered amount fell to its threshold and that is not yet polled.
    total_low_pending: bool,
}

impl SendQueue {
    pub(crate) fn new(config: SendQueueConfig) -> Self {
        Self {
            buffer_limit: config.buffer_limit,
            stream_count: config.streams,
            interleaving: config.interleaving,
            streams: Vec::new(),
            free: Vec::new(),
            index: StreamMap::default(),
            scheduler: StreamScheduler::new(config.scheduler),
            current: None,
            buffered: 0,
            used: 0,
            messages: 0,
            with_lifetime: 0,
            next_order: 0,
            low_events: VecDeque::new(),
            total_low_threshold: None,
            total_low_pending: false,
        }
    }

    // ---------------------------------------------------------------- getters

    /// Number of outbound streams.
    pub(crate) fn stream_count(&self) -> u16 {
        self.stream_count
    }

    /// Whether I-DATA numbering and interleaving are in use.
    pub(crate) fn interleaving(&self) -> bool {
        self.interleaving
    }

    /// The stream scheduler in use.
    pub(crate) fn scheduler(&self) -> Scheduler {
        self.scheduler.kind()
    }

    /// Bytes of `stream` queued and not yet handed out as fragments.
    pub(crate) fn buffered_amount(&self, stream: StreamId) -> usize {
        self.stream(stream).map_or(0, |s| s.buffered)
    }

    /// Bytes of all streams queued and not yet handed out.
    pub(crate) fn total_buffered(&self) -> usize {
        self.buffered
    }

    /// The buffered-amount-low threshold of `stream` (0 unless set).
    pub(crate) fn buffered_low_threshold(&self, stream: StreamId) -> usize {
        self.stream(stream).map_or(0, |s| s.low_threshold)
    }

    /// The threshold of the total buffered amount's low event (`None` until set).
    pub(crate) fn total_buffered_low_threshold(&self) -> Option<usize> {
        self.total_low_threshold
    }

    /// A stream's priority (lower values go first with [`Scheduler::Priority`]).
    pub(crate) fn priority(&self, stream: StreamId) -> u16 {
        match self.index.get(&stream) {
            Some(&slot) => self.scheduler.priority(slot),
            None => super::scheduler::DEFAULT_PRIORITY,
        }
    }

    /// A stream's weight (its share with [`Scheduler::WeightedFair`]).
    pub(crate) fn weight(&self, stream: StreamId) -> u16 {
        match self.index.get(&stream) {
            Some(&slot) => self.scheduler.weight(slot),
            None => super::scheduler::DEFAULT_WEIGHT,
        }
    }

    /// No message is queued (paused streams included).
    pub(crate) fn is_empty(&self) -> bool {
        self.messages == 0
    }

    /// Some stream can send now (`next_fragment` would return a fragment).
    pub(crate) fn has_data(&self) -> bool {
        self.current.is_some() || self.scheduler.has_scheduled()
    }

    // ---------------------------------------------------------------- configuration

    /// Changes the number of outbound streams (negotiation, RFC 6525 add-streams). Messages
    /// queued on streams that no longer exist are discarded with their stream state.
    pub(crate) fn set_stream_count(&mut self, streams: u16) {
        self.stream_count = streams;
        let total_before = self.buffered;
        for slot in 0..self.streams.len() {
            let slot = slot as u32;
            let Some(s) = self.streams.get_mut(slot as usize) else {
                continue;
            };
            if !s.live || s.id.0 < streams {
                continue;
            }
            for m in s.messages.drain(..) {
                self.used -= m.remaining() + MESSAGE_OVERHEAD;
                self.messages -= 1;
                self.with_lifetime -= usize::from(m.expires_at.is_some());
            }
            self.buffered -= s.buffered;
            s.buffered = 0;
            if self.current == Some(slot) {
                self.current = None;
            }
            self.free_slot(slot);
        }
        self.note_total_decrease(total_before);
    }

    /// Switches I-DATA numbering and interleaving on or off. Call it once the handshake has
    /// negotiated the extension, before any data is sent.
    pub(crate) fn set_interleaving(&mut self, interleaving: bool) {
        self.interleaving = interleaving;
    }

    /// Switches to another stream scheduler; queued messages keep their place in the queue.
    pub(crate) fn set_scheduler(&mut self, kind: Scheduler) {
        self.scheduler.set_kind(kind);
        self.reschedule_all();
    }

    /// Sets a stream's priority (lower values go first with [`Scheduler::Priority`]).
    pub(crate) fn set_priority(&mut self, stream: StreamId, priority: u16) {
        let slot = self.slot_for(stream);
        self.scheduler.set_priority(slot, priority);
        self.maybe_free(slot);
    }

    /// Sets a stream's weight (its share with [`Scheduler::WeightedFair`]; 0 counts as 1).
    pub(crate) fn set_weight(&mut self, stream: StreamId, weight: u16) {
        let slot = self.slot_for(stream);
        self.scheduler.set_weight(slot, weight);
        self.maybe_free(slot);
    }

    /// Sets the threshold at or below which `stream`'s buffered amount raises an event.
    pub(crate) fn set_buffered_low_threshold(&mut self, stream: StreamId, bytes: usize) {
        let slot = self.slot_for(stream);
        if let Some(s) = self.streams.get_mut(slot as usize) {
            s.low_threshold = bytes;
        }
        self.maybe_free(slot);
    }

    /// Sets the threshold at or below which the total buffered amount raises an event. Like a
    /// stream's, setting it raises nothing by itself: only a later fall from above does.
    pub(crate) fn set_total_buffered_low_threshold(&mut self, bytes: usize) {
        self.total_low_threshold = Some(bytes);
    }

    // ---------------------------------------------------------------- commands

    /// Queues a message on `stream`. Its sequence number is assigned when its first
    /// fragment is taken; `now` starts its PR-SCTP lifetime.
    pub(crate) fn push(
        &mut self,
        stream: StreamId,
        payload: Bytes,
        opts: &SendOptions,
        now: Instant,
    ) -> Result<(), SendError> {
        if stream.0 >= self.stream_count {
            return Err(SendError::StreamOutOfRange {
                stream,
                streams: self.stream_count,
            });
        }
        if payload.is_empty() {
            return Err(SendError::Empty);
        }
        let needed = payload.len().saturating_add(MESSAGE_OVERHEAD);
        let available = self.buffer_limit.saturating_sub(self.used);
        if needed > available {
            return Err(SendError::BufferFull { needed, available });
        }
        let slot = self.slot_for(stream);
        let order = self.next_order;
        self.next_order += 1;
        let expires_at = opts.lifetime.and_then(|d| now.checked_add(d));
        let len = payload.len();
        let Some(s) = self.streams.get_mut(slot as usize) else {
            return Ok(());
        };
        s.messages.push_back(Queued {
            payload,
            offset: 0,
            ppid: opts.ppid,
            unordered: opts.unordered,
            order,
            seq: 0,
            fragments: 0,
            expires_at,
            max_retransmissions: opts.max_retransmissions,
        });
        s.buffered += len;
        self.buffered += len;
        self.used += needed;
        self.messages += 1;
        self.with_lifetime += usize::from(expires_at.is_some());
        if let Some(head) = s.sendable_head() {
            self.scheduler.schedule(slot, head);
        }
        Ok(())
    }

    /// Tells the scheduler that a new packet starts (round robin per packet passes the turn
    /// on here, RFC 8260 §3.3). The association calls it before filling each packet.
    pub(crate) fn begin_packet(&mut self) {
        self.scheduler.begin_packet();
    }

    /// The payload length of the fragment `next_fragment(max_payload)` would return, without
    /// taking it; `usize::MAX` gives the whole rest of the next message (to decide whether it
    /// fits the packet unfragmented). `None` when there is nothing to send.
    pub(crate) fn peek_next_len(&mut self, max_payload: usize) -> Option<usize> {
        let slot = self.select()?;
        let head = self.streams.get(slot as usize)?.messages.front()?;
        Some(head.remaining().min(max_payload))
    }

    /// The next fragment, of at most `max_payload` bytes (`None` when there is nothing to
    /// send, or `max_payload` is 0).
    pub(crate) fn next_fragment(&mut self, max_payload: usize) -> Option<Fragment> {
        self.next_fragment_with_meta(max_payload).map(|(f, _)| f)
    }

    /// [`Self::next_fragment`], with the PR-SCTP parameters of its message.
    pub(crate) fn next_fragment_with_meta(
        &mut self,
        max_payload: usize,
    ) -> Option<(Fragment, MessageMeta)> {
        if max_payload == 0 {
            return None;
        }
        let slot = self.select()?;
        let interleaving = self.interleaving;
        let s = self.streams.get_mut(slot as usize)?;
        let msg = s.messages.front_mut()?;
        if !msg.started() {
            msg.seq = if msg.unordered {
                if interleaving {
                    // RFC 8260 §2.1: unordered messages have their own MID sequence.
                    let mid = s.next_unordered_mid;
                    s.next_unordered_mid = mid.next();
                    mid.get()
                } else {
                    // RFC 9260 §3.3.1: an unordered DATA chunk has no SSN; the receiver
                    // ignores the field.
                    0
                }
            } else if interleaving {
                let mid = s.next_mid;
                s.next_mid = mid.next();
                mid.get()
            } else {
                // RFC 9260 §6.5: the SSN goes up by one per ordered message and wraps from
                // 65535 to 0. Assigned now, at the first fragment, rather than at `push`.
                let ssn = s.next_ssn;
                s.next_ssn = ssn.next();
                u32::from(ssn.get())
            };
        }
        let remaining = msg.remaining();
        let take = remaining.min(max_payload);
        let ending = take == remaining;
        let fsn = msg.fragments;
        msg.fragments = msg.fragments.wrapping_add(1);
        let payload = if ending {
            let mut p = mem::take(&mut msg.payload);
            p.advance(msg.offset);
            p
        } else {
            let p = msg.payload.slice(msg.offset..msg.offset + take);
            msg.offset += take;
            p
        };
        let fragment = Fragment {
            stream: s.id,
            seq: msg.seq,
            // RFC 8260 §2.1: the FSN is 0 for the first fragment and goes up by one; DATA
            // has no FSN.
            fsn: if interleaving { fsn } else { 0 },
            ppid: msg.ppid,
            unordered: msg.unordered,
            beginning: fsn == 0,
            ending,
            payload,
        };
        let meta = MessageMeta {
            expires_at: msg.expires_at,
            max_retransmissions: msg.max_retransmissions,
        };
        let before = s.buffered;
        let total_before = self.buffered;
        s.buffered -= take;
        self.buffered -= take;
        self.used -= take;
        if ending {
            s.messages.pop_front();
            self.used -= MESSAGE_OVERHEAD;
            self.messages -= 1;
            self.with_lifetime -= usize::from(meta.expires_at.is_some());
        }
        note_decrease(s, before, &mut self.low_events);
        // RFC 9260 §6.9: "the TSNs for each fragment of a fragmented user message MUST be
        // strictly sequential" — without I-DATA nothing else may be sent until it ends.
        self.current = (!interleaving && !ending).then_some(slot);
        let head = s.sendable_head();
        self.scheduler
            .on_sent(slot, take, ending, head, interleaving);
        self.note_total_decrease(total_before);
        Some((fragment, meta))
    }

    /// Drops the rest of a partially sent message (PR-SCTP abandoned it, RFC 3758 §3.5:
    /// all of a message's fragments are abandoned together). `seq` is its SSN or MID.
    /// Returns whether such a message was queued.
    pub(crate) fn discard(&mut self, stream: StreamId, unordered: bool, seq: u32) -> bool {
        let Some(&slot) = self.index.get(&stream) else {
            return false;
        };
        let Some(s) = self.streams.get_mut(slot as usize) else {
            return false;
        };
        // Only the head of a stream can be partially sent.
        let Some(head) = s.messages.front() else {
            return false;
        };
        if !head.started() || head.unordered != unordered || head.seq != seq {
            return false;
        }
        let Some(m) = s.messages.pop_front() else {
            return false;
        };
        let before = s.buffered;
        let total_before = self.buffered;
        s.buffered -= m.remaining();
        self.forget(&m);
        if let Some(s) = self.streams.get_mut(slot as usize) {
            note_decrease(s, before, &mut self.low_events);
        }
        self.note_total_decrease(total_before);
        if self.current == Some(slot) {
            self.current = None;
        }
        self.refresh(slot);
        true
    }

    /// Drops the queued messages whose PR-SCTP lifetime (RFC 7496 §3.1) ended at or before
    /// `now` and that have not started; a started message's fate is the outstanding-data
    /// tracker's. Returns how many were dropped. Free while no queued message has a lifetime.
    pub(crate) fn discard_expired(&mut self, now: Instant) -> usize {
        if self.with_lifetime == 0 {
            return 0;
        }
        let mut dropped = 0;
        let total_before = self.buffered;
        for slot in 0..self.streams.len() {
            let slot = slot as u32;
            let Some(s) = self.streams.get_mut(slot as usize) else {
                continue;
            };
            if !s.live || s.messages.is_empty() {
                continue;
            }
            let before = s.buffered;
            let (mut bytes, mut count) = (0, 0);
            s.messages.retain(|m| {
                let expired = !m.started() && m.expires_at.is_some_and(|t| t <= now);
                if expired {
                    bytes += m.remaining();
                    count += 1;
                }
                !expired
            });
            if count == 0 {
                continue;
            }
            s.buffered -= bytes;
            note_decrease(s, before, &mut self.low_events);
            self.buffered -= bytes;
            self.used -= bytes + count * MESSAGE_OVERHEAD;
            self.messages -= count;
            self.with_lifetime -= count;
            dropped += count;
            self.refresh(slot);
        }
        self.note_total_decrease(total_before);
        dropped
    }

    /// RFC 6525 §5.1.2: streams about to be reset stop starting new messages; a message
    /// already started is finished first. Ids out of range are ignored.
    pub(crate) fn pause_streams(&mut self, streams: &[StreamId]) {
        for &id in streams {
            if id.0 >= self.stream_count {
                continue;
            }
            let slot = self.slot_for(id);
            if let Some(s) = self.streams.get_mut(slot as usize) {
                if s.reset == ResetState::Open {
                    s.reset = ResetState::Paused;
                }
            }
            self.refresh(slot);
        }
    }

    /// Moves the paused streams that have no partially sent message into the reset in
    /// flight and appends their ids (ascending) to `out`: the association puts them in an
    /// Outgoing SSN Reset Request.
    pub(crate) fn take_ready_to_reset(&mut self, out: &mut Vec<StreamId>) {
        let from = out.len();
        for s in &mut self.streams {
            let ready = s.live
                && s.reset == ResetState::Paused
                && s.messages.front().is_none_or(|m| !m.started());
            if ready {
                s.reset = ResetState::Resetting;
                out.push(s.id);
            }
        }
        if let Some(added) = out.get_mut(from..) {
            added.sort_unstable();
        }
    }

    /// The peer performed the reset in flight: those streams' sequence numbers start over at
    /// 0 (RFC 6525 §5.2.2; for I-DATA both MID sequences, RFC 8260 §2.3) and they resume.
    pub(crate) fn commit_reset(&mut self) {
        self.end_reset(true);
    }

    /// The peer refused the reset in flight (or it failed): those streams resume with their
    /// sequence numbers unchanged.
    pub(crate) fn rollback_reset(&mut self) {
        self.end_reset(false);
    }

    /// The peer restarted (RFC 9260 §5.2.4): every stream's sequence numbers start over, and
    /// a partially sent message is sent again from its first byte (the new association never
    /// saw its beginning). Unsent messages stay queued; resets in progress are forgotten.
    /// The re-queued bytes count against the limit again, which may leave it briefly
    /// exceeded (by at most one message per stream); `push` refuses until it is not.
    pub(crate) fn restart(&mut self) {
        self.current = None;
        for s in &mut self.streams {
            if !s.live {
                continue;
            }
            s.reset_sequence();
            s.reset = ResetState::Open;
            if let Some(m) = s.messages.front_mut() {
                if m.started() {
                    s.buffered += m.offset;
                    self.buffered += m.offset;
                    self.used += m.offset;
                    m.offset = 0;
                    m.fragments = 0;
                }
            }
        }
        self.scheduler.clear();
        self.reschedule_all();
    }

    /// Discards every message and all sequence state (abort, or a restart that drops the
    /// data). Settings — thresholds (the total's too), priorities, weights — are kept;
    /// pending low events are dropped.
    pub(crate) fn clear(&mut self) {
        self.current = None;
        self.scheduler.clear();
        self.low_events.clear();
        self.total_low_pending = false;
        for s in &mut self.streams {
            s.messages.clear();
            s.buffered = 0;
            s.reset_sequence();
            s.low_pending = false;
            s.reset = ResetState::Open;
        }
        self.buffered = 0;
        self.used = 0;
        self.messages = 0;
        self.with_lifetime = 0;
        for slot in 0..self.streams.len() {
            self.maybe_free(slot as u32);
        }
    }

    // ---------------------------------------------------------------- outputs

    /// The next stream whose buffered amount fell to or below its threshold since it was
    /// last above it (WebRTC's `bufferedamountlow`). Each crossing is reported once; crossings
    /// of a stream not yet polled are reported once in all.
    pub(crate) fn poll_low_event(&mut self) -> Option<StreamId> {
        while let Some(id) = self.low_events.pop_front() {
            let Some(&slot) = self.index.get(&id) else {
                continue;
            };
            let Some(s) = self.streams.get_mut(slot as usize) else {
                continue;
            };
            if s.low_pending {
                s.low_pending = false;
                self.maybe_free(slot);
                return Some(id);
            }
        }
        None
    }

    /// Whether the total buffered amount fell to or below its threshold since it was last
    /// above it, with the same rules as a stream's (`poll_low_event`): each crossing is
    /// reported once, and crossings not yet polled are reported once in all.
    pub(crate) fn poll_total_low_event(&mut self) -> bool {
        mem::take(&mut self.total_low_pending)
    }

    // ---------------------------------------------------------------- internals

    /// Raises the total's low event if the total buffered amount just fell from `before`,
    /// above its threshold, to at or below it. One comparison per fragment: the common case
    /// (still above, or already at or below) goes no further.
    fn note_total_decrease(&mut self, before: usize) {
        if self
            .total_low_threshold
            .is_some_and(|t| before > t && self.buffered <= t)
        {
            self.total_low_pending = true;
        }
    }

    fn stream(&self, id: StreamId) -> Option<&Stream> {
        let &slot = self.index.get(&id)?;
        self.streams.get(slot as usize)
    }

    /// The stream to take the next fragment from.
    fn select(&mut self) -> Option<u32> {
        if let Some(slot) = self.current {
            return Some(slot);
        }
        loop {
            let slot = self.scheduler.pick()?;
            let has_head = self
                .streams
                .get(slot as usize)
                .is_some_and(|s| s.sendable_head().is_some());
            if has_head {
                return Some(slot);
            }
            // Cannot happen (a stream is scheduled exactly while it has a sendable head);
            // should it, unscheduling it keeps the queue moving.
            self.scheduler.unschedule(slot);
        }
    }

    /// The slot of `id`, allocating its record on first use.
    fn slot_for(&mut self, id: StreamId) -> u32 {
        if let Some(&slot) = self.index.get(&id) {
            return slot;
        }
        let slot = match self.free.pop() {
            Some(slot) => {
                if let Some(s) = self.streams.get_mut(slot as usize) {
                    *s = Stream::new(id);
                }
                slot
            }
            None => {
                self.streams.push(Stream::new(id));
                (self.streams.len() - 1) as u32
            }
        };
        self.scheduler.ensure_slot(slot);
        self.index.insert(id, slot);
        slot
    }

    /// Frees `slot` if it holds nothing worth keeping.
    fn maybe_free(&mut self, slot: u32) {
        let pristine = self
            .streams
            .get(slot as usize)
            .is_some_and(|s| s.live && s.is_pristine());
        if pristine && self.scheduler.is_default(slot) && self.current != Some(slot) {
            self.free_slot(slot);
        }
    }

    fn free_slot(&mut self, slot: u32) {
        let Some(s) = self.streams.get_mut(slot as usize) else {
            return;
        };
        s.live = false;
        s.messages = VecDeque::new();
        s.low_pending = false;
        let id = s.id;
        self.index.remove(&id);
        self.scheduler.reset_slot(slot);
        self.free.push(slot);
    }

    /// Accounts for a message leaving the queue other than through its last fragment
    /// (the stream's own `buffered` is the caller's).
    fn forget(&mut self, m: &Queued) {
        self.buffered -= m.remaining();
        self.used -= m.remaining() + MESSAGE_OVERHEAD;
        self.messages -= 1;
        self.with_lifetime -= usize::from(m.expires_at.is_some());
    }

    /// Brings the scheduler in line with `slot`'s queue after a change outside
    /// `next_fragment`.
    fn refresh(&mut self, slot: u32) {
        match self
            .streams
            .get(slot as usize)
            .and_then(Stream::sendable_head)
        {
            Some(head) => self.scheduler.schedule(slot, head),
            None => self.scheduler.unschedule(slot),
        }
    }

    /// Schedules every stream with something to send, oldest head message first.
    fn reschedule_all(&mut self) {
        let mut heads: Vec<(u64, u32)> = self
            .streams
            .iter()
            .enumerate()
            .filter(|(_, s)| s.live)
            .filter_map(|(slot, s)| s.sendable_head().map(|h| (h, slot as u32)))
            .collect();
        heads.sort_unstable();
        for (head, slot) in heads {
            self.scheduler.schedule(slot, head);
        }
    }

    fn end_reset(&mut self, performed: bool) {
        for slot in 0..self.streams.len() {
            let slot = slot as u32;
            let Some(s) = self.streams.get_mut(slot as usize) else {
                continue;
            };
            if !s.live || s.reset != ResetState::Resetting {
                continue;
            }
            if performed {
                s.reset_sequence();
            }
            s.reset = ResetState::Open;
            self.refresh(slot);
            self.maybe_free(slot);
        }
    }
}

/// Raises `s`'s low event if its buffered amount just fell from above its threshold to at or
/// below it.
fn note_decrease(s: &mut Stream, before: usize, events: &mut VecDeque<StreamId>) {
    if before > s.low_threshold && s.buffered <= s.low_threshold && !s.low_pending {
        s.low_pending = true;
        events.push_back(s.id);
    }
}

#[cfg(test)]
mod tests {
    use core::time::Duration;

    use proptest::prelude::*;

    use super::*;

    const S0: StreamId = StreamId(0);
    const S1: StreamId = StreamId(1);
    const S2: StreamId = StreamId(2);
    const S3: StreamId = StreamId(3);

    fn queue(scheduler: Scheduler, interleaving: bool) -> SendQueue {
        SendQueue::new(SendQueueConfig {
            buffer_limit: 1 << 20,
            streams: 16,
            interleaving,
            scheduler,
        })
    }

    /// A message whose bytes are all `tag`.
    fn msg(len: usize, tag: u8) -> Bytes {
        Bytes::from(vec![tag; len])
    }

    fn push(q: &mut SendQueue, stream: StreamId, len: usize, tag: u8) {
        q.push(
            stream,
            msg(len, tag),
            &SendOptions::default(),
            Instant::now(),
        )
        .unwrap();
    }

    fn push_unordered(q: &mut SendQueue, stream: StreamId, len: usize, tag: u8) {
        let opts = SendOptions {
            unordered: true,
            ..SendOptions::default()
        };
        q.push(stream, msg(len, tag), &opts, Instant::now())
            .unwrap();
    }

    fn drain(q: &mut SendQueue, max: usize) -> Vec<Fragment> {
        core::iter::from_fn(|| q.next_fragment(max)).collect()
    }

    /// The tag of each fragment, in order.
    fn tags(fragments: &[Fragment]) -> Vec<u8> {
        fragments.iter().map(|f| f.payload[0]).collect()
    }

    #[test]
    fn fcfs_sends_in_push_order_across_streams() {
        let mut q = queue(Scheduler::Fcfs, false);
        push(&mut q, S1, 10, 1);
        push(&mut q, S2, 10, 2);
        push(&mut q, S1, 10, 3);
        push(&mut q, S3, 10, 4);
        push(&mut q, S2, 10, 5);
        assert_eq!(tags(&drain(&mut q, 1000)), [1, 2, 3, 4, 5]);
        assert!(q.is_empty() && !q.has_data());
    }

    #[test]
    fn fcfs_with_interleaving_still_sends_whole_messages_in_order() {
        let mut q = queue(Scheduler::Fcfs, true);
        push(&mut q, S1, 300, 1);
        push(&mut q, S2, 300, 2);
        assert_eq!(tags(&drain(&mut q, 100)), [1, 1, 1, 2, 2, 2]);
    }

    #[test]
    fn round_robin_alternates_streams_per_message() {
        let mut q = queue(Scheduler::RoundRobin, false);
        push(&mut q, S1, 10, 1);
        push(&mut q, S1, 10, 2);
        push(&mut q, S1, 10, 3);
        push(&mut q, S2, 10, 4);
        push(&mut q, S2, 10, 5);
        assert_eq!(tags(&drain(&mut q, 1000)), [1, 4, 2, 5, 3]);
    }

    #[test]
    fn round_robin_takes_a_newly_active_stream_in_turn() {
        let mut q = queue(Scheduler::RoundRobin, false);
        push(&mut q, S1, 10, 1);
        push(&mut q, S1, 10, 2);
        push(&mut q, S2, 10, 3);
        assert_eq!(q.next_fragment(100).unwrap().payload[0], 1);
        push(&mut q, S3, 10, 4);
        // S2 was waiting before S3 arrived; S1 went to the back after its message.
        assert_eq!(tags(&drain(&mut q, 1000)), [3, 2, 4]);
    }

    #[test]
    fn round_robin_per_packet_switches_streams_at_packet_starts() {
        let mut q = queue(Scheduler::RoundRobinPerPacket, false);
        push(&mut q, S1, 100, 1);
        push(&mut q, S1, 100, 2);
        push(&mut q, S1, 100, 3);
        push(&mut q, S2, 100, 4);
        push(&mut q, S2, 100, 5);
        let mut packets = Vec::new();
        loop {
            q.begin_packet();
            let mut room = 250;
            let mut packet = Vec::new();
            while q.peek_next_len(usize::MAX).is_some_and(|n| n <= room) {
                let f = q.next_fragment(room).unwrap();
                room -= f.payload.len();
                packet.push(f.payload[0]);
            }
            if packet.is_empty() {
                break;
            }
            packets.push(packet);
        }
        assert_eq!(packets, [vec![1, 2], vec![4, 5], vec![3]]);
    }

    #[test]
    fn priority_serves_lower_values_first_and_equal_ones_in_turn() {
        let mut q = queue(Scheduler::Priority, false);
        q.set_priority(S1, 10);
        q.set_priority(S2, 1);
        q.set_priority(S3, 1);
        push(&mut q, S1, 10, 1);
        push(&mut q, S1, 10, 2);
        push(&mut q, S2, 10, 3);
        push(&mut q, S2, 10, 4);
        push(&mut q, S3, 10, 5);
        assert_eq!(tags(&drain(&mut q, 1000)), [3, 5, 4, 1, 2]);
        assert_eq!(q.priority(S1), 10);
        assert_eq!(q.priority(S0), super::super::scheduler::DEFAULT_PRIORITY);
    }

    #[test]
    fn priority_change_applies_to_a_waiting_stream() {
        let mut q = queue(Scheduler::Priority, false);
        push(&mut q, S1, 10, 1);
        push(&mut q, S2, 10, 2);
        q.set_priority(S2, 0);
        assert_eq!(tags(&drain(&mut q, 1000)), [2, 1]);
    }

    #[test]
    fn high_priority_preempts_a_started_message_only_with_interleaving() {
        for interleaving in [false, true] {
            let mut q = queue(Scheduler::Priority, interleaving);
            q.set_priority(S1, 100);
            q.set_priority(S2, 1);
            push(&mut q, S1, 300, 1);
            assert_eq!(q.next_fragment(100).unwrap().payload[0], 1);
            push(&mut q, S2, 100, 2);
            let expected: &[u8] = if interleaving { &[2, 1, 1] } else { &[1, 1, 2] };
            assert_eq!(tags(&drain(&mut q, 100)), expected, "{interleaving}");
        }
    }

    #[test]
    fn weighted_fair_queueing_shares_bytes_by_weight() {
        for interleaving in [false, true] {
            let mut q = queue(Scheduler::WeightedFair, interleaving);
            q.set_weight(S1, 768);
            q.set_weight(S2, 256);
            for _ in 0..400 {
                push(&mut q, S1, 100, 1);
                push(&mut q, S2, 100, 2);
            }
            let sent: Vec<u8> = (0..200)
                .map(|_| q.next_fragment(1000).unwrap().payload[0])
                .collect();
            let s1 = sent.iter().filter(|&&t| t == 1).count();
            assert!((148..=152).contains(&s1), "S1 got {s1} of 200");
        }
    }

    #[test]
    fn weighted_fair_queueing_counts_bytes_not_messages() {
        let mut q = queue(Scheduler::WeightedFair, false);
        // Equal weights; S1 sends messages four times as large.
        for _ in 0..100 {
            push(&mut q, S1, 400, 1);
        }
        for _ in 0..400 {
            push(&mut q, S2, 100, 2);
        }
        let (mut b1, mut b2) = (0, 0);
        for _ in 0..200 {
            let f = q.next_fragment(1000).unwrap();
            if f.stream == S1 {
                b1 += f.payload.len();
            } else {
                b2 += f.payload.len();
            }
        }
        let diff = b1.abs_diff(b2);
        assert!(diff <= 400, "S1 {b1} bytes, S2 {b2} bytes");
    }

    #[test]
    fn switching_scheduler_keeps_the_queue() {
        let mut q = queue(Scheduler::RoundRobin, false);
        push(&mut q, S1, 10, 1);
        push(&mut q, S1, 10, 2);
        push(&mut q, S2, 10, 3);
        q.set_scheduler(Scheduler::Fcfs);
        assert_eq!(q.scheduler(), Scheduler::Fcfs);
        assert_eq!(tags(&drain(&mut q, 1000)), [1, 2, 3]);
    }

    #[test]
    fn fragments_have_the_right_sizes_and_flags() {
        let mut q = queue(Scheduler::RoundRobin, false);
        let opts = SendOptions {
            ppid: Ppid(51),
            ..SendOptions::default()
        };
        q.push(S1, msg(2500, 7), &opts, Instant::now()).unwrap();
        let f = drain(&mut q, 1000);
        let lens: Vec<usize> = f.iter().map(|f| f.payload.len()).collect();
        assert_eq!(lens, [1000, 1000, 500]);
        let flags: Vec<(bool, bool)> = f.iter().map(|f| (f.beginning, f.ending)).collect();
        assert_eq!(flags, [(true, false), (false, false), (false, true)]);
        assert!(f.iter().all(|f| f.stream == S1
            && f.seq == 0
            && f.fsn == 0
            && f.ppid == Ppid(51)
            && !f.unordered));

        push(&mut q, S1, 1000, 8);
        let f = q.next_fragment(1000).unwrap();
        assert!(f.beginning && f.ending && f.payload.len() == 1000 && f.seq == 1);
        assert_eq!(q.next_fragment(1000), None);
    }

    #[test]
    fn zero_max_payload_takes_nothing() {
        let mut q = queue(Scheduler::RoundRobin, false);
        push(&mut q, S1, 10, 1);
        assert_eq!(q.next_fragment(0), None);
        assert_eq!(q.peek_next_len(0), Some(0));
        assert_eq!(q.buffered_amount(S1), 10);
    }

    #[test]
    fn peek_reports_without_taking() {
        let mut q = queue(Scheduler::RoundRobin, false);
        push(&mut q, S1, 2500, 1);
        push(&mut q, S2, 10, 2);
        assert_eq!(q.peek_next_len(usize::MAX), Some(2500));
        assert_eq!(q.peek_next_len(1000), Some(1000));
        assert_eq!(q.peek_next_len(1000), Some(1000));
        assert_eq!(q.next_fragment(1000).unwrap().stream, S1);
        assert_eq!(q.peek_next_len(usize::MAX), Some(1500));
        drain(&mut q, 2000);
        assert_eq!(q.peek_next_len(usize::MAX), None);
    }

    #[test]
    fn fragments_are_views_of_the_queued_message() {
        let mut q = queue(Scheduler::RoundRobin, true);
        let data: Vec<u8> = (0..5000u32).map(|i| i as u8).collect();
        let message = Bytes::from(data);
        let base = message.as_ptr() as usize;
        q.push(S1, message, &SendOptions::default(), Instant::now())
            .unwrap();
        let mut offset = 0;
        for f in drain(&mut q, 1200) {
            assert_eq!(f.payload.as_ptr() as usize, base + offset, "copied");
            offset += f.payload.len();
        }
        assert_eq!(offset, 5000);
    }

    #[test]
    fn ssn_is_assigned_per_stream_and_wraps_at_65536() {
        let mut q = queue(Scheduler::RoundRobin, false);
        push(&mut q, S1, 10, 1);
        push(&mut q, S2, 10, 2);
        push(&mut q, S1, 10, 3);
        let seqs: Vec<(StreamId, u32)> = drain(&mut q, 100)
            .iter()
            .map(|f| (f.stream, f.seq))
            .collect();
        assert_eq!(seqs, [(S1, 0), (S2, 0), (S1, 1)]);

        let mut q = queue(Scheduler::RoundRobin, false);
        for i in 0..=65536u32 {
            push(&mut q, S1, 1, 0);
            let f = q.next_fragment(100).unwrap();
            assert_eq!(f.seq, i % 65536);
        }
    }

    #[test]
    fn ssn_is_assigned_at_the_first_fragment_not_at_push() {
        let start = Instant::now();
        let mut q = queue(Scheduler::RoundRobin, false);
        let short = SendOptions {
            lifetime: Some(Duration::from_millis(10)),
            ..SendOptions::default()
        };
        q.push(S1, msg(10, 1), &short, start).unwrap();
        push(&mut q, S1, 10, 2);
        assert_eq!(q.discard_expired(start + Duration::from_millis(9)), 0);
        assert_eq!(q.discard_expired(start + Duration::from_millis(10)), 1);
        let f = q.next_fragment(100).unwrap();
        assert_eq!((f.payload[0], f.seq), (2, 0));
        assert_eq!(q.total_buffered(), 0);
    }

    #[test]
    fn a_started_message_does_not_expire_in_the_queue() {
        let start = Instant::now();
        let mut q = queue(Scheduler::RoundRobin, false);
        let short = SendOptions {
            lifetime: Some(Duration::from_millis(10)),
            max_retransmissions: Some(3),
            ..SendOptions::default()
        };
        q.push(S1, msg(300, 1), &short, start).unwrap();
        let (_, meta) = q.next_fragment_with_meta(100).unwrap();
        assert_eq!(
            meta,
            MessageMeta {
                expires_at: Some(start + Duration::from_millis(10)),
                max_retransmissions: Some(3),
            }
        );
        assert_eq!(q.discard_expired(start + Duration::from_secs(1)), 0);
        assert_eq!(drain(&mut q, 100).len(), 2);
        assert_eq!(q.with_lifetime, 0);
    }

    #[test]
    fn unordered_data_has_no_ssn_and_does_not_consume_one() {
        let mut q = queue(Scheduler::RoundRobin, false);
        push(&mut q, S1, 10, 1);
        push_unordered(&mut q, S1, 10, 2);
        push(&mut q, S1, 10, 3);
        let f = drain(&mut q, 100);
        let seqs: Vec<(u32, bool)> = f.iter().map(|f| (f.seq, f.unordered)).collect();
        assert_eq!(seqs, [(0, false), (0, true), (1, false)]);
    }

    #[test]
    fn idata_numbers_messages_with_mid_and_fragments_with_fsn() {
        let mut q = queue(Scheduler::RoundRobin, true);
        push(&mut q, S1, 2500, 1);
        push(&mut q, S1, 10, 2);
        push_unordered(&mut q, S1, 1500, 3);
        push_unordered(&mut q, S1, 10, 4);
        push(&mut q, S1, 10, 5);
        let f: Vec<(u8, u32, u32, bool, bool, bool)> = drain(&mut q, 1000)
            .iter()
            .map(|f| {
                (
                    f.payload[0],
                    f.seq,
                    f.fsn,
                    f.unordered,
                    f.beginning,
                    f.ending,
                )
            })
            .collect();
        assert_eq!(
            f,
            [
                (1, 0, 0, false, true, false),
                (1, 0, 1, false, false, false),
                (1, 0, 2, false, false, true),
                (2, 1, 0, false, true, true),
                // Unordered messages have their own MID sequence (RFC 8260 §2.1).
                (3, 0, 0, true, true, false),
                (3, 0, 1, true, false, true),
                (4, 1, 0, true, true, true),
                (5, 2, 0, false, true, true),
            ]
        );
    }

    #[test]
    fn mid_is_32_bits() {
        let mut q = queue(Scheduler::RoundRobin, true);
        for i in 0..=65536u32 {
            push(&mut q, S1, 1, 0);
            assert_eq!(q.next_fragment(100).unwrap().seq, i);
        }
    }

    #[test]
    fn data_never_interleaves_a_started_message_idata_does() {
        for interleaving in [false, true] {
            let mut q = queue(Scheduler::RoundRobin, interleaving);
            push(&mut q, S1, 3000, 1);
            push(&mut q, S2, 3000, 2);
            let expected: &[u8] = if interleaving {
                &[1, 2, 1, 2, 1, 2]
            } else {
                &[1, 1, 1, 2, 2, 2]
            };
            assert_eq!(tags(&drain(&mut q, 1000)), expected, "{interleaving}");
        }
    }

    #[test]
    fn data_finishes_a_started_message_even_when_a_new_one_arrives() {
        let mut q = queue(Scheduler::RoundRobin, false);
        push(&mut q, S1, 3000, 1);
        assert_eq!(q.next_fragment(1000).unwrap().payload[0], 1);
        push(&mut q, S2, 10, 2);
        push(&mut q, S2, 10, 3);
        assert_eq!(tags(&drain(&mut q, 1000)), [1, 1, 2, 3]);
    }

    #[test]
    fn push_errors() {
        let mut q = SendQueue::new(SendQueueConfig {
            buffer_limit: 1000 + MESSAGE_OVERHEAD,
            streams: 4,
            ..SendQueueConfig::default()
        });
        let now = Instant::now();
        let o = SendOptions::default();
        assert_eq!(
            q.push(StreamId(4), msg(1, 0), &o, now),
            Err(SendError::StreamOutOfRange {
                stream: StreamId(4),
                streams: 4
            })
        );
        assert_eq!(q.push(S1, Bytes::new(), &o, now), Err(SendError::Empty));
        assert_eq!(
            q.push(S1, msg(1001, 0), &o, now),
            Err(SendError::BufferFull {
                needed: 1001 + MESSAGE_OVERHEAD,
                available: 1000 + MESSAGE_OVERHEAD
            })
        );
        q.push(S1, msg(1000, 0), &o, now).unwrap();
        assert_eq!(
            q.push(S2, msg(1, 0), &o, now),
            Err(SendError::BufferFull {
                needed: 1 + MESSAGE_OVERHEAD,
                available: 0
            })
        );
        // Handing out fragments frees room.
        q.next_fragment(500).unwrap();
        q.push(S2, msg(500 - MESSAGE_OVERHEAD, 0), &o, now).unwrap();
        assert!(q.push(S2, msg(1, 0), &o, now).is_err());
        // Errors leave no trace.
        assert_eq!(q.total_buffered(), 1000 - MESSAGE_OVERHEAD);
        assert!(q.stream(StreamId(3)).is_none());
        // The messages are documented.
        assert_eq!(SendError::Empty.to_string(), "cannot send an empty message");
    }

    #[test]
    fn buffered_amounts_track_bytes_not_yet_handed_out() {
        let mut q = queue(Scheduler::RoundRobin, false);
        push(&mut q, S1, 2500, 1);
        push(&mut q, S2, 100, 2);
        assert_eq!(q.buffered_amount(S1), 2500);
        assert_eq!(q.buffered_amount(S2), 100);
        assert_eq!(q.buffered_amount(S3), 0);
        assert_eq!(q.total_buffered(), 2600);
        q.next_fragment(1000);
        assert_eq!(q.buffered_amount(S1), 1500);
        assert_eq!(q.total_buffered(), 1600);
        assert_eq!(q.used, 1600 + 2 * MESSAGE_OVERHEAD);
        drain(&mut q, 1000);
        assert_eq!((q.total_buffered(), q.used, q.messages), (0, 0, 0));
        assert!(q.is_empty());
    }

    #[test]
    fn low_event_fires_once_per_crossing() {
        let mut q = queue(Scheduler::RoundRobin, false);
        q.set_buffered_low_threshold(S1, 1000);
        assert_eq!(q.buffered_low_threshold(S1), 1000);
        push(&mut q, S1, 3000, 1);
        q.next_fragment(1000);
        assert_eq!(q.poll_low_event(), None, "2000 > 1000");
        q.next_fragment(1000);
        assert_eq!(q.poll_low_event(), Some(S1), "fell to 1000");
        assert_eq!(q.poll_low_event(), None);
        q.next_fragment(500);
        q.next_fragment(500);
        assert_eq!(q.poll_low_event(), None, "already below");
        // Above again, then below again: a second event.
        push(&mut q, S1, 1500, 2);
        q.next_fragment(1000);
        assert_eq!(q.poll_low_event(), Some(S1));
        assert_eq!(q.poll_low_event(), None);
    }

    #[test]
    fn low_events_not_yet_polled_are_coalesced_per_stream() {
        let mut q = queue(Scheduler::RoundRobin, false);
        push(&mut q, S1, 10, 1);
        q.next_fragment(100);
        push(&mut q, S2, 10, 2);
        push(&mut q, S1, 10, 3);
        drain(&mut q, 100);
        // Threshold 0: each stream emptied (S1 twice).
        assert_eq!(q.poll_low_event(), Some(S1));
        assert_eq!(q.poll_low_event(), Some(S2));
        assert_eq!(q.poll_low_event(), None);
    }

    #[test]
    fn no_low_event_without_being_above_the_threshold() {
        let mut q = queue(Scheduler::RoundRobin, false);
        q.set_buffered_low_threshold(S1, 5000);
        push(&mut q, S1, 1000, 1);
        drain(&mut q, 100);
        assert_eq!(q.poll_low_event(), None);
    }

    #[test]
    fn discarding_expired_messages_lowers_the_buffered_amount_too() {
        let start = Instant::now();
        let mut q = queue(Scheduler::RoundRobin, false);
        q.set_buffered_low_threshold(S1, 100);
        let short = SendOptions {
            lifetime: Some(Duration::from_millis(1)),
            ..SendOptions::default()
        };
        q.push(S1, msg(1000, 1), &short, start).unwrap();
        assert_eq!(q.discard_expired(start + Duration::from_secs(1)), 1);
        assert_eq!(q.poll_low_event(), Some(S1));
        assert!(!q.has_data() && q.is_empty());
    }

    #[test]
    fn total_low_event_fires_once_per_crossing_across_streams() {
        let mut q = queue(Scheduler::RoundRobin, false);
        assert_eq!(q.total_buffered_low_threshold(), None);
        push(&mut q, S1, 100, 0);
        drain(&mut q, 100);
        assert!(
            !q.poll_total_low_event(),
            "no event before a threshold is set"
        );
        q.set_total_buffered_low_threshold(1000);
        assert_eq!(q.total_buffered_low_threshold(), Some(1000));
        assert!(!q.poll_total_low_event(), "setting it raises nothing");
        push(&mut q, S1, 1500, 1);
        push(&mut q, S2, 1500, 2);
        q.next_fragment(1000);
        q.next_fragment(500);
        assert!(!q.poll_total_low_event(), "1500 > 1000");
        q.next_fragment(500);
        assert!(q.poll_total_low_event(), "fell to 1000 over both streams");
        assert!(!q.poll_total_low_event());
        drain(&mut q, 100);
        assert!(!q.poll_total_low_event(), "already below");
        // Above again, below again, twice before a poll: one event.
        push(&mut q, S1, 1200, 3);
        q.next_fragment(1200);
        push(&mut q, S2, 1200, 4);
        q.next_fragment(1200);
        assert!(q.poll_total_low_event());
        assert!(!q.poll_total_low_event());
    }

    #[test]
    fn total_low_event_follows_discards_and_is_dropped_by_clear() {
        let start = Instant::now();
        let mut q = queue(Scheduler::RoundRobin, false);
        q.set_total_buffered_low_threshold(100);
        let short = SendOptions {
            lifetime: Some(Duration::from_millis(1)),
            ..SendOptions::default()
        };
        q.push(S1, msg(1000, 1), &short, start).unwrap();
        assert_eq!(q.discard_expired(start + Duration::from_secs(1)), 1);
        assert!(q.poll_total_low_event(), "expiry");
        push(&mut q, S2, 1000, 2);
        let f = q.next_fragment(300).unwrap();
        assert!(q.discard(S2, false, f.seq));
        assert!(q.poll_total_low_event(), "abandoned rest of a message");
        push(&mut q, S1, 1000, 3);
        drain(&mut q, 1000);
        q.clear();
        assert!(!q.poll_total_low_event(), "pending event dropped");
        assert_eq!(q.total_buffered_low_threshold(), Some(100), "setting kept");
    }

    #[test]
    fn reset_waits_for_a_started_message_then_restarts_numbering() {
        for commit in [true, false] {
            let mut q = queue(Scheduler::RoundRobin, false);
            push(&mut q, S1, 10, 1);
            q.next_fragment(100);
            push(&mut q, S1, 2000, 2);
            push(&mut q, S1, 10, 3);
            push(&mut q, S2, 10, 4);
            assert_eq!(q.next_fragment(1000).unwrap().seq, 1);
            q.pause_streams(&[S1, StreamId(99)]);
            let mut ready = Vec::new();
            q.take_ready_to_reset(&mut ready);
            assert!(ready.is_empty(), "S1 has a message half sent");
            // The started message is finished; S2 goes on; S1's next message waits.
            let f = drain(&mut q, 1000);
            assert_eq!(tags(&f), [2, 4]);
            assert!(!q.has_data() && !q.is_empty());
            q.take_ready_to_reset(&mut ready);
            assert_eq!(ready, [S1]);
            q.take_ready_to_reset(&mut ready);
            assert_eq!(ready, [S1], "taken once");
            if commit {
                q.commit_reset();
            } else {
                q.rollback_reset();
            }
            let f = q.next_fragment(1000).unwrap();
            assert_eq!(f.payload[0], 3);
            assert_eq!(f.seq, if commit { 0 } else { 2 });
        }
    }

    #[test]
    fn a_stream_paused_while_idle_is_ready_at_once() {
        let mut q = queue(Scheduler::RoundRobin, true);
        q.pause_streams(&[S1, S2]);
        push(&mut q, S2, 10, 1);
        assert!(!q.has_data());
        let mut ready = Vec::new();
        q.take_ready_to_reset(&mut ready);
        assert_eq!(ready, [S1, S2]);
        q.commit_reset();
        assert_eq!(q.next_fragment(100).unwrap().seq, 0);
    }

    #[test]
    fn discard_drops_the_rest_of_an_abandoned_message() {
        let mut q = queue(Scheduler::RoundRobin, true);
        push(&mut q, S1, 3000, 1);
        push(&mut q, S1, 10, 2);
        let first = q.next_fragment(1000).unwrap();
        assert!(!q.discard(S1, false, first.seq + 1), "wrong MID");
        assert!(!q.discard(S1, true, first.seq), "wrong U bit");
        assert!(!q.discard(S2, false, first.seq), "wrong stream");
        assert!(q.discard(S1, false, first.seq));
        assert_eq!(q.buffered_amount(S1), 10);
        let f = q.next_fragment(1000).unwrap();
        assert_eq!((f.payload[0], f.seq, f.beginning), (2, 1, true));
        // An unstarted message is not "partially sent".
        push(&mut q, S1, 10, 3);
        assert!(!q.discard(S1, false, 2));
    }

    #[test]
    fn discard_ends_the_data_message_in_progress() {
        let mut q = queue(Scheduler::RoundRobin, false);
        push(&mut q, S1, 3000, 1);
        push(&mut q, S2, 10, 2);
        let first = q.next_fragment(1000).unwrap();
        assert!(q.discard(S1, false, first.seq));
        assert_eq!(tags(&drain(&mut q, 1000)), [2]);
        assert_eq!(q.total_buffered(), 0);
    }

    #[test]
    fn fewer_streams_discard_the_removed_streams_data() {
        let mut q = queue(Scheduler::RoundRobin, false);
        push(&mut q, StreamId(10), 3000, 1);
        push(&mut q, S1, 10, 2);
        q.next_fragment(1000);
        q.set_stream_count(8);
        assert_eq!(q.stream_count(), 8);
        assert_eq!(q.buffered_amount(StreamId(10)), 0);
        assert_eq!(q.total_buffered(), 10);
        assert_eq!(tags(&drain(&mut q, 1000)), [2]);
        assert!(q
            .push(
                StreamId(10),
                msg(1, 0),
                &SendOptions::default(),
                Instant::now()
            )
            .is_err());
        q.set_stream_count(16);
        push(&mut q, StreamId(10), 10, 3);
        assert_eq!(q.next_fragment(100).unwrap().seq, 0, "state starts over");
    }

    #[test]
    fn clear_discards_everything_but_settings() {
        let mut q = queue(Scheduler::Priority, false);
        q.set_priority(S2, 5);
        push(&mut q, S1, 3000, 1);
        push(&mut q, S2, 10, 2);
        q.next_fragment(100);
        q.clear();
        assert!(q.is_empty() && !q.has_data());
        assert_eq!((q.total_buffered(), q.used), (0, 0));
        assert_eq!(q.next_fragment(100), None);
        assert_eq!(q.poll_low_event(), None);
        assert_eq!(q.priority(S2), 5);
        // S1 held nothing worth keeping: its record was freed.
        assert!(q.stream(S1).is_none());
        push(&mut q, S2, 10, 3);
        assert_eq!(q.next_fragment(100).unwrap().seq, 0);
    }

    #[test]
    fn restart_resends_a_partial_message_from_its_start() {
        let mut q = queue(Scheduler::RoundRobin, false);
        push(&mut q, S1, 10, 1);
        q.next_fragment(100);
        push(&mut q, S1, 2500, 2);
        q.next_fragment(1000);
        assert_eq!(q.buffered_amount(S1), 1500);
        q.restart();
        assert_eq!(q.buffered_amount(S1), 2500);
        let f = drain(&mut q, 1000);
        assert_eq!(f.len(), 3);
        assert!(f[0].beginning && f[0].seq == 0 && f[2].ending);
        assert_eq!(f.iter().map(|f| f.payload.len()).sum::<usize>(), 2500);
    }

    #[test]
    fn stream_state_exists_only_for_streams_used() {
        let mut q = SendQueue::new(SendQueueConfig {
            streams: u16::MAX,
            ..SendQueueConfig::default()
        });
        push(&mut q, StreamId(65_000), 10, 1);
        assert_eq!(q.streams.len(), 1);
        q.set_buffered_low_threshold(StreamId(7), 10);
        q.set_buffered_low_threshold(StreamId(7), 0);
        assert_eq!(q.streams.len(), 2);
        assert!(q.stream(StreamId(7)).is_none(), "default settings: freed");
        push(&mut q, StreamId(9), 10, 1);
        assert_eq!(q.streams.len(), 2, "the freed slot is reused");
        assert_eq!(q.index.len(), 2);
    }

    // ------------------------------------------------------------ property test

    #[derive(Debug, Clone)]
    enum Op {
        Push {
            stream: u16,
            len: usize,
            unordered: bool,
        },
        Take {
            max: usize,
        },
        Packet,
        /// PR-SCTP abandons the message in progress on a stream, if any.
        Abandon {
            stream: u16,
        },
        /// An RFC 6525 reset of a stream; performed when the stream is ready.
        Reset {
            stream: u16,
            commit: bool,
        },
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0u16..5, 1usize..3000, any::<bool>()).prop_map(|(stream, len, unordered)| {
                Op::Push {
                    stream,
                    len,
                    unordered,
                }
            }),
            (1usize..1500).prop_map(|max| Op::Take { max }),
            Just(Op::Packet),
            (0u16..5).prop_map(|stream| Op::Abandon { stream }),
            (0u16..5, any::<bool>()).prop_map(|(stream, commit)| Op::Reset { stream, commit }),
        ]
    }

    fn scheduler() -> impl Strategy<Value = Scheduler> {
        prop_oneof![
            Just(Scheduler::Fcfs),
            Just(Scheduler::RoundRobin),
            Just(Scheduler::RoundRobinPerPacket),
            Just(Scheduler::Priority),
            Just(Scheduler::WeightedFair),
        ]
    }

    /// Checks each fragment as a receiver would, and every stream's messages against what
    /// was pushed.
    #[derive(Default)]
    struct Checker {
        interleaving: bool,
        /// Per stream: the messages pushed and not yet fully received.
        pushed: HashMap<u16, VecDeque<(Bytes, bool)>>,
        /// Per stream: the message being reassembled (seq, unordered, next fsn, bytes).
        partial: HashMap<u16, (u32, bool, u32, Vec<u8>)>,
        /// DATA: the stream whose message is in progress (nothing else may come).
        in_progress: Option<u16>,
        next_ordered: HashMap<u16, u32>,
        next_unordered: HashMap<u16, u32>,
        bytes_pushed: usize,
        bytes_taken: usize,
        bytes_dropped: usize,
    }

    impl Checker {
        /// PR-SCTP abandons `stream`'s partially sent message; the queue must agree on
        /// which one that is.
        fn abandon(&mut self, q: &mut SendQueue, stream: u16) {
            let id = StreamId(stream);
            match self.partial.remove(&stream) {
                Some((seq, unordered, _, taken)) => {
                    assert!(q.discard(id, unordered, seq));
                    let (whole, _) = self
                        .pushed
                        .get_mut(&stream)
                        .and_then(VecDeque::pop_front)
                        .unwrap();
                    self.bytes_dropped += whole.len() - taken.len();
                    if self.in_progress == Some(stream) {
                        self.in_progress = None;
                    }
                }
                None => {
                    assert!(!q.discard(id, false, 0) && !q.discard(id, true, 0));
                }
            }
        }

        /// The streams in `ready` were reset (`commit`) or not.
        fn reset(&mut self, q: &mut SendQueue, ready: &[StreamId], commit: bool) {
            if commit {
                q.commit_reset();
                for s in ready {
                    self.next_ordered.remove(&s.0);
                    self.next_unordered.remove(&s.0);
                }
            } else {
                q.rollback_reset();
            }
        }

        fn fragment(&mut self, f: &Fragment, max: usize) {
            let s = f.stream.0;
            assert!(!f.payload.is_empty() && f.payload.len() <= max);
            self.bytes_taken += f.payload.len();
            if !self.interleaving {
                if let Some(cur) = self.in_progress {
                    assert_eq!(cur, s, "DATA interleaved a started message");
                }
                assert_eq!(f.fsn, 0);
            }
            if f.beginning {
                assert!(!self.partial.contains_key(&s), "B while a message is open");
                let expected = if f.unordered {
                    if self.interleaving {
                        let n = self.next_unordered.entry(s).or_default();
                        let v = *n;
                        *n = n.wrapping_add(1);
                        v
                    } else {
                        0
                    }
                } else {
                    let n = self.next_ordered.entry(s).or_default();
                    let v = *n;
                    *n = if self.interleaving {
                        n.wrapping_add(1)
                    } else {
                        (*n + 1) % 65536
                    };
                    v
                };
                assert_eq!(f.seq, expected, "sequence number");
                self.partial.insert(s, (f.seq, f.unordered, 0, Vec::new()));
            }
            let p = self.partial.get_mut(&s).expect("fragment without B");
            assert_eq!(
                (p.0, p.1),
                (f.seq, f.unordered),
                "seq/U changed mid-message"
            );
            if self.interleaving {
                assert_eq!(f.fsn, p.2, "FSN");
            }
            p.2 += 1;
            p.3.extend_from_slice(&f.payload);
            self.in_progress = Some(s);
            if f.ending {
                let (_, unordered, _, bytes) = self.partial.remove(&s).unwrap();
                let (want, want_unordered) = self
                    .pushed
                    .get_mut(&s)
                    .and_then(VecDeque::pop_front)
                    .expect("more messages than pushed");
                assert_eq!(&bytes[..], &want[..], "message bytes");
                assert_eq!(unordered, want_unordered);
                self.in_progress = None;
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn every_byte_comes_out_once_in_stream_order(
            interleaving in any::<bool>(),
            kind in scheduler(),
            ops in proptest::collection::vec(op(), 1..200),
        ) {
            let mut q = SendQueue::new(SendQueueConfig {
                buffer_limit: 64 * 1024,
                streams: 4, // stream 4 is out of range
                interleaving,
                scheduler: kind,
            });
            q.set_priority(S1, 1);
            q.set_weight(S2, 1024);
            const TOTAL_LOW: usize = 2000;
            q.set_total_buffered_low_threshold(TOTAL_LOW);
            let mut c = Checker { interleaving, ..Checker::default() };
            let mut counter = 0u32;
            let now = Instant::now();
            for op in ops {
                let total_before = q.total_buffered();
                match op {
                    Op::Push { stream, len, unordered } => {
                        counter += 1;
                        let data: Vec<u8> = (0..len)
                            .map(|i| (counter as usize * 31 + i) as u8)
                            .collect();
                        let data = Bytes::from(data);
                        let opts = SendOptions { unordered, ..SendOptions::default() };
                        match q.push(StreamId(stream), data.clone(), &opts, now) {
                            Ok(()) => {
                                c.pushed.entry(stream).or_default().push_back((data, unordered));
                                c.bytes_pushed += len;
                            }
                            Err(SendError::StreamOutOfRange { .. }) => prop_assert_eq!(stream, 4),
                            Err(SendError::BufferFull { needed, available }) => {
                                prop_assert!(needed > available);
                            }
                            Err(e) => prop_assert!(false, "{e}"),
                        }
                    }
                    Op::Take { max } => {
                        if let Some(f) = q.next_fragment(max) {
                            c.fragment(&f, max);
                        } else {
                            prop_assert!(!q.has_data());
                        }
                    }
                    Op::Packet => q.begin_packet(),
                    Op::Abandon { stream } => c.abandon(&mut q, stream),
                    Op::Reset { stream, commit } => {
                        q.pause_streams(&[StreamId(stream)]);
                        let mut ready = Vec::new();
                        q.take_ready_to_reset(&mut ready);
                        for s in &ready {
                            prop_assert!(!c.partial.contains_key(&s.0), "reset mid-message");
                        }
                        c.reset(&mut q, &ready, commit);
                    }
                }
                prop_assert_eq!(
                    q.total_buffered(),
                    c.bytes_pushed - c.bytes_taken - c.bytes_dropped
                );
                let per_stream: usize = (0..5).map(|s| q.buffered_amount(StreamId(s))).sum();
                prop_assert_eq!(per_stream, q.total_buffered());
                // The total's low event: exactly when this step crossed the threshold downwards.
                let crossed = total_before > TOTAL_LOW && q.total_buffered() <= TOTAL_LOW;
                prop_assert_eq!(q.poll_total_low_event(), crossed);
                prop_assert!(q.used <= 64 * 1024);
                prop_assert!(q.scheduler.heap_len() <= 2 * 5 + 32 + 1);
            }
            loop {
                while let Some(f) = q.next_fragment(1200) {
                    c.fragment(&f, 1200);
                }
                // Streams paused for a reset hold their messages until it is performed.
                let mut ready = Vec::new();
                q.take_ready_to_reset(&mut ready);
                if ready.is_empty() {
                    break;
                }
                c.reset(&mut q, &ready, true);
            }
            prop_assert!(q.is_empty());
            prop_assert_eq!((q.total_buffered(), q.used, q.messages), (0, 0, 0));
            prop_assert!(c.partial.is_empty());
            prop_assert!(c.pushed.values().all(VecDeque::is_empty));
        }
    }
}
