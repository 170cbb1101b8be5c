//! Collisions, restarts and the other handshake corner cases of RFC 9260 §5.2.1–§5.2.6:
//! INITs that cross, INITs and COOKIE ECHOs that arrive while a TCB exists, late and
//! duplicated handshake chunks, stale, forged and foreign cookies.
//!
//! The State Cookie is opaque: where the RFC says it carries tie-tags, these tests check what
//! the tie-tags are for (a restart is accepted only when they match the current tags) rather
//! than decoding it.

use core::time::Duration;

use braid_wire::cause::StaleCookie;
use braid_wire::chunk::chunk_type as t;
use braid_wire::param::Parameter;
use braid_wire::{Bytes, Chunk, CookieEcho, ErrorCause, Init, OperationError, Tsn};

use crate::harness::{self, perfect, Fate, Pair, Sent, Side, PORT};
use crate::{AssociationConfig, CloseReason, Endpoint, EndpointConfig, Event, State};

// ---------------------------------------------------------------- helpers

/// A fresh endpoint on A's address, as after a crash and reboot: same port, new secrets and
/// tags (another seed), no memory of any association.
fn rebooted(pair: &Pair, seed: u64) -> Endpoint {
    Endpoint::new(
        pair.now,
        EndpointConfig {
            port: PORT,
            rng_seed: seed,
            ..Default::default()
        },
    )
}

/// A pair whose Z makes cookies that live `lifetime` and honours Cookie Preservatives up to
/// `max_preservative`.
fn short_cookie_pair(lifetime: Duration, max_preservative: Duration) -> Pair {
    let mut z = EndpointConfig::default();
    z.association.cookie_lifetime = lifetime;
    z.association.max_cookie_preservative = max_preservative;
    Pair::with_config(EndpointConfig::default(), z)
}

fn init_of(sent: &Sent) -> Init {
    harness::find(sent, |c| match c {
        Chunk::Init(i) => Some(i.clone()),
        _ => None,
    })
    .unwrap_or_else(|| panic!("no INIT in {sent}"))
}

fn init_ack_of(sent: &Sent) -> Init {
    harness::find(sent, |c| match c {
        Chunk::InitAck(i) => Some(i.clone()),
        _ => None,
    })
    .unwrap_or_else(|| panic!("no INIT ACK in {sent}"))
}

fn state_cookie(ack: &Init) -> Bytes {
    ack.params
        .iter()
        .find_map(|p| match p {
            Parameter::StateCookie(c) => Some(c.clone()),
            _ => None,
        })
        .expect("an INIT ACK carries a State Cookie")
}

fn echoed_cookie(sent: &Sent) -> Bytes {
    harness::find(sent, |c| match c {
        Chunk::CookieEcho(e) => Some(e.cookie.clone()),
        _ => None,
    })
    .unwrap_or_else(|| panic!("no COOKIE ECHO in {sent}"))
}

fn causes_of(sent: &Sent) -> Vec<ErrorCause> {
    harness::find(sent, |c| match c {
        Chunk::Error(OperationError { causes }) => Some(causes.clone()),
        _ => None,
    })
    .unwrap_or_else(|| panic!("no ERROR in {sent}"))
}

/// An INIT (verification tag 0, §8.5.1 A) with this Initiate Tag, as a peer that knows
/// nothing of the current association would send it.
fn foreign_init(initiate_tag: u32) -> Bytes {
    harness::packet(
        0,
        &[Chunk::Init(Init {
            initiate_tag,
            a_rwnd: 65536,
            outbound_streams: 10,
            inbound_streams: 10,
            initial_tsn: Tsn(1000),
            params: Vec::new(),
        })],
    )
}

fn cookie_echo_packet(tag: u32, cookie: Bytes) -> Bytes {
    harness::packet(tag, &[Chunk::CookieEcho(CookieEcho { cookie })])
}

/// Both sides ESTABLISHED, with exactly one association each, each side's tags the mirror
/// image of the other's. Returns (A's tag, Z's tag).
fn assert_one_association_up(pair: &Pair) -> (u32, u32) {
    assert_eq!(pair.a.association_count(), 1, "A: {}", pair.trace());
    assert_eq!(pair.z.association_count(), 1, "Z: {}", pair.trace());
    for side in [Side::A, Side::Z] {
        assert_eq!(
            pair.state(side),
            Some(State::Established),
            "{side:?}: {}",
            pair.trace()
        );
    }
    let (a, z) = (pair.assoc(Side::A), pair.assoc(Side::Z));
    assert_eq!(a.local_tag(), z.peer_tag(), "{}", pair.trace());
    assert_eq!(a.peer_tag(), z.local_tag(), "{}", pair.trace());
    assert_ne!(a.local_tag(), 0);
    assert_ne!(z.local_tag(), 0);
    (a.local_tag(), z.local_tag())
}

/// Runs the pair over a perfect network for `limit`, in 50 ms slices, reading both sides'
/// events after each slice as a user following the crate contract does (an endpoint forgets a
/// closed association only once its events have been read). Returns the events.
fn run_draining(pair: &mut Pair, limit: Duration) -> (Vec<Event>, Vec<Event>) {
    let end = pair.now + limit;
    let (mut a, mut z) = (Vec::new(), Vec::new());
    while pair.now < end {
        pair.run(Duration::from_millis(50), &mut perfect);
        a.extend(pair.events(Side::A));
        z.extend(pair.events(Side::Z));
    }
    (a, z)
}

/// Checks that `ack` answers `theirs` with exactly the parameters of `ours` (§5.2.1).
fn assert_answers_with_original_parameters(ack: &Sent, ours: &Init, theirs: &Init) {
    assert_eq!(ack.types(), vec![t::INIT_ACK], "{ack}");
    assert_eq!(
        ack.header().verification_tag,
        theirs.initiate_tag,
        "the INIT ACK goes to the INIT's Initiate Tag"
    );
    let value = init_ack_of(ack);
    assert_eq!(
        value.initiate_tag, ours.initiate_tag,
        "§5.2.1: our Initiate Tag, unchanged"
    );
    assert_eq!(value.initial_tsn, ours.initial_tsn);
    assert_eq!(
        (value.a_rwnd, value.outbound_streams, value.inbound_streams),
        (ours.a_rwnd, ours.outbound_streams, ours.inbound_streams)
    );
    state_cookie(&value);
}

