//! Real UDP sockets on 127.0.0.1: handshake, messages both ways, back-pressure, shutdown,
//! abort, shards.

use std::time::Duration;

use braid::{
    Association, CloseReason, Config, Endpoint, Error, Ppid, SendError, SendOptions, Status,
    StreamId,
};
use bytes::Bytes;

fn local() -> std::net::SocketAddr {
    "127.0.0.1:0".parse().expect("address")
}

/// Fails the test instead of hanging it.
async fn within<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
    match tokio::time::timeout(Duration::from_secs(30), f).await {
        Ok(v) => v,
        Err(_) => panic!("{what}: timed out"),
    }
}

fn pattern(len: usize, seed: usize) -> Bytes {
    (0..len)
        .map(|i| ((i * 31 + seed) % 251) as u8)
        .collect::<Vec<_>>()
        .into()
}

/// The default configuration with short INIT timeouts: an INIT that goes unanswered ends
/// within a fraction of a second.
fn quick_init_timeout() -> Config {
    let mut config = Config::default();
    config.endpoint.association.rto_initial = Duration::from_millis(20);
    config.endpoint.association.rto_min = Duration::from_millis(10);
    config.endpoint.association.rto_max = Duration::from_millis(40);
    config.endpoint.association.max_init_retransmits = 2;
    config
}

