//! Profiling in the simulator and held-out evaluation.
//!
//! Design of a profiling run (what a developer would do on a real platform, here on
//! `platform::exec::run_step`, the simulator's ground truth):
//! - A small training grid ([`Grid::training`]): memory {768, 1280, 1664, 2560, 5120, 9216} MB x
//!   fan-out {1, 3, 6, 12, 24, 48} x workers {1, 3, 6}, feasible configurations only (fan-out <= jobs,
//!   workers fit in memory). No memory size, no fan-out above 1 and no worker count above 1 is in the
//!   paper's grid, so no configuration of the paper's grid is ever profiled.
//! - The mapping delay is measured once per platform by a probe ([`probe_mapping_delay`], as the paper
//!   measured it for its Fig. 4) and held fixed in every step's fit ([`ProfileOptions::probe_mapping`]).
//! - Each configuration runs `reps` times (default 30) on warm instances (cold starts are a separate, per-function
//!   quantity and are not part of Eq. 1), each repetition on its own named random stream
//!   (`perfmodel/train/<step>/<config>`, index = repetition); the sample is the mean step duration
//!   (start of the step to the end of its last instance, storage jitter, stragglers and mapping delay
//!   included).
//! - Ground truth for held-out configurations is the same mean over `reps_truth` repetitions on
//!   independent streams (`perfmodel/truth/...`).
//!
//! Deterministic: the same seed gives the same samples, bit for bit.

use des::{RngStreams, SimTime};
use platform::exec::{AlwaysWarm, run_step};
use platform::{Platform, StepConfig};
use serde::{Deserialize, Serialize};
use workflow::{Step, StepId, StepKind, Workflow};

use crate::fit::{ErrorReport, FitOptions, fit_function};
use crate::model::{DurationModel, MappingDelay, PerfModel, PlatformFacts, StepModel};
use crate::{Error, Sample};

/// A grid of configurations: every combination of the three lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grid {
    /// Memory sizes, MB.
    pub memory_mb: Vec<u32>,
    /// Fan-outs `p`.
    pub fan_out: Vec<u32>,
    /// Workers per instance `q`.
    pub workers: Vec<u32>,
}

impl Grid {
    /// StepConf's configuration set: M = {512, 1024, 1536, 2048, 4096, 6144, 8192, 10240} MB x
    /// P = {1, 2, 4, 8, 16, 32} x Q = {1, 2, 4, 8} (192 configurations).
    pub fn paper() -> Grid {
        Grid {
            memory_mb: vec![512, 1024, 1536, 2048, 4096, 6144, 8192, 10_240],
            fan_out: vec![1, 2, 4, 8, 16, 32],
            workers: vec![1, 2, 4, 8],
        }
    }

    /// The default profiling grid (see the module docs): 6 x 6 x 3 = 108 configurations before
    /// feasibility, none of them in [`Grid::paper`].
    pub fn training() -> Grid {
        Grid {
            memory_mb: vec![768, 1280, 1664, 2560, 5120, 9216],
            fan_out: vec![1, 3, 6, 12, 24, 48],
            workers: vec![1, 3, 6],
        }
    }

    /// Every configuration, memory-major.
    pub fn configs(&self) -> impl Iterator<Item = StepConfig> + '_ {
        self.memory_mb.iter().flat_map(move |&m| {
            self.fan_out
                .iter()
                .flat_map(move |&p| self.workers.iter().map(move |&q| StepConfig::new(m, p, q)))
        })
    }

    /// The configurations feasible for `step` on `platform`.
    pub fn feasible(&self, platform: &Platform, step: &Step) -> Vec<StepConfig> {
        self.configs()
            .filter(|&c| platform.check_config(step, c).is_ok())
            .collect()
    }
}

