//! The property every fuzz input is held to, shared by the cargo-fuzz target and by the seed
//! corpus replay test. Not part of the stable API.

use bytes::Bytes;

use crate::checksum::ChecksumPolicy;
use crate::chunk::{Chunk, EncodeChunk};
use crate::packet::{CommonHeader, Packet};
use crate::PacketBuilder;

/// Parses `data` as a packet and, if it parses, checks that every chunk that decodes
/// re-encodes to bytes that decode to the same value, and that a packet rebuilt from those
/// chunks parses back with a valid CRC32c to the same chunks. Panics (that is the point) if any
/// of this fails; returns whether `data` was a well-framed packet.
pub fn check_packet(data: Bytes, policy: ChecksumPolicy) -> bool {
    let Ok(packet) = Packet::parse(data, policy) else {
        return false;
    };
    let _ = packet.to_string();
    let mut chunks = Vec::new();
    for raw in packet.raw_chunks() {
        let Ok(chunk) = raw.parse() else { continue };
        let _ = chunk.to_string();
        // Re-encode the chunk alone behind an empty common header and read it back.
        let mut bytes = vec![0u8; CommonHeader::LEN];
        chunk
            .write_to(&mut bytes)
            .expect("a parsed chunk re-encodes");
        assert_eq!(
            bytes.len(),
            CommonHeader::LEN + chunk.padded_len(),
            "padded_len agrees with write_to"
        );
        let single = Packet::parse(Bytes::from(bytes), ChecksumPolicy::Unchecked)
            .expect("a re-encoded chunk frames");
        let again = single
            .chunks()
            .next()
            .expect("one chunk")
            .expect("a re-encoded chunk parses");
        assert_eq!(again, chunk, "parse -> emit -> parse is stable");
        chunks.push(chunk);
    }
    if !chunks.is_empty() {
        let mut buf = Vec::new();
        let mut builder = PacketBuilder::new(&mut buf, *packet.header(), usize::MAX);
        for c in &chunks {
            builder
                .push(c)
                .expect("chunks of a valid packet fit a packet again");
        }
        let len = builder.finish_crc32c();
        buf.truncate(len);
        let rebuilt =
            Packet::parse(Bytes::from(buf), ChecksumPolicy::Crc32c).expect("rebuilt packet parses");
        let back: Vec<Chunk> = rebuilt.chunks().filter_map(Result::ok).collect();
        assert_eq!(back, chunks, "rebuilt packet holds the same chunks");
    }
    true
}
