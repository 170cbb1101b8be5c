//! What an association tells its user.

use braid_wire::ErrorCause;

use crate::ids::PathId;

/// Why an association ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// Graceful shutdown completed (RFC 9260 §9.2).
    Shutdown,
    /// The local user aborted, with this reason.
    Aborted(String),
    /// The peer sent an ABORT with these causes.
    PeerAborted(Vec<ErrorCause>),
    /// No INIT ACK after Max.Init.Retransmits retransmissions of the INIT (RFC 9260 §5.1 C).
    InitTimeout,
    /// No COOKIE ACK after Max.Init.Retransmits retransmissions of the COOKIE ECHO.
    CookieEchoTimeout,
    /// The peer kept answering "Stale Cookie" (RFC 9260 §5.2.6) until the retries ran out.
    StaleCookie,
    /// Association.Max.Retrans consecutive timeouts (RFC 9260 §8.1): the peer is unreachable.
    Unreachable,
    /// The T5-shutdown-guard timer expired (RFC 9260 §9.2).
    ShutdownGuardExpired,
    /// The peer broke the protocol in a way that ends the association; an ABORT was sent.
    ProtocolViolation(&'static str),
    /// The peer restarted in SHUTDOWN-ACK-SENT or the restart was refused.
    RestartRefused,
}

/// Something the user should know. Drained with `poll_event`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The association is ESTABLISHED (RFC 9260 §10 COMMUNICATION UP).
    Connected,
    /// The peer restarted (RFC 9260 §5.2.4 case A): a new incarnation replaced the old one
    /// under the same handle; stream state starts over.
    Restarted,
    /// The peer reported errors in an ERROR chunk (RFC 9260 §3.3.10).
    PeerError(Vec<ErrorCause>),
    /// A path's state changed between ACTIVE and INACTIVE (RFC 9260 §8.2): more than
    /// Path.Max.Retrans consecutive timeouts made it INACTIVE, a HEARTBEAT ACK made it
    /// ACTIVE again. While the primary path is INACTIVE, data goes to an ACTIVE alternate
    /// (§6.4.1), and returns to the primary when it is ACTIVE again.
    PathStatus {
        /// The path.
        path: PathId,
        /// Whether it is now ACTIVE.
        active: bool,
    },
    /// A path added with [`Association::add_path`](crate::Association::add_path) was
    /// verified by a HEARTBEAT ACK (RFC 9260 §5.4): it is CONFIRMED and may carry data.
    PathConfirmed {
        /// The path.
        path: PathId,
    },
    /// The stream's buffered amount fell to or below its low threshold (the WebRTC
    /// `bufferedamountlow` event).
    BufferedAmountLow(crate::ids::StreamId),
    /// The association's total buffered amount
    /// ([`Association::total_buffered`](crate::Association::total_buffered)) fell from above
    /// its low threshold to at or below it
    /// ([`Association::set_total_buffered_amount_low_threshold`](crate::Association::set_total_buffered_amount_low_threshold)):
    /// once per crossing, with the same rules as [`BufferedAmountLow`](Self::BufferedAmountLow)
    /// (with a threshold of 0 it fires each time the last queued byte is sent). Never raised
    /// until a threshold is set. A crossing not yet polled is reported once, however many
    /// followed it.
    TotalBufferedAmountLow,
    /// The peer started a graceful shutdown: it sends no more data.
    ShutdownStarted,
    /// The association ended; it sends nothing more once its output is drained.
    Closed(CloseReason),
}
