//! One direction of a simulated network link: delay, jitter, a bandwidth-limited bounded
//! queue, random and burst loss, duplication, reordering, bit corruption, an MTU and a
//! schedule of changes.
//!
//! Every random decision comes from the link's own ChaCha8 generator, seeded from the
//! simulation's master seed, so one link's draws never shift another's.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

/// Gilbert–Elliott burst loss in *time*: a two-state (good / bad) continuous-time Markov
/// chain whose states last exponentially distributed durations.
///
/// A burst is a period of time, an outage of some milliseconds, not a number of packets: a
/// packet sent while the chain is bad is lost with probability `loss_in_bad`, one sent while
/// it is good with `loss_in_good`. So a burst swallows the packets that happen to be sent
/// during it — many at line rate, usually none or one of a sender that only retransmits on
/// a timer once per second or more. (A chain stepped once per *packet* gets this wrong: a
/// burst of N packets lasts N retransmission timeouts when traffic is timer-driven.)
///
/// The long-run share of time spent bad is `mean_bad / (mean_good + mean_bad)`
/// ([`bad_fraction`](Self::bad_fraction)). The chain starts in that stationary
/// distribution when the link is created and is evaluated lazily: each packet advances it
/// over the virtual time elapsed since the previous one (to the moment the packet leaves the
/// bottleneck, which without one is when it is sent), one draw per state change. The draws
/// come from a stream of the link's generator of their own, so the timeline of bursts
/// depends only on the link's seed, not on the traffic. Each state lasts at least 1 µs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GilbertElliott {
    /// Mean time in the good state (the mean gap between bursts).
    pub mean_good: Duration,
    /// Mean time in the bad state (the mean burst length).
    pub mean_bad: Duration,
    /// Loss probability while good.
    pub loss_in_good: f64,
    /// Loss probability while bad.
    pub loss_in_bad: f64,
}

impl GilbertElliott {
    /// Outages that lose every packet sent during them, lasting `mean_burst` on average and
    /// starting on average `mean_good` after the previous one ended; nothing is lost between
    /// them (the "Gilbert" model).
    pub fn bursts(mean_good: Duration, mean_burst: Duration) -> Self {
        Self {
            mean_good,
            mean_bad: mean_burst,
            loss_in_good: 0.0,
            loss_in_bad: 1.0,
        }
    }

    /// The long-run share of time spent in the bad state.
    pub fn bad_fraction(&self) -> f64 {
        let (good, bad) = (self.mean_good.as_secs_f64(), self.mean_bad.as_secs_f64());
        if good + bad > 0.0 {
            bad / (good + bad)
        } else {
            0.0
        }
    }
}

/// The shortest a Gilbert–Elliott state lasts, which bounds the draws per second of virtual
/// time.
const MIN_SOJOURN: Duration = Duration::from_micros(1);

/// The state of a link's Gilbert–Elliott chain.
#[derive(Debug)]
struct BurstChain {
    model: GilbertElliott,
    /// The chain's own stream of the link's generator.
    rng: ChaCha8Rng,
    bad: bool,
    /// When the current state ends; `None` if never (a duration too long to represent).
    until: Option<Instant>,
}

impl BurstChain {
    fn new(model: GilbertElliott, seed: u64, epoch: Instant) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        // Stream 0 is the link's per-packet generator; the chain has its own, so the burst
        // timeline does not depend on how many packets were sent.
        rng.set_stream(1);
        let mut chain = Self {
            model,
            rng,
            bad: false,
            until: None,
        };
        // Start in the stationary distribution; by memorylessness the time left in the
        // first state is a full exponential draw.
        chain.bad = unit(&mut chain.rng) < model.bad_fraction();
        chain.until = chain.sojourn_end(epoch);
        chain
    }

    /// When a state entered at `from` ends: `from` plus an exponential draw with the state's
    /// mean.
    fn sojourn_end(&mut self, from: Instant) -> Option<Instant> {
        let mean = if self.bad {
            self.model.mean_bad
        } else {
            self.model.mean_good
        };
        // Inverse transform: -mean · ln(1 - U) with U in [0, 1), so the logarithm is finite.
        let secs = -mean.as_secs_f64() * (1.0 - unit(&mut self.rng)).ln();
        let length = Duration::try_from_secs_f64(secs).ok()?.max(MIN_SOJOURN);
        from.checked_add(length)
    }

    /// Whether the chain is bad at `now`. Called with non-decreasing instants; an earlier
    /// one gets the current state.
    fn bad_at(&mut self, now: Instant) -> bool {
        while let Some(end) = self.until.filter(|&end| end <= now) {
            self.bad = !self.bad;
            self.until = self.sojourn_end(end);
        }
        self.bad
    }
}

