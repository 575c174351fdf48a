//! The FaaS platform model (simulator ground truth) on the `des` engine.
//!
//! - [`Platform`]: a validated platform profile (memory -> CPU, prices, cold starts, keep-alive, mapping
//!   delay, storage latency, stragglers), read from a file ([`PlatformSpec`]) or the Lambda-like default.
//! - [`StepConfig`] and the per-step [`Policy`] trait: at the start of every step of every request a
//!   policy chooses the step's memory, fan-out and workers from the request's state ([`StepContext`]).
//!   [`StaticPolicy`] (a per-step config file) is the first policy.
//! - [`Simulation`]: many requests through a workflow, warm instances shared across requests of the
//!   same function and memory size, per-request latency, cost, cold starts and a per-step breakdown
//!   ([`SimReport`]).
//! - [`exec`]: the execution model of one step (used by the simulation and by profiling).
//! - [`autoscale`]: the autoscaling RL environment (per-function memory and provisioned concurrency
//!   every control interval under time-varying load) and the controller that runs a trained agent.
//! - [`limits`]: the documented bounds of profile fields and simulation options.
//!
//! Architecture invariant: the platform never reads the wall clock and never depends on hash iteration
//! order; the same seed and inputs give bit-identical reports. It calls policies through traits and
//! depends on no learning or optimisation crate.
#![warn(missing_docs)]

mod arrivals;
pub mod autoscale;
mod config;
pub mod control;
mod error;
pub mod exec;
pub mod limits;
pub mod metrics_io;
pub mod monitor;
mod policy;
mod profile;
mod report;
mod sim;

pub use arrivals::{ArrivalStream, Arrivals, RateSchedule};
pub use config::{StaticConfig, StepConfig};
pub use control::{Change, ControlState, Controller, FunctionSettings, StaticController};
pub use error::Error;
pub use monitor::{FunctionWindow, MonitorWindow, ProvisionedWindow, WorkflowWindow};
pub use policy::{Policy, StaticPolicy, StepContext, StepOutcome};
pub use profile::{
    ColdStartSpec, ConcurrencySpec, MappingDelaySpec, Platform, PlatformSpec, ProvisionedSpec,
    StorageSpec, StragglerSpec,
};
pub use report::{
    CostSummary, Distribution, LatencySample, LoadSummary, RequestRecord, SimReport, StepReport,
};
pub use sim::{SimOptions, Simulation};
