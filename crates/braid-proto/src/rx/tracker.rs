//! Which TSNs have arrived, and when to say so: the cumulative TSN, the gap blocks above it,
//! the duplicates, and the delayed-SACK timer (RFC 9260 §6.1–§6.2, §6.7; RFC 7053 I bit;
//! RFC 3758 §3.6 FORWARD-TSN).
//!
//! The received set is "everything up to and including `cum`" plus a short sorted list of
//! disjoint, non-adjacent `(first, last)` TSN ranges above `cum + 1` — one entry per *gap*,
//! never one per TSN. In-order arrival touches only `cum` (O(1)); out-of-order arrival does a
//! binary search and at most one insert or remove in a list of at most `max_gap_ranges`.
//!
//! Memory bounds, all fixed by [`TrackerConfig`] whatever the peer sends:
//! * at most `max_gap_ranges` ranges (8 bytes each); a TSN that would need one more is
//!   `Rejected` and the caller drops the chunk (RFC 9260 §6.2 lets a receiver drop data it
//!   cannot hold; the peer retransmits it);
//! * no TSN more than `max_tsn_distance` (at most 65 535, so every range fits a 16-bit gap
//!   block offset) ahead of `cum`;
//! * at most `max_duplicates` duplicate TSNs remembered for the next SACK.
//!
//! Allocation: none per packet. The range list reaches its working size once; a SACK
//! allocates its gap-block and duplicate vectors only when it has something to put in them.

use core::time::Duration;
use std::time::Instant;

use braid_wire::{GapAckBlock, Sack, Tsn};

/// Size of a SACK chunk without gap blocks or duplicates: chunk header, cumulative TSN ack,
/// a_rwnd and the two counts (RFC 9260 §3.3.4).
const SACK_FIXED_LEN: usize = 16;
/// Size of one gap block or one duplicate TSN in a SACK.
const SACK_ENTRY_LEN: usize = 4;
/// RFC 9260 §6.2: the delay "MUST NOT be more than 500 ms".
const MAX_DELAYED_ACK: Duration = Duration::from_millis(500);

/// Limits and timing of a [`DataTracker`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TrackerConfig {
    /// Most gap ranges held above the cumulative TSN.
    pub(crate) max_gap_ranges: usize,
    /// Farthest a TSN may be ahead of the cumulative TSN and still be accepted. Clamped to
    /// 65 535: a gap block offset is 16 bits.
    pub(crate) max_tsn_distance: u32,
    /// Most duplicate TSNs remembered for the next SACK; more are counted as duplicates but
    /// not reported.
    pub(crate) max_duplicates: usize,
    /// SACK.Delay (RFC 9260 §16: 200 ms). Clamped to 500 ms (RFC 9260 §6.2).
    pub(crate) delayed_ack: Duration,
}

impl Default for TrackerConfig {
    fn default() -> Self {
        Self {
            max_gap_ranges: 64,
            max_tsn_distance: u32::from(u16::MAX),
            max_duplicates: 32,
            delayed_ack: Duration::from_millis(200),
        }
    }
}

/// What [`DataTracker::observe`] made of a TSN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Observed {
    /// Not seen before: hand the chunk to reassembly.
    New,
    /// Already received (at or below the cumulative TSN, or inside a gap range): recorded
    /// for the next SACK; drop the chunk.
    Duplicate,
    /// Cannot be held (too far ahead, or one gap range too many): drop the chunk, the peer
    /// will retransmit it. Nothing was recorded.
    Rejected,
}

/// The received-TSN set and the SACK schedule of one association.
#[derive(Debug, Clone)]
pub(crate) struct DataTracker {
    /// Last TSN received in sequence.
    cum: Tsn,
    /// TSNs received above `cum + 1`: sorted, disjoint, non-adjacent, inclusive.
    ranges: Vec<(Tsn, Tsn)>,
    /// Duplicates since the last SACK.
    dups: Vec<Tsn>,
    max_gap_ranges: usize,
    max_tsn_distance: u32,
    max_duplicates: usize,
    delayed_ack: Duration,
    /// Something in the current packet calls for an immediate SACK (out-of-order or
    /// gap-filling data, a rejected chunk, a stale FORWARD-TSN).
    urgent: bool,
    /// Packets with data since the last SACK.
    unacked_packets: u32,
    /// A SACK must go out now.
    due: bool,
    /// The delayed-SACK timer, when armed.
    deadline: Option<Instant>,
}

