//! `braid server` and `braid client`: the echo/discard pair of `docs/peer-contract.md`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use braid::{Association, AssociationConfig, Config, Endpoint, Error, Message, Ppid, SendOptions};
use bytes::Bytes;
use clap::{Args, ValueEnum};
use serde_json::json;

/// The SCTP port both sides use (the WebRTC convention).
const SCTP_PORT: u16 = 5000;
/// Error lines printed at most.
const MAX_ERROR_LINES: u64 = 10;

/// Echo or discard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Mode {
    /// The server sends every message back.
    Echo,
    /// The server only checks and counts.
    Discard,
}

/// Options both sides take.
#[derive(Debug, Args)]
struct Common {
    /// Echo: the server sends every message back and the client waits for them all.
    /// Discard: the server only checks and counts.
    #[arg(long, value_enum, default_value = "echo")]
    mode: Mode,
    /// Largest SCTP packet sent (without IP and UDP headers).
    #[arg(long, default_value_t = 1200)]
    mtu: usize,
    /// Capture the traffic to this pcap file.
    #[arg(long)]
    pcap: Option<PathBuf>,
    /// Testing: abort the association after this many messages (sent by the client,
    /// received by the server).
    #[arg(long, hide = true)]
    abort_after: Option<u64>,
}

/// `braid server`.
#[derive(Debug, Args)]
pub(crate) struct ServerArgs {
    /// UDP address to listen on (port 0 picks a free one).
    #[arg(long)]
    bind: SocketAddr,
    /// Require exactly this many messages.
    #[arg(long)]
    count: Option<u64>,
    #[command(flatten)]
    common: Common,
}

/// `braid client`.
#[derive(Debug, Args)]
pub(crate) struct ClientArgs {
    /// The server's UDP address.
    #[arg(long)]
    connect: SocketAddr,
    /// Local UDP address (default: any address, a free port).
    #[arg(long)]
    bind: Option<SocketAddr>,
    /// Streams to spread the messages over.
    #[arg(long)]
    streams: u16,
    /// Messages to send.
    #[arg(long)]
    count: u64,
    /// Size of each message in bytes.
    #[arg(long)]
    size: usize,
    /// Send unordered.
    #[arg(long)]
    unordered: bool,
    #[command(flatten)]
    common: Common,
}

impl ClientArgs {
    /// Usage errors beyond what the parser catches.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.streams == 0 {
            return Err("--streams must be at least 1".into());
        }
        if self.size == 0 {
            return Err("--size must be at least 1".into());
        }
        if self.unordered && self.size < 8 {
            return Err("--unordered needs --size of at least 8 (shorter messages carry no sequence number)".into());
        }
        Ok(())
    }
}

/// The PPID of message `seq` on `stream`: 53 (binary) when their sum is even, 51 when odd.
pub(crate) fn ppid_for(stream: u16, seq: u32) -> u32 {
    if (u64::from(stream) + u64::from(seq)) % 2 == 0 {
        53
    } else {
        51
    }
}

/// Payload byte `i` (from 8 on, or every byte of a message shorter than 8).
fn pattern_byte(seq: u32, i: usize) -> u8 {
    ((u64::from(seq) * 31 + i as u64) % 251) as u8
}

/// The payload of message `seq` on `stream`.
pub(crate) fn payload(stream: u16, seq: u32, unordered: bool, size: usize) -> Bytes {
    let mut v = Vec::with_capacity(size);
    if size >= 8 {
        v.extend_from_slice(&stream.to_be_bytes());
        v.extend_from_slice(&seq.to_be_bytes());
        v.extend_from_slice(&u16::from(unordered).to_be_bytes());
        v.extend((8..size).map(|i| pattern_byte(seq, i)));
    } else {
        v.extend((0..size).map(|i| pattern_byte(seq, i)));
    }
    v.into()
}

