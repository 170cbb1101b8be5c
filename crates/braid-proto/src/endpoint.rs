//! The endpoint: one SCTP port, many associations, and the stateless front door.
//!
//! The endpoint parses and verifies each datagram, routes it by the peer's address and port
//! to its association, and answers everything else itself without allocating state: an INIT
//! gets an INIT ACK with a signed State Cookie (RFC 9260 §5.1.3); only a valid COOKIE ECHO
//! creates an association; other out-of-the-blue packets get the RFC 9260 §8.4 answer.
//!
//! Memory: the associations (at most `max_associations`) and a queue of stateless replies
//! (at most `max_pending_replies`, then replies are dropped) — nothing an unauthenticated
//! peer can grow.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::Instant;

use braid_wire::cause::StaleCookie;
use braid_wire::chunk::chunk_type;
use braid_wire::{
    Abort, Bytes, ChecksumPolicy, Chunk, CommonHeader, ErrorCause, OperationError, Packet,
    PacketBuilder, Tsn,
};
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

use crate::association::{AddPathError, Association, Ports};
use crate::config::{AssociationConfig, EndpointConfig};
use crate::cookie::{CookieError, CookieKeys};
use crate::data::{Message, SendOptions};
use crate::event::Event;
use crate::handshake::{self as hs, InitAckInput, InitProblem};
use crate::ids::{AssociationHandle, HandleMap, PathId, StreamId};
use crate::ootb;
use crate::tx::send_queue::SendError;

/// Why [`Endpoint::connect`] failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// `max_associations` are open already.
    #[error("too many associations")]
    TooManyAssociations,
    /// An association with this peer address and port exists already.
    #[error("an association with {0} exists already")]
    AlreadyConnected(SocketAddr),
}

/// One datagram written by [`Endpoint::poll_transmit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndpointTransmit {
    /// Where to send it.
    pub remote: SocketAddr,
    /// Its length: the last `len` bytes of the buffer.
    pub len: usize,
    /// The association it belongs to, or `None` for a stateless reply.
    pub association: Option<AssociationHandle>,
}

/// Endpoint counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EndpointStats {
    /// Datagrams handed to `handle_datagram`.
    pub datagrams: u64,
    /// Datagrams that were not a valid SCTP packet (checksum, framing) or not for our port.
    pub invalid: u64,
    /// INIT ACKs queued without creating state.
    pub init_acks: u64,
    /// COOKIE ECHOs discarded: forged, corrupted, or signed by someone else.
    pub cookies_rejected: u64,
    /// "Stale Cookie" errors sent.
    pub stale_cookies: u64,
    /// Associations created from a valid COOKIE ECHO.
    pub accepted: u64,
    /// Out-of-the-blue replies sent (ABORT, SHUTDOWN COMPLETE).
    pub ootb_replies: u64,
    /// Stateless replies dropped because the queue was full.
    pub replies_dropped: u64,
    /// Associations moved to a peer's new UDP encapsulation port (RFC 6951 §5.4).
    pub port_changes: u64,
}

/// A stateless reply waiting to be sent.
#[derive(Debug, Clone)]
struct Reply {
    remote: SocketAddr,
    src_port: u16,
    dst_port: u16,
    tag: u32,
    chunk: Chunk,
}

/// Which associations have work pending, so that no call scans them all: the endpoint stays
/// O(log n) per packet with n associations.
#[derive(Debug, Default)]
struct Work {
    /// Associations that may have packets to send.
    transmit: VecDeque<AssociationHandle>,
    /// Associations that may have events.
    events: VecDeque<AssociationHandle>,
    /// Associations that may have complete messages to read.
    readable: VecDeque<AssociationHandle>,
    /// When each association is next looked at: its next deadline, or an earlier one it
    /// had. A deadline moves later with nearly every packet (T3-rtx restarts, RFC 9260
    /// §6.3.2 R3; the delayed SACK timer stops), and following each move would cost more
    /// than the one early look it saves: an association whose deadline moved later is
    /// looked at when the earlier one comes (its `handle_timeout` does nothing then) and
    /// indexed anew. Only an earlier deadline is indexed at once.
    scheduled: HandleMap<Instant>,
    /// The entries of `scheduled`, earliest first, and stale ones for entries since
    /// replaced. The earliest entry is always current (stale ones are dropped when they come
    /// to the top), and the heap is rebuilt from `scheduled` when stale entries outnumber
    /// current ones, so its size stays O(associations).
    deadlines: BinaryHeap<Reverse<(Instant, AssociationHandle)>>,
    /// Handed out by `association_mut`: a command may have changed them.
    touched: Vec<AssociationHandle>,
    /// Reported `Closed`: candidates for removal once drained.
    closed: Vec<AssociationHandle>,
}

