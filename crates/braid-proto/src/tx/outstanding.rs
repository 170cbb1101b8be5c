//! Outstanding data: every DATA / I-DATA chunk sent and not yet cumulatively acknowledged,
//! with what SACK processing (RFC 9260 §6.2.1), the retransmission timer (§6.3.2, §6.3.3),
//! Fast Retransmit (§7.2.4) and PR-SCTP (RFC 3758 §3.5) need to know about it.
//!
//! TSNs are assigned consecutively, so the chunks live in a `VecDeque` indexed by their
//! distance from the Cumulative TSN Ack Point: entry `i` is TSN `cum_ack + 1 + i`. A
//! cumulative ack pops from the front, a gap block is an index range, and nothing is a tree.
//!
//! Sizes: a chunk counts in flight (for cwnd, Max.Burst and the peer's rwnd alike) with its
//! *padded chunk size* — header (16 bytes DATA, 20 bytes I-DATA) plus payload, rounded up to
//! 4 — not just its user data. cwnd limits bytes put on the network, and RFC 9260's own
//! initial window shows the unit: 4404 bytes is exactly three full-sized DATA chunks on a
//! 1500-byte IPv4 path (3 × (1500 − 20 − 12)). Counting headers also keeps a flight of tiny
//! messages honest. For the peer's window it is slightly conservative (the peer counts user
//! data), which can only keep us further from overrunning it.
//!
//! Memory: one entry of about 100 bytes (the fragment, whose payload is a shared `Bytes`
//! view kept for retransmission, plus bookkeeping) per TSN between the Cumulative TSN Ack
//! Point and the highest TSN sent — bounded by what the association lets in flight (cwnd,
//! the peer's window, its send buffer) and capped at [`MAX_OUTSTANDING_CHUNKS`]. Per-path
//! counters grow only when a path is first used. In steady state nothing allocates: SACK
//! outcomes are written into reused buffers.

use core::cmp::Ordering;
use std::collections::VecDeque;
use std::time::Instant;

use braid_wire::{Sack, Tsn};

use super::congestion::AckInfo;
use super::loss::{Delivered, LossDetection, LossDetector, SackSummary};
use crate::data::Fragment;
use crate::ids::{PathId, StreamId};

/// Chunk header of DATA (RFC 9260 §3.3.1): 4-byte chunk header + TSN, stream, SSN, PPID.
pub(crate) const DATA_CHUNK_HEADER_LEN: usize = 16;
/// Chunk header of I-DATA (RFC 8260 §2.1): 4-byte chunk header + TSN, stream, MID, PPID/FSN.
pub(crate) const IDATA_CHUNK_HEADER_LEN: usize = 20;

/// Most chunks outstanding at once. TSN comparisons (RFC 1982) only order numbers less than
/// half the space apart, so more would make "before" and "after" meaningless.
pub(crate) const MAX_OUTSTANDING_CHUNKS: usize = (1 << 31) - 1;

/// The size a chunk with `payload_len` bytes of user data takes in a packet and counts in
/// flight: header plus payload, padded to 4 bytes.
pub(crate) fn chunk_size(payload_len: usize, idata: bool) -> usize {
    let header = if idata {
        IDATA_CHUNK_HEADER_LEN
    } else {
        DATA_CHUNK_HEADER_LEN
    };
    (header + payload_len + 3) & !3
}

/// Where an outstanding chunk stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChunkState {
    /// Sent and not acknowledged: counts in flight.
    InFlight,
    /// Acknowledged by a Gap Ack Block: out of flight, but kept until the cumulative ack
    /// passes it — the peer may still renege (§6.2.1 D iii).
    GapAcked,
    /// Marked for retransmission (Fast Retransmit or T3-rtx): out of flight until resent.
    Retransmit,
    /// Abandoned (PR-SCTP): out of flight, never resent, skipped with FORWARD-TSN.
    Abandoned,
}

#[derive(Debug, Clone)]
struct Item {
    frag: Fragment,
    /// Padded chunk size: what it counts in flight.
    size: usize,
    /// The path it was last sent on.
    path: PathId,
    /// When it was last sent.
    sent: Instant,
    /// Transmissions so far: 1 until retransmitted (Karn's rule, PR-SCTP limits).
    transmissions: u32,
    state: ChunkState,
    /// Miss indications (§7.2.4) since it was last sent.
    misses: u8,
    /// Fast-retransmitted once: "ineligible for a subsequent Fast Retransmit" (§7.2.4 5).
    fast_retransmitted: bool,
    /// Reneged on by the peer: its acknowledgement time says nothing about the RTT.
    reneged: bool,
    /// Marked for retransmission (T3 or fast) at some point: a late acknowledgement of the
    /// original measures the timeout, not the RTT (Karn, RFC 9260 §6.3.1 C5).
    marked: bool,
}

impl Item {
    fn retransmitted(&self) -> bool {
        self.transmissions > 1
    }
}

/// Bytes in flight, per path and in total.
#[derive(Debug, Clone, Default)]
struct Flight {
    per_path: Vec<usize>,
    total: usize,
}

impl Flight {
    fn add(&mut self, path: PathId, bytes: usize) {
        let i = usize::from(path.0);
        if self.per_path.len() <= i {
            // Only when a path is used for the first time.
            self.per_path.resize(i + 1, 0);
        }
        if let Some(b) = self.per_path.get_mut(i) {
            *b += bytes;
        }
        self.total += bytes;
    }

    fn sub(&mut self, path: PathId, bytes: usize) {
        if let Some(b) = self.per_path.get_mut(usize::from(path.0)) {
            *b = b.saturating_sub(bytes);
        }
        self.total = self.total.saturating_sub(bytes);
    }

    fn of(&self, path: PathId) -> usize {
        self.per_path.get(usize::from(path.0)).copied().unwrap_or(0)
    }
}

/// The retransmission queue: how many chunks are marked, and a TSN no marked chunk precedes.
#[derive(Debug, Clone, Copy)]
struct Marks {
    count: usize,
    lowest: Tsn,
}

impl Marks {
    fn add(&mut self, tsn: Tsn) {
        if self.count == 0 || tsn.precedes(self.lowest) {
            self.lowest = tsn;
        }
        self.count += 1;
    }

    fn remove(&mut self) {
        self.count = self.count.saturating_sub(1);
    }
}

/// An RTT measurement a SACK allows (RFC 9260 §6.3.1 C5: never from a retransmitted chunk).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RttSample {
    /// The path the measured chunk was sent on: whose RTO to update.
    pub(crate) path: PathId,
    /// The chunk measured: the highest newly acknowledged TSN that was sent only once.
    pub(crate) tsn: Tsn,
    /// When it was sent: the RTT is the SACK's arrival time minus this.
    pub(crate) sent: Instant,
}

/// What a SACK (or a loss-detector timeout) changed on one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PathAck {
    /// The path.
    pub(crate) path: PathId,
    /// Bytes last sent on this path and acknowledged for the first time (cumulative ack or
    /// gap block): "the total size of the previously outstanding DATA chunk(s)
    /// acknowledged" of §7.2.1 / §7.2.2.
    pub(crate) newly_acked: usize,
    /// Bytes in flight on this path when the SACK arrived (§7.2.2 "before the arrival of
    /// the SACK chunk", and whether cwnd was fully utilised).
    pub(crate) flight_before: usize,
    /// Bytes in flight on this path now.
    pub(crate) in_flight: usize,
    /// The SACK acknowledged the earliest outstanding chunk sent on this path: restart its
    /// T3-rtx timer if data remains, stop it if not (§6.3.2 R2, R3).
    pub(crate) earliest_acked: bool,
    /// A chunk last sent on this path was reneged on (§6.2.1 D iii): start its T3-rtx
    /// timer if it is not running.
    pub(crate) revoked: bool,
    /// Chunks last sent on this path were newly marked for Fast Retransmit.
    pub(crate) fast_retransmit: bool,
    /// This SACK entered Fast Recovery because of chunks sent on this path: apply §7.2.3
    /// (`CongestionControl::on_fast_retransmit`) to it.
    pub(crate) reduce_cwnd: bool,
    /// Walk state: an unacknowledged chunk of this path was seen before the current one.
    seen_unacked: bool,
}

impl PathAck {
    fn new(path: PathId, flight: usize) -> Self {
        Self {
            path,
            newly_acked: 0,
            flight_before: flight,
            in_flight: flight,
            earliest_acked: false,
            revoked: false,
            fast_retransmit: false,
            reduce_cwnd: false,
            seen_unacked: false,
        }
    }

    /// Whether anything happened on this path.
    pub(crate) fn is_active(&self) -> bool {
        self.newly_acked > 0 || self.revoked || self.fast_retransmit
    }

    /// What the path's congestion controller needs from this SACK.
    pub(crate) fn ack_info(&self, in_fast_recovery: bool) -> AckInfo {
        AckInfo {
            bytes_acked: self.newly_acked,
            flight_before: self.flight_before,
            flight_after: self.in_flight,
            in_fast_recovery,
        }
    }
}