/// A uniform draw from `[0, 1)`.
fn unit(rng: &mut ChaCha8Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// A change a link's schedule applies at a given time since the simulation started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkChange {
    /// The link goes down: packets sent, and packets arriving, while it is down are lost.
    Down,
    /// The link comes back up.
    Up,
    /// The one-way delay becomes this.
    Delay(Duration),
}

/// The configuration of one direction of a link. All impairments are off by default: an
/// ideal, zero-delay, infinitely fast link.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LinkConfig {
    /// One-way propagation delay.
    pub delay: Duration,
    /// Extra delay drawn uniformly from `[0, jitter]` per packet. Packets still arrive in the
    /// order they were sent (each no earlier than the one before) unless reordering is on.
    pub jitter: Duration,
    /// Bottleneck rate in bits per second; `None` is infinitely fast.
    pub bandwidth_bps: Option<u64>,
    /// Most packets in the bottleneck (waiting or being serialized); more are tail-dropped.
    /// `None` is unbounded. Only meaningful with a bandwidth.
    pub queue_packets: Option<usize>,
    /// Independent random loss probability per packet (after the queue).
    pub loss: f64,
    /// Burst loss in time, applied in addition to `loss`.
    pub burst_loss: Option<GilbertElliott>,
    /// Probability that a packet is delivered twice.
    pub duplicate: f64,
    /// Probability that a packet is held back by `reorder_delay`, letting later ones pass it.
    pub reorder: f64,
    /// The extra delay of a reordered packet.
    pub reorder_delay: Duration,
    /// Probability that a packet has 1 to 3 random bits flipped.
    pub corrupt: f64,
    /// Largest packet (SCTP bytes, common header included) the link carries; larger ones are
    /// dropped. `None` is unlimited.
    pub mtu: Option<usize>,
    /// Changes applied at given times since the start of the simulation, in any order.
    pub schedule: Vec<(Duration, LinkChange)>,
}

/// Why a link lost a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// The link was down when the packet was sent or when it would have arrived.
    LinkDown,
    /// Larger than the link's MTU.
    Mtu,
    /// The bottleneck queue was full (tail drop).
    QueueFull,
    /// Independent random loss.
    Random,
    /// Gilbert–Elliott burst loss.
    Burst,
}

/// Counters of one direction of a link.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Packets offered to the link.
    pub sent: u64,
    /// Bytes offered to the link.
    pub bytes_sent: u64,
    /// Packet copies handed to the receiver (duplicates count twice).
    pub delivered: u64,
    /// Bytes handed to the receiver.
    pub bytes_delivered: u64,
    /// Lost because the link was down.
    pub dropped_link_down: u64,
    /// Lost for exceeding the MTU.
    pub dropped_mtu: u64,
    /// Tail-dropped at a full queue.
    pub dropped_queue: u64,
    /// Lost at random.
    pub dropped_random: u64,
    /// Lost in a burst.
    pub dropped_burst: u64,
    /// Packets with flipped bits.
    pub corrupted: u64,
    /// Packets sent twice.
    pub duplicated: u64,
    /// Packets held back to be overtaken.
    pub reordered: u64,
}

impl LinkStats {
    /// All packets lost, for any reason.
    pub fn dropped(&self) -> u64 {
        self.dropped_link_down
            + self.dropped_mtu
            + self.dropped_queue
            + self.dropped_random
            + self.dropped_burst
    }

    pub(crate) fn count_drop(&mut self, reason: DropReason) {
        match reason {
            DropReason::LinkDown => self.dropped_link_down += 1,
            DropReason::Mtu => self.dropped_mtu += 1,
            DropReason::QueueFull => self.dropped_queue += 1,
            DropReason::Random => self.dropped_random += 1,
            DropReason::Burst => self.dropped_burst += 1,
        }
    }
}

/// What the link does with one packet.
#[derive(Debug)]
pub(crate) enum Outcome {
    Dropped(DropReason),
    Deliver {
        at: Instant,
        bytes: Bytes,
        duplicate_at: Option<Instant>,
        corrupted: bool,
        reordered: bool,
    },
}

