//! `replan` (ours): at every step start, solve the remaining sub-DAG exactly ([`crate::solver`]; near
//! exactly when [`ReplanOptions::max_nodes`] stops the search) for the time actually left, with
//! predicted durations corrected by what the policy has observed.
//!
//! What it learns (deterministically, from [`Policy::observe`]):
//! - **Tail margin**: per step, the last [`ReplanOptions::window`] ratios of observed to predicted
//!   execution time. Free steps are planned at `overhead + m * exec` with `m` the ratios'
//!   [`ReplanOptions::quantile`] (nearest rank), and must also pass the single-failure robust
//!   constraint of [`SubProblem::robust_factor`] with factor `M / m`, `M` the
//!   [`ReplanOptions::robust_quantile`]: if the step runs that slow, the steps after it at their
//!   fastest still meet the SLO. This keeps room for stragglers where nothing can make up for them
//!   (the last steps) without inflating every step by its worst case. The factor is at least the
//!   [`ReplanOptions::global_robust_quantile`] of the ratios of all steps, since stragglers hit any
//!   step. When no plan passes it, the policy tries the square roots of the factors, then none.
//! - **Cold starts**: the predictor knows nothing of them. Warm pools are per function and memory, so
//!   a configuration whose memory the step has not used recently (or with more instances than
//!   recently) probably starts cold; it is planned with a penalty equal to the mean excess observed
//!   on runs with cold starts (before any, the function's mean cold start from the workflow or the
//!   platform profile). The step's recent configurations join its Pareto front for the same reason.
//!
//! Finished steps count at their observed finish, steps still running at their start plus their
//! corrected prediction (not before now). When even the fastest options cannot meet the deadline the
//! step runs at its fastest option (best effort, StepConf Algorithm 1 line 10).

use std::collections::{BTreeMap, VecDeque};

use platform::{Policy, StepConfig, StepContext, StepOutcome};
use workflow::StepKind;

use crate::solver::{SolveOptions, Solver, SubProblem};
use crate::space::{Model, StepOption};

/// Tuning of [`ReplanPolicy`]'s learned margin.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReplanOptions {
    /// Quantile of the observed/predicted ratio used as the planned duration multiplier, in (0, 1].
    pub quantile: f64,
    /// Quantile of the ratio a step must survive (the single-failure robust constraint of
    /// [`SubProblem::robust_factor`]): if the step runs that much slower than predicted, the steps after
    /// it at their fastest still meet the SLO. In (0, 1].
    pub robust_quantile: f64,
    /// Quantile of the ratios of all steps (a window [`GLOBAL_WINDOW_FACTOR`] times longer) that the
    /// robust factor is at least: stragglers hit any step, also one that has not met one yet.
    pub global_robust_quantile: f64,
    /// Robust factor before enough ratios have been seen.
    pub initial_robust_factor: f64,
    /// Ratios remembered per step.
    pub window: usize,
    /// Ratios needed before the learned multiplier replaces `initial_multiplier`.
    pub min_samples: usize,
    /// Duration multiplier before enough ratios have been seen (a prior margin).
    pub initial_multiplier: f64,
    /// Lower clamp of the multiplier.
    pub min_multiplier: f64,
    /// Upper clamp of the multiplier.
    pub max_multiplier: f64,
    /// Configurations remembered per step as probably warm (the last this many chosen).
    pub warm_memory: usize,
    /// Branch-and-bound node limit per decision: beyond it the best plan found is used (near exact,
    /// bounded decision time; see [`crate::SolveOptions`]).
    pub max_nodes: u64,
}

impl Default for ReplanOptions {
    fn default() -> Self {
        ReplanOptions {
            quantile: 0.75,
            robust_quantile: 1.0,
            global_robust_quantile: 1.0,
            initial_robust_factor: 2.0,
            window: 64,
            min_samples: 4,
            initial_multiplier: 1.0,
            min_multiplier: 0.5,
            max_multiplier: 4.0,
            warm_memory: 16,
            max_nodes: 1_000,
        }
    }
}

/// What the policy remembers of a request: per step, `(start_s, execution prediction)` of steps it
/// configured that have not been observed finishing.
type Started = Vec<Option<(f64, f64)>>;

/// What [`ReplanPolicy`] has learned across requests (see the module docs), in a form that can live
/// outside the process ([`crate::ServicePolicy::export_learned`]): every window oldest first, one entry
/// per step (by step index) where the field is per step.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplanLearned {
    /// Per step: the last ratios of observed to predicted execution time.
    pub ratios: Vec<Vec<f64>>,
    /// The last ratios of all steps.
    pub global_ratios: Vec<f64>,
    /// Per step: the duration multiplier.
    pub multiplier: Vec<f64>,
    /// Per step: the robust (straggler) factor.
    pub robust: Vec<f64>,
    /// Per step: the last configurations chosen (probably warm).
    pub recent: Vec<Vec<StepConfig>>,
    /// Per step: observed excess seconds of runs with cold starts.
    pub cold_excess: Vec<Vec<f64>>,
}

