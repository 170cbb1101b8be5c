//! The association's send path: messages in, DATA / I-DATA out, SACKs processed, T3-rtx,
//! fast retransmit, congestion and flow control (RFC 9260 §6.1–§6.3, §7.2; RFC 8260 §2).
//!
//! Memory: queued messages are bounded by `send_buffer_size` (the queue refuses more with
//! `SendError::BufferFull`); data in flight is bounded by the peer's window and cwnd.

use std::time::Instant;

use braid_wire::{Bytes, DataRef, Fsn, IDataRef, Mid, PacketBuilder, Sack, Ssn, Tsn};

use super::{Association, State};
use crate::data::{Fragment, SendOptions};
use crate::event::{CloseReason, Event};
use crate::ids::{PathId, StreamId};
use crate::tx::congestion::{CongestionControl, PeerWindow};
use crate::tx::loss::LossDetection;
use crate::tx::outstanding::{Outstanding, SackError};
use crate::tx::send_queue::{SendError, SendQueue, SendQueueConfig};

/// Bytes of a DATA chunk before its payload (chunk header + TSN, stream, SSN, PPID).
const DATA_HEADER: usize = 16;
/// Bytes of an I-DATA chunk before its payload.
const IDATA_HEADER: usize = 20;

/// Send-side state, created when the association comes up.
#[derive(Debug)]
pub(super) struct Sender {
    pub(super) queue: SendQueue,
    pub(super) outstanding: Outstanding,
    pub(super) peer_window: PeerWindow,
    /// I-DATA in use.
    interleaving: bool,
    /// When the peer's window was seen closed (a_rwnd 0), for zero-window probing.
    window_closed_at: Option<Instant>,
    /// The first zero-window probe may go (its timer, one RTO after the close, fired).
    probe_due: bool,
    /// Chunks were just marked for fast retransmit: the next packet ignores cwnd.
    pub(super) fast_rtx_pending: bool,
    /// Whether a SACK arrived since the last T3 expiry (lost zero-window probes do not count
    /// as failures while the peer keeps answering, RFC 9260 §6.1 A).
    sack_since_t3: bool,
}

/// Per-path send state: congestion control and the T3-rtx timer (RFC 9260 §6.3.2).
#[derive(Debug, Clone)]
pub(crate) struct PathSend {
    pub(crate) cc: CongestionControl,
    pub(crate) t3: Option<Instant>,
}

/// Counters and gauges of one path, for operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathStats {
    /// Smoothed RTT, once measured.
    pub srtt: Option<core::time::Duration>,
    /// RTT variation.
    pub rttvar: core::time::Duration,
    /// Current retransmission timeout.
    pub rto: core::time::Duration,
    /// Congestion window in bytes.
    pub cwnd: usize,
    /// Slow-start threshold in bytes.
    pub ssthresh: usize,
    /// Bytes of DATA in flight on the path.
    pub bytes_in_flight: usize,
    /// Consecutive timeouts (RFC 9260 §8.2).
    pub error_count: u32,
    /// ACTIVE or INACTIVE.
    pub active: bool,
}

impl Association {
    /// Creates the send state from the negotiated parameters (and resets each path's
    /// congestion state, RFC 9260 §7.2.1: initial cwnd, ssthresh at the peer's window).
    pub(super) fn start_sender(&mut self) {
        let Some(n) = self.negotiated else { return };
        let queue = SendQueue::new(SendQueueConfig {
            buffer_limit: self.config.send_buffer_size,
            streams: n.outbound_streams,
            interleaving: n.interleaving,
            scheduler: self.config.scheduler,
        });
        let outstanding = Outstanding::new(
            Tsn(n.local_initial_tsn),
            n.interleaving,
            LossDetection::Classic,
        );
        for p in &mut self.paths {
            p.send = Some(PathSend {
                cc: CongestionControl::new(self.config.max_packet_size, n.peer_a_rwnd as usize)
                    .with_max_burst(self.config.max_burst),
                t3: None,
            });
        }
        // A path added later gets the same (`new_path_send`). A restart forgets the T3
        // alternate with the chunks it was for.
        self.rtx_path = None;
        self.sender = Some(Sender {
            queue,
            outstanding,
            peer_window: PeerWindow::new(n.peer_a_rwnd),
            interleaving: n.interleaving,
            window_closed_at: None,
            probe_due: false,
            fast_rtx_pending: false,
            sack_since_t3: false,
        });
    }

