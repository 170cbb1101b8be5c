//! Loss detection: deciding which outstanding DATA chunks are lost before their T3-rtx timer
//! says so, so they can be fast-retransmitted (RFC 9260 §7.2.4).
//!
//! A detector is its own component behind [`LossDetector`], chosen by configuration
//! ([`LossDetection`]): the classic RFC 9260 miss-indication counter ([`ClassicLoss`]) today,
//! a time-based detector (RACK, RFC 8985, adapted to SCTP with per-path RTTs and TSN order)
//! beside it later. A detector never touches the bookkeeping of the data in flight: it looks
//! at the unacknowledged chunks through a [`LossScan`] and calls [`Candidate::mark_lost`](super::outstanding::Candidate::mark_lost);
//! the [`Outstanding`](super::outstanding::Outstanding) tracker does the accounting (bytes in
//! flight, retransmission queue, Fast Recovery entry).
//!
//! Memory: the classic detector keeps no state of its own (the miss indications live in each
//! outstanding chunk). A time-based detector keeps a fixed amount per path.

use core::fmt;
use std::time::Instant;

use braid_wire::Tsn;

use crate::ids::PathId;

use super::outstanding::LossScan;

/// RFC 9260 §7.2.4: "When the third consecutive miss indication is received for a TSN(s),
/// the data sender shall [...] mark the DATA chunk(s) with three miss indications for
/// retransmission."
pub(crate) const MISS_INDICATION_THRESHOLD: u8 = 3;

/// The newly acknowledged chunk that was sent last: what a time-based detector measures
/// reordering against (RACK's `RACK.xmit_ts` / `RACK.end_seq`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Delivered {
    /// Its TSN.
    pub(crate) tsn: Tsn,
    /// The path it was last sent on.
    pub(crate) path: PathId,
    /// When it was last sent.
    pub(crate) sent: Instant,
    /// Whether it was ever retransmitted (its acknowledgement may be for an older copy).
    pub(crate) retransmitted: bool,
}

/// What one SACK told the sender, as a loss detector needs it. Built by the outstanding
/// tracker after it applied the Cumulative TSN Ack and the Gap Ack Blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SackSummary {
    /// When the SACK arrived.
    pub(crate) now: Instant,
    /// Its Cumulative TSN Ack (now also the sender's Cumulative TSN Ack Point).
    pub(crate) cum_ack: Tsn,
    /// Whether it advanced the Cumulative TSN Ack Point.
    pub(crate) cum_ack_advanced: bool,
    /// The highest TSN this SACK acknowledged for the first time, by the cumulative ack or a
    /// gap block (RFC 9260 §7.2.4 "HTNA").
    pub(crate) highest_newly_acked: Option<Tsn>,
    /// The highest TSN the SACK reports received: the end of its last Gap Ack Block. Every
    /// outstanding TSN below it that no block covers is "reported missing".
    pub(crate) highest_reported: Option<Tsn>,
    /// Whether the sender was in Fast Recovery when the SACK arrived.
    pub(crate) in_fast_recovery: bool,
    /// The newly acknowledged chunk sent most recently.
    pub(crate) newest_delivered: Option<Delivered>,
}

/// A loss detector. The outstanding tracker owns one and calls it after every SACK it
/// accepts, and when the detector's own timer expires.
///
/// The contract: a detector only *marks* chunks as lost ([`Candidate::mark_lost`](super::outstanding::Candidate::mark_lost)); the
/// tracker moves them to the retransmission queue, takes them out of flight, and enters Fast
/// Recovery (RFC 9260 §7.2.4 steps 1, 2, 5 and 6) when it was not in it.
pub(crate) trait LossDetector: fmt::Debug + Send {
    /// A SACK was applied: look at the unacknowledged chunks in flight and mark lost ones.
    fn on_sack(&mut self, sack: &SackSummary, chunks: &mut LossScan<'_>);

    /// When the detector wants [`on_timeout`](Self::on_timeout) called (a time-based
    /// detector's reordering timer). The classic detector has no timer.
    fn poll_timeout(&self) -> Option<Instant> {
        None
    }

    /// The deadline from [`poll_timeout`](Self::poll_timeout) passed.
    fn on_timeout(&mut self, now: Instant, chunks: &mut LossScan<'_>) {
        let _ = (now, chunks);
    }

    /// A T3-rtx timer expired: every chunk of that path was marked for retransmission and
    /// Fast Recovery ended; forget any state that assumed otherwise.
    fn on_t3_expired(&mut self, path: PathId) {
        let _ = path;
    }
}

/// Which loss detector an association uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum LossDetection {
    /// RFC 9260 §7.2.4: three miss indications, counted with the HTNA rule.
    #[default]
    Classic,
}

