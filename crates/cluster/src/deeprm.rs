//! DeepRM's time-stepped environment (Mao et al., HotNets'16, `environment.py`): one machine with
//! `n_resources` resources of `res_slots` slots, a look-ahead image of `time_horizon` steps, `n_visible`
//! job slots and a backlog of `backlog_size` jobs. At each step the policy may place several visible jobs;
//! a `Wait` (or an action that cannot be carried out, DeepRM's "move on") advances time one step, releases
//! finished jobs and admits the step's arrival (first empty slot, else the backlog, else dropped). A placed
//! job starts at the earliest step within the horizon where it fits for its whole length.

use std::collections::VecDeque;

use des::SimTime;
use workload::{
    DeepRmJob, DeepRmJobDist, DeepRmJobSet, MAX_DEEPRM_SIMU_LEN, MAX_DEEPRM_STEPS_OR_SLOTS,
};

use crate::policy::{
    Action, Environment, MachineView, Mode, Observation, PendingView, RunningView, StepOutcome,
};
use crate::{Error, MAX_RESOURCES, Resources, RunMetrics};

/// Largest `n_visible` of [`DeepRmSettings`] (one action per visible slot).
pub const MAX_VISIBLE: usize = 10_000;
/// Largest `backlog_size` of [`DeepRmSettings`].
pub const MAX_BACKLOG: usize = 1_000_000;

/// DeepRM's parameters; every one a setting. Defaults: DeepRM's `parameters.py` overridden as its load
/// sweep `run_script.py` does (10 visible slots, `simu_len` 200, `eps_max_len` = 4 x `simu_len` = 800);
/// an episode ends when every job is done or at `episode_max_len`, and jobs unfinished then are reported
/// pending and left out of the slowdown, as DeepRM's `slow_down_cdf.py` does.
#[derive(Debug, Clone, PartialEq)]
pub struct DeepRmSettings {
    /// The job distribution (also carries `n_resources` and `res_slots`).
    pub dist: DeepRmJobDist,
    /// Look-ahead of the machine image in steps (DeepRM: 20); at least the longest job.
    pub time_horizon: usize,
    /// Visible job slots (DeepRM: 10 in the experiments, 5 in `parameters.py`).
    pub n_visible: usize,
    /// Backlog capacity (DeepRM: 60).
    pub backlog_size: usize,
    /// Steps during which jobs arrive (DeepRM: `simu_len`, 200 in `run_script.py`).
    pub simu_len: usize,
    /// The episode stops after this many steps even if jobs remain (they are reported pending).
    pub episode_max_len: usize,
}

impl Default for DeepRmSettings {
    fn default() -> Self {
        DeepRmSettings {
            dist: DeepRmJobDist::default(),
            time_horizon: 20,
            n_visible: 10,
            backlog_size: 60,
            simu_len: 200,
            episode_max_len: 800,
        }
    }
}