/// The result of [`Outstanding::handle_sack`]. Reused between SACKs (no allocation once
/// its buffers have grown): copy out what you need before the next call.
#[derive(Debug, Clone, Default)]
pub(crate) struct SackOutcome {
    /// Chunks sent before this instant give no RTT sample (a retransmission followed).
    sample_after: Option<Instant>,
    /// The Cumulative TSN Ack Point after the SACK.
    pub(crate) cum_ack: Tsn,
    /// Whether the SACK advanced it.
    pub(crate) cum_ack_advanced: bool,
    /// The highest TSN acknowledged for the first time (by cumulative ack or gap block).
    pub(crate) highest_newly_acked: Option<Tsn>,
    /// The RTT measurement this SACK allows, if any.
    pub(crate) rtt_sample: Option<RttSample>,
    /// The newly acknowledged chunk sent last (for time-based loss detection).
    pub(crate) newest_delivered: Option<Delivered>,
    /// TSNs newly marked for Fast Retransmit, in TSN order.
    pub(crate) fast_retransmits: Vec<Tsn>,
    /// This SACK started Fast Recovery (§7.2.4 6): send one packet of the lowest marked
    /// chunks right away, ignoring cwnd (§7.2.4 3).
    pub(crate) entered_fast_recovery: bool,
    /// Whether the sender is in Fast Recovery after the SACK (no cwnd growth, §7.2.1).
    pub(crate) in_fast_recovery: bool,
    /// Chunks that gap blocks had acknowledged and this SACK no longer does.
    pub(crate) revoked: usize,
    /// Duplicate TSNs the peer reported (statistics only).
    pub(crate) duplicate_tsns: usize,
    /// Gap Ack Blocks ignored as malformed (start 0, start after end) or acknowledging TSNs
    /// never sent.
    pub(crate) invalid_gap_blocks: usize,
    /// Total bytes in flight after the SACK (the peer's rwnd is its a_rwnd minus this).
    pub(crate) bytes_in_flight: usize,
    /// Per path, indexed by `PathId`: every path that ever carried data.
    pub(crate) paths: Vec<PathAck>,
}

impl SackOutcome {
    fn reset(&mut self, cum_ack: Tsn, flight: &Flight) {
        self.cum_ack = cum_ack;
        self.cum_ack_advanced = false;
        self.highest_newly_acked = None;
        self.rtt_sample = None;
        self.newest_delivered = None;
        self.fast_retransmits.clear();
        self.entered_fast_recovery = false;
        self.in_fast_recovery = false;
        self.revoked = 0;
        self.duplicate_tsns = 0;
        self.invalid_gap_blocks = 0;
        self.bytes_in_flight = flight.total;
        self.paths.clear();
        self.paths.extend(
            flight
                .per_path
                .iter()
                .enumerate()
                .map(|(i, &f)| PathAck::new(PathId(u16::try_from(i).unwrap_or(u16::MAX)), f)),
        );
    }

    /// The entry of one path.
    pub(crate) fn path(&self, path: PathId) -> Option<&PathAck> {
        self.paths.get(usize::from(path.0))
    }

    fn path_mut(&mut self, path: PathId) -> Option<&mut PathAck> {
        self.paths.get_mut(usize::from(path.0))
    }

    /// Records a chunk acknowledged for the first time.
    fn acked(&mut self, tsn: Tsn, item: &Item) {
        if let Some(p) = self.path_mut(item.path) {
            p.newly_acked += item.size;
            if !p.seen_unacked {
                p.earliest_acked = true;
            }
        }
        // Called in ascending TSN order: the last call is the highest.
        self.highest_newly_acked = Some(tsn);
        // §6.3.1 C5: "RTT measurements MUST NOT be made using chunks that were
        // retransmitted (and thus for which it is ambiguous whether the reply was for the
        // first instance of the chunk or for a later instance)."
        // And "RTT measurements SHOULD only be made using a chunk with TSN r if no chunk
        // with TSN less than or equal to r was retransmitted since the chunk with TSN r was
        // sent": conservatively, none sent before the latest retransmission.
        let fresh = self.sample_after.is_none_or(|t| item.sent > t);
        if !item.retransmitted() && !item.reneged && !item.marked && fresh {
            self.rtt_sample = Some(RttSample {
                path: item.path,
                tsn,
                sent: item.sent,
            });
        }
        if self.newest_delivered.is_none_or(|d| item.sent >= d.sent) {
            self.newest_delivered = Some(Delivered {
                tsn,
                path: item.path,
                sent: item.sent,
                retransmitted: item.retransmitted(),
            });
        }
    }

    /// Notes an outstanding chunk of `path` that stays unacknowledged.
    fn unacked(&mut self, path: PathId) {
        if let Some(p) = self.path_mut(path) {
            p.seen_unacked = true;
        }
    }
}

/// Why [`Outstanding::handle_sack`] refused a SACK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SackError {
    /// Its Cumulative TSN Ack is behind the Cumulative TSN Ack Point: an out-of-order SACK,
    /// dropped entirely, a_rwnd included (§6.2.1 D i).
    Stale,
    /// It acknowledges a TSN that was never sent: a protocol violation (the association
    /// answers with an ABORT).
    AcksUnsentTsn {
        /// Its Cumulative TSN Ack.
        cum_ack: Tsn,
        /// The highest TSN sent.
        highest_sent: Tsn,
    },
}

/// Why [`Outstanding::add`] refused a chunk. The fragment is handed back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AddError {
    /// The TSN that had to come next.
    pub(crate) expected: Tsn,
    /// Whether the tracker was full ([`MAX_OUTSTANDING_CHUNKS`]) rather than the TSN wrong.
    pub(crate) full: bool,
    /// The fragment, not added.
    pub(crate) fragment: Fragment,
}

/// A chunk handed out for retransmission by [`Outstanding::next_retransmit`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Retransmission<'a> {
    /// Its TSN (unchanged: a retransmission is the same chunk).
    pub(crate) tsn: Tsn,
    /// What to put in the chunk.
    pub(crate) fragment: &'a Fragment,
    /// Its padded chunk size.
    pub(crate) size: usize,
    /// Transmissions including this one (PR-SCTP limits count `transmissions - 1`).
    pub(crate) transmissions: u32,
}

/// The message a PR-SCTP abandonment hit (RFC 3758 §3.5, RFC 7496).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AbandonedMessage {
    /// Its stream.
    pub(crate) stream: StreamId,
    /// Its SSN (DATA) or MID (I-DATA).
    pub(crate) seq: u32,
    /// Whether it was unordered.
    pub(crate) unordered: bool,
    /// Chunks newly abandoned.
    pub(crate) chunks: usize,
    /// Whether its last fragment was among them; if not, the send queue still holds the
    /// rest of the message and must drop it too.
    pub(crate) complete: bool,
}

/// All data in flight, with its retransmission state. See the [module docs](self).
#[derive(Debug)]
pub(crate) struct Outstanding {
    /// The Cumulative TSN Ack Point: every TSN up to it is acknowledged.
    cum_ack: Tsn,
    /// Entry `i` is TSN `cum_ack + 1 + i`.
    items: VecDeque<Item>,
    /// I-DATA (RFC 8260) rather than DATA: chunk header size, message matching.
    idata: bool,
    flight: Flight,
    marks: Marks,
    /// No chunk at or after this TSN is gap-acked (bounds the revocation walk).
    gap_acked_end: Tsn,
    /// The Fast Recovery exit point (§7.2.4 6), while in Fast Recovery.
    /// When a chunk was last retransmitted (for the second rule of RFC 9260 §6.3.1 C5).
    last_rtx_at: Option<Instant>,
    recovery: Option<Tsn>,
    loss: Box<dyn LossDetector>,
    outcome: SackOutcome,
    /// Gap blocks as index ranges, reused between SACKs.
    gaps: Vec<(usize, usize)>,
}

impl Outstanding {
    /// An empty tracker whose first chunk will carry `initial_tsn`.
    pub(crate) fn new(initial_tsn: Tsn, idata: bool, loss: LossDetection) -> Self {
        Self::with_detector(initial_tsn, idata, loss.build())
    }

    /// An empty tracker with a given loss detector.
    pub(crate) fn with_detector(
        initial_tsn: Tsn,
        idata: bool,
        loss: Box<dyn LossDetector>,
    ) -> Self {
        Self {
            cum_ack: initial_tsn.prev(),
            items: VecDeque::new(),
            idata,
            flight: Flight::default(),
            marks: Marks {
                count: 0,
                lowest: initial_tsn,
            },
            gap_acked_end: initial_tsn,
            recovery: None,
            last_rtx_at: None,
            loss,
            outcome: SackOutcome::default(),
            gaps: Vec::new(),
        }
    }

    // ------------------------------------------------------------------------ getters

    /// Chunks outstanding (in flight, gap-acked, marked or abandoned).
    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether nothing is outstanding.
    pub(crate) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The Cumulative TSN Ack Point.
    pub(crate) fn cum_ack(&self) -> Tsn {
        self.cum_ack
    }

    /// The TSN the next new chunk must carry.
    pub(crate) fn next_tsn(&self) -> Tsn {
        self.cum_ack.add(self.len_u32()).next()
    }

    /// The highest TSN sent (the Cumulative TSN Ack Point when nothing is outstanding).
    pub(crate) fn highest_sent(&self) -> Tsn {
        self.cum_ack.add(self.len_u32())
    }

