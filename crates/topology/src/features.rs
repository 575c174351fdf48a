//! The graph a topology scorer reads: one node per step with its features, and the workflow's edges
//! typed by whether data flows along them.
//!
//! Node features ([`NODE_FEATURES`] of them, in this order; sizes on log scales so that workflows of
//! very different scale share one range):
//!
//! | # | feature |
//! |---|---|
//! | 0-3 | kind one-hot: task, choice, pass, fail |
//! | 4 | `ln(1 + predicted duration s)` at the planned configuration ([`crate::quick`]) |
//! | 5 | `ln(1 + predicted cost in micro-USD)` at the planned configuration |
//! | 6 | planned memory, GB |
//! | 7 | `ln(1 + planned fan-out)` |
//! | 8 | planned workers |
//! | 9 | `ln(1 + jobs)` |
//! | 10 | `ln(1 + work_s)` per job |
//! | 11 | parallel fraction |
//! | 12 | `ln(1 + input_mb)` per job |
//! | 13 | `ln(1 + output_mb)` per job |
//! | 14 | memory per worker, GB |
//! | 15 | `ln(1 + max_fan_out)` (0: unbounded) |
//! | 16 | `ln(batch size)` (0: unbatched) |
//! | 17 | batch window, seconds / 10 |
//! | 18 | `wait_s / SLO` |
//! | 19 | on the planned critical path (0/1) |
//! | 20 | planned start / SLO |
//! | 21 | sub-SLO / SLO |
//! | 22 | `ln(steps sharing the function)` |
//! | 23 | `ln(1 + rate x predicted duration)`: the step's expected concurrency at the load |
//! | 24 | `ln(1 + arrival rate per s)` (the same on every node) |
//! | 25 | `ln(1 + SLO s)` (the same on every node) |
//! | 26 | has monitoring history (0/1) |
//! | 27 | observed p95 duration: `ln(1 + s)` |
//! | 28 | observed cold-start rate |
//! | 29 | observed throttles per invocation |
//!
//! History (26-29) comes from the monitoring stream of earlier runs where there is one
//! ([`History`]); without it the features are 0 and the flag says so.
//!
//! Edges: for every control edge `a -> b` one edge of type [`EDGE_DATA`] when `b` reads `a`'s output
//! and [`EDGE_CONTROL`] otherwise, and one of type [`EDGE_DATA`] for every data source that is not a
//! direct predecessor; each edge is added in both directions (messages flow up and down the
//! pipeline). Transition latency is a platform constant and data volumes are node features.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use workflow::{StepKind, Workflow};

use crate::quick::QuickPlan;

/// Number of node features.
pub const NODE_FEATURES: usize = 30;
/// Edge type of a control-only edge.
pub const EDGE_CONTROL: u8 = 0;
/// Edge type of a data-carrying edge.
pub const EDGE_DATA: u8 = 1;
/// Number of edge types.
pub const EDGE_TYPES: u8 = 2;

/// Observed metrics of one function from earlier runs (the monitoring stream).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FunctionHistory {
    /// 95th percentile duration, seconds.
    pub duration_s_p95: f64,
    /// Share of invocations that started cold.
    pub cold_start_rate: f64,
    /// Throttles per invocation.
    pub throttles_per_invocation: f64,
}

/// Observed metrics per function name.
pub type History = BTreeMap<String, FunctionHistory>;

/// A scorer's input: a plain feature matrix and typed edges (no ML types).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureGraph {
    /// Nodes (one per step, in step order).
    pub n_nodes: usize,
    /// Row-major `n_nodes x NODE_FEATURES`.
    pub node_features: Vec<f32>,
    /// `(src, dst, type)`.
    pub edges: Vec<(u32, u32, u8)>,
}

fn ln1p(x: f64) -> f64 {
    x.max(0.0).ln_1p()
}

/// The features of `wf` under `plan` (a [`crate::quick::quick_plan`] of this workflow) at
/// `rate_per_s`, with optional history.
pub fn build(
    wf: &Workflow,
    plan: &QuickPlan,
    rate_per_s: f64,
    history: Option<&History>,
) -> FeatureGraph {
    let n = wf.n_steps();
    let slo = plan.slo_s.max(1e-9);
    let mut shared: BTreeMap<&str, usize> = BTreeMap::new();
    for s in wf.steps() {
        *shared.entry(s.function.as_str()).or_default() += 1;
    }
    let critical = &plan.critical;
    let mut x = Vec::with_capacity(n * NODE_FEATURES);
    for (i, s) in wf.steps().iter().enumerate() {
        let p = &plan.steps[i];
        let mut f = [0.0f64; NODE_FEATURES];
        f[match s.kind {
            StepKind::Task => 0,
            StepKind::Choice => 1,
            StepKind::Pass => 2,
            StepKind::Fail => 3,
        }] = 1.0;
        let task = s.kind == StepKind::Task;
        f[4] = ln1p(p.duration_s_pred);
        f[5] = ln1p(p.cost_usd_pred * 1e6);
        if task {
            f[6] = f64::from(p.memory_mb) / 1024.0;
            f[7] = ln1p(f64::from(p.fan_out));
            f[8] = f64::from(p.workers);
            f[9] = ln1p(f64::from(s.jobs));
            f[10] = ln1p(s.work_s);
            f[11] = s.parallel_fraction;
            f[12] = ln1p(s.input_mb);
            f[13] = ln1p(s.output_mb);
            f[14] = f64::from(s.memory_mb_per_worker) / 1024.0;
        }
        f[15] = s.max_fan_out.map_or(0.0, |m| ln1p(f64::from(m)));
        if let Some(b) = s.batch {
            f[16] = f64::from(b.size).ln();
            f[17] = b.window_s / 10.0;
        }
        f[18] = s.wait_s / slo;
        f[19] = f64::from(u8::from(critical[i]));
        f[20] = p.start_s_pred / slo;
        f[21] = p.sub_slo_s / slo;
        f[22] = (shared[s.function.as_str()] as f64).ln();
        f[23] = ln1p(rate_per_s * p.duration_s_pred);
        f[24] = ln1p(rate_per_s);
        f[25] = ln1p(slo);
        if let Some(h) = history.and_then(|h| h.get(&s.function)) {
            f[26] = 1.0;
            f[27] = ln1p(h.duration_s_p95);
            f[28] = h.cold_start_rate;
            f[29] = h.throttles_per_invocation;
        }
        x.extend(f.iter().map(|&v| {
            let v = v as f32;
            if v.is_finite() { v } else { 0.0 }
        }));
    }
    let mut edges = Vec::new();
    for b in wf.step_ids() {
        let data = &wf.step(b).data_from;
        for &a in wf.preds(b) {
            let t = if data.contains(&a) {
                EDGE_DATA
            } else {
                EDGE_CONTROL
            };
            edges.push((a.0, b.0, t));
            edges.push((b.0, a.0, t));
        }
        for &a in data {
            if !wf.preds(b).contains(&a) {
                edges.push((a.0, b.0, EDGE_DATA));
                edges.push((b.0, a.0, EDGE_DATA));
            }
        }
    }
    FeatureGraph {
        n_nodes: n,
        node_features: x,
        edges,
    }
}
