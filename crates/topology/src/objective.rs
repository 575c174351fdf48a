//! Ground truth for a candidate topology: configured by the optimizer at the SLO and run in the
//! simulator at a given load.
//!
//! Topology and configuration are chosen jointly: every candidate (the original included) gets its own
//! plan from the optimizer (`optimal` by default: the exact FWCP solution at the SLO), so a reshaped
//! graph is never compared with a badly configured one. The plan comes from the same kind of model for
//! every candidate: the simulator's noise-free execution model (`oracle`, the default: fast) or a
//! StepConf Eq. 1 model fitted to profiling runs of that candidate (`fitted`: what a user of a real
//! platform has).
//!
//! A batched step (the `batch` transform) is planned for the batch it will run: the optimizer sees a
//! planning view of the workflow in which the step has `fill x jobs` jobs, where `fill` is the expected
//! number of requests per batch at the load (`min(size, 1 + rate x window_s)`), its predicted duration
//! includes the time the first request waits for the batch to close (`min(window_s, (size - 1) /
//! rate)`), and its predicted cost is divided by `fill` (the batch's cost is shared by its members).
//!
//! The optimizer plans predicted means, so a plan made exactly at the SLO misses it for about half of
//! the requests (or more, where queueing at the load is not in the model). Each candidate is therefore
//! planned at the SLO times each of [`EvalOptions::planning_margins`] in turn (default 1, 0.85, 0.7,
//! 0.55, 0.4) and simulated, stopping at the first plan whose measured SLO attainment meets the target;
//! when none does, the best under the objective is kept. [`Measured::planned_slo_s`] says which.
//!
//! The objective is a vector ([`Measured`]: cost per request, p95 latency, throughput, and the
//! throughput the account's concurrency limit allows) and a scalar ([`Objective::value`], higher is
//! better): by default the cost per request subject to the SLO at the load (a candidate that meets the
//! SLO attainment target always beats one that does not), with the throughput the limit allows as a
//! tie-break.

use optimizer::{ConfigSpace, OraclePredictor, Plan, StepPredictor};
use platform::{
    Arrivals, Platform, Policy, SimOptions, SimReport, Simulation, StaticPolicy, StepConfig,
};
use serde::{Deserialize, Serialize};
use workflow::{StepId, Workflow};

use crate::{Error, Result};

/// The model the optimizer plans each candidate with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    /// The simulator's noise-free execution model (`optimizer::OraclePredictor`).
    Oracle,
    /// StepConf Eq. 1 fitted to simulator profiling runs of the candidate (`perfmodel`).
    Fitted,
}

impl ModelKind {
    /// Parses `oracle` or `fitted`.
    pub fn parse(s: &str) -> Result<ModelKind> {
        match s {
            "oracle" => Ok(ModelKind::Oracle),
            "fitted" => Ok(ModelKind::Fitted),
            _ => Err(Error::Setting {
                field: "model".into(),
                reason: format!("'{s}' is not one of oracle, fitted"),
            }),
        }
    }

    /// The name used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            ModelKind::Oracle => "oracle",
            ModelKind::Fitted => "fitted",
        }
    }
}

/// What the scalar objective optimises, subject to the SLO.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Goal {
    /// Lowest cost per request (the default); throughput at the limit breaks ties.
    Cost,
    /// Lowest p95 latency; cost breaks ties.
    Latency,
    /// Highest throughput the concurrency limit allows; cost breaks ties.
    Throughput,
}

impl Goal {
    /// Parses `cost`, `latency` or `throughput`.
    pub fn parse(s: &str) -> Result<Goal> {
        match s {
            "cost" => Ok(Goal::Cost),
            "latency" => Ok(Goal::Latency),
            "throughput" => Ok(Goal::Throughput),
            _ => Err(Error::Setting {
                field: "goal".into(),
                reason: format!("'{s}' is not one of cost, latency, throughput"),
            }),
        }
    }
}

/// The scalar objective: a goal subject to an SLO attainment target.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Objective {
    /// What is optimised.
    pub goal: Goal,
    /// Share of requests that must meet the SLO, in (0, 1]. Default 0.95.
    pub min_attainment: f64,
}

impl Default for Objective {
    fn default() -> Self {
        Objective {
            goal: Goal::Cost,
            min_attainment: 0.95,
        }
    }
}

/// Weight of the tie-break term: small enough never to reorder distinct primary values of practical
/// size (it moves the value by at most `1e-6 x |ln x|`).
const TIE_BREAK: f64 = 1e-6;
/// Penalty of missing the attainment target: larger than any spread of `ln(cost)` among candidates of
/// one workflow (costs within a factor e^20).
const MISS_PENALTY: f64 = 20.0;

