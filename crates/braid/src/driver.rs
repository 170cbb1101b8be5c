//! A shard's driver: one task that owns the shard's socket, its sans-IO [`Endpoint`] and all
//! its associations. Handles talk to it over channels; nothing on the packet path takes a
//! lock.
//!
//! Each turn of the loop: take the queued commands, read the socket (one `recvmmsg` batch at
//! a time, up to a bound so that commands and timers are not starved), fire due timers, feed
//! blocked sends, hand complete messages and events to the handles, then write every packet
//! the core has (GSO batches) and sleep until the socket, a command or the next deadline
//! wakes it.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use braid_proto::{
    AssociationConfig, AssociationHandle, CloseReason, Endpoint, Event, HandleMap, HandleSet,
    Message, SendError, SendOptions, StreamId,
};
use bytes::Bytes;
use std::future::Future;
use std::task::Poll;

use tokio::sync::{mpsc, oneshot, watch};

use crate::association::{Association, AssociationStats, Shared, Status, NOT_SENDING};
use crate::pcap::PcapSink;
use crate::udp::{UdpIo, TX_FLUSH_BYTES};
use crate::Error;

/// Messages waiting in a handle's channel before the driver stops reading from the core
/// (counted in [`Shared::messages_waiting`]: the channel itself is unbounded, which spares
/// each message a semaphore permit).
const MESSAGE_CHANNEL: usize = 64;
/// Events kept for a handle that does not read them.
const EVENT_CHANNEL: usize = 64;
/// `recvmmsg` batches per turn before the driver looks at commands and timers again.
const RX_BATCHES_PER_TURN: usize = 16;
/// Commands taken per turn.
const COMMANDS_PER_TURN: usize = 4096;

/// What a handle asks of its shard's driver.
#[derive(Debug)]
pub(crate) enum Command {
    Connect {
        remote: SocketAddr,
        peer_port: u16,
        /// Boxed: every command moves through the channel at the size of the largest.
        config: Option<Box<AssociationConfig>>,
        reply: oneshot::Sender<Result<Association, Error>>,
    },
    Send {
        handle: AssociationHandle,
        stream: StreamId,
        payload: Bytes,
        options: SendOptions,
    },
    ReadMore {
        handle: AssociationHandle,
    },
    Shutdown {
        handle: AssociationHandle,
    },
    Abort {
        handle: AssociationHandle,
    },
    Dropped {
        handle: AssociationHandle,
    },
    Stats {
        handle: AssociationHandle,
        reply: oneshot::Sender<Option<AssociationStats>>,
    },
    Buffered {
        handle: AssociationHandle,
        reply: oneshot::Sender<usize>,
    },
    Flushed {
        handle: AssociationHandle,
        reply: oneshot::Sender<()>,
    },
    /// Another shard (sharing our port) started an association with `remote`: pass its
    /// packets on (`Some(shard)`), or stop (`None`).
    Route {
        remote: SocketAddr,
        shard: Option<usize>,
    },
    /// A datagram another shard received for one of ours.
    Datagram {
        from: SocketAddr,
        data: Bytes,
    },
    Close,
}

/// A send the core refused for lack of buffer space, retried when space frees up.
#[derive(Debug)]
struct PendingSend {
    stream: StreamId,
    payload: Bytes,
    options: SendOptions,
}

/// The driver's side of one association.
#[derive(Debug)]
struct Link {
    /// `None` once the association has ended and every message went to the handle: the
    /// handle's `recv` then returns `None`.
    messages: Option<mpsc::UnboundedSender<Message>>,
    events: mpsc::Sender<Event>,
    status: watch::Sender<Status>,
    shared: Arc<Shared>,
    pending: VecDeque<PendingSend>,
    /// Shutdown asked for; starts when `pending` is empty.
    shutdown_requested: bool,
    /// Waiting for everything sent to be acknowledged.
    flush_waiters: Vec<oneshot::Sender<()>>,
    /// The handle is gone: messages are read and dropped.
    dropped: bool,
    closed: bool,
}

impl Link {
    /// Gives back the credit of the sends still waiting for buffer space, which will not be
    /// made.
    fn drop_pending(&mut self) {
        for p in self.pending.drain(..) {
            release(&self.shared, p.payload.len());
        }
    }

