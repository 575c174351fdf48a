//! How well a scorer ranks topologies, measured against the simulator: Kendall's tau over each
//! workflow's candidate set, top-1 regret against exhaustive enumeration, scoring speed, and the gain
//! of the best topology over the original on given (real) workflows. `faastune bench topology` runs
//! these and writes the results.

use serde::Serialize;
use workflow::Workflow;

use crate::dataset::Group;
use crate::objective::{EvalOptions, Measured, evaluate};
use crate::search::{BeamOptions, Scorer, beam_search, enumerate};
use crate::transform::CandidateOptions;
use crate::{Error, Result};

/// Kendall's tau-b (`des::stats::kendall_tau`, the project's one definition).
pub use des::stats::kendall_tau;

/// Regret of choosing a candidate of value `chosen` when the best has `best` (objective values,
/// higher is better): `exp(best - chosen) - 1`, the relative extra cost for the cost goal (0: the
/// best was chosen). A chosen candidate that misses the SLO while the best meets it has a regret of
/// at least `e^20`.
pub fn regret(best: f64, chosen: f64) -> f64 {
    ((best - chosen).max(0.0)).exp() - 1.0
}

/// Summary of values: mean, median, min, max over the finite ones, and how many.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Summary {
    /// Finite values counted.
    pub n: usize,
    /// Mean.
    pub mean: f64,
    /// Median (nearest rank).
    pub median: f64,
    /// Smallest.
    pub min: f64,
    /// Largest.
    pub max: f64,
}

impl Summary {
    /// Summarises the finite values of `xs`.
    pub fn of(xs: &[f64]) -> Summary {
        let mut v: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return Summary {
                n: 0,
                mean: f64::NAN,
                median: f64::NAN,
                min: f64::NAN,
                max: f64::NAN,
            };
        }
        v.sort_by(f64::total_cmp);
        Summary {
            n: v.len(),
            mean: v.iter().sum::<f64>() / v.len() as f64,
            median: des::stats::percentile_sorted(&v, 50.0).unwrap_or(f64::NAN),
            min: v[0],
            max: v[v.len() - 1],
        }
    }
}

/// A scorer's ranking quality over candidate groups whose ground truth is known.
#[derive(Debug, Clone, Serialize)]
pub struct RankingQuality {
    /// The scorer.
    pub scorer: String,
    /// Kendall's tau per group, summarised.
    pub kendall_tau: Summary,
    /// Regret of the scorer's first candidate within its group, summarised.
    pub top1_regret: Summary,
    /// Share of groups where that regret is at most 5%.
    pub top1_within_5pct: f64,
    /// Candidates scored per second of wall time (scoring only).
    pub candidates_per_s: f64,
}

/// Scores every group's candidates with `scorer` and compares with the groups' measured values.
/// `clock()` returns seconds (wall time, for the speed figure only).
pub fn ranking_quality(
    scorer: &mut dyn Scorer,
    groups: &[Group],
    clock: &mut dyn FnMut() -> f64,
) -> Result<RankingQuality> {
    let mut taus = Vec::with_capacity(groups.len());
    let mut regrets = Vec::with_capacity(groups.len());
    let mut n_scored = 0usize;
    let mut secs = 0.0;
    for g in groups {
        let wfs: Vec<Workflow> = g.samples.iter().map(|s| s.workflow.clone()).collect();
        let t0 = clock();
        let scores = scorer.score(&wfs)?;
        secs += clock() - t0;
        n_scored += wfs.len();
        let truth: Vec<f64> = g.samples.iter().map(|s| s.value).collect();
        taus.push(kendall_tau(&scores, &truth));
        let best = truth.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let top = (0..scores.len())
            .max_by(|&a, &b| scores[a].total_cmp(&scores[b]).then(b.cmp(&a)))
            .unwrap_or(0);
        regrets.push(regret(best, truth[top]));
    }
    let within =
        regrets.iter().filter(|&&r| r <= 0.05).count() as f64 / regrets.len().max(1) as f64;
    Ok(RankingQuality {
        scorer: scorer.name(),
        kendall_tau: Summary::of(&taus),
        top1_regret: Summary::of(&regrets),
        top1_within_5pct: within,
        candidates_per_s: if secs > 0.0 {
            n_scored as f64 / secs
        } else {
            f64::INFINITY
        },
    })
}

/// Top-1 regret of beam search with a scorer against exhaustive enumeration, one workflow.
#[derive(Debug, Clone, Serialize)]
pub struct RegretCase {
    /// The workflow.
    pub workflow: String,
    /// Steps.
    pub n_steps: usize,
    /// Distinct topologies enumerated (ground truth for each).
    pub n_enumerated: usize,
    /// The best enumerated topology's transforms.
    pub best: Vec<String>,
    /// The beam search's first topology's transforms, per scorer.
    pub chosen: Vec<(String, Vec<String>, f64)>,
}