/// Checks received messages against the contract.
#[derive(Debug, Default)]
pub(crate) struct Checker {
    size: Option<usize>,
    /// Per stream: the next ordered sequence expected.
    next: Vec<u32>,
    /// Unordered (stream, sequence) pairs seen.
    seen: std::collections::HashSet<u64>,
    /// Messages and bytes checked.
    pub(crate) messages: u64,
    pub(crate) bytes: u64,
    pub(crate) errors: u64,
}

impl Checker {
    /// Expects messages of `size` bytes (otherwise learnt from the first).
    pub(crate) fn with_size(size: usize) -> Self {
        Self {
            size: Some(size),
            ..Self::default()
        }
    }

    fn error(&mut self, msg: String) {
        self.errors += 1;
        if self.errors <= MAX_ERROR_LINES {
            println!("{}", json!({"event": "error", "msg": msg}));
        }
    }

    /// Checks one message.
    pub(crate) fn check(&mut self, m: &Message) {
        self.messages += 1;
        self.bytes += m.payload.len() as u64;
        let stream = m.stream.0;
        let len = m.payload.len();
        let size = *self.size.get_or_insert(len);
        if len != size {
            self.error(format!("stream {stream}: {len} bytes, expected {size}"));
            return;
        }
        let idx = usize::from(stream);
        if self.next.len() <= idx {
            self.next.resize(idx + 1, 0);
        }
        let p = &m.payload;
        let header = p.get(..8).and_then(|h| <[u8; 8]>::try_from(h).ok());
        let seq = if let Some([s0, s1, q0, q1, q2, q3, f0, f1]) = header {
            let hdr_stream = u16::from_be_bytes([s0, s1]);
            let seq = u32::from_be_bytes([q0, q1, q2, q3]);
            let flags = u16::from_be_bytes([f0, f1]);
            if hdr_stream != stream {
                self.error(format!(
                    "arrived on stream {stream}, header says {hdr_stream}"
                ));
            }
            if (flags & 1 == 1) != m.unordered {
                self.error(format!(
                    "stream {stream} seq {seq}: unordered flag {} but delivered {}",
                    flags & 1,
                    if m.unordered { "unordered" } else { "ordered" }
                ));
            }
            seq
        } else {
            if m.unordered {
                self.error(format!(
                    "stream {stream}: unordered message shorter than 8 bytes"
                ));
            }
            self.next.get(idx).copied().unwrap_or_default()
        };
        let start = if header.is_some() { 8 } else { 0 };
        let wrong = p
            .iter()
            .enumerate()
            .skip(start)
            .find(|&(i, &b)| b != pattern_byte(seq, i));
        if let Some((i, _)) = wrong {
            self.error(format!("stream {stream} seq {seq}: byte {i} is wrong"));
        }
        let want = ppid_for(stream, seq);
        if m.ppid.0 != want {
            self.error(format!(
                "stream {stream} seq {seq}: PPID {}, expected {want}",
                m.ppid.0
            ));
        }
        if m.unordered {
            // One entry per message received: memory follows the traffic, not the values a
            // peer puts in the header.
            if !self.seen.insert((u64::from(stream) << 32) | u64::from(seq)) {
                self.error(format!("stream {stream}: seq {seq} arrived twice"));
            }
        } else if let Some(next) = self.next.get_mut(idx) {
            let expected = *next;
            *next = seq.wrapping_add(1);
            if seq != expected {
                self.error(format!(
                    "stream {stream}: expected seq {expected}, got {seq}"
                ));
            }
        }
    }
}

fn endpoint_config(mtu: usize, streams: u16, accept: bool) -> braid::EndpointConfig {
    let mut c = braid::EndpointConfig {
        port: SCTP_PORT,
        accept_incoming: accept,
        ..braid::EndpointConfig::default()
    };
    let a: &mut AssociationConfig = &mut c.association;
    a.max_packet_size = mtu;
    a.outbound_streams = a.outbound_streams.max(streams);
    a.inbound_streams = a.inbound_streams.max(streams);
    a.nodelay = true;
    c
}

