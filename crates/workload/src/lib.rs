//! Arrival processes and trace readers for the allocation environment: DeepRM's job distribution with
//! Bernoulli arrivals, steady/bursty/periodic/mixed generators, and the Azure Functions 2019 and 2021
//! trace readers that turn published traces into seeded invocation streams.
//!
//! Determinism: every generator takes a root seed and draws from named [`des::RngStreams`] sub-streams;
//! the same seed and inputs give the same invocations, byte for byte. Readers report malformed input as
//! [`Error`] with the file and line number; nothing here panics on user input.
#![warn(missing_docs)]

mod azure2019;
mod azure2021;
mod csvline;
mod deeprm;
mod error;
mod invocation;
mod pattern;
mod synth;

pub use azure2019::{Azure2019Stream, Azure2019Trace};
pub use azure2021::Azure2021Trace;
pub use deeprm::{
    DeepRmJob, DeepRmJobDist, DeepRmJobSet, LoadRate, MAX_DEEPRM_RESOURCES, MAX_DEEPRM_SIMU_LEN,
    MAX_DEEPRM_STEPS_OR_SLOTS,
};
pub use error::Error;
pub use invocation::{
    FunctionProfile, Invocation, MAX_DURATION_MS, MAX_INVOCATIONS_PER_MINUTE, MAX_LOAD_SCALE,
    MAX_MEMORY_MB, MAX_TIMESTAMP_S, Percentiles,
};
pub use pattern::{MAX_SEGMENTS, Pattern, RateProfile};
pub use synth::{
    FunctionClass, MAX_SYNTHETIC_FUNCTIONS, MAX_SYNTHETIC_INVOCATIONS, SyntheticSpec,
    SyntheticWorkload,
};

/// Samples a standard normal value with the Box-Muller transform (one value per call, two uniforms).
///
/// Kept here rather than pulling `rand_distr` so the draw sequence is pinned by this crate.
pub fn standard_normal<R: rand::Rng + ?Sized>(rng: &mut R) -> f64 {
    // 1 - u keeps the logarithm's argument in (0, 1].
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// Samples an exponential value with mean `mean` (inverse transform).
pub fn exponential<R: rand::Rng + ?Sized>(rng: &mut R, mean: f64) -> f64 {
    let u: f64 = 1.0 - rng.random::<f64>();
    -u.ln() * mean
}