/// A server and a client endpoint on 127.0.0.1 with `config`, and the association between
/// them from both ends (client's, server's).
async fn connected(config: Config) -> (Endpoint, Endpoint, Association, Association) {
    let server = Endpoint::bind(local(), config.clone()).unwrap();
    let client = Endpoint::bind(local(), config).unwrap();
    let a = within("connect", client.connect(server.local_addr()))
        .await
        .unwrap();
    let b = within("accept", server.accept()).await.unwrap();
    (server, client, a, b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_both_ways_then_graceful_shutdown() {
    let (server, client, a, b) = connected(Config::default()).await;
    assert!(matches!(b.status(), Status::Established { .. }));
    assert_eq!(b.remote_addr(), client.local_addr());

    // 1 byte to 256 KiB, on several streams, ordered and unordered.
    let sizes = [1usize, 7, 1200, 1500, 65536, 256 * 1024];
    for (k, &size) in sizes.iter().enumerate() {
        let opts = SendOptions {
            ppid: Ppid(50 + k as u32),
            unordered: k % 2 == 1,
            ..Default::default()
        };
        within("send", a.send((k % 4) as u16, pattern(size, k), &opts))
            .await
            .unwrap();
    }
    for (k, &size) in sizes.iter().enumerate() {
        let m = within("recv", b.recv()).await.unwrap();
        // Unordered ones may overtake; find by PPID.
        let i = (m.ppid.0 - 50) as usize;
        assert_eq!(m.payload, pattern(sizes[i], i), "message {k} of {size}");
        assert_eq!(m.stream.0 as usize, i % 4);
        assert_eq!(m.unordered, i % 2 == 1);
    }
    // And back.
    within(
        "send back",
        b.send(3, Bytes::from_static(b"pong"), &SendOptions::default()),
    )
    .await
    .unwrap();
    let m = within("recv back", a.recv()).await.unwrap();
    assert_eq!(&m.payload[..], b"pong");

    within("shutdown", a.shutdown()).await.unwrap();
    within("closed", b.closed()).await.unwrap();
    assert_eq!(b.status(), Status::Closed(CloseReason::Shutdown));
    assert!(within("recv after close", b.recv()).await.is_none());
    within("close client", client.close()).await;
    within("close server", server.close()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_reader_applies_back_pressure_and_everything_arrives() {
    let mut config = Config::default();
    config.endpoint.association.send_buffer_size = 256 * 1024;
    config.endpoint.association.receive_window = 128 * 1024;
    let (_server, _client, a, b) = connected(config).await;
    const N: usize = 2000;
    const SIZE: usize = 4096;
    // Nobody reads: sends succeed until the buffers are full, then a send waits (it does not
    // fail, and memory does not grow). A send blocked on full buffers stays blocked, so the
    // generous timeout only bounds the test's run time.
    let mut sent = 0;
    while sent < N {
        match tokio::time::timeout(
            Duration::from_secs(1),
            a.send(0, pattern(SIZE, sent), &SendOptions::default()),
        )
        .await
        {
            Ok(r) => {
                r.unwrap();
                sent += 1;
            }
            Err(_) => break,
        }
    }
    // Bound: in transit to the driver (as much as the send buffer) + the core's send buffer
    // + in flight (at most the peer's window) + the peer's receive buffer (its window) + the
    // handle's message channel (64 messages), with slack for message bookkeeping.
    let bound = 256 * 1024 + 256 * 1024 + 2 * 128 * 1024 + 64 * SIZE + 64 * 1024;
    assert!(
        sent < N,
        "back-pressure never applied: {sent} messages taken"
    );
    assert!(
        sent * SIZE <= bound,
        "{} bytes taken before blocking, bound {bound}",
        sent * SIZE
    );
    let sender = tokio::spawn(async move {
        for k in sent..N {
            a.send(0, pattern(SIZE, k), &SendOptions::default())
                .await
                .unwrap();
        }
        a
    });
    for k in 0..N {
        let m = within("recv", b.recv()).await.unwrap();
        assert_eq!(m.payload, pattern(SIZE, k), "message {k}");
    }
    let a = within("sender", sender).await.unwrap();
    within("shutdown", a.shutdown()).await.unwrap();
    let stats = within("stats", b.stats()).await;
    // The association may already be gone from the endpoint once closed.
    if let Ok(s) = stats {
        assert_eq!(s.association.messages_received, N as u64);
    }
}

/// `send` refuses what the association cannot take, with the reason: a stream beyond the
/// negotiated count, an empty message, and anything once the association has shut down.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_refuses_a_stream_out_of_range_an_empty_message_and_a_closed_association() {
    let (_server, _client, a, b) = connected(Config::default()).await;
    let Status::Established { streams_out, .. } = a.status() else {
        panic!("not established: {:?}", a.status());
    };
    let opts = SendOptions::default();
    let err = a
        .send(streams_out, Bytes::from_static(b"x"), &opts)
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Send(SendError::StreamOutOfRange { stream, streams })
            if stream == StreamId(streams_out) && streams == streams_out),
        "{err:?}"
    );
    let err = a.send(0, Bytes::new(), &opts).await.unwrap_err();
    assert!(matches!(err, Error::Send(SendError::Empty)), "{err:?}");
    // The last stream works.
    a.send(streams_out - 1, Bytes::from_static(b"y"), &opts)
        .await
        .unwrap();
    let m = within("recv", b.recv()).await.unwrap();
    assert_eq!(
        (m.stream, &m.payload[..]),
        (StreamId(streams_out - 1), &b"y"[..])
    );
    within("shutdown", a.shutdown()).await.unwrap();
    within("closed", b.closed()).await.unwrap();
    for side in [&a, &b] {
        let err = side
            .send(0, Bytes::from_static(b"z"), &opts)
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::Closed(CloseReason::Shutdown)),
            "{err:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abort_reaches_the_peer() {
    let (_server, _client, a, b) = connected(Config::default()).await;
    b.abort();
    let err = within("closed", a.closed()).await.unwrap_err();
    assert!(
        matches!(err, Error::Closed(CloseReason::PeerAborted(_))),
        "{err:?}"
    );
    let err = within("closed", b.closed()).await.unwrap_err();
    assert!(
        matches!(err, Error::Closed(CloseReason::Aborted(_))),
        "{err:?}"
    );
    let err = a
        .send(0, Bytes::from_static(b"x"), &SendOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Closed(_)), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_to_nobody_times_out() {
    let config = quick_init_timeout();
    // A bound socket that never answers.
    let silent = std::net::UdpSocket::bind(local()).unwrap();
    let client = Endpoint::bind(local(), config).unwrap();
    let err = within("connect", client.connect(silent.local_addr().unwrap()))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Closed(CloseReason::InitTimeout)),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_shards_each_carry_an_association() {
    let config = Config {
        shards: 2,
        ..Config::default()
    };
    let server = Endpoint::bind(local(), config.clone()).unwrap();
    let client = Endpoint::bind(local(), config).unwrap();
    let addrs = server.local_addrs();
    assert_eq!(addrs.len(), 2);
    assert_ne!(addrs[0], addrs[1], "port 0: one port per shard");
    let mut pairs = Vec::new();
    for (i, addr) in addrs.iter().enumerate() {
        let a = within("connect", client.connect_on(i, *addr, 5000, None))
            .await
            .unwrap();
        let b = within("accept", server.accept()).await.unwrap();
        pairs.push((a, b));
    }
    for (i, (a, b)) in pairs.iter_mut().enumerate() {
        for k in 0..100 {
            a.send(0, pattern(3000, k + i), &SendOptions::default())
                .await
                .unwrap();
        }
        for k in 0..100 {
            assert_eq!(
                within("recv", b.recv()).await.unwrap().payload,
                pattern(3000, k + i)
            );
        }
        within("shutdown", a.shutdown()).await.unwrap();
    }
    within("close", client.close()).await;
    within("close", server.close()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shards_sharing_a_port_connect_out_to_many_peers() {
    // A fixed port shared by two shards: the kernel's hash decides which socket gets each
    // peer's replies; the shards pass each other what was meant for the other.
    let port = std::net::UdpSocket::bind(local())
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let client = Endpoint::bind(
        addr,
        Config {
            shards: 2,
            ..Config::default()
        },
    )
    .unwrap();
    assert_eq!(client.local_addrs(), vec![addr, addr]);
    let mut servers = Vec::new();
    for _ in 0..8 {
        servers.push(Endpoint::bind(local(), Config::default()).unwrap());
    }
    let mut pairs = Vec::new();
    for s in &servers {
        let a = within("connect", client.connect(s.local_addr()))
            .await
            .unwrap();
        let b = within("accept", s.accept()).await.unwrap();
        pairs.push((a, b));
    }
    for (i, (a, b)) in pairs.iter().enumerate() {
        for k in 0..20 {
            a.send(0, pattern(5000, k + i), &SendOptions::default())
                .await
                .unwrap();
        }
        for k in 0..20 {
            assert_eq!(
                within("recv", b.recv()).await.unwrap().payload,
                pattern(5000, k + i)
            );
        }
        b.send(1, pattern(100, i), &SendOptions::default())
            .await
            .unwrap();
        assert_eq!(
            within("recv back", a.recv()).await.unwrap().payload,
            pattern(100, i)
        );
        within("shutdown", a.shutdown()).await.unwrap();
    }
}

/// A server on the IPv6 wildcard address (dual-stack) talks to an IPv4 client: its socket
/// sees the client as an IPv4-mapped address and must send back to it as one, both for
/// single datagrams and for GSO batches (a 64 KiB message each way).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dual_stack_server_answers_an_ipv4_client() {
    let Ok(server) = Endpoint::bind("[::]:0".parse().unwrap(), Config::default()) else {
        eprintln!("skipped: no IPv6 on this machine");
        return;
    };
    let port = server.local_addr().port();
    let client = Endpoint::bind(local(), Config::default()).unwrap();
    let a = within(
        "connect",
        client.connect(std::net::SocketAddr::from(([127, 0, 0, 1], port))),
    )
    .await
    .unwrap();
    let b = within("accept", server.accept()).await.unwrap();
    // The server reports the peer as the plain IPv4 address it is.
    assert_eq!(b.remote_addr(), client.local_addr());
    for (k, size) in [(0usize, 5usize), (1, 64 * 1024)] {
        within("send", a.send(0, pattern(size, k), &SendOptions::default()))
            .await
            .unwrap();
        let m = within("recv", b.recv()).await.unwrap();
        assert_eq!(m.payload, pattern(size, k));
        within("echo", b.send(0, m.payload, &SendOptions::default()))
            .await
            .unwrap();
        let m = within("recv echo", a.recv()).await.unwrap();
        assert_eq!(m.payload, pattern(size, k));
    }
    within("shutdown", a.shutdown()).await.unwrap();
    within("closed", b.closed()).await.unwrap();
    assert_eq!(b.status(), Status::Closed(CloseReason::Shutdown));
    within("close client", client.close()).await;
    within("close server", server.close()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_peer_client_talks_to_its_server_and_to_nobody_else() {
    let config = quick_init_timeout();
    let server = Endpoint::bind(local(), config.clone()).unwrap();
    let client = Endpoint::bind(
        local(),
        Config {
            single_peer: true,
            ..config.clone()
        },
    )
    .unwrap();
    let a = within("connect", client.connect(server.local_addr()))
        .await
        .unwrap();
    let b = within("accept", server.accept()).await.unwrap();
    let opts = SendOptions::default();
    within("send", a.send(1, pattern(3000, 1), &opts))
        .await
        .unwrap();
    let m = within("recv", b.recv()).await.unwrap();
    assert_eq!(m.payload, pattern(3000, 1));
    within("echo", b.send(1, m.payload, &opts)).await.unwrap();
    let echo = within("recv echo", a.recv()).await.unwrap();
    assert_eq!((echo.stream, echo.payload), (StreamId(1), pattern(3000, 1)));

    // Another endpoint: the client will not connect to it…
    let other = Endpoint::bind(local(), config).unwrap();
    let err = within("connect elsewhere", client.connect(other.local_addr()))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::SinglePeer { connected } if connected == server.local_addr()),
        "{err:?}"
    );
    // …and does not hear it: the INIT it sends the client goes unanswered, where the
    // server (not single-peer) answers the same endpoint's INIT.
    let err = within("INIT to the client", other.connect(client.local_addr()))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Closed(CloseReason::InitTimeout)),
        "{err:?}"
    );
    let c = within("INIT to the server", other.connect(server.local_addr()))
        .await
        .unwrap();
    assert!(matches!(c.status(), Status::Established { .. }));

    // The first association carried on through all this.
    within("send again", a.send(2, pattern(10, 2), &opts))
        .await
        .unwrap();
    let m = within("recv again", b.recv()).await.unwrap();
    assert_eq!((m.stream, m.payload), (StreamId(2), pattern(10, 2)));
    within("shutdown", a.shutdown()).await.unwrap();
}
