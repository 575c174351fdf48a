//! Arrival-rate patterns (steady, bursty, periodic, mixed) as a piecewise-constant rate multiplier with
//! mean one, shared by the DeepRM generator (time in steps) and the serverless generator (time in seconds).

use des::SimRng;
use rand::Rng;

use crate::Error;

/// Largest number of segments of a [`RateProfile`] (`horizon / segment`): the multipliers are kept in
/// memory.
pub const MAX_SEGMENTS: usize = 10_000_000;

/// How the arrival rate varies over time (seed paper section 4.1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pattern {
    /// A constant rate.
    Steady,
    /// A baseline with sudden spikes of `spike_factor_min..=spike_factor_max` times the baseline; each
    /// segment is a spike with probability `spike_prob`.
    Bursty {
        /// Smallest spike factor (seed: 5).
        spike_factor_min: f64,
        /// Largest spike factor (seed: 10).
        spike_factor_max: f64,
        /// Probability that a segment is a spike.
        spike_prob: f64,
    },
    /// Daily and hourly cycles: `1 + a_long sin(2 pi t / long) + a_short sin(2 pi t / short)`.
    Periodic {
        /// Long period in time units (a day: 86,400 s).
        long_period: f64,
        /// Amplitude of the long cycle, in [0, 1).
        long_amplitude: f64,
        /// Short period in time units (an hour: 3,600 s).
        short_period: f64,
        /// Amplitude of the short cycle; `long_amplitude + short_amplitude < 1`.
        short_amplitude: f64,
    },
    /// Periodic and bursty at once (the product of both multipliers).
    Mixed,
}

impl Pattern {
    /// Bursty with the seed's 5-10x spikes and 5% of segments spiking.
    pub const BURSTY: Pattern = Pattern::Bursty {
        spike_factor_min: 5.0,
        spike_factor_max: 10.0,
        spike_prob: 0.05,
    };

    /// Periodic with a day and an hour in seconds, amplitudes 0.5 and 0.2.
    pub const PERIODIC_SECONDS: Pattern = Pattern::Periodic {
        long_period: 86_400.0,
        long_amplitude: 0.5,
        short_period: 3_600.0,
        short_amplitude: 0.2,
    };

    /// Parses `steady`, `bursty`, `periodic` or `mixed` (with the default parameters).
    pub fn parse(name: &str) -> Result<Pattern, Error> {
        match name {
            "steady" => Ok(Pattern::Steady),
            "bursty" => Ok(Pattern::BURSTY),
            "periodic" => Ok(Pattern::PERIODIC_SECONDS),
            "mixed" => Ok(Pattern::Mixed),
            _ => Err(Error::param(
                "pattern",
                name,
                "expected steady, bursty, periodic or mixed",
            )),
        }
    }

    /// The pattern's name.
    pub fn name(&self) -> &'static str {
        match self {
            Pattern::Steady => "steady",
            Pattern::Bursty { .. } => "bursty",
            Pattern::Periodic { .. } => "periodic",
            Pattern::Mixed => "mixed",
        }
    }

    fn validate(&self) -> Result<(), Error> {
        match *self {
            Pattern::Bursty {
                spike_factor_min,
                spike_factor_max,
                spike_prob,
            } => {
                if !(spike_factor_min >= 1.0
                    && spike_factor_max >= spike_factor_min
                    && spike_factor_max.is_finite())
                {
                    return Err(Error::param(
                        "spike_factor",
                        format!("{spike_factor_min}..{spike_factor_max}"),
                        "need 1 <= min <= max",
                    ));
                }
                if !(0.0..=1.0).contains(&spike_prob) {
                    return Err(Error::param("spike_prob", spike_prob, "must be in [0, 1]"));
                }
            }
            Pattern::Periodic {
                long_period,
                long_amplitude,
                short_period,
                short_amplitude,
            } => {
                if !(long_period > 0.0
                    && short_period > 0.0
                    && long_period.is_finite()
                    && short_period.is_finite())
                {
                    return Err(Error::param(
                        "period",
                        format!("{long_period}, {short_period}"),
                        "periods must be positive",
                    ));
                }
                if !(long_amplitude >= 0.0
                    && short_amplitude >= 0.0
                    && long_amplitude + short_amplitude < 1.0)
                {
                    return Err(Error::param(
                        "amplitude",
                        format!("{long_amplitude} + {short_amplitude}"),
                        "need non-negative amplitudes summing below 1",
                    ));
                }
            }
            Pattern::Steady | Pattern::Mixed => {}
        }
        Ok(())
    }
}

/// A piecewise-constant rate multiplier over `[0, horizon)`, normalised to mean one, so a pattern changes
/// when arrivals come but not how many on average.
#[derive(Debug, Clone, PartialEq)]
pub struct RateProfile {
    segment: f64,
    multipliers: Vec<f64>,
}

