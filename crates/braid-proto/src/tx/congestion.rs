//! Congestion control per path (RFC 9260 §7.2: slow start, congestion avoidance, reaction to
//! loss, idle decay), the Max.Burst limit (§6.1 D) and flow control by the peer's receive
//! window (§6.1 A, §6.2.1).
//!
//! Units: every byte count here is in the unit of the outstanding-data tracker — padded
//! chunk sizes, headers included (see `tx::outstanding`) — and `mtu` is the path MTU (the
//! RFC's "MTU" / "PMTU").
//!
//! Fast Recovery is association-wide in RFC 9260 §7.2.4 (one exit point, a TSN), so its
//! state lives in the outstanding tracker, which tells each path when to reduce its window
//! (`PathAck::reduce_cwnd`) and whether the sender is in recovery ([`AckInfo`]).
//!
//! Memory: a fixed handful of integers per path.

use core::time::Duration;
use std::time::Instant;

/// Max.Burst (RFC 9260 §16): packets a sender may emit at once.
pub(crate) const MAX_BURST: usize = 4;

/// The initial congestion window for a path MTU (RFC 9260 §7.2.1): "The initial cwnd before
/// data transmission MUST be set to min(4*MTU, max (2*MTU, 4404))."
pub(crate) fn initial_cwnd(mtu: usize) -> usize {
    (4 * mtu).min((2 * mtu).max(4404))
}

/// Whether a packet of `bytes` may go out with `flight` bytes outstanding under a window
/// (RFC 9260 §6.1 B): only while the flight is below the window, and then even if the
/// packet takes it past the window by up to PMTU − 1 bytes.
fn window_allows(window: usize, mtu: usize, flight: usize, bytes: usize) -> bool {
    flight < window && flight + bytes < window + mtu
}

/// What a SACK did on one path, as the congestion controller needs it
/// (from `PathAck::ack_info` of the outstanding tracker).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct AckInfo {
    /// Bytes of chunks last sent on this path and newly acknowledged, by the cumulative ack
    /// or by gap blocks.
    pub(crate) bytes_acked: usize,
    /// Bytes in flight on this path when the SACK arrived.
    pub(crate) flight_before: usize,
    /// Bytes in flight on this path after it.
    pub(crate) flight_after: usize,
    /// Whether the sender is in Fast Recovery after the SACK.
    pub(crate) in_fast_recovery: bool,
}

/// Which algorithm governs cwnd growth (RFC 9260 §7.2.1: "slow start when cwnd <= ssthresh").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// cwnd ≤ ssthresh.
    SlowStart,
    /// cwnd > ssthresh.
    CongestionAvoidance,
}

/// The congestion state of one path (RFC 9260 §7.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CongestionControl {
    mtu: usize,
    cwnd: usize,
    ssthresh: usize,
    partial_bytes_acked: usize,
    /// Max.Burst in packets.
    max_burst: usize,
    /// The L of §7.2.1: slow start grows by at most L·MTU per SACK.
    l: usize,
    /// The last data transmission on this path, or the point idle decay counted up to.
    last_active: Option<Instant>,
}

impl CongestionControl {
    /// A path's initial state: cwnd per [`initial_cwnd`], and ssthresh "arbitrarily high
    /// (e.g., the size of the largest possible advertised window)" (§7.2.1) — pass the
    /// peer's initial a_rwnd.
    pub(crate) fn new(mtu: usize, initial_ssthresh: usize) -> Self {
        let mtu = mtu.max(1);
        Self {
            mtu,
            cwnd: initial_cwnd(mtu),
            ssthresh: initial_ssthresh,
            partial_bytes_acked: 0,
            max_burst: MAX_BURST,
            l: 1,
            last_active: None,
        }
    }

    /// Sets Max.Burst (at least 1 packet).
    pub(crate) fn with_max_burst(mut self, packets: usize) -> Self {
        self.max_burst = packets.max(1);
        self
    }

    /// Sets L, the slow-start growth limit per SACK in MTUs. RFC 9260 §7.2.1 follows
    /// Appropriate Byte Counting (RFC 3465 §2.2), where L is 1 or 2; it is clamped to that.
    pub(crate) fn with_slow_start_limit(mut self, l: usize) -> Self {
        self.l = l.clamp(1, 2);
        self
    }