impl DeepRmSettings {
    /// Checks every setting, with documented upper bounds (the environment allocates per horizon step,
    /// visible slot and arrival step): `time_horizon <= `[`workload::MAX_DEEPRM_STEPS_OR_SLOTS`],
    /// `n_visible <= `[`MAX_VISIBLE`], `backlog_size <= `[`MAX_BACKLOG`],
    /// `simu_len <= `[`workload::MAX_DEEPRM_SIMU_LEN`], and the job distribution's own bounds.
    pub fn validate(&self) -> Result<(), Error> {
        self.dist.validate()?;
        if self.dist.n_resources > MAX_RESOURCES {
            return Err(Error::setting(
                "n_resources",
                self.dist.n_resources,
                format!("at most {MAX_RESOURCES}"),
            ));
        }
        let max_len = self.dist.small_len_steps.1.max(self.dist.large_len_steps.1) as usize;
        if self.time_horizon < max_len {
            return Err(Error::setting(
                "time_horizon",
                self.time_horizon,
                format!("shorter than the longest job ({max_len})"),
            ));
        }
        if self.time_horizon > MAX_DEEPRM_STEPS_OR_SLOTS as usize {
            return Err(Error::setting(
                "time_horizon",
                self.time_horizon,
                format!("at most {MAX_DEEPRM_STEPS_OR_SLOTS} (the machine image is kept per step)"),
            ));
        }
        if !(1..=MAX_VISIBLE).contains(&self.n_visible) {
            return Err(Error::setting(
                "n_visible",
                self.n_visible,
                format!("need 1..={MAX_VISIBLE} visible slots"),
            ));
        }
        if self.backlog_size > MAX_BACKLOG {
            return Err(Error::setting(
                "backlog_size",
                self.backlog_size,
                format!("at most {MAX_BACKLOG}"),
            ));
        }
        if self.simu_len > MAX_DEEPRM_SIMU_LEN {
            return Err(Error::setting(
                "simu_len",
                self.simu_len,
                format!("at most {MAX_DEEPRM_SIMU_LEN}"),
            ));
        }
        if self.episode_max_len < self.simu_len {
            return Err(Error::setting(
                "episode_max_len",
                self.episode_max_len,
                "shorter than simu_len",
            ));
        }
        Ok(())
    }
}

/// DeepRM's earliest-start rule (`environment.py`, `allocate_job`): the first step offset `t` such
/// that `demand` fits in the free resources of every step `t .. t + len_steps`, where
/// `free_profile[s]` is what is free `s` steps from now (the machine image of the look-ahead).
/// `None` when the job is longer than the look-ahead or fits nowhere in it.
///
/// The one statement of the rule: [`DeepRmEnv`] places a job at this offset, and policies and the
/// learned state read it through [`Observation::earliest_start`], so they see exactly what the
/// environment will do.
pub fn earliest_start(
    demand: &Resources,
    len_steps: usize,
    free_profile: &[Resources],
) -> Option<usize> {
    let h = free_profile.len();
    if len_steps > h {
        return None;
    }
    (0..=h - len_steps).find(|&t| {
        free_profile[t..t + len_steps]
            .iter()
            .all(|f| demand.fits_in(f))
    })
}

/// A job's record after an episode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRecord {
    /// Job id (arrival order).
    pub id: u64,
    /// Arrival step.
    pub arrival_step: u64,
    /// Length in steps.
    pub len_steps: u32,
    /// Start step, if placed.
    pub start_step: Option<u64>,
    /// Finish step, if placed (`start + len`).
    pub finish_step: Option<u64>,
    /// True when the backlog was full on arrival.
    pub dropped: bool,
}

#[derive(Debug, Clone)]
struct Job {
    id: u64,
    arrival_step: u64,
    len_steps: u32,
    demand: Resources,
}

/// DeepRM's environment over one job set.
pub struct DeepRmEnv {
    settings: DeepRmSettings,
    arrivals: Vec<Option<DeepRmJob>>,
    capacity: Resources,
    /// Free resources at steps `now .. now + time_horizon`.
    avail: VecDeque<Resources>,
    slots: Vec<Option<Job>>,
    backlog: VecDeque<Job>,
    /// (job, start, finish).
    running: Vec<(Job, u64, u64)>,
    records: Vec<JobRecord>,
    now_step: u64,
    used_slot_steps: f64,
    done: bool,
    metrics: RunMetrics,
    obs: Observation,
}

