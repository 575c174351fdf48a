//! A policy wrapper that measures the wall-clock time of every decision (the CLI is the only place that
//! reads the clock; the simulation itself never does).

use std::time::Instant;

use platform::{Policy, StepConfig, StepContext, StepOutcome};

/// Wraps a policy and records each `choose` call's duration in nanoseconds.
pub struct Timed<P> {
    inner: P,
    decision_ns: Vec<u64>,
}

impl<P: Policy> Timed<P> {
    /// Wraps `inner`.
    pub fn new(inner: P) -> Self {
        Timed {
            inner,
            decision_ns: Vec::new(),
        }
    }

    /// Nearest-rank percentile `p` (0..=100) of decision times, microseconds (0 with no decisions).
    pub fn decision_us_percentile(&self, p: f64) -> f64 {
        let mut v = self.decision_ns.clone();
        v.sort_unstable();
        des::stats::percentile_sorted(&v, p).map_or(0.0, |ns| ns as f64 / 1e3)
    }

    /// Number of decisions made.
    pub fn n_decisions(&self) -> usize {
        self.decision_ns.len()
    }
}

impl<P: Policy> Policy for Timed<P> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn choose(&mut self, ctx: &StepContext<'_>) -> StepConfig {
        // Wall clock: measures decision time (reported with --timings).
        #[allow(clippy::disallowed_methods)]
        let t0 = Instant::now();
        let c = self.inner.choose(ctx);
        self.decision_ns.push(t0.elapsed().as_nanos() as u64);
        c
    }

    fn observe(&mut self, ctx: &StepContext<'_>, outcome: &StepOutcome) {
        self.inner.observe(ctx, outcome)
    }
}
