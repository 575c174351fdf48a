//! Run metrics: slowdown (mean exact, percentiles from a log-bucketed histogram), utilization, cold
//! starts, SLO violations, cost, wasted warm memory-time, and the accounting of every invocation.

use std::collections::BTreeMap;

/// Relative width of a slowdown histogram bucket: percentiles are within 0.05% of the exact value.
const BUCKET_RATIO: f64 = 1.0005;

/// Up to this many values, percentiles are exact (the values are kept); beyond, they come from the
/// histogram.
const EXACT_CAP: usize = 1 << 20;

/// Slowdown statistics: exact count, sum and extremes; percentiles exact up to 2^20 values, then from a
/// sparse log histogram (bounded memory for millions of invocations, deterministic iteration order).
#[derive(Debug, Clone, PartialEq)]
pub struct SlowdownStats {
    n: u64,
    sum: f64,
    min: f64,
    max: f64,
    values: Option<Vec<f64>>,
    buckets: BTreeMap<i64, u64>,
}

impl Default for SlowdownStats {
    fn default() -> Self {
        SlowdownStats {
            n: 0,
            sum: 0.0,
            min: f64::INFINITY,
            max: 0.0,
            values: Some(Vec::new()),
            buckets: BTreeMap::new(),
        }
    }
}

impl SlowdownStats {
    /// Records one slowdown (finite, positive).
    pub fn record(&mut self, slowdown: f64) {
        if !(slowdown.is_finite() && slowdown > 0.0) {
            return;
        }
        self.n += 1;
        self.sum += slowdown;
        self.min = self.min.min(slowdown);
        self.max = self.max.max(slowdown);
        self.keep(&[slowdown]);
        let b = (slowdown.ln() / BUCKET_RATIO.ln()).floor() as i64;
        *self.buckets.entry(b).or_insert(0) += 1;
    }

    fn keep(&mut self, more: &[f64]) {
        if let Some(v) = &mut self.values {
            if v.len() + more.len() <= EXACT_CAP {
                v.extend_from_slice(more);
            } else {
                self.values = None;
            }
        }
    }

    /// Number recorded.
    pub fn n(&self) -> u64 {
        self.n
    }

    /// Exact mean, `None` when empty.
    pub fn mean(&self) -> Option<f64> {
        (self.n > 0).then(|| self.sum / self.n as f64)
    }

    /// The `q`-quantile by the project's one definition (nearest rank, [`des::stats`]): exact up to
    /// 2^20 values; beyond, the same rank looked up in the log histogram, which is a different
    /// estimator of the same quantity (the lower edge of the bucket holding that rank, clamped to the
    /// smallest and largest value seen: within 0.05% relative). `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.n == 0 {
            return None;
        }
        if let Some(v) = &self.values {
            return des::stats::quantile(&mut v.clone(), q);
        }
        let rank = des::stats::nearest_rank(self.n, q);
        let mut seen = 0;
        for (&b, &c) in &self.buckets {
            seen += c;
            if seen >= rank {
                return Some(BUCKET_RATIO.powf(b as f64).clamp(self.min, self.max));
            }
        }
        Some(self.max)
    }
}

/// The metrics of one run (one policy, one load, one seed).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunMetrics {
    /// Invocations (jobs) that arrived.
    pub n_arrived: u64,
    /// Invocations that finished.
    pub n_finished: u64,
    /// Invocations still waiting, blocked or running when the run stopped.
    pub n_pending: u64,
    /// Invocations dropped on arrival (DeepRM: backlog full).
    pub n_dropped: u64,
    /// Slowdown `(finish - ready) / duration` over finished invocations.
    pub slowdown: SlowdownStats,
    /// Mean over resources of the fraction of capacity-time held by running invocations, over the run.
    pub utilization: f64,
    /// Placements that started a new instance.
    pub n_cold_starts: u64,
    /// Placements that reused an idle warm instance.
    pub n_warm_starts: u64,
    /// Finished invocations whose response time exceeded their function's SLO.
    pub n_slo_violations: u64,
    /// AWS-style cost: billed (cold start plus execution, rounded up to 1 ms) x allocated GB x price per
    /// GB-s, plus the per-request price. Zero in DeepRM mode.
    pub cost_usd: f64,
    /// Memory-time held by idle warm instances (the keep-alive policy's waste), GB-s.
    pub idle_memory_gb_s: f64,
    /// Instances evicted to make room for a cold start.
    pub n_evictions: u64,
    /// Instances loaded by a pre-warm decision.
    pub n_prewarms: u64,
    /// Time of the last completion (or the stop time), seconds.
    pub makespan_s: f64,
    /// Policy decisions taken.
    pub n_decisions: u64,
    /// Placements that could not be carried out.
    pub n_invalid_actions: u64,
    /// Sum of step rewards.
    pub total_reward: f64,
}

