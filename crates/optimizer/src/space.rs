//! Configuration sets and per-step option tables: `Theta = M x P x Q` (StepConf Eq. 2), filtered per
//! step by what the platform can run, priced by a [`StepPredictor`] and Pareto-pruned (a configuration
//! that another one beats in both duration and cost is never needed, StepConf Sec. IV-B last paragraph).

use std::collections::BTreeMap;

use platform::{Platform, StepConfig};
use workflow::{StepId, StepKind, Workflow};

use crate::{Error, StepPredictor};

/// The candidate values of each knob: `Theta = M x P x Q` (StepConf Eq. 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigSpace {
    /// Memory sizes, MB (`M`).
    pub memory_mb: Vec<u32>,
    /// Fan-outs, instances (`P`, inter-function parallelism).
    pub fan_out: Vec<u32>,
    /// Worker processes per instance (`Q`, intra-function parallelism).
    pub workers: Vec<u32>,
}

impl Default for ConfigSpace {
    fn default() -> Self {
        ConfigSpace::paper()
    }
}

impl ConfigSpace {
    /// StepConf's evaluation set (Sec. VI-A): M = {512, ..., 10240} MB (8 sizes), P = {1, 2, 4, 8, 16, 32},
    /// Q = {1, 2, 4, 8}: 192 configurations per step.
    pub fn paper() -> Self {
        ConfigSpace {
            memory_mb: vec![512, 1024, 1536, 2048, 4096, 6144, 8192, 10240],
            fan_out: vec![1, 2, 4, 8, 16, 32],
            workers: vec![1, 2, 4, 8],
        }
    }

    /// The same set with only the knobs `knobs` allows free (fixed knobs are set to 1).
    pub fn restricted(&self, knobs: Knobs) -> Self {
        ConfigSpace {
            memory_mb: self.memory_mb.clone(),
            fan_out: if knobs.fan_out {
                self.fan_out.clone()
            } else {
                vec![1]
            },
            workers: if knobs.workers {
                self.workers.clone()
            } else {
                vec![1]
            },
        }
    }

    /// Every configuration, in (memory, fan-out, workers) order.
    pub fn configs(&self) -> impl Iterator<Item = StepConfig> + '_ {
        self.memory_mb.iter().flat_map(move |&m| {
            self.fan_out
                .iter()
                .flat_map(move |&p| self.workers.iter().map(move |&q| StepConfig::new(m, p, q)))
        })
    }

    /// Number of configurations (`|Theta|`).
    pub fn len(&self) -> usize {
        self.memory_mb.len() * self.fan_out.len() * self.workers.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn validate(&self) -> Result<(), Error> {
        for (name, v) in [
            ("memory_mb", &self.memory_mb),
            ("fan_out", &self.fan_out),
            ("workers", &self.workers),
        ] {
            if v.is_empty() {
                return Err(Error::InvalidConfigSpace {
                    reason: format!("{name} is empty"),
                });
            }
            if v.contains(&0) {
                return Err(Error::InvalidConfigSpace {
                    reason: format!("{name} contains 0"),
                });
            }
        }
        Ok(())
    }
}

/// Which parallelism knobs a policy may turn (memory is always free).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Knobs {
    /// Inter-function parallelism `p` is free (else 1).
    pub fan_out: bool,
    /// Intra-function parallelism `q` is free (else 1).
    pub workers: bool,
}

impl Knobs {
    /// Both knobs free (StepConf, static, optimal, replan).
    pub const ALL: Knobs = Knobs {
        fan_out: true,
        workers: true,
    };
    /// Only memory (no-no).
    pub const NONE: Knobs = Knobs {
        fan_out: false,
        workers: false,
    };
    /// Memory and workers (intra-only).
    pub const INTRA: Knobs = Knobs {
        fan_out: false,
        workers: true,
    };
    /// Memory and fan-out (inter-only).
    pub const INTER: Knobs = Knobs {
        fan_out: true,
        workers: false,
    };
}