impl Work {
    /// Notes that `assoc` was just driven: it may have packets, events and a new deadline.
    fn touch(&mut self, handle: AssociationHandle, assoc: &mut Association) {
        self.mark_transmit(handle, assoc);
        if !assoc.queued.events {
            assoc.queued.events = true;
            self.events.push_back(handle);
        }
        self.reschedule(handle, assoc.poll_timeout());
    }

    /// Notes that `assoc` may have packets to send.
    fn mark_transmit(&mut self, handle: AssociationHandle, assoc: &mut Association) {
        if !assoc.queued.transmit {
            assoc.queued.transmit = true;
            self.transmit.push_back(handle);
        }
    }

    /// Notes that a packet reached `assoc`: it may have messages to read. (Only packets
    /// complete messages; commands and timers do not.)
    fn mark_readable(&mut self, handle: AssociationHandle, assoc: &mut Association) {
        if assoc.readable_messages() > 0 && !assoc.queued.readable {
            assoc.queued.readable = true;
            self.readable.push_back(handle);
        }
    }

    /// Indexes an association's next deadline if it comes before the one indexed.
    fn reschedule(&mut self, handle: AssociationHandle, next: Option<Instant>) {
        let Some(at) = next else {
            return;
        };
        if self
            .scheduled
            .get(&handle)
            .is_some_and(|&indexed| indexed <= at)
        {
            return;
        }
        self.scheduled.insert(handle, at);
        if self.deadlines.len() > 2 * self.scheduled.len() + 16 {
            self.deadlines = self
                .scheduled
                .iter()
                .map(|(&h, &at)| Reverse((at, h)))
                .collect();
        } else {
            self.deadlines.push(Reverse((at, handle)));
            self.drop_stale();
        }
    }

    /// Forgets an association's deadline (it is gone).
    fn unschedule(&mut self, handle: AssociationHandle) {
        if self.scheduled.remove(&handle).is_some() {
            self.drop_stale();
        }
    }

    /// Removes stale entries from the top of the heap.
    fn drop_stale(&mut self) {
        while let Some(&Reverse((at, h))) = self.deadlines.peek() {
            if self.scheduled.get(&h) == Some(&at) {
                break;
            }
            self.deadlines.pop();
        }
    }

    /// The earliest deadline.
    fn next_deadline(&self) -> Option<Instant> {
        self.deadlines.peek().map(|Reverse((at, _))| *at)
    }

    /// Takes an association whose deadline is at or before `now`.
    fn pop_due(&mut self, now: Instant) -> Option<AssociationHandle> {
        let &Reverse((at, h)) = self.deadlines.peek()?;
        if at > now {
            return None;
        }
        self.deadlines.pop();
        self.scheduled.remove(&h);
        self.drop_stale();
        Some(h)
    }
}

/// A route: the association and its path to one peer transport address.
type Route = (AssociationHandle, PathId);

/// (peer address, peer SCTP port) → association and its path to that address: one entry
/// per path (RFC 9260 §6.4: each transport address of a multi-homed peer is a path of the
/// same association).
///
/// The keys are a peer's to choose, so the map keeps the standard keyed hasher; the last
/// route found is remembered, since consecutive datagrams mostly come from the same peer
/// address, and any change to the map forgets it.
#[derive(Debug, Default)]
struct Routes {
    map: HashMap<(SocketAddr, u16), Route>,
    last: Option<((SocketAddr, u16), Route)>,
}

