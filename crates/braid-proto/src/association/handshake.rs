//! The association's side of the handshake: INIT, INIT ACK, COOKIE ECHO and COOKIE ACK in
//! every state, including collisions and restarts (RFC 9260 §5.1, §5.2.1–§5.2.6).

use core::time::Duration;
use std::time::Instant;

use braid_wire::cause::{MissingMandatoryParameter, StaleCookie};
use braid_wire::param::param_type;
use braid_wire::{Abort, Bytes, Chunk, CookieEcho, ErrorCause, Init, OperationError, Tsn};
use rand_core::Rng;

use super::{Association, State, Timer};
use crate::cookie::{CookieContents, CookieError, CookieKeys};
use crate::event::{CloseReason, Event};
use crate::handshake::{self as hs, InitAckInput, InitProblem};
use crate::ids::PathId;

impl Association {
    /// Sends (or re-sends) our INIT and arms T1-init (RFC 9260 §5.1 A).
    pub(super) fn send_init(&mut self, now: Instant, preservative_ms: Option<u32>) {
        let init = hs::local_init(
            &self.config,
            self.local_tag,
            self.local_initial_tsn,
            preservative_ms,
        );
        self.queue(self.primary, 0, Chunk::Init(init.clone()));
        self.init = Some(init);
        self.state = State::CookieWait;
        self.peer_tag = 0;
        self.handshake_sent = Some(now);
        self.handshake_retransmits = 0;
        let rto = self.primary_rto();
        self.set_timer(Timer::T1, Some(now + rto));
    }

    /// Answers an INIT without keeping any state (RFC 9260 §5.1 B): the listening CLOSED case.
    pub(super) fn answer_init_statelessly(
        &mut self,
        now: Instant,
        path: PathId,
        init: &Init,
        keys: &CookieKeys,
    ) {
        let tag = hs::nonzero_u32(&mut self.rng);
        let tsn = Tsn(self.rng.next_u32());
        self.answer_init(now, path, init, keys, tag, tsn, (0, 0));
    }

    /// Builds and queues an INIT ACK for `init`, or the ABORT its fixed fields call for.
    #[allow(clippy::too_many_arguments)]
    fn answer_init(
        &mut self,
        now: Instant,
        path: PathId,
        init: &Init,
        keys: &CookieKeys,
        local_tag: u32,
        local_initial_tsn: Tsn,
        tie_tags: (u32, u32),
    ) {
        match hs::check_init(init) {
            Ok(()) => {}
            Err(InitProblem::Discard) => return,
            Err(InitProblem::Abort(cause)) => {
                // §8.4 rule 3: the ABORT carries the INIT's Initiate Tag, T bit clear.
                self.queue_reply(
                    path,
                    init.initiate_tag,
                    Chunk::Abort(Abort {
                        t_bit: false,
                        causes: vec![cause],
                    }),
                );
                return;
            }
        }
        let peer_params = hs::scan_params(&init.params);
        let ack = hs::init_ack(&InitAckInput {
            config: &self.config,
            keys,
            now,
            cookie_lifetime: self.config.cookie_lifetime,
            max_preservative: self.config.max_cookie_preservative,
            peer_init: init,
            peer_params: &peer_params,
            local_tag,
            local_initial_tsn,
            local_port: self.ports.local,
            peer_port: self.ports.peer,
            tie_tags,
        });
        self.queue_reply(path, init.initiate_tag, Chunk::InitAck(ack));
    }