    // ------------------------------------------------------------------------ getters

    /// The congestion window.
    pub(crate) fn cwnd(&self) -> usize {
        self.cwnd
    }

    /// The slow-start threshold.
    pub(crate) fn ssthresh(&self) -> usize {
        self.ssthresh
    }

    /// partial_bytes_acked (§7.2.2).
    pub(crate) fn partial_bytes_acked(&self) -> usize {
        self.partial_bytes_acked
    }

    /// The path MTU the window is counted in.
    pub(crate) fn mtu(&self) -> usize {
        self.mtu
    }

    /// Slow start or congestion avoidance.
    pub(crate) fn phase(&self) -> Phase {
        if self.cwnd <= self.ssthresh {
            Phase::SlowStart
        } else {
            Phase::CongestionAvoidance
        }
    }

    /// The path MTU changed (PMTU discovery). cwnd and ssthresh keep their byte values;
    /// the MTU-based bounds use the new size from now on.
    pub(crate) fn set_mtu(&mut self, mtu: usize) {
        self.mtu = mtu.max(1);
    }

    // ------------------------------------------------------------------------ sending

    /// RFC 9260 §6.1 B: whether a packet carrying `bytes` of DATA chunks may be sent on this
    /// path with `bytes_in_flight` outstanding on it. "At any given time, the sender MUST
    /// NOT transmit new data to a given transport address if it has cwnd + (PMTU - 1) or
    /// more bytes of data outstanding to that transport address"; a packet is allowed while
    /// the flight is below cwnd, even if it then exceeds cwnd by up to PMTU − 1 bytes.
    ///
    /// Decide per packet, with the flight before it. (A Fast Retransmit packet ignores cwnd,
    /// §7.2.4 3, and does not ask.)
    pub(crate) fn can_send(&self, bytes_in_flight: usize, bytes: usize) -> bool {
        window_allows(self.cwnd, self.mtu, bytes_in_flight, bytes)
    }

    /// RFC 9260 §6.1 D: the window for one burst of sending that starts with `flight_size`
    /// bytes in flight.
    ///
    /// > When the time comes for the sender to transmit new DATA chunks, the protocol
    /// > parameter Max.Burst SHOULD be used to limit the number of packets sent. The limit
    /// > MAY be applied by adjusting cwnd temporarily, as follows:
    /// > `if ((flightsize + Max.Burst * MTU) < cwnd) cwnd = flightsize + Max.Burst * MTU`
    /// > [...] cwnd SHOULD NOT be changed permanently.
    ///
    /// Use it with [`can_send_within`](Self::can_send_within) for each packet of the burst.
    pub(crate) fn max_burst_limit(&self, flight_size: usize) -> usize {
        let limit = flight_size + self.max_burst * self.mtu;
        if limit < self.cwnd {
            limit
        } else {
            self.cwnd
        }
    }

    /// [`can_send`](Self::can_send) against a temporary window (from
    /// [`max_burst_limit`](Self::max_burst_limit)) instead of cwnd.
    pub(crate) fn can_send_within(
        &self,
        window: usize,
        bytes_in_flight: usize,
        bytes: usize,
    ) -> bool {
        window_allows(window.min(self.cwnd), self.mtu, bytes_in_flight, bytes)
    }

    /// Data was sent (or resent) on this path at `now`: the path is not idle.
    pub(crate) fn on_transmit(&mut self, now: Instant) {
        self.last_active = Some(now);
    }

    /// RFC 9260 §7.2.1: "When the endpoint does not transmit data on a given transport
    /// address, the cwnd of the transport address SHOULD be adjusted to max(cwnd/2, 4*MTU)
    /// per RTO." Call before sending on a path: every whole RTO since its last transmission
    /// halves cwnd, down to 4·MTU. The decay never *raises* cwnd (one below 4·MTU, after a
    /// timeout, stays as it is), and each idle RTO is counted once.
    pub(crate) fn on_idle(&mut self, now: Instant, rto: Duration) {
        let Some(last) = self.last_active else {
            // Never sent: cwnd is the initial window already.
            return;
        };
        if rto.is_zero() {
            return;
        }
        let idle = now.saturating_duration_since(last);
        let periods = idle.as_nanos() / rto.as_nanos();
        if periods == 0 {
            return;
        }
        let floor = 4 * self.mtu;
        // cwnd halves at most log2(usize::MAX) times before reaching the floor.
        for _ in 0..periods.min(128) {
            let next = (self.cwnd / 2).max(floor);
            if next >= self.cwnd {
                break;
            }
            self.cwnd = next;
        }
        let counted = u32::try_from(periods)
            .ok()
            .and_then(|p| rto.checked_mul(p))
            .map_or(idle, |d| d.min(idle));
        self.last_active = last.checked_add(counted).or(Some(now));
    }