impl Routes {
    fn get(&mut self, key: (SocketAddr, u16)) -> Option<Route> {
        match self.last {
            Some((k, route)) if k == key => Some(route),
            _ => {
                let route = *self.map.get(&key)?;
                self.last = Some((key, route));
                Some(route)
            }
        }
    }

    fn contains(&self, key: (SocketAddr, u16)) -> bool {
        self.map.contains_key(&key)
    }

    fn insert(&mut self, key: (SocketAddr, u16), route: Route) {
        self.last = None;
        self.map.insert(key, route);
    }

    /// Adds a route unless the address has one already (which stays, so the remembered
    /// route stays right).
    fn insert_new(&mut self, key: (SocketAddr, u16), route: Route) {
        self.map.entry(key).or_insert(route);
    }

    fn remove(&mut self, key: (SocketAddr, u16)) {
        self.last = None;
        self.map.remove(&key);
    }

    /// Forgets every route to `handle`.
    fn remove_association(&mut self, handle: AssociationHandle) {
        self.last = None;
        self.map.retain(|_, v| v.0 != handle);
    }
}

/// Routes the addresses of paths an association added by itself (learned from an INIT ACK,
/// or added through `association_mut`). An address another association has keeps its route.
fn route_new_remotes(routes: &mut Routes, handle: AssociationHandle, assoc: &mut Association) {
    let Some(new) = assoc.take_new_remotes() else {
        return;
    };
    let port = assoc.ports().peer;
    for (path, remote) in new {
        routes.insert_new((remote, port), (handle, path));
    }
}

/// An SCTP endpoint: one SCTP port and many associations. It parses and verifies each
/// datagram, routes it by the peer's address and port to its association, and answers the
/// rest itself without allocating state: INITs get an INIT ACK with a signed State Cookie
/// (RFC 9260 §5.1.3), only a valid COOKIE ECHO creates an association, and other
/// out-of-the-blue packets get the RFC 9260 §8.4 answer.
#[derive(Debug)]
pub struct Endpoint {
    config: EndpointConfig,
    rng: ChaCha8Rng,
    keys: CookieKeys,
    associations: HandleMap<Association>,
    routes: Routes,
    /// Our verification tag → association: finds the association of a peer whose UDP
    /// encapsulation port changed (RFC 6951 §5.4). Checked against the association on use.
    tags: HashMap<u32, AssociationHandle>,
    next_handle: u64,
    replies: VecDeque<Reply>,
    work: Work,
    stats: EndpointStats,
}

impl Endpoint {
    /// A new endpoint; `now` starts its cookie clock.
    pub fn new(now: Instant, mut config: EndpointConfig) -> Self {
        config.association = config.association.sanitized();
        config.cookie_secret_rotation = config
            .cookie_secret_rotation
            .clamp(core::time::Duration::from_secs(1), crate::config::MAX_TIMER);
        let mut rng = ChaCha8Rng::seed_from_u64(config.rng_seed);
        let keys = CookieKeys::new(now, config.cookie_secret_rotation, &mut rng);
        Self {
            config,
            rng,
            keys,
            associations: HandleMap::default(),
            routes: Routes::default(),
            tags: HashMap::new(),
            next_handle: 0,
            replies: VecDeque::new(),
            work: Work::default(),
            stats: EndpointStats::default(),
        }
    }

    // ---------------------------------------------------------------- getters

    /// The configuration.
    pub fn config(&self) -> &EndpointConfig {
        &self.config
    }

    /// Counters.
    pub fn stats(&self) -> EndpointStats {
        self.stats
    }

    /// An association.
    pub fn association(&self, handle: AssociationHandle) -> Option<&Association> {
        self.associations.get(&handle)
    }

