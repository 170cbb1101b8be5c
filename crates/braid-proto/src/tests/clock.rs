//! Time as a real clock gives it: instants with nanosecond parts, not whole milliseconds.

use core::time::Duration;
use std::time::Instant;

use crate::{Association, AssociationConfig, PathId, Ports, State};

/// Moves every packet one way at `now`.
fn pump(from: &mut Association, to: &mut Association, now: Instant) -> bool {
    let mut buf = Vec::new();
    let mut moved = false;
    while let Some(t) = from.poll_transmit(now, &mut buf) {
        let packet = buf.split_off(buf.len() - t.len);
        to.handle_packet(now, PathId(0), packet.into());
        moved = true;
    }
    moved
}

/// HEARTBEAT ACKs are matched at the µs precision the Heartbeat Info carries, so a send time
/// with a sub-µs part (any real clock) is still recognised and gives an RTT sample.
#[test]
fn heartbeat_acks_match_with_nanosecond_clocks() {
    let t0 = Instant::now() + Duration::from_nanos(333);
    let config = AssociationConfig {
        heartbeat_interval: Some(Duration::from_millis(500)),
        rto_min: Duration::from_millis(1),
        ..Default::default()
    };
    let mut a = Association::connect(t0, config.clone(), Ports::default(), 7, None);
    let mut z = Association::accept(
        t0 + Duration::from_nanos(777),
        config,
        Ports::default(),
        8,
        None,
    );
    let mut now = t0 + Duration::from_nanos(1_234);
    while pump(&mut a, &mut z, now) | pump(&mut z, &mut a, now) {}
    assert_eq!(
        (a.state(), z.state()),
        (State::Established, State::Established)
    );
    for _ in 0..4 {
        // Fire the next heartbeat at a time with a sub-µs part, answer it 2.5 µs later.
        now = a.poll_timeout().unwrap().max(now) + Duration::from_nanos(417);
        a.handle_timeout(now);
        z.handle_timeout(now);
        pump(&mut a, &mut z, now);
        now += Duration::from_nanos(2_500);
        pump(&mut z, &mut a, now);
    }
    assert!(a.stats().heartbeats_sent >= 4);
    assert_eq!(a.stats().heartbeat_acks, a.stats().heartbeats_sent);
    assert!(a.srtt(PathId(0)).is_some());
}
