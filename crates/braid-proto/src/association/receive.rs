//! The association's receive path: DATA and I-DATA in, SACKs out, messages pulled by the
//! application (RFC 9260 §6.1, §6.2, §6.5, §6.9; RFC 8260 §2).
//!
//! Memory: the reassembly buffer holds at most the receive window (or the largest message,
//! whichever is larger) plus a few packets of headroom for the chunk that fills the
//! cumulative TSN; the tracker's gap list and duplicate list are bounded by configuration.
//! A slow reader shrinks the advertised window instead of growing memory.

use std::time::Instant;

use braid_wire::cause::NoUserData;
use braid_wire::{Chunk, ErrorCause, Tsn};

use super::{Association, Flow, State};
use crate::data::{Fragment, Message};
use crate::event::CloseReason;
use crate::ids::PathId;
use crate::rx::reassembly::{ReassemblyError, ReassemblyQueue};
use crate::rx::tracker::{DataTracker, Observed, TrackerConfig};

/// Receive-side state, created when the association comes up.
#[derive(Debug)]
pub(super) struct Receiver {
    pub(super) tracker: DataTracker,
    pub(super) reassembly: ReassemblyQueue,
    /// The window we last advertised, to decide when a window update is worth a SACK.
    pub(super) last_advertised: u32,
    /// The window in bytes: max(receive_window, max_message_size), since a message is
    /// reassembled whole before delivery.
    pub(super) window: usize,
}

/// What taking a pending SACK changed, to undo it.
#[derive(Debug)]
pub(super) struct PendingSack {
    schedule: (Option<Instant>, u32),
    last_advertised: u32,
}

/// Extra bytes the reassembly buffer holds beyond the window, so the chunk that fills the
/// cumulative TSN is always accepted (otherwise a buffer full of out-of-order data could
/// wait forever for the one chunk that would let it drain).
fn headroom(max_packet_size: usize) -> usize {
    4 * max_packet_size
}

impl Association {
    /// Creates the receive state from the negotiated parameters.
    pub(super) fn start_receiver(&mut self) {
        let Some(n) = self.negotiated else { return };
        let window = (self.config.receive_window as usize).max(self.config.max_message_size);
        let tracker = DataTracker::new(
            Tsn(n.peer_initial_tsn),
            TrackerConfig {
                delayed_ack: self.config.delayed_ack,
                ..TrackerConfig::default()
            },
        );
        let reassembly = ReassemblyQueue::new(
            window + headroom(self.config.max_packet_size),
            self.config.max_message_size,
            n.interleaving,
        );
        self.receiver = Some(Receiver {
            tracker,
            reassembly,
            last_advertised: u32::try_from(window).unwrap_or(u32::MAX),
            window,
        });
    }

    /// The receive window to advertise now: what is left of the window after the bytes held
    /// (RFC 9260 §6.2: a_rwnd is the buffer space left).
    pub(super) fn a_rwnd(&self) -> u32 {
        self.receiver
            .as_ref()
            .map_or(self.config.receive_window, |r| {
                let left = r.window.saturating_sub(r.reassembly.buffered_bytes());
                u32::try_from(left).unwrap_or(u32::MAX)
            })
    }