/// Profiling and evaluation options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileOptions {
    /// Root seed.
    pub seed: u64,
    /// Training configurations.
    pub train: Grid,
    /// Repetitions per training configuration.
    pub reps_train: u32,
    /// Held-out configurations (those also in `train` are skipped).
    pub heldout: Grid,
    /// Repetitions per held-out configuration (the ground-truth mean).
    pub reps_truth: u32,
    /// Measure the mapping delay once with a probe ([`probe_mapping_delay`]) and hold it fixed in
    /// every step's fit (`false`: fit it jointly per step from the training fan-outs).
    pub probe_mapping: bool,
}

impl Default for ProfileOptions {
    fn default() -> Self {
        ProfileOptions {
            seed: 1,
            train: Grid::training(),
            reps_train: 30,
            heldout: Grid::paper(),
            reps_truth: 200,
            probe_mapping: true,
        }
    }
}

/// The mean behaviour of one configuration over repetitions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    /// Mean step duration, seconds.
    pub duration_s: f64,
    /// Mean step cost (compute and requests), USD.
    pub cost_usd: f64,
}

/// Runs `step` under `cfg` `reps` times on warm instances, each repetition on the stream
/// `<stream>/<step>/<cfg>` with index = repetition, and returns the means. `cfg` must be feasible.
pub fn measure(
    platform: &Platform,
    step: &Step,
    cfg: StepConfig,
    reps: u32,
    seed: u64,
    stream: &str,
) -> Measurement {
    let streams = RngStreams::new(seed);
    let name = format!("{stream}/{}/{cfg}", step.name);
    let mut scratch = Vec::new();
    let (mut t, mut c) = (0.0, 0.0);
    for rep in 0..reps.max(1) {
        let mut rng = streams.indexed(&name, u64::from(rep));
        let ex = run_step(
            platform,
            step,
            cfg,
            SimTime::ZERO,
            &mut AlwaysWarm,
            &mut rng,
            &mut scratch,
        );
        t += ex.finish.as_secs_f64();
        c += ex.cost_usd;
    }
    let n = f64::from(reps.max(1));
    Measurement {
        duration_s: t / n,
        cost_usd: c / n,
    }
}

/// Profiles a task step on every feasible configuration of `grid` (see the module docs).
pub fn profile_step(
    platform: &Platform,
    step: &Step,
    grid: &Grid,
    reps: u32,
    seed: u64,
) -> Vec<Sample> {
    grid.feasible(platform, step)
        .into_iter()
        .map(|cfg| Sample {
            function: step.name.clone(),
            memory_mb: cfg.memory_mb,
            fan_out: cfg.fan_out,
            workers: cfg.workers,
            jobs: step.jobs,
            duration_s: measure(platform, step, cfg, reps, seed, "perfmodel/train").duration_s,
        })
        .collect()
}

/// Fan-outs of the mapping-delay probe.
pub const PROBE_FAN_OUTS: [u32; 16] = [1, 2, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48, 56, 64];

