//! Random realistic workflows for training and held-out evaluation of a topology scorer.
//!
//! [`generate`] draws one workflow from `(seed, index)` alone: the stream is
//! `des::RngStreams::new(seed).indexed("topology-gen", index)`, so workflow `k` is the same whatever
//! other indices are generated (training uses small indices, held-out sets large ones).
//!
//! A workflow has between [`GenOptions::min_steps`] and [`GenOptions::max_steps`] task steps (uniform)
//! in one of [`GenOptions::shapes`] (uniform):
//! - [`Shape::Chain`]: a pipeline, each step after the previous one;
//! - [`Shape::FanOutIn`]: one step, 2 to 6 parallel branches (chains) of the middle steps, one join;
//! - [`Shape::Diamond`]: diamonds in series (a step, 2 or 3 parallel steps, a join; again);
//! - [`Shape::Mixed`]: a random DAG with one source, each step after 1 to 3 earlier steps, recent ones
//!   more likely (fan-outs, joins and skip edges together).
//!
//! Shapes that need more steps than drawn degrade to a chain for the rest (a fan-out-in needs 3, a
//! diamond 4). Step parameters are drawn from [`REAL_RANGES`], taken from the real workflows in
//! `../shared/data` (each range cites its file). Two kinds of steps make topology transforms apply:
//! - control-only edges ([`GenOptions::control_only_share`]): the successor does not read the
//!   predecessor's output but the predecessor's own data sources (a side effect such as a notification,
//!   or a Step Functions state with `ResultPath: null`); `data_from` then names only ancestors;
//! - shardable steps ([`GenOptions::shardable_share`]): several independent jobs run in one instance
//!   (`max_fan_out: 1`), so that splitting the step into a fan-out (shard) can pay.
//!
//! The SLO is feasible but binding: a factor from [`RealRanges::slo_factor`] times the fastest
//! end-to-end latency on the default platform ([`platform::Platform::lambda`]) with the paper's
//! configuration set, as [`crate::quick::quick_plan`] prices it (the fastest option of every step
//! along the critical path). A planner on that platform can always meet it under the noise-free
//! model; on other platforms it may not (the dataset skips such workflows).
//!
//! Nothing here panics on bad options: [`GenOptions::validate`] reports the first bad field, and
//! [`generate`] clamps (steps to `1..=`[`MAX_GEN_STEPS`], shares to `[0, 1]`, no shapes to all shapes).

use std::fmt;
use std::str::FromStr;

use rand::Rng;
use serde::{Deserialize, Serialize};
use workflow::{StepSpec, Workflow, WorkflowSpec};

use crate::quick::{OptionCache, quick_plan};
use crate::{Error, Result};

/// Most steps a generated workflow may have (generation and its SLO pricing stay fast).
pub const MAX_GEN_STEPS: usize = 1_000;

/// The structure of a generated workflow (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Shape {
    /// A pipeline.
    Chain,
    /// One step, parallel branches, one join.
    FanOutIn,
    /// Diamonds in series.
    Diamond,
    /// A random DAG.
    Mixed,
}

impl Shape {
    /// Every shape, in declaration order.
    pub const ALL: [Shape; 4] = [Shape::Chain, Shape::FanOutIn, Shape::Diamond, Shape::Mixed];

