//! Reassembly: fragments (DATA or I-DATA, after the tracker accepted their TSN) in, whole
//! messages out, in the order the application may see them (RFC 9260 §6.5, §6.6, §6.9;
//! RFC 8260 §2.1 for I-DATA; RFC 3758 §3.6 and RFC 8260 §2.3.2 for skipping abandoned data;
//! RFC 6525 for stream reset).
//!
//! * A whole message in one chunk (B and E set) never touches a fragment structure: its
//!   payload `Bytes` — a view of the received packet — is handed through untouched
//!   (zero-copy), straight to the ready queue when it is unordered or next in its stream.
//! * A fragmented message is concatenated once, when complete: one copy per message, not per
//!   fragment, into an arena — a 64 KiB buffer that completed messages are split off (zero
//!   copy, shared). The queue keeps two arenas and cuts from one until it is full; then it
//!   takes back whichever of the two no longer has a message alive (the reader has dropped
//!   them all) and starts it again from the front, so with a reader that keeps up, fragmented
//!   messages cost no allocation at all. Only when both still have messages alive is a new
//!   arena allocated (the older one is then freed by its last message). A message larger than
//!   an arena gets a buffer of its own. Held fragments copied out of their packets (see
//!   `add_with`) are cut from the same arenas. Memory: at most two arenas (128 KiB) held by
//!   the queue, and a reader that keeps one small message keeps its arena alive (at most
//!   64 KiB per message kept).
//! * DATA: a message's fragments carry consecutive TSNs, so partial messages are *runs* of
//!   consecutive TSNs (one map entry per run, keyed by the first TSN unwrapped to 64 bits).
//!   A fragment extends the run ending just before it and/or merges with the run starting just
//!   after it. The run being filled in order is kept outside the map, so in-order arrival is
//!   O(1) and touches no map at all. Merges move the shorter run into the longer.
//! * I-DATA: partial messages are keyed by (stream, U bit, MID) in per-stream maps; fragments
//!   are appended as they come and sorted by FSN once, at completion (already sorted — O(n) —
//!   when they arrived in order).
//! * Ordered delivery: per stream, the next expected SSN (16-bit) or MID (32-bit), unwrapped
//!   to 64 bits, and a map of complete messages waiting for their turn. Streams never block
//!   one another; unordered messages are ready as soon as complete.
//!
//! Memory bounds:
//! * payload bytes held (partial, waiting and ready messages) ≤ `max_bytes`: a fragment that
//!   would exceed it is refused with [`ReassemblyError::NoRoom`]. Ready messages count until
//!   the application `pop`s them, so a slow reader shrinks the window the association
//!   advertises ([`ReassemblyQueue::buffered_bytes`]) instead of growing memory;
//! * a message ≤ `max_message_size` bytes ([`ReassemblyError::TooLarge`]);
//! * bookkeeping: one `Bytes` (32 bytes) plus at most 8 bytes per buffered fragment, and one
//!   map entry per partial or waiting message — fragments are never empty (RFC 9260 §6.2
//!   makes an empty DATA chunk a protocol error), so at most `max_bytes` fragments;
//! * per-stream state: a `HashMap` entry (about 100 bytes) for each stream that has carried
//!   ordered data or partial I-DATA messages, created on first use and removed by
//!   `reset_stream`. A `Vec` indexed by stream would cost that much for every *negotiated*
//!   stream up front (WebRTC negotiates 65 535 and typically uses a few); the map's size is
//!   still bounded by the negotiated inbound stream count, which the association enforces
//!   (RFC 9260 §6.5 "Invalid Stream Identifier") before fragments get here. The map hashes
//!   the 16-bit stream id with one multiply: no SipHash on the data path.

use core::hash::BuildHasherDefault;
use core::mem;
use std::collections::{BTreeMap, HashMap, VecDeque};

use braid_wire::{Bytes, Tsn};
use bytes::BytesMut;

use crate::data::{Fragment, Message};
use crate::ids::{IdHasher, Ppid, StreamId};

/// Where unwrapped sequence numbers start: far from 0 and from `u64::MAX`, and a multiple of
/// 2^32, so it stands for SSN 0 / MID 0.
const BASE: u64 = 1 << 40;
const SSN_BITS: u32 = 16;
const MID_BITS: u32 = 32;
const TSN_BITS: u32 = 32;

/// Why a fragment was not stored. In every case nothing was stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ReassemblyError {
    /// The message would exceed the maximum message size.
    #[error("message larger than the maximum message size")]
    TooLarge,
    /// The bytes held would exceed the buffer limit: the peer overran the advertised window.
    #[error("reassembly buffer full")]
    NoRoom,
    /// The fragment contradicts what was received (an empty payload, a TSN or FSN received
    /// twice, fragment flags inconsistent with their neighbours, an SSN/MID already
    /// delivered): a protocol violation by the peer. When the contradiction only shows at
    /// completion (two fragments with the same FSN), the whole message is discarded.
    #[error("fragment inconsistent with the data received")]
    Invalid,
}

/// Fragment deques kept for reuse (see `ReassemblyQueue::spare`).
const MAX_SPARE_RUNS: usize = 8;

/// The receive buffer of one association: partial messages, complete messages waiting for
/// their turn in their stream, and messages ready for the application.
#[derive(Debug)]
pub(crate) struct ReassemblyQueue {
    max_bytes: usize,
    max_message_size: usize,
    /// I-DATA (RFC 8260) rather than DATA.
    interleaved: bool,
    /// Payload bytes held, in every state.
    buffered: usize,
    /// Complete messages the application may read, in order.
    ready: VecDeque<Message>,
    streams: HashMap<StreamId, StreamState, BuildHasherDefault<IdHasher>>,
    /// DATA: partial runs of consecutive TSNs, by unwrapped first TSN.
    runs: BTreeMap<u64, Run>,
    /// DATA: the run most recently extended, kept out of `runs` for in-order arrival.
    current: Option<Run>,
    /// DATA: the unwrapped value of the last TSN added, the reference for unwrapping.
    tsn_ref: u64,
    /// Emptied fragment deques of delivered DATA messages, kept for the next ones (at most
    /// [`MAX_SPARE_RUNS`]).
    spare: Vec<VecDeque<Bytes>>,
    /// Where fragmented messages are concatenated (see the module docs).
    arenas: Arenas,
}

/// Size of a reassembly arena.
const ARENA: usize = 64 * 1024;

/// The two arenas of a queue (see the module docs).
#[derive(Debug, Default)]
struct Arenas {
    /// Messages are cut from this one.
    current: BytesMut,
    /// The one filled before: taken back when every message cut from it is gone.
    previous: BytesMut,
    /// Arenas allocated so far.
    allocated: u64,
}

impl Arenas {
    /// Copies `parts` (`total` bytes, at most [`ARENA`]) into one buffer cut from an arena.
    fn copy<B: AsRef<[u8]>>(&mut self, parts: impl IntoIterator<Item = B>, total: usize) -> Bytes {
        if self.current.capacity() - self.current.len() < total
            // Nothing cut from `current` is alive: start it again from the front.
            && !self.current.try_reclaim(total)
        {
            mem::swap(&mut self.current, &mut self.previous);
            if !self.current.try_reclaim(total) {
                // Both still have messages alive; the older one is left to them.
                self.current = BytesMut::with_capacity(ARENA);
                self.allocated += 1;
            }
        }
        for p in parts {
            self.current.extend_from_slice(p.as_ref());
        }
        self.current.split().freeze()
    }

    /// A copy of `payload`, to hold without keeping its packet alive.
    fn hold(&mut self, payload: &Bytes) -> Bytes {
        if payload.len() > ARENA {
            Bytes::copy_from_slice(payload)
        } else {
            self.copy([payload], payload.len())
        }
    }
}

