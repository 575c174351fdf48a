//! What the optimizer knows about a step: a [`StepPredictor`] gives the predicted duration and cost of
//! a step under a configuration. [`OraclePredictor`] is the reference implementation that reads the
//! simulator's execution model (noise-free means); fitted models (`perfmodel`) implement the same trait.

use platform::{Platform, StepConfig, exec};
use workflow::{StepId, StepKind, Workflow};

/// Predicts one step's behaviour under a configuration.
///
/// Contract: `duration_s` is the step's execution time in seconds, from the moment the step is invoked
/// (after the orchestrator's transition delay and the step's `wait_s`) until its last instance finishes,
/// mapping delay included. `cost_usd` is the compute and request cost of all its instances, USD, as in
/// [`platform::StepOutcome::cost_usd`] (no state-transition price: the optimizer adds it from the
/// platform's prices). Both must be finite and >= 0 for every configuration that
/// [`Platform::check_config`] accepts; the optimizer reports anything else as an error. Predictions must
/// be deterministic.
pub trait StepPredictor {
    /// Predicted execution time of `step` under `cfg`, seconds.
    fn duration_s(&self, step: StepId, cfg: StepConfig) -> f64;
    /// Predicted compute and request cost of `step` under `cfg`, USD.
    fn cost_usd(&self, step: StepId, cfg: StepConfig) -> f64;
}

impl<P: StepPredictor + ?Sized> StepPredictor for &P {
    fn duration_s(&self, step: StepId, cfg: StepConfig) -> f64 {
        (**self).duration_s(step, cfg)
    }
    fn cost_usd(&self, step: StepId, cfg: StepConfig) -> f64 {
        (**self).cost_usd(step, cfg)
    }
}

/// The simulator's noise-free mean behaviour, computed from the execution model's formulas
/// ([`platform::exec`]): every instance warm (no cold start), every storage access at its median
/// latency, no straggler; the step ends when its slowest instance ends (mapping delay of that instance
/// plus its rounds of jobs). This is the reference model: a perfect performance model that still knows
/// nothing of the noise.
#[derive(Debug, Clone)]
pub struct OraclePredictor {
    workflow: Workflow,
    platform: Platform,
}

impl OraclePredictor {
    /// The oracle for `workflow` on `platform`.
    pub fn new(workflow: &Workflow, platform: &Platform) -> Self {
        OraclePredictor {
            workflow: workflow.clone(),
            platform: platform.clone(),
        }
    }

    /// Busy time of one instance running `n_jobs` jobs (noise-free), microseconds as the simulator rounds.
    fn instance_busy_us(&self, step: StepId, cfg: StepConfig, n_jobs: u32) -> u64 {
        if n_jobs == 0 {
            return 0;
        }
        let s = self.workflow.step(step);
        let busy = cfg.workers.max(1).min(n_jobs);
        let job_s = exec::job_compute_s(&self.platform, s, cfg.memory_mb, busy)
            + exec::job_storage_mean_free_s(&self.platform, s);
        let rounds = n_jobs.div_ceil(busy);
        des_us(f64::from(rounds) * job_s)
    }

    /// `(n_jobs, n_instances)` groups: the first `jobs % p` instances take one job more.
    fn groups(&self, step: StepId, cfg: StepConfig) -> [(u32, u32); 2] {
        let jobs = self.workflow.step(step).jobs;
        let p = cfg.fan_out.max(1);
        [(jobs / p + 1, jobs % p), (jobs / p, p - jobs % p)]
    }
}

/// Seconds to whole microseconds, rounded to nearest like `des::SimTime::from_secs_f64`.
fn des_us(secs: f64) -> u64 {
    let us = (secs * 1e6).round();
    if us.is_nan() || us <= 0.0 {
        0
    } else {
        us as u64
    }
}

impl StepPredictor for OraclePredictor {
    fn duration_s(&self, step: StepId, cfg: StepConfig) -> f64 {
        if self.workflow.step(step).kind != StepKind::Task {
            return 0.0;
        }
        let p = cfg.fan_out.max(1);
        let [(big_jobs, n_big), (small_jobs, n_small)] = self.groups(step, cfg);
        let mut finish_us = 0u64;
        // Instances 0..n_big run one job more; the last of each group is invoked last (StepConf t_map).
        if n_big > 0 {
            let invoke = des_us(self.platform.mapping_delay_s(n_big - 1));
            finish_us = finish_us.max(invoke + self.instance_busy_us(step, cfg, big_jobs));
        }
        if n_small > 0 {
            let invoke = des_us(self.platform.mapping_delay_s(p - 1));
            finish_us = finish_us.max(invoke + self.instance_busy_us(step, cfg, small_jobs));
        }
        finish_us as f64 / 1e6
    }

    fn cost_usd(&self, step: StepId, cfg: StepConfig) -> f64 {
        if self.workflow.step(step).kind != StepKind::Task {
            return 0.0;
        }
        self.groups(step, cfg)
            .iter()
            .map(|&(n_jobs, n_inst)| {
                f64::from(n_inst)
                    * self
                        .platform
                        .instance_cost_usd(cfg.memory_mb, self.instance_busy_us(step, cfg, n_jobs))
            })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_step(jobs: u32, work_s: f64, f: f64) -> Workflow {
        let spec = workflow::WorkflowSpec {
            name: "w".into(),
            steps: vec![workflow::StepSpec {
                name: "s".into(),
                jobs: Some(jobs),
                work_s: Some(work_s),
                parallel_fraction: Some(f),
                ..Default::default()
            }],
            ..Default::default()
        };
        Workflow::from_spec(&spec, "t").unwrap()
    }

    #[test]
    fn oracle_matches_hand_computation_on_the_deterministic_platform() {
        let wf = one_step(5, 1.0, 0.0);
        let p = Platform::deterministic();
        let o = OraclePredictor::new(&wf, &p);
        // 5 jobs on 2 instances (3 + 2), one worker at one vCPU: 3 s; mapping delay off.
        let cfg = StepConfig::new(1769, 2, 1);
        assert!((o.duration_s(StepId(0), cfg) - 3.0).abs() < 1e-9);
        // Billed 3 s + 2 s at 1769 MB, plus two requests.
        let s = p.spec();
        let want = 5.0 * 1769.0 / 1024.0 * s.price_usd_per_gb_s + 2.0 * s.price_usd_per_request;
        assert!((o.cost_usd(StepId(0), cfg) - want).abs() < 1e-12);
    }

    #[test]
    fn oracle_adds_the_mapping_delay_of_the_last_instance() {
        let wf = one_step(64, 1.0, 0.0);
        let p = Platform::lambda();
        let o = OraclePredictor::new(&wf, &p);
        let d1 = o.duration_s(StepId(0), StepConfig::new(1769, 32, 1));
        let busy = 2.0 * 1.0; // two jobs, no I/O in this step
        assert!((d1 - (busy + p.mapping_delay_s(31))).abs() < 1e-6, "{d1}");
    }
}
