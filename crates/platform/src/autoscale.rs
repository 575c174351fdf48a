//! The autoscaling environment (issue 12, part 1): every control interval an agent moves each
//! function's memory and provisioned concurrency one rung up or down (or keeps them) while a workflow
//! runs under time-varying load. This module owns the observation ([`ObsBuilder`]), the action
//! semantics ([`ActionApplier`]), the reward ([`interval_reward`]), a step-style training environment
//! ([`AutoscaleEnv`]), a [`Controller`] that lets a trained agent drive any simulation with the same
//! semantics ([`AgentController`]) and the episode loads ([`LoadPattern`], [`episode_arrivals`]). No
//! learning happens here: the agent lives in `learn`.
//!
//! # Actions
//! One [`FunctionAction`] per function, in the order of [`Simulation::function_names`] (first
//! appearance in the workflow file). `memory` moves the function's memory (the alias,
//! [`Change::FunctionMemory`]) one rung of [`AutoscaleSettings::memory_ladder`] (sizes the platform does
//! not offer dropped), never below the function's floor (the most memory any of its task steps needs
//! at its initial workers, so a move never makes a step infeasible); from a memory between rungs, Up
//! and Down go to the nearest rung above and below. `concurrency` moves the provisioned level one rung
//! of [`AutoscaleSettings::provisioned_ladder`] ([`Change::ProvisionedConcurrency`] at the function's
//! current memory). When memory moves while something is provisioned, the provisioned level moves with
//! it (the old memory's level set to 0, the new one's to the rung's level), as Lambda moves provisioned
//! concurrency with the alias. Changes take effect after the platform's delays
//! ([`crate::control`]). Initially each function runs at the memory of its first step in the initial
//! per-step configuration, at provisioned rung 0 (level `provisioned_ladder[0]`, requested at the first
//! decision when it is not 0).
//!
//! # Reward
//! For the window `[t - interval_s, t]` that closes at a decision:
//!
//! `R = (k * ref_cost * G - slo_penalty * ref_cost * L - C) / (ref_cost * ref_rate)`
//!
//! - `G`: requests that finished in the window within the SLO, per second of the window (without an
//!   SLO, every request that ran to its end, a fail step included, as the simulator counts
//!   completions);
//! - `L`: requests that finished in the window late or failed (throttled with no retry left), per
//!   second;
//! - `C`: the window's cost (every function's invocations and provisioned concurrency plus state
//!   transitions, [`crate::WorkflowWindow::cost_usd`]) per second, USD/s;
//! - `ref_cost`: the reference cost per request, USD: the mean cost per request of a short run of the
//!   initial configuration (200 requests, Poisson at `ref_rate`, root seed
//!   `des::stream_seed(seed, "autoscale.ref_cost", 0)`, no controller, no horizon);
//! - `ref_rate`: the episode's mean arrival rate over `[0, horizon]`, requests per second.
//!
//! This is the seed's `R = k T - C` with an SLO-violation penalty, divided by what the reference
//! configuration spends per second at the mean load, so rewards are O(1) and comparable across
//! workflows: at steady load, with window costs per request equal to the reference run's, the initial
//! configuration earns about `k - 1` per interval.
//!
//! With [`RewardBaseline::Initial`] ([`AutoscaleSettings::reward_baseline`]) the environment's reward
//! is `R` minus the `R` that the initial configuration, kept unchanged, earns in the same window: each
//! episode first runs that configuration on the same arrivals and seed (common random numbers). The
//! baseline depends on the load, not on the agent's actions, so the best policy is the same; what it
//! removes is the load's noise (how many requests happened to finish in a window), which otherwise
//! dwarfs the effect of one action. Keeping everything then earns exactly 0.
//!
//! # Observation
//! [`AutoscaleObs`]: one row of [`N_FEATURES`] features per function (its own metrics, then the
//! workflow's broadcast to every row; the list is at [`N_FEATURES`]) and the function-level dependency
//! edges, so a graph encoder can read it.
//!
//! # Determinism
//! The environment runs the simulation on a thread and hands windows and actions back and forth
//! strictly in turn, so an episode depends only on its inputs and the actions, never on scheduling.
//! Observations never read the wall clock.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;

use des::{RngStreams, stream_seed};
use rand::Rng as _;
use serde::{Deserialize, Serialize};
use workflow::{StepKind, Workflow};
use workload::{Azure2019Trace, Pattern, RateProfile};

use crate::control::{Change, ControlState, Controller};
use crate::limits::{
    ARRIVAL_SPAN_S_MAX, CONCURRENCY_MAX, RATE_PER_S_MAX, REQUESTS_MAX, SCHEDULE_SEGMENTS_MAX,
    fmt_num,
};
use crate::monitor::MonitorWindow;
use crate::{
    Arrivals, Error, Platform, RateSchedule, SimOptions, SimReport, Simulation, StaticPolicy,
    StepConfig,
};

/// Actions per knob (Down, Keep, Up).
pub const N_KNOB_ACTIONS: usize = 3;

/// Features per function row of an [`AutoscaleObs`]. Per function: 0 invocations/s (log1p),
/// 1 throttles/s (log1p), 2 mean and 3 max concurrent executions (log1p), 4 cold-start share of
/// invocations, 5-7 duration p50/p95/p99 over the SLO (0 without a sample), 8 share of the window's
/// cost, 9 provisioned level requested over all memories (log1p), 10 provisioned utilisation (0 when
/// none), 11 spillover share of invocations, 12 `log2(memory / 1024)`, 13 memory at its lowest
/// feasible rung, 14 memory at the ladder's top, 15 provisioned at the ladder's bottom, 16 at its top.
/// The workflow, the same in every row: 17 arrivals/s (log1p of started/s), 18 trend (ln of this
/// window's started/s over the previous window's, within ±2; 0 at the first window, ±2 from or to
/// zero), 19-21 latency p50/p95/p99 over the SLO (0 without a sample), 22 SLO attainment (1 when none
/// finished or without an SLO), 23 failed/s (log1p), 24 requests running (log1p), 25-26 time of day
/// as sin and cos of `2 pi now_s / 86400`. Ratios over the SLO are capped at [`RATIO_CAP`]; without an
/// SLO the scale is 1 s. Flags are 0 or 1.
pub const N_FEATURES: usize = 27;

/// Largest value of a ratio feature (durations and latencies over the SLO).
pub const RATIO_CAP: f64 = 5.0;

/// The Azure Functions 2019 sample used by [`LoadPattern::Diurnal`] when no directory is given,
/// relative to the repository root (the working directory of the `faastune` binary).
pub const AZURE2019_DEFAULT_DIR: &str =
    "../shared/data/azure-functions-samples/azure2019_sampled_at_65cf381/10";

/// Memory sizes the default memory ladder is taken from, MB (those the platform offers are kept).
pub const MEMORY_LADDER_MB: [u32; 11] = [
    128, 256, 512, 1024, 1536, 2048, 3008, 4096, 6144, 8192, 10240,
];

/// The default provisioned-concurrency ladder, environments.
pub const PROVISIONED_LADDER: [u32; 17] = [
    0, 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256,
];

/// Requests of the reference-cost run.
const REF_COST_REQUESTS: u64 = 200;
/// Seconds in a day (time-of-day features).
const DAY_S: f64 = 86_400.0;
/// Segment length of generated schedules, seconds.
const SEGMENT_S: f64 = 60.0;
/// A bursty episode has one spike per this many seconds (at least one).
const BURST_EVERY_S: f64 = 900.0;
/// Spike factors over the baseline (the seed's 5-10x).
const BURST_FACTOR: (f64, f64) = (5.0, 10.0);
/// Spike lengths, whole minutes.
const BURST_MINUTES: (u64, u64) = (1, 5);
/// Diurnal episodes cycle through at most this many trace functions.
const DIURNAL_FUNCTIONS: usize = 8;
/// Least coefficient of variation of a function's hourly counts for a diurnal episode (the sample's
/// timer- and queue-driven functions are flat: below 0.02).
const DIURNAL_CV_MIN: f64 = 0.1;
/// Each round through the diurnal functions starts their day this many minutes later.
const DIURNAL_ROTATE_MINUTES: usize = 6 * 60;
/// Tolerance on window ends, seconds.
const TIME_EPS_S: f64 = 1e-6;