    /// Fresh send state for a path added to a live association, as `start_sender` gives
    /// the others: the initial cwnd of RFC 9260 §7.2.1, ssthresh at the peer's initial
    /// window; `None` before the association is up.
    pub(super) fn new_path_send(&self) -> Option<PathSend> {
        let n = self.negotiated?;
        self.sender.as_ref()?;
        Some(PathSend {
            cc: CongestionControl::new(self.config.max_packet_size, n.peer_a_rwnd as usize)
                .with_max_burst(self.config.max_burst),
            t3: None,
        })
    }

    /// Queues a message on `stream` (RFC 9260 §6.5). It is fragmented to the path MTU when
    /// sent and delivered whole to the peer's application.
    pub fn send(
        &mut self,
        now: Instant,
        stream: StreamId,
        payload: Bytes,
        opts: &SendOptions,
    ) -> Result<(), SendError> {
        // §6: no new data once a shutdown started or before the association is up.
        if self.state != State::Established {
            return Err(SendError::NotEstablished);
        }
        if payload.len() > self.config.max_message_size {
            return Err(SendError::TooLarge {
                size: payload.len(),
                max: self.config.max_message_size,
            });
        }
        let Some(tx) = self.sender.as_mut() else {
            return Err(SendError::NotEstablished);
        };
        tx.queue.push(stream, payload, opts, now)?;
        self.stats.messages_sent += 1;
        Ok(())
    }

    /// Bytes of `stream` queued and not yet sent (the WebRTC `bufferedAmount`).
    pub fn buffered_amount(&self, stream: StreamId) -> usize {
        self.sender
            .as_ref()
            .map_or(0, |s| s.queue.buffered_amount(stream))
    }

    /// Bytes queued on all streams and not yet sent: the sum of every stream's
    /// [`buffered_amount`](Self::buffered_amount).
    pub fn total_buffered(&self) -> usize {
        self.sender.as_ref().map_or(0, |s| s.queue.total_buffered())
    }

    /// `Event::BufferedAmountLow(stream)` fires each time the stream's buffered amount falls
    /// to or below `bytes` from above (the WebRTC `bufferedamountlow` event). The threshold
    /// starts at 0, so by default the event fires each time the stream's last queued byte is
    /// sent.
    pub fn set_buffered_amount_low_threshold(&mut self, stream: StreamId, bytes: usize) {
        if let Some(s) = self.sender.as_mut() {
            s.queue.set_buffered_low_threshold(stream, bytes);
        }
    }

    /// [`Event::TotalBufferedAmountLow`] fires each time the [total buffered
    /// amount](Self::total_buffered) falls to or below `bytes` from above: the stream
    /// threshold's rule (the W3C `bufferedAmountLowThreshold`: "When the bufferedAmount
    /// decreases from above this threshold to equal or below it, the bufferedamountlow event
    /// fires"), applied to the sum over all streams.
    ///
    /// Unlike a stream's threshold (which WebRTC starts at zero, so that its event fires
    /// each time the stream's last queued byte is sent), the total has no threshold and no
    /// event until one is set here: the total is not a WebRTC notion, and an event per
    /// emptied queue nobody asked for would cost every request–response exchange. Setting
    /// it raises no event by itself, even with the total already at or below it. Like a
    /// stream's threshold, it belongs to the send state: set it once the association is
    /// ESTABLISHED (before that it has no effect), and again after [`Event::Restarted`],
    /// which starts the send state over.
    pub fn set_total_buffered_amount_low_threshold(&mut self, bytes: usize) {
        if let Some(s) = self.sender.as_mut() {
            s.queue.set_total_buffered_low_threshold(bytes);
        }
    }

    /// Bytes of DATA sent and not yet acknowledged.
    pub fn bytes_in_flight(&self) -> usize {
        self.sender
            .as_ref()
            .map_or(0, |s| s.outstanding.bytes_in_flight())
    }

    /// The peer's receive window as last advertised, less what is in flight.
    pub fn peer_rwnd(&self) -> usize {
        self.sender
            .as_ref()
            .map_or(0, |s| s.peer_window.rwnd(s.outstanding.bytes_in_flight()))
    }

    /// A path's RTT, RTO, congestion and error state.
    pub fn path_stats(&self, path: PathId) -> Option<PathStats> {
        let p = self.path(path)?;
        let in_flight = self
            .sender
            .as_ref()
            .map_or(0, |s| s.outstanding.bytes_in_flight_on(path));
        Some(PathStats {
            srtt: p.rto.srtt(),
            rttvar: p.rto.rttvar(),
            rto: p.rto.rto(),
            cwnd: p.send.as_ref().map_or(0, |s| s.cc.cwnd()),
            ssthresh: p.send.as_ref().map_or(0, |s| s.cc.ssthresh()),
            bytes_in_flight: in_flight,
            error_count: p.error_count,
            active: p.active,
        })
    }