/// The `replan` policy. See the module docs.
#[derive(Debug, Clone)]
pub struct ReplanPolicy {
    model: Model,
    options: ReplanOptions,
    slo_s: f64,
    solver: Solver,
    ratios: Vec<VecDeque<f64>>,
    /// Ratios of all steps (stragglers are a platform trait: a step that has not met one yet will).
    global_ratios: VecDeque<f64>,
    multiplier: Vec<f64>,
    robust: Vec<f64>,
    half_robust: Vec<f64>,
    scaled: Vec<Vec<StepOption>>,
    scaled_stale: bool,
    /// Per step: the last configurations chosen (their instances are probably warm).
    recent: Vec<VecDeque<StepConfig>>,
    /// Per step: observed excess seconds of runs that had cold starts (learned cold-start penalty).
    cold_excess: Vec<VecDeque<f64>>,
    requests: BTreeMap<u64, Started>,
    fixed: Vec<Option<f64>>,
    ready: Vec<f64>,
    /// The last decision: step, chosen option as planned (margin and cold penalty included).
    last: Option<(usize, StepOption)>,
}

const MAX_TRACKED_REQUESTS: usize = 4096;

/// The all-steps ratio window is this many times [`ReplanOptions::window`].
pub const GLOBAL_WINDOW_FACTOR: usize = 8;

impl ReplanPolicy {
    /// A replan policy over `model`, with `slo_s` used when the simulation gives none.
    pub fn new(model: Model, slo_s: f64, options: ReplanOptions) -> Self {
        let n = model.n_steps();
        ReplanPolicy {
            scaled: model.fronts().to_vec(),
            model,
            options,
            slo_s,
            solver: Solver::new(SolveOptions {
                max_nodes: options.max_nodes,
            }),
            ratios: vec![VecDeque::new(); n],
            global_ratios: VecDeque::new(),
            multiplier: vec![options.initial_multiplier; n],
            robust: vec![options.initial_robust_factor; n],
            half_robust: Vec::with_capacity(n),
            scaled_stale: true,
            recent: vec![VecDeque::new(); n],
            cold_excess: vec![VecDeque::new(); n],
            requests: BTreeMap::new(),
            fixed: vec![None; n],
            ready: vec![0.0; n],
            last: None,
        }
    }

    /// The option tables.
    pub(crate) fn model(&self) -> &Model {
        &self.model
    }

    /// What the policy remembers of request `request_idx`: per step, `(start_s, exec_s)` of steps it
    /// configured, if it holds the request.
    pub(crate) fn started(&self, request_idx: u64) -> Option<&[Option<(f64, f64)>]> {
        self.requests.get(&request_idx).map(Vec::as_slice)
    }

    /// Replaces request `request_idx`'s state (the caller checked its length).
    pub(crate) fn set_started(&mut self, request_idx: u64, started: Started) {
        self.requests.insert(request_idx, started);
    }

    /// Drops request `request_idx`'s state.
    pub(crate) fn forget(&mut self, request_idx: u64) {
        self.requests.remove(&request_idx);
    }

    /// The last decision: step and chosen option as planned.
    pub(crate) fn last_decision(&self) -> Option<(usize, StepOption)> {
        self.last
    }

    /// What the policy has learned across requests.
    pub fn learned(&self) -> ReplanLearned {
        ReplanLearned {
            ratios: self
                .ratios
                .iter()
                .map(|w| w.iter().copied().collect())
                .collect(),
            global_ratios: self.global_ratios.iter().copied().collect(),
            multiplier: self.multiplier.clone(),
            robust: self.robust.clone(),
            recent: self
                .recent
                .iter()
                .map(|w| w.iter().copied().collect())
                .collect(),
            cold_excess: self
                .cold_excess
                .iter()
                .map(|w| w.iter().copied().collect())
                .collect(),
        }
    }