impl Objective {
    /// Whether `m` meets the attainment target.
    pub fn meets(&self, m: &Measured) -> bool {
        m.slo_attainment + 1e-12 >= self.min_attainment
    }

    /// The scalar value of a measurement, higher is better: `-ln(primary)` for cost and latency,
    /// `ln(primary)` for throughput, plus a tiny tie-break; a candidate that misses the attainment
    /// target loses [`MISS_PENALTY`] plus 100 x its shortfall, so it ranks below every one that meets it.
    pub fn value(&self, m: &Measured) -> f64 {
        let ln = |x: f64| x.max(1e-300).ln();
        let base = match self.goal {
            Goal::Cost => -ln(m.cost_usd_per_request) + TIE_BREAK * ln(m.throughput_at_limit_per_s),
            Goal::Latency => -ln(m.latency_s_p95) - TIE_BREAK * ln(m.cost_usd_per_request),
            Goal::Throughput => {
                ln(m.throughput_at_limit_per_s) - TIE_BREAK * ln(m.cost_usd_per_request)
            }
        };
        if self.meets(m) {
            base
        } else {
            base - MISS_PENALTY - 100.0 * (self.min_attainment - m.slo_attainment)
        }
    }
}

/// How candidates are configured and run.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// The platform.
    pub platform: Platform,
    /// End-to-end SLO, seconds.
    pub slo_s: f64,
    /// The load.
    pub arrivals: Arrivals,
    /// Requests simulated per candidate.
    pub n_requests: u64,
    /// Root seed (the same for every candidate: common random numbers).
    pub seed: u64,
    /// The optimizer's policy (`optimal` by default; any of `optimizer::POLICY_NAMES`).
    pub policy: String,
    /// The model it plans with.
    pub model: ModelKind,
    /// The scalar objective.
    pub objective: Objective,
    /// Planning SLOs tried in turn, as shares of `slo_s` (see the module docs); each in (0, 1].
    pub planning_margins: Vec<f64>,
}

impl EvalOptions {
    /// Defaults for `platform` at `slo_s` and a Poisson load of `rate_per_s`: 200 requests, seed 0,
    /// `optimal` planned with the oracle, cost at 95% attainment.
    pub fn new(platform: Platform, slo_s: f64, rate_per_s: f64) -> EvalOptions {
        EvalOptions {
            platform,
            slo_s,
            arrivals: Arrivals::poisson(rate_per_s),
            n_requests: 200,
            seed: 0,
            policy: "optimal".into(),
            model: ModelKind::Oracle,
            objective: Objective::default(),
            planning_margins: vec![1.0, 0.85, 0.7, 0.55, 0.4],
        }
    }

    /// Checks the settings; each problem names its field.
    pub fn check(&self) -> Result<()> {
        let bad = |field: &str, reason: String| {
            Err(Error::Setting {
                field: field.into(),
                reason,
            })
        };
        if !(self.slo_s.is_finite() && self.slo_s > 0.0) {
            return bad(
                "slo_s",
                format!("{} is not a finite number > 0", self.slo_s),
            );
        }
        if self.n_requests == 0 {
            return bad("requests", "must be at least 1".into());
        }
        let a = self.objective.min_attainment;
        if !(a > 0.0 && a <= 1.0) {
            return bad("min_attainment", format!("{a} is not in (0, 1]"));
        }
        if !optimizer::POLICY_NAMES.contains(&self.policy.as_str()) {
            return bad(
                "policy",
                format!(
                    "'{}' is not one of {}",
                    self.policy,
                    optimizer::POLICY_NAMES.join(", ")
                ),
            );
        }
        if self.planning_margins.is_empty()
            || self
                .planning_margins
                .iter()
                .any(|&f| !(f > 0.0 && f <= 1.0))
        {
            return bad(
                "planning_margins",
                format!(
                    "{:?}: give at least one share of the SLO in (0, 1]",
                    self.planning_margins
                ),
            );
        }
        self.arrivals.check()?;
        Ok(())
    }
}