/// The collision of §5.2.1 with A in COOKIE-ECHOED.
struct EchoedCollision {
    pair: Pair,
    /// A's INIT.
    ours: Init,
    /// Z's INIT.
    theirs: Init,
    /// The tag Z chose when it answered A's INIT statelessly.
    z1: u32,
    /// A's COOKIE ECHO (with Z1's cookie), held back by the network.
    held_echo: Sent,
    /// A's INIT ACK to Z's INIT, not yet delivered.
    init_ack: Sent,
    /// When A's T1-cookie was due before Z's INIT arrived.
    t1: std::time::Instant,
}

/// A connects; Z answers statelessly with tag Z1, and A's COOKIE ECHO is held back by the
/// network. 200 ms later Z's user connects too (tag Z2) and Z's INIT reaches A in
/// COOKIE-ECHOED.
fn collide_in_cookie_echoed() -> EchoedCollision {
    let mut pair = Pair::new();
    pair.connect(Side::A);
    // A -> INIT -> Z
    let init = pair.transmit_one(Side::A);
    let ours = init_of(&init);
    pair.deliver(&init);
    // A <- INIT ACK (Z1) <- Z, statelessly
    let z_ack = pair.transmit_one(Side::Z);
    let z1 = init_ack_of(&z_ack).initiate_tag;
    assert_eq!(pair.z.association_count(), 0);
    pair.deliver(&z_ack);
    // A -> COOKIE ECHO -> (held back) Z
    let held_echo = pair.transmit_one(Side::A);
    assert!(held_echo.is(t::COOKIE_ECHO));
    assert_eq!(pair.state(Side::A), Some(State::CookieEchoed));
    let t1 = pair.assoc(Side::A).poll_timeout().unwrap();
    // Z's user connects: A <- INIT (Z2) <- Z, A in COOKIE-ECHOED
    pair.advance(Duration::from_millis(200));
    pair.connect(Side::Z);
    let z_init = pair.transmit_one(Side::Z);
    let theirs = init_of(&z_init);
    assert_ne!(theirs.initiate_tag, z1);
    pair.deliver(&z_init);
    // A -> INIT ACK -> (not yet delivered) Z
    let init_ack = pair.transmit_one(Side::A);
    EchoedCollision {
        pair,
        ours,
        theirs,
        z1,
        held_echo,
        init_ack,
        t1,
    }
}

// ---------------------------------------------------------------- §5.2.1 INIT collisions

/// Both users connect at the same instant over a perfect network: the INITs cross and the
/// two attempts resolve into one association.
#[test]
fn simultaneous_connect_over_a_perfect_network_yields_one_association() {
    let mut pair = Pair::new();
    // A -> INIT -> Z  and  A <- INIT <- Z, at the same instant.
    pair.connect(Side::A);
    pair.connect(Side::Z);
    pair.run(Duration::from_secs(1), &mut perfect);
    assert_one_association_up(&pair);
    assert_eq!(pair.events(Side::A), vec![Event::Connected]);
    assert_eq!(pair.events(Side::Z), vec![Event::Connected]);
    assert!(
        pair.log.iter().all(|(_, s)| !s.types().contains(&t::ABORT)),
        "{}",
        pair.trace()
    );
}

/// The same collision told packet by packet: each INIT reaches a side in COOKIE-WAIT, which
/// answers with its own original tag; the association ends up with the two original tags.
#[test]
fn crossing_inits_each_arriving_in_cookie_wait() {
    let mut pair = Pair::new();
    pair.connect(Side::A);
    pair.connect(Side::Z);
    let a_init = pair.transmit_one(Side::A);
    let z_init = pair.transmit_one(Side::Z);
    let (ours, theirs) = (init_of(&a_init), init_of(&z_init));
    // A -> INIT -> Z (in COOKIE-WAIT);  A (in COOKIE-WAIT) <- INIT <- Z
    pair.deliver(&a_init);
    pair.deliver(&z_init);
    assert_eq!(pair.state(Side::A), Some(State::CookieWait));
    assert_eq!(pair.state(Side::Z), Some(State::CookieWait));
    // A -> INIT ACK -> Z  and  A <- INIT ACK <- Z, each with its own unchanged tag.
    let a_ack = pair.transmit_one(Side::A);
    let z_ack = pair.transmit_one(Side::Z);
    assert_answers_with_original_parameters(&a_ack, &ours, &theirs);
    assert_answers_with_original_parameters(&z_ack, &theirs, &ours);
    pair.deliver(&a_ack);
    pair.deliver(&z_ack);
    // COOKIE ECHOs cross too; each finds both its tags in the cookie (§5.2.4 D).
    pair.run(Duration::from_secs(1), &mut perfect);
    assert_eq!(
        assert_one_association_up(&pair),
        (ours.initiate_tag, theirs.initiate_tag)
    );
    assert_eq!(pair.events(Side::A), vec![Event::Connected]);
    assert_eq!(pair.events(Side::Z), vec![Event::Connected]);
}

