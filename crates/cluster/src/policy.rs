//! The observed state, the action space and the ONE allocation policy trait that heuristics and learned
//! policies implement, plus the [`Environment`] trait both modes implement and the episode loop.
//!
//! The observation carries what a graph encoder needs (seed paper section 3.1): function nodes
//! ([`FunctionView`]), resource nodes ([`MachineView`]), invocation nodes (pending [`PendingView`] and
//! running [`RunningView`]); allocation edges are `RunningView::machine_idx`, resource-sharing edges are
//! running invocations on the same machine, temporal edges join invocations of one function by arrival,
//! and warm instances are [`Observation::warm_idle`].

use des::{SimRng, SimTime};

use crate::{Error, Resources, RunMetrics};

/// Which environment produced an observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// DeepRM's time-stepped single-machine environment; one step is one second of [`SimTime`].
    DeepRm,
    /// The event-driven serverless platform.
    Serverless,
}

/// A machine (resource node).
#[derive(Debug, Clone, PartialEq)]
pub struct MachineView {
    /// Total resources.
    pub capacity: Resources,
    /// Resources free now. In serverless mode, memory held by idle warm instances is not free (see
    /// `idle_memory_mb`).
    pub free: Resources,
    /// DeepRM mode: free resources at each of the next `time_horizon` steps (index 0 is now), the
    /// "cluster image" of DeepRM. Empty in serverless mode.
    pub free_profile: Vec<Resources>,
    /// Serverless mode: memory (MB) held by idle warm instances, which a cold start may evict.
    pub idle_memory_mb: f64,
    /// Relative execution speed (1.0 = reference; durations divide by it).
    pub speed: f64,
}

/// An invocation (job) waiting to be placed.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingView {
    /// Invocation id (DeepRM: job id).
    pub invocation_id: u64,
    /// Function index (DeepRM: 0).
    pub function_idx: u32,
    /// When it became ready (arrived and, in a workflow, all parents finished).
    pub ready: SimTime,
    /// What it needs while running.
    pub demand: Resources,
    /// What the scheduler knows of its duration: DeepRM the exact length (steps as seconds), serverless the
    /// function's median warm duration (the real one is drawn from the trace and revealed on completion).
    pub duration_estimate: SimTime,
    /// Serverless: the function's SLO on response time (`finish - ready`); DeepRM: none.
    pub slo: Option<SimTime>,
}

/// An invocation that holds resources on a machine.
#[derive(Debug, Clone, PartialEq)]
pub struct RunningView {
    /// Invocation id.
    pub invocation_id: u64,
    /// Function index.
    pub function_idx: u32,
    /// The machine it runs on (an allocation edge).
    pub machine_idx: usize,
    /// When it was placed.
    pub start: SimTime,
    /// When it is expected to finish (DeepRM: exact; serverless: placement plus cold start plus the
    /// duration estimate).
    pub expected_finish: SimTime,
    /// What it holds.
    pub demand: Resources,
}

/// A function (function node). DeepRM mode has none.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionView {
    /// Memory of one instance in MB.
    pub memory_mb: f64,
    /// CPU of one running instance in millicores.
    pub cpu_millicores: f64,
    /// Mean cold-start time in seconds.
    pub cold_start_s_mean: f64,
    /// Median warm duration in seconds.
    pub duration_s_p50: f64,
    /// SLO on response time in seconds.
    pub slo_s: f64,
    /// Idle warm instances over all machines.
    pub n_warm_idle: u32,
    /// Busy instances over all machines.
    pub n_busy: u32,
    /// Invocations that have arrived so far.
    pub n_arrivals: u64,
    /// Time of the latest arrival, if any.
    pub last_arrival: Option<SimTime>,
}

/// What a policy sees at a decision. The same type in both modes; fields a mode does not have are empty.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// The environment.
    pub mode: Mode,
    /// Current time.
    pub now: SimTime,
    /// Divisor that converts each resource to DeepRM-like slots (a full reference machine = 10 slots in
    /// serverless mode; ones in DeepRM mode), so packing scores mean the same in both modes.
    pub resource_scale: Resources,
    /// Machines.
    pub machines: Vec<MachineView>,
    /// Invocations waiting to be placed, oldest first (DeepRM: the visible job slots in slot order).
    pub pending: Vec<PendingView>,
    /// DeepRM: the number of visible job slots (actions `0..n` plus wait); serverless: `None` (unbounded).
    pub pending_capacity: Option<usize>,
    /// Invocations waiting beyond the visible ones (DeepRM backlog) or blocked on workflow parents.
    pub n_backlog: usize,
    /// Running invocations.
    pub running: Vec<RunningView>,
    /// Functions.
    pub functions: Vec<FunctionView>,
    /// `warm_idle[machine_idx * n_functions + function_idx]`: idle warm instances.
    pub warm_idle: Vec<u32>,
    /// Workflow dependencies between functions seen so far, `(parent_fn, child_fn)`, sorted, without
    /// duplicates (serverless mode: recorded when a parent invocation finishes with an arrived child;
    /// dependency edges of the graph state). Empty in DeepRM mode.
    pub function_edges: Vec<(u32, u32)>,
    /// Serverless mode with [`crate::CpuModel::Shared`]: CPU never blocks a placement (co-located
    /// invocations share the machine's CPU and slow each other); `free` CPU can then be negative.
    pub cpu_shared: bool,
}

impl Observation {
    /// Idle warm instances of `function_idx` on `machine_idx` (0 out of range).
    pub fn warm_idle(&self, machine_idx: usize, function_idx: u32) -> u32 {
        let nf = self.functions.len();
        if (function_idx as usize) >= nf {
            return 0;
        }
        self.warm_idle
            .get(machine_idx * nf + function_idx as usize)
            .copied()
            .unwrap_or(0)
    }