    /// Whether this state sends DATA: ESTABLISHED, and during shutdown until all queued data
    /// is acknowledged (RFC 9260 §9.2).
    fn sends_data(&self) -> bool {
        matches!(
            self.state,
            State::Established | State::ShutdownPending | State::ShutdownReceived
        )
    }

    /// Whether anything is waiting to go on `path`: a retransmission or new data.
    pub(super) fn has_data_to_send(&self) -> bool {
        self.sends_data()
            && self
                .sender
                .as_ref()
                .is_some_and(|s| s.outstanding.has_retransmits() || s.queue.has_data())
    }

    /// Adds DATA chunks to a packet being built for `path`: retransmissions first (RFC 9260
    /// §6.3.3 E3, §7.2.4), then new data, within cwnd (§6.1 B, with Max.Burst §6.1 D) and the
    /// peer's window (§6.1 A, with one zero-window probe allowed). With `retransmit_only`
    /// (an alternate path after a T3-rtx expiry, §6.4.1), no new data. Returns whether any
    /// DATA went into the packet.
    pub(super) fn fill_data(
        &mut self,
        now: Instant,
        path: PathId,
        retransmit_only: bool,
        builder: &mut PacketBuilder<'_>,
    ) -> bool {
        if !self.sends_data() {
            return false;
        }
        let rto = self
            .path(path)
            .map_or(self.config.rto_initial, |p| p.rto.rto());
        let Some(idx) = self.paths.iter().position(|p| p.id == path) else {
            return false;
        };
        let (Some(tx), Some(Some(ps))) = (
            self.sender.as_mut(),
            self.paths.get_mut(idx).map(|p| p.send.as_mut()),
        ) else {
            return false;
        };
        let header = if tx.interleaving {
            IDATA_HEADER
        } else {
            DATA_HEADER
        };
        let flight_on_path = tx.outstanding.bytes_in_flight_on(path);
        if flight_on_path == 0 {
            // §7.2.1: cwnd decays over idle RTOs.
            ps.cc.on_idle(now, rto);
        }
        let burst = ps.cc.max_burst_limit(flight_on_path);
        let mut sent_any = false;

        // Retransmissions, lowest TSN first. §7.2.4 step 3: the packet of a fast retransmit
        // ignores cwnd ("SHOULD ignore the value of cwnd and SHOULD NOT delay").
        let fast = core::mem::take(&mut tx.fast_rtx_pending);
        loop {
            let room = builder.remaining();
            let flight = tx.outstanding.bytes_in_flight_on(path);
            let total_flight = tx.outstanding.bytes_in_flight();
            let cc = &ps.cc;
            let pw = &tx.peer_window;
            let Some(rt) = tx.outstanding.next_retransmit(now, path, |size| {
                size <= room
                    && (fast || cc.can_send_within(burst, flight, size))
                    && pw.can_send(total_flight, size)
            }) else {
                break;
            };
            if push_fragment(builder, rt.tsn, rt.fragment, tx.interleaving).is_err() {
                break;
            }
            self.stats.retransmissions += 1;
            sent_any = true;
        }

        if retransmit_only {
            return self.after_fill(now, path, sent_any, rto);
        }

        // New data. Without `nodelay`, coalesce: while data is in flight, send new data only
        // when what is queued fills the rest of the packet.
        let flight_before = tx.outstanding.bytes_in_flight();
        let hold_small = !self.config.nodelay && flight_before > 0;
        // Payload room of a packet that carries nothing but one data chunk.
        let full_space = self
            .config
            .max_packet_size
            .saturating_sub(braid_wire::CommonHeader::LEN + header);
        // Sender-side silly-window avoidance (RFC 9260 §6.1 refers to RFC 1122 §4.2.3.4):
        // while data is in flight, do not start new data the peer's window would cut short of
        // a full packet (or of all that is queued); a SACK will open the window further.
        let rwnd = tx.peer_window.rwnd(flight_before);
        if flight_before > 0 && rwnd < full_space.min(tx.queue.total_buffered()) {
            return self.after_fill(now, path, sent_any, rto);
        }
        tx.queue.begin_packet();
        loop {
            let room = builder.remaining();
            let Some(space) = room.checked_sub(header) else {
                break;
            };
            if space == 0 {
                break;
            }
            let Some(len) = tx.queue.peek_next_len(space) else {
                break;
            };
            // Decided on the flight before this packet: a packet that starts is filled.
            if hold_small && tx.queue.total_buffered() < space {
                break;
            }
            // A message that would fit whole in a fresh packet is not split to fill the end of
            // this one: splitting costs the receiver a reassembly for no gain in packet count.
            if !builder.is_empty() && len < tx.queue.peek_next_len(usize::MAX).unwrap_or(len) {
                let whole = tx.queue.peek_next_len(usize::MAX).unwrap_or(len);
                if whole <= full_space {
                    break;
                }
            }
            let size = braid_wire::padded_len(header + len);
            let flight = tx.outstanding.bytes_in_flight_on(path);
            let total_flight = tx.outstanding.bytes_in_flight();
            if !ps.cc.can_send_within(burst, flight, size)
                || !tx.peer_window.can_send(total_flight, size)
            {
                break;
            }
            // §6.1 A: with the window closed, the one chunk allowed in flight is a zero-window
            // probe, sent first one RTO after the window closed (then T3 backs it off).
            if tx.peer_window.a_rwnd() == 0 && total_flight == 0 {
                if !tx.probe_due {
                    break;
                }
                tx.probe_due = false;
            }
            let Some(frag) = tx.queue.next_fragment(space) else {
                break;
            };
            let tsn = tx.outstanding.next_tsn();
            let bytes = frag.payload.len();
            let pushed = push_fragment(builder, tsn, &frag, tx.interleaving).is_ok();
            if !pushed || tx.outstanding.add(tsn, frag, path, now).is_err() {
                // Cannot happen: the TSN is the next one and the size was checked.
                break;
            }
            self.stats.data_chunks_sent += 1;
            self.stats.data_bytes_sent += bytes as u64;
            sent_any = true;
        }

        self.after_fill(now, path, sent_any, rto)
    }