/// Per-stream state.
#[derive(Debug)]
struct StreamState {
    /// Unwrapped SSN / MID of the next ordered message to deliver.
    next: u64,
    /// Complete ordered messages after `next`, by unwrapped SSN / MID.
    waiting: BTreeMap<u64, Message>,
    /// I-DATA: partial ordered messages, by unwrapped MID.
    ordered: BTreeMap<u64, Partial>,
    /// I-DATA: partial unordered messages, by unwrapped MID.
    unordered: BTreeMap<u64, Partial>,
    /// I-DATA: unwrapped MID of the last unordered fragment, the reference for unwrapping.
    unordered_ref: u64,
}

impl StreamState {
    fn new() -> Self {
        Self {
            next: BASE,
            waiting: BTreeMap::new(),
            ordered: BTreeMap::new(),
            unordered: BTreeMap::new(),
            unordered_ref: BASE,
        }
    }
}

/// DATA: fragments with consecutive TSNs `first..=last` of one message.
#[derive(Debug)]
struct Run {
    first: u64,
    last: u64,
    stream: StreamId,
    unordered: bool,
    ssn: u32,
    /// The first fragment's PPID: the B fragment's once the run has begun.
    ppid: Ppid,
    /// Starts with the B fragment.
    begun: bool,
    /// Ends with the E fragment.
    ended: bool,
    frags: VecDeque<Bytes>,
    bytes: usize,
}

impl Run {
    /// A run of one fragment; `frags` is an empty deque to use (recycled: see
    /// `ReassemblyQueue::spare`).
    fn new(t: u64, frag: Fragment, mut frags: VecDeque<Bytes>) -> Self {
        let bytes = frag.payload.len();
        frags.push_back(frag.payload);
        Self {
            first: t,
            last: t,
            stream: frag.stream,
            unordered: frag.unordered,
            ssn: frag.seq,
            ppid: frag.ppid,
            begun: frag.beginning,
            ended: frag.ending,
            frags,
            bytes,
        }
    }

    /// Whether `frag` may belong to the same message (RFC 9260 §6.9: every fragment of a
    /// message has the same stream, U bit and, when ordered, SSN).
    fn same_message(&self, frag: &Fragment) -> bool {
        self.stream == frag.stream
            && self.unordered == frag.unordered
            && (self.unordered || self.ssn == frag.seq)
    }

    /// Appends `next`, whose TSNs follow this run's.
    fn append(&mut self, mut next: Run) {
        self.last = next.last;
        self.ended = next.ended;
        self.bytes += next.bytes;
        if self.frags.len() >= next.frags.len() {
            self.frags.append(&mut next.frags);
        } else {
            while let Some(b) = self.frags.pop_back() {
                next.frags.push_front(b);
            }
            self.frags = next.frags;
        }
    }

    /// The message, and the emptied deque for reuse.
    fn into_message(mut self, arenas: &mut Arenas) -> (Message, VecDeque<Bytes>) {
        let payload = concat(arenas, self.frags.drain(..), self.bytes);
        let msg = Message {
            stream: self.stream,
            ppid: self.ppid,
            unordered: self.unordered,
            payload,
        };
        (msg, self.frags)
    }
}

/// I-DATA: the fragments of one message received so far.
#[derive(Debug)]
struct Partial {
    /// (FSN, payload), in arrival order.
    frags: Vec<(u32, Bytes)>,
    bytes: usize,
    /// The B fragment's PPID (the other fragments carry the FSN in that field).
    ppid: Ppid,
    begun: bool,
    /// FSN of the E fragment, once received.
    last_fsn: Option<u32>,
    max_fsn: u32,
    /// `frags` is in FSN order.
    sorted: bool,
}

impl Partial {
    fn new() -> Self {
        Self {
            frags: Vec::with_capacity(4),
            bytes: 0,
            ppid: Ppid(0),
            begun: false,
            last_fsn: None,
            max_fsn: 0,
            sorted: true,
        }
    }

    /// Whether `frag` fits what is known of the message (RFC 8260 §2.1: FSN 0 is the B
    /// fragment, the E fragment has the highest FSN).
    fn accepts(&self, frag: &Fragment) -> bool {
        let count = self.frags.len() as u64 + 1;
        if frag.beginning && self.begun {
            return false;
        }
        if let Some(last) = self.last_fsn {
            if frag.ending || frag.fsn > last || count > u64::from(last) + 1 {
                return false;
            }
        }
        if frag.ending
            && ((!self.frags.is_empty() && frag.fsn < self.max_fsn)
                || count > u64::from(frag.fsn) + 1)
        {
            return false;
        }
        true
    }

    fn push(&mut self, frag: Fragment) {
        if !self.frags.is_empty() && frag.fsn < self.max_fsn {
            self.sorted = false;
        }
        self.max_fsn = self.max_fsn.max(frag.fsn);
        if frag.beginning {
            self.begun = true;
            self.ppid = frag.ppid;
        }
        if frag.ending {
            self.last_fsn = Some(frag.fsn);
        }
        self.bytes += frag.payload.len();
        self.frags.push((frag.fsn, frag.payload));
    }

    /// As many fragments as the E fragment's FSN says: complete, unless some FSN came twice.
    fn full(&self) -> bool {
        self.last_fsn
            .is_some_and(|last| self.frags.len() as u64 == u64::from(last) + 1)
    }

    /// The message's payload, or `None` if an FSN came twice (so another is missing).
    fn assemble(mut self, arenas: &mut Arenas) -> Option<Bytes> {
        if !self.begun {
            return None;
        }
        if !self.sorted {
            self.frags.sort_unstable_by_key(|&(fsn, _)| fsn);
        }
        let in_sequence = self
            .frags
            .iter()
            .enumerate()
            .all(|(i, &(fsn, _))| i as u64 == u64::from(fsn));
        in_sequence.then(|| concat(arenas, self.frags.into_iter().map(|(_, b)| b), self.bytes))
    }
}

/// Concatenates fragments into one buffer, one copy, cut from an arena unless the message is
/// larger than one (see the module docs).
fn concat(arenas: &mut Arenas, parts: impl IntoIterator<Item = Bytes>, total: usize) -> Bytes {
    let mut parts = parts.into_iter();
    let Some(first) = parts.next() else {
        return Bytes::new();
    };
    if first.len() == total {
        return first;
    }
    if total > ARENA {
        let mut out = BytesMut::with_capacity(total);
        out.extend_from_slice(&first);
        for p in parts {
            out.extend_from_slice(&p);
        }
        return out.freeze();
    }
    arenas.copy(core::iter::once(first).chain(parts), total)
}

/// The 64-bit number closest to `reference` whose low `bits` bits are `value` (RFC 1982
/// serial arithmetic made total: exactly half the space away counts as behind).
fn unwrap_serial(reference: u64, value: u32, bits: u32) -> u64 {
    let modulus = 1u64 << bits;
    let ahead = u64::from(value).wrapping_sub(reference) & (modulus - 1);
    if ahead < modulus / 2 {
        reference.wrapping_add(ahead)
    } else {
        reference.wrapping_sub(modulus - ahead)
    }
}

/// Delivers `msg`, the complete ordered message `key` of `lane`: to the ready queue if it is
/// next (with the waiting ones it unblocks), else to the waiting map.
fn deliver_ordered(lane: &mut StreamState, ready: &mut VecDeque<Message>, key: u64, msg: Message) {
    if key == lane.next {
        ready.push_back(msg);
        lane.next += 1;
        drain_waiting(lane, ready);
    } else {
        lane.waiting.insert(key, msg);
    }
}