/// One knob's move.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Knob {
    /// One rung down (no move at the bottom).
    Down,
    /// No move.
    Keep,
    /// One rung up (no move at the top).
    Up,
}

/// What the agent does to one function at one decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FunctionAction {
    /// The memory knob ([`AutoscaleSettings::memory_ladder`]).
    pub memory: Knob,
    /// The provisioned-concurrency knob ([`AutoscaleSettings::provisioned_ladder`]).
    pub concurrency: Knob,
}

impl FunctionAction {
    /// Changes nothing.
    pub const KEEP: FunctionAction = FunctionAction {
        memory: Knob::Keep,
        concurrency: Knob::Keep,
    };
}

/// The environment's settings (the reward's weights and the action ladders). [`Default`] gives the
/// documented defaults; every field is optional in a file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AutoscaleSettings {
    /// Control interval (one decision per interval), seconds (default 60).
    pub interval_s: f64,
    /// Value of one request completed within the SLO, in reference costs per request (default 3).
    pub k: f64,
    /// Extra penalty per request completed late or failed, in reference costs per request (default 1).
    pub slo_penalty: f64,
    /// Provisioned levels Up and Down move along, strictly increasing (default
    /// [`PROVISIONED_LADDER`]: 0, 1, 2, 3, 4, 6, 8, ..., 192, 256).
    pub provisioned_ladder: Vec<u32>,
    /// Memory sizes Up and Down move along, MB, strictly increasing; sizes the platform does not offer
    /// are dropped when the ladder is used (default [`MEMORY_LADDER_MB`]: 128, 256, 512, 1024, 1536,
    /// 2048, 3008, 4096, 6144, 8192, 10240).
    pub memory_ladder: Vec<u32>,
    /// What the environment's reward is measured against (default [`RewardBaseline::None`]: the
    /// reward itself); see the module docs.
    pub reward_baseline: RewardBaseline,
}

/// What [`AutoscaleEnv`]'s rewards are measured against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RewardBaseline {
    /// The reward `R` of the window.
    #[default]
    None,
    /// `R` minus the reward the initial configuration, kept unchanged, earns in the same window on
    /// the same arrivals and random draws (an input-driven baseline: it does not depend on the
    /// agent's actions, so it leaves the best policy unchanged and removes the load's noise).
    Initial,
}

impl FromStr for RewardBaseline {
    type Err = Error;
    fn from_str(s: &str) -> Result<RewardBaseline, Error> {
        match s {
            "none" => Ok(RewardBaseline::None),
            "initial" => Ok(RewardBaseline::Initial),
            other => Err(option_error(
                "reward_baseline",
                format!("{other:?}: expected none or initial"),
            )),
        }
    }
}

impl Default for AutoscaleSettings {
    fn default() -> Self {
        AutoscaleSettings {
            interval_s: 60.0,
            k: 3.0,
            slo_penalty: 1.0,
            provisioned_ladder: PROVISIONED_LADDER.to_vec(),
            memory_ladder: MEMORY_LADDER_MB.to_vec(),
            reward_baseline: RewardBaseline::None,
        }
    }
}

/// `InvalidOption` for every problem at once: the fields joined, then the reasons.
fn problems_error(problems: Vec<(String, String)>) -> Result<(), Error> {
    if problems.is_empty() {
        return Ok(());
    }
    Err(Error::InvalidOption {
        field: problems
            .iter()
            .map(|(f, _)| f.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        reason: problems
            .iter()
            .map(|(f, r)| format!("{f}: {r}"))
            .collect::<Vec<_>>()
            .join("; "),
    })
}

fn option_error(field: &str, reason: String) -> Error {
    Error::InvalidOption {
        field: field.into(),
        reason,
    }
}

/// Problems of a ladder: empty, or not strictly increasing.
fn ladder_problems(field: &str, ladder: &[u32], problems: &mut Vec<(String, String)>) {
    if ladder.is_empty() {
        problems.push((field.into(), "empty: needs at least one rung".into()));
    }
    if let Some(i) = (1..ladder.len()).find(|&i| ladder[i] <= ladder[i - 1]) {
        problems.push((
            field.into(),
            format!(
                "not strictly increasing: rung {i} ({}) after {}",
                ladder[i],
                ladder[i - 1]
            ),
        ));
    }
}

impl AutoscaleSettings {
    /// Checks every field, reporting all problems at once.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] whose `field` names every bad field (`autoscale.interval_s`,
    /// `autoscale.k`, `autoscale.slo_penalty`, `autoscale.provisioned_ladder`,
    /// `autoscale.memory_ladder`): an interval outside `[0.001, 1e12]` s, a negative or non-finite
    /// weight, an empty or not strictly increasing ladder, a provisioned level above
    /// [`CONCURRENCY_MAX`], a memory of 0.
    pub fn validate(&self) -> Result<(), Error> {
        let mut problems = Vec::new();
        if !(self.interval_s.is_finite() && (1e-3..=ARRIVAL_SPAN_S_MAX).contains(&self.interval_s))
        {
            problems.push((
                "autoscale.interval_s".into(),
                format!(
                    "{}: must be in [0.001, {ARRIVAL_SPAN_S_MAX:e}] seconds",
                    fmt_num(self.interval_s)
                ),
            ));
        }
        for (field, v) in [
            ("autoscale.k", self.k),
            ("autoscale.slo_penalty", self.slo_penalty),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                problems.push((
                    field.into(),
                    format!("{}: must be a finite number >= 0", fmt_num(v)),
                ));
            }
        }
        ladder_problems(
            "autoscale.provisioned_ladder",
            &self.provisioned_ladder,
            &mut problems,
        );
        if let Some(&top) = self.provisioned_ladder.last()
            && top > CONCURRENCY_MAX
        {
            problems.push((
                "autoscale.provisioned_ladder".into(),
                format!("top rung {top}: at most {CONCURRENCY_MAX} (limits::CONCURRENCY_MAX)"),
            ));
        }
        ladder_problems(
            "autoscale.memory_ladder",
            &self.memory_ladder,
            &mut problems,
        );
        if self.memory_ladder.first() == Some(&0) {
            problems.push(("autoscale.memory_ladder".into(), "memory 0 MB".into()));
        }
        problems_error(problems)
    }

    /// The memory ladder on `platform`: the sizes it offers, in order.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] (`autoscale.memory_ladder`) when the platform offers none of them.
    pub fn memory_ladder_on(&self, platform: &Platform) -> Result<Vec<u32>, Error> {
        let ladder: Vec<u32> = self
            .memory_ladder
            .iter()
            .copied()
            .filter(|&m| platform.offers_memory(m))
            .collect();
        if ladder.is_empty() {
            let s = platform.spec();
            return Err(option_error(
                "autoscale.memory_ladder",
                format!(
                    "platform '{}' offers none of {:?} ({}..={} MB in steps of {})",
                    s.name, self.memory_ladder, s.memory_mb_min, s.memory_mb_max, s.memory_mb_step
                ),
            ));
        }
        Ok(ladder)
    }
}

/// The workflow's functions in the simulator's order (first appearance) and the function-level
/// dependency edges `(pred function, succ function)` of its step edges: deduplicated, sorted, without
/// self-loops.
pub fn function_graph(workflow: &Workflow) -> (Vec<String>, Vec<(u32, u32)>) {
    let mut names: Vec<String> = Vec::new();
    let fn_of: Vec<u32> = workflow
        .steps()
        .iter()
        .map(|s| match names.iter().position(|n| *n == s.function) {
            Some(i) => i as u32,
            None => {
                names.push(s.function.clone());
                (names.len() - 1) as u32
            }
        })
        .collect();
    let mut edges: Vec<(u32, u32)> = Vec::new();
    for id in workflow.step_ids() {
        for &p in workflow.preds(id) {
            let (a, b) = (fn_of[p.idx()], fn_of[id.idx()]);
            if a != b {
                edges.push((a, b));
            }
        }
    }
    edges.sort_unstable();
    edges.dedup();
    (names, edges)
}