    /// After data went into a packet: the path is active, and T3-rtx runs (§6.3.2 R1).
    /// Returns `sent_any`.
    fn after_fill(
        &mut self,
        now: Instant,
        path: PathId,
        sent_any: bool,
        rto: core::time::Duration,
    ) -> bool {
        if !sent_any {
            return false;
        }
        if let Some(ps) = self.path_mut(path).and_then(|p| p.send.as_mut()) {
            ps.cc.on_transmit(now);
            // §6.3.2 R1: start T3-rtx if it is not running.
            if ps.t3.is_none() {
                ps.t3 = Some(now + rto);
            }
        }
        true
    }

    /// A SACK (RFC 9260 §6.2.1), or the Cumulative TSN Ack of a SHUTDOWN treated as one.
    pub(super) fn handle_sack(&mut self, now: Instant, sack: &Sack) {
        self.process_ack(now, sack, true);
    }

    /// A SACK, or (`revoke` false) a SHUTDOWN's Cumulative TSN Ack as a SACK without gap
    /// blocks that revokes nothing (RFC 9260 §3.3.8).
    pub(super) fn process_ack(&mut self, now: Instant, sack: &Sack, revoke: bool) {
        let Some(tx) = self.sender.as_mut() else {
            return;
        };
        self.stats.sacks_received += 1;
        let result = if revoke {
            tx.outstanding.handle_sack(sack, now)
        } else {
            tx.outstanding
                .handle_shutdown_ack(sack.cumulative_tsn_ack, now)
        };
        let outcome = match result {
            Ok(o) => o,
            // §6.2.1 D i: a SACK older than the cumulative ack is ignored.
            Err(SackError::Stale) => return,
            Err(SackError::AcksUnsentTsn { .. }) => {
                // The peer acknowledges what was never sent: a protocol violation.
                let reason =
                    braid_wire::cause::Reason::new("SACK acknowledges a TSN never sent".as_bytes());
                self.abort_with(
                    CloseReason::ProtocolViolation("SACK acknowledges a TSN never sent"),
                    vec![braid_wire::ErrorCause::ProtocolViolation(reason)],
                );
                return;
            }
        };
        // §6.2.1 D ii-iii: the peer's window is the a_rwnd less what is still in flight.
        tx.peer_window.on_sack(sack.a_rwnd);
        tx.sack_since_t3 = true;
        if sack.a_rwnd == 0 {
            tx.window_closed_at.get_or_insert(now);
        } else {
            tx.window_closed_at = None;
            tx.probe_due = false;
        }
        let rtt = outcome.rtt_sample;
        let any_acked = outcome.paths.iter().any(|p| p.newly_acked > 0);
        self.stats.fast_retransmits += outcome.fast_retransmits.len() as u64;
        let fast_rtx = !outcome.fast_retransmits.is_empty();
        let in_recovery = outcome.in_fast_recovery;
        for pa in &outcome.paths {
            let Some(path) = self.paths.iter_mut().find(|p| p.id == pa.path) else {
                continue;
            };
            if pa.newly_acked > 0 {
                // §8.3 / §6.3.3: acknowledged data clears the path's error counter.
                path.error_count = 0;
            }
            let rto = path.rto.rto();
            let Some(ps) = path.send.as_mut() else {
                continue;
            };
            if pa.reduce_cwnd {
                ps.cc.on_fast_retransmit();
            }
            ps.cc.on_ack(&pa.ack_info(in_recovery));
            if pa.in_flight == 0 {
                // §6.3.2 R2: all outstanding data on the path acknowledged: stop T3.
                ps.t3 = None;
            } else if pa.earliest_acked {
                // §6.3.2 R3: the earliest outstanding TSN was acknowledged: restart T3.
                ps.t3 = Some(now + rto);
            }
        }
        if let Some(s) = rtt {
            // §6.3.1 C5 (Karn): only chunks sent once give samples; the tracker says which.
            if let Some(p) = self.path_mut(s.path) {
                p.rto.observe(now.saturating_duration_since(s.sent));
            }
        }
        if any_acked {
            self.error_count = 0;
        }
        if fast_rtx {
            if let Some(tx) = self.sender.as_mut() {
                tx.fast_rtx_pending = true;
            }
            // Fast retransmissions go to the data path, as new data does (RFC 9260 §7.2.4
            // names no other destination); a T3 alternate no longer applies.
            self.rtx_path = None;
        }
        self.after_acknowledgement(now);
    }