    /// Queues a message on an association ([`Association::send`]); an association that is
    /// gone is [`SendError::NotEstablished`]. The same as through
    /// [`association_mut`](Self::association_mut), for less bookkeeping: a send starts no
    /// timer and raises no event, it only gives the association something to transmit.
    pub fn send(
        &mut self,
        now: Instant,
        handle: AssociationHandle,
        stream: StreamId,
        payload: Bytes,
        options: &SendOptions,
    ) -> Result<(), SendError> {
        let assoc = self
            .associations
            .get_mut(&handle)
            .ok_or(SendError::NotEstablished)?;
        assoc.send(now, stream, payload, options)?;
        self.work.mark_transmit(handle, assoc);
        Ok(())
    }

    /// Reads an association's next complete message ([`Association::read_message`]), the
    /// same as through [`association_mut`](Self::association_mut), for less bookkeeping:
    /// reading starts no timer and raises no event; the room it frees may call for a window
    /// update, so the association is given a chance to transmit.
    pub fn read_message(&mut self, handle: AssociationHandle) -> Option<Message> {
        let assoc = self.associations.get_mut(&handle)?;
        let msg = assoc.read_message()?;
        self.work.mark_transmit(handle, assoc);
        Some(msg)
    }

    /// An association, to call its commands (`shutdown`, `abort`). Drain the endpoint's
    /// outputs afterwards, as after any command.
    pub fn association_mut(&mut self, handle: AssociationHandle) -> Option<&mut Association> {
        let assoc = self.associations.get_mut(&handle)?;
        // Reading messages one by one hands out the same association again and again.
        if self.work.touched.last() != Some(&handle) {
            self.work.touched.push(handle);
        }
        Some(assoc)
    }

    /// Number of associations, closed ones not yet drained included.
    pub fn association_count(&self) -> usize {
        self.associations.len()
    }

    /// Stateless replies waiting to be sent.
    pub fn pending_replies(&self) -> usize {
        self.replies.len()
    }

    // ---------------------------------------------------------------- commands

    /// Starts an association with the peer at `remote` (SCTP port `peer_port`).
    pub fn connect(
        &mut self,
        now: Instant,
        remote: SocketAddr,
        peer_port: u16,
        config: Option<AssociationConfig>,
    ) -> Result<AssociationHandle, ConnectError> {
        self.settle();
        self.reap();
        if self.routes.contains((remote, peer_port)) {
            return Err(ConnectError::AlreadyConnected(remote));
        }
        if self.associations.len() >= self.config.max_associations {
            return Err(ConnectError::TooManyAssociations);
        }
        let config = config.unwrap_or_else(|| self.config.association.clone());
        let ports = Ports {
            local: self.config.port,
            peer: peer_port,
        };
        let seed = self.rng.next_u64();
        let assoc = Association::connect(now, config, ports, seed, Some(remote));
        Ok(self.insert(remote, peer_port, assoc))
    }

    fn insert(
        &mut self,
        remote: SocketAddr,
        peer_port: u16,
        assoc: Association,
    ) -> AssociationHandle {
        let handle = AssociationHandle(self.next_handle);
        self.next_handle += 1;
        self.tags.insert(assoc.local_tag(), handle);
        self.associations.insert(handle, assoc);
        self.routes.insert((remote, peer_port), (handle, PathId(0)));
        if let Some(assoc) = self.associations.get_mut(&handle) {
            self.work.touch(handle, assoc);
            self.work.mark_readable(handle, assoc);
        }
        handle
    }

    /// Notes that an association was just driven: it may have packets, events and a new
    /// deadline.
    fn touch(&mut self, handle: AssociationHandle) {
        if let Some(assoc) = self.associations.get_mut(&handle) {
            self.work.touch(handle, assoc);
        }
    }

    /// Accounts for commands given through `association_mut`.
    fn settle(&mut self) {
        if self.work.touched.is_empty() {
            return;
        }
        // Taken and put back, so that its buffer is reused (`touch` adds nothing to it).
        let mut touched = std::mem::take(&mut self.work.touched);
        for h in touched.drain(..) {
            if let Some(assoc) = self.associations.get_mut(&h) {
                route_new_remotes(&mut self.routes, h, assoc);
                self.work.touch(h, assoc);
            }
        }
        self.work.touched = touched;
    }