/// One observation: the state after a window closed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AutoscaleObs {
    /// Simulated time, seconds (the end of the window).
    pub now_s: f64,
    /// The functions, one row each, in the simulator's order.
    pub function_names: Vec<String>,
    /// Features per row ([`N_FEATURES`]).
    pub n_features: usize,
    /// `function_names.len() x n_features`, row-major; every value finite.
    pub features: Vec<f32>,
    /// Function-level dependency edges (pred function, succ function): deduplicated, sorted, no
    /// self-loops ([`function_graph`]).
    pub edges: Vec<(u32, u32)>,
}

impl AutoscaleObs {
    /// Number of functions (rows).
    pub fn n_functions(&self) -> usize {
        self.function_names.len()
    }

    /// The features of function `function_idx`.
    ///
    /// # Panics
    /// If `function_idx >= n_functions()`.
    pub fn row(&self, function_idx: usize) -> &[f32] {
        &self.features[function_idx * self.n_features..(function_idx + 1) * self.n_features]
    }
}

/// Builds observations from monitoring windows, keeping the little history they need (the previous
/// window's arrival rate). The same code serves the environment and [`AgentController`].
#[derive(Debug, Clone, PartialEq)]
pub struct ObsBuilder {
    function_names: Vec<String>,
    edges: Vec<(u32, u32)>,
    memory_ladder: Vec<u32>,
    memory_floor_mb: Vec<u32>,
    provisioned_ladder: Vec<u32>,
    slo_scale_s: f64,
    prev_started_per_s: Option<f64>,
}

/// A finite value within `[lo, hi]` as f32 (non-finite: 0).
fn feat(x: f64, lo: f64, hi: f64) -> f32 {
    if x.is_finite() {
        x.clamp(lo, hi) as f32
    } else {
        0.0
    }
}

/// The memory floor of each function: the most memory any of its task steps needs at one worker per
/// instance (`memory_mb_per_worker`), or at `configs`' workers when given.
fn memory_floors_mb(
    workflow: &Workflow,
    n_functions: usize,
    fn_of: &[u32],
    configs: Option<&[StepConfig]>,
) -> Vec<u32> {
    let mut floors = vec![0u32; n_functions];
    for (i, s) in workflow.steps().iter().enumerate() {
        if s.kind != StepKind::Task {
            continue;
        }
        let workers = configs.map_or(1, |c| c[i].workers.max(1));
        let need = u64::from(workers) * u64::from(s.memory_mb_per_worker);
        let f = fn_of[i] as usize;
        floors[f] = floors[f].max(need.min(u64::from(u32::MAX)) as u32);
    }
    floors
}

/// The function index of each step, in the simulator's order.
fn function_of_steps(workflow: &Workflow, names: &[String]) -> Vec<u32> {
    workflow
        .steps()
        .iter()
        .map(|s| {
            names
                .iter()
                .position(|n| *n == s.function)
                .expect("every step's function is listed") as u32
        })
        .collect()
}

impl ObsBuilder {
    /// A builder for `workflow` on `platform`. `slo_s` is the SLO in force ([`Simulation::slo_s`]);
    /// `None` falls back to the workflow's, then to a 1 s scale. Memory floors assume one worker per
    /// instance; [`ObsBuilder::with_memory_floors_mb`] sets the applier's.
    ///
    /// # Errors
    /// As [`AutoscaleSettings::validate`] and [`AutoscaleSettings::memory_ladder_on`].
    pub fn new(
        workflow: &Workflow,
        platform: &Platform,
        settings: &AutoscaleSettings,
        slo_s: Option<f64>,
    ) -> Result<ObsBuilder, Error> {
        settings.validate()?;
        let memory_ladder = settings.memory_ladder_on(platform)?;
        let (function_names, edges) = function_graph(workflow);
        let fn_of = function_of_steps(workflow, &function_names);
        let memory_floor_mb = memory_floors_mb(workflow, function_names.len(), &fn_of, None);
        let slo_scale_s = slo_s
            .or(workflow.slo_s)
            .filter(|s| s.is_finite() && *s > 0.0)
            .unwrap_or(1.0);
        Ok(ObsBuilder {
            function_names,
            edges,
            memory_ladder,
            memory_floor_mb,
            provisioned_ladder: settings.provisioned_ladder.clone(),
            slo_scale_s,
            prev_started_per_s: None,
        })
    }

    /// Uses these per-function memory floors, MB, for the "memory at its lowest rung" flag (those of an
    /// [`ActionApplier`], [`ActionApplier::memory_floors_mb`]).
    ///
    /// # Panics
    /// If `floors_mb` does not have one entry per function.
    pub fn with_memory_floors_mb(mut self, floors_mb: Vec<u32>) -> ObsBuilder {
        assert_eq!(
            floors_mb.len(),
            self.function_names.len(),
            "one memory floor per function"
        );
        self.memory_floor_mb = floors_mb;
        self
    }

    /// Forgets the history (a new episode).
    pub fn reset(&mut self) {
        self.prev_started_per_s = None;
    }

    /// The functions, in the simulator's order.
    pub fn function_names(&self) -> &[String] {
        &self.function_names
    }

    /// The observation after `window` closed, with the settings in `state` and each function's current
    /// memory `memory_mb` (as [`ActionApplier::memory_mb`]); remembers the window's arrival rate for the
    /// next trend.
    ///
    /// # Panics
    /// If `window`, `state` or `memory_mb` do not have one entry per function of the workflow.
    pub fn observe(
        &mut self,
        window: &MonitorWindow,
        state: &ControlState<'_>,
        memory_mb: &[u32],
    ) -> AutoscaleObs {
        let n = self.function_names.len();
        assert!(
            window.functions.len() == n && state.functions.len() == n && memory_mb.len() == n,
            "a window, settings and memory for each of the {n} functions"
        );
        let len_s = window.length_s();
        let per_s = |x: f64| if len_s > 0.0 { x / len_s } else { 0.0 };
        let slo = self.slo_scale_s;
        let ratio = |v: Option<f64>| feat(v.map_or(0.0, |v| v / slo), 0.0, RATIO_CAP);
        let flag = |b: bool| if b { 1.0f32 } else { 0.0 };
        let wf = &window.workflow;

        let started_per_s = per_s(wf.started as f64);
        let trend = match self.prev_started_per_s {
            None => 0.0,
            Some(p) if p > 0.0 && started_per_s > 0.0 => (started_per_s / p).ln().clamp(-2.0, 2.0),
            Some(p) if p > 0.0 => -2.0,
            Some(_) if started_per_s > 0.0 => 2.0,
            Some(_) => 0.0,
        };
        self.prev_started_per_s = Some(started_per_s);
        let phase = std::f64::consts::TAU * (state.now_s.rem_euclid(DAY_S) / DAY_S);
        let workflow_row = [
            feat(started_per_s.ln_1p(), 0.0, f64::MAX),
            feat(trend, -2.0, 2.0),
            ratio(wf.latency_s.p50),
            ratio(wf.latency_s.p95),
            ratio(wf.latency_s.p99),
            feat(wf.slo_attainment.unwrap_or(1.0), 0.0, 1.0),
            feat(per_s(wf.failed as f64).ln_1p(), 0.0, f64::MAX),
            feat((wf.running as f64).ln_1p(), 0.0, f64::MAX),
            feat(phase.sin(), -1.0, 1.0),
            feat(phase.cos(), -1.0, 1.0),
        ];

        let mut features = Vec::with_capacity(n * N_FEATURES);
        let p_bottom = self.provisioned_ladder.first().copied().unwrap_or(0);
        let p_top = self.provisioned_ladder.last().copied().unwrap_or(0);
        for (f, (fw, settings)) in window.functions.iter().zip(state.functions).enumerate() {
            let invocations = fw.invocations as f64;
            let share = |x: f64| {
                if invocations > 0.0 {
                    x / invocations
                } else {
                    0.0
                }
            };
            let mem = memory_mb[f];
            let floor = self.memory_floor_mb[f];
            let level_total: u64 = settings
                .provisioned
                .iter()
                .map(|&(_, l)| u64::from(l))
                .sum();
            let level_here = settings.provisioned_at(mem);
            let spillover: u64 = fw.provisioned.iter().map(|p| p.spillover_invocations).sum();
            let cost_share = if wf.cost_usd > 0.0 {
                fw.cost_usd / wf.cost_usd
            } else {
                0.0
            };
            let row = [
                feat(per_s(invocations).ln_1p(), 0.0, f64::MAX),
                feat(per_s(fw.throttles as f64).ln_1p(), 0.0, f64::MAX),
                feat(fw.concurrent_executions_mean.ln_1p(), 0.0, f64::MAX),
                feat(
                    f64::from(fw.concurrent_executions_max).ln_1p(),
                    0.0,
                    f64::MAX,
                ),
                feat(share(fw.cold_starts as f64), 0.0, 1.0),
                ratio(fw.duration_s.p50),
                ratio(fw.duration_s.p95),
                ratio(fw.duration_s.p99),
                feat(cost_share, 0.0, 1.0),
                feat((level_total as f64).ln_1p(), 0.0, f64::MAX),
                feat(fw.provisioned_utilization().unwrap_or(0.0), 0.0, 1.0),
                feat(share(spillover as f64), 0.0, 1.0),
                feat((f64::from(mem.max(1)) / 1024.0).log2(), -10.0, 10.0),
                flag(!self.memory_ladder.iter().any(|&m| m < mem && m >= floor)),
                flag(!self.memory_ladder.iter().any(|&m| m > mem)),
                flag(level_here <= p_bottom),
                flag(level_here >= p_top),
            ];
            features.extend_from_slice(&row);
            features.extend_from_slice(&workflow_row);
        }
        debug_assert_eq!(features.len(), n * N_FEATURES);
        AutoscaleObs {
            now_s: state.now_s,
            function_names: self.function_names.clone(),
            n_features: N_FEATURES,
            features,
            edges: self.edges.clone(),
        }
    }
}

