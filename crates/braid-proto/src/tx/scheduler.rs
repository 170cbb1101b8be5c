//! Stream schedulers (RFC 8260 §3): which stream's data the send queue hands out next.
//!
//! Role: the [`SendQueue`](super::send_queue::SendQueue) owns the messages; this module only
//! orders the streams that have something to send. Every scheduler is the same mechanism — a
//! min-heap of `(key, slot)` over the *scheduled* streams — and differs only in how a stream's
//! key is computed and when it is recomputed:
//!
//! | scheduler            | key                              | re-keyed after                      |
//! |----------------------|----------------------------------|-------------------------------------|
//! | FCFS (§3.1)          | queue order of the head message  | each message                        |
//! | round robin (§3.2)   | a ticket (FIFO of turns)         | each message (fragment with I-DATA) |
//! | RR per packet (§3.3) | a ticket                         | each packet                         |
//! | priority (§3.4)      | priority, then a ticket          | as round robin                      |
//! | WFQ (§3.6)           | virtual start time               | as round robin                      |
//!
//! Keys are never updated in place: a stream that gets a new key gets a new heap entry and its
//! old entry becomes stale (its key no longer matches the stream's), to be dropped lazily when
//! it surfaces. Picking is O(1) when the top is current, a re-key O(log n) — and the common
//! case, re-keying the stream just picked, replaces the top in place instead of growing the heap.
//!
//! Memory: one 64-byte record per stream slot the send queue has allocated, plus a heap that is
//! rebuilt whenever it holds more than `2 × scheduled + 32` entries, so it is O(streams).

use core::cmp::Reverse;
use std::collections::BinaryHeap;

/// Which stream scheduler orders the outbound streams (RFC 8260 §3).
///
/// Without I-DATA a message that has started is always finished before anything else is sent
/// (its fragments need consecutive TSNs, RFC 9260 §6.9), so the scheduler decides only at
/// message boundaries; with I-DATA it decides before every fragment.
#[allow(unreachable_pub)] // Re-exported from the crate root once the association integrates it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Scheduler {
    /// First come, first served (RFC 8260 §3.1): messages leave in the order they were queued,
    /// whatever their stream.
    Fcfs,
    /// Round robin (RFC 8260 §3.2): streams with data take turns, one message per turn (one
    /// fragment per turn with I-DATA).
    #[default]
    RoundRobin,
    /// Round robin per packet (RFC 8260 §3.3): a stream keeps its turn until the packet is
    /// full, so a packet carries one stream's messages; the association must announce packet
    /// starts with `begin_packet`.
    RoundRobinPerPacket,
    /// Strict priority (RFC 8260 §3.4): the stream with the lowest priority *value* goes first;
    /// streams of equal priority take turns as in round robin. With I-DATA a large
    /// low-priority message no longer delays a high-priority one.
    Priority,
    /// Weighted fair queueing (RFC 8260 §3.6): each stream gets a share of the bytes sent
    /// proportional to its weight. Implemented as start-time fair queueing: a stream's key is
    /// the virtual time at which its next turn starts, advanced by `bytes / weight` per turn.
    WeightedFair,
}

/// Priority of a stream nobody configured (lower values are sent first).
pub(crate) const DEFAULT_PRIORITY: u16 = 256;
/// Weight of a stream nobody configured (WFQ share; WebRTC's "low" priority maps here).
pub(crate) const DEFAULT_WEIGHT: u16 = 256;

/// Heap entries larger than `2 × scheduled + SLACK` trigger a rebuild.
const SLACK: usize = 32;
/// Fixed-point scale of WFQ virtual time: one byte at weight 1 costs 2^16.
const WFQ_SHIFT: u32 = 16;

/// One heap entry. Ordered by key, then slot (deterministic ties).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Entry {
    key: u128,
    slot: u32,
}

/// Per-slot scheduling state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SlotState {
    /// The current key while the stream is scheduled; `None` when it is not.
    key: Option<u128>,
    priority: u16,
    weight: u16,
    /// WFQ: virtual time at which the stream's last turn finished.
    finish: u128,
    /// Bytes sent since the stream was last keyed (WFQ charges them at the next re-key).
    served: u64,
}

impl Default for SlotState {
    fn default() -> Self {
        Self {
            key: None,
            priority: DEFAULT_PRIORITY,
            weight: DEFAULT_WEIGHT,
            finish: 0,
            served: 0,
        }
    }
}

