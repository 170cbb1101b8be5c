//! The endpoint: UDP sockets, one driver per shard, `connect` and `accept`.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use braid_proto::{AssociationConfig, EndpointConfig};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::sync::{mpsc, oneshot};

use crate::association::Association;
use crate::driver::{Command, Driver};
use crate::pcap::{PcapSink, PcapThread};
use crate::udp::UdpIo;
use crate::Error;

/// How to build an [`Endpoint`].
#[derive(Debug, Clone)]
pub struct Config {
    /// The sans-IO endpoint's parameters: SCTP port (5000 by default, the WebRTC convention),
    /// whether to accept INITs, and the parameters of its associations. The random seed is
    /// replaced by one from the operating system, per shard.
    pub endpoint: EndpointConfig,
    /// Shards: each its own socket, driver and thread. With one shard the driver is a task on
    /// the caller's tokio runtime; with more, each shard runs on a thread of its own with a
    /// single-threaded runtime. Bound to a fixed port, the shards share it with `SO_REUSEPORT`
    /// and the kernel spreads peers over them by address hash (a peer stays on one shard); a
    /// shard that receives a packet for an association another shard started passes it on.
    /// Bound to port 0, each shard gets a port of its own (see [`Endpoint::local_addrs`]).
    pub shards: usize,
    /// `SO_SNDBUF` and `SO_RCVBUF` asked for each socket (the kernel caps them at
    /// `net.core.wmem_max` / `rmem_max`); 0 keeps the system default.
    pub socket_buffer: usize,
    /// Capture every datagram to this pcap file (SCTP over UDP; tell Wireshark
    /// `-d udp.port==PORT,sctp` for ports other than 9899).
    pub pcap: Option<PathBuf>,
    /// Accepted associations waiting for [`Endpoint::accept`]; more are aborted.
    pub accept_queue: usize,
    /// A client that talks to one peer: the first [`connect`](Endpoint::connect) on a shard
    /// also connects that shard's UDP socket to the peer (`connect(2)`), as a UDP client
    /// would. The kernel then keeps the route for the socket instead of looking it up for
    /// each single-datagram send, and delivers only that peer's datagrams: the endpoint
    /// accepts nothing from other addresses, and connecting it to another remote address
    /// fails with [`Error::SinglePeer`](crate::Error::SinglePeer) (a `connect(2)` that fails
    /// fails the [`connect`](Endpoint::connect) with its error). Off by default.
    pub single_peer: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            endpoint: EndpointConfig::default(),
            shards: 1,
            socket_buffer: 4 * 1024 * 1024,
            pcap: None,
            accept_queue: 128,
            single_peer: false,
        }
    }
}

#[derive(Debug)]
struct Shard {
    commands: mpsc::UnboundedSender<Command>,
    local: SocketAddr,
}

/// An SCTP endpoint over UDP (RFC 6951): one SCTP packet per datagram.
///
/// ```no_run
/// # async fn demo() -> Result<(), braid::Error> {
/// use braid::{Config, Endpoint, SendOptions};
///
/// let server = Endpoint::bind("127.0.0.1:0".parse().unwrap(), Config::default())?;
/// let client = Endpoint::bind("127.0.0.1:0".parse().unwrap(), Config::default())?;
/// let mut a = client.connect(server.local_addr()).await?;
/// let mut b = server.accept().await.expect("an association");
/// a.send(0, &b"hello"[..], &SendOptions::default()).await?;
/// let msg = b.recv().await.expect("a message");
/// assert_eq!(&msg.payload[..], b"hello");
/// a.shutdown().await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Endpoint {
    shards: Vec<Shard>,
    next_shard: AtomicUsize,
    accepted: tokio::sync::Mutex<mpsc::Receiver<Association>>,
    peer_port: u16,
    /// Closed when every driver has ended.
    alive: tokio::sync::Mutex<mpsc::Receiver<()>>,
    pcap: Mutex<Option<PcapThread>>,
}

