//! One SCTP association: the state machine of RFC 9260 from the first INIT to the last
//! SHUTDOWN COMPLETE.
//!
//! An [`Association`] is driven by four kinds of method (see the crate docs for the contract):
//! getters, inputs (`handle_*`), commands (`shutdown`, `abort`) and outputs (`poll_*`).
//! It reads no clock and touches no socket: time comes in as `now`, randomness from a seeded
//! generator, and packets go out through [`Association::poll_transmit`] into a caller buffer.
//!
//! Memory: the control queue is bounded ([`MAX_CONTROL_QUEUE`]); everything else is a fixed
//! set of fields and one entry per path (at most `max_paths`).

mod handshake;
mod receive;
mod send;
mod shutdown;
mod timers;

pub(crate) use send::PathSend;
pub use send::PathStats;

use core::time::Duration;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Instant;

use braid_wire::chunk::chunk_type;
use braid_wire::packet::RawChunk;
use braid_wire::{
    Abort, Bytes, ChecksumPolicy, Chunk, CommonHeader, ErrorCause, Heartbeat, Init, OperationError,
    Packet, PacketBuilder, Tsn, UnrecognizedAction,
};
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

use crate::config::AssociationConfig;
use crate::cookie::{CookieKeys, Negotiated};
use crate::data::Fragment;
use crate::event::{CloseReason, Event};
use crate::ids::{PathId, Ppid, StreamId};
use crate::ootb;
use crate::path::{Path, PathState, PendingHeartbeat};
use crate::rto::RtoEstimator;

/// Most control chunks waiting to be sent. Replies beyond it (HEARTBEAT ACKs, ERRORs) are
/// dropped, so a peer cannot grow the queue when the caller is slow to drain it.
pub const MAX_CONTROL_QUEUE: usize = 256;

/// How often a standalone association replaces its cookie secret.
const STANDALONE_SECRET_ROTATION: Duration = Duration::from_secs(3600);

/// Why [`Association::add_path`] or [`Endpoint::add_path`](crate::Endpoint::add_path)
/// refused a path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AddPathError {
    /// The association has `max_paths` paths already (`AssociationConfig::max_paths`).
    #[error("the association has {max} paths already")]
    TooManyPaths {
        /// The limit.
        max: usize,
    },
    /// The association has a path to this remote address already.
    #[error("a path to {0} exists already")]
    Duplicate(SocketAddr),
    /// The association has closed.
    #[error("the association has closed")]
    Closed,
    /// The endpoint has no association with this handle.
    #[error("no such association")]
    UnknownAssociation,
    /// Another association of the endpoint has a path to this address and SCTP port.
    #[error("{0} belongs to another association")]
    AddressInUse(SocketAddr),
}

/// Association states (RFC 9260 §4), without their data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// No association: either listening for an INIT, or finished.
    Closed,
    /// INIT sent, waiting for the INIT ACK.
    CookieWait,
    /// COOKIE ECHO sent, waiting for the COOKIE ACK.
    CookieEchoed,
    /// Up.
    Established,
    /// The user asked for shutdown; outstanding data is still being delivered.
    ShutdownPending,
    /// SHUTDOWN sent, waiting for the SHUTDOWN ACK.
    ShutdownSent,
    /// SHUTDOWN received; outstanding data is still being delivered.
    ShutdownReceived,
    /// SHUTDOWN ACK sent, waiting for the SHUTDOWN COMPLETE.
    ShutdownAckSent,
}

impl State {
    /// Whether heartbeats are sent: not before the association is up, and not once SHUTDOWN
    /// or SHUTDOWN ACK has been sent (RFC 9260 §8.3).
    fn heartbeats(self) -> bool {
        matches!(
            self,
            Self::Established | Self::ShutdownPending | Self::ShutdownReceived
        )
    }

    /// Whether the association has a TCB with both tags known and has not yet closed.
    fn is_up(self) -> bool {
        matches!(
            self,
            Self::Established
                | Self::ShutdownPending
                | Self::ShutdownSent
                | Self::ShutdownReceived
                | Self::ShutdownAckSent
        )
    }
}

/// Which side started the association.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// This side sent the INIT (`connect`).
    Client,
    /// The peer sent the INIT (`accept`, or an endpoint accepting it).
    Server,
}

/// The SCTP ports of an association (the common header's source and destination).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ports {
    /// This side's port.
    pub local: u16,
    /// The peer's port.
    pub peer: u16,
}

impl Default for Ports {
    /// The WebRTC convention: 5000 on both sides (RFC 8841 §5).
    fn default() -> Self {
        Self {
            local: 5000,
            peer: 5000,
        }
    }
}

/// One packet written by [`Association::poll_transmit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transmit {
    /// The path to send it on.
    pub path: PathId,
    /// The path's remote address, when the association runs over a socket.
    pub remote: Option<SocketAddr>,
    /// The packet's length: it is the last `len` bytes of the buffer.
    pub len: usize,
}

/// Counters an operator wants. Cheap to copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    /// Packets written by `poll_transmit`.
    pub packets_sent: u64,
    /// Bytes written by `poll_transmit`.
    pub bytes_sent: u64,
    /// Packets accepted by `handle_packet` (checksum and framing valid).
    pub packets_received: u64,
    /// Bytes of accepted packets.
    pub bytes_received: u64,
    /// Packets dropped: bad checksum or framing, wrong ports, wrong verification tag.
    pub packets_dropped: u64,
    /// INIT and COOKIE ECHO retransmissions.
    pub handshake_retransmits: u64,
    /// HEARTBEATs sent.
    pub heartbeats_sent: u64,
    /// HEARTBEAT ACKs that matched an outstanding heartbeat.
    pub heartbeat_acks: u64,
    /// Control chunks dropped because the queue was full.
    pub control_dropped: u64,
    /// DATA / I-DATA chunks accepted (new TSNs).
    pub data_chunks_received: u64,
    /// User bytes in accepted chunks.
    pub data_bytes_received: u64,
    /// Messages handed to the application.
    pub messages_received: u64,
    /// Chunks dropped for lack of buffer space or beyond the tracked TSN range.
    pub data_dropped: u64,
    /// Chunks held for reassembly and then dropped again to make room for one that fills a
    /// gap below them (RFC 9260 §6.2); they are no longer acknowledged, so the peer resends.
    pub data_reneged: u64,
    /// DATA chunks received again (their TSN was already acknowledged or held).
    pub duplicate_tsns_received: u64,
    /// SACKs sent.
    pub sacks_sent: u64,
    /// Messages accepted by `send`.
    pub messages_sent: u64,
    /// DATA / I-DATA chunks sent for the first time.
    pub data_chunks_sent: u64,
    /// User bytes in chunks sent for the first time.
    pub data_bytes_sent: u64,
    /// Chunks sent again (fast or timer retransmission).
    pub retransmissions: u64,
    /// Chunks marked for fast retransmission (RFC 9260 §7.2.4).
    pub fast_retransmits: u64,
    /// T3-rtx expiries (RFC 9260 §6.3.3).
    pub timer_retransmit_events: u64,
    /// SACKs received.
    pub sacks_received: u64,
}