/// Moves the waiting messages that are now next to the ready queue.
fn drain_waiting(lane: &mut StreamState, ready: &mut VecDeque<Message>) {
    while let Some(entry) = lane.waiting.first_entry() {
        if *entry.key() != lane.next {
            break;
        }
        ready.push_back(entry.remove());
        lane.next += 1;
    }
}

fn partial_bytes(map: &BTreeMap<u64, Partial>) -> usize {
    map.values().map(|p| p.bytes).sum()
}

/// Where a DATA run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Loc {
    Current,
    Tree(u64),
}

impl ReassemblyQueue {
    /// A queue holding at most `max_bytes` of payload, refusing messages over
    /// `max_message_size`, for DATA chunks or, if `interleaved`, I-DATA chunks.
    pub(crate) fn new(max_bytes: usize, max_message_size: usize, interleaved: bool) -> Self {
        Self {
            max_bytes,
            max_message_size,
            interleaved,
            buffered: 0,
            ready: VecDeque::new(),
            streams: HashMap::default(),
            runs: BTreeMap::new(),
            current: None,
            tsn_ref: BASE,
            spare: Vec::new(),
            arenas: Arenas::default(),
        }
    }

    /// Payload bytes held: partial messages, complete ones waiting for their turn, and ready
    /// ones the application has not read. The association advertises what is left of its
    /// window (RFC 9260 §6.2.1).
    pub(crate) fn buffered_bytes(&self) -> usize {
        self.buffered
    }

    /// Messages ready to be read.
    pub(crate) fn ready_count(&self) -> usize {
        self.ready.len()
    }

    /// Whether `len` more bytes fit. The association asks before tracking a TSN, to drop
    /// a chunk it cannot hold without acknowledging it (RFC 9260 §6.2).
    pub(crate) fn has_room(&self, len: usize) -> bool {
        self.buffered.saturating_add(len) <= self.max_bytes
    }

    /// The next message the application may read: ordered messages in SSN / MID order
    /// within their stream, unordered ones as soon as complete (RFC 9260 §6.6).
    pub(crate) fn pop(&mut self) -> Option<Message> {
        let msg = self.ready.pop_front()?;
        self.buffered = self.buffered.saturating_sub(msg.payload.len());
        Some(msg)
    }

    /// Adds the fragment carried by the new (per the tracker) TSN `tsn`. On error nothing
    /// is stored. With `compact`, a payload that will be held (a whole message waiting to be
    /// read, or a fragment waiting for the rest of its message) is first copied out of its
    /// packet, so that it does not keep the whole packet alive; a fragment that completes its
    /// message at once is only read (into the message) and needs no copy.
    pub(crate) fn add_with(
        &mut self,
        tsn: Tsn,
        mut frag: Fragment,
        compact: bool,
    ) -> Result<(), ReassemblyError> {
        let len = frag.payload.len();
        // RFC 9260 §6.2: a DATA chunk with no user data is a protocol error.
        if len == 0 {
            return Err(ReassemblyError::Invalid);
        }
        if len > self.max_message_size {
            return Err(ReassemblyError::TooLarge);
        }
        if frag.beginning && frag.ending {
            if compact {
                frag.payload = self.arenas.hold(&frag.payload);
            }
            self.add_whole(frag)
        } else if self.interleaved {
            if compact {
                frag.payload = self.arenas.hold(&frag.payload);
            }
            self.add_interleaved(frag)
        } else {
            self.add_run(tsn, frag, compact)
        }
    }

    /// [`add_with`](Self::add_with) without copying.
    #[cfg(test)]
    pub(crate) fn add(&mut self, tsn: Tsn, frag: Fragment) -> Result<(), ReassemblyError> {
        self.add_with(tsn, frag, false)
    }

    /// A message in one chunk: no reassembly, zero-copy.
    fn add_whole(&mut self, frag: Fragment) -> Result<(), ReassemblyError> {
        let len = frag.payload.len();
        if self.interleaved && frag.fsn != 0 {
            return Err(ReassemblyError::Invalid);
        }
        if !self.has_room(len) {
            return Err(ReassemblyError::NoRoom);
        }
        let msg = Message {
            stream: frag.stream,
            ppid: frag.ppid,
            unordered: frag.unordered,
            payload: frag.payload,
        };
        if frag.unordered {
            // RFC 9260 §6.6: unordered messages are delivered "as soon as" they arrive.
            self.buffered += len;
            self.ready.push_back(msg);
            return Ok(());
        }
        let bits = self.seq_bits();
        let lane = self
            .streams
            .entry(frag.stream)
            .or_insert_with(StreamState::new);
        let key = unwrap_serial(lane.next, frag.seq, bits);
        if key < lane.next || lane.waiting.contains_key(&key) || lane.ordered.contains_key(&key) {
            return Err(ReassemblyError::Invalid);
        }
        self.buffered += len;
        deliver_ordered(lane, &mut self.ready, key, msg);
        Ok(())
    }

    /// A fragment of an I-DATA message (RFC 8260 §2.1): keyed by (stream, U, MID), placed
    /// by FSN.
    fn add_interleaved(&mut self, frag: Fragment) -> Result<(), ReassemblyError> {
        let len = frag.payload.len();
        // RFC 8260 §2.1: the B fragment carries the PPID where the others carry the FSN;
        // its FSN is 0.
        if frag.beginning != (frag.fsn == 0) {
            return Err(ReassemblyError::Invalid);
        }
        let lane = self
            .streams
            .entry(frag.stream)
            .or_insert_with(StreamState::new);
        let key = if frag.unordered {
            unwrap_serial(lane.unordered_ref, frag.seq, MID_BITS)
        } else {
            let key = unwrap_serial(lane.next, frag.seq, MID_BITS);
            if key < lane.next || lane.waiting.contains_key(&key) {
                return Err(ReassemblyError::Invalid);
            }
            key
        };
        let partials = if frag.unordered {
            &mut lane.unordered
        } else {
            &mut lane.ordered
        };
        let held = match partials.get(&key) {
            Some(p) if !p.accepts(&frag) => return Err(ReassemblyError::Invalid),
            Some(p) => p.bytes,
            None => 0,
        };
        if held + len > self.max_message_size {
            return Err(ReassemblyError::TooLarge);
        }
        if self.buffered.saturating_add(len) > self.max_bytes {
            return Err(ReassemblyError::NoRoom);
        }
        if frag.unordered {
            lane.unordered_ref = key;
        }
        self.buffered += len;
        let stream = frag.stream;
        let unordered = frag.unordered;
        let partial = partials.entry(key).or_insert_with(Partial::new);
        partial.push(frag);
        if !partial.full() {
            return Ok(());
        }
        let Some(partial) = partials.remove(&key) else {
            return Ok(());
        };
        let (ppid, bytes) = (partial.ppid, partial.bytes);
        let Some(payload) = partial.assemble(&mut self.arenas) else {
            self.buffered = self.buffered.saturating_sub(bytes);
            return Err(ReassemblyError::Invalid);
        };
        let msg = Message {
            stream,
            ppid,
            unordered,
            payload,
        };
        if unordered {
            self.ready.push_back(msg);
        } else {
            deliver_ordered(lane, &mut self.ready, key, msg);
        }
        Ok(())
    }