/// Orders the streams that have data to send. Streams are named by the send queue's slot index.
#[derive(Debug)]
pub(crate) struct StreamScheduler {
    kind: Scheduler,
    heap: BinaryHeap<Reverse<Entry>>,
    slots: Vec<SlotState>,
    /// Slots whose `key` is `Some`.
    scheduled: usize,
    /// Next round-robin ticket.
    ticket: u64,
    /// WFQ virtual time: the start tag of the most recently picked stream.
    vtime: u128,
    /// The stream that sent last (round robin per packet rotates it at the next packet).
    last_served: Option<u32>,
}

impl StreamScheduler {
    pub(crate) fn new(kind: Scheduler) -> Self {
        Self {
            kind,
            heap: BinaryHeap::new(),
            slots: Vec::new(),
            scheduled: 0,
            ticket: 0,
            vtime: 0,
            last_served: None,
        }
    }

    pub(crate) fn kind(&self) -> Scheduler {
        self.kind
    }

    /// Whether any stream is scheduled.
    pub(crate) fn has_scheduled(&self) -> bool {
        self.scheduled > 0
    }

    pub(crate) fn is_scheduled(&self, slot: u32) -> bool {
        self.slot(slot).is_some_and(|s| s.key.is_some())
    }

    /// Makes room for `slot` (the send queue allocated it).
    pub(crate) fn ensure_slot(&mut self, slot: u32) {
        let needed = slot as usize + 1;
        if self.slots.len() < needed {
            self.slots.resize(needed, SlotState::default());
        }
    }

    /// Forgets everything about `slot` (the send queue freed it).
    pub(crate) fn reset_slot(&mut self, slot: u32) {
        self.unschedule(slot);
        if let Some(s) = self.slot_mut(slot) {
            *s = SlotState::default();
        }
    }

    /// Whether `slot` has the default priority and weight (so the send queue may free it).
    pub(crate) fn is_default(&self, slot: u32) -> bool {
        self.slot(slot)
            .is_none_or(|s| s.priority == DEFAULT_PRIORITY && s.weight == DEFAULT_WEIGHT)
    }

    pub(crate) fn priority(&self, slot: u32) -> u16 {
        self.slot(slot).map_or(DEFAULT_PRIORITY, |s| s.priority)
    }

    pub(crate) fn weight(&self, slot: u32) -> u16 {
        self.slot(slot).map_or(DEFAULT_WEIGHT, |s| s.weight)
    }

    /// Sets a stream's priority; a scheduled stream moves to its new level at once.
    pub(crate) fn set_priority(&mut self, slot: u32, priority: u16) {
        let Some(s) = self.slot_mut(slot) else { return };
        if s.priority == priority {
            return;
        }
        s.priority = priority;
        let scheduled = s.key.is_some();
        if self.kind == Scheduler::Priority && scheduled {
            self.requeue(slot, 0);
        }
    }

    /// Sets a stream's weight (0 counts as 1); it applies from the stream's next turn.
    pub(crate) fn set_weight(&mut self, slot: u32, weight: u16) {
        if let Some(s) = self.slot_mut(slot) {
            s.weight = weight.max(1);
        }
    }

    /// Switches to another scheduler. Every stream is unscheduled: the caller schedules the
    /// streams with data again, in the order it wants them served first.
    pub(crate) fn set_kind(&mut self, kind: Scheduler) {
        self.clear();
        self.kind = kind;
    }

    /// Unschedules every stream and restarts the virtual clocks; priorities and weights stay.
    pub(crate) fn clear(&mut self) {
        self.heap.clear();
        for s in &mut self.slots {
            s.key = None;
            s.finish = 0;
            s.served = 0;
        }
        self.scheduled = 0;
        self.ticket = 0;
        self.vtime = 0;
        self.last_served = None;
    }

    /// `slot` has data to send; `head` is its head message's queue order (FCFS key).
    /// Idempotent: an already scheduled stream keeps its turn, except that FCFS follows a
    /// changed head.
    pub(crate) fn schedule(&mut self, slot: u32, head: u64) {
        let kind = self.kind;
        let Some(s) = self.slot(slot) else { return };
        match s.key {
            None => {
                let key = self.fresh_key(slot, head, false);
                self.scheduled += 1;
                self.insert(slot, None, key);
            }
            Some(old) if kind == Scheduler::Fcfs && old != u128::from(head) => {
                self.insert(slot, Some(old), u128::from(head));
            }
            Some(_) => {}
        }
    }