/// A chunk waiting to go out, with the packet header fields it needs.
#[derive(Debug, Clone)]
struct Outgoing {
    path: PathId,
    /// The verification tag of the packet carrying it.
    tag: u32,
    chunk: Chunk,
}

/// Whether to go on with the rest of a packet's chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Continue,
    Stop,
}

/// Association-level timers (path timers live in [`Path`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Timer {
    /// T1-init or T1-cookie (RFC 9260 §5.1): which one follows from the state.
    T1,
    /// T2-shutdown (RFC 9260 §9.2).
    T2,
    /// T5-shutdown-guard (RFC 9260 §9.2).
    T5,
}

const TIMER_COUNT: usize = 3;

/// An SCTP association: one peer, its streams, its paths and their timers. Feed it packets
/// ([`handle_packet`](Self::handle_packet)) and time ([`handle_timeout`](Self::handle_timeout));
/// take packets ([`poll_transmit`](Self::poll_transmit)), deadlines
/// ([`poll_timeout`](Self::poll_timeout)) and events ([`poll_event`](Self::poll_event)). The
/// crate docs show the loop.
#[derive(Debug)]
pub struct Association {
    config: AssociationConfig,
    side: Side,
    ports: Ports,
    state: State,
    /// In CLOSED, whether INITs are answered (a standalone association that accepts).
    listening: bool,
    /// The tag the peer puts in packets to us (0 before we chose one).
    local_tag: u32,
    /// The tag we put in packets to the peer (0 while unknown).
    peer_tag: u32,
    negotiated: Option<Negotiated>,
    local_initial_tsn: Tsn,
    /// Last TSN received in sequence (the SHUTDOWN's Cumulative TSN Ack).
    cumulative_tsn_received: Tsn,

    // Handshake.
    /// Our INIT, kept while COOKIE-WAIT / COOKIE-ECHOED for retransmission and §5.2.1.
    init: Option<Init>,
    /// The State Cookie we echo, while COOKIE-ECHOED.
    cookie: Option<Bytes>,
    /// An ERROR reporting the INIT ACK's unrecognized parameters, bundled after the COOKIE ECHO.
    cookie_echo_error: Option<OperationError>,
    /// When the first INIT / COOKIE ECHO of the current exchange went out (Karn: only an
    /// unretransmitted one gives an RTT sample).
    handshake_sent: Option<Instant>,
    handshake_retransmits: u32,
    stale_cookie_retries: u32,

    // Paths and failure detection.
    paths: Vec<Path>,
    primary: PathId,
    /// After a T3-rtx expiry, the alternate path its retransmissions go to (RFC 9260 §6.4.1),
    /// while chunks stay marked for retransmission.
    rtx_path: Option<PathId>,
    /// The path the last DATA arrived on: where the SACK goes (RFC 9260 §6.4).
    sack_path: PathId,
    /// Paths with an address added since the endpoint last looked (at most `max_paths`):
    /// it routes datagrams from those addresses to them.
    new_remotes: Vec<(PathId, SocketAddr)>,
    /// Consecutive timeouts over all paths (RFC 9260 §8.1).
    error_count: u32,

    timers: [Option<Instant>; TIMER_COUNT],
    rng: ChaCha8Rng,
    epoch: Instant,
    /// Cookie secrets for a standalone association (an endpoint passes its own). Boxed: they
    /// are taken out and put back for every packet, and two HMAC states are hundreds of bytes.
    keys: Option<Box<CookieKeys>>,

    /// Send path, once the association is up.
    sender: Option<send::Sender>,
    /// Receive path, once the association is up.
    receiver: Option<receive::Receiver>,
    /// Per received packet: its length, whether it carried DATA, and whether any had the I
    /// bit.
    packet_len: usize,
    packet_had_data: bool,
    packet_immediate: bool,

    control: VecDeque<Outgoing>,
    events: VecDeque<Event>,
    close_reason: Option<CloseReason>,
    stats: Stats,
    /// Which of its endpoint's work queues hold this association (kept by the endpoint).
    pub(crate) queued: Queued,
}

/// An association's membership of its endpoint's work queues: a flag here instead of a
/// set lookup per packet.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Queued {
    pub(crate) transmit: bool,
    pub(crate) events: bool,
    pub(crate) readable: bool,
}

impl Association {
    fn new(
        now: Instant,
        config: AssociationConfig,
        ports: Ports,
        rng_seed: u64,
        remote: Option<SocketAddr>,
    ) -> Self {
        let config = config.sanitized();
        let mut rng = ChaCha8Rng::seed_from_u64(rng_seed);
        let keys = CookieKeys::new(now, STANDALONE_SECRET_ROTATION, &mut rng);
        let rto = RtoEstimator::new(config.rto_initial, config.rto_min, config.rto_max);
        Self {
            side: Side::Server,
            ports,
            state: State::Closed,
            listening: false,
            local_tag: 0,
            peer_tag: 0,
            negotiated: None,
            local_initial_tsn: Tsn(0),
            cumulative_tsn_received: Tsn(0),
            init: None,
            cookie: None,
            cookie_echo_error: None,
            handshake_sent: None,
            handshake_retransmits: 0,
            stale_cookie_retries: 0,
            paths: vec![Path::new(PathId(0), remote, rto)],
            primary: PathId(0),
            rtx_path: None,
            sack_path: PathId(0),
            new_remotes: Vec::new(),
            error_count: 0,
            timers: [None; TIMER_COUNT],
            rng,
            epoch: now,
            keys: Some(Box::new(keys)),
            sender: None,
            receiver: None,
            packet_len: 0,
            packet_had_data: false,
            packet_immediate: false,
            control: VecDeque::new(),
            events: VecDeque::new(),
            close_reason: None,
            stats: Stats::default(),
            queued: Queued::default(),
            config,
        }
    }