/// For `wf`: every topology within `depth` transforms measured by the simulator, and for each scorer
/// the regret of beam search's first (same depth, `width`).
pub fn regret_case(
    wf: &Workflow,
    eval: &EvalOptions,
    depth: usize,
    width: usize,
    candidates: &CandidateOptions,
    scorers: &mut [Box<dyn Scorer>],
    limit: usize,
) -> Result<RegretCase> {
    let all = enumerate(wf, depth, candidates, limit)?;
    let mut values = Vec::with_capacity(all.len());
    for (w, _) in &all {
        values.push(match evaluate(w, eval) {
            Ok(m) => eval.objective.value(&m),
            Err(_) => f64::NEG_INFINITY,
        });
    }
    let best_idx = (0..values.len())
        .max_by(|&a, &b| values[a].total_cmp(&values[b]).then(b.cmp(&a)))
        .ok_or_else(|| Error::Setting {
            field: "workflow".into(),
            reason: "nothing to enumerate".into(),
        })?;
    let best = values[best_idx];
    let keys: Vec<u64> = all
        .iter()
        .map(|(w, _)| crate::canon::canonical_key(w))
        .collect();
    let beam = BeamOptions {
        depth,
        width,
        candidates: candidates.clone(),
    };
    let mut chosen = Vec::new();
    for s in scorers.iter_mut() {
        let ranked = beam_search(wf, s.as_mut(), &beam)?;
        let first = &ranked[0];
        let key = crate::canon::canonical_key(&first.workflow);
        let v = match keys.iter().position(|&k| k == key) {
            Some(i) => values[i],
            None => match evaluate(&first.workflow, eval) {
                Ok(m) => eval.objective.value(&m),
                Err(_) => f64::NEG_INFINITY,
            },
        };
        chosen.push((s.name(), first.transforms.clone(), regret(best, v)));
    }
    Ok(RegretCase {
        workflow: wf.name.clone(),
        n_steps: wf.n_steps(),
        n_enumerated: all.len(),
        best: all[best_idx].1.iter().map(|t| t.to_string()).collect(),
        chosen,
    })
}

/// The outcome of reshaping one (real) workflow: the original and the best verified topology.
#[derive(Debug, Clone, Serialize)]
pub struct RealCase {
    /// The workflow.
    pub workflow: String,
    /// Where it came from.
    pub source: String,
    /// Steps.
    pub n_steps: usize,
    /// The SLO used, seconds.
    pub slo_s: f64,
    /// Topologies scored by the search.
    pub n_scored: usize,
    /// The original, measured.
    pub original: Measured,
    /// The chosen topology's transforms (empty: the original was kept).
    pub chosen: Vec<String>,
    /// The chosen topology, measured.
    pub chosen_measured: Measured,
    /// Whether the simulator confirms it is cheaper (by more than 0.5%) at the same SLO attainment
    /// target: its attainment is at least the objective's target (the one every candidate is
    /// planned for), or at least the original's when the original misses the target.
    pub cheaper: bool,
    /// [`cheaper`](Self::cheaper), and its attainment is also within one point of the original's
    /// (a stricter reading: no topology that spends the original's headroom above the target).
    pub cheaper_strict: bool,
}

/// Searches `wf` with `scorer`, verifies the `top` best in the simulator and keeps the best
/// verified one when it beats the original under the objective.
pub fn real_case(
    wf: &Workflow,
    source: &str,
    eval: &EvalOptions,
    scorer: &mut dyn Scorer,
    beam: &BeamOptions,
    top: usize,
) -> Result<RealCase> {
    let ranked = beam_search(wf, scorer, beam)?;
    let original = evaluate(wf, eval)?;
    let ov = eval.objective.value(&original);
    let mut best: Option<(usize, Measured, f64)> = None;
    for (i, r) in ranked.iter().take(top).enumerate() {
        if r.transforms.is_empty() {
            continue;
        }
        if let Ok(m) = evaluate(&r.workflow, eval) {
            let v = eval.objective.value(&m);
            if v > ov && best.as_ref().is_none_or(|b| v > b.2) {
                best = Some((i, m, v));
            }
        }
    }
    let (chosen, chosen_measured) = match best {
        Some((i, m, _)) => (ranked[i].transforms.clone(), m),
        None => (Vec::new(), original.clone()),
    };
    // The same SLO attainment target: at least the target (or the original's, when it misses it).
    let meets = chosen_measured.slo_attainment + 1e-12
        >= original.slo_attainment.min(eval.objective.min_attainment);
    let cheaper = !chosen.is_empty()
        && chosen_measured.cost_usd_per_request < original.cost_usd_per_request * 0.995
        && meets;
    let cheaper_strict =
        cheaper && chosen_measured.slo_attainment + 0.01 >= original.slo_attainment;
    Ok(RealCase {
        workflow: wf.name.clone(),
        source: source.to_owned(),
        n_steps: wf.n_steps(),
        slo_s: eval.slo_s,
        n_scored: ranked.len(),
        original,
        chosen,
        chosen_measured,
        cheaper,
        cheaper_strict,
    })
}

/// An SLO for a workflow that has none: `factor` times the latency of the fastest plan the optimizer
/// finds under `eval` (its predicted latency).
pub fn default_slo(wf: &Workflow, eval: &EvalOptions, factor: f64) -> Result<f64> {
    let mut e = eval.clone();
    e.slo_s = 1e-3;
    let plan = crate::objective::plan_only(wf, &e)?;
    Ok((plan.latency_s_pred * factor).max(1e-3))
}
