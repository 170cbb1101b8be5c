//! Per-path state (RFC 9260 §6.4, §8.2, §8.3): address, RTO, error counter, heartbeat.
//!
//! Every association has a set of paths, one of them primary; a single-homed association is
//! a set of one. Congestion state (cwnd, ssthresh, partial_bytes_acked) joins here with data
//! transfer.

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
            heartbeat: None,
            heartbeat_due: None,
            send: None,
        }
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
