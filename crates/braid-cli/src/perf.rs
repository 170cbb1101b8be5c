//! `braid perf`: a loopback transfer between two endpoints in this process over real UDP
//! sockets, with a live progress line and an iperf-like summary; `--rtt` measures the echo
//! round trip of small messages next to a raw UDP ping-pong.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use braid::{AssociationStats, Config, Endpoint, Error, Ppid, SendOptions};
use bytes::Bytes;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

/// `braid perf`.
#[derive(Debug, Args)]
pub(crate) struct PerfArgs {
    /// Seconds to send for (ignored with --bytes).
    #[arg(long, default_value_t = 5.0)]
    duration: f64,
    /// Send this many bytes instead of sending for a duration.
    #[arg(long)]
    bytes: Option<u64>,
    /// Message size in bytes.
    #[arg(long, default_value_t = 65536)]
    size: usize,
    /// Streams to spread messages over.
    #[arg(long, default_value_t = 1)]
    streams: u16,
    /// Send unordered.
    #[arg(long)]
    unordered: bool,
    /// Largest SCTP packet (without IP and UDP headers).
    #[arg(long, default_value_t = 1200)]
    mtu: usize,
    /// Shards per endpoint: each its own socket and thread, one association per shard.
    #[arg(long, default_value_t = 1)]
    shards: usize,
    /// Capture the traffic to this pcap file (slows the transfer down).
    #[arg(long)]
    pcap: Option<PathBuf>,
    /// Measure the echo round-trip time of small messages (and of raw UDP) instead, on one
    /// thread.
    #[arg(long)]
    pub(crate) rtt: bool,
    /// Round trips for --rtt.
    #[arg(long, default_value_t = 20000)]
    pings: usize,
    /// Print the summary as one JSON line as well.
    #[arg(long)]
    json: bool,
    /// No progress line.
    #[arg(long)]
    quiet: bool,
}

fn config(args: &PerfArgs, shards: usize) -> Config {
    let mut c = Config {
        shards,
        pcap: None,
        ..Config::default()
    };
    let a = &mut c.endpoint.association;
    a.max_packet_size = args.mtu;
    a.outbound_streams = a.outbound_streams.max(args.streams);
    a.inbound_streams = a.inbound_streams.max(args.streams);
    a.max_message_size = a.max_message_size.max(args.size);
    a.send_buffer_size = a.send_buffer_size.max(4 * args.size);
    c
}

