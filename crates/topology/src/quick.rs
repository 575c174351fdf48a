//! A fast plan for scoring: per-step configurations chosen locally from cached option tables, so that a
//! learned scorer reads "predicted duration and cost at the planned configuration" without running the
//! optimizer's exact solver on every candidate.
//!
//! Each task step's options are every configuration of the paper's set (`optimizer::ConfigSpace::paper`)
//! the platform accepts, priced by the simulator's noise-free execution model
//! (`optimizer::OraclePredictor`; a batched step for its expected batch, as [`crate::objective`]
//! plans it) and Pareto-pruned. The table depends only on the step's own fields (and the load, for a
//! batch), so it is cached by a signature of them: a candidate topology shares most steps with the
//! original, and only its new steps (a fused step, a merge step) are priced.
//!
//! The choice is StepConf-like: a step's budget is its share of the SLO in proportion to its fastest
//! duration along the fastest critical path (`slo x d_min(i) / L_min`), and the step takes its cheapest
//! option within that budget (its fastest when none is). This is a heuristic: the ground truth
//! ([`crate::objective`]) plans every candidate exactly.

use std::collections::BTreeMap;

use optimizer::{OraclePredictor, PlanStep, StepPredictor};
use platform::{Platform, StepConfig};
use workflow::{Step, StepId, StepKind, StepSpec, Workflow, WorkflowSpec};

/// One priced configuration.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Opt {
    config: StepConfig,
    exec_s: f64,
    cost_usd: f64,
}

/// Option tables by step signature.
#[derive(Debug, Default, Clone)]
pub struct OptionCache {
    tables: BTreeMap<String, Vec<Opt>>,
}

impl OptionCache {
    /// An empty cache.
    pub fn new() -> OptionCache {
        OptionCache::default()
    }

    /// Tables cached.
    pub fn len(&self) -> usize {
        self.tables.len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }
}

/// A fast plan: one [`PlanStep`] per step and which steps are on the critical path.
#[derive(Debug, Clone, PartialEq)]
pub struct QuickPlan {
    /// The SLO planned for, seconds.
    pub slo_s: f64,
    /// Per step, in workflow order.
    pub steps: Vec<PlanStep>,
    /// Whether each step is on the planned critical path.
    pub critical: Vec<bool>,
    /// Predicted end-to-end latency, seconds.
    pub latency_s_pred: f64,
    /// Predicted cost per request, USD.
    pub cost_usd_pred: f64,
}

fn signature(s: &Step, rate_per_s: f64) -> String {
    format!(
        "{:?}|{}|{:x}|{:x}|{}|{:x}|{:x}|{:?}|{:?}|{:?}|{:?}",
        s.kind,
        s.jobs,
        s.work_s.to_bits(),
        s.parallel_fraction.to_bits(),
        s.memory_mb_per_worker,
        s.input_mb.to_bits(),
        s.output_mb.to_bits(),
        s.cold_start_s.map(f64::to_bits),
        s.max_fan_out,
        s.batch
            .map(|b| (b.size, b.window_s.to_bits(), rate_per_s.to_bits())),
        s.max_concurrency,
    )
}

/// Expected members of a batch and the wait of its first member (see [`crate::objective`]).
pub(crate) fn batch_fill(size: u32, window_s: f64, rate_per_s: f64) -> (f64, f64) {
    let k = f64::from(size);
    if rate_per_s > 0.0 {
        (
            k.min(1.0 + rate_per_s * window_s),
            window_s.min((k - 1.0) / rate_per_s),
        )
    } else {
        (1.0, window_s)
    }
}

/// The Pareto-pruned option table of one task step.
fn table(s: &Step, platform: &Platform, rate_per_s: f64) -> Vec<Opt> {
    let (fill, wait) = s
        .batch
        .map_or((1.0, 0.0), |b| batch_fill(b.size, b.window_s, rate_per_s));
    let jobs = ((f64::from(s.jobs) * fill).round().max(1.0))
        .min(f64::from(workflow::limits::MAX_JOBS)) as u32;
    let spec = WorkflowSpec {
        name: "step".into(),
        steps: vec![StepSpec {
            name: "s".into(),
            jobs: Some(jobs),
            work_s: Some(s.work_s),
            parallel_fraction: Some(s.parallel_fraction),
            memory_mb_per_worker: Some(s.memory_mb_per_worker),
            input_mb: Some(s.input_mb),
            output_mb: Some(s.output_mb),
            max_fan_out: s.max_fan_out,
            ..Default::default()
        }],
        ..Default::default()
    };
    let Ok(one) = Workflow::from_spec(&spec, "quick plan") else {
        return Vec::new();
    };
    let oracle = OraclePredictor::new(&one, platform);
    let step = one.step(StepId(0));
    let mut opts: Vec<Opt> = optimizer::ConfigSpace::paper()
        .configs()
        .filter(|&c| platform.check_config(step, c).is_ok())
        .map(|c| Opt {
            config: c,
            exec_s: oracle.duration_s(StepId(0), c) + wait,
            cost_usd: oracle.cost_usd(StepId(0), c) / fill,
        })
        .filter(|o| o.exec_s.is_finite() && o.cost_usd.is_finite())
        .collect();
    // Pareto front: by duration, keep each option cheaper than every faster one.
    opts.sort_by(|a, b| {
        a.exec_s
            .total_cmp(&b.exec_s)
            .then(a.cost_usd.total_cmp(&b.cost_usd))
    });
    let mut front: Vec<Opt> = Vec::new();
    for o in opts {
        if front.last().is_none_or(|l| o.cost_usd < l.cost_usd) {
            front.push(o);
        }
    }
    front
}

