//! Data transfer end to end (RFC 9260 §6): messages in on one side come out whole, in
//! order per stream, on the other.

use core::time::Duration;

use braid_wire::Bytes;

use crate::harness::{data_config, payload, perfect, Fate, Pair, Side};
use crate::{Event, Message, Ppid, SendOptions, State, StreamId};

#[test]
fn messages_arrive_whole_and_in_order_per_stream() {
    let mut pair = Pair::with_config(data_config(1 << 20), data_config(1 << 20));
    pair.connect(Side::A);
    pair.run(Duration::from_secs(1), &mut perfect);
    assert_eq!(pair.state(Side::A), Some(State::Established));
    let now = pair.now;
    let sizes = [1usize, 100, 1200, 5000, 65536, 300_000];
    let mut sent = Vec::new();
    for (i, &len) in sizes.iter().enumerate() {
        for stream in 0..3u16 {
            let p = payload(stream, i as u32, len);
            let opts = SendOptions {
                ppid: Ppid(51 + u32::from(stream)),
                ..Default::default()
            };
            pair.assoc_mut(Side::A)
                .send(now, StreamId(stream), p.clone(), &opts)
                .unwrap();
            sent.push((stream, p));
        }
    }
    // The reader reads as data arrives: with 1.1 MB of messages and a 1 MiB window, a reader
    // that waited until the end would (rightly) stall the sender.
    let mut got = Vec::new();
    for _ in 0..600 {
        pair.run(Duration::from_millis(50), &mut perfect);
        got.extend(pair.read_all(Side::Z));
    }
    assert_eq!(
        got.len(),
        sent.len(),
        "{}",
        pair.assoc(Side::A).stats().data_chunks_sent
    );
    for stream in 0..3u16 {
        let want: Vec<&Bytes> = sent
            .iter()
            .filter(|(s, _)| *s == stream)
            .map(|(_, p)| p)
            .collect();
        let have: Vec<&Message> = got
            .iter()
            .filter(|m| m.stream == StreamId(stream))
            .collect();
        assert_eq!(have.len(), want.len());
        for (m, p) in have.iter().zip(want) {
            assert_eq!(&m.payload, p, "stream {stream}");
            assert_eq!(m.ppid, Ppid(51 + u32::from(stream)));
            assert!(!m.unordered);
        }
    }
    let a = pair.assoc(Side::A);
    assert_eq!(a.bytes_in_flight(), 0);
    assert_eq!(a.stats().retransmissions, 0);
}

/// A reader that reads nothing closes the window: the sender stops at the window and
/// memory stays bounded; once the reader catches up, the rest flows.
#[test]
fn slow_reader_closes_the_window_and_nothing_is_lost() {
    let mut pair = Pair::with_config(data_config(1 << 20), data_config(1 << 20));
    pair.connect(Side::A);
    pair.run(Duration::from_secs(1), &mut perfect);
    let now = pair.now;
    for i in 0..40u32 {
        pair.assoc_mut(Side::A)
            .send(
                now,
                StreamId(0),
                payload(0, i, 100_000),
                &SendOptions::default(),
            )
            .unwrap();
    }
    // Nobody reads: Z holds at most its window (plus a few packets of headroom).
    pair.run(Duration::from_secs(20), &mut perfect);
    let held = pair.assoc(Side::Z).readable_messages();
    assert!(held > 0 && held < 40, "{held}");
    let window = pair.z.config().association.receive_window as usize;
    assert!(held * 100_000 <= window + 4 * 1200, "held {held} messages");
    assert!(
        pair.assoc(Side::A).total_buffered() > 0,
        "the sender is stalled, not dropping"
    );
    // The reader catches up: the window reopens (window update SACKs) and everything arrives.
    let mut got = Vec::new();
    for _ in 0..400 {
        got.extend(pair.read_all(Side::Z));
        pair.run(Duration::from_millis(50), &mut perfect);
    }
    got.extend(pair.read_all(Side::Z));
    assert_eq!(got.len(), 40);
    for (i, m) in got.iter().enumerate() {
        assert_eq!(m.payload, payload(0, i as u32, 100_000));
    }
}