/// §5.2.1: an INIT in COOKIE-WAIT gets an INIT ACK with our original Initiate Tag and
/// parameters; the state does not change and T1-init keeps running.
#[test]
fn init_in_cookie_wait_is_answered_with_the_original_tag_and_t1_keeps_running() {
    let mut pair = Pair::new();
    let start = pair.now;
    pair.connect(Side::A);
    // A -> INIT -> (lost) Z
    let lost = pair.transmit_one(Side::A);
    let ours = init_of(&lost);
    let t1 = pair.assoc(Side::A).poll_timeout().unwrap();
    assert_eq!(t1, start + Duration::from_secs(1));
    // 300 ms later Z's user connects: A (COOKIE-WAIT) <- INIT <- Z
    pair.advance(Duration::from_millis(300));
    pair.connect(Side::Z);
    let z_init = pair.transmit_one(Side::Z);
    let theirs = init_of(&z_init);
    pair.deliver(&z_init);
    // A -> INIT ACK (A's original tag and parameters) -> Z
    let ack = pair.transmit_one(Side::A);
    assert_answers_with_original_parameters(&ack, &ours, &theirs);
    // Nothing else changed: still COOKIE-WAIT, one association, T1 due when it was.
    assert_eq!(pair.state(Side::A), Some(State::CookieWait));
    assert_eq!(pair.a.association_count(), 1);
    assert_eq!(pair.assoc(Side::A).poll_timeout(), Some(t1));
    assert!(pair.events(Side::A).is_empty());
    // ...and T1 fires then: A -> INIT (same tag) -> (lost) Z
    pair.advance(t1 - pair.now);
    let again = pair.transmit_one(Side::A);
    assert!(again.is(t::INIT));
    assert_eq!(init_of(&again).initiate_tag, ours.initiate_tag);
    // The INIT ACK arrives late; Z echoes A's cookie and the collision resolves (§5.2.4 B at
    // A, which is still in COOKIE-WAIT).
    pair.deliver(&ack);
    pair.run(Duration::from_secs(1), &mut perfect);
    assert_eq!(
        assert_one_association_up(&pair),
        (ours.initiate_tag, theirs.initiate_tag)
    );
    assert_eq!(pair.events(Side::A), vec![Event::Connected]);
    assert_eq!(pair.events(Side::Z), vec![Event::Connected]);
}

/// §5.2.1: the same in COOKIE-ECHOED: INIT ACK with the original tag, no state change, T1-cookie
/// untouched; and the handshake still completes.
#[test]
fn init_in_cookie_echoed_is_answered_with_the_original_tag_and_the_handshake_completes() {
    let EchoedCollision {
        mut pair,
        ours,
        theirs,
        held_echo,
        init_ack,
        t1,
        ..
    } = collide_in_cookie_echoed();
    assert_answers_with_original_parameters(&init_ack, &ours, &theirs);
    assert_eq!(pair.state(Side::A), Some(State::CookieEchoed));
    assert_eq!(pair.a.association_count(), 1);
    assert_eq!(pair.assoc(Side::A).poll_timeout(), Some(t1));
    assert!(pair.events(Side::A).is_empty());
    // A -> (held) COOKIE ECHO -> Z, now in COOKIE-WAIT: the cookie names neither of Z's
    // tags, so it is silently discarded.
    pair.deliver(&held_echo);
    assert!(pair.transmit(Side::Z).is_empty(), "{}", pair.trace());
    assert_eq!(pair.state(Side::Z), Some(State::CookieWait));
    // A -> INIT ACK -> Z, and the rest of the exchange over a perfect network.
    pair.deliver(&init_ack);
    pair.run(Duration::from_secs(2), &mut perfect);
    assert_eq!(
        assert_one_association_up(&pair),
        (ours.initiate_tag, theirs.initiate_tag)
    );
    assert_eq!(pair.events(Side::A), vec![Event::Connected]);
    assert_eq!(pair.events(Side::Z), vec![Event::Connected]);
}

// ---------------------------------------------------------------- §5.2.2 unexpected INIT

/// §5.2.2: an INIT in ESTABLISHED is answered with an INIT ACK carrying a NEW tag, sent to the
/// INIT's tag; the association itself is not touched.
#[test]
fn unexpected_init_in_established_gets_a_new_tag_and_leaves_the_association_alone() {
    let mut pair = Pair::established();
    let tags = assert_one_association_up(&pair);
    let h = pair.handle(Side::Z);
    // ? -> INIT (Initiate Tag 0x5eed0001) -> Z, from A's address and port
    let newcomer = 0x5eed_0001;
    pair.deliver_bytes(Side::Z, foreign_init(newcomer));
    // ? <- INIT ACK (a new tag) <- Z
    let ack = pair.transmit_one(Side::Z);
    assert_eq!(ack.types(), vec![t::INIT_ACK]);
    assert_eq!(ack.header().verification_tag, newcomer);
    let offered = init_ack_of(&ack).initiate_tag;
    assert_ne!(offered, tags.1, "§5.2.2: not the current local tag");
    assert_ne!(offered, 0);
    // Nothing follows: the association is as it was.
    pair.advance(Duration::from_secs(5));
    assert!(pair.transmit(Side::Z).is_empty(), "{}", pair.trace());
    assert!(pair.transmit(Side::A).is_empty(), "{}", pair.trace());
    assert_eq!(pair.handle(Side::Z), h);
    assert_eq!(assert_one_association_up(&pair), tags);
    assert!(pair.events(Side::Z).is_empty());
    assert!(pair.events(Side::A).is_empty());
}