/// Plans `wf` quickly at `slo_s` and `rate_per_s` (see the module docs); tables come from and go to
/// `cache`. A task step no configuration can run is planned at the platform's smallest memory with
/// an infinite duration, so the plan says it cannot meet the SLO.
pub fn quick_plan(
    wf: &Workflow,
    platform: &Platform,
    slo_s: f64,
    rate_per_s: f64,
    cache: &mut OptionCache,
) -> QuickPlan {
    let spec = platform.spec();
    let n = wf.n_steps();
    let mut fronts: Vec<Option<&[Opt]>> = Vec::with_capacity(n);
    let sigs: Vec<Option<String>> = wf
        .steps()
        .iter()
        .map(|s| (s.kind == StepKind::Task).then(|| signature(s, rate_per_s)))
        .collect();
    for (s, sig) in wf.steps().iter().zip(&sigs) {
        if let Some(sig) = sig
            && !cache.tables.contains_key(sig)
        {
            cache
                .tables
                .insert(sig.clone(), table(s, platform, rate_per_s));
        }
    }
    for sig in &sigs {
        fronts.push(sig.as_ref().map(|k| cache.tables[k].as_slice()));
    }
    let overhead: Vec<f64> = wf
        .steps()
        .iter()
        .map(|s| spec.transition_delay_s + s.wait_s)
        .collect();
    let d_min: Vec<f64> = (0..n)
        .map(|i| {
            overhead[i]
                + match fronts[i] {
                    Some(f) => f.first().map_or(f64::INFINITY, |o| o.exec_s),
                    None => 0.0,
                }
        })
        .collect();
    let finite_min: Vec<f64> = d_min
        .iter()
        .map(|&d| if d.is_finite() { d } else { 0.0 })
        .collect();
    let (l_min, _) = wf.critical_path(&finite_min);
    let mut chosen: Vec<Option<Opt>> = vec![None; n];
    let mut budget = vec![0.0; n];
    for i in 0..n {
        budget[i] = if l_min > 0.0 {
            slo_s * finite_min[i] / l_min
        } else {
            slo_s
        };
        if let Some(f) = fronts[i] {
            let within = f
                .iter()
                .filter(|o| overhead[i] + o.exec_s <= budget[i])
                .min_by(|a, b| a.cost_usd.total_cmp(&b.cost_usd));
            chosen[i] = within.or(f.first()).copied();
        }
    }
    let durations: Vec<f64> = (0..n)
        .map(|i| match (fronts[i], chosen[i]) {
            (Some(_), Some(o)) => overhead[i] + o.exec_s,
            (Some(_), None) => f64::INFINITY,
            (None, _) => overhead[i],
        })
        .collect();
    let finite: Vec<f64> = durations
        .iter()
        .map(|&d| if d.is_finite() { d } else { 1e12 })
        .collect();
    let finish = wf.earliest_finish_s(&finite);
    let (latency, path) = wf.critical_path(&finite);
    let mut critical = vec![false; n];
    for id in path {
        critical[id.idx()] = true;
    }
    let mut cost = 0.0;
    let steps: Vec<PlanStep> = wf
        .steps()
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let task = s.kind == StepKind::Task;
            let (config, c) = match chosen[i] {
                Some(o) => (o.config, o.cost_usd + spec.price_usd_per_transition),
                None => (
                    StepConfig::new(spec.memory_mb_min, 1, 1),
                    spec.price_usd_per_transition,
                ),
            };
            cost += c;
            PlanStep {
                name: s.name.clone(),
                memory_mb: config.memory_mb,
                fan_out: config.fan_out,
                workers: config.workers,
                is_task: task,
                duration_s_pred: finite[i],
                cost_usd_pred: c,
                sub_slo_s: budget[i],
                start_s_pred: finish[i] - finite[i],
            }
        })
        .collect();
    QuickPlan {
        slo_s,
        steps,
        critical,
        latency_s_pred: latency,
        cost_usd_pred: cost,
    }
}