    /// Total bytes in flight.
    pub(crate) fn bytes_in_flight(&self) -> usize {
        self.flight.total
    }

    /// Bytes in flight on one path.
    pub(crate) fn bytes_in_flight_on(&self, path: PathId) -> usize {
        self.flight.of(path)
    }

    /// Whether chunks wait for retransmission.
    pub(crate) fn has_retransmits(&self) -> bool {
        self.marks.count > 0
    }

    /// Chunks waiting for retransmission.
    pub(crate) fn retransmit_count(&self) -> usize {
        self.marks.count
    }

    /// Whether the sender is in Fast Recovery (§7.2.4).
    pub(crate) fn in_fast_recovery(&self) -> bool {
        self.recovery.is_some()
    }

    /// The Fast Recovery exit point, while in Fast Recovery.
    pub(crate) fn fast_recovery_exit(&self) -> Option<Tsn> {
        self.recovery
    }

    /// The state of an outstanding chunk.
    pub(crate) fn state(&self, tsn: Tsn) -> Option<ChunkState> {
        self.item(tsn).map(|i| i.state)
    }

    /// The miss indications of an outstanding chunk.
    pub(crate) fn miss_indications(&self, tsn: Tsn) -> Option<u8> {
        self.item(tsn).map(|i| i.misses)
    }

    /// The fragment an outstanding chunk carries.
    pub(crate) fn fragment(&self, tsn: Tsn) -> Option<&Fragment> {
        self.item(tsn).map(|i| &i.frag)
    }

    /// When the earliest chunk still in flight on `path` was sent: a restarted T3-rtx timer
    /// (§6.3.2 R3) or a time-based detector measures from it. `None` when nothing is in
    /// flight there (R2: the timer stops).
    pub(crate) fn earliest_in_flight_send_time(&self, path: PathId) -> Option<Instant> {
        if self.flight.of(path) == 0 {
            return None;
        }
        self.items
            .iter()
            .find(|i| i.state == ChunkState::InFlight && i.path == path)
            .map(|i| i.sent)
    }

    /// The deadline of the loss detector's own timer, if it has one.
    pub(crate) fn loss_timeout(&self) -> Option<Instant> {
        self.loss.poll_timeout()
    }

    fn len_u32(&self) -> u32 {
        // At most MAX_OUTSTANDING_CHUNKS < 2^31 entries.
        u32::try_from(self.items.len()).unwrap_or(u32::MAX)
    }

    /// The index of `tsn`, if it is outstanding.
    fn index(&self, tsn: Tsn) -> Option<usize> {
        if !tsn.follows(self.cum_ack) {
            return None;
        }
        let i = tsn.distance_from(self.cum_ack.next()) as usize;
        (i < self.items.len()).then_some(i)
    }

    fn item(&self, tsn: Tsn) -> Option<&Item> {
        self.index(tsn).and_then(|i| self.items.get(i))
    }

    // ------------------------------------------------------------------------ sending

    /// Records a new chunk sent for the first time on `path` at `now`, and returns the bytes
    /// it counts in flight.
    ///
    /// TSNs are assigned consecutively (RFC 9260 §3.3.1), so `tsn` must be
    /// [`next_tsn`](Self::next_tsn); anything else is refused and the fragment handed back.
    pub(crate) fn add(
        &mut self,
        tsn: Tsn,
        frag: Fragment,
        path: PathId,
        now: Instant,
    ) -> Result<usize, AddError> {
        let expected = self.next_tsn();
        let full = self.items.len() >= MAX_OUTSTANDING_CHUNKS;
        if tsn != expected || full {
            return Err(AddError {
                expected,
                full,
                fragment: frag,
            });
        }
        let size = chunk_size(frag.payload.len(), self.idata);
        self.items.push_back(Item {
            frag,
            size,
            path,
            sent: now,
            transmissions: 1,
            state: ChunkState::InFlight,
            misses: 0,
            fast_retransmitted: false,
            reneged: false,
            marked: false,
        });
        self.flight.add(path, size);
        Ok(size)
    }

