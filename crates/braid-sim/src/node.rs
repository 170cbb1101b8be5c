//! The [`Node`] trait: what the simulator needs from a sans-IO protocol instance.

use std::time::Instant;

use braid_proto::{Association, PathId};
use bytes::Bytes;

/// A sans-IO protocol instance the simulator drives.
///
/// The simulator follows the braid-proto polling contract: after every input it calls
/// [`poll_transmit`](Node::poll_transmit) until `None`, then asks
/// [`poll_timeout`](Node::poll_timeout) for the next deadline. Events and received messages
/// stay in the node for the test to read.
pub trait Node {
    /// Feeds one packet that arrived from the network.
    fn handle_packet(&mut self, now: Instant, packet: Bytes);
    /// Called once the deadline from [`poll_timeout`](Node::poll_timeout) has passed.
    fn handle_timeout(&mut self, now: Instant);
    /// Appends the next packet to send at the end of `buf` and returns its length, or returns
    /// `None` when there is nothing to send.
    fn poll_transmit(&mut self, now: Instant, buf: &mut Vec<u8>) -> Option<usize>;
    /// The next instant at which [`handle_timeout`](Node::handle_timeout) must be called.
    fn poll_timeout(&self) -> Option<Instant>;
}

/// A standalone association with one path ([`PathId`]`(0)`): everything it sends goes over
/// the node's link, everything that arrives is fed in on path 0.
impl Node for Association {
    fn handle_packet(&mut self, now: Instant, packet: Bytes) {
        Association::handle_packet(self, now, PathId(0), packet);
    }

    fn handle_timeout(&mut self, now: Instant) {
        Association::handle_timeout(self, now);
    }

    fn poll_transmit(&mut self, now: Instant, buf: &mut Vec<u8>) -> Option<usize> {
        Association::poll_transmit(self, now, buf).map(|t| t.len)
    }

    fn poll_timeout(&self) -> Option<Instant> {
        Association::poll_timeout(self)
    }
}