#[test]
fn lost_data_is_retransmitted_and_delivered_once() {
    for drop_every in [7usize, 3] {
        let mut pair = Pair::with_config(data_config(1 << 20), data_config(1 << 20));
        pair.connect(Side::A);
        pair.run(Duration::from_secs(1), &mut perfect);
        let now = pair.now;
        let mut sent = Vec::new();
        for i in 0..200u32 {
            let p = payload(0, i, 1000);
            pair.assoc_mut(Side::A)
                .send(now, StreamId(0), p.clone(), &SendOptions::default())
                .unwrap();
            sent.push(p);
        }
        let mut n = 0usize;
        pair.run(Duration::from_secs(120), &mut |s, _| {
            if s.from == Side::A && s.is(braid_wire::chunk::chunk_type::DATA) {
                n += 1;
                if n.is_multiple_of(drop_every) {
                    return Fate::Drop;
                }
            }
            Fate::Deliver
        });
        let got: Vec<Bytes> = pair
            .read_all(Side::Z)
            .into_iter()
            .map(|m| m.payload)
            .collect();
        assert_eq!(
            got.len(),
            sent.len(),
            "drop every {drop_every}: {:?}",
            pair.assoc(Side::A).stats()
        );
        assert!(got == sent, "content and order");
        let st = pair.assoc(Side::A).stats();
        assert!(st.retransmissions > 0);
        assert_eq!(pair.assoc(Side::A).bytes_in_flight(), 0);
    }
}

#[test]
fn graceful_shutdown_waits_for_data() {
    let mut pair = Pair::with_config(data_config(1 << 20), data_config(1 << 20));
    pair.connect(Side::A);
    pair.run(Duration::from_secs(1), &mut perfect);
    let now = pair.now;
    for i in 0..50u32 {
        pair.assoc_mut(Side::A)
            .send(
                now,
                StreamId(1),
                payload(1, i, 3000),
                &SendOptions::default(),
            )
            .unwrap();
    }
    pair.assoc_mut(Side::A).shutdown(now);
    assert_eq!(pair.state(Side::A), Some(State::ShutdownPending));
    let mut got = 0;
    let mut closed = [false, false];
    for _ in 0..200 {
        pair.run(Duration::from_millis(50), &mut perfect);
        got += pair.read_all(Side::Z).len();
        for (i, side) in [Side::A, Side::Z].into_iter().enumerate() {
            closed[i] |= pair
                .events(side)
                .contains(&Event::Closed(crate::CloseReason::Shutdown));
        }
        if closed == [true, true] {
            break;
        }
    }
    assert_eq!(got, 50);
    assert_eq!(closed, [true, true], "{}", pair.trace());
}

/// `nodelay = false` coalesces small messages while data is in flight (Nagle); with the
/// default `nodelay = true` each goes out at once. Either way every message arrives.
#[test]
fn nodelay_switch_coalesces_small_messages() {
    let mut packets = Vec::new();
    for nodelay in [true, false] {
        let mut c = data_config(1 << 20);
        c.association.nodelay = nodelay;
        let mut pair = Pair::with_config(c.clone(), c);
        pair.connect(Side::A);
        pair.run(Duration::from_secs(1), &mut perfect);
        let before = pair.assoc(Side::A).stats().packets_sent;
        // One small message every millisecond for 100 ms; the one-way delay is 10 ms, so
        // data is in flight nearly all the time.
        for i in 0..100u32 {
            let now = pair.now;
            pair.assoc_mut(Side::A)
                .send(now, StreamId(0), payload(0, i, 20), &SendOptions::default())
                .unwrap();
            pair.run(Duration::from_millis(1), &mut perfect);
        }
        pair.run(Duration::from_secs(2), &mut perfect);
        let got = pair.read_all(Side::Z);
        assert_eq!(got.len(), 100, "nodelay={nodelay}: {}", pair.trace());
        assert!(got
            .iter()
            .enumerate()
            .all(|(i, m)| m.payload == payload(0, i as u32, 20)));
        packets.push(pair.assoc(Side::A).stats().packets_sent - before);
    }
    // Each message alone (plus the odd SACK-only packet) versus a handful of coalesced ones.
    assert!(packets[0] >= 100, "{packets:?}");
    assert!(packets[1] * 3 < packets[0], "{packets:?}");
}