/// One direction of a link, with its state.
#[derive(Debug)]
pub(crate) struct Link {
    config: LinkConfig,
    /// Pending schedule entries, earliest first, as absolute instants.
    schedule: VecDeque<(Instant, LinkChange)>,
    rng: ChaCha8Rng,
    up: bool,
    delay: Duration,
    /// The Gilbert–Elliott chain, if burst loss is on.
    burst: Option<BurstChain>,
    /// When each packet in the bottleneck finishes serialization, earliest first.
    in_queue: VecDeque<Instant>,
    /// The latest arrival of an in-order packet: jitter never lets a packet arrive earlier.
    last_arrival: Option<Instant>,
    pub(crate) stats: LinkStats,
}

impl Link {
    pub(crate) fn new(config: LinkConfig, seed: u64, epoch: Instant) -> Self {
        let mut schedule: Vec<_> = config
            .schedule
            .iter()
            .map(|&(at, change)| (epoch + at, change))
            .collect();
        // Stable: changes at the same instant apply in the order given.
        schedule.sort_by_key(|&(at, _)| at);
        Self {
            delay: config.delay,
            burst: config
                .burst_loss
                .map(|model| BurstChain::new(model, seed, epoch)),
            config,
            schedule: schedule.into(),
            rng: ChaCha8Rng::seed_from_u64(seed),
            up: true,
            in_queue: VecDeque::new(),
            last_arrival: None,
            stats: LinkStats::default(),
        }
    }

    /// Applies every scheduled change due at or before `now`. Called with non-decreasing
    /// instants.
    pub(crate) fn advance(&mut self, now: Instant) {
        while let Some(&(at, change)) = self.schedule.front() {
            if at > now {
                break;
            }
            self.schedule.pop_front();
            match change {
                LinkChange::Down => self.up = false,
                LinkChange::Up => self.up = true,
                LinkChange::Delay(d) => self.delay = d,
            }
        }
    }

    /// Whether the link is up (after [`advance`](Self::advance)).
    pub(crate) fn is_up(&self) -> bool {
        self.up
    }

    /// A uniform draw from `[0, 1)`.
    fn uniform(&mut self) -> f64 {
        unit(&mut self.rng)
    }

    fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && self.uniform() < p
    }

    /// Serialization time of `len` bytes at the link's rate.
    fn serialization(&self, len: usize) -> Duration {
        match self.config.bandwidth_bps {
            Some(bps) if bps > 0 => {
                let nanos = (len as u128 * 8 * 1_000_000_000) / u128::from(bps);
                Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
            }
            _ => Duration::ZERO,
        }
    }

    /// Decides the fate of a packet sent at `now`.
    pub(crate) fn send(&mut self, now: Instant, packet: &[u8]) -> Outcome {
        self.advance(now);
        self.stats.sent += 1;
        self.stats.bytes_sent += packet.len() as u64;
        let outcome = self.decide(now, packet);
        if let Outcome::Dropped(reason) = outcome {
            self.stats.count_drop(reason);
        }
        outcome
    }

    fn decide(&mut self, now: Instant, packet: &[u8]) -> Outcome {
        if !self.up {
            return Outcome::Dropped(DropReason::LinkDown);
        }
        if self.config.mtu.is_some_and(|mtu| packet.len() > mtu) {
            return Outcome::Dropped(DropReason::Mtu);
        }
        // The bottleneck: a FIFO served at the link rate, holding at most `queue_packets`.
        while self.in_queue.front().is_some_and(|&done| done <= now) {
            self.in_queue.pop_front();
        }
        if self
            .config
            .queue_packets
            .is_some_and(|cap| self.in_queue.len() >= cap)
        {
            return Outcome::Dropped(DropReason::QueueFull);
        }
        let start = self.in_queue.back().copied().unwrap_or(now).max(now);
        let sent = start + self.serialization(packet.len());
        if sent > now {
            self.in_queue.push_back(sent);
        }
        // Losses on the wire, after the packet used its share of the bandwidth: a burst
        // takes the packets that leave the bottleneck during it (without one, that is when
        // they are sent).
        if let Some(chain) = self.burst.as_mut() {
            let p = if chain.bad_at(sent) {
                chain.model.loss_in_bad
            } else {
                chain.model.loss_in_good
            };
            if self.chance(p) {
                return Outcome::Dropped(DropReason::Burst);
            }
        }
        if self.chance(self.config.loss) {
            return Outcome::Dropped(DropReason::Random);
        }
        let mut bytes = packet.to_vec();
        let corrupted = !bytes.is_empty() && self.chance(self.config.corrupt);
        if corrupted {
            self.stats.corrupted += 1;
            // 1 to 3 *distinct* bits: flipping one bit twice would undo it. CRC32c detects
            // every error of fewer than 4 bits in packets of any size here, so the receiver
            // must drop each of these.
            let flips = 1 + (self.rng.next_u32() % 3) as usize;
            let bits = bytes.len() as u64 * 8;
            let mut chosen: Vec<u64> = Vec::with_capacity(flips);
            while chosen.len() < flips {
                let bit = self.rng.next_u64() % bits;
                if !chosen.contains(&bit) {
                    chosen.push(bit);
                }
            }
            for bit in chosen {
                if let Some(b) = bytes.get_mut((bit / 8) as usize) {
                    *b ^= 1 << (bit % 8);
                }
            }
        }
        let jitter = if self.config.jitter.is_zero() {
            Duration::ZERO
        } else {
            self.config.jitter.mul_f64(self.uniform())
        };
        let mut at = sent + self.delay + jitter;
        let reordered = self.chance(self.config.reorder);
        if reordered {
            // Held back and overtaken; it does not hold back the packets after it.
            self.stats.reordered += 1;
            at += self.config.reorder_delay;
        } else {
            if let Some(last) = self.last_arrival {
                at = at.max(last);
            }
            self.last_arrival = Some(at);
        }
        let duplicate_at = if self.chance(self.config.duplicate) {
            self.stats.duplicated += 1;
            Some(at)
        } else {
            None
        };
        Outcome::Deliver {
            at,
            bytes: Bytes::from(bytes),
            duplicate_at,
            corrupted,
            reordered,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(config: LinkConfig, packets: usize) -> LinkStats {
        let epoch = Instant::now();
        let mut link = Link::new(config, 1, epoch);
        for i in 0..packets {
            link.send(epoch + Duration::from_millis(i as u64), &[0u8; 100]);
        }
        link.stats
    }

    #[test]
    fn random_loss_rate() {
        let s = run(
            LinkConfig {
                loss: 0.1,
                ..LinkConfig::default()
            },
            100_000,
        );
        assert!((9_500..10_500).contains(&s.dropped_random), "{s:?}");
    }

    /// The burst-loss fate (lost or not) of 100-byte packets sent at `times` on a link with
    /// only the burst model `ge`.
    fn burst_fates(
        ge: GilbertElliott,
        seed: u64,
        times: impl Iterator<Item = Duration>,
    ) -> Vec<bool> {
        let epoch = Instant::now();
        let mut link = Link::new(
            LinkConfig {
                burst_loss: Some(ge),
                ..LinkConfig::default()
            },
            seed,
            epoch,
        );
        times
            .map(|t| {
                matches!(
                    link.send(epoch + t, &[0u8; 100]),
                    Outcome::Dropped(DropReason::Burst)
                )
            })
            .collect()
    }

    /// The lengths of the runs of consecutive `true`s.
    fn runs(fates: &[bool]) -> Vec<usize> {
        let mut runs = Vec::new();
        let mut current = 0;
        for &lost in fates {
            if lost {
                current += 1;
            } else if current > 0 {
                runs.push(current);
                current = 0;
            }
        }
        if current > 0 {
            runs.push(current);
        }
        runs
    }

    #[test]
    fn gilbert_elliott_time_lost_is_the_bad_fraction() {
        // 100 ms outages every 900 ms on average: 10 % of the time is bad. Sampled every
        // 10 ms for 10,000 s (about 10,000 bursts); the standard error of the share is about
        // 0.13 percentage points, so ±0.5 is a 4-sigma band.
        let ge = GilbertElliott::bursts(Duration::from_millis(900), Duration::from_millis(100));
        assert!((ge.bad_fraction() - 0.1).abs() < 1e-12);
        let fates = burst_fates(
            ge,
            7,
            (0..1_000_000u64).map(|i| Duration::from_millis(10 * i)),
        );
        let lost = fates.iter().filter(|&&l| l).count() as f64 / fates.len() as f64;
        assert!((0.095..0.105).contains(&lost), "share of time lost {lost}");
    }

    #[test]
    fn gilbert_elliott_bursts_last_a_time_not_a_number_of_packets() {
        // One packet per millisecond, 50 ms outages every second on average, for 1000 s:
        // about 950 bursts of 50 consecutive losses on average (standard error ≈ 1.6).
        let ge = GilbertElliott::bursts(Duration::from_secs(1), Duration::from_millis(50));
        let fates = burst_fates(ge, 3, (0..1_000_000u64).map(Duration::from_millis));
        let bursts = runs(&fates);
        let mean = bursts.iter().sum::<usize>() as f64 / bursts.len() as f64;
        assert!(
            (850..1050).contains(&bursts.len()),
            "{} bursts",
            bursts.len()
        );
        assert!((45.0..55.0).contains(&mean), "mean burst {mean} packets");
        // Sent 100 times faster, the same outages take 100 times as many packets.
        let fast = burst_fates(
            ge,
            3,
            (0..1_000_000u64).map(|i| Duration::from_micros(10 * i)),
        );
        let fast_runs = runs(&fast);
        let fast_mean = fast_runs.iter().sum::<usize>() as f64 / fast_runs.len() as f64;
        assert!(fast_mean > 40.0 * mean, "{fast_mean} vs {mean}");
    }

    #[test]
    fn gilbert_elliott_packets_a_second_apart_are_independent() {
        // 20 ms outages, 10 % of the time: packets 1 s apart (a retransmission timer) see
        // states that are e^(-1 s / 18 ms) ≈ 1e-24 correlated, so a loss is followed by
        // another with the unconditional 10 %, and runs of losses are geometric: about
        // 200,000 · 0.9² · 0.1⁸ ≈ 0.002 runs of 9 are expected. (Stepped per packet, a 20
        // packet mean burst would make the second figure 95 %.)
        let ge = GilbertElliott::bursts(Duration::from_millis(180), Duration::from_millis(20));
        let fates = burst_fates(ge, 11, (0..200_000u64).map(Duration::from_secs));
        let lost = fates.iter().filter(|&&l| l).count() as f64 / fates.len() as f64;
        let pairs = fates.windows(2).filter(|w| w[0]).count() as f64;
        let both = fates.windows(2).filter(|w| w[0] && w[1]).count() as f64;
        assert!((0.095..0.105).contains(&lost), "loss {lost}");
        let after_loss = both / pairs;
        assert!(
            (0.09..0.11).contains(&after_loss),
            "loss after a loss {after_loss}"
        );
        let longest = runs(&fates).into_iter().max().unwrap_or(0);
        assert!(longest < 9, "{longest} consecutive losses");
    }

    #[test]
    fn gilbert_elliott_timeline_is_independent_of_traffic() {
        // The same seed gives the same outages whatever else the link carries: packets at
        // whole seconds share their fates whether or not others are sent in between.
        let ge = GilbertElliott::bursts(Duration::from_millis(500), Duration::from_millis(200));
        let sparse = burst_fates(ge, 5, (0..2_000u64).map(Duration::from_secs));
        let dense = burst_fates(ge, 5, (0..2_000_000u64).map(Duration::from_millis));
        let dense_at_seconds: Vec<bool> = dense.iter().step_by(1000).copied().collect();
        assert_eq!(sparse, dense_at_seconds);
        assert!(sparse.iter().any(|&l| l) && !sparse.iter().all(|&l| l));
        // And another seed gives other outages.
        assert_ne!(
            sparse,
            burst_fates(ge, 6, (0..2_000u64).map(Duration::from_secs))
        );
    }

    #[test]
    fn bottleneck_tail_drops() {
        // 100-byte packets every 1 ms into a 400 kbit/s link (2 ms each): half must go.
        let s = run(
            LinkConfig {
                bandwidth_bps: Some(400_000),
                queue_packets: Some(10),
                ..LinkConfig::default()
            },
            1_000,
        );
        assert!((490..=510).contains(&s.dropped_queue), "{s:?}");
    }

    #[test]
    fn mtu_and_schedule() {
        let epoch = Instant::now();
        let mut link = Link::new(
            LinkConfig {
                mtu: Some(50),
                delay: Duration::from_millis(10),
                schedule: vec![
                    (Duration::from_secs(2), LinkChange::Up),
                    (Duration::from_secs(1), LinkChange::Down),
                    (
                        Duration::from_secs(3),
                        LinkChange::Delay(Duration::from_millis(70)),
                    ),
                ],
                ..LinkConfig::default()
            },
            1,
            epoch,
        );
        assert!(matches!(
            link.send(epoch, &[0; 51]),
            Outcome::Dropped(DropReason::Mtu)
        ));
        let at = |o: Outcome| match o {
            Outcome::Deliver { at, .. } => Some(at),
            Outcome::Dropped(_) => None,
        };
        assert_eq!(
            at(link.send(epoch, &[0; 50])),
            Some(epoch + Duration::from_millis(10))
        );
        let t = epoch + Duration::from_millis(1500);
        assert!(matches!(
            link.send(t, &[0; 10]),
            Outcome::Dropped(DropReason::LinkDown)
        ));
        let t = epoch + Duration::from_millis(3500);
        assert_eq!(
            at(link.send(t, &[0; 10])),
            Some(t + Duration::from_millis(70))
        );
    }
}