    /// Hands out the lowest-TSN chunk marked for retransmission, if `fits(size)` accepts its
    /// padded size, and records it as retransmitted on `path` at `now` (back in flight,
    /// Karn's rule from now on, miss indications reset).
    ///
    /// Marked chunks go out in TSN order, Fast Retransmit and T3-rtx marks alike, as §7.2.4
    /// 3 and §6.3.3 E3 both ask for "the earliest (i.e., lowest TSN)" chunks. A chunk that
    /// does not fit is not skipped: start a new packet (and accept it into an empty one,
    /// even if the path MTU shrank below it, or it would never be resent).
    pub(crate) fn next_retransmit(
        &mut self,
        now: Instant,
        path: PathId,
        fits: impl FnOnce(usize) -> bool,
    ) -> Option<Retransmission<'_>> {
        if self.marks.count == 0 {
            return None;
        }
        let first = self.cum_ack.next();
        let start = if self.marks.lowest.follows(first) {
            self.marks.lowest.distance_from(first) as usize
        } else {
            0
        };
        let Some(pos) = self
            .items
            .iter()
            .skip(start)
            .position(|i| i.state == ChunkState::Retransmit)
        else {
            // The count said otherwise: repair it rather than search again every time.
            self.marks.count = 0;
            return None;
        };
        let idx = start + pos;
        let tsn = first.add(u32::try_from(idx).unwrap_or(u32::MAX));
        self.marks.lowest = tsn;
        let size = self.items.get(idx)?.size;
        if !fits(size) {
            return None;
        }
        self.marks.remove();
        self.marks.lowest = tsn.next();
        self.flight.add(path, size);
        let item = self.items.get_mut(idx)?;
        item.state = ChunkState::InFlight;
        item.path = path;
        item.sent = now;
        self.last_rtx_at = Some(now);
        item.transmissions = item.transmissions.saturating_add(1);
        item.misses = 0;
        Some(Retransmission {
            tsn,
            fragment: &item.frag,
            size,
            transmissions: item.transmissions,
        })
    }

    // ------------------------------------------------------------------------ SACK

    /// Applies a SACK (RFC 9260 §6.2.1 D, §7.2.4): the cumulative ack frees chunks, gap
    /// blocks mark chunks acknowledged and un-mark those no longer covered, the loss
    /// detector marks lost chunks for Fast Retransmit, and Fast Recovery is entered or left.
    ///
    /// A stale SACK (D i) changes nothing; neither does one acknowledging TSNs never sent.
    pub(crate) fn handle_sack(
        &mut self,
        sack: &Sack,
        now: Instant,
    ) -> Result<&SackOutcome, SackError> {
        self.process_ack(sack, now, true)
    }

    /// The Cumulative TSN Ack of a SHUTDOWN chunk (RFC 9260 §3.3.8): like a SACK without gap
    /// blocks, except that the missing blocks revoke nothing — "a SHUTDOWN chunk does not
    /// carry this meaning" — so gap-acked chunks stay acknowledged.
    pub(crate) fn handle_shutdown_ack(
        &mut self,
        cum_ack: Tsn,
        now: Instant,
    ) -> Result<&SackOutcome, SackError> {
        let sack = Sack {
            cumulative_tsn_ack: cum_ack,
            a_rwnd: 0,
            gap_blocks: Vec::new(),
            duplicate_tsns: Vec::new(),
        };
        self.process_ack(&sack, now, false)
    }

    /// SACK processing; `revoke` is false for a SHUTDOWN's cumulative ack.
    fn process_ack(
        &mut self,
        sack: &Sack,
        now: Instant,
        revoke: bool,
    ) -> Result<&SackOutcome, SackError> {
        let cum = sack.cumulative_tsn_ack;
        let highest_sent = self.highest_sent();
        // D i: "If Cumulative TSN Ack is less than the Cumulative TSN Ack Point, drop the
        // SACK chunk. Since Cumulative TSN Ack is monotonically increasing, a SACK chunk
        // whose Cumulative TSN Ack is less than the Cumulative TSN Ack Point indicates an
        // out-of-order SACK chunk." An equal one is processed: it may carry new gap blocks
        // and a new a_rwnd.
        match cum.serial_cmp(self.cum_ack) {
            Some(Ordering::Less) => return Err(SackError::Stale),
            Some(_) if !cum.follows(highest_sent) => {}
            // Beyond the highest TSN sent, or half the number space away.
            _ => {
                return Err(SackError::AcksUnsentTsn {
                    cum_ack: cum,
                    highest_sent,
                })
            }
        }
        let newly = cum.distance_from(self.cum_ack) as usize;
        let was_in_recovery = self.recovery.is_some();
        self.outcome.reset(cum, &self.flight);
        self.outcome.sample_after = self.last_rtx_at;
        self.outcome.duplicate_tsns = sack.duplicate_tsns.len();

        // The Cumulative TSN Ack frees everything up to it.
        let mut tsn = self.cum_ack;
        for _ in 0..newly {
            let Some(item) = self.items.pop_front() else {
                break;
            };
            tsn = tsn.next();
            match item.state {
                ChunkState::InFlight => {
                    self.flight.sub(item.path, item.size);
                    self.outcome.acked(tsn, &item);
                }
                ChunkState::Retransmit => {
                    // Delivered after all (the original was late): no need to resend.
                    self.marks.remove();
                    self.outcome.acked(tsn, &item);
                }
                ChunkState::GapAcked | ChunkState::Abandoned => {}
            }
        }
        self.cum_ack = cum;
        self.outcome.cum_ack_advanced = newly > 0;

        let highest_reported = self.apply_gap_blocks(sack, revoke);

        // D iv: "If the Cumulative TSN Ack matches or exceeds the Fast Recovery exitpoint
        // (Section 7.2.4), Fast Recovery is exited."
        if self.recovery.is_some_and(|exit| cum.follows_or_eq(exit)) {
            self.recovery = None;
        }

        let summary = SackSummary {
            now,
            cum_ack: cum,
            cum_ack_advanced: newly > 0,
            highest_newly_acked: self.outcome.highest_newly_acked,
            highest_reported,
            in_fast_recovery: was_in_recovery,
            newest_delivered: self.outcome.newest_delivered,
        };
        let mut scan = LossScan {
            items: &mut self.items,
            first: cum.next(),
            flight: &mut self.flight,
            marks: &mut self.marks,
            outcome: &mut self.outcome,
        };
        self.loss.on_sack(&summary, &mut scan);
        self.finish_loss_marking();
        Ok(&self.outcome)
    }

    /// Applies the Gap Ack Blocks of `sack` (whose cumulative ack is already applied) and
    /// returns the highest TSN they report received.
    fn apply_gap_blocks(&mut self, sack: &Sack, revoke: bool) -> Option<Tsn> {
        let len = self.items.len();
        let cum = self.cum_ack;
        // Normalise: index ranges, in order, without overlap, within what was sent. The
        // wire format does not promise order (braid-wire leaves it to us), so a peer's odd
        // but meaningful block list still counts.
        self.gaps.clear();
        let mut in_order = true;
        for b in &sack.gap_blocks {
            if b.start == 0 || b.start > b.end {
                self.outcome.invalid_gap_blocks += 1;
                continue;
            }
            let first = usize::from(b.start) - 1;
            let last = usize::from(b.end) - 1;
            if last >= len {
                // Acknowledges TSNs never sent: keep what is real.
                self.outcome.invalid_gap_blocks += 1;
                if first >= len {
                    continue;
                }
            }
            let last = last.min(len.saturating_sub(1));
            if self.gaps.last().is_some_and(|&(_, prev)| first <= prev + 1) {
                in_order = false;
            }
            self.gaps.push((first, last));
        }
        if !in_order {
            self.gaps.sort_unstable();
            self.gaps.dedup_by(|next, prev| {
                if next.0 <= prev.1 + 1 {
                    prev.1 = prev.1.max(next.1);
                    true
                } else {
                    false
                }
            });
        }
        let reported_end = self.gaps.last().map_or(0, |&(_, last)| last + 1);
        // Chunks gap-acked before that this SACK leaves out are revoked: walk up to the
        // furthest of the two. Without gap blocks, past or present, there is nothing to walk.
        let old_end = if self.gap_acked_end.follows(cum) {
            self.gap_acked_end.distance_from(cum.next()) as usize
        } else {
            0
        };
        let walk_end = reported_end.max(old_end).min(len);
        let mut blocks = self.gaps.iter().copied().peekable();
        for (i, item) in self.items.iter_mut().enumerate().take(walk_end) {
            while blocks.next_if(|&(_, last)| last < i).is_some() {}
            let in_block = blocks.peek().is_some_and(|&(first, _)| first <= i);
            let tsn = cum.add(u32::try_from(i + 1).unwrap_or(u32::MAX));
            match (item.state, in_block) {
                (ChunkState::InFlight, true) => {
                    item.state = ChunkState::GapAcked;
                    self.flight.sub(item.path, item.size);
                    self.outcome.acked(tsn, item);
                }
                (ChunkState::Retransmit, true) => {
                    item.state = ChunkState::GapAcked;
                    self.marks.remove();
                    self.outcome.acked(tsn, item);
                }
                (ChunkState::GapAcked, false) if revoke => {
                    // D iii: "If the SACK is missing a TSN that was previously acknowledged
                    // via a Gap Ack Block (e.g., the data receiver reneged on the data),
                    // then consider the corresponding DATA that might be possibly missing:
                    // Count one miss indication towards Fast Retransmit as described in
                    // Section 7.2.4, and if no retransmit timer is running for the
                    // destination address to which the DATA chunk was originally
                    // transmitted, then T3-rtx is started for that destination address."
                    // It is back in flight; its bytes must not be freed before it is acked.
                    item.state = ChunkState::InFlight;
                    item.misses = item.misses.saturating_add(1);
                    item.reneged = true;
                    self.flight.add(item.path, item.size);
                    self.outcome.revoked += 1;
                    self.outcome.unacked(item.path);
                    if let Some(p) = self.outcome.path_mut(item.path) {
                        p.revoked = true;
                    }
                }
                (ChunkState::InFlight | ChunkState::Retransmit, false) => {
                    self.outcome.unacked(item.path);
                }
                (ChunkState::GapAcked | ChunkState::Abandoned, _) => {}
            }
        }
        let reported = u32::try_from(reported_end).unwrap_or(u32::MAX);
        self.gap_acked_end = cum.add(reported).next();
        (reported_end > 0).then(|| cum.add(reported))
    }

    /// After a detector marked chunks: enter Fast Recovery if needed, fill in the totals.
    fn finish_loss_marking(&mut self) {
        if !self.outcome.fast_retransmits.is_empty() && self.recovery.is_none() {
            // §7.2.4 6: "If not in Fast Recovery, enter Fast Recovery and mark the highest
            // outstanding TSN as the Fast Recovery exit point." Step 2 (cwnd) applies to
            // "the destination address(es) to which the missing DATA chunks were last sent".
            self.recovery = Some(self.highest_sent());
            self.outcome.entered_fast_recovery = true;
            for p in &mut self.outcome.paths {
                p.reduce_cwnd = p.fast_retransmit;
            }
        }
        self.outcome.in_fast_recovery = self.recovery.is_some();
        self.outcome.bytes_in_flight = self.flight.total;
        for p in &mut self.outcome.paths {
            p.in_flight = self.flight.of(p.path);
        }
    }

    /// The loss detector's timer expired: let it mark chunks. The outcome carries only the
    /// loss fields (`fast_retransmits`, `entered_fast_recovery`, per-path flags).
    pub(crate) fn handle_loss_timeout(&mut self, now: Instant) -> &SackOutcome {
        self.outcome.reset(self.cum_ack, &self.flight);
        let mut scan = LossScan {
            items: &mut self.items,
            first: self.cum_ack.next(),
            flight: &mut self.flight,
            marks: &mut self.marks,
            outcome: &mut self.outcome,
        };
        self.loss.on_timeout(now, &mut scan);
        self.finish_loss_marking();
        &self.outcome
    }

    // ------------------------------------------------------------------------ timers

    /// The T3-rtx timer of `path` expired (§6.3.3 E3): every chunk in flight on it is marked
    /// for retransmission and leaves the flight. Returns the bytes taken out of flight.
    ///
    /// Fast Recovery also ends: RFC 9260 does not say, but staying in it would forbid cwnd
    /// growth (§7.2.1) from the one-MTU window of §7.2.3 until the old exit point is acked,
    /// which can take as many round trips as chunks were in flight. TCP leaves recovery on a
    /// timeout for the same reason (RFC 6582 §3.2, RFC 6675 §5.1).
    pub(crate) fn on_t3_expired(&mut self, path: PathId) -> usize {
        let first = self.cum_ack.next();
        let mut removed = 0;
        for (i, item) in self.items.iter_mut().enumerate() {
            if item.state == ChunkState::InFlight && item.path == path {
                item.state = ChunkState::Retransmit;
                item.marked = true;
                item.misses = 0;
                removed += item.size;
                self.marks
                    .add(first.add(u32::try_from(i).unwrap_or(u32::MAX)));
            }
        }
        self.flight.sub(path, removed);
        self.recovery = None;
        self.loss.on_t3_expired(path);
        removed
    }

    // ------------------------------------------------------------------------ PR-SCTP

    /// Abandons the message that chunk `tsn` belongs to (RFC 3758 §3.5, RFC 7496: lifetime
    /// expired or retransmissions exhausted): that chunk and every other outstanding
    /// fragment of the message leave the flight and the retransmission queue for good.
    /// `None` if `tsn` is not outstanding.
    ///
    /// DATA fragments of a message carry consecutive TSNs (RFC 9260 §6.9), so they are found
    /// next to it, from its B bit to its E bit; I-DATA fragments may interleave with other
    /// messages (RFC 8260), so they are matched by stream, U bit and MID.
    pub(crate) fn abandon_message(&mut self, tsn: Tsn) -> Option<AbandonedMessage> {
        let at = self.index(tsn)?;
        let key = {
            let f = &self.items.get(at)?.frag;
            (f.stream, f.seq, f.unordered)
        };
        let (stream, seq, unordered) = key;
        let (lo, hi) = if self.idata {
            (0, self.items.len())
        } else {
            let same = |i: &Item| i.frag.stream == stream && i.frag.seq == seq;
            let mut lo = at;
            while !self.items.get(lo).is_some_and(|i| i.frag.beginning) && lo > 0 {
                match self.items.get(lo - 1) {
                    Some(prev) if same(prev) && !prev.frag.ending => lo -= 1,
                    _ => break,
                }
            }
            let mut hi = at;
            while !self.items.get(hi).is_some_and(|i| i.frag.ending) {
                match self.items.get(hi + 1) {
                    Some(next) if same(next) && !next.frag.beginning => hi += 1,
                    _ => break,
                }
            }
            (lo, hi + 1)
        };
        let mut out = AbandonedMessage {
            stream,
            seq,
            unordered,
            chunks: 0,
            complete: false,
        };
        for item in self.items.iter_mut().skip(lo).take(hi - lo) {
            let f = &item.frag;
            if (f.stream, f.seq, f.unordered) != key {
                continue;
            }
            out.complete |= f.ending;
            match item.state {
                ChunkState::InFlight => self.flight.sub(item.path, item.size),
                ChunkState::Retransmit => self.marks.remove(),
                ChunkState::GapAcked => {}
                ChunkState::Abandoned => continue,
            }
            item.state = ChunkState::Abandoned;
            out.chunks += 1;
        }
        Some(out)
    }

    /// The Advanced.Peer.Ack.Point of RFC 3758 §3.5: the Cumulative TSN Ack Point moved on
    /// over every abandoned chunk that directly follows it (C1, C2). When it is ahead of
    /// the Cumulative TSN Ack Point, send a FORWARD TSN carrying it (C3).
    pub(crate) fn advanced_peer_ack_point(&self) -> Tsn {
        let skipped = self
            .items
            .iter()
            .take_while(|i| i.state == ChunkState::Abandoned)
            .count();
        self.cum_ack.add(u32::try_from(skipped).unwrap_or(u32::MAX))
    }

    /// The fragments a FORWARD TSN skips (up to the Advanced.Peer.Ack.Point), for its
    /// stream / SSN (or MID) list.
    pub(crate) fn abandoned_prefix(&self) -> impl Iterator<Item = &Fragment> + '_ {
        self.items
            .iter()
            .take_while(|i| i.state == ChunkState::Abandoned)
            .map(|i| &i.frag)
    }

    /// Test support: recomputes the accounting from the entries and compares.
    #[cfg(test)]
    fn check_invariants(&self) {
        let mut per_path = vec![0usize; self.flight.per_path.len()];
        let mut marked = 0;
        for item in &self.items {
            match item.state {
                ChunkState::InFlight => per_path[usize::from(item.path.0)] += item.size,
                ChunkState::Retransmit => marked += 1,
                _ => {}
            }
        }
        assert_eq!(per_path, self.flight.per_path, "per-path flight");
        assert_eq!(per_path.iter().sum::<usize>(), self.flight.total, "total");
        assert_eq!(marked, self.marks.count, "marked count");
        if marked > 0 {
            let first = self
                .items
                .iter()
                .position(|i| i.state == ChunkState::Retransmit);
            let lowest = self.cum_ack.add(first.unwrap() as u32 + 1);
            assert!(self.marks.lowest.precedes_or_eq(lowest), "mark hint");
        }
    }
}

