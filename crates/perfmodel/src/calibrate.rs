//! Calibrating the simulator to a fitted model: a workflow whose task steps run, in the unchanged
//! simulator (`platform::exec`), with the mean instance durations the model predicts for every
//! configuration a plan can choose. `faastune compare --model-file` simulates on it, so policies
//! planned with a model fitted to measured samples are judged on a platform that behaves like those
//! measurements.
//!
//! Why the step parameters and not a new duration model inside the simulator: the simulator's
//! execution model of a job is already our Amdahl form (`platform::exec`: with `c` vCPUs and `w` busy
//! workers a job computes `work_s ((1 - f) max(w / c, 1) + f w / c)` and then spends its storage time),
//! and an instance runs `ceil(n / w)` rounds of jobs; so an instance's mean busy time is linear in
//! `A = work_s (1 - f)`, `B = work_s f` and the per-job storage time `S`. Calibration fits `A, B, S >= 0`
//! by least squares on relative errors to the model's instance durations
//! ([`crate::StepModel::instance_duration_s`]) for every instance size (jobs per instance) of every
//! feasible configuration of a grid (the optimizer's: StepConf's M x P x Q), then sets
//! `work_s = A + B`, `parallel_fraction = B / (A + B)` and `input_mb` from `S` (`output_mb = 0`).
//! An Amdahl-form model without a fixed part is reproduced exactly; Eq. 1, a fixed part per instance
//! or a saturation are matched as closely as the three parameters allow, and [`StepCalibration`]
//! reports how closely.
//!
//! What stays the platform's own: the mapping delay `t_map(p)` and the spread of `p` instances (the
//! step ends with the slowest), cold starts, stragglers and storage jitter, retries, batching. The
//! model's fitted mapping delay and fan-out tail are not copied into the simulation: a model fitted
//! to one-instance measurements has neither, and the simulator's are what a plan meets there.
//! Targets are means with the simulator's noise in expectation: the straggler slowdown's mean factor
//! multiplies the compute and each storage access costs its mean latency (`median * exp(sigma^2 / 2)`,
//! one access per job when `S > 0`).
//!
//! Deterministic (no random draws) and fast: one small least-squares problem per task step.

use platform::{Platform, StepConfig};
use serde::Serialize;
use workflow::{StepKind, Workflow};

use crate::Error;
use crate::lm::linear_lsq;
use crate::model::PerfModel;
use crate::profile::Grid;

/// How one task step was calibrated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepCalibration {
    /// Step name.
    pub step: String,
    /// The step's `work_s` on the calibrated platform.
    pub work_s: f64,
    /// The step's `parallel_fraction` on the calibrated platform.
    pub parallel_fraction: f64,
    /// The step's `input_mb` on the calibrated platform (`output_mb` is 0).
    pub input_mb: f64,
    /// Configurations fitted and checked (the grid's feasible ones for the step).
    pub n_configs: usize,
    /// Largest `|expected simulated mean - predicted| / predicted` of an instance's duration over
    /// those configurations (each instance size of each).
    pub max_rel_error: f64,
    /// Mean of the same.
    pub mean_rel_error: f64,
}

/// A workflow calibrated to a model, and how each task step was calibrated.
#[derive(Debug, Clone)]
pub struct Calibration {
    /// The workflow with calibrated task steps (same names, structure and step ids).
    pub workflow: Workflow,
    /// One entry per task step, in step order.
    pub steps: Vec<StepCalibration>,
}

/// The mean effects of the platform's noise on one job.
#[derive(Debug, Clone, Copy)]
struct Noise {
    /// Expected factor of stragglers on compute: `1 + prob (mean slowdown - 1)`.
    straggle: f64,
    /// Mean latency of one storage access, seconds.
    latency_mean_s: f64,
    /// Storage bandwidth, MB per second.
    bandwidth_mb_per_s: f64,
}