    /// Tells the handle the association's new status, and `send` the stream count it checks
    /// without the status channel's lock (the count first, so that the atomic never says
    /// "established" after the status stopped saying so).
    fn set_status(&self, status: Status) {
        let streams_out = match &status {
            Status::Established { streams_out, .. } => u32::from(*streams_out),
            _ => NOT_SENDING,
        };
        self.shared
            .streams_out
            .store(streams_out, Ordering::Release);
        self.status.send_replace(status);
    }
}

/// Everything one shard owns.
pub(crate) struct Driver {
    endpoint: Endpoint,
    io: UdpIo,
    commands: mpsc::UnboundedReceiver<Command>,
    /// Handed to the associations this shard creates (weak, so that the driver notices when
    /// the endpoint and every handle are gone).
    command_tx: mpsc::WeakUnboundedSender<Command>,
    accepted: mpsc::Sender<Association>,
    links: HandleMap<Link>,
    /// Associations with sends waiting for buffer space.
    blocked_senders: HandleSet,
    /// Associations with `flushed` waiters.
    flush_waiting: HandleSet,
    /// Associations whose reader has room again.
    read_more: Vec<AssociationHandle>,
    pcap: Option<PcapSink>,
    closing: bool,
    /// This shard's index, and every shard's command channel when the shards share a port
    /// (empty otherwise).
    index: usize,
    peers: Vec<mpsc::WeakUnboundedSender<Command>>,
    /// Peers of associations other shards started → that shard.
    foreign: HashMap<SocketAddr, usize>,
    /// Associations this shard started, announced to the others.
    announced: HandleMap<SocketAddr>,
    /// Links whose association has closed: candidates for removal, checked each turn.
    closed_links: Vec<AssociationHandle>,
    /// Reused for the handles a turn walks (no allocation per turn).
    scratch: Vec<AssociationHandle>,
    /// A command other than a send was taken: `deliver` has answers or events to hand out.
    answer_now: bool,
}

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver")
            .field("local", &self.io.local_addr())
            .field("associations", &self.links.len())
            .finish_non_exhaustive()
    }
}

impl Driver {
    pub(crate) fn new(
        endpoint: Endpoint,
        io: UdpIo,
        commands: mpsc::UnboundedReceiver<Command>,
        command_tx: mpsc::WeakUnboundedSender<Command>,
        accepted: mpsc::Sender<Association>,
        pcap: Option<PcapSink>,
    ) -> Self {
        Self {
            endpoint,
            io,
            commands,
            command_tx,
            accepted,
            links: HandleMap::default(),
            blocked_senders: HandleSet::default(),
            flush_waiting: HandleSet::default(),
            read_more: Vec::new(),
            pcap,
            closing: false,
            index: 0,
            peers: Vec::new(),
            foreign: HashMap::new(),
            announced: HandleMap::default(),
            closed_links: Vec::new(),
            scratch: Vec::new(),
            answer_now: false,
        }
    }

    /// Shards sharing one port: this one's index and everyone's command channel.
    pub(crate) fn set_peers(
        &mut self,
        index: usize,
        peers: Vec<mpsc::WeakUnboundedSender<Command>>,
    ) {
        self.index = index;
        self.peers = peers;
    }

    /// Tells the other shards to pass `remote`'s packets to this one (or to stop).
    fn announce(&self, remote: SocketAddr, mine: bool) {
        for (i, peer) in self.peers.iter().enumerate() {
            if i == self.index {
                continue;
            }
            if let Some(tx) = peer.upgrade() {
                let _ = tx.send(Command::Route {
                    remote,
                    shard: mine.then_some(self.index),
                });
            }
        }
    }