    /// The lower-case name (`chain`, `fanoutin`, `diamond`, `mixed`).
    pub fn as_str(self) -> &'static str {
        match self {
            Shape::Chain => "chain",
            Shape::FanOutIn => "fanoutin",
            Shape::Diamond => "diamond",
            Shape::Mixed => "mixed",
        }
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Shape {
    type Err = Error;

    /// Parses a lower-case name; `fan-out-in` and `fan_out_in` are accepted for `fanoutin`.
    fn from_str(s: &str) -> Result<Shape> {
        match s {
            "chain" => Ok(Shape::Chain),
            "fanoutin" | "fan-out-in" | "fan_out_in" => Ok(Shape::FanOutIn),
            "diamond" => Ok(Shape::Diamond),
            "mixed" => Ok(Shape::Mixed),
            _ => Err(Error::Setting {
                field: "shape".into(),
                reason: format!("'{s}' is not one of chain, fanoutin, diamond, mixed"),
            }),
        }
    }
}

/// Ranges of step parameters, each `(low, high)`, from real workflows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RealRanges {
    /// Work per job, single-core seconds at one vCPU (log-uniform).
    pub work_s: (f64, f64),
    /// Data read and written per job, MB (log-uniform, each drawn alone).
    pub data_mb: (f64, f64),
    /// Jobs of a multi-job step (log-uniform integer).
    pub jobs: (u32, u32),
    /// Memory of one worker process, MB (uniform, in steps of 64 MB).
    pub memory_mb_per_worker: (u32, u32),
    /// Parallel fraction of a step that has one (uniform); half of the steps have none.
    pub parallel_fraction: (f64, f64),
    /// Parallel branches of a fan-out-in (uniform integer).
    pub branches: (u32, u32),
    /// SLO over the fastest end-to-end latency (uniform).
    pub slo_factor: (f64, f64),
}

/// The ranges the generator draws from, with their sources (paths under `../shared/data`).
pub const REAL_RANGES: RealRanges = RealRanges {
    // workflowhub/*.json (WorkflowHub traces): job runtimes 0.004 s (montage, cycles) to 160 s
    // (montage mAdd), medians 0.08 to 2 s; azure-functions-samples/azure2019_sampled_at_65cf381/10/
    // durations.csv: median warm durations 0 to 1.6 s, p99 up to 2.6 s; slapp-perfcost/evaluations/
    // alg/App*/App*_G.dot: 0.2 to 0.86 s at about one vCPU (1,856 MB). The top is cut at 30 s so that
    // one step does not hide the rest of the graph.
    work_s: (0.01, 30.0),
    // workflowhub/*.json: per-job input 0.001 to 202 MB (cycles), output 0 to 62 MB, medians 0.02 to
    // 61 MB; faasflow-apps/video/flat_workflow.yaml: objects of 23 to 52 MB.
    data_mb: (0.01, 100.0),
    // workflowhub/montage.json: a step fans out to 64 jobs (mProject, mDiffFit groups);
    // workflowhub/genome.json: 14 children of one job. sebs-workflows/*: map states over arrays.
    jobs: (2, 64),
    // azure-functions-samples/azure2019_sampled_at_65cf381/10/memory.csv: allocated memory of a
    // function, p1 87 MB to p100 507 MB.
    memory_mb_per_worker: (128, 512),
    // slapp-perfcost/evaluations/alg/App1/App1_G.dot: duration stops falling past one vCPU (204 ms at
    // 1,856 MB, 201 ms at 2,048 MB, 200 ms at 3,008 MB): little multi-core work; the range allows some.
    parallel_fraction: (0.0, 0.5),
    // azure-functions-samples/example_at_a1df629/dag_structure.csv (ORION, OSDI'22): production DAG
    // widths 1 to 4 (78.7% width 1); workflowhub/genome.json up to 14. Cut at 6 so that branches keep
    // a few steps each at the default sizes.
    branches: (2, 6),
    // Not from data: the SLO must bind (below 1.2 the optimizer has almost no choice) and stay
    // feasible (at 2.5 most steps can take their cheapest configuration).
    slo_factor: (1.2, 2.5),
};

