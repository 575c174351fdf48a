//! Invocations (one call of a function) and function profiles (what a trace says about a function).

use des::SimTime;
use rand::Rng;

/// One call of a function: when it arrives, how long it runs on a warm instance, how much memory it uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Invocation {
    /// Position in the stream (0, 1, 2, ... in arrival order).
    pub id: u64,
    /// Index into the workload's function list.
    pub function_idx: u32,
    /// Arrival time.
    pub arrival: SimTime,
    /// Execution time on a warm instance (the ideal duration of the slowdown metric); at least 1 us.
    pub duration: SimTime,
    /// Memory the invocation uses, in MB.
    pub memory_mb: u32,
}

/// An empirical distribution given by percentile points, sampled by linear interpolation between them
/// (inverse-CDF sampling of the piecewise-linear CDF through the points).
///
/// This is a distribution read from a trace's published percentiles, not a statistic of a sample:
/// percentiles *of a sample* use the project's one definition, nearest rank ([`des::stats`]), as the
/// Azure 2021 reader does to build these points.
#[derive(Debug, Clone, PartialEq)]
pub struct Percentiles {
    /// `(quantile in [0, 1], value)`, quantiles strictly increasing, values non-decreasing.
    points: Vec<(f64, f64)>,
}

impl Percentiles {
    /// Builds the distribution; `None` when fewer than one point, quantiles are not strictly increasing
    /// within [0, 1], or values are not finite and non-decreasing.
    pub fn new(points: Vec<(f64, f64)>) -> Option<Percentiles> {
        if points.is_empty() {
            return None;
        }
        for w in points.windows(2) {
            if w[1].0 <= w[0].0 || w[1].1 < w[0].1 {
                return None;
            }
        }
        if points
            .iter()
            .any(|&(q, v)| !(0.0..=1.0).contains(&q) || !v.is_finite())
        {
            return None;
        }
        Some(Percentiles { points })
    }

    /// A single value (a degenerate distribution).
    pub fn constant(value: f64) -> Percentiles {
        Percentiles {
            points: vec![(0.0, value), (1.0, value)],
        }
    }

    /// The points.
    pub fn points(&self) -> &[(f64, f64)] {
        &self.points
    }

    /// The value at quantile `q` (clamped to the first and last points).
    pub fn quantile(&self, q: f64) -> f64 {
        let p = &self.points;
        if q <= p[0].0 {
            return p[0].1;
        }
        for w in p.windows(2) {
            if q <= w[1].0 {
                let t = (q - w[0].0) / (w[1].0 - w[0].0);
                return w[0].1 + t * (w[1].1 - w[0].1);
            }
        }
        p[p.len() - 1].1
    }

    /// Draws one value (one uniform draw from `rng`).
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        self.quantile(rng.random::<f64>())
    }
}

/// What a workload knows about one function.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionProfile {
    /// Function name (the trace's HashFunction, or a generated name).
    pub name: String,
    /// Application name (HashApp), empty if unknown.
    pub app: String,
    /// Trigger (http, queue, timer, ...), empty if unknown.
    pub trigger: String,
    /// Memory of one instance in MB (what a user would configure): the 99th percentile of the memory
    /// distribution, rounded up.
    pub memory_mb: u32,
    /// Warm execution time distribution in milliseconds.
    pub duration_ms: Percentiles,
    /// Memory use distribution in MB.
    pub memory_mb_dist: Percentiles,
}

impl FunctionProfile {
    /// Median warm duration in seconds.
    pub fn duration_s_p50(&self) -> f64 {
        self.duration_ms.quantile(0.5) / 1e3
    }

    /// 99th-percentile warm duration in seconds.
    pub fn duration_s_p99(&self) -> f64 {
        self.duration_ms.quantile(0.99) / 1e3
    }
}

/// The smallest duration a stream emits (1 ms): the Azure traces round to whole ms and report zeros.
pub(crate) const MIN_DURATION_MS: f64 = 1.0;

/// Largest duration a trace may give, ms (about 116 days; Azure Functions' longest plans stop at hours):
/// larger values are unit mistakes and would overflow the arithmetic on times. Trace readers reject
/// them with the file and line.
pub const MAX_DURATION_MS: f64 = 1e10;

/// Largest memory a trace may give, MB (10 TB).
pub const MAX_MEMORY_MB: f64 = 1e7;

/// Largest timestamp a trace may give, seconds since its start (about 31 years).
pub const MAX_TIMESTAMP_S: f64 = 1e9;

/// Largest invocation count of one function in one minute of an Azure 2019 trace (10^7, about 170,000
/// per second; the published trace's busiest function stays far below): a minute's invocations are
/// buffered, so a larger count would be an allocation a file could demand.
pub const MAX_INVOCATIONS_PER_MINUTE: u32 = 10_000_000;

/// Largest `load_scale` of a trace stream (each minute's counts are multiplied by it).
pub const MAX_LOAD_SCALE: f64 = 1000.0;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_linearly() {
        let p = Percentiles::new(vec![(0.0, 10.0), (0.5, 20.0), (1.0, 40.0)]).unwrap();
        assert!((p.quantile(0.25) - 15.0).abs() < 1e-12, "tolerance 1e-12");
        assert!((p.quantile(0.75) - 30.0).abs() < 1e-12, "tolerance 1e-12");
        assert_eq!(p.quantile(-1.0), 10.0);
        assert_eq!(p.quantile(2.0), 40.0);
        assert!(Percentiles::new(vec![(0.0, 2.0), (0.5, 1.0)]).is_none());
        assert!(Percentiles::new(vec![(0.5, 2.0), (0.5, 3.0)]).is_none());
    }
}