    /// An INIT while a TCB exists (RFC 9260 §5.2.1, §5.2.2, §9.2).
    pub(super) fn handle_init(
        &mut self,
        now: Instant,
        path: PathId,
        init: &Init,
        keys: &CookieKeys,
    ) {
        match self.state {
            State::Closed => {}
            // §5.2.1: answer with our original parameters, tag unchanged; T1 keeps running and
            // the state does not change. In COOKIE-ECHOED the tie-tags are our current tags.
            State::CookieWait | State::CookieEchoed => {
                let tie = if self.state == State::CookieEchoed {
                    (self.local_tag, self.peer_tag)
                } else {
                    (0, 0)
                };
                self.answer_init(
                    now,
                    path,
                    init,
                    keys,
                    self.local_tag,
                    self.local_initial_tsn,
                    tie,
                );
            }
            // §9.2: in SHUTDOWN-ACK-SENT an INIT (our SHUTDOWN COMPLETE may have been lost) is
            // discarded and the SHUTDOWN ACK retransmitted.
            State::ShutdownAckSent => {
                self.queue_shutdown_ack(path);
            }
            // §5.2.2: an unexpected INIT: a new random tag (not our current one) and the
            // existing tags as tie-tags, so a COOKIE ECHO can prove a restart.
            State::Established
            | State::ShutdownPending
            | State::ShutdownSent
            | State::ShutdownReceived => {
                let mut tag = hs::nonzero_u32(&mut self.rng);
                while tag == self.local_tag {
                    tag = hs::nonzero_u32(&mut self.rng);
                }
                let tsn = Tsn(self.rng.next_u32());
                self.answer_init(
                    now,
                    path,
                    init,
                    keys,
                    tag,
                    tsn,
                    (self.local_tag, self.peer_tag),
                );
            }
        }
    }

    /// An INIT ACK (RFC 9260 §5.1 C, §5.2.3).
    pub(super) fn handle_init_ack(&mut self, now: Instant, path: PathId, ack: Init) {
        // §5.2.3: an INIT ACK in any state but COOKIE-WAIT is discarded.
        if self.state != State::CookieWait {
            return;
        }
        match hs::check_init(&ack) {
            Ok(()) => {}
            // §3.3.3: a zero Initiate Tag in an INIT ACK destroys the TCB.
            Err(InitProblem::Discard) => {
                self.close(CloseReason::ProtocolViolation(
                    "INIT ACK with Initiate Tag 0",
                ));
                return;
            }
            Err(InitProblem::Abort(cause)) => {
                self.peer_tag = ack.initiate_tag;
                self.abort_with(
                    CloseReason::ProtocolViolation("invalid INIT ACK"),
                    vec![cause],
                );
                return;
            }
        }
        let peer_params = hs::scan_params(&ack.params);
        let Some(cookie) = peer_params.cookie.clone() else {
            // §5.1 C / §3.3.10.2: the State Cookie is mandatory.
            self.peer_tag = ack.initiate_tag;
            let cause = ErrorCause::MissingMandatoryParameter(MissingMandatoryParameter {
                param_types: vec![param_type::STATE_COOKIE],
            });
            self.abort_with(
                CloseReason::ProtocolViolation("INIT ACK without State Cookie"),
                vec![cause],
            );
            return;
        };
        // Karn: only an INIT that was not retransmitted gives an RTT sample.
        if let (Some(sent), 0) = (self.handshake_sent, self.handshake_retransmits) {
            if let Some(p) = self.path_mut(path) {
                p.rto.observe(now.saturating_duration_since(sent));
            }
        }
        self.peer_tag = ack.initiate_tag;
        self.negotiated = Some(hs::negotiate(
            &self.config,
            self.local_initial_tsn,
            &ack,
            &peer_params,
        ));
        self.cumulative_tsn_received = ack.initial_tsn.prev();
        // §3.2.2: the INIT ACK's unrecognized parameters go back in an ERROR bundled after the
        // COOKIE ECHO.
        self.cookie_echo_error = (!peer_params.unrecognized.is_empty()).then(|| OperationError {
            causes: peer_params
                .unrecognized
                .iter()
                .map(|tlv| {
                    ErrorCause::UnrecognizedParameters(braid_wire::cause::RawParams::new(
                        tlv.clone(),
                    ))
                })
                .collect(),
        });
        self.cookie = Some(cookie);
        self.state = State::CookieEchoed;
        self.handshake_retransmits = 0;
        self.learn_addresses(now, &peer_params.addresses);
        self.send_cookie_echo(now);
    }

    /// Sends (or re-sends) the COOKIE ECHO and arms T1-cookie.
    pub(super) fn send_cookie_echo(&mut self, now: Instant) {
        let Some(cookie) = self.cookie.clone() else {
            return;
        };
        self.queue(
            self.primary,
            self.peer_tag,
            Chunk::CookieEcho(CookieEcho { cookie }),
        );
        if let Some(err) = self.cookie_echo_error.clone() {
            self.queue(self.primary, self.peer_tag, Chunk::Error(err));
        }
        if self.handshake_retransmits == 0 {
            self.handshake_sent = Some(now);
        }
        let rto = self.primary_rto();
        self.set_timer(Timer::T1, Some(now + rto));
    }