/// Measures the platform's mapping delay `t_map(p)` as StepConf does for its Fig. 4: a probe function
/// with one job of 1 ms of work and no data per instance runs at each fan-out of [`PROBE_FAN_OUTS`]
/// (`reps` repetitions, warm, stream `perfmodel/probe`), and `t_map(p) = per_instance_s (p-1) +
/// growth_s max(0, p-1-knee)^2` is fitted by least squares (linear for each knee among the probed
/// fan-outs; the knee with the lowest AICc wins) to the step duration minus that at `p = 1`.
pub fn probe_mapping_delay(platform: &Platform, reps: u32, seed: u64) -> MappingDelay {
    let probe = |jobs: u32| Step {
        name: "mapping-probe".into(),
        kind: StepKind::Task,
        function: "mapping-probe".into(),
        jobs,
        work_s: 1e-3,
        parallel_fraction: 0.0,
        memory_mb_per_worker: 128,
        input_mb: 0.0,
        output_mb: 0.0,
        cold_start_s: None,
        max_fan_out: None,
        max_concurrency: None,
        wait_s: 0.0,
        retry: None,
        choices: Vec::new(),
        data_from: Vec::new(),
        batch: None,
    };
    let memory_mb = platform
        .spec()
        .vcpu_full_mb
        .max(platform.spec().memory_mb_min)
        .min(platform.spec().memory_mb_max);
    let ys: Vec<f64> = PROBE_FAN_OUTS
        .iter()
        .map(|&p| {
            measure(
                platform,
                &probe(p),
                StepConfig::new(memory_mb, p, 1),
                reps,
                seed,
                "perfmodel/probe",
            )
            .duration_s
        })
        .collect();
    let mut best: Option<(f64, MappingDelay)> = None;
    for &knee_p in &PROBE_FAN_OUTS {
        let knee = knee_p - 1;
        let rows: Vec<Vec<f64>> = PROBE_FAN_OUTS
            .iter()
            .map(|&p| {
                let j = f64::from(p - 1);
                vec![1.0, j, (j - f64::from(knee)).max(0.0).powi(2)]
            })
            .collect();
        let Some((t, sse)) = crate::lm::linear_lsq(&rows, &ys, &vec![1.0; ys.len()], &[true; 3])
        else {
            continue;
        };
        let k = t.iter().filter(|v| **v > 0.0).count();
        let score = crate::fit::aicc(sse, ys.len(), k);
        if best.as_ref().is_none_or(|b| score < b.0) {
            best = Some((
                score,
                MappingDelay {
                    per_instance_s: t[1],
                    knee,
                    growth_s: t[2],
                },
            ));
        }
    }
    best.map_or(MappingDelay::default(), |b| b.1)
}

/// Profiles every task step of `workflow` on the training grid and fits a [`PerfModel`] (with the
/// mapping delay from [`probe_mapping_delay`] when `opts.probe_mapping` and `fit.mapping` is `None`).
/// Non-task steps get a fixed duration (their `wait_s`) and no cost.
pub fn fit_workflow(
    platform: &Platform,
    workflow: &Workflow,
    opts: &ProfileOptions,
    fit: FitOptions,
) -> Result<PerfModel, Error> {
    check_options(opts)?;
    let facts = PlatformFacts::of(platform);
    let mut fit = fit;
    if opts.probe_mapping && fit.mapping.is_none() {
        fit.mapping = Some(probe_mapping_delay(platform, opts.reps_train, opts.seed));
    }
    let mut steps = Vec::with_capacity(workflow.n_steps());
    for step in workflow.steps() {
        if step.kind != StepKind::Task {
            steps.push(StepModel {
                name: step.name.clone(),
                jobs: 0,
                duration: DurationModel::Fixed {
                    duration_s: step.wait_s,
                },
                mapping: MappingDelay::default(),
                tail: Default::default(),
                saturation_mb: None,
            });
            continue;
        }
        let samples = profile_step(platform, step, &opts.train, opts.reps_train, opts.seed);
        if samples.is_empty() {
            return Err(Error::NotEnoughSamples {
                function: step.name.clone(),
                message: "no configuration of the training grid is feasible for this step".into(),
            });
        }
        // The training grid gives every segment its samples; a step whose feasible configurations do not
        // still fits (with the fallbacks of `fit`), and its warnings are not reported here.
        steps.push(fit_function(&step.name, &samples, &facts, fit)?.model);
    }
    Ok(PerfModel {
        workflow: workflow.name.clone(),
        seed: Some(opts.seed),
        platform: facts,
        steps,
    })
}

fn check_options(opts: &ProfileOptions) -> Result<(), Error> {
    let bad = |place: &str, message: &str| {
        Err(Error::Invalid {
            place: place.into(),
            message: message.into(),
        })
    };
    if opts.reps_train == 0 {
        return bad("reps_train", "must be >= 1");
    }
    if opts.reps_truth == 0 {
        return bad("reps_truth", "must be >= 1");
    }
    if opts.train.configs().next().is_none() {
        return bad("train", "the training grid is empty");
    }
    Ok(())
}