/// Runs `braid perf`.
pub(crate) async fn run(args: PerfArgs) -> Result<bool, Error> {
    if args.rtt {
        return rtt(args).await;
    }
    let shards = args.shards.max(1);
    let mut server_config = config(&args, shards);
    // One capture for the transfer: the sender's side sees every packet both ways.
    let mut client_config = config(&args, shards);
    client_config.pcap.clone_from(&args.pcap);
    server_config.endpoint.accept_incoming = true;
    client_config.endpoint.accept_incoming = false;
    let local: SocketAddr = SocketAddr::from(([127, 0, 0, 1], 0));
    let server = Endpoint::bind(local, server_config)?;
    let client = Endpoint::bind(local, client_config)?;
    let mut pairs = Vec::new();
    for (i, addr) in server.local_addrs().into_iter().enumerate() {
        let a = client.connect_on(i, addr, 5000, None).await?;
        let b = server.accept().await.ok_or(Error::EndpointGone)?;
        pairs.push((Arc::new(a), Arc::new(b)));
    }
    eprintln!(
        "braid perf: {} association(s) over 127.0.0.1 UDP, {} B messages on {} stream(s){}, MTU {}, {} shard(s)",
        pairs.len(),
        args.size,
        args.streams.max(1),
        if args.unordered { " unordered" } else { "" },
        args.mtu,
        shards
    );

    let received = Arc::new(AtomicU64::new(0));
    let messages = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let per_pair_budget = args.bytes.map(|b| b.div_ceil(pairs.len() as u64));
    let payload = Bytes::from(vec![0x5a; args.size.max(1)]);
    let start = Instant::now();
    let mut senders = Vec::new();
    let mut receivers = Vec::new();
    for (a, b) in &pairs {
        let (a, stop, payload) = (Arc::clone(a), Arc::clone(&stop), payload.clone());
        let streams = args.streams.max(1);
        let unordered = args.unordered;
        senders.push(tokio::spawn(async move {
            let mut sent = 0u64;
            let mut k = 0u64;
            while !stop.load(Ordering::Relaxed) && per_pair_budget.is_none_or(|b| sent < b) {
                let opts = SendOptions {
                    ppid: Ppid(53),
                    unordered,
                    ..SendOptions::default()
                };
                a.send((k % u64::from(streams)) as u16, payload.clone(), &opts)
                    .await?;
                sent += payload.len() as u64;
                k += 1;
            }
            a.flushed().await?;
            let stats = a.stats().await?;
            Ok::<_, Error>((sent, k, stats))
        }));
        let (b, received, messages) = (Arc::clone(b), Arc::clone(&received), Arc::clone(&messages));
        receivers.push(tokio::spawn(async move {
            let mut last = Instant::now();
            while let Some(m) = b.recv().await {
                received.fetch_add(m.payload.len() as u64, Ordering::Relaxed);
                messages.fetch_add(1, Ordering::Relaxed);
                last = Instant::now();
            }
            last
        }));
    }

    let progress = if args.quiet {
        ProgressBar::hidden()
    } else {
        match args.bytes {
            Some(total) => ProgressBar::new(total).with_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {binary_bytes_per_sec} {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            ),
            None => ProgressBar::new_spinner().with_style(
                ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bytes} {binary_bytes_per_sec} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            ),
        }
    };
    let deadline = start + Duration::from_secs_f64(args.duration.max(0.0));
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        tick.tick().await;
        let got = received.load(Ordering::Relaxed);
        progress.set_position(got);
        progress.set_message(format!("{} msgs", messages.load(Ordering::Relaxed)));
        let done = match args.bytes {
            Some(total) => got >= total,
            None => Instant::now() >= deadline,
        };
        if done || senders.iter().all(tokio::task::JoinHandle::is_finished) {
            stop.store(true, Ordering::Relaxed);
            break;
        }
    }

    let mut sent_bytes = 0;
    let mut sent_messages = 0;
    let mut stats: Vec<AssociationStats> = Vec::new();
    let mut ok = true;
    for s in senders {
        match s.await {
            Ok(Ok((bytes, msgs, st))) => {
                sent_bytes += bytes;
                sent_messages += msgs;
                stats.push(st);
            }
            Ok(Err(e)) => {
                eprintln!("braid perf: sender: {e}");
                ok = false;
            }
            Err(e) => {
                eprintln!("braid perf: sender task: {e}");
                ok = false;
            }
        }
    }
    // Everything sent was acknowledged: the receivers have it (or soon read it).
    for (a, _) in &pairs {
        if let Err(e) = a.shutdown().await {
            eprintln!("braid perf: shutdown: {e}");
            ok = false;
        }
    }
    let mut last = start;
    for r in receivers {
        if let Ok(t) = r.await {
            last = last.max(t);
        }
    }
    let elapsed = (last - start).as_secs_f64().max(1e-9);
    progress.finish_and_clear();
    let got = received.load(Ordering::Relaxed);
    let msgs = messages.load(Ordering::Relaxed);
    if got != sent_bytes || msgs != sent_messages {
        eprintln!("braid perf: sent {sent_bytes} B in {sent_messages} messages, received {got} B in {msgs}");
        ok = false;
    }
    drop(pairs);
    client.close().await;
    server.close().await;

    let sum = |f: fn(&AssociationStats) -> u64| stats.iter().map(f).sum::<u64>();
    let rtx = sum(|s| s.association.retransmissions);
    let fast = sum(|s| s.association.fast_retransmits);
    let t3 = sum(|s| s.association.timer_retransmit_events);
    let packets = sum(|s| s.association.packets_sent);
    let srtt: Vec<f64> = stats
        .iter()
        .filter_map(|s| s.path.as_ref().and_then(|p| p.srtt))
        .map(|d| d.as_secs_f64() * 1e6)
        .collect();
    let srtt_us = if srtt.is_empty() {
        0.0
    } else {
        srtt.iter().sum::<f64>() / srtt.len() as f64
    };
    let mbps = got as f64 / elapsed / 1e6;
    println!(
        "[ braid perf ]  {:>8} {:>12} {:>12} {:>12} {:>10} {:>8} {:>9}",
        "time", "transfer", "MB/s", "Gbit/s", "msgs/s", "retrans", "srtt"
    );
    println!(
        "  {} shard(s)    {:>7.2}s {:>10.1}MB {:>12.1} {:>12.2} {:>10.0} {:>8} {:>7.0}µs",
        stats.len(),
        elapsed,
        got as f64 / 1e6,
        mbps,
        mbps * 8.0 / 1000.0,
        msgs as f64 / elapsed,
        rtx,
        srtt_us
    );
    println!(
        "  {packets} packets sent ({:.0}/s); retransmissions: {rtx} ({fast} fast-retransmit events, {t3} T3-rtx expiries); {}",
        packets as f64 / elapsed,
        if ok { "all data verified delivered, graceful shutdown" } else { "ERRORS (see above)" }
    );
    if args.json {
        println!(
            "{}",
            json!({
                "event": "perf", "seconds": elapsed, "bytes": got, "messages": msgs,
                "mbytes_per_s": mbps, "messages_per_s": msgs as f64 / elapsed,
                "packets_sent": packets, "retransmissions": rtx, "srtt_us": srtt_us,
                "size": args.size, "mtu": args.mtu, "shards": stats.len(), "ok": ok,
            })
        );
    }
    Ok(ok)
}