/// Turns actions into [`Change`]s (the semantics in the module docs), tracking each function's memory
/// and provisioned rung, and what the simulation was last told.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionApplier {
    function_names: Vec<String>,
    memory_ladder: Vec<u32>,
    provisioned_ladder: Vec<u32>,
    memory_floor_mb: Vec<u32>,
    memory_mb: Vec<u32>,
    rung: Vec<usize>,
    /// Per function, the (memory, provisioned level) last requested from the simulation.
    applied: Vec<(u32, u32)>,
}

impl ActionApplier {
    /// An applier for `workflow` on `platform` starting from `initial` (one configuration per step, in
    /// step order): each function at the memory of its first step, provisioned rung 0.
    ///
    /// # Errors
    /// As [`AutoscaleSettings::validate`] and [`AutoscaleSettings::memory_ladder_on`];
    /// [`Error::InvalidOption`] (`initial`) when `initial` does not have one configuration per step;
    /// [`Error::InfeasibleConfig`] naming the step whose initial configuration cannot run.
    pub fn new(
        workflow: &Workflow,
        platform: &Platform,
        initial: &[StepConfig],
        settings: &AutoscaleSettings,
    ) -> Result<ActionApplier, Error> {
        settings.validate()?;
        let memory_ladder = settings.memory_ladder_on(platform)?;
        if initial.len() != workflow.n_steps() {
            return Err(option_error(
                "initial",
                format!(
                    "{} configurations for the {} steps of workflow '{}': one per step, in step order",
                    initial.len(),
                    workflow.n_steps(),
                    workflow.name
                ),
            ));
        }
        for (step, &c) in workflow.steps().iter().zip(initial) {
            platform.check_config(step, c)?;
        }
        let (function_names, _) = function_graph(workflow);
        let fn_of = function_of_steps(workflow, &function_names);
        let n = function_names.len();
        let memory_floor_mb = memory_floors_mb(workflow, n, &fn_of, Some(initial));
        let mut memory_mb = vec![None; n];
        for (i, &f) in fn_of.iter().enumerate() {
            memory_mb[f as usize].get_or_insert(initial[i].memory_mb);
        }
        let memory_mb: Vec<u32> = memory_mb
            .into_iter()
            .map(|m| m.expect("every function has a step"))
            .collect();
        let applied = memory_mb.iter().map(|&m| (m, 0)).collect();
        Ok(ActionApplier {
            function_names,
            memory_ladder,
            provisioned_ladder: settings.provisioned_ladder.clone(),
            memory_floor_mb,
            rung: vec![0; n],
            memory_mb,
            applied,
        })
    }

    /// The functions, in the simulator's order.
    pub fn function_names(&self) -> &[String] {
        &self.function_names
    }

    /// Each function's memory as last set, MB.
    pub fn memory_mb(&self) -> &[u32] {
        &self.memory_mb
    }

    /// Each function's provisioned rung (an index into the provisioned ladder).
    pub fn rungs(&self) -> &[usize] {
        &self.rung
    }

    /// Each function's provisioned level as last set (the rung's level).
    pub fn provisioned_levels(&self) -> Vec<u32> {
        self.rung
            .iter()
            .map(|&r| self.provisioned_ladder[r])
            .collect()
    }

    /// Each function's memory floor, MB: the most any of its task steps needs at its initial workers.
    pub fn memory_floors_mb(&self) -> &[u32] {
        &self.memory_floor_mb
    }

    /// The changes that carry out `actions` (one per function, in the simulator's order), and the new
    /// state. A move past either end of a ladder stays there; nothing that is already in place is
    /// asked for again.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] (`actions`) naming the expected length; nothing changes then.
    pub fn apply(&mut self, actions: &[FunctionAction]) -> Result<Vec<Change>, Error> {
        let n = self.function_names.len();
        if actions.len() != n {
            return Err(option_error(
                "actions",
                format!(
                    "{} actions: expected {n}, one per function ({})",
                    actions.len(),
                    self.function_names.join(", ")
                ),
            ));
        }
        let mut changes = Vec::new();
        for (f, a) in actions.iter().enumerate() {
            let old_mem = self.memory_mb[f];
            let floor = self.memory_floor_mb[f];
            let new_mem = match a.memory {
                Knob::Keep => old_mem,
                Knob::Up => self
                    .memory_ladder
                    .iter()
                    .copied()
                    .find(|&m| m > old_mem)
                    .unwrap_or(old_mem),
                Knob::Down => self
                    .memory_ladder
                    .iter()
                    .rev()
                    .copied()
                    .find(|&m| m < old_mem && m >= floor)
                    .unwrap_or(old_mem),
            };
            let top = self.provisioned_ladder.len() - 1;
            self.rung[f] = match a.concurrency {
                Knob::Keep => self.rung[f],
                Knob::Up => (self.rung[f] + 1).min(top),
                Knob::Down => self.rung[f].saturating_sub(1),
            };
            let level = self.provisioned_ladder[self.rung[f]];
            let function = &self.function_names[f];
            if new_mem != old_mem {
                changes.push(Change::FunctionMemory {
                    function: function.clone(),
                    memory_mb: Some(new_mem),
                });
            }
            let (applied_mem, applied_level) = self.applied[f];
            if applied_mem != new_mem && applied_level > 0 {
                changes.push(Change::ProvisionedConcurrency {
                    function: function.clone(),
                    memory_mb: applied_mem,
                    level: 0,
                });
            }
            let moved = applied_mem != new_mem;
            if (moved && level > 0) || (!moved && level != applied_level) {
                changes.push(Change::ProvisionedConcurrency {
                    function: function.clone(),
                    memory_mb: new_mem,
                    level,
                });
            }
            self.memory_mb[f] = new_mem;
            self.applied[f] = (new_mem, level);
        }
        Ok(changes)
    }
}

/// The reward of one window (the formula in the module docs). `ref_cost_usd` and `ref_rate_per_s` must
/// be positive; a window of zero length earns 0.
pub fn interval_reward(
    window: &MonitorWindow,
    settings: &AutoscaleSettings,
    ref_cost_usd: f64,
    ref_rate_per_s: f64,
) -> f64 {
    let len_s = window.length_s();
    if len_s <= 0.0 {
        return 0.0;
    }
    let wf = &window.workflow;
    let n_finished = (wf.succeeded + wf.failed) as f64;
    // `slo_attainment` is n_met / n_finished exactly, so rounding recovers the count.
    let n_in_slo = match wf.slo_attainment {
        Some(a) => (a * n_finished).round(),
        None => (wf.succeeded + wf.failed - wf.failed_throttled) as f64,
    };
    let good_per_s = n_in_slo / len_s;
    let bad_per_s = (n_finished - n_in_slo) / len_s;
    let cost_per_s = wf.cost_usd / len_s;
    (settings.k * ref_cost_usd * good_per_s
        - settings.slo_penalty * ref_cost_usd * bad_per_s
        - cost_per_s)
        / (ref_cost_usd * ref_rate_per_s)
}