impl Noise {
    fn of(platform: &Platform) -> Noise {
        let spec = platform.spec();
        let sg = &spec.straggler;
        let st = &spec.storage;
        let noisy = st.latency_sigma > 0.0 && st.latency_s_median > 0.0;
        Noise {
            straggle: 1.0 + sg.probability * (0.5 * (sg.slowdown_min + sg.slowdown_max) - 1.0),
            latency_mean_s: if noisy {
                st.latency_s_median * (0.5 * st.latency_sigma * st.latency_sigma).exp()
            } else {
                st.latency_s_median
            },
            bandwidth_mb_per_s: st.bandwidth_mb_per_s,
        }
    }
}

/// A step's execution parameters as the linear model sees them.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Params {
    /// `work_s (1 - f)`, seconds per job at one vCPU.
    serial_s: f64,
    /// `work_s f`, seconds per job at one vCPU.
    parallel_s: f64,
    /// Mean storage time per job, seconds (0, or at least one access's mean latency).
    storage_s: f64,
}

/// The jobs per instance of a step's instances as `platform::exec` splits them: one or two distinct
/// counts (the first `jobs % p` instances take one job more).
fn jobs_per_instance(jobs: u32, fan_out: u32) -> impl Iterator<Item = u32> {
    let p = fan_out.max(1);
    let (base, extra) = (jobs / p, jobs % p);
    [(base + 1, extra), (base, p - extra)]
        .into_iter()
        .filter(|&(n_jobs, n_inst)| n_jobs > 0 && n_inst > 0)
        .map(|(n_jobs, _)| n_jobs)
}

/// One calibration target: an instance of a configuration with some jobs, the model's duration for
/// it, its rounds of jobs and the compute columns of one round (`[serial, parallel]` per second of
/// work at one vCPU, straggler mean included).
#[derive(Debug, Clone, Copy)]
struct Target {
    y: f64,
    rounds: f64,
    cols: [f64; 2],
}

impl Target {
    fn new(platform: &Platform, noise: Noise, cfg: StepConfig, n_jobs: u32, y: f64) -> Target {
        let c = platform.vcpus(cfg.memory_mb);
        let w = cfg.workers.max(1).min(n_jobs);
        let wf = f64::from(w);
        Target {
            y,
            rounds: f64::from(n_jobs.div_ceil(w)),
            cols: [noise.straggle * (wf / c).max(1.0), noise.straggle * wf / c],
        }
    }

    /// The simulator's expected mean busy time of the instance with `params`.
    fn expected_s(&self, params: Params) -> f64 {
        self.rounds
            * (params.serial_s * self.cols[0] + params.parallel_s * self.cols[1] + params.storage_s)
    }
}

/// Fits a step's parameters to `targets` by least squares on relative errors, with storage either
/// absent or at least one access per job; the better fit wins.
fn fit_params(noise: Noise, targets: &[Target]) -> Params {
    let weights: Vec<f64> = targets.iter().map(|t| 1.0 / t.y.max(1e-9)).collect();
    // (i) No storage: columns serial, parallel.
    let a: Vec<Vec<f64>> = targets
        .iter()
        .map(|t| vec![t.rounds * t.cols[0], t.rounds * t.cols[1]])
        .collect();
    let ya: Vec<f64> = targets.iter().map(|t| t.y).collect();
    let no_storage = linear_lsq(&a, &ya, &weights, &[true, true]).map(|(th, sse)| {
        (
            Params {
                serial_s: th[0],
                parallel_s: th[1],
                storage_s: 0.0,
            },
            sse,
        )
    });
    // (ii) One access's mean latency plus a transfer per job: columns serial, parallel, transfer.
    let b: Vec<Vec<f64>> = targets
        .iter()
        .map(|t| vec![t.rounds * t.cols[0], t.rounds * t.cols[1], t.rounds])
        .collect();
    let yb: Vec<f64> = targets
        .iter()
        .map(|t| t.y - t.rounds * noise.latency_mean_s)
        .collect();
    let storage = linear_lsq(&b, &yb, &weights, &[true, true, true]).map(|(th, sse)| {
        (
            Params {
                serial_s: th[0],
                parallel_s: th[1],
                storage_s: noise.latency_mean_s + th[2],
            },
            sse,
        )
    });
    let zero = Params {
        serial_s: 0.0,
        parallel_s: 0.0,
        storage_s: 0.0,
    };
    match (no_storage, storage) {
        (Some(a), Some(b)) => {
            if b.1 < a.1 {
                b.0
            } else {
                a.0
            }
        }
        (a, b) => a.or(b).map_or(zero, |x| x.0),
    }
}

