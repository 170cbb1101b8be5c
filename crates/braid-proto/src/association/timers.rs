//! Timer expiries: T1-init / T1-cookie, T2-shutdown, T5-shutdown-guard and heartbeats.

use std::time::Instant;

use braid_wire::Chunk;

use super::{Association, State, Timer};
use crate::event::{CloseReason, Event};

impl Association {
    /// Runs every timer that is due at `now`. Call it when [`poll_timeout`](Self::poll_timeout)
    /// has passed; calling it early does nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.t3_deadline().is_some_and(|t| t <= now) {
            self.on_probe_timer(now);
            self.on_t3_timers(now);
        }
        if self.sack_deadline().is_some_and(|t| t <= now) {
            self.on_sack_timer(now);
        }
        if self.timer(Timer::T1).is_some_and(|t| t <= now) {
            self.on_t1(now);
        }
        if self.timer(Timer::T5).is_some_and(|t| t <= now) {
            // §9.2: the guard expired — abort.
            self.set_timer(Timer::T5, None);
            self.abort_with(CloseReason::ShutdownGuardExpired, Vec::new());
        }
        if self.timer(Timer::T2).is_some_and(|t| t <= now) {
            self.on_t2(now);
        }
        for i in 0..self.paths.len() {
            let Some(path) = self.paths.get(i) else { break };
            let lost = path
                .heartbeat
                .and_then(|h| h.lost_at)
                .is_some_and(|t| t <= now);
            if lost && self.state != State::Closed {
                self.on_heartbeat_lost(now, i);
            }
            // Read after the loss: a lost probe of an UNCONFIRMED path makes the next one due.
            let due = self
                .paths
                .get(i)
                .and_then(|p| p.heartbeat_due)
                .is_some_and(|t| t <= now);
            if due && self.state != State::Closed {
                self.on_heartbeat_due(now, i);
            }
        }
    }

    /// T1-init / T1-cookie (RFC 9260 §5.1 C, §6.3.3): retransmit with a doubled RTO, up to
    /// Max.Init.Retransmits, then give up.
    fn on_t1(&mut self, now: Instant) {
        self.set_timer(Timer::T1, None);
        self.handshake_retransmits += 1;
        if self.handshake_retransmits > self.config.max_init_retransmits {
            let reason = match self.state {
                State::CookieEchoed => CloseReason::CookieEchoTimeout,
                _ => CloseReason::InitTimeout,
            };
            self.close(reason);
            return;
        }
        self.stats.handshake_retransmits += 1;
        let primary = self.primary;
        if let Some(p) = self.path_mut(primary) {
            p.rto.back_off();
        }
        let rto = self.primary_rto();
        match self.state {
            State::CookieWait => {
                if let Some(init) = self.init.clone() {
                    self.queue(self.primary, 0, Chunk::Init(init));
                }
                self.set_timer(Timer::T1, Some(now + rto));
            }
            State::CookieEchoed => self.send_cookie_echo(now),
            _ => {}
        }
    }

    /// T2-shutdown (RFC 9260 §9.2): resend SHUTDOWN or SHUTDOWN ACK with a doubled RTO; past
    /// Association.Max.Retrans the peer is unreachable.
    fn on_t2(&mut self, now: Instant) {
        self.set_timer(Timer::T2, None);
        self.error_count += 1;
        if self.error_count > self.config.association_max_retrans {
            self.abort_with(CloseReason::Unreachable, Vec::new());
            return;
        }
        let primary = self.primary;
        if let Some(p) = self.path_mut(primary) {
            p.rto.back_off();
        }
        match self.state {
            State::ShutdownSent => self.send_shutdown(now),
            State::ShutdownAckSent => {
                let path = self.data_path();
                self.queue_shutdown_ack(path);
                let rto = self.primary_rto();
                self.set_timer(Timer::T2, Some(now + rto));
            }
            _ => {}
        }
    }

    /// RFC 9260 §8.3: a HEARTBEAT not acknowledged within one RTO counts as a timeout on its
    /// path and, for the path data goes to, on the association (§8.1), and backs the path's
    /// RTO off, so the next heartbeat waits longer.
    fn on_heartbeat_lost(&mut self, now: Instant, index: usize) {
        // §8.1: "Unacknowledged HEARTBEAT chunks observed on paths different from the path
        // that is currently used for data transfer SHOULD NOT increment the association
        // error counter"; §5.4: nor do lost probes of an UNCONFIRMED path ("the association
        // overall error count is NOT incremented").
        let data_path = self.data_path();
        let Some(path) = self.paths.get_mut(index) else {
            return;
        };
        let id = path.id;
        let counts_for_association = id == data_path && path.confirmed;
        if let Some(h) = path.heartbeat.as_mut() {
            // Counted once; a late ACK for it is still accepted and clears the counters.
            h.lost_at = None;
        }
        path.error_count += 1;
        path.rto.back_off();
        let was_active = path.active;
        if path.error_count > self.config.path_max_retrans {
            path.active = false;
        }
        if !path.confirmed && path.active {
            // §5.4: the next probe of an active UNCONFIRMED path, one (backed-off) RTO
            // after the last; once INACTIVE, "this rate is lowered to the normal HEARTBEAT
            // rate" (the branch below).
            path.heartbeat_due = Some(now);
        } else if !path.confirmed && was_active {
            let interval = self.probe_interval();
            let jitter = self.jitter();
            if let Some(p) = self.paths.get_mut(index) {
                p.schedule_heartbeat(now, interval, jitter);
            }
        }
        if was_active && self.paths.get(index).is_some_and(|p| !p.active) {
            self.events.push_back(Event::PathStatus {
                path: id,
                active: false,
            });
        }
        if counts_for_association {
            self.error_count += 1;
        }
        if self.error_count > self.config.association_max_retrans {
            self.abort_with(CloseReason::Unreachable, Vec::new());
        }
    }

    /// A path's heartbeat interval elapsed: send the next HEARTBEAT (RFC 9260 §8.3).
    fn on_heartbeat_due(&mut self, now: Instant, index: usize) {
        let Some(path) = self.paths.get_mut(index) else {
            return;
        };
        let id = path.id;
        let probe = !path.confirmed;
        path.heartbeat_due = None;
        // §5.4: UNCONFIRMED paths are probed even with heartbeats off.
        if self.state.heartbeats() && (self.config.heartbeat_interval.is_some() || probe) {
            self.send_heartbeat(now, id);
        }
    }
}