    /// `slot` has nothing (more) to send for now.
    pub(crate) fn unschedule(&mut self, slot: u32) {
        let Some(s) = self.slot_mut(slot) else { return };
        if let Some(start) = s.key.take() {
            // WFQ: the turn in progress ends with what it sent.
            s.finish = start + cost(s.served, s.weight);
            s.served = 0;
            self.scheduled -= 1;
        }
        if self.last_served == Some(slot) {
            self.last_served = None;
        }
    }

    /// The stream to serve next, or `None` when no stream is scheduled. Calling it again
    /// without sending gives the same answer.
    pub(crate) fn pick(&mut self) -> Option<u32> {
        loop {
            let Reverse(top) = *self.heap.peek()?;
            if self.slot(top.slot).and_then(|s| s.key) == Some(top.key) {
                if self.kind == Scheduler::WeightedFair {
                    self.vtime = self.vtime.max(top.key);
                }
                return Some(top.slot);
            }
            // Stale: the stream was re-keyed or unscheduled since this entry was pushed.
            self.heap.pop();
        }
    }

    /// `slot` handed out `bytes`; `ended` says whether that finished its message; `head` is
    /// the queue order of the stream's head message if it still has something to send.
    pub(crate) fn on_sent(
        &mut self,
        slot: u32,
        bytes: usize,
        ended: bool,
        head: Option<u64>,
        interleaving: bool,
    ) {
        let Some(s) = self.slot_mut(slot) else { return };
        s.served = s.served.saturating_add(bytes as u64);
        self.last_served = Some(slot);
        let Some(head) = head else {
            self.unschedule(slot);
            return;
        };
        let next_turn = match self.kind {
            // A new head message has a new place in the global order.
            Scheduler::Fcfs => ended,
            // RFC 8260 §3.2/§3.4/§3.6: a turn is a message; with I-DATA it is a fragment, so
            // that one stream's large message no longer holds the others back.
            Scheduler::RoundRobin | Scheduler::Priority | Scheduler::WeightedFair => {
                ended || interleaving
            }
            // RFC 8260 §3.3: the turn ends with the packet (`begin_packet`).
            Scheduler::RoundRobinPerPacket => false,
        };
        if next_turn {
            self.requeue(slot, head);
        }
    }

    /// A new packet starts: round robin per packet passes the turn on from the stream that
    /// filled the previous packet (RFC 8260 §3.3).
    pub(crate) fn begin_packet(&mut self) {
        if self.kind != Scheduler::RoundRobinPerPacket {
            return;
        }
        if let Some(slot) = self.last_served.take() {
            if self.is_scheduled(slot) {
                self.requeue(slot, 0);
            }
        }
    }

    /// Gives a scheduled stream its next turn.
    fn requeue(&mut self, slot: u32, head: u64) {
        let Some(old) = self.slot(slot).and_then(|s| s.key) else {
            return;
        };
        let key = self.fresh_key(slot, head, true);
        self.insert(slot, Some(old), key);
    }

    /// The key of a stream's next turn. `next_turn`: the stream was scheduled and its turn
    /// ends now (WFQ charges it); otherwise it is becoming active.
    fn fresh_key(&mut self, slot: u32, head: u64, next_turn: bool) -> u128 {
        match self.kind {
            Scheduler::Fcfs => u128::from(head),
            Scheduler::RoundRobin | Scheduler::RoundRobinPerPacket => {
                u128::from(self.next_ticket())
            }
            Scheduler::Priority => {
                let ticket = self.next_ticket();
                let priority = self.priority(slot);
                (u128::from(priority) << 64) | u128::from(ticket)
            }
            Scheduler::WeightedFair => {
                let vtime = self.vtime;
                let Some(s) = self.slot_mut(slot) else {
                    return vtime;
                };
                if next_turn {
                    if let Some(start) = s.key {
                        s.finish = start + cost(s.served, s.weight);
                    }
                    s.served = 0;
                }
                // Start-time fair queueing: a stream that was idle does not bank credit.
                s.finish.max(vtime)
            }
        }
    }

    fn next_ticket(&mut self) -> u64 {
        let t = self.ticket;
        self.ticket = self.ticket.wrapping_add(1);
        t
    }

    /// Sets `slot`'s key to `key` and adds its entry; the entry for `old` (if it is the top —
    /// the stream just served) is replaced in place.
    fn insert(&mut self, slot: u32, old: Option<u128>, key: u128) {
        if let Some(s) = self.slot_mut(slot) {
            s.key = Some(key);
        }
        let entry = Entry { key, slot };
        if let Some(old) = old {
            if let Some(mut top) = self.heap.peek_mut() {
                if top.0.slot == slot && top.0.key == old {
                    // Sifts down when `top` drops: O(log n), and the heap does not grow.
                    top.0 = entry;
                    return;
                }
            }
        }
        self.heap.push(Reverse(entry));
        self.compact();
    }

