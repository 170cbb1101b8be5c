//! Echo round-trip benchmark: the protocol work of one request/response exchange of a small
//! message between two [`Endpoint`]s, in memory, one thread, no sockets.
//!
//! Each round trip does what the `braid` transport's driver and application do around the
//! two datagrams: the client sends a 64-byte message and drains `poll_transmit`; the server
//! takes the datagram (`handle_datagram`), drains `poll_readable` / `read_message`,
//! `poll_event` and `poll_timeout`, sends the message back on its stream with its PPID and
//! drains `poll_transmit`; the client takes that datagram and reads the echo the same way.
//! Virtual time moves 10 µs per hop, so no timer fires. Every echo is checked (length,
//! stream, PPID, content).
//!
//! `cargo bench -p braid-proto --bench echo` prints nanoseconds per round trip (median of
//! five runs of 200,000); `cargo test -p braid-proto --bench echo` runs 2,000 and checks.

use std::hint::black_box;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use braid_proto::{
    AssociationHandle, Endpoint, EndpointConfig, Event, Message, Ppid, SendOptions, StreamId,
};
use braid_wire::Bytes;

const PORT: u16 = 5000;
const HOP: Duration = Duration::from_micros(10);
const SIZE: usize = 64;

/// A client and a server endpoint, associated.
struct Pair {
    client: Endpoint,
    server: Endpoint,
    client_addr: SocketAddr,
    server_addr: SocketAddr,
    client_handle: AssociationHandle,
    server_handle: Option<AssociationHandle>,
    buf: Vec<u8>,
    now: Instant,
}

fn config(seed: u64, accept: bool) -> EndpointConfig {
    let mut c = EndpointConfig {
        port: PORT,
        accept_incoming: accept,
        rng_seed: seed,
        ..EndpointConfig::default()
    };
    c.association.nodelay = true;
    c
}

impl Pair {
    fn new() -> Self {
        let now = Instant::now();
        let client_addr: SocketAddr = "127.0.0.1:40000".parse().expect("address");
        let server_addr: SocketAddr = "127.0.0.1:40001".parse().expect("address");
        let mut client = Endpoint::new(now, config(1, false));
        let server = Endpoint::new(now, config(2, true));
        let client_handle = client
            .connect(now, server_addr, PORT, None)
            .expect("connect");
        let mut pair = Self {
            client,
            server,
            client_addr,
            server_addr,
            client_handle,
            server_handle: None,
            buf: Vec::with_capacity(2048),
            now,
        };
        for _ in 0..8 {
            pair.hop(true);
            pair.hop(false);
        }
        assert!(pair.server_handle.is_some(), "the handshake completed");
        pair
    }

    /// Drains one side's transmissions into the other, then that side's outputs, as the
    /// driver does after each datagram. Returns the messages the receiver read.
    fn hop(&mut self, client_sends: bool) -> Option<Message> {
        let (from, to, from_addr) = if client_sends {
            (&mut self.client, &mut self.server, self.client_addr)
        } else {
            (&mut self.server, &mut self.client, self.server_addr)
        };
        self.now += HOP;
        let now = self.now;
        let mut got = None;
        while let Some(t) = from.poll_transmit(now, &mut self.buf) {
            let start = self.buf.len() - t.len;
            let data = Bytes::copy_from_slice(&self.buf[start..]);
            self.buf.clear();
            to.handle_datagram(now, from_addr, data);
        }
        while let Some(h) = to.poll_readable() {
            while let Some(m) = to.read_message(h) {
                got = Some(m);
            }
        }
        while let Some((h, e)) = to.poll_event() {
            if matches!(e, Event::Connected) && !client_sends {
                continue;
            }
            if matches!(e, Event::Connected) {
                self.server_handle = Some(h);
            }
        }
        for ep in [&mut self.client, &mut self.server] {
            if ep.poll_timeout().is_some_and(|t| t <= now) {
                ep.handle_timeout(now);
            }
        }
        got
    }

    fn round_trip(&mut self, payload: &Bytes, seq: u32) {
        let opts = SendOptions {
            ppid: Ppid(51 + (seq & 1)),
            ..SendOptions::default()
        };
        let stream = StreamId((seq % 4) as u16);
        let now = self.now;
        self.client
            .send(now, self.client_handle, stream, payload.clone(), &opts)
            .expect("send");
        let m = self.hop(true).expect("the server read the message");
        let server = self.server_handle.expect("server association");
        let back = SendOptions {
            ppid: m.ppid,
            ..SendOptions::default()
        };
        self.server
            .send(now, server, m.stream, m.payload, &back)
            .expect("echo");
        let echo = self.hop(false).expect("the client read the echo");
        assert_eq!(echo.stream, stream);
        assert_eq!(echo.ppid, opts.ppid);
        assert_eq!(echo.payload, *payload);
    }
}

/// Nanoseconds per round trip over `n` round trips.
fn run(n: u32) -> f64 {
    let mut pair = Pair::new();
    let payload = Bytes::from(vec![7u8; SIZE]);
    let t = Instant::now();
    for seq in 0..n {
        pair.round_trip(black_box(&payload), seq);
    }
    let ns = t.elapsed().as_nanos() as f64 / f64::from(n);
    // Every exchange acknowledged: nothing left in flight on either side.
    let a = pair.client.association(pair.client_handle).expect("client");
    assert_eq!(a.stats().messages_received, u64::from(n));
    ns
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    if !full {
        let ns = run(2_000);
        println!("echo smoke run: {ns:.0} ns per round trip");
        return;
    }
    let mut runs: Vec<f64> = (0..5).map(|_| run(200_000)).collect();
    runs.sort_by(f64::total_cmp);
    println!(
        "braid-proto echo bench: 64-byte message and its echo between two endpoints, in memory"
    );
    println!(
        "  {:.0} ns per round trip (median of 5 x 200,000; min {:.0}, max {:.0})",
        runs[2], runs[0], runs[4]
    );
}