/// A [`Controller`] that lets an agent drive any simulation with the environment's observation and
/// action semantics: at every control interval it builds the [`AutoscaleObs`], asks `decide` for one
/// [`FunctionAction`] per function and returns the changes an [`ActionApplier`] makes of them.
pub struct AgentController<F> {
    name: String,
    interval_s: f64,
    obs: ObsBuilder,
    applier: ActionApplier,
    decide: F,
}

impl<F: FnMut(&AutoscaleObs) -> Vec<FunctionAction>> AgentController<F> {
    /// A controller named `agent` for `workflow` on `platform`, starting from the per-step `initial`
    /// configuration (the same the simulation's policy uses) with SLO `slo_s` (as [`ObsBuilder::new`]).
    /// Its default interval is `settings.interval_s`.
    ///
    /// # Errors
    /// As [`ActionApplier::new`].
    pub fn new(
        workflow: &Workflow,
        platform: &Platform,
        initial: &[StepConfig],
        settings: &AutoscaleSettings,
        slo_s: Option<f64>,
        decide: F,
    ) -> Result<AgentController<F>, Error> {
        let applier = ActionApplier::new(workflow, platform, initial, settings)?;
        let obs = ObsBuilder::new(workflow, platform, settings, slo_s)?
            .with_memory_floors_mb(applier.memory_floors_mb().to_vec());
        Ok(AgentController {
            name: "agent".into(),
            interval_s: settings.interval_s,
            obs,
            applier,
            decide,
        })
    }

    /// Names the controller (as reported).
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The applier (current memory and rungs).
    pub fn applier(&self) -> &ActionApplier {
        &self.applier
    }
}

impl<F: FnMut(&AutoscaleObs) -> Vec<FunctionAction>> Controller for AgentController<F> {
    fn name(&self) -> &str {
        &self.name
    }

    fn default_interval_s(&self) -> f64 {
        self.interval_s
    }

    /// # Panics
    /// If `decide` returns other than one action per function (a bug in the caller's agent).
    fn control(&mut self, window: &MonitorWindow, state: &ControlState<'_>) -> Vec<Change> {
        let obs = self.obs.observe(window, state, self.applier.memory_mb());
        let actions = (self.decide)(&obs);
        match self.applier.apply(&actions) {
            Ok(changes) => changes,
            Err(e) => panic!("agent controller '{}': {e}", self.name),
        }
    }
}

/// What the simulation thread sends.
enum Msg {
    /// A window closed; the controller waits for actions.
    Window(Box<MonitorWindow>, AutoscaleObs),
    /// The run ended.
    Done(Result<Box<SimReport>, Error>),
}

/// The controller on the simulation thread: hands each window over and waits for the actions.
struct HandOff {
    obs: ObsBuilder,
    applier: ActionApplier,
    interval_s: f64,
    to_env: Sender<Msg>,
    from_env: Receiver<Vec<FunctionAction>>,
    /// The environment hung up: change nothing from now on.
    closed: bool,
}

impl Controller for HandOff {
    fn name(&self) -> &str {
        "autoscale-env"
    }

    fn default_interval_s(&self) -> f64 {
        self.interval_s
    }

    fn control(&mut self, window: &MonitorWindow, state: &ControlState<'_>) -> Vec<Change> {
        if self.closed {
            return Vec::new();
        }
        let obs = self.obs.observe(window, state, self.applier.memory_mb());
        if self
            .to_env
            .send(Msg::Window(Box::new(window.clone()), obs))
            .is_err()
        {
            self.closed = true;
            return Vec::new();
        }
        match self.from_env.recv() {
            // The environment checked the length; an error cannot happen, but changes nothing.
            Ok(actions) => self.applier.apply(&actions).unwrap_or_default(),
            Err(_) => {
                self.closed = true;
                Vec::new()
            }
        }
    }
}

/// One step of the environment.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvStep {
    /// The next state (after the window below).
    pub obs: AutoscaleObs,
    /// The reward of the window ([`interval_reward`]).
    pub reward: f64,
    /// The episode is over: [`AutoscaleEnv::report`] has the run's report.
    pub done: bool,
    /// The window the actions ran in.
    pub window: MonitorWindow,
}

/// A running episode: the simulation thread and its two channels.
struct Episode {
    to_sim: Sender<Vec<FunctionAction>>,
    from_sim: Receiver<Msg>,
    handle: JoinHandle<()>,
}

/// A step-style autoscaling environment for training: [`AutoscaleEnv::reset`] starts an episode (a
/// simulation up to the horizon on its own thread) and returns the state after the first interval;
/// each [`AutoscaleEnv::step`] applies one action per function, runs one more interval and returns
/// its reward and the next state. With horizon `H` and interval `I`, an episode has `floor(H / I) - 1`
/// steps (the first interval runs the initial configuration unrewarded; actions taken at the last
/// decision would act after the horizon); a part-interval at the end is simulated but not rewarded.
pub struct AutoscaleEnv {
    workflow: Arc<Workflow>,
    platform: Arc<Platform>,
    initial: Vec<StepConfig>,
    options: SimOptions,
    settings: AutoscaleSettings,
    function_names: Vec<String>,
    horizon_s: f64,
    ref_cost_usd: f64,
    ref_rate_per_s: f64,
    /// With [`RewardBaseline::Initial`]: the initial configuration's reward per window of this
    /// episode, by window index (`round(end / interval)`).
    baseline: std::collections::BTreeMap<u64, f64>,
    episode: Option<Episode>,
    last_obs: Option<AutoscaleObs>,
    report: Option<SimReport>,
    done: bool,
}

impl std::fmt::Debug for AutoscaleEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AutoscaleEnv")
            .field("workflow", &self.workflow.name)
            .field("functions", &self.function_names)
            .field("horizon_s", &self.horizon_s)
            .field("ref_cost_usd", &self.ref_cost_usd)
            .field("ref_rate_per_s", &self.ref_rate_per_s)
            .field("running", &self.episode.is_some())
            .field("done", &self.done)
            .finish()
    }
}

/// Expected arrivals per second over `[0, horizon_s]`.
fn mean_rate_over(arrivals: &Arrivals, horizon_s: f64) -> f64 {
    match arrivals {
        Arrivals::Schedule(s) => {
            let n = s.starts_s.len().min(s.rates_per_s.len());
            let end = s.end_s.unwrap_or(f64::INFINITY).min(horizon_s);
            let mut total = 0.0;
            for i in 0..n {
                let hi = if i + 1 < n { s.starts_s[i + 1] } else { end }.min(end);
                total += s.rates_per_s[i] * (hi - s.starts_s[i]).max(0.0);
            }
            total / horizon_s
        }
        _ => arrivals.mean_rate_per_s(),
    }
}