/// §9.2: an INIT in SHUTDOWN-ACK-SENT (here: A's SHUTDOWN COMPLETE was lost and A's user
/// connects again at once) is discarded and the SHUTDOWN ACK retransmitted.
#[test]
fn init_in_shutdown_ack_sent_is_discarded_and_shutdown_ack_retransmitted() {
    let mut pair = Pair::established();
    let old = assert_one_association_up(&pair);
    // A -> SHUTDOWN -> Z;  A <- SHUTDOWN ACK <- Z;  A -> SHUTDOWN COMPLETE -> (lost) Z
    let now = pair.now;
    pair.assoc_mut(Side::A).shutdown(now);
    let shutdown = pair.transmit_one(Side::A);
    assert!(shutdown.is(t::SHUTDOWN));
    pair.deliver(&shutdown);
    let shutdown_ack = pair.transmit_one(Side::Z);
    assert!(shutdown_ack.is(t::SHUTDOWN_ACK));
    assert_eq!(pair.state(Side::Z), Some(State::ShutdownAckSent));
    pair.deliver(&shutdown_ack);
    let lost = pair.transmit_one(Side::A);
    assert!(lost.is(t::SHUTDOWN_COMPLETE));
    assert_eq!(
        pair.events(Side::A),
        vec![Event::Closed(CloseReason::Shutdown)]
    );
    assert_eq!(pair.events(Side::Z), vec![Event::ShutdownStarted]);
    // A's user connects again: A -> INIT -> Z (still SHUTDOWN-ACK-SENT)
    pair.connect(Side::A);
    let init = pair.transmit_one(Side::A);
    assert!(init.is(t::INIT));
    pair.deliver(&init);
    // A <- SHUTDOWN ACK (old tag) <- Z, and no INIT ACK
    let again = pair.transmit_one(Side::Z);
    assert_eq!(again.types(), vec![t::SHUTDOWN_ACK], "{}", pair.trace());
    assert_eq!(again.header().verification_tag, old.0);
    assert_eq!(pair.state(Side::Z), Some(State::ShutdownAckSent));
    // A's new association (COOKIE-WAIT) takes it as out of the blue (§8.5.1 E, §8.4):
    // A -> SHUTDOWN COMPLETE (T bit, tag reflected) -> Z, and Z's old association ends.
    pair.deliver(&again);
    let complete = pair.transmit_one(Side::A);
    assert_eq!(complete.types(), vec![t::SHUTDOWN_COMPLETE]);
    assert_eq!(complete.header().verification_tag, old.0);
    pair.deliver(&complete);
    assert_eq!(
        pair.events(Side::Z),
        vec![Event::Closed(CloseReason::Shutdown)]
    );
    // T1 retransmits A's INIT, which now finds no association at Z: a new one comes up.
    pair.run(Duration::from_secs(5), &mut perfect);
    let new = assert_one_association_up(&pair);
    assert_ne!(new.0, old.0);
    assert_ne!(new.1, old.1);
    assert_eq!(pair.events(Side::A), vec![Event::Connected]);
    assert_eq!(pair.events(Side::Z), vec![Event::Connected]);
}

// ---------------------------------------------------------------- §5.2.4 A: peer restart

/// §5.2.4 A: A crashes and reconnects; Z's association restarts in place under the same
/// handle with the new tags and tells its user so.
#[test]
fn peer_restart_is_reported_under_the_same_handle() {
    let mut pair = Pair::established();
    let (old_a, old_z) = assert_one_association_up(&pair);
    let h = pair.handle(Side::Z);
    // A crashes and comes back knowing nothing: A' on the same address and port.
    pair.a = rebooted(&pair, 99);
    // A' -> INIT -> Z (ESTABLISHED)
    pair.connect(Side::A);
    let init = pair.transmit_one(Side::A);
    let new_a = init_of(&init).initiate_tag;
    assert_ne!(new_a, old_a);
    pair.deliver(&init);
    // A' <- INIT ACK (a new tag; the cookie holds the current tags as tie-tags) <- Z
    let ack = pair.transmit_one(Side::Z);
    let new_z = init_ack_of(&ack).initiate_tag;
    assert_ne!(new_z, old_z);
    let z = pair.assoc(Side::Z);
    assert_eq!((z.local_tag(), z.peer_tag()), (old_z, old_a), "not yet");
    pair.deliver(&ack);
    // A' -> COOKIE ECHO -> Z: both tags new, tie-tags match: the peer restarted.
    let echo = pair.transmit_one(Side::A);
    pair.deliver(&echo);
    // A' <- COOKIE ACK <- Z
    let cookie_ack = pair.transmit_one(Side::Z);
    assert_eq!(cookie_ack.types(), vec![t::COOKIE_ACK]);
    assert_eq!(cookie_ack.header().verification_tag, new_a);
    pair.deliver(&cookie_ack);
    assert_eq!(
        pair.handle(Side::Z),
        h,
        "the same association, not a new one"
    );
    assert_eq!(assert_one_association_up(&pair), (new_a, new_z));
    assert_eq!(pair.events(Side::Z), vec![Event::Restarted]);
    assert_eq!(pair.events(Side::A), vec![Event::Connected]);
}

/// The tie-tags make the restart: a cookie whose tie-tags are no longer Z's current tags
/// (another incarnation restarted the association in between) proves nothing and is
/// silently discarded.
#[test]
fn restart_needs_tie_tags_matching_the_current_tags() {
    let mut pair = Pair::established();
    // A crashes; A1 gets an INIT ACK whose tie-tags are the original tags...
    pair.a = rebooted(&pair, 101);
    pair.connect(Side::A);
    let init = pair.transmit_one(Side::A);
    pair.deliver(&init);
    let ack = pair.transmit_one(Side::Z);
    pair.deliver(&ack);
    // A1 -> COOKIE ECHO -> (held back) Z
    let late_echo = pair.transmit_one(Side::A);
    assert!(late_echo.is(t::COOKIE_ECHO));
    // ...and crashes again; A2 restarts the association first.
    pair.a = rebooted(&pair, 102);
    pair.connect(Side::A);
    pair.run(Duration::from_secs(1), &mut perfect);
    let current = assert_one_association_up(&pair);
    assert_eq!(pair.events(Side::Z), vec![Event::Restarted]);
    assert_eq!(pair.events(Side::A), vec![Event::Connected]);
    // A1's COOKIE ECHO arrives: its tie-tags are the original tags, not the current ones.
    pair.deliver(&late_echo);
    assert!(pair.transmit(Side::Z).is_empty(), "{}", pair.trace());
    assert_eq!(assert_one_association_up(&pair), current);
    assert!(pair.events(Side::Z).is_empty());
}

