//! Out-of-the-blue packets (RFC 9260 §8.4): what to answer when no association matches.

use braid_wire::chunk::chunk_type;
use braid_wire::{Abort, Chunk, ErrorCause, Packet, ShutdownComplete};

/// The reply RFC 9260 §8.4 prescribes for an out-of-the-blue packet, as (verification tag,
/// chunk), or `None` to discard it silently. INIT and COOKIE ECHO (rules 3 and 4) are the
/// caller's to handle before asking; here an INIT gets the ABORT of a peer that does not
/// accept associations.
pub(crate) fn reply(packet: &Packet) -> Option<(u32, Chunk)> {
    let vtag = packet.header().verification_tag;
    let types = || packet.raw_chunks().map(|c| c.chunk_type);
    // Rule 2: anything carrying an ABORT is discarded.
    if types().any(|t| t == chunk_type::ABORT) {
        return None;
    }
    // Rule 3: an INIT nobody accepts. The ABORT carries the INIT's Initiate Tag, T bit clear;
    // an INIT with a non-zero tag is discarded (§8.5.1 A).
    if let Some(first) = packet
        .raw_chunks()
        .next()
        .filter(|c| c.chunk_type == chunk_type::INIT)
    {
        return match first.parse() {
            Ok(Chunk::Init(init)) if vtag == 0 && init.initiate_tag != 0 => Some((
                init.initiate_tag,
                Chunk::Abort(Abort {
                    t_bit: false,
                    causes: Vec::new(),
                }),
            )),
            _ => None,
        };
    }
    // Rule 4: a COOKIE ECHO is processed as §5.1 says; one that reaches this point did not
    // open (§5.1.5: silently discard).
    if packet
        .raw_chunks()
        .next()
        .is_some_and(|c| c.chunk_type == chunk_type::COOKIE_ECHO)
    {
        return None;
    }
    // Rule 5: SHUTDOWN ACK gets a SHUTDOWN COMPLETE, tag reflected with the T bit.
    if types().any(|t| t == chunk_type::SHUTDOWN_ACK) {
        return Some((
            vtag,
            Chunk::ShutdownComplete(ShutdownComplete { t_bit: true }),
        ));
    }
    // Rule 6: SHUTDOWN COMPLETE is discarded.
    if types().any(|t| t == chunk_type::SHUTDOWN_COMPLETE) {
        return None;
    }
    // Rule 7: a "Stale Cookie" ERROR or a COOKIE ACK is discarded.
    let stale_error = packet.chunks().any(|c| {
        matches!(c, Ok(Chunk::Error(e)) if e.causes.iter().any(|c| matches!(c, ErrorCause::StaleCookie(_))))
    });
    if stale_error || types().any(|t| t == chunk_type::COOKIE_ACK) {
        return None;
    }
    // Rule 8: an ABORT with the packet's tag reflected and the T bit set.
    Some((
        vtag,
        Chunk::Abort(Abort {
            t_bit: true,
            causes: Vec::new(),
        }),
    ))
}
