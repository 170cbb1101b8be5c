//! SCTP over UDP (RFC 6951) on tokio.
//!
//! An [`Endpoint`] binds UDP sockets and runs Braid's sans-IO core ([`braid_proto`]) in a
//! driver task per shard; [`Association`] handles send and receive messages with
//! back-pressure. Datagrams move in batches (`recvmmsg` with GRO, `sendmsg` with GSO through
//! `quinn-udp`). With several shards, each has its own socket, driver and thread, and an
//! association stays on the shard that created it.
//!
//! ```no_run
//! # async fn demo() -> Result<(), braid::Error> {
//! use braid::{Config, Endpoint, SendOptions};
//!
//! let endpoint = Endpoint::bind("0.0.0.0:0".parse().unwrap(), Config::default())?;
//! let mut assoc = endpoint.connect("192.0.2.1:5000".parse().unwrap()).await?;
//! assoc.send(0, &b"ping"[..], &SendOptions { ppid: braid::Ppid(51), ..Default::default() }).await?;
//! if let Some(msg) = assoc.recv().await {
//!     println!("stream {} ppid {}: {} bytes", msg.stream.0, msg.ppid.0, msg.payload.len());
//! }
//! assoc.shutdown().await?;
//! # Ok(()) }
//! ```

#![cfg_attr(
    not(test),
    deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::panic)
)]

mod association;
mod driver;
mod endpoint;
mod pcap;
mod udp;

pub use association::{Association, AssociationStats, Status};
pub use braid_proto::{
    AssociationConfig, CloseReason, ConnectError, EndpointConfig, Event, Message, PathStats, Ppid,
    SendError, SendOptions, Stats, StreamId,
};
pub use endpoint::{Config, Endpoint};

/// What can go wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A socket or file error.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The endpoint could not start the association.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// The message was refused.
    #[error(transparent)]
    Send(#[from] SendError),
    /// The association ended (for a reason other than a graceful shutdown, where that
    /// matters).
    #[error("association closed: {0:?}")]
    Closed(CloseReason),
    /// The endpoint's driver has stopped.
    #[error("the endpoint has stopped")]
    EndpointGone,
    /// No shard with that index.
    #[error("no shard {0}")]
    NoSuchShard(usize),
    /// The endpoint was built with [`Config::single_peer`] and its socket is connected to
    /// another peer.
    #[error("the endpoint's socket is connected to {connected} (Config::single_peer)")]
    SinglePeer {
        /// The peer the socket is connected to.
        connected: std::net::SocketAddr,
    },
}