/// §5.2.4 A in SHUTDOWN-ACK-SENT: no restart; Z resends SHUTDOWN ACK with an ERROR "Cookie
/// Received While Shutting Down". The old association then finishes closing and the new
/// incarnation gets a fresh association.
#[test]
fn restart_while_in_shutdown_ack_sent_is_refused() {
    let mut pair = Pair::established();
    let (old_a, old_z) = assert_one_association_up(&pair);
    let h = pair.handle(Side::Z);
    // A's user shuts down: A -> SHUTDOWN -> (delayed) Z. Then A crashes.
    let now = pair.now;
    pair.assoc_mut(Side::A).shutdown(now);
    let shutdown = pair.transmit_one(Side::A);
    assert!(shutdown.is(t::SHUTDOWN));
    pair.a = rebooted(&pair, 103);
    // A' -> INIT -> Z (still ESTABLISHED);  A' <- INIT ACK (tie-tags: current tags) <- Z
    pair.connect(Side::A);
    let init = pair.transmit_one(Side::A);
    let new_a = init_of(&init).initiate_tag;
    pair.deliver(&init);
    let ack = pair.transmit_one(Side::Z);
    pair.deliver(&ack);
    // A' -> COOKIE ECHO -> (delayed) Z
    let echo = pair.transmit_one(Side::A);
    // The old SHUTDOWN arrives: Z -> SHUTDOWN ACK -> (lost); Z in SHUTDOWN-ACK-SENT.
    pair.deliver(&shutdown);
    let lost = pair.transmit_one(Side::Z);
    assert!(lost.is(t::SHUTDOWN_ACK));
    assert_eq!(pair.state(Side::Z), Some(State::ShutdownAckSent));
    assert_eq!(pair.events(Side::Z), vec![Event::ShutdownStarted]);
    // A' -> COOKIE ECHO -> Z: a restart (case A), refused while shutting down.
    pair.deliver(&echo);
    // Z resends its SHUTDOWN ACK under the tag of the association being shut down, and tells
    // the new incarnation, under its new tag, why it is not restarted.
    let replies = pair.transmit(Side::Z);
    assert_eq!(replies.len(), 2, "{}", pair.trace());
    assert_eq!(replies[0].types(), vec![t::SHUTDOWN_ACK]);
    assert_eq!(replies[0].header().verification_tag, old_a);
    assert_eq!(replies[1].types(), vec![t::ERROR]);
    assert_eq!(replies[1].header().verification_tag, new_a);
    assert_eq!(
        causes_of(&replies[1]),
        vec![ErrorCause::CookieReceivedWhileShuttingDown]
    );
    assert_eq!(pair.state(Side::Z), Some(State::ShutdownAckSent));
    let z = pair.assoc(Side::Z);
    assert_eq!((z.local_tag(), z.peer_tag()), (old_z, old_a));
    assert!(pair.events(Side::Z).is_empty(), "no Restarted");
    // The rest over a perfect network: A' (in COOKIE-ECHOED) takes the SHUTDOWN ACK as out
    // of the blue and answers SHUTDOWN COMPLETE with the old tag reflected, which closes the
    // old association at once; A', retransmitting its COOKIE ECHO, then gets a new
    // association, not a restarted one.
    for r in &replies {
        pair.deliver(r);
    }
    let (a_events, z_events) = run_draining(&mut pair, Duration::from_secs(10));
    assert_eq!(
        z_events,
        vec![Event::Closed(CloseReason::Shutdown), Event::Connected],
        "{}",
        pair.trace()
    );
    assert_eq!(
        a_events,
        vec![
            Event::PeerError(vec![ErrorCause::CookieReceivedWhileShuttingDown]),
            Event::Connected
        ],
        "{}",
        pair.trace()
    );
    let (a, _) = assert_one_association_up(&pair);
    assert_eq!(a, new_a);
    assert_ne!(pair.handle(Side::Z), h);
}

// ---------------------------------------------------------------- §5.2.4 B, C, D

/// §5.2.4 B: in COOKIE-ECHOED, A receives a cookie with its own tag but a peer tag it has
/// never used (Z2, from Z's own INIT, instead of Z1): A takes the new peer tag, stops T1,
/// enters ESTABLISHED and acknowledges.
#[test]
fn case_b_cookie_with_our_tag_and_a_new_peer_tag_resolves_the_collision() {
    let EchoedCollision {
        mut pair,
        ours,
        theirs,
        z1,
        init_ack,
        ..
    } = collide_in_cookie_echoed();
    let (ta, z2) = (ours.initiate_tag, theirs.initiate_tag);
    assert_eq!(pair.assoc(Side::A).peer_tag(), z1);
    // A -> INIT ACK -> Z;  A <- COOKIE ECHO (A's cookie: A's tag, peer tag Z2) <- Z
    pair.deliver(&init_ack);
    let echo = pair.transmit_one(Side::Z);
    assert_eq!(echo.types(), vec![t::COOKIE_ECHO]);
    assert_eq!(echo.header().verification_tag, ta);
    pair.deliver(&echo);
    let a = pair.assoc(Side::A);
    assert_eq!(a.state(), State::Established);
    assert_eq!((a.local_tag(), a.peer_tag()), (ta, z2));
    // T1-cookie stopped: the next timer is the first heartbeat, at least HB.interval away.
    let interval = pair.a.config().association.heartbeat_interval.unwrap();
    assert!(a.poll_timeout().unwrap() >= pair.now + interval);
    // A -> COOKIE ACK (Z2) -> Z
    let cookie_ack = pair.transmit_one(Side::A);
    assert_eq!(cookie_ack.types(), vec![t::COOKIE_ACK]);
    assert_eq!(cookie_ack.header().verification_tag, z2);
    pair.deliver(&cookie_ack);
    assert_eq!(assert_one_association_up(&pair), (ta, z2));
    assert_eq!(pair.events(Side::A), vec![Event::Connected]);
    assert_eq!(pair.events(Side::Z), vec![Event::Connected]);
    // The held COOKIE ECHO never arrives, and A never sends another.
    pair.run(Duration::from_secs(10), &mut perfect);
    assert_eq!(pair.sent_count(Side::A, t::COOKIE_ECHO), 1);
}

