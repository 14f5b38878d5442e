//! Round-trip time estimation and the retransmission timeout (RFC 6298).

use std::time::Duration;

/// Clock granularity G of RFC 6298 (µs).
const GRANULARITY: u64 = 1000;

/// SRTT, RTTVAR and the RTO, in microseconds, with exponential backoff.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RttEstimator {
    srtt: Option<u64>,
    rttvar: u64,
    rto: u64,
    min: u64,
    max: u64,
    backoff: u32,
}

fn us(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

impl RttEstimator {
    pub(crate) fn new(initial: Duration, min: Duration, max: Duration) -> RttEstimator {
        let (min, max) = (us(min), us(max).max(us(min)));
        RttEstimator {
            srtt: None,
            rttvar: 0,
            rto: us(initial).clamp(min, max),
            min,
            max,
            backoff: 0,
        }
    }

    /// Takes a measurement of a segment that was sent once (Karn).
    pub(crate) fn sample(&mut self, r: Duration) {
        let r = us(r);
        match self.srtt {
            None => {
                self.srtt = Some(r);
                self.rttvar = r / 2;
            }
            Some(srtt) => {
                let delta = srtt.abs_diff(r);
                self.rttvar = (3 * self.rttvar + delta) / 4;
                self.srtt = Some((7 * srtt + r) / 8);
            }
        }
        let srtt = self.srtt.unwrap_or(r);
        self.rto = srtt
            .saturating_add(GRANULARITY.max(self.rttvar.saturating_mul(4)))
            .clamp(self.min, self.max);
        self.backoff = 0;
    }

    /// The current timeout, backoff applied, within the bounds.
    pub(crate) fn rto(&self) -> Duration {
        let shifted = self.rto.checked_shl(self.backoff).unwrap_or(u64::MAX);
        let v = if self.backoff >= 32 {
            self.max
        } else {
            shifted
        };
        Duration::from_micros(v.clamp(self.min, self.max))
    }

    /// Doubles the timeout (RFC 6298 5.5).
    pub(crate) fn back_off(&mut self) {
        if self.rto() < Duration::from_micros(self.max) {
            self.backoff = self.backoff.saturating_add(1);
        }
    }

    /// Forgets the backoff once the peer answers again.
    pub(crate) fn reset_backoff(&mut self) {
        self.backoff = 0;
    }

    /// The smoothed RTT, once measured.
    #[cfg(test)]
    pub(crate) fn srtt(&self) -> Option<Duration> {
        self.srtt.map(Duration::from_micros)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6298_arithmetic_backoff_and_bounds() {
        let ms = Duration::from_millis;
        let mut r = RttEstimator::new(ms(1000), ms(50), ms(8000));
        assert_eq!(r.rto(), ms(1000));
        r.sample(ms(100)); // srtt 100, rttvar 50 -> rto 300
        assert_eq!(r.rto(), ms(300));
        assert_eq!(r.srtt(), Some(ms(100)));
        r.sample(ms(100)); // rttvar 37.5, srtt 100 -> 250
        assert_eq!(r.rto(), ms(250));
        r.back_off();
        assert_eq!(r.rto(), ms(500));
        for _ in 0..40 {
            r.back_off();
        }
        assert_eq!(r.rto(), ms(8000));
        r.reset_backoff();
        assert_eq!(r.rto(), ms(250));
        for _ in 0..50 {
            r.sample(Duration::from_micros(10));
        }
        assert_eq!(r.rto(), ms(50), "rto_min holds");
    }
}
