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

/// Gilbert–Elliott burst loss: a two-state Markov chain stepped once per packet.
///
/// In the *good* state packets are lost with probability `loss_in_good`, in the *bad* state
/// with `loss_in_bad`. The mean burst (bad-state) length is `1 / bad_to_good` packets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GilbertElliott {
    /// Probability of moving from good to bad, per packet.
    pub good_to_bad: f64,
    /// Probability of moving from bad to good, per packet.
    pub bad_to_good: f64,
    /// Loss probability while good.
    pub loss_in_good: f64,
    /// Loss probability while bad.
    pub loss_in_bad: f64,
}

impl GilbertElliott {
    /// Bursts that lose every packet while bad, averaging `mean_burst` packets, entered with
    /// probability `good_to_bad` per packet; nothing is lost while good ("Gilbert" model).
    pub fn bursts(good_to_bad: f64, mean_burst: f64) -> Self {
        Self {
            good_to_bad,
            bad_to_good: if mean_burst > 1.0 {
                1.0 / mean_burst
            } else {
                1.0
            },
            loss_in_good: 0.0,
            loss_in_bad: 1.0,
        }
    }
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
    /// Burst loss, applied in addition to `loss`.
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
    /// Gilbert–Elliott state: in the bad state.
    bad: bool,
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
            config,
            schedule: schedule.into(),
            rng: ChaCha8Rng::seed_from_u64(seed),
            up: true,
            bad: false,
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
        (self.rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
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
        // Losses on the wire, after the packet used its share of the bandwidth.
        if let Some(ge) = self.config.burst_loss {
            let flip = if self.bad {
                ge.bad_to_good
            } else {
                ge.good_to_bad
            };
            if self.chance(flip) {
                self.bad = !self.bad;
            }
            let p = if self.bad {
                ge.loss_in_bad
            } else {
                ge.loss_in_good
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

    #[test]
    fn gilbert_elliott_loss_rate_and_bursts() {
        // Stationary probability of the bad state: p / (p + r) = 0.01 / 0.26 ≈ 3.85 %.
        let s = run(
            LinkConfig {
                burst_loss: Some(GilbertElliott::bursts(0.01, 4.0)),
                ..LinkConfig::default()
            },
            100_000,
        );
        assert!((3_300..4_400).contains(&s.dropped_burst), "{s:?}");
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
