//! The application's handle on one association.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;

use braid_proto::{
    AssociationHandle, CloseReason, Event, Message, PathStats, SendError, SendOptions, Stats,
    StreamId,
};
use bytes::Bytes;
use tokio::sync::{mpsc, oneshot, watch, Mutex, Notify};

use crate::driver::Command;
use crate::Error;

/// Where an association is in its life, as the handle sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Status {
    /// The handshake is running.
    Connecting,
    /// ESTABLISHED: data flows both ways.
    Established {
        /// Outbound streams negotiated (stream ids `0..streams_out`).
        streams_out: u16,
        /// Inbound streams negotiated.
        streams_in: u16,
    },
    /// A graceful shutdown is under way (either side started it).
    ShuttingDown,
    /// The association has ended.
    Closed(CloseReason),
}

/// State the handle and the driver share, without locks: the send credit and the reader's
/// back-pressure flag.
#[derive(Debug)]
pub(crate) struct Shared {
    /// Bytes handed to the driver that the core has not yet taken into its send buffer.
    pub(crate) queued: AtomicUsize,
    /// Most bytes that may wait in `queued`.
    pub(crate) queue_limit: usize,
    /// Wakes senders waiting for `queued` to fall.
    pub(crate) send_space: Notify,
    /// A sender waits on `send_space` (so the driver notifies only then).
    pub(crate) sender_waiting: AtomicBool,
    /// The driver stopped reading messages because the handle's channel was full.
    pub(crate) reader_blocked: AtomicBool,
    /// Messages in the handle's channel: sent by the driver, not yet taken by `recv`.
    pub(crate) messages_waiting: AtomicUsize,
    /// The outbound stream count while the association is established, [`NOT_SENDING`]
    /// otherwise: what `send` checks, without the status channel's lock.
    pub(crate) streams_out: AtomicU32,
    /// Largest message the core accepts.
    pub(crate) max_message_size: usize,
}

/// [`Shared::streams_out`] when the association is not established (connecting, shutting
/// down or closed): the status says which.
pub(crate) const NOT_SENDING: u32 = u32::MAX;

impl Shared {
    /// Whether `len` more bytes may be handed over while `queued` are: up to the limit, and
    /// a message larger than the limit alone.
    fn has_room(&self, queued: usize, len: usize) -> bool {
        queued == 0 || queued + len <= self.queue_limit
    }

    /// Takes credit for `len` bytes if there is room (false also when another sender took
    /// it first: look again).
    fn try_take(&self, len: usize) -> bool {
        let queued = self.queued.load(Ordering::Acquire);
        self.has_room(queued, len)
            && self
                .queued
                .compare_exchange(queued, queued + len, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
    }
}

/// One SCTP association: send and receive messages, watch its status, shut it down.
///
/// The association lives in its shard's driver task; this handle talks to it over channels.
/// Every method takes `&self`, so one task can send while another receives (share it in an
/// `Arc`).
/// Dropping the handle starts a graceful shutdown (like closing a socket); call
/// [`abort`](Self::abort) to end it at once instead.
#[derive(Debug)]
pub struct Association {
    pub(crate) handle: AssociationHandle,
    pub(crate) remote: SocketAddr,
    pub(crate) commands: mpsc::UnboundedSender<Command>,
    pub(crate) messages: Mutex<mpsc::UnboundedReceiver<Message>>,
    pub(crate) events: Mutex<mpsc::Receiver<Event>>,
    pub(crate) status: watch::Receiver<Status>,
    pub(crate) shared: Arc<Shared>,
}

/// Counters of an association and its primary path.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AssociationStats {
    /// Association counters.
    pub association: Stats,
    /// The primary path: RTT estimate, RTO, congestion window, bytes in flight.
    pub path: Option<PathStats>,
}

impl Association {
    /// The peer's UDP address.
    pub fn remote_addr(&self) -> SocketAddr {
        self.remote
    }

    /// The current status.
    pub fn status(&self) -> Status {
        self.status.borrow().clone()
    }