    /// Runs until the endpoint is closed and every association has ended, or every handle is
    /// gone.
    pub(crate) async fn run(mut self) {
        let sleep = tokio::time::sleep(std::time::Duration::from_secs(3600));
        tokio::pin!(sleep);
        let mut commands_open = true;
        // The timer has been polled (holds the driver's waker) since it was last armed.
        let mut timer_registered = false;
        // A command that woke the driver, handled at the top of the next turn.
        let mut woken_by = None;
        loop {
            // One clock reading per turn: timers run in milliseconds, and a read costs as much
            // as a tenth of the turn.
            let now = Instant::now();
            if let Some(c) = woken_by.take() {
                self.command(now, c);
            }
            commands_open &= self.take_commands(now);
            self.receive(now);
            if self.endpoint.poll_timeout().is_some_and(|t| t <= now) {
                self.endpoint.handle_timeout(now);
            }
            self.feed_blocked_sends(now);
            let mut now = now;
            if self.deliver(now) {
                // Messages went to the application: let it run before packets go out, so
                // that a reply it sends at once leaves in the same packet as the SACK (RFC
                // 9260 §6.2 lets a SACK ride with outgoing DATA) instead of a packet of its
                // own.
                tokio::task::yield_now().await;
                now = Instant::now();
                self.answer_now = false;
                commands_open &= self.take_commands(now);
                self.feed_blocked_sends(now);
                // Commands taken here (`ReadMore`, `Flushed`…) need their answers now: the
                // loop may sleep next. (Sends, the usual answer to a message, need none.)
                if self.answer_now {
                    self.deliver(now);
                }
            }
            self.transmit(now);
            if (!commands_open || self.closing) && self.links.values().all(|l| l.closed) {
                if self.io.blocked() {
                    // Let the last packets (SHUTDOWN COMPLETE, ABORT) go out.
                    let _ = std::future::poll_fn(|cx| self.io.poll_writable(cx)).await;
                    self.io.flush();
                }
                break;
            }

            let deadline = self.endpoint.poll_timeout();
            if let Some(at) = deadline {
                // Re-arming a tokio timer takes the timer driver's lock, and the core's
                // deadline moves with nearly every packet (T3-rtx restarts, §6.3.2 R3): re-arm
                // only for an earlier deadline, or once the timer has fired. A timer left
                // early wakes a turn that finds nothing due and re-arms it then.
                let at = tokio::time::Instant::from_std(at);
                let armed = sleep.deadline();
                if at < armed || armed <= tokio::time::Instant::from_std(now) {
                    sleep.as_mut().reset(at);
                    timer_registered = false;
                }
            }
            let blocked = self.io.blocked();
            // Commands first, then the socket, then the timer. Polled by hand rather than
            // through `select!`: the socket's readiness is asked with `poll_recv_ready`, whose
            // one waker slot costs less than joining and leaving a list of waiters each turn.
            //
            // Once every source holds this task's waker (after the first poll), a later poll
            // looks at the command queue, the socket's readiness and the timer without
            // registering again: tokio wakes a task that yielded once more after it ran (its
            // deferred wake-up), and that poll finds nothing — on the echo path, twice per
            // round trip.
            let (commands, io, command) = (&mut self.commands, &self.io, &mut woken_by);
            let timer_registered = &mut timer_registered;
            let mut armed = false;
            let wake = std::future::poll_fn(|cx| {
                let look = !armed || !commands.is_empty() || commands.is_closed();
                if commands_open && look {
                    if let Poll::Ready(c) = commands.poll_recv(cx) {
                        let open = c.is_some();
                        *command = c;
                        return Poll::Ready(Wake::Command { open });
                    }
                }
                if armed {
                    // The socket holds this task's waker since the first poll; a readiness
                    // event since then left its mark, which is read without the lock that
                    // registering takes.
                    if io.readable_now() {
                        return Poll::Ready(Wake::Readable(Ok(())));
                    }
                } else if let Poll::Ready(r) = io.poll_readable(cx) {
                    return Poll::Ready(Wake::Readable(r));
                }
                if blocked && io.poll_writable(cx).is_ready() {
                    return Poll::Ready(Wake::Other);
                }
                // A timer polled in an earlier wait and not re-armed since still holds this
                // task's waker: only whether it fired is asked.
                if deadline.is_some() && (!*timer_registered || sleep.is_elapsed()) {
                    if sleep.as_mut().poll(cx).is_ready() {
                        *timer_registered = false;
                        return Poll::Ready(Wake::Other);
                    }
                    *timer_registered = true;
                }
                armed = true;
                Poll::Pending
            })
            .await;
            match wake {
                Wake::Command { open } => commands_open = open,
                Wake::Readable(Err(e)) => {
                    tracing::warn!("socket: {e}");
                    break;
                }
                Wake::Readable(Ok(())) | Wake::Other => {}
            }
        }
        if let Some(p) = self.pcap.take() {
            p.finish();
        }
    }

