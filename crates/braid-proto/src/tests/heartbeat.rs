//! Path heartbeats and failure detection (RFC 9260 §8.1, §8.2, §8.3) and the RTO they
//! measure (§6.3.1), on an idle association in virtual time.
//!
//! The harness wire has a fixed one-way delay of 10 ms, so every RTT sample is exactly 20 ms.

use core::time::Duration;
use std::time::Instant;

use braid_wire::chunk::chunk_type as t;
use braid_wire::{Chunk, Heartbeat};

use crate::harness::{packet, perfect, Fate, Network, Pair, Sent, Side};
use crate::{AssociationConfig, CloseReason, EndpointConfig, Event, PathId, State};

const INTERVAL: Duration = Duration::from_secs(30);
const RTT: Duration = Duration::from_millis(20);

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// An endpoint configuration whose associations use `association`.
pub(super) fn endpoint(association: AssociationConfig) -> EndpointConfig {
    EndpointConfig {
        association,
        ..Default::default()
    }
}

/// Like [`Pair::established`], with configurations, and also returning the pair's start
/// instant, which the packet log's times are relative to.
pub(super) fn established_with(a: EndpointConfig, z: EndpointConfig) -> (Pair, Instant) {
    let mut pair = Pair::with_config(a, z);
    let start = pair.now;
    pair.connect(Side::A);
    pair.run(secs(1), &mut perfect);
    for side in [Side::A, Side::Z] {
        assert_eq!(
            pair.state(side),
            Some(State::Established),
            "{}",
            pair.trace()
        );
        assert_eq!(pair.events(side), vec![Event::Connected]);
    }
    (pair, start)
}

/// An event and when the harness saw it.
pub(super) type Stamped = (Instant, Side, Event);