impl DataTracker {
    /// A tracker for a peer whose first TSN is `peer_initial_tsn` (the Initial TSN of its
    /// INIT or INIT ACK): the cumulative TSN starts just below it (RFC 9260 §6.1).
    pub(crate) fn new(peer_initial_tsn: Tsn, config: TrackerConfig) -> Self {
        Self {
            cum: peer_initial_tsn.prev(),
            ranges: Vec::with_capacity(config.max_gap_ranges.min(64)),
            dups: Vec::new(),
            max_gap_ranges: config.max_gap_ranges,
            max_tsn_distance: config.max_tsn_distance.min(u32::from(u16::MAX)),
            max_duplicates: config.max_duplicates,
            delayed_ack: config.delayed_ack.min(MAX_DELAYED_ACK),
            urgent: false,
            unacked_packets: 0,
            due: false,
            deadline: None,
        }
    }

    /// The Cumulative TSN Ack: the last TSN received in sequence.
    pub(crate) fn cumulative(&self) -> Tsn {
        self.cum
    }

    /// Whether TSNs are missing below some received one.
    pub(crate) fn has_gaps(&self) -> bool {
        !self.ranges.is_empty()
    }

    /// Whether duplicate TSNs wait to be reported in the next SACK.
    pub(crate) fn has_duplicates(&self) -> bool {
        !self.dups.is_empty()
    }

    /// The highest TSN received so far.
    pub(crate) fn highest_received(&self) -> Tsn {
        self.ranges.last().map_or(self.cum, |r| r.1)
    }

    /// Whether `tsn` has been received (or skipped by FORWARD-TSN).
    pub(crate) fn is_received(&self, tsn: Tsn) -> bool {
        let d = tsn.distance_from(self.cum);
        if d == 0 || d >= 1 << 31 {
            return true;
        }
        let i = self.ranges_starting_at_or_before(d);
        i.checked_sub(1)
            .and_then(|p| self.ranges.get(p))
            .is_some_and(|&(_, last)| last.distance_from(self.cum) >= d)
    }

    /// Records the arrival of a DATA / I-DATA chunk with this TSN.
    pub(crate) fn observe(&mut self, tsn: Tsn) -> Observed {
        let d = tsn.distance_from(self.cum);
        // At or below the cumulative TSN (serially behind it): already received.
        if d == 0 || d >= 1 << 31 {
            return self.duplicate(tsn);
        }
        if d > self.max_tsn_distance {
            // RFC 9260 §6.2: "if such a DATA chunk is dropped, the receiver MUST immediately
            // send back a SACK with the current receive window showing only DATA chunks
            // received and accepted so far."
            self.urgent = true;
            return Observed::Rejected;
        }
        if d == 1 {
            // In sequence: the common case.
            self.cum = tsn;
            if let Some(&(first, last)) = self.ranges.first() {
                // RFC 9260 §6.7: a gap was (at least partly) filled — report it at once.
                self.urgent = true;
                if first == tsn.next() {
                    self.cum = last;
                    self.ranges.remove(0);
                }
            }
            return Observed::New;
        }
        // RFC 9260 §6.7: "If the endpoint detects a gap in the received DATA chunk sequence,
        // it SHOULD send a SACK with Gap Ack Blocks immediately."
        self.urgent = true;
        let i = self.ranges_starting_at_or_before(d);
        let joins_prev = match i.checked_sub(1).and_then(|p| self.ranges.get(p)) {
            Some(&(_, last)) => {
                let last_d = last.distance_from(self.cum);
                if last_d >= d {
                    return self.duplicate(tsn);
                }
                last_d + 1 == d
            }
            None => false,
        };
        let joins_next = self
            .ranges
            .get(i)
            .is_some_and(|&(first, _)| first == tsn.next());
        match (joins_prev, joins_next) {
            (true, true) => {
                // Fills the one-TSN hole between two ranges: merge them.
                if i < self.ranges.len() {
                    let (_, next_last) = self.ranges.remove(i);
                    if let Some(prev) = i.checked_sub(1).and_then(|p| self.ranges.get_mut(p)) {
                        prev.1 = next_last;
                    }
                }
            }
            (true, false) => {
                if let Some(prev) = i.checked_sub(1).and_then(|p| self.ranges.get_mut(p)) {
                    prev.1 = tsn;
                }
            }
            (false, true) => {
                if let Some(next) = self.ranges.get_mut(i) {
                    next.0 = tsn;
                }
            }
            (false, false) => {
                if self.ranges.len() >= self.max_gap_ranges {
                    return Observed::Rejected;
                }
                self.ranges.insert(i, (tsn, tsn));
            }
        }
        Observed::New
    }