    /// A fragment of a DATA message: its TSN joins the runs next to it (RFC 9260 §6.9:
    /// "the TSNs for each fragment of a fragmented user message MUST be strictly
    /// sequential").
    fn add_run(
        &mut self,
        tsn: Tsn,
        mut frag: Fragment,
        compact: bool,
    ) -> Result<(), ReassemblyError> {
        let len = frag.payload.len();
        let t = unwrap_serial(self.tsn_ref, tsn.get(), TSN_BITS);
        let mut total = len;
        let (mut begun, mut ended) = (frag.beginning, frag.ending);

        // Consecutive TSNs t-1, t are either the end of one message and the start of the
        // next, or two fragments of the same message; anything else is a protocol error.
        let pred = match self.run_reaching(t) {
            Some((loc, run)) => {
                if run.last >= t {
                    return Err(ReassemblyError::Invalid); // the TSN is held already
                }
                match (run.ended, frag.beginning) {
                    (true, true) => None,
                    (false, false) if run.same_message(&frag) => {
                        total += run.bytes;
                        begun = run.begun;
                        Some(loc)
                    }
                    _ => return Err(ReassemblyError::Invalid),
                }
            }
            None => None,
        };
        let succ = match self.run_starting_at(t + 1) {
            Some((loc, run)) => match (frag.ending, run.begun) {
                (true, true) => None,
                (false, false) if run.same_message(&frag) => {
                    total += run.bytes;
                    ended = run.ended;
                    Some(loc)
                }
                _ => return Err(ReassemblyError::Invalid),
            },
            None => None,
        };
        if total > self.max_message_size {
            return Err(ReassemblyError::TooLarge);
        }
        if !self.has_room(len) {
            return Err(ReassemblyError::NoRoom);
        }
        let complete = begun && ended;
        let ordered_key = if complete && !frag.unordered {
            Some(self.ordered_key(frag.stream, frag.seq)?)
        } else {
            None
        };

        if compact && !complete {
            // Held until the rest of its message arrives.
            frag.payload = self.arenas.hold(&frag.payload);
        }

        // Checks done: store.
        self.tsn_ref = t;
        self.buffered += len;
        let mut run = match pred.and_then(|loc| self.take_run(loc)) {
            Some(mut run) => {
                run.last = t;
                run.ended = frag.ending;
                run.bytes += len;
                run.frags.push_back(frag.payload);
                run
            }
            None => Run::new(t, frag, self.spare.pop().unwrap_or_default()),
        };
        if let Some(next) = succ.and_then(|loc| self.take_run(loc)) {
            run.append(next);
        }
        if !(run.begun && run.ended) {
            if run.ended {
                self.runs.insert(run.first, run);
            } else if let Some(old) = self.current.replace(run) {
                self.runs.insert(old.first, old);
            }
            return Ok(());
        }
        let stream = run.stream;
        let (msg, frags) = run.into_message(&mut self.arenas);
        // Keep the deque, with its capacity, for the next message: no allocation per message
        // for the fragment list in steady state.
        if self.spare.len() < MAX_SPARE_RUNS {
            self.spare.push(frags);
        }
        match ordered_key {
            Some(key) => {
                let lane = self.streams.entry(stream).or_insert_with(StreamState::new);
                deliver_ordered(lane, &mut self.ready, key, msg);
            }
            None => self.ready.push_back(msg),
        }
        Ok(())
    }

    /// The unwrapped SSN of a complete ordered DATA message, if it can still be delivered.
    fn ordered_key(&self, stream: StreamId, ssn: u32) -> Result<u64, ReassemblyError> {
        let lane = self.streams.get(&stream);
        let next = lane.map_or(BASE, |l| l.next);
        let key = unwrap_serial(next, ssn, SSN_BITS);
        if key < next || lane.is_some_and(|l| l.waiting.contains_key(&key)) {
            return Err(ReassemblyError::Invalid);
        }
        Ok(key)
    }

    /// The run holding TSN `t - 1` or `t`.
    fn run_reaching(&self, t: u64) -> Option<(Loc, &Run)> {
        if let Some(c) = &self.current {
            if c.first <= t && c.last + 1 >= t {
                return Some((Loc::Current, c));
            }
        }
        let (&k, run) = self.runs.range(..=t).next_back()?;
        (run.last + 1 >= t).then_some((Loc::Tree(k), run))
    }

    /// The run whose first TSN is `t`.
    fn run_starting_at(&self, t: u64) -> Option<(Loc, &Run)> {
        if let Some(c) = self.current.as_ref().filter(|c| c.first == t) {
            return Some((Loc::Current, c));
        }
        self.runs.get(&t).map(|run| (Loc::Tree(t), run))
    }

    /// RFC 9260 §6.2: "if the new incoming DATA chunk holds a TSN value less than the
    /// largest TSN received so far, then the receiver SHOULD drop the largest TSN held for
    /// reassembly and accept the new incoming DATA chunk". Drops the fragment with the
    /// highest TSN held in a partial DATA message, if that TSN is above `below` (the chunk
    /// that needs the room), and returns it (the caller stops acknowledging it: reneging).
    /// Complete messages are never taken back. I-DATA: not done (`None`).
    pub(crate) fn renege_highest(&mut self, below: Tsn) -> Option<Tsn> {
        if self.interleaved {
            return None;
        }
        let floor = unwrap_serial(self.tsn_ref, below.get(), TSN_BITS);
        let tree_last = self.runs.last_key_value().map(|(&k, r)| (k, r.last));
        let current_last = self.current.as_ref().map(|c| c.last);
        let loc = match (current_last, tree_last) {
            (Some(c), Some((k, t))) if t > c => Loc::Tree(k),
            (Some(_), _) => Loc::Current,
            (None, Some((k, _))) => Loc::Tree(k),
            (None, None) => return None,
        };
        let mut run = self.take_run(loc)?;
        if run.last <= floor {
            self.put_back(loc, run);
            return None;
        }
        let t = run.last;
        let Some(payload) = run.frags.pop_back() else {
            self.put_back(loc, run);
            return None;
        };
        run.last -= 1;
        run.ended = false;
        run.bytes -= payload.len();
        self.buffered -= payload.len();
        if !run.frags.is_empty() {
            self.put_back(loc, run);
        } else if self.spare.len() < MAX_SPARE_RUNS {
            self.spare.push(run.frags);
        }
        Some(Tsn(t as u32))
    }

    fn put_back(&mut self, loc: Loc, run: Run) {
        match loc {
            Loc::Current => self.current = Some(run),
            Loc::Tree(_) => {
                self.runs.insert(run.first, run);
            }
        }
    }

    fn take_run(&mut self, loc: Loc) -> Option<Run> {
        match loc {
            Loc::Current => self.current.take(),
            Loc::Tree(k) => self.runs.remove(&k),
        }
    }

    fn seq_bits(&self) -> u32 {
        if self.interleaved {
            MID_BITS
        } else {
            SSN_BITS
        }
    }

    /// FORWARD-TSN (RFC 3758 §3.6), DATA only: drops the partial messages with a fragment
    /// at or below `new_cum` — they were abandoned: "the data receiver MUST [...] remove
    /// any partially reassembled message that is still missing one or more TSNs earlier
    /// than or equal to the new cumulative TSN point". Call it before [`skip`](Self::skip)
    /// for the streams the chunk lists. I-DATA partial messages are dropped by `skip`, by
    /// MID (RFC 8260 §2.3.2), so this does nothing for them. Returns the bytes freed.
    pub(crate) fn forget_below(&mut self, new_cum: Tsn) -> usize {
        if self.interleaved {
            return 0;
        }
        let t = unwrap_serial(self.tsn_ref, new_cum.get(), TSN_BITS);
        let keep = self.runs.split_off(&(t + 1));
        let dropped = mem::replace(&mut self.runs, keep);
        let mut freed: usize = dropped.values().map(|r| r.bytes).sum();
        if self.current.as_ref().is_some_and(|c| c.first <= t) {
            freed += self.current.take().map_or(0, |c| c.bytes);
        }
        self.buffered = self.buffered.saturating_sub(freed);
        freed
    }

