//! Batched UDP I/O for one shard: `recvmmsg` with GRO on the way in, `sendmsg` with GSO on
//! the way out (through `quinn-udp`, which falls back to one datagram per call where the
//! kernel lacks them). One SCTP packet per UDP datagram (RFC 6951 §5).

use std::io::{self, IoSliceMut};
use std::net::SocketAddr;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use quinn_udp::{RecvMeta, Transmit, UdpSocketState};
use tokio::io::Interest;
use tokio::net::UdpSocket;

use crate::Error;

/// Receive slots per `recvmmsg` call.
const RX_SLOTS: usize = 16;
/// A slot must have room for the largest GRO super-datagram.
const RX_SLOT_MIN: usize = 64 * 1024;
/// Receive memory is carved from blocks of this size; received datagrams are zero-copy views
/// of a block, which is freed when the last view is dropped.
const RX_BLOCK: usize = 256 * 1024;
/// Largest GSO batch (the kernel's limit for one UDP send is 64 KiB).
const GSO_MAX_BYTES: usize = 65000;
/// Outgoing bytes queued before they are flushed to the socket.
pub(crate) const TX_FLUSH_BYTES: usize = 256 * 1024;

/// A run of equal-size datagrams to one destination (the last may be shorter), sent with one
/// GSO `sendmsg`.
#[derive(Debug, Clone, Copy)]
struct Batch {
    dest: SocketAddr,
    start: usize,
    end: usize,
    segment: usize,
    /// A shorter datagram ended the batch.
    sealed: bool,
}

/// The shard's socket with its batching state.
#[derive(Debug)]
pub(crate) struct UdpIo {
    socket: UdpSocket,
    state: UdpSocketState,
    local: SocketAddr,
    slots: Vec<BytesMut>,
    meta: Vec<RecvMeta>,
    /// Outgoing datagrams, back to back; `batches` says how they group.
    tx: Vec<u8>,
    batches: Vec<Batch>,
    /// Batches already sent.
    sent: usize,
    max_segments: usize,
    /// Whether the socket is to be connected to the first peer (`Config::single_peer`).
    single_peer: bool,
    /// The peer the socket is connected to: single datagrams to it go out with `send`, which
    /// uses the route the kernel keeps since `connect` instead of looking one up.
    connected: Option<SocketAddr>,
    /// Datagrams sent and send calls made.
    pub(crate) datagrams_sent: u64,
    pub(crate) send_calls: u64,
    pub(crate) datagrams_received: u64,
    pub(crate) recv_calls: u64,
}

