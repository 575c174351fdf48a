//! Integration tests of the optimizer: the exact solver against brute force, heuristics never beating
//! it, plan properties and errors, and policies in the simulator on the example workflows.

mod exact;
mod plans;
mod service;
mod simulate;

use optimizer::{Model, StepOption, StepPredictor};
use platform::StepConfig;
use workflow::{StepId, StepSpec, Workflow, WorkflowSpec};

/// A task step spec.
pub fn task(
    name: &str,
    after: &[String],
    jobs: u32,
    work_s: f64,
    parallel_fraction: f64,
    memory_mb_per_worker: u32,
) -> StepSpec {
    StepSpec {
        name: name.into(),
        after: after.to_vec(),
        jobs: Some(jobs),
        work_s: Some(work_s),
        parallel_fraction: Some(parallel_fraction),
        memory_mb_per_worker: Some(memory_mb_per_worker),
        input_mb: Some(1.0),
        output_mb: Some(1.0),
        ..Default::default()
    }
}

/// Validates a workflow from steps.
pub fn workflow(steps: Vec<StepSpec>) -> Workflow {
    Workflow::from_spec(
        &WorkflowSpec {
            name: "t".into(),
            steps,
            ..Default::default()
        },
        "test",
    )
    .expect("valid test workflow")
}

/// Loads an example workflow from the repository root.
pub fn example(name: &str) -> Workflow {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name);
    Workflow::load(&path).expect("example workflow loads")
}

/// Arbitrary predictions from a table (adversarial fronts: not convex, not monotone in anything).
pub struct TablePredictor {
    /// `(step, config) -> (duration_s, cost_usd)`.
    pub table: std::collections::BTreeMap<(u32, StepConfig), (f64, f64)>,
}

impl StepPredictor for TablePredictor {
    fn duration_s(&self, step: StepId, cfg: StepConfig) -> f64 {
        self.table.get(&(step.0, cfg)).map_or(f64::NAN, |v| v.0)
    }
    fn cost_usd(&self, step: StepId, cfg: StepConfig) -> f64 {
        self.table.get(&(step.0, cfg)).map_or(f64::NAN, |v| v.1)
    }
}

/// The cheapest assignment of all options (dominated ones included) by enumeration: steps with
/// `fixed[i] = Some(finish)` are given; free steps start at `max(ready[i], preds' finish)`. Returns
/// `(cost, latency)` of the cheapest plan meeting `deadline_s`, or `None`.
pub fn brute_force(
    wf: &Workflow,
    model: &Model,
    fixed: &[Option<f64>],
    ready: &[f64],
    deadline_s: f64,
) -> Option<(f64, f64)> {
    let n = wf.n_steps();
    let opts: Vec<Vec<StepOption>> = (0..n)
        .map(|i| model.options(i).copied().collect())
        .collect();
    let mut idx = vec![0usize; n];
    let mut best: Option<(f64, f64)> = None;
    loop {
        let mut finish = vec![0.0f64; n];
        let mut cost = 0.0;
        for &id in wf.topo_order() {
            let i = id.idx();
            if let Some(f) = fixed[i] {
                finish[i] = f;
                continue;
            }
            let start = wf
                .preds(id)
                .iter()
                .map(|p| finish[p.idx()])
                .fold(ready[i], f64::max);
            finish[i] = start + opts[i][idx[i]].duration_s;
            cost += opts[i][idx[i]].cost_usd;
        }
        let lat = finish.iter().copied().fold(0.0, f64::max);
        if lat <= deadline_s + 1e-9 && best.is_none_or(|b| cost < b.0) {
            best = Some((cost, lat));
        }
        // Next combination over free steps.
        let mut k = 0;
        loop {
            if k == n {
                return best;
            }
            if fixed[k].is_some() {
                k += 1;
                continue;
            }
            idx[k] += 1;
            if idx[k] < opts[k].len() {
                break;
            }
            idx[k] = 0;
            k += 1;
        }
    }
}