    /// A stream entry of FORWARD-TSN or I-FORWARD-TSN: the peer abandoned the messages of
    /// `stream` (ordered, or for I-DATA unordered) up to SSN / MID `up_to`.
    ///
    /// Ordered: partial messages up to it are dropped, complete ones up to it are delivered
    /// in order (they are whole; only the abandoned ones in between are missing), and the
    /// next expected SSN / MID becomes `up_to + 1`, so the later messages deliver (RFC 3758
    /// §3.6: adjust "the data receiver's reordering queues so that the delivery of those
    /// ordered data packets that are waiting for the skipped SSN may proceed"). Unordered
    /// (I-DATA, RFC 8260 §2.3.2): partial messages up to the MID are dropped. DATA's
    /// FORWARD-TSN has no unordered entries (its partial messages go with `forget_below`).
    pub(crate) fn skip(&mut self, stream: StreamId, unordered: bool, up_to: u32) {
        if unordered && !self.interleaved {
            return;
        }
        let bits = self.seq_bits();
        let lane = self.streams.entry(stream).or_insert_with(StreamState::new);
        if unordered {
            let key = unwrap_serial(lane.unordered_ref, up_to, MID_BITS);
            let keep = lane.unordered.split_off(&(key + 1));
            let dropped = mem::replace(&mut lane.unordered, keep);
            self.buffered = self.buffered.saturating_sub(partial_bytes(&dropped));
            return;
        }
        let key = unwrap_serial(lane.next, up_to, bits);
        if key < lane.next {
            return; // Out of date: those were delivered or skipped already.
        }
        let keep = lane.ordered.split_off(&(key + 1));
        let dropped = mem::replace(&mut lane.ordered, keep);
        self.buffered = self.buffered.saturating_sub(partial_bytes(&dropped));
        let keep = lane.waiting.split_off(&(key + 1));
        let deliverable = mem::replace(&mut lane.waiting, keep);
        self.ready.extend(deliverable.into_values());
        lane.next = key + 1;
        drain_waiting(lane, &mut self.ready);
    }