    /// Starts an association by sending an INIT (RFC 9260 §5.1 A). `remote` is the peer's
    /// address when there is a socket, `None` over a transport such as DTLS.
    pub fn connect(
        now: Instant,
        config: AssociationConfig,
        ports: Ports,
        rng_seed: u64,
        remote: Option<SocketAddr>,
    ) -> Self {
        let mut a = Self::new(now, config, ports, rng_seed, remote);
        a.side = Side::Client;
        a.local_tag = crate::handshake::nonzero_u32(&mut a.rng);
        a.local_initial_tsn = Tsn(a.rng.next_u32());
        a.send_init(now, None);
        a
    }

    /// An association that waits for the peer's INIT and answers it statelessly with a
    /// signed cookie (RFC 9260 §5.1 B), becoming ESTABLISHED on a valid COOKIE ECHO. This is
    /// the server role when there is no [`Endpoint`](crate::Endpoint) (e.g. over DTLS).
    pub fn accept(
        now: Instant,
        config: AssociationConfig,
        ports: Ports,
        rng_seed: u64,
        remote: Option<SocketAddr>,
    ) -> Self {
        let mut a = Self::new(now, config, ports, rng_seed, remote);
        a.listening = true;
        a
    }

    /// An association created by an endpoint from a valid COOKIE ECHO.
    pub(crate) fn from_cookie(
        now: Instant,
        config: AssociationConfig,
        rng_seed: u64,
        remote: Option<SocketAddr>,
        contents: &crate::cookie::CookieContents,
    ) -> Self {
        let ports = Ports {
            local: contents.local_port,
            peer: contents.peer_port,
        };
        let mut a = Self::new(now, config, ports, rng_seed, remote);
        a.keys = None;
        a.establish_from_cookie(now, PathId(0), contents, false);
        a
    }

    // ---------------------------------------------------------------- getters

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// Whether this side sent the INIT. An endpoint user learns of an accepted association
    /// from its first event, `Connected`, on a handle with `Side::Server`.
    pub fn side(&self) -> Side {
        self.side
    }

    /// Why the association closed, once it has.
    pub fn close_reason(&self) -> Option<&CloseReason> {
        self.close_reason.as_ref()
    }

    /// What the handshake negotiated, once the association is up.
    pub fn negotiated(&self) -> Option<&Negotiated> {
        self.negotiated.as_ref()
    }

    /// The SCTP ports.
    pub fn ports(&self) -> Ports {
        self.ports
    }

    /// This side's verification tag (what the peer must put in its packets), 0 before one
    /// was chosen.
    pub fn local_tag(&self) -> u32 {
        self.local_tag
    }

    /// The peer's verification tag, 0 while unknown.
    pub fn peer_tag(&self) -> u32 {
        self.peer_tag
    }

    /// Counters.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// The primary path.
    pub fn primary_path(&self) -> PathId {
        self.primary
    }

    /// The peer's transport address on the primary path (when the association was given
    /// one: by `Endpoint`, always).
    pub fn primary_remote(&self) -> Option<SocketAddr> {
        self.path(self.primary).and_then(|p| p.remote)
    }