    /// Shutdown progress once data is acknowledged (RFC 9260 §9.2).
    pub(super) fn after_acknowledgement(&mut self, now: Instant) {
        let idle = self
            .sender
            .as_ref()
            .is_none_or(|s| s.outstanding.is_empty());
        let queue_empty = self.sender.as_ref().is_none_or(|s| !s.queue.has_data());
        match self.state {
            State::ShutdownPending if idle && queue_empty => self.send_shutdown(now),
            State::ShutdownReceived if idle && queue_empty => {
                let path = self.data_path();
                self.send_shutdown_ack(now, path);
            }
            _ => {}
        }
    }

    /// Whether all data sent has been acknowledged and none is queued.
    pub(super) fn data_idle(&self) -> bool {
        self.sender
            .as_ref()
            .is_none_or(|s| s.outstanding.is_empty() && !s.queue.has_data())
    }

    /// The earliest T3-rtx deadline over the paths, and the zero-window probe timer's.
    pub(super) fn t3_deadline(&self) -> Option<Instant> {
        let t3 = self
            .paths
            .iter()
            .filter_map(|p| p.send.as_ref().and_then(|s| s.t3))
            .min();
        match (t3, self.probe_deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// §6.1 A: the first zero-window probe goes one RTO after the window closed, when
    /// nothing is in flight and data waits.
    fn probe_deadline(&self) -> Option<Instant> {
        let s = self.sender.as_ref()?;
        if s.probe_due
            || s.peer_window.a_rwnd() != 0
            || !s.outstanding.is_empty()
            || !s.queue.has_data()
        {
            return None;
        }
        let rto = self
            .path(self.primary)
            .map_or(self.config.rto_initial, |p| p.rto.rto());
        s.window_closed_at.map(|t| t + rto)
    }

    /// The zero-window probe timer fired: the next packet may carry the probe.
    pub(super) fn on_probe_timer(&mut self, now: Instant) {
        if self.probe_deadline().is_some_and(|t| t <= now) {
            if let Some(s) = self.sender.as_mut() {
                s.probe_due = true;
            }
        }
    }

    /// T3-rtx expiries (RFC 9260 §6.3.3 E1–E3) on every path whose timer is due.
    pub(super) fn on_t3_timers(&mut self, now: Instant) {
        for i in 0..self.paths.len() {
            let due = self
                .paths
                .get(i)
                .and_then(|p| p.send.as_ref())
                .and_then(|s| s.t3)
                .is_some_and(|t| t <= now);
            if !due || self.state == State::Closed {
                continue;
            }
            // §6.1 A: while the peer keeps answering (with a closed window), unacknowledged
            // zero-window probes do not count against the path or the association.
            let probing = self.sender.as_mut().is_some_and(|s| {
                let answered = s.sack_since_t3;
                s.sack_since_t3 = false;
                answered && s.peer_window.a_rwnd() == 0
            });
            let Some(path) = self.paths.get_mut(i) else {
                continue;
            };
            let id = path.id;
            // E2: back the RTO off (doubling, capped at RTO.Max).
            path.rto.back_off();
            let rto = path.rto.rto();
            if !probing {
                path.error_count += 1;
            }
            let was_active = path.active;
            if path.error_count > self.config.path_max_retrans {
                path.active = false;
            }
            if let Some(ps) = path.send.as_mut() {
                // §7.2.3: ssthresh = max(cwnd/2, 4·MTU), cwnd = 1·MTU.
                ps.cc.on_t3_expired();
                ps.t3 = None;
            }
            if was_active && !path.active {
                self.events.push_back(Event::PathStatus {
                    path: id,
                    active: false,
                });
            }
            // E3: every chunk in flight on the path is to be retransmitted; the next packet
            // carries as many of the earliest as fit, and T3 restarts then.
            let marked = self
                .sender
                .as_mut()
                .map_or(0, |s| s.outstanding.on_t3_expired(id));
            // E3 / §6.4: the retransmission goes to "the destination transport address to
            // which the retransmission is being sent (this might be different from the
            // address for which the timer expires)": an ACTIVE alternate when there is one
            // (§6.4.1). The marked chunks left this path's flight above; `next_retransmit`
            // charges each to the path it is resent on, against that path's own cwnd
            // (congestion state is per destination, §7.2; a path that was idle starts from
            // its decayed or initial window, §7.2.1).
            let alternate = if marked > 0 {
                self.alternate_path(id)
            } else {
                None
            };
            if alternate.is_some() {
                self.rtx_path = alternate;
            }
            self.stats.timer_retransmit_events += 1;
            // §8.1: the association counter counts every T3 expiry (but a zero-window probe's).
            if !probing {
                self.error_count += 1;
            }
            if self.error_count > self.config.association_max_retrans {
                self.abort_with(CloseReason::Unreachable, Vec::new());
                return;
            }
            let still = self
                .sender
                .as_ref()
                .is_some_and(|s| !s.outstanding.is_empty());
            if let Some(ps) = self.paths.get_mut(i).and_then(|p| p.send.as_mut()) {
                // With an alternate, T3 runs there once the retransmission is sent, with that
                // path's RTO (§6.3.3 E3 and R1: the timer of the destination the
                // retransmission goes to); this path has nothing left in flight to time.
                if alternate.is_none() && (still || marked > 0) {
                    ps.t3 = Some(now + rto);
                }
            }
        }
    }

    /// Drains one buffered-amount-low notification.
    pub(super) fn poll_buffered_low(&mut self) -> Option<StreamId> {
        self.sender.as_mut().and_then(|s| s.queue.poll_low_event())
    }

    /// Drains the total-buffered-amount-low notification.
    pub(super) fn poll_total_buffered_low(&mut self) -> bool {
        self.sender
            .as_mut()
            .is_some_and(|s| s.queue.poll_total_low_event())
    }
}

/// Writes the DATA or I-DATA chunk carrying a fragment under a TSN, borrowing its payload
/// (no reference count touched: the fragment stays with the outstanding chunks).
fn push_fragment(
    builder: &mut PacketBuilder<'_>,
    tsn: Tsn,
    f: &Fragment,
    interleaving: bool,
) -> braid_wire::Result<()> {
    if interleaving {
        builder.push(&IDataRef {
            tsn,
            stream_id: f.stream.0,
            mid: Mid(f.seq),
            fsn: Fsn(f.fsn),
            ppid: f.ppid.0,
            unordered: f.unordered,
            beginning: f.beginning,
            ending: f.ending,
            immediate_sack: false,
            payload: &f.payload,
        })
    } else {
        builder.push(&DataRef {
            tsn,
            stream_id: f.stream.0,
            ssn: Ssn(f.seq as u16),
            ppid: f.ppid.0,
            unordered: f.unordered,
            beginning: f.beginning,
            ending: f.ending,
            immediate_sack: false,
            payload: &f.payload,
        })
    }
}