/// How workflows are generated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenOptions {
    /// Fewest steps, >= 1. Default 3.
    pub min_steps: usize,
    /// Most steps, >= `min_steps` and <= [`MAX_GEN_STEPS`]. Default 30.
    pub max_steps: usize,
    /// The shapes drawn from (uniformly), not empty. Default: all four.
    pub shapes: Vec<Shape>,
    /// Share of the eligible edges that carry no data, in [0, 1]. An edge `p -> s` is eligible when
    /// `s` keeps a data source without it (`p` has predecessors of its own, or `s` has another
    /// predecessor). Default 0.2.
    pub control_only_share: f64,
    /// Share of steps that are shardable (several independent jobs in one instance: `jobs` >= 4 and
    /// `max_fan_out: 1`), in [0, 1]. Default 0.15.
    pub shardable_share: f64,
    /// Share of the other steps that fan out (`jobs` >= 2, no bound on the fan-out), in [0, 1]; the
    /// rest run one job. Default 0.3.
    pub fan_out_share: f64,
}

impl Default for GenOptions {
    fn default() -> GenOptions {
        GenOptions {
            min_steps: 3,
            max_steps: 30,
            shapes: Shape::ALL.to_vec(),
            control_only_share: 0.2,
            shardable_share: 0.15,
            fan_out_share: 0.3,
        }
    }
}

impl GenOptions {
    /// Checks the options; the error names the first bad field.
    pub fn validate(&self) -> Result<()> {
        let bad = |field: &str, reason: String| {
            Err(Error::Setting {
                field: field.into(),
                reason,
            })
        };
        if self.min_steps < 1 {
            return bad("min_steps", "must be at least 1".into());
        }
        if self.max_steps < self.min_steps {
            return bad(
                "max_steps",
                format!("{} is below min_steps {}", self.max_steps, self.min_steps),
            );
        }
        if self.max_steps > MAX_GEN_STEPS {
            return bad(
                "max_steps",
                format!("{} is above the limit {MAX_GEN_STEPS}", self.max_steps),
            );
        }
        if self.shapes.is_empty() {
            return bad("shapes", "must name at least one shape".into());
        }
        for (field, v) in [
            ("control_only_share", self.control_only_share),
            ("shardable_share", self.shardable_share),
            ("fan_out_share", self.fan_out_share),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return bad(field, format!("{v} is not in [0, 1]"));
            }
        }
        Ok(())
    }
}