/// One candidate configuration of a step with its predicted effect on the request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepOption {
    /// The configuration.
    pub config: StepConfig,
    /// Predicted execution time ([`StepPredictor::duration_s`]), seconds.
    pub exec_s: f64,
    /// Predicted time the step adds to its path, seconds: the orchestrator's transition delay, the
    /// step's `wait_s` and `exec_s`.
    pub duration_s: f64,
    /// Predicted cost, USD: [`StepPredictor::cost_usd`] plus the orchestrator's state transitions (one
    /// per step, one more per instance when the step fans out, as the platform bills them).
    pub cost_usd: f64,
}

/// Per-step option tables of a workflow on a platform under one predictor and configuration set.
///
/// Invariant: for every step, `pareto(step)` is non-empty, sorted by `duration_s` ascending with
/// `cost_usd` strictly descending (no option dominates another), and every option passes
/// [`Platform::check_config`]. Non-task steps have one option (they run no function).
#[derive(Debug, Clone)]
pub struct Model {
    n_steps: usize,
    preds: Vec<Vec<u32>>,
    succs: Vec<Vec<u32>>,
    topo: Vec<u32>,
    names: Vec<String>,
    overhead_s: Vec<f64>,
    pareto: Vec<Vec<StepOption>>,
    /// Every feasible configuration's option (for looking up observed configurations).
    all: Vec<BTreeMap<StepConfig, StepOption>>,
}

impl Model {
    /// Prices every feasible configuration of `space` for every step of `workflow` with `predictor` and
    /// keeps the Pareto front per step. Fails if a task step has no feasible configuration or the
    /// predictor returns an unusable number.
    pub fn new(
        workflow: &Workflow,
        platform: &Platform,
        predictor: &dyn StepPredictor,
        space: &ConfigSpace,
    ) -> Result<Self, Error> {
        space.validate()?;
        let spec = platform.spec();
        let transition_usd = spec.price_usd_per_transition;
        let mut pareto = Vec::with_capacity(workflow.n_steps());
        let mut all = Vec::with_capacity(workflow.n_steps());
        let mut overhead_s = Vec::with_capacity(workflow.n_steps());
        for id in workflow.step_ids() {
            let step = workflow.step(id);
            let overhead = spec.transition_delay_s + step.wait_s;
            overhead_s.push(overhead);
            let mut opts: Vec<StepOption> = Vec::new();
            if step.kind != StepKind::Task {
                let config = StepConfig::new(spec.memory_mb_min, 1, 1);
                opts.push(StepOption {
                    config,
                    exec_s: 0.0,
                    duration_s: overhead,
                    cost_usd: transition_usd,
                });
            } else {
                let mut first_reason = None;
                for config in space.configs() {
                    if let Err(e) = platform.check_config(step, config) {
                        first_reason.get_or_insert_with(|| e.to_string());
                        continue;
                    }
                    let exec_s = predictor.duration_s(id, config);
                    let cost = predictor.cost_usd(id, config);
                    for (what, value) in [("duration_s", exec_s), ("cost_usd", cost)] {
                        if !(value.is_finite() && value >= 0.0) {
                            return Err(Error::BadPrediction {
                                step: step.name.clone(),
                                config: config.to_string(),
                                what,
                                value,
                            });
                        }
                    }
                    let n_transitions = 1 + if config.fan_out > 1 {
                        config.fan_out
                    } else {
                        0
                    };
                    opts.push(StepOption {
                        config,
                        exec_s,
                        duration_s: overhead + exec_s,
                        cost_usd: cost + f64::from(n_transitions) * transition_usd,
                    });
                }
                if opts.is_empty() {
                    return Err(Error::NoFeasibleConfig {
                        step: step.name.clone(),
                        n_tried: space.len(),
                        example: first_reason.unwrap_or_default(),
                    });
                }
            }
            all.push(opts.iter().map(|o| (o.config, *o)).collect());
            pareto.push(pareto_front(opts));
        }
        let idx = |v: &[StepId]| v.iter().map(|s| s.0).collect::<Vec<u32>>();
        Ok(Model {
            n_steps: workflow.n_steps(),
            preds: workflow
                .step_ids()
                .map(|id| idx(workflow.preds(id)))
                .collect(),
            succs: workflow
                .step_ids()
                .map(|id| idx(workflow.succs(id)))
                .collect(),
            topo: idx(workflow.topo_order()),
            names: workflow.steps().iter().map(|s| s.name.clone()).collect(),
            overhead_s,
            pareto,
            all,
        })
    }