/// Percentile of sorted samples.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

/// Echo RTT of a 64-byte message through Braid, then through raw UDP sockets, both in this
/// runtime.
async fn rtt(args: PerfArgs) -> Result<bool, Error> {
    const SIZE: usize = 64;
    let mut c = config(&args, 1);
    c.endpoint.association.nodelay = true;
    // An echo is answered at once: no delayed SACK holding the reply.
    let local = SocketAddr::from(([127, 0, 0, 1], 0));
    let server = Endpoint::bind(local, c.clone())?;
    // The client's socket is connected to the server, like the raw UDP client's below.
    c.single_peer = true;
    let client = Endpoint::bind(local, c)?;
    let a = client.connect(server.local_addr()).await?;
    let b = Arc::new(server.accept().await.ok_or(Error::EndpointGone)?);
    let echo = {
        let b = Arc::clone(&b);
        tokio::spawn(async move {
            while let Some(m) = b.recv().await {
                let opts = SendOptions {
                    ppid: m.ppid,
                    ..SendOptions::default()
                };
                if b.send(m.stream.0, m.payload, &opts).await.is_err() {
                    break;
                }
            }
        })
    };
    let msg = Bytes::from(vec![7u8; SIZE]);
    let pings = args.pings;
    let (a, mut sctp) = {
        let msg = msg.clone();
        tokio::spawn(async move {
            let mut sctp = Vec::with_capacity(pings);
            for _ in 0..pings {
                let t = Instant::now();
                a.send(0, msg.clone(), &SendOptions::default()).await?;
                if a.recv().await.is_none() {
                    return Err(Error::EndpointGone);
                }
                sctp.push(t.elapsed());
            }
            Ok((a, sctp))
        })
        .await
        .map_err(|_| Error::EndpointGone)??
    };
    a.shutdown().await?;
    let _ = echo.await;
    drop((a, b));
    client.close().await;
    server.close().await;

    // Raw UDP ping-pong over the same loopback, same runtime.
    let s = tokio::net::UdpSocket::bind(local).await?;
    let c = tokio::net::UdpSocket::bind(local).await?;
    c.connect(s.local_addr()?).await?;
    let responder = tokio::spawn(async move {
        let mut buf = [0u8; 2048];
        for _ in 0..pings {
            let Ok((n, from)) = s.recv_from(&mut buf).await else {
                break;
            };
            if s.send_to(buf.get(..n).unwrap_or_default(), from)
                .await
                .is_err()
            {
                break;
            }
        }
    });
    let mut udp = tokio::spawn(async move {
        let mut udp = Vec::with_capacity(pings);
        let mut buf = [0u8; 2048];
        for _ in 0..pings {
            let t = Instant::now();
            c.send(&msg).await?;
            c.recv(&mut buf).await?;
            udp.push(t.elapsed());
        }
        Ok::<_, std::io::Error>(udp)
    })
    .await
    .map_err(|_| Error::EndpointGone)??;
    let _ = responder.await;

    sctp.sort_unstable();
    udp.sort_unstable();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "[ braid perf --rtt ]  {} round trips of a {SIZE}-byte message over 127.0.0.1",
        args.pings
    );
    println!("  {:<12} {:>9} {:>9} {:>9}", "", "p50", "p99", "mean");
    for (name, v) in [("braid echo", &sctp), ("raw UDP", &udp)] {
        let mean = v.iter().map(|d| us(*d)).sum::<f64>() / v.len().max(1) as f64;
        println!(
            "  {name:<12} {:>7.1}µs {:>7.1}µs {:>7.1}µs",
            us(percentile(v, 0.5)),
            us(percentile(v, 0.99)),
            mean
        );
    }
    let diff = us(percentile(&sctp, 0.5)) - us(percentile(&udp, 0.5));
    println!("  braid − raw UDP at p50: {diff:+.1}µs");
    if args.json {
        println!(
            "{}",
            json!({
                "event": "rtt", "pings": args.pings,
                "braid_p50_us": us(percentile(&sctp, 0.5)), "braid_p99_us": us(percentile(&sctp, 0.99)),
                "udp_p50_us": us(percentile(&udp, 0.5)), "udp_p99_us": us(percentile(&udp, 0.99)),
            })
        );
    }
    Ok(true)
}