    /// Forgets a TSN that [`observe`](Self::observe) has just reported `New`, because the
    /// chunk could not be stored after all (reassembly full): it must not be acknowledged
    /// (RFC 9260 §6.2: "The dropped DATA chunk(s) MUST NOT be included in the SACK"). Called
    /// right after that `observe`, it restores the previous state exactly. Returns whether
    /// the TSN was in the received set.
    pub(crate) fn unobserve(&mut self, tsn: Tsn) -> bool {
        let d = tsn.distance_from(self.cum);
        // The chunk is dropped: tell the peer at once (RFC 9260 §6.2, as for `Rejected`).
        self.urgent = true;
        if d == 0 || d >= 1 << 31 {
            // At or below cum (absorbed with the range it joined): the TSNs above it stay
            // received, as a range in front. Farther back than any `observe` reaches: refuse.
            if self.cum.distance_from(tsn) > self.max_tsn_distance {
                return false;
            }
            if tsn != self.cum {
                self.ranges.insert(0, (tsn.next(), self.cum));
            }
            self.cum = tsn.prev();
            return true;
        }
        let i = self.ranges_starting_at_or_before(d);
        let Some(p) = i.checked_sub(1) else {
            return false;
        };
        let Some(&(first, last)) = self.ranges.get(p) else {
            return false;
        };
        if last.distance_from(self.cum) < d {
            return false;
        }
        match (first == tsn, last == tsn) {
            (true, true) => {
                self.ranges.remove(p);
            }
            (true, false) => {
                if let Some(r) = self.ranges.get_mut(p) {
                    r.0 = tsn.next();
                }
            }
            (false, true) => {
                if let Some(r) = self.ranges.get_mut(p) {
                    r.1 = tsn.prev();
                }
            }
            (false, false) => {
                if let Some(r) = self.ranges.get_mut(p) {
                    r.1 = tsn.prev();
                }
                self.ranges.insert(i, (tsn.next(), last));
            }
        }
        true
    }

    /// FORWARD-TSN / I-FORWARD-TSN (RFC 3758 §3.6): the peer abandoned everything up to
    /// `new_cum`. Moves the cumulative TSN there, drops the ranges it covers and absorbs the
    /// one it now touches. Returns whether the cumulative TSN moved.
    ///
    /// RFC 3758 §3.6: "Any time a FORWARD TSN chunk arrives, for the purposes of sending a
    /// SACK, the receiver MUST follow the same rules as if a DATA chunk had been received":
    /// the caller counts the packet with `on_packet_end(now, true, _)`.
    pub(crate) fn forward(&mut self, new_cum: Tsn) -> bool {
        if !new_cum.follows(self.cum) {
            // RFC 3758 §3.6: an out-of-date FORWARD TSN "MUST NOT update its Cumulative TSN.
            // The receiver SHOULD send a SACK to its peer [...] since such a duplicate may
            // indicate the previous SACK was lost in the network."
            self.urgent = true;
            return false;
        }
        if !self.ranges.is_empty() {
            self.urgent = true;
        }
        let d = new_cum.distance_from(self.cum);
        let cum = self.cum;
        let covered = self
            .ranges
            .partition_point(|&(_, last)| last.distance_from(cum) <= d);
        self.ranges.drain(..covered);
        self.cum = new_cum;
        if let Some(&(first, last)) = self.ranges.first() {
            if first.distance_from(cum) <= d + 1 {
                self.cum = last;
                self.ranges.remove(0);
            }
        }
        true
    }

