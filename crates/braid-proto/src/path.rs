//! Per-path state (RFC 9260 §6.4, §8.2, §8.3): address, RTO, error counter, heartbeat.
//!
//! Every association has a set of paths, one of them primary; a single-homed association is
//! a set of one. Congestion state (cwnd, ssthresh, partial_bytes_acked) lives in `send`,
//! created when the association comes up (or when a path is added to a live association).
//!
//! Memory: at most `AssociationConfig::max_paths` paths, each a fixed set of fields.

use core::time::Duration;
use std::net::SocketAddr;
use std::time::Instant;

use crate::ids::PathId;
use crate::rto::RtoEstimator;

/// A heartbeat sent and not yet acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PendingHeartbeat {
    /// Random value the HEARTBEAT ACK must echo.
    pub(crate) nonce: u64,
    /// When it was sent.
    pub(crate) sent: Instant,
    /// When it counts as lost if still unacknowledged: one RTO after sending (RFC 9260 §8.3);
    /// `None` once counted.
    pub(crate) lost_at: Option<Instant>,
}

/// What an association knows about one of its paths (RFC 9260 §5.4, §8.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PathState {
    /// Not yet verified (RFC 9260 §5.4): only HEARTBEATs (and replies) go there until one
    /// is acknowledged. A path added with
    /// [`Association::add_path`](crate::Association::add_path) starts here.
    Unconfirmed,
    /// Confirmed and reachable: DATA may use it.
    Active,
    /// Confirmed, but more than Path.Max.Retrans consecutive timeouts (RFC 9260 §8.2); it
    /// is heartbeated and becomes ACTIVE again on a HEARTBEAT ACK.
    Inactive,
}

/// One (local, remote) transport address pair.
#[derive(Debug, Clone)]
pub(crate) struct Path {
    pub(crate) id: PathId,
    /// The peer's address, when the association runs over a socket (None over DTLS).
    pub(crate) remote: Option<SocketAddr>,
    pub(crate) rto: RtoEstimator,
    /// Consecutive timeouts on this path (RFC 9260 §8.2).
    pub(crate) error_count: u32,
    /// ACTIVE / INACTIVE (RFC 9260 §8.2).
    pub(crate) active: bool,
    /// CONFIRMED (RFC 9260 §5.4): a HEARTBEAT ACK came back from it, or it is the path the
    /// handshake ran on.
    pub(crate) confirmed: bool,
    /// The outstanding heartbeat, if any.
    pub(crate) heartbeat: Option<PendingHeartbeat>,
    /// When the next heartbeat is due.
    pub(crate) heartbeat_due: Option<Instant>,
    /// Congestion control and T3-rtx, once the association is up.
    pub(crate) send: Option<crate::association::PathSend>,
}

impl Path {
    pub(crate) fn new(id: PathId, remote: Option<SocketAddr>, rto: RtoEstimator) -> Self {
        Self {
            id,
            remote,
            rto,
            error_count: 0,
            active: true,
            confirmed: true,
            heartbeat: None,
            heartbeat_due: None,
            send: None,
        }
    }

    /// The state the user sees.
    pub(crate) fn state(&self) -> PathState {
        match (self.confirmed, self.active) {
            (false, _) => PathState::Unconfirmed,
            (true, true) => PathState::Active,
            (true, false) => PathState::Inactive,
        }
    }

    /// Whether DATA (and chunks other than HEARTBEAT and replies) may go there: CONFIRMED
    /// and ACTIVE (RFC 9260 §5.4, §6.4.1).
    pub(crate) fn usable(&self) -> bool {
        self.confirmed && self.active
    }

    /// The earliest heartbeat deadline: the next one to send, or the outstanding one's loss.
    pub(crate) fn next_heartbeat_deadline(&self) -> Option<Instant> {
        let lost = self.heartbeat.and_then(|h| h.lost_at);
        match (self.heartbeat_due, lost) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Stops heartbeating this path.
    pub(crate) fn stop_heartbeats(&mut self) {
        self.heartbeat = None;
        self.heartbeat_due = None;
    }

    /// RFC 9260 §8.3: the next heartbeat goes out after RTO + HB.interval, with a jitter of
    /// ±50% of the RTO; `jitter` is uniform in [0, 1).
    pub(crate) fn schedule_heartbeat(&mut self, now: Instant, interval: Duration, jitter: f64) {
        let rto = self.rto.rto();
        let spread = rto.mul_f64(jitter.clamp(0.0, 1.0)); // 0 .. RTO
        self.heartbeat_due = Some(now + rto / 2 + spread + interval);
    }
}
