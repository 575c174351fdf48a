//! Scorers and beam search over transform sequences.
//!
//! A [`Scorer`] gives every candidate topology a value, higher is better, on the scale of
//! [`crate::objective::Objective::value`]:
//! - [`SimScorer`] (`sim`): the ground truth, each candidate configured by the optimizer and
//!   simulated (exact, slow);
//! - [`AnalyticScorer`] (`analytic`): the plan's own predictions, no simulation (a Costless-style
//!   cost model from the performance model: transitions and compute priced per step, no cold starts,
//!   no queueing, no noise);
//! - `gnn:FILE` (crate feature `gnn`, [`crate::gnn::GnnScorer`]): the learned score
//!   S(G) = sigmoid(phi(G)) over the candidate's plan features.
//!
//! [`beam_search`] expands the `width` best topologies by every applicable transform, `depth` times,
//! deduplicating by canonical form; [`enumerate`] lists every distinct topology reachable in at most
//! `depth` transforms (the exhaustive baseline that regret is measured against).

use std::collections::BTreeSet;

use serde::Serialize;
use workflow::Workflow;

use crate::canon::canonical_key;
use crate::objective::{EvalOptions, Measured, evaluate, plan_only};
use crate::transform::{CandidateOptions, Transform, apply, candidates};
use crate::{Error, Result};

/// Values candidate topologies; higher is better. A candidate that cannot be configured or run
/// (no configuration fits a fused step, say) gets `f64::NEG_INFINITY`.
pub trait Scorer {
    /// The scorer's name (`sim`, `analytic`, `gnn:FILE`).
    fn name(&self) -> String;
    /// One value per candidate.
    fn score(&mut self, candidates: &[Workflow]) -> Result<Vec<f64>>;
}

/// Ground truth: configure and simulate every candidate.
pub struct SimScorer {
    /// How candidates are configured and run.
    pub opts: EvalOptions,
}

impl Scorer for SimScorer {
    fn name(&self) -> String {
        "sim".into()
    }
    fn score(&mut self, candidates: &[Workflow]) -> Result<Vec<f64>> {
        Ok(candidates
            .iter()
            .map(|w| match evaluate(w, &self.opts) {
                Ok(m) => self.opts.objective.value(&m),
                Err(_) => f64::NEG_INFINITY,
            })
            .collect())
    }
}

/// The plan's predictions as a measurement: predicted cost and latency, attainment 1 when the plan
/// meets the SLO under its model and 0 otherwise, and the throughput the account limit allows from
/// the plan's environment-seconds per request (fan-out x predicted duration of every task step,
/// shared by a batch's members).
pub fn predicted(wf: &Workflow, opts: &EvalOptions) -> Result<Measured> {
    let plan = plan_only(wf, opts)?;
    let mut env_s = 0.0;
    for (s, p) in wf.steps().iter().zip(&plan.steps) {
        if p.is_task {
            let fill = s.batch.map_or(1.0, |b| {
                let rate = opts.arrivals.mean_rate_per_s();
                f64::from(b.size).min(1.0 + rate * b.window_s).max(1.0)
            });
            env_s += f64::from(p.fan_out) * p.duration_s_pred / fill;
        }
    }
    let limit = f64::from(opts.platform.spec().concurrency.account_limit);
    Ok(Measured {
        cost_usd_per_request: plan.cost_usd_pred,
        latency_s_mean: plan.latency_s_pred,
        latency_s_p95: plan.latency_s_pred,
        slo_attainment: if plan.feasible { 1.0 } else { 0.0 },
        throughput_per_s: opts.arrivals.mean_rate_per_s(),
        throughput_at_limit_per_s: if env_s > 0.0 { limit / env_s } else { 0.0 },
        cold_start_rate: 0.0,
        invocations_per_request: plan
            .steps
            .iter()
            .filter(|p| p.is_task)
            .map(|p| f64::from(p.fan_out))
            .sum(),
        n_failed: 0,
        plan_feasible: plan.feasible,
        cost_usd_pred: plan.cost_usd_pred,
        latency_s_pred: plan.latency_s_pred,
        planned_slo_s: plan.slo_s,
    })
}

/// The Costless-style analytic scorer: the plan's predictions, no simulation.
pub struct AnalyticScorer {
    /// How candidates are configured.
    pub opts: EvalOptions,
}

impl Scorer for AnalyticScorer {
    fn name(&self) -> String {
        "analytic".into()
    }
    fn score(&mut self, candidates: &[Workflow]) -> Result<Vec<f64>> {
        Ok(candidates
            .iter()
            .map(|w| match predicted(w, &self.opts) {
                Ok(m) => self.opts.objective.value(&m),
                Err(_) => f64::NEG_INFINITY,
            })
            .collect())
    }
}