    /// Ends the processing of one received packet. `had_data`: it carried DATA, I-DATA or
    /// FORWARD-TSN chunks (new or not); `immediate`: the I bit was set on one of them
    /// (RFC 7053), or the association wants the SACK now (e.g. SHUTDOWN-SENT, RFC 9260 §9.2).
    ///
    /// RFC 9260 §6.2: "an acknowledgement SHOULD be generated for at least every second
    /// packet (not every second DATA chunk) received and SHOULD be generated within 200 ms
    /// of the arrival of any unacknowledged DATA chunk."
    pub(crate) fn on_packet_end(&mut self, now: Instant, had_data: bool, immediate: bool) {
        if !had_data {
            return;
        }
        self.unacked_packets = self.unacked_packets.saturating_add(1);
        // RFC 9260 §6.2: "When a packet arrives with duplicate DATA chunk(s) and with no new
        // DATA chunk(s), the endpoint MUST immediately send a SACK" (and MAY when new data
        // came with them: we always do, the peer is retransmitting).
        if self.urgent || immediate || !self.dups.is_empty() || self.unacked_packets >= 2 {
            self.due = true;
            self.deadline = None;
        } else if !self.due && self.deadline.is_none() {
            self.deadline = Some(now + self.delayed_ack);
        }
        self.urgent = false;
    }

    /// Asks for a SACK at once, whatever the delayed-ACK state (a window update after the
    /// application read a lot, RFC 9260 §6.2; a SACK bundled with SHUTDOWN handling).
    pub(crate) fn request_sack(&mut self) {
        self.due = true;
        self.deadline = None;
    }

    /// The delayed-SACK timer fired.
    pub(crate) fn on_sack_timeout(&mut self, now: Instant) {
        if self.deadline.is_some_and(|d| d <= now) {
            self.deadline = None;
            self.due = true;
        }
    }

    /// Whether a SACK must be sent now.
    pub(crate) fn sack_due(&self) -> bool {
        self.due
    }

    /// Whether data arrived that no SACK has acknowledged yet while none is due: the
    /// delayed-SACK timer runs (no gaps, no duplicates, one packet).
    pub(crate) fn sack_pending(&self) -> bool {
        !self.due && self.deadline.is_some()
    }

    /// The delayed-SACK schedule, to put back with [`restore_schedule`](Self::restore_schedule)
    /// if a SACK made while one was [pending](Self::sack_pending) is not sent after all
    /// (such a SACK reported no duplicates, so nothing else is lost).
    pub(crate) fn schedule(&self) -> (Option<Instant>, u32) {
        (self.deadline, self.unacked_packets)
    }

    /// Puts back a schedule taken with [`schedule`](Self::schedule).
    pub(crate) fn restore_schedule(&mut self, (deadline, unacked_packets): (Option<Instant>, u32)) {
        self.deadline = deadline;
        self.unacked_packets = unacked_packets;
    }