impl AutoscaleEnv {
    /// An environment for `workflow` on `platform` with the per-step `initial` configuration (the
    /// policy every request runs under; the agent overrides memory per function). From `options` it
    /// takes the arrivals, seed, SLO and horizon (required): the control interval becomes
    /// `settings.interval_s`, the request cap [`REQUESTS_MAX`] (the horizon ends an episode), and no
    /// metrics or records are kept. Runs the reference-cost simulation (module docs).
    ///
    /// # Errors
    /// As [`AutoscaleSettings::validate`], [`ActionApplier::new`] and [`Simulation::new`];
    /// [`Error::InvalidOption`] `horizon_s` when it is missing or shorter than two intervals,
    /// `arrivals` when no request is expected before the horizon, `ref_cost` when the initial
    /// configuration costs nothing per request; any error of the reference run.
    pub fn new(
        workflow: Arc<Workflow>,
        platform: Arc<Platform>,
        initial: Vec<StepConfig>,
        options: SimOptions,
        settings: AutoscaleSettings,
    ) -> Result<AutoscaleEnv, Error> {
        settings.validate()?;
        let Some(horizon_s) = options.horizon_s else {
            return Err(option_error(
                "horizon_s",
                "an autoscaling episode needs a horizon (SimOptions::horizon_s)".into(),
            ));
        };
        if !(horizon_s.is_finite() && horizon_s >= 2.0 * settings.interval_s) {
            return Err(option_error(
                "horizon_s",
                format!(
                    "{}: must be at least two control intervals ({} s)",
                    fmt_num(horizon_s),
                    fmt_num(2.0 * settings.interval_s)
                ),
            ));
        }
        ActionApplier::new(&workflow, &platform, &initial, &settings)?;
        let options = SimOptions {
            n_requests: REQUESTS_MAX,
            keep_records: false,
            metrics_interval_s: None,
            control_interval_s: Some(settings.interval_s),
            ..options
        };
        let sim = Simulation::new(&workflow, &platform, options.clone())?;
        let function_names = sim.function_names().to_vec();
        let slo_s = sim.slo_s();
        let ref_rate_per_s = mean_rate_over(&options.arrivals, horizon_s);
        if !(ref_rate_per_s > 0.0 && ref_rate_per_s.is_finite()) {
            return Err(option_error(
                "arrivals",
                format!(
                    "{}: no request is expected before the horizon ({} s)",
                    options.arrivals.describe(),
                    fmt_num(horizon_s)
                ),
            ));
        }
        let ref_options = SimOptions {
            n_requests: REF_COST_REQUESTS,
            arrivals: Arrivals::poisson(ref_rate_per_s),
            seed: stream_seed(options.seed, "autoscale.ref_cost", 0),
            slo_s,
            keep_records: false,
            horizon_s: None,
            metrics_interval_s: None,
            control_interval_s: None,
        };
        let report = Simulation::new(&workflow, &platform, ref_options)?
            .run(&mut StaticPolicy::new("initial", initial.clone()))?;
        let ref_cost_usd = report.cost_usd.mean;
        if !(ref_cost_usd > 0.0 && ref_cost_usd.is_finite()) {
            return Err(option_error(
                "ref_cost",
                format!(
                    "the initial configuration costs {} USD per request: rewards cannot be scaled",
                    fmt_num(ref_cost_usd)
                ),
            ));
        }
        Ok(AutoscaleEnv {
            workflow,
            platform,
            initial,
            options,
            settings,
            function_names,
            horizon_s,
            ref_cost_usd,
            ref_rate_per_s,
            baseline: std::collections::BTreeMap::new(),
            episode: None,
            last_obs: None,
            report: None,
            done: false,
        })
    }

    /// Number of functions (actions per step).
    pub fn n_functions(&self) -> usize {
        self.function_names.len()
    }

    /// The functions, in the order of actions and observation rows.
    pub fn function_names(&self) -> &[String] {
        &self.function_names
    }

    /// The reference cost per request, USD (module docs).
    pub fn ref_cost(&self) -> f64 {
        self.ref_cost_usd
    }

    /// The episode's mean arrival rate over the horizon, requests per second.
    pub fn ref_rate_per_s(&self) -> f64 {
        self.ref_rate_per_s
    }

    /// The settings in force.
    pub fn settings(&self) -> &AutoscaleSettings {
        &self.settings
    }

    /// The simulation options of an episode (as resolved in [`AutoscaleEnv::new`]).
    pub fn options(&self) -> &SimOptions {
        &self.options
    }

    /// Sets the arrivals and seed of the next episodes (the reference cost and rate stay those of
    /// [`AutoscaleEnv::new`], so rewards stay comparable across episodes).
    ///
    /// # Errors
    /// As [`Simulation::new`] for the new options (nothing changes then).
    pub fn set_load(&mut self, arrivals: Arrivals, seed: u64) -> Result<(), Error> {
        let options = SimOptions {
            arrivals,
            seed,
            ..self.options.clone()
        };
        Simulation::new(&self.workflow, &self.platform, options.clone())?;
        self.options = options;
        Ok(())
    }

    /// Ends a running episode: hangs up (the simulation's controller then changes nothing and the run
    /// finishes by itself) and joins the thread.
    fn stop(&mut self) {
        if let Some(Episode {
            to_sim,
            from_sim,
            handle,
        }) = self.episode.take()
        {
            drop(to_sim);
            drop(from_sim);
            if let Err(panic) = handle.join()
                && !std::thread::panicking()
            {
                std::panic::resume_unwind(panic);
            }
        }
    }

    /// The next message of the simulation thread (re-raising a panic there).
    fn receive(&mut self) -> Msg {
        let episode = self.episode.as_ref().expect("a running episode");
        match episode.from_sim.recv() {
            Ok(msg) => msg,
            Err(_) => {
                // The thread ended without a last message: it panicked.
                let Episode { handle, .. } = self.episode.take().expect("running");
                match handle.join() {
                    Err(panic) => std::panic::resume_unwind(panic),
                    Ok(()) => unreachable!("the simulation thread always sends its result"),
                }
            }
        }
    }

    /// Starts a new episode (ending a running one) and returns the state after the first interval,
    /// which runs the initial configuration.
    ///
    /// # Errors
    /// Any error of the simulation (as [`Simulation::run_controlled`]).
    pub fn reset(&mut self) -> Result<AutoscaleObs, Error> {
        self.stop();
        self.report = None;
        self.last_obs = None;
        self.done = false;
        self.baseline.clear();
        if self.settings.reward_baseline == RewardBaseline::Initial {
            let shadow = Simulation::new(
                &self.workflow,
                &self.platform,
                SimOptions {
                    metrics_interval_s: Some(self.settings.interval_s),
                    ..self.options.clone()
                },
            )?
            .run(&mut StaticPolicy::new("initial", self.initial.clone()))?;
            for w in &shadow.metrics {
                let r = interval_reward(w, &self.settings, self.ref_cost_usd, self.ref_rate_per_s);
                self.baseline
                    .insert((w.end_s / self.settings.interval_s).round() as u64, r);
            }
        }
        let applier = ActionApplier::new(
            &self.workflow,
            &self.platform,
            &self.initial,
            &self.settings,
        )?;
        let obs = ObsBuilder::new(
            &self.workflow,
            &self.platform,
            &self.settings,
            self.options.slo_s.or(self.workflow.slo_s),
        )?
        .with_memory_floors_mb(applier.memory_floors_mb().to_vec());
        let (to_env, from_sim) = channel();
        let (to_sim, from_env) = channel();
        let mut controller = HandOff {
            obs,
            applier,
            interval_s: self.settings.interval_s,
            to_env,
            from_env,
            closed: false,
        };
        let workflow = Arc::clone(&self.workflow);
        let platform = Arc::clone(&self.platform);
        let options = self.options.clone();
        let mut policy = StaticPolicy::new("initial", self.initial.clone());
        let handle = std::thread::spawn(move || {
            let result = Simulation::new(&workflow, &platform, options)
                .and_then(|sim| sim.run_controlled(&mut policy, &mut controller))
                .map(Box::new);
            // The environment may have hung up; then nobody wants the result.
            let _ = controller.to_env.send(Msg::Done(result));
        });
        self.episode = Some(Episode {
            to_sim,
            from_sim,
            handle,
        });
        match self.receive() {
            Msg::Window(_, obs) => {
                self.last_obs = Some(obs.clone());
                Ok(obs)
            }
            Msg::Done(result) => {
                self.stop();
                self.done = true;
                result?;
                Err(option_error(
                    "horizon_s",
                    "the episode ended before its first decision".into(),
                ))
            }
        }
    }