impl Endpoint {
    /// Binds the shards' sockets to `addr` and starts their drivers. Call it inside a tokio
    /// runtime.
    ///
    /// # Errors
    ///
    /// Socket errors (address in use…), the pcap file's errors, and an error when called
    /// outside a tokio runtime.
    pub fn bind(addr: SocketAddr, config: Config) -> Result<Self, Error> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|e| io::Error::other(format!("Endpoint::bind needs a tokio runtime: {e}")))?;
        let shards = config.shards.max(1);
        let (pcap_sink, pcap_thread) = match &config.pcap {
            Some(path) => {
                let (s, t) = PcapSink::create(path)?;
                (Some(s), Some(t))
            }
            None => (None, None),
        };
        let (accept_tx, accept_rx) = mpsc::channel(config.accept_queue.max(1));
        let (alive_tx, alive_rx) = mpsc::channel::<()>(1);
        let mut handles = Vec::with_capacity(shards);
        let channels: Vec<_> = (0..shards).map(|_| mpsc::unbounded_channel()).collect();
        // Shards sharing one port forward to each other the packets the kernel hashed to the
        // wrong socket for the associations they started.
        let shared_port = shards > 1 && addr.port() != 0;
        let peers: Vec<_> = if shared_port {
            channels.iter().map(|(tx, _)| tx.downgrade()).collect()
        } else {
            Vec::new()
        };
        for (i, (tx, rx)) in channels.into_iter().enumerate() {
            let socket = bind_socket(addr, shards > 1 && addr.port() != 0)?;
            let local = socket.local_addr()?;
            let mut endpoint_config = config.endpoint.clone();
            endpoint_config.rng_seed = getrandom::u64()
                .map_err(|e| io::Error::other(format!("no randomness from the system: {e}")))?;
            let weak = tx.downgrade();
            let peers = peers.clone();
            let accept_tx = accept_tx.clone();
            let pcap = pcap_sink.clone();
            let alive = alive_tx.clone();
            let buffer = config.socket_buffer;
            let single_peer = config.single_peer;
            let start = move || -> io::Result<Driver> {
                let io = UdpIo::new(socket, buffer, single_peer)?;
                let endpoint =
                    braid_proto::Endpoint::new(std::time::Instant::now(), endpoint_config);
                let mut driver = Driver::new(endpoint, io, rx, weak, accept_tx, pcap);
                driver.set_peers(i, peers);
                Ok(driver)
            };
            if shards == 1 {
                let driver = {
                    let _guard = runtime.enter();
                    start()?
                };
                runtime.spawn(async move {
                    driver.run().await;
                    drop(alive);
                });
            } else {
                let (ready_tx, ready_rx) = std::sync::mpsc::channel();
                std::thread::Builder::new()
                    .name(format!("braid-shard-{i}"))
                    .spawn(move || {
                        let rt = match tokio::runtime::Builder::new_current_thread()
                            .enable_all()
                            .build()
                        {
                            Ok(rt) => rt,
                            Err(e) => {
                                let _ = ready_tx.send(Err(e));
                                return;
                            }
                        };
                        rt.block_on(async move {
                            match start() {
                                Ok(driver) => {
                                    let _ = ready_tx.send(Ok(()));
                                    driver.run().await;
                                }
                                Err(e) => {
                                    let _ = ready_tx.send(Err(e));
                                }
                            }
                            drop(alive);
                        });
                    })?;
                ready_rx
                    .recv()
                    .map_err(|_| io::Error::other("shard thread ended before it started"))??;
            }
            handles.push(Shard {
                commands: tx,
                local,
            });
        }
        Ok(Self {
            shards: handles,
            next_shard: AtomicUsize::new(0),
            accepted: tokio::sync::Mutex::new(accept_rx),
            peer_port: config.endpoint.port,
            alive: tokio::sync::Mutex::new(alive_rx),
            pcap: Mutex::new(pcap_thread),
        })
    }

    /// The first shard's address.
    pub fn local_addr(&self) -> SocketAddr {
        self.shards
            .first()
            .map_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)), |s| s.local)
    }

    /// Every shard's address, in shard order (the same address when they share a port).
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.shards.iter().map(|s| s.local).collect()
    }

    /// Number of shards.
    pub fn shard_count(&self) -> usize {
        self.shards.len()
    }

    /// Connects to the SCTP endpoint at UDP address `remote` (SCTP port: the same as ours,
    /// 5000 by default) from the next shard in turn, and waits for the handshake.
    ///
    /// # Errors
    ///
    /// [`Error::Closed`] when the handshake fails (INIT timeout, ABORT), [`Error::Connect`]
    /// when an association with `remote` exists or the limit is reached.
    pub async fn connect(&self, remote: SocketAddr) -> Result<Association, Error> {
        let shard = self.next_shard.fetch_add(1, Ordering::Relaxed) % self.shards.len().max(1);
        self.connect_on(shard, remote, self.peer_port, None).await
    }

    /// Connects from shard `shard` to `remote`, SCTP port `peer_port`, with association
    /// parameters of its own (or the endpoint's), and waits for the handshake.
    ///
    /// # Errors
    ///
    /// As [`connect`](Self::connect); [`Error::NoSuchShard`] for a shard out of range.
    pub async fn connect_on(
        &self,
        shard: usize,
        remote: SocketAddr,
        peer_port: u16,
        config: Option<AssociationConfig>,
    ) -> Result<Association, Error> {
        let s = self.shards.get(shard).ok_or(Error::NoSuchShard(shard))?;
        let (reply, rx) = oneshot::channel();
        s.commands
            .send(Command::Connect {
                remote,
                peer_port,
                config: config.map(Box::new),
                reply,
            })
            .map_err(|_| Error::EndpointGone)?;
        let assoc = rx.await.map_err(|_| Error::EndpointGone)??;
        assoc.established().await?;
        Ok(assoc)
    }

    /// The next association a peer opened, or `None` once the endpoint is closed.
    pub async fn accept(&self) -> Option<Association> {
        self.accepted.lock().await.recv().await
    }

    /// Aborts every association, stops the drivers and waits until they have sent their last
    /// packets (and the capture file is complete).
    pub async fn close(&self) {
        for s in &self.shards {
            let _ = s.commands.send(Command::Close);
        }
        self.wait_idle().await;
    }

    /// Waits until every driver has stopped: each stops once the endpoint is closed (or
    /// dropped) and all its associations have ended. Then finishes the capture file.
    pub async fn wait_idle(&self) {
        let _ = self.alive.lock().await.recv().await;
        let thread = self.pcap.lock().ok().and_then(|mut p| p.take());
        if let Some(t) = thread {
            match tokio::task::spawn_blocking(move || t.join()).await {
                Ok(Ok(n)) => tracing::debug!("pcap: {n} packets written"),
                Ok(Err(e)) => tracing::warn!("pcap: {e}"),
                Err(e) => tracing::warn!("pcap writer: {e}"),
            }
        }
    }
}

/// A non-blocking UDP socket bound to `addr`.
fn bind_socket(addr: SocketAddr, reuse_port: bool) -> io::Result<std::net::UdpSocket> {
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if addr.is_ipv6() {
        // Accept IPv4-mapped peers too on an unspecified IPv6 address.
        let _ = socket.set_only_v6(false);
    }
    #[cfg(unix)]
    if reuse_port {
        socket.set_reuse_port(true)?;
    }
    #[cfg(not(unix))]
    let _ = reuse_port;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    Ok(socket.into())
}