    /// When the delayed-SACK timer fires, if armed.
    pub(crate) fn sack_deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Builds the SACK (RFC 9260 §3.3.4, §6.2) and resets the SACK schedule. It fits
    /// `max_len` bytes (the whole chunk): gap blocks take the room first, in TSN order, then
    /// the duplicates. Gap block offsets are relative to the Cumulative TSN Ack: "TSNs
    /// greater than or equal to (Cumulative TSN Ack + Gap Ack Block Start) and less than or
    /// equal to (Cumulative TSN Ack + Gap Ack Block End) of each Gap Ack Block are assumed
    /// to have been received correctly."
    pub(crate) fn make_sack(&mut self, a_rwnd: u32, max_len: usize) -> Sack {
        let room = max_len.saturating_sub(SACK_FIXED_LEN) / SACK_ENTRY_LEN;
        let n_gaps = self.ranges.len().min(room);
        let cum = self.cum;
        let mut gap_blocks = Vec::with_capacity(n_gaps);
        for &(first, last) in self.ranges.iter().take(n_gaps) {
            // Offsets fit 16 bits: `max_tsn_distance` is at most 65 535.
            let (Ok(start), Ok(end)) = (
                u16::try_from(first.distance_from(cum)),
                u16::try_from(last.distance_from(cum)),
            ) else {
                break;
            };
            gap_blocks.push(GapAckBlock { start, end });
        }
        let n_dups = self.dups.len().min(room.saturating_sub(gap_blocks.len()));
        let duplicate_tsns = if n_dups == 0 {
            Vec::new()
        } else {
            self.dups.iter().take(n_dups).copied().collect()
        };
        self.dups.clear();
        self.due = false;
        self.deadline = None;
        self.unacked_packets = 0;
        self.urgent = false;
        Sack {
            cumulative_tsn_ack: cum,
            a_rwnd,
            gap_blocks,
            duplicate_tsns,
        }
    }

    /// How many ranges start at or before offset `d` from `cum` (the insertion point).
    fn ranges_starting_at_or_before(&self, d: u32) -> usize {
        let cum = self.cum;
        self.ranges
            .partition_point(|&(first, _)| first.distance_from(cum) <= d)
    }