/// Generates workflow `index` of the set rooted at `seed` (see the module docs): named `gen-{index}`,
/// valid, with an SLO. Deterministic in `(opts, seed, index)`. Options that
/// [`GenOptions::validate`] rejects are clamped, never a panic.
pub fn generate(opts: &GenOptions, seed: u64, index: u64) -> Workflow {
    let mut rng = des::RngStreams::new(seed).indexed("topology-gen", index);
    let lo = opts.min_steps.clamp(1, MAX_GEN_STEPS);
    let hi = opts.max_steps.clamp(lo, MAX_GEN_STEPS);
    let n = rng.random_range(lo..=hi);
    let shapes = if opts.shapes.is_empty() {
        &Shape::ALL[..]
    } else {
        &opts.shapes[..]
    };
    let shape = shapes[rng.random_range(0..shapes.len())];
    let preds = match shape {
        Shape::Chain => chain(n),
        Shape::FanOutIn => fan_out_in(n, &mut rng),
        Shape::Diamond => diamonds(n, &mut rng),
        Shape::Mixed => mixed(n, &mut rng),
    };
    let data = data_sources(&preds, share(opts.control_only_share), &mut rng);
    let names: Vec<String> = (0..n).map(|i| format!("s{i}")).collect();
    let shardable = share(opts.shardable_share);
    let fan_out = share(opts.fan_out_share);
    let r = REAL_RANGES;
    let steps = (0..n)
        .map(|i| {
            let (jobs, max_fan_out) = if rng.random::<f64>() < shardable {
                (
                    log_uniform_int(&mut rng, r.jobs.0.max(4), r.jobs.1),
                    Some(1),
                )
            } else if rng.random::<f64>() < fan_out {
                (log_uniform_int(&mut rng, r.jobs.0, r.jobs.1), None)
            } else {
                (1, None)
            };
            let parallel_fraction = if rng.random::<bool>() {
                round_sig(uniform(&mut rng, r.parallel_fraction), 2)
            } else {
                0.0
            };
            let (m_lo, m_hi) = (r.memory_mb_per_worker.0 / 64, r.memory_mb_per_worker.1 / 64);
            let memory = 64 * rng.random_range(m_lo..=m_hi);
            let after: Vec<String> = preds[i].iter().map(|&p| names[p].clone()).collect();
            let data_from =
                (data[i] != preds[i]).then(|| data[i].iter().map(|&p| names[p].clone()).collect());
            StepSpec {
                name: names[i].clone(),
                after,
                jobs: Some(jobs),
                work_s: Some(round_sig(log_uniform(&mut rng, r.work_s), 3)),
                parallel_fraction: Some(parallel_fraction),
                memory_mb_per_worker: Some(memory),
                input_mb: Some(round_sig(log_uniform(&mut rng, r.data_mb), 3)),
                output_mb: Some(round_sig(log_uniform(&mut rng, r.data_mb), 3)),
                max_fan_out,
                data_from,
                ..Default::default()
            }
        })
        .collect();
    let factor = uniform(&mut rng, r.slo_factor);
    let spec = WorkflowSpec {
        name: format!("gen-{index}"),
        slo_s: None,
        description: Some(format!(
            "generated by topology::generate (seed {seed}, index {index}, shape {shape}, {n} steps)"
        )),
        retry: None,
        steps,
    };
    // Invariant: the builders above give an acyclic graph over unique names, data sources that are
    // ancestors and every number within the workflow crate's limits.
    let mut wf = Workflow::from_spec(&spec, "topology::generate")
        .unwrap_or_else(|e| panic!("generated workflow gen-{index} is invalid: {e}"));
    let fastest_s = fastest_latency_s(&wf);
    let slo_s = ((factor * fastest_s * 1e3).ceil() / 1e3).clamp(1e-3, workflow::limits::MAX_SLO_S);
    wf.slo_s = Some(slo_s);
    wf
}

/// The fastest end-to-end latency on the default platform (see the module docs); where no
/// configuration runs a step, its work at one vCPU, jobs in sequence.
fn fastest_latency_s(wf: &Workflow) -> f64 {
    let platform = platform::Platform::lambda();
    let plan = quick_plan(wf, &platform, 1e-3, 1.0, &mut OptionCache::new());
    if plan.latency_s_pred.is_finite() && plan.latency_s_pred > 0.0 && plan.latency_s_pred < 1e12 {
        return plan.latency_s_pred;
    }
    let d: Vec<f64> = wf
        .steps()
        .iter()
        .map(|s| s.work_s * f64::from(s.jobs))
        .collect();
    wf.critical_path(&d).0.max(1e-3)
}

fn share(x: f64) -> f64 {
    if x.is_nan() { 0.0 } else { x.clamp(0.0, 1.0) }
}

fn uniform(rng: &mut impl Rng, (lo, hi): (f64, f64)) -> f64 {
    lo + (hi - lo) * rng.random::<f64>()
}

fn log_uniform(rng: &mut impl Rng, (lo, hi): (f64, f64)) -> f64 {
    (lo.ln() + (hi.ln() - lo.ln()) * rng.random::<f64>()).exp()
}

fn log_uniform_int(rng: &mut impl Rng, lo: u32, hi: u32) -> u32 {
    let hi = hi.max(lo);
    let x = log_uniform(rng, (f64::from(lo), f64::from(hi) + 1.0)).floor();
    (x as u32).clamp(lo, hi)
}

/// Rounds to `digits` significant digits (files stay readable; the draws are no more precise).
fn round_sig(x: f64, digits: i32) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let scale = 10f64.powi(digits - 1 - x.abs().log10().floor() as i32);
    let r = (x * scale).round() / scale;
    if r > 0.0 { r } else { x }
}

