//! Simulated time: an integer count of microseconds since the start of a run.

use std::fmt;
use std::ops::{Add, AddAssign, Sub};

/// A point (or span) of simulated time in whole microseconds.
///
/// Integer time makes event order exact and results bit-identical across machines; conversions from
/// seconds round to the nearest microsecond and saturate at the ends of the range (never panic).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SimTime(pub u64);

impl SimTime {
    /// Time zero, the start of a run.
    pub const ZERO: SimTime = SimTime(0);
    /// The largest representable time (used as "never").
    pub const MAX: SimTime = SimTime(u64::MAX);

    /// From whole microseconds.
    pub const fn from_us(us: u64) -> Self {
        SimTime(us)
    }

    /// From whole milliseconds (saturating).
    pub const fn from_ms(ms: u64) -> Self {
        SimTime(ms.saturating_mul(1_000))
    }

    /// From seconds, rounded to the nearest microsecond. Negative and NaN give zero; too large saturates.
    pub fn from_secs_f64(secs: f64) -> Self {
        let us = secs * 1e6;
        // `us + 0.5` truncated rounds half up; `f64::round` is a slow library call on baseline x86-64.
        if us.is_nan() || us < 0.5 {
            SimTime(0)
        } else if us >= u64::MAX as f64 {
            SimTime::MAX
        } else {
            SimTime((us + 0.5) as u64)
        }
    }

    /// Whole microseconds.
    pub const fn as_us(self) -> u64 {
        self.0
    }

    /// Seconds as a float.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e6
    }

    /// `self - earlier`, or zero if `earlier` is later.
    pub const fn saturating_sub(self, earlier: SimTime) -> SimTime {
        SimTime(self.0.saturating_sub(earlier.0))
    }
}

impl Add for SimTime {
    type Output = SimTime;
    fn add(self, rhs: SimTime) -> SimTime {
        SimTime(self.0.saturating_add(rhs.0))
    }
}

impl AddAssign for SimTime {
    fn add_assign(&mut self, rhs: SimTime) {
        self.0 = self.0.saturating_add(rhs.0);
    }
}

impl Sub for SimTime {
    type Output = SimTime;
    /// Saturating difference: simulated time never goes negative.
    fn sub(self, rhs: SimTime) -> SimTime {
        self.saturating_sub(rhs)
    }
}

impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.6}s", self.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_round_and_saturate() {
        assert_eq!(SimTime::from_secs_f64(1.5).as_us(), 1_500_000);
        assert_eq!(SimTime::from_secs_f64(0.0000004).as_us(), 0);
        assert_eq!(SimTime::from_secs_f64(0.0000006).as_us(), 1);
        assert_eq!(SimTime::from_secs_f64(-3.0), SimTime::ZERO);
        assert_eq!(SimTime::from_secs_f64(f64::NAN), SimTime::ZERO);
        assert_eq!(SimTime::from_secs_f64(1e300), SimTime::MAX);
        assert_eq!(SimTime(5) - SimTime(9), SimTime::ZERO);
        assert_eq!(SimTime::MAX + SimTime(1), SimTime::MAX);
        assert_eq!(SimTime::from_ms(3).as_us(), 3_000);
    }
}
