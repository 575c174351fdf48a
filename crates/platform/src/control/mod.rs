//! Runtime control: a [`Controller`] is called every control interval of simulated time with the
//! monitoring window that just closed and the current settings, and returns [`Change`]s to per-function
//! memory (the alias), reserved and provisioned concurrency, and per-step configuration. Changes take
//! effect after the platform's delays (`concurrency.update_delay_s` for memory, reserved concurrency and
//! step configuration; `concurrency.provisioning_delay_s` before new provisioned environments are
//! ready; a decrease of provisioned concurrency is immediate).
//!
//! Controllers: [`StaticController`] (no change), [`TargetTracking`] (AWS Application Auto Scaling
//! target tracking on `ProvisionedConcurrencyUtilization`), [`Kpa`] (Knative's pod autoscaler driving
//! provisioned concurrency), [`ScheduledActions`] (changes at given times, read from a file).

mod kpa;
mod schedule;
mod target_tracking;

pub use kpa::{Kpa, KpaSettings};
pub use schedule::ScheduledActions;
pub use target_tracking::{TargetTracking, TargetTrackingSettings};

use crate::StepConfig;
use crate::monitor::MonitorWindow;

/// One change a controller asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// Point the function's alias at a version with this memory: every step of the function then runs
    /// at `memory_mb` (a step with its own [`Change::StepConfig`] keeps it); `None` returns to the
    /// per-step policy's choice.
    FunctionMemory {
        /// Function name.
        function: String,
        /// Memory, MB (must be offered by the platform).
        memory_mb: Option<u32>,
    },
    /// Set (`Some`) or remove (`None`) the function's reserved concurrency.
    ReservedConcurrency {
        /// Function name.
        function: String,
        /// Most instances of the function running at once.
        limit: Option<u32>,
    },
    /// Set the provisioned concurrency of the function at one memory size.
    ProvisionedConcurrency {
        /// Function name.
        function: String,
        /// Memory of the provisioned environments, MB.
        memory_mb: u32,
        /// Provisioned environments.
        level: u32,
    },
    /// Run the step with this configuration from now on (`None`: back to the per-step policy).
    StepConfig {
        /// Step name.
        step: String,
        /// The configuration (checked against the step and platform when applied).
        config: Option<StepConfig>,
    },
}

/// The settings of one function as they stand (including changes not yet in effect).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FunctionSettings {
    /// Function name.
    pub function: String,
    /// Memory set on the alias (`None`: the per-step policy chooses).
    pub memory_mb: Option<u32>,
    /// Reserved concurrency (`None`: the function shares the account's unreserved concurrency).
    pub reserved: Option<u32>,
    /// Provisioned concurrency requested per memory size, `(memory_mb, level)`, by memory.
    pub provisioned: Vec<(u32, u32)>,
}

impl FunctionSettings {
    /// Provisioned environments requested at `memory_mb` (0 when none).
    pub fn provisioned_at(&self, memory_mb: u32) -> u32 {
        self.provisioned
            .iter()
            .find(|&&(m, _)| m == memory_mb)
            .map_or(0, |&(_, l)| l)
    }
}

/// What a controller sees besides the window.
#[derive(Debug, Clone, Copy)]
pub struct ControlState<'a> {
    /// Simulated time, seconds (the end of the window).
    pub now_s: f64,
    /// The control interval, seconds.
    pub interval_s: f64,
    /// The account concurrency limit.
    pub account_limit: u32,
    /// Every function of the workflow, in the order of [`MonitorWindow::functions`].
    pub functions: &'a [FunctionSettings],
}

/// Decides changes from the monitoring stream. Called on one thread in simulated-time order; must be
/// deterministic given its calls (no wall clock, no unseeded randomness) for runs to be reproducible.
pub trait Controller {
    /// The controller's name, as reported.
    fn name(&self) -> &str;

    /// The control interval this controller is designed for, seconds (used unless the simulation
    /// options give one).
    fn default_interval_s(&self) -> f64 {
        60.0
    }

    /// Called at the end of every control interval with the window of that interval.
    fn control(&mut self, window: &MonitorWindow, state: &ControlState<'_>) -> Vec<Change>;
}

/// Changes nothing: the configuration of the run's start stays.
#[derive(Debug, Clone, Copy, Default)]
pub struct StaticController;

impl Controller for StaticController {
    fn name(&self) -> &str {
        "static"
    }

    fn control(&mut self, _window: &MonitorWindow, _state: &ControlState<'_>) -> Vec<Change> {
        Vec::new()
    }
}