    /// Takes the queued commands (up to a bound); `false` once every sender is gone.
    fn take_commands(&mut self, now: Instant) -> bool {
        for _ in 0..COMMANDS_PER_TURN {
            match self.commands.try_recv() {
                Ok(c) => self.command(now, c),
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => return false,
            }
        }
        true
    }

    fn command(&mut self, now: Instant, command: Command) {
        self.answer_now |= !matches!(command, Command::Send { .. });
        match command {
            Command::Connect {
                remote,
                peer_port,
                config,
                reply,
            } => {
                // `Config::single_peer`: the socket is connected before the INIT leaves.
                if let Err(e) = self.io.connect_peer(remote) {
                    let _ = reply.send(Err(e));
                    return;
                }
                let result = self
                    .endpoint
                    .connect(now, remote, peer_port, config.map(|c| *c))
                    .map_err(Error::from)
                    .and_then(|h| {
                        self.link(h, remote, Status::Connecting)
                            .ok_or(Error::EndpointGone)
                    });
                if let Ok(assoc) = &result {
                    if !self.peers.is_empty() {
                        // Before the INIT leaves: the INIT ACK may come in on another shard.
                        self.announce(remote, true);
                        self.announced.insert(assoc.handle, remote);
                    }
                }
                let _ = reply.send(result);
            }
            Command::Send {
                handle,
                stream,
                payload,
                options,
            } => {
                let Some(link) = self.links.get_mut(&handle) else {
                    return;
                };
                let pending = PendingSend {
                    stream,
                    payload,
                    options,
                };
                if !link.pending.is_empty() {
                    link.pending.push_back(pending);
                    return;
                }
                match self.endpoint.send(
                    now,
                    handle,
                    pending.stream,
                    pending.payload.clone(),
                    &pending.options,
                ) {
                    Err(SendError::BufferFull { .. }) => {
                        link.pending.push_back(pending);
                        self.blocked_senders.insert(handle);
                    }
                    Ok(()) => release(&link.shared, pending.payload.len()),
                    Err(e) => {
                        // The handle checked what it could; the state changed since.
                        tracing::debug!("send on {handle:?} refused: {e}");
                        release(&link.shared, pending.payload.len());
                    }
                }
            }
            Command::ReadMore { handle } => self.read_more.push(handle),
            Command::Shutdown { handle } => {
                if let Some(link) = self.links.get_mut(&handle) {
                    link.shutdown_requested = true;
                    if link.pending.is_empty() {
                        if let Some(a) = self.endpoint.association_mut(handle) {
                            a.shutdown(now);
                        }
                    }
                }
            }
            Command::Abort { handle } => {
                if let Some(link) = self.links.get_mut(&handle) {
                    link.drop_pending();
                }
                if let Some(a) = self.endpoint.association_mut(handle) {
                    a.abort(now, "aborted by the application");
                }
            }
            Command::Dropped { handle } => {
                if let Some(link) = self.links.get_mut(&handle) {
                    link.dropped = true;
                    link.shutdown_requested = true;
                    if link.pending.is_empty() {
                        if let Some(a) = self.endpoint.association_mut(handle) {
                            a.shutdown(now);
                        }
                    }
                }
            }
            Command::Stats { handle, reply } => {
                let stats = self.endpoint.association(handle).map(|a| AssociationStats {
                    association: a.stats(),
                    path: a.path_stats(a.primary_path()),
                });
                let _ = reply.send(stats);
            }
            Command::Buffered { handle, reply } => {
                let core = self
                    .endpoint
                    .association(handle)
                    .map_or(0, braid_proto::Association::total_buffered);
                let _ = reply.send(core);
            }
            Command::Flushed { handle, reply } => {
                if let Some(link) = self.links.get_mut(&handle) {
                    if !link.closed {
                        link.flush_waiters.push(reply);
                        self.flush_waiting.insert(handle);
                    }
                }
            }
            Command::Route { remote, shard } => match shard {
                Some(s) => {
                    self.foreign.insert(remote, s);
                }
                None => {
                    self.foreign.remove(&remote);
                }
            },
            Command::Datagram { from, data } => {
                if let Some(p) = self.pcap.as_mut() {
                    p.record(from, self.io.local_addr(), &data);
                }
                self.endpoint.handle_datagram(now, from, data);
            }
            Command::Close => {
                self.closing = true;
                let handles: Vec<_> = self.links.keys().copied().collect();
                for h in handles {
                    if let Some(a) = self.endpoint.association_mut(h) {
                        a.abort(now, "endpoint closed");
                    }
                }
            }
        }
    }

