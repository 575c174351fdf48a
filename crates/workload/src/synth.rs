//! Synthetic serverless workloads (seed paper section 4.1): steady (normally distributed inter-arrival
//! times), bursty (5-10x spikes), periodic (daily and hourly cycles) and mixed (short small functions,
//! long large functions and memory-intensive functions, each class with its own pattern).

use des::{RngStreams, SimTime};

use crate::invocation::MIN_DURATION_MS;
use crate::{
    Error, FunctionProfile, Invocation, Pattern, Percentiles, RateProfile, exponential,
    standard_normal,
};

/// Largest `n_functions` of a [`SyntheticSpec`].
pub const MAX_SYNTHETIC_FUNCTIONS: usize = 100_000;

/// Largest expected number of invocations (`rate_per_s x horizon_s`) of a [`SyntheticSpec`]: the
/// workload is generated in memory.
pub const MAX_SYNTHETIC_INVOCATIONS: f64 = 1e8;

/// A kind of function in a synthetic workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FunctionClass {
    /// Short and small: median 100 ms, 256 MB.
    Short,
    /// Long and large: median 5 s, 2,048 MB.
    Long,
    /// Memory-intensive with moderate CPU: median 1 s, 4,096 MB.
    MemoryIntensive,
}

impl FunctionClass {
    fn profile(self, idx: usize) -> FunctionProfile {
        let (median_ms, memory_mb, name) = match self {
            FunctionClass::Short => (100.0, 256, "short"),
            FunctionClass::Long => (5_000.0, 2_048, "long"),
            FunctionClass::MemoryIntensive => (1_000.0, 4_096, "memory"),
        };
        // A log-normal-like spread: p1 = median / 4, p99 = median * 4.
        let points = vec![
            (0.0, median_ms / 5.0),
            (0.01, median_ms / 4.0),
            (0.25, median_ms * 0.7),
            (0.5, median_ms),
            (0.75, median_ms * 1.4),
            (0.99, median_ms * 4.0),
            (1.0, median_ms * 5.0),
        ];
        FunctionProfile {
            name: format!("{name}-{idx}"),
            app: format!("synthetic-{name}"),
            trigger: "synthetic".into(),
            memory_mb,
            duration_ms: Percentiles::new(points)
                .unwrap_or_else(|| Percentiles::constant(median_ms)),
            memory_mb_dist: Percentiles::constant(memory_mb as f64),
        }
    }
}

/// The parameters of a synthetic workload.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticSpec {
    /// How the rate varies; `Mixed` also mixes function classes.
    pub pattern: Pattern,
    /// Number of functions.
    pub n_functions: usize,
    /// Mean arrival rate over all functions, invocations per second (default 4: the mixed classes then
    /// keep about 40% of `cluster::default_machines` busy).
    pub rate_per_s: f64,
    /// Length of the workload in seconds.
    pub horizon_s: f64,
}

impl Default for SyntheticSpec {
    fn default() -> Self {
        SyntheticSpec {
            pattern: Pattern::Mixed,
            n_functions: 12,
            rate_per_s: 4.0,
            horizon_s: 3_600.0,
        }
    }
}

/// A generated workload: functions and invocations in arrival order.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticWorkload {
    /// The functions.
    pub functions: Vec<FunctionProfile>,
    /// The invocations, sorted by arrival, ids in that order.
    pub invocations: Vec<Invocation>,
}