impl DeepRmEnv {
    /// An environment over `jobset` (its `arrivals[t]` arrive at step `t`; only the first `simu_len`
    /// steps are used).
    pub fn new(settings: DeepRmSettings, jobset: &DeepRmJobSet) -> Result<DeepRmEnv, Error> {
        settings.validate()?;
        let n_res = settings.dist.n_resources;
        for (t, j) in jobset.arrivals.iter().enumerate() {
            if let Some(j) = j {
                if j.demand_slots.len() != n_res
                    || j.demand_slots.iter().any(|&d| d > settings.dist.res_slots)
                    || j.len_steps == 0
                {
                    return Err(Error::setting(
                        "jobset",
                        format!("step {t}"),
                        "job demand or length does not match the settings",
                    ));
                }
                if j.len_steps as usize > settings.time_horizon {
                    return Err(Error::setting(
                        "jobset",
                        format!("step {t}"),
                        "job longer than the time horizon",
                    ));
                }
            }
        }
        let capacity = Resources::new(&vec![settings.dist.res_slots as f64; n_res]);
        let mut arrivals = jobset.arrivals.clone();
        arrivals.truncate(settings.simu_len);
        let obs = Observation {
            mode: Mode::DeepRm,
            now: SimTime::ZERO,
            resource_scale: Resources::new(&vec![1.0; n_res]),
            machines: Vec::new(),
            pending: Vec::new(),
            pending_capacity: Some(settings.n_visible),
            n_backlog: 0,
            running: Vec::new(),
            functions: Vec::new(),
            warm_idle: Vec::new(),
            function_edges: Vec::new(),
            cpu_shared: false,
        };
        let mut env = DeepRmEnv {
            avail: (0..settings.time_horizon).map(|_| capacity).collect(),
            slots: vec![None; settings.n_visible],
            backlog: VecDeque::new(),
            running: Vec::new(),
            records: Vec::new(),
            now_step: 0,
            used_slot_steps: 0.0,
            done: false,
            metrics: RunMetrics::default(),
            capacity,
            arrivals,
            settings,
            obs,
        };
        env.admit_arrival();
        env.check_done();
        env.rebuild_obs();
        Ok(env)
    }

    /// Per-job records (arrival, start, finish), in arrival order.
    pub fn records(&self) -> &[JobRecord] {
        &self.records
    }

    /// The current step.
    pub fn now_step(&self) -> u64 {
        self.now_step
    }

    fn admit_arrival(&mut self) {
        let t = self.now_step as usize;
        let Some(Some(j)) = self.arrivals.get(t) else {
            return;
        };
        let job = Job {
            id: self.records.len() as u64,
            arrival_step: self.now_step,
            len_steps: j.len_steps,
            demand: Resources::new(&j.demand_slots.iter().map(|&d| d as f64).collect::<Vec<_>>()),
        };
        self.metrics.n_arrived += 1;
        let mut rec = JobRecord {
            id: job.id,
            arrival_step: job.arrival_step,
            len_steps: job.len_steps,
            start_step: None,
            finish_step: None,
            dropped: false,
        };
        if let Some(slot) = self.slots.iter_mut().find(|s| s.is_none()) {
            *slot = Some(job);
        } else if self.backlog.len() < self.settings.backlog_size {
            self.backlog.push_back(job);
        } else {
            rec.dropped = true;
            self.metrics.n_dropped += 1;
        }
        self.records.push(rec);
    }

    fn n_in_system(&self) -> usize {
        self.running.len() + self.slots.iter().flatten().count() + self.backlog.len()
    }

    fn check_done(&mut self) {
        let arrivals_over = self.now_step + 1 >= self.settings.simu_len as u64;
        if (arrivals_over && self.n_in_system() == 0)
            || self.now_step >= self.settings.episode_max_len as u64
        {
            self.done = true;
            self.metrics.n_pending = self.n_in_system() as u64;
            self.metrics.makespan_s = self.now_step as f64;
            let cap: f64 = self.capacity.as_slice().iter().sum();
            self.metrics.utilization = if self.now_step > 0 {
                self.used_slot_steps / (cap * self.now_step as f64)
            } else {
                0.0
            };
        }
    }

    /// Tries to place `slot_idx`'s job at the earliest step within the horizon where it fits.
    fn allocate(&mut self, slot_idx: usize) -> bool {
        let Some(job) = self.slots[slot_idx].clone() else {
            return false;
        };
        let len = job.len_steps as usize;
        let Some(offset) = earliest_start(&job.demand, len, self.avail.make_contiguous()) else {
            return false;
        };
        for s in offset..offset + len {
            self.avail[s] = self.avail[s].sub(&job.demand);
        }
        let start = self.now_step + offset as u64;
        let finish = start + job.len_steps as u64;
        let rec = &mut self.records[job.id as usize];
        rec.start_step = Some(start);
        rec.finish_step = Some(finish);
        self.running.push((job, start, finish));
        self.slots[slot_idx] = self.backlog.pop_front();
        true
    }