    /// The paths, in the order they were added: `PathId(0)` first.
    pub fn paths(&self) -> impl Iterator<Item = PathId> + '_ {
        self.paths.iter().map(|p| p.id)
    }

    /// A path's state: UNCONFIRMED, ACTIVE or INACTIVE (RFC 9260 §5.4, §8.2); `None` for a
    /// path the association does not have.
    pub fn path_state(&self, path: PathId) -> Option<PathState> {
        self.path(path).map(Path::state)
    }

    /// A path's remote transport address, when it has one.
    pub fn path_remote(&self, path: PathId) -> Option<SocketAddr> {
        self.path(path).and_then(|p| p.remote)
    }

    /// The path DATA goes to now: the primary while it is ACTIVE, otherwise one ACTIVE
    /// alternate (RFC 9260 §6.4.1), the lowest-numbered.
    pub fn current_path(&self) -> PathId {
        self.data_path()
    }

    /// The path whose remote address is `remote`.
    pub(crate) fn path_to(&self, remote: SocketAddr) -> Option<PathId> {
        self.paths
            .iter()
            .find(|p| p.remote == Some(remote))
            .map(|p| p.id)
    }

    /// The one path whose remote address has this IP address (and any port), if exactly one
    /// has.
    pub(crate) fn only_path_with_ip(&self, ip: std::net::IpAddr) -> Option<(PathId, SocketAddr)> {
        let mut found = None;
        for p in &self.paths {
            if let Some(r) = p.remote.filter(|r| r.ip() == ip) {
                if found.is_some() {
                    return None;
                }
                found = Some((p.id, r));
            }
        }
        found
    }

    /// Moves a path to a new peer address (the endpoint does it when the peer's UDP
    /// encapsulation port changes, RFC 6951 §5.4).
    pub(crate) fn set_path_remote(&mut self, path: PathId, remote: SocketAddr) {
        if let Some(p) = self.path_mut(path) {
            p.remote = Some(remote);
        }
    }

    /// The current RTO of a path.
    pub fn rto(&self, path: PathId) -> Option<Duration> {
        self.path(path).map(|p| p.rto.rto())
    }

    /// The smoothed RTT of a path, once measured.
    pub fn srtt(&self, path: PathId) -> Option<Duration> {
        self.path(path).and_then(|p| p.rto.srtt())
    }

    /// Whether the association has closed and has nothing left to send, report or read: its
    /// owner may drop it.
    pub fn is_drained(&self) -> bool {
        self.state == State::Closed
            && !self.listening
            && self.control.is_empty()
            && self.events.is_empty()
            && self.readable_messages() == 0
    }

    fn path(&self, id: PathId) -> Option<&Path> {
        self.paths.iter().find(|p| p.id == id)
    }

    fn path_mut(&mut self, id: PathId) -> Option<&mut Path> {
        self.paths.iter_mut().find(|p| p.id == id)
    }

    /// The path for DATA and for chunks that are not replies.
    ///
    /// RFC 9260 §6.4: "By default, an endpoint SHOULD always transmit to the primary path";
    /// §6.4.1: when the primary is INACTIVE, the endpoint "SHOULD try to send the data to an
    /// alternate active destination transport address if one exists"; §8.2: "only ONE
    /// transport address SHOULD be chosen" — the lowest-numbered ACTIVE one, so the choice
    /// is stable. §5.4: nothing but HEARTBEATs goes to an UNCONFIRMED path. With no ACTIVE
    /// path at all, the primary (every path is as bad; the heartbeats tell when one is back).
    fn data_path(&self) -> PathId {
        if self.paths.len() == 1 {
            return self.primary;
        }
        if self.path(self.primary).is_some_and(Path::usable) {
            return self.primary;
        }
        self.paths
            .iter()
            .find(|p| p.usable())
            .map_or(self.primary, |p| p.id)
    }

    /// An ACTIVE path other than `from` for the retransmissions of a T3-rtx expiry on `from`
    /// (RFC 9260 §6.4: "an endpoint SHOULD try to retransmit a chunk that timed out to an
    /// active destination transport address that is different from the last destination
    /// address to which the DATA chunk was sent"). §6.4.1 leaves the choice among several
    /// to the implementation: the current data path if it is another one, else the
    /// lowest-numbered.
    fn alternate_path(&self, from: PathId) -> Option<PathId> {
        if self.paths.len() == 1 {
            return None;
        }
        let ok = |p: &Path| p.id != from && p.usable() && p.send.is_some();
        let data = self.data_path();
        if self.path(data).is_some_and(ok) {
            return Some(data);
        }
        self.paths.iter().find(|p| ok(p)).map(|p| p.id)
    }

    /// Where the next DATA packet goes, and whether it may carry only retransmissions: the
    /// alternate chosen at a T3-rtx expiry while chunks wait for retransmission there (new
    /// data waits too: RFC 9260 §6.1 C, marked chunks go "before sending new DATA chunks"),
    /// otherwise the data path.
    fn data_target(&self) -> (PathId, bool) {
        let data = self.data_path();
        match self.rtx_path {
            Some(r)
                if r != data
                    && self.path(r).is_some_and(Path::usable)
                    && self
                        .sender
                        .as_ref()
                        .is_some_and(|s| s.outstanding.has_retransmits()) =>
            {
                (r, true)
            }
            _ => (data, false),
        }
    }

    /// RFC 9260 §6.4: "An endpoint SHOULD transmit reply chunks (e.g., SACK, HEARTBEAT ACK)
    /// to the same destination transport address from which it received the DATA or
    /// control chunk to which it is replying." The SACK goes to the path of the last DATA,
    /// unless that path is not usable from this side (UNCONFIRMED, §5.4, or INACTIVE: its
    /// return direction is failing), then to the data path.
    fn sack_destination(&self) -> PathId {
        if self.path(self.sack_path).is_some_and(Path::usable) {
            self.sack_path
        } else {
            self.data_path()
        }
    }

    // ---------------------------------------------------------------- inputs

    /// Feeds one received SCTP packet (common header onwards) that arrived on `path`.
    ///
    /// Anything malformed, with a bad checksum, for other ports or with a wrong verification
    /// tag is dropped, or answered as RFC 9260 says; nothing here can panic.
    pub fn handle_packet(&mut self, now: Instant, path: PathId, data: Bytes) {
        let Ok(packet) = Packet::parse(data, self.checksum_policy()) else {
            self.stats.packets_dropped += 1;
            return;
        };
        let Some(mut keys) = self.keys.take() else {
            return;
        };
        keys.rotate_if_due(now, &mut self.rng);
        self.handle_parsed(now, path, packet, &keys);
        self.keys = Some(keys);
    }

    /// The checksum policy for received packets: zero checksums are accepted once we have
    /// offered to accept them (RFC 9653 §5).
    pub(crate) fn checksum_policy(&self) -> ChecksumPolicy {
        if self.config.extensions.zero_checksum_edmid.is_some() {
            ChecksumPolicy::ZeroAllowed
        } else {
            ChecksumPolicy::Crc32c
        }
    }

    /// Processes a parsed packet; the endpoint calls this with its own cookie secrets.
    pub(crate) fn handle_parsed(
        &mut self,
        now: Instant,
        path: PathId,
        packet: Packet,
        keys: &CookieKeys,
    ) {
        let h = *packet.header();
        if h.dst_port != self.ports.local
            || h.src_port != self.ports.peer
            || self.path(path).is_none()
        {
            self.stats.packets_dropped += 1;
            return;
        }
        self.stats.packets_received += 1;
        self.packet_len = packet.as_bytes().len();
        self.stats.bytes_received += packet.as_bytes().len() as u64;

        if self.state == State::Closed {
            self.handle_without_tcb(now, path, &packet, keys);
            return;
        }
        let vtag = h.verification_tag;
        for raw in packet.into_raw_chunks() {
            if self.handle_chunk(now, path, vtag, raw, keys) == Flow::Stop
                || self.state == State::Closed
            {
                break;
            }
        }
        self.end_of_packet(now);
    }

    /// Processes the chunks after the first one: those bundled with the COOKIE ECHO that
    /// created this association (RFC 9260 §5.1 D).
    pub(crate) fn handle_after_first(
        &mut self,
        now: Instant,
        path: PathId,
        packet: &Packet,
        keys: &CookieKeys,
    ) {
        let vtag = packet.header().verification_tag;
        for raw in packet.raw_chunks().skip(1) {
            if self.handle_chunk(now, path, vtag, raw, keys) == Flow::Stop
                || self.state == State::Closed
            {
                break;
            }
        }
        self.end_of_packet(now);
    }

    /// CLOSED: a listening association answers INIT and COOKIE ECHO; everything else is out of
    /// the blue (RFC 9260 §8.4).
    fn handle_without_tcb(
        &mut self,
        now: Instant,
        path: PathId,
        packet: &Packet,
        keys: &CookieKeys,
    ) {
        let vtag = packet.header().verification_tag;
        let first = packet.raw_chunks().next();
        match first.as_ref().map(|c| (c.chunk_type, c.parse())) {
            Some((chunk_type::INIT, Ok(Chunk::Init(init)))) if self.listening => {
                // §8.5.1 A: an INIT must carry tag 0.
                if vtag == 0 {
                    self.answer_init_statelessly(now, path, &init, keys);
                }
            }
            Some((chunk_type::COOKIE_ECHO, Ok(Chunk::CookieEcho(echo)))) if self.listening => {
                self.handle_cookie_echo(now, path, vtag, &echo.cookie, keys);
                // RFC 9260 §5.1 D: chunks bundled after the COOKIE ECHO belong to the new
                // association.
                if self.state.is_up() {
                    self.handle_after_first(now, path, packet, keys);
                }
            }
            _ => {
                // A peer can provoke these at will: bounded like every other reply.
                if let Some((tag, reply)) = ootb::reply(packet) {
                    self.queue_reply(path, tag, reply);
                }
            }
        }
    }

    /// Dispatches one chunk of a packet received with a TCB.
    fn handle_chunk(
        &mut self,
        now: Instant,
        path: PathId,
        vtag: u32,
        mut raw: RawChunk,
        keys: &CookieKeys,
    ) -> Flow {
        let tag_ok = vtag == self.local_tag;
        // RFC 9260 §8.5.1: INIT, ABORT, SHUTDOWN COMPLETE, COOKIE ECHO and (in the handshake
        // states) SHUTDOWN ACK have their own tag rules; every other chunk needs our tag.
        let own_rules = matches!(
            raw.chunk_type,
            chunk_type::INIT
                | chunk_type::ABORT
                | chunk_type::SHUTDOWN_COMPLETE
                | chunk_type::COOKIE_ECHO
        ) || (raw.chunk_type == chunk_type::SHUTDOWN_ACK && !self.state.is_up());
        if !own_rules && !tag_ok {
            self.stats.packets_dropped += 1;
            return Flow::Stop;
        }
        let parsed = match raw.chunk_type {
            // The data path: the chunk's bytes become the payload as they are.
            chunk_type::DATA | chunk_type::I_DATA => {
                Chunk::parse_owned(raw.chunk_type, raw.flags, core::mem::take(&mut raw.value))
            }
            _ => raw.parse(),
        };
        let chunk = match parsed {
            Ok(c) => c,
            // A chunk whose value cannot be decoded: drop it and the rest of the packet.
            Err(_) => return Flow::Stop,
        };
        match chunk {
            Chunk::Init(init) => {
                if vtag == 0 {
                    self.handle_init(now, path, &init, keys);
                }
                Flow::Stop
            }
            Chunk::InitAck(ack) => {
                self.handle_init_ack(now, path, ack);
                Flow::Continue
            }
            Chunk::CookieEcho(echo) => {
                self.handle_cookie_echo(now, path, vtag, &echo.cookie, keys);
                Flow::Continue
            }
            Chunk::CookieAck => {
                self.handle_cookie_ack(now);
                Flow::Continue
            }
            Chunk::Abort(abort) => {
                // §8.5.1 B: our tag without the T bit, or the peer's tag with it.
                let accepted = if abort.t_bit {
                    self.peer_tag != 0 && vtag == self.peer_tag
                } else {
                    tag_ok
                };
                if accepted && abort.t_bit && self.state == State::ShutdownAckSent {
                    // A T-bit ABORT comes from a peer without a TCB (§8.4 rule 8). In
                    // SHUTDOWN-ACK-SENT that means it already completed the shutdown and our
                    // lost SHUTDOWN COMPLETE never reached it: everything was acknowledged
                    // both ways before SHUTDOWN ACK went out (§9.2), so the shutdown is done.
                    self.close(CloseReason::Shutdown);
                    Flow::Stop
                } else if accepted {
                    self.close(CloseReason::PeerAborted(abort.causes));
                    Flow::Stop
                } else {
                    self.stats.packets_dropped += 1;
                    Flow::Stop
                }
            }
            Chunk::ShutdownComplete(sc) => {
                // §8.5.1 C: the same tag rule as ABORT.
                let accepted = if sc.t_bit {
                    self.peer_tag != 0 && vtag == self.peer_tag
                } else {
                    tag_ok
                };
                if accepted {
                    self.handle_shutdown_complete();
                }
                Flow::Stop
            }
            Chunk::Shutdown(shutdown) => {
                self.handle_shutdown(now, path, shutdown.cumulative_tsn_ack);
                Flow::Continue
            }
            Chunk::ShutdownAck => {
                self.handle_shutdown_ack(path, vtag);
                Flow::Stop
            }
            Chunk::Heartbeat(hb) => {
                if self.state.is_up() || self.state == State::CookieEchoed {
                    // RFC 9260 §8.3: echo the Heartbeat Info unchanged, to the source.
                    self.queue_reply(path, self.peer_tag, Chunk::HeartbeatAck(hb));
                }
                Flow::Continue
            }
            Chunk::Data(d) => {
                self.sack_path = path;
                let frag = Fragment {
                    stream: StreamId(d.stream_id),
                    seq: u32::from(d.ssn.0),
                    fsn: 0,
                    ppid: Ppid(d.ppid),
                    unordered: d.unordered,
                    beginning: d.beginning,
                    ending: d.ending,
                    payload: d.payload,
                };
                self.handle_data(path, d.tsn, frag, d.immediate_sack, false)
            }
            Chunk::IData(d) => {
                self.sack_path = path;
                let frag = Fragment {
                    stream: StreamId(d.stream_id),
                    seq: d.mid.0,
                    fsn: d.fsn.0,
                    ppid: Ppid(d.ppid),
                    unordered: d.unordered,
                    beginning: d.beginning,
                    ending: d.ending,
                    payload: d.payload,
                };
                self.handle_data(path, d.tsn, frag, d.immediate_sack, true)
            }
            Chunk::Sack(sack) => {
                if self.state.is_up() {
                    self.handle_sack(now, &sack);
                }
                Flow::Continue
            }
            Chunk::HeartbeatAck(hb) => {
                self.handle_heartbeat_ack(now, &hb);
                Flow::Continue
            }
            Chunk::Error(err) => {
                self.handle_error(now, err);
                Flow::Continue
            }
            // Unknown types, and chunks this core does not implement yet, are treated as
            // RFC 9260 §3.2 says for a type the receiver does not recognise: by the upper two
            // bits of the type. Until data transfer lands, DATA and SACK (types 0 and 3, bits
            // 00) thus stop the packet without a report; AUTH, ASCONF, ASCONF-ACK, ECNE and
            // CWR are never offered, so a peer has no business sending them.
            _ => self.handle_unrecognized_chunk(path, &raw),
        }
    }

    /// An ERROR chunk: "Stale Cookie" restarts the handshake (RFC 9260 §5.2.6); everything
    /// is reported to the user.
    fn handle_error(&mut self, now: Instant, err: OperationError) {
        let stale = err.causes.iter().find_map(|c| match c {
            ErrorCause::StaleCookie(s) => Some(s.staleness_us),
            _ => None,
        });
        // Report first: giving up on a stale cookie closes the association, and `Closed` is
        // always the last event.
        self.events.push_back(Event::PeerError(err.causes));
        if let (Some(staleness_us), State::CookieEchoed) = (stale, self.state) {
            self.handle_stale_cookie(now, staleness_us);
        }
    }

    /// RFC 9260 §3.2: a chunk type this side does not process. Report it (with the whole
    /// chunk, unpadded, in an "Unrecognized Chunk Type" cause) if its upper bits say so, and
    /// say whether to go on with the packet.
    fn handle_unrecognized_chunk(&mut self, path: PathId, raw: &RawChunk) -> Flow {
        let action = UnrecognizedAction::for_chunk_type(raw.chunk_type);
        if action.reports() {
            let chunk = Bytes::from(raw.to_wire());
            let cause =
                ErrorCause::UnrecognizedChunkType(braid_wire::cause::UnrecognizedChunkType {
                    chunk,
                });
            self.queue_reply(
                path,
                self.peer_tag,
                Chunk::Error(OperationError {
                    causes: vec![cause],
                }),
            );
        }
        if action.skips() {
            Flow::Continue
        } else {
            Flow::Stop
        }
    }

    // ---------------------------------------------------------------- commands

    /// Starts a graceful shutdown (RFC 9260 §9.2). Before the association is up, it is
    /// abandoned instead (with an ABORT if the peer's tag is known).
    pub fn shutdown(&mut self, now: Instant) {
        match self.state {
            State::Established => {
                // §9.2: SHUTDOWN-PENDING until everything queued is sent and acknowledged.
                self.state = State::ShutdownPending;
                self.after_acknowledgement(now);
            }
            State::CookieWait | State::CookieEchoed => {
                self.abort(now, "shutdown before the association was up")
            }
            _ => {}
        }
    }

    /// Aborts the association (RFC 9260 §9.1), telling the peer why with a "User-Initiated
    /// Abort" cause.
    pub fn abort(&mut self, _now: Instant, reason: &str) {
        if self.state == State::Closed {
            return;
        }
        // An ABORT is the last word: whatever was queued for this TCB goes unsent.
        self.control.clear();
        if self.peer_tag != 0 {
            let cause = ErrorCause::UserInitiatedAbort(braid_wire::cause::Reason::new(
                Bytes::copy_from_slice(reason.as_bytes()),
            ));
            self.queue(
                self.data_path(),
                self.peer_tag,
                Chunk::Abort(Abort {
                    t_bit: false,
                    causes: vec![cause],
                }),
            );
        }
        self.close(CloseReason::Aborted(reason.to_owned()));
    }

    /// Adds a path to another transport address of the peer (as `sctp_connectx` or the
    /// addresses a peer lists in its INIT would), and returns its id: the next unused one,
    /// `PathId(1)` for the first added. `remote` is `None` when the caller routes paths by
    /// id itself (a simulator, DTLS).
    ///
    /// The path gets its own RTO estimator (starting at RTO.Initial, RFC 9260 §6.3.1), its
    /// own congestion window once the association is up (§7.2.1), and its own heartbeats
    /// (§8.3). It starts UNCONFIRMED (§5.4): it is probed with a HEARTBEAT at once if the
    /// association is up (else when it comes up), then once per RTO until a HEARTBEAT ACK
    /// confirms it ([`Event::PathConfirmed`]); until then nothing else is sent there. A
    /// path cannot be removed.
    ///
    /// Bounded by `AssociationConfig::max_paths`, counting path 0.
    pub fn add_path(
        &mut self,
        now: Instant,
        remote: Option<SocketAddr>,
    ) -> Result<PathId, AddPathError> {
        if self.state == State::Closed && (self.close_reason.is_some() || !self.listening) {
            return Err(AddPathError::Closed);
        }
        if self.paths.len() >= self.config.max_paths {
            return Err(AddPathError::TooManyPaths {
                max: self.config.max_paths,
            });
        }
        if let Some(r) = remote.filter(|r| self.path_to(*r).is_some()) {
            return Err(AddPathError::Duplicate(r));
        }
        // Ids are dense (paths are never removed) and below max_paths ≤ u16::MAX.
        let Ok(raw) = u16::try_from(self.paths.len()) else {
            return Err(AddPathError::TooManyPaths {
                max: self.config.max_paths,
            });
        };
        let id = PathId(raw);
        let rto = RtoEstimator::new(
            self.config.rto_initial,
            self.config.rto_min,
            self.config.rto_max,
        );
        let mut path = Path::new(id, remote, rto);
        path.confirmed = false;
        // §7.2.1: a path of a live association starts from the initial cwnd; otherwise
        // `start_sender` gives it one with the others.
        path.send = self.new_path_send();
        if self.state.heartbeats() {
            // §5.4: "These probing procedures are started when an association moves to the
            // ESTABLISHED state": for a path added later, at once.
            path.heartbeat_due = Some(now);
        }
        self.paths.push(path);
        if let Some(r) = remote {
            self.new_remotes.push((id, r));
        }
        Ok(id)
    }

    /// The paths with an address added since the last call (for the endpoint's routes).
    pub(crate) fn take_new_remotes(&mut self) -> Option<Vec<(PathId, SocketAddr)>> {
        if self.new_remotes.is_empty() {
            None
        } else {
            Some(core::mem::take(&mut self.new_remotes))
        }
    }

    /// RFC 9260 §5.1.2: the peer's transport addresses are the IPv4 / IPv6 addresses its
    /// INIT ACK lists, plus the source address of the packet (path 0). Over UDP the port is
    /// the peer's encapsulation port, path 0's (RFC 6951 §5.1: one UDP port per SCTP stack).
    /// Each becomes an UNCONFIRMED path (§5.4), within `max_paths`; addresses that cannot be
    /// a unicast peer, or of the other family than path 0's, are skipped.
    fn learn_addresses(&mut self, now: Instant, addresses: &[std::net::IpAddr]) {
        if !self.config.learn_peer_addresses || addresses.is_empty() {
            return;
        }
        let Some(base) = self.path(PathId(0)).and_then(|p| p.remote) else {
            return;
        };
        for &ip in addresses {
            let unicast = match ip {
                std::net::IpAddr::V4(v4) => {
                    !v4.is_unspecified() && !v4.is_multicast() && !v4.is_broadcast()
                }
                std::net::IpAddr::V6(v6) => !v6.is_unspecified() && !v6.is_multicast(),
            };
            if !unicast || ip.is_ipv4() != base.is_ipv4() {
                continue;
            }
            let remote = SocketAddr::new(ip, base.port());
            if self.path_to(remote).is_some() {
                continue;
            }
            if self.add_path(now, Some(remote)).is_err() {
                break;
            }
        }
    }

    // ---------------------------------------------------------------- outputs

    /// Writes the next packet to send at the end of `buf` and says where it goes, or returns
    /// `None` when there is nothing to send. Call until `None` after every input or command.
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut Vec<u8>) -> Option<Transmit> {
        // A due SACK goes first, so it rides in the next packet, bundled with whatever follows.
        // RFC 9260 §6.4: to the path the data it acknowledges came from.
        let mut sack = self
            .take_due_sack()
            .map(|sack| (self.sack_destination(), sack));
        // Cleared when a pending SACK was taken back because no DATA could follow it.
        let mut piggyback = true;
        loop {
            let (target, retransmit_only) = self.data_target();
            // The packet's header comes from the SACK, else from the first control chunk, or,
            // with neither waiting, it is a data packet on the data path.
            let (path, tag, handshake) = match (&sack, self.control.front()) {
                (Some((sack_path, _)), _) => (*sack_path, self.peer_tag, false),
                (None, Some(o)) => (
                    o.path,
                    o.tag,
                    matches!(
                        o.chunk,
                        Chunk::Init(_) | Chunk::InitAck(_) | Chunk::CookieEcho(_)
                    ),
                ),
                (None, None) if self.has_data_to_send() => (target, self.peer_tag, false),
                (None, None) => return None,
            };
            let header = CommonHeader {
                src_port: self.ports.local,
                dst_port: self.ports.peer,
                verification_tag: tag,
                checksum: 0,
            };
            let carries_data = tag == self.peer_tag && tag != 0 && path == target;
            // A delayed SACK rides with DATA going where the SACK would go (§6.1, §6.4).
            let mut pending = None;
            if piggyback
                && sack.is_none()
                && carries_data
                && path == self.sack_destination()
                && self.has_data_to_send()
            {
                pending = self.take_pending_sack();
            }
            let start = buf.len();
            let mut builder = PacketBuilder::new(buf, header, self.config.max_packet_size);
            let mut taken = 0;
            if let Some((_, sack)) = sack.take() {
                // Bounded to the packet size by `take_due_sack`.
                if builder.push(&sack).is_err() {
                    self.stats.control_dropped += 1;
                }
                taken += 1;
            } else if let Some((chunk, _)) = &pending {
                // Bounded to the packet size like a due SACK.
                if builder.push(chunk).is_err() {
                    self.stats.control_dropped += 1;
                }
            }
            while let Some(next) = self.control.front() {
                if next.path != path || next.tag != tag {
                    break;
                }
                if builder.push(&next.chunk).is_err() {
                    if !builder.is_empty() {
                        break;
                    }
                    // Larger than a packet on its own: nothing in the core builds such a
                    // chunk; drop it rather than stall the queue.
                    self.stats.control_dropped += 1;
                }
                self.control.pop_front();
                taken += 1;
            }
            // DATA rides with control chunks of the association's own tag (§6.10 bundling),
            // in packets to the path data goes to.
            let fast_rtx = self.sender.as_ref().is_some_and(|s| s.fast_rtx_pending);
            let data_went =
                carries_data && self.fill_data(now, path, retransmit_only, &mut builder);
            if let Some((_, undo)) = pending {
                if !data_went && taken == 0 {
                    // Nothing followed the SACK (the window, or a message that fits a packet
                    // only without it): the delayed SACK waits on, and the packet is built
                    // again without it.
                    buf.truncate(start);
                    self.untake_sack(undo);
                    // The attempt sent nothing, so a fast retransmission it was to carry is
                    // still owed (§7.2.4 3: not delayed, cwnd ignored).
                    if let Some(tx) = self.sender.as_mut() {
                        tx.fast_rtx_pending |= fast_rtx;
                    }
                    piggyback = false;
                    continue;
                }
            }
            if builder.is_empty() {
                buf.truncate(start);
                if taken > 0 {
                    continue;
                }
                return None;
            }
            let zero = self.negotiated.is_some_and(|n| n.zero_checksum_tx)
                && self.state.is_up()
                && !handshake;
            let len = if zero {
                builder.finish_zero_checksum()
            } else {
                builder.finish_crc32c()
            };
            self.stats.packets_sent += 1;
            self.stats.bytes_sent += len as u64;
            let remote = self.path(path).and_then(|p| p.remote);
            return Some(Transmit { path, remote, len });
        }
    }

    /// The earliest instant at which [`handle_timeout`](Self::handle_timeout) must be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let assoc = self
            .timers
            .iter()
            .flatten()
            .copied()
            .chain(self.sack_deadline())
            .chain(self.t3_deadline())
            .min();
        let paths = self
            .paths
            .iter()
            .filter_map(Path::next_heartbeat_deadline)
            .min();
        match (assoc, paths) {
            (Some(a), Some(p)) => Some(a.min(p)),
            (a, p) => a.or(p),
        }
    }

    /// The next event for the user.
    pub fn poll_event(&mut self) -> Option<Event> {
        if let Some(e) = self.events.pop_front() {
            return Some(e);
        }
        // The streams' low events before the total's: the stream that drained last is what
        // took the total down.
        if let Some(stream) = self.poll_buffered_low() {
            return Some(Event::BufferedAmountLow(stream));
        }
        self.poll_total_buffered_low()
            .then_some(Event::TotalBufferedAmountLow)
    }

    // ---------------------------------------------------------------- helpers

    /// Queues a chunk the protocol requires.
    fn queue(&mut self, path: PathId, tag: u32, chunk: Chunk) {
        self.control.push_back(Outgoing { path, tag, chunk });
    }

    /// Queues a reply a peer can provoke at will (HEARTBEAT ACK, ERROR), within the bound.
    fn queue_reply(&mut self, path: PathId, tag: u32, chunk: Chunk) {
        if self.control.len() >= MAX_CONTROL_QUEUE {
            self.stats.control_dropped += 1;
        } else {
            self.queue(path, tag, chunk);
        }
    }

    fn set_timer(&mut self, timer: Timer, at: Option<Instant>) {
        if let Some(slot) = self.timers.get_mut(timer as usize) {
            *slot = at;
        }
    }

    fn timer(&self, timer: Timer) -> Option<Instant> {
        self.timers.get(timer as usize).copied().flatten()
    }

    fn primary_rto(&self) -> Duration {
        self.path(self.primary)
            .map_or(self.config.rto_initial, |p| p.rto.rto())
    }

    /// Uniform in [0, 1), from the association's seeded generator.
    fn jitter(&mut self) -> f64 {
        f64::from(self.rng.next_u32()) / (f64::from(u32::MAX) + 1.0)
    }

    /// Enters CLOSED: stops every timer, forgets the handshake, reports why.
    fn close(&mut self, reason: CloseReason) {
        if self.state == State::Closed && self.close_reason.is_some() {
            return;
        }
        self.state = State::Closed;
        self.listening = false;
        self.timers = [None; TIMER_COUNT];
        // Nothing more is sent (nor reported about sending): queued messages are dropped, so
        // no `BufferedAmountLow` or `TotalBufferedAmountLow` can follow `Closed`. Received
        // messages stay readable.
        self.sender = None;
        for p in &mut self.paths {
            p.stop_heartbeats();
            // T3 and congestion state go with the send path: no deadline outlives the TCB.
            p.send = None;
        }
        self.init = None;
        self.cookie = None;
        self.cookie_echo_error = None;
        self.close_reason = Some(reason.clone());
        self.events.push_back(Event::Closed(reason));
    }

    /// Sends an ABORT (no cause) to the peer, if its tag is known, and closes.
    fn abort_with(&mut self, reason: CloseReason, causes: Vec<ErrorCause>) {
        self.control.clear();
        if self.peer_tag != 0 {
            self.queue(
                self.data_path(),
                self.peer_tag,
                Chunk::Abort(Abort {
                    t_bit: false,
                    causes,
                }),
            );
        }
        self.close(reason);
    }

    // ---------------------------------------------------------------- heartbeats

    /// Heartbeat Info layout: path id u16, reserved u16, nonce u64, send time in µs since the
    /// association's epoch u64.
    fn heartbeat_info(&self, path: PathId, nonce: u64, sent: Instant) -> Bytes {
        let mut info = Vec::with_capacity(20);
        info.extend_from_slice(&path.0.to_be_bytes());
        info.extend_from_slice(&[0, 0]);
        info.extend_from_slice(&nonce.to_be_bytes());
        info.extend_from_slice(&self.micros_since_epoch(sent).to_be_bytes());
        Bytes::from(info)
    }

    /// A send time as Heartbeat Info carries it: whole µs since the association's epoch.
    fn micros_since_epoch(&self, t: Instant) -> u64 {
        u64::try_from(t.saturating_duration_since(self.epoch).as_micros()).unwrap_or(u64::MAX)
    }

    fn send_heartbeat(&mut self, now: Instant, path: PathId) {
        let nonce = self.rng.next_u64();
        let info = self.heartbeat_info(path, nonce, now);
        let interval = self.probe_interval();
        let jitter = self.jitter();
        if let Some(p) = self.path_mut(path) {
            let lost_at = Some(now + p.rto.rto());
            p.heartbeat = Some(PendingHeartbeat {
                nonce,
                sent: now,
                lost_at,
            });
            if !p.confirmed && p.active {
                // §5.4: "In each RTO, a probe MAY be sent on an active UNCONFIRMED path":
                // the next probe follows this one's loss (one RTO, backed off), or none
                // once it is confirmed.
                p.heartbeat_due = None;
            } else {
                p.schedule_heartbeat(now, interval, jitter);
            }
        }
        self.stats.heartbeats_sent += 1;
        self.queue(path, self.peer_tag, Chunk::Heartbeat(Heartbeat { info }));
    }

    /// A HEARTBEAT ACK: checks the nonce and send time against the outstanding heartbeat,
    /// takes the RTT, and clears the error counters (RFC 9260 §8.3).
    fn handle_heartbeat_ack(&mut self, now: Instant, hb: &Heartbeat) {
        let info = &hb.info;
        let (Some(id), Some(nonce), Some(sent_us)) = (
            info.get(0..2)
                .and_then(|b| b.try_into().ok())
                .map(u16::from_be_bytes),
            info.get(4..12)
                .and_then(|b| b.try_into().ok())
                .map(u64::from_be_bytes),
            info.get(12..20)
                .and_then(|b| b.try_into().ok())
                .map(u64::from_be_bytes),
        ) else {
            return;
        };
        let Some(pending) = self
            .path(PathId(id))
            .and_then(|p| p.heartbeat)
            .filter(|p| p.nonce == nonce)
        else {
            return;
        };
        // The echoed send time must be the one we wrote, at its µs precision (a real clock's
        // Instant has finer precision than the info carries).
        if sent_us != self.micros_since_epoch(pending.sent) {
            return;
        }
        let Some(path) = self.path_mut(PathId(id)) else {
            return;
        };
        path.heartbeat = None;
        path.rto
            .observe(now.saturating_duration_since(pending.sent));
        path.error_count = 0;
        let became_active = !path.active;
        path.active = true;
        // §5.4: "When this match occurs, the address that the original HEARTBEAT was sent to
        // is now considered CONFIRMED and available for normal data transfer."
        let confirmed = !path.confirmed;
        path.confirmed = true;
        self.error_count = 0;
        self.stats.heartbeat_acks += 1;
        if confirmed {
            // From probing to the normal heartbeat schedule (§8.3), if heartbeats are on.
            let interval = self
                .config
                .heartbeat_interval
                .filter(|_| self.state.heartbeats());
            let jitter = self.jitter();
            if let Some(p) = self.path_mut(PathId(id)) {
                match interval {
                    Some(i) => p.schedule_heartbeat(now, i, jitter),
                    _ => p.heartbeat_due = None,
                }
            }
            // §5.4: "Whenever a path is confirmed, an indication MAY be given to the upper
            // layer."
            self.events
                .push_back(Event::PathConfirmed { path: PathId(id) });
        }
        if became_active {
            self.events.push_back(Event::PathStatus {
                path: PathId(id),
                active: true,
            });
        }
    }

    /// The heartbeat interval, also for the probes of an UNCONFIRMED path that turned
    /// INACTIVE when heartbeats are otherwise off (RFC 9260 §16 HB.interval, 30 s).
    fn probe_interval(&self) -> Duration {
        self.config
            .heartbeat_interval
            .unwrap_or(Duration::from_secs(30))
    }

    /// Arms the heartbeat timer of every path once the association is up; UNCONFIRMED paths
    /// are probed at once (RFC 9260 §5.4: probing starts "when an association moves to the
    /// ESTABLISHED state"), even with heartbeats off.
    fn start_heartbeats(&mut self, now: Instant) {
        let interval = self.config.heartbeat_interval;
        for i in 0..self.paths.len() {
            let jitter = self.jitter();
            if let Some(p) = self.paths.get_mut(i) {
                if !p.confirmed {
                    p.heartbeat_due = Some(now);
                } else if let Some(interval) = interval {
                    p.schedule_heartbeat(now, interval, jitter);
                }
            }
        }
    }
}