/// Runs the pair over `net` for `limit` and returns every event stamped with the instant it
/// happened. Steps end at every timer, so timer-driven events are stamped exactly; while
/// packets may be in flight the steps are at most 1 ms long.
pub(super) fn run_stamped(pair: &mut Pair, limit: Duration, net: &mut Network<'_>) -> Vec<Stamped> {
    let end = pair.now + limit;
    let mut out = Vec::new();
    // Packets from earlier runs may still be in flight.
    let mut busy_until = pair.now + pair.delay + ms(1);
    while pair.now < end {
        let timer = [pair.a.poll_timeout(), pair.z.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(end);
        let mut target = timer.min(end);
        if pair.now < busy_until {
            target = target.min(pair.now + ms(1));
        }
        if target <= pair.now {
            target = pair.now + Duration::from_micros(1);
        }
        let mut delivered = false;
        pair.run(target - pair.now, &mut |sent, n| {
            let fate = net(sent, n);
            if !matches!(fate, Fate::Drop) {
                delivered = true;
            }
            fate
        });
        if delivered {
            busy_until = pair.now + pair.delay + ms(1);
        }
        for side in [Side::A, Side::Z] {
            for e in pair.events(side) {
                out.push((pair.now, side, e));
            }
        }
    }
    out
}

/// When `side` sent packets whose first chunk has type `ty`, relative to `since`.
pub(super) fn sent_times(
    pair: &Pair,
    start: Instant,
    since: Instant,
    side: Side,
    ty: u8,
) -> Vec<Duration> {
    let base = since - start;
    pair.log
        .iter()
        .filter(|(at, s)| s.from == side && s.is(ty) && *at >= base)
        .map(|(at, _)| *at - base)
        .collect()
}

/// Consecutive differences.
pub(super) fn gaps(times: &[Duration]) -> Vec<Duration> {
    times.windows(2).map(|w| w[1] - w[0]).collect()
}

/// Whether `gap` lies in [HB.interval + RTO/2, HB.interval + 3·RTO/2], the §8.3 window.
fn in_heartbeat_window(gap: Duration, rto: Duration) -> bool {
    gap >= INTERVAL + rto / 2 && gap <= INTERVAL + rto * 3 / 2
}

/// Drops everything `from` sends.
fn silence(from: Side) -> impl FnMut(&Sent, usize) -> Fate {
    move |sent, _| {
        if sent.from == from {
            Fate::Drop
        } else {
            Fate::Deliver
        }
    }
}

/// RFC 9260 §6.3.1 in integer nanoseconds, written out independently of the core: C2 for
/// the first sample, C3 (RTO.Alpha = 1/8, RTO.Beta = 1/4) after, RTTVAR of 0 becomes
/// G = 1 ms, then RTO = SRTT + 4·RTTVAR clamped to [RTO.Min, RTO.Max].
struct RfcRto {
    srtt: Option<u128>,
    rttvar: u128,
    min: u128,
    max: u128,
}

impl RfcRto {
    fn new(min: Duration, max: Duration) -> Self {
        Self {
            srtt: None,
            rttvar: 0,
            min: min.as_nanos(),
            max: max.as_nanos(),
        }
    }

    fn sample(&mut self, r: Duration) {
        let r = r.as_nanos();
        match self.srtt {
            None => {
                self.srtt = Some(r);
                self.rttvar = r / 2;
            }
            Some(srtt) => {
                self.rttvar = self.rttvar * 3 / 4 + srtt.abs_diff(r) / 4;
                self.srtt = Some(srtt * 7 / 8 + r / 8);
            }
        }
        if self.rttvar == 0 {
            self.rttvar = ms(1).as_nanos();
        }
    }

    fn srtt(&self) -> Duration {
        nanos(self.srtt.unwrap_or(0))
    }

    fn rto(&self) -> Duration {
        nanos((self.srtt.unwrap_or(0) + 4 * self.rttvar).clamp(self.min, self.max))
    }
}

fn nanos(n: u128) -> Duration {
    Duration::from_nanos(u64::try_from(n).unwrap())
}

/// A and Z idle for ten heartbeat periods with the default configuration: HEARTBEATs go out
/// every RTO + HB.interval ± RTO/2 (§8.3), each is answered, SRTT settles on the round trip
/// and the RTO stays clamped at RTO.Min = 1 s (§6.3.1 C6).
#[test]
fn idle_association_heartbeats_every_rto_plus_interval() {
    let (mut pair, start) = established_with(EndpointConfig::default(), EndpointConfig::default());
    // A -> INIT -> Z, A <- INIT ACK <- Z, A -> COOKIE ECHO -> Z, A <- COOKIE ACK <- Z:
    // Z is up at 30 ms, A at 40 ms; the heartbeat timers start there.
    let up = [(Side::A, ms(40)), (Side::Z, ms(30))];
    let a = pair.assoc(Side::A);
    assert_eq!(a.srtt(a.primary_path()), Some(RTT), "handshake RTT samples");
    assert_eq!(a.rto(a.primary_path()), Some(secs(1)));

    // A -> HEARTBEAT -> Z, A <- HEARTBEAT ACK <- Z, every half minute, both ways.
    pair.run(secs(320), &mut perfect);

    for (side, up_at) in up {
        let hbs = sent_times(&pair, start, start, side, t::HEARTBEAT);
        assert!(hbs.len() >= 9, "{side:?} sent {} heartbeats", hbs.len());
        // RTO is 1 s throughout (clamped), so each wait is in [30.5 s, 31.5 s].
        let first = hbs[0] - up_at;
        assert!(
            in_heartbeat_window(first, secs(1)),
            "{side:?} first after {first:?}"
        );
        let g = gaps(&hbs);
        for gap in &g {
            assert!(
                in_heartbeat_window(*gap, secs(1)),
                "{side:?} gap {gap:?} in {g:?}"
            );
        }
        // The jitter is random, not a constant.
        assert!(g.iter().any(|x| *x != g[0]), "no jitter: {g:?}");
        // Every HEARTBEAT is answered (bar one still in flight at the end).
        let acks = pair.sent_count(side.other(), t::HEARTBEAT_ACK);
        assert!(
            acks + 1 >= hbs.len(),
            "{side:?}: {} heartbeats, {acks} acks",
            hbs.len()
        );
        let assoc = pair.assoc(side);
        let stats = assoc.stats();
        assert_eq!(stats.heartbeats_sent, hbs.len() as u64);
        assert!(
            stats.heartbeat_acks + 1 >= stats.heartbeats_sent,
            "{stats:?}"
        );
        let path = assoc.primary_path();
        assert_eq!(assoc.srtt(path), Some(RTT), "{side:?} SRTT");
        assert_eq!(
            assoc.rto(path),
            Some(secs(1)),
            "{side:?} RTO clamped to RTO.Min"
        );
        assert_eq!(assoc.state(), State::Established);
    }
    assert!(pair.events(Side::A).is_empty());
    assert!(pair.events(Side::Z).is_empty());
}

/// With RTO.Min = 10 ms nothing clamps, and after every HEARTBEAT ACK the RTO is exactly
/// SRTT + 4·RTTVAR as §6.3.1 computes it from the samples so far (two from A's handshake,
/// then one per heartbeat), and each heartbeat waits HB.interval + RTO ± RTO/2 with the RTO
/// in force when it was scheduled.
#[test]
fn rto_follows_rfc_formula_with_small_rto_min() {
    let config = AssociationConfig {
        rto_min: ms(10),
        ..Default::default()
    };
    let (mut pair, start) = established_with(endpoint(config.clone()), endpoint(config.clone()));
    let mut model = RfcRto::new(config.rto_min, config.rto_max);
    // A's handshake: INIT -> INIT ACK and COOKIE ECHO -> COOKIE ACK, 20 ms each.
    model.sample(RTT);
    model.sample(RTT);
    let path = pair.assoc(Side::A).primary_path();
    assert_eq!(pair.assoc(Side::A).srtt(path), Some(model.srtt()));
    assert_eq!(pair.assoc(Side::A).rto(path), Some(model.rto()));
    // SRTT 20 ms, RTTVAR 7.5 ms: 50 ms, well under the default RTO.Min of 1 s.
    assert_eq!(model.rto(), ms(50));

    // RTO in force after each of A's RTT samples: [after the handshake, after ack 1, ...].
    let mut rtos = vec![model.rto()];
    let mut acked = 0;
    while acked < 8 {
        pair.run(secs(1), &mut perfect);
        let assoc = pair.assoc(Side::A);
        let now_acked = assoc.stats().heartbeat_acks;
        assert!(now_acked <= acked + 1, "two acks in one second?");
        if now_acked == acked + 1 {
            acked = now_acked;
            // A -> HEARTBEAT -> Z, A <- HEARTBEAT ACK <- Z: one more 20 ms sample.
            model.sample(RTT);
            assert_eq!(assoc.srtt(path), Some(RTT), "SRTT after ack {acked}");
            assert_eq!(
                assoc.rto(path),
                Some(model.rto()),
                "RTO = SRTT + 4·RTTVAR after ack {acked}"
            );
            rtos.push(model.rto());
        }
        assert!(
            pair.now - start < secs(600),
            "heartbeats stopped: {}",
            pair.trace()
        );
    }
    // RTTVAR decays by 3/4 per identical sample; the RTO heads down towards SRTT.
    assert!(rtos.windows(2).all(|w| w[1] < w[0]), "{rtos:?}");
    assert!(
        model.rto() < ms(30) && model.rto() > RTT,
        "{:?}",
        model.rto()
    );

    // Heartbeat k+1 was scheduled when heartbeat k went out, with the RTO after ack k-1.
    let hbs = sent_times(&pair, start, start, Side::A, t::HEARTBEAT);
    let first = hbs[0] - ms(40);
    assert!(in_heartbeat_window(first, rtos[0]), "first after {first:?}");
    for (k, gap) in gaps(&hbs).iter().enumerate().take(acked as usize) {
        assert!(
            in_heartbeat_window(*gap, rtos[k]),
            "gap {k}: {gap:?} with RTO {:?}",
            rtos[k]
        );
    }
}

/// Which part of the Heartbeat Info a middlebox (or an attacker) alters.
#[derive(Debug, Clone, Copy)]
enum Tamper {
    Nonce,
    Time,
}

/// Z's HEARTBEAT ACKs come back with the nonce or the send time altered (and the packet
/// rebuilt with a valid checksum): A must not take them as answers (§8.3: the nonce and time
/// must match what was sent). So no RTT sample, no reset of the error counters, and after
/// Path.Max.Retrans + 1 "unanswered" heartbeats the path is reported inactive.
#[test]
fn tampered_heartbeat_ack_is_ignored() {
    for tamper in [Tamper::Nonce, Tamper::Time] {
        let (mut pair, _) = established_with(EndpointConfig::default(), EndpointConfig::default());
        let mut rewritten = 0;
        let mut net = |sent: &Sent, _: usize| {
            if sent.from != Side::Z || !sent.is(t::HEARTBEAT_ACK) {
                return Fate::Deliver;
            }
            // A <- HEARTBEAT ACK (altered) <- Z
            rewritten += 1;
            let chunks: Vec<Chunk> = sent
                .chunks()
                .into_iter()
                .map(|c| match c {
                    Chunk::HeartbeatAck(hb) => {
                        let mut info = hb.info.to_vec();
                        match tamper {
                            // Heartbeat Info: path u16, reserved u16, nonce u64, time u64.
                            Tamper::Nonce => info[11] ^= 1,
                            Tamper::Time => {
                                let us = u64::from_be_bytes(info[12..20].try_into().unwrap());
                                let forged = us.wrapping_sub(5_000_000);
                                info[12..20].copy_from_slice(&forged.to_be_bytes());
                            }
                        }
                        Chunk::HeartbeatAck(Heartbeat { info: info.into() })
                    }
                    other => other,
                })
                .collect();
            Fate::Rewrite(packet(sent.header().verification_tag, &chunks))
        };
        let events = run_stamped(&mut pair, secs(400), &mut net);
        assert!(rewritten >= 6, "{tamper:?}: {rewritten} rewritten");
        let a = pair.assoc(Side::A);
        assert_eq!(
            a.stats().heartbeat_acks,
            0,
            "{tamper:?}: an altered ack was accepted"
        );
        assert!(a.stats().heartbeats_sent >= 6);
        // Only the handshake's samples: a forged time would have made SRTT jump by 5 s.
        assert_eq!(a.srtt(a.primary_path()), Some(RTT), "{tamper:?}");
        let a_events: Vec<&Event> = events
            .iter()
            .filter(|(_, s, _)| *s == Side::A)
            .map(|(_, _, e)| e)
            .collect();
        assert_eq!(
            a_events,
            vec![&Event::PathStatus {
                path: PathId(0),
                active: false
            }],
            "{tamper:?}"
        );
        // Z's own heartbeats were answered untouched: its path is fine.
        let z = pair.assoc(Side::Z);
        assert!(z.stats().heartbeat_acks >= 6, "{:?}", z.stats());
        assert!(events.iter().all(|(_, s, _)| *s == Side::A));
    }
}

/// Everything Z sends is lost: the RTO doubles with each unanswered HEARTBEAT (§8.3), the
/// path goes inactive once its error count exceeds Path.Max.Retrans (5, §8.2) and the
/// association closes Unreachable once its count exceeds Association.Max.Retrans (10, §8.1),
/// that is after the 6th and the 11th unanswered HEARTBEAT respectively.
#[test]
fn unanswered_heartbeats_make_the_path_inactive_then_the_peer_unreachable() {
    let (mut pair, start) = established_with(EndpointConfig::default(), EndpointConfig::default());
    let from = pair.now;
    // A -> HEARTBEAT -> Z, A <- HEARTBEAT ACK <- (lost) Z, again and again.
    let events = run_stamped(&mut pair, secs(1200), &mut silence(Side::Z));
    let hbs = sent_times(&pair, start, start, Side::A, t::HEARTBEAT);
    let a_events: Vec<(Duration, &Event)> = events
        .iter()
        .filter(|(_, s, _)| *s == Side::A)
        .map(|(at, _, e)| (*at - start, e))
        .collect();
    assert_eq!(hbs.len(), 11, "HEARTBEATs: {hbs:?}\n{a_events:?}");
    // The waits grow with the backed-off RTO: 1, 2, 4, ... s, capped at RTO.Max = 60 s.
    for (k, gap) in gaps(&hbs).iter().enumerate() {
        let rto = (secs(1) * (1 << k)).min(secs(60));
        assert!(
            in_heartbeat_window(*gap, rto),
            "gap {k}: {gap:?}, RTO {rto:?}"
        );
    }
    assert_eq!(a_events.len(), 2, "{a_events:?}");
    let (inactive_at, inactive) = a_events[0];
    assert_eq!(
        inactive,
        &Event::PathStatus {
            path: PathId(0),
            active: false
        }
    );
    // The 6th unanswered heartbeat does it: after it went out, before the 7th answered
    // nothing either.
    assert!(
        inactive_at > hbs[5] && inactive_at <= hbs[6],
        "inactive at {inactive_at:?}, HEARTBEATs {hbs:?}"
    );
    let (closed_at, closed) = a_events[1];
    assert_eq!(closed, &Event::Closed(CloseReason::Unreachable));
    // The 11th: no later than the 12th would have gone out.
    let latest = hbs[10] + INTERVAL + secs(60) * 3 / 2;
    assert!(
        closed_at > hbs[10] && closed_at <= latest,
        "closed at {closed_at:?}, HEARTBEATs {hbs:?}"
    );
    assert!(closed_at - (from - start) < secs(1200));
}

/// The same silence, timed to the letter of §8.3 / §8.1: a HEARTBEAT counts as unanswered
/// when it is "not acknowledged within one RTO" (the RTO it was sent with). So the path goes
/// inactive one RTO after the 6th HEARTBEAT (32 s: 1 s doubled five times) and the
/// association closes one RTO after the 11th (60 s, RTO.Max) — not when the next heartbeat
/// would be due, up to HB.interval + 1.5·RTO later.
#[test]
fn unanswered_heartbeat_counts_one_rto_after_it_was_sent() {
    let (mut pair, start) = established_with(EndpointConfig::default(), EndpointConfig::default());
    let events = run_stamped(&mut pair, secs(1200), &mut silence(Side::Z));
    let hbs = sent_times(&pair, start, start, Side::A, t::HEARTBEAT);
    let a_events: Vec<(Duration, &Event)> = events
        .iter()
        .filter(|(_, s, _)| *s == Side::A)
        .map(|(at, _, e)| (*at - start, e))
        .collect();
    assert!(hbs.len() >= 11, "{hbs:?}");
    let inactive = Event::PathStatus {
        path: PathId(0),
        active: false,
    };
    let closed = Event::Closed(CloseReason::Unreachable);
    let expected = vec![
        (hbs[5] + secs(32), &inactive),
        (hbs[10] + secs(60), &closed),
    ];
    assert_eq!(a_events, expected, "HEARTBEATs sent at {hbs:?}");
}

/// The network fails long enough for A's path to go inactive, then heals before
/// Association.Max.Retrans: the next HEARTBEAT ACK marks the path active again (§8.2),
/// resets the RTO from SRTT and clears both error counters (§8.3) — so when the network
/// fails again, it takes the full 6 and 11 unanswered HEARTBEATs again.
#[test]
fn heartbeats_resume_and_counters_reset_after_the_network_heals() {
    let (mut pair, start) = established_with(EndpointConfig::default(), EndpointConfig::default());
    let inactive = Event::PathStatus {
        path: PathId(0),
        active: false,
    };
    let active = Event::PathStatus {
        path: PathId(0),
        active: true,
    };
    let a_only = |events: Vec<Stamped>| -> Vec<(Duration, Event)> {
        events
            .into_iter()
            .filter(|(_, s, _)| *s == Side::A)
            .map(|(at, _, e)| (at - start, e))
            .collect()
    };

    // Partition 1: A -> HEARTBEAT -> Z, A <- HEARTBEAT ACK <- (lost) Z, seven times.
    let p1 = pair.now;
    let mut seen = Vec::new();
    while sent_times(&pair, start, p1, Side::A, t::HEARTBEAT).len() < 7 {
        seen.extend(a_only(run_stamped(
            &mut pair,
            secs(1),
            &mut silence(Side::Z),
        )));
        assert!(pair.now - p1 < secs(900));
    }
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].1, inactive);
    let path = pair.assoc(Side::A).primary_path();
    assert_eq!(pair.assoc(Side::A).rto(path), Some(secs(60)), "backed off");

    // Healed: the 8th HEARTBEAT is answered.
    let healed = pair.now;
    let mut seen = Vec::new();
    while pair.assoc(Side::A).stats().heartbeat_acks == 0 {
        seen.extend(a_only(run_stamped(&mut pair, secs(1), &mut perfect)));
        assert!(pair.now - healed < secs(300));
    }
    seen.extend(a_only(run_stamped(&mut pair, secs(1), &mut perfect)));
    assert_eq!(
        seen.iter().map(|(_, e)| e).collect::<Vec<_>>(),
        vec![&active]
    );
    let a = pair.assoc(Side::A);
    assert_eq!(a.srtt(path), Some(RTT));
    assert_eq!(
        a.rto(path),
        Some(secs(1)),
        "RTO recomputed from SRTT, clamped"
    );
    assert_eq!(a.state(), State::Established);
    // Heartbeats resume at the normal pace: the next one was scheduled with the backed-off
    // RTO (60 s) when the answered one went out; from there on the RTO is 1 s again.
    let calm = pair.now;
    let events = a_only(run_stamped(&mut pair, secs(300), &mut perfect));
    assert!(events.is_empty(), "{events:?}");
    let hbs = sent_times(&pair, start, calm, Side::A, t::HEARTBEAT);
    assert!(hbs.len() >= 6, "{hbs:?}");
    for gap in gaps(&hbs) {
        assert!(in_heartbeat_window(gap, secs(1)), "{gap:?}");
    }

    // Partition 2: the counters start from zero again.
    let p2 = pair.now;
    let events = a_only(run_stamped(&mut pair, secs(1200), &mut silence(Side::Z)));
    let hbs = sent_times(&pair, start, p2, Side::A, t::HEARTBEAT);
    assert_eq!(
        hbs.len(),
        11,
        "{hbs:?}: the association counter was not reset"
    );
    let kinds: Vec<&Event> = events.iter().map(|(_, e)| e).collect();
    assert_eq!(
        kinds,
        vec![&inactive, &Event::Closed(CloseReason::Unreachable)],
        "{events:?}"
    );
    let p2 = p2 - start;
    let inactive_at = events[0].0 - p2;
    assert!(
        inactive_at > hbs[5] && inactive_at <= hbs[6],
        "inactive at {inactive_at:?}: the path counter was not reset ({hbs:?})"
    );
}