    // ------------------------------------------------------------------------ feedback

    /// A SACK acknowledged data on this path: grow cwnd (RFC 9260 §7.2.1, §7.2.2).
    pub(crate) fn on_ack(&mut self, ack: &AckInfo) {
        if ack.bytes_acked > 0 && !ack.in_fast_recovery {
            match self.phase() {
                Phase::SlowStart => {
                    // §7.2.1: "When cwnd is less than or equal to ssthresh, an SCTP endpoint
                    // MUST use the slow-start algorithm to increase cwnd only if the current
                    // congestion window is being fully utilized and the data sender is not
                    // in Fast Recovery. Only when these two conditions are met can the cwnd
                    // be increased; otherwise, the cwnd MUST NOT be increased. If these
                    // conditions are met, then cwnd MUST be increased by, at most, the
                    // lesser of 1) the total size of the previously outstanding DATA
                    // chunk(s) acknowledged, and 2) L times the destination's path MTU."
                    //
                    // "Fully utilized": less than one MTU of the window was left unused
                    // when the SACK arrived — rule B sends while the flight is below cwnd,
                    // so a sender limited by cwnd (rather than by its application or the
                    // peer's window) stops within a packet of it.
                    if ack.flight_before + self.mtu > self.cwnd {
                        self.cwnd += ack.bytes_acked.min(self.l * self.mtu);
                    }
                }
                Phase::CongestionAvoidance => {
                    // §7.2.2: "Whenever cwnd is greater than ssthresh, upon each SACK chunk
                    // arrival, increase partial_bytes_acked by the total number of bytes of
                    // all new chunks acknowledged in that SACK chunk, including chunks
                    // acknowledged by the new Cumulative TSN Ack and by Gap Ack Blocks."
                    self.partial_bytes_acked += ack.bytes_acked;
                    if self.partial_bytes_acked >= self.cwnd {
                        if ack.flight_before >= self.cwnd {
                            // "When (1) partial_bytes_acked is greater than or equal to cwnd
                            // and (2) before the arrival of the SACK chunk the sender had
                            // cwnd or more bytes of data outstanding [...],
                            // partial_bytes_acked is reset to (partial_bytes_acked - cwnd).
                            // Next, cwnd is increased by MTU."
                            self.partial_bytes_acked -= self.cwnd;
                            self.cwnd += self.mtu;
                        } else {
                            // "...(2) before the arrival of the SACK chunk the sender had
                            // less than cwnd bytes of data outstanding [...], reset
                            // partial_bytes_acked to cwnd."
                            self.partial_bytes_acked = self.cwnd;
                        }
                    }
                }
            }
        }
        // §7.2.2: "When all of the data transmitted by the sender has been acknowledged by
        // the receiver, partial_bytes_acked is initialized to 0."
        if ack.flight_after == 0 {
            self.partial_bytes_acked = 0;
        }
    }

    /// Chunks last sent on this path were marked for Fast Retransmit and the sender entered
    /// Fast Recovery (§7.2.4 2, applying §7.2.3): "ssthresh = max(cwnd/2, 4*MTU),
    /// cwnd = ssthresh", partial_bytes_acked = 0. Call only when the outstanding tracker
    /// says so (`reduce_cwnd`): inside Fast Recovery "the ssthresh and cwnd SHOULD NOT
    /// change for any destinations due to a subsequent Fast Recovery event".
    pub(crate) fn on_fast_retransmit(&mut self) {
        self.ssthresh = (self.cwnd / 2).max(4 * self.mtu);
        self.cwnd = self.ssthresh;
        self.partial_bytes_acked = 0;
    }

