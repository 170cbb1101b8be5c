//! Configuration: protocol parameters (RFC 9260 §16 defaults) and the extensions offered.

use core::time::Duration;

/// Extensions this side offers in its INIT / INIT ACK. An extension is used only when both
/// sides offer it (RFC 9260 §3.3.2; RFC 5061 §4.2.7 Supported Extensions).
///
/// Defaults offer only what the core implements; the rest can be switched on for
/// negotiation tests but must not be relied on before their issue lands.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Extensions {
    /// PR-SCTP, FORWARD-TSN (RFC 3758).
    pub partial_reliability: bool,
    /// I-DATA and I-FORWARD-TSN (RFC 8260).
    pub interleaving: bool,
    /// Stream reconfiguration, RE-CONFIG (RFC 6525).
    pub stream_reconfig: bool,
    /// Zero checksum (RFC 9653): the Error Detection Method Identifier this side accepts in
    /// place of the CRC32c (1 = SCTP over DTLS), or `None`.
    pub zero_checksum_edmid: Option<u32>,
}

/// Per-association protocol parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssociationConfig {
    /// Outbound streams requested (OS in the INIT); the peer's MIS may lower it.
    pub outbound_streams: u16,
    /// Inbound streams allowed (MIS in the INIT).
    pub inbound_streams: u16,
    /// Receive window advertised in the INIT / INIT ACK, in bytes.
    pub receive_window: u32,
    /// RTO.Initial (RFC 9260 §16: 1 s).
    pub rto_initial: Duration,
    /// RTO.Min (RFC 9260 §16: 1 s).
    pub rto_min: Duration,
    /// RTO.Max (RFC 9260 §16: 60 s).
    pub rto_max: Duration,
    /// Max.Init.Retransmits (RFC 9260 §16: 8): INIT and COOKIE ECHO retransmissions before
    /// giving up.
    pub max_init_retransmits: u32,
    /// Association.Max.Retrans (RFC 9260 §16: 10): consecutive unanswered retransmissions and
    /// heartbeats, over all paths, before the association is declared unreachable.
    pub association_max_retrans: u32,
    /// Path.Max.Retrans (RFC 9260 §16: 5): the same, per path, before the path is inactive.
    pub path_max_retrans: u32,
    /// HB.interval (RFC 9260 §16: 30 s); `None` disables heartbeats.
    pub heartbeat_interval: Option<Duration>,
    /// Largest message accepted from the peer (and sent to it); the receive window is at
    /// least this large, since a message is reassembled whole before it is delivered.
    pub max_message_size: usize,
    /// Delayed SACK timer (RFC 9260 §6.2: 200 ms recommended, at most 500 ms).
    pub delayed_ack: Duration,
    /// Most bytes of messages queued for sending; `send` refuses more with
    /// `SendError::BufferFull`.
    pub send_buffer_size: usize,
    /// The stream scheduler (RFC 8260 §3).
    pub scheduler: crate::Scheduler,
    /// Send small messages at once (the default, as WebRTC wants). With `false`, a packet
    /// that new data would not fill is held back while data is in flight, and goes when a
    /// SACK arrives or enough data has queued to fill it (Nagle's algorithm, RFC 896).
    pub nodelay: bool,
    /// Max.Burst (RFC 9260 §16: 4): most packets sent in one burst.
    pub max_burst: usize,
    /// Largest SCTP packet sent, common header included (the path MTU minus IP and, over
    /// UDP, UDP headers). WebRTC's conventional 1200 by default.
    pub max_packet_size: usize,
    /// Valid.Cookie.Life (RFC 9260 §16: 60 s): how long a State Cookie this side makes stays
    /// valid.
    pub cookie_lifetime: Duration,
    /// Cookie life-span increment requested with a Cookie Preservative after a "Stale
    /// Cookie" error is measured from the exchange; this caps it (RFC 9260 §5.2.6 advises
    /// no more than 1 s beyond the measured RTT).
    pub max_cookie_preservative: Duration,
    /// Extensions offered.
    pub extensions: Extensions,
    /// Most paths (peer transport addresses) an association keeps, the first included
    /// (default 8); [`Association::add_path`](crate::Association::add_path) refuses more,
    /// so no caller or peer can grow the path set without bound. At least 1.
    pub max_paths: usize,
    /// Add a path for each IPv4 / IPv6 address the peer lists in its INIT ACK (RFC 9260
    /// §5.1.2), at the UDP port of path 0's remote (RFC 6951: one encapsulation port per
    /// peer), up to `max_paths`; each is UNCONFIRMED until a heartbeat comes back from it
    /// (§5.4). Only addresses of path 0's family are taken, and only when path 0 has an
    /// address. Off by default: a peer bound to a wildcard address lists every address it
    /// has, and probing them is a behaviour to opt into.
    pub learn_peer_addresses: bool,
}