/// §5.2.4 C: after the collision above, A's first COOKIE ECHO (Z1's cookie: Z's tag is not
/// the current one, A's tag is, no tie-tags) finally reaches Z: silently discarded.
#[test]
fn case_c_late_cookie_echo_is_silently_discarded() {
    let EchoedCollision {
        mut pair,
        held_echo,
        init_ack,
        ..
    } = collide_in_cookie_echoed();
    pair.deliver(&init_ack);
    pair.run(Duration::from_secs(1), &mut perfect);
    let tags = assert_one_association_up(&pair);
    pair.events(Side::A);
    pair.events(Side::Z);
    // A -> (late) COOKIE ECHO -> Z
    pair.deliver(&held_echo);
    assert!(pair.transmit(Side::Z).is_empty(), "{}", pair.trace());
    assert_eq!(assert_one_association_up(&pair), tags);
    assert!(pair.events(Side::Z).is_empty());
}

/// A COOKIE ECHO from before a restart (captured during the first handshake) arrives after
/// the restart completed: it matches neither current tag and is silently discarded.
#[test]
fn cookie_echo_from_before_a_restart_is_silently_discarded() {
    let mut pair = Pair::new();
    pair.connect(Side::A);
    let init = pair.transmit_one(Side::A);
    pair.deliver(&init);
    let ack = pair.transmit_one(Side::Z);
    pair.deliver(&ack);
    // A -> COOKIE ECHO -> Z, and a copy kept back by the network
    let old_echo = pair.transmit_one(Side::A);
    pair.deliver(&old_echo);
    pair.run(Duration::from_secs(1), &mut perfect);
    assert_one_association_up(&pair);
    pair.events(Side::A);
    pair.events(Side::Z);
    // A restarts.
    pair.a = rebooted(&pair, 104);
    pair.connect(Side::A);
    pair.run(Duration::from_secs(1), &mut perfect);
    let tags = assert_one_association_up(&pair);
    assert_eq!(pair.events(Side::Z), vec![Event::Restarted]);
    pair.events(Side::A);
    // A -> (the old) COOKIE ECHO -> Z
    pair.deliver(&old_echo);
    assert!(pair.transmit(Side::Z).is_empty(), "{}", pair.trace());
    assert_eq!(assert_one_association_up(&pair), tags);
    assert!(pair.events(Side::Z).is_empty());
}

/// §5.2.4 D: the COOKIE ACK is lost; A's T1-cookie retransmits the COOKIE ECHO; Z finds both
/// its tags in it and acknowledges again, without a second association or event.
#[test]
fn case_d_duplicate_cookie_echo_after_lost_cookie_ack_is_acknowledged() {
    let mut pair = Pair::new();
    pair.connect(Side::A);
    let init = pair.transmit_one(Side::A);
    pair.deliver(&init);
    let ack = pair.transmit_one(Side::Z);
    pair.deliver(&ack);
    let echo = pair.transmit_one(Side::A);
    pair.deliver(&echo);
    // A <- COOKIE ACK <- (lost) Z
    let lost = pair.transmit_one(Side::Z);
    assert!(lost.is(t::COOKIE_ACK));
    assert_eq!(pair.events(Side::Z), vec![Event::Connected]);
    let h = pair.handle(Side::Z);
    // T1-cookie: A -> COOKIE ECHO (the same cookie) -> Z
    let t1 = pair.assoc(Side::A).poll_timeout().unwrap();
    pair.advance(t1 - pair.now);
    let again = pair.transmit_one(Side::A);
    assert_eq!(again.types(), vec![t::COOKIE_ECHO]);
    assert_eq!(echoed_cookie(&again), echoed_cookie(&echo));
    pair.deliver(&again);
    // A <- COOKIE ACK <- Z
    let cookie_ack = pair.transmit_one(Side::Z);
    assert_eq!(cookie_ack.types(), vec![t::COOKIE_ACK]);
    assert_eq!(
        cookie_ack.header().verification_tag,
        init_of(&init).initiate_tag
    );
    assert_eq!(pair.handle(Side::Z), h);
    assert!(pair.events(Side::Z).is_empty(), "no second Connected");
    pair.deliver(&cookie_ack);
    assert_one_association_up(&pair);
    assert_eq!(pair.events(Side::A), vec![Event::Connected]);
}

// ---------------------------------------------------------------- §5.2.6 stale cookies