    /// Replaces what the policy has learned with `learned` (as [`ReplanPolicy::learned`] gave it, maybe
    /// in another process). Fails, changing nothing, when a per-step field does not have one entry per
    /// step, a window is longer than the policy keeps, or a number is not finite (the error names the
    /// field).
    pub fn set_learned(&mut self, learned: ReplanLearned) -> Result<(), String> {
        let n = self.model.n_steps();
        let window = self.options.window.max(1);
        let per_step = [
            ("ratios", learned.ratios.len()),
            ("multiplier", learned.multiplier.len()),
            ("robust", learned.robust.len()),
            ("recent", learned.recent.len()),
            ("cold_excess", learned.cold_excess.len()),
        ];
        for (field, len) in per_step {
            if len != n {
                return Err(format!("{field} has {len} entries, the workflow {n} steps"));
            }
        }
        let windows = [
            ("ratios", &learned.ratios, window),
            ("cold_excess", &learned.cold_excess, window),
        ];
        for (field, w, max) in windows {
            for (i, w) in w.iter().enumerate() {
                if w.len() > max {
                    return Err(format!(
                        "{field}[{i}] has {} entries, at most {max} are kept",
                        w.len()
                    ));
                }
                if let Some(x) = w.iter().find(|x| !x.is_finite()) {
                    return Err(format!("{field}[{i}] holds {x}, not a finite number"));
                }
            }
        }
        let max_global = GLOBAL_WINDOW_FACTOR * window;
        if learned.global_ratios.len() > max_global {
            return Err(format!(
                "global_ratios has {} entries, at most {max_global} are kept",
                learned.global_ratios.len()
            ));
        }
        for (field, xs) in [
            ("global_ratios", &learned.global_ratios),
            ("multiplier", &learned.multiplier),
            ("robust", &learned.robust),
        ] {
            if let Some(x) = xs.iter().find(|x| !x.is_finite()) {
                return Err(format!("{field} holds {x}, not a finite number"));
            }
        }
        let max_recent = self.options.warm_memory.max(1);
        if let Some((i, w)) = learned
            .recent
            .iter()
            .enumerate()
            .find(|(_, w)| w.len() > max_recent)
        {
            return Err(format!(
                "recent[{i}] has {} entries, at most {max_recent} are kept",
                w.len()
            ));
        }
        self.ratios = learned.ratios.into_iter().map(VecDeque::from).collect();
        self.global_ratios = VecDeque::from(learned.global_ratios);
        self.multiplier = learned.multiplier;
        self.robust = learned.robust;
        self.recent = learned.recent.into_iter().map(VecDeque::from).collect();
        self.cold_excess = learned
            .cold_excess
            .into_iter()
            .map(VecDeque::from)
            .collect();
        self.scaled_stale = true;
        Ok(())
    }

    /// Current duration multiplier per step (index = step id).
    pub fn multipliers(&self) -> &[f64] {
        &self.multiplier
    }

    /// Whether `config` of step `i` probably finds warm instances: a recent choice of the step had the
    /// same memory (warm pools are per function and memory) and at least as many instances.
    fn probably_warm(&self, i: usize, config: StepConfig) -> bool {
        self.recent[i]
            .iter()
            .any(|c| c.memory_mb == config.memory_mb && c.fan_out >= config.fan_out)
    }

    /// Rebuilds the planning fronts: each option at `overhead + multiplier * exec`, plus the learned
    /// cold-start penalty when it would probably start cold; the step's recent configurations join
    /// the Pareto front (being warm can make a nominally dominated configuration the better one).
    fn refresh_scaled(&mut self, platform: &platform::Platform, workflow: &workflow::Workflow) {
        if !self.scaled_stale {
            return;
        }
        for i in 0..self.model.n_steps() {
            let step = workflow.step(workflow::StepId(i as u32));
            let penalty_s = if step.kind != StepKind::Task {
                0.0
            } else if self.cold_excess[i].is_empty() {
                // Prior: the function's mean cold start from the workflow or the platform profile.
                step.cold_start_s
                    .unwrap_or(platform.spec().cold_start.mean_s)
            } else {
                self.cold_excess[i].iter().sum::<f64>() / self.cold_excess[i].len() as f64
            };
            let (over, mult) = (self.model.overhead_s(i), self.multiplier[i]);
            let mut cands: Vec<StepOption> = self.model.pareto(i).to_vec();
            for c in &self.recent[i] {
                if let Some(o) = self.model.lookup(i, *c)
                    && !cands.iter().any(|x| x.config == *c)
                {
                    cands.push(*o);
                }
            }
            for o in cands.iter_mut() {
                let cold = step.kind == StepKind::Task && !self.probably_warm(i, o.config);
                o.duration_s = over + mult * o.exec_s + if cold { penalty_s } else { 0.0 };
            }
            self.scaled[i] = crate::space::pareto_front(cands);
        }
        self.scaled_stale = false;
    }
}

impl Policy for ReplanPolicy {
    fn name(&self) -> &str {
        "replan"
    }