    /// Applies `actions` (one per function, in the order of [`AutoscaleEnv::function_names`]), runs
    /// one control interval and returns its reward and the next state. The step whose window ends at
    /// the last decision before the horizon is `done`; the run then finishes and
    /// [`AutoscaleEnv::report`] holds its report.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] `actions` naming the expected length (the episode goes on), `step`
    /// before [`AutoscaleEnv::reset`] or after the episode is done; any error of the simulation.
    pub fn step(&mut self, actions: &[FunctionAction]) -> Result<EnvStep, Error> {
        if self.episode.is_none() {
            return Err(option_error(
                "step",
                if self.done {
                    "the episode is done: call reset".into()
                } else {
                    "no episode: call reset first".into()
                },
            ));
        }
        let n = self.n_functions();
        if actions.len() != n {
            return Err(option_error(
                "actions",
                format!(
                    "{} actions: expected {n}, one per function ({})",
                    actions.len(),
                    self.function_names.join(", ")
                ),
            ));
        }
        self.send(actions.to_vec());
        match self.receive() {
            Msg::Window(window, obs) => {
                let reward = interval_reward(
                    &window,
                    &self.settings,
                    self.ref_cost_usd,
                    self.ref_rate_per_s,
                ) - self
                    .baseline
                    .get(&((window.end_s / self.settings.interval_s).round() as u64))
                    .copied()
                    .unwrap_or(0.0);
                let done = window.end_s + self.settings.interval_s > self.horizon_s + TIME_EPS_S;
                self.last_obs = Some(obs.clone());
                if done {
                    self.finish()?;
                }
                Ok(EnvStep {
                    obs,
                    reward,
                    done,
                    window: *window,
                })
            }
            Msg::Done(result) => {
                // Only if window ends drift from the expected arithmetic: the run ended early.
                self.finished(result)?;
                Ok(EnvStep {
                    obs: self.last_obs.clone().expect("reset gave an observation"),
                    reward: 0.0,
                    done: true,
                    window: MonitorWindow::default(),
                })
            }
        }
    }

    /// Sends actions to the simulation thread (a thread that already ended shows at the next receive).
    fn send(&mut self, actions: Vec<FunctionAction>) {
        let episode = self.episode.as_ref().expect("a running episode");
        let _ = episode.to_sim.send(actions);
    }

    /// Lets the run finish (keeping everything as it is at any later decision) and keeps its report.
    fn finish(&mut self) -> Result<(), Error> {
        let keep = vec![FunctionAction::KEEP; self.n_functions()];
        loop {
            self.send(keep.clone());
            if let Msg::Done(result) = self.receive() {
                return self.finished(result);
            }
        }
    }

    fn finished(&mut self, result: Result<Box<SimReport>, Error>) -> Result<(), Error> {
        self.stop();
        self.done = true;
        self.report = Some(*result?);
        Ok(())
    }

    /// The report of the finished episode (`None` while it runs or after an error).
    pub fn report(&mut self) -> Option<&SimReport> {
        self.report.as_ref()
    }

    /// Whether the last episode is done.
    pub fn is_done(&self) -> bool {
        self.done
    }
}

impl Drop for AutoscaleEnv {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The load of an episode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoadPattern {
    /// Poisson at the mean rate.
    Steady,
    /// An Azure Functions 2019 function's day of per-minute counts, compressed onto the horizon.
    Diurnal,
    /// A baseline with 5-10x spikes of 1-5 minutes.
    Bursty,
    /// `workload`'s periodic pattern (daily and hourly cycles), starting at an hour set by the episode.
    Periodic,
}

impl LoadPattern {
    /// Every pattern.
    pub const ALL: [LoadPattern; 4] = [
        LoadPattern::Steady,
        LoadPattern::Diurnal,
        LoadPattern::Bursty,
        LoadPattern::Periodic,
    ];

    /// The pattern's name (`steady`, `diurnal`, `bursty`, `periodic`).
    pub fn name(self) -> &'static str {
        match self {
            LoadPattern::Steady => "steady",
            LoadPattern::Diurnal => "diurnal",
            LoadPattern::Bursty => "bursty",
            LoadPattern::Periodic => "periodic",
        }
    }
}

impl std::fmt::Display for LoadPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for LoadPattern {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        LoadPattern::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| {
                option_error(
                    "load pattern",
                    format!("{s:?}: expected steady, diurnal, bursty or periodic"),
                )
            })
    }
}

/// A platform error from a `workload` one, keeping the file and line.
fn from_workload(e: workload::Error) -> Error {
    match e {
        workload::Error::Io { path, source } => Error::Io {
            path: path.display().to_string(),
            source,
        },
        workload::Error::Parse {
            path,
            line,
            message,
        } => Error::Parse {
            source_name: path.display().to_string(),
            line: Some(line),
            message,
        },
        other => option_error("arrivals", other.to_string()),
    }
}

/// Minute segments over `horizon_s` (the last one cut at the horizon): their starts and lengths.
fn minute_segments(horizon_s: f64) -> (Vec<f64>, Vec<f64>) {
    let n = (horizon_s / SEGMENT_S).ceil().max(1.0) as usize;
    let starts: Vec<f64> = (0..n).map(|i| i as f64 * SEGMENT_S).collect();
    let lengths = starts
        .iter()
        .map(|&s| (horizon_s - s).min(SEGMENT_S))
        .collect();
    (starts, lengths)
}

/// A schedule over `[0, horizon_s]` whose rates are `shape` scaled to mean `mean_rate_per_s`.
fn scaled_schedule(
    name: String,
    starts_s: Vec<f64>,
    lengths_s: &[f64],
    shape: &[f64],
    mean_rate_per_s: f64,
    horizon_s: f64,
) -> Result<Arrivals, Error> {
    let mass: f64 = shape.iter().zip(lengths_s).map(|(m, l)| m * l).sum();
    if !(mass > 0.0 && mass.is_finite()) {
        return Err(option_error(
            "arrivals",
            format!("{name}: no arrival in the episode"),
        ));
    }
    let factor = mean_rate_per_s * horizon_s / mass;
    let arrivals = Arrivals::schedule(RateSchedule {
        name,
        starts_s,
        rates_per_s: shape.iter().map(|m| m * factor).collect(),
        end_s: Some(horizon_s),
        exact_counts: false,
    });
    arrivals.check()?;
    Ok(arrivals)
}