    /// The T3-rtx timer of this path expired (§7.2.3): "ssthresh = max(cwnd/2, 4*MTU),
    /// cwnd = 1*MTU", partial_bytes_acked = 0.
    pub(crate) fn on_t3_expired(&mut self) {
        self.ssthresh = (self.cwnd / 2).max(4 * self.mtu);
        self.cwnd = self.mtu;
        self.partial_bytes_acked = 0;
    }
}

/// The peer's receive window as the sender tracks it (RFC 9260 §6.2.1 A–D, §6.1 A).
///
/// rwnd is the latest a_rwnd minus the bytes still in flight: sending a chunk (rule B)
/// and marking one for retransmission (rule C) change the flight, and a SACK (rule D ii)
/// replaces a_rwnd, so keeping a_rwnd and asking with the current flight is all four rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PeerWindow {
    a_rwnd: u32,
}

impl PeerWindow {
    /// Rule A: "At the establishment of the association, the endpoint initializes the rwnd
    /// to the Advertised Receiver Window Credit (a_rwnd) the peer specified in the INIT or
    /// INIT ACK chunk."
    pub(crate) fn new(initial_a_rwnd: u32) -> Self {
        Self {
            a_rwnd: initial_a_rwnd,
        }
    }

    /// Rule D ii: a SACK was accepted (not a stale one, §6.2.1 D i) with this a_rwnd.
    pub(crate) fn on_sack(&mut self, a_rwnd: u32) {
        self.a_rwnd = a_rwnd;
    }

    /// The a_rwnd of the latest accepted SACK (or the INIT / INIT ACK).
    pub(crate) fn a_rwnd(&self) -> u32 {
        self.a_rwnd
    }

    /// The peer's rwnd with `bytes_in_flight` outstanding (over all paths).
    pub(crate) fn rwnd(&self, bytes_in_flight: usize) -> usize {
        (self.a_rwnd as usize).saturating_sub(bytes_in_flight)
    }

    /// RFC 9260 §6.1 A: whether a new chunk of `chunk_bytes` may be sent. "At any given
    /// time, the data sender MUST NOT transmit new data to any destination transport
    /// address if its peer's rwnd indicates that the peer has no buffer space (i.e., rwnd
    /// is smaller than the size of the next DATA chunk [...]). However, regardless of the
    /// value of rwnd (including if it is 0), the data sender can always have one DATA chunk
    /// in flight to the receiver if allowed by cwnd": the zero window probe.
    pub(crate) fn can_send(&self, bytes_in_flight: usize, chunk_bytes: usize) -> bool {
        chunk_bytes <= self.rwnd(bytes_in_flight) || bytes_in_flight == 0
    }