/// Turns off the per-datagram control messages quinn-udp asks the kernel for (the
/// destination address, the TOS / traffic class byte, a receive timestamp): nothing here
/// reads them, and on loopback filling them in costs about half a microsecond per datagram.
/// Best effort; GRO stays on.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn quiet_receive_options(socket: &std::net::UdpSocket) {
    use nix::sys::socket::{setsockopt, sockopt};
    let ipv4 = socket.local_addr().is_ok_and(|a| a.is_ipv4());
    let mut results = vec![setsockopt(socket, sockopt::ReceiveTimestampns, &false)];
    if ipv4 {
        results.push(setsockopt(socket, sockopt::Ipv4PacketInfo, &false));
        results.push(setsockopt(socket, sockopt::IpRecvTos, &false));
    } else {
        results.push(setsockopt(socket, sockopt::Ipv6RecvPacketInfo, &false));
        results.push(setsockopt(socket, sockopt::Ipv6RecvTClass, &false));
        // A dual-stack socket receives IPv4 too.
        results.push(setsockopt(socket, sockopt::IpRecvTos, &false));
    }
    for e in results.into_iter().filter_map(Result::err) {
        tracing::debug!("clearing a receive option: {e}");
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn quiet_receive_options(_: &std::net::UdpSocket) {}

impl UdpIo {
    /// Wraps a bound, non-blocking socket. Must run inside a tokio runtime.
    pub(crate) fn new(
        socket: std::net::UdpSocket,
        buffer: usize,
        single_peer: bool,
    ) -> io::Result<Self> {
        let state = UdpSocketState::new((&socket).into())?;
        quiet_receive_options(&socket);
        if buffer > 0 {
            // Best effort: the kernel caps these at net.core.[rw]mem_max.
            let _ = state.set_send_buffer_size((&socket).into(), buffer);
            let _ = state.set_recv_buffer_size((&socket).into(), buffer);
        }
        let local = socket.local_addr()?;
        let socket = UdpSocket::from_std(socket)?;
        let max_segments = state.max_gso_segments().max(1);
        Ok(Self {
            socket,
            state,
            local,
            slots: (0..RX_SLOTS).map(|_| BytesMut::zeroed(RX_BLOCK)).collect(),
            meta: vec![RecvMeta::default(); RX_SLOTS],
            tx: Vec::with_capacity(TX_FLUSH_BYTES + GSO_MAX_BYTES),
            batches: Vec::new(),
            sent: 0,
            max_segments,
            single_peer,
            connected: None,
            datagrams_sent: 0,
            send_calls: 0,
            datagrams_received: 0,
            recv_calls: 0,
        })
    }

    /// The bound address.
    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// With `single_peer`, connects the socket to `peer` the first time (`connect(2)`: the
    /// kernel keeps the route for single-datagram sends and delivers only that peer's
    /// datagrams). Fails with [`Error::SinglePeer`] when the socket is connected to another
    /// peer, and with the socket's error when `connect` fails (the socket stays unconnected
    /// and a later attempt tries again).
    pub(crate) fn connect_peer(&mut self, peer: SocketAddr) -> Result<(), Error> {
        if !self.single_peer {
            return Ok(());
        }
        match self.connected {
            Some(c) if c == peer => Ok(()),
            Some(connected) => Err(Error::SinglePeer { connected }),
            None => {
                let dest = socket_dest(self.local, peer);
                socket2::SockRef::from(&self.socket).connect(&dest.into())?;
                self.connected = Some(peer);
                Ok(())
            }
        }
    }

    /// Polls for the socket to be readable (the driver is the only one who asks, so the
    /// socket's single reader waker slot serves, with no waiter list to join and leave).
    pub(crate) fn poll_readable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.socket.poll_recv_ready(cx)
    }

    /// Whether tokio has seen the socket readable (and no receive has found it empty since),
    /// asked without registering a waker.
    pub(crate) fn readable_now(&self) -> bool {
        self.socket.try_io(Interest::READABLE, || Ok(())).is_ok()
    }

    /// Polls for the socket to be writable.
    pub(crate) fn poll_writable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.socket.poll_send_ready(cx)
    }

    /// Receives one batch without waiting and hands each datagram to `deliver`. Returns the
    /// number of datagrams (0 when nothing was waiting).
    pub(crate) fn try_recv(&mut self, mut deliver: impl FnMut(SocketAddr, Bytes)) -> usize {
        let n = {
            let (socket, state, meta) = (&self.socket, &self.state, &mut self.meta);
            let slots = &mut self.slots;
            let mut got = 0;
            // The slots are set up only once tokio has seen the socket readable.
            let result = socket.try_io(Interest::READABLE, || {
                let mut it = slots.iter_mut();
                let mut bufs: [IoSliceMut<'_>; RX_SLOTS] = std::array::from_fn(|_| {
                    let slot = it.next().map_or(&mut [][..], |b| &mut b[..]);
                    let len = slot.len().min(RX_SLOT_MIN);
                    IoSliceMut::new(slot.get_mut(..len).unwrap_or_default())
                });
                got = state.recv(socket.into(), &mut bufs, meta)?;
                if got < RX_SLOTS {
                    // A partial batch drained the queue: report "would block" so that tokio
                    // clears the readiness now, saving the `recvmmsg` that would only say
                    // EAGAIN. (A datagram that arrived since raises a new readiness event,
                    // which tokio does not clear.)
                    return Err(io::ErrorKind::WouldBlock.into());
                }
                Ok(got)
            });
            match result {
                Ok(n) => n,
                Err(_) if got > 0 => got,
                Err(e) => {
                    if e.kind() != io::ErrorKind::WouldBlock {
                        // ICMP errors (port unreachable on loopback) surface here: the peer is
                        // gone or not yet there; SCTP's timers deal with it.
                        tracing::trace!("recv: {e}");
                    }
                    return 0;
                }
            }
        };
        self.recv_calls += 1;
        let mut count = 0;
        for (slot, meta) in self.slots.iter_mut().zip(&self.meta).take(n) {
            let len = meta.len.min(slot.len());
            let data = slot.split_to(len).freeze();
            if slot.len() < RX_SLOT_MIN {
                *slot = BytesMut::zeroed(RX_BLOCK);
            }
            let from = canonical(meta.addr);
            let stride = if meta.stride == 0 { len } else { meta.stride };
            let mut off = 0;
            while off < len {
                let end = (off + stride).min(len);
                deliver(from, data.slice(off..end));
                count += 1;
                off = end;
            }
        }
        self.datagrams_received += count as u64;
        count
    }

    /// The buffer a datagram is appended to; call [`pushed`](Self::pushed) after appending.
    pub(crate) fn tx_buffer(&mut self) -> &mut Vec<u8> {
        &mut self.tx
    }

    /// Bytes queued and not yet sent.
    pub(crate) fn tx_queued(&self) -> usize {
        self.tx.len()
    }

    /// The last `len` bytes of the buffer are a datagram for `dest`.
    pub(crate) fn pushed(&mut self, dest: SocketAddr, len: usize) {
        let end = self.tx.len();
        let start = end - len.min(end);
        let unsent = self.sent < self.batches.len();
        if let Some(b) = self.batches.last_mut() {
            let count = (b.end - b.start).div_ceil(b.segment.max(1));
            if unsent
                && b.dest == dest
                && !b.sealed
                && len <= b.segment
                && count < self.max_segments
                && b.end - b.start + len <= GSO_MAX_BYTES
                && b.end == start
            {
                b.end = end;
                b.sealed = len < b.segment;
                return;
            }
        }
        self.batches.push(Batch {
            dest,
            start,
            end,
            segment: len,
            sealed: false,
        });
    }

    /// Sends what is queued. `Ok(true)` when everything went out, `Ok(false)` when the socket
    /// would block (wait for [`writable`](Self::writable) and call again).
    pub(crate) fn flush(&mut self) -> bool {
        while let Some(b) = self.batches.get(self.sent).copied() {
            let Some(contents) = self.tx.get(b.start..b.end) else {
                break;
            };
            let multi = b.end - b.start > b.segment;
            let transmit = Transmit {
                destination: b.dest,
                ecn: None,
                contents,
                segment_size: multi.then_some(b.segment),
                src_ip: None,
            };
            let (socket, state) = (&self.socket, &self.state);
            let sent = if multi {
                socket.try_io(Interest::WRITABLE, || {
                    state.try_send(socket.into(), &transmit)
                })
            } else {
                // One datagram: a plain `sendto`. quinn-udp's `sendmsg` carries an IP_TOS
                // control message for ECN, which we do not use and which costs the kernel
                // its parsing on every call — noticeable on a request–response round trip.
                if self.connected == Some(b.dest) {
                    socket.try_send(contents).map(|_| ())
                } else {
                    socket
                        .try_send_to(contents, socket_dest(self.local, b.dest))
                        .map(|_| ())
                }
            };
            match sent {
                Ok(()) => {
                    self.send_calls += 1;
                    self.datagrams_sent += (b.end - b.start).div_ceil(b.segment.max(1)) as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
                Err(e) => {
                    // Lost like any datagram; SCTP retransmits. GSO refusal (EIO) makes
                    // quinn-udp stop segmenting, so the next batches go one by one.
                    tracing::debug!("send to {}: {e}", b.dest);
                    self.max_segments = self.state.max_gso_segments().max(1);
                }
            }
            self.sent += 1;
        }
        self.tx.clear();
        self.batches.clear();
        self.sent = 0;
        true
    }

    /// Whether datagrams wait for the socket to become writable.
    pub(crate) fn blocked(&self) -> bool {
        self.sent < self.batches.len()
    }
}

/// The address to give `sendto` on a socket bound to `local`: an IPv4 destination as an
/// IPv4-mapped IPv6 address when the socket is IPv6 (dual-stack).
fn socket_dest(local: SocketAddr, dest: SocketAddr) -> SocketAddr {
    match (local, dest) {
        (SocketAddr::V6(_), SocketAddr::V4(v4)) => {
            SocketAddr::new(v4.ip().to_ipv6_mapped().into(), v4.port())
        }
        _ => dest,
    }
}

/// IPv4-mapped IPv6 addresses (from a dual-stack socket) as plain IPv4, so that a peer has one
/// address whatever socket it came through.
pub(crate) fn canonical(addr: SocketAddr) -> SocketAddr {
    match addr {
        SocketAddr::V6(v6) => match v6.ip().to_ipv4_mapped() {
            Some(v4) => SocketAddr::new(v4.into(), v6.port()),
            None => addr,
        },
        SocketAddr::V4(_) => addr,
    }
}