/// Beam search settings.
#[derive(Debug, Clone)]
pub struct BeamOptions {
    /// Most transforms in a sequence. Default 3.
    pub depth: usize,
    /// Topologies kept and expanded at each depth. Default 4.
    pub width: usize,
    /// Which transforms are proposed.
    pub candidates: CandidateOptions,
}

impl Default for BeamOptions {
    fn default() -> Self {
        BeamOptions {
            depth: 3,
            width: 4,
            candidates: CandidateOptions::default(),
        }
    }
}

/// A candidate topology with the transforms that made it and its score.
#[derive(Debug, Clone, Serialize)]
pub struct Ranked {
    /// The transforms applied to the original, in order (empty: the original).
    pub transforms: Vec<String>,
    /// The scorer's value (higher is better).
    pub score: f64,
    /// The topology.
    #[serde(skip)]
    pub workflow: Workflow,
}

/// Every distinct topology reachable from `wf` in at most `depth` transforms (the original first,
/// then breadth-first in the deterministic order of [`candidates`]), deduplicated by canonical form.
/// Stops with an error past `limit` topologies.
pub fn enumerate(
    wf: &Workflow,
    depth: usize,
    opts: &CandidateOptions,
    limit: usize,
) -> Result<Vec<(Workflow, Vec<Transform>)>> {
    let mut seen: BTreeSet<u64> = BTreeSet::new();
    seen.insert(canonical_key(wf));
    let mut all = vec![(wf.clone(), Vec::new())];
    let mut frontier = vec![0usize];
    for _ in 0..depth {
        let mut next = Vec::new();
        for &i in &frontier {
            let (w, ts) = all[i].clone();
            for t in candidates(&w, opts) {
                let Ok(applied) = apply(&w, &t) else { continue };
                if !seen.insert(canonical_key(&applied.workflow)) {
                    continue;
                }
                let mut seq = ts.clone();
                seq.push(t);
                all.push((applied.workflow, seq));
                next.push(all.len() - 1);
                if all.len() > limit {
                    return Err(Error::Setting {
                        field: "enumeration".into(),
                        reason: format!(
                            "more than {limit} distinct topologies within {depth} transforms of '{}'",
                            wf.name
                        ),
                    });
                }
            }
        }
        frontier = next;
    }
    Ok(all)
}

/// Beam search from `wf` (see the module docs). Returns every distinct topology scored, the original
/// included, best first (ties: the one found first). Candidates scored `-inf` (not runnable) are
/// dropped, except the original, which is an error when it cannot be scored.
pub fn beam_search(
    wf: &Workflow,
    scorer: &mut dyn Scorer,
    opts: &BeamOptions,
) -> Result<Vec<Ranked>> {
    if opts.width == 0 {
        return Err(Error::Setting {
            field: "width".into(),
            reason: "must be at least 1".into(),
        });
    }
    let original_score = scorer.score(std::slice::from_ref(wf))?[0];
    if !original_score.is_finite() {
        return Err(Error::Setting {
            field: "workflow".into(),
            reason: format!(
                "'{}' cannot be configured and run at this SLO and load by scorer {}",
                wf.name,
                scorer.name()
            ),
        });
    }
    let mut seen: BTreeSet<u64> = BTreeSet::new();
    seen.insert(canonical_key(wf));
    let mut all: Vec<(Workflow, Vec<Transform>, f64)> =
        vec![(wf.clone(), Vec::new(), original_score)];
    let mut beam: Vec<usize> = vec![0];
    for _ in 0..opts.depth {
        let mut children: Vec<(Workflow, Vec<Transform>)> = Vec::new();
        for &i in &beam {
            let (w, ts, _) = &all[i];
            for t in candidates(w, &opts.candidates) {
                let Ok(applied) = apply(w, &t) else { continue };
                if !seen.insert(canonical_key(&applied.workflow)) {
                    continue;
                }
                let mut seq = ts.clone();
                seq.push(t);
                children.push((applied.workflow, seq));
            }
        }
        if children.is_empty() {
            break;
        }
        let wfs: Vec<Workflow> = children.iter().map(|c| c.0.clone()).collect();
        let scores = scorer.score(&wfs)?;
        let first = all.len();
        for ((w, seq), s) in children.into_iter().zip(scores) {
            if s.is_finite() {
                all.push((w, seq, s));
            }
        }
        let mut order: Vec<usize> = (first..all.len()).collect();
        order.sort_by(|&a, &b| all[b].2.total_cmp(&all[a].2).then(a.cmp(&b)));
        order.truncate(opts.width);
        beam = order;
        if beam.is_empty() {
            break;
        }
    }
    let mut ranked: Vec<Ranked> = all
        .into_iter()
        .map(|(workflow, ts, score)| Ranked {
            transforms: ts.iter().map(|t| t.to_string()).collect(),
            score,
            workflow,
        })
        .collect();
    // A stable sort keeps discovery order among equal scores.
    ranked.sort_by(|a, b| b.score.total_cmp(&a.score));
    Ok(ranked)
}