/// The measured objective vector of one candidate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measured {
    /// Mean cost per request, USD (compute, requests, transitions and provisioned concurrency).
    pub cost_usd_per_request: f64,
    /// Mean latency, seconds.
    pub latency_s_mean: f64,
    /// 95th percentile latency, seconds.
    pub latency_s_p95: f64,
    /// Share of requests within the SLO (failed requests count as misses).
    pub slo_attainment: f64,
    /// Completed requests per second of the run.
    pub throughput_per_s: f64,
    /// The throughput the account's concurrency limit allows with this topology and plan:
    /// `limit x throughput / mean concurrent environments` (Little's law), requests per second.
    pub throughput_at_limit_per_s: f64,
    /// Share of instances that started cold.
    pub cold_start_rate: f64,
    /// Invocations (instance executions) per request.
    pub invocations_per_request: f64,
    /// Requests that failed.
    pub n_failed: u64,
    /// Whether the plan met the SLO under its own model.
    pub plan_feasible: bool,
    /// Predicted cost per request of the plan, USD.
    pub cost_usd_pred: f64,
    /// Predicted latency of the plan, seconds.
    pub latency_s_pred: f64,
    /// The SLO the plan was made at, seconds (the SLO times a planning margin).
    #[serde(default)]
    pub planned_slo_s: f64,
}

/// Per-step adjustment of a batched step's predictions: added wait and the cost divisor.
#[derive(Debug, Clone, Copy, PartialEq)]
struct BatchAdjust {
    wait_s: f64,
    fill: f64,
}

/// The workflow the optimizer plans: batched steps with the jobs of an expected batch (see the module
/// docs), and each step's adjustment. Unbatched workflows come back unchanged.
fn planning_view(wf: &Workflow, rate_per_s: f64) -> Result<(Workflow, Vec<Option<BatchAdjust>>)> {
    let mut adjust = vec![None; wf.n_steps()];
    if wf.steps().iter().all(|s| s.batch.is_none()) {
        return Ok((wf.clone(), adjust));
    }
    let mut spec = wf.to_spec();
    for (i, s) in wf.steps().iter().enumerate() {
        let Some(b) = s.batch else { continue };
        let k = f64::from(b.size);
        let fill = if rate_per_s > 0.0 {
            k.min(1.0 + rate_per_s * b.window_s)
        } else {
            1.0
        };
        let wait_s = if rate_per_s > 0.0 {
            b.window_s.min((k - 1.0) / rate_per_s)
        } else {
            b.window_s
        };
        let jobs = (f64::from(s.jobs) * fill).round().max(1.0);
        spec.steps[i].jobs = Some(jobs.min(f64::from(workflow::limits::MAX_JOBS)) as u32);
        spec.steps[i].batch = None;
        adjust[i] = Some(BatchAdjust { wait_s, fill });
    }
    let view = Workflow::from_spec(&spec, "planning view").map_err(|source| Error::Invalid {
        transform: "planning view".into(),
        source,
    })?;
    Ok((view, adjust))
}

/// A predictor seen through the batches: a batched step's duration gains its batch wait and its cost
/// is shared by the batch's members.
struct BatchAware<P> {
    inner: P,
    adjust: Vec<Option<BatchAdjust>>,
}

impl<P: StepPredictor + ?Sized> StepPredictor for BatchAware<Box<P>> {
    fn duration_s(&self, step: StepId, cfg: StepConfig) -> f64 {
        let d = self.inner.duration_s(step, cfg);
        match self.adjust[step.idx()] {
            Some(a) => d + a.wait_s,
            None => d,
        }
    }
    fn cost_usd(&self, step: StepId, cfg: StepConfig) -> f64 {
        let c = self.inner.cost_usd(step, cfg);
        match self.adjust[step.idx()] {
            Some(a) => c / a.fill,
            None => c,
        }
    }
}

/// A candidate configured by the optimizer: its plan and the policy that runs it.
pub struct Configured {
    /// The plan (predicted durations, costs and configurations per step).
    pub plan: Plan,
    /// The policy that applies it in the simulator.
    pub policy: Box<dyn Policy>,
}

/// The predictor `opts.model` gives for `wf` (through its planning view).
fn predictor(wf: &Workflow, opts: &EvalOptions) -> Result<(Workflow, Box<dyn StepPredictor>)> {
    let (view, adjust) = planning_view(wf, opts.arrivals.mean_rate_per_s())?;
    let inner: Box<dyn StepPredictor> = match opts.model {
        ModelKind::Oracle => Box::new(OraclePredictor::new(&view, &opts.platform)),
        ModelKind::Fitted => {
            let popts = perfmodel::profile::ProfileOptions {
                seed: des::stream_seed(opts.seed, "profiling", 0),
                ..Default::default()
            };
            let model = perfmodel::profile::fit_workflow(
                &opts.platform,
                &view,
                &popts,
                perfmodel::FitOptions::default(),
            )?;
            Box::new(model)
        }
    };
    Ok((view, Box::new(BatchAware { inner, adjust })))
}