    /// Registers the driver's side of a new association and builds its handle.
    fn link(
        &mut self,
        handle: AssociationHandle,
        remote: SocketAddr,
        status: Status,
    ) -> Option<Association> {
        let commands = self.command_tx.upgrade()?;
        let (msg_tx, msg_rx) = mpsc::unbounded_channel();
        let (ev_tx, ev_rx) = mpsc::channel(EVENT_CHANNEL);
        let (st_tx, st_rx) = watch::channel(status);
        let config = &self.endpoint.config().association;
        let shared = Arc::new(Shared {
            queued: AtomicUsize::new(0),
            queue_limit: config.send_buffer_size.max(1),
            send_space: tokio::sync::Notify::new(),
            sender_waiting: AtomicBool::new(false),
            reader_blocked: AtomicBool::new(false),
            messages_waiting: AtomicUsize::new(0),
            streams_out: AtomicU32::new(NOT_SENDING),
            max_message_size: config.max_message_size,
        });
        self.links.insert(
            handle,
            Link {
                messages: Some(msg_tx),
                events: ev_tx,
                status: st_tx,
                shared: Arc::clone(&shared),
                pending: VecDeque::new(),
                shutdown_requested: false,
                flush_waiters: Vec::new(),
                dropped: false,
                closed: false,
            },
        );
        Some(Association {
            handle,
            remote,
            commands,
            messages: tokio::sync::Mutex::new(msg_rx),
            events: tokio::sync::Mutex::new(ev_rx),
            status: st_rx,
            shared,
        })
    }

    fn receive(&mut self, now: Instant) {
        let local = self.io.local_addr();
        for _ in 0..RX_BATCHES_PER_TURN {
            let (endpoint, pcap) = (&mut self.endpoint, &mut self.pcap);
            let (foreign, peers) = (&self.foreign, &self.peers);
            let n = self.io.try_recv(|from, data| {
                // Only shards sharing a port route anything (no lookup otherwise).
                if let Some(&shard) = (!foreign.is_empty()).then(|| foreign.get(&from)).flatten() {
                    // The kernel's hash sent it here; its association lives on `shard`.
                    if let Some(tx) = peers
                        .get(shard)
                        .and_then(mpsc::WeakUnboundedSender::upgrade)
                    {
                        let _ = tx.send(Command::Datagram { from, data });
                        return;
                    }
                }
                if let Some(p) = pcap.as_mut() {
                    p.record(from, local, &data);
                }
                endpoint.handle_datagram(now, from, data);
            });
            if n == 0 {
                break;
            }
        }
    }

    /// Retries sends the core refused, in order, now that SACKs may have freed space.
    fn feed_blocked_sends(&mut self, now: Instant) {
        if self.blocked_senders.is_empty() {
            return;
        }
        let mut handles = std::mem::take(&mut self.scratch);
        handles.clear();
        handles.extend(self.blocked_senders.iter().copied());
        for &handle in &handles {
            let Some(link) = self.links.get_mut(&handle) else {
                self.blocked_senders.remove(&handle);
                continue;
            };
            if self.endpoint.association(handle).is_none() {
                link.drop_pending();
                self.blocked_senders.remove(&handle);
                continue;
            }
            while let Some(p) = link.pending.front() {
                match self
                    .endpoint
                    .send(now, handle, p.stream, p.payload.clone(), &p.options)
                {
                    Err(SendError::BufferFull { .. }) => break,
                    r => {
                        if let Err(e) = r {
                            tracing::debug!("queued send on {handle:?} refused: {e}");
                        }
                        release(&link.shared, p.payload.len());
                        link.pending.pop_front();
                    }
                }
            }
            if link.pending.is_empty() {
                self.blocked_senders.remove(&handle);
                if link.shutdown_requested {
                    if let Some(assoc) = self.endpoint.association_mut(handle) {
                        assoc.shutdown(now);
                    }
                    self.answer_now = true;
                }
            }
        }
        self.scratch = handles;
    }