    fn proceed(&mut self) -> f64 {
        // DeepRM's reward: -sum over jobs in the system of 1 / len, for this step.
        let mut reward = 0.0;
        for (j, _, _) in &self.running {
            reward -= 1.0 / j.len_steps as f64;
        }
        for j in self.slots.iter().flatten().chain(self.backlog.iter()) {
            reward -= 1.0 / j.len_steps as f64;
        }
        let used = self.capacity.sub(&self.avail[0]);
        self.used_slot_steps += used.as_slice().iter().sum::<f64>();
        self.now_step += 1;
        self.avail.pop_front();
        self.avail.push_back(self.capacity);
        let now = self.now_step;
        let mut finished = Vec::new();
        self.running.retain(|(j, _, f)| {
            if *f <= now {
                finished.push((j.len_steps, j.arrival_step, *f));
                false
            } else {
                true
            }
        });
        for (len, arrival, finish) in finished {
            self.metrics.n_finished += 1;
            self.metrics
                .slowdown
                .record((finish - arrival) as f64 / len as f64);
        }
        self.admit_arrival();
        reward
    }

    fn rebuild_obs(&mut self) {
        let secs = |s: u64| SimTime(s.saturating_mul(1_000_000));
        self.obs.now = secs(self.now_step);
        self.obs.machines.clear();
        self.obs.machines.push(MachineView {
            capacity: self.capacity,
            free: self.avail[0],
            free_profile: self.avail.iter().copied().collect(),
            idle_memory_mb: 0.0,
            speed: 1.0,
        });
        self.obs.pending.clear();
        for j in self.slots.iter().flatten() {
            self.obs.pending.push(PendingView {
                invocation_id: j.id,
                function_idx: 0,
                ready: secs(j.arrival_step),
                demand: j.demand,
                duration_estimate: secs(j.len_steps as u64),
                slo: None,
            });
        }
        self.obs.n_backlog = self.backlog.len();
        self.obs.running.clear();
        for (j, s, f) in &self.running {
            self.obs.running.push(RunningView {
                invocation_id: j.id,
                function_idx: 0,
                machine_idx: 0,
                start: secs(*s),
                expected_finish: secs(*f),
                demand: j.demand,
            });
        }
    }
}

impl Environment for DeepRmEnv {
    fn observe(&self) -> &Observation {
        &self.obs
    }

    fn step(&mut self, action: Action) -> Result<StepOutcome, Error> {
        if self.done {
            return Ok(StepOutcome {
                reward: 0.0,
                done: true,
                invalid: false,
            });
        }
        self.metrics.n_decisions += 1;
        let mut invalid = false;
        if let Action::Place {
            pending_idx,
            machine_idx,
        } = action
        {
            // pending_idx counts occupied slots in slot order.
            let slot_idx = self
                .slots
                .iter()
                .enumerate()
                .filter(|(_, s)| s.is_some())
                .nth(pending_idx)
                .map(|(i, _)| i);
            match slot_idx {
                Some(i) if machine_idx == 0 && self.allocate(i) => {
                    self.rebuild_obs();
                    return Ok(StepOutcome {
                        reward: 0.0,
                        done: false,
                        invalid: false,
                    });
                }
                _ => {
                    invalid = true;
                    self.metrics.n_invalid_actions += 1;
                }
            }
        }
        let reward = self.proceed();
        self.metrics.total_reward += reward;
        self.check_done();
        self.rebuild_obs();
        Ok(StepOutcome {
            reward,
            done: self.done,
            invalid,
        })
    }

    fn is_done(&self) -> bool {
        self.done
    }

    fn metrics(&self) -> RunMetrics {
        self.metrics.clone()
    }
}
