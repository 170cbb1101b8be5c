//! The [`Node`] trait: what the simulator needs from a sans-IO protocol instance.

use std::time::Instant;

use braid_proto::{Association, PathId};
use bytes::Bytes;

/// A packet a node wrote with [`Node::poll_transmit`]: the path it takes and its length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Outgoing {
    /// The index of the path to send it on (0 for a node with one path). Paths are made by
    /// [`Sim::connect_paths`](crate::Sim::connect_paths); a packet on a path the node has no
    /// link for is dropped and recorded in [`Sim::unroutable`](crate::Sim::unroutable).
    pub path: usize,
    /// Its length: the packet is the last `len` bytes of the buffer.
    pub len: usize,
}

/// A sans-IO protocol instance the simulator drives.
///
/// The simulator follows the braid-proto polling contract: after every input it calls
/// [`poll_transmit`](Node::poll_transmit) until `None`, then asks
/// [`poll_timeout`](Node::poll_timeout) for the next deadline. Events and received messages
/// stay in the node for the test to read.
///
/// Two nodes may be joined by several paths ([`Sim::connect_paths`](crate::Sim::connect_paths)),
/// numbered from 0 the same way at both ends: a packet sent on path `i` arrives on path `i`.
pub trait Node {
    /// Feeds one packet that arrived from the network on path `path`.
    fn handle_packet(&mut self, now: Instant, path: usize, packet: Bytes);
    /// Called once the deadline from [`poll_timeout`](Node::poll_timeout) has passed.
    fn handle_timeout(&mut self, now: Instant);
    /// Appends the next packet to send at the end of `buf` and says which path it takes and
    /// how long it is, or returns `None` when there is nothing to send.
    fn poll_transmit(&mut self, now: Instant, buf: &mut Vec<u8>) -> Option<Outgoing>;
    /// The next instant at which [`handle_timeout`](Node::handle_timeout) must be called.
    fn poll_timeout(&self) -> Option<Instant>;
}

/// An association: path index `i` is its [`PathId`]`(i)`. A standalone association starts
/// with one path, `PathId(0)`, so everything it sends goes over the node's path 0; each
/// path added with [`Association::add_path`] (with no address: the simulator routes by
/// index) is the next index, so a node joined by [`Sim::connect_paths`](crate::Sim::connect_paths)
/// can use them all.
impl Node for Association {
    fn handle_packet(&mut self, now: Instant, path: usize, packet: Bytes) {
        // A path index beyond any PathId is fed in as the last one, which the association
        // does not have: it is treated as coming from an unknown path.
        let id = PathId(u16::try_from(path).unwrap_or(u16::MAX));
        Association::handle_packet(self, now, id, packet);
    }

    fn handle_timeout(&mut self, now: Instant) {
        Association::handle_timeout(self, now);
    }

    fn poll_transmit(&mut self, now: Instant, buf: &mut Vec<u8>) -> Option<Outgoing> {
        Association::poll_transmit(self, now, buf).map(|t| Outgoing {
            path: usize::from(t.path.0),
            len: t.len,
        })
    }

    fn poll_timeout(&self) -> Option<Instant> {
        Association::poll_timeout(self)
    }
}
