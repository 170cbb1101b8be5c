//! An established association, with data in flight both ways, fed arbitrary packets that
//! carry its verification tag and a valid CRC32c (so they reach the state machine), with
//! time moving: it must never panic, and its deadlines must never stay in the past.
#![no_main]

use std::time::{Duration, Instant};

use braid_proto::{Association, AssociationConfig, PathId, Ports, SendOptions, StreamId};
use braid_wire::checksum::write_crc32c;
use braid_wire::Bytes;
use libfuzzer_sys::fuzz_target;

fn pump(from: &mut Association, to: &mut Association, now: Instant) {
    let mut buf = Vec::new();
    for _ in 0..64 {
        let Some(t) = from.poll_transmit(now, &mut buf) else { break };
        let p = buf.split_off(buf.len() - t.len);
        to.handle_packet(now, PathId(0), p.into());
    }
}

fuzz_target!(|data: &[u8]| {
    let t0 = Instant::now();
    let config = AssociationConfig { max_message_size: 64 * 1024, ..Default::default() };
    let mut a = Association::connect(t0, config.clone(), Ports::default(), 1, None);
    let mut z = Association::accept(t0, config, Ports::default(), 2, None);
    let mut now = t0;
    for _ in 0..4 {
        pump(&mut a, &mut z, now);
        pump(&mut z, &mut a, now);
    }
    for i in 0..4u32 {
        let _ = a.send(now, StreamId(i as u16), Bytes::from(vec![i as u8; 3000]), &SendOptions::default());
    }
    pump(&mut a, &mut z, now);
    let tag = z.local_tag().to_be_bytes();
    // Input: a sequence of (u16 length, bytes) packets, each given Z's tag and a valid CRC.
    let mut rest = data;
    let mut buf = Vec::new();
    while rest.len() >= 2 {
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]])).min(rest.len() - 2);
        let mut pkt = rest[2..2 + len].to_vec();
        rest = &rest[2 + len..];
        if pkt.len() >= 12 {
            pkt[0..2].copy_from_slice(&5000u16.to_be_bytes());
            pkt[2..4].copy_from_slice(&5000u16.to_be_bytes());
            if pkt[4] & 1 == 0 {
                pkt[4..8].copy_from_slice(&tag);
            }
            write_crc32c(&mut pkt);
        }
        now += Duration::from_millis(u64::from(len as u8));
        z.handle_packet(now, PathId(0), Bytes::from(pkt));
        while let Some(t) = z.poll_transmit(now, &mut buf) {
            buf.truncate(buf.len() - t.len);
        }
        if let Some(deadline) = z.poll_timeout() {
            if deadline <= now {
                z.handle_timeout(now);
                // A deadline still in the past after handling it would make a driver spin.
                assert!(z.poll_timeout().is_none_or(|d| d > now), "deadline stuck in the past");
            }
        }
        while z.poll_event().is_some() {}
        while z.read_message().is_some() {}
    }
});