impl RateProfile {
    /// Builds the profile for `pattern` over `horizon` time units in segments of `segment` units, drawing
    /// spikes from `rng`. Periodic patterns are evaluated at segment midpoints.
    pub fn new(
        pattern: Pattern,
        horizon: f64,
        segment: f64,
        rng: &mut SimRng,
    ) -> Result<RateProfile, Error> {
        pattern.validate()?;
        if !(horizon > 0.0 && horizon.is_finite()) {
            return Err(Error::param(
                "horizon",
                horizon,
                "must be positive and finite",
            ));
        }
        if !(segment > 0.0 && segment.is_finite()) {
            return Err(Error::param(
                "segment",
                segment,
                "must be positive and finite",
            ));
        }
        let n_f = (horizon / segment).ceil();
        if n_f > MAX_SEGMENTS as f64 {
            return Err(Error::param(
                "horizon",
                horizon,
                "horizon / segment must be at most 10^7 segments (MAX_SEGMENTS)",
            ));
        }
        let n = (n_f as usize).max(1);
        let periodic = |p: Pattern, t: f64| -> f64 {
            match p {
                Pattern::Periodic {
                    long_period,
                    long_amplitude,
                    short_period,
                    short_amplitude,
                } => {
                    let tau = 2.0 * std::f64::consts::PI;
                    1.0 + long_amplitude * (tau * t / long_period).sin()
                        + short_amplitude * (tau * t / short_period).sin()
                }
                _ => 1.0,
            }
        };
        let bursty = |p: Pattern, rng: &mut SimRng| -> f64 {
            match p {
                Pattern::Bursty {
                    spike_factor_min,
                    spike_factor_max,
                    spike_prob,
                } => {
                    let spike = rng.random::<f64>() < spike_prob;
                    let factor = spike_factor_min
                        + rng.random::<f64>() * (spike_factor_max - spike_factor_min);
                    if spike { factor } else { 1.0 }
                }
                _ => 1.0,
            }
        };
        let mut multipliers = Vec::new();
        for i in 0..n {
            let mid = (i as f64 + 0.5) * segment;
            let m = match pattern {
                Pattern::Steady => 1.0,
                Pattern::Bursty { .. } => bursty(pattern, rng),
                Pattern::Periodic { .. } => periodic(pattern, mid),
                Pattern::Mixed => {
                    // Mixed: periodic on the scale of the horizon (so a short run still sees a cycle) times bursty.
                    let p = Pattern::Periodic {
                        long_period: horizon,
                        long_amplitude: 0.5,
                        short_period: horizon / 24.0,
                        short_amplitude: 0.2,
                    };
                    periodic(p, mid) * bursty(Pattern::BURSTY, rng)
                }
            };
            multipliers.push(m);
        }
        let mean = multipliers.iter().sum::<f64>() / n as f64;
        for m in &mut multipliers {
            *m /= mean;
        }
        Ok(RateProfile {
            segment,
            multipliers,
        })
    }

    /// A constant multiplier of one.
    pub fn steady() -> RateProfile {
        RateProfile {
            segment: f64::INFINITY,
            multipliers: vec![1.0],
        }
    }

    /// The multiplier at time `t` (the last segment's beyond the horizon).
    pub fn at(&self, t: f64) -> f64 {
        let idx = if self.segment.is_finite() {
            (t / self.segment).floor().max(0.0) as usize
        } else {
            0
        };
        self.multipliers[idx.min(self.multipliers.len() - 1)]
    }

    /// Segment length in time units.
    pub fn segment(&self) -> f64 {
        self.segment
    }

    /// The multipliers, one per segment.
    pub fn multipliers(&self) -> &[f64] {
        &self.multipliers
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use des::RngStreams;

    #[test]
    fn profiles_have_mean_one_and_bursts_spike() {
        let mut rng = RngStreams::new(1).stream("pattern");
        for p in [
            Pattern::Steady,
            Pattern::BURSTY,
            Pattern::PERIODIC_SECONDS,
            Pattern::Mixed,
        ] {
            let prof = RateProfile::new(p, 86_400.0, 60.0, &mut rng).unwrap();
            let mean = prof.multipliers().iter().sum::<f64>() / prof.multipliers().len() as f64;
            assert!(
                (mean - 1.0).abs() < 1e-9,
                "{} mean {mean}, tolerance 1e-9",
                p.name()
            );
        }
        let prof = RateProfile::new(Pattern::BURSTY, 86_400.0, 60.0, &mut rng).unwrap();
        let max = prof.multipliers().iter().cloned().fold(0.0, f64::max);
        let min = prof
            .multipliers()
            .iter()
            .cloned()
            .fold(f64::INFINITY, f64::min);
        assert!(
            max / min >= 5.0 && max / min <= 10.0 + 1e-9,
            "spike ratio {}",
            max / min
        );
        assert!(RateProfile::new(Pattern::Steady, -1.0, 1.0, &mut rng).is_err());
    }
}