    /// A COOKIE ECHO (RFC 9260 §5.1.5, §5.2.4).
    pub(super) fn handle_cookie_echo(
        &mut self,
        now: Instant,
        path: PathId,
        vtag: u32,
        cookie: &Bytes,
        keys: &CookieKeys,
    ) {
        let contents = match keys.open(now, cookie) {
            Ok(c) => c,
            // §5.1.5 step 2: not ours, forged or corrupted — silently discard.
            Err(CookieError::Invalid) => return,
            Err(CookieError::Stale {
                staleness_us,
                contents,
            }) => {
                // §5.2.4 step 3: with a TCB whose tags are both the cookie's, an expired cookie
                // is still taken as valid (a COOKIE ECHO retransmitted after a lost COOKIE ACK,
                // case D).
                let current = self.state != State::Closed
                    && contents.local_tag == self.local_tag
                    && contents.peer_tag == self.peer_tag;
                if current {
                    contents
                } else {
                    // §5.1.5 step 3 before step 4: the tags and ports must match before we
                    // answer "Stale Cookie".
                    if self.cookie_matches_packet(&contents, vtag) {
                        let cause = ErrorCause::StaleCookie(StaleCookie { staleness_us });
                        self.queue_reply(
                            path,
                            contents.peer_tag,
                            Chunk::Error(OperationError {
                                causes: vec![cause],
                            }),
                        );
                    }
                    return;
                }
            }
        };
        // §5.1.5 step 3: ports and the packet's tag must match the cookie.
        if !self.cookie_matches_packet(&contents, vtag) {
            return;
        }
        if self.state == State::Closed {
            if self.listening {
                self.establish_from_cookie(now, path, &contents, false);
            }
            return;
        }
        self.handle_cookie_with_tcb(now, path, &contents);
    }

    fn cookie_matches_packet(&self, c: &CookieContents, vtag: u32) -> bool {
        c.local_tag == vtag && c.local_port == self.ports.local && c.peer_port == self.ports.peer
    }

    /// RFC 9260 §5.2.4: a valid COOKIE ECHO when a TCB exists, by the table of tags.
    fn handle_cookie_with_tcb(&mut self, now: Instant, path: PathId, c: &CookieContents) {
        let local = c.local_tag == self.local_tag;
        let peer = c.peer_tag == self.peer_tag;
        let tie_local = c.local_tie_tag == self.local_tag;
        let tie_peer = c.peer_tie_tag == self.peer_tag;
        let no_tie = c.local_tie_tag == 0 && c.peer_tie_tag == 0;
        if !local && !peer && tie_local && tie_peer {
            // (A) The peer restarted.
            if self.state == State::ShutdownAckSent {
                // §5.2.4 A: no restart while shutting down. The SHUTDOWN ACK is *resent* (so with
                // the tag of the association being shut down: the new incarnation treats it as
                // out of the blue and answers SHUTDOWN COMPLETE with that tag reflected, which
                // closes us at once); the ERROR "Cookie Received While Shutting Down" goes to the
                // new incarnation, with its tag.
                self.queue_shutdown_ack(path);
                self.queue_reply(
                    path,
                    c.peer_tag,
                    Chunk::Error(OperationError {
                        causes: vec![ErrorCause::CookieReceivedWhileShuttingDown],
                    }),
                );
                return;
            }
            self.establish_from_cookie(now, path, c, true);
        } else if local && !peer {
            // (B) An INIT collision: take the peer's tag from the cookie, stop T1, be (or
            // stay) ESTABLISHED, and acknowledge.
            self.peer_tag = c.peer_tag;
            self.negotiated = Some(c.negotiated);
            self.cumulative_tsn_received = Tsn(c.negotiated.peer_initial_tsn).prev();
            self.set_timer(Timer::T1, None);
            if matches!(self.state, State::CookieWait | State::CookieEchoed) {
                self.enter_established(now);
            }
            self.queue_reply(path, self.peer_tag, Chunk::CookieAck);
        } else if !local && peer && no_tie {
            // (C) A cookie from before a restart that arrived late: discard.
        } else if local && peer {
            // (D) Both tags match: a duplicate COOKIE ECHO, or the one that completes a
            // collision. Enter ESTABLISHED if not there yet, and acknowledge.
            if matches!(self.state, State::CookieWait | State::CookieEchoed) {
                self.negotiated = Some(c.negotiated);
                self.set_timer(Timer::T1, None);
                self.enter_established(now);
            }
            self.queue_reply(path, self.peer_tag, Chunk::CookieAck);
        }
        // Any other combination: silently discarded.
    }