/// The arrivals of training or evaluation episode `episode`: `pattern` with mean `mean_rate_per_s`
/// requests per second over `[0, horizon_s]`, arrivals ending at the horizon. Deterministic in
/// (`pattern`, mean, horizon, trace, `seed`, `episode`).
///
/// - `steady`: Poisson at the mean.
/// - `bursty`: a baseline with `max(1, round(horizon / 900 s))` spikes of 5-10x the baseline (uniform),
///   each lasting 1-5 whole minutes (uniform) from a whole minute drawn uniformly (overlaps take the
///   larger factor), from sub-stream `autoscale.bursty` index `episode` of `seed`; scaled so the mean
///   over the horizon is the mean. (`workload`'s `pattern:bursty` spikes single minutes with
///   probability 0.05, so a short episode often has none.)
/// - `periodic`: `workload`'s periodic pattern (a day and an hour, amplitudes 0.5 and 0.2) from hour
///   `episode mod 24` of its day, in minute segments, scaled to the mean over the horizon. Over a
///   short horizon it varies little.
/// - `diurnal`: a function of the Azure Functions 2019 trace in `azure_dir` (default
///   [`AZURE2019_DEFAULT_DIR`], relative to the working directory), read as `azure2019:DIR:ROW` would
///   be. The candidates are the functions averaging at least one invocation a minute whose hourly
///   counts vary (coefficient of variation >= 0.1: the busiest functions of the shipped sample are
///   timer- or queue-driven and flat, so "the busiest" alone would not be diurnal), busiest first, at
///   most 8 (none varies: the busiest 8). Episode `e` takes candidate `e mod n` with its day rotated
///   to start `6 h x floor(e / n)` later (wrapping), so train and evaluation episodes can differ. The
///   day is compressed onto the horizon (each of `ceil(horizon / 60 s)` segments gets the trace's mean
///   rate over its share of the day; a horizon longer than the day keeps the day's minutes and ends
///   with it), scaled to the mean, Poisson within segments.
///
/// # Errors
/// [`Error::InvalidOption`] (`arrivals`) for a mean outside `(0, 1e6]`, a horizon outside
/// `(0, 1e12]` or with more than [`SCHEDULE_SEGMENTS_MAX`] minutes, a trace with no function or no
/// invocation; [`Error::Io`] / [`Error::Parse`] for trace files.
pub fn episode_arrivals(
    pattern: LoadPattern,
    mean_rate_per_s: f64,
    horizon_s: f64,
    azure_dir: Option<&Path>,
    seed: u64,
    episode: u64,
) -> Result<Arrivals, Error> {
    if !(mean_rate_per_s > 0.0 && mean_rate_per_s <= RATE_PER_S_MAX) {
        return Err(option_error(
            "arrivals",
            format!(
                "{pattern} mean {}: must be in (0, {RATE_PER_S_MAX:e}] requests per second",
                fmt_num(mean_rate_per_s)
            ),
        ));
    }
    if !(horizon_s > 0.0 && horizon_s <= ARRIVAL_SPAN_S_MAX)
        || (horizon_s / SEGMENT_S).ceil() > SCHEDULE_SEGMENTS_MAX as f64
    {
        return Err(option_error(
            "arrivals",
            format!(
                "{pattern} horizon {}: must be in (0, {ARRIVAL_SPAN_S_MAX:e}] seconds and at most \
                 {SCHEDULE_SEGMENTS_MAX} minutes",
                fmt_num(horizon_s)
            ),
        ));
    }
    let mean = fmt_num(mean_rate_per_s);
    match pattern {
        LoadPattern::Steady => Ok(Arrivals::poisson(mean_rate_per_s)),
        LoadPattern::Bursty => {
            let (starts, lengths) = minute_segments(horizon_s);
            let n = starts.len() as u64;
            let mut rng = RngStreams::new(seed).indexed("autoscale.bursty", episode);
            let n_spikes = ((horizon_s / BURST_EVERY_S).round() as u64).max(1);
            let mut shape = vec![1.0; starts.len()];
            for _ in 0..n_spikes {
                let len = rng.random_range(BURST_MINUTES.0..=BURST_MINUTES.1).min(n);
                let start = rng.random_range(0..=n - len);
                let factor = rng.random_range(BURST_FACTOR.0..=BURST_FACTOR.1);
                for m in &mut shape[start as usize..(start + len) as usize] {
                    *m = f64::max(*m, factor);
                }
            }
            scaled_schedule(
                format!("bursty:{mean}:episode{episode}"),
                starts,
                &lengths,
                &shape,
                mean_rate_per_s,
                horizon_s,
            )
        }
        LoadPattern::Periodic => {
            let offset_s = (episode % 24) as f64 * 3_600.0;
            let (starts, lengths) = minute_segments(horizon_s);
            // The pattern is deterministic; the stream is unused but required.
            let mut rng = RngStreams::new(seed).stream("autoscale.periodic");
            let profile = RateProfile::new(
                Pattern::PERIODIC_SECONDS,
                offset_s + horizon_s,
                SEGMENT_S,
                &mut rng,
            )
            .map_err(|e| option_error("arrivals", format!("periodic: {e}")))?;
            let skip = (offset_s / SEGMENT_S) as usize;
            let shape: Vec<f64> = profile.multipliers()[skip..].to_vec();
            assert_eq!(shape.len(), starts.len(), "one multiplier per minute");
            scaled_schedule(
                format!("periodic:{mean}:from{}h", episode % 24),
                starts,
                &lengths,
                &shape,
                mean_rate_per_s,
                horizon_s,
            )
        }
        LoadPattern::Diurnal => {
            let dir = azure_dir.unwrap_or(Path::new(AZURE2019_DEFAULT_DIR));
            let trace = Azure2019Trace::read(dir).map_err(from_workload)?;
            let candidates = diurnal_candidates(&trace);
            if candidates.is_empty() {
                return Err(option_error(
                    "arrivals",
                    format!(
                        "azure2019:{}: the trace has no function or no minute",
                        dir.display()
                    ),
                ));
            }
            let n_candidates = candidates.len() as u64;
            let row = candidates[(episode % n_candidates) as usize];
            // Read as `azure2019:DIR:ROW` would be.
            let day = RateSchedule::from_azure2019(&trace, Some(&row.to_string()), 1.0, None)?;
            let n_minutes = day.rates_per_s.len();
            let rotate = ((episode / n_candidates) as usize * DIURNAL_ROTATE_MINUTES) % n_minutes;
            let mut minute_rates = day.rates_per_s.clone();
            minute_rates.rotate_left(rotate);
            let trace_s = n_minutes as f64 * SEGMENT_S;
            let name = format!("diurnal:{}:from{}min:{mean}", day.name, rotate);
            if horizon_s >= trace_s {
                let starts: Vec<f64> = (0..n_minutes).map(|m| m as f64 * SEGMENT_S).collect();
                // The mean over the horizon is the mean: arrivals stop with the trace.
                return scaled_schedule(
                    name,
                    starts,
                    &vec![SEGMENT_S; n_minutes],
                    &minute_rates,
                    mean_rate_per_s * horizon_s / trace_s,
                    trace_s,
                );
            }
            let (starts, lengths) = minute_segments(horizon_s);
            // Segment j covers the trace's [a, b) with a = starts[j] x trace / horizon: its mean rate
            // over that span, integrated over the trace's minutes.
            let squeeze = trace_s / horizon_s;
            let shape: Vec<f64> = starts
                .iter()
                .zip(&lengths)
                .map(|(&s, &l)| {
                    let (a, b) = (s * squeeze, (s + l) * squeeze);
                    let first = (a / SEGMENT_S).floor() as usize;
                    let last = ((b / SEGMENT_S).ceil() as usize).min(n_minutes);
                    let mass: f64 = (first..last)
                        .map(|m| {
                            let (lo, hi) = (m as f64 * SEGMENT_S, (m + 1) as f64 * SEGMENT_S);
                            minute_rates[m] * (hi.min(b) - lo.max(a)).max(0.0)
                        })
                        .sum();
                    mass / (b - a)
                })
                .collect();
            scaled_schedule(name, starts, &lengths, &shape, mean_rate_per_s, horizon_s)
        }
    }
}

/// The trace functions diurnal episodes use, in order: those averaging at least one invocation a
/// minute whose hourly counts vary (coefficient of variation at least [`DIURNAL_CV_MIN`]), busiest
/// first (ties: lower row), at most [`DIURNAL_FUNCTIONS`]; when none varies, the busiest functions.
fn diurnal_candidates(trace: &Azure2019Trace) -> Vec<usize> {
    let n_minutes = trace.n_minutes();
    if n_minutes == 0 {
        return Vec::new();
    }
    let mut rows: Vec<(u64, usize, bool)> = trace
        .counts
        .iter()
        .enumerate()
        .map(|(f, counts)| {
            let total: u64 = counts.iter().map(|&c| u64::from(c)).sum();
            let hours: Vec<f64> = counts
                .chunks(60)
                .map(|h| h.iter().map(|&c| f64::from(c)).sum())
                .collect();
            let mean = hours.iter().sum::<f64>() / hours.len() as f64;
            let var = hours.iter().map(|h| (h - mean).powi(2)).sum::<f64>() / hours.len() as f64;
            let varies = mean > 0.0 && var.sqrt() / mean >= DIURNAL_CV_MIN;
            (total, f, varies && total >= n_minutes as u64)
        })
        .collect();
    rows.sort_by_key(|&(total, f, _)| (std::cmp::Reverse(total), f));
    let varying: Vec<usize> = rows.iter().filter(|r| r.2).map(|r| r.1).collect();
    let mut chosen = if varying.is_empty() {
        rows.iter().filter(|r| r.0 > 0).map(|r| r.1).collect()
    } else {
        varying
    };
    chosen.truncate(DIURNAL_FUNCTIONS);
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knob_moves_stay_on_the_ladders() {
        let wf = Workflow::from_spec(
            &workflow::WorkflowSpec {
                name: "t".into(),
                steps: vec![workflow::StepSpec {
                    name: "a".into(),
                    jobs: Some(1),
                    work_s: Some(0.1),
                    memory_mb_per_worker: Some(256),
                    ..Default::default()
                }],
                ..Default::default()
            },
            "test",
        )
        .unwrap();
        let platform = Platform::lambda();
        let settings = AutoscaleSettings::default();
        let mut ap =
            ActionApplier::new(&wf, &platform, &[StepConfig::new(1769, 1, 1)], &settings).unwrap();
        let down = FunctionAction {
            memory: Knob::Down,
            concurrency: Knob::Down,
        };
        // 1769 is between rungs: Down goes to 1536, then 1024, 512, 256, and stops at the floor 256.
        for want in [1536, 1024, 512, 256, 256] {
            ap.apply(&[down]).unwrap();
            assert_eq!(ap.memory_mb(), &[want]);
            assert_eq!(ap.rungs(), &[0]);
        }
    }
}