impl SyntheticWorkload {
    /// Generates the workload from `seed`. Function `f` draws from sub-stream `synthetic.function` index `f`
    /// and its pattern from `synthetic.pattern` index `f`. Functions share the rate equally. With `Steady`,
    /// inter-arrival times are normal with mean `1/rate` and standard deviation `0.25/rate` (truncated at
    /// zero); otherwise arrivals are Poisson with the pattern's piecewise-constant rate (60 s segments).
    pub fn generate(spec: &SyntheticSpec, seed: u64) -> Result<SyntheticWorkload, Error> {
        if !(1..=MAX_SYNTHETIC_FUNCTIONS).contains(&spec.n_functions) {
            return Err(Error::param(
                "n_functions",
                spec.n_functions,
                "must be in 1..=100000 (MAX_SYNTHETIC_FUNCTIONS)",
            ));
        }
        if !(spec.rate_per_s > 0.0 && spec.rate_per_s.is_finite()) {
            return Err(Error::param(
                "rate_per_s",
                spec.rate_per_s,
                "must be positive and finite",
            ));
        }
        if !(spec.horizon_s > 0.0 && spec.horizon_s <= crate::MAX_TIMESTAMP_S) {
            return Err(Error::param(
                "horizon_s",
                spec.horizon_s,
                "must be positive and at most 1e9 (MAX_TIMESTAMP_S)",
            ));
        }
        if spec.rate_per_s * spec.horizon_s > MAX_SYNTHETIC_INVOCATIONS {
            return Err(Error::param(
                "rate_per_s",
                spec.rate_per_s,
                "rate_per_s x horizon_s must be at most 1e8 expected invocations (MAX_SYNTHETIC_INVOCATIONS)",
            ));
        }
        let streams = RngStreams::new(seed);
        let classes = [
            FunctionClass::Short,
            FunctionClass::Long,
            FunctionClass::MemoryIntensive,
        ];
        let mut functions = Vec::new();
        let mut all = Vec::new();
        let rate_f = spec.rate_per_s / spec.n_functions as f64;
        for f in 0..spec.n_functions {
            let (class, pattern) = match spec.pattern {
                Pattern::Mixed => {
                    // Classes and patterns rotate so every class meets every pattern.
                    let pats = [Pattern::Steady, Pattern::BURSTY, Pattern::PERIODIC_SECONDS];
                    (classes[f % 3], pats[(f / 3) % 3])
                }
                p => (FunctionClass::Short, p),
            };
            // Mixed's short functions carry most invocations, as in production traces.
            let weight = match (spec.pattern, class) {
                (Pattern::Mixed, FunctionClass::Short) => 2.0,
                (Pattern::Mixed, _) => 0.5,
                _ => 1.0,
            };
            let rate = rate_f * weight;
            let prof = class.profile(f);
            let mut rng = streams.indexed("synthetic.function", f as u64);
            let mut t = 0.0;
            if pattern == Pattern::Steady {
                loop {
                    let gap = (1.0 + 0.25 * standard_normal(&mut rng)).max(0.0) / rate;
                    t += gap;
                    if t >= spec.horizon_s {
                        break;
                    }
                    all.push((t, f, prof.duration_ms.sample(&mut rng)));
                }
            } else {
                let mut prng = streams.indexed("synthetic.pattern", f as u64);
                let profile = RateProfile::new(pattern, spec.horizon_s, 60.0, &mut prng)?;
                // Piecewise-constant Poisson: exponential gaps at the segment's rate, restarted at each
                // segment boundary (exact by memorylessness).
                let seg = profile.segment();
                for (s, &m) in profile.multipliers().iter().enumerate() {
                    let start = s as f64 * seg;
                    let end = (start + seg).min(spec.horizon_s);
                    let r = rate * m;
                    if r <= 0.0 {
                        continue;
                    }
                    t = start;
                    loop {
                        t += exponential(&mut rng, 1.0 / r);
                        if t >= end {
                            break;
                        }
                        all.push((t, f, prof.duration_ms.sample(&mut rng)));
                    }
                }
            }
            functions.push(prof);
        }
        all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let invocations = all
            .iter()
            .enumerate()
            .map(|(id, &(t, f, dur_ms))| Invocation {
                id: id as u64,
                function_idx: f as u32,
                arrival: SimTime::from_secs_f64(t),
                duration: SimTime::from_secs_f64(dur_ms.max(MIN_DURATION_MS) / 1e3),
                memory_mb: functions[f].memory_mb,
            })
            .collect();
        Ok(SyntheticWorkload {
            functions,
            invocations,
        })
    }
}

impl SyntheticWorkload {
    /// The invocations with arrival rate scaled by `load_scale`: below one, each is kept with that
    /// probability; above one, each is repeated `floor(scale)` times plus once more with the fractional
    /// probability. Ids are renumbered; the draws use sub-stream `synthetic.scale`.
    pub fn scaled(&self, seed: u64, load_scale: f64) -> Result<Vec<Invocation>, Error> {
        scale_invocations(&self.invocations, seed, "synthetic.scale", load_scale)
    }
}

/// Thins or repeats `invocations` to scale their rate (shared by the synthetic and Azure 2021 workloads).
pub(crate) fn scale_invocations(
    invocations: &[Invocation],
    seed: u64,
    stream: &str,
    load_scale: f64,
) -> Result<Vec<Invocation>, Error> {
    use rand::Rng;
    if !(0.0..=crate::MAX_LOAD_SCALE).contains(&load_scale) {
        return Err(Error::param(
            "load_scale",
            load_scale,
            "must be in [0, 1000] (MAX_LOAD_SCALE)",
        ));
    }
    if load_scale == 1.0 {
        return Ok(invocations.to_vec());
    }
    let mut rng = RngStreams::new(seed).stream(stream);
    let mut out = Vec::new();
    for inv in invocations {
        let mut n = load_scale.floor() as u64;
        if rng.random::<f64>() < load_scale.fract() {
            n += 1;
        }
        for _ in 0..n {
            out.push(Invocation {
                id: out.len() as u64,
                ..*inv
            });
        }
    }
    Ok(out)
}