/// The unacknowledged chunks as a [`LossDetector`] sees them during one call. It can look at
/// chunks in flight and mark them lost; the tracker does the accounting.
pub(crate) struct LossScan<'a> {
    items: &'a mut VecDeque<Item>,
    /// TSN of `items[0]`.
    first: Tsn,
    flight: &'a mut Flight,
    marks: &'a mut Marks,
    outcome: &'a mut SackOutcome,
}

impl LossScan<'_> {
    /// One past the highest TSN sent: the bound that covers every chunk.
    pub(crate) fn end(&self) -> Tsn {
        self.first
            .add(u32::try_from(self.items.len()).unwrap_or(u32::MAX))
    }

    /// Calls `f`, in TSN order, for every chunk in flight (sent, not acknowledged, not
    /// marked, not abandoned) whose TSN precedes `bound`. Chunks `f` marks lost leave the
    /// flight for the retransmission queue.
    pub(crate) fn for_each_in_flight_before(
        &mut self,
        bound: Tsn,
        mut f: impl FnMut(&mut Candidate<'_>),
    ) {
        if !bound.follows(self.first) {
            return;
        }
        let n = bound.distance_from(self.first) as usize;
        for (i, item) in self.items.iter_mut().enumerate().take(n) {
            if item.state != ChunkState::InFlight {
                continue;
            }
            let tsn = self.first.add(u32::try_from(i).unwrap_or(u32::MAX));
            let mut c = Candidate {
                tsn,
                item: &mut *item,
                lost: false,
            };
            f(&mut c);
            if c.lost {
                // §7.2.4 1: "Mark the DATA chunk(s) with three miss indications for
                // retransmission"; 5: "Mark the DATA chunk(s) as being fast retransmitted
                // and thus ineligible for a subsequent Fast Retransmit."
                item.state = ChunkState::Retransmit;
                item.marked = true;
                item.fast_retransmitted = true;
                self.flight.sub(item.path, item.size);
                self.marks.add(tsn);
                self.outcome.fast_retransmits.push(tsn);
                if let Some(p) = self.outcome.path_mut(item.path) {
                    p.fast_retransmit = true;
                }
            }
        }
    }
}

/// One chunk in flight, offered to a [`LossDetector`].
pub(crate) struct Candidate<'a> {
    tsn: Tsn,
    item: &'a mut Item,
    lost: bool,
}