    /// Waits until the handshake completes; returns the negotiated (outbound, inbound) streams.
    ///
    /// # Errors
    ///
    /// [`Error::Closed`] when the association ended instead (INIT timeout, ABORT, …).
    pub async fn established(&self) -> Result<(u16, u16), Error> {
        let mut status = self.status.clone();
        loop {
            match &*status.borrow_and_update() {
                Status::Established {
                    streams_out,
                    streams_in,
                } => return Ok((*streams_out, *streams_in)),
                Status::Closed(reason) => return Err(Error::Closed(reason.clone())),
                Status::ShuttingDown => {
                    return Err(Error::Send(SendError::NotEstablished));
                }
                Status::Connecting => {}
            }
            if status.changed().await.is_err() {
                return Err(Error::EndpointGone);
            }
        }
    }

    /// Queues a message on `stream`. Waits while the send buffer is full (back-pressure): the
    /// core's send buffer (`send_buffer_size`) plus as much again in transit to the driver.
    ///
    /// # Errors
    ///
    /// [`Error::Send`] for an empty or too large message, a stream out of range, or an
    /// association that does not take data (not yet established, shutting down, closed);
    /// [`Error::EndpointGone`] when the driver has stopped.
    pub async fn send(
        &self,
        stream: u16,
        payload: impl Into<Bytes>,
        options: &SendOptions,
    ) -> Result<(), Error> {
        // A send that finds room completes without waiting; let the scheduler run others
        // (the driver among them) when this task has had its share.
        tokio::task::consume_budget().await;
        let payload = payload.into();
        let len = payload.len();
        self.check_send(stream, len)?;
        let shared = &self.shared;
        // Take credit: wait while the driver holds more than its share of unsent bytes. A
        // message larger than the limit goes alone. With room, no waiter is registered.
        while !shared.try_take(len) {
            let notified = shared.send_space.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if shared.try_take(len) {
                break;
            }
            if let Status::Closed(reason) = &*self.status.borrow() {
                return Err(Error::Closed(reason.clone()));
            }
            // Announce the wait, then look again: the driver releases credit before it looks
            // at the flag, so one of the two sees the other (sequentially consistent).
            shared.sender_waiting.store(true, Ordering::SeqCst);
            if shared.has_room(shared.queued.load(Ordering::SeqCst), len) {
                continue;
            }
            notified.await;
            self.check_send(stream, len)?;
        }
        self.commands
            .send(Command::Send {
                handle: self.handle,
                stream: StreamId(stream),
                payload,
                options: options.clone(),
            })
            .map_err(|_| Error::EndpointGone)
    }

    fn check_send(&self, stream: u16, len: usize) -> Result<(), Error> {
        if len == 0 {
            return Err(Error::Send(SendError::Empty));
        }
        if len > self.shared.max_message_size {
            return Err(Error::Send(SendError::TooLarge {
                size: len,
                max: self.shared.max_message_size,
            }));
        }
        // The atomic answers while established; the status (behind its lock) says why not,
        // or catches the moment between the two being set.
        let streams_out = match self.shared.streams_out.load(Ordering::Acquire) {
            NOT_SENDING => match &*self.status.borrow() {
                Status::Established { streams_out, .. } => *streams_out,
                Status::Closed(reason) => return Err(Error::Closed(reason.clone())),
                Status::Connecting | Status::ShuttingDown => {
                    return Err(Error::Send(SendError::NotEstablished))
                }
            },
            n => u16::try_from(n).unwrap_or(u16::MAX),
        };
        if stream >= streams_out {
            return Err(Error::Send(SendError::StreamOutOfRange {
                stream: StreamId(stream),
                streams: streams_out,
            }));
        }
        Ok(())
    }

