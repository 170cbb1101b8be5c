//! Retransmission timeout estimation (RFC 9260 §6.3.1), one per path.

use core::time::Duration;

/// Clock granularity G of RFC 9260 §6.3.1 C3: the core's time is exact, so 1 ms stands for
/// the coarsest timer a driver is expected to have.
const GRANULARITY: Duration = Duration::from_millis(1);

/// Smoothed RTT, RTT variation and the RTO derived from them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtoEstimator {
    srtt: Option<Duration>,
    rttvar: Duration,
    rto: Duration,
    min: Duration,
    max: Duration,
}

impl RtoEstimator {
    /// C1: before any measurement the RTO is RTO.Initial.
    pub fn new(initial: Duration, min: Duration, max: Duration) -> Self {
        Self {
            srtt: None,
            rttvar: Duration::ZERO,
            rto: initial.clamp(min, max),
            min,
            max,
        }
    }

    /// Feeds one RTT measurement R (RFC 9260 §6.3.1 C2/C3, with RTO.Alpha = 1/8 and
    /// RTO.Beta = 1/4). Measurements must follow Karn's rule (C5): never from a
    /// retransmitted chunk.
    pub fn observe(&mut self, r: Duration) {
        match self.srtt {
            // C2: SRTT <- R, RTTVAR <- R/2.
            None => {
                self.srtt = Some(r);
                self.rttvar = r / 2;
            }
            // C3: RTTVAR <- (1 - 1/4) * RTTVAR + 1/4 * |SRTT - R'|, then
            //     SRTT <- (1 - 1/8) * SRTT + 1/8 * R'.
            Some(srtt) => {
                // In whole nanoseconds, which is what `Duration` division truncates to anyway:
                // the same values, with shifts instead of `Duration`'s divisions (this runs for
                // every SACK).
                let ns = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
                let (srtt, rttvar, r) = (ns(srtt), ns(self.rttvar), ns(r));
                let delta = srtt.abs_diff(r);
                self.rttvar = Duration::from_nanos(rttvar.saturating_mul(3) / 4 + delta / 4);
                self.srtt = Some(Duration::from_nanos(srtt.saturating_mul(7) / 8 + r / 8));
            }
        }
        // C3: if RTTVAR computes to 0, it is adjusted to G.
        if self.rttvar.is_zero() {
            self.rttvar = GRANULARITY;
        }
        // RTO <- SRTT + 4 * RTTVAR, then C6/C7: clamp to [RTO.Min, RTO.Max].
        let srtt = self.srtt.unwrap_or_default();
        self.rto = (srtt + self.rttvar * 4).clamp(self.min, self.max);
    }

    /// E2 / §6.3.3: on a T3-rtx (or heartbeat) expiry the RTO doubles, capped at RTO.Max.
    pub fn back_off(&mut self) {
        self.rto = (self.rto * 2).min(self.max);
    }

    /// The current RTO.
    pub fn rto(&self) -> Duration {
        self.rto
    }

    /// The smoothed RTT, once measured.
    pub fn srtt(&self) -> Option<Duration> {
        self.srtt
    }

    /// The RTT variation.
    pub fn rttvar(&self) -> Duration {
        self.rttvar
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    proptest::proptest! {
        /// The nanosecond arithmetic gives exactly what the C3 formulas give in `Duration`.
        #[test]
        fn c3_in_nanoseconds_matches_duration_arithmetic(
            samples in proptest::collection::vec(0u64..200_000_000_000, 1..20),
        ) {
            let mut e = RtoEstimator::new(ms(1000), ms(1), ms(600_000));
            let (mut srtt, mut rttvar) = (None::<Duration>, Duration::ZERO);
            for n in samples {
                let r = Duration::from_nanos(n);
                e.observe(r);
                match srtt {
                    None => (srtt, rttvar) = (Some(r), r / 2),
                    Some(s) => {
                        rttvar = rttvar * 3 / 4 + s.abs_diff(r) / 4;
                        srtt = Some(s * 7 / 8 + r / 8);
                    }
                }
                if rttvar.is_zero() {
                    rttvar = GRANULARITY;
                }
                proptest::prop_assert_eq!(e.srtt(), srtt);
                proptest::prop_assert_eq!(e.rttvar(), rttvar);
            }
        }
    }

    #[test]
    fn follows_rfc_formulas() {
        let mut e = RtoEstimator::new(ms(1000), ms(10), ms(60_000));
        assert_eq!(e.rto(), ms(1000));
        e.observe(ms(100));
        // SRTT = 100, RTTVAR = 50, RTO = 100 + 200.
        assert_eq!(
            (e.srtt(), e.rttvar(), e.rto()),
            (Some(ms(100)), ms(50), ms(300))
        );
        e.observe(ms(200));
        // RTTVAR = 3/4*50 + 1/4*100 = 62.5; SRTT = 7/8*100 + 1/8*200 = 112.5; RTO = 362.5.
        assert_eq!(e.rttvar(), Duration::from_micros(62_500));
        assert_eq!(e.srtt(), Some(Duration::from_micros(112_500)));
        assert_eq!(e.rto(), Duration::from_micros(362_500));
    }

    #[test]
    fn clamps_and_backs_off() {
        let mut e = RtoEstimator::new(ms(1000), ms(1000), ms(60_000));
        e.observe(ms(10));
        assert_eq!(e.rto(), ms(1000), "RTO.Min");
        for _ in 0..10 {
            e.back_off();
        }
        assert_eq!(e.rto(), ms(60_000), "RTO.Max");
        let mut z = RtoEstimator::new(ms(1000), ms(0), ms(60_000));
        z.observe(Duration::ZERO);
        assert_eq!(z.rttvar(), GRANULARITY, "RTTVAR of 0 becomes G");
    }
}