impl Candidate<'_> {
    /// Its TSN.
    pub(crate) fn tsn(&self) -> Tsn {
        self.tsn
    }

    /// The path it was last sent on.
    pub(crate) fn path(&self) -> PathId {
        self.item.path
    }

    /// When it was last sent.
    pub(crate) fn sent(&self) -> Instant {
        self.item.sent
    }

    /// Whether it was ever retransmitted.
    pub(crate) fn retransmitted(&self) -> bool {
        self.item.retransmitted()
    }

    /// Whether it was already fast-retransmitted (then it never is again, §7.2.4 5).
    pub(crate) fn fast_retransmitted(&self) -> bool {
        self.item.fast_retransmitted
    }

    /// Its miss indications since it was last sent.
    pub(crate) fn miss_indications(&self) -> u8 {
        self.item.misses
    }

    /// Counts one more miss indication and returns the new count.
    pub(crate) fn add_miss_indication(&mut self) -> u8 {
        self.item.misses = self.item.misses.saturating_add(1);
        self.item.misses
    }

    /// Declares it lost: it is marked for Fast Retransmit.
    pub(crate) fn mark_lost(&mut self) {
        self.lost = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::Ppid;
    use braid_wire::{Bytes, GapAckBlock};
    use core::time::Duration;
    use proptest::prelude::*;

    fn frag(len: usize) -> Fragment {
        Fragment {
            stream: StreamId(1),
            seq: 0,
            fsn: 0,
            ppid: Ppid(0),
            unordered: false,
            beginning: true,
            ending: true,
            payload: Bytes::from(vec![0u8; len]),
        }
    }

    fn sack(cum: u32, gaps: &[(u16, u16)]) -> Sack {
        Sack {
            cumulative_tsn_ack: Tsn(cum),
            a_rwnd: 100_000,
            gap_blocks: gaps
                .iter()
                .map(|&(start, end)| GapAckBlock { start, end })
                .collect(),
            duplicate_tsns: Vec::new(),
        }
    }

    const P0: PathId = PathId(0);
    const P1: PathId = PathId(1);
    /// 100 bytes of payload: a 116-byte DATA chunk.
    const SZ: usize = 116;

    /// TSNs 10..10+n sent on P0 at t0 + i ms.
    fn sent(n: u32, t0: Instant) -> Outstanding {
        let mut o = Outstanding::new(Tsn(10), false, LossDetection::Classic);
        for i in 0..n {
            let t = t0 + Duration::from_millis(u64::from(i));
            assert_eq!(o.add(Tsn(10 + i), frag(100), P0, t), Ok(SZ));
        }
        o
    }

    #[test]
    fn chunk_sizes_are_padded_with_header() {
        assert_eq!(chunk_size(0, false), 16);
        assert_eq!(chunk_size(1, false), 20);
        assert_eq!(chunk_size(1452, false), 1468);
        assert_eq!(chunk_size(1, true), 24);
        assert_eq!(chunk_size(100, true), 120);
    }

    #[test]
    fn add_enforces_consecutive_tsns() {
        let now = Instant::now();
        let mut o = sent(2, now);
        assert_eq!(o.next_tsn(), Tsn(12));
        let err = o.add(Tsn(14), frag(5), P0, now).unwrap_err();
        assert_eq!(err.expected, Tsn(12));
        assert!(!err.full);
        assert_eq!(err.fragment.payload.len(), 5, "fragment handed back");
        assert_eq!(o.len(), 2);
        assert_eq!(o.bytes_in_flight(), 2 * SZ);
        // Wrapping TSNs work like any others.
        let mut w = Outstanding::new(Tsn(u32::MAX), true, LossDetection::Classic);
        w.add(Tsn(u32::MAX), frag(1), P0, now).unwrap();
        w.add(Tsn(0), frag(1), P0, now).unwrap();
        let out = w.handle_sack(&sack(0, &[]), now).unwrap();
        assert_eq!(out.paths[0].newly_acked, 48);
        assert!(w.is_empty());
    }

    #[test]
    fn cumulative_ack_frees_and_reports_per_path() {
        let t0 = Instant::now();
        let mut o = Outstanding::new(Tsn(1), false, LossDetection::Classic);
        o.add(Tsn(1), frag(100), P0, t0).unwrap();
        o.add(Tsn(2), frag(200), P1, t0).unwrap();
        o.add(Tsn(3), frag(100), P0, t0).unwrap();
        let now = t0 + Duration::from_millis(50);
        let out = o.handle_sack(&sack(2, &[]), now).unwrap();
        assert!(out.cum_ack_advanced);
        assert_eq!(out.cum_ack, Tsn(2));
        assert_eq!(out.highest_newly_acked, Some(Tsn(2)));
        let p0 = *out.path(P0).unwrap();
        let p1 = *out.path(P1).unwrap();
        assert_eq!(
            (p0.newly_acked, p0.flight_before, p0.in_flight),
            (116, 232, 116)
        );
        assert_eq!(
            (p1.newly_acked, p1.flight_before, p1.in_flight),
            (216, 216, 0)
        );
        assert!(p0.earliest_acked && p1.earliest_acked);
        assert_eq!(out.bytes_in_flight, 116);
        assert_eq!(
            out.rtt_sample,
            Some(RttSample {
                path: P1,
                tsn: Tsn(2),
                sent: t0
            })
        );
        assert_eq!(o.len(), 1);
        assert_eq!(o.cum_ack(), Tsn(2));
        o.check_invariants();
    }

    #[test]
    fn stale_and_impossible_sacks_change_nothing() {
        let t0 = Instant::now();
        let mut o = sent(5, t0);
        o.handle_sack(&sack(12, &[]), t0).unwrap();
        // An older SACK arriving late: D i.
        assert_eq!(
            o.handle_sack(&sack(11, &[(2, 3)]), t0).unwrap_err(),
            SackError::Stale
        );
        assert_eq!(o.cum_ack(), Tsn(12));
        assert_eq!(o.bytes_in_flight(), 2 * SZ);
        // The same cum ack again is processed (new gap info).
        let out = o.handle_sack(&sack(12, &[(2, 2)]), t0).unwrap();
        assert!(!out.cum_ack_advanced);
        assert_eq!(out.paths[0].newly_acked, SZ);
        // A SACK for TSNs never sent.
        assert_eq!(
            o.handle_sack(&sack(15, &[]), t0).unwrap_err(),
            SackError::AcksUnsentTsn {
                cum_ack: Tsn(15),
                highest_sent: Tsn(14)
            }
        );
        assert_eq!(
            o.handle_sack(&sack(12 + (1 << 31), &[]), t0).unwrap_err(),
            SackError::AcksUnsentTsn {
                cum_ack: Tsn(12 + (1 << 31)),
                highest_sent: Tsn(14)
            }
        );
        o.check_invariants();
    }

    #[test]
    fn gap_blocks_ack_and_duplicates_are_counted() {
        let t0 = Instant::now();
        let mut o = sent(6, t0); // 10..=15
        let mut s = sack(10, &[(2, 3), (5, 5)]); // 12, 13, 15
        s.duplicate_tsns = vec![Tsn(10), Tsn(12)];
        let out = o.handle_sack(&s, t0).unwrap();
        assert_eq!(out.duplicate_tsns, 2);
        assert_eq!(out.paths[0].newly_acked, 4 * SZ); // 10, 12, 13, 15
        assert_eq!(out.highest_newly_acked, Some(Tsn(15)));
        assert_eq!(out.bytes_in_flight, 2 * SZ); // 11, 14
        assert_eq!(o.state(Tsn(12)), Some(ChunkState::GapAcked));
        assert_eq!(o.state(Tsn(11)), Some(ChunkState::InFlight));
        // One miss indication each for 11 and 14 (both below HTNA 15).
        assert_eq!(o.miss_indications(Tsn(11)), Some(1));
        assert_eq!(o.miss_indications(Tsn(14)), Some(1));
        // The same SACK again: nothing newly acked, so no miss indications (HTNA).
        let out = o.handle_sack(&sack(10, &[(2, 3), (5, 5)]), t0).unwrap();
        assert_eq!(out.paths[0].newly_acked, 0);
        assert_eq!(out.highest_newly_acked, None);
        assert_eq!(o.miss_indications(Tsn(11)), Some(1));
        o.check_invariants();
    }

    #[test]
    fn unordered_and_overlapping_blocks_are_normalised() {
        let t0 = Instant::now();
        let mut o = sent(8, t0); // 10..=17
        let out = o
            .handle_sack(
                &sack(9, &[(6, 7), (2, 3), (3, 4), (0, 1), (5, 2), (8, 20)]),
                t0,
            )
            .unwrap();
        // Acked: 11..=13 (merged), 15..=16, 17 (clamped from a block reaching unsent TSNs).
        assert_eq!(out.paths[0].newly_acked, 6 * SZ);
        assert_eq!(out.invalid_gap_blocks, 3);
        assert_eq!(o.state(Tsn(10)), Some(ChunkState::InFlight));
        assert_eq!(o.state(Tsn(14)), Some(ChunkState::InFlight));
        assert_eq!(o.state(Tsn(17)), Some(ChunkState::GapAcked));
        o.check_invariants();
        // A block entirely beyond what was sent is ignored.
        let out = o.handle_sack(&sack(9, &[(30, 31)]), t0).unwrap();
        assert_eq!(out.invalid_gap_blocks, 1);
        o.check_invariants();
    }

    #[test]
    fn revoked_gap_acks_go_back_in_flight() {
        let t0 = Instant::now();
        let mut o = sent(5, t0); // 10..=14
        o.handle_sack(&sack(10, &[(2, 4)]), t0).unwrap(); // 12..=14 gap-acked
        assert_eq!(o.bytes_in_flight(), SZ);
        // The receiver reneged on 13 and 14.
        let out = o.handle_sack(&sack(10, &[(2, 2)]), t0).unwrap();
        assert_eq!(out.revoked, 2);
        assert!(out.paths[0].revoked);
        assert_eq!(out.bytes_in_flight, 3 * SZ);
        assert_eq!(o.state(Tsn(13)), Some(ChunkState::InFlight));
        assert_eq!(
            o.miss_indications(Tsn(14)),
            Some(1),
            "D iii: one miss indication"
        );
        assert_eq!(o.len(), 4, "kept until cumulatively acked");
        // All revoked: no gap blocks at all.
        let out = o.handle_sack(&sack(10, &[]), t0).unwrap();
        assert_eq!(out.revoked, 1);
        assert_eq!(o.bytes_in_flight(), 4 * SZ);
        o.check_invariants();
        // Re-acked later: counted as newly acked again, but no RTT sample from a reneged one.
        let out = o
            .handle_sack(&sack(14, &[]), t0 + Duration::from_secs(1))
            .unwrap();
        assert_eq!(out.paths[0].newly_acked, 4 * SZ);
        assert_eq!(out.rtt_sample.map(|s| s.tsn), Some(Tsn(11)));
        assert!(o.is_empty());
        o.check_invariants();
    }

    #[test]
    fn three_miss_indications_fast_retransmit_exactly_once() {
        let t0 = Instant::now();
        let mut o = sent(8, t0); // 10..=17; 10 is lost
        for (n, end) in [(1u8, 1u16), (2, 2)] {
            let out = o.handle_sack(&sack(9, &[(2, end + 1)]), t0).unwrap();
            assert!(out.fast_retransmits.is_empty());
            assert_eq!(o.miss_indications(Tsn(10)), Some(n));
        }
        let out = o.handle_sack(&sack(9, &[(2, 4)]), t0).unwrap();
        assert_eq!(out.fast_retransmits, vec![Tsn(10)]);
        assert!(out.entered_fast_recovery && out.in_fast_recovery);
        assert!(out.paths[0].fast_retransmit && out.paths[0].reduce_cwnd);
        assert_eq!(o.fast_recovery_exit(), Some(Tsn(17)));
        assert_eq!(o.state(Tsn(10)), Some(ChunkState::Retransmit));
        assert_eq!(
            o.bytes_in_flight(),
            4 * SZ,
            "11..=13 acked, 10 marked: 14..=17 left"
        );
        o.check_invariants();

        // Retransmit it.
        let t1 = t0 + Duration::from_millis(100);
        let r = o.next_retransmit(t1, P0, |_| true).unwrap();
        assert_eq!((r.tsn, r.size, r.transmissions), (Tsn(10), SZ, 2));
        assert!(o.next_retransmit(t1, P0, |_| true).is_none());
        assert_eq!(o.bytes_in_flight(), 5 * SZ);
        // The retransmission is lost too: more SACKs with new gap acks never mark it again.
        for end in 5..=8 {
            let out = o.handle_sack(&sack(9, &[(2, end)]), t1).unwrap();
            assert!(out.fast_retransmits.is_empty(), "ineligible after one");
            assert!(!out.entered_fast_recovery);
        }
        // Those SACKs acknowledge originals sent before the retransmission: they say nothing
        // about it, so they count no miss against it (the HTNA send-order rule).
        assert_eq!(o.miss_indications(Tsn(10)), Some(0));
        o.check_invariants();
        // Only T3 recovers it now.
        assert_eq!(o.on_t3_expired(P0), SZ);
        assert!(!o.in_fast_recovery());
        let r = o.next_retransmit(t1, P0, |_| true).unwrap();
        assert_eq!(r.transmissions, 3);
        let out = o.handle_sack(&sack(17, &[]), t1).unwrap();
        assert_eq!(
            out.rtt_sample, None,
            "Karn: only a retransmitted chunk newly acked"
        );
        assert!(o.is_empty());
    }

    #[test]
    fn htna_counts_only_below_the_highest_newly_acked() {
        let t0 = Instant::now();
        let mut o = sent(10, t0); // 10..=19
                                  // 10 and 13 missing; the SACK newly acks 11..=12 only.
        o.handle_sack(&sack(9, &[(2, 3)]), t0).unwrap();
        assert_eq!(o.miss_indications(Tsn(10)), Some(1));
        assert_eq!(o.miss_indications(Tsn(13)), Some(0), "above HTNA (12)");
        // Newly acks 14: now 13 is below HTNA.
        o.handle_sack(&sack(9, &[(2, 3), (5, 5)]), t0).unwrap();
        assert_eq!(o.miss_indications(Tsn(10)), Some(2));
        assert_eq!(o.miss_indications(Tsn(13)), Some(1));
        assert_eq!(o.miss_indications(Tsn(15)), Some(0));
    }

    #[test]
    fn in_fast_recovery_cum_advance_counts_all_reported_missing() {
        let t0 = Instant::now();
        let mut o = sent(12, t0); // 10..=21; 10 lost
        for end in 2..=4 {
            o.handle_sack(&sack(9, &[(2, end)]), t0).unwrap();
        }
        assert!(o.in_fast_recovery());
        assert_eq!(o.next_retransmit(t0, P0, |_| true).unwrap().tsn, Tsn(10));
        // 14 lost as well: 15 arrives (HTNA 15), one miss for 14 (and for the resent 10).
        o.handle_sack(&sack(9, &[(2, 4), (6, 6)]), t0).unwrap();
        assert_eq!(o.miss_indications(Tsn(14)), Some(1));
        assert_eq!(o.miss_indications(Tsn(10)), Some(1));
        // The resent 10 arrives: the cum ack advances to 13, the only newly acked TSN is 10.
        // Plain HTNA would count nothing; in Fast Recovery every TSN reported missing (below
        // the block at 15) counts.
        let out = o.handle_sack(&sack(13, &[(2, 2)]), t0).unwrap();
        assert_eq!(out.highest_newly_acked, Some(Tsn(10)));
        assert!(out.in_fast_recovery);
        assert_eq!(o.miss_indications(Tsn(14)), Some(2));
        assert_eq!(o.miss_indications(Tsn(16)), Some(0), "not reported missing");
        // Without a cum ack advance and nothing newly acked, nothing counts.
        o.handle_sack(&sack(13, &[(2, 2)]), t0).unwrap();
        assert_eq!(o.miss_indications(Tsn(14)), Some(2));
        // Outside Fast Recovery the same SACK shape counts nothing.
        let mut p = sent(12, t0);
        p.handle_sack(&sack(9, &[(2, 4), (6, 6)]), t0).unwrap();
        assert_eq!(p.miss_indications(Tsn(14)), Some(1));
        p.handle_sack(&sack(13, &[(2, 2)]), t0).unwrap(); // 10 arrives late, no recovery
        assert_eq!(p.miss_indications(Tsn(14)), Some(1));
    }

    #[test]
    fn fast_recovery_exits_at_the_exit_point() {
        let t0 = Instant::now();
        let mut o = sent(6, t0); // 10..=15
        for end in 2..=4 {
            o.handle_sack(&sack(9, &[(2, end)]), t0).unwrap();
        }
        assert_eq!(o.fast_recovery_exit(), Some(Tsn(15)));
        // New data sent during recovery does not move the exit point.
        o.add(Tsn(16), frag(100), P0, t0).unwrap();
        o.next_retransmit(t0, P0, |_| true).unwrap();
        let out = o.handle_sack(&sack(14, &[]), t0).unwrap();
        assert!(out.in_fast_recovery);
        let out = o.handle_sack(&sack(15, &[]), t0).unwrap();
        assert!(!out.in_fast_recovery, "cum ack reached the exit point");
        assert!(!out.entered_fast_recovery);
    }

    #[test]
    fn karn_rule_and_newest_sample() {
        let t0 = Instant::now();
        let mut o = sent(4, t0); // 10..=13 sent at t0+0..3 ms
        o.on_t3_expired(P0);
        let t1 = t0 + Duration::from_secs(1);
        // Retransmit only 10 and 11.
        o.next_retransmit(t1, P0, |_| true).unwrap();
        o.next_retransmit(t1, P0, |_| true).unwrap();
        let r = o.next_retransmit(t1, P0, |size| size < SZ);
        assert!(r.is_none(), "does not fit");
        assert_eq!(o.retransmit_count(), 2);
        // The originals of 12 arrive. 12 was never resent, but it was marked by T3, and 10
        // and 11 (lower TSNs) were retransmitted after it was sent: RFC 9260 §6.3.1 C5 allows
        // no sample from it — its ack time measures the timeout, not the path, and taking
        // it inflated the RTO in a feedback loop (found by the soak matrix).
        let out = o.handle_sack(&sack(12, &[]), t1).unwrap();
        assert_eq!(out.rtt_sample, None);
        assert_eq!(out.newest_delivered.map(|d| d.tsn), Some(Tsn(11)));
        assert_eq!(o.retransmit_count(), 1, "12 no longer needs resending");
        o.check_invariants();
        // Only retransmitted chunks acked: no sample.
        let mut o = sent(1, t0);
        o.on_t3_expired(P0);
        o.next_retransmit(t1, P0, |_| true).unwrap();
        assert_eq!(o.handle_sack(&sack(10, &[]), t1).unwrap().rtt_sample, None);
    }

    #[test]
    fn t3_marks_the_expired_path_only() {
        let t0 = Instant::now();
        let mut o = Outstanding::new(Tsn(1), false, LossDetection::Classic);
        for i in 0..6u32 {
            let path = if i % 2 == 0 { P0 } else { P1 };
            o.add(Tsn(1 + i), frag(100), path, t0).unwrap();
        }
        o.handle_sack(&sack(0, &[(3, 3)]), t0).unwrap(); // TSN 3 (P0) gap-acked
        assert_eq!(o.bytes_in_flight_on(P0), 2 * SZ);
        assert_eq!(o.on_t3_expired(P0), 2 * SZ);
        assert_eq!(o.bytes_in_flight_on(P0), 0);
        assert_eq!(o.bytes_in_flight_on(P1), 3 * SZ);
        assert_eq!(o.state(Tsn(1)), Some(ChunkState::Retransmit));
        assert_eq!(o.state(Tsn(3)), Some(ChunkState::GapAcked));
        assert_eq!(o.state(Tsn(5)), Some(ChunkState::Retransmit));
        assert_eq!(o.earliest_in_flight_send_time(P0), None);
        assert_eq!(o.earliest_in_flight_send_time(P1), Some(t0));
        // Retransmitted on the other path, in TSN order.
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(o.next_retransmit(t1, P1, |_| true).unwrap().tsn, Tsn(1));
        assert_eq!(o.next_retransmit(t1, P1, |_| true).unwrap().tsn, Tsn(5));
        assert_eq!(o.bytes_in_flight_on(P1), 5 * SZ);
        o.check_invariants();
        // The SACK acking TSN 1 acks P1's earliest outstanding chunk (TSN 1, now on P1).
        let out = o.handle_sack(&sack(1, &[(2, 2)]), t1).unwrap();
        assert!(out.path(P1).unwrap().earliest_acked);
        assert_eq!(out.path(P1).unwrap().newly_acked, SZ);
        // Next: TSN 4 (P1) acked while 2 (P1) is still missing: not the earliest.
        let out = o.handle_sack(&sack(1, &[(2, 3)]), t1).unwrap();
        assert!(!out.path(P1).unwrap().earliest_acked);
        o.check_invariants();
    }

    #[test]
    fn abandoning_a_data_message_and_forward_tsn_point() {
        let t0 = Instant::now();
        let mut o = Outstanding::new(Tsn(1), false, LossDetection::Classic);
        let piece = |seq: u32, b: bool, e: bool| Fragment {
            seq,
            beginning: b,
            ending: e,
            ..frag(100)
        };
        o.add(Tsn(1), piece(0, true, false), P0, t0).unwrap();
        o.add(Tsn(2), piece(0, false, false), P0, t0).unwrap();
        o.add(Tsn(3), piece(0, false, true), P0, t0).unwrap();
        o.add(Tsn(4), piece(1, true, false), P0, t0).unwrap();
        o.on_t3_expired(P0);
        o.next_retransmit(t0, P0, |_| true).unwrap(); // TSN 1 back in flight
        let a = o.abandon_message(Tsn(2)).unwrap();
        assert_eq!((a.seq, a.chunks, a.complete), (0, 3, true));
        assert_eq!(o.advanced_peer_ack_point(), Tsn(3));
        assert_eq!(o.abandoned_prefix().count(), 3);
        assert_eq!(o.bytes_in_flight(), 0);
        assert_eq!(o.retransmit_count(), 1, "only TSN 4 still to resend");
        assert_eq!(o.next_retransmit(t0, P0, |_| true).unwrap().tsn, Tsn(4));
        let b = o.abandon_message(Tsn(4)).unwrap();
        assert_eq!((b.seq, b.chunks, b.complete), (1, 1, false));
        assert_eq!(o.advanced_peer_ack_point(), Tsn(4));
        assert_eq!(o.abandon_message(Tsn(9)), None);
        o.check_invariants();
        // The peer acts on the FORWARD TSN: its SACK frees them with no acked bytes.
        let out = o.handle_sack(&sack(4, &[]), t0).unwrap();
        assert_eq!(out.paths[0].newly_acked, 0);
        assert!(o.is_empty());
    }

    #[test]
    fn abandoning_interleaved_idata_matches_by_message() {
        let t0 = Instant::now();
        let mut o = Outstanding::new(Tsn(1), true, LossDetection::Classic);
        let piece = |stream: u16, seq: u32, fsn: u32, e: bool| Fragment {
            stream: StreamId(stream),
            seq,
            fsn,
            beginning: fsn == 0,
            ending: e,
            ..frag(10)
        };
        o.add(Tsn(1), piece(1, 7, 0, false), P0, t0).unwrap();
        o.add(Tsn(2), piece(2, 7, 0, false), P0, t0).unwrap();
        o.add(Tsn(3), piece(1, 7, 1, false), P0, t0).unwrap();
        let a = o.abandon_message(Tsn(3)).unwrap();
        assert_eq!((a.chunks, a.complete), (2, false));
        assert_eq!(o.state(Tsn(2)), Some(ChunkState::InFlight));
        assert_eq!(o.advanced_peer_ack_point(), Tsn(1));
        assert_eq!(o.bytes_in_flight(), chunk_size(10, true));
    }

    #[test]
    fn no_allocation_shape_in_steady_state() {
        // Outcome buffers are reused: capacity does not shrink between SACKs.
        let t0 = Instant::now();
        let mut o = sent(200, t0);
        o.handle_sack(&sack(9, &[(2, 5), (7, 9), (11, 20)]), t0)
            .unwrap();
        let cap = (o.gaps.capacity(), o.outcome.paths.capacity());
        for cum in 10..100u32 {
            o.handle_sack(&sack(cum, &[]), t0).unwrap();
        }
        assert_eq!((o.gaps.capacity(), o.outcome.paths.capacity()), cap);
    }

    // ---------------------------------------------------------------- property test

    #[derive(Debug, Clone)]
    enum Op {
        /// Send this many new chunks on a path.
        Send(u8, u16),
        /// The network delivers each in-flight TSN with probability num/8 (or loses it).
        Deliver(u8),
        /// The receiver sends a SACK; it arrives late (after the next one) if `late`.
        Sack { late: bool, renege: bool },
        /// T3 expires on a path.
        T3(u16),
        /// Retransmit up to this many marked chunks.
        Retransmit(u8, u16),
        /// Abandon the message of the k-th outstanding chunk.
        Abandon(u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => (1u8..6, 0u16..3).prop_map(|(n, p)| Op::Send(n, p)),
            3 => (0u8..=8).prop_map(Op::Deliver),
            3 => (any::<bool>(), prop::bool::weighted(0.1))
                .prop_map(|(late, renege)| Op::Sack { late, renege }),
            1 => (0u16..3).prop_map(Op::T3),
            2 => (1u8..6, 0u16..3).prop_map(|(n, p)| Op::Retransmit(n, p)),
            1 => any::<u8>().prop_map(Op::Abandon),
        ]
    }

    /// A receiver: the TSNs it holds, above its cumulative ack.
    struct Receiver {
        cum: u32,
        above: std::collections::BTreeSet<u32>,
    }

    impl Receiver {
        fn receive(&mut self, tsn: u32) {
            if tsn > self.cum {
                self.above.insert(tsn);
            }
            while self.above.remove(&(self.cum + 1)) {
                self.cum += 1;
            }
        }

        fn forward(&mut self, to: u32) {
            while self.cum < to {
                self.receive(self.cum + 1);
            }
        }

        fn sack(&self) -> Sack {
            let mut gaps: Vec<(u16, u16)> = Vec::new();
            for &t in &self.above {
                let off = u16::try_from(t - self.cum).unwrap();
                match gaps.last_mut() {
                    Some(g) if g.1 + 1 == off => g.1 = off,
                    _ => gaps.push((off, off)),
                }
            }
            let base = u32::MAX - 1000; // TSNs start near the wrap
            sack(base.wrapping_add(self.cum), &gaps)
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn receiver_consistent_sacks_never_lose_a_tsn(ops in prop::collection::vec(op(), 1..120)) {
            let base = u32::MAX - 1000;
            let t0 = Instant::now();
            let mut o = Outstanding::new(Tsn(base.wrapping_add(1)), false, LossDetection::Classic);
            // TSNs as plain offsets from `base` (1, 2, ...), for the model.
            let mut next = 1u32;
            let mut rx = Receiver { cum: 0, above: Default::default() };
            let mut in_network: Vec<u32> = Vec::new();
            let mut late: Option<Sack> = None;
            let mut now = t0;
            let mut seed = 0x2545_f491_u32;
            let mut rand = move || { seed ^= seed << 13; seed ^= seed >> 17; seed ^= seed << 5; seed % 8 };
            for op in ops {
                now += Duration::from_millis(1);
                match op {
                    Op::Send(n, p) => for _ in 0..n {
                        let tsn = Tsn(base.wrapping_add(next));
                        let mut f = frag(usize::from(p) * 37 + 1);
                        f.seq = next;
                        prop_assert!(o.add(tsn, f, PathId(p), now).is_ok());
                        in_network.push(next);
                        next += 1;
                    },
                    Op::Deliver(p) => {
                        for t in in_network.drain(..) {
                            if rand() < u32::from(p) { rx.receive(t); }
                        }
                    }
                    Op::Sack { late: delay, renege } => {
                        if renege {
                            // A receiver may drop out-of-order data it has not delivered.
                            if let Some(&t) = rx.above.iter().next_back() { rx.above.remove(&t); }
                        }
                        let s = rx.sack();
                        if delay {
                            if let Some(old) = late.replace(s) {
                                let _ = o.handle_sack(&old, now);
                            }
                        } else {
                            prop_assert!(o.handle_sack(&s, now).is_ok());
                            if let Some(old) = late.take() {
                                // Older: stale unless it carries the same cum ack.
                                let r = o.handle_sack(&old, now);
                                prop_assert!(matches!(r, Ok(_) | Err(SackError::Stale)));
                            }
                        }
                    }
                    Op::T3(p) => { o.on_t3_expired(PathId(p)); }
                    Op::Retransmit(n, p) => for _ in 0..n {
                        match o.next_retransmit(now, PathId(p), |_| true) {
                            Some(r) => in_network.push(r.tsn.get().wrapping_sub(base)),
                            None => break,
                        }
                    },
                    Op::Abandon(k) => {
                        if !o.is_empty() {
                            let tsn = o.cum_ack().add(1 + u32::from(k) % o.len_u32());
                            prop_assert!(o.abandon_message(tsn).is_some());
                            let adv = o.advanced_peer_ack_point().get().wrapping_sub(base);
                            // The peer acts on a FORWARD TSN.
                            rx.forward(adv);
                        }
                    }
                }
                o.check_invariants();
                // No TSN lost: everything sent is either acknowledged or still tracked.
                let cum = o.cum_ack().get().wrapping_sub(base);
                prop_assert_eq!(cum + o.len_u32() + 1, next);
                prop_assert!(cum <= rx.cum, "never acked beyond what the receiver holds");
                for i in 0..o.len_u32() {
                    let tsn = o.cum_ack().add(i + 1);
                    prop_assert_eq!(o.fragment(tsn).unwrap().seq, cum + i + 1);
                }
            }
            // Then a perfect network: everything is eventually acknowledged.
            for _ in 0..1000 {
                if o.is_empty() { break; }
                now += Duration::from_secs(1);
                for p in 0..3 { o.on_t3_expired(PathId(p)); }
                while let Some(r) = o.next_retransmit(now, P0, |_| true) {
                    rx.receive(r.tsn.get().wrapping_sub(base));
                }
                for t in in_network.drain(..) { rx.receive(t); }
                prop_assert!(o.handle_sack(&rx.sack(), now).is_ok());
                // FORWARD TSN over abandoned chunks, then the SACK answering it.
                rx.forward(o.advanced_peer_ack_point().get().wrapping_sub(base));
                prop_assert!(o.handle_sack(&rx.sack(), now).is_ok());
                o.check_invariants();
            }
            prop_assert!(o.is_empty(), "everything acknowledged");
            prop_assert_eq!(o.bytes_in_flight(), 0);
        }
    }
}