/// Smallest `work_s` a calibrated step gets: a task needs some work, and a model that predicts no
/// memory-dependent time at all gets this much.
const MIN_WORK_S: f64 = 1e-6;
/// `input_mb` of a step whose storage is exactly one access's latency: one byte, so the access
/// happens.
const MIN_INPUT_MB: f64 = 1e-6;

/// Calibrates every task step of `workflow` to `model` (applied to `workflow`: one step model per
/// step, in step order, e.g. from [`PerfModel::for_workflow`]) on `platform`, over the feasible
/// configurations of `grid` for each step (see the module docs).
///
/// # Errors
/// [`Error::Invalid`] naming the step when the model has a different number of steps, when no
/// configuration of `grid` is feasible for a step, or when the calibrated parameters leave the
/// workflow's bounds (`workflow::limits`).
pub fn calibrate(
    platform: &Platform,
    workflow: &Workflow,
    model: &PerfModel,
    grid: &Grid,
) -> Result<Calibration, Error> {
    model.check_fits(workflow)?;
    let noise = Noise::of(platform);
    let mut spec = workflow.to_spec();
    let mut report = Vec::new();
    for id in workflow.step_ids() {
        let step = workflow.step(id);
        if step.kind != StepKind::Task {
            continue;
        }
        let sm = model.step(id);
        let mut targets = Vec::new();
        let configs = grid.feasible(platform, step);
        for &cfg in &configs {
            for n_jobs in jobs_per_instance(step.jobs, cfg.fan_out) {
                let y = sm.instance_duration_s(
                    &model.platform,
                    cfg.memory_mb,
                    cfg.workers,
                    f64::from(n_jobs),
                );
                targets.push(Target::new(platform, noise, cfg, n_jobs, y));
            }
        }
        if targets.is_empty() {
            return Err(Error::Invalid {
                place: format!("step '{}'", step.name),
                message: "no configuration of the calibration grid is feasible for this step"
                    .into(),
            });
        }
        let fitted = fit_params(noise, &targets);
        let work_s = fitted.serial_s + fitted.parallel_s;
        let (work_s, parallel_fraction) = if work_s > 0.0 {
            (work_s, (fitted.parallel_s / work_s).clamp(0.0, 1.0))
        } else {
            (MIN_WORK_S, 0.0)
        };
        let input_mb = if fitted.storage_s > 0.0 {
            ((fitted.storage_s - noise.latency_mean_s).max(0.0) * noise.bandwidth_mb_per_s)
                .max(MIN_INPUT_MB)
        } else {
            0.0
        };
        let used = Params {
            serial_s: work_s * (1.0 - parallel_fraction),
            parallel_s: work_s * parallel_fraction,
            storage_s: fitted.storage_s,
        };
        let errors = crate::fit::ErrorReport::from_pairs(
            targets
                .iter()
                .filter(|t| t.y > 0.0)
                .map(|t| (t.expected_s(used), t.y)),
        );
        let s = &mut spec.steps[id.idx()];
        s.work_s = Some(work_s);
        s.parallel_fraction = Some(parallel_fraction);
        s.input_mb = Some(input_mb);
        s.output_mb = Some(0.0);
        report.push(StepCalibration {
            step: step.name.clone(),
            work_s,
            parallel_fraction,
            input_mb,
            n_configs: configs.len(),
            max_rel_error: errors.max_rel_error,
            mean_rel_error: errors.mean_rel_error,
        });
    }
    let calibrated = Workflow::from_spec(&spec, &workflow.name).map_err(|e| Error::Invalid {
        place: format!(
            "workflow '{}' calibrated to model '{}'",
            workflow.name, model.workflow
        ),
        message: e.to_string(),
    })?;
    Ok(Calibration {
        workflow: calibrated,
        steps: report,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{DurationModel, FanOutTail, MappingDelay, PlatformFacts, StepModel};

    fn workflow(jobs: u32) -> Workflow {
        let text = format!(
            "name: w\nsteps:\n  - name: a\n    jobs: {jobs}\n    work_s: 9\n    parallel_fraction: 0.9\n    input_mb: 50\n    output_mb: 50\n  - name: b\n    kind: pass\n    after: [a]\n"
        );
        Workflow::from_str_auto(&text, "w.yaml").unwrap()
    }

    fn amdahl(serial_s: f64, parallel_s: f64, io_s: f64, fixed_s: f64) -> DurationModel {
        DurationModel::Amdahl {
            serial_s,
            parallel_s,
            io_s,
            fixed_s,
        }
    }

    fn model_of(platform: &Platform, wf: &Workflow, d: DurationModel) -> PerfModel {
        let facts = PlatformFacts::of(platform);
        let md = &platform.spec().mapping_delay;
        let steps = wf
            .steps()
            .iter()
            .map(|s| StepModel {
                name: s.name.clone(),
                jobs: s.jobs,
                duration: if s.kind == StepKind::Task {
                    d.clone()
                } else {
                    DurationModel::Fixed { duration_s: 0.0 }
                },
                mapping: MappingDelay {
                    per_instance_s: md.per_instance_s,
                    knee: md.knee,
                    growth_s: md.growth_s,
                },
                tail: FanOutTail::default(),
                saturation_mb: None,
            })
            .collect();
        PerfModel {
            workflow: wf.name.clone(),
            seed: None,
            platform: facts,
            steps,
        }
    }

    #[test]
    fn an_amdahl_model_with_the_platforms_mapping_delay_is_reproduced_exactly() {
        // No noise: the expected mean is the deterministic run.
        let platform = Platform::deterministic();
        let wf = workflow(12);
        let model = model_of(&platform, &wf, amdahl(0.3, 1.2, 0.5, 0.0));
        let cal = calibrate(&platform, &wf, &model, &Grid::paper()).unwrap();
        let s = &cal.steps[0];
        assert_eq!(cal.steps.len(), 1);
        assert!(s.max_rel_error < 1e-9, "{s:?}");
        assert!((s.work_s - 1.5).abs() < 1e-9 && (s.parallel_fraction - 0.8).abs() < 1e-9);
        // The calibrated step really runs as predicted (the simulator's own execution model).
        let step = cal.workflow.step(workflow::StepId(0));
        let mut scratch = Vec::new();
        for cfg in [StepConfig::new(512, 1, 1), StepConfig::new(4096, 4, 2)] {
            let run = platform::exec::run_step_keyed(
                &platform,
                step,
                cfg,
                des::SimTime::ZERO,
                &mut platform::exec::AlwaysWarm,
                7,
                &mut scratch,
            );
            let want = model.predict_duration_s(workflow::StepId(0), cfg);
            assert!(
                (run.finish.as_secs_f64() - want).abs() < 1e-5,
                "{cfg}: {} vs {want}",
                run.finish
            );
        }
        // Names, structure and the non-task step are unchanged.
        assert_eq!(cal.workflow.n_steps(), 2);
        assert_eq!(cal.workflow.step(workflow::StepId(1)).name, "b");
    }

    #[test]
    fn noisy_platform_means_match_the_model() {
        let platform = Platform::lambda();
        let wf = workflow(8);
        let model = model_of(&platform, &wf, amdahl(0.4, 0.8, 0.2, 0.0));
        let cal = calibrate(&platform, &wf, &model, &Grid::paper()).unwrap();
        assert!(cal.steps[0].max_rel_error < 0.02, "{:?}", cal.steps[0]);
        // The simulated mean of one instance is the model's prediction within the noise.
        let step = cal.workflow.step(workflow::StepId(0));
        let cfg = StepConfig::new(2048, 1, 2);
        let got = crate::profile::measure(&platform, step, cfg, 2000, 3, "calibration-test");
        let want = model.predict_duration_s(workflow::StepId(0), cfg);
        assert!(
            (got.duration_s - want).abs() / want < 0.02,
            "{} vs {want}",
            got.duration_s
        );
    }
}