    /// Rebuilds the heap from the scheduled streams once stale entries dominate it.
    fn compact(&mut self) {
        if self.heap.len() <= 2 * self.scheduled + SLACK {
            return;
        }
        self.heap.clear();
        for (slot, s) in self.slots.iter().enumerate() {
            if let Some(key) = s.key {
                self.heap.push(Reverse(Entry {
                    key,
                    slot: slot as u32,
                }));
            }
        }
    }

    fn slot(&self, slot: u32) -> Option<&SlotState> {
        self.slots.get(slot as usize)
    }

    fn slot_mut(&mut self, slot: u32) -> Option<&mut SlotState> {
        self.slots.get_mut(slot as usize)
    }
}

/// WFQ virtual-time cost of `bytes` at `weight`.
fn cost(bytes: u64, weight: u16) -> u128 {
    (u128::from(bytes) << WFQ_SHIFT) / u128::from(weight.max(1))
}

#[cfg(test)]
impl StreamScheduler {
    pub(crate) fn heap_len(&self) -> usize {
        self.heap.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Serves `turns` turns of `bytes` each, every stream always having more to send.
    fn serve(s: &mut StreamScheduler, turns: usize, bytes: usize, interleaving: bool) -> Vec<u32> {
        (0..turns)
            .map(|_| {
                let slot = s.pick().unwrap();
                s.on_sent(slot, bytes, true, Some(0), interleaving);
                slot
            })
            .collect()
    }

    fn with_slots(kind: Scheduler, n: u32) -> StreamScheduler {
        let mut s = StreamScheduler::new(kind);
        for slot in 0..n {
            s.ensure_slot(slot);
            s.schedule(slot, u64::from(slot));
        }
        s
    }

    #[test]
    fn round_robin_cycles_and_the_heap_stays_small() {
        let mut s = with_slots(Scheduler::RoundRobin, 3);
        let order = serve(&mut s, 9, 100, false);
        assert_eq!(order, [0, 1, 2, 0, 1, 2, 0, 1, 2]);
        serve(&mut s, 10_000, 100, false);
        assert_eq!(s.heap_len(), 3, "re-keying the top replaces it");
    }

    #[test]
    fn stale_entries_are_compacted() {
        let mut s = with_slots(Scheduler::Priority, 2);
        // Out-of-turn re-keys push new entries and leave old ones stale.
        for i in 0..1000u16 {
            s.set_priority(1, i % 7);
        }
        assert!(s.heap_len() <= 2 * 2 + SLACK + 1);
        assert_eq!(s.pick(), Some(1)); // priority 999 % 7 = 5 < 256
    }

    #[test]
    fn unscheduled_streams_are_not_picked() {
        let mut s = with_slots(Scheduler::RoundRobin, 3);
        s.unschedule(0);
        assert_eq!(s.pick(), Some(1));
        s.unschedule(1);
        s.unschedule(2);
        assert_eq!(s.pick(), None);
        assert!(!s.has_scheduled());
        s.schedule(2, 0);
        s.schedule(2, 0);
        assert_eq!(s.pick(), Some(2));
        s.unschedule(2);
        assert_eq!(s.pick(), None, "scheduling twice made one turn");
    }

    #[test]
    fn wfq_idle_streams_bank_no_credit() {
        let mut s = with_slots(Scheduler::WeightedFair, 1);
        serve(&mut s, 100, 1000, false);
        // Slot 1 arrives late: it starts at the current virtual time, so it alternates with
        // slot 0 instead of monopolising the link to catch up.
        s.ensure_slot(1);
        s.schedule(1, 0);
        let order = serve(&mut s, 6, 1000, false);
        let ones = order.iter().filter(|&&x| x == 1).count();
        assert_eq!(ones, 3, "{order:?}");
    }

    #[test]
    fn round_robin_per_packet_rotates_only_at_packets() {
        let mut s = with_slots(Scheduler::RoundRobinPerPacket, 2);
        assert_eq!(serve(&mut s, 3, 100, false), [0, 0, 0]);
        s.begin_packet();
        assert_eq!(serve(&mut s, 2, 100, false), [1, 1]);
        s.begin_packet();
        assert_eq!(s.pick(), Some(0));
    }
}