/// §5.2.6: the COOKIE ECHO spends 400 ms in the network and Z's cookies live 100 ms: Z
/// reports how stale it was; A starts over with an INIT carrying a Cookie Preservative, and
/// the same slow network then completes the handshake.
#[test]
fn stale_cookie_then_init_with_cookie_preservative_completes() {
    let lifetime = Duration::from_millis(100);
    let delay = Duration::from_millis(400);
    let mut pair = short_cookie_pair(lifetime, Duration::from_secs(10));
    pair.connect(Side::A);
    // A -> INIT -> Z;  A <- INIT ACK <- Z
    let init = pair.transmit_one(Side::A);
    let ta = init_of(&init).initiate_tag;
    pair.deliver(&init);
    let ack = pair.transmit_one(Side::Z);
    let issued = pair.now;
    pair.deliver(&ack);
    // A -> COOKIE ECHO -> (400 ms) Z
    let echo = pair.transmit_one(Side::A);
    pair.advance(delay);
    pair.deliver(&echo);
    let overshoot = pair.now - (issued + lifetime);
    // A <- ERROR (Stale Cookie) <- Z, and no association
    let error = pair.transmit_one(Side::Z);
    assert_eq!(error.types(), vec![t::ERROR]);
    assert_eq!(error.header().verification_tag, ta);
    let staleness_us = match causes_of(&error)[..] {
        [ErrorCause::StaleCookie(StaleCookie { staleness_us })] => staleness_us,
        ref other => panic!("{other:?}"),
    };
    let off = (i128::from(staleness_us) - overshoot.as_micros() as i128).abs();
    assert!(
        off <= 1000,
        "staleness {staleness_us} µs, overshoot {overshoot:?}"
    );
    assert_eq!(pair.z.association_count(), 0);
    assert_eq!(pair.z.stats().stale_cookies, 1);
    // A starts over: A -> INIT (Cookie Preservative) -> Z
    pair.deliver(&error);
    assert_eq!(pair.state(Side::A), Some(State::CookieWait));
    let init2 = pair.transmit_one(Side::A);
    assert_eq!(init2.header().verification_tag, 0);
    let preservative_ms = init_of(&init2)
        .params
        .iter()
        .find_map(|p| match p {
            Parameter::CookiePreservative(ms) => Some(*ms),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no Cookie Preservative in {init2}"));
    // At least what the cookie lacked, at most 1 s beyond the measured round trip (§5.2.6).
    assert!(u64::from(preservative_ms) * 1000 >= u64::from(staleness_us));
    assert!(u128::from(preservative_ms) <= delay.as_millis() + 1000);
    // The same slow path now works.
    pair.deliver(&init2);
    let ack2 = pair.transmit_one(Side::Z);
    pair.deliver(&ack2);
    let echo2 = pair.transmit_one(Side::A);
    pair.advance(delay);
    pair.deliver(&echo2);
    let cookie_ack = pair.transmit_one(Side::Z);
    assert_eq!(cookie_ack.types(), vec![t::COOKIE_ACK], "{}", pair.trace());
    pair.deliver(&cookie_ack);
    assert_one_association_up(&pair);
    assert_eq!(
        pair.events(Side::A),
        vec![
            Event::PeerError(vec![ErrorCause::StaleCookie(StaleCookie { staleness_us })]),
            Event::Connected
        ]
    );
    assert_eq!(pair.events(Side::Z), vec![Event::Connected]);
}

/// §5.2.6: a peer that keeps answering "Stale Cookie" (it ignores the preservative, and every
/// COOKIE ECHO is slow): A gives up after Max.Init.Retransmits new INITs.
#[test]
fn peer_that_keeps_answering_stale_cookie_makes_a_give_up() {
    let mut pair = short_cookie_pair(Duration::from_millis(100), Duration::ZERO);
    let max = 3;
    pair.connect_with(
        Side::A,
        AssociationConfig {
            max_init_retransmits: max,
            ..Default::default()
        },
    );
    pair.run(Duration::from_secs(30), &mut |sent, _| {
        if sent.is(t::COOKIE_ECHO) {
            Fate::Delay(Duration::from_millis(400))
        } else {
            Fate::Deliver
        }
    });
    let events = pair.events(Side::A);
    let tries = max as usize + 1;
    // One INIT, then one new INIT per Stale Cookie error but the last: 1 + max.
    assert_eq!(pair.sent_count(Side::A, t::INIT), tries, "{}", pair.trace());
    assert_eq!(pair.sent_count(Side::A, t::COOKIE_ECHO), tries);
    assert_eq!(pair.z.stats().stale_cookies, tries as u64);
    // Every error is reported, and the association closes because of them.
    let stale = events
        .iter()
        .filter(
            |e| matches!(e, Event::PeerError(c) if matches!(c[..], [ErrorCause::StaleCookie(_)])),
        )
        .count();
    assert_eq!(stale, tries, "{events:?}");
    assert!(
        events.contains(&Event::Closed(CloseReason::StaleCookie)),
        "{events:?}"
    );
    assert_eq!(events.len(), tries + 1, "{events:?}");
    // Closed is the last thing the user hears of the association: the error that caused it
    // comes before it.
    assert_eq!(
        events.last(),
        Some(&Event::Closed(CloseReason::StaleCookie)),
        "{events:?}"
    );
    assert_eq!(pair.z.association_count(), 0);
}

/// §5.2.4 step 3: a stale cookie gets a "Stale Cookie" error only when its tag is not the
/// association's current tag. The retransmission of the very COOKIE ECHO that created the
/// association (its COOKIE ACK lost, the cookie expired meanwhile) is processed as usual:
/// case D, COOKIE ACK.
#[test]
fn stale_duplicate_cookie_echo_of_the_current_association_is_acknowledged() {
    let mut pair = short_cookie_pair(Duration::from_millis(100), Duration::from_secs(10));
    pair.connect(Side::A);
    let init = pair.transmit_one(Side::A);
    pair.deliver(&init);
    let ack = pair.transmit_one(Side::Z);
    pair.deliver(&ack);
    let echo = pair.transmit_one(Side::A);
    pair.deliver(&echo);
    // A <- COOKIE ACK <- (lost) Z
    let lost = pair.transmit_one(Side::Z);
    assert!(lost.is(t::COOKIE_ACK));
    assert_eq!(pair.events(Side::Z), vec![Event::Connected]);
    // T1-cookie (1 s, the cookie expired 900 ms ago): A -> COOKIE ECHO -> Z
    let t1 = pair.assoc(Side::A).poll_timeout().unwrap();
    pair.advance(t1 - pair.now);
    let again = pair.transmit_one(Side::A);
    assert!(again.is(t::COOKIE_ECHO));
    pair.deliver(&again);
    // A <- COOKIE ACK <- Z, not a Stale Cookie error
    let reply = pair.transmit_one(Side::Z);
    assert_eq!(reply.types(), vec![t::COOKIE_ACK], "{}", pair.trace());
    pair.deliver(&reply);
    assert_one_association_up(&pair);
    assert_eq!(pair.events(Side::A), vec![Event::Connected]);
    assert!(pair.events(Side::Z).is_empty());
}

// ---------------------------------------------------------------- forged and foreign cookies

/// §5.1.5 / §5.2.4 step 2: a cookie with any byte changed fails authentication: nothing is
/// sent back and no association is created. The genuine cookie still works afterwards.
#[test]
fn forged_cookie_is_silently_discarded() {
    let mut pair = Pair::new();
    pair.connect(Side::A);
    let init = pair.transmit_one(Side::A);
    pair.deliver(&init);
    let ack = pair.transmit_one(Side::Z);
    pair.deliver(&ack);
    let echo = pair.transmit_one(Side::A);
    let tag = echo.header().verification_tag;
    let cookie = echoed_cookie(&echo);
    for i in 0..cookie.len() {
        // A -> COOKIE ECHO (byte i of the cookie flipped) -> Z
        let mut forged = cookie.to_vec();
        forged[i] ^= 0x01;
        let before = pair.z.stats().cookies_rejected;
        pair.deliver_bytes(Side::Z, cookie_echo_packet(tag, Bytes::from(forged)));
        assert!(pair.transmit(Side::Z).is_empty(), "byte {i}");
        assert_eq!(pair.z.association_count(), 0, "byte {i}");
        assert_eq!(pair.z.stats().cookies_rejected, before + 1, "byte {i}");
    }
    assert!(pair.events(Side::Z).is_empty());
    // A -> COOKIE ECHO (genuine) -> Z
    pair.deliver(&echo);
    let cookie_ack = pair.transmit_one(Side::Z);
    assert!(cookie_ack.is(t::COOKIE_ACK));
    pair.deliver(&cookie_ack);
    assert_one_association_up(&pair);
}

/// A cookie made by a third endpoint (other secrets) and echoed to Z: Z cannot authenticate
/// it and ignores it.
#[test]
fn cookie_from_another_endpoint_is_silently_discarded() {
    let mut pair = Pair::new();
    pair.connect(Side::A);
    let init = pair.transmit_one(Side::A);
    // A -> INIT -> M, a third endpoint with another seed; M -> INIT ACK
    let mut m = Endpoint::new(
        pair.now,
        EndpointConfig {
            port: PORT,
            rng_seed: 77,
            ..Default::default()
        },
    );
    m.handle_datagram(pair.now, pair.a_addr, init.bytes.clone());
    let mut buf = Vec::new();
    let tx = m.poll_transmit(pair.now, &mut buf).expect("M answers");
    let m_ack = Sent {
        from: Side::Z,
        bytes: Bytes::copy_from_slice(&buf[buf.len() - tx.len..]),
    };
    let m_value = init_ack_of(&m_ack);
    // M's cookie -> Z, with the tag M chose
    let before = pair.z.stats();
    pair.deliver_bytes(
        Side::Z,
        cookie_echo_packet(m_value.initiate_tag, state_cookie(&m_value)),
    );
    assert!(pair.transmit(Side::Z).is_empty(), "{}", pair.trace());
    assert_eq!(pair.z.association_count(), 0);
    assert_eq!(pair.z.stats().cookies_rejected, before.cookies_rejected + 1);
    assert_eq!(pair.z.stats().accepted, before.accepted);
    assert!(pair.events(Side::Z).is_empty());
    // Z still serves A's real handshake.
    pair.deliver(&init);
    pair.run(Duration::from_secs(1), &mut perfect);
    assert_one_association_up(&pair);
}

// ---------------------------------------------------------------- §5.2.3, §5.2.5

/// §5.2.3: an INIT ACK in any state but COOKIE-WAIT is discarded: a duplicate in
/// COOKIE-ECHOED starts no second COOKIE ECHO, and one in ESTABLISHED changes nothing.
#[test]
fn unexpected_init_ack_is_discarded() {
    let mut pair = Pair::new();
    pair.connect(Side::A);
    let init = pair.transmit_one(Side::A);
    pair.deliver(&init);
    let ack = pair.transmit_one(Side::Z);
    pair.deliver(&ack);
    let echo = pair.transmit_one(Side::A);
    let t1 = pair.assoc(Side::A).poll_timeout();
    // A (COOKIE-ECHOED) <- INIT ACK (duplicate) <- Z
    pair.deliver(&ack);
    assert!(pair.transmit(Side::A).is_empty(), "{}", pair.trace());
    assert_eq!(pair.state(Side::A), Some(State::CookieEchoed));
    assert_eq!(pair.assoc(Side::A).poll_timeout(), t1);
    // The handshake goes on.
    pair.deliver(&echo);
    let cookie_ack = pair.transmit_one(Side::Z);
    pair.deliver(&cookie_ack);
    let tags = assert_one_association_up(&pair);
    pair.events(Side::A);
    pair.events(Side::Z);
    // A (ESTABLISHED) <- INIT ACK (another copy, 2 s late) <- Z
    pair.advance(Duration::from_secs(2));
    pair.deliver(&ack);
    assert!(pair.transmit(Side::A).is_empty(), "{}", pair.trace());
    assert_eq!(assert_one_association_up(&pair), tags);
    assert!(pair.events(Side::A).is_empty());
}

/// §5.2.5: a COOKIE ACK in any state but COOKIE-ECHOED is discarded: in COOKIE-WAIT it does
/// not establish anything, and a duplicate in ESTABLISHED gives no second Connected.
#[test]
fn unexpected_cookie_ack_is_discarded() {
    let mut pair = Pair::new();
    pair.connect(Side::A);
    let init = pair.transmit_one(Side::A);
    let ta = init_of(&init).initiate_tag;
    // A (COOKIE-WAIT) <- COOKIE ACK (with A's tag) <- ?
    pair.deliver_bytes(Side::A, harness::packet(ta, &[Chunk::CookieAck]));
    assert_eq!(pair.state(Side::A), Some(State::CookieWait));
    assert!(pair.transmit(Side::A).is_empty());
    assert!(pair.events(Side::A).is_empty());
    // The handshake goes on.
    pair.deliver(&init);
    let ack = pair.transmit_one(Side::Z);
    pair.deliver(&ack);
    let echo = pair.transmit_one(Side::A);
    pair.deliver(&echo);
    let cookie_ack = pair.transmit_one(Side::Z);
    pair.deliver(&cookie_ack);
    let tags = assert_one_association_up(&pair);
    assert_eq!(pair.events(Side::A), vec![Event::Connected]);
    // A (ESTABLISHED) <- COOKIE ACK (duplicate) <- Z
    pair.deliver(&cookie_ack);
    assert!(pair.transmit(Side::A).is_empty());
    assert_eq!(assert_one_association_up(&pair), tags);
    assert!(pair.events(Side::A).is_empty(), "no second Connected");
}
