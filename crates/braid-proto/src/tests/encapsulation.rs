//! SCTP over UDP (RFC 6951): the peer's UDP encapsulation port follows the packets that carry
//! the right verification tag (§5.4), and only those.

use std::net::SocketAddr;
use std::time::Duration;

use braid_wire::chunk::chunk_type as t;
use braid_wire::Bytes;

use crate::harness::{payload, Fate, Pair, Side};
use crate::{SendOptions, StreamId};

#[test]
fn a_new_udp_source_port_with_the_right_tag_moves_the_association() {
    let mut p = Pair::established();
    let before = p.a_addr;
    let moved: SocketAddr = "192.0.2.1:40000".parse().expect("address");
    // A's NAT binding changes: Z now sees A's packets coming from another UDP port.
    p.a_addr = moved;
    let now = p.now;
    p.assoc_mut(Side::A)
        .send(
            now,
            StreamId(0),
            payload(0, 1, 3000),
            &SendOptions::default(),
        )
        .expect("send");
    p.run(Duration::from_secs(1), &mut |_, _| Fate::Deliver);
    let got: Vec<Bytes> = p.read_all(Side::Z).into_iter().map(|m| m.payload).collect();
    assert_eq!(got, vec![payload(0, 1, 3000)]);
    assert_eq!(p.z.stats().port_changes, 1);
    assert_eq!(p.assoc(Side::Z).primary_remote(), Some(moved));
    // Z's packets now go to the new port.
    let now = p.now;
    p.assoc_mut(Side::Z)
        .send(now, StreamId(0), payload(0, 2, 10), &SendOptions::default())
        .expect("send");
    let mut buf = Vec::new();
    let t = p.z.poll_transmit(now, &mut buf).expect("a packet");
    assert_eq!(t.remote, moved);
    assert_ne!(t.remote, before);
}

#[test]
fn a_new_udp_source_port_without_the_tag_is_out_of_the_blue() {
    let mut p = Pair::established();
    let z_tag = p.assoc(Side::Z).local_tag();
    let spoofed: SocketAddr = "192.0.2.1:40001".parse().expect("address");
    // A packet from A's address on a new port, with a wrong tag: not A's association.
    let hb = crate::harness::packet(
        z_tag ^ 1,
        &[braid_wire::Chunk::Heartbeat(braid_wire::Heartbeat {
            info: Bytes::from_static(b"probe"),
        })],
    );
    let now = p.now;
    p.z.handle_datagram(now, spoofed, hb);
    assert_eq!(p.z.stats().port_changes, 0);
    assert_ne!(p.assoc(Side::Z).primary_remote(), Some(spoofed));
    // Nothing was sent to the spoofed port but what §8.4 prescribes for an out-of-the-blue
    // HEARTBEAT (an ABORT) — never association traffic.
    let mut buf = Vec::new();
    while let Some(tx) = p.z.poll_transmit(now, &mut buf) {
        if tx.remote == spoofed {
            assert!(
                tx.association.is_none(),
                "association traffic to a spoofed port"
            );
            let first = buf.get(buf.len() - tx.len + 12).copied();
            assert_eq!(first, Some(t::ABORT));
        }
    }
}