/// Predecessors of each step of a chain of `n`.
fn chain(n: usize) -> Vec<Vec<usize>> {
    (0..n)
        .map(|i| if i == 0 { Vec::new() } else { vec![i - 1] })
        .collect()
}

/// One step, parallel chains of the `n - 2` middle steps, one join (a chain below 3 steps).
fn fan_out_in(n: usize, rng: &mut impl Rng) -> Vec<Vec<usize>> {
    if n < 3 {
        return chain(n);
    }
    let middle = n - 2;
    let (b_lo, b_hi) = REAL_RANGES.branches;
    let k = (rng.random_range(b_lo..=b_hi) as usize).min(middle);
    // Branch lengths: one step each, the rest spread at random.
    let mut len = vec![1usize; k];
    for _ in k..middle {
        len[rng.random_range(0..k)] += 1;
    }
    let mut preds = vec![Vec::new(); n];
    let mut next = 1;
    let mut tails = Vec::with_capacity(k);
    for l in len {
        for j in 0..l {
            preds[next] = vec![if j == 0 { 0 } else { next - 1 }];
            next += 1;
        }
        tails.push(next - 1);
    }
    preds[n - 1] = tails;
    preds
}

/// Diamonds in series from step 0: 2 or 3 parallel steps and a join each; a chain for the rest.
fn diamonds(n: usize, rng: &mut impl Rng) -> Vec<Vec<usize>> {
    let mut preds = vec![Vec::new(); n];
    let mut tail = 0;
    let mut next = 1;
    while n - next >= 3 {
        let k = rng.random_range(2..=3usize).min(n - next - 1);
        let mids: Vec<usize> = (next..next + k).collect();
        for &m in &mids {
            preds[m] = vec![tail];
        }
        next += k;
        preds[next] = mids;
        tail = next;
        next += 1;
    }
    while next < n {
        preds[next] = vec![tail];
        tail = next;
        next += 1;
    }
    preds
}

/// A random DAG with source 0: each later step after 1 (60%), 2 (30%) or 3 (10%) distinct earlier
/// steps, an earlier step `d` back with weight falling with `d`.
fn mixed(n: usize, rng: &mut impl Rng) -> Vec<Vec<usize>> {
    let mut preds = vec![Vec::new(); n];
    for (i, p) in preds.iter_mut().enumerate().skip(1) {
        let u = rng.random::<f64>();
        let want = if u < 0.6 {
            1
        } else if u < 0.9 {
            2
        } else {
            3
        };
        let want = want.min(i);
        while p.len() < want {
            // Offsets 1..=i, u^2 favours the most recent steps.
            let d = 1 + ((rng.random::<f64>().powi(2) * i as f64) as usize).min(i - 1);
            let j = i - d;
            if !p.contains(&j) {
                p.push(j);
            }
        }
        p.sort_unstable();
    }
    preds
}

/// The data sources of each step: its predecessors, except that each eligible edge `p -> s` is
/// control-only with probability `share`, and then `s` reads `p`'s data sources instead. A step keeps
/// at least one data source when it has predecessors. Every source is an ancestor.
fn data_sources(preds: &[Vec<usize>], share: f64, rng: &mut impl Rng) -> Vec<Vec<usize>> {
    let mut data: Vec<Vec<usize>> = Vec::with_capacity(preds.len());
    for ps in preds {
        let mut d: Vec<usize> = Vec::new();
        for &p in ps {
            let eligible = !preds[p].is_empty() || ps.len() > 1;
            if eligible && rng.random::<f64>() < share {
                d.extend(data[p].iter().copied());
            } else {
                d.push(p);
            }
        }
        if d.is_empty()
            && let Some(&first) = ps.first()
        {
            d.push(first);
        }
        d.sort_unstable();
        d.dedup();
        data.push(d);
    }
    data
}