impl RunMetrics {
    /// Mean slowdown, `None` when nothing finished.
    pub fn slowdown_mean(&self) -> Option<f64> {
        self.slowdown.mean()
    }

    /// 95th-percentile slowdown (within 0.05%), `None` when nothing finished.
    pub fn slowdown_p95(&self) -> Option<f64> {
        self.slowdown.quantile(0.95)
    }

    /// Cold starts over placements, `None` without placements.
    pub fn cold_start_rate(&self) -> Option<f64> {
        let n = self.n_cold_starts + self.n_warm_starts;
        (n > 0).then(|| self.n_cold_starts as f64 / n as f64)
    }

    /// SLO violations over finished invocations, `None` when nothing finished.
    pub fn slo_violation_rate(&self) -> Option<f64> {
        (self.n_finished > 0).then(|| self.n_slo_violations as f64 / self.n_finished as f64)
    }

    /// True when every arrival is accounted for: finished, pending or dropped.
    pub fn is_conserved(&self) -> bool {
        self.n_arrived == self.n_finished + self.n_pending + self.n_dropped
    }

    /// Adds another run's counts and sums (for averaging over job sets); utilization and makespan are
    /// combined as a mean weighted by makespan.
    pub fn merge(&mut self, other: &RunMetrics) {
        let w0 = self.makespan_s;
        let w1 = other.makespan_s;
        self.utilization = if w0 + w1 > 0.0 {
            (self.utilization * w0 + other.utilization * w1) / (w0 + w1)
        } else {
            0.0
        };
        self.makespan_s += other.makespan_s;
        self.n_arrived += other.n_arrived;
        self.n_finished += other.n_finished;
        self.n_pending += other.n_pending;
        self.n_dropped += other.n_dropped;
        self.slowdown.n += other.slowdown.n;
        self.slowdown.sum += other.slowdown.sum;
        self.slowdown.min = self.slowdown.min.min(other.slowdown.min);
        self.slowdown.max = self.slowdown.max.max(other.slowdown.max);
        match &other.slowdown.values {
            Some(v) => self.slowdown.keep(v),
            None => self.slowdown.values = None,
        }
        for (b, c) in &other.slowdown.buckets {
            *self.slowdown.buckets.entry(*b).or_insert(0) += c;
        }
        self.n_cold_starts += other.n_cold_starts;
        self.n_warm_starts += other.n_warm_starts;
        self.n_slo_violations += other.n_slo_violations;
        self.cost_usd += other.cost_usd;
        self.idle_memory_gb_s += other.idle_memory_gb_s;
        self.n_evictions += other.n_evictions;
        self.n_prewarms += other.n_prewarms;
        self.n_decisions += other.n_decisions;
        self.n_invalid_actions += other.n_invalid_actions;
        self.total_reward += other.total_reward;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_within_bucket_tolerance() {
        let mut s = SlowdownStats::default();
        for i in 1..=1000 {
            s.record(i as f64);
        }
        assert_eq!(s.mean(), Some(500.5));
        assert_eq!(s.quantile(0.95), Some(950.0));
        // Past the exact cap, the histogram answers within 0.05%.
        s.values = None;
        let p95 = s.quantile(0.95).unwrap();
        assert!(
            (p95 / 950.0 - 1.0).abs() < 5e-4,
            "p95 {p95}, tolerance 0.05%"
        );
        let mut ones = SlowdownStats::default();
        ones.record(1.0);
        ones.values = None;
        assert_eq!(ones.quantile(0.95), Some(1.0));
        assert_eq!(SlowdownStats::default().mean(), None);
    }
}
