//! The per-step policy trait: at the start of every step of every request, a [`Policy`] chooses the
//! step's [`StepConfig`] from the request's state. Dynamic policies (StepConf, re-planning) see the time
//! already spent and every finished step's observed duration; static ones ignore them.

use workflow::{StepId, Workflow};

use crate::{Platform, StepConfig};

/// What a request has observed of one finished step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepOutcome {
    /// The configuration it ran with.
    pub config: StepConfig,
    /// When it started, seconds after the request arrived.
    pub start_s: f64,
    /// How long it took, seconds (start to last instance finished).
    pub duration_s: f64,
    /// What it cost, USD (compute and requests; transitions are counted per request).
    pub cost_usd: f64,
    /// How many of its instances started cold.
    pub n_cold_starts: u32,
}

/// The state a policy decides from.
#[derive(Debug, Clone, Copy)]
pub struct StepContext<'a> {
    /// The workflow being executed.
    pub workflow: &'a Workflow,
    /// The platform it runs on.
    pub platform: &'a Platform,
    /// The step about to start (or, in [`Policy::observe`], the step that finished).
    pub step: StepId,
    /// Index of the request in the run (0-based, in arrival order).
    pub request_idx: u64,
    /// Seconds since the request arrived, at the step's start.
    pub elapsed_s: f64,
    /// The request's end-to-end SLO, if any.
    pub slo_s: Option<f64>,
    /// Per step (by [`StepId`] index): the outcome of steps that have finished, `None` otherwise.
    pub outcomes: &'a [Option<StepOutcome>],
}

impl StepContext<'_> {
    /// Seconds left until the SLO deadline (negative when already late), if there is an SLO.
    pub fn time_left_s(&self) -> Option<f64> {
        self.slo_s.map(|slo| slo - self.elapsed_s)
    }
}

/// Chooses step configurations. Called on one thread in simulated-time order; a policy may keep state
/// (for example, learn its prediction error from [`Policy::observe`]). A policy must be deterministic
/// given the calls it receives (no wall clock, no unseeded randomness) for runs to be reproducible.
pub trait Policy {
    /// The policy's name, as reported.
    fn name(&self) -> &str;

    /// The configuration of `ctx.step`, about to start. The simulation checks it with
    /// [`Platform::check_config`] and stops with an error naming the step if it cannot run.
    fn choose(&mut self, ctx: &StepContext<'_>) -> StepConfig;

    /// Called when a step of a request finishes, with what was observed. Default: nothing.
    fn observe(&mut self, _ctx: &StepContext<'_>, _outcome: &StepOutcome) {}
}

impl<P: Policy + ?Sized> Policy for Box<P> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn choose(&mut self, ctx: &StepContext<'_>) -> StepConfig {
        (**self).choose(ctx)
    }
    fn observe(&mut self, ctx: &StepContext<'_>, outcome: &StepOutcome) {
        (**self).observe(ctx, outcome)
    }
}

/// The same configuration for a step in every request (a static config file, resolved per step).
#[derive(Debug, Clone, PartialEq)]
pub struct StaticPolicy {
    name: String,
    configs: Vec<StepConfig>,
}

impl StaticPolicy {
    /// `configs[i]` is the configuration of step `StepId(i)`.
    pub fn new(name: impl Into<String>, configs: Vec<StepConfig>) -> Self {
        StaticPolicy {
            name: name.into(),
            configs,
        }
    }

    /// The per-step configurations.
    pub fn configs(&self) -> &[StepConfig] {
        &self.configs
    }
}

impl Policy for StaticPolicy {
    fn name(&self) -> &str {
        &self.name
    }

    fn choose(&mut self, ctx: &StepContext<'_>) -> StepConfig {
        self.configs[ctx.step.idx()]
    }
}