    /// Forgets associations that closed and have nothing left to send or report.
    fn reap(&mut self) {
        if self.work.closed.is_empty() {
            return;
        }
        let mut closed = std::mem::take(&mut self.work.closed);
        closed.retain(|&h| match self.associations.get(&h) {
            Some(a) if a.is_drained() => {
                self.associations.remove(&h);
                self.routes.remove_association(h);
                self.tags.retain(|_, v| *v != h);
                self.work.unschedule(h);
                false
            }
            Some(_) => true,
            None => false,
        });
        self.work.closed = closed;
    }

    /// Adds a path to another transport address of an association's peer
    /// ([`Association::add_path`]), and routes datagrams from that address to it. Drain the
    /// endpoint's outputs afterwards, as after any command: the path is probed with a
    /// HEARTBEAT (RFC 9260 §5.4).
    pub fn add_path(
        &mut self,
        now: Instant,
        handle: AssociationHandle,
        remote: SocketAddr,
    ) -> Result<PathId, AddPathError> {
        let assoc = self
            .associations
            .get_mut(&handle)
            .ok_or(AddPathError::UnknownAssociation)?;
        let key = (remote, assoc.ports().peer);
        if let Some((other, _)) = self.routes.get(key) {
            return Err(if other == handle {
                AddPathError::Duplicate(remote)
            } else {
                AddPathError::AddressInUse(remote)
            });
        }
        let path = assoc.add_path(now, Some(remote))?;
        self.routes.insert(key, (handle, path));
        self.sync_routes(handle);
        self.work.touched.push(handle);
        Ok(path)
    }

    /// Routes the addresses of paths an association added by itself (see
    /// [`route_new_remotes`]).
    fn sync_routes(&mut self, handle: AssociationHandle) {
        if let Some(assoc) = self.associations.get_mut(&handle) {
            route_new_remotes(&mut self.routes, handle, assoc);
        }
    }

    // ---------------------------------------------------------------- inputs

    /// Feeds one received datagram (an SCTP packet) from `remote`.
    pub fn handle_datagram(&mut self, now: Instant, remote: SocketAddr, data: Bytes) {
        self.stats.datagrams += 1;
        self.settle();
        self.reap();
        self.keys.rotate_if_due(now, &mut self.rng);
        let policy = if self
            .config
            .association
            .extensions
            .zero_checksum_edmid
            .is_some()
        {
            ChecksumPolicy::ZeroAllowed
        } else {
            ChecksumPolicy::Crc32c
        };
        let Ok(packet) = Packet::parse(data, policy) else {
            self.stats.invalid += 1;
            return;
        };
        let h = *packet.header();
        if h.dst_port != self.config.port {
            self.stats.invalid += 1;
            return;
        }
        // A known address of an association's peer reaches it on that address's path.
        let route = match self.routes.get((remote, h.src_port)) {
            Some(route) => Some(route),
            None => self.moved_port(remote, &h),
        };
        if let Some((handle, path)) = route {
            if let Some(assoc) = self.associations.get_mut(&handle) {
                let before = assoc.local_tag();
                assoc.handle_parsed(now, path, packet, &self.keys);
                let tag = assoc.local_tag();
                if tag != before && self.tags.get(&tag) != Some(&handle) {
                    // A restart gave the association a new tag.
                    self.tags.retain(|_, v| *v != handle);
                    self.tags.insert(tag, handle);
                }
                route_new_remotes(&mut self.routes, handle, assoc);
                self.work.touch(handle, assoc);
                self.work.mark_readable(handle, assoc);
                return;
            }
        }
        self.handle_out_of_the_blue(now, remote, &packet);
    }