    /// Number of steps.
    pub fn n_steps(&self) -> usize {
        self.n_steps
    }

    /// Predecessors of step `i` (dense indices).
    pub fn preds(&self, i: usize) -> &[u32] {
        &self.preds[i]
    }

    /// Successors of step `i`.
    pub fn succs(&self, i: usize) -> &[u32] {
        &self.succs[i]
    }

    /// A topological order (the workflow's).
    pub fn topo(&self) -> &[u32] {
        &self.topo
    }

    /// Step names.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Fixed time step `i` adds before it runs (transition delay + `wait_s`), seconds.
    pub fn overhead_s(&self, i: usize) -> f64 {
        self.overhead_s[i]
    }

    /// The Pareto front of step `i`: fastest first, cheapest last.
    pub fn pareto(&self, i: usize) -> &[StepOption] {
        &self.pareto[i]
    }

    /// All Pareto fronts, by step index.
    pub fn fronts(&self) -> &[Vec<StepOption>] {
        &self.pareto
    }

    /// The option of `config` for step `i`, if it is in the configuration set and feasible.
    pub fn lookup(&self, i: usize, config: StepConfig) -> Option<&StepOption> {
        self.all[i].get(&config)
    }

    /// Every feasible option of step `i` (Pareto-dominated ones included), in configuration order.
    pub fn options(&self, i: usize) -> impl Iterator<Item = &StepOption> + '_ {
        self.all[i].values()
    }

    /// Number of Pareto options over all steps.
    pub fn n_pareto_options(&self) -> usize {
        self.pareto.iter().map(Vec::len).sum()
    }
}

/// The Pareto front of `opts` (minimising duration and cost): sorted by duration ascending with cost
/// strictly descending. Ties keep the first option in configuration order, so the front is deterministic.
pub fn pareto_front(mut opts: Vec<StepOption>) -> Vec<StepOption> {
    // Stable sort: equal (duration, cost) keeps configuration order.
    opts.sort_by(|a, b| {
        a.duration_s
            .total_cmp(&b.duration_s)
            .then(a.cost_usd.total_cmp(&b.cost_usd))
    });
    let mut front: Vec<StepOption> = Vec::with_capacity(opts.len());
    for o in opts {
        if front.last().is_none_or(|last| o.cost_usd < last.cost_usd) {
            front.push(o);
        }
    }
    front
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opt(d: f64, c: f64, m: u32) -> StepOption {
        StepOption {
            config: StepConfig::new(m, 1, 1),
            exec_s: d,
            duration_s: d,
            cost_usd: c,
        }
    }

    #[test]
    fn pareto_front_drops_dominated_and_keeps_first_of_ties() {
        let f = pareto_front(vec![
            opt(3.0, 1.0, 1),
            opt(1.0, 5.0, 2),
            opt(2.0, 5.0, 3),
            opt(1.0, 5.0, 4),
            opt(2.0, 2.0, 5),
        ]);
        let ms: Vec<u32> = f.iter().map(|o| o.config.memory_mb).collect();
        assert_eq!(ms, vec![2, 5, 1]);
    }

    #[test]
    fn paper_space_has_192_configs() {
        assert_eq!(ConfigSpace::paper().len(), 192);
        assert_eq!(ConfigSpace::paper().configs().count(), 192);
        assert_eq!(ConfigSpace::paper().restricted(Knobs::NONE).len(), 8);
    }
}