    fn duplicate(&mut self, tsn: Tsn) -> Observed {
        // RFC 9260 §6.2: "The duplicate TSN number(s) SHOULD be reported in the SACK as
        // duplicate."
        if self.dups.len() < self.max_duplicates {
            self.dups.push(tsn);
        }
        Observed::Duplicate
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn tracker(initial: u32) -> DataTracker {
        DataTracker::new(Tsn(initial), TrackerConfig::default())
    }

    fn blocks(s: &Sack) -> Vec<(u16, u16)> {
        s.gap_blocks.iter().map(|b| (b.start, b.end)).collect()
    }

    #[test]
    fn in_order() {
        let mut t = tracker(100);
        assert_eq!(t.cumulative(), Tsn(99));
        for n in 100..110 {
            assert_eq!(t.observe(Tsn(n)), Observed::New);
        }
        assert_eq!(t.cumulative(), Tsn(109));
        assert!(!t.has_gaps());
        let s = t.make_sack(1000, 1200);
        assert_eq!(s.cumulative_tsn_ack, Tsn(109));
        assert_eq!(s.a_rwnd, 1000);
        assert!(s.gap_blocks.is_empty() && s.duplicate_tsns.is_empty());
    }

    #[test]
    fn out_of_order_gap_blocks_as_in_rfc() {
        // RFC 9260 §3.3.4 example: TSNs 1, 2, 4, 5, 7 received (cum 2) -> blocks 2-3 and 5-5.
        let mut t = tracker(1);
        for n in [1, 2, 4, 5, 7] {
            assert_eq!(t.observe(Tsn(n)), Observed::New);
        }
        assert_eq!(t.cumulative(), Tsn(2));
        assert!(t.has_gaps());
        let s = t.make_sack(0, 1200);
        assert_eq!(s.cumulative_tsn_ack, Tsn(2));
        assert_eq!(blocks(&s), vec![(2, 3), (5, 5)]);
        let acked: Vec<Tsn> = s
            .gap_ranges()
            .flat_map(|(a, b)| (a.0..=b.0).map(Tsn))
            .collect();
        assert_eq!(acked, vec![Tsn(4), Tsn(5), Tsn(7)]);
        // Fill 6: the two blocks merge; fill 3: everything is in sequence.
        assert_eq!(t.observe(Tsn(6)), Observed::New);
        assert_eq!(blocks(&t.make_sack(0, 1200)), vec![(2, 5)]);
        assert_eq!(t.observe(Tsn(3)), Observed::New);
        assert_eq!(t.cumulative(), Tsn(7));
        assert!(!t.has_gaps());
    }

    #[test]
    fn ranges_grow_both_ways() {
        let mut t = tracker(0);
        assert_eq!(t.observe(Tsn(10)), Observed::New);
        assert_eq!(t.observe(Tsn(9)), Observed::New);
        assert_eq!(t.observe(Tsn(11)), Observed::New);
        assert_eq!(t.observe(Tsn(5)), Observed::New);
        assert_eq!(blocks(&t.make_sack(0, 1200)), vec![(6, 6), (10, 12)]);
        assert!(t.is_received(Tsn(10)));
        assert!(!t.is_received(Tsn(8)));
        assert!(t.is_received(Tsn(0).prev()));
    }

    #[test]
    fn duplicates_are_reported_once() {
        let mut t = tracker(1);
        for n in [1, 2, 5] {
            t.observe(Tsn(n));
        }
        assert_eq!(t.observe(Tsn(2)), Observed::Duplicate);
        assert_eq!(t.observe(Tsn(5)), Observed::Duplicate);
        assert_eq!(t.observe(Tsn(0)), Observed::Duplicate);
        let s = t.make_sack(0, 1200);
        assert_eq!(s.duplicate_tsns, vec![Tsn(2), Tsn(5), Tsn(0)]);
        assert!(t.make_sack(0, 1200).duplicate_tsns.is_empty());
    }

    #[test]
    fn duplicate_list_is_bounded() {
        let mut t = tracker(1);
        t.observe(Tsn(1));
        for _ in 0..100 {
            assert_eq!(t.observe(Tsn(1)), Observed::Duplicate);
        }
        assert_eq!(t.make_sack(0, 1200).duplicate_tsns.len(), 32);
    }

    #[test]
    fn wraps_around() {
        let mut t = tracker(u32::MAX - 1);
        assert_eq!(t.observe(Tsn(u32::MAX - 1)), Observed::New);
        assert_eq!(t.observe(Tsn(1)), Observed::New);
        assert_eq!(blocks(&t.make_sack(0, 1200)), vec![(3, 3)]);
        assert_eq!(t.observe(Tsn(u32::MAX)), Observed::New);
        assert_eq!(blocks(&t.make_sack(0, 1200)), vec![(2, 2)]);
        assert_eq!(t.observe(Tsn(0)), Observed::New);
        assert_eq!(t.cumulative(), Tsn(1));
        assert_eq!(t.observe(Tsn(u32::MAX)), Observed::Duplicate);
    }

    #[test]
    fn distance_bound() {
        let cfg = TrackerConfig {
            max_tsn_distance: 100,
            ..TrackerConfig::default()
        };
        let mut t = DataTracker::new(Tsn(1), cfg);
        assert_eq!(t.observe(Tsn(100)), Observed::New); // cum 0 + 100
        assert_eq!(t.observe(Tsn(101)), Observed::Rejected);
        assert_eq!(t.observe(Tsn(1 << 30)), Observed::Rejected);
        assert_eq!(blocks(&t.make_sack(0, 1200)), vec![(100, 100)]);
        // The default clamps to what a gap block can express.
        let cfg = TrackerConfig {
            max_tsn_distance: u32::MAX,
            ..TrackerConfig::default()
        };
        let mut t = DataTracker::new(Tsn(1), cfg);
        assert_eq!(t.observe(Tsn(65_535)), Observed::New);
        assert_eq!(t.observe(Tsn(65_536)), Observed::Rejected);
    }

    #[test]
    fn range_bound() {
        let cfg = TrackerConfig {
            max_gap_ranges: 3,
            ..TrackerConfig::default()
        };
        let mut t = DataTracker::new(Tsn(1), cfg);
        for n in [3, 5, 7] {
            assert_eq!(t.observe(Tsn(n)), Observed::New);
        }
        // A fourth range is refused, but extending or merging existing ones is fine.
        assert_eq!(t.observe(Tsn(9)), Observed::Rejected);
        assert_eq!(t.observe(Tsn(8)), Observed::New);
        assert_eq!(t.observe(Tsn(4)), Observed::New);
        assert_eq!(t.observe(Tsn(11)), Observed::New);
        assert_eq!(
            blocks(&t.make_sack(0, 1200)),
            vec![(3, 5), (7, 8), (11, 11)]
        );
    }

    #[test]
    fn sack_fits_max_len() {
        let mut t = tracker(1);
        for n in (3..40).step_by(2) {
            t.observe(Tsn(n));
        }
        for _ in 0..5 {
            t.observe(Tsn(3));
        }
        // 16 fixed bytes + room for 4 entries: gap blocks first.
        let s = t.make_sack(0, 16 + 4 * 4 + 3);
        assert_eq!(s.gap_blocks.len(), 4);
        assert!(s.duplicate_tsns.is_empty());
        assert_eq!(blocks(&s).first(), Some(&(3, 3)));
        for _ in 0..5 {
            t.observe(Tsn(3));
        }
        let s = t.make_sack(0, 16 + 4 * 22);
        assert_eq!((s.gap_blocks.len(), s.duplicate_tsns.len()), (19, 3));
        assert!(t.make_sack(0, 0).gap_blocks.is_empty());
    }

    #[test]
    fn delayed_sack_every_second_packet() {
        let t0 = Instant::now();
        let mut t = tracker(1);
        t.observe(Tsn(1));
        t.on_packet_end(t0, true, false);
        assert!(!t.sack_due());
        assert_eq!(t.sack_deadline(), Some(t0 + Duration::from_millis(200)));
        t.observe(Tsn(2));
        t.on_packet_end(t0 + Duration::from_millis(10), true, false);
        assert!(t.sack_due());
        assert_eq!(t.sack_deadline(), None);
        let s = t.make_sack(0, 1200);
        assert_eq!(s.cumulative_tsn_ack, Tsn(2));
        assert!(!t.sack_due());
        // Packets without data count for nothing.
        t.on_packet_end(t0, false, false);
        assert!(!t.sack_due() && t.sack_deadline().is_none());
    }

    #[test]
    fn delayed_sack_timer() {
        let t0 = Instant::now();
        let mut t = tracker(1);
        t.observe(Tsn(1));
        t.on_packet_end(t0, true, false);
        t.on_sack_timeout(t0 + Duration::from_millis(199));
        assert!(!t.sack_due());
        t.on_sack_timeout(t0 + Duration::from_millis(200));
        assert!(t.sack_due());
        assert_eq!(t.sack_deadline(), None);
        t.make_sack(0, 1200);
        // The timer is clamped to 500 ms.
        let cfg = TrackerConfig {
            delayed_ack: Duration::from_secs(3),
            ..TrackerConfig::default()
        };
        let mut t = DataTracker::new(Tsn(1), cfg);
        t.observe(Tsn(1));
        t.on_packet_end(t0, true, false);
        assert_eq!(t.sack_deadline(), Some(t0 + MAX_DELAYED_ACK));
    }

    #[test]
    fn immediate_sack_on_gap_dup_and_i_bit() {
        let t0 = Instant::now();
        // Gap.
        let mut t = tracker(1);
        t.observe(Tsn(2));
        t.on_packet_end(t0, true, false);
        assert!(t.sack_due());
        t.make_sack(0, 1200);
        // Filling the gap.
        t.observe(Tsn(1));
        t.on_packet_end(t0, true, false);
        assert!(t.sack_due());
        t.make_sack(0, 1200);
        // In order again: back to delaying.
        t.observe(Tsn(3));
        t.on_packet_end(t0, true, false);
        assert!(!t.sack_due());
        t.make_sack(0, 1200);
        // Duplicate.
        t.observe(Tsn(3));
        t.on_packet_end(t0, true, false);
        assert!(t.sack_due());
        t.make_sack(0, 1200);
        // I bit (RFC 7053).
        t.observe(Tsn(4));
        t.on_packet_end(t0, true, true);
        assert!(t.sack_due());
        t.make_sack(0, 1200);
        // Rejected chunk.
        assert_eq!(t.observe(Tsn(1 << 20)), Observed::Rejected);
        t.on_packet_end(t0, true, false);
        assert!(t.sack_due());
    }

    #[test]
    fn forward_tsn() {
        let mut t = tracker(1);
        for n in [1, 4, 5, 9, 10, 20] {
            t.observe(Tsn(n));
        }
        // Skip 2..=7: the 4-5 range is covered, 9-10 stays a gap above 7... and 8 is missing.
        assert!(t.forward(Tsn(7)));
        assert_eq!(t.cumulative(), Tsn(7));
        assert_eq!(blocks(&t.make_sack(0, 1200)), vec![(2, 3), (13, 13)]);
        // Skip to 8: now contiguous with 9-10.
        assert!(t.forward(Tsn(8)));
        assert_eq!(t.cumulative(), Tsn(10));
        // Skip into the middle of a range.
        t.observe(Tsn(15));
        t.observe(Tsn(16));
        assert!(t.forward(Tsn(15)));
        assert_eq!(t.cumulative(), Tsn(16));
        assert_eq!(blocks(&t.make_sack(0, 1200)), vec![(4, 4)]);
        // Out of date: ignored, but a SACK is due.
        let t0 = Instant::now();
        assert!(!t.forward(Tsn(12)));
        t.on_packet_end(t0, true, false);
        assert!(t.sack_due());
        assert_eq!(t.cumulative(), Tsn(16));
        // Past everything.
        assert!(t.forward(Tsn(100)));
        assert!(!t.has_gaps());
        assert_eq!(t.observe(Tsn(20)), Observed::Duplicate);
        assert_eq!(t.observe(Tsn(101)), Observed::New);
    }

    #[test]
    fn unobserve_restores_state() {
        let mut t = tracker(1);
        for n in [1, 3, 5, 6, 7] {
            t.observe(Tsn(n));
        }
        for n in [2, 4, 8, 10, 6] {
            let before = (t.cumulative(), t.ranges.clone());
            assert_eq!(
                t.observe(Tsn(n)),
                if n == 6 {
                    Observed::Duplicate
                } else {
                    Observed::New
                }
            );
            if n != 6 {
                assert!(t.unobserve(Tsn(n)));
                assert_eq!((t.cumulative(), t.ranges.clone()), before, "tsn {n}");
            }
        }
        assert!(!t.unobserve(Tsn(4)));
        // Splitting a range in the middle.
        assert!(t.unobserve(Tsn(6)));
        assert_eq!(blocks(&t.make_sack(0, 1200)), vec![(2, 2), (4, 4), (6, 6)]);
    }

    proptest! {
        /// Any arrival order with duplicates of a window of TSNs: each TSN is `New` exactly
        /// once and the cumulative TSN ends at the highest.
        #[test]
        fn any_permutation_completes(
            start in any::<u32>(),
            order in (1usize..300).prop_flat_map(|n| {
                let all: Vec<usize> = (0..n).collect();
                (Just(n), Just(all).prop_shuffle(), proptest::collection::vec(0..n, 0..50))
            }),
        ) {
            let (n, perm, dups) = order;
            let mut arrivals = perm;
            for (k, d) in dups.into_iter().enumerate() {
                let at = (k * 7919) % (arrivals.len() + 1);
                arrivals.insert(at, d);
            }
            let cfg = TrackerConfig { max_gap_ranges: usize::MAX, ..TrackerConfig::default() };
            let mut t = DataTracker::new(Tsn(start), cfg);
            let mut news = vec![0u32; n];
            for i in arrivals {
                let tsn = Tsn(start).add(i as u32);
                match t.observe(tsn) {
                    Observed::New => news[i] += 1,
                    Observed::Duplicate => {}
                    Observed::Rejected => prop_assert!(false, "rejected {tsn:?}"),
                }
                // Gap blocks always describe the set exactly.
                let s = t.clone().make_sack(0, usize::MAX);
                for (a, b) in s.gap_ranges() {
                    prop_assert!(a.follows(t.cumulative().next()));
                    prop_assert!(b.follows_or_eq(a));
                }
            }
            prop_assert!(news.iter().all(|&c| c == 1));
            prop_assert_eq!(t.cumulative(), Tsn(start).add(n as u32 - 1));
            prop_assert!(!t.has_gaps());
        }
    }
}