fn established_line(assoc: &Association, streams: (u16, u16)) -> String {
    json!({
        "event": "established",
        "peer": assoc.remote_addr().to_string(),
        "streams_out": streams.0,
        "streams_in": streams.1,
    })
    .to_string()
}

struct Done {
    messages: u64,
    bytes: u64,
    seconds: f64,
    data_seconds: f64,
    errors: u64,
    graceful: bool,
}

impl Done {
    fn print(&self) {
        let rate = if self.data_seconds > 0.0 {
            self.bytes as f64 / self.data_seconds / 1e6
        } else {
            0.0
        };
        println!(
            "{}",
            json!({
                "event": "done",
                "messages": self.messages,
                "bytes": self.bytes,
                "seconds": self.seconds,
                "mbytes_per_s": rate,
                "data_seconds": self.data_seconds,
                "errors": self.errors,
                "graceful": self.graceful,
            })
        );
    }
}

/// Reports a run that ended before any data could flow: an error line and a `done` line
/// (the contract promises one), then failure.
fn failed_before_data(msg: &str) -> bool {
    println!("{}", json!({"event": "error", "msg": msg}));
    Done {
        messages: 0,
        bytes: 0,
        seconds: 0.0,
        data_seconds: 0.0,
        errors: 1,
        graceful: false,
    }
    .print();
    false
}

/// The negotiated (outbound, inbound) streams; or, for an association that ended at once
/// (an ABORT right after the handshake), `None` after the error and `done` lines.
async fn established_or_report(assoc: &Association) -> Option<(u16, u16)> {
    match assoc.established().await {
        Ok(streams) => Some(streams),
        Err(e) => {
            failed_before_data(&format!("association ended at once: {e}"));
            None
        }
    }
}

/// Runs `braid server`; the exit status is 0 only if every check passed.
pub(crate) async fn server(args: ServerArgs) -> Result<bool, Error> {
    let config = Config {
        endpoint: endpoint_config(args.common.mtu, 1, true),
        pcap: args.common.pcap.clone(),
        ..Config::default()
    };
    let endpoint = Endpoint::bind(args.bind, config)?;
    println!(
        "{}",
        json!({"event": "listening", "addr": endpoint.local_addr().to_string()})
    );
    let Some(assoc) = endpoint.accept().await else {
        return Err(Error::EndpointGone);
    };
    let Some(streams) = established_or_report(&assoc).await else {
        return Ok(false);
    };
    let established = Instant::now();
    println!("{}", established_line(&assoc, streams));
    let mut checker = Checker::default();
    let mut last_message = established;
    let mut send_errors = 0;
    while let Some(m) = assoc.recv().await {
        checker.check(&m);
        last_message = Instant::now();
        if args
            .common
            .abort_after
            .is_some_and(|k| checker.messages >= k)
        {
            assoc.abort();
            break;
        }
        if args.common.mode == Mode::Echo {
            let opts = SendOptions {
                ppid: m.ppid,
                unordered: m.unordered,
                ..SendOptions::default()
            };
            if let Err(e) = assoc.send(m.stream.0, m.payload, &opts).await {
                // The client stops reading once it has shut down: nothing to echo to.
                send_errors += 1;
                if send_errors == 1 {
                    eprintln!("braid server: echo failed: {e}");
                }
            }
        }
    }
    let graceful = assoc.closed().await.is_ok();
    let seconds = established.elapsed().as_secs_f64();
    if let Some(n) = args.count {
        if checker.messages != n {
            checker.error(format!(
                "received {} messages, expected {n}",
                checker.messages
            ));
        }
    }
    drop(assoc);
    endpoint.close().await;
    let done = Done {
        messages: checker.messages,
        bytes: checker.bytes,
        seconds,
        data_seconds: (last_message - established).as_secs_f64(),
        errors: checker.errors,
        graceful,
    };
    done.print();
    Ok(done.errors == 0 && graceful && send_errors == 0)
}