impl LossDetection {
    /// A fresh detector of this kind.
    pub(crate) fn build(self) -> Box<dyn LossDetector> {
        match self {
            Self::Classic => Box::new(ClassicLoss::new()),
        }
    }
}

/// The RFC 9260 §7.2.4 detector: a chunk is lost after three miss indications.
///
/// > Miss indications SHOULD follow the HTNA (Highest TSN Newly Acknowledged) algorithm. For
/// > each incoming SACK chunk, miss indications are incremented only for missing TSNs prior
/// > to the highest TSN newly acknowledged in the SACK chunk. A newly acknowledged DATA
/// > chunk is one not previously acknowledged in a SACK chunk. If an endpoint is in Fast
/// > Recovery and a SACK chunk arrives that advances the Cumulative TSN Ack Point, the miss
/// > indications are incremented for all TSNs reported missing in the SACK chunk.
#[derive(Debug, Clone, Default)]
pub(crate) struct ClassicLoss {
    _private: (),
}

impl ClassicLoss {
    /// A detector.
    pub(crate) fn new() -> Self {
        Self::default()
    }
}

impl LossDetector for ClassicLoss {
    fn on_sack(&mut self, sack: &SackSummary, chunks: &mut LossScan<'_>) {
        let bound = if sack.in_fast_recovery && sack.cum_ack_advanced {
            // "...incremented for all TSNs reported missing in the SACK chunk": every hole
            // below the last gap block.
            later(sack.highest_reported, sack.highest_newly_acked)
        } else {
            sack.highest_newly_acked
        };
        let Some(bound) = bound else {
            return;
        };
        let newest_sent = sack.newest_delivered.map(|d| d.sent);
        chunks.for_each_in_flight_before(bound, |chunk| {
            // HTNA counts a hole as missed because something sent after it arrived; TSN order
            // stands for send order only for chunks sent once. A retransmitted chunk (after a
            // T3) is missed only when data sent after its latest transmission is newly
            // acknowledged — otherwise the acks of the originals still in flight would fast
            // retransmit it again (thousands of spurious retransmissions after one T3).
            if chunk.retransmitted() && newest_sent.is_none_or(|s| s <= chunk.sent()) {
                return;
            }
            let misses = chunk.add_miss_indication();
            // Step 5: "Mark the DATA chunk(s) as being fast retransmitted and thus
            // ineligible for a subsequent Fast Retransmit."
            if misses >= MISS_INDICATION_THRESHOLD && !chunk.fast_retransmitted() {
                chunk.mark_lost();
            }
        });
    }
}

/// The later of two optional TSNs.
fn later(a: Option<Tsn>, b: Option<Tsn>) -> Option<Tsn> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if b.follows(a) { b } else { a }),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_picks_the_serially_greater() {
        assert_eq!(later(Some(Tsn(5)), Some(Tsn(7))), Some(Tsn(7)));
        assert_eq!(later(Some(Tsn(1)), Some(Tsn(u32::MAX))), Some(Tsn(1)));
        assert_eq!(later(None, Some(Tsn(3))), Some(Tsn(3)));
        assert_eq!(later(None, None), None);
    }

    #[test]
    fn configuration_builds_the_classic_detector() {
        let d = LossDetection::default().build();
        assert!(format!("{d:?}").contains("ClassicLoss"));
        assert_eq!(d.poll_timeout(), None);
    }
}