/// Held-out accuracy of one step's model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepEvaluation {
    /// Step name.
    pub step: String,
    /// Training samples (feasible training configurations).
    pub n_train: usize,
    /// Relative error of the predicted duration against the simulated mean, on held-out configurations.
    pub duration: ErrorReport,
    /// Relative error of the predicted cost against the simulated mean cost.
    pub cost: ErrorReport,
    /// The held-out configuration with the largest duration error, with predicted and simulated mean
    /// durations (seconds).
    pub worst: Option<(StepConfig, f64, f64)>,
}

/// One held-out configuration of a task step: the model's prediction and the simulated mean.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeldOut {
    /// The step.
    pub step: StepId,
    /// The configuration.
    pub config: StepConfig,
    /// Predicted duration, seconds.
    pub predicted_duration_s: f64,
    /// Predicted cost, USD.
    pub predicted_cost_usd: f64,
    /// Simulated mean of `opts.reps_truth` runs.
    pub measured: Measurement,
}

/// Every held-out configuration of every task step with `model`'s prediction and the simulated mean:
/// feasible configurations of `opts.heldout` not in `opts.train`, simulated `opts.reps_truth` times, in
/// step then grid order. [`evaluate`] summarises them; `faastune fit --plot` draws them.
pub fn held_out(
    platform: &Platform,
    workflow: &Workflow,
    model: &PerfModel,
    opts: &ProfileOptions,
) -> Result<Vec<HeldOut>, Error> {
    check_options(opts)?;
    model.check_fits(workflow)?;
    let mut out = Vec::new();
    for id in workflow.step_ids() {
        let step = workflow.step(id);
        if step.kind != StepKind::Task {
            continue;
        }
        let train = opts.train.feasible(platform, step);
        for cfg in opts.heldout.feasible(platform, step) {
            if train.contains(&cfg) {
                continue;
            }
            out.push(HeldOut {
                step: id,
                config: cfg,
                predicted_duration_s: model.predict_duration_s(id, cfg),
                predicted_cost_usd: model.predict_cost_usd(id, cfg),
                measured: measure(
                    platform,
                    step,
                    cfg,
                    opts.reps_truth,
                    opts.seed,
                    "perfmodel/truth",
                ),
            });
        }
    }
    Ok(out)
}

/// Evaluates `model` on the held-out configurations of `opts` for every task step ([`held_out`]).
pub fn evaluate(
    platform: &Platform,
    workflow: &Workflow,
    model: &PerfModel,
    opts: &ProfileOptions,
) -> Result<Vec<StepEvaluation>, Error> {
    Ok(summarise(
        platform,
        workflow,
        opts,
        &held_out(platform, workflow, model, opts)?,
    ))
}

/// The per-step summary of held-out points (as [`evaluate`] returns it).
pub fn summarise(
    platform: &Platform,
    workflow: &Workflow,
    opts: &ProfileOptions,
    points: &[HeldOut],
) -> Vec<StepEvaluation> {
    let mut out = Vec::new();
    for id in workflow.step_ids() {
        let step = workflow.step(id);
        if step.kind != StepKind::Task {
            continue;
        }
        let mut pairs_t = Vec::new();
        let mut pairs_c = Vec::new();
        let mut worst: Option<(StepConfig, f64, f64)> = None;
        let mut worst_e = -1.0;
        for h in points.iter().filter(|h| h.step == id) {
            let truth = h.measured.duration_s;
            let e = (h.predicted_duration_s - truth).abs() / truth;
            if e > worst_e {
                worst_e = e;
                worst = Some((h.config, h.predicted_duration_s, truth));
            }
            pairs_t.push((h.predicted_duration_s, truth));
            pairs_c.push((h.predicted_cost_usd, h.measured.cost_usd));
        }
        out.push(StepEvaluation {
            step: step.name.clone(),
            n_train: opts.train.feasible(platform, step).len(),
            duration: ErrorReport::from_pairs(pairs_t),
            cost: ErrorReport::from_pairs(pairs_c),
            worst,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grids_are_disjoint() {
        let train: Vec<StepConfig> = Grid::training().configs().collect();
        assert_eq!(Grid::paper().configs().count(), 192);
        assert!(Grid::paper().configs().all(|c| !train.contains(&c)));
    }
}