    /// One DATA or I-DATA chunk.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn handle_data(
        &mut self,
        path: PathId,
        tsn: Tsn,
        frag: Fragment,
        immediate: bool,
        interleaved_chunk: bool,
    ) -> Flow {
        // §6.2 / §9.2: data is taken while the peer may still send it.
        if !matches!(
            self.state,
            State::Established
                | State::ShutdownPending
                | State::ShutdownSent
                | State::ShutdownReceived
        ) {
            return Flow::Continue;
        }
        let Some(negotiated) = self.negotiated else {
            return Flow::Stop;
        };
        // RFC 8260 §2.2: once I-DATA is negotiated DATA must not be used, and the reverse.
        if interleaved_chunk != negotiated.interleaving {
            self.abort_with(
                CloseReason::ProtocolViolation("DATA / I-DATA kind not negotiated"),
                vec![ErrorCause::ProtocolViolation(
                    braid_wire::cause::Reason::new(
                        "chunk kind does not match the negotiated DATA / I-DATA".as_bytes(),
                    ),
                )],
            );
            return Flow::Stop;
        }
        // §6.2: a DATA chunk with no user data: ABORT with "No User Data".
        if frag.payload.is_empty() {
            self.abort_with(
                CloseReason::ProtocolViolation("DATA chunk without user data"),
                vec![ErrorCause::NoUserData(NoUserData { tsn })],
            );
            return Flow::Stop;
        }
        self.packet_had_data = true;
        self.packet_immediate |= immediate;
        let invalid_stream = frag.stream.0 >= negotiated.inbound_streams;
        let len = frag.payload.len();
        let Some(rx) = self.receiver.as_mut() else {
            return Flow::Stop;
        };
        // §6.2: when the window is closed (a_rwnd 0), new data above the highest TSN received
        // MUST be dropped; data that fills a gap below it is taken, so a buffer full of
        // out-of-order data can still drain. A chunk that only overshoots a window still open
        // (the peer's zero-window probe, §6.1 A) is taken. Either way the headroom beyond the
        // window is the hard bound.
        let fills_gap = tsn.precedes(rx.tracker.highest_received());
        if fills_gap && !invalid_stream && !rx.reassembly.has_room(len) {
            // §6.2: a chunk below the highest TSN received takes the place of the highest
            // ones held for reassembly (reneging): without it a buffer full of out-of-order
            // fragments could never take the chunk that lets it drain.
            while !rx.reassembly.has_room(len) {
                let Some(dropped) = rx.reassembly.renege_highest(tsn) else {
                    break;
                };
                rx.tracker.unobserve(dropped);
                self.stats.data_reneged += 1;
            }
        }
        let closed = rx.reassembly.buffered_bytes() >= rx.window;
        if !invalid_stream && ((closed && !fills_gap) || !rx.reassembly.has_room(len)) {
            self.stats.data_dropped += 1;
            rx.tracker.request_sack();
            return Flow::Continue;
        }
        match rx.tracker.observe(tsn) {
            Observed::New => {}
            Observed::Duplicate => {
                self.stats.duplicate_tsns_received += 1;
                return Flow::Continue;
            }
            Observed::Rejected => {
                self.stats.data_dropped += 1;
                return Flow::Continue;
            }
        }
        if invalid_stream {
            // §6.5: acknowledge it, report "Invalid Stream Identifier", discard it.
            let cause = ErrorCause::InvalidStreamId(braid_wire::cause::InvalidStreamId {
                stream_id: frag.stream.0,
            });
            self.queue_reply(
                path,
                self.peer_tag,
                Chunk::Error(braid_wire::OperationError {
                    causes: vec![cause],
                }),
            );
            return Flow::Continue;
        }
        self.stats.data_chunks_received += 1;
        self.stats.data_bytes_received += len as u64;
        // A payload is a view of its packet: held for reassembly it keeps the whole packet
        // alive. When it is small next to the packet (several chunks, or padding), it is
        // copied if held, so memory held stays proportional to the bytes counted against the
        // window.
        let compact = frag.payload.len() * 2 < self.packet_len;
        match rx.reassembly.add_with(tsn, frag, compact) {
            Ok(()) => Flow::Continue,
            Err(ReassemblyError::NoRoom) => {
                // Checked above, so only an accounting surprise lands here: do not acknowledge
                // what was not kept.
                rx.tracker.unobserve(tsn);
                self.stats.data_dropped += 1;
                Flow::Continue
            }
            Err(ReassemblyError::TooLarge) => {
                self.abort_with(
                    CloseReason::ProtocolViolation("message larger than max_message_size"),
                    vec![ErrorCause::ProtocolViolation(
                        braid_wire::cause::Reason::new(
                            "message larger than the maximum message size".as_bytes(),
                        ),
                    )],
                );
                Flow::Stop
            }
            Err(ReassemblyError::Invalid) => {
                self.abort_with(
                    CloseReason::ProtocolViolation("inconsistent fragments"),
                    vec![ErrorCause::ProtocolViolation(
                        braid_wire::cause::Reason::new(
                            "fragments inconsistent with the data received".as_bytes(),
                        ),
                    )],
                );
                Flow::Stop
            }
        }
    }

    /// After each received packet: the delayed-SACK rules (RFC 9260 §6.2, RFC 7053), and in
    /// SHUTDOWN-SENT the SHUTDOWN that answers every packet with data (§9.2).
    pub(super) fn end_of_packet(&mut self, now: Instant) {
        let (had_data, immediate) = (self.packet_had_data, self.packet_immediate);
        self.packet_had_data = false;
        self.packet_immediate = false;
        if !had_data {
            return;
        }
        if let Some(rx) = self.receiver.as_mut() {
            rx.tracker.on_packet_end(now, had_data, immediate);
        }
        if self.state == State::ShutdownSent {
            // §9.2: each packet with DATA is answered with a SHUTDOWN (T2 restarted), which
            // carries the cumulative TSN. "If a SHUTDOWN chunk by itself cannot acknowledge
            // all of the received DATA chunks (i.e., there are TSNs that can be acknowledged
            // that are larger than the cumulative TSN, and thus gaps exist in the TSN
            // sequence), or if duplicate TSNs have been received, then a SACK chunk MUST also
            // be sent": so a SACK goes too when there are gaps or duplicates to report.
            self.send_shutdown(now);
            if let Some(rx) = self.receiver.as_mut() {
                if !rx.tracker.has_gaps() && !rx.tracker.has_duplicates() {
                    // The SHUTDOWN says it all: drop the pending SACK and its timer.
                    let _ = rx.tracker.make_sack(0, usize::MAX);
                }
            }
        }
    }

    /// A SACK for data the delayed-SACK timer is holding, to ride in front of outgoing DATA
    /// (RFC 9260 §6.1, after rule D: a sender about to transmit DATA while received DATA is
    /// unacknowledged, e.g. by delayed acknowledgement, should bundle a SACK with it within
    /// the MTU). Comes with what [`untake_sack`](Self::untake_sack) needs to take it back
    /// when no DATA goes after all.
    pub(super) fn take_pending_sack(&mut self) -> Option<(Chunk, PendingSack)> {
        self.take_sack_if(DataTracker::sack_pending)
    }

    /// Takes back a SACK from [`take_pending_sack`](Self::take_pending_sack) that was not
    /// sent: the delayed-SACK timer runs on as before.
    pub(super) fn untake_sack(&mut self, undo: PendingSack) {
        if let Some(rx) = self.receiver.as_mut() {
            rx.tracker.restore_schedule(undo.schedule);
            rx.last_advertised = undo.last_advertised;
            self.stats.sacks_sent = self.stats.sacks_sent.saturating_sub(1);
        }
    }

    /// The SACK to bundle at the front of the next packet, if one is due.
    pub(super) fn take_due_sack(&mut self) -> Option<Chunk> {
        self.take_sack_if(DataTracker::sack_due)
            .map(|(chunk, _)| chunk)
    }

    /// A SACK (RFC 9260 §3.3.4), if the tracker's schedule says `wanted`, with the schedule
    /// as it was.
    fn take_sack_if(&mut self, wanted: fn(&DataTracker) -> bool) -> Option<(Chunk, PendingSack)> {
        // Nothing is acknowledged once the association is gone (e.g. DATA then ABORT).
        // Asked before each packet: the cheap checks first.
        if !self.state.is_up() || !self.receiver.as_ref().is_some_and(|r| wanted(&r.tracker)) {
            return None;
        }
        let a_rwnd = self.a_rwnd();
        let max = self
            .config
            .max_packet_size
            .saturating_sub(braid_wire::CommonHeader::LEN + 4);
        let rx = self.receiver.as_mut()?;
        let undo = PendingSack {
            schedule: rx.tracker.schedule(),
            last_advertised: rx.last_advertised,
        };
        rx.last_advertised = a_rwnd;
        self.stats.sacks_sent += 1;
        Some((Chunk::Sack(rx.tracker.make_sack(a_rwnd, max)), undo))
    }

    /// The last TSN received in sequence (SHUTDOWN's Cumulative TSN Ack).
    pub(super) fn cum_tsn_received(&self) -> Tsn {
        self.receiver
            .as_ref()
            .map_or(self.cumulative_tsn_received, |r| r.tracker.cumulative())
    }

    /// The next complete message, in per-stream order (unordered ones as they complete).
    /// Reading frees receive buffer; when that opens the window by enough, a window update
    /// SACK goes out (RFC 9260 §6.2, avoiding the silly window syndrome), so a peer that saw a
    /// zero window resumes without waiting for its probe timer.
    pub fn read_message(&mut self) -> Option<Message> {
        let msg = self.receiver.as_mut()?.reassembly.pop()?;
        self.stats.messages_received += 1;
        let a_rwnd = self.a_rwnd();
        let step = u32::try_from(self.config.max_packet_size).unwrap_or(u32::MAX);
        if let Some(rx) = self.receiver.as_mut() {
            let half = u32::try_from(rx.window / 2).unwrap_or(u32::MAX);
            if a_rwnd >= rx.last_advertised.saturating_add(step.min(half)) {
                rx.tracker.request_sack();
            }
        }
        Some(msg)
    }

    /// Complete messages waiting to be read.
    pub fn readable_messages(&self) -> usize {
        self.receiver
            .as_ref()
            .map_or(0, |r| r.reassembly.ready_count())
    }

    /// Bytes of received user data held: fragments waiting for the rest of their message
    /// and complete messages not yet read. It never exceeds the window (the larger of
    /// `receive_window` and `max_message_size`) plus the reassembly headroom of four
    /// `max_packet_size` packets.
    pub fn receive_buffered(&self) -> usize {
        self.receiver
            .as_ref()
            .map_or(0, |r| r.reassembly.buffered_bytes())
    }

    /// When the delayed-SACK timer fires.
    pub(super) fn sack_deadline(&self) -> Option<Instant> {
        if !self.state.is_up() {
            return None;
        }
        self.receiver
            .as_ref()
            .and_then(|r| r.tracker.sack_deadline())
    }

    /// The delayed-SACK timer fired.
    pub(super) fn on_sack_timer(&mut self, now: Instant) {
        if let Some(rx) = self.receiver.as_mut() {
            rx.tracker.on_sack_timeout(now);
        }
    }
}