/// Configures `wf` with the optimizer at the SLO (see the module docs).
pub fn configure(wf: &Workflow, opts: &EvalOptions) -> Result<Configured> {
    opts.check()?;
    let (view, pred) = predictor(wf, opts)?;
    let space = ConfigSpace::paper();
    let plan = optimizer::plan_with_space(
        &view,
        &opts.platform,
        pred.as_ref(),
        opts.slo_s,
        &opts.policy,
        &space,
    )?;
    // Static policies run the plan as made (the exact solve is most of the time of a candidate:
    // once is enough); dynamic ones decide at every step start.
    let policy: Box<dyn Policy> = match opts.policy.as_str() {
        "optimal" | "static" | "no-no" => Box::new(StaticPolicy::new(&opts.policy, plan.configs())),
        _ => optimizer::policy_with_space(
            &opts.policy,
            &view,
            &opts.platform,
            pred.as_ref(),
            opts.slo_s,
            &space,
        )?,
    };
    Ok(Configured { plan, policy })
}

/// Plans `wf` only (no simulation): what the analytic and learned scorers read.
pub fn plan_only(wf: &Workflow, opts: &EvalOptions) -> Result<Plan> {
    opts.check()?;
    let (view, pred) = predictor(wf, opts)?;
    Ok(optimizer::plan_with_space(
        &view,
        &opts.platform,
        pred.as_ref(),
        opts.slo_s,
        &opts.policy,
        &ConfigSpace::paper(),
    )?)
}

/// Configures `wf` and simulates it at the load: the ground truth of one candidate.
pub fn evaluate(wf: &Workflow, opts: &EvalOptions) -> Result<Measured> {
    Ok(evaluate_report(wf, opts)?.0)
}

/// [`evaluate`] with the simulator's full report.
pub fn evaluate_report(wf: &Workflow, opts: &EvalOptions) -> Result<(Measured, SimReport)> {
    let (m, r, _) = evaluate_full(wf, opts)?;
    Ok((m, r))
}

/// [`evaluate`] with the simulator's full report and the plan.
/// Planned at each margin in turn until the target attainment is met (see the module docs).
pub fn evaluate_full(wf: &Workflow, opts: &EvalOptions) -> Result<(Measured, SimReport, Plan)> {
    opts.check()?;
    let sim = Simulation::new(
        wf,
        &opts.platform,
        SimOptions {
            n_requests: opts.n_requests,
            arrivals: opts.arrivals.clone(),
            seed: opts.seed,
            slo_s: Some(opts.slo_s),
            keep_records: false,
            ..SimOptions::default()
        },
    )?;
    let mut best: Option<(Measured, SimReport, Plan, f64)> = None;
    let mut first_error = None;
    for &f in &opts.planning_margins {
        let mut at = opts.clone();
        at.slo_s = opts.slo_s * f;
        let mut c = match configure(wf, &at) {
            Ok(c) => c,
            // No configuration meets a tighter SLO: the looser plans stand.
            Err(e) => {
                first_error.get_or_insert(e);
                continue;
            }
        };
        let r = sim.run(c.policy.as_mut())?;
        let m = measured(&r, &c.plan, &opts.platform);
        let v = opts.objective.value(&m);
        let met = opts.objective.meets(&m);
        if best.as_ref().is_none_or(|b| v > b.3) {
            best = Some((m, r, c.plan, v));
        }
        if met {
            break;
        }
    }
    match (best, first_error) {
        (Some((m, r, p, _)), _) => Ok((m, r, p)),
        (None, Some(e)) => Err(e),
        (None, None) => Err(Error::Setting {
            field: "planning_margins".into(),
            reason: "none given".into(),
        }),
    }
}

/// The objective vector of a run.
pub fn measured(r: &SimReport, plan: &Plan, platform: &Platform) -> Measured {
    let n = r.requests.max(1) as f64;
    let cost_total = r.cost_usd.total + r.cost_usd.provisioned;
    let limit = f64::from(platform.spec().concurrency.account_limit);
    let throughput = r.load.throughput_per_s;
    let at_limit = if r.load.concurrency_mean > 0.0 {
        limit * throughput / r.load.concurrency_mean
    } else {
        throughput
    };
    Measured {
        cost_usd_per_request: cost_total / n,
        latency_s_mean: r.latency_s.mean,
        latency_s_p95: r.latency_s.p95,
        slo_attainment: r.slo_attainment.unwrap_or(0.0),
        throughput_per_s: throughput,
        throughput_at_limit_per_s: at_limit,
        cold_start_rate: r.cold_start_rate,
        invocations_per_request: r.n_instance_executions as f64 / n,
        n_failed: r.n_failed,
        plan_feasible: plan.feasible,
        cost_usd_pred: plan.cost_usd_pred,
        latency_s_pred: plan.latency_s_pred,
        planned_slo_s: plan.slo_s,
    }
}