    fn choose(&mut self, ctx: &StepContext<'_>) -> StepConfig {
        let n = self.model.n_steps();
        self.refresh_scaled(ctx.platform, ctx.workflow);
        if !self.requests.contains_key(&ctx.request_idx)
            && self.requests.len() >= MAX_TRACKED_REQUESTS
        {
            self.requests.pop_first();
        }
        let started = self
            .requests
            .entry(ctx.request_idx)
            .or_insert_with(|| vec![None; n]);
        let v = ctx.step.idx();
        let now_s = ctx.elapsed_s - ctx.platform.spec().transition_delay_s;
        for (i, st) in started.iter().enumerate() {
            self.ready[i] = 0.0;
            self.fixed[i] = match (ctx.outcomes.get(i).copied().flatten(), *st) {
                (Some(o), _) => Some(o.start_s + o.duration_s),
                (None, Some((start_s, exec_s))) if i != v => {
                    let wait = self.model.overhead_s(i) - ctx.platform.spec().transition_delay_s;
                    Some((start_s + wait + self.multiplier[i] * exec_s).max(now_s))
                }
                _ => None,
            };
        }
        self.fixed[v] = None;
        self.ready[v] = now_s;
        let slo_s = ctx.slo_s.unwrap_or(self.slo_s);
        let sub = SubProblem {
            fixed_finish_s: &self.fixed,
            ready_s: &self.ready,
            deadline_s: slo_s,
            robust_factor: &self.robust,
        };
        let mut sol = self.solver.solve(&self.model, &self.scaled, &sub);
        if sol.feasible && !sol.robust_feasible {
            // No plan survives the full straggler factors: try half of them (geometrically), then none.
            self.half_robust.clear();
            self.half_robust
                .extend(self.robust.iter().map(|r| r.sqrt()));
            let half = SubProblem {
                robust_factor: &self.half_robust,
                ..sub
            };
            sol = self.solver.solve(&self.model, &self.scaled, &half);
            if !sol.robust_feasible {
                let none = SubProblem {
                    robust_factor: &[],
                    ..sub
                };
                sol = self.solver.solve(&self.model, &self.scaled, &none);
            }
        }
        let j = sol.choice[v].unwrap_or(0);
        let o = self.scaled[v][j];
        self.last = Some((v, o));
        started[v] = Some((ctx.elapsed_s, o.exec_s));
        let recent = &mut self.recent[v];
        if recent.len() >= self.options.warm_memory.max(1) {
            recent.pop_front();
        }
        recent.push_back(o.config);
        self.scaled_stale = true;
        o.config
    }

    fn observe(&mut self, ctx: &StepContext<'_>, outcome: &StepOutcome) {
        let i = ctx.step.idx();
        if ctx.workflow.step(ctx.step).kind != StepKind::Task {
            return;
        }
        let Some(pred) = self.model.lookup(i, outcome.config) else {
            return;
        };
        if pred.exec_s <= 0.0 {
            return;
        }
        let exec_s = outcome.duration_s - ctx.workflow.step(ctx.step).wait_s;
        if outcome.n_cold_starts > 0 {
            let c = &mut self.cold_excess[i];
            if c.len() >= self.options.window.max(1) {
                c.pop_front();
            }
            c.push_back((exec_s - self.multiplier[i] * pred.exec_s).max(0.0));
            self.scaled_stale = true;
        }
        let ratio = exec_s / pred.exec_s;
        if !ratio.is_finite() {
            return;
        }
        let g = &mut self.global_ratios;
        if g.len() >= GLOBAL_WINDOW_FACTOR * self.options.window.max(1) {
            g.pop_front();
        }
        g.push_back(ratio);
        let global_high = if g.len() >= self.options.min_samples {
            let mut sorted: Vec<f64> = g.iter().copied().collect();
            des::stats::quantile(&mut sorted, self.options.global_robust_quantile)
                .unwrap_or(self.options.initial_robust_factor)
        } else {
            self.options.initial_robust_factor
        };
        let w = &mut self.ratios[i];
        if w.len() == self.options.window.max(1) {
            w.pop_front();
        }
        w.push_back(ratio);
        let (mult, rho) = if w.len() < self.options.min_samples {
            (
                self.options.initial_multiplier,
                self.options.initial_robust_factor,
            )
        } else {
            let mut sorted: Vec<f64> = w.iter().copied().collect();
            des::stats::sort(&mut sorted);
            // `w` is not empty (a ratio was just pushed), so every quantile exists.
            let at = |q: f64| des::stats::quantile_sorted(&sorted, q).unwrap_or(1.0);
            let mult = at(self.options.quantile)
                .clamp(self.options.min_multiplier, self.options.max_multiplier);
            let high = at(self.options.robust_quantile)
                .max(global_high)
                .clamp(self.options.min_multiplier, self.options.max_multiplier);
            (mult, (high / mult).max(1.0))
        };
        self.robust[i] = rho;
        if mult != self.multiplier[i] {
            self.multiplier[i] = mult;
            self.scaled_stale = true;
        }
    }
}