    /// RFC 6951 §5.4: once the association is found, which includes checking the
    /// verification tag, the UDP source port is stored as the peer's encapsulation port. So a
    /// packet from a known peer (same IP address and SCTP port) that carries our tag but comes
    /// from a new UDP port (a NAT rebinding, a peer that reopened its socket) moves the path to
    /// that port. The tag is the proof: an off-path attacker does not know it.
    ///
    /// A multi-homed association moves the one path whose address has the packet's IP
    /// address; when several have it (paths that differ only by UDP port), the new port
    /// is ambiguous and the packet is out of the blue.
    fn moved_port(
        &mut self,
        remote: SocketAddr,
        h: &CommonHeader,
    ) -> Option<(AssociationHandle, PathId)> {
        if h.verification_tag == 0 {
            return None;
        }
        let handle = *self.tags.get(&h.verification_tag)?;
        let assoc = self.associations.get_mut(&handle)?;
        let (path, old) = assoc.only_path_with_ip(remote.ip())?;
        if assoc.local_tag() != h.verification_tag
            || assoc.ports().peer != h.src_port
            || old == remote
        {
            return None;
        }
        assoc.set_path_remote(path, remote);
        self.routes.remove((old, h.src_port));
        self.routes.insert((remote, h.src_port), (handle, path));
        self.stats.port_changes += 1;
        Some((handle, path))
    }

    /// No association matches (RFC 9260 §8.4).
    fn handle_out_of_the_blue(&mut self, now: Instant, remote: SocketAddr, packet: &Packet) {
        let h = *packet.header();
        let first = packet.raw_chunks().next();
        let first_type = first.as_ref().map(|c| c.chunk_type);
        match (first_type, first.map(|c| c.parse())) {
            // Rule 3: an INIT, answered statelessly when we accept associations.
            (Some(chunk_type::INIT), Some(Ok(Chunk::Init(init))))
                if self.config.accept_incoming =>
            {
                if h.verification_tag != 0 {
                    return; // §8.5.1 A
                }
                if self.associations.len() >= self.config.max_associations {
                    let abort = Abort {
                        t_bit: false,
                        causes: vec![ErrorCause::OutOfResource],
                    };
                    self.reply(remote, h, init.initiate_tag, Chunk::Abort(abort));
                    return;
                }
                match hs::check_init(&init) {
                    Ok(()) => {}
                    Err(InitProblem::Discard) => return,
                    Err(InitProblem::Abort(cause)) => {
                        let abort = Abort {
                            t_bit: false,
                            causes: vec![cause],
                        };
                        self.reply(remote, h, init.initiate_tag, Chunk::Abort(abort));
                        return;
                    }
                }
                // Check for room before the work of an INIT ACK (HMAC and all): an undrained
                // flood costs next to nothing.
                if self.replies.len() >= self.config.max_pending_replies {
                    self.stats.replies_dropped += 1;
                    return;
                }
                let config = &self.config.association;
                let peer_params = hs::scan_params(&init.params);
                let local_tag = hs::nonzero_u32(&mut self.rng);
                let local_initial_tsn = Tsn(self.rng.next_u32());
                let ack = hs::init_ack(&InitAckInput {
                    config,
                    keys: &self.keys,
                    now,
                    cookie_lifetime: config.cookie_lifetime,
                    max_preservative: config.max_cookie_preservative,
                    peer_init: &init,
                    peer_params: &peer_params,
                    local_tag,
                    local_initial_tsn,
                    local_port: h.dst_port,
                    peer_port: h.src_port,
                    tie_tags: (0, 0),
                });
                if self.reply(remote, h, init.initiate_tag, Chunk::InitAck(ack)) {
                    self.stats.init_acks += 1;
                }
            }
            // Rule 4: a COOKIE ECHO (RFC 9260 §5.1.5).
            (Some(chunk_type::COOKIE_ECHO), Some(Ok(Chunk::CookieEcho(echo))))
                if self.config.accept_incoming =>
            {
                let contents = match self.keys.open(now, &echo.cookie) {
                    Ok(c) => c,
                    Err(CookieError::Invalid) => {
                        self.stats.cookies_rejected += 1;
                        return;
                    }
                    Err(CookieError::Stale {
                        staleness_us,
                        contents,
                    }) => {
                        if contents.local_tag == h.verification_tag
                            && contents.local_port == h.dst_port
                            && contents.peer_port == h.src_port
                        {
                            self.stats.stale_cookies += 1;
                            let err = OperationError {
                                causes: vec![ErrorCause::StaleCookie(StaleCookie { staleness_us })],
                            };
                            self.reply(remote, h, contents.peer_tag, Chunk::Error(err));
                        }
                        return;
                    }
                };
                if contents.local_tag != h.verification_tag
                    || contents.local_port != h.dst_port
                    || contents.peer_port != h.src_port
                {
                    self.stats.cookies_rejected += 1;
                    return;
                }
                if self.associations.len() >= self.config.max_associations {
                    let abort = Abort {
                        t_bit: false,
                        causes: vec![ErrorCause::OutOfResource],
                    };
                    self.reply(remote, h, contents.peer_tag, Chunk::Abort(abort));
                    return;
                }
                let seed = self.rng.next_u64();
                let mut assoc = Association::from_cookie(
                    now,
                    self.config.association.clone(),
                    seed,
                    Some(remote),
                    &contents,
                );
                // RFC 9260 §5.1 D: chunks bundled after the COOKIE ECHO are processed by the
                // new association.
                assoc.handle_after_first(now, PathId(0), packet, &self.keys);
                self.stats.accepted += 1;
                self.insert(remote, h.src_port, assoc);
            }
            _ => {
                if let Some((tag, chunk)) = ootb::reply(packet) {
                    self.stats.ootb_replies += 1;
                    self.reply(remote, h, tag, chunk);
                }
            }
        }
    }