    /// RFC 6525 §5.2.2: the incoming stream was reset; its next SSN / MID is 0 again.
    /// Complete messages still waiting are made ready, in order; partial I-DATA messages of
    /// the stream are dropped (the association performs the reset only once everything sent
    /// before it has arrived, so these can only be abandoned ones).
    pub(crate) fn reset_stream(&mut self, stream: StreamId) {
        if let Some(lane) = self.streams.remove(&stream) {
            let freed = partial_bytes(&lane.ordered) + partial_bytes(&lane.unordered);
            self.buffered = self.buffered.saturating_sub(freed);
            self.ready.extend(lane.waiting.into_values());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MAX: usize = 1 << 20;

    fn frag(stream: u16, seq: u32, unordered: bool, b: bool, e: bool, data: &[u8]) -> Fragment {
        Fragment {
            stream: StreamId(stream),
            seq,
            fsn: 0,
            ppid: Ppid(51),
            unordered,
            beginning: b,
            ending: e,
            payload: Bytes::copy_from_slice(data),
        }
    }

    fn ifrag(stream: u16, mid: u32, fsn: u32, unordered: bool, e: bool, data: &[u8]) -> Fragment {
        Fragment {
            fsn,
            ..frag(stream, mid, unordered, fsn == 0, e, data)
        }
    }

    /// Makes `first` the next expected SSN / MID of `stream`, skipping in steps of a
    /// quarter of the number space (a larger jump would look like the past).
    fn start_at(q: &mut ReassemblyQueue, stream: u16, first: u32, bits: u32) {
        let step = 1u64 << (bits - 2);
        let target = u64::from(first);
        let mut at = 0u64;
        while at + step < target {
            at += step;
            q.skip(StreamId(stream), false, (at - 1) as u32);
        }
        if target > 0 {
            q.skip(StreamId(stream), false, (target - 1) as u32);
        }
    }

    fn drain(q: &mut ReassemblyQueue) -> Vec<(u16, Vec<u8>)> {
        core::iter::from_fn(|| q.pop())
            .map(|m| (m.stream.0, m.payload.to_vec()))
            .collect()
    }

    #[test]
    fn single_fragment_is_zero_copy() {
        for interleaved in [false, true] {
            let mut q = ReassemblyQueue::new(MAX, MAX, interleaved);
            for unordered in [false, true] {
                let f = frag(1, 0, unordered, true, true, b"hello");
                let ptr = f.payload.as_ptr();
                q.add(Tsn(unordered.into()), f).unwrap();
                assert_eq!(q.buffered_bytes(), 5);
                let m = q.pop().unwrap();
                assert_eq!(m.payload.as_ptr(), ptr);
                assert_eq!(
                    (m.stream, m.ppid, m.unordered),
                    (StreamId(1), Ppid(51), unordered)
                );
                assert_eq!(q.buffered_bytes(), 0);
            }
        }
    }

    #[test]
    fn data_fragments_in_order_and_reversed() {
        let mut q = ReassemblyQueue::new(MAX, MAX, false);
        q.add(Tsn(10), frag(0, 0, false, true, false, b"ab"))
            .unwrap();
        q.add(Tsn(11), frag(0, 0, false, false, false, b"cd"))
            .unwrap();
        assert_eq!(q.ready_count(), 0);
        q.add(Tsn(12), frag(0, 0, false, false, true, b"e"))
            .unwrap();
        assert_eq!(drain(&mut q), vec![(0, b"abcde".to_vec())]);
        // Reversed, and the middle first, across the TSN wrap.
        let mut q = ReassemblyQueue::new(MAX, MAX, false);
        let base = u32::MAX - 2;
        let parts: [&[u8]; 5] = [b"1", b"22", b"333", b"4444", b"5"];
        for i in [2u32, 4, 3, 0, 1] {
            let f = frag(3, 0, false, i == 0, i == 4, parts[i as usize]);
            q.add(Tsn(base.wrapping_add(i)), f).unwrap();
            assert_eq!(q.ready_count(), usize::from(i == 1));
        }
        assert_eq!(q.buffered_bytes(), 11);
        assert_eq!(drain(&mut q), vec![(3, b"12233344445".to_vec())]);
        assert_eq!(q.buffered_bytes(), 0);
    }

    /// Sends `count` two-fragment messages of `size` bytes on stream 0 (ordered), message `k`
    /// filled with byte `k`, starting at TSN `tsn` and SSN `ssn`; returns them as read.
    fn two_fragment_messages(
        q: &mut ReassemblyQueue,
        tsn: &mut u32,
        ssn: &mut u32,
        count: usize,
        size: usize,
    ) -> Vec<Bytes> {
        let mut out = Vec::new();
        for _ in 0..count {
            let fill = vec![*ssn as u8; size];
            let (a, b) = fill.split_at(size / 2);
            q.add(Tsn(*tsn), frag(0, *ssn, false, true, false, a))
                .unwrap();
            q.add(Tsn(*tsn + 1), frag(0, *ssn, false, false, true, b))
                .unwrap();
            *tsn += 2;
            *ssn += 1;
            out.extend(std::iter::from_fn(|| q.pop()).map(|m| m.payload));
        }
        out
    }

    #[test]
    fn arenas_are_reused_once_the_reader_drops_its_messages() {
        let mut q = ReassemblyQueue::new(MAX, MAX, false);
        let (mut tsn, mut ssn) = (0, 0);
        // Fill two arenas' worth while the reader drops every message at once, and note
        // where each message was cut from.
        let mut starts = std::collections::BTreeSet::new();
        for _ in 0..3 * ARENA / 1000 {
            let m = two_fragment_messages(&mut q, &mut tsn, &mut ssn, 1, 1000);
            assert_eq!(m.len(), 1);
            starts.insert(m[0].as_ptr() as usize);
        }
        // Every message came from the same 64 KiB: one arena, taken back each time it filled.
        let (lo, hi) = (starts.first().unwrap(), starts.last().unwrap());
        assert!(hi - lo < ARENA, "messages spread over {} bytes", hi - lo);
        assert_eq!(q.arenas.allocated, 1);

        // A reader that keeps every message: new arenas as needed, no message overwritten.
        let kept = two_fragment_messages(&mut q, &mut tsn, &mut ssn, 4 * ARENA / 1000, 1000);
        for m in &kept {
            assert_eq!(m.len(), 1000);
            assert!(m.iter().all(|&b| b == m[0]));
        }
        let firsts: std::collections::BTreeSet<u8> = kept.iter().map(|m| m[0]).collect();
        assert_eq!(firsts.len(), 256.min(kept.len()));
        assert!(q.arenas.allocated >= 4, "{} arenas", q.arenas.allocated);
        assert_eq!(q.buffered_bytes(), 0);
    }

    #[test]
    fn reneging_takes_back_the_highest_partial_fragments_only() {
        let mut q = ReassemblyQueue::new(MAX, MAX, false);
        // TSN 10 starts message 0; 12 and 13 are the middle of message 0's continuation
        // (11 missing); 20 is a whole message, complete at once and never taken back.
        q.add(Tsn(10), frag(0, 0, false, true, false, b"ab"))
            .unwrap();
        q.add(Tsn(12), frag(0, 0, false, false, false, b"cd"))
            .unwrap();
        q.add(Tsn(13), frag(0, 0, false, false, false, b"efg"))
            .unwrap();
        q.add(Tsn(20), frag(1, 0, true, true, true, b"whole"))
            .unwrap();
        assert_eq!(q.buffered_bytes(), 12);
        // Room for TSN 11: the highest partial fragments above it go, newest first.
        assert_eq!(q.renege_highest(Tsn(11)), Some(Tsn(13)));
        assert_eq!(q.buffered_bytes(), 9);
        assert_eq!(q.renege_highest(Tsn(11)), Some(Tsn(12)));
        // Nothing partial above 11 is left; 10 is below it.
        assert_eq!(q.renege_highest(Tsn(11)), None);
        assert_eq!(q.buffered_bytes(), 7);
        // The peer resends: the message still assembles.
        q.add(Tsn(11), frag(0, 0, false, false, false, b"xy"))
            .unwrap();
        q.add(Tsn(12), frag(0, 0, false, false, false, b"cd"))
            .unwrap();
        q.add(Tsn(13), frag(0, 0, false, false, true, b"efg"))
            .unwrap();
        let got = drain(&mut q);
        assert!(got.contains(&(0, b"abxycdefg".to_vec())), "{got:?}");
        assert!(got.contains(&(1, b"whole".to_vec())), "{got:?}");
        // I-DATA: not supported, nothing is taken back.
        let mut q = ReassemblyQueue::new(MAX, MAX, true);
        q.add(Tsn(12), frag(0, 0, false, true, false, b"cd"))
            .unwrap();
        assert_eq!(q.renege_highest(Tsn(11)), None);
        assert_eq!(q.buffered_bytes(), 2);
    }

    #[test]
    fn unordered_data_delivers_when_complete() {
        let mut q = ReassemblyQueue::new(MAX, MAX, false);
        // Ordered SSN 0 is missing; unordered messages go past it, on the same stream.
        q.add(Tsn(2), frag(1, 1, false, true, true, b"later"))
            .unwrap();
        q.add(Tsn(4), frag(1, 9, true, false, true, b"y")).unwrap();
        q.add(Tsn(3), frag(1, 7, true, true, false, b"x")).unwrap();
        assert_eq!(drain(&mut q), vec![(1, b"xy".to_vec())]);
        q.add(Tsn(1), frag(1, 0, false, true, true, b"first"))
            .unwrap();
        assert_eq!(
            drain(&mut q),
            vec![(1, b"first".to_vec()), (1, b"later".to_vec())]
        );
    }

    #[test]
    fn no_head_of_line_blocking_across_streams() {
        for interleaved in [false, true] {
            let mut q = ReassemblyQueue::new(MAX, MAX, interleaved);
            q.add(Tsn(2), frag(1, 1, false, true, true, b"s1m1"))
                .unwrap();
            q.add(Tsn(3), frag(2, 0, false, true, true, b"s2m0"))
                .unwrap();
            assert_eq!(drain(&mut q), vec![(2, b"s2m0".to_vec())]);
            q.add(Tsn(1), frag(1, 0, false, true, true, b"s1m0"))
                .unwrap();
            assert_eq!(
                drain(&mut q),
                vec![(1, b"s1m0".to_vec()), (1, b"s1m1".to_vec())]
            );
        }
    }

    #[test]
    fn many_streams_keep_their_order() {
        let mut q = ReassemblyQueue::new(MAX, MAX, false);
        let mut tsn = 0u32;
        // Messages 0..10 on 100 streams, each stream's messages arriving in reverse.
        for ssn in (0..10u32).rev() {
            for s in 0..100u16 {
                q.add(
                    Tsn(tsn),
                    frag(s, ssn, false, true, true, &[s as u8, ssn as u8]),
                )
                .unwrap();
                tsn += 1;
            }
        }
        let out = drain(&mut q);
        assert_eq!(out.len(), 1000);
        for s in 0..100u16 {
            let seqs: Vec<u8> = out
                .iter()
                .filter(|(st, _)| *st == s)
                .map(|(_, p)| p[1])
                .collect();
            assert_eq!(seqs, (0..10).collect::<Vec<u8>>());
        }
    }

    #[test]
    fn ssn_wraps() {
        let mut q = ReassemblyQueue::new(MAX, MAX, false);
        start_at(&mut q, 4, 65_534, 16);
        for (tsn, ssn) in [(3u32, 1u32), (1, 65_535), (2, 0), (0, 65_534)] {
            q.add(Tsn(tsn), frag(4, ssn, false, true, true, &[ssn as u8]))
                .unwrap();
        }
        let order: Vec<u8> = drain(&mut q).into_iter().map(|(_, p)| p[0]).collect();
        assert_eq!(order, vec![0xFE, 0xFF, 0, 1]);
        // An SSN from before the wrap is stale now.
        assert_eq!(
            q.add(Tsn(9), frag(4, 65_535, false, true, true, b"old")),
            Err(ReassemblyError::Invalid)
        );
    }

    #[test]
    fn mid_wraps() {
        let mut q = ReassemblyQueue::new(MAX, MAX, true);
        start_at(&mut q, 0, u32::MAX - 1, 32);
        let mids = [1u32, u32::MAX, 0, u32::MAX - 1];
        for (i, mid) in mids.into_iter().enumerate() {
            let tsn = Tsn(i as u32 * 2);
            q.add(tsn, ifrag(0, mid, 1, false, true, b"b")).unwrap();
            q.add(tsn.next(), ifrag(0, mid, 0, false, false, &[mid as u8]))
                .unwrap();
        }
        let order: Vec<Vec<u8>> = drain(&mut q).into_iter().map(|(_, p)| p).collect();
        assert_eq!(
            order,
            vec![
                vec![0xFE, b'b'],
                vec![0xFF, b'b'],
                vec![0, b'b'],
                vec![1, b'b']
            ]
        );
    }

    #[test]
    fn interleaved_messages() {
        let mut q = ReassemblyQueue::new(MAX, MAX, true);
        // Two messages on two streams, fragments interleaved and out of FSN order; an
        // unordered one on stream 1 in between.
        q.add(Tsn(1), ifrag(1, 0, 2, false, true, b"C")).unwrap();
        q.add(Tsn(2), ifrag(2, 0, 0, false, false, b"x")).unwrap();
        q.add(Tsn(3), ifrag(1, 0, 0, false, false, b"A")).unwrap();
        q.add(Tsn(4), ifrag(1, 0, 0, true, false, b"u")).unwrap();
        q.add(Tsn(5), ifrag(2, 0, 1, false, true, b"y")).unwrap();
        q.add(Tsn(6), ifrag(1, 0, 1, true, true, b"v")).unwrap();
        q.add(Tsn(7), ifrag(1, 0, 1, false, false, b"B")).unwrap();
        let out = drain(&mut q);
        assert_eq!(
            out,
            vec![
                (2, b"xy".to_vec()),
                (1, b"uv".to_vec()),
                (1, b"ABC".to_vec())
            ]
        );
        assert_eq!(q.buffered_bytes(), 0);
    }

    #[test]
    fn ppid_comes_from_the_first_fragment() {
        let mut q = ReassemblyQueue::new(MAX, MAX, true);
        let mut f = ifrag(0, 0, 1, false, true, b"b");
        f.ppid = Ppid(1); // the FSN field, really
        q.add(Tsn(2), f).unwrap();
        let mut f = ifrag(0, 0, 0, false, false, b"a");
        f.ppid = Ppid(53);
        q.add(Tsn(1), f).unwrap();
        assert_eq!(q.pop().unwrap().ppid, Ppid(53));
    }

    #[test]
    fn too_large_leaves_no_trace() {
        for interleaved in [false, true] {
            let mut q = ReassemblyQueue::new(MAX, 5, interleaved);
            assert_eq!(
                q.add(Tsn(0), frag(0, 0, false, true, true, b"123456")),
                Err(ReassemblyError::TooLarge)
            );
            let f = |fsn, e, d: &[u8]| {
                if interleaved {
                    ifrag(0, 0, fsn, false, e, d)
                } else {
                    frag(0, 0, false, fsn == 0, e, d)
                }
            };
            q.add(Tsn(1), f(0, false, b"123")).unwrap();
            assert_eq!(
                q.add(Tsn(2), f(1, true, b"456")),
                Err(ReassemblyError::TooLarge)
            );
            assert_eq!(q.buffered_bytes(), 3);
            q.add(Tsn(2), f(1, true, b"45")).unwrap();
            assert_eq!(drain(&mut q), vec![(0, b"12345".to_vec())]);
        }
    }

    #[test]
    fn no_room_leaves_no_trace_and_a_slow_reader_closes_the_window() {
        for interleaved in [false, true] {
            let mut q = ReassemblyQueue::new(10, 10, interleaved);
            q.add(Tsn(0), frag(0, 0, true, true, true, b"123456"))
                .unwrap();
            assert!(q.has_room(4) && !q.has_room(5));
            assert_eq!(
                q.add(Tsn(1), frag(0, 0, false, true, true, b"12345")),
                Err(ReassemblyError::NoRoom)
            );
            // The ordered SSN 0 was not consumed: it can come again once there is room.
            assert_eq!(q.buffered_bytes(), 6);
            assert!(q.pop().is_some());
            q.add(Tsn(1), frag(0, 0, false, true, true, b"12345"))
                .unwrap();
            assert_eq!(drain(&mut q), vec![(0, b"12345".to_vec())]);
        }
        // A fragment refused mid-message: the run is untouched.
        let mut q = ReassemblyQueue::new(4, 10, false);
        q.add(Tsn(0), frag(0, 0, false, true, false, b"ab"))
            .unwrap();
        assert_eq!(
            q.add(Tsn(1), frag(0, 0, false, false, true, b"cde")),
            Err(ReassemblyError::NoRoom)
        );
        q.add(Tsn(1), frag(0, 0, false, false, true, b"cd"))
            .unwrap();
        assert_eq!(drain(&mut q), vec![(0, b"abcd".to_vec())]);
    }

    #[test]
    fn protocol_violations_are_refused() {
        let mut q = ReassemblyQueue::new(MAX, MAX, false);
        assert_eq!(
            q.add(Tsn(0), frag(0, 0, false, true, true, b"")),
            Err(ReassemblyError::Invalid)
        );
        q.add(Tsn(1), frag(0, 0, false, true, false, b"a")).unwrap();
        // The same TSN again.
        assert_eq!(
            q.add(Tsn(1), frag(0, 0, false, true, false, b"a")),
            Err(ReassemblyError::Invalid)
        );
        // A B right after a fragment that was not an E.
        assert_eq!(
            q.add(Tsn(2), frag(0, 1, false, true, false, b"b")),
            Err(ReassemblyError::Invalid)
        );
        // A continuation on another stream / with another SSN.
        assert_eq!(
            q.add(Tsn(2), frag(1, 0, false, false, true, b"b")),
            Err(ReassemblyError::Invalid)
        );
        assert_eq!(
            q.add(Tsn(2), frag(0, 5, false, false, true, b"b")),
            Err(ReassemblyError::Invalid)
        );
        assert_eq!(q.buffered_bytes(), 1);
        q.add(Tsn(2), frag(0, 0, false, false, true, b"b")).unwrap();
        assert_eq!(drain(&mut q), vec![(0, b"ab".to_vec())]);
        // SSN 0 again: already delivered.
        assert_eq!(
            q.add(Tsn(3), frag(0, 0, false, true, true, b"c")),
            Err(ReassemblyError::Invalid)
        );

        let mut q = ReassemblyQueue::new(MAX, MAX, true);
        q.add(Tsn(1), ifrag(0, 0, 2, false, true, b"c")).unwrap();
        // FSN beyond the E, a second E, B with a non-zero FSN.
        assert_eq!(
            q.add(Tsn(2), ifrag(0, 0, 3, false, false, b"d")),
            Err(ReassemblyError::Invalid)
        );
        assert_eq!(
            q.add(Tsn(2), ifrag(0, 0, 1, false, true, b"d")),
            Err(ReassemblyError::Invalid)
        );
        let mut b = ifrag(0, 0, 0, false, false, b"a");
        b.fsn = 7;
        assert_eq!(q.add(Tsn(2), b), Err(ReassemblyError::Invalid));
        // A duplicated FSN shows once the E's count is reached: the message is discarded.
        q.add(Tsn(2), ifrag(0, 0, 1, false, false, b"b")).unwrap();
        assert_eq!(
            q.add(Tsn(3), ifrag(0, 0, 1, false, false, b"b")),
            Err(ReassemblyError::Invalid)
        );
        assert_eq!(q.buffered_bytes(), 0);
    }

    #[test]
    fn duplicate_fsn_discards_the_message() {
        let mut q = ReassemblyQueue::new(MAX, MAX, true);
        q.add(Tsn(1), ifrag(0, 0, 1, false, false, b"b")).unwrap();
        q.add(Tsn(2), ifrag(0, 0, 1, false, false, b"b")).unwrap();
        assert_eq!(
            q.add(Tsn(3), ifrag(0, 0, 2, false, true, b"c")),
            Err(ReassemblyError::Invalid)
        );
        assert_eq!(q.buffered_bytes(), 0);
        assert_eq!(q.ready_count(), 0);
    }

    #[test]
    fn forward_tsn_skips_abandoned_data_messages() {
        let mut q = ReassemblyQueue::new(MAX, MAX, false);
        // Stream 0: SSN 0 (TSN 1-3) lost its middle; SSN 1 (TSN 4) complete and waiting;
        // SSN 2 (TSN 5-6) lost its end; SSN 3 (TSN 7) complete. Unordered TSN 8-9 partial.
        q.add(Tsn(1), frag(0, 0, false, true, false, b"a")).unwrap();
        q.add(Tsn(3), frag(0, 0, false, false, true, b"c")).unwrap();
        q.add(Tsn(4), frag(0, 1, false, true, true, b"one"))
            .unwrap();
        q.add(Tsn(5), frag(0, 2, false, true, false, b"x")).unwrap();
        q.add(Tsn(7), frag(0, 3, false, true, true, b"three"))
            .unwrap();
        q.add(Tsn(8), frag(5, 0, true, true, false, b"u")).unwrap();
        assert_eq!(q.ready_count(), 0);
        assert_eq!(q.buffered_bytes(), 12);
        // FORWARD-TSN to 6 with (stream 0, SSN 2).
        assert_eq!(q.forget_below(Tsn(6)), 3);
        q.skip(StreamId(0), false, 2);
        assert_eq!(
            drain(&mut q),
            vec![(0, b"one".to_vec()), (0, b"three".to_vec())]
        );
        assert_eq!(q.buffered_bytes(), 1);
        // Later data flows; the unordered partial above the new cum stays.
        q.add(Tsn(10), frag(0, 4, false, true, true, b"four"))
            .unwrap();
        q.add(Tsn(9), frag(5, 0, true, false, true, b"v")).unwrap();
        assert_eq!(
            drain(&mut q),
            vec![(0, b"four".to_vec()), (5, b"uv".to_vec())]
        );
        // An out-of-date skip changes nothing.
        q.skip(StreamId(0), false, 1);
        q.add(Tsn(11), frag(0, 5, false, true, true, b"five"))
            .unwrap();
        assert_eq!(drain(&mut q), vec![(0, b"five".to_vec())]);
        assert_eq!(q.buffered_bytes(), 0);
    }

    #[test]
    fn i_forward_tsn_skips_abandoned_i_data_messages() {
        let mut q = ReassemblyQueue::new(MAX, MAX, true);
        q.add(Tsn(1), ifrag(2, 0, 0, false, false, b"abandoned"))
            .unwrap();
        q.add(Tsn(2), ifrag(2, 1, 1, false, true, b"1")).unwrap();
        q.add(Tsn(3), ifrag(2, 1, 0, false, false, b"mid")).unwrap();
        q.add(Tsn(4), ifrag(2, 7, 0, true, false, b"un")).unwrap();
        q.add(Tsn(5), ifrag(2, 8, 0, true, false, b"keep")).unwrap();
        assert_eq!(q.ready_count(), 0);
        assert_eq!(q.forget_below(Tsn(10)), 0); // I-DATA: by MID only
        q.skip(StreamId(2), false, 0);
        q.skip(StreamId(2), true, 7);
        assert_eq!(drain(&mut q), vec![(2, b"mid1".to_vec())]);
        assert_eq!(q.buffered_bytes(), 4);
        q.add(Tsn(6), ifrag(2, 8, 1, true, true, b"!")).unwrap();
        assert_eq!(drain(&mut q), vec![(2, b"keep!".to_vec())]);
        assert_eq!(q.buffered_bytes(), 0);
    }

    #[test]
    fn reset_stream_restarts_at_zero() {
        for interleaved in [false, true] {
            let mut q = ReassemblyQueue::new(MAX, MAX, interleaved);
            for ssn in 0..3 {
                q.add(Tsn(ssn), frag(7, ssn, false, true, true, b"old"))
                    .unwrap();
            }
            q.reset_stream(StreamId(7));
            q.add(Tsn(3), frag(7, 0, false, true, true, b"new"))
                .unwrap();
            assert_eq!(drain(&mut q).len(), 4);
            assert_eq!(q.buffered_bytes(), 0);
        }
    }

    /// One message of the property test: its stream, ordering and payload.
    #[derive(Debug, Clone)]
    struct TestMsg {
        stream: u16,
        unordered: bool,
        sizes: Vec<usize>,
    }

    fn test_msgs() -> impl Strategy<Value = Vec<TestMsg>> {
        proptest::collection::vec(
            (
                0u16..4,
                any::<bool>(),
                proptest::collection::vec(1usize..20, 1..5),
            )
                .prop_map(|(stream, unordered, sizes)| TestMsg {
                    stream,
                    unordered,
                    sizes,
                }),
            1..30,
        )
    }

    proptest! {
        /// The fragments of N messages over K streams, shuffled: every message is delivered
        /// exactly once, intact, and ordered ones in their stream's order.
        #[test]
        fn shuffled_fragments_reassemble(
            msgs in test_msgs(),
            interleaved: bool,
            tsn0: u32,
            seq0 in prop_oneof![Just(0u32), Just(65_530), Just(u32::MAX - 5)],
            shuffle_seed: u64,
        ) {
            let bits = if interleaved { 32 } else { 16 };
            let mask = if interleaved { u32::MAX } else { 0xFFFF };
            let mut q = ReassemblyQueue::new(MAX, MAX, interleaved);
            let mut next_seq = [[seq0 & mask; 2]; 4];
            // Start each stream near the wrap of its SSN / MID.
            for s in 0..4u16 {
                start_at(&mut q, s, seq0 & mask, bits);
            }
            let mut chunks = Vec::new();
            let mut tsn = Tsn(tsn0);
            for (id, m) in msgs.iter().enumerate() {
                let seq = &mut next_seq[usize::from(m.stream)][usize::from(m.unordered)];
                let this_seq = *seq;
                *seq = seq.wrapping_add(1) & mask;
                let n = m.sizes.len();
                for (k, &size) in m.sizes.iter().enumerate() {
                    let payload: Vec<u8> = (0..size).map(|j| (id * 31 + k * 7 + j) as u8).collect();
                    let f = Fragment {
                        stream: StreamId(m.stream),
                        seq: this_seq,
                        fsn: if interleaved { k as u32 } else { 0 },
                        ppid: Ppid(id as u32),
                        unordered: m.unordered,
                        beginning: k == 0,
                        ending: k + 1 == n,
                        payload: Bytes::from(payload),
                    };
                    chunks.push((tsn, f));
                    tsn = tsn.next();
                }
            }
            // Deterministic shuffle from the seed.
            let mut state = shuffle_seed | 1;
            for i in (1..chunks.len()).rev() {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                chunks.swap(i, (state % (i as u64 + 1)) as usize);
            }
            let mut out = Vec::new();
            for (i, (tsn, f)) in chunks.into_iter().enumerate() {
                prop_assert_eq!(q.add(tsn, f), Ok(()));
                if (i as u64 + shuffle_seed).is_multiple_of(3) {
                    out.extend(core::iter::from_fn(|| q.pop()));
                }
            }
            out.extend(core::iter::from_fn(|| q.pop()));
            prop_assert_eq!(q.buffered_bytes(), 0);
            prop_assert_eq!(out.len(), msgs.len());
            let mut seen = vec![false; msgs.len()];
            let mut last_ordered: [Option<usize>; 4] = [None; 4];
            for m in out {
                let id = m.ppid.0 as usize;
                prop_assert!(!seen[id], "message {} twice", id);
                seen[id] = true;
                let spec = &msgs[id];
                let expected: Vec<u8> = spec
                    .sizes
                    .iter()
                    .enumerate()
                    .flat_map(|(k, &size)| (0..size).map(move |j| (id * 31 + k * 7 + j) as u8))
                    .collect();
                prop_assert_eq!(&m.payload[..], &expected[..]);
                prop_assert_eq!((m.stream.0, m.unordered), (spec.stream, spec.unordered));
                if !m.unordered {
                    let slot = &mut last_ordered[usize::from(m.stream.0)];
                    prop_assert!(slot.is_none_or(|prev| prev < id), "order on stream {}", m.stream.0);
                    *slot = Some(id);
                }
            }
        }
    }
}