    /// Hands complete messages and events to the handles, and accepted associations to the
    /// endpoint.
    ///
    /// Returns whether any message was handed over.
    fn deliver(&mut self, _now: Instant) -> bool {
        let mut delivered = false;
        for handle in std::mem::take(&mut self.read_more) {
            delivered |= self.read_messages(handle);
        }
        // An association whose handle's channel fills up keeps its other messages; the
        // reader's `ReadMore` brings the driver back to it.
        while let Some(handle) = self.endpoint.poll_readable() {
            delivered |= self.read_messages(handle);
        }
        while let Some((handle, event)) = self.endpoint.poll_event() {
            self.event(handle, event);
        }
        self.answer_flush_waiters();
        // Closed links whose association is gone, or whose handle is gone and drained.
        let mut closed = std::mem::take(&mut self.closed_links);
        closed.retain(|h| {
            let gone = self.links.get(h).is_none_or(|link| {
                self.endpoint.association(*h).is_none() || (link.dropped && link.messages.is_none())
            });
            if gone {
                self.links.remove(h);
                self.blocked_senders.remove(h);
                if let Some(remote) = self.announced.remove(h) {
                    self.announce(remote, false);
                }
            }
            !gone
        });
        self.closed_links = closed;
        delivered
    }

    /// Answers `flushed` waiters of associations with nothing queued or in flight; drops
    /// those of closed ones (their handles see the close).
    fn answer_flush_waiters(&mut self) {
        if self.flush_waiting.is_empty() {
            return;
        }
        let mut handles = std::mem::take(&mut self.scratch);
        handles.clear();
        handles.extend(self.flush_waiting.iter().copied());
        for &h in &handles {
            let Some(link) = self.links.get_mut(&h) else {
                self.flush_waiting.remove(&h);
                continue;
            };
            let done = match self.endpoint.association(h) {
                None => true,
                Some(a) => {
                    link.closed
                        || (link.pending.is_empty()
                            && link.shared.queued.load(Ordering::SeqCst) == 0
                            && a.total_buffered() == 0
                            && a.bytes_in_flight() == 0)
                }
            };
            if done {
                let closed = link.closed;
                for w in link.flush_waiters.drain(..) {
                    if !closed {
                        let _ = w.send(());
                    }
                }
                self.flush_waiting.remove(&h);
            }
        }
        self.scratch = handles;
    }

    /// Moves complete messages to the handle's channel; whether any went.
    fn read_messages(&mut self, handle: AssociationHandle) -> bool {
        let Some(link) = self.links.get_mut(&handle) else {
            // No handle (yet): an accepted association before its Connected event; its
            // messages wait in the core.
            return false;
        };
        let endpoint = &mut self.endpoint;
        let readable = |endpoint: &Endpoint| {
            endpoint
                .association(handle)
                .map_or(0, braid_proto::Association::readable_messages)
        };
        let mut any = false;
        loop {
            let Some(tx) = link.messages.as_ref().filter(|_| !link.dropped) else {
                // Nobody reads: drop what arrives (and free the window).
                if endpoint.read_message(handle).is_none() {
                    break;
                }
                continue;
            };
            let waiting = &link.shared.messages_waiting;
            if waiting.load(Ordering::SeqCst) >= MESSAGE_CHANNEL {
                if readable(endpoint) == 0 {
                    break;
                }
                // Ask the reader for a `ReadMore`, then look again: the reader may have
                // emptied the channel before it could see the flag. Either it sees the flag
                // or this sees the room (both sides fence).
                link.shared.reader_blocked.store(true, Ordering::SeqCst);
                std::sync::atomic::fence(Ordering::SeqCst);
                if waiting.load(Ordering::SeqCst) >= MESSAGE_CHANNEL {
                    break;
                }
                continue;
            }
            let Some(m) = endpoint.read_message(handle) else {
                break;
            };
            waiting.fetch_add(1, Ordering::SeqCst);
            if tx.send(m).is_err() {
                // The receiver is gone but the handle may not be dropped yet (moved into a
                // task that ended): drop what arrives.
                waiting.fetch_sub(1, Ordering::SeqCst);
                link.dropped = true;
                continue;
            }
            any = true;
        }
        if link.closed && readable(endpoint) == 0 {
            // Everything that arrived before the end went out: `recv` ends after it.
            link.messages = None;
        }
        any
    }