/// The longest duration the core accepts for any timer setting: longer values are clamped,
/// so no `Instant + Duration` can overflow.
pub const MAX_TIMER: Duration = Duration::from_secs(24 * 3600);

impl AssociationConfig {
    /// The same configuration with every duration clamped to [`MAX_TIMER`], RTO.Min ≤
    /// RTO.Initial ≤ RTO.Max, the delayed-SACK timer at most 500 ms (RFC 9260 §6.2), and
    /// `max_paths` at least 1.
    pub fn sanitized(mut self) -> Self {
        let clamp = |d: Duration| d.min(MAX_TIMER);
        self.rto_max = clamp(self.rto_max).max(Duration::from_millis(1));
        self.rto_min = clamp(self.rto_min).min(self.rto_max);
        self.rto_initial = clamp(self.rto_initial).clamp(self.rto_min, self.rto_max);
        self.heartbeat_interval = self.heartbeat_interval.map(clamp);
        self.cookie_lifetime = clamp(self.cookie_lifetime);
        self.max_cookie_preservative = clamp(self.max_cookie_preservative);
        self.delayed_ack = self.delayed_ack.min(Duration::from_millis(500));
        // Path ids are u16, and path 0 always exists.
        self.max_paths = self.max_paths.clamp(1, usize::from(u16::MAX));
        self
    }
}

impl Default for AssociationConfig {
    fn default() -> Self {
        Self {
            outbound_streams: 1024,
            inbound_streams: 1024,
            receive_window: 1024 * 1024,
            rto_initial: Duration::from_secs(1),
            rto_min: Duration::from_secs(1),
            rto_max: Duration::from_secs(60),
            max_init_retransmits: 8,
            association_max_retrans: 10,
            path_max_retrans: 5,
            heartbeat_interval: Some(Duration::from_secs(30)),
            max_message_size: 256 * 1024,
            send_buffer_size: 4 * 1024 * 1024,
            scheduler: crate::Scheduler::RoundRobin,
            max_burst: 4,
            nodelay: true,
            delayed_ack: Duration::from_millis(200),
            max_packet_size: 1200,
            cookie_lifetime: Duration::from_secs(60),
            max_cookie_preservative: Duration::from_secs(10),
            extensions: Extensions::default(),
            max_paths: 8,
            learn_peer_addresses: false,
        }
    }
}

/// Endpoint parameters: what answers INITs before any state exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointConfig {
    /// The local SCTP port (WebRTC convention: 5000).
    pub port: u16,
    /// Whether INITs from unknown peers are answered (a server). A client-only endpoint
    /// answers them with an ABORT (RFC 9260 §8.4 rule 3 leaves this to the implementation).
    pub accept_incoming: bool,
    /// How often the cookie signing secret is replaced; cookies signed with the previous
    /// secret stay valid until the next rotation.
    pub cookie_secret_rotation: core::time::Duration,
    /// Seed of the deterministic random generator (verification tags, initial TSNs, cookie
    /// secrets, heartbeat nonces). A real deployment seeds it from the operating system.
    pub rng_seed: u64,
    /// Most stateless replies (INIT ACK, out-of-the-blue ABORT / SHUTDOWN COMPLETE) queued
    /// before the caller drains them; more are dropped, so a flood cannot grow memory.
    pub max_pending_replies: usize,
    /// Most associations; INITs beyond it are answered with an ABORT ("Out of Resource").
    pub max_associations: usize,
    /// Parameters of the associations this endpoint creates.
    pub association: AssociationConfig,
}

impl Default for EndpointConfig {
    fn default() -> Self {
        Self {
            port: 5000,
            accept_incoming: true,
            cookie_secret_rotation: core::time::Duration::from_secs(3600),
            rng_seed: 0,
            max_pending_replies: 256,
            max_associations: 65536,
            association: AssociationConfig::default(),
        }
    }
}