    /// Builds the TCB from a cookie and answers COOKIE ACK (RFC 9260 §5.1 D), as a new
    /// association or as the restart of this one (§5.2.4 A).
    pub(super) fn establish_from_cookie(
        &mut self,
        now: Instant,
        path: PathId,
        c: &CookieContents,
        restart: bool,
    ) {
        self.local_tag = c.local_tag;
        self.peer_tag = c.peer_tag;
        self.negotiated = Some(c.negotiated);
        self.local_initial_tsn = Tsn(c.negotiated.local_initial_tsn);
        self.cumulative_tsn_received = Tsn(c.negotiated.peer_initial_tsn).prev();
        self.listening = false;
        self.init = None;
        self.cookie = None;
        self.cookie_echo_error = None;
        self.error_count = 0;
        self.timers = [None; super::TIMER_COUNT];
        for p in &mut self.paths {
            p.error_count = 0;
            p.heartbeat = None;
        }
        self.queue(path, self.peer_tag, Chunk::CookieAck);
        if restart {
            // §5.2.4 A: a new incarnation under the same handle; data state starts over.
            self.state = State::Established;
            self.start_receiver();
            self.start_sender();
            self.events.push_back(Event::Restarted);
            self.start_heartbeats(now);
        } else {
            self.enter_established(now);
        }
    }

    fn enter_established(&mut self, now: Instant) {
        self.state = State::Established;
        self.start_receiver();
        self.start_sender();
        self.init = None;
        self.cookie = None;
        self.cookie_echo_error = None;
        self.events.push_back(Event::Connected);
        self.start_heartbeats(now);
    }

    /// A COOKIE ACK (RFC 9260 §5.1 E, §5.2.5).
    pub(super) fn handle_cookie_ack(&mut self, now: Instant) {
        // §5.2.5: in any state but COOKIE-ECHOED it is discarded.
        if self.state != State::CookieEchoed {
            return;
        }
        if let (Some(sent), 0) = (self.handshake_sent, self.handshake_retransmits) {
            let primary = self.primary;
            if let Some(p) = self.path_mut(primary) {
                p.rto.observe(now.saturating_duration_since(sent));
            }
        }
        self.set_timer(Timer::T1, None);
        self.enter_established(now);
    }

    /// RFC 9260 §5.2.6: a "Stale Cookie" error in COOKIE-ECHOED. Start over with an INIT
    /// carrying a Cookie Preservative. The increment is what the cookie lacked (the
    /// staleness) plus the RTT measured over the COOKIE ECHO / ERROR exchange, capped by
    /// `max_cookie_preservative`; §5.2.6 asks to stay close to the RTT, since a long cookie
    /// life makes replay easier.
    pub(super) fn handle_stale_cookie(&mut self, now: Instant, staleness_us: u32) {
        self.stale_cookie_retries += 1;
        if self.stale_cookie_retries > self.config.max_init_retransmits {
            self.close(CloseReason::StaleCookie);
            return;
        }
        let rtt = self
            .handshake_sent
            .map_or(Duration::ZERO, |s| now.saturating_duration_since(s));
        let staleness = Duration::from_micros(u64::from(staleness_us));
        let increment = (staleness + rtt).min(self.config.max_cookie_preservative);
        let ms = u32::try_from(increment.as_millis())
            .unwrap_or(u32::MAX)
            .max(1);
        self.cookie = None;
        self.cookie_echo_error = None;
        self.negotiated = None;
        self.send_init(now, Some(ms));
    }
}
