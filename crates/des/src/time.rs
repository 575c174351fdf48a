//! Simulated time: an integer count of microseconds since the start of a run.

use std::fmt;
use std::ops::{Add, AddAssign, Sub};

/// A point (or span) of simulated time in whole microseconds.
///
/// Integer time makes event order exact and results bit-identical across machines.
///
/// Saturation (nothing here panics or wraps): the range is `0..=u64::MAX` microseconds, about
/// 1.8e13 s (584,000 years), and [`SimTime::MAX`] means "never".
/// - [`SimTime::from_secs_f64`] rounds to the nearest microsecond; negative values, NaN and values
///   below half a microsecond give zero; values of `MAX` microseconds or more (`1e300`, `+inf`) give
///   `MAX`.
/// - `+`, `+=` and [`SimTime::from_ms`] saturate at `MAX`, and a time at `MAX` stays there: anything
///   that depends on a saturated time is "never" too, not a small number.
/// - `-` and [`SimTime::saturating_sub`] saturate at zero (time never goes negative).
///
/// Callers bound their inputs (platform profiles, simulation options, workflows) so that no real run
/// comes near `MAX`; saturation is what keeps an unbounded or fuzzed input from wrapping or panicking.
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

    #[test]
    fn huge_and_non_finite_seconds_saturate_without_panic() {
        assert_eq!(SimTime::from_secs_f64(f64::INFINITY), SimTime::MAX);
        assert_eq!(SimTime::from_secs_f64(f64::NEG_INFINITY), SimTime::ZERO);
        assert_eq!(SimTime::from_secs_f64(-f64::NAN), SimTime::ZERO);
        assert_eq!(SimTime::from_secs_f64(f64::MAX), SimTime::MAX);
        assert_eq!(SimTime::from_secs_f64(-1e300), SimTime::ZERO);
        // The last seconds value below the top of the range converts exactly (to the f64 resolution).
        let top_s = 1.8e13;
        assert_eq!(
            SimTime::from_secs_f64(top_s).as_us(),
            18_000_000_000_000_000_000
        );
        assert_eq!(SimTime::from_secs_f64(1.9e13), SimTime::MAX);
        // Saturated times stay saturated through arithmetic.
        let mut t = SimTime::from_secs_f64(1e300);
        t += SimTime::from_secs_f64(5.0);
        assert_eq!(t, SimTime::MAX);
        assert_eq!(SimTime::from_ms(u64::MAX), SimTime::MAX);
        assert_eq!(SimTime::ZERO - SimTime::MAX, SimTime::ZERO);
        assert_eq!(SimTime::MAX.as_secs_f64(), u64::MAX as f64 / 1e6);
    }
}