    /// Queues a stateless reply to the sender of a packet with header `h`, within the bound;
    /// returns whether it was queued.
    fn reply(&mut self, remote: SocketAddr, h: CommonHeader, tag: u32, chunk: Chunk) -> bool {
        if self.replies.len() >= self.config.max_pending_replies {
            self.stats.replies_dropped += 1;
            return false;
        }
        self.replies.push_back(Reply {
            remote,
            src_port: h.dst_port,
            dst_port: h.src_port,
            tag,
            chunk,
        });
        true
    }

    /// Runs every association timer that is due.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.settle();
        self.reap();
        self.keys.rotate_if_due(now, &mut self.rng);
        // Take what is due first and run each association once: one whose deadline stays in
        // the past (a bug) cannot make this loop spin.
        let mut due = Vec::new();
        while let Some(handle) = self.work.pop_due(now) {
            due.push(handle);
        }
        for handle in due {
            if let Some(assoc) = self.associations.get_mut(&handle) {
                assoc.handle_timeout(now);
            }
            self.touch(handle);
        }
    }

    // ---------------------------------------------------------------- outputs

    /// Writes the next datagram at the end of `buf`; `None` when nothing is left to send.
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut Vec<u8>) -> Option<EndpointTransmit> {
        self.settle();
        while let Some(r) = self.replies.pop_front() {
            let header = CommonHeader {
                src_port: r.src_port,
                dst_port: r.dst_port,
                verification_tag: r.tag,
                checksum: 0,
            };
            let start = buf.len();
            let mut b = PacketBuilder::new(buf, header, self.config.association.max_packet_size);
            if b.push(&r.chunk).is_ok() {
                let len = b.finish_crc32c();
                return Some(EndpointTransmit {
                    remote: r.remote,
                    len,
                    association: None,
                });
            }
            buf.truncate(start);
        }
        while let Some(&handle) = self.work.transmit.front() {
            if let Some(assoc) = self.associations.get_mut(&handle) {
                if let Some(t) = assoc.poll_transmit(now, buf) {
                    // Sending may start timers (T3-rtx, §6.3.2 R1): re-index the deadline.
                    self.work.reschedule(handle, assoc.poll_timeout());
                    // Every association the endpoint owns was made with a remote address.
                    if let Some(remote) = t.remote {
                        return Some(EndpointTransmit {
                            remote,
                            len: t.len,
                            association: Some(handle),
                        });
                    }
                    buf.truncate(buf.len() - t.len);
                    continue;
                }
                assoc.queued.transmit = false;
            }
            self.work.transmit.pop_front();
        }
        None
    }

    /// The instant by which [`handle_timeout`](Self::handle_timeout) must be called. It may
    /// come before any timer is due (an association's deadline that moved later is noted
    /// when the earlier one comes); a call then does nothing.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let scheduled = self.work.next_deadline();
        let touched = self
            .work
            .touched
            .iter()
            .filter_map(|h| self.associations.get(h)?.poll_timeout())
            .min();
        [scheduled, touched, Some(self.keys.next_rotation())]
            .into_iter()
            .flatten()
            .min()
    }

    /// The next association with complete messages to read (with
    /// [`read_message`](Self::read_message)).
    /// An association is reported once per packet that leaves it with messages to read, not
    /// again for the same messages: read until `read_message` returns `None`, or note the
    /// handle to come back to it.
    pub fn poll_readable(&mut self) -> Option<AssociationHandle> {
        self.settle();
        while let Some(handle) = self.work.readable.pop_front() {
            if let Some(assoc) = self.associations.get_mut(&handle) {
                assoc.queued.readable = false;
                if assoc.readable_messages() > 0 {
                    return Some(handle);
                }
            }
        }
        None
    }

    /// The next association event.
    pub fn poll_event(&mut self) -> Option<(AssociationHandle, Event)> {
        self.settle();
        while let Some(&handle) = self.work.events.front() {
            if let Some(assoc) = self.associations.get_mut(&handle) {
                if let Some(event) = assoc.poll_event() {
                    if matches!(event, Event::Closed(_)) {
                        self.work.closed.push(handle);
                    }
                    return Some((handle, event));
                }
                assoc.queued.events = false;
            }
            self.work.events.pop_front();
        }
        // Everything is reported: associations that closed and have sent their last packet
        // can go.
        self.reap();
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::time::Duration;

    /// What the index is asked to do, on association `.0 % 8`.
    #[derive(Debug, Clone)]
    enum Op {
        /// The association's deadline becomes `now + .1` ms, or none.
        Deadline(u8, Option<u16>),
        /// Time passes by `.0` ms and the due associations are taken (and looked at).
        Advance(u16),
        /// The association is gone.
        Remove(u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (any::<u8>(), proptest::option::of(0u16..2000)).prop_map(|(h, d)| Op::Deadline(h, d)),
            2 => (0u16..500).prop_map(Op::Advance),
            1 => any::<u8>().prop_map(Op::Remove),
        ]
    }

    proptest! {
        /// The deadline index never lets a deadline pass unseen: the earliest instant it
        /// reports is no later than any association's deadline, everything due is taken, and
        /// the heap stays within its bound.
        #[test]
        fn the_deadline_index_misses_no_deadline(ops in proptest::collection::vec(op(), 1..300)) {
            let start = Instant::now();
            let mut now = start;
            let mut work = Work::default();
            // The associations' true deadlines.
            let mut truth: HandleMap<Instant> = HandleMap::default();
            for op in ops {
                match op {
                    Op::Deadline(h, d) => {
                        let h = AssociationHandle(u64::from(h % 8));
                        let at = d.map(|ms| now + Duration::from_millis(u64::from(ms)));
                        match at {
                            Some(at) => truth.insert(h, at),
                            None => truth.remove(&h),
                        };
                        work.reschedule(h, at);
                    }
                    Op::Advance(ms) => {
                        now += Duration::from_millis(u64::from(ms));
                        while let Some(h) = work.pop_due(now) {
                            // Looked at: what is due runs (and is done), the rest is indexed.
                            if truth.get(&h).is_some_and(|&t| t <= now) {
                                truth.remove(&h);
                            }
                            work.reschedule(h, truth.get(&h).copied());
                        }
                        prop_assert!(truth.values().all(|&t| t > now), "a due deadline was not taken");
                    }
                    Op::Remove(h) => {
                        let h = AssociationHandle(u64::from(h % 8));
                        truth.remove(&h);
                        work.unschedule(h);
                    }
                }
                let earliest = truth.values().min().copied();
                if let Some(t) = earliest {
                    prop_assert!(work.next_deadline().is_some_and(|n| n <= t));
                }
                prop_assert!(work.deadlines.len() <= 2 * work.scheduled.len() + 17);
            }
        }
    }
}