    fn event(&mut self, handle: AssociationHandle, event: Event) {
        if !self.links.contains_key(&handle) {
            if !matches!(event, Event::Connected) {
                return;
            }
            // An association the endpoint accepted.
            let Some(remote) = self
                .endpoint
                .association(handle)
                .and_then(braid_proto::Association::primary_remote)
            else {
                return;
            };
            let accepted = match self.link(handle, remote, Status::Connecting) {
                Some(assoc) => self.accepted.try_send(assoc).is_ok(),
                None => false,
            };
            if !accepted {
                tracing::debug!("accept queue full or closed: aborting {handle:?}");
                if let Some(a) = self.endpoint.association_mut(handle) {
                    a.abort(Instant::now(), "not accepted");
                }
            }
            // Messages that arrived with the COOKIE ECHO wait in the core.
            self.read_messages(handle);
        }
        let Some(link) = self.links.get_mut(&handle) else {
            return;
        };
        match &event {
            Event::Connected | Event::Restarted => {
                let (streams_out, streams_in) = self
                    .endpoint
                    .association(handle)
                    .and_then(braid_proto::Association::negotiated)
                    .map_or((0, 0), |n| (n.outbound_streams, n.inbound_streams));
                link.set_status(Status::Established {
                    streams_out,
                    streams_in,
                });
            }
            Event::ShutdownStarted => {
                link.set_status(Status::ShuttingDown);
            }
            Event::Closed(reason) => {
                // Deliver what arrived before the end, then report it.
                self.read_messages(handle);
                let Some(link) = self.links.get_mut(&handle) else {
                    return;
                };
                link.closed = true;
                self.closed_links.push(handle);
                if self
                    .endpoint
                    .association(handle)
                    .is_none_or(|a| a.readable_messages() == 0)
                {
                    link.messages = None;
                }
                link.drop_pending();
                link.set_status(Status::Closed(reason.clone()));
                link.shared.sender_waiting.store(false, Ordering::SeqCst);
                link.shared.send_space.notify_waiters();
                if matches!(reason, CloseReason::Shutdown) {
                    tracing::debug!("{handle:?} shut down");
                }
            }
            _ => {}
        }
        if let Some(link) = self.links.get_mut(&handle) {
            let _ = link.events.try_send(event);
        }
    }

    /// Writes every packet the core has, in GSO batches; stops when the socket would block.
    fn transmit(&mut self, now: Instant) {
        if self.io.blocked() && !self.io.flush() {
            return;
        }
        let local = self.io.local_addr();
        loop {
            if self.io.tx_queued() >= TX_FLUSH_BYTES && !self.io.flush() {
                return;
            }
            let Some(t) = self.endpoint.poll_transmit(now, self.io.tx_buffer()) else {
                break;
            };
            if let Some(p) = self.pcap.as_mut() {
                let buf = self.io.tx_buffer();
                if let Some(pkt) = buf.get(buf.len() - t.len.min(buf.len())..) {
                    p.record(local, t.remote, pkt);
                }
            }
            self.io.pushed(t.remote, t.len);
        }
        self.io.flush();
    }
}

/// What ended the driver's wait.
enum Wake {
    /// A command (in the driver's slot for it), or with `open` false, word that every
    /// sender is gone.
    Command { open: bool },
    /// The socket may be readable (or failed).
    Readable(std::io::Result<()>),
    /// The socket may be writable, or the timer fired.
    Other,
}

/// Gives back send credit and wakes a waiting sender.
fn release(shared: &Shared, len: usize) {
    shared.queued.fetch_sub(len, Ordering::SeqCst);
    if shared.sender_waiting.swap(false, Ordering::SeqCst) {
        shared.send_space.notify_waiters();
    }
}