    /// The next complete message, or `None` once the association has ended and every message
    /// was read. Messages not read stay in the association's receive buffer, which shrinks
    /// the window it advertises: a slow reader slows the sender down.
    pub async fn recv(&self) -> Option<Message> {
        let msg = self.messages.lock().await.recv().await?;
        self.shared.messages_waiting.fetch_sub(1, Ordering::SeqCst);
        // Pairs with the driver's fence between raising the flag and looking for room.
        std::sync::atomic::fence(Ordering::SeqCst);
        if self.shared.reader_blocked.swap(false, Ordering::SeqCst) {
            let _ = self.commands.send(Command::ReadMore {
                handle: self.handle,
            });
        }
        Some(msg)
    }

    /// The next event (path changes, peer errors, `BufferedAmountLow`, the close reason…), or
    /// `None` once the association is gone. Events are kept up to a bound (64); more are
    /// dropped while nobody reads them.
    pub async fn next_event(&self) -> Option<Event> {
        self.events.lock().await.recv().await
    }

    /// Starts a graceful shutdown (RFC 9260 §9.2) once every queued message is sent, and
    /// waits until it completes.
    ///
    /// # Errors
    ///
    /// [`Error::Closed`] with the reason when the association ended otherwise (ABORT, peer
    /// unreachable…).
    pub async fn shutdown(&self) -> Result<(), Error> {
        let _ = self.commands.send(Command::Shutdown {
            handle: self.handle,
        });
        self.closed().await
    }

    /// Waits until the association has ended: `Ok` for a graceful shutdown (by either side).
    ///
    /// # Errors
    ///
    /// [`Error::Closed`] with the reason when it ended otherwise.
    pub async fn closed(&self) -> Result<(), Error> {
        let mut status = self.status.clone();
        loop {
            if let Status::Closed(reason) = &*status.borrow_and_update() {
                return match reason {
                    CloseReason::Shutdown => Ok(()),
                    other => Err(Error::Closed(other.clone())),
                };
            }
            if status.changed().await.is_err() {
                return Err(Error::EndpointGone);
            }
        }
    }

    /// Waits until every message handed to [`send`](Self::send) so far has been sent and
    /// acknowledged by the peer.
    ///
    /// # Errors
    ///
    /// [`Error::Closed`] when the association ended first.
    pub async fn flushed(&self) -> Result<(), Error> {
        let (reply, rx) = oneshot::channel();
        self.commands
            .send(Command::Flushed {
                handle: self.handle,
                reply,
            })
            .map_err(|_| Error::EndpointGone)?;
        match rx.await {
            Ok(()) => Ok(()),
            Err(_) => match self.status() {
                Status::Closed(reason) => Err(Error::Closed(reason)),
                _ => Err(Error::EndpointGone),
            },
        }
    }

    /// Ends the association at once with an ABORT (RFC 9260 §9.1); queued data is dropped.
    pub fn abort(&self) {
        let _ = self.commands.send(Command::Abort {
            handle: self.handle,
        });
    }

    /// Current counters.
    ///
    /// # Errors
    ///
    /// [`Error::EndpointGone`] when the association or its driver is gone.
    pub async fn stats(&self) -> Result<AssociationStats, Error> {
        let (reply, rx) = oneshot::channel();
        self.commands
            .send(Command::Stats {
                handle: self.handle,
                reply,
            })
            .map_err(|_| Error::EndpointGone)?;
        rx.await
            .map_err(|_| Error::EndpointGone)?
            .ok_or(Error::EndpointGone)
    }

    /// Bytes handed to [`send`](Self::send) and not yet sent: those on their way to the
    /// driver plus those queued in the core (the WebRTC `bufferedAmount`, over all streams).
    ///
    /// # Errors
    ///
    /// [`Error::EndpointGone`] when the driver has stopped.
    pub async fn buffered_amount(&self) -> Result<usize, Error> {
        let (reply, rx) = oneshot::channel();
        self.commands
            .send(Command::Buffered {
                handle: self.handle,
                reply,
            })
            .map_err(|_| Error::EndpointGone)?;
        let core = rx.await.map_err(|_| Error::EndpointGone)?;
        Ok(core + self.shared.queued.load(Ordering::Acquire))
    }
}

impl Drop for Association {
    fn drop(&mut self) {
        let _ = self.commands.send(Command::Dropped {
            handle: self.handle,
        });
    }
}