    /// Whether the peer's window is closed: only a zero window probe may go out.
    pub(crate) fn is_closed(&self, bytes_in_flight: usize) -> bool {
        self.rwnd(bytes_in_flight) == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ack(bytes_acked: usize, flight_before: usize, flight_after: usize) -> AckInfo {
        AckInfo {
            bytes_acked,
            flight_before,
            flight_after,
            in_fast_recovery: false,
        }
    }

    #[test]
    fn initial_window_follows_7_2_1() {
        // min(4*MTU, max(2*MTU, 4404))
        assert_eq!(initial_cwnd(1200), 4404);
        assert_eq!(initial_cwnd(1500), 4404);
        assert_eq!(initial_cwnd(1000), 4000);
        assert_eq!(initial_cwnd(9000), 18_000);
        assert_eq!(initial_cwnd(500), 2000);
        let cc = CongestionControl::new(1200, 65_535);
        assert_eq!(
            (cc.cwnd(), cc.ssthresh(), cc.phase()),
            (4404, 65_535, Phase::SlowStart)
        );
    }

    /// A cwnd-limited sender: each round trip fills cwnd with MTU-sized chunks, and every
    /// chunk is acked by its own SACK.
    fn slow_start_round(cc: &mut CongestionControl, chunk: usize) {
        let mut flight = 0;
        let mut sent = Vec::new();
        while cc.can_send(flight, chunk) {
            flight += chunk;
            sent.push(chunk);
        }
        for c in sent {
            let before = flight;
            flight -= c;
            cc.on_ack(&ack(c, before, flight));
        }
    }

    #[test]
    fn slow_start_trajectory_mtu_1500() {
        let mut cc = CongestionControl::new(1500, 1 << 20);
        // Full chunks on a 1500-byte IPv4 path: 1500 - 20 - 12 = 1468 bytes.
        let chunk = 1468;
        // Round 1: cwnd 4404 takes exactly 3 chunks (flight 4404, not < cwnd: stop).
        // Each SACK: flight_before + 1500 > cwnd, so fully utilised: += min(1468, 1500).
        // But the flight drains as SACKs arrive: 4404, 2936, 1468 before each SACK, against
        // cwnd 4404, 5872, 7340: utilised for the first only (4404+1500 > 4404;
        // 2936+1500 = 4436 < 5872).
        slow_start_round(&mut cc, chunk);
        assert_eq!(cc.cwnd(), 4404 + 1468);
        // A sender whose SACKs come while the window is still full (one SACK per chunk,
        // refilled each time) grows by min(acked, MTU) per SACK.
        let mut cc = CongestionControl::new(1500, 1 << 20);
        let mut expected = 4404;
        for _ in 0..10 {
            let before = cc.cwnd();
            cc.on_ack(&ack(chunk, before, before - chunk));
            expected += 1468;
            assert_eq!(cc.cwnd(), expected);
        }
        // A SACK acking two full chunks grows by one MTU only (L = 1).
        let before = cc.cwnd();
        cc.on_ack(&ack(2 * chunk, before, before - 2 * chunk));
        assert_eq!(cc.cwnd(), expected + 1500);
        // L = 2 doubles that bound.
        let mut cc2 = CongestionControl::new(1500, 1 << 20).with_slow_start_limit(2);
        cc2.on_ack(&ack(2 * chunk, 4404, 0));
        assert_eq!(cc2.cwnd(), 4404 + 2936);
        let mut cc3 = CongestionControl::new(1500, 1 << 20).with_slow_start_limit(7);
        cc3.on_ack(&ack(4 * chunk, 4404, 0));
        assert_eq!(cc3.cwnd(), 4404 + 3000, "L is at most 2");
    }

    #[test]
    fn slow_start_trajectory_mtu_1200() {
        let mut cc = CongestionControl::new(1200, 1 << 20);
        let chunk = 1168; // 1200 - 20 - 12
                          // Fully utilised SACKs: += min(acked, 1200).
        cc.on_ack(&ack(chunk, 4404, 4404 - chunk));
        assert_eq!(cc.cwnd(), 4404 + 1168);
        cc.on_ack(&ack(3 * chunk, 5572, 5572 - 3 * chunk));
        assert_eq!(cc.cwnd(), 5572 + 1200);
        // Not fully utilised (application-limited: 2 chunks in flight of 6772): no growth.
        cc.on_ack(&ack(chunk, 2 * chunk, chunk));
        assert_eq!(cc.cwnd(), 6772);
        // Exactly one MTU short of the window still counts as fully utilised; more does not.
        cc.on_ack(&ack(100, 6772 - 1199, 0));
        assert_eq!(cc.cwnd(), 6872);
        cc.on_ack(&ack(100, 6872 - 1200, 0));
        assert_eq!(cc.cwnd(), 6872);
        // In Fast Recovery: no growth.
        let mut fr = ack(chunk, 6872, 0);
        fr.in_fast_recovery = true;
        cc.on_ack(&fr);
        assert_eq!(cc.cwnd(), 6872);
        // A SACK acking nothing new: no growth.
        cc.on_ack(&ack(0, 6872, 6872));
        assert_eq!(cc.cwnd(), 6872);
    }

    #[test]
    fn slow_start_ends_at_ssthresh() {
        let mut cc = CongestionControl::new(1500, 5000);
        cc.on_ack(&ack(1468, 4404, 2936)); // 4404 <= 5000: slow start
        assert_eq!(cc.cwnd(), 5872);
        assert_eq!(cc.phase(), Phase::CongestionAvoidance);
        cc.on_ack(&ack(1468, 5872, 4404)); // now partial_bytes_acked
        assert_eq!((cc.cwnd(), cc.partial_bytes_acked()), (5872, 1468));
    }

    #[test]
    fn congestion_avoidance_grows_one_mtu_per_window() {
        for (mtu, chunk) in [(1200usize, 1168usize), (1500, 1468)] {
            let mut cc = CongestionControl::new(mtu, 1 << 20);
            cc.on_t3_expired(); // ssthresh = max(cwnd/2, 4*MTU) = 4*MTU, cwnd = MTU
            assert_eq!((cc.cwnd(), cc.ssthresh()), (mtu, 4 * mtu));
            // Force a congestion-avoidance start: cwnd = 4*MTU + 1.
            cc.cwnd = 4 * mtu + 1;
            let cwnd0 = cc.cwnd();
            // Window-full SACKs of one chunk each: pba accumulates until it reaches cwnd.
            let mut pba = 0;
            let mut acks = 0;
            while pba + chunk < cwnd0 {
                cc.on_ack(&ack(chunk, cwnd0, cwnd0 - chunk));
                pba += chunk;
                acks += 1;
                assert_eq!((cc.cwnd(), cc.partial_bytes_acked()), (cwnd0, pba));
            }
            cc.on_ack(&ack(chunk, cwnd0, cwnd0 - chunk));
            assert_eq!(cc.cwnd(), cwnd0 + mtu, "after {} acks", acks + 1);
            assert_eq!(cc.partial_bytes_acked(), pba + chunk - cwnd0);
        }
    }

    #[test]
    fn congestion_avoidance_without_a_full_window() {
        let mut cc = CongestionControl::new(1500, 4000);
        cc.cwnd = 8000;
        // pba reaches cwnd but the flight was below cwnd: pba = cwnd, no growth.
        cc.on_ack(&ack(9000, 7000, 100));
        assert_eq!((cc.cwnd(), cc.partial_bytes_acked()), (8000, 8000));
        // The next window-full SACK grows it at once.
        cc.on_ack(&ack(500, 8000, 7500));
        assert_eq!((cc.cwnd(), cc.partial_bytes_acked()), (9500, 500));
        // All data acknowledged: pba = 0.
        cc.on_ack(&ack(500, 1000, 0));
        assert_eq!(cc.partial_bytes_acked(), 0);
        // In Fast Recovery: neither pba nor cwnd grows.
        let mut fr = ack(5000, 9500, 4500);
        fr.in_fast_recovery = true;
        cc.on_ack(&fr);
        assert_eq!((cc.cwnd(), cc.partial_bytes_acked()), (9500, 0));
    }

    #[test]
    fn reactions_to_loss() {
        let mut cc = CongestionControl::new(1500, 1 << 20);
        cc.cwnd = 30_000;
        cc.partial_bytes_acked = 1234;
        cc.on_fast_retransmit();
        assert_eq!(
            (cc.ssthresh(), cc.cwnd(), cc.partial_bytes_acked()),
            (15_000, 15_000, 0)
        );
        cc.on_t3_expired();
        assert_eq!((cc.ssthresh(), cc.cwnd()), (7500, 1500));
        cc.on_t3_expired();
        assert_eq!((cc.ssthresh(), cc.cwnd()), (6000, 1500), "floor 4*MTU");
        // After the timeout: slow start again from one MTU.
        assert_eq!(cc.phase(), Phase::SlowStart);
        cc.on_ack(&ack(1468, 1468, 0));
        assert_eq!(cc.cwnd(), 2968);
        // MTU 1200 fast retransmit from a small window: max(cwnd/2, 4*MTU).
        let mut small = CongestionControl::new(1200, 1 << 20);
        small.on_fast_retransmit();
        assert_eq!((small.ssthresh(), small.cwnd()), (4800, 4800));
    }

    #[test]
    fn rule_b_allows_one_packet_past_cwnd() {
        let cc = CongestionControl::new(1500, 1 << 20); // cwnd 4404
        assert!(cc.can_send(0, 1468));
        assert!(
            cc.can_send(4403, 1468),
            "below cwnd: may exceed it by up to PMTU-1"
        );
        assert!(cc.can_send(4403, 1500));
        assert!(!cc.can_send(4403, 1501), "would exceed cwnd + PMTU - 1");
        assert!(!cc.can_send(4404, 1), "flight at cwnd: nothing new");
    }

    #[test]
    fn max_burst_limits_a_burst() {
        let mut cc = CongestionControl::new(1500, 1 << 20);
        cc.cwnd = 20_000;
        // Flight 2000: 2000 + 4*1500 = 8000 < 20000, the burst window is 8000.
        assert_eq!(cc.max_burst_limit(2000), 8000);
        // Flight 15000: 15000 + 6000 >= 20000, cwnd itself.
        assert_eq!(cc.max_burst_limit(15_000), 20_000);
        assert_eq!(cc.cwnd(), 20_000, "cwnd is not changed");
        // Sending full packets from an empty flight: exactly Max.Burst packets.
        let window = cc.max_burst_limit(0);
        let mut flight = 0;
        let mut packets = 0;
        while cc.can_send_within(window, flight, 1500) {
            flight += 1500;
            packets += 1;
        }
        assert_eq!(packets, MAX_BURST);
        let cc2 = CongestionControl::new(1500, 1 << 20).with_max_burst(2);
        assert_eq!(cc2.max_burst_limit(0), 3000);
        // The temporary window never exceeds cwnd.
        assert!(!cc2.can_send_within(1 << 30, 4404, 1));
    }

    #[test]
    fn idle_decay_halves_per_rto_down_to_4_mtu() {
        let t0 = Instant::now();
        let rto = Duration::from_millis(200);
        let mut cc = CongestionControl::new(1200, 1 << 20);
        cc.on_idle(t0 + Duration::from_secs(10), rto);
        assert_eq!(cc.cwnd(), 4404, "never sent: unchanged");
        cc.cwnd = 40_000;
        cc.on_transmit(t0);
        cc.on_idle(t0 + Duration::from_millis(199), rto);
        assert_eq!(cc.cwnd(), 40_000, "less than one RTO");
        cc.on_idle(t0 + Duration::from_millis(450), rto); // 2 RTOs
        assert_eq!(cc.cwnd(), 10_000);
        // The same idle period is not counted twice; the third RTO ends at 600 ms.
        cc.on_idle(t0 + Duration::from_millis(500), rto);
        assert_eq!(cc.cwnd(), 10_000);
        cc.on_idle(t0 + Duration::from_millis(600), rto);
        assert_eq!(cc.cwnd(), 5000);
        cc.on_idle(t0 + Duration::from_secs(3600), rto);
        assert_eq!(cc.cwnd(), 4800, "floor max(cwnd/2, 4*MTU)");
        // Below the floor (after a timeout) idleness does not raise it.
        cc.on_t3_expired();
        cc.on_transmit(t0 + Duration::from_secs(3600));
        cc.on_idle(t0 + Duration::from_secs(3700), rto);
        assert_eq!(cc.cwnd(), 1200);
        // Activity restarts the count.
        let mut cc = CongestionControl::new(1500, 1 << 20);
        cc.cwnd = 24_000;
        cc.on_transmit(t0);
        cc.on_transmit(t0 + Duration::from_millis(300));
        cc.on_idle(t0 + Duration::from_millis(450), rto);
        assert_eq!(cc.cwnd(), 24_000);
        cc.on_idle(t0 + Duration::from_millis(500), rto);
        assert_eq!(cc.cwnd(), 12_000);
        cc.on_idle(t0 + Duration::from_millis(500), Duration::ZERO);
        assert_eq!(cc.cwnd(), 12_000);
    }

    /// The story of one loss episode, with the outstanding tracker deciding and the
    /// congestion controller reacting the way the association wires them.
    #[test]
    fn fast_recovery_entry_and_exit() {
        use crate::data::Fragment;
        use crate::ids::{PathId, Ppid, StreamId};
        use crate::tx::loss::LossDetection;
        use crate::tx::outstanding::Outstanding;
        use braid_wire::{Bytes, GapAckBlock, Sack, Tsn};

        const P: PathId = PathId(0);
        let t0 = Instant::now();
        let mut cc = CongestionControl::new(1500, 1 << 20);
        cc.cwnd = 10 * 1468;
        let mut o = Outstanding::new(Tsn(1), false, LossDetection::Classic);
        let payload = Bytes::from(vec![0u8; 1452]);
        for tsn in 1..=10 {
            let frag = Fragment {
                stream: StreamId(0),
                seq: tsn,
                fsn: 0,
                ppid: Ppid(0),
                unordered: false,
                beginning: true,
                ending: true,
                payload: payload.clone(),
            };
            assert!(cc.can_send(o.bytes_in_flight_on(P), 1468));
            o.add(Tsn(tsn), frag, P, t0).unwrap();
            cc.on_transmit(t0);
        }
        let sack = |cum: u32, gaps: &[(u16, u16)]| Sack {
            cumulative_tsn_ack: Tsn(cum),
            a_rwnd: 1 << 20,
            gap_blocks: gaps
                .iter()
                .map(|&(start, end)| GapAckBlock { start, end })
                .collect(),
            duplicate_tsns: Vec::new(),
        };
        let feed = |o: &mut Outstanding, cc: &mut CongestionControl, s: &Sack| {
            let out = o.handle_sack(s, t0).unwrap();
            let p = *out.path(P).unwrap();
            if p.reduce_cwnd {
                cc.on_fast_retransmit();
            }
            cc.on_ack(&p.ack_info(out.in_fast_recovery));
            (out.fast_retransmits.clone(), out.entered_fast_recovery)
        };
        // TSNs 1 and 3 are lost.
        // -> SACK 2          1: one miss
        // -> SACK 2, 4       1: two, 3: one
        // -> SACK 2, 4-5     1: three -> Fast Retransmit, enter Fast Recovery (exit 10)
        // -> SACK 2, 4-6     3: three -> Fast Retransmit, already recovering: no reduction
        assert_eq!(feed(&mut o, &mut cc, &sack(0, &[(2, 2)])), (vec![], false));
        assert_eq!(
            cc.cwnd(),
            14_680 + 1468,
            "slow start while the window is full"
        );
        let grown = cc.cwnd();
        feed(&mut o, &mut cc, &sack(0, &[(2, 2), (4, 4)]));
        assert_eq!(
            cc.cwnd(),
            grown,
            "not refilled: the window is no longer full"
        );
        let before_loss = cc.cwnd();
        assert_eq!(
            feed(&mut o, &mut cc, &sack(0, &[(2, 2), (4, 5)])),
            (vec![Tsn(1)], true)
        );
        let reduced = (before_loss / 2).max(6000);
        assert_eq!((cc.ssthresh(), cc.cwnd()), (reduced, reduced));
        assert_eq!(o.fast_recovery_exit(), Some(Tsn(10)));
        assert_eq!(
            feed(&mut o, &mut cc, &sack(0, &[(2, 2), (4, 6)])),
            (vec![Tsn(3)], false)
        );
        assert_eq!(
            cc.cwnd(),
            reduced,
            "one reduction per recovery, no growth in it"
        );
        // Both retransmitted; 1 arrives: the cum ack moves to 2, still recovering.
        assert_eq!(o.next_retransmit(t0, P, |_| true).unwrap().tsn, Tsn(1));
        assert_eq!(o.next_retransmit(t0, P, |_| true).unwrap().tsn, Tsn(3));
        feed(&mut o, &mut cc, &sack(2, &[(2, 8)]));
        assert!(o.in_fast_recovery());
        assert_eq!(cc.cwnd(), reduced);
        // 3 arrives: cum ack 10 reaches the exit point, recovery ends. cwnd > ssthresh is
        // not the case (equal): slow start may grow again, but this SACK finds the window
        // far from full (two chunks in flight), so it does not.
        feed(&mut o, &mut cc, &sack(10, &[]));
        assert!(!o.in_fast_recovery());
        assert!(o.is_empty());
        assert_eq!(cc.cwnd(), reduced);
        assert_eq!(cc.partial_bytes_acked(), 0);
    }

    #[test]
    fn peer_window_and_zero_window_probe() {
        let mut w = PeerWindow::new(10_000);
        assert_eq!(w.rwnd(0), 10_000);
        assert_eq!(w.rwnd(4000), 6000, "rule B: sent data reduces it");
        assert!(w.can_send(4000, 6000));
        assert!(!w.can_send(4000, 6001));
        w.on_sack(3000);
        assert_eq!(w.rwnd(4000), 0);
        assert!(w.is_closed(4000));
        assert!(!w.can_send(4000, 100), "window closed and data in flight");
        // Rule A: with nothing in flight one chunk may probe a zero window.
        w.on_sack(0);
        assert!(w.can_send(0, 1468));
        assert!(!w.can_send(1468, 1468), "only one probe in flight");
        // Rule C: a chunk marked for retransmission leaves the flight, rwnd grows back.
        w.on_sack(5000);
        assert_eq!(w.rwnd(3000), 2000);
        assert_eq!(w.rwnd(3000 - 1468), 3468);
        assert_eq!(w.a_rwnd(), 5000);
    }
}