    /// True when placing pending invocation `pending_idx` on `machine_idx` now succeeds: DeepRM mode,
    /// the demand fits in every step of the job's length from now (DeepRM's heuristics' test); serverless
    /// mode, the CPU is free (or shared: [`Observation::cpu_shared`]) and either a warm instance is idle there
    /// or free plus evictable memory suffices.
    pub fn fits_now(&self, pending_idx: usize, machine_idx: usize) -> bool {
        let (Some(p), Some(m)) = (
            self.pending.get(pending_idx),
            self.machines.get(machine_idx),
        ) else {
            return false;
        };
        match self.mode {
            Mode::DeepRm => {
                let len = deeprm_len_steps(p);
                len <= m.free_profile.len()
                    && m.free_profile[..len].iter().all(|f| p.demand.fits_in(f))
            }
            Mode::Serverless => {
                if !self.cpu_shared && p.demand.get(0) > m.free.get(0) {
                    return false;
                }
                self.warm_idle(machine_idx, p.function_idx) > 0
                    || p.demand.get(1) <= m.free.get(1) + m.idle_memory_mb
            }
        }
    }

    /// True when pending invocation `pending_idx` runs on `machine_idx` now without evicting anything:
    /// [`Observation::fits_now`], and in serverless mode either a warm instance is idle there or the free
    /// memory alone suffices (no idle instance of another function is evicted for it).
    pub fn fits_without_eviction(&self, pending_idx: usize, machine_idx: usize) -> bool {
        if !self.fits_now(pending_idx, machine_idx) {
            return false;
        }
        match self.mode {
            Mode::DeepRm => true,
            Mode::Serverless => {
                let p = &self.pending[pending_idx];
                self.warm_idle(machine_idx, p.function_idx) > 0
                    || p.demand.get(1) <= self.machines[machine_idx].free.get(1)
            }
        }
    }

    /// DeepRM mode: the step offset within the look-ahead at which the environment would start pending
    /// invocation `pending_idx` on `machine_idx` ([`crate::earliest_start`] on the machine's
    /// `free_profile`), or `None` (it fits nowhere, or an index is out of range).
    pub fn earliest_start(&self, pending_idx: usize, machine_idx: usize) -> Option<usize> {
        let p = self.pending.get(pending_idx)?;
        let m = self.machines.get(machine_idx)?;
        crate::deeprm::earliest_start(&p.demand, deeprm_len_steps(p), &m.free_profile)
    }

    /// DeepRM's alignment score (Packer, Tetris): free resources now dotted with the demand, both in slots.
    pub fn alignment(&self, pending_idx: usize, machine_idx: usize) -> f64 {
        let (Some(p), Some(m)) = (
            self.pending.get(pending_idx),
            self.machines.get(machine_idx),
        ) else {
            return 0.0;
        };
        m.free.dot_scaled(&p.demand, &self.resource_scale)
    }
}

/// A DeepRM job's length in whole steps (its duration estimate in seconds, rounded up, at least 1).
fn deeprm_len_steps(p: &PendingView) -> usize {
    p.duration_estimate.as_us().div_ceil(1_000_000).max(1) as usize
}

/// A policy's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Place `pending[pending_idx]` on `machines[machine_idx]` with the resources it demands. An action
    /// that cannot be carried out (out of range, does not fit) counts as invalid and acts as `Wait`.
    Place {
        /// Index into [`Observation::pending`].
        pending_idx: usize,
        /// Index into [`Observation::machines`].
        machine_idx: usize,
    },
    /// Place nothing more now; time advances to the next step (DeepRM) or event (serverless).
    Wait,
}

/// An allocation policy: heuristics (crate `scheduler`) and learned policies implement this one trait.
///
/// The environment calls [`Policy::decide`] repeatedly at each decision time until it returns
/// [`Action::Wait`] or nothing is pending. Randomness comes only from `rng`, a named sub-stream the
/// caller owns, so a run is reproducible.
pub trait Policy {
    /// A short name for tables (`fcfs`, `tetris`, ...).
    fn name(&self) -> String;
    /// Called once at the start of each episode.
    fn reset(&mut self) {}
    /// The next action for this observation.
    fn decide(&mut self, obs: &Observation, rng: &mut SimRng) -> Action;
}

/// The result of one [`Environment::step`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepOutcome {
    /// DeepRM's reward: minus the sum over invocations in the system of `elapsed / duration`, for the time
    /// this step advanced (zero for a placement). Over an episode it sums to minus the total slowdown.
    pub reward: f64,
    /// True when the episode is over.
    pub done: bool,
    /// True when the action was a placement that could not be carried out.
    pub invalid: bool,
}

/// An allocation environment: DeepRM or serverless mode.
pub trait Environment {
    /// The current observation (valid until the next `step`).
    fn observe(&self) -> &Observation;
    /// Applies `action` and advances as the mode prescribes.
    fn step(&mut self, action: Action) -> Result<StepOutcome, Error>;
    /// True when the episode is over.
    fn is_done(&self) -> bool;
    /// Metrics so far (final once done).
    fn metrics(&self) -> RunMetrics;
}

/// Runs `policy` in `env` until the episode is over; returns the final metrics.
pub fn run_episode<E: Environment + ?Sized, P: Policy + ?Sized>(
    env: &mut E,
    policy: &mut P,
    rng: &mut SimRng,
) -> Result<RunMetrics, Error> {
    policy.reset();
    while !env.is_done() {
        let action = if env.observe().pending.is_empty() {
            Action::Wait
        } else {
            policy.decide(env.observe(), rng)
        };
        env.step(action)?;
    }
    Ok(env.metrics())
}
