//! Graceful shutdown (RFC 9260 §9.2): SHUTDOWN, SHUTDOWN ACK and SHUTDOWN COMPLETE in every
//! state, including simultaneous shutdown.

use std::time::Instant;

use braid_wire::{Chunk, Sack, Shutdown, ShutdownComplete, Tsn};

use super::{Association, State, Timer};
use crate::event::{CloseReason, Event};
use crate::ids::PathId;

impl Association {
    /// Sends SHUTDOWN with the last TSN received in sequence, arms T2-shutdown and the
    /// T5-shutdown-guard (5 × RTO.Max), and enters SHUTDOWN-SENT.
    pub(super) fn send_shutdown(&mut self, now: Instant) {
        self.stop_heartbeats();
        // One SHUTDOWN waiting at most: a newer one (fresher Cumulative TSN Ack) replaces
        // it, so a peer sending DATA in SHUTDOWN-SENT cannot grow the queue (§9.2).
        self.control
            .retain(|o| !matches!(o.chunk, Chunk::Shutdown(_)));
        let chunk = Chunk::Shutdown(Shutdown {
            cumulative_tsn_ack: self.cum_tsn_received(),
        });
        // To the path data goes to: the primary, or an alternate while it is INACTIVE
        // (RFC 9260 §6.4.1).
        self.queue(self.data_path(), self.peer_tag, chunk);
        let rto = self.primary_rto();
        self.set_timer(Timer::T2, Some(now + rto));
        if self.state != State::ShutdownSent {
            self.set_timer(Timer::T5, Some(now + self.config.rto_max * 5));
        }
        self.state = State::ShutdownSent;
    }

    /// Sends SHUTDOWN ACK, arms T2-shutdown and enters SHUTDOWN-ACK-SENT.
    pub(super) fn send_shutdown_ack(&mut self, now: Instant, path: PathId) {
        self.stop_heartbeats();
        self.queue_shutdown_ack(path);
        let rto = self.primary_rto();
        self.set_timer(Timer::T2, Some(now + rto));
        self.set_timer(Timer::T5, None);
        self.state = State::ShutdownAckSent;
    }

    /// Queues a SHUTDOWN ACK to the peer, replacing one still waiting: requests for it (T2,
    /// a retransmitted SHUTDOWN, an INIT in SHUTDOWN-ACK-SENT) coalesce into one chunk.
    pub(super) fn queue_shutdown_ack(&mut self, path: PathId) {
        self.control
            .retain(|o| !matches!(o.chunk, Chunk::ShutdownAck));
        self.queue(path, self.peer_tag, Chunk::ShutdownAck);
    }

    /// RFC 9260 §8.3: no heartbeats once SHUTDOWN or SHUTDOWN ACK has been sent.
    fn stop_heartbeats(&mut self) {
        for p in &mut self.paths {
            p.stop_heartbeats();
        }
    }

    /// A SHUTDOWN: its Cumulative TSN Ack acknowledges data like a SACK (RFC 9260 §9.2).
    pub(super) fn handle_shutdown(&mut self, now: Instant, path: PathId, cum_ack: Tsn) {
        if matches!(
            self.state,
            State::Closed | State::CookieWait | State::CookieEchoed
        ) {
            return;
        }
        if let Some(a_rwnd) = self.sender.as_ref().map(|s| s.peer_window.a_rwnd()) {
            let sack = Sack {
                cumulative_tsn_ack: cum_ack,
                a_rwnd,
                gap_blocks: Vec::new(),
                duplicate_tsns: Vec::new(),
            };
            self.process_ack(now, &sack, false);
        }
        match self.state {
            // §9.2: enter SHUTDOWN-RECEIVED, stop taking new data; answer with SHUTDOWN ACK
            // once everything outstanding is acknowledged.
            State::Established | State::ShutdownPending | State::ShutdownReceived => {
                if self.state == State::Established {
                    self.events.push_back(Event::ShutdownStarted);
                }
                self.state = State::ShutdownReceived;
                if self.data_idle() {
                    self.send_shutdown_ack(now, path);
                }
            }
            // §9.2: simultaneous shutdown — SHUTDOWN ACK at once, go to SHUTDOWN-ACK-SENT.
            State::ShutdownSent => self.send_shutdown_ack(now, path),
            // Our SHUTDOWN ACK was lost: send it again now rather than at T2.
            State::ShutdownAckSent => self.queue_shutdown_ack(path),
            State::Closed | State::CookieWait | State::CookieEchoed => {}
        }
    }

    /// A SHUTDOWN ACK (RFC 9260 §9.2, §8.5.1 E).
    pub(super) fn handle_shutdown_ack(&mut self, path: PathId, vtag: u32) {
        match self.state {
            // §9.2: stop T2, send SHUTDOWN COMPLETE, remove the association. In
            // SHUTDOWN-ACK-SENT both sides sent SHUTDOWN ACK (simultaneous shutdown).
            State::ShutdownSent | State::ShutdownAckSent => {
                self.queue(
                    path,
                    self.peer_tag,
                    Chunk::ShutdownComplete(ShutdownComplete { t_bit: false }),
                );
                self.close(CloseReason::Shutdown);
            }
            // §8.5.1 E: in COOKIE-WAIT or COOKIE-ECHOED it is out of the blue (§8.4 rule 5):
            // SHUTDOWN COMPLETE with the T bit and the packet's own tag.
            State::CookieWait | State::CookieEchoed => {
                self.queue_reply(
                    path,
                    vtag,
                    Chunk::ShutdownComplete(ShutdownComplete { t_bit: true }),
                );
            }
            _ => {}
        }
    }

    /// A SHUTDOWN COMPLETE whose tag passed §8.5.1 C.
    pub(super) fn handle_shutdown_complete(&mut self) {
        // §8.5.1 C: ignored unless in SHUTDOWN-ACK-SENT.
        if self.state == State::ShutdownAckSent {
            self.close(CloseReason::Shutdown);
        }
    }
}
