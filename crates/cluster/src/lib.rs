//! The multi-resource cluster the allocation policies run in, on the `des` engine, in two modes:
//!
//! - [`DeepRmEnv`]: DeepRM's time-stepped environment (Mao et al., HotNets'16): one machine with `n`
//!   resources of `res_slots` slots, a look-ahead of `time_horizon` steps, `n_visible` job slots and a
//!   backlog; the policy may schedule several jobs per step until it waits.
//! - [`ServerlessEnv`]: an event-driven platform with heterogeneous machines, function instances with
//!   per-function cold starts, a keep-alive pool driven by a [`KeepAlivePolicy`], per-function SLOs,
//!   AWS-style cost of allocated memory-time and workflow dependencies between invocations.
//!
//! Both expose the same [`Observation`] and take the same [`Action`] through the [`Environment`] trait, so
//! one [`Policy`] implementation (a heuristic or a learned policy) runs in either.
//!
//! Determinism: integer [`des::SimTime`], events ordered by `(time, seq)`, no hash maps, no wall clock;
//! randomness only from [`des::RngStreams`] sub-streams named in the docs. The same seed and inputs give
//! the same [`RunMetrics`] bit for bit.
#![warn(missing_docs)]

mod deeprm;
mod error;
mod keepalive;
mod metrics;
mod policy;
mod resources;
mod serverless;

pub use deeprm::{DeepRmEnv, DeepRmSettings, JobRecord, MAX_BACKLOG, MAX_VISIBLE, earliest_start};
pub use error::Error;
pub use keepalive::{KeepAliveDecision, KeepAlivePolicy};
pub use metrics::{RunMetrics, SlowdownStats};
pub use policy::{
    Action, Environment, FunctionView, MachineView, Mode, Observation, PendingView, Policy,
    RunningView, StepOutcome, run_episode,
};
pub use resources::{MAX_RESOURCES, Resources};
pub use serverless::{
    ColdStartSpec, CpuModel, FunctionSpec, MAX_MACHINE_FUNCTION_PAIRS, MachineSpec, Pricing,
    ServerlessEnv, ServerlessSettings, default_machines,
};