/// Runs `braid client`; the exit status is 0 only if every check passed.
pub(crate) async fn client(args: ClientArgs) -> Result<bool, Error> {
    let bind = args.bind.unwrap_or(if args.connect.is_ipv6() {
        SocketAddr::from(([0u16; 8], 0))
    } else {
        SocketAddr::from(([0u8; 4], 0))
    });
    let config = Config {
        endpoint: endpoint_config(args.common.mtu, args.streams, false),
        pcap: args.common.pcap.clone(),
        // One server: the socket is connected to it, as a UDP client's would be.
        single_peer: true,
        ..Config::default()
    };
    let endpoint = Endpoint::bind(bind, config)?;
    let connect = endpoint.connect(args.connect);
    let assoc = match tokio::time::timeout(Duration::from_secs(10), connect).await {
        Ok(Ok(a)) => Arc::new(a),
        Ok(Err(e)) => return Ok(failed_before_data(&format!("no association: {e}"))),
        Err(_) => return Ok(failed_before_data("no association within 10 s")),
    };
    let Some(streams) = established_or_report(&assoc).await else {
        return Ok(false);
    };
    let established = Instant::now();
    println!("{}", established_line(&assoc, streams));
    let mut errors = 0u64;
    if streams.0 < args.streams {
        println!(
            "{}",
            json!({"event": "error", "msg": format!("peer allows {} streams, {} asked", streams.0, args.streams)})
        );
        return Ok(false);
    }

    // Echo mode: a task reads and checks the echoes while this one sends.
    let reader = (args.common.mode == Mode::Echo).then(|| {
        let assoc = Arc::clone(&assoc);
        let (count, size) = (args.count, args.size);
        tokio::spawn(async move {
            let mut checker = Checker::with_size(size);
            while checker.messages < count {
                match assoc.recv().await {
                    Some(m) => checker.check(&m),
                    None => break,
                }
            }
            if checker.messages < count {
                checker.error(format!("{} of {count} echoes arrived", checker.messages));
            }
            (checker.errors, Instant::now())
        })
    });

    let mut sent_bytes = 0u64;
    let mut sent = 0u64;
    for k in 0..args.count {
        if args.common.abort_after.is_some_and(|a| k >= a) {
            assoc.abort();
            break;
        }
        let stream = (k % u64::from(args.streams)) as u16;
        let seq = (k / u64::from(args.streams)) as u32;
        let opts = SendOptions {
            ppid: Ppid(ppid_for(stream, seq)),
            unordered: args.unordered,
            ..SendOptions::default()
        };
        match assoc
            .send(
                stream,
                payload(stream, seq, args.unordered, args.size),
                &opts,
            )
            .await
        {
            Ok(()) => {
                sent += 1;
                sent_bytes += args.size as u64;
            }
            Err(e) => {
                errors += 1;
                println!(
                    "{}",
                    json!({"event": "error", "msg": format!("send {k}: {e}")})
                );
                break;
            }
        }
    }
    let data_done = match reader {
        Some(task) => match task.await {
            Ok((e, at)) => {
                errors += e;
                at
            }
            Err(e) => {
                errors += 1;
                eprintln!("braid client: reader: {e}");
                Instant::now()
            }
        },
        None => {
            if let Err(e) = assoc.flushed().await {
                errors += 1;
                println!(
                    "{}",
                    json!({"event": "error", "msg": format!("flush: {e}")})
                );
            }
            Instant::now()
        }
    };
    let graceful = assoc.shutdown().await.is_ok();
    let seconds = established.elapsed().as_secs_f64();
    drop(assoc);
    endpoint.close().await;
    let done = Done {
        messages: sent,
        bytes: sent_bytes,
        seconds,
        data_seconds: (data_done - established).as_secs_f64(),
        errors,
        graceful,
    };
    done.print();
    Ok(errors == 0 && graceful && sent == args.count)
}
